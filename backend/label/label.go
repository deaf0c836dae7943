// Package label renders residents' wristbands and staff badges as PNG (office
// printers, previews), PDF (office printers, laser wristband sheets) and ZPL
// (Zebra thermal printers such as the HC100 wristband printer).
//
// Every label carries two machine-readable codes and the text a nurse reads:
//
//   - a Data Matrix (ECC 200): a GS1 DataMatrix with FNC1 in first position
//     and AI (8018) + GSRN for residents, (8017) + GSRN for staff, when the
//     facility has a GS1 company prefix; otherwise a plain Data Matrix with our
//     check-charactered identifier;
//   - a Code 128 with the identifier, for old 1D-only scanners;
//   - the name (FAMILY Given), birth date (dd/mm/yyyy), ward and bed, the
//     identifier in groups of four for typing, and a reversed "ALLERGIE" box
//     when the resident has an active allergy — never the substance, a drug
//     or a diagnosis: the label has no field for them.
//
// Modules are whole printer dots and at least 0.4 mm at print size (on the
// presets: Data Matrix 0.75–0.85 mm, Code 128 0.42 mm at 300 dpi and 0.5 mm
// at 203 dpi), with quiet zones of 2 modules (Data Matrix) and 10 modules
// (Code 128) kept free of ink. Text is shrunk, then abbreviated with a final
// ".", so that it never runs into a code, the allergy box or off the label.
//
// One layout, computed in printer dots, drives the three back ends; ZPL uses
// the printer's own barcode and font commands, so the codes are made by the
// printer, not sent as bitmaps. Rendering validates its input and returns
// backend errors with the code "label.invalid"; it never panics.
package label

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/codes"
)

// Wristband is what a resident's wristband shows. It has no field for an
// allergen, a drug or a diagnosis, on purpose.
type Wristband struct {
	Ident      string // our check-charactered identifier, e.g. "R…" (12 characters)
	GSRN       string // 18-digit GSRN for AI 8018; "" when the facility has no GS1 company prefix
	GivenName  string
	FamilyName string
	BirthDate  time.Time // a civil date: printed as its own year, month and day
	Ward       string
	Bed        string
	Allergy    bool // prints the "ALLERGIE" mark, nothing more
	Facility   string
}

// Badge is what a staff badge shows.
type Badge struct {
	Ident      string // our check-charactered identifier, e.g. "S…"
	GSRN       string // 18-digit GSRN for AI 8017; "" without a GS1 company prefix
	GivenName  string
	FamilyName string
	Role       string // e.g. "Infermiere"
	Facility   string
}

// Format is an output format.
type Format string

// Output formats.
const (
	FormatPNG Format = "png"
	FormatPDF Format = "pdf"
	FormatZPL Format = "zpl"
)

// Content types returned with each format. There is no registered media type
// for ZPL; "application/x-zpl" is what Zebra's own tools and print servers
// accept.
const (
	ContentTypePNG = "image/png"
	ContentTypePDF = "application/pdf"
	ContentTypeZPL = "application/x-zpl"
)

// ParseFormat accepts "png", "pdf" or "zpl" (any case).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatPNG, FormatPDF, FormatZPL:
		return f, nil
	}
	return "", backend.Invalid(CodeInvalid, "format", "format must be png, pdf or zpl")
}

// CodeInvalid is the error code of every input this package refuses.
const CodeInvalid = "label.invalid"

// GS1 application identifiers of the Global Service Relation Number.
const (
	AIGSRNRecipient = "8018" // the person receiving a service: residents
	AIGSRNProvider  = "8017" // the person providing it: staff
)

// maxField caps every text field, in runes: far beyond any real name, small
// enough that a hostile value cannot make layout expensive.
const maxField = 200

// RenderWristband renders a resident's wristband in format f on stock s (a
// wristband stock, e.g. WristbandAdult300). It returns the bytes and their
// content type.
func RenderWristband(w Wristband, f Format, s Stock) ([]byte, string, error) {
	in, err := w.content()
	if err != nil {
		return nil, "", err
	}
	if err := s.check(StockWristband); err != nil {
		return nil, "", err
	}
	return render(in, f, s)
}

// RenderBadge renders a staff badge in format f on stock s (a badge stock,
// e.g. BadgeCR80).
func RenderBadge(b Badge, f Format, s Stock) ([]byte, string, error) {
	in, err := b.content()
	if err != nil {
		return nil, "", err
	}
	if err := s.check(StockBadge); err != nil {
		return nil, "", err
	}
	return render(in, f, s)
}

// content is a validated label, whichever the kind.
type content struct {
	kind     StockKind
	ident    string // canonical identifier
	dmData   string // Data Matrix content; GS1: FNC1 (byte 232, boombuler's convention) + AI + GSRN
	gs1AI    string // "8018"/"8017" when dmData is GS1, else ""
	gsrn     string
	family   string
	given    string
	birth    string // dd/mm/yyyy (wristbands)
	ward     string
	bed      string
	allergy  bool
	role     string
	facility string
}

func (w Wristband) content() (content, error) {
	c := content{kind: StockWristband, allergy: w.Allergy}
	var err error
	if c.ident, err = checkIdent(w.Ident, codes.WristbandPrefix); err != nil {
		return c, err
	}
	if c.gsrn, err = checkGSRN(w.GSRN); err != nil {
		return c, err
	}
	if c.family, c.given, err = checkNames(w.FamilyName, w.GivenName); err != nil {
		return c, err
	}
	if w.BirthDate.IsZero() || w.BirthDate.Year() < 1850 || w.BirthDate.Year() > 9999 {
		return c, backend.Invalid(CodeInvalid, "birth_date", "a wristband needs the birth date")
	}
	c.birth = w.BirthDate.Format("02/01/2006")
	if c.ward, err = checkText("ward", w.Ward); err != nil {
		return c, err
	}
	if c.bed, err = checkText("bed", w.Bed); err != nil {
		return c, err
	}
	if c.facility, err = checkText("facility", w.Facility); err != nil {
		return c, err
	}
	c.setDataMatrix(AIGSRNRecipient)
	return c, nil
}

func (b Badge) content() (content, error) {
	c := content{kind: StockBadge}
	var err error
	if c.ident, err = checkIdent(b.Ident, codes.BadgePrefix); err != nil {
		return c, err
	}
	if c.gsrn, err = checkGSRN(b.GSRN); err != nil {
		return c, err
	}
	if c.family, c.given, err = checkNames(b.FamilyName, b.GivenName); err != nil {
		return c, err
	}
	if c.role, err = checkText("role", b.Role); err != nil {
		return c, err
	}
	if c.facility, err = checkText("facility", b.Facility); err != nil {
		return c, err
	}
	c.setDataMatrix(AIGSRNProvider)
	return c, nil
}

func (c *content) setDataMatrix(ai string) {
	if c.gsrn == "" {
		c.dmData = c.ident
		return
	}
	c.gs1AI = ai
	c.dmData = string([]byte{fnc1}) + ai + c.gsrn
}

// checkIdent accepts our identifier with the expected prefix and a correct
// check character, and returns its canonical form: a label that a scanner
// would then refuse is never printed.
func checkIdent(raw string, prefix byte) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", backend.Invalid(CodeInvalid, "ident", "the identifier is missing")
	}
	if len(raw) > 64 {
		return "", backend.Invalid(CodeInvalid, "ident", "the identifier is too long")
	}
	s, err := codes.ParseIdent(raw, prefix)
	if err != nil {
		return "", backend.Invalid(CodeInvalid, "ident", fmt.Sprintf("not a valid %c… identifier: wrong prefix, character outside the alphabet or check character", prefix))
	}
	return s, nil
}

// checkGSRN accepts "" or 18 digits whose last is the GS1 check digit.
func checkGSRN(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) != 18 {
		return "", backend.Invalid(CodeInvalid, "gsrn", "a GSRN has 18 digits")
	}
	c, ok := codes.GS1CheckDigit(s[:17])
	if !ok {
		return "", backend.Invalid(CodeInvalid, "gsrn", "a GSRN has only digits")
	}
	if c != s[17] {
		return "", backend.Invalid(CodeInvalid, "gsrn", "the GSRN check digit does not match")
	}
	return s, nil
}

func checkNames(family, given string) (string, string, error) {
	f, err := checkText("family_name", family)
	if err != nil {
		return "", "", err
	}
	g, err := checkText("given_name", given)
	if err != nil {
		return "", "", err
	}
	if f == "" && g == "" {
		return "", "", backend.Invalid(CodeInvalid, "family_name", "a label needs the person's name")
	}
	return f, g, nil
}

// checkText refuses invalid UTF-8, control characters and absurd lengths,
// and collapses runs of white space.
func checkText(field, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", backend.Invalid(CodeInvalid, field, "not valid UTF-8")
	}
	if utf8.RuneCountInString(s) > maxField {
		return "", backend.Invalid(CodeInvalid, field, "too long")
	}
	for _, r := range s {
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			return "", backend.Invalid(CodeInvalid, field, "contains a control character")
		}
	}
	return strings.Join(strings.Fields(s), " "), nil
}

// groupIdent writes an identifier in groups of four for typing:
// "R7K3M9QX2P4Z" → "R7K3 M9QX 2P4Z".
func groupIdent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func render(c content, f Format, s Stock) ([]byte, string, error) {
	switch f {
	case FormatPNG:
		return renderPNG(c, s)
	case FormatPDF:
		return renderPDF(c, s)
	case FormatZPL:
		return renderZPL(c, s)
	}
	return nil, "", backend.Invalid(CodeInvalid, "format", "format must be png, pdf or zpl")
}
