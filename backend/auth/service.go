package auth

import (
	"context"
	"crypto/subtle"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/google/uuid"
)

// Account is what sign-in needs to know about a staff member.
type Account struct {
	StaffID      uuid.UUID
	FacilityID   uuid.UUID
	Username     string
	PasswordHash string
	PINHash      string
	Active       bool
}

// Device is an enrolled tablet or phone.
type Device struct {
	ID         uuid.UUID
	FacilityID uuid.UUID
	WardID     uuid.UUID
	SecretHash []byte
	Revoked    bool
}

// Session is one sign-in: a family of refresh tokens.
type Session struct {
	ID         uuid.UUID
	FacilityID uuid.UUID
	StaffID    uuid.UUID
	DeviceID   uuid.UUID
	Method     string // "password" or "badge"
	ExpiresAt  time.Time
	Revoked    bool
	// StaffActive and DeviceRevoked describe the session's staff member and
	// device as they are now.
	StaffActive   bool
	DeviceRevoked bool
	DeviceSecret  []byte
}

// IssuedToken is a token to store: its digest and expiry.
type IssuedToken struct {
	Digest    []byte
	ExpiresAt time.Time
}

// Principal is a resolved access token: the actor and what binds the token.
type Principal struct {
	Actor   backend.Actor
	Session Session
}

// Store persists sign-in state.
type Store interface {
	AccountByUsername(ctx context.Context, username string) (Account, error)
	AccountByBadge(ctx context.Context, facility uuid.UUID, badge string) (Account, error)
	Device(ctx context.Context, id uuid.UUID) (Device, error)
	// Reserve atomically counts an attempt on key (forgetting counts older
	// than window) and sets the lock computed by lock from the new count. A
	// key that is locked is not counted: Reserve returns 0 and the lock's end.
	Reserve(ctx context.Context, key string, window time.Duration, lock func(count int) time.Duration) (int, time.Time, error)
	ClearFailures(ctx context.Context, key string) error
	CreateSession(ctx context.Context, s Session, access, refresh IssuedToken, ev audit.Event) error
	// RotateRefresh spends the refresh token with digest old and stores the
	// new pair, after check approves the session. A token already spent
	// revokes its session and returns ErrRefreshReuse.
	RotateRefresh(ctx context.Context, old []byte, check func(Session) error, access, refresh IssuedToken) (Session, error)
	// RevokeSession ends a sign-in and writes ev in the same transaction.
	RevokeSession(ctx context.Context, id uuid.UUID, reason string, ev audit.Event) error
	// Principal resolves an unexpired access token with its session, staff
	// member (roles, wards) and device as they are now.
	Principal(ctx context.Context, accessDigest []byte) (Principal, error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Config holds the token lifetimes.
type Config struct {
	AccessTTL  time.Duration // e.g. 15 min
	SessionTTL time.Duration // absolute lifetime of a sign-in, e.g. 12 h (a shift)
}

// Service signs staff in and resolves their tokens.
type Service struct {
	Store  Store
	Hasher *Hasher
	Clock  backend.Clock
	Config Config
}

// Client describes where a sign-in or request comes from.
type Client struct {
	IP        netip.Addr
	RequestID string
	// DeviceCredential is the "device-id.secret" string an enrolled device
	// sends with every call, or "".
	DeviceCredential string
}

// Tokens is what a successful sign-in or refresh returns.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
	Actor        backend.Actor
}

// Error codes of sign-in. Bad credentials of every kind share one code, so
// a failure never tells whether the user, the badge or the secret was wrong.
const (
	CodeBadCredentials = "auth.invalid_credentials"
	CodeBadRequest     = "auth.invalid_request" // malformed sign-in input, before any check
	CodeLocked         = "auth.locked"
	CodeUnauthorized   = "auth.unauthorized"
	CodeDeviceRequired = "auth.device_required"
	CodeRefreshReuse   = "auth.refresh_reused"
	CodeWitnessInvalid = "witness.invalid"
)

// ErrRefreshReuse is returned when a spent refresh token is presented again.
var ErrRefreshReuse = backend.E(backend.KindUnauthorized, CodeRefreshReuse, "this sign-in was ended because a refresh token was used twice; sign in again")

func unauthorized() error { return backend.E(backend.KindUnauthorized, CodeUnauthorized) }

var pinShape = regexp.MustCompile(`^[0-9]{4,6}$`)

// ValidPIN reports whether pin is 4 to 6 digits.
func ValidPIN(pin string) bool { return pinShape.MatchString(pin) }

func (s *Service) event(c Client, facility, staff uuid.UUID, action string, outcome audit.Outcome, detail string) audit.Event {
	ev := audit.Event{FacilityID: facility, ActorID: staff, Action: action, ResourceType: "session",
		Outcome: outcome, Detail: detail, RequestID: c.RequestID}
	if c.IP.IsValid() {
		ev.IP = c.IP.String()
	}
	return ev
}

// device resolves and checks a device credential; "" yields a zero Device.
func (s *Service) device(ctx context.Context, cred string) (Device, error) {
	if cred == "" {
		return Device{}, nil
	}
	idPart, secret, ok := strings.Cut(cred, ".")
	id, err := uuid.Parse(idPart)
	if !ok || err != nil || secret == "" {
		return Device{}, unauthorized()
	}
	d, err := s.Store.Device(ctx, id)
	if backend.IsKind(err, backend.KindNotFound) {
		return Device{}, unauthorized()
	}
	if err != nil {
		return Device{}, err
	}
	if d.Revoked || subtle.ConstantTimeCompare(Digest(secret), d.SecretHash) != 1 {
		return Device{}, unauthorized()
	}
	return d, nil
}

// throttled is one throttle key of an attempt and the count it reserved.
type throttled struct {
	key      string
	throttle Throttle
	count    int
}

// reserve counts the attempt on every key before the secret is checked, and
// refuses it when a key is locked. Counting first (and clearing on success)
// means parallel guesses cannot all slip in before the first failure is
// recorded. Keys are taken in a fixed order so concurrent attempts never
// deadlock on them.
func (s *Service) reserve(ctx context.Context, keys []throttled) error {
	sort.Slice(keys, func(i, j int) bool { return keys[i].key < keys[j].key })
	for i := range keys {
		t := keys[i].throttle
		n, until, err := s.Store.Reserve(ctx, keys[i].key, t.Window, func(n int) time.Duration { d, _ := t.Lock(n); return d })
		if err != nil {
			return err
		}
		if n == 0 {
			e := backend.E(backend.KindTooMany, CodeLocked, "too many failed attempts; try again later")
			e.RetryAfter = int(time.Until(until).Seconds()) + 1
			return e
		}
		keys[i].count = n
	}
	return nil
}

// refused audits an attempt refused because a key is locked.
func (s *Service) refused(ctx context.Context, c Client, facility, staff, device uuid.UUID, err error) error {
	ev := s.event(c, facility, staff, "auth.login", audit.Denied, CodeLocked)
	ev.DeviceID = device
	if aerr := s.Store.AppendAudit(ctx, ev); aerr != nil {
		return aerr
	}
	return err
}

// fail audits a failed attempt, and the lockout when this failure starts one.
func (s *Service) fail(ctx context.Context, c Client, facility, staff, device uuid.UUID, keys []throttled) error {
	ev := s.event(c, facility, staff, "auth.login", audit.Failure, CodeBadCredentials)
	ev.DeviceID = device
	events := []audit.Event{ev}
	for _, k := range keys {
		if k.count == k.throttle.LockAfter {
			lock := s.event(c, facility, staff, "auth.lockout", audit.Denied, strings.SplitN(k.key, ":", 2)[0])
			lock.DeviceID = device
			events = append(events, lock)
		}
	}
	if err := s.Store.AppendAudit(ctx, events...); err != nil {
		return err
	}
	return backend.E(backend.KindUnauthorized, CodeBadCredentials)
}

// Login signs in with a user name and password, optionally from an enrolled
// device (then the tokens are bound to it).
func (s *Service) Login(ctx context.Context, c Client, username, password string) (Tokens, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if username == "" || len(username) > 64 || password == "" || len(password) > 256 {
		return Tokens{}, backend.Invalid(CodeBadRequest, "username", "username and password are required")
	}
	dev, err := s.device(ctx, c.DeviceCredential)
	if err != nil {
		return Tokens{}, err
	}
	acct, err := s.Store.AccountByUsername(ctx, username)
	known := err == nil
	if err != nil && !backend.IsKind(err, backend.KindNotFound) {
		return Tokens{}, err
	}
	// Password failures are counted apart from badge failures: guessing a
	// nurse's password from outside must not lock her out of the ward
	// tablet in the middle of a drug round.
	key := "user:" + username
	facility := audit.SystemFacility
	if known {
		key, facility = "staff:"+acct.StaffID.String()+":password", acct.FacilityID
	}
	keys := []throttled{{key: key, throttle: AccountThrottle}}
	if dev.ID != uuid.Nil {
		keys = append(keys, throttled{key: "device:" + dev.ID.String(), throttle: DeviceThrottle})
	}
	if err := s.reserve(ctx, keys); err != nil {
		return Tokens{}, s.refused(ctx, c, facility, acct.StaffID, dev.ID, err)
	}
	ok, err := s.Hasher.Verify(ctx, password, acct.PasswordHash)
	if err != nil {
		return Tokens{}, backend.Internal(err, "verify password")
	}
	if !ok || !acct.Active || (dev.ID != uuid.Nil && dev.FacilityID != acct.FacilityID) {
		return Tokens{}, s.fail(ctx, c, facility, acct.StaffID, dev.ID, keys)
	}
	return s.start(ctx, c, acct, dev, "password", keys)
}

// Badge signs in with a badge and PIN on an enrolled device: the way a nurse
// takes over a shared ward tablet in seconds. The device's other sessions end:
// the previous nurse's sign-in does not linger on a shared tablet.
func (s *Service) Badge(ctx context.Context, c Client, badge, pin string) (Tokens, error) {
	if c.DeviceCredential == "" {
		return Tokens{}, backend.E(backend.KindUnauthorized, CodeDeviceRequired, "badge sign-in works only on an enrolled device")
	}
	dev, err := s.device(ctx, c.DeviceCredential)
	if err != nil {
		return Tokens{}, err
	}
	code, err := codes.ParseIdent(badge, codes.BadgePrefix)
	if err != nil {
		return Tokens{}, err
	}
	if !ValidPIN(pin) {
		return Tokens{}, backend.Invalid(CodeBadRequest, "pin", "the PIN is 4 to 6 digits")
	}
	keys := []throttled{{key: "device:" + dev.ID.String(), throttle: DeviceThrottle}}
	acct, err := s.Store.AccountByBadge(ctx, dev.FacilityID, code)
	if err != nil && !backend.IsKind(err, backend.KindNotFound) {
		return Tokens{}, err
	}
	if acct.StaffID != uuid.Nil {
		keys = append(keys, throttled{key: "staff:" + acct.StaffID.String() + ":badge", throttle: AccountThrottle})
	} else {
		keys = append(keys, throttled{key: "badge:" + dev.FacilityID.String() + ":" + code, throttle: AccountThrottle})
	}
	if err := s.reserve(ctx, keys); err != nil {
		return Tokens{}, s.refused(ctx, c, dev.FacilityID, acct.StaffID, dev.ID, err)
	}
	ok, err := s.Hasher.Verify(ctx, pin, acct.PINHash)
	if err != nil {
		return Tokens{}, backend.Internal(err, "verify pin")
	}
	if !ok || !acct.Active {
		return Tokens{}, s.fail(ctx, c, dev.FacilityID, acct.StaffID, dev.ID, keys)
	}
	return s.start(ctx, c, acct, dev, "badge", keys)
}

// start opens a session after a successful sign-in.
func (s *Service) start(ctx context.Context, c Client, acct Account, dev Device, method string, keys []throttled) (Tokens, error) {
	for _, k := range keys {
		if err := s.Store.ClearFailures(ctx, k.key); err != nil {
			return Tokens{}, err
		}
	}
	now := s.Clock.Now()
	sess := Session{ID: uuid.New(), FacilityID: acct.FacilityID, StaffID: acct.StaffID, DeviceID: dev.ID,
		Method: method, ExpiresAt: now.Add(s.Config.SessionTTL)}
	at, atDigest := NewToken("cat_")
	rt, rtDigest := NewToken("crt_")
	ev := s.event(c, acct.FacilityID, acct.StaffID, "auth.login", audit.Success, method)
	ev.DeviceID, ev.ResourceID = dev.ID, sess.ID.String()
	err := s.Store.CreateSession(ctx, sess,
		IssuedToken{Digest: atDigest, ExpiresAt: now.Add(s.Config.AccessTTL)},
		IssuedToken{Digest: rtDigest, ExpiresAt: sess.ExpiresAt}, ev)
	if err != nil {
		return Tokens{}, err
	}
	p, err := s.Store.Principal(ctx, atDigest)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: at, RefreshToken: rt, ExpiresIn: s.Config.AccessTTL, Actor: p.Actor}, nil
}

// checkSession approves a session for use: not revoked or expired, staff
// member still active, device (if bound) not revoked and presenting its
// credential.
func (s *Service) checkSession(sess Session, deviceCredential string) error {
	if sess.Revoked || !sess.StaffActive || !s.Clock.Now().Before(sess.ExpiresAt) {
		return unauthorized()
	}
	if sess.DeviceID != uuid.Nil {
		if sess.DeviceRevoked || deviceCredential == "" {
			return unauthorized()
		}
		idPart, secret, _ := strings.Cut(deviceCredential, ".")
		if idPart != sess.DeviceID.String() || subtle.ConstantTimeCompare(Digest(secret), sess.DeviceSecret) != 1 {
			return unauthorized()
		}
	}
	return nil
}

// Refresh spends a refresh token for a new pair. Presenting a spent token
// again means it was stolen or replayed: the whole sign-in is revoked.
func (s *Service) Refresh(ctx context.Context, c Client, refreshToken string) (Tokens, error) {
	if !strings.HasPrefix(refreshToken, "crt_") || len(refreshToken) > 100 {
		return Tokens{}, unauthorized()
	}
	now := s.Clock.Now()
	at, atDigest := NewToken("cat_")
	rt, rtDigest := NewToken("crt_")
	var checkErr error
	sess, err := s.Store.RotateRefresh(ctx, Digest(refreshToken), func(sess Session) error {
		checkErr = s.checkSession(sess, c.DeviceCredential)
		return checkErr
	}, IssuedToken{Digest: atDigest, ExpiresAt: now.Add(s.Config.AccessTTL)}, IssuedToken{Digest: rtDigest})
	switch {
	case err == ErrRefreshReuse:
		ev := s.event(c, sess.FacilityID, sess.StaffID, "auth.refresh_reuse", audit.Denied, CodeRefreshReuse)
		ev.DeviceID, ev.ResourceID = sess.DeviceID, sess.ID.String()
		if aerr := s.Store.AppendAudit(ctx, ev); aerr != nil {
			return Tokens{}, aerr
		}
		return Tokens{}, err
	case backend.IsKind(err, backend.KindNotFound):
		return Tokens{}, unauthorized()
	case err != nil:
		return Tokens{}, err
	}
	p, err := s.Store.Principal(ctx, atDigest)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: at, RefreshToken: rt, ExpiresIn: s.Config.AccessTTL, Actor: p.Actor}, nil
}

// Logout ends the actor's sign-in: every token of the family stops working.
func (s *Service) Logout(ctx context.Context, a *backend.Actor) error {
	ev := audit.By(a, "auth.logout", "session", a.SessionID.String(), uuid.Nil, audit.Success)
	return s.Store.RevokeSession(ctx, a.SessionID, "logout", ev)
}

// Authenticate resolves an access token into the acting staff member, as she
// is now: a revoked session, a disabled account or a revoked device fail here
// on the very next request.
func (s *Service) Authenticate(ctx context.Context, c Client, accessToken string) (*backend.Actor, error) {
	if !strings.HasPrefix(accessToken, "cat_") || len(accessToken) > 100 {
		return nil, unauthorized()
	}
	p, err := s.Store.Principal(ctx, Digest(accessToken))
	if backend.IsKind(err, backend.KindNotFound) {
		return nil, unauthorized()
	}
	if err != nil {
		return nil, err
	}
	if err := s.checkSession(p.Session, c.DeviceCredential); err != nil {
		return nil, err
	}
	a := p.Actor
	a.IP, a.RequestID = c.IP, c.RequestID
	return &a, nil
}

// Witness checks the badge and PIN of a second clinician standing at the
// acting nurse's side, for the independent double check of a high-alert
// drug. It opens no session and returns the witness's staff id. Attempts are
// counted against the same throttles as a badge sign-in, so a tablet cannot
// be used to guess PINs through the witness path.
func (s *Service) Witness(ctx context.Context, a *backend.Actor, badge, pin string) (uuid.UUID, error) {
	invalid := backend.E(backend.KindUnprocessable, CodeWitnessInvalid, "the witness's badge or PIN was not accepted")
	code, err := codes.ParseIdent(badge, codes.BadgePrefix)
	if err != nil || !ValidPIN(pin) {
		return uuid.Nil, invalid
	}
	acct, err := s.Store.AccountByBadge(ctx, a.FacilityID, code)
	if err != nil && !backend.IsKind(err, backend.KindNotFound) {
		return uuid.Nil, err
	}
	var keys []throttled
	if acct.StaffID != uuid.Nil {
		keys = append(keys, throttled{key: "staff:" + acct.StaffID.String() + ":badge", throttle: AccountThrottle})
	} else {
		keys = append(keys, throttled{key: "badge:" + a.FacilityID.String() + ":" + code, throttle: AccountThrottle})
	}
	if a.DeviceID != uuid.Nil {
		keys = append(keys, throttled{key: "device:" + a.DeviceID.String(), throttle: DeviceThrottle})
	}
	c := Client{IP: a.IP, RequestID: a.RequestID}
	if err := s.reserve(ctx, keys); err != nil {
		return uuid.Nil, s.refused(ctx, c, a.FacilityID, acct.StaffID, a.DeviceID, err)
	}
	ok, err := s.Hasher.Verify(ctx, pin, acct.PINHash)
	if err != nil {
		return uuid.Nil, backend.Internal(err, "verify witness pin")
	}
	if !ok || !acct.Active || acct.StaffID == a.StaffID {
		_ = s.fail(ctx, c, a.FacilityID, acct.StaffID, a.DeviceID, keys)
		return uuid.Nil, invalid
	}
	for _, k := range keys {
		if err := s.Store.ClearFailures(ctx, k.key); err != nil {
			return uuid.Nil, err
		}
	}
	return acct.StaffID, nil
}
