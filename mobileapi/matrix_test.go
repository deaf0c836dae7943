package mobileapi_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/google/uuid"
)

// The permission matrix: every route × every role × (own ward, other ward,
// other facility), with the outcome written out rather than derived from the
// code under test. Actors are the small facility ALT's staff; "own" targets
// a resident of ward X (where the ward-bound staff work), "other ward" one of
// ward Y, "other facility" one of the demo facility VDT.

type scope int

const (
	own scope = iota
	otherWard
	otherFacility
)

func (s scope) String() string { return [...]string{"own ward", "other ward", "other facility"}[s] }

// roles, by the ALT user who holds them.
var matrixUsers = []string{"nurse", "oss", "therapist", "lead", "doctor", "director", "admin", "auditor"}

func altUser(role string) string {
	switch role {
	case "doctor", "director", "admin", "auditor":
		return "alt." + role
	}
	return "alt." + role + ".x"
}

// target is what one case acts on: a fresh resident with one allergy, so
// that cases never disturb each other.
type target struct {
	facility, ward, resident, allergy, staff uuid.UUID
	wristband                                string
}

// expect maps role → status for each scope. A missing role means the same
// status as the "*" entry.
type expect map[string]int

type matrixRow struct {
	method, path string
	build        func(e *env, tg target) req
	want         [3]expect // by scope
}

func all(status int) expect { return expect{"*": status} }

// Who sees what: ward-bound staff see ward X only; the lead and the director
// see the whole facility; the doctor is assigned to X and Y; admins and
// auditors see no resident. Acting needs the resident on one of the actor's
// own wards: the lead acts on X only, the director (no wards) nowhere.
var (
	seeOwn   = expect{"nurse": 200, "oss": 200, "therapist": 200, "lead": 200, "doctor": 200, "director": 200, "*": 404}
	seeOther = expect{"lead": 200, "doctor": 200, "director": 200, "*": 404}
	// editOwn/editOther: edit personal data, record allergies, photos
	// (physicians, nurses, ward leads on their wards).
	editOwn   = expect{"nurse": 200, "lead": 200, "doctor": 200, "oss": 403, "therapist": 403, "director": 403, "*": 404}
	editOther = expect{"lead": 403, "doctor": 200, "director": 403, "*": 404}
	// admitOwn/admitOther: transfer and discharge (physicians, ward leads).
	admitOwn   = expect{"lead": 200, "doctor": 200, "nurse": 403, "oss": 403, "therapist": 403, "director": 403, "*": 404}
	admitOther = expect{"lead": 403, "doctor": 200, "director": 403, "*": 404}
)

// status replaces every 200 in e with st (201 for creations, 204 for no body).
func status(e expect, st int) expect {
	out := expect{}
	for k, v := range e {
		if v == 200 {
			v = st
		}
		out[k] = v
	}
	return out
}

func rid(tg target) string { return tg.resident.String() }

var matrixRows = []matrixRow{
	{"GET", "/healthz", nil, [3]expect{all(200), all(200), all(200)}},
	{"GET", "/readyz", nil, [3]expect{all(200), all(200), all(200)}},
	{"GET", "/metrics", nil, [3]expect{all(200), all(200), all(200)}},
	{"GET", "/openapi.yaml", nil, [3]expect{all(200), all(200), all(200)}},
	{"POST", "/v1/auth/login", func(e *env, tg target) req {
		return req{body: map[string]string{"username": "alt.nurse.x", "password": "corsia-demo"}}
	}, [3]expect{all(200), all(200), all(200)}},
	{"POST", "/v1/auth/badge", func(e *env, tg target) req {
		return req{body: map[string]string{"badge": codes.NewIdent(codes.BadgePrefix), "pin": "1234"}}
	}, [3]expect{all(401), all(401), all(401)}},
	{"POST", "/v1/auth/refresh", func(e *env, tg target) req {
		return req{body: map[string]string{"refresh_token": "crt_unknown"}}
	}, [3]expect{all(401), all(401), all(401)}},
	{"POST", "/v1/auth/logout", nil, [3]expect{all(204), all(204), all(204)}},
	{"GET", "/v1/me", nil, [3]expect{all(200), all(200), all(200)}},
	{"GET", "/v1/wards", nil, [3]expect{all(200), all(200), all(200)}},
	{"GET", "/v1/wards/:id/residents", func(e *env, tg target) req {
		return req{path: "/v1/wards/" + tg.ward.String() + "/residents"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/residents", func(e *env, tg target) req {
		return req{body: map[string]any{"given_name": "Nuova", "family_name": "Ospite", "sex": "F", "birth_date": "1940-02-03",
			"codice_fiscale": "", "ward_id": tg.ward.String(), "source": "home"}}
	}, [3]expect{
		{"lead": 201, "doctor": 201, "director": 403, "*": 403},
		{"lead": 403, "doctor": 201, "director": 403, "*": 403},
		{"lead": 404, "doctor": 404, "director": 404, "*": 403},
	}},
	{"GET", "/v1/residents/by-wristband/:code", func(e *env, tg target) req {
		return req{path: "/v1/residents/by-wristband/" + tg.wristband}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"GET", "/v1/residents/:id", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg)}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"PATCH", "/v1/residents/:id", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg), body: map[string]any{"version": 1, "birth_place": "Lodi"}}
	}, [3]expect{editOwn, editOther, all(404)}},
	{"GET", "/v1/residents/:id/history", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/history"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	// The timeline (timeline_test.go): read like the resident; what a role
	// may not read inside it is left out, never refused.
	{"GET", "/v1/residents/:id/timeline", func(e *env, tg target) req {
		e.mxDiaryEntry(tg)
		e.mxDocument(tg, "oss")
		return req{path: "/v1/residents/" + rid(tg) + "/timeline?limit=5"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"GET", "/v1/residents/:id/photo", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/photo"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"PUT", "/v1/residents/:id/photo", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/photo", body: rawBody{"image/png", tinyPNG()}}
	}, [3]expect{status(editOwn, 204), status(editOther, 204), all(404)}},
	{"GET", "/v1/residents/:id/wristband", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/wristband?format=zpl"}
	}, [3]expect{editOwn, editOther, all(404)}},
	{"POST", "/v1/residents/:id/transfer", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/transfer", body: map[string]any{"version": 1, "ward_id": tg.ward.String()}}
	}, [3]expect{admitOwn, admitOther, all(404)}},
	{"POST", "/v1/residents/:id/discharge", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/discharge", body: map[string]any{"version": 1, "reason": "rientro a domicilio"}}
	}, [3]expect{admitOwn, admitOther, all(404)}},
	{"POST", "/v1/residents/:id/break-glass", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/break-glass", body: map[string]any{"reason": "emergenza notturna documentata"}}
	}, [3]expect{
		{"nurse": 201, "lead": 201, "doctor": 201, "director": 201, "*": 404},
		{"nurse": 201, "lead": 201, "doctor": 201, "director": 201, "*": 404},
		all(404),
	}},
	{"POST", "/v1/residents/:id/allergies", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/allergies", body: map[string]any{"substance": "Penicillina",
			"atc_code": "J01C", "category": "drug", "kind": "allergy", "reaction": "orticaria", "severity": "moderate"}}
	}, [3]expect{status(editOwn, 201), status(editOther, 201), all(404)}},
	{"POST", "/v1/residents/:id/allergies/:allergy_id/status", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/allergies/" + tg.allergy.String() + "/status",
			body: map[string]any{"version": 1, "status": "entered_in_error", "reason": "registrata sull'ospite sbagliato"}}
	}, [3]expect{editOwn, editOther, all(404)}},
	// Documents (documents_test.go): read like the resident; uploaded and
	// marked in error by physicians, nurses and leads on their wards; hidden
	// (oscuramento) by physicians on their wards and by the director.
	{"GET", "/v1/residents/:id/documents", func(e *env, tg target) req {
		e.mxDocument(tg)
		return req{path: "/v1/residents/" + rid(tg) + "/documents"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/residents/:id/documents", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/documents?kind=report&title=Referto", body: rawBody{"application/pdf", testPDF("matrice")}}
	}, [3]expect{status(editOwn, 201), status(editOther, 201), all(404)}},
	{"GET", "/v1/documents/:id", func(e *env, tg target) req {
		return req{path: "/v1/documents/" + e.mxDocument(tg).String()}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"GET", "/v1/documents/:id/content", func(e *env, tg target) req {
		return req{path: "/v1/documents/" + e.mxDocument(tg).String() + "/content"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/documents/:id/visibility", func(e *env, tg target) req {
		return req{path: "/v1/documents/" + e.mxDocument(tg).String() + "/visibility",
			body: map[string]any{"hidden_from": []string{"oss"}, "reason": "richiesta dell'ospite"}}
	}, [3]expect{
		{"doctor": 200, "director": 200, "nurse": 403, "lead": 403, "oss": 403, "therapist": 403, "*": 404},
		{"doctor": 200, "director": 200, "lead": 403, "*": 404},
		all(404),
	}},
	{"POST", "/v1/documents/:id/entered-in-error", func(e *env, tg target) req {
		return req{path: "/v1/documents/" + e.mxDocument(tg).String() + "/entered-in-error", body: map[string]any{"reason": "ospite sbagliato"}}
	}, [3]expect{editOwn, editOther, all(404)}},
	// Therapy. Only physicians prescribe and reconcile, on residents of
	// their wards; nurses and physicians administer on their wards, an OSS
	// assists intake on hers (access.matrix).
	{"GET", "/v1/residents/:id/prescriptions", func(e *env, tg target) req {
		e.mxPrescription(tg, false)
		return req{path: "/v1/residents/" + rid(tg) + "/prescriptions"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/residents/:id/prescriptions", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/prescriptions", body: mxOrder(e)}
	}, [3]expect{status(prescribeOwn, 201), status(prescribeOther, 201), all(404)}},
	{"POST", "/v1/residents/:id/reconciliation", func(e *env, tg target) req {
		// newTarget's admission opened the reconciliation.
		return req{path: "/v1/residents/" + rid(tg) + "/reconciliation", body: map[string]any{"outcome": "confirmed"}}
	}, [3]expect{status(prescribeOwn, 204), status(prescribeOther, 204), all(404)}},
	{"GET", "/v1/residents/:id/mar", func(e *env, tg target) req {
		e.mxDose(tg, e.mxPrescription(tg, false))
		now := time.Now().UTC()
		return req{path: "/v1/residents/" + rid(tg) + "/mar?from=" + now.Add(-24*time.Hour).Format(time.RFC3339) +
			"&to=" + now.Add(24*time.Hour).Format(time.RFC3339)}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	// Vital signs (vitals_test.go): nurses, OSS, physicians and the lead
	// record on their own wards; whoever sees the resident reads them.
	{"POST", "/v1/residents/:id/vitals", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/vitals", header: map[string]string{"Idempotency-Key": uuid.NewString()},
			body: map[string]any{"measurements": []any{map[string]any{"kind": "heart_rate", "value": "72"}}}}
	}, [3]expect{status(vitalsOwn, 201), status(vitalsOther, 201), all(404)}},
	{"GET", "/v1/residents/:id/vitals", func(e *env, tg target) req {
		e.mxVital(tg)
		return req{path: "/v1/residents/" + rid(tg) + "/vitals"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/vitals/:id/entered-in-error", func(e *env, tg target) req {
		return req{path: "/v1/vitals/" + e.mxVital(tg).String() + "/entered-in-error", body: map[string]any{"reason": "ospite sbagliato"}}
	}, [3]expect{vitalsOwn, vitalsOther, all(404)}},
	{"GET", "/v1/wards/:id/vitals/latest", func(e *env, tg target) req {
		e.mxVital(tg)
		return req{path: "/v1/wards/" + tg.ward.String() + "/vitals/latest"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	// Anamnesis and problems (problems_test.go): whoever sees the resident
	// reads; the anamnesis is written like the record (physicians, nurses,
	// leads on their wards), diagnoses by physicians on their wards.
	{"GET", "/v1/residents/:id/anamnesis", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/anamnesis"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"GET", "/v1/residents/:id/anamnesis/history", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/anamnesis/history"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"PUT", "/v1/residents/:id/anamnesis/:section", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/anamnesis/social", body: map[string]any{"version": 0, "text": "vive sola"}}
	}, [3]expect{editOwn, editOther, all(404)}},
	{"GET", "/v1/residents/:id/problems", func(e *env, tg target) req {
		e.mxProblem(tg)
		return req{path: "/v1/residents/" + rid(tg) + "/problems"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/residents/:id/problems", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/problems", body: map[string]any{"icd9_code": "401.9"}}
	}, [3]expect{status(prescribeOwn, 201), status(prescribeOther, 201), all(404)}},
	{"POST", "/v1/problems/:id/status", func(e *env, tg target) req {
		return req{path: "/v1/problems/" + e.mxProblem(tg).String() + "/status",
			body: map[string]any{"version": 1, "status": "resolved", "reason": "valori pressori normali"}}
	}, [3]expect{prescribeOwn, prescribeOther, all(404)}},
	{"GET", "/v1/icd9cm", func(e *env, tg target) req {
		return req{path: "/v1/icd9cm?q=demenza"}
	}, [3]expect{{"admin": 403, "auditor": 403, "*": 200}, {"admin": 403, "auditor": 403, "*": 200}, {"admin": 403, "auditor": 403, "*": 200}}},
	// Incidents (incidents_test.go): nurses, OSS and the lead record on
	// their own wards; whoever sees the resident (or the ward) reads them.
	{"POST", "/v1/residents/:id/incidents", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/incidents", header: map[string]string{"Idempotency-Key": uuid.NewString()},
			body: fallBody()}
	}, [3]expect{status(incidentOwn, 201), status(incidentOther, 201), all(404)}},
	{"GET", "/v1/residents/:id/incidents", func(e *env, tg target) req {
		e.mxIncident(tg)
		return req{path: "/v1/residents/" + rid(tg) + "/incidents"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/incidents/:id/entered-in-error", func(e *env, tg target) req {
		return req{path: "/v1/incidents/" + e.mxIncident(tg).String() + "/entered-in-error", body: map[string]any{"reason": "ospite sbagliato"}}
	}, [3]expect{incidentOwn, incidentOther, all(404)}},
	{"GET", "/v1/wards/:id/incidents", func(e *env, tg target) req {
		e.mxIncident(tg)
		return req{path: "/v1/wards/" + tg.ward.String() + "/incidents"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	// Rehabilitation (rehab_test.go): therapists write plans and sessions
	// on their own wards; whoever sees the resident reads them; the day
	// list is the caller's own.
	{"POST", "/v1/residents/:id/rehab/plans", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/rehab/plans", body: rehabPlanBody()}
	}, [3]expect{status(rehabOwn, 201), status(rehabOther, 201), all(404)}},
	{"GET", "/v1/residents/:id/rehab/plans", func(e *env, tg target) req {
		e.mxRehabPlan(tg)
		return req{path: "/v1/residents/" + rid(tg) + "/rehab/plans"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/residents/:id/rehab/sessions", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/rehab/sessions", header: map[string]string{"Idempotency-Key": uuid.NewString()},
			body: rehabSessionBody()}
	}, [3]expect{status(rehabOwn, 201), status(rehabOther, 201), all(404)}},
	{"GET", "/v1/residents/:id/rehab/sessions", func(e *env, tg target) req {
		e.mxRehabSession(tg)
		return req{path: "/v1/residents/" + rid(tg) + "/rehab/sessions"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/rehab/sessions/:id/entered-in-error", func(e *env, tg target) req {
		return req{path: "/v1/rehab/sessions/" + e.mxRehabSession(tg).String() + "/entered-in-error",
			body: map[string]any{"reason": "ospite sbagliato"}}
	}, [3]expect{rehabOwn, rehabOther, all(404)}},
	{"GET", "/v1/rehab/day", func(e *env, tg target) req {
		e.mxRehabPlan(tg)
		return req{path: "/v1/rehab/day"}
	}, [3]expect{{"admin": 403, "auditor": 403, "*": 200}, {"admin": 403, "auditor": 403, "*": 200}, {"admin": 403, "auditor": 403, "*": 200}}},
	// The care plan (careplan_test.go): whoever sees the resident reads it;
	// the team writes (not OSS) and signs (OSS too) on its own wards;
	// OSS, nurses and leads tick OSS tasks.
	{"GET", "/v1/residents/:id/care-plan", func(e *env, tg target) req {
		e.mxCarePlan(tg)
		return req{path: "/v1/residents/" + rid(tg) + "/care-plan"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/residents/:id/care-plan/versions", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/care-plan/versions", header: map[string]string{"Idempotency-Key": uuid.NewString()},
			body: carePlanBody(nil)}
	}, [3]expect{status(carePlanWriteOwn, 201), status(carePlanWriteOther, 201), all(404)}},
	{"GET", "/v1/care-plans/:id", func(e *env, tg target) req {
		v, _, _, _, _ := e.mxCarePlan(tg)
		return req{path: "/v1/care-plans/" + v.String()}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/care-plans/:id/signatures", func(e *env, tg target) req {
		return req{path: "/v1/care-plans/" + e.mxCareDraft(tg).String() + "/signatures"}
	}, [3]expect{carePlanSignOwn, carePlanSignOther, all(404)}},
	{"GET", "/v1/wards/:id/care-tasks", func(e *env, tg target) req {
		e.mxCarePlan(tg)
		return req{path: "/v1/wards/" + tg.ward.String() + "/care-tasks"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"GET", "/v1/wards/:id/care-plans", func(e *env, tg target) req {
		e.mxCarePlan(tg)
		return req{path: "/v1/wards/" + tg.ward.String() + "/care-plans"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"GET", "/v1/residents/:id/care-tasks", func(e *env, tg target) req {
		e.mxCarePlan(tg)
		return req{path: "/v1/residents/" + rid(tg) + "/care-tasks"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/care-tasks", func(e *env, tg target) req {
		_, repo, _, _, _ := e.mxCarePlan(tg)
		return req{header: map[string]string{"Idempotency-Key": uuid.NewString()}, body: hourTask(repo, 0, nil)}
	}, [3]expect{careTaskOwn, careTaskOther, all(422)}},
	{"POST", "/v1/care-tasks/:id/entered-in-error", func(e *env, tg target) req {
		return req{path: "/v1/care-tasks/" + e.mxCareTask(tg).String() + "/entered-in-error", body: map[string]any{"reason": "ospite sbagliato"}}
	}, [3]expect{careFixOwn, careFixOther, all(404)}},
	{"GET", "/v1/prescriptions/:id", func(e *env, tg target) req {
		return req{path: "/v1/prescriptions/" + e.mxPrescription(tg, false).String()}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/prescriptions/:id/revisions", func(e *env, tg target) req {
		return req{path: "/v1/prescriptions/" + e.mxPrescription(tg, false).String() + "/revisions",
			body: map[string]any{"version": 1, "order": mxOrder(e)}}
	}, [3]expect{status(prescribeOwn, 201), status(prescribeOther, 201), all(404)}},
	{"POST", "/v1/prescriptions/:id/status", func(e *env, tg target) req {
		return req{path: "/v1/prescriptions/" + e.mxPrescription(tg, false).String() + "/status",
			body: map[string]any{"version": 1, "status": "suspended", "reason": "in attesa di esami ematici"}}
	}, [3]expect{prescribeOwn, prescribeOther, all(404)}},
	{"GET", "/v1/wards/:id/due", func(e *env, tg target) req {
		e.mxReconciled(tg)
		e.mxDose(tg, e.mxPrescription(tg, false))
		return req{path: "/v1/wards/" + tg.ward.String() + "/due"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	// Assessment scales (assessments_test.go): any clinical role reads the
	// scales; recording and correcting need RecordAssessment on one's own
	// ward (physicians, nurses, ward leads, therapists).
	{"GET", "/v1/scales", nil, [3]expect{scaleReaders, scaleReaders, scaleReaders}},
	{"GET", "/v1/residents/:id/assessments", func(e *env, tg target) req {
		e.mxAssessment(tg)
		return req{path: "/v1/residents/" + rid(tg) + "/assessments?scale=braden"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/residents/:id/assessments", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/assessments", body: map[string]any{"scale": "nrs", "answers": map[string]int{"rating": 3}}}
	}, [3]expect{status(assessOwn, 201), status(assessOther, 201), all(404)}},
	{"POST", "/v1/assessments/:id/entered-in-error", func(e *env, tg target) req {
		return req{path: "/v1/assessments/" + e.mxAssessment(tg).String() + "/entered-in-error", body: map[string]any{"reason": "ospite sbagliato"}}
	}, [3]expect{assessOwn, assessOther, all(404)}},
	{"GET", "/v1/wards/:id/assessments/overdue", func(e *env, tg target) req {
		return req{path: "/v1/wards/" + tg.ward.String() + "/assessments/overdue"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	// The clinical diary (diary_test.go): anyone who sees the resident reads
	// it (by profession, backend/access/diary.go); writing needs the resident
	// on one's own ward; an addendum or a correction of a nursing entry also
	// the nursing profession (nurses, the lead who is a nurse).
	{"GET", "/v1/residents/:id/diary", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/diary"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/residents/:id/diary", func(e *env, tg target) req {
		return req{path: "/v1/residents/" + rid(tg) + "/diary", body: map[string]any{"text": "Nota di prova."},
			header: map[string]string{"Idempotency-Key": uuid.NewString()}}
	}, [3]expect{diaryWriteOwn, diaryWriteOther, all(404)}},
	{"POST", "/v1/diary/:id/addenda", func(e *env, tg target) req {
		return req{path: "/v1/diary/" + e.mxDiaryEntry(tg).String() + "/addenda", body: map[string]any{"text": "Integrazione."},
			header: map[string]string{"Idempotency-Key": uuid.NewString()}}
	}, [3]expect{diaryLinkOwn, diaryLinkOther, all(404)}},
	{"POST", "/v1/diary/:id/entered-in-error", func(e *env, tg target) req {
		return req{path: "/v1/diary/" + e.mxDiaryEntry(tg).String() + "/entered-in-error", body: map[string]any{"reason": "ospite sbagliato"}}
	}, [3]expect{diaryLinkOwn, diaryLinkOther, all(404)}},
	// Drug rounds (rounds_test.go): anyone who sees the ward reads its
	// round and its handover digest; the ward's nurses and physicians start
	// rounds and hand them over; only the round's owner (the ward's nurse)
	// pauses, resumes and finishes it.
	{"GET", "/v1/wards/:id/rounds/current", func(e *env, tg target) req {
		e.mxRound(tg, "active")
		return req{path: "/v1/wards/" + tg.ward.String() + "/rounds/current"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/wards/:id/rounds", func(e *env, tg target) req {
		e.mxNoRound(tg)
		e.mxReconciled(tg)
		e.mxDose(tg, e.mxPrescription(tg, false))
		return req{path: "/v1/wards/" + tg.ward.String() + "/rounds", body: map[string]any{}}
	}, [3]expect{status(correctOwn, 201), status(physicianOther, 201), all(404)}},
	{"POST", "/v1/rounds/:id/pause", func(e *env, tg target) req {
		return req{path: "/v1/rounds/" + e.mxRound(tg, "active").String() + "/pause", body: map[string]any{"version": 1}}
	}, [3]expect{ownerOwn, ownerOther, all(404)}},
	{"POST", "/v1/rounds/:id/resume", func(e *env, tg target) req {
		return req{path: "/v1/rounds/" + e.mxRound(tg, "paused").String() + "/resume", body: map[string]any{"version": 1}}
	}, [3]expect{ownerOwn, ownerOther, all(404)}},
	{"POST", "/v1/rounds/:id/handover", func(e *env, tg target) req {
		return req{path: "/v1/rounds/" + e.mxRound(tg, "active").String() + "/handover",
			body: map[string]any{"version": 1, "to_staff_id": e.alt.ID("staff", "alt.doctor").String()}}
	}, [3]expect{correctOwn, physicianOther, all(404)}},
	{"POST", "/v1/rounds/:id/finish", func(e *env, tg target) req {
		return req{path: "/v1/rounds/" + e.mxRound(tg, "active").String() + "/finish",
			header: map[string]string{"Idempotency-Key": uuid.NewString()}, body: map[string]any{"version": 1, "left": []any{}}}
	}, [3]expect{ownerOwn, ownerOther, all(404)}},
	{"GET", "/v1/wards/:id/handover", func(e *env, tg target) req {
		return req{path: "/v1/wards/" + tg.ward.String() + "/handover"}
	}, [3]expect{seeOwn, seeOther, all(404)}},
	{"POST", "/v1/administrations/verify", func(e *env, tg target) req {
		e.mxReconciled(tg)
		e.mxDose(tg, e.mxPrescription(tg, false))
		return req{body: map[string]any{"resident_id": rid(tg), "barcode": "0D4YD5"}} // Code 32 of AIC 012745093
	}, [3]expect{
		{"nurse": 200, "doctor": 200, "oss": 200, "lead": 200, "therapist": 403, "director": 403, "*": 404},
		physicianOther, all(404),
	}},
	{"POST", "/v1/administrations", func(e *env, tg target) req {
		e.mxReconciled(tg)
		dose := e.mxDose(tg, e.mxPrescription(tg, false))
		return req{header: map[string]string{"Idempotency-Key": uuid.NewString()},
			body: map[string]any{"dose_id": dose.String(), "outcome": "refused", "reason": "rifiuta la terapia"}}
	}, [3]expect{
		// Only nurses and physicians administer (the lead is also a nurse,
		// the director also a physician): the others are refused whatever
		// the dose.
		{"nurse": 201, "doctor": 201, "lead": 201, "director": 403, "*": 403},
		{"doctor": 201, "nurse": 404, "lead": 403, "director": 403, "*": 403},
		{"nurse": 404, "doctor": 404, "lead": 404, "director": 404, "*": 403},
	}},
	{"POST", "/v1/administrations/:id/entered-in-error", func(e *env, tg target) req {
		p := e.mxPrescription(tg, false)
		act := e.mxAdministration(tg, p, e.mxDose(tg, p))
		return req{path: "/v1/administrations/" + act.String() + "/entered-in-error", body: map[string]any{"reason": "registrata per errore"}}
	}, [3]expect{correctOwn, physicianOther, all(404)}},
	{"POST", "/v1/administrations/:id/effectiveness", func(e *env, tg target) req {
		act := e.mxAdministration(tg, e.mxPrescription(tg, true), uuid.Nil)
		return req{path: "/v1/administrations/" + act.String() + "/effectiveness", body: map[string]any{"effective": "effective"}}
	}, [3]expect{status(correctOwn, 201), status(physicianOther, 201), all(404)}},
	{"POST", "/v1/assisted-intakes", func(e *env, tg target) req {
		p := e.mxPrescription(tg, false)
		act := e.mxAdministration(tg, p, e.mxDose(tg, p))
		return req{body: map[string]any{"administration_id": act.String(), "outcome": "taken"}}
	}, [3]expect{{"oss": 201, "*": 403}, {"oss": 404, "*": 403}, {"oss": 404, "*": 403}}},
	// Recalls and the therapy settings are the caller's facility's: the
	// target's scope makes no difference.
	{"GET", "/v1/recalls", func(e *env, tg target) req {
		return req{path: "/v1/recalls?aic=012745093&batch=LOT1"}
	}, [3]expect{recallReaders, recallReaders, recallReaders}},
	// Notifications are the caller's own: everyone signed in may list and
	// register; acknowledging someone else's notification is not found.
	{"GET", "/v1/notifications", nil, [3]expect{all(200), all(200), all(200)}},
	{"POST", "/v1/notifications/:id/ack", func(e *env, tg target) req {
		return req{path: "/v1/notifications/" + uuid.NewString() + "/ack"}
	}, [3]expect{all(404), all(404), all(404)}},
	{"POST", "/v1/push-registrations", func(e *env, tg target) req {
		return req{body: map[string]any{"token": "fcm-token-" + uuid.NewString(), "platform": "android", "app_version": "1.0.0"}}
	}, [3]expect{all(201), all(201), all(201)}},
	{"DELETE", "/v1/push-registrations/:id", func(e *env, tg target) req {
		return req{path: "/v1/push-registrations/" + uuid.NewString()}
	}, [3]expect{all(404), all(404), all(404)}},
	{"GET", "/v1/indicators/administration", nil, [3]expect{{"director": 200, "*": 403}, {"director": 200, "*": 403}, {"director": 200, "*": 403}}},
	{"GET", "/v1/admin/therapy-settings", nil, [3]expect{{"director": 200, "*": 403}, {"director": 200, "*": 403}, {"director": 200, "*": 403}}},
	{"PUT", "/v1/admin/therapy-settings", func(e *env, tg target) req {
		return req{body: map[string]any{"window_time_critical_min": 30, "window_frequent_min": 60, "window_daily_min": 120,
			"horizon_hours": 48, "oss_assisted_intake": true, "overridable_blocks": []string{"awaiting_reconciliation", "prn_interval"},
			"version": e.mxSettingsVersion(e.alt.FacilityID())}}
	}, [3]expect{{"director": 200, "*": 403}, {"director": 200, "*": 403}, {"director": 200, "*": 403}}},
	// The bands of the scales are the caller's facility's configuration:
	// the medical director's, whatever the resident's scope.
	{"GET", "/v1/admin/scales/:key/bands", func(e *env, tg target) req {
		return req{path: "/v1/admin/scales/morse/bands"}
	}, [3]expect{{"director": 200, "*": 403}, {"director": 200, "*": 403}, {"director": 200, "*": 403}}},
	{"PUT", "/v1/admin/scales/:key/bands", func(e *env, tg target) req {
		return req{path: "/v1/admin/scales/morse/bands", body: map[string]any{"version": e.mxBandsVersion(e.alt.FacilityID(), "morse"),
			"bands": []map[string]any{{"key": "low", "from": 0}, {"key": "moderate", "from": 25}, {"key": "high", "from": 51}}}}
	}, [3]expect{{"director": 200, "*": 403}, {"director": 200, "*": 403}, {"director": 200, "*": 403}}},
	{"POST", "/v1/scan/decode", func(e *env, tg target) req {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		part, _ := w.CreateFormFile("image", "frame.png")
		_, _ = part.Write(tinyPNG())
		_ = w.Close()
		return req{body: rawBody{w.FormDataContentType(), body.Bytes()}}
	}, [3]expect{all(422), all(422), all(422)}},
	{"GET", "/v1/audit", func(e *env, tg target) req {
		return req{path: "/v1/audit?resident_id=" + rid(tg)}
	}, [3]expect{{"auditor": 200, "*": 403}, {"auditor": 200, "*": 403}, {"auditor": 200, "*": 403}}},
	{"GET", "/v1/audit/verify", nil, [3]expect{{"auditor": 200, "*": 403}, {"auditor": 200, "*": 403}, {"auditor": 200, "*": 403}}},
	{"GET", "/v1/audit/access-report", func(e *env, tg target) req {
		return req{path: "/v1/audit/access-report?resident_id=" + rid(tg) + "&from=2020-01-01&to=2100-01-01"}
	}, [3]expect{{"auditor": 200, "*": 403}, {"auditor": 200, "*": 403}, {"auditor": 200, "*": 403}}},
	{"GET", "/v1/admin/staff", nil, [3]expect{{"admin": 200, "*": 403}, {"admin": 200, "*": 403}, {"admin": 200, "*": 403}}},
	{"POST", "/v1/admin/staff", func(e *env, tg target) req {
		return req{body: map[string]any{"username": "new." + strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "given_name": "Nuovo",
			"family_name": "Operatore", "roles": []string{"nurse"}, "ward_ids": []string{tg.ward.String()},
			"password": "una-password-lunga", "pin": "4827"}}
	}, [3]expect{
		{"admin": 201, "*": 403}, {"admin": 201, "*": 403},
		{"admin": 400, "*": 403}, // a ward of another facility is not a valid reference
	}},
	{"PUT", "/v1/admin/staff/:id/access", func(e *env, tg target) req {
		return req{path: "/v1/admin/staff/" + tg.staff.String() + "/access", body: map[string]any{"version": 1,
			"roles": []string{"nurse"}, "ward_ids": []string{}, "active": true}}
	}, [3]expect{{"admin": 200, "*": 403}, {"admin": 200, "*": 403}, {"admin": 404, "*": 403}}},
	{"GET", "/v1/admin/staff/:id/badge", func(e *env, tg target) req {
		return req{path: "/v1/admin/staff/" + tg.staff.String() + "/badge?format=zpl"}
	}, [3]expect{{"admin": 200, "*": 403}, {"admin": 200, "*": 403}, {"admin": 404, "*": 403}}},
	{"GET", "/v1/admin/devices", nil, [3]expect{{"admin": 200, "*": 403}, {"admin": 200, "*": 403}, {"admin": 200, "*": 403}}},
	{"POST", "/v1/admin/devices", func(e *env, tg target) req {
		return req{body: map[string]any{"name": "Tablet nuovo", "kind": "ward_tablet", "ward_id": tg.ward.String()}}
	}, [3]expect{{"admin": 201, "*": 403}, {"admin": 201, "*": 403}, {"admin": 400, "*": 403}}},
	{"POST", "/v1/admin/devices/:id/revoke", func(e *env, tg target) req {
		return req{path: "/v1/admin/devices/" + e.newDevice(tg).String() + "/revoke"}
	}, [3]expect{{"admin": 204, "*": 403}, {"admin": 204, "*": 403}, {"admin": 404, "*": 403}}},
	// The catalogue is reference data: the scope does not matter.
	{"GET", "/v1/catalogue/products", func(e *env, tg target) req {
		return req{path: "/v1/catalogue/products?q=tachipirina&limit=5"}
	}, [3]expect{catalogueReaders, catalogueReaders, catalogueReaders}},
	{"GET", "/v1/catalogue/products/:id", func(e *env, tg target) req {
		return req{path: "/v1/catalogue/products/" + e.productID("012745093").String()}
	}, [3]expect{catalogueReaders, catalogueReaders, catalogueReaders}},
	{"POST", "/v1/admin/catalogue/products", func(e *env, tg target) req {
		return req{body: newProductBody(newAIC())}
	}, [3]expect{{"admin": 201, "*": 403}, {"admin": 201, "*": 403}, {"admin": 201, "*": 403}}},
	{"POST", "/v1/admin/catalogue/import", func(e *env, tg target) req {
		return req{body: rawBody{"text/csv", []byte(catalogueCSVHeader + newAIC() + ",,Prodotto matrice,compressa,oral,10,,,,,paracetamolo,N02BE01,500,mg\n")}}
	}, [3]expect{{"admin": 200, "*": 403}, {"admin": 200, "*": 403}, {"admin": 200, "*": 403}}},
}

// newTarget inserts a fresh resident (with an allergy) in the scope's ward,
// and a fresh staff member in the scope's facility, straight into the
// database.
func (e *env) newTarget(s scope) target {
	e.t.Helper()
	d, ward := e.alt, "X"
	switch s {
	case otherWard:
		ward = "Y"
	case otherFacility:
		d, ward = e.demo, "C"
	}
	tg := target{facility: d.FacilityID(), ward: e.ward(d, ward), resident: uuid.New(), allergy: uuid.New(),
		staff: uuid.New(), wristband: codes.NewIdent(codes.WristbandPrefix)}
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO residents (facility_id, id, given_name, family_name, sex, birth_date, wristband_code, status, ward_id, admitted_at)
			VALUES ($1, $2, 'Prova', 'Matrice', 'M', '1941-01-01', $3, 'admitted', $4, now())`,
		`INSERT INTO admissions (facility_id, id, resident_id, admitted_at) VALUES ($1, gen_random_uuid(), $2, now())`,
		`INSERT INTO allergies (facility_id, id, resident_id, substance, category, kind, severity, status)
			VALUES ($1, $2, $3, 'Lattice', 'environment', 'allergy', 'mild', 'active')`,
		`INSERT INTO staff (facility_id, id, username, given_name, family_name, badge_code) VALUES ($1, $2, $3, 'Staff', 'Matrice', $4)`,
		`INSERT INTO resident_photos (facility_id, id, resident_id, content_type, data, recorded_by)
			VALUES ($1, gen_random_uuid(), $2, 'image/png', $3, $4)`,
	} {
		var args []any
		switch {
		case strings.Contains(sql, "INTO residents"):
			args = []any{tg.facility, tg.resident, tg.wristband, tg.ward}
		case strings.Contains(sql, "INTO admissions"):
			args = []any{tg.facility, tg.resident}
		case strings.Contains(sql, "INTO allergies"):
			args = []any{tg.facility, tg.allergy, tg.resident}
		case strings.Contains(sql, "INTO resident_photos"):
			args = []any{tg.facility, tg.resident, tinyPNG(), tg.staff}
		default:
			args = []any{tg.facility, tg.staff, "m" + strings.ReplaceAll(tg.staff.String(), "-", "")[:20], codes.NewIdent(codes.BadgePrefix)}
		}
		if _, err := e.db.Pool.Exec(ctx, sql, args...); err != nil {
			e.t.Fatalf("target: %v", err)
		}
	}
	return tg
}

// tinyPNG is a valid 2×2 PNG.
func tinyPNG() []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewGray(image.Rect(0, 0, 2, 2)))
	return b.Bytes()
}

func (e *env) newDevice(tg target) uuid.UUID {
	id := uuid.New()
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO devices (facility_id, id, name, kind, secret_hash)
		VALUES ($1, $2, 'Tablet matrice', 'ward_tablet', '\x00')`, tg.facility, id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// Therapy expectations. prescribeOwn/prescribeOther: prescribing,
// revising, changing a prescription's status and reconciling (physicians on
// their wards). correctOwn: marking an act entered in error and recording a
// PRN effectiveness check (nurses and physicians on their wards).
// physicianOther: acting at the bedside on a resident of another ward, where
// only the physician (assigned to both wards) may.
var (
	prescribeOwn   = expect{"doctor": 200, "nurse": 403, "oss": 403, "therapist": 403, "lead": 403, "director": 403, "*": 404}
	prescribeOther = expect{"doctor": 200, "lead": 403, "director": 403, "*": 404}
	// ALT's ward lead is also a nurse (she administers on ward X); ALT's
	// director is also a physician but has no ward, so she acts nowhere.
	correctOwn     = expect{"nurse": 200, "doctor": 200, "lead": 200, "oss": 403, "therapist": 403, "director": 403, "*": 404}
	physicianOther = expect{"doctor": 200, "lead": 403, "director": 403, "*": 404}
	recallReaders  = expect{"lead": 200, "director": 200, "*": 403}
)

// Diary expectations. diaryWriteOwn/Other: a new entry, in the writer's own
// profession, on a resident of her ward (the director has no ward).
// diaryLinkOwn/Other: an addendum or correction of a nursing entry.
var (
	diaryWriteOwn   = expect{"nurse": 201, "oss": 201, "therapist": 201, "lead": 201, "doctor": 201, "director": 403, "*": 404}
	diaryWriteOther = expect{"doctor": 201, "lead": 403, "director": 403, "*": 404}
	diaryLinkOwn    = expect{"nurse": 201, "lead": 201, "oss": 403, "therapist": 403, "doctor": 403, "director": 403, "*": 404}
	diaryLinkOther  = expect{"doctor": 403, "lead": 403, "director": 403, "*": 404}
)

// mxOrder is a prescription of TACHIPIRINA 500 mg tablets, twice a day.
func mxOrder(e *env) map[string]any {
	return map[string]any{"product_id": e.productID("012745093").String(), "dose": "1", "dose_unit": "tablet", "route": "oral",
		"schedule": map[string]any{"kind": "times", "times": []string{"08:00", "20:00"}}}
}

// mxStaff is a member of tg's facility holding role (on tg's ward when
// onWard), the first by user name.
func (e *env) mxStaff(tg target, role string, onWard bool) uuid.UUID {
	e.t.Helper()
	var id uuid.UUID
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT s.id FROM staff s
		JOIN staff_roles r ON r.facility_id = s.facility_id AND r.staff_id = s.id AND r.role = $2
		WHERE s.facility_id = $1 AND (NOT $4 OR EXISTS (SELECT 1 FROM ward_assignments w
			WHERE w.facility_id = s.facility_id AND w.staff_id = s.id AND w.ward_id = $3))
		ORDER BY s.username LIMIT 1`, tg.facility, role, tg.ward, onWard).Scan(&id); err != nil {
		e.t.Fatalf("a %s of the target's facility: %v", role, err)
	}
	return id
}

// mxPrescription writes an active prescription of TACHIPIRINA 500 mg
// tablets for tg's resident, started yesterday: at 08:00 daily, or as
// needed (PRN, with its limits and an effectiveness check) when prn.
func (e *env) mxPrescription(tg target, prn bool) uuid.UUID {
	e.t.Helper()
	id := uuid.New()
	schedule, indication, minInterval, maxPer24h, checkAfter := `{"kind":"times","times":["08:00"]}`, "", any(nil), any(nil), any(nil)
	if prn {
		schedule, indication, minInterval, maxPer24h, checkAfter = `{"kind":"prn"}`, "dolore", 240, 4, 60
	}
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO prescriptions (facility_id, id, series_id, resident_id,
			product_id, dose, dose_unit, route, schedule, prn, prn_indication, prn_min_interval_min, prn_max_per_24h,
			prn_check_after_min, starts_at, status, prescribed_by)
		VALUES ($1, $2, $2, $3, (SELECT id FROM products WHERE facility_id IS NULL AND aic = '012745093'), 1, 'tablet', 'oral',
			$4, $5, $6, $7, $8, $9, now() - interval '1 day', 'active', $10)`,
		tg.facility, id, tg.resident, schedule, prn, indication, minInterval, maxPer24h, checkAfter,
		e.mxStaff(tg, "physician", false)); err != nil {
		e.t.Fatalf("prescription: %v", err)
	}
	return id
}

// mxDose materialises a dose of prescription due now.
func (e *env) mxDose(tg target, prescription uuid.UUID) uuid.UUID {
	e.t.Helper()
	id := uuid.New()
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO doses (facility_id, id, prescription_id, resident_id,
			due_at, window_min, missed_at) VALUES ($1, $2, $3, $4, now(), 120, now() + interval '2 hours')`,
		tg.facility, id, prescription, tg.resident); err != nil {
		e.t.Fatalf("dose: %v", err)
	}
	return id
}

// mxAdministration records, as a nurse of tg's ward, the dose (or, with
// dose uuid.Nil, an as-needed dose of prescription) given ten minutes ago,
// keyed because the barcode could not be read.
func (e *env) mxAdministration(tg target, prescription, dose uuid.UUID) uuid.UUID {
	e.t.Helper()
	id := uuid.New()
	var doseID any
	if dose != uuid.Nil {
		doseID = dose
	}
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO administrations (facility_id, id, dose_id, prescription_id,
			resident_id, outcome, quantity, quantity_unit, administered_at, recorded_by, product_id, scan, unable_to_scan)
		SELECT $1::uuid, $2::uuid, $3::uuid, p.id, p.resident_id, 'given', p.dose, p.dose_unit, now() - interval '10 minutes', $5::uuid, p.product_id,
			'keyed', 'barcode_unreadable'
		FROM prescriptions p WHERE p.facility_id = $1 AND p.id = $4`,
		tg.facility, id, doseID, prescription, e.mxStaff(tg, "nurse", true)); err != nil {
		e.t.Fatalf("administration: %v", err)
	}
	return id
}

// mxReconciled closes the reconciliation newTarget's admission opened, as
// a physician of tg's facility.
func (e *env) mxReconciled(tg target) {
	e.t.Helper()
	if _, err := e.db.Pool.Exec(context.Background(), `UPDATE reconciliations SET outcome = 'confirmed', recorded_by = $3,
			recorded_at = now() WHERE facility_id = $1 AND resident_id = $2 AND outcome IS NULL`,
		tg.facility, tg.resident, e.mxStaff(tg, "physician", false)); err != nil {
		e.t.Fatalf("reconciliation: %v", err)
	}
}

// mxSettingsVersion is the current version of a facility's therapy
// settings (1 while it changed none).
func (e *env) mxSettingsVersion(facility uuid.UUID) int {
	e.t.Helper()
	var v int
	if err := e.db.Pool.QueryRow(context.Background(),
		"SELECT coalesce((SELECT version FROM therapy_settings WHERE facility_id = $1), 1)", facility).Scan(&v); err != nil {
		e.t.Fatalf("therapy settings: %v", err)
	}
	return v
}

// mxBandsVersion is the version of a facility's bands of a scale (1 while
// it moved none).
func (e *env) mxBandsVersion(facility uuid.UUID, scale string) int {
	e.t.Helper()
	var v int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT 1 + coalesce(sum(version), 0)::int
		FROM assessment_band_overrides WHERE facility_id = $1 AND scale = $2`, facility, scale).Scan(&v); err != nil {
		e.t.Fatalf("scale bands: %v", err)
	}
	return v
}

func TestPermissionMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rows := map[string]matrixRow{}
	for _, r := range matrixRows {
		rows[r.method+" "+r.path] = r
	}
	start := time.Now()
	cases := 0
	for _, route := range e.srv.Routes() {
		row, ok := rows[route.Method+" "+route.Path]
		if !ok {
			t.Errorf("route %s %s has no row in the permission matrix: add one", route.Method, route.Path)
			continue
		}
		delete(rows, route.Method+" "+route.Path)
		for _, role := range matrixUsers {
			for s := own; s <= otherFacility; s++ {
				want, ok := row.want[s][role]
				if !ok {
					want = row.want[s]["*"]
				}
				tg := e.newTarget(s)
				r := req{method: row.method, path: row.path}
				if row.build != nil {
					b := row.build(e, tg)
					if b.path != "" {
						r.path = b.path
					}
					r.body, r.header = b.body, b.header
				}
				if !route.Public {
					if route.Path == "/v1/auth/logout" {
						r.token = e.freshLogin(altUser(role))["access_token"].(string)
					} else {
						r.token = e.login(altUser(role))
					}
				}
				got := e.do(r)
				cases++
				if got.Status != want {
					t.Errorf("%s %s as %s on %s: %d %s; want %d", row.method, row.path, role, s, got.Status,
						strings.TrimSpace(string(got.Body)), want)
				}
				// A resident or ward that the caller may not see answers
				// exactly like one that does not exist.
				if got.Status == 404 && strings.Contains(row.path, "resident") && !strings.Contains(row.path, "admin") {
					if c := got.code(); c != "resident.not_found" && c != "ward.not_found" {
						t.Errorf("%s %s as %s on %s: 404 with code %q", row.method, row.path, role, s, c)
					}
				}
			}
		}
	}
	for k := range rows {
		t.Errorf("matrix row %s matches no route", k)
	}
	t.Logf("%d route × role × scope cases in %s", cases, time.Since(start).Round(time.Millisecond))
	_ = fmt.Sprint
}
