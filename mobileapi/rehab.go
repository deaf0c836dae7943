package mobileapi

import (
	"github.com/corsia-cce/corsia/backend/rehab"
	"github.com/gofiber/fiber/v2"
)

func (s *Server) createRehabPlan(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	var req rehab.PlanRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := s.Rehab.CreatePlan(c.UserContext(), actor(c), id, req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (s *Server) rehabPlans(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	list, err := s.Rehab.Plans(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"resident_id": id, "plans": list})
}

func (s *Server) recordRehabSession(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	key, hash, err := idempotencyKey(c, "POST /v1/residents/{id}/rehab/sessions "+id.String())
	if err != nil {
		return err
	}
	var req rehab.SessionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ss, replay, err := s.Rehab.RecordSession(c.UserContext(), actor(c), id, key, hash, req)
	if err != nil {
		return err
	}
	if replay {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.Status(fiber.StatusCreated).JSON(ss)
}

func (s *Server) rehabSessions(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	list, err := s.Rehab.Sessions(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"resident_id": id, "sessions": list})
}

func (s *Server) rehabSessionEnteredInError(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "rehab.session_not_found")
	if err != nil {
		return err
	}
	var req reasonJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	ss, err := s.Rehab.EnteredInError(c.UserContext(), actor(c), id, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(ss)
}

func (s *Server) rehabDay(c *fiber.Ctx) error {
	day, err := s.Rehab.DayList(c.UserContext(), actor(c), c.Query("date"))
	if err != nil {
		return err
	}
	return c.JSON(day)
}
