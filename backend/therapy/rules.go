package therapy

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

var atcLevel5 = regexp.MustCompile(`^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$`)

// Settings is a facility's therapy policy. Defaults follow domain.md "Time
// windows" (ISMP) and are ours to choose; each facility may change them.
type Settings struct {
	WindowTimeCriticalMin int      `json:"window_time_critical_min"`
	WindowFrequentMin     int      `json:"window_frequent_min"`
	WindowDailyMin        int      `json:"window_daily_min"`
	HorizonHours          int      `json:"horizon_hours"`
	OSSAssistedIntake     bool     `json:"oss_assisted_intake"`
	Overridable           []string `json:"overridable_blocks"`
	// EscalateAfterMin: a late-dose alert nobody acknowledged escalates to
	// the physician after this long.
	EscalateAfterMin int `json:"escalate_after_min"`
	Version          int `json:"version"`
}

// DefaultSettings are the settings of a facility that changed none.
func DefaultSettings() Settings {
	return Settings{WindowTimeCriticalMin: 30, WindowFrequentMin: 60, WindowDailyMin: 120, HorizonHours: 48,
		OSSAssistedIntake: true, Overridable: []string{BlockAwaitingReconciliation, BlockPRNInterval}, EscalateAfterMin: 30,
		Version: 1}
}

// Block and warning codes of a verification. They are part of the API.
const (
	BlockWrongResident          = "wrong_resident" // the drug is due for someone else on the ward
	BlockWrongDrug              = "wrong_drug"     // doses are due, none for this drug
	BlockNotPrescribed          = "not_prescribed"
	BlockUnknownProduct         = "unknown_product"
	BlockAllergy                = "allergy"
	BlockExpired                = "expired"
	BlockAlreadyGiven           = "already_given"
	BlockPRNLimit               = "prn_limit"
	BlockPRNInterval            = "prn_interval"
	BlockSuspended              = "prescription_suspended"
	BlockAwaitingReconciliation = "awaiting_reconciliation"
	BlockWrongRoute             = "wrong_route"
	BlockDoseNotSplittable      = "dose_not_splittable"
	BlockDoNotCrush             = "do_not_crush"

	WarnEarly        = "early"
	WarnLate         = "late"
	WarnLASA         = "lasa"
	WarnPRNNearLimit = "prn_near_limit"
	WarnConfirmUnits = "confirm_units"
	WarnWithdrawn    = "product_withdrawn"
	WarnNotScanned   = "not_scanned"
)

// neverOverridable lists blocks no facility may allow past: they mean the
// wrong person, a double dose, a stopped drug or an expired pack.
var neverOverridable = []string{BlockWrongResident, BlockAlreadyGiven, BlockSuspended, BlockExpired, BlockPRNLimit,
	BlockUnknownProduct}

// OverridableBlocks lists the blocks a facility may choose to allow past.
var OverridableBlocks = []string{BlockWrongDrug, BlockNotPrescribed, BlockAllergy, BlockPRNInterval,
	BlockAwaitingReconciliation, BlockWrongRoute, BlockDoseNotSplittable, BlockDoNotCrush}

// OverrideReasons are the structured reasons of an override.
var OverrideReasons = []string{"physician_order", "clinical_emergency", "allergy_known_tolerated",
	"barcode_error", "reconciliation_pending_physician_informed", "other"}

// Validate checks settings an administrator submits.
func (s Settings) Validate() error {
	switch {
	case s.WindowTimeCriticalMin < 5 || s.WindowTimeCriticalMin > 240:
		return backend.Invalid("settings.invalid", "window_time_critical_min", "between 5 and 240 minutes")
	case s.WindowFrequentMin < 5 || s.WindowFrequentMin > 240:
		return backend.Invalid("settings.invalid", "window_frequent_min", "between 5 and 240 minutes")
	case s.WindowDailyMin < 5 || s.WindowDailyMin > 480:
		return backend.Invalid("settings.invalid", "window_daily_min", "between 5 and 480 minutes")
	case s.HorizonHours < 12 || s.HorizonHours > 168:
		return backend.Invalid("settings.invalid", "horizon_hours", "between 12 and 168 hours")
	case s.EscalateAfterMin < 5 || s.EscalateAfterMin > 240:
		return backend.Invalid("settings.invalid", "escalate_after_min", "between 5 and 240 minutes")
	}
	for _, b := range s.Overridable {
		if !slices.Contains(OverridableBlocks, b) {
			return backend.Invalid("settings.not_overridable", "overridable_blocks", b+" can never be overridden")
		}
	}
	return nil
}

// Window is the on-time half-window of p's doses: a dose is on time within
// ±Window of its due time.
func (s Settings) Window(p Prescription) time.Duration {
	critical := p.TimeCritical || (p.Product != nil && p.Product.TimeCritical) ||
		(p.Schedule.Kind == ScheduleEveryHours && p.Schedule.EveryHours < 4)
	switch {
	case critical:
		return time.Duration(s.WindowTimeCriticalMin) * time.Minute
	case p.Schedule.MoreOftenThanDaily():
		return time.Duration(s.WindowFrequentMin) * time.Minute
	}
	return time.Duration(s.WindowDailyMin) * time.Minute
}

// Dose is one scheduled dose.
type Dose struct {
	ID             uuid.UUID `json:"dose_id"`
	PrescriptionID uuid.UUID `json:"prescription_id"`
	ResidentID     uuid.UUID `json:"resident_id"`
	DueAt          time.Time `json:"due_at"`
	WindowMin      int       `json:"window_min"`
	MissedAt       time.Time `json:"missed_at"`
	Cancelled      bool      `json:"-"`
	CancelReason   string    `json:"cancel_reason,omitempty"`
}

// PlanDoses lists the doses p's schedule puts in [from, to), each with its
// window and the moment it becomes missed: its window's close plus the
// window's length, or the next dose of the same prescription, whichever
// comes first (domain.md).
func PlanDoses(p Prescription, s Settings, loc *time.Location, from, to time.Time) []Dose {
	if p.Schedule.Kind == SchedulePRN {
		return nil
	}
	w := s.Window(p)
	times := p.Schedule.Expand(loc, p.StartsAt, p.EndsAt, from, to.Add(2*w+time.Second))
	var out []Dose
	for i, t := range times {
		if !t.Before(to) {
			break
		}
		missed := t.Add(2 * w)
		if i+1 < len(times) && times[i+1].Before(missed) {
			missed = times[i+1]
		}
		out = append(out, Dose{ID: uuid.New(), PrescriptionID: p.ID, ResidentID: p.ResidentID, DueAt: t,
			WindowMin: int(w / time.Minute), MissedAt: missed})
	}
	return out
}

// Outcome is what happened to a dose at the bedside.
type Outcome string

const (
	Given   Outcome = "given"
	Partial Outcome = "partial"
	Refused Outcome = "refused"
	Held    Outcome = "held"
	Omitted Outcome = "omitted"
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{Given, Partial, Refused, Held, Omitted}

// Took reports whether the resident received (some of) the drug.
func (o Outcome) Took() bool { return o == Given || o == Partial }

// DoseState is a dose's state on the MAR and the due list.
type DoseState string

const (
	StateEarly          DoseState = "early" // not yet in its window
	StateDue            DoseState = "due"
	StateLate           DoseState = "late" // past its window, not yet missed
	StateMissed         DoseState = "missed"
	StateGiven          DoseState = "given"
	StateGivenLate      DoseState = "given_late"
	StatePartial        DoseState = "partial"
	StateRefused        DoseState = "refused"
	StateHeld           DoseState = "held"
	StateOmitted        DoseState = "omitted"
	StateCancelled      DoseState = "cancelled" // removed by a change to the prescription
	StateEnteredInError DoseState = "entered_in_error"
)

// Open reports whether a dose in this state still waits for an act.
func (s DoseState) Open() bool {
	return s == StateEarly || s == StateDue || s == StateLate || s == StateMissed
}

// StateOf is the state of d at now given its effective act (nil if none).
func StateOf(d Dose, act *Administration, now time.Time) DoseState {
	if act != nil {
		switch act.Outcome {
		case Given:
			if act.AdministeredAt.After(d.DueAt.Add(time.Duration(d.WindowMin) * time.Minute)) {
				return StateGivenLate
			}
			return StateGiven
		case Partial:
			return StatePartial
		case Refused:
			return StateRefused
		case Held:
			return StateHeld
		case Omitted:
			return StateOmitted
		}
	}
	if d.Cancelled {
		return StateCancelled
	}
	w := time.Duration(d.WindowMin) * time.Minute
	switch {
	case now.Before(d.DueAt.Add(-w)):
		return StateEarly
	case !now.After(d.DueAt.Add(w)):
		return StateDue
	case now.Before(d.MissedAt):
		return StateLate
	}
	return StateMissed
}

// Allergy is what the rules need to know of an active allergy.
type Allergy struct {
	Substance string
	ATC       string // any level, e.g. J01C for all penicillins
}

// allergic reports whether any ingredient hits an allergy: by ATC (the
// allergy's code is a prefix of the ingredient's: a class matches its
// members) or by name.
func allergic(ings []ProductIngredient, allergies []Allergy) bool {
	for _, in := range ings {
		for _, a := range allergies {
			if a.ATC != "" && in.ATC != "" && strings.HasPrefix(in.ATC, a.ATC) {
				return true
			}
			sub, name := strings.ToLower(strings.TrimSpace(a.Substance)), strings.ToLower(in.Name)
			if sub != "" && name != "" && (sub == name || strings.Contains(name, sub) || strings.Contains(sub, name)) {
				return true
			}
		}
	}
	return false
}

// ingredientsOf is what p gives: the product's ingredients, or the
// prescribed ingredient.
func ingredientsOf(p Prescription) []ProductIngredient {
	if p.Product != nil {
		return p.Product.Ingredients
	}
	if p.Ingredient != nil {
		return []ProductIngredient{{Name: p.Ingredient.Name, ATC: p.Ingredient.ATC, Strength: p.Ingredient.Strength, Unit: p.Ingredient.Unit}}
	}
	return nil
}

// Matches reports whether product is the right drug for p: the prescribed
// product itself (same id, AIC or GTIN), or, for a prescription by
// ingredient, a product with exactly that one ingredient and strength.
func Matches(p Prescription, product *Product) bool {
	if product == nil {
		return false
	}
	if p.Product != nil {
		return p.Product.ID == product.ID || (p.Product.AIC != "" && p.Product.AIC == product.AIC) ||
			(p.Product.GTIN != "" && p.Product.GTIN == product.GTIN)
	}
	if p.Ingredient == nil || len(product.Ingredients) != 1 {
		return false
	}
	in := product.Ingredients[0]
	return in.ATC == p.Ingredient.ATC && in.Strength.Equal(p.Ingredient.Strength) &&
		strings.EqualFold(in.Unit, p.Ingredient.Unit)
}

// unitsToGive converts the prescribed dose into pack units when the dose is
// written in the ingredient's unit (1000 mg of a 500 mg tablet = 2), or
// returns the dose itself.
func unitsToGive(p Prescription, product *Product) (decimal.Decimal, string, bool) {
	if product != nil && len(product.Ingredients) == 1 {
		in := product.Ingredients[0]
		if in.Strength.IsPositive() && strings.EqualFold(in.Unit, p.DoseUnit) {
			q := p.Dose.Div(in.Strength)
			return q, "unit", q.Mod(quarter).IsZero()
		}
	}
	return p.Dose, p.DoseUnit, true
}
