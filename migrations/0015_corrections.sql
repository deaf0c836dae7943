-- Corrections to the record of issue 6.

-- Rehab: a planned session entered in error can be recorded again.
-- 0013's once-per-occurrence index also counted corrected sessions, so an
-- occurrence recorded by mistake stayed occupied for ever. As for doses
-- (0004 administrations.attempt), a session now carries the attempt it is
-- on its occurrence: 1 for the first, n after n-1 entered-in-error
-- corrections. Unique per (plan, planned_for, attempt): two phones
-- recording the same occurrence cannot both commit. Existing rows become
-- attempt 1, which the old index already made unique.
ALTER TABLE rehab_sessions ADD COLUMN attempt integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    ADD CHECK (plan_id IS NOT NULL OR attempt = 1);
DROP INDEX rehab_sessions_once_per_planned;
CREATE UNIQUE INDEX rehab_sessions_once_per_attempt ON rehab_sessions (facility_id, plan_id, planned_for, attempt)
    WHERE plan_id IS NOT NULL;

-- An attempt is only opened by a correction of the one before: the service
-- checks this under a lock, the schema refuses it too.
CREATE FUNCTION rehab_session_attempt_opened() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.attempt > 1 AND NOT EXISTS (
        SELECT 1 FROM rehab_sessions s
        JOIN rehab_session_corrections c ON c.facility_id = s.facility_id AND c.session_id = s.id
        WHERE s.facility_id = NEW.facility_id AND s.plan_id = NEW.plan_id AND s.planned_for = NEW.planned_for
          AND s.attempt = NEW.attempt - 1) THEN
        RAISE EXCEPTION 'rehab session attempt % opened without correcting attempt %', NEW.attempt, NEW.attempt - 1
            USING ERRCODE = 'CR003';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER rehab_sessions_attempt_opened BEFORE INSERT ON rehab_sessions
    FOR EACH ROW EXECUTE FUNCTION rehab_session_attempt_opened();

-- Scale bands: the medical director moves where a band starts through the
-- API (GET/PUT /v1/admin/scales/{key}/bands). Who set a bound is kept on its
-- row; the bound it replaced, with who replaced it, goes to row_history
-- (keep_history, 0007). Rows are never deleted: a band moved back to its
-- default keeps a row holding the default.
ALTER TABLE assessment_band_overrides ADD COLUMN updated_by uuid,
    ADD FOREIGN KEY (facility_id, updated_by) REFERENCES staff (facility_id, id);
