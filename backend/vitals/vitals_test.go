package vitals

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

func input(t *testing.T, raw string) Input {
	t.Helper()
	var in Input
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return in
}

// Every kind: an impossible value refused (code and field), an abnormal one
// accepted and flagged, a normal one clean.
func TestValidationTable(t *testing.T) {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name, in string
		code     string // refused with this code, or accepted
		field    string
		flags    []string
	}{
		{"bp normal", `{"kind":"blood_pressure","systolic":"128","diastolic":"78"}`, "", "", nil},
		{"bp high", `{"kind":"blood_pressure","systolic":165,"diastolic":95}`, "", "", []string{"high"}},
		{"bp low", `{"kind":"blood_pressure","systolic":"85","diastolic":"50"}`, "", "", []string{"low"}},
		{"bp value as systolic", `{"kind":"blood_pressure","value":"120","diastolic":"70","unit":"mmHg"}`, "", "", nil},
		{"bp systolic over 300", `{"kind":"blood_pressure","systolic":"310","diastolic":"80"}`, "vitals.impossible_value", "measurements[0].systolic", nil},
		{"bp systolic below diastolic", `{"kind":"blood_pressure","systolic":"80","diastolic":"90"}`, "vitals.systolic_below_diastolic", "measurements[0].systolic", nil},
		{"bp diastolic missing", `{"kind":"blood_pressure","systolic":"120"}`, "vitals.value_required", "measurements[0].diastolic", nil},
		{"bp fractional", `{"kind":"blood_pressure","systolic":"120.5","diastolic":"80"}`, "vitals.invalid_precision", "measurements[0].systolic", nil},
		{"hr normal", `{"kind":"heart_rate","value":72}`, "", "", nil},
		{"hr high", `{"kind":"heart_rate","value":"118"}`, "", "", []string{"high"}},
		{"hr low", `{"kind":"heart_rate","value":"48"}`, "", "", []string{"low"}},
		{"hr impossible", `{"kind":"heart_rate","value":"400"}`, "vitals.impossible_value", "measurements[0].value", nil},
		{"temp normal", `{"kind":"temperature","value":"36.8","unit":"°C"}`, "", "", nil},
		{"temp fever", `{"kind":"temperature","value":38.2}`, "", "", []string{"high"}},
		{"temp hypothermia", `{"kind":"temperature","value":"34.9"}`, "", "", []string{"low"}},
		{"temp impossible", `{"kind":"temperature","value":"46"}`, "vitals.impossible_value", "measurements[0].value", nil},
		{"temp below 25", `{"kind":"temperature","value":"24.9"}`, "vitals.impossible_value", "measurements[0].value", nil},
		{"temp fahrenheit", `{"kind":"temperature","value":"98.6","unit":"°F"}`, "vitals.wrong_unit", "measurements[0].unit", nil},
		{"spo2 normal", `{"kind":"spo2","value":"97"}`, "", "", nil},
		{"spo2 low", `{"kind":"spo2","value":"89"}`, "", "", []string{"low"}},
		{"spo2 over 100", `{"kind":"spo2","value":"101"}`, "vitals.impossible_value", "measurements[0].value", nil},
		{"rr normal", `{"kind":"respiratory_rate","value":"16"}`, "", "", nil},
		{"rr high", `{"kind":"respiratory_rate","value":"28"}`, "", "", []string{"high"}},
		{"rr impossible", `{"kind":"respiratory_rate","value":"0"}`, "vitals.impossible_value", "measurements[0].value", nil},
		{"glycaemia normal", `{"kind":"glycaemia","value":"110"}`, "", "", nil},
		{"glycaemia hypo", `{"kind":"glycaemia","value":"58"}`, "", "", []string{"low"}},
		{"glycaemia hyper", `{"kind":"glycaemia","value":"312"}`, "", "", []string{"high"}},
		{"glycaemia impossible", `{"kind":"glycaemia","value":"2000"}`, "vitals.impossible_value", "measurements[0].value", nil},
		{"weight", `{"kind":"weight","value":"63.45"}`, "", "", nil},
		{"weight too precise", `{"kind":"weight","value":"63.451"}`, "vitals.invalid_precision", "measurements[0].value", nil},
		{"weight impossible", `{"kind":"weight","value":"0"}`, "vitals.impossible_value", "measurements[0].value", nil},
		{"height", `{"kind":"height","value":"162"}`, "", "", nil},
		{"height impossible", `{"kind":"height","value":"300"}`, "vitals.impossible_value", "measurements[0].value", nil},
		{"bmi posted", `{"kind":"bmi","value":"22"}`, "vitals.computed_kind", "measurements[0].kind", nil},
		{"pain none", `{"kind":"pain","value":0}`, "", "", nil},
		{"pain moderate", `{"kind":"pain","value":"6","assessment_id":"` + uuid.NewString() + `"}`, "", "", []string{"high"}},
		{"pain over 10", `{"kind":"pain","value":"11"}`, "vitals.impossible_value", "measurements[0].value", nil},
		{"pain fractional", `{"kind":"pain","value":"4.5"}`, "vitals.invalid_precision", "measurements[0].value", nil},
		{"intake oral", `{"kind":"fluid_intake","value":"250","subkind":"oral","unit":"mL"}`, "", "", nil},
		{"intake without route", `{"kind":"fluid_intake","value":"250"}`, "vitals.invalid_subkind", "measurements[0].subkind", nil},
		{"intake zero", `{"kind":"fluid_intake","value":"0","subkind":"iv"}`, "vitals.impossible_value", "measurements[0].value", nil},
		{"output urine", `{"kind":"fluid_output","value":"400","subkind":"urine"}`, "", "", nil},
		{"output wrong subkind", `{"kind":"fluid_output","value":"400","subkind":"oral"}`, "vitals.invalid_subkind", "measurements[0].subkind", nil},
		{"bowel without type", `{"kind":"bowel_movement"}`, "", "", nil},
		{"bowel normal", `{"kind":"bowel_movement","value":"4"}`, "", "", nil},
		{"bowel diarrhoea", `{"kind":"bowel_movement","value":"7"}`, "", "", []string{"high"}},
		{"bowel constipation", `{"kind":"bowel_movement","value":"1"}`, "", "", []string{"low"}},
		{"bowel type 8", `{"kind":"bowel_movement","value":"8"}`, "vitals.impossible_value", "measurements[0].value", nil},
		{"unknown kind", `{"kind":"cholesterol","value":"200"}`, "vitals.unknown_kind", "measurements[0].kind", nil},
		{"no value", `{"kind":"heart_rate"}`, "vitals.value_required", "measurements[0].value", nil},
		{"assessment on hr", `{"kind":"heart_rate","value":"70","assessment_id":"` + uuid.NewString() + `"}`, "vitals.unexpected_field", "measurements[0].assessment_id", nil},
	}
	covered := map[Kind]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := input(t, c.in)
			covered[in.Kind] = true
			req := RecordRequest{Measurements: []Input{in}}
			err := req.Validate(now)
			if c.code != "" {
				e := backend.AsError(err)
				if err == nil || e.Code != c.code || e.Fields[c.field] == "" {
					t.Fatalf("got %v (fields %v); want %s on %s", err, e.Fields, c.code, c.field)
				}
				if c.code == "vitals.impossible_value" && e.Kind != backend.KindUnprocessable {
					t.Fatalf("impossible value kind %v; want unprocessable", e.Kind)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			m := Measure(req.Measurements[0])
			want := c.flags
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(m.Flags, want) {
				t.Fatalf("flags %v; want %v", m.Flags, want)
			}
			spec, _ := SpecOf(in.Kind)
			if m.Unit != spec.Unit || (spec.Normal != nil) != (m.NormalRange != nil) {
				t.Fatalf("unit %q range %v", m.Unit, m.NormalRange)
			}
		})
	}
	for _, s := range Specs {
		if !covered[s.Kind] {
			t.Errorf("kind %s has no case", s.Kind)
		}
	}
}

func TestRequestRules(t *testing.T) {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	hr := Input{Kind: HeartRate, Value: ptr("70")}
	for name, c := range map[string]struct {
		req  RecordRequest
		code string
	}{
		"empty":     {RecordRequest{}, "vitals.measurements_required"},
		"future":    {RecordRequest{MeasuredAt: now.Add(time.Hour), Measurements: []Input{hr}}, "vitals.in_future"},
		"too old":   {RecordRequest{MeasuredAt: now.Add(-8 * 24 * time.Hour), Measurements: []Input{hr}}, "vitals.too_old"},
		"duplicate": {RecordRequest{Measurements: []Input{hr, hr}}, "vitals.duplicate_kind"},
		"fine":      {RecordRequest{MeasuredAt: now.Add(-time.Hour), Measurements: []Input{hr}}, ""},
	} {
		err := c.req.Validate(now)
		if (c.code == "" && err != nil) || (c.code != "" && !backend.IsCode(err, c.code)) {
			t.Errorf("%s: %v; want %q", name, err, c.code)
		}
	}
	// Several fluid entries of one kind in one record are fine.
	in := Input{Kind: FluidIntake, Value: ptr("200"), Subkind: "oral"}
	req := RecordRequest{Measurements: []Input{in, in}}
	if err := req.Validate(now); err != nil {
		t.Fatal(err)
	}
	if !req.MeasuredAt.Equal(now) {
		t.Fatalf("measured_at defaults to now, got %v", req.MeasuredAt)
	}
}

func ptr(s string) *decimal.Decimal {
	d := decimal.RequireFromString(s)
	return &d
}

func TestBMI(t *testing.T) {
	for _, c := range []struct{ w, h, want string }{
		{"70", "175", "22.9"},
		{"48.5", "160", "18.9"},
		{"95", "165", "34.9"},
	} {
		got, ok := ComputeBMI(decimal.RequireFromString(c.w), decimal.RequireFromString(c.h))
		if !ok || got.String() != c.want {
			t.Errorf("BMI(%s kg, %s cm) = %s %v; want %s", c.w, c.h, got, ok, c.want)
		}
	}
	if _, ok := ComputeBMI(decimal.RequireFromString("70"), decimal.Zero); ok {
		t.Error("BMI without a height")
	}
	m := BMIMeasurement(decimal.RequireFromString("34.9"))
	if !m.Computed || !slices.Equal(m.Flags, []string{"high"}) || m.Unit != "kg/m2" {
		t.Errorf("BMI measurement %+v", m)
	}
}

// Decimals keep their digits: read as text, written as strings.
func TestPrecisionKept(t *testing.T) {
	in := input(t, `{"kind":"temperature","value":37.25}`)
	b, _ := json.Marshal(Measure(in))
	var out struct{ Value string }
	if err := json.Unmarshal(b, &out); err != nil || out.Value != "37.25" {
		t.Fatalf("%s", b)
	}
}
