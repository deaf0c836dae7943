package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// TherapyStore implements therapy.Store. Decimals cross the boundary as
// text cast to numeric: never as floats.
type TherapyStore struct{ *DB }

var _ therapy.Store = TherapyStore{}

func location(name string) (*time.Location, error) { return backend.Zone(name) }

func decText(d decimal.Decimal) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

func parseDec(s *string) decimal.Decimal {
	if s == nil || *s == "" {
		return decimal.Zero
	}
	d, err := decimal.NewFromString(*s)
	if err != nil {
		return decimal.Zero
	}
	return d
}

// Settings returns the facility's therapy settings (defaults until changed)
// and its time zone.
func (s TherapyStore) Settings(ctx context.Context, facility uuid.UUID) (therapy.Settings, *time.Location, error) {
	return readSettings(ctx, s.Pool, facility)
}

func readSettings(ctx context.Context, q querier, facility uuid.UUID) (therapy.Settings, *time.Location, error) {
	set := therapy.DefaultSettings()
	var zone string
	var tc, fr, da, hz, esc, ver *int
	var oss *bool
	var over []string
	err := q.QueryRow(ctx, `SELECT f.time_zone, t.window_time_critical_min, t.window_frequent_min, t.window_daily_min,
			t.horizon_hours, t.oss_assisted_intake, t.overridable_blocks, t.escalate_after_min, t.version
		FROM facilities f LEFT JOIN therapy_settings t ON t.facility_id = f.id WHERE f.id = $1`, facility).
		Scan(&zone, &tc, &fr, &da, &hz, &oss, &over, &esc, &ver)
	if err != nil {
		return set, nil, translate(err)
	}
	if ver != nil {
		set = therapy.Settings{WindowTimeCriticalMin: *tc, WindowFrequentMin: *fr, WindowDailyMin: *da,
			HorizonHours: *hz, OSSAssistedIntake: *oss, Overridable: over, EscalateAfterMin: *esc, Version: *ver}
	}
	loc, err := location(zone)
	return set, loc, err
}

// Resident reads what therapy needs of a resident.
func (s TherapyStore) Resident(ctx context.Context, facility, id, staff uuid.UUID) (therapy.ResidentFacts, error) {
	rs, err := residentFacts(ctx, s.Pool, facility, staff, "r.id = $2", id)
	if err != nil {
		return therapy.ResidentFacts{}, err
	}
	if len(rs) == 0 {
		return therapy.ResidentFacts{}, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	return rs[0], nil
}

// residentFacts reads residents matching cond (with $2 as its argument),
// with their allergies and reconciliation state.
func residentFacts(ctx context.Context, q querier, facility, staff uuid.UUID, cond string, arg any) ([]therapy.ResidentFacts, error) {
	rows, err := q.Query(ctx, `SELECT r.id, r.facility_id, r.ward_id, coalesce(b.code, ''), r.given_name, r.family_name,
			r.status IN ('admitted', 'hospitalised'),
			coalesce((SELECT g.reason FROM break_glass_grants g WHERE g.facility_id = r.facility_id AND g.staff_id = $3
			   AND g.resident_id = r.id AND g.expires_at > now() ORDER BY g.expires_at DESC LIMIT 1), ''),
			EXISTS (SELECT 1 FROM reconciliations c WHERE c.facility_id = r.facility_id AND c.resident_id = r.id AND c.outcome IS NULL),
			coalesce((SELECT array_agg(a.substance || '|' || coalesce(a.atc_code, '') || '|' || a.category)
			   FROM allergies a WHERE a.facility_id = r.facility_id AND a.resident_id = r.id AND a.status = 'active'), '{}')
		FROM residents r LEFT JOIN beds b ON b.facility_id = r.facility_id AND b.id = r.bed_id
		WHERE r.facility_id = $1 AND `+cond+` ORDER BY coalesce(b.code, ''), r.family_name`, facility, arg, staff)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (therapy.ResidentFacts, error) {
		var r therapy.ResidentFacts
		var ward *uuid.UUID
		var allergies []string
		err := row.Scan(&r.ID, &r.FacilityID, &ward, &r.BedCode, &r.GivenName, &r.FamilyName, &r.Current, &r.Grant,
			&r.AwaitingReconciliation, &allergies)
		r.WardID = deref(ward)
		for _, a := range allergies {
			parts := strings.SplitN(a, "|", 3)
			if len(parts) != 3 {
				continue
			}
			r.AllergyMark = true
			if parts[2] == "drug" {
				r.Allergies = append(r.Allergies, therapy.Allergy{Substance: parts[0], ATC: parts[1]})
			}
		}
		return r, err
	})
	return out, translate(err)
}

// ResidentByWristband resolves a wristband code or a GSRN.
func (s TherapyStore) ResidentByWristband(ctx context.Context, facility uuid.UUID, code, gsrn string) (uuid.UUID, error) {
	var id *uuid.UUID
	var err error
	if code != "" {
		err = s.Pool.QueryRow(ctx, "SELECT id FROM residents WHERE facility_id = $1 AND wristband_code = $2", facility, code).Scan(&id)
	} else {
		err = s.Pool.QueryRow(ctx, "SELECT resident_id FROM gsrns WHERE facility_id = $1 AND gsrn = $2", facility, gsrn).Scan(&id)
	}
	if err == nil && id == nil {
		return uuid.Nil, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	return deref(id), translate(err)
}

// WardExists reports whether ward is a ward of facility.
func (s TherapyStore) WardExists(ctx context.Context, facility, ward uuid.UUID) (bool, error) {
	return wardExists(ctx, s.Pool, facility, ward)
}

// wardExists reports whether ward is a ward of facility: the ward lists
// answer a ward of another facility exactly like one that does not exist.
func wardExists(ctx context.Context, q querier, facility, ward uuid.UUID) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM wards WHERE facility_id = $1 AND id = $2)", facility, ward).Scan(&ok)
	return ok, translate(err)
}

const prescriptionColumns = `p.facility_id, p.id, p.series_id, p.supersedes, p.resident_id, p.product_id, p.ingredient_atc,
	p.ingredient_name, p.strength::text, p.strength_unit, p.dose::text, p.dose_unit, p.route, p.schedule, p.prn_indication,
	p.prn_min_interval_min, p.prn_max_per_24h, p.prn_check_after_min, p.starts_at, p.ends_at, p.instructions,
	p.time_critical, p.status, p.status_reason, p.suspended_until, p.prescribed_by, p.prescribed_at, p.version`

func scanPrescription(row pgx.CollectableRow) (therapy.Prescription, error) {
	var p therapy.Prescription
	var supersedes, product *uuid.UUID
	var atc, strength, dose *string
	var ingName, strengthUnit string
	var sched []byte
	var indication string
	var minInt, maxPer, checkAfter *int
	var ends, until *time.Time
	err := row.Scan(&p.FacilityID, &p.ID, &p.SeriesID, &supersedes, &p.ResidentID, &product, &atc, &ingName, &strength,
		&strengthUnit, &dose, &p.DoseUnit, &p.Route, &sched, &indication, &minInt, &maxPer, &checkAfter, &p.StartsAt,
		&ends, &p.Instructions, &p.TimeCritical, &p.Status, &p.StatusReason, &until, &p.PrescribedBy, &p.PrescribedAt,
		&p.Version)
	if err != nil {
		return p, err
	}
	p.Supersedes, p.ProductID = deref(supersedes), deref(product)
	if atc != nil {
		p.Ingredient = &therapy.Ingredient{ATC: *atc, Name: ingName, Strength: parseDec(strength), Unit: strengthUnit}
	}
	p.Dose = parseDec(dose)
	if err := json.Unmarshal(sched, &p.Schedule); err != nil {
		return p, backend.Internal(err, "prescription schedule")
	}
	if minInt != nil && maxPer != nil {
		p.PRN = &therapy.PRN{Indication: indication, MinIntervalMin: *minInt, MaxPer24h: *maxPer}
		if checkAfter != nil {
			p.PRN.CheckAfterMin = *checkAfter
		}
	}
	if ends != nil {
		p.EndsAt = *ends
	}
	if until != nil {
		p.SuspendedUntil = *until
	}
	return p, nil
}

// withProducts fills the Product of each prescription.
func withProducts(ctx context.Context, q querier, facility uuid.UUID, ps []therapy.Prescription) error {
	var ids []uuid.UUID
	for _, p := range ps {
		if p.ProductID != uuid.Nil {
			ids = append(ids, p.ProductID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	products, err := loadProducts(ctx, q, facility, "p.id = ANY($2)", ids)
	if err != nil {
		return err
	}
	byID := map[uuid.UUID]*therapy.Product{}
	for i := range products {
		byID[products[i].ID] = &products[i]
	}
	for i := range ps {
		ps[i].Product = byID[ps[i].ProductID]
	}
	return nil
}

// loadProducts reads national and facility products matching cond ($2).
func loadProducts(ctx context.Context, q querier, facility uuid.UUID, cond string, arg any) ([]therapy.Product, error) {
	rows, err := q.Query(ctx, `SELECT p.id, coalesce(p.aic, ''), coalesce(p.gtin, ''), p.name, p.form, p.routes,
			coalesce(p.units_per_pack, 0), p.high_alert, p.lasa, p.do_not_crush, p.time_critical, p.withdrawn,
			coalesce((SELECT array_agg(i.name || '|' || i.atc || '|' || coalesce(i.strength::text, '') || '|' || i.unit ORDER BY i.position)
			   FROM product_ingredients i WHERE i.product_id = p.id), '{}')
		FROM products p WHERE (p.facility_id IS NULL OR p.facility_id = $1) AND `+cond+`
		ORDER BY p.facility_id NULLS LAST`, facility, arg)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (therapy.Product, error) {
		var p therapy.Product
		var ings []string
		err := row.Scan(&p.ID, &p.AIC, &p.GTIN, &p.Name, &p.Form, &p.Routes, &p.UnitsPerPack, &p.HighAlert, &p.LASA,
			&p.DoNotCrush, &p.TimeCritical, &p.Withdrawn, &ings)
		for _, s := range ings {
			f := strings.SplitN(s, "|", 4)
			if len(f) == 4 {
				p.Ingredients = append(p.Ingredients, therapy.ProductIngredient{Name: f[0], ATC: f[1], Strength: parseDec(&f[2]), Unit: f[3]})
			}
		}
		return p, err
	})
	return out, translate(err)
}

// Prescriptions lists a resident's live prescriptions (or every version).
func (s TherapyStore) Prescriptions(ctx context.Context, facility, resident uuid.UUID, history bool) ([]therapy.Prescription, error) {
	cond := " AND p.status IN ('active', 'suspended')"
	if history {
		cond = ""
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+prescriptionColumns+` FROM prescriptions p
		WHERE p.facility_id = $1 AND p.resident_id = $2`+cond+` ORDER BY p.prescribed_at, p.id`, facility, resident)
	if err != nil {
		return nil, translate(err)
	}
	ps, err := pgx.CollectRows(rows, scanPrescription)
	if err != nil {
		return nil, translate(err)
	}
	return ps, withProducts(ctx, s.Pool, facility, ps)
}

func readPrescription(ctx context.Context, q querier, facility, id uuid.UUID, lock bool) (therapy.Prescription, error) {
	sql := `SELECT ` + prescriptionColumns + ` FROM prescriptions p WHERE p.facility_id = $1 AND p.id = $2`
	if lock {
		sql += " FOR UPDATE"
	}
	rows, err := q.Query(ctx, sql, facility, id)
	if err != nil {
		return therapy.Prescription{}, translate(err)
	}
	p, err := pgx.CollectExactlyOneRow(rows, scanPrescription)
	if err != nil {
		return p, translate(err)
	}
	ps := []therapy.Prescription{p}
	err = withProducts(ctx, q, facility, ps)
	return ps[0], err
}

// Prescription reads one version.
func (s TherapyStore) Prescription(ctx context.Context, facility, id uuid.UUID) (therapy.Prescription, error) {
	return readPrescription(ctx, s.Pool, facility, id, false)
}

// Product reads a product visible to facility.
func (s TherapyStore) Product(ctx context.Context, facility, id uuid.UUID) (*therapy.Product, error) {
	ps, err := loadProducts(ctx, s.Pool, facility, "p.id = $2", id)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	return &ps[0], nil
}

// ProductByCode finds a product by AIC or GTIN, the facility's own first.
func (s TherapyStore) ProductByCode(ctx context.Context, facility uuid.UUID, aic, gtin string) (*therapy.Product, error) {
	var ps []therapy.Product
	var err error
	if aic != "" {
		ps, err = loadProducts(ctx, s.Pool, facility, "p.aic = $2", aic)
	}
	if err == nil && len(ps) == 0 && gtin != "" {
		ps, err = loadProducts(ctx, s.Pool, facility, "p.gtin = $2", gtin)
	}
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, backend.E(backend.KindNotFound, backend.CodeNotFound)
	}
	return &ps[0], nil
}

const doseColumns = `d.id, d.prescription_id, d.resident_id, d.due_at, d.window_min, d.missed_at, d.status = 'cancelled', d.cancel_reason`

func scanDose(row pgx.CollectableRow) (therapy.Dose, error) {
	var d therapy.Dose
	err := row.Scan(&d.ID, &d.PrescriptionID, &d.ResidentID, &d.DueAt, &d.WindowMin, &d.MissedAt, &d.Cancelled, &d.CancelReason)
	return d, err
}

const adminColumns = `a.id, a.dose_id, a.attempt, a.prescription_id, p.series_id, a.resident_id, a.outcome, a.quantity::text,
	a.quantity_unit, a.reason, a.administered_at, a.recorded_at, a.recorded_by, s.given_name || ' ' || s.family_name,
	a.device_id, a.witness_id, a.product_id, a.scan, a.unable_to_scan, a.verification_id, a.gtin, a.aic, a.batch, a.expiry,
	a.altered_form, a.prn_indication, a.warnings, a.overridden, a.override_reason, a.override_note, a.notes,
	c.id, c.reason, c.recorded_by, c.recorded_at, k.id, k.effective, k.notes, k.recorded_by, k.recorded_at`

const adminFrom = ` FROM administrations a
	JOIN prescriptions p ON p.facility_id = a.facility_id AND p.id = a.prescription_id
	JOIN staff s ON s.facility_id = a.facility_id AND s.id = a.recorded_by
	LEFT JOIN administration_corrections c ON c.facility_id = a.facility_id AND c.administration_id = a.id
	LEFT JOIN prn_checks k ON k.facility_id = a.facility_id AND k.administration_id = a.id`

func scanAdministration(row pgx.CollectableRow) (therapy.Administration, error) {
	var a therapy.Administration
	var dose, device, witness, product, verification *uuid.UUID
	var qty *string
	var expiry *time.Time
	var cID, cBy, kID, kBy *uuid.UUID
	var cReason, kEff, kNotes *string
	var cAt, kAt *time.Time
	err := row.Scan(&a.ID, &dose, &a.Attempt, &a.PrescriptionID, &a.SeriesID, &a.ResidentID, &a.Outcome, &qty,
		&a.QuantityUnit, &a.Reason, &a.AdministeredAt, &a.RecordedAt, &a.RecordedBy, &a.RecordedByName, &device, &witness,
		&product, &a.Scan, &a.UnableToScan, &verification, &a.GTIN, &a.AIC, &a.Batch, &expiry, &a.AlteredForm,
		&a.PRNIndication, &a.Warnings, &a.Overridden, &a.OverrideReason, &a.OverrideNote, &a.Notes,
		&cID, &cReason, &cBy, &cAt, &kID, &kEff, &kNotes, &kBy, &kAt)
	if err != nil {
		return a, err
	}
	a.DoseID, a.DeviceID, a.WitnessID, a.ProductID, a.VerificationID = deref(dose), deref(device), deref(witness), deref(product), deref(verification)
	a.Quantity = parseDec(qty)
	if expiry != nil {
		a.Expiry = *expiry
	}
	if cID != nil {
		a.Correction = &therapy.Correction{ID: *cID, Reason: *cReason, RecordedBy: *cBy, RecordedAt: *cAt}
	}
	if kID != nil {
		a.Check = &therapy.PRNCheck{ID: *kID, Effective: *kEff, Notes: *kNotes, RecordedBy: *kBy, RecordedAt: *kAt}
	}
	return a, nil
}

// Doses lists a resident's doses due in [from, to), the acts on them and
// the PRN acts of the period.
func (s TherapyStore) Doses(ctx context.Context, facility, resident uuid.UUID, from, to time.Time) ([]therapy.Dose, []therapy.Administration, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+doseColumns+` FROM doses d
		WHERE d.facility_id = $1 AND d.resident_id = $2 AND d.due_at >= $3 AND d.due_at < $4
		ORDER BY d.due_at, d.id`, facility, resident, from, to)
	if err != nil {
		return nil, nil, translate(err)
	}
	doses, err := pgx.CollectRows(rows, scanDose)
	if err != nil {
		return nil, nil, translate(err)
	}
	rows, err = s.Pool.Query(ctx, `SELECT `+adminColumns+adminFrom+`
		WHERE a.facility_id = $1 AND a.resident_id = $2
		  AND (a.dose_id IN (SELECT d.id FROM doses d WHERE d.facility_id = $1 AND d.resident_id = $2 AND d.due_at >= $3 AND d.due_at < $4)
		       OR (a.dose_id IS NULL AND a.administered_at >= $3 AND a.administered_at < $4))
		ORDER BY a.attempt, a.recorded_at`, facility, resident, from, to)
	if err != nil {
		return nil, nil, translate(err)
	}
	acts, err := pgx.CollectRows(rows, scanAdministration)
	return doses, acts, translate(err)
}

// Ward reads the admitted residents of a ward, their live prescriptions,
// the doses due in [from, to) and the acts on them, with the PRN acts of
// the period.
func (s TherapyStore) Ward(ctx context.Context, facility, ward, staff uuid.UUID, from, to time.Time) (therapy.WardSnapshot, error) {
	var snap therapy.WardSnapshot
	ok, err := s.WardExists(ctx, facility, ward)
	if err != nil {
		return snap, err
	}
	if !ok {
		return snap, backend.E(backend.KindNotFound, backend.CodeWardNotFound)
	}
	if snap.Residents, err = residentFacts(ctx, s.Pool, facility, staff, "r.ward_id = $2 AND r.status = 'admitted'", ward); err != nil {
		return snap, err
	}
	ids := make([]uuid.UUID, len(snap.Residents))
	for i, r := range snap.Residents {
		ids[i] = r.ID
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+prescriptionColumns+` FROM prescriptions p
		WHERE p.facility_id = $1 AND p.resident_id = ANY($2) AND p.status IN ('active', 'suspended')`, facility, ids)
	if err != nil {
		return snap, translate(err)
	}
	if snap.Prescriptions, err = pgx.CollectRows(rows, scanPrescription); err != nil {
		return snap, translate(err)
	}
	if err := withProducts(ctx, s.Pool, facility, snap.Prescriptions); err != nil {
		return snap, err
	}
	rows, err = s.Pool.Query(ctx, `SELECT `+doseColumns+` FROM doses d
		WHERE d.facility_id = $1 AND d.resident_id = ANY($2) AND d.status = 'scheduled' AND d.due_at >= $3 AND d.due_at < $4
		ORDER BY d.due_at`, facility, ids, from, to)
	if err != nil {
		return snap, translate(err)
	}
	if snap.Doses, err = pgx.CollectRows(rows, scanDose); err != nil {
		return snap, translate(err)
	}
	rows, err = s.Pool.Query(ctx, `SELECT `+adminColumns+adminFrom+`
		WHERE a.facility_id = $1 AND a.resident_id = ANY($2)
		  AND (a.dose_id IN (SELECT d.id FROM doses d WHERE d.facility_id = $1 AND d.resident_id = ANY($2) AND d.due_at >= $3 AND d.due_at < $4)
		       OR (a.dose_id IS NULL AND a.administered_at >= $3 - interval '24 hours' AND a.administered_at < $4))
		ORDER BY a.attempt, a.recorded_at`, facility, ids, from, to)
	if err != nil {
		return snap, translate(err)
	}
	snap.Acts, err = pgx.CollectRows(rows, scanAdministration)
	return snap, translate(err)
}

// DueElsewhere reports whether product is due in [from, to) for another
// admitted resident of the ward.
func (s TherapyStore) DueElsewhere(ctx context.Context, facility, ward, except uuid.UUID, product *therapy.Product, from, to time.Time) (bool, error) {
	var atc, strength, unit string
	if len(product.Ingredients) == 1 {
		in := product.Ingredients[0]
		atc, strength, unit = in.ATC, in.Strength.String(), in.Unit
	}
	var found bool
	err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM doses d
		JOIN residents r ON r.facility_id = d.facility_id AND r.id = d.resident_id
		JOIN prescriptions p ON p.facility_id = d.facility_id AND p.id = d.prescription_id
		LEFT JOIN products pr ON pr.id = p.product_id
		WHERE d.facility_id = $1 AND r.ward_id = $2 AND r.status = 'admitted' AND d.resident_id <> $3
		  AND d.status = 'scheduled' AND d.due_at >= $4 AND d.due_at < $5 AND p.status = 'active'
		  AND (p.product_id = $6 OR ($7 <> '' AND pr.aic = $7)
		       OR ($8 <> '' AND p.ingredient_atc = $8 AND p.strength = nullif($9, '')::numeric AND lower(p.strength_unit) = lower($10))))`,
		facility, ward, except, from, to, product.ID, product.AIC, atc, strength, unit).Scan(&found)
	return found, translate(err)
}

// Verification reads a stored bedside check.
func (s TherapyStore) Verification(ctx context.Context, facility, id uuid.UUID) (therapy.Verification, error) {
	var v therapy.Verification
	var product, dose *uuid.UUID
	err := s.Pool.QueryRow(ctx, `SELECT id, resident_id, staff_id, barcode, wristband_scanned, product_id, dose_id, verdict,
			codes, checked_at FROM verifications WHERE facility_id = $1 AND id = $2`, facility, id).
		Scan(&v.ID, &v.ResidentID, &v.StaffID, &v.Barcode, &v.Wristband, &product, &dose, &v.Verdict, &v.Codes, &v.CheckedAt)
	v.ProductID, v.DoseID = deref(product), deref(dose)
	return v, translate(err)
}

// Recalls lists the doses of a batch taken by residents of the facility.
func (s TherapyStore) Recalls(ctx context.Context, facility uuid.UUID, q therapy.RecallQuery) ([]therapy.RecallHit, error) {
	rows, err := s.Pool.Query(ctx, `SELECT r.id, r.given_name, r.family_name, r.ward_id, a.id, a.administered_at, a.outcome,
			a.batch, coalesce(pr.name, ''), coalesce(nullif(a.aic, ''), pr.aic, ''), coalesce(nullif(a.gtin, ''), pr.gtin, '')
		FROM administrations a
		JOIN residents r ON r.facility_id = a.facility_id AND r.id = a.resident_id
		LEFT JOIN products pr ON pr.id = a.product_id
		WHERE a.facility_id = $1 AND a.batch = $2 AND a.outcome IN ('given', 'partial')
		  AND NOT EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id)
		  AND (($3 <> '' AND (a.gtin = $3 OR pr.gtin = $3)) OR ($4 <> '' AND (a.aic = $4 OR pr.aic = $4)))
		ORDER BY a.administered_at, a.id`, facility, q.Batch, q.GTIN, q.AIC)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (therapy.RecallHit, error) {
		var h therapy.RecallHit
		var ward *uuid.UUID
		err := row.Scan(&h.ResidentID, &h.GivenName, &h.FamilyName, &ward, &h.AdministrationID, &h.AdministeredAt,
			&h.Outcome, &h.Batch, &h.ProductName, &h.AIC, &h.GTIN)
		h.WardID = deref(ward)
		return h, err
	})
	return out, translate(err)
}

// StaffName is a colleague's display name.
func (s TherapyStore) StaffName(ctx context.Context, facility, id uuid.UUID) (string, error) {
	var name string
	err := s.Pool.QueryRow(ctx, "SELECT given_name || ' ' || family_name FROM staff WHERE facility_id = $1 AND id = $2", facility, id).Scan(&name)
	return name, translate(err)
}

// LivePrescriptionsBehind lists scheduled live prescriptions whose doses
// are materialised less far than until, the furthest behind first.
func (s TherapyStore) LivePrescriptionsBehind(ctx context.Context, until time.Time, limit int) ([]therapy.Prescription, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+prescriptionColumns+` FROM prescriptions p
		LEFT JOIN dose_horizons h ON h.facility_id = p.facility_id AND h.prescription_id = p.id
		WHERE p.status IN ('active', 'suspended') AND NOT p.prn AND (h.until IS NULL OR h.until < $1)
		ORDER BY h.until NULLS FIRST LIMIT $2`, until, limit)
	if err != nil {
		return nil, translate(err)
	}
	ps, err := pgx.CollectRows(rows, scanPrescription)
	if err != nil {
		return nil, translate(err)
	}
	for i := range ps {
		if err := withProducts(ctx, s.Pool, ps[i].FacilityID, ps[i:i+1]); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// Tx runs fn in one transaction.
func (s TherapyStore) Tx(ctx context.Context, actor *backend.Actor, fn func(therapy.Tx) error) error {
	return s.inTx(ctx, actor, func(tx pgx.Tx) error { return fn(therapyTx{tx}) })
}

type therapyTx struct{ tx pgx.Tx }

func (t therapyTx) AppendAudit(ctx context.Context, events ...audit.Event) error {
	return appendAudit(ctx, t.tx, events...)
}

// LockKey takes a transaction-scoped advisory lock on (facility, staff,
// key), so concurrent requests with one key run one after the other, and
// returns the stored answer if there is one.
func (t therapyTx) LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*therapy.StoredResponse, error) {
	if _, err := t.tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))",
		"idem:"+facility.String()+":"+staff.String()+":"+key.String()); err != nil {
		return nil, translate(err)
	}
	var r therapy.StoredResponse
	err := t.tx.QueryRow(ctx, `SELECT operation, request_hash, response FROM idempotency_keys
		WHERE facility_id = $1 AND staff_id = $2 AND key = $3`, facility, staff, key).Scan(&r.Operation, &r.Hash, &r.Body)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, translate(err)
	}
	return &r, nil
}

func (t therapyTx) SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r therapy.StoredResponse) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO idempotency_keys (facility_id, staff_id, key, operation, request_hash, status, response)
		VALUES ($1, $2, $3, $4, $5, 201, $6)`, facility, staff, key, r.Operation, r.Hash, r.Body)
	return translate(err)
}

func (t therapyTx) SaveSettings(ctx context.Context, facility uuid.UUID, s *therapy.Settings) error {
	if _, err := t.tx.Exec(ctx, "INSERT INTO therapy_settings (facility_id) VALUES ($1) ON CONFLICT DO NOTHING", facility); err != nil {
		return translate(err)
	}
	err := t.tx.QueryRow(ctx, `UPDATE therapy_settings SET window_time_critical_min = $3, window_frequent_min = $4,
			window_daily_min = $5, horizon_hours = $6, oss_assisted_intake = $7, overridable_blocks = $8, escalate_after_min = $9
		WHERE facility_id = $1 AND version = $2 RETURNING version`, facility, s.Version, s.WindowTimeCriticalMin,
		s.WindowFrequentMin, s.WindowDailyMin, s.HorizonHours, s.OSSAssistedIntake, s.Overridable, s.EscalateAfterMin).Scan(&s.Version)
	if err == pgx.ErrNoRows {
		return backend.E(backend.KindConflict, backend.CodeVersionConflict, "the settings changed since you read them")
	}
	return translate(err)
}

func (t therapyTx) InsertPrescription(ctx context.Context, p *therapy.Prescription) error {
	sched, err := json.Marshal(p.Schedule)
	if err != nil {
		return backend.Internal(err, "marshal schedule")
	}
	var atc, ingName, strength, strengthUnit any = nil, "", nil, ""
	if p.Ingredient != nil {
		atc, ingName, strength, strengthUnit = p.Ingredient.ATC, p.Ingredient.Name, p.Ingredient.Strength.String(), p.Ingredient.Unit
	}
	var indication string
	var minInt, maxPer, checkAfter any
	if p.PRN != nil {
		indication, minInt, maxPer = p.PRN.Indication, p.PRN.MinIntervalMin, p.PRN.MaxPer24h
		if p.PRN.CheckAfterMin > 0 {
			checkAfter = p.PRN.CheckAfterMin
		}
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO prescriptions (facility_id, id, series_id, supersedes, resident_id, product_id,
			ingredient_atc, ingredient_name, strength, strength_unit, dose, dose_unit, route, schedule, prn, prn_indication,
			prn_min_interval_min, prn_max_per_24h, prn_check_after_min, starts_at, ends_at, instructions, time_critical,
			status, prescribed_by, prescribed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::numeric, $10, $11::numeric, $12, $13, $14, $15, $16, $17, $18, $19,
			$20, $21, $22, $23, $24, $25, $26)`,
		p.FacilityID, p.ID, p.SeriesID, nullUUID(p.Supersedes), p.ResidentID, nullUUID(p.ProductID), atc, ingName,
		strength, strengthUnit, p.Dose.String(), p.DoseUnit, p.Route, sched, p.Schedule.Kind == therapy.SchedulePRN,
		indication, minInt, maxPer, checkAfter, p.StartsAt, nullTime(p.EndsAt), p.Instructions, p.TimeCritical,
		string(p.Status), p.PrescribedBy, p.PrescribedAt)
	return translate(err)
}

func (t therapyTx) LockPrescription(ctx context.Context, facility, id uuid.UUID) (therapy.Prescription, error) {
	p, err := readPrescription(ctx, t.tx, facility, id, true)
	if backend.IsKind(err, backend.KindNotFound) {
		return p, backend.E(backend.KindNotFound, "prescription.not_found")
	}
	return p, err
}

func (t therapyTx) SetStatus(ctx context.Context, p *therapy.Prescription) error {
	err := t.tx.QueryRow(ctx, `UPDATE prescriptions SET status = $4, status_reason = $5, suspended_until = $6, ends_at = $7
		WHERE facility_id = $1 AND id = $2 AND version = $3 RETURNING version`, p.FacilityID, p.ID, p.Version,
		string(p.Status), p.StatusReason, nullTime(p.SuspendedUntil), nullTime(p.EndsAt)).Scan(&p.Version)
	if err == pgx.ErrNoRows {
		return backend.E(backend.KindConflict, backend.CodeVersionConflict, "the prescription changed since you read it")
	}
	return translate(err)
}

func (t therapyTx) Horizon(ctx context.Context, facility, prescription uuid.UUID) (time.Time, error) {
	var until time.Time
	err := t.tx.QueryRow(ctx, `SELECT until FROM dose_horizons WHERE facility_id = $1 AND prescription_id = $2 FOR UPDATE`,
		facility, prescription).Scan(&until)
	if err == pgx.ErrNoRows {
		return time.Time{}, nil
	}
	return until, translate(err)
}

func (t therapyTx) SetHorizon(ctx context.Context, facility, prescription uuid.UUID, until time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO dose_horizons (facility_id, prescription_id, until) VALUES ($1, $2, $3)
		ON CONFLICT (facility_id, prescription_id) DO UPDATE SET until = greatest(dose_horizons.until, excluded.until)`,
		facility, prescription, until)
	return translate(err)
}

func (t therapyTx) InsertDoses(ctx context.Context, facility uuid.UUID, doses []therapy.Dose) (int, error) {
	if len(doses) == 0 {
		return 0, nil
	}
	ids, ps, rs := make([]uuid.UUID, len(doses)), make([]uuid.UUID, len(doses)), make([]uuid.UUID, len(doses))
	due, missed := make([]time.Time, len(doses)), make([]time.Time, len(doses))
	win := make([]int32, len(doses))
	for i, d := range doses {
		ids[i], ps[i], rs[i], due[i], missed[i], win[i] = d.ID, d.PrescriptionID, d.ResidentID, d.DueAt, d.MissedAt, int32(d.WindowMin)
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO doses (facility_id, id, prescription_id, resident_id, due_at, window_min, missed_at)
		SELECT $1, u.id, u.p, u.r, u.due, u.w, u.missed
		FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[], $6::int[], $7::timestamptz[]) AS u(id, p, r, due, w, missed)
		ON CONFLICT (facility_id, prescription_id, due_at) WHERE status = 'scheduled' DO NOTHING`,
		facility, ids, ps, rs, due, win, missed)
	return int(tag.RowsAffected()), translate(err)
}

func (t therapyTx) CancelDoses(ctx context.Context, facility, prescription uuid.UUID, from, until, openAt time.Time, reason string) (int, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE doses d SET status = 'cancelled', cancel_reason = $5
		WHERE d.facility_id = $1 AND d.prescription_id = $2 AND d.status = 'scheduled'
		  AND ((d.due_at >= $3 AND ($4::timestamptz IS NULL OR d.due_at < $4)) OR (d.due_at < $3 AND d.missed_at > $6))
		  AND NOT EXISTS (SELECT 1 FROM administrations a WHERE a.facility_id = d.facility_id AND a.dose_id = d.id
		      AND NOT EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id))`,
		facility, prescription, from, nullTime(until), reason, nullTime(openAt))
	return int(tag.RowsAffected()), translate(err)
}

func (t therapyTx) readDose(ctx context.Context, facility, id uuid.UUID, lock bool) (therapy.Dose, error) {
	sql := `SELECT ` + doseColumns + ` FROM doses d WHERE d.facility_id = $1 AND d.id = $2`
	if lock {
		sql += " FOR UPDATE"
	}
	rows, err := t.tx.Query(ctx, sql, facility, id)
	if err != nil {
		return therapy.Dose{}, translate(err)
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDose)
	if backend.IsKind(translate(err), backend.KindNotFound) {
		return d, backend.E(backend.KindNotFound, "dose.not_found")
	}
	return d, translate(err)
}

func (t therapyTx) LockDose(ctx context.Context, facility, id uuid.UUID) (therapy.Dose, error) {
	return t.readDose(ctx, facility, id, true)
}

func (t therapyTx) ReadDose(ctx context.Context, facility, id uuid.UUID) (therapy.Dose, error) {
	return t.readDose(ctx, facility, id, false)
}

func (t therapyTx) readAdministration(ctx context.Context, facility, id uuid.UUID, lock bool) (therapy.Administration, error) {
	sql := `SELECT ` + adminColumns + adminFrom + ` WHERE a.facility_id = $1 AND a.id = $2`
	if lock {
		sql += " FOR UPDATE OF a"
	}
	rows, err := t.tx.Query(ctx, sql, facility, id)
	if err != nil {
		return therapy.Administration{}, translate(err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, scanAdministration)
	if backend.IsKind(translate(err), backend.KindNotFound) {
		return a, backend.E(backend.KindNotFound, "administration.not_found")
	}
	return a, translate(err)
}

func (t therapyTx) LockAdministration(ctx context.Context, facility, id uuid.UUID) (therapy.Administration, error) {
	return t.readAdministration(ctx, facility, id, true)
}

func (t therapyTx) ReadAdministration(ctx context.Context, facility, id uuid.UUID) (therapy.Administration, error) {
	return t.readAdministration(ctx, facility, id, false)
}

func (t therapyTx) PRNTimes(ctx context.Context, facility, series uuid.UUID, since time.Time) ([]time.Time, error) {
	rows, err := t.tx.Query(ctx, `SELECT a.administered_at FROM administrations a
		JOIN prescriptions p ON p.facility_id = a.facility_id AND p.id = a.prescription_id
		WHERE a.facility_id = $1 AND p.series_id = $2 AND a.dose_id IS NULL AND a.outcome IN ('given', 'partial')
		  AND a.administered_at >= $3
		  AND NOT EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id)`,
		facility, series, since)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	return out, translate(err)
}

func (t therapyTx) CurrentAct(ctx context.Context, facility, dose uuid.UUID) (*therapy.Administration, int, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+adminColumns+adminFrom+` WHERE a.facility_id = $1 AND a.dose_id = $2
		ORDER BY a.attempt`, facility, dose)
	if err != nil {
		return nil, 0, translate(err)
	}
	acts, err := pgx.CollectRows(rows, scanAdministration)
	if err != nil {
		return nil, 0, translate(err)
	}
	next := 0
	for i := range acts {
		if acts[i].Correction == nil {
			return &acts[i], 0, nil
		}
		next = acts[i].Attempt + 1
	}
	return nil, next, nil
}

func (t therapyTx) InsertAdministration(ctx context.Context, facility uuid.UUID, a *therapy.Administration) error {
	var expiry any
	if !a.Expiry.IsZero() {
		expiry = a.Expiry.Format(time.DateOnly)
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO administrations (facility_id, id, dose_id, attempt, prescription_id, resident_id,
			outcome, quantity, quantity_unit, reason, administered_at, recorded_at, recorded_by, device_id, witness_id,
			product_id, scan, unable_to_scan, scanned_wristband, scanned_pack, verification_id, gtin, aic, batch, expiry,
			altered_form, prn_indication, warnings, overridden, override_reason, override_note, notes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
			$22, $23, $24, $25::date, $26, $27, $28, $29, $30, $31, $32)`,
		facility, a.ID, nullUUID(a.DoseID), a.Attempt, a.PrescriptionID, a.ResidentID, string(a.Outcome), decText(a.Quantity),
		a.QuantityUnit, a.Reason, a.AdministeredAt, a.RecordedAt, a.RecordedBy, nullUUID(a.DeviceID), nullUUID(a.WitnessID),
		nullUUID(a.ProductID), a.Scan, a.UnableToScan, a.ScannedWristband, a.ScannedPack, nullUUID(a.VerificationID),
		a.GTIN, a.AIC, a.Batch, expiry, a.AlteredForm, a.PRNIndication, a.Warnings, a.Overridden, a.OverrideReason,
		a.OverrideNote, a.Notes)
	return translate(err)
}

func (t therapyTx) InsertCorrection(ctx context.Context, facility, administration uuid.UUID, c *therapy.Correction) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO administration_corrections (facility_id, id, administration_id, reason, recorded_by, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, facility, c.ID, administration, c.Reason, c.RecordedBy, c.RecordedAt)
	return translate(err)
}

func (t therapyTx) InsertPRNCheck(ctx context.Context, facility, administration uuid.UUID, c *therapy.PRNCheck) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO prn_checks (facility_id, id, administration_id, effective, notes, recorded_by, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, facility, c.ID, administration, c.Effective, c.Notes, c.RecordedBy, c.RecordedAt)
	return translate(err)
}

func (t therapyTx) InsertAssistedIntake(ctx context.Context, facility uuid.UUID, in *therapy.AssistedIntake) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO assisted_intakes (facility_id, id, administration_id, resident_id, outcome, notes,
			recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		facility, in.ID, in.AdministrationID, in.ResidentID, in.Outcome, in.Notes, in.RecordedBy, in.RecordedAt)
	return translate(err)
}

func (t therapyTx) InsertVerification(ctx context.Context, facility uuid.UUID, v *therapy.Verification, device uuid.UUID) error {
	codes := v.Codes
	if codes == nil {
		codes = []string{}
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO verifications (facility_id, id, resident_id, staff_id, device_id, wristband_scanned,
			barcode, product_id, dose_id, verdict, codes, checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		facility, v.ID, v.ResidentID, v.StaffID, nullUUID(device), v.Wristband, v.Barcode, nullUUID(v.ProductID),
		nullUUID(v.DoseID), v.Verdict, codes, v.CheckedAt)
	return translate(err)
}

func (t therapyTx) CloseReconciliation(ctx context.Context, facility, resident, by uuid.UUID, outcome, notes string) (bool, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE reconciliations SET outcome = $4, notes = $5, recorded_by = $3, recorded_at = now()
		WHERE facility_id = $1 AND resident_id = $2 AND outcome IS NULL`, facility, resident, by, outcome, notes)
	return tag.RowsAffected() > 0, translate(err)
}

func (t therapyTx) CanWitness(ctx context.Context, facility, staff uuid.UUID) (bool, error) {
	var ok bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM staff s JOIN staff_roles r ON r.facility_id = s.facility_id AND r.staff_id = s.id
		WHERE s.facility_id = $1 AND s.id = $2 AND s.active AND r.role IN ('nurse', 'physician'))`, facility, staff).Scan(&ok)
	return ok, translate(err)
}

// AdministrationIndicators computes the administration figures per ward and
// the overrides per person for doses due (and PRN doses given) in [from, to).
func (s TherapyStore) AdministrationIndicators(ctx context.Context, facility uuid.UUID, from, to, now time.Time) (therapy.Indicators, error) {
	ind := therapy.Indicators{From: from, To: to, Wards: []therapy.WardIndicators{}, Overrides: []therapy.StaffOverrides{}}
	// Acts are attributed to the ward the resident is on now: transfers
	// within a period are rare and the audit trail keeps the detail.
	rows, err := s.Pool.Query(ctx, `WITH acts AS (
			SELECT a.*, r.ward_id,
				EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id) AS corrected,
				d.due_at, d.window_min
			FROM administrations a
			JOIN residents r ON r.facility_id = a.facility_id AND r.id = a.resident_id
			LEFT JOIN doses d ON d.facility_id = a.facility_id AND d.id = a.dose_id
			WHERE a.facility_id = $1 AND ((a.dose_id IS NOT NULL AND d.due_at >= $2 AND d.due_at < $3)
			   OR (a.dose_id IS NULL AND a.administered_at >= $2 AND a.administered_at < $3))),
		due AS (
			SELECT r.ward_id, count(*) AS n,
				count(*) FILTER (WHERE d.missed_at <= $4 AND NOT EXISTS (SELECT 1 FROM administrations a
					WHERE a.facility_id = d.facility_id AND a.dose_id = d.id AND NOT EXISTS (SELECT 1 FROM administration_corrections c
					WHERE c.facility_id = a.facility_id AND c.administration_id = a.id))) AS missed
			FROM doses d JOIN residents r ON r.facility_id = d.facility_id AND r.id = d.resident_id
			WHERE d.facility_id = $1 AND d.status = 'scheduled' AND d.due_at >= $2 AND d.due_at < $3
			GROUP BY r.ward_id)
		SELECT w.id, w.code, coalesce(due.n, 0), coalesce(due.missed, 0),
			count(a.id) FILTER (WHERE NOT a.corrected AND a.dose_id IS NOT NULL AND a.outcome = 'given'
				AND a.administered_at <= a.due_at + make_interval(mins => a.window_min)),
			count(a.id) FILTER (WHERE NOT a.corrected AND a.dose_id IS NOT NULL AND a.outcome = 'given'
				AND a.administered_at > a.due_at + make_interval(mins => a.window_min)),
			count(a.id) FILTER (WHERE NOT a.corrected AND a.outcome = 'partial'),
			count(a.id) FILTER (WHERE NOT a.corrected AND a.outcome = 'refused'),
			count(a.id) FILTER (WHERE NOT a.corrected AND a.outcome = 'held'),
			count(a.id) FILTER (WHERE NOT a.corrected AND a.outcome = 'omitted'),
			count(a.id) FILTER (WHERE NOT a.corrected AND a.dose_id IS NULL AND a.outcome IN ('given', 'partial')),
			count(a.id) FILTER (WHERE NOT a.corrected AND a.scan = 'scanned'),
			count(a.id) FILTER (WHERE NOT a.corrected AND a.scan = 'keyed'),
			count(a.id) FILTER (WHERE a.overridden <> '{}'),
			count(a.id) FILTER (WHERE a.corrected)
		FROM wards w
		LEFT JOIN due ON due.ward_id = w.id
		LEFT JOIN acts a ON a.ward_id = w.id
		WHERE w.facility_id = $1
		GROUP BY w.id, w.code, due.n, due.missed ORDER BY w.code`, facility, from, to, now)
	if err != nil {
		return ind, translate(err)
	}
	ind.Wards, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (therapy.WardIndicators, error) {
		var w therapy.WardIndicators
		err := row.Scan(&w.WardID, &w.WardCode, &w.DosesDue, &w.Missed, &w.Given, &w.Late, &w.Partial, &w.Refused, &w.Held,
			&w.Omitted, &w.PRN, &w.Scanned, &w.Keyed, &w.Overrides, &w.EnteredInError)
		w.KeyedReasons = map[string]int{}
		return w, err
	})
	if err != nil {
		return ind, translate(err)
	}
	// Why packs or wristbands were not scanned, per ward.
	rows, err = s.Pool.Query(ctx, `SELECT r.ward_id, a.unable_to_scan, count(*) FROM administrations a
		JOIN residents r ON r.facility_id = a.facility_id AND r.id = a.resident_id
		LEFT JOIN doses d ON d.facility_id = a.facility_id AND d.id = a.dose_id
		WHERE a.facility_id = $1 AND a.scan = 'keyed'
		  AND coalesce(d.due_at, a.administered_at) >= $2 AND coalesce(d.due_at, a.administered_at) < $3
		  AND NOT EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id)
		GROUP BY 1, 2`, facility, from, to)
	if err != nil {
		return ind, translate(err)
	}
	byWard := map[uuid.UUID]*therapy.WardIndicators{}
	for i := range ind.Wards {
		byWard[ind.Wards[i].WardID] = &ind.Wards[i]
	}
	for rows.Next() {
		var ward *uuid.UUID
		var reason string
		var n int
		if err := rows.Scan(&ward, &reason, &n); err != nil {
			rows.Close()
			return ind, translate(err)
		}
		if w := byWard[deref(ward)]; w != nil {
			w.KeyedReasons[reason] = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return ind, translate(err)
	}
	rows, err = s.Pool.Query(ctx, `SELECT a.recorded_by, s.given_name || ' ' || s.family_name, r.ward_id, b.block, count(*)
		FROM administrations a
		JOIN residents r ON r.facility_id = a.facility_id AND r.id = a.resident_id
		JOIN staff s ON s.facility_id = a.facility_id AND s.id = a.recorded_by
		CROSS JOIN LATERAL unnest(a.overridden) AS b(block)
		WHERE a.facility_id = $1 AND a.recorded_at >= $2 AND a.recorded_at < $3
		GROUP BY 1, 2, 3, 4 ORDER BY 2, 3, 4`, facility, from, to)
	if err != nil {
		return ind, translate(err)
	}
	defer rows.Close()
	idx := map[[2]uuid.UUID]int{}
	for rows.Next() {
		var staff uuid.UUID
		var ward *uuid.UUID
		var name, block string
		var n int
		if err := rows.Scan(&staff, &name, &ward, &block, &n); err != nil {
			return ind, translate(err)
		}
		k := [2]uuid.UUID{staff, deref(ward)}
		i, ok := idx[k]
		if !ok {
			i = len(ind.Overrides)
			idx[k] = i
			ind.Overrides = append(ind.Overrides, therapy.StaffOverrides{StaffID: staff, Name: name, WardID: deref(ward), ByBlock: map[string]int{}})
		}
		ind.Overrides[i].ByBlock[block] += n
	}
	for i := range ind.Overrides {
		for _, n := range ind.Overrides[i].ByBlock {
			ind.Overrides[i].Count += n
		}
	}
	return ind, translate(rows.Err())
}

// RaiseAlert opens a bedside alert chain (once per kind and subject) and
// notifies the active staff of the ward holding role — for physicians, the
// facility's directors when the ward has none — with the outbox rows.
func (t therapyTx) RaiseAlert(ctx context.Context, facility uuid.UUID, al therapy.Alert, role string) error {
	_, err := t.tx.Exec(ctx, `WITH ins AS (
			INSERT INTO alerts (facility_id, id, kind, ward_id, resident_id, dose_id, administration_id, subject)
			VALUES ($1, gen_random_uuid(), $2, $3, $4, $5, $6, $7)
			ON CONFLICT DO NOTHING RETURNING id, ward_id),
		ward AS (
			SELECT ins.id AS alert_id, s.id AS staff_id FROM ins
			JOIN ward_assignments w ON w.facility_id = $1 AND w.ward_id = ins.ward_id
			JOIN staff s ON s.facility_id = $1 AND s.id = w.staff_id AND s.active
			JOIN staff_roles sr ON sr.facility_id = $1 AND sr.staff_id = s.id AND sr.role = $8),
		recipients AS (
			SELECT alert_id, staff_id FROM ward
			UNION
			SELECT ins.id, s.id FROM ins
			JOIN staff s ON s.facility_id = $1 AND s.active
			JOIN staff_roles sr ON sr.facility_id = $1 AND sr.staff_id = s.id AND sr.role = 'director'
			WHERE $8 = 'physician' AND NOT EXISTS (SELECT 1 FROM ward)),
		notes AS (
			INSERT INTO notifications (facility_id, id, alert_id, staff_id, kind)
			SELECT $1, gen_random_uuid(), alert_id, staff_id, $2 FROM recipients
			ON CONFLICT DO NOTHING RETURNING id)
		INSERT INTO outbox (facility_id, notification_id) SELECT $1, id FROM notes`,
		facility, al.Kind, al.WardID, al.ResidentID, nullUUID(al.DoseID), nullUUID(al.AdministrationID), al.Subject, role)
	return translate(err)
}

// Refusals counts the refusals of a prescription series since a moment.
func (t therapyTx) Refusals(ctx context.Context, facility, series uuid.UUID, since time.Time) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT count(*) FROM administrations a
		JOIN prescriptions p ON p.facility_id = a.facility_id AND p.id = a.prescription_id
		WHERE a.facility_id = $1 AND p.series_id = $2 AND a.outcome = 'refused' AND a.administered_at >= $3
		  AND NOT EXISTS (SELECT 1 FROM administration_corrections c WHERE c.facility_id = a.facility_id AND c.administration_id = a.id)`,
		facility, series, since).Scan(&n)
	return n, translate(err)
}
