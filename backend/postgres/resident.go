package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/resident"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ResidentStore implements resident.Store.
type ResidentStore struct{ *DB }

var _ resident.Store = ResidentStore{}

const residentColumns = `r.facility_id, r.id, r.given_name, r.family_name, r.sex, r.birth_date, r.birth_place,
	r.codice_fiscale, r.codice_fiscale_ok, r.tessera_sanitaria, r.gp, r.contacts, r.wristband_code, r.status,
	r.ward_id, r.bed_id, coalesce(b.code, ''), r.admitted_at, r.version, r.updated_at,
	coalesce((SELECT g.reason FROM break_glass_grants g
	   WHERE g.facility_id = r.facility_id AND g.staff_id = $3 AND g.resident_id = r.id AND g.expires_at > now()
	   ORDER BY g.expires_at DESC LIMIT 1), '')`

const residentFrom = ` FROM residents r LEFT JOIN beds b ON b.facility_id = r.facility_id AND b.id = r.bed_id
	WHERE r.facility_id = $1 AND r.id = $2`

const allergySelect = `SELECT id, resident_id, substance, coalesce(atc_code, ''), category, kind, reaction, severity,
	status, status_reason, coalesce(recorded_by, '00000000-0000-0000-0000-000000000000'), recorded_at, version
	FROM allergies`

func scanResident(row pgx.Row) (resident.Resident, string, error) {
	var r resident.Resident
	var ward, bed *uuid.UUID
	var admitted *time.Time
	var gp, contacts []byte
	var status, grant string
	err := row.Scan(&r.FacilityID, &r.ID, &r.GivenName, &r.FamilyName, &r.Sex, &r.BirthDate, &r.BirthPlace,
		&r.FiscalCode, &r.FiscalCodeValid, &r.HealthCardNumber, &gp, &contacts, &r.WristbandCode, &status,
		&ward, &bed, &r.BedCode, &admitted, &r.Version, &r.UpdatedAt, &grant)
	if err != nil {
		return r, "", translate(err)
	}
	r.Status, r.WardID, r.BedID = resident.Status(status), deref(ward), deref(bed)
	if admitted != nil {
		r.AdmittedAt = *admitted
	}
	if err := json.Unmarshal(gp, &r.GP); err != nil {
		return r, "", backend.Internal(err, "resident gp")
	}
	if err := json.Unmarshal(contacts, &r.Contacts); err != nil {
		return r, "", backend.Internal(err, "resident contacts")
	}
	return r, grant, nil
}

func scanAllergy(row pgx.CollectableRow) (resident.Allergy, error) {
	var a resident.Allergy
	err := row.Scan(&a.ID, &a.ResidentID, &a.Substance, &a.ATCCode, &a.Category, &a.Kind, &a.Reaction, &a.Severity,
		&a.Status, &a.StatusReason, &a.RecordedBy, &a.RecordedAt, &a.Version)
	return a, err
}

func readResident(ctx context.Context, q querier, facility, id, staff uuid.UUID, lock bool) (resident.Resident, string, error) {
	sql := "SELECT " + residentColumns + residentFrom
	if lock {
		sql += " FOR UPDATE OF r"
	}
	r, grant, err := scanResident(q.QueryRow(ctx, sql, facility, id, staff))
	if err != nil || !lock {
		return r, grant, err
	}
	r.Allergies, err = allergiesOf(ctx, q, facility, id)
	return r, grant, err
}

func allergiesOf(ctx context.Context, q querier, facility, id uuid.UUID) ([]resident.Allergy, error) {
	rows, err := q.Query(ctx, allergySelect+` WHERE facility_id = $1 AND resident_id = $2 ORDER BY recorded_at, id`, facility, id)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, scanAllergy)
	return out, translate(err)
}

// ReadResident reads one resident's record without her allergies: enough
// to decide whether the caller may see her, at the same cost whether she is
// out of scope or absent.
func (s ResidentStore) ReadResident(ctx context.Context, facility, id, staff uuid.UUID) (resident.Resident, string, error) {
	return readResident(ctx, s.Pool, facility, id, staff, false)
}

// Allergies lists a resident's allergies and intolerances.
func (s ResidentStore) Allergies(ctx context.Context, facility, id uuid.UUID) ([]resident.Allergy, error) {
	return allergiesOf(ctx, s.Pool, facility, id)
}

// ResidentIDByWristband resolves a canonical wristband code.
func (s ResidentStore) ResidentIDByWristband(ctx context.Context, facility uuid.UUID, code string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.Pool.QueryRow(ctx, "SELECT id FROM residents WHERE facility_id = $1 AND wristband_code = $2", facility, code).Scan(&id)
	return id, translate(err)
}

// ResidentIDByGSRN resolves a GS1 wristband's GSRN (AI 8018).
func (s ResidentStore) ResidentIDByGSRN(ctx context.Context, facility uuid.UUID, gsrn string) (uuid.UUID, error) {
	var id *uuid.UUID
	err := s.Pool.QueryRow(ctx, "SELECT resident_id FROM gsrns WHERE facility_id = $1 AND gsrn = $2", facility, gsrn).Scan(&id)
	if err == nil && id == nil {
		return uuid.Nil, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	return deref(id), translate(err)
}

// ListWard lists the admitted and hospitalised residents of a ward by bed.
func (s ResidentStore) ListWard(ctx context.Context, facility, ward uuid.UUID) ([]resident.Summary, bool, error) {
	if found, err := wardExists(ctx, s.Pool, facility, ward); err != nil || !found {
		return nil, false, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT r.id, r.given_name, r.family_name, r.sex, r.birth_date, coalesce(b.code, ''),
			r.ward_id, r.status, r.wristband_code,
			EXISTS (SELECT 1 FROM allergies a WHERE a.facility_id = r.facility_id AND a.resident_id = r.id AND a.status = 'active')
		FROM residents r LEFT JOIN beds b ON b.facility_id = r.facility_id AND b.id = r.bed_id
		WHERE r.facility_id = $1 AND r.ward_id = $2 AND r.status IN ('admitted', 'hospitalised')
		ORDER BY b.code NULLS LAST, r.family_name, r.given_name`, facility, ward)
	if err != nil {
		return nil, true, translate(err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (resident.Summary, error) {
		var s resident.Summary
		var status string
		err := row.Scan(&s.ID, &s.GivenName, &s.FamilyName, &s.Sex, &s.BirthDate, &s.BedCode, &s.WardID, &status,
			&s.WristbandCode, &s.HasAllergies)
		s.Status = resident.Status(status)
		return s, err
	})
	return list, true, translate(err)
}

// History lists the superseded versions of a resident's row, newest first.
func (s ResidentStore) History(ctx context.Context, facility, id uuid.UUID) ([]resident.Version, error) {
	rows, err := s.Pool.Query(ctx, `SELECT version, valid_until, coalesce(changed_by, '00000000-0000-0000-0000-000000000000'), data
		FROM row_history WHERE facility_id = $1 AND table_name = 'residents' AND row_id = $2 ORDER BY version DESC`, facility, id)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (resident.Version, error) {
		var v resident.Version
		err := row.Scan(&v.Version, &v.ValidUntil, &v.ChangedBy, &v.Data)
		return v, err
	})
	return out, translate(err)
}

// LatestPhoto returns the resident's newest photo.
func (s ResidentStore) LatestPhoto(ctx context.Context, facility, id uuid.UUID) (resident.Photo, error) {
	var p resident.Photo
	err := s.Pool.QueryRow(ctx, `SELECT content_type, data FROM resident_photos WHERE facility_id = $1 AND resident_id = $2
		ORDER BY recorded_at DESC, id LIMIT 1`, facility, id).Scan(&p.ContentType, &p.Data)
	return p, translate(err)
}

// Tx runs fn in a transaction.
func (s ResidentStore) Tx(ctx context.Context, actor *backend.Actor, fn func(resident.Tx) error) error {
	return s.inTx(ctx, actor, func(tx pgx.Tx) error { return fn(residentTx{tx}) })
}

type residentTx struct{ tx pgx.Tx }

func (t residentTx) LockResident(ctx context.Context, facility, id, staff uuid.UUID) (resident.Resident, string, error) {
	return readResident(ctx, t.tx, facility, id, staff, true)
}

func (t residentTx) InsertResident(ctx context.Context, r *resident.Resident) error {
	return insertResident(ctx, t.tx, r)
}

func insertResident(ctx context.Context, q querier, r *resident.Resident) error {
	gp, _ := json.Marshal(r.GP)
	contacts, _ := json.Marshal(r.Contacts)
	err := q.QueryRow(ctx, `INSERT INTO residents (facility_id, id, given_name, family_name, sex, birth_date, birth_place,
			codice_fiscale, codice_fiscale_ok, tessera_sanitaria, gp, contacts, wristband_code, status, ward_id, bed_id, admitted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		RETURNING version, updated_at`,
		r.FacilityID, r.ID, r.GivenName, r.FamilyName, r.Sex, r.BirthDate, r.BirthPlace, r.FiscalCode, r.FiscalCodeValid,
		r.HealthCardNumber, gp, contacts, r.WristbandCode, string(r.Status), nullUUID(r.WardID), nullUUID(r.BedID),
		nullTime(r.AdmittedAt)).Scan(&r.Version, &r.UpdatedAt)
	return translate(err)
}

func (t residentTx) SaveResident(ctx context.Context, r *resident.Resident) error {
	gp, _ := json.Marshal(r.GP)
	contacts, _ := json.Marshal(r.Contacts)
	err := t.tx.QueryRow(ctx, `UPDATE residents SET given_name = $4, family_name = $5, sex = $6, birth_date = $7,
			birth_place = $8, codice_fiscale = $9, codice_fiscale_ok = $10, tessera_sanitaria = $11, gp = $12,
			contacts = $13, status = $14, ward_id = $15, bed_id = $16
		WHERE facility_id = $1 AND id = $2 AND version = $3
		RETURNING version, updated_at`,
		r.FacilityID, r.ID, r.Version, r.GivenName, r.FamilyName, r.Sex, r.BirthDate, r.BirthPlace, r.FiscalCode,
		r.FiscalCodeValid, r.HealthCardNumber, gp, contacts, string(r.Status), nullUUID(r.WardID), nullUUID(r.BedID)).
		Scan(&r.Version, &r.UpdatedAt)
	if err == pgx.ErrNoRows {
		return backend.E(backend.KindConflict, backend.CodeVersionConflict, "the record was changed by someone else; reload it")
	}
	if err == nil {
		// Re-read the bed code for the caller.
		err = t.tx.QueryRow(ctx, "SELECT coalesce((SELECT code FROM beds WHERE facility_id = $1 AND id = $2), '')",
			r.FacilityID, nullUUID(r.BedID)).Scan(&r.BedCode)
	}
	return translate(err)
}

func (t residentTx) OpenAdmission(ctx context.Context, facility, res uuid.UUID, at time.Time, source string, by uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO admissions (facility_id, id, resident_id, admitted_at, source, recorded_by)
		VALUES ($1, $2, $3, $4, $5, $6)`, facility, uuid.New(), res, at, source, nullUUID(by))
	return translate(err)
}

func (t residentTx) CloseAdmission(ctx context.Context, facility, res uuid.UUID, at time.Time, reason string) error {
	tag, err := t.tx.Exec(ctx, `UPDATE admissions SET discharged_at = $3, discharge_reason = $4
		WHERE facility_id = $1 AND resident_id = $2 AND discharged_at IS NULL`, facility, res, at, reason)
	if err == nil && tag.RowsAffected() == 0 {
		return backend.E(backend.KindUnprocessable, "resident.no_open_stay")
	}
	return translate(err)
}

func (t residentTx) InsertAllergy(ctx context.Context, facility uuid.UUID, a *resident.Allergy) error {
	return insertAllergy(ctx, t.tx, facility, a)
}

func insertAllergy(ctx context.Context, q querier, facility uuid.UUID, a *resident.Allergy) error {
	var atc any
	if a.ATCCode != "" {
		atc = a.ATCCode
	}
	err := q.QueryRow(ctx, `INSERT INTO allergies (facility_id, id, resident_id, substance, atc_code, category, kind,
			reaction, severity, status, recorded_by, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING version`,
		facility, a.ID, a.ResidentID, a.Substance, atc, a.Category, a.Kind, a.Reaction, a.Severity, a.Status,
		nullUUID(a.RecordedBy), a.RecordedAt).Scan(&a.Version)
	return translate(err)
}

func (t residentTx) LockAllergy(ctx context.Context, facility, id uuid.UUID) (resident.Allergy, error) {
	rows, err := t.tx.Query(ctx, allergySelect+" WHERE facility_id = $1 AND id = $2 FOR UPDATE", facility, id)
	if err != nil {
		return resident.Allergy{}, translate(err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, scanAllergy)
	return a, translate(err)
}

func (t residentTx) SaveAllergy(ctx context.Context, facility uuid.UUID, a *resident.Allergy) error {
	err := t.tx.QueryRow(ctx, `UPDATE allergies SET status = $4, status_reason = $5
		WHERE facility_id = $1 AND id = $2 AND version = $3 RETURNING version`,
		facility, a.ID, a.Version, a.Status, a.StatusReason).Scan(&a.Version)
	if err == pgx.ErrNoRows {
		return backend.E(backend.KindConflict, backend.CodeVersionConflict)
	}
	return translate(err)
}

func (t residentTx) InsertPhoto(ctx context.Context, facility, res, id uuid.UUID, ct string, data []byte, by uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO resident_photos (facility_id, id, resident_id, content_type, data, recorded_by)
		VALUES ($1, $2, $3, $4, $5, $6)`, facility, id, res, ct, data, by)
	return translate(err)
}

func (t residentTx) InsertGrant(ctx context.Context, facility, staff, res uuid.UUID, reason string, until time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO break_glass_grants (facility_id, id, staff_id, resident_id, reason, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, facility, uuid.New(), staff, res, reason, until)
	return translate(err)
}

func (t residentTx) WardExists(ctx context.Context, facility, ward uuid.UUID) (bool, error) {
	var ok bool
	err := t.tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM wards WHERE facility_id = $1 AND id = $2)", facility, ward).Scan(&ok)
	return ok, translate(err)
}

func (t residentTx) BedFree(ctx context.Context, facility, ward, bed, except uuid.UUID) (bool, error) {
	if bed == uuid.Nil {
		return true, nil
	}
	var ok bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM beds WHERE facility_id = $1 AND ward_id = $2 AND id = $3)
		AND NOT EXISTS (SELECT 1 FROM residents WHERE facility_id = $1 AND bed_id = $3 AND id <> $4)`,
		facility, ward, bed, except).Scan(&ok)
	return ok, translate(err)
}

func (t residentTx) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return appendAudit(ctx, t.tx, events...)
}
