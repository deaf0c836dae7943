package backend

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Role is a staff role. One person may hold several.
type Role string

const (
	RolePhysician Role = "physician"
	RoleNurse     Role = "nurse"
	RoleOSS       Role = "oss"
	RoleTherapist Role = "therapist"
	RoleWardLead  Role = "ward_lead"
	RoleDirector  Role = "director"
	RoleAdmin     Role = "admin"
	RoleAuditor   Role = "auditor"
)

// AllRoles lists every role, in a stable order.
var AllRoles = []Role{RolePhysician, RoleNurse, RoleOSS, RoleTherapist, RoleWardLead, RoleDirector, RoleAdmin, RoleAuditor}

// ValidRole reports whether r is one of AllRoles.
func ValidRole(r Role) bool { return slices.Contains(AllRoles, r) }

// Actor is the authenticated person behind a request or a job: who, in which
// facility, with which roles and wards, from which device. It is resolved
// afresh from the database on every request.
type Actor struct {
	StaffID    uuid.UUID
	FacilityID uuid.UUID
	SessionID  uuid.UUID
	DeviceID   uuid.UUID // uuid.Nil when not signed in from an enrolled device
	Username   string
	Roles      []Role
	WardIDs    []uuid.UUID
	IP         netip.Addr
	RequestID  string
}

// Has reports whether the actor holds role.
func (a *Actor) Has(role Role) bool { return slices.Contains(a.Roles, role) }

// AssignedTo reports whether the actor is assigned to ward.
func (a *Actor) AssignedTo(ward uuid.UUID) bool { return slices.Contains(a.WardIDs, ward) }

// RoleStrings returns the roles as strings, for storage.
func (a *Actor) RoleStrings() []string {
	out := make([]string, len(a.Roles))
	for i, r := range a.Roles {
		out[i] = string(r)
	}
	return out
}

type actorKey struct{}

// WithActor returns a context carrying the actor.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or nil.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// Clock tells the time. Services take one so tests can fix it.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

var zones sync.Map // time-zone name → *time.Location

// Zone loads a facility's IANA time zone once per process: time.LoadLocation
// reads the zone file from disk on every call, which a due list or a task
// list would otherwise do on every request.
func Zone(name string) (*time.Location, error) {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, Internal(err, "facility time zone")
	}
	zones.Store(name, l)
	return l, nil
}
