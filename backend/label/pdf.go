package label

import (
	"bytes"
	"fmt"

	"github.com/go-pdf/fpdf"

	"github.com/corsia-cce/corsia/backend"
)

// pdfFamilies are the fpdf families of the styles. The Go fonts are
// embedded (subset) rather than the core Helvetica: Helvetica speaks only
// cp1252, and a Romanian "Ștefan" or a Polish "Łukasz" would print wrong on
// the one document meant to identify the person.
var pdfFamilies = [3][2]string{
	styleRegular: {"goregular", ""},
	styleBold:    {"gobold", ""},
	styleMono:    {"gomonobold", ""},
}

// renderPDF lays the label out at RasterDPI and writes a one-page PDF the
// size of the printable area: text in the embedded Go fonts, boxes as
// filled rectangles, each barcode as a PNG image at RasterDPI (whole dots
// per module, quiet zones included), placed at its exact size.
func renderPDF(c content, s Stock) (out []byte, ct string, err error) {
	m, err := newGoMeasurer(false)
	if err != nil {
		return nil, "", err
	}
	l, err := layoutFor(c, s, RasterDPI, m)
	if err != nil {
		return nil, "", err
	}
	defer func() {
		if r := recover(); r != nil {
			out, ct, err = nil, "", backend.Internal(fmt.Errorf("%v", r), "render PDF")
		}
	}()
	mm := func(v int) float64 { return float64(v) * 25.4 / float64(l.dpi) }

	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", Size: fpdf.SizeType{Wd: mm(l.w), Ht: mm(l.h)}})
	pdf.SetMargins(0, 0, 0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetCreator("Corsia", true)
	if c.kind == StockBadge {
		pdf.SetTitle("Badge "+c.ident, true)
	} else {
		pdf.SetTitle("Braccialetto "+c.ident, true)
	}
	for st, fam := range pdfFamilies {
		pdf.AddUTF8FontFromBytes(fam[0], fam[1], goFonts.ttf[st])
	}
	pdf.AddPage()

	pdf.SetFillColor(0, 0, 0)
	for i, it := range l.items {
		switch it.kind {
		case kindBox:
			pdf.Rect(mm(it.x), mm(it.y), mm(it.w), mm(it.h), "F")
		case kindDataMatrix, kindCode128:
			img := barcodeImage(it)
			b, err := encodePNG(img, l.dpi)
			if err != nil {
				return nil, "", err
			}
			name := fmt.Sprintf("%s-%d", it.role, i)
			opt := fpdf.ImageOptions{ImageType: "PNG"}
			pdf.RegisterImageOptionsReader(name, opt, bytes.NewReader(b))
			qy := it.quiet
			if it.kind == kindCode128 {
				qy = 0
			}
			r := img.Bounds()
			pdf.ImageOptions(name, mm(it.x-it.quiet), mm(it.y-qy), mm(r.Dx()), mm(r.Dy()), false, opt, 0, "")
		}
	}
	for _, it := range l.items {
		if it.kind != kindText || it.text == "" {
			continue
		}
		fam := pdfFamilies[it.style]
		pdf.SetFont(fam[0], fam[1], emSize(it.style, it.size)*72/float64(l.dpi))
		if it.reverse {
			pdf.SetTextColor(255, 255, 255)
		} else {
			pdf.SetTextColor(0, 0, 0)
		}
		pdf.Text(mm(it.x), mm(it.y+it.ascent), it.text)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, "", backend.Internal(err, "render PDF")
	}
	return buf.Bytes(), ContentTypePDF, nil
}
