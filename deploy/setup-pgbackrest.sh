#!/usr/bin/env bash
# Sets up point-in-time recovery for the local PostgreSQL cluster, as root, once (provision.sh calls it with
# INSTALL_POSTGRES=1; safe to re-run): pgBackRest with an encrypted repository and a key generated here, WAL
# archiving, the stanza, the backup, off-host copy, file backup and restore drill timers, and a first full backup.
# Conventions: docs/operations.md "Backup conventions"; recovery: docs/disaster-recovery.md.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: sudo setup-pgbackrest.sh
  PG_CLUSTER        the Debian cluster (default 15/main)
  RETENTION_DAYS    days of point-in-time recovery kept (default 30)
  SHIPSHAPE_BIN     where provision.sh installed the deploy scripts (default /srv/shipshape/bin)
USAGE
}

case "${1:-}" in -h | --help) usage; exit 0 ;; "") ;; *) usage; exit 64 ;; esac
[ "$(id -u)" = 0 ] || { echo "setup-pgbackrest: run as root (sudo)" >&2; exit 77; }
cluster="${PG_CLUSTER:-15/main}"
version="${cluster%%/*}"
name="${cluster#*/}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${SHIPSHAPE_BIN:-/srv/shipshape/bin}"
config_path=/etc/pgbackrest
key_file="$config_path/conf.d/shipshape-cipher.conf"
textfile_dir=/var/lib/prometheus/node-exporter
step() { printf '\n== %s\n' "$*" >&2; }
as_postgres() { runuser -u postgres -- env PGBACKREST_CONFIG_PATH="$config_path" "$@"; }

step "packages: pgBackRest, jq and rsync for the scripts, node-exporter for the metrics"
apt-get install -y -qq --no-install-recommends pgbackrest jq rsync openssh-client prometheus-node-exporter
# node-exporter answers on the loopback only; Prometheus on this host (or an SSH tunnel) scrapes it.
if ! grep -q 'web.listen-address' /etc/default/prometheus-node-exporter 2>/dev/null; then
  echo 'ARGS="--web.listen-address=127.0.0.1:9100 --collector.textfile.directory=/var/lib/prometheus/node-exporter"' \
    >>/etc/default/prometheus-node-exporter
  systemctl restart prometheus-node-exporter
fi

step "directories: repository, logs, locks, file archives, metrics"
install -d -m 0750 -o postgres -g postgres /var/lib/pgbackrest /var/log/pgbackrest /var/spool/pgbackrest \
  /var/lib/postgresql/"$version"/restores
# setgid: archives root writes here stay readable by the postgres group, which copies them off the host.
install -d -m 2750 -o root -g postgres /var/backups/shipshape-files
install -d -m 2775 -o root -g postgres "$textfile_dir"
install -d -m 0755 "$config_path" "$config_path/conf.d"

step "configuration: $config_path/pgbackrest.conf (no secret) and WAL archiving in the cluster's conf.d"
port="$(pg_conftool -s "$version" "$name" show port 2>/dev/null || echo 5432)"
export PGBR_REPO_PATH=/var/lib/pgbackrest PGBR_RETENTION_DAYS="${RETENTION_DAYS:-30}" PGBR_LOG_PATH=/var/log/pgbackrest \
  PGBR_LOCK_PATH=/var/spool/pgbackrest PGBR_PG_PATH="/var/lib/postgresql/$version/$name" PGBR_PG_PORT="$port" \
  PGBR_PG_SOCKET=/var/run/postgresql PGBR_CONFIG_PATH="$config_path"
envsubst <"$repo/deploy/pgbackrest/pgbackrest.conf.template" >"$config_path/pgbackrest.conf"
chown root:postgres "$config_path/pgbackrest.conf"
chmod 0640 "$config_path/pgbackrest.conf"
conf_d="/etc/postgresql/$version/$name/conf.d"
install -d -m 0755 -o postgres -g postgres "$conf_d"
envsubst <"$repo/deploy/pgbackrest/postgresql-archive.conf.template" >"$conf_d/shipshape-pgbackrest.conf"

step "the repository key: generated once, kept beside the configuration, never in a backup"
if [ ! -s "$key_file" ]; then
  install -m 0600 -o postgres -g postgres /dev/null "$key_file"
  printf '[global]\nrepo1-cipher-pass=%s\n' "$(openssl rand -base64 48 | tr -d '\n')" >"$key_file"
  echo "setup-pgbackrest: NEW KEY in $key_file: copy it off this host now (docs/disaster-recovery.md, key custody)" >&2
fi

step "PostgreSQL restarted if archive_mode changed, then the stanza and a check"
if [ "$(runuser -u postgres -- psql -tAc 'show archive_mode')" != on ]; then
  pg_ctlcluster "$version" "$name" restart
fi
as_postgres pgbackrest --stanza=shipshape stanza-create
as_postgres pgbackrest --stanza=shipshape check

step "the SSH key the off-host copy uses (put its public half on the backup host)"
ssh_key=/var/lib/postgresql/.ssh/shipshape-offhost
install -d -m 0700 -o postgres -g postgres /var/lib/postgresql/.ssh
[ -f "$ssh_key" ] || runuser -u postgres -- ssh-keygen -q -t ed25519 -N '' -C "shipshape-offhost@$(hostname)" -f "$ssh_key"
backup_env=/etc/shipshape/backup.env
if [ ! -f "$backup_env" ]; then
  install -m 0600 /dev/null "$backup_env"
  cat >"$backup_env" <<CONF
# Read by shipshape-backup-offhost.service (docs/disaster-recovery.md). The backup host's key must be in
# /var/lib/postgresql/.ssh/known_hosts (ssh-keyscan it once and compare the fingerprint).
# OFFHOST_TARGET=shipshape-backup@backup.example.net:/srv/backups/shipshape
OFFHOST_SSH=ssh -i $ssh_key -o BatchMode=yes
CONF
fi

step "timers: full weekly, differential daily, off-host copy every 2 minutes, files daily, restore drill monthly"
# A local cluster backed up by pgBackRest needs no unencrypted nightly dump on the same disk.
systemctl disable --now shipshape-backup.timer 2>/dev/null || true
for unit in shipshape-backup-full shipshape-backup-diff shipshape-backup-offhost shipshape-backup-files shipshape-restore-drill; do
  install -m 0644 "$repo/systemd/$unit.service" "$repo/systemd/$unit.timer" /etc/systemd/system/
done
install -m 0755 "$repo"/deploy/*.sh "$bin/"
systemctl daemon-reload
for unit in shipshape-backup-full shipshape-backup-diff shipshape-backup-offhost shipshape-backup-files shipshape-restore-drill; do
  systemctl enable --now "$unit.timer"
done

step "a first full backup, so recovery is possible from now on"
as_postgres pgbackrest --stanza=shipshape info --output=json | jq -e '.[0].backup | length > 0' >/dev/null ||
  systemctl start shipshape-backup-full.service
as_postgres pgbackrest --stanza=shipshape info
