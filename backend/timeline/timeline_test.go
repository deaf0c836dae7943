package timeline

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
)

func getter(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseQuery(t *testing.T) {
	c := Cursor{At: time.Date(2026, 3, 1, 8, 0, 0, 123000, time.UTC), Kind: Vitals, ID: uuid.New()}
	q, err := ParseQuery(getter(map[string]string{"from": "2026-03-01T00:00:00+01:00", "to": "2026-03-02T00:00:00Z",
		"kinds": " vitals,diary,,vitals ", "limit": "20", "cursor": c.String()}))
	if err != nil {
		t.Fatal(err)
	}
	if !q.From.Equal(time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC)) || q.To.Location() != time.UTC || q.Limit != 20 ||
		len(q.Kinds) != 2 || q.Kinds[0] != Vitals || q.Kinds[1] != Diary || q.Cursor == nil || *q.Cursor != c {
		t.Fatalf("parsed %+v", q)
	}
	for _, bad := range []struct {
		params map[string]string
		code   string
		kind   backend.Kind
	}{
		{map[string]string{"kinds": "vitals,blood"}, CodeUnknownKind, backend.KindUnprocessable},
		{map[string]string{"kinds": "care_plans"}, CodeUnknownKind, backend.KindUnprocessable},
		{map[string]string{"cursor": "x"}, CodeInvalidCursor, backend.KindUnprocessable},
		{map[string]string{"from": "2026-03-01"}, CodeInvalidQuery, backend.KindInvalid},
		{map[string]string{"to": "0000-01-01T00:00:00Z"}, CodeInvalidQuery, backend.KindInvalid},
		{map[string]string{"limit": "0"}, CodeInvalidQuery, backend.KindInvalid},
		{map[string]string{"to": "9999-12-31T23:00:00-05:00"}, CodeInvalidQuery, backend.KindInvalid},
		{map[string]string{"from": "1899-12-31T23:00:00Z"}, CodeInvalidQuery, backend.KindInvalid},
		{map[string]string{"limit": "201"}, CodeInvalidQuery, backend.KindInvalid},
		{map[string]string{"limit": "1e2"}, CodeInvalidQuery, backend.KindInvalid},
	} {
		_, err := ParseQuery(getter(bad.params))
		if !backend.IsCode(err, bad.code) || !backend.IsKind(err, bad.kind) {
			t.Errorf("%v: %v", bad.params, err)
		}
	}
}

func TestNormalise(t *testing.T) {
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	q, err := Query{}.Normalise(now)
	if err != nil || !q.To.Equal(now) || !q.From.Equal(now.Add(-DefaultPeriod)) || q.Limit != DefaultLimit ||
		len(q.Kinds) != len(Kinds) || q.Lang != "it" {
		t.Fatalf("defaults: %+v %v", q, err)
	}
	to := now.Add(-time.Hour)
	if q, _ := (Query{To: to, Lang: "en"}).Normalise(now); !q.From.Equal(to.Add(-DefaultPeriod)) || q.Lang != "en" {
		t.Fatalf("from defaults to 30 days before to: %+v", q)
	}
	if q, _ := (Query{From: now.Add(-time.Hour)}).Normalise(now); !q.To.Equal(now) {
		t.Fatalf("to defaults to now: %+v", q)
	}
	for _, c := range []struct {
		q    Query
		code string
	}{
		{Query{From: now, To: now}, CodeInvalidPeriod},
		{Query{From: now.Add(time.Hour)}, CodeInvalidPeriod},
		{Query{From: now.Add(-MaxPeriod - time.Microsecond), To: now}, CodePeriodTooLong},
	} {
		if _, err := c.q.Normalise(now); !backend.IsCode(err, c.code) {
			t.Errorf("%+v: %v", c.q, err)
		}
	}
	if _, err := (Query{From: now.Add(-MaxPeriod), To: now}).Normalise(now); err != nil {
		t.Errorf("366 days exactly: %v", err)
	}
}

func TestCursor(t *testing.T) {
	for _, k := range Kinds {
		c := Cursor{At: time.Now().UTC().Truncate(time.Microsecond), Kind: k, ID: uuid.New()}
		got, err := ParseCursor(c.String())
		if err != nil || got != c {
			t.Fatalf("round trip of %+v: %+v %v", c, got, err)
		}
	}
	valid := Cursor{At: time.Now().UTC().Truncate(time.Microsecond), Kind: Diary, ID: uuid.New()}.String()
	for _, bad := range []string{"", "!!", valid[:20], valid + "x", "AA", strings.Repeat("A", 200), "ewogIH0K"} {
		if _, err := ParseCursor(bad); !backend.IsCode(err, CodeInvalidCursor) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestEveryKindHasASpec(t *testing.T) {
	for _, k := range Kinds {
		if !HasSpec(k) {
			t.Errorf("%s has no summary", k)
		}
	}
	if len(specs) != len(Kinds) {
		t.Errorf("%d specs for %d kinds", len(specs), len(Kinds))
	}
}

func TestSummaries(t *testing.T) {
	for _, c := range []struct {
		kind   Kind
		facts  string
		it, en string
	}{
		{Vitals, `{"measurements":[{"kind":"blood_pressure","value":"150","value2":"90","unit":"mmHg","flags":["high"]},
			{"kind":"heart_rate","value":"88","unit":"bpm","flags":[]},{"kind":"temperature","value":"38.2","unit":"°C","flags":["high"],"corrected":true},
			{"kind":"spo2","value":"95","unit":"%"}]}`, "PA 150/90↑, FC 88, SpO2 95%", "BP 150/90↑, HR 88, SpO2 95%"},
		{Vitals, `{"measurements":[{"kind":"weight","value":"61.5","unit":"kg","corrected":true}]}`, "Peso 61.5 kg", "Weight 61.5 kg"},
		{Vitals, `{"measurements":[{"kind":"bowel_movement","value":"4","unit":"bristol"}]}`, "Alvo (Bristol 4)", "Bowels (Bristol 4)"},
		{Assessment, `{"scale":"braden","total":"12.0","band":"high"}`, "Braden 12 — Rischio alto", "Braden 12 — High risk"},
		{Prescription, `{"drug":"TACHIPIRINA 500 mg compresse, 20 compresse","dose":"1","dose_unit":"tablet","route":"oral","prn":false,"revision":false}`,
			"Prescritto: TACHIPIRINA 500 mg compresse, 1 compressa per bocca", "Prescribed: TACHIPIRINA 500 mg compresse, 1 tablet oral"},
		{Prescription, `{"drug":"paracetamolo 500 mg","dose":"2","dose_unit":"tablet","route":"oral","prn":true,"revision":true}`,
			"Prescrizione modificata: paracetamolo 500 mg, 2 compresse per bocca, al bisogno",
			"Prescription revised: paracetamolo 500 mg, 2 tablets oral, as needed"},
		{PrescriptionStatus, `{"drug":"X","from":"suspended","to":"active"}`, "X: ripresa", "X: resumed"},
		{PrescriptionStatus, `{"drug":"X","from":"active","to":"suspended"}`, "X: sospesa", "X: suspended"},
		{Administration, `{"drug":"X","outcome":"refused","reason":"nausea","prn":false}`, "X: rifiutata — nausea", "X: refused — nausea"},
		{Administration, `{"drug":"X","outcome":"partial","quantity":"0.5","quantity_unit":"tablet","prn":true}`,
			"X (al bisogno): somministrata in parte 0.5 compresse", "X (as needed): partly given 0.5 tablets"},
		{AdministrationCorrection, `{"drug":"X","outcome":"given"}`, "Annullata per errore: X (somministrata)", "Entered in error: X (given)"},
		{Diary, `{"profession":"nursing","addendum":true,"text":"  Riposa.\n\nTranquilla. "}`,
			"Diario infermieristico (integrazione): Riposa. Tranquilla.", "Nursing diary (addendum): Riposa. Tranquilla."},
		{Document, `{"kind":"discharge_letter","title":"Dimissione ospedaliera"}`, "Lettera di dimissione: Dimissione ospedaliera",
			"Discharge letter: Dimissione ospedaliera"},
		{Anamnesis, `{"section":"social","version":2,"text":"Vive con la figlia."}`, "Anamnesi sociale (aggiornata): Vive con la figlia.",
			"Anamnesis, social (updated): Vive con la figlia."},
		{Problem, `{"kind":"medical","code":"401.9","description":"Ipertensione"}`, "Diagnosi: 401.9 Ipertensione", "Diagnosis: 401.9 Ipertensione"},
		{ProblemStatus, `{"code":"","description":"Rischio cadute","from":"active","to":"resolved"}`, "Rischio cadute: attivo → risolto",
			"Rischio cadute: active → resolved"},
		{Incident, `{"kind":"pressure_injury","site":"sacrum","stage":"2","follow_up":true}`,
			"Lesione da pressione (rivalutazione): sacro, stadio 2", "Pressure injury (follow-up): sacrum, stage 2"},
		{Incident, `{"kind":"fall","injury":"none"}`, "Caduta: nessuna lesione", "Fall: no injury"},
		{RehabSession, `{"type":"physiotherapy","outcome":"done","duration_min":45,"measure_name":"Tinetti","measure_value":"14","measure_unit":"punti"}`,
			"Fisioterapia: svolta, 45 min, Tinetti 14 punti", "Physiotherapy: done, 45 min, Tinetti 14 punti"},
		{RehabSession, `{"type":"speech","outcome":"not_done","reason":"ospite assente"}`, "Logopedia: non svolta — ospite assente",
			"Speech therapy: not done — ospite assente"},
		{Allergy, `{"substance":"Penicillina","kind":"allergy","severity":"severe"}`, "Allergia: Penicillina (grave)", "Allergy: Penicillina (severe)"},
		{CarePlan, `{"event":"proposed","version_no":2,"problems":3}`, "PAI v2: proposto, 3 problemi", "PAI v2: proposed, 3 problems"},
		{CarePlan, `{"event":"proposed","version_no":1,"problems":1}`, "PAI v1: proposto, 1 problema", "PAI v1: proposed, 1 problem"},
		{AssistedIntake, `{"drug":"X","outcome":"refused","notes":"sputa la compressa"}`, "Assunzione assistita: X rifiutata — sputa la compressa",
			"Assisted intake: X refused — sputa la compressa"},
		{PRNCheck, `{"drug":"X","effective":"partly_effective"}`, "Efficacia al bisogno: X parzialmente efficace",
			"As-needed effect: X partly effective"},
		{CarePlan, `{"event":"in_force","version_no":2}`, "PAI v2: in vigore", "PAI v2: in force"},
		{CareTask, `{"kind":"meal","outcome":"done","intake_pct":75,"fluid_ml":200}`, "Pasto: eseguito, assunto 75%, 200 ml",
			"Meal: done, eaten 75%, 200 ml"},
		{CareTask, `{"kind":"repositioning","outcome":"not_done","reason_code":"refused"}`, "Riposizionamento: non eseguito — rifiutato",
			"Repositioning: not done — refused"},
	} {
		r := Row{Kind: c.kind, Facts: json.RawMessage(c.facts)}
		if got := ToItem(r, "it").Summary; got != c.it {
			t.Errorf("%s it: %q, want %q", c.kind, got, c.it)
		}
		if got := ToItem(r, "en").Summary; got != c.en {
			t.Errorf("%s en: %q, want %q", c.kind, got, c.en)
		}
	}
	// Facts that do not decode make an empty summary, not a failed page.
	if s := ToItem(Row{Kind: Vitals, Facts: json.RawMessage(`{"measurements":7}`)}, "it").Summary; s != "" {
		t.Errorf("bad facts: %q", s)
	}
}

func TestItemFlags(t *testing.T) {
	it := ToItem(Row{Kind: Administration, EnteredInError: true}, "it")
	if it.EnteredInError == nil || !*it.EnteredInError || string(it.Ref) != "{}" {
		t.Fatalf("administration: %+v", it)
	}
	if it := ToItem(Row{Kind: Anamnesis}, "it"); it.EnteredInError != nil {
		t.Fatal("anamnesis versions cannot be entered in error")
	}
	b, _ := json.Marshal(ToItem(Row{Kind: ProblemStatus}, "it"))
	if strings.Contains(string(b), "entered_in_error") || !strings.Contains(string(b), `"by":null`) {
		t.Fatalf("json: %s", b)
	}
}

func TestClip(t *testing.T) {
	if got := clip(strings.Repeat("è", 130), 120); got != strings.Repeat("è", 120)+"…" {
		t.Fatalf("clip: %q", got)
	}
	if got := drugName("DIBASE 10.000 UI/ml gocce orali, soluzione, flacone 10 ml"); got != "DIBASE 10.000 UI/ml gocce orali, soluzione, flacone 10 ml" {
		t.Fatalf("drug name: %q", got)
	}
}
