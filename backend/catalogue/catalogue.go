// Package catalogue is the drug catalogue as the bedside and the prescriber
// need it: a product found from the codes on its pack (the AIC from a Code 32
// bollino or a GS1 DataMatrix's AI 716, or its GTIN) or searched by name,
// ingredient or ATC code, with its active ingredients and the flags that
// change how it is given (high-alert, LASA, do-not-crush, time-critical).
//
// The national catalogue is reference data shared by every facility; an
// admin may add the facility's own products, one at a time or from a CSV
// file. A facility product never shadows a national one: a code already in
// the national catalogue or in the facility's own is refused.
package catalogue

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/google/uuid"
)

// Error codes of the catalogue.
const (
	CodeUnknownProduct = "catalogue.unknown_product"
	CodeDuplicateCode  = "catalogue.duplicate_code"
	CodeNotAPack       = "catalogue.not_a_pack"
)

// ErrUnknownProduct is what a product that does not exist, or belongs to
// another facility, answers.
func ErrUnknownProduct() error { return backend.E(backend.KindNotFound, CodeUnknownProduct) }

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

// Query is a catalogue search. Text matches the product name or an
// ingredient name (substring, any case), an AIC or GTIN exactly, or an ATC
// code by prefix; ATC narrows to products with an ingredient whose ATC code
// starts with it. Both may be empty.
type Query struct {
	Text  string
	ATC   string
	Limit int
	// Derived from Text by Normalize: the exact codes it stands for.
	AIC, GTIN, ATCPrefix string
}

const (
	// DefaultLimit and MaxLimit bound a search's answer.
	DefaultLimit = 20
	MaxLimit     = 100
	maxQueryLen  = 100
)

var atcPrefixShape = regexp.MustCompile(`^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$`)

// Normalize checks the query and fills in the codes its text stands for.
func (q *Query) Normalize() error {
	q.Text = strings.TrimSpace(q.Text)
	q.ATC = strings.ToUpper(strings.TrimSpace(q.ATC))
	switch {
	case len(q.Text) > maxQueryLen:
		return backend.Invalid("request.invalid_query", "q", fmt.Sprintf("at most %d characters", maxQueryLen))
	case q.ATC != "" && !atcPrefixShape.MatchString(q.ATC):
		return backend.Invalid("request.invalid_query", "atc", "an ATC code or its prefix, e.g. B01A or B01AB05")
	case q.Limit < 0 || q.Limit > MaxLimit:
		return backend.Invalid("request.invalid_query", "limit", fmt.Sprintf("1 to %d", MaxLimit))
	case q.Limit == 0:
		q.Limit = DefaultLimit
	}
	q.AIC, q.GTIN, q.ATCPrefix = "", "", ""
	if aic, err := codes.ParseAIC(q.Text); err == nil {
		q.AIC = aic
	}
	if gtin, err := codes.NormalizeGTIN(q.Text); err == nil {
		q.GTIN = gtin
	}
	if up := strings.ToUpper(q.Text); len(up) >= 3 && atcPrefixShape.MatchString(up) {
		q.ATCPrefix = up
	}
	return nil
}

// Store finds products in the national catalogue and the facility's own,
// and adds the facility's own. Writes take the audit event to write in the
// same transaction.
type Store interface {
	// ProductByCode finds a product by AIC or GTIN (either may be ""),
	// preferring the facility's own entry over the national one.
	ProductByCode(ctx context.Context, facility uuid.UUID, aic, gtin string) (Product, error)
	// ProductByID returns a national product or one of the facility's own;
	// anything else is catalogue.unknown_product (404).
	ProductByID(ctx context.Context, facility, id uuid.UUID) (Product, error)
	// SearchProducts searches the national catalogue and the facility's own
	// products; q is normalized.
	SearchProducts(ctx context.Context, facility uuid.UUID, q Query) ([]Product, error)
	// InsertProduct adds a facility product; a code already in the national
	// catalogue or the facility's own is catalogue.duplicate_code (409).
	InsertProduct(ctx context.Context, facility uuid.UUID, p Product, ev audit.Event) error
	// ImportProducts adds the facility products whose codes are free, in one
	// transaction with the event ev(imported) returns, and reports the
	// indexes of those refused because a code was taken.
	ImportProducts(ctx context.Context, facility uuid.UUID, ps []Product, ev func(imported int) audit.Event) (taken []int, err error)
}

// Service looks products up and manages the facility's own.
type Service struct{ Store Store }

func allowed(a *backend.Actor, action access.Action) error {
	if !access.Can(a, action) {
		return backend.E(backend.KindForbidden, backend.CodeForbidden)
	}
	return nil
}

// Identify finds the product a scanned pack code stands for. Unknown codes
// are catalogue.unknown_product (404).
func (s *Service) Identify(ctx context.Context, a *backend.Actor, in codes.Interpretation) (Product, error) {
	aic, gtin := in.AIC, in.GTIN
	if aic == "" && gtin == "" {
		return Product{}, backend.Invalid(CodeNotAPack, "code", "not a drug pack code")
	}
	p, err := s.Store.ProductByCode(ctx, a.FacilityID, aic, gtin)
	if backend.IsKind(err, backend.KindNotFound) {
		return Product{}, ErrUnknownProduct()
	}
	return p, err
}

// Search finds products for prescribing.
func (s *Service) Search(ctx context.Context, a *backend.Actor, q Query) ([]Product, error) {
	if err := allowed(a, access.ReadCatalogue); err != nil {
		return nil, err
	}
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	return s.Store.SearchProducts(ctx, a.FacilityID, q)
}

// Product returns one product: national, or of the caller's facility.
func (s *Service) Product(ctx context.Context, a *backend.Actor, id uuid.UUID) (Product, error) {
	if err := allowed(a, access.ReadCatalogue); err != nil {
		return Product{}, err
	}
	return s.Store.ProductByID(ctx, a.FacilityID, id)
}

// Add validates p and adds it to the caller's facility catalogue.
func (s *Service) Add(ctx context.Context, a *backend.Actor, p Product) (Product, error) {
	if err := allowed(a, access.ManageCatalogue); err != nil {
		return Product{}, err
	}
	if err := Validate(&p); err != nil {
		return Product{}, err.Err()
	}
	p.ID, p.Withdrawn = uuid.New(), false
	ev := audit.By(a, "catalogue.product.add", "product", p.ID.String(), uuid.Nil, audit.Success)
	ev.Detail = productDetail(p)
	if err := s.Store.InsertProduct(ctx, a.FacilityID, p, ev); err != nil {
		return Product{}, err
	}
	return s.Store.ProductByID(ctx, a.FacilityID, p.ID)
}

// productDetail names the product's codes for the audit trail.
func productDetail(p Product) string {
	d := "aic=" + p.AIC
	if p.GTIN != "" {
		d += " gtin=" + p.GTIN
	}
	return d
}

// ImportResult is the outcome of a CSV import.
type ImportResult struct {
	Imported int         `json:"imported"`
	Rejected []Rejection `json:"rejected"`
}

// Import adds the good rows of a CSV file to the caller's facility
// catalogue, in one transaction audited once, and reports the bad ones.
func (s *Service) Import(ctx context.Context, a *backend.Actor, data []byte) (ImportResult, error) {
	if err := allowed(a, access.ManageCatalogue); err != nil {
		return ImportResult{}, err
	}
	parsed, err := ParseCSV(data)
	if err != nil {
		return ImportResult{}, err
	}
	ps := make([]Product, len(parsed.Rows))
	for i, r := range parsed.Rows {
		ps[i] = r.Product
		ps[i].ID = uuid.New()
	}
	rejected := parsed.Rejected
	taken, err := s.Store.ImportProducts(ctx, a.FacilityID, ps, func(imported int) audit.Event {
		ev := audit.By(a, "catalogue.import", "catalogue", "", uuid.Nil, audit.Success)
		ev.Detail = fmt.Sprintf("imported=%d rejected=%d", imported, len(rejected)+len(ps)-imported)
		return ev
	})
	if err != nil {
		return ImportResult{}, err
	}
	for _, i := range taken {
		r := parsed.Rows[i]
		col := "aic"
		if r.Product.AIC == "" {
			col = "gtin"
		}
		rejected = append(rejected, Rejection{Line: r.Line, Column: col, Code: CodeDuplicateCode,
			Reason: "a product with this code is already in the catalogue"})
	}
	sortRejections(rejected)
	if rejected == nil {
		rejected = []Rejection{}
	}
	return ImportResult{Imported: len(ps) - len(taken), Rejected: rejected}, nil
}
