package timeline

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend/assess"
)

// spec is what the domain knows of a kind: whether its items can be marked
// entered in error (then every item carries entered_in_error), and how its
// one-line summary is written from the facts its SQL fragment selects.
// A summary says only what a reader of that kind already sees on its own
// screen (the diary's and documents' reading rules are applied before a row
// reaches here), short enough for a list on a tablet.
type spec struct {
	corrections bool
	summary     func(f json.RawMessage, lang string) string
}

var specs = map[Kind]spec{
	Prescription:             {true, summarise(prescriptionSummary)},
	PrescriptionStatus:       {false, summarise(prescriptionStatusSummary)},
	Administration:           {true, summarise(administrationSummary)},
	AdministrationCorrection: {false, summarise(administrationCorrectionSummary)},
	AssistedIntake:           {false, summarise(assistedIntakeSummary)},
	PRNCheck:                 {false, summarise(prnCheckSummary)},
	Vitals:                   {true, summarise(vitalsSummary)},
	Assessment:               {true, summarise(assessmentSummary)},
	Diary:                    {true, summarise(diarySummary)},
	Document:                 {true, summarise(documentSummary)},
	Anamnesis:                {false, summarise(anamnesisSummary)},
	Problem:                  {true, summarise(problemSummary)},
	ProblemStatus:            {false, summarise(problemStatusSummary)},
	Incident:                 {true, summarise(incidentSummary)},
	RehabSession:             {true, summarise(rehabSummary)},
	Allergy:                  {true, summarise(allergySummary)},
	CarePlan:                 {false, summarise(carePlanSummary)},
	CareTask:                 {true, summarise(careTaskSummary)},
}

// Corrections reports whether items of k can be entered in error.
func Corrections(k Kind) bool { return specs[k].corrections }

// HasSpec reports whether k has a summary: every kind of Kinds must.
func HasSpec(k Kind) bool { return specs[k].summary != nil }

// ToItem turns a stored row into the item shown, its summary in lang.
func ToItem(r Row, lang string) Item {
	it := Item{Kind: r.Kind, At: r.At.UTC(), ID: r.ID, By: r.By, ByName: r.ByName, Ref: r.Ref}
	if len(it.Ref) == 0 {
		it.Ref = json.RawMessage("{}")
	}
	sp := specs[r.Kind]
	if sp.summary != nil {
		it.Summary = sp.summary(r.Facts, lang)
	}
	if sp.corrections {
		eie := r.EnteredInError
		it.EnteredInError = &eie
	}
	return it
}

// summarise adapts a summary of typed facts: facts that do not decode give
// an empty summary rather than a failed page.
func summarise[T any](fn func(T, string) string) func(json.RawMessage, string) string {
	return func(raw json.RawMessage, lang string) string {
		var f T
		if len(raw) > 0 && json.Unmarshal(raw, &f) != nil {
			return ""
		}
		return fn(f, lang)
	}
}

// label is a text in Italian and English.
type label struct{ it, en string }

func (l label) in(lang string) string {
	if lang == "en" {
		return l.en
	}
	return l.it
}

// word looks key up in labels; an unknown key shows as itself.
func word(labels map[string]label, key, lang string) string {
	if l, ok := labels[key]; ok {
		return l.in(lang)
	}
	return key
}

// clip shortens free text for a list: whitespace runs become one space, at
// most n runes, an ellipsis when cut.
func clip(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n])) + "…"
}

var statusWords = map[string]label{
	"active": {"attiva", "active"}, "suspended": {"sospesa", "suspended"}, "superseded": {"sostituita", "superseded"},
	"discontinued": {"interrotta", "discontinued"}, "entered_in_error": {"annullata per errore", "entered in error"},
}

type prescriptionFacts struct {
	Drug     string `json:"drug"`
	Dose     string `json:"dose"`
	DoseUnit string `json:"dose_unit"`
	Route    string `json:"route"`
	PRN      bool   `json:"prn"`
	Revision bool   `json:"revision"`
}

// unitWords are the dose units (therapy.DoseUnits) in words, singular and
// plural: no abbreviations on a therapy screen (Raccomandazione 18).
var unitWords = map[string][2]label{
	"tablet":      {{"compressa", "tablet"}, {"compresse", "tablets"}},
	"capsule":     {{"capsula", "capsule"}, {"capsule", "capsules"}},
	"drop":        {{"goccia", "drop"}, {"gocce", "drops"}},
	"puff":        {{"erogazione", "puff"}, {"erogazioni", "puffs"}},
	"patch":       {{"cerotto", "patch"}, {"cerotti", "patches"}},
	"sachet":      {{"bustina", "sachet"}, {"bustine", "sachets"}},
	"suppository": {{"supposta", "suppository"}, {"supposte", "suppositories"}},
	"application": {{"applicazione", "application"}, {"applicazioni", "applications"}},
	"vial":        {{"flaconcino", "vial"}, {"flaconcini", "vials"}},
	"ampoule":     {{"fiala", "ampoule"}, {"fiale", "ampoules"}},
}

// routeWords are the routes (therapy.Routes) in words.
var routeWords = map[string]label{
	"oral": {"per bocca", "oral"}, "sublingual": {"sublinguale", "sublingual"}, "subcutaneous": {"sottocute", "subcutaneous"},
	"intramuscular": {"intramuscolo", "intramuscular"}, "intravenous": {"endovena", "intravenous"},
	"transdermal": {"transdermica", "transdermal"}, "rectal": {"rettale", "rectal"}, "inhalation": {"inalatoria", "inhaled"},
	"topical": {"topica", "topical"}, "ophthalmic": {"oftalmica", "ophthalmic"}, "otic": {"auricolare", "otic"},
	"nasal": {"nasale", "nasal"}, "enteral_tube": {"per sonda", "enteral tube"}, "vaginal": {"vaginale", "vaginal"},
}

// amount writes a quantity with its unit, "1 compressa", "2.5 mL".
func amount(qty, unit, lang string) string {
	if w, ok := unitWords[unit]; ok {
		n := 0
		if qty != "1" {
			n = 1
		}
		unit = w[n].in(lang)
	}
	return strings.TrimSpace(qty + " " + unit)
}

// drugName shortens a product name for a list: the pack size after the
// last comma ("…, 30 compresse") goes, and the rest is clipped.
func drugName(s string) string {
	if i := strings.LastIndex(s, ", "); i > 0 && i+2 < len(s) && s[i+2] >= '0' && s[i+2] <= '9' {
		s = s[:i]
	}
	return clip(s, 60)
}

func (f prescriptionFacts) dose(lang string) string {
	s := amount(f.Dose, f.DoseUnit, lang)
	if f.Route != "" {
		s += " " + word(routeWords, f.Route, lang)
	}
	if f.PRN {
		s += ", " + label{"al bisogno", "as needed"}.in(lang)
	}
	return s
}

func prescriptionSummary(f prescriptionFacts, lang string) string {
	verb := label{"Prescritto", "Prescribed"}
	if f.Revision {
		verb = label{"Prescrizione modificata", "Prescription revised"}
	}
	return verb.in(lang) + ": " + drugName(f.Drug) + ", " + f.dose(lang)
}

type statusFacts struct {
	Drug string `json:"drug"`
	From string `json:"from"`
	To   string `json:"to"`
}

func prescriptionStatusSummary(f statusFacts, lang string) string {
	if f.From == "suspended" && f.To == "active" {
		return drugName(f.Drug) + ": " + label{"ripresa", "resumed"}.in(lang)
	}
	return drugName(f.Drug) + ": " + word(statusWords, f.To, lang)
}

var outcomeWords = map[string]label{
	"given": {"somministrata", "given"}, "partial": {"somministrata in parte", "partly given"},
	"refused": {"rifiutata", "refused"}, "held": {"sospesa", "held"}, "omitted": {"omessa", "omitted"},
}

type administrationFacts struct {
	Drug         string `json:"drug"`
	Outcome      string `json:"outcome"`
	Quantity     string `json:"quantity"`
	QuantityUnit string `json:"quantity_unit"`
	Reason       string `json:"reason"`
	PRN          bool   `json:"prn"`
}

func administrationSummary(f administrationFacts, lang string) string {
	s := drugName(f.Drug)
	if f.PRN {
		s += " (" + label{"al bisogno", "as needed"}.in(lang) + ")"
	}
	s += ": " + word(outcomeWords, f.Outcome, lang)
	if f.Outcome == "partial" && f.Quantity != "" {
		s += " " + amount(f.Quantity, f.QuantityUnit, lang)
	}
	if f.Reason != "" && f.Outcome != "given" {
		s += " — " + clip(f.Reason, 60)
	}
	return s
}

func administrationCorrectionSummary(f administrationFacts, lang string) string {
	return label{"Annullata per errore", "Entered in error"}.in(lang) + ": " + drugName(f.Drug) + " (" + word(outcomeWords, f.Outcome, lang) + ")"
}

type intakeFacts struct {
	Drug    string `json:"drug"`
	Outcome string `json:"outcome"`
	Notes   string `json:"notes"`
}

var intakeWords = map[string]label{
	"taken": {"assunta", "taken"}, "partly_taken": {"assunta in parte", "partly taken"}, "refused": {"rifiutata", "refused"},
}

func assistedIntakeSummary(f intakeFacts, lang string) string {
	s := label{"Assunzione assistita", "Assisted intake"}.in(lang) + ": " + drugName(f.Drug) + " " + word(intakeWords, f.Outcome, lang)
	if f.Notes != "" && f.Outcome != "taken" {
		s += " — " + clip(f.Notes, 60)
	}
	return s
}

var effectWords = map[string]label{
	"effective": {"efficace", "effective"}, "partly_effective": {"parzialmente efficace", "partly effective"},
	"not_effective": {"non efficace", "not effective"},
}

type prnCheckFacts struct {
	Drug      string `json:"drug"`
	Effective string `json:"effective"`
}

func prnCheckSummary(f prnCheckFacts, lang string) string {
	return label{"Efficacia al bisogno", "As-needed effect"}.in(lang) + ": " + drugName(f.Drug) + " " + word(effectWords, f.Effective, lang)
}

// vitalNames are the short names nurses write on a chart.
var vitalNames = map[string]label{
	"blood_pressure": {"PA", "BP"}, "heart_rate": {"FC", "HR"}, "temperature": {"TC", "T"}, "spo2": {"SpO2", "SpO2"},
	"respiratory_rate": {"FR", "RR"}, "glycaemia": {"Glicemia", "Glucose"}, "weight": {"Peso", "Weight"},
	"height": {"Altezza", "Height"}, "bmi": {"BMI", "BMI"}, "pain": {"Dolore", "Pain"},
	"fluid_intake": {"Entrate", "Intake"}, "fluid_output": {"Uscite", "Output"}, "bowel_movement": {"Alvo", "Bowels"},
}

// unitless kinds are read without their unit (mmHg, bpm, breaths/min).
var unitless = map[string]bool{"blood_pressure": true, "heart_rate": true, "respiratory_rate": true, "bmi": true, "pain": true}

type measurementFacts struct {
	Kind      string   `json:"kind"`
	Value     *string  `json:"value"`
	Value2    *string  `json:"value2"`
	Unit      string   `json:"unit"`
	Flags     []string `json:"flags"`
	Corrected bool     `json:"corrected"`
}

type vitalsFacts struct {
	Measurements []measurementFacts `json:"measurements"`
}

// vitalsSummary lists the measurements in the order they were entered,
// "PA 150/90↑, FC 88": values out of range carry an arrow; corrected ones
// are left out unless all were (then the item is entered in error, and
// shows what was).
func vitalsSummary(f vitalsFacts, lang string) string {
	all := true
	for _, m := range f.Measurements {
		all = all && m.Corrected
	}
	var parts []string
	for _, m := range f.Measurements {
		if m.Corrected && !all {
			continue
		}
		s := word(vitalNames, m.Kind, lang)
		switch {
		case m.Kind == "bowel_movement" && m.Value != nil:
			s += " (Bristol " + *m.Value + ")"
		case m.Value != nil:
			v := *m.Value
			if m.Value2 != nil {
				v += "/" + *m.Value2
			}
			switch {
			case unitless[m.Kind]:
			case m.Unit == "%":
				v += "%"
			case m.Unit != "":
				v += " " + m.Unit
			}
			s += " " + v
		}
		for _, fl := range m.Flags {
			switch fl {
			case "high":
				s += "↑"
			case "low":
				s += "↓"
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// scaleNames are the short names of the scales.
var scaleNames = map[string]string{"barthel": "Barthel", "barthel_modified": "Barthel mod.", "braden": "Braden",
	"norton": "Norton", "morse": "Morse", "conley": "Conley", "nrs": "NRS", "painad": "PAINAD", "mna_sf": "MNA-SF",
	"mmse": "MMSE", "tinetti": "Tinetti", "gds15": "GDS-15"}

type assessmentFacts struct {
	Scale string `json:"scale"`
	Total string `json:"total"`
	Band  string `json:"band"`
}

func assessmentSummary(f assessmentFacts, lang string) string {
	name, ok := scaleNames[f.Scale]
	if !ok {
		name = f.Scale
	}
	total := strings.TrimSuffix(f.Total, ".0")
	return name + " " + total + " — " + assess.BandLabel(f.Scale, f.Band, lang)
}

var professionWords = map[string]label{
	"medical": {"Diario medico", "Medical diary"}, "nursing": {"Diario infermieristico", "Nursing diary"},
	"oss": {"Diario OSS", "Care assistants' diary"}, "rehabilitation": {"Diario riabilitativo", "Rehabilitation diary"},
	"social": {"Diario sociale", "Social diary"}, "psychological": {"Diario psicologico", "Psychological diary"},
}

type diaryFacts struct {
	Profession string `json:"profession"`
	Addendum   bool   `json:"addendum"`
	Text       string `json:"text"`
}

func diarySummary(f diaryFacts, lang string) string {
	s := word(professionWords, f.Profession, lang)
	if f.Addendum {
		s += " (" + label{"integrazione", "addendum"}.in(lang) + ")"
	}
	return s + ": " + clip(f.Text, 120)
}

var documentWords = map[string]label{
	"report": {"Referto", "Report"}, "discharge_letter": {"Lettera di dimissione", "Discharge letter"},
	"consent": {"Consenso", "Consent"}, "image": {"Immagine", "Image"}, "other": {"Documento", "Document"},
}

type documentFacts struct {
	Kind  string `json:"kind"`
	Title string `json:"title"`
}

func documentSummary(f documentFacts, lang string) string {
	return word(documentWords, f.Kind, lang) + ": " + clip(f.Title, 100)
}

var sectionWords = map[string]label{
	"family": {"familiare", "family"}, "remote_pathological": {"patologica remota", "past medical"},
	"recent_pathological": {"patologica prossima", "recent medical"}, "physiological": {"fisiologica", "physiological"},
	"social": {"sociale", "social"}, "functional": {"funzionale", "functional"},
}

type anamnesisFacts struct {
	Section string `json:"section"`
	Version int    `json:"version"`
	Text    string `json:"text"`
}

func anamnesisSummary(f anamnesisFacts, lang string) string {
	s := label{"Anamnesi ", "Anamnesis, "}.in(lang) + word(sectionWords, f.Section, lang)
	if f.Version > 1 {
		s += " (" + label{"aggiornata", "updated"}.in(lang) + ")"
	}
	if f.Text != "" {
		s += ": " + clip(f.Text, 100)
	}
	return s
}

var problemStatusWords = map[string]label{
	"active": {"attivo", "active"}, "resolved": {"risolto", "resolved"}, "inactive": {"inattivo", "inactive"},
	"entered_in_error": {"annullato per errore", "entered in error"},
}

type problemFacts struct {
	Kind        string `json:"kind"`
	Code        string `json:"code"`
	Description string `json:"description"`
	From        string `json:"from"`
	To          string `json:"to"`
}

func (f problemFacts) name() string {
	return strings.TrimSpace(f.Code + " " + clip(f.Description, 100))
}

func problemSummary(f problemFacts, lang string) string {
	verb := label{"Problema", "Problem"}
	if f.Kind == "medical" {
		verb = label{"Diagnosi", "Diagnosis"}
	}
	return verb.in(lang) + ": " + f.name()
}

func problemStatusSummary(f problemFacts, lang string) string {
	return f.name() + ": " + word(problemStatusWords, f.From, lang) + " → " + word(problemStatusWords, f.To, lang)
}

var incidentWords = map[string]label{
	"fall": {"Caduta", "Fall"}, "pressure_injury": {"Lesione da pressione", "Pressure injury"},
	"other": {"Evento avverso", "Adverse event"},
}

var injuryWords = map[string]label{
	"none": {"nessuna lesione", "no injury"}, "minor": {"lesione lieve", "minor injury"},
	"major": {"lesione grave", "major injury"}, "fracture": {"frattura", "fracture"}, "head": {"trauma cranico", "head injury"},
}

var siteWords = map[string]label{
	"sacrum": {"sacro", "sacrum"}, "heel_left": {"tallone sinistro", "left heel"}, "heel_right": {"tallone destro", "right heel"},
	"hip_left": {"anca sinistra", "left hip"}, "hip_right": {"anca destra", "right hip"}, "ischium": {"ischio", "ischium"},
	"elbow": {"gomito", "elbow"}, "occiput": {"occipite", "occiput"}, "other": {"altra sede", "other site"},
}

var stageWords = map[string]label{
	"1": {"stadio 1", "stage 1"}, "2": {"stadio 2", "stage 2"}, "3": {"stadio 3", "stage 3"}, "4": {"stadio 4", "stage 4"},
	"unstageable": {"non stadiabile", "unstageable"}, "deep_tissue": {"danno tessuti profondi", "deep tissue"},
}

type incidentFacts struct {
	Kind     string `json:"kind"`
	Injury   string `json:"injury"`
	Site     string `json:"site"`
	Stage    string `json:"stage"`
	Category string `json:"category"`
	FollowUp bool   `json:"follow_up"`
}

func incidentSummary(f incidentFacts, lang string) string {
	s := word(incidentWords, f.Kind, lang)
	if f.FollowUp {
		s += " (" + label{"rivalutazione", "follow-up"}.in(lang) + ")"
	}
	var detail []string
	switch f.Kind {
	case "fall":
		if f.Injury != "" {
			detail = append(detail, word(injuryWords, f.Injury, lang))
		}
	case "pressure_injury":
		if f.Site != "" {
			detail = append(detail, word(siteWords, f.Site, lang))
		}
		if f.Stage != "" {
			detail = append(detail, word(stageWords, f.Stage, lang))
		}
	default:
		if f.Category != "" {
			detail = append(detail, clip(f.Category, 40))
		}
	}
	if len(detail) > 0 {
		s += ": " + strings.Join(detail, ", ")
	}
	return s
}

var rehabWords = map[string]label{
	"physiotherapy": {"Fisioterapia", "Physiotherapy"}, "occupational": {"Terapia occupazionale", "Occupational therapy"},
	"speech": {"Logopedia", "Speech therapy"}, "cognitive_stimulation": {"Stimolazione cognitiva", "Cognitive stimulation"},
}

type rehabFacts struct {
	Type         string  `json:"type"`
	Outcome      string  `json:"outcome"`
	DurationMin  *int    `json:"duration_min"`
	Reason       string  `json:"reason"`
	MeasureName  string  `json:"measure_name"`
	MeasureValue *string `json:"measure_value"`
	MeasureUnit  string  `json:"measure_unit"`
}

func rehabSummary(f rehabFacts, lang string) string {
	s := word(rehabWords, f.Type, lang) + ": "
	if f.Outcome == "not_done" {
		s += label{"non svolta", "not done"}.in(lang)
		if f.Reason != "" {
			s += " — " + clip(f.Reason, 60)
		}
		return s
	}
	s += label{"svolta", "done"}.in(lang)
	if f.DurationMin != nil {
		s += ", " + strconv.Itoa(*f.DurationMin) + " min"
	}
	if f.MeasureName != "" && f.MeasureValue != nil {
		s += ", " + clip(f.MeasureName, 30) + " " + strings.TrimSpace(*f.MeasureValue+" "+f.MeasureUnit)
	}
	return s
}

var severityWords = map[string]label{
	"mild": {"lieve", "mild"}, "moderate": {"moderata", "moderate"}, "severe": {"grave", "severe"},
	"life_threatening": {"pericolosa per la vita", "life-threatening"}, "unknown": {"gravità non nota", "severity unknown"},
}

type allergyFacts struct {
	Substance string `json:"substance"`
	Kind      string `json:"kind"`
	Severity  string `json:"severity"`
}

func allergySummary(f allergyFacts, lang string) string {
	verb := label{"Allergia", "Allergy"}
	if f.Kind == "intolerance" {
		verb = label{"Intolleranza", "Intolerance"}
	}
	return verb.in(lang) + ": " + clip(f.Substance, 60) + " (" + word(severityWords, f.Severity, lang) + ")"
}

type carePlanFacts struct {
	Event     string `json:"event"` // proposed, in_force
	VersionNo int    `json:"version_no"`
	Problems  int    `json:"problems"`
}

func carePlanSummary(f carePlanFacts, lang string) string {
	s := "PAI v" + strconv.Itoa(f.VersionNo) + ": "
	if f.Event == "in_force" {
		return s + label{"in vigore", "in force"}.in(lang)
	}
	problems := label{"problemi", "problems"}
	if f.Problems == 1 {
		problems = label{"problema", "problem"}
	}
	return s + label{"proposto", "proposed"}.in(lang) + ", " + strconv.Itoa(f.Problems) + " " + problems.in(lang)
}

var careTaskWords = map[string]label{
	"repositioning": {"Riposizionamento", "Repositioning"}, "hydration": {"Idratazione", "Hydration"},
	"hygiene": {"Igiene", "Hygiene"}, "mobilisation": {"Mobilizzazione", "Mobilisation"}, "meal": {"Pasto", "Meal"},
	"continence": {"Continenza", "Continence care"}, "skin_check": {"Controllo cute", "Skin check"},
	"monitoring": {"Monitoraggio", "Monitoring"}, "other": {"Attività assistenziale", "Care task"},
}

var careReasonWords = map[string]label{
	"refused": {"rifiutato", "refused"}, "absent": {"ospite assente", "resident absent"}, "asleep": {"dorme", "asleep"},
	"clinical_condition": {"condizioni cliniche", "clinical condition"}, "not_needed": {"non necessario", "not needed"},
	"no_staff": {"personale insufficiente", "no staff available"}, "other": {"altro", "other"},
}

var positionWords = map[string]label{
	"supine": {"supino", "supine"}, "left_side": {"fianco sinistro", "left side"}, "right_side": {"fianco destro", "right side"},
	"semi_fowler": {"semi-Fowler", "semi-Fowler"}, "prone": {"prono", "prone"}, "chair": {"in poltrona", "in a chair"},
}

type careTaskFacts struct {
	Kind       string `json:"kind"`
	Outcome    string `json:"outcome"`
	ReasonCode string `json:"reason_code"`
	Reason     string `json:"reason"`
	IntakePct  *int   `json:"intake_pct"`
	FluidML    *int   `json:"fluid_ml"`
	Position   string `json:"position"`
}

func careTaskSummary(f careTaskFacts, lang string) string {
	s := word(careTaskWords, f.Kind, lang) + ": "
	if f.Outcome == "not_done" {
		s += label{"non eseguito", "not done"}.in(lang)
		if f.ReasonCode != "" {
			s += " — " + word(careReasonWords, f.ReasonCode, lang)
		}
		if f.Reason != "" {
			s += ", " + clip(f.Reason, 60)
		}
		return s
	}
	s += label{"eseguito", "done"}.in(lang)
	if f.IntakePct != nil {
		s += ", " + label{"assunto", "eaten"}.in(lang) + " " + strconv.Itoa(*f.IntakePct) + "%"
	}
	if f.FluidML != nil {
		s += ", " + strconv.Itoa(*f.FluidML) + " ml"
	}
	if f.Position != "" {
		s += ", " + word(positionWords, f.Position, lang)
	}
	return s
}
