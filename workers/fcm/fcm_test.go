package fcm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"

	"github.com/corsia-cce/corsia/workers/fcm/fcmfake"
)

type testBundle struct {
	fake *fcmfake.Server
	fcm  *FCM
}

// setup starts a fake FCM and a sender that reaches it through the real SDK:
// JWT exchange at the fake's token endpoint, then the sends.
func setup(t *testing.T, mod ...func(*Options)) testBundle {
	t.Helper()
	fake := fcmfake.New(t)
	o := Options{CredentialsJSON: fake.Credentials(), Endpoint: fake.Endpoint()}
	for _, m := range mod {
		m(&o)
	}
	f, err := NewFCM(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return testBundle{fake: fake, fcm: f}
}

func msg(token string) Message {
	return Message{
		Token:       token,
		Title:       "Letto 12 · M.R.",
		Body:        "Dose delle 08:00 non somministrata",
		Data:        map[string]string{"kind": "late_dose", "dose_id": "d-1"},
		CollapseKey: "late-dose:d-1",
		High:        true,
		TTL:         10 * time.Minute,
	}
}

func send(t *testing.T, s Sender, ctx context.Context, msgs ...Message) []Result {
	t.Helper()
	res, err := s.Send(ctx, msgs)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(res) != len(msgs) {
		t.Fatalf("%d results for %d messages", len(res), len(msgs))
	}
	return res
}

func TestSendAccepted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	low := msg("tok-c")
	low.High, low.TTL, low.CollapseKey = false, 0, ""
	res := send(t, b.fcm, t.Context(), msg("tok-a"), msg("tok-b"), low)
	for _, r := range res {
		if !r.Accepted || r.MessageID == "" || r.Prune || r.Retry || r.Err != nil {
			t.Errorf("%+v: want accepted", r)
		}
	}
	if got := b.fake.TokenRequests(); got != 1 {
		t.Errorf("token requests = %d, want 1 (the JWT exchanged once)", got)
	}

	sent := b.fake.Messages()
	if len(sent) != 3 {
		t.Fatalf("fake recorded %d messages, want 3", len(sent))
	}
	byToken := map[string]fcmfake.Sent{}
	for _, s := range sent {
		byToken[s.Token] = s
	}
	a := byToken["tok-a"]
	if a.Title != "Letto 12 · M.R." || a.Body != "Dose delle 08:00 non somministrata" {
		t.Errorf("notification = %q / %q", a.Title, a.Body)
	}
	if a.Data["kind"] != "late_dose" || a.Data["dose_id"] != "d-1" || len(a.Data) != 2 {
		t.Errorf("data = %v", a.Data)
	}
	if a.CollapseKey != "late-dose:d-1" || a.Tag != "late-dose:d-1" || a.APNSHeaders["apns-collapse-id"] != "late-dose:d-1" {
		t.Errorf("collapse: key %q tag %q apns %q", a.CollapseKey, a.Tag, a.APNSHeaders["apns-collapse-id"])
	}
	if a.Priority != "high" || a.APNSHeaders["apns-priority"] != "10" {
		t.Errorf("priority: android %q apns %q", a.Priority, a.APNSHeaders["apns-priority"])
	}
	if a.TTL != "600s" {
		t.Errorf("android ttl = %q", a.TTL)
	}
	exp, _ := strconv.ParseInt(a.APNSHeaders["apns-expiration"], 10, 64)
	if d := time.Until(time.Unix(exp, 0)); d < 9*time.Minute || d > 11*time.Minute {
		t.Errorf("apns-expiration %q is %v away, want ~10m", a.APNSHeaders["apns-expiration"], d)
	}
	if a.Visibility != "PRIVATE" {
		t.Errorf("visibility = %q", a.Visibility)
	}
	if a.MessageID != res[0].MessageID {
		t.Errorf("message id %q, fake answered %q", res[0].MessageID, a.MessageID)
	}
	c := byToken["tok-c"]
	if c.Priority != "normal" || c.APNSHeaders["apns-priority"] != "5" || c.TTL != "" || c.CollapseKey != "" {
		t.Errorf("low priority message = %+v", c)
	}
	if _, ok := c.APNSHeaders["apns-collapse-id"]; ok {
		t.Error("empty apns-collapse-id sent")
	}

	// A second Send reuses the cached access token.
	send(t, b.fcm, t.Context(), msg("tok-a"))
	if b.fake.Count("tok-a") != 2 || b.fake.TokenRequests() != 1 {
		t.Errorf("count %d, token requests %d", b.fake.Count("tok-a"), b.fake.TokenRequests())
	}
}

func TestDeadTokensPruned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.Unregister("gone")
	b.fake.MismatchSender("other-project")
	res := send(t, b.fcm, t.Context(), msg("gone"), msg("live"), msg("other-project"))
	if !res[0].Prune || res[0].Retry || res[0].Accepted || !messaging.IsUnregistered(res[0].Err) {
		t.Errorf("unregistered: %+v", res[0])
	}
	if !res[1].Accepted {
		t.Errorf("live: %+v", res[1])
	}
	if !res[2].Prune || res[2].Retry || !messaging.IsSenderIDMismatch(res[2].Err) {
		t.Errorf("sender id mismatch: %+v", res[2])
	}
	if b.fake.Count("gone") != 0 || b.fake.Count("live") != 1 {
		t.Error("fake counts wrong")
	}
}

func TestQuotaAndInternalRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		is     func(error) bool
	}{
		{http.StatusTooManyRequests, messaging.IsQuotaExceeded},
		{http.StatusInternalServerError, messaging.IsInternal},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.fake.FailNext(1, tc.status)
			res := send(t, b.fcm, t.Context(), msg("tok"))
			if !res[0].Retry || res[0].Prune || res[0].Accepted || !tc.is(res[0].Err) {
				t.Errorf("%+v: want Retry with the SDK's error", res[0])
			}
			if n := b.fake.Requests(); n != 1 {
				t.Errorf("%d requests: the SDK does not retry %d itself", n, tc.status)
			}
			res = send(t, b.fcm, t.Context(), msg("tok"))
			if !res[0].Accepted || b.fake.Count("tok") != 1 {
				t.Errorf("later send: %+v, count %d", res[0], b.fake.Count("tok"))
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.FailNextRetryAfter(1, http.StatusTooManyRequests, 30*time.Second)
	res := send(t, b.fcm, t.Context(), msg("tok"))
	if !res[0].Retry || RetryAfter(res[0].Err) != 30*time.Second {
		t.Errorf("%+v: RetryAfter = %v", res[0], RetryAfter(res[0].Err))
	}
	if RetryAfter(errors.New("x")) != 0 {
		t.Error("RetryAfter of a plain error")
	}
}

// The SDK retries 503 on its own: once costs nothing, five times cost 7 s,
// so a short deadline cuts it off and the message comes back Retry.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.FailNext(1, http.StatusServiceUnavailable)
	res := send(t, b.fcm, t.Context(), msg("tok"))
	if !res[0].Accepted || b.fake.Requests() != 2 {
		t.Errorf("%+v after %d requests: want the SDK's own retry to succeed", res[0], b.fake.Requests())
	}

	b.fake.Reset()
	b.fake.FailNext(5, http.StatusServiceUnavailable)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := b.fcm.Send(ctx, []Message{msg("tok")})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v: the deadline did not cut the SDK's retries", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send error = %v, want the deadline", err)
	}
	if !res[0].Retry || res[0].Prune || res[0].Accepted {
		t.Errorf("%+v: want Retry", res[0])
	}
}

func TestSlowFCM(t *testing.T) {
	t.Parallel()
	b := setup(t)
	send(t, b.fcm, t.Context(), msg("warm-up")) // the token fetch is not under test here
	b.fake.Delay(5 * time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := b.fcm.Send(ctx, []Message{msg("tok")})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
	if err == nil || !res[0].Retry || res[0].Accepted {
		t.Errorf("%+v, %v: want Retry and the deadline", res[0], err)
	}
}

func TestInvalidArgument(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.Invalid("garbled")

	// The same payload went through for others: the token is the culprit.
	res := send(t, b.fcm, t.Context(), msg("ok-1"), msg("garbled"), msg("ok-2"))
	if !res[1].Prune || res[1].Retry || !messaging.IsInvalidArgument(res[1].Err) {
		t.Errorf("garbled token beside accepted twins: %+v", res[1])
	}

	// Alone, or with another payload: it may be the payload's fault. Report,
	// neither prune nor retry.
	other := msg("ok-3")
	other.Body = "something else"
	res = send(t, b.fcm, t.Context(), msg("garbled"), other)
	if res[0].Prune || res[0].Retry || res[0].Accepted || !messaging.IsInvalidArgument(res[0].Err) {
		t.Errorf("garbled token alone: %+v", res[0])
	}

	// A payload FCM refuses for everyone prunes no one.
	b.fake.FailNext(2, http.StatusBadRequest)
	res = send(t, b.fcm, t.Context(), msg("ok-4"), msg("ok-5"))
	for _, r := range res {
		if r.Prune || r.Retry || r.Accepted || r.Err == nil {
			t.Errorf("bad payload: %+v", r)
		}
	}
}

func TestInvalidMessagesRefusedLocally(t *testing.T) {
	t.Parallel()
	b := setup(t)
	reserved := msg("tok-r")
	reserved.Data = map[string]string{"from": "x"}
	long := msg("tok-l")
	long.CollapseKey = strings.Repeat("k", 65)
	neg := msg("tok-n")
	neg.TTL = -time.Second
	res := send(t, b.fcm, t.Context(), msg(""), reserved, msg("fine"), long, neg)
	for i, r := range res {
		if i == 2 {
			if !r.Accepted {
				t.Errorf("valid message beside invalid ones: %+v", r)
			}
			continue
		}
		if !errors.Is(r.Err, ErrInvalidMessage) || r.Prune || r.Retry || r.Accepted {
			t.Errorf("message %d: %+v", i, r)
		}
	}
	if b.fake.Requests() != 1 {
		t.Errorf("%d requests, want only the valid message's", b.fake.Requests())
	}
}

// Should the SDK refuse a message that validate let through, SendEach would
// fail the whole chunk before sending any: the others must still go.
func TestChunkSurvivesSDKRefusal(t *testing.T) {
	t.Parallel()
	b := setup(t)
	msgs := make([]Message, 9)
	for i := range msgs {
		msgs[i] = msg(fmt.Sprintf("tok-%d", i))
	}
	msgs[5].Token = "" // the SDK refuses it; validate is skipped: sendChunk is called directly
	if err := b.fcm.authorize(t.Context()); err != nil {
		t.Fatal(err)
	}
	results := make([]Result, len(msgs))
	b.fcm.sendChunk(t.Context(), msgs, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}, results)
	for i, r := range results {
		if i == 5 {
			if !errors.Is(r.Err, ErrInvalidMessage) || r.Retry || r.Prune {
				t.Errorf("refused message: %+v", r)
			}
		} else if !r.Accepted {
			t.Errorf("message %d: %+v", i, r)
		}
	}
	if b.fake.Requests() != 8 {
		t.Errorf("%d requests, want 8 (each message once)", b.fake.Requests())
	}
}

func TestMoreThan500Chunked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 1201
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = msg(fmt.Sprintf("tok-%04d", i))
	}
	b.fake.Unregister("tok-0700")
	res := send(t, b.fcm, t.Context(), msgs...)
	for i, r := range res {
		if r.Token != msgs[i].Token {
			t.Fatalf("result %d is for %q, want %q", i, r.Token, msgs[i].Token)
		}
		if want := i != 700; r.Accepted != want {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	if !res[700].Prune {
		t.Errorf("unregistered token in the second chunk: %+v", res[700])
	}
	if got := len(b.fake.Messages()); got != n-1 {
		t.Errorf("fake accepted %d, want %d", got, n-1)
	}
	for _, i := range []int{0, 499, 500, 999, 1000, 1200} {
		if c := b.fake.Count(msgs[i].Token); c != 1 {
			t.Errorf("%s sent %d times", msgs[i].Token, c)
		}
	}
}

func TestCredentialsRefused(t *testing.T) {
	t.Parallel()
	fake := fcmfake.New(t)
	var sa map[string]string
	if err := json.Unmarshal(fake.Credentials(), &sa); err != nil {
		t.Fatal(err)
	}
	sa["client_email"] = "someone-else@corsia-test.iam.gserviceaccount.com" // not the key's account
	creds, _ := json.Marshal(sa)
	f, err := NewFCM(t.Context(), Options{CredentialsJSON: creds, Endpoint: fake.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := f.Send(t.Context(), []Message{msg("a"), msg("b")})
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("Send error = %v, want the token endpoint's refusal", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v: a refused credential must not wait out the SDK's retries", took)
	}
	for _, r := range res {
		if !r.Retry || r.Prune || r.Accepted {
			t.Errorf("%+v", r)
		}
	}
	if fake.Requests() != 0 {
		t.Errorf("%d send requests without a token", fake.Requests())
	}
}

// A wrong project answers a bare 403: the sender's fault, never a reason to
// prune the tokens.
func TestWrongProjectPrunesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.ProjectID = "someone-elses" })
	res, err := b.fcm.Send(t.Context(), []Message{msg("a"), msg("b")})
	if err == nil || !errorutils.IsPermissionDenied(errors.Unwrap(err)) {
		t.Errorf("Send error = %v, want the sender's fault", err)
	}
	for _, r := range res {
		if r.Prune || !r.Retry {
			t.Errorf("%+v", r)
		}
	}
}

// option.WithHTTPClient alone would send without a token; NewFCM
// authenticates the given client.
func TestOwnHTTPClient(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.HTTPClient = &http.Client{Timeout: 5 * time.Second} })
	res := send(t, b.fcm, t.Context(), msg("a"))
	if !res[0].Accepted || b.fake.TokenRequests() != 1 {
		t.Errorf("%+v, token requests %d", res[0], b.fake.TokenRequests())
	}
}

// google.golang.org/api switches to cloud.google.com/go/auth under this
// variable; the sender must not care.
func TestNewAuthLibrary(t *testing.T) {
	t.Setenv("GOOGLE_API_GO_EXPERIMENTAL_ENABLE_NEW_AUTH_LIB", "true")
	b := setup(t)
	res := send(t, b.fcm, t.Context(), msg("a"))
	if !res[0].Accepted || b.fake.TokenRequests() != 1 {
		t.Errorf("%+v, token requests %d", res[0], b.fake.TokenRequests())
	}
}

func TestNewFCMRefusesBadOptions(t *testing.T) {
	t.Parallel()
	if _, err := NewFCM(t.Context(), Options{}); err == nil {
		t.Error("no credentials accepted")
	}
	user := []byte(`{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`)
	if _, err := NewFCM(t.Context(), Options{CredentialsJSON: user, ProjectID: "p"}); err == nil {
		t.Error("a credential that is not a service account accepted")
	}
	noProject := fcmfake.Credentials("", "http://127.0.0.1:1/token")
	if _, err := NewFCM(t.Context(), Options{CredentialsJSON: noProject}); err == nil {
		t.Error("no project id accepted")
	}
}

func TestLogSender(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := LogSender{Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	token := "dGhpcy1pcy1hLWxvbmctZmNtLXJlZ2lzdHJhdGlvbi10b2tlbg"
	bad := msg("x")
	bad.Data = map[string]string{"google.x": "1"}
	m := msg(token)
	m.Data["dose_id"] = "dose-7f3a"
	res := send(t, s, t.Context(), m, bad)
	if !res[0].Accepted || res[0].Err != nil {
		t.Errorf("%+v", res[0])
	}
	if res[1].Accepted || !errors.Is(res[1].Err, ErrInvalidMessage) {
		t.Errorf("invalid message: %+v", res[1])
	}
	out := buf.String()
	for _, secret := range []string{"non somministrata", token, "dose-7f3a"} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds %q: %s", secret, out)
		}
	}
	for _, want := range []string{"Letto 12", token[:8], "dose_id", "kind"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q: %s", want, out)
		}
	}
}
