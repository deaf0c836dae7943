package label

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/codes"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestGS1CheckDigit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"09501101530003", true},
		{"1234567890128", true},
		{"1234567890127", false},
		{residentGSRN, true},
		{"806141411234567896", true}, // GS1's GSRN example
	} {
		c, ok := codes.GS1CheckDigit(tc.key[:len(tc.key)-1])
		if got := ok && c == tc.key[len(tc.key)-1]; got != tc.want {
			t.Errorf("%s: valid = %v, want %v", tc.key, got, tc.want)
		}
	}
}

func TestGroupIdent(t *testing.T) {
	t.Parallel()
	if g := groupIdent("R7K3M9QX2P4Z"); g != "R7K3 M9QX 2P4Z" {
		t.Errorf("groupIdent = %q", g)
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	ok := sampleWristband(residentGSRN)
	badCheck := residentIdent[:11] + string("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[(strings.IndexByte("0123456789ABCDEFGHJKMNPQRSTVWXYZ", residentIdent[11])+1)%32])
	gsrnBadCheck := residentGSRN[:17] + string('0'+(residentGSRN[17]-'0'+1)%10)
	tests := []struct {
		name  string
		edit  func(w *Wristband)
		f     Format
		s     Stock
		field string
	}{
		{"empty ident", func(w *Wristband) { w.Ident = "" }, FormatPNG, WristbandAdult300, "ident"},
		{"badge ident on a wristband", func(w *Wristband) { w.Ident = staffIdent }, FormatPNG, WristbandAdult300, "ident"},
		{"bad check character", func(w *Wristband) { w.Ident = badCheck }, FormatZPL, WristbandAdult300, "ident"},
		{"character outside the alphabet", func(w *Wristband) { w.Ident = "R" + strings.Repeat("U", 11) }, FormatPNG, WristbandAdult300, "ident"},
		{"ident with a caret", func(w *Wristband) { w.Ident = "R^XZ" }, FormatZPL, WristbandAdult300, "ident"},
		{"GSRN 17 digits", func(w *Wristband) { w.GSRN = residentGSRN[:17] }, FormatPNG, WristbandAdult300, "gsrn"},
		{"GSRN with a letter", func(w *Wristband) { w.GSRN = "8012345000000004A3" }, FormatPNG, WristbandAdult300, "gsrn"},
		{"GSRN bad check digit", func(w *Wristband) { w.GSRN = gsrnBadCheck }, FormatPDF, WristbandAdult300, "gsrn"},
		{"no name", func(w *Wristband) { w.GivenName, w.FamilyName = " ", "" }, FormatPNG, WristbandAdult300, "family_name"},
		{"invalid UTF-8", func(w *Wristband) { w.FamilyName = "Ross\xffi" }, FormatPNG, WristbandAdult300, "family_name"},
		{"control character", func(w *Wristband) { w.GivenName = "Ma\x00ria" }, FormatZPL, WristbandAdult300, "given_name"},
		{"absurd length", func(w *Wristband) { w.Ward = strings.Repeat("x", maxField+1) }, FormatPNG, WristbandAdult300, "ward"},
		{"no birth date", func(w *Wristband) { w.BirthDate = time.Time{} }, FormatPNG, WristbandAdult300, "birth_date"},
		{"unknown format", func(w *Wristband) {}, Format("jpg"), WristbandAdult300, "format"},
		{"badge stock", func(w *Wristband) {}, FormatPNG, BadgeCR80, "stock"},
		{"zero stock", func(w *Wristband) {}, FormatPNG, Stock{Kind: StockWristband}, "stock"},
		{"area off the media", func(w *Wristband) {}, FormatZPL, func() Stock { s := WristbandAdult300; s.AreaOffsetMM = 200; return s }(), "stock"},
		{"too small for the codes", func(w *Wristband) {}, FormatPNG, func() Stock { s := WristbandAdult300; s.AreaWidthMM = 60; return s }(), "stock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := ok
			tc.edit(&w)
			out, ct, err := RenderWristband(w, tc.f, tc.s)
			if err == nil {
				t.Fatalf("rendered (%s, %d bytes), want an error", ct, len(out))
			}
			e := backend.AsError(err)
			if e.Kind != backend.KindInvalid || e.Code != CodeInvalid || e.Fields[tc.field] == "" {
				t.Errorf("error %v (fields %v), want %s on %s", err, e.Fields, CodeInvalid, tc.field)
			}
		})
	}
	t.Run("badge", func(t *testing.T) {
		t.Parallel()
		b := sampleBadge("")
		b.Ident = residentIdent
		if _, _, err := RenderBadge(b, FormatPNG, BadgeCR80); !backend.IsCode(err, CodeInvalid) {
			t.Errorf("badge with a wristband ident: %v", err)
		}
		b = sampleBadge(staffGSRN)
		s := BadgeCR80
		s.DPI = 203 // the 0.4 mm Code 128 does not fit a CR80 at 203 dpi
		if _, _, err := RenderBadge(b, FormatZPL, s); !backend.IsCode(err, CodeInvalid) {
			t.Errorf("badge at 203 dpi: %v", err)
		}
	})
	t.Run("canonical ident", func(t *testing.T) {
		t.Parallel()
		w := ok
		w.Ident = strings.ToLower(residentIdent[:4]) + "-" + residentIdent[4:]
		out, _, err := RenderWristband(w, FormatZPL, WristbandAdult300)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte("^FD"+residentIdent+"^FS")) {
			t.Errorf("typed form not canonicalised:\n%s", out)
		}
	})
}

func TestParseFormatAndStocks(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Format{"png": FormatPNG, " PDF": FormatPDF, "zpl": FormatZPL} {
		if f, err := ParseFormat(in); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, f, err)
		}
	}
	if _, err := ParseFormat("svg"); !backend.IsCode(err, CodeInvalid) {
		t.Errorf("ParseFormat(svg): %v", err)
	}
	for _, s := range Stocks() {
		got, ok := LookupStock(s.Name)
		if !ok || got != s {
			t.Errorf("LookupStock(%q) = %v, %v", s.Name, got, ok)
		}
		if err := s.check(s.Kind); err != nil {
			t.Errorf("preset %s: %v", s.Name, err)
		}
	}
	if _, ok := LookupStock("a4"); ok {
		t.Error("unknown stock found")
	}
}

// hardNames are names that must print in every format without error and
// without leaving their place on the label.
var hardNames = []struct{ given, family string }{
	{"Nicolò", "D'Angelo"},
	{"Maria Teresa", "D’Amico"}, // typographic apostrophe
	{"Ștefan", "Țurcanu"},       // Romanian, comma below: not Latin-1
	{"Łukasz", "Wąsowicz"},
	{"Zoë", "Ørsted-Ñúñez"},
	{"Ἀλέξανδρος", "Παπαδόπουλος"},
	{"A^B~C_D", "Caret\\Tilde"},       // ZPL command characters
	{"Anna", strings.Repeat("M", 40)}, // 40 wide letters
	{"Maria Giovanna", "Della Gherardesca-Capponi di Santa Maria"[:40]},
	{"", "Rossi"},
	{"Maria", ""},
	{"Maximiliana Filomena Annunziata Immacolata", "Bianchi"},
}

// TestHardNames renders every hard name in every format and stock and
// checks that nothing overflows: layout boxes inside the label and apart,
// PNG ink only inside the boxes, ZPL fields inside ^PW/^LL and the area.
func TestHardNames(t *testing.T) {
	t.Parallel()
	for _, n := range hardNames {
		t.Run(n.family+"_"+n.given, func(t *testing.T) {
			t.Parallel()
			w := sampleWristband(residentGSRN)
			w.GivenName, w.FamilyName = n.given, n.family
			w.Ward = "Nucleo Alzheimer " + n.family
			b := sampleBadge(staffGSRN)
			b.GivenName, b.FamilyName = n.given, n.family
			b.Facility = "Residenza Sanitaria Assistenziale " + n.family
			cases := []labelCase{wristbandCase("wristband", w), badgeCase("badge", b)}
			for _, lc := range cases {
				c, err := lc.c()
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range []Format{FormatPNG, FormatPDF} {
					out, _, err := lc.do(f, lc.stock)
					if err != nil {
						t.Fatalf("%s %s: %v", lc.name, f, err)
					}
					if f == FormatPNG {
						l := layoutOf(t, lc, lc.stock, RasterDPI, false)
						checkLayout(t, l)
						img, err := png.Decode(bytes.NewReader(out))
						if err != nil {
							t.Fatal(err)
						}
						checkInk(t, toGray(img), l)
						checkName(t, l, c)
					}
				}
				for _, s := range lc.zpl {
					out, _, err := lc.do(FormatZPL, s)
					if err != nil {
						t.Fatalf("%s ZPL %s: %v", lc.name, s.Name, err)
					}
					lz := layoutOf(t, lc, s, s.DPI, true)
					checkLayout(t, lz)
					z, err := interpretZPL(out)
					if err != nil {
						t.Fatalf("%s ZPL %s: %v\n%s", lc.name, s.Name, err, out)
					}
					checkZPL(t, z, s, c)
					// The printer gets the name exactly as laid out (^FH escapes undone).
					name := lz.find("name")
					if name == nil {
						name = lz.find("given")
					}
					found := false
					for _, f := range z.fields {
						found = found || (f.cmd == "A0" && f.data == name.text)
					}
					if !found {
						t.Errorf("%s ZPL %s: no text field reads %q", lc.name, s.Name, name.text)
					}
				}
			}
		})
	}
}

// checkLayout: every item inside the label, barcodes with their quiet zones,
// no item on another or in a barcode's quiet zone (quiet zones may share
// white space), but the reversed text inside its box.
func checkLayout(t *testing.T, l *layout) {
	t.Helper()
	bounds := image.Rect(0, 0, l.w, l.h)
	ink := func(it *item) image.Rectangle { return image.Rect(it.x, it.y, it.x+it.w, it.y+it.h) }
	keepOut := func(it *item) image.Rectangle {
		if it.kind == kindDataMatrix || it.kind == kindCode128 {
			return quietRect(it)
		}
		return ink(it)
	}
	for i := range l.items {
		a := &l.items[i]
		if (a.kind == kindDataMatrix || a.kind == kindCode128) && float64(a.module)*25.4/float64(l.dpi) < 0.4 {
			t.Errorf("%s module %d dots = %.3f mm at %d dpi, want ≥ 0.4 mm", a.role, a.module, float64(a.module)*25.4/float64(l.dpi), l.dpi)
		}
		if !keepOut(a).In(bounds) {
			t.Errorf("%s %q at %v outside the label %v", a.role, a.text, keepOut(a), bounds)
		}
		for j := range l.items[:i] {
			b := &l.items[j]
			if (a.reverse && b.kind == kindBox && ink(a).In(ink(b))) || (b.reverse && a.kind == kindBox && ink(b).In(ink(a))) {
				continue
			}
			if keepOut(a).Overlaps(ink(b)) || ink(a).Overlaps(keepOut(b)) {
				t.Errorf("%s %v overlaps %s %v", a.role, keepOut(a), b.role, keepOut(b))
			}
		}
	}
}

// checkInk: every dark pixel of the PNG lies in an item's box (glyphs may
// overhang their advance box by a couple of pixels).
func checkInk(t *testing.T, img *image.Gray, l *layout) {
	t.Helper()
	var boxes []image.Rectangle
	for _, it := range l.items {
		r := image.Rect(it.x, it.y, it.x+it.w, it.y+it.h)
		if it.kind == kindText {
			r = r.Inset(-3)
		}
		boxes = append(boxes, r)
	}
	stray := 0
	var first image.Point
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 0; x < img.Rect.Dx(); x++ {
			if img.Pix[y*img.Stride+x] >= 160 {
				continue
			}
			p := image.Pt(x, y)
			in := false
			for _, r := range boxes {
				if p.In(r) {
					in = true
					break
				}
			}
			if !in {
				if stray == 0 {
					first = p
				}
				stray++
			}
		}
	}
	if stray > 0 {
		t.Errorf("%d dark pixels outside every box, first at %v", stray, first)
	}
}

// checkName: the name line carries the family name upper-cased, whole or
// abbreviated with a final ".", and never an empty line.
func checkName(t *testing.T, l *layout, c content) {
	t.Helper()
	it := l.find("name")
	if c.family == "" {
		it = l.find("given")
		if it == nil {
			it = l.find("name")
		}
	}
	if it == nil || it.text == "" {
		t.Fatalf("no name on the label")
	}
	if c.family == "" {
		return
	}
	first := []rune(strings.ToUpper(c.family))[0]
	if r, _ := utf8.DecodeRuneInString(it.text); r != first && fold(&goMeasurer{}, styleBold, string(first)) != string(r) {
		t.Errorf("name line %q does not start with the family name %q", it.text, c.family)
	}
}

func TestLongNameIsShrunkOrAbbreviated(t *testing.T) {
	t.Parallel()
	w := sampleWristband(residentGSRN)
	w.FamilyName = "Della Gherardesca-Capponi di Santa Maria"[:40]
	c, err := w.content()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := newGoMeasurer(false)
	l, err := layoutFor(c, WristbandAdult300, RasterDPI, m)
	if err != nil {
		t.Fatal(err)
	}
	name := l.find("name")
	full := strings.ToUpper(w.FamilyName) + " " + w.GivenName
	if name.text == full && name.size == dots(6.2, RasterDPI) {
		t.Errorf("a 40-character family name printed at full size: %q", name.text)
	}
	if !strings.HasSuffix(name.text, " "+w.GivenName) {
		t.Errorf("the given name was cut before the family name: %q", name.text)
	}
	t.Logf("%q at %d dots (max %d)", name.text, name.size, dots(6.2, RasterDPI))
}

// TestGoldenZPL keeps the ZPL of the sample labels under review: a change
// to it is a change to what printers do. Regenerate with -update.
func TestGoldenZPL(t *testing.T) {
	t.Parallel()
	for name, render := range map[string]func() ([]byte, string, error){
		"wristband-gs1-300.zpl": func() ([]byte, string, error) {
			return RenderWristband(sampleWristband(residentGSRN), FormatZPL, WristbandAdult300)
		},
		"wristband-plain-203.zpl": func() ([]byte, string, error) {
			w := sampleWristband("")
			w.Allergy = false
			return RenderWristband(w, FormatZPL, WristbandAdult203)
		},
		"badge-gs1-cr80.zpl": func() ([]byte, string, error) {
			return RenderBadge(sampleBadge(staffGSRN), FormatZPL, BadgeCR80)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, _, err := render()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("ZPL differs from %s (run with -update if intended):\n%s", path, got)
			}
		})
	}
}

// TestZPLGS1Syntax pins the GS1 DataMatrix syntax chosen for Zebra printers.
func TestZPLGS1Syntax(t *testing.T) {
	t.Parallel()
	out, _, err := RenderWristband(sampleWristband(residentGSRN), FormatZPL, WristbandAdult300)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		"^CI28\n", "^PW300\n", "^LL3300\n",
		",200,16,16,,_^FD_18018" + residentGSRN + "^FS", // ECC 200, escape "_" declared, FNC1 first
		"^BCR,", ",N,N,N,N^FD" + residentIdent + "^FS",
		"^GB", "^FR^FH_^FDALLERGIE^FS",
		"^FDD'ANGELO Nicolò^FS",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("ZPL lacks %q:\n%s", want, s)
		}
	}
	w := sampleWristband("")
	w.Allergy = false
	out, _, err = RenderWristband(w, FormatZPL, WristbandAdult300)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out); !strings.Contains(s, ",,_^FD"+residentIdent+"^FS") || strings.Contains(s, "ALLERGIE") || strings.Contains(s, "_1") {
		t.Errorf("plain wristband ZPL:\n%s", s)
	}
}

func FuzzRenderWristband(f *testing.F) {
	f.Add(residentIdent, "Nicolò", "D'Angelo", "Girasoli", "12", true)
	f.Add("r-"+residentIdent[1:], "A^B~C_D", "\\^XZ", "~JR", "_1", false)
	f.Add(residentIdent, "Ștefan", strings.Repeat("W", 60), strings.Repeat("ward ", 40), "", true)
	f.Add("", "", "", "", "", false)
	f.Add("R", "\xff", "\x00", "\u202e", "🙂", true)
	f.Add(codes.NewIdent(codes.WristbandPrefix), strings.Repeat("Ω", 200), "x", "y", "z", false)
	f.Fuzz(func(t *testing.T, ident, given, family, ward, bed string, allergy bool) {
		// The fuzzed identifier, then a valid one so that the names reach layout.
		for _, id := range []string{ident, residentIdent} {
			w := Wristband{Ident: id, GivenName: given, FamilyName: family, Ward: ward, Bed: bed, Allergy: allergy,
				BirthDate: time.Date(1940, 1, 2, 0, 0, 0, 0, time.UTC), Facility: ward}
			if len(ident) > 0 && ident[0]%2 == 0 {
				w.GSRN = residentGSRN
			}
			for _, fm := range []Format{FormatPNG, FormatPDF, FormatZPL} {
				out, ct, err := RenderWristband(w, fm, WristbandAdult300)
				if err != nil {
					if !backend.IsCode(err, CodeInvalid) {
						t.Fatalf("%s: unexpected error %v", fm, err)
					}
					break // invalid input is refused alike in every format
				}
				if len(out) == 0 || ct == "" {
					t.Fatalf("%s: empty output", fm)
				}
				if fm == FormatZPL {
					if _, err := interpretZPL(out); err != nil {
						t.Fatalf("ZPL outside the subset: %v\n%s", err, out)
					}
				}
			}
		}
	})
}
