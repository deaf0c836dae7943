package mobileapi_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/diary"
	"github.com/google/uuid"
)

// mxDiaryEntry writes, straight into the database and signed as the service
// signs, a nursing entry on tg's resident by a nurse of tg's ward.
func (e *env) mxDiaryEntry(tg target) uuid.UUID {
	e.t.Helper()
	return e.diaryRow(tg.facility, tg.resident, e.mxStaff(tg, "nurse", true), access.Nursing, "Parametri nella norma.")
}

// diaryRow inserts a signed original entry, for professions nobody can
// write through the API yet and for matrix targets.
func (e *env) diaryRow(facility, resident, author uuid.UUID, p access.Profession, text string) uuid.UUID {
	e.t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	en := diary.Entry{ID: uuid.New(), ResidentID: resident, Profession: p, Text: text, OccurredAt: now.Add(-time.Hour),
		AuthorID: author, RecordedAt: now}
	en.Signature = diary.Sign(&en)
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO diary_entries (facility_id, id, resident_id, profession,
			text, occurred_at, author_id, recorded_at, signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, decode($9, 'hex'))`,
		facility, en.ID, resident, string(p), text, en.OccurredAt, author, en.RecordedAt, en.Signature); err != nil {
		e.t.Fatalf("diary entry: %v", err)
	}
	return en.ID
}

func (e *env) writeDiary(user string, resident uuid.UUID, body map[string]any) response {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/v1/residents/" + resident.String() + "/diary", token: e.login(user), body: body,
		header: map[string]string{"Idempotency-Key": uuid.NewString()}})
}

// diaryProfessions lists, sorted, the professions of the entries user reads.
func (e *env) diaryProfessions(user string, resident uuid.UUID, query string) []string {
	e.t.Helper()
	r := e.do(req{method: "GET", path: "/v1/residents/" + resident.String() + "/diary" + query, token: e.login(user)})
	if r.Status != 200 {
		e.t.Fatalf("%s reads the diary: %d %s", user, r.Status, r.Body)
	}
	var got []string
	for _, x := range r.json(e.t)["entries"].([]any) {
		got = append(got, x.(map[string]any)["profession"].(string))
	}
	sort.Strings(got)
	return got
}

// Each profession writes in its own; who reads what follows the rule in
// backend/access/diary.go, and what one may not read is simply absent.
func TestDiaryReadPerRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	for user, prof := range map[string]string{"alt.doctor": "medical", "alt.nurse.x": "nursing", "alt.oss.x": "oss",
		"alt.therapist.x": "rehabilitation"} {
		r := e.writeDiary(user, res, map[string]any{"text": "Nota di prova di " + user})
		if r.Status != 201 || r.json(t)["profession"] != prof || r.json(t)["signature_valid"] != true {
			t.Fatalf("%s writes: %d %s", user, r.Status, r.Body)
		}
	}
	// Nobody holds the psychological profession yet: one written as by the
	// doctor, straight into the database.
	e.diaryRow(e.alt.FacilityID(), res, e.alt.ID("staff", "alt.doctor"), access.Psychological, "Colloquio di sostegno.")
	if r := e.writeDiary("alt.doctor", res, map[string]any{"text": "x", "profession": "psychological"}); r.Status != 403 ||
		r.code() != "diary.profession_not_held" {
		t.Errorf("psychological entry by a physician: %d %s", r.Status, r.Body)
	}
	all := []string{"medical", "nursing", "oss", "psychological", "rehabilitation"}
	noPsych := []string{"medical", "nursing", "oss", "rehabilitation"}
	for user, want := range map[string][]string{
		"alt.doctor": all, "alt.director": all, "alt.nurse.x": noPsych, "alt.lead.x": noPsych,
		"alt.therapist.x": noPsych, "alt.oss.x": {"nursing", "oss", "rehabilitation"},
	} {
		if got := e.diaryProfessions(user, res, ""); !slices.Equal(got, want) {
			t.Errorf("%s reads %v; want %v", user, got, want)
		}
	}
	if got := e.diaryProfessions("alt.oss.x", res, "?profession=medical"); len(got) != 0 {
		t.Errorf("OSS asking for medical entries got %v", got)
	}
	if got := e.diaryProfessions("alt.nurse.x", res, "?profession=oss"); !slices.Equal(got, []string{"oss"}) {
		t.Errorf("profession filter: %v", got)
	}
	// Paging, newest first.
	r := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/diary?limit=2", token: e.login("alt.doctor")})
	page := r.json(t)
	next, _ := page["next_before"].(string)
	if len(page["entries"].([]any)) != 2 || next == "" {
		t.Fatalf("first page: %s", r.Body)
	}
	r = e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/diary?limit=2&before=" + next, token: e.login("alt.doctor")})
	if n := len(r.json(t)["entries"].([]any)); n != 2 {
		t.Errorf("second page: %d entries", n)
	}
	for _, bad := range []string{"?profession=spiritual", "?before=nope", "?limit=0", "?from=2026-01-02&to=2026-01-01"} {
		if r := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/diary" + bad, token: e.login("alt.doctor")}); r.Status != 400 {
			t.Errorf("%s: %d", bad, r.Status)
		}
	}
}

func TestDiaryAddendumAndEnteredInError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	r := e.writeDiary("alt.nurse.x", res, map[string]any{"text": "Caduta accidentale alle 6:10, nessun trauma evidente.",
		"occurred_at": time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)})
	if r.Status != 201 {
		t.Fatalf("write: %d %s", r.Status, r.Body)
	}
	id := r.json(t)["id"].(string)
	addendum := func(user, text string) response {
		return e.do(req{method: "POST", path: "/v1/diary/" + id + "/addenda", token: e.login(user),
			body: map[string]any{"text": text}, header: map[string]string{"Idempotency-Key": uuid.NewString()}})
	}
	// The physician is not a colleague of the nursing profession.
	if r := addendum("alt.doctor", "visto"); r.Status != 403 || r.code() != "diary.profession_not_held" {
		t.Errorf("doctor's addendum to a nursing entry: %d %s", r.Status, r.Body)
	}
	// A nursing colleague (the ward lead is also a nurse) may.
	r = addendum("alt.lead.x", "Rivalutata alle 8: deambula senza dolore.")
	if r.Status != 201 || r.json(t)["link_kind"] != "addendum" || r.json(t)["links_to"] != id {
		t.Fatalf("lead's addendum: %d %s", r.Status, r.Body)
	}
	addID := r.json(t)["id"].(string)
	if r := e.do(req{method: "POST", path: "/v1/diary/" + addID + "/addenda", token: e.login("alt.nurse.x"),
		body: map[string]any{"text": "x"}, header: map[string]string{"Idempotency-Key": uuid.NewString()}}); r.Status != 422 ||
		r.code() != "diary.not_original" {
		t.Errorf("addendum to an addendum: %d %s", r.Status, r.Body)
	}
	// An OSS cannot even see a medical entry: it is absent.
	med := e.writeDiary("alt.doctor", res, map[string]any{"text": "Visita: condizioni stabili."}).json(t)["id"].(string)
	if r := e.do(req{method: "POST", path: "/v1/diary/" + med + "/entered-in-error", token: e.login("alt.oss.x"),
		body: map[string]any{"reason": "sbagliato"}}); r.Status != 404 || r.code() != "diary.not_found" {
		t.Errorf("OSS on a medical entry: %d %s", r.Status, r.Body)
	}

	eie := func(user string) response {
		return e.do(req{method: "POST", path: "/v1/diary/" + id + "/entered-in-error", token: e.login(user),
			body: map[string]any{"reason": "Registrata sull'ospite sbagliato"}})
	}
	if r := e.do(req{method: "POST", path: "/v1/diary/" + id + "/entered-in-error", token: e.login("alt.nurse.x"),
		body: map[string]any{"reason": "  "}}); r.Status != 400 || r.code() != "diary.reason_required" {
		t.Errorf("no reason: %d %s", r.Status, r.Body)
	}
	if r := eie("alt.nurse.x"); r.Status != 201 || r.json(t)["link_kind"] != "entered_in_error" {
		t.Fatalf("entered in error: %d %s", r.Status, r.Body)
	}
	if r := eie("alt.lead.x"); r.Status != 409 || r.code() != "diary.already_entered_in_error" {
		t.Errorf("twice: %d %s", r.Status, r.Body)
	}
	if r := addendum("alt.nurse.x", "ancora"); r.Status != 422 || r.code() != "diary.entered_in_error" {
		t.Errorf("addendum to an entry in error: %d %s", r.Status, r.Body)
	}
	// The original stays readable, marked, with its addendum.
	r = e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/diary?profession=nursing", token: e.login("alt.nurse.x")})
	entries := r.json(t)["entries"].([]any)
	if len(entries) != 1 {
		t.Fatalf("nursing entries: %s", r.Body)
	}
	orig := entries[0].(map[string]any)
	mark, _ := orig["entered_in_error"].(map[string]any)
	if orig["id"] != id || mark == nil || mark["reason"] != "Registrata sull'ospite sbagliato" || len(orig["addenda"].([]any)) != 1 ||
		!strings.HasPrefix(orig["text"].(string), "Caduta") {
		t.Errorf("the corrected entry reads %s", r.Body)
	}
}

func TestDiaryIdempotentAndValidated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	key := uuid.NewString()
	send := func(body map[string]any, key string) response {
		h := map[string]string{}
		if key != "" {
			h["Idempotency-Key"] = key
		}
		return e.do(req{method: "POST", path: "/v1/residents/" + res.String() + "/diary", token: e.login("alt.nurse.x"), body: body, header: h})
	}
	body := map[string]any{"text": "Diuresi conservata, alvo regolare."}
	first := send(body, key)
	again := send(body, key)
	if first.Status != 201 || again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" ||
		first.json(t)["id"] != again.json(t)["id"] {
		t.Fatalf("retry: %d %s / %d %s", first.Status, first.Body, again.Status, again.Body)
	}
	if n := len(e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/diary", token: e.login("alt.nurse.x")}).json(t)["entries"].([]any)); n != 1 {
		t.Errorf("%d entries after a retry; want 1", n)
	}
	if r := send(map[string]any{"text": "altro"}, key); r.Status != 422 || r.code() != "idempotency.key_reused" {
		t.Errorf("key reused: %d %s", r.Status, r.Body)
	}
	for code, b := range map[string]map[string]any{
		"idempotency.key_required": nil,
		"diary.invalid_text":       {"text": "allarme \u0007"},
		"diary.in_future":          {"text": "x", "occurred_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
		"diary.too_old":            {"text": "x", "occurred_at": time.Now().Add(-73 * time.Hour).UTC().Format(time.RFC3339)},
		"diary.invalid_profession": {"text": "x", "profession": "spiritual"},
	} {
		k := uuid.NewString()
		if b == nil {
			b, k = body, ""
		}
		if r := send(b, k); r.Status != 400 || r.code() != code {
			t.Errorf("%s: %d %s", code, r.Status, r.Body)
		}
	}
	if r := send(map[string]any{"text": strings.Repeat("è", diary.MaxTextRunes+1)}, uuid.NewString()); r.Status != 400 {
		t.Errorf("too long: %d", r.Status)
	}
}
