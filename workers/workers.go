// Package workers runs Corsia's background work: scheduled jobs now (token
// clean-up, audit-chain verification, a liveness heartbeat in Redis) and the
// Redis Streams consumers of the notification pipeline as they arrive. Each
// job runs on its own schedule until the context ends; Run returns when every
// job has finished the run it was in, so shutdown never cuts a job in half.
package workers

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/notify"
	"github.com/redis/go-redis/v9"
)

// Job is one kind of scheduled work.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// Loop is long-running work (a stream consumer): it runs until ctx is
// done, and is started again a second later if it returns an error early.
type Loop struct {
	Name string
	Run  func(ctx context.Context) error
}

// Runner runs jobs and loops.
type Runner struct {
	Jobs  []Job
	Loops []Loop
	Log   *slog.Logger
}

// Run starts every job and loop and blocks until ctx is done and all have
// stopped. A job's run is not interrupted by shutdown: it gets its own grace
// period; a loop finishes the entry it is handling.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, j := range r.Jobs {
		wg.Add(1)
		go func(j Job) {
			defer wg.Done()
			r.loop(ctx, j)
		}(j)
	}
	for _, l := range r.Loops {
		wg.Add(1)
		go func(l Loop) {
			defer wg.Done()
			for ctx.Err() == nil {
				err := l.Run(ctx)
				if ctx.Err() != nil {
					return
				}
				r.Log.Error("loop stopped; restarting", slog.String("loop", l.Name), slog.Any("error", err))
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}(l)
	}
	wg.Wait()
}

func (r *Runner) loop(ctx context.Context, j Job) {
	t := time.NewTicker(j.Every)
	defer t.Stop()
	for {
		r.once(ctx, j)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Runner) once(parent context.Context, j Job) {
	// Finish the current run even if shutdown starts meanwhile, within a
	// bound.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), max(j.Every, 30*time.Second))
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			r.Log.Error("job panicked", slog.String("job", j.Name), slog.String("panic", fmt.Sprint(p)))
		}
	}()
	start := time.Now()
	if err := j.Run(ctx); err != nil {
		r.Log.Error("job failed", slog.String("job", j.Name), slog.Any("error", err))
		return
	}
	r.Log.Debug("job done", slog.String("job", j.Name), slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
}

// TokenPurger deletes expired sign-in tokens (not clinical data).
type TokenPurger interface {
	PurgeExpiredTokens(ctx context.Context) (int64, error)
}

// PurgeTokens removes expired access and refresh tokens.
func PurgeTokens(p TokenPurger, log *slog.Logger) Job {
	return Job{Name: "purge-tokens", Every: 10 * time.Minute, Run: func(ctx context.Context) error {
		n, err := p.PurgeExpiredTokens(ctx)
		if n > 0 {
			log.Info("expired tokens purged", slog.Int64("count", n))
		}
		return err
	}}
}

// VerifyAudit walks every facility's audit chain and raises an error-level
// log line, for the operators' alerting, at the first broken link.
func VerifyAudit(st audit.Store, every time.Duration, log *slog.Logger) Job {
	return Job{Name: "verify-audit", Every: every, Run: func(ctx context.Context) error {
		reps, err := audit.VerifyAll(ctx, st)
		for _, rep := range reps {
			// The heads go to the logs, which are shipped off this database:
			// an anchor a database superuser cannot rewrite afterwards.
			for chain, h := range rep.Heads {
				log.Info("audit chain head", slog.String("facility_id", rep.FacilityID.String()), slog.Int("chain", int(chain)),
					slog.Int64("seq", h.LastSeq), slog.String("hash", hex.EncodeToString(h.LastHash)))
			}
			if !rep.OK {
				log.Error("AUDIT CHAIN BROKEN", slog.String("facility_id", rep.FacilityID.String()),
					slog.Int("broken_chain", int(*rep.BrokenChain)), slog.Int64("broken_seq", rep.BrokenSeq),
					slog.String("problem", rep.Problem))
			}
		}
		return err
	}}
}

// HeartbeatKey is where live worker processes announce themselves.
func HeartbeatKey(prefix string) string { return prefix + "workers:heartbeat:" }

// Heartbeat refreshes this process's liveness key in Redis; the container
// health check (`corsia healthcheck --workers`) looks for a fresh one.
func Heartbeat(rdb redis.UniversalClient, prefix string) Job {
	host, _ := os.Hostname()
	key := fmt.Sprintf("%s%s-%d", HeartbeatKey(prefix), host, os.Getpid())
	return Job{Name: "heartbeat", Every: 10 * time.Second, Run: func(ctx context.Context) error {
		return rdb.Set(ctx, key, time.Now().UTC().Format(time.RFC3339), 30*time.Second).Err()
	}}
}

// Alive reports whether any worker process has a fresh heartbeat.
func Alive(ctx context.Context, rdb redis.UniversalClient, prefix string) (bool, error) {
	it := rdb.Scan(ctx, 0, HeartbeatKey(prefix)+"*", 1000).Iterator()
	if it.Next(ctx) {
		return true, nil
	}
	return false, it.Err()
}

// DoseRoller materialises scheduled doses ahead (the therapy service).
type DoseRoller interface {
	RollForward(ctx context.Context) (int, error)
}

// RollDoses keeps every live prescription's doses materialised to the
// facility's horizon (48 h by default), so due lists and the missed-dose
// detector always have the next two days to work on. Safe to run in several
// processes at once: doses are unique per prescription and instant.
func RollDoses(r DoseRoller, log *slog.Logger) Job {
	return Job{Name: "roll-doses", Every: 15 * time.Minute, Run: func(ctx context.Context) error {
		n, err := r.RollForward(ctx)
		if n > 0 {
			log.Info("doses materialised ahead", slog.Int("prescriptions", n))
		}
		return err
	}}
}

// Detector is the missed-dose detector's store (backend/postgres.NotifyStore).
type Detector interface {
	Detect(ctx context.Context, now time.Time) (notify.DetectResult, error)
}

// DetectLateDoses runs the missed-dose detector: every few seconds it opens
// an alert chain for each dose whose window closed without a record,
// escalates chains nobody acknowledged, and resolves those whose dose was
// recorded. Several processes may run it at once (an advisory lock per
// facility; chains are unique per dose).
func DetectLateDoses(d Detector, every time.Duration, log *slog.Logger) Job {
	return Job{Name: "detect-late-doses", Every: every, Run: func(ctx context.Context) error {
		res, err := d.Detect(ctx, time.Now())
		if res.Alerts+res.Escalations+res.Resolved > 0 {
			log.Info("detector pass", slog.Int("alerts", res.Alerts), slog.Int("escalations", res.Escalations),
				slog.Int("resolved", res.Resolved), slog.Int("notifications", res.Notifications))
		}
		return err
	}}
}
