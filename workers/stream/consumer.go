package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Handler delivers one entry. nil: done, the entry is acknowledged. An
// error: retried after the backoff. Permanent(err): dead-lettered at once.
// The context ends when the entry's time is up (ClaimIdle after it was read):
// past that, another consumer may take the entry over.
type Handler func(ctx context.Context, e Entry) error

// Consumer delivers a stream's entries as one consumer of a group. Several
// consumers, in one process or many, share a group: each entry goes to one of
// them, and to another when the first died or failed.
//
// Retries: a failed entry stays pending (in the group's pending list, with
// its delivery count), and its idle clock is set back with XCLAIM IDLE so
// that it becomes reclaimable exactly Backoff(attempt) after the failure;
// whichever consumer runs XAUTOCLAIM next takes it. So one mechanism serves
// both retries and dead workers, a retry survives the crash of the consumer
// that failed it, and the delivery count Redis keeps is the attempt number.
// The price: a retry waits at most ClaimIdle, however long Backoff says, and
// it is picked up at the next XAUTOCLAIM, up to Block late.
//
// Duplicates: delivery is at least once. A worker dying between the push and
// the ack delivers again, and the relay can publish an entry twice. With
// Remember, the consumer records each handled outbox id and skips (acks) a
// later entry with the same id; two copies handled at the same moment by two
// consumers both go through, so a handler that must not repeat itself keys
// its delivery (outbox id + recipient) where it records it.
type Consumer struct {
	Redis       redis.UniversalClient
	Stream      string
	Group       string
	Name        string        // consumer name, distinct within the group; default host-pid (two in one process need their own)
	Handle      Handler       // required
	Batch       int           // XREADGROUP and XAUTOCLAIM COUNT; default 10
	Block       time.Duration // XREADGROUP BLOCK, and how late shutdown and retries may be; default 5 s (0 would block forever)
	ClaimIdle   time.Duration // an entry pending this long (dead or slow worker) is taken over; default 2 min; also the handler's time limit
	MaxAttempts int           // deliveries before the dead-letter stream; default 8
	Backoff     func(attempt int) time.Duration
	// Remember is how long handled outbox ids are remembered to skip
	// duplicates; default 24 h, negative: not at all.
	Remember time.Duration
	Log      *slog.Logger
}

// DefaultBackoff is the wait after a failed attempt: 1 s, 2 s, 4 s… up to
// 1 min, plus up to 20 % so that entries that failed together don't all come
// back together.
func DefaultBackoff(attempt int) time.Duration {
	d := min(time.Second<<min(max(attempt-1, 0), 6), time.Minute)
	return d + rand.N(d/5+1)
}

// finishTimeout bounds the Redis calls after a handler returned (ack, retry,
// dead letter), which run even when shutdown has begun.
const finishTimeout = 10 * time.Second

// Run creates the group if missing (from the stream's start) and delivers
// entries until ctx is done. Redis failures are logged and retried, never
// returned; a group that disappeared (Redis restarted without persistence)
// is created again. On shutdown the entry in the handler is finished and
// acknowledged, and the rest of the batch is handed back to the group at
// once. Run returns nil then, or an error for an incomplete Consumer.
func (c *Consumer) Run(ctx context.Context) error {
	r, err := c.runner()
	if err != nil {
		return err
	}
	ready, failures := false, 0
	for ctx.Err() == nil {
		err := error(nil)
		if !ready {
			if err = r.createGroup(ctx); err == nil {
				// A group created again (Redis lost it) has a new pending
				// list: scan it from its start.
				ready, r.cursor = true, "0-0"
			}
		}
		if err == nil {
			err = r.step(ctx)
		}
		switch {
		case err == nil:
			failures = 0
		case ctx.Err() != nil:
		case isNoGroup(err):
			ready = false
			r.log.Warn("consumer group missing, creating it again: if Redis lost the stream, the outbox must publish again what it lost", slog.Any("error", err))
		default:
			failures++
			d := min(100*time.Millisecond<<min(failures-1, 6), 5*time.Second)
			r.log.Error("stream consumer: Redis failed, retrying", slog.Any("error", err), slog.Duration("retry_in", d))
			sleep(ctx, d)
		}
	}
	return nil
}

type runner struct {
	Consumer
	log    *slog.Logger
	cursor string // XAUTOCLAIM's, across calls
}

func (c *Consumer) runner() (*runner, error) {
	switch {
	case c.Redis == nil, c.Stream == "", c.Group == "", c.Handle == nil:
		return nil, errors.New("stream: a Consumer needs Redis, Stream, Group and Handle")
	}
	r := &runner{Consumer: *c, cursor: "0-0"}
	if r.Name == "" {
		host, _ := os.Hostname()
		r.Name = host + "-" + strconv.Itoa(os.Getpid())
	}
	if r.Batch <= 0 {
		r.Batch = 10
	}
	if r.Block <= 0 {
		r.Block = 5 * time.Second
	}
	if r.ClaimIdle <= 0 {
		r.ClaimIdle = 2 * time.Minute
	}
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 8
	}
	if r.Backoff == nil {
		r.Backoff = DefaultBackoff
	}
	if r.Remember == 0 {
		r.Remember = 24 * time.Hour
	}
	r.log = r.Log
	if r.log == nil {
		r.log = slog.Default()
	}
	r.log = r.log.With(slog.String("stream", r.Stream), slog.String("group", r.Group), slog.String("consumer", r.Name))
	return r, nil
}

func (r *runner) createGroup(ctx context.Context) error {
	err := r.Redis.XGroupCreateMkStream(ctx, r.Stream, r.Group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("creating group: %w", err)
	}
	return nil
}

// step takes over what is due (dead workers' entries, retries), then reads
// new entries, and delivers them.
func (r *runner) step(ctx context.Context) error {
	claimed, at, err := r.reclaim(ctx)
	if err != nil {
		return err
	}
	r.process(ctx, claimed, at)
	if ctx.Err() != nil {
		return nil
	}
	block := r.Block
	if len(claimed) > 0 {
		block = -1 // no BLOCK: there may be more to reclaim
	}
	res, err := r.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: r.Group, Consumer: r.Name, Streams: []string{r.Stream, ">"}, Count: int64(r.Batch), Block: block,
	}).Result()
	at = time.Now()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("XREADGROUP: %w", err)
	}
	var entries []Entry
	for _, s := range res {
		for _, m := range s.Messages {
			e := entryOf(m.ID, m.Values)
			e.Attempt = 1
			entries = append(entries, e)
		}
	}
	r.process(ctx, entries, at)
	return nil
}

// reclaim takes over up to Batch entries pending for ClaimIdle, with their
// delivery counts (XAUTOCLAIM's reply lacks them: XPENDING has them).
func (r *runner) reclaim(ctx context.Context) ([]Entry, time.Time, error) {
	msgs, next, deleted, err := r.Redis.XAutoClaimWithDeleted(ctx, &redis.XAutoClaimArgs{
		Stream: r.Stream, Group: r.Group, Consumer: r.Name, MinIdle: r.ClaimIdle, Start: r.cursor, Count: int64(r.Batch),
	}).Result()
	at := time.Now()
	if err != nil {
		return nil, at, fmt.Errorf("XAUTOCLAIM: %w", err)
	}
	r.cursor = next
	if len(deleted) > 0 {
		r.log.Error("pending entries were deleted from the stream before being delivered (trimmed, or lost by Redis): the outbox must publish them again",
			slog.Any("stream_ids", deleted))
	}
	if len(msgs) == 0 {
		return nil, at, nil
	}
	pipe := r.Redis.Pipeline()
	cmds := make([]*redis.XPendingExtCmd, len(msgs))
	for i, m := range msgs {
		cmds[i] = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: r.Stream, Group: r.Group, Start: m.ID, End: m.ID, Count: 1})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		// They stay ours, pending: taken over again after ClaimIdle.
		return nil, at, fmt.Errorf("XPENDING: %w", err)
	}
	entries := make([]Entry, 0, len(msgs))
	for i, m := range msgs {
		p := cmds[i].Val()
		if len(p) == 0 || p[0].Consumer != r.Name {
			continue // acknowledged or taken over meanwhile
		}
		e := entryOf(m.ID, m.Values)
		e.Attempt = int(p[0].RetryCount)
		entries = append(entries, e)
	}
	return entries, at, nil
}

// process delivers entries read at at, one by one. An entry must be finished
// before it has been pending ClaimIdle, when others may take it over: what is
// left of the batch when less than half of that remains, or when shutdown
// begins, is handed back to the group.
func (r *runner) process(ctx context.Context, entries []Entry, at time.Time) {
	deadline := at.Add(r.ClaimIdle)
	for i, e := range entries {
		if ctx.Err() != nil || time.Until(deadline) < r.ClaimIdle/2 {
			r.release(ctx, entries[i:], at)
			return
		}
		r.handle(ctx, e, at, deadline)
	}
}

func (r *runner) handle(ctx context.Context, e Entry, at, deadline time.Time) {
	log := r.log.With(slog.String("stream_id", e.StreamID), slog.String("outbox_id", e.OutboxID), slog.Int("attempt", e.Attempt))
	// Finishing an entry survives shutdown.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	switch {
	case e.OutboxID == "":
		r.deadLetter(fctx, log, e, "no "+FieldOutboxID+" field: not an outbox entry")
		return
	case e.Attempt > r.MaxAttempts:
		r.deadLetter(fctx, log, e, fmt.Sprintf("delivered %d times without an outcome: the worker died or the handler outlived ClaimIdle", e.Attempt-1))
		return
	}
	if r.Remember > 0 {
		n, err := r.Redis.Exists(fctx, r.doneKey(e)).Result()
		if err == nil && n > 0 {
			log.Info("duplicate of a delivered outbox entry skipped")
			r.ack(fctx, log, e)
			return
		}
	}
	hctx, hcancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	err := r.call(hctx, e)
	hcancel()
	switch {
	case err == nil:
		r.ack(fctx, log, e)
	case IsPermanent(err), e.Attempt >= r.MaxAttempts:
		r.deadLetter(fctx, log, e, err.Error())
	default:
		r.retryLater(fctx, log, e, at, err)
	}
}

func (r *runner) call(ctx context.Context, e Entry) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return r.Handle(ctx, e)
}

func (r *runner) doneKey(e Entry) string { return r.Stream + ":done:" + r.Group + ":" + e.OutboxID }

func (r *runner) ack(ctx context.Context, log *slog.Logger, e Entry) {
	pipe := r.Redis.TxPipeline()
	pipe.XAck(ctx, r.Stream, r.Group, e.StreamID)
	if r.Remember > 0 {
		pipe.Set(ctx, r.doneKey(e), "1", r.Remember)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		log.Error("ack failed: the entry will be delivered again", slog.Any("error", err))
		return
	}
	log.Debug("entry delivered")
}

// guard is an XCLAIM min-idle that only an entry still ours since at passes:
// one another consumer took over meanwhile has been idle for less.
func guard(at time.Time) int64 { return max(0, ms(time.Since(at))-1) }

// retryLater leaves a failed entry pending and sets its idle clock so that
// XAUTOCLAIM takes it Backoff(attempt) from now (JUSTID: the delivery count
// stays the attempt's).
func (r *runner) retryLater(ctx context.Context, log *slog.Logger, e Entry, at time.Time, cause error) {
	delay := min(r.Backoff(e.Attempt), r.ClaimIdle)
	err := r.Redis.Do(ctx, "XCLAIM", r.Stream, r.Group, r.Name, guard(at), e.StreamID,
		"IDLE", ms(r.ClaimIdle-delay), "JUSTID").Err()
	if err != nil {
		log.Error("delivery failed; setting its retry time failed too: it is retried after ClaimIdle", slog.Any("error", cause), slog.Any("redis_error", err))
		return
	}
	log.Warn("delivery failed, will retry", slog.Any("error", cause), slog.Duration("retry_in", delay))
}

// release hands entries back to the group untouched: idle as if abandoned,
// and their delivery count as before they were read.
func (r *runner) release(ctx context.Context, entries []Entry, at time.Time) {
	if len(entries) == 0 {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	g := guard(at)
	pipe := r.Redis.Pipeline()
	for _, e := range entries {
		pipe.Do(fctx, "XCLAIM", r.Stream, r.Group, r.Name, g, e.StreamID,
			"IDLE", ms(r.ClaimIdle), "RETRYCOUNT", max(e.Attempt-1, 0), "JUSTID")
	}
	if _, err := pipe.Exec(fctx); err != nil {
		r.log.Warn("handing entries back failed: they are taken over after ClaimIdle", slog.Int("count", len(entries)), slog.Any("error", err))
		return
	}
	r.log.Debug("entries handed back to the group", slog.Int("count", len(entries)))
}

// deadLetter moves an entry to the dead-letter stream, with why and after
// how many deliveries, and acknowledges it, in one transaction.
func (r *runner) deadLetter(ctx context.Context, log *slog.Logger, e Entry, reason string) {
	vals := append(values(e),
		fieldDeadError, reason,
		fieldDeadAttempt, e.Attempt,
		fieldDeadID, e.StreamID,
		fieldDeadGroup, r.Group,
		fieldDeadName, r.Name,
		fieldDeadAt, time.Now().UTC().Format(time.RFC3339Nano))
	pipe := r.Redis.TxPipeline()
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: DeadLetterStream(r.Stream), Values: vals})
	pipe.XAck(ctx, r.Stream, r.Group, e.StreamID)
	if _, err := pipe.Exec(ctx); err != nil {
		log.Error("dead-lettering failed: the entry stays pending and is tried again", slog.String("reason", reason), slog.Any("error", err))
		return
	}
	log.Error("entry dead-lettered: not delivered", slog.String("reason", reason))
}
