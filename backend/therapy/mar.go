package therapy

import (
	"context"
	"sort"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// ProductRef names the drug of a line: the product, or the prescribed
// ingredient and strength (then AIC is nil).
type ProductRef struct {
	ID   *uuid.UUID `json:"id"`
	AIC  *string    `json:"aic"`
	Name string     `json:"name"`
}

// DoseLine is a dose with what the nurse needs to see beside it.
type DoseLine struct {
	DoseID         uuid.UUID        `json:"dose_id"`
	PrescriptionID uuid.UUID        `json:"prescription_id"`
	DueAt          time.Time        `json:"due_at"`
	WindowMin      int              `json:"window_min"`
	MissedAt       time.Time        `json:"missed_at"`
	State          DoseState        `json:"state"`
	CancelReason   string           `json:"cancel_reason,omitempty"`
	Product        ProductRef       `json:"product"`
	Dose           decimal.Decimal  `json:"dose"`
	DoseUnit       string           `json:"dose_unit"`
	Route          string           `json:"route"`
	Instructions   string           `json:"instructions"`
	HighAlert      bool             `json:"high_alert"`
	LASA           bool             `json:"lasa"`
	DoNotCrush     bool             `json:"do_not_crush"`
	TimeCritical   bool             `json:"time_critical"`
	Acts           []Administration `json:"acts"`
}

// PRNLine is a PRN dose given (or entered in error).
type PRNLine struct {
	Administration
	State   DoseState  `json:"state"`
	Product ProductRef `json:"product"`
	// CheckDueAt is when the effectiveness check is due (nil: none asked).
	CheckDueAt *time.Time `json:"check_due_at"`
}

// MAR is a resident's medication administration record for a period.
type MAR struct {
	ResidentID uuid.UUID  `json:"resident_id"`
	From       time.Time  `json:"from"`
	To         time.Time  `json:"to"`
	Doses      []DoseLine `json:"doses"`
	PRN        []PRNLine  `json:"prn"`
}

// MaxMARPeriod bounds one MAR read.
const MaxMARPeriod = 31 * 24 * time.Hour

func refOf(p Prescription) ProductRef {
	if p.Product != nil {
		id, aic := p.Product.ID, p.Product.AIC
		r := ProductRef{ID: &id, Name: p.Product.Name}
		if aic != "" {
			r.AIC = &aic
		}
		return r
	}
	if p.Ingredient != nil {
		name := p.Ingredient.Name
		if name == "" {
			name = p.Ingredient.ATC
		}
		return ProductRef{Name: name + " " + p.Ingredient.Strength.String() + " " + p.Ingredient.Unit}
	}
	return ProductRef{}
}

func lineOf(d Dose, p Prescription, acts []Administration, now time.Time) DoseLine {
	var current *Administration
	for i := range acts {
		if acts[i].Correction == nil {
			current = &acts[i]
		}
	}
	l := DoseLine{DoseID: d.ID, PrescriptionID: d.PrescriptionID, DueAt: d.DueAt, WindowMin: d.WindowMin,
		MissedAt: d.MissedAt, State: StateOf(d, current, now), CancelReason: d.CancelReason, Product: refOf(p),
		Dose: p.Dose, DoseUnit: p.DoseUnit, Route: p.Route, Instructions: p.Instructions, TimeCritical: p.TimeCritical,
		Acts: acts}
	if p.Product != nil {
		l.HighAlert, l.LASA, l.DoNotCrush = p.Product.HighAlert, p.Product.LASA, p.Product.DoNotCrush
		l.TimeCritical = l.TimeCritical || p.Product.TimeCritical
	}
	if l.Acts == nil {
		l.Acts = []Administration{}
	}
	return l
}

// MAR returns the resident's doses due in [from, to) with their states and
// every act on them (corrections included), and the PRN doses given.
func (s *Service) MAR(ctx context.Context, a *backend.Actor, resident uuid.UUID, from, to time.Time) (MAR, error) {
	now := s.now()
	if !to.After(from) || to.Sub(from) > MaxMARPeriod {
		return MAR{}, backend.Invalid("mar.invalid_period", "to", "a period of at most 31 days, to after from")
	}
	_, d, err := s.residentFor(ctx, a, access.ReadResident, resident)
	if err != nil {
		return MAR{}, err
	}
	ps, err := s.Store.Prescriptions(ctx, a.FacilityID, resident, true)
	if err != nil {
		return MAR{}, err
	}
	doses, acts, err := s.Store.Doses(ctx, a.FacilityID, resident, from, to)
	if err != nil {
		return MAR{}, err
	}
	m := MAR{ResidentID: resident, From: from, To: to, Doses: []DoseLine{}, PRN: []PRNLine{}}
	byID := map[uuid.UUID]Prescription{}
	for _, p := range ps {
		byID[p.ID] = p
	}
	actsOf := map[uuid.UUID][]Administration{}
	for _, x := range acts {
		if x.DoseID != uuid.Nil {
			actsOf[x.DoseID] = append(actsOf[x.DoseID], x)
			continue
		}
		p := byID[x.PrescriptionID]
		l := PRNLine{Administration: x, State: StateGiven, Product: refOf(p)}
		if x.Correction != nil {
			l.State = StateEnteredInError
		} else if x.Outcome == Partial {
			l.State = StatePartial
		}
		if p.PRN != nil && p.PRN.CheckAfterMin > 0 {
			t := x.AdministeredAt.Add(time.Duration(p.PRN.CheckAfterMin) * time.Minute)
			l.CheckDueAt = &t
		}
		m.PRN = append(m.PRN, l)
	}
	for _, dd := range doses {
		m.Doses = append(m.Doses, lineOf(dd, byID[dd.PrescriptionID], actsOf[dd.ID], now))
	}
	ev := audit.By(a, "therapy.read_mar", "resident", resident.String(), resident, audit.Success)
	ev.BreakGlass = d.BreakGlass
	return m, s.Store.AppendAudit(ctx, ev)
}

// DueResident is one resident on a ward's due list.
type DueResident struct {
	ResidentID             uuid.UUID  `json:"resident_id"`
	GivenName              string     `json:"given_name"`
	FamilyName             string     `json:"family_name"`
	Bed                    string     `json:"bed"`
	Allergies              bool       `json:"allergies"`
	AwaitingReconciliation bool       `json:"awaiting_reconciliation"`
	Doses                  []DoseLine `json:"doses"`
	Checks                 []PRNLine  `json:"effectiveness_checks"`
}

// DueList is a ward's round at a moment.
type DueList struct {
	WardID    uuid.UUID     `json:"ward_id"`
	At        time.Time     `json:"at"`
	Residents []DueResident `json:"residents"`
}

// Due-list reach: open doses due up to an hour ahead, and those of the
// last 24 h still waiting for an act.
const (
	dueAhead  = time.Hour
	dueBehind = 24 * time.Hour
)

// Due returns the ward's due list at at: every resident with an open dose
// (early within the hour, due, late, missed in the last day) or a PRN
// effectiveness check due, grouped by bed, flagged for allergies and
// awaiting reconciliation.
func (s *Service) Due(ctx context.Context, a *backend.Actor, ward uuid.UUID, at time.Time) (DueList, error) {
	if !access.SeesWard(a, a.FacilityID, ward) {
		return DueList{}, s.denied(ctx, a, access.ReadResident, "ward", ward, uuid.Nil, backend.E(backend.KindNotFound, backend.CodeWardNotFound))
	}
	snap, err := s.Store.Ward(ctx, a.FacilityID, ward, a.StaffID, at.Add(-dueBehind), at.Add(dueAhead))
	if backend.IsKind(err, backend.KindNotFound) {
		return DueList{}, s.denied(ctx, a, access.ReadResident, "ward", ward, uuid.Nil, backend.E(backend.KindNotFound, backend.CodeWardNotFound))
	}
	if err != nil {
		return DueList{}, err
	}
	byID := map[uuid.UUID]Prescription{}
	for _, p := range snap.Prescriptions {
		byID[p.ID] = p
	}
	actsOf := map[uuid.UUID][]Administration{}
	checks := map[uuid.UUID][]PRNLine{}
	for _, x := range snap.Acts {
		if x.DoseID != uuid.Nil {
			actsOf[x.DoseID] = append(actsOf[x.DoseID], x)
			continue
		}
		p, ok := byID[x.PrescriptionID]
		if !ok || x.Correction != nil || x.Check != nil || p.PRN == nil || p.PRN.CheckAfterMin == 0 {
			continue
		}
		due := x.AdministeredAt.Add(time.Duration(p.PRN.CheckAfterMin) * time.Minute)
		if due.After(at.Add(dueAhead)) {
			continue
		}
		checks[x.ResidentID] = append(checks[x.ResidentID], PRNLine{Administration: x, State: StateGiven, Product: refOf(p), CheckDueAt: &due})
	}
	dosesOf := map[uuid.UUID][]DoseLine{}
	for _, d := range snap.Doses {
		p, ok := byID[d.PrescriptionID]
		if !ok {
			continue
		}
		l := lineOf(d, p, actsOf[d.ID], at)
		if !l.State.Open() || (l.State == StateEarly && d.DueAt.After(at.Add(dueAhead))) {
			continue
		}
		dosesOf[d.ResidentID] = append(dosesOf[d.ResidentID], l)
	}
	list := DueList{WardID: ward, At: at, Residents: []DueResident{}}
	var shown []uuid.UUID
	for _, r := range snap.Residents {
		ds, cs := dosesOf[r.ID], checks[r.ID]
		if len(ds) == 0 && len(cs) == 0 {
			continue
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i].DueAt.Before(ds[j].DueAt) })
		if ds == nil {
			ds = []DoseLine{}
		}
		if cs == nil {
			cs = []PRNLine{}
		}
		list.Residents = append(list.Residents, DueResident{ResidentID: r.ID, GivenName: r.GivenName, FamilyName: r.FamilyName,
			Bed: r.BedCode, Allergies: r.AllergyMark, AwaitingReconciliation: r.AwaitingReconciliation, Doses: ds, Checks: cs})
		shown = append(shown, r.ID)
	}
	sort.SliceStable(list.Residents, func(i, j int) bool { return list.Residents[i].Bed < list.Residents[j].Bed })
	ev := audit.By(a, "therapy.read_due", "ward", ward.String(), uuid.Nil, audit.Success)
	ev.ResidentIDs = shown
	return list, s.Store.AppendAudit(ctx, ev)
}
