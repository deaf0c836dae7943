package therapy

import (
	"context"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
)

// ResidentFacts is what therapy needs to know of a resident: enough to
// decide access and to flag the due list.
type ResidentFacts struct {
	ID          uuid.UUID
	FacilityID  uuid.UUID
	WardID      uuid.UUID
	BedCode     string
	GivenName   string
	FamilyName  string
	Current     bool   // admitted or in hospital
	Grant       string // the caller's live break-the-glass reason, or ""
	Allergies   []Allergy
	AllergyMark bool // any active allergy, food and environment included
	// AwaitingReconciliation: an admission or a return from hospital has
	// not yet been reconciled by a physician.
	AwaitingReconciliation bool
}

func (r ResidentFacts) target() access.Target {
	return access.Target{FacilityID: r.FacilityID, WardID: r.WardID, Current: r.Current, GrantReason: r.Grant}
}

// WardSnapshot is what the due list is built from.
type WardSnapshot struct {
	Residents     []ResidentFacts
	Prescriptions []Prescription // live prescriptions of those residents
	Doses         []Dose
	Acts          []Administration // acts on those doses and PRN acts, corrections included
}

// Verification is a stored bedside check.
type Verification struct {
	ID         uuid.UUID
	ResidentID uuid.UUID
	StaffID    uuid.UUID
	Barcode    string
	Wristband  bool
	ProductID  uuid.UUID
	DoseID     uuid.UUID
	Verdict    string
	Codes      []string
	CheckedAt  time.Time
}

// RecallQuery names a batch: by GTIN or AIC, and the batch.
type RecallQuery struct {
	GTIN, AIC, Batch string
	From, To         time.Time
}

// RecallHit is one dose of a recalled batch given to a resident.
type RecallHit struct {
	ResidentID       uuid.UUID `json:"resident_id"`
	GivenName        string    `json:"given_name"`
	FamilyName       string    `json:"family_name"`
	WardID           uuid.UUID `json:"ward_id"`
	AdministrationID uuid.UUID `json:"administration_id"`
	AdministeredAt   time.Time `json:"administered_at"`
	Outcome          Outcome   `json:"outcome"`
	Batch            string    `json:"batch"`
	ProductName      string    `json:"product_name"`
	AIC              string    `json:"aic"`
	GTIN             string    `json:"gtin"`
}

// StoredResponse is the first answer given to an idempotency key.
type StoredResponse = backend.StoredResponse

// Store reads the therapy record and opens write transactions.
type Store interface {
	Settings(ctx context.Context, facility uuid.UUID) (Settings, *time.Location, error)
	Resident(ctx context.Context, facility, id, staff uuid.UUID) (ResidentFacts, error)
	// ResidentByWristband resolves our wristband code or a GSRN (AI 8018).
	ResidentByWristband(ctx context.Context, facility uuid.UUID, code, gsrn string) (uuid.UUID, error)
	WardExists(ctx context.Context, facility, ward uuid.UUID) (bool, error)
	// Prescriptions lists a resident's live prescriptions, or every version
	// when history is set, with their products.
	Prescriptions(ctx context.Context, facility, resident uuid.UUID, history bool) ([]Prescription, error)
	Prescription(ctx context.Context, facility, id uuid.UUID) (Prescription, error)
	Product(ctx context.Context, facility, id uuid.UUID) (*Product, error)
	ProductByCode(ctx context.Context, facility uuid.UUID, aic, gtin string) (*Product, error)
	// Doses lists a resident's doses due in [from, to) and the acts on them,
	// with the PRN acts of the same period; corrections and checks filled.
	Doses(ctx context.Context, facility, resident uuid.UUID, from, to time.Time) ([]Dose, []Administration, error)
	Ward(ctx context.Context, facility, ward, staff uuid.UUID, from, to time.Time) (WardSnapshot, error)
	// DueElsewhere reports whether a product is due in [from, to) for a
	// resident of ward other than except.
	DueElsewhere(ctx context.Context, facility, ward, except uuid.UUID, product *Product, from, to time.Time) (bool, error)
	Verification(ctx context.Context, facility, id uuid.UUID) (Verification, error)
	Recalls(ctx context.Context, facility uuid.UUID, q RecallQuery) ([]RecallHit, error)
	// StaffName is the display name of a colleague, for "recorded by".
	StaffName(ctx context.Context, facility, id uuid.UUID) (string, error)
	// LivePrescriptionsBehind lists live prescriptions of every facility
	// whose doses are materialised less far than until.
	LivePrescriptionsBehind(ctx context.Context, until time.Time, limit int) ([]Prescription, error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
	Tx(ctx context.Context, actor *backend.Actor, fn func(Tx) error) error
}

// Tx is what a write transaction offers.
type Tx interface {
	// LockKey serialises requests carrying the same idempotency key and
	// returns the first answer when there was one.
	LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*StoredResponse, error)
	SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r StoredResponse) error
	SaveSettings(ctx context.Context, facility uuid.UUID, s *Settings) error
	InsertPrescription(ctx context.Context, p *Prescription) error
	LockPrescription(ctx context.Context, facility, id uuid.UUID) (Prescription, error)
	// SetStatus writes p's status fields if its stored version is still
	// p.Version; otherwise a version conflict.
	SetStatus(ctx context.Context, p *Prescription) error
	// Horizon is how far p's doses are materialised (zero if never).
	Horizon(ctx context.Context, facility, prescription uuid.UUID) (time.Time, error)
	SetHorizon(ctx context.Context, facility, prescription uuid.UUID, until time.Time) error
	// InsertDoses inserts the doses not yet there and returns how many.
	InsertDoses(ctx context.Context, facility uuid.UUID, doses []Dose) (int, error)
	// CancelDoses cancels p's scheduled doses on which nothing was recorded
	// and that are due in [from, until) (until zero: no end) or, when
	// openAt is set, still open then (due before from but not yet missed).
	CancelDoses(ctx context.Context, facility, prescription uuid.UUID, from, until, openAt time.Time, reason string) (int, error)
	LockDose(ctx context.Context, facility, id uuid.UUID) (Dose, error)
	// CurrentAct returns the dose's effective act (nil if none) and the
	// attempt number the next act would take.
	ReadDose(ctx context.Context, facility, id uuid.UUID) (Dose, error)
	ReadAdministration(ctx context.Context, facility, id uuid.UUID) (Administration, error)
	// PRNTimes lists when PRN doses of a prescription series were taken
	// since a moment (corrections excluded).
	PRNTimes(ctx context.Context, facility, series uuid.UUID, since time.Time) ([]time.Time, error)
	CurrentAct(ctx context.Context, facility, dose uuid.UUID) (*Administration, int, error)
	InsertAdministration(ctx context.Context, facility uuid.UUID, a *Administration) error
	LockAdministration(ctx context.Context, facility, id uuid.UUID) (Administration, error)
	InsertCorrection(ctx context.Context, facility, administration uuid.UUID, c *Correction) error
	InsertPRNCheck(ctx context.Context, facility, administration uuid.UUID, c *PRNCheck) error
	InsertAssistedIntake(ctx context.Context, facility uuid.UUID, in *AssistedIntake) error
	InsertVerification(ctx context.Context, facility uuid.UUID, v *Verification, device uuid.UUID) error
	// CloseReconciliation records the open reconciliation's outcome;
	// false when none is open.
	CloseReconciliation(ctx context.Context, facility, resident, by uuid.UUID, outcome, notes string) (bool, error)
	// RaiseAlert opens an alert chain about a bedside event (once per kind
	// and subject) and notifies the ward's staff holding role, with the
	// outbox rows, in this transaction.
	RaiseAlert(ctx context.Context, facility uuid.UUID, al Alert, role string) error
	// Refusals counts the refusals of a prescription series since a moment
	// (corrections excluded).
	Refusals(ctx context.Context, facility, series uuid.UUID, since time.Time) (int, error)
	// CanWitness reports whether staff is an active nurse or physician of
	// facility.
	CanWitness(ctx context.Context, facility, staff uuid.UUID) (bool, error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Alert is a bedside event that must reach someone: an override, a dose
// recorded without a scan, repeated refusals of a drug.
type Alert struct {
	Kind             string // override, unable_to_scan, repeated_refusal
	WardID           uuid.UUID
	ResidentID       uuid.UUID
	DoseID           uuid.UUID
	AdministrationID uuid.UUID
	Subject          uuid.UUID // one chain per kind and subject
}

// Alert kinds raised at the bedside.
const (
	AlertOverride        = "override"
	AlertUnableToScan    = "unable_to_scan"
	AlertRepeatedRefusal = "repeated_refusal"
)

// RefusalsToAlert is how many refusals of one drug in a week reach the
// physician (domain.md: repeated refusals should reach the physician).
const RefusalsToAlert = 3

// WitnessChecker verifies a witness's badge and PIN (the auth service).
type WitnessChecker interface {
	Witness(ctx context.Context, a *backend.Actor, badge, pin string) (uuid.UUID, error)
}

// Service applies the rules of the therapy sheet and the bedside.
type Service struct {
	Store   Store
	Clock   backend.Clock
	Witness WitnessChecker
}

// AssistedIntake is an OSS helping a resident take a dose a nurse prepared
// and recorded.
type AssistedIntake struct {
	ID               uuid.UUID `json:"id"`
	AdministrationID uuid.UUID `json:"administration_id"`
	ResidentID       uuid.UUID `json:"resident_id"`
	Outcome          string    `json:"outcome"`
	Notes            string    `json:"notes"`
	RecordedBy       uuid.UUID `json:"recorded_by"`
	RecordedAt       time.Time `json:"recorded_at"`
}

// denied audits a refused attempt on a resident outside the attempt's
// transaction, and returns cause.
func (s *Service) denied(ctx context.Context, a *backend.Actor, action access.Action, resource string, id uuid.UUID, resident uuid.UUID, cause error) error {
	ev := audit.By(a, string(action), resource, id.String(), resident, audit.Denied)
	ev.Detail = backend.AsError(cause).Code
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return err
	}
	return cause
}

// residentFor loads a resident and decides action on her. A resident the
// actor may not see is resident.not_found, audited; one she sees but may
// not act on is forbidden.
func (s *Service) residentFor(ctx context.Context, a *backend.Actor, action access.Action, id uuid.UUID) (ResidentFacts, access.Decision, error) {
	r, err := s.Store.Resident(ctx, a.FacilityID, id, a.StaffID)
	if backend.IsKind(err, backend.KindNotFound) {
		return r, access.Decision{}, s.denied(ctx, a, action, "resident", id, id, backend.ErrResidentNotFound())
	}
	if err != nil {
		return r, access.Decision{}, err
	}
	d, cerr := access.Check(a, action, r.target())
	if cerr != nil {
		return r, d, s.denied(ctx, a, action, "resident", id, id, cerr)
	}
	return r, d, nil
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

// GetSettings returns the facility's therapy policy.
func (s *Service) GetSettings(ctx context.Context, a *backend.Actor) (Settings, error) {
	if !access.Can(a, access.ManageTherapySettings) {
		return Settings{}, backend.E(backend.KindForbidden, backend.CodeForbidden)
	}
	set, _, err := s.Store.Settings(ctx, a.FacilityID)
	return set, err
}

// UpdateSettings changes the facility's therapy policy (optimistic lock on
// Version). New windows apply to doses materialised from now on.
func (s *Service) UpdateSettings(ctx context.Context, a *backend.Actor, set Settings) (Settings, error) {
	if !access.Can(a, access.ManageTherapySettings) {
		return Settings{}, backend.E(backend.KindForbidden, backend.CodeForbidden)
	}
	if set.Overridable == nil {
		set.Overridable = []string{}
	}
	if set.EscalateAfterMin == 0 {
		cur, _, err := s.Store.Settings(ctx, a.FacilityID)
		if err != nil {
			return Settings{}, err
		}
		set.EscalateAfterMin = cur.EscalateAfterMin
	}
	if err := set.Validate(); err != nil {
		return Settings{}, err
	}
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		if err := tx.SaveSettings(ctx, a.FacilityID, &set); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.By(a, "therapy.settings", "therapy_settings", a.FacilityID.String(), uuid.Nil, audit.Success))
	})
	return set, err
}
