package label

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend/codes"
)

// gsrnFor completes 17 data digits with their GS1 check digit.
func gsrnFor(data string) string {
	c, ok := codes.GS1CheckDigit(data)
	if !ok {
		panic("bad GSRN data " + data)
	}
	return data + string(c)
}

var (
	residentIdent = codes.DeterministicIdent(codes.WristbandPrefix, "label-test-resident")
	staffIdent    = codes.DeterministicIdent(codes.BadgePrefix, "label-test-staff")
	residentGSRN  = gsrnFor("80123450000000042")
	staffGSRN     = gsrnFor("80123450000000107")
)

func sampleWristband(gsrn string) Wristband {
	return Wristband{
		Ident: residentIdent, GSRN: gsrn,
		GivenName: "Nicolò", FamilyName: "D'Angelo",
		BirthDate: time.Date(1938, 3, 12, 0, 0, 0, 0, time.UTC),
		Ward:      "Girasoli", Bed: "12B", Allergy: true,
		Facility: "RSA Villa Serena",
	}
}

func sampleBadge(gsrn string) Badge {
	return Badge{
		Ident: staffIdent, GSRN: gsrn,
		GivenName: "Maria Grazia", FamilyName: "Esposito",
		Role: "Infermiera", Facility: "RSA Villa Serena",
	}
}

// TestWriteSamples writes sample labels to $LABEL_SAMPLE_DIR, for eyes.
func TestWriteSamples(t *testing.T) {
	t.Parallel()
	dir := os.Getenv("LABEL_SAMPLE_DIR")
	if dir == "" {
		t.Skip("set LABEL_SAMPLE_DIR to write sample labels")
	}
	w, _, err := RenderWristband(sampleWristband(residentGSRN), FormatPNG, WristbandAdult300)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := RenderBadge(sampleBadge(staffGSRN), FormatPNG, BadgeCR80)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"label-wristband.png": w, "label-badge.png": b} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The ZPL as the interpreter prints it, in reading orientation.
	for _, s := range []Stock{WristbandAdult300, WristbandAdult203} {
		data, _, err := RenderWristband(sampleWristband(residentGSRN), FormatZPL, s)
		if err != nil {
			t.Fatal(err)
		}
		z, err := interpretZPL(data)
		if err != nil {
			t.Fatal(err)
		}
		png, err := encodePNG(rotateCCW(z.img), s.DPI)
		if err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(filepath.Join(dir, "label-wristband-"+s.Name+"-zpl.png"), png, 0o644)
	}
	for _, f := range []Format{FormatPDF, FormatZPL} {
		data, _, err := RenderWristband(sampleWristband(residentGSRN), f, WristbandAdult300)
		if err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(filepath.Join(dir, "label-wristband."+string(f)), data, 0o644)
		data, _, err = RenderBadge(sampleBadge(staffGSRN), f, BadgeCR80)
		if err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(filepath.Join(dir, "label-badge."+string(f)), data, 0o644)
	}
}
