-- Wristbands and badges. Every print and reprint is a row here, written in
-- the same transaction as its audit event: copies of wristbands taped to
-- carts are a known way around bedside checks, and the count per resident is
-- what reveals them.

-- GSRNs (GS1 Global Service Relation Numbers) for facilities that have a GS1
-- company prefix: AI 8018 on wristbands, AI 8017 on staff badges. Assigned
-- on first print, never changed, kept apart from the resident and staff rows
-- so that assigning one is not an edit of the record (no version bump that
-- would make a colleague's open edit conflict).
CREATE TABLE gsrns (
    facility_id uuid        NOT NULL REFERENCES facilities (id),
    gsrn        text        NOT NULL CHECK (gsrn ~ '^[0-9]{18}$'),
    resident_id uuid,
    staff_id    uuid,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, gsrn),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, staff_id) REFERENCES staff (facility_id, id),
    CHECK ((resident_id IS NULL) <> (staff_id IS NULL))
);
CREATE UNIQUE INDEX gsrns_resident ON gsrns (facility_id, resident_id) WHERE resident_id IS NOT NULL;
CREATE UNIQUE INDEX gsrns_staff ON gsrns (facility_id, staff_id) WHERE staff_id IS NOT NULL;
CREATE TRIGGER gsrns_append_only BEFORE UPDATE OR DELETE ON gsrns FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- The next GSRN serial reference per facility.
CREATE TABLE gsrn_counters (
    facility_id uuid   PRIMARY KEY REFERENCES facilities (id),
    next_serial bigint NOT NULL DEFAULT 1 CHECK (next_serial > 0)
);

CREATE TABLE label_prints (
    facility_id uuid        NOT NULL,
    id          uuid        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('wristband', 'badge')),
    resident_id uuid,
    staff_id    uuid,
    copy_no     integer     NOT NULL CHECK (copy_no > 0),
    format      text        NOT NULL CHECK (format IN ('png', 'pdf', 'zpl')),
    stock       text        NOT NULL,
    printed_by  uuid        NOT NULL,
    device_id   uuid,
    printed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id),
    FOREIGN KEY (facility_id, staff_id) REFERENCES staff (facility_id, id),
    CHECK ((kind = 'wristband') = (resident_id IS NOT NULL) AND (kind = 'badge') = (staff_id IS NOT NULL))
);
-- Copy numbers are consecutive per resident and per staff member: two
-- concurrent prints cannot both be copy 3.
CREATE UNIQUE INDEX label_prints_resident_copy ON label_prints (facility_id, resident_id, copy_no) WHERE resident_id IS NOT NULL;
CREATE UNIQUE INDEX label_prints_staff_copy ON label_prints (facility_id, staff_id, copy_no) WHERE staff_id IS NOT NULL;
CREATE TRIGGER label_prints_append_only BEFORE UPDATE OR DELETE ON label_prints
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER label_prints_no_truncate BEFORE TRUNCATE ON label_prints
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
