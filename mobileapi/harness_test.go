package mobileapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/backend/scan"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/corsia-cce/corsia/mobileapi"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// env is one test's API on its own database holding the demo facility (VDT)
// and the small facility ALT (wards X and Y).
type env struct {
	t      testing.TB
	db     *postgres.DB
	srv    *mobileapi.Server
	demo   *fixtures.Data
	alt    *fixtures.Data
	mu     sync.Mutex
	tokens map[string]string
}

type option func(*mobileapi.Config)

func newEnv(t testing.TB, opts ...option) *env {
	t.Helper()
	db := pgtest.New(t, pgtest.Demo)
	demo, err := fixtures.Demo()
	if err != nil {
		t.Fatal(err)
	}
	svc := db.NewServices(postgres.ServiceConfig{Hasher: pgtest.Hasher(), AccessTTL: 15 * time.Minute,
		SessionTTL: 12 * time.Hour, BreakGlassTTL: 4 * time.Hour})
	cfg := mobileapi.DefaultConfig()
	cfg.AuthRatePerMinute = 10000
	for _, o := range opts {
		o(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&testWriter{t}, nil))
	}
	srv := mobileapi.New(cfg, mobileapi.Deps{Documents: svc.Documents, Auth: svc.Auth, Residents: svc.Residents, Facility: svc.Facility,
		Audit: svc.Audit, Scanner: scan.New(scan.DefaultLimits), Catalogue: svc.Catalogue, Therapy: svc.Therapy, Notify: svc.Notify, Rounds: svc.Rounds, Assess: svc.Assess, Incidents: svc.Incidents, Rehab: svc.Rehab, CarePlans: svc.CarePlans, FacilityInfo: db.Facility, Postgres: db, Metrics: prometheus.NewRegistry(), Problems: svc.Problems,
		Vitals:  svc.Vitals,
		Diary:   svc.Diary,
		OpenAPI: openAPISpec(t), Log: log, Timeline: svc.Timeline})
	return &env{t: t, db: db, srv: srv, demo: demo, alt: pgtest.Other(), tokens: map[string]string{}}
}

type testWriter struct{ t testing.TB }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object (%d): %s", r.Status, r.Body)
	}
	return m
}

func (r response) code() string {
	var p struct{ Code string }
	_ = json.Unmarshal(r.Body, &p)
	return p.Code
}

type req struct {
	method, path, token string
	body                any
	header              map[string]string
}

// rawBody is a non-JSON request body.
type rawBody struct {
	contentType string
	data        []byte
}

// do sends a request through the real Fiber stack and validates the answer
// against the OpenAPI contract.
func (e *env) do(r req) response {
	e.t.Helper()
	var body io.Reader
	contentType := "application/json"
	if r.body != nil {
		switch b := r.body.(type) {
		case rawBody:
			body, contentType = bytes.NewReader(b.data), b.contentType
		case string:
			body = strings.NewReader(b)
		default:
			buf, err := json.Marshal(b)
			if err != nil {
				e.t.Fatal(err)
			}
			body = bytes.NewReader(buf)
		}
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != nil {
		hr.Header.Set("Content-Type", contentType)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := e.srv.App().Test(hr, -1)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	validateResponse(e.t, r, out)
	return out
}

// login signs in with the demo password and caches the token per user.
func (e *env) login(username string) string {
	e.t.Helper()
	e.mu.Lock()
	tok, ok := e.tokens[username]
	e.mu.Unlock()
	if ok {
		return tok
	}
	r := e.do(req{method: "POST", path: "/v1/auth/login", body: map[string]string{"username": username, "password": fixtures.DemoPassword}})
	if r.Status != 200 {
		e.t.Fatalf("login %s: %d %s", username, r.Status, r.Body)
	}
	tok = r.json(e.t)["access_token"].(string)
	e.mu.Lock()
	e.tokens[username] = tok
	e.mu.Unlock()
	return tok
}

// freshLogin signs in anew (a new session), without caching.
func (e *env) freshLogin(username string) map[string]any {
	e.t.Helper()
	r := e.do(req{method: "POST", path: "/v1/auth/login", body: map[string]string{"username": username, "password": fixtures.DemoPassword}})
	if r.Status != 200 {
		e.t.Fatalf("login %s: %d %s", username, r.Status, r.Body)
	}
	return r.json(e.t)
}

func (e *env) ward(d *fixtures.Data, code string) uuid.UUID { return d.ID("ward", code) }

// residentsOf returns the ids of the admitted residents of a ward.
func (e *env) residentsOf(d *fixtures.Data, ward string) []uuid.UUID {
	e.t.Helper()
	rows, err := e.db.Pool.Query(context.Background(),
		"SELECT id FROM residents WHERE facility_id = $1 AND ward_id = $2 AND status = 'admitted' ORDER BY id",
		d.FacilityID(), e.ward(d, ward))
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// auditCount counts audit events matching action/outcome for a resident.
func (e *env) auditCount(facility, resident uuid.UUID, action, outcome string) int {
	e.t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events
		WHERE facility_id = $1 AND (resident_id = $2 OR resident_ids @> ARRAY[$2::uuid]) AND action = $3 AND outcome = $4`,
		facility, resident, action, outcome).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}
