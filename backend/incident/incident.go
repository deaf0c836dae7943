// Package incident records adverse events: falls (circumstances, injury,
// the Morse/Conley score at the time), pressure injuries (site, stage,
// size) and other adverse events. Records are append-only: a mistake is an
// entered-in-error correction with a reason, a follow-up (a pressure
// injury's reassessment) a new incident linked to the first. Recording one
// notifies the ward lead in the same transaction.
package incident

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Kind of incident.
type Kind string

// Kinds.
const (
	Fall           Kind = "fall"
	PressureInjury Kind = "pressure_injury"
	Other          Kind = "other"
)

// Fall injuries, from none to a head injury.
var Injuries = []string{"none", "minor", "major", "fracture", "head"}

// Pressure-injury sites.
var Sites = []string{"sacrum", "heel_left", "heel_right", "hip_left", "hip_right", "ischium", "elbow", "occiput", "other"}

// Pressure-injury stages (NPIAP).
var Stages = []string{"1", "2", "3", "4", "unstageable", "deep_tissue"}

// FallDetails describe a fall.
type FallDetails struct {
	Place         string `json:"place"`
	Circumstances string `json:"circumstances"`
	Witnessed     bool   `json:"witnessed"`
	Injury        string `json:"injury"`
	// The Morse Fall Scale (0–125) and Conley (0–10) scores at the time, if known.
	Morse   *int   `json:"morse"`
	Conley  *int   `json:"conley"`
	Actions string `json:"actions"`
}

// PressureInjuryDetails describe a pressure injury: where, how deep, how large.
type PressureInjuryDetails struct {
	Site          string           `json:"site"`
	SiteOther     string           `json:"site_other"`
	Stage         string           `json:"stage"`
	LengthCM      *decimal.Decimal `json:"length_cm"`
	WidthCM       *decimal.Decimal `json:"width_cm"`
	DepthCM       *decimal.Decimal `json:"depth_cm"`
	DeviceRelated bool             `json:"device_related"`
}

// OtherDetails describe any other adverse event.
type OtherDetails struct {
	Category    string `json:"category"`
	Description string `json:"description"`
}

// RecordRequest is what a client sends to record an incident: the details
// of its kind, and only those.
type RecordRequest struct {
	Kind           Kind                   `json:"kind"`
	OccurredAt     time.Time              `json:"occurred_at"`
	FollowUpOf     *uuid.UUID             `json:"follow_up_of"`
	Fall           *FallDetails           `json:"fall"`
	PressureInjury *PressureInjuryDetails `json:"pressure_injury"`
	Other          *OtherDetails          `json:"other"`
	Notes          string                 `json:"notes"`
}

// Correction marks an incident entered in error.
type Correction struct {
	ID         uuid.UUID `json:"id"`
	Reason     string    `json:"reason"`
	RecordedBy uuid.UUID `json:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at"`
}

// Incident is one recorded adverse event.
type Incident struct {
	ID             uuid.UUID              `json:"id"`
	ResidentID     uuid.UUID              `json:"resident_id"`
	Kind           Kind                   `json:"kind"`
	OccurredAt     time.Time              `json:"occurred_at"`
	FollowUpOf     *uuid.UUID             `json:"follow_up_of"`
	Fall           *FallDetails           `json:"fall"`
	PressureInjury *PressureInjuryDetails `json:"pressure_injury"`
	Other          *OtherDetails          `json:"other"`
	Notes          string                 `json:"notes"`
	RecordedBy     uuid.UUID              `json:"recorded_by"`
	RecordedAt     time.Time              `json:"recorded_at"`
	EnteredInError *Correction            `json:"entered_in_error"`
}

func invalid(code, field, why string) error {
	return &backend.Error{Kind: backend.KindInvalid, Code: code, Detail: field + ": " + why,
		Fields: map[string]string{field: why}}
}

func textOK(s string, max int) bool {
	return utf8.ValidString(s) && len(s) <= max && !strings.ContainsRune(s, 0)
}

func oneOf(v string, list []string) bool {
	for _, x := range list {
		if v == x {
			return true
		}
	}
	return false
}

var maxSizeCM = decimal.NewFromInt(100)

func size(field string, d *decimal.Decimal) error {
	if d == nil {
		return nil
	}
	if d.Sign() <= 0 || d.GreaterThan(maxSizeCM) || d.Exponent() < -1 {
		return invalid("incident.invalid_size", field, "centimetres above 0 and up to 100, at most one decimal")
	}
	return nil
}

// Validate checks the request at now: the kind's details present (and no
// other kind's), fields from their lists, text bounded; occurred_at
// defaults to now and may not be in the future nor older than a year.
// Trims text in place.
func (r *RecordRequest) Validate(now time.Time) error {
	if r.OccurredAt.IsZero() {
		r.OccurredAt = now
	}
	r.OccurredAt = r.OccurredAt.UTC().Truncate(time.Microsecond)
	if r.OccurredAt.After(now.Add(5 * time.Minute)) {
		return invalid("incident.occurred_in_future", "occurred_at", "not in the future")
	}
	if r.OccurredAt.Before(now.AddDate(-1, 0, 0)) {
		return invalid("incident.occurred_too_long_ago", "occurred_at", "within the last year")
	}
	r.Notes = strings.TrimSpace(r.Notes)
	if !textOK(r.Notes, 4000) {
		return invalid("incident.invalid_text", "notes", "at most 4000 characters")
	}
	n := 0
	for _, p := range []bool{r.Fall != nil, r.PressureInjury != nil, r.Other != nil} {
		if p {
			n++
		}
	}
	switch r.Kind {
	case Fall:
		if r.Fall == nil || n != 1 {
			return invalid("incident.details_required", "fall", "a fall's details, and only those")
		}
		return r.Fall.validate()
	case PressureInjury:
		if r.PressureInjury == nil || n != 1 {
			return invalid("incident.details_required", "pressure_injury", "a pressure injury's details, and only those")
		}
		return r.PressureInjury.validate()
	case Other:
		if r.Other == nil || n != 1 {
			return invalid("incident.details_required", "other", "the event's details, and only those")
		}
		return r.Other.validate()
	}
	return invalid("incident.unknown_kind", "kind", "fall, pressure_injury or other")
}

func (f *FallDetails) validate() error {
	f.Place, f.Circumstances, f.Actions = strings.TrimSpace(f.Place), strings.TrimSpace(f.Circumstances), strings.TrimSpace(f.Actions)
	switch {
	case f.Place == "" || !textOK(f.Place, 200):
		return invalid("incident.place_required", "fall.place", "where it happened (up to 200 characters)")
	case f.Circumstances == "" || !textOK(f.Circumstances, 4000):
		return invalid("incident.circumstances_required", "fall.circumstances", "how it happened (up to 4000 characters)")
	case !oneOf(f.Injury, Injuries):
		return invalid("incident.invalid_injury", "fall.injury", "one of "+strings.Join(Injuries, ", "))
	case f.Morse != nil && (*f.Morse < 0 || *f.Morse > 125):
		return invalid("incident.invalid_score", "fall.morse", "a Morse Fall Scale score, 0 to 125")
	case f.Conley != nil && (*f.Conley < 0 || *f.Conley > 10):
		return invalid("incident.invalid_score", "fall.conley", "a Conley score, 0 to 10")
	case !textOK(f.Actions, 4000):
		return invalid("incident.invalid_text", "fall.actions", "at most 4000 characters")
	}
	return nil
}

func (p *PressureInjuryDetails) validate() error {
	p.SiteOther = strings.TrimSpace(p.SiteOther)
	switch {
	case !oneOf(p.Site, Sites):
		return invalid("incident.invalid_site", "pressure_injury.site", "one of "+strings.Join(Sites, ", "))
	case p.Site == "other" && p.SiteOther == "":
		return invalid("incident.site_other_required", "pressure_injury.site_other", "say where, when the site is other")
	case p.Site != "other" && p.SiteOther != "":
		return invalid("incident.site_other_required", "pressure_injury.site_other", "only when the site is other")
	case !textOK(p.SiteOther, 200):
		return invalid("incident.invalid_text", "pressure_injury.site_other", "at most 200 characters")
	case !oneOf(p.Stage, Stages):
		return invalid("incident.invalid_stage", "pressure_injury.stage", "one of "+strings.Join(Stages, ", "))
	}
	if err := size("pressure_injury.length_cm", p.LengthCM); err != nil {
		return err
	}
	if err := size("pressure_injury.width_cm", p.WidthCM); err != nil {
		return err
	}
	return size("pressure_injury.depth_cm", p.DepthCM)
}

func (o *OtherDetails) validate() error {
	o.Category, o.Description = strings.TrimSpace(o.Category), strings.TrimSpace(o.Description)
	switch {
	case o.Category == "" || !textOK(o.Category, 100):
		return invalid("incident.category_required", "other.category", "what kind of event (up to 100 characters)")
	case o.Description == "" || !textOK(o.Description, 4000):
		return invalid("incident.description_required", "other.description", "what happened (up to 4000 characters)")
	}
	return nil
}
