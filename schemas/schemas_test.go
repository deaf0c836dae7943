package schemas

import (
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// publicRoutes need no token; every other operation requires bearerAuth.
var publicRoutes = map[string]bool{
	"GET /healthz":          true,
	"GET /readyz":           true,
	"GET /metrics":          true,
	"GET /openapi.yaml":     true,
	"POST /v1/auth/login":   true,
	"POST /v1/auth/badge":   true,
	"POST /v1/auth/refresh": true,
}

func model(t *testing.T) *v3.Document {
	t.Helper()
	doc, err := libopenapi.NewDocument(OpenAPI)
	if err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("build OpenAPI model: %v", err)
	}
	if m == nil {
		t.Fatal("build OpenAPI model: no model")
	}
	return &m.Model
}

type op struct {
	key string
	op  *v3.Operation
}

func operations(t *testing.T, d *v3.Document) []op {
	t.Helper()
	var out []op
	for path, item := range d.Paths.PathItems.FromOldest() {
		for method, o := range item.GetOperations().FromOldest() {
			out = append(out, op{strings.ToUpper(method) + " " + path, o})
		}
	}
	if len(out) == 0 {
		t.Fatal("no operations")
	}
	return out
}

func TestVersion(t *testing.T) {
	d := model(t)
	if !strings.HasPrefix(d.Version, "3.1") {
		t.Errorf("openapi version %q, want 3.1.x", d.Version)
	}
	if d.Info == nil || d.Info.Title == "" || d.Info.Version == "" {
		t.Error("info.title and info.version are required")
	}
}

func TestOperationIDsAreUnique(t *testing.T) {
	seen := map[string]string{}
	for _, o := range operations(t, model(t)) {
		id := o.op.OperationId
		if id == "" {
			t.Errorf("%s has no operationId", o.key)
			continue
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("operationId %q used by %s and %s", id, prev, o.key)
		}
		seen[id] = o.key
		if o.op.Summary == "" || len(o.op.Tags) == 0 {
			t.Errorf("%s needs a summary and a tag", o.key)
		}
	}
}

func hasBearer(reqs []*base.SecurityRequirement) bool {
	for _, r := range reqs {
		if r == nil || r.Requirements == nil {
			continue
		}
		if _, ok := r.Requirements.Get("bearerAuth"); ok {
			return true
		}
	}
	return false
}

func TestSecurity(t *testing.T) {
	d := model(t)
	if d.Components == nil || d.Components.SecuritySchemes == nil {
		t.Fatal("no security schemes")
	}
	s, ok := d.Components.SecuritySchemes.Get("bearerAuth")
	if !ok || s.Type != "http" || !strings.EqualFold(s.Scheme, "bearer") {
		t.Fatal("components.securitySchemes.bearerAuth must be an http bearer scheme")
	}
	found := map[string]bool{}
	for _, o := range operations(t, d) {
		public := publicRoutes[o.key]
		found[o.key] = public
		switch {
		case public && (o.op.Security == nil || len(o.op.Security) != 0):
			t.Errorf("%s is public: it must declare security: []", o.key)
		case !public && !hasBearer(o.op.Security):
			t.Errorf("%s must require bearerAuth", o.key)
		}
	}
	for k := range publicRoutes {
		if _, ok := found[k]; !ok {
			t.Errorf("public route %s is missing", k)
		}
	}
}

func TestProblemResponses(t *testing.T) {
	d := model(t)
	for _, o := range operations(t, d) {
		if o.op.Responses == nil || o.op.Responses.Codes == nil {
			t.Errorf("%s has no responses", o.key)
			continue
		}
		for _, code := range []string{"400", "404", "500"} {
			r, ok := o.op.Responses.Codes.Get(code)
			if !ok {
				t.Errorf("%s does not declare %s", o.key, code)
				continue
			}
			mt, ok := r.Content.Get("application/problem+json")
			if !ok || mt.Schema == nil {
				t.Errorf("%s %s is not application/problem+json", o.key, code)
				continue
			}
			if sch := mt.Schema.Schema(); sch == nil || !hasProps(sch, "type", "title", "status", "code") {
				t.Errorf("%s %s: problem schema lacks type/title/status/code", o.key, code)
			}
		}
		success := false
		for code := range o.op.Responses.Codes.KeysFromOldest() {
			success = success || strings.HasPrefix(code, "2")
		}
		if !success {
			t.Errorf("%s declares no success response", o.key)
		}
	}
}

func hasProps(s *base.Schema, names ...string) bool {
	if s.Properties == nil {
		return false
	}
	for _, n := range names {
		if _, ok := s.Properties.Get(n); !ok {
			return false
		}
	}
	return true
}

// TestPathParameters checks that every {param} in a path template is
// declared as a path parameter, at the path or the operation level.
func TestPathParameters(t *testing.T) {
	d := model(t)
	for path, item := range d.Paths.PathItems.FromOldest() {
		for method, o := range item.GetOperations().FromOldest() {
			declared := map[string]bool{}
			for _, p := range append(append([]*v3.Parameter{}, item.Parameters...), o.Parameters...) {
				if p.In == "path" {
					declared[p.Name] = true
				}
			}
			for _, seg := range strings.Split(path, "/") {
				if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
					if name := seg[1 : len(seg)-1]; !declared[name] {
						t.Errorf("%s %s: path parameter %s not declared", strings.ToUpper(method), path, name)
					}
				}
			}
		}
	}
}
