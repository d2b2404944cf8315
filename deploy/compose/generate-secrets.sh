#!/usr/bin/env bash
# Writes the compose stack's secrets into DIR (default ./secrets), each file readable only by the one container
# user that reads it: postgres (uid 999) or the app (uid 1000). Files that exist are kept, so it is safe to re-run;
# delete one to replace it (and see docs/deploy-docker.md for what a new password needs). Run as root.
#   deploy/compose/generate-secrets.sh [DIR]
set -euo pipefail
case "${1:-}" in -h | --help) echo "usage: sudo generate-secrets.sh [DIR]   (default ./secrets)" >&2; exit 0 ;; esac
dir="${1:-./secrets}"
install -d -m 0700 "$dir"
# URL-safe: the passwords also go into database URLs.
password() { openssl rand -hex 24; }

write() {
  local name="$1" owner="$2" value="$3"
  [ -s "$dir/$name" ] && return 0
  install -m 0400 /dev/null "$dir/$name.new"
  printf '%s\n' "$value" >"$dir/$name.new"
  chown "$owner:$owner" "$dir/$name.new"
  mv "$dir/$name.new" "$dir/$name"
  echo "wrote $dir/$name" >&2
}
read_secret() { head -n 1 "$dir/$1"; }

write postgres_password 999 "$(password)"
write db_owner_password 999 "$(password)"
write db_runtime_password 999 "$(password)"
write pgbackrest_cipher_pass 999 "$(openssl rand -base64 48 | tr -d '\n')"
write secret_key 1000 "$(openssl rand -base64 48 | tr -d '\n')"
write migrate_database_url 1000 "postgres://shipshape:$(read_secret db_owner_password)@postgres:5432/shipshape"
write database_url 1000 "postgres://shipshape_app:$(read_secret db_runtime_password)@postgres:5432/shipshape"
