package careplan

import (
	"slices"
	"time"

	"github.com/corsia-cce/corsia/backend/assess"
	"github.com/google/uuid"
)

// Result is a resident's latest valid result of a scale.
type Result struct {
	AssessmentID uuid.UUID
	Scale, Band  string
	AssessedAt   time.Time
}

// Proposal is an intervention a recent assessment suggests for the plan
// (assess.Proposals), and whether the plan in force already has an
// intervention of a kind that answers it.
type Proposal struct {
	Code         string    `json:"code"`
	Intervention string    `json:"intervention"`
	Label        string    `json:"label"`
	Scale        string    `json:"scale"`
	Band         string    `json:"band"`
	AssessmentID uuid.UUID `json:"assessment_id"`
	AssessedAt   time.Time `json:"assessed_at"`
	Covered      bool      `json:"covered"`
}

// answeredBy maps a proposal code to the intervention kinds (or, with
// role:, the role) that answer it. A design choice, kept coarse: the
// team reads the proposal and decides; "covered" only says the plan
// already has something of that kind.
var answeredBy = map[string][]string{
	"repositioning_2h":                 {string(Repositioning)},
	"pressure_redistribution_mattress": {string(Repositioning), string(SkinCheck)},
	"skin_inspection":                  {string(SkinCheck)},
	"fall_prevention":                  {string(Mobilisation), string(Monitoring), string(Rehab)},
	"nutrition_plan":                   {string(Meal)},
	"weight_monitoring":                {string(Monitoring), string(Meal)},
	"pain_management":                  {string(Monitoring)},
	"cognitive_assessment":             {"role:" + string(RolePhysician)},
	"mood_assessment":                  {"role:" + string(RolePhysician)},
	"adl_support":                      {string(Hygiene)},
}

// Proposals lists what results suggest, in lang, against the plan in
// force (nil: none, so nothing is covered).
func Proposals(results []Result, inForce *Version, lang string) []Proposal {
	var ivs []Intervention
	if inForce != nil {
		ivs = Interventions(inForce.Problems)
	}
	out := []Proposal{}
	for _, r := range results {
		for _, p := range assess.Proposals(r.Scale, r.Band) {
			if slices.ContainsFunc(out, func(x Proposal) bool { return x.Code == p.Code }) {
				continue
			}
			pr := Proposal{Code: p.Code, Intervention: p.Intervention, Label: p.Label.In(lang), Scale: r.Scale, Band: r.Band,
				AssessmentID: r.AssessmentID, AssessedAt: r.AssessedAt}
			for _, k := range answeredBy[p.Code] {
				if slices.ContainsFunc(ivs, func(iv Intervention) bool { return string(iv.Kind) == k || "role:"+string(iv.Role) == k }) {
					pr.Covered = true
				}
			}
			out = append(out, pr)
		}
	}
	return out
}
