package resident

import (
	"bytes"
	"context"
	"image"
	_ "image/jpeg" // register decoders for DecodeConfig
	_ "image/png"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
)

// Photo limits: a face for identification at the bedside, not a scan.
const (
	MaxPhotoBytes  = 1 << 20
	MaxPhotoPixels = 2048 * 2048
)

// decodeSlots bounds concurrent photo decodes: a 4-megapixel 16-bit PNG
// takes ~32 MB while it is checked.
var decodeSlots = make(chan struct{}, 2)

// Photo is a resident's identification photo. A new photo is a new row; the
// old ones are kept.
type Photo struct {
	ContentType string
	Data        []byte
}

// checkPhoto accepts a JPEG or PNG within the limits, looking at the header
// before any pixel is decoded, then decoding it once to refuse corrupt data.
func checkPhoto(data []byte) (string, error) {
	bad := func(why string) error { return backend.Invalid("photo.invalid", "photo", why) }
	if len(data) == 0 || len(data) > MaxPhotoBytes {
		return "", bad("a JPEG or PNG of at most 1 MiB")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "jpeg" && format != "png") {
		return "", bad("not a JPEG or PNG image")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > 4096 || cfg.Height > 4096 || cfg.Width*cfg.Height > MaxPhotoPixels {
		return "", bad("at most 4 megapixels")
	}
	decodeSlots <- struct{}{}
	defer func() { <-decodeSlots }()
	if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
		return "", bad("the image data is corrupt")
	}
	return "image/" + format, nil
}

// SetPhoto records a new identification photo.
func (s *Service) SetPhoto(ctx context.Context, a *backend.Actor, id uuid.UUID, data []byte) error {
	ct, err := checkPhoto(data)
	if err != nil {
		return err
	}
	return s.write(ctx, a, access.EditResident, id, func(tx Tx, r *Resident, _ access.Decision) (audit.Event, error) {
		pid := uuid.New()
		if err := tx.InsertPhoto(ctx, a.FacilityID, id, pid, ct, data, a.StaffID); err != nil {
			return audit.Event{}, err
		}
		return audit.By(a, "resident.photo", "photo", pid.String(), id, audit.Success), nil
	})
}

// Photo returns the resident's latest photo; reading it is an audited read.
func (s *Service) Photo(ctx context.Context, a *backend.Actor, id uuid.UUID) (Photo, error) {
	if _, err := s.Get(ctx, a, id); err != nil {
		return Photo{}, err
	}
	p, err := s.Store.LatestPhoto(ctx, a.FacilityID, id)
	if backend.IsKind(err, backend.KindNotFound) {
		return Photo{}, backend.E(backend.KindNotFound, "photo.not_found")
	}
	return p, err
}
