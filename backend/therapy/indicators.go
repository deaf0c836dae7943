package therapy

import (
	"context"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
)

// WardIndicators are a ward's administration figures for a period: what the
// medical director reads and an inspector asks for.
type WardIndicators struct {
	WardID   uuid.UUID `json:"ward_id"`
	WardCode string    `json:"ward_code"`
	// DosesDue are the scheduled doses due in the period (not cancelled).
	DosesDue int `json:"doses_due"`
	// Outcomes of the acts recorded on them (corrections excluded).
	Given   int `json:"given"`
	Late    int `json:"given_late"`
	Partial int `json:"partial"`
	Refused int `json:"refused"`
	Held    int `json:"held"`
	Omitted int `json:"omitted"`
	// Missed: due, past their missed time, and nothing recorded.
	Missed int `json:"missed"`
	PRN    int `json:"prn_given"`
	// Scan compliance: acts of giving a drug whose pack was scanned, over
	// all such acts (scanned + keyed). The VA used 95% as its baseline.
	Scanned        int            `json:"scanned"`
	Keyed          int            `json:"keyed"`
	KeyedReasons   map[string]int `json:"keyed_reasons"`
	ScanCompliance *float64       `json:"scan_compliance"`
	Overrides      int            `json:"overrides"`
	EnteredInError int            `json:"entered_in_error"`
}

// StaffOverrides counts a staff member's overrides of blocks, per ward.
type StaffOverrides struct {
	StaffID uuid.UUID      `json:"staff_id"`
	Name    string         `json:"name"`
	WardID  uuid.UUID      `json:"ward_id"`
	Count   int            `json:"count"`
	ByBlock map[string]int `json:"by_block"`
}

// Indicators are a facility's administration figures for a period.
type Indicators struct {
	From      time.Time        `json:"from"`
	To        time.Time        `json:"to"`
	Wards     []WardIndicators `json:"wards"`
	Overrides []StaffOverrides `json:"overrides"`
}

// IndicatorStore computes the figures.
type IndicatorStore interface {
	AdministrationIndicators(ctx context.Context, facility uuid.UUID, from, to, now time.Time) (Indicators, error)
}

// Indicators returns scan compliance, outcomes, missed doses and overrides
// per ward (and overrides per person) for [from, to). Counts, no resident
// data; the read is audited.
func (s *Service) Indicators(ctx context.Context, a *backend.Actor, from, to time.Time) (Indicators, error) {
	if !access.Can(a, access.ReadIndicators) {
		return Indicators{}, backend.E(backend.KindForbidden, backend.CodeForbidden)
	}
	if !to.After(from) || to.Sub(from) > 366*24*time.Hour {
		return Indicators{}, backend.Invalid("indicators.invalid_period", "to", "a period of at most a year, to after from")
	}
	st, ok := s.Store.(IndicatorStore)
	if !ok {
		return Indicators{}, backend.Internal(nil, "indicators unsupported by the store")
	}
	ind, err := st.AdministrationIndicators(ctx, a.FacilityID, from, to, s.now())
	if err != nil {
		return ind, err
	}
	for i := range ind.Wards {
		w := &ind.Wards[i]
		if n := w.Scanned + w.Keyed; n > 0 {
			c := float64(w.Scanned) / float64(n)
			w.ScanCompliance = &c
		}
	}
	return ind, s.Store.AppendAudit(ctx, audit.By(a, "therapy.indicators", "facility", a.FacilityID.String(), uuid.Nil, audit.Success))
}
