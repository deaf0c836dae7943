package postgres

import (
	"context"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/facility"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// FacilityStore implements facility.Store.
type FacilityStore struct{ *DB }

var _ facility.Store = FacilityStore{}

func (s FacilityStore) Wards(ctx context.Context, fac uuid.UUID) ([]facility.Ward, error) {
	rows, err := s.Pool.Query(ctx, `SELECT w.id, w.code, w.name, coalesce(w.floor, 0),
			(SELECT count(*) FROM beds b WHERE b.facility_id = w.facility_id AND b.ward_id = w.id),
			(SELECT count(*) FROM residents r WHERE r.facility_id = w.facility_id AND r.ward_id = w.id
				AND r.status IN ('admitted', 'hospitalised'))
		FROM wards w WHERE w.facility_id = $1 ORDER BY w.code`, fac)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (facility.Ward, error) {
		var w facility.Ward
		err := r.Scan(&w.ID, &w.Code, &w.Name, &w.Floor, &w.Beds, &w.Occupied)
		return w, err
	})
	return out, translate(err)
}

func (s FacilityStore) Members(ctx context.Context, fac uuid.UUID) ([]facility.Member, error) {
	rows, err := s.Pool.Query(ctx, `SELECT s.id, s.username, s.given_name, s.family_name, coalesce(s.badge_code, ''),
			s.profession_reg, s.pin_hash IS NOT NULL, s.active, s.version,
			ARRAY(SELECT r.role FROM staff_roles r WHERE r.facility_id = s.facility_id AND r.staff_id = s.id ORDER BY r.role),
			ARRAY(SELECT w.ward_id FROM ward_assignments w WHERE w.facility_id = s.facility_id AND w.staff_id = s.id ORDER BY w.ward_id)
		FROM staff s WHERE s.facility_id = $1 ORDER BY s.username`, fac)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (facility.Member, error) {
		var m facility.Member
		var roles []string
		err := r.Scan(&m.ID, &m.Username, &m.GivenName, &m.FamilyName, &m.BadgeCode, &m.ProfessionReg, &m.HasPIN,
			&m.Active, &m.Version, &roles, &m.WardIDs)
		for _, x := range roles {
			m.Roles = append(m.Roles, backend.Role(x))
		}
		return m, err
	})
	return out, translate(err)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// insertMember writes a staff member with roles and wards; used by the
// admin API and by the fixtures loader.
func insertMember(ctx context.Context, tx pgx.Tx, fac uuid.UUID, m facility.Member, pw, pin string, by uuid.UUID) error {
	if _, err := tx.Exec(ctx, `INSERT INTO staff (facility_id, id, username, given_name, family_name, password_hash,
			pin_hash, badge_code, profession_reg, active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		fac, m.ID, m.Username, m.GivenName, m.FamilyName, nullString(pw), nullString(pin), nullString(m.BadgeCode),
		m.ProfessionReg, m.Active); err != nil {
		return err
	}
	return setAccess(ctx, tx, fac, m.ID, m.Roles, m.WardIDs, m.Active, by)
}

// setAccess replaces a member's roles and wards and appends the new state to
// staff_access_log, so who could see which ward stays answerable.
func setAccess(ctx context.Context, tx pgx.Tx, fac, id uuid.UUID, roles []backend.Role, wards []uuid.UUID, active bool, by uuid.UUID) error {
	if wards == nil {
		wards = []uuid.UUID{}
	}
	rs := make([]string, len(roles))
	for i, r := range roles {
		rs[i] = string(r)
	}
	b := &pgx.Batch{}
	b.Queue("DELETE FROM staff_roles WHERE facility_id = $1 AND staff_id = $2", fac, id)
	b.Queue("DELETE FROM ward_assignments WHERE facility_id = $1 AND staff_id = $2", fac, id)
	b.Queue(`INSERT INTO staff_roles (facility_id, staff_id, role) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING`, fac, id, rs)
	b.Queue(`INSERT INTO ward_assignments (facility_id, staff_id, ward_id) SELECT $1, $2, unnest($3::uuid[]) ON CONFLICT DO NOTHING`, fac, id, wards)
	b.Queue(`INSERT INTO staff_access_log (facility_id, staff_id, changed_by, roles, ward_ids, active) VALUES ($1, $2, $3, $4, $5, $6)`,
		fac, id, nullUUID(by), rs, wards, active)
	return tx.SendBatch(ctx, b).Close()
}

func (s FacilityStore) InsertMember(ctx context.Context, fac uuid.UUID, m facility.Member, pw, pin string, ev audit.Event) error {
	return s.inTx(ctx, nil, func(tx pgx.Tx) error {
		if err := insertMember(ctx, tx, fac, m, pw, pin, ev.ActorID); err != nil {
			return translate(err)
		}
		return appendAudit(ctx, tx, ev)
	})
}

func (s FacilityStore) UpdateMember(ctx context.Context, fac uuid.UUID, m *facility.Member, ev audit.Event) error {
	return s.inTx(ctx, &backend.Actor{StaffID: ev.ActorID}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE staff SET active = $4 WHERE facility_id = $1 AND id = $2 AND version = $3
			RETURNING version, username, given_name, family_name, coalesce(badge_code, ''), profession_reg, pin_hash IS NOT NULL`,
			fac, m.ID, m.Version, m.Active).Scan(&m.Version, &m.Username, &m.GivenName, &m.FamilyName, &m.BadgeCode,
			&m.ProfessionReg, &m.HasPIN)
		if err == pgx.ErrNoRows {
			var exists bool
			_ = tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM staff WHERE facility_id = $1 AND id = $2)", fac, m.ID).Scan(&exists)
			if exists {
				return backend.E(backend.KindConflict, backend.CodeVersionConflict)
			}
			return backend.E(backend.KindNotFound, "staff.not_found")
		}
		if err != nil {
			return translate(err)
		}
		if err := setAccess(ctx, tx, fac, m.ID, m.Roles, m.WardIDs, m.Active, ev.ActorID); err != nil {
			return translate(err)
		}
		if !m.Active {
			if _, err := tx.Exec(ctx, `UPDATE auth_sessions SET revoked_at = now(), revoke_reason = 'account_disabled'
				WHERE facility_id = $1 AND staff_id = $2 AND revoked_at IS NULL`, fac, m.ID); err != nil {
				return translate(err)
			}
		}
		return appendAudit(ctx, tx, ev)
	})
}

func (s FacilityStore) Devices(ctx context.Context, fac uuid.UUID) ([]facility.Device, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, name, kind, ward_id, enrolled_at, revoked_at, last_seen_at
		FROM devices WHERE facility_id = $1 ORDER BY name`, fac)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (facility.Device, error) {
		var d facility.Device
		var ward *uuid.UUID
		var revoked, seen *time.Time
		err := r.Scan(&d.ID, &d.Name, &d.Kind, &ward, &d.EnrolledAt, &revoked, &seen)
		d.WardID = deref(ward)
		if revoked != nil {
			d.RevokedAt = *revoked
		}
		if seen != nil {
			d.LastSeenAt = *seen
		}
		return d, err
	})
	return out, translate(err)
}

func insertDevice(ctx context.Context, q querier, fac uuid.UUID, d facility.Device, secretHash []byte, by uuid.UUID) error {
	_, err := q.Exec(ctx, `INSERT INTO devices (facility_id, id, name, kind, ward_id, secret_hash, enrolled_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, fac, d.ID, d.Name, d.Kind, nullUUID(d.WardID), secretHash, nullUUID(by))
	return err
}

func (s FacilityStore) InsertDevice(ctx context.Context, fac uuid.UUID, d facility.Device, secretHash []byte, by uuid.UUID, ev audit.Event) error {
	return s.inTx(ctx, nil, func(tx pgx.Tx) error {
		if err := insertDevice(ctx, tx, fac, d, secretHash, by); err != nil {
			return translate(err)
		}
		return appendAudit(ctx, tx, ev)
	})
}

func (s FacilityStore) RevokeDevice(ctx context.Context, fac, id, by uuid.UUID, ev audit.Event) error {
	return s.inTx(ctx, nil, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE devices SET revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, $3)
			WHERE facility_id = $1 AND id = $2`, fac, id, by)
		if err != nil {
			return translate(err)
		}
		if tag.RowsAffected() == 0 {
			return backend.E(backend.KindNotFound, "device.not_found")
		}
		if _, err := tx.Exec(ctx, `UPDATE auth_sessions SET revoked_at = now(), revoke_reason = 'device_revoked'
			WHERE facility_id = $1 AND device_id = $2 AND revoked_at IS NULL`, fac, id); err != nil {
			return translate(err)
		}
		return appendAudit(ctx, tx, ev)
	})
}

// Colleague finds an active staff member by badge code or GSRN (AI 8017).
func (s FacilityStore) Colleague(ctx context.Context, fac uuid.UUID, badge, gsrn string) (facility.Colleague, error) {
	var c facility.Colleague
	var roles []string
	err := s.Pool.QueryRow(ctx, `SELECT s.id, s.given_name, s.family_name,
			ARRAY(SELECT r.role FROM staff_roles r WHERE r.facility_id = s.facility_id AND r.staff_id = s.id ORDER BY r.role)
		FROM staff s
		WHERE s.facility_id = $1 AND s.active
		  AND (($2 <> '' AND s.badge_code = $2)
		       OR ($3 <> '' AND s.id = (SELECT staff_id FROM gsrns WHERE facility_id = $1 AND gsrn = $3)))`,
		fac, badge, gsrn).Scan(&c.ID, &c.GivenName, &c.FamilyName, &roles)
	for _, r := range roles {
		c.Roles = append(c.Roles, backend.Role(r))
	}
	return c, translate(err)
}

func (s FacilityStore) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return s.DB.AppendAudit(ctx, events...)
}

// Facility reads a facility by id.
func (db *DB) Facility(ctx context.Context, id uuid.UUID) (facility.Facility, error) {
	var f facility.Facility
	err := db.Pool.QueryRow(ctx, "SELECT id, code, name, kind, time_zone FROM facilities WHERE id = $1", id).
		Scan(&f.ID, &f.Code, &f.Name, &f.Kind, &f.TimeZone)
	return f, translate(err)
}
