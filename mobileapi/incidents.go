package mobileapi

import (
	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/incident"
	"github.com/gofiber/fiber/v2"
)

func (s *Server) recordIncident(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	key, hash, err := idempotencyKey(c, "POST /v1/residents/{id}/incidents "+id.String())
	if err != nil {
		return err
	}
	var req incident.RecordRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	in, replay, err := s.Incidents.Record(c.UserContext(), actor(c), id, key, hash, req)
	if err != nil {
		return err
	}
	if replay {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.Status(fiber.StatusCreated).JSON(in)
}

func (s *Server) residentIncidents(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	list, err := s.Incidents.List(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"resident_id": id, "incidents": list})
}

func (s *Server) incidentEnteredInError(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "incident.not_found")
	if err != nil {
		return err
	}
	var req reasonJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	in, err := s.Incidents.EnteredInError(c.UserContext(), actor(c), id, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(in)
}

func (s *Server) wardIncidents(c *fiber.Ctx) error {
	id, err := pathID(c, "id", backend.CodeWardNotFound)
	if err != nil {
		return err
	}
	from, err := queryTime(c, "from")
	if err != nil {
		return err
	}
	to, err := queryTime(c, "to")
	if err != nil {
		return err
	}
	list, from, to, err := s.Incidents.WardList(c.UserContext(), actor(c), id, from, to)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"ward_id": id, "from": from, "to": to, "incidents": list})
}
