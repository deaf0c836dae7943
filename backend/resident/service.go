package resident

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/google/uuid"
)

// Store reads residents outside transactions and opens transactions for
// writes. Reads return the actor's live break-the-glass grant reason (or "")
// with the record, so one round trip answers both "what" and "may she".
type Store interface {
	// ReadResident reads the record without allergies (enough to decide).
	ReadResident(ctx context.Context, facility, id, staff uuid.UUID) (Resident, string, error)
	Allergies(ctx context.Context, facility, id uuid.UUID) ([]Allergy, error)
	ResidentIDByWristband(ctx context.Context, facility uuid.UUID, code string) (uuid.UUID, error)
	ResidentIDByGSRN(ctx context.Context, facility uuid.UUID, gsrn string) (uuid.UUID, error)
	// ListWard lists the current residents of a ward; found is false when
	// the ward does not exist in the facility.
	ListWard(ctx context.Context, facility, ward uuid.UUID) (list []Summary, found bool, err error)
	History(ctx context.Context, facility, id uuid.UUID) ([]Version, error)
	LatestPhoto(ctx context.Context, facility, id uuid.UUID) (Photo, error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
	// Tx runs fn in one transaction; history rows it causes name actor.
	Tx(ctx context.Context, actor *backend.Actor, fn func(Tx) error) error
}

// Tx is what a write transaction offers.
type Tx interface {
	// LockResident reads and locks the resident for the rest of the transaction.
	LockResident(ctx context.Context, facility, id, staff uuid.UUID) (Resident, string, error)
	InsertResident(ctx context.Context, r *Resident) error
	// SaveResident writes r if its stored version is still r.Version, and
	// sets r.Version to the new one; otherwise it fails with a conflict.
	SaveResident(ctx context.Context, r *Resident) error
	OpenAdmission(ctx context.Context, facility, resident uuid.UUID, at time.Time, source string, by uuid.UUID) error
	CloseAdmission(ctx context.Context, facility, resident uuid.UUID, at time.Time, reason string) error
	InsertAllergy(ctx context.Context, facility uuid.UUID, a *Allergy) error
	LockAllergy(ctx context.Context, facility, id uuid.UUID) (Allergy, error)
	SaveAllergy(ctx context.Context, facility uuid.UUID, a *Allergy) error
	// ResidentGSRN returns the resident's GSRN, assigning the facility's next
	// one on first use; "" when the facility has no GS1 company prefix.
	ResidentGSRN(ctx context.Context, facility, resident uuid.UUID) (string, error)
	WardAndFacility(ctx context.Context, facility, ward uuid.UUID) (string, string, error)
	// RecordPrint appends a wristband print and returns its copy number.
	RecordPrint(ctx context.Context, facility, resident, by, device uuid.UUID, format, stock string) (int, error)
	InsertPhoto(ctx context.Context, facility, resident, id uuid.UUID, contentType string, data []byte, by uuid.UUID) error
	InsertGrant(ctx context.Context, facility, staff, resident uuid.UUID, reason string, until time.Time) error
	// WardExists reports whether ward is a ward of facility.
	WardExists(ctx context.Context, facility, ward uuid.UUID) (bool, error)
	// BedFree reports whether bed is a bed of ward in facility and is free.
	BedFree(ctx context.Context, facility, ward, bed, except uuid.UUID) (bool, error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Version is one past version of a resident's record.
type Version struct {
	Version    int
	ValidUntil time.Time
	ChangedBy  uuid.UUID
	Data       map[string]any
}

// target describes r for an access decision.
func target(r Resident, grant string) access.Target {
	return access.Target{FacilityID: r.FacilityID, WardID: r.WardID, GrantReason: grant,
		Current: r.Status == Admitted || r.Status == Hospitalised}
}

// Service applies the rules of the resident record.
type Service struct {
	Store Store
	Clock backend.Clock
	// BreakGlassFor is how long a break-the-glass grant lasts.
	BreakGlassFor time.Duration
}

// denied records a refused attempt on a resident. It runs outside the
// attempt's own transaction, which has rolled back.
func (s *Service) denied(ctx context.Context, a *backend.Actor, action access.Action, resourceType string, id uuid.UUID, cause error) error {
	ev := audit.By(a, string(action), resourceType, id.String(), uuid.Nil, audit.Denied)
	if resourceType == "resident" {
		ev.ResidentID = id
	}
	ev.Detail = backend.AsError(cause).Code
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return err
	}
	return cause
}

// Get returns the resident with her allergies. A resident of another ward or
// facility, or one that does not exist, is resident.not_found; the attempt is
// audited either way.
func (s *Service) Get(ctx context.Context, a *backend.Actor, id uuid.UUID) (Resident, error) {
	r, grant, err := s.Store.ReadResident(ctx, a.FacilityID, id, a.StaffID)
	if backend.IsKind(err, backend.KindNotFound) {
		return Resident{}, s.denied(ctx, a, access.ReadResident, "resident", id, backend.ErrResidentNotFound())
	}
	if err != nil {
		return Resident{}, err
	}
	d := access.Decide(a, access.ReadResident, target(r, grant))
	if !d.Allowed {
		return Resident{}, s.denied(ctx, a, access.ReadResident, "resident", id, backend.ErrResidentNotFound())
	}
	if r.Allergies, err = s.Store.Allergies(ctx, a.FacilityID, id); err != nil {
		return Resident{}, err
	}
	ev := audit.By(a, string(access.ReadResident), "resident", id.String(), id, audit.Success)
	ev.BreakGlass = d.BreakGlass
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return Resident{}, err // no audit, no read
	}
	return r, nil
}

// ByWristband resolves a scanned or typed wristband: our check-charactered
// identifier, or a GS1 wristband carrying the resident's GSRN (AI 8018). A
// malformed code (bad check character) is a 400; an unknown code and a
// resident out of the caller's scope are both resident.not_found.
func (s *Service) ByWristband(ctx context.Context, a *backend.Actor, raw string) (Resident, error) {
	var id uuid.UUID
	in, err := codes.Interpret(raw)
	switch {
	case err == nil && in.Kind == codes.ScanWristband:
		id, err = s.Store.ResidentIDByWristband(ctx, a.FacilityID, in.Wristband)
	case err == nil && in.GS1 != nil && in.GS1.GSRNRecipient != "":
		id, err = s.Store.ResidentIDByGSRN(ctx, a.FacilityID, in.GS1.GSRNRecipient)
	default:
		_, err := codes.ParseIdent(raw, codes.WristbandPrefix)
		if err == nil {
			err = backend.Invalid("wristband.invalid", "wristband", "not a wristband code")
		}
		return Resident{}, err
	}
	if backend.IsKind(err, backend.KindNotFound) {
		return Resident{}, s.denied(ctx, a, access.ReadResident, "wristband", uuid.Nil, backend.ErrResidentNotFound())
	}
	if err != nil {
		return Resident{}, err
	}
	return s.Get(ctx, a, id)
}

// ListWard lists the residents of a ward the actor may see. Each resident
// listed is an audited read; a ward out of scope is ward.not_found.
func (s *Service) ListWard(ctx context.Context, a *backend.Actor, ward uuid.UUID) ([]Summary, error) {
	notFound := backend.E(backend.KindNotFound, backend.CodeWardNotFound)
	if !access.SeesWard(a, a.FacilityID, ward) {
		return nil, s.denied(ctx, a, access.ReadResident, "ward", ward, notFound)
	}
	list, found, err := s.Store.ListWard(ctx, a.FacilityID, ward)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, s.denied(ctx, a, access.ReadResident, "ward", ward, notFound)
	}
	// One event names every resident shown: each one's access report finds it.
	ev := audit.By(a, "resident.list", "ward", ward.String(), uuid.Nil, audit.Success)
	ev.ResidentIDs = make([]uuid.UUID, len(list))
	for i, r := range list {
		ev.ResidentIDs[i] = r.ID
	}
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return nil, err // no audit, no read
	}
	return list, nil
}

// History returns the past versions of the resident's record.
func (s *Service) History(ctx context.Context, a *backend.Actor, id uuid.UUID) ([]Version, error) {
	if _, err := s.Get(ctx, a, id); err != nil {
		return nil, err
	}
	return s.Store.History(ctx, a.FacilityID, id)
}

// write runs fn on the locked resident in a transaction, after checking
// visibility and the action; fn returns the audit event of the change,
// which is written in the same transaction. A refusal is audited after the
// rollback.
func (s *Service) write(ctx context.Context, a *backend.Actor, action access.Action, id uuid.UUID,
	fn func(tx Tx, r *Resident, d access.Decision) (audit.Event, error)) error {
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		r, grant, err := tx.LockResident(ctx, a.FacilityID, id, a.StaffID)
		if backend.IsKind(err, backend.KindNotFound) {
			return backend.ErrResidentNotFound()
		}
		if err != nil {
			return err
		}
		d := access.Decide(a, action, target(r, grant))
		if !d.Visible {
			return backend.ErrResidentNotFound()
		}
		if !d.Allowed {
			return backend.E(backend.KindForbidden, backend.CodeForbidden, "your role does not allow this")
		}
		ev, err := fn(tx, &r, d)
		if err != nil {
			return err
		}
		ev.BreakGlass = d.BreakGlass
		return tx.AppendAudit(ctx, ev)
	})
	if backend.IsKind(err, backend.KindNotFound) || backend.IsKind(err, backend.KindForbidden) {
		return s.denied(ctx, a, action, "resident", id, err)
	}
	return err
}

// Update edits personal data. version is the version the editor saw: if
// someone changed the record since, the edit is refused with 409.
func (s *Service) Update(ctx context.Context, a *backend.Actor, id uuid.UUID, version int, p Patch) (Resident, error) {
	var out Resident
	err := s.write(ctx, a, access.EditResident, id, func(tx Tx, r *Resident, _ access.Decision) (audit.Event, error) {
		if r.Version != version {
			return audit.Event{}, staleVersion(r.Version)
		}
		if err := p.Apply(r); err != nil {
			return audit.Event{}, err
		}
		if err := tx.SaveResident(ctx, r); err != nil {
			return audit.Event{}, err
		}
		out = *r
		return audit.By(a, string(access.EditResident), "resident", id.String(), id, audit.Success), nil
	})
	return out, err
}

// currentStay checks that r is still at the version the caller saw and is
// in a stay (admitted or in hospital): what a transfer or discharge needs.
func currentStay(r *Resident, version int) error {
	if r.Version != version {
		return staleVersion(r.Version)
	}
	if r.Status != Admitted && r.Status != Hospitalised {
		return backend.E(backend.KindUnprocessable, "resident.not_admitted")
	}
	return nil
}

func staleVersion(current int) error {
	e := backend.E(backend.KindConflict, backend.CodeVersionConflict, "the record was changed by someone else; reload it")
	e.Fields = map[string]string{"version": "current version is " + strconv.Itoa(current)}
	return e
}

// Admission is a new resident arriving.
type Admission struct {
	Resident   Resident
	WardID     uuid.UUID
	BedID      uuid.UUID
	AdmittedAt time.Time
	Source     string // e.g. "home", "hospital"
}

// Admit creates the resident, her first stay, and her wristband identifier.
// Only roles that may admit, on a ward they see, can do it.
func (s *Service) Admit(ctx context.Context, a *backend.Actor, in Admission) (Resident, error) {
	r := in.Resident
	if err := r.Validate(true); err != nil {
		return Resident{}, err
	}
	deny := func(err error) (Resident, error) {
		return Resident{}, s.denied(ctx, a, access.AdmitResident, "ward", in.WardID, err)
	}
	if !access.Can(a, access.AdmitResident) {
		return deny(backend.E(backend.KindForbidden, backend.CodeForbidden))
	}

	if in.AdmittedAt.IsZero() {
		in.AdmittedAt = s.Clock.Now()
	}
	r.FacilityID, r.ID = a.FacilityID, uuid.New()
	r.WardID, r.BedID, r.Status, r.AdmittedAt = in.WardID, in.BedID, Admitted, in.AdmittedAt
	r.WristbandCode = codes.NewIdent(codes.WristbandPrefix)
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		if ok, err := tx.WardExists(ctx, a.FacilityID, in.WardID); err != nil || !ok || !access.SeesWard(a, a.FacilityID, in.WardID) {
			if err == nil {
				err = backend.E(backend.KindNotFound, backend.CodeWardNotFound)
			}
			return err
		}
		if !access.CanActOnWard(a, access.AdmitResident, a.FacilityID, in.WardID) {
			return backend.E(backend.KindForbidden, backend.CodeForbidden, "you can admit only to your own wards")
		}
		if in.BedID != uuid.Nil {
			free, err := tx.BedFree(ctx, a.FacilityID, in.WardID, in.BedID, uuid.Nil)
			if err != nil {
				return err
			}
			if !free {
				return backend.Invalid("bed.unavailable", "bed_id", "not a free bed of that ward")
			}
		}
		if err := tx.InsertResident(ctx, &r); err != nil {
			return err
		}
		if err := tx.OpenAdmission(ctx, a.FacilityID, r.ID, in.AdmittedAt, in.Source, a.StaffID); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.By(a, string(access.AdmitResident), "resident", r.ID.String(), r.ID, audit.Success))
	})
	if backend.IsKind(err, backend.KindNotFound) || backend.IsKind(err, backend.KindForbidden) {
		return deny(err)
	}
	return r, err
}

// Transfer moves the resident to another ward or bed.
func (s *Service) Transfer(ctx context.Context, a *backend.Actor, id uuid.UUID, version int, ward, bed uuid.UUID) (Resident, error) {
	var out Resident
	err := s.write(ctx, a, access.AdmitResident, id, func(tx Tx, r *Resident, _ access.Decision) (audit.Event, error) {
		if err := currentStay(r, version); err != nil {
			return audit.Event{}, err
		}
		exists, err := tx.WardExists(ctx, a.FacilityID, ward)
		if err != nil {
			return audit.Event{}, err
		}
		if !exists || !access.SeesWard(a, a.FacilityID, ward) {
			return audit.Event{}, backend.Invalid("ward.unavailable", "ward_id", "not a ward you can transfer to")
		}
		free, err := tx.BedFree(ctx, a.FacilityID, ward, bed, r.ID)
		if err != nil {
			return audit.Event{}, err
		}
		if bed != uuid.Nil && !free {
			return audit.Event{}, backend.Invalid("bed.unavailable", "bed_id", "not a free bed of that ward")
		}
		r.WardID, r.BedID = ward, bed
		if err := tx.SaveResident(ctx, r); err != nil {
			return audit.Event{}, err
		}
		out = *r
		ev := audit.By(a, "resident.transfer", "resident", id.String(), id, audit.Success)
		ev.Detail = "ward " + ward.String()
		return ev, nil
	})
	return out, err
}

// Discharge closes the stay and frees the bed. The record stays, forever.
func (s *Service) Discharge(ctx context.Context, a *backend.Actor, id uuid.UUID, version int, at time.Time, reason string, deceased bool) (Resident, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return Resident{}, backend.Invalid("discharge.reason_required", "reason", "required, at most 500 characters")
	}
	if at.IsZero() {
		at = s.Clock.Now()
	}
	var out Resident
	err := s.write(ctx, a, access.AdmitResident, id, func(tx Tx, r *Resident, _ access.Decision) (audit.Event, error) {
		if err := currentStay(r, version); err != nil {
			return audit.Event{}, err
		}
		if err := tx.CloseAdmission(ctx, a.FacilityID, id, at, reason); err != nil {
			return audit.Event{}, err
		}
		r.Status, r.BedID = Discharged, uuid.Nil
		if deceased {
			r.Status = Deceased
		}
		if err := tx.SaveResident(ctx, r); err != nil {
			return audit.Event{}, err
		}
		out = *r
		return audit.By(a, "resident.discharge", "resident", id.String(), id, audit.Success), nil
	})
	return out, err
}

// AddAllergy records an allergy or intolerance.
func (s *Service) AddAllergy(ctx context.Context, a *backend.Actor, residentID uuid.UUID, al Allergy) (Allergy, error) {
	if err := al.Validate(); err != nil {
		return Allergy{}, err
	}
	al.ID, al.ResidentID, al.RecordedBy, al.RecordedAt = uuid.New(), residentID, a.StaffID, s.Clock.Now()
	err := s.write(ctx, a, access.RecordAllergy, residentID, func(tx Tx, r *Resident, _ access.Decision) (audit.Event, error) {
		if err := tx.InsertAllergy(ctx, a.FacilityID, &al); err != nil {
			return audit.Event{}, err
		}
		return audit.By(a, "allergy.record", "allergy", al.ID.String(), residentID, audit.Success), nil
	})
	return al, err
}

// ChangeAllergyStatus marks an allergy inactive, resolved, active again, or
// entered in error (with a reason). The previous version is kept.
func (s *Service) ChangeAllergyStatus(ctx context.Context, a *backend.Actor, residentID, allergyID uuid.UUID, version int, status, reason string) (Allergy, error) {
	reason = strings.TrimSpace(reason)
	if !oneOf(status, allergyStatuses) {
		return Allergy{}, backend.Invalid("allergy.invalid", "status", "active, inactive, resolved or entered_in_error")
	}
	if status == "entered_in_error" && reason == "" {
		return Allergy{}, backend.Invalid("allergy.reason_required", "reason", "say why the entry was an error")
	}
	var out Allergy
	err := s.write(ctx, a, access.RecordAllergy, residentID, func(tx Tx, r *Resident, _ access.Decision) (audit.Event, error) {
		al, err := tx.LockAllergy(ctx, a.FacilityID, allergyID)
		if backend.IsKind(err, backend.KindNotFound) || (err == nil && al.ResidentID != residentID) {
			return audit.Event{}, backend.E(backend.KindNotFound, "allergy.not_found")
		}
		if err != nil {
			return audit.Event{}, err
		}
		if al.Version != version {
			return audit.Event{}, staleVersion(al.Version)
		}
		if al.Status == "entered_in_error" {
			return audit.Event{}, backend.E(backend.KindUnprocessable, "allergy.entered_in_error", "an entry marked in error is final; record a new one")
		}
		al.Status, al.StatusReason = status, reason
		if err := tx.SaveAllergy(ctx, a.FacilityID, &al); err != nil {
			return audit.Event{}, err
		}
		out = al
		ev := audit.By(a, "allergy.status", "allergy", al.ID.String(), residentID, audit.Success)
		ev.Detail = status
		return ev, nil
	})
	return out, err
}

// BreakGlass opens a resident outside the actor's wards for BreakGlassFor,
// with a stated reason. The resident must be in the actor's facility.
func (s *Service) BreakGlass(ctx context.Context, a *backend.Actor, id uuid.UUID, reason string) (time.Time, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) < 10 || len(reason) > 500 {
		return time.Time{}, backend.Invalid("break_glass.reason_required", "reason", "state the reason (10–500 characters)")
	}
	if !access.Can(a, access.BreakGlass) {
		return time.Time{}, s.denied(ctx, a, access.BreakGlass, "resident", id, backend.ErrResidentNotFound())
	}
	until := s.Clock.Now().Add(s.BreakGlassFor)
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		if _, _, err := tx.LockResident(ctx, a.FacilityID, id, a.StaffID); err != nil {
			if backend.IsKind(err, backend.KindNotFound) {
				return backend.ErrResidentNotFound()
			}
			return err
		}
		if err := tx.InsertGrant(ctx, a.FacilityID, a.StaffID, id, reason, until); err != nil {
			return err
		}
		ev := audit.By(a, string(access.BreakGlass), "resident", id.String(), id, audit.Success)
		ev.BreakGlass = reason
		return tx.AppendAudit(ctx, ev)
	})
	if backend.IsKind(err, backend.KindNotFound) {
		return time.Time{}, s.denied(ctx, a, access.BreakGlass, "resident", id, err)
	}
	return until, err
}
