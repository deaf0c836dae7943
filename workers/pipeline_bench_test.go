package workers_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend/notify"
	"github.com/google/uuid"
)

// BenchmarkLateDoseAlerts measures the alert latency — from the moment a
// dose's window closes to the moment FCM (a local fake, through the real
// SDK) accepted the push to the ward lead — over 1,000 late doses whose
// windows close spread over ten seconds, and the pipeline's throughput on
// a burst of 1,000 doses whose windows close at once. The detector runs
// every 2 s, the default. Run with:
//
//	go test ./workers -run '^$' -bench LateDoseAlerts -benchtime 1x
func BenchmarkLateDoseAlerts(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var mu sync.Mutex
		var lat []time.Duration
		seen := map[uuid.UUID]bool{}
		f := newPipelineEvery(b, 2*time.Second, func(n notify.Notification, _ time.Time) {
			mu.Lock()
			defer mu.Unlock()
			if n.Kind == notify.KindDoseLate && n.DueAt != nil && !seen[n.ID] {
				seen[n.ID] = true
				lat = append(lat, time.Since(n.DueAt.Add(120*time.Minute)))
			}
		})
		_, token := f.signedIn(b, "alt.lead.x")
		const n = 1000
		bulkLateDoses(b, f, n, 3*time.Second, 10*time.Second)
		f.waitFor(b, "1,000 late-dose pushes", 120*time.Second, func() bool { return f.kind(token, notify.KindDoseLate) >= n })
		mu.Lock()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
		mu.Unlock()

		// Burst: 1,000 more whose windows close together, now.
		f.fake.Reset()
		start := time.Now()
		bulkLateDoses(b, f, n, 0, 0)
		f.waitFor(b, "the burst", 120*time.Second, func() bool { return f.kind(token, notify.KindDoseLate) >= n })
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "burst-events/s")
	}
}

// bulkLateDoses admits n residents to ALT ward X, each with one daily dose
// whose ±2 h window closes between first and first+spread from now.
func bulkLateDoses(b testing.TB, f *pipelineFixture, n int, first, spread time.Duration) {
	b.Helper()
	var product uuid.UUID
	ctx := context.Background()
	if err := f.db.Pool.QueryRow(ctx, "SELECT id FROM products WHERE aic = '012745093' AND facility_id IS NULL").Scan(&product); err != nil {
		b.Fatal(err)
	}
	closeAt := time.Now().Add(first)
	_, err := f.db.Pool.Exec(ctx, `WITH r AS (
			INSERT INTO residents (facility_id, id, given_name, family_name, sex, birth_date, wristband_code, status, ward_id, admitted_at)
			SELECT $1, gen_random_uuid(), 'Bench', 'Ospite', 'F', '1940-01-01', 'B' || $3 || '-' || g, 'admitted', $2, now()
			FROM generate_series(1, $4::int) g RETURNING id),
		p AS (
			INSERT INTO prescriptions (facility_id, id, series_id, resident_id, product_id, dose, dose_unit, route, schedule,
				starts_at, status, prescribed_by)
			SELECT $1, x.pid, x.pid, r.id, $5, 1, 'tablet', 'oral', '{"kind":"once"}', now() - interval '3 hours', 'active', $6
			FROM r CROSS JOIN LATERAL (SELECT gen_random_uuid() AS pid, r.id AS rid) x RETURNING id, resident_id)
		INSERT INTO doses (facility_id, id, prescription_id, resident_id, due_at, window_min, missed_at)
		SELECT $1, gen_random_uuid(), p.id, p.resident_id, d.due, 120, d.due + interval '4 hours'
		FROM (SELECT p.*, row_number() OVER () AS k FROM p) p
		CROSS JOIN LATERAL (SELECT $7::timestamptz - interval '2 hours' + (p.k * $8::float8 / $4::int) * interval '1 microsecond' AS due) d`,
		f.alt.FacilityID(), f.alt.ID("ward", "X"), uuid.NewString()[:8], n, product, f.alt.ID("staff", "alt.doctor"),
		closeAt, float64(spread.Microseconds()))
	if err != nil {
		b.Fatal(err)
	}
}
