#!/bin/sh
# pgbackrest with the repository's cipher pass read from the compose secret at each call, so the pass is in no
# image, no compose file and no container's configured environment. archive_command, the backup loop and the
# restore drill all go through it.
set -eu
secrets="${PGBACKREST_SECRETS_DIR:-/run/secrets}"
PGBACKREST_REPO1_CIPHER_PASS="$(cat "$secrets/pgbackrest_cipher_pass")"
export PGBACKREST_REPO1_CIPHER_PASS
if [ -r "$secrets/pgbackrest_repo2_cipher_pass" ]; then
  PGBACKREST_REPO2_CIPHER_PASS="$(cat "$secrets/pgbackrest_repo2_cipher_pass")"
  export PGBACKREST_REPO2_CIPHER_PASS
fi
exec pgbackrest "$@"
