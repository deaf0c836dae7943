package timeline

import (
	"context"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/document"
	"github.com/google/uuid"
)

// Store reads the feed.
type Store interface {
	// Resident describes a resident for an access decision (with the
	// actor's live break-the-glass grant); not found when absent.
	Resident(ctx context.Context, facility, id, staff uuid.UUID) (access.Target, error)
	// Page reads the items f selects, newest first by (at, kind, id), at
	// most f.Limit of them, with the diary and oscuramento rules applied.
	Page(ctx context.Context, f Filter) ([]Row, error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Service reads residents' timelines.
type Service struct {
	Store Store
	Clock backend.Clock
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now()
	}
	return s.Clock.Now()
}

// Action is the audit action of a timeline read.
const Action = "timeline.read"

// denied records a refused read and returns cause.
func (s *Service) denied(ctx context.Context, a *backend.Actor, resident uuid.UUID, cause error) error {
	ev := audit.By(a, Action, "resident", resident.String(), resident, audit.Denied)
	ev.Detail = backend.AsError(cause).Code
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return err
	}
	return cause
}

// Page reads one page of a resident's timeline for a: 404
// resident.not_found (audited) when she may not see the resident, exactly
// as for one that does not exist. Diary entries of professions a does not
// read and documents hidden from her roles are left out by the store before
// anything is counted, so that neither the page nor its cursor betrays
// them. One audit event per page.
func (s *Service) Page(ctx context.Context, a *backend.Actor, residentID uuid.UUID, q Query) (Page, error) {
	q, err := q.Normalise(s.now())
	if err != nil {
		return Page{}, err
	}
	t, err := s.Store.Resident(ctx, a.FacilityID, residentID, a.StaffID)
	if backend.IsKind(err, backend.KindNotFound) {
		return Page{}, s.denied(ctx, a, residentID, backend.ErrResidentNotFound())
	}
	if err != nil {
		return Page{}, err
	}
	d := access.Decide(a, access.ReadResident, t)
	if !d.Allowed {
		return Page{}, s.denied(ctx, a, residentID, backend.ErrResidentNotFound())
	}
	f := Filter{FacilityID: a.FacilityID, ResidentID: residentID, From: q.From, To: q.To, Kinds: q.Kinds,
		Limit: q.Limit + 1, Professions: []string{}, DocumentRoles: document.ReadingRoles(a.Roles)}
	for _, p := range access.ReadableProfessions(a) {
		f.Professions = append(f.Professions, string(p))
	}
	if f.DocumentRoles == nil {
		f.DocumentRoles = []string{}
	}
	// A cursor at or after the end of the period adds nothing: the page
	// starts at To.
	if q.Cursor != nil && q.Cursor.At.Before(q.To) {
		f.After = q.Cursor
	}
	rows, err := s.Store.Page(ctx, f)
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: make([]Item, 0, min(len(rows), q.Limit)), From: q.From, To: q.To}
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
		last := rows[len(rows)-1]
		next := Cursor{At: last.At, Kind: last.Kind, ID: last.ID}.String()
		page.Next = &next
	}
	for _, r := range rows {
		page.Items = append(page.Items, ToItem(r, q.Lang))
	}
	ev := audit.By(a, Action, "resident", residentID.String(), residentID, audit.Success)
	ev.BreakGlass = d.BreakGlass
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return Page{}, err // no audit, no read
	}
	return page, nil
}
