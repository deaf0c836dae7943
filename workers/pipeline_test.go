package workers_test

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/auth"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/corsia-cce/corsia/backend/notify"
	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/corsia-cce/corsia/workers"
	"github.com/corsia-cce/corsia/workers/fcm"
	"github.com/corsia-cce/corsia/workers/fcm/fcmfake"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// movableClock is the detector's clock in tests: real time plus an offset
// the test moves forward.
type movableClock struct{ offset atomic.Int64 }

func (c *movableClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *movableClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// pipelineFixture runs the whole notification pipeline of one worker
// process — detector, relay, two push consumers — on a test database, the
// real Redis and the real FCM SDK against a local fake FCM.
type pipelineFixture struct {
	db      *postgres.DB
	svc     *postgres.Services
	fake    *fcmfake.Server
	clock   *movableClock
	alt     *fixtures.Data
	mu      sync.Mutex
	latency []time.Duration
}

func newPipeline(t testing.TB) *pipelineFixture {
	return newPipelineEvery(t, 200*time.Millisecond, nil)
}

// newPipelineEvery runs the detector every detect; accepted, when set,
// hears of every push FCM accepted.
func newPipelineEvery(t testing.TB, detect time.Duration, accepted func(n notify.Notification, queuedAt time.Time)) *pipelineFixture {
	t.Helper()
	db := pgtest.New(t, pgtest.Demo)
	rdb, prefix := redisClient(t)
	fake := fcmfake.New(t)
	ctx := context.Background()
	sender, err := fcm.NewFCM(ctx, fcm.Options{CredentialsJSON: fake.Credentials(), Endpoint: fake.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	f := &pipelineFixture{db: db, fake: fake, clock: &movableClock{}, alt: pgtest.Other(),
		svc: db.NewServices(postgres.ServiceConfig{Hasher: pgtest.Hasher(), AccessTTL: 15 * time.Minute, SessionTTL: 12 * time.Hour})}
	store := postgres.NotifyStore{DB: db}
	pusher := &workers.Pusher{Store: store, Sender: sender, Log: quiet, Lease: 10 * time.Second, Accepted: accepted}
	pipe := &workers.Pipeline{Redis: rdb, Prefix: prefix, Outbox: db, Lost: db, Pusher: pusher, Consumers: 2, Log: quiet,
		RelayEvery: 50 * time.Millisecond, ClaimIdle: 5 * time.Second}
	detector := workers.Job{Name: "detector", Every: detect, Run: func(ctx context.Context) error {
		_, err := store.Detect(ctx, f.clock.Now())
		return err
	}}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		(&workers.Runner{Log: quiet, Jobs: append([]workers.Job{detector}, pipe.Jobs()...), Loops: pipe.Loops()}).Run(wctx)
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// signedIn signs an ALT user in and registers a push token for her
// sign-in, returning the actor and the token.
func (f *pipelineFixture) signedIn(t testing.TB, user string) (*backend.Actor, string) {
	t.Helper()
	ctx := context.Background()
	tok, err := f.svc.Auth.Login(ctx, auth.Client{IP: netip.MustParseAddr("127.0.0.1")}, user, fixtures.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	a := tok.Actor
	token := "fcm-token-" + user + "-" + uuid.NewString()
	if _, err := f.svc.Notify.Register(ctx, &a, token, "android", "1.0"); err != nil {
		t.Fatal(err)
	}
	return &a, token
}

// lateDose admits a resident to ward X with a daily dose whose ±2 h window
// closes after the given delay, and returns the resident.
func (f *pipelineFixture) lateDose(t *testing.T, closesIn time.Duration) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	id := uuid.New()
	if _, err := f.db.Pool.Exec(ctx, `INSERT INTO residents (facility_id, id, given_name, family_name, sex, birth_date,
		wristband_code, status, ward_id, admitted_at) VALUES ($1, $2, 'Ada', 'Neri', 'F', '1936-05-05', $3, 'admitted', $4, now())`,
		f.alt.FacilityID(), id, codes.NewIdent(codes.WristbandPrefix), f.alt.ID("ward", "X")); err != nil {
		t.Fatal(err)
	}
	var product uuid.UUID
	if err := f.db.Pool.QueryRow(ctx, "SELECT id FROM products WHERE aic = '012745093' AND facility_id IS NULL").Scan(&product); err != nil {
		t.Fatal(err)
	}
	doctor := &backend.Actor{StaffID: f.alt.ID("staff", "alt.doctor"), FacilityID: f.alt.FacilityID(),
		Roles: []backend.Role{backend.RolePhysician}, WardIDs: []uuid.UUID{f.alt.ID("ward", "X")}}
	start := f.clock.Now().Add(-2*time.Hour + closesIn)
	if _, err := f.svc.Therapy.Prescribe(ctx, doctor, id, therapy.Order{ProductID: product, Dose: decimal.NewFromInt(1),
		DoseUnit: "tablet", Route: "oral", Schedule: therapy.Schedule{Kind: therapy.ScheduleEveryHours, EveryHours: 24},
		StartsAt: start}); err != nil {
		t.Fatal(err)
	}
	return id
}

// kind counts the pushes of a kind the fake FCM accepted for a token.
func (f *pipelineFixture) kind(token, kind string) int {
	n := 0
	for _, m := range f.fake.Messages() {
		if m.Token == token && m.Data["kind"] == kind {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds or within has passed.
func (f *pipelineFixture) waitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A dose becomes late: exactly one push reaches the ward lead within
// seconds of the window closing, with nothing clinical on the lock screen.
// Unacknowledged, it escalates once to the ward's physician; acknowledged,
// it does not escalate.
func TestLateDosePushAndEscalation(t *testing.T) {
	t.Parallel()
	f := newPipeline(t)
	ctx := context.Background()
	lead, leadToken := f.signedIn(t, "alt.lead.x")
	_, doctorToken := f.signedIn(t, "alt.doctor")
	unacked := f.lateDose(t, 2*time.Second)
	acked := f.lateDose(t, 2*time.Second)
	closes := time.Now().Add(2 * time.Second)

	// The lead is also a nurse on duty: she had the due-dose reminders
	// first; then one late-dose push per dose.
	f.waitFor(t, "two late-dose pushes to the lead", 20*time.Second, func() bool { return f.kind(leadToken, notify.KindDoseLate) >= 2 })
	// A liveness bound, not a performance target (the benchmark measures
	// the latency): generous for a loaded CI machine.
	if lat := time.Since(closes); lat > 30*time.Second {
		t.Errorf("pushed %s after the window closed", lat)
	}
	time.Sleep(time.Second) // nothing more may come
	if n := f.kind(leadToken, notify.KindDoseLate); n != 2 {
		t.Fatalf("lead got %d late-dose pushes, want 2 (one per late dose)", n)
	}
	if n := f.kind(leadToken, notify.KindDoseDue); n != 2 {
		t.Fatalf("lead got %d due-dose reminders, want 2", n)
	}
	for _, m := range f.fake.Messages() {
		if m.Token != leadToken {
			continue
		}
		if m.Title == "" || m.CollapseKey == "" || m.Data["dose_id"] == "" || m.Data["resident_id"] == "" {
			t.Errorf("push: %+v", m)
		}
		for _, word := range []string{"TACHIPIRINA", "paracetamolo", "Ada", "Neri"} {
			if contains(m.Title+m.Body, word) {
				t.Errorf("push shows %q: %s / %s", word, m.Title, m.Body)
			}
		}
	}
	// The lead acknowledges one of the two.
	ns, err := f.svc.Notify.List(ctx, lead, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.ResidentID == acked && n.Kind == notify.KindDoseLate {
			if _, err := f.svc.Notify.Acknowledge(ctx, lead, n.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	// 31 minutes on (escalation after 30): one escalation, for the other.
	f.clock.advance(31 * time.Minute)
	f.waitFor(t, "the escalation push", 20*time.Second, func() bool { return f.kind(doctorToken, notify.KindEscalation) >= 1 })
	f.clock.advance(time.Hour)
	time.Sleep(1500 * time.Millisecond)
	if n := f.kind(doctorToken, notify.KindEscalation); n != 1 {
		t.Fatalf("physician got %d escalations, want 1", n)
	}
	var escalated uuid.UUID
	if err := f.db.Pool.QueryRow(ctx, `SELECT a.resident_id FROM notifications n JOIN alerts a ON a.id = n.alert_id
		WHERE n.kind = 'escalation' AND n.staff_id = $1`, f.alt.ID("staff", "alt.doctor")).Scan(&escalated); err != nil {
		t.Fatal(err)
	}
	if escalated != unacked {
		t.Fatal("the acknowledged alert escalated")
	}
	// One delivery row per notification and device, all accepted.
	var pending int
	if err := f.db.Pool.QueryRow(ctx, "SELECT count(*) FROM push_deliveries WHERE state <> 'accepted'").Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("deliveries not accepted: %d %v", pending, err)
	}
}

// A token FCM says is unregistered is removed, and later notifications skip
// it; a 429 from FCM is retried until accepted.
func TestPushRetriesAndPrunes(t *testing.T) {
	t.Parallel()
	f := newPipeline(t)
	_, leadToken := f.signedIn(t, "alt.lead.x")
	f.fake.FailNext(2, 429)
	f.lateDose(t, 0)
	// The lead is also a nurse on duty: a due-dose reminder may reach the
	// same device, so the late-dose push is counted by its kind (counting
	// every push, the wait could miss the moment it was one).
	f.waitFor(t, "a push after two 429s", 60*time.Second, func() bool { return f.kind(leadToken, notify.KindDoseLate) == 1 })
	f.fake.Unregister(leadToken)
	f.lateDose(t, 0)
	ctx := context.Background()
	f.waitFor(t, "the dead token pruned", 60*time.Second, func() bool {
		var removed bool
		_ = f.db.Pool.QueryRow(ctx, "SELECT removed_at IS NOT NULL FROM push_registrations WHERE token = $1", leadToken).Scan(&removed)
		return removed
	})
}

func contains(s, sub string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(sub)) }

// A sign-in that ended stops receiving: the lead signed in on two devices
// logs out of one; a late dose reaches only the other.
func TestSignedOutDeviceStopsReceiving(t *testing.T) {
	t.Parallel()
	f := newPipeline(t)
	gone, goneToken := f.signedIn(t, "alt.lead.x")
	_, liveToken := f.signedIn(t, "alt.lead.x")
	if err := f.svc.Auth.Logout(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	f.lateDose(t, 0)
	// By kind: a due-dose reminder may reach her too (she is also a nurse).
	f.waitFor(t, "the push to the live device", 20*time.Second, func() bool { return f.kind(liveToken, notify.KindDoseLate) == 1 })
	time.Sleep(500 * time.Millisecond)
	if n := f.fake.Count(goneToken); n != 0 {
		t.Fatalf("a signed-out device got %d pushes", n)
	}
}
