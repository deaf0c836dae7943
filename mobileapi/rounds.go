package mobileapi

import (
	"context"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/round"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// Handlers of drug rounds and the shift handover digest.

func wardID(c *fiber.Ctx) (uuid.UUID, error) { return pathID(c, "id", backend.CodeWardNotFound) }

func roundID(c *fiber.Ctx) (uuid.UUID, error) { return pathID(c, "id", "round.not_found") }

// currentRoundJSON wraps the ward's open round: null when none is open.
type currentRoundJSON struct {
	WardID uuid.UUID   `json:"ward_id"`
	Round  *round.View `json:"round"`
}

func (s *Server) currentRound(c *fiber.Ctx) error {
	id, err := wardID(c)
	if err != nil {
		return err
	}
	v, err := s.Rounds.Current(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(currentRoundJSON{WardID: id, Round: v})
}

type startRoundJSON struct {
	Slot *time.Time `json:"slot"`
}

func (s *Server) startRound(c *fiber.Ctx) error {
	id, err := wardID(c)
	if err != nil {
		return err
	}
	// The body is optional: without one (or without slot) the round is the
	// one of the nearest whole hour.
	var req startRoundJSON
	if len(body(c)) > 0 {
		if err := decode(c, &req); err != nil {
			return err
		}
	}
	var slot time.Time
	if req.Slot != nil {
		slot = *req.Slot
	}
	v, err := s.Rounds.Start(c.UserContext(), actor(c), id, slot)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

type roundVersionJSON struct {
	Version int `json:"version"`
}

func (s *Server) pauseRound(c *fiber.Ctx) error  { return s.moveRound(c, s.Rounds.Pause) }
func (s *Server) resumeRound(c *fiber.Ctx) error { return s.moveRound(c, s.Rounds.Resume) }

func (s *Server) moveRound(c *fiber.Ctx, move func(ctx context.Context, a *backend.Actor, id uuid.UUID, version int) (round.View, error)) error {
	id, err := roundID(c)
	if err != nil {
		return err
	}
	var req roundVersionJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := requireVersion(req.Version); err != nil {
		return err
	}
	v, err := move(c.UserContext(), actor(c), id, req.Version)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

type handoverRoundJSON struct {
	Version   int       `json:"version"`
	ToStaffID uuid.UUID `json:"to_staff_id"`
}

func (s *Server) handoverRound(c *fiber.Ctx) error {
	id, err := roundID(c)
	if err != nil {
		return err
	}
	var req handoverRoundJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := requireVersion(req.Version); err != nil {
		return err
	}
	v, err := s.Rounds.Handover(c.UserContext(), actor(c), id, req.Version, req.ToStaffID)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) finishRound(c *fiber.Ctx) error {
	id, err := roundID(c)
	if err != nil {
		return err
	}
	key, hash, err := idempotencyKey(c, "POST /v1/rounds/"+id.String()+"/finish")
	if err != nil {
		return err
	}
	var req round.FinishRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := requireVersion(req.Version); err != nil {
		return err
	}
	v, replay, err := s.Rounds.Finish(c.UserContext(), actor(c), id, key, hash, req)
	if err != nil {
		return err
	}
	if replay {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.JSON(v)
}

func (s *Server) wardHandover(c *fiber.Ctx) error {
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
	d, err := s.Rounds.Digest(c.UserContext(), actor(c), id, from, to)
	if err != nil {
		return err
	}
	return c.JSON(d)
}
