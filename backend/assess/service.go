package assess

import (
	"context"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
)

// Assessment is one recorded form. It is never edited: a mistake is marked
// entered in error with a reason, and a new assessment recorded.
type Assessment struct {
	ID, FacilityID, ResidentID uuid.UUID
	Scale                      string
	Answers                    map[string]int
	RawTotal                   int
	Total                      float64
	Band                       string
	// MMSE only.
	Age, SchoolingYears *int
	Norms               string
	Correction          *float64
	CorrectionNote      string

	Notes      string
	AssessedAt time.Time
	RecordedAt time.Time
	RecordedBy uuid.UUID
	// EnteredInError is set once the assessment was marked an error.
	EnteredInError *Correction
}

// Correction marks an assessment entered in error.
type Correction struct {
	Reason string
	By     uuid.UUID
	At     time.Time
}

// Form is an assessment to record.
type Form struct {
	Scale   string
	Answers map[string]int
	MMSE    MMSEInput
	// AssessedAt defaults to now; it may not be in the future.
	AssessedAt time.Time
	Notes      string
	// IdempotencyKey, when set, makes a retry return the first recording.
	IdempotencyKey string
}

// ResidentLatest is a current resident of a ward with her latest valid
// result per scale.
type ResidentLatest struct {
	ResidentID            uuid.UUID
	GivenName, FamilyName string
	Bed                   string
	Last                  map[string]Last
}

// ResidentDue is a resident with the scales due.
type ResidentDue struct {
	ResidentLatest
	Due []Due
}

// Store reads outside transactions and opens transactions for writes.
type Store interface {
	// ResidentTarget describes a resident for an access decision (with the
	// actor's live break-the-glass reason); KindNotFound when absent.
	ResidentTarget(ctx context.Context, facility, resident, staff uuid.UUID) (access.Target, error)
	// BandOverrides lists the facility's band overrides of a scale.
	BandOverrides(ctx context.Context, facility uuid.UUID, scale string) ([]Override, error)
	// BandSettings lists the same overrides with the version of the
	// facility's bands of the scale (see BandSet.Version).
	BandSettings(ctx context.Context, facility uuid.UUID, scale string) ([]Override, int, error)
	// List lists a resident's assessments (of scale, or all when ""), newest first.
	List(ctx context.Context, facility, resident uuid.UUID, scale string) ([]Assessment, error)
	// WardLatest lists the ward's current residents with their latest
	// results; found is false when the ward does not exist.
	WardLatest(ctx context.Context, facility, ward uuid.UUID) (list []ResidentLatest, found bool, err error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
	Tx(ctx context.Context, actor *backend.Actor, fn func(Tx) error) error
}

// Tx is what a write transaction offers.
type Tx interface {
	// LockResident locks the resident's row and describes her.
	LockResident(ctx context.Context, facility, resident, staff uuid.UUID) (access.Target, error)
	// ByKey finds the assessment staff recorded under an idempotency key.
	ByKey(ctx context.Context, facility, staff uuid.UUID, key string) (Assessment, bool, error)
	Insert(ctx context.Context, a *Assessment, idempotencyKey string) error
	// Get reads an assessment with its correction, if any.
	Get(ctx context.Context, facility, id uuid.UUID) (Assessment, error)
	// InsertCorrection marks the assessment entered in error; a second
	// correction is a conflict.
	InsertCorrection(ctx context.Context, facility, id uuid.UUID, c Correction) error
	// LockBands serialises changes to the facility's bands of a scale and
	// reads them as BandSettings does.
	LockBands(ctx context.Context, facility uuid.UUID, scale string) ([]Override, int, error)
	// SetBand moves where one band starts (the previous row kept in
	// row_history).
	SetBand(ctx context.Context, facility uuid.UUID, scale, band string, from float64, by uuid.UUID) error
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Service records and reads assessments.
type Service struct {
	Store Store
	Clock backend.Clock
}

func (s *Service) denied(ctx context.Context, a *backend.Actor, action access.Action, resourceType string, id, resident uuid.UUID, cause error) error {
	ev := audit.By(a, string(action), resourceType, id.String(), resident, audit.Denied)
	ev.Detail = backend.AsError(cause).Code
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return err
	}
	return cause
}

// CanReadScales reports whether the actor may read the scale definitions:
// any clinical role.
func CanReadScales(a *backend.Actor) bool { return access.Can(a, access.ReadResident) }

// Scales lists the scales, for a clinical role.
func (s *Service) Scales(ctx context.Context, a *backend.Actor) ([]Scale, error) {
	if !CanReadScales(a) {
		return nil, backend.E(backend.KindForbidden, backend.CodeForbidden)
	}
	return Scales(), nil
}

// FacilityBands returns the bands of scale in the actor's facility.
func (s *Service) FacilityBands(ctx context.Context, facility uuid.UUID, sc Scale) ([]Band, error) {
	ov, err := s.Store.BandOverrides(ctx, facility, sc.Key)
	if err != nil {
		return nil, err
	}
	return sc.BandsWith(ov)
}

// Record scores and stores a form. It answers replayed=true when the
// idempotency key was already used for this resident and scale.
func (s *Service) Record(ctx context.Context, a *backend.Actor, resident uuid.UUID, f Form) (out Assessment, replayed bool, err error) {
	sc, ok := Lookup(f.Scale)
	if !ok {
		e := backend.E(backend.KindUnprocessable, CodeUnknownScale, "unknown scale")
		e.Fields = map[string]string{"scale": "unknown scale"}
		return Assessment{}, false, e
	}
	f.Notes = strings.TrimSpace(f.Notes)
	if len(f.Notes) > 2000 {
		return Assessment{}, false, backend.Invalid(CodeInvalid, "notes", "at most 2000 characters")
	}
	if len(f.IdempotencyKey) > 200 {
		return Assessment{}, false, backend.Invalid(CodeInvalid, "Idempotency-Key", "at most 200 characters")
	}
	now := s.Clock.Now()
	if f.AssessedAt.IsZero() {
		f.AssessedAt = now
	}
	if f.AssessedAt.After(now.Add(5 * time.Minute)) {
		return Assessment{}, false, backend.Invalid(CodeInvalid, "assessed_at", "not in the future")
	}
	if f.AssessedAt.Before(now.AddDate(-1, 0, 0)) {
		return Assessment{}, false, backend.Invalid(CodeInvalid, "assessed_at", "within the last year")
	}
	bands, err := s.FacilityBands(ctx, a.FacilityID, sc)
	if err != nil {
		return Assessment{}, false, err
	}
	res, err := Score(sc, f.Answers, bands, f.MMSE)
	if err != nil {
		return Assessment{}, false, err
	}
	out = Assessment{ID: uuid.New(), FacilityID: a.FacilityID, ResidentID: resident, Scale: sc.Key, Answers: f.Answers,
		RawTotal: res.RawTotal, Total: res.Total, Band: res.Band, Notes: f.Notes, AssessedAt: f.AssessedAt,
		RecordedAt: now, RecordedBy: a.StaffID}
	if sc.Key == "mmse" {
		out.Age, out.SchoolingYears, out.Norms = f.MMSE.Age, f.MMSE.SchoolingYears, res.Norms
		out.Correction, out.CorrectionNote = res.Correction, res.CorrectionNote
	}
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		t, err := tx.LockResident(ctx, a.FacilityID, resident, a.StaffID)
		if backend.IsKind(err, backend.KindNotFound) {
			return backend.ErrResidentNotFound()
		}
		if err != nil {
			return err
		}
		d := access.Decide(a, access.RecordAssessment, t)
		if !d.Visible {
			return backend.ErrResidentNotFound()
		}
		if !d.Allowed {
			return backend.E(backend.KindForbidden, backend.CodeForbidden, "your role does not allow this")
		}
		if f.IdempotencyKey != "" {
			prev, found, err := tx.ByKey(ctx, a.FacilityID, a.StaffID, f.IdempotencyKey)
			if err != nil {
				return err
			}
			if found {
				if prev.ResidentID != resident || prev.Scale != sc.Key {
					return backend.E(backend.KindUnprocessable, "idempotency.key_reused", "this Idempotency-Key was used for a different request")
				}
				out, replayed = prev, true
				return nil
			}
		}
		if err := tx.Insert(ctx, &out, f.IdempotencyKey); err != nil {
			return err
		}
		ev := audit.By(a, string(access.RecordAssessment), "assessment", out.ID.String(), resident, audit.Success)
		ev.Detail = sc.Key
		return tx.AppendAudit(ctx, ev)
	})
	if backend.IsKind(err, backend.KindNotFound) || backend.IsKind(err, backend.KindForbidden) {
		return Assessment{}, false, s.denied(ctx, a, access.RecordAssessment, "resident", resident, resident, err)
	}
	if err != nil {
		return Assessment{}, false, err
	}
	return out, replayed, nil
}

// List lists a resident's assessments, newest first (of one scale when
// scale is set), entered-in-error ones included and marked. Audited.
func (s *Service) List(ctx context.Context, a *backend.Actor, resident uuid.UUID, scale string) ([]Assessment, error) {
	if scale != "" {
		if _, ok := Lookup(scale); !ok {
			return nil, backend.Invalid(CodeUnknownScale, "scale", "unknown scale")
		}
	}
	t, err := s.Store.ResidentTarget(ctx, a.FacilityID, resident, a.StaffID)
	if err != nil && !backend.IsKind(err, backend.KindNotFound) {
		return nil, err
	}
	d := access.Decide(a, access.ReadResident, t)
	if err != nil || !d.Allowed {
		return nil, s.denied(ctx, a, access.ReadResident, "resident", resident, resident, backend.ErrResidentNotFound())
	}
	list, err := s.Store.List(ctx, a.FacilityID, resident, scale)
	if err != nil {
		return nil, err
	}
	ev := audit.By(a, "assessment.list", "resident", resident.String(), resident, audit.Success)
	ev.Detail = scale
	ev.BreakGlass = d.BreakGlass
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return nil, err // no audit, no read
	}
	return list, nil
}

// EnteredInError marks an assessment entered in error, with a reason. Who
// may record the scale on the resident may correct it.
func (s *Service) EnteredInError(ctx context.Context, a *backend.Actor, id uuid.UUID, reason string) (Assessment, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return Assessment{}, backend.Invalid(CodeReasonRequired, "reason", "say why the entry was an error (at most 500 characters)")
	}
	notFound := backend.E(backend.KindNotFound, CodeNotFound)
	var out Assessment
	var resident uuid.UUID
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		as, err := tx.Get(ctx, a.FacilityID, id)
		if backend.IsKind(err, backend.KindNotFound) {
			return notFound
		}
		if err != nil {
			return err
		}
		resident = as.ResidentID
		t, err := tx.LockResident(ctx, a.FacilityID, as.ResidentID, a.StaffID)
		if backend.IsKind(err, backend.KindNotFound) {
			return notFound
		}
		if err != nil {
			return err
		}
		d := access.Decide(a, access.RecordAssessment, t)
		if !d.Visible {
			return notFound
		}
		if !d.Allowed {
			return backend.E(backend.KindForbidden, backend.CodeForbidden, "your role does not allow this")
		}
		// Re-read under the resident's lock: a concurrent correction is
		// seen here or refused by the database.
		if as, err = tx.Get(ctx, a.FacilityID, id); err != nil {
			return err
		}
		if as.EnteredInError != nil {
			return backend.E(backend.KindConflict, CodeAlreadyInError, "already marked entered in error; record a new assessment")
		}
		c := Correction{Reason: reason, By: a.StaffID, At: s.Clock.Now()}
		if err := tx.InsertCorrection(ctx, a.FacilityID, id, c); err != nil {
			return err
		}
		as.EnteredInError = &c
		out = as
		ev := audit.By(a, "assessment.entered_in_error", "assessment", id.String(), as.ResidentID, audit.Success)
		ev.Detail = as.Scale
		ev.BreakGlass = d.BreakGlass
		return tx.AppendAudit(ctx, ev)
	})
	if backend.IsKind(err, backend.KindNotFound) || backend.IsKind(err, backend.KindForbidden) {
		return Assessment{}, s.denied(ctx, a, access.RecordAssessment, "assessment", id, resident, err)
	}
	return out, err
}

// Overdue lists the current residents of a ward with scales never done or
// overdue (see Interval). A ward out of the actor's sight is ward.not_found.
func (s *Service) Overdue(ctx context.Context, a *backend.Actor, ward uuid.UUID) ([]ResidentDue, error) {
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
	now := s.Clock.Now()
	out := []ResidentDue{}
	ev := audit.By(a, "assessment.overdue", "ward", ward.String(), uuid.Nil, audit.Success)
	ev.ResidentIDs = []uuid.UUID{}
	for _, r := range list {
		due := Overdue(r.Last, now)
		if len(due) == 0 {
			continue
		}
		out = append(out, ResidentDue{ResidentLatest: r, Due: due})
		ev.ResidentIDs = append(ev.ResidentIDs, r.ResidentID)
	}
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return nil, err
	}
	return out, nil
}
