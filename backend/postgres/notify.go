package postgres

import (
	"context"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/notify"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// NotifyStore implements notify.Store and what the delivery workers need.
type NotifyStore struct{ *DB }

var _ notify.Store = NotifyStore{}

// lateDoses opens one late-dose chain per dose whose window closed without
// a record (in the last day), notifies the ward's leads and writes each
// notification's outbox row: one statement, so chain, notifications and
// outbox commit together.
const lateDoses = `WITH late AS (
		SELECT d.id AS dose_id, d.resident_id, r.ward_id
		FROM doses d
		JOIN residents r ON r.facility_id = d.facility_id AND r.id = d.resident_id AND r.status = 'admitted'
		WHERE d.facility_id = $1 AND d.status = 'scheduled'
		  AND d.due_at <= $2 AND d.due_at > $2 - interval '28 hours'
		  AND d.due_at + make_interval(mins => d.window_min) <= $2
		  AND d.due_at + make_interval(mins => d.window_min) > $2 - interval '24 hours'
		  AND NOT EXISTS (SELECT 1 FROM administrations a WHERE a.facility_id = d.facility_id AND a.dose_id = d.id
		      AND NOT EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id))
		  AND NOT EXISTS (SELECT 1 FROM alerts x WHERE x.facility_id = d.facility_id AND x.kind = 'dose_late' AND x.subject = d.id)),
	ins AS (
		INSERT INTO alerts (facility_id, id, kind, ward_id, resident_id, dose_id, subject, escalate_at, created_at)
		SELECT $1, gen_random_uuid(), 'dose_late', ward_id, resident_id, dose_id, dose_id, $2 + make_interval(mins => $3), $2
		FROM late ON CONFLICT DO NOTHING RETURNING id, ward_id),
	notes AS (
		INSERT INTO notifications (facility_id, id, alert_id, staff_id, kind, created_at)
		SELECT $1, gen_random_uuid(), ins.id, s.id, 'dose_late', $2 FROM ins
		JOIN ward_assignments w ON w.facility_id = $1 AND w.ward_id = ins.ward_id
		JOIN staff s ON s.facility_id = $1 AND s.id = w.staff_id AND s.active
		JOIN staff_roles sr ON sr.facility_id = $1 AND sr.staff_id = s.id AND sr.role = 'ward_lead'
		ON CONFLICT DO NOTHING RETURNING id),
	queued AS (INSERT INTO outbox (facility_id, notification_id) SELECT $1, id FROM notes RETURNING 1)
	SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM queued)`

// dosesDue reminds the nurses on duty on a ward (signed in now) of a dose
// whose time has come when no open round of the ward covers it: once per
// dose, until its window closes (then the late-dose alert takes over).
const dosesDue = `WITH due AS (
		SELECT d.id AS dose_id, d.resident_id, r.ward_id
		FROM doses d
		JOIN residents r ON r.facility_id = d.facility_id AND r.id = d.resident_id AND r.status = 'admitted'
		WHERE d.facility_id = $1 AND d.status = 'scheduled'
		  AND d.due_at <= $2 AND d.due_at + make_interval(mins => d.window_min) > $2
		  AND NOT EXISTS (SELECT 1 FROM administrations a WHERE a.facility_id = d.facility_id AND a.dose_id = d.id
		      AND NOT EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id))
		  AND NOT EXISTS (SELECT 1 FROM round_doses rd JOIN rounds ro ON ro.facility_id = rd.facility_id AND ro.id = rd.round_id
		      WHERE rd.facility_id = d.facility_id AND rd.dose_id = d.id AND ro.state IN ('active', 'paused'))
		  AND NOT EXISTS (SELECT 1 FROM alerts x WHERE x.facility_id = d.facility_id AND x.kind = 'dose_due' AND x.subject = d.id)),
	ins AS (
		INSERT INTO alerts (facility_id, id, kind, ward_id, resident_id, dose_id, subject, created_at)
		SELECT $1, gen_random_uuid(), 'dose_due', ward_id, resident_id, dose_id, dose_id, $2 FROM due
		ON CONFLICT DO NOTHING RETURNING id, ward_id),
	notes AS (
		INSERT INTO notifications (facility_id, id, alert_id, staff_id, kind, created_at)
		SELECT DISTINCT ON (ins.id, s.id) $1::uuid, gen_random_uuid(), ins.id, s.id, 'dose_due', $2::timestamptz FROM ins
		JOIN ward_assignments w ON w.facility_id = $1 AND w.ward_id = ins.ward_id
		JOIN staff s ON s.facility_id = $1 AND s.id = w.staff_id AND s.active
		JOIN staff_roles sr ON sr.facility_id = $1 AND sr.staff_id = s.id AND sr.role = 'nurse'
		JOIN auth_sessions se ON se.facility_id = $1 AND se.staff_id = s.id AND se.revoked_at IS NULL AND se.expires_at > $2
		ON CONFLICT DO NOTHING RETURNING id),
	queued AS (INSERT INTO outbox (facility_id, notification_id) SELECT $1, id FROM notes RETURNING 1)
	SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM queued)`

// prnChecksDue reminds the nurse who gave a PRN dose that its
// effectiveness check is due, once per dose.
const prnChecksDue = `WITH due AS (
		SELECT a.id AS act_id, a.resident_id, r.ward_id, a.recorded_by
		FROM administrations a
		JOIN prescriptions p ON p.facility_id = a.facility_id AND p.id = a.prescription_id
		JOIN residents r ON r.facility_id = a.facility_id AND r.id = a.resident_id AND r.status = 'admitted'
		WHERE a.facility_id = $1 AND a.dose_id IS NULL AND a.outcome IN ('given', 'partial')
		  AND p.prn_check_after_min IS NOT NULL
		  AND a.administered_at > $2::timestamptz - interval '24 hours'
		  AND a.administered_at + make_interval(mins => p.prn_check_after_min) <= $2
		  AND NOT EXISTS (SELECT 1 FROM prn_checks k WHERE k.facility_id = a.facility_id AND k.administration_id = a.id)
		  AND NOT EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id)
		  AND NOT EXISTS (SELECT 1 FROM alerts x WHERE x.facility_id = a.facility_id AND x.kind = 'prn_check_due' AND x.subject = a.id)),
	ins AS (
		INSERT INTO alerts (facility_id, id, kind, ward_id, resident_id, administration_id, subject, created_at)
		SELECT $1, gen_random_uuid(), 'prn_check_due', ward_id, resident_id, act_id, act_id, $2 FROM due
		ON CONFLICT DO NOTHING RETURNING id, administration_id),
	notes AS (
		INSERT INTO notifications (facility_id, id, alert_id, staff_id, kind, created_at)
		SELECT $1, gen_random_uuid(), ins.id, due.recorded_by, 'prn_check_due', $2
		FROM ins JOIN due ON due.act_id = ins.administration_id
		JOIN staff s ON s.facility_id = $1 AND s.id = due.recorded_by AND s.active
		ON CONFLICT DO NOTHING RETURNING id),
	queued AS (INSERT INTO outbox (facility_id, notification_id) SELECT $1, id FROM notes RETURNING 1)
	SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM queued)`

// resolveAlerts closes chains whose dose was recorded or cancelled:
// escalation stops. An acknowledged chain keeps showing as acknowledged.
const resolveAlerts = `UPDATE alerts x SET resolved_at = $2, state = CASE WHEN x.state = 'open' THEN 'resolved' ELSE x.state END
	WHERE x.facility_id = $1 AND x.resolved_at IS NULL AND x.dose_id IS NOT NULL
	  AND (EXISTS (SELECT 1 FROM administrations a WHERE a.facility_id = x.facility_id AND a.dose_id = x.dose_id
	          AND NOT EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id))
	       OR EXISTS (SELECT 1 FROM doses d WHERE d.facility_id = x.facility_id AND d.id = x.dose_id AND d.status = 'cancelled'))`

// resolveReminders closes due-dose reminders once the dose's window has
// closed (the late-dose alert takes over) or an open round covers it.
const resolveReminders = `UPDATE alerts x SET resolved_at = $2, state = CASE WHEN x.state = 'open' THEN 'resolved' ELSE x.state END
	WHERE x.facility_id = $1 AND x.resolved_at IS NULL AND x.kind = 'dose_due'
	  AND (EXISTS (SELECT 1 FROM doses d WHERE d.facility_id = x.facility_id AND d.id = x.dose_id
	          AND d.due_at + make_interval(mins => d.window_min) <= $2)
	       OR EXISTS (SELECT 1 FROM round_doses rd JOIN rounds ro ON ro.facility_id = rd.facility_id AND ro.id = rd.round_id
	          WHERE rd.facility_id = x.facility_id AND rd.dose_id = x.dose_id AND ro.state IN ('active', 'paused')))`

// resolveChecks closes effectiveness-check reminders once the check is
// recorded or the dose entered in error.
const resolveChecks = `UPDATE alerts x SET resolved_at = $2, state = CASE WHEN x.state = 'open' THEN 'resolved' ELSE x.state END
	WHERE x.facility_id = $1 AND x.resolved_at IS NULL AND x.kind = 'prn_check_due'
	  AND (EXISTS (SELECT 1 FROM prn_checks k WHERE k.facility_id = x.facility_id AND k.administration_id = x.administration_id)
	       OR EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = x.facility_id AND c.administration_id = x.administration_id))`

// escalate notifies the physicians of the ward (the facility's directors
// when the ward has none) of chains nobody acknowledged in time, once.
const escalate = `WITH due AS (
		UPDATE alerts SET escalated_at = $2
		WHERE facility_id = $1 AND state = 'open' AND escalated_at IS NULL AND escalate_at <= $2
		RETURNING id, ward_id),
	physicians AS (
		SELECT due.id AS alert_id, s.id AS staff_id FROM due
		JOIN ward_assignments w ON w.facility_id = $1 AND w.ward_id = due.ward_id
		JOIN staff s ON s.facility_id = $1 AND s.id = w.staff_id AND s.active
		JOIN staff_roles sr ON sr.facility_id = $1 AND sr.staff_id = s.id AND sr.role = 'physician'),
	recipients AS (
		SELECT alert_id, staff_id FROM physicians
		UNION
		SELECT due.id, s.id FROM due
		JOIN staff s ON s.facility_id = $1 AND s.active
		JOIN staff_roles sr ON sr.facility_id = $1 AND sr.staff_id = s.id AND sr.role = 'director'
		WHERE NOT EXISTS (SELECT 1 FROM physicians p WHERE p.alert_id = due.id)),
	notes AS (
		INSERT INTO notifications (facility_id, id, alert_id, staff_id, kind, created_at)
		SELECT $1, gen_random_uuid(), alert_id, staff_id, 'escalation', $2 FROM recipients
		ON CONFLICT DO NOTHING RETURNING id),
	queued AS (INSERT INTO outbox (facility_id, notification_id) SELECT $1, id FROM notes RETURNING 1)
	SELECT (SELECT count(*) FROM due), (SELECT count(*) FROM queued)`

// Detect runs one detector pass over every facility. Each facility is done
// in its own transaction under an advisory lock, so several worker
// processes can run the detector at once: one does a facility's pass, the
// others skip it; the unique (kind, subject) of a chain is the backstop.
func (s NotifyStore) Detect(ctx context.Context, now time.Time) (notify.DetectResult, error) {
	var res notify.DetectResult
	rows, err := s.Pool.Query(ctx, "SELECT id FROM facilities ORDER BY id")
	if err != nil {
		return res, translate(err)
	}
	facilities, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return res, translate(err)
	}
	for _, f := range facilities {
		err := s.inTx(ctx, nil, func(tx pgx.Tx) error {
			var got bool
			if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock(hashtextextended('detector:' || $1::text, 0))", f).Scan(&got); err != nil || !got {
				return err
			}
			esc := 30
			if err := tx.QueryRow(ctx, "SELECT coalesce((SELECT escalate_after_min FROM therapy_settings WHERE facility_id = $1), 30)", f).Scan(&esc); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, resolveAlerts, f, now)
			if err != nil {
				return err
			}
			res.Resolved += int(tag.RowsAffected())
			if tag, err = tx.Exec(ctx, resolveChecks, f, now); err != nil {
				return err
			}
			res.Resolved += int(tag.RowsAffected())
			if tag, err = tx.Exec(ctx, resolveReminders, f, now); err != nil {
				return err
			}
			res.Resolved += int(tag.RowsAffected())
			var alerts, notes int
			if err := tx.QueryRow(ctx, dosesDue, f, now).Scan(&alerts, &notes); err != nil {
				return err
			}
			res.Alerts, res.Notifications = res.Alerts+alerts, res.Notifications+notes
			if err := tx.QueryRow(ctx, prnChecksDue, f, now).Scan(&alerts, &notes); err != nil {
				return err
			}
			res.Alerts, res.Notifications = res.Alerts+alerts, res.Notifications+notes
			if err := tx.QueryRow(ctx, lateDoses, f, now, esc).Scan(&alerts, &notes); err != nil {
				return err
			}
			res.Alerts, res.Notifications = res.Alerts+alerts, res.Notifications+notes
			if err := tx.QueryRow(ctx, escalate, f, now).Scan(&alerts, &notes); err != nil {
				return err
			}
			res.Escalations, res.Notifications = res.Escalations+alerts, res.Notifications+notes
			return nil
		})
		if err != nil {
			return res, translate(err)
		}
	}
	return res, nil
}

const notificationSelect = `SELECT n.id, n.alert_id, n.kind, a.kind,
		CASE WHEN a.acknowledged_at IS NOT NULL THEN 'acknowledged' WHEN a.state = 'resolved' THEN 'resolved' ELSE 'open' END,
		a.resident_id, a.dose_id, a.ward_id, coalesce(b.code, ''), r.given_name, r.family_name, d.due_at, n.created_at,
		a.acknowledged_at, a.acknowledged_by, a.resolved_at, n.staff_id
	FROM notifications n
	JOIN alerts a ON a.facility_id = n.facility_id AND a.id = n.alert_id
	JOIN residents r ON r.facility_id = a.facility_id AND r.id = a.resident_id
	LEFT JOIN beds b ON b.facility_id = r.facility_id AND b.id = r.bed_id
	LEFT JOIN doses d ON d.facility_id = a.facility_id AND d.id = a.dose_id`

func scanNotification(row pgx.CollectableRow) (notify.Notification, error) {
	var n notify.Notification
	err := row.Scan(&n.ID, &n.AlertID, &n.Kind, &n.AlertKind, &n.State, &n.ResidentID, &n.DoseID, &n.WardID, &n.Bed,
		&n.GivenName, &n.FamilyName, &n.DueAt, &n.CreatedAt, &n.AcknowledgedAt, &n.AcknowledgedBy, &n.ResolvedAt, &n.Recipient)
	return n, err
}

// List returns a staff member's notifications, newest first, and audits the
// read naming the residents shown.
func (s NotifyStore) List(ctx context.Context, facility, staff uuid.UUID, limit int) ([]notify.Notification, error) {
	rows, err := s.Pool.Query(ctx, notificationSelect+` WHERE n.facility_id = $1 AND n.staff_id = $2
		ORDER BY n.created_at DESC, n.id LIMIT $3`, facility, staff, limit)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, scanNotification)
	return out, translate(err)
}

// Notification reads one notification.
func (s NotifyStore) Notification(ctx context.Context, facility, id uuid.UUID) (notify.Notification, error) {
	rows, err := s.Pool.Query(ctx, notificationSelect+` WHERE n.facility_id = $1 AND n.id = $2`, facility, id)
	if err != nil {
		return notify.Notification{}, translate(err)
	}
	n, err := pgx.CollectExactlyOneRow(rows, scanNotification)
	return n, translate(err)
}

// Acknowledge acknowledges the chain of one of staff's notifications.
func (s NotifyStore) Acknowledge(ctx context.Context, facility, staff, id uuid.UUID, now time.Time, ev audit.Event) (notify.Notification, error) {
	err := s.inTx(ctx, nil, func(tx pgx.Tx) error {
		var resident uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE alerts a SET state = CASE WHEN a.state = 'open' THEN 'acknowledged' ELSE a.state END,
				acknowledged_at = coalesce(a.acknowledged_at, $4), acknowledged_by = coalesce(a.acknowledged_by, $2)
			FROM notifications n
			WHERE n.facility_id = $1 AND n.id = $3 AND n.staff_id = $2 AND a.facility_id = n.facility_id AND a.id = n.alert_id
			RETURNING a.resident_id`, facility, staff, id, now).Scan(&resident)
		if err != nil {
			return translate(err)
		}
		ev.ResidentID = resident
		return appendAudit(ctx, tx, ev)
	})
	if err != nil {
		return notify.Notification{}, err
	}
	return s.Notification(ctx, facility, id)
}

// Register stores a push registration; a token already registered by
// another sign-in is taken over.
func (s NotifyStore) Register(ctx context.Context, facility uuid.UUID, r *notify.Registration) error {
	return s.inTx(ctx, nil, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE push_registrations SET removed_at = now(), removed_reason = 'taken over'
			WHERE token = $1 AND removed_at IS NULL`, r.Token); err != nil {
			return translate(err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO push_registrations (facility_id, id, staff_id, session_id, device_id, token, platform,
				app_version, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			facility, r.ID, r.StaffID, r.SessionID, nullUUID(r.DeviceID), r.Token, r.Platform, r.AppVersion, r.CreatedAt)
		return translate(err)
	})
}

// Unregister removes one of staff's registrations.
func (s NotifyStore) Unregister(ctx context.Context, facility, staff, id uuid.UUID) error {
	tag, err := s.Pool.Exec(ctx, `UPDATE push_registrations SET removed_at = now(), removed_reason = 'unregistered'
		WHERE facility_id = $1 AND staff_id = $2 AND id = $3 AND removed_at IS NULL`, facility, staff, id)
	if err == nil && tag.RowsAffected() == 0 {
		return backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	return translate(err)
}

// PublishOutbox hands up to limit unpublished rows, oldest first, to
// publish and marks them published when it returns nil, in one transaction.
// Rows are claimed with SKIP LOCKED: two relays never take the same ones.
func (db *DB) PublishOutbox(ctx context.Context, limit int, publish func(ctx context.Context, rows []notify.OutboxRow) error) (int, error) {
	n := 0
	err := db.inTx(ctx, nil, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, facility_id, notification_id, created_at FROM outbox
			WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return translate(err)
		}
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (notify.OutboxRow, error) {
			var o notify.OutboxRow
			err := r.Scan(&o.ID, &o.FacilityID, &o.NotificationID, &o.CreatedAt)
			return o, err
		})
		if err != nil || len(batch) == 0 {
			return translate(err)
		}
		if err := publish(ctx, batch); err != nil {
			return err
		}
		ids := make([]int64, len(batch))
		for i, o := range batch {
			ids[i] = o.ID
		}
		if _, err := tx.Exec(ctx, "UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1)", ids); err != nil {
			return translate(err)
		}
		n = len(batch)
		return nil
	})
	return n, err
}

// RepublishLost queues again, as new outbox rows, the notifications whose
// last publication is older than olderThan and that some live device of the
// recipient still lacks: no delivery accepted or pruned, and none being
// sent under a live lease. Redis may have lost the entry (it keeps nothing
// on disk here), or the retry it held. A new row, not the old one marked
// unpublished: consumers skip an outbox id they have handled before.
// Deliveries are claimed per device, so a notification merely slow is not
// sent twice. A resolved chain's notifications are not put back: what they
// announced is over (the dose recorded, the incident entered in error).
func (db *DB) RepublishLost(ctx context.Context, olderThan time.Duration) (int, error) {
	tag, err := db.Pool.Exec(ctx, `INSERT INTO outbox (facility_id, notification_id)
		SELECT n.facility_id, n.id FROM notifications n
		WHERE n.created_at > now() - interval '1 day'
		  AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.facility_id = n.facility_id AND a.id = n.alert_id AND a.resolved_at IS NOT NULL)
		  AND EXISTS (SELECT 1 FROM outbox o WHERE o.facility_id = n.facility_id AND o.notification_id = n.id)
		  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.facility_id = n.facility_id AND o.notification_id = n.id
		      AND (o.published_at IS NULL OR o.published_at > now() - $1::interval))
		  AND EXISTS (SELECT 1 FROM push_registrations r
		      JOIN auth_sessions se ON se.id = r.session_id AND se.revoked_at IS NULL AND se.expires_at > now()
		      WHERE r.facility_id = n.facility_id AND r.staff_id = n.staff_id AND r.removed_at IS NULL
		        AND NOT EXISTS (SELECT 1 FROM push_deliveries p WHERE p.facility_id = n.facility_id AND p.notification_id = n.id
		            AND p.registration_id = r.id
		            AND (p.state IN ('accepted', 'pruned') OR (p.state = 'sending' AND p.lease_until > now()))))`,
		olderThan.String())
	return int(tag.RowsAffected()), translate(err)
}

// PushTargets reads a notification and its recipient's live registrations:
// not removed, the sign-in neither ended nor expired, the staff member
// active, the device (if any) not revoked.
func (s NotifyStore) PushTargets(ctx context.Context, facility, notification uuid.UUID) (notify.Notification, []notify.PushTarget, error) {
	n, err := s.Notification(ctx, facility, notification)
	if err != nil {
		return n, nil, err
	}
	notify.Compose(&n)
	rows, err := s.Pool.Query(ctx, `SELECT p.id, p.token FROM push_registrations p
		JOIN auth_sessions se ON se.id = p.session_id AND se.revoked_at IS NULL AND se.expires_at > now()
		JOIN staff s ON s.facility_id = p.facility_id AND s.id = p.staff_id AND s.active
		LEFT JOIN devices d ON d.facility_id = p.facility_id AND d.id = p.device_id
		WHERE p.facility_id = $1 AND p.staff_id = $2 AND p.removed_at IS NULL AND d.revoked_at IS NULL
		ORDER BY p.created_at`, facility, n.Recipient)
	if err != nil {
		return n, nil, translate(err)
	}
	targets, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (notify.PushTarget, error) {
		var t notify.PushTarget
		err := r.Scan(&t.RegistrationID, &t.Token)
		return t, err
	})
	return n, targets, translate(err)
}

// ClaimDelivery takes the delivery of a notification to a registration
// before it is sent. It answers notify.ClaimSend when this worker should
// send it now (first time, a previous failure, or a sender that died and
// whose lease ran out), notify.ClaimDone when it was accepted or pruned,
// and notify.ClaimHeld when another sender holds a live lease on it (it may
// have died mid-send: try again after the lease).
func (s NotifyStore) ClaimDelivery(ctx context.Context, facility, notification, registration uuid.UUID, lease time.Duration) (string, error) {
	var ok bool
	err := s.Pool.QueryRow(ctx, `INSERT INTO push_deliveries (facility_id, notification_id, registration_id, lease_until)
		VALUES ($1, $2, $3, now() + $4::interval)
		ON CONFLICT (facility_id, notification_id, registration_id) DO UPDATE
		SET state = 'sending', attempts = push_deliveries.attempts + 1, lease_until = excluded.lease_until
		WHERE push_deliveries.state = 'failed' OR (push_deliveries.state = 'sending' AND push_deliveries.lease_until < now())
		RETURNING true`, facility, notification, registration, lease.String()).Scan(&ok)
	if err == nil {
		return notify.ClaimSend, nil
	}
	if err != pgx.ErrNoRows {
		return "", translate(err)
	}
	var state string
	if err := s.Pool.QueryRow(ctx, `SELECT state FROM push_deliveries WHERE facility_id = $1 AND notification_id = $2
		AND registration_id = $3`, facility, notification, registration).Scan(&state); err != nil {
		return "", translate(err)
	}
	if state == notify.DeliveryAccepted || state == notify.DeliveryPruned {
		return notify.ClaimDone, nil
	}
	return notify.ClaimHeld, nil
}

// FinishDelivery records what became of a send: accepted (with FCM's
// message id), failed (to retry) or pruned (the token is dead; the
// registration is removed).
func (s NotifyStore) FinishDelivery(ctx context.Context, facility, notification, registration uuid.UUID, state, messageID, errText string) error {
	return s.inTx(ctx, nil, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE push_deliveries SET state = $4, message_id = $5, error = $6,
				accepted_at = CASE WHEN $4 = 'accepted' THEN now() END
			WHERE facility_id = $1 AND notification_id = $2 AND registration_id = $3`,
			facility, notification, registration, state, messageID, errText); err != nil {
			return translate(err)
		}
		if state == "pruned" {
			_, err := tx.Exec(ctx, `UPDATE push_registrations SET removed_at = now(), removed_reason = 'rejected by FCM'
				WHERE facility_id = $1 AND id = $2 AND removed_at IS NULL`, facility, registration)
			return translate(err)
		}
		return nil
	})
}
