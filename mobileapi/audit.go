package mobileapi

import (
	"strconv"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

type auditEventJSON struct {
	Seq          int64      `json:"seq"`
	ID           uuid.UUID  `json:"id"`
	OccurredAt   time.Time  `json:"occurred_at"`
	ActorID      *uuid.UUID `json:"actor_id"`
	ActorName    string     `json:"actor_name,omitempty"`
	ActorRoles   []string   `json:"actor_roles"`
	DeviceID     *uuid.UUID `json:"device_id"`
	IP           string     `json:"ip"`
	Action       string     `json:"action"`
	ResourceType string     `json:"resource_type"`
	ResourceID   string     `json:"resource_id"`
	ResidentID   *uuid.UUID `json:"resident_id"`
	Outcome      string     `json:"outcome"`
	Detail       string     `json:"detail,omitempty"`
	BreakGlass   string     `json:"break_glass_reason,omitempty"`
	RequestID    string     `json:"request_id"`
}

func toEvents(evs []audit.Event) []auditEventJSON {
	out := make([]auditEventJSON, len(evs))
	for i, e := range evs {
		roles := e.ActorRoles
		if roles == nil {
			roles = []string{}
		}
		out[i] = auditEventJSON{Seq: e.Seq, ID: e.ID, OccurredAt: e.OccurredAt, ActorID: optID(e.ActorID),
			ActorName: e.ActorName, ActorRoles: roles, DeviceID: optID(e.DeviceID), IP: e.IP, Action: e.Action,
			ResourceType: e.ResourceType, ResourceID: e.ResourceID, ResidentID: optID(e.ResidentID),
			Outcome: string(e.Outcome), Detail: e.Detail, BreakGlass: e.BreakGlass, RequestID: e.RequestID}
	}
	return out
}

// listAudit lists events, newest first; before=<seq> pages back.
func (s *Server) listAudit(c *fiber.Ctx) error {
	f := audit.Filter{}
	var err error
	if f.ResidentID, err = queryID(c, "resident_id"); err != nil {
		return err
	}
	if f.ActorID, err = queryID(c, "staff_id"); err != nil {
		return err
	}
	if f.From, err = queryTime(c, "from"); err != nil {
		return err
	}
	if f.To, err = queryTime(c, "to"); err != nil {
		return err
	}
	if v := c.Query("before"); v != "" {
		if f.AfterSeq, err = strconv.ParseInt(v, 10, 64); err != nil || f.AfterSeq < 1 {
			return backend.Invalid("request.invalid_query", "before", "a positive sequence number")
		}
	}
	if v := c.Query("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			return backend.Invalid("request.invalid_query", "limit", "1 to 1000")
		}
	}
	evs, err := s.Audit.List(c.UserContext(), actor(c), f)
	if err != nil {
		return err
	}
	out := fiber.Map{"events": toEvents(evs)}
	limit := f.Limit
	if limit == 0 {
		limit = audit.DefaultPage
	}
	if len(evs) == limit {
		out["next_before"] = evs[len(evs)-1].Seq
	}
	return c.JSON(out)
}

func (s *Server) verifyAudit(c *fiber.Ctx) error {
	rep, err := s.Audit.Verify(c.UserContext(), actor(c))
	if err != nil {
		return err
	}
	return c.JSON(rep)
}

func (s *Server) accessReport(c *fiber.Ctx) error {
	rid, err := queryID(c, "resident_id")
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
	evs, err := s.Audit.AccessReport(c.UserContext(), actor(c), rid, from, to)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"resident_id": rid, "from": from, "to": to, "events": toEvents(evs)})
}
