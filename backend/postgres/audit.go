package postgres

import (
	"context"

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

// ListAudit lists events newest first within f.FacilityID.
func (db *DB) ListAudit(ctx context.Context, f audit.Filter) ([]audit.Event, error) {
	rows, err := db.Pool.Query(ctx, `SELECT e.facility_id, e.chain, e.seq, e.id, e.occurred_at, e.actor_id, e.actor_roles,
			e.device_id, e.ip, e.action, e.resource_type, e.resource_id, e.resident_id, e.resident_ids, e.outcome,
			e.detail, e.break_glass, e.request_id, coalesce(s.given_name || ' ' || s.family_name, '')
		FROM audit_events e LEFT JOIN staff s ON s.facility_id = e.facility_id AND s.id = e.actor_id
		WHERE e.facility_id = $1
		  AND ($2::uuid IS NULL OR e.resident_id = $2 OR e.resident_ids @> ARRAY[$2::uuid])
		  AND ($3::uuid IS NULL OR e.actor_id = $3)
		  AND ($4::timestamptz IS NULL OR e.occurred_at >= $4)
		  AND ($5::timestamptz IS NULL OR e.occurred_at < $5)
		  AND ($6::timestamptz IS NULL OR (e.occurred_at, e.id) < ($6, $7::uuid))
		ORDER BY e.occurred_at DESC, e.id DESC LIMIT $8`,
		f.FacilityID, nullUUID(f.ResidentID), nullUUID(f.ActorID), nullTime(f.From), nullTime(f.To),
		nullTime(f.Before.At), f.Before.ID, f.Limit)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Event, error) {
		var e audit.Event
		var actor, device, resident *uuid.UUID
		var outcome string
		err := r.Scan(&e.FacilityID, &e.Chain, &e.Seq, &e.ID, &e.OccurredAt, &actor, &e.ActorRoles, &device, &e.IP,
			&e.Action, &e.ResourceType, &e.ResourceID, &resident, &e.ResidentIDs, &outcome, &e.Detail, &e.BreakGlass,
			&e.RequestID, &e.ActorName)
		e.ActorID, e.DeviceID, e.ResidentID, e.Outcome = deref(actor), deref(device), deref(resident), audit.Outcome(outcome)
		return e, err
	})
	return out, translate(err)
}

// WalkChain streams a facility's chain in order with each event's hash
// recomputed by the same SQL function that wrote it.
func (db *DB) WalkChain(ctx context.Context, facility uuid.UUID, fn func(audit.Link) bool) (map[int16]audit.Head, error) {
	heads := map[int16]audit.Head{}
	err := db.inTx(ctx, nil, func(tx pgx.Tx) error {
		// A repeatable-read snapshot: the head and the rows are read as of
		// one instant, so concurrent appends do not look like breaks.
		if _, err := tx.Exec(ctx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
			return err
		}
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
		rows, err := tx.Query(ctx, `SELECT chain, seq, id, prev_hash, hash, audit_event_hash(e)
			FROM audit_events e WHERE facility_id = $1 ORDER BY chain, seq`, facility)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l audit.Link
			if err := rows.Scan(&l.Chain, &l.Seq, &l.ID, &l.PrevHash, &l.Hash, &l.Recomputed); err != nil {
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
	rows, err := db.Pool.Query(ctx, "SELECT DISTINCT facility_id FROM audit_heads ORDER BY facility_id")
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
