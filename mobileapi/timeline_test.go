package mobileapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend/access"
	"github.com/google/uuid"
)

// tlItem is an item of the timeline as the API shows it.
type tlItem struct {
	Kind           string          `json:"kind"`
	At             time.Time       `json:"at"`
	ID             uuid.UUID       `json:"id"`
	By             *uuid.UUID      `json:"by"`
	ByName         string          `json:"by_name"`
	Summary        string          `json:"summary"`
	EnteredInError *bool           `json:"entered_in_error"`
	Ref            json.RawMessage `json:"ref"`
}

type tlPage struct {
	Items []tlItem `json:"items"`
	Next  *string  `json:"next"`
}

func (i tlItem) ref(t testing.TB, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(i.Ref, &m); err != nil {
		t.Fatalf("ref of %s: %v", i.Kind, err)
	}
	s, _ := m[key].(string)
	return s
}

// timelinePage reads one page; query is the raw query string.
func (e *env) timelinePage(user string, resident uuid.UUID, query string) (tlPage, response) {
	e.t.Helper()
	r := e.do(req{method: "GET", path: "/v1/residents/" + resident.String() + "/timeline?" + query, token: e.login(user)})
	var p tlPage
	if r.Status == 200 {
		if err := json.Unmarshal(r.Body, &p); err != nil {
			e.t.Fatalf("timeline page: %v: %s", err, r.Body)
		}
	}
	return p, r
}

// timelineAll follows the cursors with pages of limit items and returns
// every item in order and the raw bodies read. It fails on an empty page
// that promised more, and on a page over the limit.
func (e *env) timelineAll(user string, resident uuid.UUID, query string, limit int) ([]tlItem, [][]byte) {
	e.t.Helper()
	var out []tlItem
	var bodies [][]byte
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 500 {
			e.t.Fatal("the timeline does not end")
		}
		q := fmt.Sprintf("%s&limit=%d", query, limit)
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p, r := e.timelinePage(user, resident, q)
		if r.Status != 200 {
			e.t.Fatalf("%s reads the timeline (%s): %d %s", user, q, r.Status, r.Body)
		}
		bodies = append(bodies, r.Body)
		if len(p.Items) > limit || (len(p.Items) == 0 && (pages > 0 || p.Next != nil)) {
			e.t.Fatalf("page %d of %s: %d items, next %v", pages, user, len(p.Items), p.Next)
		}
		out = append(out, p.Items...)
		if p.Next == nil {
			return out, bodies
		}
		cursor = *p.Next
	}
}

// tlRecord is a resident of ward X (ALT) with something of every kind in
// her record, much of it written through the API, some of it at one shared
// instant to test the tie-breaks of the cursor.
type tlRecord struct {
	tg                                            target
	administration, vital, diaryNursing, addendum uuid.UUID
	medical, psychological                        uuid.UUID
	visibleDoc, hiddenDoc                         uuid.UUID
	tie                                           time.Time
}

func (e *env) timelineRecord() tlRecord {
	e.t.Helper()
	t := e.t
	tg := e.newTarget(own)
	e.mxReconciled(tg)
	rec := tlRecord{tg: tg}
	doctor, nurse := e.login("alt.doctor"), e.login("alt.nurse.x")
	res := tg.resident.String()

	// Therapy: a prescription, its revision, suspended and resumed; a dose
	// given and marked entered in error.
	p := e.prescribe(tg.resident, mxOrder(e))
	rev := e.do(req{method: "POST", path: "/v1/prescriptions/" + p["id"].(string) + "/revisions", token: doctor,
		body: map[string]any{"version": 1, "order": mxOrder(e)}})
	if rev.Status != 201 {
		t.Fatalf("revise: %d %s", rev.Status, rev.Body)
	}
	newID := rev.json(t)["id"].(string)
	for _, b := range []map[string]any{{"version": 1, "status": "suspended", "reason": "vomito"}, {"version": 2, "status": "active"}} {
		if r := e.do(req{method: "POST", path: "/v1/prescriptions/" + newID + "/status", token: doctor, body: b}); r.Status != 200 {
			t.Fatalf("status %v: %d %s", b, r.Status, r.Body)
		}
	}
	rec.administration = e.mxAdministration(tg, uuid.MustParse(newID), uuid.Nil)
	if r := e.do(req{method: "POST", path: "/v1/administrations/" + rec.administration.String() + "/entered-in-error", token: nurse,
		body: map[string]any{"reason": "registrata sull'ospite sbagliato"}}); r.Status != 200 {
		t.Fatalf("administration entered in error: %d %s", r.Status, r.Body)
	}
	// Vitals: one recording, its only measurement entered in error.
	rec.vital = e.mxVital(tg)
	if r := e.do(req{method: "POST", path: "/v1/vitals/" + rec.vital.String() + "/entered-in-error", token: nurse,
		body: map[string]any{"reason": "misurata su un altro ospite"}}); r.Status != 200 {
		t.Fatalf("vital entered in error: %d %s", r.Status, r.Body)
	}
	// The diary: nursing (with an addendum, then entered in error), medical,
	// psychological.
	w := e.writeDiary("alt.nurse.x", tg.resident, map[string]any{"text": "Notte tranquilla, riposo regolare."})
	if w.Status != 201 {
		t.Fatalf("diary: %d %s", w.Status, w.Body)
	}
	rec.diaryNursing = uuid.MustParse(w.json(t)["id"].(string))
	if r := e.do(req{method: "POST", path: "/v1/diary/" + rec.diaryNursing.String() + "/addenda", token: nurse,
		body: map[string]any{"text": "Al mattino chiede acqua."}, header: map[string]string{"Idempotency-Key": uuid.NewString()}}); r.Status != 201 {
		t.Fatalf("addendum: %d %s", r.Status, r.Body)
	} else {
		rec.addendum = uuid.MustParse(r.json(t)["id"].(string))
	}
	if r := e.do(req{method: "POST", path: "/v1/diary/" + rec.diaryNursing.String() + "/entered-in-error", token: nurse,
		body: map[string]any{"reason": "ospite sbagliato"}}); r.Status != 201 {
		t.Fatalf("diary entered in error: %d %s", r.Status, r.Body)
	}
	w = e.writeDiary("alt.doctor", tg.resident, map[string]any{"text": "Visita: sospetta polmonite basale destra."})
	if w.Status != 201 {
		t.Fatalf("medical diary: %d %s", w.Status, w.Body)
	}
	rec.medical = uuid.MustParse(w.json(t)["id"].(string))
	rec.psychological = e.diaryRow(tg.facility, tg.resident, e.alt.ID("staff", "alt.doctor"), access.Psychological,
		"Colloquio: riferisce lutto recente.")
	// Documents: one for all, one hidden from OSS and therapists.
	rec.visibleDoc = e.mxDocument(tg)
	rec.hiddenDoc = e.mxDocument(tg, "oss", "therapist")
	// Anamnesis (two versions), a problem resolved, an incident, a rehab
	// session; newTarget wrote an allergy.
	for v, text := range []string{"Vedova, vive sola.", "Vedova, vive con la figlia."} {
		if r := e.do(req{method: "PUT", path: "/v1/residents/" + res + "/anamnesis/social", token: nurse,
			body: map[string]any{"version": v, "text": text}}); r.Status != 200 {
			t.Fatalf("anamnesis: %d %s", r.Status, r.Body)
		}
	}
	prob := e.mxProblem(tg)
	if r := e.do(req{method: "POST", path: "/v1/problems/" + prob.String() + "/status", token: doctor,
		body: map[string]any{"version": 1, "status": "resolved", "reason": "valori stabili"}}); r.Status != 200 {
		t.Fatalf("problem status: %d %s", r.Status, r.Body)
	}
	e.mxIncident(tg)
	e.mxRehabSession(tg)

	// Three assessments, two incidents and two allergies at one instant:
	// ties within a kind and across kinds.
	rec.tie = time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Microsecond)
	ctx := context.Background()
	nurseID := e.mxStaff(tg, "nurse", true)
	for i := 0; i < 3; i++ {
		if _, err := e.db.Pool.Exec(ctx, `INSERT INTO assessments (facility_id, id, resident_id, scale, answers, raw_total, total,
				band, assessed_at, recorded_by) VALUES ($1, $2, $3, 'nrs', '{"rating": 2}', 2, 2, 'mild', $4, $5)`,
			tg.facility, uuid.New(), tg.resident, rec.tie, nurseID); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := e.db.Pool.Exec(ctx, `INSERT INTO incidents (facility_id, id, resident_id, kind, occurred_at, details, recorded_by)
			VALUES ($1, $2, $3, 'other', $4, '{"category":"agitazione","description":"x"}', $5)`,
			tg.facility, uuid.New(), tg.resident, rec.tie, nurseID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.Pool.Exec(ctx, `INSERT INTO allergies (facility_id, id, resident_id, substance, category, kind,
				severity, status, recorded_by, recorded_at) VALUES ($1, $2, $3, 'Nichel', 'environment', 'allergy', 'mild', 'active', $4, $5)`,
			tg.facility, uuid.New(), tg.resident, nurseID, rec.tie); err != nil {
			t.Fatal(err)
		}
	}
	return rec
}

// inFeedOrder reports whether items are newest first by (at, kind, id),
// kinds and ids compared bytewise.
func inFeedOrder(items []tlItem) bool {
	return sort.SliceIsSorted(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if !a.At.Equal(b.At) {
			return a.At.After(b.At)
		}
		if a.Kind != b.Kind {
			return a.Kind > b.Kind
		}
		return bytes.Compare(a.ID[:], b.ID[:]) > 0
	})
}

func kindsOf(items []tlItem) map[string]int {
	out := map[string]int{}
	for _, it := range items {
		out[it.Kind]++
	}
	return out
}

// The whole record in one feed, newest first; any page size walks it
// without a gap or a duplicate, ties included.
func TestTimelinePagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.timelineRecord()
	all, _ := e.timelineAll("alt.doctor", rec.tg.resident, "", 200)
	if !inFeedOrder(all) {
		t.Fatal("the feed is not newest first by (at, kind, id)")
	}
	want := map[string]int{"prescription": 2, "prescription_status": 2, "administration": 1, "administration_correction": 1,
		"vitals": 1, "assessment": 3, "diary": 4, "document": 2, "anamnesis": 2, "problem": 1, "problem_status": 1,
		"incident": 3, "rehab_session": 1, "allergy": 3}
	if got := kindsOf(all); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("kinds in the feed:\n got %v\nwant %v", got, want)
	}
	seen := map[string]bool{}
	for _, it := range all {
		key := it.Kind + "/" + it.ID.String()
		if seen[key] {
			t.Fatalf("duplicate %s", key)
		}
		seen[key] = true
		// newTarget's allergy was written with no author.
		if it.Summary == "" || string(it.Ref) == "{}" || (it.By == nil && it.Kind != "allergy") {
			t.Errorf("item without summary, ref or author: %+v", it)
		}
	}
	for _, limit := range []int{1, 2, 3, 7} {
		paged, _ := e.timelineAll("alt.doctor", rec.tg.resident, "", limit)
		if len(paged) != len(all) {
			t.Fatalf("limit %d: %d items, want %d", limit, len(paged), len(all))
		}
		for i := range all {
			if paged[i].Kind != all[i].Kind || paged[i].ID != all[i].ID {
				t.Fatalf("limit %d: item %d is %s %s, want %s %s", limit, i, paged[i].Kind, paged[i].ID, all[i].Kind, all[i].ID)
			}
		}
	}
	// The default page is 50 items; summaries follow Accept-Language.
	r := e.do(req{method: "GET", path: "/v1/residents/" + rec.tg.resident.String() + "/timeline?kinds=vitals,prescription",
		token: e.login("alt.nurse.x"), header: map[string]string{"Accept-Language": "en"}})
	if r.Status != 200 || r.Header.Get("Content-Language") != "en" || !strings.Contains(string(r.Body), "Prescribed: ") ||
		!strings.Contains(string(r.Body), `"HR 72`) {
		t.Fatalf("english summaries: %d %s", r.Status, r.Body)
	}
	// One audit event per page read.
	before := e.auditCount(e.alt.FacilityID(), rec.tg.resident, "timeline.read", "success")
	_, pages := e.timelineAll("alt.nurse.x", rec.tg.resident, "", 10)
	if got := e.auditCount(e.alt.FacilityID(), rec.tg.resident, "timeline.read", "success") - before; got != len(pages) || got < 2 {
		t.Fatalf("%d pages audited as %d events", len(pages), got)
	}
}

// from, to and kinds select; bad input has stable codes.
func TestTimelineFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.timelineRecord()
	res := rec.tg.resident
	at := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339Nano)) }

	// Exactly the instant of the ties: [tie, tie+1µs).
	items, _ := e.timelineAll("alt.doctor", res, "from="+at(rec.tie)+"&to="+at(rec.tie.Add(time.Microsecond)), 2)
	if got := kindsOf(items); fmt.Sprint(got) != fmt.Sprint(map[string]int{"allergy": 2, "assessment": 3, "incident": 2}) {
		t.Fatalf("the tie instant: %v", got)
	}
	// to is exclusive: nothing at or after the tie.
	items, _ = e.timelineAll("alt.doctor", res, "to="+at(rec.tie), 50)
	for _, it := range items {
		if !it.At.Before(rec.tie) {
			t.Fatalf("to is exclusive: %v at %v", it.Kind, it.At)
		}
	}
	// kinds: only those, with blanks and duplicates tolerated.
	items, _ = e.timelineAll("alt.doctor", res, "kinds="+url.QueryEscape("incident, allergy,incident"), 2)
	if got := kindsOf(items); fmt.Sprint(got) != fmt.Sprint(map[string]int{"allergy": 3, "incident": 3}) {
		t.Fatalf("kinds: %v", got)
	}
	// A cursor stays valid when the filter changes: it is a position.
	p, _ := e.timelinePage("alt.doctor", res, "limit=1")
	if p.Next == nil {
		t.Fatal("no next")
	}
	if q, r := e.timelinePage("alt.doctor", res, "kinds=allergy&cursor="+url.QueryEscape(*p.Next)); r.Status != 200 || len(q.Items) == 0 {
		t.Fatalf("cursor with other kinds: %d %s", r.Status, r.Body)
	}
	// Older than the default 30 days: not shown unless asked for.
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO incidents (facility_id, id, resident_id, kind, occurred_at,
			details, recorded_by) VALUES ($1, gen_random_uuid(), $2, 'other', now() - interval '40 days',
			'{"category":"vecchio","description":"x"}', $3)`, rec.tg.facility, res, e.mxStaff(rec.tg, "nurse", true)); err != nil {
		t.Fatal(err)
	}
	items, _ = e.timelineAll("alt.doctor", res, "kinds=incident", 50)
	old, _ := e.timelineAll("alt.doctor", res, "kinds=incident&from="+at(time.Now().AddDate(0, 0, -60)), 50)
	if len(items) != 3 || len(old) != 4 {
		t.Fatalf("default period: %d incidents, with from 60 days ago %d", len(items), len(old))
	}

	for _, c := range []struct {
		query  string
		status int
		code   string
	}{
		{"kinds=vitals,blood", 422, "timeline.unknown_kind"},
		{"kinds=VITALS", 422, "timeline.unknown_kind"},
		{"cursor=abc", 422, "timeline.invalid_cursor"},
		{"cursor=" + strings.Repeat("A", 200), 422, "timeline.invalid_cursor"},
		{"cursor=" + base64.RawURLEncoding.EncodeToString(append(make([]byte, 25), "vitalz"...)), 422, "timeline.invalid_cursor"},
		{"from=yesterday", 400, "request.invalid_query"},
		{"to=2026-13-01T00:00:00Z", 400, "request.invalid_query"},
		{"limit=0", 400, "request.invalid_query"},
		{"limit=201", 400, "request.invalid_query"},
		{"limit=x", 400, "request.invalid_query"},
		{"from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", 422, "timeline.invalid_period"},
		{"from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", 422, "timeline.period_too_long"},
	} {
		if _, r := e.timelinePage("alt.nurse.x", res, c.query); r.Status != c.status || r.code() != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.query, r.Status, r.Body, c.status, c.code)
		}
	}
}

// Out of scope is 404 resident.not_found exactly like a resident that
// does not exist, and audited.
func TestTimelineScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other, vdt := e.newTarget(otherWard), e.newTarget(otherFacility)
	for _, c := range []struct {
		user   string
		tg     target
		status int
	}{
		{"alt.nurse.x", other, 404}, {"alt.oss.x", other, 404}, {"alt.lead.x", other, 200}, {"alt.doctor", vdt, 404},
		{"alt.admin", e.newTarget(own), 404}, {"alt.auditor", e.newTarget(own), 404},
	} {
		_, r := e.timelinePage(c.user, c.tg.resident, "")
		if r.Status != c.status || (c.status == 404 && r.code() != "resident.not_found") {
			t.Errorf("%s on %v: %d %s", c.user, c.tg.resident, r.Status, r.Body)
		}
	}
	_, absent := e.timelinePage("alt.nurse.x", uuid.New(), "")
	_, hidden := e.timelinePage("alt.nurse.x", other.resident, "")
	var a, h map[string]any
	_ = json.Unmarshal(absent.Body, &a)
	_ = json.Unmarshal(hidden.Body, &h)
	delete(a, "request_id")
	delete(h, "request_id")
	if fmt.Sprint(a) != fmt.Sprint(h) {
		t.Fatalf("absent and out of scope differ:\n%s\n%s", absent.Body, hidden.Body)
	}
	// nurse, OSS, and the nurse again above.
	if e.auditCount(e.alt.FacilityID(), other.resident, "timeline.read", "denied") != 3 {
		t.Fatal("denied reads not audited")
	}
}

// Entered-in-error items are flagged, and the correction of an act is an
// item of its own; kinds that cannot be corrected carry no flag.
func TestTimelineEnteredInError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.timelineRecord()
	all, _ := e.timelineAll("alt.nurse.x", rec.tg.resident, "", 200)
	flagged := map[string]bool{}
	for _, it := range all {
		switch it.Kind {
		case "prescription_status", "administration_correction", "anamnesis", "problem_status":
			if it.EnteredInError != nil {
				t.Errorf("%s carries entered_in_error", it.Kind)
			}
			continue
		}
		if it.EnteredInError == nil {
			t.Fatalf("%s without entered_in_error", it.Kind)
		}
		if *it.EnteredInError {
			flagged[it.Kind+"/"+it.ID.String()] = true
		}
	}
	var vitalRecord string
	for _, it := range all {
		if it.Kind == "vitals" {
			vitalRecord = it.ID.String()
			if !strings.Contains(string(it.Ref), rec.vital.String()) {
				t.Errorf("vitals ref without the measurement: %s", it.Ref)
			}
		}
		if it.Kind == "administration_correction" && it.ref(t, "administration_id") != rec.administration.String() {
			t.Errorf("correction ref: %s", it.Ref)
		}
	}
	// The addendum of the entry entered in error is flagged with it: on its
	// own in the feed it would read as a valid note about this resident.
	want := []string{"administration/" + rec.administration.String(), "diary/" + rec.diaryNursing.String(),
		"diary/" + rec.addendum.String(), "vitals/" + vitalRecord}
	var got []string
	for k := range flagged {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("entered in error:\n got %v\nwant %v", got, want)
	}
}

// The diary's reading rule and oscuramento hold on every page: an OSS
// never meets a medical or psychological entry, nor a document hidden from
// OSS; a therapist reads medical entries but never a psychological one
// nor the hidden document. What is hidden is not counted either: the pages
// stay full and end where the visible items end.
func TestTimelineHidesWhatTheReaderMayNotRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.timelineRecord()
	full, _ := e.timelineAll("alt.doctor", rec.tg.resident, "", 200)
	for _, id := range []uuid.UUID{rec.medical, rec.psychological, rec.hiddenDoc, rec.visibleDoc} {
		if !slices.ContainsFunc(full, func(it tlItem) bool { return it.ID == id }) {
			t.Fatalf("the physician does not see %s", id)
		}
	}
	for _, c := range []struct {
		user   string
		hidden []uuid.UUID
		words  []string
	}{
		{"alt.oss.x", []uuid.UUID{rec.medical, rec.psychological, rec.hiddenDoc}, []string{"polmonite", "lutto", "Diario medico", "Diario psicologico"}},
		{"alt.therapist.x", []uuid.UUID{rec.psychological, rec.hiddenDoc}, []string{"lutto", "Diario psicologico"}},
	} {
		var want []tlItem
		for _, it := range full {
			if !slices.Contains(c.hidden, it.ID) {
				want = append(want, it)
			}
		}
		for _, limit := range []int{1, 3, 200} {
			got, bodies := e.timelineAll(c.user, rec.tg.resident, "", limit)
			if len(got) != len(want) {
				t.Fatalf("%s, pages of %d: %d items, want %d", c.user, limit, len(got), len(want))
			}
			for i := range got {
				if got[i].ID != want[i].ID {
					t.Fatalf("%s, pages of %d: item %d is %s %s, want %s %s", c.user, limit, i, got[i].Kind, got[i].ID, want[i].Kind, want[i].ID)
				}
			}
			for _, b := range bodies {
				for _, id := range c.hidden {
					if bytes.Contains(b, []byte(id.String())) {
						t.Fatalf("%s meets hidden %s in %s", c.user, id, b)
					}
				}
				for _, w := range c.words {
					if bytes.Contains(b, []byte(w)) {
						t.Fatalf("%s reads %q in %s", c.user, w, b)
					}
				}
			}
		}
		// Filtered to the kinds that hold only hidden items: an empty feed.
		if c.user == "alt.oss.x" {
			p, _ := e.timelinePage(c.user, rec.tg.resident, "kinds=document&limit=1")
			if len(p.Items) != 1 || p.Items[0].ID != rec.visibleDoc || p.Next != nil {
				t.Fatalf("documents for the OSS: %+v", p)
			}
		}
	}
	// A nurse is not among the roles the document is hidden from.
	nurse, _ := e.timelineAll("alt.nurse.x", rec.tg.resident, "kinds=document", 50)
	if len(nurse) != 2 {
		t.Fatalf("the nurse sees %d documents, want 2", len(nurse))
	}
}

// BenchmarkTimelinePage reads the default page (30 days, 50 items) of
// demo residents of ward A as nurse.a, through the whole HTTP stack, and
// reports the median and 99th percentile of the latency:
//
//	go test ./mobileapi -run '^$' -bench TimelinePage -benchtime 500x
func BenchmarkTimelinePage(b *testing.B) {
	e := newEnv(b)
	residents := e.residentsOf(e.demo, "A")
	tok := e.login("nurse.a")
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Straight to the app: the harness's contract check is not timed.
		hr := httptest.NewRequest("GET", "/v1/residents/"+residents[i%len(residents)].String()+"/timeline", nil)
		hr.Header.Set("Authorization", "Bearer "+tok)
		start := time.Now()
		resp, err := e.srv.App().Test(hr, -1)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ds = append(ds, time.Since(start))
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.StopTimer()
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, "p99-ms")
}
