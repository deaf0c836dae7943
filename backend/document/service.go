package document

import (
	"context"
	"crypto/sha256"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
)

// Store reads documents outside transactions and opens transactions for
// writes. Every read of documents takes the caller's reading roles
// (ReadingRoles) and leaves out, in SQL, what is hidden from them: a hidden
// document is never even loaded for someone it is hidden from.
type Store interface {
	// Resident returns what an access decision on the resident needs;
	// not found when she does not exist in facility.
	Resident(ctx context.Context, facility, id, staff uuid.UUID) (access.Target, error)
	// List lists the resident's documents visible to roles, newest first.
	List(ctx context.Context, facility, resident uuid.UUID, roles []string) ([]Document, error)
	// Get reads one document visible to roles, with the target of its
	// resident; not found when absent or hidden.
	Get(ctx context.Context, facility, id, staff uuid.UUID, roles []string) (Document, access.Target, error)
	// Content reads the sealed content of a document.
	Content(ctx context.Context, facility, id uuid.UUID) ([]byte, error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
	Tx(ctx context.Context, actor *backend.Actor, fn func(Tx) error) error
}

// Tx is what a write transaction offers.
type Tx interface {
	// LockResident locks the resident for the transaction and returns her
	// target; not found when absent.
	LockResident(ctx context.Context, facility, id, staff uuid.UUID) (access.Target, error)
	// LockDocument locks a document visible to roles, with its resident's
	// target; not found when absent or hidden.
	LockDocument(ctx context.Context, facility, id, staff uuid.UUID, roles []string) (Document, access.Target, error)
	// ByIdempotencyKey finds the document the staff member uploaded under
	// key; not found when none.
	ByIdempotencyKey(ctx context.Context, facility, staff uuid.UUID, key string) (Document, error)
	InsertDocument(ctx context.Context, d *Document, sealed []byte) error
	InsertVisibility(ctx context.Context, facility, doc uuid.UUID, hiddenFrom []backend.Role, reason string, by uuid.UUID) error
	InsertCorrection(ctx context.Context, facility, doc uuid.UUID, reason string, by uuid.UUID) error
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Service applies the rules of the resident's documents.
type Service struct {
	Store Store
	Keys  *Keyring
	Clock backend.Clock
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now()
	}
	return s.Clock.Now()
}

// denied audits a refused attempt after its transaction rolled back.
func (s *Service) denied(ctx context.Context, a *backend.Actor, action, resourceType string, id, resident uuid.UUID, cause error) error {
	ev := audit.By(a, action, resourceType, id.String(), resident, audit.Denied)
	ev.Detail = backend.AsError(cause).Code
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return err
	}
	return cause
}

func denial(err error) bool {
	return backend.IsKind(err, backend.KindNotFound) || backend.IsKind(err, backend.KindForbidden)
}

var errForbidden = backend.E(backend.KindForbidden, backend.CodeForbidden, "your role does not allow this")

// Upload stores a document for the resident: checked by content, encrypted
// under a key derived for it, its hash kept. It needs UploadDocument on a
// resident of the uploader's own ward. With an idempotency key, a retry of
// the same upload returns the document stored the first time.
func (s *Service) Upload(ctx context.Context, a *backend.Actor, residentID uuid.UUID, u Upload) (Document, bool, error) {
	ct, err := u.Validate()
	if err != nil {
		return Document{}, false, err
	}
	sum := sha256.Sum256(u.Data)
	d := Document{FacilityID: a.FacilityID, ID: uuid.New(), ResidentID: residentID, Kind: u.Kind, Title: u.Title,
		DocumentDate: u.DocumentDate, ContentType: ct, Size: len(u.Data), SHA256: sum[:], UploadedBy: a.StaffID,
		UploadedAt: s.now(), Status: StatusCurrent, IdempotencyKey: u.IdempotencyKey}
	sealed, version, err := s.Keys.Seal(d.FacilityID, d.ResidentID, d.ID, u.Data)
	if err != nil {
		return Document{}, false, err
	}
	d.KeyVersion = version
	replayed := false
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		t, err := tx.LockResident(ctx, a.FacilityID, residentID, a.StaffID)
		if backend.IsKind(err, backend.KindNotFound) {
			return backend.ErrResidentNotFound()
		}
		if err != nil {
			return err
		}
		dec := access.Decide(a, access.UploadDocument, t)
		if !dec.Visible {
			return backend.ErrResidentNotFound()
		}
		if !dec.Allowed {
			return errForbidden
		}
		if u.IdempotencyKey != "" {
			prev, err := tx.ByIdempotencyKey(ctx, a.FacilityID, a.StaffID, u.IdempotencyKey)
			switch {
			case err == nil && (prev.ResidentID != residentID || string(prev.SHA256) != string(sum[:]) ||
				prev.Kind != u.Kind || prev.Title != u.Title):
				return backend.E(backend.KindUnprocessable, CodeIdempotency, "this Idempotency-Key was used for another upload")
			case err == nil:
				d, replayed = prev, true
				return nil
			case !backend.IsKind(err, backend.KindNotFound):
				return err
			}
		}
		if err := tx.InsertDocument(ctx, &d, sealed); err != nil {
			return err
		}
		ev := audit.By(a, string(access.UploadDocument), "document", d.ID.String(), residentID, audit.Success)
		ev.Detail = d.Kind
		return tx.AppendAudit(ctx, ev)
	})
	if denial(err) {
		return Document{}, false, s.denied(ctx, a, string(access.UploadDocument), "resident", residentID, residentID, err)
	}
	return d, replayed, err
}

// List lists the resident's documents the caller may see, newest first. It
// is an audited read of the resident; documents hidden from the caller's
// roles are not in it, and nothing in the answer counts them.
func (s *Service) List(ctx context.Context, a *backend.Actor, residentID uuid.UUID) ([]Document, error) {
	t, err := s.Store.Resident(ctx, a.FacilityID, residentID, a.StaffID)
	if err != nil && !backend.IsKind(err, backend.KindNotFound) {
		return nil, err
	}
	dec := access.Decide(a, access.ReadResident, t)
	if err != nil || !dec.Allowed {
		return nil, s.denied(ctx, a, "document.list", "resident", residentID, residentID, backend.ErrResidentNotFound())
	}
	list, err := s.Store.List(ctx, a.FacilityID, residentID, ReadingRoles(a.Roles))
	if err != nil {
		return nil, err
	}
	ev := audit.By(a, "document.list", "resident", residentID.String(), residentID, audit.Success)
	ev.BreakGlass = dec.BreakGlass
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return nil, err // no audit, no read
	}
	return list, nil
}

// get reads a document the caller may read: absent, hidden from her roles
// and of a resident out of her scope are all document.not_found, audited.
func (s *Service) get(ctx context.Context, a *backend.Actor, action string, id uuid.UUID) (Document, access.Decision, error) {
	d, t, err := s.Store.Get(ctx, a.FacilityID, id, a.StaffID, ReadingRoles(a.Roles))
	if err != nil && !backend.IsKind(err, backend.KindNotFound) {
		return Document{}, access.Decision{}, err
	}
	dec := access.Decide(a, access.ReadResident, t)
	if err != nil || !dec.Allowed {
		return Document{}, dec, s.denied(ctx, a, action, "document", id, uuid.Nil, ErrNotFound())
	}
	return d, dec, nil
}

// Get returns a document's metadata; an audited read.
func (s *Service) Get(ctx context.Context, a *backend.Actor, id uuid.UUID) (Document, error) {
	d, dec, err := s.get(ctx, a, "document.read", id)
	if err != nil {
		return Document{}, err
	}
	ev := audit.By(a, "document.read", "document", id.String(), d.ResidentID, audit.Success)
	ev.BreakGlass = dec.BreakGlass
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return Document{}, err
	}
	return d, nil
}

// Content returns a document with its decrypted content, checked against
// its hash. The download is an audited read of the resident, written before
// a byte is sent; a content that fails its integrity check is not sent and
// the failure is audited.
func (s *Service) Content(ctx context.Context, a *backend.Actor, id uuid.UUID) (Document, []byte, error) {
	d, dec, err := s.get(ctx, a, "document.download", id)
	if err != nil {
		return Document{}, nil, err
	}
	sealed, err := s.Store.Content(ctx, a.FacilityID, id)
	if err != nil {
		return Document{}, nil, err
	}
	plain, err := s.Keys.Open(d.FacilityID, d.ResidentID, d.ID, d.KeyVersion, sealed, d.SHA256)
	outcome := audit.Success
	if err != nil {
		outcome = audit.Failure
	}
	ev := audit.By(a, "document.download", "document", id.String(), d.ResidentID, outcome)
	ev.BreakGlass = dec.BreakGlass
	if err != nil {
		ev.Detail = CodeIntegrity
	}
	if aerr := s.Store.AppendAudit(ctx, ev); aerr != nil {
		return Document{}, nil, aerr
	}
	if err != nil {
		return Document{}, nil, err
	}
	return d, plain, nil
}

func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) < 5 || len(reason) > 500 || !utf8.ValidString(reason) {
		return "", backend.Invalid(CodeReasonRequired, "reason", "state the reason (5–500 characters)")
	}
	return reason, nil
}

// SetVisibility records a new oscuramento of the document: the roles it is
// hidden from from now on (empty: visible again), with a reason. Earlier
// ones are kept; the newest is in force. Physicians on their wards and the
// medical director may do it (access.DecideHide).
func (s *Service) SetVisibility(ctx context.Context, a *backend.Actor, id uuid.UUID, hiddenFrom []string, reason string) (Document, error) {
	roles, err := CheckHiddenFrom(hiddenFrom)
	if err != nil {
		return Document{}, err
	}
	if reason, err = checkReason(reason); err != nil {
		return Document{}, err
	}
	var out Document
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		d, t, err := tx.LockDocument(ctx, a.FacilityID, id, a.StaffID, ReadingRoles(a.Roles))
		if backend.IsKind(err, backend.KindNotFound) {
			return ErrNotFound()
		}
		if err != nil {
			return err
		}
		dec := access.DecideHide(a, t)
		if !dec.Visible {
			return ErrNotFound()
		}
		if !dec.Allowed {
			return errForbidden
		}
		if err := tx.InsertVisibility(ctx, a.FacilityID, id, roles, reason, a.StaffID); err != nil {
			return err
		}
		out = d
		out.HiddenFrom = roles
		ev := audit.By(a, string(access.HideDocument), "document", id.String(), d.ResidentID, audit.Success)
		ev.Detail = "hidden_from=" + joinRoles(roles)
		return tx.AppendAudit(ctx, ev)
	})
	if denial(err) {
		return Document{}, s.denied(ctx, a, string(access.HideDocument), "document", id, uuid.Nil, err)
	}
	return out, err
}

// EnterInError marks a document entered in error, with a reason: it stays,
// marked, never deleted. Whoever may upload documents for the resident may.
func (s *Service) EnterInError(ctx context.Context, a *backend.Actor, id uuid.UUID, reason string) (Document, error) {
	reason, err := checkReason(reason)
	if err != nil {
		return Document{}, err
	}
	var out Document
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		d, t, err := tx.LockDocument(ctx, a.FacilityID, id, a.StaffID, ReadingRoles(a.Roles))
		if backend.IsKind(err, backend.KindNotFound) {
			return ErrNotFound()
		}
		if err != nil {
			return err
		}
		dec := access.Decide(a, access.UploadDocument, t)
		if !dec.Visible {
			return ErrNotFound()
		}
		if !dec.Allowed {
			return errForbidden
		}
		if d.Status == StatusEnteredInError {
			return backend.E(backend.KindConflict, CodeAlreadyInError, "the document is already marked entered in error")
		}
		if err := tx.InsertCorrection(ctx, a.FacilityID, id, reason, a.StaffID); err != nil {
			return err
		}
		d.Status, d.StatusReason = StatusEnteredInError, reason
		out = d
		return tx.AppendAudit(ctx, audit.By(a, "document.entered_in_error", "document", id.String(), d.ResidentID, audit.Success))
	})
	if denial(err) {
		return Document{}, s.denied(ctx, a, "document.entered_in_error", "document", id, uuid.Nil, err)
	}
	return out, err
}

func joinRoles(roles []backend.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}
