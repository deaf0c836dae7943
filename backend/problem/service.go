package problem

import (
	"context"
	"encoding/json"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
)

// Store reads the anamnesis and problems and opens write transactions.
type Store interface {
	// Resident returns what access needs to decide on a resident, with the
	// caller's live break-the-glass reason; not found when absent.
	Resident(ctx context.Context, facility, id, staff uuid.UUID) (access.Target, error)
	Anamnesis(ctx context.Context, facility, resident uuid.UUID) ([]AnamnesisSection, error)
	// AnamnesisHistory lists every version of every section, newest first.
	AnamnesisHistory(ctx context.Context, facility, resident uuid.UUID) ([]HistoryEntry, error)
	Problems(ctx context.Context, facility, resident uuid.UUID) ([]Problem, error)
	// ProblemResident is the resident a problem belongs to and its kind;
	// not found when there is no such problem.
	ProblemResident(ctx context.Context, facility, id uuid.UUID) (uuid.UUID, Kind, error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
	Tx(ctx context.Context, actor *backend.Actor, fn func(Tx) error) error
}

// StoredResponse is the first answer given to an idempotency key.
type StoredResponse = backend.StoredResponse

// Tx is what a write transaction offers.
type Tx interface {
	// LockKey serialises requests carrying the same idempotency key and
	// returns the first answer when there was one.
	LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*StoredResponse, error)
	SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r StoredResponse) error
	// WriteSection inserts (version 0) or updates (version n, only if the
	// stored version is n) one section; version_conflict otherwise.
	WriteSection(ctx context.Context, facility, resident uuid.UUID, s Section, w SectionWrite, by uuid.UUID, at time.Time) (AnamnesisSection, error)
	InsertProblem(ctx context.Context, facility uuid.UUID, p *Problem) error
	LockProblem(ctx context.Context, facility, id uuid.UUID) (Problem, error)
	// SetStatus updates the status of a problem at version; keep_history
	// archives the old row.
	SetStatus(ctx context.Context, facility uuid.UUID, p *Problem) error
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Service keeps the anamnesis and problems.
type Service struct {
	Store Store
	Codes *Codes
	Clock backend.Clock
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) denied(ctx context.Context, a *backend.Actor, action access.Action, resource string, id, resident uuid.UUID, cause error) error {
	ev := audit.By(a, string(action), resource, id.String(), resident, audit.Denied)
	ev.Detail = backend.AsError(cause).Code
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return err
	}
	return cause
}

// residentFor decides action on a resident: out of sight is
// resident.not_found, seen but not hers to act on is forbidden; both
// audited.
func (s *Service) residentFor(ctx context.Context, a *backend.Actor, action access.Action, id uuid.UUID) (access.Decision, error) {
	t, err := s.Store.Resident(ctx, a.FacilityID, id, a.StaffID)
	if backend.IsKind(err, backend.KindNotFound) {
		return access.Decision{}, s.denied(ctx, a, action, "resident", id, id, backend.ErrResidentNotFound())
	}
	if err != nil {
		return access.Decision{}, err
	}
	d, cerr := access.Check(a, action, t)
	if cerr != nil {
		return d, s.denied(ctx, a, action, "resident", id, id, cerr)
	}
	return d, nil
}

func (s *Service) audited(ctx context.Context, a *backend.Actor, action string, resident uuid.UUID, d access.Decision) error {
	ev := audit.By(a, action, "resident", resident.String(), resident, audit.Success)
	ev.BreakGlass = d.BreakGlass
	return s.Store.AppendAudit(ctx, ev)
}

// Anamnesis returns every section of a resident's anamnesis (unwritten ones
// empty, version 0). Audited as a read.
func (s *Service) Anamnesis(ctx context.Context, a *backend.Actor, resident uuid.UUID) (Anamnesis, error) {
	d, err := s.residentFor(ctx, a, access.ReadResident, resident)
	if err != nil {
		return Anamnesis{}, err
	}
	stored, err := s.Store.Anamnesis(ctx, a.FacilityID, resident)
	if err != nil {
		return Anamnesis{}, err
	}
	if err := s.audited(ctx, a, "anamnesis.read", resident, d); err != nil {
		return Anamnesis{}, err // no audit, no read
	}
	return Anamnesis{ResidentID: resident, Sections: complete(stored)}, nil
}

func complete(stored []AnamnesisSection) []AnamnesisSection {
	by := map[Section]AnamnesisSection{}
	for _, x := range stored {
		by[x.Section] = x
	}
	out := make([]AnamnesisSection, 0, len(Sections))
	for _, sec := range Sections {
		x, ok := by[sec]
		if !ok {
			x = AnamnesisSection{Section: sec}
		}
		out = append(out, x)
	}
	return out
}

// AnamnesisHistory lists every version of every section, newest first.
func (s *Service) AnamnesisHistory(ctx context.Context, a *backend.Actor, resident uuid.UUID) ([]HistoryEntry, error) {
	d, err := s.residentFor(ctx, a, access.ReadResident, resident)
	if err != nil {
		return nil, err
	}
	list, err := s.Store.AnamnesisHistory(ctx, a.FacilityID, resident)
	if err != nil {
		return nil, err
	}
	if err := s.audited(ctx, a, "anamnesis.history", resident, d); err != nil {
		return nil, err
	}
	return list, nil
}

// WriteSection replaces the text of one section under optimistic locking:
// version is the one read (0 for a section never written); a stale version
// is 409 version_conflict. Physicians, nurses and ward leads on their own
// ward (access.EditResident).
func (s *Service) WriteSection(ctx context.Context, a *backend.Actor, resident uuid.UUID, sec Section, w SectionWrite) (AnamnesisSection, error) {
	if !ValidSection(sec) {
		return AnamnesisSection{}, backend.E(backend.KindNotFound, "anamnesis.unknown_section")
	}
	if err := w.Validate(); err != nil {
		return AnamnesisSection{}, err
	}
	if _, err := s.residentFor(ctx, a, access.EditResident, resident); err != nil {
		return AnamnesisSection{}, err
	}
	var out AnamnesisSection
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		var err error
		out, err = tx.WriteSection(ctx, a.FacilityID, resident, sec, w, a.StaffID, s.now())
		if err != nil {
			return err
		}
		ev := audit.By(a, "anamnesis.write", "anamnesis_section", out.ID.String(), resident, audit.Success)
		ev.Detail = string(sec)
		return tx.AppendAudit(ctx, ev)
	})
	return out, err
}

// Problems lists a resident's problems, entered-in-error ones included
// (flagged by their status), oldest first. Audited as a read.
func (s *Service) Problems(ctx context.Context, a *backend.Actor, resident uuid.UUID) ([]Problem, error) {
	d, err := s.residentFor(ctx, a, access.ReadResident, resident)
	if err != nil {
		return nil, err
	}
	list, err := s.Store.Problems(ctx, a.FacilityID, resident)
	if err != nil {
		return nil, err
	}
	if err := s.audited(ctx, a, "problems.read", resident, d); err != nil {
		return nil, err
	}
	return list, nil
}

// Record records a problem. Who may: see WriteAction. With an idempotency
// key (uuid.Nil: none) it is recorded once under retries: a replay answers
// the first answer (replayed true); the same key with another request is
// idempotency.key_reused.
func (s *Service) Record(ctx context.Context, a *backend.Actor, resident, key uuid.UUID, hash []byte, n NewProblem) (Problem, bool, error) {
	const op = "problem.record"
	now := s.now()
	if err := n.Validate(s.Codes, now); err != nil {
		return Problem{}, false, err
	}
	if _, err := s.residentFor(ctx, a, WriteAction(n.Kind), resident); err != nil {
		return Problem{}, false, err
	}
	var replay bool
	p := Problem{ID: uuid.New(), ResidentID: resident, Kind: n.Kind, Code: n.Code, Description: n.Description,
		Onset: n.Onset, Status: n.Status, Version: 1, RecordedBy: a.StaffID, RecordedAt: now, UpdatedBy: a.StaffID, UpdatedAt: now}
	err := s.Store.Tx(ctx, a, func(tx Tx) error {
		replay = false
		if key != uuid.Nil {
			stored, err := tx.LockKey(ctx, a.FacilityID, a.StaffID, key)
			if err != nil {
				return err
			}
			if stored != nil {
				if err := stored.Replay(op, hash, &p); err != nil {
					return err
				}
				replay = true
				return nil
			}
		}
		if err := tx.InsertProblem(ctx, a.FacilityID, &p); err != nil {
			return err
		}
		ev := audit.By(a, "problem.record", "problem", p.ID.String(), resident, audit.Success)
		ev.Detail = string(p.Kind)
		if err := tx.AppendAudit(ctx, ev); err != nil {
			return err
		}
		if key == uuid.Nil {
			return nil
		}
		body, err := json.Marshal(p)
		if err != nil {
			return backend.Internal(err, "marshal problem")
		}
		return tx.SaveResponse(ctx, a.FacilityID, a.StaffID, key, StoredResponse{Operation: op, Hash: hash, Body: body})
	})
	if err != nil {
		return Problem{}, false, err
	}
	return p, replay, nil
}

// SetStatus moves a problem to another status under optimistic locking.
// Entered in error needs a reason and is final. Who may: as for recording
// a problem of its kind.
func (s *Service) SetStatus(ctx context.Context, a *backend.Actor, id uuid.UUID, c StatusChange) (Problem, error) {
	if err := c.Validate(); err != nil {
		return Problem{}, err
	}
	notFound := backend.E(backend.KindNotFound, "problem.not_found")
	resident, kind, err := s.Store.ProblemResident(ctx, a.FacilityID, id)
	if backend.IsKind(err, backend.KindNotFound) {
		return Problem{}, s.denied(ctx, a, access.ReadResident, "problem", id, uuid.Nil, notFound)
	}
	if err != nil {
		return Problem{}, err
	}
	// Visibility first, so that an unseen resident's problem is 404 whatever
	// its kind; then the kind's rule inside the transaction.
	if _, err := s.residentFor(ctx, a, access.ReadResident, resident); err != nil {
		if backend.IsKind(err, backend.KindNotFound) {
			return Problem{}, notFound
		}
		return Problem{}, err
	}
	if _, err := s.residentFor(ctx, a, WriteAction(kind), resident); err != nil {
		return Problem{}, err
	}
	var p Problem
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		var err error
		p, err = tx.LockProblem(ctx, a.FacilityID, id)
		if err != nil {
			return err
		}
		if p.Version != c.Version {
			return backend.E(backend.KindConflict, backend.CodeVersionConflict, "the problem was changed by someone else; reload it")
		}
		if p.Status == EnteredInError {
			return backend.E(backend.KindConflict, "problem.entered_in_error", "this problem was entered in error and is closed")
		}
		if p.Status == c.Status {
			return backend.E(backend.KindUnprocessable, "problem.same_status", "the problem already has this status")
		}
		p.Status, p.StatusReason, p.UpdatedBy, p.UpdatedAt = c.Status, c.Reason, a.StaffID, s.now()
		if err := tx.SetStatus(ctx, a.FacilityID, &p); err != nil {
			return err
		}
		ev := audit.By(a, "problem.status", "problem", p.ID.String(), resident, audit.Success)
		ev.Detail = string(c.Status)
		return tx.AppendAudit(ctx, ev)
	})
	return p, err
}

// SearchCodes searches the ICD-9-CM subset (at most 50 codes): reference
// data, no resident, for any clinical role.
func (s *Service) SearchCodes(a *backend.Actor, q string) ([]Code, error) {
	if !access.Can(a, access.ReadResident) {
		return nil, backend.E(backend.KindForbidden, backend.CodeForbidden)
	}
	if !textOK(q, 100) {
		return nil, invalid("icd9cm.invalid_query", "q", "at most 100 characters of text")
	}
	return s.Codes.Search(q, 50), nil
}
