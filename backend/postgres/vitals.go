package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/vitals"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// VitalsStore implements vitals.Store. Values cross the boundary as text
// cast to numeric: never as floats.
type VitalsStore struct{ *DB }

var _ vitals.Store = VitalsStore{}

// Resident reads what vitals needs to decide access on a resident.
func (s VitalsStore) Resident(ctx context.Context, facility, id, staff uuid.UUID) (vitals.ResidentFacts, error) {
	var r vitals.ResidentFacts
	var ward *uuid.UUID
	err := s.Pool.QueryRow(ctx, `SELECT r.id, r.facility_id, r.ward_id, r.status IN ('admitted', 'hospitalised'),
			coalesce((SELECT g.reason FROM break_glass_grants g WHERE g.facility_id = r.facility_id AND g.staff_id = $3
			   AND g.resident_id = r.id AND g.expires_at > now() ORDER BY g.expires_at DESC LIMIT 1), '')
		FROM residents r WHERE r.facility_id = $1 AND r.id = $2`, facility, id, staff).
		Scan(&r.ID, &r.FacilityID, &ward, &r.Current, &r.Grant)
	if err == pgx.ErrNoRows {
		return r, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	r.WardID = deref(ward)
	return r, translate(err)
}

const measurementColumns = `m.id, m.record_id, m.resident_id, m.measured_at, m.kind, m.value::text, m.value2::text, m.unit,
	m.subkind, m.assessment_id, m.computed, m.flags, m.normal_low::text, m.normal_high::text, m.normal_low2::text,
	m.normal_high2::text, m.position, c.id, c.reason, c.recorded_by, c.recorded_at`

const measurementFrom = ` FROM vital_measurements m
	LEFT JOIN vital_corrections c ON c.facility_id = m.facility_id AND c.measurement_id = m.id`

func optDec(s *string) *decimal.Decimal {
	if s == nil {
		return nil
	}
	d, err := decimal.NewFromString(*s)
	if err != nil {
		return nil
	}
	return &d
}

func optRange(lo, hi *string) *vitals.Range {
	l, h := optDec(lo), optDec(hi)
	if l == nil || h == nil {
		return nil
	}
	return &vitals.Range{Low: *l, High: *h}
}

func decArg(d *decimal.Decimal) any {
	if d == nil {
		return nil
	}
	return d.String()
}

func scanMeasurement(row pgx.CollectableRow) (vitals.Measurement, error) {
	var m vitals.Measurement
	var value, value2, lo, hi, lo2, hi2 *string
	var cid, cby *uuid.UUID
	var creason *string
	var cat *time.Time
	err := row.Scan(&m.ID, &m.RecordID, &m.ResidentID, &m.MeasuredAt, &m.Kind, &value, &value2, &m.Unit, &m.Subkind,
		&m.AssessmentID, &m.Computed, &m.Flags, &lo, &hi, &lo2, &hi2, &m.Position, &cid, &creason, &cby, &cat)
	if err != nil {
		return m, err
	}
	m.MeasuredAt = m.MeasuredAt.UTC()
	if m.Flags == nil {
		m.Flags = []string{}
	}
	m.NormalRange = optRange(lo, hi)
	if m.Kind == vitals.BloodPressure {
		m.Systolic, m.Diastolic = optDec(value), optDec(value2)
		m.DiastolicNormalRange = optRange(lo2, hi2)
	} else {
		m.Value = optDec(value)
	}
	if cid != nil {
		m.EnteredInError = &vitals.Correction{ID: *cid, Reason: *creason, RecordedBy: deref(cby), RecordedAt: cat.UTC()}
	}
	return m, nil
}

// Measurements lists a resident's measurements in [from, to), oldest first.
func (s VitalsStore) Measurements(ctx context.Context, facility, resident uuid.UUID, kind vitals.Kind, from, to time.Time) ([]vitals.Measurement, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+measurementColumns+measurementFrom+`
		WHERE m.facility_id = $1 AND m.resident_id = $2 AND ($3 = '' OR m.kind = $3)
		  AND m.measured_at >= $4 AND m.measured_at < $5
		ORDER BY m.measured_at, m.record_id, m.position`, facility, resident, string(kind), from, to)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, scanMeasurement)
	return out, translate(err)
}

// WardLatest lists the ward's current residents with the latest valid
// measurement of each kind.
func (s VitalsStore) WardLatest(ctx context.Context, facility, ward uuid.UUID) ([]vitals.Latest, bool, error) {
	if exists, err := wardExists(ctx, s.Pool, facility, ward); err != nil || !exists {
		return nil, false, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT r.id, r.given_name, r.family_name, coalesce(b.code, '')
		FROM residents r LEFT JOIN beds b ON b.facility_id = r.facility_id AND b.id = r.bed_id
		WHERE r.facility_id = $1 AND r.ward_id = $2 AND r.status IN ('admitted', 'hospitalised')
		ORDER BY coalesce(b.code, ''), r.family_name, r.id`, facility, ward)
	if err != nil {
		return nil, true, translate(err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (vitals.Latest, error) {
		l := vitals.Latest{Latest: []vitals.Measurement{}}
		return l, row.Scan(&l.ResidentID, &l.GivenName, &l.FamilyName, &l.BedCode)
	})
	if err != nil {
		return nil, true, translate(err)
	}
	rows, err = s.Pool.Query(ctx, `SELECT DISTINCT ON (m.resident_id, m.kind) `+measurementColumns+measurementFrom+`
		JOIN residents r ON r.facility_id = m.facility_id AND r.id = m.resident_id
		WHERE m.facility_id = $1 AND r.ward_id = $2 AND r.status IN ('admitted', 'hospitalised') AND c.id IS NULL
		ORDER BY m.resident_id, m.kind, m.measured_at DESC, m.position`, facility, ward)
	if err != nil {
		return nil, true, translate(err)
	}
	ms, err := pgx.CollectRows(rows, scanMeasurement)
	if err != nil {
		return nil, true, translate(err)
	}
	idx := map[uuid.UUID]int{}
	for i, l := range list {
		idx[l.ResidentID] = i
	}
	for _, m := range ms {
		if i, ok := idx[m.ResidentID]; ok {
			list[i].Latest = append(list[i].Latest, m)
		}
	}
	return list, true, nil
}

// Tx runs fn in one transaction.
func (s VitalsStore) Tx(ctx context.Context, actor *backend.Actor, fn func(vitals.Tx) error) error {
	return s.inTx(ctx, actor, func(tx pgx.Tx) error { return fn(vitalsTx{tx}) })
}

type vitalsTx struct{ tx pgx.Tx }

func (t vitalsTx) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return appendAudit(ctx, t.tx, events...)
}

// LockKey shares the therapy record's idempotency keys (and their advisory
// lock): one key, one act, whatever the route.
func (t vitalsTx) LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*vitals.StoredResponse, error) {
	r, err := therapyTx(t).LockKey(ctx, facility, staff, key)
	if r == nil || err != nil {
		return nil, err
	}
	return &vitals.StoredResponse{Operation: r.Operation, Hash: r.Hash, Body: r.Body}, nil
}

func (t vitalsTx) SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r vitals.StoredResponse) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO idempotency_keys (facility_id, staff_id, key, operation, request_hash, status, response)
		VALUES ($1, $2, $3, $4, $5, 201, $6)`, facility, staff, key, r.Operation, r.Hash, r.Body)
	return translate(err)
}

func (t vitalsTx) LatestHeight(ctx context.Context, facility, resident uuid.UUID) (decimal.Decimal, bool, error) {
	var v string
	err := t.tx.QueryRow(ctx, `SELECT m.value::text`+measurementFrom+`
		WHERE m.facility_id = $1 AND m.resident_id = $2 AND m.kind = 'height' AND c.id IS NULL
		ORDER BY m.measured_at DESC LIMIT 1`, facility, resident).Scan(&v)
	if err == pgx.ErrNoRows {
		return decimal.Zero, false, nil
	}
	if err != nil {
		return decimal.Zero, false, translate(err)
	}
	d, err := decimal.NewFromString(v)
	if err != nil {
		return decimal.Zero, false, backend.Internal(err, "stored height")
	}
	return d, true, nil
}

func (t vitalsTx) InsertRecord(ctx context.Context, facility uuid.UUID, r *vitals.Record, device uuid.UUID) error {
	b := &pgx.Batch{}
	queueRecord(b, facility, r, device)
	return translate(t.tx.SendBatch(ctx, b).Close())
}

// queueRecord queues the inserts of a record and its measurements.
func queueRecord(b *pgx.Batch, facility uuid.UUID, r *vitals.Record, device uuid.UUID) {
	var dev any
	if device != uuid.Nil {
		dev = device
	}
	b.Queue(`INSERT INTO vital_records (facility_id, id, resident_id, measured_at, notes, recorded_by, recorded_at, device_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, facility, r.ID, r.ResidentID, r.MeasuredAt, r.Notes, r.RecordedBy,
		r.RecordedAt, dev)
	for _, m := range r.Measurements {
		value, value2 := decArg(m.Value), any(nil)
		if m.Kind == vitals.BloodPressure {
			value, value2 = decArg(m.Systolic), decArg(m.Diastolic)
		}
		var lo, hi, lo2, hi2 any
		if m.NormalRange != nil {
			lo, hi = m.NormalRange.Low.String(), m.NormalRange.High.String()
		}
		if m.DiastolicNormalRange != nil {
			lo2, hi2 = m.DiastolicNormalRange.Low.String(), m.DiastolicNormalRange.High.String()
		}
		b.Queue(`INSERT INTO vital_measurements (facility_id, id, record_id, resident_id, measured_at, kind, value, value2,
				unit, subkind, assessment_id, computed, flags, normal_low, normal_high, normal_low2, normal_high2, position)
			VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8::numeric, $9, $10, $11, $12, $13, $14::numeric, $15::numeric,
				$16::numeric, $17::numeric, $18)`,
			facility, m.ID, r.ID, r.ResidentID, r.MeasuredAt, string(m.Kind), value, value2, m.Unit, m.Subkind, m.AssessmentID,
			m.Computed, m.Flags, lo, hi, lo2, hi2, m.Position)
	}
}

// loadVitals writes the demo's vital signs (fixtures.DemoVitals), flagged
// and with BMIs as the service would have recorded them. Fixture data,
// loaded without audit events of its own.
func loadVitals(ctx context.Context, tx pgx.Tx, d *fixtures.Data, fid uuid.UUID) error {
	seeds := d.DemoVitals(time.Now())
	if len(seeds) == 0 {
		return nil
	}
	heights := map[uuid.UUID]decimal.Decimal{}
	b := &pgx.Batch{}
	for _, sd := range seeds {
		rid := d.ID("resident", sd.Resident.Ward+"/"+sd.Resident.Bed+"/"+sd.Resident.FiscalCode)
		at := sd.MeasuredAt.UTC().Truncate(time.Microsecond)
		rec := vitals.Record{ID: d.ID("vital_record", sd.Key), ResidentID: rid, MeasuredAt: at,
			RecordedBy: d.ID("staff", sd.RecordedBy), RecordedAt: at.Add(3 * time.Minute)}
		var weight *decimal.Decimal
		for _, ms := range sd.Measures {
			in := vitals.Input{Kind: vitals.Kind(ms.Kind), Subkind: ms.Subkind}
			if ms.Value != "" {
				v, err := decimal.NewFromString(ms.Value)
				if err != nil {
					return fmt.Errorf("demo vitals %s: %w", sd.Key, err)
				}
				in.Value = &v
			}
			if ms.Diastolic != "" {
				v, err := decimal.NewFromString(ms.Diastolic)
				if err != nil {
					return fmt.Errorf("demo vitals %s: %w", sd.Key, err)
				}
				in.Diastolic = &v
			}
			req := vitals.RecordRequest{MeasuredAt: at, Measurements: []vitals.Input{in}}
			if err := req.Validate(at); err != nil {
				return fmt.Errorf("demo vitals %s: %w", sd.Key, err)
			}
			in = req.Measurements[0]
			switch in.Kind {
			case vitals.Height:
				heights[rid] = *in.Value
			case vitals.Weight:
				weight = in.Value
			}
			rec.Measurements = append(rec.Measurements, vitals.Measure(in))
		}
		if h, ok := heights[rid]; ok && weight != nil {
			if bmi, ok := vitals.ComputeBMI(*weight, h); ok {
				rec.Measurements = append(rec.Measurements, vitals.BMIMeasurement(bmi))
			}
		}
		for i := range rec.Measurements {
			m := &rec.Measurements[i]
			m.ID, m.Position = d.ID("vital", fmt.Sprintf("%s/%d", sd.Key, i)), i
		}
		queueRecord(b, fid, &rec, uuid.Nil)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("demo vitals: %w", err)
	}
	return nil
}

func (t vitalsTx) LockMeasurement(ctx context.Context, facility, id uuid.UUID) (vitals.Measurement, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+measurementColumns+measurementFrom+`
		WHERE m.facility_id = $1 AND m.id = $2 FOR UPDATE OF m`, facility, id)
	if err != nil {
		return vitals.Measurement{}, translate(err)
	}
	m, err := pgx.CollectExactlyOneRow(rows, scanMeasurement)
	if err == pgx.ErrNoRows {
		return m, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	return m, translate(err)
}

func (t vitalsTx) ReadRecord(ctx context.Context, facility, id uuid.UUID) (vitals.Record, error) {
	var r vitals.Record
	err := t.tx.QueryRow(ctx, `SELECT id, resident_id, measured_at, notes, recorded_by, recorded_at FROM vital_records
		WHERE facility_id = $1 AND id = $2`, facility, id).Scan(&r.ID, &r.ResidentID, &r.MeasuredAt, &r.Notes, &r.RecordedBy, &r.RecordedAt)
	if err == pgx.ErrNoRows {
		return r, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	if err != nil {
		return r, translate(err)
	}
	r.MeasuredAt, r.RecordedAt = r.MeasuredAt.UTC(), r.RecordedAt.UTC()
	rows, err := t.tx.Query(ctx, `SELECT `+measurementColumns+measurementFrom+`
		WHERE m.facility_id = $1 AND m.record_id = $2 ORDER BY m.position`, facility, id)
	if err != nil {
		return r, translate(err)
	}
	r.Measurements, err = pgx.CollectRows(rows, scanMeasurement)
	return r, translate(err)
}

func (t vitalsTx) InsertCorrection(ctx context.Context, facility, measurement uuid.UUID, c *vitals.Correction) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO vital_corrections (facility_id, id, measurement_id, reason, recorded_by, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, facility, c.ID, measurement, c.Reason, c.RecordedBy, c.RecordedAt)
	return translate(err)
}
