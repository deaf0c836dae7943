package mobileapi

import (
	"strings"

	"github.com/corsia-cce/corsia/backend/problem"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

func (s *Server) getAnamnesis(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	a, err := s.Problems.Anamnesis(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(a)
}

func (s *Server) anamnesisHistory(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	list, err := s.Problems.AnamnesisHistory(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"resident_id": id, "versions": list})
}

func (s *Server) putAnamnesisSection(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	// Copied: fasthttp reuses the path's memory after the handler returns.
	sec := problem.Section(strings.Clone(c.Params("section")))
	var w problem.SectionWrite
	if err := decode(c, &w); err != nil {
		return err
	}
	out, err := s.Problems.WriteSection(c.UserContext(), actor(c), id, sec, w)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *Server) listProblems(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	list, err := s.Problems.Problems(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"resident_id": id, "problems": list})
}

func (s *Server) recordProblem(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	// The key is optional: with one, a retry records nothing twice.
	var key uuid.UUID
	var hash []byte
	if c.Get(HeaderIdempotencyKey) != "" {
		if key, hash, err = idempotencyKey(c, "POST /v1/residents/{id}/problems "+id.String()); err != nil {
			return err
		}
	}
	var n problem.NewProblem
	if err := decode(c, &n); err != nil {
		return err
	}
	p, replay, err := s.Problems.Record(c.UserContext(), actor(c), id, key, hash, n)
	if err != nil {
		return err
	}
	if replay {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (s *Server) problemStatus(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "problem.not_found")
	if err != nil {
		return err
	}
	var req problem.StatusChange
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := s.Problems.SetStatus(c.UserContext(), actor(c), id, req)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *Server) searchICD9(c *fiber.Ctx) error {
	codes, err := s.Problems.SearchCodes(actor(c), c.Query("q"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"codes": codes})
}
