package assess

import "time"

// Label is a text in Italian and English.
type Label struct{ It, En string }

// In returns the label in lang ("it" or "en").
func (l Label) In(lang string) string {
	if lang == "en" {
		return l.En
	}
	return l.It
}

// bandLabels name every band key of every scale.
var bandLabels = map[string]Label{
	"total_dependence": {"Dipendenza totale", "Total dependence"},
	"severe":           {"Grave", "Severe"},
	"moderate":         {"Moderato", "Moderate"},
	"mild":             {"Lieve", "Mild"},
	"independent":      {"Indipendente", "Independent"},
	"very_high":        {"Rischio molto alto", "Very high risk"},
	"high":             {"Rischio alto", "High risk"},
	"no_risk":          {"Nessun rischio", "No risk"},
	"not_at_risk":      {"Non a rischio", "Not at risk"},
	"at_risk":          {"A rischio", "At risk"},
	"low":              {"Rischio basso", "Low risk"},
	"none":             {"Nessun dolore", "No pain"},
	"normal":           {"Nella norma", "Normal"},
	"malnourished":     {"Malnutrito", "Malnourished"},
	"abnormal":         {"Deficit cognitivo", "Cognitive impairment"},
	"negative":         {"Negativo", "Negative"},
	"positive":         {"Positivo (possibile depressione)", "Positive (possible depression)"},
}

// scaleBandLabels refine a label where a scale reads a band differently.
var scaleBandLabels = map[string]Label{
	"braden/moderate":  {"Rischio moderato", "Moderate risk"},
	"braden/mild":      {"Rischio lieve", "Mild risk"},
	"morse/moderate":   {"Rischio moderato", "Moderate risk"},
	"tinetti/moderate": {"Rischio moderato", "Moderate risk"},
	"nrs/mild":         {"Dolore lieve", "Mild pain"},
	"nrs/moderate":     {"Dolore moderato", "Moderate pain"},
	"nrs/severe":       {"Dolore grave", "Severe pain"},
	"painad/mild":      {"Dolore lieve", "Mild pain"},
	"painad/moderate":  {"Dolore moderato", "Moderate pain"},
	"painad/severe":    {"Dolore grave", "Severe pain"},
	"mna_sf/at_risk":   {"A rischio di malnutrizione", "At risk of malnutrition"},
	"mna_sf/normal":    {"Stato nutrizionale normale", "Normal nutritional status"},
	"barthel/moderate": {"Dipendenza moderata", "Moderate dependence"},
	"barthel/severe":   {"Dipendenza grave", "Severe dependence"},
	"barthel/mild":     {"Dipendenza lieve", "Mild dependence"},
}

// BandLabel names a band of a scale in lang.
func BandLabel(scale, band, lang string) string {
	key := scale
	if key == "barthel_modified" {
		key = "barthel"
	}
	if l, ok := scaleBandLabels[key+"/"+band]; ok {
		return l.In(lang)
	}
	if l, ok := bandLabels[band]; ok {
		return l.In(lang)
	}
	return band
}

// Interval is how long a result stays current before the scale is due
// again. Zero means the scale has no schedule after such a result.
// Defaults (design choice): Braden weekly while at risk (any band but
// no_risk), monthly otherwise; Morse and Conley monthly; Barthel (either
// version) and MNA-SF every 3 months; NRS and PAINAD daily while the last
// result shows pain, no schedule when it shows none. Norton, MMSE, Tinetti
// and GDS-15 are assessed when the team asks for them.
func Interval(scale, band string) time.Duration {
	const day = 24 * time.Hour
	switch scale {
	case "braden":
		if band == "no_risk" {
			return 30 * day
		}
		return 7 * day
	case "morse", "conley":
		return 30 * day
	case "barthel", "barthel_modified", "mna_sf":
		return 90 * day
	case "nrs", "painad":
		if band == "none" {
			return 0
		}
		return day
	}
	return 0
}

// required are the scales every resident needs at least once (design
// choice): functional status, pressure-ulcer risk, fall risk, nutrition.
// A scale with an alternative counts as done when either was done.
var required = []struct{ scale, or string }{
	{"barthel", "barthel_modified"}, {"braden", "norton"}, {"morse", "conley"}, {"mna_sf", ""},
}

// Last is the latest valid (not entered-in-error) assessment of a scale.
type Last struct {
	Scale      string
	Band       string
	AssessedAt time.Time
}

// Due is a scale a resident needs now: never done, or its interval since
// the last result has run out.
type Due struct {
	Scale      string
	NeverDone  bool
	Last       *Last
	DueAt      time.Time // zero when never done
	OverdueFor time.Duration
}

// Overdue lists the scales due for a resident at now, given her latest
// result per scale.
func Overdue(last map[string]Last, now time.Time) []Due {
	var out []Due
	for _, r := range required {
		_, a := last[r.scale]
		_, b := last[r.or]
		if !a && !b {
			out = append(out, Due{Scale: r.scale, NeverDone: true})
		}
	}
	for _, s := range scales {
		l, ok := last[s.Key]
		if !ok {
			continue
		}
		iv := Interval(s.Key, l.Band)
		if iv == 0 {
			continue
		}
		due := l.AssessedAt.Add(iv)
		if !due.After(now) {
			lc := l
			out = append(out, Due{Scale: s.Key, Last: &lc, DueAt: due, OverdueFor: now.Sub(due)})
		}
	}
	return out
}

// Proposal is a care-plan (PAI) intervention a result suggests. Only a
// proposal: the care plan is written elsewhere.
type Proposal struct {
	Code         string // stable
	Intervention string // English, stable
	Label        Label
	Scale, Band  string
}

type proposalDef struct {
	code, intervention string
	label              Label
}

var (
	pRepositioning = proposalDef{"repositioning_2h", "repositioning every 2 h", Label{"Riposizionamento ogni 2 ore", "Repositioning every 2 h"}}
	pMattress      = proposalDef{"pressure_redistribution_mattress", "pressure-redistributing mattress", Label{"Materasso antidecubito", "Pressure-redistributing mattress"}}
	pSkin          = proposalDef{"skin_inspection", "skin inspection every shift", Label{"Ispezione cutanea a ogni turno", "Skin inspection every shift"}}
	pFalls         = proposalDef{"fall_prevention", "fall prevention", Label{"Piano di prevenzione delle cadute", "Fall prevention plan"}}
	pNutrition     = proposalDef{"nutrition_plan", "nutrition plan", Label{"Piano nutrizionale con dietista", "Nutrition plan with the dietitian"}}
	pWeight        = proposalDef{"weight_monitoring", "weekly weight monitoring", Label{"Controllo settimanale del peso", "Weekly weight monitoring"}}
	pPain          = proposalDef{"pain_management", "pain management review", Label{"Rivalutazione della terapia del dolore", "Pain management review"}}
	pCognitive     = proposalDef{"cognitive_assessment", "cognitive assessment by the physician", Label{"Valutazione cognitiva medica", "Cognitive assessment by the physician"}}
	pMood          = proposalDef{"mood_assessment", "depression assessment by the physician", Label{"Valutazione medica del tono dell'umore", "Depression assessment by the physician"}}
	pADL           = proposalDef{"adl_support", "assistance plan for daily activities", Label{"Piano di assistenza nelle attività quotidiane", "Assistance plan for daily activities"}}
)

var proposals = map[string][]proposalDef{
	"braden/very_high":         {pRepositioning, pMattress, pSkin},
	"braden/high":              {pRepositioning, pMattress, pSkin},
	"norton/very_high":         {pRepositioning, pMattress, pSkin},
	"morse/high":               {pFalls},
	"conley/at_risk":           {pFalls},
	"tinetti/high":             {pFalls},
	"mna_sf/malnourished":      {pNutrition, pWeight},
	"mna_sf/at_risk":           {pWeight},
	"nrs/moderate":             {pPain},
	"nrs/severe":               {pPain},
	"painad/moderate":          {pPain},
	"painad/severe":            {pPain},
	"mmse/abnormal":            {pCognitive},
	"gds15/positive":           {pMood},
	"barthel/total_dependence": {pADL},
	"barthel/severe":           {pADL},
}

// Proposals lists the interventions a result in band of scale suggests.
func Proposals(scale, band string) []Proposal {
	key := scale
	if key == "barthel_modified" {
		key = "barthel"
	}
	out := []Proposal{}
	for _, d := range proposals[key+"/"+band] {
		out = append(out, Proposal{Code: d.code, Intervention: d.intervention, Label: d.label, Scale: scale, Band: band})
	}
	return out
}
