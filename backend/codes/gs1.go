package codes

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
)

// GS1 element strings reach us in several shapes, and each source writes
// them its own way: hardware scanners prepend an AIM symbology identifier
// (]d2, ]C1, ]Q3, ]e0), gozxing starts GS1 DataMatrix text with ASCII 29 (the
// FNC1 in first position) and GS1 QR text with neither, and people type the
// bracketed form printed under the symbol. ParseGS1 takes them all, so no
// caller normalises on its own.

// Error codes of ParseGS1.
const (
	CodeGS1NotGS1      = "gs1.not_gs1"      // a symbology identifier of a non-GS1 symbol
	CodeGS1UnknownAI   = "gs1.unknown_ai"   // an application identifier we do not handle
	CodeGS1Malformed   = "gs1.malformed"    // a bad value, length, date or check digit
	CodeGS1DuplicateAI = "gs1.duplicate_ai" // the same AI twice with different values
)

// Symbologies reported in GS1.Symbology; "" when the input carried no
// symbology identifier.
const (
	SymbologyGS1DataMatrix = "gs1-datamatrix"
	SymbologyGS1128        = "gs1-128"
	SymbologyGS1QR         = "gs1-qr"
	SymbologyGS1DataBar    = "gs1-databar"
	SymbologyEAN13         = "ean13"
	SymbologyEAN8          = "ean8"
)

// MaxScanLen caps the input of every scan parser: a real element string is
// far shorter, and a cap keeps pathological input cheap.
const MaxScanLen = 512

// groupSeparator (ASCII 29) stands for FNC1: it ends a variable-length field.
const groupSeparator = '\x1d'

// gs1Symbologies maps the AIM symbology identifiers that announce GS1 data.
// ]E0 and ]E4 announce a bare EAN-13 / EAN-8, not an element string.
var gs1Symbologies = map[string]string{
	"]d2": SymbologyGS1DataMatrix,
	"]C1": SymbologyGS1128,
	"]Q3": SymbologyGS1QR,
	"]e0": SymbologyGS1DataBar,
	"]E0": SymbologyEAN13,
	"]E4": SymbologyEAN8,
}

// Element is one application identifier and its value, as encoded.
type Element struct {
	AI    string `json:"ai"`
	Value string `json:"value"`
}

// GS1 is a parsed element string. The named fields are the ones Corsia acts
// on; Elements keeps every element in order, known or not to those fields.
type GS1 struct {
	GTIN          string    // (01), 14 digits
	Expiry        time.Time // (17), midnight UTC of the last valid day
	ExpiryText    string    // (17) as YYYY-MM-DD; DD=00 resolved to the month's last day
	Batch         string    // (10)
	Serial        string    // (21)
	AIC           string    // (716), normalised to 9 digits
	GSRNRecipient string    // (8018), a patient's wristband
	GSRNProvider  string    // (8017), a staff badge
	SRIN          string    // (8019), a service relation instance (episode)
	SSCC          string    // (00)
	Count         int       // (30) or (37), whichever comes first
	Elements      []Element
	Symbology     string
}

type aiKind int

const (
	aiAlnum   aiKind = iota // GS1 character set 82
	aiNumeric               // digits
	aiDate                  // YYMMDD
)

// aiSpec describes an AI: fixed data length, or the maximum of a variable
// one; the kind of characters; whether the last digit is a GS1 check digit.
type aiSpec struct {
	fixed, max int
	kind       aiKind
	check      bool
}

func fixedN(n int, check bool) aiSpec { return aiSpec{fixed: n, kind: aiNumeric, check: check} }
func varX(n int) aiSpec               { return aiSpec{max: n, kind: aiAlnum} }
func varN(n int) aiSpec               { return aiSpec{max: n, kind: aiNumeric} }

var dateAI = aiSpec{fixed: 6, kind: aiDate}

// aiTable lists the AIs we accept: those on medicine packs, logistic labels
// and healthcare identification (GS1 General Specifications, section 3).
// Anything else is refused rather than skipped, because a variable-length AI
// we do not know could not be skipped safely.
var aiTable = map[string]aiSpec{
	"00":   fixedN(18, true), // SSCC
	"01":   fixedN(14, true), // GTIN
	"02":   fixedN(14, true), // GTIN of contained trade items
	"10":   varX(20),         // batch or lot
	"11":   dateAI,           // production date
	"12":   dateAI,           // due date
	"13":   dateAI,           // packaging date
	"15":   dateAI,           // best before
	"16":   dateAI,           // sell by
	"17":   dateAI,           // expiry
	"20":   fixedN(2, false), // variant
	"21":   varX(20),         // serial number
	"22":   varX(20),         // consumer product variant
	"30":   varN(8),          // variable count
	"37":   varN(8),          // count of trade items
	"240":  varX(30),         // additional product identification
	"241":  varX(30),         // customer part number
	"242":  varN(6),          // made-to-order variation
	"250":  varX(30),         // secondary serial number
	"251":  varX(30),         // reference to source entity
	"414":  fixedN(13, true), // GLN of a physical location
	"710":  varX(20),         // NHRN Germany (PZN)
	"711":  varX(20),         // NHRN France
	"712":  varX(20),         // NHRN Spain
	"713":  varX(20),         // NHRN Brazil
	"714":  varX(20),         // NHRN Portugal
	"715":  varX(20),         // NHRN United States
	"716":  varX(20),         // NHRN Italy: the AIC
	"8004": varX(30),         // GIAI, an individual asset
	"8017": fixedN(18, true), // GSRN provider: a staff badge
	"8018": fixedN(18, true), // GSRN recipient: a patient wristband
	"8019": varN(10),         // SRIN
	"90":   varX(30),         // mutually agreed
	"91":   varX(90),         // company internal, 91-99
	"92":   varX(90),
	"93":   varX(90),
	"94":   varX(90),
	"95":   varX(90),
	"96":   varX(90),
	"97":   varX(90),
	"98":   varX(90),
	"99":   varX(90),
}

// predefinedLength holds the first two digits of the AIs whose length is
// predefined by GS1 (General Specifications figure 7.8.5-2): only these need
// no FNC1 separator after them. 8017 and 8018 are fixed-length but not in
// the table, so an encoder must still end them with a separator; the parser
// accepts them either way.
var predefinedLength = map[string]bool{
	"00": true, "01": true, "02": true, "03": true, "04": true,
	"11": true, "12": true, "13": true, "14": true, "15": true, "16": true, "17": true, "18": true, "19": true,
	"20": true, "31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "41": true,
}

// aiLength gives the length of an AI from its first two digits, so an
// unknown AI can be named whole in the error.
func aiLength(first2 string) int {
	switch {
	case first2 == "23", first2 == "24", first2 == "25", first2 == "40", first2 == "41", first2 == "42", first2 == "71":
		return 3
	case first2 >= "31" && first2 <= "36", first2 == "39", first2 == "43", first2 == "70", first2 == "72", first2 >= "80" && first2 <= "82":
		return 4
	}
	return 2
}

// timeNow is the clock ParseGS1 and Interpret use to place two-digit years.
var timeNow = time.Now

// ParseGS1 parses an element string as scanners, decoders and people deliver
// it. See ParseGS1At; the century of two-digit years is placed relative to
// the current date.
func ParseGS1(raw string) (GS1, error) {
	return ParseGS1At(raw, timeNow())
}

// ParseGS1At parses an element string, placing two-digit years within −49 to
// +50 years of now (the GS1 rule). It accepts an optional AIM symbology
// identifier (]d2, ]C1, ]Q3, ]e0; ]E0/]E4 introduce a bare EAN-13/EAN-8),
// an optional leading ASCII 29, variable-length fields ended by ASCII 29
// unless last, and the bracketed human form "(01)…(17)…(10)…".
func ParseGS1At(raw string, now time.Time) (GS1, error) {
	var g GS1
	if len(raw) > MaxScanLen {
		return g, gs1Err(CodeGS1Malformed, fmt.Sprintf("longer than %d bytes", MaxScanLen))
	}
	s := strings.Trim(raw, " \t\r\n")
	if strings.HasPrefix(s, "]") {
		if len(s) < 3 {
			return g, gs1Err(CodeGS1NotGS1, "truncated symbology identifier")
		}
		sym, ok := gs1Symbologies[s[:3]]
		if !ok {
			return g, gs1Err(CodeGS1NotGS1, fmt.Sprintf("symbology identifier %q does not announce GS1 data", s[:3]))
		}
		g.Symbology, s = sym, s[3:]
		if sym == SymbologyEAN13 || sym == SymbologyEAN8 {
			return parseEAN(g, s)
		}
	}
	s = strings.TrimLeft(s, string(groupSeparator))
	if s == "" {
		return g, gs1Err(CodeGS1Malformed, "no element string")
	}
	var elems []Element
	var err error
	if s[0] == '(' {
		elems, err = splitBracketed(s)
	} else {
		elems, err = splitRaw(s)
	}
	if err != nil {
		return g, err
	}
	return fill(g, elems, now)
}

// parseEAN reads the bare GTIN after ]E0 or ]E4.
func parseEAN(g GS1, s string) (GS1, error) {
	want := "8, 12 or 13"
	okLen := len(s) == 8 || len(s) == 12 || len(s) == 13
	if g.Symbology == SymbologyEAN8 {
		want, okLen = "8", len(s) == 8
	}
	if !okLen || !allDigits(s) {
		return g, gs1Err(CodeGS1Malformed, "an EAN after "+g.Symbology+" symbology identifier is "+want+" digits")
	}
	gtin, err := NormalizeGTIN(s)
	if err != nil {
		return g, gs1Err(CodeGS1Malformed, "EAN: check digit does not match or not a GTIN")
	}
	g.GTIN = gtin
	g.Elements = []Element{{AI: "01", Value: gtin}}
	return g, nil
}

// readAI reads the AI at the start of s.
func readAI(s string) (string, aiSpec, error) {
	for n := 2; n <= 4 && n <= len(s); n++ {
		if !allDigits(s[:n]) {
			break
		}
		if spec, ok := aiTable[s[:n]]; ok {
			return s[:n], spec, nil
		}
	}
	if len(s) < 2 || !allDigits(s[:2]) {
		return "", aiSpec{}, gs1Err(CodeGS1Malformed, "expected a numeric application identifier")
	}
	n := min(aiLength(s[:2]), len(s))
	name := s[:n]
	if !allDigits(name) {
		name = s[:2]
	}
	return "", aiSpec{}, gs1Err(CodeGS1UnknownAI, "unknown application identifier ("+name+")")
}

// splitRaw cuts an unbracketed element string into elements: fixed-length
// fields by their length, variable ones at ASCII 29 or the end. A separator
// after a fixed-length field is tolerated (GS1 requires one after 8017 and
// 8018), as are repeated and trailing separators.
func splitRaw(s string) ([]Element, error) {
	var elems []Element
	for i := 0; i < len(s); {
		if s[i] == groupSeparator {
			i++
			continue
		}
		ai, spec, err := readAI(s[i:])
		if err != nil {
			return nil, err
		}
		i += len(ai)
		var v string
		if spec.fixed > 0 {
			if len(s)-i < spec.fixed || strings.IndexByte(s[i:i+spec.fixed], groupSeparator) >= 0 {
				return nil, gs1Err(CodeGS1Malformed, fmt.Sprintf("AI (%s): truncated, want %d characters", ai, spec.fixed))
			}
			v = s[i : i+spec.fixed]
			i += spec.fixed
		} else {
			j := strings.IndexByte(s[i:], groupSeparator)
			if j < 0 {
				j = len(s) - i
			}
			v = s[i : i+j]
			i += j
		}
		elems = append(elems, Element{AI: ai, Value: v})
	}
	return elems, nil
}

// splitBracketed cuts the human form "(01)…(10)…". Spaces are dropped (they
// are not in the GS1 character set, and people type them). A value runs to
// the next "(" that opens 2 to 4 digits and ")", so a value containing such
// a sequence cannot be written in this form; the encoded form has no such
// limit.
func splitBracketed(s string) ([]Element, error) {
	s = strings.ReplaceAll(s, " ", "")
	var elems []Element
	for i := 0; i < len(s); {
		if s[i] != '(' {
			return nil, gs1Err(CodeGS1Malformed, "bracketed form: expected ( before an application identifier")
		}
		n := bracketAILen(s[i:])
		if n == 0 {
			return nil, gs1Err(CodeGS1Malformed, "bracketed form: expected (AI) with 2 to 4 digits")
		}
		ai := s[i+1 : i+1+n]
		if _, ok := aiTable[ai]; !ok {
			return nil, gs1Err(CodeGS1UnknownAI, "unknown application identifier ("+ai+")")
		}
		i += n + 2
		j := i
		for j < len(s) && (s[j] != '(' || bracketAILen(s[j:]) == 0) {
			j++
		}
		elems = append(elems, Element{AI: ai, Value: s[i:j]})
		i = j
	}
	return elems, nil
}

// bracketAILen returns n when s starts with "(" + n digits + ")" for n in
// 2..4, else 0.
func bracketAILen(s string) int {
	for n := 2; n <= 4; n++ {
		if len(s) >= n+2 && allDigits(s[1:1+n]) && s[1+n] == ')' {
			return n
		}
	}
	return 0
}

// fill validates each element and sets the named fields.
func fill(g GS1, elems []Element, now time.Time) (GS1, error) {
	seen := make(map[string]string, len(elems))
	countSet := false
	for _, e := range elems {
		if prev, ok := seen[e.AI]; ok {
			if prev != e.Value {
				return GS1{}, gs1Err(CodeGS1DuplicateAI, "AI ("+e.AI+") appears twice with different values")
			}
			continue
		}
		seen[e.AI] = e.Value
		spec := aiTable[e.AI]
		if err := checkValue(e.AI, spec, e.Value); err != nil {
			return GS1{}, err
		}
		switch e.AI {
		case "00":
			g.SSCC = e.Value
		case "01":
			g.GTIN = e.Value
		case "10":
			g.Batch = e.Value
		case "11", "12", "13", "15", "16", "17":
			d, err := gs1Date(e.Value, now)
			if err != nil {
				return GS1{}, gs1Err(CodeGS1Malformed, "AI ("+e.AI+"): "+err.Error())
			}
			if e.AI == "17" {
				g.Expiry, g.ExpiryText = d, d.Format(time.DateOnly)
			}
		case "21":
			g.Serial = e.Value
		case "30", "37":
			if !countSet {
				g.Count, _ = strconv.Atoi(e.Value) // ≤ 8 digits: fits
				countSet = true
			}
		case "716":
			aic, ok := aicFrom716(e.Value)
			if !ok {
				return GS1{}, gs1Err(CodeGS1Malformed, "AI (716): not a valid AIC (format or check digit)")
			}
			g.AIC = aic
		case "8017":
			g.GSRNProvider = e.Value
		case "8018":
			g.GSRNRecipient = e.Value
		case "8019":
			g.SRIN = e.Value
		}
		g.Elements = append(g.Elements, e)
	}
	return g, nil
}

// checkValue validates a value against its AI's length, characters and
// check digit.
func checkValue(ai string, spec aiSpec, v string) error {
	bad := func(why string) error { return gs1Err(CodeGS1Malformed, "AI ("+ai+"): "+why) }
	switch {
	case v == "":
		return bad("empty value")
	case spec.fixed > 0 && len(v) != spec.fixed:
		return bad(fmt.Sprintf("want %d characters", spec.fixed))
	case spec.fixed == 0 && len(v) > spec.max:
		return bad(fmt.Sprintf("longer than %d characters", spec.max))
	}
	if spec.kind == aiAlnum {
		if !isCharset82(v) {
			return bad("character outside the GS1 character set")
		}
		return nil
	}
	if !allDigits(v) {
		return bad("digits only")
	}
	if spec.check && !validGS1Key(v, len(v)) {
		return bad("check digit does not match: mistyped or damaged code")
	}
	if spec.check && strings.Trim(v, "0") == "" {
		return bad("all zeros is not an identifier") // what a blank label decodes to, as in ValidGTIN
	}
	return nil
}

// gs1Date reads YYMMDD. The century puts the year within −49..+50 of now's
// year; DD=00 means the last day of the month.
func gs1Date(v string, now time.Time) (time.Time, error) {
	yy, _ := strconv.Atoi(v[0:2])
	mm, _ := strconv.Atoi(v[2:4])
	dd, _ := strconv.Atoi(v[4:6])
	if mm < 1 || mm > 12 {
		return time.Time{}, fmt.Errorf("month %02d out of range", mm)
	}
	cur := now.Year()
	year := cur - cur%100 + yy
	switch diff := yy - cur%100; {
	case diff >= 51:
		year -= 100
	case diff <= -50:
		year += 100
	}
	last := time.Date(year, time.Month(mm)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if dd > last {
		return time.Time{}, fmt.Errorf("day %02d out of range", dd)
	}
	if dd == 0 {
		dd = last
	}
	return time.Date(year, time.Month(mm), dd, 0, 0, 0, 0, time.UTC), nil
}

// aicFrom716 normalises the Italian NHRN to a 9-digit AIC: some packs drop
// the leading 0 or pad to more digits, and some print the "A" of the
// human-readable form.
func aicFrom716(v string) (string, bool) {
	if len(v) > 0 && v[0] == 'A' {
		v = v[1:]
	}
	if !allDigits(v) {
		return "", false
	}
	for len(v) > AICLen && v[0] == '0' {
		v = v[1:]
	}
	if len(v) < AICLen {
		v = strings.Repeat("0", AICLen-len(v)) + v
	}
	aic, err := ParseAIC(v)
	return aic, err == nil
}

// isCharset82 reports whether s uses only the GS1 AI encodable character
// set 82 (no space, no control characters).
func isCharset82(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte(`!"%&'()*+,-./:;<=>?_`, c) >= 0:
		default:
			return false
		}
	}
	return true
}

func gs1Err(code, why string) error { return backend.Invalid(code, "code", why) }

// FormatGS1 writes elements as an element string with ASCII 29 (FNC1) as
// separator: after every AI whose length GS1 does not predefine, unless it
// is the last. It adds neither symbology identifier nor leading FNC1.
func FormatGS1(elements []Element) string {
	var b strings.Builder
	for i, e := range elements {
		b.WriteString(e.AI)
		b.WriteString(e.Value)
		if i < len(elements)-1 && !(len(e.AI) >= 2 && predefinedLength[e.AI[:2]]) {
			b.WriteByte(groupSeparator)
		}
	}
	return b.String()
}

// HumanReadable writes elements in the bracketed form printed under a
// symbol: "(01)08012345678907(17)270131(10)LOT1".
func HumanReadable(elements []Element) string {
	var b strings.Builder
	for _, e := range elements {
		b.WriteByte('(')
		b.WriteString(e.AI)
		b.WriteByte(')')
		b.WriteString(e.Value)
	}
	return b.String()
}
