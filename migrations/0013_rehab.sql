-- Rehabilitation: therapists' planned sessions and the sessions done or
-- not done. A plan (until the PAI exists, written directly; later linked
-- through care_plan_intervention_id) repeats on weekdays at a time of day
-- in the facility's time zone; the day list expands plans on read. A
-- session is recorded once per planned occurrence (unique index). All
-- append-only: a mistake is a rehab_session_corrections row.

CREATE TABLE rehab_plans (
    facility_id  uuid        NOT NULL,
    id           uuid        NOT NULL,
    resident_id  uuid        NOT NULL,
    type         text        NOT NULL CHECK (type IN ('physiotherapy', 'occupational', 'speech', 'cognitive_stimulation')),
    -- ISO weekdays, 1 = Monday … 7 = Sunday.
    weekdays     smallint[]  NOT NULL CHECK (cardinality(weekdays) BETWEEN 1 AND 7 AND weekdays <@ '{1,2,3,4,5,6,7}'),
    time_of_day  time        NOT NULL,
    start_date   date        NOT NULL,
    end_date     date,
    therapist_id uuid,
    goal         text        NOT NULL DEFAULT '' CHECK (length(goal) <= 2000),
    care_plan_intervention_id uuid,
    recorded_by  uuid        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, therapist_id) REFERENCES staff (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id),
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX rehab_plans_by_resident ON rehab_plans (facility_id, resident_id, start_date);
CREATE TRIGGER rehab_plans_append_only BEFORE UPDATE OR DELETE ON rehab_plans
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE rehab_sessions (
    facility_id   uuid        NOT NULL,
    id            uuid        NOT NULL,
    resident_id   uuid        NOT NULL,
    plan_id       uuid,
    planned_for   timestamptz,
    type          text        NOT NULL CHECK (type IN ('physiotherapy', 'occupational', 'speech', 'cognitive_stimulation')),
    outcome       text        NOT NULL CHECK (outcome IN ('done', 'not_done')),
    reason        text        NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    duration_min  integer     CHECK (duration_min BETWEEN 1 AND 240),
    notes         text        NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
    measure_name  text        CHECK (length(measure_name) BETWEEN 1 AND 100),
    measure_value numeric,
    measure_unit  text        CHECK (length(measure_unit) <= 30),
    recorded_by   uuid        NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    device_id     uuid,
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, plan_id) REFERENCES rehab_plans (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id),
    CHECK ((plan_id IS NULL) = (planned_for IS NULL)),
    CHECK (outcome <> 'done' OR duration_min IS NOT NULL),
    CHECK (outcome <> 'not_done' OR length(reason) >= 3),
    CHECK ((measure_name IS NULL) = (measure_value IS NULL))
);
CREATE UNIQUE INDEX rehab_sessions_once_per_planned ON rehab_sessions (facility_id, plan_id, planned_for)
    WHERE plan_id IS NOT NULL;
CREATE INDEX rehab_sessions_by_resident ON rehab_sessions (facility_id, resident_id, recorded_at DESC);
CREATE TRIGGER rehab_sessions_append_only BEFORE UPDATE OR DELETE ON rehab_sessions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE rehab_session_corrections (
    facility_id uuid        NOT NULL,
    id          uuid        NOT NULL,
    session_id  uuid        NOT NULL,
    reason      text        NOT NULL CHECK (length(reason) >= 5),
    recorded_by uuid        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, session_id),
    FOREIGN KEY (facility_id, session_id) REFERENCES rehab_sessions (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id)
);
CREATE TRIGGER rehab_session_corrections_append_only BEFORE UPDATE OR DELETE ON rehab_session_corrections
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TRIGGER rehab_plans_no_truncate BEFORE TRUNCATE ON rehab_plans FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER rehab_sessions_no_truncate BEFORE TRUNCATE ON rehab_sessions FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER rehab_session_corrections_no_truncate BEFORE TRUNCATE ON rehab_session_corrections
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
