-- pgbench-setup.sql: prepares a COPY of a Corsia database with the demo
-- facility (never the real one) for record.pgbench.sql.
--
--   psql -v ON_ERROR_STOP=1 -v ndoses=300000 -d corsia_load_pgb -f pgbench-setup.sql
--
-- It adds :ndoses scheduled doses to the facility's active scheduled
-- prescriptions, due from 60 days ahead one minute apart (so they collide
-- neither with the doses the service materialises nor with each other), and
-- lists them in loadrounds_doses in random order with what the server knows
-- before its record transaction begins: the dose, its resident, prescription
-- and product, the pack as scanned (Code 32 of the AIC), and a nurse of the
-- resident's ward who records it. Each pgbench transaction takes the next
-- row (sequence loadrounds_next), so every transaction records a different
-- dose, as each API record does.

\if :{?ndoses}
\else
\set ndoses 300000
\endif

DROP TABLE IF EXISTS loadrounds_doses;
DROP SEQUENCE IF EXISTS loadrounds_next;

-- Doses per prescription to reach :ndoses.
SELECT ceil(:ndoses::numeric / count(*))::int AS per_prescription, count(*) AS prescriptions
FROM prescriptions p JOIN residents r ON r.facility_id = p.facility_id AND r.id = p.resident_id
WHERE p.status = 'active' AND NOT p.prn AND p.product_id IS NOT NULL AND r.status = 'admitted'
\gset
\echo scheduled prescriptions: :prescriptions, doses added per prescription: :per_prescription

CREATE TABLE loadrounds_doses AS
WITH added AS (
    INSERT INTO doses (facility_id, id, prescription_id, resident_id, due_at, window_min, missed_at)
    SELECT p.facility_id, gen_random_uuid(), p.id, p.resident_id, t.due, 60, t.due + interval '2 hours'
    FROM prescriptions p
    JOIN residents r ON r.facility_id = p.facility_id AND r.id = p.resident_id
    CROSS JOIN generate_series(1, :per_prescription) g
    CROSS JOIN LATERAL (SELECT date_trunc('hour', now()) + interval '60 days' + g * interval '1 minute' AS due) t
    WHERE p.status = 'active' AND NOT p.prn AND p.product_id IS NOT NULL AND r.status = 'admitted'
    RETURNING facility_id, id, prescription_id, resident_id
)
SELECT row_number() OVER (ORDER BY random()) AS n,
       a.facility_id, a.id AS dose_id, a.resident_id, a.prescription_id,
       nurse.id AS staff_id, nurse.given_name || ' ' || nurse.family_name AS staff_name,
       p.product_id, pr.aic, p.dose::text AS quantity, p.dose_unit AS quantity_unit,
       -- The pack as the scanner sends it: the AIC's value in base 32, six
       -- symbols, most significant first (backend/codes/code32.go).
       (SELECT string_agg(substr('0123456789BCDFGHJKLMNPQRSTUVWXYZ', ((pr.aic::bigint / (32::bigint ^ i)::bigint) % 32)::int + 1, 1), '' ORDER BY i DESC)
          FROM generate_series(0, 5) i) AS code32
FROM added a
JOIN prescriptions p ON p.facility_id = a.facility_id AND p.id = a.prescription_id
JOIN products pr ON pr.id = p.product_id
JOIN residents r ON r.facility_id = a.facility_id AND r.id = a.resident_id
CROSS JOIN LATERAL (
    SELECT s.id, s.given_name, s.family_name FROM staff s
    JOIN staff_roles sr ON sr.facility_id = s.facility_id AND sr.staff_id = s.id AND sr.role = 'nurse'
    JOIN ward_assignments w ON w.facility_id = s.facility_id AND w.staff_id = s.id AND w.ward_id = r.ward_id
    WHERE s.facility_id = a.facility_id AND s.active
    ORDER BY md5(s.id::text || a.id::text) LIMIT 1) nurse;

ALTER TABLE loadrounds_doses ADD PRIMARY KEY (n);
CREATE SEQUENCE loadrounds_next;

SELECT count(*) AS doses_ready, count(DISTINCT staff_id) AS nurses, count(DISTINCT resident_id) AS residents
FROM loadrounds_doses;

VACUUM ANALYZE;
CHECKPOINT;
