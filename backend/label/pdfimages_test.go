package label

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"regexp"
	"strconv"
)

// pdfImage is an image XObject found in a PDF.
type pdfImage struct {
	width, height int
	img           image.Image
}

var (
	reObj    = regexp.MustCompile(`(?s)\d+ 0 obj\s*<<(.*?)>>\s*stream\r?\n`)
	reWidth  = regexp.MustCompile(`/Width (\d+)`)
	reHeight = regexp.MustCompile(`/Height (\d+)`)
	reBPC    = regexp.MustCompile(`/BitsPerComponent (\d+)`)
	reLength = regexp.MustCompile(`/Length (\d+)`)
	rePred   = regexp.MustCompile(`/Predictor (\d+)`)
)

// pdfImages finds the image XObjects of a PDF written by fpdf (uncompressed
// object table, no object streams) and rebuilds each as an image: a stream
// with PNG predictors (/Predictor ≥ 10, which is how fpdf stores a PNG's
// IDAT data) becomes a PNG again around the same zlib data; a plain
// FlateDecode stream is inflated into pixels. Only 8-bit DeviceGray and
// DeviceRGB, which is what the label embeds.
func pdfImages(pdf []byte) ([]pdfImage, error) {
	var out []pdfImage
	for _, m := range reObj.FindAllSubmatchIndex(pdf, -1) {
		dict := string(pdf[m[2]:m[3]])
		if !regexp.MustCompile(`/Subtype\s*/Image`).MatchString(dict) {
			continue
		}
		num := func(re *regexp.Regexp) (int, error) {
			s := re.FindStringSubmatch(dict)
			if s == nil {
				return 0, fmt.Errorf("image without %s", re)
			}
			return strconv.Atoi(s[1])
		}
		w, err := num(reWidth)
		if err != nil {
			return nil, err
		}
		h, err := num(reHeight)
		if err != nil {
			return nil, err
		}
		bpc, err := num(reBPC)
		if err != nil {
			return nil, err
		}
		n, err := num(reLength)
		if err != nil {
			return nil, err
		}
		start := m[1]
		if start+n > len(pdf) {
			return nil, fmt.Errorf("stream runs past the end")
		}
		data := pdf[start : start+n]
		var colors, colorType int
		switch {
		case regexp.MustCompile(`/ColorSpace\s*/DeviceGray`).MatchString(dict):
			colors, colorType = 1, 0
		case regexp.MustCompile(`/ColorSpace\s*/DeviceRGB`).MatchString(dict):
			colors, colorType = 3, 2
		default:
			return nil, fmt.Errorf("colour space outside the subset: %s", dict)
		}
		if bpc != 8 || !regexp.MustCompile(`/Filter\s*/FlateDecode`).MatchString(dict) {
			return nil, fmt.Errorf("image encoding outside the subset: %s", dict)
		}
		var img image.Image
		if p := rePred.FindStringSubmatch(dict); p != nil && atoi(p[1]) >= 10 {
			img, err = png.Decode(bytes.NewReader(wrapPNG(w, h, bpc, colorType, data)))
		} else {
			img, err = rawImage(w, h, colors, data)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, pdfImage{w, h, img})
	}
	return out, nil
}

// wrapPNG builds a PNG file around zlib data that has PNG row filters.
func wrapPNG(w, h, bpc, colorType int, idat []byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(data)))
		b.Write(l[:])
		td := append([]byte(typ), data...)
		b.Write(td)
		binary.BigEndian.PutUint32(l[:], crc32.ChecksumIEEE(td))
		b.Write(l[:])
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = byte(bpc), byte(colorType)
	chunk("IHDR", ihdr)
	chunk("IDAT", idat)
	chunk("IEND", nil)
	return b.Bytes()
}

func rawImage(w, h, colors int, data []byte) (image.Image, error) {
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	px, err := io.ReadAll(io.LimitReader(zr, int64(w*h*colors)+1))
	if err != nil {
		return nil, err
	}
	if len(px) != w*h*colors {
		return nil, fmt.Errorf("image data: %d bytes for %dx%dx%d", len(px), w, h, colors)
	}
	if colors == 1 {
		return &image.Gray{Pix: px, Stride: w, Rect: image.Rect(0, 0, w, h)}, nil
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		copy(img.Pix[4*i:], px[3*i:3*i+3])
		img.Pix[4*i+3] = 0xff
	}
	return img, nil
}

func atoi(s string) int {
	v, _ := strconv.Atoi(s)
	return v
}
