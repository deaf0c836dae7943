-- Notifications: alert chains raised by the missed-dose detector and by
-- bedside events, one notification per recipient, a transactional outbox
-- that the relay moves to Redis Streams, the push registrations of signed-in
-- devices, and one delivery row per (notification, registration) written
-- before the push is sent, so that no worker sends it twice.

-- An alert chain: one per dose and kind (a late dose raises one chain, not
-- one per detector pass), escalated once when nobody acknowledges it.
CREATE TABLE alerts (
    facility_id     uuid        NOT NULL,
    id              uuid        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('dose_due', 'dose_late', 'prn_check_due', 'repeated_refusal',
                                                          'unable_to_scan', 'override')),
    ward_id         uuid        NOT NULL,
    resident_id     uuid        NOT NULL,
    dose_id         uuid,
    administration_id uuid,
    -- A stable key of what the chain is about: the dose for dose alerts, the
    -- act for bedside events. Unique per kind: detector passes and retries
    -- never open a second chain.
    subject         uuid        NOT NULL,
    state           text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    escalate_at     timestamptz,
    escalated_at    timestamptz,
    acknowledged_by uuid,
    acknowledged_at timestamptz,
    resolved_at     timestamptz,
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, kind, subject),
    FOREIGN KEY (facility_id, ward_id) REFERENCES wards (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    CHECK (state <> 'acknowledged' OR acknowledged_at IS NOT NULL),
    CHECK (state <> 'resolved' OR resolved_at IS NOT NULL)
);
CREATE INDEX alerts_to_escalate ON alerts (escalate_at) WHERE state = 'open' AND escalated_at IS NULL AND escalate_at IS NOT NULL;
CREATE INDEX alerts_open ON alerts (facility_id, state) WHERE state = 'open';
CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts FOR EACH ROW EXECUTE FUNCTION forbid_delete();

-- One notification per recipient and step of a chain.
CREATE TABLE notifications (
    facility_id uuid        NOT NULL,
    id          uuid        NOT NULL,
    alert_id    uuid        NOT NULL,
    staff_id    uuid        NOT NULL,
    -- dose_due (reminder to the ward's nurses), dose_late (to the ward
    -- lead), escalation (to the physician or director), or a bedside event.
    kind        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    UNIQUE (facility_id, alert_id, staff_id, kind),
    FOREIGN KEY (facility_id, alert_id) REFERENCES alerts (facility_id, id),
    FOREIGN KEY (facility_id, staff_id) REFERENCES staff (facility_id, id)
);
CREATE INDEX notifications_by_staff ON notifications (facility_id, staff_id, created_at DESC);
CREATE TRIGGER notifications_append_only BEFORE UPDATE OR DELETE ON notifications
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- The outbox: written in the same transaction as the notification; the relay
-- publishes rows to Redis Streams and marks them. PostgreSQL stays the source
-- of truth: with Redis down, writes succeed and the outbox waits.
CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id     uuid        NOT NULL,
    notification_id uuid        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at    timestamptz,
    FOREIGN KEY (facility_id, notification_id) REFERENCES notifications (facility_id, id)
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- An FCM registration token of a signed-in device. Bound to the sign-in:
-- when the session ends (logout, expiry, revocation) or the device is
-- revoked, the token stops receiving.
CREATE TABLE push_registrations (
    facility_id  uuid        NOT NULL,
    id           uuid        NOT NULL,
    staff_id     uuid        NOT NULL,
    session_id   uuid        NOT NULL REFERENCES auth_sessions (id),
    device_id    uuid,
    token        text        NOT NULL CHECK (length(token) BETWEEN 20 AND 4096),
    platform     text        NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
    app_version  text        NOT NULL DEFAULT '' CHECK (length(app_version) <= 40),
    created_at   timestamptz NOT NULL DEFAULT now(),
    removed_at   timestamptz,
    removed_reason text      NOT NULL DEFAULT '',
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, staff_id) REFERENCES staff (facility_id, id)
);
-- A token belongs to one live registration: a new sign-in on the device
-- takes it over.
CREATE UNIQUE INDEX push_registrations_live_token ON push_registrations (token) WHERE removed_at IS NULL;
CREATE INDEX push_registrations_by_staff ON push_registrations (facility_id, staff_id) WHERE removed_at IS NULL;

-- One delivery per notification and registration, written before the send:
-- a second worker (or a redelivered stream entry) finds it and does not send
-- again.
CREATE TABLE push_deliveries (
    facility_id     uuid        NOT NULL,
    notification_id uuid        NOT NULL,
    registration_id uuid        NOT NULL,
    state           text        NOT NULL DEFAULT 'sending' CHECK (state IN ('sending', 'accepted', 'failed', 'pruned')),
    attempts        integer     NOT NULL DEFAULT 1,
    message_id      text        NOT NULL DEFAULT '',
    error           text        NOT NULL DEFAULT '',
    -- A worker sending holds the delivery until then; one that died leaves
    -- it to be retried once the lease has run out.
    lease_until     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    accepted_at     timestamptz,
    PRIMARY KEY (facility_id, notification_id, registration_id),
    FOREIGN KEY (facility_id, notification_id) REFERENCES notifications (facility_id, id),
    FOREIGN KEY (facility_id, registration_id) REFERENCES push_registrations (facility_id, id)
);

CREATE TRIGGER alerts_no_truncate BEFORE TRUNCATE ON alerts FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER notifications_no_truncate BEFORE TRUNCATE ON notifications FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();

-- How long a late-dose alert waits for the ward lead's acknowledgement
-- before it escalates to the physician (or the medical director).
ALTER TABLE therapy_settings ADD COLUMN escalate_after_min integer NOT NULL DEFAULT 30
    CHECK (escalate_after_min BETWEEN 5 AND 240);
