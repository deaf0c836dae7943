// Command corsia runs the Corsia clinical record: the mobile API, the
// workers, migrations, demo fixtures and the audit-chain verifier. It is the
// edge where configuration, PostgreSQL, Redis and the services are wired
// together; nothing imports it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/auth"
	"github.com/corsia-cce/corsia/backend/document"
	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/corsia-cce/corsia/backend/scan"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/corsia-cce/corsia/mobileapi"
	"github.com/corsia-cce/corsia/schemas"
	"github.com/corsia-cce/corsia/workers"
	"github.com/corsia-cce/corsia/workers/fcm"
	"github.com/corsia-cce/corsia/workers/stream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
)

const usage = `corsia — the Corsia clinical record service

Usage:
  corsia up              migrate, load the demo facility into an empty database,
                         and run the API and the workers in one process
  corsia api             serve the mobile API (HTTP_ADDR)
  corsia workers         run the background workers
  corsia migrate         apply pending database migrations (and the demo
                         facility when CORSIA_DEMO=true)
  corsia fixtures --demo load the demo facility (idempotent; refuses a
                         database holding real facilities)
  corsia audit-verify    walk every facility's audit chain; exit 1 at a break
  corsia dead-letters [--replay ID...]
                         list the notifications the push workers gave up on
                         (with the error and attempts), or put some back
  corsia healthcheck [URL | --workers]
                         exit 0 if the API at URL (default
                         http://127.0.0.1:8080/healthz) answers 200, or with
                         --workers if a worker heartbeat is fresh in Redis
  corsia help            this text

`

func main() {
	cmd := "help"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	args := os.Args[min(2, len(os.Args)):]
	var err error
	switch cmd {
	case "up":
		err = run(true, args, runAPI|runWorkers|doMigrate)
	case "api":
		err = run(false, args, runAPI)
	case "workers":
		err = run(false, args, runWorkers)
	case "migrate":
		err = run(false, args, doMigrate)
	case "fixtures":
		err = fixturesCmd(args)
	case "audit-verify":
		err = auditVerify(args)
	case "healthcheck":
		err = healthcheck(args)
	case "dead-letters":
		err = deadLetters(args)
	case "help", "-h", "--help", "-help":
		fmt.Print(usage + envDoc)
		return
	default:
		fmt.Fprintf(os.Stderr, "corsia: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "corsia:", err)
		os.Exit(1)
	}
}

type mode int

const (
	runAPI mode = 1 << iota
	runWorkers
	doMigrate
)

func newLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func parseFlags(name string, args []string) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage+envDoc) }
	return fs.Parse(args)
}

// deps are the connections a command holds.
type deps struct {
	cfg Config
	log *slog.Logger
	db  *postgres.DB
	rdb *redis.Client
}

func connect(ctx context.Context, cfg Config, needRedis bool) (*deps, error) {
	d := &deps{cfg: cfg, log: newLogger(cfg.LogLevel)}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return nil, err
	}
	d.db = db
	if needRedis {
		rdb, err := openRedis(ctx, cfg.RedisURL)
		if err != nil {
			db.Close()
			return nil, err
		}
		d.rdb = rdb
	}
	return d, nil
}

func (d *deps) close() {
	if d.rdb != nil {
		_ = d.rdb.Close()
	}
	d.db.Close()
}

func openRedis(ctx context.Context, url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL %q is not a valid Redis URL: %w", postgres.Redact(url), err)
	}
	rdb := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("cannot reach Redis at %s: %w\n"+
			"  start it with:  docker compose up -d postgres redis\n"+
			"  or, on a Debian machine:  redis-server --daemonize yes --bind 127.0.0.1 --port 6379\n"+
			"  or point REDIS_URL at a running server", postgres.Redact(url), err)
	}
	return rdb, nil
}

func (d *deps) hasher() *auth.Hasher {
	return auth.NewHasher(auth.DefaultArgon2, d.cfg.HashConcurrency)
}

// loadDemo loads the drug catalogue (idempotent) and the demo facility
// into a database with no facility.
func (d *deps) loadDemo(ctx context.Context) (bool, error) {
	products, err := fixtures.Catalogue()
	if err != nil {
		return false, err
	}
	if _, err := d.db.LoadCatalogue(ctx, products); err != nil {
		return false, err
	}
	has, err := d.db.HasFacilities(ctx)
	if err != nil || has {
		return false, err
	}
	demo, err := fixtures.Demo()
	if err != nil {
		return false, err
	}
	return d.db.LoadFixtures(ctx, demo, d.hasher())
}

func run(demoDefault bool, args []string, m mode) error {
	if err := parseFlags(os.Args[1], args); err != nil {
		return err
	}
	started := time.Now()
	cfg, err := loadConfig(demoDefault)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := connect(ctx, cfg, m&(runAPI|runWorkers) != 0)
	if err != nil {
		return err
	}
	defer d.close()
	if m&doMigrate != 0 {
		res, err := d.db.Migrate(ctx)
		if err != nil {
			return err
		}
		d.log.Info("migrations applied", slog.Any("applied", res.Applied), slog.Float64("duration_ms", ms(res.Duration)))
		if cfg.Demo {
			loaded, err := d.loadDemo(ctx)
			if err != nil {
				return err
			}
			if loaded {
				d.log.Info("demo facility loaded")
			}
		}
	} else if err := d.db.CheckMigrated(ctx); err != nil {
		return err
	}
	if m&(runAPI|runWorkers) == 0 {
		return nil
	}
	if m&runAPI != 0 && cfg.DocumentKeys == nil {
		// The public development key is for demo databases only: a real
		// facility's documents must never be encrypted with it.
		var real bool
		if err := d.db.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM facilities WHERE NOT is_demo)").Scan(&real); err != nil {
			return err
		}
		if real {
			return errors.New("DOCUMENT_KEY is not set and this database holds real facilities: refusing to encrypt their documents with the public development key")
		}
	}
	workCtx, stopWork := context.WithCancel(context.Background())
	workersDone := make(chan struct{})
	if m&runWorkers != 0 {
		sender, err := d.pushSender(ctx)
		if err != nil {
			stopWork()
			return err
		}
		pipe := &workers.Pipeline{Redis: d.rdb, Prefix: cfg.RedisPrefix, Outbox: d.db, Lost: d.db,
			Pusher:    &workers.Pusher{Store: postgres.NotifyStore{DB: d.db}, Sender: sender, Log: d.log},
			Consumers: cfg.PushConsumers, RepublishAfter: cfg.RepublishAfter, Log: d.log}
		r := &workers.Runner{Log: d.log, Jobs: append([]workers.Job{
			workers.Heartbeat(d.rdb, cfg.RedisPrefix),
			workers.PurgeTokens(d.db, d.log),
			workers.VerifyAudit(d.db, cfg.AuditVerifyEvery, d.log),
			workers.RollDoses(d.db.NewServices(postgres.ServiceConfig{Hasher: d.hasher()}).Therapy, d.log),
			workers.DetectLateDoses(postgres.NotifyStore{DB: d.db}, cfg.DetectEvery, d.log),
		}, pipe.Jobs()...), Loops: pipe.Loops()}
		go func() { r.Run(workCtx); close(workersDone) }()
	} else {
		close(workersDone)
	}
	var api *mobileapi.Server
	apiErr := make(chan error, 1)
	if m&runAPI != 0 {
		api = newAPI(d)
		go func() { apiErr <- api.Listen(cfg.HTTPAddr) }()
		if err := waitListening(ctx, cfg.HTTPAddr, apiErr); err != nil {
			stopWork()
			return err
		}
		d.log.Info("api listening", slog.String("addr", cfg.HTTPAddr), slog.Float64("startup_ms", ms(time.Since(started))))
		if demoDefault {
			printWelcome(os.Stdout, cfg, d, time.Since(started))
		}
	}
	select {
	case <-ctx.Done():
	case err := <-apiErr:
		stopWork()
		<-workersDone
		return fmt.Errorf("api stopped: %w", err)
	}
	// Graceful shutdown: stop taking requests and let in-flight ones finish,
	// then let workers finish the runs they hold, then close the pools.
	d.log.Info("shutting down")
	if api != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := api.Shutdown(sctx); err != nil {
			d.log.Error("api shutdown", slog.Any("error", err))
		}
		cancel()
	}
	stopWork()
	<-workersDone
	return nil
}

func newAPI(d *deps) *mobileapi.Server {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		postgres.NewPoolCollector(d.db.Pool))
	svc := d.db.NewServices(postgres.ServiceConfig{Hasher: d.hasher(), AccessTTL: d.cfg.AccessTokenTTL,
		SessionTTL: d.cfg.SessionTTL, BreakGlassTTL: d.cfg.BreakGlassTTL, DocumentKeys: document.OrDevelopment(d.cfg.DocumentKeys, d.log)})
	scanLimits := scan.DefaultLimits
	scanLimits.Concurrency = d.cfg.ScanConcurrency
	acfg := mobileapi.DefaultConfig()
	acfg.ScanAdmissions = d.cfg.ScanAdmissions
	acfg.BodyLimit, acfg.RequestTimeout = d.cfg.BodyLimit, d.cfg.RequestTimeout
	acfg.CORSOrigins, acfg.TrustedProxies, acfg.AuthRatePerMinute = d.cfg.CORSOrigins, d.cfg.TrustedProxies, d.cfg.AuthRatePerMinute
	return mobileapi.New(acfg, mobileapi.Deps{Documents: svc.Documents, Auth: svc.Auth, Residents: svc.Residents, Facility: svc.Facility,
		Audit: svc.Audit, Scanner: scan.New(scanLimits), Catalogue: svc.Catalogue, Therapy: svc.Therapy, Notify: svc.Notify, Rounds: svc.Rounds, Assess: svc.Assess, Incidents: svc.Incidents, Rehab: svc.Rehab, CarePlans: svc.CarePlans, FacilityInfo: d.db.Facility, Postgres: d.db, Redis: redisPinger{d.rdb}, Problems: svc.Problems,
		Vitals:  svc.Vitals,
		Diary:   svc.Diary,
		Metrics: reg, OpenAPI: schemas.OpenAPI, Log: d.log, Timeline: svc.Timeline})
}

// pushSender is FCM when credentials are configured, otherwise a sender
// that logs what it would send (notifications are still listed by the API).
func (d *deps) pushSender(ctx context.Context) (fcm.Sender, error) {
	if d.cfg.FCMCredentialsFile == "" {
		d.log.Info("push: no FCM_CREDENTIALS_FILE; notifications are logged, not sent")
		return fcm.LogSender{Log: d.log}, nil
	}
	creds, err := os.ReadFile(d.cfg.FCMCredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("FCM_CREDENTIALS_FILE: %w", err)
	}
	s, err := fcm.NewFCM(ctx, fcm.Options{CredentialsJSON: creds, Endpoint: d.cfg.FCMEndpoint})
	if err != nil {
		return nil, fmt.Errorf("FCM: %w", err)
	}
	return s, nil
}

type redisPinger struct{ rdb *redis.Client }

func (p redisPinger) Ping(ctx context.Context) error { return p.rdb.Ping(ctx).Err() }

// waitListening returns once the API accepts connections, or its error.
func waitListening(ctx context.Context, addr string, apiErr chan error) error {
	url := "http://" + localAddr(addr) + "/healthz"
	for i := 0; i < 100; i++ {
		select {
		case err := <-apiErr:
			return fmt.Errorf("cannot listen on %s: %w", addr, err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("the API did not start listening on %s", addr)
}

func localAddr(addr string) string {
	if strings.HasPrefix(addr, ":") {
		return "127.0.0.1" + addr
	}
	return addr
}

func printWelcome(w io.Writer, cfg Config, d *deps, startup time.Duration) {
	demo, _ := fixtures.Demo()
	url := "http://" + localAddr(cfg.HTTPAddr)
	fmt.Fprintf(w, "\nCorsia is running at %s (started in %s)\n", url, startup.Round(time.Millisecond))
	fmt.Fprintf(w, "  API contract: %s/openapi.yaml   health: %s/readyz   metrics: %s/metrics\n", url, url, url)
	has, _ := d.db.Pool.Query(context.Background(), "SELECT 1 FROM facilities WHERE id = $1 AND is_demo", demo.FacilityID())
	isDemo := has != nil && has.Next()
	if has != nil {
		has.Close()
	}
	if !isDemo {
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "\nDemo facility %q — every demo password is %q:\n", demo.Facility.Name, fixtures.DemoPassword)
	for _, u := range []string{"nurse.a", "nurse.b", "lead.a", "doctor", "oss.a", "auditor", "admin"} {
		for _, s := range demo.Staff {
			if s.Username == u {
				line := fmt.Sprintf("  %-8s %-28s %s", u, s.GivenName+" "+s.FamilyName, strings.Join(s.Roles, ","))
				if s.PIN != "" {
					line += fmt.Sprintf("   badge %s PIN %s", demo.BadgeCode(u), s.PIN)
				}
				fmt.Fprintln(w, line)
			}
		}
	}
	_, cred := demo.TabletCredential("A")
	fmt.Fprintf(w, "\nWard A tablet credential (header X-Device-Credential, for badge sign-in):\n  %s\n", cred)
	fmt.Fprintf(w, "\nTry:\n  curl -s %s/v1/auth/login -H 'Content-Type: application/json' -d '{\"username\":\"nurse.a\",\"password\":\"%s\"}'\n\n",
		url, fixtures.DemoPassword)
}

func fixturesCmd(args []string) error {
	fs := flag.NewFlagSet("fixtures", flag.ContinueOnError)
	demoFlag := fs.Bool("demo", false, "load the demo facility (required: demo data has public passwords)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(false)
	if err != nil {
		return err
	}
	if !*demoFlag && !cfg.Demo {
		return errors.New("refusing to load demo data without --demo (or CORSIA_DEMO=true): its passwords are public")
	}
	ctx := context.Background()
	d, err := connect(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer d.close()
	if err := d.db.CheckMigrated(ctx); err != nil {
		return err
	}
	demo, err := fixtures.Demo()
	if err != nil {
		return err
	}
	products, err := fixtures.Catalogue()
	if err != nil {
		return err
	}
	if _, err := d.db.LoadCatalogue(ctx, products); err != nil {
		return err
	}
	loaded, err := d.db.LoadFixtures(ctx, demo, d.hasher())
	if err != nil {
		return err
	}
	if loaded {
		fmt.Println("demo facility loaded")
	} else {
		fmt.Println("demo facility already present: nothing changed")
	}
	return nil
}

func auditVerify(args []string) error {
	if err := parseFlags("audit-verify", args); err != nil {
		return err
	}
	cfg, err := loadConfig(false)
	if err != nil {
		return err
	}
	ctx := context.Background()
	d, err := connect(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer d.close()
	reps, err := audit.VerifyAll(ctx, d.db)
	if err != nil {
		return err
	}
	broken := 0
	for _, r := range reps {
		if r.OK {
			fmt.Printf("facility %s: %d events in %d chains, intact\n", r.FacilityID, r.Events, r.Chains)
			continue
		}
		broken++
		event := "missing"
		if r.BrokenID != nil {
			event = r.BrokenID.String()
		}
		fmt.Printf("facility %s: BROKEN at chain %d seq %d (event %s): %s\n", r.FacilityID, *r.BrokenChain, r.BrokenSeq, event, r.Problem)
	}
	if broken > 0 {
		return fmt.Errorf("%d audit chain(s) broken", broken)
	}
	return nil
}

// deadLetters lists the notification stream's dead letters, or replays the
// ones named: an operator's tool after an FCM outage or a bad deploy.
func deadLetters(args []string) error {
	fs := flag.NewFlagSet("dead-letters", flag.ContinueOnError)
	replay := fs.Bool("replay", false, "put the named dead letters (stream ids) back on the stream")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(false)
	if err != nil {
		return err
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := cfg.RedisPrefix + workers.NotificationStream
	if *replay {
		n, err := stream.Replay(ctx, rdb, name, fs.Args()...)
		if err != nil {
			return err
		}
		fmt.Printf("%d dead letter(s) put back on %s\n", n, name)
		return nil
	}
	dls, err := stream.DeadLetters(ctx, rdb, name, 1000)
	if err != nil {
		return err
	}
	for _, d := range dls {
		fmt.Printf("%s\toutbox %s\tattempts %d\t%s\n", d.ID, d.Entry.OutboxID, d.Entry.Attempt, d.Error)
	}
	fmt.Printf("%d dead letter(s) on %s\n", len(dls), name)
	return nil
}

func healthcheck(args []string) error {
	if len(args) > 0 && args[0] == "--workers" {
		cfg, err := loadConfig(false)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rdb, err := openRedis(ctx, cfg.RedisURL)
		if err != nil {
			return err
		}
		defer rdb.Close()
		ok, err := workers.Alive(ctx, rdb, cfg.RedisPrefix)
		if err != nil || !ok {
			return fmt.Errorf("no fresh worker heartbeat (err=%v)", err)
		}
		return nil
	}
	url := "http://127.0.0.1:8080/healthz"
	if len(args) > 0 {
		url = args[0]
	}
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return nil
}

// ms renders a duration as milliseconds for log lines.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
