package rehab

import (
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
)

// A plan's occurrences: its weekdays, within its dates, at the facility's
// wall-clock time across the DST change.
func TestPlanOccurs(t *testing.T) {
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Skip(err)
	}
	end := "2026-04-10"
	p := Plan{Weekdays: []int{1, 3, 7}, Time: "09:30", StartDate: "2026-03-20", EndDate: &end}
	day := func(s string) time.Time { d, _ := time.ParseInLocation(DateLayout, s, rome); return d }
	for _, c := range []struct {
		date string
		ok   bool
		utc  string
	}{
		{"2026-03-23", true, "2026-03-23T08:30:00Z"}, // Monday, CET
		{"2026-03-29", true, "2026-03-29T07:30:00Z"}, // Sunday, the DST change: CEST
		{"2026-03-24", false, ""},                    // Tuesday
		{"2026-03-16", false, ""},                    // before the start
		{"2026-04-12", false, ""},                    // Sunday after the end
	} {
		at, ok := p.Occurs(day(c.date), rome)
		if ok != c.ok || (ok && at.Format(time.RFC3339) != c.utc) {
			t.Errorf("%s: %v %s", c.date, ok, at)
		}
	}
}

func TestSessionValidate(t *testing.T) {
	now := time.Now()
	d := 30
	for _, c := range []struct {
		r    SessionRequest
		code string
	}{
		{SessionRequest{Type: "yoga", Outcome: Done, DurationMin: &d}, "rehab.unknown_type"},
		{SessionRequest{Type: Speech, Outcome: Done}, "rehab.duration_required"},
		{SessionRequest{Type: Speech, Outcome: NotDone, Reason: " "}, "rehab.reason_required"},
		{SessionRequest{Type: Speech, Outcome: "maybe"}, "rehab.unknown_outcome"},
		{SessionRequest{Type: Speech, Outcome: Done, DurationMin: &d, PlannedFor: &now}, "rehab.planned_for_required"},
		{SessionRequest{Type: Speech, Outcome: Done, DurationMin: &d, OutcomeMeasure: &Measure{}}, "rehab.invalid_measure"},
		{SessionRequest{Type: Speech, Outcome: Done, DurationMin: &d}, ""},
	} {
		err := c.r.Validate(now)
		if (c.code == "") != (err == nil) || (err != nil && backend.AsError(err).Code != c.code) {
			t.Errorf("%+v: %v, want %s", c.r, err, c.code)
		}
	}
}

// An occurrence is reopened only when every session on it was entered in
// error, at the attempt after the last.
func TestLive(t *testing.T) {
	c := &Correction{Reason: "ospite sbagliato"}
	if live, next := Live(nil); live != nil || next != 1 {
		t.Fatalf("none: %v %d", live, next)
	}
	if live, next := Live([]Session{{Attempt: 1, EnteredInError: c}, {Attempt: 2, EnteredInError: c}}); live != nil || next != 3 {
		t.Fatalf("two corrected: %v %d", live, next)
	}
	s := []Session{{Attempt: 1, EnteredInError: c}, {Attempt: 2, Outcome: Done}}
	if live, next := Live(s); live != &s[1] || next != 0 {
		t.Fatalf("second live: %v %d", live, next)
	}
}
