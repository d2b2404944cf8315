#!/usr/bin/env bash
# Backs up what the database backup does not hold: the settings and secrets (/etc/shipshape), the nginx site, the
# pgBackRest and PostgreSQL configuration and user uploads, as one tarball encrypted with the repository's key (openssl,
# AES-256-CBC, PBKDF2) and a SHA-256 beside it. backup-offhost.sh copies them off the host. Run as root daily by
# shipshape-backup-files.timer (only root can read /etc/shipshape).
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: backup-files.sh            as root; prints the path of the new archive
  FILES_ROOT         the root the paths below are taken from (default /; a test uses a temporary root)
  FILES_PATHS        what to archive, relative to FILES_ROOT; missing ones are skipped
                     (default: etc/shipshape etc/nginx/sites-available/shipshape.conf etc/pgbackrest/pgbackrest.conf
                     etc/postgresql/15/main srv/shipshape/deploys.log var/lib/shipshape/uploads)
  FILES_BACKUP_DIR   where archives go (default /var/backups/shipshape-files)
  FILES_KEEP_DAYS    delete archives older than this (default 30), always keeping the newest 3
  BACKUP_KEY_FILE    the key (default /etc/pgbackrest/conf.d/shipshape-cipher.conf, its repo1-cipher-pass line)
USAGE
}

case "${1:-}" in -h | --help) usage; exit 0 ;; "") ;; *) usage; exit 64 ;; esac
# shellcheck source=SCRIPTDIR/backup-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/backup-lib.sh"
root="${FILES_ROOT:-/}"
read -ra paths <<<"${FILES_PATHS:-etc/shipshape etc/nginx/sites-available/shipshape.conf etc/pgbackrest/pgbackrest.conf etc/postgresql/15/main srv/shipshape/deploys.log var/lib/shipshape/uploads}"
dir="${FILES_BACKUP_DIR:-/var/backups/shipshape-files}"
keep_days="${FILES_KEEP_DAYS:-30}"
key_file="${BACKUP_KEY_FILE:-/etc/pgbackrest/conf.d/shipshape-cipher.conf}"
[ -r "$key_file" ] || { echo "backup-files: cannot read the key file $key_file" >&2; exit 66; }
cipher_key "$key_file" >/dev/null

present=()
for path in "${paths[@]}"; do
  if [ -e "$root/$path" ]; then present+=("$path"); else echo "backup-files: skipping missing $root/$path" >&2; fi
done
[ ${#present[@]} -gt 0 ] || { echo "backup-files: nothing to archive under $root" >&2; exit 66; }

umask 027
mkdir -p "$dir"
name="shipshape-files-$(date -u +%Y%m%dT%H%M%SZ).tar.gz.enc"
partial="$dir/.$name.partial"
trap 'rm -f "$partial"' EXIT

# The key goes to openssl on a file descriptor: never on a command line, never in the environment.
tar --create --gzip --numeric-owner --directory="$root" "${present[@]}" |
  openssl enc -aes-256-cbc -pbkdf2 -iter 200000 -salt -pass fd:3 -out "$partial" \
    3< <(cipher_key "$key_file")
# Unreadable with the key is not a backup: decrypt and list it before keeping it.
openssl enc -d -aes-256-cbc -pbkdf2 -iter 200000 -pass fd:3 -in "$partial" 3< <(cipher_key "$key_file") |
  tar --list --gzip >/dev/null
mv "$partial" "$dir/$name"
(cd "$dir" && sha256sum "$name" >"$name.sha256")

prune_older "$dir" 'shipshape-files-*.enc' "$keep_days" 3 backup-files

echo "$dir/$name"
