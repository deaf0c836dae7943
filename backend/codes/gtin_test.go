package codes

import (
	"testing"

	"github.com/corsia-cce/corsia/backend"
)

func TestGS1CheckDigit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want byte
		ok   bool
	}{
		{"0950110153000", '3', true}, // domain.md
		{"123456789012", '8', true},  // domain.md
		{"80123456789012345", '8', true},
		{"9638507", '4', true},
		{"0", '0', true},
		{"", 0, false},
		{"12345x", 0, false},
	} {
		got, ok := GS1CheckDigit(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("GS1CheckDigit(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestGTIN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string // want "" means invalid
	}{
		{"09501101530003", "09501101530003"}, // domain.md, GTIN-14
		{"1234567890128", "01234567890128"},  // domain.md, EAN-13
		{"4006381333931", "04006381333931"},
		{"036000291452", "00036000291452"}, // UPC-A
		{"96385074", "00000096385074"},     // EAN-8
		{" 1234567890128 ", "01234567890128"},
		{"1234567890127", ""}, // wrong check
		{"09501101530004", ""},
		{"123456789013", ""}, // 12 digits, wrong check
		{"12345678901", ""},  // 11 digits
		{"123456789012345", ""},
		{"123456789012a", ""},
		{"00000000", ""}, // all zeros, check digit fine
		{"00000000000000", ""},
		{"", ""},
	} {
		got, err := NormalizeGTIN(tc.in)
		if tc.want == "" {
			if err == nil || !backend.IsCode(err, CodeGTINInvalid) {
				t.Errorf("NormalizeGTIN(%q) = %q, %v; want %s", tc.in, got, err, CodeGTINInvalid)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeGTIN(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if !ValidGTIN(got) {
			t.Errorf("ValidGTIN(%q) = false after normalising", got)
		}
	}
}

func TestGTINRejectsSingleDigitTypos(t *testing.T) {
	t.Parallel()
	const g = "09501101530003"
	for p := range len(g) {
		for d := byte('0'); d <= '9'; d++ {
			if d != g[p] && ValidGTIN(g[:p]+string(d)+g[p+1:]) {
				t.Fatalf("typo at %d accepted", p)
			}
		}
	}
}
