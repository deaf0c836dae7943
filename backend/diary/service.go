package diary

import (
	"context"
	"encoding/json"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
)

// StoredResponse is the first answer given to an idempotency key.
type StoredResponse = backend.StoredResponse

// Store reads the diary and opens write transactions.
type Store interface {
	// Resident describes a resident for an access decision (with the
	// actor's live break-the-glass grant); not found when absent.
	Resident(ctx context.Context, facility, id, staff uuid.UUID) (access.Target, error)
	// List returns a page of the resident's original entries of the given
	// professions, newest first (q.Limit of them at most), and every entry
	// linked to them: their addenda and corrections, and the corrections of
	// those addenda. Signatures are not checked.
	List(ctx context.Context, facility, resident uuid.UUID, professions []access.Profession, q Query) (originals, linked []Entry, err error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
	Tx(ctx context.Context, actor *backend.Actor, fn func(Tx) error) error
}

// Tx is what a write transaction offers.
type Tx interface {
	Resident(ctx context.Context, facility, id, staff uuid.UUID) (access.Target, error)
	// LockEntry reads and locks an entry, and says whether it has been
	// marked entered in error.
	LockEntry(ctx context.Context, facility, id uuid.UUID) (e Entry, corrected bool, err error)
	InsertEntry(ctx context.Context, facility uuid.UUID, e *Entry) error
	StaffName(ctx context.Context, facility, id uuid.UUID) (string, error)
	// LockKey serialises requests carrying the same idempotency key and
	// returns the first answer when there was one.
	LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*StoredResponse, error)
	SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r StoredResponse) error
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Service applies the rules of the clinical diary.
type Service struct {
	Store Store
	Clock backend.Clock
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC().Truncate(time.Microsecond)
	}
	return s.Clock.Now().UTC().Truncate(time.Microsecond)
}

func errEntryNotFound() error { return backend.E(backend.KindNotFound, "diary.not_found") }

// denied records a refused attempt; it runs after the attempt's own
// transaction rolled back.
func (s *Service) denied(ctx context.Context, a *backend.Actor, action, resourceType string, id, resident uuid.UUID, cause error) error {
	ev := audit.By(a, action, resourceType, id.String(), resident, audit.Denied)
	ev.Detail = backend.AsError(cause).Code
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return err
	}
	return cause
}

// profession picks the profession of a new entry: the one asked for, which
// the actor must hold, or her only one.
func profession(a *backend.Actor, asked access.Profession) (access.Profession, error) {
	held := access.DiaryProfessions(a)
	if asked == "" {
		switch len(held) {
		case 0:
			return "", backend.E(backend.KindForbidden, "diary.no_profession", "your roles write in no profession of the diary")
		case 1:
			return held[0], nil
		}
		return "", backend.Invalid("diary.profession_required", "profession", "you hold several professions: choose one")
	}
	if !access.WritesDiary(a, asked) {
		return "", backend.E(backend.KindForbidden, "diary.profession_not_held", "you write only in your own profession")
	}
	return asked, nil
}

// idempotent runs write in a transaction under (staff, key): a replay
// returns the first answer, the same key with another request is refused.
func (s *Service) idempotent(ctx context.Context, a *backend.Actor, key uuid.UUID, op string, hash []byte,
	write func(tx Tx) (Entry, error)) (Entry, bool, error) {
	if key == uuid.Nil {
		return Entry{}, false, backend.Invalid("idempotency.key_required", "Idempotency-Key", "send a UUID generated once per entry")
	}
	var out Entry
	var replay bool
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		replay = false
		stored, err := tx.LockKey(ctx, a.FacilityID, a.StaffID, key)
		if err != nil {
			return err
		}
		if stored != nil {
			if err := stored.Replay(op, hash, &out); err != nil {
				return err
			}
			replay = true
			return nil
		}
		if out, err = write(tx); err != nil {
			return err
		}
		body, err := json.Marshal(out)
		if err != nil {
			return backend.Internal(err, "diary response")
		}
		return tx.SaveResponse(ctx, a.FacilityID, a.StaffID, key, StoredResponse{Operation: op, Hash: hash, Body: body})
	})
	return out, replay, err
}

// insert completes, signs, stores and audits e.
func (s *Service) insert(ctx context.Context, tx Tx, a *backend.Actor, e *Entry, t access.Target, action string) error {
	var err error
	e.ID, e.AuthorID, e.RecordedAt = uuid.New(), a.StaffID, s.now()
	e.OccurredAt = e.OccurredAt.UTC().Truncate(time.Microsecond)
	if e.AuthorName, err = tx.StaffName(ctx, a.FacilityID, a.StaffID); err != nil {
		return err
	}
	e.Signature = Sign(e)
	e.SignatureValid = true
	if err := tx.InsertEntry(ctx, a.FacilityID, e); err != nil {
		return err
	}
	ev := audit.By(a, action, "diary_entry", e.ID.String(), e.ResidentID, audit.Success)
	ev.Detail = string(e.Profession)
	ev.BreakGlass = t.GrantReason
	return tx.AppendAudit(ctx, ev)
}

// Create writes a new entry in the diary of a resident of one of the
// actor's wards, in a profession she holds. Exactly once under retries of
// the same Idempotency-Key.
func (s *Service) Create(ctx context.Context, a *backend.Actor, key uuid.UUID, hash []byte, residentID uuid.UUID, in NewEntry) (Entry, bool, error) {
	const op = "diary.create"
	now := s.now()
	text, err := cleanText(in.Text, "text", "diary.invalid_text", MaxTextRunes)
	if err != nil {
		return Entry{}, false, err
	}
	if in.Profession != "" && !access.ValidProfession(in.Profession) {
		return Entry{}, false, backend.Invalid("diary.invalid_profession", "profession",
			"medical, nursing, oss, rehabilitation, social or psychological")
	}
	occurred, err := checkOccurred(in.OccurredAt, now)
	if err != nil {
		return Entry{}, false, err
	}
	out, replay, err := s.idempotent(ctx, a, key, op, hash, func(tx Tx) (Entry, error) {
		t, err := tx.Resident(ctx, a.FacilityID, residentID, a.StaffID)
		if backend.IsKind(err, backend.KindNotFound) {
			return Entry{}, backend.ErrResidentNotFound()
		}
		if err != nil {
			return Entry{}, err
		}
		d := access.Decide(a, access.WriteDiary, t)
		if !d.Visible {
			return Entry{}, backend.ErrResidentNotFound()
		}
		if !d.Allowed {
			return Entry{}, backend.E(backend.KindForbidden, backend.CodeForbidden, "you write in the diary of your own wards' residents")
		}
		p, err := profession(a, in.Profession)
		if err != nil {
			return Entry{}, err
		}
		e := Entry{ResidentID: residentID, Profession: p, Text: text, OccurredAt: occurred}
		return e, s.insert(ctx, tx, a, &e, t, string(access.WriteDiary))
	})
	if backend.IsKind(err, backend.KindNotFound) || backend.IsKind(err, backend.KindForbidden) {
		return Entry{}, false, s.denied(ctx, a, string(access.WriteDiary), "resident", residentID, residentID, err)
	}
	return out, replay, err
}

// linked checks what an addendum or a correction of entry id needs: the
// entry exists and the actor reads it (else diary.not_found, as if absent),
// she may write on the resident, and she is its author or holds its
// profession.
func (s *Service) linked(ctx context.Context, tx Tx, a *backend.Actor, id uuid.UUID) (Entry, bool, access.Target, error) {
	orig, corrected, err := tx.LockEntry(ctx, a.FacilityID, id)
	if backend.IsKind(err, backend.KindNotFound) {
		return Entry{}, false, access.Target{}, errEntryNotFound()
	}
	if err != nil {
		return Entry{}, false, access.Target{}, err
	}
	t, err := tx.Resident(ctx, a.FacilityID, orig.ResidentID, a.StaffID)
	if err != nil {
		return Entry{}, false, access.Target{}, err
	}
	d := access.Decide(a, access.WriteDiary, t)
	if !d.Visible || !access.ReadsDiary(a, orig.Profession) {
		return Entry{}, false, access.Target{}, errEntryNotFound()
	}
	if !d.Allowed {
		return Entry{}, false, access.Target{}, backend.E(backend.KindForbidden, backend.CodeForbidden, "you write in the diary of your own wards' residents")
	}
	if orig.AuthorID != a.StaffID && !access.WritesDiary(a, orig.Profession) {
		return Entry{}, false, access.Target{}, backend.E(backend.KindForbidden, "diary.profession_not_held",
			"only the author or a colleague of the same profession")
	}
	if orig.LinkKind == LinkEnteredInError {
		return Entry{}, false, access.Target{}, backend.E(backend.KindUnprocessable, "diary.is_correction", "a correction is final")
	}
	return orig, corrected, t, nil
}

// Addendum adds a later note to an original entry: by its author or a
// colleague of the same profession, in that profession.
func (s *Service) Addendum(ctx context.Context, a *backend.Actor, key uuid.UUID, hash []byte, entryID uuid.UUID, in NewEntry) (Entry, bool, error) {
	const op = "diary.addendum"
	now := s.now()
	text, err := cleanText(in.Text, "text", "diary.invalid_text", MaxTextRunes)
	if err != nil {
		return Entry{}, false, err
	}
	if in.Profession != "" && !access.ValidProfession(in.Profession) {
		return Entry{}, false, backend.Invalid("diary.invalid_profession", "profession",
			"medical, nursing, oss, rehabilitation, social or psychological")
	}
	occurred, err := checkOccurred(in.OccurredAt, now)
	if err != nil {
		return Entry{}, false, err
	}
	var residentID uuid.UUID
	out, replay, err := s.idempotent(ctx, a, key, op, hash, func(tx Tx) (Entry, error) {
		orig, corrected, t, err := s.linked(ctx, tx, a, entryID)
		if err != nil {
			return Entry{}, err
		}
		residentID = orig.ResidentID
		switch {
		case orig.LinkKind != "":
			return Entry{}, backend.E(backend.KindUnprocessable, "diary.not_original", "add to the original entry")
		case corrected:
			return Entry{}, backend.E(backend.KindUnprocessable, "diary.entered_in_error", "this entry was marked entered in error")
		case in.Profession != "" && in.Profession != orig.Profession:
			return Entry{}, backend.Invalid("diary.profession_mismatch", "profession", "an addendum is in its entry's profession")
		}
		id := orig.ID
		e := Entry{ResidentID: orig.ResidentID, Profession: orig.Profession, Text: text, OccurredAt: occurred,
			LinkKind: LinkAddendum, LinksTo: &id}
		return e, s.insert(ctx, tx, a, &e, t, "diary.addendum")
	})
	if backend.IsKind(err, backend.KindNotFound) || backend.IsKind(err, backend.KindForbidden) {
		return Entry{}, false, s.denied(ctx, a, "diary.addendum", "diary_entry", entryID, residentID, err)
	}
	return out, replay, err
}

// EnteredInError marks an entry (an original or an addendum) entered in
// error with a reason: a new, signed correction entry linked to it. The
// entry stays readable, marked. A second mark is a conflict.
func (s *Service) EnteredInError(ctx context.Context, a *backend.Actor, entryID uuid.UUID, reason string) (Entry, error) {
	reason, err := cleanText(reason, "reason", "diary.reason_required", MaxReasonRunes)
	if err != nil {
		return Entry{}, err
	}
	var out Entry
	var residentID uuid.UUID
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		orig, corrected, t, err := s.linked(ctx, tx, a, entryID)
		if err != nil {
			return err
		}
		residentID = orig.ResidentID
		if corrected {
			return backend.E(backend.KindConflict, "diary.already_entered_in_error", "this entry is already marked entered in error")
		}
		id := orig.ID
		out = Entry{ResidentID: orig.ResidentID, Profession: orig.Profession, Text: reason, OccurredAt: s.now(),
			LinkKind: LinkEnteredInError, LinksTo: &id}
		return s.insert(ctx, tx, a, &out, t, "diary.entered_in_error")
	})
	if backend.IsKind(err, backend.KindNotFound) || backend.IsKind(err, backend.KindForbidden) {
		return Entry{}, s.denied(ctx, a, "diary.entered_in_error", "diary_entry", entryID, residentID, err)
	}
	return out, err
}

// List reads a page of a resident's diary, newest first, each original with
// its addenda and correction state, and every signature checked. Entries of
// professions the actor does not read are absent, uncounted.
func (s *Service) List(ctx context.Context, a *backend.Actor, residentID uuid.UUID, q Query) (Page, error) {
	if q.Profession != "" && !access.ValidProfession(q.Profession) {
		return Page{}, backend.Invalid("diary.invalid_profession", "profession",
			"medical, nursing, oss, rehabilitation, social or psychological")
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return Page{}, backend.Invalid("diary.invalid_period", "to", "after from")
	}
	if q.Limit <= 0 {
		q.Limit = DefaultLimit
	}
	q.Limit = min(q.Limit, MaxLimit)
	const action = "diary.read"
	t, err := s.Store.Resident(ctx, a.FacilityID, residentID, a.StaffID)
	if backend.IsKind(err, backend.KindNotFound) {
		return Page{}, s.denied(ctx, a, action, "resident", residentID, residentID, backend.ErrResidentNotFound())
	}
	if err != nil {
		return Page{}, err
	}
	d := access.Decide(a, access.ReadResident, t)
	if !d.Allowed {
		return Page{}, s.denied(ctx, a, action, "resident", residentID, residentID, backend.ErrResidentNotFound())
	}
	profs := access.ReadableProfessions(a)
	if q.Profession != "" {
		profs = nil
		if access.ReadsDiary(a, q.Profession) {
			profs = []access.Profession{q.Profession}
		}
	}
	page := Page{Entries: []Entry{}}
	var tampered bool
	if len(profs) > 0 {
		q.Limit++
		originals, linked, err := s.Store.List(ctx, a.FacilityID, residentID, profs, q)
		if err != nil {
			return Page{}, err
		}
		q.Limit--
		if len(originals) > q.Limit {
			originals = originals[:q.Limit]
			last := originals[len(originals)-1]
			page.NextBefore = Cursor{OccurredAt: last.OccurredAt, ID: last.ID}.String()
		}
		page.Entries, tampered = Assemble(originals, linked)
	}
	ev := audit.By(a, action, "resident", residentID.String(), residentID, audit.Success)
	ev.BreakGlass = d.BreakGlass
	if tampered {
		ev.Detail = "signature_mismatch"
	}
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return Page{}, err // no audit, no read
	}
	return page, nil
}

// Assemble verifies every entry and nests addenda and corrections under
// the entries they link to. tampered reports any signature mismatch.
func Assemble(originals, linked []Entry) (out []Entry, tampered bool) {
	corrections := map[uuid.UUID]*Correction{}
	addenda := map[uuid.UUID][]Entry{}
	for i := range linked {
		e := &linked[i]
		if !Verify(e) {
			tampered = true
		}
		if e.LinksTo == nil {
			continue
		}
		if e.LinkKind == LinkEnteredInError {
			corrections[*e.LinksTo] = &Correction{ID: e.ID, Reason: e.Text, By: e.AuthorID, ByName: e.AuthorName,
				At: e.RecordedAt, SignatureValid: e.SignatureValid}
		}
	}
	for _, e := range linked {
		if e.LinkKind == LinkAddendum && e.LinksTo != nil {
			e.EnteredInError = corrections[e.ID]
			addenda[*e.LinksTo] = append(addenda[*e.LinksTo], e)
		}
	}
	out = make([]Entry, len(originals))
	for i, e := range originals {
		if !Verify(&e) {
			tampered = true
		}
		e.EnteredInError = corrections[e.ID]
		e.Addenda = addenda[e.ID]
		out[i] = e
	}
	return out, tampered
}
