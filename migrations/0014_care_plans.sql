-- The care plan (PAI, Piano Assistenziale Individualizzato) and the care
-- tasks it generates.
--
-- A plan is a chain of versions per resident. A version is proposed by a
-- member of the team (a draft carrying its author's signature), signed by
-- the others who agree it, and comes into force when signed by two people
-- of different professions: that is an activation row. The version in
-- force is the one with the latest activation; old versions and their
-- signatures are kept. A version's content (problems → goals →
-- interventions) is written once with the version and never changed: a
-- change is a new version.
--
-- Interventions with times generate care tasks, expanded on read for the
-- period in which their version was in force. Ticking a task off is a
-- care_task_records row, once per (intervention line, due time, attempt);
-- a record entered in error (care_task_corrections) reopens the task as
-- the next attempt, as doses do.

CREATE TABLE care_plan_versions (
    facility_id  uuid        NOT NULL,
    id           uuid        NOT NULL,
    resident_id  uuid        NOT NULL,
    version_no   integer     NOT NULL CHECK (version_no >= 1),
    -- The version in force when this one was drafted (NULL for the first
    -- plan). A draft whose base is no longer in force is stale.
    based_on     uuid,
    review_date  date        NOT NULL,
    summary      text        NOT NULL DEFAULT '' CHECK (length(summary) <= 4000),
    recorded_by  uuid        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, resident_id, version_no),
    -- Lets children name (version, resident) and so never cross residents.
    UNIQUE (facility_id, id, resident_id),
    -- Lets an activation name (version, the version it was based on).
    UNIQUE (facility_id, id, based_on),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, based_on, resident_id) REFERENCES care_plan_versions (facility_id, id, resident_id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id)
);

CREATE TABLE care_plan_problems (
    facility_id uuid     NOT NULL,
    id          uuid     NOT NULL,
    version_id  uuid     NOT NULL,
    ordinal     smallint NOT NULL CHECK (ordinal BETWEEN 1 AND 50),
    title       text     NOT NULL CHECK (length(title) BETWEEN 3 AND 300),
    -- The problem list entry it addresses, when there is one.
    problem_id  uuid,
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, version_id, ordinal),
    UNIQUE (facility_id, id, version_id),
    FOREIGN KEY (facility_id, version_id) REFERENCES care_plan_versions (facility_id, id),
    FOREIGN KEY (facility_id, problem_id) REFERENCES problems (facility_id, id)
);

CREATE TABLE care_plan_goals (
    facility_id uuid     NOT NULL,
    id          uuid     NOT NULL,
    version_id  uuid     NOT NULL,
    problem_ref uuid     NOT NULL,
    ordinal     smallint NOT NULL CHECK (ordinal BETWEEN 1 AND 50),
    description text     NOT NULL CHECK (length(description) BETWEEN 3 AND 1000),
    -- How the goal is measured (e.g. "Braden ≥ 15", "no fall in 3 months").
    measure     text     NOT NULL CHECK (length(measure) BETWEEN 3 AND 300),
    target_date date     NOT NULL,
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, version_id, problem_ref, ordinal),
    UNIQUE (facility_id, id, version_id),
    FOREIGN KEY (facility_id, problem_ref, version_id) REFERENCES care_plan_problems (facility_id, id, version_id)
);

CREATE TABLE care_plan_interventions (
    facility_id uuid       NOT NULL,
    id          uuid       NOT NULL,
    version_id  uuid       NOT NULL,
    resident_id uuid       NOT NULL,
    -- The same intervention across versions: its own id for a new one, the
    -- line of the one it continues otherwise (the foreign key below checks
    -- it). Care tasks are ticked per line, so a task ticked just before a
    -- new version came into force stays ticked in the new version.
    line_id     uuid       NOT NULL,
    goal_id     uuid       NOT NULL,
    ordinal     smallint   NOT NULL CHECK (ordinal BETWEEN 1 AND 50),
    kind        text       NOT NULL CHECK (kind IN ('repositioning', 'hydration', 'hygiene', 'mobilisation', 'meal',
                                                    'continence', 'skin_check', 'monitoring', 'rehab', 'other')),
    description text       NOT NULL CHECK (length(description) BETWEEN 3 AND 1000),
    -- Who carries it out: OSS tasks may be ticked by OSS and nurses, nurse
    -- tasks by nurses only; therapist interventions are carried out as
    -- rehab plans linked to them, physician ones are not tasks.
    role        text       NOT NULL CHECK (role IN ('oss', 'nurse', 'therapist', 'physician')),
    -- Times of day (facility time) at which a task falls due; empty for
    -- an intervention without a schedule of its own.
    times       time[]     NOT NULL DEFAULT '{}' CHECK (cardinality(times) <= 24),
    -- ISO weekdays, NULL = every day.
    weekdays    smallint[] CHECK (weekdays IS NULL OR (cardinality(weekdays) BETWEEN 1 AND 7 AND weekdays <@ '{1,2,3,4,5,6,7}')),
    -- The same intervention in the previous version, so that history
    -- reads as one line across versions.
    continues   uuid,
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, version_id, goal_id, ordinal),
    UNIQUE (facility_id, id, resident_id),
    UNIQUE (facility_id, id, resident_id, line_id),
    -- One intervention per line in a version: two would share their ticks.
    UNIQUE (facility_id, version_id, line_id),
    UNIQUE (facility_id, id, resident_id, line_id, kind),
    FOREIGN KEY (facility_id, goal_id, version_id) REFERENCES care_plan_goals (facility_id, id, version_id),
    FOREIGN KEY (facility_id, version_id, resident_id) REFERENCES care_plan_versions (facility_id, id, resident_id),
    -- A continued intervention is of the same resident, line and kind.
    FOREIGN KEY (facility_id, continues, resident_id, line_id, kind)
        REFERENCES care_plan_interventions (facility_id, id, resident_id, line_id, kind),
    CHECK (continues IS NOT NULL OR line_id = id),
    CHECK (role IN ('oss', 'nurse') OR cardinality(times) = 0),
    CHECK (kind <> 'rehab' OR role = 'therapist')
);
CREATE INDEX care_plan_interventions_by_version ON care_plan_interventions (facility_id, version_id);

-- Who agreed a version. Signing twice is one signature.
CREATE TABLE care_plan_signatures (
    facility_id uuid        NOT NULL,
    version_id  uuid        NOT NULL,
    staff_id    uuid        NOT NULL,
    -- The profession the signer signed as (medical, nursing, oss,
    -- rehabilitation), from her roles at the time.
    profession  text        NOT NULL CHECK (profession IN ('medical', 'nursing', 'oss', 'rehabilitation')),
    signed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, version_id, staff_id),
    FOREIGN KEY (facility_id, version_id) REFERENCES care_plan_versions (facility_id, id),
    FOREIGN KEY (facility_id, staff_id) REFERENCES staff (facility_id, id)
);

-- A version coming into force. previous_version_id is the version in force
-- before it; the unique key lets each version be followed by one
-- activation only (and a resident's first activation happen once), so
-- two drafts agreed at the same moment cannot both take over.
CREATE TABLE care_plan_activations (
    facility_id         uuid        NOT NULL,
    resident_id         uuid        NOT NULL,
    version_id          uuid        NOT NULL,
    previous_version_id uuid,
    activated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, version_id),
    FOREIGN KEY (facility_id, version_id, resident_id) REFERENCES care_plan_versions (facility_id, id, resident_id),
    FOREIGN KEY (facility_id, previous_version_id, resident_id) REFERENCES care_plan_activations (facility_id, version_id, resident_id),
    UNIQUE (facility_id, version_id, resident_id),
    CHECK (previous_version_id IS DISTINCT FROM version_id)
);
CREATE UNIQUE INDEX care_plan_activations_one_successor
    ON care_plan_activations (facility_id, resident_id, previous_version_id) NULLS NOT DISTINCT;

-- An activation follows the version its draft was based on, and comes
-- after it: the periods in force never overlap.
CREATE FUNCTION care_plan_activation_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    base uuid;
    prev timestamptz;
BEGIN
    SELECT based_on INTO base FROM care_plan_versions WHERE facility_id = NEW.facility_id AND id = NEW.version_id;
    IF NEW.previous_version_id IS DISTINCT FROM base THEN
        RAISE EXCEPTION 'care plan version % was drafted on %, not on %', NEW.version_id, base, NEW.previous_version_id
            USING ERRCODE = '23514';
    END IF;
    IF NEW.previous_version_id IS NOT NULL THEN
        SELECT activated_at INTO prev FROM care_plan_activations
         WHERE facility_id = NEW.facility_id AND version_id = NEW.previous_version_id;
        IF NEW.activated_at <= prev THEN
            RAISE EXCEPTION 'care plan version % cannot come into force before the version it replaces', NEW.version_id
                USING ERRCODE = '23514';
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER care_plan_activations_check BEFORE INSERT ON care_plan_activations
    FOR EACH ROW EXECUTE FUNCTION care_plan_activation_check();
CREATE INDEX care_plan_activations_by_resident ON care_plan_activations (facility_id, resident_id, activated_at DESC);

CREATE TABLE care_task_records (
    facility_id     uuid        NOT NULL,
    id              uuid        NOT NULL,
    resident_id     uuid        NOT NULL,
    intervention_id uuid        NOT NULL,
    -- The intervention's line: a task is one per (line, due time).
    line_id         uuid        NOT NULL,
    due_at          timestamptz NOT NULL,
    attempt         smallint    NOT NULL DEFAULT 1 CHECK (attempt BETWEEN 1 AND 20),
    outcome         text        NOT NULL CHECK (outcome IN ('done', 'not_done')),
    reason_code     text        CHECK (reason_code IN ('refused', 'absent', 'asleep', 'clinical_condition',
                                                        'not_needed', 'no_staff', 'other')),
    reason          text        NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    -- Meals: share of the meal eaten; hydration: what was drunk.
    intake_pct      smallint    CHECK (intake_pct IN (0, 25, 50, 75, 100)),
    fluid_ml        integer     CHECK (fluid_ml BETWEEN 0 AND 3000),
    -- Repositioning: the position the resident was left in.
    position        text        CHECK (position IN ('supine', 'left_side', 'right_side', 'semi_fowler', 'prone', 'chair')),
    notes           text        NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
    recorded_by     uuid        NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    device_id       uuid,
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, line_id, due_at, attempt),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    -- The record's resident and line are its intervention's.
    FOREIGN KEY (facility_id, intervention_id, resident_id, line_id)
        REFERENCES care_plan_interventions (facility_id, id, resident_id, line_id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id),
    CHECK (outcome <> 'not_done' OR reason_code IS NOT NULL),
    CHECK (outcome <> 'done' OR reason_code IS NULL),
    CHECK (reason_code IS DISTINCT FROM 'other' OR length(reason) >= 3)
);
CREATE INDEX care_task_records_by_resident ON care_task_records (facility_id, resident_id, due_at DESC);

-- One live record per task: a further attempt only when every earlier one
-- was entered in error (the unique key stops two of the same attempt).
CREATE FUNCTION care_task_attempt_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM care_task_records r
         WHERE r.facility_id = NEW.facility_id AND r.line_id = NEW.line_id AND r.due_at = NEW.due_at
           AND r.attempt < NEW.attempt
           AND EXISTS (SELECT 1 FROM care_task_corrections c WHERE c.facility_id = r.facility_id AND c.record_id = r.id))
       <> NEW.attempt - 1 THEN
        RAISE EXCEPTION 'care task % at % already has a live record', NEW.line_id, NEW.due_at USING ERRCODE = '23505';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER care_task_records_attempt BEFORE INSERT ON care_task_records
    FOR EACH ROW EXECUTE FUNCTION care_task_attempt_check();

CREATE TABLE care_task_corrections (
    facility_id uuid        NOT NULL,
    id          uuid        NOT NULL,
    record_id   uuid        NOT NULL,
    reason      text        NOT NULL CHECK (length(reason) >= 5 AND length(reason) <= 500),
    recorded_by uuid        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, record_id),
    FOREIGN KEY (facility_id, record_id) REFERENCES care_task_records (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id)
);

-- Rehab plans carry out a PAI's therapist interventions, of the same
-- resident.
ALTER TABLE rehab_plans ADD FOREIGN KEY (facility_id, care_plan_intervention_id, resident_id)
    REFERENCES care_plan_interventions (facility_id, id, resident_id);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['care_plan_versions', 'care_plan_problems', 'care_plan_goals', 'care_plan_interventions',
                             'care_plan_signatures', 'care_plan_activations', 'care_task_records', 'care_task_corrections']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION forbid_change()',
                       t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete()',
                       t || '_no_truncate', t);
    END LOOP;
END $$;
