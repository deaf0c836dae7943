package codes

import (
	"regexp"
	"strings"
)

// cfShape is the layout of a codice fiscale for persons (omocodia variants
// replace digits with the letters LMNPQRSTUV, which the pattern allows).
var cfShape = regexp.MustCompile(`^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$`)

// cfOdd maps the characters at odd positions (1st, 3rd, ...) to their value.
var cfOdd = [36]int{
	// 0-9
	1, 0, 5, 7, 9, 13, 15, 17, 19, 21,
	// A-Z
	1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
}

// NormalizeFiscalCode upper-cases and strips spaces.
func NormalizeFiscalCode(s string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
}

// FiscalCodeCheck computes the check letter of the first 15 characters.
func FiscalCodeCheck(first15 string) (byte, bool) {
	if len(first15) != 15 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 15; i++ {
		c := first15[i]
		var idx, even int
		switch {
		case c >= '0' && c <= '9':
			idx, even = int(c-'0'), int(c-'0')
		case c >= 'A' && c <= 'Z':
			idx, even = 10+int(c-'A'), int(c-'A')
		default:
			return 0, false
		}
		if i%2 == 0 { // 1-based odd position
			sum += cfOdd[idx]
		} else {
			sum += even
		}
	}
	return byte('A' + sum%26), true
}

// ValidFiscalCode reports whether s (normalised) is a well-formed codice
// fiscale with a correct check letter.
func ValidFiscalCode(s string) bool {
	if !cfShape.MatchString(s) {
		return false
	}
	c, ok := FiscalCodeCheck(s[:15])
	return ok && c == s[15]
}

// ValidHealthCard reports whether s is a 20-digit tessera sanitaria (TEAM
// card) number with a correct Luhn check digit.
func ValidHealthCard(s string) bool {
	if len(s) != 20 {
		return false
	}
	sum := 0
	for i := 0; i < 20; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if (20-i)%2 == 0 { // every second digit from the right, check excluded
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
