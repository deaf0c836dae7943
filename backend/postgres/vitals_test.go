package postgres_test

import (
	"context"
	"testing"

	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/fixtures"
)

// The demo's vital signs: every VDT resident has some, flagged as the
// service would have, diabetic residents their glycaemia, weights their
// BMI; the small facility gets none; the rows are append-only.
func TestDemoVitals(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	demo, err := fixtures.Demo()
	if err != nil {
		t.Fatal(err)
	}
	var without, glyc, bmi, flagged, alt int
	if err := db.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM residents r WHERE r.facility_id = $1 AND NOT EXISTS
				(SELECT 1 FROM vital_measurements m WHERE m.facility_id = r.facility_id AND m.resident_id = r.id)),
			(SELECT count(DISTINCT resident_id) FROM vital_measurements WHERE facility_id = $1 AND kind = 'glycaemia'),
			(SELECT count(*) FROM vital_measurements WHERE facility_id = $1 AND kind = 'bmi' AND computed),
			(SELECT count(*) FROM vital_measurements WHERE facility_id = $1 AND flags <> '{}'),
			(SELECT count(*) FROM vital_measurements WHERE facility_id = $2)`,
		demo.FacilityID(), pgtest.Other().FacilityID()).Scan(&without, &glyc, &bmi, &flagged, &alt); err != nil {
		t.Fatal(err)
	}
	if without != 0 || glyc == 0 || bmi == 0 || flagged == 0 || alt != 0 {
		t.Fatalf("residents without vitals %d, with glycaemia %d, BMIs %d, flagged %d, ALT rows %d", without, glyc, bmi, flagged, alt)
	}
	for _, sql := range []string{
		"UPDATE vital_measurements SET value = value + 1 WHERE facility_id = $1",
		"DELETE FROM vital_records WHERE facility_id = $1",
	} {
		if _, err := db.Pool.Exec(ctx, sql, demo.FacilityID()); err == nil {
			t.Errorf("%s: allowed", sql)
		}
	}
}
