package stream

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Trim removes the entries older than keep that no consumer group still
// needs: it trims by MINID up to the oldest of the entries pending in any
// group and the first entry any group has yet to read, never by length (an
// entry trimmed while pending vanishes: XAUTOCLAIM reports it deleted and
// nobody delivers it). group must exist: before the consumers created it,
// every entry is still to be read. Age is by Redis's clock, the stream ids'.
// It returns how many entries it removed.
func Trim(ctx context.Context, rdb redis.UniversalClient, stream, group string, keep time.Duration) (int64, error) {
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("stream: trim %s: %w", stream, err)
	}
	bound := streamID{ms: uint64(max(0, now.Add(-keep).UnixMilli()))}
	groups, err := rdb.XInfoGroups(ctx, stream).Result()
	if err != nil {
		return 0, fmt.Errorf("stream: trim %s: %w", stream, err)
	}
	found := false
	for _, g := range groups {
		found = found || g.Name == group
		last, err := parseID(g.LastDeliveredID)
		if err != nil {
			return 0, fmt.Errorf("stream: trim %s: group %s: %w", stream, g.Name, err)
		}
		if n := last.next(); n.less(bound) { // not yet read by this group
			bound = n
		}
		p, err := rdb.XPending(ctx, stream, g.Name).Result()
		if err != nil {
			return 0, fmt.Errorf("stream: trim %s: group %s: %w", stream, g.Name, err)
		}
		if p.Count > 0 {
			oldest, err := parseID(p.Lower)
			if err != nil {
				return 0, fmt.Errorf("stream: trim %s: group %s: %w", stream, g.Name, err)
			}
			if oldest.less(bound) {
				bound = oldest
			}
		}
	}
	if !found {
		return 0, fmt.Errorf("stream: trim %s: no group %q: its entries would all be unread", stream, group)
	}
	// Exact, not "~": MINID ~ only drops whole nodes, and a short stream
	// would never shrink. XTRIM MINID removes the ids below bound.
	n, err := rdb.XTrimMinID(ctx, stream, bound.String()).Result()
	if err != nil {
		return 0, fmt.Errorf("stream: trim %s: %w", stream, err)
	}
	return n, nil
}

// DeadLetter is an entry that could not be delivered.
type DeadLetter struct {
	ID       string // in the dead-letter stream: what Replay takes
	Entry    Entry  // StreamID: where it was in the stream; Attempt: deliveries made
	Error    string
	Group    string
	Consumer string
	At       time.Time // when it was dead-lettered
}

// DeadLetters lists up to limit dead letters of stream (all when limit ≤ 0),
// oldest first.
func DeadLetters(ctx context.Context, rdb redis.UniversalClient, stream string, limit int64) ([]DeadLetter, error) {
	var (
		msgs []redis.XMessage
		err  error
	)
	if limit > 0 {
		msgs, err = rdb.XRangeN(ctx, DeadLetterStream(stream), "-", "+", limit).Result()
	} else {
		msgs, err = rdb.XRange(ctx, DeadLetterStream(stream), "-", "+").Result()
	}
	if err != nil {
		return nil, fmt.Errorf("stream: dead letters of %s: %w", stream, err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		str := func(k string) string { s, _ := m.Values[k].(string); return s }
		e := entryOf(str(fieldDeadID), m.Values)
		e.Attempt, _ = strconv.Atoi(str(fieldDeadAttempt))
		at, _ := time.Parse(time.RFC3339Nano, str(fieldDeadAt))
		out = append(out, DeadLetter{ID: m.ID, Entry: e, Error: str(fieldDeadError), Group: str(fieldDeadGroup),
			Consumer: str(fieldDeadName), At: at})
	}
	return out, nil
}

// replay moves one dead letter back, atomically: a copy without the
// dead-letter fields is added to the stream (a new entry: its delivery count
// starts again) and the dead letter deleted. Replaying an id twice, or one
// already gone, adds nothing.
var replay = redis.NewScript(`
local e = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1])
if #e == 0 then return 0 end
local f, out = e[1][2], {}
for i = 1, #f, 2 do
  if string.sub(f[i], 1, 3) ~= 'dl:' then
    out[#out + 1] = f[i]
    out[#out + 1] = f[i + 1]
  end
end
redis.call('XADD', KEYS[1], '*', unpack(out))
redis.call('XDEL', KEYS[2], ARGV[1])
return 1
`)

// Replay moves the dead letters with the given ids (DeadLetter.ID) back to
// stream, for a fresh round of attempts, and deletes them from the
// dead-letter stream. It returns how many it moved; unknown ids are skipped.
func Replay(ctx context.Context, rdb redis.UniversalClient, stream string, ids ...string) (int, error) {
	n := 0
	for _, id := range ids {
		moved, err := replay.Run(ctx, rdb, []string{stream, DeadLetterStream(stream)}, id).Int()
		if err != nil {
			return n, fmt.Errorf("stream: replay %s of %s: %w", id, stream, err)
		}
		n += moved
	}
	return n, nil
}
