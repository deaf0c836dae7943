package mobileapi

import (
	"crypto/sha256"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// Handlers of the therapy sheet and the bedside: prescriptions, the MAR, the
// ward's due list, scan-and-verify and the recording of doses.

func (s *Server) prescriptionID(c *fiber.Ctx) (uuid.UUID, error) {
	return pathID(c, "id", "prescription.not_found")
}

func (s *Server) therapySheet(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	sheet, err := s.Therapy.Sheet(c.UserContext(), actor(c), id, c.QueryBool("history", false))
	if err != nil {
		return err
	}
	return c.JSON(sheet)
}

func (s *Server) prescribe(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	var o therapy.Order
	if err := decode(c, &o); err != nil {
		return err
	}
	// The key is optional here; with it a retried prescription is written
	// once.
	var key uuid.UUID
	var hash []byte
	if c.Get(HeaderIdempotencyKey) != "" {
		if key, hash, err = idempotencyKey(c, "POST /v1/residents/:id/prescriptions"); err != nil {
			return err
		}
	}
	p, err := s.Therapy.PrescribeOnce(c.UserContext(), actor(c), id, o, key, hash)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (s *Server) getPrescription(c *fiber.Ctx) error {
	id, err := s.prescriptionID(c)
	if err != nil {
		return err
	}
	p, err := s.Therapy.GetPrescription(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

type reviseJSON struct {
	Version int           `json:"version"`
	Order   therapy.Order `json:"order"`
}

func (s *Server) revisePrescription(c *fiber.Ctx) error {
	id, err := s.prescriptionID(c)
	if err != nil {
		return err
	}
	var req reviseJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := requireVersion(req.Version); err != nil {
		return err
	}
	p, err := s.Therapy.Revise(c.UserContext(), actor(c), id, req.Version, req.Order)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (s *Server) prescriptionStatus(c *fiber.Ctx) error {
	id, err := s.prescriptionID(c)
	if err != nil {
		return err
	}
	var req therapy.StatusChange
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := requireVersion(req.Version); err != nil {
		return err
	}
	p, err := s.Therapy.SetStatus(c.UserContext(), actor(c), id, req)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

type reconcileJSON struct {
	Outcome string `json:"outcome"`
	Notes   string `json:"notes"`
}

func (s *Server) reconcile(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	var req reconcileJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.Therapy.Reconcile(c.UserContext(), actor(c), id, req.Outcome, req.Notes); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) mar(c *fiber.Ctx) error {
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
	now := time.Now().UTC()
	switch {
	case from.IsZero() && to.IsZero():
		from, to = now.Add(-24*time.Hour), now.Add(24*time.Hour)
	case from.IsZero():
		from = to.Add(-48 * time.Hour)
	case to.IsZero():
		to = from.Add(48 * time.Hour)
	}
	m, err := s.Therapy.MAR(c.UserContext(), actor(c), id, from, to)
	if err != nil {
		return err
	}
	return c.JSON(m)
}

func (s *Server) wardDue(c *fiber.Ctx) error {
	id, err := pathID(c, "id", backend.CodeWardNotFound)
	if err != nil {
		return err
	}
	at, err := queryTime(c, "at")
	if err != nil {
		return err
	}
	if at.IsZero() {
		at = time.Now().UTC()
	}
	list, err := s.Therapy.Due(c.UserContext(), actor(c), id, at)
	if err != nil {
		return err
	}
	return c.JSON(list)
}

func (s *Server) verifyAdministration(c *fiber.Ctx) error {
	var req therapy.VerifyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	res, err := s.Therapy.Verify(c.UserContext(), actor(c), req)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// HeaderIdempotencyKey carries the UUID a tablet generates once per act.
const HeaderIdempotencyKey = "Idempotency-Key"

// idempotencyKey reads the header and digests the request it guards: the
// route and the exact body, so the same key with another body is caught.
func idempotencyKey(c *fiber.Ctx, route string) (uuid.UUID, []byte, error) {
	raw := c.Get(HeaderIdempotencyKey)
	if raw == "" {
		return uuid.Nil, nil, backend.Invalid("idempotency.key_required", HeaderIdempotencyKey, "send a UUID generated once per act")
	}
	key, err := uuid.Parse(raw)
	if err != nil {
		return uuid.Nil, nil, backend.Invalid("idempotency.key_invalid", HeaderIdempotencyKey, "the key is a UUID")
	}
	h := sha256.New()
	h.Write([]byte(route + "\x00"))
	h.Write(body(c))
	return key, h.Sum(nil), nil
}

func (s *Server) recordAdministration(c *fiber.Ctx) error {
	key, hash, err := idempotencyKey(c, "POST /v1/administrations")
	if err != nil {
		return err
	}
	var req therapy.RecordRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	act, replay, err := s.Therapy.Record(c.UserContext(), actor(c), key, hash, req)
	if err != nil {
		return err
	}
	if replay {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.Status(fiber.StatusCreated).JSON(act)
}

func (s *Server) administrationID(c *fiber.Ctx) (uuid.UUID, error) {
	return pathID(c, "id", "administration.not_found")
}

type reasonJSON struct {
	Reason string `json:"reason"`
}

func (s *Server) enteredInError(c *fiber.Ctx) error {
	id, err := s.administrationID(c)
	if err != nil {
		return err
	}
	var req reasonJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	act, err := s.Therapy.EnteredInError(c.UserContext(), actor(c), id, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(act)
}

type effectivenessJSON struct {
	Effective string `json:"effective"`
	Notes     string `json:"notes"`
}

func (s *Server) recordEffectiveness(c *fiber.Ctx) error {
	id, err := s.administrationID(c)
	if err != nil {
		return err
	}
	var req effectivenessJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	chk, err := s.Therapy.RecordEffectiveness(c.UserContext(), actor(c), id, req.Effective, req.Notes)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(chk)
}

type assistedIntakeJSON struct {
	AdministrationID uuid.UUID `json:"administration_id"`
	Outcome          string    `json:"outcome"`
	Notes            string    `json:"notes"`
}

func (s *Server) assistIntake(c *fiber.Ctx) error {
	var req assistedIntakeJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	in, err := s.Therapy.AssistIntake(c.UserContext(), actor(c), req.AdministrationID, req.Outcome, req.Notes)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(in)
}

func (s *Server) recalls(c *fiber.Ctx) error {
	q := therapy.RecallQuery{GTIN: c.Query("gtin"), AIC: c.Query("aic"), Batch: c.Query("batch")}
	hits, err := s.Therapy.Recalls(c.UserContext(), actor(c), q)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"administrations": hits})
}

func (s *Server) therapySettings(c *fiber.Ctx) error {
	set, err := s.Therapy.GetSettings(c.UserContext(), actor(c))
	if err != nil {
		return err
	}
	return c.JSON(set)
}

func (s *Server) updateTherapySettings(c *fiber.Ctx) error {
	var req therapy.Settings
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := requireVersion(req.Version); err != nil {
		return err
	}
	set, err := s.Therapy.UpdateSettings(c.UserContext(), actor(c), req)
	if err != nil {
		return err
	}
	return c.JSON(set)
}

func (s *Server) administrationIndicators(c *fiber.Ctx) error {
	from, err := queryTime(c, "from")
	if err != nil {
		return err
	}
	to, err := queryTime(c, "to")
	if err != nil {
		return err
	}
	if to.IsZero() {
		to = time.Now().UTC()
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -30)
	}
	ind, err := s.Therapy.Indicators(c.UserContext(), actor(c), from, to)
	if err != nil {
		return err
	}
	return c.JSON(ind)
}
