package postgres_test

import (
	"context"
	"testing"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/catalogue"
	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
)

// Loading the shipped catalogue again changes nothing, and it repairs a
// product that an earlier release shipped differently.
func TestLoadCatalogueRefreshesNationalProducts(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	products, err := fixtures.Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := db.LoadCatalogue(ctx, products); err != nil || n != 0 {
		t.Fatalf("second load: %d changed, %v", n, err)
	}
	var total int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM products WHERE facility_id IS NULL").Scan(&total); err != nil || total != len(products) {
		t.Fatalf("%d national products for %d shipped (%v)", total, len(products), err)
	}
	// An older release: a flag missing, an old route spelling, an ingredient
	// changed and one too many.
	aic := "038451023" // PRADAXA 75 mg
	for _, sql := range []string{
		`UPDATE products SET high_alert = false, routes = '{po}' WHERE facility_id IS NULL AND aic = $1`,
		`UPDATE product_ingredients SET unit = 'mg/ml' WHERE product_id = (SELECT id FROM products WHERE facility_id IS NULL AND aic = $1)`,
		`INSERT INTO product_ingredients (product_id, position, name, atc) SELECT id, 9, 'extra', 'A01AA01' FROM products WHERE facility_id IS NULL AND aic = $1`,
	} {
		if _, err := db.Pool.Exec(ctx, sql, aic); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := db.LoadCatalogue(ctx, products); err != nil || n != 1 {
		t.Fatalf("refresh: %d changed, %v; want 1", n, err)
	}
	st := postgres.CatalogueStore{DB: db}
	p, err := st.ProductByCode(ctx, uuid.Nil, aic, "")
	if err != nil {
		t.Fatal(err)
	}
	if !p.HighAlert || len(p.Routes) != 1 || p.Routes[0] != "oral" || len(p.Ingredients) != 1 || p.Ingredients[0].Unit != "mg" {
		t.Fatalf("refreshed product: %+v", p)
	}
}

func TestCatalogueStoreFacilityProducts(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	st := postgres.CatalogueStore{DB: db}
	demo, _ := fixtures.Demo()
	own, other := pgtest.Other().FacilityID(), demo.FacilityID()
	ev := func(n int) audit.Event {
		return audit.Event{FacilityID: own, Action: "catalogue.import", ResourceType: "catalogue", Outcome: audit.Success}
	}
	mk := func(aic, gtin string) catalogue.Product {
		return catalogue.Product{ID: uuid.New(), AIC: aic, GTIN: gtin, Name: "Prodotto " + aic + gtin, Form: "compressa",
			Routes: []string{"oral"}, UnitsPerPack: 10, HighAlert: true,
			Ingredients: []catalogue.Ingredient{{Name: "a", ATC: "N02BE01", Strength: "2.50", Unit: "mg"}, {Name: "b", ATC: "N02BE01", Strength: "1", Unit: "mg"}}}
	}
	ps := []catalogue.Product{mk("090000011", ""), mk("012745093", ""), mk("", "08012345678907"), mk("090000023", "")}
	taken, err := st.ImportProducts(ctx, own, ps, ev)
	if err != nil || len(taken) != 1 || taken[0] != 1 {
		t.Fatalf("import: taken %v, %v; want [1] (a national AIC)", taken, err)
	}
	// Again: every code is now taken, nothing is written but the audit.
	if taken, err := st.ImportProducts(ctx, own, ps, ev); err != nil || len(taken) != 4 {
		t.Fatalf("second import: taken %v, %v", taken, err)
	}
	got, err := st.ProductByID(ctx, own, ps[0].ID)
	if err != nil || got.Ingredients[0].Strength != "2.50" || got.Ingredients[1].Name != "b" || !got.HighAlert {
		t.Fatalf("imported product: %+v, %v", got, err)
	}
	if _, err := st.ProductByID(ctx, other, ps[0].ID); !backend.IsCode(err, catalogue.CodeUnknownProduct) {
		t.Fatalf("another facility's product: %v", err)
	}
	if _, err := st.ProductByID(ctx, own, uuid.New()); !backend.IsCode(err, catalogue.CodeUnknownProduct) {
		t.Fatalf("unknown product: %v", err)
	}
	// A scanned code finds the facility's product; another facility's scan does not.
	if p, err := st.ProductByCode(ctx, own, "", "08012345678907"); err != nil || p.ID != ps[2].ID {
		t.Fatalf("by GTIN: %+v %v", p, err)
	}
	if _, err := st.ProductByCode(ctx, other, "", "08012345678907"); !backend.IsKind(err, backend.KindNotFound) {
		t.Fatalf("by GTIN from another facility: %v", err)
	}
	// A single insert of a taken code is a 409.
	err = st.InsertProduct(ctx, own, mk("090000011", ""), ev(1))
	if !backend.IsCode(err, catalogue.CodeDuplicateCode) || !backend.IsKind(err, backend.KindConflict) {
		t.Fatalf("duplicate insert: %v", err)
	}
	// Search sees national and own products, not another facility's.
	q := catalogue.Query{Text: "prodotto"}
	if err := q.Normalize(); err != nil {
		t.Fatal(err)
	}
	if found, err := st.SearchProducts(ctx, own, q); err != nil || len(found) != 3 {
		t.Fatalf("own search: %d, %v", len(found), err)
	}
	if found, err := st.SearchProducts(ctx, other, q); err != nil || len(found) != 0 {
		t.Fatalf("other facility's search: %d, %v", len(found), err)
	}
}
