package scan

import (
	"context"
	"image"
	"math"
	"time"

	"github.com/makiuchi-d/gozxing"
)

type binKind int

const (
	binHybrid binKind = iota
	binGlobal
)

// view is one derived image the readers look at, with the map from its
// pixel coordinates to the upright photo's.
type view struct {
	g      *gray
	toOrig affine
	src    *lumSource
	bmp    [2]*gozxing.BinaryBitmap
}

func newView(g *gray, toOrig affine) *view { return &view{g: g, toOrig: toOrig} }

// derive makes a view from v's image through local (new → v coordinates).
func (v *view) derive(g *gray, local affine) *view { return newView(g, v.toOrig.after(local)) }

func (v *view) bitmap(k binKind) *gozxing.BinaryBitmap {
	if v.bmp[k] == nil {
		if v.src == nil {
			v.src = newLumSource(v.g)
		}
		var b gozxing.Binarizer
		if k == binHybrid {
			b = gozxing.NewHybridBinarizer(v.src)
		} else {
			b = gozxing.NewGlobalHistgramBinarizer(v.src)
		}
		v.bmp[k], _ = gozxing.NewBinaryBitmap(b)
	}
	return v.bmp[k]
}

// run is the state of one Decode call.
type run struct {
	ctx        context.Context
	deadline   time.Time
	hint       Hint
	accept     func(Symbol) bool
	formats    []*format
	lastResort []*format
	readers    map[*format]gozxing.Reader
	found      []Symbol
	seen       map[string]bool
	accepted   int
	attempts   int
	stopped    bool
	tracer     func(stage string, attempts int)
}

func newRun(ctx context.Context, deadline time.Time, hint Hint, accept func(Symbol) bool) *run {
	fs, last := plan(hint)
	return &run{
		ctx: ctx, deadline: deadline, hint: hint, accept: accept,
		formats: fs, lastResort: last,
		readers: map[*format]gozxing.Reader{}, seen: map[string]bool{},
		tracer: testHookTrace,
	}
}

// expired is checked before every attempt and every derived image.
func (r *run) expired() bool {
	if !r.stopped && (r.ctx.Err() != nil || !time.Now().Before(r.deadline)) {
		r.stopped = true
	}
	return r.stopped
}

func (r *run) reader(f *format) gozxing.Reader {
	rd := r.readers[f]
	if rd == nil {
		rd = f.newReader()
		r.readers[f] = rd
	}
	return rd
}

// add records a symbol; it reports whether it was new.
func (r *run) add(s Symbol, oneD bool) bool {
	if s.Text == "" {
		return false
	}
	key := s.Symbology + "\x00" + s.Text
	if r.seen[key] {
		return false
	}
	r.seen[key] = true
	ok := r.accept == nil || r.accept(s)
	if oneD && !ok {
		return true // a 1D read nobody vouches for: dropped
	}
	r.found = append(r.found, s)
	if ok {
		r.accepted++
	}
	return true
}

const maxPerView = 4

// try runs one reader on one view. With multi, each new read is masked out
// and the reader runs again to find further symbols of the same format.
func (r *run) try(v *view, k binKind, f *format, hints map[gozxing.DecodeHintType]interface{}, multi bool) {
	for n := 0; n < maxPerView; n++ {
		if r.expired() {
			return
		}
		rd := r.reader(f)
		r.attempts++
		res, err := safeDecode(rd, v.bitmap(k), hints)
		if err != nil || res == nil {
			if _, ok := err.(gozxing.ReaderException); !ok {
				delete(r.readers, f) // a panic may have left it in a bad state
			} else {
				rd.Reset()
			}
			return
		}
		rd.Reset()
		if !r.add(normalize(res, v.toOrig, r.hint), f.oneD) || !multi {
			return
		}
		box, ok := maskBox(res, v.g.w, v.g.h, f.oneD)
		if !ok {
			return
		}
		g := v.g.clone()
		g.fillRect(box, 255)
		v = newView(g, v.toOrig)
	}
}

// maskBox is the region to blank to look for another symbol.
func maskBox(res *gozxing.Result, w, h int, oneD bool) (image.Rectangle, bool) {
	pts := res.GetResultPoints()
	if len(pts) == 0 {
		return image.Rectangle{}, false
	}
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		if p == nil {
			continue
		}
		minX, maxX = math.Min(minX, p.GetX()), math.Max(maxX, p.GetX())
		minY, maxY = math.Min(minY, p.GetY()), math.Max(maxY, p.GetY())
	}
	if math.IsInf(minX, 0) {
		return image.Rectangle{}, false
	}
	dx, dy := maxX-minX, maxY-minY
	var mx, my float64
	if oneD { // a scan line: the bars extend across it
		l := math.Max(dx, dy)
		if dx >= dy {
			mx, my = 0.08*l+4, 0.35*l
		} else {
			mx, my = 0.35*l, 0.08*l+4
		}
	} else { // finder centres or corners: the symbol extends a little beyond
		s := math.Max(dx, dy)
		mx, my = 0.2*s+4, 0.2*s+4
	}
	rect := image.Rect(int(minX-mx), int(minY-my), int(math.Ceil(maxX+mx)), int(math.Ceil(maxY+my)))
	rect = rect.Intersect(image.Rect(0, 0, w, h))
	return rect, !rect.Empty()
}

// scanView runs formats on a view: with each binarizer for 2D formats, once
// for 1D formats (both binarizers share the same row thresholding).
func (r *run) scanView(v *view, fs []*format, bins []binKind, multi bool) {
	for i, k := range bins {
		for _, f := range fs {
			if f.oneD && i > 0 {
				continue
			}
			r.try(v, k, f, f.hints, multi)
		}
	}
}

var (
	bothBins   = []binKind{binHybrid, binGlobal}
	hybridOnly = []binKind{binHybrid}
)

func only(fs []*format, pred func(*format) bool) []*format {
	var out []*format
	for _, f := range fs {
		if pred(f) {
			out = append(out, f)
		}
	}
	return out
}

// scan is the search strategy (see the package documentation).
func (r *run) scan(full *gray) {
	fullView := newView(full, identity)
	base, factor := fullView, 1
	if long := max(full.w, full.h); long > workSide {
		factor = (long + workSide - 1) / workSide
		g, m := full.boxDown(factor)
		base = fullView.derive(g, m)
	}
	all := r.formats
	twoD := only(all, func(f *format) bool { return !f.oneD })
	rotatable := only(all, func(f *format) bool { return f.oneD || f == fDM })
	done := func() bool { return r.accepted > 0 || r.expired() }
	angles := []float64{45, 30, 60, 15, 75}
	flatR := max(16, max(base.g.w, base.g.h)/20)

	// 1. Cheap passes: every format on the working image, both binarizers
	// for 2D, masking each find to look for more; for a dull photo, a
	// contrast-stretched and a flattened (uneven light removed) copy too.
	r.trace("base")
	r.scanView(base, all, bothBins, true)
	lo, hi := base.g.percentiles(0.01, 0.99)
	dull := int(hi)-int(lo) < 110
	rotSrc := base // what the arbitrary angles turn
	if dull && !r.expired() {
		r.trace("stretch+flatten (dull)")
		// gozxing's row thresholding uses 32 luminance buckets: a dull
		// photo only fills a few of them until stretched.
		rotSrc = base.derive(base.g.stretch(lo, hi), identity)
		r.scanView(rotSrc, all, bothBins, true)
		if !r.expired() {
			r.scanView(base.derive(base.g.flatten(flatR), identity), all, bothBins, true)
		}
	}

	// 2. Likely regions (blocks dense in strong edges), cropped at full
	// resolution and upscaled when small. gozxing's DataMatrix detector
	// grows a white rectangle from the image centre, so a DataMatrix away
	// from the centre of a busy photo is only found this way.
	var regions []*view
	for _, rc := range base.g.regions(4) {
		if rc.Dx()*rc.Dy()*2 > base.g.w*base.g.h {
			continue // about the whole frame: already seen
		}
		src := base
		if factor > 1 {
			src = fullView
			rc = image.Rect(rc.Min.X*factor, rc.Min.Y*factor, rc.Max.X*factor, rc.Max.Y*factor)
		}
		g, m := src.g.crop(rc)
		v := src.derive(g, m)
		if max(g.w, g.h) < 500 {
			g2, m2 := g.resize(g.w*2, g.h*2)
			v = v.derive(g2, m2)
		}
		regions = append(regions, v)
	}
	for _, v := range regions {
		if r.expired() {
			return
		}
		r.trace("region")
		r.scanView(v, all, bothBins, true)
		if len(twoD) > 0 && !r.expired() {
			r.scanView(v.derive(v.g.darkClip(), identity), twoD, hybridOnly, true)
		}
	}
	if done() {
		return
	}

	// 3. Inverted (light on dark) symbols.
	r.trace("inverted")
	r.scanView(base.derive(base.g.invert(), identity), all, bothBins, true)
	if done() {
		return
	}

	// 4. Arbitrary angles: 1D rows must cross every bar, and the DataMatrix
	// detector dislikes diagonal symbols. TRY_HARDER adds +90° to each.
	// Large photos are turned at half resolution; dull ones stretched.
	if max(rotSrc.g.w, rotSrc.g.h) > 1400 {
		g, m := rotSrc.g.boxDown(2)
		rotSrc = rotSrc.derive(g, m)
	}
	for _, deg := range angles {
		if r.expired() {
			return
		}
		r.trace("angle")
		g, m := rotSrc.g.rotate(deg, 255)
		r.scanView(rotSrc.derive(g, m), rotatable, hybridOnly, false)
		if done() {
			return
		}
	}

	// ... and each region turned likewise.
	for _, v := range regions {
		for _, deg := range angles {
			if r.expired() {
				return
			}
			r.trace("region angle")
			g, m := v.g.rotate(deg, 255)
			r.scanView(v.derive(g, m), rotatable, hybridOnly, false)
		}
		if done() {
			return
		}
	}

	// 5. 2D extras: quarter turns, a white margin for symbols touching the
	// border, and PURE_BARCODE for clean renders.
	if len(twoD) > 0 {
		r.trace("2d extras")
		for k := 1; k <= 3 && !r.expired(); k++ {
			g, m := base.g.rot90(k)
			r.scanView(base.derive(g, m), only(twoD, func(f *format) bool { return f == fDM }), bothBins, false)
		}
		margin := max(base.g.w, base.g.h)/8 + 8
		g, m := base.g.pad(margin, 255)
		r.scanView(base.derive(g, m), twoD, bothBins, false)
		for _, f := range twoD {
			r.try(base, binHybrid, f, pureHints, false)
		}
		if done() {
			return
		}
	}

	// 6. Enhancements: unsharp masks against blur, contrast stretch and
	// flattening (if not done yet), half scale.
	enh := []func() *gray{
		func() *gray { return base.g.sharpen(2, 2) },
		func() *gray { return base.g.sharpen(3, 3) },
	}
	if !dull {
		enh = append(enh,
			func() *gray { return base.g.stretch(lo, hi) },
			func() *gray { return base.g.flatten(flatR) })
	}
	for _, mk := range enh {
		if r.expired() {
			return
		}
		r.trace("enhance")
		r.scanView(base.derive(mk(), identity), all, bothBins, false)
		if done() {
			return
		}
	}
	if max(base.g.w, base.g.h) >= 600 && !r.expired() {
		r.trace("half")
		g, m := base.g.boxDown(2)
		r.scanView(base.derive(g, m), all, bothBins, false)
		if done() {
			return
		}
	}

	// 7. Small images: 2× upscale; then symbols small in the frame:
	if max(base.g.w, base.g.h) <= 1000 && !r.expired() {
		r.trace("upscale")
		g, m := base.g.resize(base.g.w*2, base.g.h*2)
		r.scanView(base.derive(g, m), all, bothBins, false)
		if done() {
			return
		}
	}

	// overlapping half-size tiles, centre first, at full resolution (or 2× when the photo is small).
	scale := 1
	if factor == 1 && max(full.w, full.h) <= 1200 {
		scale = 2
	}
	W, H := full.w, full.h
	for _, t := range [][2]int{{1, 1}, {0, 0}, {2, 0}, {0, 2}, {2, 2}, {1, 0}, {0, 1}, {2, 1}, {1, 2}} {
		if r.expired() {
			return
		}
		rect := image.Rect(t[0]*W/4, t[1]*H/4, t[0]*W/4+W/2, t[1]*H/4+H/2)
		if rect.Dx() < 16 || rect.Dy() < 16 {
			break
		}
		r.trace("tile")
		g, m := full.crop(rect)
		tv := fullView.derive(g, m)
		if scale > 1 {
			g2, m2 := g.resize(g.w*scale, g.h*scale)
			tv = tv.derive(g2, m2)
		}
		r.scanView(tv, all, hybridOnly, false)
		if done() {
			return
		}
	}

	// 8. Last resort (hint "" only): EAN-8 and UPC-E, which read noise too.
	if len(r.found) == 0 && len(r.lastResort) > 0 && !r.expired() {
		r.trace("last resort")
		r.scanView(base, r.lastResort, hybridOnly, false)
	}
}

// testHookTrace, when set, is told when each stage starts.
var testHookTrace func(stage string, attempts int)

// trace reports the stages to tests.
func (r *run) trace(stage string) {
	if r.tracer != nil {
		r.tracer(stage, r.attempts)
	}
}
