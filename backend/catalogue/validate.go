package catalogue

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/codes"
)

// Routes is the vocabulary of administration routes.
var Routes = []string{"oral", "sublingual", "subcutaneous", "intramuscular", "intravenous", "transdermal", "rectal",
	"inhalation", "topical", "ophthalmic", "otic", "nasal", "enteral_tube", "vaginal"}

// Units is the vocabulary of strength units.
var Units = []string{"mg", "g", "mcg", "UI", "mL", "mg/mL", "mg/5mL", "UI/mL", "%", "mcg/h", "mg/24h", "dose"}

// Validation codes.
const (
	CodeCodeRequired       = "catalogue.code_required"
	CodeInvalidName        = "catalogue.invalid_name"
	CodeInvalidForm        = "catalogue.invalid_form"
	CodeInvalidRoute       = "catalogue.invalid_route"
	CodeInvalidUnits       = "catalogue.invalid_units_per_pack"
	CodeIngredientRequired = "catalogue.ingredient_required"
	CodeInvalidIngredient  = "catalogue.invalid_ingredient"
	CodeInvalidATC         = "catalogue.invalid_atc"
	CodeInvalidStrength    = "catalogue.invalid_strength"
	CodeInvalidUnit        = "catalogue.invalid_unit"
)

const (
	maxNameLen        = 200
	maxFormLen        = 100
	maxIngredients    = 10
	maxUnitsPerPack   = 100000
	maxStrengthDigits = 9
)

var (
	atcSubstance = regexp.MustCompile(`^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$`)
	decimal      = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,6})?$`)
)

// Problem is what is wrong with a product: the offending JSON field (e.g.
// "ingredients[1].atc"), the matching CSV column, a stable code and a
// reason in plain English.
type Problem struct {
	Field, Column, Code, Reason string
}

// Err is the problem as a 400 error naming its field.
func (p *Problem) Err() error {
	return &backend.Error{Kind: backend.KindInvalid, Code: p.Code, Detail: p.Reason, Fields: map[string]string{p.Field: p.Reason}}
}

func problem(field, column, code, reason string) *Problem {
	return &Problem{Field: field, Column: column, Code: code, Reason: reason}
}

// text reports whether s is acceptable free text: valid UTF-8, no control
// characters, not blank, at most max characters.
func text(s string, max int) bool {
	if strings.TrimSpace(s) == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// canonical returns the vocabulary entry equal to s ignoring case, or "".
func canonical(vocab []string, s string) string {
	for _, v := range vocab {
		if strings.EqualFold(v, s) {
			return v
		}
	}
	return ""
}

// Validate checks a product a facility adds and normalizes it in place:
// codes checked with their check digits (the GTIN stored as GTIN-14), text
// trimmed, routes and units spelled as in their vocabularies, ATC codes in
// capitals. It returns the first problem found, or nil.
func Validate(p *Product) *Problem {
	p.AIC, p.GTIN = strings.TrimSpace(p.AIC), strings.TrimSpace(p.GTIN)
	if p.AIC == "" && p.GTIN == "" {
		return problem("aic", "aic", CodeCodeRequired, "an AIC or a GTIN is required")
	}
	if p.AIC != "" {
		aic, err := codes.ParseAIC(p.AIC)
		if err != nil {
			return fromCodeError(err, "aic")
		}
		p.AIC = aic
	}
	if p.GTIN != "" {
		gtin, err := codes.NormalizeGTIN(p.GTIN)
		if err != nil {
			return fromCodeError(err, "gtin")
		}
		p.GTIN = gtin
	}
	p.Name, p.Form = strings.TrimSpace(p.Name), strings.TrimSpace(p.Form)
	if !text(p.Name, maxNameLen) {
		return problem("name", "name", CodeInvalidName, fmt.Sprintf("the name is required, at most %d characters", maxNameLen))
	}
	if !text(p.Form, maxFormLen) {
		return problem("form", "form", CodeInvalidForm, fmt.Sprintf("the form is required, at most %d characters", maxFormLen))
	}
	if len(p.Routes) == 0 {
		return problem("routes", "routes", CodeInvalidRoute, "at least one route: "+strings.Join(Routes, ", "))
	}
	routes := make([]string, 0, len(p.Routes))
	for _, r := range p.Routes {
		c := canonical(Routes, strings.TrimSpace(r))
		if c == "" {
			return problem("routes", "routes", CodeInvalidRoute, "unknown route; one of "+strings.Join(Routes, ", "))
		}
		if slices.Contains(routes, c) {
			return problem("routes", "routes", CodeInvalidRoute, "route "+c+" given twice")
		}
		routes = append(routes, c)
	}
	p.Routes = routes
	if p.UnitsPerPack < 0 || p.UnitsPerPack > maxUnitsPerPack {
		return problem("units_per_pack", "units_per_pack", CodeInvalidUnits,
			fmt.Sprintf("a whole number from 1 to %d, or 0 when unknown", maxUnitsPerPack))
	}
	if len(p.Ingredients) == 0 || len(p.Ingredients) > maxIngredients {
		return problem("ingredients", "ingredient", CodeIngredientRequired,
			fmt.Sprintf("1 to %d active ingredients", maxIngredients))
	}
	for i := range p.Ingredients {
		in := &p.Ingredients[i]
		at := "ingredients[" + strconv.Itoa(i) + "]."
		in.Name = strings.TrimSpace(in.Name)
		in.ATC = strings.ToUpper(strings.TrimSpace(in.ATC))
		in.Strength = strings.TrimSpace(in.Strength)
		in.Unit = strings.TrimSpace(in.Unit)
		if !text(in.Name, maxNameLen) {
			return problem(at+"name", "ingredient", CodeInvalidIngredient,
				fmt.Sprintf("the ingredient's name is required, at most %d characters", maxNameLen))
		}
		if !atcSubstance.MatchString(in.ATC) {
			return problem(at+"atc", "atc", CodeInvalidATC, "an ATC code of level 5 (substance), e.g. B01AB05")
		}
		if why := checkStrength(in.Strength); why != "" {
			return problem(at+"strength", "strength", CodeInvalidStrength, why)
		}
		c := canonical(Units, in.Unit)
		if c == "" {
			return problem(at+"unit", "unit", CodeInvalidUnit, "one of "+strings.Join(Units, ", "))
		}
		in.Unit = c
	}
	return nil
}

// checkStrength explains what is wrong with a strength, or returns "".
func checkStrength(s string) string {
	switch {
	case s == "":
		return "the strength is required"
	case strings.Contains(s, ","):
		return "write the decimal with a dot (2.5), never a comma"
	case !decimal.MatchString(s):
		return fmt.Sprintf("a decimal number such as 2.5: up to %d digits, 6 decimals", maxStrengthDigits)
	case strings.Trim(s, "0.") == "":
		return "the strength must be more than zero"
	}
	return ""
}

// fromCodeError turns an AIC or GTIN parse error into a problem on field.
func fromCodeError(err error, field string) *Problem {
	var be *backend.Error
	if errors.As(err, &be) {
		return problem(field, field, be.Code, be.Detail)
	}
	return problem(field, field, field+".invalid", "malformed code")
}
