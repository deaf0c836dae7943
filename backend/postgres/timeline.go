package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/timeline"
	"github.com/corsia-cce/corsia/backend/vitals"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// TimelineStore implements timeline.Store.
type TimelineStore struct{ *DB }

var _ timeline.Store = TimelineStore{}

// timelineFragments is the registry of the feed: one SELECT per kind, over
// one resident (@facility, @resident), with the columns
//
//	at timestamptz, id uuid, by uuid, eie boolean, ref jsonb, facts jsonb
//
// — when the item happened, its id in the feed, who recorded it, whether it
// was entered in error (for kinds that can be), the ids that open it, and
// the facts its summary is written from (timeline/summary.go reads them).
// The page's period, cursor and limit are applied around each fragment
// (timelineBranch) and pushed down by the planner into its WHERE, so each
// fragment must select at from an indexed column of its driving table (or a
// table reached through the resident's rows) and keep its filters in WHERE.
// Versions of versioned rows (row_history) get an id derived from the row
// and the version, so that (at, kind, id) stays unique.
//
// Reading rules that hide rows live here, in SQL, so that nothing hidden is
// counted or limited: diary entries only of @professions (the reader's, by
// access.ReadableProfessions); documents only when visible to @roles
// (DocumentVisibleSQL, oscuramento).
//
// Every branch reads one resident's rows through an index that leads with
// (facility_id, resident_id); migrations/0016_timeline_indexes.sql added
// the ones vitals, the diary's addenda and care plans lacked.
var timelineFragments = map[timeline.Kind]string{
	timeline.Prescription: `SELECT p.prescribed_at AS at, p.id, p.prescribed_by AS by, p.status = 'entered_in_error' AS eie,
			jsonb_strip_nulls(jsonb_build_object('prescription_id', p.id, 'series_id', p.series_id, 'supersedes', p.supersedes)) AS ref,
			jsonb_build_object('drug', ` + timelineDrug + `, 'dose', p.dose::text, 'dose_unit', p.dose_unit, 'route', p.route,
				'prn', p.prn, 'revision', p.supersedes IS NOT NULL) AS facts
		FROM prescriptions p LEFT JOIN products pr ON pr.id = p.product_id
		WHERE p.facility_id = @facility AND p.resident_id = @resident`,

	// A status change is the archived version (row_history) and the one
	// after it; a move to superseded is the revision, shown as such.
	timeline.PrescriptionStatus: `SELECT h.valid_until AS at, md5('prescriptions/' || h.row_id || '/' || h.version)::uuid AS id,
			h.changed_by AS by, false AS eie,
			jsonb_build_object('prescription_id', p.id, 'series_id', p.series_id) AS ref,
			jsonb_build_object('drug', ` + timelineDrug + `, 'from', h.data->>'status',
				'to', coalesce(n.data->>'status', p.status)) AS facts
		FROM prescriptions p
		JOIN row_history h ON h.facility_id = p.facility_id AND h.table_name = 'prescriptions' AND h.row_id = p.id
		LEFT JOIN row_history n ON n.facility_id = h.facility_id AND n.table_name = 'prescriptions' AND n.row_id = h.row_id
			AND n.version = h.version + 1
		LEFT JOIN products pr ON pr.id = p.product_id
		WHERE p.facility_id = @facility AND p.resident_id = @resident AND coalesce(n.data->>'status', p.status) <> 'superseded'`,

	timeline.Administration: `SELECT a.administered_at AS at, a.id, a.recorded_by AS by, c.id IS NOT NULL AS eie,
			jsonb_strip_nulls(jsonb_build_object('administration_id', a.id, 'prescription_id', a.prescription_id,
				'dose_id', a.dose_id)) AS ref,
			jsonb_build_object('drug', ` + timelineDrug + `, 'outcome', a.outcome, 'quantity', a.quantity::text,
				'quantity_unit', a.quantity_unit, 'reason', a.reason, 'prn', p.prn) AS facts
		FROM administrations a
		JOIN prescriptions p ON p.facility_id = a.facility_id AND p.id = a.prescription_id
		LEFT JOIN products pr ON pr.id = p.product_id
		LEFT JOIN administration_corrections c ON c.facility_id = a.facility_id AND c.administration_id = a.id
		WHERE a.facility_id = @facility AND a.resident_id = @resident`,

	timeline.AssistedIntake: `SELECT i.recorded_at AS at, i.id, i.recorded_by AS by, false AS eie,
			jsonb_build_object('administration_id', a.id, 'prescription_id', a.prescription_id) AS ref,
			jsonb_build_object('drug', ` + timelineDrug + `, 'outcome', i.outcome, 'notes', left(i.notes, 200)) AS facts
		FROM assisted_intakes i
		JOIN administrations a ON a.facility_id = i.facility_id AND a.id = i.administration_id
		JOIN prescriptions p ON p.facility_id = a.facility_id AND p.id = a.prescription_id
		LEFT JOIN products pr ON pr.id = p.product_id
		WHERE i.facility_id = @facility AND i.resident_id = @resident`,

	timeline.PRNCheck: `SELECT k.recorded_at AS at, k.id, k.recorded_by AS by, false AS eie,
			jsonb_build_object('administration_id', a.id, 'prescription_id', a.prescription_id) AS ref,
			jsonb_build_object('drug', ` + timelineDrug + `, 'effective', k.effective) AS facts
		FROM prn_checks k
		JOIN administrations a ON a.facility_id = k.facility_id AND a.id = k.administration_id
		JOIN prescriptions p ON p.facility_id = a.facility_id AND p.id = a.prescription_id
		LEFT JOIN products pr ON pr.id = p.product_id
		WHERE k.facility_id = @facility AND a.resident_id = @resident`,

	timeline.AdministrationCorrection: `SELECT c.recorded_at AS at, c.id, c.recorded_by AS by, false AS eie,
			jsonb_build_object('correction_id', c.id, 'administration_id', a.id, 'prescription_id', a.prescription_id) AS ref,
			jsonb_build_object('drug', ` + timelineDrug + `, 'outcome', a.outcome) AS facts
		FROM administration_corrections c
		JOIN administrations a ON a.facility_id = c.facility_id AND a.id = c.administration_id
		JOIN prescriptions p ON p.facility_id = a.facility_id AND p.id = a.prescription_id
		LEFT JOIN products pr ON pr.id = p.product_id
		WHERE c.facility_id = @facility AND a.resident_id = @resident`,

	// One item per recording, driven by vital_records; entered in error
	// when every measurement of it is.
	timeline.Vitals: `SELECT v.measured_at AS at, v.id, v.recorded_by AS by, ms.eie,
			jsonb_build_object('record_id', v.id, 'measurement_ids', ms.ids) AS ref,
			jsonb_build_object('measurements', ms.list) AS facts
		FROM vital_records v
		CROSS JOIN LATERAL (SELECT coalesce(bool_and(c.id IS NOT NULL), false) AS eie,
				coalesce(jsonb_agg(x.id ORDER BY x.position), '[]') AS ids,
				coalesce(jsonb_agg(jsonb_build_object('kind', x.kind, 'value', x.value::text, 'value2', x.value2::text,
					'unit', x.unit, 'flags', x.flags, 'corrected', c.id IS NOT NULL) ORDER BY x.position), '[]') AS list
			FROM vital_measurements x
			LEFT JOIN vital_corrections c ON c.facility_id = x.facility_id AND c.measurement_id = x.id
			WHERE x.facility_id = v.facility_id AND x.record_id = v.id AND x.kind = ANY(@vital_kinds::text[])) ms
		WHERE v.facility_id = @facility AND v.resident_id = @resident`,

	timeline.Assessment: `SELECT s.assessed_at AS at, s.id, s.recorded_by AS by, c.assessment_id IS NOT NULL AS eie,
			jsonb_build_object('assessment_id', s.id) AS ref,
			jsonb_build_object('scale', s.scale, 'total', s.total::text, 'band', s.band) AS facts
		FROM assessments s LEFT JOIN assessment_corrections c ON c.facility_id = s.facility_id AND c.assessment_id = s.id
		WHERE s.facility_id = @facility AND s.resident_id = @resident`,

	// Originals and addenda (a correction marks what it corrects, and an
	// addendum of an entry entered in error is flagged with it), of the
	// professions the reader reads only (access.ReadsDiary).
	timeline.Diary: `SELECT e.occurred_at AS at, e.id, e.author_id AS by,
			EXISTS (SELECT 1 FROM diary_entries x WHERE x.facility_id = e.facility_id
				AND (x.links_to = e.id OR x.links_to = e.links_to) AND x.link_kind = 'entered_in_error') AS eie,
			jsonb_strip_nulls(jsonb_build_object('entry_id', e.id, 'links_to', e.links_to)) AS ref,
			jsonb_build_object('profession', e.profession, 'addendum', e.link_kind IS NOT NULL, 'text', left(e.text, 200)) AS facts
		FROM diary_entries e
		WHERE e.facility_id = @facility AND e.resident_id = @resident AND (e.link_kind IS NULL OR e.link_kind = 'addendum')
			AND e.profession = ANY(@professions::text[])`,

	// Documents visible to the reader's roles only (oscuramento).
	timeline.Document: `SELECT d.uploaded_at AS at, d.id, d.uploaded_by AS by, c.id IS NOT NULL AS eie,
			jsonb_build_object('document_id', d.id) AS ref,
			jsonb_build_object('kind', d.kind, 'title', d.title) AS facts
		FROM documents d LEFT JOIN document_corrections c ON c.facility_id = d.facility_id AND c.document_id = d.id
		WHERE d.facility_id = @facility AND d.resident_id = @resident AND ` + DocumentVisibleSQL("@roles"),

	// Every version of every section: the current row and those archived.
	timeline.Anamnesis: `SELECT a.updated_at AS at, md5('anamnesis_sections/' || a.id || '/' || a.version)::uuid AS id,
			a.updated_by AS by, false AS eie,
			jsonb_build_object('section', a.section, 'version', a.version) AS ref,
			jsonb_build_object('section', a.section, 'version', a.version, 'text', left(a.body, 200)) AS facts
		FROM anamnesis_sections a
		WHERE a.facility_id = @facility AND a.resident_id = @resident
		UNION ALL
		SELECT (h.data->>'updated_at')::timestamptz, md5('anamnesis_sections/' || h.row_id || '/' || h.version)::uuid,
			(h.data->>'updated_by')::uuid, false,
			jsonb_build_object('section', a.section, 'version', h.version),
			jsonb_build_object('section', a.section, 'version', h.version, 'text', left(h.data->>'body', 200))
		FROM anamnesis_sections a
		JOIN row_history h ON h.facility_id = a.facility_id AND h.table_name = 'anamnesis_sections' AND h.row_id = a.id
		WHERE a.facility_id = @facility AND a.resident_id = @resident`,

	timeline.Problem: `SELECT p.recorded_at AS at, p.id, p.recorded_by AS by, p.status = 'entered_in_error' AS eie,
			jsonb_build_object('problem_id', p.id) AS ref,
			jsonb_build_object('kind', p.kind, 'code', coalesce(p.icd9_code, ''), 'description', p.description) AS facts
		FROM problems p
		WHERE p.facility_id = @facility AND p.resident_id = @resident`,

	// Each version after the first is a status change (the content of a
	// problem never changes), by the version's own updated_by and at.
	timeline.ProblemStatus: `SELECT p.updated_at AS at, md5('problems/' || p.id || '/' || p.version)::uuid AS id,
			p.updated_by AS by, false AS eie,
			jsonb_build_object('problem_id', p.id, 'version', p.version) AS ref,
			jsonb_build_object('code', coalesce(p.icd9_code, ''), 'description', p.description,
				'from', prev.data->>'status', 'to', p.status) AS facts
		FROM problems p
		JOIN row_history prev ON prev.facility_id = p.facility_id AND prev.table_name = 'problems' AND prev.row_id = p.id
			AND prev.version = p.version - 1
		WHERE p.facility_id = @facility AND p.resident_id = @resident
		UNION ALL
		SELECT (h.data->>'updated_at')::timestamptz, md5('problems/' || h.row_id || '/' || h.version)::uuid,
			(h.data->>'updated_by')::uuid, false,
			jsonb_build_object('problem_id', p.id, 'version', h.version),
			jsonb_build_object('code', coalesce(p.icd9_code, ''), 'description', p.description,
				'from', prev.data->>'status', 'to', h.data->>'status')
		FROM problems p
		JOIN row_history h ON h.facility_id = p.facility_id AND h.table_name = 'problems' AND h.row_id = p.id
		JOIN row_history prev ON prev.facility_id = p.facility_id AND prev.table_name = 'problems' AND prev.row_id = p.id
			AND prev.version = h.version - 1
		WHERE p.facility_id = @facility AND p.resident_id = @resident`,

	timeline.Incident: `SELECT i.occurred_at AS at, i.id, i.recorded_by AS by, c.id IS NOT NULL AS eie,
			jsonb_strip_nulls(jsonb_build_object('incident_id', i.id, 'follow_up_of', i.follow_up_of)) AS ref,
			jsonb_build_object('kind', i.kind, 'injury', i.details->>'injury', 'site', i.details->>'site',
				'stage', i.details->>'stage', 'category', i.details->>'category', 'follow_up', i.follow_up_of IS NOT NULL) AS facts
		FROM incidents i LEFT JOIN incident_corrections c ON c.facility_id = i.facility_id AND c.incident_id = i.id
		WHERE i.facility_id = @facility AND i.resident_id = @resident`,

	timeline.RehabSession: `SELECT r.recorded_at AS at, r.id, r.recorded_by AS by, c.id IS NOT NULL AS eie,
			jsonb_strip_nulls(jsonb_build_object('session_id', r.id, 'plan_id', r.plan_id)) AS ref,
			jsonb_build_object('type', r.type, 'outcome', r.outcome, 'duration_min', r.duration_min, 'reason', r.reason,
				'measure_name', r.measure_name, 'measure_value', r.measure_value::text, 'measure_unit', r.measure_unit) AS facts
		FROM rehab_sessions r LEFT JOIN rehab_session_corrections c ON c.facility_id = r.facility_id AND c.session_id = r.id
		WHERE r.facility_id = @facility AND r.resident_id = @resident`,

	// A version is an item when proposed and another when it came into
	// force (its id derived from the version's).
	timeline.CarePlan: `SELECT v.recorded_at AS at, v.id, v.recorded_by AS by, false AS eie,
			jsonb_build_object('care_plan_version_id', v.id, 'version', v.version_no) AS ref,
			jsonb_build_object('event', 'proposed', 'version_no', v.version_no,
				'problems', (SELECT count(*) FROM care_plan_problems p WHERE p.facility_id = v.facility_id AND p.version_id = v.id)) AS facts
		FROM care_plan_versions v
		WHERE v.facility_id = @facility AND v.resident_id = @resident
		UNION ALL
		SELECT a.activated_at, md5('care_plan_activations/' || a.version_id)::uuid,
			(SELECT s.staff_id FROM care_plan_signatures s WHERE s.facility_id = a.facility_id AND s.version_id = a.version_id
			  ORDER BY s.signed_at DESC LIMIT 1), false,
			jsonb_build_object('care_plan_version_id', v.id, 'version', v.version_no),
			jsonb_build_object('event', 'in_force', 'version_no', v.version_no, 'problems', 0)
		FROM care_plan_activations a JOIN care_plan_versions v ON v.facility_id = a.facility_id AND v.id = a.version_id
		WHERE a.facility_id = @facility AND a.resident_id = @resident`,

	timeline.CareTask: `SELECT t.recorded_at AS at, t.id, t.recorded_by AS by, c.id IS NOT NULL AS eie,
			jsonb_build_object('care_task_id', t.id, 'intervention_id', t.intervention_id) AS ref,
			jsonb_strip_nulls(jsonb_build_object('kind', i.kind, 'outcome', t.outcome, 'reason_code', t.reason_code, 'reason', t.reason,
				'intake_pct', t.intake_pct, 'fluid_ml', t.fluid_ml, 'position', t.position)) AS facts
		FROM care_task_records t
		JOIN care_plan_interventions i ON i.facility_id = t.facility_id AND i.id = t.intervention_id
		LEFT JOIN care_task_corrections c ON c.facility_id = t.facility_id AND c.record_id = t.id
		WHERE t.facility_id = @facility AND t.resident_id = @resident`,

	timeline.Allergy: `SELECT l.recorded_at AS at, l.id, l.recorded_by AS by, l.status = 'entered_in_error' AS eie,
			jsonb_build_object('allergy_id', l.id) AS ref,
			jsonb_build_object('substance', l.substance, 'kind', l.kind, 'severity', l.severity) AS facts
		FROM allergies l
		WHERE l.facility_id = @facility AND l.resident_id = @resident`,
}

// vitalKinds are every kind of vital_measurements.
var vitalKinds = func() []string {
	out := make([]string, len(vitals.Specs))
	for i, sp := range vitals.Specs {
		out[i] = string(sp.Kind)
	}
	return out
}()

// timelineDrug names a prescription's drug (p, with its product pr): the
// product, or the active ingredient with its strength.
const timelineDrug = `coalesce(pr.name, trim(p.ingredient_name || ' ' || coalesce(p.strength::text, '') || ' ' || p.strength_unit))`

// timelineBranch wraps kind's fragment with the page's period, the cursor
// and the limit, so that each kind is filtered, ordered and limited before
// the union. The cursor's condition for this kind is decided here: the feed
// is ordered by (at, kind, id) descending, kind compared bytewise (COLLATE
// "C" in the outer ORDER BY), so after a cursor (T, K, I) a kind below K
// still has the items at T, kind K those at T with a smaller id, and a
// kind above K only those before T.
func timelineBranch(kind timeline.Kind, after *timeline.Cursor) (string, error) {
	frag, ok := timelineFragments[kind]
	if !ok {
		return "", fmt.Errorf("timeline: no fragment for kind %q", kind)
	}
	upper := "b.at < @upper"
	if after != nil {
		switch {
		case kind < after.Kind:
			upper = "b.at <= @upper"
		case kind == after.Kind:
			upper = "b.at <= @upper AND (b.at < @upper OR b.id < @upper_id)"
		}
	}
	return `(SELECT '` + string(kind) + `' AS kind, b.at, b.id, b.by, b.eie, b.ref, b.facts FROM (` + frag + `) b
		WHERE b.at >= @from AND ` + upper + `
		ORDER BY b.at DESC, b.id DESC LIMIT @limit)`, nil
}

// timelineSQL is the page's query: the requested kinds' branches, and only
// those, in one UNION ALL, ordered and limited again, with the authors'
// names joined on the page's rows only.
func timelineSQL(kinds []timeline.Kind, after *timeline.Cursor) (string, error) {
	branches := make([]string, 0, len(kinds))
	for _, k := range kinds {
		b, err := timelineBranch(k, after)
		if err != nil {
			return "", err
		}
		branches = append(branches, b)
	}
	if len(branches) == 0 {
		return "", fmt.Errorf("timeline: no kinds")
	}
	return `SELECT u.kind, u.at, u.id, u.by, coalesce(s.given_name || ' ' || s.family_name, ''), u.eie, u.ref, u.facts
		FROM (` + strings.Join(branches, "\n\t\tUNION ALL ") + `) u
		LEFT JOIN staff s ON s.facility_id = @facility AND s.id = u.by
		ORDER BY u.at DESC, u.kind COLLATE "C" DESC, u.id DESC LIMIT @limit`, nil
}

// Resident reads the access target of a resident.
func (s TimelineStore) Resident(ctx context.Context, facility, id, staff uuid.UUID) (access.Target, error) {
	return residentTargetOf(ctx, s.Pool, facility, id, staff, false)
}

// Page reads one page of a resident's feed.
func (s TimelineStore) Page(ctx context.Context, f timeline.Filter) ([]timeline.Row, error) {
	sql, err := timelineSQL(f.Kinds, f.After)
	if err != nil {
		return nil, backend.Internal(err, "timeline query")
	}
	args := pgx.NamedArgs{"facility": f.FacilityID, "resident": f.ResidentID, "from": f.From, "upper": f.To,
		"limit": f.Limit, "professions": nonNil(f.Professions), "roles": nonNil(f.DocumentRoles), "vital_kinds": vitalKinds}
	if f.After != nil {
		args["upper"], args["upper_id"] = f.After.At, f.After.ID
	}
	rows, err := s.Pool.Query(ctx, sql, args)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (timeline.Row, error) {
		var r timeline.Row
		var kind string
		err := row.Scan(&kind, &r.At, &r.ID, &r.By, &r.ByName, &r.EnteredInError, &r.Ref, &r.Facts)
		r.Kind, r.At = timeline.Kind(kind), r.At.UTC()
		return r, err
	})
	return out, translate(err)
}
