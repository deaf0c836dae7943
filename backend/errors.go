// Package backend holds what every domain package shares: the error
// vocabulary with its stable machine codes, the acting user carried in a
// context, and the clock. It imports no database, HTTP or queue library.
package backend

import (
	"errors"
	"fmt"
)

// Kind says what sort of failure an error is; the API maps each kind to one
// HTTP status in one table. Kinds are few on purpose; Codes are many.
type Kind int

const (
	KindInternal      Kind = iota // a fault of ours: 500, logged with the request id
	KindInvalid                   // the request is malformed or breaks a rule: 400/422
	KindUnauthorized              // no valid credentials: 401
	KindForbidden                 // authenticated but not allowed, on something visible: 403
	KindNotFound                  // absent, or not visible to the caller: 404
	KindConflict                  // a concurrent change or a duplicate: 409
	KindUnprocessable             // well-formed but semantically refused: 422
	KindTooMany                   // throttled or locked out: 429
	KindUnavailable               // a dependency is down: 503
	KindUnsupported               // a body in a media type or encoding we refuse: 415
	KindTooLarge                  // a body over the size limit: 413
)

// Error is the one error type that crosses package boundaries with meaning.
// Code is a stable machine code (e.g. "resident.not_found") the apps act
// on; Detail is an optional safe English detail (never clinical data, never
// SQL); Fields names the offending input fields; Err is the cause, logged
// but never shown.
type Error struct {
	Kind   Kind
	Code   string
	Detail string
	Fields map[string]string
	Err    error
	// RetryAfter, in seconds, for KindTooMany.
	RetryAfter int
}

func (e *Error) Error() string {
	msg := e.Code
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an Error of kind with code and an optional safe detail.
func E(kind Kind, code string, detail ...string) *Error {
	e := &Error{Kind: kind, Code: code}
	if len(detail) > 0 {
		e.Detail = detail[0]
	}
	return e
}

// Invalid reports a bad field value with a machine code.
func Invalid(code, field, why string) *Error {
	return &Error{Kind: KindInvalid, Code: code, Detail: why, Fields: map[string]string{field: why}}
}

// Internal wraps an unexpected failure. The cause is logged, never shown.
func Internal(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: KindInternal, Code: "internal", Err: fmt.Errorf(format+": %w", append(args, err)...)}
}

// AsError returns the *Error in err's chain, or an internal error wrapping it.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Code: "internal", Err: err}
}

// IsCode reports whether err carries the machine code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// IsKind reports whether err is an Error of kind.
func IsKind(err error, kind Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}

// Codes shared by several domains.
const (
	CodeNotFound         = "not_found"
	CodeResidentNotFound = "resident.not_found"
	CodeWardNotFound     = "ward.not_found"
	CodeForbidden        = "forbidden"
	CodeVersionConflict  = "version_conflict"
	CodeInvalidInput     = "invalid_input"
)

// ErrResidentNotFound is what any unauthorised or absent resident read returns:
// the two must be indistinguishable to the caller.
func ErrResidentNotFound() error { return E(KindNotFound, CodeResidentNotFound) }

// ErrIdempotencyKeyReused answers a request whose Idempotency-Key was
// already used, by the same person, for a different request.
func ErrIdempotencyKeyReused() error {
	return E(KindUnprocessable, "idempotency.key_reused", "this Idempotency-Key was used for a different request")
}
