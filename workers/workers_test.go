package workers_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/workers"
	"github.com/redis/go-redis/v9"
)

func redisClient(t testing.TB) (*redis.Client, string) {
	t.Helper()
	url := os.Getenv("CORSIA_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis at %s is required for these tests: %v", url, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "corsia-test-" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	return rdb, prefix
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestHeartbeatMakesWorkersAlive(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	ctx := context.Background()
	if ok, err := workers.Alive(ctx, rdb, prefix); err != nil || ok {
		t.Fatalf("alive before any heartbeat: %v %v", ok, err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		(&workers.Runner{Log: quiet, Jobs: []workers.Job{workers.Heartbeat(rdb, prefix)}}).Run(wctx)
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := workers.Alive(ctx, rdb, prefix)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no heartbeat within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("runner did not stop")
	}
}

func TestRunnerFinishesTheRunInProgressOnShutdown(t *testing.T) {
	t.Parallel()
	var finished atomic.Bool
	started := make(chan struct{})
	job := workers.Job{Name: "slow", Every: time.Hour, Run: func(ctx context.Context) error {
		close(started)
		select {
		case <-time.After(200 * time.Millisecond):
			finished.Store(true)
		case <-ctx.Done():
		}
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { (&workers.Runner{Log: quiet, Jobs: []workers.Job{job}}).Run(ctx); close(done) }()
	<-started
	cancel()
	<-done
	if !finished.Load() {
		t.Fatal("shutdown cut a job's run in half")
	}
}

func TestVerifyAuditAndPurgeJobsRun(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO auth_sessions (id, facility_id, staff_id, method, expires_at)
		SELECT gen_random_uuid(), facility_id, id, 'password', now() + interval '1 hour' FROM staff LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO access_tokens (token_hash, session_id, expires_at)
		SELECT '\x01', id, now() - interval '1 minute' FROM auth_sessions LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if err := workers.PurgeTokens(db, quiet).Run(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = db.Pool.QueryRow(ctx, "SELECT count(*) FROM access_tokens").Scan(&n)
	if n != 0 {
		t.Fatalf("%d expired access tokens left", n)
	}
	if err := workers.VerifyAudit(db, time.Hour, quiet).Run(ctx); err != nil {
		t.Fatal(err)
	}
	reps, err := audit.VerifyAll(ctx, db)
	if err != nil || len(reps) < 2 {
		t.Fatalf("verify all: %v %v", reps, err)
	}
}
