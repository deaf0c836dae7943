package mobileapi

import (
	"github.com/corsia-cce/corsia/backend/timeline"
	"github.com/gofiber/fiber/v2"
)

// The resident's timeline (backend/timeline): everything in her record in
// one feed, newest first, in pages.

func (s *Server) residentTimeline(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	q, err := timeline.ParseQuery(func(k string) string { return c.Query(k) })
	if err != nil {
		return err
	}
	q.Lang = lang(c)
	page, err := s.Timeline.Page(c.UserContext(), actor(c), id, q)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentLanguage, q.Lang)
	return c.JSON(page)
}
