package mobileapi

import (
	"math"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/resident"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

type wardJSON struct {
	ID       uuid.UUID `json:"id"`
	Code     string    `json:"code"`
	Name     string    `json:"name"`
	Floor    int       `json:"floor"`
	Beds     int       `json:"beds"`
	Occupied int       `json:"occupied"`
}

func (s *Server) listWards(c *fiber.Ctx) error {
	ws, err := s.Facility.Wards(c.UserContext(), actor(c))
	if err != nil {
		return err
	}
	out := make([]wardJSON, len(ws))
	for i, w := range ws {
		out[i] = wardJSON{ID: w.ID, Code: w.Code, Name: w.Name, Floor: w.Floor, Beds: w.Beds, Occupied: w.Occupied}
	}
	return c.JSON(fiber.Map{"wards": out})
}

type residentSummaryJSON struct {
	ID           uuid.UUID `json:"id"`
	GivenName    string    `json:"given_name"`
	FamilyName   string    `json:"family_name"`
	Sex          string    `json:"sex"`
	BirthDate    Date      `json:"birth_date"`
	Bed          string    `json:"bed"`
	WardID       uuid.UUID `json:"ward_id"`
	Status       string    `json:"status"`
	HasAllergies bool      `json:"has_allergies"`
}

func (s *Server) wardResidents(c *fiber.Ctx) error {
	id, err := pathID(c, "id", backend.CodeWardNotFound)
	if err != nil {
		return err
	}
	list, err := s.Residents.ListWard(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	out := make([]residentSummaryJSON, len(list))
	for i, r := range list {
		out[i] = residentSummaryJSON{ID: r.ID, GivenName: r.GivenName, FamilyName: r.FamilyName, Sex: r.Sex,
			BirthDate: Date{r.BirthDate}, Bed: r.BedCode, WardID: r.WardID, Status: string(r.Status), HasAllergies: r.HasAllergies}
	}
	return c.JSON(fiber.Map{"ward_id": id, "residents": out})
}

type allergyJSON struct {
	ID           uuid.UUID `json:"id"`
	Substance    string    `json:"substance"`
	ATCCode      *string   `json:"atc_code"`
	Category     string    `json:"category"`
	Kind         string    `json:"kind"`
	Reaction     string    `json:"reaction"`
	Severity     string    `json:"severity"`
	Status       string    `json:"status"`
	StatusReason string    `json:"status_reason,omitempty"`
	RecordedAt   time.Time `json:"recorded_at"`
	Version      int       `json:"version"`
}

func toAllergy(a resident.Allergy) allergyJSON {
	out := allergyJSON{ID: a.ID, Substance: a.Substance, Category: a.Category, Kind: a.Kind, Reaction: a.Reaction,
		Severity: a.Severity, Status: a.Status, StatusReason: a.StatusReason, RecordedAt: a.RecordedAt, Version: a.Version}
	if a.ATCCode != "" {
		atc := a.ATCCode
		out.ATCCode = &atc
	}
	return out
}

type residentJSON struct {
	ID                 uuid.UUID          `json:"id"`
	GivenName          string             `json:"given_name"`
	FamilyName         string             `json:"family_name"`
	Sex                string             `json:"sex"`
	BirthDate          Date               `json:"birth_date"`
	BirthPlace         string             `json:"birth_place"`
	CodiceFiscale      string             `json:"codice_fiscale"`
	CodiceFiscaleValid bool               `json:"codice_fiscale_valid"`
	TesseraSanitaria   string             `json:"tessera_sanitaria"`
	GP                 resident.GP        `json:"gp"`
	Contacts           []resident.Contact `json:"contacts"`
	Wristband          string             `json:"wristband"`
	Status             string             `json:"status"`
	WardID             *uuid.UUID         `json:"ward_id"`
	BedID              *uuid.UUID         `json:"bed_id"`
	Bed                string             `json:"bed"`
	AdmittedAt         *time.Time         `json:"admitted_at"`
	Allergies          []allergyJSON      `json:"allergies"`
	Version            int                `json:"version"`
	UpdatedAt          time.Time          `json:"updated_at"`
}

func optID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func toResident(r resident.Resident) residentJSON {
	out := residentJSON{ID: r.ID, GivenName: r.GivenName, FamilyName: r.FamilyName, Sex: r.Sex,
		BirthDate: Date{r.BirthDate}, BirthPlace: r.BirthPlace, CodiceFiscale: r.FiscalCode,
		CodiceFiscaleValid: r.FiscalCodeValid, TesseraSanitaria: r.HealthCardNumber, GP: r.GP, Contacts: r.Contacts,
		Wristband: r.WristbandCode, Status: string(r.Status), WardID: optID(r.WardID), BedID: optID(r.BedID),
		Bed: r.BedCode, Allergies: []allergyJSON{}, Version: r.Version, UpdatedAt: r.UpdatedAt}
	if out.Contacts == nil {
		out.Contacts = []resident.Contact{}
	}
	if !r.AdmittedAt.IsZero() {
		t := r.AdmittedAt
		out.AdmittedAt = &t
	}
	for _, a := range r.Allergies {
		out.Allergies = append(out.Allergies, toAllergy(a))
	}
	return out
}

func (s *Server) residentID(c *fiber.Ctx) (uuid.UUID, error) {
	return pathID(c, "id", backend.CodeResidentNotFound)
}

func (s *Server) getResident(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	r, err := s.Residents.Get(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(toResident(r))
}

func (s *Server) residentByWristband(c *fiber.Ctx) error {
	r, err := s.Residents.ByWristband(c.UserContext(), actor(c), c.Params("code"))
	if err != nil {
		return err
	}
	return c.JSON(toResident(r))
}

type residentPatchJSON struct {
	Version          int                 `json:"version"`
	GivenName        *string             `json:"given_name"`
	FamilyName       *string             `json:"family_name"`
	Sex              *string             `json:"sex"`
	BirthDate        *Date               `json:"birth_date"`
	BirthPlace       *string             `json:"birth_place"`
	CodiceFiscale    *string             `json:"codice_fiscale"`
	TesseraSanitaria *string             `json:"tessera_sanitaria"`
	GP               *resident.GP        `json:"gp"`
	Contacts         *[]resident.Contact `json:"contacts"`
}

func requireVersion(v int) error {
	if v < 1 || v > math.MaxInt32 {
		return backend.Invalid("request.version_required", "version", "send the version you read")
	}
	return nil
}

func (s *Server) updateResident(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	var req residentPatchJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := requireVersion(req.Version); err != nil {
		return err
	}
	p := resident.Patch{GivenName: req.GivenName, FamilyName: req.FamilyName, Sex: req.Sex, BirthPlace: req.BirthPlace,
		FiscalCode: req.CodiceFiscale, HealthCardNumber: req.TesseraSanitaria, GP: req.GP, Contacts: req.Contacts}
	if req.BirthDate != nil {
		p.BirthDate = &req.BirthDate.Time
	}
	r, err := s.Residents.Update(c.UserContext(), actor(c), id, req.Version, p)
	if err != nil {
		return err
	}
	// The record was read and locked with its allergies in the same
	// transaction, so the answer is the whole record at its new version.
	return c.JSON(toResident(r))
}

type historyJSON struct {
	Version    int            `json:"version"`
	ValidUntil time.Time      `json:"valid_until"`
	ChangedBy  *uuid.UUID     `json:"changed_by"`
	Data       map[string]any `json:"data"`
}

func (s *Server) residentHistory(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	vs, err := s.Residents.History(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	out := make([]historyJSON, len(vs))
	for i, v := range vs {
		out[i] = historyJSON{Version: v.Version, ValidUntil: v.ValidUntil, ChangedBy: optID(v.ChangedBy), Data: v.Data}
	}
	return c.JSON(fiber.Map{"versions": out})
}

type admitJSON struct {
	GivenName        string             `json:"given_name"`
	FamilyName       string             `json:"family_name"`
	Sex              string             `json:"sex"`
	BirthDate        Date               `json:"birth_date"`
	BirthPlace       string             `json:"birth_place"`
	CodiceFiscale    string             `json:"codice_fiscale"`
	TesseraSanitaria string             `json:"tessera_sanitaria"`
	GP               resident.GP        `json:"gp"`
	Contacts         []resident.Contact `json:"contacts"`
	WardID           uuid.UUID          `json:"ward_id"`
	BedID            *uuid.UUID         `json:"bed_id"`
	AdmittedAt       *time.Time         `json:"admitted_at"`
	Source           string             `json:"source"`
}

func (s *Server) admitResident(c *fiber.Ctx) error {
	var req admitJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	in := resident.Admission{Resident: resident.Resident{GivenName: req.GivenName, FamilyName: req.FamilyName,
		Sex: req.Sex, BirthDate: req.BirthDate.Time, BirthPlace: req.BirthPlace, FiscalCode: req.CodiceFiscale,
		HealthCardNumber: req.TesseraSanitaria, GP: req.GP, Contacts: req.Contacts}, WardID: req.WardID, Source: req.Source}
	if req.BedID != nil {
		in.BedID = *req.BedID
	}
	if req.AdmittedAt != nil {
		in.AdmittedAt = *req.AdmittedAt
	}
	r, err := s.Residents.Admit(c.UserContext(), actor(c), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toResident(r))
}

type transferJSON struct {
	Version int        `json:"version"`
	WardID  uuid.UUID  `json:"ward_id"`
	BedID   *uuid.UUID `json:"bed_id"`
}

func (s *Server) transferResident(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	var req transferJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := requireVersion(req.Version); err != nil {
		return err
	}
	bed := uuid.Nil
	if req.BedID != nil {
		bed = *req.BedID
	}
	r, err := s.Residents.Transfer(c.UserContext(), actor(c), id, req.Version, req.WardID, bed)
	if err != nil {
		return err
	}
	return c.JSON(toResident(r))
}

type dischargeJSON struct {
	Version  int        `json:"version"`
	Reason   string     `json:"reason"`
	At       *time.Time `json:"at"`
	Deceased bool       `json:"deceased"`
}

func (s *Server) dischargeResident(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	var req dischargeJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := requireVersion(req.Version); err != nil {
		return err
	}
	var at time.Time
	if req.At != nil {
		at = *req.At
	}
	r, err := s.Residents.Discharge(c.UserContext(), actor(c), id, req.Version, at, req.Reason, req.Deceased)
	if err != nil {
		return err
	}
	return c.JSON(toResident(r))
}

type breakGlassJSON struct {
	Reason string `json:"reason"`
}

func (s *Server) breakGlass(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	var req breakGlassJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	until, err := s.Residents.BreakGlass(c.UserContext(), actor(c), id, req.Reason)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"resident_id": id, "expires_at": until})
}

type newAllergyJSON struct {
	Substance string  `json:"substance"`
	ATCCode   *string `json:"atc_code"`
	Category  string  `json:"category"`
	Kind      string  `json:"kind"`
	Reaction  string  `json:"reaction"`
	Severity  string  `json:"severity"`
	Status    string  `json:"status"`
}

func (s *Server) addAllergy(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	var req newAllergyJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	a := resident.Allergy{Substance: req.Substance, Category: req.Category, Kind: req.Kind, Reaction: req.Reaction,
		Severity: req.Severity, Status: req.Status}
	if req.ATCCode != nil {
		a.ATCCode = *req.ATCCode
	}
	out, err := s.Residents.AddAllergy(c.UserContext(), actor(c), id, a)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toAllergy(out))
}

type allergyStatusJSON struct {
	Version int    `json:"version"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
}

func (s *Server) allergyStatus(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	aid, err := pathID(c, "allergy_id", "allergy.not_found")
	if err != nil {
		return err
	}
	var req allergyStatusJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := requireVersion(req.Version); err != nil {
		return err
	}
	out, err := s.Residents.ChangeAllergyStatus(c.UserContext(), actor(c), id, aid, req.Version, req.Status, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(toAllergy(out))
}

// putPhoto stores a new identification photo sent as the raw body.
func (s *Server) putPhoto(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	if ct := mediaType(c); ct != "image/jpeg" && ct != "image/png" {
		return &backend.Error{Kind: backend.KindUnsupported, Code: "request.unsupported_media_type", Detail: "send image/jpeg or image/png"}
	}
	if err := s.Residents.SetPhoto(c.UserContext(), actor(c), id, body(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) getPhoto(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	p, err := s.Residents.Photo(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, p.ContentType)
	return c.Send(p.Data)
}
