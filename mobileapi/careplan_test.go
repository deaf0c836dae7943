package mobileapi_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The care plan (PAI) and its care tasks, end to end through the API.

// Who writes, signs and ticks, on own ward and other ward.
var (
	// Propose a version: physicians, nurses, therapists, ward leads.
	carePlanWriteOwn   = expect{"nurse": 200, "therapist": 200, "lead": 200, "doctor": 200, "oss": 403, "director": 403, "*": 404}
	carePlanWriteOther = expect{"lead": 403, "doctor": 200, "director": 403, "*": 404}
	// Sign: the ward team, OSS included.
	carePlanSignOwn   = expect{"nurse": 200, "oss": 200, "therapist": 200, "lead": 200, "doctor": 200, "director": 403, "*": 404}
	carePlanSignOther = expect{"lead": 403, "doctor": 200, "director": 403, "*": 404}
	// Tick an OSS task: OSS, nurses, leads (RecordCare). Out of scope the
	// task "does not exist" for the caller (422 care_task.not_a_task).
	careTaskOwn   = expect{"nurse": 201, "oss": 201, "lead": 201, "therapist": 403, "doctor": 403, "director": 403, "*": 422}
	careTaskOther = expect{"lead": 403, "doctor": 403, "director": 403, "*": 422}
	// Correct a task record.
	careFixOwn   = expect{"nurse": 200, "oss": 200, "lead": 200, "therapist": 403, "doctor": 403, "director": 403, "*": 404}
	careFixOther = expect{"lead": 403, "doctor": 403, "director": 403, "*": 404}
)

// carePlanBody is a first plan: pressure-injury risk with OSS
// repositioning every 2 h, a nurse's skin check twice a day, lunch with
// intake, and a therapist's rehab intervention.
func carePlanBody(basedOn any) map[string]any {
	month := time.Now().AddDate(0, 1, 0).Format("2006-01-02")
	return map[string]any{"based_on": basedOn, "review_date": month, "summary": "PAI di ingresso",
		"problems": []any{map[string]any{"title": "Rischio di lesioni da pressione (Braden 12)", "goals": []any{
			map[string]any{"description": "Cute integra", "measure": "nessuna lesione, Braden ≥ 15", "target_date": month,
				"interventions": []any{
					map[string]any{"kind": "repositioning", "description": "Riposizionamento", "role": "oss", "every_hours": 2, "start": "00:00"},
					map[string]any{"kind": "skin_check", "description": "Ispezione cutanea", "role": "nurse", "times": []string{"20:00", "08:00"}},
					map[string]any{"kind": "meal", "description": "Pranzo con registrazione dell'assunzione", "role": "oss", "times": []string{"12:00"}},
					map[string]any{"kind": "rehab", "description": "Mobilizzazione attiva assistita", "role": "therapist"},
				}},
		}}}}
}

func (e *env) proposeCarePlan(token string, resident uuid.UUID, key string, body map[string]any) response {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/v1/residents/" + resident.String() + "/care-plan/versions", token: token,
		header: map[string]string{"Idempotency-Key": key}, body: body})
}

func (e *env) signCarePlan(token, version string) response {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/v1/care-plans/" + version + "/signatures", token: token})
}

// mxCarePlan writes, straight into the database, a plan for tg's resident
// in force since yesterday, signed by a nurse and a physician: an OSS
// repositioning every hour, a nurse's check every hour, an OSS meal every
// hour (so that a task is always near) and a therapist's rehab
// intervention. It returns the version and the four interventions' ids.
func (e *env) mxCarePlan(tg target) (version uuid.UUID, reposition, check, meal, rehabIv uuid.UUID) {
	e.t.Helper()
	return e.mxCarePlanReviewedIn(tg, 30)
}

// mxCarePlanReviewedIn is mxCarePlan with its review date days from today.
func (e *env) mxCarePlanReviewedIn(tg target, days int) (version uuid.UUID, reposition, check, meal, rehabIv uuid.UUID) {
	e.t.Helper()
	ctx := context.Background()
	nurse, doctor := e.mxStaff(tg, "nurse", true), e.mxStaff(tg, "physician", false)
	version, problem, goal := uuid.New(), uuid.New(), uuid.New()
	reposition, check, meal, rehabIv = uuid.New(), uuid.New(), uuid.New(), uuid.New()
	var hours []string
	for h := 0; h < 24; h++ {
		hours = append(hours, time.Date(2000, 1, 1, h, 0, 0, 0, time.UTC).Format("15:04"))
	}
	stmts := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO care_plan_versions (facility_id, id, resident_id, version_no, review_date, recorded_by, recorded_at)
			VALUES ($1, $2, $3, 1, current_date + $5::int, $4, now() - interval '2 days')`, []any{tg.facility, version, tg.resident, nurse, days}},
		{`INSERT INTO care_plan_problems (facility_id, id, version_id, ordinal, title) VALUES ($1, $2, $3, 1, 'Rischio LdP')`,
			[]any{tg.facility, problem, version}},
		{`INSERT INTO care_plan_goals (facility_id, id, version_id, problem_ref, ordinal, description, measure, target_date)
			VALUES ($1, $2, $3, $4, 1, 'Cute integra', 'nessuna lesione', current_date + 30)`, []any{tg.facility, goal, version, problem}},
		{`INSERT INTO care_plan_interventions (facility_id, id, line_id, version_id, resident_id, goal_id, ordinal, kind, description,
				role, times)
			VALUES ($1, $2, $2, $4, $9, $5, 1, 'repositioning', 'Riposizionamento', 'oss', $6::text[]::time[]),
			       ($1, $3, $3, $4, $9, $5, 2, 'monitoring', 'Controllo', 'nurse', $6::text[]::time[]),
			       ($1, $7, $7, $4, $9, $5, 3, 'meal', 'Spuntino', 'oss', $6::text[]::time[]),
			       ($1, $8, $8, $4, $9, $5, 4, 'rehab', 'Mobilizzazione', 'therapist', '{}')`,
			[]any{tg.facility, reposition, check, version, goal, hours, meal, rehabIv, tg.resident}},
		{`INSERT INTO care_plan_signatures (facility_id, version_id, staff_id, profession, signed_at)
			VALUES ($1, $2, $3, 'nursing', now() - interval '2 days'), ($1, $2, $4, 'medical', now() - interval '1 day')`,
			[]any{tg.facility, version, nurse, doctor}},
		{`INSERT INTO care_plan_activations (facility_id, resident_id, version_id, activated_at)
			VALUES ($1, $2, $3, now() - interval '1 day')`, []any{tg.facility, tg.resident, version}},
	}
	for _, s := range stmts {
		if _, err := e.db.Pool.Exec(ctx, s.sql, s.args...); err != nil {
			e.t.Fatalf("care plan: %v", err)
		}
	}
	return
}

// mxCareDraft writes a first-plan draft signed by a nurse of tg's ward.
func (e *env) mxCareDraft(tg target) uuid.UUID {
	e.t.Helper()
	ctx := context.Background()
	nurse := e.mxStaff(tg, "nurse", true)
	id := uuid.New()
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO care_plan_versions (facility_id, id, resident_id, version_no, review_date, recorded_by)
		VALUES ($1, $2, $3, 1, current_date + 30, $4)`, tg.facility, id, tg.resident, nurse); err != nil {
		e.t.Fatalf("draft: %v", err)
	}
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO care_plan_signatures (facility_id, version_id, staff_id, profession)
		VALUES ($1, $2, $3, 'nursing')`, tg.facility, id, nurse); err != nil {
		e.t.Fatalf("draft signature: %v", err)
	}
	return id
}

// mxCareTask writes a repositioning done an hour ago and returns its id.
func (e *env) mxCareTask(tg target) uuid.UUID {
	e.t.Helper()
	_, iv, _, _, _ := e.mxCarePlan(tg)
	id := uuid.New()
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO care_task_records (facility_id, id, resident_id, intervention_id,
			line_id, due_at, outcome, recorded_by) VALUES ($1, $2, $3, $4, $4, date_trunc('hour', now()) - interval '1 hour', 'done', $5)`,
		tg.facility, id, tg.resident, iv, e.mxStaff(tg, "oss", true)); err != nil {
		e.t.Fatalf("care task: %v", err)
	}
	return id
}

// hourTask is the task body for intervention iv due at the top of the
// current hour (+ offset hours).
func hourTask(iv uuid.UUID, offset int, extra map[string]any) map[string]any {
	due := time.Now().UTC().Truncate(time.Hour).Add(time.Duration(offset) * time.Hour)
	b := map[string]any{"intervention_id": iv.String(), "due_at": due.Format(time.RFC3339), "outcome": "done"}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func (e *env) tick(token string, key string, body map[string]any) response {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/v1/care-tasks", token: token, header: map[string]string{"Idempotency-Key": key}, body: body})
}

func TestCarePlanVersionsSignaturesAndStaleDrafts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.newTarget(own)
	nurse, lead, doctor, oss, th := e.login("alt.nurse.x"), e.login("alt.lead.x"), e.login("alt.doctor"), e.login("alt.oss.x"), e.login("alt.therapist.x")

	if r := e.proposeCarePlan(oss, tg.resident, uuid.NewString(), carePlanBody(nil)); r.Status != 403 {
		t.Fatalf("OSS writes the PAI: %d %s", r.Status, r.Body)
	}
	bad := carePlanBody(nil)
	bad["problems"].([]any)[0].(map[string]any)["goals"].([]any)[0].(map[string]any)["measure"] = ""
	if r := e.proposeCarePlan(nurse, tg.resident, uuid.NewString(), bad); r.Status != 400 || r.code() != "care_plan.measure_required" {
		t.Fatalf("goal without a measure: %d %s", r.Status, r.Body)
	}
	bad = carePlanBody(nil)
	ivs := bad["problems"].([]any)[0].(map[string]any)["goals"].([]any)[0].(map[string]any)["interventions"].([]any)
	ivs[3].(map[string]any)["times"] = []string{"10:00"}
	if r := e.proposeCarePlan(nurse, tg.resident, uuid.NewString(), bad); r.Status != 400 || r.code() != "care_plan.times_for_ward_staff" {
		t.Fatalf("therapist intervention with times: %d %s", r.Status, r.Body)
	}
	bad = carePlanBody(nil)
	bad["problems"].([]any)[0].(map[string]any)["problem_id"] = uuid.NewString()
	if r := e.proposeCarePlan(nurse, tg.resident, uuid.NewString(), bad); r.Status != 422 || r.code() != "care_plan.invalid_problem" {
		t.Fatalf("another resident's problem: %d %s", r.Status, r.Body)
	}

	key := uuid.NewString()
	r := e.proposeCarePlan(nurse, tg.resident, key, carePlanBody(nil))
	if r.Status != 201 {
		t.Fatalf("propose: %d %s", r.Status, r.Body)
	}
	v1 := r.json(t)
	if v1["status"] != "draft" || v1["version_no"].(float64) != 1 || len(v1["signatures"].([]any)) != 1 {
		t.Fatalf("draft: %s", r.Body)
	}
	times := v1["problems"].([]any)[0].(map[string]any)["goals"].([]any)[0].(map[string]any)["interventions"].([]any)
	if got := times[0].(map[string]any)["times"].([]any); len(got) != 12 || got[1] != "02:00" {
		t.Fatalf("every 2 h from 00:00: %v", got)
	}
	if got := times[1].(map[string]any)["times"].([]any); got[0] != "08:00" || got[1] != "20:00" {
		t.Fatalf("times sorted: %v", got)
	}
	if again := e.proposeCarePlan(nurse, tg.resident, key, carePlanBody(nil)); again.Status != 201 ||
		again.Header.Get("Idempotent-Replayed") != "true" || again.json(t)["id"] != v1["id"] {
		t.Fatalf("replay: %d %s", again.Status, again.Body)
	}
	id1 := v1["id"].(string)
	// Nursing twice (nurse again, then the ward lead, a nurse coordinator)
	// is one profession: still a draft.
	for _, tok := range []string{nurse, lead} {
		if s := e.signCarePlan(tok, id1); s.Status != 200 || s.json(t)["status"] != "draft" {
			t.Fatalf("nursing signature: %d %s", s.Status, s.Body)
		}
	}
	s := e.signCarePlan(doctor, id1)
	if s.Status != 200 || s.json(t)["status"] != "in_force" || s.json(t)["activated_at"] == nil || len(s.json(t)["signatures"].([]any)) != 3 {
		t.Fatalf("physician's signature brings it into force: %d %s", s.Status, s.Body)
	}
	if s := e.signCarePlan(th, id1); s.Status != 409 || s.code() != "care_plan.already_in_force" {
		t.Fatalf("signing a plan in force: %d %s", s.Status, s.Body)
	}
	plan := e.do(req{method: "GET", path: "/v1/residents/" + tg.resident.String() + "/care-plan", token: oss})
	if plan.Status != 200 || plan.json(t)["in_force"].(map[string]any)["id"] != id1 {
		t.Fatalf("plan in force: %d %s", plan.Status, plan.Body)
	}

	// A first-plan draft written on an old reading is refused.
	if r := e.proposeCarePlan(nurse, tg.resident, uuid.NewString(), carePlanBody(nil)); r.Status != 409 || r.code() != "care_plan.stale" {
		t.Fatalf("stale base: %d %s", r.Status, r.Body)
	}
	// Two drafts on v1; the second agreed first makes the other stale.
	a := e.proposeCarePlan(th, tg.resident, uuid.NewString(), carePlanBody(id1))
	b := e.proposeCarePlan(nurse, tg.resident, uuid.NewString(), carePlanBody(id1))
	if a.Status != 201 || b.Status != 201 {
		t.Fatalf("drafts: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
	}
	idA, idB := a.json(t)["id"].(string), b.json(t)["id"].(string)
	if s := e.signCarePlan(oss, idB); s.Status != 200 || s.json(t)["status"] != "in_force" {
		t.Fatalf("nurse + OSS agree v3: %d %s", s.Status, s.Body)
	}
	if s := e.signCarePlan(doctor, idA); s.Status != 409 || s.code() != "care_plan.stale" {
		t.Fatalf("signing a stale draft: %d %s", s.Status, s.Body)
	}
	plan = e.do(req{method: "GET", path: "/v1/residents/" + tg.resident.String() + "/care-plan", token: oss})
	p := plan.json(t)
	if p["in_force"].(map[string]any)["id"] != idB || len(p["drafts"].([]any)) != 0 || len(p["versions"].([]any)) != 3 {
		t.Fatalf("plan after: %s", plan.Body)
	}
	status := map[string]string{}
	for _, v := range p["versions"].([]any) {
		m := v.(map[string]any)
		status[m["id"].(string)] = m["status"].(string)
	}
	if status[id1] != "superseded" || status[idA] != "stale" || status[idB] != "in_force" {
		t.Fatalf("statuses: %v", status)
	}
	if old := e.do(req{method: "GET", path: "/v1/care-plans/" + id1, token: nurse}); old.Status != 200 ||
		old.json(t)["superseded_at"] == nil || len(old.json(t)["problems"].([]any)) != 1 {
		t.Fatalf("old version kept whole: %d %s", old.Status, old.Body)
	}
	// The rehab intervention of the plan in force is carried out by a
	// rehab plan linked to it; any other link is refused.
	var rehabIv, repoIv string
	for _, x := range b.json(t)["problems"].([]any)[0].(map[string]any)["goals"].([]any)[0].(map[string]any)["interventions"].([]any) {
		m := x.(map[string]any)
		switch m["kind"] {
		case "rehab":
			rehabIv = m["id"].(string)
		case "repositioning":
			repoIv = m["id"].(string)
		}
	}
	rp := rehabPlanBody()
	rp["care_plan_intervention_id"] = repoIv
	if r := e.do(req{method: "POST", path: "/v1/residents/" + tg.resident.String() + "/rehab/plans", token: th, body: rp}); r.Status != 422 ||
		r.code() != "rehab.invalid_care_plan_intervention" {
		t.Fatalf("rehab plan linked to repositioning: %d %s", r.Status, r.Body)
	}
	rp["care_plan_intervention_id"] = rehabIv
	if r := e.do(req{method: "POST", path: "/v1/residents/" + tg.resident.String() + "/rehab/plans", token: th, body: rp}); r.Status != 201 {
		t.Fatalf("rehab plan linked: %d %s", r.Status, r.Body)
	}
	if v := e.do(req{method: "GET", path: "/v1/care-plans/" + idB, token: th}); v.Status != 200 {
		t.Fatalf("read: %d", v.Status)
	} else {
		for _, x := range v.json(t)["problems"].([]any)[0].(map[string]any)["goals"].([]any)[0].(map[string]any)["interventions"].([]any) {
			if m := x.(map[string]any); m["id"] == rehabIv && len(m["rehab_plans"].([]any)) != 1 {
				t.Fatalf("rehab intervention lists its plan: %v", m)
			}
		}
	}
	// Nobody can rewrite a version in the database either.
	if _, err := e.db.Pool.Exec(context.Background(), `UPDATE care_plan_versions SET summary = 'x' WHERE id = $1`, id1); err == nil {
		t.Fatal("a version was updated in place")
	}
}

func TestCareTasksTickedOnceWithReasons(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.newTarget(own)
	_, repo, check, meal, _ := e.mxCarePlan(tg)
	nurse, oss := e.login("alt.nurse.x"), e.login("alt.oss.x")
	now := time.Now().UTC()
	from, to := now.Truncate(time.Hour).Add(-2*time.Hour), now.Truncate(time.Hour).Add(2*time.Hour)
	list := func() map[string]map[string]any {
		r := e.do(req{method: "GET", path: "/v1/wards/" + tg.ward.String() + "/care-tasks?from=" + from.Format(time.RFC3339) +
			"&to=" + to.Format(time.RFC3339), token: oss})
		if r.Status != 200 {
			t.Fatalf("ward tasks: %d %s", r.Status, r.Body)
		}
		out := map[string]map[string]any{}
		for _, x := range r.json(t)["tasks"].([]any) {
			m := x.(map[string]any)
			if m["resident_id"] == tg.resident.String() {
				due, _ := time.Parse(time.RFC3339, m["due_at"].(string))
				out[m["intervention_id"].(string)+"@"+due.UTC().Format("15")] = m
			}
		}
		return out
	}
	k := func(iv uuid.UUID, offset int) string {
		return iv.String() + "@" + now.Truncate(time.Hour).Add(time.Duration(offset)*time.Hour).Format("15")
	}
	tasks := list()
	if len(tasks) != 12 {
		t.Fatalf("3 hourly interventions over 4 hours: %d tasks", len(tasks))
	}
	if tasks[k(repo, -2)]["state"] != "late" || tasks[k(repo, 0)]["state"] != "due" {
		t.Fatalf("states: %v / %v", tasks[k(repo, -2)], tasks[k(repo, 0)])
	}

	if r := e.tick(oss, uuid.NewString(), hourTask(check, 0, nil)); r.Status != 403 || r.code() != "care_task.wrong_role" {
		t.Fatalf("OSS ticks a nurse task: %d %s", r.Status, r.Body)
	}
	if r := e.tick(oss, uuid.NewString(), hourTask(meal, 0, nil)); r.Status != 400 || r.code() != "care_task.intake_required" {
		t.Fatalf("meal without intake: %d %s", r.Status, r.Body)
	}
	if r := e.tick(oss, uuid.NewString(), hourTask(repo, -1, map[string]any{"outcome": "not_done"})); r.Status != 400 ||
		r.code() != "care_task.reason_required" {
		t.Fatalf("not done without reason: %d %s", r.Status, r.Body)
	}
	if r := e.tick(oss, uuid.NewString(), hourTask(repo, 3, nil)); r.Status != 400 || r.code() != "care_task.too_early" {
		t.Fatalf("ticked hours ahead: %d %s", r.Status, r.Body)
	}
	odd := hourTask(repo, 0, nil)
	odd["due_at"] = now.Truncate(time.Hour).Add(-7 * time.Minute).Format(time.RFC3339)
	if r := e.tick(oss, uuid.NewString(), odd); r.Status != 422 || r.code() != "care_task.not_a_task" {
		t.Fatalf("not a task's time: %d %s", r.Status, r.Body)
	}
	if r := e.tick(oss, uuid.NewString(), hourTask(uuid.New(), 0, nil)); r.Status != 422 || r.code() != "care_task.not_a_task" {
		t.Fatalf("unknown intervention: %d %s", r.Status, r.Body)
	}

	// Ten tablets tick the same repositioning at once: one record.
	var wg sync.WaitGroup
	results := make([]response, 10)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tok := oss
			if i%2 == 1 {
				tok = nurse
			}
			results[i] = e.tick(tok, uuid.NewString(), hourTask(repo, -1, map[string]any{"position": "left_side"}))
		}(i)
	}
	wg.Wait()
	created, conflicts := 0, 0
	var recID string
	for _, r := range results {
		switch {
		case r.Status == 201:
			created++
			recID = r.json(t)["id"].(string)
			if r.json(t)["late"] != true {
				t.Fatalf("ticked after its window, not late: %s", r.Body)
			}
		case r.Status == 409 && r.code() == "care_task.already_recorded":
			conflicts++
		default:
			t.Fatalf("concurrent tick: %d %s", r.Status, r.Body)
		}
	}
	if created != 1 || conflicts != 9 {
		t.Fatalf("concurrent ticks: %d created, %d conflicts", created, conflicts)
	}
	key := uuid.NewString()
	body := hourTask(meal, 0, map[string]any{"intake_pct": 75, "fluid_ml": 200})
	first := e.tick(oss, key, body)
	again := e.tick(oss, key, body)
	if first.Status != 201 || again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" || again.json(t)["id"] != first.json(t)["id"] {
		t.Fatalf("retried tick: %d %s / %d %s", first.Status, first.Body, again.Status, again.Body)
	}
	if r := e.tick(nurse, uuid.NewString(), hourTask(check, -2, map[string]any{"outcome": "not_done", "reason_code": "refused"})); r.Status != 201 {
		t.Fatalf("not done, refused: %d %s", r.Status, r.Body)
	}
	tasks = list()
	if tasks[k(repo, -1)]["state"] != "done" || tasks[k(meal, 0)]["state"] != "done" || tasks[k(check, -2)]["state"] != "not_done" {
		t.Fatalf("states after ticks: %v %v %v", tasks[k(repo, -1)]["state"], tasks[k(meal, 0)]["state"], tasks[k(check, -2)]["state"])
	}

	// Entered in error reopens the task; the next tick is attempt 2.
	path := "/v1/care-tasks/" + recID + "/entered-in-error"
	if r := e.do(req{method: "POST", path: path, token: nurse, body: map[string]any{"reason": "ospite sbagliato"}}); r.Status != 200 ||
		r.json(t)["entered_in_error"] == nil {
		t.Fatalf("entered in error: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "POST", path: path, token: nurse, body: map[string]any{"reason": "ospite sbagliato"}}); r.Status != 409 {
		t.Fatalf("corrected twice: %d %s", r.Status, r.Body)
	}
	if tasks = list(); tasks[k(repo, -1)]["state"] != "late" {
		t.Fatalf("reopened: %v", tasks[k(repo, -1)])
	}
	if r := e.tick(oss, uuid.NewString(), hourTask(repo, -1, nil)); r.Status != 201 || r.json(t)["attempt"].(float64) != 2 {
		t.Fatalf("ticked again: %d %s", r.Status, r.Body)
	}
	// The resident's own list says the same.
	r := e.do(req{method: "GET", path: "/v1/residents/" + tg.resident.String() + "/care-tasks?from=" + from.Format(time.RFC3339) +
		"&to=" + to.Format(time.RFC3339), token: nurse})
	if r.Status != 200 || len(r.json(t)["tasks"].([]any)) != 12 || r.json(t)["counts"].(map[string]any)["done"].(float64) != 2 {
		t.Fatalf("resident tasks: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "GET", path: "/v1/wards/" + tg.ward.String() + "/care-tasks?from=" + from.Format(time.RFC3339), token: oss}); r.Status != 400 ||
		r.code() != "care_task.invalid_period" {
		t.Fatalf("half a period: %d %s", r.Status, r.Body)
	}
	// The shift handover names the late and not-done care tasks.
	h := e.do(req{method: "GET", path: "/v1/wards/" + tg.ward.String() + "/handover?from=" + from.Format(time.RFC3339) +
		"&to=" + now.Add(time.Minute).Format(time.RFC3339), token: oss})
	if h.Status != 200 {
		t.Fatalf("handover: %d %s", h.Status, h.Body)
	}
	mine := func(list string) (n int, states map[string]bool) {
		states = map[string]bool{}
		for _, x := range h.json(t)[list].([]any) {
			if m := x.(map[string]any); m["resident_id"] == tg.resident.String() {
				n++
				states[m["intervention_id"].(string)+"@"+m["state"].(string)] = true
				if m["resident_name"] == "" {
					t.Fatalf("handover item without a name: %v", m)
				}
			}
		}
		return n, states
	}
	if n, st := mine("care_tasks_not_done"); n != 1 || !st[check.String()+"@not_done"] {
		t.Fatalf("handover not done: %d %v", n, st)
	}
	if n, st := mine("care_tasks_late"); n == 0 || !st[repo.String()+"@late"] {
		t.Fatalf("handover late: %d %v", n, st)
	}
	// The timeline shows the plan and the ticks, the corrected one flagged.
	tl := e.do(req{method: "GET", path: "/v1/residents/" + tg.resident.String() + "/timeline?kinds=care_plan,care_task&limit=200", token: nurse,
		header: map[string]string{"Accept-Language": "it"}})
	if tl.Status != 200 {
		t.Fatalf("timeline: %d %s", tl.Status, tl.Body)
	}
	kinds, corrected := map[string]int{}, 0
	for _, x := range tl.json(t)["items"].([]any) {
		m := x.(map[string]any)
		kinds[m["kind"].(string)]++
		if m["entered_in_error"] == true {
			corrected++
			if m["id"] != recID {
				t.Fatalf("flagged the wrong tick: %v", m)
			}
		}
	}
	if kinds["care_plan"] != 2 || kinds["care_task"] != 4 || corrected != 1 {
		t.Fatalf("timeline kinds %v, corrected %d: %s", kinds, corrected, tl.Body)
	}
	if _, err := e.db.Pool.Exec(context.Background(), `DELETE FROM care_task_records WHERE resident_id = $1`, tg.resident); err == nil {
		t.Fatal("task records deleted")
	}
}

// A high-risk Braden proposes repositioning; the plan covers it once an
// OSS repositioning is in force.
func TestCarePlanShowsAssessmentProposals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.newTarget(own)
	nurse := e.login("alt.nurse.x")
	braden := map[string]any{"scale": "braden", "answers": map[string]int{"sensory_perception": 2, "moisture": 2, "activity": 1,
		"mobility": 2, "nutrition": 2, "friction_shear": 1}}
	if r := e.do(req{method: "POST", path: "/v1/residents/" + tg.resident.String() + "/assessments", token: nurse, body: braden}); r.Status != 201 {
		t.Fatalf("braden: %d %s", r.Status, r.Body)
	}
	proposals := func() map[string]bool {
		r := e.do(req{method: "GET", path: "/v1/residents/" + tg.resident.String() + "/care-plan", token: nurse,
			header: map[string]string{"Accept-Language": "it"}})
		if r.Status != 200 {
			t.Fatalf("plan: %d %s", r.Status, r.Body)
		}
		out := map[string]bool{}
		for _, x := range r.json(t)["proposals"].([]any) {
			m := x.(map[string]any)
			out[m["code"].(string)] = m["covered"].(bool)
		}
		return out
	}
	if p := proposals(); len(p) == 0 || p["repositioning_2h"] {
		t.Fatalf("before a plan: %v", p)
	}
	e.mxCarePlan(tg)
	if p := proposals(); !p["repositioning_2h"] {
		t.Fatalf("with repositioning in force: %v", p)
	}
}

// A task ticked just before a new version came into force stays ticked
// when the new version continues the same intervention; a signature
// retried after the version came into force answers as the first.
func TestCareTaskSurvivesANewVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.newTarget(own)
	nurse, doctor, oss := e.login("alt.nurse.x"), e.login("alt.doctor"), e.login("alt.oss.x")
	v1, repo, check, meal, _ := e.mxCarePlan(tg)
	next := hourTask(repo, 1, map[string]any{"position": "supine"})
	if r := e.tick(oss, uuid.NewString(), next); r.Status != 201 {
		t.Fatalf("early tick: %d %s", r.Status, r.Body)
	}
	body := carePlanBody(v1.String())
	ivs := body["problems"].([]any)[0].(map[string]any)["goals"].([]any)[0].(map[string]any)["interventions"].([]any)
	hourly := ivs[0].(map[string]any)
	// A repositioning cannot continue a meal (their ticks would count for
	// each other), nor two interventions one line.
	hourly["continues"] = meal.String()
	if r := e.proposeCarePlan(nurse, tg.resident, uuid.NewString(), body); r.Status != 422 || r.code() != "care_plan.invalid_continues" {
		t.Fatalf("continues another kind: %d %s", r.Status, r.Body)
	}
	ivs[2].(map[string]any)["kind"], ivs[2].(map[string]any)["continues"] = "repositioning", repo.String()
	hourly["continues"] = repo.String()
	if r := e.proposeCarePlan(nurse, tg.resident, uuid.NewString(), body); r.Status != 422 || r.code() != "care_plan.invalid_continues" {
		t.Fatalf("one line continued twice: %d %s", r.Status, r.Body)
	}
	ivs[2].(map[string]any)["kind"] = "meal"
	delete(ivs[2].(map[string]any), "continues")
	hourly["every_hours"], hourly["continues"] = 1, repo.String()
	r := e.proposeCarePlan(nurse, tg.resident, uuid.NewString(), body)
	if r.Status != 201 {
		t.Fatalf("v2: %d %s", r.Status, r.Body)
	}
	v2 := r.json(t)["id"].(string)
	var repo2 string
	for _, x := range r.json(t)["problems"].([]any)[0].(map[string]any)["goals"].([]any)[0].(map[string]any)["interventions"].([]any) {
		if m := x.(map[string]any); m["kind"] == "repositioning" {
			repo2 = m["id"].(string)
			if m["line_id"] != repo.String() {
				t.Fatalf("continues the line: %v", m)
			}
		}
	}
	first := e.signCarePlan(doctor, v2)
	if first.Status != 200 || first.json(t)["status"] != "in_force" {
		t.Fatalf("v2 in force: %d %s", first.Status, first.Body)
	}
	if again := e.signCarePlan(doctor, v2); again.Status != 200 || again.json(t)["status"] != "in_force" {
		t.Fatalf("retried signature: %d %s", again.Status, again.Body)
	}
	due := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	l := e.do(req{method: "GET", path: "/v1/residents/" + tg.resident.String() + "/care-tasks?from=" + due.Format(time.RFC3339) +
		"&to=" + due.Add(time.Minute).Format(time.RFC3339), token: oss})
	found := false
	for _, x := range l.json(t)["tasks"].([]any) {
		m := x.(map[string]any)
		if m["intervention_id"] == repo2 {
			found = true
			if m["state"] != "done" || m["record"] == nil {
				t.Fatalf("the early tick is lost under v2: %v", m)
			}
		}
	}
	if !found {
		t.Fatalf("no v2 repositioning task at %s: %s", due, l.Body)
	}
	v2repo, _ := uuid.Parse(repo2)
	if r := e.tick(oss, uuid.NewString(), hourTask(v2repo, 1, nil)); r.Status != 409 || r.code() != "care_task.already_recorded" {
		t.Fatalf("ticked twice across versions: %d %s", r.Status, r.Body)
	}
	// v1's own tasks after v2 came into force are not tasks any more.
	if r := e.tick(oss, uuid.NewString(), hourTask(meal, 1, map[string]any{"intake_pct": 50})); r.Status != 422 {
		t.Fatalf("superseded intervention ticked: %d %s", r.Status, r.Body)
	}
	// An OSS cannot reopen a nurse's task; back-dating is bounded.
	rec := e.tick(nurse, uuid.NewString(), hourTask(check, -3, nil))
	if rec.Status != 201 {
		t.Fatalf("nurse tick: %d %s", rec.Status, rec.Body)
	}
	path := "/v1/care-tasks/" + rec.json(t)["id"].(string) + "/entered-in-error"
	if r := e.do(req{method: "POST", path: path, token: oss, body: map[string]any{"reason": "non era lei"}}); r.Status != 403 ||
		r.code() != "care_task.wrong_role" {
		t.Fatalf("OSS reopens a nurse task: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "POST", path: path, token: nurse, body: map[string]any{"reason": "éééé"}}); r.Status != 400 ||
		r.code() != "correction.reason_required" {
		t.Fatalf("short accented reason: %d %s", r.Status, r.Body)
	}
	if r := e.tick(nurse, uuid.NewString(), hourTask(check, -30, nil)); r.Status != 400 || r.code() != "care_task.too_old" {
		t.Fatalf("back-dated 30 hours: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "GET", path: "/v1/wards/" + tg.ward.String() + "/care-tasks?from=9999-12-31T02:00:00-23:00&to=9999-12-31T03:00:00-23:00",
		token: oss}); r.Status != 400 {
		t.Fatalf("year 10000: %d %s", r.Status, r.Body)
	}
}

// The database refuses what the service never does: a second live record
// of a task, an activation out of its draft's order, a record for another
// resident.
func TestCarePlanInvariantsInTheDatabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.newTarget(own)
	other := e.newTarget(own)
	v1, repo, _, _, _ := e.mxCarePlan(tg)
	ctx := context.Background()
	oss := e.mxStaff(tg, "oss", true)
	ins := func(id, resident uuid.UUID, attempt int) error {
		_, err := e.db.Pool.Exec(ctx, `INSERT INTO care_task_records (facility_id, id, resident_id, intervention_id, line_id, due_at,
				attempt, outcome, recorded_by) VALUES ($1, $2, $3, $4, $4, date_trunc('hour', now()), $5, 'done', $6)`,
			tg.facility, id, resident, repo, attempt, oss)
		return err
	}
	first := uuid.New()
	if err := ins(first, tg.resident, 1); err != nil {
		t.Fatal(err)
	}
	if err := ins(uuid.New(), tg.resident, 2); err == nil {
		t.Fatal("a second live record of one task")
	}
	if err := ins(uuid.New(), other.resident, 3); err == nil {
		t.Fatal("a record for another resident than the intervention's")
	}
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO care_task_corrections (facility_id, id, record_id, reason, recorded_by)
		VALUES ($1, $2, $3, 'ospite sbagliato', $4)`, tg.facility, uuid.New(), first, oss); err != nil {
		t.Fatal(err)
	}
	if err := ins(uuid.New(), tg.resident, 2); err != nil {
		t.Fatalf("attempt 2 after a correction: %v", err)
	}
	// A draft based on nothing cannot follow v1.
	draft := uuid.New()
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO care_plan_versions (facility_id, id, resident_id, version_no, review_date, recorded_by)
		VALUES ($1, $2, $3, 2, current_date + 30, $4)`, tg.facility, draft, tg.resident, oss); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO care_plan_activations (facility_id, resident_id, version_id, previous_version_id)
		VALUES ($1, $2, $3, $4)`, tg.facility, tg.resident, draft, v1); err == nil {
		t.Fatal("activated a draft that was not based on the version in force")
	}
}

// The ward lead's list: who has a plan in force, whose review has come,
// who has none (and who has had none for over a month since admission).
func TestWardCarePlanList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fresh, late, planned, review := e.newTarget(own), e.newTarget(own), e.newTarget(own), e.newTarget(own)
	ctx := context.Background()
	if _, err := e.db.Pool.Exec(ctx, `UPDATE admissions SET admitted_at = now() - interval '40 days' WHERE resident_id = $1`, late.resident); err != nil {
		t.Fatal(err)
	}
	v1, _, _, _, _ := e.mxCarePlan(planned)
	e.mxCarePlanReviewedIn(review, 0)
	// A draft waiting on the plan in force.
	nurse := e.mxStaff(planned, "nurse", true)
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO care_plan_versions (facility_id, id, resident_id, version_no, based_on, review_date, recorded_by)
		VALUES ($1, $2, $3, 2, $4, current_date + 30, $5)`, planned.facility, uuid.New(), planned.resident, v1, nurse); err != nil {
		t.Fatal(err)
	}
	r := e.do(req{method: "GET", path: "/v1/wards/" + fresh.ward.String() + "/care-plans", token: e.login("alt.lead.x")})
	if r.Status != 200 {
		t.Fatalf("ward plans: %d %s", r.Status, r.Body)
	}
	state, drafts, order := map[string]string{}, map[string]float64{}, []string{}
	for _, x := range r.json(t)["residents"].([]any) {
		m := x.(map[string]any)
		id := m["resident_id"].(string)
		state[id], drafts[id] = m["state"].(string), m["drafts"].(float64)
		order = append(order, m["state"].(string))
	}
	if state[fresh.resident.String()] != "no_plan" || state[late.resident.String()] != "overdue" ||
		state[planned.resident.String()] != "in_force" || state[review.resident.String()] != "review_due" {
		t.Fatalf("states: %v", state)
	}
	if order[0] != "overdue" {
		t.Fatalf("overdue first: %v", order)
	}
	if drafts[planned.resident.String()] != 1 || drafts[review.resident.String()] != 0 {
		t.Fatalf("drafts: %v", drafts)
	}
}

// A resident in hospital has no tasks to do: only what was ticked before
// she left is listed.
func TestCareTasksOfAResidentAway(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.newTarget(own)
	_, repo, _, _, _ := e.mxCarePlan(tg)
	oss := e.login("alt.oss.x")
	if r := e.tick(oss, uuid.NewString(), hourTask(repo, -1, nil)); r.Status != 201 {
		t.Fatalf("tick: %d %s", r.Status, r.Body)
	}
	now := time.Now().UTC()
	path := "/v1/residents/" + tg.resident.String() + "/care-tasks?from=" + now.Add(-3*time.Hour).Format(time.RFC3339) +
		"&to=" + now.Format(time.RFC3339)
	if r := e.do(req{method: "GET", path: path, token: oss}); r.Status != 200 || len(r.json(t)["tasks"].([]any)) < 6 {
		t.Fatalf("tasks at home: %d %s", r.Status, r.Body)
	}
	if _, err := e.db.Pool.Exec(context.Background(), `UPDATE residents SET status = 'hospitalised' WHERE id = $1`, tg.resident); err != nil {
		t.Fatal(err)
	}
	r := e.do(req{method: "GET", path: path, token: oss})
	tasks := r.json(t)["tasks"].([]any)
	if r.Status != 200 || len(tasks) != 1 || tasks[0].(map[string]any)["state"] != "done" {
		t.Fatalf("tasks while in hospital: %d %s", r.Status, r.Body)
	}
}
