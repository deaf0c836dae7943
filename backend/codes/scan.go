package codes

import (
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
)

// Interpret is the one place that decides what a scanned or typed string is,
// so the hardware scanner, the keyboard and the photo decoder agree.
//
// Order, first match wins:
//  1. our wristband (R…) or badge (S…) identifier, check character included;
//  2. a GS1 element string announced as such: a GS1 symbology identifier
//     (]d2, ]C1, ]Q3, ]e0; ]E0/]E4 give a bare GTIN), a leading ASCII 29, or
//     the bracketed form;
//  3. Code 32 (six symbols, or "A" + 9 digits);
//  4. a bare GTIN-8/12/13/14 with a correct check digit;
//  5. a bare AIC with a correct check digit;
//  6. an unannounced element string (GS1 QR from gozxing, scanners with AIM
//     identifiers off) carrying at least one identification key.
//
// Unannounced element strings come last because they overlap the bare codes:
// the Italian EAN-13 "8019…" reads as AI 8019, a Code 32 "10BCDF" as a batch.
// Any other AIM symbology identifier (]C0, ]A0, ]d1, ]Q1…) is stripped and
// the rest is tried as steps 1 and 3–5, never as GS1.

// Error codes of Interpret (GS1 errors pass through with their own codes).
const (
	CodeScanUnrecognised = "scan.unrecognised"
	CodeScanTooLong      = "scan.too_long"
	CodeScanAmbiguous    = "scan.ambiguous"
)

// Kinds of Interpretation.
const (
	ScanWristband = "wristband"
	ScanBadge     = "badge"
	ScanGS1       = "gs1"
	ScanCode32    = "code32"
	ScanGTIN      = "gtin"
	ScanAIC       = "aic"
)

// Interpretation is what a scan turned out to be, flattened for the API.
// GS1 holds the whole parse for Go callers that need more (which GSRN AI,
// SSCC, every element); it is not part of the JSON contract.
type Interpretation struct {
	Kind      string `json:"kind"`
	AIC       string `json:"aic,omitempty"`
	GTIN      string `json:"gtin,omitempty"`
	Expiry    string `json:"expiry,omitempty"`
	Batch     string `json:"batch,omitempty"`
	Serial    string `json:"serial,omitempty"`
	Wristband string `json:"wristband,omitempty"`
	Badge     string `json:"badge,omitempty"`
	GSRN      string `json:"gsrn,omitempty"`
	SRIN      string `json:"srin,omitempty"`
	GS1       *GS1   `json:"-"`
}

// Interpret classifies raw, placing two-digit GS1 years relative to today.
func Interpret(raw string) (Interpretation, error) {
	return InterpretAt(raw, timeNow())
}

// InterpretAt classifies raw (see the order above), placing two-digit GS1
// years within −49..+50 years of now.
func InterpretAt(raw string, now time.Time) (Interpretation, error) {
	if len(raw) > MaxScanLen {
		return Interpretation{}, backend.Invalid(CodeScanTooLong, "code", "longer than 512 bytes")
	}
	s := strings.Trim(raw, " \t\r\n")
	if s == "" {
		return Interpretation{}, backend.Invalid(CodeScanUnrecognised, "code", "empty")
	}
	if in, ok := interpretIdent(s); ok {
		return in, nil
	}
	if s[0] == ']' {
		if len(s) >= 3 {
			if _, ok := gs1Symbologies[s[:3]]; ok {
				return interpretGS1(s, now)
			}
			if in, ok := interpretBare(s[3:]); ok {
				return in, nil
			}
		}
		return Interpretation{}, backend.Invalid(CodeScanUnrecognised, "code", "not a code Corsia reads")
	}
	if s[0] == groupSeparator || s[0] == '(' {
		return interpretGS1(s, now)
	}
	if in, ok := interpretBare(s); ok {
		return in, nil
	}
	in, err := interpretGS1(s, now)
	if err == nil && in.Kind == ScanGS1 && hasKey(in.GS1) {
		return in, nil
	}
	e := backend.Invalid(CodeScanUnrecognised, "code", "not a code Corsia reads")
	e.Err = err // the GS1 reason, logged only
	return Interpretation{}, e
}

// interpretIdent tries our own identifiers.
func interpretIdent(s string) (Interpretation, bool) {
	if id, err := ParseIdent(s, WristbandPrefix); err == nil {
		return Interpretation{Kind: ScanWristband, Wristband: id}, true
	}
	if id, err := ParseIdent(s, BadgePrefix); err == nil {
		return Interpretation{Kind: ScanBadge, Badge: id}, true
	}
	return Interpretation{}, false
}

// interpretBare tries what needs no GS1 parsing: our identifiers (again,
// after a stripped symbology identifier), Code 32, GTIN, AIC.
func interpretBare(s string) (Interpretation, bool) {
	s = strings.TrimSpace(s)
	if in, ok := interpretIdent(s); ok {
		return in, true
	}
	if aic, err := Code32ToAIC(s); err == nil {
		return Interpretation{Kind: ScanCode32, AIC: aic}, true
	}
	if allDigits(s) {
		if gtin, err := NormalizeGTIN(s); err == nil {
			return Interpretation{Kind: ScanGTIN, GTIN: gtin}, true
		}
		if aic, err := ParseAIC(s); err == nil {
			return Interpretation{Kind: ScanAIC, AIC: aic}, true
		}
	}
	return Interpretation{}, false
}

// interpretGS1 parses an element string and flattens it. A bare EAN (]E0,
// ]E4) is reported as a GTIN.
func interpretGS1(s string, now time.Time) (Interpretation, error) {
	g, err := ParseGS1At(s, now)
	if err != nil {
		return Interpretation{}, err
	}
	if g.GSRNRecipient != "" && g.GSRNProvider != "" {
		return Interpretation{}, backend.Invalid(CodeScanAmbiguous, "code", "carries both a patient (8018) and a staff (8017) GSRN")
	}
	kind := ScanGS1
	if g.Symbology == SymbologyEAN13 || g.Symbology == SymbologyEAN8 {
		kind = ScanGTIN
	}
	gsrn := g.GSRNRecipient
	if gsrn == "" {
		gsrn = g.GSRNProvider
	}
	return Interpretation{
		Kind:   kind,
		AIC:    g.AIC,
		GTIN:   g.GTIN,
		Expiry: g.ExpiryText,
		Batch:  g.Batch,
		Serial: g.Serial,
		GSRN:   gsrn,
		SRIN:   g.SRIN,
		GS1:    &g,
	}, nil
}

// hasKey reports whether an element string identifies something: an
// unannounced string holding only, say, a batch is more likely noise or a
// typo than a label.
func hasKey(g *GS1) bool {
	for _, e := range g.Elements {
		switch e.AI {
		case "00", "01", "02", "414", "710", "711", "712", "713", "714", "715", "716", "8004", "8017", "8018", "8019":
			return true
		}
	}
	return false
}
