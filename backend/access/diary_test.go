package access

import (
	"slices"
	"strings"
	"testing"

	"github.com/corsia-cce/corsia/backend"
)

// The diary read rule as the issue states it, one row per role: the
// professions whose entries a holder of that role alone reads.
func TestDiaryReadRule(t *testing.T) {
	t.Parallel()
	want := map[backend.Role]string{
		backend.RolePhysician: "medical nursing oss rehabilitation social psychological",
		backend.RoleNurse:     "medical nursing oss rehabilitation social",
		backend.RoleOSS:       "nursing oss rehabilitation",
		backend.RoleTherapist: "medical nursing oss rehabilitation social",
		backend.RoleWardLead:  "medical nursing oss rehabilitation social",
		backend.RoleDirector:  "medical nursing oss rehabilitation social psychological",
		backend.RoleAdmin:     "",
		backend.RoleAuditor:   "",
	}
	for _, r := range backend.AllRoles {
		a := &backend.Actor{Roles: []backend.Role{r}}
		var got []string
		for _, p := range ReadableProfessions(a) {
			got = append(got, string(p))
		}
		if g := strings.Join(got, " "); g != want[r] {
			t.Errorf("%s reads %q; want %q", r, g, want[r])
		}
	}
	// Roles add up: a ward lead who is also a nurse reads what either reads.
	lead := &backend.Actor{Roles: []backend.Role{backend.RoleWardLead, backend.RoleNurse}}
	if ReadsDiary(lead, Psychological) || !ReadsDiary(lead, Medical) {
		t.Error("lead+nurse: reads medical, not psychological")
	}
	if ReadsDiary(nil, OSSCare) {
		t.Error("no actor reads nothing")
	}
}

func TestDiaryProfessions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		roles []backend.Role
		want  []Profession
	}{
		{[]backend.Role{backend.RolePhysician}, []Profession{Medical}},
		{[]backend.Role{backend.RoleNurse}, []Profession{Nursing}},
		{[]backend.Role{backend.RoleOSS}, []Profession{OSSCare}},
		{[]backend.Role{backend.RoleTherapist}, []Profession{Rehabilitation}},
		{[]backend.Role{backend.RoleWardLead, backend.RoleNurse}, []Profession{Nursing}},
		{[]backend.Role{backend.RoleDirector, backend.RolePhysician}, []Profession{Medical}},
		{[]backend.Role{backend.RoleNurse, backend.RolePhysician}, []Profession{Medical, Nursing}},
		{[]backend.Role{backend.RoleWardLead}, nil},
		{[]backend.Role{backend.RoleDirector}, nil},
		{[]backend.Role{backend.RoleAdmin}, nil},
		{[]backend.Role{backend.RoleAuditor}, nil},
	}
	for _, c := range cases {
		a := &backend.Actor{Roles: c.roles}
		if got := DiaryProfessions(a); !slices.Equal(got, c.want) {
			t.Errorf("%v writes %v; want %v", c.roles, got, c.want)
		}
	}
	// Nobody writes social or psychological entries until a role exists,
	// and everyone who writes a profession also reads it.
	for _, r := range backend.AllRoles {
		a := &backend.Actor{Roles: []backend.Role{r}}
		if WritesDiary(a, Social) || WritesDiary(a, Psychological) {
			t.Errorf("%s writes social or psychological entries", r)
		}
		for _, p := range DiaryProfessions(a) {
			if !ReadsDiary(a, p) {
				t.Errorf("%s writes %s but cannot read it", r, p)
			}
			if !Can(a, WriteDiary) {
				t.Errorf("%s writes %s without diary.write", r, p)
			}
		}
	}
}
