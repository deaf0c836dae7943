package therapy

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// JSON: ids and times that are unset are written as null rather than as
// zero values, so a client never mistakes "0001-01-01" for a date or the nil
// UUID for a reference.

func optUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func optDate(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.Format(time.DateOnly)
	return &s
}

// MarshalJSON writes unset references and times as null.
func (a Administration) MarshalJSON() ([]byte, error) {
	type plain Administration
	var qty any
	if !a.Quantity.IsZero() {
		qty = a.Quantity
	}
	return json.Marshal(struct {
		plain
		DoseID         *uuid.UUID `json:"dose_id"`
		DeviceID       *uuid.UUID `json:"device_id"`
		WitnessID      *uuid.UUID `json:"witness_id"`
		ProductID      *uuid.UUID `json:"product_id"`
		VerificationID *uuid.UUID `json:"verification_id"`
		Expiry         *string    `json:"expiry"`
		Quantity       any        `json:"quantity"`
	}{plain(a), optUUID(a.DoseID), optUUID(a.DeviceID), optUUID(a.WitnessID), optUUID(a.ProductID),
		optUUID(a.VerificationID), optDate(a.Expiry), qty})
}

// UnmarshalJSON reads what MarshalJSON wrote (stored idempotent answers).
func (a *Administration) UnmarshalJSON(b []byte) error {
	type plain Administration
	var x struct {
		plain
		Expiry *string `json:"expiry"`
	}
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*a = Administration(x.plain)
	if x.Expiry != nil {
		t, err := time.Parse(time.DateOnly, *x.Expiry)
		if err != nil {
			return err
		}
		a.Expiry = t
	}
	return nil
}

// MarshalJSON writes unset references and times as null.
func (p Prescription) MarshalJSON() ([]byte, error) {
	type plain Prescription
	return json.Marshal(struct {
		plain
		Supersedes     *uuid.UUID `json:"supersedes"`
		ProductID      *uuid.UUID `json:"product_id"`
		EndsAt         *time.Time `json:"ends_at"`
		SuspendedUntil *time.Time `json:"suspended_until"`
		Live           bool       `json:"live"`
	}{plain(p), optUUID(p.Supersedes), optUUID(p.ProductID), optTime(p.EndsAt), optTime(p.SuspendedUntil), p.Live()})
}

// MarshalJSON writes the act's fields and the line's own side by side
// (embedding alone would let Administration's MarshalJSON drop them).
func (l PRNLine) MarshalJSON() ([]byte, error) {
	act, err := json.Marshal(l.Administration)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(act, &m); err != nil {
		return nil, err
	}
	for k, v := range map[string]any{"state": l.State, "product": l.Product, "check_due_at": l.CheckDueAt} {
		if m[k], err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	return json.Marshal(m)
}
