package mobileapi

import (
	"bytes"
	"encoding/json"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// decode reads a JSON object body strictly: unknown fields and trailing data
// are errors, so a typo in a field name is a 400, not a silently ignored value.
func decode(c *fiber.Ctx, dst any) error {
	if mediaType(c) != fiber.MIMEApplicationJSON {
		return &backend.Error{Kind: backend.KindUnsupported, Code: "request.unsupported_media_type", Detail: "send application/json"}
	}
	dec := json.NewDecoder(bytes.NewReader(body(c)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return &backend.Error{Kind: backend.KindInvalid, Code: "request.invalid_json", Detail: jsonProblem(err)}
	}
	if dec.More() {
		return &backend.Error{Kind: backend.KindInvalid, Code: "request.invalid_json", Detail: "trailing data after the JSON object"}
	}
	return nil
}

// mediaType is the request's media type without parameters, lower-cased.
func mediaType(c *fiber.Ctx) string {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil {
		return ""
	}
	return mt
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	switch e := err.(type) {
	case *json.UnmarshalTypeError:
		return "field " + e.Field + " has the wrong type"
	case *json.SyntaxError:
		return "malformed JSON at byte " + strconv.FormatInt(e.Offset, 10)
	}
	if strings.HasPrefix(err.Error(), "json: unknown field ") {
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "malformed JSON"
}

// pathID parses a UUID path parameter. A malformed id is answered like an
// absent one: 404 with the given code.
func pathID(c *fiber.Ctx, name, notFoundCode string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params(name))
	if err != nil {
		return uuid.Nil, backend.E(backend.KindNotFound, notFoundCode)
	}
	return id, nil
}

// queryID parses an optional UUID query parameter.
func queryID(c *fiber.Ctx, name string) (uuid.UUID, error) {
	v := c.Query(name)
	if v == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		return uuid.Nil, backend.Invalid("request.invalid_query", name, "not a UUID")
	}
	return id, nil
}

// queryTime parses an optional RFC 3339 time or YYYY-MM-DD date.
func queryTime(c *fiber.Ctx, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	bad := backend.Invalid("request.invalid_query", name, "an RFC 3339 time or a YYYY-MM-DD date, years 1900 to 2999")
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		if t, err = time.Parse("2006-01-02", v); err != nil {
			return time.Time{}, bad
		}
	}
	// A year far outside any clinical record cannot be answered (and once
	// shifted to UTC may not even be writable as JSON).
	if y := t.UTC().Year(); y < 1900 || y > 2999 {
		return time.Time{}, bad
	}
	return t, nil
}

// Date is a calendar date in JSON as "YYYY-MM-DD".
type Date struct{ time.Time }

// MarshalJSON writes YYYY-MM-DD.
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.Format("2006-01-02") + `"`), nil }

// UnmarshalJSON reads YYYY-MM-DD.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "date", Field: "date"}
	}
	d.Time = t
	return nil
}
