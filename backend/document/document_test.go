package document

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
)

func TestVisibleTo(t *testing.T) {
	R := func(rs ...backend.Role) []backend.Role { return rs }
	for _, c := range []struct {
		roles, hidden []backend.Role
		want          bool
	}{
		{R(backend.RoleOSS), nil, true},
		{R(backend.RoleOSS), R(backend.RoleOSS), false},
		{R(backend.RoleTherapist), R(backend.RoleOSS), true},
		{R(backend.RoleWardLead, backend.RoleNurse), R(backend.RoleNurse), true},
		{R(backend.RoleWardLead, backend.RoleNurse), R(backend.RoleNurse, backend.RoleWardLead), false},
		{R(backend.RoleOSS, backend.RoleAdmin), R(backend.RoleOSS), false}, // admin reads no resident
		{R(backend.RoleAdmin), nil, false},
		{R(backend.RoleDirector, backend.RolePhysician), R(backend.RoleNurse, backend.RoleOSS, backend.RoleTherapist, backend.RoleWardLead), true},
	} {
		if got := VisibleTo(c.roles, c.hidden); got != c.want {
			t.Errorf("VisibleTo(%v, %v) = %v", c.roles, c.hidden, got)
		}
	}
	if _, err := CheckHiddenFrom([]string{"physician"}); err == nil {
		t.Error("physicians must not be hideable")
	}
	if _, err := CheckHiddenFrom([]string{"director"}); err == nil {
		t.Error("the director must not be hideable")
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]string{"%PDF-1.7": TypePDF, "\xff\xd8\xff\xe0": TypeJPEG, "\x89PNG\r\n\x1a\n": TypePNG,
		"<html>": "", "": "", "%PD": "", "GIF89a": ""} {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeyring(t *testing.T) {
	f, r, d := uuid.New(), uuid.New(), uuid.New()
	plain := []byte("%PDF-1.4 referto")
	sum := sha256.Sum256(plain)
	k := DevKeyring()
	sealed, v, err := k.Seal(f, r, d, plain)
	if err != nil || v != 1 {
		t.Fatal(err, v)
	}
	if bytes.Contains(sealed, plain) {
		t.Fatal("plaintext in ciphertext")
	}
	if got, err := k.Open(f, r, d, v, sealed, sum[:]); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %v", err)
	}
	// Bound to its row: another resident or document does not decrypt.
	if _, err := k.Open(f, uuid.New(), d, v, sealed, sum[:]); !backend.IsCode(err, CodeIntegrity) {
		t.Fatalf("other resident: %v", err)
	}
	if _, err := k.Open(f, r, uuid.New(), v, sealed, sum[:]); !backend.IsCode(err, CodeIntegrity) {
		t.Fatalf("other document: %v", err)
	}
	bad := bytes.Clone(sealed)
	bad[len(bad)-1] ^= 1
	if _, err := k.Open(f, r, d, v, bad, sum[:]); !backend.IsCode(err, CodeIntegrity) {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := k.Open(f, r, d, v, sealed, make([]byte, 32)); !backend.IsCode(err, CodeIntegrity) {
		t.Fatalf("wrong hash: %v", err)
	}

	// Rotation: version 2 is current, version 1 stays readable.
	k1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	old, err := ParseKeyring(k1)
	if err != nil {
		t.Fatal(err)
	}
	s1, v1, _ := old.Seal(f, r, d, plain)
	rotated, err := ParseKeyring("2:" + k2 + ",1:" + k1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rotated.Open(f, r, d, v1, s1, sum[:]); err != nil {
		t.Fatalf("old version after rotation: %v", err)
	}
	if _, v2, _ := rotated.Seal(f, r, d, plain); v2 != 2 {
		t.Fatalf("new documents under version %d", v2)
	}
	for _, bad := range []string{"short", "x:" + k1, "1:" + k1 + ",1:" + k2, strings.Repeat("A", 10)} {
		if _, err := ParseKeyring(bad); err == nil {
			t.Errorf("ParseKeyring(%q) accepted", bad)
		}
	}
	if k, err := ParseKeyring(""); k != nil || err != nil {
		t.Error("empty DOCUMENT_KEY must mean none")
	}
}
