#!/usr/bin/env bash
# pgbench.sh: the database's own limit for the record transaction.
#
# Copies a database holding the demo facility (by default corsia_load, the
# one the load test's service used: stop the service first, CREATE DATABASE
# ... TEMPLATE needs it idle), adds doses to it with pgbench-setup.sql, runs
# record.pgbench.sql for 1, 8 and 32 clients, prints the tps of each, and
# drops the copy.
#
#   bash mobileapi/loadrounds/pgbench.sh
#
# Environment: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres),
# SOURCE_DB (corsia_load), PGB_DB (corsia_load_pgb, dropped and recreated),
# CLIENTS ("1 8 32"), DURATION (seconds per run, 30), DOSES (doses prepared,
# 300000: at least the transactions of all runs together), KEEP=1 to keep
# the copy.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
SOURCE_DB=${SOURCE_DB:-corsia_load}
PGB_DB=${PGB_DB:-corsia_load_pgb}
CLIENTS=${CLIENTS:-"1 8 32"}
DURATION=${DURATION:-30}
DOSES=${DOSES:-300000}
KEEP=${KEEP:-0}

pgbench=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z "$pgbench" || ! -x "$pgbench" ]]; then
	echo "pgbench not found: apt-get install postgresql-client (or postgresql-contrib)" >&2
	exit 1
fi
cores=$(nproc 2>/dev/null || echo 2)

psql_() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

if [[ "$PGB_DB" == "$SOURCE_DB" ]]; then
	echo "PGB_DB must not be SOURCE_DB: the benchmark writes to its copy" >&2
	exit 1
fi
psql_ -d postgres -c "DROP DATABASE IF EXISTS \"$PGB_DB\""
if ! psql_ -d postgres -c "CREATE DATABASE \"$PGB_DB\" TEMPLATE \"$SOURCE_DB\""; then
	echo "could not copy $SOURCE_DB: is the service (or anything else) still connected to it?" >&2
	exit 1
fi
cleanup() {
	if [[ "$KEEP" != 1 ]]; then
		psql_ -d postgres -c "DROP DATABASE IF EXISTS \"$PGB_DB\"" || true
	fi
}
trap cleanup EXIT

echo "== setup: $DOSES doses on $PGB_DB (a copy of $SOURCE_DB)"
psql_ -d "$PGB_DB" -v ndoses="$DOSES" -f "$here/pgbench-setup.sql"

declare -A tps
for c in $CLIENTS; do
	j=$((c < cores ? c : cores))
	echo "== $c client(s), $DURATION s"
	out=$("$pgbench" -n -M prepared -c "$c" -j "$j" -T "$DURATION" -f "$here/record.pgbench.sql" "$PGB_DB" 2>&1) || {
		echo "$out" >&2
		exit 1
	}
	echo "$out" | grep -E '^(number of (transactions actually processed|failed transactions)|latency average|latency stddev|tps)' || true
	if echo "$out" | grep -qiE 'aborted|error'; then
		echo "$out" | grep -iE 'aborted|error' | head -n 5 >&2
		echo "pgbench reported errors (too few doses prepared? raise DOSES)" >&2
		exit 1
	fi
	tps[$c]=$(echo "$out" | sed -nE 's/^tps = ([0-9.]+) .*/\1/p' | head -n 1)
	psql_ -d "$PGB_DB" -c CHECKPOINT
done

used=$(psql_ -At -d "$PGB_DB" -c "SELECT last_value FROM loadrounds_next")
recorded=$(psql_ -At -d "$PGB_DB" -c "SELECT count(*) FROM administrations a JOIN loadrounds_doses l ON l.facility_id = a.facility_id AND l.dose_id = a.dose_id")
echo "== doses taken: $used of $DOSES; acts recorded on them: $recorded"
echo
echo "record transaction, pgbench tps (-M prepared, $DURATION s per run, $cores cores):"
for c in $CLIENTS; do
	printf '  %3s client(s): %s tps\n' "$c" "${tps[$c]}"
done
