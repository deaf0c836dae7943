package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

const auditInsert = `INSERT INTO audit_events (facility_id, actor_id, actor_roles, device_id, ip, action,
	resource_type, resource_id, resident_id, resident_ids, outcome, detail, break_glass, request_id)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`

// nullUUID maps uuid.Nil to SQL NULL.
func nullUUID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id
}

// appendAudit writes events with q, which may be a transaction: a write and
// its audit commit or fail together.
func appendAudit(ctx context.Context, q querier, events ...audit.Event) error {
	if len(events) == 1 {
		_, err := q.Exec(ctx, auditInsert, auditArgs(events[0])...)
		return translate(err)
	}
	b := &pgx.Batch{}
	for _, e := range events {
		b.Queue(auditInsert, auditArgs(e)...)
	}
	return translate(q.SendBatch(ctx, b).Close())
}

func auditArgs(e audit.Event) []any {
	roles := e.ActorRoles
	if roles == nil {
		roles = []string{}
	}
	listed := e.ResidentIDs
	if listed == nil {
		listed = []uuid.UUID{}
	}
	return []any{e.FacilityID, nullUUID(e.ActorID), roles, nullUUID(e.DeviceID), e.IP, e.Action,
		e.ResourceType, e.ResourceID, nullUUID(e.ResidentID), listed, string(e.Outcome), e.Detail, e.BreakGlass, e.RequestID}
}

// AppendAudit writes events outside any other transaction: used for reads
// and for denied attempts (whose own transaction, if any, rolled back).
func (db *DB) AppendAudit(ctx context.Context, events ...audit.Event) error {
	if len(events) == 0 {
		return nil
	}
	if len(events) == 1 {
		return appendAudit(ctx, db.Pool, events...)
	}
	return db.inTx(ctx, nil, func(tx pgx.Tx) error { return appendAudit(ctx, tx, events...) })
}

const auditColumns = `e.facility_id, e.chain, e.seq, e.id, e.occurred_at, e.actor_id, e.actor_roles, e.device_id,
	e.ip, e.action, e.resource_type, e.resource_id, e.resident_id, e.resident_ids, e.outcome, e.detail, e.break_glass,
	e.request_id`

// auditDest lists scan targets for auditColumns. Nullable ids scan into
// uuid.UUID as uuid.Nil.
func auditDest(e *audit.Event) []any {
	return []any{&e.FacilityID, &e.Chain, &e.Seq, &e.ID, &e.OccurredAt, &e.ActorID, &e.ActorRoles, &e.DeviceID,
		&e.IP, &e.Action, &e.ResourceType, &e.ResourceID, &e.ResidentID, &e.ResidentIDs, &e.Outcome, &e.Detail,
		&e.BreakGlass, &e.RequestID}
}

// ListAudit lists events newest first within f.FacilityID. The query is
// built with only the conditions asked for, so each one can use its index
// (a catch-all "$n IS NULL OR ..." would defeat them under generic plans).
func (db *DB) ListAudit(ctx context.Context, f audit.Filter) ([]audit.Event, error) {
	args := []any{f.FacilityID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var where strings.Builder
	where.WriteString("e.facility_id = $1")
	if f.ResidentID != uuid.Nil {
		// A resident's events: about her, or lists that showed her.
		p := arg(f.ResidentID)
		where.WriteString(" AND (e.resident_id = " + p + " OR e.resident_ids @> ARRAY[" + p + "::uuid])")
	}
	if f.ActorID != uuid.Nil {
		where.WriteString(" AND e.actor_id = " + arg(f.ActorID))
	}
	if !f.From.IsZero() {
		where.WriteString(" AND e.occurred_at >= " + arg(f.From))
	}
	if !f.To.IsZero() {
		where.WriteString(" AND e.occurred_at < " + arg(f.To))
	}
	if !f.Before.IsZero() {
		where.WriteString(" AND (e.occurred_at, e.id) < (" + arg(f.Before.At) + ", " + arg(f.Before.ID) + "::uuid)")
	}
	rows, err := db.Pool.Query(ctx, `SELECT `+auditColumns+`, coalesce(s.given_name || ' ' || s.family_name, '')
		FROM audit_events e LEFT JOIN staff s ON s.facility_id = e.facility_id AND s.id = e.actor_id
		WHERE `+where.String()+` ORDER BY e.occurred_at DESC, e.id DESC LIMIT `+arg(f.Limit), args...)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Event, error) {
		var e audit.Event
		err := r.Scan(append(auditDest(&e), &e.ActorName)...)
		return e, err
	})
	return out, translate(err)
}

// WalkChain streams a facility's chains in (chain, seq) order with every
// hashed field, so the verifier can recompute each link itself. It reads in
// one repeatable-read snapshot, so appends made meanwhile do not look like
// breaks, and it is never retried: a retry would feed the verifier twice.
func (db *DB) WalkChain(ctx context.Context, facility uuid.UUID, fn func(audit.Link) bool) (map[int16]audit.Head, error) {
	heads := map[int16]audit.Head{}
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		hrows, err := tx.Query(ctx, "SELECT chain, last_seq, last_hash FROM audit_heads WHERE facility_id = $1", facility)
		if err != nil {
			return err
		}
		var chain int16
		var h audit.Head
		if _, err := pgx.ForEachRow(hrows, []any{&chain, &h.LastSeq, &h.LastHash}, func() error {
			heads[chain] = h
			return nil
		}); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+auditColumns+`, e.prev_hash, e.hash
			FROM audit_events e WHERE e.facility_id = $1 ORDER BY e.chain, e.seq`, facility)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l audit.Link
			if err := rows.Scan(append(auditDest(&l.Event), &l.PrevHash, &l.Hash)...); err != nil {
				return err
			}
			if !fn(l) {
				break
			}
		}
		return rows.Err()
	})
	return heads, translate(err)
}

// Facilities lists every facility with an audit chain.
func (db *DB) Facilities(ctx context.Context) ([]uuid.UUID, error) {
	// Every facility and every chain head: a facility whose heads were
	// removed is still verified (and found broken).
	rows, err := db.Pool.Query(ctx, `SELECT id FROM facilities UNION SELECT facility_id FROM audit_heads
		UNION SELECT facility_id FROM audit_events WHERE facility_id = '00000000-0000-0000-0000-000000000000' ORDER BY 1`)
	if err != nil {
		return nil, translate(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	return ids, translate(err)
}

func deref(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}

func nullTime[T interface{ IsZero() bool }](t T) any {
	if t.IsZero() {
		return nil
	}
	return t
}
