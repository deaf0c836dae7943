-- The clinical diary (diario clinico): dated entries by profession, signed
-- by their author and never edited. A later note is an addendum linked to its
-- entry; a mistake is an entered_in_error correction linked to it (its text
-- is the reason) and the original stays, marked. signature is the SHA-256 of
-- the canonical content (resident, profession, text, occurred_at, author,
-- recorded_at, link), computed by the application and checked on every read,
-- so a change made behind its back shows. social and psychological have no
-- staff role yet: nobody writes them for now.
CREATE TABLE diary_entries (
    facility_id  uuid        NOT NULL,
    id           uuid        NOT NULL,
    resident_id  uuid        NOT NULL,
    profession   text        NOT NULL CHECK (profession IN ('medical', 'nursing', 'oss', 'rehabilitation',
                                                            'social', 'psychological')),
    text         text        NOT NULL CHECK (text <> '' AND char_length(text) <= 4000),
    occurred_at  timestamptz NOT NULL,
    author_id    uuid        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    link_kind    text        CHECK (link_kind IN ('addendum', 'entered_in_error')),
    links_to     uuid,
    signature    bytea       NOT NULL CHECK (length(signature) = 32),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, resident_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, author_id) REFERENCES staff (facility_id, id),
    -- A link stays within one resident's diary.
    FOREIGN KEY (facility_id, resident_id, links_to) REFERENCES diary_entries (facility_id, resident_id, id),
    CHECK ((link_kind IS NULL) = (links_to IS NULL)),
    CHECK (occurred_at <= recorded_at + interval '5 minutes')
);
-- One correction per entry.
CREATE UNIQUE INDEX diary_one_correction ON diary_entries (facility_id, links_to) WHERE link_kind = 'entered_in_error';
CREATE INDEX diary_links ON diary_entries (facility_id, links_to) WHERE links_to IS NOT NULL;
CREATE INDEX diary_by_resident ON diary_entries (facility_id, resident_id, occurred_at DESC, id DESC) WHERE links_to IS NULL;

CREATE TRIGGER diary_entries_append_only BEFORE UPDATE ON diary_entries FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER diary_entries_no_delete BEFORE DELETE ON diary_entries FOR EACH ROW EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER diary_entries_no_truncate BEFORE TRUNCATE ON diary_entries FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
