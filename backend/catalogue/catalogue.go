// Package catalogue is the drug catalogue as the bedside needs it: a
// product found from the codes on its pack (the AIC from a Code 32 bollino or
// a GS1 DataMatrix's AI 716, or its GTIN), with its active ingredients and
// the flags that change how it is given (high-alert, LASA, do-not-crush,
// time-critical).
package catalogue

import (
	"context"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/google/uuid"
)

// Ingredient is an active ingredient with its ATC code and strength.
type Ingredient struct {
	Name     string `json:"name"`
	ATC      string `json:"atc"`
	Strength string `json:"strength,omitempty"` // a decimal, as text: never a float
	Unit     string `json:"unit,omitempty"`
}

// Product is a drug product.
type Product struct {
	ID           uuid.UUID    `json:"id"`
	AIC          string       `json:"aic,omitempty"`
	GTIN         string       `json:"gtin,omitempty"`
	Name         string       `json:"name"`
	Form         string       `json:"form"`
	Routes       []string     `json:"routes"`
	UnitsPerPack int          `json:"units_per_pack,omitempty"`
	HighAlert    bool         `json:"high_alert"`
	LASA         bool         `json:"lasa"`
	DoNotCrush   bool         `json:"do_not_crush"`
	TimeCritical bool         `json:"time_critical"`
	Withdrawn    bool         `json:"withdrawn"`
	Ingredients  []Ingredient `json:"ingredients"`
}

// Store finds products in the national catalogue and the facility's own.
type Store interface {
	// ProductByCode finds a product by AIC or GTIN (either may be ""),
	// preferring the facility's own entry over the national one.
	ProductByCode(ctx context.Context, facility uuid.UUID, aic, gtin string) (Product, error)
}

// Service looks products up.
type Service struct{ Store Store }

// Identify finds the product a scanned pack code stands for. Unknown codes
// are catalogue.unknown_product (404).
func (s *Service) Identify(ctx context.Context, a *backend.Actor, in codes.Interpretation) (Product, error) {
	aic, gtin := in.AIC, in.GTIN
	if aic == "" && gtin == "" {
		return Product{}, backend.Invalid("catalogue.not_a_pack", "code", "not a drug pack code")
	}
	p, err := s.Store.ProductByCode(ctx, a.FacilityID, aic, gtin)
	if backend.IsKind(err, backend.KindNotFound) {
		return Product{}, backend.E(backend.KindNotFound, "catalogue.unknown_product")
	}
	return p, err
}
