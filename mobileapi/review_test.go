package mobileapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"image"
	"image/png"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/corsia-cce/corsia/fixtures"
	"github.com/corsia-cce/corsia/mobileapi"
)

// Parallel guesses are counted before the secret is checked: a burst cannot
// slip dozens of guesses past the lockout.
func TestParallelGuessesAreCountedBeforeChecking(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	checked := 0
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do(req{method: "POST", path: "/v1/auth/login", body: map[string]string{"username": "nurse.b", "password": "guess"}})
			if r.Status == 401 {
				mu.Lock()
				checked++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if checked > 3 {
		t.Fatalf("%d of 30 parallel guesses were checked; the backoff allows 3", checked)
	}
}

// Failed passwords from outside do not lock a nurse out of the ward tablet.
func TestPasswordLockoutDoesNotBlockBadgeOnTheTablet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO auth_throttle (key, failures, locked_until) VALUES ($1, 9, now() + interval '1 hour')`,
		"staff:"+e.demo.ID("staff", "nurse.a").String()+":password"); err != nil {
		t.Fatal(err)
	}
	if r := e.do(req{method: "POST", path: "/v1/auth/login", body: map[string]string{"username": "nurse.a", "password": fixtures.DemoPassword}}); r.Status != 429 {
		t.Fatalf("password sign-in while locked: %d", r.Status)
	}
	_, cred := e.demo.TabletCredential("A")
	r := e.do(req{method: "POST", path: "/v1/auth/badge", header: map[string]string{"X-Device-Credential": cred},
		body: map[string]string{"badge": e.demo.BadgeCode("nurse.a"), "pin": pinOf(e.demo, "nurse.a")}})
	if r.Status != 200 {
		t.Fatalf("badge sign-in on the tablet: %d %s", r.Status, r.Body)
	}
}

// A badge sign-in takes the tablet over: the previous nurse's session ends.
func TestBadgeSignInTakesTheTabletOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cred := e.demo.TabletCredential("A")
	dev := map[string]string{"X-Device-Credential": cred}
	first := e.do(req{method: "POST", path: "/v1/auth/badge", header: dev,
		body: map[string]string{"badge": e.demo.BadgeCode("nurse.a"), "pin": pinOf(e.demo, "nurse.a")}})
	second := e.do(req{method: "POST", path: "/v1/auth/badge", header: dev,
		body: map[string]string{"badge": e.demo.BadgeCode("lead.a"), "pin": pinOf(e.demo, "lead.a")}})
	if first.Status != 200 || second.Status != 200 {
		t.Fatalf("badge sign-ins: %d %d", first.Status, second.Status)
	}
	if r := e.do(req{method: "GET", path: "/v1/me", header: dev, token: first.json(t)["access_token"].(string)}); r.Status != 401 {
		t.Fatalf("the previous nurse's token on a taken-over tablet: %d", r.Status)
	}
	if r := e.do(req{method: "GET", path: "/v1/me", header: dev, token: second.json(t)["access_token"].(string)}); r.Status != 200 {
		t.Fatalf("the new nurse's token: %d", r.Status)
	}
}

// Care ends with the stay: a discharged resident leaves her ward's scope;
// the ward lead still reads her record, and nobody edits it.
func TestDischargeEndsWardScopedAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.residentsOf(e.demo, "A")[2].String()
	lead := e.login("lead.a")
	r := e.do(req{method: "POST", path: "/v1/residents/" + id + "/discharge", token: lead,
		body: map[string]any{"version": 1, "reason": "rientro al domicilio"}})
	if r.Status != 200 || r.json(t)["status"] != "discharged" || r.json(t)["bed_id"] != nil {
		t.Fatalf("discharge: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "GET", path: "/v1/residents/" + id, token: e.login("nurse.a")}); r.Status != 404 {
		t.Fatalf("ward nurse reads a discharged resident: %d", r.Status)
	}
	if r := e.do(req{method: "GET", path: "/v1/residents/" + id, token: lead}); r.Status != 200 {
		t.Fatalf("ward lead reads a discharged resident: %d", r.Status)
	}
	if r := e.do(req{method: "PATCH", path: "/v1/residents/" + id, token: lead, body: map[string]any{"version": 2, "birth_place": "Lodi"}}); r.Status != 403 {
		t.Fatalf("edit of a discharged resident: %d", r.Status)
	}
}

func TestAdminCannotChangeOwnAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.login("admin")
	id := e.demo.ID("staff", "admin").String()
	r := e.do(req{method: "PUT", path: "/v1/admin/staff/" + id + "/access", token: admin, body: map[string]any{
		"version": 1, "roles": []string{"admin", "ward_lead"}, "ward_ids": []string{e.ward(e.demo, "A").String()}, "active": true}})
	if r.Status != 403 || r.code() != "staff.self_change" {
		t.Fatalf("self-grant: %d %s", r.Status, r.Body)
	}
	// A change by an admin to someone else is logged with its author.
	other := e.demo.ID("staff", "oss.a")
	r = e.do(req{method: "PUT", path: "/v1/admin/staff/" + other.String() + "/access", token: admin, body: map[string]any{
		"version": 1, "roles": []string{"oss"}, "ward_ids": []string{e.ward(e.demo, "B").String()}, "active": true}})
	if r.Status != 200 {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	var n int
	_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM staff_access_log WHERE staff_id = $1 AND changed_by = $2
		AND ward_ids = ARRAY[$3::uuid]`, other, e.demo.ID("staff", "admin"), e.ward(e.demo, "B")).Scan(&n)
	if n != 1 {
		t.Fatalf("access change logged %d times with its author, want 1", n)
	}
}

func TestHostileBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lead := e.login("lead.a")
	id := e.residentsOf(e.demo, "A")[3].String()
	// A NUL byte or an out-of-range number is the client's fault: 400.
	for _, b := range []string{`{"version":1,"birth_place":"Lo\u0000di"}`} {
		if r := e.do(req{method: "PATCH", path: "/v1/residents/" + id, token: lead, body: b}); r.Status != 400 {
			t.Errorf("PATCH %s: %d %s", b, r.Status, r.Body)
		}
	}
	if r := e.do(req{method: "POST", path: "/v1/auth/login", body: `{"username":"nurse\u0000","password":"x"}`}); r.Status >= 500 {
		t.Errorf("NUL in username: %d", r.Status)
	}
	if r := e.do(req{method: "PUT", path: "/v1/admin/staff/" + e.demo.ID("staff", "oss.a").String() + "/access", token: e.login("admin"),
		body: `{"version":3000000000,"roles":["oss"],"ward_ids":[],"active":true}`}); r.Status != 400 {
		t.Errorf("huge version: %d %s", r.Status, r.Body)
	}
	// Two Content-Encoding headers, "identity" first: still refused.
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write([]byte(`{"username":"nurse.a","password":"corsia-demo"}`))
	_ = w.Close()
	hr := httptest.NewRequest("POST", "/v1/auth/login", bytes.NewReader(gz.Bytes()))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Add("Content-Encoding", "identity")
	hr.Header.Add("Content-Encoding", "gzip")
	resp, err := e.srv.App().Test(hr, -1)
	if err != nil || resp.StatusCode != 415 {
		t.Fatalf("identity+gzip body: %v %v; want 415", resp.StatusCode, err)
	}
	// A photo above 4 megapixels is refused from its header alone.
	var big bytes.Buffer
	_ = png.Encode(&big, image.NewGray(image.Rect(0, 0, 3000, 3000)))
	r := e.do(req{method: "PUT", path: "/v1/residents/" + id + "/photo", token: lead, body: rawBody{"image/png", big.Bytes()}})
	if r.Status != 400 || r.code() != "photo.invalid" {
		t.Fatalf("9-megapixel photo: %d %s", r.Status, r.Body)
	}
	r = e.do(req{method: "PUT", path: "/v1/residents/" + id + "/photo", token: lead, body: rawBody{"image/png", []byte("not a png")}})
	if r.Status != 400 {
		t.Fatalf("non-image photo: %d", r.Status)
	}
	if r := e.do(req{method: "PUT", path: "/v1/residents/" + id + "/photo", token: lead, body: rawBody{"image/png; charset=binary", tinyPNG()}}); r.Status != 204 {
		t.Fatalf("photo with media-type parameters: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "GET", path: "/v1/residents/" + id + "/photo", token: lead}); r.Status != 200 || !bytes.Equal(r.Body, tinyPNG()) {
		t.Fatalf("photo read back: %d", r.Status)
	}
}

// Behind a trusted proxy the client is the rightmost hop the proxy added,
// not whatever the client wrote at the left of X-Forwarded-For.
func TestTrustedProxyAddresses(t *testing.T) {
	t.Parallel()
	// app.Test connects from 0.0.0.0: make that the trusted proxy.
	e := newEnv(t, func(c *mobileapi.Config) { c.TrustedProxies = []string{"0.0.0.0/32", "10.0.0.0/8"} })
	r := e.do(req{method: "POST", path: "/v1/auth/login", header: map[string]string{"X-Forwarded-For": "6.6.6.6, 192.0.2.7, 10.1.2.3"},
		body: map[string]string{"username": "nurse.a", "password": fixtures.DemoPassword}})
	if r.Status != 200 {
		t.Fatalf("login: %d", r.Status)
	}
	var ip string
	_ = e.db.Pool.QueryRow(context.Background(), `SELECT ip FROM audit_events WHERE action = 'auth.login' AND actor_id = $1`,
		e.demo.ID("staff", "nurse.a")).Scan(&ip)
	if ip != "192.0.2.7" {
		t.Fatalf("audited client address %q, want 192.0.2.7", ip)
	}
}
