package mobileapi

import (
	"strings"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/vitals"
	"github.com/gofiber/fiber/v2"
)

func (s *Server) recordVitals(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	key, hash, err := idempotencyKey(c, "POST /v1/residents/{id}/vitals "+id.String())
	if err != nil {
		return err
	}
	var req vitals.RecordRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	rec, replay, err := s.Vitals.Record(c.UserContext(), actor(c), id, key, hash, req)
	if err != nil {
		return err
	}
	if replay {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.Status(fiber.StatusCreated).JSON(rec)
}

func (s *Server) vitalsTrends(c *fiber.Ctx) error {
	id, err := s.residentID(c)
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
	// Copied: fasthttp reuses the query's memory after the handler returns.
	kind := vitals.Kind(strings.Clone(c.Query("kind")))
	t, err := s.Vitals.Trends(c.UserContext(), actor(c), id, kind, from, to)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (s *Server) vitalsEnteredInError(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "vitals.not_found")
	if err != nil {
		return err
	}
	var req reasonJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	rec, err := s.Vitals.EnteredInError(c.UserContext(), actor(c), id, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(rec)
}

func (s *Server) wardVitalsLatest(c *fiber.Ctx) error {
	id, err := pathID(c, "id", backend.CodeWardNotFound)
	if err != nil {
		return err
	}
	list, err := s.Vitals.WardLatest(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"ward_id": id, "residents": list})
}
