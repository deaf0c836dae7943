package problem

import (
	"regexp"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/fixtures"
)

func codes(t *testing.T) *Codes {
	t.Helper()
	c, err := ParseCodes(fixtures.ICD9CM())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The shipped subset: well-formed, unique codes, each with a description,
// and the codes the geriatric demo relies on.
func TestShippedCodes(t *testing.T) {
	c := codes(t)
	shape := regexp.MustCompile(`^([0-9]{3}(\.[0-9]{1,2})?|V[0-9]{2}(\.[0-9]{1,2})?|E[0-9]{3}(\.[0-9])?)$`)
	seen := map[string]bool{}
	for _, x := range c.list {
		if !shape.MatchString(x.Code) || x.Description == "" || seen[x.Code] {
			t.Errorf("bad or duplicate code %+v", x)
		}
		seen[x.Code] = true
	}
	if len(c.list) < 150 {
		t.Errorf("%d codes, want about 150 or more", len(c.list))
	}
	for _, want := range []string{"290.0", "331.0", "332.0", "250.00", "401.9", "428.0", "427.31", "496", "585.3",
		"438.0", "733.00", "820.8", "707.00", "311", "787.2", "263.9", "E888.9", "V15.88", "293.0", "285.9", "244.9", "788.30"} {
		if _, ok := c.Lookup(want); !ok {
			t.Errorf("%s missing", want)
		}
	}
	// Not codes of the 2007 Italian edition (later US subdivisions, or a
	// category that has subcodes): see fixtures/ICD9CM.md.
	for _, absent := range []string{"787.20", "787.22", "V12.54", "E885"} {
		if _, ok := c.Lookup(absent); ok {
			t.Errorf("%s is not in the 2007 edition", absent)
		}
	}
	if got := c.Search("malattia alzheimer", 10); len(got) != 1 || got[0].Code != "331.0" {
		t.Errorf("search words: %+v", got)
	}
}

func TestValidateProblem(t *testing.T) {
	c, today := codes(t), time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	code := "v15.88"
	n := NewProblem{Code: &code}
	if err := n.Validate(c, today); err != nil || *n.Code != "V15.88" || n.Description == "" || n.Status != Active || n.Kind != Medical {
		t.Fatalf("coded: %v %+v", err, n)
	}
	for name, tc := range map[string]struct {
		n    NewProblem
		code string
	}{
		"unknown code":   {NewProblem{Code: ptr("123.45")}, "problem.unknown_code"},
		"nothing":        {NewProblem{}, "problem.description_required"},
		"future onset":   {NewProblem{Description: "x", Onset: ptr("2026-02-01")}, "problem.invalid_onset"},
		"bad onset":      {NewProblem{Description: "x", Onset: ptr("01/02/2020")}, "problem.invalid_onset"},
		"bad kind":       {NewProblem{Description: "x", Kind: "social"}, "problem.invalid_kind"},
		"created closed": {NewProblem{Description: "x", Status: EnteredInError}, "problem.invalid_status"},
	} {
		if err := tc.n.Validate(c, today); !backend.IsCode(err, tc.code) {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
	}
	if WriteAction(Medical) != access.Prescribe || WriteAction(Nursing) != access.EditResident {
		t.Error("write rule")
	}
}

func ptr(s string) *string { return &s }
