package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the corsia binary once per test run: the end-to-end tests
// run it as an operator would.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "corsia-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "corsia")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// scratchDB returns the URL of a database that does not exist yet (the
// service must create it) and drops it when the test ends.
func scratchDB(t *testing.T) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(pgtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name := "corsia_e2e_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	auth := cfg.User
	if cfg.Password != "" {
		auth += ":" + cfg.Password
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", auth, cfg.Host, cfg.Port, name)
}

func redisURL() string {
	if u := os.Getenv("CORSIA_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func TestUpRunsTheDemoAndShutsDownGracefully(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	addr := freePort(t)
	cmd := exec.Command(bin, "up")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+scratchDB(t), "REDIS_URL="+redisURL(), "HTTP_ADDR="+addr,
		"REDIS_PREFIX=corsia-e2e:", "LOG_LEVEL=warn")
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck
	ready := make(chan string, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Try:") {
				ready <- all.String()
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var banner string
	select {
	case banner = <-ready:
	case <-time.After(90 * time.Second):
		t.Fatalf("no welcome banner within 90 s; stderr:\n%s", stderr.String())
	}
	for _, want := range []string{"Corsia is running at http://" + addr, "corsia-demo", "nurse.a", "lead.a", "auditor", "X-Device-Credential"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	base := "http://" + addr
	resp, err := http.Get(base + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Post(base+"/v1/auth/login", "application/json", strings.NewReader(`{"username":"nurse.a","password":"corsia-demo"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("demo login: %v %v", resp, err)
	}
	resp.Body.Close()

	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30 s of SIGTERM")
	}
	t.Logf("graceful shutdown took %s", time.Since(start).Round(time.Millisecond))
}

func TestUnreachableDependenciesAreExplained(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	cases := []struct {
		name, db, redis, want string
	}{
		{"postgres", "postgres://postgres@127.0.0.1:1/corsia?sslmode=disable", redisURL(), "cannot reach PostgreSQL at postgres://postgres@127.0.0.1:1/corsia"},
		{"redis", scratchDB(t), "redis://127.0.0.1:1/0", "cannot reach Redis at redis://127.0.0.1:1/0"},
	}
	for _, c := range cases {
		cmd := exec.Command(bin, "up")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+c.db, "REDIS_URL="+c.redis, "HTTP_ADDR="+freePort(t))
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("%s down: exit %v; want 1\n%s", c.name, err, out)
		}
		for _, want := range []string{c.want, "docker compose up -d postgres redis"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s down: output lacks %q:\n%s", c.name, want, out)
			}
		}
	}
}

func TestHelpListsTheOperatorCommands(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binary(t), "--help").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"corsia up", "corsia api", "corsia workers", "corsia migrate", "corsia fixtures",
		"corsia audit-verify", "DATABASE_URL", "REDIS_URL", "HTTP_ADDR"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if out, err := exec.Command(binary(t), "nonsense").CombinedOutput(); err == nil || !strings.Contains(string(out), "unknown command") {
		t.Errorf("unknown command: %v %s", err, out)
	}
}

// A database holding a real facility is never served with the public
// development key for documents.
func TestAPIRefusesRealDataWithoutDocumentKey(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Empty)
	if _, err := db.Pool.Exec(context.Background(), `INSERT INTO facilities (id, code, name, kind) VALUES (gen_random_uuid(), 'REAL1', 'RSA Reale', 'RSA')`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A server that starts anyway is killed at the timeout, and fails the
	// test below (its output does not name DOCUMENT_KEY at this log level).
	cmd := exec.CommandContext(ctx, binary(t), "api")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+db.URL, "REDIS_URL="+redisURL(), "HTTP_ADDR="+freePort(t), "DOCUMENT_KEY=", "LOG_LEVEL=error")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "DOCUMENT_KEY") {
		t.Fatalf("api started on real data without DOCUMENT_KEY: %v\n%s", err, out)
	}
}
