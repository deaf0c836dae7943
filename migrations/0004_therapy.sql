-- The single therapy sheet and bedside administration (Raccomandazione 7):
-- prescriptions and their versions, the doses materialised from them, every
-- act on a dose, reconciliation at care transitions, and the idempotency
-- keys that make a tablet's retries harmless.
--
-- The invariants that keep a resident safe are enforced here, not only in Go:
--   * a prescription version is never edited: only its status moves, and a
--     change is a new version superseding it (at most one successor);
--   * a scheduled dose is materialised once per (prescription, instant);
--   * a dose carries at most one effective act: administrations are unique
--     per (dose, attempt), and an attempt is only reopened by an
--     entered-in-error correction;
--   * an administration is never updated or deleted; corrections are rows.

-- Therapy policy per facility (domain.md "Time windows"; defaults are ours).
CREATE TABLE therapy_settings (
    facility_id              uuid PRIMARY KEY REFERENCES facilities (id),
    window_time_critical_min integer     NOT NULL DEFAULT 30 CHECK (window_time_critical_min BETWEEN 5 AND 240),
    window_frequent_min      integer     NOT NULL DEFAULT 60 CHECK (window_frequent_min BETWEEN 5 AND 240),
    window_daily_min         integer     NOT NULL DEFAULT 120 CHECK (window_daily_min BETWEEN 5 AND 480),
    horizon_hours            integer     NOT NULL DEFAULT 48 CHECK (horizon_hours BETWEEN 12 AND 168),
    oss_assisted_intake      boolean     NOT NULL DEFAULT true,
    -- Block codes a nurse may override with a structured reason.
    overridable_blocks       text[]      NOT NULL DEFAULT '{awaiting_reconciliation,prn_interval}',
    version                  integer     NOT NULL DEFAULT 1,
    updated_at               timestamptz NOT NULL DEFAULT now(),
    id                       uuid        NOT NULL DEFAULT gen_random_uuid()
);
CREATE TRIGGER therapy_settings_history BEFORE UPDATE ON therapy_settings FOR EACH ROW EXECUTE FUNCTION keep_history();
CREATE TRIGGER therapy_settings_no_delete BEFORE DELETE ON therapy_settings FOR EACH ROW EXECUTE FUNCTION forbid_delete();

-- One row per prescription version. series_id is the first version's id and
-- names the prescription across its versions.
CREATE TABLE prescriptions (
    facility_id       uuid        NOT NULL,
    id                uuid        NOT NULL,
    series_id         uuid        NOT NULL,
    supersedes        uuid,
    resident_id       uuid        NOT NULL,
    -- Either a product, or an active ingredient and strength (then any
    -- product with that single ingredient and strength is the right drug).
    product_id        uuid REFERENCES products (id),
    ingredient_atc    text CHECK (ingredient_atc ~ '^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$'),
    ingredient_name   text        NOT NULL DEFAULT '',
    strength          numeric CHECK (strength > 0),
    strength_unit     text        NOT NULL DEFAULT '',
    dose              numeric     NOT NULL CHECK (dose > 0 AND dose <= 100000),
    dose_unit         text        NOT NULL CHECK (dose_unit <> ''),
    route             text        NOT NULL CHECK (route <> ''),
    schedule          jsonb       NOT NULL CHECK (jsonb_typeof(schedule) = 'object'),
    prn               boolean     NOT NULL DEFAULT false,
    prn_indication    text        NOT NULL DEFAULT '',
    prn_min_interval_min integer CHECK (prn_min_interval_min > 0),
    prn_max_per_24h   integer CHECK (prn_max_per_24h > 0),
    prn_check_after_min integer CHECK (prn_check_after_min > 0),
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz,
    instructions      text        NOT NULL DEFAULT '',
    time_critical     boolean     NOT NULL DEFAULT false,
    status            text        NOT NULL CHECK (status IN ('active', 'suspended', 'superseded', 'discontinued', 'entered_in_error')),
    status_reason     text        NOT NULL DEFAULT '',
    suspended_until   timestamptz,
    prescribed_by     uuid        NOT NULL,
    prescribed_at     timestamptz NOT NULL DEFAULT now(),
    version           integer     NOT NULL DEFAULT 1,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, prescribed_by) REFERENCES staff (facility_id, id),
    FOREIGN KEY (facility_id, supersedes) REFERENCES prescriptions (facility_id, id),
    CHECK ((product_id IS NOT NULL) <> (ingredient_atc IS NOT NULL)),
    CHECK (ingredient_atc IS NULL OR strength IS NOT NULL),
    -- Raccomandazione 18: no "al bisogno" without an indication and limits.
    CHECK (NOT prn OR (prn_indication <> '' AND prn_min_interval_min IS NOT NULL AND prn_max_per_24h IS NOT NULL)),
    -- Tablets split on the score line, never below a quarter (Racc. 19).
    CHECK (dose_unit NOT IN ('tablet', 'capsule') OR dose * 4 = trunc(dose * 4)),
    CHECK (dose_unit <> 'capsule' OR dose = trunc(dose)),
    -- A version changed or stopped before it started has an empty period.
    CHECK (ends_at IS NULL OR ends_at >= starts_at),
    CHECK (status NOT IN ('suspended', 'discontinued', 'entered_in_error') OR status_reason <> '')
);
-- A version is superseded at most once: two physicians changing the same
-- version at the same time cannot both succeed.
CREATE UNIQUE INDEX prescriptions_one_successor ON prescriptions (facility_id, supersedes) WHERE supersedes IS NOT NULL;
CREATE INDEX prescriptions_by_resident ON prescriptions (facility_id, resident_id, status);
CREATE INDEX prescriptions_live ON prescriptions (facility_id, status) WHERE status IN ('active', 'suspended');
CREATE TRIGGER prescriptions_history BEFORE UPDATE ON prescriptions FOR EACH ROW EXECUTE FUNCTION keep_history();
CREATE TRIGGER prescriptions_no_delete BEFORE DELETE ON prescriptions FOR EACH ROW EXECUTE FUNCTION forbid_delete();

-- What a physician prescribed never changes in place: an update may move the
-- status (and its reason, suspension end, and the end date when
-- discontinuing), nothing else.
CREATE FUNCTION prescriptions_only_status_moves() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.facility_id, NEW.id, NEW.series_id, NEW.supersedes, NEW.resident_id, NEW.product_id, NEW.ingredient_atc,
        NEW.ingredient_name, NEW.strength, NEW.strength_unit, NEW.dose, NEW.dose_unit, NEW.route, NEW.schedule,
        NEW.prn, NEW.prn_indication, NEW.prn_min_interval_min, NEW.prn_max_per_24h, NEW.prn_check_after_min,
        NEW.starts_at, NEW.instructions, NEW.time_critical, NEW.prescribed_by, NEW.prescribed_at)
       IS DISTINCT FROM
       (OLD.facility_id, OLD.id, OLD.series_id, OLD.supersedes, OLD.resident_id, OLD.product_id, OLD.ingredient_atc,
        OLD.ingredient_name, OLD.strength, OLD.strength_unit, OLD.dose, OLD.dose_unit, OLD.route, OLD.schedule,
        OLD.prn, OLD.prn_indication, OLD.prn_min_interval_min, OLD.prn_max_per_24h, OLD.prn_check_after_min,
        OLD.starts_at, OLD.instructions, OLD.time_critical, OLD.prescribed_by, OLD.prescribed_at) THEN
        RAISE EXCEPTION 'a prescription is changed by a new version, never edited' USING ERRCODE = 'CR003';
    END IF;
    IF OLD.status IN ('superseded', 'discontinued', 'entered_in_error') THEN
        RAISE EXCEPTION 'a closed prescription stays closed' USING ERRCODE = 'CR003';
    END IF;
    IF NEW.ends_at IS DISTINCT FROM OLD.ends_at AND NEW.status NOT IN ('superseded', 'discontinued', 'entered_in_error') THEN
        RAISE EXCEPTION 'the end date moves only when a prescription closes' USING ERRCODE = 'CR003';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER prescriptions_immutable BEFORE UPDATE ON prescriptions FOR EACH ROW EXECUTE FUNCTION prescriptions_only_status_moves();

-- Scheduled doses, materialised ahead by the therapy service and the
-- workers. window_min is the on-time half-window fixed when the dose is
-- made (its class: time-critical, more often than daily, daily or less).
CREATE TABLE doses (
    facility_id     uuid        NOT NULL,
    id              uuid        NOT NULL,
    prescription_id uuid        NOT NULL,
    resident_id     uuid        NOT NULL,
    due_at          timestamptz NOT NULL,
    window_min      integer     NOT NULL CHECK (window_min > 0),
    -- When the dose becomes missed if nothing was recorded (domain.md:
    -- window close + window length, or the next dose, whichever first).
    missed_at       timestamptz NOT NULL,
    status          text        NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    cancel_reason   text        NOT NULL DEFAULT '',
    version         integer     NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, prescription_id) REFERENCES prescriptions (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    CHECK (missed_at > due_at),
    CHECK (status <> 'cancelled' OR cancel_reason <> '')
);
-- One live dose per prescription and instant: re-materialising is a no-op.
CREATE UNIQUE INDEX doses_once ON doses (facility_id, prescription_id, due_at) WHERE status = 'scheduled';
CREATE INDEX doses_by_resident ON doses (facility_id, resident_id, due_at);
CREATE INDEX doses_open_by_time ON doses (facility_id, due_at) WHERE status = 'scheduled';
CREATE TRIGGER doses_history BEFORE UPDATE ON doses FOR EACH ROW EXECUTE FUNCTION keep_history();
CREATE TRIGGER doses_no_delete BEFORE DELETE ON doses FOR EACH ROW EXECUTE FUNCTION forbid_delete();

-- What happened at the bedside to a dose (or, for PRN, to a prescription).
CREATE TABLE administrations (
    facility_id      uuid        NOT NULL,
    id               uuid        NOT NULL,
    dose_id          uuid,
    -- 0 for the first act on a dose; n after n entered-in-error corrections.
    attempt          integer     NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    prescription_id  uuid        NOT NULL,
    resident_id      uuid        NOT NULL,
    outcome          text        NOT NULL CHECK (outcome IN ('given', 'partial', 'refused', 'held', 'omitted')),
    quantity         numeric CHECK (quantity > 0),
    quantity_unit    text        NOT NULL DEFAULT '',
    reason           text        NOT NULL DEFAULT '',
    administered_at  timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    recorded_by      uuid        NOT NULL,
    device_id        uuid,
    witness_id       uuid,
    product_id       uuid REFERENCES products (id),
    -- How the rights were checked: both codes scanned, or keyed with a reason.
    scan             text        NOT NULL CHECK (scan IN ('scanned', 'keyed', 'not_required')),
    unable_to_scan   text        NOT NULL DEFAULT '',
    scanned_wristband text       NOT NULL DEFAULT '',
    scanned_pack     text        NOT NULL DEFAULT '',
    verification_id  uuid,
    gtin             text        NOT NULL DEFAULT '',
    aic              text        NOT NULL DEFAULT '',
    batch            text        NOT NULL DEFAULT '' CHECK (length(batch) <= 20),
    expiry           date,
    altered_form     text        NOT NULL DEFAULT 'none' CHECK (altered_form IN ('none', 'crushed', 'dispersed', 'opened', 'split')),
    prn_indication   text        NOT NULL DEFAULT '',
    warnings         text[]      NOT NULL DEFAULT '{}',
    overridden       text[]      NOT NULL DEFAULT '{}',
    override_reason  text        NOT NULL DEFAULT '',
    override_note    text        NOT NULL DEFAULT '',
    notes            text        NOT NULL DEFAULT '',
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, dose_id) REFERENCES doses (facility_id, id),
    FOREIGN KEY (facility_id, prescription_id) REFERENCES prescriptions (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id),
    FOREIGN KEY (facility_id, witness_id) REFERENCES staff (facility_id, id),
    CHECK (outcome NOT IN ('refused', 'held', 'omitted') OR reason <> ''),
    CHECK (outcome <> 'partial' OR quantity IS NOT NULL),
    CHECK (scan <> 'keyed' OR unable_to_scan <> ''),
    CHECK (witness_id IS NULL OR witness_id <> recorded_by),
    CHECK ((overridden = '{}') = (override_reason = ''))
);
-- The heart of "recorded exactly once": one act per dose and attempt. Two
-- tablets recording the same dose at the same moment cannot both commit.
CREATE UNIQUE INDEX administrations_once ON administrations (facility_id, dose_id, attempt) WHERE dose_id IS NOT NULL;
CREATE INDEX administrations_by_resident ON administrations (facility_id, resident_id, administered_at);
CREATE INDEX administrations_by_prescription ON administrations (facility_id, prescription_id, administered_at);
CREATE INDEX administrations_by_batch ON administrations (facility_id, batch) WHERE batch <> '';
CREATE TRIGGER administrations_append_only BEFORE UPDATE OR DELETE ON administrations
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- entered in error: a linked correction, never an edit. One per act.
CREATE TABLE administration_corrections (
    facility_id       uuid        NOT NULL,
    id                uuid        NOT NULL,
    administration_id uuid        NOT NULL,
    reason            text        NOT NULL CHECK (length(reason) >= 5),
    recorded_by       uuid        NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, administration_id),
    FOREIGN KEY (facility_id, administration_id) REFERENCES administrations (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id)
);
CREATE TRIGGER administration_corrections_append_only BEFORE UPDATE OR DELETE ON administration_corrections
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- The effectiveness check of a PRN dose, recorded after the dose.
CREATE TABLE prn_checks (
    facility_id       uuid        NOT NULL,
    id                uuid        NOT NULL,
    administration_id uuid        NOT NULL,
    effective         text        NOT NULL CHECK (effective IN ('effective', 'partly_effective', 'not_effective')),
    notes             text        NOT NULL DEFAULT '',
    recorded_by       uuid        NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, administration_id),
    FOREIGN KEY (facility_id, administration_id) REFERENCES administrations (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id)
);
CREATE TRIGGER prn_checks_append_only BEFORE UPDATE OR DELETE ON prn_checks
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- An OSS helping a resident take a dose a nurse prepared and recorded: a
-- separate act linked to the nurse's administration, never one itself.
CREATE TABLE assisted_intakes (
    facility_id       uuid        NOT NULL,
    id                uuid        NOT NULL,
    administration_id uuid        NOT NULL,
    resident_id       uuid        NOT NULL,
    outcome           text        NOT NULL CHECK (outcome IN ('taken', 'partly_taken', 'refused')),
    notes             text        NOT NULL DEFAULT '',
    recorded_by       uuid        NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, administration_id),
    FOREIGN KEY (facility_id, administration_id) REFERENCES administrations (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id)
);
CREATE TRIGGER assisted_intakes_append_only BEFORE UPDATE OR DELETE ON assisted_intakes
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Every pack scan checked at the bedside, with its verdict: the evidence for
-- scan compliance and override counts.
CREATE TABLE verifications (
    facility_id uuid        NOT NULL,
    id          uuid        NOT NULL,
    resident_id uuid        NOT NULL,
    staff_id    uuid        NOT NULL,
    device_id   uuid,
    wristband_scanned boolean NOT NULL,
    barcode     text        NOT NULL,
    product_id  uuid,
    dose_id     uuid,
    verdict     text        NOT NULL CHECK (verdict IN ('ok', 'warn', 'block')),
    codes       text[]      NOT NULL DEFAULT '{}',
    checked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id)
);
CREATE INDEX verifications_by_staff ON verifications (facility_id, staff_id, checked_at);
CREATE TRIGGER verifications_append_only BEFORE UPDATE OR DELETE ON verifications
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Reconciliation (Raccomandazione 17): opened by an admission or a return
-- from hospital, closed when a physician records it. Until then the
-- resident's therapy shows as awaiting reconciliation.
CREATE TABLE reconciliations (
    facility_id   uuid        NOT NULL,
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    resident_id   uuid        NOT NULL,
    occasion      text        NOT NULL CHECK (occasion IN ('admission', 'hospital_return')),
    opened_at     timestamptz NOT NULL DEFAULT now(),
    outcome       text CHECK (outcome IN ('confirmed', 'changed')),
    notes         text        NOT NULL DEFAULT '',
    recorded_by   uuid,
    recorded_at   timestamptz,
    version       integer     NOT NULL DEFAULT 1,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, recorded_by) REFERENCES staff (facility_id, id),
    CHECK ((outcome IS NULL) = (recorded_at IS NULL) AND (outcome IS NULL) = (recorded_by IS NULL))
);
CREATE UNIQUE INDEX reconciliations_one_open ON reconciliations (facility_id, resident_id) WHERE outcome IS NULL;
CREATE TRIGGER reconciliations_history BEFORE UPDATE ON reconciliations FOR EACH ROW EXECUTE FUNCTION keep_history();
CREATE TRIGGER reconciliations_no_delete BEFORE DELETE ON reconciliations FOR EACH ROW EXECUTE FUNCTION forbid_delete();

-- Every admission, and every return from hospital, opens a reconciliation;
-- the database does it so that no admission path can forget.
CREATE FUNCTION open_reconciliation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'admissions' THEN
        INSERT INTO reconciliations (facility_id, resident_id, occasion)
        VALUES (NEW.facility_id, NEW.resident_id, 'admission') ON CONFLICT DO NOTHING;
    ELSIF OLD.status = 'hospitalised' AND NEW.status = 'admitted' THEN
        INSERT INTO reconciliations (facility_id, resident_id, occasion)
        VALUES (NEW.facility_id, NEW.id, 'hospital_return') ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER admissions_open_reconciliation AFTER INSERT ON admissions FOR EACH ROW EXECUTE FUNCTION open_reconciliation();
CREATE TRIGGER residents_open_reconciliation AFTER UPDATE OF status ON residents FOR EACH ROW EXECUTE FUNCTION open_reconciliation();

-- Client retries: the first answer to (staff, key) is kept with a digest of
-- the request, in the same transaction as the write it answers.
CREATE TABLE idempotency_keys (
    facility_id  uuid        NOT NULL,
    staff_id     uuid        NOT NULL,
    key          uuid        NOT NULL,
    operation    text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       integer     NOT NULL,
    response     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, staff_id, key)
);
CREATE TRIGGER idempotency_keys_append_only BEFORE UPDATE ON idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TRIGGER prescriptions_no_truncate BEFORE TRUNCATE ON prescriptions FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER doses_no_truncate BEFORE TRUNCATE ON doses FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER administrations_no_truncate BEFORE TRUNCATE ON administrations FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER administration_corrections_no_truncate BEFORE TRUNCATE ON administration_corrections FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER prn_checks_no_truncate BEFORE TRUNCATE ON prn_checks FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER assisted_intakes_no_truncate BEFORE TRUNCATE ON assisted_intakes FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER reconciliations_no_truncate BEFORE TRUNCATE ON reconciliations FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();

-- How far ahead each live prescription's doses have been materialised. The
-- roll-forward continues from here, so a worker that was down catches up
-- without re-creating doses a suspension cancelled. Bookkeeping, not
-- clinical: updated in place.
CREATE TABLE dose_horizons (
    facility_id     uuid        NOT NULL,
    prescription_id uuid        NOT NULL,
    until           timestamptz NOT NULL,
    PRIMARY KEY (facility_id, prescription_id),
    FOREIGN KEY (facility_id, prescription_id) REFERENCES prescriptions (facility_id, id)
);
CREATE INDEX dose_horizons_due ON dose_horizons (until);
