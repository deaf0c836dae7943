package label

import (
	"fmt"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/norm"

	"github.com/corsia-cce/corsia/backend"
)

// style is a typeface role. PNG and PDF use the Go fonts (embedded in the
// PDF, so names in any Latin script print as written); ZPL uses the
// printer's font 0, which layout measures with Go Bold, wider than font 0
// (CG Triumvirate Bold Condensed), so a fitted ZPL line fits on paper: at
// ^A0N,30,30 "Sample Text" is reported at about 112 dots on a printer, Go
// Bold measures it at 154.
type style int

const (
	styleRegular style = iota
	styleBold
	styleMono // the identifier: fixed pitch, easy to read back and type
)

var goFonts struct {
	once  sync.Once
	fonts [3]*sfnt.Font
	ttf   [3][]byte
	// font units
	unitsPerEm, ascent, descent [3]int
	err                         error
}

func loadFonts() error {
	goFonts.once.Do(func() {
		goFonts.ttf = [3][]byte{goregular.TTF, gobold.TTF, gomonobold.TTF}
		for i, b := range goFonts.ttf {
			f, err := opentype.Parse(b)
			if err != nil {
				goFonts.err = backend.Internal(err, "parse Go font %d", i)
				return
			}
			goFonts.fonts[i] = f
			var buf sfnt.Buffer
			upem := int(f.UnitsPerEm())
			mt, err := f.Metrics(&buf, fixed.I(upem), font.HintingNone)
			if err != nil || mt.Ascent.Round()+mt.Descent.Round() <= 0 {
				goFonts.err = backend.Internal(fmt.Errorf("metrics %v", err), "Go font %d", i)
				return
			}
			goFonts.unitsPerEm[i], goFonts.ascent[i], goFonts.descent[i] = upem, mt.Ascent.Round(), mt.Descent.Round()
		}
	})
	return goFonts.err
}

// measurer measures text the way a back end draws it; sizes are line
// heights in dots (see emSize), results in dots.
type measurer interface {
	width(st style, size int, s string) int
	metrics(st style, size int) (ascent, descent int)
	covers(st style, r rune) bool
}

// goMeasurer measures with the Go fonts; it also hands the faces to the PNG
// back end. Not safe for concurrent use (faces keep buffers): one per render.
type goMeasurer struct {
	faces map[[2]int]font.Face
	buf   sfnt.Buffer
	// zpl makes every style measure as Go Bold and covers only Latin-1,
	// standing in for the printer's font 0.
	zpl bool
}

func newGoMeasurer(zpl bool) (*goMeasurer, error) {
	if err := loadFonts(); err != nil {
		return nil, err
	}
	return &goMeasurer{faces: map[[2]int]font.Face{}, zpl: zpl}, nil
}

func (m *goMeasurer) face(st style, size int) font.Face {
	if m.zpl {
		st = styleBold
	}
	k := [2]int{int(st), size}
	if f, ok := m.faces[k]; ok {
		return f
	}
	f, err := opentype.NewFace(goFonts.fonts[st], &opentype.FaceOptions{Size: emSize(st, size), DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		// Only a non-positive size fails, which layout never asks for.
		f = nil
	}
	m.faces[k] = f
	return f
}

// Sizes are line heights in dots (ascent + descent), not em sizes, so that a
// size is also the height of a ZPL font-0 cell (^A0o,h): text boxes are the
// same in every back end. emSize converts a line height to the em size of
// the style's Go font.
func emSize(st style, size int) float64 {
	return float64(size) * float64(goFonts.unitsPerEm[st]) / float64(goFonts.ascent[st]+goFonts.descent[st])
}

// width is the sum of advances (no kerning, as fpdf measures), rounded up.
func (m *goMeasurer) width(st style, size int, s string) int {
	f := m.face(st, size)
	if f == nil {
		return 1 << 30
	}
	var w fixed.Int26_6
	for _, r := range s {
		a, ok := f.GlyphAdvance(r)
		if !ok {
			a, _ = f.GlyphAdvance('?')
		}
		w += a
	}
	return w.Ceil()
}

func (m *goMeasurer) metrics(st style, size int) (int, int) {
	if m.zpl {
		st = styleBold
	}
	a := (size*goFonts.ascent[st] + (goFonts.ascent[st]+goFonts.descent[st])/2) / (goFonts.ascent[st] + goFonts.descent[st])
	return a, size - a
}

func (m *goMeasurer) covers(st style, r rune) bool {
	if r < ' ' || r == 0x7f {
		return false
	}
	if m.zpl {
		// Font 0 under ^CI28 prints Latin-1 reliably; fold the rest.
		return r <= 0xff && (r < 0x80 || r >= 0xa0)
	}
	i, err := goFonts.fonts[st].GlyphIndex(&m.buf, r)
	return err == nil && i != 0
}

// foldTable maps letters that have no decomposition, and typographic
// punctuation, to what a font without them can print.
var foldTable = map[rune]string{
	'Ł': "L", 'ł': "l", 'Đ': "D", 'đ': "d", 'Ħ': "H", 'ħ': "h", 'ı': "i",
	'Œ': "OE", 'œ': "oe", 'Ŧ': "T", 'ŧ': "t", 'ẞ': "SS",
	'‘': "'", '’': "'", '‛': "'", 'ʼ': "'", '´': "'", '`': "'",
	'“': `"`, '”': `"`, '„': `"`, '–': "-", '—': "-", '‐': "-", '‑': "-",
	'\u00a0': " ", '…': "...",
}

// fold rewrites s with only characters the style covers: first a table, then
// the letter without its accents (Romanian "Ș" → "S" in ZPL), then "?".
func fold(m measurer, st style, s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsSpace(r) {
			b.WriteByte(' ')
			continue
		}
		if m.covers(st, r) {
			b.WriteRune(r)
			continue
		}
		if t, ok := foldTable[r]; ok && allCovered(m, st, t) {
			b.WriteString(t)
			continue
		}
		base := ""
		for _, d := range norm.NFD.String(string(r)) {
			if unicode.Is(unicode.Mn, d) {
				continue
			}
			if !m.covers(st, d) {
				base = ""
				break
			}
			base += string(d)
		}
		if base == "" {
			base = "?"
		}
		b.WriteString(base)
	}
	return b.String()
}

func allCovered(m measurer, st style, s string) bool {
	for _, r := range s {
		if !m.covers(st, r) {
			return false
		}
	}
	return true
}

// fitted is a line of text laid out at a size.
type fitted struct {
	text  string
	size  int
	width int
}

// fitLine shrinks s from maxSize towards minSize until it fits maxW dots,
// then abbreviates it with a final ".". It never returns a line wider than
// maxW; the text may be empty when even one letter does not fit.
func fitLine(m measurer, st style, s string, maxSize, minSize, maxW int) fitted {
	s = fold(m, st, s)
	for size := maxSize; ; {
		if w := m.width(st, size, s); w <= maxW {
			return fitted{s, size, w}
		}
		if size <= minSize {
			break
		}
		size = max(minSize, min(size-1, size*24/25))
	}
	return truncate(m, st, s, minSize, maxW)
}

func truncate(m measurer, st style, s string, size, maxW int) fitted {
	r := []rune(s)
	for n := len(r) - 1; n > 0; n-- {
		t := strings.TrimRight(string(r[:n]), " -'.,") + "."
		if t == "." {
			break
		}
		if w := m.width(st, size, t); w <= maxW {
			return fitted{t, size, w}
		}
	}
	return fitted{"", size, 0}
}
