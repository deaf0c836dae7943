package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/rehab"
	"github.com/corsia-cce/corsia/backend/vitals"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// RehabStore implements rehab.Store.
type RehabStore struct{ *DB }

var _ rehab.Store = RehabStore{}

// Resident reads what rehab needs to decide access on a resident.
func (s RehabStore) Resident(ctx context.Context, facility, id, staff uuid.UUID) (rehab.ResidentFacts, error) {
	return VitalsStore(s).Resident(ctx, facility, id, staff)
}

// TimeZone reads the facility's time zone.
func (s RehabStore) TimeZone(ctx context.Context, facility uuid.UUID) (string, error) {
	var tz string
	err := s.Pool.QueryRow(ctx, "SELECT time_zone FROM facilities WHERE id = $1", facility).Scan(&tz)
	return tz, translate(err)
}

const rehabPlanColumns = `p.id, p.resident_id, p.type, p.weekdays::int[], to_char(p.time_of_day, 'HH24:MI'),
	to_char(p.start_date, 'YYYY-MM-DD'), to_char(p.end_date, 'YYYY-MM-DD'), p.therapist_id, p.goal,
	p.care_plan_intervention_id, p.recorded_by, p.recorded_at`

func scanRehabPlan(row pgx.Row, extra ...any) (rehab.Plan, error) {
	var p rehab.Plan
	var wd []int32
	dest := append([]any{&p.ID, &p.ResidentID, &p.Type, &wd, &p.Time, &p.StartDate, &p.EndDate, &p.Therapist, &p.Goal,
		&p.CarePlanID, &p.RecordedBy, &p.RecordedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return p, err
	}
	for _, d := range wd {
		p.Weekdays = append(p.Weekdays, int(d))
	}
	p.RecordedAt = p.RecordedAt.UTC()
	return p, nil
}

// Plans lists a resident's plans, newest first.
func (s RehabStore) Plans(ctx context.Context, facility, resident uuid.UUID) ([]rehab.Plan, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+rehabPlanColumns+` FROM rehab_plans p
		WHERE p.facility_id = $1 AND p.resident_id = $2 ORDER BY p.recorded_at DESC, p.id LIMIT 500`, facility, resident)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rehab.Plan, error) { return scanRehabPlan(r) })
	return out, translate(err)
}

// DayPlans lists the plans of current residents on wards covering date.
func (s RehabStore) DayPlans(ctx context.Context, facility uuid.UUID, wards []uuid.UUID, all bool, date string) ([]rehab.DayPlan, error) {
	if wards == nil {
		wards = []uuid.UUID{}
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+rehabPlanColumns+`, r.ward_id, r.given_name || ' ' || r.family_name
		FROM rehab_plans p JOIN residents r ON r.facility_id = p.facility_id AND r.id = p.resident_id
		WHERE p.facility_id = $1 AND r.status = 'admitted' AND ($3 OR r.ward_id = ANY($2))
		  AND p.start_date <= $4::date AND (p.end_date IS NULL OR p.end_date >= $4::date)
		ORDER BY p.time_of_day, p.id LIMIT 2000`, facility, wards, all, date)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rehab.DayPlan, error) {
		var dp rehab.DayPlan
		var ward *uuid.UUID
		p, err := scanRehabPlan(r, &ward, &dp.ResidentName)
		dp.Plan, dp.WardID = p, deref(ward)
		return dp, err
	})
	return out, translate(err)
}

const rehabSessionColumns = `s.id, s.resident_id, s.plan_id, s.planned_for, s.attempt, s.type, s.outcome, s.reason, s.duration_min, s.notes,
	s.measure_name, s.measure_value::text, s.measure_unit, s.recorded_by, s.recorded_at, c.id, c.reason, c.recorded_by, c.recorded_at`

const rehabSessionFrom = ` FROM rehab_sessions s
	LEFT JOIN rehab_session_corrections c ON c.facility_id = s.facility_id AND c.session_id = s.id`

func scanRehabSession(row pgx.CollectableRow) (rehab.Session, error) {
	var ss rehab.Session
	var mname, mvalue, munit *string
	var cid, cby *uuid.UUID
	var creason *string
	var cat *time.Time
	if err := row.Scan(&ss.ID, &ss.ResidentID, &ss.PlanID, &ss.PlannedFor, &ss.Attempt, &ss.Type, &ss.Outcome, &ss.Reason, &ss.DurationMin,
		&ss.Notes, &mname, &mvalue, &munit, &ss.RecordedBy, &ss.RecordedAt, &cid, &creason, &cby, &cat); err != nil {
		return ss, err
	}
	ss.RecordedAt = ss.RecordedAt.UTC()
	if ss.PlannedFor != nil {
		t := ss.PlannedFor.UTC()
		ss.PlannedFor = &t
	}
	if mname != nil && mvalue != nil {
		v, err := decimal.NewFromString(*mvalue)
		if err != nil {
			return ss, fmt.Errorf("rehab measure: %w", err)
		}
		m := &rehab.Measure{Name: *mname, Value: v}
		if munit != nil {
			m.Unit = *munit
		}
		ss.OutcomeMeasure = m
	}
	if cid != nil {
		ss.EnteredInError = &rehab.Correction{ID: *cid, Reason: *creason, RecordedBy: deref(cby), RecordedAt: cat.UTC()}
	}
	return ss, nil
}

// Sessions lists a resident's sessions, newest first.
func (s RehabStore) Sessions(ctx context.Context, facility, resident uuid.UUID) ([]rehab.Session, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+rehabSessionColumns+rehabSessionFrom+`
		WHERE s.facility_id = $1 AND s.resident_id = $2
		ORDER BY coalesce(s.planned_for, s.recorded_at) DESC, s.attempt DESC, s.id LIMIT 1000`, facility, resident)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, scanRehabSession)
	return out, translate(err)
}

// PlannedSessions lists the sessions of plans planned for [from, to).
func (s RehabStore) PlannedSessions(ctx context.Context, facility uuid.UUID, plans []uuid.UUID, from, to time.Time) ([]rehab.Session, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+rehabSessionColumns+rehabSessionFrom+`
		WHERE s.facility_id = $1 AND s.plan_id = ANY($2) AND s.planned_for >= $3 AND s.planned_for < $4`,
		facility, plans, from, to)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, scanRehabSession)
	return out, translate(err)
}

// Tx runs fn in one transaction.
func (s RehabStore) Tx(ctx context.Context, actor *backend.Actor, fn func(rehab.Tx) error) error {
	return s.inTx(ctx, actor, func(tx pgx.Tx) error { return fn(rehabTx{tx}) })
}

type rehabTx struct{ tx pgx.Tx }

func (t rehabTx) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return appendAudit(ctx, t.tx, events...)
}

// LockKey shares the therapy record's idempotency keys.
func (t rehabTx) LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*rehab.StoredResponse, error) {
	r, err := therapyTx(t).LockKey(ctx, facility, staff, key)
	if r == nil || err != nil {
		return nil, err
	}
	return &rehab.StoredResponse{Operation: r.Operation, Hash: r.Hash, Body: r.Body}, nil
}

func (t rehabTx) SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r rehab.StoredResponse) error {
	return vitalsTx(t).SaveResponse(ctx, facility, staff, key, vitals.StoredResponse(r))
}

func (t rehabTx) Plan(ctx context.Context, facility, id uuid.UUID) (rehab.Plan, error) {
	p, err := scanRehabPlan(t.tx.QueryRow(ctx, `SELECT `+rehabPlanColumns+` FROM rehab_plans p
		WHERE p.facility_id = $1 AND p.id = $2`, facility, id))
	if err == pgx.ErrNoRows {
		return p, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	return p, translate(err)
}

// LockOccurrence takes the plan's row lock (NO KEY UPDATE: it does not
// hold back the key-share locks of foreign keys, only other recorders)
// before reading the occurrence's sessions, so the attempt a recorder
// computes cannot be taken meanwhile.
func (t rehabTx) LockOccurrence(ctx context.Context, facility, plan uuid.UUID, planned time.Time) ([]rehab.Session, error) {
	var one int
	err := t.tx.QueryRow(ctx, `SELECT 1 FROM rehab_plans WHERE facility_id = $1 AND id = $2 FOR NO KEY UPDATE`,
		facility, plan).Scan(&one)
	if err != nil {
		return nil, translate(err)
	}
	rows, err := t.tx.Query(ctx, `SELECT `+rehabSessionColumns+rehabSessionFrom+`
		WHERE s.facility_id = $1 AND s.plan_id = $2 AND s.planned_for = $3 ORDER BY s.attempt`, facility, plan, planned)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, scanRehabSession)
	return out, translate(err)
}

func (t rehabTx) InsertPlan(ctx context.Context, facility uuid.UUID, p *rehab.Plan) error {
	b := &pgx.Batch{}
	queueRehabPlan(b, facility, p)
	return translate(t.tx.SendBatch(ctx, b).Close())
}

// CarePlanIntervention reads a care-plan intervention under the plan's
// shared lock, so that no version comes into force between the check and
// the rehab plan's insert.
func (t rehabTx) CarePlanIntervention(ctx context.Context, facility, id uuid.UUID) (uuid.UUID, string, bool, error) {
	var resident uuid.UUID
	var kind string
	var inForce bool
	err := t.tx.QueryRow(ctx, `SELECT resident_id FROM care_plan_interventions WHERE facility_id = $1 AND id = $2`, facility, id).
		Scan(&resident)
	if err == pgx.ErrNoRows {
		return resident, kind, false, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	if err != nil {
		return resident, kind, false, translate(err)
	}
	if err := (carePlanTx{t.tx}).LockPlanShared(ctx, facility, resident); err != nil {
		return resident, kind, false, err
	}
	err = t.tx.QueryRow(ctx, `SELECT v.resident_id, i.kind,
			EXISTS (SELECT 1 FROM care_plan_activations a WHERE a.facility_id = i.facility_id AND a.version_id = i.version_id)
			AND NOT EXISTS (SELECT 1 FROM care_plan_activations n WHERE n.facility_id = i.facility_id
			                 AND n.resident_id = v.resident_id AND n.previous_version_id = i.version_id)
		FROM care_plan_interventions i JOIN care_plan_versions v ON v.facility_id = i.facility_id AND v.id = i.version_id
		WHERE i.facility_id = $1 AND i.id = $2`, facility, id).Scan(&resident, &kind, &inForce)
	if err == pgx.ErrNoRows {
		return resident, kind, false, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	return resident, kind, inForce, translate(err)
}

func queueRehabPlan(b *pgx.Batch, facility uuid.UUID, p *rehab.Plan) {
	b.Queue(`INSERT INTO rehab_plans (facility_id, id, resident_id, type, weekdays, time_of_day, start_date, end_date,
			therapist_id, goal, care_plan_intervention_id, recorded_by, recorded_at)
		VALUES ($1, $2, $3, $4, $5::smallint[], $6::time, $7::date, $8::date, $9, $10, $11, $12, $13)`, facility, p.ID, p.ResidentID,
		string(p.Type), p.Weekdays, p.Time, p.StartDate, p.EndDate, p.Therapist, p.Goal, p.CarePlanID, p.RecordedBy, p.RecordedAt)
}

func (t rehabTx) Session(ctx context.Context, facility, id uuid.UUID) (rehab.Session, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+rehabSessionColumns+rehabSessionFrom+`
		WHERE s.facility_id = $1 AND s.id = $2 FOR UPDATE OF s`, facility, id)
	if err != nil {
		return rehab.Session{}, translate(err)
	}
	ss, err := pgx.CollectExactlyOneRow(rows, scanRehabSession)
	if err == pgx.ErrNoRows {
		return ss, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	return ss, translate(err)
}

func (t rehabTx) InsertSession(ctx context.Context, facility uuid.UUID, ss *rehab.Session, device uuid.UUID) error {
	b := &pgx.Batch{}
	queueRehabSession(b, facility, ss, device)
	return translate(t.tx.SendBatch(ctx, b).Close())
}

func queueRehabSession(b *pgx.Batch, facility uuid.UUID, ss *rehab.Session, device uuid.UUID) {
	var mname, mvalue, munit any
	if m := ss.OutcomeMeasure; m != nil {
		mname, mvalue, munit = m.Name, m.Value.String(), m.Unit
	}
	if ss.Attempt == 0 {
		ss.Attempt = 1
	}
	b.Queue(`INSERT INTO rehab_sessions (facility_id, id, resident_id, plan_id, planned_for, attempt, type, outcome, reason,
			duration_min, notes, measure_name, measure_value, measure_unit, recorded_by, recorded_at, device_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::numeric, $14, $15, $16, $17)`, facility, ss.ID, ss.ResidentID,
		ss.PlanID, ss.PlannedFor, ss.Attempt, string(ss.Type), ss.Outcome, ss.Reason, ss.DurationMin, ss.Notes, mname, mvalue, munit,
		ss.RecordedBy, ss.RecordedAt, nullUUID(device))
}

func (t rehabTx) InsertCorrection(ctx context.Context, facility, id uuid.UUID, c *rehab.Correction) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO rehab_session_corrections (facility_id, id, session_id, reason, recorded_by, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, facility, c.ID, id, c.Reason, c.RecordedBy, c.RecordedAt)
	return translate(err)
}

// loadRehab writes the demo's rehabilitation plans and sessions
// (fixtures.DemoRehab), each validated as the service would, linked to
// the rehab interventions of the residents' care plans (carePlanLinks,
// by plan key). Fixture
// data, loaded without audit events of its own.
func loadRehab(ctx context.Context, tx pgx.Tx, d *fixtures.Data, fid uuid.UUID, carePlanLinks map[string]uuid.UUID) error {
	loc, err := time.LoadLocation(d.Facility.TimeZone)
	if err != nil {
		return fmt.Errorf("demo rehab: %w", err)
	}
	plans, sessions := d.DemoRehab(time.Now(), loc)
	if len(plans) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	ids := map[string]rehab.Plan{}
	for _, sd := range plans {
		req := sd.Request
		if err := req.Validate(); err != nil {
			return fmt.Errorf("demo rehab plan %s: %w", sd.Key, err)
		}
		p := rehab.Plan{ID: d.ID("rehab_plan", sd.Key), ResidentID: d.ID("resident", sd.Resident.Ward+"/"+sd.Resident.Bed+"/"+sd.Resident.FiscalCode),
			Type: req.Type, Weekdays: req.Weekdays, Time: req.Time, StartDate: req.StartDate, EndDate: req.EndDate,
			Goal: req.Goal, RecordedBy: d.ID("staff", sd.RecordedBy), RecordedAt: sd.RecordedAt.UTC().Truncate(time.Microsecond)}
		if iv, ok := carePlanLinks[sd.Key]; ok {
			p.CarePlanID = &iv
		}
		if sd.Therapist != "" {
			t := d.ID("staff", sd.Therapist)
			p.Therapist = &t
		}
		ids[sd.Key] = p
		queueRehabPlan(b, fid, &p)
	}
	for _, sd := range sessions {
		p := ids[sd.Plan]
		req := sd.Request
		req.PlanID = &p.ID
		at := req.PlannedFor.UTC().Add(time.Duration(60) * time.Minute).Truncate(time.Microsecond)
		if err := req.Validate(at); err != nil {
			return fmt.Errorf("demo rehab session %s: %w", sd.Key, err)
		}
		ss := rehab.Session{ID: d.ID("rehab_session", sd.Key), ResidentID: p.ResidentID, PlanID: req.PlanID, PlannedFor: req.PlannedFor,
			Type: req.Type, Outcome: req.Outcome, Reason: req.Reason, DurationMin: req.DurationMin, Notes: req.Notes,
			OutcomeMeasure: req.OutcomeMeasure, RecordedBy: d.ID("staff", sd.RecordedBy), RecordedAt: at}
		queueRehabSession(b, fid, &ss, uuid.Nil)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("demo rehab: %w", err)
	}
	return nil
}
