// Package guard takes a resident through access and audit for the
// clinical services: look her up, decide the action with backend/access,
// audit a refusal as a refusal, and answer a resident the caller may not
// see exactly like one that does not exist. One implementation, so that
// every part of the record refuses the same way.
package guard

import (
	"context"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
)

// ResidentFacts is what a service needs to know of a resident to decide
// access on her.
type ResidentFacts struct {
	ID         uuid.UUID
	FacilityID uuid.UUID
	WardID     uuid.UUID
	Current    bool   // admitted or in hospital
	Grant      string // the caller's live break-the-glass reason, or ""
}

// Target is the resident as access.Decide reads her.
func (r ResidentFacts) Target() access.Target {
	return access.Target{FacilityID: r.FacilityID, WardID: r.WardID, Current: r.Current, GrantReason: r.Grant}
}

// Guard is a service's way to the resident and to the audit trail.
type Guard struct {
	// Lookup reads a resident of facility, with staff's live grant;
	// KindNotFound when there is none.
	Lookup func(ctx context.Context, facility, id, staff uuid.UUID) (ResidentFacts, error)
	// Audit appends events in their own transaction.
	Audit func(ctx context.Context, events ...audit.Event) error
}

// Denied audits a refused attempt, outside the attempt's transaction, and
// returns cause.
func (g Guard) Denied(ctx context.Context, a *backend.Actor, action access.Action, resource string, id, resident uuid.UUID, cause error) error {
	ev := audit.By(a, string(action), resource, id.String(), resident, audit.Denied)
	ev.Detail = backend.AsError(cause).Code
	if err := g.Audit(ctx, ev); err != nil {
		return err
	}
	return cause
}

// Resident loads a resident and decides action on her: out of sight is
// resident.not_found, seen but not hers to act on is forbidden; both are
// audited.
func (g Guard) Resident(ctx context.Context, a *backend.Actor, action access.Action, id uuid.UUID) (ResidentFacts, access.Decision, error) {
	r, err := g.Lookup(ctx, a.FacilityID, id, a.StaffID)
	if backend.IsKind(err, backend.KindNotFound) {
		return r, access.Decision{}, g.Denied(ctx, a, action, "resident", id, id, backend.ErrResidentNotFound())
	}
	if err != nil {
		return r, access.Decision{}, err
	}
	d, cerr := access.Check(a, action, r.Target())
	if cerr != nil {
		return r, d, g.Denied(ctx, a, action, "resident", id, id, cerr)
	}
	return r, d, nil
}
