package scan

import (
	"context"
	"sort"
	"testing"
	"time"
)

// BenchmarkDecodeCorpus decodes every photo of the shared corpus with the
// default limits and reports the median and p99 time per photo.
func BenchmarkDecodeCorpus(b *testing.B) {
	imgs := loadShared(b)
	d := New(DefaultLimits)
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, im := range imgs {
			start := time.Now()
			_, _ = d.Decode(context.Background(), im.data, HintNone, acceptAll)
			times = append(times, time.Since(start))
		}
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	q := func(p float64) float64 {
		return float64(times[min(len(times)-1, int(p*float64(len(times))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(len(imgs)), "photos/op")
}

// BenchmarkBaselineCorpus is the same measure for BaselineDecode.
func BenchmarkBaselineCorpus(b *testing.B) {
	imgs := loadShared(b)
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, im := range imgs {
			start := time.Now()
			_, _ = BaselineDecode(im.data)
			times = append(times, time.Since(start))
		}
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	q := func(p float64) float64 {
		return float64(times[min(len(times)-1, int(p*float64(len(times))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
