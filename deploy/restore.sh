#!/usr/bin/env bash
# Restores a dump into a NEW database and verifies it: checksum first, then pg_restore in one transaction,
# then the row count of every table the dump holds. Never overwrites an existing database: point the app at the
# restored one (DATABASE_URL) once it is checked, or rename databases by hand.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: restore.sh DUMP DATABASE     e.g. restore.sh /var/backups/shipshape/shipshape-20260101T031500Z.dump shipshape_restored
  RESTORE_ADMIN_URL   a role that may CREATE DATABASE, e.g. postgres://admin:pw@127.0.0.1:5432/postgres (required)
  RESTORE_OWNER       role that owns the restored objects (default: the admin role)
USAGE
}

case "${1:-}" in -h | --help) usage; exit 0 ;; esac
[ $# -eq 2 ] || { usage; exit 64; }
dump="$1"
database="$2"
[[ "$database" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "restore: DATABASE must be a plain lower-case name" >&2; exit 64; }
admin="${RESTORE_ADMIN_URL:?set RESTORE_ADMIN_URL (see --help)}"
[ -f "$dump" ] || { echo "restore: no such dump: $dump" >&2; exit 66; }

# The target's URL: the admin URL with its database name replaced (a query string is kept).
query=""
[[ "$admin" == *\?* ]] && query="?${admin#*\?}"
base="${admin%%\?*}"
target="${base%/*}/$database$query"

if [ -f "$dump.sha256" ]; then
  (cd "$(dirname "$dump")" && sha256sum --check --quiet "$(basename "$dump").sha256")
  echo "restore: checksum ok" >&2
else
  echo "restore: no $dump.sha256 beside the dump: its integrity is not checked" >&2
fi

exists="$(psql --no-psqlrc --tuples-only --no-align --dbname="$admin" \
  --command="select 1 from pg_database where datname = '$database'")"
[ -z "$exists" ] || { echo "restore: database $database exists; pick a new name" >&2; exit 73; }
owner_clause=""
[ -n "${RESTORE_OWNER:-}" ] && owner_clause=" owner \"$RESTORE_OWNER\""
psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --dbname="$admin" --command="create database $database$owner_clause"

# One transaction: a dump that fails halfway leaves an empty database, not a partial one.
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$target" "$dump"

# Verify: every table the dump carried data for exists and is counted. Prints "schema.table rows" lines.
pg_restore --list "$dump" | awk '$4 == "TABLE" && $5 == "DATA" { print $6 "." $7 }' | sort |
  while read -r table; do
    rows="$(psql --no-psqlrc --tuples-only --no-align --set=ON_ERROR_STOP=1 --dbname="$target" \
      --command="select count(*) from $table")"
    printf '%s %s\n' "$table" "$rows"
  done
echo "restore: $dump restored into $database and verified" >&2
