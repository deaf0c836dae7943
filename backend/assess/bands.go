package assess

import (
	"context"
	"math"
	"strconv"
	"strings"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
)

// A facility's bands of a scale, set by the medical director. The model is
// the one of assessment_band_overrides: a band keeps its key (the keys of
// scales.md) and its place in the scale's order; only where it starts
// moves. A full set of bands is checked so that every score of the scale
// falls in exactly one band. Assessments store the band they were given:
// changing the bands changes new assessments only.

// Error codes of band settings (422 unless said).
const (
	CodeScaleNotFound  = "scale.not_found"          // 404: no such scale
	CodeBandKeys       = "scale_bands.keys"         // not exactly the scale's bands, in its order
	CodeBandGap        = "scale_bands.gap"          // the lowest band does not start at the scale's minimum
	CodeBandOverlap    = "scale_bands.overlap"      // a band does not start above the one before
	CodeBandOutOfRange = "scale_bands.out_of_range" // a band starts above the scale's maximum: no score reaches it
	CodeBandNotAScore  = "scale_bands.not_a_score"  // a bound no score of the scale can take
)

// BandSet is a scale's bands in one facility.
type BandSet struct {
	Scale Scale
	// Bands are the facility's, in the scale's order.
	Bands []Band
	// Version is 1 while the facility kept the defaults and grows with
	// every band moved; a change carries the version it was based on.
	Version int
}

// DefaultFrom is where band key starts in the defaults of scales.md.
func (s Scale) DefaultFrom(key string) float64 {
	for _, b := range s.Bands {
		if b.Key == key {
			return b.From
		}
	}
	return 0
}

func bandError(code, field, why string) error {
	return &backend.Error{Kind: backend.KindUnprocessable, Code: code, Detail: field + ": " + why,
		Fields: map[string]string{field: why}}
}

// ValidateBands checks a full set of bands for the scale: its band keys,
// each once, in its order; the first starting at the scale's minimum; each
// starting above the one before and not above the maximum; every bound a
// score of the scale (whole points; MMSE, scored on its corrected total, to
// one decimal). Together these leave no gap and no overlap.
func (s Scale) ValidateBands(bands []Band) error {
	keys := make([]string, len(s.Bands))
	for i, b := range s.Bands {
		keys[i] = b.Key
	}
	if len(bands) != len(s.Bands) {
		return bandError(CodeBandKeys, "bands", "the bands of "+s.Key+", in order: "+strings.Join(keys, ", "))
	}
	for i, b := range bands {
		if b.Key != keys[i] {
			return bandError(CodeBandKeys, "bands["+strconv.Itoa(i)+"].key", keys[i]+" (the bands of "+s.Key+", in order: "+
				strings.Join(keys, ", ")+")")
		}
	}
	for i, b := range bands {
		field := "bands[" + strconv.Itoa(i) + "].from"
		if !s.isBound(b.From) {
			if s.Key == "mmse" {
				return bandError(CodeBandNotAScore, field, "a score to one decimal")
			}
			return bandError(CodeBandNotAScore, field, "a whole score")
		}
		switch {
		case i == 0 && b.From != float64(s.Min):
			return bandError(CodeBandGap, field, "the lowest band starts at the scale's minimum, "+strconv.Itoa(s.Min))
		case i > 0 && b.From <= bands[i-1].From:
			return bandError(CodeBandOverlap, field, "above where "+bands[i-1].Key+" starts")
		case b.From > float64(s.Max):
			return bandError(CodeBandOutOfRange, field, "at most the scale's maximum, "+strconv.Itoa(s.Max))
		}
	}
	return nil
}

// isBound reports whether v can start a band: a whole score, or for MMSE
// (whose corrected total has one decimal) a score to one decimal. Bounds
// are stored as numeric(4,1).
func (s Scale) isBound(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) >= 1000 {
		return false
	}
	if s.Key == "mmse" {
		return math.Abs(v*10-math.Round(v*10)) < 1e-9
	}
	return v == math.Trunc(v)
}

// CanManageBands reports whether the actor sets the facility's bands.
func CanManageBands(a *backend.Actor) bool { return access.Can(a, access.ManageScaleBands) }

func (s *Service) bandScale(a *backend.Actor, key string) (Scale, error) {
	if !CanManageBands(a) {
		return Scale{}, backend.E(backend.KindForbidden, backend.CodeForbidden, "only the medical director sets the bands")
	}
	sc, ok := Lookup(key)
	if !ok {
		return Scale{}, backend.E(backend.KindNotFound, CodeScaleNotFound, "no such scale")
	}
	return sc, nil
}

// ScaleBands returns a scale's bands in the actor's facility with the
// version to send back with a change. Medical director only
// (access.ManageScaleBands): facility configuration, no resident data.
func (s *Service) ScaleBands(ctx context.Context, a *backend.Actor, key string) (BandSet, error) {
	sc, err := s.bandScale(a, key)
	if err != nil {
		return BandSet{}, err
	}
	ov, version, err := s.Store.BandSettings(ctx, a.FacilityID, sc.Key)
	if err != nil {
		return BandSet{}, err
	}
	bands, err := sc.BandsWith(ov)
	if err != nil {
		return BandSet{}, err
	}
	return BandSet{Scale: sc, Bands: bands, Version: version}, nil
}

// SetScaleBands replaces the facility's bands of a scale. The change is
// refused (409 version_conflict) when the bands moved since version was
// read. Only the bands that move are written; each write keeps the row it
// replaces in row_history. Audited. Assessments already recorded keep
// their band.
func (s *Service) SetScaleBands(ctx context.Context, a *backend.Actor, key string, version int, bands []Band) (BandSet, error) {
	sc, err := s.bandScale(a, key)
	if err != nil {
		return BandSet{}, err
	}
	if err := sc.ValidateBands(bands); err != nil {
		return BandSet{}, err
	}
	out := BandSet{Scale: sc}
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		ov, cur, err := tx.LockBands(ctx, a.FacilityID, sc.Key)
		if err != nil {
			return err
		}
		if cur != version {
			return backend.E(backend.KindConflict, backend.CodeVersionConflict, "the bands changed since you read them")
		}
		was, err := sc.BandsWith(ov)
		if err != nil {
			return err
		}
		moved := []string{}
		for i, b := range bands {
			if b.From == was[i].From {
				continue
			}
			// A band back at its default keeps its row (rows are never
			// deleted): the row now holds the default.
			if err := tx.SetBand(ctx, a.FacilityID, sc.Key, b.Key, b.From, a.StaffID); err != nil {
				return err
			}
			moved = append(moved, b.Key+" "+strconv.FormatFloat(was[i].From, 'f', -1, 64)+"→"+strconv.FormatFloat(b.From, 'f', -1, 64))
		}
		if _, out.Version, err = tx.LockBands(ctx, a.FacilityID, sc.Key); err != nil {
			return err
		}
		ev := audit.By(a, string(access.ManageScaleBands), "scale_bands", sc.Key, uuid.Nil, audit.Success)
		ev.Detail = sc.Key + ": " + strings.Join(moved, ", ")
		if len(moved) == 0 {
			ev.Detail = sc.Key + ": unchanged"
		}
		return tx.AppendAudit(ctx, ev)
	})
	if err != nil {
		return BandSet{}, err
	}
	out.Bands = bands
	return out, nil
}
