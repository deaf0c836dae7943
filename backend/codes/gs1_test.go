package codes

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
)

// testNow fixes the clock for two-digit years: the century window is
// 1977..2076.
var testNow = time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)

const (
	gsep      = "\x1d"
	tGTIN     = "08012345678907"
	tGSRN     = "801234567890123458"
	tGSRN2    = "801234567890999992"
	tSSCC     = "008012345000000010"
	tAIC      = "012745093"
	pharmaRaw = "01" + tGTIN + "17270131" + "10LOT1" + gsep + "21SN1"
)

// gs1Want lists the fields a case checks; Elements is checked when set.
type gs1Want struct {
	GTIN, Expiry, Batch, Serial, AIC, Recipient, Provider, SRIN, SSCC, Symbology string
	Count                                                                        int
	Elements                                                                     []Element
}

func pharma(sym string) gs1Want {
	return gs1Want{GTIN: tGTIN, Expiry: "2027-01-31", Batch: "LOT1", Serial: "SN1", Symbology: sym,
		Elements: []Element{{"01", tGTIN}, {"17", "270131"}, {"10", "LOT1"}, {"21", "SN1"}}}
}

func TestParseGS1(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     gs1Want
	}{
		{"datamatrix prefix", "]d2" + pharmaRaw, pharma(SymbologyGS1DataMatrix)},
		{"datamatrix prefix then GS", "]d2" + gsep + pharmaRaw, pharma(SymbologyGS1DataMatrix)},
		{"gozxing datamatrix leading GS", gsep + pharmaRaw, pharma("")},
		{"gs1-128", "]C1" + pharmaRaw, pharma(SymbologyGS1128)},
		{"gs1-128 then GS", "]C1" + gsep + pharmaRaw, pharma(SymbologyGS1128)},
		{"gs1 qr", "]Q3" + pharmaRaw, pharma(SymbologyGS1QR)},
		{"unannounced (gozxing QR)", pharmaRaw, pharma("")},
		{"keyboard wedge CR LF", pharmaRaw + "\r\n", pharma("")},
		{"trailing GS", pharmaRaw + gsep, pharma("")},
		{"repeated GS", "01" + tGTIN + "17270131" + "10LOT1" + gsep + gsep + "21SN1", pharma("")},
		{"GS after fixed field tolerated", "01" + tGTIN + gsep + "17270131" + gsep + "10LOT1" + gsep + "21SN1", pharma("")},
		{"bracketed", "(01)" + tGTIN + "(17)270131(10)LOT1(21)SN1", pharma("")},
		{"bracketed typed with spaces", " (01) " + tGTIN + " (17) 270131 (10) LOT1 (21) SN1", pharma("")},
		{"bracketed after prefix", "]d2(01)" + tGTIN + "(17)270131(10)LOT1(21)SN1", pharma(SymbologyGS1DataMatrix)},
		{"databar", "]e0" + "0109501101530003", gs1Want{GTIN: "09501101530003", Symbology: SymbologyGS1DataBar}},
		{"ean13", "]E0" + "4006381333931", gs1Want{GTIN: "04006381333931", Symbology: SymbologyEAN13,
			Elements: []Element{{"01", "04006381333931"}}}},
		{"ean8", "]E4" + "96385074", gs1Want{GTIN: "00000096385074", Symbology: SymbologyEAN8}},
		{"variable last, no GS", "01" + tGTIN + "10LOT1", gs1Want{GTIN: tGTIN, Batch: "LOT1"}},
		{"variable fields GS-separated", "10LOT1" + gsep + "21SN1" + gsep + "716" + tAIC,
			gs1Want{Batch: "LOT1", Serial: "SN1", AIC: tAIC}},
		{"variable field before fixed", "10L/O-T.1" + gsep + "01" + tGTIN,
			gs1Want{GTIN: tGTIN, Batch: "L/O-T.1", Elements: []Element{{"10", "L/O-T.1"}, {"01", tGTIN}}}},
		{"batch of 20", "10" + strings.Repeat("x", 20), gs1Want{Batch: strings.Repeat("x", 20)}},
		{"italian pack with AIC", "01" + tGTIN + "17270131" + "716" + tAIC + gsep + "10LOT1" + gsep + "21SN1",
			gs1Want{GTIN: tGTIN, Expiry: "2027-01-31", AIC: tAIC, Batch: "LOT1", Serial: "SN1"}},
		{"716 without leading zero", "71612745093", gs1Want{AIC: tAIC, Elements: []Element{{"716", "12745093"}}}},
		{"716 padded to 10", "7160012745093", gs1Want{AIC: tAIC}},
		{"716 with human-readable A", "716A012745093", gs1Want{AIC: tAIC}},
		{"expiry DD=00", "17270200", gs1Want{Expiry: "2027-02-28"}},
		{"expiry DD=00 leap year", "17280200", gs1Want{Expiry: "2028-02-29"}},
		{"expiry Feb 29 leap year", "17280229", gs1Want{Expiry: "2028-02-29"}},
		{"century +50", "17761231", gs1Want{Expiry: "2076-12-31"}},
		{"century -49", "17770101", gs1Want{Expiry: "1977-01-01"}},
		{"century 00", "17000101", gs1Want{Expiry: "2000-01-01"}},
		{"production date DD=00", "11250100", gs1Want{}},
		{"wristband 8018 last", "8018" + tGSRN, gs1Want{Recipient: tGSRN}},
		{"wristband 8018 GS then 8019", "8018" + tGSRN + gsep + "80191234", gs1Want{Recipient: tGSRN, SRIN: "1234"}},
		{"wristband 8018 no GS then 8019", "8018" + tGSRN + "80191234", gs1Want{Recipient: tGSRN, SRIN: "1234"}},
		{"badge 8017", "]d2" + gsep + "8017" + tGSRN2, gs1Want{Provider: tGSRN2, Symbology: SymbologyGS1DataMatrix}},
		{"sscc and count", "00" + tSSCC + "02" + tGTIN + "3712" + gsep + "10B", gs1Want{SSCC: tSSCC, Count: 12, Batch: "B"}},
		{"count 30", "3000000007", gs1Want{Count: 7}},
		{"same AI twice, same value", "10LOT1" + gsep + "10LOT1", gs1Want{Batch: "LOT1", Elements: []Element{{"10", "LOT1"}}}},
		{"internal AIs", "01" + tGTIN + "91ABC" + gsep + "240X-1", gs1Want{GTIN: tGTIN}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, err := ParseGS1At(tc.in, testNow)
			if err != nil {
				t.Fatalf("ParseGS1At(%q): %v", tc.in, err)
			}
			got := gs1Want{GTIN: g.GTIN, Expiry: g.ExpiryText, Batch: g.Batch, Serial: g.Serial, AIC: g.AIC,
				Recipient: g.GSRNRecipient, Provider: g.GSRNProvider, SRIN: g.SRIN, SSCC: g.SSCC,
				Symbology: g.Symbology, Count: g.Count, Elements: tc.want.Elements}
			if tc.want.Elements != nil && !reflect.DeepEqual(g.Elements, tc.want.Elements) {
				t.Errorf("elements = %q, want %q", g.Elements, tc.want.Elements)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseGS1At(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
			}
			if g.ExpiryText != "" && g.Expiry.Format(time.DateOnly) != g.ExpiryText {
				t.Errorf("Expiry %v disagrees with ExpiryText %q", g.Expiry, g.ExpiryText)
			}
			// The encoded and human forms parse back to the same elements.
			for _, form := range []string{FormatGS1(g.Elements), HumanReadable(g.Elements), gsep + FormatGS1(g.Elements)} {
				again, err := ParseGS1At(form, testNow)
				if err != nil || !reflect.DeepEqual(again.Elements, g.Elements) {
					t.Errorf("re-parse of %q = %q, %v; want %q", form, again.Elements, err, g.Elements)
				}
			}
		})
	}
}

func TestParseGS1Rejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, code, mention string
	}{
		{"plain datamatrix", "]d1" + pharmaRaw, CodeGS1NotGS1, "]d1"},
		{"plain qr", "]Q1" + pharmaRaw, CodeGS1NotGS1, "]Q1"},
		{"code 128", "]C0" + pharmaRaw, CodeGS1NotGS1, "]C0"},
		{"bare bracket", "]", CodeGS1NotGS1, ""},
		{"empty", "", CodeGS1Malformed, ""},
		{"only GS", gsep, CodeGS1Malformed, ""},
		{"only prefix", "]d2", CodeGS1Malformed, ""},
		{"gtin check digit", "0108012345678900", CodeGS1Malformed, "(01)"},
		{"gtin-14 check in 02", "02" + "08012345678900", CodeGS1Malformed, "(02)"},
		{"gsrn recipient check digit", "8018801234567890123459", CodeGS1Malformed, "(8018)"},
		{"gsrn provider check digit", "8017801234567890123450", CodeGS1Malformed, "(8017)"},
		{"sscc check digit", "00008012345000000011", CodeGS1Malformed, "(00)"},
		{"all-zero gtin", "0100000000000000", CodeGS1Malformed, "(01)"},
		{"all-zero gsrn", "8018000000000000000000", CodeGS1Malformed, "(8018)"},
		{"aic check digit in 716", "716012745094", CodeGS1Malformed, "(716)"},
		{"aic not starting with 0 in 716", "716112745093", CodeGS1Malformed, "(716)"},
		{"aic too long in 716", "7161012745093", CodeGS1Malformed, "(716)"},
		{"aic letters in 716", "716ABC", CodeGS1Malformed, "(716)"},
		{"unknown AI", "01" + tGTIN + "8020ABC", CodeGS1UnknownAI, "(8020)"},
		{"unknown 3-digit AI", "01" + tGTIN + "253ABC", CodeGS1UnknownAI, "(253)"},
		{"unknown AI in brackets", "(01)" + tGTIN + "(7240)X", CodeGS1UnknownAI, "(7240)"},
		{"unknown 2-digit AI", "0912345", CodeGS1UnknownAI, "(09)"},
		{"not an AI", "ABC", CodeGS1Malformed, ""},
		{"single digit", "0", CodeGS1Malformed, ""},
		{"truncated gtin", "01080123456789", CodeGS1Malformed, "(01)"},
		{"truncated expiry", "01" + tGTIN + "172701", CodeGS1Malformed, "(17)"},
		{"GS inside fixed field", "01080123456" + gsep + "78907", CodeGS1Malformed, "(01)"},
		{"AI without value at end", "01" + tGTIN + "17", CodeGS1Malformed, "(17)"},
		{"bracketed fixed too short", "(01)0801234567890", CodeGS1Malformed, "(01)"},
		{"bracketed fixed too long", "(17)2701311", CodeGS1Malformed, "(17)"},
		{"bracketed unclosed", "(01" + tGTIN, CodeGS1Malformed, ""},
		{"bracketed junk", "(01)" + tGTIN + "x(10)A", CodeGS1Malformed, "(01)"},
		{"batch 21 chars", "10" + strings.Repeat("x", 21), CodeGS1Malformed, "(10)"},
		{"serial 21 chars", "21" + strings.Repeat("9", 21), CodeGS1Malformed, "(21)"},
		{"empty batch", "10" + gsep + "21SN", CodeGS1Malformed, "(10)"},
		{"space in batch", "10LOT 1", CodeGS1Malformed, "(10)"},
		{"non-ascii batch", "10LOTé", CodeGS1Malformed, "(10)"},
		{"control char in serial", "21SN\x001", CodeGS1Malformed, "(21)"},
		{"count 9 digits", "30123456789", CodeGS1Malformed, "(30)"},
		{"count letters", "30AB", CodeGS1Malformed, "(30)"},
		{"srin 11 digits", "801912345678901", CodeGS1Malformed, "(8019)"},
		{"expiry month 13", "17271301", CodeGS1Malformed, "(17)"},
		{"expiry month 00", "17270001", CodeGS1Malformed, "(17)"},
		{"expiry Feb 30", "17270230", CodeGS1Malformed, "(17)"},
		{"expiry Feb 29 not leap", "17270229", CodeGS1Malformed, "(17)"},
		{"duplicate AI differs", "10LOT1" + gsep + "10LOT2", CodeGS1DuplicateAI, "(10)"},
		{"duplicate gtin differs", "01" + tGTIN + "0109501101530003", CodeGS1DuplicateAI, "(01)"},
		{"ean13 bad check", "]E04006381333932", CodeGS1Malformed, ""},
		{"ean13 too short", "]E0400638133393", CodeGS1Malformed, ""},
		{"ean8 given 13", "]E44006381333931", CodeGS1Malformed, ""},
		{"element string after ]E0", "]E0" + pharmaRaw, CodeGS1Malformed, ""},
		{"too long", "10" + strings.Repeat("x", MaxScanLen), CodeGS1Malformed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, err := ParseGS1At(tc.in, testNow)
			if err == nil {
				t.Fatalf("ParseGS1At(%q) = %+v, want %s", tc.in, g, tc.code)
			}
			if !backend.IsCode(err, tc.code) {
				t.Fatalf("ParseGS1At(%q): %v, want code %s", tc.in, err, tc.code)
			}
			if !backend.IsKind(err, backend.KindInvalid) {
				t.Errorf("error kind %v, want invalid", backend.AsError(err).Kind)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not name %q", err, tc.mention)
			}
		})
	}
}

func TestGS1CenturyWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		year       int
		yymmdd     string
		wantExpiry string
	}{
		{2026, "760101", "2076-01-01"}, // +50
		{2026, "770101", "1977-01-01"}, // +51 → previous century
		{2026, "260101", "2026-01-01"},
		{2080, "300101", "2130-01-01"}, // −50 → next century
		{2080, "310101", "2031-01-01"}, // −49
		{2099, "490101", "2149-01-01"},
		{2099, "500101", "2050-01-01"},
		{2000, "500101", "2050-01-01"},
		{2000, "510101", "1951-01-01"},
	} {
		g, err := ParseGS1At("17"+tc.yymmdd, time.Date(tc.year, 6, 1, 0, 0, 0, 0, time.UTC))
		if err != nil || g.ExpiryText != tc.wantExpiry {
			t.Errorf("in %d, (17)%s = %q, %v; want %s", tc.year, tc.yymmdd, g.ExpiryText, err, tc.wantExpiry)
		}
	}
}

func TestFormatGS1(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		elems      []Element
		raw, human string
	}{
		{
			[]Element{{"01", tGTIN}, {"17", "270131"}, {"10", "LOT1"}, {"21", "SN1"}},
			"01" + tGTIN + "17270131" + "10LOT1" + gsep + "21SN1",
			"(01)" + tGTIN + "(17)270131(10)LOT1(21)SN1",
		},
		{ // variable fields first: each but the last ends with GS
			[]Element{{"10", "LOT1"}, {"21", "SN1"}, {"01", tGTIN}},
			"10LOT1" + gsep + "21SN1" + gsep + "01" + tGTIN,
			"(10)LOT1(21)SN1(01)" + tGTIN,
		},
		{ // 8018 is fixed-length but not predefined: GS1 requires FNC1 after it
			[]Element{{"8018", tGSRN}, {"8019", "1"}},
			"8018" + tGSRN + gsep + "80191",
			"(8018)" + tGSRN + "(8019)1",
		},
		{[]Element{{"10", "X"}}, "10X", "(10)X"},
		{nil, "", ""},
	} {
		if got := FormatGS1(tc.elems); got != tc.raw {
			t.Errorf("FormatGS1(%q) = %q, want %q", tc.elems, got, tc.raw)
		}
		if got := HumanReadable(tc.elems); got != tc.human {
			t.Errorf("HumanReadable(%q) = %q, want %q", tc.elems, got, tc.human)
		}
	}
}

func TestParseGS1UsesClock(t *testing.T) {
	t.Parallel()
	today := time.Now()
	g, err := ParseGS1("17" + today.Format("060102"))
	if err != nil || g.ExpiryText != today.Format(time.DateOnly) {
		t.Fatalf("ParseGS1 with today's date = %q, %v", g.ExpiryText, err)
	}
}
