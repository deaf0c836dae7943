package postgres

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/diary"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// DiaryStore implements diary.Store.
type DiaryStore struct{ *DB }

var _ diary.Store = DiaryStore{}

const diaryColumns = `e.id, e.resident_id, e.profession, e.text, e.occurred_at, e.author_id,
	s.given_name || ' ' || s.family_name, e.recorded_at, coalesce(e.link_kind, ''), e.links_to, e.signature`

const diaryFrom = ` FROM diary_entries e JOIN staff s ON s.facility_id = e.facility_id AND s.id = e.author_id`

func scanDiary(row pgx.CollectableRow) (diary.Entry, error) {
	var e diary.Entry
	var prof string
	var sig []byte
	err := row.Scan(&e.ID, &e.ResidentID, &prof, &e.Text, &e.OccurredAt, &e.AuthorID, &e.AuthorName, &e.RecordedAt,
		&e.LinkKind, &e.LinksTo, &sig)
	e.Profession, e.Signature = access.Profession(prof), hex.EncodeToString(sig)
	e.OccurredAt, e.RecordedAt = e.OccurredAt.UTC(), e.RecordedAt.UTC()
	return e, err
}

func diaryResident(ctx context.Context, q querier, facility, id, staff uuid.UUID) (access.Target, error) {
	t := access.Target{FacilityID: facility}
	var ward *uuid.UUID
	err := q.QueryRow(ctx, `SELECT r.ward_id, r.status IN ('admitted', 'hospitalised'),
			coalesce((SELECT g.reason FROM break_glass_grants g
			   WHERE g.facility_id = r.facility_id AND g.staff_id = $3 AND g.resident_id = r.id AND g.expires_at > now()
			   ORDER BY g.expires_at DESC LIMIT 1), '')
		FROM residents r WHERE r.facility_id = $1 AND r.id = $2`, facility, id, staff).Scan(&ward, &t.Current, &t.GrantReason)
	t.WardID = deref(ward)
	return t, translate(err)
}

// Resident describes a resident for an access decision.
func (s DiaryStore) Resident(ctx context.Context, facility, id, staff uuid.UUID) (access.Target, error) {
	return diaryResident(ctx, s.Pool, facility, id, staff)
}

// List reads a page of original entries and everything linked to them.
func (s DiaryStore) List(ctx context.Context, facility, resident uuid.UUID, professions []access.Profession, q diary.Query) ([]diary.Entry, []diary.Entry, error) {
	profs := make([]string, len(professions))
	for i, p := range professions {
		profs[i] = string(p)
	}
	var from, to, beforeAt *time.Time
	var beforeID *uuid.UUID
	if !q.From.IsZero() {
		from = &q.From
	}
	if !q.To.IsZero() {
		to = &q.To
	}
	if q.Before != nil {
		beforeAt, beforeID = &q.Before.OccurredAt, &q.Before.ID
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+diaryColumns+diaryFrom+`
		WHERE e.facility_id = $1 AND e.resident_id = $2 AND e.links_to IS NULL AND e.profession = ANY($3)
		  AND ($4::timestamptz IS NULL OR e.occurred_at >= $4) AND ($5::timestamptz IS NULL OR e.occurred_at < $5)
		  AND ($6::timestamptz IS NULL OR (e.occurred_at, e.id) < ($6, $7::uuid))
		ORDER BY e.occurred_at DESC, e.id DESC LIMIT $8`, facility, resident, profs, from, to, beforeAt, beforeID, q.Limit)
	if err != nil {
		return nil, nil, translate(err)
	}
	originals, err := pgx.CollectRows(rows, scanDiary)
	if err != nil || len(originals) == 0 {
		return originals, nil, translate(err)
	}
	ids := make([]uuid.UUID, len(originals))
	for i, e := range originals {
		ids[i] = e.ID
	}
	// Addenda and corrections of the page, and corrections of the addenda.
	rows, err = s.Pool.Query(ctx, `WITH first AS (SELECT * FROM diary_entries
			WHERE facility_id = $1 AND links_to = ANY($2))
		SELECT `+diaryColumns+` FROM (SELECT * FROM first UNION ALL
			SELECT d.* FROM diary_entries d JOIN first f ON d.facility_id = f.facility_id AND d.links_to = f.id
			WHERE d.facility_id = $1) e
		JOIN staff s ON s.facility_id = e.facility_id AND s.id = e.author_id
		ORDER BY e.recorded_at, e.id`, facility, ids)
	if err != nil {
		return nil, nil, translate(err)
	}
	linked, err := pgx.CollectRows(rows, scanDiary)
	return originals, linked, translate(err)
}

// Tx runs fn in one transaction.
func (s DiaryStore) Tx(ctx context.Context, actor *backend.Actor, fn func(diary.Tx) error) error {
	return s.inTx(ctx, actor, func(tx pgx.Tx) error { return fn(diaryTx{tx}) })
}

type diaryTx struct{ tx pgx.Tx }

func (t diaryTx) Resident(ctx context.Context, facility, id, staff uuid.UUID) (access.Target, error) {
	return diaryResident(ctx, t.tx, facility, id, staff)
}

func (t diaryTx) LockEntry(ctx context.Context, facility, id uuid.UUID) (diary.Entry, bool, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+diaryColumns+diaryFrom+` WHERE e.facility_id = $1 AND e.id = $2 FOR UPDATE OF e`, facility, id)
	if err != nil {
		return diary.Entry{}, false, translate(err)
	}
	e, err := pgx.CollectExactlyOneRow(rows, scanDiary)
	if err != nil {
		return e, false, translate(err)
	}
	var corrected bool
	err = t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM diary_entries WHERE facility_id = $1 AND links_to = $2
		AND link_kind = 'entered_in_error')`, facility, id).Scan(&corrected)
	return e, corrected, translate(err)
}

func (t diaryTx) InsertEntry(ctx context.Context, facility uuid.UUID, e *diary.Entry) error {
	return insertDiary(ctx, t.tx, facility, e)
}

func insertDiary(ctx context.Context, q querier, facility uuid.UUID, e *diary.Entry) error {
	sig, err := hex.DecodeString(e.Signature)
	if err != nil {
		return backend.Internal(err, "diary signature")
	}
	var kind any
	if e.LinkKind != "" {
		kind = e.LinkKind
	}
	_, err = q.Exec(ctx, `INSERT INTO diary_entries (facility_id, id, resident_id, profession, text, occurred_at, author_id,
			recorded_at, link_kind, links_to, signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		facility, e.ID, e.ResidentID, string(e.Profession), e.Text, e.OccurredAt, e.AuthorID, e.RecordedAt, kind, e.LinksTo, sig)
	if isCode(err, "23505") {
		return backend.E(backend.KindConflict, "diary.already_entered_in_error", "this entry is already marked entered in error")
	}
	return translate(err)
}

func (t diaryTx) StaffName(ctx context.Context, facility, id uuid.UUID) (string, error) {
	var name string
	err := t.tx.QueryRow(ctx, "SELECT given_name || ' ' || family_name FROM staff WHERE facility_id = $1 AND id = $2",
		facility, id).Scan(&name)
	return name, translate(err)
}

// LockKey: as therapyTx.LockKey, on the same idempotency_keys table.
func (t diaryTx) LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*diary.StoredResponse, error) {
	r, err := therapyTx(t).LockKey(ctx, facility, staff, key)
	if r == nil || err != nil {
		return nil, err
	}
	return &diary.StoredResponse{Operation: r.Operation, Hash: r.Hash, Body: r.Body}, nil
}

func (t diaryTx) SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r diary.StoredResponse) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO idempotency_keys (facility_id, staff_id, key, operation, request_hash, status, response)
		VALUES ($1, $2, $3, $4, $5, 201, $6)`, facility, staff, key, r.Operation, r.Hash, r.Body)
	return translate(err)
}

func (t diaryTx) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return appendAudit(ctx, t.tx, events...)
}

// loadDiary writes the demo diary (fixtures.DemoDiary: VDT only), signed as
// the service signs, inside the fixtures transaction.
func loadDiary(ctx context.Context, tx pgx.Tx, d *fixtures.Data, fid uuid.UUID) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	ids := map[int]uuid.UUID{}
	for i, s := range d.DemoDiary(now) {
		e := diary.Entry{ID: d.ID("diary", fmt.Sprint(i)), ResidentID: d.ID("resident", s.Resident.Ward+"/"+s.Resident.Bed+"/"+s.Resident.FiscalCode),
			Profession: access.Profession(s.Profession), Text: s.Text, OccurredAt: s.OccurredAt.UTC().Truncate(time.Microsecond),
			AuthorID: d.ID("staff", s.Author), RecordedAt: s.OccurredAt.UTC().Add(s.RecordedAfter).Truncate(time.Microsecond)}
		if s.AddendumTo >= 0 {
			to, ok := ids[s.AddendumTo]
			if !ok {
				return fmt.Errorf("demo diary %d: addendum to unknown entry %d", i, s.AddendumTo)
			}
			e.LinkKind, e.LinksTo = diary.LinkAddendum, &to
		}
		e.Signature = diary.Sign(&e)
		if err := insertDiary(ctx, tx, fid, &e); err != nil {
			return fmt.Errorf("demo diary %d: %w", i, err)
		}
		ids[i] = e.ID
	}
	return nil
}
