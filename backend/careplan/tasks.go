package careplan

import (
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
)

// Task windows. A task shows as due from DueSoon before its time and turns
// late LateAfter after it; it can be ticked from OpenBefore before its
// time (never further ahead: a tick is a statement that it happened).
const (
	DueSoon    = 30 * time.Minute
	LateAfter  = 60 * time.Minute
	OpenBefore = 60 * time.Minute
	// MaxTaskPeriod bounds a task list's period.
	MaxTaskPeriod = 48 * time.Hour
	// MaxBackdate is how long after its due time a task can still be
	// ticked: the shift after next has no first-hand knowledge of it.
	MaxBackdate = 24 * time.Hour
)

// Task states.
const (
	TaskUpcoming = "upcoming"
	TaskDue      = "due"
	TaskLate     = "late" // past its window and not ticked
	TaskDone     = "done"
	TaskNotDone  = "not_done"
)

// Reasons a task was not done.
var ReasonCodes = []string{"refused", "absent", "asleep", "clinical_condition", "not_needed", "no_staff", "other"}

// Positions a resident can be left in after repositioning.
var Positions = []string{"supine", "left_side", "right_side", "semi_fowler", "prone", "chair"}

// Period is a version in force for a resident from From until To (zero:
// still in force), with the interventions that generate tasks.
type Period struct {
	ResidentID    uuid.UUID
	VersionID     uuid.UUID
	From, To      time.Time
	Interventions []Intervention
}

// Task is one care task: an intervention falling due at a time.
type Task struct {
	ResidentID     uuid.UUID `json:"resident_id"`
	VersionID      uuid.UUID `json:"care_plan_version_id"`
	InterventionID uuid.UUID `json:"intervention_id"`
	LineID         uuid.UUID `json:"line_id"`
	Kind           Kind      `json:"kind"`
	Description    string    `json:"description"`
	Role           Role      `json:"role"`
	DueAt          time.Time `json:"due_at"`
	State          string    `json:"state"`
	Record         *Record   `json:"record"`
}

// Correction marks a task record entered in error.
type Correction struct {
	ID         uuid.UUID `json:"id"`
	Reason     string    `json:"reason"`
	RecordedBy uuid.UUID `json:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at"`
}

// Record is a task ticked off: done, or not done with a reason.
type Record struct {
	ID             uuid.UUID   `json:"id"`
	ResidentID     uuid.UUID   `json:"resident_id"`
	InterventionID uuid.UUID   `json:"intervention_id"`
	LineID         uuid.UUID   `json:"line_id"`
	Kind           Kind        `json:"kind"`
	DueAt          time.Time   `json:"due_at"`
	Attempt        int         `json:"attempt"`
	Outcome        string      `json:"outcome"`
	ReasonCode     *string     `json:"reason_code"`
	Reason         string      `json:"reason"`
	IntakePct      *int        `json:"intake_pct"`
	FluidML        *int        `json:"fluid_ml"`
	Position       *string     `json:"position"`
	Notes          string      `json:"notes"`
	Late           bool        `json:"late"`
	RecordedBy     uuid.UUID   `json:"recorded_by"`
	RecordedAt     time.Time   `json:"recorded_at"`
	EnteredInError *Correction `json:"entered_in_error"`
}

// RecordRequest is what a tablet sends to tick a task.
type RecordRequest struct {
	InterventionID uuid.UUID `json:"intervention_id"`
	DueAt          time.Time `json:"due_at"`
	Outcome        string    `json:"outcome"`
	ReasonCode     *string   `json:"reason_code"`
	Reason         string    `json:"reason"`
	IntakePct      *int      `json:"intake_pct"`
	FluidML        *int      `json:"fluid_ml"`
	Position       *string   `json:"position"`
	Notes          string    `json:"notes"`
}

// Validate checks a record request for an intervention of kind at now;
// trims text in place.
func (r *RecordRequest) Validate(kind Kind, now time.Time) error {
	if r.InterventionID == uuid.Nil {
		return invalid("care_task.intervention_required", "intervention_id", "the intervention the task comes from")
	}
	if r.DueAt.IsZero() {
		return invalid("care_task.due_at_required", "due_at", "the task's due time, as listed")
	}
	r.DueAt = r.DueAt.UTC()
	if r.DueAt.After(now.Add(OpenBefore)) {
		return invalid("care_task.too_early", "due_at", "a task can be ticked from one hour before it is due")
	}
	if r.DueAt.Before(now.Add(-MaxBackdate)) {
		return invalid("care_task.too_old", "due_at", "a task can be ticked up to 24 hours after it was due; write a diary entry instead")
	}
	r.Reason, r.Notes = strings.TrimSpace(r.Reason), strings.TrimSpace(r.Notes)
	if !textOK(r.Reason, 0, 500) {
		return invalid("care_task.invalid_text", "reason", "at most 500 characters")
	}
	if !textOK(r.Notes, 0, 2000) {
		return invalid("care_task.invalid_text", "notes", "at most 2000 characters")
	}
	switch r.Outcome {
	case TaskDone:
		if r.ReasonCode != nil {
			return invalid("care_task.reason_not_allowed", "reason_code", "only for a task not done")
		}
		if kind == Meal && r.IntakePct == nil {
			return invalid("care_task.intake_required", "intake_pct", "how much of the meal was eaten: 0, 25, 50, 75 or 100")
		}
	case TaskNotDone:
		if r.ReasonCode == nil || !slices.Contains(ReasonCodes, *r.ReasonCode) {
			return invalid("care_task.reason_required", "reason_code", "why it was not done: "+strings.Join(ReasonCodes, ", "))
		}
		if *r.ReasonCode == "other" && utf8.RuneCountInString(r.Reason) < 3 {
			return invalid("care_task.reason_required", "reason", "say why (at least 3 characters)")
		}
		if r.IntakePct != nil || r.FluidML != nil || r.Position != nil {
			return invalid("care_task.detail_not_allowed", "outcome", "intake, fluids and position belong to a task done")
		}
	default:
		return invalid("care_task.unknown_outcome", "outcome", "done or not_done")
	}
	if r.IntakePct != nil {
		if kind != Meal {
			return invalid("care_task.detail_not_allowed", "intake_pct", "only for meals")
		}
		if v := *r.IntakePct; v != 0 && v != 25 && v != 50 && v != 75 && v != 100 {
			return invalid("care_task.invalid_intake", "intake_pct", "0, 25, 50, 75 or 100")
		}
	}
	if r.FluidML != nil {
		if kind != Hydration && kind != Meal {
			return invalid("care_task.detail_not_allowed", "fluid_ml", "only for hydration and meals")
		}
		if v := *r.FluidML; v < 0 || v > 3000 {
			return invalid("care_task.invalid_fluid", "fluid_ml", "0 to 3000 ml")
		}
	}
	if r.Position != nil {
		if kind != Repositioning {
			return invalid("care_task.detail_not_allowed", "position", "only for repositioning")
		}
		if !slices.Contains(Positions, *r.Position) {
			return invalid("care_task.invalid_position", "position", strings.Join(Positions, ", "))
		}
	}
	return nil
}

// MayTick reports whether an actor may tick a task of an intervention
// carried out by role: nurse tasks need a nurse (or a ward lead, a nurse
// coordinator); OSS tasks may be done by OSS or nurses. Access to the
// resident (access.RecordCare) is checked apart.
func MayTick(a *backend.Actor, role Role) bool {
	switch role {
	case RoleNurse:
		return a.Has(backend.RoleNurse) || a.Has(backend.RoleWardLead)
	case RoleOSS:
		return a.Has(backend.RoleOSS) || a.Has(backend.RoleNurse) || a.Has(backend.RoleWardLead)
	}
	return false
}

// Generates reports whether an intervention generates care tasks.
func (i Intervention) Generates() bool {
	return len(i.Times) > 0 && (i.Role == RoleOSS || i.Role == RoleNurse)
}

// occurrences lists an intervention's due times on the local calendar day
// of date in loc. A time that does not exist that day (the spring-forward
// gap) moves to the first instant after it; a time that exists twice (the
// fall-back hour) occurs once, at its first occurrence. Times are wall
// times: on the fall-back night an every-2-hours plan has one 3-hour gap.
func (i Intervention) occurrences(date time.Time, loc *time.Location) []time.Time {
	wd := int(date.Weekday())
	if wd == 0 {
		wd = 7
	}
	if i.Weekdays != nil && !slices.Contains(i.Weekdays, wd) {
		return nil
	}
	var out []time.Time
	for _, hm := range i.Times {
		m, err := parseHM(hm)
		if err != nil {
			continue
		}
		t := time.Date(date.Year(), date.Month(), date.Day(), m/60, m%60, 0, 0, loc).UTC()
		// A wall time that occurs twice (fall back) is taken at its first
		// occurrence, whichever Go's time.Date picked.
		if e := t.Add(-time.Hour); e.In(loc).Hour() == m/60 && e.In(loc).Minute() == m%60 && e.In(loc).Day() == date.Day() {
			t = e
		}
		if !slices.ContainsFunc(out, t.Equal) {
			out = append(out, t)
		}
	}
	return out
}

// Expand lists the tasks that fall due in [from, to) for periods, in
// due order. Each task belongs to the version in force at its due time.
func Expand(periods []Period, from, to time.Time, loc *time.Location) []Task {
	var out []Task
	for _, p := range periods {
		lo, hi := from, to
		if p.From.After(lo) {
			lo = p.From
		}
		if !p.To.IsZero() && p.To.Before(hi) {
			hi = p.To
		}
		if !hi.After(lo) {
			continue
		}
		// Every local day touching [lo, hi), one day of margin each side.
		l := lo.In(loc)
		day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -1)
		for ; day.Before(hi.Add(24 * time.Hour)); day = day.AddDate(0, 0, 1) {
			for _, iv := range p.Interventions {
				if !iv.Generates() {
					continue
				}
				for _, at := range iv.occurrences(day, loc) {
					if at.Before(lo) || !at.Before(hi) {
						continue
					}
					out = append(out, Task{ResidentID: p.ResidentID, VersionID: p.VersionID, InterventionID: iv.ID,
						LineID: iv.LineID, Kind: iv.Kind, Description: iv.Description, Role: iv.Role, DueAt: at})
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].DueAt.Equal(out[j].DueAt) {
			return out[i].DueAt.Before(out[j].DueAt)
		}
		return out[i].InterventionID.String() < out[j].InterventionID.String()
	})
	return out
}

// Occurs reports whether intervention iv of period p falls due at at.
func Occurs(p Period, iv Intervention, at time.Time, loc *time.Location) bool {
	if !iv.Generates() || at.Before(p.From) || (!p.To.IsZero() && !at.Before(p.To)) {
		return false
	}
	l := at.In(loc)
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	for _, d := range []time.Time{day.AddDate(0, 0, -1), day, day.AddDate(0, 0, 1)} {
		if slices.ContainsFunc(iv.occurrences(d, loc), at.Equal) {
			return true
		}
	}
	return false
}

// Judge fills each task's state and live record at now. records are the
// records of the tasks' lines (a record made under an earlier version of
// the same intervention counts); records entered in error are ignored
// (they reopen the task).
func Judge(tasks []Task, records []Record, now time.Time) {
	type key struct {
		line uuid.UUID
		at   int64
	}
	live := map[key]*Record{}
	for i := range records {
		r := &records[i]
		if r.EnteredInError == nil {
			live[key{r.LineID, r.DueAt.UnixMicro()}] = r
		}
	}
	for i := range tasks {
		t := &tasks[i]
		if r := live[key{t.LineID, t.DueAt.UnixMicro()}]; r != nil {
			t.Record, t.State = r, r.Outcome
			continue
		}
		switch {
		case now.Before(t.DueAt.Add(-DueSoon)):
			t.State = TaskUpcoming
		case now.After(t.DueAt.Add(LateAfter)):
			t.State = TaskLate
		default:
			t.State = TaskDue
		}
	}
}

// ShiftBounds returns the facility shift containing now in loc: morning
// 07–14, afternoon 14–21, night 21–07 (the usual RSA shifts).
func ShiftBounds(now time.Time, loc *time.Location) (time.Time, time.Time) {
	l := now.In(loc)
	day := func(d, h int) time.Time { return time.Date(l.Year(), l.Month(), l.Day()+d, h, 0, 0, 0, loc) }
	switch h := l.Hour(); {
	case h < 7:
		return day(-1, 21).UTC(), day(0, 7).UTC()
	case h < 14:
		return day(0, 7).UTC(), day(0, 14).UTC()
	case h < 21:
		return day(0, 14).UTC(), day(0, 21).UTC()
	default:
		return day(0, 21).UTC(), day(1, 7).UTC()
	}
}
