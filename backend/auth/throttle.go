package auth

import "time"

// Throttle says how repeated failures on one key (an account, a device)
// slow down and then lock further attempts.
type Throttle struct {
	// BackoffAfter failures, each further attempt must wait 2^(n-BackoffAfter) s.
	BackoffAfter int
	// LockAfter failures, the key is locked for LockFor, doubling with each
	// further failure up to MaxLock.
	LockAfter int
	LockFor   time.Duration
	MaxLock   time.Duration
	// Window: failures older than this are forgotten.
	Window time.Duration
}

// AccountThrottle applies to one account (or one unknown user name).
var AccountThrottle = Throttle{BackoffAfter: 2, LockAfter: 5, LockFor: 15 * time.Minute, MaxLock: 24 * time.Hour, Window: 24 * time.Hour}

// DeviceThrottle applies to one enrolled device, whoever signs in on it: a
// stolen tablet cannot be used to guess PINs across the ward's badges.
var DeviceThrottle = Throttle{BackoffAfter: 5, LockAfter: 20, LockFor: 15 * time.Minute, MaxLock: 24 * time.Hour, Window: time.Hour}

// LockFor returns how long the key is locked after its failures-th failure,
// and whether that is a lockout (rather than a short backoff).
func (t Throttle) Lock(failures int) (time.Duration, bool) {
	switch {
	case failures >= t.LockAfter:
		d := t.LockFor
		for i := t.LockAfter; i < failures && d < t.MaxLock; i++ {
			d *= 2
		}
		return min(d, t.MaxLock), true
	case failures > t.BackoffAfter:
		return time.Duration(1<<(failures-t.BackoffAfter)) * time.Second, false
	}
	return 0, false
}
