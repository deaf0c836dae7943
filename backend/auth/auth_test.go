package auth

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestThrottleBacksOffThenLocks(t *testing.T) {
	t.Parallel()
	th := AccountThrottle
	for _, c := range []struct {
		failures int
		want     time.Duration
		lockout  bool
	}{
		{1, 0, false}, {2, 0, false}, {3, 2 * time.Second, false}, {4, 4 * time.Second, false},
		{5, 15 * time.Minute, true}, {6, 30 * time.Minute, true}, {7, time.Hour, true}, {20, 24 * time.Hour, true},
	} {
		got, lockout := th.Lock(c.failures)
		if got != c.want || lockout != c.lockout {
			t.Errorf("Lock(%d) = %s, %v; want %s, %v", c.failures, got, lockout, c.want, c.lockout)
		}
	}
}

func TestHasherRoundTripAndRejectsTampering(t *testing.T) {
	t.Parallel()
	h := NewHasher(Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}, 2)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "4821")
	if err != nil || !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q, %v", enc, err)
	}
	if ok, err := h.Verify(ctx, "4821", enc); !ok || err != nil {
		t.Fatalf("right PIN: %v %v", ok, err)
	}
	if ok, _ := h.Verify(ctx, "4822", enc); ok {
		t.Fatal("wrong PIN verified")
	}
	if ok, _ := h.Verify(ctx, "4821", ""); ok {
		t.Fatal("an empty hash must never verify")
	}
	for _, bad := range []string{"$argon2i$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=999999999,t=1,p=1$c2FsdA$aGFzaA", "garbage"} {
		if ok, err := h.Verify(ctx, "4821", bad); ok || err == nil {
			t.Errorf("malformed hash %q: ok=%v err=%v", bad, ok, err)
		}
	}
}

func TestTokensAreRandomAndDigested(t *testing.T) {
	t.Parallel()
	a, da := NewToken("cat_")
	b, db := NewToken("cat_")
	if a == b || string(da) == string(db) || !strings.HasPrefix(a, "cat_") || len(a) < 40 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if string(Digest(a)) != string(da) {
		t.Fatal("digest mismatch")
	}
}

func TestPIN(t *testing.T) {
	t.Parallel()
	for pin, ok := range map[string]bool{"4821": true, "482193": true, "482": false, "4821934": false, "48a1": false, "": false} {
		if ValidPIN(pin) != ok {
			t.Errorf("ValidPIN(%q) = %v", pin, !ok)
		}
	}
}
