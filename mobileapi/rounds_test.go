package mobileapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Drug rounds and the shift handover digest, end to end through the API.

// mxRound opens a round on tg's ward straight in the database, run by a
// nurse of that ward who is not its lead (alt.nurse.x on ALT's ward X), in
// state active or paused, at version 1 and with no dose; any round open on
// the ward before is finished first.
func (e *env) mxRound(tg target, state string) uuid.UUID {
	e.t.Helper()
	id, err := e.openRound(tg, state)
	if err != nil {
		e.t.Fatalf("round: %v", err)
	}
	return id
}

func (e *env) openRound(tg target, state string) (uuid.UUID, error) {
	if err := e.finishRounds(tg); err != nil {
		return uuid.Nil, err
	}
	id := uuid.New()
	_, err := e.db.Pool.Exec(context.Background(), `INSERT INTO rounds (facility_id, id, ward_id, slot, state, owner_id, started_by)
		SELECT $1, $2, $3, date_trunc('hour', now()), $4, s.id, s.id FROM staff s
		JOIN staff_roles r ON r.facility_id = s.facility_id AND r.staff_id = s.id AND r.role = 'nurse'
		JOIN ward_assignments w ON w.facility_id = s.facility_id AND w.staff_id = s.id AND w.ward_id = $3
		WHERE s.facility_id = $1
		ORDER BY EXISTS (SELECT 1 FROM staff_roles l WHERE l.facility_id = s.facility_id AND l.staff_id = s.id AND l.role = 'ward_lead'), s.username
		LIMIT 1`, tg.facility, id, tg.ward, state)
	return id, err
}

func (e *env) finishRounds(tg target) error {
	_, err := e.db.Pool.Exec(context.Background(), `UPDATE rounds SET state = 'finished', finished_at = now()
		WHERE facility_id = $1 AND ward_id = $2 AND state IN ('active', 'paused')`, tg.facility, tg.ward)
	return err
}

// mxNoRound finishes any round open on tg's ward.
func (e *env) mxNoRound(tg target) {
	e.t.Helper()
	if err := e.finishRounds(tg); err != nil {
		e.t.Fatalf("finish rounds: %v", err)
	}
}

// Rounds in the permission matrix: starting and running a round is for the
// nurses and physicians of the ward (runOwn/runOther, as correctOwn and
// physicianOther); pausing, resuming and finishing for the round's owner
// only — the ward's nurse in the matrix — (ownerOwn/ownerOther: the others
// who may act on the ward are refused with round.not_owner).
var (
	ownerOwn   = expect{"nurse": 200, "lead": 403, "doctor": 403, "oss": 403, "therapist": 403, "director": 403, "*": 404}
	ownerOther = expect{"doctor": 403, "lead": 403, "director": 403, "*": 404}
)

// roundOf is a round as JSON.
type roundOf map[string]any

func (r roundOf) progress() map[string]any { return r["progress"].(map[string]any) }
func (r roundOf) version() float64         { return r["version"].(float64) }

func (r roundOf) dose(t testing.TB, resident uuid.UUID) map[string]any {
	t.Helper()
	for _, x := range r["residents"].([]any) {
		rp := x.(map[string]any)
		if rp["resident_id"] == resident.String() {
			return rp["doses"].([]any)[0].(map[string]any)
		}
	}
	t.Fatalf("resident %s not on the round: %v", resident, r)
	return nil
}

func (e *env) currentRound(token string, ward uuid.UUID) roundOf {
	e.t.Helper()
	r := e.do(req{method: "GET", path: "/v1/wards/" + ward.String() + "/rounds/current", token: token})
	if r.Status != 200 {
		e.t.Fatalf("current round: %d %s", r.Status, r.Body)
	}
	cur, _ := r.json(e.t)["round"].(map[string]any)
	return cur
}

func (e *env) roundCall(token, id, verb string, body map[string]any, header map[string]string) response {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/v1/rounds/" + id + "/" + verb, token: token, body: body, header: header})
}

func TestRoundFromStartToFinish(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nurse, lead, oss := e.login("alt.nurse.x"), e.login("alt.lead.x"), e.login("alt.oss.x")
	ward := e.ward(e.alt, "X")
	var res [3]uuid.UUID
	for i := range res {
		res[i], _ = e.therapyResident(false)
		e.prescribe(res[i], everyHoursFromNow(aicTachipirina500, e, 6))
	}
	// A dose far from the slot is not on the round.
	later, _ := e.therapyResident(false)
	o := everyHoursFromNow(aicTachipirina500, e, 24)
	o["starts_at"] = time.Now().Add(5 * time.Hour).UTC().Format(time.RFC3339)
	e.prescribe(later, o)

	if cur := e.currentRound(nurse, ward); cur != nil {
		t.Fatalf("a round before any started: %v", cur)
	}
	start := e.do(req{method: "POST", path: "/v1/wards/" + ward.String() + "/rounds", token: nurse,
		body: map[string]any{"slot": time.Now().UTC().Format(time.RFC3339)}})
	if start.Status != 201 {
		t.Fatalf("start: %d %s", start.Status, start.Body)
	}
	rd := roundOf(start.json(t))
	id := rd["id"].(string)
	if p := rd.progress(); p["doses"] != float64(3) || p["left"] != float64(3) || p["done"] != float64(0) ||
		rd["state"] != "active" || rd["owner_id"] != e.alt.ID("staff", "alt.nurse.x").String() || len(rd["residents"].([]any)) != 3 {
		t.Fatalf("started round: %s", start.Body)
	}
	// A second start on the ward, from another tablet, names the open round.
	again := e.do(req{method: "POST", path: "/v1/wards/" + ward.String() + "/rounds", token: lead})
	if again.Status != 409 || again.code() != "round.already_open" || !strings.Contains(string(again.Body), id) {
		t.Fatalf("second start: %d %s", again.Status, again.Body)
	}

	// A dose recorded from the bedside shows on the round, for everyone on
	// the ward.
	dose0 := rd.dose(t, res[0])["dose_id"].(string)
	if r := e.record(nurse, uuid.NewString(), map[string]any{"dose_id": dose0, "outcome": "given", "unable_to_scan": "barcode_unreadable"}); r.Status != 201 {
		t.Fatalf("record: %d %s", r.Status, r.Body)
	}
	cur := e.currentRound(oss, ward)
	if p := cur.progress(); p["done"] != float64(1) || p["left"] != float64(2) {
		t.Fatalf("progress after a dose: %v", p)
	}
	if d := cur.dose(t, res[0]); d["state"] != "given" || d["act"].(map[string]any)["recorded_by_name"] != "Infermiera X" {
		t.Fatalf("dose given: %v", d)
	}

	// Pause; a stale version or a second pause are conflicts.
	paused := e.roundCall(nurse, id, "pause", map[string]any{"version": 1}, nil)
	if paused.Status != 200 || paused.json(t)["state"] != "paused" || paused.json(t)["version"] != float64(2) {
		t.Fatalf("pause: %d %s", paused.Status, paused.Body)
	}
	if r := e.roundCall(nurse, id, "pause", map[string]any{"version": 1}, nil); r.Status != 409 || r.code() != "version_conflict" {
		t.Fatalf("stale pause: %d %s", r.Status, r.Body)
	}
	if r := e.roundCall(nurse, id, "pause", map[string]any{"version": 2}, nil); r.Status != 409 || r.code() != "round.not_active" {
		t.Fatalf("second pause: %d %s", r.Status, r.Body)
	}
	// Only the owner resumes or finishes; an OSS never runs a round.
	if r := e.roundCall(lead, id, "resume", map[string]any{"version": 2}, nil); r.Status != 403 || r.code() != "round.not_owner" {
		t.Fatalf("resume by another: %d %s", r.Status, r.Body)
	}
	if r := e.roundCall(oss, id, "pause", map[string]any{"version": 2}, nil); r.Status != 403 || r.code() != "forbidden" {
		t.Fatalf("pause by an OSS: %d %s", r.Status, r.Body)
	}

	// Hand over to the ward lead; not to an OSS.
	if r := e.roundCall(nurse, id, "handover", map[string]any{"version": 2, "to_staff_id": e.alt.ID("staff", "alt.oss.x")}, nil); r.Status != 422 || r.code() != "round.invalid_recipient" {
		t.Fatalf("handover to an OSS: %d %s", r.Status, r.Body)
	}
	if r := e.roundCall(nurse, id, "handover", map[string]any{"version": 2, "to_staff_id": e.alt.ID("staff", "alt.nurse.y")}, nil); r.Status != 422 || r.code() != "round.invalid_recipient" {
		t.Fatalf("handover to another ward's nurse: %d %s", r.Status, r.Body)
	}
	ho := e.roundCall(nurse, id, "handover", map[string]any{"version": 2, "to_staff_id": e.alt.ID("staff", "alt.lead.x")}, nil)
	if ho.Status != 200 {
		t.Fatalf("handover: %d %s", ho.Status, ho.Body)
	}
	hj := roundOf(ho.json(t))
	if hj["owner_id"] != e.alt.ID("staff", "alt.lead.x").String() || hj["state"] != "paused" || hj.version() != 3 {
		t.Fatalf("after handover: %s", ho.Body)
	}
	evs := hj["events"].([]any)
	last := evs[len(evs)-1].(map[string]any)
	if last["kind"] != "handed_over" || last["from_id"] != e.alt.ID("staff", "alt.nurse.x").String() ||
		last["to_id"] != e.alt.ID("staff", "alt.lead.x").String() || last["by_id"] != e.alt.ID("staff", "alt.nurse.x").String() {
		t.Fatalf("handover event: %v", last)
	}
	if r := e.roundCall(nurse, id, "resume", map[string]any{"version": 3}, nil); r.Status != 403 || r.code() != "round.not_owner" {
		t.Fatalf("resume by the former owner: %d %s", r.Status, r.Body)
	}
	if r := e.roundCall(lead, id, "resume", map[string]any{"version": 3}, nil); r.Status != 200 || r.json(t)["state"] != "active" {
		t.Fatalf("resume: %d %s", r.Status, r.Body)
	}

	// Finishing with doses left and no reason: 422 naming them.
	key := uuid.NewString()
	hdr := map[string]string{"Idempotency-Key": key}
	none := e.roundCall(lead, id, "finish", map[string]any{"version": 4}, hdr)
	dose1, dose2 := rd.dose(t, res[1])["dose_id"].(string), rd.dose(t, res[2])["dose_id"].(string)
	if none.Status != 422 || none.code() != "round.reasons_required" {
		t.Fatalf("finish without reasons: %d %s", none.Status, none.Body)
	}
	missing := strings.Split(none.json(t)["errors"].(map[string]any)["dose_ids"].(string), ",")
	slices.Sort(missing)
	want := []string{dose1, dose2}
	slices.Sort(want)
	if !slices.Equal(missing, want) {
		t.Fatalf("doses listed %v, want %v", missing, want)
	}
	// One reason is not enough either; nothing was recorded meanwhile.
	if r := e.roundCall(lead, id, "finish", map[string]any{"version": 4, "left": []any{
		map[string]any{"dose_id": dose1, "outcome": "omitted", "reason": "ospite a visita specialistica"}}}, map[string]string{"Idempotency-Key": uuid.NewString()}); r.Status != 422 ||
		r.json(t)["errors"].(map[string]any)["dose_ids"] != dose2 {
		t.Fatalf("finish with one reason: %d %s", r.Status, r.Body)
	}
	if r := e.roundCall(lead, id, "finish", map[string]any{"version": 4, "left": []any{
		map[string]any{"dose_id": dose1, "outcome": "given", "reason": "x"}}}, map[string]string{"Idempotency-Key": uuid.NewString()}); r.Status != 400 || r.code() != "round.invalid_outcome" {
		t.Fatalf("finish with given: %d %s", r.Status, r.Body)
	}
	var acts int
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM administrations WHERE dose_id = ANY($1::uuid[])",
		[]string{dose1, dose2}).Scan(&acts); err != nil || acts != 0 {
		t.Fatalf("acts before finishing: %d %v", acts, err)
	}

	body := map[string]any{"version": 4, "left": []any{
		map[string]any{"dose_id": dose1, "outcome": "omitted", "reason": "ospite a visita specialistica"},
		map[string]any{"dose_id": dose2, "outcome": "held", "reason": "PA 85/50, avvisato il medico"},
		// An entry for a dose already closed is ignored.
		map[string]any{"dose_id": dose0, "outcome": "omitted", "reason": "già data"},
	}}
	fin := e.roundCall(lead, id, "finish", body, hdr)
	if fin.Status != 200 {
		t.Fatalf("finish: %d %s", fin.Status, fin.Body)
	}
	fj := roundOf(fin.json(t))
	if p := fj.progress(); fj["state"] != "finished" || fj["finished_at"] == nil || p["done"] != float64(3) || p["left"] != float64(0) {
		t.Fatalf("finished round: %s", fin.Body)
	}
	kinds := []string{}
	for _, x := range fj["events"].([]any) {
		kinds = append(kinds, x.(map[string]any)["kind"].(string))
	}
	if strings.Join(kinds, ",") != "started,paused,handed_over,resumed,finished" {
		t.Fatalf("events %v", kinds)
	}
	evs = fj["events"].([]any)
	if ids := evs[len(evs)-1].(map[string]any)["administration_ids"].([]any); len(ids) != 2 {
		t.Fatalf("acts of the finish: %v", ids)
	}
	// A retry answers the same; the same key with another body is refused;
	// another finish is a conflict.
	rep := e.roundCall(lead, id, "finish", body, hdr)
	if rep.Status != 200 || rep.Header.Get("Idempotent-Replayed") != "true" || rep.json(t)["finished_at"] != fj["finished_at"] {
		t.Fatalf("replay: %d %s", rep.Status, rep.Body)
	}
	if r := e.roundCall(lead, id, "finish", map[string]any{"version": 4}, hdr); r.Status != 422 || r.code() != "idempotency.key_reused" {
		t.Fatalf("key reused: %d %s", r.Status, r.Body)
	}
	if r := e.roundCall(lead, id, "finish", body, map[string]string{"Idempotency-Key": uuid.NewString()}); r.Status != 409 || r.code() != "round.finished" {
		t.Fatalf("second finish: %d %s", r.Status, r.Body)
	}

	// The MAR shows the acts, recorded by the one who finished, once.
	for i, st := range map[int]string{1: "omitted", 2: "held"} {
		m := e.marDoses(nurse, res[i])
		if m[0]["state"] != st || len(m[0]["acts"].([]any)) != 1 {
			t.Fatalf("mar of resident %d: %v", i, m[0])
		}
		if a := m[0]["acts"].([]any)[0].(map[string]any); a["recorded_by"] != e.alt.ID("staff", "alt.lead.x").String() || a["reason"] == "" {
			t.Fatalf("act on resident %d: %v", i, a)
		}
	}
	if cur := e.currentRound(nurse, ward); cur != nil {
		t.Fatalf("a finished round is still current: %v", cur)
	}

	// History is kept, never edited.
	var versions, events int
	ctx := context.Background()
	if err := e.db.Pool.QueryRow(ctx, "SELECT count(*) FROM row_history WHERE table_name = 'rounds' AND row_id = $1", id).Scan(&versions); err != nil || versions != 4 {
		t.Fatalf("round versions in history: %d %v", versions, err)
	}
	if err := e.db.Pool.QueryRow(ctx, "SELECT count(*) FROM round_events WHERE round_id = $1", id).Scan(&events); err != nil || events != 5 {
		t.Fatalf("round events: %d %v", events, err)
	}
	if _, err := e.db.Pool.Exec(ctx, "UPDATE rounds SET state = 'active', finished_at = NULL WHERE id = $1", id); err == nil {
		t.Fatal("a finished round could be reopened")
	}
	if _, err := e.db.Pool.Exec(ctx, "DELETE FROM round_events WHERE round_id = $1", id); err == nil {
		t.Fatal("round events could be deleted")
	}
	// Every read and write was audited, naming the residents.
	for action, n := range map[string]int{"round.start": 1, "round.pause": 1, "round.handover": 1, "round.resume": 1, "round.finish": 1} {
		if got := e.auditCount(e.alt.FacilityID(), res[1], action, "success"); got != n {
			t.Errorf("audit %s: %d, want %d", action, got, n)
		}
	}
	if e.auditCount(e.alt.FacilityID(), res[1], "round.read", "success") == 0 {
		t.Error("round reads are not audited")
	}
	// The ward can start its next round.
	if r := e.do(req{method: "POST", path: "/v1/wards/" + ward.String() + "/rounds", token: nurse}); r.Status != 201 {
		t.Fatalf("next round: %d %s", r.Status, r.Body)
	}
}

// A finish that failed half-way is sent again: a dose closed by the first
// try stays closed once, the finish completes.
func TestRoundFinishWhenADoseWasClosedMeanwhile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nurse, doctor := e.login("alt.nurse.x"), e.login("alt.doctor")
	ward := e.ward(e.alt, "X")
	a, _ := e.therapyResident(false)
	b, _ := e.therapyResident(false)
	e.prescribe(a, everyHoursFromNow(aicTachipirina500, e, 6))
	e.prescribe(b, everyHoursFromNow(aicTachipirina500, e, 6))
	start := e.do(req{method: "POST", path: "/v1/wards/" + ward.String() + "/rounds", token: nurse,
		body: map[string]any{"slot": time.Now().UTC().Format(time.RFC3339)}})
	if start.Status != 201 {
		t.Fatalf("start: %d %s", start.Status, start.Body)
	}
	rd := roundOf(start.json(t))
	id := rd["id"].(string)
	da, db := rd.dose(t, a)["dose_id"].(string), rd.dose(t, b)["dose_id"].(string)
	// While the nurse writes her reasons, the doctor records one of the
	// doses from another tablet.
	if r := e.record(doctor, uuid.NewString(), map[string]any{"dose_id": db, "outcome": "refused", "reason": "rifiuta"}); r.Status != 201 {
		t.Fatalf("record: %d %s", r.Status, r.Body)
	}
	body := map[string]any{"version": 1, "left": []any{
		map[string]any{"dose_id": da, "outcome": "refused", "reason": "rifiuta la terapia"},
		map[string]any{"dose_id": db, "outcome": "omitted", "reason": "non trovata"},
	}}
	fin := e.roundCall(nurse, id, "finish", body, map[string]string{"Idempotency-Key": uuid.NewString()})
	if fin.Status != 200 {
		t.Fatalf("finish: %d %s", fin.Status, fin.Body)
	}
	// b's dose keeps the doctor's act; a's got the nurse's.
	if d := roundOf(fin.json(t)).dose(t, b); d["act"].(map[string]any)["outcome"] != "refused" {
		t.Fatalf("b: %v", d)
	}
	if d := roundOf(fin.json(t)).dose(t, a); d["state"] != "refused" {
		t.Fatalf("a: %v", d)
	}
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM administrations WHERE dose_id = ANY($1::uuid[])",
		[]string{da, db}).Scan(&n); err != nil || n != 2 {
		t.Fatalf("acts: %d %v", n, err)
	}
}

// Two tablets start the ward's round at the same moment: one round.
func TestConcurrentRoundStartsMakeOneRound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ward := e.ward(e.alt, "X")
	res, _ := e.therapyResident(false)
	e.prescribe(res, everyHoursFromNow(aicTachipirina500, e, 6))
	tokens := []string{e.login("alt.nurse.x"), e.login("alt.lead.x"), e.login("alt.doctor")}
	const n = 12
	statuses := make([]int, n)
	codes := make([]string, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-gate
			r := e.do(req{method: "POST", path: "/v1/wards/" + ward.String() + "/rounds", token: tokens[i%len(tokens)]})
			statuses[i], codes[i] = r.Status, r.code()
		}(i)
	}
	close(gate)
	wg.Wait()
	created := 0
	for i, s := range statuses {
		switch {
		case s == 201:
			created++
		case s == 409 && codes[i] == "round.already_open":
		default:
			t.Errorf("start %d: %d %s", i, s, codes[i])
		}
	}
	var rounds, doses int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*), (SELECT count(*) FROM round_doses)
		FROM rounds WHERE ward_id = $1`, ward).Scan(&rounds, &doses); err != nil {
		t.Fatal(err)
	}
	if created != 1 || rounds != 1 || doses != 1 {
		t.Fatalf("created %d, rounds %d, dose rows %d", created, rounds, doses)
	}
}

func TestShiftHandoverDigest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nurse := e.login("alt.nurse.x")
	ward := e.ward(e.alt, "X")
	now := time.Now()
	order := func(hoursAgo float64) map[string]any {
		o := everyHoursFromNow(aicTachipirina500, e, 6)
		o["starts_at"] = now.Add(-time.Duration(hoursAgo * float64(time.Hour))).UTC().Format(time.RFC3339)
		return o
	}
	doseOf := func(res uuid.UUID) string {
		m := e.marDoses(nurse, res)
		return m[0]["dose_id"].(string)
	}
	// late: due 90 minutes ago (window ±1 h, missed at +2 h), nothing recorded.
	late, _ := e.therapyResident(false)
	e.prescribe(late, order(1.5))
	// missed: due 3 hours ago.
	missed, _ := e.therapyResident(false)
	e.prescribe(missed, order(3))
	// given late: due 90 minutes ago, given now, without a scan.
	givenLate, _ := e.therapyResident(false)
	e.prescribe(givenLate, order(1.5))
	// refused, held, omitted: due now.
	notGiven := map[string]uuid.UUID{}
	for _, o := range []string{"refused", "held", "omitted"} {
		r, _ := e.therapyResident(false)
		e.prescribe(r, order(0.1))
		notGiven[o] = r
	}
	// an override: given to a resident awaiting reconciliation.
	overridden, _ := e.therapyResident(true)
	e.prescribe(overridden, order(0.1))
	// an as-needed dose whose effectiveness check is not recorded.
	prn, _ := e.therapyResident(false)
	p := e.prescribe(prn, map[string]any{"product_id": e.nationalProduct(aicLorazepam1), "dose": "1", "dose_unit": "tablet",
		"route": "oral", "schedule": map[string]any{"kind": "prn"},
		"prn": map[string]any{"indication": "agitazione", "min_interval_min": 60, "max_per_24h": 2, "check_after_min": 30}})
	// an act entered in error leaves every list.
	corrected, _ := e.therapyResident(false)
	e.prescribe(corrected, order(0.1))
	// the 6-hourly doses materialised beyond the first fall outside the
	// period asked (the last 8 hours, to now + 1 minute).

	rec := func(body map[string]any) map[string]any {
		r := e.record(nurse, uuid.NewString(), body)
		if r.Status != 201 {
			t.Fatalf("record %v: %d %s", body, r.Status, r.Body)
		}
		return r.json(t)
	}
	rec(map[string]any{"dose_id": doseOf(givenLate), "outcome": "given", "unable_to_scan": "wristband_damaged"})
	for o, r := range notGiven {
		rec(map[string]any{"dose_id": doseOf(r), "outcome": o, "reason": "motivo " + o})
	}
	rec(map[string]any{"dose_id": doseOf(overridden), "outcome": "given", "barcode": code32(t, aicTachipirina500),
		"override": map[string]any{"codes": []string{"awaiting_reconciliation"}, "reason": "reconciliation_pending_physician_informed"}})
	rec(map[string]any{"prescription_id": p["id"], "outcome": "given", "barcode": code32(t, aicLorazepam1)})
	wrong := rec(map[string]any{"dose_id": doseOf(corrected), "outcome": "refused", "reason": "per errore"})
	if r := e.do(req{method: "POST", path: "/v1/administrations/" + wrong["id"].(string) + "/entered-in-error", token: nurse,
		body: map[string]any{"reason": "ospite sbagliato"}}); r.Status != 200 {
		t.Fatalf("entered in error: %d %s", r.Status, r.Body)
	}

	to := now.Add(time.Minute).UTC().Format(time.RFC3339)
	r := e.do(req{method: "GET", path: "/v1/wards/" + ward.String() + "/handover?to=" + to, token: e.login("alt.oss.x")})
	if r.Status != 200 {
		t.Fatalf("handover: %d %s", r.Status, r.Body)
	}
	d := r.json(t)
	listed := func(list string) []string {
		var out []string
		for _, x := range d[list].([]any) {
			out = append(out, x.(map[string]any)["resident_id"].(string))
		}
		return out
	}
	for list, who := range map[string][]uuid.UUID{
		"late": {late}, "missed": {missed}, "given_late": {givenLate}, "refused": {notGiven["refused"]},
		"held": {notGiven["held"]}, "omitted": {notGiven["omitted"]}, "unable_to_scan": {givenLate},
		"overrides": {overridden}, "prn_checks_due": {prn},
	} {
		got := listed(list)
		var want []string
		for _, w := range who {
			want = append(want, w.String())
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", list, got, want)
		}
		if c := d["counts"].(map[string]any)[list]; c != float64(len(want)) {
			t.Errorf("count of %s: %v", list, c)
		}
	}
	first := func(list string) map[string]any { return d[list].([]any)[0].(map[string]any) }
	if it := first("held"); it["reason"] != "motivo held" || it["bed"] == nil || it["due_at"] == nil || it["drug"] == "" {
		t.Errorf("held item: %v", it)
	}
	if it := first("unable_to_scan"); it["unable_to_scan"] != "wristband_damaged" {
		t.Errorf("unable to scan item: %v", it)
	}
	if it := first("overrides"); fmt.Sprint(it["overridden"]) != "[awaiting_reconciliation]" || it["override_reason"] == "" {
		t.Errorf("override item: %v", it)
	}
	if it := first("prn_checks_due"); it["check_due_at"] == nil || it["dose_id"] != nil {
		t.Errorf("prn check item: %v", it)
	}
	if strings.Contains(string(r.Body), corrected.String()) {
		t.Error("an act entered in error is in the digest")
	}
	if e.auditCount(e.alt.FacilityID(), late, "round.read_handover", "success") != 1 {
		t.Error("the digest read is not audited naming its residents")
	}
	// A period too long, and wards out of scope.
	if r := e.do(req{method: "GET", path: "/v1/wards/" + ward.String() + "/handover?from=2020-01-01&to=2020-02-01", token: nurse}); r.Status != 400 || r.code() != "handover.invalid_period" {
		t.Fatalf("long period: %d %s", r.Status, r.Body)
	}
	for _, w := range []uuid.UUID{e.ward(e.alt, "Y"), e.ward(e.demo, "A"), uuid.New()} {
		if r := e.do(req{method: "GET", path: "/v1/wards/" + w.String() + "/handover", token: nurse}); r.Status != 404 || r.code() != "ward.not_found" {
			t.Fatalf("ward %s: %d %s", w, r.Status, r.Body)
		}
	}
}

// FuzzRoundRequests throws arbitrary bodies and query strings at the round
// routes: whatever arrives, the answer is never a 5xx.
// Run longer with: go test ./mobileapi -run '^$' -fuzz FuzzRoundRequests -fuzztime 60s
func FuzzRoundRequests(f *testing.F) {
	for _, seed := range []string{
		`{"slot":"2020-01-01T00:00:00Z"}`, `{"version":1,"to_staff_id":"00000000-0000-0000-0000-000000000000"}`,
		`{"version":1,"left":[{"dose_id":"` + uuid.NewString() + `","outcome":"held","reason":"\u0000"}]}`,
		`{"version":2147483648}`, `from=0001-01-01&to=0001-01-02`, `to=9999-12-31T23:59:59Z`, `[]`, `null`, "\xff",
	} {
		f.Add(seed)
	}
	e := newEnv(f)
	tok := e.login("alt.nurse.x")
	ward := e.ward(e.alt, "X").String()
	tg := target{facility: e.alt.FacilityID(), ward: e.ward(e.alt, "X")}
	f.Fuzz(func(t *testing.T, in string) {
		rid, err := e.openRound(tg, "active")
		if err != nil {
			t.Fatal(err)
		}
		id := rid.String()
		for _, r := range []req{
			{method: "POST", path: "/v1/wards/" + ward + "/rounds", body: in},
			{method: "POST", path: "/v1/rounds/" + id + "/pause", body: in},
			{method: "POST", path: "/v1/rounds/" + id + "/handover", body: in},
			{method: "POST", path: "/v1/rounds/" + id + "/finish", body: in, header: map[string]string{"Idempotency-Key": uuid.NewString()}},
			{method: "GET", path: "/v1/wards/" + ward + "/handover?" + in},
		} {
			if strings.ContainsAny(r.path, " \t\n\r#%\x00") {
				continue // not a request line a client could send
			}
			hr := httptest.NewRequest(r.method, "http://corsia.test/", strings.NewReader(fmt.Sprint(r.body)))
			hr.URL.Path, hr.URL.RawQuery, _ = strings.Cut(r.path, "?")
			hr.RequestURI = ""
			hr.Header.Set("Content-Type", "application/json")
			hr.Header.Set("Authorization", "Bearer "+tok)
			for k, v := range r.header {
				hr.Header.Set(k, v)
			}
			resp, err := e.srv.App().Test(hr, -1)
			if err != nil {
				continue
			}
			if resp.StatusCode >= 500 {
				t.Fatalf("%s %s with %q → %d", r.method, r.path, in, resp.StatusCode)
			}
		}
	})
}
