package therapy

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
)

// Sheet is a resident's single therapy sheet.
type Sheet struct {
	ResidentID             uuid.UUID      `json:"resident_id"`
	AwaitingReconciliation bool           `json:"awaiting_reconciliation"`
	Prescriptions          []Prescription `json:"prescriptions"`
}

// materialiseFrom is how far back doses of a new prescription are made
// when it starts in the past: a day, so today's earlier doses show.
const materialiseFrom = 24 * time.Hour

// resolveProduct checks the prescribed product exists for this facility and
// fits the route.
func (s *Service) resolveProduct(ctx context.Context, a *backend.Actor, o *Order) (*Product, error) {
	if o.ProductID == uuid.Nil {
		return nil, nil
	}
	p, err := s.Store.Product(ctx, a.FacilityID, o.ProductID)
	if backend.IsKind(err, backend.KindNotFound) {
		return nil, backend.Invalid("prescription.unknown_product", "product_id", "no such product in the catalogue")
	}
	if err != nil {
		return nil, err
	}
	if p.Withdrawn {
		return nil, backend.Invalid("prescription.product_withdrawn", "product_id", "the product is withdrawn from the market")
	}
	if !routeFits(p, o.Route) {
		return nil, backend.Invalid("prescription.route_mismatch", "route", "the product is not given by this route")
	}
	return p, nil
}

// Prescribe writes a new prescription on a resident's sheet and
// materialises its doses.
func (s *Service) Prescribe(ctx context.Context, a *backend.Actor, resident uuid.UUID, o Order) (Prescription, error) {
	return s.PrescribeOnce(ctx, a, resident, o, uuid.Nil, nil)
}

// PrescribeOnce is Prescribe under an idempotency key (the tablet's
// Idempotency-Key header): a retry of a prescription whose answer was lost
// returns the first one instead of writing the drug twice on the sheet; the
// same key with another order is idempotency.key_reused.
func (s *Service) PrescribeOnce(ctx context.Context, a *backend.Actor, resident uuid.UUID, o Order, key uuid.UUID, hash []byte) (Prescription, error) {
	const op = "therapy.prescribe"
	now := s.now()
	if o.StartsAt.IsZero() {
		o.StartsAt = now
	}
	if err := o.Validate(); err != nil {
		return Prescription{}, err
	}
	if _, _, err := s.residentFor(ctx, a, access.Prescribe, resident); err != nil {
		return Prescription{}, err
	}
	product, err := s.resolveProduct(ctx, a, &o)
	if err != nil {
		return Prescription{}, err
	}
	set, loc, err := s.Store.Settings(ctx, a.FacilityID)
	if err != nil {
		return Prescription{}, err
	}
	p := Prescription{Order: o, ID: uuid.New(), FacilityID: a.FacilityID, ResidentID: resident, Status: Active,
		PrescribedBy: a.StaffID, PrescribedAt: now, Version: 1, Product: product}
	p.SeriesID = p.ID
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		if key != uuid.Nil {
			stored, err := tx.LockKey(ctx, a.FacilityID, a.StaffID, key)
			if err != nil {
				return err
			}
			if stored != nil {
				return stored.Replay(op, hash, &p)
			}
		}
		if err := tx.InsertPrescription(ctx, &p); err != nil {
			return err
		}
		if err := s.materialise(ctx, tx, p, set, loc, maxTime(p.StartsAt, now.Add(-materialiseFrom)), now); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, audit.By(a, "therapy.prescribe", "prescription", p.ID.String(), resident, audit.Success)); err != nil {
			return err
		}
		if key == uuid.Nil {
			return nil
		}
		body, err := json.Marshal(p)
		if err != nil {
			return backend.Internal(err, "marshal prescription")
		}
		return tx.SaveResponse(ctx, a.FacilityID, a.StaffID, key, StoredResponse{Operation: op, Hash: hash, Body: body})
	})
	return p, err
}

// materialise makes p's doses in [from, horizon end) and records the new
// horizon. Doses already there are left alone.
func (s *Service) materialise(ctx context.Context, tx Tx, p Prescription, set Settings, loc *time.Location, from, now time.Time) error {
	to := now.Add(time.Duration(set.HorizonHours) * time.Hour)
	if p.Schedule.Kind != SchedulePRN && from.Before(to) {
		if p.Status == Suspended && !p.SuspendedUntil.IsZero() {
			from = maxTime(from, p.SuspendedUntil)
		}
		if p.EffectiveStatus(now) == Active || (p.Status == Suspended && !p.SuspendedUntil.IsZero()) {
			if _, err := tx.InsertDoses(ctx, p.FacilityID, PlanDoses(p, set, loc, from, to)); err != nil {
				return err
			}
		}
	}
	return tx.SetHorizon(ctx, p.FacilityID, p.ID, to)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// lockLive locks a live prescription of a resident the actor may prescribe
// for, checking the version she saw.
func (s *Service) lockLive(ctx context.Context, a *backend.Actor, tx Tx, id uuid.UUID, version int) (Prescription, error) {
	old, err := tx.LockPrescription(ctx, a.FacilityID, id)
	if err != nil {
		return old, err
	}
	if old.Version != version {
		return old, backend.E(backend.KindConflict, backend.CodeVersionConflict, "the prescription changed since you read it")
	}
	if !old.Live() {
		return old, backend.E(backend.KindConflict, "prescription.closed", "this version is "+string(old.Status)+"; change the current one")
	}
	return old, nil
}

// prescriptionFor loads a prescription and decides action on its resident.
func (s *Service) prescriptionFor(ctx context.Context, a *backend.Actor, action access.Action, id uuid.UUID) (Prescription, error) {
	p, err := s.Store.Prescription(ctx, a.FacilityID, id)
	if backend.IsKind(err, backend.KindNotFound) {
		return p, s.denied(ctx, a, action, "prescription", id, uuid.Nil, backend.E(backend.KindNotFound, "prescription.not_found"))
	}
	if err != nil {
		return p, err
	}
	if _, _, err := s.residentFor(ctx, a, action, p.ResidentID); err != nil {
		if backend.IsKind(err, backend.KindNotFound) {
			return p, backend.E(backend.KindNotFound, "prescription.not_found")
		}
		return p, err
	}
	return p, nil
}

// Revise changes a prescription: a new version supersedes the one the
// physician saw, from o.StartsAt (now by default). The old version stays
// readable; its pending doses from then on are cancelled, recorded ones are
// never touched.
func (s *Service) Revise(ctx context.Context, a *backend.Actor, id uuid.UUID, version int, o Order) (Prescription, error) {
	now := s.now()
	if o.StartsAt.IsZero() {
		o.StartsAt = now
	}
	if o.StartsAt.Before(now.Add(-materialiseFrom)) {
		return Prescription{}, backend.Invalid("prescription.invalid_period", "starts_at", "a change starts at most 24 h back")
	}
	if err := o.Validate(); err != nil {
		return Prescription{}, err
	}
	if _, err := s.prescriptionFor(ctx, a, access.Prescribe, id); err != nil {
		return Prescription{}, err
	}
	product, err := s.resolveProduct(ctx, a, &o)
	if err != nil {
		return Prescription{}, err
	}
	set, loc, err := s.Store.Settings(ctx, a.FacilityID)
	if err != nil {
		return Prescription{}, err
	}
	var p Prescription
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		old, err := s.lockLive(ctx, a, tx, id, version)
		if err != nil {
			return err
		}
		if o.StartsAt.Before(old.StartsAt) {
			return backend.Invalid("prescription.invalid_period", "starts_at", "a change cannot start before the version it replaces")
		}
		p = Prescription{Order: o, ID: uuid.New(), FacilityID: a.FacilityID, SeriesID: old.SeriesID, Supersedes: old.ID,
			ResidentID: old.ResidentID, Status: Active, PrescribedBy: a.StaffID, PrescribedAt: now, Version: 1, Product: product}
		old.Status, old.StatusReason, old.EndsAt = Superseded, "replaced by a new version", maxTime(o.StartsAt, old.StartsAt)
		if err := tx.SetStatus(ctx, &old); err != nil {
			return err
		}
		// The old version's doses from the new start, and those still open
		// now, go: the nurse gives what the new version says. (A physician
		// who wants today's dose given at the new strength starts the new
		// version back at its time.) Missed and recorded doses stay.
		if _, err := tx.CancelDoses(ctx, a.FacilityID, old.ID, o.StartsAt, time.Time{}, now, "superseded"); err != nil {
			return err
		}
		if err := tx.InsertPrescription(ctx, &p); err != nil {
			if backend.IsCode(err, "duplicate") {
				return backend.E(backend.KindConflict, backend.CodeVersionConflict, "another change to this prescription was recorded first")
			}
			return err
		}
		if err := s.materialise(ctx, tx, p, set, loc, p.StartsAt, now); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.By(a, "therapy.revise", "prescription", p.ID.String(), p.ResidentID, audit.Success))
	})
	return p, err
}

// StatusChange suspends, resumes, discontinues a prescription or marks it
// entered in error.
type StatusChange struct {
	Status  Status    `json:"status"`
	Reason  string    `json:"reason"`
	Until   time.Time `json:"until"`
	Version int       `json:"version"`
}

// SetStatus applies a status change. Suspending cancels the pending doses of
// the suspension; resuming makes them again from now; discontinuing and
// entered in error cancel every pending dose from now.
func (s *Service) SetStatus(ctx context.Context, a *backend.Actor, id uuid.UUID, c StatusChange) (Prescription, error) {
	now := s.now()
	c.Reason = strings.TrimSpace(c.Reason)
	switch {
	case c.Status != Active && c.Status != Suspended && c.Status != Discontinued && c.Status != EnteredInError:
		return Prescription{}, backend.Invalid("prescription.invalid_status", "status", "one of active (resume), suspended, discontinued, entered_in_error")
	case c.Status != Active && (c.Reason == "" || !textOK(c.Reason, 500)):
		return Prescription{}, backend.Invalid("prescription.reason_required", "reason", "say why")
	case c.Status == Suspended && !c.Until.IsZero() && !c.Until.After(now):
		return Prescription{}, backend.Invalid("prescription.invalid_period", "until", "a suspension ends in the future")
	case c.Status != Suspended && !c.Until.IsZero():
		return Prescription{}, backend.Invalid("prescription.invalid_period", "until", "only a suspension has an end")
	}
	if _, err := s.prescriptionFor(ctx, a, access.Prescribe, id); err != nil {
		return Prescription{}, err
	}
	set, loc, err := s.Store.Settings(ctx, a.FacilityID)
	if err != nil {
		return Prescription{}, err
	}
	var p Prescription
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		var err error
		if p, err = s.lockLive(ctx, a, tx, id, c.Version); err != nil {
			return err
		}
		if c.Status == Active && p.Status != Suspended {
			return backend.E(backend.KindConflict, "prescription.not_suspended", "only a suspended prescription can be resumed")
		}
		p.Status, p.StatusReason, p.SuspendedUntil = c.Status, c.Reason, c.Until
		if c.Status == Discontinued || c.Status == EnteredInError {
			p.EndsAt = maxTime(now, p.StartsAt)
		}
		if err := tx.SetStatus(ctx, &p); err != nil {
			return err
		}
		switch c.Status {
		case Suspended:
			_, err = tx.CancelDoses(ctx, a.FacilityID, p.ID, now, c.Until, now, "suspended")
		case Discontinued, EnteredInError:
			_, err = tx.CancelDoses(ctx, a.FacilityID, p.ID, now, time.Time{}, now, string(c.Status))
		case Active:
			err = s.materialise(ctx, tx, p, set, loc, now, now)
		}
		if err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.By(a, "therapy.status", "prescription", p.ID.String(), p.ResidentID, audit.Success))
	})
	return p, err
}

// Sheet returns a resident's therapy sheet: live prescriptions, or every
// version with history.
func (s *Service) Sheet(ctx context.Context, a *backend.Actor, resident uuid.UUID, history bool) (Sheet, error) {
	r, d, err := s.residentFor(ctx, a, access.ReadResident, resident)
	if err != nil {
		return Sheet{}, err
	}
	ps, err := s.Store.Prescriptions(ctx, a.FacilityID, resident, history)
	if err != nil {
		return Sheet{}, err
	}
	ev := audit.By(a, "therapy.read_sheet", "resident", resident.String(), resident, audit.Success)
	ev.BreakGlass = d.BreakGlass
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return Sheet{}, err
	}
	if ps == nil {
		ps = []Prescription{}
	}
	return Sheet{ResidentID: resident, AwaitingReconciliation: r.AwaitingReconciliation, Prescriptions: ps}, nil
}

// GetPrescription returns one version of a prescription.
func (s *Service) GetPrescription(ctx context.Context, a *backend.Actor, id uuid.UUID) (Prescription, error) {
	p, err := s.prescriptionFor(ctx, a, access.ReadResident, id)
	if err != nil {
		return p, err
	}
	return p, s.Store.AppendAudit(ctx, audit.By(a, "therapy.read_prescription", "prescription", id.String(), p.ResidentID, audit.Success))
}

// Reconcile records that a physician compared what the resident took before
// with what is prescribed now (Raccomandazione 17).
func (s *Service) Reconcile(ctx context.Context, a *backend.Actor, resident uuid.UUID, outcome, notes string) error {
	if outcome != "confirmed" && outcome != "changed" {
		return backend.Invalid("reconciliation.invalid_outcome", "outcome", "confirmed or changed")
	}
	if !textOK(notes, maxText) {
		return backend.Invalid("reconciliation.invalid_notes", "notes", "at most 2000 characters")
	}
	if _, _, err := s.residentFor(ctx, a, access.Prescribe, resident); err != nil {
		return err
	}
	return s.Store.Tx(ctx, a, func(tx Tx) error {
		ok, err := tx.CloseReconciliation(ctx, a.FacilityID, resident, a.StaffID, outcome, notes)
		if err != nil {
			return err
		}
		if !ok {
			return backend.E(backend.KindConflict, "reconciliation.none_open", "the therapy is already reconciled")
		}
		return tx.AppendAudit(ctx, audit.By(a, "therapy.reconcile", "resident", resident.String(), resident, audit.Success))
	})
}

// RollForward materialises the doses of every live prescription up to each
// facility's horizon. It is what the workers run; it is safe to run twice
// or concurrently (doses are unique per prescription and instant).
func (s *Service) RollForward(ctx context.Context) (prescriptions int, err error) {
	now := s.now()
	// Behind = materialised less than 12 h ahead: the smallest horizon.
	for {
		batch, err := s.Store.LivePrescriptionsBehind(ctx, now.Add(12*time.Hour), 200)
		if err != nil || len(batch) == 0 {
			return prescriptions, err
		}
		progressed := false
		for _, p := range batch {
			set, loc, err := s.Store.Settings(ctx, p.FacilityID)
			if err != nil {
				return prescriptions, err
			}
			err = s.Store.Tx(ctx, nil, func(tx Tx) error {
				h, err := tx.Horizon(ctx, p.FacilityID, p.ID)
				if err != nil {
					return err
				}
				if !h.Before(now.Add(12 * time.Hour)) {
					return nil
				}
				progressed = true
				// A worker down for longer than a day does not make doses nobody
				// could still act on (acts older than 24 h are refused).
				return s.materialise(ctx, tx, p, set, loc, maxTime(maxTime(h, p.StartsAt), now.Add(-materialiseFrom)), now)
			})
			if err != nil {
				return prescriptions, err
			}
			prescriptions++
		}
		if !progressed {
			return prescriptions, nil
		}
	}
}
