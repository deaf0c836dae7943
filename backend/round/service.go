package round

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/google/uuid"
)

// MaxSlotDistance bounds how far from now a round's slot may be: a round is
// done around its time, not planned ahead or written up days later.
const MaxSlotDistance = 12 * time.Hour

// maxLeft bounds the doses one finish may close.
const maxLeft = 2000

// Audit actions.
const (
	actionRead     = "round.read"
	actionStart    = "round.start"
	actionPause    = "round.pause"
	actionResume   = "round.resume"
	actionHandover = "round.handover"
	actionFinish   = "round.finish"
)

// opFinish names a finish in the idempotency table.
const opFinish = "round.finish"

func errRoundNotFound() error { return backend.E(backend.KindNotFound, "round.not_found") }
func errWardNotFound() error  { return backend.E(backend.KindNotFound, backend.CodeWardNotFound) }

// denied audits a refused attempt outside any transaction and returns cause.
func (s *Service) denied(ctx context.Context, a *backend.Actor, action, resource string, id uuid.UUID, cause error) error {
	ev := audit.By(a, action, resource, id.String(), uuid.Nil, audit.Denied)
	ev.Detail = backend.AsError(cause).Code
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return err
	}
	return cause
}

// wardFor decides action on a ward: a ward the actor may not see (or that
// does not exist) is ward.not_found; acting (act) needs Administer on one of
// her own wards, else forbidden. Refusals are audited.
func (s *Service) wardFor(ctx context.Context, a *backend.Actor, action string, ward uuid.UUID, act bool) error {
	if !access.SeesWard(a, a.FacilityID, ward) {
		return s.denied(ctx, a, action, "ward", ward, errWardNotFound())
	}
	ok, err := s.Store.WardExists(ctx, a.FacilityID, ward)
	if err != nil {
		return err
	}
	if !ok {
		return s.denied(ctx, a, action, "ward", ward, errWardNotFound())
	}
	if act && !access.CanActOnWard(a, access.Administer, a.FacilityID, ward) {
		return s.denied(ctx, a, action, "ward", ward,
			backend.E(backend.KindForbidden, backend.CodeForbidden, "only the ward's nurses and physicians run its rounds"))
	}
	return nil
}

// roundFor loads a round and decides action on it, as on its ward: a round
// of a ward the actor may not see is round.not_found.
func (s *Service) roundFor(ctx context.Context, a *backend.Actor, action string, id uuid.UUID) (Round, error) {
	var r Round
	err := s.Store.Tx(ctx, nil, func(tx Tx) error {
		var err error
		r, err = tx.Read(ctx, a.FacilityID, id)
		return err
	})
	if backend.IsKind(err, backend.KindNotFound) || (err == nil && !access.SeesWard(a, a.FacilityID, r.WardID)) {
		return r, s.denied(ctx, a, action, "round", id, errRoundNotFound())
	}
	if err != nil {
		return r, err
	}
	if !access.CanActOnWard(a, access.Administer, a.FacilityID, r.WardID) {
		return r, s.denied(ctx, a, action, "round", id,
			backend.E(backend.KindForbidden, backend.CodeForbidden, "only the ward's nurses and physicians run its rounds"))
	}
	return r, nil
}

// view reads r's doses and events in tx and builds its view.
func (s *Service) view(ctx context.Context, tx Tx, r Round, now time.Time) (View, error) {
	items, err := tx.Items(ctx, r)
	if err != nil {
		return View{}, err
	}
	events, err := tx.Events(ctx, r.FacilityID, r.ID)
	if err != nil {
		return View{}, err
	}
	return Build(r, items, events, now), nil
}

// written audits a write on a round, naming the residents its view shows.
func written(a *backend.Actor, action string, v View, detail string) audit.Event {
	ev := audit.By(a, action, "round", v.ID.String(), uuid.Nil, audit.Success)
	ev.ResidentIDs = v.residentIDs()
	ev.Detail = detail
	return ev
}

// Current returns the ward's open round with its progress, or nil when none
// is open. Anyone who sees the ward may read it; the read is audited naming
// the residents shown.
func (s *Service) Current(ctx context.Context, a *backend.Actor, ward uuid.UUID) (*View, error) {
	if err := s.wardFor(ctx, a, actionRead, ward, false); err != nil {
		return nil, err
	}
	now := s.now()
	var out *View
	err := s.Store.Tx(ctx, nil, func(tx Tx) error {
		out = nil
		r, ok, err := tx.Current(ctx, a.FacilityID, ward)
		if err != nil || !ok {
			return err
		}
		v, err := s.view(ctx, tx, r, now)
		out = &v
		return err
	})
	if err != nil {
		return nil, err
	}
	ev := audit.By(a, actionRead, "ward", ward.String(), uuid.Nil, audit.Success)
	if out != nil {
		ev.ResourceType, ev.ResourceID, ev.ResidentIDs = "round", out.ID.String(), out.residentIDs()
	}
	return out, s.Store.AppendAudit(ctx, ev)
}

// Start starts the ward's round for slot (zero: now, to the nearest whole
// hour), owned by the caller: its dose list is the ward's open doses due
// within their window of the slot. A ward with a round open already is a
// conflict naming that round and its owner: two tablets starting the same
// round get one round.
func (s *Service) Start(ctx context.Context, a *backend.Actor, ward uuid.UUID, slot time.Time) (View, error) {
	now := s.now()
	if slot.IsZero() {
		slot = now.Round(time.Hour)
	}
	slot = slot.UTC().Truncate(time.Second)
	if slot.Sub(now).Abs() > MaxSlotDistance {
		return View{}, backend.Invalid("round.invalid_slot", "slot", "a time within 12 hours of now")
	}
	if err := s.wardFor(ctx, a, actionStart, ward, true); err != nil {
		return View{}, err
	}
	var v View
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		r := Round{ID: uuid.New(), FacilityID: a.FacilityID, WardID: ward, Slot: slot, State: Active, OwnerID: a.StaffID,
			StartedBy: a.StaffID, StartedAt: now, Version: 1}
		open, ok, err := tx.Insert(ctx, &r)
		if err != nil {
			return err
		}
		if !ok {
			e := backend.E(backend.KindConflict, "round.already_open",
				"the ward's round is already open ("+string(open.State)+", run by "+open.OwnerName+")")
			e.Fields = map[string]string{"round_id": open.ID.String(), "owner_id": open.OwnerID.String(),
				"owner_name": open.OwnerName, "state": string(open.State)}
			return e
		}
		n, err := tx.Snapshot(ctx, r)
		if err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, a.FacilityID, r.ID, Event{ID: uuid.New(), Kind: EventStarted, At: now, ByID: a.StaffID}); err != nil {
			return err
		}
		if r, err = tx.Read(ctx, a.FacilityID, r.ID); err != nil {
			return err
		}
		if v, err = s.view(ctx, tx, r, now); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, written(a, actionStart, v, "doses="+strconv.Itoa(n)))
	})
	return v, err
}

// transition changes an open round under its lock: the caller's version
// must be the stored one; change checks the state and who may do it, moves
// the round and returns the event to append.
func (s *Service) transition(ctx context.Context, a *backend.Actor, action string, id uuid.UUID, version int,
	change func(tx Tx, r *Round) (Event, error)) (View, error) {
	if _, err := s.roundFor(ctx, a, action, id); err != nil {
		return View{}, err
	}
	now := s.now()
	var v View
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		r, err := tx.Lock(ctx, a.FacilityID, id)
		if err != nil {
			return err
		}
		if r.State == Finished {
			return errFinished()
		}
		if r.Version != version {
			return backend.E(backend.KindConflict, backend.CodeVersionConflict, "the round changed since you read it")
		}
		ev, err := change(tx, &r)
		if err != nil {
			return err
		}
		ev.ID, ev.At, ev.ByID = uuid.New(), now, a.StaffID
		if err := tx.Update(ctx, &r); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, a.FacilityID, r.ID, ev); err != nil {
			return err
		}
		if r, err = tx.Read(ctx, a.FacilityID, r.ID); err != nil {
			return err
		}
		if v, err = s.view(ctx, tx, r, now); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, written(a, action, v, ev.Kind))
	})
	return v, err
}

func errFinished() error {
	return backend.E(backend.KindConflict, "round.finished", "this round is finished")
}

// notOwner is the refusal of an act only the round's owner may do.
func notOwner(a *backend.Actor, r Round) error {
	if r.OwnerID == a.StaffID {
		return nil
	}
	e := backend.E(backend.KindForbidden, "round.not_owner", "the round is run by "+r.OwnerName+": take it over (hand it over to you) first")
	e.Fields = map[string]string{"owner_id": r.OwnerID.String(), "owner_name": r.OwnerName}
	return e
}

// Pause pauses the caller's active round.
func (s *Service) Pause(ctx context.Context, a *backend.Actor, id uuid.UUID, version int) (View, error) {
	return s.transition(ctx, a, actionPause, id, version, func(_ Tx, r *Round) (Event, error) {
		if err := notOwner(a, *r); err != nil {
			return Event{}, err
		}
		if r.State != Active {
			return Event{}, backend.E(backend.KindConflict, "round.not_active", "the round is "+string(r.State))
		}
		r.State = Paused
		return Event{Kind: EventPaused}, nil
	})
}

// Resume resumes the caller's paused round.
func (s *Service) Resume(ctx context.Context, a *backend.Actor, id uuid.UUID, version int) (View, error) {
	return s.transition(ctx, a, actionResume, id, version, func(_ Tx, r *Round) (Event, error) {
		if err := notOwner(a, *r); err != nil {
			return Event{}, err
		}
		if r.State != Paused {
			return Event{}, backend.E(backend.KindConflict, "round.not_paused", "the round is "+string(r.State))
		}
		r.State = Active
		return Event{Kind: EventResumed}, nil
	})
}

// Handover gives an open round to another nurse or physician of its ward.
// The owner hands it over, or a colleague of the ward takes it over (to
// herself); the state (active or paused) is kept.
func (s *Service) Handover(ctx context.Context, a *backend.Actor, id uuid.UUID, version int, to uuid.UUID) (View, error) {
	if to == uuid.Nil {
		return View{}, backend.Invalid("round.recipient_required", "to_staff_id", "the colleague taking the round")
	}
	return s.transition(ctx, a, actionHandover, id, version, func(tx Tx, r *Round) (Event, error) {
		if to == r.OwnerID {
			return Event{}, backend.E(backend.KindUnprocessable, "round.already_owner", "this colleague already runs the round")
		}
		ok, err := tx.Qualified(ctx, a.FacilityID, r.WardID, to)
		if err != nil {
			return Event{}, err
		}
		if !ok {
			return Event{}, backend.E(backend.KindUnprocessable, "round.invalid_recipient",
				"a round is handed over to an active nurse or physician of its ward")
		}
		ev := Event{Kind: EventHandedOver, FromID: r.OwnerID, ToID: to}
		r.OwnerID = to
		return ev, nil
	})
}

// LeftDose is the outcome and reason given at finish for a dose left.
type LeftDose struct {
	DoseID  uuid.UUID       `json:"dose_id"`
	Outcome therapy.Outcome `json:"outcome"`
	Reason  string          `json:"reason"`
}

// FinishRequest finishes a round: the version read, and an outcome (omitted,
// held or refused) with a reason for every dose still left.
type FinishRequest struct {
	Version int        `json:"version"`
	Left    []LeftDose `json:"left"`
}

// LeftOutcomes are the outcomes a dose left at finish may take.
var LeftOutcomes = []therapy.Outcome{therapy.Omitted, therapy.Held, therapy.Refused}

func (req *FinishRequest) validate() error {
	if len(req.Left) > maxLeft {
		return backend.Invalid("round.too_many", "left", "at most 2000 doses")
	}
	seen := map[uuid.UUID]bool{}
	for i := range req.Left {
		l := &req.Left[i]
		l.Reason = strings.TrimSpace(l.Reason)
		field := "left[" + strconv.Itoa(i) + "]"
		switch {
		case l.DoseID == uuid.Nil:
			return backend.Invalid("round.dose_required", field+".dose_id", "the dose")
		case seen[l.DoseID]:
			return backend.Invalid("round.duplicate_dose", field+".dose_id", "each dose once")
		case !slices.Contains(LeftOutcomes, l.Outcome):
			return backend.Invalid("round.invalid_outcome", field+".outcome", "omitted, held or refused")
		case l.Reason == "":
			return backend.Invalid("round.reason_required", field+".reason", "say why the dose was not given")
		case utf8.RuneCountInString(l.Reason) > 500 || !utf8.ValidString(l.Reason) || strings.ContainsRune(l.Reason, 0):
			return backend.Invalid("round.invalid_reason", field+".reason", "at most 500 characters")
		}
		seen[l.DoseID] = true
	}
	return nil
}

// reasonsRequired is the 422 that lists the doses left without a reason.
func reasonsRequired(left []Item, given map[uuid.UUID]LeftDose) error {
	var missing []string
	for _, it := range left {
		if _, ok := given[it.Dose.ID]; !ok {
			missing = append(missing, it.Dose.ID.String())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	e := backend.E(backend.KindUnprocessable, "round.reasons_required",
		strconv.Itoa(len(missing))+" doses are left: give each an outcome (omitted, held, refused) and a reason")
	e.Fields = map[string]string{"dose_ids": strings.Join(missing, ",")}
	return e
}

// Finish finishes the caller's round. Every dose still left (open, of a
// resident on the ward) needs an entry in req.Left: those acts are recorded
// through the therapy service, each under an idempotency key derived from
// the round and the dose, so a finish that failed half-way and is sent
// again records each act once. Entries for doses already closed, cancelled
// or of residents who left the ward are ignored (another tablet may have
// recorded them meanwhile). The finish itself answers once per key: a
// retry with the same key and body gets the first answer back (replayed).
func (s *Service) Finish(ctx context.Context, a *backend.Actor, id, key uuid.UUID, hash []byte, req FinishRequest) (View, bool, error) {
	if key == uuid.Nil {
		return View{}, false, backend.Invalid("idempotency.key_required", "Idempotency-Key", "send a UUID generated once per finish")
	}
	if err := req.validate(); err != nil {
		return View{}, false, err
	}
	r, err := s.roundFor(ctx, a, actionFinish, id)
	if err != nil {
		return View{}, false, err
	}
	// A retry of a finish that succeeded answers as the first time, even
	// though the round is finished now.
	if v, ok, err := s.replayed(ctx, a, key, hash); ok || err != nil {
		return v, ok, err
	}
	var items []Item
	err = s.Store.Tx(ctx, nil, func(tx Tx) error {
		if r, err = tx.Read(ctx, a.FacilityID, id); err != nil {
			return err
		}
		items, err = tx.Items(ctx, r)
		return err
	})
	if err != nil {
		return View{}, false, err
	}
	if err := s.finishable(a, r, req.Version); err != nil {
		return View{}, false, err
	}
	inRound := map[uuid.UUID]bool{}
	for _, it := range items {
		inRound[it.Dose.ID] = true
	}
	given := map[uuid.UUID]LeftDose{}
	for i, l := range req.Left {
		if !inRound[l.DoseID] {
			return View{}, false, backend.Invalid("round.dose_not_in_round", "left["+strconv.Itoa(i)+"].dose_id", "this dose is not on the round's list")
		}
		given[l.DoseID] = l
	}
	if err := reasonsRequired(Left(items), given); err != nil {
		return View{}, false, err
	}

	// The acts, one by one, each exactly once. A dose the caller closed
	// already may have been closed by an earlier try of this finish: asking
	// again under the same key gives that act back, so the finishing event
	// lists every act the finish recorded; an act of hers recorded otherwise
	// is a conflict, skipped.
	var recorded []uuid.UUID
	for _, it := range items {
		l, ok := given[it.Dose.ID]
		if !ok || (stateOf(it) != itemLeft && (it.Act == nil || it.Act.RecordedBy != a.StaffID)) {
			continue
		}
		act, _, err := s.Therapy.Record(ctx, a, actKey(r.ID, it.Dose.ID), actHash(r.ID, it.Dose.ID),
			therapy.RecordRequest{DoseID: it.Dose.ID, Outcome: l.Outcome, Reason: l.Reason})
		switch {
		case backend.IsCode(err, "dose.already_recorded"), backend.IsCode(err, "dose.cancelled"):
			continue // closed meanwhile by someone else: nothing left to do
		case err != nil:
			return View{}, false, err
		}
		recorded = append(recorded, act.ID)
	}

	now := s.now()
	var v View
	var replay bool
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		replay = false
		stored, err := tx.LockKey(ctx, a.FacilityID, a.StaffID, key)
		if err != nil {
			return err
		}
		if stored != nil {
			replay = true
			return decodeStored(stored, hash, &v)
		}
		r, err := tx.Lock(ctx, a.FacilityID, id)
		if err != nil {
			return err
		}
		if err := s.finishable(a, r, req.Version); err != nil {
			return err
		}
		// A dose reopened meanwhile (an act entered in error) needs its
		// reason too.
		items, err := tx.Items(ctx, r)
		if err != nil {
			return err
		}
		if err := reasonsRequired(Left(items), nil); err != nil {
			return err
		}
		r.State, r.FinishedAt = Finished, now
		if err := tx.Update(ctx, &r); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, a.FacilityID, r.ID, Event{ID: uuid.New(), Kind: EventFinished, At: now, ByID: a.StaffID,
			Administrations: recorded}); err != nil {
			return err
		}
		if r, err = tx.Read(ctx, a.FacilityID, r.ID); err != nil {
			return err
		}
		if v, err = s.view(ctx, tx, r, now); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, written(a, actionFinish, v, "recorded="+strconv.Itoa(len(recorded)))); err != nil {
			return err
		}
		body, err := json.Marshal(v)
		if err != nil {
			return backend.Internal(err, "marshal round")
		}
		return tx.SaveResponse(ctx, a.FacilityID, a.StaffID, key, therapy.StoredResponse{Operation: opFinish, Hash: hash, Body: body})
	})
	if err != nil {
		return View{}, false, err
	}
	return v, replay, nil
}

// finishable checks that a may finish r as read at version.
func (s *Service) finishable(a *backend.Actor, r Round, version int) error {
	if r.State == Finished {
		return errFinished()
	}
	if r.Version != version {
		return backend.E(backend.KindConflict, backend.CodeVersionConflict, "the round changed since you read it")
	}
	return notOwner(a, r)
}

// replayed returns the stored answer to a finish key, if any.
func (s *Service) replayed(ctx context.Context, a *backend.Actor, key uuid.UUID, hash []byte) (View, bool, error) {
	var v View
	var found bool
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		stored, err := tx.LockKey(ctx, a.FacilityID, a.StaffID, key)
		if err != nil || stored == nil {
			return err
		}
		found = true
		return decodeStored(stored, hash, &v)
	})
	return v, found, err
}

func decodeStored(stored *therapy.StoredResponse, hash []byte, v *View) error {
	return stored.Replay(opFinish, hash, v)
}

// actKey is the idempotency key of the act a round's finish records on a
// dose: the same for every try of the finish.
func actKey(round, dose uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(round, []byte("finish:"+dose.String()))
}

// actHash digests what that key guards. It names the round and the dose
// only: when two tries of a finish race, the act the first recorded stands
// and the second gets it back.
func actHash(round, dose uuid.UUID) []byte {
	h := sha256.Sum256([]byte(opFinish + "\x00" + round.String() + "\x00" + dose.String()))
	return h[:]
}
