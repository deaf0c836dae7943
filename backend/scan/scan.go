package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"sync/atomic"
	"time"
)

// Hint tells the decoder what the nurse is pointing the camera at.
type Hint string

const (
	HintNone      Hint = ""
	HintWristband Hint = "wristband"
	HintPack      Hint = "pack"
	HintBadge     Hint = "badge"
)

// Valid reports whether h is one of the known hints.
func (h Hint) Valid() bool {
	switch h {
	case HintNone, HintWristband, HintPack, HintBadge:
		return true
	}
	return false
}

// Symbol is one barcode read from an image.
type Symbol struct {
	// Symbology: qr, datamatrix, aztec, code128, code39, code93, ean13, ean8,
	// upca, upce, itf, codabar.
	Symbology string
	// Text is what the symbol carries. GS1 separators (FNC1) are ASCII 29; the
	// leading "]C1" of GS1-128 and the leading GS of GS1 DataMatrix are
	// removed (GS1 tells that they were there).
	Text string
	// GS1 is true for GS1-128, GS1 DataMatrix and GS1 QR (FNC1 in first
	// position, from the symbology identifier).
	GS1 bool
	// Points are the reader's result points (finder patterns, corners or the
	// ends of the scan line) in the coordinates of the upright image (after
	// the EXIF orientation is applied), for drawing an overlay.
	Points []image.Point
}

// Sentinel errors; test with errors.Is. Returned errors wrap them with detail.
var (
	// ErrTooLarge: too many bytes, pixels, a side too long, a degenerate
	// aspect ratio, or an image that would need too much memory to decode.
	ErrTooLarge = errors.New("scan: image too large")
	// ErrNotImage: not a JPEG or PNG, or corrupt or truncated.
	ErrNotImage = errors.New("scan: not a JPEG or PNG image")
	// ErrNoBarcode: the image is fine but nothing readable (or accepted) was
	// found within the time budget.
	ErrNoBarcode = errors.New("scan: no barcode found")
	// ErrBusy: the context ended while waiting for a decode slot.
	ErrBusy = errors.New("scan: decoder busy")
)

// Limits bound what one image may cost.
type Limits struct {
	MaxBytes    int64         // encoded size
	MaxPixels   int           // width × height
	MaxSide     int           // longest side in pixels
	Budget      time.Duration // time spent on decode attempts per image
	Concurrency int           // images decoded at once (pixel decoding and reading)
}

// DefaultLimits: a 20-megapixel phone photo passes; two decodes at once on
// a two-core machine.
var DefaultLimits = Limits{
	MaxBytes:    20 << 20,
	MaxPixels:   24_000_000,
	MaxSide:     10_000,
	Budget:      2 * time.Second,
	Concurrency: 2,
}

const (
	// maxAspect refuses strips such as 1×100000 or 3×5000.
	maxAspect = 50
	// memPerPixel caps the estimated memory of decoding (decoded image,
	// progressive-JPEG coefficients, luminance) at MaxPixels × memPerPixel.
	memPerPixel = 8
	// workSide is the long side of the working copy for the first passes.
	workSide = 2000
)

// Decoder reads barcodes from photos. It is safe for concurrent use; at most
// Limits.Concurrency images are decoded at once.
type Decoder struct {
	lim      Limits
	sem      chan struct{}
	inFlight atomic.Int64 // decodes holding a slot
}

// testHookInFlight, when set, is called with the number of decodes in flight
// each time one starts.
var testHookInFlight func(n int64)

// New returns a Decoder; zero fields of l take DefaultLimits' values
// (Concurrency: GOMAXPROCS when DefaultLimits.Concurrency is zero).
func New(l Limits) *Decoder {
	d := DefaultLimits
	if l.MaxBytes > 0 {
		d.MaxBytes = l.MaxBytes
	}
	if l.MaxPixels > 0 {
		d.MaxPixels = l.MaxPixels
	}
	if l.MaxSide > 0 {
		d.MaxSide = l.MaxSide
	}
	if l.Budget > 0 {
		d.Budget = l.Budget
	}
	if l.Concurrency > 0 {
		d.Concurrency = l.Concurrency
	}
	if d.Concurrency <= 0 {
		d.Concurrency = runtime.GOMAXPROCS(0)
	}
	return &Decoder{lim: d, sem: make(chan struct{}, d.Concurrency)}
}

// Limits returns the effective limits.
func (d *Decoder) Limits() Limits { return d.lim }

type imgFormat int

const (
	fmtJPEG imgFormat = iota + 1
	fmtPNG
)

// sniff recognises JPEG and PNG by their signatures only.
func sniff(data []byte) imgFormat {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return fmtJPEG
	case len(data) >= 8 && string(data[:8]) == "\x89PNG\r\n\x1a\n":
		return fmtPNG
	}
	return 0
}

// preflight checks size, format and dimensions without decoding pixels.
func (d *Decoder) preflight(data []byte) (imgFormat, jpegInfo, error) {
	var info jpegInfo
	if int64(len(data)) > d.lim.MaxBytes {
		return 0, info, fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(data), d.lim.MaxBytes)
	}
	f := sniff(data)
	if f == 0 {
		return 0, info, fmt.Errorf("%w: unrecognised signature", ErrNotImage)
	}
	var cfg image.Config
	var err error
	switch f {
	case fmtJPEG:
		info = scanJPEG(data)
		cfg, err = safeConfig(jpeg.DecodeConfig, data)
	case fmtPNG:
		info.orientation = 1
		cfg, err = safeConfig(png.DecodeConfig, data)
	}
	if err != nil {
		return 0, info, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	w, h := int64(cfg.Width), int64(cfg.Height)
	if w <= 0 || h <= 0 {
		return 0, info, fmt.Errorf("%w: empty image %dx%d", ErrNotImage, w, h)
	}
	if w > int64(d.lim.MaxSide) || h > int64(d.lim.MaxSide) {
		return 0, info, fmt.Errorf("%w: %dx%d, a side exceeds %d px", ErrTooLarge, w, h, d.lim.MaxSide)
	}
	if w*h > int64(d.lim.MaxPixels) {
		return 0, info, fmt.Errorf("%w: %dx%d exceeds %d pixels", ErrTooLarge, w, h, d.lim.MaxPixels)
	}
	if max(w, h) > maxAspect*min(w, h) {
		return 0, info, fmt.Errorf("%w: %dx%d has a degenerate aspect ratio", ErrTooLarge, w, h)
	}
	mem := w * h * int64(bytesPerPixel(cfg.ColorModel))
	if f == fmtJPEG && info.progressive {
		mem += 4 * max(info.samples, w*h)
	}
	if mem > int64(d.lim.MaxPixels)*memPerPixel {
		return 0, info, fmt.Errorf("%w: %dx%d needs ~%d MB to decode", ErrTooLarge, w, h, mem>>20)
	}
	return f, info, nil
}

func safeConfig(fn func(io.Reader) (image.Config, error), data []byte) (cfg image.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic reading header: %v", r)
		}
	}()
	return fn(bytes.NewReader(data))
}

// bytesPerPixel estimates the decoded image's memory plus the luminance copy.
func bytesPerPixel(m color.Model) int {
	switch m {
	case color.GrayModel:
		return 1
	case color.YCbCrModel:
		return 3 // worst case 4:4:4; the Y plane is used as luminance
	case color.Gray16Model:
		return 2 + 1
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4 + 1
	case color.RGBA64Model, color.NRGBA64Model:
		return 8 + 1
	}
	if _, ok := m.(color.Palette); ok {
		return 1 + 1
	}
	return 8 + 1
}

// decodePixels decodes the image and returns its upright luminance.
func decodePixels(f imgFormat, info jpegInfo, data []byte) (g *gray, err error) {
	defer func() {
		if r := recover(); r != nil {
			g, err = nil, fmt.Errorf("%w: decoder panic: %v", ErrNotImage, r)
		}
	}()
	var img image.Image
	switch f {
	case fmtJPEG:
		img, err = jpeg.Decode(bytes.NewReader(data))
	case fmtPNG:
		img, err = png.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	g = grayFromImage(img)
	img = nil
	return g.orient(info.orientation), nil
}

// Decode reads the barcodes in a JPEG or PNG photo.
//
// 2D symbols are returned whatever accept says; 1D symbols only when accept
// (nil accepts everything) returns true, because 1D readers produce
// checksum-valid reads from noise. accept is also used to decide when to
// stop early, so it should be cheap (or memoised) and must not block long.
// The error is nil when at least one symbol is returned; otherwise it wraps
// one of the sentinel errors (and ctx.Err() when the caller's context ended).
func (d *Decoder) Decode(ctx context.Context, data []byte, hint Hint, accept func(Symbol) bool) ([]Symbol, error) {
	if !hint.Valid() {
		hint = HintNone
	}
	f, info, err := d.preflight(data)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBusy, err)
	}
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
	defer func() { <-d.sem }()
	n := d.inFlight.Add(1)
	defer d.inFlight.Add(-1)
	if h := testHookInFlight; h != nil {
		h(n)
	}

	start := time.Now()
	g, err := decodePixels(f, info, data)
	if err != nil {
		return nil, err
	}
	deadline := start.Add(d.lim.Budget)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	r := newRun(ctx, deadline, hint, accept)
	r.scan(g)
	if len(r.found) > 0 {
		return r.found, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoBarcode, err)
	}
	return nil, ErrNoBarcode
}
