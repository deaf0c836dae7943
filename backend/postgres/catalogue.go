package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/catalogue"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// CatalogueStore implements catalogue.Store.
type CatalogueStore struct{ *DB }

var _ catalogue.Store = CatalogueStore{}

const productColumns = `p.id, coalesce(p.aic, ''), coalesce(p.gtin, ''), p.name, p.form, p.routes, coalesce(p.units_per_pack, 0),
	p.high_alert, p.lasa, p.do_not_crush, p.time_critical, p.withdrawn`

func scanProduct(r pgx.Row) (catalogue.Product, error) {
	var p catalogue.Product
	err := r.Scan(&p.ID, &p.AIC, &p.GTIN, &p.Name, &p.Form, &p.Routes, &p.UnitsPerPack, &p.HighAlert, &p.LASA,
		&p.DoNotCrush, &p.TimeCritical, &p.Withdrawn)
	if p.Routes == nil {
		p.Routes = []string{}
	}
	return p, err
}

// withIngredients fills in the products' ingredients with one query.
func withIngredients(ctx context.Context, q querier, ps []catalogue.Product) error {
	if len(ps) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(ps))
	at := make(map[uuid.UUID]int, len(ps))
	for i := range ps {
		ids[i], at[ps[i].ID] = ps[i].ID, i
		ps[i].Ingredients = []catalogue.Ingredient{}
	}
	rows, err := q.Query(ctx, `SELECT product_id, name, atc, coalesce(strength::text, ''), unit FROM product_ingredients
		WHERE product_id = ANY($1) ORDER BY product_id, position`, ids)
	if err != nil {
		return translate(err)
	}
	var id uuid.UUID
	var in catalogue.Ingredient
	_, err = pgx.ForEachRow(rows, []any{&id, &in.Name, &in.ATC, &in.Strength, &in.Unit}, func() error {
		p := &ps[at[id]]
		p.Ingredients = append(p.Ingredients, in)
		return nil
	})
	return translate(err)
}

// ProductByCode finds a product by AIC or GTIN, the facility's own entry
// first.
func (s CatalogueStore) ProductByCode(ctx context.Context, facility uuid.UUID, aic, gtin string) (catalogue.Product, error) {
	p, err := scanProduct(s.Pool.QueryRow(ctx, `SELECT `+productColumns+`
		FROM products p
		WHERE (p.facility_id IS NULL OR p.facility_id = $1)
		  AND (($2 <> '' AND p.aic = $2) OR ($3 <> '' AND p.gtin = $3))
		ORDER BY p.facility_id NULLS LAST LIMIT 1`, facility, aic, gtin))
	if err != nil {
		return p, translate(err)
	}
	ps := []catalogue.Product{p}
	err = withIngredients(ctx, s.Pool, ps)
	return ps[0], err
}

// ProductByID returns a national product or one of the facility's own.
func (s CatalogueStore) ProductByID(ctx context.Context, facility, id uuid.UUID) (catalogue.Product, error) {
	p, err := scanProduct(s.Pool.QueryRow(ctx, `SELECT `+productColumns+` FROM products p
		WHERE p.id = $2 AND (p.facility_id IS NULL OR p.facility_id = $1)`, facility, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, catalogue.ErrUnknownProduct()
	}
	if err != nil {
		return p, translate(err)
	}
	ps := []catalogue.Product{p}
	err = withIngredients(ctx, s.Pool, ps)
	return ps[0], err
}

// likeEscaper makes user text literal inside a LIKE pattern.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// SearchProducts searches by name, ingredient, code or ATC prefix. The
// query is built with only the conditions asked for.
func (s CatalogueStore) SearchProducts(ctx context.Context, facility uuid.UUID, q catalogue.Query) ([]catalogue.Product, error) {
	args := []any{facility}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var where strings.Builder
	where.WriteString("(p.facility_id IS NULL OR p.facility_id = $1)")
	if q.Text != "" {
		pattern := arg("%" + likeEscaper.Replace(q.Text) + "%")
		alts := []string{"p.name ILIKE " + pattern,
			"EXISTS (SELECT 1 FROM product_ingredients i WHERE i.product_id = p.id AND i.name ILIKE " + pattern + ")"}
		if q.AIC != "" {
			alts = append(alts, "p.aic = "+arg(q.AIC))
		}
		if q.GTIN != "" {
			alts = append(alts, "p.gtin = "+arg(q.GTIN))
		}
		if q.ATCPrefix != "" {
			alts = append(alts, "EXISTS (SELECT 1 FROM product_ingredients i WHERE i.product_id = p.id AND i.atc LIKE "+
				arg(q.ATCPrefix+"%")+")")
		}
		where.WriteString(" AND (" + strings.Join(alts, " OR ") + ")")
	}
	if q.ATC != "" {
		where.WriteString(" AND EXISTS (SELECT 1 FROM product_ingredients i WHERE i.product_id = p.id AND i.atc LIKE " +
			arg(q.ATC+"%") + ")")
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+productColumns+` FROM products p WHERE `+where.String()+`
		ORDER BY p.withdrawn, p.name, p.id LIMIT `+arg(q.Limit), args...)
	if err != nil {
		return nil, translate(err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalogue.Product, error) { return scanProduct(r) })
	if err != nil {
		return nil, translate(err)
	}
	if ps == nil {
		ps = []catalogue.Product{}
	}
	return ps, withIngredients(ctx, s.Pool, ps)
}

// lockCatalogue serializes writes to a facility's catalogue, so that the
// check for taken codes and the inserts that follow see the same state.
func lockCatalogue(ctx context.Context, tx pgx.Tx, facility uuid.UUID) error {
	_, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('catalogue:' || $1::text, 0))", facility)
	return translate(err)
}

// takenCodes returns which of the AICs and GTINs are already in the national
// catalogue or the facility's.
func takenCodes(ctx context.Context, tx pgx.Tx, facility uuid.UUID, aics, gtins []string) (takenSet, error) {
	rows, err := tx.Query(ctx, `SELECT coalesce(aic, ''), coalesce(gtin, '') FROM products
		WHERE (facility_id IS NULL OR facility_id = $1) AND (aic = ANY($2) OR gtin = ANY($3))`, facility, aics, gtins)
	if err != nil {
		return nil, translate(err)
	}
	taken := takenSet{}
	var a, g string
	_, err = pgx.ForEachRow(rows, []any{&a, &g}, func() error {
		taken["aic:"+a], taken["gtin:"+g] = true, true
		return nil
	})
	return taken, translate(err)
}

// takenSet holds taken codes as "aic:…" and "gtin:…".
type takenSet map[string]bool

func (t takenSet) has(p catalogue.Product) bool {
	return (p.AIC != "" && t["aic:"+p.AIC]) || (p.GTIN != "" && t["gtin:"+p.GTIN])
}

// insertProducts queues the products and their ingredients in one batch.
func insertProducts(ctx context.Context, tx pgx.Tx, facility uuid.UUID, ps []catalogue.Product) error {
	if len(ps) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, p := range ps {
		b.Queue(`INSERT INTO products (id, facility_id, aic, gtin, name, form, routes, units_per_pack, high_alert, lasa,
				do_not_crush, time_critical, source)
			VALUES ($1, $2, nullif($3, ''), nullif($4, ''), $5, $6, $7, nullif($8, 0), $9, $10, $11, $12, 'facility')`,
			p.ID, facility, p.AIC, p.GTIN, p.Name, p.Form, p.Routes, p.UnitsPerPack, p.HighAlert, p.LASA, p.DoNotCrush,
			p.TimeCritical)
		for i, in := range p.Ingredients {
			b.Queue(`INSERT INTO product_ingredients (product_id, position, name, atc, strength, unit)
				VALUES ($1, $2, $3, $4, nullif($5, '')::numeric, $6)`, p.ID, i+1, in.Name, in.ATC, in.Strength, in.Unit)
		}
	}
	return translate(tx.SendBatch(ctx, b).Close())
}

func codesOf(ps []catalogue.Product) (aics, gtins []string) {
	aics, gtins = []string{}, []string{}
	for _, p := range ps {
		if p.AIC != "" {
			aics = append(aics, p.AIC)
		}
		if p.GTIN != "" {
			gtins = append(gtins, p.GTIN)
		}
	}
	return aics, gtins
}

// InsertProduct adds a facility product with its audit event.
func (s CatalogueStore) InsertProduct(ctx context.Context, facility uuid.UUID, p catalogue.Product, ev audit.Event) error {
	return s.inTx(ctx, nil, func(tx pgx.Tx) error {
		if err := lockCatalogue(ctx, tx, facility); err != nil {
			return err
		}
		aics, gtins := codesOf([]catalogue.Product{p})
		taken, err := takenCodes(ctx, tx, facility, aics, gtins)
		if err != nil {
			return err
		}
		if taken.has(p) {
			field := "aic"
			if p.AIC == "" || !taken["aic:"+p.AIC] {
				field = "gtin"
			}
			return &backend.Error{Kind: backend.KindConflict, Code: catalogue.CodeDuplicateCode,
				Detail: "a product with this " + strings.ToUpper(field) + " is already in the catalogue",
				Fields: map[string]string{field: "already in the catalogue"}}
		}
		if err := insertProducts(ctx, tx, facility, []catalogue.Product{p}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// ImportProducts adds the products whose codes are free, in one transaction
// with one audit event, and returns the indexes of the others.
func (s CatalogueStore) ImportProducts(ctx context.Context, facility uuid.UUID, ps []catalogue.Product, ev func(imported int) audit.Event) ([]int, error) {
	var refused []int
	err := s.inTx(ctx, nil, func(tx pgx.Tx) error {
		refused = nil
		if err := lockCatalogue(ctx, tx, facility); err != nil {
			return err
		}
		aics, gtins := codesOf(ps)
		taken, err := takenCodes(ctx, tx, facility, aics, gtins)
		if err != nil {
			return err
		}
		free := make([]catalogue.Product, 0, len(ps))
		for i, p := range ps {
			if taken.has(p) {
				refused = append(refused, i)
				continue
			}
			free = append(free, p)
		}
		if err := insertProducts(ctx, tx, facility, free); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev(len(free)))
	})
	return refused, err
}

// LoadCatalogue loads the national catalogue shipped with Corsia. It is
// idempotent, and it brings a database loaded by an earlier release up to
// date: a product already there (found by AIC) gets the shipped name, form,
// routes, pack size, flags and ingredients, so that a corrected flag reaches
// every facility. It returns how many products were added or changed.
func (db *DB) LoadCatalogue(ctx context.Context, products []fixtures.ProductSeed) (int, error) {
	loaded := 0
	err := db.inTx(ctx, nil, func(tx pgx.Tx) error {
		loaded = 0
		for _, p := range products {
			changed, err := loadProduct(ctx, tx, p)
			if err != nil {
				return fmt.Errorf("product %s: %w", p.Name, err)
			}
			if changed {
				loaded++
			}
		}
		return nil
	})
	return loaded, err
}

// loadProduct inserts or refreshes one national product and reports whether
// anything changed.
func loadProduct(ctx context.Context, tx pgx.Tx, p fixtures.ProductSeed) (bool, error) {
	id := uuid.NewSHA1(catalogueNamespace, []byte(p.AIC+"/"+p.GTIN))
	routes := p.Routes
	if routes == nil {
		routes = []string{}
	}
	args := []any{id, p.AIC, p.GTIN, p.Name, p.Form, routes, p.UnitsPerPack, p.HighAlert, p.LASA, p.DoNotCrush,
		p.TimeCritical, p.Source}
	const insert = `INSERT INTO products (id, aic, gtin, name, form, routes, units_per_pack, high_alert,
			lasa, do_not_crush, time_critical, source)
		VALUES ($1, nullif($2, ''), nullif($3, ''), $4, $5, $6, nullif($7, 0), $8, $9, $10, $11, $12)`
	if p.AIC == "" {
		tag, err := tx.Exec(ctx, insert+` ON CONFLICT DO NOTHING`, args...)
		if err != nil || tag.RowsAffected() == 0 {
			return false, err
		}
		return true, syncIngredients(ctx, tx, id, p.Ingredients)
	}
	tag, err := tx.Exec(ctx, insert+`
		ON CONFLICT (aic) WHERE facility_id IS NULL AND aic IS NOT NULL DO UPDATE SET
			gtin = EXCLUDED.gtin, name = EXCLUDED.name, form = EXCLUDED.form, routes = EXCLUDED.routes,
			units_per_pack = EXCLUDED.units_per_pack, high_alert = EXCLUDED.high_alert, lasa = EXCLUDED.lasa,
			do_not_crush = EXCLUDED.do_not_crush, time_critical = EXCLUDED.time_critical, source = EXCLUDED.source
		WHERE (products.gtin, products.name, products.form, products.routes, products.units_per_pack, products.high_alert,
				products.lasa, products.do_not_crush, products.time_critical, products.source)
			IS DISTINCT FROM (EXCLUDED.gtin, EXCLUDED.name, EXCLUDED.form, EXCLUDED.routes, EXCLUDED.units_per_pack,
				EXCLUDED.high_alert, EXCLUDED.lasa, EXCLUDED.do_not_crush, EXCLUDED.time_critical, EXCLUDED.source)`, args...)
	if err != nil {
		return false, err
	}
	changed := tag.RowsAffected() > 0
	// The row may predate a GTIN change, so its id is read, not derived.
	if err := tx.QueryRow(ctx, `SELECT id FROM products WHERE facility_id IS NULL AND aic = $1`, p.AIC).Scan(&id); err != nil {
		return false, err
	}
	n, err := syncIngredientsCount(ctx, tx, id, p.Ingredients)
	return changed || n > 0, err
}

func syncIngredients(ctx context.Context, tx pgx.Tx, id uuid.UUID, ins []fixtures.IngredientSeed) error {
	_, err := syncIngredientsCount(ctx, tx, id, ins)
	return err
}

// syncIngredientsCount makes a product's ingredients those shipped and
// returns how many rows changed.
func syncIngredientsCount(ctx context.Context, tx pgx.Tx, id uuid.UUID, ins []fixtures.IngredientSeed) (int64, error) {
	var n int64
	for i, in := range ins {
		tag, err := tx.Exec(ctx, `INSERT INTO product_ingredients AS pi (product_id, position, name, atc, strength, unit)
			VALUES ($1, $2, $3, $4, nullif($5, '')::numeric, $6)
			ON CONFLICT (product_id, position) DO UPDATE SET name = EXCLUDED.name, atc = EXCLUDED.atc,
				strength = EXCLUDED.strength, unit = EXCLUDED.unit
			WHERE (pi.name, pi.atc, pi.strength, pi.unit) IS DISTINCT FROM
				(EXCLUDED.name, EXCLUDED.atc, EXCLUDED.strength, EXCLUDED.unit)`, id, i+1, in.Name, in.ATC, in.Strength, in.Unit)
		if err != nil {
			return n, fmt.Errorf("ingredient %s: %w", in.Name, err)
		}
		n += tag.RowsAffected()
	}
	tag, err := tx.Exec(ctx, `DELETE FROM product_ingredients WHERE product_id = $1 AND position > $2`, id, len(ins))
	if err != nil {
		return n, err
	}
	return n + tag.RowsAffected(), nil
}

var catalogueNamespace = uuid.MustParse("2b7d8c4e-6a1f-4f0e-9e3b-5c1d2a3b4c5d")
