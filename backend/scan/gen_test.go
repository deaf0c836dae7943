package scan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/code39"
	"github.com/boombuler/barcode/datamatrix"
	"github.com/boombuler/barcode/ean"
	"github.com/boombuler/barcode/qr"
	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
)

// The generated corpus: symbols rendered with github.com/boombuler/barcode
// (an encoder independent of gozxing), laid on a page, then degraded with
// golang.org/x/image/draw and hand-written filters (not the package's own
// image code), the way tablet photos of wristbands and drug packs degrade.

// genSymbol is one test label: its symbology, what Decode must return as
// Text, and the boombuler rendering.
type genSymbol struct {
	sym  string
	want string
	gs1  bool
	bc   barcode.Barcode
	oneD bool
}

// code32 turns an 8-digit AIC into the 6 base-32 characters a Code 39
// reader returns for the Italian pharmacode.
func code32(aic8 string) string {
	sum := 0
	for i, c := range aic8 {
		d := int(c - '0')
		if i%2 == 1 {
			d *= 2
		}
		sum += d/10 + d%10
	}
	n := 0
	for _, c := range aic8 + string(rune('0'+sum%10)) {
		n = n*10 + int(c-'0')
	}
	const alpha = "0123456789BCDFGHJKLMNPQRSTUVWXYZ"
	out := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		out[i] = alpha[n%32]
		n /= 32
	}
	return string(out)
}

func genSymbols(t testing.TB) []genSymbol {
	t.Helper()
	must := func(bc barcode.Barcode, err error) barcode.Barcode {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return bc
	}
	fnc1 := string([]byte{datamatrix.FNC1})
	c32 := code32("01234567")
	ean13 := must(ean.Encode("800123456789"))
	return []genSymbol{
		// GS1 DataMatrix on a drug pack: GTIN, expiry, batch, GS, serial.
		{sym: "datamatrix", gs1: true, want: "0108001234567891172612311" + "0AB12C\x1d21SN00042",
			bc: must(datamatrix.Encode(fnc1 + "0108001234567891172612311" + "0AB12C" + fnc1 + "21SN00042"))},
		// Our wristband identifier in a QR code.
		{sym: "qr", want: "CRS1-R-000123-7", bc: must(qr.Encode("CRS1-R-000123-7", qr.M, qr.Auto))},
		// GS1-128 wristband fallback with AI 8018 (GSRN).
		{sym: "code128", oneD: true, gs1: true, want: "8018080012340000012345",
			bc: must(code128.Encode(string(code128.FNC1) + "8018080012340000012345"))},
		// Code 32 pharmacode, read as Code 39.
		{sym: "code39", oneD: true, want: c32, bc: must(code39.Encode(c32, false, false))},
		{sym: "ean13", oneD: true, want: ean13.Content(), bc: ean13},
	}
}

// render draws the symbol with module size m and a quiet zone, black on white.
func render(s genSymbol, m int) *image.Gray {
	b := s.bc.Bounds()
	if s.oneD {
		n := b.Dx()
		q := 10
		w := (n + 2*q) * m
		h := max(w*2/5, 30)
		img := image.NewGray(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		for x := 0; x < n; x++ {
			r, _, _, _ := s.bc.At(b.Min.X+x, b.Min.Y).RGBA()
			if r < 0x8000 {
				for y := m * 3; y < h-m*3; y++ {
					for k := 0; k < m; k++ {
						img.Pix[y*img.Stride+(q+x)*m+k] = 0
					}
				}
			}
		}
		return img
	}
	q := 4
	w, h := (b.Dx()+2*q)*m, (b.Dy()+2*q)*m
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			mx, my := x/m-q, y/m-q
			v := uint8(255)
			if mx >= 0 && my >= 0 && mx < b.Dx() && my < b.Dy() {
				if r, _, _, _ := s.bc.At(b.Min.X+mx, b.Min.Y+my).RGBA(); r < 0x8000 {
					v = 0
				}
			}
			img.Pix[y*img.Stride+x] = v
		}
	}
	return img
}

// page puts the label at (x,y) on a w×h light, slightly noisy page.
func page(label *image.Gray, w, h, x, y int, bg uint8, noise float64, rng *rand.Rand) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = clamp8(float64(bg) + rng.NormFloat64()*noise)
	}
	draw.Draw(img, label.Bounds().Add(image.Pt(x, y)), label, image.Point{}, draw.Src)
	return img
}

func clamp8(v float64) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(v)))) }

// rotateImg turns img by deg about its centre with x/image/draw, page colour fill.
func rotateImg(img *image.Gray, deg float64, fill uint8) *image.Gray {
	out := image.NewGray(img.Bounds())
	for i := range out.Pix {
		out.Pix[i] = fill
	}
	rad := deg * math.Pi / 180
	c, s := math.Cos(rad), math.Sin(rad)
	cx, cy := float64(img.Bounds().Dx())/2, float64(img.Bounds().Dy())/2
	// src → dst: translate(-c), rotate, translate(+c)
	m := f64.Aff3{c, -s, cx - c*cx + s*cy, s, c, cy - s*cx - c*cy}
	draw.BiLinear.Transform(out, m, img, img.Bounds(), draw.Over, nil)
	return out
}

// gaussBlur is a separable Gaussian blur with standard deviation sigma.
func gaussBlur(img *image.Gray, sigma float64) *image.Gray {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	sum := 0.0
	for i := -r; i <= r; i++ {
		k[i+r] = math.Exp(-float64(i*i) / (2 * sigma * sigma))
		sum += k[i+r]
	}
	for i := range k {
		k[i] /= sum
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	tmp := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := 0.0
			for i := -r; i <= r; i++ {
				xx := min(max(x+i, 0), w-1)
				v += k[i+r] * float64(img.Pix[y*img.Stride+xx])
			}
			tmp[y*w+x] = v
		}
	}
	out := image.NewGray(img.Bounds())
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := 0.0
			for i := -r; i <= r; i++ {
				yy := min(max(y+i, 0), h-1)
				v += k[i+r] * tmp[yy*w+x]
			}
			out.Pix[y*out.Stride+x] = clamp8(v)
		}
	}
	return out
}

// mapPix applies f to every pixel (x, y, value).
func mapPix(img *image.Gray, f func(x, y int, v float64) float64) *image.Gray {
	out := image.NewGray(img.Bounds())
	w := img.Bounds().Dx()
	for i, p := range img.Pix {
		out.Pix[i] = clamp8(f(i%w, i/w, float64(p)))
	}
	return out
}

func encPNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encJPEG(t testing.TB, img image.Image, q int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// exifSegment builds an APP1 Exif segment holding only IFD0 Orientation.
func exifSegment(orientation uint16, bigEndian bool) []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	hdr := []byte("II*\x00")
	if bigEndian {
		bo, hdr = binary.BigEndian, []byte("MM\x00*")
	}
	tiff := append([]byte(nil), hdr...)
	tiff = bo.AppendUint32(tiff, 8)
	tiff = bo.AppendUint16(tiff, 1)      // one entry
	tiff = bo.AppendUint16(tiff, 0x0112) // Orientation
	tiff = bo.AppendUint16(tiff, 3)      // SHORT
	tiff = bo.AppendUint32(tiff, 1)
	tiff = bo.AppendUint16(tiff, orientation)
	tiff = bo.AppendUint16(tiff, 0)
	tiff = bo.AppendUint32(tiff, 0) // no next IFD
	body := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(body)+2))
	return append(seg, body...)
}

// withExif inserts an Exif APP1 right after SOI.
func withExif(jpg []byte, orientation uint16) []byte {
	out := append([]byte{}, jpg[:2]...)
	out = append(out, exifSegment(orientation, orientation%2 == 0)...)
	return append(out, jpg[2:]...)
}

// storeOriented returns the pixels a camera would store for an upright
// image when it writes EXIF orientation o (6: stored turned 90° CCW, 8:
// stored turned 90° CW, 2: stored mirrored).
func storeOriented(img *image.Gray, o int) *image.Gray {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	switch o {
	case 6, 8:
		out := image.NewGray(image.Rect(0, 0, h, w))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var sx, sy int
				if o == 6 { // row 0 stored is the visual right side, column 0 the top
					sx, sy = y, w-1-x
				} else { // row 0 stored is the visual left side, column 0 the bottom
					sx, sy = h-1-y, x
				}
				out.Pix[sy*out.Stride+sx] = img.Pix[y*img.Stride+x]
			}
		}
		return out
	case 2:
		out := image.NewGray(img.Bounds())
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out.Pix[y*out.Stride+(w-1-x)] = img.Pix[y*img.Stride+x]
			}
		}
		return out
	}
	return img
}

// genCase is one generated photo.
type genCase struct {
	degradation string
	sym         genSymbol
	data        []byte
	where       image.Rectangle // label position in the upright image
}

var degradations = []string{"clean", "rot7", "rot23", "rot38", "rot90", "blur", "lowcontrast",
	"inverted", "small", "jpeg40", "exif6", "exif-mirror", "photo"}

// genCorpus renders every symbol under every degradation (65 photos).
func genCorpus(t testing.TB) []genCase {
	rng := rand.New(rand.NewPCG(4, 2))
	var out []genCase
	for _, s := range genSymbols(t) {
		m := 4
		if s.oneD {
			m = 3
		}
		label := render(s, m)
		lw, lh := label.Bounds().Dx(), label.Bounds().Dy()
		W, H := max(800, lw+200), max(600, lh+200)
		x0, y0 := (W-lw)/2, (H-lh)/2
		where := image.Rect(x0, y0, x0+lw, y0+lh)
		base := page(label, W, H, x0, y0, 225, 3, rng)
		for _, d := range degradations {
			var img *image.Gray
			var data []byte
			switch d {
			case "clean":
				img = base
			case "rot7", "rot23", "rot38":
				var deg float64
				fmt.Sscanf(d, "rot%g", &deg)
				img = rotateImg(base, deg, 225)
			case "rot90":
				img = rotateImg(base, 90, 225)
			case "blur":
				img = gaussBlur(base, float64(m)*0.55)
			case "lowcontrast":
				// a faded print in dim, uneven light: a 20% band plus a
				// gradient, noise and a little blur.
				img = mapPix(gaussBlur(base, 0.8), func(x, y int, v float64) float64 {
					return 90 + v*0.2 + 30*float64(x)/float64(W) + rng.NormFloat64()*2
				})
			case "inverted":
				img = mapPix(base, func(_, _ int, v float64) float64 { return 255 - v })
			case "small":
				// 2000×1500 grey, noisy scene with clutter; the label is
				// about a tenth of the frame, off centre.
				small := render(s, max(2, m-1))
				cw, ch := 2000, 1500
				scene := image.NewGray(image.Rect(0, 0, cw, ch))
				for i := range scene.Pix {
					scene.Pix[i] = clamp8(140 + rng.NormFloat64()*12)
				}
				for k := 0; k < 25; k++ { // furniture, shadows, text blocks
					r := image.Rect(rng.IntN(cw), rng.IntN(ch), 0, 0)
					r.Max = r.Min.Add(image.Pt(20+rng.IntN(200), 10+rng.IntN(120)))
					draw.Draw(scene, r, image.NewUniform(color.Gray{uint8(rng.IntN(200))}), image.Point{}, draw.Src)
				}
				px, py := cw*3/5, ch/4
				draw.Draw(scene, small.Bounds().Add(image.Pt(px, py)), small, image.Point{}, draw.Src)
				img = gaussBlur(scene, 0.7)
				where = small.Bounds().Add(image.Pt(px, py))
			case "photo":
				// everything at once: turned 30°, soft focus, dim uneven
				// light, JPEG at quality 60.
				img = gaussBlur(rotateImg(base, 30, 225), float64(m)*0.3)
				img = mapPix(img, func(x, y int, v float64) float64 {
					return 70 + v*0.35 + 40*float64(x+y)/float64(W+H) + rng.NormFloat64()*3
				})
				data = encJPEG(t, img, 60)
			case "jpeg40":
				data = encJPEG(t, gaussBlur(base, 0.6), 40)
			case "exif6", "exif-mirror":
				o := map[string]int{"exif6": 6, "exif-mirror": 2}[d]
				data = withExif(encJPEG(t, storeOriented(base, o), 90), uint16(o))
			}
			if data == nil {
				data = encPNG(t, img)
			}
			c := genCase{degradation: d, sym: s, data: data, where: image.Rect(x0, y0, x0+lw, y0+lh)}
			if d == "small" {
				c.where = where
			}
			out = append(out, c)
		}
	}
	return out
}

// labelBox is where the label ends up in the upright photo.
func labelBox(c genCase) image.Rectangle {
	var deg float64
	switch {
	case c.degradation == "photo":
		deg = 30
	case strings.HasPrefix(c.degradation, "rot"):
		fmt.Sscanf(c.degradation, "rot%g", &deg)
	default:
		return c.where
	}
	img, _, err := image.DecodeConfig(bytes.NewReader(c.data))
	if err != nil {
		return c.where
	}
	rad := deg * math.Pi / 180
	cs, sn := math.Cos(rad), math.Sin(rad)
	cx, cy := float64(img.Width)/2, float64(img.Height)/2
	var box image.Rectangle
	for i, p := range []image.Point{c.where.Min, {c.where.Max.X, c.where.Min.Y}, c.where.Max, {c.where.Min.X, c.where.Max.Y}} {
		x, y := float64(p.X), float64(p.Y)
		q := image.Pt(int(cs*x-sn*y+cx-cs*cx+sn*cy), int(sn*x+cs*y+cy-sn*cx-cs*cy))
		r := image.Rectangle{q, q.Add(image.Pt(1, 1))}
		if i == 0 {
			box = r
		} else {
			box = box.Union(r)
		}
	}
	return box
}

func symbolFound(syms []Symbol, s genSymbol) (Symbol, bool) {
	for _, got := range syms {
		if got.Symbology == s.sym && got.Text == s.want && got.GS1 == s.gs1 {
			return got, true
		}
	}
	return Symbol{}, false
}

// baselineFound: the baseline reads Code 128 without ASSUME_GS1, so the
// FNC1 separators are missing from its text; compare without them.
func baselineFound(syms []Symbol, s genSymbol) bool {
	want := strings.ReplaceAll(s.want, "\x1d", "")
	for _, got := range syms {
		if got.Symbology == s.sym && strings.ReplaceAll(strings.TrimPrefix(got.Text, "\x1d"), "\x1d", "") == want {
			return true
		}
	}
	return false
}
