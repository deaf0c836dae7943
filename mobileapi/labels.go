package mobileapi

import (
	"strconv"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/facility"
	"github.com/corsia-cce/corsia/backend/label"
	"github.com/corsia-cce/corsia/backend/resident"
	"github.com/gofiber/fiber/v2"
)

// renderWristband adapts a resident's wristband data to the label renderer.
func renderWristband(w resident.Wristband, format, stockName string) ([]byte, string, error) {
	f, err := label.ParseFormat(format)
	if err != nil {
		return nil, "", err
	}
	stock, ok := label.LookupStock(stockName)
	if !ok || stock.Kind != label.StockWristband {
		return nil, "", backend.Invalid("label.invalid", "stock", "a wristband stock, e.g. wristband-adult-300")
	}
	r := w.Resident
	return label.RenderWristband(label.Wristband{Ident: r.WristbandCode, GSRN: w.GSRN, GivenName: r.GivenName,
		FamilyName: r.FamilyName, BirthDate: r.BirthDate, Ward: w.WardName, Bed: r.BedCode, Allergy: w.HasAllergy,
		Facility: w.Facility}, f, stock)
}

// wristband prints (or reprints) a resident's wristband. Every call is a
// counted, audited print: the copy number comes back in X-Label-Copy.
func (s *Server) wristband(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	format := c.Query("format", "png")
	stock := c.Query("stock", label.WristbandAdult300.Name)
	if _, err := label.ParseFormat(format); err != nil {
		return err
	}
	p, err := s.Residents.PrintWristband(c.UserContext(), actor(c), id, format, stock, renderWristband)
	if err != nil {
		return err
	}
	c.Set("X-Label-Copy", strconv.Itoa(p.Copy))
	c.Set(fiber.HeaderContentType, p.ContentType)
	return c.Send(p.Data)
}

// roleNames are the Italian role titles printed on badges.
var roleNames = map[backend.Role]string{
	backend.RolePhysician: "Medico", backend.RoleNurse: "Infermiere", backend.RoleOSS: "OSS",
	backend.RoleTherapist: "Terapista", backend.RoleWardLead: "Coordinatore", backend.RoleDirector: "Direttore sanitario",
	backend.RoleAdmin: "Amministrazione", backend.RoleAuditor: "Auditor",
}

func renderBadge(b facility.BadgeData, format, stockName string) ([]byte, string, error) {
	f, err := label.ParseFormat(format)
	if err != nil {
		return nil, "", err
	}
	stock, ok := label.LookupStock(stockName)
	if !ok || stock.Kind != label.StockBadge {
		return nil, "", backend.Invalid("label.invalid", "stock", "a badge stock, e.g. badge-cr80")
	}
	role := ""
	if len(b.Member.Roles) > 0 {
		// The clinical role, when there is one, is what colleagues need to read.
		role = roleNames[b.Member.Roles[0]]
		for _, r := range b.Member.Roles {
			if r == backend.RolePhysician || r == backend.RoleNurse || r == backend.RoleWardLead {
				role = roleNames[r]
			}
		}
	}
	return label.RenderBadge(label.Badge{Ident: b.Member.BadgeCode, GSRN: b.GSRN, GivenName: b.Member.GivenName,
		FamilyName: b.Member.FamilyName, Role: role, Facility: b.Facility}, f, stock)
}

// printBadge prints (or reprints) a staff badge: admins only, audited, counted.
func (s *Server) printBadge(c *fiber.Ctx) error {
	id, err := pathID(c, "id", "staff.not_found")
	if err != nil {
		return err
	}
	format := c.Query("format", "png")
	if _, err := label.ParseFormat(format); err != nil {
		return err
	}
	data, ct, copyNo, err := s.Facility.PrintBadge(c.UserContext(), actor(c), id, format, c.Query("stock", label.BadgeCR80.Name), renderBadge)
	if err != nil {
		return err
	}
	c.Set("X-Label-Copy", strconv.Itoa(copyNo))
	c.Set(fiber.HeaderContentType, ct)
	return c.Send(data)
}
