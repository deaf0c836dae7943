package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/corsia-cce/corsia/backend/diary"
	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/google/uuid"
)

// A row changed behind the application's back (a superuser with the
// append-only trigger out of the way) no longer matches its signature:
// the read flags it, and the read's audit event says so.
func TestDiaryTamperDetected(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	svc := db.NewServices(postgres.ServiceConfig{Hasher: pgtest.Hasher()})
	alt := pgtest.Other()
	ctx := context.Background()
	ward := alt.ID("ward", "X")
	res := uuid.New()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO residents (facility_id, id, given_name, family_name, sex, birth_date,
			wristband_code, status, ward_id, admitted_at) VALUES ($1, $2, 'Prova', 'Diario', 'F', '1939-01-01', $3, 'admitted', $4, now())`,
		alt.FacilityID(), res, codes.NewIdent(codes.WristbandPrefix), ward); err != nil {
		t.Fatal(err)
	}
	nurse := &backend.Actor{StaffID: alt.ID("staff", "alt.nurse.x"), FacilityID: alt.FacilityID(),
		Roles: []backend.Role{backend.RoleNurse}, WardIDs: []uuid.UUID{ward}}
	e, _, err := svc.Diary.Create(ctx, nurse, uuid.New(), []byte("h"), res, diary.NewEntry{Text: "Notte tranquilla."})
	if err != nil {
		t.Fatal(err)
	}
	if e.Profession != access.Nursing || !e.SignatureValid {
		t.Fatalf("entry %+v", e)
	}
	// The application cannot change it.
	if _, err := db.Pool.Exec(ctx, `UPDATE diary_entries SET text = 'x' WHERE facility_id = $1 AND id = $2`, alt.FacilityID(), e.ID); err == nil {
		t.Fatal("an UPDATE of a diary entry went through the append-only trigger")
	}
	page, err := svc.Diary.List(ctx, nurse, res, diary.Query{})
	if err != nil || len(page.Entries) != 1 || !page.Entries[0].SignatureValid {
		t.Fatalf("before tampering: %+v %v", page, err)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{"SET LOCAL session_replication_role = replica",
		"UPDATE diary_entries SET text = 'Notte agitata.' WHERE id = '" + e.ID.String() + "'"} {
		if _, err := tx.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	page, err = svc.Diary.List(ctx, nurse, res, diary.Query{})
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("after tampering: %+v %v", page, err)
	}
	if page.Entries[0].SignatureValid || page.Entries[0].Text != "Notte agitata." {
		t.Errorf("tampered entry not flagged: %+v", page.Entries[0])
	}
	var flagged int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE facility_id = $1 AND resident_id = $2
		AND action = 'diary.read' AND detail = 'signature_mismatch'`, alt.FacilityID(), res).Scan(&flagged); err != nil {
		t.Fatal(err)
	}
	if flagged != 1 {
		t.Errorf("%d audited reads flagged the mismatch; want 1", flagged)
	}
}

// The demo loads believable diaries for VDT's residents, signed as the
// service signs them.
func TestDiaryDemo(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	svc := db.NewServices(postgres.ServiceConfig{Hasher: pgtest.Hasher()})
	ctx := context.Background()
	var res, ward uuid.UUID
	if err := db.Pool.QueryRow(ctx, `SELECT e.resident_id, r.ward_id FROM diary_entries e
		JOIN residents r ON r.facility_id = e.facility_id AND r.id = e.resident_id
		JOIN facilities f ON f.id = e.facility_id WHERE f.code = 'VDT' AND e.link_kind = 'addendum' LIMIT 1`).Scan(&res, &ward); err != nil {
		t.Fatal(err)
	}
	var demoFac uuid.UUID
	if err := db.Pool.QueryRow(ctx, "SELECT id FROM facilities WHERE code = 'VDT'").Scan(&demoFac); err != nil {
		t.Fatal(err)
	}
	doctor := &backend.Actor{FacilityID: demoFac, Roles: []backend.Role{backend.RolePhysician}, WardIDs: []uuid.UUID{ward}}
	if err := db.Pool.QueryRow(ctx, "SELECT id FROM staff WHERE facility_id = $1 AND username = 'doctor'", demoFac).Scan(&doctor.StaffID); err != nil {
		t.Fatal(err)
	}
	page, err := svc.Diary.List(ctx, doctor, res, diary.Query{})
	if err != nil {
		t.Fatal(err)
	}
	profs := map[access.Profession]bool{}
	addenda := 0
	for _, e := range page.Entries {
		profs[e.Profession] = true
		addenda += len(e.Addenda)
		if !e.SignatureValid || time.Since(e.OccurredAt) > 72*time.Hour {
			t.Errorf("demo entry %s: valid %v, %s ago", e.ID, e.SignatureValid, time.Since(e.OccurredAt))
		}
	}
	if len(profs) != 4 || addenda != 1 {
		t.Errorf("demo diary: professions %v, %d addenda", profs, addenda)
	}
}
