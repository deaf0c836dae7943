// Package resident is the core of the resident's record (ospite): personal
// data, stays, current ward and bed, the wristband identifier, and allergies
// and intolerances. Every read and write goes through access.Decide and is
// audited; a resident the caller may not see answers exactly like one that
// does not exist.
package resident

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/google/uuid"
)

// Status of a resident in the facility.
type Status string

const (
	Admitted     Status = "admitted"
	Hospitalised Status = "hospitalised" // temporarily away; keeps the bed
	Discharged   Status = "discharged"
	Deceased     Status = "deceased"
)

// GP is the resident's general practitioner (medico di medicina generale).
type GP struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
}

// Contact is a person to call: family, guardian, support administrator.
type Contact struct {
	Name            string `json:"name"`
	Relation        string `json:"relation"`
	Phone           string `json:"phone,omitempty"`
	IsLegalGuardian bool   `json:"is_legal_guardian"`
}

// Resident is the resident's record core.
type Resident struct {
	FacilityID       uuid.UUID
	ID               uuid.UUID
	GivenName        string
	FamilyName       string
	Sex              string
	BirthDate        time.Time // a date, at midnight UTC
	BirthPlace       string
	FiscalCode       string
	FiscalCodeValid  bool
	HealthCardNumber string
	GP               GP
	Contacts         []Contact
	WristbandCode    string
	Status           Status
	WardID           uuid.UUID
	BedID            uuid.UUID
	BedCode          string
	AdmittedAt       time.Time
	Version          int
	UpdatedAt        time.Time
	Allergies        []Allergy
}

// Initials returns "M. R." style initials, the most a lock screen may show.
func (r *Resident) Initials() string {
	first := func(s string) string {
		c, _ := utf8.DecodeRuneInString(s)
		return string(c) + "."
	}
	return first(r.GivenName) + " " + first(r.FamilyName)
}

// Summary is a resident as listed on a ward: enough to find her at the bed.
type Summary struct {
	ID            uuid.UUID
	GivenName     string
	FamilyName    string
	Sex           string
	BirthDate     time.Time
	BedCode       string
	WardID        uuid.UUID
	Status        Status
	HasAllergies  bool
	WristbandCode string
}

// Allergy is an allergy or intolerance.
type Allergy struct {
	ID           uuid.UUID
	ResidentID   uuid.UUID
	Substance    string
	ATCCode      string
	Category     string
	Kind         string
	Reaction     string
	Severity     string
	Status       string
	StatusReason string
	RecordedBy   uuid.UUID
	RecordedAt   time.Time
	Version      int
}

// Allowed values; the database checks them too.
var (
	allergyCategories = []string{"drug", "food", "environment", "other"}
	allergyKinds      = []string{"allergy", "intolerance"}
	allergySeverities = []string{"mild", "moderate", "severe", "life_threatening", "unknown"}
	allergyStatuses   = []string{"active", "inactive", "resolved", "entered_in_error"}
)

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// Validate checks an allergy as entered.
func (a *Allergy) Validate() error {
	a.Substance = strings.TrimSpace(a.Substance)
	a.ATCCode = strings.ToUpper(strings.TrimSpace(a.ATCCode))
	switch {
	case a.Substance == "" || len(a.Substance) > 200:
		return backend.Invalid("allergy.invalid", "substance", "required, at most 200 characters")
	case a.ATCCode != "" && !validATC(a.ATCCode):
		return backend.Invalid("allergy.invalid", "atc_code", "not an ATC code (e.g. J01C, J01CA04)")
	case !oneOf(a.Category, allergyCategories):
		return backend.Invalid("allergy.invalid", "category", "one of drug, food, environment, other")
	case !oneOf(a.Kind, allergyKinds):
		return backend.Invalid("allergy.invalid", "kind", "allergy or intolerance")
	case !oneOf(a.Severity, allergySeverities):
		return backend.Invalid("allergy.invalid", "severity", "one of mild, moderate, severe, life_threatening, unknown")
	case len(a.Reaction) > 500:
		return backend.Invalid("allergy.invalid", "reaction", "at most 500 characters")
	}
	if a.Status == "" {
		a.Status = "active"
	}
	if !oneOf(a.Status, allergyStatuses) || a.Status == "entered_in_error" {
		return backend.Invalid("allergy.invalid", "status", "active, inactive or resolved")
	}
	return nil
}

// validATC accepts an ATC code at any level: A, A01, A01B, A01BC, A01BC01.
func validATC(s string) bool {
	shape := "A99AA99" // letter, digit
	if len(s) > len(shape) || len(s) == 0 || len(s) == 2 || len(s) == 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if shape[i] == 'A' && (c < 'A' || c > 'Z') || shape[i] == '9' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Patch is an edit of the personal data; nil fields are left as they are.
type Patch struct {
	GivenName        *string
	FamilyName       *string
	Sex              *string
	BirthDate        *time.Time
	BirthPlace       *string
	FiscalCode       *string
	HealthCardNumber *string
	GP               *GP
	Contacts         *[]Contact
}

// Apply applies p to r and validates the result.
func (p Patch) Apply(r *Resident) error {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&r.GivenName, p.GivenName)
	set(&r.FamilyName, p.FamilyName)
	set(&r.Sex, p.Sex)
	set(&r.BirthPlace, p.BirthPlace)
	set(&r.HealthCardNumber, p.HealthCardNumber)
	if p.BirthDate != nil {
		r.BirthDate = *p.BirthDate
	}
	if p.FiscalCode != nil {
		r.FiscalCode = codes.NormalizeFiscalCode(*p.FiscalCode)
	}
	if p.GP != nil {
		r.GP = *p.GP
	}
	if p.Contacts != nil {
		r.Contacts = *p.Contacts
	}
	// A typed codice fiscale must be valid; an imported one that is flagged
	// invalid does not block edits of other fields.
	return r.Validate(p.FiscalCode != nil)
}

// Validate checks personal data. strictFiscalCode rejects an invalid codice
// fiscale (typed input); imports pass false, and the code is kept but
// flagged as invalid rather than dropped.
func (r *Resident) Validate(strictFiscalCode bool) error {
	const code = "resident.invalid"
	switch {
	case r.GivenName == "" || len(r.GivenName) > 100:
		return backend.Invalid(code, "given_name", "required, at most 100 characters")
	case r.FamilyName == "" || len(r.FamilyName) > 100:
		return backend.Invalid(code, "family_name", "required, at most 100 characters")
	case r.Sex != "F" && r.Sex != "M" && r.Sex != "X":
		return backend.Invalid(code, "sex", "F, M or X")
	case r.BirthDate.IsZero() || r.BirthDate.Year() < 1900 || r.BirthDate.After(time.Now()):
		return backend.Invalid(code, "birth_date", "a past date after 1900")
	case r.HealthCardNumber != "" && !codes.ValidHealthCard(r.HealthCardNumber):
		return backend.Invalid(code, "tessera_sanitaria", "20 digits with a valid check digit")
	case len(r.Contacts) > 10:
		return backend.Invalid(code, "contacts", "at most 10 contacts")
	}
	for _, c := range r.Contacts {
		if strings.TrimSpace(c.Name) == "" || len(c.Name) > 100 || len(c.Relation) > 50 || len(c.Phone) > 30 {
			return backend.Invalid(code, "contacts", "each contact needs a name (≤100), relation (≤50), phone (≤30)")
		}
	}
	if len(r.GP.Name) > 100 || len(r.GP.Phone) > 30 {
		return backend.Invalid(code, "gp", "name ≤100, phone ≤30 characters")
	}
	r.FiscalCode = codes.NormalizeFiscalCode(r.FiscalCode)
	r.FiscalCodeValid = codes.ValidFiscalCode(r.FiscalCode)
	if strictFiscalCode && r.FiscalCode != "" && !r.FiscalCodeValid {
		return backend.Invalid("resident.fiscal_code_invalid", "codice_fiscale", "the check character does not match")
	}
	if r.Contacts == nil {
		r.Contacts = []Contact{}
	}
	return nil
}
