// Package careplan is the PAI (Piano Assistenziale Individualizzato):
// problems → measurable goals with a target date → interventions (what,
// when, by which role), in versions agreed and signed by the team, and
// the care tasks the interventions generate for each shift, ticked off by
// OSS and nurses on the ward tablet.
//
// A version is proposed by a team member (a draft carrying her signature)
// and comes into force when people of two different professions have
// signed it; the previous version then stops. Versions are never changed:
// a change is a new version drafted on the one in force, and a draft
// whose base is no longer in force is stale and cannot be signed.
//
// Care tasks are not stored ahead: they are expanded on read from the
// interventions of the version in force at each moment, so a new version
// changes the tasks from the minute it takes over and never rewrites the
// past. Ticking a task is a record, once per (intervention line, due time):
// "not done" needs a reason, as for doses, and a record entered in error
// reopens the task.
package careplan

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
)

// Kind of intervention.
type Kind string

// Kinds of intervention. Rehab interventions are carried out as rehab
// plans linked to them; the others can generate care tasks.
const (
	Repositioning Kind = "repositioning"
	Hydration     Kind = "hydration"
	Hygiene       Kind = "hygiene"
	Mobilisation  Kind = "mobilisation"
	Meal          Kind = "meal"
	Continence    Kind = "continence"
	SkinCheck     Kind = "skin_check"
	Monitoring    Kind = "monitoring"
	Rehab         Kind = "rehab"
	Other         Kind = "other"
)

// Kinds lists every kind.
var Kinds = []Kind{Repositioning, Hydration, Hygiene, Mobilisation, Meal, Continence, SkinCheck, Monitoring, Rehab, Other}

// Role is who carries an intervention out.
type Role string

// Roles of interventions.
const (
	RoleOSS       Role = "oss"
	RoleNurse     Role = "nurse"
	RoleTherapist Role = "therapist"
	RolePhysician Role = "physician"
)

// Roles lists every intervention role.
var Roles = []Role{RoleOSS, RoleNurse, RoleTherapist, RolePhysician}

// Profession a signature is given in.
type Profession string

// Professions of the team.
const (
	Medical        Profession = "medical"
	Nursing        Profession = "nursing"
	OSSCare        Profession = "oss"
	Rehabilitation Profession = "rehabilitation"
)

// ProfessionOf is the profession an actor signs in: the first of her roles
// in this order. Ward leads are nurse coordinators and sign as nursing.
// Directors, admins and auditors are not members of the ward team.
func ProfessionOf(a *backend.Actor) (Profession, bool) {
	for _, x := range []struct {
		r backend.Role
		p Profession
	}{{backend.RolePhysician, Medical}, {backend.RoleNurse, Nursing}, {backend.RoleWardLead, Nursing},
		{backend.RoleTherapist, Rehabilitation}, {backend.RoleOSS, OSSCare}} {
		if a.Has(x.r) {
			return x.p, true
		}
	}
	return "", false
}

// AgreedProfessions is how many different professions must sign a version
// before it comes into force: the PAI is a team's plan, not one person's.
const AgreedProfessions = 2

// Limits of a version's content, to keep it readable on a tablet.
const (
	MaxProblems      = 20
	MaxGoals         = 10 // per problem
	MaxInterventions = 20 // per goal
	MaxTimes         = 24 // per intervention
)

// DateLayout is how dates travel.
const DateLayout = "2006-01-02"

// InterventionRequest is one intervention of a proposed version. Times
// are facility-local HH:MM; EveryHours (with Start, default 00:00) is a
// shorthand the server turns into times.
type InterventionRequest struct {
	Kind        Kind       `json:"kind"`
	Description string     `json:"description"`
	Role        Role       `json:"role"`
	Times       []string   `json:"times"`
	EveryHours  *int       `json:"every_hours,omitempty"`
	Start       string     `json:"start,omitempty"`
	Weekdays    []int      `json:"weekdays"`
	Continues   *uuid.UUID `json:"continues"`
}

// GoalRequest is one goal of a problem.
type GoalRequest struct {
	Description   string                `json:"description"`
	Measure       string                `json:"measure"`
	TargetDate    string                `json:"target_date"`
	Interventions []InterventionRequest `json:"interventions"`
}

// ProblemRequest is one problem of the plan.
type ProblemRequest struct {
	Title     string        `json:"title"`
	ProblemID *uuid.UUID    `json:"problem_id"`
	Goals     []GoalRequest `json:"goals"`
}

// VersionRequest proposes a new version of a resident's plan. BasedOn is
// the version in force the author read (null for a first plan).
type VersionRequest struct {
	BasedOn    *uuid.UUID       `json:"based_on"`
	ReviewDate string           `json:"review_date"`
	Summary    string           `json:"summary"`
	Problems   []ProblemRequest `json:"problems"`
}

// Intervention of a version.
type Intervention struct {
	ID uuid.UUID `json:"id"`
	// LineID is the same intervention across versions (its own id, or the
	// line of the one it continues): tasks are ticked per line.
	LineID      uuid.UUID  `json:"line_id"`
	Ordinal     int        `json:"ordinal"`
	Kind        Kind       `json:"kind"`
	Description string     `json:"description"`
	Role        Role       `json:"role"`
	Times       []string   `json:"times"`
	Weekdays    []int      `json:"weekdays"`
	Continues   *uuid.UUID `json:"continues"`
	// RehabPlans are the rehab plans carrying out a therapist's
	// intervention.
	RehabPlans []uuid.UUID `json:"rehab_plans,omitempty"`
}

// Goal of a problem.
type Goal struct {
	ID            uuid.UUID      `json:"id"`
	Ordinal       int            `json:"ordinal"`
	Description   string         `json:"description"`
	Measure       string         `json:"measure"`
	TargetDate    string         `json:"target_date"`
	Interventions []Intervention `json:"interventions"`
}

// Problem of a version.
type Problem struct {
	ID        uuid.UUID  `json:"id"`
	Ordinal   int        `json:"ordinal"`
	Title     string     `json:"title"`
	ProblemID *uuid.UUID `json:"problem_id"`
	Goals     []Goal     `json:"goals"`
}

// Signature of a team member on a version.
type Signature struct {
	StaffID    uuid.UUID  `json:"staff_id"`
	Name       string     `json:"name"`
	Profession Profession `json:"profession"`
	SignedAt   time.Time  `json:"signed_at"`
}

// Status of a version.
const (
	StatusDraft      = "draft"      // proposed, awaiting signatures
	StatusInForce    = "in_force"   // the plan being carried out
	StatusSuperseded = "superseded" // was in force, replaced by a later version
	StatusStale      = "stale"      // a draft whose base is no longer in force
)

// Version is one version of a resident's plan.
type Version struct {
	ID           uuid.UUID   `json:"id"`
	ResidentID   uuid.UUID   `json:"resident_id"`
	VersionNo    int         `json:"version_no"`
	BasedOn      *uuid.UUID  `json:"based_on"`
	ReviewDate   string      `json:"review_date"`
	Summary      string      `json:"summary"`
	Status       string      `json:"status"`
	RecordedBy   uuid.UUID   `json:"recorded_by"`
	RecordedAt   time.Time   `json:"recorded_at"`
	ActivatedAt  *time.Time  `json:"activated_at"`
	SupersededAt *time.Time  `json:"superseded_at"`
	Signatures   []Signature `json:"signatures"`
	Problems     []Problem   `json:"problems"`
}

// ReviewDue reports whether the version's review date has come (in the
// facility's calendar, today given as YYYY-MM-DD).
func (v Version) ReviewDue(today string) bool { return v.ReviewDate <= today }

func invalid(code, field, why string) error { return backend.Invalid(code, field, why) }

// textOK checks a text's length in characters, as the database's CHECKs
// count them.
func textOK(s string, min, max int) bool {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return false
	}
	n := utf8.RuneCountInString(s)
	return n >= min && n <= max
}

// Validate checks a proposed version against today (facility date,
// YYYY-MM-DD); trims text, normalises times and weekdays in place.
func (r *VersionRequest) Validate(today string) error {
	t, err := time.Parse(DateLayout, today)
	if err != nil {
		return backend.Internal(err, "careplan: today")
	}
	rd, err := time.Parse(DateLayout, r.ReviewDate)
	if err != nil {
		return invalid("care_plan.invalid_date", "review_date", "YYYY-MM-DD")
	}
	if rd.Before(t) || rd.After(t.AddDate(1, 0, 0)) {
		return invalid("care_plan.invalid_review_date", "review_date", "from today to one year ahead")
	}
	r.Summary = strings.TrimSpace(r.Summary)
	if !textOK(r.Summary, 0, 4000) {
		return invalid("care_plan.invalid_text", "summary", "at most 4000 characters")
	}
	if len(r.Problems) == 0 || len(r.Problems) > MaxProblems {
		return invalid("care_plan.problems_required", "problems", "one to 20 problems")
	}
	for i := range r.Problems {
		p := &r.Problems[i]
		f := "problems[" + itoa(i) + "]"
		p.Title = strings.TrimSpace(p.Title)
		if !textOK(p.Title, 3, 300) {
			return invalid("care_plan.invalid_text", f+".title", "3 to 300 characters")
		}
		if len(p.Goals) == 0 || len(p.Goals) > MaxGoals {
			return invalid("care_plan.goals_required", f+".goals", "one to 10 goals")
		}
		for j := range p.Goals {
			g := &p.Goals[j]
			gf := f + ".goals[" + itoa(j) + "]"
			g.Description, g.Measure = strings.TrimSpace(g.Description), strings.TrimSpace(g.Measure)
			if !textOK(g.Description, 3, 1000) {
				return invalid("care_plan.invalid_text", gf+".description", "3 to 1000 characters")
			}
			if !textOK(g.Measure, 3, 300) {
				return invalid("care_plan.measure_required", gf+".measure", "how the goal is measured (3 to 300 characters)")
			}
			td, err := time.Parse(DateLayout, g.TargetDate)
			if err != nil {
				return invalid("care_plan.invalid_date", gf+".target_date", "YYYY-MM-DD")
			}
			if td.Before(t) || td.After(t.AddDate(2, 0, 0)) {
				return invalid("care_plan.invalid_target_date", gf+".target_date", "from today to two years ahead")
			}
			if len(g.Interventions) == 0 || len(g.Interventions) > MaxInterventions {
				return invalid("care_plan.interventions_required", gf+".interventions", "one to 20 interventions")
			}
			for k := range g.Interventions {
				if err := g.Interventions[k].validate(gf + ".interventions[" + itoa(k) + "]"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (r *InterventionRequest) validate(f string) error {
	if !slices.Contains(Kinds, r.Kind) {
		return invalid("care_plan.unknown_kind", f+".kind", "one of repositioning, hydration, hygiene, mobilisation, meal, continence, skin_check, monitoring, rehab, other")
	}
	if !slices.Contains(Roles, r.Role) {
		return invalid("care_plan.unknown_role", f+".role", "oss, nurse, therapist or physician")
	}
	r.Description = strings.TrimSpace(r.Description)
	if !textOK(r.Description, 3, 1000) {
		return invalid("care_plan.invalid_text", f+".description", "3 to 1000 characters")
	}
	if r.Kind == Rehab && r.Role != RoleTherapist {
		return invalid("care_plan.rehab_by_therapist", f+".role", "rehab interventions are carried out by therapists, as rehab plans")
	}
	if r.EveryHours != nil {
		if len(r.Times) > 0 {
			return invalid("care_plan.invalid_times", f+".every_hours", "either times or every_hours")
		}
		n := *r.EveryHours
		if n < 1 || n > 24 {
			return invalid("care_plan.invalid_times", f+".every_hours", "1 to 24 hours")
		}
		start := r.Start
		if start == "" {
			start = "00:00"
		}
		s, err := parseHM(start)
		if err != nil {
			return invalid("care_plan.invalid_times", f+".start", "HH:MM")
		}
		r.Times = nil
		for m := s; m < s+24*60; m += n * 60 {
			r.Times = append(r.Times, formatHM(m%(24*60)))
		}
		r.EveryHours, r.Start = nil, ""
	} else if r.Start != "" {
		return invalid("care_plan.invalid_times", f+".start", "only with every_hours")
	}
	if len(r.Times) > MaxTimes {
		return invalid("care_plan.invalid_times", f+".times", "at most 24 times a day")
	}
	mins := make([]int, 0, len(r.Times))
	for _, x := range r.Times {
		m, err := parseHM(x)
		if err != nil {
			return invalid("care_plan.invalid_times", f+".times", "HH:MM, facility time")
		}
		if slices.Contains(mins, m) {
			return invalid("care_plan.invalid_times", f+".times", "each time once")
		}
		mins = append(mins, m)
	}
	slices.Sort(mins)
	r.Times = r.Times[:0]
	for _, m := range mins {
		r.Times = append(r.Times, formatHM(m))
	}
	if len(r.Times) > 0 && r.Role != RoleOSS && r.Role != RoleNurse {
		return invalid("care_plan.times_for_ward_staff", f+".times", "only OSS and nurse interventions have times (therapists plan sessions as rehab plans)")
	}
	if r.Weekdays != nil {
		if len(r.Weekdays) == 0 || len(r.Weekdays) > 7 {
			return invalid("care_plan.invalid_weekdays", f+".weekdays", "null for every day, or one to seven ISO weekdays")
		}
		seen := map[int]bool{}
		for _, d := range r.Weekdays {
			if d < 1 || d > 7 || seen[d] {
				return invalid("care_plan.invalid_weekdays", f+".weekdays", "distinct ISO weekdays, 1 Monday … 7 Sunday")
			}
			seen[d] = true
		}
		slices.Sort(r.Weekdays)
		if len(r.Weekdays) == 7 {
			r.Weekdays = nil
		}
	}
	return nil
}

func parseHM(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, backend.E(backend.KindInvalid, "care_plan.invalid_times")
	}
	return t.Hour()*60 + t.Minute(), nil
}

func formatHM(m int) string {
	return string([]byte{byte('0' + m/600), byte('0' + m/60%10), ':', byte('0' + m%60/10), byte('0' + m%10)})
}

func itoa(i int) string { return strconv.Itoa(i) }

// Build turns a validated request into a version's content with new ids;
// each intervention starts its own line (Propose sets the line of one that
// continues another).
func (r *VersionRequest) Build(newID func() uuid.UUID) []Problem {
	out := make([]Problem, 0, len(r.Problems))
	for i, pr := range r.Problems {
		p := Problem{ID: newID(), Ordinal: i + 1, Title: pr.Title, ProblemID: pr.ProblemID}
		for j, gr := range pr.Goals {
			g := Goal{ID: newID(), Ordinal: j + 1, Description: gr.Description, Measure: gr.Measure, TargetDate: gr.TargetDate}
			for k, ir := range gr.Interventions {
				times := ir.Times
				if times == nil {
					times = []string{}
				}
				id := newID()
				g.Interventions = append(g.Interventions, Intervention{ID: id, LineID: id, Ordinal: k + 1, Kind: ir.Kind,
					Description: ir.Description, Role: ir.Role, Times: times, Weekdays: ir.Weekdays, Continues: ir.Continues})
			}
			p.Goals = append(p.Goals, g)
		}
		out = append(out, p)
	}
	return out
}

// Interventions lists every intervention of a version's content.
func Interventions(problems []Problem) []Intervention {
	var out []Intervention
	for _, p := range problems {
		for _, g := range p.Goals {
			out = append(out, g.Interventions...)
		}
	}
	return out
}

// Agreed reports whether the signatures make the version the team's
// plan: AgreedProfessions different professions.
func Agreed(sigs []Signature) bool {
	seen := map[Profession]bool{}
	for _, s := range sigs {
		seen[s.Profession] = true
	}
	return len(seen) >= AgreedProfessions
}
