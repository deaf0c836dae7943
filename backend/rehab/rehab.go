// Package rehab records rehabilitation: plans (until the PAI exists,
// written directly by a therapist; a plan repeats on weekdays at a time of
// day in the facility's time zone) and sessions done or not done, with
// type, duration, notes and an outcome measure. The day list expands the
// plans for a date on read. Plans and sessions are written by therapists
// only (access.RecordRehab: physicians do not hold it). Append-only: a
// session recorded by mistake is entered in error with a reason.
package rehab

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Type of rehabilitation.
type Type string

// Types.
const (
	Physiotherapy        Type = "physiotherapy"
	Occupational         Type = "occupational"
	Speech               Type = "speech"
	CognitiveStimulation Type = "cognitive_stimulation"
)

// Types lists every type.
var Types = []Type{Physiotherapy, Occupational, Speech, CognitiveStimulation}

// Outcomes of a session.
const (
	Done    = "done"
	NotDone = "not_done"
	Planned = "planned" // a day-list state only
)

// DateLayout is how dates travel.
const DateLayout = "2006-01-02"

// PlanRequest is what a client sends to plan sessions.
type PlanRequest struct {
	Type       Type       `json:"type"`
	Weekdays   []int      `json:"weekdays"` // ISO: 1 Monday … 7 Sunday
	Time       string     `json:"time"`     // HH:MM, facility time
	StartDate  string     `json:"start_date"`
	EndDate    *string    `json:"end_date"`
	Therapist  *uuid.UUID `json:"therapist_id"`
	Goal       string     `json:"goal"`
	CarePlanID *uuid.UUID `json:"care_plan_intervention_id"`
}

// Plan is a rehabilitation plan.
type Plan struct {
	ID         uuid.UUID  `json:"id"`
	ResidentID uuid.UUID  `json:"resident_id"`
	Type       Type       `json:"type"`
	Weekdays   []int      `json:"weekdays"`
	Time       string     `json:"time"`
	StartDate  string     `json:"start_date"`
	EndDate    *string    `json:"end_date"`
	Therapist  *uuid.UUID `json:"therapist_id"`
	Goal       string     `json:"goal"`
	CarePlanID *uuid.UUID `json:"care_plan_intervention_id"`
	RecordedBy uuid.UUID  `json:"recorded_by"`
	RecordedAt time.Time  `json:"recorded_at"`
}

// Measure is an outcome measure (Tinetti, Barthel, 6MWT…).
type Measure struct {
	Name  string          `json:"name"`
	Value decimal.Decimal `json:"value"`
	Unit  string          `json:"unit"`
}

// SessionRequest is what a client sends to record a session.
type SessionRequest struct {
	PlanID         *uuid.UUID `json:"plan_id"`
	PlannedFor     *time.Time `json:"planned_for"`
	Type           Type       `json:"type"`
	Outcome        string     `json:"outcome"`
	Reason         string     `json:"reason"`
	DurationMin    *int       `json:"duration_min"`
	Notes          string     `json:"notes"`
	OutcomeMeasure *Measure   `json:"outcome_measure"`
}

// Correction marks a session entered in error.
type Correction struct {
	ID         uuid.UUID `json:"id"`
	Reason     string    `json:"reason"`
	RecordedBy uuid.UUID `json:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at"`
}

// Session is a recorded session.
type Session struct {
	ID         uuid.UUID  `json:"id"`
	ResidentID uuid.UUID  `json:"resident_id"`
	PlanID     *uuid.UUID `json:"plan_id"`
	PlannedFor *time.Time `json:"planned_for"`
	// Attempt is 1 for the first session recorded on a planned occurrence
	// and n after n-1 of them were entered in error (always 1 unplanned).
	Attempt        int         `json:"attempt"`
	Type           Type        `json:"type"`
	Outcome        string      `json:"outcome"`
	Reason         string      `json:"reason"`
	DurationMin    *int        `json:"duration_min"`
	Notes          string      `json:"notes"`
	OutcomeMeasure *Measure    `json:"outcome_measure"`
	RecordedBy     uuid.UUID   `json:"recorded_by"`
	RecordedAt     time.Time   `json:"recorded_at"`
	EnteredInError *Correction `json:"entered_in_error"`
}

func invalid(code, field, why string) error {
	return &backend.Error{Kind: backend.KindInvalid, Code: code, Detail: field + ": " + why,
		Fields: map[string]string{field: why}}
}

func textOK(s string, max int) bool {
	return utf8.ValidString(s) && len(s) <= max && !strings.ContainsRune(s, 0)
}

// Validate checks a plan request; trims text in place.
func (r *PlanRequest) Validate() error {
	if !slices.Contains(Types, r.Type) {
		return invalid("rehab.unknown_type", "type", "physiotherapy, occupational, speech or cognitive_stimulation")
	}
	if len(r.Weekdays) == 0 || len(r.Weekdays) > 7 {
		return invalid("rehab.invalid_weekdays", "weekdays", "one to seven ISO weekdays (1 Monday … 7 Sunday)")
	}
	seen := map[int]bool{}
	for _, d := range r.Weekdays {
		if d < 1 || d > 7 || seen[d] {
			return invalid("rehab.invalid_weekdays", "weekdays", "one to seven distinct ISO weekdays (1 Monday … 7 Sunday)")
		}
		seen[d] = true
	}
	slices.Sort(r.Weekdays)
	if _, err := time.Parse("15:04", r.Time); err != nil || len(r.Time) != 5 {
		return invalid("rehab.invalid_time", "time", "HH:MM")
	}
	start, err := time.Parse(DateLayout, r.StartDate)
	if err != nil {
		return invalid("rehab.invalid_date", "start_date", "YYYY-MM-DD")
	}
	if r.EndDate != nil {
		end, err := time.Parse(DateLayout, *r.EndDate)
		if err != nil {
			return invalid("rehab.invalid_date", "end_date", "YYYY-MM-DD")
		}
		if end.Before(start) {
			return invalid("rehab.invalid_date", "end_date", "not before start_date")
		}
	}
	r.Goal = strings.TrimSpace(r.Goal)
	if !textOK(r.Goal, 2000) {
		return invalid("rehab.invalid_text", "goal", "at most 2000 characters")
	}
	return nil
}

// Validate checks a session request at now; trims text in place.
func (r *SessionRequest) Validate(now time.Time) error {
	if !slices.Contains(Types, r.Type) {
		return invalid("rehab.unknown_type", "type", "physiotherapy, occupational, speech or cognitive_stimulation")
	}
	if (r.PlanID == nil) != (r.PlannedFor == nil) {
		return invalid("rehab.planned_for_required", "planned_for", "plan_id and planned_for go together")
	}
	if r.PlannedFor != nil {
		t := r.PlannedFor.UTC().Truncate(time.Second)
		r.PlannedFor = &t
		if t.After(now.Add(24 * time.Hour)) {
			return invalid("rehab.planned_in_future", "planned_for", "not more than a day ahead")
		}
	}
	r.Reason, r.Notes = strings.TrimSpace(r.Reason), strings.TrimSpace(r.Notes)
	switch r.Outcome {
	case Done:
		if r.DurationMin == nil || *r.DurationMin < 1 || *r.DurationMin > 240 {
			return invalid("rehab.duration_required", "duration_min", "minutes, 1 to 240")
		}
		if !textOK(r.Reason, 500) {
			return invalid("rehab.invalid_text", "reason", "at most 500 characters")
		}
	case NotDone:
		if len(r.Reason) < 3 || !textOK(r.Reason, 500) {
			return invalid("rehab.reason_required", "reason", "why it was not done (3 to 500 characters)")
		}
		if r.DurationMin != nil && (*r.DurationMin < 1 || *r.DurationMin > 240) {
			return invalid("rehab.duration_required", "duration_min", "minutes, 1 to 240")
		}
	default:
		return invalid("rehab.unknown_outcome", "outcome", "done or not_done")
	}
	if !textOK(r.Notes, 4000) {
		return invalid("rehab.invalid_text", "notes", "at most 4000 characters")
	}
	if m := r.OutcomeMeasure; m != nil {
		m.Name, m.Unit = strings.TrimSpace(m.Name), strings.TrimSpace(m.Unit)
		if m.Name == "" || !textOK(m.Name, 100) {
			return invalid("rehab.invalid_measure", "outcome_measure.name", "the measure's name (up to 100 characters)")
		}
		if !textOK(m.Unit, 30) {
			return invalid("rehab.invalid_measure", "outcome_measure.unit", "at most 30 characters")
		}
		if m.Value.Abs().GreaterThan(decimal.NewFromInt(1_000_000)) || m.Value.Exponent() < -3 {
			return invalid("rehab.invalid_measure", "outcome_measure.value", "a number, at most three decimals")
		}
	}
	return nil
}

// Live finds, among the sessions recorded on one planned occurrence, the
// one not entered in error, and otherwise the attempt a new session takes:
// an occurrence is reopened only when every earlier attempt was corrected.
func Live(sessions []Session) (live *Session, next int) {
	next = 1
	for i := range sessions {
		if sessions[i].EnteredInError == nil {
			return &sessions[i], 0
		}
		if sessions[i].Attempt >= next {
			next = sessions[i].Attempt + 1
		}
	}
	return nil, next
}

// Occurs reports whether the plan has a session on date (a facility-local
// calendar day) and at what instant in loc.
func (p Plan) Occurs(date time.Time, loc *time.Location) (time.Time, bool) {
	d := date.Format(DateLayout)
	if d < p.StartDate || (p.EndDate != nil && d > *p.EndDate) {
		return time.Time{}, false
	}
	wd := int(date.Weekday())
	if wd == 0 {
		wd = 7
	}
	if !slices.Contains(p.Weekdays, wd) {
		return time.Time{}, false
	}
	hm, err := time.Parse("15:04", p.Time)
	if err != nil {
		return time.Time{}, false
	}
	return time.Date(date.Year(), date.Month(), date.Day(), hm.Hour(), hm.Minute(), 0, 0, loc).UTC(), true
}
