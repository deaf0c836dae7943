package mobileapi

import (
	"github.com/corsia-cce/corsia/backend/careplan"
	"github.com/gofiber/fiber/v2"
)

// The care plan (PAI) and its care tasks: backend/careplan.

func (s *Server) carePlan(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	p, err := s.CarePlans.Current(c.UserContext(), actor(c), id, lang(c))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *Server) proposeCarePlan(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	key, hash, err := idempotencyKey(c, "POST /v1/residents/{id}/care-plan/versions "+id.String())
	if err != nil {
		return err
	}
	var req careplan.VersionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	v, replay, err := s.CarePlans.Propose(c.UserContext(), actor(c), id, key, hash, req)
	if err != nil {
		return err
	}
	if replay {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (s *Server) carePlanVersion(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "care_plan.not_found")
	if err != nil {
		return err
	}
	v, err := s.CarePlans.Version(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) signCarePlan(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "care_plan.not_found")
	if err != nil {
		return err
	}
	v, err := s.CarePlans.Sign(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) wardCareTasks(c *fiber.Ctx) error {
	id, err := wardID(c)
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
	l, err := s.CarePlans.WardTasks(c.UserContext(), actor(c), id, from, to)
	if err != nil {
		return err
	}
	return c.JSON(l)
}

func (s *Server) residentCareTasks(c *fiber.Ctx) error {
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
	l, err := s.CarePlans.ResidentTasks(c.UserContext(), actor(c), id, from, to)
	if err != nil {
		return err
	}
	return c.JSON(l)
}

func (s *Server) recordCareTask(c *fiber.Ctx) error {
	key, hash, err := idempotencyKey(c, "POST /v1/care-tasks")
	if err != nil {
		return err
	}
	var req careplan.RecordRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	r, replay, err := s.CarePlans.RecordTask(c.UserContext(), actor(c), key, hash, req)
	if err != nil {
		return err
	}
	if replay {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.Status(fiber.StatusCreated).JSON(r)
}

func (s *Server) careTaskEnteredInError(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "care_task.not_found")
	if err != nil {
		return err
	}
	var req reasonJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	r, err := s.CarePlans.EnteredInError(c.UserContext(), actor(c), id, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *Server) wardCarePlans(c *fiber.Ctx) error {
	id, err := wardID(c)
	if err != nil {
		return err
	}
	list, err := s.CarePlans.WardPlans(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"ward_id": id, "residents": list})
}
