package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// Outbox is where the relay reads from (implemented on PostgreSQL).
type Outbox interface {
	// Publish takes up to limit entries not yet published, oldest first,
	// claimed so that two relays don't both take them (FOR UPDATE SKIP
	// LOCKED in its transaction), and calls publish with them; when publish
	// returns nil it marks exactly those entries published in the same
	// transaction, otherwise it marks nothing. It returns how many it marked.
	Publish(ctx context.Context, limit int, publish func(ctx context.Context, entries []Entry) error) (int, error)
}

// Relay moves outbox entries to a stream.
type Relay struct {
	Redis  redis.UniversalClient
	Stream string
	Outbox Outbox
	Batch  int // entries per run; default 100
	// MaxLen bounds the stream, approximately: while it holds MaxLen entries
	// or more the relay publishes nothing and returns ErrBacklog, and the
	// entries wait in the outbox. It is not an XADD MAXLEN: that would trim
	// the oldest entries even when they are still pending or unread, and
	// they would vanish. Trim keeps the stream short. Default 100000;
	// negative: no bound.
	MaxLen int64
	Log    *slog.Logger
}

// ErrBacklog is returned by a relay whose stream reached MaxLen: consumers
// are behind, or Trim does not run.
var ErrBacklog = errors.New("stream: stream full, entries wait in the outbox")

// RunOnce moves one batch: it XADDs every entry in one pipeline (the outbox
// id in the fields; stream ids are Redis's: outbox ids don't commit in order)
// and lets the outbox mark them published only when Redis confirmed all of
// them. When Redis fails nothing is marked and the next run publishes the
// batch again; an entry that did reach Redis is then in the stream twice,
// which consumers absorb (Consumer.Remember, delivery keys in the handler).
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	batch := r.Batch
	if batch <= 0 {
		batch = 100
	}
	maxLen := r.MaxLen
	if maxLen == 0 {
		maxLen = 100000
	}
	if maxLen > 0 {
		n, err := r.Redis.XLen(ctx, r.Stream).Result()
		if err != nil {
			return 0, fmt.Errorf("stream: relay to %s: %w", r.Stream, err)
		}
		if n >= maxLen {
			return 0, fmt.Errorf("%w (%s holds %d entries, bound %d)", ErrBacklog, r.Stream, n, maxLen)
		}
	}
	n, err := r.Outbox.Publish(ctx, batch, r.publish)
	if err != nil {
		return n, fmt.Errorf("stream: relay to %s: %w", r.Stream, err)
	}
	if n > 0 {
		r.log().Debug("outbox entries published", slog.String("stream", r.Stream), slog.Int("count", n))
	}
	return n, nil
}

// Drain runs RunOnce until a batch comes back short: what a scheduled job
// calls.
func (r *Relay) Drain(ctx context.Context) (int, error) {
	batch := r.Batch
	if batch <= 0 {
		batch = 100
	}
	total := 0
	for {
		n, err := r.RunOnce(ctx)
		total += n
		if err != nil || n < batch || ctx.Err() != nil {
			return total, err
		}
	}
}

func (r *Relay) publish(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	for _, e := range entries {
		if err := checkFields(e); err != nil {
			return err
		}
	}
	pipe := r.Redis.Pipeline()
	cmds := make([]*redis.StringCmd, len(entries))
	for i, e := range entries {
		cmds[i] = pipe.XAdd(ctx, &redis.XAddArgs{Stream: r.Stream, Values: values(e)})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("XADD: %w", err)
	}
	for i, c := range cmds { // Exec reports the first failure; be explicit
		if err := c.Err(); err != nil {
			return fmt.Errorf("XADD of outbox entry %s: %w", entries[i].OutboxID, err)
		}
	}
	return nil
}

func (r *Relay) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}
