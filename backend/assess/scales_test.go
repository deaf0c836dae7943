package assess

import (
	"slices"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
)

// fill answers every item (but alternatives) of s with its v-th lowest or
// highest allowed value.
func fill(s Scale, max bool) map[string]int {
	out := map[string]int{}
	for _, it := range s.Items {
		if it.AlternativeTo != "" {
			continue
		}
		v := it.Allowed[0]
		if max {
			v = it.Allowed[len(it.Allowed)-1]
		}
		out[it.Key] = v
	}
	return out
}

func mustScale(t *testing.T, key string) Scale {
	t.Helper()
	s, ok := Lookup(key)
	if !ok {
		t.Fatalf("no scale %s", key)
	}
	return s
}

func score(t *testing.T, key string, answers map[string]int) Result {
	t.Helper()
	s := mustScale(t, key)
	r, err := Score(s, answers, s.Bands, MMSEInput{Age: ptr(70), SchoolingYears: ptr(5)})
	if err != nil {
		t.Fatalf("%s %v: %v", key, answers, err)
	}
	return r
}

func ptr(v int) *int { return &v }

func TestScaleOrderAndKeys(t *testing.T) {
	want := []string{"barthel", "barthel_modified", "braden", "norton", "morse", "conley", "nrs", "painad", "mna_sf", "mmse", "tinetti", "gds15"}
	got := Scales()
	if len(got) != len(want) {
		t.Fatalf("%d scales", len(got))
	}
	for i, s := range got {
		if s.Key != want[i] {
			t.Errorf("scale %d = %s, want %s", i, s.Key, want[i])
		}
	}
	if k := mustScale(t, "braden").Items; k[0].Key != "sensory_perception" || k[5].Key != "friction_shear" {
		t.Errorf("braden items %v", k)
	}
}

// TestRanges: every scale's minimum and maximum answers give its range.
func TestRanges(t *testing.T) {
	for _, s := range Scales() {
		lo, hi := fill(s, false), fill(s, true)
		if s.Key == "gds15" {
			// The minimum is "yes" on the five reversed items, "no" elsewhere.
			for k := range lo {
				if gdsPositiveWhenNo[k] {
					lo[k], hi[k] = 1, 0
				}
			}
		}
		rl, rh := score(t, s.Key, lo), score(t, s.Key, hi)
		if s.Key == "mmse" {
			rl, rh = Result{RawTotal: rl.RawTotal}, Result{RawTotal: rh.RawTotal}
		}
		if rl.RawTotal != s.Min || rh.RawTotal != s.Max {
			t.Errorf("%s: range %d–%d, want %d–%d", s.Key, rl.RawTotal, rh.RawTotal, s.Min, s.Max)
		}
	}
}

// TestBandBoundaries: every band edge of every scale's defaults.
func TestBandBoundaries(t *testing.T) {
	cases := map[string][]struct {
		total float64
		band  string
	}{
		"barthel":          {{0, "total_dependence"}, {20, "total_dependence"}, {21, "severe"}, {60, "severe"}, {61, "moderate"}, {90, "moderate"}, {91, "mild"}, {99, "mild"}, {100, "independent"}},
		"barthel_modified": {{20, "total_dependence"}, {21, "severe"}, {60, "severe"}, {61, "moderate"}, {90, "moderate"}, {91, "mild"}, {99, "mild"}, {100, "independent"}},
		"braden":           {{6, "very_high"}, {9, "very_high"}, {10, "high"}, {12, "high"}, {13, "moderate"}, {14, "moderate"}, {15, "mild"}, {18, "mild"}, {19, "no_risk"}, {23, "no_risk"}},
		"norton":           {{5, "very_high"}, {11, "very_high"}, {12, "at_risk"}, {14, "at_risk"}, {15, "not_at_risk"}, {20, "not_at_risk"}},
		"morse":            {{0, "low"}, {24, "low"}, {25, "moderate"}, {44, "moderate"}, {45, "high"}, {125, "high"}},
		"conley":           {{0, "not_at_risk"}, {1, "not_at_risk"}, {2, "at_risk"}, {10, "at_risk"}},
		"nrs":              {{0, "none"}, {1, "mild"}, {3, "mild"}, {4, "moderate"}, {6, "moderate"}, {7, "severe"}, {10, "severe"}},
		"painad":           {{0, "none"}, {1, "mild"}, {3, "mild"}, {4, "moderate"}, {6, "moderate"}, {7, "severe"}, {10, "severe"}},
		"mna_sf":           {{0, "malnourished"}, {7, "malnourished"}, {8, "at_risk"}, {11, "at_risk"}, {12, "normal"}, {14, "normal"}},
		"mmse":             {{0, "abnormal"}, {23.9, "abnormal"}, {24, "normal"}, {30, "normal"}},
		"tinetti":          {{0, "high"}, {18, "high"}, {19, "moderate"}, {23, "moderate"}, {24, "low"}, {28, "low"}},
		"gds15":            {{0, "negative"}, {5, "negative"}, {6, "positive"}, {15, "positive"}},
	}
	for key, cs := range cases {
		s := mustScale(t, key)
		for _, c := range cs {
			if got := BandOf(s.Bands, c.total); got != c.band {
				t.Errorf("%s %v: band %s, want %s", key, c.total, got, c.band)
			}
		}
	}
}

// TestScoredBands scores real forms at band edges, through Score.
func TestScoredBands(t *testing.T) {
	braden := map[string]int{"sensory_perception": 2, "moisture": 2, "activity": 2, "mobility": 2, "nutrition": 2, "friction_shear": 2}
	if r := score(t, "braden", braden); r.RawTotal != 12 || r.Band != "high" {
		t.Errorf("braden 12: %+v", r)
	}
	braden["nutrition"] = 3
	if r := score(t, "braden", braden); r.RawTotal != 13 || r.Band != "moderate" {
		t.Errorf("braden 13: %+v", r)
	}
	morse := map[string]int{"history_of_falling": 25, "secondary_diagnosis": 0, "ambulatory_aid": 0, "iv_or_heparin_lock": 20, "gait": 0, "mental_status": 0}
	if r := score(t, "morse", morse); r.RawTotal != 45 || r.Band != "high" {
		t.Errorf("morse 45: %+v", r)
	}
	// Conley: "don't know" is sent as no (0).
	conley := map[string]int{"fell_last_3_months": 0, "dizziness_vertigo": 1, "incontinence_going_to_toilet": 1,
		"impaired_gait": 0, "agitation": 0, "impaired_judgement": 0}
	if r := score(t, "conley", conley); r.RawTotal != 2 || r.Band != "at_risk" {
		t.Errorf("conley 2: %+v", r)
	}
	// GDS-15: "no" (0) on items 1, 5, 7, 11, 13 scores; "yes" (1) elsewhere.
	gds := fill(mustScale(t, "gds15"), false) // every answer "no"
	if r := score(t, "gds15", gds); r.RawTotal != 5 || r.Band != "negative" {
		t.Errorf("gds all no: %+v", r)
	}
	gds["hopeless"] = 1
	if r := score(t, "gds15", gds); r.RawTotal != 6 || r.Band != "positive" {
		t.Errorf("gds 6: %+v", r)
	}
	tin := map[string]int{"balance": 10, "gait": 8}
	if r := score(t, "tinetti", tin); r.RawTotal != 18 || r.Band != "high" {
		t.Errorf("tinetti 18: %+v", r)
	}
}

func TestFacilityBands(t *testing.T) {
	s := mustScale(t, "morse")
	bands, err := s.BandsWith([]Override{{Band: "high", From: 51}})
	if err != nil {
		t.Fatal(err)
	}
	if BandOf(bands, 50) != "moderate" || BandOf(bands, 51) != "high" {
		t.Errorf("morse high from 51: %v", bands)
	}
	r, err := Score(s, map[string]int{"history_of_falling": 25, "secondary_diagnosis": 0, "ambulatory_aid": 0,
		"iv_or_heparin_lock": 20, "gait": 0, "mental_status": 0}, bands, MMSEInput{})
	if err != nil || r.Band != "moderate" {
		t.Errorf("45 with high from 51: %+v %v", r, err)
	}
	if _, err := s.BandsWith([]Override{{Band: "nope", From: 1}}); err == nil {
		t.Error("unknown band accepted")
	}
	if _, err := s.BandsWith([]Override{{Band: "high", From: 20}}); err == nil {
		t.Error("descending bands accepted")
	}
}

func fields(t *testing.T, err error) map[string]string {
	t.Helper()
	if err == nil {
		t.Fatal("accepted")
	}
	e := backend.AsError(err)
	if e.Code != CodeInvalidAnswers && e.Code != CodeUnknownScale || e.Kind != backend.KindUnprocessable {
		t.Fatalf("error %v", err)
	}
	return e.Fields
}

// TestRejections: for every scale, a missing item, a value out of range
// and an unknown item are each refused naming the item.
func TestRejections(t *testing.T) {
	for _, s := range Scales() {
		first := s.Items[0]
		in := MMSEInput{Age: ptr(80), SchoolingYears: ptr(8)}
		a := fill(s, true)
		delete(a, first.Key)
		if f := fields(t, func() error { _, err := Score(s, a, s.Bands, in); return err }()); f[first.Key] == "" {
			t.Errorf("%s missing %s: %v", s.Key, first.Key, f)
		}
		a = fill(s, true)
		a[first.Key] = first.Allowed[len(first.Allowed)-1] + 1
		if f := fields(t, func() error { _, err := Score(s, a, s.Bands, in); return err }()); f[first.Key] == "" {
			t.Errorf("%s out of range: %v", s.Key, f)
		}
		a = fill(s, true)
		a[first.Key] = -1
		if f := fields(t, func() error { _, err := Score(s, a, s.Bands, in); return err }()); f[first.Key] == "" {
			t.Errorf("%s negative: %v", s.Key, f)
		}
		a = fill(s, true)
		a["favourite_colour"] = 1
		if f := fields(t, func() error { _, err := Score(s, a, s.Bands, in); return err }()); f["favourite_colour"] == "" {
			t.Errorf("%s unknown item: %v", s.Key, f)
		}
		// Values between the allowed points are refused too.
		if len(first.Allowed) > 1 && first.Allowed[1]-first.Allowed[0] > 1 {
			a = fill(s, true)
			a[first.Key] = first.Allowed[0] + 1
			if f := fields(t, func() error { _, err := Score(s, a, s.Bands, in); return err }()); f[first.Key] == "" {
				t.Errorf("%s between points: %v", s.Key, f)
			}
		}
	}
}

func TestModifiedBarthelWheelchair(t *testing.T) {
	s := mustScale(t, "barthel_modified")
	a := fill(s, true)
	if r := score(t, s.Key, a); r.RawTotal != 100 || r.Band != "independent" {
		t.Errorf("walking, all max: %+v", r)
	}
	delete(a, "ambulation")
	a["wheelchair"] = 5
	if r := score(t, s.Key, a); r.RawTotal != 90 || r.Band != "moderate" {
		t.Errorf("wheelchair 5: %+v", r)
	}
	a["wheelchair"] = 8 // an ambulation value, not a wheelchair one
	if f := fields(t, func() error { _, err := Score(s, a, s.Bands, MMSEInput{}); return err }()); f["wheelchair"] == "" {
		t.Errorf("wheelchair 8: %v", f)
	}
	a["wheelchair"], a["ambulation"] = 5, 15 // both
	if f := fields(t, func() error { _, err := Score(s, a, s.Bands, MMSEInput{}); return err }()); f["wheelchair"] == "" {
		t.Errorf("both: %v", f)
	}
	delete(a, "wheelchair")
	delete(a, "ambulation") // neither
	if f := fields(t, func() error { _, err := Score(s, a, s.Bands, MMSEInput{}); return err }()); f["ambulation"] == "" {
		t.Errorf("neither: %v", f)
	}
}

func TestMNASFBMIOrCalf(t *testing.T) {
	s := mustScale(t, "mna_sf")
	a := map[string]int{"food_intake_decline": 1, "weight_loss": 1, "mobility": 1, "stress_or_acute_disease": 2,
		"neuropsychological_problems": 1, "bmi": 1}
	if r := score(t, s.Key, a); r.RawTotal != 7 || r.Band != "malnourished" {
		t.Errorf("F1: %+v", r)
	}
	delete(a, "bmi")
	a["calf_circumference"] = 3
	if r := score(t, s.Key, a); r.RawTotal != 9 || r.Band != "at_risk" {
		t.Errorf("F2: %+v", r)
	}
	a["calf_circumference"] = 1 // F2 is 0 or 3
	if f := fields(t, func() error { _, err := Score(s, a, s.Bands, MMSEInput{}); return err }()); f["calf_circumference"] == "" {
		t.Errorf("F2 = 1: %v", f)
	}
	a["calf_circumference"], a["bmi"] = 3, 2 // only when BMI is unavailable
	if f := fields(t, func() error { _, err := Score(s, a, s.Bands, MMSEInput{}); return err }()); f["calf_circumference"] == "" {
		t.Errorf("F1 and F2: %v", f)
	}
	delete(a, "bmi")
	delete(a, "calf_circumference")
	if f := fields(t, func() error { _, err := Score(s, a, s.Bands, MMSEInput{}); return err }()); f["bmi"] == "" {
		t.Errorf("neither: %v", f)
	}
}

// mmseForm answers the MMSE with a raw total of raw.
func mmseForm(raw int) map[string]int {
	a := fill(mustScaleNoT("mmse"), true) // 30
	order := []string{"orientation_time", "orientation_place", "attention_calculation", "registration", "recall",
		"three_stage_command", "naming", "repetition", "reading", "writing", "copying"}
	for drop := 30 - raw; drop > 0; {
		for _, k := range order {
			if drop > 0 && a[k] > 0 {
				a[k]--
				drop--
			}
		}
	}
	return a
}

func mustScaleNoT(key string) Scale { s, _ := Lookup(key); return s }

func TestMMSECorrection(t *testing.T) {
	s := mustScale(t, "mmse")
	table := []struct {
		age, school int
		want        float64
	}{
		// One cell per row and column, at both ends of each range.
		{65, 0, 0.4}, {69, 4, 0.4}, {65, 5, -1.1}, {69, 7, -1.1}, {67, 8, -2.0}, {67, 12, -2.0}, {65, 13, -2.8}, {69, 17, -2.8},
		{70, 3, 0.7}, {74, 6, -0.7}, {72, 10, -1.6}, {74, 17, -2.3},
		{75, 0, 1.0}, {77, 5, -0.3}, {79, 8, -1.0}, {75, 15, -1.7},
		{80, 2, 1.5}, {84, 7, 0.4}, {82, 12, -0.3}, {80, 13, -0.9},
		{85, 4, 2.2}, {89, 5, 1.4}, {86, 9, 0.8}, {89, 17, 0.3},
	}
	for _, c := range table {
		r, err := Score(s, mmseForm(22), s.Bands, MMSEInput{Age: ptr(c.age), SchoolingYears: ptr(c.school)})
		if err != nil {
			t.Fatal(err)
		}
		if r.RawTotal != 22 || r.Correction == nil || *r.Correction != c.want {
			t.Errorf("age %d school %d: %+v, want correction %v", c.age, c.school, r, c.want)
			continue
		}
		want := float64(int((22+c.want)*10+0.5*sign(22+c.want))) / 10
		if r.Total != want {
			t.Errorf("age %d school %d: total %v, want %v", c.age, c.school, r.Total, want)
		}
	}
	// 22 + 2.2 = 24.2 normal; 24 − 2.8 = 21.2 abnormal.
	r, _ := Score(s, mmseForm(22), s.Bands, MMSEInput{Age: ptr(87), SchoolingYears: ptr(2)})
	if r.Total != 24.2 || r.Band != "normal" {
		t.Errorf("22 at 87/2: %+v", r)
	}
	r, _ = Score(s, mmseForm(24), s.Bands, MMSEInput{Age: ptr(66), SchoolingYears: ptr(16)})
	if r.Total != 21.2 || r.Band != "abnormal" {
		t.Errorf("24 at 66/16: %+v", r)
	}
	// Capped at 30.
	r, _ = Score(s, mmseForm(29), s.Bands, MMSEInput{Age: ptr(88), SchoolingYears: ptr(0)})
	if r.Total != 30 || r.RawTotal != 29 || *r.Correction != 2.2 {
		t.Errorf("cap: %+v", r)
	}
	// Outside 65–89: no correction, and it says so.
	for _, age := range []int{64, 90, 45} {
		r, err := Score(s, mmseForm(23), s.Bands, MMSEInput{Age: ptr(age), SchoolingYears: ptr(2)})
		if err != nil || r.Correction != nil || r.Total != 23 || r.CorrectionNote == "" || r.Band != "abnormal" {
			t.Errorf("age %d: %+v %v", age, r, err)
		}
	}
	// Age and schooling are required; the norm table is selectable.
	f := fields(t, func() error { _, err := Score(s, mmseForm(20), s.Bands, MMSEInput{}); return err }())
	if f["age"] == "" || f["schooling_years"] == "" {
		t.Errorf("missing age/schooling: %v", f)
	}
	f = fields(t, func() error {
		_, err := Score(s, mmseForm(20), s.Bands, MMSEInput{Age: ptr(70), SchoolingYears: ptr(5), Norms: "nope"})
		return err
	}())
	if f["norms"] == "" {
		t.Errorf("unknown norms: %v", f)
	}
}

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}

func TestOverdue(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	due := Overdue(map[string]Last{
		"barthel": {Scale: "barthel", Band: "severe", AssessedAt: now.Add(-91 * day)},
		"braden":  {Scale: "braden", Band: "high", AssessedAt: now.Add(-8 * day)},
		"morse":   {Scale: "morse", Band: "low", AssessedAt: now.Add(-10 * day)},
		"nrs":     {Scale: "nrs", Band: "none", AssessedAt: now.Add(-10 * day)},
		"painad":  {Scale: "painad", Band: "mild", AssessedAt: now.Add(-25 * time.Hour)},
	}, now)
	got := map[string]bool{}
	for _, d := range due {
		got[d.Scale] = true
		if d.Scale == "mna_sf" && !d.NeverDone {
			t.Error("mna_sf should be never done")
		}
	}
	for _, k := range []string{"barthel", "braden", "mna_sf", "painad"} {
		if !got[k] {
			t.Errorf("%s not due: %v", k, due)
		}
	}
	for _, k := range []string{"morse", "nrs"} {
		if got[k] {
			t.Errorf("%s due: %v", k, due)
		}
	}
	// Braden not at risk: monthly.
	if d := Overdue(map[string]Last{"braden": {Scale: "braden", Band: "no_risk", AssessedAt: now.Add(-8 * day)}}, now); len(d) != 3 {
		t.Errorf("no_risk braden at 8 days: %v", d)
	}
}

func TestProposals(t *testing.T) {
	if p := Proposals("braden", "high"); len(p) == 0 || p[0].Intervention != "repositioning every 2 h" {
		t.Errorf("braden high: %v", p)
	}
	if p := Proposals("morse", "high"); len(p) != 1 || p[0].Code != "fall_prevention" {
		t.Errorf("morse high: %v", p)
	}
	if p := Proposals("mna_sf", "malnourished"); len(p) == 0 || p[0].Code != "nutrition_plan" {
		t.Errorf("mna_sf: %v", p)
	}
	if p := Proposals("braden", "no_risk"); len(p) != 0 {
		t.Errorf("no risk: %v", p)
	}
	for _, s := range Scales() {
		for _, b := range s.Bands {
			if BandLabel(s.Key, b.Key, "it") == b.Key || BandLabel(s.Key, b.Key, "en") == b.Key {
				t.Errorf("%s/%s has no label", s.Key, b.Key)
			}
		}
	}
}

// Every scale's defaults are a valid set of bands, and each rule of
// ValidateBands has its own code.
func TestValidateBands(t *testing.T) {
	for _, sc := range Scales() {
		if err := sc.ValidateBands(sc.Bands); err != nil {
			t.Errorf("%s defaults: %v", sc.Key, err)
		}
	}
	braden, _ := Lookup("braden")
	with := func(i int, from float64) []Band {
		out := slices.Clone(braden.Bands)
		out[i].From = from
		return out
	}
	// The other scheme scales.md mentions (<10 / 10–12 / 13–15 / 16–23).
	if err := braden.ValidateBands(with(3, 16)); err != nil {
		t.Errorf("braden mild from 16: %v", err)
	}
	for name, c := range map[string]struct {
		bands []Band
		code  string
	}{
		"none":         {nil, CodeBandKeys},
		"renamed":      {append(slices.Clone(braden.Bands[:4]), Band{"none", 19}), CodeBandKeys},
		"gap":          {with(0, 7), CodeBandGap},
		"below min":    {with(0, 5), CodeBandGap},
		"overlap":      {with(2, 10), CodeBandOverlap},
		"out of range": {with(4, 24), CodeBandOutOfRange},
		"fraction":     {with(4, 19.5), CodeBandNotAScore},
	} {
		err := braden.ValidateBands(c.bands)
		if e := backend.AsError(err); err == nil || e.Code != c.code || e.Kind != backend.KindUnprocessable {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The last band may start at the maximum (it then holds that score).
	if err := braden.ValidateBands(with(4, 23)); err != nil {
		t.Errorf("no_risk from 23: %v", err)
	}
}
