package scan

import (
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzDecode: whatever the bytes, Decode returns (never panics, never
// allocates without bound) within its budget, with a sentinel error when it
// finds nothing.
func FuzzDecode(f *testing.F) {
	syms := genSymbols(f)
	f.Add(encPNG(f, render(syms[0], 2)))      // DataMatrix PNG
	f.Add(encJPEG(f, render(syms[1], 2), 75)) // QR JPEG
	f.Add(withExif(encJPEG(f, render(syms[4], 1), 60), 6))
	f.Add(rawPNG(40, 30, zeroZlib(30*41)))
	f.Add(rawPNG(1, 100000, zeroZlib(2*100000)))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0, 8, 'E', 'x', 'i', 'f', 0, 0})
	f.Add([]byte("GIF89a"))
	f.Add([]byte{})
	lim := Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20, MaxSide: 4096, Budget: 150 * time.Millisecond, Concurrency: 1}
	d := New(lim)
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		syms, err := d.Decode(context.Background(), data, HintNone, nil)
		if el := time.Since(start); el > 3*time.Second {
			t.Fatalf("took %v", el)
		}
		if err == nil {
			if len(syms) == 0 {
				t.Fatal("no error and no symbol")
			}
			return
		}
		if !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrNoBarcode) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzExifOrientation: the marker/TIFF parser never panics, never reads out
// of bounds, and always answers 1..8.
func FuzzExifOrientation(f *testing.F) {
	for _, o := range []uint16{1, 2, 3, 4, 5, 6, 7, 8, 9, 0} {
		for _, be := range []bool{false, true} {
			seg := exifSegment(o, be)
			f.Add(append(append([]byte{0xFF, 0xD8}, seg...), 0xFF, 0xD9))
			f.Add(seg[10:]) // the TIFF body alone
		}
	}
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xC2, 0, 17, 8, 0, 10, 0, 10, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1})
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\xff\xff"))
	f.Add([]byte("II*\x00\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := exifOrientation(data); o < 1 || o > 8 {
			t.Fatalf("exifOrientation = %d", o)
		}
		if o := tiffOrientation(data); o < 1 || o > 8 {
			t.Fatalf("tiffOrientation = %d", o)
		}
		info := scanJPEG(data)
		if info.samples < 0 {
			t.Fatalf("samples %d", info.samples)
		}
		// Wrapped in a JPEG APP1, the TIFF body gives the same answer.
		if len(data) < 60000 {
			seg := append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0, 0}, "Exif\x00\x00"...)
			seg = append(seg, data...)
			n := len(seg) - 4
			seg[4], seg[5] = byte(n>>8), byte(n)
			if a, b := exifOrientation(seg), tiffOrientation(data); a != b {
				t.Fatalf("in APP1 %d, bare %d", a, b)
			}
		}
	})
}
