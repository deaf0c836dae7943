-- Drug rounds (giri terapia): a ward's live checklist for a time slot, e.g.
-- the 08:00 round of Nucleo A. A nurse starts it on her tablet; the open
-- doses due around the slot are snapshotted as the round's dose list, so
-- its progress is measured against a list that does not move; progress
-- itself is read from the administrations (the act recorded on each dose),
-- never stored twice.
--
-- The invariants:
--   * at most one open (active or paused) round per ward: a partial unique
--     index, so two tablets starting the same round cannot both succeed;
--   * a round's identity (ward, slot, who started it, when) never changes;
--     only its state, owner and finishing time move, each update archived
--     in row_history (keep_history) with the version bumped; a finished
--     round stays finished;
--   * what happened to a round is appended to round_events (started,
--     paused, resumed, handed_over from → to, finished), never edited;
--   * the dose list is append-only.

CREATE TABLE rounds (
    facility_id uuid        NOT NULL,
    id          uuid        NOT NULL,
    ward_id     uuid        NOT NULL,
    -- The round's time slot (e.g. 08:00): its doses are those due within
    -- their own on-time window of it.
    slot        timestamptz NOT NULL,
    state       text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused', 'finished')),
    -- The nurse (or physician) running it now; a handover changes it.
    owner_id    uuid        NOT NULL,
    started_by  uuid        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    version     integer     NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, ward_id) REFERENCES wards (facility_id, id),
    FOREIGN KEY (facility_id, owner_id) REFERENCES staff (facility_id, id),
    FOREIGN KEY (facility_id, started_by) REFERENCES staff (facility_id, id),
    CHECK ((state = 'finished') = (finished_at IS NOT NULL))
);
-- One open round per ward.
CREATE UNIQUE INDEX rounds_one_open ON rounds (facility_id, ward_id) WHERE state IN ('active', 'paused');
CREATE INDEX rounds_by_ward ON rounds (facility_id, ward_id, started_at DESC);
CREATE TRIGGER rounds_history BEFORE UPDATE ON rounds FOR EACH ROW EXECUTE FUNCTION keep_history();
CREATE TRIGGER rounds_no_delete BEFORE DELETE ON rounds FOR EACH ROW EXECUTE FUNCTION forbid_delete();

-- Only the state, the owner and the finishing time of a round move; a
-- finished round is closed for good.
CREATE FUNCTION rounds_only_progress_moves() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.facility_id, NEW.id, NEW.ward_id, NEW.slot, NEW.started_by, NEW.started_at)
       IS DISTINCT FROM (OLD.facility_id, OLD.id, OLD.ward_id, OLD.slot, OLD.started_by, OLD.started_at) THEN
        RAISE EXCEPTION 'a round''s ward, slot and start never change' USING ERRCODE = 'CR003';
    END IF;
    IF OLD.state = 'finished' THEN
        RAISE EXCEPTION 'a finished round stays finished' USING ERRCODE = 'CR003';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER rounds_immutable BEFORE UPDATE ON rounds FOR EACH ROW EXECUTE FUNCTION rounds_only_progress_moves();

-- The round's dose list, fixed when it starts: the doses of the ward's
-- admitted residents, still without an act, due within their window of the
-- slot.
CREATE TABLE round_doses (
    facility_id uuid NOT NULL,
    round_id    uuid NOT NULL,
    dose_id     uuid NOT NULL,
    resident_id uuid NOT NULL,
    PRIMARY KEY (facility_id, round_id, dose_id),
    FOREIGN KEY (facility_id, round_id) REFERENCES rounds (facility_id, id),
    FOREIGN KEY (facility_id, dose_id) REFERENCES doses (facility_id, id),
    FOREIGN KEY (facility_id, resident_id) REFERENCES residents (facility_id, id)
);
CREATE TRIGGER round_doses_append_only BEFORE UPDATE OR DELETE ON round_doses
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- What happened to a round, in order. A handover names who handed over
-- (from) and who took the round (to); by is who did it (the owner, or a
-- colleague taking the round over). A finish lists the acts it recorded on
-- the doses left (not given, with a reason).
CREATE TABLE round_events (
    facility_id        uuid        NOT NULL,
    id                 uuid        NOT NULL,
    round_id           uuid        NOT NULL,
    -- The order of a round's events: they are written under the round's
    -- row lock, so within a round seq follows the order they happened in
    -- (at may repeat).
    seq                bigint      GENERATED ALWAYS AS IDENTITY,
    kind               text        NOT NULL CHECK (kind IN ('started', 'paused', 'resumed', 'handed_over', 'finished')),
    by_id              uuid        NOT NULL,
    from_id            uuid,
    to_id              uuid,
    at                 timestamptz NOT NULL DEFAULT clock_timestamp(),
    administration_ids uuid[]      NOT NULL DEFAULT '{}',
    PRIMARY KEY (facility_id, id),
    FOREIGN KEY (facility_id, round_id) REFERENCES rounds (facility_id, id),
    FOREIGN KEY (facility_id, by_id) REFERENCES staff (facility_id, id),
    FOREIGN KEY (facility_id, from_id) REFERENCES staff (facility_id, id),
    FOREIGN KEY (facility_id, to_id) REFERENCES staff (facility_id, id),
    CHECK ((kind = 'handed_over') = (from_id IS NOT NULL AND to_id IS NOT NULL)),
    CHECK (kind = 'finished' OR administration_ids = '{}')
);
CREATE INDEX round_events_by_round ON round_events (facility_id, round_id, seq);
CREATE TRIGGER round_events_append_only BEFORE UPDATE OR DELETE ON round_events
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TRIGGER rounds_no_truncate BEFORE TRUNCATE ON rounds FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER round_doses_no_truncate BEFORE TRUNCATE ON round_doses FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
CREATE TRIGGER round_events_no_truncate BEFORE TRUNCATE ON round_events FOR EACH STATEMENT EXECUTE FUNCTION forbid_delete();
