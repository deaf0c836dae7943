package mobileapi_test

import (
	"net/http/httptest"
	"strings"
	"testing"
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
