package mobileapi

import (
	"strconv"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

type auditEventJSON struct {
	Chain        int16       `json:"chain"`
	Seq          int64       `json:"seq"`
	ID           uuid.UUID   `json:"id"`
	OccurredAt   time.Time   `json:"occurred_at"`
	ActorID      *uuid.UUID  `json:"actor_id"`
	ActorName    string      `json:"actor_name,omitempty"`
	ActorRoles   []string    `json:"actor_roles"`
	DeviceID     *uuid.UUID  `json:"device_id"`
	IP           string      `json:"ip"`
	Action       string      `json:"action"`
	ResourceType string      `json:"resource_type"`
	ResourceID   string      `json:"resource_id"`
	ResidentID   *uuid.UUID  `json:"resident_id"`
	ResidentIDs  []uuid.UUID `json:"resident_ids"`
	Outcome      string      `json:"outcome"`
	Detail       string      `json:"detail,omitempty"`
	BreakGlass   string      `json:"break_glass_reason,omitempty"`
	RequestID    string      `json:"request_id"`
}

func toEvents(evs []audit.Event) []auditEventJSON {
	out := make([]auditEventJSON, len(evs))
	for i, e := range evs {
		roles := e.ActorRoles
		if roles == nil {
			roles = []string{}
		}
		listed := e.ResidentIDs
		if listed == nil {
			listed = []uuid.UUID{}
		}
		out[i] = auditEventJSON{Chain: e.Chain, ResidentIDs: listed, Seq: e.Seq, ID: e.ID, OccurredAt: e.OccurredAt, ActorID: optID(e.ActorID),
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
		if f.Before, err = parseCursor(v); err != nil {
			return err
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
		out["next_before"] = formatCursor(evs[len(evs)-1])
	}
	return c.JSON(out)
}

// A page cursor is "<unix microseconds>_<event id>" of the last event seen.
func formatCursor(e audit.Event) string {
	return strconv.FormatInt(e.OccurredAt.UnixMicro(), 10) + "_" + e.ID.String()
}

func parseCursor(v string) (audit.Cursor, error) {
	bad := backend.Invalid("request.invalid_query", "before", "the next_before value of the previous page")
	us, id, ok := strings.Cut(v, "_")
	n, err1 := strconv.ParseInt(us, 10, 64)
	u, err2 := uuid.Parse(id)
	if !ok || err1 != nil || err2 != nil || n <= 0 {
		return audit.Cursor{}, bad
	}
	return audit.Cursor{At: time.UnixMicro(n), ID: u}, nil
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
