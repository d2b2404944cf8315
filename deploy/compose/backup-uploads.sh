#!/bin/bash
# The uploads volume (attachments, UPLOAD_DIR) archived beside the database backups: a dated tar encrypted with
# the repository's cipher pass (AES-256-CBC, PBKDF2, as deploy/backup-files.sh does on a VPS), checked by
# decrypting it back, with its SHA-256 beside it. Archives older than UPLOADS_KEEP_DAYS (30, the database
# backups' retention) go; the newest three always stay. The backup loop runs it after each database backup.
# Prints the new archive's path. Restore: docs/disaster-recovery.md, "Compose: attachments".
set -euo pipefail
src="${UPLOADS_DIR:-/var/lib/shipshape/uploads}"
dir="${UPLOADS_BACKUP_DIR:-/var/lib/shipshape-backups/uploads}"
keep_days="${UPLOADS_KEEP_DAYS:-30}"
pass="${PGBACKREST_SECRETS_DIR:-/run/secrets}/pgbackrest_cipher_pass"
[ -d "$src" ] || { echo "backup-uploads: no $src to archive" >&2; exit 66; }
[ -r "$pass" ] || { echo "backup-uploads: cannot read the cipher pass $pass" >&2; exit 66; }

umask 077
mkdir -p "$dir"
# One run at a time (the loop's and an operator's may meet), each writing its own partial file.
exec 9>"$dir/.lock"
flock 9
name="uploads-$(date -u +%Y%m%dT%H%M%SZ).tar.gz.enc"
partial="$(mktemp "$dir/.partial.XXXXXX")"
trap 'rm -f "$partial"' EXIT
# pipefail: a file tar cannot read fails the archive instead of leaving it short.
tar --create --gzip --numeric-owner --directory="$src" . |
  openssl enc -aes-256-cbc -pbkdf2 -iter 200000 -salt -pass "file:$pass" -out "$partial"
openssl enc -d -aes-256-cbc -pbkdf2 -iter 200000 -pass "file:$pass" -in "$partial" | tar --list --gzip >/dev/null
mv "$partial" "$dir/$name"
(cd "$dir" && sha256sum "$name" >"$name.sha256")

find "$dir" -maxdepth 1 -name 'uploads-*.tar.gz.enc' -printf '%T@ %p\n' | sort -rn | tail -n +4 |
  while read -r _ old; do
    if [ -n "$(find "$old" -mtime +"$keep_days")" ]; then
      rm -f "$old" "$old.sha256"
      echo "backup-uploads: pruned $(basename "$old")" >&2
    fi
  done
echo "$dir/$name"
