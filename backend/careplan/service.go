package careplan

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/guard"
	"github.com/google/uuid"
)

// Continued is what a new version takes from an intervention it
// continues: its line, and its kind, which must stay the same.
type Continued struct {
	Line uuid.UUID
	Kind Kind
}

// ResidentFacts is what the service knows of a resident to decide access.
type ResidentFacts = guard.ResidentFacts

// StoredResponse is the first answer given to an idempotency key.
type StoredResponse = backend.StoredResponse

// WardResident is a resident on a ward's task list.
type WardResident struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
	Bed  string    `json:"bed"`
	// Away: not in the facility now (in hospital, discharged); her tasks
	// not ticked are not shown, there being nobody to do them for.
	Away bool `json:"away,omitempty"`
}

// Store reads care plans and opens write transactions.
type Store interface {
	Resident(ctx context.Context, facility, id, staff uuid.UUID) (ResidentFacts, error)
	TimeZone(ctx context.Context, facility uuid.UUID) (string, error)
	// Versions lists a resident's versions, newest first, with their
	// signatures and status but without content.
	Versions(ctx context.Context, facility, resident uuid.UUID) ([]Version, error)
	// Version reads one version whole (not found: KindNotFound).
	Version(ctx context.Context, facility, id uuid.UUID) (Version, error)
	// Periods lists the versions in force during [from, to) for the
	// current residents of ward (or for resident when ward is Nil), with
	// their task-generating interventions. A ward not in the facility:
	// KindNotFound.
	Periods(ctx context.Context, facility, ward, resident uuid.UUID, from, to time.Time) ([]Period, []WardResident, error)
	// WardPlans lists a ward's admitted residents with the head of their
	// version in force (if any) and how many drafts wait on it. A ward not
	// in the facility: KindNotFound.
	WardPlans(ctx context.Context, facility, ward uuid.UUID) ([]WardPlan, error)
	// LatestResults lists the resident's latest valid result of each
	// scale, newest first.
	LatestResults(ctx context.Context, facility, resident uuid.UUID) ([]Result, error)
	// Records lists the task records of lines due in [from, to),
	// corrections filled.
	Records(ctx context.Context, facility uuid.UUID, lines []uuid.UUID, from, to time.Time) ([]Record, error)
	AppendAudit(ctx context.Context, events ...audit.Event) error
	Tx(ctx context.Context, actor *backend.Actor, fn func(Tx) error) error
}

// Tx is what a write transaction offers.
type Tx interface {
	LockKey(ctx context.Context, facility, staff, key uuid.UUID) (*StoredResponse, error)
	SaveResponse(ctx context.Context, facility, staff, key uuid.UUID, r StoredResponse) error
	// LockPlan serialises changes to one resident's plan (exclusive);
	// LockPlanShared lets ticks run side by side but not beside a change.
	LockPlan(ctx context.Context, facility, resident uuid.UUID) error
	LockPlanShared(ctx context.Context, facility, resident uuid.UUID) error
	// InForce is the version in force for the resident, or nil.
	InForce(ctx context.Context, facility, resident uuid.UUID) (*uuid.UUID, error)
	NextVersionNo(ctx context.Context, facility, resident uuid.UUID) (int, error)
	// Refs returns which of problems are problem-list entries of the
	// resident, and the line and kind of each of interventions that
	// belongs to version basedOn.
	Refs(ctx context.Context, facility, resident uuid.UUID, basedOn *uuid.UUID, problems, interventions []uuid.UUID) (okProblems []uuid.UUID, continued map[uuid.UUID]Continued, err error)
	InsertVersion(ctx context.Context, facility uuid.UUID, v *Version) error
	// Version reads one version whole.
	Version(ctx context.Context, facility, id uuid.UUID) (Version, error)
	// InsertSignature adds a signature; false when the staff member had
	// already signed.
	InsertSignature(ctx context.Context, facility, version uuid.UUID, s Signature) (bool, error)
	Activate(ctx context.Context, facility, resident, version uuid.UUID, previous *uuid.UUID, at time.Time) error
	// Intervention reads an intervention with the period in which its
	// version was (or is) in force; not in force ever: From zero.
	Intervention(ctx context.Context, facility, id uuid.UUID) (Intervention, Period, error)
	// TaskRecords reads and locks the records of one task (a line at a
	// due time).
	TaskRecords(ctx context.Context, facility, line uuid.UUID, due time.Time) ([]Record, error)
	InsertRecord(ctx context.Context, facility uuid.UUID, r *Record, device uuid.UUID) error
	// Record reads and locks one record with its correction.
	Record(ctx context.Context, facility, id uuid.UUID) (Record, error)
	InsertCorrection(ctx context.Context, facility, record uuid.UUID, c *Correction) error
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Service writes and reads care plans and their tasks.
type Service struct {
	Store Store
	Clock backend.Clock
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

// guard decides access on residents and audits refusals (backend/guard).
func (s *Service) guard() guard.Guard {
	return guard.Guard{Lookup: s.Store.Resident, Audit: s.Store.AppendAudit}
}

func (s *Service) denied(ctx context.Context, a *backend.Actor, action access.Action, resource string, id, resident uuid.UUID, cause error) error {
	return s.guard().Denied(ctx, a, action, resource, id, resident, cause)
}

func (s *Service) residentFor(ctx context.Context, a *backend.Actor, action access.Action, id uuid.UUID) (ResidentFacts, access.Decision, error) {
	return s.guard().Resident(ctx, a, action, id)
}

func (s *Service) location(ctx context.Context, facility uuid.UUID) (*time.Location, error) {
	tz, err := s.Store.TimeZone(ctx, facility)
	if err != nil {
		return nil, err
	}
	loc, err := backend.Zone(tz)
	if err != nil {
		return nil, err
	}
	return loc, nil
}

func errStale() error {
	return backend.E(backend.KindConflict, "care_plan.stale",
		"the plan in force has changed since this draft was based on it: read it again and draft on it")
}

// Propose writes a new version of a resident's plan as a draft signed by
// its author, exactly once under retries. based_on must be the version
// in force (none for a first plan): a proposal written on an old reading
// is refused (409 care_plan.stale), never merged silently.
func (s *Service) Propose(ctx context.Context, a *backend.Actor, resident, key uuid.UUID, hash []byte, req VersionRequest) (Version, bool, error) {
	const op = "care_plan.propose"
	if key == uuid.Nil {
		return Version{}, false, invalid("idempotency.key_required", "Idempotency-Key", "send a UUID generated once per proposal")
	}
	if _, _, err := s.residentFor(ctx, a, access.WriteCarePlan, resident); err != nil {
		return Version{}, false, err
	}
	prof, ok := ProfessionOf(a)
	if !ok {
		return Version{}, false, backend.E(backend.KindForbidden, backend.CodeForbidden, "only members of the care team write the PAI")
	}
	loc, err := s.location(ctx, a.FacilityID)
	if err != nil {
		return Version{}, false, err
	}
	now := s.now()
	if err := req.Validate(now.In(loc).Format(DateLayout)); err != nil {
		return Version{}, false, err
	}
	v := Version{ID: uuid.New(), ResidentID: resident, BasedOn: req.BasedOn, ReviewDate: req.ReviewDate, Summary: req.Summary,
		Status: StatusDraft, RecordedBy: a.StaffID, RecordedAt: now, Problems: req.Build(uuid.New),
		Signatures: []Signature{{StaffID: a.StaffID, Profession: prof, SignedAt: now}}}
	var replay bool
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		replay = false
		stored, err := tx.LockKey(ctx, a.FacilityID, a.StaffID, key)
		if err != nil {
			return err
		}
		if stored != nil {
			if err := stored.Replay(op, hash, &v); err != nil {
				return err
			}
			replay = true
			return nil
		}
		if err := tx.LockPlan(ctx, a.FacilityID, resident); err != nil {
			return err
		}
		cur, err := tx.InForce(ctx, a.FacilityID, resident)
		if err != nil {
			return err
		}
		if !sameID(cur, req.BasedOn) {
			return errStale()
		}
		if err := s.checkRefs(ctx, tx, a.FacilityID, resident, req.BasedOn, v.Problems); err != nil {
			return err
		}
		if v.VersionNo, err = tx.NextVersionNo(ctx, a.FacilityID, resident); err != nil {
			return err
		}
		if err := tx.InsertVersion(ctx, a.FacilityID, &v); err != nil {
			return err
		}
		if v, err = tx.Version(ctx, a.FacilityID, v.ID); err != nil {
			return err
		}
		ev := audit.By(a, string(access.WriteCarePlan), "care_plan_version", v.ID.String(), resident, audit.Success)
		ev.Detail = "proposed version " + itoa(v.VersionNo)
		if err := tx.AppendAudit(ctx, ev); err != nil {
			return err
		}
		body, err := json.Marshal(v)
		if err != nil {
			return backend.Internal(err, "marshal care plan version")
		}
		return tx.SaveResponse(ctx, a.FacilityID, a.StaffID, key, StoredResponse{Operation: op, Hash: hash, Body: body})
	})
	if err != nil {
		return Version{}, false, err
	}
	return v, replay, nil
}

func sameID(a, b *uuid.UUID) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// checkRefs refuses problem-list links to another resident's problems and
// "continues" links outside the version the draft is based on, and sets
// the line of each intervention that continues another.
func (s *Service) checkRefs(ctx context.Context, tx Tx, facility, resident uuid.UUID, basedOn *uuid.UUID, problems []Problem) error {
	var pids, ivs []uuid.UUID
	for _, p := range problems {
		if p.ProblemID != nil {
			pids = append(pids, *p.ProblemID)
		}
		for _, iv := range Interventions([]Problem{p}) {
			if iv.Continues != nil {
				ivs = append(ivs, *iv.Continues)
			}
		}
	}
	if len(pids) == 0 && len(ivs) == 0 {
		return nil
	}
	okP, lines, err := tx.Refs(ctx, facility, resident, basedOn, pids, ivs)
	if err != nil {
		return err
	}
	for i, p := range problems {
		if p.ProblemID != nil && !slices.Contains(okP, *p.ProblemID) {
			return &backend.Error{Kind: backend.KindUnprocessable, Code: "care_plan.invalid_problem",
				Detail: "problem_id: a problem on this resident's problem list",
				Fields: map[string]string{"problems[" + itoa(i) + "].problem_id": "a problem on this resident's problem list"}}
		}
	}
	badContinues := func(why string) error {
		return &backend.Error{Kind: backend.KindUnprocessable, Code: "care_plan.invalid_continues",
			Detail: "continues: " + why, Fields: map[string]string{"continues": why}}
	}
	// An intervention that continues another carries on its line: the
	// same kind of care (a tick of one counts for the other), and one
	// intervention of the new version per line.
	taken := map[uuid.UUID]bool{}
	for pi := range problems {
		for gi := range problems[pi].Goals {
			for ii := range problems[pi].Goals[gi].Interventions {
				iv := &problems[pi].Goals[gi].Interventions[ii]
				if iv.Continues == nil {
					continue
				}
				c, ok := lines[*iv.Continues]
				switch {
				case !ok:
					return badContinues("an intervention of the version this draft is based on")
				case c.Kind != iv.Kind:
					return badContinues("an intervention of the same kind")
				case taken[c.Line]:
					return badContinues("each intervention continued once")
				}
				taken[c.Line], iv.LineID = true, c.Line
			}
		}
	}
	return nil
}

// Sign adds the actor's signature to a draft. When the signatures reach
// AgreedProfessions professions, the draft comes into force in the same
// transaction and the version it was based on is superseded. Signing a
// version twice is one signature; signing a stale draft or one that has
// already been in force is refused.
func (s *Service) Sign(ctx context.Context, a *backend.Actor, id uuid.UUID) (Version, error) {
	notFound := backend.E(backend.KindNotFound, "care_plan.not_found")
	v, err := s.Store.Version(ctx, a.FacilityID, id)
	if backend.IsKind(err, backend.KindNotFound) {
		return Version{}, s.denied(ctx, a, access.SignCarePlan, "care_plan_version", id, uuid.Nil, notFound)
	}
	if err != nil {
		return Version{}, err
	}
	if _, _, err := s.residentFor(ctx, a, access.SignCarePlan, v.ResidentID); err != nil {
		if backend.IsKind(err, backend.KindNotFound) {
			return Version{}, notFound
		}
		return Version{}, err
	}
	prof, ok := ProfessionOf(a)
	if !ok {
		return Version{}, backend.E(backend.KindForbidden, backend.CodeForbidden, "only members of the care team sign the PAI")
	}
	now := s.now()
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		if err := tx.LockPlan(ctx, a.FacilityID, v.ResidentID); err != nil {
			return err
		}
		if v, err = tx.Version(ctx, a.FacilityID, id); err != nil {
			return err
		}
		// A retried signature (its answer lost) is answered as the first,
		// whatever the version's status since.
		if slices.ContainsFunc(v.Signatures, func(s Signature) bool { return s.StaffID == a.StaffID }) {
			return nil
		}
		switch v.Status {
		case StatusInForce, StatusSuperseded:
			return backend.E(backend.KindConflict, "care_plan.already_in_force", "this version has already come into force; propose a new one to change it")
		case StatusStale:
			return errStale()
		}
		added, err := tx.InsertSignature(ctx, a.FacilityID, id, Signature{StaffID: a.StaffID, Profession: prof, SignedAt: now})
		if err != nil {
			return err
		}
		if !added {
			return nil
		}
		if v, err = tx.Version(ctx, a.FacilityID, id); err != nil {
			return err
		}
		ev := audit.By(a, string(access.SignCarePlan), "care_plan_version", id.String(), v.ResidentID, audit.Success)
		ev.Detail = "signed as " + string(prof)
		if Agreed(v.Signatures) {
			cur, err := tx.InForce(ctx, a.FacilityID, v.ResidentID)
			if err != nil {
				return err
			}
			if !sameID(cur, v.BasedOn) {
				return errStale()
			}
			if err := tx.Activate(ctx, a.FacilityID, v.ResidentID, id, cur, now); err != nil {
				if backend.IsCode(err, "duplicate") {
					return errStale()
				}
				return err
			}
			ev.Detail += "; in force"
			if v, err = tx.Version(ctx, a.FacilityID, id); err != nil {
				return err
			}
		}
		return tx.AppendAudit(ctx, ev)
	})
	if err != nil {
		return Version{}, err
	}
	return v, nil
}

// Plan is a resident's plan as a reader opens it: the version in force,
// the drafts waiting for signatures and the history of versions.
type Plan struct {
	ResidentID uuid.UUID `json:"resident_id"`
	InForce    *Version  `json:"in_force"`
	Drafts     []Version `json:"drafts"`
	Versions   []Version `json:"versions"`
	ReviewDue  bool      `json:"review_due"`
	// Proposals are the interventions the latest assessments suggest.
	Proposals []Proposal `json:"proposals"`
}

// Current reads a resident's plan, with the proposals of her latest
// assessments (labels in lang). Audited as a read.
func (s *Service) Current(ctx context.Context, a *backend.Actor, resident uuid.UUID, lang string) (Plan, error) {
	_, d, err := s.residentFor(ctx, a, access.ReadResident, resident)
	if err != nil {
		return Plan{}, err
	}
	loc, err := s.location(ctx, a.FacilityID)
	if err != nil {
		return Plan{}, err
	}
	list, err := s.Store.Versions(ctx, a.FacilityID, resident)
	if err != nil {
		return Plan{}, err
	}
	out := Plan{ResidentID: resident, Drafts: []Version{}, Versions: list}
	if out.Versions == nil {
		out.Versions = []Version{}
	}
	for _, v := range list {
		switch v.Status {
		case StatusInForce:
			full, err := s.Store.Version(ctx, a.FacilityID, v.ID)
			if err != nil {
				return Plan{}, err
			}
			out.InForce = &full
			out.ReviewDue = full.ReviewDue(s.now().In(loc).Format(DateLayout))
		case StatusDraft:
			full, err := s.Store.Version(ctx, a.FacilityID, v.ID)
			if err != nil {
				return Plan{}, err
			}
			out.Drafts = append(out.Drafts, full)
		}
	}
	results, err := s.Store.LatestResults(ctx, a.FacilityID, resident)
	if err != nil {
		return Plan{}, err
	}
	out.Proposals = Proposals(results, out.InForce, lang)
	ev := audit.By(a, "care_plan.read", "resident", resident.String(), resident, audit.Success)
	ev.BreakGlass = d.BreakGlass
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return Plan{}, err
	}
	return out, nil
}

// Version reads one version whole, in force or not. Audited as a read.
func (s *Service) Version(ctx context.Context, a *backend.Actor, id uuid.UUID) (Version, error) {
	notFound := backend.E(backend.KindNotFound, "care_plan.not_found")
	v, err := s.Store.Version(ctx, a.FacilityID, id)
	if backend.IsKind(err, backend.KindNotFound) {
		return Version{}, s.denied(ctx, a, access.ReadResident, "care_plan_version", id, uuid.Nil, notFound)
	}
	if err != nil {
		return Version{}, err
	}
	_, d, err := s.residentFor(ctx, a, access.ReadResident, v.ResidentID)
	if err != nil {
		if backend.IsKind(err, backend.KindNotFound) {
			return Version{}, notFound
		}
		return Version{}, err
	}
	ev := audit.By(a, "care_plan.read", "care_plan_version", id.String(), v.ResidentID, audit.Success)
	ev.BreakGlass = d.BreakGlass
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return Version{}, err
	}
	return v, nil
}

// TaskList is the care tasks of a period, for a ward or a resident.
type TaskList struct {
	From      time.Time      `json:"from"`
	To        time.Time      `json:"to"`
	TimeZone  string         `json:"time_zone"`
	Residents []WardResident `json:"residents"`
	Tasks     []Task         `json:"tasks"`
	Counts    map[string]int `json:"counts"`
}

func (s *Service) period(from, to time.Time, loc *time.Location) (time.Time, time.Time, error) {
	if from.IsZero() && to.IsZero() {
		f, t := ShiftBounds(s.now(), loc)
		return f, t, nil
	}
	if from.IsZero() || to.IsZero() || !to.After(from) || to.Sub(from) > MaxTaskPeriod {
		return from, to, invalid("care_task.invalid_period", "from", "from and to together, to after from, at most 48 hours (none: the current shift)")
	}
	return from.UTC(), to.UTC(), nil
}

// judged expands the tasks due in [from, to) for a ward's current
// residents (or one resident when ward is Nil) and judges each against its
// line's records at now. A resident away lists only the tasks ticked
// before she left, there being nobody to do the others for.
func (s *Service) judged(ctx context.Context, facility, ward, resident uuid.UUID, from, to time.Time, loc *time.Location) ([]Task, []WardResident, error) {
	periods, residents, err := s.Store.Periods(ctx, facility, ward, resident, from, to)
	if err != nil {
		return nil, nil, err
	}
	tasks := Expand(periods, from, to, loc)
	var lines []uuid.UUID
	for _, t := range tasks {
		if !slices.Contains(lines, t.LineID) {
			lines = append(lines, t.LineID)
		}
	}
	var records []Record
	if len(lines) > 0 {
		if records, err = s.Store.Records(ctx, facility, lines, from, to); err != nil {
			return nil, nil, err
		}
	}
	Judge(tasks, records, s.now())
	away := map[uuid.UUID]bool{}
	for _, r := range residents {
		away[r.ID] = r.Away
	}
	return slices.DeleteFunc(tasks, func(t Task) bool { return away[t.ResidentID] && t.Record == nil }), residents, nil
}

func (s *Service) tasks(ctx context.Context, a *backend.Actor, ward, resident uuid.UUID, from, to time.Time) (TaskList, error) {
	tz, err := s.Store.TimeZone(ctx, a.FacilityID)
	if err != nil {
		return TaskList{}, err
	}
	loc, err := backend.Zone(tz)
	if err != nil {
		return TaskList{}, err
	}
	if from, to, err = s.period(from, to, loc); err != nil {
		return TaskList{}, err
	}
	tasks, residents, err := s.judged(ctx, a.FacilityID, ward, resident, from, to, loc)
	if err != nil {
		return TaskList{}, err
	}
	out := TaskList{From: from, To: to, TimeZone: tz, Residents: residents, Tasks: tasks, Counts: map[string]int{}}
	if out.Tasks == nil {
		out.Tasks = []Task{}
	}
	if out.Residents == nil {
		out.Residents = []WardResident{}
	}
	for _, t := range tasks {
		out.Counts[t.State]++
	}
	return out, nil
}

// WardTasks lists the care tasks of a ward's current residents in
// [from, to) (both zero: the current shift). Anyone who sees the ward may
// read it; one audit event names every resident shown.
func (s *Service) WardTasks(ctx context.Context, a *backend.Actor, ward uuid.UUID, from, to time.Time) (TaskList, error) {
	notFound := backend.E(backend.KindNotFound, backend.CodeWardNotFound)
	if !access.SeesWard(a, a.FacilityID, ward) {
		return TaskList{}, s.denied(ctx, a, access.ReadResident, "ward", ward, uuid.Nil, notFound)
	}
	out, err := s.tasks(ctx, a, ward, uuid.Nil, from, to)
	if backend.IsKind(err, backend.KindNotFound) {
		return TaskList{}, s.denied(ctx, a, access.ReadResident, "ward", ward, uuid.Nil, notFound)
	}
	if err != nil {
		return TaskList{}, err
	}
	ev := audit.By(a, "care_task.ward_list", "ward", ward.String(), uuid.Nil, audit.Success)
	for _, r := range out.Residents {
		ev.ResidentIDs = append(ev.ResidentIDs, r.ID)
	}
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return TaskList{}, err
	}
	return out, nil
}

// ResidentTasks lists one resident's care tasks in [from, to) (both zero:
// the current shift). Audited as a read.
func (s *Service) ResidentTasks(ctx context.Context, a *backend.Actor, resident uuid.UUID, from, to time.Time) (TaskList, error) {
	_, d, err := s.residentFor(ctx, a, access.ReadResident, resident)
	if err != nil {
		return TaskList{}, err
	}
	out, err := s.tasks(ctx, a, uuid.Nil, resident, from, to)
	if err != nil {
		return TaskList{}, err
	}
	ev := audit.By(a, "care_task.read", "resident", resident.String(), resident, audit.Success)
	ev.BreakGlass = d.BreakGlass
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return TaskList{}, err
	}
	return out, nil
}

func errNoTask() error {
	return &backend.Error{Kind: backend.KindUnprocessable, Code: "care_task.not_a_task",
		Detail: "intervention_id and due_at: a task of the care plan in force at that time, as listed",
		Fields: map[string]string{"due_at": "a task of the care plan in force at that time, as listed"}}
}

// RecordTask ticks a task off, exactly once under retries (the answer
// stored under (staff, key) in the same transaction). The same task
// ticked from two tablets: the first wins, the second gets 409
// care_task.already_recorded naming who and when.
func (s *Service) RecordTask(ctx context.Context, a *backend.Actor, key uuid.UUID, hash []byte, req RecordRequest) (Record, bool, error) {
	const op = "care_task.record"
	if key == uuid.Nil {
		return Record{}, false, invalid("idempotency.key_required", "Idempotency-Key", "send a UUID generated once per tick")
	}
	if req.InterventionID == uuid.Nil {
		return Record{}, false, invalid("care_task.intervention_required", "intervention_id", "the intervention the task comes from")
	}
	var iv Intervention
	var p Period
	err := s.Store.Tx(ctx, nil, func(tx Tx) error {
		var err error
		iv, p, err = tx.Intervention(ctx, a.FacilityID, req.InterventionID)
		return err
	})
	if backend.IsKind(err, backend.KindNotFound) {
		return Record{}, false, s.denied(ctx, a, access.RecordCare, "care_plan_intervention", req.InterventionID, uuid.Nil, errNoTask())
	}
	if err != nil {
		return Record{}, false, err
	}
	if _, _, err := s.residentFor(ctx, a, access.RecordCare, p.ResidentID); err != nil {
		if backend.IsKind(err, backend.KindNotFound) {
			return Record{}, false, errNoTask()
		}
		return Record{}, false, err
	}
	if !MayTick(a, iv.Role) {
		return Record{}, false, s.denied(ctx, a, access.RecordCare, "care_plan_intervention", iv.ID, p.ResidentID,
			backend.E(backend.KindForbidden, "care_task.wrong_role", "this task is carried out by a "+string(iv.Role)))
	}
	now := s.now()
	if err := req.Validate(iv.Kind, now); err != nil {
		return Record{}, false, err
	}
	loc, err := s.location(ctx, a.FacilityID)
	if err != nil {
		return Record{}, false, err
	}
	if !Occurs(p, iv, req.DueAt, loc) {
		return Record{}, false, errNoTask()
	}
	rec := Record{ID: uuid.New(), ResidentID: p.ResidentID, InterventionID: iv.ID, LineID: iv.LineID, Kind: iv.Kind, DueAt: req.DueAt,
		Outcome: req.Outcome, ReasonCode: req.ReasonCode, Reason: req.Reason, IntakePct: req.IntakePct, FluidML: req.FluidML,
		Position: req.Position, Notes: req.Notes, Late: now.After(req.DueAt.Add(LateAfter)), RecordedBy: a.StaffID, RecordedAt: now}
	var replay bool
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		replay = false
		stored, err := tx.LockKey(ctx, a.FacilityID, a.StaffID, key)
		if err != nil {
			return err
		}
		if stored != nil {
			if err := stored.Replay(op, hash, &rec); err != nil {
				return err
			}
			replay = true
			return nil
		}
		// No version may come into force between the check above and the
		// write: read the task's period again under the plan's lock.
		if err := tx.LockPlanShared(ctx, a.FacilityID, p.ResidentID); err != nil {
			return err
		}
		if _, p, err := tx.Intervention(ctx, a.FacilityID, iv.ID); err != nil || !Occurs(p, iv, req.DueAt, loc) {
			if err != nil && !backend.IsKind(err, backend.KindNotFound) {
				return err
			}
			return errNoTask()
		}
		prev, err := tx.TaskRecords(ctx, a.FacilityID, iv.LineID, req.DueAt)
		if err != nil {
			return err
		}
		rec.Attempt = len(prev) + 1
		for _, r := range prev {
			if r.EnteredInError == nil {
				return alreadyRecorded(r)
			}
		}
		if err := tx.InsertRecord(ctx, a.FacilityID, &rec, a.DeviceID); err != nil {
			if backend.IsCode(err, "duplicate") {
				return backend.E(backend.KindConflict, "care_task.already_recorded", "this task has just been ticked on another device")
			}
			return err
		}
		ev := audit.By(a, string(access.RecordCare), "care_task", rec.ID.String(), rec.ResidentID, audit.Success)
		ev.Detail = string(rec.Kind) + " " + rec.Outcome
		if err := tx.AppendAudit(ctx, ev); err != nil {
			return err
		}
		body, err := json.Marshal(rec)
		if err != nil {
			return backend.Internal(err, "marshal care task")
		}
		return tx.SaveResponse(ctx, a.FacilityID, a.StaffID, key, StoredResponse{Operation: op, Hash: hash, Body: body})
	})
	if err != nil {
		return Record{}, false, err
	}
	return rec, replay, nil
}

func alreadyRecorded(r Record) error {
	return backend.E(backend.KindConflict, "care_task.already_recorded",
		"already ticked "+r.Outcome+" at "+r.RecordedAt.Format(time.RFC3339)+" by staff "+r.RecordedBy.String())
}

// EnteredInError marks a task record entered in error, with a reason; the
// task is open again (its next record is the next attempt). Who may:
// whoever may record care on the resident.
func (s *Service) EnteredInError(ctx context.Context, a *backend.Actor, id uuid.UUID, reason string) (Record, error) {
	reason = strings.TrimSpace(reason)
	if !textOK(reason, 5, 500) {
		return Record{}, invalid("correction.reason_required", "reason", "say what was wrong (at least 5 characters)")
	}
	notFound := backend.E(backend.KindNotFound, "care_task.not_found")
	var rec Record
	var iv Intervention
	err := s.Store.Tx(ctx, nil, func(tx Tx) error {
		var err error
		if rec, err = tx.Record(ctx, a.FacilityID, id); err != nil {
			return err
		}
		iv, _, err = tx.Intervention(ctx, a.FacilityID, rec.InterventionID)
		return err
	})
	if backend.IsKind(err, backend.KindNotFound) {
		return Record{}, s.denied(ctx, a, access.RecordCare, "care_task", id, uuid.Nil, notFound)
	}
	if err != nil {
		return Record{}, err
	}
	if _, _, err := s.residentFor(ctx, a, access.RecordCare, rec.ResidentID); err != nil {
		if backend.IsKind(err, backend.KindNotFound) {
			return Record{}, notFound
		}
		return Record{}, err
	}
	// Reopening a task is for those who may tick it.
	if !MayTick(a, iv.Role) {
		return Record{}, s.denied(ctx, a, access.RecordCare, "care_task", id, rec.ResidentID,
			backend.E(backend.KindForbidden, "care_task.wrong_role", "this task is carried out by a "+string(iv.Role)))
	}
	already := backend.E(backend.KindConflict, "care_task.already_corrected", "this record is already marked entered in error")
	err = s.Store.Tx(ctx, a, func(tx Tx) error {
		var err error
		if rec, err = tx.Record(ctx, a.FacilityID, id); err != nil {
			return err
		}
		if rec.EnteredInError != nil {
			return already
		}
		c := &Correction{ID: uuid.New(), Reason: reason, RecordedBy: a.StaffID, RecordedAt: s.now()}
		if err := tx.InsertCorrection(ctx, a.FacilityID, id, c); err != nil {
			if backend.IsCode(err, "duplicate") {
				return already
			}
			return err
		}
		rec.EnteredInError = c
		return tx.AppendAudit(ctx, audit.By(a, "care_task.entered_in_error", "care_task", id.String(), rec.ResidentID, audit.Success))
	})
	return rec, err
}

// Exception is a care task the shift handover names: late (not ticked,
// past its window) or not done, with who the resident is.
type Exception struct {
	Task
	ResidentName string `json:"resident_name"`
	Bed          string `json:"bed"`
}

// WardExceptions lists the care tasks of a ward's current residents due in
// [from, to) that were not done or are late at now, in due order. It does
// not decide access nor audit: the handover digest that calls it does.
func (s *Service) WardExceptions(ctx context.Context, facility, ward uuid.UUID, from, to time.Time) (late, notDone []Exception, err error) {
	loc, err := s.location(ctx, facility)
	if err != nil {
		return nil, nil, err
	}
	tasks, residents, err := s.judged(ctx, facility, ward, uuid.Nil, from, to, loc)
	if err != nil {
		return nil, nil, err
	}
	who := map[uuid.UUID]WardResident{}
	for _, r := range residents {
		who[r.ID] = r
	}
	late, notDone = []Exception{}, []Exception{}
	for _, t := range tasks {
		x := Exception{Task: t, ResidentName: who[t.ResidentID].Name, Bed: who[t.ResidentID].Bed}
		switch t.State {
		case TaskLate:
			late = append(late, x)
		case TaskNotDone:
			notDone = append(notDone, x)
		}
	}
	return late, notDone, nil
}

// PAI deadlines of a ward's list (design choices, after the regional RSA
// rules that ask for a PAI within a month of admission and a review at
// least every six months): a resident admitted FirstPlanWithin ago
// without a plan in force is overdue.
const FirstPlanWithin = 30 * 24 * time.Hour

// WardPlan is one resident on a ward's PAI list.
type WardPlan struct {
	ResidentID   uuid.UUID  `json:"resident_id"`
	ResidentName string     `json:"resident_name"`
	Bed          string     `json:"bed"`
	AdmittedAt   *time.Time `json:"admitted_at"`
	VersionID    *uuid.UUID `json:"care_plan_version_id"`
	VersionNo    *int       `json:"version_no"`
	ReviewDate   *string    `json:"review_date"`
	ActivatedAt  *time.Time `json:"activated_at"`
	Drafts       int        `json:"drafts"`
	// State: in_force, review_due (the review date has come), no_plan
	// (none in force yet), overdue (no plan FirstPlanWithin after
	// admission).
	State string `json:"state"`
}

// WardPlans lists the PAI of every admitted resident of a ward, the ones
// needing attention first (overdue, review due, no plan), for the ward
// lead. Anyone who sees the ward may read it; one audit event names every
// resident shown.
func (s *Service) WardPlans(ctx context.Context, a *backend.Actor, ward uuid.UUID) ([]WardPlan, error) {
	notFound := backend.E(backend.KindNotFound, backend.CodeWardNotFound)
	if !access.SeesWard(a, a.FacilityID, ward) {
		return nil, s.denied(ctx, a, access.ReadResident, "ward", ward, uuid.Nil, notFound)
	}
	loc, err := s.location(ctx, a.FacilityID)
	if err != nil {
		return nil, err
	}
	list, err := s.Store.WardPlans(ctx, a.FacilityID, ward)
	if backend.IsKind(err, backend.KindNotFound) {
		return nil, s.denied(ctx, a, access.ReadResident, "ward", ward, uuid.Nil, notFound)
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	today := now.In(loc).Format(DateLayout)
	rank := map[string]int{"overdue": 0, "review_due": 1, "no_plan": 2, "in_force": 3}
	for i := range list {
		p := &list[i]
		switch {
		case p.VersionID != nil && p.ReviewDate != nil && *p.ReviewDate <= today:
			p.State = "review_due"
		case p.VersionID != nil:
			p.State = "in_force"
		case p.AdmittedAt != nil && now.Sub(*p.AdmittedAt) > FirstPlanWithin:
			p.State = "overdue"
		default:
			p.State = "no_plan"
		}
	}
	slices.SortStableFunc(list, func(x, y WardPlan) int { return rank[x.State] - rank[y.State] })
	if list == nil {
		list = []WardPlan{}
	}
	ev := audit.By(a, "care_plan.ward_list", "ward", ward.String(), uuid.Nil, audit.Success)
	for _, p := range list {
		ev.ResidentIDs = append(ev.ResidentIDs, p.ResidentID)
	}
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return nil, err
	}
	return list, nil
}
