#!/usr/bin/env bash
# Keeps a copy of the backups on another machine and proves it arrived intact: the pgBackRest repository (already
# encrypted) and the encrypted file archives are copied with rsync over SSH, then every file that changed is
# checksummed (SHA-256) on the far side against this side. Also writes a heartbeat so an idle database still
# ships WAL, and reports WAL archiving to Prometheus. Run as postgres every 2 minutes by
# shipshape-backup-offhost.timer, so the off-host copy trails the database by archive_timeout plus 2 minutes.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: backup-offhost.sh [--verify-all]    as the postgres user
  OFFHOST_TARGET    user@host:/path on the backup machine (unset: heartbeat and WAL metrics only)
  OFFHOST_SSH       the ssh command rsync and the check use (default: ssh), e.g. "ssh -p 2222 -i KEY"
  FILES_BACKUP_DIR  the encrypted file archives to copy too (default /var/backups/shipshape-files)
  WAL_HEARTBEAT     0 to skip the heartbeat write (default 1)
  --verify-all      checksum every file at the destination, not only those copied now
USAGE
}

verify_all=0
case "${1:-}" in
  "") ;;
  --verify-all) verify_all=1 ;;
  -h | --help) usage; exit 0 ;;
  *) usage; exit 64 ;;
esac
# shellcheck source=SCRIPTDIR/backup-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/backup-lib.sh"
[ "$(id -un)" = postgres ] || fail "run as the postgres user (sudo -u postgres)"
files_dir="${FILES_BACKUP_DIR:-/var/backups/shipshape-files}"
repo="$(pgbr_option repo1-path /var/lib/pgbackrest)"
read -ra ssh_command <<<"${OFFHOST_SSH:-ssh}"

# PostgreSQL switches WAL segments on archive_timeout only when something was written: a tiny write every run
# keeps WAL flowing, so "last WAL archived" stays fresh exactly as long as archiving works.
heartbeat() {
  [ "${WAL_HEARTBEAT:-1}" = 1 ] || return 0
  local_psql --dbname=postgres --command="
    create table if not exists shipshape_wal_heartbeat (id int primary key, at timestamptz not null);
    insert into shipshape_wal_heartbeat values (1, now()) on conflict (id) do update set at = excluded.at" >/dev/null
}

wal_metrics() {
  local row archived failed failed_count
  row="$(local_psql --dbname=postgres --field-separator=' ' --command="
    select coalesce(extract(epoch from last_archived_time)::bigint, 0),
           coalesce(extract(epoch from last_failed_time)::bigint, 0), failed_count from pg_stat_archiver")"
  read -r archived failed failed_count <<<"$row"
  cat <<METRICS
# HELP shipshape_wal_last_archived_timestamp_seconds When archive_command last succeeded (pg_stat_archiver).
# TYPE shipshape_wal_last_archived_timestamp_seconds gauge
shipshape_wal_last_archived_timestamp_seconds $archived
# HELP shipshape_wal_last_failed_timestamp_seconds When archive_command last failed (0: never).
# TYPE shipshape_wal_last_failed_timestamp_seconds gauge
shipshape_wal_last_failed_timestamp_seconds $failed
# HELP shipshape_wal_failed_total WAL segments archive_command failed on since the server started.
# TYPE shipshape_wal_failed_total counter
shipshape_wal_failed_total $failed_count
METRICS
}

# rsync's list of files it wrote (relative to the destination), then those files' SHA-256 computed here and
# checked there. The repository's files are immutable once pgBackRest renames them into place.
copy_and_verify() {
  local source="$1" name="$2" host="${OFFHOST_TARGET%%:*}" path="${OFFHOST_TARGET#*:}" changed
  changed="$(rsync --archive --delete-after --exclude='*.tmp' --exclude='*.pgbackrest.tmp' \
    --rsh="${ssh_command[*]}" --rsync-path="mkdir -p '$path/$name' && rsync" \
    --out-format='%n' "$source/" "$OFFHOST_TARGET/$name/" |
    while IFS= read -r file; do
      # Regular files only: directories and the `latest` symlink carry no content of their own.
      if [ -f "$source/$file" ] && [ ! -L "$source/$file" ]; then printf '%s\n' "$file"; fi
    done)"
  if [ "$verify_all" = 1 ]; then
    changed="$(cd "$source" && find . -type f ! -name '*.tmp' -printf '%P\n' | sort)"
  fi
  [ -n "$changed" ] || { echo 0; return 0; }
  (cd "$source" && tr '\n' '\0' <<<"$changed" | xargs -0 sha256sum --) |
    "${ssh_command[@]}" "$host" "cd '$path/$name' && sha256sum --check --quiet --strict -" >&2 ||
    fail "the copy of $name on $host does not match this host's files"
  wc -l <<<"$changed"
}

heartbeat
wal_metrics | write_metrics shipshape_wal

[ -n "${OFFHOST_TARGET:-}" ] || { say "OFFHOST_TARGET unset: no off-host copy"; exit 0; }
[[ "$OFFHOST_TARGET" == *:/* ]] || fail "OFFHOST_TARGET must look like user@host:/absolute/path"
# An empty or foreign repository here must never be mirrored over the good copy there.
[ -f "$repo/backup/$STANZA/backup.info" ] || fail "$repo holds no stanza $STANZA: refusing to mirror it off the host"

started="$(date +%s)"
ok=0
report() {
  outcome_metrics shipshape_backup_offhost "the off-host copy" "$ok" "$started" last_run_duration_seconds |
    write_metrics shipshape_backup_offhost
}
trap report EXIT

checked="$(copy_and_verify "$repo" repo)"
if [ -d "$files_dir" ]; then
  files_checked="$(copy_and_verify "$files_dir" files)"
  checked=$((checked + files_checked))
fi
ok=1
say "off-host copy at $OFFHOST_TARGET up to date; $checked file(s) checked by SHA-256 there"
