package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/document"
	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/google/uuid"
)

// The SQL side of the oscuramento rule agrees with document.VisibleTo for
// every combination of the caller's roles and the roles hidden from.
func TestDocumentVisibilitySQLMatchesVisibleTo(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, pgtest.Demo)
	ctx := context.Background()
	alt := pgtest.Other()
	fid := alt.FacilityID()
	var res uuid.UUID
	if err := db.Pool.QueryRow(ctx, "SELECT id FROM residents WHERE facility_id = $1 ORDER BY id LIMIT 1", fid).Scan(&res); err != nil {
		t.Fatal(err)
	}
	by := alt.ID("staff", "alt.doctor")
	hideable := document.Hideable()
	// Every subset of the hideable roles, one document each.
	hiddenOf := map[uuid.UUID][]backend.Role{}
	for mask := 0; mask < 1<<len(hideable); mask++ {
		var hidden []string
		var roles []backend.Role
		for i, r := range hideable {
			if mask&(1<<i) != 0 {
				hidden, roles = append(hidden, string(r)), append(roles, r)
			}
		}
		id := uuid.New()
		hiddenOf[id] = roles
		if _, err := db.Pool.Exec(ctx, `INSERT INTO documents (facility_id, id, resident_id, kind, title, content_type, size,
				sha256, key_version, ciphertext, uploaded_by) VALUES ($1, $2, $3, 'other', 'x', 'image/png', 1, $4, 1, '\x00', $5)`,
			fid, id, res, make([]byte, 32), by); err != nil {
			t.Fatal(err)
		}
		// An earlier, opposite setting first: the newest row must win.
		var opposite []string
		for _, r := range hideable {
			if !slices.Contains(roles, r) {
				opposite = append(opposite, string(r))
			}
		}
		for _, h := range [][]string{opposite, hidden} {
			if h == nil {
				h = []string{}
			}
			if _, err := db.Pool.Exec(ctx, `INSERT INTO document_visibility (facility_id, id, document_id, hidden_from, reason, recorded_by)
				VALUES ($1, gen_random_uuid(), $2, $3, 'prova regola', $4)`, fid, id, h, by); err != nil {
				t.Fatal(err)
			}
		}
	}
	store := postgres.DocumentStore{DB: db}
	for _, roles := range [][]backend.Role{{backend.RoleOSS}, {backend.RoleNurse}, {backend.RoleTherapist},
		{backend.RoleWardLead, backend.RoleNurse}, {backend.RolePhysician}, {backend.RoleDirector, backend.RolePhysician},
		{backend.RoleAdmin}, {backend.RoleAuditor}, {backend.RoleOSS, backend.RoleAdmin}, {backend.RoleOSS, backend.RoleTherapist}} {
		list, err := store.List(ctx, fid, res, document.ReadingRoles(roles))
		if err != nil {
			t.Fatal(err)
		}
		listed := map[uuid.UUID]bool{}
		for _, d := range list {
			listed[d.ID] = true
		}
		for id, hidden := range hiddenOf {
			if want := document.VisibleTo(roles, hidden); listed[id] != want {
				t.Errorf("roles %v, hidden from %v: listed %v, VisibleTo %v", roles, hidden, listed[id], want)
			}
		}
	}
}
