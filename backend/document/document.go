// Package document is the resident's documents: reports (referti), discharge
// letters, consents and images, kept encrypted at rest with a content hash,
// never deleted (a mistake is marked entered in error, with a reason), and
// hideable from roles (oscuramento). A document hidden from the caller's
// roles is, for her, a document that does not exist: it is absent from every
// list and count and answers 404 document.not_found on every route.
package document

import (
	"bytes"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/access"
	"github.com/google/uuid"
)

// MaxBytes is the largest document accepted.
const MaxBytes = 20 << 20

// Kinds of document.
const (
	KindReport          = "report"
	KindDischargeLetter = "discharge_letter"
	KindConsent         = "consent"
	KindImage           = "image"
	KindOther           = "other"
)

// Kinds lists every kind.
var Kinds = []string{KindReport, KindDischargeLetter, KindConsent, KindImage, KindOther}

// Content types accepted, recognised by their first bytes.
const (
	TypePDF  = "application/pdf"
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
)

// Statuses of a document.
const (
	StatusCurrent        = "current"
	StatusEnteredInError = "entered_in_error"
)

// Codes.
const (
	CodeNotFound        = "document.not_found"
	CodeInvalid         = "document.invalid"
	CodeUnsupportedType = "document.unsupported_type"
	CodeTypeMismatch    = "document.type_mismatch"
	CodeIntegrity       = "document.integrity"
	CodeInvalidHidden   = "document.invalid_hidden_from"
	CodeReasonRequired  = "document.reason_required"
	CodeIdempotency     = "document.idempotency_mismatch"
	CodeAlreadyInError  = "document.entered_in_error"
)

// ErrNotFound is what an absent document, one of a resident out of scope and
// one hidden from the caller's roles all answer: the three are
// indistinguishable.
func ErrNotFound() error { return backend.E(backend.KindNotFound, CodeNotFound) }

// Document is a stored document's metadata. The content is read apart.
type Document struct {
	FacilityID   uuid.UUID
	ID           uuid.UUID
	ResidentID   uuid.UUID
	Kind         string
	Title        string
	DocumentDate time.Time // zero when unknown
	ContentType  string
	Size         int
	SHA256       []byte
	KeyVersion   int
	UploadedBy   uuid.UUID
	UploadedAt   time.Time
	Status       string
	StatusReason string
	// HiddenFrom is the current oscuramento: the roles the document is
	// hidden from (empty when visible to every role that reads the resident).
	HiddenFrom []backend.Role
	// IdempotencyKey is the uploader's key, when she sent one.
	IdempotencyKey string
}

// Upload is what a client sends.
type Upload struct {
	Kind         string
	Title        string
	DocumentDate time.Time
	// ClaimedType is the Content-Type the client declared.
	ClaimedType    string
	Data           []byte
	IdempotencyKey string
}

// Sniff names the content type of data by its first bytes: a PDF header,
// a JPEG start-of-image marker or the PNG signature. "" otherwise.
func Sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return TypePDF
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return TypeJPEG
	case bytes.HasPrefix(data, []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}):
		return TypePNG
	}
	return ""
}

// Validate checks the upload and returns the content type found by looking
// at the content; the file's name decides nothing. Content of no accepted
// type is refused (415 document.unsupported_type), and so is content that
// contradicts a specific claimed type (415 document.type_mismatch); a
// generic claim (application/octet-stream, or none) takes what the content
// is — a PNG named .pdf is stored as a PNG.
func (u *Upload) Validate() (string, error) {
	if !slices.Contains(Kinds, u.Kind) {
		return "", backend.Invalid(CodeInvalid, "kind", "one of report, discharge_letter, consent, image, other")
	}
	u.Title = strings.TrimSpace(u.Title)
	if u.Title == "" || utf8.RuneCountInString(u.Title) > 200 || !utf8.ValidString(u.Title) || strings.ContainsRune(u.Title, 0) {
		return "", backend.Invalid(CodeInvalid, "title", "required, at most 200 characters")
	}
	if len(u.IdempotencyKey) > 100 {
		return "", backend.Invalid(CodeInvalid, "Idempotency-Key", "at most 100 characters")
	}
	if len(u.Data) == 0 {
		return "", backend.Invalid(CodeInvalid, "body", "the document is empty")
	}
	if len(u.Data) > MaxBytes {
		return "", &backend.Error{Kind: backend.KindTooLarge, Code: "request.too_large", Detail: "at most 20 MiB"}
	}
	claimed := strings.ToLower(strings.TrimSpace(u.ClaimedType))
	generic := claimed == "" || claimed == "application/octet-stream"
	if !generic && claimed != TypePDF && claimed != TypeJPEG && claimed != TypePNG {
		return "", &backend.Error{Kind: backend.KindUnsupported, Code: CodeUnsupportedType,
			Detail: "send application/pdf, image/jpeg, image/png or application/octet-stream"}
	}
	ct := Sniff(u.Data)
	if ct == "" {
		return "", &backend.Error{Kind: backend.KindUnsupported, Code: CodeUnsupportedType,
			Detail: "the content is not a PDF, JPEG or PNG file"}
	}
	if !generic && claimed != ct {
		return "", &backend.Error{Kind: backend.KindUnsupported, Code: CodeTypeMismatch,
			Detail: "the content is " + ct + ", not " + claimed}
	}
	return ct, nil
}

// hideable are the roles a document may be hidden from: those that read
// residents but cannot themselves manage oscuramento (so that someone can
// always see a hidden document and make it visible again).
var hideable = []backend.Role{backend.RoleNurse, backend.RoleOSS, backend.RoleTherapist, backend.RoleWardLead}

// Hideable lists the roles a document may be hidden from.
func Hideable() []backend.Role { return slices.Clone(hideable) }

// CheckHiddenFrom validates an oscuramento's list of roles and returns it
// sorted and without duplicates.
func CheckHiddenFrom(roles []string) ([]backend.Role, error) {
	out := make([]backend.Role, 0, len(roles))
	for _, r := range roles {
		role := backend.Role(r)
		if !slices.Contains(hideable, role) {
			return nil, backend.Invalid(CodeInvalidHidden, "hidden_from", "roles among nurse, oss, therapist, ward_lead")
		}
		if !slices.Contains(out, role) {
			out = append(out, role)
		}
	}
	slices.Sort(out)
	return out, nil
}

// ReadingRoles are the roles among roles that read residents at all: the
// roles by which someone may see a document. The SQL side of VisibleTo
// uses them.
func ReadingRoles(roles []backend.Role) []string {
	var out []string
	for _, r := range roles {
		if access.Can(&backend.Actor{Roles: []backend.Role{r}}, access.ReadResident) {
			out = append(out, string(r))
		}
	}
	return out
}

// VisibleTo is the oscuramento rule, the one every feature that shows
// documents (lists, counts, the timeline, search) applies: a document is
// visible to someone holding roles when at least one of her roles that read
// residents is not among hiddenFrom. Roles are a union, as in the access
// matrix: a ward lead who is also a nurse sees what is hidden only from
// nurses. Someone with no reading role sees no document. The store applies
// the same rule in SQL (document visible iff NOT reading_roles <@ hidden_from).
func VisibleTo(roles, hiddenFrom []backend.Role) bool {
	for _, r := range ReadingRoles(roles) {
		if !slices.Contains(hiddenFrom, backend.Role(r)) {
			return true
		}
	}
	return false
}
