package mobileapi

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/limiter"
)

// Route is one entry of the route table. Public routes need no token.
type Route struct {
	Method  string
	Path    string
	Public  bool
	handler fiber.Handler
}

// Routes is the whole API on one screen. The permission-matrix test walks
// this table; a route added here without a row there fails it.
func (s *Server) Routes() []Route {
	return []Route{
		{"GET", "/healthz", true, s.healthz},
		{"GET", "/readyz", true, s.readyz},
		{"GET", "/metrics", true, s.metricsHandler},
		{"GET", "/openapi.yaml", true, s.openapi},

		{"POST", "/v1/auth/login", true, s.login},
		{"POST", "/v1/auth/badge", true, s.badge},
		{"POST", "/v1/auth/refresh", true, s.refresh},
		{"POST", "/v1/auth/logout", false, s.logout},
		{"GET", "/v1/me", false, s.me},

		{"GET", "/v1/wards", false, s.listWards},
		{"GET", "/v1/wards/:id/residents", false, s.wardResidents},

		{"POST", "/v1/residents", false, s.admitResident},
		{"GET", "/v1/residents/by-wristband/:code", false, s.residentByWristband},
		{"GET", "/v1/residents/:id", false, s.getResident},
		{"PATCH", "/v1/residents/:id", false, s.updateResident},
		{"GET", "/v1/residents/:id/history", false, s.residentHistory},
		{"GET", "/v1/residents/:id/timeline", false, s.residentTimeline},
		{"GET", "/v1/residents/:id/photo", false, s.getPhoto},
		{"PUT", "/v1/residents/:id/photo", false, s.putPhoto},
		{"GET", "/v1/residents/:id/wristband", false, s.wristband},
		{"POST", "/v1/residents/:id/transfer", false, s.transferResident},
		{"POST", "/v1/residents/:id/discharge", false, s.dischargeResident},
		{"POST", "/v1/residents/:id/break-glass", false, s.breakGlass},
		{"POST", "/v1/residents/:id/allergies", false, s.addAllergy},
		{"POST", "/v1/residents/:id/allergies/:allergy_id/status", false, s.allergyStatus},
		{"GET", "/v1/residents/:id/documents", false, s.listDocuments},
		{"POST", "/v1/residents/:id/documents", false, s.uploadDocument},
		{"GET", "/v1/documents/:id", false, s.getDocument},
		{"GET", "/v1/documents/:id/content", false, s.documentContent},
		{"POST", "/v1/documents/:id/visibility", false, s.documentVisibility},
		{"POST", "/v1/documents/:id/entered-in-error", false, s.documentEnteredInError},

		{"GET", "/v1/residents/:id/prescriptions", false, s.therapySheet},
		{"POST", "/v1/residents/:id/prescriptions", false, s.prescribe},
		{"POST", "/v1/residents/:id/reconciliation", false, s.reconcile},
		{"GET", "/v1/residents/:id/mar", false, s.mar},
		{"POST", "/v1/residents/:id/vitals", false, s.recordVitals},
		{"GET", "/v1/residents/:id/vitals", false, s.vitalsTrends},
		{"POST", "/v1/vitals/:id/entered-in-error", false, s.vitalsEnteredInError},
		{"GET", "/v1/wards/:id/vitals/latest", false, s.wardVitalsLatest},
		{"POST", "/v1/residents/:id/incidents", false, s.recordIncident},
		{"GET", "/v1/residents/:id/incidents", false, s.residentIncidents},
		{"POST", "/v1/incidents/:id/entered-in-error", false, s.incidentEnteredInError},
		{"GET", "/v1/wards/:id/incidents", false, s.wardIncidents},
		{"POST", "/v1/residents/:id/rehab/plans", false, s.createRehabPlan},
		{"GET", "/v1/residents/:id/rehab/plans", false, s.rehabPlans},
		{"POST", "/v1/residents/:id/rehab/sessions", false, s.recordRehabSession},
		{"GET", "/v1/residents/:id/rehab/sessions", false, s.rehabSessions},
		{"POST", "/v1/rehab/sessions/:id/entered-in-error", false, s.rehabSessionEnteredInError},
		{"GET", "/v1/rehab/day", false, s.rehabDay},
		{"GET", "/v1/residents/:id/care-plan", false, s.carePlan},
		{"POST", "/v1/residents/:id/care-plan/versions", false, s.proposeCarePlan},
		{"GET", "/v1/care-plans/:id", false, s.carePlanVersion},
		{"POST", "/v1/care-plans/:id/signatures", false, s.signCarePlan},
		{"GET", "/v1/wards/:id/care-tasks", false, s.wardCareTasks},
		{"GET", "/v1/wards/:id/care-plans", false, s.wardCarePlans},
		{"GET", "/v1/residents/:id/care-tasks", false, s.residentCareTasks},
		{"POST", "/v1/care-tasks", false, s.recordCareTask},
		{"POST", "/v1/care-tasks/:id/entered-in-error", false, s.careTaskEnteredInError},
		{"GET", "/v1/residents/:id/anamnesis", false, s.getAnamnesis},
		{"GET", "/v1/residents/:id/anamnesis/history", false, s.anamnesisHistory},
		{"PUT", "/v1/residents/:id/anamnesis/:section", false, s.putAnamnesisSection},
		{"GET", "/v1/residents/:id/problems", false, s.listProblems},
		{"POST", "/v1/residents/:id/problems", false, s.recordProblem},
		{"POST", "/v1/problems/:id/status", false, s.problemStatus},
		{"GET", "/v1/icd9cm", false, s.searchICD9},
		{"GET", "/v1/prescriptions/:id", false, s.getPrescription},
		{"POST", "/v1/prescriptions/:id/revisions", false, s.revisePrescription},
		{"POST", "/v1/prescriptions/:id/status", false, s.prescriptionStatus},
		{"GET", "/v1/wards/:id/due", false, s.wardDue},
		{"GET", "/v1/scales", false, s.listScales},
		{"GET", "/v1/residents/:id/assessments", false, s.listAssessments},
		{"POST", "/v1/residents/:id/assessments", false, s.recordAssessment},
		{"POST", "/v1/assessments/:id/entered-in-error", false, s.assessmentEnteredInError},
		{"GET", "/v1/wards/:id/assessments/overdue", false, s.overdueAssessments},
		{"GET", "/v1/residents/:id/diary", false, s.listDiary},
		{"POST", "/v1/residents/:id/diary", false, s.writeDiary},
		{"POST", "/v1/diary/:id/addenda", false, s.addDiaryAddendum},
		{"POST", "/v1/diary/:id/entered-in-error", false, s.diaryEnteredInError},
		{"GET", "/v1/wards/:id/rounds/current", false, s.currentRound},
		{"POST", "/v1/wards/:id/rounds", false, s.startRound},
		{"POST", "/v1/rounds/:id/pause", false, s.pauseRound},
		{"POST", "/v1/rounds/:id/resume", false, s.resumeRound},
		{"POST", "/v1/rounds/:id/handover", false, s.handoverRound},
		{"POST", "/v1/rounds/:id/finish", false, s.finishRound},
		{"GET", "/v1/wards/:id/handover", false, s.wardHandover},
		{"POST", "/v1/administrations/verify", false, s.verifyAdministration},
		{"POST", "/v1/administrations", false, s.recordAdministration},
		{"POST", "/v1/administrations/:id/entered-in-error", false, s.enteredInError},
		{"POST", "/v1/administrations/:id/effectiveness", false, s.recordEffectiveness},
		{"POST", "/v1/assisted-intakes", false, s.assistIntake},
		{"GET", "/v1/recalls", false, s.recalls},
		{"GET", "/v1/indicators/administration", false, s.administrationIndicators},
		{"GET", "/v1/admin/therapy-settings", false, s.therapySettings},
		{"PUT", "/v1/admin/therapy-settings", false, s.updateTherapySettings},
		{"GET", "/v1/admin/scales/:key/bands", false, s.scaleBands},
		{"PUT", "/v1/admin/scales/:key/bands", false, s.updateScaleBands},

		{"GET", "/v1/notifications", false, s.listNotifications},
		{"POST", "/v1/notifications/:id/ack", false, s.ackNotification},
		{"POST", "/v1/push-registrations", false, s.registerPush},
		{"DELETE", "/v1/push-registrations/:id", false, s.unregisterPush},

		{"POST", "/v1/scan/decode", false, s.decodeScan},

		{"GET", "/v1/catalogue/products", false, s.searchProducts},
		{"GET", "/v1/catalogue/products/:id", false, s.getProduct},

		{"GET", "/v1/audit", false, s.listAudit},
		{"GET", "/v1/audit/verify", false, s.verifyAudit},
		{"GET", "/v1/audit/access-report", false, s.accessReport},

		{"GET", "/v1/admin/staff", false, s.listStaff},
		{"POST", "/v1/admin/staff", false, s.createStaff},
		{"PUT", "/v1/admin/staff/:id/access", false, s.updateStaff},
		{"GET", "/v1/admin/staff/:id/badge", false, s.printBadge},
		{"GET", "/v1/admin/devices", false, s.listDevices},
		{"POST", "/v1/admin/devices", false, s.enrolDevice},
		{"POST", "/v1/admin/devices/:id/revoke", false, s.revokeDevice},
		{"POST", "/v1/admin/catalogue/products", false, s.addProduct},
		{"POST", "/v1/admin/catalogue/import", false, s.importProducts},
	}
}

func (s *Server) routes() {
	app := s.app
	app.Use(withRequestID, s.accessLog, s.recoverPanics, securityHeaders, s.withDeadline, refuseEncodedBodies, s.readBody)
	if len(s.cfg.CORSOrigins) > 0 {
		app.Use(cors.New(cors.Config{AllowOrigins: strings.Join(s.cfg.CORSOrigins, ","),
			AllowHeaders: "Authorization, Content-Type, Accept-Language, X-Request-Id, " + HeaderDeviceCredential}))
	}
	// Sign-in calls are also bounded per client address, on top of the
	// per-account and per-device lockout kept in PostgreSQL.
	authLimit := limiter.New(limiter.Config{Max: max(s.cfg.AuthRatePerMinute, 1), Expiration: time.Minute,
		KeyGenerator: func(c *fiber.Ctx) string { return s.clientAddr(c).String() },
		LimitReached: func(c *fiber.Ctx) error { return fiber.ErrTooManyRequests }})
	for _, r := range s.Routes() {
		handlers := []fiber.Handler{}
		switch {
		case r.Path == "/v1/auth/login" || r.Path == "/v1/auth/badge" || r.Path == "/v1/auth/refresh":
			handlers = append(handlers, authLimit)
		case !r.Public:
			handlers = append(handlers, s.authenticate)
		}
		app.Add(r.Method, r.Path, append(handlers, r.handler)...)
	}
	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}
