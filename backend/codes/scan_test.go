package codes

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/corsia-cce/corsia/backend"
)

func TestInterpret(t *testing.T) {
	t.Parallel()
	band := DeterministicIdent(WristbandPrefix, "demo:resident.1")
	badge := DeterministicIdent(BadgePrefix, "demo:nurse.a")
	for _, tc := range []struct {
		name, in string
		want     Interpretation
	}{
		{"wristband", band, Interpretation{Kind: ScanWristband, Wristband: band}},
		{"wristband typed", strings.ToLower(band[:4]) + "-" + band[4:], Interpretation{Kind: ScanWristband, Wristband: band}},
		{"wristband from code 128 with AIM id", "]C0" + band, Interpretation{Kind: ScanWristband, Wristband: band}},
		{"wristband from plain QR", "]Q1" + band + "\r\n", Interpretation{Kind: ScanWristband, Wristband: band}},
		{"badge", badge, Interpretation{Kind: ScanBadge, Badge: badge}},
		{"gs1 datamatrix", "]d2" + pharmaRaw, Interpretation{Kind: ScanGS1, GTIN: tGTIN, Expiry: "2027-01-31", Batch: "LOT1", Serial: "SN1"}},
		{"gs1 datamatrix from gozxing", gsep + pharmaRaw, Interpretation{Kind: ScanGS1, GTIN: tGTIN, Expiry: "2027-01-31", Batch: "LOT1", Serial: "SN1"}},
		{"gs1 qr unannounced", pharmaRaw, Interpretation{Kind: ScanGS1, GTIN: tGTIN, Expiry: "2027-01-31", Batch: "LOT1", Serial: "SN1"}},
		{"gs1 typed", "(01)" + tGTIN + "(17)270100(716)" + tAIC, Interpretation{Kind: ScanGS1, GTIN: tGTIN, Expiry: "2027-01-31", AIC: tAIC}},
		{"gs1 wristband", "]d2" + gsep + "8018" + tGSRN + gsep + "80191", Interpretation{Kind: ScanGS1, GSRN: tGSRN, SRIN: "1"}},
		{"gs1 badge", "]d28017" + tGSRN2, Interpretation{Kind: ScanGS1, GSRN: tGSRN2}},
		{"ean13 with AIM id", "]E04006381333931", Interpretation{Kind: ScanGTIN, GTIN: "04006381333931"}},
		{"code 32", "0CSSBD", Interpretation{Kind: ScanCode32, AIC: "012345676"}},
		{"code 32 with AIM id", "]A00D4YD5", Interpretation{Kind: ScanCode32, AIC: "012745093"}},
		{"code 32 typed lower case", "0d4yd5", Interpretation{Kind: ScanCode32, AIC: "012745093"}},
		{"code 32 printed text", "A012345676", Interpretation{Kind: ScanCode32, AIC: "012345676"}},
		// "100001" is also AI (10) with batch 0001: Code 32 wins.
		{"code 32 that reads as a batch", "100001", Interpretation{Kind: ScanCode32, AIC: "033554433"}},
		{"ean13", "4006381333931", Interpretation{Kind: ScanGTIN, GTIN: "04006381333931"}},
		// An Italian EAN-13 beginning 8019 also reads as AI (8019): the GTIN wins.
		{"italian ean13 that reads as 8019", "8019000000011", Interpretation{Kind: ScanGTIN, GTIN: "08019000000011"}},
		{"ean8", "96385074", Interpretation{Kind: ScanGTIN, GTIN: "00000096385074"}},
		{"gtin-14", "09501101530003", Interpretation{Kind: ScanGTIN, GTIN: "09501101530003"}},
		{"aic", "012745093", Interpretation{Kind: ScanAIC, AIC: "012745093"}},
		{"aic with spaces", " 012345676\n", Interpretation{Kind: ScanAIC, AIC: "012345676"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := InterpretAt(tc.in, testNow)
			if err != nil {
				t.Fatalf("InterpretAt(%q): %v", tc.in, err)
			}
			got.GS1 = nil
			if got != tc.want {
				t.Errorf("InterpretAt(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestInterpretKeepsGS1Detail(t *testing.T) {
	t.Parallel()
	in, err := InterpretAt("]d28018"+tGSRN, testNow)
	if err != nil || in.GS1 == nil || in.GS1.GSRNRecipient != tGSRN || in.GS1.GSRNProvider != "" {
		t.Fatalf("a patient GSRN must be told apart from a staff one: %+v, %v", in.GS1, err)
	}
}

func TestInterpretRejects(t *testing.T) {
	t.Parallel()
	band := DeterministicIdent(WristbandPrefix, "demo:resident.1")
	bad := band[:len(band)-1] + string(alphabet[(strings.IndexByte(alphabet, band[len(band)-1])+1)%32])
	for _, tc := range []struct {
		name, in, code string
	}{
		{"empty", "", CodeScanUnrecognised},
		{"blank", " \r\n", CodeScanUnrecognised},
		{"wristband with wrong check", bad, CodeScanUnrecognised},
		{"words", "hello", CodeScanUnrecognised},
		{"gtin wrong check", "4006381333932", CodeScanUnrecognised},
		{"aic wrong check", "012745094", CodeScanUnrecognised},
		{"code 32 wrong check", "0CSSBC", CodeScanUnrecognised},
		{"unannounced batch only", "10LOT1", CodeScanUnrecognised},
		{"unannounced unknown AI", "01" + tGTIN + "8020X", CodeScanUnrecognised},
		{"plain datamatrix element string", "]d1" + pharmaRaw, CodeScanUnrecognised},
		{"bare AIM id", "]d", CodeScanUnrecognised},
		{"announced unknown AI", "]d2" + "01" + tGTIN + "8020X", CodeGS1UnknownAI},
		{"announced bad gtin", gsep + "0108012345678900", CodeGS1Malformed},
		{"typed bad expiry", "(17)271301", CodeGS1Malformed},
		{"ean13 bad check with AIM id", "]E04006381333932", CodeGS1Malformed},
		{"patient and staff GSRN", "]d28018" + tGSRN + "8017" + tGSRN2, CodeScanAmbiguous},
		{"too long", strings.Repeat("0", MaxScanLen+1), CodeScanTooLong},
		{"invalid utf-8", "\xff\xfe\x00", CodeScanUnrecognised},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := InterpretAt(tc.in, testNow)
			if err == nil || !backend.IsCode(err, tc.code) {
				t.Fatalf("InterpretAt(%q) = %+v, %v; want %s", tc.in, got, err, tc.code)
			}
			if !backend.IsKind(err, backend.KindInvalid) {
				t.Errorf("error kind %v, want invalid", backend.AsError(err).Kind)
			}
		})
	}
}

func TestInterpretationJSON(t *testing.T) {
	t.Parallel()
	in, err := InterpretAt("]d2"+pharmaRaw[:len(pharmaRaw)-len(gsep+"21SN1")], testNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"kind":"gs1","gtin":"08012345678907","expiry":"2027-01-31","batch":"LOT1"}`
	if string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	band := DeterministicIdent(WristbandPrefix, "x")
	in, _ = InterpretAt(band, testNow)
	b, _ = json.Marshal(in)
	if string(b) != `{"kind":"wristband","wristband":"`+band+`"}` {
		t.Errorf("json = %s", b)
	}
}
