package scan

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // image.Decode formats for the baseline
	_ "image/png"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/aztec"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// BaselineDecode is the plain loop over gozxing's readers that Decode is
// measured against: image.Decode, gozxing.NewBinaryBitmapFromImage (hybrid
// binarizer), every reader once with TRY_HARDER, texts as gozxing returns
// them (only the symbology is renamed). The same preflight limits as
// DefaultLimits apply, so it is not a way around them.
func BaselineDecode(data []byte) ([]Symbol, error) {
	d := New(DefaultLimits)
	if _, _, err := d.preflight(data); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	readers := []gozxing.Reader{
		qrcode.NewQRCodeReader(), datamatrix.NewDataMatrixReader(), aztec.NewAztecReader(),
		oned.NewCode128Reader(), oned.NewCode39Reader(), oned.NewCode93Reader(),
		oned.NewEAN13Reader(), oned.NewEAN8Reader(), oned.NewUPCAReader(), oned.NewUPCEReader(),
		oned.NewITFReader(), oned.NewCodaBarReader(),
	}
	var out []Symbol
	for _, rd := range readers {
		res, err := safeDecode(rd, bmp, tryHarder())
		if err != nil || res == nil {
			continue
		}
		out = append(out, Symbol{Symbology: symbologyName(res.GetBarcodeFormat()), Text: res.GetText()})
	}
	if len(out) == 0 {
		return nil, ErrNoBarcode
	}
	return out, nil
}
