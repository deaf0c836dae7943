package codes

import (
	"strings"

	"github.com/corsia-cce/corsia/backend"
)

// Code 32 (the "bollino" pharmacode) writes the AIC, read as an integer, in
// base 32 with six symbols, most significant first, and prints it as Code 39.
// The alphabet leaves out A, E, I and O. The "A" of the printed text
// "A012345676" is human-readable only and is not in the bars.

// CodeCode32Invalid is the error code for a malformed Code 32.
const CodeCode32Invalid = "code32.invalid"

const (
	code32Alphabet = "0123456789BCDFGHJKLMNPQRSTUVWXYZ"
	code32Len      = 6
	maxAICValue    = 999_999_999
)

// Code32ToAIC decodes a Code 32 and returns the AIC it carries. It accepts
// the six symbols a Code 39 reader reports (upper or lower case) and the
// printed text "A" + 9 digits, with or without the "A" in front of the
// symbols and with surrounding spaces. Nine bare digits are an AIC, not a
// Code 32, and are refused here (use ParseAIC).
func Code32ToAIC(s string) (string, error) {
	s = strings.TrimSpace(s)
	hasA := len(s) > 0 && (s[0] == 'A' || s[0] == 'a')
	if hasA {
		s = strings.TrimSpace(s[1:])
	}
	if hasA && len(s) == AICLen && allDigits(s) {
		aic, err := ParseAIC(s)
		if err != nil {
			return "", backend.Invalid(CodeCode32Invalid, "code32", "not a valid AIC: check digit or format")
		}
		return aic, nil
	}
	if len(s) != code32Len {
		return "", backend.Invalid(CodeCode32Invalid, "code32", "a Code 32 is 6 symbols")
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		d := strings.IndexByte(code32Alphabet, c)
		if d < 0 {
			return "", backend.Invalid(CodeCode32Invalid, "code32", "symbol outside the Code 32 alphabet")
		}
		v = v*32 + d
	}
	if v > maxAICValue {
		return "", backend.Invalid(CodeCode32Invalid, "code32", "value above 999999999")
	}
	aic, err := ParseAIC(formatAIC(v))
	if err != nil {
		return "", backend.Invalid(CodeCode32Invalid, "code32", "does not carry a valid AIC: check digit or format")
	}
	return aic, nil
}

// AICToCode32 encodes a valid AIC (optionally "A"-prefixed) as the six Code
// 32 symbols.
func AICToCode32(aic string) (string, error) {
	a, err := ParseAIC(aic)
	if err != nil {
		return "", err
	}
	v := 0
	for i := 0; i < len(a); i++ {
		v = v*10 + int(a[i]-'0')
	}
	var b [code32Len]byte
	for i := code32Len - 1; i >= 0; i-- {
		b[i] = code32Alphabet[v%32]
		v /= 32
	}
	return string(b[:]), nil
}

// formatAIC writes v as 9 digits with leading zeros.
func formatAIC(v int) string {
	var b [AICLen]byte
	for i := AICLen - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[:])
}
