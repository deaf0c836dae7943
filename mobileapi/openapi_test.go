package mobileapi_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

var (
	specOnce sync.Once
	specData []byte
	specVal  validator.Validator
	specDoc  libopenapi.Document
	specErr  error
)

func loadSpec() {
	specData, specErr = os.ReadFile("../schemas/openapi.yaml")
	if specErr != nil {
		return
	}
	specDoc, specErr = libopenapi.NewDocument(specData)
	if specErr != nil {
		return
	}
	v, errs := validator.NewValidator(specDoc)
	if len(errs) > 0 {
		specErr = errs[0]
		return
	}
	specVal = v
}

func openAPISpec(t testing.TB) []byte {
	t.Helper()
	specOnce.Do(loadSpec)
	if specErr != nil {
		t.Fatalf("schemas/openapi.yaml: %v", specErr)
	}
	return specData
}

// validateResponse fails the test when an answer does not match the
// contract: an undeclared status, a wrong content type, a body that breaks
// its schema.
func validateResponse(t testing.TB, r req, resp response) {
	t.Helper()
	specOnce.Do(loadSpec)
	if specErr != nil {
		t.Fatalf("schemas/openapi.yaml: %v", specErr)
	}
	if resp.code() == "route.not_found" {
		return // a route that does not exist has no contract to match
	}
	hr := httptest.NewRequest(r.method, "http://corsia.test"+r.path, nil)
	hr.Header.Set("Authorization", "Bearer x")
	hres := &http.Response{StatusCode: resp.Status, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(resp.Body)), Request: hr}
	if ok, errs := specVal.ValidateHttpResponse(hr, hres); !ok {
		var msgs []string
		for _, e := range errs {
			m := e.Message
			if e.Reason != "" {
				m += ": " + e.Reason
			}
			for _, se := range e.SchemaValidationErrors {
				m += " [" + se.FieldPath + ": " + se.Reason + "]"
			}
			msgs = append(msgs, m)
		}
		t.Errorf("%s %s → %d does not match the OpenAPI contract:\n  %s\n  body: %.300s", r.method, r.path, resp.Status,
			strings.Join(msgs, "\n  "), resp.Body)
	}
}

var fiberParam = regexp.MustCompile(`:([a-z_]+)`)

// TestEveryRouteIsInTheContract fails when a route is served but missing
// from schemas/openapi.yaml, or documented but not served.
func TestEveryRouteIsInTheContract(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, err := specDoc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for p, item := range m.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented[strings.ToUpper(method)+" "+p] = true
		}
	}
	served := map[string]bool{}
	for _, r := range e.srv.Routes() {
		key := r.Method + " " + fiberParam.ReplaceAllString(r.Path, "{$1}")
		served[key] = true
		if !documented[key] {
			t.Errorf("route %s is served but not in schemas/openapi.yaml", key)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("%s is in schemas/openapi.yaml but not served", k)
		}
	}
}
