package mobileapi

import (
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/facility"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

type memberJSON struct {
	ID            uuid.UUID   `json:"id"`
	Username      string      `json:"username"`
	GivenName     string      `json:"given_name"`
	FamilyName    string      `json:"family_name"`
	Roles         []string    `json:"roles"`
	WardIDs       []uuid.UUID `json:"ward_ids"`
	Badge         string      `json:"badge,omitempty"`
	ProfessionReg string      `json:"profession_reg,omitempty"`
	HasPIN        bool        `json:"has_pin"`
	Active        bool        `json:"active"`
	Version       int         `json:"version"`
}

func toMember(m facility.Member) memberJSON {
	out := memberJSON{ID: m.ID, Username: m.Username, GivenName: m.GivenName, FamilyName: m.FamilyName,
		Roles: []string{}, WardIDs: m.WardIDs, Badge: m.BadgeCode, ProfessionReg: m.ProfessionReg, HasPIN: m.HasPIN,
		Active: m.Active, Version: m.Version}
	for _, r := range m.Roles {
		out.Roles = append(out.Roles, string(r))
	}
	if out.WardIDs == nil {
		out.WardIDs = []uuid.UUID{}
	}
	return out
}

func (s *Server) listStaff(c *fiber.Ctx) error {
	ms, err := s.Facility.Members(c.UserContext(), actor(c))
	if err != nil {
		return err
	}
	out := make([]memberJSON, len(ms))
	for i, m := range ms {
		out[i] = toMember(m)
	}
	return c.JSON(fiber.Map{"staff": out})
}

type newMemberJSON struct {
	Username      string      `json:"username"`
	GivenName     string      `json:"given_name"`
	FamilyName    string      `json:"family_name"`
	Roles         []string    `json:"roles"`
	WardIDs       []uuid.UUID `json:"ward_ids"`
	Password      string      `json:"password"`
	PIN           string      `json:"pin"`
	ProfessionReg string      `json:"profession_reg"`
}

func roles(rs []string) []backend.Role {
	out := make([]backend.Role, len(rs))
	for i, r := range rs {
		out[i] = backend.Role(r)
	}
	return out
}

func (s *Server) createStaff(c *fiber.Ctx) error {
	var req newMemberJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	m, err := s.Facility.CreateMember(c.UserContext(), actor(c), facility.NewMember{
		Member: facility.Member{Username: req.Username, GivenName: req.GivenName, FamilyName: req.FamilyName,
			Roles: roles(req.Roles), WardIDs: req.WardIDs, ProfessionReg: req.ProfessionReg},
		Password: req.Password, PIN: req.PIN})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toMember(m))
}

type memberAccessJSON struct {
	Version int          `json:"version"`
	Roles   []string     `json:"roles"`
	WardIDs *[]uuid.UUID `json:"ward_ids"`
	Active  *bool        `json:"active"`
}

func (s *Server) updateStaff(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "staff.not_found")
	if err != nil {
		return err
	}
	var req memberAccessJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := requireVersion(req.Version); err != nil {
		return err
	}
	// Every field is required: a forgotten "active" must never disable an
	// account, nor a forgotten "ward_ids" clear a nurse's wards.
	if req.Active == nil || req.WardIDs == nil || req.Roles == nil {
		return backend.Invalid("staff.invalid", "active", "version, roles, ward_ids and active are all required")
	}
	m, err := s.Facility.UpdateMember(c.UserContext(), actor(c), id, req.Version, roles(req.Roles), *req.WardIDs, *req.Active)
	if err != nil {
		return err
	}
	return c.JSON(toMember(m))
}

type deviceJSON struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	Kind       string     `json:"kind"`
	WardID     *uuid.UUID `json:"ward_id"`
	EnrolledAt time.Time  `json:"enrolled_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastSeenAt *time.Time `json:"last_seen_at"`
	Credential string     `json:"credential,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toDevice(d facility.Device) deviceJSON {
	return deviceJSON{ID: d.ID, Name: d.Name, Kind: d.Kind, WardID: optID(d.WardID), EnrolledAt: d.EnrolledAt,
		RevokedAt: optTime(d.RevokedAt), LastSeenAt: optTime(d.LastSeenAt)}
}

func (s *Server) listDevices(c *fiber.Ctx) error {
	ds, err := s.Facility.Devices(c.UserContext(), actor(c))
	if err != nil {
		return err
	}
	out := make([]deviceJSON, len(ds))
	for i, d := range ds {
		out[i] = toDevice(d)
	}
	return c.JSON(fiber.Map{"devices": out})
}

type enrolJSON struct {
	Name   string     `json:"name"`
	Kind   string     `json:"kind"`
	WardID *uuid.UUID `json:"ward_id"`
}

// enrolDevice returns the device's credential once; it is stored hashed.
func (s *Server) enrolDevice(c *fiber.Ctx) error {
	var req enrolJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	ward := uuid.Nil
	if req.WardID != nil {
		ward = *req.WardID
	}
	d, cred, err := s.Facility.Enrol(c.UserContext(), actor(c), req.Name, req.Kind, ward)
	if err != nil {
		return err
	}
	out := toDevice(d)
	out.Credential = cred
	return c.Status(fiber.StatusCreated).JSON(out)
}

func (s *Server) revokeDevice(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "device.not_found")
	if err != nil {
		return err
	}
	if err := s.Facility.Revoke(c.UserContext(), actor(c), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
