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

// Bedside events reach the right person through the same notifications: a
// dose given without a scan reaches the ward lead, the third refusal of a
// drug in a week the physician, a PRN dose's due effectiveness check the
// nurse who gave it.
func TestBedsideEventsReachTheRightPeople(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	nurse := e.login("alt.nurse.x")
	kinds := func(user string, resident string) map[string]int {
		out := map[string]int{}
		for _, x := range e.do(req{method: "GET", path: "/v1/notifications", token: e.login(user)}).json(t)["notifications"].([]any) {
			n := x.(map[string]any)
			if n["resident_id"] == resident {
				out[n["kind"].(string)]++
			}
		}
		return out
	}
	res, _ := e.therapyResident(false)
	e.prescribe(res, everyHoursFromNow(aicTachipirina500, e, 1))
	mar := e.marDoses(nurse, res)
	if r := e.record(nurse, uuid.NewString(), map[string]any{"dose_id": mar[0]["dose_id"], "outcome": "given", "unable_to_scan": "wristband_damaged"}); r.Status != 201 {
		t.Fatalf("keyed: %d %s", r.Status, r.Body)
	}
	for i := 1; i <= 3; i++ {
		if r := e.record(nurse, uuid.NewString(), map[string]any{"dose_id": mar[i]["dose_id"], "outcome": "refused", "reason": "rifiuta"}); r.Status != 201 {
			t.Fatalf("refusal %d: %d %s", i, r.Status, r.Body)
		}
	}
	if k := kinds("alt.lead.x", res.String()); k["unable_to_scan"] != 1 {
		t.Fatalf("lead: %v", k)
	}
	if k := kinds("alt.doctor", res.String()); k["repeated_refusal"] != 1 {
		t.Fatalf("doctor: %v", k)
	}
	// PRN: the check falls due 30 minutes after the dose.
	p := e.prescribe(res, map[string]any{"product_id": e.nationalProduct(aicLorazepam1), "dose": "1", "dose_unit": "tablet",
		"route": "oral", "schedule": map[string]any{"kind": "prn"},
		"prn": map[string]any{"indication": "agitazione", "min_interval_min": 60, "max_per_24h": 2, "check_after_min": 30}})
	if r := e.record(nurse, uuid.NewString(), map[string]any{"prescription_id": p["id"], "outcome": "given", "barcode": code32(t, aicLorazepam1)}); r.Status != 201 {
		t.Fatalf("prn: %d %s", r.Status, r.Body)
	}
	store := postgres.NotifyStore{DB: e.db}
	if _, err := store.Detect(ctx, time.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if k := kinds("alt.nurse.x", res.String()); k["prn_check_due"] != 0 {
		t.Fatalf("check reminded early: %v", k)
	}
	if _, err := store.Detect(ctx, time.Now().Add(31*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if k := kinds("alt.nurse.x", res.String()); k["prn_check_due"] != 1 {
		t.Fatalf("nurse: %v", k)
	}
}
