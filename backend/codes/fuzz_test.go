package codes

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/corsia-cce/corsia/backend"
)

// mustBeInvalid fails unless err is a *backend.Error of kind invalid: the
// parsers never report anything else.
func mustBeInvalid(t *testing.T, in string, err error) {
	t.Helper()
	var e *backend.Error
	if !errors.As(err, &e) || e.Kind != backend.KindInvalid || e.Code == "" {
		t.Fatalf("%q: error %v is not an invalid-input backend error", in, err)
	}
}

func FuzzParseAIC(f *testing.F) {
	for _, s := range []string{"012745093", "012345676", "A012745093", " a012345676 ", "012745094", "000000000", "", "A", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		aic, err := ParseAIC(s)
		if err != nil {
			mustBeInvalid(t, s, err)
			return
		}
		if again, err := ParseAIC(aic); err != nil || again != aic {
			t.Fatalf("%q: canonical %q does not re-parse: %v", s, aic, err)
		}
		c, err := AICToCode32(aic)
		if err != nil {
			t.Fatalf("%q: AICToCode32(%q): %v", s, aic, err)
		}
		if back, err := Code32ToAIC(c); err != nil || back != aic {
			t.Fatalf("%q: Code 32 %q of %q decodes to %q, %v", s, c, aic, back, err)
		}
	})
}

func FuzzCode32(f *testing.F) {
	for _, s := range []string{"0CSSBD", "0D4YD5", "100001", "A0CSSBD", "A012345676", "0cssbd", "ZZZZZZ", "000000", "0CSSBA", "", "AAAAAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		aic, err := Code32ToAIC(s)
		if err != nil {
			mustBeInvalid(t, s, err)
			return
		}
		if _, err := ParseAIC(aic); err != nil {
			t.Fatalf("%q decodes to an invalid AIC %q", s, aic)
		}
		c, err := AICToCode32(aic)
		if err != nil {
			t.Fatalf("AICToCode32(%q): %v", aic, err)
		}
		if back, err := Code32ToAIC(c); err != nil || back != aic {
			t.Fatalf("%q → %q → %q → %q, %v", s, aic, c, back, err)
		}
		// A six-symbol input is the canonical encoding, up to case.
		if n := strings.ToUpper(strings.TrimLeft(strings.TrimSpace(s), "Aa ")); len(n) == code32Len && n != c {
			t.Fatalf("%q decodes to %q whose encoding is %q", s, aic, c)
		}
	})
}

func FuzzParseGS1(f *testing.F) {
	for _, s := range []string{
		"]d2" + pharmaRaw,
		gsep + pharmaRaw,
		"]C1" + gsep + pharmaRaw,
		"]Q3" + pharmaRaw,
		"]e00109501101530003",
		"]E04006381333931",
		"]E496385074",
		"(01)" + tGTIN + "(17)270100(10)LOT1(21)SN1",
		"01" + tGTIN + "17270131" + "716" + tAIC + gsep + "10LOT1",
		"8018" + tGSRN + "80191234",
		"8017" + tGSRN2,
		"00" + tSSCC + "3712",
		"]d1" + pharmaRaw,
		"10" + strings.Repeat("x", 21),
		"(10)A(B(21)1",
		"0108012345678900",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGS1At(s, testNow)
		if err != nil {
			mustBeInvalid(t, s, err)
			return
		}
		checkGS1Invariants(t, s, g)
		raw := FormatGS1(g.Elements)
		if len(raw) > MaxScanLen {
			return // 8017/8018 gained the separator GS1 requires
		}
		for _, form := range []string{raw, gsep + raw, "]d2" + raw} {
			again, err := ParseGS1At(form, testNow)
			if err != nil {
				t.Fatalf("%q: re-parse of %q: %v", s, form, err)
			}
			again.Symbology = g.Symbology
			if !reflect.DeepEqual(again, g) {
				t.Fatalf("%q: re-parse of %q\n got %+v\nwant %+v", s, form, again, g)
			}
		}
		for _, e := range g.Elements {
			if strings.Contains(e.Value, "(") {
				return // the bracketed form cannot carry "(NN)" inside a value
			}
		}
		human := HumanReadable(g.Elements)
		if len(human) > MaxScanLen {
			return
		}
		again, err := ParseGS1At(human, testNow)
		if err != nil || !reflect.DeepEqual(again.Elements, g.Elements) {
			t.Fatalf("%q: re-parse of %q = %q, %v", s, human, again.Elements, err)
		}
	})
}

// checkGS1Invariants checks what a successful parse promises.
func checkGS1Invariants(t *testing.T, in string, g GS1) {
	t.Helper()
	if len(g.Elements) == 0 {
		t.Fatalf("%q: parsed with no elements", in)
	}
	seen := map[string]bool{}
	for _, e := range g.Elements {
		if seen[e.AI] {
			t.Fatalf("%q: AI %s twice in Elements", in, e.AI)
		}
		seen[e.AI] = true
		if strings.IndexByte(e.Value, '\x1d') >= 0 || e.Value == "" {
			t.Fatalf("%q: bad value %q for %s", in, e.Value, e.AI)
		}
	}
	if g.GTIN != "" && (len(g.GTIN) != 14 || !ValidGTIN(g.GTIN)) {
		t.Fatalf("%q: GTIN %q", in, g.GTIN)
	}
	if g.AIC != "" {
		if aic, err := ParseAIC(g.AIC); err != nil || aic != g.AIC {
			t.Fatalf("%q: AIC %q", in, g.AIC)
		}
	}
	for _, k := range []string{g.GSRNRecipient, g.GSRNProvider, g.SSCC} {
		if k != "" && !validGS1Key(k, 18) {
			t.Fatalf("%q: 18-digit key %q", in, k)
		}
	}
	if (g.ExpiryText == "") != g.Expiry.IsZero() || (g.ExpiryText != "" && g.Expiry.Format("2006-01-02") != g.ExpiryText) {
		t.Fatalf("%q: expiry %v / %q", in, g.Expiry, g.ExpiryText)
	}
	if len(g.Batch) > 20 || len(g.Serial) > 20 || len(g.SRIN) > 10 || g.Count < 0 || g.Count > 99_999_999 {
		t.Fatalf("%q: field over its length: %+v", in, g)
	}
}

func FuzzInterpret(f *testing.F) {
	for _, s := range []string{
		DeterministicIdent(WristbandPrefix, "seed"),
		DeterministicIdent(BadgePrefix, "seed"),
		"]C0" + DeterministicIdent(WristbandPrefix, "seed"),
		"]d2" + pharmaRaw,
		gsep + pharmaRaw,
		pharmaRaw,
		"(01)" + tGTIN + "(17)270100",
		"]d28018" + tGSRN + "8017" + tGSRN2,
		"0CSSBD", "]A00D4YD5", "A012345676", "100001",
		"4006381333931", "8019000000011", "]E04006381333931", "96385074",
		"012745093", "10LOT1", "]d1" + pharmaRaw, "]", "", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in, err := InterpretAt(s, testNow)
		if err != nil {
			mustBeInvalid(t, s, err)
			return
		}
		switch in.Kind {
		case ScanWristband:
			if got, err := ParseIdent(in.Wristband, WristbandPrefix); err != nil || got != in.Wristband {
				t.Fatalf("%q: wristband %q does not re-parse", s, in.Wristband)
			}
		case ScanBadge:
			if got, err := ParseIdent(in.Badge, BadgePrefix); err != nil || got != in.Badge {
				t.Fatalf("%q: badge %q does not re-parse", s, in.Badge)
			}
		case ScanCode32, ScanAIC:
			if _, err := AICToCode32(in.AIC); err != nil {
				t.Fatalf("%q: AIC %q invalid", s, in.AIC)
			}
		case ScanGTIN:
			if len(in.GTIN) != 14 || !ValidGTIN(in.GTIN) {
				t.Fatalf("%q: GTIN %q", s, in.GTIN)
			}
		case ScanGS1:
			if in.GS1 == nil {
				t.Fatalf("%q: GS1 without its parse", s)
			}
			checkGS1Invariants(t, s, *in.GS1)
		default:
			t.Fatalf("%q: kind %q", s, in.Kind)
		}
		// What a kind names is stable: interpreting the canonical value again
		// gives the same answer.
		var canon string
		switch in.Kind {
		case ScanWristband:
			canon = in.Wristband
		case ScanBadge:
			canon = in.Badge
		case ScanAIC:
			canon = in.AIC
		}
		if canon != "" {
			again, err := InterpretAt(canon, testNow)
			if err != nil || again.Kind != in.Kind {
				t.Fatalf("%q: canonical %q interprets as %+v, %v", s, canon, again, err)
			}
		}
	})
}
