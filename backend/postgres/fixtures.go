package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/auth"
	"github.com/corsia-cce/corsia/backend/facility"
	"github.com/corsia-cce/corsia/backend/resident"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ErrRealData refuses to load demo data next to real facilities.
var ErrRealData = fmt.Errorf("this database holds non-demo facilities: demo data and its passwords are never loaded into it")

// LoadFixtures loads a fixture facility (marked as demo) in one transaction.
// It is idempotent: a facility already present is left untouched and loaded
// is false. It refuses a database that holds any non-demo facility.
func (db *DB) LoadFixtures(ctx context.Context, d *fixtures.Data, h *auth.Hasher) (loaded bool, err error) {
	fid := d.FacilityID()
	var exists, real bool
	if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM facilities WHERE id = $1 OR code = $2),
			EXISTS (SELECT 1 FROM facilities WHERE NOT is_demo)`, fid, d.Facility.Code).Scan(&exists, &real); err != nil {
		return false, translate(err)
	}
	if exists {
		return false, nil
	}
	if real {
		return false, ErrRealData
	}
	// Hash each distinct secret once, in parallel up to the hasher's bound:
	// thirty argon2id hashes are the slow part of loading.
	// The distinct secrets are listed first: the goroutines write the
	// hashes into a map nobody iterates meanwhile (the race detector
	// caught the earlier version, which wrote into the map being ranged).
	distinct := []string{d.Password}
	for _, s := range d.Staff {
		if s.PIN != "" && !slices.Contains(distinct, s.PIN) {
			distinct = append(distinct, s.PIN)
		}
	}
	secrets := make(map[string]string, len(distinct))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var hashErr error
	for _, secret := range distinct {
		wg.Add(1)
		go func(secret string) {
			defer wg.Done()
			v, err := h.Hash(ctx, secret)
			mu.Lock()
			defer mu.Unlock()
			secrets[secret] = v
			if err != nil {
				hashErr = err
			}
		}(secret)
	}
	wg.Wait()
	if hashErr != nil {
		return false, hashErr
	}
	pw := secrets[d.Password]
	pins := map[string]string{}
	for _, s := range d.Staff {
		if s.PIN != "" {
			pins[s.Username] = secrets[s.PIN]
		}
	}
	err = db.inTx(ctx, nil, func(tx pgx.Tx) error {
		tz := d.Facility.TimeZone
		if tz == "" {
			tz = "Europe/Rome"
		}
		if _, err := time.LoadLocation(tz); err != nil {
			return fmt.Errorf("facility time zone %q: %w", tz, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO facilities (id, code, name, kind, time_zone, city, address, is_demo)
			VALUES ($1, $2, $3, $4, $5, $6, $7, true)`, fid, d.Facility.Code, d.Facility.Name, d.Facility.Kind, tz,
			d.Facility.City, d.Facility.Address); err != nil {
			return err
		}
		wardID := map[string]uuid.UUID{}
		bedID := map[string]uuid.UUID{}
		b := &pgx.Batch{}
		for _, w := range d.Wards {
			wid := d.ID("ward", w.Code)
			wardID[w.Code] = wid
			b.Queue(`INSERT INTO wards (facility_id, id, code, name, floor) VALUES ($1, $2, $3, $4, $5)`, fid, wid, w.Code, w.Name, w.Floor)
			for _, r := range w.Rooms {
				rid := d.ID("room", r.Code)
				b.Queue(`INSERT INTO rooms (facility_id, id, ward_id, code) VALUES ($1, $2, $3, $4)`, fid, rid, wid, r.Code)
				for _, bed := range r.Beds {
					bedID[bed] = d.ID("bed", bed)
					b.Queue(`INSERT INTO beds (facility_id, id, ward_id, room_id, code) VALUES ($1, $2, $3, $4, $5)`,
						fid, bedID[bed], wid, rid, bed)
				}
			}
			devID, cred := d.TabletCredential(w.Code)
			_, secret, _ := strings.Cut(cred, ".")
			b.Queue(`INSERT INTO devices (facility_id, id, name, kind, ward_id, secret_hash) VALUES ($1, $2, $3, 'ward_tablet', $4, $5)`,
				fid, devID, "Tablet "+w.Name, wid, auth.Digest(secret))
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("wards: %w", err)
		}
		for _, s := range d.Staff {
			m := facility.Member{ID: d.ID("staff", s.Username), Username: s.Username, GivenName: s.GivenName,
				FamilyName: s.FamilyName, ProfessionReg: s.ProfessionReg, Active: true}
			if s.PIN != "" {
				m.BadgeCode = d.BadgeCode(s.Username)
			}
			for _, r := range s.Roles {
				m.Roles = append(m.Roles, backend.Role(r))
			}
			for _, w := range s.Wards {
				id, ok := wardID[w]
				if !ok {
					return fmt.Errorf("staff %s: unknown ward %q", s.Username, w)
				}
				m.WardIDs = append(m.WardIDs, id)
			}
			if err := insertMember(ctx, tx, fid, m, pw, pins[s.Username], uuid.Nil); err != nil {
				return fmt.Errorf("staff %s: %w", s.Username, err)
			}
		}
		for _, rs := range d.Residents {
			if err := loadResident(ctx, tx, d, fid, wardID, bedID, rs); err != nil {
				return fmt.Errorf("resident %s %s: %w", rs.GivenName, rs.FamilyName, err)
			}
		}
		if err := loadProblems(ctx, tx, d, fid); err != nil {
			return err
		}
		if err := loadVitals(ctx, tx, d, fid); err != nil {
			return err
		}
		if err := loadIncidents(ctx, tx, d, fid); err != nil {
			return err
		}
		links, err := loadCarePlans(ctx, tx, d, fid)
		if err != nil {
			return err
		}
		if err := loadRehab(ctx, tx, d, fid, links); err != nil {
			return err
		}
		if err := loadTherapy(ctx, tx, d, fid); err != nil {
			return err
		}
		if err := loadDemoDocuments(ctx, tx, d, fid); err != nil {
			return fmt.Errorf("demo documents: %w", err)
		}
		if err := loadDiary(ctx, tx, d, fid); err != nil {
			return err
		}
		if err := loadAssessments(ctx, tx, d, fid); err != nil {
			return err
		}
		return appendAudit(ctx, tx, audit.Event{FacilityID: fid, Action: "fixtures.load", ResourceType: "facility",
			ResourceID: fid.String(), Outcome: audit.Success, Detail: d.Facility.Code})
	})
	if err != nil {
		return false, fmt.Errorf("load fixtures %s: %w", d.Facility.Code, err)
	}
	// Materialise the demo doses now rather than wait for the workers.
	ts := &therapy.Service{Store: TherapyStore{db}, Clock: backend.SystemClock{}}
	if _, err := ts.RollForward(ctx); err != nil {
		return true, fmt.Errorf("load fixtures %s: doses: %w", d.Facility.Code, err)
	}
	if err := db.demoHistory(ctx, fid); err != nil {
		return true, fmt.Errorf("load fixtures %s: history: %w", d.Facility.Code, err)
	}
	return true, nil
}

// demoHistory records the demo's past rounds, so its MAR reads like a
// ward's: every dose that would by now be missed was given (a few refused)
// by a nurse of the resident's ward, at about its time, with the pack
// scanned. Doses due now, and the few already late, are left for the
// newcomer's round. Fixture data, loaded without audit events of its own.
func (db *DB) demoHistory(ctx context.Context, fid uuid.UUID) error {
	_, err := db.Pool.Exec(ctx, `INSERT INTO administrations (facility_id, id, dose_id, prescription_id, resident_id, outcome,
			quantity, quantity_unit, reason, administered_at, recorded_at, recorded_by, product_id, scan, aic, batch)
		SELECT d.facility_id, gen_random_uuid(), d.id, d.prescription_id, d.resident_id,
			CASE WHEN n % 23 = 7 THEN 'refused' ELSE 'given' END,
			CASE WHEN n % 23 = 7 THEN NULL ELSE p.dose END, p.dose_unit,
			CASE WHEN n % 23 = 7 THEN 'rifiuta la terapia' ELSE '' END,
			d.due_at + make_interval(mins => ((n % 31) - 12)::int), d.due_at + make_interval(mins => ((n % 31) - 10)::int),
			nurse.id, p.product_id, CASE WHEN n % 23 = 7 THEN 'not_required' ELSE 'scanned' END, coalesce(pr.aic, ''),
			CASE WHEN n % 23 = 7 THEN '' ELSE 'DEMO' || to_char(d.due_at, 'YYMM') END
		FROM (SELECT d.*, row_number() OVER (ORDER BY d.due_at, d.id) AS n FROM doses d
		      WHERE d.facility_id = $1 AND d.status = 'scheduled' AND d.missed_at <= now()) d
		JOIN prescriptions p ON p.facility_id = d.facility_id AND p.id = d.prescription_id
		JOIN residents r ON r.facility_id = d.facility_id AND r.id = d.resident_id
		LEFT JOIN products pr ON pr.id = p.product_id
		CROSS JOIN LATERAL (SELECT s.id FROM staff s
			JOIN staff_roles sr ON sr.facility_id = s.facility_id AND sr.staff_id = s.id AND sr.role = 'nurse'
			JOIN ward_assignments w ON w.facility_id = s.facility_id AND w.staff_id = s.id AND w.ward_id = r.ward_id
			WHERE s.facility_id = d.facility_id ORDER BY s.username LIMIT 1) nurse
		ON CONFLICT DO NOTHING`, fid)
	return translate(err)
}

// loadTherapy starts fixture residents reconciled (a physician of the
// facility confirmed their therapy at admission) and writes the demo
// prescriptions.
func loadTherapy(ctx context.Context, tx pgx.Tx, d *fixtures.Data, fid uuid.UUID) error {
	var physician uuid.UUID
	for _, s := range d.Staff {
		if slices.Contains(s.Roles, "physician") {
			physician = d.ID("staff", s.Username)
			break
		}
	}
	if physician == uuid.Nil {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE reconciliations SET outcome = 'confirmed', recorded_by = $2, recorded_at = opened_at,
			notes = 'riconciliazione all''ingresso (dati dimostrativi)'
		WHERE facility_id = $1 AND outcome IS NULL`, fid, physician); err != nil {
		return fmt.Errorf("reconciliations: %w", err)
	}
	b := &pgx.Batch{}
	for i, p := range d.DemoTherapy(time.Now()) {
		var sched therapy.Schedule
		raw, err := json.Marshal(p.Schedule)
		if err == nil {
			err = json.Unmarshal(raw, &sched)
		}
		if err == nil {
			err = sched.Validate()
		}
		if err != nil {
			return fmt.Errorf("demo prescription %d: %w", i, err)
		}
		rid := d.ID("resident", p.Resident.Ward+"/"+p.Resident.Bed+"/"+p.Resident.FiscalCode)
		id := d.ID("prescription", fmt.Sprintf("%s/%d", rid, i))
		var indication string
		var minInt, maxPer, check any
		if p.PRN != nil {
			indication, minInt, maxPer, check = p.PRN.Indication, p.PRN.MinIntervalMin, p.PRN.MaxPer24h, p.PRN.CheckAfterMin
		}
		b.Queue(`INSERT INTO prescriptions (facility_id, id, series_id, resident_id, product_id, dose, dose_unit, route,
				schedule, prn, prn_indication, prn_min_interval_min, prn_max_per_24h, prn_check_after_min, starts_at,
				instructions, time_critical, status, prescribed_by, prescribed_at)
			SELECT $1, $2, $2, $3, pr.id, $5::numeric, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'active', $17, $14
			FROM products pr WHERE pr.facility_id IS NULL AND pr.aic = $4`,
			fid, id, rid, p.AIC, p.Dose, p.DoseUnit, p.Route, raw, sched.Kind == therapy.SchedulePRN, indication, minInt,
			maxPer, check, p.StartsAt, p.Instructions, p.TimeCritical, physician)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("demo prescriptions: %w", err)
	}
	return nil
}

func loadResident(ctx context.Context, tx pgx.Tx, d *fixtures.Data, fid uuid.UUID, wardID, bedID map[string]uuid.UUID, rs fixtures.ResidentSeed) error {
	birth, err := time.Parse("2006-01-02", rs.BirthDate)
	if err != nil {
		return err
	}
	admitted, err := time.Parse("2006-01-02", rs.AdmittedAt)
	if err != nil {
		return err
	}
	r := resident.Resident{FacilityID: fid, ID: d.ID("resident", rs.Ward+"/"+rs.Bed+"/"+rs.FiscalCode),
		GivenName: rs.GivenName, FamilyName: rs.FamilyName, Sex: rs.Sex, BirthDate: birth, BirthPlace: rs.BirthPlace,
		FiscalCode: rs.FiscalCode, HealthCardNumber: rs.HealthCardNumber, WristbandCode: d.WristbandCode(rs),
		Status: resident.Admitted, WardID: wardID[rs.Ward], BedID: bedID[rs.Bed], AdmittedAt: admitted}
	if len(rs.GP) > 0 {
		if err := json.Unmarshal(rs.GP, &r.GP); err != nil {
			return err
		}
	}
	if len(rs.Contacts) > 0 {
		if err := json.Unmarshal(rs.Contacts, &r.Contacts); err != nil {
			return err
		}
	}
	// An imported codice fiscale with a bad check letter is kept and
	// flagged (codice_fiscale_ok = false), never dropped.
	if err := r.Validate(false); err != nil {
		return err
	}
	if err := insertResident(ctx, tx, &r); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO admissions (facility_id, id, resident_id, admitted_at, source)
		VALUES ($1, $2, $3, $4, 'fixture')`, fid, d.ID("admission", r.ID.String()), r.ID, admitted); err != nil {
		return err
	}
	for i, as := range rs.Allergies {
		a := resident.Allergy{ID: d.ID("allergy", fmt.Sprintf("%s/%d", r.ID, i)), ResidentID: r.ID, Substance: as.Substance,
			Category: as.Category, Kind: as.Kind, Reaction: as.Reaction, Severity: as.Severity, Status: as.Status,
			RecordedAt: admitted}
		if as.ATCCode != nil {
			a.ATCCode = *as.ATCCode
		}
		if err := insertAllergy(ctx, tx, fid, &a); err != nil {
			return err
		}
	}
	return nil
}

// HasFacilities reports whether any facility exists.
func (db *DB) HasFacilities(ctx context.Context) (bool, error) {
	var ok bool
	err := db.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM facilities)").Scan(&ok)
	return ok, translate(err)
}
