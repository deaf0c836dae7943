package rehab

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/guard"
	"github.com/google/uuid"
)

// ResidentFacts is what the service knows of a resident to decide access.
type ResidentFacts = guard.ResidentFacts

// StoredResponse is the first answer given to an idempotency key.
type StoredResponse = backend.StoredResponse

// DayPlan is a plan active on a day, with where its resident lies.
type DayPlan struct {
	Plan
	WardID       uuid.UUID
	ResidentName string
}

// Store reads rehabilitation and opens write transactions.
type Store interface {
	Resident(ctx context.Context, facility, id, staff uuid.UUID) (ResidentFacts, error)
	TimeZone(ctx context.Context, facility uuid.UUID) (string, error)
	Plans(ctx context.Context, facility, resident uuid.UUID) ([]Plan, error)
	Sessions(ctx context.Context, facility, resident uuid.UUID) ([]Session, error)
	// DayPlans lists the plans of current residents on wards (all wards
	// when all) that cover date.
	DayPlans(ctx context.Context, facility uuid.UUID, wards []uuid.UUID, all bool, date string) ([]DayPlan, error)
	// PlannedSessions lists the sessions recorded for plans with
	// planned_for in [from, to), corrections filled.
	PlannedSessions(ctx context.Context, facility uuid.UUID, plans []uuid.UUID, from, to time.Time) ([]Session, error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
	Tx(ctx context.Context, actor *backend.Actor, fn func(Tx) error) error
}

// Tx is what a write transaction offers.
type Tx interface {
	LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*StoredResponse, error)
	SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r StoredResponse) error
	Plan(ctx context.Context, facility, id uuid.UUID) (Plan, error)
	// LockOccurrence locks the plan (so that two phones recording the same
	// occurrence take turns) and reads the sessions recorded at planned,
	// corrections filled, in attempt order.
	LockOccurrence(ctx context.Context, facility, plan uuid.UUID, planned time.Time) ([]Session, error)
	InsertPlan(ctx context.Context, facility uuid.UUID, p *Plan) error
	// CarePlanIntervention reads the resident and kind of a care-plan
	// intervention and whether its version is in force (not found:
	// KindNotFound).
	CarePlanIntervention(ctx context.Context, facility, id uuid.UUID) (resident uuid.UUID, kind string, inForce bool, err error)
	// Session reads a session with its correction and locks it.
	Session(ctx context.Context, facility, id uuid.UUID) (Session, error)
	InsertSession(ctx context.Context, facility uuid.UUID, s *Session, device uuid.UUID) error
	InsertCorrection(ctx context.Context, facility, session uuid.UUID, c *Correction) error
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Service plans and records rehabilitation.
type Service struct {
	Store Store
	Clock backend.Clock
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

// guard decides access on residents and audits refusals (backend/guard).
func (s *Service) guard() guard.Guard {
	return guard.Guard{Lookup: s.Store.Resident, Audit: s.Store.AppendAudit}
}

func (s *Service) denied(ctx context.Context, a *backend.Actor, action access.Action, resource string, id, resident uuid.UUID, cause error) error {
	return s.guard().Denied(ctx, a, action, resource, id, resident, cause)
}

func (s *Service) residentFor(ctx context.Context, a *backend.Actor, action access.Action, id uuid.UUID) (ResidentFacts, access.Decision, error) {
	return s.guard().Resident(ctx, a, action, id)
}

func (s *Service) location(ctx context.Context, facility uuid.UUID) (*time.Location, error) {
	tz, err := s.Store.TimeZone(ctx, facility)
	if err != nil {
		return nil, err
	}
	loc, err := backend.Zone(tz)
	if err != nil {
		return nil, err
	}
	return loc, nil
}

// CreatePlan plans sessions for a resident. Therapists only (RecordRehab).
func (s *Service) CreatePlan(ctx context.Context, a *backend.Actor, resident uuid.UUID, req PlanRequest) (Plan, error) {
	if _, _, err := s.residentFor(ctx, a, access.RecordRehab, resident); err != nil {
		return Plan{}, err
	}
	if err := req.Validate(); err != nil {
		return Plan{}, err
	}
	p := Plan{ID: uuid.New(), ResidentID: resident, Type: req.Type, Weekdays: req.Weekdays, Time: req.Time,
		StartDate: req.StartDate, EndDate: req.EndDate, Therapist: req.Therapist, Goal: req.Goal, CarePlanID: req.CarePlanID,
		RecordedBy: a.StaffID, RecordedAt: s.now()}
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		if p.CarePlanID != nil {
			// A plan carries out a rehab intervention of this resident's
			// PAI in force: anything else is a dangling link.
			res, kind, inForce, err := tx.CarePlanIntervention(ctx, a.FacilityID, *p.CarePlanID)
			if backend.IsKind(err, backend.KindNotFound) || (err == nil && (res != resident || kind != "rehab" || !inForce)) {
				return &backend.Error{Kind: backend.KindUnprocessable, Code: "rehab.invalid_care_plan_intervention",
					Detail: "care_plan_intervention_id: a rehab intervention of this resident's care plan in force",
					Fields: map[string]string{"care_plan_intervention_id": "a rehab intervention of this resident's care plan in force"}}
			}
			if err != nil {
				return err
			}
		}
		if err := tx.InsertPlan(ctx, a.FacilityID, &p); err != nil {
			if backend.IsCode(err, "invalid_reference") {
				return &backend.Error{Kind: backend.KindUnprocessable, Code: "rehab.invalid_therapist",
					Detail: "therapist_id: a staff member of this facility", Fields: map[string]string{"therapist_id": "a staff member of this facility"}}
			}
			return err
		}
		ev := audit.By(a, string(access.RecordRehab), "rehab_plan", p.ID.String(), resident, audit.Success)
		ev.Detail = "plan " + string(p.Type)
		return tx.AppendAudit(ctx, ev)
	})
	return p, err
}

// Plans lists a resident's plans. Audited as a read.
func (s *Service) Plans(ctx context.Context, a *backend.Actor, resident uuid.UUID) ([]Plan, error) {
	_, d, err := s.residentFor(ctx, a, access.ReadResident, resident)
	if err != nil {
		return nil, err
	}
	list, err := s.Store.Plans(ctx, a.FacilityID, resident)
	if err != nil {
		return nil, err
	}
	ev := audit.By(a, "rehab.plans_read", "resident", resident.String(), resident, audit.Success)
	ev.BreakGlass = d.BreakGlass
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return nil, err
	}
	if list == nil {
		list = []Plan{}
	}
	return list, nil
}

// Sessions lists a resident's sessions, newest first. Audited as a read.
func (s *Service) Sessions(ctx context.Context, a *backend.Actor, resident uuid.UUID) ([]Session, error) {
	_, d, err := s.residentFor(ctx, a, access.ReadResident, resident)
	if err != nil {
		return nil, err
	}
	list, err := s.Store.Sessions(ctx, a.FacilityID, resident)
	if err != nil {
		return nil, err
	}
	ev := audit.By(a, "rehab.sessions_read", "resident", resident.String(), resident, audit.Success)
	ev.BreakGlass = d.BreakGlass
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return nil, err
	}
	if list == nil {
		list = []Session{}
	}
	return list, nil
}

func errInvalidPlan() error {
	return &backend.Error{Kind: backend.KindUnprocessable, Code: "rehab.invalid_plan",
		Detail: "plan_id: a plan of this resident with a session at planned_for",
		Fields: map[string]string{"plan_id": "a plan of this resident with a session at planned_for"}}
}

func errAlreadyRecorded() error {
	return backend.E(backend.KindConflict, "rehab.already_recorded", "this planned session is already recorded")
}

// RecordSession records a session exactly once under retries (the answer
// stored under (staff, key) in the same transaction). A planned occurrence
// holds one live session: recording it again is a conflict unless every
// earlier session on it was entered in error, when the new one takes the
// next attempt. Therapists only (RecordRehab).
func (s *Service) RecordSession(ctx context.Context, a *backend.Actor, resident, key uuid.UUID, hash []byte, req SessionRequest) (Session, bool, error) {
	const op = "rehab.session"
	now := s.now()
	if key == uuid.Nil {
		return Session{}, false, invalid("idempotency.key_required", "Idempotency-Key", "send a UUID generated once per session")
	}
	if _, _, err := s.residentFor(ctx, a, access.RecordRehab, resident); err != nil {
		return Session{}, false, err
	}
	if err := req.Validate(now); err != nil {
		return Session{}, false, err
	}
	var loc *time.Location
	if req.PlanID != nil {
		var err error
		if loc, err = s.location(ctx, a.FacilityID); err != nil {
			return Session{}, false, err
		}
	}
	ss := Session{ID: uuid.New(), ResidentID: resident, PlanID: req.PlanID, PlannedFor: req.PlannedFor, Type: req.Type,
		Outcome: req.Outcome, Reason: req.Reason, DurationMin: req.DurationMin, Notes: req.Notes,
		OutcomeMeasure: req.OutcomeMeasure, RecordedBy: a.StaffID, RecordedAt: now}
	var replay bool
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		replay = false
		stored, err := tx.LockKey(ctx, a.FacilityID, a.StaffID, key)
		if err != nil {
			return err
		}
		if stored != nil {
			if err := stored.Replay(op, hash, &ss); err != nil {
				return err
			}
			replay = true
			return nil
		}
		if ss.PlanID != nil {
			p, err := tx.Plan(ctx, a.FacilityID, *ss.PlanID)
			if backend.IsKind(err, backend.KindNotFound) || (err == nil && p.ResidentID != resident) {
				return errInvalidPlan()
			}
			if err != nil {
				return err
			}
			local := ss.PlannedFor.In(loc)
			at, ok := p.Occurs(local, loc)
			if !ok || !at.Equal(*ss.PlannedFor) {
				return errInvalidPlan()
			}
			recorded, err := tx.LockOccurrence(ctx, a.FacilityID, p.ID, at)
			if err != nil {
				return err
			}
			live, next := Live(recorded)
			if live != nil {
				return errAlreadyRecorded()
			}
			ss.Attempt = next
		} else {
			ss.Attempt = 1
		}
		if err := tx.InsertSession(ctx, a.FacilityID, &ss, a.DeviceID); err != nil {
			// The lock makes this unreachable between two recordings
			// through this service; the index stays the last word.
			if backend.IsCode(err, "duplicate") {
				return errAlreadyRecorded()
			}
			return err
		}
		ev := audit.By(a, string(access.RecordRehab), "rehab_session", ss.ID.String(), resident, audit.Success)
		ev.Detail = string(ss.Type) + " " + ss.Outcome
		if err := tx.AppendAudit(ctx, ev); err != nil {
			return err
		}
		body, err := json.Marshal(ss)
		if err != nil {
			return backend.Internal(err, "marshal rehab session")
		}
		return tx.SaveResponse(ctx, a.FacilityID, a.StaffID, key, StoredResponse{Operation: op, Hash: hash, Body: body})
	})
	if err != nil {
		return Session{}, false, err
	}
	return ss, replay, nil
}

// EnteredInError marks a session entered in error, with a reason. Who
// may: whoever may record rehabilitation on the resident.
func (s *Service) EnteredInError(ctx context.Context, a *backend.Actor, id uuid.UUID, reason string) (Session, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) < 5 || !textOK(reason, 500) {
		return Session{}, invalid("correction.reason_required", "reason", "say what was wrong (at least 5 characters)")
	}
	notFound := backend.E(backend.KindNotFound, "rehab.session_not_found")
	var ss Session
	err := s.Store.Tx(ctx, nil, func(tx Tx) error {
		var err error
		ss, err = tx.Session(ctx, a.FacilityID, id)
		return err
	})
	if backend.IsKind(err, backend.KindNotFound) {
		return Session{}, s.denied(ctx, a, access.RecordRehab, "rehab_session", id, uuid.Nil, notFound)
	}
	if err != nil {
		return Session{}, err
	}
	if _, _, err := s.residentFor(ctx, a, access.RecordRehab, ss.ResidentID); err != nil {
		if backend.IsKind(err, backend.KindNotFound) {
			return Session{}, notFound
		}
		return Session{}, err
	}
	already := backend.E(backend.KindConflict, "rehab.already_corrected", "this session is already marked entered in error")
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		var err error
		ss, err = tx.Session(ctx, a.FacilityID, id)
		if err != nil {
			return err
		}
		if ss.EnteredInError != nil {
			return already
		}
		c := &Correction{ID: uuid.New(), Reason: reason, RecordedBy: a.StaffID, RecordedAt: s.now()}
		if err := tx.InsertCorrection(ctx, a.FacilityID, id, c); err != nil {
			if backend.IsCode(err, "duplicate") {
				return already
			}
			return err
		}
		ss.EnteredInError = c
		return tx.AppendAudit(ctx, audit.By(a, "rehab.entered_in_error", "rehab_session", id.String(), ss.ResidentID, audit.Success))
	})
	return ss, err
}

// DayItem is one planned session on the day list.
type DayItem struct {
	PlannedFor   time.Time  `json:"planned_for"`
	ResidentID   uuid.UUID  `json:"resident_id"`
	ResidentName string     `json:"resident_name"`
	WardID       uuid.UUID  `json:"ward_id"`
	PlanID       uuid.UUID  `json:"plan_id"`
	Type         Type       `json:"type"`
	Therapist    *uuid.UUID `json:"therapist_id"`
	Goal         string     `json:"goal"`
	State        string     `json:"state"` // planned, done, not_done
	Session      *Session   `json:"session"`
}

// DaySlot groups the day list's items by time of day.
type DaySlot struct {
	Time  string    `json:"time"`
	Items []DayItem `json:"items"`
}

// Day is the caller's day list.
type Day struct {
	Date     string    `json:"date"`
	TimeZone string    `json:"time_zone"`
	Slots    []DaySlot `json:"slots"`
}

// DayList expands the plans of the residents on the caller's wards (every
// ward for facility-wide roles) for date (YYYY-MM-DD in the facility's
// time zone; today when empty), with each session's state. One audit
// event names every resident shown.
func (s *Service) DayList(ctx context.Context, a *backend.Actor, date string) (Day, error) {
	if !access.Can(a, access.ReadResident) {
		return Day{}, s.denied(ctx, a, access.ReadResident, "rehab_day", uuid.Nil, uuid.Nil,
			backend.E(backend.KindForbidden, backend.CodeForbidden, "your role does not read residents"))
	}
	tz, err := s.Store.TimeZone(ctx, a.FacilityID)
	if err != nil {
		return Day{}, err
	}
	loc, err := backend.Zone(tz)
	if err != nil {
		return Day{}, err
	}
	var day time.Time
	if date == "" {
		n := s.now().In(loc)
		day = time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	} else {
		d, err := time.ParseInLocation(DateLayout, date, loc)
		if err != nil {
			return Day{}, invalid("rehab.invalid_date", "date", "YYYY-MM-DD")
		}
		day = d
	}
	date = day.Format(DateLayout)
	out := Day{Date: date, TimeZone: tz, Slots: []DaySlot{}}
	plans, err := s.Store.DayPlans(ctx, a.FacilityID, a.WardIDs, access.SeesWholeFacility(a), date)
	if err != nil {
		return Day{}, err
	}
	var items []DayItem
	var ids []uuid.UUID
	for _, p := range plans {
		at, ok := p.Occurs(day, loc)
		if !ok {
			continue
		}
		ids = append(ids, p.ID)
		items = append(items, DayItem{PlannedFor: at, ResidentID: p.ResidentID, ResidentName: p.ResidentName, WardID: p.WardID,
			PlanID: p.ID, Type: p.Type, Therapist: p.Therapist, Goal: p.Goal, State: Planned})
	}
	from, to := day.UTC(), day.AddDate(0, 0, 1).UTC()
	if len(ids) > 0 {
		sessions, err := s.Store.PlannedSessions(ctx, a.FacilityID, ids, from, to)
		if err != nil {
			return Day{}, err
		}
		for i := range items {
			for j := range sessions {
				ss := &sessions[j]
				if ss.EnteredInError == nil && *ss.PlanID == items[i].PlanID && ss.PlannedFor.Equal(items[i].PlannedFor) {
					items[i].State, items[i].Session = ss.Outcome, ss
				}
			}
		}
	}
	sort.SliceStable(items, func(i, j int) bool {
		if !items[i].PlannedFor.Equal(items[j].PlannedFor) {
			return items[i].PlannedFor.Before(items[j].PlannedFor)
		}
		return items[i].ResidentName < items[j].ResidentName
	})
	ev := audit.By(a, "rehab.day_list", "rehab_day", date, uuid.Nil, audit.Success)
	for _, it := range items {
		hm := it.PlannedFor.In(loc).Format("15:04")
		if n := len(out.Slots); n == 0 || out.Slots[n-1].Time != hm {
			out.Slots = append(out.Slots, DaySlot{Time: hm})
		}
		out.Slots[len(out.Slots)-1].Items = append(out.Slots[len(out.Slots)-1].Items, it)
		if !containsID(ev.ResidentIDs, it.ResidentID) {
			ev.ResidentIDs = append(ev.ResidentIDs, it.ResidentID)
		}
	}
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return Day{}, err
	}
	return out, nil
}

func containsID(list []uuid.UUID, id uuid.UUID) bool {
	for _, x := range list {
		if x == id {
			return true
		}
	}
	return false
}
