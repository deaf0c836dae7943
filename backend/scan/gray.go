package scan

import (
	"image"
	"image/color"
	"math"
	"sort"
)

// gray is an 8-bit luminance buffer (0 black … 255 white), stride == w.
type gray struct {
	w, h int
	pix  []byte
}

func newGray(w, h int) *gray { return &gray{w: w, h: h, pix: make([]byte, w*h)} }

func (g *gray) clone() *gray {
	return &gray{w: g.w, h: g.h, pix: append([]byte(nil), g.pix...)}
}

// lum16 is gozxing's own luminance formula (NewLuminanceSourceFromImage) on
// 16-bit premultiplied components, composited over white. Using the same
// formula keeps the first pass identical to the baseline's input.
func lum16(r, g, b, a uint32) byte {
	l := (r + 2*g + b) * 255 / (4 * 0xffff)
	return byte((l*a + (0xffff-a)*255) / 0xffff)
}

// grayFromImage converts a decoded image to luminance. JPEG's Y plane and
// gray PNGs are used directly (no copy when the layout allows it).
func grayFromImage(img image.Image) *gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.YCbCr:
		return planeView(m.Y, m.YStride, m.YOffset(b.Min.X, b.Min.Y), w, h)
	case *image.Gray:
		return planeView(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), w, h)
	case *image.RGBA:
		g := newGray(w, h)
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			out := g.pix[y*w : (y+1)*w]
			for x := range out {
				p := row[4*x : 4*x+4 : 4*x+4]
				out[x] = lum16(uint32(p[0])*0x101, uint32(p[1])*0x101, uint32(p[2])*0x101, uint32(p[3])*0x101)
			}
		}
		return g
	case *image.NRGBA:
		g := newGray(w, h)
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			out := g.pix[y*w : (y+1)*w]
			for x := range out {
				p := row[4*x : 4*x+4 : 4*x+4]
				a := uint32(p[3]) * 0x101
				out[x] = lum16(uint32(p[0])*0x101*a/0xffff, uint32(p[1])*0x101*a/0xffff, uint32(p[2])*0x101*a/0xffff, a)
			}
		}
		return g
	case *image.Paletted:
		var lut [256]byte
		for i, c := range m.Palette {
			if i < 256 {
				lut[i] = lum16(c.RGBA())
			}
		}
		g := newGray(w, h)
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			out := g.pix[y*w : (y+1)*w]
			for x := range out {
				out[x] = lut[row[x]]
			}
		}
		return g
	case *image.CMYK:
		g := newGray(w, h)
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			out := g.pix[y*w : (y+1)*w]
			for x := range out {
				p := row[4*x : 4*x+4 : 4*x+4]
				r, gg, bb := color.CMYKToRGB(p[0], p[1], p[2], p[3])
				out[x] = lum16(uint32(r)*0x101, uint32(gg)*0x101, uint32(bb)*0x101, 0xffff)
			}
		}
		return g
	default:
		g := newGray(w, h)
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				g.pix[i] = lum16(img.At(x, y).RGBA())
				i++
			}
		}
		return g
	}
}

// planeView wraps an 8-bit plane, copying only if it has padding.
func planeView(pix []byte, stride, off, w, h int) *gray {
	if stride == w && off == 0 && len(pix) >= w*h {
		return &gray{w: w, h: h, pix: pix[:w*h]}
	}
	g := newGray(w, h)
	for y := 0; y < h; y++ {
		copy(g.pix[y*w:(y+1)*w], pix[off+y*stride:])
	}
	return g
}

// orient applies an EXIF orientation (1..8) so the result is upright.
func (g *gray) orient(o int) *gray {
	switch o {
	case 2: // mirrored horizontally
		return g.remap(g.w, g.h, func(x, y int) int { return y*g.w + (g.w - 1 - x) })
	case 3: // 180°
		return g.remap(g.w, g.h, func(x, y int) int { return (g.h-1-y)*g.w + (g.w - 1 - x) })
	case 4: // mirrored vertically
		return g.remap(g.w, g.h, func(x, y int) int { return (g.h-1-y)*g.w + x })
	case 5: // transpose
		return g.remap(g.h, g.w, func(x, y int) int { return x*g.w + y })
	case 6: // rotate 90° clockwise to display
		return g.remap(g.h, g.w, func(x, y int) int { return (g.h-1-x)*g.w + y })
	case 7: // transverse
		return g.remap(g.h, g.w, func(x, y int) int { return (g.h-1-x)*g.w + (g.w - 1 - y) })
	case 8: // rotate 90° counter-clockwise to display
		return g.remap(g.h, g.w, func(x, y int) int { return x*g.w + (g.w - 1 - y) })
	}
	return g
}

// remap builds a w×h image whose pixel (x,y) is g.pix[src(x,y)].
func (g *gray) remap(w, h int, src func(x, y int) int) *gray {
	out := newGray(w, h)
	for y := 0; y < h; y++ {
		row := out.pix[y*w : (y+1)*w]
		for x := range row {
			row[x] = g.pix[src(x, y)]
		}
	}
	return out
}

// rot90 rotates by k quarter turns clockwise, returning the image and the
// map from its coordinates to g's.
func (g *gray) rot90(k int) (*gray, affine) {
	W, H := float64(g.w-1), float64(g.h-1)
	switch k & 3 {
	case 1: // clockwise: dst(x,y) = src(y, H-x)
		return g.orient(6), affine{0, 1, 0, -1, 0, H}
	case 2:
		return g.orient(3), affine{-1, 0, W, 0, -1, H}
	case 3: // dst(x,y) = src(W-y, x)
		return g.orient(8), affine{0, -1, W, 1, 0, 0}
	}
	return g, identity
}

// boxDown shrinks by an integer factor f averaging f×f blocks.
func (g *gray) boxDown(f int) (*gray, affine) {
	if f <= 1 {
		return g, identity
	}
	w, h := g.w/f, g.h/f
	if w < 1 || h < 1 {
		return g, identity
	}
	out := newGray(w, h)
	acc := make([]int, w)
	n := f * f
	for y := 0; y < h; y++ {
		clear(acc)
		for dy := 0; dy < f; dy++ {
			row := g.pix[(y*f+dy)*g.w:]
			for x := 0; x < w; x++ {
				s := 0
				for _, p := range row[x*f : x*f+f] {
					s += int(p)
				}
				acc[x] += s
			}
		}
		o := out.pix[y*w : (y+1)*w]
		for x := range o {
			o[x] = byte((acc[x] + n/2) / n)
		}
	}
	ff := float64(f)
	return out, affine{ff, 0, (ff - 1) / 2, 0, ff, (ff - 1) / 2}
}

// resize scales to w×h with bilinear sampling (used for upscaling).
func (g *gray) resize(w, h int) (*gray, affine) {
	sx, sy := float64(g.w)/float64(w), float64(g.h)/float64(h)
	m := affine{sx, 0, (sx - 1) / 2, 0, sy, (sy - 1) / 2}
	return g.warp(w, h, m, 255), m
}

// crop copies the rectangle r (clipped to the image).
func (g *gray) crop(r image.Rectangle) (*gray, affine) {
	r = r.Intersect(image.Rect(0, 0, g.w, g.h))
	out := newGray(r.Dx(), r.Dy())
	for y := 0; y < out.h; y++ {
		copy(out.pix[y*out.w:(y+1)*out.w], g.pix[(r.Min.Y+y)*g.w+r.Min.X:])
	}
	return out, affine{1, 0, float64(r.Min.X), 0, 1, float64(r.Min.Y)}
}

// pad adds a border of m pixels of the given value.
func (g *gray) pad(m int, fill byte) (*gray, affine) {
	out := newGray(g.w+2*m, g.h+2*m)
	for i := range out.pix {
		out.pix[i] = fill
	}
	for y := 0; y < g.h; y++ {
		copy(out.pix[(y+m)*out.w+m:], g.pix[y*g.w:(y+1)*g.w])
	}
	return out, affine{1, 0, -float64(m), 0, 1, -float64(m)}
}

// rotate turns the image by deg degrees (counter-clockwise on screen) on an
// enlarged canvas filled with fill, sampling bilinearly.
func (g *gray) rotate(deg float64, fill byte) (*gray, affine) {
	rad := deg * math.Pi / 180
	c, s := math.Cos(rad), math.Sin(rad)
	W, H := float64(g.w), float64(g.h)
	nw := int(math.Ceil(math.Abs(W*c) + math.Abs(H*s)))
	nh := int(math.Ceil(math.Abs(W*s) + math.Abs(H*c)))
	// dst → src: translate to centre, rotate by +deg (inverse of the
	// on-screen counter-clockwise turn in y-down coordinates), translate back.
	cx, cy := (W-1)/2, (H-1)/2
	ncx, ncy := float64(nw-1)/2, float64(nh-1)/2
	m := affine{
		c, -s, cx - c*ncx + s*ncy,
		s, c, cy - s*ncx - c*ncy,
	}
	return g.warp(nw, nh, m, fill), m
}

// warp samples g bilinearly at m(x,y) for each destination pixel.
func (g *gray) warp(w, h int, m affine, fill byte) *gray {
	out := newGray(w, h)
	maxX, maxY := float64(g.w-1), float64(g.h-1)
	for y := 0; y < h; y++ {
		row := out.pix[y*w : (y+1)*w]
		fy := float64(y)
		sx := m.b*fy + m.c
		sy := m.e*fy + m.f
		for x := range row {
			fx := float64(x)
			px := m.a*fx + sx
			py := m.d*fx + sy
			if px < -0.5 || py < -0.5 || px > maxX+0.5 || py > maxY+0.5 {
				row[x] = fill
				continue
			}
			px = min(max(px, 0), maxX)
			py = min(max(py, 0), maxY)
			x0, y0 := int(px), int(py)
			x1, y1 := min(x0+1, g.w-1), min(y0+1, g.h-1)
			ax, ay := px-float64(x0), py-float64(y0)
			p00 := float64(g.pix[y0*g.w+x0])
			p01 := float64(g.pix[y0*g.w+x1])
			p10 := float64(g.pix[y1*g.w+x0])
			p11 := float64(g.pix[y1*g.w+x1])
			top := p00 + (p01-p00)*ax
			bot := p10 + (p11-p10)*ax
			row[x] = byte(top + (bot-top)*ay + 0.5)
		}
	}
	return out
}

func (g *gray) invert() *gray {
	out := newGray(g.w, g.h)
	for i, p := range g.pix {
		out.pix[i] = 255 - p
	}
	return out
}

// percentiles returns the luminance below which lo and hi fractions of the
// pixels fall (sampled on a grid for big images).
func (g *gray) percentiles(lo, hi float64) (byte, byte) {
	var hist [256]int
	step := 1
	if len(g.pix) > 1<<20 {
		step = 7
	}
	n := 0
	for i := 0; i < len(g.pix); i += step {
		hist[g.pix[i]]++
		n++
	}
	var plo, phi byte
	c := 0
	loN, hiN := int(lo*float64(n)), int(hi*float64(n))
	found := false
	for v := 0; v < 256; v++ {
		c += hist[v]
		if !found && c > loN {
			plo, found = byte(v), true
		}
		if c > hiN {
			phi = byte(v)
			break
		}
		phi = byte(v)
	}
	return plo, phi
}

// stretch maps [lo,hi] linearly onto [0,255].
func (g *gray) stretch(lo, hi byte) *gray {
	if hi <= lo {
		return g
	}
	var lut [256]byte
	for v := range lut {
		x := (v - int(lo)) * 255 / (int(hi) - int(lo))
		lut[v] = byte(min(max(x, 0), 255))
	}
	out := newGray(g.w, g.h)
	for i, p := range g.pix {
		out.pix[i] = lut[p]
	}
	return out
}

// boxBlur is a separable mean filter of radius r.
func (g *gray) boxBlur(r int) *gray {
	tmp := newGray(g.w, g.h)
	out := newGray(g.w, g.h)
	blur1D := func(src, dst []byte, n, stride, count, lineStride int) {
		for l := 0; l < count; l++ {
			base := l * lineStride
			s := 0
			for i := -r; i <= r; i++ {
				s += int(src[base+min(max(i, 0), n-1)*stride])
			}
			k := 2*r + 1
			for i := 0; i < n; i++ {
				dst[base+i*stride] = byte(s / k)
				s += int(src[base+min(i+r+1, n-1)*stride]) - int(src[base+max(i-r, 0)*stride])
			}
		}
	}
	blur1D(g.pix, tmp.pix, g.w, 1, g.h, g.w)
	blur1D(tmp.pix, out.pix, g.h, g.w, g.w, 1)
	return out
}

// sharpen applies an unsharp mask: p + amount·(p − blur(p)).
func (g *gray) sharpen(r int, amount float64) *gray {
	b := g.boxBlur(r)
	out := newGray(g.w, g.h)
	for i, p := range g.pix {
		v := float64(p) + amount*(float64(p)-float64(b.pix[i]))
		out.pix[i] = byte(min(max(v, 0), 255))
	}
	return out
}

// fillRect paints r (clipped) with v.
func (g *gray) fillRect(r image.Rectangle, v byte) {
	r = r.Intersect(image.Rect(0, 0, g.w, g.h))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := g.pix[y*g.w+r.Min.X : y*g.w+r.Max.X]
		for i := range row {
			row[i] = v
		}
	}
}

// affine maps (x,y) to (a·x + b·y + c, d·x + e·y + f).
type affine struct{ a, b, c, d, e, f float64 }

var identity = affine{1, 0, 0, 0, 1, 0}

func (m affine) apply(x, y float64) (float64, float64) {
	return m.a*x + m.b*y + m.c, m.d*x + m.e*y + m.f
}

// then returns the map "first n, then m" (m∘n).
func (m affine) after(n affine) affine {
	return affine{
		m.a*n.a + m.b*n.d, m.a*n.b + m.b*n.e, m.a*n.c + m.b*n.f + m.c,
		m.d*n.a + m.e*n.d, m.d*n.b + m.e*n.e, m.d*n.c + m.e*n.f + m.f,
	}
}

// median of a few values (used for result points).
func medianInt(v []int) int {
	if len(v) == 0 {
		return 0
	}
	s := append([]int(nil), v...)
	sort.Ints(s)
	return s[len(s)/2]
}

// flatten removes uneven lighting: each pixel minus the mean of a window of
// radius r, rescaled so that the 1st..99th percentile spans 0..255.
func (g *gray) flatten(r int) *gray {
	b := g.boxBlur(r)
	d := make([]int16, len(g.pix))
	var hist [511]int
	for i, p := range g.pix {
		v := int16(p) - int16(b.pix[i])
		d[i] = v
		hist[int(v)+255]++
	}
	n := len(d)
	lo, hi, c := -255, 255, 0
	for v := 0; v < 511; v++ {
		c += hist[v]
		if c > n/100 {
			lo = v - 255
			break
		}
	}
	c = 0
	for v := 510; v >= 0; v-- {
		c += hist[v]
		if c > n/100 {
			hi = v - 255
			break
		}
	}
	span := max(hi-lo, 8)
	out := newGray(g.w, g.h)
	for i, v := range d {
		x := (int(v) - lo) * 255 / span
		out.pix[i] = byte(min(max(x, 0), 255))
	}
	return out
}

// regions proposes rectangles likely to hold a barcode: blocks with a
// high dynamic range (relative to the photo's) and dense in strong edges,
// grouped into connected components, largest first. It works on a 2×
// reduced copy, which also halves sensor noise.
func (g *gray) regions(maxN int) []image.Rectangle {
	src, f := g, 1
	if max(g.w, g.h) > 800 {
		src, _ = g.boxDown(2)
		f = 2
	}
	B := max(6, max(src.w, src.h)/100)
	bw, bh := src.w/B, src.h/B
	if bw < 2 || bh < 2 {
		return nil
	}
	lo, hi := src.percentiles(0.01, 0.99)
	minRange := max(40, (int(hi)-int(lo))/2)
	dense := make([]bool, bw*bh)
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			bmin, bmax := 255, 0
			for y := by * B; y < (by+1)*B; y++ {
				for _, p := range src.pix[y*src.w+bx*B : y*src.w+(bx+1)*B] {
					bmin, bmax = min(bmin, int(p)), max(bmax, int(p))
				}
			}
			if bmax-bmin < minRange {
				continue
			}
			T := (bmax - bmin) / 3
			n := 0
			for y := by * B; y < (by+1)*B && y+1 < src.h; y++ {
				row := src.pix[y*src.w:]
				next := src.pix[(y+1)*src.w:]
				for x := bx * B; x < (bx+1)*B && x+1 < src.w; x++ {
					p := int(row[x])
					dx, dy := p-int(row[x+1]), p-int(next[x])
					if dx < 0 {
						dx = -dx
					}
					if dy < 0 {
						dy = -dy
					}
					if dx+dy > T {
						n++
					}
				}
			}
			dense[by*bw+bx] = n*6 > B*B
		}
	}
	type comp struct {
		r image.Rectangle
		n int
	}
	var comps []comp
	seen := make([]bool, len(dense))
	stack := []int{}
	for i, d := range dense {
		if !d || seen[i] {
			continue
		}
		c := comp{r: image.Rect(i%bw, i/bw, i%bw+1, i/bw+1)}
		seen[i] = true
		stack = append(stack[:0], i)
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			c.n++
			x, y := j%bw, j/bw
			c.r = c.r.Union(image.Rect(x, y, x+1, y+1))
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= bw || ny >= bh {
						continue
					}
					k := ny*bw + nx
					if dense[k] && !seen[k] {
						seen[k] = true
						stack = append(stack, k)
					}
				}
			}
		}
		if c.n >= 3 {
			comps = append(comps, c)
		}
	}
	sort.Slice(comps, func(i, j int) bool { return comps[i].n > comps[j].n })
	var out []image.Rectangle
	for _, c := range comps {
		if len(out) == maxN {
			break
		}
		r := image.Rect(c.r.Min.X*B*f, c.r.Min.Y*B*f, c.r.Max.X*B*f, c.r.Max.Y*B*f)
		m := max(r.Dx(), r.Dy())/4 + 2*B*f
		out = append(out, r.Inset(-m).Intersect(image.Rect(0, 0, g.w, g.h)))
	}
	return out
}

// darkClip keeps only the darkest features: pixels below lo+0.3·(hi−lo)
// (2nd and 98th percentiles) become black, everything else white. A symbol
// on a white label in a grey, busy surrounding then sits in clean white,
// which gozxing's DataMatrix detector (a white rectangle grown from the
// centre) needs.
func (g *gray) darkClip() *gray {
	lo, hi := g.percentiles(0.02, 0.98)
	t := int(lo) + (int(hi)-int(lo))*3/10
	out := newGray(g.w, g.h)
	for i, p := range g.pix {
		if int(p) >= t {
			out.pix[i] = 255
		}
	}
	return out
}
