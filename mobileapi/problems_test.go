package mobileapi_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
)

// Anamnesis, diagnoses and problems, end to end through the API.

// mxProblem writes, straight into the database as a physician of tg's
// facility, an active diagnosis of hypertension (401.9) for tg's resident.
func (e *env) mxProblem(tg target) uuid.UUID {
	e.t.Helper()
	id := uuid.New()
	doctor := e.mxStaff(tg, "physician", false)
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO problems (facility_id, id, resident_id, kind, icd9_code,
			description, status, recorded_by, updated_by)
		VALUES ($1, $2, $3, 'medical', '401.9', 'Ipertensione essenziale non specificata', 'active', $4, $4)`,
		tg.facility, id, tg.resident, doctor); err != nil {
		e.t.Fatalf("problem: %v", err)
	}
	return id
}

func TestProblemsAnamnesis(t *testing.T) {
	e := newEnv(t)
	tg := e.newTarget(own)
	nurse, oss := e.login("alt.nurse.x"), e.login("alt.oss.x")
	base := "/v1/residents/" + tg.resident.String() + "/anamnesis"

	r := e.do(req{method: "GET", path: base, token: oss})
	if r.Status != 200 {
		t.Fatalf("read: %d %s", r.Status, r.Body)
	}
	secs := r.json(t)["sections"].([]any)
	if len(secs) != 6 || secs[0].(map[string]any)["version"].(float64) != 0 {
		t.Fatalf("empty anamnesis: %s", r.Body)
	}
	put := func(tok, sec string, version int, text string) response {
		return e.do(req{method: "PUT", path: base + "/" + sec, token: tok, body: map[string]any{"version": version, "text": text}})
	}
	if r := put(oss, "social", 0, "vive sola"); r.Status != 403 {
		t.Fatalf("oss writes anamnesis: %d", r.Status)
	}
	if r := put(nurse, "hobbies", 0, "x"); r.Status != 404 || r.code() != "anamnesis.unknown_section" {
		t.Fatalf("unknown section: %d %s", r.Status, r.Body)
	}
	if r := put(nurse, "social", 0, "Vedova, vive sola."); r.Status != 200 || r.json(t)["version"].(float64) != 1 {
		t.Fatalf("first write: %d %s", r.Status, r.Body)
	}
	if r := put(nurse, "social", 0, "again"); r.Status != 409 || r.code() != "version_conflict" {
		t.Fatalf("second insert: %d %s", r.Status, r.Body)
	}
	if r := put(nurse, "social", 1, "Vedova, vive con la figlia."); r.Status != 200 || r.json(t)["version"].(float64) != 2 {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	if r := put(nurse, "social", 1, "stale"); r.Status != 409 || r.code() != "version_conflict" {
		t.Fatalf("stale: %d %s", r.Status, r.Body)
	}
	r = e.do(req{method: "GET", path: base + "/history", token: oss})
	vs := r.json(t)["versions"].([]any)
	if r.Status != 200 || len(vs) != 2 || vs[0].(map[string]any)["text"] != "Vedova, vive con la figlia." ||
		vs[1].(map[string]any)["text"] != "Vedova, vive sola." || vs[1].(map[string]any)["current"] != false {
		t.Fatalf("history: %d %s", r.Status, r.Body)
	}
	var audits int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE resident_id = $1
		AND action IN ('anamnesis.read', 'anamnesis.history', 'anamnesis.write')`, tg.resident).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits != 4 {
		t.Fatalf("audit events: %d, want 4", audits)
	}
}

func TestProblemsRecordAndStatus(t *testing.T) {
	e := newEnv(t)
	tg := e.newTarget(own)
	doctor, nurse := e.login("alt.doctor"), e.login("alt.nurse.x")
	base := "/v1/residents/" + tg.resident.String() + "/problems"
	post := func(tok string, body map[string]any) response {
		return e.do(req{method: "POST", path: base, token: tok, body: body})
	}
	r := post(doctor, map[string]any{"icd9_code": "427.31", "onset": "2019-05-01"})
	if r.Status != 201 {
		t.Fatalf("coded: %d %s", r.Status, r.Body)
	}
	p := r.json(t)
	if p["description"] != "Fibrillazione atriale" || p["status"] != "active" || p["kind"] != "medical" {
		t.Fatalf("coded problem: %s", r.Body)
	}
	// With an Idempotency-Key, a retry records nothing twice.
	key := uuid.NewString()
	once := func(body map[string]any) response {
		return e.do(req{method: "POST", path: base, token: doctor, header: map[string]string{"Idempotency-Key": key}, body: body})
	}
	first := once(map[string]any{"icd9_code": "244.9"})
	again := once(map[string]any{"icd9_code": "244.9"})
	if first.Status != 201 || again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" ||
		first.json(t)["id"] != again.json(t)["id"] {
		t.Fatalf("replay: %d %d %s", first.Status, again.Status, again.Body)
	}
	if r := once(map[string]any{"icd9_code": "311"}); r.Status != 422 || r.code() != "idempotency.key_reused" {
		t.Fatalf("key reused: %d %s", r.Status, r.Body)
	}
	if r := post(nurse, map[string]any{"icd9_code": "401.9"}); r.Status != 403 {
		t.Fatalf("nurse records a diagnosis: %d", r.Status)
	}
	if r := post(nurse, map[string]any{"kind": "nursing", "description": "Rischio di lesioni da pressione"}); r.Status != 201 ||
		r.json(t)["icd9_code"] != nil {
		t.Fatalf("nursing free text: %d %s", r.Status, r.Body)
	}
	if r := post(doctor, map[string]any{"icd9_code": "999.99"}); r.Status != 422 || r.code() != "problem.unknown_code" {
		t.Fatalf("unknown code: %d %s", r.Status, r.Body)
	}
	if r := post(doctor, map[string]any{"description": "  "}); r.Status != 400 || r.code() != "problem.description_required" {
		t.Fatalf("empty: %d %s", r.Status, r.Body)
	}
	if r := post(doctor, map[string]any{"icd9_code": "311", "onset": "2999-01-01"}); r.Status != 400 || r.code() != "problem.invalid_onset" {
		t.Fatalf("future onset: %d %s", r.Status, r.Body)
	}
	status := func(tok string, body map[string]any) response {
		return e.do(req{method: "POST", path: "/v1/problems/" + p["id"].(string) + "/status", token: tok, body: body})
	}
	if r := status(nurse, map[string]any{"version": 1, "status": "resolved"}); r.Status != 403 {
		t.Fatalf("nurse resolves a diagnosis: %d", r.Status)
	}
	if r := status(doctor, map[string]any{"version": 1, "status": "resolved", "reason": "ritmo sinusale stabile"}); r.Status != 200 ||
		r.json(t)["version"].(float64) != 2 {
		t.Fatalf("resolve: %d %s", r.Status, r.Body)
	}
	if r := status(doctor, map[string]any{"version": 1, "status": "active"}); r.Status != 409 || r.code() != "version_conflict" {
		t.Fatalf("stale: %d %s", r.Status, r.Body)
	}
	if r := status(doctor, map[string]any{"version": 2, "status": "entered_in_error"}); r.Status != 400 {
		t.Fatalf("no reason: %d %s", r.Status, r.Body)
	}
	if r := status(doctor, map[string]any{"version": 2, "status": "entered_in_error", "reason": "ospite sbagliato"}); r.Status != 200 {
		t.Fatalf("entered in error: %d %s", r.Status, r.Body)
	}
	if r := status(doctor, map[string]any{"version": 3, "status": "active"}); r.Status != 409 || r.code() != "problem.entered_in_error" {
		t.Fatalf("after error: %d %s", r.Status, r.Body)
	}
	r = e.do(req{method: "GET", path: base, token: nurse})
	if list := r.json(t)["problems"].([]any); r.Status != 200 || len(list) != 3 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	// The content of a problem never changes, even straight in the database.
	if _, err := e.db.Pool.Exec(context.Background(), `UPDATE problems SET description = 'x' WHERE id = $1`, p["id"]); err == nil {
		t.Fatal("a problem's content was edited")
	}
	var versions int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM row_history WHERE table_name = 'problems'
		AND row_id = $1`, p["id"]).Scan(&versions); err != nil || versions != 2 {
		t.Fatalf("history rows: %d %v", versions, err)
	}
}

func TestProblemsICD9Search(t *testing.T) {
	e := newEnv(t)
	r := e.do(req{method: "GET", path: "/v1/icd9cm?q=fibrillazione", token: e.login("alt.nurse.x")})
	codes := r.json(t)["codes"].([]any)
	if r.Status != 200 || len(codes) == 0 || codes[0].(map[string]any)["code"] != "427.31" {
		t.Fatalf("search: %d %s", r.Status, r.Body)
	}
	r = e.do(req{method: "GET", path: "/v1/icd9cm?q=250", token: e.login("alt.doctor")})
	if codes := r.json(t)["codes"].([]any); r.Status != 200 || len(codes) < 5 {
		t.Fatalf("by code: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "GET", path: "/v1/icd9cm", token: e.login("alt.admin")}); r.Status != 403 {
		t.Fatalf("admin: %d", r.Status)
	}
}

func TestProblemsDemo(t *testing.T) {
	e := newEnv(t)
	var residents, without int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE
			(SELECT count(*) FROM problems p WHERE p.facility_id = r.facility_id AND p.resident_id = r.id) NOT BETWEEN 2 AND 5
			OR (SELECT count(*) FROM anamnesis_sections a WHERE a.facility_id = r.facility_id AND a.resident_id = r.id) <> 6)
		FROM residents r JOIN facilities f ON f.id = r.facility_id WHERE f.code = 'VDT'`).Scan(&residents, &without); err != nil {
		t.Fatal(err)
	}
	if residents == 0 || without != 0 {
		t.Fatalf("%d VDT residents, %d without an anamnesis and 2–5 problems", residents, without)
	}
}
