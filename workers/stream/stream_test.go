package stream_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/workers/stream"
	"github.com/redis/go-redis/v9"
)

// redisClient connects to the test Redis (CORSIA_TEST_REDIS_URL, default
// 127.0.0.1:6379) and gives the test its own key prefix, removed afterwards.
// No Redis is a failure, not a skip.
func redisClient(t *testing.T) (*redis.Client, string) {
	t.Helper()
	url := os.Getenv("CORSIA_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis at %s is required for these tests: %v", url, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "corsia-test-" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		var keys []string
		it := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for it.Next(ctx) {
			keys = append(keys, it.Val())
		}
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	return rdb, prefix
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// memOutbox is an Outbox in memory: entries in order, marked when publish
// succeeded. The lock stands for the rows' FOR UPDATE SKIP LOCKED.
type memOutbox struct {
	mu        sync.Mutex
	entries   []stream.Entry
	published map[string]bool
}

func newOutbox(entries ...stream.Entry) *memOutbox {
	return &memOutbox{entries: entries, published: map[string]bool{}}
}

func (o *memOutbox) Publish(ctx context.Context, limit int, publish func(context.Context, []stream.Entry) error) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var batch []stream.Entry
	for _, e := range o.entries {
		if !o.published[e.OutboxID] && len(batch) < limit {
			batch = append(batch, e)
		}
	}
	if len(batch) == 0 {
		return 0, nil
	}
	if err := publish(ctx, batch); err != nil {
		return 0, err
	}
	for _, e := range batch {
		o.published[e.OutboxID] = true
	}
	return len(batch), nil
}

func (o *memOutbox) marked() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ids []string
	for _, e := range o.entries {
		if o.published[e.OutboxID] {
			ids = append(ids, e.OutboxID)
		}
	}
	return ids
}

func entries(prefix string, n int) []stream.Entry {
	out := make([]stream.Entry, n)
	for i := range out {
		out[i] = stream.Entry{OutboxID: fmt.Sprintf("%s%03d", prefix, i), Fields: map[string]string{"kind": "dose_late", "n": fmt.Sprint(i)}}
	}
	return out
}

// publish moves entries to the stream through a relay.
func publish(t *testing.T, rdb redis.UniversalClient, key string, es ...stream.Entry) {
	t.Helper()
	r := &stream.Relay{Redis: rdb, Stream: key, Outbox: newOutbox(es...), Log: quiet}
	if n, err := r.Drain(context.Background()); err != nil || n != len(es) {
		t.Fatalf("relay: %d of %d published: %v", n, len(es), err)
	}
}

// start runs a consumer until the returned stop is called (or the test ends).
func start(t *testing.T, c *stream.Consumer) (stop func()) {
	t.Helper()
	if c.Log == nil {
		c.Log = quiet
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("consumer %s: %v", c.Name, err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("consumer %s did not stop within 5 s", c.Name)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tally counts deliveries per outbox id.
type tally struct {
	mu sync.Mutex
	n  map[string]int
	by map[string][]string // consumer → outbox ids
}

func newTally() *tally { return &tally{n: map[string]int{}, by: map[string][]string{}} }

func (t *tally) add(consumer, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n[id]++
	t.by[consumer] = append(t.by[consumer], id)
}

func (t *tally) total() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := 0
	for _, n := range t.n {
		s += n
	}
	return s
}

func (t *tally) count(id string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n[id]
}

func pending(t *testing.T, rdb redis.UniversalClient, key, group string) int64 {
	t.Helper()
	p, err := rdb.XPending(context.Background(), key, group).Result()
	if err != nil {
		t.Fatal(err)
	}
	return p.Count
}

// settled waits until no entry is pending in group: handlers return before
// their entry is acknowledged.
func settled(t *testing.T, rdb redis.UniversalClient, key, group string) {
	t.Helper()
	waitFor(t, 2*time.Second, "no entry pending", func() bool { return pending(t, rdb, key, group) == 0 })
}

func TestRelayPublishesABatchAndMarksExactlyThose(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	ctx := context.Background()
	key := prefix + "notify"
	ob := newOutbox(entries("ev", 5)...)
	r := &stream.Relay{Redis: rdb, Stream: key, Outbox: ob, Batch: 3, Log: quiet}

	n, err := r.RunOnce(ctx)
	if err != nil || n != 3 {
		t.Fatalf("first run: %d, %v", n, err)
	}
	if got := ob.marked(); !slices.Equal(got, []string{"ev000", "ev001", "ev002"}) {
		t.Fatalf("marked %v", got)
	}
	msgs, err := rdb.XRange(ctx, key, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("%d entries in the stream, want 3", len(msgs))
	}
	for i, m := range msgs {
		if m.Values["outbox_id"] != fmt.Sprintf("ev%03d", i) || m.Values["kind"] != "dose_late" || m.Values["n"] != fmt.Sprint(i) {
			t.Errorf("entry %d: %v", i, m.Values)
		}
		if strings.HasPrefix(m.ID, "ev") {
			t.Errorf("stream id %s taken from the outbox", m.ID)
		}
	}
	if n, err := r.RunOnce(ctx); err != nil || n != 2 {
		t.Fatalf("second run: %d, %v", n, err)
	}
	if n, err := r.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("third run: %d, %v", n, err)
	}
	if got := ob.marked(); len(got) != 5 {
		t.Fatalf("marked %v", got)
	}
	if l := rdb.XLen(ctx, key).Val(); l != 5 {
		t.Fatalf("stream length %d, want 5", l)
	}
}

func TestRelayStopsAtMaxLenInsteadOfTrimming(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	ctx := context.Background()
	key := prefix + "notify"
	ob := newOutbox(entries("ev", 5)...)
	r := &stream.Relay{Redis: rdb, Stream: key, Outbox: ob, Batch: 3, MaxLen: 3, Log: quiet}
	if n, err := r.RunOnce(ctx); err != nil || n != 3 {
		t.Fatalf("first run: %d, %v", n, err)
	}
	n, err := r.RunOnce(ctx)
	if !errors.Is(err, stream.ErrBacklog) || n != 0 {
		t.Fatalf("run on a full stream: %d, %v", n, err)
	}
	if got := ob.marked(); len(got) != 3 {
		t.Fatalf("marked %v", got)
	}
	if l := rdb.XLen(ctx, key).Val(); l != 3 {
		t.Fatalf("stream length %d, want 3: nothing trimmed, nothing added", l)
	}
}

func TestRelayRefusesReservedFields(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	ob := newOutbox(stream.Entry{OutboxID: "1", Fields: map[string]string{"outbox_id": "2"}})
	r := &stream.Relay{Redis: rdb, Stream: prefix + "notify", Outbox: ob, Log: quiet}
	if n, err := r.RunOnce(context.Background()); err == nil || n != 0 {
		t.Fatalf("run: %d, %v", n, err)
	}
	if len(ob.marked()) != 0 {
		t.Fatal("marked")
	}
}

func TestRelayWithRedisDownMarksNothing(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	down := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: 1})
	defer down.Close()
	for _, maxLen := range []int64{0, -1} { // with the length check, and straight to the XADDs
		ob := newOutbox(entries("ev", 4)...)
		r := &stream.Relay{Redis: down, Stream: "corsia-test-down:notify", Outbox: ob, MaxLen: maxLen, Log: quiet}
		n, err := r.RunOnce(context.Background())
		if err == nil || n != 0 {
			t.Fatalf("MaxLen %d: %d, %v; want an error", maxLen, n, err)
		}
		if got := ob.marked(); len(got) != 0 {
			t.Fatalf("MaxLen %d: marked %v with Redis down", maxLen, got)
		}
	}
}

func TestConsumerDeliversEachEntryOnceAndAcks(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	key := prefix + "notify"
	got := newTally()
	var wrong atomic.Int32
	stop := start(t, &stream.Consumer{
		Redis: rdb, Stream: key, Group: "push", Name: "w1", Batch: 7, Block: 50 * time.Millisecond,
		Handle: func(ctx context.Context, e stream.Entry) error {
			if e.Attempt != 1 || e.StreamID == "" || e.Fields["kind"] != "dose_late" || e.Fields["outbox_id"] != "" {
				wrong.Add(1)
			}
			got.add("w1", e.OutboxID)
			return nil
		},
	})
	es := entries("ev", 30)
	publish(t, rdb, key, es...)
	waitFor(t, 5*time.Second, "30 deliveries", func() bool { return got.total() >= 30 })
	stop()
	for _, e := range es {
		if n := got.count(e.OutboxID); n != 1 {
			t.Errorf("%s delivered %d times", e.OutboxID, n)
		}
	}
	if wrong.Load() > 0 {
		t.Errorf("%d deliveries with a wrong entry", wrong.Load())
	}
	if p := pending(t, rdb, key, "push"); p != 0 {
		t.Errorf("%d entries left pending", p)
	}
}

func TestFailedEntryIsRetriedAfterItsBackoff(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	key := prefix + "notify"
	var (
		mu       sync.Mutex
		attempts []int
		times    []time.Time
	)
	got := newTally()
	start(t, &stream.Consumer{
		Redis: rdb, Stream: key, Group: "push", Name: "w1", Block: 20 * time.Millisecond,
		ClaimIdle: 3 * time.Second, MaxAttempts: 5,
		Backoff: func(attempt int) time.Duration { return time.Duration(attempt) * 300 * time.Millisecond },
		Handle: func(ctx context.Context, e stream.Entry) error {
			if e.OutboxID != "flaky" {
				got.add("w1", e.OutboxID)
				return nil
			}
			mu.Lock()
			attempts = append(attempts, e.Attempt)
			times = append(times, time.Now())
			mu.Unlock()
			switch e.Attempt {
			case 1:
				panic("push client bug")
			case 2:
				return errors.New("push provider: 503")
			}
			got.add("w1", e.OutboxID)
			return nil
		},
	})
	publish(t, rdb, key, append([]stream.Entry{{OutboxID: "flaky"}}, entries("ev", 5)...)...)
	waitFor(t, 5*time.Second, "the flaky entry delivered", func() bool { return got.count("flaky") == 1 })
	waitFor(t, time.Second, "the others delivered", func() bool { return got.total() == 6 })
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(attempts, []int{1, 2, 3}) {
		t.Fatalf("attempts %v, want [1 2 3]", attempts)
	}
	// Retried after its backoff (300 ms, then 600 ms), not after ClaimIdle;
	// Redis counts idle time in whole milliseconds.
	for i, want := range []time.Duration{300 * time.Millisecond, 600 * time.Millisecond} {
		if gap := times[i+1].Sub(times[i]); gap < want-5*time.Millisecond || gap > want+time.Second {
			t.Errorf("retry %d after %v, want about %v", i+1, gap, want)
		}
	}
	settled(t, rdb, key, "push")
}

func TestDeadLettersAndReplay(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	ctx := context.Background()
	key := prefix + "notify"
	var broken atomic.Bool
	broken.Store(true)
	got := newTally()
	var replayedAttempt atomic.Int32
	start(t, &stream.Consumer{
		Redis: rdb, Stream: key, Group: "push", Name: "w1", Block: 20 * time.Millisecond,
		ClaimIdle: 2 * time.Second, MaxAttempts: 3,
		Backoff: func(int) time.Duration { return 50 * time.Millisecond },
		Handle: func(ctx context.Context, e stream.Entry) error {
			switch {
			case e.OutboxID == "poison":
				return stream.Permanent(errors.New("no device registered"))
			case e.OutboxID == "doomed" && broken.Load():
				return errors.New("push provider down")
			case e.OutboxID == "doomed":
				replayedAttempt.Store(int32(e.Attempt))
			}
			got.add("w1", e.OutboxID)
			return nil
		},
	})
	publish(t, rdb, key,
		stream.Entry{OutboxID: "doomed", Fields: map[string]string{"kind": "escalation", "bed": "12"}},
		stream.Entry{OutboxID: "poison", Fields: map[string]string{"kind": "dose_late"}},
		stream.Entry{OutboxID: "fine"})

	var dls []stream.DeadLetter
	waitFor(t, 5*time.Second, "two dead letters", func() bool {
		var err error
		dls, err = stream.DeadLetters(ctx, rdb, key, 10)
		return err == nil && len(dls) == 2
	})
	byID := map[string]stream.DeadLetter{}
	for _, d := range dls {
		byID[d.Entry.OutboxID] = d
	}
	doomed, poison := byID["doomed"], byID["poison"]
	if doomed.Entry.Attempt != 3 || !strings.Contains(doomed.Error, "push provider down") ||
		doomed.Entry.Fields["bed"] != "12" || doomed.Entry.Fields["kind"] != "escalation" || len(doomed.Entry.Fields) != 2 ||
		doomed.Entry.StreamID == "" || doomed.Group != "push" || doomed.Consumer != "w1" || time.Since(doomed.At) > time.Minute {
		t.Errorf("doomed dead letter: %+v", doomed)
	}
	if poison.Entry.Attempt != 1 || !strings.Contains(poison.Error, "no device registered") {
		t.Errorf("permanent failure dead-lettered as %+v, want at its first attempt", poison)
	}
	if got.count("fine") != 1 {
		t.Error("the healthy entry was not delivered")
	}
	settled(t, rdb, key, "push")

	broken.Store(false)
	n, err := stream.Replay(ctx, rdb, key, doomed.ID, doomed.ID, "1-1")
	if err != nil || n != 1 {
		t.Fatalf("replay: %d, %v", n, err)
	}
	waitFor(t, 3*time.Second, "the replayed entry delivered", func() bool { return got.count("doomed") == 1 })
	if a := replayedAttempt.Load(); a != 1 {
		t.Errorf("replayed entry delivered at attempt %d, want a fresh count", a)
	}
	dls, err = stream.DeadLetters(ctx, rdb, key, 0)
	if err != nil || len(dls) != 1 || dls[0].Entry.OutboxID != "poison" {
		t.Fatalf("dead letters after replay: %+v, %v", dls, err)
	}
}

func TestCrashedConsumersEntriesAreTakenOver(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	key := prefix + "notify"
	// Consumer A has its own connection, which its "crash" closes.
	crashing := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr, DB: rdb.Options().DB})
	started, unblock := make(chan struct{}), make(chan struct{})
	es := entries("ev", 3)
	publish(t, rdb, key, es...) // before A starts: A reads all three in one batch
	var once sync.Once
	stopA := start(t, &stream.Consumer{
		Redis: crashing, Stream: key, Group: "push", Name: "A", Batch: 10, Block: 20 * time.Millisecond,
		ClaimIdle: 600 * time.Millisecond,
		Handle: func(ctx context.Context, e stream.Entry) error {
			once.Do(func() { close(started) })
			<-unblock // hung: ignores its context
			return nil
		},
	})
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("consumer A got nothing")
	}
	crashing.Close() // A is gone: nothing it does reaches Redis any more
	go stopA()

	got := newTally()
	attempts := map[string]int{}
	var mu sync.Mutex
	start(t, &stream.Consumer{
		Redis: rdb, Stream: key, Group: "push", Name: "B", Block: 20 * time.Millisecond,
		ClaimIdle: 600 * time.Millisecond,
		Handle: func(ctx context.Context, e stream.Entry) error {
			mu.Lock()
			attempts[e.OutboxID] = e.Attempt
			mu.Unlock()
			got.add("B", e.OutboxID)
			return nil
		},
	})
	waitFor(t, 5*time.Second, "B took over A's three entries", func() bool { return got.total() >= 3 })
	close(unblock)
	time.Sleep(100 * time.Millisecond) // let A's late ack fail, on its closed connection
	mu.Lock()
	defer mu.Unlock()
	for _, e := range es {
		if got.count(e.OutboxID) != 1 || attempts[e.OutboxID] != 2 {
			t.Errorf("%s: delivered %d times by B, at attempt %d; want once, at attempt 2", e.OutboxID, got.count(e.OutboxID), attempts[e.OutboxID])
		}
	}
	settled(t, rdb, key, "push")
}

func TestShutdownFinishesTheEntryInHandAndHandsBackTheRest(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	ctx := context.Background()
	key := prefix + "notify"
	started, release := make(chan struct{}), make(chan struct{})
	first := newTally()
	es := entries("ev", 3)
	publish(t, rdb, key, es...) // before A starts: A reads all three in one batch
	stop := start(t, &stream.Consumer{
		Redis: rdb, Stream: key, Group: "push", Name: "A", Batch: 10, Block: 20 * time.Millisecond,
		ClaimIdle: 10 * time.Second,
		Handle: func(ctx context.Context, e stream.Entry) error {
			close(started)
			<-release
			first.add("A", e.OutboxID)
			return ctx.Err() // still live: shutdown does not cut the entry in hand
		},
	})
	<-started
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	time.Sleep(50 * time.Millisecond)
	close(release)
	<-stopped
	if first.total() != 1 || first.count("ev000") != 1 {
		t.Fatalf("A delivered %v", first.n)
	}
	ps, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: key, Group: "push", Start: "-", End: "+", Count: 10}).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 {
		t.Fatalf("pending after shutdown: %+v, want ev001 and ev002", ps)
	}
	for _, p := range ps {
		if p.Idle < 10*time.Second || p.RetryCount != 0 {
			t.Errorf("%+v not handed back (idle ≥ ClaimIdle, count as before the read)", p)
		}
	}
	// Another consumer takes them at once, as first deliveries.
	got := newTally()
	var wrong atomic.Int32
	start(t, &stream.Consumer{
		Redis: rdb, Stream: key, Group: "push", Name: "B", Block: 20 * time.Millisecond, ClaimIdle: 10 * time.Second,
		Handle: func(ctx context.Context, e stream.Entry) error {
			if e.Attempt != 1 {
				wrong.Add(1)
			}
			got.add("B", e.OutboxID)
			return nil
		},
	})
	waitFor(t, 2*time.Second, "B delivered the rest", func() bool { return got.total() == 2 })
	if got.count("ev001") != 1 || got.count("ev002") != 1 || wrong.Load() != 0 {
		t.Errorf("B delivered %v (%d at a wrong attempt)", got.n, wrong.Load())
	}
}

func TestTwoConsumersShareTheWork(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	key := prefix + "notify"
	got := newTally()
	for _, name := range []string{"w1", "w2"} {
		start(t, &stream.Consumer{
			Redis: rdb, Stream: key, Group: "push", Name: name, Batch: 5, Block: 20 * time.Millisecond,
			Remember: -1, // group semantics alone: no dedupe to hide a double delivery
			Handle: func(ctx context.Context, e stream.Entry) error {
				got.add(name, e.OutboxID)
				time.Sleep(time.Millisecond)
				return nil
			},
		})
	}
	waitFor(t, 2*time.Second, "the group exists", func() bool {
		gs, err := rdb.XInfoGroups(context.Background(), key).Result()
		return err == nil && len(gs) == 1
	})
	es := entries("ev", 200)
	publish(t, rdb, key, es...)
	waitFor(t, 10*time.Second, "200 deliveries", func() bool { return got.total() >= 200 })
	time.Sleep(50 * time.Millisecond) // room for a double delivery to show
	for _, e := range es {
		if n := got.count(e.OutboxID); n != 1 {
			t.Errorf("%s delivered %d times", e.OutboxID, n)
		}
	}
	if got.total() != 200 {
		t.Errorf("%d deliveries, want 200", got.total())
	}
	if len(got.by["w1"]) == 0 || len(got.by["w2"]) == 0 {
		t.Errorf("one consumer did all the work: w1 %d, w2 %d", len(got.by["w1"]), len(got.by["w2"]))
	}
	settled(t, rdb, key, "push")
}

func TestDuplicatePublicationIsDeliveredOnce(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	ctx := context.Background()
	key := prefix + "notify"
	got := newTally()
	start(t, &stream.Consumer{
		Redis: rdb, Stream: key, Group: "push", Name: "w1", Block: 20 * time.Millisecond,
		Handle: func(ctx context.Context, e stream.Entry) error {
			got.add("w1", e.OutboxID)
			return nil
		},
	})
	// The relay published "dup", then its transaction failed, and the next
	// run published it again.
	publish(t, rdb, key, stream.Entry{OutboxID: "dup"}, stream.Entry{OutboxID: "other"})
	publish(t, rdb, key, stream.Entry{OutboxID: "dup"})
	waitFor(t, 3*time.Second, "all three entries read and acked", func() bool {
		gs, err := rdb.XInfoGroups(ctx, key).Result()
		return err == nil && len(gs) == 1 && gs[0].EntriesRead == 3 && gs[0].Pending == 0
	})
	if got.count("dup") != 1 || got.count("other") != 1 {
		t.Errorf("deliveries %v, want one each", got.n)
	}
}

func TestGroupIsCreatedAgainWhenRedisLostTheStream(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	key := prefix + "notify"
	got := newTally()
	start(t, &stream.Consumer{
		Redis: rdb, Stream: key, Group: "push", Name: "w1", Block: 20 * time.Millisecond,
		Handle: func(ctx context.Context, e stream.Entry) error {
			got.add("w1", e.OutboxID)
			return nil
		},
	})
	publish(t, rdb, key, entries("before", 3)...)
	waitFor(t, 3*time.Second, "3 deliveries", func() bool { return got.total() == 3 })
	// A restart without persistence: the stream and its group are gone, and
	// the relay's next XADD makes a stream without a group.
	if err := rdb.Del(context.Background(), key).Err(); err != nil {
		t.Fatal(err)
	}
	publish(t, rdb, key, entries("after", 3)...)
	waitFor(t, 5*time.Second, "the 3 entries published after the loss", func() bool { return got.total() == 6 })
}

func TestTrimNeverRemovesAPendingOrUnreadEntry(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	ctx := context.Background()
	key := prefix + "notify"
	publish(t, rdb, key, entries("ev", 10)...)
	ids := func() []string {
		msgs, err := rdb.XRange(ctx, key, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range msgs {
			out = append(out, m.ID)
		}
		return out
	}
	all := ids()
	time.Sleep(5 * time.Millisecond) // retention 0 keeps entries of the current millisecond
	trim := func(keep time.Duration, want int64) {
		t.Helper()
		n, err := stream.Trim(ctx, rdb, key, "push", keep)
		if err != nil || n != want {
			t.Fatalf("trim: %d, %v; want %d", n, err, want)
		}
	}

	if _, err := stream.Trim(ctx, rdb, key, "push", 0); err == nil {
		t.Fatal("trim without the group: no error")
	}
	if err := rdb.XGroupCreate(ctx, key, "push", "0").Err(); err != nil {
		t.Fatal(err)
	}
	trim(0, 0) // nothing read yet

	// Five read: ev000–ev004 pending; ev000, ev001 and ev003 acked.
	if _, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "push", Consumer: "w", Streams: []string{key, ">"}, Count: 5, Block: -1}).Result(); err != nil {
		t.Fatal(err)
	}
	rdb.XAck(ctx, key, "push", all[0], all[1], all[3])
	trim(time.Hour, 0) // all younger than the retention
	trim(0, 2)         // ev000 and ev001; ev002 is pending, so it and ev003 stay
	if got := ids(); !slices.Equal(got, all[2:]) {
		t.Fatalf("left %v, want %v", got, all[2:])
	}
	// The pending entries are intact: a takeover finds them all.
	msgs, _, deleted, err := rdb.XAutoClaimWithDeleted(ctx, &redis.XAutoClaimArgs{Stream: key, Group: "push", Consumer: "w2", Start: "0-0", Count: 10}).Result()
	if err != nil || len(msgs) != 2 || len(deleted) != 0 {
		t.Fatalf("takeover after trim: %v, deleted %v, %v", msgs, deleted, err)
	}

	// A second group that has read up to ev006 protects ev007 on.
	if err := rdb.XGroupCreate(ctx, key, "audit", all[6]).Err(); err != nil {
		t.Fatal(err)
	}
	rdb.XAck(ctx, key, "push", all[2], all[4])
	if _, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "push", Consumer: "w", Streams: []string{key, ">"}, Count: 10, Block: -1}).Result(); err != nil {
		t.Fatal(err)
	}
	rdb.XAck(ctx, key, "push", all[5:]...)
	trim(0, 5) // ev002–ev006
	if got := ids(); !slices.Equal(got, all[7:]) {
		t.Fatalf("left %v, want %v", got, all[7:])
	}
}

// proxy stands between a client and Redis, so a test can take "Redis" down
// and up again without touching the shared server.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, r)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(r, c); r.Close() }()
			go func() { _, _ = io.Copy(c, r); c.Close() }()
		}
	}()
}

// down refuses new connections and cuts the open ones, as a stopped Redis.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) up() {
	var err error
	for range 50 { // the port was just released
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatal(err)
}

func TestConsumerSurvivesRedisGoingAway(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisClient(t)
	key := prefix + "notify"
	px := newProxy(t, rdb.Options().Addr)
	// No retries inside go-redis: the failures reach the consumer's loop.
	via := redis.NewClient(&redis.Options{Addr: px.addr, DB: rdb.Options().DB, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { via.Close() })
	got := newTally()
	logs := &lockedBuffer{}
	start(t, &stream.Consumer{
		Redis: via, Stream: key, Group: "push", Name: "w1", Block: 50 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(logs, nil)),
		Handle: func(ctx context.Context, e stream.Entry) error {
			got.add("w1", e.OutboxID)
			return nil
		},
	})
	publish(t, rdb, key, entries("before", 3)...)
	waitFor(t, 3*time.Second, "3 deliveries", func() bool { return got.total() == 3 })
	px.down()
	publish(t, rdb, key, entries("during", 3)...)
	time.Sleep(400 * time.Millisecond) // the consumer fails, logs, waits, fails again
	if got.total() != 3 {
		t.Fatalf("%d deliveries with Redis unreachable", got.total())
	}
	if !strings.Contains(logs.String(), "Redis failed, retrying") {
		t.Errorf("no failure logged while Redis was away:\n%s", logs.String())
	}
	px.up()
	waitFor(t, 5*time.Second, "the entries published while Redis was away", func() bool { return got.total() == 6 })
	settled(t, rdb, key, "push")
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
