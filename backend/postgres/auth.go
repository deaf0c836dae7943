package postgres

import (
	"context"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/auth"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// AuthStore implements auth.Store.
type AuthStore struct{ *DB }

var _ auth.Store = AuthStore{}

const accountSelect = `SELECT id, facility_id, username, coalesce(password_hash, ''), coalesce(pin_hash, ''), active FROM staff`

func scanAccount(row pgx.Row) (auth.Account, error) {
	var a auth.Account
	err := row.Scan(&a.StaffID, &a.FacilityID, &a.Username, &a.PasswordHash, &a.PINHash, &a.Active)
	return a, translate(err)
}

func (s AuthStore) AccountByUsername(ctx context.Context, username string) (auth.Account, error) {
	return scanAccount(s.Pool.QueryRow(ctx, accountSelect+" WHERE username = $1", username))
}

func (s AuthStore) AccountByBadge(ctx context.Context, facility uuid.UUID, badge string) (auth.Account, error) {
	return scanAccount(s.Pool.QueryRow(ctx, accountSelect+" WHERE facility_id = $1 AND badge_code = $2", facility, badge))
}

func (s AuthStore) Device(ctx context.Context, id uuid.UUID) (auth.Device, error) {
	var d auth.Device
	var ward *uuid.UUID
	err := s.Pool.QueryRow(ctx, `SELECT id, facility_id, ward_id, secret_hash, revoked_at IS NOT NULL FROM devices WHERE id = $1`, id).
		Scan(&d.ID, &d.FacilityID, &ward, &d.SecretHash, &d.Revoked)
	d.WardID = deref(ward)
	return d, translate(err)
}

// Reserve counts an attempt on key under a row lock, so concurrent attempts
// on the same key are counted one after the other and each sees the lock
// the previous one set.
func (s AuthStore) Reserve(ctx context.Context, key string, window time.Duration, lock func(int) time.Duration) (int, time.Time, error) {
	var n int
	var until time.Time
	err := s.inTx(ctx, nil, func(tx pgx.Tx) error {
		// One statement creates or locks the row: a separate insert and
		// SELECT ... FOR UPDATE lost the row to a concurrent successful
		// sign-in clearing it in between (measured: 404s on parallel logins).
		var failures int
		var last time.Time
		var locked *time.Time
		if err := tx.QueryRow(ctx, `INSERT INTO auth_throttle (key, failures, last_failure_at) VALUES ($1, 0, now())
			ON CONFLICT (key) DO UPDATE SET key = excluded.key
			RETURNING failures, last_failure_at, locked_until`, key).Scan(&failures, &last, &locked); err != nil {
			return err
		}
		now := time.Now()
		if locked != nil && locked.After(now) {
			n, until = 0, *locked
			return nil
		}
		if now.Sub(last) > window {
			failures = 0
		}
		n = failures + 1
		var lockedUntil any
		if d := lock(n); d > 0 {
			lockedUntil = now.Add(d)
		}
		_, err := tx.Exec(ctx, "UPDATE auth_throttle SET failures = $2, last_failure_at = $3, locked_until = $4 WHERE key = $1",
			key, n, now, lockedUntil)
		return err
	})
	return n, until, translate(err)
}

func (s AuthStore) ClearFailures(ctx context.Context, key string) error {
	_, err := s.Pool.Exec(ctx, "DELETE FROM auth_throttle WHERE key = $1", key)
	return translate(err)
}

func (s AuthStore) CreateSession(ctx context.Context, ss auth.Session, access, refresh auth.IssuedToken, ev audit.Event) error {
	return s.inTx(ctx, nil, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO auth_sessions (id, facility_id, staff_id, device_id, method, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, ss.ID, ss.FacilityID, ss.StaffID, nullUUID(ss.DeviceID), ss.Method, ss.ExpiresAt)
		b.Queue(`INSERT INTO access_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)`,
			access.Digest, ss.ID, access.ExpiresAt)
		b.Queue(`INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)`,
			refresh.Digest, ss.ID, refresh.ExpiresAt)
		if ss.DeviceID != uuid.Nil {
			b.Queue(`UPDATE devices SET last_seen_at = now() WHERE facility_id = $1 AND id = $2`, ss.FacilityID, ss.DeviceID)
		}
		if ss.Method == "badge" {
			// A shared tablet has one user at a time: the previous sign-in ends.
			b.Queue(`UPDATE auth_sessions SET revoked_at = now(), revoke_reason = 'device_taken_over'
				WHERE facility_id = $1 AND device_id = $2 AND id <> $3 AND revoked_at IS NULL`, ss.FacilityID, ss.DeviceID, ss.ID)
		}
		b.Queue(auditInsert, auditArgs(ev)...)
		return translate(tx.SendBatch(ctx, b).Close())
	})
}

const sessionSelect = `SELECT s.id, s.facility_id, s.staff_id, s.device_id, s.method, s.expires_at, s.revoked_at IS NOT NULL,
		st.active, coalesce(d.revoked_at IS NOT NULL, false), coalesce(d.secret_hash, ''::bytea)`

const sessionJoins = ` JOIN staff st ON st.facility_id = s.facility_id AND st.id = s.staff_id
	LEFT JOIN devices d ON d.facility_id = s.facility_id AND d.id = s.device_id`

func sessionDest(ss *auth.Session, device **uuid.UUID) []any {
	return []any{&ss.ID, &ss.FacilityID, &ss.StaffID, device, &ss.Method, &ss.ExpiresAt, &ss.Revoked,
		&ss.StaffActive, &ss.DeviceRevoked, &ss.DeviceSecret}
}

func (s AuthStore) RotateRefresh(ctx context.Context, old []byte, check func(auth.Session) error, access, refresh auth.IssuedToken) (auth.Session, error) {
	var ss auth.Session
	var reused bool
	err := s.inTx(ctx, nil, func(tx pgx.Tx) error {
		var device *uuid.UUID
		var usedAt *time.Time
		var tokenExpires time.Time
		dest := append(sessionDest(&ss, &device), &usedAt, &tokenExpires)
		err := tx.QueryRow(ctx, sessionSelect+`, rt.used_at, rt.expires_at
			FROM refresh_tokens rt JOIN auth_sessions s ON s.id = rt.session_id`+sessionJoins+`
			WHERE rt.token_hash = $1 FOR UPDATE OF rt, s`, old).Scan(dest...)
		if err != nil {
			return translate(err)
		}
		ss.DeviceID = deref(device)
		if usedAt != nil {
			// Reuse: revoke the family, and commit that revocation.
			reused = true
			_, err := tx.Exec(ctx, `UPDATE auth_sessions SET revoked_at = now(), revoke_reason = 'refresh_reuse'
				WHERE id = $1 AND revoked_at IS NULL`, ss.ID)
			return translate(err)
		}
		if !tokenExpires.After(time.Now()) {
			return backend.E(backend.KindUnauthorized, auth.CodeUnauthorized)
		}
		if err := check(ss); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1`, old)
		b.Queue(`INSERT INTO access_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)`,
			access.Digest, ss.ID, access.ExpiresAt)
		b.Queue(`INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)`,
			refresh.Digest, ss.ID, ss.ExpiresAt)
		return translate(tx.SendBatch(ctx, b).Close())
	})
	if err == nil && reused {
		return ss, auth.ErrRefreshReuse
	}
	return ss, err
}

func (s AuthStore) RevokeSession(ctx context.Context, id uuid.UUID, reason string, ev audit.Event) error {
	return s.inTx(ctx, nil, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE auth_sessions SET revoked_at = now(), revoke_reason = $2
			WHERE id = $1 AND revoked_at IS NULL`, id, reason); err != nil {
			return translate(err)
		}
		return appendAudit(ctx, tx, ev)
	})
}

func (s AuthStore) Principal(ctx context.Context, digest []byte) (auth.Principal, error) {
	var p auth.Principal
	var device *uuid.UUID
	var roles []string
	dest := append(sessionDest(&p.Session, &device), &p.Actor.Username, &roles, &p.Actor.WardIDs)
	err := s.Pool.QueryRow(ctx, sessionSelect+`, st.username,
			ARRAY(SELECT r.role FROM staff_roles r WHERE r.facility_id = s.facility_id AND r.staff_id = s.staff_id ORDER BY r.role),
			ARRAY(SELECT w.ward_id FROM ward_assignments w WHERE w.facility_id = s.facility_id AND w.staff_id = s.staff_id ORDER BY w.ward_id)
		FROM access_tokens a JOIN auth_sessions s ON s.id = a.session_id`+sessionJoins+`
		WHERE a.token_hash = $1 AND a.expires_at > now()`, digest).Scan(dest...)
	if err != nil {
		return p, translate(err)
	}
	p.Session.DeviceID = deref(device)
	p.Actor.StaffID, p.Actor.FacilityID = p.Session.StaffID, p.Session.FacilityID
	p.Actor.SessionID, p.Actor.DeviceID = p.Session.ID, p.Session.DeviceID
	for _, r := range roles {
		p.Actor.Roles = append(p.Actor.Roles, backend.Role(r))
	}
	return p, nil
}

func (s AuthStore) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return s.DB.AppendAudit(ctx, events...)
}

// PurgeExpiredTokens deletes access tokens past expiry and refresh tokens
// spent or expired more than a day ago (kept that long so a replay is still
// recognised as reuse). Sessions are kept: they are the sign-in history.
func (db *DB) PurgeExpiredTokens(ctx context.Context) (int64, error) {
	var n int64
	err := db.inTx(ctx, nil, func(tx pgx.Tx) error {
		a, err := tx.Exec(ctx, "DELETE FROM access_tokens WHERE expires_at < now()")
		if err != nil {
			return err
		}
		r, err := tx.Exec(ctx, `DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'
			OR used_at < now() - interval '1 day'`)
		if err != nil {
			return err
		}
		// Failure counters long past their window and lock.
		th, err := tx.Exec(ctx, `DELETE FROM auth_throttle WHERE last_failure_at < now() - interval '2 days'
			AND (locked_until IS NULL OR locked_until < now())`)
		if err != nil {
			return err
		}
		// Stored answers to idempotency keys: a tablet retries for minutes,
		// not weeks; the acts themselves stay in their own tables.
		ik, err := tx.Exec(ctx, "DELETE FROM idempotency_keys WHERE created_at < now() - interval '7 days'")
		n = a.RowsAffected() + r.RowsAffected() + th.RowsAffected() + ik.RowsAffected()
		return err
	})
	return n, translate(err)
}
