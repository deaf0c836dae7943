package label

import (
	"fmt"
	"image"
	"image/color"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/datamatrix"

	"github.com/corsia-cce/corsia/backend"
)

// fnc1 is how boombuler's Data Matrix encoder is told "FNC1": a byte 232 in
// first position makes the symbol GS1 (codeword 232 first) and a byte 232
// later is a group separator. It is not the UTF-8 "è" (two bytes).
const fnc1 = datamatrix.FNC1

// matrix is a symbol's modules, dark = true, without quiet zone.
type matrix struct {
	w, h int
	dark []bool
}

func (m *matrix) at(x, y int) bool { return m.dark[y*m.w+x] }

func fromBarcode(bc barcode.Barcode) *matrix {
	r := bc.Bounds()
	m := &matrix{w: r.Dx(), h: r.Dy(), dark: make([]bool, r.Dx()*r.Dy())}
	for y := 0; y < m.h; y++ {
		for x := 0; x < m.w; x++ {
			g := color.GrayModel.Convert(bc.At(r.Min.X+x, r.Min.Y+y)).(color.Gray)
			m.dark[y*m.w+x] = g.Y < 128
		}
	}
	return m
}

// encodeDataMatrix makes an ECC 200 Data Matrix; data starting with fnc1 is
// a GS1 DataMatrix.
func encodeDataMatrix(data string) (m *matrix, err error) {
	defer recoverInto(&err, "Data Matrix")
	bc, err := datamatrix.Encode(data)
	if err != nil {
		return nil, backend.Internal(err, "encode Data Matrix")
	}
	return fromBarcode(bc), nil
}

// encodeCode128 makes a Code 128 (height 1 module row).
func encodeCode128(data string) (m *matrix, err error) {
	defer recoverInto(&err, "Code 128")
	bc, err := code128.Encode(data)
	if err != nil {
		return nil, backend.Internal(err, "encode Code 128")
	}
	return fromBarcode(bc), nil
}

// code128SubsetBModules is the width of data in Code 128 subset B only (what
// a Zebra printer makes from ^BC mode N): start, one symbol per character,
// check, stop. boombuler may switch to subset C for digit runs, which is
// narrower; layout reserves this worst case.
func code128SubsetBModules(data string) int { return 11*(len(data)+2) + 13 }

func recoverInto(err *error, what string) {
	if r := recover(); r != nil {
		*err = backend.Internal(fmt.Errorf("%v", r), "encode %s", what)
	}
}

// drawMatrix paints m at (x, y), each module modW × modH dots (a Code 128
// row is one module tall: modH is the bar height).
func drawMatrix(img *image.Gray, m *matrix, x, y, modW, modH int) {
	b := img.Bounds()
	for my := 0; my < m.h; my++ {
		for mx := 0; mx < m.w; mx++ {
			if !m.at(mx, my) {
				continue
			}
			for py := y + my*modH; py < y+(my+1)*modH; py++ {
				if py < b.Min.Y || py >= b.Max.Y {
					continue
				}
				row := img.Pix[(py-b.Min.Y)*img.Stride:]
				for px := x + mx*modW; px < x+(mx+1)*modW; px++ {
					if px >= b.Min.X && px < b.Max.X {
						row[px-b.Min.X] = 0
					}
				}
			}
		}
	}
}
