package scan

import (
	"fmt"
	"image"
	"math"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/aztec"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// format is one gozxing reader and how we call it.
type format struct {
	sym       string
	oneD      bool
	newReader func() gozxing.Reader
	hints     map[gozxing.DecodeHintType]interface{}
}

func tryHarder() map[gozxing.DecodeHintType]interface{} {
	return map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
}

var (
	fQR = &format{sym: "qr", newReader: qrcode.NewQRCodeReader, hints: tryHarder()}
	fDM = &format{sym: "datamatrix", newReader: func() gozxing.Reader { return datamatrix.NewDataMatrixReader() },
		hints: tryHarder()}
	fAztec = &format{sym: "aztec", newReader: func() gozxing.Reader { return aztec.NewAztecReader() },
		hints: tryHarder()}
	fCode128 = &format{sym: "code128", oneD: true, newReader: oned.NewCode128Reader,
		hints: map[gozxing.DecodeHintType]interface{}{
			gozxing.DecodeHintType_TRY_HARDER: true,
			gozxing.DecodeHintType_ASSUME_GS1: true,
		}}
	fCode39   = &format{sym: "code39", oneD: true, newReader: oned.NewCode39Reader, hints: tryHarder()}
	fCode93   = &format{sym: "code93", oneD: true, newReader: oned.NewCode93Reader, hints: tryHarder()}
	fEAN13    = &format{sym: "ean13", oneD: true, newReader: oned.NewEAN13Reader, hints: tryHarder()}
	fEAN8     = &format{sym: "ean8", oneD: true, newReader: oned.NewEAN8Reader, hints: tryHarder()}
	fUPCE     = &format{sym: "upce", oneD: true, newReader: oned.NewUPCEReader, hints: tryHarder()}
	fITF      = &format{sym: "itf", oneD: true, newReader: oned.NewITFReader, hints: tryHarder()}
	fCodabar  = &format{sym: "codabar", oneD: true, newReader: oned.NewCodaBarReader, hints: tryHarder()}
	pureHints = map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_PURE_BARCODE: true}
)

// plan is the formats to try for a hint, in order, and the rare ones tried
// only when nothing else was found (hint "" only).
func plan(h Hint) (formats, lastResort []*format) {
	switch h {
	case HintWristband, HintBadge:
		return []*format{fDM, fQR, fCode128}, nil
	case HintPack:
		// Code 32 (Italian pharmacode) is read through Code 39.
		return []*format{fDM, fCode39, fEAN13, fCode128}, nil
	}
	// UPC-A is read by the EAN-13 reader (leading 0) and reported as upca.
	return []*format{fQR, fDM, fAztec, fCode128, fCode39, fEAN13, fITF, fCode93, fCodabar},
		[]*format{fEAN8, fUPCE}
}

var symbologyNames = map[gozxing.BarcodeFormat]string{
	gozxing.BarcodeFormat_QR_CODE:     "qr",
	gozxing.BarcodeFormat_DATA_MATRIX: "datamatrix",
	gozxing.BarcodeFormat_AZTEC:       "aztec",
	gozxing.BarcodeFormat_CODE_128:    "code128",
	gozxing.BarcodeFormat_CODE_39:     "code39",
	gozxing.BarcodeFormat_CODE_93:     "code93",
	gozxing.BarcodeFormat_EAN_13:      "ean13",
	gozxing.BarcodeFormat_EAN_8:       "ean8",
	gozxing.BarcodeFormat_UPC_A:       "upca",
	gozxing.BarcodeFormat_UPC_E:       "upce",
	gozxing.BarcodeFormat_ITF:         "itf",
	gozxing.BarcodeFormat_CODABAR:     "codabar",
	gozxing.BarcodeFormat_RSS_14:      "rss14",
}

func symbologyName(f gozxing.BarcodeFormat) string {
	if s, ok := symbologyNames[f]; ok {
		return s
	}
	return strings.ToLower(f.String())
}

func symbologyID(res *gozxing.Result) string {
	if v, ok := res.GetResultMetadata()[gozxing.ResultMetadataType_SYMBOLOGY_IDENTIFIER]; ok {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return ""
}

// normalize turns a gozxing result into a Symbol: GS1 prefixes, Latin-1
// Code 128, extended Code 39, UPC-A, points mapped to the upright image.
func normalize(res *gozxing.Result, toOrig affine, hint Hint) Symbol {
	s := Symbol{Symbology: symbologyName(res.GetBarcodeFormat()), Text: res.GetText()}
	si := symbologyID(res)
	switch s.Symbology {
	case "code128":
		if strings.HasPrefix(s.Text, "]C1") {
			s.Text, s.GS1 = s.Text[3:], true
		} else if si == "]C1" {
			s.GS1 = true
		}
		s.Text = latin1(s.Text)
	case "datamatrix":
		if strings.HasPrefix(s.Text, "\x1d") {
			s.Text, s.GS1 = s.Text[1:], true
		} else if si == "]d2" || si == "]d5" {
			s.GS1 = true
		}
	case "qr":
		if si == "]Q3" || si == "]Q4" {
			s.GS1 = true
			s.Text = strings.TrimPrefix(s.Text, "\x1d")
		}
	case "code39":
		s.Text = code39Extended(s.Text)
	case "ean13":
		if hint == HintNone && len(s.Text) == 13 && s.Text[0] == '0' {
			s.Symbology, s.Text = "upca", s.Text[1:]
		}
	}
	for _, p := range res.GetResultPoints() {
		if p == nil {
			continue
		}
		x, y := toOrig.apply(p.GetX(), p.GetY())
		if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			continue
		}
		s.Points = append(s.Points, image.Pt(int(math.Round(x)), int(math.Round(y))))
	}
	return s
}

// latin1 reinterprets gozxing's byte-per-character Code 128 text (ISO-8859-1,
// the symbology's character set) as UTF-8.
func latin1(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// code39Extended applies Code 39 full-ASCII decoding when the text contains
// shift pairs ("+A" = 'a', "/A" = '!', "$A" = 0x01, "%A" = 0x1b…) and every
// shift character is part of a valid pair. Code 32 pharmacodes never contain
// shift characters, so they are returned unchanged.
func code39Extended(s string) string {
	if !strings.ContainsAny(s, "+$%/") {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '+' && c != '$' && c != '%' && c != '/' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(s) {
			return s
		}
		n := s[i+1]
		var d byte
		ok := true
		switch c {
		case '+':
			ok = n >= 'A' && n <= 'Z'
			d = n + 32
		case '$':
			ok = n >= 'A' && n <= 'Z'
			d = n - 64
		case '%':
			switch {
			case n >= 'A' && n <= 'E':
				d = n - 38
			case n >= 'F' && n <= 'J':
				d = n - 11
			case n >= 'K' && n <= 'O':
				d = n + 16
			case n >= 'P' && n <= 'T':
				d = n + 43
			case n == 'U':
				d = 0
			case n == 'V':
				d = '@'
			case n == 'W':
				d = '`'
			case n == 'X' || n == 'Y' || n == 'Z':
				d = 127
			default:
				ok = false
			}
		case '/':
			switch {
			case n >= 'A' && n <= 'O':
				d = n - 32
			case n == 'Z':
				d = ':'
			default:
				ok = false
			}
		}
		if !ok {
			return s
		}
		out = append(out, d)
		i++
	}
	return string(out)
}

// safeDecode calls a gozxing reader, turning panics into "not found".
func safeDecode(rd gozxing.Reader, bmp *gozxing.BinaryBitmap, hints map[gozxing.DecodeHintType]interface{}) (res *gozxing.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("reader panic: %v", p)
		}
	}()
	return rd.Decode(bmp, hints)
}
