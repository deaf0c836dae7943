package therapy

import (
	"slices"
	"strconv"
	"time"

	"github.com/corsia-cce/corsia/backend"
)

// ScheduleKind is how a prescription's doses recur.
type ScheduleKind string

const (
	ScheduleTimes      ScheduleKind = "times"       // fixed local times of day, every day
	ScheduleEveryHours ScheduleKind = "every_hours" // every N hours of real elapsed time from the start
	ScheduleWeekdays   ScheduleKind = "weekdays"    // fixed local times on chosen ISO weekdays
	ScheduleEveryDays  ScheduleKind = "every_days"  // fixed local times every N calendar days from the start's local date
	ScheduleOnce       ScheduleKind = "once"        // a single dose at the start
	SchedulePRN        ScheduleKind = "prn"         // as needed: no scheduled doses
)

// Schedule says when doses are due.
//
// # How a schedule becomes instants
//
// Wall times ("HH:MM") are read in the facility's time zone, the loc passed
// to Expand. A dose at a wall time happens exactly once on every eligible
// local date, including the days the clocks change:
//
//   - An ordinary wall time is the one instant at which the facility's
//     clocks show it: a daily 08:00 is at 08:00 local every day, so its UTC
//     hour changes with daylight saving time.
//   - Spring forward: a wall time that the clocks skip (02:30 on the last
//     Sunday of March in Europe/Rome, where 02:00 CET becomes 03:00 CEST) is
//     moved forward by the length of the gap: the instant is computed with
//     the offset in force before the change, so 02:30 becomes 03:30 CEST
//     (01:30 UTC). If that instant is also the instant of another listed time
//     (03:30 in the example), the dose is due once.
//   - Fall back: a wall time that the clocks show twice (02:30 on the last
//     Sunday of October in Europe/Rome) is due once, at its first
//     occurrence (00:30 UTC, still in summer time).
//
// These rules are implemented from the zone's transitions (see
// schedResolve), never from time.Date's unspecified choice in gaps and
// overlaps.
//
// The kinds:
//
//   - times: every local date, at each listed time.
//   - weekdays: local dates whose ISO weekday (1 = Monday … 7 = Sunday) is
//     listed, at each listed time.
//   - every_days: local dates D for which the number of calendar days from
//     the start's local date to D is a whole non-negative multiple of
//     EveryDays, at each listed time. Calendar days, not 24-hour periods: a
//     23- or 25-hour day counts as one day.
//   - every_hours: start, start+N h, start+2N h … in real elapsed time. Across
//     a clock change the local wall time of the doses shifts by the change;
//     that is intended (the interval is pharmacological).
//   - once: exactly the start instant.
//   - prn: no scheduled doses.
//
// Every kind is further restricted to [start, end): a listed time on the
// start's local date that falls before start is not due.
type Schedule struct {
	Kind       ScheduleKind `json:"kind"`
	Times      []string     `json:"times,omitempty"`       // "HH:MM", 24 h, local wall time of the facility
	EveryHours int          `json:"every_hours,omitempty"` // 1..168
	Weekdays   []int        `json:"weekdays,omitempty"`    // ISO: 1 = Monday … 7 = Sunday
	EveryDays  int          `json:"every_days,omitempty"`  // 2..366
}

// Limits of a schedule's shape.
const (
	schedMaxTimes      = 24
	schedMaxEveryHours = 168
	schedMinEveryDays  = 2
	schedMaxEveryDays  = 366
	schedCodeInvalid   = "schedule.invalid"
)

// schedMaxSpan caps the part of a window Expand looks at: at most this long
// from max(from, start). Workers materialise doses in windows of days, so
// the cap only stops a malformed request (a window of centuries) from
// allocating without bound: about 400 × 24 instants at most.
const schedMaxSpan = 400 * 24 * time.Hour

// Validate checks the schedule's shape; errors are backend.Invalid(code, field, why) with codes
// "schedule.invalid" (and field names "schedule.kind", "schedule.times", ...).
//
// Times are required (1..24 entries, each "HH:MM" in 24-hour form) for
// times, weekdays and every_days, and forbidden otherwise. Weekdays (1..7, at
// least one) only for weekdays; EveryHours (1..168) only for every_hours;
// EveryDays (2..366) only for every_days. Duplicate times or weekdays are
// accepted; Normalised removes them.
func (s Schedule) Validate() error {
	switch s.Kind {
	case ScheduleTimes, ScheduleWeekdays, ScheduleEveryDays:
		if len(s.Times) == 0 {
			return schedInvalid("schedule.times", "at least one time is required for a schedule of kind "+string(s.Kind))
		}
		if len(s.Times) > schedMaxTimes {
			return schedInvalid("schedule.times", "at most 24 times")
		}
		for i, t := range s.Times {
			if _, ok := schedParseHHMM(t); !ok {
				return schedInvalid("schedule.times", "time "+strconv.Itoa(i+1)+" is not a 24-hour HH:MM time")
			}
		}
	case ScheduleEveryHours, ScheduleOnce, SchedulePRN:
		if len(s.Times) > 0 {
			return schedInvalid("schedule.times", "times are not allowed for a schedule of kind "+string(s.Kind))
		}
	case "":
		return schedInvalid("schedule.kind", "the schedule kind is required")
	default:
		return schedInvalid("schedule.kind", "unknown schedule kind")
	}

	if s.Kind == ScheduleEveryHours {
		if s.EveryHours < 1 || s.EveryHours > schedMaxEveryHours {
			return schedInvalid("schedule.every_hours", "every_hours must be between 1 and 168")
		}
	} else if s.EveryHours != 0 {
		return schedInvalid("schedule.every_hours", "every_hours is only allowed for a schedule of kind every_hours")
	}

	if s.Kind == ScheduleWeekdays {
		if len(s.Weekdays) == 0 {
			return schedInvalid("schedule.weekdays", "at least one weekday is required")
		}
		for _, d := range s.Weekdays {
			if d < 1 || d > 7 {
				return schedInvalid("schedule.weekdays", "weekdays are ISO numbers from 1 (Monday) to 7 (Sunday)")
			}
		}
	} else if len(s.Weekdays) > 0 {
		return schedInvalid("schedule.weekdays", "weekdays are only allowed for a schedule of kind weekdays")
	}

	if s.Kind == ScheduleEveryDays {
		if s.EveryDays < schedMinEveryDays || s.EveryDays > schedMaxEveryDays {
			return schedInvalid("schedule.every_days", "every_days must be between 2 and 366")
		}
	} else if s.EveryDays != 0 {
		return schedInvalid("schedule.every_days", "every_days is only allowed for a schedule of kind every_days")
	}
	return nil
}

func schedInvalid(field, why string) error { return backend.Invalid(schedCodeInvalid, field, why) }

// schedParseHHMM parses exactly ^([01][0-9]|2[0-3]):[0-5][0-9]$ into
// minutes after midnight.
func schedParseHHMM(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range [...]int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// Normalised returns s with Times sorted and deduplicated and Weekdays sorted and deduplicated (call after Validate).
// The receiver's slices are not modified.
func (s Schedule) Normalised() Schedule {
	if len(s.Times) > 0 {
		s.Times = slices.Compact(slices.Sorted(slices.Values(s.Times)))
	}
	if len(s.Weekdays) > 0 {
		s.Weekdays = slices.Compact(slices.Sorted(slices.Values(s.Weekdays)))
	}
	return s
}

// MoreOftenThanDaily reports whether doses can come less than 24 h apart
// (times with more than one entry, every_hours < 24). It chooses the lateness window class.
//
// Decided here: duplicates count once (["08:00","08:00"] is daily), and
// weekdays and every_days schedules with more than one distinct time are
// also more often than daily (two doses on the same day). A single daily
// time is not, even though on a spring-forward day two consecutive doses are
// 23 h apart.
func (s Schedule) MoreOftenThanDaily() bool {
	switch s.Kind {
	case ScheduleEveryHours:
		return s.EveryHours > 0 && s.EveryHours < 24
	case ScheduleTimes, ScheduleWeekdays, ScheduleEveryDays:
		for i := 1; i < len(s.Times); i++ {
			if s.Times[i] != s.Times[0] {
				return true
			}
		}
	}
	return false
}

// Expand returns the instants (in UTC) at which doses are due within [from, to),
// restricted to [start, end) (end zero = open-ended), in increasing order, without duplicates.
//
// The schedule is a fixed set of instants determined by s, loc, start and end
// alone (see Schedule); Expand returns those inside the window. So windows
// split anywhere give the same doses: Expand(from, m) ∪ Expand(m, to) ==
// Expand(from, to), with no dose lost or repeated.
//
// Expand looks at most 400 days past max(from, start) (schedMaxSpan) and
// returns what falls within that; callers materialise in shorter windows.
// An invalid schedule (one Validate rejects) has no doses: Expand returns
// nil. A nil loc means UTC. Instants keep start's sub-second part only for
// once and every_hours; wall-time kinds are on whole minutes.
func (s Schedule) Expand(loc *time.Location, start, end, from, to time.Time) []time.Time {
	if s.Validate() != nil {
		return nil
	}
	if loc == nil {
		loc = time.UTC
	}
	lo := from
	if start.After(lo) {
		lo = start
	}
	hi := to
	if !end.IsZero() && end.Before(hi) {
		hi = end
	}
	if limit := lo.Add(schedMaxSpan); limit.Before(hi) {
		hi = limit
	}
	if !lo.Before(hi) {
		return nil
	}

	switch s.Kind {
	case SchedulePRN:
		return nil
	case ScheduleOnce:
		// lo <= start < hi  ⇔  from <= start < to and start < end.
		if start.Before(lo) {
			return nil
		}
		return []time.Time{start.UTC()}
	case ScheduleEveryHours:
		return schedEveryHours(start, lo, hi, int64(s.EveryHours)*3600)
	}
	return s.schedWallTimes(loc, start, lo, hi)
}

// schedEveryHours returns start + k·step (k >= 0, step in seconds) inside
// [lo, hi), lo >= start. Arithmetic is on Unix seconds so that a start
// centuries before lo cannot overflow a time.Duration.
func schedEveryHours(start, lo, hi time.Time, step int64) []time.Time {
	ss, ns := start.Unix(), int64(start.Nanosecond())
	// First k with start + k·step >= lo; lo >= start so the difference is >= 0.
	k := (lo.Unix() - ss) / step
	t := time.Unix(ss+k*step, ns).UTC()
	for t.Before(lo) {
		k++
		t = time.Unix(ss+k*step, ns).UTC()
	}
	n := int(hi.Sub(t)/(time.Duration(step)*time.Second)) + 1
	out := make([]time.Time, 0, max(n, 0))
	for t.Before(hi) {
		out = append(out, t)
		k++
		t = time.Unix(ss+k*step, ns).UTC()
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// schedWallTimes expands times, weekdays and every_days: for each local date
// that can hold a dose inside [lo, hi), each listed time is resolved to its
// instant by schedResolve, and the instants inside [lo, hi) are kept. The
// dates looked at extend one day either side of the window's local dates so
// a time moved forward across midnight by a gap is not missed.
func (s Schedule) schedWallTimes(loc *time.Location, start, lo, hi time.Time) []time.Time {
	// Listed times as minutes after midnight, sorted and distinct. At most 24
	// (Validate), so they fit on the stack.
	var mins [schedMaxTimes]int
	n := 0
	for _, t := range s.Times {
		m, _ := schedParseHHMM(t)
		i := n
		for i > 0 && mins[i-1] > m {
			i--
		}
		if i > 0 && mins[i-1] == m {
			continue
		}
		copy(mins[i+1:n+1], mins[i:n])
		mins[i] = m
		n++
	}
	times := mins[:n]

	var weekdays [8]bool // ISO weekday → listed
	for _, d := range s.Weekdays {
		weekdays[d] = true
	}
	startDay := schedDayNumber(start.In(loc))

	firstDay := schedDayNumber(lo.In(loc)) - 1
	lastDay := schedDayNumber(hi.In(loc)) + 1
	// Capacity: the doses of the days the window covers, plus one day.
	days := int(hi.Sub(lo)/(24*time.Hour)) + 2
	out := make([]time.Time, 0, days*len(times))
	sorted := true
	for day := firstDay; day <= lastDay; day++ {
		y, mo, d := time.Unix(day*86400, 0).UTC().Date()
		switch s.Kind {
		case ScheduleWeekdays:
			wd := int(time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Weekday())
			if wd == 0 {
				wd = 7
			}
			if !weekdays[wd] {
				continue
			}
		case ScheduleEveryDays:
			if day < startDay || (day-startDay)%int64(s.EveryDays) != 0 {
				continue
			}
		}
		for _, m := range times {
			t := time.Unix(schedResolve(loc, y, mo, d, m/60, m%60), 0).UTC()
			if t.Before(lo) || !t.Before(hi) {
				continue
			}
			if k := len(out); k > 0 && !out[k-1].Before(t) {
				if out[k-1].Equal(t) {
					continue // a gap-moved time landing on another listed time: one dose
				}
				sorted = false
			}
			out = append(out, t)
		}
	}
	if !sorted {
		// A time moved forward through a gap can pass a later listed time
		// (02:30 → 03:30 passes 03:15): restore order, then merge equals.
		slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
		out = slices.CompactFunc(out, func(a, b time.Time) bool { return a.Equal(b) })
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// schedDayNumber is the civil date of t's wall clock as days since
// 1970-01-01.
func schedDayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400 // exact: midnight UTC
}

// schedResolve returns the Unix second at which the wall clock of loc shows
// y-mo-d hh:mm, deterministically:
//
//   - The zone's periods (spans of constant offset) that can contain the
//     instant are walked in time order with ZoneBounds. For each, the
//     candidate instant wall − offset is valid if it lies inside that
//     period. The first valid candidate is the earliest, so an ambiguous
//     wall time (fall back) resolves to its first occurrence.
//   - If no candidate is valid the wall time is in a gap (spring forward):
//     wall − offset of the last period whose clocks ran past the end without
//     reaching the wall time, i.e. the offset in force before the gap. That
//     instant shows wall + gap length on the clocks after the change.
//
// Offsets of real zones are within −12 h … +14 h, so every candidate lies in
// [wall − 14 h, wall + 12 h]; the walk covers wall ± 26 h.
func schedResolve(loc *time.Location, y int, mo time.Month, d, hh, mm int) int64 {
	w := time.Date(y, mo, d, hh, mm, 0, 0, time.UTC).Unix()
	const margin = 26 * 3600
	t := time.Unix(w-margin, 0).In(loc)
	gapOff, inGap := 0, false
	for range 16 { // a handful of periods at most; the bound only guards odd zone data
		_, off := t.Zone()
		zs, ze := t.ZoneBounds()
		c := w - int64(off)
		afterStart := zs.IsZero() || c >= zs.Unix()
		beforeEnd := ze.IsZero() || c < ze.Unix()
		if afterStart && beforeEnd {
			return c
		}
		if !beforeEnd {
			// The clocks of this period stopped before showing the wall time.
			gapOff, inGap = off, true
		}
		if ze.IsZero() || ze.Unix() > w+margin {
			break
		}
		t = ze
	}
	if inGap {
		return w - int64(gapOff)
	}
	// Unreachable with consistent zone data; stay deterministic anyway.
	return time.Date(y, mo, d, hh, mm, 0, 0, loc).Unix()
}
