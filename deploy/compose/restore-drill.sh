#!/bin/bash
# The restore drill (docs/deploy-docker.md, "Restore drill"): restores the latest backup and every archived WAL
# segment after it into a scratch data directory, starts a private server on it (socket only, no archiving),
# waits for it to finish recovery, then records each table's row count and checksum (fingerprint.sql) with the
# backup set and the time it took, as one JSON line appended to $DRILL_LOG. It fails, and records the failure,
# when the restore, the recovery or the checks fail.
set -euo pipefail
scratch="${DRILL_SCRATCH:-/var/lib/restore-drill}/data"
socket="${DRILL_SCRATCH:-/var/lib/restore-drill}"
log="${DRILL_LOG:-/var/log/restore-drill/drills.jsonl}"
timeout="${DRILL_RECOVERY_TIMEOUT_SECONDS:-3600}"
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
start_seconds="$(date +%s)"
backup_set=""

record() {
  local result="$1" detail="$2"
  printf '{"drill":"%s","started":"%s","seconds":%s,"backup_set":"%s","detail":%s}\n' "$result" "$started" \
    "$(($(date +%s) - start_seconds))" "$backup_set" "$detail" | tee -a "$log"
}
stop_scratch() {
  if [ -f "$scratch/postmaster.pid" ]; then pg_ctl -D "$scratch" -m immediate -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$scratch"
}
fail() {
  stop_scratch
  record failed "\"$1\""
  exit 1
}
trap 'fail "interrupted"' INT TERM

rm -rf "$scratch"
mkdir -m 0700 "$scratch"
restore_out="$(shipshape-pgbackrest --stanza=shipshape --pg1-path="$scratch" --archive-mode=off restore 2>&1)" ||
  { printf '%s\n' "$restore_out" >&2; fail "pgbackrest restore failed"; }
printf '%s\n' "$restore_out"
backup_set="$(printf '%s\n' "$restore_out" | sed -n 's/.*restore backup set \([0-9A-Z_-]*\).*/\1/p' | head -n 1)"

# The cipher pass reaches restore_command's archive-get through this environment.
PGBACKREST_REPO1_CIPHER_PASS="$(cat "${PGBACKREST_SECRETS_DIR:-/run/secrets}/pgbackrest_cipher_pass")"
export PGBACKREST_REPO1_CIPHER_PASS
pg_ctl -D "$scratch" -l "$socket/postgres.log" -w -t 600 \
  -o "-c listen_addresses='' -c unix_socket_directories=$socket -c archive_mode=off -c port=5432" start ||
  { cat "$socket/postgres.log" >&2; fail "the restored server did not start"; }
psql_scratch() { psql -X -h "$socket" -U postgres -d "${POSTGRES_DB:-shipshape}" -tA "$@"; }
waited=0
until [ "$(psql_scratch -c 'select pg_is_in_recovery()')" = f ]; do
  [ "$waited" -lt "$timeout" ] || fail "recovery did not finish within $timeout s"
  sleep 1
  waited=$((waited + 1))
done

fingerprint="$(psql_scratch -f /usr/local/share/shipshape/fingerprint.sql)" || fail "the checksum query failed"
case "$fingerprint" in
  *'"users"'*) ;;
  *) fail "the restored database has no users table" ;;
esac
stop_scratch
record passed "$fingerprint"
