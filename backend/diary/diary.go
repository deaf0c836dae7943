// Package diary is the clinical diary (diario clinico): dated entries by
// profession, signed by their author, never edited. A later note is an
// addendum linked to its entry; a mistake is an entered-in-error correction
// linked to it, with a reason, and the original stays readable, marked.
// Each entry carries the SHA-256 of its canonical content, recomputed on
// every read, so a change made behind the application's back shows.
// Who reads which profession's entries is access.ReadsDiary; entries the
// caller may not read are simply absent.
package diary

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/google/uuid"
)

// Link kinds: what an entry is to the one it links to.
const (
	LinkAddendum       = "addendum"
	LinkEnteredInError = "entered_in_error"
)

// Limits of an entry.
const (
	MaxTextRunes   = 4000
	MaxReasonRunes = 500
	// MaxBackdate is how far back an entry's occurred_at may go: later
	// than that, the record of the time is an addendum's job.
	MaxBackdate = 72 * time.Hour
	// clockSkew tolerates a tablet clock slightly ahead of ours.
	clockSkew = 2 * time.Minute
)

// Entry is one diary entry: an original note, an addendum to one, or the
// correction that marks one entered in error (its text is the reason).
type Entry struct {
	ID         uuid.UUID         `json:"id"`
	ResidentID uuid.UUID         `json:"resident_id"`
	Profession access.Profession `json:"profession"`
	Text       string            `json:"text"`
	OccurredAt time.Time         `json:"occurred_at"`
	AuthorID   uuid.UUID         `json:"author_id"`
	AuthorName string            `json:"author_name"`
	RecordedAt time.Time         `json:"recorded_at"`
	LinkKind   string            `json:"link_kind,omitempty"`
	LinksTo    *uuid.UUID        `json:"links_to,omitempty"`
	Signature  string            `json:"signature"` // hex SHA-256 of the canonical content
	// SignatureValid is false when the stored content no longer matches its
	// signature: the row was changed outside the application.
	SignatureValid bool `json:"signature_valid"`
	// EnteredInError is the correction of this entry, if any.
	EnteredInError *Correction `json:"entered_in_error,omitempty"`
	// Addenda are the addenda of an original entry, oldest first.
	Addenda []Entry `json:"addenda,omitempty"`
}

// Correction is what a reader sees of an entered-in-error mark.
type Correction struct {
	ID             uuid.UUID `json:"id"`
	Reason         string    `json:"reason"`
	By             uuid.UUID `json:"by"`
	ByName         string    `json:"by_name"`
	At             time.Time `json:"at"`
	SignatureValid bool      `json:"signature_valid"`
}

// canonical is the signed content, in a fixed order, times in UTC to the
// microsecond (what PostgreSQL keeps).
func (e *Entry) canonical() []byte {
	links := ""
	if e.LinksTo != nil {
		links = e.LinksTo.String()
	}
	b, _ := json.Marshal([]string{"corsia.diary.v1", e.ResidentID.String(), string(e.Profession), e.Text,
		stamp(e.OccurredAt), e.AuthorID.String(), stamp(e.RecordedAt), e.LinkKind, links})
	return b
}

func stamp(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano) }

// Sign computes e's signature from its content.
func Sign(e *Entry) string {
	sum := sha256.Sum256(e.canonical())
	return hex.EncodeToString(sum[:])
}

// Verify recomputes e's signature and sets SignatureValid.
func Verify(e *Entry) bool {
	want := Sign(e)
	e.SignatureValid = subtle.ConstantTimeCompare([]byte(want), []byte(e.Signature)) == 1
	return e.SignatureValid
}

// cleanText checks free text: valid UTF-8, no control characters but line
// breaks and tabs, not blank, at most max characters.
func cleanText(s, field, code string, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", backend.Invalid(code, field, "not valid UTF-8")
	}
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if s == "" {
		return "", backend.Invalid(code, field, "required")
	}
	if utf8.RuneCountInString(s) > max {
		return "", backend.Invalid(code, field, "too long")
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return "", backend.Invalid(code, field, "no control characters")
		}
	}
	return s, nil
}

// checkOccurred defaults occurred to now and bounds it: not in the future,
// not older than MaxBackdate.
func checkOccurred(occurred, now time.Time) (time.Time, error) {
	if occurred.IsZero() {
		return now, nil
	}
	switch {
	case occurred.After(now.Add(clockSkew)):
		return time.Time{}, backend.Invalid("diary.in_future", "occurred_at", "not in the future")
	case occurred.Before(now.Add(-MaxBackdate)):
		return time.Time{}, backend.Invalid("diary.too_old", "occurred_at", "at most 72 hours ago; add an addendum to an existing entry")
	}
	return occurred, nil
}

// NewEntry is an entry as written.
type NewEntry struct {
	// Profession may be left empty by a member holding one profession.
	Profession access.Profession `json:"profession"`
	Text       string            `json:"text"`
	OccurredAt time.Time         `json:"occurred_at"`
}

// Query selects a resident's entries.
type Query struct {
	Profession access.Profession // "" for every readable one
	From, To   time.Time         // occurred_at in [From, To); zero: open
	Before     *Cursor           // the page after this cursor
	Limit      int
}

// Cursor is where a page ended: newest first by (occurred_at, id).
type Cursor struct {
	OccurredAt time.Time
	ID         uuid.UUID
}

// String encodes the cursor for the next request's before.
func (c Cursor) String() string {
	return c.OccurredAt.UTC().Format(time.RFC3339Nano) + "_" + c.ID.String()
}

// ParseCursor reads a cursor written by Cursor.String.
func ParseCursor(s string) (*Cursor, error) {
	bad := backend.Invalid("diary.invalid_cursor", "before", "use next_before from the previous page")
	at, id, ok := strings.Cut(s, "_")
	if !ok {
		return nil, bad
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return nil, bad
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return nil, bad
	}
	return &Cursor{OccurredAt: t, ID: u}, nil
}

// Page is one page of a resident's diary.
type Page struct {
	Entries    []Entry `json:"entries"`
	NextBefore string  `json:"next_before,omitempty"`
}

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)
