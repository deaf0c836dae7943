package postgres_test

import (
	"context"
	"testing"

	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/fixtures"
)

// The demo's anamnesis and problems: every VDT resident has the six
// sections and 2–5 coded problems; the small facility gets none; problems
// keep their content and are never deleted.
func TestDemoProblems(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	demo, err := fixtures.Demo()
	if err != nil {
		t.Fatal(err)
	}
	var without, uncoded, alt int
	if err := db.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM residents r WHERE r.facility_id = $1 AND (
				(SELECT count(*) FROM problems p WHERE p.facility_id = r.facility_id AND p.resident_id = r.id) NOT BETWEEN 2 AND 5
				OR (SELECT count(*) FROM anamnesis_sections a WHERE a.facility_id = r.facility_id AND a.resident_id = r.id) <> 6)),
			(SELECT count(*) FROM problems WHERE facility_id = $1 AND icd9_code IS NULL),
			(SELECT count(*) FROM problems WHERE facility_id = $2) + (SELECT count(*) FROM anamnesis_sections WHERE facility_id = $2)`,
		demo.FacilityID(), pgtest.Other().FacilityID()).Scan(&without, &uncoded, &alt); err != nil {
		t.Fatal(err)
	}
	if without != 0 || uncoded != 0 || alt != 0 {
		t.Fatalf("residents without anamnesis or 2–5 problems %d, uncoded %d, ALT rows %d", without, uncoded, alt)
	}
	for _, sql := range []string{
		"UPDATE problems SET icd9_code = '311' WHERE facility_id = $1",
		"DELETE FROM problems WHERE facility_id = $1",
		"DELETE FROM anamnesis_sections WHERE facility_id = $1",
	} {
		if _, err := db.Pool.Exec(ctx, sql, demo.FacilityID()); err == nil {
			t.Fatalf("%s: allowed", sql)
		}
	}
}
