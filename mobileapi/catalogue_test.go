package mobileapi_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/google/uuid"
)

// catalogueReaders may read the catalogue, whatever the scope.
var catalogueReaders = expect{"nurse": 200, "lead": 200, "doctor": 200, "director": 200, "admin": 200, "*": 403}

const catalogueCSVHeader = "aic,gtin,name,form,routes,units_per_pack,high_alert,lasa,do_not_crush,time_critical,ingredient,atc,strength,unit\n"

// newAIC returns a random well-formed AIC in the 09 range, which AIFA has
// not reached: it collides with no real product.
func newAIC() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1000000))
	if err != nil {
		panic(err)
	}
	first8 := fmt.Sprintf("09%06d", n.Int64())
	c, _ := codes.AICCheckDigit(first8)
	return first8 + string(c)
}

// badCheck returns aic with a wrong check digit.
func badCheck(aic string) string {
	last := (aic[8]-'0'+1)%10 + '0'
	return aic[:8] + string(last)
}

func newProductBody(aic string) map[string]any {
	return map[string]any{"aic": aic, "name": "Prodotto della casa 10 mg compresse", "form": "compressa",
		"routes": []string{"oral"}, "units_per_pack": 30, "high_alert": true, "do_not_crush": true,
		"ingredients": []map[string]string{{"name": "principio", "atc": "N02BE01", "strength": "10", "unit": "mg"}}}
}

// productID is the id of a national product.
func (e *env) productID(aic string) uuid.UUID {
	e.t.Helper()
	var id uuid.UUID
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT id FROM products WHERE facility_id IS NULL AND aic = $1", aic).Scan(&id); err != nil {
		e.t.Fatalf("national product %s: %v", aic, err)
	}
	return id
}

func productsOf(t *testing.T, r response) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, p := range r.json(t)["products"].([]any) {
		out = append(out, p.(map[string]any))
	}
	return out
}

func aicsOf(ps []map[string]any) []string {
	var out []string
	for _, p := range ps {
		a, _ := p["aic"].(string)
		out = append(out, a)
	}
	return out
}

func TestCatalogueSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.login("doctor")
	search := func(query string) []map[string]any {
		t.Helper()
		r := e.do(req{method: "GET", path: "/v1/catalogue/products?" + query, token: tok})
		if r.Status != 200 {
			t.Fatalf("search %s: %d %s", query, r.Status, r.Body)
		}
		return productsOf(t, r)
	}
	// By name, any case, with ingredients and flags.
	ps := search("q=pradaxa")
	if len(ps) < 2 {
		t.Fatalf("pradaxa: %v", aicsOf(ps))
	}
	in := ps[0]["ingredients"].([]any)[0].(map[string]any)
	if in["atc"] != "B01AE07" || in["unit"] != "mg" || ps[0]["high_alert"] != true || ps[0]["do_not_crush"] != true {
		t.Fatalf("pradaxa product: %v", ps[0])
	}
	// By ingredient name.
	if ps := search("q=levodopa"); len(ps) < 2 {
		t.Fatalf("levodopa: %v", aicsOf(ps))
	}
	// By AIC, also in the printed form.
	if ps := search("q=A012745093"); len(ps) != 1 || ps[0]["aic"] != "012745093" {
		t.Fatalf("by AIC: %v", aicsOf(ps))
	}
	// By ATC prefix, in q or in atc.
	for _, q := range []string{"q=B01AB", "atc=B01AB", "atc=b01ab05"} {
		ps := search(q)
		if len(ps) < 3 {
			t.Fatalf("%s: %v", q, aicsOf(ps))
		}
		for _, p := range ps {
			if !strings.HasPrefix(p["ingredients"].([]any)[0].(map[string]any)["atc"].(string), "B01AB") {
				t.Fatalf("%s found %v", q, p)
			}
		}
	}
	// Both: name within an ATC class.
	if ps := search("q=lanoxin&atc=B01"); len(ps) != 0 {
		t.Fatalf("lanoxin in B01: %v", aicsOf(ps))
	}
	// The limit holds; LIKE wildcards in q are literal.
	if ps := search("limit=3"); len(ps) != 3 {
		t.Fatalf("limit=3: %d products", len(ps))
	}
	if ps := search("q=%25"); len(ps) != 0 {
		t.Fatalf("q=%%: %v", aicsOf(ps))
	}
	for _, bad := range []string{"limit=0", "limit=101", "limit=x", "atc=B0", "q=" + strings.Repeat("a", 101)} {
		r := e.do(req{method: "GET", path: "/v1/catalogue/products?" + bad, token: tok})
		if r.Status != 400 || r.code() != "request.invalid_query" {
			t.Errorf("%s: %d %s", bad, r.Status, r.Body)
		}
	}
	// Not for OSS, therapists or auditors.
	for _, u := range []string{"oss.a", "auditor"} {
		if r := e.do(req{method: "GET", path: "/v1/catalogue/products?q=tachipirina", token: e.login(u)}); r.Status != 403 {
			t.Errorf("%s: %d", u, r.Status)
		}
	}
}

func TestCatalogueFacilityProducts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.login("alt.admin")
	aic := newAIC()
	r := e.do(req{method: "POST", path: "/v1/admin/catalogue/products", token: admin, body: newProductBody(" A" + aic)})
	if r.Status != 201 {
		t.Fatalf("add: %d %s", r.Status, r.Body)
	}
	p := r.json(t)
	id := p["id"].(string)
	if p["aic"] != aic || p["high_alert"] != true || p["units_per_pack"] != float64(30) ||
		p["ingredients"].([]any)[0].(map[string]any)["strength"] != "10" {
		t.Fatalf("added product: %s", r.Body)
	}
	var audited int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE facility_id = $1
		AND action = 'catalogue.product.add' AND resource_id = $2`, e.alt.FacilityID(), id).Scan(&audited); err != nil || audited != 1 {
		t.Fatalf("add audited %d times (%v), want 1", audited, err)
	}

	// The facility's staff find it and read it; another facility does not.
	nurse := e.login("alt.nurse.x")
	if r := e.do(req{method: "GET", path: "/v1/catalogue/products?q=" + aic, token: nurse}); r.Status != 200 || len(productsOf(t, r)) != 1 {
		t.Fatalf("search own product: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "GET", path: "/v1/catalogue/products/" + id, token: nurse}); r.Status != 200 {
		t.Fatalf("get own product: %d %s", r.Status, r.Body)
	}
	other := e.login("nurse.a")
	if r := e.do(req{method: "GET", path: "/v1/catalogue/products?q=" + aic, token: other}); r.Status != 200 || len(productsOf(t, r)) != 0 {
		t.Fatalf("another facility's search: %d %s", r.Status, r.Body)
	}
	for _, path := range []string{id, uuid.NewString(), "not-a-uuid"} {
		r := e.do(req{method: "GET", path: "/v1/catalogue/products/" + path, token: other})
		if r.Status != 404 || r.code() != "catalogue.unknown_product" {
			t.Fatalf("product %s from another facility: %d %s", path, r.Status, r.Body)
		}
	}
	// A national product reads from any facility.
	if r := e.do(req{method: "GET", path: "/v1/catalogue/products/" + e.productID("012745093").String(), token: other}); r.Status != 200 {
		t.Fatalf("national product: %d %s", r.Status, r.Body)
	}

	// The same code again, in this facility or the national catalogue: 409.
	for _, dup := range []string{aic, "012745093"} {
		r := e.do(req{method: "POST", path: "/v1/admin/catalogue/products", token: admin, body: newProductBody(dup)})
		if r.Status != 409 || r.code() != "catalogue.duplicate_code" {
			t.Fatalf("duplicate %s: %d %s", dup, r.Status, r.Body)
		}
	}
	// Another facility may use the code for its own product.
	if r := e.do(req{method: "POST", path: "/v1/admin/catalogue/products", token: e.login("admin"), body: newProductBody(aic)}); r.Status != 201 {
		t.Fatalf("same code in another facility: %d %s", r.Status, r.Body)
	}
	// Not an admin: 403, whatever the body.
	for _, u := range []string{"alt.nurse.x", "alt.doctor", "alt.director", "alt.auditor"} {
		if r := e.do(req{method: "POST", path: "/v1/admin/catalogue/products", token: e.login(u), body: newProductBody(newAIC())}); r.Status != 403 {
			t.Errorf("%s adds a product: %d", u, r.Status)
		}
	}
}

func TestCatalogueAddValidates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.login("alt.admin")
	with := func(change func(b map[string]any)) map[string]any {
		b := newProductBody(newAIC())
		change(b)
		return b
	}
	ingredient := func(k, v string) func(b map[string]any) {
		return func(b map[string]any) { b["ingredients"].([]map[string]string)[0][k] = v }
	}
	cases := []struct {
		name, code, field string
		body              map[string]any
	}{
		{"bad check digit", "aic.invalid", "aic", with(func(b map[string]any) { b["aic"] = badCheck(b["aic"].(string)) })},
		{"short AIC", "aic.invalid", "aic", with(func(b map[string]any) { b["aic"] = "01274509" })},
		{"bad GTIN", "gtin.invalid", "gtin", with(func(b map[string]any) { b["gtin"] = "8012345678906" })},
		{"no code", "catalogue.code_required", "aic", with(func(b map[string]any) { delete(b, "aic") })},
		{"no name", "catalogue.invalid_name", "name", with(func(b map[string]any) { b["name"] = " " })},
		{"unknown route", "catalogue.invalid_route", "routes", with(func(b map[string]any) { b["routes"] = []string{"sc"} })},
		{"no ingredient", "catalogue.ingredient_required", "ingredients", with(func(b map[string]any) { b["ingredients"] = []map[string]string{} })},
		{"ATC level 4", "catalogue.invalid_atc", "ingredients[0].atc", with(ingredient("atc", "N02BE"))},
		{"zero strength", "catalogue.invalid_strength", "ingredients[0].strength", with(ingredient("strength", "0"))},
		{"comma strength", "catalogue.invalid_strength", "ingredients[0].strength", with(ingredient("strength", "2,5"))},
		{"unknown unit", "catalogue.invalid_unit", "ingredients[0].unit", with(ingredient("unit", "mg/kg"))},
		{"negative pack", "catalogue.invalid_units_per_pack", "units_per_pack", with(func(b map[string]any) { b["units_per_pack"] = -1 })},
	}
	for _, c := range cases {
		r := e.do(req{method: "POST", path: "/v1/admin/catalogue/products", token: admin, body: c.body})
		if r.Status != 400 || r.code() != c.code {
			t.Errorf("%s: %d %s; want 400 %s", c.name, r.Status, r.Body, c.code)
			continue
		}
		if _, ok := r.json(t)["errors"].(map[string]any)[c.field]; !ok {
			t.Errorf("%s: errors do not name %s: %s", c.name, c.field, r.Body)
		}
	}
	// GTIN-13 is stored as GTIN-14; a GTIN alone is enough.
	r := e.do(req{method: "POST", path: "/v1/admin/catalogue/products", token: admin,
		body: with(func(b map[string]any) { delete(b, "aic"); b["gtin"] = "8012345678907" })})
	if r.Status != 201 || r.json(t)["gtin"] != "08012345678907" {
		t.Fatalf("GTIN-13: %d %s", r.Status, r.Body)
	}
	// Unknown fields and wrong types are refused like everywhere else.
	r = e.do(req{method: "POST", path: "/v1/admin/catalogue/products", token: admin,
		body: with(func(b map[string]any) { b["withdrawn"] = true })})
	if r.Status != 400 || r.code() != "request.invalid_json" {
		t.Fatalf("unknown field: %d %s", r.Status, r.Body)
	}
}

func csvBody(s string) rawBody { return rawBody{"text/csv", []byte(s)} }

func TestCatalogueImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.login("alt.admin")
	a1, a2, a3, taken := newAIC(), newAIC(), newAIC(), newAIC()
	if r := e.do(req{method: "POST", path: "/v1/admin/catalogue/products", token: admin, body: newProductBody(taken)}); r.Status != 201 {
		t.Fatalf("seed product: %d %s", r.Status, r.Body)
	}
	file := catalogueCSVHeader +
		a1 + ",,Prodotto uno 500 mg compresse,compressa,oral,20,no,yes,no,no,paracetamolo,N02BE01,500,mg\n" + // 2: good
		badCheck(a2) + ",,Codice sbagliato,compressa,oral,20,,,,,paracetamolo,N02BE01,500,mg\n" + // 3: check digit
		a2 + ",,\"Levodopa e carbidopa, 50 compresse\",compressa,oral|enteral_tube,50,si,no,no,si,levodopa|carbidopa,N04BA02|N04BA02,100|25,mg|mg\n" + // 4: good
		a1 + ",,Ripetuto,compressa,oral,20,,,,,paracetamolo,N02BE01,500,mg\n" + // 5: same as line 2
		taken + ",,Già presente,compressa,oral,20,,,,,paracetamolo,N02BE01,500,mg\n" + // 6: in the catalogue
		"012745093,,Nazionale,compressa,oral,20,,,,,paracetamolo,N02BE01,500,mg\n" + // 7: national
		a3 + ",,ATC corto,compressa,oral,20,,,,,paracetamolo,N02BE,500,mg\n" // 8: ATC
	r := e.do(req{method: "POST", path: "/v1/admin/catalogue/import", token: admin, body: csvBody(file)})
	if r.Status != 200 {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	res := r.json(t)
	if res["imported"] != float64(2) {
		t.Fatalf("imported %v, want 2: %s", res["imported"], r.Body)
	}
	want := []struct {
		line         float64
		column, code string
	}{{3, "aic", "aic.invalid"}, {5, "aic", "catalogue.duplicate_code"}, {6, "aic", "catalogue.duplicate_code"},
		{7, "aic", "catalogue.duplicate_code"}, {8, "atc", "catalogue.invalid_atc"}}
	rejected := res["rejected"].([]any)
	if len(rejected) != len(want) {
		t.Fatalf("rejected %s", r.Body)
	}
	for i, w := range want {
		g := rejected[i].(map[string]any)
		if g["line"] != w.line || g["column"] != w.column || g["code"] != w.code || g["reason"] == "" {
			t.Errorf("rejection %d: %v; want line %v column %s code %s", i, g, w.line, w.column, w.code)
		}
	}
	// The good rows landed, with their ingredients and flags.
	nurse := e.login("alt.nurse.x")
	ps := productsOf(t, e.do(req{method: "GET", path: "/v1/catalogue/products?q=" + a2, token: nurse}))
	if len(ps) != 1 || ps[0]["high_alert"] != true || ps[0]["time_critical"] != true || len(ps[0]["ingredients"].([]any)) != 2 ||
		len(ps[0]["routes"].([]any)) != 2 {
		t.Fatalf("imported product: %v", ps)
	}
	var detail string
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT string_agg(detail, ';') FROM audit_events
		WHERE facility_id = $1 AND action = 'catalogue.import'`, e.alt.FacilityID()).Scan(&detail); err != nil || detail != "imported=2 rejected=5" {
		t.Fatalf("import audit %q (%v)", detail, err)
	}

	// Semicolons, a BOM, CRLF and the leading zero a spreadsheet drops.
	a4 := newAIC()
	semi := "\ufeff" + strings.ReplaceAll(catalogueCSVHeader, ",", ";") +
		strings.TrimPrefix(a4, "0") + ";;\"Sciroppo; 150 ml\";sciroppo;oral;1;;;;;lattulosio;A06AD11;66.7;%\r\n"
	r = e.do(req{method: "POST", path: "/v1/admin/catalogue/import", token: admin, body: csvBody(semi)})
	if r.Status != 200 || r.json(t)["imported"] != float64(1) {
		t.Fatalf("semicolon file: %d %s", r.Status, r.Body)
	}
	if ps := productsOf(t, e.do(req{method: "GET", path: "/v1/catalogue/products?q=" + a4, token: nurse})); len(ps) != 1 || ps[0]["name"] != "Sciroppo; 150 ml" {
		t.Fatalf("semicolon product: %v", ps)
	}

	// Whole-file problems.
	for name, c := range map[string]struct {
		body   rawBody
		status int
		code   string
	}{
		"missing columns": {csvBody("aic,name,form\n" + newAIC() + ",x,y\n"), 400, "catalogue.csv_header"},
		"empty":           {csvBody(""), 400, "catalogue.csv_header"},
		"latin-1":         {csvBody(catalogueCSVHeader + newAIC() + ",,Caff\xe8,compressa,oral,1,,,,,x,N02BE01,1,mg\n"), 400, "catalogue.csv_encoding"},
		"too many rows":   {csvBody(catalogueCSVHeader + strings.Repeat(newAIC()+",,x\n", 5001)), 413, "catalogue.import_too_many_rows"},
		"not csv":         {rawBody{"application/json", []byte(catalogueCSVHeader)}, 415, "request.unsupported_media_type"},
		"latin-1 charset": {rawBody{"text/csv; charset=iso-8859-1", []byte(catalogueCSVHeader)}, 415, "request.unsupported_media_type"},
		"over 1 MiB":      {csvBody(catalogueCSVHeader + strings.Repeat("x", 1<<20)), 413, "request.too_large"},
	} {
		r := e.do(req{method: "POST", path: "/v1/admin/catalogue/import", token: admin, body: c.body})
		if r.Status != c.status || r.code() != c.code {
			t.Errorf("%s: %d %.300s; want %d %s", name, r.Status, r.Body, c.status, c.code)
		}
	}
	// Not an admin.
	if r := e.do(req{method: "POST", path: "/v1/admin/catalogue/import", token: nurse, body: csvBody(file)}); r.Status != 403 {
		t.Fatalf("nurse imports: %d", r.Status)
	}
}
