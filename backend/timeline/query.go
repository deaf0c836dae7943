package timeline

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
)

// Query is a request for one page, as the client sent it: zero From and To
// and Limit and empty Kinds mean the defaults (the last 30 days up to now,
// 50 items, every kind). Lang is the language of the summaries ("it" or
// "en").
type Query struct {
	From, To time.Time
	Kinds    []Kind
	Limit    int
	Cursor   *Cursor
	Lang     string
}

// ParseQuery reads the query parameters from, to (RFC 3339), kinds (a
// comma-separated list of Kinds), limit (1 to MaxLimit) and cursor (a
// previous page's next) through get, which returns "" for an absent one.
// Malformed values are 400 request.invalid_query; an unknown kind is 422
// timeline.unknown_kind and a cursor this server did not write 422
// timeline.invalid_cursor. It never panics, whatever the input (fuzzed).
func ParseQuery(get func(string) string) (Query, error) {
	var q Query
	var err error
	if q.From, err = parseTime(get("from"), "from"); err != nil {
		return q, err
	}
	if q.To, err = parseTime(get("to"), "to"); err != nil {
		return q, err
	}
	if q.Kinds, err = ParseKinds(get("kinds")); err != nil {
		return q, err
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return q, backend.Invalid(CodeInvalidQuery, "limit", "1 to 200")
		}
		q.Limit = n
	}
	if v := get("cursor"); v != "" {
		c, err := ParseCursor(v)
		if err != nil {
			return q, err
		}
		q.Cursor = &c
	}
	return q, nil
}

func parseTime(v, field string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	// PostgreSQL holds microseconds; years outside 1900..2999 (in UTC,
	// where the period is answered) are no period of a care home's record.
	if err != nil || t.UTC().Year() < 1900 || t.UTC().Year() > 2999 {
		return time.Time{}, backend.Invalid(CodeInvalidQuery, field, "an RFC 3339 time, e.g. 2026-03-01T08:00:00+01:00")
	}
	return t.UTC().Truncate(time.Microsecond), nil
}

// ParseKinds reads a comma-separated list of kinds; blanks around names
// and empty elements are ignored, duplicates dropped. Empty means every
// kind (nil).
func ParseKinds(v string) ([]Kind, error) {
	var out []Kind
	for _, s := range strings.Split(v, ",") {
		k := Kind(strings.TrimSpace(s))
		if k == "" {
			continue
		}
		if !ValidKind(k) {
			return nil, &backend.Error{Kind: backend.KindUnprocessable, Code: CodeUnknownKind,
				Detail: "kinds are among " + kindList(), Fields: map[string]string{"kinds": "unknown kind"}}
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Normalise applies the defaults against now and checks the period: from
// before to, and at most MaxPeriod long. Kinds empty become every kind.
func (q Query) Normalise(now time.Time) (Query, error) {
	now = now.UTC().Truncate(time.Microsecond)
	switch {
	case q.To.IsZero() && q.From.IsZero():
		q.To = now
		q.From = now.Add(-DefaultPeriod)
	case q.To.IsZero():
		q.To = now
	case q.From.IsZero():
		q.From = q.To.Add(-DefaultPeriod)
	}
	if q.From.Year() < 1900 {
		q.From = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if !q.From.Before(q.To) {
		return q, &backend.Error{Kind: backend.KindUnprocessable, Code: CodeInvalidPeriod, Detail: "from must be before to",
			Fields: map[string]string{"from": "before to"}}
	}
	if q.To.Sub(q.From) > MaxPeriod {
		return q, &backend.Error{Kind: backend.KindUnprocessable, Code: CodePeriodTooLong, Detail: "at most 366 days per request",
			Fields: map[string]string{"from": "at most 366 days before to"}}
	}
	if len(q.Kinds) == 0 {
		q.Kinds = append([]Kind(nil), Kinds...)
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Lang != "en" {
		q.Lang = "it"
	}
	return q, nil
}

// Cursor is a position in the feed: the last item of a page. The next page
// holds the items strictly after it, newest first by (at, kind, id).
type Cursor struct {
	At   time.Time
	Kind Kind
	ID   uuid.UUID
}

// cursorVersion is the first byte of an encoded cursor, so that the format
// can change without misreading old ones.
const cursorVersion = 1

// String encodes the cursor: opaque to clients (base64url of a version
// byte, the time in microseconds, the id and the kind's name).
func (c Cursor) String() string {
	b := make([]byte, 0, 1+8+16+len(c.Kind))
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.At.UnixMicro()))
	b = append(b, c.ID[:]...)
	b = append(b, c.Kind...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxCursorLen bounds what is decoded: the longest kind name is far below.
const maxCursorLen = 128

// ParseCursor decodes a cursor written by Cursor.String. Anything else is
// 422 timeline.invalid_cursor.
func ParseCursor(s string) (Cursor, error) {
	bad := &backend.Error{Kind: backend.KindUnprocessable, Code: CodeInvalidCursor,
		Detail: "use next from the previous page", Fields: map[string]string{"cursor": "not a cursor of this feed"}}
	if len(s) > maxCursorLen {
		return Cursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 1+8+16+1 || b[0] != cursorVersion {
		return Cursor{}, bad
	}
	at := time.UnixMicro(int64(binary.BigEndian.Uint64(b[1:9]))).UTC()
	if at.Year() < 1 || at.Year() > 9999 {
		return Cursor{}, bad
	}
	id, err := uuid.FromBytes(b[9:25])
	if err != nil {
		return Cursor{}, bad
	}
	k := Kind(b[25:])
	if !ValidKind(k) {
		return Cursor{}, bad
	}
	return Cursor{At: at, Kind: k, ID: id}, nil
}
