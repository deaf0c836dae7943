package backend

import (
	"bytes"
	"encoding/json"
)

// StoredResponse is the first answer given to an idempotency key: the
// operation it answered, a digest of the request and the answer's JSON.
// Every clinical write that takes an Idempotency-Key stores one in its own
// transaction and answers a retry from it.
type StoredResponse struct {
	Operation string
	Hash      []byte
	Body      []byte
}

// Replay decodes the stored answer into v when it answered the same
// operation with the same request; the same key with another request is
// idempotency.key_reused.
func (r *StoredResponse) Replay(op string, hash []byte, v any) error {
	if r.Operation != op || !bytes.Equal(r.Hash, hash) {
		return ErrIdempotencyKeyReused()
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return Internal(err, "replay of %s", op)
	}
	return nil
}
