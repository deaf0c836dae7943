package label

import (
	"fmt"
	"image"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/datamatrix"
	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// A small ZPL II interpreter for the subset renderZPL emits, standing in for
// the printer: it rasterises a label at the printer's resolution so that the
// test can scan it. Barcodes are re-encoded from the field data the way the
// printer would (the ^BX escape sequences, FNC1 included, are turned into
// codewords here, not by the code under test); text is drawn with Go Bold
// as a stand-in for font 0. Anything outside the subset is an error, so a
// change in the emitted ZPL cannot go unnoticed.
//
// Subset: ^XA ^XZ ^CI ^PW ^LL ^LH ^FO ^BY ^BX ^BC ^A0 ^GB ^FR ^FH ^FD ^FS ^PQ.

type zplField struct {
	cmd     string // "BX", "BC", "A0", "GB"
	orient  byte   // 'N' or 'R'
	rect    image.Rectangle
	data    string // field data after ^FH and (^BX) escape processing
	module  int    // BX: dots per module; BC: narrow bar
	reverse bool
}

type zplLabel struct {
	pw, ll, ci int
	img        *image.Gray // pw × ll, white paper, black ink
	fields     []zplField
	raw        string
}

type zplState struct {
	lbl          *zplLabel
	started      bool
	ended        bool
	lhx, lhy     int
	fox, foy     int
	byW, byH     int
	cmd          string
	params       []string
	fh           bool
	fhChar       byte
	fr           bool
	data         string
	haveData     bool
	measurer     *goMeasurer
	fieldPending bool
}

func interpretZPL(src []byte) (*zplLabel, error) {
	m, err := newGoMeasurer(true)
	if err != nil {
		return nil, err
	}
	st := &zplState{lbl: &zplLabel{raw: string(src)}, byW: 2, byH: 10, measurer: m}
	s := string(src)
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\n' || c == '\r' {
			i++
			continue
		}
		if c == '~' {
			return nil, fmt.Errorf("offset %d: tilde commands are outside the subset", i)
		}
		if c != '^' {
			return nil, fmt.Errorf("offset %d: text outside a command: %q", i, s[i:min(len(s), i+20)])
		}
		if i+3 > len(s) {
			return nil, fmt.Errorf("offset %d: truncated command", i)
		}
		name := s[i+1 : i+3]
		j := i + 3
		if name == "FD" {
			end := strings.Index(s[j:], "^FS")
			if end < 0 {
				return nil, fmt.Errorf("offset %d: ^FD without ^FS", i)
			}
			st.data, st.haveData = s[j:j+end], true
			i = j + end
			continue
		}
		end := strings.IndexAny(s[j:], "^~")
		if end < 0 {
			end = len(s) - j
		}
		arg := strings.TrimRight(s[j:j+end], "\r\n")
		if err := st.command(name, arg); err != nil {
			return nil, fmt.Errorf("^%s%s: %w", name, arg, err)
		}
		i = j + end
	}
	if !st.ended {
		return nil, fmt.Errorf("no ^XZ")
	}
	return st.lbl, nil
}

func atoiList(arg string, n int) ([]int, error) {
	parts := strings.Split(arg, ",")
	if len(parts) > n {
		return nil, fmt.Errorf("too many parameters")
	}
	out := make([]int, n)
	for i, p := range parts {
		if p == "" {
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (st *zplState) command(name, arg string) error {
	if !st.started && name != "XA" {
		return fmt.Errorf("before ^XA")
	}
	if st.ended {
		return fmt.Errorf("after ^XZ")
	}
	switch name {
	case "XA":
		st.started = true
	case "XZ":
		if st.fieldPending {
			return fmt.Errorf("field without ^FS")
		}
		st.ended = true
	case "CI":
		v, err := strconv.Atoi(arg)
		if err != nil {
			return err
		}
		st.lbl.ci = v
	case "PW", "LL":
		v, err := strconv.Atoi(arg)
		if err != nil || v <= 0 || v > 20000 {
			return fmt.Errorf("bad size")
		}
		if st.lbl.img != nil {
			return fmt.Errorf("label size set after the first field")
		}
		if name == "PW" {
			st.lbl.pw = v
		} else {
			st.lbl.ll = v
		}
	case "LH":
		v, err := atoiList(arg, 2)
		if err != nil {
			return err
		}
		st.lhx, st.lhy = v[0], v[1]
	case "PQ":
	case "BY":
		v, err := atoiList(arg, 3)
		if err != nil {
			return err
		}
		if v[0] < 1 || v[0] > 10 {
			return fmt.Errorf("module width out of 1..10")
		}
		st.byW = v[0]
		if v[2] > 0 {
			st.byH = v[2]
		}
	case "FO":
		v, err := atoiList(arg, 3)
		if err != nil {
			return err
		}
		st.fox, st.foy = v[0]+st.lhx, v[1]+st.lhy
		st.fieldPending = true
	case "BX", "BC", "GB":
		st.cmd, st.params = name, strings.Split(arg, ",")
	case "A0":
		st.cmd, st.params = name, strings.Split(arg, ",")
	case "FH":
		st.fh, st.fhChar = true, '_'
		if arg != "" {
			st.fhChar = arg[0]
		}
	case "FR":
		st.fr = true
	case "FS":
		if err := st.field(); err != nil {
			return err
		}
		st.cmd, st.params, st.fh, st.fr, st.data, st.haveData, st.fieldPending = "", nil, false, false, "", false, false
	default:
		return fmt.Errorf("command outside the subset")
	}
	return nil
}

// fieldData applies ^FH hex escapes, then the ^CI character set.
func (st *zplState) fieldData() (string, error) {
	d := st.data
	if st.fh {
		var b []byte
		for i := 0; i < len(d); i++ {
			if d[i] == st.fhChar {
				if i+2 >= len(d) {
					return "", fmt.Errorf("truncated hex escape")
				}
				v, err := strconv.ParseUint(d[i+1:i+3], 16, 8)
				if err != nil {
					return "", fmt.Errorf("bad hex escape %q", d[i:i+3])
				}
				b = append(b, byte(v))
				i += 2
				continue
			}
			b = append(b, d[i])
		}
		d = string(b)
	}
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 && st.lbl.ci != 28 {
			return "", fmt.Errorf("non-ASCII field data without ^CI28")
		}
	}
	if st.lbl.ci == 28 && !utf8.ValidString(d) {
		return "", fmt.Errorf("field data is not UTF-8 under ^CI28")
	}
	return d, nil
}

func orientation(p string) (byte, error) {
	switch p {
	case "N", "R":
		return p[0], nil
	}
	return 0, fmt.Errorf("orientation %q outside the subset", p)
}

func param(ps []string, i int) string {
	if i < len(ps) {
		return ps[i]
	}
	return ""
}

func (st *zplState) field() error {
	if !st.fieldPending {
		return fmt.Errorf("^FS without ^FO")
	}
	if st.lbl.img == nil {
		if st.lbl.pw == 0 || st.lbl.ll == 0 {
			return fmt.Errorf("field before ^PW and ^LL")
		}
		st.lbl.img = image.NewGray(image.Rect(0, 0, st.lbl.pw, st.lbl.ll))
		for i := range st.lbl.img.Pix {
			st.lbl.img.Pix[i] = 0xff
		}
	}
	var bmp *image.Gray // the field, unrotated, ink = 0
	f := zplField{cmd: st.cmd, reverse: st.fr}
	switch st.cmd {
	case "GB":
		v, err := atoiList(strings.Join(st.params, ","), 5)
		if err != nil {
			return err
		}
		w, h, t := max(v[0], 1), max(v[1], 1), max(v[2], 1)
		bmp = blank(w, h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if x < t || y < t || x >= w-t || y >= h-t {
					bmp.Pix[y*bmp.Stride+x] = 0
				}
			}
		}
		f.orient = 'N'
	case "BX":
		o, err := orientation(param(st.params, 0))
		if err != nil {
			return err
		}
		mod, err := strconv.Atoi(param(st.params, 1))
		if err != nil || mod < 1 {
			return fmt.Errorf("bad module size")
		}
		if param(st.params, 2) != "200" {
			return fmt.Errorf("only quality 200 (ECC 200)")
		}
		esc := byte('_') // the firmware default we must not rely on: emitted explicitly
		if g := param(st.params, 6); g != "" {
			esc = g[0]
		} else {
			return fmt.Errorf("escape character not declared")
		}
		raw, err := st.fieldData()
		if err != nil {
			return err
		}
		data, err := bxEscapes(raw, esc)
		if err != nil {
			return err
		}
		bc, err := datamatrix.Encode(data)
		if err != nil {
			return err
		}
		sym := fromBarcode(bc)
		if c, r := param(st.params, 3), param(st.params, 4); c != "" || r != "" {
			if c != strconv.Itoa(sym.w) || r != strconv.Itoa(sym.h) {
				return fmt.Errorf("symbol %dx%d, ZPL asks %sx%s", sym.w, sym.h, c, r)
			}
		}
		bmp = blank(sym.w*mod, sym.h*mod)
		drawMatrix(bmp, sym, 0, 0, mod, mod)
		f.orient, f.data, f.module = o, data, mod
	case "BC":
		o, err := orientation(param(st.params, 0))
		if err != nil {
			return err
		}
		h := st.byH
		if p := param(st.params, 1); p != "" {
			if h, err = strconv.Atoi(p); err != nil || h < 1 {
				return fmt.Errorf("bad height")
			}
		}
		if param(st.params, 2) != "N" || param(st.params, 4) != "N" {
			return fmt.Errorf("only without interpretation line and UCC check digit")
		}
		if m := param(st.params, 5); m != "" && m != "N" {
			return fmt.Errorf("only mode N")
		}
		data, err := st.fieldData()
		if err != nil {
			return err
		}
		if strings.ContainsAny(data, ">") {
			return fmt.Errorf("subset invocation codes are outside the subset")
		}
		bc, err := code128.Encode(data)
		if err != nil {
			return err
		}
		sym := fromBarcode(bc)
		bmp = blank(sym.w*st.byW, h)
		drawMatrix(bmp, sym, 0, 0, st.byW, h)
		f.orient, f.data, f.module = o, data, st.byW
	case "A0":
		o, err := orientation(param(st.params, 0))
		if err != nil {
			return err
		}
		h, err1 := strconv.Atoi(param(st.params, 1))
		w, err2 := strconv.Atoi(param(st.params, 2))
		if err1 != nil || err2 != nil || h < 10 || w != h {
			return fmt.Errorf("font size must be h,h with h ≥ 10")
		}
		data, err := st.fieldData()
		if err != nil {
			return err
		}
		m := st.measurer
		width := m.width(styleBold, h, data)
		bmp = blank(max(width, 1), h)
		a, _ := m.metrics(styleBold, h)
		dr := font.Drawer{Dst: bmp, Src: image.Black, Face: m.face(styleBold, h), Dot: fixed.P(0, a)}
		dr.DrawString(data)
		for i, p := range bmp.Pix { // a thermal printer has no gray
			if p < 128 {
				bmp.Pix[i] = 0
			} else {
				bmp.Pix[i] = 0xff
			}
		}
		f.orient, f.data = o, data
	default:
		return fmt.Errorf("field without a field type")
	}
	if !st.haveData && st.cmd != "GB" {
		return fmt.Errorf("field without ^FD")
	}
	if f.orient == 'R' {
		bmp = rotateCW(bmp)
	}
	f.rect = image.Rect(st.fox, st.foy, st.fox+bmp.Rect.Dx(), st.foy+bmp.Rect.Dy())
	st.lbl.fields = append(st.lbl.fields, f)
	dst := st.lbl.img
	for y := 0; y < bmp.Rect.Dy(); y++ {
		for x := 0; x < bmp.Rect.Dx(); x++ {
			if bmp.Pix[y*bmp.Stride+x] != 0 {
				continue
			}
			p := image.Pt(st.fox+x, st.foy+y)
			if !p.In(dst.Rect) {
				continue // off the media: the test checks field rectangles
			}
			i := dst.PixOffset(p.X, p.Y)
			if f.reverse {
				dst.Pix[i] ^= 0xff
			} else {
				dst.Pix[i] = 0
			}
		}
	}
	return nil
}

func blank(w, h int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = 0xff
	}
	return g
}

// bxEscapes turns ^BX quality-200 field data into what the encoder gets:
// <esc>1 is FNC1 (boombuler's byte 232), <esc><esc> a literal escape
// character, <esc>dNNN a byte; the other escapes (FNC2/3, shift, code page)
// are outside the subset.
func bxEscapes(s string, esc byte) (string, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != esc {
			b = append(b, s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("dangling escape")
		}
		switch s[i+1] {
		case '1':
			b = append(b, datamatrix.FNC1)
			i++
		case esc:
			b = append(b, esc)
			i++
		case 'd':
			if i+5 > len(s) {
				return "", fmt.Errorf("short _d escape")
			}
			v, err := strconv.Atoi(s[i+2 : i+5])
			if err != nil || v > 255 {
				return "", fmt.Errorf("bad _d escape")
			}
			b = append(b, byte(v))
			i += 4
		default:
			return "", fmt.Errorf("escape %q outside the subset", s[i:i+2])
		}
	}
	return string(b), nil
}
