// Package notify is what reaches staff when something needs them: alert
// chains raised by the missed-dose detector (a late dose alerts the ward
// lead, and escalates to the physician when nobody acknowledges it), one
// notification per recipient, and the text a push carries to a lock
// screen — bed, initials and what happened, never a drug or a diagnosis.
package notify

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/audit"
	"github.com/google/uuid"
)

// Kinds of notification.
const (
	KindDoseDue         = "dose_due"         // to the nurses on duty, when a dose's time came and no open round covers it
	KindDoseLate        = "dose_late"        // to the ward lead, when a dose's window closed without a record
	KindEscalation      = "escalation"       // to the physician (or director), when the lead did not acknowledge
	KindPRNCheckDue     = "prn_check_due"    // to the nurse who gave a PRN dose: its effectiveness check is due
	KindOverride        = "override"         // to the ward lead: a block was overridden at the bedside
	KindUnableToScan    = "unable_to_scan"   // to the ward lead: a dose was given without scanning
	KindRepeatedRefusal = "repeated_refusal" // to the physician: a drug refused three times in a week
	KindIncident        = "incident"         // to the ward lead: a fall, pressure injury or other adverse event was recorded
)

// States of a notification, from its alert chain.
const (
	StateOpen         = "open"
	StateAcknowledged = "acknowledged"
	StateResolved     = "resolved" // the dose was recorded (or cancelled) meanwhile, or the incident entered in error
)

// Notification is one notification of one staff member.
type Notification struct {
	ID             uuid.UUID  `json:"id"`
	AlertID        uuid.UUID  `json:"alert_id"`
	Kind           string     `json:"kind"`
	AlertKind      string     `json:"alert_kind"`
	State          string     `json:"state"`
	ResidentID     uuid.UUID  `json:"resident_id"`
	DoseID         *uuid.UUID `json:"dose_id"`
	WardID         uuid.UUID  `json:"ward_id"`
	Bed            string     `json:"bed"`
	Initials       string     `json:"initials"`
	DueAt          *time.Time `json:"due_at"`
	Title          string     `json:"title"`
	Body           string     `json:"body"`
	CreatedAt      time.Time  `json:"created_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	AcknowledgedBy *uuid.UUID `json:"acknowledged_by"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	// Recipient is the staff member it was sent to.
	Recipient uuid.UUID `json:"-"`
	// GivenName and FamilyName make the initials; never sent anywhere.
	GivenName, FamilyName string `json:"-"`
}

// Initials are a resident's initials: what a lock screen may show.
func Initials(given, family string) string {
	first := func(s string) string {
		for _, r := range strings.TrimSpace(s) {
			if unicode.IsLetter(r) {
				return string(unicode.ToUpper(r)) + "."
			}
		}
		return ""
	}
	return first(given) + first(family)
}

// Compose writes the visible text of a notification: in Italian, bed,
// initials and what happened; no drug name, no diagnosis (domain.md,
// Privacy: pushes reach lock screens).
func Compose(n *Notification) {
	n.Initials = Initials(n.GivenName, n.FamilyName)
	who := "Letto " + n.Bed + " · " + n.Initials
	if n.Bed == "" {
		who = n.Initials
	}
	switch n.Kind {
	case KindDoseDue:
		n.Title, n.Body = "Dose da somministrare", who+": è l'ora di una dose e nessun giro terapia la copre"
	case KindDoseLate:
		n.Title, n.Body = "Dose in ritardo", who+": una dose ha superato la finestra senza registrazione"
	case KindEscalation:
		n.Title, n.Body = "Dose in ritardo non presa in carico", who+": allerta non confermata dal coordinatore"
	case KindPRNCheckDue:
		n.Title, n.Body = "Verifica di efficacia", who+": è ora di valutare l'effetto della dose al bisogno"
	case KindOverride:
		n.Title, n.Body = "Blocco superato", who+": una somministrazione ha superato un blocco con motivazione"
	case KindUnableToScan:
		n.Title, n.Body = "Somministrazione senza scansione", who+": dose registrata senza lettura del codice"
	case KindRepeatedRefusal:
		n.Title, n.Body = "Rifiuti ripetuti", who+": la stessa terapia è stata rifiutata più volte in una settimana"
	case KindIncident:
		n.Title, n.Body = "Evento avverso", who+": registrato un evento avverso"
	default:
		n.Title, n.Body = "Avviso", who
	}
}

// Registration is a device's FCM registration token, bound to a sign-in.
type Registration struct {
	ID         uuid.UUID `json:"id"`
	StaffID    uuid.UUID `json:"-"`
	SessionID  uuid.UUID `json:"-"`
	DeviceID   uuid.UUID `json:"-"`
	Token      string    `json:"-"`
	Platform   string    `json:"platform"`
	AppVersion string    `json:"app_version"`
	CreatedAt  time.Time `json:"created_at"`
}

// OutboxRow is one unpublished outbox entry: a notification to push.
type OutboxRow struct {
	ID             int64
	FacilityID     uuid.UUID
	NotificationID uuid.UUID
	CreatedAt      time.Time
}

// PushTarget is one live push registration of a notification's recipient.
type PushTarget struct {
	RegistrationID uuid.UUID
	Token          string
}

// Delivery states.
const (
	DeliveryAccepted = "accepted" // FCM accepted the message
	DeliveryFailed   = "failed"   // to retry
	DeliveryPruned   = "pruned"   // the token is dead; its registration is removed
)

// Answers of a delivery claim.
const (
	ClaimSend = "send" // this worker sends it now
	ClaimDone = "done" // accepted or pruned already
	ClaimHeld = "held" // another sender holds it: retry after its lease
)

// DetectResult counts what a detector pass did.
type DetectResult struct {
	Alerts, Escalations, Resolved, Notifications int
}

// Store keeps alerts, notifications and push registrations.
type Store interface {
	// Detect runs one pass of the missed-dose detector over every facility
	// at now: open a late-dose chain (and notify the ward leads) for each
	// dose whose window closed without a record, escalate chains not
	// acknowledged in time, resolve chains whose dose was recorded. Each
	// notification is written with its outbox row in the same transaction.
	Detect(ctx context.Context, now time.Time) (DetectResult, error)
	List(ctx context.Context, facility, staff uuid.UUID, limit int) ([]Notification, error)
	// Acknowledge marks the chain of staff's notification id acknowledged
	// (stopping its escalation) and returns the notification.
	Acknowledge(ctx context.Context, facility, staff, id uuid.UUID, now time.Time, ev audit.Event) (Notification, error)
	Register(ctx context.Context, facility uuid.UUID, r *Registration) error
	Unregister(ctx context.Context, facility, staff, id uuid.UUID) error
	AppendAudit(ctx context.Context, events ...audit.Event) error
}

// Service lets staff read and acknowledge their notifications and register
// their devices for push.
type Service struct {
	Store Store
	Clock backend.Clock
}

// List returns the caller's notifications, newest first.
func (s *Service) List(ctx context.Context, a *backend.Actor, limit int) ([]Notification, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	ns, err := s.Store.List(ctx, a.FacilityID, a.StaffID, limit)
	if err != nil {
		return nil, err
	}
	ev := audit.By(a, "notification.list", "notification", "", uuid.Nil, audit.Success)
	for i := range ns {
		Compose(&ns[i])
		if !slices.Contains(ev.ResidentIDs, ns[i].ResidentID) {
			ev.ResidentIDs = append(ev.ResidentIDs, ns[i].ResidentID)
		}
	}
	if ns == nil {
		ns = []Notification{}
	}
	return ns, s.Store.AppendAudit(ctx, ev)
}

// Acknowledge acknowledges one of the caller's notifications; another's is
// notification.not_found.
func (s *Service) Acknowledge(ctx context.Context, a *backend.Actor, id uuid.UUID) (Notification, error) {
	ev := audit.By(a, "notification.ack", "notification", id.String(), uuid.Nil, audit.Success)
	n, err := s.Store.Acknowledge(ctx, a.FacilityID, a.StaffID, id, s.Clock.Now(), ev)
	if backend.IsKind(err, backend.KindNotFound) {
		return n, backend.E(backend.KindNotFound, "notification.not_found")
	}
	Compose(&n)
	return n, err
}

// Register records the FCM token of the caller's device for her sign-in.
func (s *Service) Register(ctx context.Context, a *backend.Actor, token, platform, appVersion string) (Registration, error) {
	token = strings.TrimSpace(token)
	switch {
	case len(token) < 20 || len(token) > 4096 || strings.ContainsAny(token, " \t\r\n\x00"):
		return Registration{}, backend.Invalid("push.invalid_token", "token", "an FCM registration token")
	case platform != "android" && platform != "ios" && platform != "web":
		return Registration{}, backend.Invalid("push.invalid_platform", "platform", "android, ios or web")
	case len(appVersion) > 40:
		return Registration{}, backend.Invalid("push.invalid_app_version", "app_version", "at most 40 characters")
	case a.SessionID == uuid.Nil:
		return Registration{}, backend.E(backend.KindUnauthorized, "auth.unauthorized")
	}
	r := Registration{ID: uuid.New(), StaffID: a.StaffID, SessionID: a.SessionID, DeviceID: a.DeviceID, Token: token,
		Platform: platform, AppVersion: appVersion, CreatedAt: s.Clock.Now()}
	return r, s.Store.Register(ctx, a.FacilityID, &r)
}

// Unregister removes one of the caller's registrations.
func (s *Service) Unregister(ctx context.Context, a *backend.Actor, id uuid.UUID) error {
	err := s.Store.Unregister(ctx, a.FacilityID, a.StaffID, id)
	if backend.IsKind(err, backend.KindNotFound) {
		return backend.E(backend.KindNotFound, "push.registration_not_found")
	}
	return err
}
