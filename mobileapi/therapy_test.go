package mobileapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/google/uuid"
)

// Bedside therapy, end to end through the API: prescribe, due list, scan and
// verify, record exactly once, correct, recall.

// therapyResident admits a fresh resident to ALT ward X (straight into the
// database) and, unless awaiting is set, closes the reconciliation her
// admission opened, as the ALT doctor.
func (e *env) therapyResident(awaiting bool) (id uuid.UUID, wristband string) {
	e.t.Helper()
	tg := e.newTarget(own)
	if !awaiting {
		if _, err := e.db.Pool.Exec(context.Background(), `UPDATE reconciliations SET outcome = 'confirmed', recorded_by = $2,
			recorded_at = now() WHERE resident_id = $1 AND outcome IS NULL`, tg.resident, e.alt.ID("staff", "alt.doctor")); err != nil {
			e.t.Fatal(err)
		}
	}
	// newTarget's allergy is to latex: harmless for drugs.
	return tg.resident, tg.wristband
}

// nationalProduct is a national catalogue product's id, as JSON text.
func (e *env) nationalProduct(aic string) string {
	e.t.Helper()
	var id uuid.UUID
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT id FROM products WHERE aic = $1 AND facility_id IS NULL", aic).Scan(&id); err != nil {
		e.t.Fatalf("product %s: %v", aic, err)
	}
	return id.String()
}

func code32(t testing.TB, aic string) string {
	t.Helper()
	c, err := codes.AICToCode32(aic)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	aicTachipirina500 = "012745093"
	aicCoumadin       = "016366027"
	aicLanoxin125     = "015724038"
	aicCardioaspirin  = "024840074"
	aicLorazepam1     = "035877012"
)

// prescribe writes a prescription as the ALT doctor and returns it.
func (e *env) prescribe(resident uuid.UUID, order map[string]any) map[string]any {
	e.t.Helper()
	r := e.do(req{method: "POST", path: "/v1/residents/" + resident.String() + "/prescriptions", token: e.login("alt.doctor"), body: order})
	if r.Status != 201 {
		e.t.Fatalf("prescribe: %d %s", r.Status, r.Body)
	}
	return r.json(e.t)
}

// everyHoursFromNow is a schedule whose first dose fell due a few minutes
// ago, so it is due now.
func everyHoursFromNow(aic string, e *env, hours int) map[string]any {
	return map[string]any{"product_id": e.nationalProduct(aic), "dose": "1", "dose_unit": "tablet", "route": "oral",
		"schedule":  map[string]any{"kind": "every_hours", "every_hours": hours},
		"starts_at": time.Now().Add(-5 * time.Minute).UTC().Format(time.RFC3339)}
}

func (e *env) record(token, key string, body map[string]any) response {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/v1/administrations", token: token, body: body,
		header: map[string]string{"Idempotency-Key": key}})
}

func (e *env) dueDoses(token string, ward uuid.UUID, at time.Time, resident uuid.UUID) []map[string]any {
	e.t.Helper()
	r := e.do(req{method: "GET", path: "/v1/wards/" + ward.String() + "/due?at=" + at.UTC().Format(time.RFC3339), token: token})
	if r.Status != 200 {
		e.t.Fatalf("due: %d %s", r.Status, r.Body)
	}
	for _, x := range r.json(e.t)["residents"].([]any) {
		res := x.(map[string]any)
		if res["resident_id"] == resident.String() {
			var out []map[string]any
			for _, d := range res["doses"].([]any) {
				out = append(out, d.(map[string]any))
			}
			return out
		}
	}
	return nil
}

func (e *env) marDoses(token string, resident uuid.UUID) []map[string]any {
	e.t.Helper()
	from := time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	to := time.Now().Add(20 * time.Hour).UTC().Format(time.RFC3339)
	r := e.do(req{method: "GET", path: "/v1/residents/" + resident.String() + "/mar?from=" + from + "&to=" + to, token: token})
	if r.Status != 200 {
		e.t.Fatalf("mar: %d %s", r.Status, r.Body)
	}
	var out []map[string]any
	for _, d := range r.json(e.t)["doses"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

func TestBedsideRoundRecordsEachDoseExactlyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nurse := e.login("alt.nurse.x")
	res, wristband := e.therapyResident(false)
	e.prescribe(res, everyHoursFromNow(aicTachipirina500, e, 6))

	// The due list shows the dose, due now, with its product.
	doses := e.dueDoses(nurse, e.ward(e.alt, "X"), time.Now(), res)
	if len(doses) != 1 || doses[0]["state"] != "due" {
		t.Fatalf("due list: %v", doses)
	}
	dose := doses[0]["dose_id"].(string)
	if p := doses[0]["product"].(map[string]any); p["aic"] != aicTachipirina500 {
		t.Fatalf("product %v", p)
	}

	// Scan the wristband and the pack: the dose is found, the verdict
	// warns only about what needs confirming.
	v := e.do(req{method: "POST", path: "/v1/administrations/verify", token: nurse,
		body: map[string]any{"wristband": wristband, "barcode": code32(t, aicTachipirina500)}})
	if v.Status != 200 {
		t.Fatalf("verify: %d %s", v.Status, v.Body)
	}
	vj := v.json(t)
	if vj["verdict"] == "block" || vj["dose_id"] != dose {
		t.Fatalf("verify: %s", v.Body)
	}
	// Another drug for the same resident is blocked.
	wrong := e.do(req{method: "POST", path: "/v1/administrations/verify", token: nurse,
		body: map[string]any{"resident_id": res, "barcode": code32(t, aicLanoxin125)}})
	if wj := wrong.json(t); wj["verdict"] != "block" || !strings.Contains(fmt.Sprint(wj["codes"]), "wrong_drug") {
		t.Fatalf("wrong drug: %s", wrong.Body)
	}

	key := uuid.NewString()
	body := map[string]any{"dose_id": dose, "outcome": "given", "verification_id": vj["verification_id"]}
	first := e.record(nurse, key, body)
	if first.Status != 201 {
		t.Fatalf("record: %d %s", first.Status, first.Body)
	}
	id := first.json(t)["id"]

	// A retry with the same key answers the same act and creates nothing.
	again := e.record(nurse, key, body)
	if again.Status != 201 || again.json(t)["id"] != id || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", again.Status, again.Body)
	}
	// The same key with another body is refused.
	if r := e.record(nurse, key, map[string]any{"dose_id": dose, "outcome": "refused", "reason": "rifiuta"}); r.Status != 422 || r.code() != "idempotency.key_reused" {
		t.Fatalf("key reuse: %d %s", r.Status, r.Body)
	}
	// A second act on the dose (another tablet, another key) is a conflict
	// that says who recorded it.
	second := e.record(e.login("alt.lead.x"), uuid.NewString(), map[string]any{"dose_id": dose, "outcome": "given", "unable_to_scan": "pack_without_barcode"})
	if second.Status != 409 || second.code() != "dose.already_recorded" || !strings.Contains(string(second.Body), "Infermiera X") {
		t.Fatalf("second act: %d %s", second.Status, second.Body)
	}
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM administrations WHERE dose_id = $1", dose).Scan(&n); err != nil || n != 1 {
		t.Fatalf("administrations for the dose: %d %v", n, err)
	}

	// The MAR shows it given; the due list no longer does.
	mar := e.marDoses(nurse, res)
	if len(mar) == 0 || mar[0]["dose_id"] != dose || mar[0]["state"] != "given" {
		t.Fatalf("mar: %v", mar)
	}
	if d := e.dueDoses(nurse, e.ward(e.alt, "X"), time.Now(), res); len(d) != 0 {
		t.Fatalf("still due: %v", d)
	}

	// Entered in error: a linked correction; the MAR shows both and the
	// dose is open again, to be recorded as a new attempt.
	eie := e.do(req{method: "POST", path: fmt.Sprintf("/v1/administrations/%s/entered-in-error", id), token: nurse,
		body: map[string]any{"reason": "registrata sull'ospite sbagliato"}})
	if eie.Status != 200 {
		t.Fatalf("entered in error: %d %s", eie.Status, eie.Body)
	}
	if r := e.do(req{method: "POST", path: fmt.Sprintf("/v1/administrations/%s/entered-in-error", id), token: nurse,
		body: map[string]any{"reason": "di nuovo"}}); r.Status != 409 {
		t.Fatalf("second correction: %d %s", r.Status, r.Body)
	}
	mar = e.marDoses(nurse, res)
	acts := mar[0]["acts"].([]any)
	if mar[0]["state"] != "due" || len(acts) != 1 || acts[0].(map[string]any)["correction"] == nil {
		t.Fatalf("mar after correction: %v", mar[0])
	}
	redo := e.record(nurse, uuid.NewString(), map[string]any{"dose_id": dose, "outcome": "given", "barcode": code32(t, aicTachipirina500)})
	if redo.Status != 201 || redo.json(t)["attempt"] != float64(1) {
		t.Fatalf("record after correction: %d %s", redo.Status, redo.Body)
	}
	if mar = e.marDoses(nurse, res); mar[0]["state"] != "given" || len(mar[0]["acts"].([]any)) != 2 {
		t.Fatalf("mar after redo: %v", mar[0])
	}
	// Nothing clinical was edited: the database refuses it.
	if _, err := e.db.Pool.Exec(context.Background(), "UPDATE administrations SET outcome = 'refused' WHERE id = $1", id); err == nil {
		t.Fatal("an administration could be edited")
	}
	if e.auditCount(e.alt.FacilityID(), res, "therapy.administer", "success") != 2 {
		t.Fatal("each act is audited once")
	}
}

func TestConcurrentTabletsRecordADoseOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	e.prescribe(res, everyHoursFromNow(aicTachipirina500, e, 6))
	tokens := []string{e.login("alt.nurse.x"), e.login("alt.lead.x"), e.login("alt.doctor")}
	dose := e.dueDoses(tokens[0], e.ward(e.alt, "X"), time.Now(), res)[0]["dose_id"].(string)

	// 50 tablets, each with its own key, at the same moment.
	const n = 50
	statuses := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			r := e.record(tokens[i%len(tokens)], uuid.NewString(), map[string]any{"dose_id": dose, "outcome": "given", "unable_to_scan": "barcode_unreadable"})
			statuses[i], bodies[i] = r.Status, string(r.Body)
		}(i)
	}
	close(start)
	wg.Wait()
	created, conflicts := 0, 0
	for i, s := range statuses {
		switch s {
		case 201:
			created++
		case 409:
			conflicts++
			if !strings.Contains(bodies[i], "recorded_by_name") && !strings.Contains(bodies[i], "dose.already_recorded") {
				t.Errorf("409 without who: %s", bodies[i])
			}
		default:
			t.Errorf("status %d: %s", s, bodies[i])
		}
	}
	if created != 1 || conflicts != n-1 {
		t.Fatalf("created %d, conflicts %d", created, conflicts)
	}

	// 50 retries of one act (one key) at the same moment: one act, one id.
	res2, _ := e.therapyResident(false)
	e.prescribe(res2, everyHoursFromNow(aicTachipirina500, e, 6))
	dose2 := e.dueDoses(tokens[0], e.ward(e.alt, "X"), time.Now(), res2)[0]["dose_id"].(string)
	key := uuid.NewString()
	ids := make([]any, n)
	start = make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			r := e.record(tokens[0], key, map[string]any{"dose_id": dose2, "outcome": "given", "unable_to_scan": "barcode_unreadable"})
			if r.Status == 201 {
				ids[i] = r.json(t)["id"]
			} else {
				ids[i] = fmt.Sprintf("%d %s", r.Status, r.Body)
			}
		}(i)
	}
	close(start)
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("replays answered differently: %v vs %v", id, ids[0])
		}
	}
	var rows int
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM administrations WHERE dose_id = ANY($1::uuid[])",
		[]string{dose, dose2}).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("administrations: %d %v", rows, err)
	}
	// The database itself refuses a second act on the dose.
	_, err := e.db.Pool.Exec(context.Background(), `INSERT INTO administrations (facility_id, id, dose_id, prescription_id, resident_id,
		outcome, administered_at, recorded_by, scan, unable_to_scan)
		SELECT facility_id, gen_random_uuid(), dose_id, prescription_id, resident_id, 'given', now(), recorded_by, 'keyed', 'emergency'
		FROM administrations WHERE dose_id = $1`, dose)
	if err == nil || !strings.Contains(err.Error(), "administrations_once") {
		t.Fatalf("second row for a dose: %v", err)
	}
}

func TestHighAlertDrugNeedsAWitness(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nurse := e.login("alt.nurse.x")
	res, _ := e.therapyResident(false)
	o := everyHoursFromNow(aicCoumadin, e, 24)
	o["dose"] = "0.5"
	e.prescribe(res, o)
	dose := e.dueDoses(nurse, e.ward(e.alt, "X"), time.Now(), res)[0]["dose_id"].(string)
	v := e.do(req{method: "POST", path: "/v1/administrations/verify", token: nurse,
		body: map[string]any{"resident_id": res, "barcode": code32(t, aicCoumadin)}}).json(t)
	if v["witness_required"] != true {
		t.Fatalf("verify: %v", v)
	}
	body := map[string]any{"dose_id": dose, "outcome": "given", "verification_id": v["verification_id"]}
	if r := e.record(nurse, uuid.NewString(), body); r.Status != 422 || r.code() != "witness.required" {
		t.Fatalf("no witness: %d %s", r.Status, r.Body)
	}
	badge := func(user string) string { return e.alt.BadgeCode(user) }
	body["witness"] = map[string]any{"badge": badge("alt.lead.x"), "pin": "0000"}
	if r := e.record(nurse, uuid.NewString(), body); r.Status != 422 || r.code() != "witness.invalid" {
		t.Fatalf("wrong PIN: %d %s", r.Status, r.Body)
	}
	body["witness"] = map[string]any{"badge": badge("alt.nurse.x"), "pin": "4826"}
	if r := e.record(nurse, uuid.NewString(), body); r.Status != 422 || r.code() != "witness.invalid" {
		t.Fatalf("self as witness: %d %s", r.Status, r.Body)
	}
	body["witness"] = map[string]any{"badge": badge("alt.oss.x"), "pin": "6048"}
	if r := e.record(nurse, uuid.NewString(), body); r.Status != 422 || r.code() != "witness.not_qualified" {
		t.Fatalf("OSS as witness: %d %s", r.Status, r.Body)
	}
	body["witness"] = map[string]any{"badge": badge("alt.lead.x"), "pin": "5937"}
	r := e.record(nurse, uuid.NewString(), body)
	if r.Status != 201 || r.json(t)["witness_id"] != e.alt.ID("staff", "alt.lead.x").String() {
		t.Fatalf("with witness: %d %s", r.Status, r.Body)
	}
	if q := r.json(t)["quantity"]; q != "0.5" {
		t.Fatalf("quantity %v", q)
	}
}

func TestPRNLimitsAndEffectivenessCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nurse := e.login("alt.nurse.x")
	res, _ := e.therapyResident(false)
	p := e.prescribe(res, map[string]any{"product_id": e.nationalProduct(aicLorazepam1), "dose": "1", "dose_unit": "tablet",
		"route": "oral", "schedule": map[string]any{"kind": "prn"},
		"prn": map[string]any{"indication": "agitazione", "min_interval_min": 60, "max_per_24h": 2, "check_after_min": 30}})
	pid := p["id"].(string)
	// PRN without indication is refused at prescription (Racc. 18).
	if r := e.do(req{method: "POST", path: "/v1/residents/" + res.String() + "/prescriptions", token: e.login("alt.doctor"),
		body: map[string]any{"product_id": e.nationalProduct(aicLorazepam1), "dose": "1", "dose_unit": "tablet", "route": "oral",
			"schedule": map[string]any{"kind": "prn"}}}); r.Status != 400 {
		t.Fatalf("prn without limits: %d %s", r.Status, r.Body)
	}
	give := func(at time.Time, override map[string]any) response {
		b := map[string]any{"prescription_id": pid, "outcome": "given", "barcode": code32(t, aicLorazepam1),
			"administered_at": at.UTC().Format(time.RFC3339)}
		if override != nil {
			b["override"] = override
		}
		return e.record(nurse, uuid.NewString(), b)
	}
	first := give(time.Now().Add(-3*time.Hour), nil)
	if first.Status != 201 {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	// Too soon after the first? No: 3 h ago. Now the second of two.
	v := e.do(req{method: "POST", path: "/v1/administrations/verify", token: nurse,
		body: map[string]any{"resident_id": res, "barcode": code32(t, aicLorazepam1)}}).json(t)
	if !strings.Contains(fmt.Sprint(v["codes"]), "prn_near_limit") {
		t.Fatalf("near limit: %v", v)
	}
	if r := give(time.Now(), nil); r.Status != 201 {
		t.Fatalf("second: %d %s", r.Status, r.Body)
	}
	// A third within 24 h is blocked and can never be overridden.
	r := give(time.Now(), map[string]any{"codes": []string{"prn_limit", "prn_interval"}, "reason": "physician_order"})
	if r.Status != 422 || r.code() != "override.not_allowed" {
		t.Fatalf("third: %d %s", r.Status, r.Body)
	}
	// The effectiveness check is due 30 min after each dose.
	checks := func(at time.Time) []any {
		d := e.do(req{method: "GET", path: "/v1/wards/" + e.ward(e.alt, "X").String() + "/due?at=" + at.UTC().Format(time.RFC3339), token: nurse}).json(t)
		for _, x := range d["residents"].([]any) {
			if x.(map[string]any)["resident_id"] == res.String() {
				return x.(map[string]any)["effectiveness_checks"].([]any)
			}
		}
		return nil
	}
	// Two hours ago only the first dose's check was in reach (due within
	// the hour); now both are: one overdue, one due in 30 minutes.
	if c := checks(time.Now().Add(-2 * time.Hour)); len(c) != 1 {
		t.Fatalf("checks two hours ago: %v", c)
	}
	if c := checks(time.Now()); len(c) != 2 {
		t.Fatalf("checks now: %v", c)
	}
	fid := first.json(t)["id"].(string)
	if r := e.do(req{method: "POST", path: "/v1/administrations/" + fid + "/effectiveness", token: nurse,
		body: map[string]any{"effective": "effective", "notes": "tranquilla dopo 30 minuti"}}); r.Status != 201 {
		t.Fatalf("effectiveness: %d %s", r.Status, r.Body)
	}
	if c := checks(time.Now().Add(40 * time.Minute)); len(c) != 1 {
		t.Fatalf("checks after recording one: %v", c)
	}
	if tl := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/timeline?kinds=prn_check", token: nurse}); tl.Status != 200 ||
		len(tl.json(t)["items"].([]any)) != 1 || !strings.Contains(string(tl.Body), "efficace") {
		t.Fatalf("timeline effectiveness check: %d %s", tl.Status, tl.Body)
	}
	if r := e.do(req{method: "POST", path: "/v1/administrations/" + fid + "/effectiveness", token: nurse,
		body: map[string]any{"effective": "effective"}}); r.Status != 409 {
		t.Fatalf("second check: %d %s", r.Status, r.Body)
	}
}

func TestBlocksAndOverrides(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nurse := e.login("alt.nurse.x")
	verify := func(res uuid.UUID, barcode string) map[string]any {
		r := e.do(req{method: "POST", path: "/v1/administrations/verify", token: nurse, body: map[string]any{"resident_id": res, "barcode": barcode}})
		if r.Status != 200 {
			t.Fatalf("verify %s: %d %s", barcode, r.Status, r.Body)
		}
		return r.json(t)
	}
	has := func(v map[string]any, code string) bool { return strings.Contains(fmt.Sprint(v["codes"]), code) }

	// Awaiting reconciliation: blocked until the physician records it
	// (overridable by default, with a reason).
	res, _ := e.therapyResident(true)
	e.prescribe(res, everyHoursFromNow(aicTachipirina500, e, 6))
	if v := verify(res, code32(t, aicTachipirina500)); v["verdict"] != "block" || !has(v, "awaiting_reconciliation") {
		t.Fatalf("awaiting: %v", v)
	}
	sheet := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/prescriptions", token: nurse}).json(t)
	if sheet["awaiting_reconciliation"] != true {
		t.Fatalf("sheet: %v", sheet)
	}
	if r := e.do(req{method: "POST", path: "/v1/residents/" + res.String() + "/reconciliation", token: e.login("alt.doctor"),
		body: map[string]any{"outcome": "confirmed", "notes": "terapia domiciliare confermata"}}); r.Status != 204 {
		t.Fatalf("reconcile: %d %s", r.Status, r.Body)
	}
	if v := verify(res, code32(t, aicTachipirina500)); v["verdict"] == "block" {
		t.Fatalf("after reconciliation: %v", v)
	}

	// Expired pack (AI 17 in the past), read from a GS1 DataMatrix.
	expired := "]d2" + "01" + "08012345678907" + "17" + time.Now().AddDate(0, -2, 0).Format("060102") + "10" + "LOTX\x1d" + "716" + "0" + aicTachipirina500
	if v := verify(res, expired); !has(v, "expired") {
		t.Fatalf("expired: %v", v)
	}
	// Allergy by ATC class: an allergy to "B01AC" (antiplatelets) blocks
	// Cardioaspirin; and the drug is not prescribed.
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO allergies (facility_id, id, resident_id, substance, atc_code,
		category, kind, severity, status) VALUES ($1, gen_random_uuid(), $2, 'antiaggreganti', 'B01AC', 'drug', 'allergy', 'severe', 'active')`,
		e.alt.FacilityID(), res); err != nil {
		t.Fatal(err)
	}
	if v := verify(res, code32(t, aicCardioaspirin)); !has(v, "allergy") || v["verdict"] != "block" {
		t.Fatalf("allergy: %v", v)
	}
	// Wrong resident: the drug is due for a ward mate.
	other, _ := e.therapyResident(false)
	e.prescribe(other, everyHoursFromNow(aicLanoxin125, e, 24))
	if v := verify(res, code32(t, aicLanoxin125)); !has(v, "wrong_resident") {
		t.Fatalf("wrong resident: %v", v)
	}
	// A malformed code is a 4xx, never a 500.
	if r := e.do(req{method: "POST", path: "/v1/administrations/verify", token: nurse,
		body: map[string]any{"resident_id": res, "barcode": "]d2017"}}); r.Status != 400 {
		t.Fatalf("malformed: %d %s", r.Status, r.Body)
	}

	// Do-not-crush: Cardioaspirin crushed is blocked.
	res3, _ := e.therapyResident(false)
	e.prescribe(res3, everyHoursFromNow(aicCardioaspirin, e, 24))
	dose := e.dueDoses(nurse, e.ward(e.alt, "X"), time.Now(), res3)[0]["dose_id"]
	r := e.record(nurse, uuid.NewString(), map[string]any{"dose_id": dose, "outcome": "given", "barcode": code32(t, aicCardioaspirin), "altered_form": "crushed"})
	if r.Status != 422 || r.code() != "administration.blocked" || !strings.Contains(string(r.Body), "do_not_crush") {
		t.Fatalf("crushed: %d %s", r.Status, r.Body)
	}
	// Refused needs a reason, and is then recorded without a scan.
	if r := e.record(nurse, uuid.NewString(), map[string]any{"dose_id": dose, "outcome": "refused"}); r.Status != 400 {
		t.Fatalf("refused without reason: %d %s", r.Status, r.Body)
	}
	if r := e.record(nurse, uuid.NewString(), map[string]any{"dose_id": dose, "outcome": "held", "reason": "PA 85/50"}); r.Status != 201 {
		t.Fatalf("held: %d %s", r.Status, r.Body)
	}
	if m := e.marDoses(nurse, res3); m[0]["state"] != "held" {
		t.Fatalf("mar held: %v", m[0])
	}
}

func TestPrescriptionChangesNeverEditInPlace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doctor, nurse := e.login("alt.doctor"), e.login("alt.nurse.x")
	res, _ := e.therapyResident(false)
	p := e.prescribe(res, everyHoursFromNow(aicTachipirina500, e, 4))
	pid := p["id"].(string)
	dose := e.dueDoses(nurse, e.ward(e.alt, "X"), time.Now(), res)[0]["dose_id"]
	if r := e.record(nurse, uuid.NewString(), map[string]any{"dose_id": dose, "outcome": "given", "barcode": code32(t, aicTachipirina500)}); r.Status != 201 {
		t.Fatalf("record: %d %s", r.Status, r.Body)
	}
	order := everyHoursFromNow(aicTachipirina500, e, 8)
	delete(order, "starts_at")
	order["dose"] = "2"
	rev := e.do(req{method: "POST", path: "/v1/prescriptions/" + pid + "/revisions", token: doctor, body: map[string]any{"version": 1, "order": order}})
	if rev.Status != 201 {
		t.Fatalf("revise: %d %s", rev.Status, rev.Body)
	}
	// The same version cannot be changed twice.
	if r := e.do(req{method: "POST", path: "/v1/prescriptions/" + pid + "/revisions", token: doctor, body: map[string]any{"version": 1, "order": order}}); r.Status != 409 {
		t.Fatalf("second revise: %d %s", r.Status, r.Body)
	}
	old := e.do(req{method: "GET", path: "/v1/prescriptions/" + pid, token: nurse}).json(t)
	if old["status"] != "superseded" || old["dose"] != "1" {
		t.Fatalf("old version: %v", old)
	}
	// Recorded doses are untouched; the old version's future doses are
	// cancelled; the new version's doses are there.
	states := map[string]int{}
	for _, d := range e.marDoses(nurse, res) {
		states[d["state"].(string)]++
	}
	if states["given"] != 1 || states["cancelled"] == 0 {
		t.Fatalf("mar states after revision: %v", states)
	}
	newID := rev.json(t)["id"].(string)
	// Suspend: the drug is then blocked at the bedside; resume.
	if r := e.do(req{method: "POST", path: "/v1/prescriptions/" + newID + "/status", token: doctor,
		body: map[string]any{"version": 1, "status": "suspended", "reason": "vomito"}}); r.Status != 200 {
		t.Fatalf("suspend: %d %s", r.Status, r.Body)
	}
	v := e.do(req{method: "POST", path: "/v1/administrations/verify", token: nurse,
		body: map[string]any{"resident_id": res, "barcode": code32(t, aicTachipirina500)}}).json(t)
	if !strings.Contains(fmt.Sprint(v["codes"]), "prescription_suspended") {
		t.Fatalf("suspended: %v", v)
	}
	if r := e.do(req{method: "POST", path: "/v1/prescriptions/" + newID + "/status", token: doctor,
		body: map[string]any{"version": 2, "status": "active"}}); r.Status != 200 {
		t.Fatalf("resume: %d %s", r.Status, r.Body)
	}
	// The suspension cancelled the dose due then; resuming made the next
	// one, 8 h on. Discontinued: it leaves the round (cancelled, never
	// missed).
	next := time.Now().Add(8 * time.Hour)
	if d := e.dueDoses(nurse, e.ward(e.alt, "X"), next, res); len(d) != 1 {
		t.Fatalf("due before discontinuing: %v", d)
	}
	if r := e.do(req{method: "POST", path: "/v1/prescriptions/" + newID + "/status", token: doctor,
		body: map[string]any{"version": 3, "status": "discontinued", "reason": "dolore risolto"}}); r.Status != 200 {
		t.Fatalf("discontinue: %d %s", r.Status, r.Body)
	}
	if d := e.dueDoses(nurse, e.ward(e.alt, "X"), next, res); len(d) != 0 {
		t.Fatalf("due after discontinuing: %v", d)
	}
	// Only the status ever moves: the database refuses anything else.
	if _, err := e.db.Pool.Exec(context.Background(), "UPDATE prescriptions SET dose = 10 WHERE id = $1", newID); err == nil {
		t.Fatal("a prescription's dose could be edited in place")
	}
	if sheet := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/prescriptions?history=true", token: nurse}).json(t); len(sheet["prescriptions"].([]any)) != 2 {
		t.Fatalf("history: %v", sheet)
	}
}

func TestOSSAssistedIntakeAndRecalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nurse, oss := e.login("alt.nurse.x"), e.login("alt.oss.x")
	res, _ := e.therapyResident(false)
	e.prescribe(res, everyHoursFromNow(aicTachipirina500, e, 6))
	dose := e.dueDoses(nurse, e.ward(e.alt, "X"), time.Now(), res)[0]["dose_id"]
	// An OSS never records an administration.
	if r := e.record(oss, uuid.NewString(), map[string]any{"dose_id": dose, "outcome": "given", "unable_to_scan": "emergency"}); r.Status != http.StatusForbidden {
		t.Fatalf("oss administers: %d %s", r.Status, r.Body)
	}
	pack := "(01)08012345678907(17)" + time.Now().AddDate(1, 0, 0).Format("060102") + "(10)LOT42(716)" + aicTachipirina500
	given := e.record(nurse, uuid.NewString(), map[string]any{"dose_id": dose, "outcome": "given", "barcode": pack})
	if given.Status != 201 || given.json(t)["batch"] != "LOT42" {
		t.Fatalf("given: %d %s", given.Status, given.Body)
	}
	aid := given.json(t)["id"]
	if r := e.do(req{method: "POST", path: "/v1/assisted-intakes", token: oss, body: map[string]any{"administration_id": aid, "outcome": "taken"}}); r.Status != 201 {
		t.Fatalf("assisted intake: %d %s", r.Status, r.Body)
	}
	if tl := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/timeline?kinds=assisted_intake", token: nurse}); tl.Status != 200 ||
		len(tl.json(t)["items"].([]any)) != 1 || !strings.Contains(string(tl.Body), "Assunzione assistita") {
		t.Fatalf("timeline assisted intake: %d %s", tl.Status, tl.Body)
	}
	// The recall lists who received the batch, by AIC or by GTIN.
	for _, q := range []string{"aic=" + aicTachipirina500, "gtin=8012345678907"} {
		r := e.do(req{method: "GET", path: "/v1/recalls?" + q + "&batch=LOT42", token: e.login("alt.director")})
		if r.Status != 200 || !strings.Contains(string(r.Body), res.String()) {
			t.Fatalf("recall %s: %d %s", q, r.Status, r.Body)
		}
	}
	if r := e.do(req{method: "GET", path: "/v1/recalls?aic=" + aicTachipirina500 + "&batch=OTHER", token: e.login("alt.director")}); strings.Contains(string(r.Body), res.String()) {
		t.Fatal("another batch listed the resident")
	}
	// The director can switch OSS assisted intake off.
	dir := e.login("alt.director")
	set := e.do(req{method: "GET", path: "/v1/admin/therapy-settings", token: dir}).json(t)
	set["oss_assisted_intake"] = false
	if r := e.do(req{method: "PUT", path: "/v1/admin/therapy-settings", token: dir, body: set}); r.Status != 200 {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	if r := e.do(req{method: "POST", path: "/v1/assisted-intakes", token: oss, body: map[string]any{"administration_id": aid, "outcome": "taken"}}); r.Status != 403 || r.code() != "assisted_intake.disabled" {
		t.Fatalf("disabled: %d %s", r.Status, r.Body)
	}
	// A block that may never be overridden cannot be configured so.
	set = e.do(req{method: "GET", path: "/v1/admin/therapy-settings", token: dir}).json(t)
	set["overridable_blocks"] = []string{"wrong_resident"}
	if r := e.do(req{method: "PUT", path: "/v1/admin/therapy-settings", token: dir, body: set}); r.Status != 400 {
		t.Fatalf("wrong_resident overridable: %d %s", r.Status, r.Body)
	}
}

// The demo facility has a round to do at any hour: on every ward, at every
// hour of the coming day, doses due within the hour and a few already late.
func TestDemoHasARoundAtAnyHour(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.db.NewServices(postgresConfig()).Therapy.RollForward(context.Background()); err != nil {
		t.Fatal(err)
	}
	lead := e.login("lead.a") // facility-wide reader
	for _, w := range []string{"A", "B", "C", "D"} {
		for h := 0; h < 24; h++ {
			at := time.Now().Add(time.Duration(h) * time.Hour)
			r := e.do(req{method: "GET", path: "/v1/wards/" + e.ward(e.demo, w).String() + "/due?at=" + at.UTC().Format(time.RFC3339), token: lead})
			if r.Status != 200 {
				t.Fatalf("due %s: %d %s", w, r.Status, r.Body)
			}
			soon, late := 0, 0
			for _, x := range r.json(t)["residents"].([]any) {
				for _, d := range x.(map[string]any)["doses"].([]any) {
					dd := d.(map[string]any)
					due, _ := time.Parse(time.RFC3339Nano, dd["due_at"].(string))
					switch {
					case dd["state"] == "late":
						late++
					case !due.Before(at) && due.Sub(at) <= time.Hour:
						soon++
					}
				}
			}
			if soon == 0 || late == 0 {
				t.Errorf("ward %s at +%dh: %d due within the hour, %d late", w, h, soon, late)
			}
		}
	}
}

func postgresConfig() postgres.ServiceConfig { return postgres.ServiceConfig{Hasher: pgtest.Hasher()} }

// Scan compliance and overrides are counted per ward and per person.
func TestAdministrationIndicators(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nurse := e.login("alt.nurse.x")
	for i, body := range []map[string]any{
		{"outcome": "given", "barcode": code32(t, aicTachipirina500)},
		{"outcome": "given", "unable_to_scan": "wristband_damaged"},
		{"outcome": "refused", "reason": "rifiuta"},
	} {
		res, _ := e.therapyResident(i == 1) // the second awaits reconciliation: overridden
		e.prescribe(res, everyHoursFromNow(aicTachipirina500, e, 6))
		body["dose_id"] = e.dueDoses(nurse, e.ward(e.alt, "X"), time.Now(), res)[0]["dose_id"]
		if i == 1 {
			body["override"] = map[string]any{"codes": []string{"awaiting_reconciliation"}, "reason": "reconciliation_pending_physician_informed"}
		}
		if r := e.record(nurse, uuid.NewString(), body); r.Status != 201 {
			t.Fatalf("record %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := e.do(req{method: "GET", path: "/v1/indicators/administration?from=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) +
		"&to=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339), token: e.login("alt.director")})
	if r.Status != 200 {
		t.Fatalf("indicators: %d %s", r.Status, r.Body)
	}
	j := r.json(t)
	var x map[string]any
	for _, w := range j["wards"].([]any) {
		if w.(map[string]any)["ward_code"] == "X" {
			x = w.(map[string]any)
		}
	}
	if x["scanned"] != float64(1) || x["keyed"] != float64(1) || x["scan_compliance"] != 0.5 || x["refused"] != float64(1) ||
		x["overrides"] != float64(1) || x["keyed_reasons"].(map[string]any)["wristband_damaged"] != float64(1) {
		t.Fatalf("ward X: %v", x)
	}
	ov := j["overrides"].([]any)
	if len(ov) != 1 || ov[0].(map[string]any)["name"] != "Infermiera X" || ov[0].(map[string]any)["count"] != float64(1) {
		t.Fatalf("overrides: %v", ov)
	}
}

// A prescription retried with its Idempotency-Key is written once.
func TestPrescriptionRetryIsWrittenOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.therapyResident(false)
	key := uuid.NewString()
	order := everyHoursFromNow(aicTachipirina500, e, 8)
	var ids []any
	for i := 0; i < 2; i++ {
		r := e.do(req{method: "POST", path: "/v1/residents/" + res.String() + "/prescriptions", token: e.login("alt.doctor"),
			body: order, header: map[string]string{"Idempotency-Key": key}})
		if r.Status != 201 {
			t.Fatalf("prescribe %d: %d %s", i, r.Status, r.Body)
		}
		ids = append(ids, r.json(t)["id"])
	}
	if ids[0] != ids[1] {
		t.Fatalf("a retry wrote a second prescription: %v", ids)
	}
	order["dose"] = "2"
	if r := e.do(req{method: "POST", path: "/v1/residents/" + res.String() + "/prescriptions", token: e.login("alt.doctor"),
		body: order, header: map[string]string{"Idempotency-Key": key}}); r.Status != 422 {
		t.Fatalf("same key, other order: %d %s", r.Status, r.Body)
	}
	if sheet := e.do(req{method: "GET", path: "/v1/residents/" + res.String() + "/prescriptions", token: e.login("alt.nurse.x")}).json(t); len(sheet["prescriptions"].([]any)) != 1 {
		t.Fatalf("sheet: %v", sheet)
	}
}
