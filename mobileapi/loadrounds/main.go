// Command loadrounds simulates ward tablets doing drug rounds against a
// running Corsia API with the demo facility loaded, and prints, per call
// kind (login, due, verify, record), the count, the errors by status, the
// throughput and the latency percentiles, with the doses recorded per second.
//
// Each tablet signs in as a demo nurse (password corsia-demo), is given one
// of the nurse's wards (tablets are spread over the wards round-robin), and
// loops: GET /v1/wards/{ward}/due, pick an open dose at random, POST
// /v1/administrations/verify with the pack's Code 32 as a scanner sends it,
// POST /v1/administrations with a fresh Idempotency-Key. A verdict "block"
// is recorded as omitted, a high-alert drug (witness_required) as held,
// anything else as given with the verification. A 409 (another tablet on
// the ward recorded the dose first) is a normal outcome, not an error. When
// the open doses of the hour are done the tablet moves the due list's "at"
// forward an hour at a time, up to -ahead; a tablet that finds nothing left
// within -ahead stops and is reported as idle.
//
// With -verify=false -doses-per-list 1000 the tablets skip the verify call
// (the pack is scanned in the record request itself) and fetch the due list
// rarely: the load is then nearly record calls only, the figure to set
// against pgbench's tps for the same transaction.
//
// Usage:
//
//	go run ./mobileapi/loadrounds -url http://127.0.0.1:18080 -tablets 16 -duration 30s
//
// See README.md beside this file for the database's own limit (pgbench) and
// how to read the ratio.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

const demoPassword = "corsia-demo"

var defaultUsers = "nurse.a,nurse.a2,nurse.b,nurse.b2,nurse.b3,nurse.c,nurse.c2,nurse.d,nurse.d2"

// Call kinds, in the order they are printed.
const (
	kLogin   = "login"
	kRefresh = "refresh"
	kDue     = "due"
	kVerify  = "verify"
	kRecord  = "record"
)

var kinds = []string{kLogin, kRefresh, kDue, kVerify, kRecord}

// stat collects one call kind's latencies and statuses.
type stat struct {
	mu       sync.Mutex
	lat      []time.Duration
	statuses map[string]int // every answer, by status ("net" for a transport error)
	errors   map[string]int // the unexpected ones
}

type stats struct {
	byKind  map[string]*stat
	mu      sync.Mutex
	counts  map[string]int  // named counters: outcomes, verdicts, conflicts...
	samples []string        // unexpected answers, with their request
	doneAt  []time.Duration // when each dose was recorded, from the start
	seen    map[string]bool
}

func newStats() *stats {
	s := &stats{byKind: map[string]*stat{}, counts: map[string]int{}, seen: map[string]bool{}}
	for _, k := range kinds {
		s.byKind[k] = &stat{statuses: map[string]int{}, errors: map[string]int{}}
	}
	return s
}

func (s *stats) count(name string, n int) {
	s.mu.Lock()
	s.counts[name] += n
	s.mu.Unlock()
}

// observe records one call. ok says whether its status is a normal answer.
func (s *stats) observe(kind string, d time.Duration, status string, ok bool) {
	st := s.byKind[kind]
	st.mu.Lock()
	st.lat = append(st.lat, d)
	st.statuses[status]++
	if !ok {
		st.errors[status]++
	}
	st.mu.Unlock()
}

// sample keeps the first answer of each (kind, status, problem code) that
// was not expected, for the report.
func (s *stats) sample(kind, method, path, reqBody string, status string, respBody []byte) {
	code := problemCode(respBody)
	key := kind + " " + status + " " + code
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[key] || len(s.samples) >= 20 {
		return
	}
	s.seen[key] = true
	s.samples = append(s.samples, fmt.Sprintf("%s %s %s\n    request:  %s\n    response: %s %s",
		kind, method, path, trunc(reqBody, 400), status, trunc(string(respBody), 600)))
}

func trunc(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func problemCode(b []byte) string {
	var p struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(b, &p) == nil {
		return p.Code
	}
	return ""
}

// client is the HTTP side shared by every tablet.
type client struct {
	base  string
	http  *http.Client
	stats *stats
	// blockedOK counts a record's 422 administration.blocked as a normal
	// answer: without a verify call, the record is where a block shows.
	blockedOK bool
}

type response struct {
	status int
	body   []byte
}

func (r response) code() string { return problemCode(r.body) }

// call sends one request and times it (the body read included) under kind
// (not at all when kind is empty). It returns an error only for transport
// failures.
func (c *client) call(ctx context.Context, kind, method, path, token string, body any, hdr map[string]string, expect ...int) (response, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return response{}, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Language", "en")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	var b []byte
	if err == nil {
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	d := time.Since(start)
	if kind == "" { // not measured
		if err != nil {
			return response{}, err
		}
		return response{status: resp.StatusCode, body: b}, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			// Cut off by the end of the run: not an answer.
			return response{}, err
		}
		c.stats.observe(kind, d, "net", false)
		c.stats.sample(kind, method, path, string(raw), "net", []byte(err.Error()))
		return response{}, err
	}
	st := strconv.Itoa(resp.StatusCode)
	ok := slices.Contains(expect, resp.StatusCode) ||
		(c.blockedOK && kind == kRecord && resp.StatusCode == 422 && problemCode(b) == "administration.blocked")
	c.stats.observe(kind, d, st, ok)
	if !ok {
		c.stats.sample(kind, method, path, string(raw), st, b)
	}
	return response{status: resp.StatusCode, body: b}, nil
}

// session is a signed-in user.
type session struct {
	user    string
	access  string
	refresh string
	wards   []string
}

type tokenJSON struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	User         struct {
		WardIDs []string `json:"ward_ids"`
	} `json:"user"`
}

// userLocks serialises the sign-ins of one account: a nurse signs in on one
// tablet at a time (the server counts attempts before checking the password,
// so many concurrent sign-ins of one account back off each other).
var userLocks sync.Map

func (c *client) login(ctx context.Context, user string) (*session, error) {
	l, _ := userLocks.LoadOrStore(user, &sync.Mutex{})
	l.(*sync.Mutex).Lock()
	defer l.(*sync.Mutex).Unlock()
	for ctx.Err() == nil {
		r, err := c.call(ctx, kLogin, "POST", "/v1/auth/login", "", map[string]string{"username": user, "password": demoPassword}, nil, 200)
		switch {
		case err != nil:
			sleep(ctx, 500*time.Millisecond)
		case r.status == 200:
			var t tokenJSON
			if err := json.Unmarshal(r.body, &t); err != nil {
				return nil, fmt.Errorf("login %s: %w", user, err)
			}
			return &session{user: user, access: t.AccessToken, refresh: t.RefreshToken, wards: t.User.WardIDs}, nil
		case r.status == 429 || r.status == 503:
			sleep(ctx, time.Second)
		default:
			return nil, fmt.Errorf("login %s: %d %s", user, r.status, trunc(string(r.body), 300))
		}
	}
	return nil, ctx.Err()
}

// reauth refreshes the session after a 401, or signs in again.
func (c *client) reauth(ctx context.Context, s *session) error {
	if s.refresh != "" {
		r, err := c.call(ctx, kRefresh, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": s.refresh}, nil, 200)
		if err == nil && r.status == 200 {
			var t tokenJSON
			if json.Unmarshal(r.body, &t) == nil && t.AccessToken != "" {
				s.access, s.refresh = t.AccessToken, t.RefreshToken
				return nil
			}
		}
	}
	n, err := c.login(ctx, s.user)
	if err != nil {
		return err
	}
	*s = *n
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Code32 writes an AIC (9 digits) as the six Code 32 symbols a Code 39
// reader reports for the pack's bollino: the AIC's integer value in base 32,
// most significant first (backend/codes/code32.go).
func Code32(aic string) (string, error) {
	aic = strings.TrimPrefix(strings.TrimSpace(aic), "A")
	v, err := strconv.Atoi(aic)
	if err != nil || len(aic) != 9 {
		return "", fmt.Errorf("not an AIC: %q", aic)
	}
	const alphabet = "0123456789BCDFGHJKLMNPQRSTUVWXYZ"
	var b [6]byte
	for i := 5; i >= 0; i-- {
		b[i] = alphabet[v%32]
		v /= 32
	}
	return string(b[:]), nil
}

// The due list, as much of it as a tablet needs.
type dueJSON struct {
	Residents []struct {
		ResidentID string `json:"resident_id"`
		Doses      []struct {
			DoseID  string `json:"dose_id"`
			State   string `json:"state"`
			Product struct {
				AIC *string `json:"aic"`
			} `json:"product"`
			HighAlert bool `json:"high_alert"`
		} `json:"doses"`
	} `json:"residents"`
}

type verifyJSON struct {
	Verdict         string   `json:"verdict"`
	Blocks          []string `json:"blocks"`
	WitnessRequired bool     `json:"witness_required"`
	VerificationID  string   `json:"verification_id"`
}

type pick struct {
	resident, dose, aic string
	highAlert           bool
}

var openStates = map[string]bool{"due": true, "late": true, "early": true, "missed": true}

// tablet is one simulated ward tablet.
type tablet struct {
	id      int
	c       *client
	s       *session
	ward    string
	ahead   time.Duration
	perList int
	verify  bool            // false: no verify call, the pack is scanned in the record request
	skip    map[string]bool // doses this tablet could not record: never picked again
	rng     *rand.Rand
	idleAt  time.Duration // when the ward ran out of open doses within ahead (0: never)
	start   time.Time
}

// do sends an authenticated call, signing in again once after a 401.
func (t *tablet) do(ctx context.Context, kind, method, path string, body any, hdr map[string]string, expect ...int) (response, error) {
	r, err := t.c.call(ctx, kind, method, path, t.s.access, body, hdr, expect...)
	if err == nil && r.status == 401 {
		if err := t.c.reauth(ctx, t.s); err != nil {
			return r, err
		}
		r, err = t.c.call(ctx, kind, method, path, t.s.access, body, hdr, expect...)
	}
	return r, err
}

func (t *tablet) run(ctx context.Context) {
	st := t.c.stats
	offset := time.Duration(0)
	for ctx.Err() == nil {
		path := "/v1/wards/" + t.ward + "/due"
		if offset > 0 {
			path += "?at=" + time.Now().Add(offset).UTC().Format(time.RFC3339)
		}
		r, err := t.do(ctx, kDue, "GET", path, nil, nil, 200)
		if err != nil {
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		if r.status != 200 {
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		var due dueJSON
		if err := json.Unmarshal(r.body, &due); err != nil {
			st.count("due: unreadable body", 1)
			continue
		}
		var open []pick
		for _, res := range due.Residents {
			for _, d := range res.Doses {
				if !openStates[d.State] || t.skip[d.DoseID] {
					continue
				}
				aic := ""
				if d.Product.AIC != nil {
					aic = *d.Product.AIC
				}
				open = append(open, pick{resident: res.ResidentID, dose: d.DoseID, aic: aic, highAlert: d.HighAlert})
			}
		}
		if len(open) == 0 {
			if offset >= t.ahead {
				t.idleAt = time.Since(t.start)
				return
			}
			offset += time.Hour
			continue
		}
		t.rng.Shuffle(len(open), func(i, j int) { open[i], open[j] = open[j], open[i] })
		for _, p := range open[:min(t.perList, len(open))] {
			if ctx.Err() != nil {
				return
			}
			t.administer(ctx, p)
		}
	}
}

// administer verifies the pack of one dose and records the act.
func (t *tablet) administer(ctx context.Context, p pick) {
	st := t.c.stats
	var rec map[string]any
	if p.aic == "" {
		// Nothing to scan: a prescription without a product.
		rec = map[string]any{"dose_id": p.dose, "outcome": "held", "reason": "load test: no pack code"}
		st.count("verify skipped (no AIC)", 1)
	} else if !t.verify {
		code, err := Code32(p.aic)
		if err != nil {
			t.skip[p.dose] = true
			st.count("record skipped (bad AIC)", 1)
			return
		}
		rec = map[string]any{"dose_id": p.dose, "outcome": "given", "barcode": code}
		if p.highAlert {
			rec = map[string]any{"dose_id": p.dose, "outcome": "held", "reason": "load test: high-alert drug, no witness"}
		}
	} else {
		code, err := Code32(p.aic)
		if err != nil {
			t.skip[p.dose] = true
			st.count("verify skipped (bad AIC)", 1)
			return
		}
		r, err := t.do(ctx, kVerify, "POST", "/v1/administrations/verify",
			map[string]any{"resident_id": p.resident, "barcode": code, "dose_id": p.dose}, nil, 200)
		if err != nil {
			return
		}
		if r.status != 200 {
			t.skip[p.dose] = true
			return
		}
		var v verifyJSON
		if err := json.Unmarshal(r.body, &v); err != nil {
			st.count("verify: unreadable body", 1)
			t.skip[p.dose] = true
			return
		}
		st.count("verify verdict "+v.Verdict, 1)
		for _, b := range v.Blocks {
			st.count("verify block "+b, 1)
		}
		switch {
		case v.Verdict == "block":
			rec = map[string]any{"dose_id": p.dose, "outcome": "omitted", "reason": "load test"}
		case v.WitnessRequired:
			st.count("verify witness_required (recorded held)", 1)
			rec = map[string]any{"dose_id": p.dose, "outcome": "held", "reason": "load test: high-alert drug, no witness"}
		default:
			rec = map[string]any{"dose_id": p.dose, "outcome": "given", "verification_id": v.VerificationID}
		}
	}
	key := uuid.NewString()
	r, err := t.do(ctx, kRecord, "POST", "/v1/administrations", rec, map[string]string{"Idempotency-Key": key}, 201, 409)
	if err != nil {
		return
	}
	if !t.verify && r.status == 422 && rec["outcome"] == "given" {
		// Blocked without a verify call: record it omitted, as after a block.
		st.count("record 422 "+r.code()+" (then recorded omitted)", 1)
		rec = map[string]any{"dose_id": p.dose, "outcome": "omitted", "reason": "load test"}
		if r, err = t.do(ctx, kRecord, "POST", "/v1/administrations", rec, map[string]string{"Idempotency-Key": uuid.NewString()}, 201, 409); err != nil {
			return
		}
	}
	switch r.status {
	case 201:
		st.count("record 201 "+rec["outcome"].(string), 1)
		st.mu.Lock()
		st.counts["recorded"]++
		st.doneAt = append(st.doneAt, time.Since(t.start))
		st.mu.Unlock()
	case 409:
		st.count("record 409 "+r.code(), 1)
	default:
		t.skip[p.dose] = true
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

func (s *stats) report(w io.Writer, elapsed, firstIdle time.Duration) {
	fmt.Fprintf(w, "\n%-8s %7s %6s %8s %8s %8s %8s %8s  %s\n", "call", "count", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "statuses")
	for _, k := range kinds {
		st := s.byKind[k]
		if len(st.lat) == 0 {
			continue
		}
		lat := slices.Clone(st.lat)
		slices.Sort(lat)
		errs := 0
		for _, n := range st.errors {
			errs += n
		}
		fmt.Fprintf(w, "%-8s %7d %6d %8.1f %8s %8s %8s %8s  %s\n", k, len(lat), errs, float64(len(lat))/elapsed.Seconds(),
			ms(percentile(lat, .50)), ms(percentile(lat, .90)), ms(percentile(lat, .99)), ms(lat[len(lat)-1]), mapString(st.statuses))
	}
	recorded := s.counts["recorded"]
	fmt.Fprintf(w, "\ndoses recorded: %d in %.1fs = %.1f doses/s\n", recorded, elapsed.Seconds(), float64(recorded)/elapsed.Seconds())
	if firstIdle > 0 {
		n := 0
		for _, d := range s.doneAt {
			if d <= firstIdle {
				n++
			}
		}
		fmt.Fprintf(w, "  while every tablet had work (until %.1fs, when the first ran out): %d = %.1f doses/s\n",
			firstIdle.Seconds(), n, float64(n)/firstIdle.Seconds())
	}
	names := make([]string, 0, len(s.counts))
	for n := range s.counts {
		if n != "recorded" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-50s %d\n", n, s.counts[n])
	}
	if len(s.samples) > 0 {
		fmt.Fprintf(w, "\nunexpected answers (first of each kind, status and code):\n")
		for _, x := range s.samples {
			fmt.Fprintf(w, "  %s\n", x)
		}
	}
}

func mapString(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + strconv.Itoa(m[k])
	}
	return strings.Join(parts, " ")
}

func main() {
	base := flag.String("url", "http://127.0.0.1:18080", "base URL of the API")
	n := flag.Int("tablets", 16, "tablets doing rounds at once")
	duration := flag.Duration("duration", 30*time.Second, "how long the tablets run")
	usersFlag := flag.String("users", defaultUsers, "comma-separated demo usernames to sign in as (password "+demoPassword+")")
	ahead := flag.Duration("ahead", 48*time.Hour, "how far ahead the due list's at may move once the open doses of now are done")
	perList := flag.Int("doses-per-list", 1, "doses a tablet administers from one due list before fetching it again")
	verify := flag.Bool("verify", true, "verify each pack before recording; false sends the scan in the record request "+
		"(high-alert drugs held, blocked doses recorded omitted): with a large -doses-per-list, nearly record calls only")
	timeout := flag.Duration("timeout", 30*time.Second, "timeout of one request")
	flag.Parse()
	if *n < 1 || *duration <= 0 || *perList < 1 {
		fmt.Fprintln(os.Stderr, "loadrounds: -tablets, -duration and -doses-per-list must be positive")
		os.Exit(2)
	}
	var users []string
	for _, u := range strings.Split(*usersFlag, ",") {
		if u = strings.TrimSpace(u); u != "" {
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		fmt.Fprintln(os.Stderr, "loadrounds: -users is empty")
		os.Exit(2)
	}
	st := newStats()
	c := &client{base: strings.TrimRight(*base, "/"), stats: st, http: &http.Client{Timeout: *timeout,
		Transport: &http.Transport{MaxIdleConns: 4 * *n, MaxIdleConnsPerHost: 4 * *n, IdleConnTimeout: time.Minute}}}
	c.blockedOK = !*verify
	if err := run(c, users, *n, *duration, *ahead, *perList, *verify); err != nil {
		fmt.Fprintln(os.Stderr, "loadrounds:", err)
		os.Exit(1)
	}
}

func run(c *client, users []string, n int, duration, ahead time.Duration, perList int, verify bool) error {
	ctx := context.Background()
	// Sign each user in once to learn her wards; the first tablet of each
	// user takes that session over, the others sign in themselves.
	sessions := map[string]*session{}
	for _, u := range users {
		s, err := c.login(ctx, u)
		if err != nil {
			return err
		}
		sessions[u] = s
	}
	codes := map[string]string{}
	for _, u := range users {
		wardCodes(ctx, c, sessions[u], codes)
	}
	var wards []string
	for _, u := range users {
		for _, w := range sessions[u].wards {
			if !slices.Contains(wards, w) {
				wards = append(wards, w)
			}
		}
	}
	if len(wards) == 0 {
		return errors.New("none of the users works on a ward")
	}
	sort.Slice(wards, func(i, j int) bool { return codes[wards[i]]+wards[i] < codes[wards[j]]+wards[j] })
	next := map[string]int{} // per ward: the next of its users to give a tablet
	claimed := map[string]bool{}
	tablets := make([]*tablet, n)
	perWard := map[string]int{}
	for i := range tablets {
		w := wards[i%len(wards)]
		var on []string
		for _, u := range users {
			if slices.Contains(sessions[u].wards, w) {
				on = append(on, u)
			}
		}
		u := on[next[w]%len(on)]
		next[w]++
		t := &tablet{id: i, c: c, ward: w, ahead: ahead, perList: perList, verify: verify, skip: map[string]bool{},
			rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
		if !claimed[u] {
			claimed[u] = true
			s := *sessions[u]
			t.s = &s
		} else {
			t.s = &session{user: u}
		}
		tablets[i] = t
		perWard[label(codes, w)]++
	}
	fmt.Printf("loadrounds: %d tablets for %s against %s; tablets per ward: %s%s\n", n, duration, c.base, mapString(perWard), loadavg())

	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	start := time.Now()
	for _, t := range tablets {
		t.start = start
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for _, t := range tablets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if t.s.access == "" {
				s, err := c.login(runCtx, t.s.user)
				if err != nil {
					if runCtx.Err() == nil {
						fmt.Fprintf(os.Stderr, "tablet %d: %v\n", t.id, err)
						failed.Add(1)
					}
					return
				}
				t.s = s
			}
			t.run(runCtx)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	st := c.stats
	var firstIdle, lastIdle time.Duration
	idle := 0
	for _, t := range tablets {
		if t.idleAt == 0 {
			continue
		}
		idle++
		if firstIdle == 0 || t.idleAt < firstIdle {
			firstIdle = t.idleAt
		}
		lastIdle = max(lastIdle, t.idleAt)
	}
	if idle > 0 {
		st.count(fmt.Sprintf("tablets out of work (no open dose within %s): first at %.1fs, last at %.1fs", ahead,
			firstIdle.Seconds(), lastIdle.Seconds()), idle)
	}
	if f := failed.Load(); f > 0 {
		st.count("tablets that could not sign in", int(f))
	}
	st.report(os.Stdout, elapsed, firstIdle)
	if l := loadavg(); l != "" {
		fmt.Printf("\nat the end%s\n", l)
	}
	return nil
}

// wardCodes adds the codes of the wards s sees to out, for the report.
func wardCodes(ctx context.Context, c *client, s *session, out map[string]string) {
	r, err := c.call(ctx, "", "GET", "/v1/wards", s.access, nil, nil, 200)
	if err != nil || r.status != 200 {
		return
	}
	var ws struct {
		Wards []struct {
			ID   string `json:"id"`
			Code string `json:"code"`
		} `json:"wards"`
	}
	if json.Unmarshal(r.body, &ws) == nil {
		for _, w := range ws.Wards {
			out[w.ID] = w.Code
		}
	}
}

func label(codes map[string]string, ward string) string {
	if c := codes[ward]; c != "" {
		return c
	}
	return ward[:min(8, len(ward))]
}

// loadavg reports the machine's load average where Linux tells it: on a
// shared machine the figures mean little without it.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return "; load average " + strings.Join(f[:3], " ")
}
