#!/usr/bin/env bash
# Disaster recovery onto a new host (docs/disaster-recovery.md): fetches the off-host copy, checks every file
# against the SHA-256 computed on the backup host, installs the key you kept, restores the configuration files
# from the newest encrypted archive, and restores the database into an empty data directory with pgBackRest.
# Then start PostgreSQL and deploy the last good release (the script prints how). Run as root.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: sudo restore-host.sh
  OFFHOST_SOURCE    user@host:/path of the off-host copy (required; holds repo/ and files/)
  OFFHOST_SSH       the ssh command (default: ssh)
  BACKUP_KEY_FILE   the repository key as you kept it: a file with the key (required)
  RESTORE_TARGET    latest (default) or a time PostgreSQL reads, with its zone
  HOST_ROOT         the root to restore into (default /; a test uses a temporary root)
  PG_DATA           the empty data directory to restore into (default HOST_ROOT/var/lib/postgresql/15/main)
USAGE
}

case "${1:-}" in -h | --help) usage; exit 0 ;; "") ;; *) usage; exit 64 ;; esac
[ "$(id -u)" = 0 ] || { echo "restore-host: run as root (sudo)" >&2; exit 77; }
# shellcheck source=SCRIPTDIR/backup-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/backup-lib.sh"
source_target="${OFFHOST_SOURCE:?set OFFHOST_SOURCE (see --help)}"
key_file="${BACKUP_KEY_FILE:?set BACKUP_KEY_FILE (see --help)}"
[[ "$source_target" == *:/* ]] || fail "OFFHOST_SOURCE must look like user@host:/absolute/path"
root="${HOST_ROOT:-/}"
root="${root%/}"
data="${PG_DATA:-$root/var/lib/postgresql/15/main}"
target="${RESTORE_TARGET:-latest}"
read -ra ssh_command <<<"${OFFHOST_SSH:-ssh}"
host="${source_target%%:*}"
path="${source_target#*:}"
repo="$root/var/lib/pgbackrest"
files="$root/var/backups/shipshape-files"
config_path="$root/etc/pgbackrest"
key="$(cipher_key "$key_file")"
if [ -d "$data" ] && [ -n "$(ls -A "$data")" ]; then
  fail "$data is not empty: stop PostgreSQL and move it aside (mv $data $data.old) first"
fi

# Copies NAME from the backup host and checks each file against the SHA-256 the backup host computes for it.
fetch() {
  local name="$1" into="$2"
  mkdir -p "$into"
  rsync --archive --delete --rsh="${ssh_command[*]}" "$source_target/$name/" "$into/"
  "${ssh_command[@]}" "$host" "cd '$path/$name' && find . -type f -print0 | sort -z | xargs -0 --no-run-if-empty sha256sum" |
    (cd "$into" && sha256sum --check --quiet --strict -) || fail "$name from $host does not match its checksums there"
  say "fetched $name: $(find "$into" -type f | wc -l) files, checksums match the backup host's"
}

say "1/4 the off-host copy from $host"
fetch repo "$repo"
fetch files "$files"
chown -R postgres:postgres "$repo"
chmod 0750 "$repo"

say "2/4 the key"
install -d -m 0755 "$config_path" "$config_path/conf.d"
install -d -m 0750 -o postgres -g postgres "$root/var/log/pgbackrest" "$root/var/spool/pgbackrest"
install -m 0600 -o postgres -g postgres /dev/null "$config_path/conf.d/shipshape-cipher.conf"
printf '[global]\nrepo1-cipher-pass=%s\n' "$key" >"$config_path/conf.d/shipshape-cipher.conf"

say "3/4 configuration and uploads from the newest file archive"
archive="$(find "$files" -maxdepth 1 -name 'shipshape-files-*.tar.gz.enc' | sort | tail -n 1)"
[ -n "$archive" ] || fail "no file archive in the off-host copy"
(cd "$files" && sha256sum --check --quiet "$(basename "$archive").sha256")
openssl enc -d -aes-256-cbc -pbkdf2 -iter 200000 -pass fd:3 -in "$archive" 3<<<"$key" |
  tar --extract --gzip --same-permissions --directory="$root/" || fail "cannot decrypt $archive with this key"
say "restored $(basename "$archive") into $root/"

say "4/4 the database ($target) into $data"
install -d -m 0700 -o postgres -g postgres "$data"
recovery=(--type=default)
[ "$target" = latest ] || recovery=(--type=time "--target=$target" --target-action=promote)
runuser -u postgres -- pgbackrest --config-path="$config_path" --stanza="$STANZA" --repo1-path="$repo" \
  --log-path="$root/var/log/pgbackrest" --lock-path="$root/var/spool/pgbackrest" --pg1-path="$data" \
  "${recovery[@]}" restore
runuser -u postgres -- pgbackrest --config-path="$config_path" --stanza="$STANZA" --repo1-path="$repo" \
  --log-path="$root/var/log/pgbackrest" --lock-path="$root/var/spool/pgbackrest" info >&2

last="$(awk '$2 == "deploy" && $4 == "ok" { v = $3 } END { print v }' "$root/srv/shipshape/deploys.log" 2>/dev/null || true)"
cat >&2 <<NEXT
restore-host: done. Next (docs/disaster-recovery.md):
  1. start PostgreSQL:  pg_ctlcluster 15 main start   (recovery replays WAL, then the cluster is promoted)
  2. deploy:            SHIPSHAPE_REPO=... /srv/shipshape/bin/deploy.sh ${last:-VERSION}   (the last good release)
  3. smoke test:        /srv/shipshape/bin/smoke.sh https://YOUR-DOMAIN
NEXT
