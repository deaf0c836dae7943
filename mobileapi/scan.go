package mobileapi

import (
	"context"
	"errors"
	"io"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/catalogue"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/corsia-cce/corsia/backend/scan"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

type scanResidentJSON struct {
	ID         uuid.UUID  `json:"id"`
	GivenName  string     `json:"given_name"`
	FamilyName string     `json:"family_name"`
	Bed        string     `json:"bed"`
	WardID     *uuid.UUID `json:"ward_id"`
}

type scanStaffJSON struct {
	ID         uuid.UUID `json:"id"`
	GivenName  string    `json:"given_name"`
	FamilyName string    `json:"family_name"`
	Roles      []string  `json:"roles"`
}

type interpretationJSON struct {
	codes.Interpretation
	// Resident is the wristband's resident when she is in the caller's
	// scope; an unknown and an out-of-scope wristband both give null.
	Resident *scanResidentJSON `json:"resident"`
	Staff    *scanStaffJSON    `json:"staff"`
	// Product is the catalogue product a pack code stands for, or null.
	Product *catalogue.Product `json:"product"`
}

type symbolJSON struct {
	Symbology      string              `json:"symbology"`
	Text           string              `json:"text"`
	GS1            bool                `json:"gs1"`
	Interpretation *interpretationJSON `json:"interpretation"`
}

// resolver interprets decoded symbols once per request: a wristband read is
// an audited read of the resident, and must not be audited twice because the
// decoder asked whether to accept it.
type resolver struct {
	s     *Server
	ctx   context.Context
	c     *fiber.Ctx
	cache map[string]*interpretationJSON
}

func (r *resolver) resolve(sym scan.Symbol) *interpretationJSON {
	text := sym.Text
	if sym.GS1 {
		text = "\x1d" + text // FNC1 first: a GS1 element string
	}
	if in, ok := r.cache[text]; ok {
		return in
	}
	var out *interpretationJSON
	if in, err := codes.Interpret(text); err == nil {
		out = &interpretationJSON{Interpretation: in}
		a := actor(r.c)
		switch {
		case in.Kind == codes.ScanWristband || (in.GS1 != nil && in.GS1.GSRNRecipient != ""):
			if res, err := r.s.Residents.ByWristband(r.ctx, a, text); err == nil {
				out.Resident = &scanResidentJSON{ID: res.ID, GivenName: res.GivenName, FamilyName: res.FamilyName,
					Bed: res.BedCode, WardID: optID(res.WardID)}
			}
		case in.AIC != "" || in.GTIN != "":
			if p, err := r.s.Catalogue.Identify(r.ctx, a, in); err == nil {
				p := p
				out.Product = &p
			}
		case in.Kind == codes.ScanBadge || (in.GS1 != nil && in.GS1.GSRNProvider != ""):
			gsrn := ""
			if in.GS1 != nil {
				gsrn = in.GS1.GSRNProvider
			}
			if col, err := r.s.Facility.Identify(r.ctx, a, in.Badge, gsrn); err == nil {
				out.Staff = &scanStaffJSON{ID: col.ID, GivenName: col.GivenName, FamilyName: col.FamilyName, Roles: []string{}}
				for _, role := range col.Roles {
					out.Staff.Roles = append(out.Staff.Roles, string(role))
				}
			}
		}
	}
	r.cache[text] = out
	return out
}

// accept decides on a 1D read: false positives are real (a streaky photo
// yields checksum-valid EANs), so a linear read counts only when it resolves
// to a known product, a resident in the caller's scope or a colleague.
func (r *resolver) accept(sym scan.Symbol) bool {
	in := r.resolve(sym)
	return in != nil && (in.Product != nil || in.Resident != nil || in.Staff != nil)
}

// decodeScan reads the barcodes in a camera frame.
func (s *Server) decodeScan(c *fiber.Ctx) error {
	fh, err := c.FormFile("image")
	if err != nil {
		return backend.Invalid("scan.image_required", "image", `send the photo as multipart field "image"`)
	}
	hint := scan.Hint(c.FormValue("hint"))
	if !hint.Valid() {
		return backend.Invalid("scan.invalid_hint", "hint", "wristband, pack or badge")
	}
	f, err := fh.Open()
	if err != nil {
		return backend.Invalid("scan.image_required", "image", "the image part could not be read")
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(s.cfg.ScanBodyLimit)+1))
	_ = f.Close()
	if err != nil {
		return backend.Invalid("scan.image_required", "image", "the image part could not be read")
	}
	r := &resolver{s: s, ctx: c.UserContext(), c: c, cache: map[string]*interpretationJSON{}}
	syms, err := s.Scanner.Decode(c.UserContext(), data, hint, r.accept)
	switch {
	case errors.Is(err, scan.ErrTooLarge):
		return &backend.Error{Kind: backend.KindTooLarge, Code: "scan.image_too_large", Detail: "at most 20 MiB and 24 megapixels"}
	case errors.Is(err, scan.ErrNotImage):
		return &backend.Error{Kind: backend.KindUnsupported, Code: "scan.not_an_image", Detail: "send a JPEG or PNG photo"}
	case errors.Is(err, scan.ErrNoBarcode):
		return backend.E(backend.KindUnprocessable, "scan.no_barcode", "no readable barcode: move closer, steady the tablet, or type the code")
	case errors.Is(err, scan.ErrBusy):
		return &backend.Error{Kind: backend.KindUnavailable, Code: "scan.busy", RetryAfter: 1}
	case err != nil:
		return err
	}
	out := make([]symbolJSON, 0, len(syms))
	for _, sym := range syms {
		out = append(out, symbolJSON{Symbology: sym.Symbology, Text: sym.Text, GS1: sym.GS1, Interpretation: r.resolve(sym)})
	}
	return c.JSON(fiber.Map{"symbols": out})
}
