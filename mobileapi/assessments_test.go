package mobileapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Assessment expectations for the permission matrix: recording and
// correcting need RecordAssessment (physicians, nurses, ward leads,
// therapists) on one's own ward; the scales are for any clinical role.
var (
	assessOwn    = expect{"nurse": 200, "therapist": 200, "lead": 200, "doctor": 200, "oss": 403, "director": 403, "*": 404}
	assessOther  = expect{"doctor": 200, "lead": 403, "director": 403, "*": 404}
	scaleReaders = expect{"admin": 403, "auditor": 403, "*": 200}
)

// mxAssessment inserts a Braden assessment of tg's resident, recorded by a
// nurse of tg's facility, straight into the database.
func (e *env) mxAssessment(tg target) uuid.UUID {
	e.t.Helper()
	id := uuid.New()
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO assessments (facility_id, id, resident_id, scale, answers,
			raw_total, total, band, assessed_at, recorded_by)
		VALUES ($1, $2, $3, 'braden', '{"sensory_perception":2,"moisture":2,"activity":2,"mobility":2,"nutrition":2,"friction_shear":2}',
			12, 12, 'high', now() - interval '1 day', $4)`, tg.facility, id, tg.resident, e.mxStaff(tg, "nurse", false)); err != nil {
		e.t.Fatalf("assessment: %v", err)
	}
	return id
}

var bradenHigh = map[string]int{"sensory_perception": 2, "moisture": 2, "activity": 2, "mobility": 2, "nutrition": 2, "friction_shear": 2}

func TestAssessmentScalesList(t *testing.T) {
	e := newEnv(t)
	r := e.do(req{method: "GET", path: "/v1/scales", token: e.login("alt.oss.x")})
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	scales := r.json(t)["scales"].([]any)
	want := []string{"barthel", "barthel_modified", "braden", "norton", "morse", "conley", "nrs", "painad", "mna_sf", "mmse", "tinetti", "gds15"}
	if len(scales) != len(want) {
		t.Fatalf("%d scales", len(scales))
	}
	for i, s := range scales {
		if k := s.(map[string]any)["key"]; k != want[i] {
			t.Errorf("scale %d: %v", i, k)
		}
	}
	braden := scales[2].(map[string]any)["items"].([]any)
	if braden[0].(map[string]any)["key"] != "sensory_perception" || braden[5].(map[string]any)["key"] != "friction_shear" {
		t.Errorf("braden items: %v", braden)
	}
	if r := e.do(req{method: "GET", path: "/v1/scales", token: e.login("alt.admin")}); r.Status != 403 {
		t.Errorf("admin: %d", r.Status)
	}
}

func TestAssessmentRecord(t *testing.T) {
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	tok := e.login("alt.nurse.x")
	path := "/v1/residents/" + res.String() + "/assessments"

	// 201 with total, band, labels in the caller's language, proposals.
	r := e.do(req{method: "POST", path: path, token: tok, header: map[string]string{"Accept-Language": "en"},
		body: map[string]any{"scale": "braden", "answers": bradenHigh, "notes": "cute integra"}})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	m := r.json(t)
	if m["total"].(float64) != 12 || m["band"] != "high" || m["band_label"] != "High risk" || m["status"] != "recorded" {
		t.Errorf("braden: %v", m)
	}
	props := m["proposals"].([]any)
	if len(props) == 0 || props[0].(map[string]any)["intervention"] != "repositioning every 2 h" {
		t.Errorf("proposals: %v", props)
	}
	if e.auditCount(e.alt.FacilityID(), res, "assessment.record", "success") != 1 {
		t.Error("not audited")
	}
	r = e.do(req{method: "POST", path: path, token: tok, header: map[string]string{"Accept-Language": "it"},
		body: map[string]any{"scale": "braden", "answers": bradenHigh}})
	if m := r.json(t); r.Status != 201 || m["band_label"] != "Rischio alto" {
		t.Errorf("it: %d %v", r.Status, m)
	}

	// Morse high and MNA-SF malnourished propose interventions.
	r = e.do(req{method: "POST", path: path, token: tok, body: map[string]any{"scale": "morse", "answers": map[string]int{
		"history_of_falling": 25, "secondary_diagnosis": 15, "ambulatory_aid": 15, "iv_or_heparin_lock": 0, "gait": 10, "mental_status": 0}}})
	if m := r.json(t); r.Status != 201 || m["band"] != "high" || len(m["proposals"].([]any)) == 0 ||
		m["proposals"].([]any)[0].(map[string]any)["code"] != "fall_prevention" {
		t.Errorf("morse: %d %v", r.Status, m)
	}
	r = e.do(req{method: "POST", path: path, token: tok, body: map[string]any{"scale": "mna_sf", "answers": map[string]int{
		"food_intake_decline": 0, "weight_loss": 1, "mobility": 1, "stress_or_acute_disease": 0, "neuropsychological_problems": 1,
		"calf_circumference": 0}}})
	if m := r.json(t); r.Status != 201 || m["band"] != "malnourished" || m["total"].(float64) != 3 ||
		m["proposals"].([]any)[0].(map[string]any)["code"] != "nutrition_plan" {
		t.Errorf("mna_sf: %d %v", r.Status, m)
	}

	// MMSE: raw and corrected.
	mmse := map[string]int{"orientation_time": 4, "orientation_place": 4, "registration": 3, "attention_calculation": 2,
		"recall": 1, "naming": 2, "repetition": 1, "three_stage_command": 3, "reading": 1, "writing": 1, "copying": 0} // 22
	r = e.do(req{method: "POST", path: path, token: tok, body: map[string]any{"scale": "mmse", "answers": mmse, "age": 86, "schooling_years": 3}})
	if m := r.json(t); r.Status != 201 || m["raw_total"].(float64) != 22 || m["corrected_total"].(float64) != 24.2 ||
		m["correction"].(float64) != 2.2 || m["band"] != "normal" {
		t.Errorf("mmse: %d %v", r.Status, m)
	}
	r = e.do(req{method: "POST", path: path, token: tok, body: map[string]any{"scale": "mmse", "answers": mmse, "age": 92, "schooling_years": 3}})
	if m := r.json(t); r.Status != 201 || m["corrected_total"].(float64) != 22 || m["correction"] != nil || m["correction_note"] == "" {
		t.Errorf("mmse at 92: %d %v", r.Status, m)
	}

	// 422 naming the item: missing, out of range, unknown, not a number.
	for name, c := range map[string]struct {
		answers map[string]any
		item    string
	}{
		"missing":      {map[string]any{"sensory_perception": 2, "moisture": 2, "activity": 2, "mobility": 2, "nutrition": 2}, "friction_shear"},
		"out of range": {map[string]any{"sensory_perception": 2, "moisture": 2, "activity": 2, "mobility": 2, "nutrition": 2, "friction_shear": 4}, "friction_shear"},
		"unknown":      {map[string]any{"sensory_perception": 2, "moisture": 2, "activity": 2, "mobility": 2, "nutrition": 2, "friction_shear": 1, "colour": 1}, "colour"},
		"not a number": {map[string]any{"sensory_perception": "high", "moisture": 2, "activity": 2, "mobility": 2, "nutrition": 2, "friction_shear": 1}, "sensory_perception"},
		"fraction":     {map[string]any{"sensory_perception": 2.5, "moisture": 2, "activity": 2, "mobility": 2, "nutrition": 2, "friction_shear": 1}, "sensory_perception"},
	} {
		r := e.do(req{method: "POST", path: path, token: tok, body: map[string]any{"scale": "braden", "answers": c.answers}})
		var p struct {
			Code   string
			Errors map[string]string
		}
		if err := json.Unmarshal(r.Body, &p); err != nil || r.Status != 422 || p.Code != "assessment.invalid_answers" || p.Errors[c.item] == "" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	r = e.do(req{method: "POST", path: path, token: tok, body: map[string]any{"scale": "waterlow", "answers": map[string]int{}}})
	if r.Status != 422 || r.code() != "assessment.unknown_scale" {
		t.Errorf("unknown scale: %d %s", r.Status, r.Body)
	}

	// Idempotent under retries.
	key := uuid.NewString()
	r1 := e.do(req{method: "POST", path: path, token: tok, header: map[string]string{"Idempotency-Key": key},
		body: map[string]any{"scale": "nrs", "answers": map[string]int{"rating": 5}}})
	r2 := e.do(req{method: "POST", path: path, token: tok, header: map[string]string{"Idempotency-Key": key},
		body: map[string]any{"scale": "nrs", "answers": map[string]int{"rating": 5}}})
	if r1.Status != 201 || r2.Status != 201 || r1.json(t)["id"] != r2.json(t)["id"] || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %d %d %s %s", r1.Status, r2.Status, r1.Body, r2.Body)
	}

	// The list, newest first, and by scale.
	r = e.do(req{method: "GET", path: path + "?scale=braden", token: tok})
	list := r.json(t)["assessments"].([]any)
	if r.Status != 200 || len(list) != 2 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	r = e.do(req{method: "GET", path: path, token: tok})
	list = r.json(t)["assessments"].([]any)
	if len(list) != 7 {
		t.Errorf("all: %d", len(list))
	}
	prev := time.Now().Add(time.Hour)
	for _, a := range list {
		at, _ := time.Parse(time.RFC3339Nano, a.(map[string]any)["assessed_at"].(string))
		if at.After(prev) {
			t.Error("not newest first")
		}
		prev = at
	}
	if r := e.do(req{method: "GET", path: path + "?scale=nope", token: tok}); r.Status != 400 || r.code() != "assessment.unknown_scale" {
		t.Errorf("unknown scale in list: %d %s", r.Status, r.Body)
	}
	if e.auditCount(e.alt.FacilityID(), res, "assessment.list", "success") < 2 {
		t.Error("list not audited")
	}
}

func TestAssessmentFacilityBands(t *testing.T) {
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	tok := e.login("alt.nurse.x")
	morse45 := map[string]any{"scale": "morse", "answers": map[string]int{"history_of_falling": 25, "secondary_diagnosis": 0,
		"ambulatory_aid": 0, "iv_or_heparin_lock": 20, "gait": 0, "mental_status": 0}}
	path := "/v1/residents/" + res.String() + "/assessments"
	if m := e.do(req{method: "POST", path: path, token: tok, body: morse45}).json(t); m["band"] != "high" {
		t.Errorf("default: %v", m)
	}
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO assessment_band_overrides (facility_id, id, scale, band, from_score)
		VALUES ($1, gen_random_uuid(), 'morse', 'high', 51)`, e.alt.FacilityID()); err != nil {
		t.Fatal(err)
	}
	if m := e.do(req{method: "POST", path: path, token: tok, body: morse45}).json(t); m["band"] != "moderate" || len(m["proposals"].([]any)) != 0 {
		t.Errorf("high from 51: %v", m)
	}
}

func TestAssessmentEnteredInError(t *testing.T) {
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	tok := e.login("alt.nurse.x")
	r := e.do(req{method: "POST", path: "/v1/residents/" + res.String() + "/assessments", token: tok,
		body: map[string]any{"scale": "braden", "answers": bradenHigh}})
	id := r.json(t)["id"].(string)
	path := "/v1/assessments/" + id + "/entered-in-error"
	if r := e.do(req{method: "POST", path: path, token: tok, body: map[string]any{"reason": " "}}); r.Status != 400 {
		t.Errorf("no reason: %d", r.Status)
	}
	r = e.do(req{method: "POST", path: path, token: tok, body: map[string]any{"reason": "ospite sbagliato"}})
	if m := r.json(t); r.Status != 200 || m["status"] != "entered_in_error" || m["entered_in_error"].(map[string]any)["reason"] != "ospite sbagliato" {
		t.Errorf("%d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "POST", path: path, token: tok, body: map[string]any{"reason": "di nuovo"}}); r.Status != 409 || r.code() != "assessment.entered_in_error" {
		t.Errorf("twice: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "POST", path: "/v1/assessments/" + uuid.NewString() + "/entered-in-error", token: tok,
		body: map[string]any{"reason": "x"}}); r.Status != 404 || r.code() != "assessment.not_found" {
		t.Errorf("absent: %d %s", r.Status, r.Body)
	}
	// Never edited: the database refuses.
	if _, err := e.db.Pool.Exec(context.Background(), "UPDATE assessments SET band = 'no_risk' WHERE id = $1", id); err == nil {
		t.Error("assessment updated")
	}
	if _, err := e.db.Pool.Exec(context.Background(), "DELETE FROM assessments WHERE id = $1", id); err == nil {
		t.Error("assessment deleted")
	}
}

func TestAssessmentOverdue(t *testing.T) {
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	tok := e.login("alt.nurse.x")
	// A Braden at risk eight days ago is overdue; everything else never done.
	r := e.do(req{method: "POST", path: "/v1/residents/" + res.String() + "/assessments", token: tok,
		body: map[string]any{"scale": "braden", "answers": bradenHigh, "assessed_at": time.Now().Add(-8 * 24 * time.Hour).Format(time.RFC3339)}})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	r = e.do(req{method: "GET", path: "/v1/wards/" + e.ward(e.alt, "X").String() + "/assessments/overdue", token: tok})
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var found map[string]any
	for _, x := range r.json(t)["residents"].([]any) {
		if x.(map[string]any)["resident_id"] == res.String() {
			found = x.(map[string]any)
		}
	}
	if found == nil {
		t.Fatal("resident not listed")
	}
	got := map[string]bool{}
	for _, s := range found["scales"].([]any) {
		sm := s.(map[string]any)
		got[sm["scale"].(string)] = sm["never_done"].(bool)
	}
	if never, ok := got["braden"]; !ok || never {
		t.Errorf("braden: %v", got)
	}
	for _, k := range []string{"barthel", "morse", "mna_sf"} {
		if !got[k] {
			t.Errorf("%s not never-done: %v", k, got)
		}
	}
	if e.auditCount(e.alt.FacilityID(), res, "assessment.overdue", "success") != 1 {
		t.Error("not audited")
	}
	if r := e.do(req{method: "GET", path: "/v1/wards/" + e.ward(e.alt, "Y").String() + "/assessments/overdue", token: tok}); r.Status != 404 || r.code() != "ward.not_found" {
		t.Errorf("other ward: %d %s", r.Status, r.Body)
	}
}

// The medical director sets the facility's bands of a scale: checked to
// cover the whole range, versioned, audited, kept in history. New
// assessments take the new bands; those already recorded keep theirs.
func TestScaleBandsPerFacility(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	dir, nurse := e.login("alt.director"), e.login("alt.nurse.x")
	bandsPath := "/v1/admin/scales/morse/bands"
	band := func(m map[string]any, key string) map[string]any {
		for _, b := range m["bands"].([]any) {
			if b.(map[string]any)["key"] == key {
				return b.(map[string]any)
			}
		}
		t.Fatalf("no band %s in %v", key, m)
		return nil
	}
	r := e.do(req{method: "GET", path: bandsPath, token: dir, header: map[string]string{"Accept-Language": "en"}})
	if r.Status != 200 {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}
	got := r.json(t)
	if got["version"] != float64(1) || got["min"] != float64(0) || got["max"] != float64(125) || band(got, "high")["from"] != float64(45) ||
		band(got, "high")["default_from"] != float64(45) || band(got, "high")["label"] == "" {
		t.Fatalf("defaults: %v", got)
	}
	for _, c := range []struct {
		token, path string
		status      int
		code        string
	}{
		{nurse, bandsPath, 403, "forbidden"},
		{e.login("alt.admin"), bandsPath, 403, "forbidden"},
		{dir, "/v1/admin/scales/katz/bands", 404, "scale.not_found"},
	} {
		if r := e.do(req{method: "GET", path: c.path, token: c.token}); r.Status != c.status || r.code() != c.code {
			t.Errorf("GET %s: %d %s", c.path, r.Status, r.Body)
		}
	}

	// A Morse of 50: high by the defaults (≥ 45).
	res, _ := e.therapyResident(false)
	assessments := "/v1/residents/" + res.String() + "/assessments"
	morse50 := map[string]any{"scale": "morse", "answers": map[string]int{"history_of_falling": 25, "secondary_diagnosis": 0,
		"ambulatory_aid": 15, "iv_or_heparin_lock": 0, "gait": 10, "mental_status": 0}}
	before := e.do(req{method: "POST", path: assessments, token: nurse, body: morse50})
	if before.Status != 201 || before.json(t)["band"] != "high" {
		t.Fatalf("before: %d %s", before.Status, before.Body)
	}

	put := func(token string, version any, bands ...any) response {
		t.Helper()
		body := map[string]any{"bands": bands}
		if version != nil {
			body["version"] = version
		}
		return e.do(req{method: "PUT", path: bandsPath, token: token, body: body})
	}
	b := func(key string, from float64) map[string]any { return map[string]any{"key": key, "from": from} }
	for name, c := range map[string]struct {
		bands  []any
		status int
		code   string
		field  string
	}{
		"missing band":    {[]any{b("low", 0), b("high", 51)}, 422, "scale_bands.keys", "bands"},
		"unknown band":    {[]any{b("low", 0), b("medium", 25), b("high", 51)}, 422, "scale_bands.keys", "bands[1].key"},
		"reordered":       {[]any{b("low", 0), b("high", 25), b("moderate", 51)}, 422, "scale_bands.keys", "bands[1].key"},
		"gap at the foot": {[]any{b("low", 5), b("moderate", 25), b("high", 51)}, 422, "scale_bands.gap", "bands[0].from"},
		"overlap":         {[]any{b("low", 0), b("moderate", 51), b("high", 51)}, 422, "scale_bands.overlap", "bands[2].from"},
		"descending":      {[]any{b("low", 0), b("moderate", 60), b("high", 51)}, 422, "scale_bands.overlap", "bands[2].from"},
		"unreachable":     {[]any{b("low", 0), b("moderate", 25), b("high", 126)}, 422, "scale_bands.out_of_range", "bands[2].from"},
		"half a point":    {[]any{b("low", 0), b("moderate", 25), b("high", 50.5)}, 422, "scale_bands.not_a_score", "bands[2].from"},
	} {
		r := put(dir, 1, c.bands...)
		if r.Status != c.status || r.code() != c.code || !strings.Contains(string(r.Body), c.field) {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	morse51 := []any{b("low", 0), b("moderate", 25), b("high", 51)}
	if r := put(dir, nil, morse51...); r.Status != 400 || r.code() != "request.version_required" {
		t.Errorf("no version: %d %s", r.Status, r.Body)
	}
	if r := put(nurse, 1, morse51...); r.Status != 403 {
		t.Errorf("nurse: %d %s", r.Status, r.Body)
	}
	r = put(dir, 1, morse51...)
	if r.Status != 200 || r.json(t)["version"] != float64(2) || band(r.json(t), "high")["from"] != float64(51) ||
		band(r.json(t), "high")["default_from"] != float64(45) {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	if r := put(dir, 1, morse51...); r.Status != 409 || r.code() != "version_conflict" {
		t.Errorf("stale version: %d %s", r.Status, r.Body)
	}
	var audited int
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE facility_id = $1 AND action = 'assessment.bands'
		AND resource_id = 'morse' AND outcome = 'success' AND detail LIKE '%high 45→51%'`, e.alt.FacilityID()).Scan(&audited); err != nil || audited != 1 {
		t.Errorf("audit: %d %v", audited, err)
	}

	// New assessments take the facility's bands; the first keeps its band.
	after := e.do(req{method: "POST", path: assessments, token: nurse, body: morse50})
	if after.Status != 201 || after.json(t)["band"] != "moderate" {
		t.Fatalf("after: %d %s", after.Status, after.Body)
	}
	list := e.do(req{method: "GET", path: assessments + "?scale=morse", token: nurse}).json(t)["assessments"].([]any)
	bands := map[string]any{}
	for _, x := range list {
		bands[x.(map[string]any)["id"].(string)] = x.(map[string]any)["band"]
	}
	if bands[before.json(t)["id"].(string)] != "high" || bands[after.json(t)["id"].(string)] != "moderate" {
		t.Fatalf("stored bands: %v", bands)
	}
	for _, s := range e.do(req{method: "GET", path: "/v1/scales", token: nurse}).json(t)["scales"].([]any) {
		if m := s.(map[string]any); m["key"] == "morse" && band(m, "high")["from"] != float64(51) {
			t.Errorf("scales list: %v", m["bands"])
		}
	}

	// Back to the default: the row holds it, the replaced bound is history.
	r = put(dir, 2, b("low", 0), b("moderate", 25), b("high", 45))
	if r.Status != 200 || r.json(t)["version"] != float64(3) || band(r.json(t), "high")["from"] != float64(45) {
		t.Fatalf("back to the default: %d %s", r.Status, r.Body)
	}
	var history int
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM row_history WHERE table_name = 'assessment_band_overrides'
		AND facility_id = $1 AND data->>'from_score' = '51.0' AND changed_by = $2`, e.alt.FacilityID(),
		e.alt.ID("staff", "alt.director")).Scan(&history); err != nil || history != 1 {
		t.Errorf("history: %d %v", history, err)
	}
	// An unchanged set writes nothing and keeps the version.
	if r := put(dir, 3, b("low", 0), b("moderate", 25), b("high", 45)); r.Status != 200 || r.json(t)["version"] != float64(3) {
		t.Errorf("unchanged: %d %s", r.Status, r.Body)
	}
	// MMSE bounds take one decimal (the corrected score has one), not two.
	mmse := "/v1/admin/scales/mmse/bands"
	if r := e.do(req{method: "PUT", path: mmse, token: dir, body: map[string]any{"version": 1,
		"bands": []any{b("abnormal", 0), b("normal", 23.85)}}}); r.Status != 422 || r.code() != "scale_bands.not_a_score" {
		t.Errorf("mmse 23.85: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "PUT", path: mmse, token: dir, body: map[string]any{"version": 1,
		"bands": []any{b("abnormal", 0), b("normal", 23.8)}}}); r.Status != 200 || band(r.json(t), "normal")["from"] != 23.8 {
		t.Errorf("mmse 23.8: %d %s", r.Status, r.Body)
	}
}
