// Package stream is the Redis Streams half of the notification pipeline's
// transactional outbox. PostgreSQL is the source of truth: a clinical event
// is written to an outbox table in the transaction of the change; a Relay
// moves outbox rows to a Redis Stream and the outbox marks them published
// only once Redis confirmed every XADD; Consumers in a consumer group hand
// each entry to a Handler and acknowledge it only after the handler
// succeeded (at least once: a crash between the push and the ack delivers
// again). Entries that keep failing go to a dead-letter stream, from which
// operators list and replay them.
//
// The package knows neither the database nor the push provider: the outbox
// and the delivery are interfaces.
//
// Keys: everything lives under the stream's name (Stream, Stream+":dead",
// Stream+":done:"+group+":"+outbox id). On Redis Cluster give the stream a
// hash tag ("{corsia:notify}") so that the dead-letter stream and the done
// marks share its slot: dead-lettering and replay are atomic across them.
//
// Reserved field names: FieldOutboxID, and the prefix "dl:" that the
// dead-letter stream uses for its own fields.
package stream

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// FieldOutboxID is the stream field carrying the outbox row's id.
const FieldOutboxID = "outbox_id"

// Fields the dead-letter stream adds to an entry's own.
const (
	deadPrefix       = "dl:"
	fieldDeadError   = deadPrefix + "error"
	fieldDeadAttempt = deadPrefix + "attempts"
	fieldDeadID      = deadPrefix + "stream_id"
	fieldDeadGroup   = deadPrefix + "group"
	fieldDeadName    = deadPrefix + "consumer"
	fieldDeadAt      = deadPrefix + "at"
)

// Entry is one event: the outbox row's id (a string, e.g. a UUID or a
// bigint) and its fields.
type Entry struct {
	OutboxID string
	Fields   map[string]string
	// Set on consumption:
	StreamID string
	Attempt  int // 1 on first delivery; from XPENDING's delivery count on reclaims
}

// DeadLetterStream is where the entries of stream go when they cannot be
// delivered.
func DeadLetterStream(stream string) string { return stream + ":dead" }

// Permanent marks a handler's error as not worth retrying: the entry goes to
// the dead-letter stream at once. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, or an error it wraps, came from Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// checkFields refuses an entry that would collide with the package's own
// fields: silently overwriting a clinical field is worse than a loud stop.
func checkFields(e Entry) error {
	if e.OutboxID == "" {
		return errors.New("entry without an outbox id")
	}
	for k := range e.Fields {
		if k == FieldOutboxID || strings.HasPrefix(k, deadPrefix) {
			return fmt.Errorf("outbox entry %s: field %q is reserved by the stream", e.OutboxID, k)
		}
	}
	return nil
}

// values lays an entry out for XADD: the outbox id first, then the fields in
// a stable order.
func values(e Entry) []any {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	v := make([]any, 0, 2+2*len(keys))
	v = append(v, FieldOutboxID, e.OutboxID)
	for _, k := range keys {
		v = append(v, k, e.Fields[k])
	}
	return v
}

// entryOf reads a stream message back into an Entry (without the
// dead-letter fields).
func entryOf(id string, vals map[string]any) Entry {
	e := Entry{StreamID: id, Fields: make(map[string]string, len(vals))}
	for k, v := range vals {
		s := fmt.Sprint(v)
		switch {
		case k == FieldOutboxID:
			e.OutboxID = s
		case strings.HasPrefix(k, deadPrefix):
		default:
			e.Fields[k] = s
		}
	}
	return e
}

// streamID is a parsed stream entry id, for comparisons.
type streamID struct{ ms, seq uint64 }

func parseID(s string) (streamID, error) {
	a, b, ok := strings.Cut(s, "-")
	ms, err := strconv.ParseUint(a, 10, 64)
	if err != nil {
		return streamID{}, fmt.Errorf("stream id %q: %w", s, err)
	}
	if !ok {
		return streamID{ms: ms}, nil
	}
	seq, err := strconv.ParseUint(b, 10, 64)
	if err != nil {
		return streamID{}, fmt.Errorf("stream id %q: %w", s, err)
	}
	return streamID{ms, seq}, nil
}

func (a streamID) less(b streamID) bool { return a.ms < b.ms || a.ms == b.ms && a.seq < b.seq }

func (a streamID) next() streamID {
	if a.seq == math.MaxUint64 {
		return streamID{a.ms + 1, 0}
	}
	return streamID{a.ms, a.seq + 1}
}

func (a streamID) String() string {
	return strconv.FormatUint(a.ms, 10) + "-" + strconv.FormatUint(a.seq, 10)
}

// isNoGroup reports Redis's NOGROUP: the group, or the whole stream, is gone
// (a restart without persistence, or an operator).
func isNoGroup(err error) bool { return redis.HasErrorPrefix(err, "NOGROUP") }

// sleep waits d or until ctx is done, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ms is d in whole milliseconds, as Redis takes it.
func ms(d time.Duration) int64 { return max(0, d.Milliseconds()) }
