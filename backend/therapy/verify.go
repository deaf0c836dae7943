package therapy

import (
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Verdicts of a verification.
const (
	VerdictOK    = "ok"
	VerdictWarn  = "warn"
	VerdictBlock = "block"
)

// DoseFacts is a dose near now with its effective act, if any.
type DoseFacts struct {
	Dose Dose
	Act  *Administration
}

// Situation is everything the rights are checked against, gathered by the
// service. Judge is pure, so every rule is tested without a database.
type Situation struct {
	Now time.Time
	// Product is the scanned product; nil when the pack was not scanned
	// (keyed with a reason), then only the prescription is checked.
	Product *Product
	// Expiry of the scanned pack (AI 17), zero when unknown.
	Expiry time.Time
	// Prescriptions are the resident's live prescriptions.
	Prescriptions []Prescription
	// Doses are the resident's scheduled doses from 24 h before now to 24 h
	// after, with their acts.
	Doses []DoseFacts
	// PRNGiven are the times of PRN doses taken in the last 24 h, by
	// prescription series.
	PRNGiven map[uuid.UUID][]time.Time
	// Allergies are the resident's active allergies.
	Allergies []Allergy
	// AwaitingReconciliation: the therapy has not been reconciled since the
	// last admission or return from hospital.
	AwaitingReconciliation bool
	// DoseID is the dose the nurse picked, if any.
	DoseID uuid.UUID
	// DueElsewhere: this product is due now for another resident of the
	// same ward.
	DueElsewhere bool
	Settings     Settings
}

// Verdict is the outcome of the checks.
type Verdict struct {
	Verdict  string   `json:"verdict"`
	Codes    []string `json:"codes"`
	Blocks   []string `json:"blocks"`
	Warnings []string `json:"warnings"`
	// Overridable lists the blocks this facility lets a nurse override
	// with a structured reason; the verdict stays "block" until she does.
	Overridable     []string        `json:"overridable"`
	Prescription    *Prescription   `json:"-"`
	Dose            *Dose           `json:"-"`
	Quantity        decimal.Decimal `json:"-"`
	QuantityUnit    string          `json:"-"`
	WitnessRequired bool            `json:"witness_required"`
}

func (v *Verdict) block(code string) {
	if !slices.Contains(v.Blocks, code) {
		v.Blocks = append(v.Blocks, code)
	}
}

func (v *Verdict) warn(code string) {
	if !slices.Contains(v.Warnings, code) {
		v.Warnings = append(v.Warnings, code)
	}
}

// Judge checks the rights — resident, drug, dose, route, time, allergy,
// expiry — for a pack scanned (or keyed) at a resident's bedside, and picks
// the dose it is for.
func Judge(s Situation) (v Verdict) {
	v = Verdict{Blocks: []string{}, Warnings: []string{}, Overridable: []string{}}
	defer func() { v.finish(s.Settings) }()

	if s.AwaitingReconciliation {
		v.block(BlockAwaitingReconciliation)
	}
	if !s.Expiry.IsZero() && s.Now.After(endOfDay(s.Expiry)) {
		v.block(BlockExpired)
	}

	var matching []Prescription
	for _, p := range s.Prescriptions {
		if s.Product == nil || Matches(p, s.Product) {
			matching = append(matching, p)
		}
	}
	if s.DoseID != uuid.Nil {
		// The nurse picked a dose: its prescription is the only candidate.
		matching = slices.DeleteFunc(matching, func(p Prescription) bool { return !s.doseOf(p) })
		if len(matching) == 0 {
			v.block(BlockWrongDrug)
		}
	}
	if s.Product != nil {
		if allergic(s.Product.Ingredients, s.Allergies) {
			v.block(BlockAllergy)
		}
		if s.Product.LASA {
			v.warn(WarnLASA)
		}
		if s.Product.UnitsPerPack != 1 {
			v.warn(WarnConfirmUnits)
		}
		if s.Product.Withdrawn {
			v.warn(WarnWithdrawn)
		}
		v.WitnessRequired = s.Product.HighAlert
	}
	if len(matching) == 0 {
		if s.DoseID == uuid.Nil {
			switch {
			case s.DueElsewhere:
				v.block(BlockWrongResident)
			case s.anyDueNow():
				v.block(BlockWrongDrug)
			default:
				v.block(BlockNotPrescribed)
			}
		}
		return v
	}
	var active []Prescription
	for _, p := range matching {
		if p.EffectiveStatus(s.Now) == Active {
			active = append(active, p)
		}
	}
	if len(active) == 0 {
		v.block(BlockSuspended)
		return v
	}
	p, dose := s.pick(active)
	v.Prescription, v.Dose = &p, dose
	if s.Product == nil {
		if p.Product != nil && p.Product.HighAlert {
			v.WitnessRequired = true
		}
		if allergic(ingredientsOf(p), s.Allergies) {
			v.block(BlockAllergy)
		}
	}
	if s.Product != nil && !routeFits(s.Product, p.Route) {
		v.block(BlockWrongRoute)
	}
	q, unit, splittable := unitsToGive(p, s.Product)
	v.Quantity, v.QuantityUnit = q, unit
	if !splittable {
		v.block(BlockDoseNotSplittable)
	}

	if p.Schedule.Kind == SchedulePRN {
		s.judgePRN(&v, p)
		return v
	}
	switch {
	case dose == nil && s.recentlyDone(p):
		v.block(BlockAlreadyGiven)
	case dose == nil:
		// Nothing scheduled within a day: the drug is prescribed but not
		// due. Treat as not prescribed for now rather than let it through.
		v.block(BlockNotPrescribed)
	default:
		w := time.Duration(dose.WindowMin) * time.Minute
		switch {
		case s.Now.Before(dose.DueAt.Add(-w)):
			v.warn(WarnEarly)
		case s.Now.After(dose.DueAt.Add(w)):
			v.warn(WarnLate)
		}
	}
	return v
}

func (v *Verdict) finish(set Settings) {
	switch {
	case len(v.Blocks) > 0:
		v.Verdict = VerdictBlock
	case len(v.Warnings) > 0:
		v.Verdict = VerdictWarn
	default:
		v.Verdict = VerdictOK
	}
	v.Codes = append(append([]string{}, v.Blocks...), v.Warnings...)
	v.Overridable = []string{}
	for _, b := range v.Blocks {
		if slices.Contains(set.Overridable, b) && !slices.Contains(neverOverridable, b) {
			v.Overridable = append(v.Overridable, b)
		}
	}
}

func endOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 23, 59, 59, 0, t.Location())
}

func (s Situation) doseOf(p Prescription) bool {
	for _, d := range s.Doses {
		if d.Dose.ID == s.DoseID && d.Dose.PrescriptionID == p.ID {
			return true
		}
	}
	return false
}

// anyDueNow reports whether the resident has a dose waiting now (due, late,
// or within the next hour).
func (s Situation) anyDueNow() bool {
	for _, d := range s.Doses {
		st := StateOf(d.Dose, d.Act, s.Now)
		if st == StateDue || st == StateLate || (st == StateEarly && d.Dose.DueAt.Sub(s.Now) <= time.Hour) {
			return true
		}
	}
	return false
}

// pick chooses the prescription and open dose a scan is for: the dose the
// nurse picked, else the open dose nearest to now among the matching
// prescriptions (scheduled before PRN), not yet missed or due within 12 h.
func (s Situation) pick(active []Prescription) (Prescription, *Dose) {
	var best *Dose
	var bestP Prescription
	var bestDist time.Duration
	for _, p := range active {
		for i := range s.Doses {
			d := &s.Doses[i]
			if d.Dose.PrescriptionID != p.ID || (s.DoseID != uuid.Nil && d.Dose.ID != s.DoseID) {
				continue
			}
			st := StateOf(d.Dose, d.Act, s.Now)
			if !st.Open() {
				continue
			}
			if s.DoseID == uuid.Nil && (st == StateMissed || d.Dose.DueAt.Sub(s.Now) > 12*time.Hour) {
				continue
			}
			dist := d.Dose.DueAt.Sub(s.Now).Abs()
			if best == nil || dist < bestDist {
				dd := d.Dose
				best, bestP, bestDist = &dd, p, dist
			}
		}
	}
	if best != nil {
		return bestP, best
	}
	for _, p := range active {
		if p.Schedule.Kind == SchedulePRN {
			return p, nil
		}
	}
	return active[0], nil
}

// recentlyDone reports whether a dose of p whose window holds now already
// has an act: scanning it again is a double dose in the making.
func (s Situation) recentlyDone(p Prescription) bool {
	for _, d := range s.Doses {
		if d.Dose.PrescriptionID != p.ID || d.Act == nil {
			continue
		}
		if s.DoseID != uuid.Nil && d.Dose.ID == s.DoseID {
			return true
		}
		w := time.Duration(d.Dose.WindowMin) * time.Minute
		if !s.Now.Before(d.Dose.DueAt.Add(-w)) && s.Now.Before(d.Dose.MissedAt) {
			return true
		}
	}
	return false
}

func (s Situation) judgePRN(v *Verdict, p Prescription) {
	if p.PRN == nil {
		return
	}
	given := s.PRNGiven[p.SeriesID]
	var last time.Time
	n := 0
	for _, t := range given {
		if s.Now.Sub(t) < 24*time.Hour && !t.After(s.Now) {
			n++
			if t.After(last) {
				last = t
			}
		}
	}
	switch {
	case n >= p.PRN.MaxPer24h:
		v.block(BlockPRNLimit)
	case !last.IsZero() && s.Now.Sub(last) < time.Duration(p.PRN.MinIntervalMin)*time.Minute:
		v.block(BlockPRNInterval)
	case n == p.PRN.MaxPer24h-1:
		v.warn(WarnPRNNearLimit)
	}
}
