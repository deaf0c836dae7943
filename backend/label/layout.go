package label

import (
	"strings"

	"github.com/corsia-cce/corsia/backend"
)

type itemKind int

const (
	kindBox itemKind = iota // a filled black rectangle
	kindText
	kindDataMatrix
	kindCode128
)

// item is one thing on a label, in dots, in reading orientation, with the
// origin at the printable area's top-left corner. For a barcode (x, y, w, h)
// is the symbol itself; its quiet zone (quiet dots on every side for the
// Data Matrix, on the left and right for Code 128) is kept free by layout.
// For text, (w, h) is the line box: measured width and line height.
type item struct {
	kind       itemKind
	role       string // what it is, for tests and debugging: "name", "datamatrix"…
	x, y, w, h int

	text    string
	style   style
	size    int // line height in dots
	ascent  int
	reverse bool // white on the black box beneath

	sym    *matrix
	module int    // dots per module (Code 128: per narrow bar)
	quiet  int    // quiet zone, dots
	data   string // what the symbol carries (Data Matrix GS1: fnc1 first)
	gs1AI  string // Data Matrix: "8018"/"8017" when GS1
	gsrn   string
	ident  string
	c128BW int // Code 128: width reserved for subset B (ZPL mode N), dots
}

// layout is a label in dots at a resolution.
type layout struct {
	dpi, w, h int
	items     []item
}

func (l *layout) find(role string) *item {
	for i := range l.items {
		if l.items[i].role == role {
			return &l.items[i]
		}
	}
	return nil
}

func doesNotFit(what string) error {
	return backend.Invalid(CodeInvalid, "stock", what+" does not fit on this stock")
}

func layoutFor(c content, s Stock, dpi int, m measurer) (*layout, error) {
	if c.kind == StockBadge {
		return layoutBadge(c, s, dpi, m)
	}
	return layoutWristband(c, s, dpi, m)
}

// textItem lays out a fitted line at (x, y).
func textItem(m measurer, role string, st style, f fitted, x, y int) item {
	a, _ := m.metrics(st, f.size)
	return item{kind: kindText, role: role, x: x, y: y, w: f.width, h: f.size, text: f.text, style: st, size: f.size, ascent: a}
}

// dataMatrixItem encodes the Data Matrix and picks the largest module from
// want down to 0.4 mm that fits in maxSide dots including its quiet zone of
// two modules on each side.
func dataMatrixItem(c content, dpi int, wantMM float64, maxSide int) (item, error) {
	sym, err := encodeDataMatrix(c.dmData)
	if err != nil {
		return item{}, err
	}
	mod := minDots(wantMM, dpi)
	for ; mod >= minDots(0.4, dpi); mod-- {
		if (max(sym.w, sym.h)+4)*mod <= maxSide {
			break
		}
	}
	if mod < minDots(0.4, dpi) {
		return item{}, doesNotFit("the Data Matrix")
	}
	return item{kind: kindDataMatrix, role: "datamatrix", w: sym.w * mod, h: sym.h * mod, sym: sym, module: mod, quiet: 2 * mod,
		data: c.dmData, gs1AI: c.gs1AI, gsrn: c.gsrn, ident: c.ident}, nil
}

// code128Item encodes the identifier with 0.4 mm (or wider) bars; the width
// is boombuler's symbol, the reservation the subset B worst case.
func code128Item(c content, dpi, height int) (item, error) {
	sym, err := encodeCode128(c.ident)
	if err != nil {
		return item{}, err
	}
	x := minDots(0.4, dpi)
	return item{kind: kindCode128, role: "code128", w: sym.w * x, h: height, sym: sym, module: x, quiet: 10 * x,
		data: c.ident, ident: c.ident, c128BW: code128SubsetBModules(c.ident) * x}, nil
}

// fitWithTail fits head+body+tail on a line, abbreviating body before
// anything else (the ward name before the bed, the family name before the
// given name).
func fitWithTail(m measurer, st style, head, body, tail string, maxSize, minSize, maxW int) fitted {
	head, body, tail = fold(m, st, head), fold(m, st, body), fold(m, st, tail)
	full := head + body + tail
	if f := fitLine(m, st, full, maxSize, minSize, maxW); f.text == full {
		return f
	}
	br := []rune(body)
	for n := len(br) - 1; n >= 1; n-- {
		t := head + strings.TrimRight(string(br[:n]), " -'.,") + "." + tail
		if w := m.width(st, minSize, t); w <= maxW {
			return fitted{t, minSize, w}
		}
	}
	return truncate(m, st, full, minSize, maxW)
}

// layoutWristband: a landscape strip. Data Matrix on the left, then the name
// and a line with birth date, ward and bed; the Code 128 with the grouped
// identifier under it; the reversed ALLERGIE box top right.
//
//	┌──────┬─────────────────────────────────────┬──────────┐
//	│ ▚▞▚▞ │ ROSSI Maria                          │ ALLERGIE │
//	│ ▞▚▞▚ │ Nascita 12/03/1938 · Reparto A · Letto 12      │
//	│ ▚▞▚▞ │   ║│║║│║│║║│║│║║║│║║│║│║║│║                    │
//	│      │   R7K3 M9QX 2P4Z                      Facility │
//	└──────┴────────────────────────────────────────────────┘
func layoutWristband(c content, s Stock, dpi int, m measurer) (*layout, error) {
	d := func(mm float64) int { return dots(mm, dpi) }
	l := &layout{dpi: dpi, w: d(s.AreaWidthMM), h: d(s.AreaHeightMM)}
	margin := d(1.5)
	top, bottom, right := margin, l.h-margin, l.w-margin

	dm, err := dataMatrixItem(c, dpi, 0.7, l.h)
	if err != nil {
		return nil, err
	}
	dm.x = max(margin, dm.quiet)
	dm.y = (l.h - dm.h) / 2
	l.items = append(l.items, dm)
	x1 := dm.x + dm.w + dm.quiet + d(1)

	nameRight := right
	var box item
	if c.allergy {
		box = item{kind: kindBox, role: "allergy-box", w: d(27), x: right - d(27), y: top}
		nameRight = box.x - d(2)
	}
	if nameRight-x1 < d(20) {
		return nil, doesNotFit("the name")
	}

	body, tail := strings.ToUpper(c.family), spaced(c.given)
	if c.family == "" {
		body, tail = c.given, ""
	}
	name := fitWithTail(m, styleBold, "", body, tail, d(6.2), d(4.2), nameRight-x1)
	nameIt := textItem(m, "name", styleBold, name, x1, top)
	l.items = append(l.items, nameIt)

	head := "Nascita " + c.birth
	body, tail = "", ""
	if c.bed != "" {
		tail = " · Letto " + c.bed
	}
	if c.ward != "" {
		head += " · Reparto "
		body = c.ward
	}
	det := fitWithTail(m, styleRegular, head, body, tail, d(4.0), d(3.0), nameRight-x1)
	detIt := textItem(m, "details", styleRegular, det, x1, nameIt.y+nameIt.h)
	l.items = append(l.items, detIt)
	rowsBottom := detIt.y + detIt.h

	if c.allergy {
		box.h = rowsBottom - box.y
		pad := d(1.2)
		t := fitLine(m, styleBold, "ALLERGIE", min(box.h-2*pad, d(6.5)), d(3), box.w-2*pad)
		if t.width == 0 {
			return nil, doesNotFit("the allergy mark")
		}
		txt := textItem(m, "allergy", styleBold, t, box.x+(box.w-t.width)/2, box.y+(box.h-t.size)/2)
		txt.reverse = true
		l.items = append(l.items, box, txt)
	}

	hri := fitLine(m, styleMono, groupIdent(c.ident), d(3.6), d(3.0), l.w)
	hriY := bottom - hri.size
	code, err := code128Item(c, dpi, 0)
	if err != nil {
		return nil, err
	}
	code.x = max(x1, dm.x+dm.w+code.quiet)
	code.y = rowsBottom + d(1.2)
	code.h = hriY - d(0.4) - code.y
	if code.h < d(5) || code.x+code.c128BW+code.quiet > l.w {
		return nil, doesNotFit("the Code 128")
	}
	l.items = append(l.items, code)
	hriIt := textItem(m, "ident", styleMono, hri, code.x, hriY)
	l.items = append(l.items, hriIt)

	if c.facility != "" {
		left := max(hriIt.x+hriIt.w, code.x+code.c128BW+code.quiet) + d(2)
		if f := fitLine(m, styleRegular, c.facility, d(3.4), d(2.6), right-left); f.width > 0 {
			l.items = append(l.items, textItem(m, "facility", styleRegular, f, right-f.width, bottom-f.size))
		}
	}
	return l, nil
}

func spaced(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

// layoutBadge: a CR80 card, landscape. A reversed facility bar on top; the
// family name, given name and role on the left, the Data Matrix on the
// right; the Code 128 with the grouped identifier along the bottom.
func layoutBadge(c content, s Stock, dpi int, m measurer) (*layout, error) {
	d := func(mm float64) int { return dots(mm, dpi) }
	l := &layout{dpi: dpi, w: d(s.AreaWidthMM), h: d(s.AreaHeightMM)}
	margin := d(2.5)
	top, bottom, right := margin, l.h-margin, l.w-margin

	y := top
	if c.facility != "" {
		bar := item{kind: kindBox, role: "facility-bar", x: margin, y: top, w: right - margin, h: d(8)}
		pad := d(2)
		f := fitLine(m, styleBold, c.facility, d(5), d(3.2), bar.w-2*pad)
		if f.width > 0 {
			txt := textItem(m, "facility", styleBold, f, bar.x+pad, bar.y+(bar.h-f.size)/2)
			txt.reverse = true
			l.items = append(l.items, bar, txt)
			y = bar.y + bar.h
		}
	}

	// The Code 128 and the identifier along the bottom.
	hri := fitLine(m, styleMono, groupIdent(c.ident), d(3.8), d(3.0), l.w)
	hriY := bottom - hri.size
	code, err := code128Item(c, dpi, 0)
	if err != nil {
		return nil, err
	}
	if code.c128BW+2*code.quiet > l.w {
		return nil, doesNotFit("the Code 128")
	}
	code.x = (l.w - code.c128BW) / 2
	code.h = d(8)
	code.y = hriY - d(0.4) - code.h

	dm, err := dataMatrixItem(c, dpi, 0.8, min(d(24), code.y-y-d(1)))
	if err != nil {
		return nil, err
	}
	dm.x = right - dm.w
	dm.y = y + d(1) + dm.quiet
	if dm.y+dm.h+dm.quiet > code.y {
		return nil, doesNotFit("the Data Matrix")
	}
	l.items = append(l.items, dm, code, textItem(m, "ident", styleMono, hri, code.x, hriY))

	x1 := margin + d(1)
	maxW := dm.x - dm.quiet - d(2) - x1
	y += d(2.5)
	fam := fitLine(m, styleBold, strings.ToUpper(c.family), d(8.5), d(4.5), maxW)
	if c.family != "" {
		it := textItem(m, "name", styleBold, fam, x1, y)
		l.items = append(l.items, it)
		y += it.h
	}
	if c.given != "" {
		g := fitLine(m, styleRegular, c.given, d(7), d(4), maxW)
		it := textItem(m, "given", styleRegular, g, x1, y)
		l.items = append(l.items, it)
		y += it.h + d(1)
	}
	if c.role != "" {
		r := fitLine(m, styleRegular, c.role, d(5), d(3.2), maxW)
		it := textItem(m, "role", styleRegular, r, x1, y)
		l.items = append(l.items, it)
		y += it.h
	}
	if y > code.y-d(0.5) {
		return nil, doesNotFit("the name and role")
	}
	return l, nil
}
