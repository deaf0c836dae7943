package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/assess"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// AssessStore implements assess.Store.
type AssessStore struct{ *DB }

var _ assess.Store = AssessStore{}

const assessmentSelect = `SELECT a.id, a.facility_id, a.resident_id, a.scale, a.answers, a.raw_total, a.total::float8, a.band,
	a.age, a.schooling_years, coalesce(a.norms, ''), a.correction::float8, a.correction_note, a.notes, a.assessed_at,
	a.recorded_at, a.recorded_by, c.reason, c.recorded_by, c.recorded_at
	FROM assessments a LEFT JOIN assessment_corrections c ON c.facility_id = a.facility_id AND c.assessment_id = a.id`

func scanAssessment(row pgx.CollectableRow) (assess.Assessment, error) {
	var a assess.Assessment
	var answers []byte
	var reason *string
	var by *uuid.UUID
	var at *time.Time
	err := row.Scan(&a.ID, &a.FacilityID, &a.ResidentID, &a.Scale, &answers, &a.RawTotal, &a.Total, &a.Band,
		&a.Age, &a.SchoolingYears, &a.Norms, &a.Correction, &a.CorrectionNote, &a.Notes, &a.AssessedAt,
		&a.RecordedAt, &a.RecordedBy, &reason, &by, &at)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(answers, &a.Answers); err != nil {
		return a, backend.Internal(err, "assessment answers")
	}
	if reason != nil {
		a.EnteredInError = &assess.Correction{Reason: *reason, By: deref(by), At: *at}
	}
	return a, nil
}

func assessTarget(ctx context.Context, q querier, facility, res, staff uuid.UUID, lock bool) (access.Target, error) {
	r, grant, err := readResident(ctx, q, facility, res, staff, lock)
	if err != nil {
		return access.Target{}, err
	}
	return access.Target{FacilityID: r.FacilityID, WardID: r.WardID, GrantReason: grant,
		Current: r.Status == "admitted" || r.Status == "hospitalised"}, nil
}

// ResidentTarget describes a resident for an access decision.
func (s AssessStore) ResidentTarget(ctx context.Context, facility, res, staff uuid.UUID) (access.Target, error) {
	return assessTarget(ctx, s.Pool, facility, res, staff, false)
}

// BandOverrides lists a facility's band overrides of a scale.
func (s AssessStore) BandOverrides(ctx context.Context, facility uuid.UUID, scale string) ([]assess.Override, error) {
	rows, err := s.Pool.Query(ctx, `SELECT band, from_score::float8 FROM assessment_band_overrides
		WHERE facility_id = $1 AND scale = $2 ORDER BY from_score`, facility, scale)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (assess.Override, error) {
		var o assess.Override
		err := row.Scan(&o.Band, &o.From)
		return o, err
	})
	return out, translate(err)
}

// bandSettings reads a facility's overrides of a scale. Their version is 1
// plus the versions of the rows, so that every insert or update (which
// keep_history bumps by one) moves it on.
const bandSettings = `SELECT band, from_score::float8, version FROM assessment_band_overrides
	WHERE facility_id = $1 AND scale = $2 ORDER BY from_score`

func readBandSettings(ctx context.Context, q querier, facility uuid.UUID, scale string) ([]assess.Override, int, error) {
	rows, err := q.Query(ctx, bandSettings, facility, scale)
	if err != nil {
		return nil, 0, translate(err)
	}
	version := 1
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (assess.Override, error) {
		var o assess.Override
		var v int
		err := row.Scan(&o.Band, &o.From, &v)
		version += v
		return o, err
	})
	return out, version, translate(err)
}

// BandSettings lists a facility's band overrides of a scale and their
// version.
func (s AssessStore) BandSettings(ctx context.Context, facility uuid.UUID, scale string) ([]assess.Override, int, error) {
	return readBandSettings(ctx, s.Pool, facility, scale)
}

// List lists a resident's assessments, newest first.
func (s AssessStore) List(ctx context.Context, facility, res uuid.UUID, scale string) ([]assess.Assessment, error) {
	rows, err := s.Pool.Query(ctx, assessmentSelect+` WHERE a.facility_id = $1 AND a.resident_id = $2 AND ($3 = '' OR a.scale = $3)
		ORDER BY a.assessed_at DESC, a.recorded_at DESC, a.id`, facility, res, scale)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, scanAssessment)
	return out, translate(err)
}

// WardLatest lists the ward's current residents with their latest valid
// result per scale.
func (s AssessStore) WardLatest(ctx context.Context, facility, ward uuid.UUID) ([]assess.ResidentLatest, bool, error) {
	if found, err := wardExists(ctx, s.Pool, facility, ward); err != nil || !found {
		return nil, false, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT r.id, r.given_name, r.family_name, coalesce(b.code, ''),
			coalesce((SELECT jsonb_agg(jsonb_build_object('scale', l.scale, 'band', l.band, 'at', l.assessed_at))
				FROM (SELECT DISTINCT ON (a.scale) a.scale, a.band, a.assessed_at FROM assessments a
					WHERE a.facility_id = r.facility_id AND a.resident_id = r.id
					  AND NOT EXISTS (SELECT 1 FROM assessment_corrections c
					                  WHERE c.facility_id = a.facility_id AND c.assessment_id = a.id)
					ORDER BY a.scale, a.assessed_at DESC, a.recorded_at DESC) l), '[]')
		FROM residents r LEFT JOIN beds b ON b.facility_id = r.facility_id AND b.id = r.bed_id
		WHERE r.facility_id = $1 AND r.ward_id = $2 AND r.status IN ('admitted', 'hospitalised')
		ORDER BY b.code NULLS LAST, r.family_name, r.given_name`, facility, ward)
	if err != nil {
		return nil, true, translate(err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (assess.ResidentLatest, error) {
		var r assess.ResidentLatest
		var raw []byte
		if err := row.Scan(&r.ResidentID, &r.GivenName, &r.FamilyName, &r.Bed, &raw); err != nil {
			return r, err
		}
		var ls []struct {
			Scale string    `json:"scale"`
			Band  string    `json:"band"`
			At    time.Time `json:"at"`
		}
		if err := json.Unmarshal(raw, &ls); err != nil {
			return r, backend.Internal(err, "latest assessments")
		}
		r.Last = make(map[string]assess.Last, len(ls))
		for _, l := range ls {
			r.Last[l.Scale] = assess.Last{Scale: l.Scale, Band: l.Band, AssessedAt: l.At}
		}
		return r, nil
	})
	return list, true, translate(err)
}

// AppendAudit writes events outside any other transaction (reads, refusals).
func (s AssessStore) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return appendAudit(ctx, s.Pool, events...)
}

// Tx runs fn in a transaction.
func (s AssessStore) Tx(ctx context.Context, actor *backend.Actor, fn func(assess.Tx) error) error {
	return s.inTx(ctx, actor, func(tx pgx.Tx) error { return fn(assessTx{tx}) })
}

type assessTx struct{ tx pgx.Tx }

func (t assessTx) LockResident(ctx context.Context, facility, res, staff uuid.UUID) (access.Target, error) {
	return assessTarget(ctx, t.tx, facility, res, staff, true)
}

func (t assessTx) ByKey(ctx context.Context, facility, staff uuid.UUID, key string) (assess.Assessment, bool, error) {
	rows, err := t.tx.Query(ctx, assessmentSelect+` WHERE a.facility_id = $1 AND a.recorded_by = $2 AND a.idempotency_key = $3`,
		facility, staff, key)
	if err != nil {
		return assess.Assessment{}, false, translate(err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, scanAssessment)
	if err == pgx.ErrNoRows {
		return assess.Assessment{}, false, nil
	}
	return a, err == nil, translate(err)
}

func (t assessTx) Insert(ctx context.Context, a *assess.Assessment, key string) error {
	return insertAssessment(ctx, t.tx, a, key)
}

func insertAssessment(ctx context.Context, q querier, a *assess.Assessment, key string) error {
	answers, err := json.Marshal(a.Answers)
	if err != nil {
		return backend.Internal(err, "assessment answers")
	}
	var norms, idem any
	if a.Norms != "" {
		norms = a.Norms
	}
	if key != "" {
		idem = key
	}
	_, err = q.Exec(ctx, `INSERT INTO assessments (facility_id, id, resident_id, scale, answers, raw_total, total, band,
			age, schooling_years, norms, correction, correction_note, notes, assessed_at, recorded_at, recorded_by, idempotency_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		a.FacilityID, a.ID, a.ResidentID, a.Scale, answers, a.RawTotal, a.Total, a.Band, a.Age, a.SchoolingYears, norms,
		a.Correction, a.CorrectionNote, a.Notes, a.AssessedAt, a.RecordedAt, a.RecordedBy, idem)
	return translate(err)
}

func (t assessTx) Get(ctx context.Context, facility, id uuid.UUID) (assess.Assessment, error) {
	rows, err := t.tx.Query(ctx, assessmentSelect+` WHERE a.facility_id = $1 AND a.id = $2`, facility, id)
	if err != nil {
		return assess.Assessment{}, translate(err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, scanAssessment)
	return a, translate(err)
}

func (t assessTx) InsertCorrection(ctx context.Context, facility, id uuid.UUID, c assess.Correction) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO assessment_corrections (facility_id, assessment_id, reason, recorded_by, recorded_at)
		VALUES ($1, $2, $3, $4, $5)`, facility, id, c.Reason, c.By, c.At)
	if backend.IsCode(translate(err), "duplicate") {
		return backend.E(backend.KindConflict, assess.CodeAlreadyInError, "already marked entered in error")
	}
	return translate(err)
}

// LockBands takes a transaction-scoped advisory lock on the facility's
// bands of the scale (there may be no row yet to lock) and reads them.
func (t assessTx) LockBands(ctx context.Context, facility uuid.UUID, scale string) ([]assess.Override, int, error) {
	if _, err := t.tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('scale_bands:' || $1::text || ':' || $2, 0))",
		facility, scale); err != nil {
		return nil, 0, translate(err)
	}
	return readBandSettings(ctx, t.tx, facility, scale)
}

// SetBand inserts or moves one band's override; an unchanged bound writes
// nothing (and so bumps no version).
func (t assessTx) SetBand(ctx context.Context, facility uuid.UUID, scale, band string, from float64, by uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO assessment_band_overrides (facility_id, id, scale, band, from_score, updated_by)
		VALUES ($1, gen_random_uuid(), $2, $3, $4, $5)
		ON CONFLICT (facility_id, scale, band) DO UPDATE SET from_score = excluded.from_score, updated_by = excluded.updated_by
		WHERE assessment_band_overrides.from_score <> excluded.from_score`, facility, scale, band, from, by)
	return translate(err)
}

func (t assessTx) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return appendAudit(ctx, t.tx, events...)
}

// loadAssessments writes the demo residents' past assessments, scored with
// the default bands and recorded by the first nurse of the resident's ward.
func loadAssessments(ctx context.Context, tx pgx.Tx, d *fixtures.Data, fid uuid.UUID) error {
	nurse := map[string]uuid.UUID{}
	for _, s := range d.Staff {
		if !slices.Contains(s.Roles, "nurse") {
			continue
		}
		for _, w := range s.Wards {
			if _, ok := nurse[w]; !ok {
				nurse[w] = d.ID("staff", s.Username)
			}
		}
	}
	b := &pgx.Batch{}
	for i, a := range d.DemoAssessments(time.Now()) {
		sc, ok := assess.Lookup(a.Scale)
		if !ok || nurse[a.Ward] == uuid.Nil {
			return fmt.Errorf("demo assessment %d: scale %q, ward %q", i, a.Scale, a.Ward)
		}
		res, err := assess.Score(sc, a.Answers, sc.Bands, assess.MMSEInput{})
		if err != nil {
			return fmt.Errorf("demo assessment %d (%s): %w", i, a.Scale, err)
		}
		rid := d.ID("resident", a.Resident.Ward+"/"+a.Resident.Bed+"/"+a.Resident.FiscalCode)
		as := assess.Assessment{FacilityID: fid, ID: d.ID("assessment", fmt.Sprintf("%s/%d", rid, i)), ResidentID: rid,
			Scale: sc.Key, Answers: a.Answers, RawTotal: res.RawTotal, Total: res.Total, Band: res.Band,
			AssessedAt: a.AssessedAt, RecordedAt: a.AssessedAt.Add(10 * time.Minute), RecordedBy: nurse[a.Ward]}
		answers, _ := json.Marshal(as.Answers)
		b.Queue(`INSERT INTO assessments (facility_id, id, resident_id, scale, answers, raw_total, total, band, assessed_at,
				recorded_at, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
			as.FacilityID, as.ID, as.ResidentID, as.Scale, answers, as.RawTotal, as.Total, as.Band, as.AssessedAt,
			as.RecordedAt, as.RecordedBy)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("demo assessments: %w", err)
	}
	return nil
}
