package main

// Fault tests of the notification pipeline, run as an operator runs it: the
// real `corsia workers` binary against a test database, Redis and a local
// fake FCM (the real Firebase SDK's whole send path). Each test breaks one
// thing — two workers racing, a worker SIGKILLed mid-batch, Redis killed and
// restarted empty — and checks what the pipeline promises: every
// notification reaches every live device of its recipient, and (but for a
// send in flight when its worker died) only once.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/auth"
	"github.com/corsia-cce/corsia/backend/codes"
	"github.com/corsia-cce/corsia/backend/postgres"
	"github.com/corsia-cce/corsia/backend/postgres/pgtest"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/corsia-cce/corsia/fixtures"
	"github.com/corsia-cce/corsia/workers"
	"github.com/corsia-cce/corsia/workers/fcm/fcmfake"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
)

// faultRig is one test's world: its own database (demo + ALT), fake FCM,
// Redis key prefix, and the worker processes it started.
type faultRig struct {
	t       *testing.T
	db      *postgres.DB
	svc     *postgres.Services
	alt     *fixtures.Data
	fake    *fcmfake.Server
	creds   string // service-account JSON file
	prefix  string
	product uuid.UUID
	lead    uuid.UUID // alt.lead.x's staff id
}

func newFaultRig(t *testing.T, name string) *faultRig {
	t.Helper()
	binary(t) // built first: its time must not count in the flow
	db := pgtest.New(t, pgtest.Demo)
	fake := fcmfake.New(t)
	creds := filepath.Join(t.TempDir(), "fcm.json")
	if err := os.WriteFile(creds, fake.Credentials(), 0o600); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	r := &faultRig{t: t, db: db, fake: fake, creds: creds, alt: pgtest.Other(),
		prefix: "corsia-fault-" + name + "-" + hex.EncodeToString(b) + ":",
		svc:    db.NewServices(postgres.ServiceConfig{Hasher: pgtest.Hasher(), AccessTTL: 15 * time.Minute, SessionTTL: 12 * time.Hour})}
	r.lead = r.alt.ID("staff", "alt.lead.x")
	if err := db.Pool.QueryRow(context.Background(), "SELECT id FROM products WHERE aic = '012745093' AND facility_id IS NULL").Scan(&r.product); err != nil {
		t.Fatal(err)
	}
	return r
}

// signIn signs an ALT user in and, when register, registers a fresh push
// token for the sign-in.
func (r *faultRig) signIn(user string, register bool) (*backend.Actor, string) {
	r.t.Helper()
	ctx := context.Background()
	tok, err := r.svc.Auth.Login(ctx, auth.Client{IP: netip.MustParseAddr("127.0.0.1")}, user, fixtures.DemoPassword)
	if err != nil {
		r.t.Fatal(err)
	}
	a := tok.Actor
	if !register {
		return &a, ""
	}
	token := "fcm-token-" + user + "-" + uuid.NewString()
	if _, err := r.svc.Notify.Register(ctx, &a, token, "android", "1.0"); err != nil {
		r.t.Fatal(err)
	}
	return &a, token
}

// lateDose admits a resident to ward X with a daily dose whose ±2 h window
// closes after closesIn (0: already closed), and returns its dose.
func (r *faultRig) lateDose(closesIn time.Duration) uuid.UUID {
	r.t.Helper()
	ctx := context.Background()
	id := uuid.New()
	if _, err := r.db.Pool.Exec(ctx, `INSERT INTO residents (facility_id, id, given_name, family_name, sex, birth_date,
		wristband_code, status, ward_id, admitted_at) VALUES ($1, $2, 'Ada', 'Neri', 'F', '1936-05-05', $3, 'admitted', $4, now())`,
		r.alt.FacilityID(), id, codes.NewIdent(codes.WristbandPrefix), r.alt.ID("ward", "X")); err != nil {
		r.t.Fatal(err)
	}
	doctor := &backend.Actor{StaffID: r.alt.ID("staff", "alt.doctor"), FacilityID: r.alt.FacilityID(),
		Roles: []backend.Role{backend.RolePhysician}, WardIDs: []uuid.UUID{r.alt.ID("ward", "X")}}
	start := time.Now().Add(-2*time.Hour + closesIn)
	p, err := r.svc.Therapy.Prescribe(ctx, doctor, id, therapy.Order{ProductID: r.product, Dose: decimal.NewFromInt(1),
		DoseUnit: "tablet", Route: "oral", Schedule: therapy.Schedule{Kind: therapy.ScheduleEveryHours, EveryHours: 24},
		StartsAt: start})
	if err != nil {
		r.t.Fatal(err)
	}
	var dose uuid.UUID
	if err := r.db.Pool.QueryRow(ctx, `SELECT id FROM doses WHERE facility_id = $1 AND prescription_id = $2 ORDER BY due_at LIMIT 1`,
		r.alt.FacilityID(), p.ID).Scan(&dose); err != nil {
		r.t.Fatal(err)
	}
	return dose
}

// lateDoses creates n late doses, a few at a time.
func (r *faultRig) lateDoses(n int) {
	r.t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r.lateDose(0)
		}()
	}
	wg.Wait()
}

// leadNotifications lists alt.lead.x's notifications in the database.
func (r *faultRig) leadNotifications() []string {
	return r.leadNotificationsWhere("true")
}

// liveLeadNotifications lists those of her notifications whose alert chain
// is not resolved: what the republish job must still get to her.
func (r *faultRig) liveLeadNotifications() []string {
	return r.leadNotificationsWhere(`NOT EXISTS (SELECT 1 FROM alerts a WHERE a.facility_id = n.facility_id AND a.id = n.alert_id
		AND a.resolved_at IS NOT NULL)`)
}

func (r *faultRig) leadNotificationsWhere(cond string) []string {
	r.t.Helper()
	rows, err := r.db.Pool.Query(context.Background(), `SELECT n.id::text FROM notifications n
		WHERE n.facility_id = $1 AND n.staff_id = $2 AND `+cond, r.alt.FacilityID(), r.lead)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			r.t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		r.t.Fatal(err)
	}
	return out
}

// leadKinds counts alt.lead.x's notifications of kind (the detector also
// writes others, e.g. due-dose reminders to signed-in nurses, which she is).
func (r *faultRig) leadKinds(kind string) int {
	r.t.Helper()
	return r.scalar(`SELECT count(*) FROM notifications WHERE facility_id = $1 AND staff_id = $2 AND kind = $3`,
		r.alt.FacilityID(), r.lead, kind)
}

// leadSummary is the lead's notifications by kind, for the log.
func (r *faultRig) leadSummary() string {
	rows, err := r.db.Pool.Query(context.Background(), `SELECT kind, count(*) FROM notifications WHERE facility_id = $1 AND staff_id = $2
		GROUP BY kind ORDER BY kind`, r.alt.FacilityID(), r.lead)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var k string
		var n int
		if rows.Scan(&k, &n) == nil {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	return strings.Join(parts, ", ")
}

// pushes counts the pushes the fake FCM accepted per notification and token.
func (r *faultRig) pushes() map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, m := range r.fake.Messages() {
		id := m.Data["notification_id"]
		if out[id] == nil {
			out[id] = map[string]int{}
		}
		out[id][m.Token]++
	}
	return out
}

// missing lists the notifications of ids not yet accepted for every token.
func missing(ids []string, got map[string]map[string]int, tokens []string) []string {
	var out []string
	for _, id := range ids {
		for _, tok := range tokens {
			if got[id][tok] == 0 {
				out = append(out, id)
				break
			}
		}
	}
	return out
}

// extra counts the pushes beyond the first per (notification, token), and
// lists the notifications that had them.
func extra(got map[string]map[string]int) (int, []string) {
	n := 0
	var ids []string
	for id, per := range got {
		dup := false
		for _, c := range per {
			if c > 1 {
				n += c - 1
				dup = true
			}
		}
		if dup {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return n, ids
}

func (r *faultRig) scalar(q string, args ...any) int {
	r.t.Helper()
	var n int
	if err := r.db.Pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		r.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func waitUntil(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// workerProc is one `corsia workers` process.
type workerProc struct {
	name string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// startWorker runs `corsia workers` on the rig's database and fake FCM
// against redisURL. It is stopped (SIGTERM) when the test ends; its log is
// shown if the test failed.
func (r *faultRig) startWorker(name, redisURL string, extraEnv ...string) *workerProc {
	r.t.Helper()
	cmd := exec.Command(binary(r.t), "workers")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+r.db.URL, "REDIS_URL="+redisURL, "REDIS_PREFIX="+r.prefix,
		"FCM_CREDENTIALS_FILE="+r.creds, "FCM_ENDPOINT="+r.fake.Endpoint(), "DETECT_EVERY=200ms", "PUSH_CONSUMERS=2",
		"REPUBLISH_AFTER=3s", "LOG_LEVEL=warn", "DB_MAX_CONNS=6")
	cmd.Env = append(cmd.Env, extraEnv...)
	w := &workerProc{name: name, cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(w.done) }()
	r.t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-w.done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-w.done
			}
		}
		if r.t.Failed() {
			logs := w.logs.String()
			if len(logs) > 6000 {
				logs = "…" + logs[len(logs)-6000:]
			}
			r.t.Logf("worker %s (pid %d) log:\n%s", w.name, cmd.Process.Pid, logs)
		}
	})
	return w
}

// kill SIGKILLs the worker and waits for it to be gone.
func (w *workerProc) kill(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-w.done
}

// requeued sums what the worker's republish job reported queuing again.
func (w *workerProc) requeued() int {
	n := 0
	for _, line := range strings.Split(w.logs.String(), "\n") {
		var e struct {
			Msg   string `json:"msg"`
			Count int    `json:"count"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && strings.HasPrefix(e.Msg, "notifications published but never delivered") {
			n += e.Count
		}
	}
	return n
}

// alive fails the test if the worker exited.
func (w *workerProc) alive(t *testing.T) {
	t.Helper()
	select {
	case <-w.done:
		t.Fatalf("worker %s exited: %v\n%s", w.name, w.cmd.ProcessState, w.logs.String())
	default:
	}
}

// redisClient opens url and, when the test ends, deletes the keys under
// prefix (the shared Redis is used by other tests).
func redisClient(t *testing.T, url, prefix string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		it := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for it.Next(ctx) {
			keys = append(keys, it.Val())
		}
		if len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
		_ = rdb.Close()
	})
	return rdb
}

// Two worker processes at once, against the same database and Redis: the
// detectors share the facility (advisory lock), the relays the outbox (SKIP
// LOCKED), the four consumers the group. A slow FCM makes the republish job
// queue copies of notifications still waiting in the stream, so copies race
// in both processes. Each notification reaches each of the lead's two
// devices exactly once.
func TestFaultTwoWorkersDeliverEachNotificationOnce(t *testing.T) {
	t.Parallel()
	const doses = 100
	r := newFaultRig(t, "two")
	rdb := redisClient(t, redisURL(), r.prefix)
	_, tok1 := r.signIn("alt.lead.x", true)
	_, tok2 := r.signIn("alt.lead.x", true)
	tokens := []string{tok1, tok2}
	r.fake.Delay(150 * time.Millisecond)
	a := r.startWorker("A", redisURL())
	b := r.startWorker("B", redisURL())
	start := time.Now()
	r.lateDoses(doses)
	created := time.Since(start)

	var ids []string
	ok := waitUntil(60*time.Second, func() bool {
		ids = r.leadNotifications()
		return r.leadKinds("dose_late") >= doses && len(missing(ids, r.pushes(), tokens)) == 0
	})
	all := time.Since(start)
	a.alive(t)
	b.alive(t)
	if !ok {
		t.Fatalf("after %s: %d notifications for the lead, %d not on both devices", all, len(ids), len(missing(ids, r.pushes(), tokens)))
	}
	// Let any duplicate show: copies queued by the republish job, entries
	// handled by both processes.
	time.Sleep(4 * time.Second)
	ids = r.leadNotifications()
	got := r.pushes()
	if miss := missing(ids, got, tokens); len(miss) != 0 {
		t.Errorf("notifications not on both devices: %v", miss)
	}
	dups, dupIDs := extra(got)
	inDB := map[string]bool{}
	for _, id := range ids {
		inDB[id] = true
	}
	stray := 0
	for id := range got {
		if !inDB[id] {
			stray++
		}
	}
	total := len(r.fake.Messages())
	t.Logf("two workers: %d late doses created in %s; %d notifications (%s), %d pushes (want %d) all accepted %s after the first dose; duplicates %d; notifications queued again by the republish job %d (A) + %d (B); FCM requests %d",
		doses, created.Round(time.Millisecond), len(ids), r.leadSummary(), total, len(ids)*len(tokens), all.Round(time.Millisecond), dups,
		a.requeued(), b.requeued(), r.fake.Requests())
	if n := r.leadKinds("dose_late"); n != doses {
		t.Errorf("%d late-dose notifications for the lead, want %d (one per late dose)", n, doses)
	}
	if dups != 0 {
		t.Errorf("%d pushes sent twice, notifications %v", dups, dupIDs)
	}
	if stray != 0 {
		t.Errorf("%d pushes for notifications not in the database", stray)
	}
	if total != len(ids)*len(tokens) {
		t.Errorf("FCM accepted %d pushes, want %d", total, len(ids)*len(tokens))
	}
	if n := r.scalar("SELECT count(*) FROM push_deliveries WHERE state <> 'accepted'"); n != 0 {
		t.Errorf("%d deliveries not accepted", n)
	}
	if n := r.scalar("SELECT count(*) FROM push_deliveries"); n != len(ids)*len(tokens) {
		t.Errorf("%d delivery rows, want one per notification and device (%d)", n, len(ids)*len(tokens))
	}
	// Both processes did work: the test is about two of them.
	if p, err := rdb.XInfoConsumers(context.Background(), r.prefix+workers.NotificationStream, workers.NotificationGroup).Result(); err != nil {
		t.Errorf("XINFO CONSUMERS: %v", err)
	} else {
		pids := map[string]bool{}
		for _, c := range p {
			if i := strings.LastIndex(c.Name, "-"); i > 0 {
				pids[c.Name[:i]] = true
			}
		}
		if len(pids) < 2 {
			t.Errorf("consumers of one process only: %+v", p)
		}
	}
}

// A worker SIGKILLed while it sends (FCM answers in 300 ms): a second
// worker delivers every notification. The entries the dead worker had read
// and not handled come back (republished after REPUBLISH_AFTER, reclaimed
// after the 30 s ClaimIdle); the sends in flight at the kill — a delivery
// row left 'sending' under a lease of one minute (Pusher.Lease, which the
// binary does not set) — must be sent once the lease ran out: they are the
// only pushes that may reach a device twice (FCM may have accepted them
// before the worker died). To stay within the test budget the lease's end
// is brought forward once the dead worker's entries were taken over (see
// below); CORSIA_FAULT_REAL_LEASE=1 waits for the real minute (~75 s).
func TestFaultSIGKILLMidBatch(t *testing.T) {
	t.Parallel()
	const doses = 60
	r := newFaultRig(t, "kill")
	rdb := redisClient(t, redisURL(), r.prefix)
	_, tok := r.signIn("alt.lead.x", true)
	tokens := []string{tok}
	r.fake.Delay(300 * time.Millisecond)
	a := r.startWorker("A", redisURL())
	r.lateDoses(doses)
	if !waitUntil(30*time.Second, func() bool { return len(r.fake.Messages()) >= 8 }) {
		t.Fatalf("no pushes before the kill: %d", len(r.fake.Messages()))
	}
	a.alive(t)
	a.kill(t)
	killed := time.Now()
	acceptedAtKill := len(r.fake.Messages())
	requestsAtKill := r.fake.Requests()
	// FCM answers what it has within its delay; requests of the dead
	// worker are dropped unanswered.
	time.Sleep(500 * time.Millisecond)
	ctx := context.Background()
	type inflight struct {
		id    string
		lease time.Time
	}
	var flying []inflight
	rows, err := r.db.Pool.Query(ctx, `SELECT notification_id::text, lease_until FROM push_deliveries WHERE state = 'sending' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var f inflight
		if err := rows.Scan(&f.id, &f.lease); err != nil {
			t.Fatal(err)
		}
		flying = append(flying, f)
	}
	rows.Close()
	atKill := r.pushes()
	acceptedUnrecorded := 0
	leaseEnd := killed
	for _, f := range flying {
		if atKill[f.id][tok] > 0 {
			acceptedUnrecorded++
		}
		if f.lease.After(leaseEnd) {
			leaseEnd = f.lease
		}
	}
	notesAtKill := len(r.leadNotifications())
	pending, _ := rdb.XPending(ctx, r.prefix+workers.NotificationStream, workers.NotificationGroup).Result()
	var pendingAtKill int64
	if pending != nil {
		pendingAtKill = pending.Count
	}
	t.Logf("at the kill: %d notifications, %d pushes accepted by FCM (%d after its delay), %d FCM requests; %d deliveries in flight ('sending', lease until +%s), %d of them accepted by FCM; %d stream entries pending in the group",
		notesAtKill, acceptedAtKill, len(r.fake.Messages()), requestsAtKill, len(flying), leaseEnd.Sub(killed).Round(time.Second),
		acceptedUnrecorded, pendingAtKill)

	b := r.startWorker("B", redisURL())
	restarted := time.Now()
	inflightIDs := map[string]bool{}
	var flyingIDs []uuid.UUID
	for _, f := range flying {
		inflightIDs[f.id] = true
		flyingIDs = append(flyingIDs, uuid.MustParse(f.id))
	}
	var ids []string
	var miss []string
	delivered := func() bool {
		ids = r.leadNotifications()
		miss = missing(ids, r.pushes(), tokens)
		return r.leadKinds("dose_late") >= doses && len(miss) == 0
	}
	// Everything but the in-flight sends: the entries the dead worker held
	// come back (republish job, or reclaim after ClaimIdle).
	var allButInflight time.Duration
	if !waitUntil(45*time.Second, func() bool {
		delivered()
		for _, id := range miss {
			if !inflightIDs[id] {
				return false
			}
		}
		return r.leadKinds("dose_late") >= doses
	}) {
		t.Errorf("%s after the second worker started, %d notifications not delivered that were not in flight at the kill",
			time.Since(restarted).Round(time.Second), len(miss))
	} else {
		allButInflight = time.Since(restarted)
	}
	// The dead worker's pending entries are taken over (after ClaimIdle,
	// 30 s in the binary) by the live one.
	stream, deadName := r.prefix+workers.NotificationStream, fmt.Sprintf("-%d-", a.cmd.Process.Pid)
	heldByDead := func() int {
		p, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: stream, Group: workers.NotificationGroup, Start: "-", End: "+", Count: 1000}).Result()
		if err != nil {
			return -1
		}
		n := 0
		for _, e := range p {
			if strings.Contains(e.Consumer, deadName) {
				n++
			}
		}
		return n
	}
	if !waitUntil(50*time.Second, func() bool { return heldByDead() == 0 }) {
		t.Errorf("the dead worker's entries were not taken over: %d still pending with it", heldByDead())
	}
	reclaimed := time.Since(killed)
	// The lease of the in-flight sends (one minute, not settable in the
	// binary) runs out: by default its end is brought forward to now, a
	// stand-in for waiting until kill+60 s (nothing in the pipeline acts on
	// these rows in between: the dead worker's entries were taken over
	// already). CORSIA_FAULT_REAL_LEASE=1 waits for the real lease instead.
	real := os.Getenv("CORSIA_FAULT_REAL_LEASE") != ""
	deadline := leaseEnd.Add(12 * time.Second)
	if !real && len(flyingIDs) > 0 {
		tag, err := r.db.Pool.Exec(ctx, `UPDATE push_deliveries SET lease_until = now() - interval '1 second'
			WHERE state = 'sending' AND attempts = 1 AND lease_until > now() AND notification_id = ANY($1)`, flyingIDs)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("lease of %d in-flight deliveries brought forward to now (%s after the kill, instead of %s)",
			tag.RowsAffected(), time.Since(killed).Round(time.Second), leaseEnd.Sub(killed).Round(time.Second))
		deadline = time.Now().Add(12 * time.Second)
	}
	ok := waitUntil(max(time.Until(deadline), time.Second), delivered)
	b.alive(t)
	took := time.Since(restarted)
	got := r.pushes()
	if !ok {
		var why []string
		for _, id := range miss {
			var state string
			var attempts int
			var lease time.Time
			err := r.db.Pool.QueryRow(ctx, `SELECT state, attempts, lease_until FROM push_deliveries WHERE notification_id = $1`, id).Scan(&state, &attempts, &lease)
			if err != nil {
				why = append(why, fmt.Sprintf("%s: no delivery row (%v), in flight at the kill: %v", id, err, inflightIDs[id]))
				continue
			}
			why = append(why, fmt.Sprintf("%s: delivery %s, %d attempt(s), lease ran out %s ago, in flight at the kill: %v",
				id, state, attempts, time.Since(lease).Round(time.Second), inflightIDs[id]))
		}
		p, _ := rdb.XPending(ctx, stream, workers.NotificationGroup).Result()
		dead, _ := rdb.XLen(ctx, stream+":dead").Result()
		unpublished := r.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
		t.Errorf("%s after the second worker started (%s after the kill; dead worker's entries taken over %s after it): %d of %d notifications never reached the device, their lease long over; stream entries pending: %+v; dead-lettered: %d; outbox rows unpublished: %d:\n  %s",
			took.Round(time.Second), time.Since(killed).Round(time.Second), reclaimed.Round(time.Second), len(miss), len(ids), p, dead, unpublished, strings.Join(why, "\n  "))
	}
	dups, dupIDs := extra(got)
	for _, id := range dupIDs {
		if !inflightIDs[id] {
			t.Errorf("notification %s pushed twice although it was not in flight at the kill", id)
		}
	}
	if dups > len(flying) {
		t.Errorf("%d duplicates, more than the %d deliveries in flight at the kill", dups, len(flying))
	}
	t.Logf("SIGKILL: %d notifications (%s); the second worker delivered all but the in-flight ones %s after it started (%d queued again by its republish job); the dead worker's entries were taken over %s after the kill; all delivered: %v (%s after the second worker started, real lease: %v); duplicates %d (in flight at the kill: %d, of which FCM had accepted %d)",
		len(ids), r.leadSummary(), allButInflight.Round(time.Millisecond), b.requeued(), reclaimed.Round(time.Second), ok, took.Round(time.Millisecond), real, dups, len(flying), acceptedUnrecorded)
}

// dedicatedRedis runs a redis-server of its own on port, without
// persistence: killed, it comes back empty.
type dedicatedRedis struct {
	t    *testing.T
	port string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startDedicatedRedis(t *testing.T, port, dir string) *dedicatedRedis {
	t.Helper()
	d := &dedicatedRedis{t: t, port: port, dir: dir}
	d.start()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

func (d *dedicatedRedis) start() {
	d.t.Helper()
	d.cmd = exec.Command("/usr/bin/redis-server", "--port", d.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--dir", d.dir, "--loglevel", "warning")
	d.done = make(chan struct{})
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(d.cmd, d.done)
	if !waitUntil(10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+d.port, 100*time.Millisecond)
		if err != nil {
			return false
		}
		defer c.Close()
		_, _ = c.Write([]byte("PING\r\n"))
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		buf := make([]byte, 7)
		n, _ := c.Read(buf)
		return strings.HasPrefix(string(buf[:n]), "+PONG")
	}) {
		d.t.Fatalf("redis-server on port %s did not start", d.port)
	}
}

func (d *dedicatedRedis) kill9() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		d.t.Fatal(err)
	}
	<-d.done
}

// Redis, without persistence, is killed while pushes flow and comes back
// empty: stream, group and pending entries gone. Meanwhile clinical writes
// succeed and the detector keeps writing notifications and outbox rows in
// PostgreSQL. Once Redis is back every notification reaches the device —
// the relay publishes what waited, the republish job what Redis lost — and
// none twice.
func TestFaultRedisRestart(t *testing.T) {
	t.Parallel()
	const before, during = 40, 10
	r := newFaultRig(t, "redis")
	_, port, _ := net.SplitHostPort(freePort(t))
	red := startDedicatedRedis(t, port, t.TempDir())
	url := "redis://127.0.0.1:" + port + "/0"
	_, tok := r.signIn("alt.lead.x", true)
	tokens := []string{tok}
	nurse, _ := r.signIn("alt.nurse.x", false)
	r.fake.Delay(60 * time.Millisecond)
	w := r.startWorker("W", url)
	// A dose due an hour ago, in its window: recorded while Redis is down.
	inWindow := r.lateDose(time.Hour)
	r.lateDoses(before)
	if !waitUntil(30*time.Second, func() bool { return len(r.fake.Messages()) >= 5 }) {
		t.Fatalf("no pushes before Redis went down: %d", len(r.fake.Messages()))
	}
	red.kill9()
	down := time.Now()
	atKill := len(r.fake.Messages())
	notesAtKill := len(r.leadNotifications())

	// Redis down: a dose is recorded (given without a scan, which raises a
	// notification to the lead in the recording transaction) and more
	// doses go late; the detector notifies them.
	ctx := context.Background()
	if _, _, err := r.svc.Therapy.Record(ctx, nurse, uuid.New(), []byte("fault-redis"), therapy.RecordRequest{DoseID: inWindow,
		Outcome: therapy.Given, UnableToScan: "wristband_damaged"}); err != nil {
		t.Fatalf("recording a dose with Redis down: %v", err)
	}
	r.lateDoses(during)
	written := func() bool { return r.leadKinds("dose_late") >= before+during && r.leadKinds("unable_to_scan") >= 1 }
	if !waitUntil(15*time.Second, written) {
		t.Fatalf("with Redis down the detector and the bedside did not notify the lead: %s; want dose_late %d, unable_to_scan 1",
			r.leadSummary(), before+during)
	}
	// Keep Redis down past REPUBLISH_AFTER: the republish job runs too.
	time.Sleep(time.Until(down.Add(4 * time.Second)))
	unpublished := r.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
	duringOutage := len(r.fake.Messages()) - atKill
	if unpublished == 0 {
		t.Errorf("no outbox row waits while Redis is down")
	}
	w.alive(t)

	red.start()
	up := time.Now()
	var ids []string
	ok := waitUntil(45*time.Second, func() bool {
		ids = r.leadNotifications()
		return written() && len(missing(ids, r.pushes(), tokens)) == 0
	})
	took := time.Since(up)
	w.alive(t)
	if !ok {
		miss := missing(ids, r.pushes(), tokens)
		var why []string
		for _, id := range miss {
			var state string
			var attempts int
			err := r.db.Pool.QueryRow(ctx, `SELECT state, attempts FROM push_deliveries WHERE notification_id = $1`, id).Scan(&state, &attempts)
			var pub *time.Time
			_ = r.db.Pool.QueryRow(ctx, `SELECT max(published_at) FROM outbox WHERE notification_id = $1`, id).Scan(&pub)
			why = append(why, fmt.Sprintf("%s: delivery %s/%d (%v), outbox published %v", id, state, attempts, err, pub))
		}
		t.Errorf("%s after Redis came back: %d of %d notifications never reached the device:\n  %s", took.Round(time.Second), len(miss), len(ids), strings.Join(why, "\n  "))
	}
	// Anything queued twice (republished copies, relay retries) shows now.
	time.Sleep(4 * time.Second)
	ids = r.leadNotifications()
	got := r.pushes()
	if miss := missing(ids, got, tokens); len(miss) != 0 {
		t.Errorf("notifications not delivered: %v", miss)
	}
	dups, dupIDs := extra(got)
	if dups != 0 {
		t.Errorf("%d pushes sent twice: %v", dups, dupIDs)
	}
	if n, m := r.leadKinds("dose_late"), r.leadKinds("unable_to_scan"); n != before+during || m != 1 {
		t.Errorf("the lead has %d late-dose and %d unable-to-scan notifications, want %d and 1", n, m, before+during)
	}
	if n := r.scalar("SELECT count(*) FROM push_deliveries WHERE state <> 'accepted'"); n != 0 {
		t.Errorf("%d deliveries not accepted", n)
	}
	t.Logf("Redis restart: %d notifications (%s; %d before the kill, %d written while Redis was down for %s); %d pushes accepted before the kill, %d during the outage (entries already read); %d outbox rows waiting at restart; all %d delivered %s after Redis came back (%d queued again by the republish job); duplicates %d",
		len(ids), r.leadSummary(), notesAtKill, len(ids)-notesAtKill, up.Sub(down).Round(time.Millisecond), atKill, duringOutage, unpublished, len(got), took.Round(time.Millisecond), w.requeued(), dups)
}

// Redis restarts empty while deliveries wait for a retry (FCM answered 500:
// the delivery row is 'failed', the retry lives only in the stream's
// pending list). FCM recovers: the retries lost with Redis must still be
// made — PostgreSQL, not Redis, is the source of truth.
func TestFaultRedisRestartLosesPendingRetries(t *testing.T) {
	t.Parallel()
	const doses = 5
	r := newFaultRig(t, "retries")
	_, port, _ := net.SplitHostPort(freePort(t))
	red := startDedicatedRedis(t, port, t.TempDir())
	url := "redis://127.0.0.1:" + port + "/0"
	_, tok := r.signIn("alt.lead.x", true)
	r.fake.FailNext(1_000_000, 500) // FCM down until reset
	w := r.startWorker("W", url)
	r.lateDoses(doses)
	if !waitUntil(30*time.Second, func() bool {
		return r.scalar("SELECT count(*) FROM push_deliveries WHERE state = 'failed'") >= doses
	}) {
		t.Fatalf("deliveries failed: %d, want %d", r.scalar("SELECT count(*) FROM push_deliveries WHERE state = 'failed'"), doses)
	}
	red.kill9()
	r.fake.Reset() // FCM is back (its access tokens stay valid)
	time.Sleep(time.Second)
	red.start()
	up := time.Now()
	// Republish job every 1.5 s (REPUBLISH_AFTER 3 s), relay, a send. Only
	// live chains are sent again: a due-dose reminder to the lead (she is
	// also a nurse on duty) whose window has closed is over, not lost.
	ok := waitUntil(30*time.Second, func() bool {
		return r.leadKinds("dose_late") >= doses && len(missing(r.liveLeadNotifications(), r.pushes(), []string{tok})) == 0
	})
	w.alive(t)
	failed := r.scalar("SELECT count(*) FROM push_deliveries WHERE state = 'failed'")
	t.Logf("retries lost with Redis: %d of %d delivered %s after Redis came back; deliveries still 'failed': %d; queued again by the republish job: %d",
		r.fake.Count(tok), doses, time.Since(up).Round(time.Millisecond), failed, w.requeued())
	if !ok {
		t.Errorf("%d of %d notifications whose retry Redis lost were never sent again (push_deliveries 'failed': %d; "+
			"the republish job skips every notification that has a delivery row)", doses-r.fake.Count(tok), doses, failed)
	}
	// The lead is also a nurse on duty: due-dose reminders may come on top
	// of the late-dose alerts. What must not happen is one notification
	// pushed twice.
	if dups, ids := extra(r.pushes()); dups != 0 {
		t.Errorf("%d pushes sent twice: %v", dups, ids)
	}
}
