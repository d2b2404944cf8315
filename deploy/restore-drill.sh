#!/usr/bin/env bash
# The monthly restore drill, unattended: a marker row is written to the live cluster and archived, the newest
# state is restored into a scratch cluster by restore-to.sh, and the drill passes only when the marker is there
# (the restore reached minutes-old data) and every table could be counted and checksummed. The result and its
# time go to Prometheus; the scratch cluster is removed. Run as postgres by shipshape-restore-drill.timer.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: restore-drill.sh      as the postgres user; prints the restored tables ("database.schema.table rows md5")
  RESTORE_ROOT, PGBACKREST_CONFIG_PATH, PG_BIN   as for restore-to.sh
  METRICS_TEXTFILE_DIR   node-exporter's textfile directory (default /var/lib/prometheus/node-exporter)
USAGE
}

case "${1:-}" in -h | --help) usage; exit 0 ;; "") ;; *) usage; exit 64 ;; esac
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=SCRIPTDIR/backup-lib.sh
source "$here/backup-lib.sh"
[ "$(id -un)" = postgres ] || fail "run as the postgres user (sudo -u postgres)"
root="${RESTORE_ROOT:-/var/lib/postgresql/15/restores}"
bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
name="drill-$(date -u +%Y%m%dT%H%M%S)"
marker="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
started="$(date +%s)"
ok=0
tables=0

finish() {
  [ -f "$root/$name/postmaster.pid" ] && "$bin/pg_ctl" --pgdata="$root/$name" --mode=immediate stop >/dev/null 2>&1
  rm -rf "${root:?}/$name" "${root:?}/$name.run"
  {
    outcome_metrics shipshape_restore_drill "the restore drill" "$ok" "$started" duration_seconds
    cat <<METRICS
# HELP shipshape_restore_drill_tables Tables the last drill counted and checksummed.
# TYPE shipshape_restore_drill_tables gauge
shipshape_restore_drill_tables $tables
METRICS
  } | write_metrics shipshape_restore_drill
}
trap finish EXIT

say "drill: writing marker $marker and waiting for its WAL to be archived"
local_psql --dbname=postgres --command="
  create table if not exists shipshape_restore_drill (marker text primary key, at timestamptz not null default now());
  insert into shipshape_restore_drill (marker) values ('$marker')" >/dev/null
# check switches to a new WAL segment and waits until the old one is in the repository.
pgbr check

report="$("$here/restore-to.sh" latest --into "$name")"
printf '%s\n' "$report"
tables="$(grep -c . <<<"$report")"
found="$(psql --no-psqlrc --tuples-only --no-align --host="$root/$name.run" --port=5432 --dbname=postgres \
  --command="select count(*) from shipshape_restore_drill where marker = '$marker'")"
[ "$found" = 1 ] || fail "the restored copy lacks the marker written before the drill: the archive is behind"
grep -q '^postgres\.public\.shipshape_restore_drill [1-9]' <<<"$report" || fail "the drill table was not checksummed"
ok=1
say "drill passed: $tables tables restored, counted and checksummed in $(($(date +%s) - started)) s"
