package mobileapi

import (
	"mime"
	"strconv"
	"strings"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/catalogue"
	"github.com/gofiber/fiber/v2"
)

func init() {
	for code, m := range catalogueMessages {
		messages[code] = m
	}
}

// catalogueMessages are the titles of the catalogue's codes.
var catalogueMessages = map[string]msg{
	catalogue.CodeUnknownProduct:     {"Prodotto non presente nel prontuario", "Product not in the catalogue"},
	catalogue.CodeDuplicateCode:      {"Un prodotto con questo codice è già nel prontuario", "A product with this code is already in the catalogue"},
	catalogue.CodeCodeRequired:       {"Indicare il codice AIC o il GTIN", "Give the AIC or the GTIN"},
	"aic.invalid":                    {"Codice AIC non valido (controllare le cifre)", "Invalid AIC (check the digits)"},
	"gtin.invalid":                   {"Codice GTIN non valido (controllare le cifre)", "Invalid GTIN (check the digits)"},
	catalogue.CodeInvalidName:        {"Nome del prodotto mancante o troppo lungo", "Product name missing or too long"},
	catalogue.CodeInvalidForm:        {"Forma farmaceutica mancante o troppo lunga", "Dosage form missing or too long"},
	catalogue.CodeInvalidRoute:       {"Via di somministrazione non valida", "Invalid route"},
	catalogue.CodeInvalidUnits:       {"Numero di unità per confezione non valido", "Invalid number of units per pack"},
	catalogue.CodeIngredientRequired: {"Indicare almeno un principio attivo", "Give at least one active ingredient"},
	catalogue.CodeInvalidIngredient:  {"Principio attivo non valido", "Invalid active ingredient"},
	catalogue.CodeInvalidATC:         {"Codice ATC non valido (7 caratteri, es. B01AB05)", "Invalid ATC code (7 characters, e.g. B01AB05)"},
	catalogue.CodeInvalidStrength:    {"Dosaggio non valido (numero decimale col punto, maggiore di zero)", "Invalid strength (a decimal with a dot, more than zero)"},
	catalogue.CodeInvalidUnit:        {"Unità di misura non valida", "Invalid unit"},
	catalogue.CodeCSVEncoding:        {"Il file non è in UTF-8: salvarlo come \"CSV UTF-8\"", "The file is not UTF-8: save it as \"CSV UTF-8\""},
	catalogue.CodeCSVHeader:          {"Riga di intestazione mancante o incompleta", "Header row missing or incomplete"},
	catalogue.CodeTooManyRows:        {"Troppe righe in un solo file: dividerlo", "Too many rows in one file: split it"},
}

type ingredientJSON struct {
	Name     string `json:"name"`
	ATC      string `json:"atc"`
	Strength string `json:"strength"`
	Unit     string `json:"unit"`
}

type newProductJSON struct {
	AIC          string           `json:"aic"`
	GTIN         string           `json:"gtin"`
	Name         string           `json:"name"`
	Form         string           `json:"form"`
	Routes       []string         `json:"routes"`
	UnitsPerPack int              `json:"units_per_pack"`
	HighAlert    bool             `json:"high_alert"`
	LASA         bool             `json:"lasa"`
	DoNotCrush   bool             `json:"do_not_crush"`
	TimeCritical bool             `json:"time_critical"`
	Ingredients  []ingredientJSON `json:"ingredients"`
}

// searchProducts searches the catalogue for prescribing.
func (s *Server) searchProducts(c *fiber.Ctx) error {
	q := catalogue.Query{Text: c.Query("q"), ATC: c.Query("atc")}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return backend.Invalid("request.invalid_query", "limit", "a whole number from 1 to "+strconv.Itoa(catalogue.MaxLimit))
		}
		q.Limit = n
	}
	ps, err := s.Catalogue.Search(c.UserContext(), actor(c), q)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"products": ps})
}

func (s *Server) getProduct(c *fiber.Ctx) error {
	id, err := pathID(c, "id", catalogue.CodeUnknownProduct)
	if err != nil {
		return err
	}
	p, err := s.Catalogue.Product(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// addProduct adds a product to the caller's facility catalogue.
func (s *Server) addProduct(c *fiber.Ctx) error {
	var req newProductJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	p := catalogue.Product{AIC: req.AIC, GTIN: req.GTIN, Name: req.Name, Form: req.Form, Routes: req.Routes,
		UnitsPerPack: req.UnitsPerPack, HighAlert: req.HighAlert, LASA: req.LASA, DoNotCrush: req.DoNotCrush,
		TimeCritical: req.TimeCritical}
	for _, in := range req.Ingredients {
		p.Ingredients = append(p.Ingredients, catalogue.Ingredient(in))
	}
	out, err := s.Catalogue.Add(c.UserContext(), actor(c), p)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// importProducts adds the good rows of a CSV file (text/csv, UTF-8) to the
// caller's facility catalogue and reports the others.
func (s *Server) importProducts(c *fiber.Ctx) error {
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != "text/csv" || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		return &backend.Error{Kind: backend.KindUnsupported, Code: "request.unsupported_media_type",
			Detail: "send the file as text/csv (UTF-8)"}
	}
	res, err := s.Catalogue.Import(c.UserContext(), actor(c), body(c))
	if err != nil {
		return err
	}
	return c.JSON(res)
}
