package codes

import (
	"strings"

	"github.com/corsia-cce/corsia/backend"
)

// CodeGTINInvalid is the error code for a malformed GTIN.
const CodeGTINInvalid = "gtin.invalid"

// GS1CheckDigit computes the GS1 check digit (GTIN, GSRN, SSCC, GLN) over
// the data digits, check excluded: weights 3, 1, 3, … from the rightmost
// data digit, check = (10 − sum mod 10) mod 10. It reports false when data
// is empty or not all digits.
func GS1CheckDigit(data string) (byte, bool) {
	if data == "" {
		return 0, false
	}
	sum := 0
	for i := len(data) - 1; i >= 0; i-- {
		c := data[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int(c - '0')
		if (len(data)-1-i)%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10), true
}

// validGS1Key reports whether s is n digits ending in a correct check digit.
func validGS1Key(s string, n int) bool {
	if len(s) != n || n < 2 {
		return false
	}
	c, ok := GS1CheckDigit(s[:n-1])
	return ok && c == s[n-1]
}

// ValidGTIN reports whether s is a GTIN-8, -12, -13 (EAN-13) or -14 with a
// correct check digit. All zeros is refused: it is what a blank or damaged
// label decodes to, never an allocated number.
func ValidGTIN(s string) bool {
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return false
	}
	return validGS1Key(s, len(s)) && strings.Trim(s, "0") != ""
}

// NormalizeGTIN validates a GTIN of any length and returns it as GTIN-14,
// zero-padded on the left, which is how AI (01) carries it and how we store it.
func NormalizeGTIN(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case ValidGTIN(s):
	case !allDigits(s) || (len(s) != 8 && len(s) != 12 && len(s) != 13 && len(s) != 14):
		return "", backend.Invalid(CodeGTINInvalid, "gtin", "a GTIN is 8, 12, 13 or 14 digits")
	case strings.Trim(s, "0") == "":
		return "", backend.Invalid(CodeGTINInvalid, "gtin", "all zeros is not a GTIN")
	default:
		return "", backend.Invalid(CodeGTINInvalid, "gtin", "check digit does not match: mistyped or damaged code")
	}
	return strings.Repeat("0", 14-len(s)) + s, nil
}
