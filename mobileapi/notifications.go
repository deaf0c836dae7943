package mobileapi

import (
	"github.com/gofiber/fiber/v2"
)

// Handlers of notifications and push registrations. Every signed-in staff
// member reads and acknowledges only her own notifications.

func (s *Server) listNotifications(c *fiber.Ctx) error {
	ns, err := s.Notify.List(c.UserContext(), actor(c), c.QueryInt("limit", 50))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"notifications": ns})
}

func (s *Server) ackNotification(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "notification.not_found")
	if err != nil {
		return err
	}
	n, err := s.Notify.Acknowledge(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(n)
}

type pushRegistrationJSON struct {
	Token      string `json:"token"`
	Platform   string `json:"platform"`
	AppVersion string `json:"app_version"`
}

func (s *Server) registerPush(c *fiber.Ctx) error {
	var req pushRegistrationJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	r, err := s.Notify.Register(c.UserContext(), actor(c), req.Token, req.Platform, req.AppVersion)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(r)
}

func (s *Server) unregisterPush(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "push.registration_not_found")
	if err != nil {
		return err
	}
	if err := s.Notify.Unregister(c.UserContext(), actor(c), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
