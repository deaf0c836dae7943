package codes

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/corsia-cce/corsia/backend"
)

// randomAIC returns a valid AIC built from r.
func randomAIC(r *rand.Rand) string {
	first8 := fmt.Sprintf("0%07d", r.IntN(10_000_000))
	if first8 == "00000000" {
		first8 = "00000001"
	}
	c, _ := AICCheckDigit(first8)
	return first8 + string(c)
}

func TestAICCheckDigit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want byte
		ok   bool
	}{
		{"01274509", '3', true}, // domain.md
		{"01234567", '6', true},
		{"00000000", '0', true},
		{"0127450", 0, false},
		{"012745093", 0, false},
		{"0127450x", 0, false},
		{"", 0, false},
	} {
		got, ok := AICCheckDigit(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("AICCheckDigit(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseAIC(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
	}{
		{"012745093", "012745093"},
		{"012345676", "012345676"},
		{"A012745093", "012745093"},
		{"a012745093", "012745093"},
		{" A 012745093 ", "012745093"},
		{"012745094", ""},  // wrong check digit
		{"112745093", ""},  // does not start with 0
		{"01274509", ""},   // 8 digits
		{"0127450930", ""}, // 10 digits
		{"01274509X", ""},
		{"AA012745093", ""},
		{"000000000", ""}, // all zeros
		{"", ""},
		{"A", ""},
		{"０12745093", ""}, // full-width digit
	} {
		got, err := ParseAIC(tc.in)
		if tc.want == "" {
			if err == nil || !backend.IsCode(err, CodeAICInvalid) {
				t.Errorf("ParseAIC(%q) = %q, %v; want %s", tc.in, got, err, CodeAICInvalid)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseAIC(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestAICRejectsEverySingleDigitTypo(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		aic := randomAIC(r)
		for p := 0; p < len(aic); p++ {
			for d := byte('0'); d <= '9'; d++ {
				if d == aic[p] {
					continue
				}
				typo := aic[:p] + string(d) + aic[p+1:]
				if _, err := ParseAIC(typo); err == nil {
					t.Fatalf("typo %q of %q accepted", typo, aic)
				}
			}
		}
	}
}
