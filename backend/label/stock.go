package label

import (
	"math"
	"strings"

	"github.com/corsia-cce/corsia/backend"
)

// StockKind says which label a stock is for.
type StockKind string

// Stock kinds.
const (
	StockWristband StockKind = "wristband"
	StockBadge     StockKind = "badge"
)

// RasterDPI is the resolution of PNG output and of the barcode images
// embedded in PDFs, whatever the stock's printer resolution.
const RasterDPI = 300

// Stock describes label media and where a label goes on it. Lengths are in
// millimetres.
//
// The printable area is described in the label's reading orientation: for a
// wristband it is a landscape strip along the band (AreaWidthMM along the
// band, AreaHeightMM across it); PNG and PDF output is exactly that area, at
// RasterDPI. For ZPL the media is described as the printer sees it: MediaWidthMM
// across the print head (^PW) and MediaLengthMM along the feed (^LL); when
// Rotated, the area runs along the feed and every field is printed with
// orientation R (90° clockwise), starting AreaOffsetMM from the leading edge.
type Stock struct {
	Name          string
	Kind          StockKind
	MediaWidthMM  float64 // across the print head
	MediaLengthMM float64 // along the feed
	AreaWidthMM   float64 // printable area, reading orientation: width
	AreaHeightMM  float64 // printable area, reading orientation: height
	AreaOffsetMM  float64 // ZPL: start of the area from the media's leading edge, along the feed
	Rotated       bool    // ZPL: the area's width runs along the feed
	DPI           int     // ZPL: the printer's resolution (203 or 300 typically)
}

// Preset stocks.
//
// Adult wristbands (Zebra Z-Band style, 1" × 11" = 25.4 × 279.4 mm) carry a
// 130 mm patch printed along the band. The HC100 wristband printer prints at
// 300 dpi; the 203 dpi preset is for desktop printers loaded with wristbands.
// AreaOffsetMM is 0: where the patch starts depends on the media; set it
// from the media's template (and check a test print) before going live.
//
// The CR80 badge is the ID-1 card size (85.6 × 54 mm), landscape. Its Code
// 128 with 0.4 mm modules needs 300 dpi: at 203 dpi it would not fit.
var (
	WristbandAdult300 = Stock{
		Name: "wristband-adult-300", Kind: StockWristband,
		MediaWidthMM: 25.4, MediaLengthMM: 279.4,
		AreaWidthMM: 130, AreaHeightMM: 25.4,
		Rotated: true, DPI: 300,
	}
	WristbandAdult203 = Stock{
		Name: "wristband-adult-203", Kind: StockWristband,
		MediaWidthMM: 25.4, MediaLengthMM: 279.4,
		AreaWidthMM: 130, AreaHeightMM: 25.4,
		Rotated: true, DPI: 203,
	}
	BadgeCR80 = Stock{
		Name: "badge-cr80", Kind: StockBadge,
		MediaWidthMM: 85.6, MediaLengthMM: 54,
		AreaWidthMM: 85.6, AreaHeightMM: 54,
		DPI: 300,
	}
)

// Stocks lists the presets.
func Stocks() []Stock { return []Stock{WristbandAdult300, WristbandAdult203, BadgeCR80} }

// LookupStock finds a preset by name.
func LookupStock(name string) (Stock, bool) {
	for _, s := range Stocks() {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Stock{}, false
}

// check validates a stock for a kind of label.
func (s Stock) check(kind StockKind) error {
	bad := func(why string) error { return backend.Invalid(CodeInvalid, "stock", why) }
	if s.Kind != kind {
		return bad("the stock is not a " + string(kind) + " stock")
	}
	for _, v := range []float64{s.MediaWidthMM, s.MediaLengthMM, s.AreaWidthMM, s.AreaHeightMM} {
		if math.IsNaN(v) || v < 10 || v > 400 {
			return bad("stock dimensions must be between 10 and 400 mm")
		}
	}
	if math.IsNaN(s.AreaOffsetMM) || s.AreaOffsetMM < 0 {
		return bad("the area offset must not be negative")
	}
	if s.DPI < 150 || s.DPI > 600 {
		return bad("the printer resolution must be between 150 and 600 dpi")
	}
	across, along := s.AreaHeightMM, s.AreaWidthMM
	if !s.Rotated {
		across, along = s.AreaWidthMM, s.AreaHeightMM
	}
	if across > s.MediaWidthMM+0.01 || s.AreaOffsetMM+along > s.MediaLengthMM+0.01 {
		return bad("the printable area does not fit on the media")
	}
	return nil
}

// dots converts millimetres to dots at dpi.
func dots(mm float64, dpi int) int { return int(math.Round(mm * float64(dpi) / 25.4)) }

// minDots is the smallest whole number of dots that is at least mm long.
func minDots(mm float64, dpi int) int { return int(math.Ceil(mm*float64(dpi)/25.4 - 1e-9)) }
