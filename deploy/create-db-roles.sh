#!/usr/bin/env bash
# Creates or updates the database's owner and runtime roles (deploy/db-roles.sql) and prints nothing secret.
# Run as root on the database host (it connects as the postgres superuser over the local socket), or anywhere
# with ADMIN_DATABASE_URL pointing at the application database as an admin.
#   deploy/create-db-roles.sh DATABASE
#   SHIPSHAPE_OWNER_PASSWORD / SHIPSHAPE_RUNTIME_PASSWORD   set the passwords (unset: left as they are)
#   SHIPSHAPE_OWNER_ROLE / SHIPSHAPE_RUNTIME_ROLE           role names (default shipshape, shipshape_app)
set -euo pipefail

usage() { echo "usage: sudo [ADMIN_DATABASE_URL=...] create-db-roles.sh [DATABASE]   (default shipshape)" >&2; }
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
[ $# -le 1 ] || { usage; exit 64; }
database="${1:-shipshape}"
sql="$(dirname "${BASH_SOURCE[0]}")/db-roles.sql"
args=(-X -q -v ON_ERROR_STOP=1 -v "owner=${SHIPSHAPE_OWNER_ROLE:-shipshape}"
  -v "runtime=${SHIPSHAPE_RUNTIME_ROLE:-shipshape_app}")

if [ -n "${ADMIN_DATABASE_URL:-}" ]; then
  psql "${args[@]}" -d "$ADMIN_DATABASE_URL" -f "$sql"
else
  # runuser keeps the caller's environment, so the passwords reach psql's \getenv and never its arguments.
  runuser -u postgres -- psql "${args[@]}" -d "$database" -f - <"$sql"
fi
