// Package assess holds the assessment scales used in Italian care homes
// (Barthel, Braden, Norton, Morse, Conley, NRS, PAINAD, MNA-SF, MMSE,
// Tinetti, GDS-15): their items in the published order with the values each
// accepts, scoring, bands (defaults from the literature, overridable per
// facility), the MMSE age and schooling correction, re-assessment intervals
// and the care-plan interventions a high-risk result proposes. Scoring is
// pure; the Service records assessments append-only.
package assess

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/corsia-cce/corsia/backend"
)

// Error codes.
const (
	CodeUnknownScale   = "assessment.unknown_scale"
	CodeInvalidAnswers = "assessment.invalid_answers"
	CodeNotFound       = "assessment.not_found"
	CodeAlreadyInError = "assessment.entered_in_error"
	CodeReasonRequired = "assessment.reason_required"
	CodeInvalid        = "assessment.invalid"
)

// Item is one question of a scale and the values it accepts. For most
// items the values are the points; for GDS-15 they are the answer (1 yes,
// 0 no) and the scale's rule turns them into points. AlternativeTo names the
// item this one replaces when that one cannot be assessed (Modified Barthel
// wheelchair for ambulation; MNA-SF calf circumference for BMI): exactly one
// of the pair is answered.
type Item struct {
	Key           string
	Allowed       []int
	AlternativeTo string
}

// Band is a range of scores: from From (inclusive) up to the next band's
// From. Bands are listed in ascending From.
type Band struct {
	Key  string
	From float64
}

// Scale is an instrument.
type Scale struct {
	Key      string
	Name     string
	Items    []Item
	Min, Max int
	// Bands are the defaults of scales.md.
	Bands []Band
	// points turns the answers into points (default: the values are the points).
	points func(key string, v int) int
}

func rng(lo, hi int) []int {
	out := make([]int, 0, hi-lo+1)
	for v := lo; v <= hi; v++ {
		out = append(out, v)
	}
	return out
}

func items(allowed []int, keys ...string) []Item {
	out := make([]Item, len(keys))
	for i, k := range keys {
		out[i] = Item{Key: k, Allowed: allowed}
	}
	return out
}

func cat(parts ...[]Item) []Item { return slices.Concat(parts...) }

var barthelBands = []Band{{"total_dependence", 0}, {"severe", 21}, {"moderate", 61}, {"mild", 91}, {"independent", 100}}
var painBands = []Band{{"none", 0}, {"mild", 1}, {"moderate", 4}, {"severe", 7}}

// gdsPositiveWhenNo are the GDS-15 items scored 1 for "no".
var gdsPositiveWhenNo = map[string]bool{"satisfied_with_life": true, "good_spirits": true, "happy": true,
	"wonderful_to_be_alive": true, "full_of_energy": true}

// scales lists every instrument, in the order of GET /v1/scales.
var scales = []Scale{
	{Key: "barthel", Name: "Barthel Index (Mahoney–Barthel)", Min: 0, Max: 100, Bands: barthelBands, Items: []Item{
		{Key: "feeding", Allowed: []int{0, 5, 10}}, {Key: "bathing", Allowed: []int{0, 5}},
		{Key: "grooming", Allowed: []int{0, 5}}, {Key: "dressing", Allowed: []int{0, 5, 10}},
		{Key: "bowels", Allowed: []int{0, 5, 10}}, {Key: "bladder", Allowed: []int{0, 5, 10}},
		{Key: "toilet_use", Allowed: []int{0, 5, 10}}, {Key: "transfers", Allowed: []int{0, 5, 10, 15}},
		{Key: "mobility", Allowed: []int{0, 5, 10, 15}}, {Key: "stairs", Allowed: []int{0, 5, 10}},
	}},
	{Key: "barthel_modified", Name: "Modified Barthel Index (Shah 1989)", Min: 0, Max: 100, Bands: barthelBands, Items: cat(
		items([]int{0, 2, 5, 8, 10}, "feeding", "toilet_use", "bowels", "bladder", "stairs", "dressing"),
		items([]int{0, 3, 8, 12, 15}, "transfers", "ambulation"),
		[]Item{{Key: "wheelchair", Allowed: []int{0, 1, 3, 4, 5}, AlternativeTo: "ambulation"}},
		items([]int{0, 1, 3, 4, 5}, "personal_hygiene", "bathing"),
	)},
	{Key: "braden", Name: "Braden Scale", Min: 6, Max: 23,
		Bands: []Band{{"very_high", 6}, {"high", 10}, {"moderate", 13}, {"mild", 15}, {"no_risk", 19}},
		Items: cat(items(rng(1, 4), "sensory_perception", "moisture", "activity", "mobility", "nutrition"),
			items(rng(1, 3), "friction_shear"))},
	{Key: "norton", Name: "Norton Scale", Min: 5, Max: 20,
		Bands: []Band{{"very_high", 5}, {"at_risk", 12}, {"not_at_risk", 15}},
		Items: items(rng(1, 4), "physical_condition", "mental_condition", "activity", "mobility", "incontinence")},
	{Key: "morse", Name: "Morse Fall Scale", Min: 0, Max: 125,
		Bands: []Band{{"low", 0}, {"moderate", 25}, {"high", 45}}, Items: []Item{
			{Key: "history_of_falling", Allowed: []int{0, 25}}, {Key: "secondary_diagnosis", Allowed: []int{0, 15}},
			{Key: "ambulatory_aid", Allowed: []int{0, 15, 30}}, {Key: "iv_or_heparin_lock", Allowed: []int{0, 20}},
			{Key: "gait", Allowed: []int{0, 10, 20}}, {Key: "mental_status", Allowed: []int{0, 15}},
		}},
	{Key: "conley", Name: "Conley Scale", Min: 0, Max: 10,
		Bands: []Band{{"not_at_risk", 0}, {"at_risk", 2}}, Items: []Item{
			{Key: "fell_last_3_months", Allowed: []int{0, 2}}, {Key: "dizziness_vertigo", Allowed: []int{0, 1}},
			{Key: "incontinence_going_to_toilet", Allowed: []int{0, 1}}, {Key: "impaired_gait", Allowed: []int{0, 1}},
			{Key: "agitation", Allowed: []int{0, 2}}, {Key: "impaired_judgement", Allowed: []int{0, 3}},
		}},
	{Key: "nrs", Name: "Numeric Rating Scale (pain)", Min: 0, Max: 10, Bands: painBands, Items: items(rng(0, 10), "rating")},
	{Key: "painad", Name: "PAINAD (Pain Assessment in Advanced Dementia)", Min: 0, Max: 10, Bands: painBands,
		Items: items(rng(0, 2), "breathing", "negative_vocalisation", "facial_expression", "body_language", "consolability")},
	{Key: "mna_sf", Name: "Mini Nutritional Assessment – Short Form", Min: 0, Max: 14,
		Bands: []Band{{"malnourished", 0}, {"at_risk", 8}, {"normal", 12}}, Items: []Item{
			{Key: "food_intake_decline", Allowed: []int{0, 1, 2}}, {Key: "weight_loss", Allowed: []int{0, 1, 2, 3}},
			{Key: "mobility", Allowed: []int{0, 1, 2}}, {Key: "stress_or_acute_disease", Allowed: []int{0, 2}},
			{Key: "neuropsychological_problems", Allowed: []int{0, 1, 2}}, {Key: "bmi", Allowed: []int{0, 1, 2, 3}},
			{Key: "calf_circumference", Allowed: []int{0, 3}, AlternativeTo: "bmi"},
		}},
	{Key: "mmse", Name: "Mini-Mental State Examination (Italian)", Min: 0, Max: 30,
		Bands: []Band{{"abnormal", 0}, {"normal", 24}}, Items: []Item{
			{Key: "orientation_time", Allowed: rng(0, 5)}, {Key: "orientation_place", Allowed: rng(0, 5)},
			{Key: "registration", Allowed: rng(0, 3)}, {Key: "attention_calculation", Allowed: rng(0, 5)},
			{Key: "recall", Allowed: rng(0, 3)}, {Key: "naming", Allowed: rng(0, 2)},
			{Key: "repetition", Allowed: rng(0, 1)}, {Key: "three_stage_command", Allowed: rng(0, 3)},
			{Key: "reading", Allowed: rng(0, 1)}, {Key: "writing", Allowed: rng(0, 1)}, {Key: "copying", Allowed: rng(0, 1)},
		}},
	{Key: "tinetti", Name: "Tinetti POMA", Min: 0, Max: 28,
		Bands: []Band{{"high", 0}, {"moderate", 19}, {"low", 24}},
		Items: []Item{{Key: "balance", Allowed: rng(0, 16)}, {Key: "gait", Allowed: rng(0, 12)}}},
	{Key: "gds15", Name: "Geriatric Depression Scale (15 items)", Min: 0, Max: 15,
		Bands: []Band{{"negative", 0}, {"positive", 6}},
		Items: items([]int{0, 1}, "satisfied_with_life", "dropped_activities", "life_empty", "often_bored", "good_spirits",
			"afraid_something_bad", "happy", "helpless", "prefer_staying_home", "memory_problems", "wonderful_to_be_alive",
			"worthless", "full_of_energy", "hopeless", "others_better_off"),
		points: func(key string, v int) int {
			if gdsPositiveWhenNo[key] {
				return 1 - v
			}
			return v
		}},
}

// Scales returns every scale in a stable order.
func Scales() []Scale { return slices.Clone(scales) }

// Lookup returns the scale with key.
func Lookup(key string) (Scale, bool) {
	for _, s := range scales {
		if s.Key == key {
			return s, true
		}
	}
	return Scale{}, false
}

// Item returns the scale's item with key.
func (s Scale) Item(key string) (Item, bool) {
	for _, it := range s.Items {
		if it.Key == key {
			return it, true
		}
	}
	return Item{}, false
}

// MMSEInput is what the MMSE correction needs: the age at assessment, the
// years of schooling, and the norm table (default NormsMeasso1993).
type MMSEInput struct {
	Age            *int
	SchoolingYears *int
	Norms          string
}

// Result is a scored form.
type Result struct {
	RawTotal int
	// Total is what the band is read from: the raw total, or for MMSE the
	// corrected score.
	Total float64
	Band  string
	// MMSE only.
	Correction *float64 // nil when the norm table does not cover the resident
	Norms      string
	// CorrectionNote says why no correction was applied.
	CorrectionNote string
}

// Score checks and scores answers against scale, reading the band from
// bands (the facility's bands: Defaults merged with its overrides). Every
// item must be answered with one of its allowed values, exactly one of an
// alternative pair, and nothing else: otherwise the error names each
// offending item key.
func Score(s Scale, answers map[string]int, bands []Band, m MMSEInput) (Result, error) {
	bad := map[string]string{}
	for k := range answers {
		if _, ok := s.Item(k); !ok {
			bad[k] = "unknown item"
		}
	}
	total := 0
	for _, it := range s.Items {
		v, answered := answers[it.Key]
		alt := alternativeOf(s, it.Key)
		switch {
		case it.AlternativeTo != "":
			// Checked with its main item below.
			if !answered {
				continue
			}
			if _, main := answers[it.AlternativeTo]; main {
				bad[it.Key] = "only when " + it.AlternativeTo + " cannot be assessed; send one of the two"
				continue
			}
		case !answered && alt != "":
			if _, ok := answers[alt]; ok {
				continue
			}
			bad[it.Key] = "required (or " + alt + " instead)"
			continue
		case !answered:
			bad[it.Key] = "required"
			continue
		}
		if !slices.Contains(it.Allowed, v) {
			bad[it.Key] = "allowed: " + joinInts(it.Allowed)
			continue
		}
		if s.points != nil {
			v = s.points(it.Key, v)
		}
		total += v
	}
	var res Result
	if s.Key == "mmse" {
		if m.Age == nil {
			bad["age"] = "required: age at assessment, in years"
		} else if *m.Age < 0 || *m.Age > 130 {
			bad["age"] = "0 to 130"
		}
		if m.SchoolingYears == nil {
			bad["schooling_years"] = "required: years of schooling"
		} else if *m.SchoolingYears < 0 || *m.SchoolingYears > 30 {
			bad["schooling_years"] = "0 to 30"
		}
		if m.Norms == "" {
			m.Norms = NormsMeasso1993
		}
		if _, ok := normTables[m.Norms]; !ok {
			bad["norms"] = "one of: " + strings.Join(NormTables(), ", ")
		}
	}
	if len(bad) > 0 {
		e := backend.E(backend.KindUnprocessable, CodeInvalidAnswers, "answer every item with one of its allowed values")
		e.Fields = bad
		return Result{}, e
	}
	res.RawTotal, res.Total = total, float64(total)
	if s.Key == "mmse" {
		res.Norms = m.Norms
		c, note := normTables[m.Norms](*m.Age, *m.SchoolingYears)
		res.CorrectionNote = note
		if c != nil {
			res.Correction = c
			res.Total = math.Min(30, math.Round((float64(total)+*c)*10)/10)
		}
	}
	res.Band = BandOf(bands, res.Total)
	return res, nil
}

// alternativeOf returns the key of the item that may replace key, or "".
func alternativeOf(s Scale, key string) string {
	for _, it := range s.Items {
		if it.AlternativeTo == key {
			return it.Key
		}
	}
	return ""
}

// BandOf returns the key of the band total falls in.
func BandOf(bands []Band, total float64) string {
	key := ""
	for _, b := range bands {
		if total >= b.From {
			key = b.Key
		}
	}
	if key == "" && len(bands) > 0 {
		key = bands[0].Key
	}
	return key
}

// Override moves the lower bound of one band (e.g. Morse high from 51).
type Override struct {
	Band string
	From float64
}

// BandsWith merges a facility's overrides into the scale's defaults. An
// override of a band the scale does not have, or one that breaks the
// ascending order, is an error.
func (s Scale) BandsWith(overrides []Override) ([]Band, error) {
	out := slices.Clone(s.Bands)
	for _, o := range overrides {
		i := slices.IndexFunc(out, func(b Band) bool { return b.Key == o.Band })
		if i < 0 {
			return nil, backend.Invalid(CodeInvalid, "band", "no band "+o.Band+" in "+s.Key)
		}
		out[i].From = o.From
	}
	for i := 1; i < len(out); i++ {
		if out[i].From <= out[i-1].From {
			return nil, backend.Invalid(CodeInvalid, "band", "bands of "+s.Key+" must ascend")
		}
	}
	return out, nil
}

func joinInts(vs []int) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ", ")
}

// The MMSE norm tables. Measso et al. 1993 is the default; others (e.g. the
// 2022 revision with its higher cut-off) register here.
const NormsMeasso1993 = "measso1993"

var normTables = map[string]func(age, schooling int) (*float64, string){
	NormsMeasso1993: measso1993,
}

// NormTables lists the selectable MMSE norm tables.
func NormTables() []string {
	out := make([]string, 0, len(normTables))
	for k := range normTables {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// measso1993Table: rows ages 65–69 … 85–89, columns schooling 0–4, 5–7,
// 8–12, 13–17 years.
var measso1993Table = [5][4]float64{
	{0.4, -1.1, -2.0, -2.8},
	{0.7, -0.7, -1.6, -2.3},
	{1.0, -0.3, -1.0, -1.7},
	{1.5, 0.4, -0.3, -0.9},
	{2.2, 1.4, 0.8, 0.3},
}

// measso1993 returns the correction added to the raw score, or nil with
// the reason when the table does not cover the resident: it is not
// extrapolated.
func measso1993(age, schooling int) (*float64, string) {
	if age < 65 || age > 89 {
		return nil, "no correction: the Measso 1993 norms cover ages 65–89 only"
	}
	var col int
	switch {
	case schooling <= 4:
		col = 0
	case schooling <= 7:
		col = 1
	case schooling <= 12:
		col = 2
	case schooling <= 17:
		col = 3
	default:
		return nil, "no correction: the Measso 1993 norms cover 0–17 years of schooling only"
	}
	c := measso1993Table[(age-65)/5][col]
	return &c, ""
}
