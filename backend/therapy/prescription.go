package therapy

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Status is where a prescription version stands.
type Status string

const (
	Active         Status = "active"
	Suspended      Status = "suspended"
	Superseded     Status = "superseded" // replaced by a newer version, still readable
	Discontinued   Status = "discontinued"
	EnteredInError Status = "entered_in_error"
)

// PRN are the limits of an "as needed" prescription. Raccomandazione 18: no
// "al bisogno" without an indication.
type PRN struct {
	Indication     string `json:"indication"`
	MinIntervalMin int    `json:"min_interval_min"`
	MaxPer24h      int    `json:"max_per_24h"`
	// CheckAfterMin: the effectiveness check is due this long after a dose
	// (0: no check).
	CheckAfterMin int `json:"check_after_min,omitempty"`
}

// Ingredient names the drug when the physician prescribes by active
// ingredient and strength: any product with exactly that single ingredient
// and strength is then the right drug.
type Ingredient struct {
	ATC      string          `json:"atc"`
	Name     string          `json:"name,omitempty"`
	Strength decimal.Decimal `json:"strength"`
	Unit     string          `json:"unit"`
}

// Order is what a physician writes: a new prescription, or a new version of
// one.
type Order struct {
	ProductID    uuid.UUID       `json:"product_id"`
	Ingredient   *Ingredient     `json:"ingredient,omitempty"`
	Dose         decimal.Decimal `json:"dose"`
	DoseUnit     string          `json:"dose_unit"`
	Route        string          `json:"route"`
	Schedule     Schedule        `json:"schedule"`
	PRN          *PRN            `json:"prn,omitempty"`
	StartsAt     time.Time       `json:"starts_at"`
	EndsAt       time.Time       `json:"ends_at"`
	Instructions string          `json:"instructions"`
	TimeCritical bool            `json:"time_critical"`
}

// Prescription is one version of a prescription on the therapy sheet.
type Prescription struct {
	Order
	ID             uuid.UUID `json:"id"`
	FacilityID     uuid.UUID `json:"-"`
	SeriesID       uuid.UUID `json:"series_id"`
	Supersedes     uuid.UUID `json:"supersedes"`
	ResidentID     uuid.UUID `json:"resident_id"`
	Status         Status    `json:"status"`
	StatusReason   string    `json:"status_reason"`
	SuspendedUntil time.Time `json:"suspended_until"`
	PrescribedBy   uuid.UUID `json:"prescribed_by"`
	PrescribedAt   time.Time `json:"prescribed_at"`
	Version        int       `json:"version"`
	// Product is the prescribed product, or nil when prescribed by
	// ingredient.
	Product *Product `json:"product,omitempty"`
}

// Product is what the therapy rules need to know of a catalogue product.
type Product struct {
	ID           uuid.UUID           `json:"id"`
	AIC          string              `json:"aic,omitempty"`
	GTIN         string              `json:"gtin,omitempty"`
	Name         string              `json:"name"`
	Form         string              `json:"form"`
	Routes       []string            `json:"routes"`
	UnitsPerPack int                 `json:"units_per_pack,omitempty"`
	HighAlert    bool                `json:"high_alert"`
	LASA         bool                `json:"lasa"`
	DoNotCrush   bool                `json:"do_not_crush"`
	TimeCritical bool                `json:"time_critical"`
	Withdrawn    bool                `json:"withdrawn"`
	Ingredients  []ProductIngredient `json:"ingredients"`
}

// ProductIngredient is one active ingredient of a product.
type ProductIngredient struct {
	Name     string          `json:"name"`
	ATC      string          `json:"atc"`
	Strength decimal.Decimal `json:"strength"` // zero when unknown
	Unit     string          `json:"unit"`
}

// EffectiveStatus is the status at now: a suspension with an end date is
// over once that date has passed, without anyone having to resume it.
func (p Prescription) EffectiveStatus(now time.Time) Status {
	if p.Status == Suspended && !p.SuspendedUntil.IsZero() && !now.Before(p.SuspendedUntil) {
		return Active
	}
	if p.Status == Active && !p.EndsAt.IsZero() && !now.Before(p.EndsAt) {
		return Discontinued
	}
	return p.Status
}

// Live reports whether the prescription still governs the therapy (it may be
// suspended for a while).
func (p Prescription) Live() bool { return p.Status == Active || p.Status == Suspended }

// HighAlert reports whether giving it needs an independent double check.
func (p Prescription) HighAlert() bool { return p.Product != nil && p.Product.HighAlert }

// DoseUnits is the vocabulary of dose units: unambiguous, no "½" (Racc. 18).
var DoseUnits = []string{"tablet", "capsule", "mL", "drop", "mg", "mcg", "g", "UI", "puff", "patch", "sachet",
	"suppository", "application", "vial", "ampoule"}

// Routes is the vocabulary of routes of administration.
var Routes = []string{"oral", "sublingual", "subcutaneous", "intramuscular", "intravenous", "transdermal", "rectal",
	"inhalation", "topical", "ophthalmic", "otic", "nasal", "enteral_tube", "vaginal"}

// routeAliases maps the short forms found in catalogue data to Routes.
var routeAliases = map[string]string{"sc": "subcutaneous", "im": "intramuscular", "iv": "intravenous",
	"os": "oral", "per_os": "oral", "sl": "sublingual", "peg": "enteral_tube", "sng": "enteral_tube"}

// CanonicalRoute returns the canonical name of a route, or "" if unknown.
func CanonicalRoute(r string) string {
	r = strings.ToLower(strings.TrimSpace(r))
	if a, ok := routeAliases[r]; ok {
		return a
	}
	for _, x := range Routes {
		if x == r {
			return x
		}
	}
	return ""
}

// routeFits reports whether a product may be given by route. A product
// with no routes listed fits any.
func routeFits(p *Product, route string) bool {
	if p == nil || len(p.Routes) == 0 {
		return true
	}
	for _, r := range p.Routes {
		if CanonicalRoute(r) == route {
			return true
		}
		// Tablets and drops given orally may go down a feeding tube when
		// they may be crushed or dispersed.
		if route == "enteral_tube" && CanonicalRoute(r) == "oral" && !p.DoNotCrush {
			return true
		}
	}
	return false
}

var quarter = decimal.RequireFromString("0.25")

// maxText bounds free text fields.
const maxText = 2000

func textOK(s string, max int) bool {
	return utf8.ValidString(s) && len(s) <= max && !strings.ContainsRune(s, 0)
}

// Validate checks an order's shape; product existence and route fit are
// checked by the service, which knows the catalogue.
func (o *Order) Validate() error {
	o.Route = CanonicalRoute(o.Route)
	switch {
	case (o.ProductID == uuid.Nil) == (o.Ingredient == nil):
		return backend.Invalid("prescription.drug_required", "product_id", "prescribe either a product or an active ingredient with its strength")
	case o.Ingredient != nil && !atcLevel5.MatchString(o.Ingredient.ATC):
		return backend.Invalid("prescription.invalid_atc", "ingredient.atc", "an ATC code of level 5, e.g. N02BE01")
	case o.Ingredient != nil && !o.Ingredient.Strength.IsPositive():
		return backend.Invalid("prescription.invalid_strength", "ingredient.strength", "the strength must be a positive decimal")
	case o.Ingredient != nil && (o.Ingredient.Unit == "" || !textOK(o.Ingredient.Unit, 20) || !textOK(o.Ingredient.Name, 200)):
		return backend.Invalid("prescription.invalid_strength", "ingredient.unit", "the strength needs a unit")
	case !o.Dose.IsPositive() || o.Dose.GreaterThan(decimal.NewFromInt(100000)) || o.Dose.Exponent() < -4:
		return backend.Invalid("prescription.invalid_dose", "dose", "the dose must be a positive decimal (at most 4 decimals)")
	case !contains(DoseUnits, o.DoseUnit):
		return backend.Invalid("prescription.invalid_dose_unit", "dose_unit", "unknown dose unit; one of "+strings.Join(DoseUnits, ", "))
	case o.DoseUnit == "tablet" && !o.Dose.Mod(quarter).IsZero():
		return backend.Invalid("prescription.invalid_dose", "dose", "tablets are split on the score line, not below a quarter")
	case o.DoseUnit == "capsule" && !o.Dose.Equal(o.Dose.Truncate(0)):
		return backend.Invalid("prescription.invalid_dose", "dose", "capsules are not split")
	case o.Route == "":
		return backend.Invalid("prescription.invalid_route", "route", "unknown route; one of "+strings.Join(Routes, ", "))
	case !textOK(o.Instructions, maxText):
		return backend.Invalid("prescription.invalid_instructions", "instructions", "instructions are at most 2000 characters of text")
	case !o.EndsAt.IsZero() && !o.EndsAt.After(o.StartsAt):
		return backend.Invalid("prescription.invalid_period", "ends_at", "the end must come after the start")
	}
	if err := o.Schedule.Validate(); err != nil {
		return err
	}
	o.Schedule = o.Schedule.Normalised()
	isPRN := o.Schedule.Kind == SchedulePRN
	switch {
	case isPRN && o.PRN == nil:
		return backend.Invalid("prescription.prn_incomplete", "prn", "an as-needed prescription needs its indication, minimum interval and maximum per 24 h")
	case !isPRN && o.PRN != nil:
		return backend.Invalid("prescription.prn_unexpected", "prn", "PRN limits belong to a schedule of kind prn")
	}
	if o.PRN != nil {
		p := o.PRN
		p.Indication = strings.TrimSpace(p.Indication)
		switch {
		case p.Indication == "" || !textOK(p.Indication, 300):
			return backend.Invalid("prescription.prn_incomplete", "prn.indication", "state what the as-needed dose is for")
		case p.MinIntervalMin < 15 || p.MinIntervalMin > 7*24*60:
			return backend.Invalid("prescription.prn_incomplete", "prn.min_interval_min", "minimum interval between 15 minutes and 7 days")
		case p.MaxPer24h < 1 || p.MaxPer24h > 24:
			return backend.Invalid("prescription.prn_incomplete", "prn.max_per_24h", "maximum doses per 24 h between 1 and 24")
		case p.CheckAfterMin < 0 || p.CheckAfterMin > 24*60:
			return backend.Invalid("prescription.prn_incomplete", "prn.check_after_min", "the effectiveness check is due within 24 h")
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
