package mobileapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Incidents, end to end through the API.

// incidentOwn/incidentOther: recording incidents (care: nurses, OSS and
// ward leads on their own wards).
var (
	incidentOwn   = expect{"nurse": 200, "oss": 200, "lead": 200, "therapist": 403, "doctor": 403, "director": 403, "*": 404}
	incidentOther = expect{"lead": 403, "doctor": 403, "director": 403, "*": 404}
)

// mxIncident records, straight into the database as a nurse of tg's ward,
// a fall an hour ago, and returns its id.
func (e *env) mxIncident(tg target) uuid.UUID {
	e.t.Helper()
	id := uuid.New()
	nurse := e.mxStaff(tg, "nurse", true)
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO incidents (facility_id, id, resident_id, kind, occurred_at,
			details, recorded_by)
		VALUES ($1, $2, $3, 'fall', now() - interval '1 hour', '{"place":"camera","circumstances":"scivolata","witnessed":false,
			"injury":"none","morse":null,"conley":null,"actions":""}', $4)`, tg.facility, id, tg.resident, nurse); err != nil {
		e.t.Fatalf("incident: %v", err)
	}
	return id
}

func fallBody() map[string]any {
	return map[string]any{"kind": "fall", "fall": map[string]any{"place": "bagno", "circumstances": "scivolata dal WC",
		"witnessed": false, "injury": "minor", "morse": 55, "conley": 4, "actions": "medicazione, medico avvisato"}}
}

func (e *env) postIncident(token string, resident uuid.UUID, key string, body any) response {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/v1/residents/" + resident.String() + "/incidents", token: token,
		header: map[string]string{"Idempotency-Key": key}, body: body})
}

func TestIncidentValidationPerKind(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	nurse := e.login("alt.nurse.x")
	pi := func(m map[string]any) map[string]any {
		d := map[string]any{"site": "sacrum", "stage": "2", "length_cm": "3.5", "width_cm": 2, "depth_cm": "0.2"}
		for k, v := range m {
			d[k] = v
		}
		return map[string]any{"kind": "pressure_injury", "pressure_injury": d}
	}
	fall := func(m map[string]any) map[string]any {
		b := fallBody()
		for k, v := range m {
			b["fall"].(map[string]any)[k] = v
		}
		return b
	}
	for _, c := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"unknown kind", map[string]any{"kind": "burn", "other": map[string]any{"category": "x", "description": "y"}}, 400, "incident.unknown_kind"},
		{"fall without details", map[string]any{"kind": "fall"}, 400, "incident.details_required"},
		{"fall with other's details", map[string]any{"kind": "fall", "fall": fallBody()["fall"],
			"other": map[string]any{"category": "x", "description": "y"}}, 400, "incident.details_required"},
		{"fall without place", fall(map[string]any{"place": " "}), 400, "incident.place_required"},
		{"fall without circumstances", fall(map[string]any{"circumstances": ""}), 400, "incident.circumstances_required"},
		{"fall injury", fall(map[string]any{"injury": "bad"}), 400, "incident.invalid_injury"},
		{"morse", fall(map[string]any{"morse": 130}), 400, "incident.invalid_score"},
		{"conley", fall(map[string]any{"conley": 11}), 400, "incident.invalid_score"},
		{"future", map[string]any{"kind": "fall", "occurred_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			"fall": fallBody()["fall"]}, 400, "incident.occurred_in_future"},
		{"site", pi(map[string]any{"site": "knee"}), 400, "incident.invalid_site"},
		{"site other", pi(map[string]any{"site": "other"}), 400, "incident.site_other_required"},
		{"stage", pi(map[string]any{"stage": "5"}), 400, "incident.invalid_stage"},
		{"size", pi(map[string]any{"length_cm": "0"}), 400, "incident.invalid_size"},
		{"size precision", pi(map[string]any{"width_cm": "1.25"}), 400, "incident.invalid_size"},
		{"other category", map[string]any{"kind": "other", "other": map[string]any{"category": "", "description": "y"}}, 400, "incident.category_required"},
		{"other description", map[string]any{"kind": "other", "other": map[string]any{"category": "x"}}, 400, "incident.description_required"},
		{"follow-up of nothing", map[string]any{"kind": "fall", "follow_up_of": uuid.NewString(), "fall": fallBody()["fall"]}, 422, "incident.invalid_follow_up"},
		{"fall ok", fallBody(), 201, ""},
		{"pressure injury ok", pi(map[string]any{"stage": "deep_tissue", "device_related": true}), 201, ""},
		{"unstageable other site", pi(map[string]any{"site": "other", "site_other": "orecchio", "stage": "unstageable",
			"depth_cm": nil}), 201, ""},
		{"other ok", map[string]any{"kind": "other", "notes": "nota", "other": map[string]any{"category": "allontanamento",
			"description": "trovata all'ingresso"}}, 201, ""},
	} {
		r := e.postIncident(nurse, res, uuid.NewString(), c.body)
		if r.Status != c.status || (c.code != "" && r.code() != c.code) {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
	}
	list := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/incidents", token: nurse}).json(t)["incidents"].([]any)
	if len(list) != 4 {
		t.Fatalf("listed %d incidents", len(list))
	}
	var pid string
	for _, x := range list {
		m := x.(map[string]any)
		if m["kind"] == "pressure_injury" && m["pressure_injury"].(map[string]any)["site"] == "sacrum" {
			pid = m["id"].(string)
			if got := m["pressure_injury"].(map[string]any)["length_cm"]; got != "3.5" {
				t.Errorf("length_cm %v", got)
			}
		}
	}
	// A reassessment: a new incident linked to the first.
	r := e.postIncident(nurse, res, uuid.NewString(), map[string]any{"kind": "pressure_injury", "follow_up_of": pid,
		"pressure_injury": map[string]any{"site": "sacrum", "stage": "3", "length_cm": "4"}})
	if r.Status != 201 || r.json(t)["follow_up_of"] != pid {
		t.Fatalf("follow-up: %d %s", r.Status, r.Body)
	}
	// A follow-up of another kind is refused.
	r = e.postIncident(nurse, res, uuid.NewString(), map[string]any{"kind": "fall", "follow_up_of": pid, "fall": fallBody()["fall"]})
	if r.Status != 422 || r.code() != "incident.invalid_follow_up" {
		t.Fatalf("follow-up of another kind: %d %s", r.Status, r.Body)
	}
}

// An incident notifies the ward lead in the same transaction; a retry
// answers the first answer and notifies nobody again.
func TestIncidentNotifiesLeadOnceUnderRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	oss := e.login("alt.oss.x")
	key := uuid.NewString()
	first := e.postIncident(oss, res, key, fallBody())
	if first.Status != 201 {
		t.Fatalf("record: %d %s", first.Status, first.Body)
	}
	again := e.postIncident(oss, res, key, fallBody())
	if again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" || again.json(t)["id"] != first.json(t)["id"] {
		t.Fatalf("replay: %d %s %v", again.Status, again.Body, again.Header)
	}
	other := fallBody()
	other["notes"] = "altro"
	if r := e.postIncident(oss, res, key, other); r.Status != 422 || r.code() != "idempotency.key_reused" {
		t.Fatalf("key reused: %d %s", r.Status, r.Body)
	}
	var n int
	for _, x := range e.do(req{method: "GET", path: "/v1/notifications", token: e.login("alt.lead.x")}).json(t)["notifications"].([]any) {
		m := x.(map[string]any)
		if m["kind"] == "incident" && m["resident_id"] == res.String() {
			n++
			if m["title"] != "Evento avverso" {
				t.Errorf("title %v", m["title"])
			}
		}
	}
	if n != 1 {
		t.Fatalf("lead notified %d times", n)
	}
	var outbox int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox o JOIN notifications n
		ON n.facility_id = o.facility_id AND n.id = o.notification_id WHERE n.kind = 'incident'
		AND n.alert_id IN (SELECT id FROM alerts WHERE resident_id = $1)`, res).Scan(&outbox); err != nil || outbox != 1 {
		t.Fatalf("outbox rows %d (%v)", outbox, err)
	}
	// The nurse who is not a lead is not notified.
	for _, x := range e.do(req{method: "GET", path: "/v1/notifications", token: e.login("alt.nurse.x")}).json(t)["notifications"].([]any) {
		if x.(map[string]any)["kind"] == "incident" {
			t.Fatal("the nurse was notified")
		}
	}
}

func TestIncidentEnteredInErrorAndWardList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	nurse := e.login("alt.nurse.x")
	r := e.postIncident(nurse, res, uuid.NewString(), fallBody())
	if r.Status != 201 {
		t.Fatalf("record: %d %s", r.Status, r.Body)
	}
	id := r.json(t)["id"].(string)
	path := "/v1/incidents/" + id + "/entered-in-error"
	if r := e.do(req{method: "POST", path: path, token: nurse, body: map[string]any{"reason": "no"}}); r.Status != 400 {
		t.Fatalf("short reason: %d", r.Status)
	}
	r = e.do(req{method: "POST", path: path, token: nurse, body: map[string]any{"reason": "ospite sbagliato"}})
	if r.Status != 200 || r.json(t)["entered_in_error"] == nil {
		t.Fatalf("entered in error: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "POST", path: path, token: nurse, body: map[string]any{"reason": "ospite sbagliato"}}); r.Status != 409 {
		t.Fatalf("twice: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "POST", path: "/v1/incidents/" + uuid.NewString() + "/entered-in-error", token: nurse,
		body: map[string]any{"reason": "ospite sbagliato"}}); r.Status != 404 || r.code() != "incident.not_found" {
		t.Fatalf("absent: %d %s", r.Status, r.Body)
	}
	ward := e.alt.ID("ward", "X").String()
	w := e.do(req{method: "GET", path: "/v1/wards/" + ward + "/incidents", token: e.login("alt.lead.x")})
	found := false
	for _, x := range w.json(t)["incidents"].([]any) {
		found = found || x.(map[string]any)["id"] == id
	}
	if w.Status != 200 || !found {
		t.Fatalf("ward list: %d %s", w.Status, w.Body)
	}
	if r := e.do(req{method: "GET", path: "/v1/wards/" + ward + "/incidents?from=2026-01-02&to=2026-01-01", token: nurse}); r.Status != 400 {
		t.Fatalf("bad period: %d", r.Status)
	}
	if r := e.do(req{method: "GET", path: "/v1/wards/" + e.alt.ID("ward", "Y").String() + "/incidents", token: nurse}); r.Status != 404 {
		t.Fatalf("other ward: %d", r.Status)
	}
}

// An incident entered in error resolves its alert in the same
// transaction: the leads' notifications show it resolved (one already
// acknowledged keeps showing acknowledged, with its resolved_at), it never
// escalates, and a push Redis may have lost is not put back for it.
func TestIncidentEnteredInErrorResolvesItsAlert(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	res, _ := e.therapyResident(false)
	nurse, lead := e.login("alt.nurse.x"), e.login("alt.lead.x")
	if r := e.do(req{method: "POST", path: "/v1/push-registrations", token: lead,
		body: map[string]any{"token": "fcm-" + uuid.NewString(), "platform": "android", "app_version": "1.2.0"}}); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	record := func() string {
		r := e.postIncident(nurse, res, uuid.NewString(), fallBody())
		if r.Status != 201 {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
		return r.json(t)["id"].(string)
	}
	acked, open, kept := record(), record(), record()
	alertOf := func(incident string) (id, state string, resolved bool) {
		if err := e.db.Pool.QueryRow(ctx, `SELECT id::text, state, resolved_at IS NOT NULL FROM alerts
			WHERE kind = 'incident' AND subject = $1`, incident).Scan(&id, &state, &resolved); err != nil {
			t.Fatal(err)
		}
		return id, state, resolved
	}
	notes := func() map[string]map[string]any {
		out := map[string]map[string]any{}
		r := e.do(req{method: "GET", path: "/v1/notifications", token: lead})
		for _, x := range r.json(t)["notifications"].([]any) {
			m := x.(map[string]any)
			out[m["alert_id"].(string)] = m
		}
		return out
	}
	ackedAlert, _, _ := alertOf(acked)
	if r := e.do(req{method: "POST", path: "/v1/notifications/" + notes()[ackedAlert]["id"].(string) + "/ack", token: lead}); r.Status != 200 {
		t.Fatalf("ack: %d %s", r.Status, r.Body)
	}
	// Every push went out long ago and none was accepted: all three are
	// what Redis might have lost.
	if _, err := e.db.Pool.Exec(ctx, `UPDATE outbox SET published_at = now() - interval '1 hour' WHERE published_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{acked, open} {
		if r := e.do(req{method: "POST", path: "/v1/incidents/" + id + "/entered-in-error", token: nurse,
			body: map[string]any{"reason": "ospite sbagliato"}}); r.Status != 200 {
			t.Fatalf("entered in error: %d %s", r.Status, r.Body)
		}
	}
	openAlert, state, resolved := alertOf(open)
	if state != "resolved" || !resolved {
		t.Fatalf("open alert after entered in error: %s %v", state, resolved)
	}
	if _, state, resolved := alertOf(acked); state != "acknowledged" || !resolved {
		t.Fatalf("acknowledged alert after entered in error: %s %v", state, resolved)
	}
	keptAlert, state, resolved := alertOf(kept)
	if state != "open" || resolved {
		t.Fatalf("the other incident's alert: %s %v", state, resolved)
	}
	ns := notes()
	if ns[openAlert]["state"] != "resolved" || ns[openAlert]["resolved_at"] == nil || ns[ackedAlert]["state"] != "acknowledged" ||
		ns[ackedAlert]["resolved_at"] == nil || ns[keptAlert]["state"] != "open" {
		t.Fatalf("notifications: %v", ns)
	}
	// The lost pushes are put back for the live chain only.
	if _, err := e.db.RepublishLost(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	var requeued []string
	rows, err := e.db.Pool.Query(ctx, `SELECT n.alert_id::text FROM outbox o
		JOIN notifications n ON n.facility_id = o.facility_id AND n.id = o.notification_id
		WHERE o.published_at IS NULL AND n.kind = 'incident'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		requeued = append(requeued, id)
	}
	if rows.Err() != nil || len(requeued) != 1 || requeued[0] != keptAlert {
		t.Fatalf("requeued %v (want only %s): %v", requeued, keptAlert, rows.Err())
	}
	// Incident chains have no escalation (escalate_at is never set for
	// them), so there is no escalation to stop here.
}

// An incident entered in error takes its follow-ups' alerts with it: what
// they follow up never happened to this resident.
func TestIncidentEnteredInErrorResolvesFollowUpAlerts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	nurse := e.login("alt.nurse.x")
	r := e.postIncident(nurse, res, uuid.NewString(), fallBody())
	if r.Status != 201 {
		t.Fatalf("record: %d %s", r.Status, r.Body)
	}
	orig := r.json(t)["id"].(string)
	r = e.postIncident(nurse, res, uuid.NewString(), map[string]any{"kind": "fall", "follow_up_of": orig, "fall": fallBody()["fall"]})
	if r.Status != 201 {
		t.Fatalf("follow-up: %d %s", r.Status, r.Body)
	}
	fu := r.json(t)["id"].(string)
	other := e.postIncident(nurse, res, uuid.NewString(), fallBody()).json(t)["id"].(string)
	if r := e.do(req{method: "POST", path: "/v1/incidents/" + orig + "/entered-in-error", token: nurse,
		body: map[string]any{"reason": "ospite sbagliato"}}); r.Status != 200 {
		t.Fatalf("entered in error: %d %s", r.Status, r.Body)
	}
	for id, want := range map[string]bool{orig: true, fu: true, other: false} {
		var resolved bool
		if err := e.db.Pool.QueryRow(context.Background(), `SELECT resolved_at IS NOT NULL FROM alerts WHERE kind = 'incident' AND subject = $1`,
			id).Scan(&resolved); err != nil {
			t.Fatal(err)
		}
		if resolved != want {
			t.Errorf("incident %s: alert resolved %v, want %v", id, resolved, want)
		}
	}
}
