package mobileapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/google/uuid"
)

// The demo always has a few late doses: after a detector pass the first
// ward's lead finds late-dose alerts, newest first, and acknowledges one.
func TestDemoLeadSeesLateDoseAlerts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.db.NewServices(postgresConfig()).Therapy.RollForward(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := (postgres.NotifyStore{DB: e.db}).Detect(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	lead := e.login("lead.a")
	r := e.do(req{method: "GET", path: "/v1/notifications", token: lead})
	if r.Status != 200 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	ns := r.json(t)["notifications"].([]any)
	if len(ns) == 0 {
		t.Fatal("no late-dose alert for lead.a")
	}
	first := ns[0].(map[string]any)
	if first["kind"] != "dose_late" || first["state"] != "open" || first["dose_id"] == nil || first["resident_id"] == nil {
		t.Fatalf("notification: %v", first)
	}
	var prev time.Time
	for i, x := range ns {
		c, _ := time.Parse(time.RFC3339Nano, x.(map[string]any)["created_at"].(string))
		if i > 0 && c.After(prev) {
			t.Fatal("not newest first")
		}
		prev = c
	}
	id := first["id"].(string)
	a := e.do(req{method: "POST", path: "/v1/notifications/" + id + "/ack", token: lead})
	if a.Status != 200 || a.json(t)["state"] != "acknowledged" {
		t.Fatalf("ack: %d %s", a.Status, a.Body)
	}
	// Another user cannot acknowledge (or learn of) it.
	if r := e.do(req{method: "POST", path: "/v1/notifications/" + id + "/ack", token: e.login("nurse.a")}); r.Status != 404 {
		t.Fatalf("someone else's ack: %d %s", r.Status, r.Body)
	}
	for _, x := range e.do(req{method: "GET", path: "/v1/notifications", token: lead}).json(t)["notifications"].([]any) {
		if x.(map[string]any)["id"] == id && x.(map[string]any)["state"] != "acknowledged" {
			t.Fatalf("after ack: %v", x)
		}
	}
	// Push registration for this sign-in.
	if r := e.do(req{method: "POST", path: "/v1/push-registrations", token: lead,
		body: map[string]any{"token": "fcm-" + uuid.NewString(), "platform": "android", "app_version": "1.2.0"}}); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "POST", path: "/v1/push-registrations", token: lead,
		body: map[string]any{"token": "short", "platform": "android"}}); r.Status != 400 {
		t.Fatalf("bad token: %d %s", r.Status, r.Body)
	}
}
