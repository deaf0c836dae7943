package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/adler32"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// bitWriter writes a deflate bit stream (LSB first).
type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.nacc
	w.nacc += n
	for w.nacc >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nacc -= 8
	}
}

// code writes a Huffman code, most significant bit first.
func (w *bitWriter) code(c uint64, n uint) {
	var r uint64
	for i := uint(0); i < n; i++ {
		r |= (c >> (n - 1 - i) & 1) << i
	}
	w.bits(r, n)
}

func (w *bitWriter) flush() []byte {
	if w.nacc > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc, w.nacc = 0, 0
	}
	return w.out
}

// zeroZlib is a zlib stream of n zero bytes in one dynamic-Huffman block
// where "repeat 258 bytes at distance 1" costs 2 bits: ~1:1000.
func zeroZlib(n int64) []byte {
	w := &bitWriter{out: []byte{0x78, 0x9C}}
	w.bits(1, 1) // BFINAL
	w.bits(2, 2) // dynamic Huffman
	w.bits(286-257, 5)
	w.bits(2-1, 5)
	w.bits(18-4, 4)
	// code length code lengths, in the order of RFC 1951 3.2.7
	clen := map[int]uint64{18: 1, 1: 2, 2: 2}
	for _, s := range []int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1} {
		w.bits(clen[s], 3)
	}
	// canonical codes: 18→0, 1→10, 2→11
	len2 := func() { w.code(0b11, 2) }
	len1 := func() { w.code(0b10, 2) }
	zeros := func(k uint64) { w.code(0, 1); w.bits(k-11, 7) }
	len2()          // literal 0
	zeros(138)      // 1..138
	zeros(117)      // 139..255
	len2()          // 256 end of block
	zeros(28)       // 257..284
	len1()          // 285: length 258
	len1()          // distance code 0
	len1()          // distance code 1 (keeps the tree complete)
	w.code(0b10, 2) // literal 0 (lit/len codes: 285→0, 0→10, 256→11)
	rest := n - 1
	for ; rest >= 258; rest -= 258 {
		w.code(0, 1) // length 258
		w.code(0, 1) // distance 1
	}
	for ; rest > 0; rest-- {
		w.code(0b10, 2)
	}
	w.code(0b11, 2) // end of block
	out := w.flush()
	return binary.BigEndian.AppendUint32(out, uint32(1)|uint32(n%65521)<<16)
}

func pngChunk(typ string, body []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	c = append(c, typ...)
	c = append(c, body...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// rawPNG builds an 8-bit gray PNG of w×h with the given IDAT payload.
func rawPNG(w, h int, idat []byte) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 0, 0, 0, 0)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", idat)...)
	return append(out, pngChunk("IEND", nil)...)
}

// bombPNG is an all-black w×h gray PNG, about a thousandth of its pixels on disk.
func bombPNG(w, h int) []byte { return rawPNG(w, h, zeroZlib(int64(h)*int64(w+1))) }

func TestBombPNGIsValid(t *testing.T) {
	data := bombPNG(300, 200)
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("crafted PNG does not decode: %v", err)
	}
	g, ok := img.(*image.Gray)
	if !ok || g.Bounds().Dx() != 300 || g.Bounds().Dy() != 200 {
		t.Fatalf("got %T %v", img, img.Bounds())
	}
	for _, p := range g.Pix {
		if p != 0 {
			t.Fatal("non-zero pixel")
		}
	}
	if a := adler32.Checksum(make([]byte, 200*301)); binary.BigEndian.Uint32(zeroZlib(200 * 301)[len(zeroZlib(200*301))-4:]) != a {
		t.Fatal("adler32 mismatch")
	}
}

func expectErr(t *testing.T, name string, data []byte, want error) {
	t.Helper()
	d := New(DefaultLimits)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	syms, err := d.Decode(context.Background(), data, HintNone, nil)
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v (%d symbols), want %v", name, err, len(syms), want)
	}
	limit := time.Second // refusals happen before any pixel is decoded
	if want == ErrNoBarcode {
		limit += d.Limits().Budget
	}
	if el > limit {
		t.Errorf("%s: took %v", name, el)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("%s: allocated %d MB", name, alloc>>20)
	}
	t.Logf("%-28s %-40v %8v %6d KB allocated", name, err, el.Round(time.Microsecond), (after.TotalAlloc-before.TotalAlloc)>>10)
}

func TestHostileImages(t *testing.T) {
	bomb := bombPNG(30000, 30000)
	if len(bomb) > 1<<20 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	t.Logf("decompression bomb: 30000x30000 (900 MB of pixels) in %d KB", len(bomb)>>10)

	var gifBuf bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 64, 64), color.Palette{color.White, color.Black})
	if err := gif.Encode(&gifBuf, pal, nil); err != nil {
		t.Fatal(err)
	}
	clean := encJPEG(t, render(genSymbols(t)[1], 4), 90)
	cleanPNG := encPNG(t, render(genSymbols(t)[0], 4))
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	corrupt := append([]byte(nil), clean...)
	for i := len(corrupt) / 3; i < len(corrupt)/2; i++ {
		corrupt[i] = byte(rng.UintN(256))
	}
	// JPEG SOF0 declaring 60000×60000
	hugeJPEG := []byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0xEA, 0x60, 0xEA, 0x60, 1, 1, 0x11, 0, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3f, 0}

	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"decompression bomb PNG", bomb, ErrTooLarge},
		{"1x100000 PNG", rawPNG(1, 100000, zeroZlib(2*100000)), ErrTooLarge},
		{"3x5000 PNG (aspect)", rawPNG(3, 5000, zeroZlib(4*5000)), ErrTooLarge},
		{"6000x6000 bomb (36 MP)", bombPNG(6000, 6000), ErrTooLarge},
		{"JPEG header 60000x60000", hugeJPEG, ErrTooLarge},
		{"over MaxBytes", append(append([]byte(nil), clean[:3]...), make([]byte, 21<<20)...), ErrTooLarge},
		{"truncated JPEG", clean[:len(clean)/2], ErrNotImage},
		{"truncated PNG", cleanPNG[:len(cleanPNG)*2/3], ErrNotImage},
		{"JPEG header only", clean[:200], ErrNotImage},
		{"PNG signature only", []byte("\x89PNG\r\n\x1a\n"), ErrNotImage},
		{"0x0 PNG", rawPNG(0, 0, zeroZlib(1)), ErrNotImage},
		{"text file", []byte("name,dose\nparacetamolo,1000 mg\n"), ErrNotImage},
		{"random bytes", random, ErrNotImage},
		{"zero-length body", nil, ErrNotImage},
		{"GIF", gifBuf.Bytes(), ErrNotImage},
		{"gzip body", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, ErrNotImage},
		{"corrupt JPEG data", corrupt, nil},
		{"blank PNG", bombPNG(640, 480), ErrNoBarcode},
	}
	for _, c := range cases {
		if c.want == nil {
			// Corrupt entropy data: image/jpeg may or may not notice; either
			// way no panic and a sentinel error (or a read).
			_, err := New(DefaultLimits).Decode(context.Background(), c.data, HintNone, nil)
			if err != nil && !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrNoBarcode) {
				t.Errorf("%s: unexpected error %v", c.name, err)
			}
			continue
		}
		expectErr(t, c.name, c.data, c.want)
	}
	// BaselineDecode applies the same preflight.
	if _, err := BaselineDecode(bomb); !errors.Is(err, ErrTooLarge) {
		t.Errorf("BaselineDecode(bomb) = %v", err)
	}
}

func TestProgressiveJPEGMemoryCap(t *testing.T) {
	// SOF2 (progressive) 4000×3000, 3 components 4:4:4: 36 M samples ×
	// 4 bytes of coefficients on top of the image — above 8 bytes × 12 MP.
	sof := []byte{0xFF, 0xD8, 0xFF, 0xC2, 0, 17, 8, 0x0B, 0xB8, 0x0F, 0xA0, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3f, 0}
	d := New(Limits{MaxPixels: 12_000_000})
	if _, err := d.Decode(context.Background(), sof, HintNone, nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	info := scanJPEG(sof)
	if !info.progressive || info.samples != 36_000_000 {
		t.Fatalf("scanJPEG = %+v", info)
	}
}

func TestBusyAndBudget(t *testing.T) {
	d := New(Limits{Concurrency: 1, Budget: 100 * time.Millisecond})
	data := encPNG(t, render(genSymbols(t)[0], 4))
	d.sem <- struct{}{} // every slot taken
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := d.Decode(ctx, data, HintNone, nil)
	cancel()
	if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting for a slot: got %v, want ErrBusy", err)
	}
	<-d.sem

	// A large noisy photo with nothing in it: the budget stops the search.
	rng := rand.New(rand.NewPCG(3, 3))
	noise := image.NewGray(image.Rect(0, 0, 1600, 1200))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(100 + rng.IntN(80))
	}
	photo := encJPEG(t, noise, 80)
	start := time.Now()
	_, err = d.Decode(context.Background(), photo, HintNone, nil)
	el := time.Since(start)
	if !errors.Is(err, ErrNoBarcode) {
		t.Fatalf("got %v", err)
	}
	if el > 100*time.Millisecond+700*time.Millisecond {
		t.Fatalf("budget 100ms, took %v", el)
	}
	t.Logf("budget 100 ms on a 1600x1200 noise photo: returned after %v", el.Round(time.Millisecond))

	// A cancelled caller context ends the search too.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err = d.Decode(ctx, photo, HintNone, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: got %v", err)
	}
}

func TestConcurrencyBound(t *testing.T) {
	const limit = 2
	d := New(Limits{Concurrency: limit, Budget: 300 * time.Millisecond})
	var peak atomic.Int64
	testHookInFlight = func(n int64) {
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				return
			}
		}
	}
	defer func() { testHookInFlight = nil }()
	cases := genCorpus(t)
	var wg sync.WaitGroup
	var okN atomic.Int64
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(c genCase) {
			defer wg.Done()
			if _, err := d.Decode(context.Background(), c.data, HintNone, nil); err == nil {
				okN.Add(1)
			}
		}(cases[(i*7)%len(cases)])
	}
	wg.Wait()
	if p := peak.Load(); p > limit || p < 1 {
		t.Fatalf("peak decodes in flight %d, limit %d", p, limit)
	}
	if n := d.inFlight.Load(); n != 0 || len(d.sem) != 0 {
		t.Fatalf("in flight after all returned: %d (%d slots held)", n, len(d.sem))
	}
	t.Logf("16 concurrent callers: peak in flight %d (limit %d), %d decoded", peak.Load(), limit, okN.Load())
}

func TestExifOrientationApplied(t *testing.T) {
	// An asymmetric 3×2 image stored under each orientation must come back upright.
	up := &gray{w: 3, h: 2, pix: []byte{1, 2, 3, 4, 5, 6}}
	upImg := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(upImg.Pix, up.pix)
	for o := 1; o <= 8; o++ {
		stored := storeOrientedAll(upImg, o)
		got := grayFromImage(stored).orient(o)
		if got.w != 3 || got.h != 2 || !bytes.Equal(got.pix, up.pix) {
			t.Errorf("orientation %d: got %dx%d %v", o, got.w, got.h, got.pix)
		}
	}
	for _, o := range []uint16{1, 3, 6, 8} {
		for _, be := range []bool{false, true} {
			jpg := []byte{0xFF, 0xD8}
			jpg = append(jpg, exifSegment(o, be)...)
			jpg = append(jpg, 0xFF, 0xD9)
			if got := exifOrientation(jpg); got != int(o) {
				t.Errorf("orientation %d (big endian %v): parsed %d", o, be, got)
			}
		}
	}
}

// storeOrientedAll is the inverse of each EXIF orientation, written from
// the EXIF definitions (where row 0 and column 0 of the stored image go).
func storeOrientedAll(img *image.Gray, o int) *image.Gray {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	sw, sh := w, h
	if o >= 5 {
		sw, sh = h, w
	}
	out := image.NewGray(image.Rect(0, 0, sw, sh))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var sx, sy int
			switch o {
			case 1:
				sx, sy = x, y
			case 2: // stored column 0 is the visual right
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4: // stored row 0 is the visual bottom
				sx, sy = x, h-1-y
			case 5: // row 0 = visual left, column 0 = visual top
				sx, sy = y, x
			case 6: // row 0 = visual right, column 0 = visual top
				sx, sy = y, w-1-x
			case 7: // row 0 = visual right, column 0 = visual bottom
				sx, sy = h-1-y, w-1-x
			case 8: // row 0 = visual left, column 0 = visual bottom
				sx, sy = h-1-y, x
			}
			out.Pix[sy*out.Stride+sx] = img.Pix[y*img.Stride+x]
		}
	}
	return out
}
