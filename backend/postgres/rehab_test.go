package postgres_test

import (
	"context"
	"testing"

	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/fixtures"
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
