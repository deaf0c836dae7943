package round

import (
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/google/uuid"
)

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func dose(resident uuid.UUID, due time.Time, window int) therapy.Dose {
	w := time.Duration(window) * time.Minute
	return therapy.Dose{ID: uuid.New(), PrescriptionID: uuid.New(), ResidentID: resident, DueAt: due, WindowMin: window,
		MissedAt: due.Add(2 * w)}
}

// Progress: done is any act (given or not), left is open on the ward,
// cancelled and away are neither; residents by bed, doses by time.
func TestBuildCountsProgress(t *testing.T) {
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	cancelled := dose(b, t0, 60)
	cancelled.Cancelled = true
	items := []Item{
		{Dose: dose(a, t0.Add(30*time.Minute), 60), Bed: "X02", OnWard: true},
		{Dose: dose(a, t0, 60), Bed: "X02", OnWard: true, Act: &Act{ID: uuid.New(), Outcome: therapy.Given, AdministeredAt: t0.Add(5 * time.Minute)}},
		{Dose: dose(b, t0, 60), Bed: "X01", OnWard: true, Act: &Act{ID: uuid.New(), Outcome: therapy.Refused, Reason: "rifiuta", AdministeredAt: t0}},
		{Dose: cancelled, Bed: "X01", OnWard: true},
		{Dose: dose(c, t0, 60), Bed: "X03", OnWard: false},
	}
	v := Build(Round{ID: uuid.New(), State: Active, Version: 1}, items, nil, t0.Add(10*time.Minute))
	want := Progress{Doses: 5, Done: 2, Left: 1, Cancelled: 1, Away: 1}
	if v.Progress != want {
		t.Fatalf("progress %+v, want %+v", v.Progress, want)
	}
	if len(v.Residents) != 3 || v.Residents[0].Bed != "X01" || v.Residents[2].Bed != "X03" {
		t.Fatalf("residents by bed: %+v", v.Residents)
	}
	ra := v.Residents[1]
	if ra.Progress != (Progress{Doses: 2, Done: 1, Left: 1}) || !ra.Doses[0].DueAt.Equal(t0) ||
		ra.Doses[0].State != therapy.StateGiven || ra.Doses[1].State != therapy.StateDue || ra.Doses[1].Act != nil {
		t.Fatalf("resident a: %+v", ra)
	}
	if st := v.Residents[0].Doses; st[0].State != therapy.StateRefused && st[1].State != therapy.StateRefused {
		t.Fatalf("resident b: %+v", st)
	}
	if left := Left(items); len(left) != 1 || left[0].Dose.ID != items[0].Dose.ID {
		t.Fatalf("left: %+v", left)
	}
	if v.Events == nil || v.FinishedAt != nil {
		t.Fatal("events must be a list and an open round has no finish")
	}
}

// Each fact lands in its lists: open doses by their state at the moment of
// reading, acts by outcome, scan and override, PRN doses by their check.
func TestBuildDigestSortsExceptions(t *testing.T) {
	now := t0.Add(3 * time.Hour)
	who := Who{ResidentID: uuid.New(), Bed: "X01"}
	late := dose(who.ResidentID, now.Add(-90*time.Minute), 60)    // window closed 30 min ago, missed in 30
	missed := dose(who.ResidentID, now.Add(-150*time.Minute), 60) // missed 30 min ago
	due := dose(who.ResidentID, now.Add(-10*time.Minute), 60)     // not an exception
	givenLate := dose(who.ResidentID, now.Add(-2*time.Hour), 60)
	onTime := dose(who.ResidentID, now.Add(-time.Hour), 60)
	facts := DigestFacts{
		Open: []OpenDose{{Who: who, Dose: late}, {Who: who, Dose: missed}, {Who: who, Dose: due}},
		Acts: []ActFact{
			{Who: who, Dose: &givenLate, Outcome: therapy.Given, AdministeredAt: now, Scan: therapy.ScanKeyed, UnableToScan: "wristband_damaged"},
			{Who: who, Dose: &onTime, Outcome: therapy.Given, AdministeredAt: onTime.DueAt, Scan: therapy.ScanScanned,
				Overridden: []string{"allergy"}, OverrideReason: "allergy_known_tolerated"},
			{Who: who, Dose: &due, Outcome: therapy.Held, Reason: "PA bassa", Scan: therapy.ScanNotRequired},
			{Who: who, Outcome: therapy.Given, AdministeredAt: now.Add(-time.Hour), Scan: therapy.ScanScanned, CheckAfterMin: 30},
			{Who: who, Outcome: therapy.Given, AdministeredAt: now.Add(-time.Hour), Scan: therapy.ScanScanned, CheckAfterMin: 30, Checked: true},
		},
	}
	d := BuildDigest(uuid.New(), facts, now.Add(-8*time.Hour), now, now)
	want := DigestCounts{Late: 1, Missed: 1, GivenLate: 1, Held: 1, PRNChecksDue: 1, UnableToScan: 1, Overrides: 1}
	if d.Counts != want {
		t.Fatalf("counts %+v, want %+v", d.Counts, want)
	}
	if *d.Late[0].DoseID != late.ID || *d.Missed[0].DoseID != missed.ID || *d.GivenLate[0].DoseID != givenLate.ID {
		t.Fatal("wrong dose in a list")
	}
	if d.Held[0].Reason != "PA bassa" || d.UnableToScan[0].UnableToScan != "wristband_damaged" ||
		d.Overrides[0].OverrideReason != "allergy_known_tolerated" || len(d.Overrides[0].Overridden) != 1 {
		t.Fatalf("details: %+v", d)
	}
	if c := d.PRNChecksDue[0]; c.CheckDueAt == nil || !c.CheckDueAt.Equal(now.Add(-30*time.Minute)) || c.DoseID != nil {
		t.Fatalf("prn check: %+v", c)
	}
	if d.Refused == nil || d.Omitted == nil {
		t.Fatal("empty lists must be lists")
	}
}
