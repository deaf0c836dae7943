package therapy

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// VerifyRequest is a pack scanned at a resident's bedside.
type VerifyRequest struct {
	ResidentID uuid.UUID `json:"resident_id"`
	Wristband  string    `json:"wristband"` // as scanned
	Barcode    string    `json:"barcode"`   // the pack, exactly as the scanner sent it
	DoseID     uuid.UUID `json:"dose_id"`
}

// VerifyResult is the verdict with the dose it is for.
type VerifyResult struct {
	Verdict
	VerificationID uuid.UUID       `json:"verification_id"`
	ResidentID     uuid.UUID       `json:"resident_id"`
	DoseID         *uuid.UUID      `json:"dose_id"`
	PrescriptionID *uuid.UUID      `json:"prescription_id"`
	Dose           *DoseLine       `json:"dose"`
	Product        *ProductRef     `json:"product"`
	Quantity       decimal.Decimal `json:"quantity"`
	QuantityUnit   string          `json:"quantity_unit"`
	Expiry         string          `json:"expiry,omitempty"`
	Batch          string          `json:"batch,omitempty"`
}

// bedsideAction is what a verification is checked for: administering, or
// for an OSS, assisting an intake.
func bedsideAction(a *backend.Actor) access.Action {
	if access.Can(a, access.Administer) {
		return access.Administer
	}
	return access.AssistIntake
}

// residentFromScan resolves a scanned wristband in the actor's facility.
func (s *Service) residentFromScan(ctx context.Context, a *backend.Actor, raw string) (uuid.UUID, error) {
	in, err := codes.Interpret(raw)
	var code, gsrn string
	switch {
	case err == nil && in.Kind == codes.ScanWristband:
		code = in.Wristband
	case err == nil && in.GS1 != nil && in.GS1.GSRNRecipient != "":
		gsrn = in.GS1.GSRNRecipient
	default:
		return uuid.Nil, backend.Invalid("verify.not_a_wristband", "wristband", "this code is not a resident's wristband")
	}
	id, err := s.Store.ResidentByWristband(ctx, a.FacilityID, code, gsrn)
	if backend.IsKind(err, backend.KindNotFound) {
		return uuid.Nil, s.denied(ctx, a, access.ReadResident, "wristband", uuid.Nil, uuid.Nil, backend.ErrResidentNotFound())
	}
	return id, err
}

// scannedPack is a pack code read into what the rules need.
type scannedPack struct {
	in      codes.Interpretation
	product *Product
	expiry  time.Time
}

// readPack interprets a pack barcode. A code that does not parse is a 4xx
// from the codes package; a wristband or badge is verify.not_a_pack; a
// well-formed code of no known product leaves product nil.
func (s *Service) readPack(ctx context.Context, a *backend.Actor, raw string) (scannedPack, error) {
	in, err := codes.Interpret(raw)
	if err != nil {
		return scannedPack{}, err
	}
	if in.AIC == "" && in.GTIN == "" {
		return scannedPack{}, backend.E(backend.KindUnprocessable, "verify.not_a_pack", "this code is not a drug pack")
	}
	sp := scannedPack{in: in}
	if in.Expiry != "" {
		if t, err := time.Parse(time.DateOnly, in.Expiry); err == nil {
			sp.expiry = t
		}
	}
	sp.product, err = s.Store.ProductByCode(ctx, a.FacilityID, in.AIC, in.GTIN)
	if backend.IsKind(err, backend.KindNotFound) {
		return sp, nil
	}
	return sp, err
}

// situation gathers what Judge needs about a resident at now.
func (s *Service) situation(ctx context.Context, a *backend.Actor, r ResidentFacts, now time.Time) (Situation, error) {
	set, _, err := s.Store.Settings(ctx, a.FacilityID)
	if err != nil {
		return Situation{}, err
	}
	ps, err := s.Store.Prescriptions(ctx, a.FacilityID, r.ID, false)
	if err != nil {
		return Situation{}, err
	}
	doses, acts, err := s.Store.Doses(ctx, a.FacilityID, r.ID, now.Add(-24*time.Hour), now.Add(24*time.Hour))
	if err != nil {
		return Situation{}, err
	}
	sit := Situation{Now: now, Prescriptions: ps, Allergies: r.Allergies, AwaitingReconciliation: r.AwaitingReconciliation,
		Settings: set, PRNGiven: map[uuid.UUID][]time.Time{}}
	current := map[uuid.UUID]*Administration{}
	for i := range acts {
		x := &acts[i]
		if x.Correction != nil {
			continue
		}
		if x.DoseID != uuid.Nil {
			current[x.DoseID] = x
		} else if x.Outcome.Took() {
			sit.PRNGiven[x.SeriesID] = append(sit.PRNGiven[x.SeriesID], x.AdministeredAt)
		}
	}
	for _, d := range doses {
		sit.Doses = append(sit.Doses, DoseFacts{Dose: d, Act: current[d.ID]})
	}
	return sit, nil
}

// withDose adds the dose the nurse picked to the situation when it lies
// outside the day around now that situation loads, so a dose picked far
// ahead is judged as early rather than as the wrong drug. A dose of another
// resident is left out: then the drug is wrong for this one.
func (s *Service) withDose(ctx context.Context, a *backend.Actor, sit *Situation, id uuid.UUID) error {
	if id == uuid.Nil || slices.ContainsFunc(sit.Doses, func(d DoseFacts) bool { return d.Dose.ID == id }) {
		return nil
	}
	return s.Store.Tx(ctx, nil, func(tx Tx) error {
		d, err := tx.ReadDose(ctx, a.FacilityID, id)
		if backend.IsKind(err, backend.KindNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, p := range sit.Prescriptions {
			if p.ID == d.PrescriptionID {
				act, _, err := tx.CurrentAct(ctx, a.FacilityID, id)
				if err != nil {
					return err
				}
				sit.Doses = append(sit.Doses, DoseFacts{Dose: d, Act: act})
			}
		}
		return nil
	})
}

// Verify checks a pack scanned at the bedside and records the check.
func (s *Service) Verify(ctx context.Context, a *backend.Actor, req VerifyRequest) (VerifyResult, error) {
	now := s.now()
	if req.Barcode == "" {
		return VerifyResult{}, backend.Invalid("verify.barcode_required", "barcode", "scan the pack")
	}
	if len(req.Wristband) > codes.MaxScanLen {
		return VerifyResult{}, backend.Invalid(codes.CodeScanTooLong, "wristband", "longer than 512 bytes")
	}
	if req.ResidentID == uuid.Nil && req.Wristband == "" {
		return VerifyResult{}, backend.Invalid("verify.resident_required", "resident_id", "scan the wristband or name the resident")
	}
	wrongResident := false
	id := req.ResidentID
	if req.Wristband != "" {
		scanned, err := s.residentFromScan(ctx, a, req.Wristband)
		if err != nil {
			return VerifyResult{}, err
		}
		// The tablet has one resident open and the wristband is another's.
		wrongResident = id != uuid.Nil && scanned != id
		if id == uuid.Nil {
			id = scanned
		}
	}
	r, _, err := s.residentFor(ctx, a, bedsideAction(a), id)
	if err != nil {
		return VerifyResult{}, err
	}
	pack, err := s.readPack(ctx, a, req.Barcode)
	if err != nil {
		return VerifyResult{}, err
	}
	sit, err := s.situation(ctx, a, r, now)
	if err != nil {
		return VerifyResult{}, err
	}
	if err := s.withDose(ctx, a, &sit, req.DoseID); err != nil {
		return VerifyResult{}, err
	}
	sit.DoseID, sit.Expiry = req.DoseID, pack.expiry
	var v Verdict
	if pack.product == nil {
		v = Verdict{Blocks: []string{BlockUnknownProduct}, Warnings: []string{}, Overridable: []string{}}
		v.finish(sit.Settings)
	} else {
		sit.Product = pack.product
		if !slices.ContainsFunc(sit.Prescriptions, func(p Prescription) bool { return Matches(p, pack.product) }) {
			sit.DueElsewhere, err = s.Store.DueElsewhere(ctx, a.FacilityID, r.WardID, r.ID, pack.product, now.Add(-2*time.Hour), now.Add(time.Hour))
			if err != nil {
				return VerifyResult{}, err
			}
		}
		v = Judge(sit)
	}
	if wrongResident && !slices.Contains(v.Blocks, BlockWrongResident) {
		v.Blocks = append([]string{BlockWrongResident}, v.Blocks...)
		v.finish(sit.Settings)
	}
	res := VerifyResult{Verdict: v, VerificationID: uuid.New(), ResidentID: r.ID, Quantity: v.Quantity,
		QuantityUnit: v.QuantityUnit, Expiry: pack.in.Expiry, Batch: pack.in.Batch}
	if pack.product != nil {
		ref := refOf(Prescription{Product: pack.product})
		res.Product = &ref
	}
	if v.Prescription != nil {
		pid := v.Prescription.ID
		res.PrescriptionID = &pid
	}
	if v.Dose != nil {
		did := v.Dose.ID
		res.DoseID = &did
		var act *Administration
		for _, d := range sit.Doses {
			if d.Dose.ID == did {
				act = d.Act
			}
		}
		var acts []Administration
		if act != nil {
			acts = []Administration{*act}
		}
		l := lineOf(*v.Dose, *v.Prescription, acts, now)
		res.Dose = &l
	}
	rec := Verification{ID: res.VerificationID, ResidentID: r.ID, StaffID: a.StaffID, Barcode: req.Barcode,
		Wristband: req.Wristband != "", Verdict: v.Verdict, Codes: v.Codes, CheckedAt: now}
	if pack.product != nil {
		rec.ProductID = pack.product.ID
	}
	if v.Dose != nil {
		rec.DoseID = v.Dose.ID
	}
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		if err := tx.InsertVerification(ctx, a.FacilityID, &rec, a.DeviceID); err != nil {
			return err
		}
		ev := audit.By(a, "therapy.verify", "verification", rec.ID.String(), r.ID, audit.Success)
		ev.Detail = v.Verdict + ":" + strings.Join(v.Codes, ",")
		return tx.AppendAudit(ctx, ev)
	})
	return res, err
}

// verificationMaxAge is how long a verification stays good for recording.
const verificationMaxAge = 15 * time.Minute

// Record records an act on a dose (or a PRN dose), exactly once.
//
// Exactly once under retries: the answer is stored under (staff, key) in the
// same transaction; a replay returns it, the same key with another request
// is idempotency.key_reused. Exactly once under concurrent tablets: the dose
// row is locked and the act is unique per (dose, attempt) in the database.
func (s *Service) Record(ctx context.Context, a *backend.Actor, key uuid.UUID, hash []byte, req RecordRequest) (Administration, bool, error) {
	const op = "administration.record"
	now := s.now()
	if !access.Can(a, access.Administer) {
		return Administration{}, false, backend.E(backend.KindForbidden, "administration.not_permitted",
			"only nurses and physicians administer; an OSS records an assisted intake")
	}
	if key == uuid.Nil {
		return Administration{}, false, backend.Invalid("idempotency.key_required", "Idempotency-Key", "send a UUID generated once per act")
	}
	if err := req.Validate(now); err != nil {
		return Administration{}, false, err
	}
	if req.AdministeredAt.IsZero() {
		req.AdministeredAt = now
	}
	// Locate the target and its resident (outside the transaction: access
	// is decided and denials audited whatever happens next).
	var p Prescription
	var dose Dose
	var err error
	if req.DoseID != uuid.Nil {
		doses, err := s.doseByID(ctx, a, req.DoseID)
		if err != nil {
			return Administration{}, false, err
		}
		dose = doses
		p, err = s.Store.Prescription(ctx, a.FacilityID, dose.PrescriptionID)
	} else {
		p, err = s.Store.Prescription(ctx, a.FacilityID, req.PrescriptionID)
		if backend.IsKind(err, backend.KindNotFound) {
			err = backend.E(backend.KindNotFound, "prescription.not_found")
		}
	}
	if err != nil {
		return Administration{}, false, err
	}
	r, _, err := s.residentFor(ctx, a, access.Administer, p.ResidentID)
	if err != nil {
		if backend.IsKind(err, backend.KindNotFound) && req.DoseID != uuid.Nil {
			return Administration{}, false, backend.E(backend.KindNotFound, "dose.not_found")
		}
		return Administration{}, false, err
	}
	if req.DoseID == uuid.Nil && p.Schedule.Kind != SchedulePRN {
		return Administration{}, false, backend.Invalid("administration.not_prn", "prescription_id", "a scheduled prescription is recorded on its dose")
	}

	// The pack: from a verification, a scan in this request, or keyed.
	act := Administration{ID: uuid.New(), DoseID: req.DoseID, PrescriptionID: p.ID, ResidentID: p.ResidentID,
		Outcome: req.Outcome, Reason: req.Reason, AdministeredAt: req.AdministeredAt.UTC(), RecordedAt: now,
		RecordedBy: a.StaffID, DeviceID: a.DeviceID, Batch: req.Batch, Expiry: req.expiry, AlteredForm: req.AlteredForm,
		PRNIndication: req.PRNIndication, Notes: req.Notes, Warnings: []string{}, Overridden: []string{},
		ScannedWristband: req.Wristband, VerificationID: req.VerificationID}
	if act.PRNIndication == "" && p.PRN != nil {
		act.PRNIndication = p.PRN.Indication
	}
	var product *Product
	switch {
	case !req.Outcome.Took():
		act.Scan = ScanNotRequired
	case req.VerificationID != uuid.Nil:
		ver, err := s.Store.Verification(ctx, a.FacilityID, req.VerificationID)
		if backend.IsKind(err, backend.KindNotFound) || (err == nil && (ver.ResidentID != r.ID || ver.StaffID != a.StaffID)) {
			return Administration{}, false, backend.Invalid("administration.unknown_verification", "verification_id", "no such check of yours for this resident")
		}
		if err != nil {
			return Administration{}, false, err
		}
		if now.Sub(ver.CheckedAt) > verificationMaxAge {
			return Administration{}, false, backend.E(backend.KindUnprocessable, "administration.verification_expired", "scan the pack again")
		}
		req.Barcode = ver.Barcode
		fallthrough
	case req.Barcode != "":
		pack, err := s.readPack(ctx, a, req.Barcode)
		if err != nil {
			return Administration{}, false, err
		}
		if pack.product == nil {
			return Administration{}, false, backend.E(backend.KindUnprocessable, "administration.blocked", "blocked: "+BlockUnknownProduct)
		}
		product, act.Scan, act.ScannedPack = pack.product, ScanScanned, req.Barcode
		act.AIC, act.GTIN = pack.in.AIC, pack.in.GTIN
		if act.Batch == "" {
			act.Batch = pack.in.Batch
		}
		if act.Expiry.IsZero() {
			act.Expiry = pack.expiry
		}
	case req.UnableToScan != "":
		act.Scan, act.UnableToScan, product = ScanKeyed, req.UnableToScan, p.Product
	default:
		// Recorded without a scan and without saying why: accepted, so a
		// dose given is never lost, but counted against scan compliance.
		act.Scan, act.UnableToScan, product = ScanKeyed, "not_stated", p.Product
		act.Warnings = append(act.Warnings, WarnNotScanned)
	}
	if product != nil {
		act.ProductID = product.ID
	}

	// The rights, for a dose actually given.
	var v Verdict
	if req.Outcome.Took() {
		sit, err := s.situation(ctx, a, r, now)
		if err != nil {
			return Administration{}, false, err
		}
		if err := s.withDose(ctx, a, &sit, req.DoseID); err != nil {
			return Administration{}, false, err
		}
		sit.Product, sit.DoseID, sit.Expiry = nil, req.DoseID, act.Expiry
		if act.Scan == ScanScanned {
			sit.Product = product
		}
		sit.Prescriptions = slices.DeleteFunc(sit.Prescriptions, func(x Prescription) bool { return x.ID != p.ID })
		if len(sit.Prescriptions) == 0 {
			if p.Live() {
				sit.Prescriptions = []Prescription{p}
			} else {
				return Administration{}, false, backend.E(backend.KindConflict, "prescription.closed", "this prescription is "+string(p.Status))
			}
		}
		v = Judge(sit)
		if product != nil && product.DoNotCrush && slices.Contains([]string{"crushed", "dispersed", "opened"}, req.AlteredForm) {
			v.block(BlockDoNotCrush)
			v.finish(sit.Settings)
		}
		// Already given is decided under the dose lock below, with who and
		// when; here it would only say less.
		v.Blocks = slices.DeleteFunc(v.Blocks, func(b string) bool { return b == BlockAlreadyGiven })
		if err := checkOverride(v, req.Override, sit.Settings); err != nil {
			return Administration{}, false, err
		}
		act.Warnings = append(act.Warnings, v.Warnings...)
		if req.Override != nil {
			act.Overridden, act.OverrideReason, act.OverrideNote = v.Blocks, req.Override.Reason, req.Override.Note
		}
		unitDose := p.Dose
		act.Quantity, act.QuantityUnit = unitDose, p.DoseUnit
		switch {
		case req.Outcome == Partial && !req.Quantity.LessThan(unitDose):
			return Administration{}, false, backend.Invalid("administration.invalid_quantity", "quantity", "a partial dose is less than the prescribed "+unitDose.String()+" "+p.DoseUnit)
		case req.Outcome == Partial:
			act.Quantity = req.Quantity
		case req.Outcome == Given && !req.Quantity.IsZero() && !req.Quantity.Equal(unitDose):
			return Administration{}, false, backend.E(backend.KindUnprocessable, "administration.dose_mismatch",
				"the prescribed dose is "+unitDose.String()+" "+p.DoseUnit+"; record a partial dose or ask the physician")
		}
		if v.WitnessRequired {
			if req.Witness == nil || req.Witness.Badge == "" {
				return Administration{}, false, backend.E(backend.KindUnprocessable, "witness.required",
					"a high-alert drug needs a second nurse to check and sign on with badge and PIN")
			}
		}
	} else if req.Quantity.IsPositive() {
		return Administration{}, false, backend.Invalid("administration.invalid_quantity", "quantity", "no quantity when nothing was given")
	}

	if req.Outcome.Took() && v.WitnessRequired {
		// A replay answers before the witness's PIN is checked again: that
		// is costly and counts against her sign-in throttle.
		if stored, ok, err := s.replayed(ctx, a, key, op, hash); ok || err != nil {
			return stored, ok, err
		}
		wid, err := s.Witness.Witness(ctx, a, req.Witness.Badge, req.Witness.PIN)
		if err != nil {
			return Administration{}, false, err
		}
		act.WitnessID = wid
	}

	if act.RecordedByName, err = s.Store.StaffName(ctx, a.FacilityID, a.StaffID); err != nil {
		return Administration{}, false, err
	}
	var replay bool
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		replay = false
		stored, err := tx.LockKey(ctx, a.FacilityID, a.StaffID, key)
		if err != nil {
			return err
		}
		if stored != nil {
			if err := stored.Replay(op, hash, &act); err != nil {
				return err
			}
			replay = true
			return nil
		}
		if act.WitnessID != uuid.Nil {
			ok, err := tx.CanWitness(ctx, a.FacilityID, act.WitnessID)
			if err != nil {
				return err
			}
			if !ok {
				return backend.E(backend.KindUnprocessable, "witness.not_qualified", "the witness must be another active nurse or physician")
			}
		}
		if req.DoseID != uuid.Nil {
			d, err := tx.LockDose(ctx, a.FacilityID, req.DoseID)
			if err != nil {
				return err
			}
			cur, attempt, err := tx.CurrentAct(ctx, a.FacilityID, d.ID)
			if err != nil {
				return err
			}
			if cur != nil {
				return s.alreadyRecorded(cur)
			}
			if d.Cancelled {
				return backend.E(backend.KindConflict, "dose.cancelled", "this dose was cancelled by a change to the prescription ("+d.CancelReason+")")
			}
			act.Attempt = attempt
		} else {
			// PRN: the series is locked so two tablets cannot both give
			// the last allowed dose.
			if _, err := tx.LockPrescription(ctx, a.FacilityID, p.ID); err != nil {
				return err
			}
			if err := s.checkPRNUnderLock(ctx, tx, p, act.AdministeredAt); err != nil {
				return err
			}
		}
		if err := tx.InsertAdministration(ctx, a.FacilityID, &act); err != nil {
			if backend.IsCode(err, "duplicate") {
				return backend.E(backend.KindConflict, "dose.already_recorded", "this dose was recorded meanwhile on another device")
			}
			return err
		}
		if err := s.raiseBedsideAlerts(ctx, tx, a, r, p, &act); err != nil {
			return err
		}
		ev := audit.By(a, "therapy.administer", "administration", act.ID.String(), act.ResidentID, audit.Success)
		ev.Detail = string(act.Outcome) + ":" + act.Scan
		if len(act.Overridden) > 0 {
			ev.Detail += ":override=" + strings.Join(act.Overridden, ",")
		}
		if err := tx.AppendAudit(ctx, ev); err != nil {
			return err
		}
		body, err := json.Marshal(act)
		if err != nil {
			return backend.Internal(err, "marshal administration")
		}
		return tx.SaveResponse(ctx, a.FacilityID, a.StaffID, key, StoredResponse{Operation: op, Hash: hash, Body: body})
	})
	if err != nil {
		return Administration{}, false, err
	}
	return act, replay, nil
}

// raiseBedsideAlerts writes, in the recording transaction, the alerts an
// act calls for: an override and a dose given without a scan reach the ward
// lead; the third refusal of a drug in a week reaches the physician.
func (s *Service) raiseBedsideAlerts(ctx context.Context, tx Tx, a *backend.Actor, r ResidentFacts, p Prescription, act *Administration) error {
	base := Alert{WardID: r.WardID, ResidentID: act.ResidentID, DoseID: act.DoseID, AdministrationID: act.ID, Subject: act.ID}
	if len(act.Overridden) > 0 {
		al := base
		al.Kind = AlertOverride
		if err := tx.RaiseAlert(ctx, a.FacilityID, al, "ward_lead"); err != nil {
			return err
		}
	}
	if act.Scan == ScanKeyed {
		al := base
		al.Kind = AlertUnableToScan
		if err := tx.RaiseAlert(ctx, a.FacilityID, al, "ward_lead"); err != nil {
			return err
		}
	}
	if act.Outcome == Refused {
		n, err := tx.Refusals(ctx, a.FacilityID, p.SeriesID, act.AdministeredAt.Add(-7*24*time.Hour))
		if err != nil {
			return err
		}
		// This act is not yet counted: the third one raises the alert.
		if n+1 == RefusalsToAlert {
			al := base
			al.Kind = AlertRepeatedRefusal
			if err := tx.RaiseAlert(ctx, a.FacilityID, al, "physician"); err != nil {
				return err
			}
		}
	}
	return nil
}

// replayed returns the stored answer to key, if any, outside a transaction.
func (s *Service) replayed(ctx context.Context, a *backend.Actor, key uuid.UUID, op string, hash []byte) (Administration, bool, error) {
	var act Administration
	var found bool
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		stored, err := tx.LockKey(ctx, a.FacilityID, a.StaffID, key)
		if err != nil || stored == nil {
			return err
		}
		if err := stored.Replay(op, hash, &act); err != nil {
			return err
		}
		found = true
		return nil
	})
	return act, found, err
}

// alreadyRecorded is the 409 that names who recorded the dose and when.
// It runs inside the recording transaction and so must not take another
// connection: the name comes with the act.
func (s *Service) alreadyRecorded(cur *Administration) error {
	name := cur.RecordedByName
	e := backend.E(backend.KindConflict, "dose.already_recorded",
		"already recorded ("+string(cur.Outcome)+") by "+name+" at "+cur.RecordedAt.UTC().Format(time.RFC3339))
	e.Fields = map[string]string{"administration_id": cur.ID.String(), "recorded_by": cur.RecordedBy.String(),
		"recorded_by_name": name, "recorded_at": cur.RecordedAt.UTC().Format(time.RFC3339Nano), "outcome": string(cur.Outcome)}
	return e
}

// checkOverride lets a record through blocks only when every block is one
// the facility allows to override and the nurse named them all with a
// structured reason.
func checkOverride(v Verdict, o *Override, set Settings) error {
	if len(v.Blocks) == 0 {
		if o != nil {
			return backend.Invalid("override.nothing_to_override", "override", "no block to override")
		}
		return nil
	}
	blocked := backend.E(backend.KindUnprocessable, "administration.blocked", "blocked: "+strings.Join(v.Blocks, ", "))
	blocked.Fields = map[string]string{"blocks": strings.Join(v.Blocks, ","), "overridable": strings.Join(v.Overridable, ",")}
	if o == nil {
		return blocked
	}
	for _, b := range v.Blocks {
		if !slices.Contains(v.Overridable, b) {
			nb := backend.E(backend.KindUnprocessable, "override.not_allowed", b+" cannot be overridden in this facility")
			nb.Fields = blocked.Fields
			return nb
		}
		if !slices.Contains(o.Codes, b) {
			return blocked
		}
	}
	return nil
}

// checkPRNUnderLock recounts PRN doses with the series locked.
func (s *Service) checkPRNUnderLock(ctx context.Context, tx Tx, p Prescription, at time.Time) error {
	if p.PRN == nil {
		return nil
	}
	times, err := tx.PRNTimes(ctx, p.FacilityID, p.SeriesID, at.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	n, last := 0, time.Time{}
	for _, t := range times {
		if at.Sub(t) < 24*time.Hour {
			n++
			if t.After(last) {
				last = t
			}
		}
	}
	if n >= p.PRN.MaxPer24h {
		return backend.E(backend.KindConflict, "dose.prn_limit", "the maximum doses in 24 h were given meanwhile")
	}
	if !last.IsZero() && at.Sub(last).Abs() < time.Duration(p.PRN.MinIntervalMin)*time.Minute {
		return backend.E(backend.KindConflict, "dose.prn_interval", "a dose was given meanwhile, within the minimum interval")
	}
	return nil
}

// doseByID loads a dose; absent is dose.not_found.
func (s *Service) doseByID(ctx context.Context, a *backend.Actor, id uuid.UUID) (Dose, error) {
	var d Dose
	err := s.Store.Tx(ctx, nil, func(tx Tx) error {
		var err error
		d, err = tx.ReadDose(ctx, a.FacilityID, id)
		return err
	})
	if backend.IsKind(err, backend.KindNotFound) {
		return d, backend.E(backend.KindNotFound, "dose.not_found")
	}
	return d, err
}

// EnteredInError corrects an act recorded by mistake: a linked correction,
// never an edit. A scheduled dose so corrected is open again.
func (s *Service) EnteredInError(ctx context.Context, a *backend.Actor, id uuid.UUID, reason string) (Administration, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) < 5 || !textOK(reason, 500) {
		return Administration{}, backend.Invalid("correction.reason_required", "reason", "say what was wrong (at least 5 characters)")
	}
	var act Administration
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		var err error
		act, err = tx.LockAdministration(ctx, a.FacilityID, id)
		if backend.IsKind(err, backend.KindNotFound) {
			return backend.E(backend.KindNotFound, "administration.not_found")
		}
		return err
	})
	if err != nil {
		return act, s.denied(ctx, a, access.Administer, "administration", id, uuid.Nil, err)
	}
	if _, _, err := s.residentFor(ctx, a, access.Administer, act.ResidentID); err != nil {
		if backend.IsKind(err, backend.KindNotFound) {
			return act, backend.E(backend.KindNotFound, "administration.not_found")
		}
		return act, err
	}
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		var err error
		if act, err = tx.LockAdministration(ctx, a.FacilityID, id); err != nil {
			return err
		}
		if act.DoseID != uuid.Nil {
			if _, err := tx.LockDose(ctx, a.FacilityID, act.DoseID); err != nil {
				return err
			}
		}
		if act.Correction != nil {
			return backend.E(backend.KindConflict, "administration.already_corrected", "this act is already marked entered in error")
		}
		c := &Correction{ID: uuid.New(), Reason: reason, RecordedBy: a.StaffID, RecordedAt: s.now()}
		if err := tx.InsertCorrection(ctx, a.FacilityID, act.ID, c); err != nil {
			if backend.IsCode(err, "duplicate") {
				return backend.E(backend.KindConflict, "administration.already_corrected", "this act is already marked entered in error")
			}
			return err
		}
		act.Correction = c
		return tx.AppendAudit(ctx, audit.By(a, "therapy.entered_in_error", "administration", act.ID.String(), act.ResidentID, audit.Success))
	})
	return act, err
}

// RecordEffectiveness records the effectiveness check of a PRN dose.
func (s *Service) RecordEffectiveness(ctx context.Context, a *backend.Actor, id uuid.UUID, effective, notes string) (PRNCheck, error) {
	if !slices.Contains(EffectivenessValues, effective) {
		return PRNCheck{}, backend.Invalid("effectiveness.invalid", "effective", "one of "+strings.Join(EffectivenessValues, ", "))
	}
	if !textOK(notes, maxText) {
		return PRNCheck{}, backend.Invalid("effectiveness.invalid", "notes", "at most 2000 characters")
	}
	act, err := s.adminFor(ctx, a, access.Administer, id)
	if err != nil {
		return PRNCheck{}, err
	}
	if act.DoseID != uuid.Nil || !act.Outcome.Took() || act.Correction != nil {
		return PRNCheck{}, backend.E(backend.KindUnprocessable, "effectiveness.not_prn", "only an as-needed dose given has an effectiveness check")
	}
	c := PRNCheck{ID: uuid.New(), Effective: effective, Notes: notes, RecordedBy: a.StaffID, RecordedAt: s.now()}
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		if err := tx.InsertPRNCheck(ctx, a.FacilityID, id, &c); err != nil {
			if backend.IsCode(err, "duplicate") {
				return backend.E(backend.KindConflict, "effectiveness.already_recorded", "the check of this dose is already recorded")
			}
			return err
		}
		return tx.AppendAudit(ctx, audit.By(a, "therapy.prn_check", "administration", id.String(), act.ResidentID, audit.Success))
	})
	return c, err
}

// adminFor loads an act and decides action on its resident.
func (s *Service) adminFor(ctx context.Context, a *backend.Actor, action access.Action, id uuid.UUID) (Administration, error) {
	var act Administration
	err := s.Store.Tx(ctx, nil, func(tx Tx) error {
		var err error
		act, err = tx.ReadAdministration(ctx, a.FacilityID, id)
		return err
	})
	if backend.IsKind(err, backend.KindNotFound) {
		return act, s.denied(ctx, a, action, "administration", id, uuid.Nil, backend.E(backend.KindNotFound, "administration.not_found"))
	}
	if err != nil {
		return act, err
	}
	if _, _, err := s.residentFor(ctx, a, action, act.ResidentID); err != nil {
		if backend.IsKind(err, backend.KindNotFound) {
			return act, backend.E(backend.KindNotFound, "administration.not_found")
		}
		return act, err
	}
	return act, nil
}

// IntakeOutcomes are the outcomes of an assisted intake.
var IntakeOutcomes = []string{"taken", "partly_taken", "refused"}

// AssistIntake records an OSS helping a resident take a dose a nurse
// prepared and recorded, where the facility allows it.
func (s *Service) AssistIntake(ctx context.Context, a *backend.Actor, administration uuid.UUID, outcome, notes string) (AssistedIntake, error) {
	if !access.Can(a, access.AssistIntake) {
		return AssistedIntake{}, backend.E(backend.KindForbidden, backend.CodeForbidden, "assisted intake is recorded by an OSS")
	}
	if !slices.Contains(IntakeOutcomes, outcome) || !textOK(notes, maxText) {
		return AssistedIntake{}, backend.Invalid("assisted_intake.invalid", "outcome", "one of "+strings.Join(IntakeOutcomes, ", "))
	}
	set, _, err := s.Store.Settings(ctx, a.FacilityID)
	if err != nil {
		return AssistedIntake{}, err
	}
	if !set.OSSAssistedIntake {
		return AssistedIntake{}, backend.E(backend.KindForbidden, "assisted_intake.disabled", "this facility does not allow OSS to assist intake")
	}
	act, err := s.adminFor(ctx, a, access.AssistIntake, administration)
	if err != nil {
		return AssistedIntake{}, err
	}
	if !act.Outcome.Took() || act.Correction != nil {
		return AssistedIntake{}, backend.E(backend.KindUnprocessable, "assisted_intake.not_prepared", "the nurse's record of this dose is not a dose given")
	}
	in := AssistedIntake{ID: uuid.New(), AdministrationID: act.ID, ResidentID: act.ResidentID, Outcome: outcome,
		Notes: notes, RecordedBy: a.StaffID, RecordedAt: s.now()}
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		if err := tx.InsertAssistedIntake(ctx, a.FacilityID, &in); err != nil {
			if backend.IsCode(err, "duplicate") {
				return backend.E(backend.KindConflict, "assisted_intake.already_recorded", "the intake of this dose is already recorded")
			}
			return err
		}
		return tx.AppendAudit(ctx, audit.By(a, "therapy.assist_intake", "administration", act.ID.String(), act.ResidentID, audit.Success))
	})
	return in, err
}

// Recalls lists who received a batch, across the facility.
func (s *Service) Recalls(ctx context.Context, a *backend.Actor, q RecallQuery) ([]RecallHit, error) {
	if !access.Can(a, access.ReadRecalls) {
		return nil, backend.E(backend.KindForbidden, backend.CodeForbidden)
	}
	q.Batch = strings.TrimSpace(q.Batch)
	switch {
	case q.Batch == "" || len(q.Batch) > 20:
		return nil, backend.Invalid("recall.batch_required", "batch", "the batch (lotto), as printed on the pack")
	case q.GTIN == "" && q.AIC == "":
		return nil, backend.Invalid("recall.product_required", "gtin", "the GTIN or the AIC of the product")
	}
	if q.GTIN != "" {
		g, err := codes.NormalizeGTIN(q.GTIN)
		if err != nil {
			return nil, err
		}
		q.GTIN = g
	}
	if q.AIC != "" {
		aic, err := codes.ParseAIC(q.AIC)
		if err != nil {
			return nil, err
		}
		q.AIC = aic
	}
	hits, err := s.Store.Recalls(ctx, a.FacilityID, q)
	if err != nil {
		return nil, err
	}
	if hits == nil {
		hits = []RecallHit{}
	}
	ev := audit.By(a, "therapy.recall", "batch", q.Batch, uuid.Nil, audit.Success)
	for _, h := range hits {
		if !slices.Contains(ev.ResidentIDs, h.ResidentID) {
			ev.ResidentIDs = append(ev.ResidentIDs, h.ResidentID)
		}
	}
	return hits, s.Store.AppendAudit(ctx, ev)
}
