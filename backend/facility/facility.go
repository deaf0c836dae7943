// Package facility is the structure of a care home and the people and
// devices in it: the facility (the tenant), its wards and beds, staff with
// their roles and ward assignments, and enrolled devices. Admins manage staff
// and devices here; nobody reads resident data through this package.
package facility

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/auth"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/google/uuid"
)

// Facility is a care home: the tenant every row belongs to.
type Facility struct {
	ID       uuid.UUID
	Code     string
	Name     string
	Kind     string
	TimeZone string
}

// Ward is a nucleo or reparto.
type Ward struct {
	ID       uuid.UUID
	Code     string
	Name     string
	Floor    int
	Beds     int
	Occupied int
}

// Member is a staff member as admins see her.
type Member struct {
	ID            uuid.UUID
	Username      string
	GivenName     string
	FamilyName    string
	Roles         []backend.Role
	WardIDs       []uuid.UUID
	BadgeCode     string
	ProfessionReg string
	HasPIN        bool
	Active        bool
	Version       int
}

// NewMember is a staff member to create. Password and PIN are hashed before
// they reach the store.
type NewMember struct {
	Member
	Password string
	PIN      string
}

// Device is an enrolled tablet, phone or workstation.
type Device struct {
	ID         uuid.UUID
	Name       string
	Kind       string
	WardID     uuid.UUID
	EnrolledAt time.Time
	RevokedAt  time.Time
	LastSeenAt time.Time
}

// Store persists the facility's structure, staff and devices. Writes take
// the audit event to write in the same transaction.
type Store interface {
	Wards(ctx context.Context, facility uuid.UUID) ([]Ward, error)
	Members(ctx context.Context, facility uuid.UUID) ([]Member, error)
	InsertMember(ctx context.Context, facility uuid.UUID, m Member, passwordHash, pinHash string, ev audit.Event) error
	// UpdateMember changes roles, wards and active state if the member's
	// version is still m.Version; deactivating also revokes her sessions.
	UpdateMember(ctx context.Context, facility uuid.UUID, m *Member, ev audit.Event) error
	Devices(ctx context.Context, facility uuid.UUID) ([]Device, error)
	InsertDevice(ctx context.Context, facility uuid.UUID, d Device, secretHash []byte, by uuid.UUID, ev audit.Event) error
	// RevokeDevice marks the device revoked and revokes its sessions.
	RevokeDevice(ctx context.Context, facility, id, by uuid.UUID, ev audit.Event) error
	// PrintBadge locks the member, assigns her GSRN if due, records the
	// print and calls fn with the badge data; fn's event is written in the
	// same transaction.
	PrintBadge(ctx context.Context, facility, id, by, device uuid.UUID, format, stock string, fn func(BadgeData) (audit.Event, error)) error
	// Colleague finds an active staff member by badge code or GSRN.
	Colleague(ctx context.Context, facility uuid.UUID, badge, gsrn string) (Colleague, error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Service manages the facility's wards, staff and devices.
type Service struct {
	Store  Store
	Hasher *auth.Hasher
}

// Wards returns the wards the actor may see: her assigned wards, or every
// ward for roles that see the whole facility and for admins and auditors
// (ward names are not clinical data; residents stay out of their reach).
func (s *Service) Wards(ctx context.Context, a *backend.Actor) ([]Ward, error) {
	if !access.Can(a, access.ReadWards) {
		return nil, backend.E(backend.KindForbidden, backend.CodeForbidden)
	}
	all, err := s.Store.Wards(ctx, a.FacilityID)
	if err != nil {
		return nil, err
	}
	if !access.Can(a, access.ReadResident) {
		// Admins and auditors get the structure, not who is in it.
		for i := range all {
			all[i].Occupied = 0
		}
		return all, nil
	}
	if access.SeesWholeFacility(a) {
		return all, nil
	}
	out := all[:0]
	for _, w := range all {
		if a.AssignedTo(w.ID) {
			out = append(out, w)
		}
	}
	return out, nil
}

func (s *Service) mustManage(a *backend.Actor, action access.Action) error {
	if !access.Can(a, action) {
		return backend.E(backend.KindForbidden, backend.CodeForbidden)
	}
	return nil
}

// Members lists the facility's staff (admins only).
func (s *Service) Members(ctx context.Context, a *backend.Actor) ([]Member, error) {
	if err := s.mustManage(a, access.ManageStaff); err != nil {
		return nil, err
	}
	return s.Store.Members(ctx, a.FacilityID)
}

var usernameShape = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,62}$`)

func validRoles(roles []backend.Role) error {
	if len(roles) == 0 {
		return backend.Invalid("staff.invalid", "roles", "at least one role")
	}
	for _, r := range roles {
		if !backend.ValidRole(r) {
			return backend.Invalid("staff.invalid", "roles", "unknown role "+string(r))
		}
	}
	return nil
}

// CreateMember adds a staff member with a fresh badge identifier.
func (s *Service) CreateMember(ctx context.Context, a *backend.Actor, n NewMember) (Member, error) {
	if err := s.mustManage(a, access.ManageStaff); err != nil {
		return Member{}, err
	}
	n.Username = strings.ToLower(strings.TrimSpace(n.Username))
	switch {
	case !usernameShape.MatchString(n.Username):
		return Member{}, backend.Invalid("staff.invalid", "username", "2–63 of a-z 0-9 . _ -")
	case strings.TrimSpace(n.GivenName) == "" || strings.TrimSpace(n.FamilyName) == "":
		return Member{}, backend.Invalid("staff.invalid", "given_name", "names are required")
	case len(n.Password) < 12 || len(n.Password) > 256:
		return Member{}, backend.Invalid("staff.weak_password", "password", "at least 12 characters")
	case n.PIN != "" && !auth.ValidPIN(n.PIN):
		return Member{}, backend.Invalid("staff.invalid", "pin", "4 to 6 digits")
	}
	if err := validRoles(n.Roles); err != nil {
		return Member{}, err
	}
	pw, err := s.Hasher.Hash(ctx, n.Password)
	if err != nil {
		return Member{}, err
	}
	var pin string
	if n.PIN != "" {
		if pin, err = s.Hasher.Hash(ctx, n.PIN); err != nil {
			return Member{}, err
		}
	}
	m := n.Member
	m.ID, m.BadgeCode, m.Active, m.HasPIN, m.Version = uuid.New(), codes.NewIdent(codes.BadgePrefix), true, pin != "", 1
	ev := audit.By(a, "staff.create", "staff", m.ID.String(), uuid.Nil, audit.Success)
	ev.Detail = accessDetail(m.Roles, m.WardIDs, true)
	if err := s.Store.InsertMember(ctx, a.FacilityID, m, pw, pin, ev); err != nil {
		return Member{}, err
	}
	return m, nil
}

// UpdateMember sets roles, wards and active state. version is the version
// the admin saw; a concurrent change answers 409. Disabling a member ends
// her sessions at once.
func (s *Service) UpdateMember(ctx context.Context, a *backend.Actor, id uuid.UUID, version int, roles []backend.Role, wards []uuid.UUID, active bool) (Member, error) {
	if err := s.mustManage(a, access.ManageStaff); err != nil {
		return Member{}, err
	}
	if err := validRoles(roles); err != nil {
		return Member{}, err
	}
	// Nobody changes her own access: an admin cannot grant herself a
	// clinical role, nor disable herself by mistake.
	if id == a.StaffID {
		return Member{}, backend.E(backend.KindForbidden, "staff.self_change", "another admin must change your access")
	}
	m := Member{ID: id, Roles: roles, WardIDs: wards, Active: active, Version: version}
	detail := "update"
	if !active {
		detail = "disable"
	}
	ev := audit.By(a, "staff."+detail, "staff", id.String(), uuid.Nil, audit.Success)
	ev.Detail = accessDetail(roles, wards, active)
	if err := s.Store.UpdateMember(ctx, a.FacilityID, &m, ev); err != nil {
		return Member{}, err
	}
	return m, nil
}

// accessDetail summarises granted access for the audit trail.
func accessDetail(roles []backend.Role, wards []uuid.UUID, active bool) string {
	rs := make([]string, len(roles))
	for i, r := range roles {
		rs[i] = string(r)
	}
	ws := make([]string, len(wards))
	for i, w := range wards {
		ws[i] = w.String()
	}
	return fmt.Sprintf("roles=%s wards=%s active=%t", strings.Join(rs, ","), strings.Join(ws, ","), active)
}

// Colleague is who a scanned badge belongs to: enough to put a name on a
// witness or a handover, nothing more.
type Colleague struct {
	ID         uuid.UUID
	GivenName  string
	FamilyName string
	Roles      []backend.Role
}

// Identify resolves a badge (our identifier or a GSRN for AI 8017) to an
// active colleague of the same facility.
func (s *Service) Identify(ctx context.Context, a *backend.Actor, badge, gsrn string) (Colleague, error) {
	if a == nil {
		return Colleague{}, backend.E(backend.KindUnauthorized, "auth.unauthorized")
	}
	return s.Store.Colleague(ctx, a.FacilityID, badge, gsrn)
}

// BadgeData is what goes on a staff badge.
type BadgeData struct {
	Member   Member
	GSRN     string // 18 digits for AI 8017, "" without a GS1 company prefix
	Facility string
	Copy     int
}

// BadgeRender renders a badge in a format on a stock (backend/label).
type BadgeRender func(b BadgeData, format, stock string) ([]byte, string, error)

// PrintBadge renders a staff badge and records the print with its audit
// event in one transaction (admins only). A badge that fails to render is
// not counted.
func (s *Service) PrintBadge(ctx context.Context, a *backend.Actor, id uuid.UUID, format, stock string, render BadgeRender) ([]byte, string, int, error) {
	if err := s.mustManage(a, access.ManageStaff); err != nil {
		return nil, "", 0, err
	}
	ev := audit.By(a, "staff.badge", "staff", id.String(), uuid.Nil, audit.Success)
	var data []byte
	var ct string
	var copyNo int
	err := s.Store.PrintBadge(ctx, a.FacilityID, id, a.StaffID, a.DeviceID, format, stock, func(b BadgeData) (audit.Event, error) {
		var err error
		if data, ct, err = render(b, format, stock); err != nil {
			return audit.Event{}, err
		}
		copyNo = b.Copy
		ev.Detail = fmt.Sprintf("copy %d %s", b.Copy, format)
		return ev, nil
	})
	return data, ct, copyNo, err
}

var deviceKinds = []string{"ward_tablet", "phone", "workstation"}

// Enrol registers a device and returns it with its credential, shown once:
// "device-id.secret", which the device sends in X-Device-Credential.
func (s *Service) Enrol(ctx context.Context, a *backend.Actor, name, kind string, ward uuid.UUID) (Device, string, error) {
	if err := s.mustManage(a, access.ManageDevices); err != nil {
		return Device{}, "", err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return Device{}, "", backend.Invalid("device.invalid", "name", "1–100 characters")
	}
	ok := false
	for _, k := range deviceKinds {
		ok = ok || k == kind
	}
	if !ok {
		return Device{}, "", backend.Invalid("device.invalid", "kind", "ward_tablet, phone or workstation")
	}
	d := Device{ID: uuid.New(), Name: name, Kind: kind, WardID: ward, EnrolledAt: time.Now()}
	secret, digest := auth.NewToken("")
	ev := audit.By(a, "device.enrol", "device", d.ID.String(), uuid.Nil, audit.Success)
	if err := s.Store.InsertDevice(ctx, a.FacilityID, d, digest, a.StaffID, ev); err != nil {
		return Device{}, "", err
	}
	return d, d.ID.String() + "." + secret, nil
}

// Devices lists the facility's devices (admins only).
func (s *Service) Devices(ctx context.Context, a *backend.Actor) ([]Device, error) {
	if err := s.mustManage(a, access.ManageDevices); err != nil {
		return nil, err
	}
	return s.Store.Devices(ctx, a.FacilityID)
}

// Revoke retires a lost or stolen device: its sessions end on their next
// request and its credential no longer signs anyone in.
func (s *Service) Revoke(ctx context.Context, a *backend.Actor, id uuid.UUID) error {
	if err := s.mustManage(a, access.ManageDevices); err != nil {
		return err
	}
	ev := audit.By(a, "device.revoke", "device", id.String(), uuid.Nil, audit.Success)
	return s.Store.RevokeDevice(ctx, a.FacilityID, id, a.StaffID, ev)
}
