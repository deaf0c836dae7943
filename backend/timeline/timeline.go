// Package timeline is the resident's timeline: everything in her record —
// therapy events, vital signs, assessments, the clinical diary, documents,
// anamnesis, problems, incidents, rehab sessions, allergies, the care plan
// and its care tasks — in one feed,
// newest first, in pages that follow a keyset cursor on (at, kind, id).
//
// The feed applies the same reading rules as each part it shows: the
// resident's visibility (access.Decide with ReadResident, 404 otherwise),
// the clinical diary's rule by profession (entries of professions the
// reader may not read are absent, not even counted) and oscuramento
// (documents hidden from the reader's roles are absent). Both are applied
// by the store in SQL, before anything is counted or limited.
//
// Adding a kind takes three steps: a constant below, listed in Kinds; its
// entry in specs (whether it can be entered in error, how its summary is
// written from its facts); and its SQL fragment in the store
// (backend/postgres/timeline.go), which a test checks covers every kind.
package timeline

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Kind is what an item of the feed is.
type Kind string

// The kinds. Each is one SQL fragment of the store.
const (
	Prescription             Kind = "prescription"              // a prescription version written (new or revised)
	PrescriptionStatus       Kind = "prescription_status"       // suspended, resumed, discontinued, entered in error
	Administration           Kind = "administration"            // a dose given, partly given, refused, held, omitted
	AdministrationCorrection Kind = "administration_correction" // an act marked entered in error
	AssistedIntake           Kind = "assisted_intake"           // an OSS helped take a dose a nurse prepared
	PRNCheck                 Kind = "prn_check"                 // the effectiveness of an as-needed dose checked
	Vitals                   Kind = "vitals"                    // one recording of vital signs and measurements
	Assessment               Kind = "assessment"                // an assessment scale scored
	Diary                    Kind = "diary"                     // a clinical-diary entry or addendum
	Document                 Kind = "document"                  // a document uploaded
	Anamnesis                Kind = "anamnesis"                 // a version of an anamnesis section
	Problem                  Kind = "problem"                   // a diagnosis or problem recorded
	ProblemStatus            Kind = "problem_status"            // a problem's status changed
	Incident                 Kind = "incident"                  // a fall, pressure injury or other adverse event
	RehabSession             Kind = "rehab_session"             // a rehab session done or not done
	Allergy                  Kind = "allergy"                   // an allergy or intolerance recorded
	CarePlan                 Kind = "care_plan"                 // a PAI version proposed, or come into force
	CareTask                 Kind = "care_task"                 // a care task ticked done or not done
)

// Kinds is the fixed set a client may filter on, in a stable order.
var Kinds = []Kind{Prescription, PrescriptionStatus, Administration, AdministrationCorrection, AssistedIntake, PRNCheck,
	Vitals, Assessment, Diary,
	Document, Anamnesis, Problem, ProblemStatus, Incident, RehabSession, Allergy, CarePlan, CareTask}

// ValidKind reports whether k is one of Kinds.
func ValidKind(k Kind) bool { return slices.Contains(Kinds, k) }

// Page sizes and the longest period one request may cover.
const (
	DefaultLimit  = 50
	MaxLimit      = 200
	DefaultPeriod = 30 * 24 * time.Hour
	MaxPeriod     = 366 * 24 * time.Hour
)

// Stable codes of this package.
const (
	CodeUnknownKind   = "timeline.unknown_kind"
	CodeInvalidCursor = "timeline.invalid_cursor"
	CodeInvalidPeriod = "timeline.invalid_period"
	CodePeriodTooLong = "timeline.period_too_long"
	CodeInvalidQuery  = "request.invalid_query"
)

// Row is one item as the store reads it: the common columns, the ids that
// open it (Ref) and the facts its summary is written from (Facts), both
// JSON objects built by the kind's SQL fragment.
type Row struct {
	Kind           Kind
	At             time.Time
	ID             uuid.UUID
	By             *uuid.UUID
	ByName         string
	EnteredInError bool
	Ref            json.RawMessage
	Facts          json.RawMessage
}

// Item is one entry of the feed as the API shows it. ID identifies the
// item in the feed (for a version of a versioned row, an id derived from
// the row and the version); Ref holds the ids needed to open the full item.
// EnteredInError is present only for kinds that can be corrected.
type Item struct {
	Kind           Kind            `json:"kind"`
	At             time.Time       `json:"at"`
	ID             uuid.UUID       `json:"id"`
	By             *uuid.UUID      `json:"by"`
	ByName         string          `json:"by_name,omitempty"`
	Summary        string          `json:"summary"`
	EnteredInError *bool           `json:"entered_in_error,omitempty"`
	Ref            json.RawMessage `json:"ref"`
}

// Page is one page of the feed. Next is the cursor of the following page,
// nil at the end. From and To are the period the feed covers (To
// exclusive), defaults applied.
type Page struct {
	Items []Item    `json:"items"`
	Next  *string   `json:"next"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
}

// Filter is what the store reads: one resident's items of Kinds with at in
// [From, To), strictly after After in the feed's order (newest first by
// at, then kind, then id, all descending), at most Limit of them.
// Professions are the diary professions the reader reads; DocumentRoles
// her roles that read residents, for oscuramento.
type Filter struct {
	FacilityID, ResidentID uuid.UUID
	From, To               time.Time
	After                  *Cursor
	Kinds                  []Kind
	Limit                  int
	Professions            []string
	DocumentRoles          []string
}
