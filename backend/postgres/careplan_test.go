package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/careplan"
	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
)

// The demo's care plans: a PAI in force for (nearly) every VDT resident,
// agreed by two professions, rehab plans carrying out its rehab
// interventions, and a ward's task list with the last hours ticked — a
// few late, a few not done; none on ALT.
func TestDemoCarePlans(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	demo, err := fixtures.Demo()
	if err != nil {
		t.Fatal(err)
	}
	fid := demo.FacilityID()
	var inForce, residents, unlinked, linked, records, notDone, alt, reviewDue int
	if err := db.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM care_plan_activations WHERE facility_id = $1),
			(SELECT count(*) FROM residents WHERE facility_id = $1 AND status = 'admitted'),
			(SELECT count(*) FROM rehab_plans WHERE facility_id = $1 AND care_plan_intervention_id IS NULL),
			(SELECT count(*) FROM rehab_plans WHERE facility_id = $1 AND care_plan_intervention_id IS NOT NULL),
			(SELECT count(*) FROM care_task_records WHERE facility_id = $1),
			(SELECT count(*) FROM care_task_records WHERE facility_id = $1 AND outcome = 'not_done'),
			(SELECT count(*) FROM care_plan_versions WHERE facility_id = $2),
			(SELECT count(*) FROM care_plan_versions WHERE facility_id = $1 AND review_date <= current_date)`,
		fid, pgtest.Other().FacilityID()).Scan(&inForce, &residents, &unlinked, &linked, &records, &notDone, &alt, &reviewDue); err != nil {
		t.Fatal(err)
	}
	if inForce*10 < residents*9 || unlinked != 0 || linked == 0 || records < 1000 || notDone == 0 || alt != 0 || reviewDue == 0 {
		t.Fatalf("plans in force %d of %d residents; rehab plans linked %d, unlinked %d; %d task records (%d not done); ALT %d; review due %d",
			inForce, residents, linked, unlinked, records, notDone, alt, reviewDue)
	}
	// Every version in force was agreed by two professions.
	var disagreed int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM care_plan_activations a WHERE a.facility_id = $1
		AND (SELECT count(DISTINCT profession) FROM care_plan_signatures s WHERE s.facility_id = a.facility_id AND s.version_id = a.version_id) < 2`,
		fid).Scan(&disagreed); err != nil || disagreed != 0 {
		t.Fatalf("versions in force without two professions: %d (%v)", disagreed, err)
	}

	// Ward A's task list as its first OSS sees it, over the last six hours.
	var oss fixtures.StaffSeed
	for _, s := range demo.Staff {
		if slices.Contains(s.Roles, "oss") && slices.Contains(s.Wards, "A") {
			oss = s
			break
		}
	}
	a := &backend.Actor{StaffID: demo.ID("staff", oss.Username), FacilityID: fid, Roles: []backend.Role{backend.RoleOSS},
		WardIDs: []uuid.UUID{demo.ID("ward", "A")}}
	svc := &careplan.Service{Store: postgres.CarePlanStore{DB: db}, Clock: backend.SystemClock{}}
	now := time.Now().UTC()
	list, err := svc.WardTasks(ctx, a, demo.ID("ward", "A"), now.Add(-6*time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Residents) < 20 || list.Counts[careplan.TaskDone] < 15 || list.Counts[careplan.TaskLate] == 0 {
		t.Fatalf("ward A: %d residents, counts %v", len(list.Residents), list.Counts)
	}
	for _, tk := range list.Tasks {
		if tk.State == careplan.TaskDone && (tk.Record == nil || tk.Record.DueAt != tk.DueAt) {
			t.Fatalf("done task without its record: %+v", tk)
		}
	}
	if _, err := svc.WardTasks(ctx, a, demo.ID("ward", "B"), time.Time{}, time.Time{}); !backend.IsKind(err, backend.KindNotFound) {
		t.Fatalf("another ward's tasks: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, "TRUNCATE care_task_records, care_task_corrections"); err == nil {
		t.Error("TRUNCATE allowed")
	}
}
