package label

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/draw"
	"image/png"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"

	"github.com/corsia-cce/corsia/backend"
)

func renderPNG(c content, s Stock) ([]byte, string, error) {
	m, err := newGoMeasurer(false)
	if err != nil {
		return nil, "", err
	}
	l, err := layoutFor(c, s, RasterDPI, m)
	if err != nil {
		return nil, "", err
	}
	img := rasterize(l, m)
	b, err := encodePNG(img, RasterDPI)
	if err != nil {
		return nil, "", err
	}
	return b, ContentTypePNG, nil
}

// rasterize draws a layout in 8-bit gray: boxes, then codes, then text.
func rasterize(l *layout, m *goMeasurer) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, l.w, l.h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	for _, it := range l.items {
		switch it.kind {
		case kindBox:
			draw.Draw(img, image.Rect(it.x, it.y, it.x+it.w, it.y+it.h), image.Black, image.Point{}, draw.Src)
		case kindDataMatrix:
			drawMatrix(img, it.sym, it.x, it.y, it.module, it.module)
		case kindCode128:
			drawMatrix(img, it.sym, it.x, it.y, it.module, it.h)
		}
	}
	for _, it := range l.items {
		if it.kind != kindText || it.text == "" {
			continue
		}
		src := image.Black
		if it.reverse {
			src = image.White
		}
		dr := font.Drawer{Dst: img, Src: src, Face: m.face(it.style, it.size), Dot: fixed.P(it.x, it.y+it.ascent)}
		if dr.Face != nil {
			dr.DrawString(it.text)
		}
	}
	return img
}

// barcodeImage draws one symbol with its quiet zone, at dots per module, as
// the PDF embeds it: the Data Matrix with quiet zones all round, the Code
// 128 with quiet zones left and right.
func barcodeImage(it item) *image.Gray {
	qy := it.quiet
	if it.kind == kindCode128 {
		qy = 0
	}
	img := image.NewGray(image.Rect(0, 0, it.w+2*it.quiet, it.h+2*qy))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	modH := it.module
	if it.kind == kindCode128 {
		modH = it.h
	}
	drawMatrix(img, it.sym, it.quiet, qy, it.module, modH)
	return img
}

// encodePNG encodes img and records its resolution (pHYs), so that office
// software prints it at its true size.
func encodePNG(img image.Image, dpi int) ([]byte, error) {
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		return nil, backend.Internal(err, "encode PNG")
	}
	b := buf.Bytes()
	const ihdrEnd = 8 + 4 + 4 + 13 + 4 // signature, IHDR length, type, data, CRC
	if len(b) < ihdrEnd || string(b[12:16]) != "IHDR" {
		return b, nil
	}
	ppm := uint32(float64(dpi)/0.0254 + 0.5)
	chunk := make([]byte, 4+4+9+4)
	binary.BigEndian.PutUint32(chunk[0:], 9)
	copy(chunk[4:], "pHYs")
	binary.BigEndian.PutUint32(chunk[8:], ppm)
	binary.BigEndian.PutUint32(chunk[12:], ppm)
	chunk[16] = 1 // metre
	binary.BigEndian.PutUint32(chunk[17:], crc32.ChecksumIEEE(chunk[4:17]))
	out := make([]byte, 0, len(b)+len(chunk))
	out = append(out, b[:ihdrEnd]...)
	out = append(out, chunk...)
	return append(out, b[ihdrEnd:]...), nil
}
