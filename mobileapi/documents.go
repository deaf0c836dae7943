package mobileapi

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/corsia-cce/corsia/backend"
	"github.com/corsia-cce/corsia/backend/document"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// documentLimit is the body limit of a document upload (the one route that
// takes documents); other requests keep limit.
func documentLimit(c *fiber.Ctx, limit int) int {
	p := c.Path()
	if c.Method() == fiber.MethodPost && strings.HasPrefix(p, "/v1/residents/") && strings.HasSuffix(p, "/documents") {
		return document.MaxBytes
	}
	return limit
}

type documentJSON struct {
	ID           uuid.UUID `json:"id"`
	ResidentID   uuid.UUID `json:"resident_id"`
	Kind         string    `json:"kind"`
	Title        string    `json:"title"`
	DocumentDate *Date     `json:"document_date"`
	ContentType  string    `json:"content_type"`
	Size         int       `json:"size"`
	SHA256       string    `json:"sha256"`
	UploadedBy   uuid.UUID `json:"uploaded_by"`
	UploadedAt   time.Time `json:"uploaded_at"`
	Status       string    `json:"status"`
	StatusReason string    `json:"status_reason,omitempty"`
	HiddenFrom   []string  `json:"hidden_from"`
}

func toDocument(d document.Document) documentJSON {
	out := documentJSON{ID: d.ID, ResidentID: d.ResidentID, Kind: d.Kind, Title: d.Title, ContentType: d.ContentType,
		Size: d.Size, SHA256: hex.EncodeToString(d.SHA256), UploadedBy: d.UploadedBy, UploadedAt: d.UploadedAt,
		Status: d.Status, StatusReason: d.StatusReason, HiddenFrom: []string{}}
	if !d.DocumentDate.IsZero() {
		out.DocumentDate = &Date{d.DocumentDate}
	}
	for _, r := range d.HiddenFrom {
		out.HiddenFrom = append(out.HiddenFrom, string(r))
	}
	return out
}

func documentID(c *fiber.Ctx) (uuid.UUID, error) { return pathID(c, "id", document.CodeNotFound) }

// uploadDocument stores a document sent as the raw body; kind, title and
// document_date are query parameters. The type is read from the content.
func (s *Server) uploadDocument(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	u := document.Upload{Kind: c.Query("kind"), Title: c.Query("title"), ClaimedType: mediaType(c),
		Data: body(c), IdempotencyKey: c.Get("Idempotency-Key")}
	if c.Get(fiber.HeaderContentType) != "" && u.ClaimedType == "" {
		return &backend.Error{Kind: backend.KindUnsupported, Code: document.CodeUnsupportedType, Detail: "malformed Content-Type"}
	}
	if v := c.Query("document_date"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return backend.Invalid("request.invalid_query", "document_date", "a YYYY-MM-DD date")
		}
		u.DocumentDate = t
	}
	d, replayed, err := s.Documents.Upload(c.UserContext(), actor(c), id, u)
	if err != nil {
		return err
	}
	if replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.Status(fiber.StatusCreated).JSON(toDocument(d))
}

func (s *Server) listDocuments(c *fiber.Ctx) error {
	id, err := s.residentID(c)
	if err != nil {
		return err
	}
	list, err := s.Documents.List(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	out := make([]documentJSON, len(list))
	for i, d := range list {
		out[i] = toDocument(d)
	}
	return c.JSON(fiber.Map{"documents": out})
}

func (s *Server) getDocument(c *fiber.Ctx) error {
	id, err := documentID(c)
	if err != nil {
		return err
	}
	d, err := s.Documents.Get(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(toDocument(d))
}

var documentExt = map[string]string{document.TypePDF: "pdf", document.TypeJPEG: "jpg", document.TypePNG: "png"}

// documentContent sends the decrypted content, checked against its hash,
// as an attachment of its stored type.
func (s *Server) documentContent(c *fiber.Ctx) error {
	id, err := documentID(c)
	if err != nil {
		return err
	}
	d, data, err := s.Documents.Content(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, d.ContentType)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+d.ID.String()+"."+documentExt[d.ContentType]+`"`)
	c.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(d.SHA256)+":")
	return c.SendStream(bytes.NewReader(data), len(data))
}

type visibilityJSON struct {
	HiddenFrom []string `json:"hidden_from"`
	Reason     string   `json:"reason"`
}

func (s *Server) documentVisibility(c *fiber.Ctx) error {
	id, err := documentID(c)
	if err != nil {
		return err
	}
	var req visibilityJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.HiddenFrom == nil {
		return backend.Invalid(document.CodeInvalidHidden, "hidden_from", "required (an empty list makes the document visible again)")
	}
	d, err := s.Documents.SetVisibility(c.UserContext(), actor(c), id, req.HiddenFrom, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(toDocument(d))
}

type documentErrorJSON struct {
	Reason string `json:"reason"`
}

func (s *Server) documentEnteredInError(c *fiber.Ctx) error {
	id, err := documentID(c)
	if err != nil {
		return err
	}
	var req documentErrorJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	d, err := s.Documents.EnterInError(c.UserContext(), actor(c), id, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(toDocument(d))
}
