package mobileapi_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// FuzzRequests throws arbitrary bodies and query strings at the routes that
// parse outside input: whatever arrives, the answer is never a 5xx.
// Run longer with: go test ./mobileapi -run '^$' -fuzz FuzzRequests -fuzztime 60s
func FuzzRequests(f *testing.F) {
	for _, seed := range []string{
		`{"username":"nurse.a","password":"corsia-demo"}`, `{"version":1,"gp":{"name":"x"}}`, `{"badge":"S0000000000","pin":"1234"}`,
		`{"version":1,"birth_date":"1940-13-45"}`, `{"contacts":[{"name":null}]}`, `[]`, `null`, `{"version":1e999}`,
		"\x00\xff", `{"reason":"` + strings.Repeat("é", 300) + `"}`, `resident_id=x&from=2020-01-01&before=1_x`,
	} {
		f.Add(seed)
	}
	e := newEnv(f)
	tok := e.login("lead.a")
	id := e.residentsOf(e.demo, "A")[0].String()
	f.Fuzz(func(t *testing.T, in string) {
		targets := []struct{ method, path string }{
			{"POST", "/v1/auth/login"},
			{"POST", "/v1/auth/badge"},
			{"POST", "/v1/auth/refresh"},
			{"PATCH", "/v1/residents/" + id},
			{"POST", "/v1/residents/" + id + "/allergies"},
			{"POST", "/v1/residents/" + id + "/discharge"},
			{"POST", "/v1/residents"},
			{"GET", "/v1/audit?" + in},
			{"GET", "/v1/residents/by-wristband/" + strings.ReplaceAll(in, "/", "")},
		}
		for _, tg := range targets {
			var r *strings.Reader
			if tg.method != "GET" {
				r = strings.NewReader(in)
			} else {
				r = strings.NewReader("")
			}
			path := tg.path
			if strings.ContainsAny(path, " \t\n\r#%\x00") || !strings.HasPrefix(path, "/") {
				continue // not a request line a client could send
			}
			req := httptest.NewRequest(tg.method, "http://corsia.test/", r)
			req.URL.Path, req.URL.RawQuery, _ = strings.Cut(path, "?")
			req.RequestURI = ""
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := e.srv.App().Test(req, -1)
			if err != nil {
				continue // the transport refused it: nothing reached a handler
			}
			if resp.StatusCode >= 500 {
				t.Fatalf("%s %s with %q → %d", tg.method, path, in, resp.StatusCode)
			}
			resp.Body.Close()
		}
	})
}

// FuzzTherapyRequests throws arbitrary bodies and queries at the bedside
// and prescribing routes, as a nurse and as a physician: never a 5xx.
// Run longer with: go test ./mobileapi -run '^$' -fuzz FuzzTherapyRequests -fuzztime 60s
func FuzzTherapyRequests(f *testing.F) {
	for _, seed := range []string{
		`{"resident_id":"00000000-0000-0000-0000-000000000000","barcode":"0D4YD5"}`,
		`{"wristband":"R123","barcode":"]d2010801234567890717270131` + "10LOT1\x1d716012745093" + `"}`,
		`{"barcode":"(01)08012345678907(17)270100(10)L(716)012745093","resident_id":null}`,
		`{"dose_id":"9b2f0c3e-4a4b-4f4e-9a55-3d0b1c2e6f10","outcome":"partial","quantity":"0.5e3"}`,
		`{"dose_id":null,"prescription_id":"9b2f0c3e-4a4b-4f4e-9a55-3d0b1c2e6f10","outcome":"given","expiry":"2027-02-30"}`,
		`{"product_id":"9b2f0c3e-4a4b-4f4e-9a55-3d0b1c2e6f10","dose":"1.25","dose_unit":"tablet","route":"oral","schedule":{"kind":"times","times":["25:00"]}}`,
		`{"ingredient":{"atc":"N02BE01","strength":"1e999","unit":"mg"},"dose":-1,"schedule":{"kind":"every_hours","every_hours":0}}`,
		`{"version":1,"status":"suspended","reason":"x","until":"2020-01-01T00:00:00Z"}`,
		`{"version":1,"order":{"schedule":{"kind":"prn"},"prn":{"indication":"","max_per_24h":99}}}`,
		`from=2026-01-01&to=2027-06-01`, `at=2026-03-29T01:30:00%2B01:00`, `gtin=123&batch=` + strings.Repeat("x", 30),
	} {
		f.Add(seed)
	}
	e := newEnv(f)
	nurse, doctor := e.login("nurse.a"), e.login("doctor")
	res := e.residentsOf(e.demo, "A")[0].String()
	ward := e.ward(e.demo, "A").String()
	var pid string
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT id::text FROM prescriptions WHERE resident_id = $1 LIMIT 1", res).Scan(&pid); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		targets := []struct{ method, path, token string }{
			{"POST", "/v1/administrations/verify", nurse},
			{"POST", "/v1/administrations", nurse},
			{"POST", "/v1/residents/" + res + "/prescriptions", doctor},
			{"POST", "/v1/prescriptions/" + pid + "/revisions", doctor},
			{"POST", "/v1/prescriptions/" + pid + "/status", doctor},
			{"GET", "/v1/residents/" + res + "/mar?" + in, nurse},
			{"GET", "/v1/wards/" + ward + "/due?" + in, nurse},
			{"GET", "/v1/recalls?" + in, doctor},
		}
		for _, tg := range targets {
			body := strings.NewReader("")
			if tg.method != "GET" {
				body = strings.NewReader(in)
			}
			if strings.ContainsAny(tg.path, " \t\n\r#\x00") {
				continue
			}
			req := httptest.NewRequest(tg.method, "http://corsia.test/", body)
			req.URL.Path, req.URL.RawQuery, _ = strings.Cut(tg.path, "?")
			req.RequestURI = ""
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tg.token)
			req.Header.Set("Idempotency-Key", uuid.NewString())
			resp, err := e.srv.App().Test(req, -1)
			if err != nil {
				continue
			}
			if resp.StatusCode >= 500 {
				t.Fatalf("%s %s with %q → %d", tg.method, tg.path, in, resp.StatusCode)
			}
			resp.Body.Close()
		}
	})
}

// FuzzCarePlanRequests throws arbitrary bodies and queries at the care
// plan and care task routes, as a nurse and as an OSS: never a 5xx.
// Run longer with: go test ./mobileapi -run '^$' -fuzz FuzzCarePlanRequests -fuzztime 60s
func FuzzCarePlanRequests(f *testing.F) {
	for _, seed := range []string{
		`{"based_on":null,"review_date":"2026-12-01","problems":[{"title":"Rischio","goals":[{"description":"Cute","measure":"Braden","target_date":"2027-01-01","interventions":[{"kind":"repositioning","role":"oss","description":"giro","every_hours":0}]}]}]}`,
		`{"review_date":"2026-02-30","problems":[{"title":"x","goals":[{"interventions":[{"times":["24:00","-1:00"],"weekdays":[0,8]}]}]}]}`,
		`{"review_date":"2027-01-01","problems":[{"title":"abc","goals":[{"description":"abc","measure":"abc","target_date":"2027-01-01","interventions":[{"kind":"meal","role":"oss","description":"abc","every_hours":5,"start":"23:59"}]}]}]}`,
		`{"intervention_id":"9b2f0c3e-4a4b-4f4e-9a55-3d0b1c2e6f10","due_at":"2026-03-29T02:30:00+01:00","outcome":"done","intake_pct":33}`,
		`{"intervention_id":null,"due_at":"9999-12-31T23:59:59Z","outcome":"not_done","reason_code":"other","fluid_ml":1e9}`,
		`from=2026-03-29T00:00:00%2B01:00&to=2026-03-30T00:00:00%2B02:00`, `from=2026-01-01&to=2027-01-01`, `from=x`,
	} {
		f.Add(seed)
	}
	e := newEnv(f)
	nurse, oss := e.login("nurse.a"), e.login("oss.a")
	res := e.residentsOf(e.demo, "A")[0].String()
	ward := e.ward(e.demo, "A").String()
	var version string
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT version_id::text FROM care_plan_activations WHERE resident_id = $1 LIMIT 1", res).
		Scan(&version); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		targets := []struct{ method, path, token string }{
			{"POST", "/v1/residents/" + res + "/care-plan/versions", nurse},
			{"POST", "/v1/care-plans/" + version + "/signatures", oss},
			{"POST", "/v1/care-tasks", oss},
			{"POST", "/v1/care-tasks/" + strings.ReplaceAll(in, "/", "") + "/entered-in-error", nurse},
			{"GET", "/v1/wards/" + ward + "/care-tasks?" + in, oss},
			{"GET", "/v1/residents/" + res + "/care-tasks?" + in, nurse},
		}
		for _, tg := range targets {
			body := strings.NewReader("")
			if tg.method != "GET" {
				body = strings.NewReader(in)
			}
			if strings.ContainsAny(tg.path, " \t\n\r#\x00") {
				continue
			}
			req := httptest.NewRequest(tg.method, "http://corsia.test/", body)
			req.URL.Path, req.URL.RawQuery, _ = strings.Cut(tg.path, "?")
			req.RequestURI = ""
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tg.token)
			req.Header.Set("Idempotency-Key", uuid.NewString())
			resp, err := e.srv.App().Test(req, -1)
			if err != nil {
				continue
			}
			if resp.StatusCode >= 500 {
				t.Fatalf("%s %s with %q → %d", tg.method, tg.path, in, resp.StatusCode)
			}
			resp.Body.Close()
		}
	})
}
