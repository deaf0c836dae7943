package postgres

import (
	"context"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/round"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// RoundStore implements round.Store.
type RoundStore struct{ *DB }

var _ round.Store = RoundStore{}

// WardExists reports whether ward is a ward of facility.
func (s RoundStore) WardExists(ctx context.Context, facility, ward uuid.UUID) (bool, error) {
	return TherapyStore(s).WardExists(ctx, facility, ward)
}

// Tx runs fn in one transaction.
func (s RoundStore) Tx(ctx context.Context, actor *backend.Actor, fn func(round.Tx) error) error {
	return s.inTx(ctx, actor, func(tx pgx.Tx) error { return fn(roundTx{tx}) })
}

type roundTx struct{ tx pgx.Tx }

var _ round.Tx = roundTx{}

const roundColumns = `r.facility_id, r.id, r.ward_id, r.slot, r.state, r.owner_id, o.given_name || ' ' || o.family_name,
	r.started_by, r.started_at, r.finished_at, r.version`

const roundFrom = ` FROM rounds r JOIN staff o ON o.facility_id = r.facility_id AND o.id = r.owner_id`

func scanRound(row pgx.CollectableRow) (round.Round, error) {
	var r round.Round
	var finished *time.Time
	err := row.Scan(&r.FacilityID, &r.ID, &r.WardID, &r.Slot, &r.State, &r.OwnerID, &r.OwnerName, &r.StartedBy,
		&r.StartedAt, &finished, &r.Version)
	if finished != nil {
		r.FinishedAt = *finished
	}
	return r, err
}

func (t roundTx) one(ctx context.Context, sql string, args ...any) (round.Round, error) {
	rows, err := t.tx.Query(ctx, sql, args...)
	if err != nil {
		return round.Round{}, translate(err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, scanRound)
	if backend.IsKind(translate(err), backend.KindNotFound) {
		return r, backend.E(backend.KindNotFound, "round.not_found")
	}
	return r, translate(err)
}

func (t roundTx) Current(ctx context.Context, facility, ward uuid.UUID) (round.Round, bool, error) {
	r, err := t.one(ctx, `SELECT `+roundColumns+roundFrom+`
		WHERE r.facility_id = $1 AND r.ward_id = $2 AND r.state IN ('active', 'paused')`, facility, ward)
	if backend.IsKind(err, backend.KindNotFound) {
		return r, false, nil
	}
	return r, err == nil, err
}

func (t roundTx) Read(ctx context.Context, facility, id uuid.UUID) (round.Round, error) {
	return t.one(ctx, `SELECT `+roundColumns+roundFrom+` WHERE r.facility_id = $1 AND r.id = $2`, facility, id)
}

func (t roundTx) Lock(ctx context.Context, facility, id uuid.UUID) (round.Round, error) {
	return t.one(ctx, `SELECT `+roundColumns+roundFrom+` WHERE r.facility_id = $1 AND r.id = $2 FOR UPDATE OF r`, facility, id)
}

// Insert relies on the partial unique index rounds_one_open: a concurrent
// start on the same ward waits for the first to commit, then inserts
// nothing, and the open round is read back (a new statement, so it sees
// the committed row).
func (t roundTx) Insert(ctx context.Context, r *round.Round) (round.Round, bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO rounds (facility_id, id, ward_id, slot, state, owner_id, started_by, started_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (facility_id, ward_id) WHERE state IN ('active', 'paused') DO NOTHING`,
		r.FacilityID, r.ID, r.WardID, r.Slot, string(r.State), r.OwnerID, r.StartedBy, r.StartedAt)
	if err != nil {
		return round.Round{}, false, translate(err)
	}
	if tag.RowsAffected() == 1 {
		return *r, true, nil
	}
	open, ok, err := t.Current(ctx, r.FacilityID, r.WardID)
	if err == nil && !ok {
		// The open round closed between the two statements: rare, and a
		// retry of the start succeeds.
		return open, false, backend.E(backend.KindConflict, "round.already_open", "the ward's round changed meanwhile: retry")
	}
	return open, false, err
}

// Snapshot takes the doses of the ward's admitted residents that are
// scheduled, carry no effective act, and fall within their own on-time
// window of the slot. Windows are at most 8 hours (therapy settings), which
// bounds the range scanned on doses_open_by_time.
func (t roundTx) Snapshot(ctx context.Context, r round.Round) (int, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO round_doses (facility_id, round_id, dose_id, resident_id)
		SELECT d.facility_id, $2, d.id, d.resident_id FROM doses d
		JOIN residents x ON x.facility_id = d.facility_id AND x.id = d.resident_id
		WHERE d.facility_id = $1 AND x.ward_id = $3 AND x.status = 'admitted' AND d.status = 'scheduled'
		  AND d.due_at >= $4::timestamptz - interval '8 hours' AND d.due_at <= $4::timestamptz + interval '8 hours'
		  AND d.due_at >= $4::timestamptz - make_interval(mins => d.window_min)
		  AND d.due_at <= $4::timestamptz + make_interval(mins => d.window_min)
		  AND NOT EXISTS (SELECT 1 FROM administrations a WHERE a.facility_id = d.facility_id AND a.dose_id = d.id
		      AND NOT EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id))`,
		r.FacilityID, r.ID, r.WardID, r.Slot)
	return int(tag.RowsAffected()), translate(err)
}

// drugName names a prescription's drug: the product, or the prescribed
// ingredient with its strength.
const drugName = `coalesce(pr.name, nullif(btrim(p.ingredient_name || ' ' || coalesce(p.strength::text, '') || ' ' || p.strength_unit), ''), '')`

// effectiveAct is the last act on dose d not entered in error, with who
// recorded it.
const effectiveAct = `LEFT JOIN LATERAL (
		SELECT a.id, a.outcome, a.reason, a.administered_at, a.recorded_by, s.given_name || ' ' || s.family_name AS name
		FROM administrations a JOIN staff s ON s.facility_id = a.facility_id AND s.id = a.recorded_by
		WHERE a.facility_id = d.facility_id AND a.dose_id = d.id
		  AND NOT EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id)
		ORDER BY a.attempt DESC LIMIT 1) act ON true`

func (t roundTx) Items(ctx context.Context, r round.Round) ([]round.Item, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+doseColumns+`, x.given_name, x.family_name, coalesce(b.code, ''),
			x.ward_id IS NOT DISTINCT FROM $3 AND x.status = 'admitted', `+drugName+`,
			act.id, act.outcome, act.reason, act.administered_at, act.recorded_by, act.name
		FROM round_doses rd
		JOIN doses d ON d.facility_id = rd.facility_id AND d.id = rd.dose_id
		JOIN residents x ON x.facility_id = d.facility_id AND x.id = d.resident_id
		LEFT JOIN beds b ON b.facility_id = x.facility_id AND b.id = x.bed_id
		JOIN prescriptions p ON p.facility_id = d.facility_id AND p.id = d.prescription_id
		LEFT JOIN products pr ON pr.id = p.product_id
		`+effectiveAct+`
		WHERE rd.facility_id = $1 AND rd.round_id = $2
		ORDER BY d.due_at, d.id`, r.FacilityID, r.ID, r.WardID)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (round.Item, error) {
		var it round.Item
		var actID, actBy *uuid.UUID
		var outcome, reason, byName *string
		var at *time.Time
		d := &it.Dose
		err := row.Scan(&d.ID, &d.PrescriptionID, &d.ResidentID, &d.DueAt, &d.WindowMin, &d.MissedAt, &d.Cancelled,
			&d.CancelReason, &it.GivenName, &it.FamilyName, &it.Bed, &it.OnWard, &it.Drug,
			&actID, &outcome, &reason, &at, &actBy, &byName)
		if err == nil && actID != nil {
			it.Act = &round.Act{ID: *actID, Outcome: therapy.Outcome(*outcome), Reason: *reason, AdministeredAt: *at,
				RecordedBy: *actBy, RecordedByName: *byName}
		}
		return it, err
	})
	return out, translate(err)
}

func (t roundTx) Events(ctx context.Context, facility, id uuid.UUID) ([]round.Event, error) {
	rows, err := t.tx.Query(ctx, `SELECT e.id, e.kind, e.at, e.by_id, b.given_name || ' ' || b.family_name,
			e.from_id, coalesce(f.given_name || ' ' || f.family_name, ''), e.to_id, coalesce(o.given_name || ' ' || o.family_name, ''),
			e.administration_ids
		FROM round_events e
		JOIN staff b ON b.facility_id = e.facility_id AND b.id = e.by_id
		LEFT JOIN staff f ON f.facility_id = e.facility_id AND f.id = e.from_id
		LEFT JOIN staff o ON o.facility_id = e.facility_id AND o.id = e.to_id
		WHERE e.facility_id = $1 AND e.round_id = $2 ORDER BY e.seq`, facility, id)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (round.Event, error) {
		var e round.Event
		var from, to *uuid.UUID
		err := row.Scan(&e.ID, &e.Kind, &e.At, &e.ByID, &e.ByName, &from, &e.FromName, &to, &e.ToName, &e.Administrations)
		e.FromID, e.ToID = deref(from), deref(to)
		return e, err
	})
	return out, translate(err)
}

func (t roundTx) Update(ctx context.Context, r *round.Round) error {
	err := t.tx.QueryRow(ctx, `UPDATE rounds SET state = $4, owner_id = $5, finished_at = $6
		WHERE facility_id = $1 AND id = $2 AND version = $3 RETURNING version`,
		r.FacilityID, r.ID, r.Version, string(r.State), r.OwnerID, nullTime(r.FinishedAt)).Scan(&r.Version)
	if err == pgx.ErrNoRows {
		return backend.E(backend.KindConflict, backend.CodeVersionConflict, "the round changed since you read it")
	}
	return translate(err)
}

func (t roundTx) AppendEvent(ctx context.Context, facility, id uuid.UUID, e round.Event) error {
	acts := e.Administrations
	if acts == nil {
		acts = []uuid.UUID{}
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO round_events (facility_id, id, round_id, kind, by_id, from_id, to_id, at, administration_ids)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		facility, e.ID, id, e.Kind, e.ByID, nullUUID(e.FromID), nullUUID(e.ToID), e.At, acts)
	return translate(err)
}

func (t roundTx) Qualified(ctx context.Context, facility, ward, staff uuid.UUID) (bool, error) {
	var ok bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM staff s
		JOIN ward_assignments w ON w.facility_id = s.facility_id AND w.staff_id = s.id AND w.ward_id = $2
		JOIN staff_roles r ON r.facility_id = s.facility_id AND r.staff_id = s.id AND r.role IN ('nurse', 'physician')
		WHERE s.facility_id = $1 AND s.id = $3 AND s.active)`, facility, ward, staff).Scan(&ok)
	return ok, translate(err)
}

// LockKey shares the idempotency table (and its advisory lock) with the
// bedside acts: one key of a staff member answers one request, whatever it
// was.
func (t roundTx) LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*therapy.StoredResponse, error) {
	return therapyTx(t).LockKey(ctx, facility, staff, key)
}

func (t roundTx) SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r therapy.StoredResponse) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO idempotency_keys (facility_id, staff_id, key, operation, request_hash, status, response)
		VALUES ($1, $2, $3, $4, $5, 200, $6)`, facility, staff, key, r.Operation, r.Hash, r.Body)
	return translate(err)
}

func (t roundTx) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return appendAudit(ctx, t.tx, events...)
}

// DigestFacts reads a ward's exceptions material for [from, to): its
// current residents (admitted or in hospital), their scheduled doses due in
// the period without an effective act (admitted residents only: a resident
// in hospital is not given her doses), the effective acts on doses due in
// the period, and the as-needed doses given in it.
func (s RoundStore) DigestFacts(ctx context.Context, facility, ward uuid.UUID, from, to time.Time) (round.DigestFacts, error) {
	var f round.DigestFacts
	rows, err := s.Pool.Query(ctx, `SELECT `+doseColumns+`, x.given_name, x.family_name, coalesce(b.code, ''), `+drugName+`
		FROM residents x
		JOIN doses d ON d.facility_id = x.facility_id AND d.resident_id = x.id
		LEFT JOIN beds b ON b.facility_id = x.facility_id AND b.id = x.bed_id
		JOIN prescriptions p ON p.facility_id = d.facility_id AND p.id = d.prescription_id
		LEFT JOIN products pr ON pr.id = p.product_id
		WHERE x.facility_id = $1 AND x.ward_id = $2 AND x.status = 'admitted'
		  AND d.status = 'scheduled' AND d.due_at >= $3 AND d.due_at < $4
		  AND NOT EXISTS (SELECT 1 FROM administrations a WHERE a.facility_id = d.facility_id AND a.dose_id = d.id
		      AND NOT EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id))
		ORDER BY d.due_at, d.id`, facility, ward, from, to)
	if err != nil {
		return f, translate(err)
	}
	f.Open, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (round.OpenDose, error) {
		var o round.OpenDose
		d := &o.Dose
		err := row.Scan(&d.ID, &d.PrescriptionID, &d.ResidentID, &d.DueAt, &d.WindowMin, &d.MissedAt, &d.Cancelled,
			&d.CancelReason, &o.GivenName, &o.FamilyName, &o.Bed, &o.Drug)
		o.ResidentID = d.ResidentID
		return o, err
	})
	if err != nil {
		return f, translate(err)
	}
	// Acts on doses due in the period reach administrations through the
	// doses (doses_by_resident, administrations_once); as-needed doses by
	// when they were given (administrations_by_resident).
	rows, err = s.Pool.Query(ctx, `WITH ward AS (
			SELECT x.id, x.given_name, x.family_name, coalesce(b.code, '') AS bed FROM residents x
			LEFT JOIN beds b ON b.facility_id = x.facility_id AND b.id = x.bed_id
			WHERE x.facility_id = $1 AND x.ward_id = $2 AND x.status IN ('admitted', 'hospitalised')),
		acts AS (
			SELECT a.id FROM ward JOIN doses d ON d.facility_id = $1 AND d.resident_id = ward.id
			JOIN administrations a ON a.facility_id = d.facility_id AND a.dose_id = d.id
			WHERE d.due_at >= $3 AND d.due_at < $4
			UNION ALL
			SELECT a.id FROM ward JOIN administrations a ON a.facility_id = $1 AND a.resident_id = ward.id
			WHERE a.dose_id IS NULL AND a.administered_at >= $3 AND a.administered_at < $4)
		SELECT a.id, a.dose_id, a.outcome, a.reason, a.administered_at, s.given_name || ' ' || s.family_name, a.scan,
			a.unable_to_scan, a.overridden, a.override_reason, a.resident_id, ward.given_name, ward.family_name, ward.bed,
			`+drugName+`, coalesce(p.prn_check_after_min, 0),
			EXISTS (SELECT 1 FROM prn_checks k WHERE k.facility_id = a.facility_id AND k.administration_id = a.id),
			d.id, d.prescription_id, d.resident_id, d.due_at, d.window_min, d.missed_at
		FROM acts JOIN administrations a ON a.facility_id = $1 AND a.id = acts.id
		JOIN ward ON ward.id = a.resident_id
		JOIN staff s ON s.facility_id = a.facility_id AND s.id = a.recorded_by
		JOIN prescriptions p ON p.facility_id = a.facility_id AND p.id = a.prescription_id
		LEFT JOIN products pr ON pr.id = p.product_id
		LEFT JOIN doses d ON d.facility_id = a.facility_id AND d.id = a.dose_id
		WHERE NOT EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id)
		ORDER BY coalesce(d.due_at, a.administered_at), a.id`, facility, ward, from, to)
	if err != nil {
		return f, translate(err)
	}
	f.Acts, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (round.ActFact, error) {
		var x round.ActFact
		var dose, doseID, doseP, doseR *uuid.UUID
		var due, missed *time.Time
		var win *int
		err := row.Scan(&x.AdministrationID, &dose, &x.Outcome, &x.Reason, &x.AdministeredAt, &x.RecordedByName, &x.Scan,
			&x.UnableToScan, &x.Overridden, &x.OverrideReason, &x.ResidentID, &x.GivenName, &x.FamilyName, &x.Bed,
			&x.Drug, &x.CheckAfterMin, &x.Checked, &doseID, &doseP, &doseR, &due, &win, &missed)
		if err == nil && doseID != nil {
			x.Dose = &therapy.Dose{ID: *doseID, PrescriptionID: *doseP, ResidentID: *doseR, DueAt: *due, WindowMin: *win, MissedAt: *missed}
		}
		return x, err
	})
	return f, translate(err)
}
