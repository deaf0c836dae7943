package codes

import (
	"math/rand/v2"
	"testing"

	"github.com/corsia-cce/corsia/backend"
)

func TestCode32Vectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ aic, code32 string }{
		{"012345676", "0CSSBD"}, // domain.md
		{"012745093", "0D4YD5"}, // domain.md
		{"033554433", "100001"}, // reads as AI (10) too: Interpret must say Code 32
	} {
		got, err := AICToCode32(tc.aic)
		if err != nil || got != tc.code32 {
			t.Errorf("AICToCode32(%q) = %q, %v; want %q", tc.aic, got, err, tc.code32)
		}
		back, err := Code32ToAIC(tc.code32)
		if err != nil || back != tc.aic {
			t.Errorf("Code32ToAIC(%q) = %q, %v; want %q", tc.code32, back, err, tc.aic)
		}
	}
}

func TestCode32ToAIC(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
	}{
		{"0CSSBD", "012345676"},
		{"0cssbd", "012345676"},  // typed in lower case
		{"A0CSSBD", "012345676"}, // the human-readable A, not encoded but sometimes sent
		{" A 0CSSBD ", "012345676"},
		{"A012345676", "012345676"}, // the printed text
		{"a012345676", "012345676"},
		{"012345676", ""},  // bare digits are an AIC, not a Code 32
		{"A012345677", ""}, // printed text, wrong check digit
		{"0CSSBA", ""},     // A is not in the alphabet
		{"0CSSBE", ""},     // nor E
		{"0CSSBI", ""},     // nor I
		{"0CSSBC", ""},     // wrong check digit
		{"0CSSBF", ""},     // wrong check digit
		{"ZZZZZZ", ""},     // 1 073 741 823 > 999 999 999
		{"2ZZZZZ", ""},     // 100663295: does not start with 0
		{"000000", ""},     // all zeros
		{"0CSSB", ""},
		{"0CSSBDD", ""},
		{"AA0CSSBD", ""},
		{"", ""},
		{"0CS\x00BD", ""},
	} {
		got, err := Code32ToAIC(tc.in)
		if tc.want == "" {
			if err == nil || !backend.IsCode(err, CodeCode32Invalid) {
				t.Errorf("Code32ToAIC(%q) = %q, %v; want %s", tc.in, got, err, CodeCode32Invalid)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Code32ToAIC(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestAICToCode32Rejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"012345677", "12345676", "", "0CSSBD"} {
		if got, err := AICToCode32(in); err == nil || !backend.IsCode(err, CodeAICInvalid) {
			t.Errorf("AICToCode32(%q) = %q, %v; want %s", in, got, err, CodeAICInvalid)
		}
	}
}

func TestCode32RoundTripRandomAICs(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for range 10_000 {
		aic := randomAIC(r)
		c, err := AICToCode32(aic)
		if err != nil {
			t.Fatalf("AICToCode32(%q): %v", aic, err)
		}
		if len(c) != 6 {
			t.Fatalf("AICToCode32(%q) = %q: not 6 symbols", aic, c)
		}
		back, err := Code32ToAIC(c)
		if err != nil || back != aic {
			t.Fatalf("Code32ToAIC(%q) = %q, %v; want %q", c, back, err, aic)
		}
		if back, err := Code32ToAIC("A" + aic); err != nil || back != aic {
			t.Fatalf("Code32ToAIC(A%s) = %q, %v", aic, back, err)
		}
	}
}
