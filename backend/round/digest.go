package round

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/careplan"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/google/uuid"
)

// The shift handover digest: what the incoming shift must know of the last
// one on a ward — the exceptions, each with resident, bed and dose time.

// ShiftLength is the default period of the digest: the last 8 hours.
const ShiftLength = 8 * time.Hour

// MaxDigestPeriod bounds one digest.
const MaxDigestPeriod = 48 * time.Hour

const actionDigest = "round.read_handover"

// DigestItem is one exception. Which fields are set depends on its list:
// dose_id and due_at for scheduled doses, administration_id and the act's
// fields when an act was recorded, check_due_at for effectiveness checks.
type DigestItem struct {
	ResidentID       uuid.UUID          `json:"resident_id"`
	GivenName        string             `json:"given_name"`
	FamilyName       string             `json:"family_name"`
	Bed              string             `json:"bed"`
	Drug             string             `json:"drug"`
	DoseID           *uuid.UUID         `json:"dose_id"`
	DueAt            *time.Time         `json:"due_at"`
	State            *therapy.DoseState `json:"state"`
	AdministrationID *uuid.UUID         `json:"administration_id"`
	Outcome          *therapy.Outcome   `json:"outcome"`
	AdministeredAt   *time.Time         `json:"administered_at"`
	RecordedByName   string             `json:"recorded_by_name"`
	Reason           string             `json:"reason"`
	UnableToScan     string             `json:"unable_to_scan"`
	Overridden       []string           `json:"overridden"`
	OverrideReason   string             `json:"override_reason"`
	CheckDueAt       *time.Time         `json:"check_due_at"`
}

// CareExceptions lists a ward's care tasks due in [from, to) that are late
// or were not done (backend/careplan). It neither decides access nor
// audits: Digest does both.
type CareExceptions interface {
	WardExceptions(ctx context.Context, facility, ward uuid.UUID, from, to time.Time) (late, notDone []careplan.Exception, err error)
}

// DigestCounts counts each list.
type DigestCounts struct {
	Late         int `json:"late"`
	Missed       int `json:"missed"`
	GivenLate    int `json:"given_late"`
	Held         int `json:"held"`
	Refused      int `json:"refused"`
	Omitted      int `json:"omitted"`
	PRNChecksDue int `json:"prn_checks_due"`
	UnableToScan int `json:"unable_to_scan"`
	Overrides    int `json:"overrides"`
	// Care tasks of the PAI.
	CareTasksLate    int `json:"care_tasks_late"`
	CareTasksNotDone int `json:"care_tasks_not_done"`
}

// Digest is a ward's shift handover: the exceptions of [From, To), judged
// at At (the moment of reading). Scheduled doses belong to the period by
// their due time, as-needed doses by when they were given; acts entered in
// error are left out (they are no longer the record). One act may appear in
// several lists (a late dose given without a scan, with an override).
type Digest struct {
	WardID uuid.UUID    `json:"ward_id"`
	From   time.Time    `json:"from"`
	To     time.Time    `json:"to"`
	At     time.Time    `json:"at"`
	Counts DigestCounts `json:"counts"`
	// Late and Missed: doses still without an act, past their window (late)
	// or past the moment they count as missed.
	Late   []DigestItem `json:"late"`
	Missed []DigestItem `json:"missed"`
	// GivenLate: given after the window closed.
	GivenLate []DigestItem `json:"given_late"`
	// Held, Refused, Omitted: not given, with the reason recorded.
	Held    []DigestItem `json:"held"`
	Refused []DigestItem `json:"refused"`
	Omitted []DigestItem `json:"omitted"`
	// PRNChecksDue: as-needed doses given whose effectiveness check is not
	// recorded yet (due already, or later).
	PRNChecksDue []DigestItem `json:"prn_checks_due"`
	// UnableToScan: acts recorded without scanning (keyed), with the reason.
	UnableToScan []DigestItem `json:"unable_to_scan"`
	// Overrides: acts recorded past a block, with the blocks and the reason.
	Overrides []DigestItem `json:"overrides"`
	// CareTasksLate and CareTasksNotDone: the care plan's tasks of the
	// period still not ticked past their window, or ticked not done with
	// the reason.
	CareTasksLate    []careplan.Exception `json:"care_tasks_late"`
	CareTasksNotDone []careplan.Exception `json:"care_tasks_not_done"`
}

func ptr[T any](v T) *T { return &v }

func whoItem(w Who, drug string) DigestItem {
	return DigestItem{ResidentID: w.ResidentID, GivenName: w.GivenName, FamilyName: w.FamilyName, Bed: w.Bed, Drug: drug,
		Overridden: []string{}}
}

// BuildDigest sorts a ward's facts for [from, to) into the digest's lists,
// judging open doses at now.
func BuildDigest(ward uuid.UUID, facts DigestFacts, from, to, now time.Time) Digest {
	d := Digest{WardID: ward, From: from, To: to, At: now, Late: []DigestItem{}, Missed: []DigestItem{},
		GivenLate: []DigestItem{}, Held: []DigestItem{}, Refused: []DigestItem{}, Omitted: []DigestItem{},
		PRNChecksDue: []DigestItem{}, UnableToScan: []DigestItem{}, Overrides: []DigestItem{}}
	for _, o := range facts.Open {
		st := therapy.StateOf(o.Dose, nil, now)
		if st != therapy.StateLate && st != therapy.StateMissed {
			continue
		}
		it := whoItem(o.Who, o.Drug)
		it.DoseID, it.DueAt, it.State = ptr(o.Dose.ID), ptr(o.Dose.DueAt), ptr(st)
		if st == therapy.StateLate {
			d.Late = append(d.Late, it)
		} else {
			d.Missed = append(d.Missed, it)
		}
	}
	for _, x := range facts.Acts {
		it := whoItem(x.Who, x.Drug)
		it.AdministrationID, it.Outcome, it.AdministeredAt = ptr(x.AdministrationID), ptr(x.Outcome), ptr(x.AdministeredAt)
		it.RecordedByName, it.Reason = x.RecordedByName, x.Reason
		if x.Dose != nil {
			st := therapy.StateOf(*x.Dose, &therapy.Administration{Outcome: x.Outcome, AdministeredAt: x.AdministeredAt}, now)
			it.DoseID, it.DueAt, it.State = ptr(x.Dose.ID), ptr(x.Dose.DueAt), ptr(st)
		}
		switch {
		case it.State != nil && *it.State == therapy.StateGivenLate:
			d.GivenLate = append(d.GivenLate, it)
		case x.Outcome == therapy.Held:
			d.Held = append(d.Held, it)
		case x.Outcome == therapy.Refused:
			d.Refused = append(d.Refused, it)
		case x.Outcome == therapy.Omitted:
			d.Omitted = append(d.Omitted, it)
		}
		if x.Dose == nil && x.Outcome.Took() && x.CheckAfterMin > 0 && !x.Checked {
			c := it
			c.CheckDueAt = ptr(x.AdministeredAt.Add(time.Duration(x.CheckAfterMin) * time.Minute))
			d.PRNChecksDue = append(d.PRNChecksDue, c)
		}
		if x.Scan == therapy.ScanKeyed {
			c := it
			c.UnableToScan = x.UnableToScan
			d.UnableToScan = append(d.UnableToScan, c)
		}
		if len(x.Overridden) > 0 {
			c := it
			c.Overridden, c.OverrideReason = slices.Clone(x.Overridden), x.OverrideReason
			d.Overrides = append(d.Overrides, c)
		}
	}
	for _, l := range [][]DigestItem{d.Late, d.Missed, d.GivenLate, d.Held, d.Refused, d.Omitted, d.PRNChecksDue, d.UnableToScan, d.Overrides} {
		sortItems(l)
	}
	d.Counts = DigestCounts{Late: len(d.Late), Missed: len(d.Missed), GivenLate: len(d.GivenLate), Held: len(d.Held),
		Refused: len(d.Refused), Omitted: len(d.Omitted), PRNChecksDue: len(d.PRNChecksDue),
		UnableToScan: len(d.UnableToScan), Overrides: len(d.Overrides)}
	return d
}

// sortItems orders a list by the time it is about (due time, else when
// given), then bed.
func sortItems(l []DigestItem) {
	at := func(it DigestItem) time.Time {
		switch {
		case it.DueAt != nil:
			return *it.DueAt
		case it.AdministeredAt != nil:
			return *it.AdministeredAt
		}
		return time.Time{}
	}
	sort.SliceStable(l, func(i, j int) bool {
		a, b := at(l[i]), at(l[j])
		if !a.Equal(b) {
			return a.Before(b)
		}
		return l[i].Bed < l[j].Bed
	})
}

// residents lists every resident the digest names, for the audit.
func (d Digest) residents() []uuid.UUID {
	var out []uuid.UUID
	for _, l := range [][]DigestItem{d.Late, d.Missed, d.GivenLate, d.Held, d.Refused, d.Omitted, d.PRNChecksDue, d.UnableToScan, d.Overrides} {
		for _, it := range l {
			if !slices.Contains(out, it.ResidentID) {
				out = append(out, it.ResidentID)
			}
		}
	}
	for _, l := range [][]careplan.Exception{d.CareTasksLate, d.CareTasksNotDone} {
		for _, x := range l {
			if !slices.Contains(out, x.ResidentID) {
				out = append(out, x.ResidentID)
			}
		}
	}
	return out
}

// Digest returns the ward's shift handover for [from, to) (zero to: now;
// zero from: one shift before to). Anyone who sees the ward may read it;
// the read is audited naming every resident it shows.
func (s *Service) Digest(ctx context.Context, a *backend.Actor, ward uuid.UUID, from, to time.Time) (Digest, error) {
	now := s.now()
	if to.IsZero() {
		to = now
	}
	if from.IsZero() {
		from = to.Add(-ShiftLength)
	}
	from, to = from.UTC(), to.UTC()
	if !to.After(from) || to.Sub(from) > MaxDigestPeriod {
		return Digest{}, backend.Invalid("handover.invalid_period", "from", "a period of at most 48 hours, to after from")
	}
	if err := s.wardFor(ctx, a, actionDigest, ward, false); err != nil {
		return Digest{}, err
	}
	facts, err := s.Store.DigestFacts(ctx, a.FacilityID, ward, from, to)
	if err != nil {
		return Digest{}, err
	}
	d := BuildDigest(ward, facts, from, to, now)
	d.CareTasksLate, d.CareTasksNotDone = []careplan.Exception{}, []careplan.Exception{}
	if s.Care != nil {
		if d.CareTasksLate, d.CareTasksNotDone, err = s.Care.WardExceptions(ctx, a.FacilityID, ward, from, to); err != nil {
			return Digest{}, err
		}
		d.Counts.CareTasksLate, d.Counts.CareTasksNotDone = len(d.CareTasksLate), len(d.CareTasksNotDone)
	}
	ev := audit.By(a, actionDigest, "ward", ward.String(), uuid.Nil, audit.Success)
	ev.ResidentIDs = d.residents()
	return d, s.Store.AppendAudit(ctx, ev)
}
