package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/careplan"
	"github.com/corsia-cce/corsia/backend/vitals"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// CarePlanStore implements careplan.Store.
type CarePlanStore struct{ *DB }

var _ careplan.Store = CarePlanStore{}

// Resident reads what the care plan needs to decide access on a resident.
func (s CarePlanStore) Resident(ctx context.Context, facility, id, staff uuid.UUID) (careplan.ResidentFacts, error) {
	return VitalsStore(s).Resident(ctx, facility, id, staff)
}

// TimeZone reads the facility's time zone.
func (s CarePlanStore) TimeZone(ctx context.Context, facility uuid.UUID) (string, error) {
	return RehabStore(s).TimeZone(ctx, facility)
}

// versionColumns read a version's head and derive its status: in force
// when activated and not followed by another activation; superseded when
// followed; a draft when based on the version in force (or on none when
// none is); stale otherwise.
const versionColumns = `v.id, v.resident_id, v.version_no, v.based_on, to_char(v.review_date, 'YYYY-MM-DD'), v.summary,
	v.recorded_by, v.recorded_at, a.activated_at, nxt.activated_at,
	CASE WHEN a.version_id IS NOT NULL AND nxt.version_id IS NULL THEN 'in_force'
	     WHEN a.version_id IS NOT NULL THEN 'superseded'
	     WHEN v.based_on IS NOT DISTINCT FROM (SELECT f.version_id FROM care_plan_activations f
	          WHERE f.facility_id = v.facility_id AND f.resident_id = v.resident_id
	            AND NOT EXISTS (SELECT 1 FROM care_plan_activations g WHERE g.facility_id = f.facility_id
	                              AND g.resident_id = f.resident_id AND g.previous_version_id = f.version_id))
	     THEN 'draft' ELSE 'stale' END`

const versionFrom = ` FROM care_plan_versions v
	LEFT JOIN care_plan_activations a ON a.facility_id = v.facility_id AND a.version_id = v.id
	LEFT JOIN care_plan_activations nxt ON nxt.facility_id = v.facility_id AND nxt.resident_id = v.resident_id
	     AND nxt.previous_version_id = v.id`

func scanVersion(row pgx.Row) (careplan.Version, error) {
	var v careplan.Version
	err := row.Scan(&v.ID, &v.ResidentID, &v.VersionNo, &v.BasedOn, &v.ReviewDate, &v.Summary, &v.RecordedBy, &v.RecordedAt,
		&v.ActivatedAt, &v.SupersededAt, &v.Status)
	v.RecordedAt = v.RecordedAt.UTC()
	for _, t := range []*time.Time{v.ActivatedAt, v.SupersededAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return v, err
}

// signatures fills the signatures of versions.
func signatures(ctx context.Context, q querier, facility uuid.UUID, vs []careplan.Version) error {
	if len(vs) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(vs))
	at := map[uuid.UUID]int{}
	for i, v := range vs {
		ids[i], at[v.ID] = v.ID, i
		vs[i].Signatures = []careplan.Signature{}
	}
	rows, err := q.Query(ctx, `SELECT s.version_id, s.staff_id, st.given_name || ' ' || st.family_name, s.profession, s.signed_at
		FROM care_plan_signatures s JOIN staff st ON st.facility_id = s.facility_id AND st.id = s.staff_id
		WHERE s.facility_id = $1 AND s.version_id = ANY($2) ORDER BY s.signed_at, s.staff_id`, facility, ids)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var vid uuid.UUID
		var sg careplan.Signature
		if err := rows.Scan(&vid, &sg.StaffID, &sg.Name, &sg.Profession, &sg.SignedAt); err != nil {
			return translate(err)
		}
		sg.SignedAt = sg.SignedAt.UTC()
		vs[at[vid]].Signatures = append(vs[at[vid]].Signatures, sg)
	}
	return translate(rows.Err())
}

// Versions lists a resident's versions, newest first, without content.
func (s CarePlanStore) Versions(ctx context.Context, facility, resident uuid.UUID) ([]careplan.Version, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+versionColumns+versionFrom+`
		WHERE v.facility_id = $1 AND v.resident_id = $2 ORDER BY v.version_no DESC LIMIT 200`, facility, resident)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (careplan.Version, error) { return scanVersion(r) })
	if err != nil {
		return nil, translate(err)
	}
	return out, signatures(ctx, s.Pool, facility, out)
}

// Version reads one version whole.
func (s CarePlanStore) Version(ctx context.Context, facility, id uuid.UUID) (careplan.Version, error) {
	return readVersion(ctx, s.Pool, facility, id)
}

func readVersion(ctx context.Context, q querier, facility, id uuid.UUID) (careplan.Version, error) {
	v, err := scanVersion(q.QueryRow(ctx, `SELECT `+versionColumns+versionFrom+` WHERE v.facility_id = $1 AND v.id = $2`, facility, id))
	if err == pgx.ErrNoRows {
		return v, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	if err != nil {
		return v, translate(err)
	}
	vs := []careplan.Version{v}
	if err := signatures(ctx, q, facility, vs); err != nil {
		return v, err
	}
	v = vs[0]
	rows, err := q.Query(ctx, `SELECT p.id, p.ordinal, p.title, p.problem_id FROM care_plan_problems p
		WHERE p.facility_id = $1 AND p.version_id = $2 ORDER BY p.ordinal`, facility, id)
	if err != nil {
		return v, translate(err)
	}
	v.Problems, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (careplan.Problem, error) {
		var p careplan.Problem
		err := r.Scan(&p.ID, &p.Ordinal, &p.Title, &p.ProblemID)
		p.Goals = []careplan.Goal{}
		return p, err
	})
	if err != nil {
		return v, translate(err)
	}
	pi := map[uuid.UUID]int{}
	for i, p := range v.Problems {
		pi[p.ID] = i
	}
	rows, err = q.Query(ctx, `SELECT g.id, g.problem_ref, g.ordinal, g.description, g.measure, to_char(g.target_date, 'YYYY-MM-DD')
		FROM care_plan_goals g WHERE g.facility_id = $1 AND g.version_id = $2 ORDER BY g.ordinal`, facility, id)
	if err != nil {
		return v, translate(err)
	}
	type goalAt struct{ p, g int }
	gi := map[uuid.UUID]goalAt{}
	for rows.Next() {
		var g careplan.Goal
		var pref uuid.UUID
		if err := rows.Scan(&g.ID, &pref, &g.Ordinal, &g.Description, &g.Measure, &g.TargetDate); err != nil {
			rows.Close()
			return v, translate(err)
		}
		g.Interventions = []careplan.Intervention{}
		p := pi[pref]
		v.Problems[p].Goals = append(v.Problems[p].Goals, g)
		gi[g.ID] = goalAt{p, len(v.Problems[p].Goals) - 1}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return v, translate(err)
	}
	ivs, owners, err := interventions(ctx, q, facility, []uuid.UUID{id}, false)
	if err != nil {
		return v, err
	}
	for i, iv := range ivs {
		at := gi[owners[i].goal]
		g := &v.Problems[at.p].Goals[at.g]
		g.Interventions = append(g.Interventions, iv)
	}
	return v, nil
}

// ivOwner is where an intervention sits: its version and goal.
type ivOwner struct{ version, goal uuid.UUID }

// interventions reads the interventions of versions (only those with
// times when generating), in order, with their goal ids.
func interventions(ctx context.Context, q querier, facility uuid.UUID, versions []uuid.UUID, generating bool) ([]careplan.Intervention, []ivOwner, error) {
	rows, err := q.Query(ctx, `SELECT i.id, i.line_id, i.version_id, i.goal_id, i.ordinal, i.kind, i.description, i.role,
			coalesce((SELECT array_agg(to_char(t, 'HH24:MI') ORDER BY t) FROM unnest(i.times) t), '{}'),
			i.weekdays::int[], i.continues,
			coalesce((SELECT array_agg(rp.id ORDER BY rp.recorded_at) FROM rehab_plans rp
			          WHERE rp.facility_id = i.facility_id AND rp.care_plan_intervention_id = i.id), '{}')
		FROM care_plan_interventions i
		WHERE i.facility_id = $1 AND i.version_id = ANY($2) AND (NOT $3 OR cardinality(i.times) > 0)
		ORDER BY i.version_id, i.goal_id, i.ordinal`, facility, versions, generating)
	if err != nil {
		return nil, nil, translate(err)
	}
	defer rows.Close()
	var out []careplan.Intervention
	var owners []ivOwner
	for rows.Next() {
		var iv careplan.Intervention
		var version, goal uuid.UUID
		var wd []int32
		if err := rows.Scan(&iv.ID, &iv.LineID, &version, &goal, &iv.Ordinal, &iv.Kind, &iv.Description, &iv.Role, &iv.Times, &wd,
			&iv.Continues, &iv.RehabPlans); err != nil {
			return nil, nil, translate(err)
		}
		for _, d := range wd {
			iv.Weekdays = append(iv.Weekdays, int(d))
		}
		if len(iv.RehabPlans) == 0 {
			iv.RehabPlans = nil
		}
		out = append(out, iv)
		owners = append(owners, ivOwner{version, goal})
	}
	return out, owners, translate(rows.Err())
}

// orWardNotFound is err, or ward.not_found when there is none.
func orWardNotFound(err error) error {
	if err != nil {
		return err
	}
	return backend.E(backend.KindNotFound, backend.CodeWardNotFound)
}

// Periods lists the versions in force during [from, to) for a ward's
// current residents, or for one resident.
func (s CarePlanStore) Periods(ctx context.Context, facility, ward, resident uuid.UUID, from, to time.Time) ([]careplan.Period, []careplan.WardResident, error) {
	if ward != uuid.Nil {
		if found, err := wardExists(ctx, s.Pool, facility, ward); err != nil || !found {
			return nil, nil, orWardNotFound(err)
		}
	}
	rows, err := s.Pool.Query(ctx, `SELECT r.id, r.given_name || ' ' || r.family_name, coalesce(b.code, ''), r.status <> 'admitted'
		FROM residents r LEFT JOIN beds b ON b.facility_id = r.facility_id AND b.id = r.bed_id
		WHERE r.facility_id = $1 AND (($2::uuid IS NOT NULL AND r.ward_id = $2 AND r.status = 'admitted') OR r.id = $3)
		ORDER BY b.code NULLS LAST, r.family_name, r.id`, facility, nullUUID(ward), resident)
	if err != nil {
		return nil, nil, translate(err)
	}
	residents, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (careplan.WardResident, error) {
		var w careplan.WardResident
		return w, r.Scan(&w.ID, &w.Name, &w.Bed, &w.Away)
	})
	if err != nil || len(residents) == 0 {
		return nil, residents, translate(err)
	}
	ids := make([]uuid.UUID, len(residents))
	for i, r := range residents {
		ids[i] = r.ID
	}
	rows, err = s.Pool.Query(ctx, `SELECT a.resident_id, a.version_id, a.activated_at, nxt.activated_at
		FROM care_plan_activations a
		LEFT JOIN care_plan_activations nxt ON nxt.facility_id = a.facility_id AND nxt.resident_id = a.resident_id
		     AND nxt.previous_version_id = a.version_id
		WHERE a.facility_id = $1 AND a.resident_id = ANY($2) AND a.activated_at < $4
		  AND (nxt.activated_at IS NULL OR nxt.activated_at > $3)`, facility, ids, from, to)
	if err != nil {
		return nil, nil, translate(err)
	}
	periods, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (careplan.Period, error) {
		var p careplan.Period
		var until *time.Time
		err := r.Scan(&p.ResidentID, &p.VersionID, &p.From, &until)
		p.From = p.From.UTC()
		if until != nil {
			p.To = until.UTC()
		}
		return p, err
	})
	if err != nil || len(periods) == 0 {
		return nil, residents, translate(err)
	}
	vids := make([]uuid.UUID, len(periods))
	at := map[uuid.UUID]int{}
	for i, p := range periods {
		vids[i], at[p.VersionID] = p.VersionID, i
	}
	ivs, owners, err := interventions(ctx, s.Pool, facility, vids, true)
	if err != nil {
		return nil, nil, err
	}
	for i, iv := range ivs {
		p := &periods[at[owners[i].version]]
		p.Interventions = append(p.Interventions, iv)
	}
	return periods, residents, nil
}

// WardPlans lists a ward's admitted residents with their version in force
// and the drafts waiting on it.
func (s CarePlanStore) WardPlans(ctx context.Context, facility, ward uuid.UUID) ([]careplan.WardPlan, error) {
	if found, err := wardExists(ctx, s.Pool, facility, ward); err != nil || !found {
		return nil, orWardNotFound(err)
	}
	rows, err := s.Pool.Query(ctx, `SELECT r.id, r.given_name || ' ' || r.family_name, coalesce(b.code, ''),
			(SELECT max(ad.admitted_at) FROM admissions ad WHERE ad.facility_id = r.facility_id AND ad.resident_id = r.id
			   AND ad.discharged_at IS NULL),
			f.version_id, v.version_no, to_char(v.review_date, 'YYYY-MM-DD'), f.activated_at,
			(SELECT count(*) FROM care_plan_versions d WHERE d.facility_id = r.facility_id AND d.resident_id = r.id
			   AND d.based_on IS NOT DISTINCT FROM f.version_id
			   AND NOT EXISTS (SELECT 1 FROM care_plan_activations x WHERE x.facility_id = d.facility_id AND x.version_id = d.id))
		FROM residents r
		LEFT JOIN beds b ON b.facility_id = r.facility_id AND b.id = r.bed_id
		LEFT JOIN care_plan_activations f ON f.facility_id = r.facility_id AND f.resident_id = r.id
		     AND NOT EXISTS (SELECT 1 FROM care_plan_activations g WHERE g.facility_id = f.facility_id AND g.resident_id = f.resident_id
		                       AND g.previous_version_id = f.version_id)
		LEFT JOIN care_plan_versions v ON v.facility_id = f.facility_id AND v.id = f.version_id
		WHERE r.facility_id = $1 AND r.ward_id = $2 AND r.status = 'admitted'
		ORDER BY b.code NULLS LAST, r.family_name, r.id`, facility, ward)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (careplan.WardPlan, error) {
		var p careplan.WardPlan
		var drafts int64
		err := row.Scan(&p.ResidentID, &p.ResidentName, &p.Bed, &p.AdmittedAt, &p.VersionID, &p.VersionNo, &p.ReviewDate,
			&p.ActivatedAt, &drafts)
		p.Drafts = int(drafts)
		for _, t := range []*time.Time{p.AdmittedAt, p.ActivatedAt} {
			if t != nil {
				*t = t.UTC()
			}
		}
		return p, err
	})
	return out, translate(err)
}

// LatestResults lists the resident's latest valid result of each scale.
func (s CarePlanStore) LatestResults(ctx context.Context, facility, resident uuid.UUID) ([]careplan.Result, error) {
	rows, err := s.Pool.Query(ctx, `SELECT DISTINCT ON (a.scale) a.id, a.scale, a.band, a.assessed_at
		FROM assessments a
		WHERE a.facility_id = $1 AND a.resident_id = $2
		  AND NOT EXISTS (SELECT 1 FROM assessment_corrections c WHERE c.facility_id = a.facility_id AND c.assessment_id = a.id)
		ORDER BY a.scale, a.assessed_at DESC`, facility, resident)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (careplan.Result, error) {
		var x careplan.Result
		err := r.Scan(&x.AssessmentID, &x.Scale, &x.Band, &x.AssessedAt)
		x.AssessedAt = x.AssessedAt.UTC()
		return x, err
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].AssessedAt.After(out[j].AssessedAt) })
	return out, translate(err)
}

const recordColumns = `r.id, r.resident_id, r.intervention_id, r.line_id, i.kind, r.due_at, r.attempt, r.outcome, r.reason_code, r.reason,
	r.intake_pct, r.fluid_ml, r.position, r.notes, r.recorded_by, r.recorded_at, c.id, c.reason, c.recorded_by, c.recorded_at`

const recordFrom = ` FROM care_task_records r
	JOIN care_plan_interventions i ON i.facility_id = r.facility_id AND i.id = r.intervention_id
	LEFT JOIN care_task_corrections c ON c.facility_id = r.facility_id AND c.record_id = r.id`

func scanRecord(row pgx.CollectableRow) (careplan.Record, error) {
	var r careplan.Record
	var intake, fluid *int32
	var cid, cby *uuid.UUID
	var creason *string
	var cat *time.Time
	var attempt int16
	if err := row.Scan(&r.ID, &r.ResidentID, &r.InterventionID, &r.LineID, &r.Kind, &r.DueAt, &attempt, &r.Outcome, &r.ReasonCode, &r.Reason,
		&intake, &fluid, &r.Position, &r.Notes, &r.RecordedBy, &r.RecordedAt, &cid, &creason, &cby, &cat); err != nil {
		return r, err
	}
	r.Attempt = int(attempt)
	r.DueAt, r.RecordedAt = r.DueAt.UTC(), r.RecordedAt.UTC()
	r.Late = r.RecordedAt.After(r.DueAt.Add(careplan.LateAfter))
	if intake != nil {
		v := int(*intake)
		r.IntakePct = &v
	}
	if fluid != nil {
		v := int(*fluid)
		r.FluidML = &v
	}
	if cid != nil {
		r.EnteredInError = &careplan.Correction{ID: *cid, Reason: *creason, RecordedBy: deref(cby), RecordedAt: cat.UTC()}
	}
	return r, nil
}

// Records lists the task records of lines due in [from, to).
func (s CarePlanStore) Records(ctx context.Context, facility uuid.UUID, lines []uuid.UUID, from, to time.Time) ([]careplan.Record, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+recordColumns+recordFrom+`
		WHERE r.facility_id = $1 AND r.line_id = ANY($2) AND r.due_at >= $3 AND r.due_at < $4
		ORDER BY r.due_at, r.attempt`, facility, lines, from, to)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, scanRecord)
	return out, translate(err)
}

// Tx runs fn in one transaction.
func (s CarePlanStore) Tx(ctx context.Context, actor *backend.Actor, fn func(careplan.Tx) error) error {
	return s.inTx(ctx, actor, func(tx pgx.Tx) error { return fn(carePlanTx{tx}) })
}

type carePlanTx struct{ tx pgx.Tx }

func (t carePlanTx) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return appendAudit(ctx, t.tx, events...)
}

// LockKey shares the therapy record's idempotency keys.
func (t carePlanTx) LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*careplan.StoredResponse, error) {
	r, err := therapyTx(t).LockKey(ctx, facility, staff, key)
	if r == nil || err != nil {
		return nil, err
	}
	return &careplan.StoredResponse{Operation: r.Operation, Hash: r.Hash, Body: r.Body}, nil
}

func (t carePlanTx) SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r careplan.StoredResponse) error {
	return vitalsTx(t).SaveResponse(ctx, facility, staff, key, vitals.StoredResponse(r))
}

func (t carePlanTx) LockPlan(ctx context.Context, facility, resident uuid.UUID) error {
	_, err := t.tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('care_plan:' || $1::text || ':' || $2::text, 0))",
		facility, resident)
	return translate(err)
}

func (t carePlanTx) InForce(ctx context.Context, facility, resident uuid.UUID) (*uuid.UUID, error) {
	var id uuid.UUID
	err := t.tx.QueryRow(ctx, `SELECT f.version_id FROM care_plan_activations f
		WHERE f.facility_id = $1 AND f.resident_id = $2
		  AND NOT EXISTS (SELECT 1 FROM care_plan_activations g WHERE g.facility_id = f.facility_id
		                    AND g.resident_id = f.resident_id AND g.previous_version_id = f.version_id)`, facility, resident).Scan(&id)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, translate(err)
	}
	return &id, nil
}

func (t carePlanTx) LockPlanShared(ctx context.Context, facility, resident uuid.UUID) error {
	_, err := t.tx.Exec(ctx, "SELECT pg_advisory_xact_lock_shared(hashtextextended('care_plan:' || $1::text || ':' || $2::text, 0))",
		facility, resident)
	return translate(err)
}

func (t carePlanTx) NextVersionNo(ctx context.Context, facility, resident uuid.UUID) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT coalesce(max(version_no), 0) + 1 FROM care_plan_versions
		WHERE facility_id = $1 AND resident_id = $2`, facility, resident).Scan(&n)
	return n, translate(err)
}

func (t carePlanTx) Refs(ctx context.Context, facility, resident uuid.UUID, basedOn *uuid.UUID, problems, ivs []uuid.UUID) ([]uuid.UUID, map[uuid.UUID]careplan.Continued, error) {
	var okP []uuid.UUID
	lines := map[uuid.UUID]careplan.Continued{}
	if len(problems) > 0 {
		rows, err := t.tx.Query(ctx, `SELECT id FROM problems WHERE facility_id = $1 AND resident_id = $2 AND id = ANY($3)`,
			facility, resident, problems)
		if err != nil {
			return nil, nil, translate(err)
		}
		if okP, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return nil, nil, translate(err)
		}
	}
	if len(ivs) > 0 && basedOn != nil {
		rows, err := t.tx.Query(ctx, `SELECT id, line_id, kind FROM care_plan_interventions
			WHERE facility_id = $1 AND version_id = $2 AND resident_id = $3 AND id = ANY($4)`, facility, *basedOn, resident, ivs)
		if err != nil {
			return nil, nil, translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			var c careplan.Continued
			if err := rows.Scan(&id, &c.Line, &c.Kind); err != nil {
				return nil, nil, translate(err)
			}
			lines[id] = c
		}
		if err := rows.Err(); err != nil {
			return nil, nil, translate(err)
		}
	}
	return okP, lines, nil
}

func (t carePlanTx) InsertVersion(ctx context.Context, facility uuid.UUID, v *careplan.Version) error {
	b := &pgx.Batch{}
	queueVersion(b, facility, v)
	return translate(t.tx.SendBatch(ctx, b).Close())
}

// queueVersion queues a version, its content and its signatures.
func queueVersion(b *pgx.Batch, facility uuid.UUID, v *careplan.Version) {
	b.Queue(`INSERT INTO care_plan_versions (facility_id, id, resident_id, version_no, based_on, review_date, summary, recorded_by, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6::date, $7, $8, $9)`, facility, v.ID, v.ResidentID, v.VersionNo, v.BasedOn, v.ReviewDate,
		v.Summary, v.RecordedBy, v.RecordedAt)
	for _, p := range v.Problems {
		b.Queue(`INSERT INTO care_plan_problems (facility_id, id, version_id, ordinal, title, problem_id)
			VALUES ($1, $2, $3, $4, $5, $6)`, facility, p.ID, v.ID, p.Ordinal, p.Title, p.ProblemID)
		for _, g := range p.Goals {
			b.Queue(`INSERT INTO care_plan_goals (facility_id, id, version_id, problem_ref, ordinal, description, measure, target_date)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8::date)`, facility, g.ID, v.ID, p.ID, g.Ordinal, g.Description, g.Measure, g.TargetDate)
			for _, iv := range g.Interventions {
				b.Queue(`INSERT INTO care_plan_interventions (facility_id, id, version_id, resident_id, line_id, goal_id, ordinal, kind,
						description, role, times, weekdays, continues)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::text[]::time[], $12::smallint[], $13)`, facility, iv.ID, v.ID,
					v.ResidentID, iv.LineID, g.ID, iv.Ordinal, string(iv.Kind), iv.Description, string(iv.Role), iv.Times, iv.Weekdays,
					iv.Continues)
			}
		}
	}
	for _, s := range v.Signatures {
		b.Queue(`INSERT INTO care_plan_signatures (facility_id, version_id, staff_id, profession, signed_at)
			VALUES ($1, $2, $3, $4, $5)`, facility, v.ID, s.StaffID, string(s.Profession), s.SignedAt)
	}
}

func (t carePlanTx) Version(ctx context.Context, facility, id uuid.UUID) (careplan.Version, error) {
	return readVersion(ctx, t.tx, facility, id)
}

func (t carePlanTx) InsertSignature(ctx context.Context, facility, version uuid.UUID, s careplan.Signature) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO care_plan_signatures (facility_id, version_id, staff_id, profession, signed_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, facility, version, s.StaffID, string(s.Profession), s.SignedAt)
	if err != nil {
		return false, translate(err)
	}
	return tag.RowsAffected() == 1, nil
}

func (t carePlanTx) Activate(ctx context.Context, facility, resident, version uuid.UUID, previous *uuid.UUID, at time.Time) error {
	// Never before the version it replaces came into force, whatever the
	// clocks of two API servers say (the trigger refuses overlap).
	_, err := t.tx.Exec(ctx, `INSERT INTO care_plan_activations (facility_id, resident_id, version_id, previous_version_id, activated_at)
		VALUES ($1, $2, $3, $4, greatest($5, (SELECT p.activated_at + interval '1 millisecond' FROM care_plan_activations p
			WHERE p.facility_id = $1 AND p.version_id = $4)))`, facility, resident, version, previous, at)
	return translate(err)
}

func (t carePlanTx) Intervention(ctx context.Context, facility, id uuid.UUID) (careplan.Intervention, careplan.Period, error) {
	var p careplan.Period
	var vid uuid.UUID
	var from, until *time.Time
	err := t.tx.QueryRow(ctx, `SELECT i.version_id, v.resident_id, a.activated_at, nxt.activated_at
		FROM care_plan_interventions i
		JOIN care_plan_versions v ON v.facility_id = i.facility_id AND v.id = i.version_id
		LEFT JOIN care_plan_activations a ON a.facility_id = i.facility_id AND a.version_id = i.version_id
		LEFT JOIN care_plan_activations nxt ON nxt.facility_id = a.facility_id AND nxt.resident_id = a.resident_id
		     AND nxt.previous_version_id = a.version_id
		WHERE i.facility_id = $1 AND i.id = $2`, facility, id).Scan(&vid, &p.ResidentID, &from, &until)
	if err == pgx.ErrNoRows {
		return careplan.Intervention{}, p, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	if err != nil {
		return careplan.Intervention{}, p, translate(err)
	}
	p.VersionID = vid
	if from != nil {
		p.From = from.UTC()
	} else {
		// Never in force: an empty period (From after To).
		p.From, p.To = time.Unix(1, 0).UTC(), time.Unix(0, 0).UTC()
	}
	if until != nil {
		p.To = until.UTC()
	}
	ivs, _, err := interventions(ctx, t.tx, facility, []uuid.UUID{vid}, false)
	if err != nil {
		return careplan.Intervention{}, p, err
	}
	for _, iv := range ivs {
		if iv.ID == id {
			return iv, p, nil
		}
	}
	return careplan.Intervention{}, p, backend.E(backend.KindNotFound, backend.CodeNotFound)
}

func (t carePlanTx) TaskRecords(ctx context.Context, facility, line uuid.UUID, due time.Time) ([]careplan.Record, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+recordColumns+recordFrom+`
		WHERE r.facility_id = $1 AND r.line_id = $2 AND r.due_at = $3 ORDER BY r.attempt FOR UPDATE OF r`, facility, line, due)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, scanRecord)
	return out, translate(err)
}

func (t carePlanTx) InsertRecord(ctx context.Context, facility uuid.UUID, r *careplan.Record, device uuid.UUID) error {
	b := &pgx.Batch{}
	queueTaskRecord(b, facility, r, device)
	return translate(t.tx.SendBatch(ctx, b).Close())
}

func queueTaskRecord(b *pgx.Batch, facility uuid.UUID, r *careplan.Record, device uuid.UUID) {
	b.Queue(`INSERT INTO care_task_records (facility_id, id, resident_id, intervention_id, line_id, due_at, attempt, outcome,
			reason_code, reason, intake_pct, fluid_ml, position, notes, recorded_by, recorded_at, device_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`, facility, r.ID, r.ResidentID,
		r.InterventionID, r.LineID, r.DueAt, r.Attempt, r.Outcome, r.ReasonCode, r.Reason, r.IntakePct, r.FluidML, r.Position, r.Notes,
		r.RecordedBy, r.RecordedAt, nullUUID(device))
}

func (t carePlanTx) Record(ctx context.Context, facility, id uuid.UUID) (careplan.Record, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+recordColumns+recordFrom+` WHERE r.facility_id = $1 AND r.id = $2 FOR UPDATE OF r`, facility, id)
	if err != nil {
		return careplan.Record{}, translate(err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, scanRecord)
	if err == pgx.ErrNoRows {
		return r, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	return r, translate(err)
}

func (t carePlanTx) InsertCorrection(ctx context.Context, facility, record uuid.UUID, c *careplan.Correction) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO care_task_corrections (facility_id, id, record_id, reason, recorded_by, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, facility, c.ID, record, c.Reason, c.RecordedBy, c.RecordedAt)
	return translate(err)
}

// loadCarePlans writes the demo's care plans (fixtures.DemoCarePlans),
// each validated as the service would, in force since their activation,
// with the last day's tasks ticked as fixtures.DemoTick says. Fixture
// data, loaded without audit events of its own. It returns the rehab
// interventions by rehab plan key, for loadRehab to link.
func loadCarePlans(ctx context.Context, tx pgx.Tx, d *fixtures.Data, fid uuid.UUID) (map[string]uuid.UUID, error) {
	loc, err := time.LoadLocation(d.Facility.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("demo care plans: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	seeds := d.DemoCarePlans(now, loc)
	rehabLinks := map[string]uuid.UUID{}
	if len(seeds) == 0 {
		return rehabLinks, nil
	}
	roles := map[string][]backend.Role{}
	byRole := map[string]map[string][]string{} // ward → role → usernames
	for _, s := range d.Staff {
		for _, r := range s.Roles {
			roles[s.Username] = append(roles[s.Username], backend.Role(r))
			for _, w := range s.Wards {
				if byRole[w] == nil {
					byRole[w] = map[string][]string{}
				}
				byRole[w][r] = append(byRole[w][r], s.Username)
			}
		}
	}
	sign := func(username string, at time.Time) (careplan.Signature, error) {
		p, ok := careplan.ProfessionOf(&backend.Actor{Roles: roles[username]})
		if !ok {
			return careplan.Signature{}, fmt.Errorf("demo care plan: %s is not on a ward team", username)
		}
		return careplan.Signature{StaffID: d.ID("staff", username), Profession: p, SignedAt: at.UTC()}, nil
	}
	b := &pgx.Batch{}
	n := 0
	for _, sd := range seeds {
		req := sd.Request
		if err := req.Validate(sd.RecordedAt.In(loc).Format(careplan.DateLayout)); err != nil {
			return nil, fmt.Errorf("demo care plan %s: %w", sd.Key, err)
		}
		resident := d.ID("resident", sd.Resident.Ward+"/"+sd.Resident.Bed+"/"+sd.Resident.FiscalCode)
		v := careplan.Version{ID: d.ID("care_plan_version", sd.Key), ResidentID: resident, VersionNo: 1, ReviewDate: req.ReviewDate,
			Summary: req.Summary, RecordedBy: d.ID("staff", sd.Author), RecordedAt: sd.RecordedAt.UTC(), Problems: req.Build(uuid.New)}
		var ivs []careplan.Intervention
		for pi := range v.Problems {
			p := &v.Problems[pi]
			p.ID = d.ID("care_plan_problem", fmt.Sprintf("%s/%d", sd.Key, pi+1))
			for gi := range p.Goals {
				g := &p.Goals[gi]
				g.ID = d.ID("care_plan_goal", fmt.Sprintf("%s/%d/%d", sd.Key, pi+1, gi+1))
				for ii := range g.Interventions {
					g.Interventions[ii].ID = d.ID("care_plan_intervention", sd.CarePlanInterventionKey(pi+1, gi+1, ii+1))
					g.Interventions[ii].LineID = g.Interventions[ii].ID
					ivs = append(ivs, g.Interventions[ii])
				}
			}
		}
		if pi, gi, ii, ok := sd.RehabIntervention(); ok && sd.RehabPlan != "" {
			rehabLinks[sd.RehabPlan] = d.ID("care_plan_intervention", sd.CarePlanInterventionKey(pi, gi, ii))
		}
		first, err := sign(sd.Author, sd.RecordedAt)
		if err != nil {
			return nil, err
		}
		v.Signatures = []careplan.Signature{first}
		for k, u := range sd.Signers {
			sg, err := sign(u, sd.ActivatedAt.Add(time.Duration(k+1-len(sd.Signers))*time.Hour))
			if err != nil {
				return nil, err
			}
			v.Signatures = append(v.Signatures, sg)
		}
		if !careplan.Agreed(v.Signatures) {
			return nil, fmt.Errorf("demo care plan %s: signatures do not agree it", sd.Key)
		}
		queueVersion(b, fid, &v)
		b.Queue(`INSERT INTO care_plan_activations (facility_id, resident_id, version_id, activated_at) VALUES ($1, $2, $3, $4)`,
			fid, resident, v.ID, sd.ActivatedAt.UTC())

		period := careplan.Period{ResidentID: resident, VersionID: v.ID, From: sd.ActivatedAt.UTC(), Interventions: ivs}
		for _, t := range careplan.Expand([]careplan.Period{period}, now.Add(-24*time.Hour), now, loc) {
			n++
			rr := fixtures.DemoTick(n, t, now)
			if rr == nil {
				continue
			}
			at := t.DueAt.Add(time.Duration(5+n%35) * time.Minute)
			if at.After(now.Add(-time.Minute)) {
				at = now.Add(-time.Minute)
			}
			if err := rr.Validate(t.Kind, at); err != nil {
				return nil, fmt.Errorf("demo care task %s: %w", sd.Key, err)
			}
			staff := byRole[sd.Resident.Ward]["oss"]
			if t.Role == careplan.RoleNurse || len(staff) == 0 {
				staff = byRole[sd.Resident.Ward]["nurse"]
			}
			rec := careplan.Record{ID: d.ID("care_task", fmt.Sprintf("%s/%s/%d", sd.Key, t.InterventionID, t.DueAt.Unix())),
				ResidentID: resident, InterventionID: t.InterventionID, LineID: t.LineID, DueAt: t.DueAt, Attempt: 1, Outcome: rr.Outcome,
				ReasonCode: rr.ReasonCode, Reason: rr.Reason, IntakePct: rr.IntakePct, FluidML: rr.FluidML, Position: rr.Position,
				RecordedBy: d.ID("staff", staff[n%len(staff)]), RecordedAt: at}
			queueTaskRecord(b, fid, &rec, uuid.Nil)
		}
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("demo care plans: %w", err)
	}
	return rehabLinks, nil
}
