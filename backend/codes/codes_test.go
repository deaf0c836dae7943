package codes

import (
	"strings"
	"testing"
)

func TestFiscalCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"RSSMRA80A01H501U", true},
		{"rssmra80a01h501u", false}, // not normalised
		{"RSSMRA80A01H501V", false}, // wrong check letter
		{"RSSMRA80A01H501", false},
		{"RSSMRA80Z01H501U", false}, // no month Z
		{"", false},
	} {
		if got := ValidFiscalCode(tc.in); got != tc.want {
			t.Errorf("ValidFiscalCode(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !ValidFiscalCode(NormalizeFiscalCode(" rssmra80a01h501u ")) {
		t.Error("normalised lower-case code should validate")
	}
}

func TestHealthCard(t *testing.T) {
	t.Parallel()
	// 8038000000000000001 + Luhn check digit.
	base := "8038000012345678901"
	for d := byte('0'); d <= '9'; d++ {
		n := 0
		for c := byte('0'); c <= '9'; c++ {
			if ValidHealthCard(base + string(c)) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("exactly one check digit must validate, got %d", n)
		}
	}
	if ValidHealthCard("80380000123456789012x") || ValidHealthCard("123") {
		t.Error("malformed numbers must not validate")
	}
}

func TestIdentRejectsEverySingleTypoAndAdjacentSwap(t *testing.T) {
	t.Parallel()
	for i := 0; i < 200; i++ {
		id := NewIdent(WristbandPrefix)
		if got, err := ParseIdent(id, WristbandPrefix); err != nil || got != id {
			t.Fatalf("ParseIdent(%q) = %q, %v", id, got, err)
		}
		if _, err := ParseIdent(id, BadgePrefix); err == nil {
			t.Fatalf("a wristband must not parse as a badge: %q", id)
		}
		for p := 1; p < len(id); p++ {
			for _, c := range alphabet {
				if byte(c) == id[p] {
					continue
				}
				typo := id[:p] + string(c) + id[p+1:]
				if _, err := ParseIdent(typo, WristbandPrefix); err == nil {
					t.Fatalf("typo %q of %q accepted", typo, id)
				}
			}
			if p+1 < len(id) && id[p] != id[p+1] {
				sw := id[:p] + string(id[p+1]) + string(id[p]) + id[p+2:]
				if _, err := ParseIdent(sw, WristbandPrefix); err == nil {
					t.Fatalf("swap %q of %q accepted", sw, id)
				}
			}
		}
	}
}

func TestIdentNormalises(t *testing.T) {
	t.Parallel()
	id := DeterministicIdent(BadgePrefix, "demo:nurse.a")
	if id != DeterministicIdent(BadgePrefix, "demo:nurse.a") {
		t.Fatal("deterministic ident changed")
	}
	typed := strings.ToLower(id[:4]) + "-" + id[4:8] + " " + id[8:]
	if got, err := ParseIdent(typed, BadgePrefix); err != nil || got != id {
		t.Fatalf("ParseIdent(%q) = %q, %v; want %q", typed, got, err, id)
	}
}

func FuzzParseIdent(f *testing.F) {
	f.Add(DeterministicIdent(WristbandPrefix, "seed"))
	f.Add("R0000000000-0")
	f.Add("")
	f.Add("r\x00\xff")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseIdent(s, WristbandPrefix)
		if err != nil {
			return
		}
		if again, err := ParseIdent(got, WristbandPrefix); err != nil || again != got {
			t.Fatalf("canonical form %q does not re-parse: %v", got, err)
		}
	})
}

func FuzzFiscalCode(f *testing.F) {
	f.Add("RSSMRA80A01H501U")
	f.Add("RSSMRA80A01H50")
	f.Fuzz(func(t *testing.T, s string) {
		if ValidFiscalCode(s) {
			c, ok := FiscalCodeCheck(s[:15])
			if !ok || c != s[15] || len(s) != 16 {
				t.Fatalf("accepted %q with a wrong check", s)
			}
		}
	})
}
