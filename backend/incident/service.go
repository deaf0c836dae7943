package incident

import (
	"context"
	"encoding/json"
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

// Store reads incidents and opens write transactions.
type Store interface {
	Resident(ctx context.Context, facility, id, staff uuid.UUID) (ResidentFacts, error)
	// List lists a resident's incidents, newest first, corrections filled.
	List(ctx context.Context, facility, resident uuid.UUID) ([]Incident, error)
	// WardList lists the incidents of the ward's current residents that
	// occurred in [from, to), newest first; found is false when the ward
	// does not exist.
	WardList(ctx context.Context, facility, ward uuid.UUID, from, to time.Time) (list []Incident, found bool, err error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
	Tx(ctx context.Context, actor *backend.Actor, fn func(Tx) error) error
}

// Tx is what a write transaction offers.
type Tx interface {
	// LockKey serialises requests carrying the same idempotency key and
	// returns the first answer when there was one.
	LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*StoredResponse, error)
	SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r StoredResponse) error
	// Incident reads an incident with its correction and locks it.
	Incident(ctx context.Context, facility, id uuid.UUID) (Incident, error)
	Insert(ctx context.Context, facility uuid.UUID, in *Incident, device uuid.UUID) error
	InsertCorrection(ctx context.Context, facility, incident uuid.UUID, c *Correction) error
	// NotifyLeads opens the incident's alert chain and notifies the ward's
	// leads, with the outbox rows.
	NotifyLeads(ctx context.Context, facility, ward, resident, incident uuid.UUID) error
	// ResolveAlert closes the incident's alert chain at a moment, as a
	// recorded dose closes its own: it stops showing as open to the ward
	// leads, never escalates and is not pushed again.
	ResolveAlert(ctx context.Context, facility, incident uuid.UUID, at time.Time) error
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Service records and reads incidents.
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

// Record records an incident exactly once under retries (the answer is
// stored under (staff, key) in the same transaction; a replay returns it
// with replayed true) and, in that transaction, notifies the ward lead.
// A follow-up names an earlier incident of the same resident and kind.
func (s *Service) Record(ctx context.Context, a *backend.Actor, resident, key uuid.UUID, hash []byte, req RecordRequest) (Incident, bool, error) {
	const op = "incident.record"
	now := s.now()
	if key == uuid.Nil {
		return Incident{}, false, invalid("idempotency.key_required", "Idempotency-Key", "send a UUID generated once per incident")
	}
	r, _, err := s.residentFor(ctx, a, access.RecordCare, resident)
	if err != nil {
		return Incident{}, false, err
	}
	if err := req.Validate(now); err != nil {
		return Incident{}, false, err
	}
	in := Incident{ID: uuid.New(), ResidentID: resident, Kind: req.Kind, OccurredAt: req.OccurredAt, FollowUpOf: req.FollowUpOf,
		Fall: req.Fall, PressureInjury: req.PressureInjury, Other: req.Other, Notes: req.Notes, RecordedBy: a.StaffID, RecordedAt: now}
	var replay bool
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		replay = false
		stored, err := tx.LockKey(ctx, a.FacilityID, a.StaffID, key)
		if err != nil {
			return err
		}
		if stored != nil {
			if err := stored.Replay(op, hash, &in); err != nil {
				return err
			}
			replay = true
			return nil
		}
		if in.FollowUpOf != nil {
			prev, err := tx.Incident(ctx, a.FacilityID, *in.FollowUpOf)
			if err != nil && !backend.IsKind(err, backend.KindNotFound) {
				return err
			}
			if err != nil || prev.ResidentID != resident || prev.Kind != in.Kind || prev.EnteredInError != nil {
				return &backend.Error{Kind: backend.KindUnprocessable, Code: "incident.invalid_follow_up",
					Detail: "follow_up_of: an incident of this resident and kind, not entered in error",
					Fields: map[string]string{"follow_up_of": "an incident of this resident and kind, not entered in error"}}
			}
		}
		if err := tx.Insert(ctx, a.FacilityID, &in, a.DeviceID); err != nil {
			return err
		}
		if err := tx.NotifyLeads(ctx, a.FacilityID, r.WardID, resident, in.ID); err != nil {
			return err
		}
		ev := audit.By(a, string(access.RecordCare), "incident", in.ID.String(), resident, audit.Success)
		ev.Detail = string(in.Kind)
		if err := tx.AppendAudit(ctx, ev); err != nil {
			return err
		}
		body, err := json.Marshal(in)
		if err != nil {
			return backend.Internal(err, "marshal incident")
		}
		return tx.SaveResponse(ctx, a.FacilityID, a.StaffID, key, StoredResponse{Operation: op, Hash: hash, Body: body})
	})
	if err != nil {
		return Incident{}, false, err
	}
	return in, replay, nil
}

// EnteredInError marks an incident entered in error, with a reason: a
// linked correction, never an edit. The alert it raised is resolved in the
// same transaction: the ward leads are not left with an open alert about
// an event that did not happen. Who may: whoever may record care on the
// resident.
func (s *Service) EnteredInError(ctx context.Context, a *backend.Actor, id uuid.UUID, reason string) (Incident, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) < 5 || !textOK(reason, 500) {
		return Incident{}, invalid("correction.reason_required", "reason", "say what was wrong (at least 5 characters)")
	}
	notFound := backend.E(backend.KindNotFound, "incident.not_found")
	var in Incident
	err := s.Store.Tx(ctx, nil, func(tx Tx) error {
		var err error
		in, err = tx.Incident(ctx, a.FacilityID, id)
		return err
	})
	if backend.IsKind(err, backend.KindNotFound) {
		return Incident{}, s.denied(ctx, a, access.RecordCare, "incident", id, uuid.Nil, notFound)
	}
	if err != nil {
		return Incident{}, err
	}
	if _, _, err := s.residentFor(ctx, a, access.RecordCare, in.ResidentID); err != nil {
		if backend.IsKind(err, backend.KindNotFound) {
			return Incident{}, notFound
		}
		return Incident{}, err
	}
	already := backend.E(backend.KindConflict, "incident.already_corrected", "this incident is already marked entered in error")
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		var err error
		in, err = tx.Incident(ctx, a.FacilityID, id)
		if err != nil {
			return err
		}
		if in.EnteredInError != nil {
			return already
		}
		c := &Correction{ID: uuid.New(), Reason: reason, RecordedBy: a.StaffID, RecordedAt: s.now()}
		if err := tx.InsertCorrection(ctx, a.FacilityID, id, c); err != nil {
			if backend.IsCode(err, "duplicate") {
				return already
			}
			return err
		}
		in.EnteredInError = c
		if err := tx.ResolveAlert(ctx, a.FacilityID, id, c.RecordedAt); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.By(a, "incident.entered_in_error", "incident", id.String(), in.ResidentID, audit.Success))
	})
	return in, err
}

// List lists a resident's incidents, newest first. Audited as a read.
func (s *Service) List(ctx context.Context, a *backend.Actor, resident uuid.UUID) ([]Incident, error) {
	_, d, err := s.residentFor(ctx, a, access.ReadResident, resident)
	if err != nil {
		return nil, err
	}
	list, err := s.Store.List(ctx, a.FacilityID, resident)
	if err != nil {
		return nil, err
	}
	ev := audit.By(a, "incident.read", "resident", resident.String(), resident, audit.Success)
	ev.BreakGlass = d.BreakGlass
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return nil, err // no audit, no read
	}
	if list == nil {
		list = []Incident{}
	}
	return list, nil
}

// DefaultPeriod is the ward list's period when none is asked for.
const DefaultPeriod = 30 * 24 * time.Hour

const maxPeriod = 366 * 24 * time.Hour

// WardList lists the incidents of a ward's current residents in [from,
// to) (by default the last 30 days); one audit event names every resident
// shown.
func (s *Service) WardList(ctx context.Context, a *backend.Actor, ward uuid.UUID, from, to time.Time) ([]Incident, time.Time, time.Time, error) {
	now := s.now()
	switch {
	case from.IsZero() && to.IsZero():
		to = now
		from = to.Add(-DefaultPeriod)
	case from.IsZero():
		from = to.Add(-DefaultPeriod)
	case to.IsZero():
		to = from.Add(DefaultPeriod)
	}
	if !from.Before(to) {
		return nil, from, to, invalid("incident.invalid_period", "from", "from must be before to")
	}
	if to.Sub(from) > maxPeriod {
		return nil, from, to, invalid("incident.invalid_period", "to", "at most a year at once")
	}
	notFound := backend.E(backend.KindNotFound, backend.CodeWardNotFound)
	if !access.SeesWard(a, a.FacilityID, ward) {
		return nil, from, to, s.denied(ctx, a, access.ReadResident, "ward", ward, uuid.Nil, notFound)
	}
	list, found, err := s.Store.WardList(ctx, a.FacilityID, ward, from, to)
	if err != nil {
		return nil, from, to, err
	}
	if !found {
		return nil, from, to, s.denied(ctx, a, access.ReadResident, "ward", ward, uuid.Nil, notFound)
	}
	ev := audit.By(a, "incident.ward_list", "ward", ward.String(), uuid.Nil, audit.Success)
	for _, in := range list {
		seen := false
		for _, r := range ev.ResidentIDs {
			seen = seen || r == in.ResidentID
		}
		if !seen {
			ev.ResidentIDs = append(ev.ResidentIDs, in.ResidentID)
		}
	}
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return nil, from, to, err
	}
	if list == nil {
		list = []Incident{}
	}
	return list, from.UTC(), to.UTC(), nil
}
