package scan

import (
	"errors"

	"github.com/makiuchi-d/gozxing"
)

// lumSource is a gozxing.LuminanceSource over a gray buffer: rows and the
// matrix are slices of the buffer (no per-pixel img.At), crops are views,
// rotations build a new buffer once and are cached (the 1D readers with
// TRY_HARDER each ask for the same rotation).
type lumSource struct {
	gozxing.LuminanceSourceBase
	g         *gray
	left, top int
	rotated   *lumSource
}

var _ gozxing.LuminanceSource = (*lumSource)(nil)

func newLumSource(g *gray) *lumSource {
	return &lumSource{LuminanceSourceBase: gozxing.LuminanceSourceBase{Width: g.w, Height: g.h}, g: g}
}

func (s *lumSource) GetRow(y int, row []byte) ([]byte, error) {
	if y < 0 || y >= s.Height {
		return nil, errors.New("IllegalArgumentException: requested row is outside the image")
	}
	if cap(row) < s.Width {
		row = make([]byte, s.Width)
	}
	row = row[:s.Width]
	off := (s.top+y)*s.g.w + s.left
	copy(row, s.g.pix[off:off+s.Width])
	return row, nil
}

func (s *lumSource) GetMatrix() []byte {
	if s.left == 0 && s.top == 0 && s.Width == s.g.w && s.Height == s.g.h {
		return s.g.pix
	}
	m := make([]byte, s.Width*s.Height)
	for y := 0; y < s.Height; y++ {
		off := (s.top+y)*s.g.w + s.left
		copy(m[y*s.Width:(y+1)*s.Width], s.g.pix[off:off+s.Width])
	}
	return m
}

func (s *lumSource) IsCropSupported() bool { return true }

func (s *lumSource) Crop(left, top, width, height int) (gozxing.LuminanceSource, error) {
	if left < 0 || top < 0 || width < 0 || height < 0 || left+width > s.Width || top+height > s.Height {
		return nil, errors.New("IllegalArgumentException: crop rectangle does not fit within image data")
	}
	return &lumSource{
		LuminanceSourceBase: gozxing.LuminanceSourceBase{Width: width, Height: height},
		g:                   s.g, left: s.left + left, top: s.top + top,
	}, nil
}

func (s *lumSource) IsRotateSupported() bool { return true }

func (s *lumSource) Invert() gozxing.LuminanceSource { return gozxing.NewInvertedLuminanceSource(s) }

// RotateCounterClockwise returns the image turned 90° counter-clockwise, as
// gozxing's own sources do (new(x,y) = old(W-1-y... )).
func (s *lumSource) RotateCounterClockwise() (gozxing.LuminanceSource, error) {
	if s.rotated == nil {
		g := &gray{w: s.Width, h: s.Height, pix: s.GetMatrix()}
		r, _ := g.rot90(3)
		s.rotated = newLumSource(r)
	}
	return s.rotated, nil
}

func (s *lumSource) RotateCounterClockwise45() (gozxing.LuminanceSource, error) {
	g := &gray{w: s.Width, h: s.Height, pix: s.GetMatrix()}
	r, _ := g.rotate(45, 255)
	return newLumSource(r), nil
}

func (s *lumSource) String() string { return gozxing.LuminanceSourceString(s) }
