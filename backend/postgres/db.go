// Package postgres is the only package that talks to PostgreSQL: it opens
// the pool, creates the database when missing, runs the embedded migrations,
// implements every domain Store, and turns pgx errors into backend errors.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is the connection pool and the stores built on it.
type DB struct {
	Pool *pgxpool.Pool
	URL  string
}

// Open connects to url, creating the database first when it does not exist,
// and checks that it answers. The error names the URL (without password) and
// says how to start PostgreSQL.
func Open(ctx context.Context, rawURL string, maxConns int32) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL %q is not a valid PostgreSQL URL: %w", Redact(rawURL), err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.ConnConfig.RuntimeParams["application_name"] = "corsia"
	if err := ensureDatabase(ctx, cfg.ConnConfig); err != nil {
		return nil, unreachable(rawURL, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, unreachable(rawURL, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, unreachable(rawURL, err)
	}
	return &DB{Pool: pool, URL: rawURL}, nil
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// Ping checks that the database answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

func unreachable(rawURL string, err error) error {
	return fmt.Errorf("cannot reach PostgreSQL at %s: %w\n"+
		"  start it with:  docker compose up -d postgres redis\n"+
		"  or, on a Debian machine:  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"+
		"  or point DATABASE_URL at a running server", Redact(rawURL), err)
}

// Redact returns the URL with any password replaced, safe for logs.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// ensureDatabase creates the target database when it is missing, by
// connecting to the server's maintenance database.
func ensureDatabase(ctx context.Context, target *pgx.ConnConfig) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, target)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return err
	}
	maint := target.Copy()
	maint.Database = "postgres"
	mc, err := pgx.ConnectConfig(ctx, maint)
	if err != nil {
		return err
	}
	defer mc.Close(ctx)
	_, err = mc.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{target.Database}.Sanitize())
	if err != nil && !isCode(err, "42P04") { // duplicate_database: created meanwhile
		return fmt.Errorf("create database %s: %w", target.Database, err)
	}
	return nil
}

// querier is what both the pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// inTx runs fn in a transaction that commits when fn returns nil and rolls
// back otherwise (or on panic). Serialization failures and deadlocks are
// retried a few times: fn must therefore be safe to run again. actor, when
// set, is recorded as the author of every history row the transaction writes.
func (db *DB) inTx(ctx context.Context, actor *backend.Actor, fn func(tx pgx.Tx) error) error {
	const attempts = 3
	var err error
	for i := 0; i < attempts; i++ {
		err = db.tryTx(ctx, actor, fn)
		if !isCode(err, "40001") && !isCode(err, "40P01") {
			return err
		}
	}
	return err
}

func (db *DB) tryTx(ctx context.Context, actor *backend.Actor, fn func(tx pgx.Tx) error) (err error) {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return translate(err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if actor != nil {
		if _, err = tx.Exec(ctx, "SELECT set_config('corsia.actor', $1, true)", actor.StaffID.String()); err != nil {
			return translate(err)
		}
	}
	if err = fn(tx); err != nil {
		return err
	}
	return translate(tx.Commit(ctx))
}

func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// translate turns pgx errors into backend errors at the boundary. Errors
// that are already backend errors pass through; anything unknown is internal.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var be *backend.Error
	if errors.As(err, &be) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &backend.Error{Kind: backend.KindUnavailable, Code: "timeout", Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505":
			return &backend.Error{Kind: backend.KindConflict, Code: "duplicate", Detail: constraintDetail(pgErr), Err: err}
		case pgErr.Code == "23503":
			return &backend.Error{Kind: backend.KindInvalid, Code: "invalid_reference", Detail: constraintDetail(pgErr), Err: err}
		case pgErr.Code == "22021" || pgErr.Code == "22P05" || pgErr.Code == "22003" || pgErr.Code == "22P02" || pgErr.Code == "22007" || pgErr.Code == "22008":
			// Input the database cannot hold (a NUL byte, a number out of
			// range, a malformed value): the caller's fault, not ours.
			return &backend.Error{Kind: backend.KindInvalid, Code: backend.CodeInvalidInput, Err: err}
		case pgErr.Code == "23514":
			return &backend.Error{Kind: backend.KindInvalid, Code: backend.CodeInvalidInput, Detail: constraintDetail(pgErr), Err: err}
		case strings.HasPrefix(pgErr.Code, "CR"):
			return &backend.Error{Kind: backend.KindUnprocessable, Code: "append_only", Err: err}
		case pgErr.Code == "57014":
			return &backend.Error{Kind: backend.KindUnavailable, Code: "timeout", Err: err}
		}
	}
	return backend.Internal(err, "postgres")
}

// constraintDetail says which rule an input broke without naming schema
// objects or echoing values.
func constraintDetail(e *pgconn.PgError) string {
	switch e.Code {
	case "23505":
		return "already exists"
	case "23503":
		return "refers to something that does not exist"
	}
	return "breaks a data rule"
}
