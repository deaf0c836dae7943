package therapy

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

var (
	t0   = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	dec  = decimal.RequireFromString
	rome = func() *time.Location { l, _ := time.LoadLocation("Europe/Rome"); return l }()
)

func paracetamol500() *Product {
	return &Product{ID: uuid.New(), AIC: "012745093", Name: "TACHIPIRINA 500", Routes: []string{"oral"}, UnitsPerPack: 20,
		Ingredients: []ProductIngredient{{Name: "paracetamolo", ATC: "N02BE01", Strength: dec("500"), Unit: "mg"}}}
}

func prescription(p *Product, sched Schedule) Prescription {
	id := uuid.New()
	return Prescription{Order: Order{ProductID: p.ID, Dose: dec("1"), DoseUnit: "tablet", Route: "oral", Schedule: sched,
		StartsAt: t0.Add(-72 * time.Hour)}, ID: id, SeriesID: id, Status: Active, Product: p}
}

func TestStateOfFollowsTheWindows(t *testing.T) {
	d := Dose{DueAt: t0, WindowMin: 60, MissedAt: t0.Add(2 * time.Hour)}
	for _, c := range []struct {
		at   time.Duration
		want DoseState
	}{{-61 * time.Minute, StateEarly}, {-60 * time.Minute, StateDue}, {0, StateDue}, {60 * time.Minute, StateDue},
		{61 * time.Minute, StateLate}, {119 * time.Minute, StateLate}, {120 * time.Minute, StateMissed}} {
		if got := StateOf(d, nil, t0.Add(c.at)); got != c.want {
			t.Errorf("at %v: %s, want %s", c.at, got, c.want)
		}
	}
	late := &Administration{Outcome: Given, AdministeredAt: t0.Add(61 * time.Minute)}
	onTime := &Administration{Outcome: Given, AdministeredAt: t0.Add(-59 * time.Minute)}
	if StateOf(d, late, t0) != StateGivenLate || StateOf(d, onTime, t0) != StateGiven {
		t.Error("given late / on time")
	}
	if StateOf(Dose{DueAt: t0, WindowMin: 60, MissedAt: t0.Add(time.Hour), Cancelled: true}, nil, t0) != StateCancelled {
		t.Error("cancelled")
	}
	if StateOf(d, &Administration{Outcome: Held}, t0.Add(5*time.Hour)) != StateHeld {
		t.Error("held closes the dose: never missed")
	}
}

func TestWindowsAndMissedTimes(t *testing.T) {
	set := DefaultSettings()
	p := prescription(paracetamol500(), Schedule{Kind: ScheduleTimes, Times: []string{"08:00"}})
	if set.Window(p) != 2*time.Hour {
		t.Error("daily: ±2 h")
	}
	p.Schedule = Schedule{Kind: ScheduleTimes, Times: []string{"08:00", "20:00"}}
	if set.Window(p) != time.Hour {
		t.Error("twice a day: ±1 h")
	}
	p.TimeCritical = true
	if set.Window(p) != 30*time.Minute {
		t.Error("time-critical: ±30 min")
	}
	p.TimeCritical = false
	p.Schedule = Schedule{Kind: ScheduleEveryHours, EveryHours: 3}
	if set.Window(p) != 30*time.Minute {
		t.Error("more often than every 4 h: ±30 min")
	}
	// Missed at window close + window length, or the next dose if sooner.
	p.Schedule = Schedule{Kind: ScheduleEveryHours, EveryHours: 1}
	p.StartsAt = t0
	doses := PlanDoses(p, set, rome, t0, t0.Add(3*time.Hour))
	if len(doses) != 3 || !doses[0].MissedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("hourly: %+v", doses)
	}
	p.Schedule = Schedule{Kind: ScheduleTimes, Times: []string{"08:00"}}
	doses = PlanDoses(p, set, time.UTC, t0, t0.Add(24*time.Hour))
	if len(doses) != 1 || !doses[0].MissedAt.Equal(t0.Add(4*time.Hour)) || doses[0].WindowMin != 120 {
		t.Fatalf("daily: %+v", doses)
	}
	if PlanDoses(prescription(paracetamol500(), Schedule{Kind: SchedulePRN}), set, rome, t0, t0.Add(48*time.Hour)) != nil {
		t.Error("PRN has no scheduled doses")
	}
}

// situation builds a resident with one daily 08:00 paracetamol due at t0.
func situation() (Situation, Prescription, Dose) {
	prod := paracetamol500()
	p := prescription(prod, Schedule{Kind: ScheduleTimes, Times: []string{"08:00"}})
	d := Dose{ID: uuid.New(), PrescriptionID: p.ID, DueAt: t0, WindowMin: 120, MissedAt: t0.Add(4 * time.Hour)}
	return Situation{Now: t0.Add(10 * time.Minute), Product: prod, Prescriptions: []Prescription{p},
		Doses: []DoseFacts{{Dose: d}}, Settings: DefaultSettings()}, p, d
}

func codesOf(v Verdict) []string { return v.Codes }

func TestJudgeTheRights(t *testing.T) {
	s, _, d := situation()
	v := Judge(s)
	if v.Verdict != VerdictWarn || v.Dose == nil || v.Dose.ID != d.ID || !slices.Equal(v.Codes, []string{WarnConfirmUnits}) {
		t.Fatalf("right drug on time: %+v", v)
	}

	other := &Product{ID: uuid.New(), AIC: "015724038", Routes: []string{"oral"}, UnitsPerPack: 1,
		Ingredients: []ProductIngredient{{Name: "digossina", ATC: "C01AA05", Strength: dec("0.125"), Unit: "mg"}}}
	cases := []struct {
		name   string
		change func(*Situation)
		want   string
	}{
		{"another drug while one is due", func(s *Situation) { s.Product = other }, BlockWrongDrug},
		{"another drug, nothing due", func(s *Situation) { s.Product, s.Now = other, t0.Add(10*time.Hour) }, BlockNotPrescribed},
		{"due for a ward mate", func(s *Situation) { s.Product, s.DueElsewhere = other, true }, BlockWrongResident},
		{"allergy by ATC class", func(s *Situation) { s.Allergies = []Allergy{{Substance: "analgesici", ATC: "N02B"}} }, BlockAllergy},
		{"allergy by name", func(s *Situation) { s.Allergies = []Allergy{{Substance: "Paracetamolo"}} }, BlockAllergy},
		{"expired pack", func(s *Situation) { s.Expiry = t0.AddDate(0, 0, -1) }, BlockExpired},
		{"awaiting reconciliation", func(s *Situation) { s.AwaitingReconciliation = true }, BlockAwaitingReconciliation},
		{"suspended", func(s *Situation) { s.Prescriptions[0].Status = Suspended }, BlockSuspended},
		{"already given", func(s *Situation) {
			s.Doses[0].Act = &Administration{Outcome: Given, AdministeredAt: t0}
		}, BlockAlreadyGiven},
		{"early", func(s *Situation) { s.Now = t0.Add(-3 * time.Hour) }, WarnEarly},
		{"late", func(s *Situation) { s.Now = t0.Add(3 * time.Hour) }, WarnLate},
		{"LASA", func(s *Situation) { s.Product.LASA = true }, WarnLASA},
		{"wrong route", func(s *Situation) { s.Prescriptions[0].Route = "subcutaneous" }, BlockWrongRoute},
		{"a dose the nurse picked for another drug", func(s *Situation) { s.DoseID = uuid.New() }, BlockWrongDrug},
	}
	for _, c := range cases {
		s, _, _ := situation()
		c.change(&s)
		v := Judge(s)
		if !slices.Contains(v.Codes, c.want) {
			t.Errorf("%s: codes %v, want %s", c.name, v.Codes, c.want)
		}
		blocking := len(v.Blocks) > 0
		if blocking != (v.Verdict == VerdictBlock) {
			t.Errorf("%s: verdict %s with blocks %v", c.name, v.Verdict, v.Blocks)
		}
	}
	// An expiry later this month is fine; a withdrawn-but-stocked product only warns.
	s, _, _ = situation()
	s.Expiry = t0
	if v := Judge(s); v.Verdict == VerdictBlock {
		t.Errorf("expiring today is not expired: %v", v.Codes)
	}
}

func TestJudgeByIngredientAndSplitting(t *testing.T) {
	s, p, _ := situation()
	// Prescribed as paracetamol 500 mg: any single-ingredient 500 mg
	// product is the right drug, a 1000 mg one is not.
	p.Product, p.ProductID = nil, uuid.Nil
	p.Ingredient = &Ingredient{ATC: "N02BE01", Name: "paracetamolo", Strength: dec("500"), Unit: "mg"}
	s.Prescriptions = []Prescription{p}
	generic := paracetamol500()
	generic.AIC = "099999999"
	s.Product = generic
	if v := Judge(s); v.Verdict == VerdictBlock {
		t.Errorf("equivalent product: %v", v.Codes)
	}
	big := paracetamol500()
	big.Ingredients[0].Strength = dec("1000")
	s.Product = big
	if v := Judge(s); !slices.Contains(v.Codes, BlockWrongDrug) {
		t.Errorf("other strength: %v", v.Codes)
	}

	// A dose in mg converts to tablets; below a quarter is refused.
	s, p, _ = situation()
	p.Dose, p.DoseUnit = dec("250"), "mg"
	s.Prescriptions = []Prescription{p}
	if v := Judge(s); !v.Quantity.Equal(dec("0.5")) || v.QuantityUnit != "unit" || v.Verdict == VerdictBlock {
		t.Errorf("250 mg of a 500 mg tablet: %v %s %v", v.Quantity, v.QuantityUnit, v.Codes)
	}
	p.Dose = dec("100")
	s.Prescriptions = []Prescription{p}
	if v := Judge(s); !slices.Contains(v.Codes, BlockDoseNotSplittable) {
		t.Errorf("100 mg of a 500 mg tablet: %v", v.Codes)
	}
}

func TestJudgePRN(t *testing.T) {
	prod := paracetamol500()
	p := prescription(prod, Schedule{Kind: SchedulePRN})
	p.PRN = &PRN{Indication: "dolore", MinIntervalMin: 360, MaxPer24h: 3}
	s := Situation{Now: t0, Product: prod, Prescriptions: []Prescription{p}, Settings: DefaultSettings(),
		PRNGiven: map[uuid.UUID][]time.Time{}}
	if v := Judge(s); v.Verdict == VerdictBlock || v.Prescription == nil || v.Dose != nil {
		t.Fatalf("first PRN: %+v", v)
	}
	s.PRNGiven[p.SeriesID] = []time.Time{t0.Add(-7 * time.Hour), t0.Add(-14 * time.Hour)}
	if v := Judge(s); !slices.Contains(v.Codes, WarnPRNNearLimit) {
		t.Errorf("last allowed: %v", v.Codes)
	}
	s.PRNGiven[p.SeriesID] = []time.Time{t0.Add(-time.Hour)}
	if v := Judge(s); !slices.Contains(v.Codes, BlockPRNInterval) || !slices.Contains(v.Overridable, BlockPRNInterval) {
		t.Errorf("within interval: %v overridable %v", v.Codes, v.Overridable)
	}
	s.PRNGiven[p.SeriesID] = []time.Time{t0.Add(-7 * time.Hour), t0.Add(-14 * time.Hour), t0.Add(-21 * time.Hour)}
	if v := Judge(s); !slices.Contains(v.Codes, BlockPRNLimit) || slices.Contains(v.Overridable, BlockPRNLimit) {
		t.Errorf("limit: %v overridable %v", v.Codes, v.Overridable)
	}
	// A dose more than 24 h ago no longer counts.
	s.PRNGiven[p.SeriesID] = []time.Time{t0.Add(-25 * time.Hour), t0.Add(-26 * time.Hour), t0.Add(-27 * time.Hour)}
	if v := Judge(s); v.Verdict == VerdictBlock {
		t.Errorf("outside 24 h: %v", v.Codes)
	}
}

func TestHighAlertNeedsWitnessAndOverridesAreBounded(t *testing.T) {
	s, _, _ := situation()
	s.Product.HighAlert = true
	if v := Judge(s); !v.WitnessRequired {
		t.Error("high-alert needs a witness")
	}
	s.Settings.Overridable = []string{BlockWrongResident, BlockAllergy}
	s.Allergies = []Allergy{{ATC: "N02BE"}}
	v := Judge(s)
	if !slices.Equal(v.Overridable, []string{BlockAllergy}) {
		t.Errorf("overridable %v", v.Overridable)
	}
	if err := (Settings{WindowTimeCriticalMin: 30, WindowFrequentMin: 60, WindowDailyMin: 120, HorizonHours: 48,
		Overridable: []string{BlockWrongResident}}).Validate(); err == nil {
		t.Error("wrong_resident must never be overridable")
	}
	if err := checkOverride(v, nil, s.Settings); err == nil {
		t.Error("a block without override passes")
	}
	if err := checkOverride(v, &Override{Codes: []string{BlockAllergy}, Reason: "allergy_known_tolerated"}, s.Settings); err != nil {
		t.Errorf("allowed override refused: %v", err)
	}
}

func TestOrderValidation(t *testing.T) {
	base := func() Order {
		return Order{ProductID: uuid.New(), Dose: dec("1"), DoseUnit: "tablet", Route: "per_os",
			Schedule: Schedule{Kind: ScheduleTimes, Times: []string{"20:00", "08:00"}}, StartsAt: t0}
	}
	o := base()
	if err := o.Validate(); err != nil || o.Route != "oral" || o.Schedule.Times[0] != "08:00" {
		t.Fatalf("valid order: %v %+v", err, o)
	}
	for name, change := range map[string]func(*Order){
		"fifth of a tablet":    func(o *Order) { o.Dose = dec("0.2") },
		"half a capsule":       func(o *Order) { o.DoseUnit, o.Dose = "capsule", dec("0.5") },
		"no drug":              func(o *Order) { o.ProductID = uuid.Nil },
		"both drug kinds":      func(o *Order) { o.Ingredient = &Ingredient{ATC: "N02BE01", Strength: dec("500"), Unit: "mg"} },
		"zero dose":            func(o *Order) { o.Dose = decimal.Zero },
		"unknown unit":         func(o *Order) { o.DoseUnit = "cpr" },
		"unknown route":        func(o *Order) { o.Route = "nose-ish" },
		"prn without limits":   func(o *Order) { o.Schedule = Schedule{Kind: SchedulePRN} },
		"limits on a schedule": func(o *Order) { o.PRN = &PRN{Indication: "x", MinIntervalMin: 60, MaxPer24h: 1} },
		"prn without indication": func(o *Order) {
			o.Schedule, o.PRN = Schedule{Kind: SchedulePRN}, &PRN{MinIntervalMin: 60, MaxPer24h: 2}
		},
		"end before start": func(o *Order) { o.EndsAt = t0.Add(-time.Hour) },
	} {
		o := base()
		change(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	quarter := base()
	quarter.Dose = dec("0.75")
	if err := quarter.Validate(); err != nil {
		t.Errorf("three quarters of a tablet: %v", err)
	}
}
