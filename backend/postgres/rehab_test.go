package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
)

// The demo's rehabilitation: plans for about a third of VDT's residents
// and the past week's sessions, a few not done; none on ALT; append-only.
func TestDemoRehab(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	demo, err := fixtures.Demo()
	if err != nil {
		t.Fatal(err)
	}
	var plans, residents, cognitive, done, notDone, measures, alt int
	if err := db.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM rehab_plans WHERE facility_id = $1),
			(SELECT count(*) FROM residents WHERE facility_id = $1),
			(SELECT count(*) FROM rehab_plans WHERE facility_id = $1 AND type = 'cognitive_stimulation'),
			(SELECT count(*) FROM rehab_sessions WHERE facility_id = $1 AND outcome = 'done'),
			(SELECT count(*) FROM rehab_sessions WHERE facility_id = $1 AND outcome = 'not_done'),
			(SELECT count(*) FROM rehab_sessions WHERE facility_id = $1 AND measure_name IS NOT NULL),
			(SELECT count(*) FROM rehab_plans WHERE facility_id = $2)`,
		demo.FacilityID(), pgtest.Other().FacilityID()).Scan(&plans, &residents, &cognitive, &done, &notDone, &measures, &alt); err != nil {
		t.Fatal(err)
	}
	if plans*4 < residents || plans*2 > residents || cognitive == 0 || done < 20 || notDone == 0 || measures == 0 || alt != 0 {
		t.Fatalf("plans %d of %d residents (cognitive %d), sessions done %d not done %d measures %d, ALT plans %d",
			plans, residents, cognitive, done, notDone, measures, alt)
	}
	for _, sql := range []string{
		"UPDATE rehab_sessions SET notes = 'x' WHERE facility_id = $1",
		"DELETE FROM rehab_plans WHERE facility_id = $1",
	} {
		if _, err := db.Pool.Exec(ctx, sql, demo.FacilityID()); err == nil {
			t.Errorf("%s: allowed", sql)
		}
	}
	if _, err := db.Pool.Exec(ctx, "TRUNCATE rehab_session_corrections, rehab_sessions, rehab_plans"); err == nil {
		t.Error("TRUNCATE allowed")
	}
}

// The schema's own guard on attempts: an occurrence's second session needs
// the first entered in error; unplanned sessions have no attempts; the
// demo's sessions (loaded before any correction) are all first attempts.
func TestRehabSessionAttempts(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	demo, err := fixtures.Demo()
	if err != nil {
		t.Fatal(err)
	}
	f := demo.FacilityID()
	var first, plan, by uuid.UUID
	var planned time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT id, plan_id, planned_for, recorded_by FROM rehab_sessions
		WHERE facility_id = $1 AND plan_id IS NOT NULL AND attempt = 1 ORDER BY id LIMIT 1`, f).Scan(&first, &plan, &planned, &by); err != nil {
		t.Fatal(err)
	}
	var notFirst int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM rehab_sessions WHERE facility_id = $1 AND attempt <> 1`, f).Scan(&notFirst); err != nil ||
		notFirst != 0 {
		t.Fatalf("demo attempts other than 1: %d %v", notFirst, err)
	}
	insert := func(attempt int, withPlan bool) error {
		p, at := any(plan), any(planned)
		if !withPlan {
			p, at = nil, nil
		}
		_, err := db.Pool.Exec(ctx, `INSERT INTO rehab_sessions (facility_id, id, resident_id, plan_id, planned_for, attempt, type,
				outcome, duration_min, recorded_by)
			SELECT facility_id, gen_random_uuid(), resident_id, $3, $4, $5, type, 'done', 30, $6 FROM rehab_sessions
			WHERE facility_id = $1 AND id = $2`, f, first, p, at, attempt, by)
		return err
	}
	if err := insert(1, true); err == nil {
		t.Fatal("a second attempt 1 on one occurrence: allowed")
	}
	if err := insert(2, true); err == nil {
		t.Fatal("attempt 2 with attempt 1 live: allowed")
	}
	if err := insert(2, false); err == nil {
		t.Fatal("an unplanned attempt 2: allowed")
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO rehab_session_corrections (facility_id, id, session_id, reason, recorded_by)
		VALUES ($1, gen_random_uuid(), $2, 'ospite sbagliato', $3)`, f, first, by); err != nil {
		t.Fatal(err)
	}
	if err := insert(3, true); err == nil {
		t.Fatal("attempt 3 skipping 2: allowed")
	}
	if err := insert(2, true); err != nil {
		t.Fatalf("attempt 2 after the correction: %v", err)
	}
}
