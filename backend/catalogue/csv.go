package catalogue

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
)

// Columns are the columns of a catalogue CSV file. The header row names
// every one of them, in any order and any case; other columns are ignored.
// Several ingredients go in one row as |-separated lists of equal length in
// ingredient, atc, strength and unit; several routes as a |-separated list.
var Columns = []string{"aic", "gtin", "name", "form", "routes", "units_per_pack", "high_alert", "lasa", "do_not_crush",
	"time_critical", "ingredient", "atc", "strength", "unit"}

// MaxImportRows bounds the data rows of one CSV import.
const MaxImportRows = 5000

// Codes of a CSV import.
const (
	CodeCSVEncoding        = "catalogue.csv_encoding"         // 400: the file is not UTF-8
	CodeCSVHeader          = "catalogue.csv_header"           // 400: no header row, or columns missing
	CodeTooManyRows        = "catalogue.import_too_many_rows" // 413
	CodeCSVMalformed       = "catalogue.csv_malformed"        // a row: broken quoting
	CodeCSVFieldCount      = "catalogue.csv_field_count"      // a row: not as many fields as the header
	CodeInvalidFlag        = "catalogue.invalid_flag"         // a row: a flag that is not yes or no
	CodeIngredientMismatch = "catalogue.ingredient_mismatch"  // a row: ingredient lists of different lengths
)

// Rejection is a CSV row that was not imported: its line in the file (the
// header is line 1), the column at fault (empty when the whole row is), a
// stable code and a reason in plain English.
type Rejection struct {
	Line   int    `json:"line"`
	Column string `json:"column"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// Row is a valid CSV row: its line and its product, validated.
type Row struct {
	Line    int
	Product Product
}

// Parsed is a parsed CSV file: the valid rows, none repeating a code of an
// earlier one, and the rejected rows.
type Parsed struct {
	Rows     []Row
	Rejected []Rejection
}

var bom = []byte("\ufeff")

// ParseCSV reads a catalogue CSV file: UTF-8 with an optional byte-order
// mark, a header row, fields separated by ";" or "," (whichever the header
// uses more), quoted as in RFC 4180. Each row is validated like a product
// added alone; a row repeating the AIC or GTIN of an earlier row is
// rejected. Whole-file problems are errors: not UTF-8 (400), no usable
// header (400), more than MaxImportRows rows (413).
func ParseCSV(data []byte) (Parsed, error) {
	data = bytes.TrimPrefix(data, bom)
	if !utf8.Valid(data) {
		return Parsed{}, backend.Invalid(CodeCSVEncoding, "file", "the file is not UTF-8 text: save it as \"CSV UTF-8\"")
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if len(bytes.TrimSpace(first)) == 0 {
		return Parsed{}, backend.Invalid(CodeCSVHeader, "header", "the first line must be the header row: "+strings.Join(Columns, ","))
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = ','
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		r.Comma = ';'
	}
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return Parsed{}, backend.Invalid(CodeCSVHeader, "header", "the header row cannot be read: check its quotes")
	}
	index, err := headerIndex(header)
	if err != nil {
		return Parsed{}, err
	}
	var out Parsed
	seenAIC, seenGTIN := map[string]int{}, map[string]int{}
	rows := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line := 0
		if err == nil {
			line, _ = r.FieldPos(0)
		}
		var pe *csv.ParseError
		if err != nil && errors.As(err, &pe) {
			line = pe.StartLine
		}
		if err == nil && blank(rec) {
			continue // spreadsheets export empty rows as ";;;;"
		}
		if rows++; rows > MaxImportRows {
			return Parsed{}, &backend.Error{Kind: backend.KindTooLarge, Code: CodeTooManyRows,
				Detail: fmt.Sprintf("at most %d rows in one file: split it", MaxImportRows)}
		}
		if err != nil {
			reason := "the row's quotes are broken: a field that contains the separator, a quote or a line break must be quoted, and its quotes doubled"
			if pe != nil && pe.Line > pe.StartLine {
				reason += "; the rest of the file could not be read"
			}
			out.Rejected = append(out.Rejected, Rejection{Line: line, Code: CodeCSVMalformed, Reason: reason})
			continue
		}
		if len(rec) != len(header) {
			out.Rejected = append(out.Rejected, Rejection{Line: line, Code: CodeCSVFieldCount,
				Reason: fmt.Sprintf("%d fields where the header has %d", len(rec), len(header))})
			continue
		}
		p, prob := rowProduct(rec, index)
		if prob == nil {
			prob = Validate(&p)
		}
		if prob != nil {
			out.Rejected = append(out.Rejected, Rejection{Line: line, Column: prob.Column, Code: prob.Code, Reason: prob.Reason})
			continue
		}
		if at, dup := seenAIC[p.AIC]; dup && p.AIC != "" {
			out.Rejected = append(out.Rejected, Rejection{Line: line, Column: "aic", Code: CodeDuplicateCode,
				Reason: "the same AIC as line " + strconv.Itoa(at)})
			continue
		}
		if at, dup := seenGTIN[p.GTIN]; dup && p.GTIN != "" {
			out.Rejected = append(out.Rejected, Rejection{Line: line, Column: "gtin", Code: CodeDuplicateCode,
				Reason: "the same GTIN as line " + strconv.Itoa(at)})
			continue
		}
		if p.AIC != "" {
			seenAIC[p.AIC] = line
		}
		if p.GTIN != "" {
			seenGTIN[p.GTIN] = line
		}
		out.Rows = append(out.Rows, Row{Line: line, Product: p})
	}
	return out, nil
}

// headerIndex maps each column to its field position.
func headerIndex(header []string) (map[string]int, error) {
	index := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(Columns, name) {
			continue
		}
		if _, dup := index[name]; dup {
			return nil, backend.Invalid(CodeCSVHeader, "header", "column "+name+" appears twice in the header")
		}
		index[name] = i
	}
	var missing []string
	for _, c := range Columns {
		if _, ok := index[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, backend.Invalid(CodeCSVHeader, "header", "the header lacks the columns "+strings.Join(missing, ", ")+
			" (every one of "+strings.Join(Columns, ",")+" is required; cells may be empty)")
	}
	return index, nil
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// rowProduct reads a row's fields into a product, to be validated.
func rowProduct(rec []string, index map[string]int) (Product, *Problem) {
	get := func(col string) string { return strings.TrimSpace(rec[index[col]]) }
	p := Product{AIC: get("aic"), GTIN: get("gtin"), Name: get("name"), Form: get("form")}
	if len(p.AIC) == 8 && strings.Trim(p.AIC, "0123456789") == "" {
		// A spreadsheet drops the leading zero of a number; the check digit
		// is still verified on the restored code.
		p.AIC = "0" + p.AIC
	}
	if r := get("routes"); r != "" {
		p.Routes = strings.Split(r, "|")
	}
	if u := get("units_per_pack"); u != "" {
		n, err := strconv.Atoi(u)
		if err != nil || strings.Trim(u, "0123456789") != "" {
			return p, problem("units_per_pack", "units_per_pack", CodeInvalidUnits, "a whole number of units in the pack")
		}
		p.UnitsPerPack = n
	}
	for _, f := range []struct {
		col string
		dst *bool
	}{{"high_alert", &p.HighAlert}, {"lasa", &p.LASA}, {"do_not_crush", &p.DoNotCrush}, {"time_critical", &p.TimeCritical}} {
		v, ok := flag(get(f.col))
		if !ok {
			return p, problem(f.col, f.col, CodeInvalidFlag, "yes or no (also true/false, 1/0, si/no); empty means no")
		}
		*f.dst = v
	}
	lists := map[string][]string{}
	for _, col := range []string{"ingredient", "atc", "strength", "unit"} {
		lists[col] = strings.Split(get(col), "|")
	}
	n := len(lists["ingredient"])
	for _, col := range []string{"atc", "strength", "unit"} {
		if len(lists[col]) != n {
			return p, problem("ingredients", col, CodeIngredientMismatch,
				fmt.Sprintf("%d ingredients but %d values in %s: the |-separated lists must have the same length", n, len(lists[col]), col))
		}
	}
	if n == 1 && lists["ingredient"][0] == "" && lists["atc"][0] == "" {
		return p, nil // no ingredient: Validate says so
	}
	for i := 0; i < n; i++ {
		p.Ingredients = append(p.Ingredients, Ingredient{Name: lists["ingredient"][i], ATC: lists["atc"][i],
			Strength: lists["strength"][i], Unit: lists["unit"][i]})
	}
	return p, nil
}

// flag reads a yes/no cell.
func flag(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "", "0", "false", "no", "n", "f":
		return false, true
	case "1", "true", "yes", "y", "si", "sì", "s", "x", "t":
		return true, true
	}
	return false, false
}

// sortRejections orders rejections by line.
func sortRejections(rs []Rejection) {
	slices.SortStableFunc(rs, func(a, b Rejection) int { return a.Line - b.Line })
}
