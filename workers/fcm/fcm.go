// Package fcm delivers pushes to staff devices through Firebase Cloud
// Messaging, with the official Go SDK (firebase.google.com/go/v4), and tells
// the caller what became of each one: accepted, dead token to prune, or worth
// retrying. Without credentials, LogSender stands in and only logs.
//
// A push reaches a lock screen, so nothing clinical goes in one: the caller
// writes bed, initials and what happened, and ids for the deep link. This
// package never logs a body.
//
// Delivery is at least once: a message whose answer was lost (a timeout after
// FCM accepted it) comes back Retry, and sending it again may show it twice.
// The collapse key is what makes that harmless: the second copy replaces the
// first on the device instead of stacking.
//
// Deadlines: the SDK retries network errors and 503 by itself, up to five
// attempts waiting 0, 1, 2 and 4 s in between (longer if FCM sends a
// Retry-After; none if that exceeds two minutes), so during an FCM outage
// one message takes about 7 s to fail, and a chunk of 500 (sent 50 at a
// time) about 70 s. Send's context deadline is the bound: choose it for how
// long the caller can wait (say 30 s); what it cuts short comes back Retry
// with the context's error, and Send returns that error too. 429 and 500 are
// not retried by the SDK: they come back Retry at once, and RetryAfter tells
// how long FCM asked to wait.
package fcm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"
)

// Message is one push to one device. Nothing clinical goes in it: the caller
// writes bed, initials and what happened; ids only in Data.
type Message struct {
	Token       string // the device's FCM registration token
	Title, Body string
	Data        map[string]string // deep link: ids only
	// CollapseKey: one late dose = one notification updated in place
	// (android collapse_key and notification tag, apns-collapse-id).
	CollapseKey string
	High        bool          // high priority (alerts)
	TTL         time.Duration // 0 = FCM default (4 weeks)
}

// Result is what became of one message.
type Result struct {
	Token     string
	MessageID string // set when FCM accepted it
	Accepted  bool
	// Prune: the token is dead (unregistered, sender-id mismatch, or
	// invalid-argument when the same payload was accepted for other tokens in
	// the batch) and must be removed.
	Prune bool
	// Retry: a transient failure (429 quota, 5xx, unavailable, network,
	// deadline) or a fault of the sender's own set-up; retry later with
	// backoff.
	Retry bool
	// Err is why the message was not accepted: the SDK's error as it came
	// (so messaging.IsUnregistered and the like work on it), a context
	// error, or ErrInvalidMessage.
	Err error
}

// Sender sends pushes.
type Sender interface {
	// Send returns one Result per message, in order, always. Its error is
	// non-nil when the fault was not the messages' but the sender's: the
	// context ended, the credentials were refused, FCM denied the project.
	// The affected results are then Retry, and the error is worth an alarm.
	Send(ctx context.Context, msgs []Message) ([]Result, error)
}

// Options configures the FCM sender.
type Options struct {
	CredentialsJSON []byte       // a service-account JSON (required)
	ProjectID       string       // optional; from the credentials otherwise
	Endpoint        string       // optional: override the FCM endpoint (tests: fake.URL + "/v1")
	HTTPClient      *http.Client // optional: the base of the authenticated client, and the token fetches
}

// ErrInvalidMessage marks a message refused before sending: a caller's bug
// (no token, a reserved data key, a collapse key too long for APNs). Its
// result is neither Retry nor Prune.
var ErrInvalidMessage = errors.New("fcm: invalid message")

const (
	// maxBatch is SendEach's limit.
	maxBatch = 500
	// messagingScope is the least the service account needs.
	messagingScope = "https://www.googleapis.com/auth/firebase.messaging"
	// tokenTimeout bounds one access-token fetch. x/oauth2 fetches tokens
	// without the caller's context, so without a client timeout a hung
	// token endpoint would hang every send past its deadline.
	tokenTimeout = 30 * time.Second
	// maxTTL is FCM's longest time to live.
	maxTTL = 28 * 24 * time.Hour
	// maxCollapseID is APNs' limit on apns-collapse-id.
	maxCollapseID = 64
)

// FCM sends through Firebase Cloud Messaging.
type FCM struct {
	client  *messaging.Client
	tokens  oauth2.TokenSource // shared with the SDK's transport, so a token fetched here is the one it uses
	project string
}

var (
	_ Sender = (*FCM)(nil)
	_ Sender = LogSender{}
)

// NewFCM builds a sender from a service account. It does not reach Google:
// credentials are first exchanged for a token by the first Send.
func NewFCM(ctx context.Context, o Options) (*FCM, error) {
	if len(o.CredentialsJSON) == 0 {
		return nil, errors.New("fcm: CredentialsJSON is required")
	}
	tokenClient := &http.Client{Timeout: tokenTimeout}
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		if c.Timeout == 0 {
			c.Timeout = tokenTimeout
		}
		tokenClient = &c
	}
	// The token source keeps this context for the life of the sender (it
	// reads the HTTP client from it), so it must not be one that ends.
	tctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, tokenClient)
	// Only a service account: a credential file of another type (an external
	// account, say) would make the library call URLs the file names.
	creds, err := google.CredentialsFromJSONWithTypeAndParams(tctx, o.CredentialsJSON, google.ServiceAccount,
		google.CredentialsParams{Scopes: []string{messagingScope}})
	if err != nil {
		return nil, fmt.Errorf("fcm: credentials: %w", err)
	}
	project := cmp.Or(o.ProjectID, creds.ProjectID)
	if project == "" {
		return nil, errors.New("fcm: no project id in options or credentials")
	}

	// Credentials rather than option.WithCredentialsJSON: the SDK then uses
	// our token source, which Send can ask first (see authorize), and the
	// path does not change with the google-api's new-auth-library switch.
	opts := []option.ClientOption{option.WithCredentials(creds)}
	if o.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(o.Endpoint))
	}
	if o.HTTPClient != nil {
		// option.WithHTTPClient overrides every other option, credentials
		// included: the SDK would send without a token. Authenticate the
		// given client ourselves.
		hc := *o.HTTPClient
		hc.Transport = &oauth2.Transport{Source: creds.TokenSource, Base: cmp.Or[http.RoundTripper](o.HTTPClient.Transport, http.DefaultTransport)}
		opts = append(opts, option.WithHTTPClient(&hc))
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: project}, opts...)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	return &FCM{client: client, tokens: creds.TokenSource, project: project}, nil
}

// Send sends msgs, 500 at a time (SendEach's limit), each chunk's messages
// concurrently (the SDK runs 50 workers).
func (f *FCM) Send(ctx context.Context, msgs []Message) ([]Result, error) {
	results := make([]Result, len(msgs))
	var todo []int
	for i, m := range msgs {
		results[i].Token = m.Token
		if err := validate(m); err != nil {
			results[i].Err = err
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return results, nil
	}
	if err := f.authorize(ctx); err != nil {
		retryAll(results, todo, err)
		return results, err
	}
	for len(todo) > 0 {
		chunk := todo[:min(maxBatch, len(todo))]
		todo = todo[len(chunk):]
		if err := ctx.Err(); err != nil {
			retryAll(results, slices.Concat(chunk, todo), err)
			return results, err
		}
		f.sendChunk(ctx, msgs, chunk, results)
	}
	pruneInvalid(msgs, results)
	return results, senderFault(ctx, results)
}

// authorize gets an access token before the batch. Without it, refused
// credentials would surface as one opaque transport error per message, each
// after the SDK's retries (it retries any transport error, and a failed token
// fetch is one); here they fail the batch at once, with the token endpoint's
// answer. The token is cached, so this costs nothing most of the time.
func (f *FCM) authorize(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		_, err := f.tokens.Token()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("fcm: access token for project %s: %w", f.project, err)
		}
		return nil
	case <-ctx.Done():
		// The fetch cannot be cancelled; tokenTimeout ends it.
		return ctx.Err()
	}
}

// sendChunk sends the messages at idx (at most 500) and fills their results.
func (f *FCM) sendChunk(ctx context.Context, msgs []Message, idx []int, results []Result) {
	batch := make([]*messaging.Message, len(idx))
	now := time.Now()
	for k, i := range idx {
		batch[k] = toSDK(msgs[i], now)
	}
	br, err := f.client.SendEach(ctx, batch)
	if err != nil {
		// SendEach validates every message before sending any, and one it
		// refuses sinks the whole call. validate should have caught it; if
		// the SDK knows a rule we don't, halve the chunk until the culprit
		// stands alone, so that the others still go (nothing was sent yet).
		if len(idx) == 1 {
			results[idx[0]].Err = fmt.Errorf("%w: %v", ErrInvalidMessage, err)
			return
		}
		h := len(idx) / 2
		f.sendChunk(ctx, msgs, idx[:h], results)
		f.sendChunk(ctx, msgs, idx[h:], results)
		return
	}
	for k, i := range idx {
		r := br.Responses[k]
		if r.Success {
			results[i].Accepted, results[i].MessageID = true, r.MessageID
			continue
		}
		results[i].Err = r.Error
		switch classify(r.Error) {
		case deadToken:
			results[i].Prune = true
		case transient, senderSide:
			results[i].Retry = true
		}
	}
}

// toSDK maps a Message onto both platforms. now anchors the APNs expiry,
// which is a point in time where Android's TTL is a duration.
func toSDK(m Message, now time.Time) *messaging.Message {
	android := &messaging.AndroidConfig{
		CollapseKey: m.CollapseKey,
		Priority:    "normal",
		Notification: &messaging.AndroidNotification{
			// The tag replaces a notification already shown; collapse_key
			// only merges messages still waiting for an offline device.
			Tag: m.CollapseKey,
			// Bed and initials are still personal: hidden on a locked
			// screen unless the user chose otherwise.
			Visibility: messaging.VisibilityPrivate,
		},
	}
	apns := &messaging.APNSConfig{Headers: map[string]string{"apns-priority": "5"}}
	if m.High {
		android.Priority = "high"
		apns.Headers["apns-priority"] = "10"
		// An alert that makes no sound on iOS is easily missed on a round.
		apns.Payload = &messaging.APNSPayload{Aps: &messaging.Aps{Sound: "default"}}
	}
	if m.CollapseKey != "" {
		apns.Headers["apns-collapse-id"] = m.CollapseKey
	}
	if m.TTL > 0 {
		ttl := m.TTL
		android.TTL = &ttl
		apns.Headers["apns-expiration"] = strconv.FormatInt(now.Add(m.TTL).Unix(), 10)
	}
	return &messaging.Message{
		Token:        m.Token,
		Notification: &messaging.Notification{Title: m.Title, Body: m.Body},
		Data:         m.Data,
		Android:      android,
		APNS:         apns,
	}
}

// validate refuses what the SDK would refuse for the whole batch, and what
// FCM would answer 400 for every token alike.
func validate(m Message) error {
	switch {
	case m.Token == "":
		return fmt.Errorf("%w: no token", ErrInvalidMessage)
	case m.TTL < 0 || m.TTL > maxTTL:
		return fmt.Errorf("%w: TTL %v outside 0..%v", ErrInvalidMessage, m.TTL, maxTTL)
	case len(m.CollapseKey) > maxCollapseID:
		return fmt.Errorf("%w: collapse key longer than %d bytes", ErrInvalidMessage, maxCollapseID)
	}
	for k := range m.Data {
		lk := strings.ToLower(k)
		if k == "" || k == "from" || k == "notification" || k == "message_type" ||
			strings.HasPrefix(lk, "google") || strings.HasPrefix(lk, "gcm") {
			return fmt.Errorf("%w: reserved data key %q", ErrInvalidMessage, k)
		}
	}
	return nil
}

type outcome int

const (
	other      outcome = iota // nothing to do again: a payload bug, reported
	deadToken                 // prune
	badRequest                // 400: prune or not, decided on the batch
	transient                 // retry
	senderSide                // retry, and the sender needs a human
)

// classify reads the SDK's error. The FCM error code (messaging.Is…) decides
// first; the HTTP-level status (errorutils.Is…) only when FCM gave no code.
// A bare 404 or 403 is not a dead token: it is a wrong endpoint, project or
// permission, and pruning on it would empty the token table.
func classify(err error) outcome {
	switch {
	case messaging.IsUnregistered(err), messaging.IsSenderIDMismatch(err):
		return deadToken
	case messaging.IsInvalidArgument(err), errorutils.IsInvalidArgument(err):
		return badRequest
	case messaging.IsQuotaExceeded(err), messaging.IsInternal(err), messaging.IsUnavailable(err),
		errorutils.IsResourceExhausted(err), errorutils.IsInternal(err), errorutils.IsUnavailable(err),
		errorutils.IsDeadlineExceeded(err), errorutils.IsCancelled(err), errorutils.IsAborted(err),
		errorutils.IsUnknown(err), // a transport error, or a 502/504
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return transient
	case messaging.IsThirdPartyAuthError(err), errorutils.IsUnauthenticated(err),
		errorutils.IsPermissionDenied(err), errorutils.IsNotFound(err):
		return senderSide
	}
	return other
}

// pruneInvalid settles the 400s. INVALID_ARGUMENT is FCM's answer both to a
// malformed token and to a bad payload; if the same payload went through for
// another token, the token is the culprit.
func pruneInvalid(msgs []Message, results []Result) {
	accepted := map[string]bool{}
	for i, r := range results {
		if r.Accepted {
			accepted[payloadKey(msgs[i])] = true
		}
	}
	for i, r := range results {
		if r.Err != nil && !r.Accepted && !r.Prune && !r.Retry && classify(r.Err) == badRequest {
			results[i].Prune = accepted[payloadKey(msgs[i])]
		}
	}
}

// payloadKey is everything in a message but the token.
func payloadKey(m Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q %q %q %t %d", m.Title, m.Body, m.CollapseKey, m.High, m.TTL)
	for _, k := range slices.Sorted(maps.Keys(m.Data)) {
		fmt.Fprintf(&b, " %q=%q", k, m.Data[k])
	}
	return b.String()
}

// senderFault is Send's error: the context's, or the first refusal that
// was about us rather than about a device or a payload.
func senderFault(ctx context.Context, results []Result) error {
	n := 0
	var first error
	for _, r := range results {
		if r.Err != nil && classify(r.Err) == senderSide {
			if n == 0 {
				first = r.Err
			}
			n++
		}
	}
	if n > 0 {
		return fmt.Errorf("fcm: %d of %d messages refused for the sender's own set-up (credentials, project, APNs key): %w", n, len(results), first)
	}
	if err := ctx.Err(); err != nil {
		for _, r := range results {
			if r.Retry { // the SDK hides the context's error in its own when it hit it in flight
				return err
			}
		}
	}
	return nil
}

func retryAll(results []Result, idx []int, err error) {
	for _, i := range idx {
		results[i].Retry, results[i].Err = true, err
	}
}

// RetryAfter is how long FCM asked to wait before retrying (its Retry-After
// header, sent with 429 and 503), or 0 when it did not say.
func RetryAfter(err error) time.Duration {
	resp := errorutils.HTTPResponse(err)
	if resp == nil {
		return 0
	}
	h := resp.Header.Get("Retry-After")
	if s, err := strconv.Atoi(h); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
