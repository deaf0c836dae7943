package main

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend/document"
)

// Config is read from the environment once, in main, and passed down.
type Config struct {
	DatabaseURL       string
	RedisURL          string
	RedisPrefix       string
	HTTPAddr          string
	Demo              bool
	LogLevel          slog.Level
	DBMaxConns        int32
	AccessTokenTTL    time.Duration
	SessionTTL        time.Duration
	BreakGlassTTL     time.Duration
	RequestTimeout    time.Duration
	BodyLimit         int
	CORSOrigins       []string
	TrustedProxies    []string
	HashConcurrency   int
	AuditVerifyEvery  time.Duration
	AuthRatePerMinute int
	ScanConcurrency   int
	ScanAdmissions    int
	// Notifications.
	FCMCredentialsFile string
	FCMEndpoint        string
	DetectEvery        time.Duration
	PushConsumers      int
	RepublishAfter     time.Duration
	PushLease          time.Duration
	// DocumentKeys encrypt documents at rest (DOCUMENT_KEY); nil: the development key.
	DocumentKeys *document.Keyring
}

// envDoc documents every variable for --help.
const envDoc = `Environment (defaults work on a machine with local PostgreSQL and Redis):
  DATABASE_URL         postgres://postgres@127.0.0.1:5432/corsia?sslmode=disable
                       (the database is created if missing)
  REDIS_URL            redis://127.0.0.1:6379/0
  REDIS_PREFIX         corsia:        key prefix in Redis
  HTTP_ADDR            :8080
  CORSIA_DEMO          load the demo facility into an empty database
                       (default true for "up", false otherwise; never loads
                       next to real facilities)
  LOG_LEVEL            debug|info|warn|error (info)
  DB_MAX_CONNS         16
  ACCESS_TOKEN_TTL     15m            SESSION_TTL  12h
  BREAK_GLASS_TTL      4h             REQUEST_TIMEOUT 15s
  BODY_LIMIT           1048576 bytes
  CORS_ORIGINS         comma-separated browser origins (CORS off when empty)
  TRUSTED_PROXIES      comma-separated proxy addresses whose X-Forwarded-For is trusted
  HASH_CONCURRENCY     4              concurrent argon2id hashes (19 MiB each)
  AUDIT_VERIFY_EVERY   1h             how often workers verify the audit chains
  AUTH_RATE_PER_MINUTE 60             sign-in calls per client address
  SCAN_CONCURRENCY     half the cores photos decoded at once (the rest stay for bedside calls)
  SCAN_ADMISSIONS      2×SCAN_CONCURRENCY photo uploads held in memory at once
  FCM_CREDENTIALS_FILE a Firebase service-account JSON; without it pushes are logged, not sent
  FCM_ENDPOINT         override the FCM endpoint (a test or relay server)
  DETECT_EVERY         2s             how often the missed-dose detector runs (alert latency p50 ≈ half of it)
  PUSH_CONSUMERS       2              push consumers per worker process
  PUSH_LEASE           1m             a push worker's hold on a delivery it is sending; one that dies
                                      mid-send leaves it to be retried after this
  DOCUMENT_KEY         base64 32-byte master key of documents at rest, or "2:key2,1:key1" (current first,
                       older kept readable); unset: a PUBLIC development key, with a warning
  REPUBLISH_AFTER      2m             a notification published but delivered to no device is queued again
                                      after this long (Redis keeps nothing on disk)
`

func loadConfig(demoDefault bool) (Config, error) {
	var errs []string
	str := func(k, def string) string {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			return v
		}
		return def
	}
	dur := func(k string, def time.Duration) time.Duration {
		v := str(k, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Sprintf("%s=%q is not a positive duration (e.g. 15m)", k, v))
		}
		return d
	}
	num := func(k string, def int) int {
		v := str(k, "")
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Sprintf("%s=%q is not a positive integer", k, v))
		}
		return n
	}
	list := func(k string) []string {
		var out []string
		for _, p := range strings.Split(str(k, ""), ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	c := Config{
		DatabaseURL:       str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/corsia?sslmode=disable"),
		RedisURL:          str("REDIS_URL", "redis://127.0.0.1:6379/0"),
		RedisPrefix:       str("REDIS_PREFIX", "corsia:"),
		HTTPAddr:          str("HTTP_ADDR", ":8080"),
		Demo:              demoDefault,
		DBMaxConns:        int32(num("DB_MAX_CONNS", 16)),
		AccessTokenTTL:    dur("ACCESS_TOKEN_TTL", 15*time.Minute),
		SessionTTL:        dur("SESSION_TTL", 12*time.Hour),
		BreakGlassTTL:     dur("BREAK_GLASS_TTL", 4*time.Hour),
		RequestTimeout:    dur("REQUEST_TIMEOUT", 15*time.Second),
		BodyLimit:         num("BODY_LIMIT", 1<<20),
		CORSOrigins:       list("CORS_ORIGINS"),
		TrustedProxies:    list("TRUSTED_PROXIES"),
		HashConcurrency:   num("HASH_CONCURRENCY", 4),
		AuditVerifyEvery:  dur("AUDIT_VERIFY_EVERY", time.Hour),
		AuthRatePerMinute: num("AUTH_RATE_PER_MINUTE", 60),
		ScanConcurrency:   num("SCAN_CONCURRENCY", max(1, runtime.NumCPU()/2)),
	}
	c.ScanAdmissions = num("SCAN_ADMISSIONS", 2*c.ScanConcurrency)
	c.FCMCredentialsFile, c.FCMEndpoint = str("FCM_CREDENTIALS_FILE", ""), str("FCM_ENDPOINT", "")
	c.DetectEvery = dur("DETECT_EVERY", 2*time.Second)
	c.PushConsumers = num("PUSH_CONSUMERS", 2)
	c.RepublishAfter = dur("REPUBLISH_AFTER", 2*time.Minute)
	c.PushLease = dur("PUSH_LEASE", time.Minute)
	if k, err := document.ParseKeyring(str("DOCUMENT_KEY", "")); err != nil {
		errs = append(errs, err.Error())
	} else {
		c.DocumentKeys = k
	}
	if v := str("CORSIA_DEMO", ""); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("CORSIA_DEMO=%q is not true or false", v))
		}
		c.Demo = b
	}
	if err := c.LogLevel.UnmarshalText([]byte(str("LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Sprintf("LOG_LEVEL=%q: use debug, info, warn or error", str("LOG_LEVEL", "")))
	}
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				errs = append(errs, fmt.Sprintf("TRUSTED_PROXIES: %q is neither an address nor a CIDR prefix", p))
			}
		}
	}
	if c.AccessTokenTTL > c.SessionTTL {
		errs = append(errs, "ACCESS_TOKEN_TTL must not exceed SESSION_TTL")
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return c, nil
}
