#!/bin/sh
# The backup service: creates the stanza (once; later runs find it), checks that WAL archiving works, then
# takes a backup at start and every BACKUP_INTERVAL_SECONDS (default a day): a full one every
# BACKUP_FULL_EVERY backups (default 7: weekly), differential ones between. pgBackRest keeps the backups and
# WAL for 30 days of recovery (repo1-retention-full-type=time). A failed backup is logged and tried again at the
# next interval: the container keeps running. After each, the attachments (the uploads volume) are archived
# beside it (shipshape-backup-uploads), where the volume is mounted.
set -eu
interval="${BACKUP_INTERVAL_SECONDS:-86400}"
full_every="${BACKUP_FULL_EVERY:-7}"
# archive_command fails until the stanza exists, and postgres keeps its WAL until then: create it at once.
until shipshape-pgbackrest --stanza=shipshape stanza-create; do
  echo "backup: stanza-create failed; retrying in 10 s" >&2
  sleep 10
done
shipshape-pgbackrest --stanza=shipshape check || echo "backup: check failed: WAL archiving is not working" >&2
count=0
while :; do
  type="diff"
  [ $((count % full_every)) -eq 0 ] && type="full"
  if shipshape-pgbackrest --stanza=shipshape --type="$type" backup; then
    echo "backup: $type backup done"
    shipshape-pgbackrest --stanza=shipshape info
  else
    echo "backup: $type backup failed" >&2
  fi
  if [ -d /var/lib/shipshape/uploads ]; then
    shipshape-backup-uploads || echo "backup: the uploads archive failed" >&2
  fi
  count=$((count + 1))
  sleep "$interval"
done
