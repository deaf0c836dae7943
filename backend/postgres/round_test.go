package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/backend/round"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/google/uuid"
)

// roundFixture is the therapy fixture (a clock the test moves, ALT's
// doctor) with the round service on the same clock, and ALT ward X's nurse.
type roundFixture struct {
	*therapyFixture
	rounds *round.Service
	nurse  *backend.Actor
	wardX  uuid.UUID
}

func newRoundFixture(t *testing.T, now time.Time) *roundFixture {
	t.Helper()
	f := newTherapyFixture(t, now)
	alt := pgtest.Other()
	svc := f.db.NewServices(postgres.ServiceConfig{Hasher: pgtest.Hasher(), Clock: f.clock})
	return &roundFixture{therapyFixture: f, rounds: svc.Rounds, wardX: alt.ID("ward", "X"),
		nurse: &backend.Actor{StaffID: alt.ID("staff", "alt.nurse.x"), FacilityID: alt.FacilityID(),
			Roles: []backend.Role{backend.RoleNurse}, WardIDs: []uuid.UUID{alt.ID("ward", "X")}}}
}

// resident admits a fresh resident to an ALT ward, reconciled.
func (f *roundFixture) resident(t *testing.T, ward string) uuid.UUID {
	t.Helper()
	alt := pgtest.Other()
	id := uuid.New()
	ctx := context.Background()
	if _, err := f.db.Pool.Exec(ctx, `INSERT INTO residents (facility_id, id, given_name, family_name, sex, birth_date,
			wristband_code, status, ward_id, admitted_at) VALUES ($1, $2, 'Prova', 'Giro', 'F', '1939-01-01', $3, 'admitted', $4, now())`,
		alt.FacilityID(), id, codes.NewIdent(codes.WristbandPrefix), alt.ID("ward", ward)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Pool.Exec(ctx, `INSERT INTO reconciliations (facility_id, resident_id, occasion, outcome, recorded_by, recorded_at)
		VALUES ($1, $2, 'admission', 'confirmed', $3, now())`, alt.FacilityID(), id, f.doctor.StaffID); err != nil {
		t.Fatal(err)
	}
	return id
}

// prescribe gives resident a daily dose (every 24 h, window ±2 h) or, with
// every < 4, a time-critical one (±30 min), the first at start.
func (f *roundFixture) prescribe(t *testing.T, resident uuid.UUID, every int, start time.Time) uuid.UUID {
	t.Helper()
	p, err := f.svc.Prescribe(context.Background(), f.doctor, resident,
		f.order(therapy.Schedule{Kind: therapy.ScheduleEveryHours, EveryHours: every}, start))
	if err != nil {
		t.Fatal(err)
	}
	var dose uuid.UUID
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT id FROM doses WHERE prescription_id = $1 AND status = 'scheduled'
		ORDER BY due_at LIMIT 1`, p.ID).Scan(&dose); err != nil {
		t.Fatal(err)
	}
	return dose
}

func roundDoses(r round.View) []uuid.UUID {
	var out []uuid.UUID
	for _, rp := range r.Residents {
		for _, d := range rp.Doses {
			out = append(out, d.DoseID)
		}
	}
	return out
}

// A round's list is fixed at start: the ward's open doses due within their
// own window of the slot; not those of another ward, already recorded, or
// outside their window; a dose prescribed afterwards does not join.
func TestRoundDoseListIsTheSlotsOpenDoses(t *testing.T) {
	t.Parallel()
	start := time.Now().UTC().Truncate(time.Second)
	f := newRoundFixture(t, start)
	ctx := context.Background()
	a, b, c, d, y := f.resident(t, "X"), f.resident(t, "X"), f.resident(t, "X"), f.resident(t, "X"), f.resident(t, "Y")
	early := f.prescribe(t, a, 24, start.Add(-90*time.Minute)) // daily, ±2 h: in
	onTime := f.prescribe(t, b, 24, start)                     // in
	f.prescribe(t, b, 24, start.Add(3*time.Hour))              // out: 3 h after
	f.prescribe(t, c, 2, start.Add(-40*time.Minute))           // time-critical ±30 min: neither -40 nor +80 min
	given := f.prescribe(t, d, 24, start.Add(-10*time.Minute)) // in the window but recorded
	f.prescribe(t, y, 24, start)                               // another ward
	if _, _, err := f.svc.Record(ctx, f.doctor, uuid.New(), []byte("h"), therapy.RecordRequest{DoseID: given,
		Outcome: therapy.Given, UnableToScan: "barcode_unreadable"}); err != nil {
		t.Fatal(err)
	}
	v, err := f.rounds.Start(ctx, f.nurse, f.wardX, start)
	if err != nil {
		t.Fatal(err)
	}
	got := roundDoses(v)
	if len(got) != 2 || !(got[0] == early && got[1] == onTime || got[0] == onTime && got[1] == early) {
		t.Fatalf("round doses %v, want %v and %v", got, early, onTime)
	}
	// Prescribed after the start: not on the list.
	f.prescribe(t, c, 24, start)
	cur, err := f.rounds.Current(ctx, f.nurse, f.wardX)
	if err != nil || cur == nil || len(roundDoses(*cur)) != 2 || cur.Progress.Left != 2 {
		t.Fatalf("current: %+v %v", cur, err)
	}
	// A slot far from now is refused.
	if _, err := f.rounds.Start(ctx, f.nurse, f.wardX, start.Add(13*time.Hour)); !backend.IsCode(err, "round.invalid_slot") {
		t.Fatalf("far slot: %v", err)
	}
}

// The database keeps one open round per ward, whatever the code does.
func TestOneOpenRoundPerWard(t *testing.T) {
	t.Parallel()
	start := time.Now().UTC().Truncate(time.Second)
	f := newRoundFixture(t, start)
	ctx := context.Background()
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-gate
			_, errs[i] = f.rounds.Start(ctx, f.nurse, f.wardX, time.Time{})
		}(i)
	}
	close(gate)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !backend.IsCode(err, "round.already_open"):
			t.Errorf("start: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d rounds started", ok)
	}
	insert := `INSERT INTO rounds (facility_id, id, ward_id, slot, state, owner_id, started_by)
		VALUES ($1, gen_random_uuid(), $2, now(), 'paused', $3, $3)`
	if _, err := f.db.Pool.Exec(ctx, insert, f.nurse.FacilityID, f.wardX, f.nurse.StaffID); err == nil {
		t.Fatal("a second open round was inserted")
	}
	// Finished rounds do not count.
	if _, err := f.db.Pool.Exec(ctx, "UPDATE rounds SET state = 'finished', finished_at = now() WHERE ward_id = $1", f.wardX); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Pool.Exec(ctx, insert, f.nurse.FacilityID, f.wardX, f.nurse.StaffID); err != nil {
		t.Fatalf("a round after a finished one: %v", err)
	}
	// Its ward, slot and start never change.
	if _, err := f.db.Pool.Exec(ctx, "UPDATE rounds SET slot = slot + interval '1 hour' WHERE ward_id = $1 AND state = 'paused'", f.wardX); err == nil {
		t.Fatal("a round's slot was edited")
	}
}

// flakyRecorder fails the n-th act it is asked to record, once: a finish
// that breaks off half-way.
type flakyRecorder struct {
	round.Recorder
	mu    sync.Mutex
	calls int
	failN int
}

func (r *flakyRecorder) Record(ctx context.Context, a *backend.Actor, key uuid.UUID, hash []byte, req therapy.RecordRequest) (therapy.Administration, bool, error) {
	r.mu.Lock()
	r.calls++
	fail := r.calls == r.failN
	r.mu.Unlock()
	if fail {
		return therapy.Administration{}, false, errors.New("connection reset")
	}
	return r.Recorder.Record(ctx, a, key, hash, req)
}

// A finish that broke off after recording some acts is sent again (same
// key, same body): every dose left gets exactly one act, and the finishing
// event lists them all.
func TestFinishBrokenOffHalfWayIsSentAgain(t *testing.T) {
	t.Parallel()
	start := time.Now().UTC().Truncate(time.Second)
	f := newRoundFixture(t, start)
	ctx := context.Background()
	var doses []uuid.UUID
	for i := 0; i < 3; i++ {
		doses = append(doses, f.prescribe(t, f.resident(t, "X"), 24, start.Add(-time.Duration(i)*time.Minute)))
	}
	v, err := f.rounds.Start(ctx, f.nurse, f.wardX, start)
	if err != nil {
		t.Fatal(err)
	}
	flaky := &flakyRecorder{Recorder: f.rounds.Therapy, failN: 2}
	svc := &round.Service{Store: f.rounds.Store, Therapy: flaky, Clock: f.clock}
	req := round.FinishRequest{Version: v.Version}
	for _, d := range doses {
		req.Left = append(req.Left, round.LeftDose{DoseID: d, Outcome: therapy.Omitted, Reason: "ospite assente dal nucleo"})
	}
	key, hash := uuid.New(), []byte("finish body")
	if _, _, err := svc.Finish(ctx, f.nurse, v.ID, key, hash, req); err == nil {
		t.Fatal("the broken finish succeeded")
	}
	count := func() int {
		var n int
		if err := f.db.Pool.QueryRow(ctx, "SELECT count(*) FROM administrations WHERE dose_id = ANY($1)", doses).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("acts after the broken finish: %d", n)
	}
	cur, err := svc.Current(ctx, f.nurse, f.wardX)
	if err != nil || cur == nil || cur.State != round.Active || cur.Progress.Left != 2 {
		t.Fatalf("round after the broken finish: %+v %v", cur, err)
	}
	done, replay, err := svc.Finish(ctx, f.nurse, v.ID, key, hash, req)
	if err != nil || replay {
		t.Fatalf("finish again: %v (replay %v)", err, replay)
	}
	if n := count(); n != 3 || done.State != round.Finished || done.Progress.Done != 3 {
		t.Fatalf("acts %d, round %+v", n, done.Progress)
	}
	last := done.Events[len(done.Events)-1]
	if last.Kind != round.EventFinished || len(last.Administrations) != 3 {
		t.Fatalf("finishing event: %+v", last)
	}
	// And once more, as a client that did not hear the answer: the same.
	again, replay, err := svc.Finish(ctx, f.nurse, v.ID, key, hash, req)
	if err != nil || !replay || again.Version != done.Version {
		t.Fatalf("replay: %v %v", err, replay)
	}
	if n := count(); n != 3 {
		t.Fatalf("acts after the replay: %d", n)
	}
}

// Every change of a round keeps its previous version in row_history, by
// whom; events are never edited.
func TestRoundHistory(t *testing.T) {
	t.Parallel()
	start := time.Now().UTC().Truncate(time.Second)
	f := newRoundFixture(t, start)
	ctx := context.Background()
	v, err := f.rounds.Start(ctx, f.nurse, f.wardX, start)
	if err != nil {
		t.Fatal(err)
	}
	lead := &backend.Actor{StaffID: pgtest.Other().ID("staff", "alt.lead.x"), FacilityID: f.nurse.FacilityID,
		Roles: []backend.Role{backend.RoleWardLead, backend.RoleNurse}, WardIDs: f.nurse.WardIDs}
	// The lead takes the round over.
	if v, err = f.rounds.Handover(ctx, lead, v.ID, v.Version, lead.StaffID); err != nil {
		t.Fatal(err)
	}
	if v.OwnerID != lead.StaffID || v.Version != 2 {
		t.Fatalf("after takeover: %+v", v)
	}
	var by uuid.UUID
	var owner string
	if err := f.db.Pool.QueryRow(ctx, `SELECT changed_by, data->>'owner_id' FROM row_history
		WHERE table_name = 'rounds' AND row_id = $1 AND version = 1`, v.ID).Scan(&by, &owner); err != nil {
		t.Fatal(err)
	}
	if by != lead.StaffID || owner != f.nurse.StaffID.String() {
		t.Fatalf("history: by %s, owner %s", by, owner)
	}
	ev := v.Events[len(v.Events)-1]
	if ev.Kind != round.EventHandedOver || *ev.FromID != f.nurse.StaffID || *ev.ToID != lead.StaffID || ev.ByID != lead.StaffID {
		t.Fatalf("handover event: %+v", ev)
	}
	if _, err := f.db.Pool.Exec(ctx, "UPDATE round_events SET by_id = $2 WHERE round_id = $1", v.ID, f.nurse.StaffID); err == nil {
		t.Fatal("a round event was edited")
	}
	if _, err := f.db.Pool.Exec(ctx, "DELETE FROM rounds WHERE id = $1", v.ID); err == nil {
		t.Fatal("a round was deleted")
	}
}
