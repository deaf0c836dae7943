package mobileapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/corsia-cce/corsia/backend/document"
	"github.com/google/uuid"
)

// mxDocument stores a PDF for tg's resident straight into the database,
// sealed with the development key, uploaded by a physician of tg's
// facility; hiddenFrom, when given, hides it from those roles.
func (e *env) mxDocument(tg target, hiddenFrom ...string) uuid.UUID {
	e.t.Helper()
	id := uuid.New()
	data := []byte("%PDF-1.4\n% matrice " + id.String() + "\n%%EOF\n")
	sealed, v, err := document.DevKeyring().Seal(tg.facility, tg.resident, id, data)
	if err != nil {
		e.t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	by := e.mxStaff(tg, "physician", false)
	ctx := context.Background()
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO documents (facility_id, id, resident_id, kind, title, content_type, size,
			sha256, key_version, ciphertext, uploaded_by) VALUES ($1, $2, $3, 'report', 'Referto matrice', 'application/pdf', $4, $5, $6, $7, $8)`,
		tg.facility, id, tg.resident, len(data), sum[:], v, sealed, by); err != nil {
		e.t.Fatalf("document: %v", err)
	}
	if len(hiddenFrom) > 0 {
		if _, err := e.db.Pool.Exec(ctx, `INSERT INTO document_visibility (facility_id, id, document_id, hidden_from, reason, recorded_by)
			VALUES ($1, gen_random_uuid(), $2, $3, 'richiesta dell''ospite', $4)`, tg.facility, id, hiddenFrom, by); err != nil {
			e.t.Fatalf("visibility: %v", err)
		}
	}
	return id
}

func testPDF(marker string) []byte {
	return []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% " + marker + " lettera di dimissione: scompenso cardiaco\n%%EOF\n")
}

func uploadPath(resident uuid.UUID, kind, title string) string {
	return "/v1/residents/" + resident.String() + "/documents?kind=" + kind + "&title=" + url.QueryEscape(title) + "&document_date=2026-03-01"
}

func TestDocumentRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	file := testPDF("round-trip-" + uuid.NewString())
	r := e.do(req{method: "POST", path: uploadPath(res, "discharge_letter", "Lettera di dimissione"), token: e.login("alt.nurse.x"),
		body: rawBody{"application/pdf", file}})
	if r.Status != 201 {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	doc := r.json(t)
	sum := sha256.Sum256(file)
	if doc["content_type"] != "application/pdf" || doc["sha256"] != hex.EncodeToString(sum[:]) || int(doc["size"].(float64)) != len(file) {
		t.Fatalf("upload answer: %v", doc)
	}
	id := doc["id"].(string)

	// At rest: not the file, and no run of its bytes.
	var sealed []byte
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT ciphertext FROM documents WHERE id = $1", id).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sealed, file) || bytes.Contains(sealed, []byte("%PDF")) || bytes.Contains(sealed, []byte("scompenso")) {
		t.Fatal("the stored bytes reveal the file")
	}

	// Download by another role of the ward: the same bytes, as an attachment.
	before := e.auditCount(e.alt.FacilityID(), res, "document.download", "success")
	r = e.do(req{method: "GET", path: "/v1/documents/" + id + "/content", token: e.login("alt.oss.x")})
	if r.Status != 200 || !bytes.Equal(r.Body, file) {
		t.Fatalf("download: %d, %d bytes (want %d)", r.Status, len(r.Body), len(file))
	}
	if r.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download headers: %v", r.Header)
	}
	if got := e.auditCount(e.alt.FacilityID(), res, "document.download", "success"); got != before+1 {
		t.Fatalf("download audited %d times, want 1", got-before)
	}

	// Listed for the ward's staff.
	r = e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/documents", token: e.login("alt.therapist.x")})
	if r.Status != 200 || !strings.Contains(string(r.Body), id) {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}

	// Tampered ciphertext: refused with a stable code, audited, nothing sent.
	ctx := context.Background()
	for _, sql := range []string{"ALTER TABLE documents DISABLE TRIGGER documents_append_only",
		"UPDATE documents SET ciphertext = overlay(ciphertext placing '\\x00'::bytea from 20 for 1) WHERE id = '" + id + "'",
		"ALTER TABLE documents ENABLE TRIGGER documents_append_only"} {
		if _, err := e.db.Pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	r = e.do(req{method: "GET", path: "/v1/documents/" + id + "/content", token: e.login("alt.nurse.x")})
	if r.Status != 422 || r.code() != "document.integrity" || bytes.Contains(r.Body, []byte("PDF")) {
		t.Fatalf("tampered: %d %s", r.Status, r.Body)
	}
	if e.auditCount(e.alt.FacilityID(), res, "document.download", "failure") != 1 {
		t.Fatal("the integrity failure was not audited")
	}
}

func TestDocumentContentSniffing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	tok := e.login("alt.nurse.x")
	// A PNG named .pdf, sent as octet-stream: stored as a PNG.
	r := e.do(req{method: "POST", path: uploadPath(res, "image", "Foto lesione"), token: tok,
		body: rawBody{"application/octet-stream", tinyPNG()}, header: map[string]string{"Content-Disposition": `attachment; filename="referto.pdf"`}})
	if r.Status != 201 || r.json(t)["content_type"] != "image/png" {
		t.Fatalf("png named pdf: %d %s", r.Status, r.Body)
	}
	id := r.json(t)["id"].(string)
	r = e.do(req{method: "GET", path: "/v1/documents/" + id + "/content", token: tok})
	if r.Status != 200 || r.Header.Get("Content-Type") != "image/png" || !bytes.Equal(r.Body, tinyPNG()) {
		t.Fatalf("png download: %d %v", r.Status, r.Header)
	}
	for _, c := range []struct {
		name, ct string
		data     []byte
		status   int
		code     string
	}{
		{"text claiming PDF", "application/pdf", []byte("just some text, not a PDF"), 415, "document.unsupported_type"},
		{"PNG claiming PDF", "application/pdf", tinyPNG(), 415, "document.type_mismatch"},
		{"HTML", "text/html", []byte("<html></html>"), 415, "document.unsupported_type"},
		{"empty", "application/pdf", []byte{}, 400, "document.invalid"},
		{"bad kind", "application/pdf", testPDF("k"), 400, "document.invalid"},
	} {
		kind := "report"
		if c.name == "bad kind" {
			kind = "selfie"
		}
		r := e.do(req{method: "POST", path: uploadPath(res, kind, "Referto"), token: tok, body: rawBody{c.ct, c.data}})
		if r.Status != c.status || r.code() != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.Status, r.Body, c.status, c.code)
		}
	}
	// Over the limit: 413.
	big := append(testPDF("big"), make([]byte, document.MaxBytes)...)
	r = e.do(req{method: "POST", path: uploadPath(res, "report", "Troppo grande"), token: tok, body: rawBody{"application/pdf", big}})
	if r.Status != 413 {
		t.Fatalf("too large: %d %s", r.Status, r.Body)
	}
	// Just under it: accepted (the route's own limit, not the JSON one).
	ok := append(testPDF("ok"), make([]byte, 2<<20)...)
	r = e.do(req{method: "POST", path: uploadPath(res, "report", "Grande"), token: tok, body: rawBody{"application/pdf", ok}})
	if r.Status != 201 {
		t.Fatalf("2 MiB: %d %s", r.Status, r.Body)
	}
}

func TestDocumentIdempotentUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	tok, key := e.login("alt.doctor"), uuid.NewString()
	file := testPDF("idem")
	up := func(data []byte) response {
		return e.do(req{method: "POST", path: uploadPath(res, "report", "Referto"), token: tok, body: rawBody{"application/pdf", data},
			header: map[string]string{"Idempotency-Key": key}})
	}
	a, b := up(file), up(file)
	if a.Status != 201 || b.Status != 201 || a.json(t)["id"] != b.json(t)["id"] || b.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
	}
	if c := up(testPDF("other")); c.Status != 422 || c.code() != "document.idempotency_mismatch" {
		t.Fatalf("key reused: %d %s", c.Status, c.Body)
	}
}

// A document hidden from roles is, for them, a document that does not
// exist: not listed, not counted, 404 on every route — exactly like a
// random id; others see it as before.
func TestDocumentOscuramento(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	doctor := e.login("alt.doctor")
	r := e.do(req{method: "POST", path: uploadPath(res, "report", "Referto psichiatrico"), token: doctor,
		body: rawBody{"application/pdf", testPDF("hidden")}})
	if r.Status != 201 {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	hidden := r.json(t)["id"].(string)
	r = e.do(req{method: "POST", path: uploadPath(res, "consent", "Consenso"), token: doctor, body: rawBody{"application/pdf", testPDF("shown")}})
	shown := r.json(t)["id"].(string)

	r = e.do(req{method: "POST", path: "/v1/documents/" + hidden + "/visibility", token: doctor,
		body: map[string]any{"hidden_from": []string{"oss", "therapist"}, "reason": "richiesta dell'ospite"}})
	if r.Status != 200 {
		t.Fatalf("hide: %d %s", r.Status, r.Body)
	}

	missing := uuid.NewString()
	for _, u := range []string{"alt.oss.x", "alt.therapist.x"} {
		tok := e.login(u)
		r := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/documents", token: tok})
		if r.Status != 200 || strings.Contains(string(r.Body), hidden) || !strings.Contains(string(r.Body), shown) {
			t.Fatalf("%s list: %d %s", u, r.Status, r.Body)
		}
		if n := len(r.json(t)["documents"].([]any)); n != 1 {
			t.Fatalf("%s counts %d documents, want 1", u, n)
		}
		for _, p := range []string{"", "/content"} {
			h := e.do(req{method: "GET", path: "/v1/documents/" + hidden + p, token: tok})
			m := e.do(req{method: "GET", path: "/v1/documents/" + missing + p, token: tok})
			if h.Status != 404 || h.code() != "document.not_found" || m.Status != h.Status || m.code() != h.code() {
				t.Fatalf("%s GET %s: hidden %d %s, missing %d %s", u, p, h.Status, h.Body, m.Status, m.Body)
			}
		}
		for _, p := range []string{"/visibility", "/entered-in-error"} {
			h := e.do(req{method: "POST", path: "/v1/documents/" + hidden + p, token: tok,
				body: map[string]any{"hidden_from": []string{}, "reason": "prova di accesso"}})
			if p == "/entered-in-error" {
				h = e.do(req{method: "POST", path: "/v1/documents/" + hidden + p, token: tok, body: map[string]any{"reason": "prova di accesso"}})
			}
			if h.Status != 404 || h.code() != "document.not_found" {
				t.Fatalf("%s POST %s: %d %s", u, p, h.Status, h.Body)
			}
		}
	}
	// The nurse and the lead (ward lead and nurse) still see it.
	for _, u := range []string{"alt.nurse.x", "alt.lead.x", "alt.director"} {
		r := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/documents", token: e.login(u)})
		if r.Status != 200 || !strings.Contains(string(r.Body), hidden) {
			t.Fatalf("%s list: %d %s", u, r.Status, r.Body)
		}
		if r := e.do(req{method: "GET", path: "/v1/documents/" + hidden + "/content", token: e.login(u)}); r.Status != 200 {
			t.Fatalf("%s content: %d", u, r.Status)
		}
	}
	// Physicians and the director cannot be hidden from.
	r = e.do(req{method: "POST", path: "/v1/documents/" + hidden + "/visibility", token: doctor,
		body: map[string]any{"hidden_from": []string{"physician"}, "reason": "richiesta dell'ospite"}})
	if r.Status != 400 || r.code() != "document.invalid_hidden_from" {
		t.Fatalf("hide from physicians: %d %s", r.Status, r.Body)
	}
	// The director (no ward) shows it again; the history is kept.
	r = e.do(req{method: "POST", path: "/v1/documents/" + hidden + "/visibility", token: e.login("alt.director"),
		body: map[string]any{"hidden_from": []string{}, "reason": "revoca dell'oscuramento"}})
	if r.Status != 200 {
		t.Fatalf("show: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "GET", path: "/v1/documents/" + hidden, token: e.login("alt.oss.x")}); r.Status != 200 {
		t.Fatalf("shown again: %d %s", r.Status, r.Body)
	}
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM document_visibility WHERE document_id = $1", hidden).Scan(&n); err != nil || n != 2 {
		t.Fatalf("visibility history: %d rows, %v", n, err)
	}
}

func TestDocumentEnteredInError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	tok := e.login("alt.nurse.x")
	r := e.do(req{method: "POST", path: uploadPath(res, "report", "Referto"), token: tok, body: rawBody{"application/pdf", testPDF("eie")}})
	id := r.json(t)["id"].(string)
	r = e.do(req{method: "POST", path: "/v1/documents/" + id + "/entered-in-error", token: tok, body: map[string]any{"reason": "ospite sbagliato"}})
	if r.Status != 200 || r.json(t)["status"] != "entered_in_error" {
		t.Fatalf("mark: %d %s", r.Status, r.Body)
	}
	r = e.do(req{method: "POST", path: "/v1/documents/" + id + "/entered-in-error", token: tok, body: map[string]any{"reason": "ospite sbagliato"}})
	if r.Status != 409 {
		t.Fatalf("second mark: %d %s", r.Status, r.Body)
	}
	// Still there, marked.
	r = e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/documents", token: tok})
	if !strings.Contains(string(r.Body), "entered_in_error") {
		t.Fatalf("list: %s", r.Body)
	}
}

// The demo facility's documents decrypt with the development key, and the
// consent hidden from OSS is absent for the ward's OSS.
func TestDemoDocuments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var res uuid.UUID
	var hidden string
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT d.resident_id, d.id FROM documents d
		JOIN document_visibility v ON v.facility_id = d.facility_id AND v.document_id = d.id
		WHERE d.facility_id = $1 AND 'oss' = ANY (v.hidden_from)`, e.demo.FacilityID()).Scan(&res, &hidden); err != nil {
		t.Fatalf("the demo has no document hidden from OSS: %v", err)
	}
	r := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/documents", token: e.login("nurse.a")})
	if r.Status != 200 || !strings.Contains(string(r.Body), hidden) {
		t.Fatalf("nurse list: %d %s", r.Status, r.Body)
	}
	for _, d := range r.json(t)["documents"].([]any) {
		id := d.(map[string]any)["id"].(string)
		c := e.do(req{method: "GET", path: "/v1/documents/" + id + "/content", token: e.login("nurse.a")})
		if c.Status != 200 || document.Sniff(c.Body) == "" {
			t.Fatalf("demo document %s: %d", id, c.Status)
		}
	}
	r = e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/documents", token: e.login("oss.a")})
	if r.Status != 200 || strings.Contains(string(r.Body), hidden) {
		t.Fatalf("oss list: %d %s", r.Status, r.Body)
	}
}
