package therapy

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the property tests need these zones even where the system has no zoneinfo

	"github.com/corsia-cce/corsia/backend"
	"pgregory.net/rapid"
)

func schedLoadLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func schedZ(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v.UTC()
}

func schedFormat(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Format(time.RFC3339)
	}
	return out
}

func TestScheduleExpandRome(t *testing.T) {
	rome := schedLoadLoc(t, "Europe/Rome")
	z := func(s string) time.Time { return schedZ(t, s) }
	daily := func(times ...string) Schedule { return Schedule{Kind: ScheduleTimes, Times: times} }
	longAgo := z("2026-01-01T00:00:00Z")

	cases := []struct {
		name                  string
		s                     Schedule
		start, end, from, to  time.Time
		want                  []string
		wantElapsedEveryHours time.Duration // when set, every gap between doses must be exactly this
	}{
		{
			name: "daily 08:00 across spring forward stays 08:00 local",
			s:    daily("08:00"), start: longAgo,
			from: z("2026-03-27T00:00:00Z"), to: z("2026-03-31T00:00:00Z"),
			want: []string{"2026-03-27T07:00:00Z", "2026-03-28T07:00:00Z", "2026-03-29T06:00:00Z", "2026-03-30T06:00:00Z"},
		},
		{
			name: "daily 08:00 across fall back stays 08:00 local",
			s:    daily("08:00"), start: longAgo,
			from: z("2026-10-23T00:00:00Z"), to: z("2026-10-27T00:00:00Z"),
			want: []string{"2026-10-23T06:00:00Z", "2026-10-24T06:00:00Z", "2026-10-25T07:00:00Z", "2026-10-26T07:00:00Z"},
		},
		{
			name: "02:30 in the spring gap happens once at 03:30 CEST",
			s:    daily("02:30"), start: longAgo,
			from: z("2026-03-28T00:00:00Z"), to: z("2026-03-31T00:00:00Z"),
			want: []string{"2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"},
		},
		{
			name: "02:30 in the autumn overlap happens once, at its first occurrence",
			s:    daily("02:30"), start: longAgo,
			from: z("2026-10-24T00:00:00Z"), to: z("2026-10-27T00:00:00Z"),
			want: []string{"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
		},
		{
			name: "02:30 moved onto 03:30 is one dose",
			s:    daily("03:30", "02:30"), start: longAgo,
			from: z("2026-03-29T00:00:00Z"), to: z("2026-03-30T00:00:00Z"),
			want: []string{"2026-03-29T01:30:00Z"},
		},
		{
			name: "02:30 moved past 03:15 keeps the output ordered",
			s:    daily("02:30", "03:15"), start: longAgo,
			from: z("2026-03-29T00:00:00Z"), to: z("2026-03-30T00:00:00Z"),
			want: []string{"2026-03-29T01:15:00Z", "2026-03-29T01:30:00Z"},
		},
		{
			name: "around the autumn overlap: 01:59, 02:00 and 02:59 first occurrence, 03:00 after",
			s:    daily("01:59", "02:00", "02:59", "03:00"), start: longAgo,
			from: z("2026-10-24T22:00:00Z"), to: z("2026-10-25T12:00:00Z"),
			want: []string{"2026-10-24T23:59:00Z", "2026-10-25T00:00:00Z", "2026-10-25T00:59:00Z", "2026-10-25T02:00:00Z"},
		},
		{
			name: "around the spring gap: 01:59 before, 02:00 moved to 03:00, 03:00 the same instant",
			s:    daily("01:59", "02:00", "03:00"), start: longAgo,
			from: z("2026-03-28T22:00:00Z"), to: z("2026-03-29T12:00:00Z"),
			want: []string{"2026-03-29T00:59:00Z", "2026-03-29T01:00:00Z"},
		},
		{
			name:  "every 8 hours across spring forward: 8 h elapsed, wall time shifts",
			s:     Schedule{Kind: ScheduleEveryHours, EveryHours: 8},
			start: z("2026-03-28T21:00:00Z"), // 22:00 CET
			from:  z("2026-03-28T00:00:00Z"), to: z("2026-03-30T00:00:00Z"),
			want:                  []string{"2026-03-28T21:00:00Z", "2026-03-29T05:00:00Z", "2026-03-29T13:00:00Z", "2026-03-29T21:00:00Z"},
			wantElapsedEveryHours: 8 * time.Hour,
		},
		{
			name:  "every 8 hours across fall back: 8 h elapsed, wall time shifts",
			s:     Schedule{Kind: ScheduleEveryHours, EveryHours: 8},
			start: z("2026-10-24T20:00:00Z"), // 22:00 CEST
			from:  z("2026-10-24T00:00:00Z"), to: z("2026-10-26T00:00:00Z"),
			want:                  []string{"2026-10-24T20:00:00Z", "2026-10-25T04:00:00Z", "2026-10-25T12:00:00Z", "2026-10-25T20:00:00Z"},
			wantElapsedEveryHours: 8 * time.Hour,
		},
		{
			name:  "every 8 hours, window starting between doses",
			s:     Schedule{Kind: ScheduleEveryHours, EveryHours: 8},
			start: z("2026-03-28T21:00:00Z"),
			from:  z("2026-03-29T05:00:01Z"), to: z("2026-03-29T21:00:00Z"),
			want: []string{"2026-03-29T13:00:00Z"},
		},
		{
			name:  "weekdays Mon/Wed/Fri 09:00 over the spring change week",
			s:     Schedule{Kind: ScheduleWeekdays, Times: []string{"09:00"}, Weekdays: []int{5, 1, 3}},
			start: longAgo,
			from:  z("2026-03-22T23:00:00Z"), to: z("2026-03-31T00:00:00Z"), // Mon 23 March 00:00 CET onwards
			want: []string{"2026-03-23T08:00:00Z", "2026-03-25T08:00:00Z", "2026-03-27T08:00:00Z", "2026-03-30T07:00:00Z"},
		},
		{
			name:  "weekdays Sunday only: the change day itself",
			s:     Schedule{Kind: ScheduleWeekdays, Times: []string{"02:30", "20:00"}, Weekdays: []int{7}},
			start: longAgo,
			from:  z("2026-10-20T00:00:00Z"), to: z("2026-11-02T00:00:00Z"),
			want: []string{"2026-10-25T00:30:00Z", "2026-10-25T19:00:00Z", "2026-11-01T01:30:00Z", "2026-11-01T19:00:00Z"},
		},
		{
			name:  "every 2 days from the start's local date, times before the start skipped",
			s:     Schedule{Kind: ScheduleEveryDays, Times: []string{"20:00", "08:00"}, EveryDays: 2},
			start: z("2026-10-23T08:00:00Z"), // 10:00 CEST, Friday 23 October
			from:  z("2026-10-20T00:00:00Z"), to: z("2026-10-28T00:00:00Z"),
			want: []string{"2026-10-23T18:00:00Z", "2026-10-25T07:00:00Z", "2026-10-25T19:00:00Z", "2026-10-27T07:00:00Z", "2026-10-27T19:00:00Z"},
		},
		{
			name:  "every 3 days counts calendar days, not 24 h periods",
			s:     Schedule{Kind: ScheduleEveryDays, Times: []string{"00:30"}, EveryDays: 3},
			start: z("2026-03-26T23:30:00Z"), // 00:30 CET, Friday 27 March
			from:  z("2026-03-01T00:00:00Z"), to: z("2026-04-03T00:00:00Z"),
			want: []string{"2026-03-26T23:30:00Z", "2026-03-29T22:30:00Z" /* 30 March 00:30 CEST */, "2026-04-01T22:30:00Z" /* 2 April 00:30 CEST */},
		},
		{
			name:  "once inside the window",
			s:     Schedule{Kind: ScheduleOnce},
			start: z("2026-03-29T01:30:00Z"),
			from:  z("2026-03-29T00:00:00Z"), to: z("2026-03-30T00:00:00Z"),
			want: []string{"2026-03-29T01:30:00Z"},
		},
		{
			name:  "once: from is inclusive",
			s:     Schedule{Kind: ScheduleOnce},
			start: z("2026-03-29T01:30:00Z"),
			from:  z("2026-03-29T01:30:00Z"), to: z("2026-03-29T01:31:00Z"),
			want: []string{"2026-03-29T01:30:00Z"},
		},
		{
			name:  "once: to is exclusive",
			s:     Schedule{Kind: ScheduleOnce},
			start: z("2026-03-29T01:30:00Z"),
			from:  z("2026-03-29T00:00:00Z"), to: z("2026-03-29T01:30:00Z"),
			want: nil,
		},
		{
			name:  "once: end at the start is empty",
			s:     Schedule{Kind: ScheduleOnce},
			start: z("2026-03-29T01:30:00Z"), end: z("2026-03-29T01:30:00Z"),
			from: z("2026-03-29T00:00:00Z"), to: z("2026-03-30T00:00:00Z"),
			want: nil,
		},
		{
			name:  "prn has no scheduled doses",
			s:     Schedule{Kind: SchedulePRN},
			start: longAgo,
			from:  z("2026-03-29T00:00:00Z"), to: z("2026-04-30T00:00:00Z"),
			want: nil,
		},
		{
			name: "end is exclusive",
			s:    daily("08:00", "20:00"), start: longAgo, end: z("2026-03-29T06:00:00Z"),
			from: z("2026-03-28T00:00:00Z"), to: z("2026-03-31T00:00:00Z"),
			want: []string{"2026-03-28T07:00:00Z", "2026-03-28T19:00:00Z"},
		},
		{
			name: "to is exclusive, from inclusive",
			s:    daily("08:00", "20:00"), start: longAgo,
			from: z("2026-03-28T07:00:00Z"), to: z("2026-03-29T06:00:00Z"),
			want: []string{"2026-03-28T07:00:00Z", "2026-03-28T19:00:00Z"},
		},
		{
			name: "a time earlier than the start on the start's date is not due",
			s:    daily("08:00", "20:00"), start: z("2026-03-28T09:00:00Z"),
			from: z("2026-03-28T00:00:00Z"), to: z("2026-03-29T12:00:00Z"),
			want: []string{"2026-03-28T19:00:00Z", "2026-03-29T06:00:00Z"},
		},
		{
			name: "empty window",
			s:    daily("08:00"), start: longAgo,
			from: z("2026-03-28T07:00:00Z"), to: z("2026-03-28T07:00:00Z"),
			want: nil,
		},
		{
			name:  "invalid schedule has no doses",
			s:     Schedule{Kind: ScheduleTimes, Times: []string{"8:00"}},
			start: longAgo,
			from:  z("2026-03-28T00:00:00Z"), to: z("2026-03-29T00:00:00Z"),
			want: nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.Expand(rome, tc.start, tc.end, tc.from, tc.to)
			if !slices.Equal(schedFormat(got), tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("Expand:\n got  %v\n want %v", schedFormat(got), tc.want)
			}
			for _, g := range got {
				if g.Location() != time.UTC {
					t.Errorf("%v is not in UTC", g)
				}
			}
			if tc.wantElapsedEveryHours > 0 {
				for i := 1; i < len(got); i++ {
					if d := got[i].Sub(got[i-1]); d != tc.wantElapsedEveryHours {
						t.Errorf("dose %d comes %v after the previous one", i, d)
					}
				}
			}
		})
	}
}

func TestScheduleWallClockOnChangeDays(t *testing.T) {
	rome := schedLoadLoc(t, "Europe/Rome")
	s := Schedule{Kind: ScheduleTimes, Times: []string{"08:00"}}
	from := schedZ(t, "2026-01-01T00:00:00Z")
	got := s.Expand(rome, from, time.Time{}, from, schedZ(t, "2027-01-01T00:00:00Z"))
	if len(got) != 365 {
		t.Fatalf("%d doses in 2026, want 365", len(got))
	}
	for _, g := range got {
		if h, m, _ := g.In(rome).Clock(); h != 8 || m != 0 {
			t.Fatalf("%v is %02d:%02d in Rome", g, h, m)
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	cases := []struct {
		name  string
		s     Schedule
		field string // "" = valid
	}{
		{"times", Schedule{Kind: ScheduleTimes, Times: []string{"08:00", "20:00", "08:00"}}, ""},
		{"times boundaries", Schedule{Kind: ScheduleTimes, Times: []string{"00:00", "23:59", "19:59", "20:00"}}, ""},
		{"every_hours", Schedule{Kind: ScheduleEveryHours, EveryHours: 168}, ""},
		{"weekdays", Schedule{Kind: ScheduleWeekdays, Times: []string{"09:00"}, Weekdays: []int{7, 1, 1}}, ""},
		{"every_days", Schedule{Kind: ScheduleEveryDays, Times: []string{"09:00"}, EveryDays: 366}, ""},
		{"once", Schedule{Kind: ScheduleOnce}, ""},
		{"prn", Schedule{Kind: SchedulePRN}, ""},
		{"24 times", Schedule{Kind: ScheduleTimes, Times: slices.Repeat([]string{"08:00"}, 24)}, ""},

		{"no kind", Schedule{}, "schedule.kind"},
		{"unknown kind", Schedule{Kind: "daily", Times: []string{"08:00"}}, "schedule.kind"},
		{"times missing", Schedule{Kind: ScheduleTimes}, "schedule.times"},
		{"times empty", Schedule{Kind: ScheduleTimes, Times: []string{}}, "schedule.times"},
		{"25 times", Schedule{Kind: ScheduleTimes, Times: slices.Repeat([]string{"08:00"}, 25)}, "schedule.times"},
		{"hour 24", Schedule{Kind: ScheduleTimes, Times: []string{"24:00"}}, "schedule.times"},
		{"one digit hour", Schedule{Kind: ScheduleTimes, Times: []string{"8:00"}}, "schedule.times"},
		{"minute 60", Schedule{Kind: ScheduleTimes, Times: []string{"08:60"}}, "schedule.times"},
		{"seconds", Schedule{Kind: ScheduleTimes, Times: []string{"08:00:00"}}, "schedule.times"},
		{"trailing newline", Schedule{Kind: ScheduleTimes, Times: []string{"08:00\n"}}, "schedule.times"},
		{"dot", Schedule{Kind: ScheduleTimes, Times: []string{"08.00"}}, "schedule.times"},
		{"non-ascii digit", Schedule{Kind: ScheduleTimes, Times: []string{"0٨:00"}}, "schedule.times"},
		{"times with every_hours", Schedule{Kind: ScheduleEveryHours, EveryHours: 8, Times: []string{"08:00"}}, "schedule.times"},
		{"times with once", Schedule{Kind: ScheduleOnce, Times: []string{"08:00"}}, "schedule.times"},
		{"times with prn", Schedule{Kind: SchedulePRN, Times: []string{"08:00"}}, "schedule.times"},
		{"every_hours 0", Schedule{Kind: ScheduleEveryHours}, "schedule.every_hours"},
		{"every_hours 169", Schedule{Kind: ScheduleEveryHours, EveryHours: 169}, "schedule.every_hours"},
		{"every_hours negative", Schedule{Kind: ScheduleEveryHours, EveryHours: -8}, "schedule.every_hours"},
		{"every_hours with times", Schedule{Kind: ScheduleTimes, Times: []string{"08:00"}, EveryHours: 8}, "schedule.every_hours"},
		{"every_hours with prn", Schedule{Kind: SchedulePRN, EveryHours: 8}, "schedule.every_hours"},
		{"weekdays missing", Schedule{Kind: ScheduleWeekdays, Times: []string{"09:00"}}, "schedule.weekdays"},
		{"weekday 0", Schedule{Kind: ScheduleWeekdays, Times: []string{"09:00"}, Weekdays: []int{0}}, "schedule.weekdays"},
		{"weekday 8", Schedule{Kind: ScheduleWeekdays, Times: []string{"09:00"}, Weekdays: []int{1, 8}}, "schedule.weekdays"},
		{"weekdays without times", Schedule{Kind: ScheduleWeekdays, Weekdays: []int{1}}, "schedule.times"},
		{"weekdays with times kind", Schedule{Kind: ScheduleTimes, Times: []string{"09:00"}, Weekdays: []int{1}}, "schedule.weekdays"},
		{"weekdays with once", Schedule{Kind: ScheduleOnce, Weekdays: []int{1}}, "schedule.weekdays"},
		{"every_days 1", Schedule{Kind: ScheduleEveryDays, Times: []string{"09:00"}, EveryDays: 1}, "schedule.every_days"},
		{"every_days 367", Schedule{Kind: ScheduleEveryDays, Times: []string{"09:00"}, EveryDays: 367}, "schedule.every_days"},
		{"every_days missing", Schedule{Kind: ScheduleEveryDays, Times: []string{"09:00"}}, "schedule.every_days"},
		{"every_days without times", Schedule{Kind: ScheduleEveryDays, EveryDays: 2}, "schedule.times"},
		{"every_days with weekdays kind", Schedule{Kind: ScheduleWeekdays, Times: []string{"09:00"}, Weekdays: []int{1}, EveryDays: 2}, "schedule.every_days"},
		{"every_days with prn", Schedule{Kind: SchedulePRN, EveryDays: 2}, "schedule.every_days"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", tc.s)
			}
			e := backend.AsError(err)
			if e.Kind != backend.KindInvalid || e.Code != "schedule.invalid" {
				t.Fatalf("error %v: kind %v code %q", err, e.Kind, e.Code)
			}
			if _, ok := e.Fields[tc.field]; !ok || len(e.Fields) != 1 {
				t.Fatalf("error %v names fields %v, want %s", err, e.Fields, tc.field)
			}
		})
	}
}

func TestScheduleNormalised(t *testing.T) {
	in := Schedule{Kind: ScheduleWeekdays, Times: []string{"20:00", "08:00", "20:00", "00:30"}, Weekdays: []int{7, 1, 3, 1}}
	times, weekdays := slices.Clone(in.Times), slices.Clone(in.Weekdays)
	got := in.Normalised()
	if !slices.Equal(got.Times, []string{"00:30", "08:00", "20:00"}) || !slices.Equal(got.Weekdays, []int{1, 3, 7}) {
		t.Fatalf("Normalised: %+v", got)
	}
	if !slices.Equal(in.Times, times) || !slices.Equal(in.Weekdays, weekdays) {
		t.Fatalf("Normalised changed its receiver: %+v", in)
	}
	if got := (Schedule{Kind: SchedulePRN}).Normalised(); got.Times != nil || got.Weekdays != nil {
		t.Fatalf("Normalised invented slices: %+v", got)
	}
}

func TestScheduleMoreOftenThanDaily(t *testing.T) {
	cases := []struct {
		s    Schedule
		want bool
	}{
		{Schedule{Kind: ScheduleTimes, Times: []string{"08:00"}}, false},
		{Schedule{Kind: ScheduleTimes, Times: []string{"08:00", "08:00"}}, false},
		{Schedule{Kind: ScheduleTimes, Times: []string{"08:00", "20:00"}}, true},
		{Schedule{Kind: ScheduleEveryHours, EveryHours: 8}, true},
		{Schedule{Kind: ScheduleEveryHours, EveryHours: 23}, true},
		{Schedule{Kind: ScheduleEveryHours, EveryHours: 24}, false},
		{Schedule{Kind: ScheduleEveryHours, EveryHours: 48}, false},
		{Schedule{Kind: ScheduleWeekdays, Times: []string{"08:00", "20:00"}, Weekdays: []int{1}}, true},
		{Schedule{Kind: ScheduleWeekdays, Times: []string{"08:00"}, Weekdays: []int{1, 2, 3}}, false},
		{Schedule{Kind: ScheduleEveryDays, Times: []string{"08:00", "20:00"}, EveryDays: 2}, true},
		{Schedule{Kind: ScheduleEveryDays, Times: []string{"08:00"}, EveryDays: 2}, false},
		{Schedule{Kind: ScheduleOnce}, false},
		{Schedule{Kind: SchedulePRN}, false},
	}
	for _, tc := range cases {
		if got := tc.s.MoreOftenThanDaily(); got != tc.want {
			t.Errorf("%+v: MoreOftenThanDaily = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestScheduleExpandAllocations(t *testing.T) {
	rome := schedLoadLoc(t, "Europe/Rome")
	s := Schedule{Kind: ScheduleTimes, Times: []string{"08:00", "12:00", "18:00", "22:00"}}
	start := schedZ(t, "2026-01-01T00:00:00Z")
	from := schedZ(t, "2026-03-28T00:00:00Z")
	to := from.Add(48 * time.Hour)
	var n int
	allocs := testing.AllocsPerRun(100, func() { n = len(s.Expand(rome, start, time.Time{}, from, to)) })
	if n != 8 {
		t.Fatalf("%d doses in 48 h, want 8", n)
	}
	if allocs > 1 {
		t.Fatalf("Expand over 48 h allocates %v times, want at most 1 (the result)", allocs)
	}
	e := Schedule{Kind: ScheduleEveryHours, EveryHours: 6}
	if allocs := testing.AllocsPerRun(100, func() { e.Expand(rome, start, time.Time{}, from, to) }); allocs > 1 {
		t.Fatalf("every_hours Expand over 48 h allocates %v times", allocs)
	}
}

func TestScheduleExpandHugeRangeIsCapped(t *testing.T) {
	rome := schedLoadLoc(t, "Europe/Rome")
	s := Schedule{Kind: ScheduleEveryHours, EveryHours: 1}
	start := schedZ(t, "2026-01-01T00:00:00Z")
	got := s.Expand(rome, start, time.Time{}, time.Time{}, start.AddDate(1000, 0, 0))
	if len(got) != 400*24 {
		t.Fatalf("%d doses, want the 400 days that fit: %d", len(got), 400*24)
	}
	w := Schedule{Kind: ScheduleTimes, Times: []string{"08:00"}}
	got = w.Expand(rome, time.Time{}, time.Time{}, schedZ(t, "0001-01-01T00:00:00Z"), schedZ(t, "9999-01-01T00:00:00Z"))
	if len(got) < 399 || len(got) > 401 {
		t.Fatalf("%d doses, want about 400", len(got))
	}
	// An every_hours start centuries before the window must not overflow.
	got = s.Expand(rome, schedZ(t, "0001-01-01T00:00:00Z"), time.Time{}, start, start.Add(3*time.Hour))
	if want := []string{"2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"}; !slices.Equal(schedFormat(got), want) {
		t.Fatalf("got %v, want %v", schedFormat(got), want)
	}
}

// --- property-based tests ---

var schedZoneNames = []string{"Europe/Rome", "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Tokyo", "America/Sao_Paulo", "Pacific/Chatham"}

var (
	schedZonesOnce sync.Once
	schedZones     map[string]*time.Location
	schedChanges   map[string][]time.Time // each zone's offset changes in 2025–2028
)

func schedLoadZones(t testing.TB) {
	schedZonesOnce.Do(func() {
		schedZones = map[string]*time.Location{}
		schedChanges = map[string][]time.Time{}
		for _, name := range schedZoneNames {
			loc := schedLoadLoc(t, name)
			schedZones[name] = loc
			until := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
			at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).In(loc)
			for {
				_, end := at.ZoneBounds()
				if end.IsZero() || !end.Before(until) {
					break
				}
				schedChanges[name] = append(schedChanges[name], end.UTC())
				at = end
			}
		}
	})
	if len(schedChanges["Europe/Rome"]) != 8 || len(schedChanges["Pacific/Chatham"]) != 8 {
		t.Fatalf("zone data: expected 8 changes in 2025–2028 for Rome and Chatham, got %d and %d",
			len(schedChanges["Europe/Rome"]), len(schedChanges["Pacific/Chatham"]))
	}
}

type schedCase struct {
	zone                 string
	loc                  *time.Location
	s                    Schedule
	start, end, from, to time.Time
}

func (c schedCase) String() string {
	return fmt.Sprintf("%s %+v start=%v end=%v from=%v to=%v", c.zone, c.s, c.start, c.end, c.from, c.to)
}

// lo and hi bound the instants Expand may return: [from, to) ∩ [start, end).
func (c schedCase) lo() time.Time {
	if c.start.After(c.from) {
		return c.start
	}
	return c.from
}

func (c schedCase) hi() time.Time {
	if !c.end.IsZero() && c.end.Before(c.to) {
		return c.end
	}
	return c.to
}

// schedGenTime favours wall times at which some of the zones change clocks
// (01:00 London, 02:00 Rome/New York/Sydney, 02:45/03:45 Chatham) and midnight.
func schedGenTime() *rapid.Generator[string] {
	special := []string{"00:00", "00:30", "01:00", "01:30", "01:59", "02:00", "02:15", "02:30", "02:45", "02:59",
		"03:00", "03:15", "03:30", "03:45", "03:59", "04:00", "04:30", "08:00", "23:59"}
	return rapid.OneOf(
		rapid.SampledFrom(special),
		rapid.Custom(func(t *rapid.T) string {
			return fmt.Sprintf("%02d:%02d", rapid.IntRange(0, 23).Draw(t, "h"), rapid.IntRange(0, 59).Draw(t, "m"))
		}),
	)
}

func schedDrawSchedule(t *rapid.T, kind ScheduleKind) Schedule {
	s := Schedule{Kind: kind}
	switch kind {
	case ScheduleTimes, ScheduleWeekdays, ScheduleEveryDays:
		s.Times = rapid.SliceOfN(schedGenTime(), 1, 6).Draw(t, "times")
	case ScheduleEveryHours:
		s.EveryHours = rapid.OneOf(rapid.IntRange(1, 48), rapid.IntRange(1, 168)).Draw(t, "every_hours")
	}
	switch kind {
	case ScheduleWeekdays:
		s.Weekdays = rapid.SliceOfN(rapid.IntRange(1, 7), 1, 7).Draw(t, "weekdays")
	case ScheduleEveryDays:
		s.EveryDays = rapid.OneOf(rapid.IntRange(2, 5), rapid.IntRange(2, 366)).Draw(t, "every_days")
	}
	return s
}

func schedDrawCase(t *rapid.T, kind ScheduleKind) schedCase {
	c := schedCase{zone: rapid.SampledFrom(schedZoneNames).Draw(t, "zone")}
	c.loc = schedZones[c.zone]
	c.s = schedDrawSchedule(t, kind)
	if err := c.s.Validate(); err != nil {
		t.Fatalf("generated an invalid schedule %+v: %v", c.s, err)
	}
	// rapid favours small numbers, so each draw is laid out for small values
	// to be the interesting ones: the window starting at a change, start
	// before from, end near to.
	const day = 24 * 60
	minutes := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	changes := schedChanges[c.zone]
	if len(changes) > 0 && rapid.IntRange(0, 3).Draw(t, "nearChange") > 0 {
		at := rapid.SampledFrom(changes).Draw(t, "change")
		c.from = at.Add(-minutes(rapid.IntRange(0, 3*day).Draw(t, "fromMinutesBeforeChange")))
	} else {
		c.from = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).
			AddDate(0, 0, rapid.IntRange(0, 4*365).Draw(t, "fromDay")).
			Add(minutes(rapid.IntRange(0, day-1).Draw(t, "fromMinute")))
	}
	if rapid.IntRange(0, 9).Draw(t, "shortWindow") == 0 {
		c.to = c.from.Add(minutes(rapid.IntRange(0, day).Draw(t, "shortSpanMinutes")))
	} else {
		c.to = c.from.Add(minutes(day + rapid.IntRange(0, 9*day).Draw(t, "spanMinutes")))
	}
	if rapid.IntRange(0, 3).Draw(t, "startInside") == 0 {
		c.start = c.from.Add(minutes(rapid.IntRange(0, 3*day).Draw(t, "startMinutesAfterFrom")))
	} else {
		c.start = c.from.Add(-minutes(rapid.IntRange(0, 30*day).Draw(t, "startMinutesBeforeFrom")))
	}
	if rapid.Bool().Draw(t, "startOffMinute") {
		c.start = c.start.Add(time.Duration(rapid.IntRange(1, 59_999).Draw(t, "startMillis")) * time.Millisecond)
	}
	if rapid.Bool().Draw(t, "hasEnd") {
		c.end = c.to.Add(minutes(rapid.IntRange(-3*day, 3*day).Draw(t, "endMinutesFromTo")))
	}
	return c
}

// schedOracle resolves a wall time independently of schedResolve, for zones
// whose offset changes are more than three days apart: the candidates are
// the wall time read with the offset in force 36 h before and 36 h after;
// a candidate is valid if the zone's clock shows the wall time then; the
// earliest valid one wins. With none valid the time is in a gap, and is
// read with the earlier offset (moved forward by the gap's length).
func schedOracle(loc *time.Location, y int, mo time.Month, d, hh, mm int) (at time.Time, inGap bool, gap time.Duration) {
	w := time.Date(y, mo, d, hh, mm, 0, 0, time.UTC)
	_, before := w.Add(-36 * time.Hour).In(loc).Zone()
	_, after := w.Add(36 * time.Hour).In(loc).Zone()
	found := false
	for _, off := range []int{before, after} {
		c := w.Add(-time.Duration(off) * time.Second)
		l := c.In(loc)
		ly, lmo, ld := l.Date()
		lh, lm, _ := l.Clock()
		if ly == y && lmo == mo && ld == d && lh == hh && lm == mm && (!found || c.Before(at)) {
			at, found = c, true
		}
	}
	if found {
		return at.UTC(), false, 0
	}
	return w.Add(-time.Duration(before) * time.Second).UTC(), true, time.Duration(after-before) * time.Second
}

type schedDate struct {
	y  int
	mo time.Month
	d  int
}

func schedDateOf(t time.Time, loc *time.Location) schedDate {
	y, mo, d := t.In(loc).Date()
	return schedDate{y, mo, d}
}

func (d schedDate) add(n int) schedDate {
	y, mo, dd := time.Date(d.y, d.mo, d.d+n, 12, 0, 0, 0, time.UTC).Date()
	return schedDate{y, mo, dd}
}

func (d schedDate) before(e schedDate) bool {
	return time.Date(d.y, d.mo, d.d, 0, 0, 0, 0, time.UTC).Before(time.Date(e.y, e.mo, e.d, 0, 0, 0, 0, time.UTC))
}

func (d schedDate) daysSince(e schedDate) int {
	return int(time.Date(d.y, d.mo, d.d, 0, 0, 0, 0, time.UTC).Sub(time.Date(e.y, e.mo, e.d, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
}

// eligible reports whether the schedule's rule admits local date d.
func (c schedCase) eligible(d schedDate) bool {
	switch c.s.Kind {
	case ScheduleWeekdays:
		wd := int(time.Date(d.y, d.mo, d.d, 0, 0, 0, 0, time.UTC).Weekday())
		if wd == 0 {
			wd = 7
		}
		return slices.Contains(c.s.Weekdays, wd)
	case ScheduleEveryDays:
		n := d.daysSince(schedDateOf(c.start, c.loc))
		return n >= 0 && n%c.s.EveryDays == 0
	}
	return true
}

type schedDose struct {
	at         time.Time
	wallHH     int // the wall clock the dose shows, after any gap move
	wallMM     int
	listedHHMM string
}

// doses lists, for local date d, each listed time's instant by the oracle.
func (c schedCase) doses(d schedDate) []schedDose {
	var out []schedDose
	for _, hhmm := range c.s.Normalised().Times {
		m, _ := schedParseHHMM(hhmm)
		at, _, gap := schedOracle(c.loc, d.y, d.mo, d.d, m/60, m%60)
		w := m + int(gap/time.Minute)
		out = append(out, schedDose{at: at, wallHH: w / 60, wallMM: w % 60, listedHHMM: hhmm})
	}
	return out
}

func schedCheckCommon(t *rapid.T, c schedCase, got []time.Time) {
	lo, hi := c.lo(), c.hi()
	for i, g := range got {
		if g.Location() != time.UTC {
			t.Fatalf("%v is not in UTC", g)
		}
		if g.Before(c.from) || !g.Before(c.to) || g.Before(c.start) || (!c.end.IsZero() && !g.Before(c.end)) {
			t.Fatalf("%v is outside [from,to) ∩ [start,end) = [%v, %v)", g, lo, hi)
		}
		if i > 0 && !got[i-1].Before(g) {
			t.Fatalf("not strictly increasing at %d: %v then %v", i, got[i-1], g)
		}
	}
	// Splittable at any m in [from, to].
	span := c.to.Sub(c.from)
	m := c.from.Add(time.Duration(rapid.Int64Range(0, int64(span/time.Second)).Draw(t, "splitSeconds")) * time.Second)
	if rapid.Bool().Draw(t, "splitAtDose") && len(got) > 0 {
		m = rapid.SampledFrom(got).Draw(t, "splitDose") // splitting exactly at a dose is the sharp case
	}
	left := c.s.Expand(c.loc, c.start, c.end, c.from, m)
	right := c.s.Expand(c.loc, c.start, c.end, m, c.to)
	if joined := append(slices.Clone(left), right...); !slices.EqualFunc(joined, got, time.Time.Equal) {
		t.Fatalf("split at %v:\n left  %v\n right %v\n whole %v", m, schedFormat(left), schedFormat(right), schedFormat(got))
	}
}

func schedCheckWallTimes(t *rapid.T, c schedCase, got []time.Time) {
	lo, hi := c.lo(), c.hi()
	if !lo.Before(hi) {
		if len(got) != 0 {
			t.Fatalf("doses in an empty window: %v", schedFormat(got))
		}
		return
	}
	first, last := schedDateOf(lo, c.loc), schedDateOf(hi, c.loc)

	// Exactly the oracle's instants.
	var want []time.Time
	for d := first.add(-1); !last.add(1).before(d); d = d.add(1) {
		if !c.eligible(d) {
			continue
		}
		for _, dose := range c.doses(d) {
			if !dose.at.Before(lo) && dose.at.Before(hi) {
				want = append(want, dose.at)
			}
		}
	}
	slices.SortFunc(want, time.Time.Compare)
	want = slices.CompactFunc(want, time.Time.Equal)
	if !slices.EqualFunc(want, got, time.Time.Equal) {
		t.Fatalf("Expand:\n got  %v\n want %v", schedFormat(got), schedFormat(want))
	}

	// Each instant is on an eligible date, at a listed time or at a listed
	// time moved forward through a gap — and then it is that time's instant.
	perDate := map[schedDate][]time.Time{}
	for _, g := range got {
		d := schedDateOf(g, c.loc)
		perDate[d] = append(perDate[d], g)
		if !c.eligible(d) {
			t.Fatalf("%v falls on %v, which the rule does not admit", g, d)
		}
		hh, mm, _ := g.In(c.loc).Clock()
		ok := false
		for _, dose := range c.doses(d) {
			if dose.wallHH == hh && dose.wallMM == mm && dose.at.Equal(g) {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("%v shows %02d:%02d on %v: neither a listed time nor a listed time moved through a gap", g, hh, mm, d)
		}
	}

	// Dates wholly inside the window: one dose per distinct time after gap
	// moves and merges; never none for a listed time, never two on fall-back.
	for d := first.add(1); d.before(last); d = d.add(1) {
		on := perDate[d]
		if !c.eligible(d) {
			if len(on) != 0 {
				t.Fatalf("%d doses on %v, which the rule does not admit", len(on), d)
			}
			continue
		}
		walls := map[[2]int]bool{}
		for _, dose := range c.doses(d) {
			walls[[2]int{dose.wallHH, dose.wallMM}] = true
			n := 0
			for _, g := range on {
				if hh, mm, _ := g.In(c.loc).Clock(); hh == dose.wallHH && mm == dose.wallMM {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("listed time %s on %v: %d doses at %02d:%02d, want 1 (doses that day %v)",
					dose.listedHHMM, d, n, dose.wallHH, dose.wallMM, schedFormat(on))
			}
		}
		if len(on) != len(walls) {
			t.Fatalf("%v: %d doses, want %d (doses %v)", d, len(on), len(walls), schedFormat(on))
		}
	}
}

func schedCheckEveryHours(t *rapid.T, c schedCase, got []time.Time) {
	step := time.Duration(c.s.EveryHours) * time.Hour
	lo, hi := c.lo(), c.hi()
	for i, g := range got {
		if g.Sub(c.start)%step != 0 {
			t.Fatalf("%v is not a whole number of %v after the start %v", g, step, c.start)
		}
		if i > 0 && g.Sub(got[i-1]) != step {
			t.Fatalf("doses %v and %v are %v apart, want %v", got[i-1], g, g.Sub(got[i-1]), step)
		}
	}
	if !lo.Before(hi) {
		if len(got) != 0 {
			t.Fatalf("doses in an empty window: %v", schedFormat(got))
		}
		return
	}
	// None skipped at either edge.
	k := (lo.Sub(c.start) + step - 1) / step
	next := c.start.Add(k * step)
	if len(got) == 0 {
		if next.Before(hi) {
			t.Fatalf("no doses, but %v is due", next)
		}
		return
	}
	if !got[0].Equal(next) {
		t.Fatalf("first dose %v, want %v", got[0], next)
	}
	if after := got[len(got)-1].Add(step); after.Before(hi) {
		t.Fatalf("last dose %v, but %v is also due", got[len(got)-1], after)
	}
}

func TestScheduleExpandProperties(t *testing.T) {
	schedLoadZones(t)
	for _, kind := range []ScheduleKind{ScheduleTimes, ScheduleWeekdays, ScheduleEveryDays, ScheduleEveryHours, ScheduleOnce, SchedulePRN} {
		t.Run(string(kind), func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				c := schedDrawCase(t, kind)
				got := c.s.Expand(c.loc, c.start, c.end, c.from, c.to)
				schedCheckCommon(t, c, got)
				switch kind {
				case ScheduleTimes, ScheduleWeekdays, ScheduleEveryDays:
					schedCheckWallTimes(t, c, got)
				case ScheduleEveryHours:
					schedCheckEveryHours(t, c, got)
				case ScheduleOnce:
					due := !c.start.Before(c.lo()) && c.start.Before(c.hi())
					if due != (len(got) == 1) || len(got) > 1 || (due && !got[0].Equal(c.start)) {
						t.Fatalf("once: got %v, start due: %v", schedFormat(got), due)
					}
				case SchedulePRN:
					if len(got) != 0 {
						t.Fatalf("prn: got %v", schedFormat(got))
					}
				}
				// The order or repetition of the listed times does not matter.
				if n := c.s.Normalised().Expand(c.loc, c.start, c.end, c.from, c.to); !slices.EqualFunc(n, got, time.Time.Equal) {
					t.Fatalf("normalised schedule expands differently: %v vs %v", schedFormat(n), schedFormat(got))
				}
			})
		})
	}
}

func FuzzScheduleValidate(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"times","times":["08:00","02:30","03:30"]}`,
		`{"kind":"every_hours","every_hours":8}`,
		`{"kind":"weekdays","times":["09:00","02:30"],"weekdays":[7,1]}`,
		`{"kind":"every_days","times":["20:00"],"every_days":2}`,
		`{"kind":"once"}`,
		`{"kind":"prn"}`,
		`{"kind":"times","times":["24:00"]}`,
		`{"kind":"daily"}`,
	} {
		f.Add([]byte(seed))
	}
	rome := schedLoadLoc(f, "Europe/Rome")
	start := time.Date(2026, 3, 20, 7, 30, 0, 0, time.UTC)
	windows := [][2]time.Time{
		{time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 10, 21, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 28, 0, 0, 0, 0, time.UTC)},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Schedule
		if json.Unmarshal(data, &s) != nil {
			return
		}
		if err := s.Validate(); err != nil {
			if !backend.IsCode(err, "schedule.invalid") {
				t.Fatalf("Validate: %v is not a schedule.invalid error", err)
			}
			if got := s.Expand(rome, start, time.Time{}, windows[0][0], windows[0][1]); got != nil {
				t.Fatalf("invalid schedule expanded to %v", got)
			}
			return
		}
		if err := s.Normalised().Validate(); err != nil {
			t.Fatalf("normalised schedule invalid: %v", err)
		}
		for _, w := range windows {
			got := s.Expand(rome, start, time.Time{}, w[0], w[1])
			for i, g := range got {
				if g.Before(w[0]) || !g.Before(w[1]) || g.Before(start) {
					t.Fatalf("%v outside [%v, %v) from %v", g, w[0], w[1], start)
				}
				if i > 0 && !got[i-1].Before(g) {
					t.Fatalf("not strictly increasing: %v", got)
				}
			}
		}
	})
}
