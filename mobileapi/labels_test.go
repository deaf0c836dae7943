package mobileapi_test

import (
	"bytes"
	"context"
	"image"
	_ "image/png"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/oned"
)

func decodePNG(t *testing.T, png []byte) (code128, dm string) {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	if r, err := oned.NewCode128Reader().Decode(bmp, hints); err == nil {
		code128 = r.GetText()
	}
	// The DataMatrix sits at the left end of the label.
	b := img.Bounds()
	left := img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(b.Min.X, b.Min.Y, b.Min.X+b.Dx()/6, b.Max.Y))
	if bm, err := gozxing.NewBinaryBitmapFromImage(left); err == nil {
		if r, err := datamatrix.NewDataMatrixReader().Decode(bm, hints); err == nil {
			dm = r.GetText()
		}
	}
	return code128, dm
}

func TestWristbandPrintsAreCountedAndRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := e.residentsOf(e.demo, "A")[0]
	var want string
	_ = e.db.Pool.QueryRow(ctx, "SELECT wristband_code FROM residents WHERE id = $1", id).Scan(&want)
	tok := e.login("nurse.a")
	for copyNo := 1; copyNo <= 2; copyNo++ {
		r := e.do(req{method: "GET", path: "/v1/residents/" + id.String() + "/wristband?format=png", token: tok})
		if r.Status != 200 || r.Header.Get("X-Label-Copy") != string(rune('0'+copyNo)) {
			t.Fatalf("print %d: %d copy %q %s", copyNo, r.Status, r.Header.Get("X-Label-Copy"), r.Body)
		}
		c128, dm := decodePNG(t, r.Body)
		if c128 != want || dm != want {
			t.Fatalf("printed wristband reads Code 128 %q, DataMatrix %q; want %q", c128, dm, want)
		}
	}
	if n := e.auditCount(e.demo.FacilityID(), id, "resident.wristband", "success"); n != 2 {
		t.Fatalf("prints audited %d times, want 2", n)
	}
	for _, f := range []string{"pdf", "zpl"} {
		r := e.do(req{method: "GET", path: "/v1/residents/" + id.String() + "/wristband?format=" + f, token: tok})
		if r.Status != 200 || len(r.Body) == 0 {
			t.Fatalf("%s: %d", f, r.Status)
		}
		if f == "zpl" && !strings.Contains(string(r.Body), want) {
			t.Fatalf("ZPL lacks the identifier")
		}
	}
	var copies int
	_ = e.db.Pool.QueryRow(ctx, "SELECT max(copy_no) FROM label_prints WHERE resident_id = $1", id).Scan(&copies)
	if copies != 4 {
		t.Fatalf("copies counted %d, want 4", copies)
	}
	if r := e.do(req{method: "GET", path: "/v1/residents/" + id.String() + "/wristband?format=gif", token: tok}); r.Status != 400 {
		t.Fatalf("unknown format: %d", r.Status)
	}
	// An OSS cannot print wristbands.
	if r := e.do(req{method: "GET", path: "/v1/residents/" + id.String() + "/wristband", token: e.login("oss.a")}); r.Status != 403 {
		t.Fatalf("OSS prints: %d", r.Status)
	}
}

func TestGS1WristbandCarriesTheGSRNAndResolves(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.db.Pool.Exec(ctx, "UPDATE facilities SET gs1_company_prefix = '8012345' WHERE id = $1", e.alt.FacilityID()); err != nil {
		t.Fatal(err)
	}
	id := e.residentsOf(e.alt, "X")[0]
	tok := e.login("alt.nurse.x")
	r := e.do(req{method: "GET", path: "/v1/residents/" + id.String() + "/wristband", token: tok})
	if r.Status != 200 {
		t.Fatalf("print: %d %s", r.Status, r.Body)
	}
	var gsrn string
	_ = e.db.Pool.QueryRow(ctx, "SELECT gsrn FROM gsrns WHERE resident_id = $1", id).Scan(&gsrn)
	if len(gsrn) != 18 || !strings.HasPrefix(gsrn, "8012345") {
		t.Fatalf("GSRN %q", gsrn)
	}
	_, dm := decodePNG(t, r.Body)
	if dm != "\x1d8018"+gsrn && dm != "8018"+gsrn {
		t.Fatalf("DataMatrix reads %q; want GS1 (8018)%s", dm, gsrn)
	}
	// A reprint keeps the same GSRN; the scanned GS1 text finds the resident.
	e.do(req{method: "GET", path: "/v1/residents/" + id.String() + "/wristband", token: tok})
	var n int
	_ = e.db.Pool.QueryRow(ctx, "SELECT count(*) FROM gsrns WHERE resident_id = $1", id).Scan(&n)
	if n != 1 {
		t.Fatalf("%d GSRNs for one resident", n)
	}
	r = e.do(req{method: "GET", path: "/v1/residents/by-wristband/(8018)" + gsrn, token: tok})
	if r.Status != 200 || r.json(t)["id"] != id.String() {
		t.Fatalf("GS1 wristband lookup: %d %s", r.Status, r.Body)
	}
}

func TestBadgePrintRoundTripsAndSignsIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.login("admin")
	id := e.demo.ID("staff", "nurse.a")
	r := e.do(req{method: "GET", path: "/v1/admin/staff/" + id.String() + "/badge", token: admin})
	if r.Status != 200 || r.Header.Get("X-Label-Copy") != "1" {
		t.Fatalf("badge print: %d %s", r.Status, r.Body)
	}
	img, _, err := image.Decode(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
	res, err := oned.NewCode128Reader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil || res.GetText() != e.demo.BadgeCode("nurse.a") {
		t.Fatalf("badge Code 128 reads %v %v; want %s", res, err, e.demo.BadgeCode("nurse.a"))
	}
	// The printed badge signs the nurse in on the tablet.
	_, cred := e.demo.TabletCredential("A")
	s := e.do(req{method: "POST", path: "/v1/auth/badge", header: map[string]string{"X-Device-Credential": cred},
		body: map[string]string{"badge": res.GetText(), "pin": pinOf(e.demo, "nurse.a")}})
	if s.Status != 200 {
		t.Fatalf("sign-in with the printed badge: %d", s.Status)
	}
	if r := e.do(req{method: "GET", path: "/v1/admin/staff/" + id.String() + "/badge", token: e.login("lead.a")}); r.Status != 403 {
		t.Fatalf("a ward lead prints badges: %d", r.Status)
	}
}
