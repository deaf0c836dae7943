// Package problem keeps the anamnesis, the diagnoses and the active
// problems of a resident.
//
// The anamnesis is one text per section, edited under optimistic locking
// (version → 409 version_conflict), every superseded version kept. A problem
// is coded in ICD-9-CM (the Italian 2007 edition, checked against the subset
// the service is given) or free text when no code fits; its content never
// changes, only its status (active, resolved, inactive, entered_in_error).
package problem

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/google/uuid"
)

// Section is a part of the anamnesis.
type Section string

const (
	Family             Section = "family"
	RemotePathological Section = "remote_pathological"
	RecentPathological Section = "recent_pathological"
	Physiological      Section = "physiological"
	Social             Section = "social"
	Functional         Section = "functional"
)

// Sections lists the anamnesis sections in the order they are shown.
var Sections = []Section{Family, RemotePathological, RecentPathological, Physiological, Social, Functional}

// ValidSection reports whether s is a section.
func ValidSection(s Section) bool {
	for _, x := range Sections {
		if x == s {
			return true
		}
	}
	return false
}

// AnamnesisSection is the current text of one section. A section never
// written has version 0 and no author.
type AnamnesisSection struct {
	ID         uuid.UUID  `json:"id,omitempty"`
	Section    Section    `json:"section"`
	Text       string     `json:"text"`
	Version    int        `json:"version"`
	UpdatedBy  *uuid.UUID `json:"updated_by,omitempty"`
	UpdatedAt  *time.Time `json:"updated_at,omitempty"`
	ResidentID uuid.UUID  `json:"-"`
}

// Anamnesis is a resident's anamnesis: every section, written or not.
type Anamnesis struct {
	ResidentID uuid.UUID          `json:"resident_id"`
	Sections   []AnamnesisSection `json:"sections"`
}

// HistoryEntry is one version of a section, current or superseded.
type HistoryEntry struct {
	Section   Section   `json:"section"`
	Version   int       `json:"version"`
	Text      string    `json:"text"`
	UpdatedBy uuid.UUID `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
	Current   bool      `json:"current"`
}

// Kind tells a physician's diagnosis from a nursing problem.
type Kind string

const (
	Medical Kind = "medical"
	Nursing Kind = "nursing"
)

// Status is where a problem stands.
type Status string

const (
	Active         Status = "active"
	Resolved       Status = "resolved"
	Inactive       Status = "inactive"
	EnteredInError Status = "entered_in_error"
)

func validStatus(s Status) bool {
	return s == Active || s == Resolved || s == Inactive || s == EnteredInError
}

// WriteAction is the one rule of who writes what: diagnoses (medical
// problems) are a physician's act, like prescribing (access.Prescribe);
// nursing problems are written by whoever edits the resident's record on
// her ward — nurses, ward leads, physicians (access.EditResident). The
// anamnesis is written under access.EditResident too.
func WriteAction(k Kind) access.Action {
	if k == Medical {
		return access.Prescribe
	}
	return access.EditResident
}

// Problem is a diagnosis or a nursing problem.
type Problem struct {
	ID           uuid.UUID `json:"id"`
	ResidentID   uuid.UUID `json:"resident_id"`
	Kind         Kind      `json:"kind"`
	Code         *string   `json:"icd9_code"`
	Description  string    `json:"description"`
	Onset        *string   `json:"onset"` // YYYY-MM-DD
	Status       Status    `json:"status"`
	StatusReason string    `json:"status_reason"`
	Version      int       `json:"version"`
	RecordedBy   uuid.UUID `json:"recorded_by"`
	RecordedAt   time.Time `json:"recorded_at"`
	UpdatedBy    uuid.UUID `json:"updated_by"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// NewProblem is what a client sends to record a problem: a code from the
// subset (its description is the code's, unless one is given) or, when no
// code fits, a free-text description.
type NewProblem struct {
	Kind        Kind    `json:"kind"`
	Code        *string `json:"icd9_code"`
	Description string  `json:"description"`
	Onset       *string `json:"onset"`
	Status      Status  `json:"status"`
}

// StatusChange moves a problem to another status.
type StatusChange struct {
	Version int    `json:"version"`
	Status  Status `json:"status"`
	Reason  string `json:"reason"`
}

// Code is one ICD-9-CM code of the subset.
type Code struct {
	Code        string `json:"code"`
	Description string `json:"description"`
}

// Codes is the ICD-9-CM subset the service accepts.
type Codes struct {
	list  []Code
	index map[string]Code
}

// ParseCodes reads a JSON array of {code, description}.
func ParseCodes(b []byte) (*Codes, error) {
	var list []Code
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, err
	}
	c := &Codes{list: list, index: make(map[string]Code, len(list))}
	for _, x := range list {
		c.index[x.Code] = x
	}
	return c, nil
}

// Lookup finds a code of the subset.
func (c *Codes) Lookup(code string) (Code, bool) {
	if c == nil {
		return Code{}, false
	}
	x, ok := c.index[strings.ToUpper(strings.TrimSpace(code))]
	return x, ok
}

// Search lists up to limit codes whose code starts with q or whose
// description contains every word of q (case-insensitive).
func (c *Codes) Search(q string, limit int) []Code {
	out := []Code{}
	if c == nil {
		return out
	}
	q = strings.ToLower(strings.TrimSpace(q))
	words := strings.Fields(q)
	for _, x := range c.list {
		if len(out) >= limit {
			break
		}
		if q == "" || strings.HasPrefix(strings.ToLower(x.Code), q) {
			out = append(out, x)
			continue
		}
		d, all := strings.ToLower(x.Description), true
		for _, w := range words {
			if !strings.Contains(d, w) {
				all = false
				break
			}
		}
		if all {
			out = append(out, x)
		}
	}
	return out
}

func textOK(s string, max int) bool {
	return utf8.ValidString(s) && len(s) <= max && !strings.ContainsRune(s, 0)
}

func invalid(code, field, why string) error { return backend.Invalid(code, field, why) }

// Validate checks a new problem against the code subset and today's date
// and normalises it: the code's own description when none is given, status
// active by default.
func (n *NewProblem) Validate(codes *Codes, today time.Time) error {
	if n.Kind == "" {
		n.Kind = Medical
	}
	if n.Kind != Medical && n.Kind != Nursing {
		return invalid("problem.invalid_kind", "kind", "medical or nursing")
	}
	if n.Status == "" {
		n.Status = Active
	}
	if n.Status != Active && n.Status != Resolved && n.Status != Inactive {
		return invalid("problem.invalid_status", "status", "active, resolved or inactive")
	}
	n.Description = strings.TrimSpace(n.Description)
	if !textOK(n.Description, 500) {
		return invalid("problem.invalid_description", "description", "at most 500 characters of text")
	}
	if n.Code != nil && strings.TrimSpace(*n.Code) == "" {
		n.Code = nil
	}
	if n.Code != nil {
		c, ok := codes.Lookup(*n.Code)
		if !ok {
			return &backend.Error{Kind: backend.KindUnprocessable, Code: "problem.unknown_code",
				Detail: "icd9_code: not in the ICD-9-CM subset; search GET /v1/icd9cm or record free text",
				Fields: map[string]string{"icd9_code": "not in the ICD-9-CM subset"}}
		}
		code := c.Code
		n.Code = &code
		if n.Description == "" {
			n.Description = c.Description
		}
	}
	if n.Description == "" {
		return invalid("problem.description_required", "description", "a code or a free-text description")
	}
	if n.Onset != nil {
		d, err := time.Parse(time.DateOnly, *n.Onset)
		if err != nil {
			return invalid("problem.invalid_onset", "onset", "a date, YYYY-MM-DD")
		}
		if d.Year() < 1900 || d.After(today) {
			return invalid("problem.invalid_onset", "onset", "not in the future, not before 1900")
		}
	}
	return nil
}

// Validate checks a status change.
func (c *StatusChange) Validate() error {
	c.Reason = strings.TrimSpace(c.Reason)
	if c.Version < 1 {
		return invalid("version_required", "version", "the version you read")
	}
	if !validStatus(c.Status) {
		return invalid("problem.invalid_status", "status", "active, resolved, inactive or entered_in_error")
	}
	if !textOK(c.Reason, 500) {
		return invalid("problem.invalid_reason", "reason", "at most 500 characters of text")
	}
	if c.Status == EnteredInError && utf8.RuneCountInString(c.Reason) < 5 {
		return invalid("correction.reason_required", "reason", "say what was wrong (at least 5 characters)")
	}
	return nil
}

// SectionWrite replaces the text of one section.
type SectionWrite struct {
	Version int    `json:"version"` // 0 for a section never written
	Text    string `json:"text"`
}

// Validate checks a section write.
func (w *SectionWrite) Validate() error {
	if w.Version < 0 {
		return invalid("version_required", "version", "the version you read, 0 for a new section")
	}
	if !textOK(w.Text, 20000) {
		return invalid("anamnesis.invalid_text", "text", "at most 20000 characters of text")
	}
	return nil
}
