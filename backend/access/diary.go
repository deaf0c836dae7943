package access

import "github.com/corsia-cce/corsia/backend"

// Profession is the profession a clinical-diary entry is written in. Who
// may read an entry depends on it (ReadsDiary); who may write it on the
// writer's roles (DiaryProfessions).
type Profession string

const (
	Medical        Profession = "medical"
	Nursing        Profession = "nursing"
	OSSCare        Profession = "oss"
	Rehabilitation Profession = "rehabilitation"
	// Social and Psychological have no staff role yet: nobody writes them
	// for now (DiaryProfessions never yields them), but they are read by
	// the rule below, ready for the day a role exists.
	Social        Profession = "social"
	Psychological Profession = "psychological"
)

// Professions lists every profession, in a stable order.
var Professions = []Profession{Medical, Nursing, OSSCare, Rehabilitation, Social, Psychological}

// ValidProfession reports whether p is one of Professions.
func ValidProfession(p Profession) bool {
	for _, x := range Professions {
		if x == p {
			return true
		}
	}
	return false
}

// writesAs maps a role to the profession its holder writes in. Ward leads,
// directors, admins and auditors write in none of their own: a ward lead who
// is also a nurse writes nursing entries as a nurse.
var writesAs = map[backend.Role]Profession{
	backend.RolePhysician: Medical,
	backend.RoleNurse:     Nursing,
	backend.RoleOSS:       OSSCare,
	backend.RoleTherapist: Rehabilitation,
}

// diaryReaders is who reads which profession's entries: the matrix an
// inspector is shown. Roles absent from a list do not read that profession.
//   - medical, nursing: physicians, nurses, ward leads, the director,
//     therapists; nursing entries also OSS (they act on them at the bed).
//   - oss, rehabilitation: every clinical role.
//   - psychological: physicians and the director only.
//   - social (a design choice, the brief names no rule): as medical — not
//     OSS, who read only OSS, nursing and rehabilitation entries.
var diaryReaders = map[Profession][]backend.Role{
	Medical: {backend.RolePhysician, backend.RoleNurse, backend.RoleWardLead, backend.RoleDirector, backend.RoleTherapist},
	Nursing: {backend.RolePhysician, backend.RoleNurse, backend.RoleWardLead, backend.RoleDirector, backend.RoleTherapist,
		backend.RoleOSS},
	OSSCare: {backend.RolePhysician, backend.RoleNurse, backend.RoleWardLead, backend.RoleDirector, backend.RoleTherapist,
		backend.RoleOSS},
	Rehabilitation: {backend.RolePhysician, backend.RoleNurse, backend.RoleWardLead, backend.RoleDirector,
		backend.RoleTherapist, backend.RoleOSS},
	Social:        {backend.RolePhysician, backend.RoleNurse, backend.RoleWardLead, backend.RoleDirector, backend.RoleTherapist},
	Psychological: {backend.RolePhysician, backend.RoleDirector},
}

// ReadsDiary reports whether any of the actor's roles reads entries of
// profession p. It says nothing about the resident: the caller must also
// see her (Decide with ReadResident).
func ReadsDiary(a *backend.Actor, p Profession) bool {
	if a == nil {
		return false
	}
	for _, r := range a.Roles {
		for _, x := range diaryReaders[p] {
			if x == r {
				return true
			}
		}
	}
	return false
}

// ReadableProfessions lists the professions whose entries the actor reads.
func ReadableProfessions(a *backend.Actor) []Profession {
	var out []Profession
	for _, p := range Professions {
		if ReadsDiary(a, p) {
			out = append(out, p)
		}
	}
	return out
}

// DiaryProfessions lists the professions the actor may write in, from her
// roles; a member with several chooses one of them for each entry. It does
// not check WriteDiary or the resident's ward: Decide does.
func DiaryProfessions(a *backend.Actor) []Profession {
	if a == nil {
		return nil
	}
	var out []Profession
	for _, p := range Professions {
		for _, r := range a.Roles {
			if writesAs[r] == p {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// WritesDiary reports whether the actor holds the profession p.
func WritesDiary(a *backend.Actor, p Profession) bool {
	for _, x := range DiaryProfessions(a) {
		if x == p {
			return true
		}
	}
	return false
}
