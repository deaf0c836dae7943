package codes

import (
	"strings"

	"github.com/corsia-cce/corsia/backend"
)

// CodeAICInvalid is the error code for a malformed AIC.
const CodeAICInvalid = "aic.invalid"

// AICLen is the length of an AIC (Italian marketing authorisation code).
const AICLen = 9

// AICCheckDigit computes the AIC check digit over its first 8 digits: odd
// positions are summed as they are, even positions are doubled (minus 9 when
// the double is 10 or more), and the check is the sum mod 10. It reports
// false when first8 is not 8 digits.
func AICCheckDigit(first8 string) (byte, bool) {
	if len(first8) != AICLen-1 {
		return 0, false
	}
	sum := 0
	for i := 0; i < len(first8); i++ {
		c := first8[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int(c - '0')
		if i%2 == 1 { // 1-based even position
			d *= 2
			if d >= 10 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + sum%10), true
}

// ParseAIC validates an AIC and returns its 9 digits. It accepts the
// human-readable form printed under the bollino, "A" followed by the digits,
// and surrounding spaces. An AIC is text: leading zeros matter.
func ParseAIC(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > 0 && (s[0] == 'A' || s[0] == 'a') {
		s = strings.TrimSpace(s[1:])
	}
	if len(s) != AICLen || !allDigits(s) {
		return "", backend.Invalid(CodeAICInvalid, "aic", "an AIC is 9 digits")
	}
	if s[0] != '0' {
		return "", backend.Invalid(CodeAICInvalid, "aic", "an AIC starts with 0")
	}
	if s == "000000000" {
		return "", backend.Invalid(CodeAICInvalid, "aic", "an AIC cannot be all zeros")
	}
	if c, _ := AICCheckDigit(s[:AICLen-1]); c != s[AICLen-1] {
		return "", backend.Invalid(CodeAICInvalid, "aic", "check digit does not match: mistyped or damaged code")
	}
	return s, nil
}

// allDigits reports whether s is non-empty and only ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
