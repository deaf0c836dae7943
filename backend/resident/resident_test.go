package resident

import (
	"testing"
	"time"
)

func TestValidateFlagsImportedFiscalCodes(t *testing.T) {
	t.Parallel()
	r := Resident{GivenName: "Mario", FamilyName: "Rossi", Sex: "M", BirthDate: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC),
		FiscalCode: "rssmra80a01h501v"}
	if err := r.Validate(false); err != nil || r.FiscalCodeValid || r.FiscalCode != "RSSMRA80A01H501V" {
		t.Fatalf("import: err=%v valid=%v code=%q; want kept and flagged", err, r.FiscalCodeValid, r.FiscalCode)
	}
	if err := r.Validate(true); err == nil {
		t.Fatal("typed input with a wrong check letter must be refused")
	}
	r.FiscalCode = "RSSMRA80A01H501U"
	if err := r.Validate(true); err != nil || !r.FiscalCodeValid {
		t.Fatalf("valid code: %v", err)
	}
	for _, bad := range []Resident{
		{GivenName: "", FamilyName: "R", Sex: "F", BirthDate: r.BirthDate},
		{GivenName: "A", FamilyName: "R", Sex: "Q", BirthDate: r.BirthDate},
		{GivenName: "A", FamilyName: "R", Sex: "F", BirthDate: time.Now().Add(48 * time.Hour)},
		{GivenName: "A", FamilyName: "R", Sex: "F", BirthDate: r.BirthDate, HealthCardNumber: "123"},
		{GivenName: "A", FamilyName: "R", Sex: "F", BirthDate: r.BirthDate, Contacts: []Contact{{Name: " "}}},
	} {
		if err := bad.Validate(false); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func TestAllergyValidation(t *testing.T) {
	t.Parallel()
	ok := Allergy{Substance: "Penicillina", ATCCode: "j01c", Category: "drug", Kind: "allergy", Severity: "severe"}
	if err := ok.Validate(); err != nil || ok.ATCCode != "J01C" || ok.Status != "active" {
		t.Fatalf("valid allergy: %v %+v", err, ok)
	}
	for _, atc := range []string{"J", "J01", "J01C", "J01CA", "J01CA04", "N02BA01"} {
		if !validATC(atc) {
			t.Errorf("ATC %s rejected", atc)
		}
	}
	for _, atc := range []string{"J0", "01C", "J01CA0", "J01CA045", "j01c!"} {
		if validATC(atc) {
			t.Errorf("ATC %s accepted", atc)
		}
	}
	bad := ok
	bad.Status = "entered_in_error"
	if err := bad.Validate(); err == nil {
		t.Error("a new allergy cannot start as entered_in_error")
	}
}

func TestInitials(t *testing.T) {
	t.Parallel()
	r := Resident{GivenName: "Ástor", FamilyName: "Ziliani"}
	if got := r.Initials(); got != "Á. Z." {
		t.Fatalf("Initials = %q", got)
	}
}
