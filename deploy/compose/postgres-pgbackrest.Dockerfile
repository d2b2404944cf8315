# PostgreSQL with pgBackRest, for docker-compose.prod.yml: the server archives its WAL (archive_command runs in
# this container), the backup service takes base backups and the restore-drill profile restores, all from this
# one image. Built from deploy/ (the compose file's build context); no secret is ever in it: the repository's
# cipher pass is a compose secret read at each call (shipshape-pgbackrest). The backup service mounts the
# attachments' volume too: its mount point is the app's (1000:1000, 0750), so whichever container creates the
# volume first gives it the owner the app writes as.
FROM postgres:16
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends pgbackrest openssl; \
    rm -rf /var/lib/apt/lists/*; \
    install -d -o postgres -g postgres -m 0750 /var/lib/pgbackrest /var/lib/restore-drill /var/log/restore-drill \
      /var/lib/shipshape-backups; \
    install -d -o 1000 -g 1000 -m 0750 /var/lib/shipshape/uploads
COPY compose/pgbackrest.conf /etc/pgbackrest/pgbackrest.conf
COPY db-roles.sql compose/fingerprint.sql /usr/local/share/shipshape/
COPY compose/initdb-roles.sh /docker-entrypoint-initdb.d/10-shipshape-roles.sh
COPY compose/pgbackrest.sh /usr/local/bin/shipshape-pgbackrest
COPY compose/backup-loop.sh /usr/local/bin/shipshape-backup-loop
COPY compose/backup-uploads.sh /usr/local/bin/shipshape-backup-uploads
COPY compose/restore-drill.sh /usr/local/bin/shipshape-restore-drill
RUN chmod 0755 /docker-entrypoint-initdb.d/10-shipshape-roles.sh /usr/local/bin/shipshape-*
