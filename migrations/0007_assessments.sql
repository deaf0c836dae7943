-- Assessment scales (Barthel, Braden, Norton, Morse, Conley, NRS, PAINAD,
-- MNA-SF, MMSE, Tinetti, GDS-15). The server scores each form; a row keeps
-- the answers as given, the raw total, the total the band is read from (for
-- MMSE the age/schooling-corrected score), the band, who and when.
--
-- The invariants:
--   * an assessment is never edited or deleted (forbid_change): a mistake
--     is marked entered in error, with a reason, by one row of
--     assessment_corrections (at most one per assessment), and a new
--     assessment is recorded;
--   * a retried recording (same staff, same Idempotency-Key) finds the
--     first one: a unique index;
--   * bands are defaults in the code (scales.md); a facility may move a
--     band's lower bound (e.g. Morse high from 51) in assessment_band_overrides.

CREATE TABLE assessments (
    facility_id      uuid         NOT NULL,
    id               uuid         NOT NULL,
    resident_id      uuid         NOT NULL,
    scale            text         NOT NULL CHECK (scale IN ('barthel', 'barthel_modified', 'braden', 'norton', 'morse',
                                      'conley', 'nrs', 'painad', 'mna_sf', 'mmse', 'tinetti', 'gds15')),
    answers          jsonb        NOT NULL CHECK (jsonb_typeof(answers) = 'object'),
    raw_total        integer      NOT NULL CHECK (raw_total BETWEEN 0 AND 125),
    total            numeric(4,1) NOT NULL,
    band             text         NOT NULL CHECK (band <> ''),
    -- MMSE: age at assessment, years of schooling, the norm table and the
    -- correction applied (NULL when the table does not cover the resident).
    age              integer,
    schooling_years  integer,
    norms            text,
    correction       numeric(3,1),
    correction_note  text         NOT NULL DEFAULT '',
    notes            text         NOT NULL DEFAULT '',
    assessed_at      timestamptz  NOT NULL,
    recorded_at      timestamptz  NOT NULL DEFAULT now(),
    recorded_by      uuid         NOT NULL,
    idempotency_key  text,
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id),
    CHECK ((scale = 'mmse') = (age IS NOT NULL AND schooling_years IS NOT NULL AND norms IS NOT NULL))
);
CREATE INDEX assessments_by_resident ON assessments (facility_id, resident_id, scale, assessed_at DESC);
CREATE UNIQUE INDEX assessments_idempotency ON assessments (facility_id, recorded_by, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE TRIGGER assessments_append_only BEFORE UPDATE OR DELETE ON assessments
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- An assessment marked entered in error: one row, never edited.
CREATE TABLE assessment_corrections (
    facility_id   uuid        NOT NULL,
    assessment_id uuid        NOT NULL,
    reason        text        NOT NULL CHECK (reason <> ''),
    recorded_by   uuid        NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, assessment_id),
    FOREIGN KEY (facility_id, assessment_id) REFERENCES assessments (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id)
);
CREATE TRIGGER assessment_corrections_append_only BEFORE UPDATE OR DELETE ON assessment_corrections
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- A facility's bands, where they differ from the defaults: the lower bound
-- (inclusive) of one band of one scale. Changes keep history.
CREATE TABLE assessment_band_overrides (
    facility_id uuid         NOT NULL REFERENCES facilities (id),
    id          uuid         NOT NULL,
    scale       text         NOT NULL,
    band        text         NOT NULL,
    from_score  numeric(4,1) NOT NULL,
    version     integer      NOT NULL DEFAULT 1,
    updated_at  timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, scale, band)
);
CREATE TRIGGER assessment_band_overrides_history BEFORE UPDATE ON assessment_band_overrides
    FOR EACH ROW EXECUTE FUNCTION keep_history();
CREATE TRIGGER assessment_band_overrides_no_delete BEFORE DELETE ON assessment_band_overrides
    FOR EACH ROW EXECUTE FUNCTION forbid_delete();

CREATE TRIGGER assessments_no_truncate BEFORE TRUNCATE ON assessments FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER assessment_corrections_no_truncate BEFORE TRUNCATE ON assessment_corrections FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER assessment_band_overrides_no_truncate BEFORE TRUNCATE ON assessment_band_overrides FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
