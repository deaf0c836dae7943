package postgres

import (
	"context"
	"fmt"

	"github.com/corsia-cce/corsia/backend/catalogue"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// CatalogueStore implements catalogue.Store.
type CatalogueStore struct{ *DB }

var _ catalogue.Store = CatalogueStore{}

// ProductByCode finds a product by AIC or GTIN, the facility's own entry
// first.
func (s CatalogueStore) ProductByCode(ctx context.Context, facility uuid.UUID, aic, gtin string) (catalogue.Product, error) {
	var p catalogue.Product
	var a, g *string
	var units *int
	err := s.Pool.QueryRow(ctx, `SELECT id, aic, gtin, name, form, routes, units_per_pack, high_alert, lasa, do_not_crush,
			time_critical, withdrawn
		FROM products
		WHERE (facility_id IS NULL OR facility_id = $1)
		  AND (($2 <> '' AND aic = $2) OR ($3 <> '' AND gtin = $3))
		ORDER BY facility_id NULLS LAST LIMIT 1`, facility, aic, gtin).
		Scan(&p.ID, &a, &g, &p.Name, &p.Form, &p.Routes, &units, &p.HighAlert, &p.LASA, &p.DoNotCrush, &p.TimeCritical, &p.Withdrawn)
	if err != nil {
		return p, translate(err)
	}
	if a != nil {
		p.AIC = *a
	}
	if g != nil {
		p.GTIN = *g
	}
	if units != nil {
		p.UnitsPerPack = *units
	}
	rows, err := s.Pool.Query(ctx, `SELECT name, atc, coalesce(strength::text, ''), unit FROM product_ingredients
		WHERE product_id = $1 ORDER BY position`, p.ID)
	if err != nil {
		return p, translate(err)
	}
	p.Ingredients, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalogue.Ingredient, error) {
		var in catalogue.Ingredient
		err := r.Scan(&in.Name, &in.ATC, &in.Strength, &in.Unit)
		return in, err
	})
	return p, translate(err)
}

// LoadCatalogue loads national catalogue products, idempotently: a product
// whose AIC (or GTIN) is already there is left as it is.
func (db *DB) LoadCatalogue(ctx context.Context, products []fixtures.ProductSeed) (int, error) {
	loaded := 0
	err := db.inTx(ctx, nil, func(tx pgx.Tx) error {
		loaded = 0
		for _, p := range products {
			id := uuid.NewSHA1(catalogueNamespace, []byte(p.AIC+"/"+p.GTIN))
			tag, err := tx.Exec(ctx, `INSERT INTO products (id, aic, gtin, name, form, routes, units_per_pack, high_alert,
					lasa, do_not_crush, time_critical, source)
				VALUES ($1, nullif($2, ''), nullif($3, ''), $4, $5, $6, nullif($7, 0), $8, $9, $10, $11, $12)
				ON CONFLICT DO NOTHING`, id, p.AIC, p.GTIN, p.Name, p.Form, p.Routes, p.UnitsPerPack, p.HighAlert,
				p.LASA, p.DoNotCrush, p.TimeCritical, p.Source)
			if err != nil {
				return fmt.Errorf("product %s: %w", p.Name, err)
			}
			if tag.RowsAffected() == 0 {
				continue
			}
			loaded++
			for i, in := range p.Ingredients {
				if _, err := tx.Exec(ctx, `INSERT INTO product_ingredients (product_id, position, name, atc, strength, unit)
					VALUES ($1, $2, $3, $4, nullif($5, '')::numeric, $6)`, id, i+1, in.Name, in.ATC, in.Strength, in.Unit); err != nil {
					return fmt.Errorf("product %s ingredient %s: %w", p.Name, in.Name, err)
				}
			}
		}
		return nil
	})
	return loaded, err
}

var catalogueNamespace = uuid.MustParse("2b7d8c4e-6a1f-4f0e-9e3b-5c1d2a3b4c5d")
