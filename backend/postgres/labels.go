package postgres

import (
	"context"
	"fmt"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/corsia-cce/corsia/backend/facility"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// nextGSRN allocates the facility's next GSRN: company prefix, serial
// reference padded to 17 digits, GS1 check digit. "" without a prefix.
func nextGSRN(ctx context.Context, tx pgx.Tx, facility uuid.UUID) (string, error) {
	var prefix *string
	if err := tx.QueryRow(ctx, "SELECT gs1_company_prefix FROM facilities WHERE id = $1", facility).Scan(&prefix); err != nil {
		return "", translate(err)
	}
	if prefix == nil || *prefix == "" {
		return "", nil
	}
	var serial int64
	if err := tx.QueryRow(ctx, `INSERT INTO gsrn_counters AS c (facility_id, next_serial) VALUES ($1, 2)
		ON CONFLICT (facility_id) DO UPDATE SET next_serial = c.next_serial + 1
		RETURNING next_serial - 1`, facility).Scan(&serial); err != nil {
		return "", translate(err)
	}
	width := 17 - len(*prefix)
	data := *prefix + fmt.Sprintf("%0*d", width, serial)
	if len(data) != 17 {
		return "", backend.Internal(fmt.Errorf("GSRN serial %d overflows %d digits", serial, width), "gsrn")
	}
	check, ok := codes.GS1CheckDigit(data)
	if !ok {
		return "", backend.Internal(fmt.Errorf("GSRN data %q", data), "gsrn")
	}
	return data + string(check), nil
}

// subjectGSRN returns the GSRN of a resident or a staff member (exactly one
// of them set), assigning the next one on first use.
func subjectGSRN(ctx context.Context, tx pgx.Tx, facility, res, staff uuid.UUID) (string, error) {
	var g string
	err := tx.QueryRow(ctx, `SELECT gsrn FROM gsrns WHERE facility_id = $1
		AND (resident_id = $2 OR staff_id = $3)`, facility, nullUUID(res), nullUUID(staff)).Scan(&g)
	if err == nil || err != pgx.ErrNoRows {
		return g, translate(err)
	}
	if g, err = nextGSRN(ctx, tx, facility); err != nil || g == "" {
		return g, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO gsrns (facility_id, gsrn, resident_id, staff_id) VALUES ($1, $2, $3, $4)`,
		facility, g, nullUUID(res), nullUUID(staff))
	return g, translate(err)
}

func (t residentTx) ResidentGSRN(ctx context.Context, facility, res uuid.UUID) (string, error) {
	return subjectGSRN(ctx, t.tx, facility, res, uuid.Nil)
}

func (t residentTx) WardAndFacility(ctx context.Context, facility, ward uuid.UUID) (string, string, error) {
	var w, f string
	err := t.tx.QueryRow(ctx, `SELECT coalesce((SELECT name FROM wards WHERE facility_id = $1 AND id = $2), ''), name
		FROM facilities WHERE id = $1`, facility, nullUUID(ward)).Scan(&w, &f)
	return w, f, translate(err)
}

func (t residentTx) RecordPrint(ctx context.Context, facility, res, by, device uuid.UUID, format, stock string) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `INSERT INTO label_prints (facility_id, id, kind, resident_id, copy_no, format, stock, printed_by, device_id)
		VALUES ($1, $2, 'wristband', $3,
			(SELECT coalesce(max(copy_no), 0) + 1 FROM label_prints WHERE facility_id = $1 AND resident_id = $3),
			$4, $5, $6, $7)
		RETURNING copy_no`, facility, uuid.New(), res, format, stock, by, nullUUID(device)).Scan(&n)
	return n, translate(err)
}

// PrintBadge implements facility.Store.
func (s FacilityStore) PrintBadge(ctx context.Context, fac, id, by, device uuid.UUID, format, stock string,
	fn func(facility.BadgeData) (audit.Event, error)) error {
	return s.inTx(ctx, &backend.Actor{StaffID: by}, func(tx pgx.Tx) error {
		var b facility.BadgeData
		var roles []string
		err := tx.QueryRow(ctx, `SELECT s.id, s.username, s.given_name, s.family_name, coalesce(s.badge_code, ''), s.active,
				ARRAY(SELECT r.role FROM staff_roles r WHERE r.facility_id = s.facility_id AND r.staff_id = s.id ORDER BY r.role),
				f.name
			FROM staff s JOIN facilities f ON f.id = s.facility_id
			WHERE s.facility_id = $1 AND s.id = $2 FOR UPDATE OF s`, fac, id).
			Scan(&b.Member.ID, &b.Member.Username, &b.Member.GivenName, &b.Member.FamilyName, &b.Member.BadgeCode,
				&b.Member.Active, &roles, &b.Facility)
		if err == pgx.ErrNoRows {
			return backend.E(backend.KindNotFound, "staff.not_found")
		}
		if err != nil {
			return translate(err)
		}
		if b.Member.BadgeCode == "" || !b.Member.Active {
			return backend.E(backend.KindUnprocessable, "staff.no_badge", "this account has no badge (no PIN) or is disabled")
		}
		for _, r := range roles {
			b.Member.Roles = append(b.Member.Roles, backend.Role(r))
		}
		if b.GSRN, err = subjectGSRN(ctx, tx, fac, uuid.Nil, id); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO label_prints (facility_id, id, kind, staff_id, copy_no, format, stock, printed_by, device_id)
			VALUES ($1, $2, 'badge', $3,
				(SELECT coalesce(max(copy_no), 0) + 1 FROM label_prints WHERE facility_id = $1 AND staff_id = $3),
				$4, $5, $6, $7)
			RETURNING copy_no`, fac, uuid.New(), id, format, stock, by, nullUUID(device)).Scan(&b.Copy); err != nil {
			return translate(err)
		}
		ev, err := fn(b)
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}
