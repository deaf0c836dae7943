package postgres_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
)

func TestMigrateIsIdempotentAndSerialised(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Empty)
	ctx := context.Background()
	// The template is already migrated: four concurrent migrators find
	// nothing to do and none fails on the lock.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := db.Migrate(ctx)
			if err == nil && len(res.Applied) != 0 {
				t.Errorf("re-running migrations applied %v", res.Applied)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CheckMigrated(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestMigrationsNeverDropClinicalTables(t *testing.T) {
	t.Parallel()
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	forbidden := regexp.MustCompile(`(?i)(^\s*TRUNCATE\b|\bDROP\s+(TABLE|COLUMN|SCHEMA)\b)`)
	for _, m := range ms {
		for i, line := range strings.Split(m.SQL, "\n") {
			code, _, _ := strings.Cut(line, "--")
			if forbidden.MatchString(code) {
				t.Errorf("%04d_%s line %d drops or truncates: %s", m.Version, m.Name, i+1, strings.TrimSpace(line))
			}
		}
	}
}

func TestFixturesLoadOnceAndFlagInvalidFiscalCodes(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	demo, err := fixtures.Demo()
	if err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM residents) + (SELECT count(*) FROM staff)
			+ (SELECT count(*) FROM allergies) + (SELECT count(*) FROM beds)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	loaded, err := db.LoadFixtures(ctx, demo, pgtest.Hasher())
	if err != nil || loaded {
		t.Fatalf("second load: loaded=%v err=%v", loaded, err)
	}
	if after := count(); after != before {
		t.Fatalf("loading twice changed the row count: %d → %d", before, after)
	}
	var residents, beds, invalid int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), count(bed_id), count(*) FILTER (WHERE NOT codice_fiscale_ok)
		FROM residents WHERE facility_id = $1`, demo.FacilityID()).Scan(&residents, &beds, &invalid); err != nil {
		t.Fatal(err)
	}
	if residents < 95 || beds != residents || invalid != 2 {
		t.Fatalf("demo residents=%d in beds=%d invalid fiscal codes=%d; want ~100, all in beds, 2 flagged", residents, beds, invalid)
	}
}

func TestDemoRefusesRealDatabase(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Empty)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO facilities (id, code, name, kind) VALUES ($1, 'REAL', 'RSA Vera', 'RSA')`, uuid.New()); err != nil {
		t.Fatal(err)
	}
	demo, _ := fixtures.Demo()
	if _, err := db.LoadFixtures(ctx, demo, pgtest.Hasher()); err != postgres.ErrRealData {
		t.Fatalf("loading the demo next to a real facility: err = %v, want ErrRealData", err)
	}
}

func TestClinicalRowsAreNeverDeleted(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	// An edit leaves a history row to try deleting too.
	if _, err := db.Pool.Exec(ctx, "UPDATE residents SET notes = 'x' WHERE wristband_code = (SELECT min(wristband_code) FROM residents)"); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"DELETE FROM residents",
		"DELETE FROM allergies",
		"DELETE FROM admissions",
		"DELETE FROM audit_events",
		"UPDATE audit_events SET detail = 'x'",
		"TRUNCATE audit_events",
		"DELETE FROM row_history",
		"DELETE FROM audit_heads",
		"TRUNCATE residents CASCADE",
		"TRUNCATE allergies",
		"TRUNCATE admissions",
		"TRUNCATE staff CASCADE",
	} {
		if _, err := db.Pool.Exec(ctx, sql); err == nil {
			t.Errorf("%s: succeeded, want refusal", sql)
		}
	}
}

func TestAuditChainNamesTheTamperedEvent(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	fac := pgtest.Other().FacilityID()
	for i := 0; i < 40; i++ {
		ev := audit.Event{FacilityID: fac, Action: "resident.read", ResourceType: "resident", Outcome: audit.Success,
			ResidentID: uuid.New(), Detail: "t"}
		if err := db.AppendAudit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := audit.VerifyChain(ctx, db, fac)
	if err != nil || !rep.OK || rep.Events != 41 || rep.Chains < 2 {
		t.Fatalf("intact chains: %+v, %v", rep, err)
	}
	// A superuser bypasses the append-only trigger and edits one row in the
	// middle of a chain.
	var victim uuid.UUID
	var chain int16
	var seq int64
	if err := db.Pool.QueryRow(ctx, `SELECT id, chain, seq FROM audit_events e WHERE facility_id = $1 AND seq = 2
		ORDER BY chain LIMIT 1`, fac).Scan(&victim, &chain, &seq); err != nil {
		t.Fatal(err)
	}
	superuser(t, db, "UPDATE audit_events SET outcome = 'denied' WHERE id = $1", victim)
	rep, err = audit.VerifyChain(ctx, db, fac)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.BrokenChain == nil || *rep.BrokenChain != chain || rep.BrokenSeq != seq || rep.BrokenID == nil || *rep.BrokenID != victim {
		t.Fatalf("tampered chain: %+v; want broken at chain %d seq %d (%s)", rep, chain, seq, victim)
	}
	// Another facility's chains are unaffected.
	demo, _ := fixtures.Demo()
	if rep, err := audit.VerifyChain(ctx, db, demo.FacilityID()); err != nil || !rep.OK {
		t.Fatalf("demo chain: %+v, %v", rep, err)
	}
}

// superuser runs sql with the append-only triggers bypassed, as an attacker
// with database superuser rights could.
func superuser(t *testing.T, db *postgres.DB, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAuditChainDetectsDeletedEvents(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	fac := pgtest.Other().FacilityID()
	for i := 0; i < 30; i++ {
		if err := db.AppendAudit(ctx, audit.Event{FacilityID: fac, Action: "resident.read", ResourceType: "resident", Outcome: audit.Success}); err != nil {
			t.Fatal(err)
		}
	}
	var chain int16
	var last int64
	if err := db.Pool.QueryRow(ctx, `SELECT chain, max(seq) FROM audit_events WHERE facility_id = $1
		GROUP BY chain HAVING max(seq) >= 3 ORDER BY chain LIMIT 1`, fac).Scan(&chain, &last); err != nil {
		t.Fatal(err)
	}
	// A row from the middle: the next one no longer follows.
	superuser(t, db, "DELETE FROM audit_events WHERE facility_id = $1 AND chain = $2 AND seq = 2", fac, chain)
	rep, err := audit.VerifyChain(ctx, db, fac)
	if err != nil || rep.OK || rep.BrokenChain == nil || *rep.BrokenChain != chain || rep.BrokenSeq != 3 {
		t.Fatalf("deleted event: %+v, %v; want the break found at chain %d seq 3", rep, err, chain)
	}
	// The last row of a chain: the head no longer matches.
	db2 := pgtest.New(t, pgtest.Demo)
	for i := 0; i < 5; i++ {
		_ = db2.AppendAudit(ctx, audit.Event{FacilityID: fac, Action: "resident.read", ResourceType: "resident", Outcome: audit.Success})
	}
	superuser(t, db2, `DELETE FROM audit_events WHERE (facility_id, chain, seq) =
		(SELECT facility_id, chain, seq FROM audit_events WHERE facility_id = $1 ORDER BY seq DESC, chain LIMIT 1)`, fac)
	if rep, err := audit.VerifyChain(ctx, db2, fac); err != nil || rep.OK || rep.Problem == "" {
		t.Fatalf("deleted tail: %+v, %v; want a head mismatch", rep, err)
	}
}
