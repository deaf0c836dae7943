package mobileapi_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Rehabilitation, end to end through the API.

// rehabOwn/rehabOther: writing plans and sessions (therapists only, on
// their own wards; physicians do not hold RecordRehab).
var (
	rehabOwn   = expect{"therapist": 200, "nurse": 403, "oss": 403, "lead": 403, "doctor": 403, "director": 403, "*": 404}
	rehabOther = expect{"lead": 403, "doctor": 403, "director": 403, "*": 404}
)

// mxRehabPlan writes, straight into the database as a therapist of tg's
// ward, a daily plan at 09:00, and returns its id.
func (e *env) mxRehabPlan(tg target) uuid.UUID {
	e.t.Helper()
	id := uuid.New()
	th := e.mxStaff(tg, "therapist", true)
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO rehab_plans (facility_id, id, resident_id, type, weekdays,
			time_of_day, start_date, recorded_by)
		VALUES ($1, $2, $3, 'physiotherapy', '{1,2,3,4,5,6,7}', '09:00', current_date - 1, $4)`, tg.facility, id, tg.resident, th); err != nil {
		e.t.Fatalf("rehab plan: %v", err)
	}
	return id
}

// mxRehabSession writes an unplanned session done an hour ago.
func (e *env) mxRehabSession(tg target) uuid.UUID {
	e.t.Helper()
	id := uuid.New()
	th := e.mxStaff(tg, "therapist", true)
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO rehab_sessions (facility_id, id, resident_id, type, outcome,
			duration_min, recorded_by, recorded_at)
		VALUES ($1, $2, $3, 'physiotherapy', 'done', 30, $4, now() - interval '1 hour')`, tg.facility, id, tg.resident, th); err != nil {
		e.t.Fatalf("rehab session: %v", err)
	}
	return id
}

func rehabPlanBody() map[string]any {
	return map[string]any{"type": "physiotherapy", "weekdays": []int{1, 2, 3, 4, 5, 6, 7}, "time": "09:00",
		"start_date": time.Now().AddDate(0, 0, -1).Format("2006-01-02"), "goal": "deambulazione"}
}

func rehabSessionBody() map[string]any {
	return map[string]any{"type": "physiotherapy", "outcome": "done", "duration_min": 30, "notes": "ok"}
}

func (e *env) postRehabSession(token string, resident uuid.UUID, key string, body any) response {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/v1/residents/" + resident.String() + "/rehab/sessions", token: token,
		header: map[string]string{"Idempotency-Key": key}, body: body})
}

// dayItem finds the resident's item on the caller's day list.
func (e *env) rehabDayItem(token, date string, resident uuid.UUID) map[string]any {
	e.t.Helper()
	r := e.do(req{method: "GET", path: "/v1/rehab/day?date=" + date, token: token})
	if r.Status != 200 {
		e.t.Fatalf("day list: %d %s", r.Status, r.Body)
	}
	for _, sl := range r.json(e.t)["slots"].([]any) {
		for _, x := range sl.(map[string]any)["items"].([]any) {
			if m := x.(map[string]any); m["resident_id"] == resident.String() {
				return m
			}
		}
	}
	return nil
}

func TestRehabPlanDaySessionFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	th := e.login("alt.therapist.x")
	plans := "/v1/residents/" + res.String() + "/rehab/plans"
	if r := e.do(req{method: "POST", path: plans, token: e.login("alt.doctor"), body: rehabPlanBody()}); r.Status != 403 {
		t.Fatalf("physician plans: %d %s", r.Status, r.Body)
	}
	bad := rehabPlanBody()
	bad["weekdays"] = []int{0}
	if r := e.do(req{method: "POST", path: plans, token: th, body: bad}); r.Status != 400 || r.code() != "rehab.invalid_weekdays" {
		t.Fatalf("weekdays: %d %s", r.Status, r.Body)
	}
	r := e.do(req{method: "POST", path: plans, token: th, body: rehabPlanBody()})
	if r.Status != 201 {
		t.Fatalf("plan: %d %s", r.Status, r.Body)
	}
	planID := r.json(t)["id"].(string)
	if l := e.do(req{method: "GET", path: plans, token: e.login("alt.nurse.x")}); l.Status != 200 ||
		len(l.json(t)["plans"].([]any)) != 1 {
		t.Fatalf("plans: %d %s", l.Status, l.Body)
	}
	loc, _ := time.LoadLocation("Europe/Rome")
	today := time.Now().In(loc).Format("2006-01-02")
	it := e.rehabDayItem(th, today, res)
	if it == nil || it["state"] != "planned" || it["plan_id"] != planID {
		t.Fatalf("day item: %v", it)
	}
	if r := e.do(req{method: "GET", path: "/v1/rehab/day?date=yesterday", token: th}); r.Status != 400 {
		t.Fatalf("bad date: %d", r.Status)
	}
	planned := it["planned_for"].(string)
	notDone := map[string]any{"type": "physiotherapy", "outcome": "not_done", "plan_id": planID, "planned_for": planned}
	if r := e.postRehabSession(th, res, uuid.NewString(), notDone); r.Status != 400 || r.code() != "rehab.reason_required" {
		t.Fatalf("not_done without reason: %d %s", r.Status, r.Body)
	}
	noDur := rehabSessionBody()
	delete(noDur, "duration_min")
	if r := e.postRehabSession(th, res, uuid.NewString(), noDur); r.Status != 400 || r.code() != "rehab.duration_required" {
		t.Fatalf("done without duration: %d %s", r.Status, r.Body)
	}
	done := rehabSessionBody()
	done["plan_id"], done["planned_for"] = planID, planned
	done["outcome_measure"] = map[string]any{"name": "Tinetti", "value": "18.5", "unit": "punti"}
	key := uuid.NewString()
	first := e.postRehabSession(th, res, key, done)
	if first.Status != 201 {
		t.Fatalf("record: %d %s", first.Status, first.Body)
	}
	again := e.postRehabSession(th, res, key, done)
	if again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" || again.json(t)["id"] != first.json(t)["id"] {
		t.Fatalf("replay: %d %s", again.Status, again.Body)
	}
	if r := e.postRehabSession(th, res, uuid.NewString(), done); r.Status != 409 || r.code() != "rehab.already_recorded" {
		t.Fatalf("twice: %d %s", r.Status, r.Body)
	}
	wrong := rehabSessionBody()
	wrong["plan_id"], wrong["planned_for"] = planID, time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	if r := e.postRehabSession(th, res, uuid.NewString(), wrong); r.Status != 422 || r.code() != "rehab.invalid_plan" {
		t.Fatalf("not an occurrence: %d %s", r.Status, r.Body)
	}
	it = e.rehabDayItem(th, today, res)
	if it["state"] != "done" || it["session"].(map[string]any)["outcome_measure"].(map[string]any)["value"] != "18.5" {
		t.Fatalf("day item after: %v", it)
	}
	sessions := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/rehab/sessions", token: th})
	if sessions.Status != 200 || len(sessions.json(t)["sessions"].([]any)) != 1 {
		t.Fatalf("sessions: %d %s", sessions.Status, sessions.Body)
	}
	path := "/v1/rehab/sessions/" + first.json(t)["id"].(string) + "/entered-in-error"
	if r := e.do(req{method: "POST", path: path, token: th, body: map[string]any{"reason": "no"}}); r.Status != 400 {
		t.Fatalf("short reason: %d", r.Status)
	}
	if r := e.do(req{method: "POST", path: path, token: th, body: map[string]any{"reason": "ospite sbagliato"}}); r.Status != 200 ||
		r.json(t)["entered_in_error"] == nil {
		t.Fatalf("entered in error: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "POST", path: path, token: th, body: map[string]any{"reason": "ospite sbagliato"}}); r.Status != 409 {
		t.Fatalf("twice: %d %s", r.Status, r.Body)
	}
	if it := e.rehabDayItem(th, today, res); it["state"] != "planned" || it["session"] != nil {
		t.Fatalf("after entered in error: %v", it)
	}
	// The occurrence, freed by the correction, is recorded again (not
	// done this time) as its second attempt; the day list shows that one.
	redo := map[string]any{"type": "physiotherapy", "outcome": "not_done", "reason": "ospite a visita", "plan_id": planID,
		"planned_for": planned}
	second := e.postRehabSession(th, res, uuid.NewString(), redo)
	if second.Status != 201 || second.json(t)["attempt"] != float64(2) {
		t.Fatalf("record again: %d %s", second.Status, second.Body)
	}
	if first.json(t)["attempt"] != float64(1) {
		t.Fatalf("first attempt: %s", first.Body)
	}
	it = e.rehabDayItem(th, today, res)
	if it["state"] != "not_done" || it["session"].(map[string]any)["id"] != second.json(t)["id"] {
		t.Fatalf("day item after recording again: %v", it)
	}
	if r := e.postRehabSession(th, res, uuid.NewString(), done); r.Status != 409 || r.code() != "rehab.already_recorded" {
		t.Fatalf("third while the second is live: %d %s", r.Status, r.Body)
	}
	if sessions := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/rehab/sessions", token: th}); sessions.Status != 200 ||
		len(sessions.json(t)["sessions"].([]any)) != 2 {
		t.Fatalf("sessions after recording again: %d %s", sessions.Status, sessions.Body)
	}
	// An unplanned session, not done.
	if r := e.postRehabSession(th, res, uuid.NewString(), map[string]any{"type": "speech", "outcome": "not_done",
		"reason": "rifiuta"}); r.Status != 201 {
		t.Fatalf("unplanned not_done: %d %s", r.Status, r.Body)
	}
}

// Phones recording the same planned occurrence at the same moment, each
// with its own key: exactly one session, the rest 409; after it is entered
// in error, the same race again yields exactly one second attempt.
func TestRehabConcurrentRecordsOfAnOccurrence(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.newTarget(own)
	res := tg.resident
	th := e.login("alt.therapist.x")
	plan := e.mxRehabPlan(tg)
	loc, _ := time.LoadLocation("Europe/Rome")
	today := time.Now().In(loc).Format("2006-01-02")
	it := e.rehabDayItem(th, today, res)
	if it == nil || it["plan_id"] != plan.String() {
		t.Fatalf("day item: %v", it)
	}
	body := rehabSessionBody()
	body["plan_id"], body["planned_for"] = plan.String(), it["planned_for"]
	race := func() (created []map[string]any) {
		const n = 12
		statuses := make([]int, n)
		answers := make([]response, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				answers[i] = e.postRehabSession(th, res, uuid.NewString(), body)
				statuses[i] = answers[i].Status
			}(i)
		}
		close(start)
		wg.Wait()
		for i, s := range statuses {
			switch {
			case s == 201:
				created = append(created, answers[i].json(t))
			case s == 409 && answers[i].code() == "rehab.already_recorded":
			default:
				t.Errorf("status %d: %s", s, answers[i].Body)
			}
		}
		if len(created) != 1 {
			t.Fatalf("created %d sessions", len(created))
		}
		return created
	}
	first := race()[0]
	path := "/v1/rehab/sessions/" + first["id"].(string) + "/entered-in-error"
	if r := e.do(req{method: "POST", path: path, token: th, body: map[string]any{"reason": "ospite sbagliato"}}); r.Status != 200 {
		t.Fatalf("entered in error: %d %s", r.Status, r.Body)
	}
	if second := race()[0]; second["attempt"] != float64(2) {
		t.Fatalf("second attempt: %v", second)
	}
	var rows int
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM rehab_sessions WHERE plan_id = $1", plan).Scan(&rows); err != nil ||
		rows != 2 {
		t.Fatalf("sessions: %d %v", rows, err)
	}
}
