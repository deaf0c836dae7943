package mobileapi_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
)

// The first acceptance point: a demo nurse sees only her ward's residents;
// another ward's resident answers 404, and the attempt is audited.
func TestNurseSeesOnlyHerWardsResidents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.login("nurse.a")
	wardA, wardB := e.ward(e.demo, "A"), e.ward(e.demo, "B")

	r := e.do(req{method: "GET", path: "/v1/wards", token: tok})
	wards := r.json(t)["wards"].([]any)
	if r.Status != 200 || len(wards) != 1 || wards[0].(map[string]any)["id"] != wardA.String() {
		t.Fatalf("GET /v1/wards as nurse.a = %d %s; want only ward A", r.Status, r.Body)
	}

	r = e.do(req{method: "GET", path: "/v1/wards/" + wardA.String() + "/residents", token: tok})
	if r.Status != 200 {
		t.Fatalf("ward A residents: %d %s", r.Status, r.Body)
	}
	listed := r.json(t)["residents"].([]any)
	want := e.residentsOf(e.demo, "A")
	if len(listed) != len(want) || len(want) < 20 {
		t.Fatalf("ward A lists %d residents, want %d", len(listed), len(want))
	}
	for _, x := range listed {
		if x.(map[string]any)["ward_id"] != wardA.String() {
			t.Fatalf("a resident of another ward was listed: %v", x)
		}
	}

	r = e.do(req{method: "GET", path: "/v1/wards/" + wardB.String() + "/residents", token: tok})
	if r.Status != 404 || r.code() != "ward.not_found" {
		t.Fatalf("ward B residents as nurse.a = %d %s; want 404 ward.not_found", r.Status, r.Body)
	}

	other := e.residentsOf(e.demo, "B")[0]
	r = e.do(req{method: "GET", path: "/v1/residents/" + other.String(), token: tok})
	absent := e.do(req{method: "GET", path: "/v1/residents/" + uuid.NewString(), token: tok})
	if r.Status != 404 || absent.Status != 404 || r.code() != absent.code() {
		t.Fatalf("another ward's resident = %d %s, absent resident = %d %s; want identical 404s", r.Status, r.Body, absent.Status, absent.Body)
	}
	if n := e.auditCount(e.demo.FacilityID(), other, "resident.read", "denied"); n != 1 {
		t.Fatalf("denied read audited %d times, want 1", n)
	}
	// Her own resident reads fine and the read is audited.
	own := want[0]
	if r := e.do(req{method: "GET", path: "/v1/residents/" + own.String(), token: tok}); r.Status != 200 {
		t.Fatalf("own resident: %d %s", r.Status, r.Body)
	}
	if n := e.auditCount(e.demo.FacilityID(), own, "resident.read", "success"); n != 1 {
		t.Fatalf("read audited %d times, want 1", n)
	}
	if n := e.auditCount(e.demo.FacilityID(), own, "resident.list", "success"); n != 1 {
		t.Fatalf("ward list audited %d times for the resident, want 1", n)
	}
}

func TestWristbandLookup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.login("nurse.a")
	var own, other string
	ctx := context.Background()
	_ = e.db.Pool.QueryRow(ctx, "SELECT wristband_code FROM residents WHERE ward_id = $1 LIMIT 1", e.ward(e.demo, "A")).Scan(&own)
	_ = e.db.Pool.QueryRow(ctx, "SELECT wristband_code FROM residents WHERE ward_id = $1 LIMIT 1", e.ward(e.demo, "B")).Scan(&other)
	if r := e.do(req{method: "GET", path: "/v1/residents/by-wristband/" + own, token: tok}); r.Status != 200 || r.json(t)["wristband"] != own {
		t.Fatalf("own wristband: %d %s", r.Status, r.Body)
	}
	// Typed in lower case with a dash: still the same resident.
	typed := strings.ToLower(own[:6]) + "-" + own[6:]
	if r := e.do(req{method: "GET", path: "/v1/residents/by-wristband/" + typed, token: tok}); r.Status != 200 {
		t.Fatalf("typed wristband %q: %d %s", typed, r.Status, r.Body)
	}
	// A mistyped code fails its check character: 400, not a lookup.
	bad := own[:5] + string("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[(strings.IndexByte("0123456789ABCDEFGHJKMNPQRSTVWXYZ", own[5])+1)%32]) + own[6:]
	if r := e.do(req{method: "GET", path: "/v1/residents/by-wristband/" + bad, token: tok}); r.Status != 400 || r.code() != "wristband.invalid" {
		t.Fatalf("mistyped wristband: %d %s", r.Status, r.Body)
	}
	// Out of scope and unknown look alike.
	unknown := fixtures.Small("ZZZ", []string{"Q"}, 1).WristbandCode(fixtures.ResidentSeed{Bed: "none"})
	a := e.do(req{method: "GET", path: "/v1/residents/by-wristband/" + other, token: tok})
	b := e.do(req{method: "GET", path: "/v1/residents/by-wristband/" + unknown, token: tok})
	if a.Status != 404 || b.Status != 404 || a.code() != b.code() {
		t.Fatalf("out-of-scope wristband %d %s vs unknown %d %s", a.Status, a.Body, b.Status, b.Body)
	}
}

func TestRefreshTokenReuseRevokesTheFamily(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.freshLogin("nurse.a")
	rt1 := first["refresh_token"].(string)

	r := e.do(req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": rt1}})
	if r.Status != 200 {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	second := r.json(t)
	at2, rt2 := second["access_token"].(string), second["refresh_token"].(string)
	if rt2 == rt1 || at2 == first["access_token"] {
		t.Fatal("refresh must rotate both tokens")
	}
	if r := e.do(req{method: "GET", path: "/v1/me", token: at2}); r.Status != 200 {
		t.Fatalf("new access token: %d", r.Status)
	}
	// An attacker replays the spent token: the whole family dies.
	if r := e.do(req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": rt1}}); r.Status != 401 || r.code() != "auth.refresh_reused" {
		t.Fatalf("reuse: %d %s; want 401 auth.refresh_reused", r.Status, r.Body)
	}
	for name, tok := range map[string]string{"first access token": first["access_token"].(string), "rotated access token": at2} {
		if r := e.do(req{method: "GET", path: "/v1/me", token: tok}); r.Status != 401 {
			t.Fatalf("%s after reuse: %d; want 401", name, r.Status)
		}
	}
	if r := e.do(req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": rt2}}); r.Status != 401 {
		t.Fatalf("rotated refresh token after reuse: %d; want 401", r.Status)
	}
	var n int
	_ = e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE action = 'auth.refresh_reuse'").Scan(&n)
	if n != 1 {
		t.Fatalf("refresh reuse audited %d times, want 1", n)
	}
	// Another sign-in of the same nurse is untouched.
	if r := e.do(req{method: "GET", path: "/v1/me", token: e.login("nurse.a")}); r.Status != 200 {
		t.Fatalf("another session was revoked too: %d", r.Status)
	}
}

func TestConcurrentRefreshSpendsTheTokenOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rt := e.freshLogin("nurse.b")["refresh_token"].(string)
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- e.do(req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": rt}}).Status
		}()
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == 200 {
			ok++
		}
	}
	if ok > 1 {
		t.Fatalf("a refresh token was spent %d times", ok)
	}
}

func TestLockoutAfterRepeatedFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	key := "staff:" + e.demo.ID("staff", "nurse.b").String() + ":password"
	bad := map[string]string{"username": "nurse.b", "password": "wrong-password"}
	for i := 1; i <= 5; i++ {
		r := e.do(req{method: "POST", path: "/v1/auth/login", body: bad})
		if r.Status != 401 || r.code() != "auth.invalid_credentials" {
			t.Fatalf("attempt %d: %d %s", i, r.Status, r.Body)
		}
		if i == 3 {
			// From the third failure on, retrying at once is refused: backoff.
			if r := e.do(req{method: "POST", path: "/v1/auth/login", body: bad}); r.Status != 429 {
				t.Fatalf("immediate retry after 3 failures: %d %s; want 429", r.Status, r.Body)
			}
		}
		if i < 5 {
			// Time passes: the short backoff runs out.
			if _, err := e.db.Pool.Exec(ctx, "UPDATE auth_throttle SET locked_until = NULL WHERE key = $1", key); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Locked now: even the right password is refused, with Retry-After.
	r := e.do(req{method: "POST", path: "/v1/auth/login", body: map[string]string{"username": "nurse.b", "password": fixtures.DemoPassword}})
	if r.Status != 429 || r.code() != "auth.locked" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("right password while locked: %d %s (Retry-After %q); want 429 auth.locked", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); ra < 14*60 || ra > 15*60+1 {
		t.Fatalf("lockout Retry-After %d s; want about 15 minutes", ra)
	}
	var lockouts, failures int
	_ = e.db.Pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE action = 'auth.lockout'), count(*) FILTER (WHERE action = 'auth.login' AND outcome = 'failure') FROM audit_events WHERE actor_id = $1",
		e.demo.ID("staff", "nurse.b")).Scan(&lockouts, &failures)
	if lockouts != 1 || failures < 5 {
		t.Fatalf("audited %d lockouts and %d failures; want 1 and ≥5", lockouts, failures)
	}
	// Other accounts are not affected.
	if r := e.do(req{method: "POST", path: "/v1/auth/login", body: map[string]string{"username": "nurse.a", "password": fixtures.DemoPassword}}); r.Status != 200 {
		t.Fatalf("another account: %d", r.Status)
	}
	// An unknown user name fails exactly like a wrong password.
	u := e.do(req{method: "POST", path: "/v1/auth/login", body: map[string]string{"username": "nobody", "password": "x"}})
	if u.Status != 401 || u.code() != "auth.invalid_credentials" {
		t.Fatalf("unknown user: %d %s", u.Status, u.Body)
	}
}

func TestBadgeSignInIsBoundToTheDevice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cred := e.demo.TabletCredential("A")
	badge := map[string]string{"badge": e.demo.BadgeCode("nurse.a"), "pin": pinOf(e.demo, "nurse.a")}
	dev := map[string]string{"X-Device-Credential": cred}

	if r := e.do(req{method: "POST", path: "/v1/auth/badge", body: badge}); r.Status != 401 || r.code() != "auth.device_required" {
		t.Fatalf("badge without device: %d %s", r.Status, r.Body)
	}
	r := e.do(req{method: "POST", path: "/v1/auth/badge", body: badge, header: dev})
	if r.Status != 200 {
		t.Fatalf("badge sign-in: %d %s", r.Status, r.Body)
	}
	tok := r.json(t)["access_token"].(string)
	if r := e.do(req{method: "GET", path: "/v1/me", token: tok, header: dev}); r.Status != 200 || r.json(t)["device_id"] == nil {
		t.Fatalf("me on the device: %d %s", r.Status, r.Body)
	}
	// The token is useless off the device.
	if r := e.do(req{method: "GET", path: "/v1/me", token: tok}); r.Status != 401 {
		t.Fatalf("device-bound token without the device: %d", r.Status)
	}
	_, otherCred := e.demo.TabletCredential("B")
	if r := e.do(req{method: "GET", path: "/v1/me", token: tok, header: map[string]string{"X-Device-Credential": otherCred}}); r.Status != 401 {
		t.Fatalf("device-bound token on another device: %d", r.Status)
	}
	// A wrong PIN is a failure, counted on the device too.
	wrong := map[string]string{"badge": e.demo.BadgeCode("nurse.a"), "pin": "000000"}
	if r := e.do(req{method: "POST", path: "/v1/auth/badge", body: wrong, header: dev}); r.Status != 401 {
		t.Fatalf("wrong PIN: %d", r.Status)
	}
	// The admin revokes the lost tablet: the very next request fails.
	admin := e.login("admin")
	devID, _ := e.demo.TabletCredential("A")
	if r := e.do(req{method: "POST", path: "/v1/admin/devices/" + devID.String() + "/revoke", token: admin}); r.Status != 204 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "GET", path: "/v1/me", token: tok, header: dev}); r.Status != 401 {
		t.Fatalf("token of a revoked device: %d", r.Status)
	}
	if r := e.do(req{method: "POST", path: "/v1/auth/badge", body: badge, header: dev}); r.Status != 401 {
		t.Fatalf("badge sign-in on a revoked device: %d", r.Status)
	}
}

func pinOf(d *fixtures.Data, username string) string {
	for _, s := range d.Staff {
		if s.Username == username {
			return s.PIN
		}
	}
	return ""
}

func TestLogoutAndDisabledAccountTakeEffectAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.freshLogin("nurse.a")
	tok := s["access_token"].(string)
	if r := e.do(req{method: "POST", path: "/v1/auth/logout", token: tok}); r.Status != 204 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "GET", path: "/v1/me", token: tok}); r.Status != 401 {
		t.Fatalf("after logout: %d", r.Status)
	}
	if r := e.do(req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": s["refresh_token"].(string)}}); r.Status != 401 {
		t.Fatalf("refresh after logout: %d", r.Status)
	}

	tok = e.login("nurse.b")
	admin := e.login("admin")
	id := e.demo.ID("staff", "nurse.b")
	r := e.do(req{method: "PUT", path: "/v1/admin/staff/" + id.String() + "/access", token: admin,
		body: map[string]any{"version": 1, "roles": []string{"nurse"}, "ward_ids": []string{e.ward(e.demo, "B").String()}, "active": false}})
	if r.Status != 200 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "GET", path: "/v1/me", token: tok}); r.Status != 401 {
		t.Fatalf("disabled account's token: %d", r.Status)
	}
	if r := e.do(req{method: "POST", path: "/v1/auth/login", body: map[string]string{"username": "nurse.b", "password": fixtures.DemoPassword}}); r.Status != 401 {
		t.Fatalf("disabled account signs in: %d", r.Status)
	}
	// Stale version: 409, not an overwrite.
	r = e.do(req{method: "PUT", path: "/v1/admin/staff/" + id.String() + "/access", token: admin,
		body: map[string]any{"version": 1, "roles": []string{"nurse"}, "ward_ids": []string{}, "active": true}})
	if r.Status != 409 {
		t.Fatalf("stale staff update: %d %s", r.Status, r.Body)
	}
}

func TestConcurrentEditsConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.residentsOf(e.demo, "A")[0]
	path := "/v1/residents/" + id.String()
	var wg sync.WaitGroup
	results := make(chan response, 2)
	for i, user := range []string{"nurse.a", "lead.a"} {
		tok := e.login(user)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results <- e.do(req{method: "PATCH", path: path, token: tok,
				body: map[string]any{"version": 1, "gp": map[string]string{"name": fmt.Sprintf("Dott. Nuovo %d", i)}}})
		}(i)
	}
	wg.Wait()
	close(results)
	var ok, conflict int
	for r := range results {
		switch r.Status {
		case 200:
			ok++
		case 409:
			conflict++
			if r.code() != "version_conflict" {
				t.Errorf("conflict code %q", r.code())
			}
		default:
			t.Errorf("unexpected %d %s", r.Status, r.Body)
		}
	}
	if ok != 1 || conflict != 1 {
		t.Fatalf("two edits of version 1: %d succeeded, %d conflicted; want 1 and 1", ok, conflict)
	}
	// The history keeps version 1.
	r := e.do(req{method: "GET", path: path + "/history", token: e.login("nurse.a")})
	vs := r.json(t)["versions"].([]any)
	if r.Status != 200 || len(vs) != 1 || vs[0].(map[string]any)["version"].(float64) != 1 {
		t.Fatalf("history: %d %s", r.Status, r.Body)
	}
}

func TestBreakTheGlass(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.login("nurse.a")
	other := e.residentsOf(e.demo, "C")[0]
	path := "/v1/residents/" + other.String()
	if r := e.do(req{method: "GET", path: path, token: tok}); r.Status != 404 {
		t.Fatalf("before break-glass: %d", r.Status)
	}
	if r := e.do(req{method: "POST", path: path + "/break-glass", token: tok, body: map[string]string{"reason": "x"}}); r.Status != 400 {
		t.Fatalf("break-glass without a real reason: %d %s", r.Status, r.Body)
	}
	reason := "Caduta notturna, infermiere del nucleo C assente"
	if r := e.do(req{method: "POST", path: path + "/break-glass", token: tok, body: map[string]string{"reason": reason}}); r.Status != 201 {
		t.Fatalf("break-glass: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "GET", path: path, token: tok}); r.Status != 200 {
		t.Fatalf("after break-glass: %d %s", r.Status, r.Body)
	}
	var flagged int
	_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE resident_id = $1
		AND action = 'resident.read' AND outcome = 'success' AND break_glass = $2`, other, reason).Scan(&flagged)
	if flagged != 1 {
		t.Fatalf("break-glass read flagged %d times, want 1", flagged)
	}
	// An OSS cannot break the glass; her attempt looks like a missing resident.
	if r := e.do(req{method: "POST", path: path + "/break-glass", token: e.login("oss.a"), body: map[string]string{"reason": reason}}); r.Status != 404 {
		t.Fatalf("OSS break-glass: %d", r.Status)
	}
	// Another facility's resident cannot be opened at all.
	alt := e.residentsOf(e.alt, "X")[0]
	if r := e.do(req{method: "POST", path: "/v1/residents/" + alt.String() + "/break-glass", token: tok, body: map[string]string{"reason": reason}}); r.Status != 404 {
		t.Fatalf("cross-facility break-glass: %d", r.Status)
	}
}

func TestAuditorReadsWhoAccessedAResident(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.residentsOf(e.demo, "A")[1]
	e.do(req{method: "GET", path: "/v1/residents/" + id.String(), token: e.login("nurse.a")})
	e.do(req{method: "GET", path: "/v1/residents/" + id.String(), token: e.login("nurse.b")}) // denied
	aud := e.login("auditor")
	r := e.do(req{method: "GET", path: "/v1/audit?resident_id=" + id.String(), token: aud})
	if r.Status != 200 {
		t.Fatalf("audit list: %d %s", r.Status, r.Body)
	}
	evs := r.json(t)["events"].([]any)
	seen := map[string]string{}
	for _, x := range evs {
		m := x.(map[string]any)
		if m["resident_id"] != id.String() {
			t.Fatalf("event of another resident listed: %v", m)
		}
		seen[m["actor_id"].(string)] = m["outcome"].(string)
	}
	if seen[e.demo.ID("staff", "nurse.a").String()] != "success" || seen[e.demo.ID("staff", "nurse.b").String()] != "denied" {
		t.Fatalf("audit does not show nurse.a's read and nurse.b's denied attempt: %s", r.Body)
	}
	// The auditor reads nothing clinical.
	if r := e.do(req{method: "GET", path: "/v1/residents/" + id.String(), token: aud}); r.Status != 404 {
		t.Fatalf("auditor reads a resident: %d", r.Status)
	}
	// A nurse cannot read the audit trail.
	if r := e.do(req{method: "GET", path: "/v1/audit?resident_id=" + id.String(), token: e.login("nurse.a")}); r.Status != 403 {
		t.Fatalf("nurse reads audit: %d", r.Status)
	}
	rep := e.do(req{method: "GET", path: "/v1/audit/access-report?resident_id=" + id.String() + "&from=2020-01-01&to=2100-01-01", token: aud})
	if rep.Status != 200 || len(rep.json(t)["events"].([]any)) < 2 {
		t.Fatalf("access report: %d %s", rep.Status, rep.Body)
	}
	v := e.do(req{method: "GET", path: "/v1/audit/verify", token: aud})
	if v.Status != 200 || v.json(t)["ok"] != true {
		t.Fatalf("verify: %d %s", v.Status, v.Body)
	}
}

func TestBadInputIsAClearProblem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.login("nurse.a")
	id := e.residentsOf(e.demo, "A")[0].String()
	cases := []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"no token", req{method: "GET", path: "/v1/me"}, 401, "auth.unauthorized"},
		{"garbage token", req{method: "GET", path: "/v1/me", token: "cat_nope"}, 401, "auth.unauthorized"},
		{"unknown route", req{method: "GET", path: "/v1/nope", token: tok}, 404, "route.not_found"},
		{"malformed id", req{method: "GET", path: "/v1/residents/not-a-uuid", token: tok}, 404, "resident.not_found"},
		{"unknown field", req{method: "PATCH", path: "/v1/residents/" + id, token: tok, body: `{"version":1,"nmae":"x"}`}, 400, "request.invalid_json"},
		{"broken json", req{method: "PATCH", path: "/v1/residents/" + id, token: tok, body: `{"version":`}, 400, "request.invalid_json"},
		{"wrong type", req{method: "PATCH", path: "/v1/residents/" + id, token: tok, body: `{"version":"one"}`}, 400, "request.invalid_json"},
		{"no version", req{method: "PATCH", path: "/v1/residents/" + id, token: tok, body: `{}`}, 400, "request.version_required"},
		{"bad fiscal code", req{method: "PATCH", path: "/v1/residents/" + id, token: tok, body: `{"version":1,"codice_fiscale":"RSSMRA80A01H501V"}`}, 400, "resident.fiscal_code_invalid"},
		{"gzip body", req{method: "POST", path: "/v1/auth/login", body: `{}`, header: map[string]string{"Content-Encoding": "gzip"}}, 415, "request.encoding_not_allowed"},
		{"form body", req{method: "POST", path: "/v1/auth/login", body: `{}`, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "request.unsupported_media_type"},
		{"bad audit query", req{method: "GET", path: "/v1/audit?resident_id=x", token: e.login("auditor")}, 400, "request.invalid_query"},
	}
	for _, c := range cases {
		r := e.do(c.r)
		if r.Status != c.status || r.code() != c.code {
			t.Errorf("%s: %d %s; want %d %s", c.name, r.Status, r.Body, c.status, c.code)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: content type %q", c.name, ct)
		}
		if r.json(t)["request_id"] == "" || r.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no request id", c.name)
		}
	}
	// Messages follow Accept-Language.
	it := e.do(req{method: "GET", path: "/v1/residents/" + uuid.NewString(), token: tok, header: map[string]string{"Accept-Language": "it-IT,it;q=0.9"}})
	en := e.do(req{method: "GET", path: "/v1/residents/" + uuid.NewString(), token: tok, header: map[string]string{"Accept-Language": "en-GB,en;q=0.8"}})
	if it.json(t)["title"] != "Ospite non trovato" || en.json(t)["title"] != "Resident not found" {
		t.Fatalf("titles: it %q en %q", it.json(t)["title"], en.json(t)["title"])
	}
	// A body over the limit is refused before it is read whole (fasthttp
	// closes the connection; a real client sees 413).
	big := `{"username":"` + strings.Repeat("a", 2<<20) + `","password":"x"}`
	hr := httptest.NewRequest("POST", "/v1/auth/login", strings.NewReader(big))
	hr.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.App().Test(hr, -1)
	if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %v %v; want 413", resp, err)
	}
	// Chunked, without a Content-Length, over a real connection: refused
	// once it passes the limit.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.srv.App().Listener(ln) }()
	t.Cleanup(func() { _ = e.srv.App().Shutdown() })
	creq, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/auth/login", io.MultiReader(strings.NewReader(big)))
	creq.Header.Set("Content-Type", "application/json")
	creq.ContentLength = -1
	cresp, err := http.DefaultClient.Do(creq)
	switch {
	case err != nil && (strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "broken pipe")):
		// The server answered 413 and closed while the client was still
		// sending: refused all the same.
	case err != nil || cresp.StatusCode != http.StatusRequestEntityTooLarge:
		t.Fatalf("oversized chunked body: %v %v; want 413", cresp, err)
	default:
		cresp.Body.Close()
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []string{"/healthz", "/readyz", "/openapi.yaml", "/metrics"} {
		if r := e.do(req{method: "GET", path: p}); r.Status != 200 {
			t.Errorf("%s: %d %s", p, r.Status, r.Body)
		}
	}
	e.do(req{method: "GET", path: "/v1/wards", token: e.login("nurse.a")})
	m := e.do(req{method: "GET", path: "/metrics"})
	if !strings.Contains(string(m.Body), `corsia_http_requests_total{method="GET",route="/v1/wards",status="200"}`) {
		t.Fatalf("metrics lack the per-route counter:\n%.2000s", m.Body)
	}
	if r := e.do(req{method: "GET", path: "/healthz"}); r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("security headers missing")
	}
}

// Parallel sign-ins of one account never answer 404: the throttle row is
// created or locked in one statement (a successful sign-in deleting it in
// between once turned correct passwords into "not found").
func TestParallelSignInsOfOneAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for round := 0; round < 4; round++ {
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := range statuses {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				statuses[i] = e.do(req{method: "POST", path: "/v1/auth/login",
					body: map[string]string{"username": "alt.nurse.y", "password": "corsia-demo"}}).Status
			}(i)
		}
		wg.Wait()
		for _, s := range statuses {
			if s != 200 && s != 429 {
				t.Fatalf("round %d: statuses %v", round, statuses)
			}
		}
	}
}
