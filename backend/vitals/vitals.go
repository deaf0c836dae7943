// Package vitals holds vital signs and measurements: the kinds, their units,
// the physiological limits beyond which a value cannot be true (refused) and
// the normal ranges beyond which it is abnormal (accepted and flagged). The
// rules here are pure; Service records and reads through a Store.
//
// Values are decimals (shopspring/decimal), read from JSON strings or
// numbers without going through a float, written as strings, stored as
// numeric.
package vitals

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Kind is what is measured.
type Kind string

// The kinds. BMI is never posted: it is computed when a weight is recorded
// and a height is known.
const (
	BloodPressure   Kind = "blood_pressure"
	HeartRate       Kind = "heart_rate"
	Temperature     Kind = "temperature"
	SpO2            Kind = "spo2"
	RespiratoryRate Kind = "respiratory_rate"
	Glycaemia       Kind = "glycaemia"
	Weight          Kind = "weight"
	Height          Kind = "height"
	BMI             Kind = "bmi"
	Pain            Kind = "pain"
	FluidIntake     Kind = "fluid_intake"
	FluidOutput     Kind = "fluid_output"
	BowelMovement   Kind = "bowel_movement"
)

// Flags raised by a value outside its normal range.
const (
	FlagLow  = "low"
	FlagHigh = "high"
)

// Range is a closed interval of values.
type Range struct {
	Low  decimal.Decimal `json:"low"`
	High decimal.Decimal `json:"high"`
}

func (r Range) contains(v decimal.Decimal) bool {
	return !v.LessThan(r.Low) && !v.GreaterThan(r.High)
}

func rng(lo, hi string) *Range {
	return &Range{Low: decimal.RequireFromString(lo), High: decimal.RequireFromString(hi)}
}

// Spec describes a kind: its unit, how precise a value may be, the limits
// of what is physiologically possible and the normal range for an adult in
// long-term care. Diastolic* apply to blood pressure only.
type Spec struct {
	Kind   Kind   `json:"kind"`
	Unit   string `json:"unit"`
	Places int32  `json:"-"` // decimal places allowed
	// Limits: a value outside is impossible and refused.
	Limits *Range `json:"-"`
	// Normal: a value outside is accepted and flagged low or high; nil when
	// a single value has no normal range (weight, height, fluids).
	Normal          *Range   `json:"normal_range"`
	DiastolicLimits *Range   `json:"-"`
	DiastolicNormal *Range   `json:"diastolic_normal_range,omitempty"`
	Subkinds        []string `json:"subkinds,omitempty"`
	// Optional: the value may be absent (a bowel movement without its
	// Bristol type).
	Optional bool `json:"-"`
	Computed bool `json:"-"`
}

// Specs are the kinds in the order they are shown. The limits are those of
// a living person (a value outside is a typing or device error); the normal
// ranges are the usual adult ones (design choice; they are stored with each
// measurement, so changing them never rewrites the past).
var Specs = []Spec{
	{Kind: BloodPressure, Unit: "mmHg", Limits: rng("40", "300"), Normal: rng("90", "140"),
		DiastolicLimits: rng("20", "200"), DiastolicNormal: rng("60", "90")},
	{Kind: HeartRate, Unit: "bpm", Limits: rng("20", "250"), Normal: rng("60", "100")},
	{Kind: Temperature, Unit: "°C", Places: 2, Limits: rng("25", "45"), Normal: rng("36.0", "37.5")},
	{Kind: SpO2, Unit: "%", Places: 1, Limits: rng("40", "100"), Normal: rng("94", "100")},
	{Kind: RespiratoryRate, Unit: "/min", Limits: rng("2", "80"), Normal: rng("12", "20")},
	{Kind: Glycaemia, Unit: "mg/dL", Places: 1, Limits: rng("10", "1500"), Normal: rng("70", "180")},
	{Kind: Weight, Unit: "kg", Places: 2, Limits: rng("15", "350")},
	{Kind: Height, Unit: "cm", Places: 1, Limits: rng("80", "230")},
	{Kind: BMI, Unit: "kg/m2", Places: 1, Limits: rng("5", "150"), Normal: rng("18.5", "24.9"), Computed: true},
	{Kind: Pain, Unit: "score", Limits: rng("0", "10"), Normal: rng("0", "3")},
	{Kind: FluidIntake, Unit: "mL", Limits: rng("1", "5000"), Subkinds: []string{"oral", "enteral", "iv"}},
	{Kind: FluidOutput, Unit: "mL", Limits: rng("0", "10000"), Subkinds: []string{"urine", "drainage", "vomit"}},
	{Kind: BowelMovement, Unit: "bristol", Limits: rng("1", "7"), Normal: rng("3", "5"), Optional: true},
}

// SpecOf returns the spec of kind.
func SpecOf(k Kind) (Spec, bool) {
	for _, s := range Specs {
		if s.Kind == k {
			return s, true
		}
	}
	return Spec{}, false
}

// KindNames lists every kind, for messages.
func KindNames() string {
	out := make([]string, len(Specs))
	for i, s := range Specs {
		out[i] = string(s.Kind)
	}
	return strings.Join(out, ", ")
}

// Input is one measurement as posted.
type Input struct {
	Kind Kind `json:"kind"`
	// Value: systolic for blood pressure may be given as systolic instead;
	// the Bristol type (1–7) of a bowel movement, optional.
	Value     *decimal.Decimal `json:"value,omitempty"`
	Systolic  *decimal.Decimal `json:"systolic,omitempty"`
	Diastolic *decimal.Decimal `json:"diastolic,omitempty"`
	// Unit, when sent, must be the kind's unit: units are explicit, never
	// converted.
	Unit string `json:"unit,omitempty"`
	// Subkind: fluid intake oral, enteral, iv; output urine, drainage, vomit.
	Subkind string `json:"subkind,omitempty"`
	// AssessmentID: for pain, the NRS or PAINAD assessment the score comes
	// from (optional).
	AssessmentID *uuid.UUID `json:"assessment_id,omitempty"`
}

// RecordRequest is what a nurse or OSS posts: several measures taken at one
// time.
type RecordRequest struct {
	MeasuredAt   time.Time `json:"measured_at"`
	Measurements []Input   `json:"measurements"`
	Notes        string    `json:"notes"`
}

// Correction marks a measurement entered in error.
type Correction struct {
	ID         uuid.UUID `json:"id"`
	Reason     string    `json:"reason"`
	RecordedBy uuid.UUID `json:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at"`
}

// Measurement is a stored measurement.
type Measurement struct {
	ID         uuid.UUID        `json:"id"`
	RecordID   uuid.UUID        `json:"record_id"`
	ResidentID uuid.UUID        `json:"resident_id"`
	MeasuredAt time.Time        `json:"measured_at"`
	Kind       Kind             `json:"kind"`
	Value      *decimal.Decimal `json:"value"`
	Systolic   *decimal.Decimal `json:"systolic,omitempty"`
	Diastolic  *decimal.Decimal `json:"diastolic,omitempty"`
	Unit       string           `json:"unit"`
	Subkind    string           `json:"subkind,omitempty"`
	// AssessmentID links a pain score to its assessment.
	AssessmentID *uuid.UUID `json:"assessment_id,omitempty"`
	Computed     bool       `json:"computed"`
	Flags        []string   `json:"flags"`
	// NormalRange is the range the flags were judged against (for blood
	// pressure, the systolic one).
	NormalRange          *Range      `json:"normal_range"`
	DiastolicNormalRange *Range      `json:"diastolic_normal_range,omitempty"`
	EnteredInError       *Correction `json:"entered_in_error"`
	Position             int         `json:"-"`
}

// Record is one POST: measurements taken together.
type Record struct {
	ID           uuid.UUID     `json:"id"`
	ResidentID   uuid.UUID     `json:"resident_id"`
	MeasuredAt   time.Time     `json:"measured_at"`
	Notes        string        `json:"notes"`
	RecordedBy   uuid.UUID     `json:"recorded_by"`
	RecordedAt   time.Time     `json:"recorded_at"`
	Measurements []Measurement `json:"measurements"`
}

// maxMeasurements bounds one POST.
const maxMeasurements = 20

// maxBackdate is how far in the past a measurement may be recorded.
const maxBackdate = 7 * 24 * time.Hour

// futureSkew tolerates tablets whose clocks run a little fast.
const futureSkew = 5 * time.Minute

func textOK(s string, max int) bool {
	return utf8.ValidString(s) && len(s) <= max && !strings.ContainsRune(s, 0)
}

// impossible is the refusal of a value no living person has: 422 naming
// the field.
func impossible(code, field, why string) error {
	return &backend.Error{Kind: backend.KindUnprocessable, Code: code, Detail: field + ": " + why,
		Fields: map[string]string{field: why}}
}

func invalid(code, field, why string) error {
	return &backend.Error{Kind: backend.KindInvalid, Code: code, Detail: field + ": " + why,
		Fields: map[string]string{field: why}}
}

// Validate checks the request against the kinds' rules at now and fills
// measured_at (default now). Malformed input is a 400; a physiologically
// impossible value a 422 vitals.impossible_value (or
// vitals.systolic_below_diastolic), naming the field.
func (r *RecordRequest) Validate(now time.Time) error {
	if r.MeasuredAt.IsZero() {
		r.MeasuredAt = now
	}
	switch {
	case r.MeasuredAt.After(now.Add(futureSkew)):
		return invalid("vitals.in_future", "measured_at", "cannot be in the future")
	case now.Sub(r.MeasuredAt) > maxBackdate:
		return invalid("vitals.too_old", "measured_at", "at most 7 days ago")
	case len(r.Measurements) == 0:
		return invalid("vitals.measurements_required", "measurements", "send at least one measurement")
	case len(r.Measurements) > maxMeasurements:
		return invalid("vitals.too_many", "measurements", "at most "+strconv.Itoa(maxMeasurements)+" measurements at once")
	case !textOK(r.Notes, 2000):
		return invalid("vitals.invalid_text", "notes", "at most 2000 characters of text")
	}
	seen := map[string]bool{}
	for i := range r.Measurements {
		in := &r.Measurements[i]
		if err := in.validate("measurements[" + strconv.Itoa(i) + "]"); err != nil {
			return err
		}
		key := string(in.Kind) + "/" + in.Subkind
		if seen[key] && in.Kind != FluidIntake && in.Kind != FluidOutput && in.Kind != BowelMovement {
			return invalid("vitals.duplicate_kind", "measurements["+strconv.Itoa(i)+"].kind", "measured twice in one record")
		}
		seen[key] = true
	}
	return nil
}

func (in *Input) validate(f string) error {
	spec, ok := SpecOf(in.Kind)
	switch {
	case in.Kind == "":
		return invalid("vitals.kind_required", f+".kind", "one of "+KindNames())
	case !ok:
		return invalid("vitals.unknown_kind", f+".kind", "one of "+KindNames())
	case spec.Computed:
		return invalid("vitals.computed_kind", f+".kind", "BMI is computed from weight and height, never posted")
	case in.Unit != "" && in.Unit != spec.Unit:
		return invalid("vitals.wrong_unit", f+".unit", string(in.Kind)+" is recorded in "+spec.Unit)
	case in.AssessmentID != nil && in.Kind != Pain:
		return invalid("vitals.unexpected_field", f+".assessment_id", "only a pain score refers to an assessment")
	case in.AssessmentID != nil && *in.AssessmentID == uuid.Nil:
		return invalid("vitals.invalid_assessment", f+".assessment_id", "an assessment id")
	}
	if len(spec.Subkinds) > 0 {
		if !contains(spec.Subkinds, in.Subkind) {
			return invalid("vitals.invalid_subkind", f+".subkind", "one of "+strings.Join(spec.Subkinds, ", "))
		}
	} else if in.Subkind != "" {
		return invalid("vitals.unexpected_field", f+".subkind", "only fluids have a subkind")
	}
	if in.Kind == BloodPressure {
		if in.Systolic == nil {
			in.Systolic, in.Value = in.Value, nil
		} else if in.Value != nil {
			return invalid("vitals.unexpected_field", f+".value", "send systolic and diastolic")
		}
		if in.Systolic == nil {
			return invalid("vitals.value_required", f+".systolic", "blood pressure needs systolic and diastolic")
		}
		if in.Diastolic == nil {
			return invalid("vitals.value_required", f+".diastolic", "blood pressure needs systolic and diastolic")
		}
		if err := checkValue(f+".systolic", *in.Systolic, spec.Places, spec.Limits, "systolic", spec.Unit); err != nil {
			return err
		}
		if err := checkValue(f+".diastolic", *in.Diastolic, spec.Places, spec.DiastolicLimits, "diastolic", spec.Unit); err != nil {
			return err
		}
		if !in.Systolic.GreaterThan(*in.Diastolic) {
			return impossible("vitals.systolic_below_diastolic", f+".systolic", "systolic must be above diastolic")
		}
		return nil
	}
	if in.Systolic != nil || in.Diastolic != nil {
		return invalid("vitals.unexpected_field", f+".systolic", "only blood pressure has systolic and diastolic")
	}
	if in.Value == nil {
		if spec.Optional {
			return nil
		}
		return invalid("vitals.value_required", f+".value", string(in.Kind)+" needs a value in "+spec.Unit)
	}
	return checkValue(f+".value", *in.Value, spec.Places, spec.Limits, string(in.Kind), spec.Unit)
}

func checkValue(field string, v decimal.Decimal, places int32, limits *Range, what, unit string) error {
	if v.Exponent() < -places && !v.Equal(v.Truncate(places)) {
		why := "at most " + strconv.Itoa(int(places)) + " decimal places"
		if places == 0 {
			why = "a whole number"
		}
		return invalid("vitals.invalid_precision", field, why)
	}
	if !limits.contains(v) {
		return impossible("vitals.impossible_value", field,
			what+" outside "+limits.Low.String()+"–"+limits.High.String()+" "+unit+" is not physiologically possible")
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Judge flags a value against a normal range: nil range, no flags.
func Judge(v decimal.Decimal, normal *Range) []string {
	switch {
	case normal == nil:
		return nil
	case v.LessThan(normal.Low):
		return []string{FlagLow}
	case v.GreaterThan(normal.High):
		return []string{FlagHigh}
	}
	return nil
}

// Measure turns a validated input into a measurement, flagged.
func Measure(in Input) Measurement {
	spec, _ := SpecOf(in.Kind)
	m := Measurement{Kind: in.Kind, Unit: spec.Unit, Subkind: in.Subkind, AssessmentID: in.AssessmentID,
		NormalRange: spec.Normal, Flags: []string{}}
	if in.Kind == BloodPressure {
		m.Systolic, m.Diastolic, m.DiastolicNormalRange = in.Systolic, in.Diastolic, spec.DiastolicNormal
		flags := append(Judge(*in.Systolic, spec.Normal), Judge(*in.Diastolic, spec.DiastolicNormal)...)
		for _, f := range flags {
			if !contains(m.Flags, f) {
				m.Flags = append(m.Flags, f)
			}
		}
		return m
	}
	m.Value = in.Value
	if in.Value != nil {
		m.Flags = append(m.Flags, Judge(*in.Value, spec.Normal)...)
	}
	return m
}

// ComputeBMI is weight (kg) ÷ height (m)², rounded to one decimal; false
// when height is not positive or the result is outside BMI's limits.
func ComputeBMI(weightKg, heightCm decimal.Decimal) (decimal.Decimal, bool) {
	if !heightCm.IsPositive() {
		return decimal.Zero, false
	}
	m := heightCm.Div(decimal.NewFromInt(100))
	bmi := weightKg.DivRound(m.Mul(m), 4).Round(1)
	spec, _ := SpecOf(BMI)
	if !spec.Limits.contains(bmi) {
		return decimal.Zero, false
	}
	return bmi, true
}

// BMIMeasurement is the computed BMI measurement.
func BMIMeasurement(bmi decimal.Decimal) Measurement {
	spec, _ := SpecOf(BMI)
	v := bmi
	return Measurement{Kind: BMI, Value: &v, Unit: spec.Unit, Computed: true, NormalRange: spec.Normal,
		Flags: append([]string{}, Judge(bmi, spec.Normal)...)}
}

// Series is one kind's measurements over a period, oldest first.
type Series struct {
	Kind                 Kind          `json:"kind"`
	Unit                 string        `json:"unit"`
	NormalRange          *Range        `json:"normal_range"`
	DiastolicNormalRange *Range        `json:"diastolic_normal_range,omitempty"`
	Points               []Measurement `json:"points"`
}

// Trends is the answer to a trends query.
type Trends struct {
	ResidentID uuid.UUID `json:"resident_id"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Series     []Series  `json:"series"`
}

// Group puts measurements (oldest first) into one series per kind, in the
// order of Specs, leaving out those entered in error.
func Group(ms []Measurement) []Series {
	byKind := map[Kind][]Measurement{}
	for _, m := range ms {
		if m.EnteredInError != nil {
			continue
		}
		byKind[m.Kind] = append(byKind[m.Kind], m)
	}
	out := []Series{}
	for _, s := range Specs {
		pts, ok := byKind[s.Kind]
		if !ok {
			continue
		}
		out = append(out, Series{Kind: s.Kind, Unit: s.Unit, NormalRange: s.Normal, DiastolicNormalRange: s.DiastolicNormal,
			Points: pts})
	}
	return out
}
