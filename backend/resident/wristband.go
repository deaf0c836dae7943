package resident

import (
	"context"
	"strconv"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
)

// Wristband is what goes on a resident's wristband: identity, where she is,
// and whether she has allergies — never what they are, nor any diagnosis.
type Wristband struct {
	Resident   Resident
	GSRN       string // 18 digits for AI 8018, "" when the facility has no GS1 company prefix
	WardName   string
	Facility   string
	HasAllergy bool
	Copy       int // 1 for the first print; more means reprints
}

// Print is one rendered label.
type Print struct {
	Data        []byte
	ContentType string
	Copy        int
}

// RenderFunc renders a label in a format on a stock (backend/label).
type RenderFunc func(w Wristband, format, stock string) ([]byte, string, error)

// PrintWristband renders the resident's wristband and records the print, in
// one transaction with its audit event: a label that failed to render is not
// counted, and a counted print is always audited. Reprints are counted per
// resident (copy numbers are unique per resident in the database).
func (s *Service) PrintWristband(ctx context.Context, a *backend.Actor, id uuid.UUID, format, stock string, render RenderFunc) (Print, error) {
	var out Print
	err := s.write(ctx, a, access.PrintWristband, id, func(tx Tx, r *Resident, _ access.Decision) (audit.Event, error) {
		w := Wristband{Resident: *r}
		for _, al := range r.Allergies {
			w.HasAllergy = w.HasAllergy || al.Status == "active"
		}
		var err error
		if w.GSRN, err = tx.ResidentGSRN(ctx, a.FacilityID, id); err != nil {
			return audit.Event{}, err
		}
		if w.WardName, w.Facility, err = tx.WardAndFacility(ctx, a.FacilityID, r.WardID); err != nil {
			return audit.Event{}, err
		}
		if w.Copy, err = tx.RecordPrint(ctx, a.FacilityID, id, a.StaffID, a.DeviceID, format, stock); err != nil {
			return audit.Event{}, err
		}
		data, ct, err := render(w, format, stock)
		if err != nil {
			return audit.Event{}, err
		}
		out = Print{Data: data, ContentType: ct, Copy: w.Copy}
		ev := audit.By(a, string(access.PrintWristband), "wristband", id.String(), id, audit.Success)
		ev.Detail = "copy " + strconv.Itoa(w.Copy) + " " + format
		return ev, nil
	})
	return out, err
}
