package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/incident"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/corsia-cce/corsia/backend/vitals"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// IncidentStore implements incident.Store.
type IncidentStore struct{ *DB }

var _ incident.Store = IncidentStore{}

// Resident reads what incidents need to decide access on a resident.
func (s IncidentStore) Resident(ctx context.Context, facility, id, staff uuid.UUID) (incident.ResidentFacts, error) {
	return VitalsStore(s).Resident(ctx, facility, id, staff)
}

const incidentColumns = `i.id, i.resident_id, i.kind, i.occurred_at, i.follow_up_of, i.details, i.notes, i.recorded_by,
	i.recorded_at, c.id, c.reason, c.recorded_by, c.recorded_at`

const incidentFrom = ` FROM incidents i
	LEFT JOIN incident_corrections c ON c.facility_id = i.facility_id AND c.incident_id = i.id`

func scanIncident(row pgx.CollectableRow) (incident.Incident, error) {
	var in incident.Incident
	var details []byte
	var cid, cby *uuid.UUID
	var creason *string
	var cat *time.Time
	if err := row.Scan(&in.ID, &in.ResidentID, &in.Kind, &in.OccurredAt, &in.FollowUpOf, &details, &in.Notes, &in.RecordedBy,
		&in.RecordedAt, &cid, &creason, &cby, &cat); err != nil {
		return in, err
	}
	in.OccurredAt, in.RecordedAt = in.OccurredAt.UTC(), in.RecordedAt.UTC()
	var err error
	switch in.Kind {
	case incident.Fall:
		err = json.Unmarshal(details, &in.Fall)
	case incident.PressureInjury:
		err = json.Unmarshal(details, &in.PressureInjury)
	default:
		err = json.Unmarshal(details, &in.Other)
	}
	if err != nil {
		return in, fmt.Errorf("incident details: %w", err)
	}
	if cid != nil {
		in.EnteredInError = &incident.Correction{ID: *cid, Reason: *creason, RecordedBy: deref(cby), RecordedAt: cat.UTC()}
	}
	return in, nil
}

func incidentDetails(in *incident.Incident) ([]byte, error) {
	switch in.Kind {
	case incident.Fall:
		return json.Marshal(in.Fall)
	case incident.PressureInjury:
		return json.Marshal(in.PressureInjury)
	}
	return json.Marshal(in.Other)
}

// List lists a resident's incidents, newest first.
func (s IncidentStore) List(ctx context.Context, facility, resident uuid.UUID) ([]incident.Incident, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+incidentColumns+incidentFrom+`
		WHERE i.facility_id = $1 AND i.resident_id = $2 ORDER BY i.occurred_at DESC, i.id LIMIT 1000`, facility, resident)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, scanIncident)
	return out, translate(err)
}

// WardList lists the incidents of the ward's current residents in [from, to).
func (s IncidentStore) WardList(ctx context.Context, facility, ward uuid.UUID, from, to time.Time) ([]incident.Incident, bool, error) {
	if exists, err := wardExists(ctx, s.Pool, facility, ward); err != nil || !exists {
		return nil, false, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+incidentColumns+incidentFrom+`
		JOIN residents r ON r.facility_id = i.facility_id AND r.id = i.resident_id
		WHERE i.facility_id = $1 AND r.ward_id = $2 AND r.status IN ('admitted', 'hospitalised')
		  AND i.occurred_at >= $3 AND i.occurred_at < $4
		ORDER BY i.occurred_at DESC, i.id LIMIT 2000`, facility, ward, from, to)
	if err != nil {
		return nil, true, translate(err)
	}
	out, err := pgx.CollectRows(rows, scanIncident)
	return out, true, translate(err)
}

// Tx runs fn in one transaction.
func (s IncidentStore) Tx(ctx context.Context, actor *backend.Actor, fn func(incident.Tx) error) error {
	return s.inTx(ctx, actor, func(tx pgx.Tx) error { return fn(incidentTx{tx}) })
}

type incidentTx struct{ tx pgx.Tx }

func (t incidentTx) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return appendAudit(ctx, t.tx, events...)
}

// LockKey shares the therapy record's idempotency keys (and their advisory
// lock): one key, one act, whatever the route.
func (t incidentTx) LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*incident.StoredResponse, error) {
	r, err := therapyTx(t).LockKey(ctx, facility, staff, key)
	if r == nil || err != nil {
		return nil, err
	}
	return &incident.StoredResponse{Operation: r.Operation, Hash: r.Hash, Body: r.Body}, nil
}

func (t incidentTx) SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r incident.StoredResponse) error {
	return vitalsTx(t).SaveResponse(ctx, facility, staff, key, vitals.StoredResponse(r))
}

func (t incidentTx) Incident(ctx context.Context, facility, id uuid.UUID) (incident.Incident, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+incidentColumns+incidentFrom+`
		WHERE i.facility_id = $1 AND i.id = $2 FOR UPDATE OF i`, facility, id)
	if err != nil {
		return incident.Incident{}, translate(err)
	}
	in, err := pgx.CollectExactlyOneRow(rows, scanIncident)
	if err == pgx.ErrNoRows {
		return in, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	return in, translate(err)
}

func (t incidentTx) Insert(ctx context.Context, facility uuid.UUID, in *incident.Incident, device uuid.UUID) error {
	b := &pgx.Batch{}
	if err := queueIncident(b, facility, in, device); err != nil {
		return err
	}
	return translate(t.tx.SendBatch(ctx, b).Close())
}

func queueIncident(b *pgx.Batch, facility uuid.UUID, in *incident.Incident, device uuid.UUID) error {
	details, err := incidentDetails(in)
	if err != nil {
		return backend.Internal(err, "marshal incident details")
	}
	b.Queue(`INSERT INTO incidents (facility_id, id, resident_id, kind, occurred_at, follow_up_of, details, notes, recorded_by,
			recorded_at, device_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, facility, in.ID, in.ResidentID, string(in.Kind), in.OccurredAt,
		in.FollowUpOf, details, in.Notes, in.RecordedBy, in.RecordedAt, nullUUID(device))
	return nil
}

func (t incidentTx) InsertCorrection(ctx context.Context, facility, id uuid.UUID, c *incident.Correction) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO incident_corrections (facility_id, id, incident_id, reason, recorded_by, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, facility, c.ID, id, c.Reason, c.RecordedBy, c.RecordedAt)
	return translate(err)
}

// NotifyLeads opens the incident's alert chain and notifies the ward's
// leads, with the outbox rows, in this transaction.
func (t incidentTx) NotifyLeads(ctx context.Context, facility, ward, resident, id uuid.UUID) error {
	return therapyTx(t).RaiseAlert(ctx, facility, therapy.Alert{Kind: "incident", WardID: ward, ResidentID: resident, Subject: id},
		"ward_lead")
}

// ResolveAlert closes the incident's chain the way the detector closes a
// recorded dose's (resolveAlerts): resolved_at set, an open chain becomes
// resolved, an acknowledged one keeps showing as acknowledged. Escalation
// only takes open chains; RepublishLost skips resolved ones. The chains
// of its follow-ups (at any depth) are resolved too: what they follow up
// was entered in error.
func (t incidentTx) ResolveAlert(ctx context.Context, facility, id uuid.UUID, at time.Time) error {
	_, err := t.tx.Exec(ctx, `WITH RECURSIVE chain (id) AS (
			SELECT $2::uuid
			UNION
			SELECT i.id FROM incidents i JOIN chain c ON i.follow_up_of = c.id WHERE i.facility_id = $1)
		UPDATE alerts SET resolved_at = $3, state = CASE WHEN state = 'open' THEN 'resolved' ELSE state END
		WHERE facility_id = $1 AND kind = 'incident' AND subject IN (SELECT id FROM chain) AND resolved_at IS NULL`, facility, id, at)
	return translate(err)
}

// loadIncidents writes the demo's incidents (fixtures.DemoIncidents), each
// validated as the service would. Fixture data, loaded without audit
// events or notifications of its own.
func loadIncidents(ctx context.Context, tx pgx.Tx, d *fixtures.Data, fid uuid.UUID) error {
	seeds := d.DemoIncidents(time.Now())
	if len(seeds) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, sd := range seeds {
		rid := d.ID("resident", sd.Resident.Ward+"/"+sd.Resident.Bed+"/"+sd.Resident.FiscalCode)
		req := sd.Request
		at := req.OccurredAt.UTC().Truncate(time.Microsecond)
		if err := req.Validate(at); err != nil {
			return fmt.Errorf("demo incident %s: %w", sd.Key, err)
		}
		in := incident.Incident{ID: d.ID("incident", sd.Key), ResidentID: rid, Kind: req.Kind, OccurredAt: req.OccurredAt,
			Fall: req.Fall, PressureInjury: req.PressureInjury, Other: req.Other, Notes: req.Notes,
			RecordedBy: d.ID("staff", sd.RecordedBy), RecordedAt: at.Add(20 * time.Minute)}
		if sd.FollowUpOf != "" {
			prev := d.ID("incident", sd.FollowUpOf)
			in.FollowUpOf = &prev
		}
		if err := queueIncident(b, fid, &in, uuid.Nil); err != nil {
			return err
		}
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("demo incidents: %w", err)
	}
	return nil
}
