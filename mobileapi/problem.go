package mobileapi

import (
	"errors"
	"log/slog"
	"strconv"

	"github.com/corsia-cce/corsia/backend"
	"github.com/gofiber/fiber/v2"
	"golang.org/x/text/language"
)

// status is the one table from error kinds to HTTP statuses.
var status = map[backend.Kind]int{
	backend.KindInternal:      fiber.StatusInternalServerError,
	backend.KindInvalid:       fiber.StatusBadRequest,
	backend.KindUnauthorized:  fiber.StatusUnauthorized,
	backend.KindForbidden:     fiber.StatusForbidden,
	backend.KindNotFound:      fiber.StatusNotFound,
	backend.KindConflict:      fiber.StatusConflict,
	backend.KindUnprocessable: fiber.StatusUnprocessableEntity,
	backend.KindTooMany:       fiber.StatusTooManyRequests,
	backend.KindUnavailable:   fiber.StatusServiceUnavailable,
	backend.KindUnsupported:   fiber.StatusUnsupportedMediaType,
	backend.KindTooLarge:      fiber.StatusRequestEntityTooLarge,
}

// Problem is an RFC 9457 problem document with Corsia's stable code.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Code      string            `json:"code"`
	Detail    string            `json:"detail,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    map[string]string `json:"errors,omitempty"`
}

var langMatcher = language.NewMatcher([]language.Tag{language.Italian, language.English})

// lang picks Italian or English from Accept-Language; Italian by default.
func lang(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAcceptLanguage)
	if h == "" {
		return "it"
	}
	_, i := language.MatchStrings(langMatcher, h)
	if i == 1 {
		return "en"
	}
	return "it"
}

// errorHandler is Fiber's error handler: every error a handler returns ends
// here and leaves as problem+json. Internal errors are logged with the
// request id and answered with a generic message; their text never leaves.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var be *backend.Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &be):
	case errors.As(err, &fe):
		be = fiberError(fe)
	default:
		be = backend.AsError(err)
	}
	st := status[be.Kind]
	if st == 0 {
		st = fiber.StatusInternalServerError
	}
	rid := requestID(c)
	if st >= 500 {
		s.log.ErrorContext(c.UserContext(), "request failed", slog.String("request_id", rid),
			slog.String("route", routePath(c)), slog.String("code", be.Code), slog.Any("error", err))
	}
	l := lang(c)
	p := Problem{
		Type:      "https://corsia.dev/problems/" + be.Code,
		Title:     message(be.Code, be.Kind, l),
		Status:    st,
		Code:      be.Code,
		RequestID: rid,
		Errors:    be.Fields,
	}
	if st < 500 {
		p.Detail = be.Detail
	}
	if be.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(be.RetryAfter))
	}
	if st == fiber.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="corsia"`)
	}
	c.Set(fiber.HeaderContentLanguage, l)
	c.Status(st)
	c.Set(fiber.HeaderContentType, "application/problem+json")
	b, _ := jsonMarshal(p)
	return c.Send(b)
}

// fiberError maps Fiber's own errors (routing, body limits, timeouts).
func fiberError(fe *fiber.Error) *backend.Error {
	switch fe.Code {
	case fiber.StatusNotFound:
		return backend.E(backend.KindNotFound, "route.not_found")
	case fiber.StatusMethodNotAllowed:
		return backend.E(backend.KindInvalid, "route.method_not_allowed")
	case fiber.StatusRequestEntityTooLarge:
		return backend.E(backend.KindTooLarge, "request.too_large")
	case fiber.StatusRequestTimeout:
		return backend.E(backend.KindUnavailable, "timeout")
	case fiber.StatusTooManyRequests:
		return &backend.Error{Kind: backend.KindTooMany, Code: "rate_limited", RetryAfter: 60}
	case fiber.StatusUnsupportedMediaType:
		return backend.E(backend.KindUnsupported, "request.unsupported_media_type")
	}
	if fe.Code >= 400 && fe.Code < 500 {
		return backend.E(backend.KindInvalid, "request.invalid")
	}
	return backend.AsError(backend.Internal(fe, "fiber"))
}

type msg struct{ it, en string }

// messages are the titles shown to people, by code. A code without an entry
// falls back to its kind's title.
var messages = map[string]msg{
	"internal":                       {"Errore interno: riprovare; se persiste, contattare l'assistenza", "Internal error: retry; if it persists, contact support"},
	"timeout":                        {"Il servizio non ha risposto in tempo", "The service did not answer in time"},
	"unavailable":                    {"Servizio temporaneamente non disponibile", "Service temporarily unavailable"},
	"not_found":                      {"Non trovato", "Not found"},
	"route.not_found":                {"Indirizzo inesistente", "No such route"},
	"route.method_not_allowed":       {"Metodo non consentito", "Method not allowed"},
	"request.too_large":              {"Richiesta troppo grande", "Request too large"},
	"request.invalid":                {"Richiesta non valida", "Invalid request"},
	"request.invalid_json":           {"Il corpo della richiesta non è JSON valido", "The request body is not valid JSON"},
	"request.unsupported_media_type": {"Formato della richiesta non supportato", "Unsupported request format"},
	"request.encoding_not_allowed":   {"Le richieste compresse non sono accettate", "Compressed requests are not accepted"},
	"rate_limited":                   {"Troppe richieste: attendere e riprovare", "Too many requests: wait and retry"},
	"invalid_input":                  {"Dati non validi", "Invalid data"},
	"invalid_reference":              {"Riferimento inesistente", "Reference to something that does not exist"},
	"duplicate":                      {"Esiste già", "Already exists"},
	"append_only":                    {"I dati clinici non si cancellano né si modificano", "Clinical data is never deleted or overwritten"},
	"version_conflict":               {"Il dato è stato modificato da un altro utente: ricaricare", "Someone else changed this record: reload it"},
	"forbidden":                      {"Operazione non consentita al tuo ruolo", "Your role does not allow this"},
	"resident.not_found":             {"Ospite non trovato", "Resident not found"},
	"ward.not_found":                 {"Nucleo non trovato", "Ward not found"},
	"resident.invalid":               {"Dati anagrafici non validi", "Invalid personal data"},
	"resident.fiscal_code_invalid":   {"Codice fiscale non valido", "Invalid codice fiscale"},
	"resident.not_admitted":          {"L'ospite non è ricoverato", "The resident is not admitted"},
	"wristband.invalid":              {"Codice braccialetto non valido (controllare la lettura)", "Invalid wristband code (check the scan)"},
	"badge.invalid":                  {"Codice badge non valido", "Invalid badge code"},
	"bed.unavailable":                {"Letto non disponibile", "Bed not available"},
	"ward.unavailable":               {"Nucleo non disponibile", "Ward not available"},
	"allergy.invalid":                {"Dati dell'allergia non validi", "Invalid allergy data"},
	"allergy.not_found":              {"Allergia non trovata", "Allergy not found"},
	"allergy.reason_required":        {"Indicare il motivo", "A reason is required"},
	"allergy.entered_in_error":       {"Voce già annullata come errore", "Entry already marked as entered in error"},
	"break_glass.reason_required":    {"Indicare il motivo dell'accesso straordinario", "State the reason for emergency access"},
	"discharge.reason_required":      {"Indicare il motivo della dimissione", "State the reason for discharge"},
	"auth.invalid_credentials":       {"Credenziali non valide", "Invalid credentials"},
	"auth.invalid_request":           {"Dati di accesso incompleti o malformati", "Sign-in data missing or malformed"},
	"photo.invalid":                  {"Foto non valida (JPEG o PNG, massimo 1 MiB)", "Invalid photo (JPEG or PNG, at most 1 MiB)"},
	"scan.no_barcode":                {"Nessun codice leggibile: avvicinarsi, tenere fermo il tablet o digitare il codice", "No readable barcode: move closer, hold the tablet steady, or type the code"},
	"scan.image_too_large":           {"Foto troppo grande", "Photo too large"},
	"scan.not_an_image":              {"Il file non è una foto JPEG o PNG", "The file is not a JPEG or PNG photo"},
	"scan.busy":                      {"Lettore occupato: riprovare tra un istante", "Reader busy: retry in a moment"},
	"scan.image_required":            {"Allegare la foto nel campo \"image\"", "Attach the photo in the \"image\" field"},
	"scan.invalid_hint":              {"Tipo di codice non valido (wristband, pack, badge)", "Invalid hint (wristband, pack, badge)"},
	"staff.no_badge":                 {"L'operatore non ha un badge (nessun PIN) o è disattivato", "This account has no badge (no PIN) or is disabled"},
	"label.invalid":                  {"Etichetta non stampabile con questi dati", "The label cannot be printed with these data"},
	"photo.not_found":                {"Nessuna foto", "No photo"},
	"request.version_required":       {"Indicare la versione letta", "Send the version you read"},
	"request.invalid_query":          {"Parametro non valido", "Invalid query parameter"},
	"auth.locked":                    {"Troppi tentativi falliti: accesso bloccato temporaneamente", "Too many failed attempts: temporarily locked"},
	"auth.unauthorized":              {"Sessione non valida o scaduta: accedere di nuovo", "Session invalid or expired: sign in again"},
	"auth.device_required":           {"L'accesso con badge richiede un dispositivo registrato", "Badge sign-in requires an enrolled device"},
	"auth.refresh_reused":            {"Sessione chiusa per sicurezza: accedere di nuovo", "Session closed for security: sign in again"},
	"staff.invalid":                  {"Dati del personale non validi", "Invalid staff data"},
	"staff.weak_password":            {"Password troppo debole (almeno 12 caratteri)", "Password too weak (at least 12 characters)"},
	"staff.not_found":                {"Operatore non trovato", "Staff member not found"},
	"staff.self_change":              {"Un altro amministratore deve modificare i tuoi accessi", "Another admin must change your access"},
	"staff.self_disable":             {"Non puoi disattivare il tuo account", "You cannot disable your own account"},
	"device.invalid":                 {"Dati del dispositivo non validi", "Invalid device data"},
	"device.not_found":               {"Dispositivo non trovato", "Device not found"},
	// At the bedside: short, for a tablet held in one hand.
	"dose.already_recorded":        {"Dose già registrata da un collega", "Dose already recorded by a colleague"},
	"dose.cancelled":               {"Dose annullata da una modifica della prescrizione", "Dose cancelled by a change to the prescription"},
	"dose.not_found":               {"Dose non trovata", "Dose not found"},
	"dose.prn_limit":               {"Raggiunto il massimo di dosi al bisogno nelle 24 ore", "Maximum as-needed doses in 24 h reached"},
	"dose.prn_interval":            {"Intervallo minimo tra dosi al bisogno non trascorso", "Minimum interval between as-needed doses not elapsed"},
	"administration.blocked":       {"Somministrazione bloccata: verificare i controlli", "Administration blocked: see the checks"},
	"administration.not_permitted": {"Solo infermieri e medici somministrano; l'OSS registra l'assunzione assistita", "Only nurses and physicians administer; OSS record assisted intake"},
	"administration.dose_mismatch": {"La quantità non corrisponde alla dose prescritta", "The quantity does not match the prescribed dose"},
	"override.not_allowed":         {"Questo blocco non può essere superato", "This block cannot be overridden"},
	"witness.required":             {"Farmaco ad alto rischio: serve il doppio controllo di un secondo infermiere", "High-alert drug: a second nurse must double-check"},
	"witness.invalid":              {"Badge o PIN del testimone non accettati", "Witness badge or PIN not accepted"},
	"witness.not_qualified":        {"Il testimone deve essere un altro infermiere o medico", "The witness must be another nurse or physician"},
	"idempotency.key_reused":       {"Chiave già usata per un'altra richiesta", "Key already used for another request"},
	"idempotency.key_required":     {"Manca l'intestazione Idempotency-Key", "The Idempotency-Key header is missing"},
	"prescription.not_found":       {"Prescrizione non trovata", "Prescription not found"},
	"prescription.closed":          {"Questa versione della prescrizione non è più in vigore", "This version of the prescription is no longer in force"},
	"verify.not_a_pack":            {"Il codice letto non è una confezione di farmaco", "The code read is not a drug pack"},
	"verify.not_a_wristband":       {"Il codice letto non è un braccialetto", "The code read is not a wristband"},
	"notification.not_found":       {"Notifica non trovata", "Notification not found"},
	"round.already_open":           {"C'è già un giro terapia aperto in questo nucleo", "A drug round is already open on this ward"},
	"round.reasons_required":       {"Indicare il motivo per ogni dose non somministrata", "Give a reason for every dose left"},
	"document.not_found":           {"Documento non trovato", "Document not found"},
	"document.unsupported_type":    {"Formato non ammesso (PDF, JPEG o PNG)", "Format not allowed (PDF, JPEG or PNG)"},
	"timeline.unknown_kind":        {"Tipo di evento sconosciuto nel filtro", "Unknown kind in the filter"},
	"timeline.invalid_cursor":      {"Posizione non valida: ricaricare la cronologia", "Invalid position: reload the timeline"},
	"timeline.invalid_period":      {"Il periodo deve iniziare prima di finire", "The period must start before it ends"},
	"timeline.period_too_long":     {"Periodo troppo lungo: al massimo un anno per richiesta", "Period too long: at most one year per request"},
}

var kindMessages = map[backend.Kind]msg{
	backend.KindInternal:      messages["internal"],
	backend.KindInvalid:       {"Richiesta non valida", "Invalid request"},
	backend.KindUnauthorized:  messages["auth.unauthorized"],
	backend.KindForbidden:     messages["forbidden"],
	backend.KindNotFound:      messages["not_found"],
	backend.KindConflict:      {"Conflitto con lo stato attuale", "Conflict with the current state"},
	backend.KindUnprocessable: {"Richiesta non eseguibile", "Request cannot be carried out"},
	backend.KindTooMany:       messages["rate_limited"],
	backend.KindUnavailable:   messages["unavailable"],
	backend.KindUnsupported:   messages["request.unsupported_media_type"],
	backend.KindTooLarge:      messages["request.too_large"],
}

func message(code string, kind backend.Kind, l string) string {
	m, ok := messages[code]
	if !ok {
		m = kindMessages[kind]
	}
	if l == "en" {
		return m.en
	}
	return m.it
}
