-- Documents of the resident: reports (referti), discharge letters, consents,
-- images. The content is encrypted by the application before it reaches the
-- database (AES-256-GCM under a data key derived per document from a master
-- key, with facility, resident and document ids as associated data): no key
-- and no plaintext byte ever appears in SQL text or in the server's log.
-- sha256 is the plaintext's hash, checked at every download; key_version
-- names the master key, so rotation keeps older documents readable.
--
-- Documents are never changed nor deleted. A mistake is a correction row
-- (entered in error, with a reason); oscuramento is a history of visibility
-- rows, the newest in force.
CREATE TABLE documents (
    facility_id     uuid        NOT NULL,
    id              uuid        NOT NULL,
    resident_id     uuid        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('report', 'discharge_letter', 'consent', 'image', 'other')),
    title           text        NOT NULL CHECK (title <> '' AND length(title) <= 200),
    document_date   date,
    content_type    text        NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    size            integer     NOT NULL CHECK (size > 0),
    sha256          bytea       NOT NULL CHECK (length(sha256) = 32),
    key_version     integer     NOT NULL CHECK (key_version > 0),
    ciphertext      bytea       NOT NULL,
    uploaded_by     uuid        NOT NULL,
    uploaded_at     timestamptz NOT NULL DEFAULT now(),
    idempotency_key text,
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, uploaded_by) REFERENCES staff (facility_id, id)
);
-- Ciphertext does not compress: keep it out of TOAST compression.
ALTER TABLE documents ALTER COLUMN ciphertext SET STORAGE EXTERNAL;
CREATE INDEX documents_by_resident ON documents (facility_id, resident_id, uploaded_at DESC);
-- A retried upload finds the document its key stored.
CREATE UNIQUE INDEX documents_idempotency ON documents (facility_id, uploaded_by, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE TRIGGER documents_append_only BEFORE UPDATE OR DELETE ON documents
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Oscuramento: each row is the whole set of roles the document is hidden
-- from from then on (empty: visible again). The newest row (seq) wins.
-- Roles that manage oscuramento (physician, director) cannot be hidden from.
CREATE TABLE document_visibility (
    facility_id uuid        NOT NULL,
    id          uuid        NOT NULL,
    seq         bigint      GENERATED ALWAYS AS IDENTITY,
    document_id uuid        NOT NULL,
    hidden_from text[]      NOT NULL CHECK (hidden_from <@ ARRAY['nurse', 'oss', 'therapist', 'ward_lead']::text[]),
    reason      text        NOT NULL CHECK (length(reason) >= 5),
    recorded_by uuid        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, document_id) REFERENCES documents (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id)
);
CREATE INDEX document_visibility_current ON document_visibility (facility_id, document_id, seq DESC);
CREATE TRIGGER document_visibility_append_only BEFORE UPDATE OR DELETE ON document_visibility
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Entered in error: a linked correction, never an edit. One per document.
CREATE TABLE document_corrections (
    facility_id uuid        NOT NULL,
    id          uuid        NOT NULL,
    document_id uuid        NOT NULL,
    reason      text        NOT NULL CHECK (length(reason) >= 5),
    recorded_by uuid        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, document_id),
    FOREIGN KEY (facility_id, document_id) REFERENCES documents (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id)
);
CREATE TRIGGER document_corrections_append_only BEFORE UPDATE OR DELETE ON document_corrections
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TRIGGER documents_no_truncate BEFORE TRUNCATE ON documents FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER document_visibility_no_truncate BEFORE TRUNCATE ON document_visibility FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER document_corrections_no_truncate BEFORE TRUNCATE ON document_corrections FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
