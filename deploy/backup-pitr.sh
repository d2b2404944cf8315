#!/usr/bin/env bash
# A pgBackRest backup of the local cluster into the encrypted repository, then expiry past the retention, then
# the repository's state as Prometheus metrics. Run as postgres by shipshape-backup-full.timer (weekly) and
# shipshape-backup-diff.timer (daily); WAL between backups is archived continuously by archive_command.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: backup-pitr.sh full|diff      as the postgres user; prints the new backup's label
  PGBACKREST_CONFIG_PATH   pgbackrest.conf and conf.d/ with the key (default /etc/pgbackrest)
  METRICS_TEXTFILE_DIR     node-exporter's textfile directory (default /var/lib/prometheus/node-exporter)
USAGE
}

case "${1:-}" in
  full | diff) type="$1" ;;
  -h | --help) usage; exit 0 ;;
  *) usage; exit 64 ;;
esac
# shellcheck source=SCRIPTDIR/backup-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/backup-lib.sh"
[ "$(id -un)" = postgres ] || fail "run as the postgres user (sudo -u postgres): pgBackRest refuses other users"

started="$(date +%s)"
# One file for all backup metrics (node-exporter refuses a series that two files both carry): the other type's
# run status is carried over from the previous file.
report() {
  local status=$? t ok duration
  {
    repository_metrics || true
    printf '# HELP shipshape_backup_last_run_success 1 when the last backup run of this type succeeded.\n'
    printf '# TYPE shipshape_backup_last_run_success gauge\n'
    for t in full diff; do
      ok="$(previous_metric shipshape_backup "shipshape_backup_last_run_success{type=\"$t\"}")"
      [ "$t" = "$type" ] && { ok=0; [ "$status" = 0 ] && ok=1; }
      printf 'shipshape_backup_last_run_success{type="%s"} %s\n' "$t" "$ok"
    done
    printf '# HELP shipshape_backup_last_run_duration_seconds How long the last backup run of this type took.\n'
    printf '# TYPE shipshape_backup_last_run_duration_seconds gauge\n'
    for t in full diff; do
      duration="$(previous_metric shipshape_backup "shipshape_backup_last_run_duration_seconds{type=\"$t\"}")"
      [ "$t" = "$type" ] && duration="$(($(date +%s) - started))"
      printf 'shipshape_backup_last_run_duration_seconds{type="%s"} %s\n' "$t" "$duration"
    done
  } | write_metrics shipshape_backup
}
trap report EXIT

say "pgbackrest $type backup of stanza $STANZA"
pgbr --type="$type" backup
# expire runs after every backup by itself; the label of the newest backup is what the operator looks for.
pgbr info --output=json | jq -r '.[0].backup[-1].label'
