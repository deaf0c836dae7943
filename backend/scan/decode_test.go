package scan

import (
	"context"
	"image"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/datamatrix"
	"github.com/boombuler/barcode/ean"
	"golang.org/x/image/draw"
)

func mustBC(t testing.TB) func(barcode.Barcode, error) barcode.Barcode {
	return func(bc barcode.Barcode, err error) barcode.Barcode {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return bc
	}
}

// scene lays several labels on a grey, noisy 1600×1200 photo.
func scene(t testing.TB, labels []*image.Gray, at []image.Point) *image.Gray {
	rng := rand.New(rand.NewPCG(7, 7))
	img := image.NewGray(image.Rect(0, 0, 1600, 1200))
	for i := range img.Pix {
		img.Pix[i] = uint8(150 + rng.IntN(25))
	}
	for i, l := range labels {
		draw.Draw(img, l.Bounds().Add(at[i]), l, image.Point{}, draw.Src)
	}
	return img
}

func symTexts(syms []Symbol) []string {
	var out []string
	for _, s := range syms {
		out = append(out, s.Symbology+":"+strings.ReplaceAll(s.Text, "\x1d", "<GS>"))
	}
	slices.Sort(out)
	return out
}

func TestSeveralSymbolsInOneFrame(t *testing.T) {
	syms := genSymbols(t)
	dm, c39, e13 := syms[0], syms[3], syms[4]
	// A drug pack: GS1 DataMatrix, Code 32 and EAN-13, none at the centre.
	img := scene(t, []*image.Gray{render(dm, 4), render(c39, 3), render(e13, 3)},
		[]image.Point{{150, 150}, {900, 200}, {500, 750}})
	d := New(rateLimits)
	got, err := d.Decode(context.Background(), encJPEG(t, img, 85), HintPack, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"code39:" + c39.want, "datamatrix:" + strings.ReplaceAll(dm.want, "\x1d", "<GS>"), "ean13:" + e13.want}
	if !slices.Equal(symTexts(got), want) {
		t.Fatalf("got %q, want %q", symTexts(got), want)
	}
	for _, s := range got {
		if s.Symbology == "datamatrix" && !s.GS1 {
			t.Error("GS1 DataMatrix without GS1 flag")
		}
		if len(s.Points) == 0 {
			t.Errorf("%s without points", s.Symbology)
		}
	}

	// Two wristbands' DataMatrix codes side by side (a nurse's tray).
	w1 := genSymbol{sym: "datamatrix", want: "CRS1-R-000123-7", bc: mustBC(t)(datamatrix.Encode("CRS1-R-000123-7"))}
	w2 := genSymbol{sym: "datamatrix", want: "CRS1-R-000456-2", bc: mustBC(t)(datamatrix.Encode("CRS1-R-000456-2"))}
	img = scene(t, []*image.Gray{render(w1, 6), render(w2, 6)}, []image.Point{{200, 400}, {1100, 500}})
	got, err = d.Decode(context.Background(), encPNG(t, img), HintWristband, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"datamatrix:CRS1-R-000123-7", "datamatrix:CRS1-R-000456-2"}
	if !slices.Equal(symTexts(got), want) {
		t.Fatalf("got %q, want %q", symTexts(got), want)
	}
}

func TestGS1Normalisation(t *testing.T) {
	// GS1-128 with a variable-length AI followed by FNC1.
	content := string(code128.FNC1) + "0108001234567891" + "10ABC12" + string(code128.FNC1) + "21XYZ"
	s := genSymbol{sym: "code128", oneD: true, bc: mustBC(t)(code128.Encode(content))}
	got, err := New(rateLimits).Decode(context.Background(), encPNG(t, render(s, 3)), HintPack, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Text != "0108001234567891"+"10ABC12\x1d21XYZ" || !got[0].GS1 || got[0].Symbology != "code128" {
		t.Fatalf("got %+v", got)
	}
	// Plain Code 128: no GS1 flag, text untouched.
	s = genSymbol{sym: "code128", oneD: true, bc: mustBC(t)(code128.Encode("R0001237"))}
	got, err = New(rateLimits).Decode(context.Background(), encPNG(t, render(s, 3)), HintWristband, nil)
	if err != nil || len(got) != 1 || got[0].Text != "R0001237" || got[0].GS1 {
		t.Fatalf("got %+v %v", got, err)
	}
}

func TestAcceptFiltersOnly1D(t *testing.T) {
	syms := genSymbols(t)
	img := scene(t, []*image.Gray{render(syms[1], 5), render(syms[2], 3)}, []image.Point{{200, 300}, {800, 500}})
	data := encPNG(t, img)
	var asked []string
	reject := func(s Symbol) bool { asked = append(asked, s.Symbology); return false }
	got, err := New(rateLimits).Decode(context.Background(), data, HintBadge, reject)
	if err != nil {
		t.Fatal(err)
	}
	// The QR code is returned although rejected; the Code 128 is dropped.
	if len(got) != 1 || got[0].Symbology != "qr" {
		t.Fatalf("got %q", symTexts(got))
	}
	if !slices.Contains(asked, "code128") {
		t.Fatalf("accept never saw the Code 128 (asked %v)", asked)
	}
	// With nothing accepted and only 1D present: no barcode.
	img = scene(t, []*image.Gray{render(syms[2], 3)}, []image.Point{{500, 500}})
	lim := rateLimits
	lim.Budget = 3 * time.Second
	if got, err := New(lim).Decode(context.Background(), encPNG(t, img), HintWristband, reject); err == nil {
		t.Fatalf("got %q", symTexts(got))
	}
}

func TestEAN8OnlyAsLastResort(t *testing.T) {
	s := genSymbol{sym: "ean8", oneD: true, bc: mustBC(t)(ean.Encode("8001234"))}
	s.want = s.bc.Content()
	data := encPNG(t, render(s, 3))
	got, err := New(rateLimits).Decode(context.Background(), data, HintNone, nil)
	if err != nil || len(got) != 1 || got[0].Symbology != "ean8" || got[0].Text != s.want {
		t.Fatalf("hint none: got %q %v", symTexts(got), err)
	}
	got, err = New(rateLimits).Decode(context.Background(), data, HintPack, nil)
	for _, g := range got {
		if g.Symbology == "ean8" || g.Symbology == "upce" {
			t.Fatalf("hint pack read %q", symTexts(got))
		}
	}
	_ = err
}

func TestPhoto20MP(t *testing.T) {
	// A 5184×3888 (20 MP) phone photo: a turned wristband label with a
	// DataMatrix and its Code 128 fallback, in a grey room.
	syms := genSymbols(t)
	rng := rand.New(rand.NewPCG(9, 9))
	img := image.NewGray(image.Rect(0, 0, 5184, 3888))
	for i := range img.Pix {
		img.Pix[i] = uint8(120 + rng.IntN(30))
	}
	lab, lab2 := render(syms[0], 12), render(syms[2], 5)
	draw.Draw(img, lab.Bounds().Add(image.Pt(3000, 1200)), lab, image.Point{}, draw.Src)
	draw.Draw(img, lab2.Bounds().Add(image.Pt(900, 2400)), lab2, image.Point{}, draw.Src)
	data := encJPEG(t, rotateImg(img, 20, 130), 85)

	d := New(DefaultLimits)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	got, err := d.Decode(context.Background(), data, HintWristband, nil)
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"code128:" + syms[2].want, "datamatrix:" + strings.ReplaceAll(syms[0].want, "\x1d", "<GS>")}
	if !slices.Equal(symTexts(got), want) {
		t.Fatalf("got %q, want %q", symTexts(got), want)
	}
	t.Logf("20 MP JPEG (%d KB): %v, %d MB allocated", len(data)>>10, el.Round(time.Millisecond), (after.TotalAlloc-before.TotalAlloc)>>20)

	// Eight nurses upload such a photo at once: the semaphore keeps two
	// decodes in memory at a time.
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	idle := sample[0].Value.Uint64()
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				metrics.Read(sample)
				peak = max(peak, sample[0].Value.Uint64())
			}
		}
	}()
	start = time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.Decode(context.Background(), data, HintWristband, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	t.Logf("8 concurrent 20 MP decodes (Concurrency %d): %v, live heap peak %d MB above idle",
		d.Limits().Concurrency, time.Since(start).Round(time.Millisecond), (peak-idle)>>20)
}

// TestNoiseFalsePositives: streaky, barcode-like noise makes the 1D readers
// report checksum-valid reads (traps.md); they must all go through accept,
// and with a catalogue behind accept nothing comes out.
func TestNoiseFalsePositives(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 5))
	catalogue := map[string]bool{"8001234567890": true}
	lim := rateLimits
	lim.Budget = 500 * time.Millisecond
	d := New(lim)
	const n = 10
	var photos [][]byte
	for i := 0; i < n; i++ {
		img := image.NewGray(image.Rect(0, 0, 360, 270))
		col := make([]float64, 360)
		v := 128.0
		for x := range col {
			if rng.IntN(3) == 0 {
				v = 40 + rng.Float64()*180
			}
			col[x] = v
		}
		for y := 0; y < 270; y++ {
			for x := 0; x < 360; x++ {
				img.Pix[y*img.Stride+x] = clamp8(col[x] + rng.NormFloat64()*20)
			}
		}
		if i%2 == 1 {
			img = rotateImg(img, float64(rng.IntN(90)), 128)
		}
		photos = append(photos, encJPEG(t, img, 80))
	}
	var mu sync.Mutex
	var raw []string
	parallel(n, func(i int) {
		got, err := d.Decode(context.Background(), photos[i], HintNone, func(s Symbol) bool {
			mu.Lock()
			raw = append(raw, s.Symbology+":"+s.Text)
			mu.Unlock()
			return catalogue[s.Text]
		})
		for _, s := range got {
			if s.Symbology != "qr" && s.Symbology != "datamatrix" && s.Symbology != "aztec" {
				t.Errorf("noise photo %d: 1D read %s:%s returned", i, s.Symbology, s.Text)
			}
		}
		if err == nil && len(got) == 0 {
			t.Error("nil error without symbols")
		}
	})
	t.Logf("%d streaky noise photos: %d distinct 1D reads offered to accept, all refused: %q", n, len(raw), raw)
}
