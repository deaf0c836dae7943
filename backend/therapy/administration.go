package therapy

import (
	"slices"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Administration is one act on a dose (or a PRN dose), as recorded. It is
// never edited: a mistake is corrected by an entered-in-error Correction.
type Administration struct {
	ID               uuid.UUID       `json:"id"`
	DoseID           uuid.UUID       `json:"dose_id"`
	Attempt          int             `json:"attempt"`
	PrescriptionID   uuid.UUID       `json:"prescription_id"`
	SeriesID         uuid.UUID       `json:"-"`
	ResidentID       uuid.UUID       `json:"resident_id"`
	Outcome          Outcome         `json:"outcome"`
	Quantity         decimal.Decimal `json:"quantity"`
	QuantityUnit     string          `json:"quantity_unit"`
	Reason           string          `json:"reason"`
	AdministeredAt   time.Time       `json:"administered_at"`
	RecordedAt       time.Time       `json:"recorded_at"`
	RecordedBy       uuid.UUID       `json:"recorded_by"`
	RecordedByName   string          `json:"recorded_by_name"`
	DeviceID         uuid.UUID       `json:"device_id"`
	WitnessID        uuid.UUID       `json:"witness_id"`
	ProductID        uuid.UUID       `json:"product_id"`
	Scan             string          `json:"scan"`
	UnableToScan     string          `json:"unable_to_scan"`
	ScannedWristband string          `json:"-"`
	ScannedPack      string          `json:"-"`
	VerificationID   uuid.UUID       `json:"verification_id"`
	GTIN             string          `json:"gtin"`
	AIC              string          `json:"aic"`
	Batch            string          `json:"batch"`
	Expiry           time.Time       `json:"expiry"`
	AlteredForm      string          `json:"altered_form"`
	PRNIndication    string          `json:"prn_indication"`
	Warnings         []string        `json:"warnings"`
	Overridden       []string        `json:"overridden"`
	OverrideReason   string          `json:"override_reason"`
	OverrideNote     string          `json:"override_note"`
	Notes            string          `json:"notes"`
	Correction       *Correction     `json:"correction,omitempty"`
	Check            *PRNCheck       `json:"effectiveness,omitempty"`
}

// Correction marks an act entered in error.
type Correction struct {
	ID         uuid.UUID `json:"id"`
	Reason     string    `json:"reason"`
	RecordedBy uuid.UUID `json:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at"`
}

// PRNCheck is the effectiveness check of a PRN dose.
type PRNCheck struct {
	ID         uuid.UUID `json:"id"`
	Effective  string    `json:"effective"`
	Notes      string    `json:"notes"`
	RecordedBy uuid.UUID `json:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at"`
}

// Scan modes of an administration.
const (
	ScanScanned     = "scanned"      // the pack (and the resident) were scanned and checked
	ScanKeyed       = "keyed"        // unable to scan, with a reason: counts against scan compliance
	ScanNotRequired = "not_required" // nothing was given (refused, held, omitted)
)

// UnableToScanReasons are the reasons a nurse may give for not scanning.
var UnableToScanReasons = []string{"wristband_damaged", "wristband_missing", "pack_without_barcode",
	"barcode_unreadable", "scanner_unavailable", "emergency"}

// AlteredForms are the ways a solid form may be altered before giving it.
var AlteredForms = []string{"none", "crushed", "dispersed", "opened", "split"}

// EffectivenessValues are the outcomes of a PRN effectiveness check.
var EffectivenessValues = []string{"effective", "partly_effective", "not_effective"}

// Witness is the second clinician of a double check, signing on at the
// same tablet with her badge and PIN.
type Witness struct {
	Badge string `json:"badge"`
	PIN   string `json:"pin"`
}

// Override is a nurse's decision to proceed past blocks, with a structured
// reason.
type Override struct {
	Codes  []string `json:"codes"`
	Reason string   `json:"reason"`
	Note   string   `json:"note"`
}

// RecordRequest is a nurse's act on a dose.
type RecordRequest struct {
	DoseID         uuid.UUID       `json:"dose_id"`
	PrescriptionID uuid.UUID       `json:"prescription_id"` // PRN doses, which have no scheduled dose
	Outcome        Outcome         `json:"outcome"`
	Quantity       decimal.Decimal `json:"quantity"`
	AdministeredAt time.Time       `json:"administered_at"`
	Reason         string          `json:"reason"`
	VerificationID uuid.UUID       `json:"verification_id"`
	Wristband      string          `json:"wristband"`
	Barcode        string          `json:"barcode"`
	UnableToScan   string          `json:"unable_to_scan"`
	Batch          string          `json:"batch"`
	Expiry         string          `json:"expiry"` // YYYY-MM-DD, as read from the pack
	Witness        *Witness        `json:"witness"`
	AlteredForm    string          `json:"altered_form"`
	PRNIndication  string          `json:"prn_indication"`
	Override       *Override       `json:"override"`
	Notes          string          `json:"notes"`

	expiry time.Time
}

// Validate checks the request's shape.
func (r *RecordRequest) Validate(now time.Time) error {
	if r.AlteredForm == "" {
		r.AlteredForm = "none"
	}
	r.Reason, r.Notes = strings.TrimSpace(r.Reason), strings.TrimSpace(r.Notes)
	switch {
	case (r.DoseID == uuid.Nil) == (r.PrescriptionID == uuid.Nil):
		return backend.Invalid("administration.target_required", "dose_id", "name the dose (or, for an as-needed dose, the prescription)")
	case !slices.Contains(Outcomes, r.Outcome):
		return backend.Invalid("administration.invalid_outcome", "outcome", "one of given, partial, refused, held, omitted")
	case r.DoseID == uuid.Nil && !r.Outcome.Took():
		return backend.Invalid("administration.invalid_outcome", "outcome", "an as-needed dose is recorded only when given")
	case !r.Outcome.Took() && r.Reason == "":
		return backend.Invalid("administration.reason_required", "reason", "say why the dose was "+string(r.Outcome))
	case r.Outcome == Partial && !r.Quantity.IsPositive():
		return backend.Invalid("administration.quantity_required", "quantity", "a partial dose needs the quantity taken")
	case r.Quantity.IsNegative() || r.Quantity.Exponent() < -4:
		return backend.Invalid("administration.invalid_quantity", "quantity", "a positive decimal")
	case !r.AdministeredAt.IsZero() && r.AdministeredAt.After(now.Add(5*time.Minute)):
		return backend.Invalid("administration.in_future", "administered_at", "an act cannot be recorded ahead of time")
	case !r.AdministeredAt.IsZero() && r.AdministeredAt.Before(now.Add(-24*time.Hour)):
		return backend.Invalid("administration.too_old", "administered_at", "acts older than 24 h are recorded by a physician's note")
	case r.UnableToScan != "" && !slices.Contains(UnableToScanReasons, r.UnableToScan):
		return backend.Invalid("administration.invalid_unable_to_scan", "unable_to_scan", "one of "+strings.Join(UnableToScanReasons, ", "))
	case !slices.Contains(AlteredForms, r.AlteredForm):
		return backend.Invalid("administration.invalid_altered_form", "altered_form", "one of "+strings.Join(AlteredForms, ", "))
	case len(r.Batch) > 20 || !textOK(r.Batch, 20):
		return backend.Invalid("administration.invalid_batch", "batch", "at most 20 characters")
	case !textOK(r.Reason, 500) || !textOK(r.Notes, maxText) || !textOK(r.PRNIndication, 300):
		return backend.Invalid("administration.invalid_text", "notes", "text too long")
	case len(r.Wristband) > 512 || len(r.Barcode) > 512:
		return backend.Invalid("administration.invalid_scan", "barcode", "longer than 512 bytes")
	}
	if r.Expiry != "" {
		t, err := time.Parse(time.DateOnly, r.Expiry)
		if err != nil {
			return backend.Invalid("administration.invalid_expiry", "expiry", "a date, YYYY-MM-DD")
		}
		r.expiry = t
	}
	if o := r.Override; o != nil {
		switch {
		case len(o.Codes) == 0:
			return backend.Invalid("override.codes_required", "override.codes", "name the blocks you override")
		case !slices.Contains(OverrideReasons, o.Reason):
			return backend.Invalid("override.invalid_reason", "override.reason", "one of "+strings.Join(OverrideReasons, ", "))
		case o.Reason == "other" && len(strings.TrimSpace(o.Note)) < 10:
			return backend.Invalid("override.note_required", "override.note", "explain an override for another reason")
		case !textOK(o.Note, 500):
			return backend.Invalid("override.invalid_reason", "override.note", "at most 500 characters")
		}
	}
	return nil
}
