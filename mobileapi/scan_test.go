package mobileapi_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"mime/multipart"
	"net/http/httptest"
	"testing"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code39"
	"github.com/boombuler/barcode/datamatrix"
)

// postScan sends a photo to /v1/scan/decode as a tablet does.
func (e *env) postScan(tok string, img []byte, hint string) response {
	e.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("image", "frame.png")
	_, _ = part.Write(img)
	if hint != "" {
		_ = w.WriteField("hint", hint)
	}
	_ = w.Close()
	return e.do(req{method: "POST", path: "/v1/scan/decode", token: tok, body: rawBody{w.FormDataContentType(), body.Bytes()}})
}

// photo places a barcode, scaled up, on a larger grey canvas.
func photo(t testing.TB, bc barcode.Barcode, scale int) []byte {
	t.Helper()
	b := bc.Bounds()
	canvas := image.NewGray(image.Rect(0, 0, b.Dx()*scale+400, b.Dy()*scale+300))
	draw.Draw(canvas, canvas.Bounds(), &image.Uniform{color.Gray{Y: 200}}, image.Point{}, draw.Src)
	white := image.Rect(150, 120, 150+b.Dx()*scale+60, 120+b.Dy()*scale+60)
	draw.Draw(canvas, white, &image.Uniform{color.White}, image.Point{}, draw.Src)
	for y := 0; y < b.Dy()*scale; y++ {
		for x := 0; x < b.Dx()*scale; x++ {
			canvas.Set(180+x, 150+y, bc.At(b.Min.X+x/scale, b.Min.Y+y/scale))
		}
	}
	var out bytes.Buffer
	if err := png.Encode(&out, canvas); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestScanResolvesWristbandsWithinScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.residentsOf(e.demo, "A")[0]
	var code string
	_ = e.db.Pool.QueryRow(context.Background(), "SELECT wristband_code FROM residents WHERE id = $1", id).Scan(&code)
	bc, err := datamatrix.Encode(code)
	if err != nil {
		t.Fatal(err)
	}
	img := photo(t, bc, 8)
	r := e.postScan(e.login("nurse.a"), img, "wristband")
	if r.Status != 200 {
		t.Fatalf("scan: %d %s", r.Status, r.Body)
	}
	syms := r.json(t)["symbols"].([]any)
	first := syms[0].(map[string]any)
	in := first["interpretation"].(map[string]any)
	if first["symbology"] != "datamatrix" || first["text"] != code || in["wristband"] != code ||
		in["resident"].(map[string]any)["id"] != id.String() {
		t.Fatalf("scan result: %s", r.Body)
	}
	// Another ward's nurse reads the same code but gets no resident: exactly
	// what an unknown wristband gives.
	other := e.postScan(e.login("nurse.b"), img, "wristband").json(t)["symbols"].([]any)[0].(map[string]any)
	if other["interpretation"].(map[string]any)["resident"] != nil {
		t.Fatalf("out-of-scope wristband resolved: %v", other)
	}
	if n := e.auditCount(e.demo.FacilityID(), id, "resident.read", "success"); n != 1 {
		t.Fatalf("the scan's resident read audited %d times, want 1", n)
	}
}

func TestScanReadsGS1Packs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// (01) GTIN, (17) expiry, (10) batch, (21) serial, (716) AIC: the EU
	// falsified-medicines DataMatrix of an Italian pack.
	data := string([]byte{datamatrix.FNC1}) + "0108012345678907" + "17270100" + "10LOT42" + "\x1d" + "21SN0001" + "\x1d" + "716012745093"
	bc, err := datamatrix.Encode(data)
	if err != nil {
		t.Fatal(err)
	}
	r := e.postScan(e.login("nurse.a"), photo(t, bc, 8), "pack")
	if r.Status != 200 {
		t.Fatalf("scan: %d %s", r.Status, r.Body)
	}
	s := r.json(t)["symbols"].([]any)[0].(map[string]any)
	in := s["interpretation"].(map[string]any)
	if s["gs1"] != true || in["gtin"] != "08012345678907" || in["expiry"] != "2027-01-31" || in["batch"] != "LOT42" ||
		in["serial"] != "SN0001" || in["aic"] != "012745093" || in["product"] == nil {
		t.Fatalf("GS1 pack: %s", r.Body)
	}
}

func TestScanReadsTheItalianBollino(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Tachipirina 500 mg, AIC 012745093: its bollino is Code 32 "0D4YD5",
	// printed as a Code 39 barcode.
	raw, err := code39.Encode("0D4YD5", false, false)
	if err != nil {
		t.Fatal(err)
	}
	bc, _ := barcode.Scale(raw, raw.Bounds().Dx()*3, 120)
	r := e.postScan(e.login("nurse.a"), photo(t, bc, 1), "pack")
	if r.Status != 200 {
		t.Fatalf("scan: %d %s", r.Status, r.Body)
	}
	s := r.json(t)["symbols"].([]any)[0].(map[string]any)
	in := s["interpretation"].(map[string]any)
	p, _ := in["product"].(map[string]any)
	if s["symbology"] != "code39" || in["kind"] != "code32" || in["aic"] != "012745093" || p == nil || p["aic"] != "012745093" {
		t.Fatalf("bollino: %s", r.Body)
	}
	// A Code 39 that is no known product is a 1D read the API refuses: the
	// nurse is asked to retry rather than shown a guess.
	raw, _ = code39.Encode("0CSSBD", false, false) // AIC 012345676: well formed, in no catalogue
	bc, _ = barcode.Scale(raw, raw.Bounds().Dx()*3, 120)
	if r := e.postScan(e.login("nurse.a"), photo(t, bc, 1), "pack"); r.Status != 422 {
		t.Fatalf("unknown 1D pack code: %d %s", r.Status, r.Body)
	}
}

func TestScanRefusesWhatIsNotAPhotoOfABarcode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.login("nurse.a")
	var blank bytes.Buffer
	_ = png.Encode(&blank, image.NewGray(image.Rect(0, 0, 640, 480)))
	cases := []struct {
		name   string
		img    []byte
		hint   string
		status int
		code   string
	}{
		{"nothing readable", blank.Bytes(), "", 422, "scan.no_barcode"},
		{"text with an image name", []byte("this is not an image"), "", 415, "scan.not_an_image"},
		{"bad hint", blank.Bytes(), "fridge", 400, "scan.invalid_hint"},
	}
	for _, c := range cases {
		r := e.postScan(tok, c.img, c.hint)
		if r.Status != c.status || r.code() != c.code {
			t.Errorf("%s: %d %s; want %d %s", c.name, r.Status, r.Body, c.status, c.code)
		}
	}
	// No image part at all.
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("hint", "pack")
	_ = w.Close()
	hr := httptest.NewRequest("POST", "/v1/scan/decode", &body)
	hr.Header.Set("Content-Type", w.FormDataContentType())
	hr.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.srv.App().Test(hr, -1)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("no image: %v %v", resp.StatusCode, err)
	}
}

// bombPNG is a PNG header that announces a 30000×30000 image: refused from
// the header alone, before any pixel is inflated.
func bombPNG() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(data)))
		b.Write(n[:])
		b.WriteString(typ)
		b.Write(data)
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		binary.BigEndian.PutUint32(n[:], crc.Sum32())
		b.Write(n[:])
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 30000)
	binary.BigEndian.PutUint32(ihdr[4:], 30000)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit grey
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

func TestScanRefusesHostileImages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.login("nurse.a")
	if r := e.postScan(tok, bombPNG(), "pack"); r.Status != 413 || r.code() != "scan.image_too_large" {
		t.Fatalf("decompression bomb: %d %s", r.Status, r.Body)
	}
	var strip bytes.Buffer
	_ = png.Encode(&strip, image.NewGray(image.Rect(0, 0, 1, 100000)))
	if r := e.postScan(tok, strip.Bytes(), ""); r.Status != 413 {
		t.Fatalf("1×100000 strip: %d %s", r.Status, r.Body)
	}
	if r := e.postScan(tok, tinyPNG()[:30], ""); r.Status != 415 {
		t.Fatalf("truncated PNG: %d %s", r.Status, r.Body)
	}
}
