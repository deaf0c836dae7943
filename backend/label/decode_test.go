package label

import (
	"fmt"
	"image"
	"image/draw"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/oned"
)

// read is what a scanner app gets from a symbol.
type read struct {
	text      string
	symbology string // AIM symbology identifier: "]d2" GS1 DataMatrix, "]d1" plain, "]C0" Code 128
}

func toGray(img image.Image) *image.Gray {
	if g, ok := img.(*image.Gray); ok {
		return g
	}
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
	return g
}

// binaryBitmap feeds an 8-bit gray image to gozxing as a luminance plane
// (faster than its per-pixel image.At path).
func binaryBitmap(img image.Image) (*gozxing.BinaryBitmap, error) {
	g := toGray(img)
	b := g.Bounds()
	w, h := b.Dx(), b.Dy()
	lum := make([]byte, 0, w*h)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		off := g.PixOffset(b.Min.X, y)
		lum = append(lum, g.Pix[off:off+w]...)
	}
	src, err := gozxing.NewPlanarYUVLuminanceSource(lum, w, h, 0, 0, w, h, false)
	if err != nil {
		return nil, err
	}
	return gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
}

var tryHarder = map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}

func symbologyOf(r *gozxing.Result) string {
	s, _ := r.GetResultMetadata()[gozxing.ResultMetadataType_SYMBOLOGY_IDENTIFIER].(string)
	return s
}

// decodeDataMatrix reads a Data Matrix with gozxing.
func decodeDataMatrix(img image.Image) (read, error) {
	bmp, err := binaryBitmap(img)
	if err != nil {
		return read{}, err
	}
	res, err := datamatrix.NewDataMatrixReader().Decode(bmp, tryHarder)
	if err != nil {
		return read{}, fmt.Errorf("Data Matrix: %w", err)
	}
	return read{res.GetText(), symbologyOf(res)}, nil
}

// decodeCode128 reads a Code 128 with gozxing (rows scanned across the
// whole image).
func decodeCode128(img image.Image) (read, error) {
	bmp, err := binaryBitmap(img)
	if err != nil {
		return read{}, err
	}
	res, err := oned.NewCode128Reader().Decode(bmp, tryHarder)
	if err != nil {
		return read{}, fmt.Errorf("Code 128: %w", err)
	}
	return read{res.GetText(), symbologyOf(res)}, nil
}

// crop returns the part of img inside r (copied).
func crop(img image.Image, r image.Rectangle) *image.Gray {
	r = r.Intersect(img.Bounds())
	g := image.NewGray(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(g, g.Bounds(), img, r.Min, draw.Src)
	return g
}

// rotateCCW turns an image 90° counter-clockwise: a ZPL label printed with
// orientation R, seen in reading orientation.
func rotateCCW(src *image.Gray) *image.Gray {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.NewGray(image.Rect(0, 0, h, w))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// (x, y) → (y, w-1-x)
			dst.Pix[(w-1-x)*dst.Stride+y] = src.Pix[y*src.Stride+x]
		}
	}
	return dst
}

// rotateCW turns an image 90° clockwise (what orientation R does to a field).
func rotateCW(src *image.Gray) *image.Gray {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.NewGray(image.Rect(0, 0, h, w))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// (x, y) → (h-1-y, x)
			dst.Pix[x*dst.Stride+(h-1-y)] = src.Pix[y*src.Stride+x]
		}
	}
	return dst
}

// expected is what the codes of a label must read back as.
type expected struct {
	dmText, dmSymbology string
	c128                string
}

func expectFor(ident, gsrn, ai string) expected {
	if gsrn == "" {
		return expected{dmText: ident, dmSymbology: "]d1", c128: ident}
	}
	return expected{dmText: "\x1d" + ai + gsrn, dmSymbology: "]d2", c128: ident}
}
