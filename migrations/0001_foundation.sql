-- The foundation: tenants, their wards and beds, staff and devices, the
-- resident record's core, sign-in state, and the hash-chained audit trail.
--
-- Every clinical row carries facility_id, and keys and indexes lead with it:
-- it is the column the data will be distributed by (Citus) when one
-- PostgreSQL is not enough. Composite foreign keys that include facility_id
-- make a reference across facilities impossible, not merely unlikely.
--
-- Clinical rows are never deleted (forbid_delete) and every update keeps the
-- previous version in row_history in the same transaction (keep_history).

-- Errors raised by the schema's own rules use SQLSTATE class 'CR' so the
-- application can tell them from ordinary constraint violations.
CREATE FUNCTION forbid_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rows of % are never deleted', TG_TABLE_NAME USING ERRCODE = 'CR001';
END $$;

CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rows of % are append-only', TG_TABLE_NAME USING ERRCODE = 'CR002';
END $$;

-- row_history keeps every superseded version of a versioned row. The acting
-- staff member is read from the transaction-local setting corsia.actor.
CREATE TABLE row_history (
    facility_id uuid        NOT NULL,
    table_name  text        NOT NULL,
    row_id      uuid        NOT NULL,
    version     integer     NOT NULL,
    data        jsonb       NOT NULL,
    valid_until timestamptz NOT NULL DEFAULT now(),
    changed_by  uuid,
    PRIMARY KEY (facility_id, table_name, row_id, version)
);
CREATE TRIGGER row_history_append_only BEFORE UPDATE OR DELETE ON row_history
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- keep_history bumps the version and archives the old row. Optimistic
-- locking (UPDATE ... WHERE version = $n) is done by the caller; the trigger
-- guarantees the version moves by exactly one and that history is written.
CREATE FUNCTION keep_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_history (facility_id, table_name, row_id, version, data, changed_by)
    VALUES (OLD.facility_id, TG_TABLE_NAME, OLD.id, OLD.version, to_jsonb(OLD),
            nullif(current_setting('corsia.actor', true), '')::uuid);
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END $$;

CREATE TABLE facilities (
    id                 uuid PRIMARY KEY,
    code               text        NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9]{2,12}$'),
    name               text        NOT NULL CHECK (name <> ''),
    kind               text        NOT NULL CHECK (kind IN ('RSA', 'RSD', 'rehab')),
    time_zone          text        NOT NULL DEFAULT 'Europe/Rome',
    city               text        NOT NULL DEFAULT '',
    address            text        NOT NULL DEFAULT '',
    gs1_company_prefix text CHECK (gs1_company_prefix ~ '^[0-9]{6,12}$'),
    is_demo            boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE wards (
    facility_id uuid    NOT NULL REFERENCES facilities (id),
    id          uuid    NOT NULL,
    code        text    NOT NULL CHECK (code ~ '^[A-Za-z0-9-]{1,12}$'),
    name        text    NOT NULL CHECK (name <> ''),
    floor       integer,
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, code)
);

CREATE TABLE rooms (
    facility_id uuid NOT NULL,
    id          uuid NOT NULL,
    ward_id     uuid NOT NULL,
    code        text NOT NULL CHECK (code <> ''),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, code),
    UNIQUE (facility_id, ward_id, id),
    FOREIGN KEY (facility_id, ward_id) REFERENCES wards (facility_id, id)
);

-- A bed carries its ward so that a resident's (ward, bed) pair can be checked
-- by a foreign key: a resident can never be in a bed of another ward.
CREATE TABLE beds (
    facility_id uuid NOT NULL,
    id          uuid NOT NULL,
    ward_id     uuid NOT NULL,
    room_id     uuid NOT NULL,
    code        text NOT NULL CHECK (code <> ''),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, code),
    UNIQUE (facility_id, ward_id, id),
    FOREIGN KEY (facility_id, ward_id, room_id) REFERENCES rooms (facility_id, ward_id, id)
);

CREATE TABLE staff (
    facility_id    uuid        NOT NULL REFERENCES facilities (id),
    id             uuid        NOT NULL,
    username       text        NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    given_name     text        NOT NULL,
    family_name    text        NOT NULL,
    password_hash  text,
    pin_hash       text,
    badge_code     text,
    profession_reg text        NOT NULL DEFAULT '',
    active         boolean     NOT NULL DEFAULT true,
    version        integer     NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, badge_code)
);
-- Sign-in names are global: the login call does not name a facility. Staff
-- is a small reference table, replicated rather than distributed.
CREATE UNIQUE INDEX staff_username ON staff (username);
CREATE TRIGGER staff_history BEFORE UPDATE ON staff FOR EACH ROW EXECUTE FUNCTION keep_history();
CREATE TRIGGER staff_no_delete BEFORE DELETE ON staff FOR EACH ROW EXECUTE FUNCTION forbid_delete();

CREATE TABLE staff_roles (
    facility_id uuid NOT NULL,
    staff_id    uuid NOT NULL,
    role        text NOT NULL CHECK (role IN ('physician', 'nurse', 'oss', 'therapist', 'ward_lead',
                                              'director', 'admin', 'auditor')),
    PRIMARY KEY (facility_id, staff_id, role),
    FOREIGN KEY (facility_id, staff_id) REFERENCES staff (facility_id, id)
);

-- Who could see which ward, and when: every change of a member's roles, wards
-- or active state appends a row here (the role and ward tables hold only the
-- current state).
CREATE TABLE staff_access_log (
    facility_id uuid        NOT NULL,
    staff_id    uuid        NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by  uuid,
    roles       text[]      NOT NULL,
    ward_ids    uuid[]      NOT NULL,
    active      boolean     NOT NULL,
    PRIMARY KEY (facility_id, staff_id, changed_at),
    FOREIGN KEY (facility_id, staff_id) REFERENCES staff (facility_id, id)
);
CREATE TRIGGER staff_access_log_append_only BEFORE UPDATE OR DELETE ON staff_access_log
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE ward_assignments (
    facility_id uuid NOT NULL,
    staff_id    uuid NOT NULL,
    ward_id     uuid NOT NULL,
    PRIMARY KEY (facility_id, staff_id, ward_id),
    FOREIGN KEY (facility_id, staff_id) REFERENCES staff (facility_id, id),
    FOREIGN KEY (facility_id, ward_id) REFERENCES wards (facility_id, id)
);

-- Devices are enrolled by an admin. The secret is shown once at enrolment and
-- stored as a SHA-256 digest (it is 256 random bits, so no slow hash needed).
CREATE TABLE devices (
    facility_id  uuid        NOT NULL REFERENCES facilities (id),
    id           uuid        NOT NULL,
    name         text        NOT NULL CHECK (name <> ''),
    kind         text        NOT NULL CHECK (kind IN ('ward_tablet', 'phone', 'workstation')),
    ward_id      uuid,
    secret_hash  bytea       NOT NULL,
    enrolled_by  uuid,
    enrolled_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    revoked_by   uuid,
    last_seen_at timestamptz,
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, ward_id) REFERENCES wards (facility_id, id)
);
CREATE UNIQUE INDEX devices_id ON devices (id);
CREATE TRIGGER devices_no_delete BEFORE DELETE ON devices FOR EACH ROW EXECUTE FUNCTION forbid_delete();

CREATE TABLE residents (
    facility_id       uuid        NOT NULL REFERENCES facilities (id),
    id                uuid        NOT NULL,
    given_name        text        NOT NULL CHECK (given_name <> ''),
    family_name       text        NOT NULL CHECK (family_name <> ''),
    sex               text        NOT NULL CHECK (sex IN ('F', 'M', 'X')),
    birth_date        date        NOT NULL,
    birth_place       text        NOT NULL DEFAULT '',
    codice_fiscale    text        NOT NULL DEFAULT '',
    codice_fiscale_ok boolean     NOT NULL DEFAULT false,
    tessera_sanitaria text        NOT NULL DEFAULT '',
    gp                jsonb       NOT NULL DEFAULT '{}',
    contacts          jsonb       NOT NULL DEFAULT '[]',
    wristband_code    text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('admitted', 'hospitalised', 'discharged', 'deceased')),
    ward_id           uuid,
    bed_id            uuid,
    admitted_at       timestamptz,
    notes             text        NOT NULL DEFAULT '',
    version           integer     NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, wristband_code),
    FOREIGN KEY (facility_id, ward_id) REFERENCES wards (facility_id, id),
    FOREIGN KEY (facility_id, ward_id, bed_id) REFERENCES beds (facility_id, ward_id, id),
    CHECK (status NOT IN ('admitted', 'hospitalised') OR ward_id IS NOT NULL),
    CHECK (jsonb_typeof(contacts) = 'array' AND jsonb_typeof(gp) = 'object')
);
-- One resident per bed, enforced here rather than trusted to the caller.
CREATE UNIQUE INDEX residents_one_per_bed ON residents (facility_id, bed_id) WHERE bed_id IS NOT NULL;
CREATE INDEX residents_by_ward ON residents (facility_id, ward_id, family_name, given_name);
CREATE INDEX residents_by_cf ON residents (facility_id, codice_fiscale);
CREATE TRIGGER residents_history BEFORE UPDATE ON residents FOR EACH ROW EXECUTE FUNCTION keep_history();
CREATE TRIGGER residents_no_delete BEFORE DELETE ON residents FOR EACH ROW EXECUTE FUNCTION forbid_delete();

CREATE TABLE resident_photos (
    facility_id  uuid        NOT NULL,
    id           uuid        NOT NULL,
    resident_id  uuid        NOT NULL,
    content_type text        NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    data         bytea       NOT NULL,
    recorded_by  uuid        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id)
);
CREATE INDEX resident_photos_latest ON resident_photos (facility_id, resident_id, recorded_at DESC);
CREATE TRIGGER resident_photos_append_only BEFORE UPDATE OR DELETE ON resident_photos
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- One row per stay; a stay is closed by a discharge, never deleted.
CREATE TABLE admissions (
    facility_id      uuid        NOT NULL,
    id               uuid        NOT NULL,
    resident_id      uuid        NOT NULL,
    admitted_at      timestamptz NOT NULL,
    source           text        NOT NULL DEFAULT '',
    discharged_at    timestamptz,
    discharge_reason text,
    recorded_by      uuid,
    version          integer     NOT NULL DEFAULT 1,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    CHECK (discharged_at IS NULL OR discharged_at >= admitted_at)
);
-- At most one open stay per resident.
CREATE UNIQUE INDEX admissions_one_open ON admissions (facility_id, resident_id) WHERE discharged_at IS NULL;
CREATE TRIGGER admissions_history BEFORE UPDATE ON admissions FOR EACH ROW EXECUTE FUNCTION keep_history();
CREATE TRIGGER admissions_no_delete BEFORE DELETE ON admissions FOR EACH ROW EXECUTE FUNCTION forbid_delete();

-- Allergies and intolerances. A correction is a status change (kept in
-- row_history) or entered_in_error with a reason; rows are never deleted.
CREATE TABLE allergies (
    facility_id  uuid        NOT NULL,
    id           uuid        NOT NULL,
    resident_id  uuid        NOT NULL,
    substance    text        NOT NULL CHECK (substance <> ''),
    atc_code     text CHECK (atc_code ~ '^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$'),
    category     text        NOT NULL CHECK (category IN ('drug', 'food', 'environment', 'other')),
    kind         text        NOT NULL CHECK (kind IN ('allergy', 'intolerance')),
    reaction     text        NOT NULL DEFAULT '',
    severity     text        NOT NULL CHECK (severity IN ('mild', 'moderate', 'severe', 'life_threatening', 'unknown')),
    status       text        NOT NULL CHECK (status IN ('active', 'inactive', 'resolved', 'entered_in_error')),
    status_reason text       NOT NULL DEFAULT '',
    recorded_by  uuid,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    version      integer     NOT NULL DEFAULT 1,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    CHECK (status <> 'entered_in_error' OR status_reason <> '')
);
CREATE INDEX allergies_by_resident ON allergies (facility_id, resident_id);
CREATE TRIGGER allergies_history BEFORE UPDATE ON allergies FOR EACH ROW EXECUTE FUNCTION keep_history();
CREATE TRIGGER allergies_no_delete BEFORE DELETE ON allergies FOR EACH ROW EXECUTE FUNCTION forbid_delete();

-- Sign-in. A session is a refresh-token family: reuse of a spent refresh token
-- revokes the session and so every token in the family. Tokens are opaque
-- random strings stored as SHA-256 digests; every request looks its access
-- token up, so logout, a disabled account or a revoked device take effect on
-- the very next request.
CREATE TABLE auth_sessions (
    id            uuid PRIMARY KEY,
    facility_id   uuid        NOT NULL REFERENCES facilities (id),
    staff_id      uuid        NOT NULL,
    device_id     uuid,
    method        text        NOT NULL CHECK (method IN ('password', 'badge')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text,
    FOREIGN KEY (facility_id, staff_id) REFERENCES staff (facility_id, id),
    FOREIGN KEY (facility_id, device_id) REFERENCES devices (facility_id, id)
);
CREATE INDEX auth_sessions_by_staff ON auth_sessions (facility_id, staff_id) WHERE revoked_at IS NULL;
CREATE INDEX auth_sessions_by_device ON auth_sessions (facility_id, device_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY,
    session_id  uuid        NOT NULL REFERENCES auth_sessions (id),
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

CREATE TABLE access_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid        NOT NULL REFERENCES auth_sessions (id),
    expires_at timestamptz NOT NULL
);
CREATE INDEX access_tokens_by_session ON access_tokens (session_id);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);

-- Failed sign-ins per key (an account name, a badge, a device), for backoff
-- and lockout. Not clinical: rows are reset on success.
CREATE TABLE auth_throttle (
    key             text PRIMARY KEY,
    failures        integer     NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz
);

-- Break-the-glass: a clinician opens a resident outside her wards for a
-- limited time, stating why. Every read under a grant is flagged in the audit.
CREATE TABLE break_glass_grants (
    facility_id uuid        NOT NULL,
    id          uuid        NOT NULL,
    staff_id    uuid        NOT NULL,
    resident_id uuid        NOT NULL,
    reason      text        NOT NULL CHECK (length(reason) >= 10),
    granted_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, staff_id) REFERENCES staff (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id)
);
CREATE INDEX break_glass_active ON break_glass_grants (facility_id, staff_id, resident_id, expires_at);
CREATE TRIGGER break_glass_append_only BEFORE UPDATE OR DELETE ON break_glass_grants
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- The audit trail: append-only, hash-chained per facility. The chain is kept
-- by the database itself (audit_chain trigger), so no code path can insert an
-- event outside it. Events about no facility (a sign-in with an unknown name)
-- use the nil UUID as their facility.
--
-- A facility's trail is AUDIT_CHAINS (8) interleaved chains. Appending to a
-- chain locks its head until the transaction commits; with one chain every
-- audited request of a facility would queue behind the previous one's commit
-- (measured: ~220 ward lists/s at 32 clients, p99 380 ms). A transaction
-- appends all its events to one chain, picked from its transaction id, so
-- concurrent transactions rarely wait on each other. Each chain is verified on
-- its own; together they hold every event of the facility.
CREATE TABLE audit_heads (
    facility_id uuid     NOT NULL,
    chain       smallint NOT NULL CHECK (chain BETWEEN 0 AND 7),
    last_seq    bigint   NOT NULL,
    last_hash   bytea    NOT NULL,
    PRIMARY KEY (facility_id, chain)
);

CREATE TABLE audit_events (
    facility_id    uuid        NOT NULL,
    chain          smallint    NOT NULL DEFAULT 0,
    seq            bigint      NOT NULL DEFAULT 0,
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    occurred_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id       uuid,
    actor_roles    text[]      NOT NULL DEFAULT '{}',
    device_id      uuid,
    ip             text        NOT NULL DEFAULT '',
    action         text        NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_.]+$'),
    resource_type  text        NOT NULL,
    resource_id    text        NOT NULL DEFAULT '',
    -- The resident the act concerns; a list (a ward's residents) names every
    -- resident it showed in resident_ids instead.
    resident_id    uuid,
    resident_ids   uuid[]      NOT NULL DEFAULT '{}',
    outcome        text        NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
    detail         text        NOT NULL DEFAULT '',
    break_glass    text        NOT NULL DEFAULT '',
    request_id     text        NOT NULL DEFAULT '',
    prev_hash      bytea       NOT NULL DEFAULT '',
    hash           bytea       NOT NULL DEFAULT '',
    PRIMARY KEY (facility_id, chain, seq),
    UNIQUE (facility_id, id)
);
CREATE INDEX audit_by_time ON audit_events (facility_id, occurred_at DESC, id DESC);
CREATE INDEX audit_by_resident ON audit_events (facility_id, resident_id, occurred_at) WHERE resident_id IS NOT NULL;
CREATE INDEX audit_by_listed_resident ON audit_events USING gin (resident_ids) WHERE resident_ids <> '{}';
CREATE INDEX audit_by_actor ON audit_events (facility_id, actor_id, occurred_at);

-- audit_event_hash is an event's link in the chain: SHA-256 over the
-- previous hash and the fields, each written as "<byte length>:<text>". The
-- verifier (backend/audit.Hash) recomputes the same bytes in Go, so it does
-- not have to trust this function. Times enter as integer microseconds so the
-- session's TimeZone cannot change what is hashed.
CREATE FUNCTION audit_event_hash(e audit_events) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(e.prev_hash || convert_to(string_agg(octet_length(f)::text || ':' || f, '' ORDER BY n), 'UTF8'))
    FROM unnest(ARRAY[
        e.facility_id::text, e.chain::text, e.seq::text, e.id::text,
        ((extract(epoch FROM e.occurred_at) * 1000000)::bigint)::text,
        coalesce(e.actor_id::text, ''), array_to_string(e.actor_roles, ','), coalesce(e.device_id::text, ''),
        e.ip, e.action, e.resource_type, e.resource_id, coalesce(e.resident_id::text, ''),
        array_to_string(e.resident_ids, ','), e.outcome, e.detail, e.break_glass, e.request_id
    ]) WITH ORDINALITY AS t(f, n)
$$;

-- audit_chain appends the event to one of its facility's chains. The head row
-- is locked for the rest of the transaction, which makes each chain's
-- sequence gap-free and linear.
CREATE FUNCTION audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head audit_heads%ROWTYPE;
BEGIN
    NEW.chain := mod(txid_current(), 8);
    SELECT * INTO head FROM audit_heads WHERE facility_id = NEW.facility_id AND chain = NEW.chain FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_heads (facility_id, chain, last_seq, last_hash)
        VALUES (NEW.facility_id, NEW.chain, 0, '\x0000000000000000000000000000000000000000000000000000000000000000')
        ON CONFLICT DO NOTHING;
        SELECT * INTO head FROM audit_heads WHERE facility_id = NEW.facility_id AND chain = NEW.chain FOR UPDATE;
    END IF;
    NEW.seq := head.last_seq + 1;
    NEW.prev_hash := head.last_hash;
    NEW.occurred_at := date_trunc('microseconds', coalesce(NEW.occurred_at, clock_timestamp()));
    NEW.hash := audit_event_hash(NEW);
    UPDATE audit_heads SET last_seq = NEW.seq, last_hash = NEW.hash
        WHERE facility_id = NEW.facility_id AND chain = NEW.chain;
    RETURN NEW;
END $$;

CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_chain();
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
CREATE TRIGGER row_history_no_truncate BEFORE TRUNCATE ON row_history
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
-- A chain head is never removed: without it the chain could restart at 1.
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- TRUNCATE bypasses row triggers: refuse it on every clinical table.
CREATE TRIGGER residents_no_truncate BEFORE TRUNCATE ON residents FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER allergies_no_truncate BEFORE TRUNCATE ON allergies FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER admissions_no_truncate BEFORE TRUNCATE ON admissions FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER resident_photos_no_truncate BEFORE TRUNCATE ON resident_photos FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER break_glass_no_truncate BEFORE TRUNCATE ON break_glass_grants FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER staff_no_truncate BEFORE TRUNCATE ON staff FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER devices_no_truncate BEFORE TRUNCATE ON devices FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
