package careplan

import (
	"testing"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/google/uuid"
)

func rome(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func iv(kind Kind, role Role, times ...string) Intervention {
	return Intervention{ID: uuid.New(), Kind: kind, Role: role, Times: times}
}

func TestExpandFollowsTheVersionInForce(t *testing.T) {
	loc := rome(t)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, loc)
	switchAt := day.Add(10*time.Hour + 30*time.Minute) // v2 agreed at 10:30
	old := iv(Repositioning, RoleOSS, "08:00", "10:00", "12:00")
	nw := iv(Repositioning, RoleOSS, "09:00", "11:00", "13:00")
	therapist := Intervention{ID: uuid.New(), Kind: Rehab, Role: RoleTherapist}
	periods := []Period{
		{VersionID: uuid.New(), From: day.AddDate(0, 0, -3), To: switchAt, Interventions: []Intervention{old, therapist}},
		{VersionID: uuid.New(), From: switchAt, Interventions: []Intervention{nw}},
	}
	tasks := Expand(periods, day, day.Add(24*time.Hour), loc)
	var got []string
	for _, tk := range tasks {
		got = append(got, tk.DueAt.In(loc).Format("15:04"))
	}
	want := []string{"08:00", "10:00", "11:00", "13:00"}
	if len(got) != len(want) {
		t.Fatalf("tasks %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("tasks %v, want %v", got, want)
		}
	}
	if !Occurs(periods[0], old, day.Add(10*time.Hour).UTC(), loc) || Occurs(periods[0], old, day.Add(12*time.Hour).UTC(), loc) {
		t.Fatal("a task belongs to the version in force at its due time")
	}
	if Occurs(periods[0], therapist, day.Add(10*time.Hour).UTC(), loc) {
		t.Fatal("therapist interventions generate no tasks")
	}
}

func TestExpandAcrossDaylightSavingChanges(t *testing.T) {
	loc := rome(t)
	every := iv(Repositioning, RoleOSS)
	for h := 0; h < 24; h++ {
		every.Times = append(every.Times, formatHM(h*60))
	}
	p := []Period{{From: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), Interventions: []Intervention{every}}}
	// 29 March 2026: 02:00 does not exist; 25 October 2026: 02:00 twice.
	for _, c := range []struct {
		day  time.Time
		want int
	}{{time.Date(2026, 3, 29, 0, 0, 0, 0, loc), 23}, {time.Date(2026, 10, 25, 0, 0, 0, 0, loc), 24}, {time.Date(2026, 11, 2, 0, 0, 0, 0, loc), 24}} {
		tasks := Expand(p, c.day, c.day.AddDate(0, 0, 1), loc)
		if len(tasks) != c.want {
			t.Fatalf("%s: %d tasks, want %d", c.day.Format("2006-01-02"), len(tasks), c.want)
		}
		seen := map[int64]bool{}
		for _, tk := range tasks {
			if seen[tk.DueAt.Unix()] {
				t.Fatalf("%s: %s twice", c.day.Format("2006-01-02"), tk.DueAt)
			}
			seen[tk.DueAt.Unix()] = true
			if !Occurs(p[0], every, tk.DueAt, loc) {
				t.Fatalf("%s: expanded %s is not an occurrence", c.day.Format("2006-01-02"), tk.DueAt)
			}
		}
	}
}

// The fall-back night's repeated hour is taken at its first occurrence:
// 02:00 on 25 October 2026 is 02:00 CEST (00:00 UTC), not 02:00 CET.
func TestFallBackTakesTheFirstOccurrence(t *testing.T) {
	loc := rome(t)
	two := iv(Repositioning, RoleOSS, "02:00")
	p := []Period{{From: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), Interventions: []Intervention{two}}}
	day := time.Date(2026, 10, 25, 0, 0, 0, 0, loc)
	tasks := Expand(p, day, day.AddDate(0, 0, 1), loc)
	if len(tasks) != 1 || !tasks[0].DueAt.Equal(time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("02:00 on the fall-back night: %v", tasks)
	}
	if Occurs(p[0], two, time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), loc) {
		t.Fatal("02:00 CET is not a second occurrence")
	}
}

func TestWeekdaysLimitTasks(t *testing.T) {
	loc := rome(t)
	bath := iv(Hygiene, RoleOSS, "09:00")
	bath.Weekdays = []int{3} // Wednesday
	p := []Period{{From: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), Interventions: []Intervention{bath}}}
	mon := time.Date(2026, 11, 23, 0, 0, 0, 0, loc)
	tasks := Expand(p, mon, mon.AddDate(0, 0, 7), loc)
	if len(tasks) != 1 || tasks[0].DueAt.In(loc).Weekday() != time.Wednesday {
		t.Fatalf("weekly bath: %v", tasks)
	}
}

func TestJudgeStatesAndCorrections(t *testing.T) {
	due := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	a := iv(Repositioning, RoleOSS, "10:00")
	mk := func() []Task { return []Task{{InterventionID: a.ID, DueAt: due}} }
	for _, c := range []struct {
		now  time.Time
		want string
	}{{due.Add(-31 * time.Minute), TaskUpcoming}, {due.Add(-30 * time.Minute), TaskDue}, {due.Add(60 * time.Minute), TaskDue},
		{due.Add(61 * time.Minute), TaskLate}} {
		tasks := mk()
		Judge(tasks, nil, c.now)
		if tasks[0].State != c.want {
			t.Fatalf("at %s: %s, want %s", c.now.Sub(due), tasks[0].State, c.want)
		}
	}
	corrected := Record{InterventionID: a.ID, DueAt: due, Outcome: TaskDone, EnteredInError: &Correction{}}
	tasks := mk()
	Judge(tasks, []Record{corrected}, due.Add(2*time.Hour))
	if tasks[0].State != TaskLate || tasks[0].Record != nil {
		t.Fatalf("a record entered in error reopens the task: %+v", tasks[0])
	}
	live := Record{InterventionID: a.ID, DueAt: due, Outcome: TaskNotDone, Attempt: 2}
	Judge(tasks, []Record{corrected, live}, due.Add(2*time.Hour))
	if tasks[0].State != TaskNotDone || tasks[0].Record.Attempt != 2 {
		t.Fatalf("live record: %+v", tasks[0])
	}
}

func validVersion() VersionRequest {
	return VersionRequest{ReviewDate: "2026-12-20", Problems: []ProblemRequest{{Title: "Rischio cadute", Goals: []GoalRequest{{
		Description: "Nessuna caduta", Measure: "cadute nel trimestre = 0", TargetDate: "2027-02-20",
		Interventions: []InterventionRequest{{Kind: Mobilisation, Description: "Accompagnare in bagno", Role: RoleOSS, Times: []string{"22:00", "06:00"}}},
	}}}}}
}

func TestValidateVersion(t *testing.T) {
	const today = "2026-11-20"
	r := validVersion()
	if err := r.Validate(today); err != nil {
		t.Fatal(err)
	}
	if got := r.Problems[0].Goals[0].Interventions[0].Times; got[0] != "06:00" || got[1] != "22:00" {
		t.Fatalf("times sorted: %v", got)
	}
	every := 3
	for _, c := range []struct {
		code string
		mod  func(*VersionRequest)
	}{
		{"care_plan.invalid_review_date", func(r *VersionRequest) { r.ReviewDate = "2026-11-19" }},
		{"care_plan.invalid_review_date", func(r *VersionRequest) { r.ReviewDate = "2027-12-01" }},
		{"care_plan.problems_required", func(r *VersionRequest) { r.Problems = nil }},
		{"care_plan.goals_required", func(r *VersionRequest) { r.Problems[0].Goals = nil }},
		{"care_plan.measure_required", func(r *VersionRequest) { r.Problems[0].Goals[0].Measure = " " }},
		{"care_plan.invalid_target_date", func(r *VersionRequest) { r.Problems[0].Goals[0].TargetDate = "2026-11-01" }},
		{"care_plan.interventions_required", func(r *VersionRequest) { r.Problems[0].Goals[0].Interventions = nil }},
		{"care_plan.unknown_kind", func(r *VersionRequest) { r.Problems[0].Goals[0].Interventions[0].Kind = "massage" }},
		{"care_plan.unknown_role", func(r *VersionRequest) { r.Problems[0].Goals[0].Interventions[0].Role = "director" }},
		{"care_plan.invalid_times", func(r *VersionRequest) { r.Problems[0].Goals[0].Interventions[0].Times = []string{"6:00"} }},
		{"care_plan.invalid_times", func(r *VersionRequest) { r.Problems[0].Goals[0].Interventions[0].Times = []string{"06:00", "06:00"} }},
		{"care_plan.invalid_times", func(r *VersionRequest) { r.Problems[0].Goals[0].Interventions[0].EveryHours = &every }},
		{"care_plan.invalid_weekdays", func(r *VersionRequest) { r.Problems[0].Goals[0].Interventions[0].Weekdays = []int{8} }},
		{"care_plan.times_for_ward_staff", func(r *VersionRequest) { r.Problems[0].Goals[0].Interventions[0].Role = RolePhysician }},
		{"care_plan.rehab_by_therapist", func(r *VersionRequest) { r.Problems[0].Goals[0].Interventions[0].Kind = Rehab }},
	} {
		r := validVersion()
		c.mod(&r)
		err := r.Validate(today)
		if !backend.IsCode(err, c.code) {
			t.Errorf("want %s, got %v", c.code, err)
		}
	}
	r = validVersion()
	r.Problems[0].Goals[0].Interventions[0].Times = nil
	r.Problems[0].Goals[0].Interventions[0].EveryHours = &every
	r.Problems[0].Goals[0].Interventions[0].Start = "01:00"
	if err := r.Validate(today); err != nil {
		t.Fatal(err)
	}
	if got := r.Problems[0].Goals[0].Interventions[0].Times; len(got) != 8 || got[0] != "01:00" || got[7] != "22:00" {
		t.Fatalf("every 3 h from 01:00: %v", got)
	}
}

func TestRecordRequestRules(t *testing.T) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	refused, other := "refused", "other"
	pct, bad := 50, 30
	pos := "left_side"
	for _, c := range []struct {
		code string
		kind Kind
		r    RecordRequest
	}{
		{"care_task.reason_required", Repositioning, RecordRequest{Outcome: TaskNotDone}},
		{"care_task.reason_required", Repositioning, RecordRequest{Outcome: TaskNotDone, ReasonCode: &other}},
		{"care_task.reason_not_allowed", Repositioning, RecordRequest{Outcome: TaskDone, ReasonCode: &refused}},
		{"care_task.intake_required", Meal, RecordRequest{Outcome: TaskDone}},
		{"care_task.invalid_intake", Meal, RecordRequest{Outcome: TaskDone, IntakePct: &bad}},
		{"care_task.detail_not_allowed", Hygiene, RecordRequest{Outcome: TaskDone, IntakePct: &pct}},
		{"care_task.detail_not_allowed", Meal, RecordRequest{Outcome: TaskDone, IntakePct: &pct, Position: &pos}},
		{"care_task.detail_not_allowed", Repositioning, RecordRequest{Outcome: TaskNotDone, ReasonCode: &refused, Position: &pos}},
		{"care_task.too_early", Repositioning, RecordRequest{Outcome: TaskDone, DueAt: now.Add(61 * time.Minute)}},
		{"care_task.unknown_outcome", Repositioning, RecordRequest{Outcome: "maybe"}},
		{"", Repositioning, RecordRequest{Outcome: TaskDone, Position: &pos}},
		{"", Meal, RecordRequest{Outcome: TaskDone, IntakePct: &pct}},
		{"", Hygiene, RecordRequest{Outcome: TaskNotDone, ReasonCode: &refused}},
	} {
		c.r.InterventionID = uuid.New()
		if c.r.DueAt.IsZero() {
			c.r.DueAt = now
		}
		err := c.r.Validate(c.kind, now)
		if (c.code == "" && err != nil) || (c.code != "" && !backend.IsCode(err, c.code)) {
			t.Errorf("%s %+v: want %q, got %v", c.kind, c.r, c.code, err)
		}
	}
}

func TestAgreementNeedsTwoProfessions(t *testing.T) {
	n := Signature{Profession: Nursing}
	if Agreed([]Signature{n, n, n}) {
		t.Fatal("three nurses are one profession")
	}
	if !Agreed([]Signature{n, {Profession: OSSCare}}) {
		t.Fatal("nurse and OSS agree")
	}
	lead := &backend.Actor{Roles: []backend.Role{backend.RoleWardLead}}
	if p, ok := ProfessionOf(lead); !ok || p != Nursing {
		t.Fatal("ward leads sign as nursing")
	}
	if _, ok := ProfessionOf(&backend.Actor{Roles: []backend.Role{backend.RoleDirector}}); ok {
		t.Fatal("directors are not on the ward team")
	}
}

func TestShiftBounds(t *testing.T) {
	loc := rome(t)
	for _, c := range []struct{ at, from, to string }{
		{"2026-11-20 06:59", "2026-11-19 21:00", "2026-11-20 07:00"},
		{"2026-11-20 07:00", "2026-11-20 07:00", "2026-11-20 14:00"},
		{"2026-11-20 15:10", "2026-11-20 14:00", "2026-11-20 21:00"},
		{"2026-11-20 23:30", "2026-11-20 21:00", "2026-11-21 07:00"},
	} {
		at, _ := time.ParseInLocation("2006-01-02 15:04", c.at, loc)
		f, to := ShiftBounds(at, loc)
		if f.In(loc).Format("2006-01-02 15:04") != c.from || to.In(loc).Format("2006-01-02 15:04") != c.to {
			t.Errorf("%s: %s – %s", c.at, f.In(loc), to.In(loc))
		}
	}
}
