package label

import (
	"fmt"
	"strings"
)

// renderZPL writes the label as ZPL II for the stock's printer resolution.
// The printer makes the codes itself:
//
//   - Data Matrix: ^BXo,h,200,c,r,,_ — ECC 200, h dots per module, the
//     symbol size fixed to what layout reserved (c×r), and "_" declared as
//     the escape character (parameter g). Declaring it matters: Zebra's
//     manuals give "_" as the default for some firmware and "~" (also the
//     ZPL control prefix) for others, and Zebra's advice for GS1 is to set
//     it explicitly, as here. A GS1 DataMatrix then starts with the
//     escape sequence _1, FNC1 in first position, which the printer encodes
//     as codeword 232: ^FD_18018<GSRN>^FS. 8017/8018 are fixed-length AIs
//     (18 digits), so no FNC1 separator follows. A plain symbol carries the
//     identifier, which never contains "_".
//   - Code 128: ^BY<module>, ^BCo,h,N,N,N,N (no interpretation line, no UCC
//     check digit, mode N: subset B from the start, which layout reserved).
//   - Text: scalable font 0 (^A0o,h,h) with ^FH_ so that any "^", "~" or
//     "_" in a name is sent as a hex escape, never read as a command; ^CI28
//     makes field data UTF-8 ("Nicolò D'Angelo"); letters outside Latin-1,
//     which font 0 may lack, are folded to their base letter.
//   - The allergy mark: a filled ^GB box and the text over it with ^FR.
//
// Wristband stocks are Rotated: every field uses orientation R (90°
// clockwise) and the label runs along the feed, starting AreaOffsetMM from
// the leading edge; ^FO is the top-left corner of each rotated field.
func renderZPL(c content, s Stock) ([]byte, string, error) {
	m, err := newGoMeasurer(true)
	if err != nil {
		return nil, "", err
	}
	l, err := layoutFor(c, s, s.DPI, m)
	if err != nil {
		return nil, "", err
	}
	pw, ll := dots(s.MediaWidthMM, s.DPI), dots(s.MediaLengthMM, s.DPI)
	off := dots(s.AreaOffsetMM, s.DPI)
	orient := "N"
	across := l.w
	if s.Rotated {
		orient = "R"
		across = l.h
	}
	inset := max(0, (pw-across)/2)
	// place maps a rectangle in reading orientation to a field origin.
	place := func(x, y, w, h int) (int, int) {
		if s.Rotated {
			return inset + l.h - y - h, off + x
		}
		return inset + x, off + y
	}

	var b strings.Builder
	fmt.Fprintf(&b, "^XA\n^CI28\n^PW%d\n^LL%d\n^LH0,0\n", pw, ll)
	for _, it := range l.items {
		if it.kind != kindBox {
			continue
		}
		x, y := place(it.x, it.y, it.w, it.h)
		w, h := it.w, it.h
		if s.Rotated {
			w, h = h, w
		}
		fmt.Fprintf(&b, "^FO%d,%d^GB%d,%d,%d^FS\n", x, y, w, h, min(w, h))
	}
	for _, it := range l.items {
		x, y := place(it.x, it.y, it.w, it.h)
		switch it.kind {
		case kindDataMatrix:
			data := it.ident
			if it.gs1AI != "" {
				data = "_1" + it.gs1AI + it.gsrn
			}
			fmt.Fprintf(&b, "^FO%d,%d^BX%s,%d,200,%d,%d,,_^FD%s^FS\n", x, y, orient, it.module, it.sym.w, it.sym.h, data)
		case kindCode128:
			fmt.Fprintf(&b, "^BY%d\n^FO%d,%d^BC%s,%d,N,N,N,N^FD%s^FS\n", it.module, x, y, orient, it.h, it.ident)
		case kindText:
			if it.text == "" {
				continue
			}
			fr := ""
			if it.reverse {
				fr = "^FR"
			}
			fmt.Fprintf(&b, "^FO%d,%d^A0%s,%d,%d%s^FH_^FD%s^FS\n", x, y, orient, it.size, it.size, fr, zplEscape(it.text))
		}
	}
	b.WriteString("^PQ1\n^XZ\n")
	return []byte(b.String()), ContentTypeZPL, nil
}

// zplEscape hex-escapes (for ^FH_) the characters ZPL would read as
// commands or escapes.
func zplEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '^' || c == '~' || c == '_' || c == '\\' || c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "_%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
