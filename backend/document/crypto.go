package document

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
)

// Keyring holds the master keys documents are encrypted under, by version.
// New documents use the current version; older versions stay to read what
// they encrypted (rotation never re-encrypts in place). A master key never
// encrypts content itself: each document's data key is derived from it by
// HKDF-SHA256 over the facility and document ids, and the AES-256-GCM
// associated data binds the ciphertext to facility, resident and document,
// so bytes copied onto another row do not decrypt.
type Keyring struct {
	current int
	keys    map[int][]byte
	dev     bool
}

// devSeed derives the development key. It is public: documents encrypted
// under it are not protected.
const devSeed = "corsia development document key: NOT FOR REAL DATA"

// DevKeyring is the development keyring (version 1 derived from a public
// seed), for the demo and tests.
func DevKeyring() *Keyring {
	k := sha256.Sum256([]byte(devSeed))
	return &Keyring{current: 1, keys: map[int][]byte{1: k[:]}, dev: true}
}

// IsDevelopment reports whether this is the public development keyring.
func (k *Keyring) IsDevelopment() bool { return k.dev }

// ParseKeyring reads DOCUMENT_KEY: a base64 32-byte key (version 1), or a
// comma-separated list "version:base64key" whose first entry is the current
// key and the others older ones kept readable. "" returns nil.
func ParseKeyring(s string) (*Keyring, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	k := &Keyring{keys: map[int][]byte{}}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		v, b64 := 1, part
		if ver, rest, ok := strings.Cut(part, ":"); ok {
			n, err := strconv.Atoi(ver)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("DOCUMENT_KEY: entry %d: the version must be a positive integer", i+1)
			}
			v, b64 = n, rest
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("DOCUMENT_KEY: entry %d is not a base64 32-byte key", i+1)
		}
		if _, dup := k.keys[v]; dup {
			return nil, fmt.Errorf("DOCUMENT_KEY: version %d given twice", v)
		}
		k.keys[v] = key
		if i == 0 {
			k.current = v
		}
	}
	return k, nil
}

// OrDevelopment returns k, or the development keyring with a warning in the
// log when no key is configured.
func OrDevelopment(k *Keyring, log *slog.Logger) *Keyring {
	if k != nil {
		return k
	}
	if log != nil {
		log.Warn("documents: DOCUMENT_KEY is not set; using the PUBLIC development key — uploaded documents are NOT " +
			"protected at rest. Set DOCUMENT_KEY to a base64 32-byte key (e.g. `openssl rand -base64 32`) for real data")
	}
	return DevKeyring()
}

// aad is the associated data binding a ciphertext to its row.
func aad(facility, resident, doc uuid.UUID) []byte {
	return []byte("corsia.document.v1|" + facility.String() + "|" + resident.String() + "|" + doc.String())
}

func (k *Keyring) aead(version int, facility, doc uuid.UUID) (cipher.AEAD, error) {
	master, ok := k.keys[version]
	if !ok {
		return nil, fmt.Errorf("no document key of version %d", version)
	}
	dk, err := hkdf.Key(sha256.New, master, nil, "corsia.document.v1|"+facility.String()+"|"+doc.String(), 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(dk)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts a document's content under the current key. The result is
// the random nonce followed by the GCM ciphertext and tag.
func (k *Keyring) Seal(facility, resident, doc uuid.UUID, plain []byte) (sealed []byte, version int, err error) {
	g, err := k.aead(k.current, facility, doc)
	if err != nil {
		return nil, 0, backend.Internal(err, "document key")
	}
	nonce := make([]byte, g.NonceSize(), g.NonceSize()+len(plain)+g.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, 0, backend.Internal(err, "document nonce")
	}
	return g.Seal(nonce, nonce, plain, aad(facility, resident, doc)), k.current, nil
}

// Open decrypts what Seal produced and checks it against the stored
// SHA-256 of the content. Any failure — a missing key version, tampered or
// misplaced ciphertext, a hash that does not match — is a
// document.integrity error (422: nothing is sent; the service audits it as a
// failure so that the damage is seen).
func (k *Keyring) Open(facility, resident, doc uuid.UUID, version int, sealed, sum []byte) ([]byte, error) {
	fail := func(why string, err error) error {
		return &backend.Error{Kind: backend.KindUnprocessable, Code: CodeIntegrity,
			Detail: "the stored document failed its integrity check",
			Err:    fmt.Errorf("document %s: %s: %v", doc, why, err)}
	}
	g, err := k.aead(version, facility, doc)
	if err != nil {
		return nil, fail("key", err)
	}
	if len(sealed) < g.NonceSize()+g.Overhead() {
		return nil, fail("ciphertext", fmt.Errorf("too short"))
	}
	plain, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], aad(facility, resident, doc))
	if err != nil {
		return nil, fail("authentication", err)
	}
	if got := sha256.Sum256(plain); string(got[:]) != string(sum) {
		return nil, fail("hash", fmt.Errorf("content hash mismatch"))
	}
	return plain, nil
}
