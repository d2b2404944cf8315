#!/usr/bin/env bash
# Backs the database up: pg_dump's custom format, checked readable, with a SHA-256 beside it; dumps older
# than the retention are pruned, the newest few always kept. Run nightly by systemd/shipshape-backup.timer.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: backup.sh          prints the path of the new dump
  BACKUP_DATABASE_URL   database to dump (default: DATABASE_URL); a read-only role is enough
  BACKUP_DIR            where dumps go (default /var/backups/shipshape)
  BACKUP_KEEP_DAYS      delete dumps older than this (default 14)
  BACKUP_KEEP_MIN       but always keep the newest N (default 3)
USAGE
}

[ $# -eq 0 ] || { case "$1" in -h | --help) usage; exit 0 ;; *) usage; exit 64 ;; esac; }
# shellcheck source=SCRIPTDIR/backup-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/backup-lib.sh"
url="${BACKUP_DATABASE_URL:-${DATABASE_URL:-}}"
[ -n "$url" ] || { echo "backup: set BACKUP_DATABASE_URL or DATABASE_URL" >&2; usage; exit 64; }
dir="${BACKUP_DIR:-/var/backups/shipshape}"
keep_days="${BACKUP_KEEP_DAYS:-14}"
keep_min="${BACKUP_KEEP_MIN:-3}"

umask 077 # dumps hold every user's data: owner-only
mkdir -p "$dir"
name="shipshape-$(date -u +%Y%m%dT%H%M%SZ).dump"
partial="$dir/.$name.partial"
trap 'rm -f "$partial"' EXIT

# -Fc: compressed, and pg_restore can pick tables or run in parallel. The URL is passed as --dbname so the
# password never appears on a command line of its own; the unit's ProtectProc hides it from other users anyway.
pg_dump --format=custom --no-owner --no-privileges --dbname="$url" --file="$partial"
# A dump pg_restore cannot list is not a backup.
pg_restore --list "$partial" >/dev/null
mv "$partial" "$dir/$name"
(cd "$dir" && sha256sum "$name" >"$name.sha256")

prune_older "$dir" 'shipshape-*.dump' "$keep_days" "$keep_min" backup

echo "$dir/$name"
