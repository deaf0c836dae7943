package mobileapi

import (
	"strconv"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/diary"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// The clinical diary: entries by profession, addenda and entered-in-error
// corrections (backend/diary).

func (s *Server) diaryEntryID(c *fiber.Ctx) (uuid.UUID, error) {
	return pathID(c, "id", "diary.not_found")
}

func (s *Server) listDiary(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	q := diary.Query{Profession: access.Profession(c.Query("profession"))}
	if q.From, err = queryTime(c, "from"); err != nil {
		return err
	}
	if q.To, err = queryTime(c, "to"); err != nil {
		return err
	}
	if v := c.Query("before"); v != "" {
		if q.Before, err = diary.ParseCursor(v); err != nil {
			return err
		}
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > diary.MaxLimit {
			return backend.Invalid("request.invalid_query", "limit", "1 to 200")
		}
		q.Limit = n
	}
	page, err := s.Diary.List(c.UserContext(), actor(c), id, q)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

func (s *Server) writeDiary(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	key, hash, err := idempotencyKey(c, "POST /v1/residents/:id/diary "+id.String())
	if err != nil {
		return err
	}
	var in diary.NewEntry
	if err := decode(c, &in); err != nil {
		return err
	}
	e, replay, err := s.Diary.Create(c.UserContext(), actor(c), key, hash, id, in)
	if err != nil {
		return err
	}
	if replay {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.Status(fiber.StatusCreated).JSON(e)
}

func (s *Server) addDiaryAddendum(c *fiber.Ctx) error {
	id, err := s.diaryEntryID(c)
	if err != nil {
		return err
	}
	key, hash, err := idempotencyKey(c, "POST /v1/diary/:id/addenda "+id.String())
	if err != nil {
		return err
	}
	var in diary.NewEntry
	if err := decode(c, &in); err != nil {
		return err
	}
	e, replay, err := s.Diary.Addendum(c.UserContext(), actor(c), key, hash, id, in)
	if err != nil {
		return err
	}
	if replay {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.Status(fiber.StatusCreated).JSON(e)
}

func (s *Server) diaryEnteredInError(c *fiber.Ctx) error {
	id, err := s.diaryEntryID(c)
	if err != nil {
		return err
	}
	var in reasonJSON
	if err := decode(c, &in); err != nil {
		return err
	}
	e, err := s.Diary.EnteredInError(c.UserContext(), actor(c), id, in.Reason)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(e)
}
