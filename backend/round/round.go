// Package round is the drug round (giro terapia) and the shift handover
// digest. A round is a ward's live checklist for a time slot — the 08:00
// round of Nucleo A: a nurse starts it on her tablet, which fixes the round's
// dose list (the open doses due within their own on-time window of the
// slot); anyone on the ward sees its progress per resident and per dose; its
// owner pauses, resumes and finishes it; it is handed over to another nurse.
// Finishing with doses left needs an explicit outcome and reason for each
// (not given is always an act, never silence): those acts are recorded
// through the therapy service, like any other act on a dose.
//
// Progress is never stored: it is read from the acts recorded on the round's
// doses (the effective act, corrections excluded), so a dose recorded from
// the due list, from another tablet or by the round itself all count alike.
package round

import (
	"context"
	"sort"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/google/uuid"
)

// State of a round.
type State string

const (
	Active   State = "active"
	Paused   State = "paused"
	Finished State = "finished"
)

// Open reports whether the round still occupies its ward.
func (s State) Open() bool { return s == Active || s == Paused }

// Kinds of round event.
const (
	EventStarted    = "started"
	EventPaused     = "paused"
	EventResumed    = "resumed"
	EventHandedOver = "handed_over"
	EventFinished   = "finished"
)

// Round is a round as stored.
type Round struct {
	ID         uuid.UUID
	FacilityID uuid.UUID
	WardID     uuid.UUID
	Slot       time.Time
	State      State
	OwnerID    uuid.UUID
	OwnerName  string
	StartedBy  uuid.UUID
	StartedAt  time.Time
	FinishedAt time.Time // zero while open
	Version    int
}

// Event is one thing that happened to a round.
type Event struct {
	ID       uuid.UUID
	Kind     string
	At       time.Time
	ByID     uuid.UUID
	ByName   string
	FromID   uuid.UUID // handed_over: the previous owner
	FromName string
	ToID     uuid.UUID // handed_over: the new owner
	ToName   string
	// Administrations lists the acts a finish recorded on the doses left.
	Administrations []uuid.UUID
}

// Act is the effective act recorded on a dose (the last one not entered in
// error).
type Act struct {
	ID             uuid.UUID
	Outcome        therapy.Outcome
	Reason         string
	AdministeredAt time.Time
	RecordedBy     uuid.UUID
	RecordedByName string
}

// Item is one dose of a round's list, as it stands.
type Item struct {
	Dose       therapy.Dose
	GivenName  string
	FamilyName string
	Bed        string
	// OnWard: the resident is still admitted on the round's ward. A dose of
	// a resident who left (transfer, hospital, discharge) is not the round's
	// to close.
	OnWard bool
	// Drug names the product (or the prescribed ingredient and strength).
	Drug string
	Act  *Act
}

// Digest facts: what the handover digest is computed from.

// Who is the resident an exception concerns.
type Who struct {
	ResidentID uuid.UUID
	GivenName  string
	FamilyName string
	Bed        string
}

// OpenDose is a scheduled dose due in the period with no act recorded.
type OpenDose struct {
	Who
	Dose therapy.Dose
	Drug string
}

// ActFact is an effective act (not entered in error) on a dose due in the
// period, or an as-needed dose given in the period (Dose nil).
type ActFact struct {
	Who
	Dose             *therapy.Dose
	AdministrationID uuid.UUID
	Outcome          therapy.Outcome
	Reason           string
	AdministeredAt   time.Time
	RecordedByName   string
	Scan             string
	UnableToScan     string
	Overridden       []string
	OverrideReason   string
	Drug             string
	// CheckAfterMin: the PRN prescription asks for an effectiveness check
	// this long after the dose (0: none); Checked: it was recorded.
	CheckAfterMin int
	Checked       bool
}

// DigestFacts is a ward's record of a period, for the handover digest.
type DigestFacts struct {
	Open []OpenDose
	Acts []ActFact
}

// Store reads and writes rounds.
type Store interface {
	WardExists(ctx context.Context, facility, ward uuid.UUID) (bool, error)
	// DigestFacts reads, for the residents currently on ward (admitted or
	// in hospital), the doses due in [from, to) still without an act (of
	// admitted residents only), the effective acts on doses due in
	// [from, to) and the as-needed doses given in [from, to).
	DigestFacts(ctx context.Context, facility, ward uuid.UUID, from, to time.Time) (DigestFacts, error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
	// Tx runs fn in one transaction; actor, when set, authors the history
	// rows it writes.
	Tx(ctx context.Context, actor *backend.Actor, fn func(Tx) error) error
}

// Tx is what a transaction offers.
type Tx interface {
	// Current is the ward's open round, if any.
	Current(ctx context.Context, facility, ward uuid.UUID) (Round, bool, error)
	// Read reads a round; Lock also locks it for the transaction.
	Read(ctx context.Context, facility, id uuid.UUID) (Round, error)
	Lock(ctx context.Context, facility, id uuid.UUID) (Round, error)
	// Insert inserts r as its ward's open round. When the ward already has
	// one, nothing is inserted and that round is returned with false.
	Insert(ctx context.Context, r *Round) (Round, bool, error)
	// Snapshot fixes r's dose list: the scheduled doses of the ward's
	// admitted residents, without an effective act, due within their own
	// window (window_min) of the slot. It returns how many.
	Snapshot(ctx context.Context, r Round) (int, error)
	// Items lists r's doses with their residents and effective acts.
	Items(ctx context.Context, r Round) ([]Item, error)
	Events(ctx context.Context, facility, round uuid.UUID) ([]Event, error)
	// Update writes r's state, owner and finishing time if its stored
	// version is still r.Version (then r.Version is the new one); otherwise
	// a version conflict.
	Update(ctx context.Context, r *Round) error
	AppendEvent(ctx context.Context, facility, round uuid.UUID, e Event) error
	// Qualified reports whether staff is an active nurse or physician
	// assigned to ward: someone who may run its round.
	Qualified(ctx context.Context, facility, ward, staff uuid.UUID) (bool, error)
	// LockKey serialises requests with one idempotency key and returns the
	// first answer given to it, if any; SaveResponse keeps an answer.
	LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*therapy.StoredResponse, error)
	SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r therapy.StoredResponse) error
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Recorder records an act on a dose, exactly once per key (the therapy
// service).
type Recorder interface {
	Record(ctx context.Context, a *backend.Actor, key uuid.UUID, hash []byte, req therapy.RecordRequest) (therapy.Administration, bool, error)
}

// Service runs drug rounds and reads the handover digest.
type Service struct {
	Store   Store
	Therapy Recorder
	// Care gives the handover the shift's care-task exceptions (the care
	// plan's); nil leaves them out.
	Care  CareExceptions
	Clock backend.Clock
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

// View is a round with its progress: what every tablet on the ward shows.
type View struct {
	ID         uuid.UUID          `json:"id"`
	WardID     uuid.UUID          `json:"ward_id"`
	Slot       time.Time          `json:"slot"`
	State      State              `json:"state"`
	OwnerID    uuid.UUID          `json:"owner_id"`
	OwnerName  string             `json:"owner_name"`
	StartedBy  uuid.UUID          `json:"started_by"`
	StartedAt  time.Time          `json:"started_at"`
	FinishedAt *time.Time         `json:"finished_at"`
	Version    int                `json:"version"`
	At         time.Time          `json:"at"`
	Progress   Progress           `json:"progress"`
	Residents  []ResidentProgress `json:"residents"`
	Events     []EventView        `json:"events"`
}

// Progress counts a round's doses: done (an act is recorded: given or not),
// left (still open, of a resident on the ward: each needs an act or, at
// finish, a reason), cancelled (withdrawn by a change to the prescription),
// away (still open, of a resident who has left the ward meanwhile).
type Progress struct {
	Doses     int `json:"doses"`
	Done      int `json:"done"`
	Left      int `json:"left"`
	Cancelled int `json:"cancelled"`
	Away      int `json:"away"`
}

func (p *Progress) add(st itemState) {
	p.Doses++
	switch st {
	case itemDone:
		p.Done++
	case itemLeft:
		p.Left++
	case itemCancelled:
		p.Cancelled++
	case itemAway:
		p.Away++
	}
}

// ResidentProgress is one resident's part of a round.
type ResidentProgress struct {
	ResidentID uuid.UUID      `json:"resident_id"`
	GivenName  string         `json:"given_name"`
	FamilyName string         `json:"family_name"`
	Bed        string         `json:"bed"`
	OnWard     bool           `json:"on_ward"`
	Progress   Progress       `json:"progress"`
	Doses      []DoseProgress `json:"doses"`
}

// DoseProgress is one dose of a round.
type DoseProgress struct {
	DoseID         uuid.UUID         `json:"dose_id"`
	PrescriptionID uuid.UUID         `json:"prescription_id"`
	DueAt          time.Time         `json:"due_at"`
	WindowMin      int               `json:"window_min"`
	State          therapy.DoseState `json:"state"`
	Drug           string            `json:"drug"`
	Act            *ActView          `json:"act"`
}

// ActView is the act recorded on a dose.
type ActView struct {
	AdministrationID uuid.UUID       `json:"administration_id"`
	Outcome          therapy.Outcome `json:"outcome"`
	Reason           string          `json:"reason"`
	AdministeredAt   time.Time       `json:"administered_at"`
	RecordedBy       uuid.UUID       `json:"recorded_by"`
	RecordedByName   string          `json:"recorded_by_name"`
}

// EventView is an event as shown.
type EventView struct {
	Kind            string      `json:"kind"`
	At              time.Time   `json:"at"`
	ByID            uuid.UUID   `json:"by_id"`
	ByName          string      `json:"by_name"`
	FromID          *uuid.UUID  `json:"from_id"`
	FromName        string      `json:"from_name,omitempty"`
	ToID            *uuid.UUID  `json:"to_id"`
	ToName          string      `json:"to_name,omitempty"`
	Administrations []uuid.UUID `json:"administration_ids"`
}

type itemState int

const (
	itemDone itemState = iota
	itemLeft
	itemCancelled
	itemAway
)

// stateOf classifies a round's dose.
func stateOf(it Item) itemState {
	switch {
	case it.Act != nil:
		return itemDone
	case it.Dose.Cancelled:
		return itemCancelled
	case !it.OnWard:
		return itemAway
	}
	return itemLeft
}

// Left lists the doses of items that still need an act: open, of a
// resident on the ward.
func Left(items []Item) []Item {
	var out []Item
	for _, it := range items {
		if stateOf(it) == itemLeft {
			out = append(out, it)
		}
	}
	return out
}

// Build is the view of r with its doses and events at now: residents by
// bed, each resident's doses by due time, the dose states as on the MAR.
func Build(r Round, items []Item, events []Event, now time.Time) View {
	v := View{ID: r.ID, WardID: r.WardID, Slot: r.Slot, State: r.State, OwnerID: r.OwnerID, OwnerName: r.OwnerName,
		StartedBy: r.StartedBy, StartedAt: r.StartedAt, Version: r.Version, At: now,
		Residents: []ResidentProgress{}, Events: []EventView{}}
	if !r.FinishedAt.IsZero() {
		t := r.FinishedAt
		v.FinishedAt = &t
	}
	idx := map[uuid.UUID]int{}
	for _, it := range items {
		i, ok := idx[it.Dose.ResidentID]
		if !ok {
			i = len(v.Residents)
			idx[it.Dose.ResidentID] = i
			v.Residents = append(v.Residents, ResidentProgress{ResidentID: it.Dose.ResidentID, GivenName: it.GivenName,
				FamilyName: it.FamilyName, Bed: it.Bed, OnWard: it.OnWard, Doses: []DoseProgress{}})
		}
		rp := &v.Residents[i]
		st := stateOf(it)
		rp.Progress.add(st)
		v.Progress.add(st)
		var act *therapy.Administration
		d := DoseProgress{DoseID: it.Dose.ID, PrescriptionID: it.Dose.PrescriptionID, DueAt: it.Dose.DueAt,
			WindowMin: it.Dose.WindowMin, Drug: it.Drug}
		if it.Act != nil {
			act = &therapy.Administration{Outcome: it.Act.Outcome, AdministeredAt: it.Act.AdministeredAt}
			d.Act = &ActView{AdministrationID: it.Act.ID, Outcome: it.Act.Outcome, Reason: it.Act.Reason,
				AdministeredAt: it.Act.AdministeredAt, RecordedBy: it.Act.RecordedBy, RecordedByName: it.Act.RecordedByName}
		}
		d.State = therapy.StateOf(it.Dose, act, now)
		rp.Doses = append(rp.Doses, d)
	}
	for i := range v.Residents {
		ds := v.Residents[i].Doses
		sort.SliceStable(ds, func(a, b int) bool { return ds[a].DueAt.Before(ds[b].DueAt) })
	}
	sort.SliceStable(v.Residents, func(a, b int) bool {
		x, y := v.Residents[a], v.Residents[b]
		if x.Bed != y.Bed {
			return x.Bed < y.Bed
		}
		return x.FamilyName+" "+x.GivenName < y.FamilyName+" "+y.GivenName
	})
	for _, e := range events {
		ev := EventView{Kind: e.Kind, At: e.At, ByID: e.ByID, ByName: e.ByName, FromName: e.FromName, ToName: e.ToName,
			Administrations: e.Administrations}
		if ev.Administrations == nil {
			ev.Administrations = []uuid.UUID{}
		}
		if e.FromID != uuid.Nil {
			id := e.FromID
			ev.FromID = &id
		}
		if e.ToID != uuid.Nil {
			id := e.ToID
			ev.ToID = &id
		}
		v.Events = append(v.Events, ev)
	}
	return v
}

// residentIDs lists the residents a view shows, for the audit.
func (v View) residentIDs() []uuid.UUID {
	out := make([]uuid.UUID, 0, len(v.Residents))
	for _, r := range v.Residents {
		out = append(out, r.ResidentID)
	}
	return out
}
