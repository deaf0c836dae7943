package notify

import (
	"strings"
	"testing"
)

// What reaches a lock screen: bed and initials and what happened; never a
// name, a drug or a diagnosis.
func TestComposeShowsNothingClinical(t *testing.T) {
	for _, kind := range []string{KindDoseDue, KindDoseLate, KindEscalation, KindPRNCheckDue, KindOverride, KindUnableToScan, KindRepeatedRefusal} {
		n := Notification{Kind: kind, Bed: "A01-1", GivenName: "Maria Grazia", FamilyName: "d'Amico"}
		Compose(&n)
		if n.Title == "" || n.Title == "Avviso" {
			t.Errorf("%s: no title of its own", kind)
		}
		if !strings.Contains(n.Body, "Letto A01-1 · M.D.") {
			t.Errorf("%s: body %q", kind, n.Body)
		}
		for _, leak := range []string{"Maria", "Amico", "mg", "TACHIPIRINA"} {
			if strings.Contains(n.Title+n.Body, leak) {
				t.Errorf("%s: shows %q: %s / %s", kind, leak, n.Title, n.Body)
			}
		}
	}
	if got := Initials("  élodie", "ñuñez"); got != "É.Ñ." {
		t.Errorf("initials %q", got)
	}
	if got := Initials("", ""); got != "" {
		t.Errorf("empty initials %q", got)
	}
}
