// Package pgtest gives each test its own PostgreSQL database, cloned from a
// template that is migrated (and, on request, loaded with the demo facility)
// once per schema version. Clones take tens of milliseconds, so tests run in
// parallel against the real server. A server that cannot be reached fails
// the test: it is never skipped.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend/auth"
	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ServerURL is the server tests use: CORSIA_TEST_DATABASE_URL, else the
// local server of this machine kind. Its database part is ignored.
func ServerURL() string {
	if u := os.Getenv("CORSIA_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Kind selects the template.
type Kind int

const (
	// Empty is a migrated database with no facility.
	Empty Kind = iota
	// Demo holds the demo facility (VDT) and a small second facility (ALT,
	// wards X and Y, three residents each) for isolation tests.
	Demo
)

// Hasher is a cheap argon2id for fixtures and tests: hashing cost is not
// what tests measure.
func Hasher() *auth.Hasher {
	return auth.NewHasher(auth.Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}, 4)
}

// Other is the small second facility loaded in the Demo template.
func Other() *fixtures.Data { return fixtures.Small("ALT", []string{"X", "Y"}, 3) }

// built holds the names of templates known to exist, per test binary.
var (
	buildMu sync.Mutex
	built   = map[string]bool{}
)

// New returns a fresh database of the given kind, dropped when t ends.
func New(t testing.TB, kind Kind) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmpl, err := template(ctx, kind)
	if err != nil {
		t.Fatalf("pgtest: template database: %v", err)
	}
	sweepOnce.Do(func() { sweepStale(ctx) })
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	// The creation time in the name lets a later run drop databases that a
	// killed test binary left behind.
	name := fmt.Sprintf("corsia_t_%d_%s", time.Now().Unix(), hex.EncodeToString(b))
	if err := withMaint(ctx, func(c *pgx.Conn) error {
		for attempt := 0; ; attempt++ {
			_, err := c.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tmpl))
			var pgErr *pgconn.PgError
			// 55006: the template is briefly in use by a concurrent clone.
			if err != nil && attempt < 50 && asPg(err, &pgErr) && pgErr.Code == "55006" {
				time.Sleep(time.Duration(20+attempt*10) * time.Millisecond)
				continue
			}
			return err
		}
	}); err != nil {
		t.Fatalf("pgtest: clone %s: %v", tmpl, err)
	}
	db, err := postgres.Open(ctx, dbURL(name), 8)
	if err != nil {
		t.Fatalf("pgtest: open %s: %v", name, err)
	}
	t.Cleanup(func() {
		db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = withMaint(ctx, func(c *pgx.Conn) error {
			_, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			return err
		})
	})
	return db
}

var sweepOnce sync.Once

// sweepStale drops per-test databases older than two hours: leftovers of
// test binaries that were killed before their clean-up ran.
func sweepStale(ctx context.Context) {
	_ = withMaint(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT datname FROM pg_database WHERE datname ~ '^corsia_t_[0-9]+_[0-9a-f]+$'`)
		if err != nil {
			return err
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		cutoff := time.Now().Add(-2 * time.Hour).Unix()
		for _, n := range names {
			var ts int64
			if _, err := fmt.Sscanf(n, "corsia_t_%d_", &ts); err == nil && ts < cutoff {
				_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+n+" WITH (FORCE)")
			}
		}
		return nil
	})
}

func asPg(err error, target **pgconn.PgError) bool {
	e, ok := err.(*pgconn.PgError)
	if ok {
		*target = e
	}
	return ok
}

func dbURL(name string) string {
	cfg, err := pgx.ParseConfig(ServerURL())
	if err != nil {
		panic(err)
	}
	u := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
	if cfg.Password != "" {
		u = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Password, cfg.Host, cfg.Port, name)
	}
	return u
}

func withMaint(ctx context.Context, fn func(*pgx.Conn) error) error {
	c, err := pgx.Connect(ctx, dbURL("postgres"))
	if err != nil {
		return fmt.Errorf("cannot reach PostgreSQL for tests at %s (set CORSIA_TEST_DATABASE_URL): %w",
			postgres.Redact(ServerURL()), err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	return fn(c)
}

// templateName changes whenever a migration or the fixtures change.
func templateName(kind Kind) (string, error) {
	ms, err := postgres.Migrations()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		h.Write([]byte(m.Checksum))
	}
	prefix := "corsia_tmpl_empty_"
	if kind == Demo {
		d, err := fixtures.Demo()
		if err != nil {
			return "", err
		}
		products, err := fixtures.Catalogue()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%#v%#v%#v", d, Other(), products)
		// The demo's generated parts (prescriptions, vitals, diaries…) and
		// their loaders are Go code: a change there must rebuild the
		// template too.
		if err := hashSources(h, "fixtures", "backend/postgres"); err != nil {
			return "", err
		}
		prefix = "corsia_tmpl_demo_"
	}
	return prefix + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// hashSources adds the non-test Go sources of the repository's dirs to h.
func hashSources(h io.Writer, dirs ...string) error {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return errors.New("pgtest: cannot locate the sources")
	}
	root := filepath.Join(filepath.Dir(self), "..", "..", "..")
	for _, d := range dirs {
		files, err := filepath.Glob(filepath.Join(root, d, "*.go"))
		if err != nil {
			return err
		}
		sort.Strings(files)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s:%d:", filepath.Base(f), len(b))
			h.Write(b)
		}
	}
	return nil
}

func template(ctx context.Context, kind Kind) (string, error) {
	name, err := templateName(kind)
	if err != nil {
		return "", err
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if built[name] {
		return name, nil
	}
	if err := buildTemplate(ctx, name, kind); err != nil {
		return name, err
	}
	built[name] = true
	return name, nil
}

// buildTemplate builds the template under a temporary name and renames it
// when complete, holding an advisory lock so parallel test binaries build it
// once; a crash mid-way leaves no half-built template behind.
func buildTemplate(ctx context.Context, name string, kind Kind) error {
	return withMaint(ctx, func(c *pgx.Conn) error {
		if _, err := c.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", name); err != nil {
			return err
		}
		defer c.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", name) //nolint:errcheck
		var exists bool
		if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil || exists {
			return err
		}
		build := name + "_b"
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+build+" WITH (FORCE)"); err != nil {
			return err
		}
		db, err := postgres.Open(ctx, dbURL(build), 2) // creates it
		if err != nil {
			return err
		}
		if _, err := db.Migrate(ctx); err != nil {
			db.Close()
			return err
		}
		if kind == Demo {
			// The catalogue first: demo prescriptions refer to its products.
			products, err := fixtures.Catalogue()
			if err == nil {
				_, err = db.LoadCatalogue(ctx, products)
			}
			var demo *fixtures.Data
			if err == nil {
				demo, err = fixtures.Demo()
			}
			if err == nil {
				_, err = db.LoadFixtures(ctx, demo, Hasher())
			}
			if err == nil {
				_, err = db.LoadFixtures(ctx, Other(), Hasher())
			}
			if err != nil {
				db.Close()
				return err
			}
		}
		db.Close()
		_, err = c.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", build, name))
		return err
	})
}
