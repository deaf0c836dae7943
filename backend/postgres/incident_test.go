package postgres_test

import (
	"context"
	"testing"

	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/fixtures"
)

// The demo's incidents: falls and pressure injuries (one reassessed) on
// VDT only; the rows are append-only; the alerts table takes the incident
// kind.
func TestDemoIncidents(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	demo, err := fixtures.Demo()
	if err != nil {
		t.Fatal(err)
	}
	var falls, injuries, followUps, alt int
	if err := db.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM incidents WHERE facility_id = $1 AND kind = 'fall'),
			(SELECT count(*) FROM incidents WHERE facility_id = $1 AND kind = 'pressure_injury'),
			(SELECT count(*) FROM incidents WHERE facility_id = $1 AND follow_up_of IS NOT NULL),
			(SELECT count(*) FROM incidents WHERE facility_id = $2)`,
		demo.FacilityID(), pgtest.Other().FacilityID()).Scan(&falls, &injuries, &followUps, &alt); err != nil {
		t.Fatal(err)
	}
	if falls < 2 || injuries < 2 || followUps == 0 || alt != 0 {
		t.Fatalf("falls %d, pressure injuries %d, follow-ups %d, ALT rows %d", falls, injuries, followUps, alt)
	}
	for _, sql := range []string{
		"UPDATE incidents SET notes = 'x' WHERE facility_id = $1",
		"DELETE FROM incidents WHERE facility_id = $1",
		`INSERT INTO incidents (facility_id, id, resident_id, kind, occurred_at, details, recorded_by)
			SELECT facility_id, gen_random_uuid(), resident_id, 'pressure_injury', now(), '{"site":"knee","stage":"2"}', recorded_by
			FROM incidents WHERE facility_id = $1 LIMIT 1`,
	} {
		if _, err := db.Pool.Exec(ctx, sql, demo.FacilityID()); err == nil {
			t.Errorf("%s: allowed", sql)
		}
	}
	var def string
	if err := db.Pool.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = 'alerts'::regclass AND conname = 'alerts_kind_check'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if !contains(def, "'incident'") {
		t.Fatalf("alerts kind check: %s", def)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
