package diary

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestSignatureCoversContent(t *testing.T) {
	t.Parallel()
	orig := uuid.New()
	base := Entry{ID: uuid.New(), ResidentID: uuid.New(), Profession: "nursing", Text: "Notte tranquilla.",
		OccurredAt: time.Date(2026, 3, 1, 6, 0, 0, 123456789, time.UTC), AuthorID: uuid.New(),
		RecordedAt: time.Date(2026, 3, 1, 6, 5, 0, 0, time.UTC), LinkKind: LinkAddendum, LinksTo: &orig}
	base.Signature = Sign(&base)
	if !Verify(&base) {
		t.Fatal("a fresh signature does not verify")
	}
	// What PostgreSQL gives back (microseconds, another zone) still verifies.
	back := base
	back.OccurredAt = base.OccurredAt.Truncate(time.Microsecond).In(time.FixedZone("CET", 3600))
	if !Verify(&back) {
		t.Error("the stored precision does not verify")
	}
	other := uuid.New()
	for name, change := range map[string]func(*Entry){
		"text":        func(e *Entry) { e.Text += " " },
		"resident":    func(e *Entry) { e.ResidentID = uuid.New() },
		"profession":  func(e *Entry) { e.Profession = "medical" },
		"occurred_at": func(e *Entry) { e.OccurredAt = e.OccurredAt.Add(time.Minute) },
		"recorded_at": func(e *Entry) { e.RecordedAt = e.RecordedAt.Add(time.Second) },
		"author":      func(e *Entry) { e.AuthorID = uuid.New() },
		"link":        func(e *Entry) { e.LinksTo = &other },
		"link_kind":   func(e *Entry) { e.LinkKind = LinkEnteredInError },
	} {
		e := base
		change(&e)
		if Verify(&e) {
			t.Errorf("a changed %s still verifies", name)
		}
	}
}

func TestCleanText(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{"Nota\ncon a capo\te tab": true, "  ": false, "bell\a": false,
		string([]byte{0xff, 'a'}): false, "àèìòù €": true} {
		if _, err := cleanText(in, "text", "diary.invalid_text", 100); (err == nil) != ok {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	c := Cursor{OccurredAt: time.Date(2026, 3, 1, 6, 0, 0, 123456000, time.UTC), ID: uuid.New()}
	got, err := ParseCursor(c.String())
	if err != nil || !got.OccurredAt.Equal(c.OccurredAt) || got.ID != c.ID {
		t.Fatalf("%v %v", got, err)
	}
}
