package access

import (
	"testing"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
)

// The rules the issue states, checked against the matrix itself.
func TestMatrixRules(t *testing.T) {
	t.Parallel()
	m := Matrix()
	has := func(r backend.Role, a Action) bool {
		for _, x := range m[r] {
			if x == a {
				return true
			}
		}
		return false
	}
	for _, r := range backend.AllRoles {
		if has(r, Prescribe) != (r == backend.RolePhysician) {
			t.Errorf("%s prescribe = %v: only physicians prescribe", r, has(r, Prescribe))
		}
		if has(r, Administer) != (r == backend.RolePhysician || r == backend.RoleNurse) {
			t.Errorf("%s administer = %v: only nurses and physicians administer", r, has(r, Administer))
		}
		if has(r, RecordRehab) != (r == backend.RoleTherapist) {
			t.Errorf("%s rehab = %v: therapists record rehab sessions", r, has(r, RecordRehab))
		}
	}
	for _, r := range []backend.Role{backend.RoleAdmin, backend.RoleAuditor} {
		for _, a := range m[r] {
			if IsClinical(a) {
				t.Errorf("%s holds clinical action %s", r, a)
			}
		}
	}
	if !has(backend.RoleAuditor, ReadAudit) || has(backend.RoleAdmin, ReadAudit) {
		t.Error("only auditors read the audit trail")
	}
	if !has(backend.RoleAdmin, ManageStaff) || !has(backend.RoleAdmin, ManageDevices) {
		t.Error("admins manage staff and devices")
	}
	for _, r := range backend.AllRoles {
		if has(r, ManageScaleBands) != (r == backend.RoleDirector) {
			t.Errorf("%s scale bands = %v: the medical director sets the facility's bands", r, has(r, ManageScaleBands))
		}
	}
	if IsClinical(ManageScaleBands) {
		t.Error("scale bands are facility configuration, not resident data")
	}
	if !has(backend.RoleOSS, RecordCare) || !has(backend.RoleOSS, AssistIntake) {
		t.Error("OSS record care and assisted intake")
	}
}

func TestDecideScopes(t *testing.T) {
	t.Parallel()
	fac, other := uuid.New(), uuid.New()
	wardA, wardB := uuid.New(), uuid.New()
	nurse := &backend.Actor{FacilityID: fac, Roles: []backend.Role{backend.RoleNurse}, WardIDs: []uuid.UUID{wardA}}
	lead := &backend.Actor{FacilityID: fac, Roles: []backend.Role{backend.RoleWardLead}, WardIDs: []uuid.UUID{wardA}}
	oss := &backend.Actor{FacilityID: fac, Roles: []backend.Role{backend.RoleOSS}, WardIDs: []uuid.UUID{wardA}}
	admin := &backend.Actor{FacilityID: fac, Roles: []backend.Role{backend.RoleAdmin}}
	cases := []struct {
		name    string
		a       *backend.Actor
		action  Action
		target  Target
		visible bool
		allowed bool
		glass   string
	}{
		{"nurse own ward", nurse, ReadResident, Target{FacilityID: fac, WardID: wardA, Current: true}, true, true, ""},
		{"nurse other ward", nurse, ReadResident, Target{FacilityID: fac, WardID: wardB, Current: true}, false, false, ""},
		{"nurse other facility same ward id", nurse, ReadResident, Target{FacilityID: other, WardID: wardA, Current: true}, false, false, ""},
		{"nurse break-glass", nurse, ReadResident, Target{FacilityID: fac, WardID: wardB, Current: true, GrantReason: "r"}, true, true, "r"},
		{"nurse grant in other facility", nurse, ReadResident, Target{FacilityID: other, WardID: wardB, GrantReason: "r"}, false, false, ""},
		{"lead other ward", lead, ReadResident, Target{FacilityID: fac, WardID: wardB, Current: true}, true, true, ""},
		{"lead other facility", lead, ReadResident, Target{FacilityID: other, WardID: wardB, Current: true}, false, false, ""},
		{"oss own ward edit", oss, EditResident, Target{FacilityID: fac, WardID: wardA, Current: true}, true, false, ""},
		{"oss grant ignored", oss, ReadResident, Target{FacilityID: fac, WardID: wardB, Current: true, GrantReason: "r"}, false, false, ""},
		{"admin sees no resident", admin, ReadResident, Target{FacilityID: fac, WardID: wardA, Current: true}, false, false, ""},
		{"discharged resident, no ward", nurse, ReadResident, Target{FacilityID: fac}, false, false, ""},
		{"discharged from her ward: care has ended", nurse, ReadResident, Target{FacilityID: fac, WardID: wardA}, false, false, ""},
		{"discharged: the lead still reads", lead, ReadResident, Target{FacilityID: fac, WardID: wardA}, true, true, ""},
		{"discharged: nobody edits", lead, EditResident, Target{FacilityID: fac, WardID: wardA}, true, false, ""},
		{"lead acts on her ward", lead, EditResident, Target{FacilityID: fac, WardID: wardA, Current: true}, true, true, ""},
		{"lead only reads other wards", lead, EditResident, Target{FacilityID: fac, WardID: wardB, Current: true}, true, false, ""},
		{"break-glass is read-only", nurse, EditResident, Target{FacilityID: fac, WardID: wardB, Current: true, GrantReason: "r"}, true, false, "r"},
		{"nil actor", nil, ReadResident, Target{FacilityID: fac, WardID: wardA, Current: true}, false, false, ""},
	}
	for _, c := range cases {
		d := Decide(c.a, c.action, c.target)
		if d.Visible != c.visible || d.Allowed != c.allowed || d.BreakGlass != c.glass {
			t.Errorf("%s: %+v; want visible=%v allowed=%v glass=%q", c.name, d, c.visible, c.allowed, c.glass)
		}
	}
}
