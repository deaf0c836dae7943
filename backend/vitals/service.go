package vitals

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
	"github.com/shopspring/decimal"
)

// ResidentFacts is what the service knows of a resident to decide access.
type ResidentFacts = guard.ResidentFacts

// StoredResponse is the first answer given to an idempotency key.
type StoredResponse = backend.StoredResponse

// Latest is a resident's latest values, for the ward view.
type Latest struct {
	ResidentID uuid.UUID     `json:"resident_id"`
	GivenName  string        `json:"given_name"`
	FamilyName string        `json:"family_name"`
	BedCode    string        `json:"bed_code"`
	Latest     []Measurement `json:"latest"`
}

// Store reads measurements and opens write transactions.
type Store interface {
	Resident(ctx context.Context, facility, id, staff uuid.UUID) (ResidentFacts, error)
	// Measurements lists a resident's measurements taken in [from, to),
	// of kind when not empty, oldest first, corrections filled.
	Measurements(ctx context.Context, facility, resident uuid.UUID, kind Kind, from, to time.Time) ([]Measurement, error)
	// WardLatest lists the ward's current residents with the latest valid
	// measurement of each kind; found is false when the ward does not exist.
	WardLatest(ctx context.Context, facility, ward uuid.UUID) (list []Latest, found bool, err error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
	Tx(ctx context.Context, actor *backend.Actor, fn func(Tx) error) error
}

// Tx is what a write transaction offers.
type Tx interface {
	// LockKey serialises requests carrying the same idempotency key and
	// returns the first answer when there was one.
	LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*StoredResponse, error)
	SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r StoredResponse) error
	// LatestHeight is the resident's latest valid height, if any.
	LatestHeight(ctx context.Context, facility, resident uuid.UUID) (decimal.Decimal, bool, error)
	InsertRecord(ctx context.Context, facility uuid.UUID, r *Record, device uuid.UUID) error
	// LockMeasurement reads a measurement, with its correction, and locks it.
	LockMeasurement(ctx context.Context, facility, id uuid.UUID) (Measurement, error)
	// ReadRecord reads a record with all its measurements and corrections.
	ReadRecord(ctx context.Context, facility, id uuid.UUID) (Record, error)
	InsertCorrection(ctx context.Context, facility, measurement uuid.UUID, c *Correction) error
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Service records and reads vital signs.
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

// Record records measurements taken together, exactly once under retries:
// the answer is stored under (staff, key) in the same transaction; a replay
// returns it (replayed true), the same key with another request is
// idempotency.key_reused. A weight recorded when a height is known (in the
// request or before) also stores the BMI.
func (s *Service) Record(ctx context.Context, a *backend.Actor, resident, key uuid.UUID, hash []byte, req RecordRequest) (Record, bool, error) {
	const op = "vitals.record"
	now := s.now()
	if key == uuid.Nil {
		return Record{}, false, invalid("idempotency.key_required", "Idempotency-Key", "send a UUID generated once per record")
	}
	if _, _, err := s.residentFor(ctx, a, access.RecordVitals, resident); err != nil {
		return Record{}, false, err
	}
	if err := req.Validate(now); err != nil {
		return Record{}, false, err
	}
	rec := Record{ID: uuid.New(), ResidentID: resident, MeasuredAt: req.MeasuredAt.UTC().Truncate(time.Microsecond),
		Notes: strings.TrimSpace(req.Notes), RecordedBy: a.StaffID, RecordedAt: now, Measurements: []Measurement{}}
	var weight, height *decimal.Decimal
	for _, in := range req.Measurements {
		m := Measure(in)
		switch in.Kind {
		case Weight:
			weight = in.Value
		case Height:
			height = in.Value
		}
		rec.Measurements = append(rec.Measurements, m)
	}
	var replay bool
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		replay = false
		stored, err := tx.LockKey(ctx, a.FacilityID, a.StaffID, key)
		if err != nil {
			return err
		}
		if stored != nil {
			if err := stored.Replay(op, hash, &rec); err != nil {
				return err
			}
			replay = true
			return nil
		}
		out := rec
		out.Measurements = append([]Measurement(nil), rec.Measurements...)
		if weight != nil {
			h := height
			if h == nil {
				latest, ok, err := tx.LatestHeight(ctx, a.FacilityID, resident)
				if err != nil {
					return err
				}
				if ok {
					h = &latest
				}
			}
			if h != nil {
				if bmi, ok := ComputeBMI(*weight, *h); ok {
					out.Measurements = append(out.Measurements, BMIMeasurement(bmi))
				}
			}
		}
		for i := range out.Measurements {
			m := &out.Measurements[i]
			m.ID, m.RecordID, m.ResidentID, m.MeasuredAt, m.Position = uuid.New(), out.ID, resident, out.MeasuredAt, i
		}
		if err := tx.InsertRecord(ctx, a.FacilityID, &out, a.DeviceID); err != nil {
			return err
		}
		ev := audit.By(a, string(access.RecordVitals), "vital_record", out.ID.String(), resident, audit.Success)
		kinds := make([]string, len(out.Measurements))
		for i, m := range out.Measurements {
			kinds[i] = string(m.Kind)
		}
		ev.Detail = strings.Join(kinds, ",")
		if err := tx.AppendAudit(ctx, ev); err != nil {
			return err
		}
		body, err := json.Marshal(out)
		if err != nil {
			return backend.Internal(err, "marshal vital record")
		}
		rec = out
		return tx.SaveResponse(ctx, a.FacilityID, a.StaffID, key, StoredResponse{Operation: op, Hash: hash, Body: body})
	})
	if err != nil {
		return Record{}, false, err
	}
	return rec, replay, nil
}

// EnteredInError marks a measurement entered in error, with a reason: a
// linked correction, never an edit. A weight's computed BMI goes with it.
// Who may: whoever may record vitals on the resident. Answers the record.
func (s *Service) EnteredInError(ctx context.Context, a *backend.Actor, id uuid.UUID, reason string) (Record, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) < 5 || !textOK(reason, 500) {
		return Record{}, invalid("correction.reason_required", "reason", "say what was wrong (at least 5 characters)")
	}
	notFound := backend.E(backend.KindNotFound, "vitals.not_found")
	var m Measurement
	err := s.Store.Tx(ctx, nil, func(tx Tx) error {
		var err error
		m, err = tx.LockMeasurement(ctx, a.FacilityID, id)
		return err
	})
	if backend.IsKind(err, backend.KindNotFound) {
		return Record{}, s.denied(ctx, a, access.RecordVitals, "vital_measurement", id, uuid.Nil, notFound)
	}
	if err != nil {
		return Record{}, err
	}
	if _, _, err := s.residentFor(ctx, a, access.RecordVitals, m.ResidentID); err != nil {
		if backend.IsKind(err, backend.KindNotFound) {
			return Record{}, notFound
		}
		return Record{}, err
	}
	var rec Record
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		m, err := tx.LockMeasurement(ctx, a.FacilityID, id)
		if err != nil {
			return err
		}
		if m.EnteredInError != nil {
			return backend.E(backend.KindConflict, "vitals.already_corrected", "this measurement is already marked entered in error")
		}
		if m.Computed {
			return backend.E(backend.KindUnprocessable, "vitals.computed", "a BMI is corrected with the weight it was computed from")
		}
		rec, err = tx.ReadRecord(ctx, a.FacilityID, m.RecordID)
		if err != nil {
			return err
		}
		targets := []uuid.UUID{m.ID}
		if m.Kind == Weight {
			for _, x := range rec.Measurements {
				if x.Kind == BMI && x.EnteredInError == nil {
					targets = append(targets, x.ID)
				}
			}
		}
		for _, t := range targets {
			c := &Correction{ID: uuid.New(), Reason: reason, RecordedBy: a.StaffID, RecordedAt: s.now()}
			if err := tx.InsertCorrection(ctx, a.FacilityID, t, c); err != nil {
				if backend.IsCode(err, "duplicate") {
					return backend.E(backend.KindConflict, "vitals.already_corrected", "this measurement is already marked entered in error")
				}
				return err
			}
			for i := range rec.Measurements {
				if rec.Measurements[i].ID == t {
					rec.Measurements[i].EnteredInError = c
				}
			}
		}
		return tx.AppendAudit(ctx, audit.By(a, "vitals.entered_in_error", "vital_measurement", id.String(), m.ResidentID, audit.Success))
	})
	return rec, err
}

// DefaultPeriod is the trends period when none is asked for.
const DefaultPeriod = 7 * 24 * time.Hour

// maxPeriod bounds a trends query.
const maxPeriod = 366 * 24 * time.Hour

// Trends returns the series per kind (or of one kind) over [from, to):
// by default the last 7 days. Audited as a read of the resident.
func (s *Service) Trends(ctx context.Context, a *backend.Actor, resident uuid.UUID, kind Kind, from, to time.Time) (Trends, error) {
	if kind != "" {
		if _, ok := SpecOf(kind); !ok {
			return Trends{}, invalid("vitals.unknown_kind", "kind", "one of "+KindNames())
		}
	}
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
		return Trends{}, invalid("vitals.invalid_period", "from", "from must be before to")
	}
	if to.Sub(from) > maxPeriod {
		return Trends{}, invalid("vitals.invalid_period", "to", "at most a year at once")
	}
	_, d, err := s.residentFor(ctx, a, access.ReadResident, resident)
	if err != nil {
		return Trends{}, err
	}
	ms, err := s.Store.Measurements(ctx, a.FacilityID, resident, kind, from, to)
	if err != nil {
		return Trends{}, err
	}
	ev := audit.By(a, "vitals.read", "resident", resident.String(), resident, audit.Success)
	ev.BreakGlass = d.BreakGlass
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return Trends{}, err // no audit, no read
	}
	return Trends{ResidentID: resident, From: from.UTC(), To: to.UTC(), Series: Group(ms)}, nil
}

// WardLatest lists the latest values of each current resident of a ward
// the actor sees; one audit event names every resident shown.
func (s *Service) WardLatest(ctx context.Context, a *backend.Actor, ward uuid.UUID) ([]Latest, error) {
	notFound := backend.E(backend.KindNotFound, backend.CodeWardNotFound)
	if !access.SeesWard(a, a.FacilityID, ward) {
		return nil, s.denied(ctx, a, access.ReadResident, "ward", ward, uuid.Nil, notFound)
	}
	list, found, err := s.Store.WardLatest(ctx, a.FacilityID, ward)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, s.denied(ctx, a, access.ReadResident, "ward", ward, uuid.Nil, notFound)
	}
	ev := audit.By(a, "vitals.ward_latest", "ward", ward.String(), uuid.Nil, audit.Success)
	ev.ResidentIDs = make([]uuid.UUID, len(list))
	for i, r := range list {
		ev.ResidentIDs[i] = r.ResidentID
	}
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return nil, err
	}
	return list, nil
}
