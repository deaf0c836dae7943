package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// fixedClock is a clock that says what the test says.
type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// therapyFixture is ALT's doctor, a fresh reconciled resident of ward X and
// the therapy service on a clock the test moves.
type therapyFixture struct {
	db       *postgres.DB
	svc      *therapy.Service
	clock    *fixedClock
	doctor   *backend.Actor
	resident uuid.UUID
	product  uuid.UUID
}

func newTherapyFixture(t *testing.T, now time.Time) *therapyFixture {
	t.Helper()
	db := pgtest.New(t, pgtest.Demo)
	alt := pgtest.Other()
	clock := &fixedClock{now}
	svc := db.NewServices(postgres.ServiceConfig{Hasher: pgtest.Hasher(), Clock: clock}).Therapy
	f := &therapyFixture{db: db, svc: svc, clock: clock, resident: uuid.New(),
		doctor: &backend.Actor{StaffID: alt.ID("staff", "alt.doctor"), FacilityID: alt.FacilityID(),
			Roles: []backend.Role{backend.RolePhysician}, WardIDs: []uuid.UUID{alt.ID("ward", "X"), alt.ID("ward", "Y")}}}
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO residents (facility_id, id, given_name, family_name, sex, birth_date, wristband_code, status, ward_id, admitted_at)
			VALUES ($1, $2, 'Prova', 'Terapia', 'F', '1938-01-01', $4, 'admitted', $3, now())`,
		`INSERT INTO admissions (facility_id, id, resident_id, admitted_at) VALUES ($1, gen_random_uuid(), $2, now())`,
	} {
		args := []any{alt.FacilityID(), f.resident}
		if strings.Contains(sql, "ward_id") {
			args = append(args, alt.ID("ward", "X"), codes.NewIdent(codes.WristbandPrefix))
		}
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Pool.QueryRow(ctx, "SELECT id FROM products WHERE aic = '012745093' AND facility_id IS NULL").Scan(&f.product); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *therapyFixture) order(s therapy.Schedule, start time.Time) therapy.Order {
	return therapy.Order{ProductID: f.product, Dose: decimal.NewFromInt(1), DoseUnit: "tablet", Route: "oral", Schedule: s, StartsAt: start}
}

func (f *therapyFixture) doseTimes(t *testing.T, status string) []time.Time {
	t.Helper()
	rows, err := f.db.Pool.Query(context.Background(), `SELECT due_at FROM doses WHERE resident_id = $1 AND status = $2 ORDER BY due_at`, f.resident, status)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var d time.Time
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// Admission and return from hospital open a reconciliation in the database
// itself; a physician's record closes it.
func TestReconciliationOpensOnAdmissionAndReturnFromHospital(t *testing.T) {
	t.Parallel()
	f := newTherapyFixture(t, time.Now())
	ctx := context.Background()
	open := func() int {
		var n int
		if err := f.db.Pool.QueryRow(ctx, "SELECT count(*) FROM reconciliations WHERE resident_id = $1 AND outcome IS NULL", f.resident).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if open() != 1 {
		t.Fatal("admission opened no reconciliation")
	}
	if err := f.svc.Reconcile(ctx, f.doctor, f.resident, "confirmed", "terapia domiciliare confermata"); err != nil {
		t.Fatal(err)
	}
	if open() != 0 {
		t.Fatal("reconciliation still open")
	}
	if err := f.svc.Reconcile(ctx, f.doctor, f.resident, "confirmed", ""); !backend.IsCode(err, "reconciliation.none_open") {
		t.Fatalf("second reconciliation: %v", err)
	}
	for _, status := range []string{"hospitalised", "admitted"} {
		if _, err := f.db.Pool.Exec(ctx, "UPDATE residents SET status = $2 WHERE id = $1", f.resident, status); err != nil {
			t.Fatal(err)
		}
	}
	if open() != 1 {
		t.Fatal("return from hospital opened no reconciliation")
	}
	var occasion string
	if err := f.db.Pool.QueryRow(ctx, "SELECT occasion FROM reconciliations WHERE resident_id = $1 AND outcome IS NULL", f.resident).Scan(&occasion); err != nil || occasion != "hospital_return" {
		t.Fatalf("occasion %q %v", occasion, err)
	}
}

// Doses are materialised ahead in the facility's zone, across a DST
// change, once; the roll-forward continues from where it stopped and never
// re-creates what a suspension cancelled.
func TestDosesRollForwardAcrossDSTAndSuspension(t *testing.T) {
	t.Parallel()
	rome, _ := time.LoadLocation("Europe/Rome")
	// Saturday before the autumn change (25 October 2026, 03:00 CEST → 02:00 CET).
	now := time.Date(2026, 10, 24, 6, 0, 0, 0, rome)
	f := newTherapyFixture(t, now)
	ctx := context.Background()
	if err := f.svc.Reconcile(ctx, f.doctor, f.resident, "confirmed", ""); err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Prescribe(ctx, f.doctor, f.resident, f.order(therapy.Schedule{Kind: therapy.ScheduleTimes, Times: []string{"08:00", "02:30"}}, now))
	if err != nil {
		t.Fatal(err)
	}
	// 48 h ahead: 08:00 on the 24th, 25th; 02:30 on the 25th (once, though
	// it happens twice on the wall clock) and the 26th.
	got := f.doseTimes(t, "scheduled")
	want := []time.Time{time.Date(2026, 10, 24, 8, 0, 0, 0, rome), time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC) /* the first 02:30, CEST */}
	if len(got) != 4 || !got[0].Equal(want[0]) || !got[1].Equal(want[1]) {
		t.Fatalf("doses: %v", got)
	}
	for _, d := range got {
		if l := d.In(rome); l.Format("15:04") != "08:00" && l.Format("15:04") != "02:30" {
			t.Errorf("dose at %s local", l)
		}
	}
	// Running the roll-forward again at the same moment makes nothing new.
	if _, err := f.svc.RollForward(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.doseTimes(t, "scheduled")); n != 4 {
		t.Fatalf("re-run made doses: %d", n)
	}
	// Suspend until tomorrow noon: the doses in between are cancelled.
	p, err = f.svc.SetStatus(ctx, f.doctor, p.ID, therapy.StatusChange{Status: therapy.Suspended, Reason: "digiuno per esame",
		Until: time.Date(2026, 10, 25, 12, 0, 0, 0, rome), Version: p.Version})
	if err != nil {
		t.Fatal(err)
	}
	cancelled := f.doseTimes(t, "cancelled")
	for _, d := range cancelled {
		if d.Before(now) || !d.Before(time.Date(2026, 10, 25, 12, 0, 0, 0, rome)) {
			t.Errorf("cancelled a dose outside the suspension: %s", d.In(rome))
		}
	}
	if len(cancelled) != 3 {
		t.Fatalf("cancelled %v", cancelled)
	}
	// 40 h later the horizon is under 12 h ahead and the worker rolls
	// forward: the suspended doses stay cancelled (the suspension has
	// ended by itself), new ones follow the schedule, nothing is duplicated.
	f.clock.t = now.Add(40 * time.Hour)
	if _, err := f.svc.RollForward(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.doseTimes(t, "cancelled")); n != 3 {
		t.Fatalf("cancelled after roll-forward: %d", n)
	}
	seen := map[time.Time]bool{}
	for _, d := range f.doseTimes(t, "scheduled") {
		if seen[d] {
			t.Fatalf("duplicate dose %s", d)
		}
		seen[d] = true
		if d.After(now) && d.Before(time.Date(2026, 10, 25, 12, 0, 0, 0, rome)) {
			t.Fatalf("a suspended dose came back: %s", d.In(rome))
		}
	}
	if last := f.doseTimes(t, "scheduled"); !last[len(last)-1].After(f.clock.t.Add(30 * time.Hour)) {
		t.Fatalf("not materialised 48 h ahead: last %s", last[len(last)-1])
	}
}

// What the physician prescribed is never edited in place, and a version is
// superseded at most once, by the database's own rules.
func TestPrescriptionInvariantsInTheDatabase(t *testing.T) {
	t.Parallel()
	f := newTherapyFixture(t, time.Now())
	ctx := context.Background()
	p, err := f.svc.Prescribe(ctx, f.doctor, f.resident, f.order(therapy.Schedule{Kind: therapy.ScheduleTimes, Times: []string{"08:00"}}, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"UPDATE prescriptions SET dose = 2 WHERE id = $1",
		"UPDATE prescriptions SET schedule = '{\"kind\":\"prn\"}' WHERE id = $1",
		"DELETE FROM prescriptions WHERE id = $1",
		"DELETE FROM doses WHERE prescription_id = $1",
	} {
		if _, err := f.db.Pool.Exec(ctx, sql, p.ID); err == nil {
			t.Errorf("allowed: %s", sql)
		}
	}
	// A quarter tablet is the smallest split, in the database too.
	if _, err := f.db.Pool.Exec(ctx, `INSERT INTO prescriptions (facility_id, id, series_id, resident_id, product_id, dose, dose_unit,
		route, schedule, starts_at, status, prescribed_by) SELECT facility_id, gen_random_uuid(), gen_random_uuid(), resident_id, product_id,
		0.2, 'tablet', route, schedule, starts_at, 'active', prescribed_by FROM prescriptions WHERE id = $1`, p.ID); err == nil {
		t.Error("a fifth of a tablet was stored")
	}
	// Two changes to the same version: one wins.
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, err := f.svc.Revise(ctx, f.doctor, p.ID, p.Version, f.order(therapy.Schedule{Kind: therapy.ScheduleTimes, Times: []string{"09:00"}}, time.Time{}))
			errs <- err
		}()
	}
	ok, conflicts := 0, 0
	for i := 0; i < 2; i++ {
		switch err := <-errs; {
		case err == nil:
			ok++
		case backend.IsKind(err, backend.KindConflict):
			conflicts++
		default:
			t.Fatal(err)
		}
	}
	if ok != 1 || conflicts != 1 {
		t.Fatalf("concurrent revisions: %d ok, %d conflicts", ok, conflicts)
	}
	var versions int
	if err := f.db.Pool.QueryRow(ctx, "SELECT count(*) FROM prescriptions WHERE series_id = $1", p.SeriesID).Scan(&versions); err != nil || versions != 2 {
		t.Fatalf("versions %d %v", versions, err)
	}
}
