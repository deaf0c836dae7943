package postgres

import (
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/assess"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/corsia-cce/corsia/backend/auth"
	"github.com/corsia-cce/corsia/backend/careplan"
	"github.com/corsia-cce/corsia/backend/catalogue"
	"github.com/corsia-cce/corsia/backend/diary"
	"github.com/corsia-cce/corsia/backend/document"
	"github.com/corsia-cce/corsia/backend/facility"
	"github.com/corsia-cce/corsia/backend/incident"
	"github.com/corsia-cce/corsia/backend/notify"
	"github.com/corsia-cce/corsia/backend/problem"
	"github.com/corsia-cce/corsia/backend/rehab"
	"github.com/corsia-cce/corsia/backend/resident"
	"github.com/corsia-cce/corsia/backend/round"
	"github.com/corsia-cce/corsia/backend/therapy"
	"github.com/corsia-cce/corsia/backend/timeline"
	"github.com/corsia-cce/corsia/backend/vitals"
)

// Services are the domain services wired to this database.
type Services struct {
	Auth      *auth.Service
	Residents *resident.Service
	Facility  *facility.Service
	Audit     *audit.Service
	Catalogue *catalogue.Service
	Therapy   *therapy.Service
	Notify    *notify.Service
	Rounds    *round.Service
	Documents *document.Service
	Diary     *diary.Service
	Vitals    *vitals.Service
	Problems  *problem.Service
	Assess    *assess.Service
	Incidents *incident.Service
	Rehab     *rehab.Service
	CarePlans *careplan.Service
	Timeline  *timeline.Service
}

// ServiceConfig holds the settings the services need.
type ServiceConfig struct {
	Hasher        *auth.Hasher
	Clock         backend.Clock
	AccessTTL     time.Duration
	SessionTTL    time.Duration
	BreakGlassTTL time.Duration
	// DocumentKeys encrypt documents; nil means the development keyring.
	DocumentKeys *document.Keyring
}

// NewServices builds every domain service on db: the one place where stores
// meet services, used by the binary and by end-to-end tests alike.
func (db *DB) NewServices(c ServiceConfig) *Services {
	if c.Clock == nil {
		c.Clock = backend.SystemClock{}
	}
	authService := &auth.Service{Store: AuthStore{db}, Hasher: c.Hasher, Clock: c.Clock,
		Config: auth.Config{AccessTTL: c.AccessTTL, SessionTTL: c.SessionTTL}}
	svc := &Services{
		Auth:      authService,
		Residents: &resident.Service{Store: ResidentStore{db}, Clock: c.Clock, BreakGlassFor: c.BreakGlassTTL},
		Facility:  &facility.Service{Store: FacilityStore{db}, Hasher: c.Hasher},
		Audit:     &audit.Service{Store: db},
		Catalogue: &catalogue.Service{Store: CatalogueStore{db}},
		Therapy:   &therapy.Service{Store: TherapyStore{db}, Clock: c.Clock, Witness: authService},
		Notify:    &notify.Service{Store: NotifyStore{db}, Clock: c.Clock},
	}
	svc.Assess = &assess.Service{Store: AssessStore{db}, Clock: c.Clock}
	svc.Vitals = &vitals.Service{Store: VitalsStore{db}, Clock: c.Clock}
	svc.Problems = &problem.Service{Store: ProblemStore{db}, Codes: mustICD9CM(), Clock: c.Clock}
	svc.Diary = &diary.Service{Store: DiaryStore{db}, Clock: c.Clock}
	svc.Incidents = &incident.Service{Store: IncidentStore{db}, Clock: c.Clock}
	svc.Rehab = &rehab.Service{Store: RehabStore{db}, Clock: c.Clock}
	svc.CarePlans = &careplan.Service{Store: CarePlanStore{db}, Clock: c.Clock}
	svc.Timeline = &timeline.Service{Store: TimelineStore{db}, Clock: c.Clock}
	// Rounds record the acts on doses left through the therapy service.
	svc.Rounds = &round.Service{Store: RoundStore{db}, Therapy: svc.Therapy, Care: svc.CarePlans, Clock: c.Clock}
	svc.Documents = &document.Service{Store: DocumentStore{db}, Keys: document.OrDevelopment(c.DocumentKeys, nil), Clock: c.Clock}
	return svc
}
