package postgres_test

import (
	"context"
	"strings"
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
	"github.com/google/uuid"
)

// altActor is an ALT staff member as an actor.
func altActor(user string, roles ...backend.Role) *backend.Actor {
	alt := pgtest.Other()
	return &backend.Actor{StaffID: alt.ID("staff", user), FacilityID: alt.FacilityID(), Roles: roles,
		WardIDs: []uuid.UUID{alt.ID("ward", "X")}}
}

// A late dose opens one alert chain for the ward lead, whatever the number
// of detector passes; without an acknowledgement it escalates once to the
// ward's physician; an acknowledgement stops the escalation; recording the
// dose resolves the chain. Every notification has its outbox row.
func TestLateDoseAlertChain(t *testing.T) {
	t.Parallel()
	start := time.Now().UTC().Truncate(time.Second)
	f := newTherapyFixture(t, start)
	ctx := context.Background()
	store := postgres.NotifyStore{DB: f.db}
	svc := &notify.Service{Store: store, Clock: f.clock}
	if err := f.svc.Reconcile(ctx, f.doctor, f.resident, "confirmed", ""); err != nil {
		t.Fatal(err)
	}
	// Two residents' daily doses due now (window ±2 h).
	second := f.resident
	p1, err := f.svc.Prescribe(ctx, f.doctor, f.resident, f.order(therapy.Schedule{Kind: therapy.ScheduleEveryHours, EveryHours: 24}, start))
	if err != nil {
		t.Fatal(err)
	}
	_ = p1
	g := newResidentOnX(t, f)
	if _, err := f.svc.Prescribe(ctx, f.doctor, g, f.order(therapy.Schedule{Kind: therapy.ScheduleEveryHours, EveryHours: 24}, start)); err != nil {
		t.Fatal(err)
	}
	lead := altActor("alt.lead.x", backend.RoleWardLead, backend.RoleNurse)
	doctor := altActor("alt.doctor", backend.RolePhysician)
	mine := func(a *backend.Actor) []notify.Notification {
		ns, err := svc.List(ctx, a, 200)
		if err != nil {
			t.Fatal(err)
		}
		var out []notify.Notification
		for _, n := range ns {
			if n.ResidentID == second || n.ResidentID == g {
				out = append(out, n)
			}
		}
		return out
	}
	// Within the window: nothing.
	if _, err := store.Detect(ctx, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := mine(lead); len(n) != 0 {
		t.Fatalf("alerted within the window: %v", n)
	}
	// The window closes: one chain per dose, however many passes.
	closed := start.Add(2*time.Hour + time.Second)
	for i := 0; i < 3; i++ {
		if _, err := store.Detect(ctx, closed.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	ns := mine(lead)
	if len(ns) != 2 || ns[0].Kind != notify.KindDoseLate || ns[0].State != notify.StateOpen || ns[0].DoseID == nil {
		t.Fatalf("lead's notifications: %+v", ns)
	}
	for _, n := range ns {
		if strings.Contains(n.Body, "TACHIPIRINA") || strings.Contains(strings.ToLower(n.Body), "paracetamolo") || n.Initials != "P.T." {
			t.Errorf("push text %q / %q", n.Body, n.Initials)
		}
	}
	var outbox int
	if err := f.db.Pool.QueryRow(ctx, "SELECT count(*) FROM outbox o JOIN notifications n ON n.id = o.notification_id JOIN alerts a ON a.id = n.alert_id WHERE a.resident_id = ANY($1)",
		[]uuid.UUID{second, g}).Scan(&outbox); err != nil || outbox != 2 {
		t.Fatalf("outbox rows %d %v", outbox, err)
	}
	// The lead acknowledges the first; the second is recorded; neither
	// escalates. A third (none here) would.
	acked := ns[0]
	if got, err := svc.Acknowledge(ctx, lead, acked.ID); err != nil || got.State != notify.StateAcknowledged {
		t.Fatalf("ack: %+v %v", got, err)
	}
	if _, err := svc.Acknowledge(ctx, doctor, acked.ID); !backend.IsCode(err, "notification.not_found") {
		t.Fatalf("ack of someone else's notification: %v", err)
	}
	late := start.Add(2*time.Hour + 31*time.Minute)
	if _, err := store.Detect(ctx, late); err != nil {
		t.Fatal(err)
	}
	if esc := mine(doctor); len(esc) != 1 || esc[0].Kind != notify.KindEscalation || esc[0].AlertID == acked.AlertID {
		t.Fatalf("escalations: %+v", esc)
	}
	// Once only.
	if _, err := store.Detect(ctx, late.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if esc := mine(doctor); len(esc) != 1 {
		t.Fatalf("escalated twice: %+v", esc)
	}
	// The escalated dose is recorded: its chain resolves.
	other := ns[1]
	f.clock.t = late.Add(time.Hour)
	nurse := &backend.Actor{StaffID: pgtest.Other().ID("staff", "alt.nurse.x"), FacilityID: lead.FacilityID,
		Roles: []backend.Role{backend.RoleNurse}, WardIDs: lead.WardIDs}
	if _, _, err := f.svc.Record(ctx, nurse, uuid.New(), []byte("k"), therapy.RecordRequest{DoseID: *other.DoseID,
		Outcome: therapy.Omitted, Reason: "non reperibile al giro"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Detect(ctx, late.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, n := range mine(lead) {
		if n.AlertID == other.AlertID && n.State != notify.StateResolved {
			t.Fatalf("recorded dose's chain: %+v", n)
		}
		if n.AlertID == acked.AlertID && n.State != notify.StateAcknowledged {
			t.Fatalf("acknowledged chain: %+v", n)
		}
	}
}

func newResidentOnX(t *testing.T, f *therapyFixture) uuid.UUID {
	t.Helper()
	alt := pgtest.Other()
	id := uuid.New()
	ctx := context.Background()
	if _, err := f.db.Pool.Exec(ctx, `INSERT INTO residents (facility_id, id, given_name, family_name, sex, birth_date, wristband_code,
		status, ward_id, admitted_at) VALUES ($1, $2, 'Piera', 'Tosi', 'F', '1939-02-02', $3, 'admitted', $4, now())`,
		alt.FacilityID(), id, codes.NewIdent(codes.WristbandPrefix), alt.ID("ward", "X")); err != nil {
		t.Fatal(err)
	}
	return id
}

// A dose whose time came reminds the ward's nurses on duty (signed in),
// unless an open round covers it; a round started later resolves the
// reminder.
func TestDueDoseRemindersAndRounds(t *testing.T) {
	t.Parallel()
	start := time.Now().UTC().Truncate(time.Second)
	f := newTherapyFixture(t, start)
	ctx := context.Background()
	store := postgres.NotifyStore{DB: f.db}
	svcs := f.db.NewServices(postgres.ServiceConfig{Hasher: pgtest.Hasher(), Clock: f.clock, AccessTTL: time.Hour, SessionTTL: 12 * time.Hour})
	// alt.nurse.x signs in: she is on duty. alt.nurse.y is not signed in.
	tok, err := svcs.Auth.Login(ctx, auth.Client{}, "alt.nurse.x", fixtures.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	nurse := tok.Actor
	if _, err := f.svc.Prescribe(ctx, f.doctor, f.resident, f.order(therapy.Schedule{Kind: therapy.ScheduleEveryHours, EveryHours: 6}, start)); err != nil {
		t.Fatal(err)
	}
	count := func(kind string) int {
		ns, err := svcs.Notify.List(ctx, &nurse, 200)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, x := range ns {
			if x.ResidentID == f.resident && x.Kind == kind && x.State == notify.StateOpen {
				n++
			}
		}
		return n
	}
	if _, err := store.Detect(ctx, start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if count(notify.KindDoseDue) != 1 {
		t.Fatal("no reminder to the nurse on duty")
	}
	// The nurse starts the round: the reminder resolves; the next dose (in
	// 6 h) is covered by no round and reminds again.
	if _, err := svcs.Rounds.Start(ctx, &nurse, pgtest.Other().ID("ward", "X"), start); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Detect(ctx, start.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := count(notify.KindDoseDue); n != 0 {
		t.Fatalf("reminder still open under a round: %d", n)
	}
}
