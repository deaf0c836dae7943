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
