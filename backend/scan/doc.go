// Package scan reads barcodes from tablet and phone photos (wristbands,
// drug packs, staff badges) with github.com/makiuchi-d/gozxing. It is the
// decoding engine behind POST /v1/scan/decode: pure Go, no HTTP, no
// database. Interpreting the texts (GS1, Code 32, wristband identifiers) is
// the shared parsers' job; deciding whether a 1D read is real is the
// caller's, through the accept function.
//
// # Safety
//
// Decode refuses, before decoding a single pixel: more than MaxBytes; any
// signature other than JPEG or PNG (whatever the content type said); a
// header (image.DecodeConfig) with more than MaxPixels, a side above
// MaxSide, an aspect ratio beyond 50:1, or an estimated decode memory above
// 8 bytes × MaxPixels (16-bit PNGs, progressive JPEGs whose coefficients
// image/jpeg keeps in memory). A decompression-bomb PNG is thus refused from
// its IHDR. Pixel decoding and reading happen only while holding one of
// Concurrency slots (waiting respects ctx: ErrBusy), and the search stops
// at Budget (or the ctx deadline), returning what it found so far. Panics
// in image decoders or gozxing readers are recovered: the image is
// ErrNotImage, the reader attempt counts as "not found".
//
// # Search strategy
//
// The photo becomes one 8-bit luminance buffer (the JPEG Y plane directly;
// gozxing's own formula for PNG), turned upright by the EXIF orientation
// (image/jpeg ignores it; a mirrored orientation would make every symbol
// unreadable). gozxing sees it through a LuminanceSource over that buffer,
// with crops as views and cached rotations, instead of
// NewBinaryBitmapFromImage's per-pixel img.At. Photos longer than 2000 px
// are box-averaged down for the whole-frame passes; crops go back to full
// resolution.
//
// Formats follow the hint: wristband and badge: DataMatrix, QR, Code 128;
// pack: DataMatrix, Code 39 (Code 32), EAN-13, Code 128; none: QR,
// DataMatrix, Aztec, Code 128, Code 39, EAN-13 (UPC-A reported as upca),
// ITF, Code 93, Codabar, and EAN-8/UPC-E only as a last resort when nothing
// else was read. Code 128 is read with ASSUME_GS1 (separators kept as GS);
// 1D readers always run with TRY_HARDER (which also scans at 90°); 2D
// readers run with both the hybrid and the global-histogram binarizer (for
// 1D both binarizers threshold rows identically, so once is enough). Each
// find is masked out and the reader run again, to collect several symbols
// of one format in a frame.
//
// Passes, cheapest and likeliest first; after the first two, the search
// stops as soon as a symbol has been accepted:
//
//  1. the working image; for a dull photo (1st–99th percentile spread below
//     110 levels) also contrast-stretched (gozxing thresholds rows with 32
//     luminance buckets) and flattened (local mean removed: uneven light);
//  2. likely regions: blocks with a high dynamic range and dense strong
//     edges, grouped, cropped at full resolution (2× when small), plus a
//     dark-clipped copy for 2D, because gozxing's DataMatrix detector grows
//     a white rectangle from the image centre and misses off-centre symbols
//     in a busy frame;
//  3. inverted (light on dark);
//  4. turned by 45°, 30°, 60°, 15°, 75° (bilinear; with TRY_HARDER's +90°
//     every orientation is within 7.5° of a scan direction), for the 1D
//     formats and DataMatrix, on the working image then on each region;
//  5. 2D extras: quarter turns, a white margin, PURE_BARCODE;
//  6. unsharp masks against blur, contrast stretch and flattening when not
//     done yet, half scale;
//  7. 2× upscale of small photos, then overlapping half-size tiles;
//  8. EAN-8 and UPC-E (hint none only).
//
// # Results
//
// 2D reads are returned whatever accept says (Reed-Solomon makes false
// reads unlikely); 1D reads are returned only if accept (nil accepts all)
// returns true, because TRY_HARDER 1D readers find checksum-valid codes in
// noise. accept is called once per distinct symbology+text and also
// decides the early stop. Texts are normalised: GS1-128 loses its "]C1"
// and GS1 DataMatrix its leading GS (Symbol.GS1 records it; GS1 QR is
// recognised by its symbology identifier ]Q3), Code 128's ISO-8859-1 bytes
// become UTF-8, Code 39 full-ASCII pairs ("+A" = 'a') are decoded when every
// shift character forms one (Code 32 never contains them).
//
// BaselineDecode is the plain loop over gozxing's readers the strategy is
// measured against (see corpus_test.go for the per-symbology rates).
package scan
