// Package audit is the record of who saw and changed what. Every read or
// write of resident data appends an Event; events are append-only and
// hash-chained per facility by the database, and Verify walks a chain and
// names its first broken link. Auditors list events and produce a resident's
// access report; they read nothing clinical.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strconv"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/google/uuid"
)

// Outcome of an audited act.
type Outcome string

const (
	Success Outcome = "success"
	Denied  Outcome = "denied"
	Failure Outcome = "failure"
)

// SystemFacility is the chain for events tied to no facility, such as a
// sign-in attempt with an unknown user name.
var SystemFacility = uuid.Nil

// Event is one audited act. Seq, ID, OccurredAt and the hashes are set by
// the database when the event is appended.
type Event struct {
	FacilityID   uuid.UUID
	Chain        int16
	Seq          int64
	ID           uuid.UUID
	OccurredAt   time.Time
	ActorID      uuid.UUID
	ActorRoles   []string
	DeviceID     uuid.UUID
	IP           string
	Action       string // e.g. "resident.read", "auth.login"
	ResourceType string // e.g. "resident", "allergy", "session"
	ResourceID   string
	ResidentID   uuid.UUID
	// ResidentIDs names every resident a list showed (a ward's residents):
	// one event for the list, found by each resident's access report.
	ResidentIDs []uuid.UUID
	Outcome     Outcome
	Detail      string // a machine code or short safe note; never clinical text
	BreakGlass  string // the grant's reason when access came from break-the-glass
	RequestID   string
	// ActorName is filled in when events are listed, for reports.
	ActorName string
}

// By returns an event for an act of a, with the actor's identity, device,
// address and request id filled in.
func By(a *backend.Actor, action, resourceType, resourceID string, resident uuid.UUID, outcome Outcome) Event {
	ev := Event{Action: action, ResourceType: resourceType, ResourceID: resourceID, ResidentID: resident, Outcome: outcome}
	if a != nil {
		ev.FacilityID = a.FacilityID
		ev.ActorID = a.StaffID
		ev.ActorRoles = a.RoleStrings()
		ev.DeviceID = a.DeviceID
		if a.IP.IsValid() {
			ev.IP = a.IP.String()
		}
		ev.RequestID = a.RequestID
	}
	return ev
}

// Filter selects events for listing. FacilityID is always the auditor's.
type Filter struct {
	FacilityID uuid.UUID
	ResidentID uuid.UUID
	ActorID    uuid.UUID
	From, To   time.Time
	// Before pages back: events strictly older than this cursor (the
	// OccurredAt and ID of the last event of the previous page).
	Before Cursor
	Limit  int
}

// Cursor is a position in the trail, newest first.
type Cursor struct {
	At time.Time
	ID uuid.UUID
}

// IsZero reports whether the cursor is unset.
func (c Cursor) IsZero() bool { return c.At.IsZero() }

// Link is one stored event of a chain with its stored hashes. Chain, Seq and
// ID mirror the event's, for reports.
type Link struct {
	Event
	PrevHash []byte
	Hash     []byte
}

// Hash is an event's link: SHA-256 over the previous hash and the event's
// fields, each written as "<byte length>:<text>" — the same bytes the
// database's audit_event_hash() hashes. Recomputing it here means verifying
// the chain does not depend on trusting a function stored in the database.
func Hash(prev []byte, e Event) []byte {
	id := func(u uuid.UUID) string {
		if u == uuid.Nil {
			return ""
		}
		return u.String()
	}
	listed := make([]string, len(e.ResidentIDs))
	for i, r := range e.ResidentIDs {
		listed[i] = r.String()
	}
	fields := []string{
		e.FacilityID.String(), strconv.Itoa(int(e.Chain)), strconv.FormatInt(e.Seq, 10), e.ID.String(),
		strconv.FormatInt(e.OccurredAt.UnixMicro(), 10), id(e.ActorID), strings.Join(e.ActorRoles, ","),
		id(e.DeviceID), e.IP, e.Action, e.ResourceType, e.ResourceID, id(e.ResidentID), strings.Join(listed, ","),
		string(e.Outcome), e.Detail, e.BreakGlass, e.RequestID,
	}
	h := sha256.New()
	h.Write(prev)
	for _, f := range fields {
		h.Write([]byte(strconv.Itoa(len(f)) + ":" + f))
	}
	return h.Sum(nil)
}

// Head is the chain head the database keeps: the last sequence and hash.
type Head struct {
	LastSeq  int64
	LastHash []byte
}

// Report is the outcome of verifying one facility's chains.
type Report struct {
	FacilityID uuid.UUID `json:"facility_id"`
	Chains     int       `json:"chains"`
	Events     int64     `json:"events"`
	OK         bool      `json:"ok"`
	// BrokenChain, BrokenSeq and BrokenID name the first event whose link
	// does not hold; Problem says how.
	BrokenChain *int16     `json:"broken_chain,omitempty"`
	BrokenSeq   int64      `json:"broken_seq,omitempty"`
	BrokenID    *uuid.UUID `json:"broken_id,omitempty"`
	Problem     string     `json:"problem,omitempty"`
	// Heads are the chain heads the walk ended on, to anchor elsewhere.
	Heads map[int16]Head `json:"-"`
}

// Store persists and reads events.
type Store interface {
	AppendAudit(ctx context.Context, events ...Event) error
	ListAudit(ctx context.Context, f Filter) ([]Event, error)
	// WalkChain calls fn for each event of the facility in (chain, seq)
	// order and returns the heads by chain; fn returning false stops the walk.
	WalkChain(ctx context.Context, facility uuid.UUID, fn func(Link) bool) (map[int16]Head, error)
	Facilities(ctx context.Context) ([]uuid.UUID, error)
}

// Genesis is the previous-hash of a chain's first event.
var Genesis = make([]byte, 32)

// Verifier checks links one at a time, in (chain, seq) order.
type Verifier struct {
	report Report
	last   map[int16]Link
}

// NewVerifier starts verifying facility's chains.
func NewVerifier(facility uuid.UUID) *Verifier {
	return &Verifier{report: Report{FacilityID: facility, OK: true}, last: map[int16]Link{}}
}

func (v *Verifier) fail(chain int16, seq int64, id *uuid.UUID, problem string) {
	v.report.OK, v.report.BrokenChain, v.report.BrokenSeq, v.report.BrokenID, v.report.Problem = false, &chain, seq, id, problem
}

// Check takes the next link; it returns false at the first broken one.
func (v *Verifier) Check(l Link) bool {
	if !v.report.OK {
		return false
	}
	v.report.Events++
	prev, seen := v.last[l.Chain]
	if !seen {
		prev = Link{Hash: Genesis}
	}
	id := l.ID
	switch {
	case l.Seq != prev.Seq+1:
		v.fail(l.Chain, l.Seq, &id, "sequence gap: an event before this one is missing")
	case !bytes.Equal(l.PrevHash, prev.Hash):
		v.fail(l.Chain, l.Seq, &id, "previous-hash mismatch: the preceding event was altered or replaced")
	case !bytes.Equal(l.Hash, Hash(l.PrevHash, l.Event)):
		v.fail(l.Chain, l.Seq, &id, "content hash mismatch: this event was altered after it was written")
	default:
		v.last[l.Chain] = l
		return true
	}
	return false
}

// Finish compares the end of each chain with its head and returns the report.
func (v *Verifier) Finish(heads map[int16]Head) Report {
	v.report.Chains, v.report.Heads = len(heads), heads
	if !v.report.OK {
		return v.report
	}
	for chain := int16(0); chain < 8; chain++ {
		h, ok := heads[chain]
		last := v.last[chain]
		if !ok && last.Seq == 0 {
			continue
		}
		if h.LastSeq != last.Seq || !bytes.Equal(h.LastHash, last.Hash) {
			v.fail(chain, last.Seq+1, nil, "chain head mismatch: events at the end of the chain are missing or altered")
			break
		}
	}
	return v.report
}

// DefaultPage is the number of events listed when no limit is asked for.
const DefaultPage = 200

// Service is the auditors' view of the trail.
type Service struct {
	Store Store
}

// List returns events matching f within the auditor's facility.
func (s *Service) List(ctx context.Context, a *backend.Actor, f Filter) ([]Event, error) {
	if !access.Can(a, access.ReadAudit) {
		return nil, backend.E(backend.KindForbidden, backend.CodeForbidden)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = DefaultPage
	}
	f.FacilityID = a.FacilityID
	evs, err := s.Store.ListAudit(ctx, f)
	if err != nil {
		return nil, err
	}
	// Reading the trail is itself audited.
	ev := By(a, "audit.read", "audit", "", f.ResidentID, Success)
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return nil, err
	}
	return evs, nil
}

// AccessReport lists who accessed a resident's record between from and to:
// the report a resident may ask for (GDPR art. 15). Auditors only.
func (s *Service) AccessReport(ctx context.Context, a *backend.Actor, residentID uuid.UUID, from, to time.Time) ([]Event, error) {
	if residentID == uuid.Nil {
		return nil, backend.Invalid("audit.resident_required", "resident_id", "required")
	}
	if from.IsZero() || to.IsZero() || !from.Before(to) {
		return nil, backend.Invalid("audit.period_required", "from", "from and to are required, from before to")
	}
	if !access.Can(a, access.ReadAudit) {
		return nil, backend.E(backend.KindForbidden, backend.CodeForbidden)
	}
	var out []Event
	f := Filter{FacilityID: a.FacilityID, ResidentID: residentID, From: from, To: to, Limit: 1000}
	for {
		page, err := s.Store.ListAudit(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < f.Limit || len(out) >= 100000 {
			break
		}
		last := page[len(page)-1]
		f.Before = Cursor{At: last.OccurredAt, ID: last.ID}
	}
	ev := By(a, "audit.access_report", "audit", "", residentID, Success)
	return out, s.Store.AppendAudit(ctx, ev)
}

// Verify walks the actor's facility chain.
func (s *Service) Verify(ctx context.Context, a *backend.Actor) (Report, error) {
	if !access.Can(a, access.VerifyAudit) {
		return Report{}, backend.E(backend.KindForbidden, backend.CodeForbidden)
	}
	rep, err := VerifyChain(ctx, s.Store, a.FacilityID)
	if err != nil {
		return rep, err
	}
	ev := By(a, "audit.verify", "audit", "", uuid.Nil, Success)
	if !rep.OK {
		ev.Detail = "broken"
	}
	return rep, s.Store.AppendAudit(ctx, ev)
}

// VerifyChain walks one facility's chain and reports its first broken link.
func VerifyChain(ctx context.Context, st Store, facility uuid.UUID) (Report, error) {
	v := NewVerifier(facility)
	head, err := st.WalkChain(ctx, facility, v.Check)
	if err != nil {
		return Report{}, err
	}
	return v.Finish(head), nil
}

// VerifyAll verifies every facility's chain, the system chain included.
func VerifyAll(ctx context.Context, st Store) ([]Report, error) {
	fs, err := st.Facilities(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Report, 0, len(fs))
	for _, f := range fs {
		r, err := VerifyChain(ctx, st, f)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
