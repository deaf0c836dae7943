package postgres

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector exports pgxpool statistics to Prometheus.
type PoolCollector struct {
	pool                                 *pgxpool.Pool
	acquired, idle, total, max, acquires *prometheus.Desc
	acquireSeconds, emptyAcquires        *prometheus.Desc
}

// NewPoolCollector returns a collector for pool.
func NewPoolCollector(pool *pgxpool.Pool) *PoolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("corsia_db_pool_"+name, help, nil, nil)
	}
	return &PoolCollector{pool: pool,
		acquired:       d("acquired_conns", "Connections in use."),
		idle:           d("idle_conns", "Idle connections."),
		total:          d("total_conns", "Open connections."),
		max:            d("max_conns", "Pool size limit."),
		acquires:       d("acquires_total", "Successful acquires."),
		acquireSeconds: d("acquire_seconds_total", "Total time spent acquiring connections."),
		emptyAcquires:  d("empty_acquires_total", "Acquires that found the pool empty and had to wait."),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max, c.acquires, c.acquireSeconds, c.emptyAcquires} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	g, k := prometheus.GaugeValue, prometheus.CounterValue
	ch <- prometheus.MustNewConstMetric(c.acquired, g, float64(s.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(c.idle, g, float64(s.IdleConns()))
	ch <- prometheus.MustNewConstMetric(c.total, g, float64(s.TotalConns()))
	ch <- prometheus.MustNewConstMetric(c.max, g, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.acquires, k, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.acquireSeconds, k, s.AcquireDuration().Seconds())
	ch <- prometheus.MustNewConstMetric(c.emptyAcquires, k, float64(s.EmptyAcquireCount()))
}
