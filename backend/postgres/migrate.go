package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/corsia-cce/corsia/migrations"
	"github.com/jackc/pgx/v5"
)

// migrationLock is the advisory-lock key that serialises migrators: two
// processes starting at once run the migrations once, one after the other.
const migrationLock int64 = 0x636f72736961 // "corsia"

// Migration is one numbered SQL file.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Checksum string
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Migrations returns the embedded migrations in order.
func Migrations() ([]Migration, error) { return loadMigrations(migrations.FS) }

func loadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		v, _ := strconv.Atoi(m[1])
		sum := sha256.Sum256(b)
		out = append(out, Migration{Version: v, Name: m[2], SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := range out {
		if out[i].Version != i+1 {
			return nil, fmt.Errorf("migrations: expected version %04d, found %04d_%s", i+1, out[i].Version, out[i].Name)
		}
	}
	return out, nil
}

// MigrationResult reports what Migrate did.
type MigrationResult struct {
	Applied  []string
	Duration time.Duration
}

// Migrate applies every pending migration, each in its own transaction,
// holding an advisory lock so concurrent migrators take turns. A migration
// whose file changed after it was applied is an error, not a silent skip.
func (db *DB) Migrate(ctx context.Context) (MigrationResult, error) {
	start := time.Now()
	var res MigrationResult
	all, err := Migrations()
	if err != nil {
		return res, err
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return res, translate(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return res, fmt.Errorf("migrations: take lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock) //nolint:errcheck
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return res, fmt.Errorf("migrations: create table: %w", err)
	}
	applied := map[int]string{}
	rows, _ := conn.Query(ctx, "SELECT version, checksum FROM schema_migrations")
	var v int
	var sum string
	if _, err := pgx.ForEachRow(rows, []any{&v, &sum}, func() error { applied[v] = sum; return nil }); err != nil {
		return res, fmt.Errorf("migrations: read applied: %w", err)
	}
	for _, m := range all {
		if got, ok := applied[m.Version]; ok {
			if got != m.Checksum {
				return res, fmt.Errorf("migrations: %04d_%s was changed after it was applied; add a new migration instead", m.Version, m.Name)
			}
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
				m.Version, m.Name, m.Checksum)
			return err
		})
		if err != nil {
			return res, fmt.Errorf("migrations: %04d_%s: %w", m.Version, m.Name, err)
		}
		res.Applied = append(res.Applied, fmt.Sprintf("%04d_%s", m.Version, m.Name))
	}
	res.Duration = time.Since(start)
	return res, nil
}

// CheckMigrated fails when the schema lacks migrations this binary knows:
// the API and workers refuse to start on an old schema.
func (db *DB) CheckMigrated(ctx context.Context) error {
	all, err := Migrations()
	if err != nil {
		return err
	}
	var n int
	err = db.Pool.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n)
	if isCode(err, "42P01") || (err == nil && n < len(all)) {
		return fmt.Errorf("the database schema is not up to date (%d of %d migrations applied): run `corsia migrate`", n, len(all))
	}
	return err
}
