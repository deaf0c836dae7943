package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/corsia-cce/corsia/backend/notify"
	"github.com/corsia-cce/corsia/workers/fcm"
	"github.com/corsia-cce/corsia/workers/stream"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// The notification pipeline: notifications are written with an outbox row
// in the transaction that raises them; the relay publishes outbox rows to a
// Redis Stream; consumers in one group push each notification to its
// recipient's live devices through FCM, claiming a delivery row per
// (notification, device) before sending, so that neither several workers
// nor a redelivered entry sends a notification twice to one device.

// NotificationStream is the stream notifications travel on (after the
// process's key prefix).
const NotificationStream = "notify:push"

// NotificationGroup is the consumer group of the push workers.
const NotificationGroup = "push"

// OutboxPublisher hands out unpublished outbox rows (backend/postgres.DB).
type OutboxPublisher interface {
	PublishOutbox(ctx context.Context, limit int, publish func(ctx context.Context, rows []notify.OutboxRow) error) (int, error)
}

// Outbox adapts the PostgreSQL outbox to the stream relay.
type Outbox struct{ DB OutboxPublisher }

var _ stream.Outbox = Outbox{}

// Publish implements stream.Outbox.
func (o Outbox) Publish(ctx context.Context, limit int, publish func(ctx context.Context, entries []stream.Entry) error) (int, error) {
	return o.DB.PublishOutbox(ctx, limit, func(ctx context.Context, rows []notify.OutboxRow) error {
		entries := make([]stream.Entry, len(rows))
		for i, r := range rows {
			entries[i] = stream.Entry{OutboxID: strconv.FormatInt(r.ID, 10), Fields: map[string]string{
				"facility_id": r.FacilityID.String(), "notification_id": r.NotificationID.String(),
				// When the row was written: the delivery latency is measured from it.
				"queued_at": r.CreatedAt.UTC().Format(time.RFC3339Nano)}}
		}
		return publish(ctx, entries)
	})
}

// PushStore is what the push workers need of the database
// (backend/postgres.NotifyStore).
type PushStore interface {
	PushTargets(ctx context.Context, facility, notification uuid.UUID) (notify.Notification, []notify.PushTarget, error)
	ClaimDelivery(ctx context.Context, facility, notification, registration uuid.UUID, lease time.Duration) (string, error)
	FinishDelivery(ctx context.Context, facility, notification, registration uuid.UUID, state, messageID, errText string) error
}

// Pusher delivers one notification from the stream.
type Pusher struct {
	Store  PushStore
	Sender fcm.Sender
	// Lease is how long a claimed delivery is this worker's: one that dies
	// mid-send leaves it to be retried after that.
	Lease time.Duration
	Log   *slog.Logger
	// Accepted, when set, is told of every push FCM accepted (benchmarks).
	Accepted func(n notify.Notification, queuedAt time.Time)
}

// errRetry marks deliveries to try again later.
var errRetry = errors.New("some pushes must be retried")

// errHeld: another sender holds some deliveries; try again after its lease.
var errHeld = errors.New("some pushes are held by another sender")

// Handle implements stream.Handler. It returns nil once every live device
// of the recipient has the notification (accepted, or its dead token
// pruned), an error when some must be retried.
func (p *Pusher) Handle(ctx context.Context, e stream.Entry) error {
	facility, err1 := uuid.Parse(e.Fields["facility_id"])
	id, err2 := uuid.Parse(e.Fields["notification_id"])
	if err1 != nil || err2 != nil {
		return stream.Permanent(fmt.Errorf("entry %s: malformed ids", e.OutboxID))
	}
	n, targets, err := p.Store.PushTargets(ctx, facility, id)
	if err != nil {
		return err // the database may be down: retry
	}
	lease := p.Lease
	if lease <= 0 {
		lease = time.Minute
	}
	var msgs []fcm.Message
	var regs []uuid.UUID
	held := false
	for _, t := range targets {
		claim, err := p.Store.ClaimDelivery(ctx, facility, id, t.RegistrationID, lease)
		if err != nil {
			return err
		}
		switch claim {
		case notify.ClaimSend:
			msgs = append(msgs, message(n, t.Token))
			regs = append(regs, t.RegistrationID)
		case notify.ClaimHeld:
			// Another sender has it, or had it and died mid-send: this
			// entry must come back once that lease has run out, or the
			// notification would never reach the device.
			held = true
		}
	}
	if len(msgs) == 0 {
		if held {
			return errHeld
		}
		return nil
	}
	results, err := p.Sender.Send(ctx, msgs)
	if err != nil && len(results) != len(msgs) {
		// Nothing is known of any message: all stay claimed until their
		// lease runs out, then the redelivered entry sends them.
		for _, r := range regs {
			if ferr := p.Store.FinishDelivery(context.WithoutCancel(ctx), facility, id, r, notify.DeliveryFailed, "", err.Error()); ferr != nil {
				return ferr
			}
		}
		return err
	}
	retry := false
	queued, _ := time.Parse(time.RFC3339Nano, e.Fields["queued_at"])
	for i, r := range results {
		state, errText := notify.DeliveryAccepted, ""
		switch {
		case r.Accepted:
			if p.Accepted != nil {
				p.Accepted(n, queued)
			}
		case r.Prune:
			state = notify.DeliveryPruned
		default:
			state, retry = notify.DeliveryFailed, retry || r.Retry
			if r.Err != nil {
				errText = r.Err.Error()
			}
		}
		if err := p.Store.FinishDelivery(context.WithoutCancel(ctx), facility, id, regs[i], state, r.MessageID, errText); err != nil {
			return err
		}
	}
	if retry {
		return errRetry
	}
	if held {
		return errHeld
	}
	return nil
}

// message is the push of a notification: visible text without clinical
// detail, ids only in the data, one collapse key per alert chain so that
// its later steps replace it on the device.
func message(n notify.Notification, token string) fcm.Message {
	data := map[string]string{"notification_id": n.ID.String(), "alert_id": n.AlertID.String(), "kind": n.Kind,
		"resident_id": n.ResidentID.String(), "link": "corsia://notifications/" + n.ID.String()}
	if n.DoseID != nil {
		data["dose_id"] = n.DoseID.String()
	}
	high := n.Kind == notify.KindDoseLate || n.Kind == notify.KindEscalation
	collapse := n.AlertID.String()
	if n.Kind == notify.KindDoseDue && n.DueAt != nil {
		// The doses of one ward falling due together are one reminder on
		// the device, updated in place, not a column of them.
		collapse = "due-" + n.WardID.String()[:8] + "-" + n.DueAt.UTC().Format("0601021504")
	}
	return fcm.Message{Token: token, Title: n.Title, Body: n.Body, Data: data, CollapseKey: collapse, High: high,
		TTL: 6 * time.Hour}
}

// LostRepublisher puts back in the outbox what Redis may have lost
// (backend/postgres.DB).
type LostRepublisher interface {
	RepublishLost(ctx context.Context, olderThan time.Duration) (int, error)
}

// Pipeline is the notification pipeline of one worker process.
type Pipeline struct {
	Redis     redis.UniversalClient
	Prefix    string // the process's Redis key prefix
	Outbox    OutboxPublisher
	Lost      LostRepublisher
	Pusher    *Pusher
	Consumers int // consumers in this process; default 2
	Log       *slog.Logger
	// RelayEvery is how often the outbox is polled; default 250 ms.
	RelayEvery time.Duration
	// ClaimIdle is how long an entry stays with a consumer that took it
	// before another may take it over; default 30 s.
	ClaimIdle time.Duration
	// RepublishAfter is how long a published notification may go without
	// any delivery before it is queued again (Redis may have lost it);
	// default 2 min.
	RepublishAfter time.Duration
}

// Stream is the pipeline's stream key.
func (p *Pipeline) Stream() string { return p.Prefix + NotificationStream }

// Jobs are the pipeline's scheduled work: the relay, the republishing of
// what Redis lost, the trimming of the stream.
func (p *Pipeline) Jobs() []Job {
	relay := &stream.Relay{Redis: p.Redis, Stream: p.Stream(), Outbox: Outbox{p.Outbox}, Log: p.Log}
	every := p.RelayEvery
	if every <= 0 {
		every = 250 * time.Millisecond
	}
	republish := p.RepublishAfter
	if republish <= 0 {
		republish = 2 * time.Minute
	}
	return []Job{
		{Name: "relay-outbox", Every: every, Run: func(ctx context.Context) error {
			_, err := relay.Drain(ctx)
			if errors.Is(err, stream.ErrBacklog) {
				p.Log.Warn("notification stream full: consumers are behind", slog.String("stream", p.Stream()))
				return nil
			}
			return err
		}},
		{Name: "republish-lost", Every: max(republish/2, time.Second), Run: func(ctx context.Context) error {
			n, err := p.Lost.RepublishLost(ctx, republish)
			if n > 0 {
				p.Log.Warn("notifications published but never delivered: queued again", slog.Int("count", n))
			}
			return err
		}},
		{Name: "trim-stream", Every: 10 * time.Minute, Run: func(ctx context.Context) error {
			_, err := stream.Trim(ctx, p.Redis, p.Stream(), NotificationGroup, 24*time.Hour)
			return err
		}},
	}
}

// Loops are the pipeline's consumers.
func (p *Pipeline) Loops() []Loop {
	n := p.Consumers
	if n <= 0 {
		n = 2
	}
	idle := p.ClaimIdle
	if idle <= 0 {
		idle = 30 * time.Second
	}
	host, _ := os.Hostname()
	var out []Loop
	for i := 0; i < n; i++ {
		c := &stream.Consumer{Redis: p.Redis, Stream: p.Stream(), Group: NotificationGroup,
			Name: fmt.Sprintf("%s-%d-%d", host, os.Getpid(), i), Handle: p.Pusher.Handle, Block: 2 * time.Second,
			ClaimIdle: idle, MaxAttempts: 8, Log: p.Log}
		out = append(out, Loop{Name: "push-consumer-" + strconv.Itoa(i), Run: c.Run})
	}
	return out
}
