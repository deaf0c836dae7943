package timeline

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
)

// FuzzParseQuery feeds arbitrary query parameters to the parser, the
// cursor decoder and the period rules: they answer a stable 4xx code or a
// query that normalises, and never panic. A cursor that decodes encodes
// back to one that decodes to the same position.
//
//	go test ./backend/timeline -run '^$' -fuzz FuzzParseQuery -fuzztime 20s
func FuzzParseQuery(f *testing.F) {
	valid := Cursor{At: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), Kind: Diary, ID: uuid.MustParse("6f1b2c3d-0000-4000-8000-000000000001")}
	f.Add("2026-03-01T00:00:00Z", "2026-03-02T00:00:00+01:00", "vitals,diary", "50", valid.String())
	f.Add("", "", "", "", "")
	f.Add("x", "9999-12-31T23:59:59.999999999Z", ",,,", "-1", "AQ")
	f.Add("", "9999-12-31T23:00:00-05:00", "", "", "")
	f.Add("0001-01-01T00:00:00Z", "", "administration_correction", "200", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB4")
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, from, to, kinds, limit, cursor string) {
		q, err := ParseQuery(getter(map[string]string{"from": from, "to": to, "kinds": kinds, "limit": limit, "cursor": cursor}))
		if err != nil {
			e := backend.AsError(err)
			if e.Kind != backend.KindInvalid && e.Kind != backend.KindUnprocessable || e.Code == "" {
				t.Fatalf("error %v is not a stable 4xx", err)
			}
			return
		}
		if q.Cursor != nil {
			again, err := ParseCursor(q.Cursor.String())
			if err != nil || again != *q.Cursor {
				t.Fatalf("cursor %q: %+v then %+v %v", cursor, *q.Cursor, again, err)
			}
		}
		n, err := q.Normalise(now)
		if err != nil {
			if !backend.IsKind(err, backend.KindUnprocessable) {
				t.Fatalf("normalise: %v", err)
			}
			return
		}
		if !n.From.Before(n.To) || n.To.Sub(n.From) > MaxPeriod || n.Limit < 1 || n.Limit > MaxLimit || len(n.Kinds) == 0 {
			t.Fatalf("normalised %+v", n)
		}
		for _, k := range n.Kinds {
			if !ValidKind(k) {
				t.Fatalf("kind %q", k)
			}
		}
		// The page the API answers with this period can be written.
		if _, err := json.Marshal(Page{Items: []Item{}, From: n.From, To: n.To}); err != nil {
			t.Fatalf("page of %v – %v: %v", n.From, n.To, err)
		}
	})
}
