package label

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// labelCase is one label to round-trip.
type labelCase struct {
	name  string
	stock Stock // for PNG and PDF
	zpl   []Stock
	want  expected
	c     func() (content, error)
	do    func(Format, Stock) ([]byte, string, error)
}

func wristbandCase(name string, w Wristband) labelCase {
	return labelCase{
		name: name, stock: WristbandAdult300, zpl: []Stock{WristbandAdult300, WristbandAdult203},
		want: expectFor(w.Ident, w.GSRN, "8018"),
		c:    w.content,
		do:   func(f Format, s Stock) ([]byte, string, error) { return RenderWristband(w, f, s) },
	}
}

func badgeCase(name string, b Badge) labelCase {
	return labelCase{
		name: name, stock: BadgeCR80, zpl: []Stock{BadgeCR80},
		want: expectFor(b.Ident, b.GSRN, "8017"),
		c:    b.content,
		do:   func(f Format, s Stock) ([]byte, string, error) { return RenderBadge(b, f, s) },
	}
}

func roundTripCases() []labelCase {
	plain := sampleWristband("")
	plain.Allergy = false
	plain.Ward, plain.Facility = "", ""
	return []labelCase{
		wristbandCase("wristband GS1 8018", sampleWristband(residentGSRN)),
		wristbandCase("wristband plain", plain),
		badgeCase("badge GS1 8017", sampleBadge(staffGSRN)),
		badgeCase("badge plain", sampleBadge("")),
	}
}

// layoutOf recomputes the layout a back end used (same measurer kind, same
// resolution), to know where the codes are.
func layoutOf(t *testing.T, lc labelCase, s Stock, dpi int, zpl bool) *layout {
	t.Helper()
	c, err := lc.c()
	if err != nil {
		t.Fatal(err)
	}
	m, err := newGoMeasurer(zpl)
	if err != nil {
		t.Fatal(err)
	}
	l, err := layoutFor(c, s, dpi, m)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func quietRect(it *item) image.Rectangle {
	qy := it.quiet
	if it.kind == kindCode128 {
		qy = 0
	}
	return image.Rect(it.x-it.quiet, it.y-qy, it.x+it.w+it.quiet, it.y+it.h+qy)
}

// checkReads decodes the Code 128 from the whole label and the Data Matrix
// from its area (symbol and quiet zone), and compares with want.
func checkReads(t *testing.T, img image.Image, dmArea image.Rectangle, want expected) {
	t.Helper()
	c, err := decodeCode128(img)
	if err != nil {
		t.Errorf("Code 128 not read from the whole label: %v", err)
	} else if c.text != want.c128 || c.symbology != "]C0" {
		t.Errorf("Code 128 = %q %s, want %q ]C0", c.text, c.symbology, want.c128)
	}
	if dm, err := decodeDataMatrix(img); err == nil {
		t.Logf("Data Matrix also read from the whole label: %q", dm.text)
	}
	dm, err := decodeDataMatrix(crop(img, dmArea))
	if err != nil {
		t.Errorf("Data Matrix not read: %v", err)
		return
	}
	if dm.text != want.dmText || dm.symbology != want.dmSymbology {
		t.Errorf("Data Matrix = %q %s, want %q %s", dm.text, dm.symbology, want.dmText, want.dmSymbology)
	}
}

func TestRoundTripPNG(t *testing.T) {
	t.Parallel()
	for _, lc := range roundTripCases() {
		t.Run(lc.name, func(t *testing.T) {
			t.Parallel()
			out, ct, err := lc.do(FormatPNG, lc.stock)
			if err != nil {
				t.Fatal(err)
			}
			if ct != ContentTypePNG {
				t.Errorf("content type %q", ct)
			}
			if !bytes.Contains(out[:64], []byte("pHYs")) {
				t.Error("PNG without its resolution (pHYs)")
			}
			img, err := png.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			l := layoutOf(t, lc, lc.stock, RasterDPI, false)
			if img.Bounds().Dx() != l.w || img.Bounds().Dy() != l.h ||
				l.w != dots(lc.stock.AreaWidthMM, RasterDPI) || l.h != dots(lc.stock.AreaHeightMM, RasterDPI) {
				t.Errorf("PNG %v, want the stock's area at %d dpi (%dx%d)", img.Bounds(), RasterDPI, l.w, l.h)
			}
			checkReads(t, img, quietRect(l.find("datamatrix")), lc.want)
		})
	}
}

func TestRoundTripPDF(t *testing.T) {
	t.Parallel()
	pdftoppm, lookErr := exec.LookPath("pdftoppm")
	for _, lc := range roundTripCases() {
		t.Run(lc.name, func(t *testing.T) {
			t.Parallel()
			out, ct, err := lc.do(FormatPDF, lc.stock)
			if err != nil {
				t.Fatal(err)
			}
			if ct != ContentTypePDF || !bytes.HasPrefix(out, []byte("%PDF-")) {
				t.Fatalf("not a PDF: %q %q", ct, out[:min(8, len(out))])
			}
			imgs, err := pdfImages(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(imgs) != 2 {
				t.Fatalf("%d images in the PDF, want the Data Matrix and the Code 128", len(imgs))
			}
			var dms, c128s []read
			for _, im := range imgs {
				if r, err := decodeDataMatrix(im.img); err == nil {
					dms = append(dms, r)
				} else if r, err := decodeCode128(im.img); err == nil {
					c128s = append(c128s, r)
				} else {
					t.Errorf("%dx%d image in the PDF reads as neither code", im.width, im.height)
				}
			}
			if len(dms) != 1 || dms[0].text != lc.want.dmText || dms[0].symbology != lc.want.dmSymbology {
				t.Errorf("Data Matrix images read %q, want %q %s", dms, lc.want.dmText, lc.want.dmSymbology)
			}
			if len(c128s) != 1 || c128s[0].text != lc.want.c128 {
				t.Errorf("Code 128 images read %q, want %q", c128s, lc.want.c128)
			}

			// The whole page, as a printer driver would rasterise it.
			if lookErr != nil {
				t.Log("pdftoppm not installed (poppler-utils): page rasterisation skipped")
				return
			}
			dir := t.TempDir()
			in := filepath.Join(dir, "label.pdf")
			if err := os.WriteFile(in, out, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(pdftoppm, "-r", "300", "-gray", "-png", "-singlefile", in, filepath.Join(dir, "page"))
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("pdftoppm: %v: %s", err, msg)
			}
			f, err := os.ReadFile(filepath.Join(dir, "page.png"))
			if err != nil {
				t.Fatal(err)
			}
			page, err := png.Decode(bytes.NewReader(f))
			if err != nil {
				t.Fatal(err)
			}
			l := layoutOf(t, lc, lc.stock, RasterDPI, false)
			if d := page.Bounds().Size().Sub(image.Pt(l.w, l.h)); d.X < -1 || d.X > 1 || d.Y < -1 || d.Y > 1 {
				t.Errorf("page rasterised to %v at 300 dpi, want %dx%d: the page is not the stock's size", page.Bounds(), l.w, l.h)
			}
			checkReads(t, page, quietRect(l.find("datamatrix")), lc.want)
		})
	}
}

func TestRoundTripZPL(t *testing.T) {
	t.Parallel()
	for _, lc := range roundTripCases() {
		for _, s := range lc.zpl {
			t.Run(lc.name+"/"+s.Name, func(t *testing.T) {
				t.Parallel()
				out, ct, err := lc.do(FormatZPL, s)
				if err != nil {
					t.Fatal(err)
				}
				if ct != ContentTypeZPL {
					t.Errorf("content type %q", ct)
				}
				z, err := interpretZPL(out)
				if err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				c, _ := lc.c()
				checkZPL(t, z, s, c)
				page := z.img
				if s.Rotated {
					page = rotateCCW(page)
				}
				// Where the printer put the Data Matrix, with its quiet zone.
				var dm *zplField
				for i := range z.fields {
					if z.fields[i].cmd == "BX" {
						dm = &z.fields[i]
					}
				}
				if dm == nil {
					t.Fatal("no ^BX field")
				}
				r := dm.rect.Inset(-2 * dm.module)
				if s.Rotated {
					// printer (x, y) → reading (y, pw-1-x)
					r = image.Rect(r.Min.Y, z.pw-r.Max.X, r.Max.Y, z.pw-r.Min.X)
				}
				checkReads(t, page, r, lc.want)
			})
		}
	}
}

// checkZPL checks a label as printed: the header, every field on the media
// and inside the printable area, no field over another (but the reversed
// text on its box), quiet zones free of ink, and the name as sent.
func checkZPL(t *testing.T, z *zplLabel, s Stock, c content) {
	t.Helper()
	pw, ll := dots(s.MediaWidthMM, s.DPI), dots(s.MediaLengthMM, s.DPI)
	if z.pw != pw || z.ll != ll || z.ci != 28 {
		t.Errorf("^PW%d ^LL%d ^CI%d, want ^PW%d ^LL%d ^CI28", z.pw, z.ll, z.ci, pw, ll)
	}
	for _, h := range []string{"^XA\n^CI28\n", "^PW" + strconv.Itoa(pw) + "\n", "^LL" + strconv.Itoa(ll) + "\n"} {
		if !strings.Contains(z.raw, h) {
			t.Errorf("ZPL lacks %q", h)
		}
	}
	family := fold(&goMeasurer{zpl: true}, styleBold, strings.ToUpper(c.family))
	if !strings.Contains(z.raw, zplEscape(family)) {
		// A long name is abbreviated: its start, then ".".
		abbreviated := false
		head := string([]rune(family)[:min(3, utf8.RuneCountInString(family))])
		for _, f := range z.fields {
			if f.cmd == "A0" && strings.HasPrefix(f.data, head) && strings.Contains(f.data, ".") {
				abbreviated = true
			}
		}
		if !abbreviated {
			t.Errorf("ZPL lacks the family name %q, whole or abbreviated", family)
		}
	}
	off := dots(s.AreaOffsetMM, s.DPI)
	area := image.Rect(0, off, pw, off+dots(s.AreaHeightMM, s.DPI))
	if s.Rotated {
		area = image.Rect(0, off, pw, off+dots(s.AreaWidthMM, s.DPI))
	}
	media := image.Rect(0, 0, pw, ll)
	for i, f := range z.fields {
		if !f.rect.In(media) || !f.rect.In(area) {
			t.Errorf("%s field %q at %v runs outside the media %v or the printable area %v", f.cmd, f.data, f.rect, media, area)
		}
		for j, g := range z.fields[:i] {
			if f.rect.Overlaps(g.rect) && !(f.reverse && f.rect.In(g.rect) && g.cmd == "GB") {
				t.Errorf("%s field %q %v overlaps %s field %q %v", f.cmd, f.data, f.rect, z.fields[j].cmd, g.data, g.rect)
			}
		}
	}
	for _, f := range z.fields {
		if (f.cmd == "BX" || f.cmd == "BC") && float64(f.module)*25.4/float64(s.DPI) < 0.4 {
			t.Errorf("%s module %d dots = %.3f mm at %d dpi, want ≥ 0.4 mm", f.cmd, f.module, float64(f.module)*25.4/float64(s.DPI), s.DPI)
		}
		var q image.Rectangle
		switch f.cmd {
		case "BX":
			q = f.rect.Inset(-2 * f.module)
		case "BC":
			qz := 10 * f.module
			if f.orient == 'R' {
				q = image.Rect(f.rect.Min.X, f.rect.Min.Y-qz, f.rect.Max.X, f.rect.Max.Y+qz)
			} else {
				q = image.Rect(f.rect.Min.X-qz, f.rect.Min.Y, f.rect.Max.X+qz, f.rect.Max.Y)
			}
		default:
			continue
		}
		if !q.In(media) {
			t.Errorf("%s quiet zone %v off the media", f.cmd, q)
		}
		if n := inkOutside(z.img, q, f.rect); n > 0 {
			t.Errorf("%s quiet zone %v has %d inked dots", f.cmd, q, n)
		}
	}
}

// inkOutside counts dark pixels of img inside r but outside except.
func inkOutside(img *image.Gray, r, except image.Rectangle) int {
	n := 0
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if image.Pt(x, y).In(except) {
				continue
			}
			if img.Pix[img.PixOffset(x, y)] < 128 {
				n++
			}
		}
	}
	return n
}
