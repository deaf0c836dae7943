-- Anamnesis, diagnoses and active problems.
--
-- The anamnesis is one row per resident and section (family, remote and
-- recent pathological, physiological, social, functional), edited in place
-- under optimistic locking: keep_history archives every superseded version
-- in row_history, so the history of edits is never lost.
--
-- A problem is a diagnosis (medical, recorded by a physician) or a nursing
-- problem, coded in ICD-9-CM (the Italian 2007 edition; the code is checked
-- by the application against the shipped subset) or free text when no code
-- fits. Its content never changes: only the status moves (active, resolved,
-- inactive, or entered_in_error with a reason), each change archived by
-- keep_history; a trigger refuses any change of content.

CREATE TABLE anamnesis_sections (
    facility_id uuid        NOT NULL,
    id          uuid        NOT NULL,
    resident_id uuid        NOT NULL,
    section     text        NOT NULL CHECK (section IN ('family', 'remote_pathological', 'recent_pathological',
                                'physiological', 'social', 'functional')),
    body        text        NOT NULL,
    version     integer     NOT NULL DEFAULT 1,
    updated_by  uuid        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, resident_id, section),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, updated_by) REFERENCES staff (facility_id, id)
);
CREATE TRIGGER anamnesis_sections_history BEFORE UPDATE ON anamnesis_sections
    FOR EACH ROW EXECUTE FUNCTION keep_history();
CREATE TRIGGER anamnesis_sections_no_delete BEFORE DELETE ON anamnesis_sections
    FOR EACH ROW EXECUTE FUNCTION forbid_delete();

CREATE TABLE problems (
    facility_id   uuid        NOT NULL,
    id            uuid        NOT NULL,
    resident_id   uuid        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('medical', 'nursing')),
    icd9_code     text CHECK (icd9_code ~ '^([0-9]{3}(\.[0-9]{1,2})?|V[0-9]{2}(\.[0-9]{1,2})?|E[0-9]{3}(\.[0-9])?)$'),
    description   text        NOT NULL CHECK (description <> ''),
    onset         date,
    status        text        NOT NULL CHECK (status IN ('active', 'resolved', 'inactive', 'entered_in_error')),
    status_reason text        NOT NULL DEFAULT '',
    version       integer     NOT NULL DEFAULT 1,
    recorded_by   uuid        NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    updated_by    uuid        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id),
    FOREIGN KEY (facility_id, updated_by) REFERENCES staff (facility_id, id),
    CHECK (status <> 'entered_in_error' OR length(status_reason) >= 5)
);
CREATE INDEX problems_resident ON problems (facility_id, resident_id, recorded_at);

-- problems_content_fixed: only the status (with its reason and author) of a
-- problem may change, and never once it was entered in error.
CREATE FUNCTION problems_content_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'entered_in_error'
       OR NEW.resident_id IS DISTINCT FROM OLD.resident_id OR NEW.kind IS DISTINCT FROM OLD.kind
       OR NEW.icd9_code IS DISTINCT FROM OLD.icd9_code OR NEW.description IS DISTINCT FROM OLD.description
       OR NEW.onset IS DISTINCT FROM OLD.onset OR NEW.recorded_by IS DISTINCT FROM OLD.recorded_by
       OR NEW.recorded_at IS DISTINCT FROM OLD.recorded_at THEN
        RAISE EXCEPTION 'only the status of a problem changes' USING ERRCODE = 'CR002';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER problems_fixed BEFORE UPDATE ON problems
    FOR EACH ROW EXECUTE FUNCTION problems_content_fixed();
CREATE TRIGGER problems_history BEFORE UPDATE ON problems
    FOR EACH ROW EXECUTE FUNCTION keep_history();
CREATE TRIGGER problems_no_delete BEFORE DELETE ON problems
    FOR EACH ROW EXECUTE FUNCTION forbid_delete();

CREATE TRIGGER anamnesis_sections_no_truncate BEFORE TRUNCATE ON anamnesis_sections FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER problems_no_truncate BEFORE TRUNCATE ON problems FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
