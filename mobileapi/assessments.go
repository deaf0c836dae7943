package mobileapi

import (
	"encoding/json"
	"math"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/assess"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

func init() {
	for code, m := range assessMessages {
		messages[code] = m
	}
}

// assessMessages are the titles of the assessment codes.
var assessMessages = map[string]msg{
	assess.CodeUnknownScale:   {"Scala di valutazione sconosciuta", "Unknown assessment scale"},
	assess.CodeInvalidAnswers: {"Scheda incompleta o con valori non ammessi: vedere gli item indicati", "Form incomplete or with values not allowed: see the items named"},
	assess.CodeNotFound:       {"Valutazione non trovata", "Assessment not found"},
	assess.CodeAlreadyInError: {"Valutazione già annullata come errore", "Assessment already marked entered in error"},
	assess.CodeReasonRequired: {"Indicare il motivo", "A reason is required"},
	assess.CodeInvalid:        {"Dati della valutazione non validi", "Invalid assessment data"},
	assess.CodeScaleNotFound:  {"Scala di valutazione non trovata", "Assessment scale not found"},
	assess.CodeBandKeys:       {"Indicare tutte le fasce della scala, nel loro ordine", "Give every band of the scale, in its order"},
	assess.CodeBandGap:        {"La prima fascia deve partire dal punteggio minimo della scala", "The lowest band must start at the scale's minimum"},
	assess.CodeBandOverlap:    {"Ogni fascia deve partire sopra la precedente", "Each band must start above the one before"},
	assess.CodeBandOutOfRange: {"Una fascia parte oltre il punteggio massimo della scala", "A band starts above the scale's maximum"},
	assess.CodeBandNotAScore:  {"Limite di fascia non ammesso dalla scala", "A band bound the scale's scores cannot take"},
}

type scaleItemJSON struct {
	Key           string `json:"key"`
	Allowed       []int  `json:"allowed"`
	AlternativeTo string `json:"alternative_to,omitempty"`
}

type scaleBandJSON struct {
	Key   string  `json:"key"`
	From  float64 `json:"from"`
	Label string  `json:"label"`
}

type scaleJSON struct {
	Key   string          `json:"key"`
	Name  string          `json:"name"`
	Min   int             `json:"min"`
	Max   int             `json:"max"`
	Items []scaleItemJSON `json:"items"`
	Bands []scaleBandJSON `json:"bands"`
}

// listScales lists the scales with their items in the published order and
// the caller's facility's bands.
func (s *Server) listScales(c *fiber.Ctx) error {
	a := actor(c)
	scales, err := s.Assess.Scales(c.UserContext(), a)
	if err != nil {
		return err
	}
	l := lang(c)
	out := make([]scaleJSON, len(scales))
	for i, sc := range scales {
		bands, err := s.Assess.FacilityBands(c.UserContext(), a.FacilityID, sc)
		if err != nil {
			return err
		}
		js := scaleJSON{Key: sc.Key, Name: sc.Name, Min: sc.Min, Max: sc.Max}
		for _, it := range sc.Items {
			js.Items = append(js.Items, scaleItemJSON{Key: it.Key, Allowed: it.Allowed, AlternativeTo: it.AlternativeTo})
		}
		for _, b := range bands {
			js.Bands = append(js.Bands, scaleBandJSON{Key: b.Key, From: b.From, Label: assess.BandLabel(sc.Key, b.Key, l)})
		}
		out[i] = js
	}
	return c.JSON(fiber.Map{"scales": out, "mmse_norms": assess.NormTables()})
}

type assessmentRequest struct {
	Scale          string                     `json:"scale"`
	Answers        map[string]json.RawMessage `json:"answers"`
	Age            *int                       `json:"age"`
	SchoolingYears *int                       `json:"schooling_years"`
	Norms          string                     `json:"norms"`
	AssessedAt     *time.Time                 `json:"assessed_at"`
	Notes          string                     `json:"notes"`
}

type proposalJSON struct {
	Code         string `json:"code"`
	Intervention string `json:"intervention"`
	Label        string `json:"label"`
	Scale        string `json:"scale"`
	Band         string `json:"band"`
}

type correctionJSON struct {
	Reason     string    `json:"reason"`
	RecordedBy uuid.UUID `json:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at"`
}

type assessmentJSON struct {
	ID             uuid.UUID       `json:"id"`
	ResidentID     uuid.UUID       `json:"resident_id"`
	Scale          string          `json:"scale"`
	Answers        map[string]int  `json:"answers"`
	Total          float64         `json:"total"`
	RawTotal       int             `json:"raw_total"`
	Band           string          `json:"band"`
	BandLabel      string          `json:"band_label"`
	Status         string          `json:"status"`
	Age            *int            `json:"age,omitempty"`
	SchoolingYears *int            `json:"schooling_years,omitempty"`
	Norms          string          `json:"norms,omitempty"`
	CorrectedTotal *float64        `json:"corrected_total,omitempty"`
	Correction     *float64        `json:"correction,omitempty"`
	CorrectionNote string          `json:"correction_note,omitempty"`
	Notes          string          `json:"notes"`
	AssessedAt     time.Time       `json:"assessed_at"`
	RecordedAt     time.Time       `json:"recorded_at"`
	RecordedBy     uuid.UUID       `json:"recorded_by"`
	EnteredInError *correctionJSON `json:"entered_in_error,omitempty"`
	Proposals      []proposalJSON  `json:"proposals"`
}

func toAssessment(a assess.Assessment, l string) assessmentJSON {
	out := assessmentJSON{ID: a.ID, ResidentID: a.ResidentID, Scale: a.Scale, Answers: a.Answers, Total: a.Total,
		RawTotal: a.RawTotal, Band: a.Band, BandLabel: assess.BandLabel(a.Scale, a.Band, l), Status: "recorded",
		Notes: a.Notes, AssessedAt: a.AssessedAt, RecordedAt: a.RecordedAt, RecordedBy: a.RecordedBy,
		Proposals: []proposalJSON{}}
	if a.Scale == "mmse" {
		t := a.Total
		out.Age, out.SchoolingYears, out.Norms, out.CorrectedTotal = a.Age, a.SchoolingYears, a.Norms, &t
		out.Correction, out.CorrectionNote = a.Correction, a.CorrectionNote
	}
	if a.EnteredInError != nil {
		out.Status = "entered_in_error"
		out.EnteredInError = &correctionJSON{Reason: a.EnteredInError.Reason, RecordedBy: a.EnteredInError.By,
			RecordedAt: a.EnteredInError.At}
		return out
	}
	for _, p := range assess.Proposals(a.Scale, a.Band) {
		out.Proposals = append(out.Proposals, proposalJSON{Code: p.Code, Intervention: p.Intervention,
			Label: p.Label.In(l), Scale: p.Scale, Band: p.Band})
	}
	return out
}

// notAnAnswer stands for a value that is not a whole number: no item
// allows it, so the item is reported with its allowed values.
const notAnAnswer = math.MinInt32

func (s *Server) recordAssessment(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	var req assessmentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	answers := make(map[string]int, len(req.Answers))
	for k, raw := range req.Answers {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || f != math.Trunc(f) || math.Abs(f) > 1000 {
			answers[k] = notAnAnswer
			continue
		}
		answers[k] = int(f)
	}
	f := assess.Form{Scale: req.Scale, Answers: answers, Notes: req.Notes, IdempotencyKey: c.Get(HeaderIdempotencyKey),
		MMSE: assess.MMSEInput{Age: req.Age, SchoolingYears: req.SchoolingYears, Norms: req.Norms}}
	if req.AssessedAt != nil {
		f.AssessedAt = *req.AssessedAt
	}
	out, replay, err := s.Assess.Record(c.UserContext(), actor(c), id, f)
	if err != nil {
		return err
	}
	if replay {
		c.Set("Idempotent-Replayed", "true")
	}
	c.Set(fiber.HeaderContentLanguage, lang(c))
	return c.Status(fiber.StatusCreated).JSON(toAssessment(out, lang(c)))
}

func (s *Server) listAssessments(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	list, err := s.Assess.List(c.UserContext(), actor(c), id, c.Query("scale"))
	if err != nil {
		return err
	}
	l := lang(c)
	out := make([]assessmentJSON, len(list))
	for i, a := range list {
		out[i] = toAssessment(a, l)
	}
	c.Set(fiber.HeaderContentLanguage, l)
	return c.JSON(fiber.Map{"resident_id": id, "assessments": out})
}

type enteredInErrorJSON struct {
	Reason string `json:"reason"`
}

func (s *Server) assessmentEnteredInError(c *fiber.Ctx) error {
	id, err := pathID(c, "id", assess.CodeNotFound)
	if err != nil {
		return err
	}
	var req enteredInErrorJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	out, err := s.Assess.EnteredInError(c.UserContext(), actor(c), id, req.Reason)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentLanguage, lang(c))
	return c.JSON(toAssessment(out, lang(c)))
}

type dueScaleJSON struct {
	Scale          string     `json:"scale"`
	NeverDone      bool       `json:"never_done"`
	LastAssessedAt *time.Time `json:"last_assessed_at"`
	LastBand       *string    `json:"last_band"`
	DueAt          *time.Time `json:"due_at"`
}

type dueResidentJSON struct {
	ResidentID uuid.UUID      `json:"resident_id"`
	GivenName  string         `json:"given_name"`
	FamilyName string         `json:"family_name"`
	Bed        string         `json:"bed"`
	Scales     []dueScaleJSON `json:"scales"`
}

func (s *Server) overdueAssessments(c *fiber.Ctx) error {
	id, err := pathID(c, "id", backend.CodeWardNotFound)
	if err != nil {
		return err
	}
	list, err := s.Assess.Overdue(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	out := make([]dueResidentJSON, len(list))
	for i, r := range list {
		js := dueResidentJSON{ResidentID: r.ResidentID, GivenName: r.GivenName, FamilyName: r.FamilyName, Bed: r.Bed,
			Scales: []dueScaleJSON{}}
		for _, d := range r.Due {
			ds := dueScaleJSON{Scale: d.Scale, NeverDone: d.NeverDone}
			if d.Last != nil {
				at, band, due := d.Last.AssessedAt, d.Last.Band, d.DueAt
				ds.LastAssessedAt, ds.LastBand, ds.DueAt = &at, &band, &due
			}
			js.Scales = append(js.Scales, ds)
		}
		out[i] = js
	}
	return c.JSON(fiber.Map{"ward_id": id, "residents": out})
}

type bandSettingJSON struct {
	Key         string  `json:"key"`
	From        float64 `json:"from"`
	DefaultFrom float64 `json:"default_from"`
	Label       string  `json:"label"`
}

type bandSetJSON struct {
	Scale   string            `json:"scale"`
	Name    string            `json:"name"`
	Min     int               `json:"min"`
	Max     int               `json:"max"`
	Version int               `json:"version"`
	Bands   []bandSettingJSON `json:"bands"`
}

func toBandSet(b assess.BandSet, l string) bandSetJSON {
	out := bandSetJSON{Scale: b.Scale.Key, Name: b.Scale.Name, Min: b.Scale.Min, Max: b.Scale.Max, Version: b.Version,
		Bands: make([]bandSettingJSON, len(b.Bands))}
	for i, x := range b.Bands {
		out.Bands[i] = bandSettingJSON{Key: x.Key, From: x.From, DefaultFrom: b.Scale.DefaultFrom(x.Key),
			Label: assess.BandLabel(b.Scale.Key, x.Key, l)}
	}
	return out
}

func (s *Server) scaleBands(c *fiber.Ctx) error {
	b, err := s.Assess.ScaleBands(c.UserContext(), actor(c), c.Params("key"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentLanguage, lang(c))
	return c.JSON(toBandSet(b, lang(c)))
}

type bandsRequest struct {
	Version int `json:"version"`
	Bands   []struct {
		Key  string  `json:"key"`
		From float64 `json:"from"`
	} `json:"bands"`
}

func (s *Server) updateScaleBands(c *fiber.Ctx) error {
	var req bandsRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := requireVersion(req.Version); err != nil {
		return err
	}
	bands := make([]assess.Band, len(req.Bands))
	for i, b := range req.Bands {
		bands[i] = assess.Band{Key: b.Key, From: b.From}
	}
	b, err := s.Assess.SetScaleBands(c.UserContext(), actor(c), c.Params("key"), req.Version, bands)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentLanguage, lang(c))
	return c.JSON(toBandSet(b, lang(c)))
}
