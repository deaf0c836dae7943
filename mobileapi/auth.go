package mobileapi

import (
	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/auth"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type badgeRequest struct {
	Badge string `json:"badge"`
	PIN   string `json:"pin"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

type userJSON struct {
	ID         uuid.UUID   `json:"id"`
	Username   string      `json:"username"`
	FacilityID uuid.UUID   `json:"facility_id"`
	Roles      []string    `json:"roles"`
	WardIDs    []uuid.UUID `json:"ward_ids"`
}

type tokenResponse struct {
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int      `json:"expires_in"`
	User         userJSON `json:"user"`
}

func toUser(a *backend.Actor) userJSON {
	wards := a.WardIDs
	if wards == nil {
		wards = []uuid.UUID{}
	}
	return userJSON{ID: a.StaffID, Username: a.Username, FacilityID: a.FacilityID, Roles: a.RoleStrings(), WardIDs: wards}
}

func tokens(c *fiber.Ctx, t auth.Tokens) error {
	return c.JSON(tokenResponse{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: "Bearer",
		ExpiresIn: int(t.ExpiresIn.Seconds()), User: toUser(&t.Actor)})
}

func (s *Server) login(c *fiber.Ctx) error {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	t, err := s.Auth.Login(c.UserContext(), s.client(c), req.Username, req.Password)
	if err != nil {
		return err
	}
	return tokens(c, t)
}

func (s *Server) badge(c *fiber.Ctx) error {
	var req badgeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	t, err := s.Auth.Badge(c.UserContext(), s.client(c), req.Badge, req.PIN)
	if err != nil {
		return err
	}
	return tokens(c, t)
}

func (s *Server) refresh(c *fiber.Ctx) error {
	var req refreshRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	t, err := s.Auth.Refresh(c.UserContext(), s.client(c), req.RefreshToken)
	if err != nil {
		return err
	}
	return tokens(c, t)
}

func (s *Server) logout(c *fiber.Ctx) error {
	if err := s.Auth.Logout(c.UserContext(), actor(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type meResponse struct {
	userJSON
	DeviceID *uuid.UUID   `json:"device_id"`
	Facility facilityJSON `json:"facility"`
}

type facilityJSON struct {
	ID       uuid.UUID `json:"id"`
	Code     string    `json:"code"`
	Name     string    `json:"name"`
	TimeZone string    `json:"time_zone"`
}

func (s *Server) me(c *fiber.Ctx) error {
	a := actor(c)
	f, err := s.FacilityInfo(c.UserContext(), a.FacilityID)
	if err != nil {
		return err
	}
	out := meResponse{userJSON: toUser(a), Facility: facilityJSON{ID: f.ID, Code: f.Code, Name: f.Name, TimeZone: f.TimeZone}}
	if a.DeviceID != uuid.Nil {
		d := a.DeviceID
		out.DeviceID = &d
	}
	return c.JSON(out)
}
