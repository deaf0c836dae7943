// Package mobileapi is the HTTP API the ward tablets and phones use, built on
// Fiber v2: every route in routes.go, one file of handlers per domain, the
// middleware that gives each request an id, a deadline, an authenticated
// actor and a problem+json answer on failure. It holds no business rules:
// handlers decode, call a backend service, encode.
package mobileapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/netip"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/assess"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/auth"
	"github.com/corsia-cce/corsia/backend/careplan"
	"github.com/corsia-cce/corsia/backend/catalogue"
	"github.com/corsia-cce/corsia/backend/diary"
	"github.com/corsia-cce/corsia/backend/document"
	"github.com/corsia-cce/corsia/backend/facility"
	"github.com/corsia-cce/corsia/backend/incident"
	"github.com/corsia-cce/corsia/backend/notify"
	"github.com/corsia-cce/corsia/backend/problem"
	"github.com/corsia-cce/corsia/backend/rehab"
	"github.com/corsia-cce/corsia/backend/resident"
	"github.com/corsia-cce/corsia/backend/round"
	"github.com/corsia-cce/corsia/backend/scan"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/corsia-cce/corsia/backend/timeline"
	"github.com/corsia-cce/corsia/backend/vitals"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is the API's share of the service configuration.
type Config struct {
	BodyLimit      int           // bytes; requests above it get 413
	ScanBodyLimit  int           // bytes; the limit for photo uploads to /v1/scan/decode
	RequestTimeout time.Duration // deadline of every request's context
	ReadTimeout    time.Duration
	WriteTimeout   time.Duration
	IdleTimeout    time.Duration
	// CORSOrigins lists allowed browser origins; empty disables CORS.
	CORSOrigins []string
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []string
	// AuthRatePerMinute bounds sign-in calls per client address.
	AuthRatePerMinute int
	// ScanAdmissions bounds photo uploads held in memory at once (body,
	// multipart copy, decode); more wait briefly, then get 503 scan.busy.
	ScanAdmissions int
}

// DefaultConfig is sensible for a ward network.
func DefaultConfig() Config {
	return Config{BodyLimit: 1 << 20, ScanBodyLimit: 24 << 20, RequestTimeout: 15 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, AuthRatePerMinute: 60, ScanAdmissions: 4}
}

// Pinger checks a dependency for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are the services the API calls.
type Deps struct {
	Auth      *auth.Service
	Residents *resident.Service
	Facility  *facility.Service
	Audit     *audit.Service
	Scanner   *scan.Decoder
	Catalogue *catalogue.Service
	Therapy   *therapy.Service
	Notify    *notify.Service
	Rounds    *round.Service
	Documents *document.Service
	Diary     *diary.Service
	Assess    *assess.Service
	Vitals    *vitals.Service
	Incidents *incident.Service
	Rehab     *rehab.Service
	CarePlans *careplan.Service
	Problems  *problem.Service
	Timeline  *timeline.Service
	// FacilityInfo reads the caller's facility for /v1/me.
	FacilityInfo func(ctx context.Context, id uuid.UUID) (facility.Facility, error)
	Postgres     Pinger
	Redis        Pinger
	Metrics      *prometheus.Registry
	OpenAPI      []byte
	Log          *slog.Logger
}

// Server is the API.
type Server struct {
	Deps
	cfg     Config
	proxies []netip.Prefix
	// scanSlots admits photo uploads before their bodies are read.
	scanSlots chan struct{}
	log       *slog.Logger
	app       *fiber.App
	metrics   *httpMetrics
}

// New builds the API with its middleware and routes.
func New(cfg Config, d Deps) *Server {
	s := &Server{Deps: d, cfg: cfg, log: d.Log, proxies: parseProxies(cfg.TrustedProxies),
		scanSlots: make(chan struct{}, max(cfg.ScanAdmissions, 1))}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.app = fiber.New(fiber.Config{
		// Immutable: strings from the context are copied, so nothing that
		// outlives a handler can be overwritten by the next request.
		Immutable: true,
		// Bodies are streamed and read by readBody with the route's own
		// limit: a photo upload may be 24 MiB, a sign-in never more than the
		// JSON limit, and nothing is buffered before that is decided.
		StreamRequestBody:     true,
		BodyLimit:             max(cfg.BodyLimit, cfg.ScanBodyLimit),
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		ErrorHandler:          s.errorHandler,
		DisableStartupMessage: true,
		JSONEncoder:           jsonMarshal,
		JSONDecoder:           json.Unmarshal,
		AppName:               "corsia",
		ServerHeader:          "",
		ReadBufferSize:        8192,
	})
	s.metrics = newHTTPMetrics(d.Metrics)
	s.routes()
	return s
}

// App returns the Fiber app, for tests (app.Test) and for serving.
func (s *Server) App() *fiber.App { return s.app }

// Listen serves on addr until Shutdown.
func (s *Server) Listen(addr string) error { return s.app.Listen(addr) }

// Shutdown stops accepting connections and waits for in-flight requests.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

// parseProxies reads addresses and CIDR prefixes; bad entries are dropped
// (configuration is validated at start-up by the binary).
func parseProxies(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range list {
		if pre, err := netip.ParsePrefix(p); err == nil {
			out = append(out, pre.Masked())
		} else if a, err := netip.ParseAddr(p); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return out
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// actor returns the authenticated actor of the request.
func actor(c *fiber.Ctx) *backend.Actor {
	a, _ := c.Locals(actorLocal).(*backend.Actor)
	return a
}
