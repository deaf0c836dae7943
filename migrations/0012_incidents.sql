-- Incidents: falls, pressure injuries and other adverse events. One row
-- per event with its kind's details (validated by the service; the kind,
-- and for a pressure injury the site and stage, are also checked here).
-- Append-only: a mistake is an incident_corrections row (entered in error,
-- with a reason); a follow-up (a pressure injury's reassessment) is a new
-- incident pointing at the first. Recording one notifies the ward lead
-- through an 'incident' alert chain.

CREATE TABLE incidents (
    facility_id  uuid        NOT NULL,
    id           uuid        NOT NULL,
    resident_id  uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('fall', 'pressure_injury', 'other')),
    occurred_at  timestamptz NOT NULL,
    follow_up_of uuid,
    -- The kind's details as the service validated them: decimals as
    -- strings, never floats.
    details      jsonb       NOT NULL CHECK (jsonb_typeof(details) = 'object'),
    notes        text        NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
    recorded_by  uuid        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    device_id    uuid,
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id),
    FOREIGN KEY (facility_id, follow_up_of) REFERENCES incidents (facility_id, id),
    CHECK (follow_up_of IS NULL OR follow_up_of <> id),
    CHECK (kind <> 'pressure_injury' OR (details->>'site' IN ('sacrum', 'heel_left', 'heel_right', 'hip_left', 'hip_right',
        'ischium', 'elbow', 'occiput', 'other')
        AND details->>'stage' IN ('1', '2', '3', '4', 'unstageable', 'deep_tissue'))),
    CHECK (kind <> 'fall' OR details->>'injury' IN ('none', 'minor', 'major', 'fracture', 'head'))
);
CREATE INDEX incidents_by_resident ON incidents (facility_id, resident_id, occurred_at DESC);
CREATE INDEX incidents_by_time ON incidents (facility_id, occurred_at);
CREATE TRIGGER incidents_append_only BEFORE UPDATE OR DELETE ON incidents
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE incident_corrections (
    facility_id uuid        NOT NULL,
    id          uuid        NOT NULL,
    incident_id uuid        NOT NULL,
    reason      text        NOT NULL CHECK (length(reason) >= 5),
    recorded_by uuid        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, incident_id),
    FOREIGN KEY (facility_id, incident_id) REFERENCES incidents (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id)
);
CREATE TRIGGER incident_corrections_append_only BEFORE UPDATE OR DELETE ON incident_corrections
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TRIGGER incidents_no_truncate BEFORE TRUNCATE ON incidents FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER incident_corrections_no_truncate BEFORE TRUNCATE ON incident_corrections FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();

-- An incident opens an alert chain (subject: the incident) that notifies
-- the ward's leads.
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('dose_due', 'dose_late', 'prn_check_due',
    'repeated_refusal', 'unable_to_scan', 'override', 'incident'));
