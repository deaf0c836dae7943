package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/problem"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ProblemStore implements problem.Store.
type ProblemStore struct{ *DB }

var _ problem.Store = ProblemStore{}

// Resident reads what access needs to decide on a resident.
func (s ProblemStore) Resident(ctx context.Context, facility, id, staff uuid.UUID) (access.Target, error) {
	var t access.Target
	var ward *uuid.UUID
	err := s.Pool.QueryRow(ctx, `SELECT r.facility_id, r.ward_id, r.status IN ('admitted', 'hospitalised'),
			coalesce((SELECT g.reason FROM break_glass_grants g WHERE g.facility_id = r.facility_id AND g.staff_id = $3
			   AND g.resident_id = r.id AND g.expires_at > now() ORDER BY g.expires_at DESC LIMIT 1), '')
		FROM residents r WHERE r.facility_id = $1 AND r.id = $2`, facility, id, staff).
		Scan(&t.FacilityID, &ward, &t.Current, &t.GrantReason)
	if err == pgx.ErrNoRows {
		return t, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	t.WardID = deref(ward)
	return t, translate(err)
}

const sectionColumns = `id, resident_id, section, body, version, updated_by, updated_at`

func scanSection(row pgx.CollectableRow) (problem.AnamnesisSection, error) {
	var x problem.AnamnesisSection
	var by uuid.UUID
	var at time.Time
	err := row.Scan(&x.ID, &x.ResidentID, &x.Section, &x.Text, &x.Version, &by, &at)
	at = at.UTC()
	x.UpdatedBy, x.UpdatedAt = &by, &at
	return x, err
}

// Anamnesis reads the written sections of a resident's anamnesis.
func (s ProblemStore) Anamnesis(ctx context.Context, facility, resident uuid.UUID) ([]problem.AnamnesisSection, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+sectionColumns+` FROM anamnesis_sections
		WHERE facility_id = $1 AND resident_id = $2`, facility, resident)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, scanSection)
	return out, translate(err)
}

// AnamnesisHistory lists the current and every superseded version of each
// section (kept in row_history by keep_history), newest first.
func (s ProblemStore) AnamnesisHistory(ctx context.Context, facility, resident uuid.UUID) ([]problem.HistoryEntry, error) {
	rows, err := s.Pool.Query(ctx, `SELECT section, version, body, updated_by, updated_at, true FROM anamnesis_sections
			WHERE facility_id = $1 AND resident_id = $2
		UNION ALL
		SELECT a.section, h.version, h.data->>'body', (h.data->>'updated_by')::uuid, (h.data->>'updated_at')::timestamptz, false
			FROM row_history h JOIN anamnesis_sections a ON a.facility_id = h.facility_id AND a.id = h.row_id
			WHERE h.facility_id = $1 AND h.table_name = 'anamnesis_sections' AND a.resident_id = $2
		ORDER BY 5 DESC, 1, 2 DESC`, facility, resident)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (problem.HistoryEntry, error) {
		var h problem.HistoryEntry
		err := row.Scan(&h.Section, &h.Version, &h.Text, &h.UpdatedBy, &h.UpdatedAt, &h.Current)
		h.UpdatedAt = h.UpdatedAt.UTC()
		return h, err
	})
	if out == nil {
		out = []problem.HistoryEntry{}
	}
	return out, translate(err)
}

const problemColumns = `id, resident_id, kind, icd9_code, description, to_char(onset, 'YYYY-MM-DD'), status, status_reason,
	version, recorded_by, recorded_at, updated_by, updated_at`

func scanProblem(row pgx.CollectableRow) (problem.Problem, error) {
	var p problem.Problem
	err := row.Scan(&p.ID, &p.ResidentID, &p.Kind, &p.Code, &p.Description, &p.Onset, &p.Status, &p.StatusReason,
		&p.Version, &p.RecordedBy, &p.RecordedAt, &p.UpdatedBy, &p.UpdatedAt)
	p.RecordedAt, p.UpdatedAt = p.RecordedAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

// Problems lists a resident's problems, oldest first.
func (s ProblemStore) Problems(ctx context.Context, facility, resident uuid.UUID) ([]problem.Problem, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+problemColumns+` FROM problems
		WHERE facility_id = $1 AND resident_id = $2 ORDER BY recorded_at, id`, facility, resident)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, scanProblem)
	if out == nil {
		out = []problem.Problem{}
	}
	return out, translate(err)
}

// ProblemResident is the resident and kind of a problem.
func (s ProblemStore) ProblemResident(ctx context.Context, facility, id uuid.UUID) (uuid.UUID, problem.Kind, error) {
	var r uuid.UUID
	var k problem.Kind
	err := s.Pool.QueryRow(ctx, `SELECT resident_id, kind FROM problems WHERE facility_id = $1 AND id = $2`, facility, id).Scan(&r, &k)
	return r, k, translate(err)
}

// Tx runs fn in one transaction.
func (s ProblemStore) Tx(ctx context.Context, actor *backend.Actor, fn func(problem.Tx) error) error {
	return s.inTx(ctx, actor, func(tx pgx.Tx) error { return fn(problemTx{tx}) })
}

type problemTx struct{ tx pgx.Tx }

func (t problemTx) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return appendAudit(ctx, t.tx, events...)
}

// LockKey shares the therapy record's idempotency keys (and their advisory
// lock): one key, one act, whatever the route.
func (t problemTx) LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*problem.StoredResponse, error) {
	r, err := therapyTx(t).LockKey(ctx, facility, staff, key)
	if r == nil || err != nil {
		return nil, err
	}
	return &problem.StoredResponse{Operation: r.Operation, Hash: r.Hash, Body: r.Body}, nil
}

func (t problemTx) SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r problem.StoredResponse) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO idempotency_keys (facility_id, staff_id, key, operation, request_hash, status, response)
		VALUES ($1, $2, $3, $4, $5, 201, $6)`, facility, staff, key, r.Operation, r.Hash, r.Body)
	return translate(err)
}

func conflict() error {
	return backend.E(backend.KindConflict, backend.CodeVersionConflict, "the record was changed by someone else; reload it")
}

// WriteSection inserts a section at version 0 or updates it at its version.
func (t problemTx) WriteSection(ctx context.Context, facility, resident uuid.UUID, sec problem.Section, w problem.SectionWrite, by uuid.UUID, at time.Time) (problem.AnamnesisSection, error) {
	var rows pgx.Rows
	var err error
	if w.Version == 0 {
		rows, err = t.tx.Query(ctx, `INSERT INTO anamnesis_sections (facility_id, id, resident_id, section, body, updated_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (facility_id, resident_id, section) DO NOTHING
			RETURNING `+sectionColumns, facility, uuid.New(), resident, string(sec), w.Text, by, at)
	} else {
		rows, err = t.tx.Query(ctx, `UPDATE anamnesis_sections SET body = $5, updated_by = $6
			WHERE facility_id = $1 AND resident_id = $2 AND section = $3 AND version = $4
			RETURNING `+sectionColumns, facility, resident, string(sec), w.Version, w.Text, by)
	}
	if err != nil {
		return problem.AnamnesisSection{}, translate(err)
	}
	x, err := pgx.CollectExactlyOneRow(rows, scanSection)
	if err == pgx.ErrNoRows {
		return x, conflict()
	}
	return x, translate(err)
}

func (t problemTx) InsertProblem(ctx context.Context, facility uuid.UUID, p *problem.Problem) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO problems (facility_id, id, resident_id, kind, icd9_code, description, onset, status,
			status_reason, recorded_by, recorded_at, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7::date, $8, $9, $10, $11, $12, $13)`,
		facility, p.ID, p.ResidentID, string(p.Kind), p.Code, p.Description, p.Onset, string(p.Status), p.StatusReason,
		p.RecordedBy, p.RecordedAt, p.UpdatedBy, p.UpdatedAt)
	return translate(err)
}

func (t problemTx) LockProblem(ctx context.Context, facility, id uuid.UUID) (problem.Problem, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+problemColumns+` FROM problems WHERE facility_id = $1 AND id = $2 FOR UPDATE`, facility, id)
	if err != nil {
		return problem.Problem{}, translate(err)
	}
	p, err := pgx.CollectExactlyOneRow(rows, scanProblem)
	if err == pgx.ErrNoRows {
		return p, backend.E(backend.KindNotFound, "problem.not_found")
	}
	return p, translate(err)
}

// SetStatus updates the status at the problem's version; keep_history bumps
// it and archives the old row.
func (t problemTx) SetStatus(ctx context.Context, facility uuid.UUID, p *problem.Problem) error {
	err := t.tx.QueryRow(ctx, `UPDATE problems SET status = $4, status_reason = $5, updated_by = $6
		WHERE facility_id = $1 AND id = $2 AND version = $3 RETURNING version, updated_at`,
		facility, p.ID, p.Version, string(p.Status), p.StatusReason, p.UpdatedBy).Scan(&p.Version, &p.UpdatedAt)
	if err == pgx.ErrNoRows {
		return conflict()
	}
	p.UpdatedAt = p.UpdatedAt.UTC()
	return translate(err)
}

// loadProblems writes the demo's anamnesis and problems
// (fixtures.DemoProblems), each code checked against the subset. Fixture
// data, loaded without audit events of its own.
func loadProblems(ctx context.Context, tx pgx.Tx, d *fixtures.Data, fid uuid.UUID) error {
	codes, err := problem.ParseCodes(fixtures.ICD9CM())
	if err != nil {
		return fmt.Errorf("icd9cm: %w", err)
	}
	seeds := d.DemoProblems(time.Now())
	b := &pgx.Batch{}
	for _, sd := range seeds {
		rid := d.ID("resident", sd.Resident.Ward+"/"+sd.Resident.Bed+"/"+sd.Resident.FiscalCode)
		by := d.ID("staff", sd.RecordedBy)
		at := sd.RecordedAt.UTC().Truncate(time.Microsecond)
		for i, sec := range sd.Anamnesis {
			b.Queue(`INSERT INTO anamnesis_sections (facility_id, id, resident_id, section, body, updated_by, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, fid, d.ID("anamnesis", fmt.Sprintf("%s/%d", sd.Key, i)), rid,
				sec.Section, sec.Text, by, at)
		}
		for i, p := range sd.Problems {
			c, ok := codes.Lookup(p.Code)
			if !ok {
				return fmt.Errorf("demo problems %s: code %s not in the subset", sd.Key, p.Code)
			}
			b.Queue(`INSERT INTO problems (facility_id, id, resident_id, kind, icd9_code, description, onset, status,
					recorded_by, recorded_at, updated_by, updated_at)
				VALUES ($1, $2, $3, 'medical', $4, $5, $6::date, $7, $8, $9, $8, $9)`,
				fid, d.ID("problem", fmt.Sprintf("%s/%d", sd.Key, i)), rid, c.Code, c.Description, p.Onset, p.Status, by, at)
		}
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("demo problems: %w", err)
	}
	return nil
}

// mustICD9CM parses the shipped ICD-9-CM subset; it is embedded in the
// binary, so a parse failure is a build defect.
func mustICD9CM() *problem.Codes {
	c, err := problem.ParseCodes(fixtures.ICD9CM())
	if err != nil {
		panic("fixtures/icd9cm.json: " + err.Error())
	}
	return c
}
