-- record.pgbench.sql: the server's record transaction for one dose
-- (therapy.Service.Record in backend/therapy/bedside.go, with the SQL of
-- TherapyStore/therapyTx in backend/postgres/therapy.go and appendAudit in
-- backend/postgres/audit.go), statement for statement, for a dose given with
-- its pack scanned and a verification.
--
-- Run with the extended protocol, as pgx does (variables become parameters):
--   pgbench -n -M prepared -c 8 -j 2 -T 30 -f record.pgbench.sql corsia_load_pgb
-- on a database prepared by pgbench-setup.sql (pgbench.sh does both).
--
-- What the server reads before the transaction (token, resident, dose,
-- prescription, product, verification, the rights check, the replay check
-- and the nurse's name: about twenty queries) is not here: that, HTTP and
-- JSON are the API's overhead this script leaves out on purpose.

-- The next prepared dose, and the values the server has in hand when the
-- transaction begins: a new act id, the tablet's Idempotency-Key, the id of
-- the verification the tablet sends, the request id.
SELECT l.facility_id AS fid, l.dose_id AS dose, l.resident_id AS rid, l.prescription_id AS pid, l.staff_id AS sid,
       l.staff_name AS sname, l.product_id AS prod, l.aic, l.code32, l.quantity AS qty, l.quantity_unit AS unit,
       k.idem, 'idem:' || l.facility_id || ':' || l.staff_id || ':' || k.idem AS lockkey,
       gen_random_uuid() AS act, gen_random_uuid() AS ver, md5(random()::text) AS reqid
FROM loadrounds_doses l, (SELECT gen_random_uuid() AS idem) k
WHERE l.n = (SELECT nextval('loadrounds_next'))
\gset

BEGIN;
-- inTx: the author of any history row the transaction writes.
SELECT set_config('corsia.actor', :sid, true);
-- LockKey: the advisory lock on (facility, staff, key), then the stored answer.
SELECT pg_advisory_xact_lock(hashtextextended(:lockkey, 7));
SELECT operation, request_hash, response FROM idempotency_keys
WHERE facility_id = :fid AND staff_id = :sid AND key = :idem;
-- LockDose.
SELECT d.id, d.prescription_id, d.resident_id, d.due_at, d.window_min, d.missed_at, d.status = 'cancelled', d.cancel_reason
FROM doses d WHERE d.facility_id = :fid AND d.id = :dose FOR UPDATE;
-- CurrentAct: the acts on the dose, with their corrections and checks.
SELECT a.id, a.dose_id, a.attempt, a.prescription_id, p.series_id, a.resident_id, a.outcome, a.quantity::text,
       a.quantity_unit, a.reason, a.administered_at, a.recorded_at, a.recorded_by, s.given_name || ' ' || s.family_name,
       a.device_id, a.witness_id, a.product_id, a.scan, a.unable_to_scan, a.verification_id, a.gtin, a.aic, a.batch, a.expiry,
       a.altered_form, a.prn_indication, a.warnings, a.overridden, a.override_reason, a.override_note, a.notes,
       c.id, c.reason, c.recorded_by, c.recorded_at, k.id, k.effective, k.notes, k.recorded_by, k.recorded_at
FROM administrations a
JOIN prescriptions p ON p.facility_id = a.facility_id AND p.id = a.prescription_id
JOIN staff s ON s.facility_id = a.facility_id AND s.id = a.recorded_by
LEFT JOIN administration_corrections c ON c.facility_id = a.facility_id AND c.administration_id = a.id
LEFT JOIN prn_checks k ON k.facility_id = a.facility_id AND k.administration_id = a.id
WHERE a.facility_id = :fid AND a.dose_id = :dose
ORDER BY a.attempt;
-- InsertAdministration: the facility read back from the resident, then the act.
SELECT facility_id FROM residents WHERE id = :rid;
INSERT INTO administrations (facility_id, id, dose_id, attempt, prescription_id, resident_id,
        outcome, quantity, quantity_unit, reason, administered_at, recorded_at, recorded_by, device_id, witness_id,
        product_id, scan, unable_to_scan, scanned_wristband, scanned_pack, verification_id, gtin, aic, batch, expiry,
        altered_form, prn_indication, warnings, overridden, override_reason, override_note, notes)
VALUES (:fid, :act, :dose, 0, :pid, :rid, 'given', :qty::numeric, :unit, '', now(), now(), :sid, NULL, NULL,
        :prod, 'scanned', '', '', :code32, :ver, '', :aic, '', NULL::date,
        'none', '', '{confirm_units}', '{}', '', '', '');
-- AppendAudit: one event, chained by the audit_chain trigger (audit_heads
-- row locked and updated). The detail "given:scanned" is spelled in pieces:
-- pgbench would read ":scanned" in a literal as a variable.
INSERT INTO audit_events (facility_id, actor_id, actor_roles, device_id, ip, action,
        resource_type, resource_id, resident_id, resident_ids, outcome, detail, break_glass, request_id)
VALUES (:fid, :sid, '{nurse}', NULL, '127.0.0.1', 'therapy.administer',
        'administration', :act, :rid, '{}', 'success', 'given' || ':' || 'scanned', '', :reqid);
-- SaveResponse: the answer kept under the key (the act as JSON, ~1 KB).
INSERT INTO idempotency_keys (facility_id, staff_id, key, operation, request_hash, status, response)
VALUES (:fid, :sid, :idem, 'administration.record', sha256(convert_to(:idem, 'UTF8')), 201,
        jsonb_build_object('id', :act::text, 'dose_id', :dose::text, 'attempt', 0, 'prescription_id', :pid::text,
          'resident_id', :rid::text, 'outcome', 'given', 'quantity', :qty::text, 'quantity_unit', :unit::text,
          'reason', '', 'administered_at', now(), 'recorded_at', now(), 'recorded_by', :sid::text,
          'recorded_by_name', :sname::text, 'device_id', NULL, 'witness_id', NULL, 'product_id', :prod::text,
          'scan', 'scanned', 'unable_to_scan', '', 'verification_id', :ver::text, 'gtin', '', 'aic', :aic::text,
          'batch', '', 'expiry', NULL, 'altered_form', 'none', 'prn_indication', '',
          'warnings', '["confirm_units"]'::jsonb, 'overridden', '[]'::jsonb, 'override_reason', '',
          'override_note', '', 'notes', ''));
COMMIT;
