// Package codes parses and validates the identifiers Corsia reads from
// outside: the codice fiscale, the tessera sanitaria number, and our own
// wristband and badge identifiers. It is the one implementation shared by
// typed input, hardware scanners and the photo decoder. Parsers never panic
// and report failures as backend errors with stable codes.
package codes

import (
	"crypto/rand"
	"crypto/sha256"
	"strings"

	"github.com/corsia-cce/corsia/backend"
)

// Kinds of our own identifiers, by their first letter.
const (
	WristbandPrefix = 'R' // a resident's wristband
	BadgePrefix     = 'S' // a staff badge
)

// alphabet is Crockford's base 32: no I, L, O or U, so the code survives
// being read aloud or typed from a worn band.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// identBody is the number of random symbols after the prefix (50 bits).
const identBody = 10

// IdentLen is the length of a wristband or badge identifier: prefix, body,
// check character.
const IdentLen = 1 + identBody + 1

// checkChar computes the check character over s (symbols of alphabet) with
// the Damm scheme over GF(32): interim = 2·interim ⊕ symbol, and the check is
// the symbol that brings the interim back to zero. Because x ↦ 2x is a
// bijection and 2 ≠ 1, this catches every single-symbol error and every
// swap of two adjacent symbols, check character included (plain Luhn mod 32
// misses the swap of 0 and Z).
func checkChar(s string) byte {
	interim := 0
	for i := 0; i < len(s); i++ {
		interim = gf32Double(interim) ^ strings.IndexByte(alphabet, s[i])
	}
	return alphabet[gf32Double(interim)]
}

// gf32Double multiplies x by 2 in GF(2^5) with the primitive polynomial
// x^5 + x^2 + 1.
func gf32Double(x int) int {
	x <<= 1
	if x&0x20 != 0 {
		x ^= 0x25
	}
	return x
}

// NewIdent returns a fresh random identifier with the given prefix.
func NewIdent(prefix byte) string {
	var b [identBody]byte
	_, _ = rand.Read(b[:])
	return identFrom(prefix, b[:])
}

// DeterministicIdent derives an identifier from seed: the demo facility uses
// it so its wristbands and badges are the same on every machine.
func DeterministicIdent(prefix byte, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return identFrom(prefix, sum[:identBody])
}

func identFrom(prefix byte, random []byte) string {
	body := make([]byte, identBody)
	for i := range body {
		body[i] = alphabet[random[i]%32]
	}
	s := string(prefix) + string(body)
	return s + string(checkChar(s[1:]))
}

// NormalizeIdent canonicalises a typed or scanned identifier: upper case,
// spaces and dashes removed, and Crockford's look-alikes mapped (O→0, I/L→1).
func NormalizeIdent(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-':
			continue
		case i > 0 && c == 'O':
			c = '0'
		case i > 0 && (c == 'I' || c == 'L'):
			c = '1'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ParseIdent validates an identifier with the expected prefix and returns
// its canonical form. A mistyped code fails the check character.
func ParseIdent(raw string, prefix byte) (string, error) {
	code, field := "wristband.invalid", "wristband"
	if prefix == BadgePrefix {
		code, field = "badge.invalid", "badge"
	}
	s := NormalizeIdent(raw)
	if len(s) != IdentLen || s[0] != prefix {
		return "", backend.Invalid(code, field, "not a Corsia identifier of this kind")
	}
	for i := 1; i < len(s); i++ {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return "", backend.Invalid(code, field, "character outside the identifier alphabet")
		}
	}
	if checkChar(s[1:len(s)-1]) != s[len(s)-1] {
		return "", backend.Invalid(code, field, "check character does not match: mistyped or damaged code")
	}
	return s, nil
}
