-- Vital signs and measurements. One POST is one vital_records row (when,
-- by whom, notes) with its measurements; a weight with a known height also
-- stores the BMI computed from it. The normal range used and the flags it
-- raised are stored with each measurement, so a later change of the ranges
-- never rewrites what was shown at the time. Values are numeric, never
-- floats. Rows are append-only: a mistake is a vital_corrections row
-- (entered in error, with a reason), never an edit.

CREATE TABLE vital_records (
    facility_id  uuid        NOT NULL,
    id           uuid        NOT NULL,
    resident_id  uuid        NOT NULL,
    measured_at  timestamptz NOT NULL,
    notes        text        NOT NULL DEFAULT '',
    recorded_by  uuid        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    device_id    uuid,
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id)
);
CREATE TRIGGER vital_records_append_only BEFORE UPDATE OR DELETE ON vital_records
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE vital_measurements (
    facility_id   uuid        NOT NULL,
    id            uuid        NOT NULL,
    record_id     uuid        NOT NULL,
    resident_id   uuid        NOT NULL,
    measured_at   timestamptz NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('blood_pressure', 'heart_rate', 'temperature', 'spo2',
                      'respiratory_rate', 'glycaemia', 'weight', 'height', 'bmi', 'pain', 'fluid_intake',
                      'fluid_output', 'bowel_movement')),
    -- The value (systolic for blood pressure; the Bristol type, or NULL, for a
    -- bowel movement) and, for blood pressure only, the diastolic.
    value         numeric CHECK (value >= 0),
    value2        numeric CHECK (value2 >= 0),
    unit          text        NOT NULL,
    -- Fluid intake: oral, enteral, iv; output: urine, drainage, vomit.
    subkind       text        NOT NULL DEFAULT '',
    -- Pain: the NRS or PAINAD assessment the score comes from, if any.
    assessment_id uuid,
    computed      boolean     NOT NULL DEFAULT false,
    flags         text[]      NOT NULL DEFAULT '{}',
    normal_low    numeric,
    normal_high   numeric,
    normal_low2   numeric,
    normal_high2  numeric,
    position      integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, record_id) REFERENCES vital_records (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    CHECK ((kind = 'blood_pressure') = (value2 IS NOT NULL)),
    CHECK (kind = 'bowel_movement' OR value IS NOT NULL)
);
CREATE INDEX vital_measurements_series ON vital_measurements (facility_id, resident_id, kind, measured_at);
CREATE TRIGGER vital_measurements_append_only BEFORE UPDATE OR DELETE ON vital_measurements
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE vital_corrections (
    facility_id    uuid        NOT NULL,
    id             uuid        NOT NULL,
    measurement_id uuid        NOT NULL,
    reason         text        NOT NULL CHECK (length(reason) >= 5),
    recorded_by    uuid        NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, measurement_id),
    FOREIGN KEY (facility_id, measurement_id) REFERENCES vital_measurements (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id)
);
CREATE TRIGGER vital_corrections_append_only BEFORE UPDATE OR DELETE ON vital_corrections
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TRIGGER vital_records_no_truncate BEFORE TRUNCATE ON vital_records FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER vital_measurements_no_truncate BEFORE TRUNCATE ON vital_measurements FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER vital_corrections_no_truncate BEFORE TRUNCATE ON vital_corrections FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
