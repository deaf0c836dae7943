package postgres

import (
	"context"
	"crypto/sha256"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/document"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// DocumentStore implements document.Store.
type DocumentStore struct{ *DB }

var _ document.Store = DocumentStore{}

// documentVisible is the SQL side of document.VisibleTo: the document d is
// visible to someone whose reading roles are $roles when they are not all
// among the roles its current oscuramento hides it from. Every query that
// shows, counts or searches documents must carry it.
const documentVisible = ` NOT (%s::text[] <@ coalesce((SELECT v.hidden_from FROM document_visibility v
	WHERE v.facility_id = d.facility_id AND v.document_id = d.id ORDER BY v.seq DESC LIMIT 1), '{}'))`

// DocumentVisibleSQL returns the visibility condition on a documents row
// aliased d, for the reading roles passed as the parameter named param
// (e.g. "$3"). Other features (the timeline, search) use it.
func DocumentVisibleSQL(param string) string {
	return "(" + strings.ReplaceAll(documentVisible, "%s", param) + ")"
}

const documentColumns = `d.facility_id, d.id, d.resident_id, d.kind, d.title, d.document_date, d.content_type, d.size,
	d.sha256, d.key_version, d.uploaded_by, d.uploaded_at, coalesce(d.idempotency_key, ''),
	coalesce(c.reason, ''),
	coalesce((SELECT v.hidden_from FROM document_visibility v
		WHERE v.facility_id = d.facility_id AND v.document_id = d.id ORDER BY v.seq DESC LIMIT 1), '{}')`

const documentFrom = ` FROM documents d LEFT JOIN document_corrections c ON c.facility_id = d.facility_id AND c.document_id = d.id`

// residentTarget selects what an access decision on resident $2 needs.
const residentTarget = `SELECT r.facility_id, coalesce(r.ward_id, '00000000-0000-0000-0000-000000000000'),
	r.status IN ('admitted', 'hospitalised'),
	coalesce((SELECT g.reason FROM break_glass_grants g
	   WHERE g.facility_id = r.facility_id AND g.staff_id = $3 AND g.resident_id = r.id AND g.expires_at > now()
	   ORDER BY g.expires_at DESC LIMIT 1), '')
	FROM residents r WHERE r.facility_id = $1 AND r.id = $2`

func scanDocument(row pgx.Row, extra ...any) (document.Document, error) {
	var d document.Document
	var date *time.Time
	var hidden []string
	dest := append([]any{&d.FacilityID, &d.ID, &d.ResidentID, &d.Kind, &d.Title, &date, &d.ContentType, &d.Size,
		&d.SHA256, &d.KeyVersion, &d.UploadedBy, &d.UploadedAt, &d.IdempotencyKey, &d.StatusReason, &hidden}, extra...)
	if err := row.Scan(dest...); err != nil {
		return d, translate(err)
	}
	if date != nil {
		d.DocumentDate = *date
	}
	d.Status = document.StatusCurrent
	if d.StatusReason != "" {
		d.Status = document.StatusEnteredInError
	}
	for _, r := range hidden {
		d.HiddenFrom = append(d.HiddenFrom, backend.Role(r))
	}
	return d, nil
}

func residentTargetOf(ctx context.Context, q querier, facility, id, staff uuid.UUID, lock bool) (access.Target, error) {
	sql := residentTarget
	if lock {
		sql += " FOR UPDATE OF r"
	}
	var t access.Target
	err := q.QueryRow(ctx, sql, facility, id, staff).Scan(&t.FacilityID, &t.WardID, &t.Current, &t.GrantReason)
	return t, translate(err)
}

// Resident reads the access target of a resident.
func (s DocumentStore) Resident(ctx context.Context, facility, id, staff uuid.UUID) (access.Target, error) {
	return residentTargetOf(ctx, s.Pool, facility, id, staff, false)
}

// List lists a resident's documents visible to roles, newest first.
func (s DocumentStore) List(ctx context.Context, facility, resident uuid.UUID, roles []string) ([]document.Document, error) {
	rows, err := s.Pool.Query(ctx, "SELECT "+documentColumns+documentFrom+
		` WHERE d.facility_id = $1 AND d.resident_id = $2 AND `+DocumentVisibleSQL("$3")+
		` ORDER BY d.uploaded_at DESC, d.id`, facility, resident, nonNil(roles))
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (document.Document, error) { return scanDocument(row) })
	return out, translate(err)
}

func getDocument(ctx context.Context, q querier, facility, id, staff uuid.UUID, roles []string, lock bool) (document.Document, access.Target, error) {
	sql := "SELECT " + documentColumns + documentFrom + ` WHERE d.facility_id = $1 AND d.id = $2 AND ` + DocumentVisibleSQL("$3")
	if lock {
		sql += " FOR UPDATE OF d"
	}
	d, err := scanDocument(q.QueryRow(ctx, sql, facility, id, nonNil(roles)))
	if err != nil {
		return d, access.Target{}, err
	}
	t, err := residentTargetOf(ctx, q, facility, d.ResidentID, staff, lock)
	return d, t, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Get reads one document visible to roles with its resident's target.
func (s DocumentStore) Get(ctx context.Context, facility, id, staff uuid.UUID, roles []string) (document.Document, access.Target, error) {
	return getDocument(ctx, s.Pool, facility, id, staff, roles, false)
}

// Content reads a document's sealed content.
func (s DocumentStore) Content(ctx context.Context, facility, id uuid.UUID) ([]byte, error) {
	var b []byte
	err := s.Pool.QueryRow(ctx, "SELECT ciphertext FROM documents WHERE facility_id = $1 AND id = $2", facility, id).Scan(&b)
	return b, translate(err)
}

// Tx runs fn in a transaction.
func (s DocumentStore) Tx(ctx context.Context, actor *backend.Actor, fn func(document.Tx) error) error {
	return s.inTx(ctx, actor, func(tx pgx.Tx) error { return fn(documentTx{tx}) })
}

type documentTx struct{ tx pgx.Tx }

func (t documentTx) LockResident(ctx context.Context, facility, id, staff uuid.UUID) (access.Target, error) {
	return residentTargetOf(ctx, t.tx, facility, id, staff, true)
}

func (t documentTx) LockDocument(ctx context.Context, facility, id, staff uuid.UUID, roles []string) (document.Document, access.Target, error) {
	return getDocument(ctx, t.tx, facility, id, staff, roles, true)
}

func (t documentTx) ByIdempotencyKey(ctx context.Context, facility, staff uuid.UUID, key string) (document.Document, error) {
	return scanDocument(t.tx.QueryRow(ctx, "SELECT "+documentColumns+documentFrom+
		` WHERE d.facility_id = $1 AND d.uploaded_by = $2 AND d.idempotency_key = $3`, facility, staff, key))
}

func (t documentTx) InsertDocument(ctx context.Context, d *document.Document, sealed []byte) error {
	return insertDocument(ctx, t.tx, d, sealed)
}

func insertDocument(ctx context.Context, q querier, d *document.Document, sealed []byte) error {
	var date, key any
	if !d.DocumentDate.IsZero() {
		date = d.DocumentDate
	}
	if d.IdempotencyKey != "" {
		key = d.IdempotencyKey
	}
	_, err := q.Exec(ctx, `INSERT INTO documents (facility_id, id, resident_id, kind, title, document_date, content_type,
			size, sha256, key_version, ciphertext, uploaded_by, uploaded_at, idempotency_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		d.FacilityID, d.ID, d.ResidentID, d.Kind, d.Title, date, d.ContentType, d.Size, d.SHA256, d.KeyVersion, sealed,
		d.UploadedBy, d.UploadedAt, key)
	return translate(err)
}

func (t documentTx) InsertVisibility(ctx context.Context, facility, doc uuid.UUID, hiddenFrom []backend.Role, reason string, by uuid.UUID) error {
	return insertVisibility(ctx, t.tx, facility, doc, hiddenFrom, reason, by)
}

func insertVisibility(ctx context.Context, q querier, facility, doc uuid.UUID, hiddenFrom []backend.Role, reason string, by uuid.UUID) error {
	roles := make([]string, len(hiddenFrom))
	for i, r := range hiddenFrom {
		roles[i] = string(r)
	}
	_, err := q.Exec(ctx, `INSERT INTO document_visibility (facility_id, id, document_id, hidden_from, reason, recorded_by)
		VALUES ($1, $2, $3, $4, $5, $6)`, facility, uuid.New(), doc, roles, reason, by)
	return translate(err)
}

func (t documentTx) InsertCorrection(ctx context.Context, facility, doc uuid.UUID, reason string, by uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO document_corrections (facility_id, id, document_id, reason, recorded_by)
		VALUES ($1, $2, $3, $4, $5)`, facility, uuid.New(), doc, reason, by)
	return translate(err)
}

func (t documentTx) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return appendAudit(ctx, t.tx, events...)
}

// loadDemoDocuments writes the demo facility's documents (fixtures.DemoDocuments),
// encrypted under the development key, in the fixtures' transaction. Only
// the demo facility (VDT) has them.
func loadDemoDocuments(ctx context.Context, tx pgx.Tx, d *fixtures.Data, fid uuid.UUID) error {
	keys := document.DevKeyring()
	for _, seed := range fixtures.DemoDocuments(d) {
		doc := document.Document{FacilityID: fid, ID: seed.ID, ResidentID: seed.ResidentID, Kind: seed.Kind, Title: seed.Title,
			DocumentDate: seed.Date, ContentType: document.Sniff(seed.Data), Size: len(seed.Data), UploadedBy: seed.UploadedBy,
			UploadedAt: seed.Date}
		sum := sha256.Sum256(seed.Data)
		doc.SHA256 = sum[:]
		sealed, v, err := keys.Seal(fid, doc.ResidentID, doc.ID, seed.Data)
		if err != nil {
			return err
		}
		doc.KeyVersion = v
		if err := insertDocument(ctx, tx, &doc, sealed); err != nil {
			return err
		}
		if len(seed.HiddenFrom) > 0 {
			roles := make([]backend.Role, len(seed.HiddenFrom))
			for i, r := range seed.HiddenFrom {
				roles[i] = backend.Role(r)
			}
			if err := insertVisibility(ctx, tx, fid, doc.ID, roles, seed.HiddenReason, seed.UploadedBy); err != nil {
				return err
			}
		}
	}
	return nil
}
