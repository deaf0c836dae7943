package mobileapi_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Vital signs, end to end through the API.

// vitalsOwn/vitalsOther: recording vital signs (nurses, OSS, physicians and
// ward leads on their own wards; the ALT doctor is on X and Y).
var (
	vitalsOwn   = expect{"nurse": 200, "oss": 200, "lead": 200, "doctor": 200, "therapist": 403, "director": 403, "*": 404}
	vitalsOther = expect{"doctor": 200, "lead": 403, "director": 403, "*": 404}
)

// mxVital records, straight into the database as a nurse of tg's ward, a
// heart rate taken ten minutes ago, and returns the measurement's id.
func (e *env) mxVital(tg target) uuid.UUID {
	e.t.Helper()
	rec, id := uuid.New(), uuid.New()
	nurse := e.mxStaff(tg, "nurse", true)
	ctx := context.Background()
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO vital_records (facility_id, id, resident_id, measured_at, recorded_by)
		VALUES ($1, $2, $3, now() - interval '10 minutes', $4)`, tg.facility, rec, tg.resident, nurse); err != nil {
		e.t.Fatalf("vital record: %v", err)
	}
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO vital_measurements (facility_id, id, record_id, resident_id, measured_at,
			kind, value, unit, normal_low, normal_high)
		VALUES ($1, $2, $3, $4, now() - interval '10 minutes', 'heart_rate', 72, 'bpm', 60, 100)`,
		tg.facility, id, rec, tg.resident); err != nil {
		e.t.Fatalf("vital measurement: %v", err)
	}
	return id
}

func (e *env) postVitals(token string, resident uuid.UUID, key string, body any) response {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/v1/residents/" + resident.String() + "/vitals", token: token,
		header: map[string]string{"Idempotency-Key": key}, body: body})
}

func measurements(t *testing.T, r response) []map[string]any {
	t.Helper()
	raw, _ := r.json(t)["measurements"].([]any)
	out := make([]map[string]any, len(raw))
	for i, m := range raw {
		out[i] = m.(map[string]any)
	}
	return out
}

func flags(m map[string]any) []string {
	var out []string
	for _, f := range m["flags"].([]any) {
		out = append(out, f.(string))
	}
	return out
}

func TestVitalsRecordFlagsAndBMI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	nurse := e.login("alt.nurse.x")

	// A height first; then a weight gets its BMI from it.
	r := e.postVitals(nurse, res, uuid.NewString(), map[string]any{"measurements": []any{
		map[string]any{"kind": "height", "value": "165", "unit": "cm"}}})
	if r.Status != 201 {
		t.Fatalf("height: %d %s", r.Status, r.Body)
	}
	at := time.Now().UTC().Add(-5 * time.Minute).Truncate(time.Second)
	r = e.postVitals(e.login("alt.oss.x"), res, uuid.NewString(), map[string]any{"measured_at": at.Format(time.RFC3339),
		"notes": "dopo colazione", "measurements": []any{
			map[string]any{"kind": "blood_pressure", "systolic": "162", "diastolic": 88},
			map[string]any{"kind": "temperature", "value": 37.25},
			map[string]any{"kind": "spo2", "value": "97"},
			map[string]any{"kind": "weight", "value": "95.0"},
			map[string]any{"kind": "fluid_intake", "value": "250", "subkind": "oral"},
		}})
	if r.Status != 201 {
		t.Fatalf("record: %d %s", r.Status, r.Body)
	}
	ms := measurements(t, r)
	if len(ms) != 6 {
		t.Fatalf("want 5 measurements and a BMI, got %s", r.Body)
	}
	byKind := map[string]map[string]any{}
	for _, m := range ms {
		byKind[m["kind"].(string)] = m
	}
	if bp := byKind["blood_pressure"]; bp["systolic"] != "162" || bp["diastolic"] != "88" || !slices.Equal(flags(bp), []string{"high"}) ||
		bp["unit"] != "mmHg" {
		t.Errorf("blood pressure %v", bp)
	}
	if tmp := byKind["temperature"]; tmp["value"] != "37.25" || len(flags(tmp)) != 0 || tmp["unit"] != "°C" {
		t.Errorf("temperature %v", tmp)
	}
	// 95 kg at 165 cm: BMI 34.9, high.
	if bmi := byKind["bmi"]; bmi["value"] != "34.9" || bmi["computed"] != true || !slices.Equal(flags(bmi), []string{"high"}) {
		t.Errorf("bmi %v", bmi)
	}
	if nr := byKind["blood_pressure"]["normal_range"].(map[string]any); nr["high"] != "140" {
		t.Errorf("normal range %v", nr)
	}

	// Impossible values: 422 naming the field.
	for _, c := range []struct {
		m           map[string]any
		code, field string
	}{
		{map[string]any{"kind": "temperature", "value": "46"}, "vitals.impossible_value", "measurements[1].value"},
		{map[string]any{"kind": "blood_pressure", "systolic": "310", "diastolic": "80"}, "vitals.impossible_value", "measurements[1].systolic"},
		{map[string]any{"kind": "blood_pressure", "systolic": "70", "diastolic": "80"}, "vitals.systolic_below_diastolic", "measurements[1].systolic"},
		{map[string]any{"kind": "spo2", "value": "101"}, "vitals.impossible_value", "measurements[1].value"},
	} {
		r := e.postVitals(nurse, res, uuid.NewString(), map[string]any{"measurements": []any{
			map[string]any{"kind": "heart_rate", "value": "70"}, c.m}})
		if r.Status != 422 || r.code() != c.code {
			t.Errorf("%v: %d %s", c.m, r.Status, r.Body)
			continue
		}
		if errs, _ := r.json(t)["errors"].(map[string]any); errs[c.field] == nil {
			t.Errorf("%v: errors %v do not name %s", c.m, errs, c.field)
		}
	}
	if r := e.postVitals(nurse, res, uuid.NewString(), map[string]any{"measurements": []any{
		map[string]any{"kind": "cholesterol", "value": "200"}}}); r.Status != 400 || r.code() != "vitals.unknown_kind" {
		t.Errorf("unknown kind: %d %s", r.Status, r.Body)
	}
	// The therapist may see but not record.
	if r := e.postVitals(e.login("alt.therapist.x"), res, uuid.NewString(), map[string]any{"measurements": []any{
		map[string]any{"kind": "heart_rate", "value": "70"}}}); r.Status != 403 {
		t.Errorf("therapist: %d %s", r.Status, r.Body)
	}
}

func TestVitalsIdempotentRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	nurse := e.login("alt.nurse.x")
	key := uuid.NewString()
	body := map[string]any{"measurements": []any{map[string]any{"kind": "heart_rate", "value": "110"}}}
	first := e.postVitals(nurse, res, key, body)
	again := e.postVitals(nurse, res, key, body)
	if first.Status != 201 || again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("first %d, again %d %q", first.Status, again.Status, again.Header.Get("Idempotent-Replayed"))
	}
	if first.json(t)["id"] != again.json(t)["id"] || measurements(t, first)[0]["id"] != measurements(t, again)[0]["id"] {
		t.Fatalf("replay answered differently:\n%s\n%s", first.Body, again.Body)
	}
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM vital_measurements WHERE resident_id = $1",
		res).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows (%v); want 1", n, err)
	}
	other := map[string]any{"measurements": []any{map[string]any{"kind": "heart_rate", "value": "111"}}}
	if r := e.postVitals(nurse, res, key, other); r.Status != 422 || r.code() != "idempotency.key_reused" {
		t.Fatalf("same key, other body: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "POST", path: "/v1/residents/" + res.String() + "/vitals", token: nurse, body: body}); r.Status != 400 ||
		r.code() != "idempotency.key_required" {
		t.Fatalf("no key: %d %s", r.Status, r.Body)
	}
}

func TestVitalsEnteredInErrorAndTrends(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	nurse := e.login("alt.nurse.x")
	now := time.Now().UTC()
	for i, v := range []string{"36.6", "38.4", "37.0"} {
		at := now.Add(time.Duration(i-3) * 24 * time.Hour).Format(time.RFC3339)
		if r := e.postVitals(nurse, res, uuid.NewString(), map[string]any{"measured_at": at, "measurements": []any{
			map[string]any{"kind": "temperature", "value": v}, map[string]any{"kind": "heart_rate", "value": "80"}}}); r.Status != 201 {
			t.Fatalf("record %d: %d %s", i, r.Status, r.Body)
		}
	}
	trends := func(q string) []any {
		r := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/vitals" + q, token: nurse})
		if r.Status != 200 {
			t.Fatalf("trends %s: %d %s", q, r.Status, r.Body)
		}
		return r.json(t)["series"].([]any)
	}
	series := trends("?kind=temperature")
	if len(series) != 1 {
		t.Fatalf("series %v", series)
	}
	points := series[0].(map[string]any)["points"].([]any)
	if len(points) != 3 || points[1].(map[string]any)["value"] != "38.4" || !slices.Equal(flags(points[1].(map[string]any)), []string{"high"}) {
		t.Fatalf("points %v", points)
	}
	if len(trends("")) != 2 {
		t.Fatal("want temperature and heart rate")
	}
	if got := trends("?from=" + now.Add(-36*time.Hour).Format(time.RFC3339)); len(got[0].(map[string]any)["points"].([]any)) != 1 {
		t.Fatalf("from: %v", got)
	}

	// The fever was entered in error: corrected, not edited, and out of the trend.
	fever := points[1].(map[string]any)["id"].(string)
	path := "/v1/vitals/" + fever + "/entered-in-error"
	if r := e.do(req{method: "POST", path: path, token: nurse, body: map[string]any{"reason": "x"}}); r.Status != 400 {
		t.Fatalf("short reason: %d %s", r.Status, r.Body)
	}
	r := e.do(req{method: "POST", path: path, token: nurse, body: map[string]any{"reason": "termometro sbagliato"}})
	if r.Status != 200 {
		t.Fatalf("entered in error: %d %s", r.Status, r.Body)
	}
	for _, m := range measurements(t, r) {
		if (m["id"] == fever) != (m["entered_in_error"] != nil) {
			t.Fatalf("correction on the wrong measurement: %s", r.Body)
		}
	}
	if r := e.do(req{method: "POST", path: path, token: nurse, body: map[string]any{"reason": "termometro sbagliato"}}); r.Status != 409 ||
		r.code() != "vitals.already_corrected" {
		t.Fatalf("again: %d %s", r.Status, r.Body)
	}
	if pts := trends("?kind=temperature")[0].(map[string]any)["points"].([]any); len(pts) != 2 {
		t.Fatalf("corrected point still in the trend: %v", pts)
	}
	if _, err := e.db.Pool.Exec(context.Background(), "UPDATE vital_measurements SET value = 37 WHERE id = $1", fever); err == nil {
		t.Fatal("a measurement was edited in place")
	}
	if r := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/vitals?kind=colesterolo", token: nurse}); r.Status != 400 {
		t.Fatalf("unknown kind: %d", r.Status)
	}

	// The ward view shows the latest valid value of each kind.
	ward := e.alt.ID("ward", "X")
	r = e.do(req{method: "GET", path: "/v1/wards/" + ward.String() + "/vitals/latest", token: nurse})
	if r.Status != 200 {
		t.Fatalf("ward latest: %d %s", r.Status, r.Body)
	}
	found := false
	for _, x := range r.json(t)["residents"].([]any) {
		x := x.(map[string]any)
		if x["resident_id"] == res.String() {
			found = true
			if latest := x["latest"].([]any); len(latest) != 2 {
				t.Fatalf("latest %v", latest)
			}
		}
	}
	if !found {
		t.Fatal("resident missing from the ward view")
	}
	// Reads are audited.
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE resident_id = $1
		AND action = 'vitals.read'`, res).Scan(&n); err != nil || n == 0 {
		t.Fatalf("reads audited: %d %v", n, err)
	}
}
