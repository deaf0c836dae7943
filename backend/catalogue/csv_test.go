package catalogue

import (
	"errors"
	"strings"
	"testing"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/codes"
)

const csvHeader = "aic,gtin,name,form,routes,units_per_pack,high_alert,lasa,do_not_crush,time_critical,ingredient,atc,strength,unit\n"

// happyCSV is a small, valid import file: two single-ingredient products,
// a two-ingredient one, a quoted name with the separator in it.
const happyCSV = csvHeader +
	"012745093,,TACHIPIRINA 500 mg compresse,compressa,oral,20,no,yes,no,no,paracetamolo,N02BE01,500,mg\n" +
	"023145028,,\"SINEMET 100 mg + 25 mg, 50 compresse\",compressa,oral,50,yes,no,no,yes,levodopa|carbidopa,N04BA02|N04BA02,100|25,mg|mg\n" +
	",8012345678907,Soluzione della casa,soluzione orale,oral|enteral_tube,1,0,0,0,0,colecalciferolo,A11CC05,10000,UI/mL\n"

func TestParseCSVHappyFile(t *testing.T) {
	t.Parallel()
	got, err := ParseCSV([]byte(happyCSV))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rejected) != 0 || len(got.Rows) != 3 {
		t.Fatalf("rows %d, rejected %+v", len(got.Rows), got.Rejected)
	}
	sinemet := got.Rows[1]
	if sinemet.Line != 3 || sinemet.Product.Name != "SINEMET 100 mg + 25 mg, 50 compresse" || !sinemet.Product.HighAlert ||
		!sinemet.Product.TimeCritical || len(sinemet.Product.Ingredients) != 2 || sinemet.Product.Ingredients[1].Strength != "25" {
		t.Fatalf("second row: %+v", sinemet)
	}
	own := got.Rows[2].Product
	if own.GTIN != "08012345678907" || own.AIC != "" || own.Ingredients[0].Unit != "UI/mL" ||
		strings.Join(own.Routes, ",") != "oral,enteral_tube" {
		t.Fatalf("third row: %+v", own)
	}
}

func TestParseCSVSemicolonsBOMAndCRLF(t *testing.T) {
	t.Parallel()
	body := "\ufeffAIC;GTIN;Name;Form;Routes;Units_per_pack;High_alert;LASA;Do_not_crush;Time_critical;Ingredient;ATC;Strength;Unit\r\n" +
		"12745093;;\"TACHIPIRINA; 500 mg\";compressa;Oral;20;sì;;;;paracetamolo;n02be01;500;MG\r\n" +
		";;;;;;;;;;;;;\r\n"
	got, err := ParseCSV([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rejected) != 0 || len(got.Rows) != 1 {
		t.Fatalf("rows %+v, rejected %+v", got.Rows, got.Rejected)
	}
	p := got.Rows[0].Product
	if p.AIC != "012745093" || p.Name != "TACHIPIRINA; 500 mg" || !p.HighAlert || p.Routes[0] != "oral" ||
		p.Ingredients[0].ATC != "N02BE01" || p.Ingredients[0].Unit != "mg" {
		t.Fatalf("product %+v", p)
	}
}

func TestParseCSVReportsBadRows(t *testing.T) {
	t.Parallel()
	body := csvHeader +
		"012745094,,Bad check digit,compressa,oral,20,no,no,no,no,paracetamolo,N02BE01,500,mg\n" + // 2
		"012745093,,Good,compressa,oral,20,no,no,no,no,paracetamolo,N02BE01,500,mg\n" + // 3
		"012745093,,Same AIC again,compressa,oral,20,no,no,no,no,paracetamolo,N02BE01,500,mg\n" + // 4
		"023145028,,Bad ATC,compressa,oral,20,no,no,no,no,levodopa,N04BA,100,mg\n" + // 5
		"023145028,,Bad strength,compressa,oral,20,no,no,no,no,levodopa,N04BA02,\"2,5\",mg\n" + // 6
		"023145028,,Bad unit,compressa,oral,20,no,no,no,no,levodopa,N04BA02,100,mg/kg\n" + // 7
		"023145028,,Bad route,compressa,by mouth,20,no,no,no,no,levodopa,N04BA02,100,mg\n" + // 8
		"023145028,,Bad flag,compressa,oral,20,maybe,no,no,no,levodopa,N04BA02,100,mg\n" + // 9
		"023145028,,Lists,compressa,oral,20,no,no,no,no,levodopa|carbidopa,N04BA02,100|25,mg|mg\n" + // 10
		"023145028,,Too few fields\n" + // 11
		",,No code,compressa,oral,20,no,no,no,no,levodopa,N04BA02,100,mg\n" + // 12
		",123,Bad GTIN,compressa,oral,20,no,no,no,no,levodopa,N04BA02,100,mg\n" + // 13
		"023145028,,x\"y,compressa,oral,20,no,no,no,no,levodopa,N04BA02,100,mg\n" + // 14
		"023145028,,Zero,compressa,oral,20,no,no,no,no,levodopa,N04BA02,0.0,mg\n" + // 15
		"023145028,,Units,compressa,oral,-2,no,no,no,no,levodopa,N04BA02,100,mg\n" // 16
	got, err := ParseCSV([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != 1 || got.Rows[0].Line != 3 {
		t.Fatalf("good rows: %+v", got.Rows)
	}
	want := []Rejection{
		{Line: 2, Column: "aic", Code: codes.CodeAICInvalid},
		{Line: 4, Column: "aic", Code: CodeDuplicateCode},
		{Line: 5, Column: "atc", Code: CodeInvalidATC},
		{Line: 6, Column: "strength", Code: CodeInvalidStrength},
		{Line: 7, Column: "unit", Code: CodeInvalidUnit},
		{Line: 8, Column: "routes", Code: CodeInvalidRoute},
		{Line: 9, Column: "high_alert", Code: CodeInvalidFlag},
		{Line: 10, Column: "atc", Code: CodeIngredientMismatch},
		{Line: 11, Column: "", Code: CodeCSVFieldCount},
		{Line: 12, Column: "aic", Code: CodeCodeRequired},
		{Line: 13, Column: "gtin", Code: codes.CodeGTINInvalid},
		{Line: 14, Column: "", Code: CodeCSVMalformed},
		{Line: 15, Column: "strength", Code: CodeInvalidStrength},
		{Line: 16, Column: "units_per_pack", Code: CodeInvalidUnits},
	}
	if len(got.Rejected) != len(want) {
		t.Fatalf("rejected %d rows, want %d: %+v", len(got.Rejected), len(want), got.Rejected)
	}
	for i, w := range want {
		g := got.Rejected[i]
		if g.Line != w.Line || g.Column != w.Column || g.Code != w.Code || g.Reason == "" {
			t.Errorf("rejection %d: %+v; want line %d column %q code %s", i, g, w.Line, w.Column, w.Code)
		}
	}
}

func TestParseCSVWholeFileErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		body string
		kind backend.Kind
		code string
	}{
		"empty":           {"", backend.KindInvalid, CodeCSVHeader},
		"blank first":     {"\n" + csvHeader, backend.KindInvalid, CodeCSVHeader},
		"missing columns": {"aic,name,form\n012745093,x,y\n", backend.KindInvalid, CodeCSVHeader},
		"twice":           {strings.TrimSuffix(csvHeader, "\n") + ",aic\n", backend.KindInvalid, CodeCSVHeader},
		"latin-1":         {csvHeader + "012745093,,Caff\xe8,compressa,oral,1,,,,,x,N02BE01,1,mg\n", backend.KindInvalid, CodeCSVEncoding},
		"too many rows":   {csvHeader + strings.Repeat("x\n", MaxImportRows+1), backend.KindTooLarge, CodeTooManyRows},
	}
	for name, c := range cases {
		_, err := ParseCSV([]byte(c.body))
		var be *backend.Error
		if !errors.As(err, &be) || be.Kind != c.kind || be.Code != c.code {
			t.Errorf("%s: %v; want kind %d code %s", name, err, c.kind, c.code)
		}
	}
	// Exactly the cap is fine.
	if _, err := ParseCSV([]byte(csvHeader + strings.Repeat("x\n", MaxImportRows))); err != nil {
		t.Errorf("%d rows: %v", MaxImportRows, err)
	}
}

func FuzzParseCatalogueCSV(f *testing.F) {
	f.Add([]byte(happyCSV))
	f.Add([]byte("\ufeff" + strings.ReplaceAll(happyCSV, ",", ";")))
	f.Add([]byte(csvHeader + "\"012745093\",\"\",\"a \"\"quoted\"\" name\",\"compressa\",\"oral\",\"1\",,,,,\"x\",\"N02BE01\",\"1\",\"mg\"\n"))
	f.Add([]byte(csvHeader + "\"unterminated,,\n012745093\n"))
	f.Add([]byte(csvHeader + "012745094,,x,y,oral,1,,,,,x,N02BE01,1,mg\n"))
	f.Add([]byte("aic;gtin\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseCSV(data)
		if err != nil {
			var be *backend.Error
			if !errors.As(err, &be) || (be.Kind != backend.KindInvalid && be.Kind != backend.KindTooLarge) || be.Code == "" {
				t.Fatalf("error %v is not a 400 or 413 with a code", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, r := range got.Rows {
			p := r.Product
			if r.Line < 2 {
				t.Fatalf("row at line %d", r.Line)
			}
			if p.AIC == "" && p.GTIN == "" {
				t.Fatalf("line %d: accepted with no code", r.Line)
			}
			if p.AIC != "" {
				if aic, err := codes.ParseAIC(p.AIC); err != nil || aic != p.AIC {
					t.Fatalf("line %d: accepted invalid AIC %q", r.Line, p.AIC)
				}
				if seen["aic"+p.AIC] {
					t.Fatalf("line %d: AIC %s accepted twice", r.Line, p.AIC)
				}
				seen["aic"+p.AIC] = true
			}
			if p.GTIN != "" {
				if len(p.GTIN) != 14 || !codes.ValidGTIN(p.GTIN) {
					t.Fatalf("line %d: accepted invalid GTIN %q", r.Line, p.GTIN)
				}
				if seen["gtin"+p.GTIN] {
					t.Fatalf("line %d: GTIN %s accepted twice", r.Line, p.GTIN)
				}
				seen["gtin"+p.GTIN] = true
			}
			again := p
			again.Routes = append([]string(nil), p.Routes...)
			again.Ingredients = append([]Ingredient(nil), p.Ingredients...)
			if prob := Validate(&again); prob != nil {
				t.Fatalf("line %d: an accepted row fails validation: %+v", r.Line, prob)
			}
		}
		for _, r := range got.Rejected {
			if r.Line < 2 || r.Code == "" || r.Reason == "" {
				t.Fatalf("rejection %+v", r)
			}
		}
		if len(got.Rows)+len(got.Rejected) > MaxImportRows {
			t.Fatalf("%d rows past the cap", len(got.Rows)+len(got.Rejected))
		}
	})
}
