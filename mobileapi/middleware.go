package mobileapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/auth"
	"github.com/gofiber/fiber/v2"
)

const (
	requestIDLocal = "request_id"
	actorLocal     = "actor"
	// HeaderDeviceCredential carries an enrolled device's credential.
	HeaderDeviceCredential = "X-Device-Credential"
	headerRequestID        = "X-Request-Id"
)

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestIDLocal).(string)
	return id
}

func routePath(c *fiber.Ctx) string {
	if r := c.Route(); r != nil && r.Path != "" {
		return r.Path
	}
	return "unmatched"
}

// withRequestID gives every request an id: the client's X-Request-Id when
// it is short and plain, a fresh one otherwise. It is echoed back, logged,
// and written into audit events.
func withRequestID(c *fiber.Ctx) error {
	id := c.Get(headerRequestID)
	if len(id) == 0 || len(id) > 64 || strings.IndexFunc(id, func(r rune) bool {
		return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) >= 0 {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Locals(requestIDLocal, id)
	c.Set(headerRequestID, id)
	return c.Next()
}

// recoverPanics turns a panic into a logged 500; without it a panic in a
// handler would kill the process and every ward's tablets with it.
func (s *Server) recoverPanics(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic", slog.String("request_id", requestID(c)), slog.String("route", routePath(c)),
				slog.String("panic", fmt.Sprint(r)), slog.String("stack", string(debug.Stack())))
			err = backend.Internal(fmt.Errorf("panic: %v", r), "handler")
		}
	}()
	return c.Next()
}

// withDeadline gives the request a context with a timeout, carried to pgx
// and Redis. Fiber's own context is pooled and must never leave the handler.
func (s *Server) withDeadline(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// accessLog writes one structured line per request: no bodies, no query
// strings, no resident data — the route template, not the path.
func (s *Server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		// Let the error handler write the response so the status is right.
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	d := time.Since(start)
	st := c.Response().StatusCode()
	route := routePath(c)
	s.metrics.observe(c.Method(), route, st, d)
	attrs := []slog.Attr{slog.String("request_id", requestID(c)), slog.String("method", c.Method()),
		slog.String("route", route), slog.Int("status", st), slog.Float64("duration_ms", float64(d.Microseconds())/1000)}
	if a := actor(c); a != nil {
		attrs = append(attrs, slog.String("staff_id", a.StaffID.String()))
	}
	s.log.LogAttrs(c.UserContext(), slog.LevelInfo, "request", attrs...)
	return nil
}

// securityHeaders are set on every answer. The API serves JSON only.
func securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	c.Set("Cache-Control", "no-store")
	c.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	c.Set("Cross-Origin-Resource-Policy", "same-origin")
	return c.Next()
}

// refuseEncodedBodies answers 415 to a compressed request body: Fiber would
// inflate it with no limit, so a small gzip bomb could take gigabytes.
// Every Content-Encoding header is checked (Fiber decodes by the last one),
// and handlers read the raw body (body()), never Fiber's decoding c.Body().
func refuseEncodedBodies(c *fiber.Ctx) error {
	for _, enc := range c.Request().Header.PeekAll(fiber.HeaderContentEncoding) {
		for _, part := range strings.Split(string(enc), ",") {
			if p := strings.TrimSpace(part); p != "" && !strings.EqualFold(p, "identity") {
				return &backend.Error{Kind: backend.KindUnsupported, Code: "request.encoding_not_allowed",
					Detail: "send the body uncompressed"}
			}
		}
	}
	return c.Next()
}

// body is the request body exactly as received (read by readBody): no
// transparent decompression.
func body(c *fiber.Ctx) []byte { return c.Request().Body() }

// scanPath is the one route that takes large bodies (camera photos).
const scanPath = "/v1/scan/decode"

// readBody reads the streamed body up to the route's limit: 413 before
// reading when Content-Length already says too much, 413 as soon as a
// chunked body passes the limit.
func (s *Server) readBody(c *fiber.Ctx) error {
	limit := s.cfg.BodyLimit
	limit = documentLimit(c, limit)
	if c.Path() == scanPath {
		limit = s.cfg.ScanBodyLimit
		// Admit the upload before reading its megabytes: a burst of photos
		// waits here instead of filling memory and both cores, and the
		// bedside calls keep their share.
		wait := time.NewTimer(5 * time.Second)
		defer wait.Stop()
		select {
		case s.scanSlots <- struct{}{}:
			defer func() { <-s.scanSlots }()
		case <-wait.C:
			c.Context().SetConnectionClose()
			return &backend.Error{Kind: backend.KindUnavailable, Code: "scan.busy", RetryAfter: 2}
		}
	}
	tooLarge := &backend.Error{Kind: backend.KindTooLarge, Code: "request.too_large",
		Detail: fmt.Sprintf("at most %d bytes", limit)}
	if n := c.Request().Header.ContentLength(); n > limit {
		// The unread body must not be taken for the next request.
		c.Context().SetConnectionClose()
		return tooLarge
	}
	if stream := c.Request().BodyStream(); stream != nil {
		data, err := io.ReadAll(io.LimitReader(stream, int64(limit)+1))
		_ = c.Request().CloseBodyStream()
		if err != nil {
			return &backend.Error{Kind: backend.KindInvalid, Code: "request.invalid", Detail: "the body could not be read"}
		}
		if len(data) > limit {
			c.Context().SetConnectionClose()
			return tooLarge
		}
		c.Request().SetBodyRaw(data)
	}
	return c.Next()
}

const clientIPLocal = "client_ip"

// clientAddr is the client's address: the peer's, or — when the peer is a
// trusted proxy — the rightmost X-Forwarded-For hop that is not itself a
// trusted proxy. Hops to the left of it are the client's own claims.
func (s *Server) clientAddr(c *fiber.Ctx) netip.Addr {
	if a, ok := c.Locals(clientIPLocal).(netip.Addr); ok {
		return a
	}
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	addr := peer.Unmap()
	if s.trusted(addr) {
		hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			addr = h.Unmap()
			if !s.trusted(addr) {
				break
			}
		}
	}
	c.Locals(clientIPLocal, addr)
	return addr
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Server) client(c *fiber.Ctx) auth.Client {
	return auth.Client{IP: s.clientAddr(c), RequestID: requestID(c), DeviceCredential: c.Get(HeaderDeviceCredential)}
}

// authenticate resolves the bearer token into the actor, checked against the
// database on every request.
func (s *Server) authenticate(c *fiber.Ctx) error {
	h := c.Get(fiber.HeaderAuthorization)
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return backend.E(backend.KindUnauthorized, auth.CodeUnauthorized, "send Authorization: Bearer <access_token>")
	}
	a, err := s.Auth.Authenticate(c.UserContext(), s.client(c), strings.TrimSpace(token))
	if err != nil {
		return err
	}
	c.Locals(actorLocal, a)
	c.SetUserContext(backend.WithActor(c.UserContext(), a))
	return c.Next()
}
