// Package fcmfake is a local stand-in for Firebase Cloud Messaging, for tests
// in any package. There is no FCM emulator, and mocking the Go SDK would test
// our guesses about it; this fake instead speaks the HTTP the real SDK speaks,
// so a test goes through the SDK's whole send path: the service-account JWT
// exchanged for an access token at the credentials' token_uri, then
// POST /v1/projects/{project}/messages:send with that bearer token, and the
// SDK's own error parsing and retries on the answers.
//
// Point the sender at it with Endpoint: s.Endpoint() (= s.URL + "/v1") and
// CredentialsJSON: s.Credentials(). Knobs make FCM misbehave the ways it does
// in production: dead tokens, quota, server errors, slowness.
package fcmfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultProject is the project New serves.
const DefaultProject = "corsia-test"

// Scopes the fake accepts in the JWT: FCM's own, or the catch-all.
var acceptedScopes = []string{
	"https://www.googleapis.com/auth/firebase.messaging",
	"https://www.googleapis.com/auth/cloud-platform",
}

// Sent is one message the fake accepted, as the SDK put it on the wire.
type Sent struct {
	Project     string
	MessageID   string // the name answered: projects/{project}/messages/{n}
	Token       string
	Title, Body string // notification.title / notification.body
	Data        map[string]string
	CollapseKey string            // android.collapse_key
	Priority    string            // android.priority, as sent ("high", "normal" or "")
	TTL         string            // android.ttl, as sent ("3600s")
	Tag         string            // android.notification.tag
	Visibility  string            // android.notification.visibility
	APNSHeaders map[string]string // apns.headers (apns-collapse-id, apns-priority, apns-expiration)
	Raw         json.RawMessage   // the whole message object
}

// Server is a fake FCM backend and OAuth2 token endpoint on 127.0.0.1.
type Server struct {
	*httptest.Server
	ProjectID string

	mu            sync.Mutex
	accessTokens  map[string]time.Time // issued bearer tokens → expiry
	tokenRequests int
	requests      int // send requests, answered or not
	sent          []Sent
	counts        map[string]int
	seq           int
	unregistered  map[string]bool
	invalid       map[string]bool
	mismatched    map[string]bool
	failures      []failure
	delay         time.Duration
}

type failure struct {
	status     int
	retryAfter time.Duration
}

// New starts a fake serving DefaultProject; it stops when tb ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{ProjectID: DefaultProject, accessTokens: map[string]time.Time{}}
	s.reset()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", s.send)
	s.Server = httptest.NewServer(mux)
	tb.Cleanup(s.Close)
	return s
}

// Endpoint is what the sender's Endpoint option takes.
func (s *Server) Endpoint() string { return s.URL + "/v1" }

// TokenURL is the OAuth2 token endpoint, for a service account's token_uri.
func (s *Server) TokenURL() string { return s.URL + "/token" }

// Credentials returns a new service account of s.ProjectID whose token_uri is
// this fake.
func (s *Server) Credentials() []byte { return Credentials(s.ProjectID, s.TokenURL()) }

// Unregister makes FCM answer 404 UNREGISTERED for token from now on, as it
// does once the app was uninstalled or the token expired.
func (s *Server) Unregister(token string) { s.mark(s.unregistered, token) }

// Invalid makes FCM answer 400 INVALID_ARGUMENT for token (a malformed
// registration token: FCM cannot tell it from a bad payload by code alone).
func (s *Server) Invalid(token string) { s.mark(s.invalid, token) }

// MismatchSender makes FCM answer 403 SENDER_ID_MISMATCH for token (it
// belongs to another Firebase project).
func (s *Server) MismatchSender(token string) { s.mark(s.mismatched, token) }

func (s *Server) mark(set map[string]bool, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set[token] = true
}

// FailNext makes the next n send requests fail with status, with the body FCM
// gives: 429 QUOTA_EXCEEDED, 500 INTERNAL, 503 UNAVAILABLE (also 400, 401,
// 403, 404 with their usual codes). The SDK itself retries 503 (up to five
// attempts, 0+1+2+4 s apart), so one 503 costs no time but five cost 7 s.
func (s *Server) FailNext(n int, status int) { s.FailNextRetryAfter(n, status, 0) }

// FailNextRetryAfter is FailNext with a Retry-After header (whole seconds).
func (s *Server) FailNextRetryAfter(n int, status int, after time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status, after})
	}
}

// Delay makes every send request wait d before answering (or until the
// client gives up).
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Messages returns the accepted messages in the order they were accepted.
func (s *Server) Messages() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// Count is how many messages to token were accepted.
func (s *Server) Count(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[token]
}

// Requests is how many send requests arrived, answered with success or not
// (the SDK's internal retries show here).
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// TokenRequests is how many access tokens were asked for.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// Reset forgets the messages, counters and knobs. Access tokens already
// issued stay valid: the SDK caches its token for an hour.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
}

func (s *Server) reset() {
	s.tokenRequests, s.requests, s.seq = 0, 0, 0
	s.sent = nil
	s.counts = map[string]int{}
	s.unregistered = map[string]bool{}
	s.invalid = map[string]bool{}
	s.mismatched = map[string]bool{}
	s.failures = nil
	s.delay = 0
}

// The keys Credentials made, so that the token endpoint can check a JWT's
// signature the way Google does: against the service account's public key,
// found by the key id in the JWT header.
var keys sync.Map // private_key_id → serviceAccount

type serviceAccount struct {
	email string
	pub   *rsa.PublicKey
}

// Credentials returns a service-account JSON for projectID with a freshly
// generated RSA key, whose token_uri is tokenURI. The key is known to every
// fake in this process.
func Credentials(projectID, tokenURI string) []byte {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err) // only when the system's randomness fails
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	kid := randomHex(20)
	email := "corsia-push@" + projectID + ".iam.gserviceaccount.com"
	keys.Store(kid, serviceAccount{email: email, pub: &key.PublicKey})
	b, err := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  projectID,
		"private_key_id":              kid,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                email,
		"client_id":                   "100000000000000000001",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   tokenURI,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// token is the OAuth2 token endpoint for the JWT-bearer grant (RFC 7523)
// that a service account uses.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", err.Error())
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthError(w, "unsupported_grant_type", "grant_type "+gt)
		return
	}
	if err := s.checkAssertion(r.PostForm.Get("assertion")); err != nil {
		oauthError(w, "invalid_grant", err.Error())
		return
	}
	tok := "ya29.fake-" + randomHex(16)
	s.mu.Lock()
	s.accessTokens[tok] = time.Now().Add(time.Hour)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": 3600, "token_type": "Bearer"})
}

func (s *Server) checkAssertion(jwt string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return fmt.Errorf("assertion is not a JWT")
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var claims struct {
		Iss   string `json:"iss"`
		Aud   string `json:"aud"`
		Scope string `json:"scope"`
		Iat   int64  `json:"iat"`
		Exp   int64  `json:"exp"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return fmt.Errorf("JWT header: %w", err)
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Errorf("JWT claims: %w", err)
	}
	if header.Alg != "RS256" {
		return fmt.Errorf("alg %q, want RS256", header.Alg)
	}
	v, ok := keys.Load(header.Kid)
	if !ok {
		return fmt.Errorf("unknown key id %q", header.Kid)
	}
	sa := v.(serviceAccount)
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("JWT signature: %w", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(sa.pub, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("invalid JWT signature")
	}
	now := time.Now().Unix()
	switch {
	case claims.Iss != sa.email:
		return fmt.Errorf("iss %q is not the key's account", claims.Iss)
	case claims.Aud != s.TokenURL():
		return fmt.Errorf("aud %q, want %q", claims.Aud, s.TokenURL())
	case claims.Exp < now || claims.Iat > now+60 || claims.Exp-claims.Iat > 3600:
		return fmt.Errorf("JWT not valid now (iat %d, exp %d)", claims.Iat, claims.Exp)
	}
	for _, sc := range strings.Fields(claims.Scope) {
		for _, ok := range acceptedScopes {
			if sc == ok {
				return nil
			}
		}
	}
	return fmt.Errorf("scope %q does not allow FCM", claims.Scope)
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// wireMessage is the part of the FCM v1 message the fake checks and records.
type wireMessage struct {
	Token        string            `json:"token"`
	Topic        string            `json:"topic"`
	Condition    string            `json:"condition"`
	Data         map[string]string `json:"data"` // FCM refuses non-string values: so does decoding
	Notification *struct {
		Title string `json:"title"`
		Body  string `json:"body"`
	} `json:"notification"`
	Android *struct {
		CollapseKey  string `json:"collapse_key"`
		Priority     string `json:"priority"`
		TTL          string `json:"ttl"`
		Notification *struct {
			Tag        string `json:"tag"`
			Visibility string `json:"visibility"`
		} `json:"notification"`
	} `json:"android"`
	APNS *struct {
		Headers map[string]string `json:"headers"`
	} `json:"apns"`
}

var ttlPattern = regexp.MustCompile(`^\d+(\.\d{1,9})?s$`)

// send is POST /v1/projects/{project}/messages:send.
func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()

	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, known := s.accessTokens[bearer]
	s.mu.Unlock()
	if !ok || !known || time.Now().After(exp) {
		// Google's answer to a missing or expired token: no FCM detail.
		googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "", "Request had invalid authentication credentials.")
		return
	}

	var req struct {
		ValidateOnly bool            `json:"validate_only"`
		Message      json.RawMessage `json:"message"`
	}
	var m wireMessage
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Content-Type must be application/json")
		return
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	if err := json.Unmarshal(req.Message, &m); err != nil {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	if msg := validate(&m); msg != "" {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", msg)
		return
	}
	project := r.PathValue("project")
	if project != s.ProjectID {
		// The service account has no right on another project: plain
		// PERMISSION_DENIED, no FCM error code. It must not prune anything.
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "", "Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/"+project+"'")
		return
	}

	s.mu.Lock()
	delay := s.delay
	var fail *failure
	if len(s.failures) > 0 {
		fail = &s.failures[0]
		s.failures = s.failures[1:]
	}
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if fail != nil {
		if fail.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(fail.retryAfter/time.Second)))
		}
		failWith(w, fail.status)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.unregistered[m.Token]:
		googleError(w, http.StatusNotFound, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.")
		return
	case s.mismatched[m.Token]:
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch")
		return
	case s.invalid[m.Token]:
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token")
		return
	}
	s.seq++
	name := fmt.Sprintf("projects/%s/messages/%d", project, s.seq)
	if !req.ValidateOnly {
		s.sent = append(s.sent, record(project, name, &m, req.Message))
		s.counts[m.Token]++
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": name})
}

// validate applies the rules of FCM that a sender can break; it returns
// FCM's complaint, or "".
func validate(m *wireMessage) string {
	targets := 0
	for _, t := range []string{m.Token, m.Topic, m.Condition} {
		if t != "" {
			targets++
		}
	}
	if targets != 1 {
		return "Exactly one of token, topic or condition must be set"
	}
	if m.Token == "" {
		return "The fake only sends to tokens"
	}
	size := 0
	for k, v := range m.Data {
		lk := strings.ToLower(k)
		if k == "from" || k == "notification" || k == "message_type" || strings.HasPrefix(lk, "google") || strings.HasPrefix(lk, "gcm") {
			return fmt.Sprintf("Invalid data payload key: %s", k)
		}
		size += len(k) + len(v)
	}
	if m.Notification != nil {
		size += len(m.Notification.Title) + len(m.Notification.Body)
	}
	if size > 4096 {
		return "Message is too big"
	}
	if a := m.Android; a != nil {
		if p := strings.ToLower(a.Priority); p != "" && p != "normal" && p != "high" {
			return "Invalid value at 'message.android.priority'"
		}
		if a.TTL != "" && !ttlPattern.MatchString(a.TTL) {
			return "Invalid value at 'message.android.ttl'"
		}
		if n := a.Notification; n != nil && n.Visibility != "" && n.Visibility != "PRIVATE" && n.Visibility != "PUBLIC" && n.Visibility != "SECRET" {
			return "Invalid value at 'message.android.notification.visibility'"
		}
	}
	if a := m.APNS; a != nil {
		if len(a.Headers["apns-collapse-id"]) > 64 {
			return "apns-collapse-id is longer than 64 bytes"
		}
		if p := a.Headers["apns-priority"]; p != "" && p != "5" && p != "10" && p != "1" {
			return "Invalid apns-priority"
		}
		if e := a.Headers["apns-expiration"]; e != "" {
			if _, err := strconv.ParseInt(e, 10, 64); err != nil {
				return "Invalid apns-expiration"
			}
		}
	}
	return ""
}

func record(project, name string, m *wireMessage, raw json.RawMessage) Sent {
	out := Sent{Project: project, MessageID: name, Token: m.Token, Data: maps.Clone(m.Data), Raw: append(json.RawMessage(nil), raw...)}
	if n := m.Notification; n != nil {
		out.Title, out.Body = n.Title, n.Body
	}
	if a := m.Android; a != nil {
		out.CollapseKey, out.Priority, out.TTL = a.CollapseKey, a.Priority, a.TTL
		if n := a.Notification; n != nil {
			out.Tag, out.Visibility = n.Tag, n.Visibility
		}
	}
	if a := m.APNS; a != nil {
		out.APNSHeaders = maps.Clone(a.Headers)
	}
	return out
}

func failWith(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusBadRequest:
		googleError(w, status, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Request contains an invalid argument.")
	case http.StatusUnauthorized:
		googleError(w, status, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", "Auth error from APNS or Web Push Service")
	case http.StatusForbidden:
		googleError(w, status, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch")
	case http.StatusNotFound:
		googleError(w, status, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.")
	case http.StatusTooManyRequests:
		googleError(w, status, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for quota metric 'Send requests'.")
	case http.StatusInternalServerError:
		googleError(w, status, "INTERNAL", "INTERNAL", "Internal error encountered.")
	case http.StatusServiceUnavailable:
		googleError(w, status, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable.")
	default:
		googleError(w, status, "UNKNOWN", "", http.StatusText(status))
	}
}

// googleError writes a Google API error; with fcmCode it carries the FcmError
// detail that the SDK's messaging.Is… functions read.
func googleError(w http.ResponseWriter, code int, status, fcmCode, message string) {
	body := map[string]any{"code": code, "message": message, "status": status}
	if fcmCode != "" {
		body["details"] = []map[string]string{{
			"@type":     "type.googleapis.com/google.firebase.fcm.v1.FcmError",
			"errorCode": fcmCode,
		}}
	}
	writeJSON(w, code, map[string]any{"error": body})
}

func oauthError(w http.ResponseWriter, code, description string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
