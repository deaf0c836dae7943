// Package access is the one place that says who may do what: the role ×
// action matrix and the scoping rules (facility, ward, break-the-glass).
// Everything is denied unless this package allows it. It is pure: callers
// bring the facts (the actor, the resident's ward, any active grant) and get
// a decision back.
package access

import (
	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
)

// Action is something an actor does. Resident actions are scoped by ward;
// the others are scoped by facility.
type Action string

const (
	// Resident record.
	ReadResident   Action = "resident.read"  // demographics, allergies, ward lists
	EditResident   Action = "resident.edit"  // demographics, contacts, GP
	AdmitResident  Action = "resident.admit" // admission, transfer, discharge
	RecordAllergy  Action = "allergy.record" // add or correct an allergy
	BreakGlass     Action = "resident.break_glass"
	PrintWristband Action = "resident.wristband" // print or reprint a wristband
	Prescribe      Action = "therapy.prescribe"
	Administer     Action = "therapy.administer"
	AssistIntake   Action = "therapy.assist_intake"
	RecordCare     Action = "care.record"
	RecordRehab    Action = "rehab.record"
	// The rest of the clinical record.
	RecordAssessment Action = "assessment.record" // assessment scales
	RecordVitals     Action = "vitals.record"     // vital signs and measurements
	WriteDiary       Action = "diary.write"       // the clinical diary, in one's own profession
	UploadDocument   Action = "document.upload"   // reports, letters, consents, images
	HideDocument     Action = "document.hide"     // oscuramento of a document from roles
	// The care plan (PAI): proposing a version, and signing one to agree it.
	WriteCarePlan  Action = "care_plan.write"
	SignCarePlan   Action = "care_plan.sign"
	ReadIndicators Action = "facility.indicators"
	// Recalls list, across the facility, the residents who received a batch.
	ReadRecalls Action = "therapy.recall"

	// Facility administration and oversight; no resident data.
	ReadWards     Action = "ward.list"
	ManageStaff   Action = "staff.manage"
	ManageDevices Action = "device.manage"
	ReadAudit     Action = "audit.read"
	VerifyAudit   Action = "audit.verify"
	// The drug catalogue is reference data, not resident data.
	ReadCatalogue   Action = "catalogue.read"
	ManageCatalogue Action = "catalogue.manage"
	// Therapy policy of the facility: lateness windows, which blocks may be
	// overridden, whether OSS may record assisted intake.
	ManageTherapySettings Action = "therapy.settings"
	// Where the bands of the assessment scales start in the facility
	// (scales.md: sources disagree on some cut-offs).
	ManageScaleBands Action = "assessment.bands"
)

// clinical lists the actions that touch resident data and so are scoped by
// ward, and never granted to admins or auditors.
var clinical = map[Action]bool{
	ReadResident: true, EditResident: true, AdmitResident: true, RecordAllergy: true,
	BreakGlass: true, PrintWristband: true, Prescribe: true, Administer: true,
	AssistIntake: true, RecordCare: true, RecordRehab: true,
	RecordAssessment: true, RecordVitals: true, WriteDiary: true, UploadDocument: true, HideDocument: true,
	WriteCarePlan: true, SignCarePlan: true,
}

// IsClinical reports whether action touches resident data.
func IsClinical(a Action) bool { return clinical[a] }

// matrix is the role × action table. An action absent from a role's list is
// denied. Keep it readable: this is what an inspector is shown.
var matrix = map[backend.Role][]Action{
	backend.RolePhysician: {ReadWards, ReadResident, EditResident, AdmitResident, RecordAllergy, BreakGlass,
		PrintWristband, Prescribe, Administer, ReadCatalogue, RecordAssessment, RecordVitals, WriteDiary,
		UploadDocument, HideDocument, WriteCarePlan, SignCarePlan},
	backend.RoleNurse: {ReadWards, ReadResident, EditResident, RecordAllergy, BreakGlass, PrintWristband,
		Administer, RecordCare, ReadCatalogue, RecordAssessment, RecordVitals, WriteDiary, UploadDocument,
		WriteCarePlan, SignCarePlan},
	// OSS record care and, where the facility allows, assisted intake of a
	// dose a nurse prepared; they never administer (DM 739/1994).
	// OSS take part in the PAI meeting and sign the plan they carry out,
	// but do not write it.
	backend.RoleOSS:       {ReadWards, ReadResident, RecordCare, AssistIntake, RecordVitals, WriteDiary, SignCarePlan},
	backend.RoleTherapist: {ReadWards, ReadResident, RecordRehab, RecordAssessment, WriteDiary, WriteCarePlan, SignCarePlan},
	backend.RoleWardLead: {ReadWards, ReadResident, EditResident, AdmitResident, RecordAllergy, PrintWristband,
		RecordCare, ReadRecalls, ReadCatalogue, RecordAssessment, RecordVitals, WriteDiary, UploadDocument,
		WriteCarePlan, SignCarePlan},
	backend.RoleDirector: {ReadWards, ReadResident, EditResident, AdmitResident, ReadIndicators, ReadRecalls,
		ReadCatalogue, ManageTherapySettings, ManageScaleBands, HideDocument},
	// Admins manage people, devices and the facility's own catalogue
	// entries, and read nothing clinical.
	backend.RoleAdmin: {ReadWards, ManageStaff, ManageDevices, ReadCatalogue, ManageCatalogue},
	// Auditors read the audit trail and nothing clinical.
	backend.RoleAuditor: {ReadWards, ReadAudit, VerifyAudit},
}

// facilityWide lists the roles that see every ward of their facility.
var facilityWide = map[backend.Role]bool{
	backend.RoleWardLead: true,
	backend.RoleDirector: true,
}

// Can reports whether any of the actor's roles grants action, regardless of
// scope.
func Can(a *backend.Actor, action Action) bool {
	if a == nil {
		return false
	}
	for _, r := range a.Roles {
		for _, x := range matrix[r] {
			if x == action {
				return true
			}
		}
	}
	return false
}

// SeesWholeFacility reports whether the actor's clinical scope is every ward
// of her facility rather than her assigned wards.
func SeesWholeFacility(a *backend.Actor) bool {
	for _, r := range a.Roles {
		if facilityWide[r] {
			return true
		}
	}
	return false
}

// SeesWard reports whether the actor may see ward's residents.
func SeesWard(a *backend.Actor, facility, ward uuid.UUID) bool {
	if a == nil || facility != a.FacilityID || !Can(a, ReadResident) {
		return false
	}
	return SeesWholeFacility(a) || a.AssignedTo(ward)
}

// Target is what an action on a resident is about.
type Target struct {
	FacilityID uuid.UUID
	WardID     uuid.UUID // the resident's ward (the last one, once discharged)
	// Current: the resident is admitted or temporarily in hospital. Care,
	// and so ward-scoped access, ends with the stay.
	Current bool
	// GrantReason is the reason of an active break-the-glass grant the actor
	// holds on this resident, or "" when she holds none.
	GrantReason string
}

// Decision is the outcome of Decide.
type Decision struct {
	// Visible: the resident exists for this actor. When false, the caller
	// answers exactly as for a resident that does not exist.
	Visible bool
	// Allowed: the action itself is permitted (implies Visible).
	Allowed bool
	// BreakGlass holds the grant's reason when visibility comes only from a
	// break-the-glass grant; the access must be flagged in the audit.
	BreakGlass string
}

// Decide rules on action by a on the resident described by t. Facility
// isolation is absolute. Within a facility the resident is visible when she
// is currently on one of the actor's wards, when the actor sees the whole
// facility, or under a live break-the-glass grant. Acting (anything but
// reading) needs more: the resident currently on one of the actor's own
// wards. Facility-wide sight and break-the-glass are for reading.
func Decide(a *backend.Actor, action Action, t Target) Decision {
	if a == nil || t.FacilityID != a.FacilityID || !Can(a, ReadResident) {
		return Decision{}
	}
	var d Decision
	onOwnWard := t.Current && t.WardID != uuid.Nil && a.AssignedTo(t.WardID)
	switch {
	case onOwnWard, SeesWholeFacility(a):
		d.Visible = true
	case t.GrantReason != "" && Can(a, BreakGlass):
		d.Visible = true
		d.BreakGlass = t.GrantReason
	}
	if !d.Visible {
		return d
	}
	d.Allowed = Can(a, action) && (action == ReadResident || onOwnWard)
	return d
}

// Check is Decide as an error for services: nil when the action is allowed;
// resident.not_found when the resident is not visible (exactly like one that
// does not exist); forbidden when she is visible but the action is not.
func Check(a *backend.Actor, action Action, t Target) (Decision, error) {
	d := Decide(a, action, t)
	switch {
	case !d.Visible:
		return d, backend.ErrResidentNotFound()
	case !d.Allowed:
		return d, backend.E(backend.KindForbidden, backend.CodeForbidden, "your role or ward does not allow this on this resident")
	}
	return d, nil
}

// CanActOnWard reports whether the actor may act (not only look) on ward's
// residents: the action is in her roles and the ward is one of hers.
func CanActOnWard(a *backend.Actor, action Action, facility, ward uuid.UUID) bool {
	return a != nil && facility == a.FacilityID && Can(a, action) && a.AssignedTo(ward)
}

// Matrix returns a copy of the role × action table, for documentation and
// tests.
func Matrix() map[backend.Role][]Action {
	out := make(map[backend.Role][]Action, len(matrix))
	for r, as := range matrix {
		out[r] = append([]Action(nil), as...)
	}
	return out
}
