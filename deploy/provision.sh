#!/usr/bin/env bash
# Provisions a fresh Debian 12 / Ubuntu 22.04+ VPS for shipshape, as root, once. Safe to re-run: every step checks before it changes anything. With systemd/, the
# compose files, kubernetes/ and monitoring/ it is the infrastructure as code: no step is done by hand.
# Run it from a checkout of the repository: sudo DOMAIN=api.example.com CERTBOT_EMAIL=ops@example.com deploy/provision.sh
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: sudo DOMAIN=api.example.com CERTBOT_EMAIL=ops@example.com provision.sh
  DOMAIN              the site's DNS name, already pointing at this host (required)
  CERTBOT_EMAIL       Let's Encrypt account e-mail for expiry notices (required unless SKIP_CERTBOT=1)
  DEPLOY_USER         the SSH user that deploys (default deploy), gets DEPLOY_SSH_KEY as its authorized key
  DEPLOY_SSH_KEY      a public key line for DEPLOY_USER (default: root's first authorized key)
  APP_USER            the unprivileged user the service runs as (default shipshape)
  NODE_MAJOR          Node.js major version from NodeSource (default 24)
  INSTALL_POSTGRES=1  also install PostgreSQL here, with a dedicated role and database (default 0)
  INSTALL_MONITORING=1  also run Prometheus and Alertmanager here with monitoring/'s rules and routes (default 0)
  SKIP_CERTBOT=1      skip the certificate (a host without public DNS yet); nginx then keeps its bootstrap site
USAGE
}

case "${1:-}" in -h | --help) usage; exit 0 ;; esac
[ $# -eq 0 ] || { usage; exit 64; }
[ "$(id -u)" = 0 ] || { echo "provision: run as root (sudo)" >&2; exit 77; }
: "${DOMAIN:?set DOMAIN (see --help)}"
skip_certbot="${SKIP_CERTBOT:-0}"
[ "$skip_certbot" = 1 ] || : "${CERTBOT_EMAIL:?set CERTBOT_EMAIL (see --help)}"
deploy_user="${DEPLOY_USER:-deploy}"
app_user="${APP_USER:-shipshape}"
node_major="${NODE_MAJOR:-24}"
root_dir=/srv/shipshape
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

step() { printf '\n== %s\n' "$*" >&2; }

step "packages updated, then the ones shipshape needs"
apt-get update -qq
apt-get -y -qq upgrade
apt-get install -y -qq --no-install-recommends ca-certificates curl gnupg git nginx ufw unattended-upgrades \
  certbot postgresql-client gettext-base sudo openssh-server

step "unattended security upgrades"
cat >/etc/apt/apt.conf.d/20auto-upgrades <<'CONF'
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
CONF

step "Node.js $node_major from NodeSource's signed apt repository"
if ! node --version 2>/dev/null | grep -q "^v$node_major\."; then
  install -d -m 0755 /etc/apt/keyrings
  curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
  echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_$node_major.x nodistro main" \
    >/etc/apt/sources.list.d/nodesource.list
  apt-get update -qq
  apt-get install -y -qq nodejs
fi
node --version

step "users: $app_user runs the app (no shell, no home), $deploy_user deploys over SSH"
id "$app_user" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$app_user"
id "$deploy_user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$deploy_user"
key="${DEPLOY_SSH_KEY:-$(head -n 1 /root/.ssh/authorized_keys 2>/dev/null || true)}"
if [ -n "$key" ]; then
  install -d -m 0700 -o "$deploy_user" -g "$deploy_user" "/home/$deploy_user/.ssh"
  touch "/home/$deploy_user/.ssh/authorized_keys"
  grep -qxF "$key" "/home/$deploy_user/.ssh/authorized_keys" || echo "$key" >>"/home/$deploy_user/.ssh/authorized_keys"
  chown "$deploy_user:$deploy_user" "/home/$deploy_user/.ssh/authorized_keys"
  chmod 0600 "/home/$deploy_user/.ssh/authorized_keys"
fi
# The deploy user may run the deploy scripts as root (they read the root-only env file) and nothing else;
# SETENV lets it pass SHIPSHAPE_* settings. Whoever deploys code runs that code, so guard this account like root.
cat >/etc/sudoers.d/shipshape-deploy <<CONF
$deploy_user ALL=(root) NOPASSWD:SETENV: $root_dir/bin/deploy.sh, $root_dir/bin/rollback.sh, $root_dir/bin/backup.sh, $root_dir/bin/maintenance.sh
CONF
chmod 0440 /etc/sudoers.d/shipshape-deploy
visudo -cq

step "SSH: keys only, no root password login"
if [ -s "/home/$deploy_user/.ssh/authorized_keys" ]; then
  cat >/etc/ssh/sshd_config.d/50-shipshape.conf <<'CONF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
CONF
  sshd -t
  systemctl reload ssh
else
  echo "provision: $deploy_user has no SSH key yet: password logins left as they are, to avoid a lock-out" >&2
fi

step "firewall: only 22, 80 and 443"
ufw default deny incoming
ufw default allow outgoing
ufw allow 22/tcp
ufw allow 80/tcp
ufw allow 443/tcp
ufw --force enable
ufw status verbose

step "directories, the root-only environment file and the deploy scripts"
install -d -m 0755 "$root_dir" "$root_dir/releases" "$root_dir/bin" /var/www/letsencrypt
install -d -m 0700 /etc/shipshape
install -d -m 0700 -o "$app_user" -g "$app_user" /var/backups/shipshape
# Attachments: the app writes them, nginx (www-data) reads them through the group; setgid keeps that group on
# every directory the app creates below. The unit names this path in ReadWritePaths, so it must exist.
install -d -m 0755 /var/lib/shipshape
install -d -m 2750 -o "$app_user" -g www-data /var/lib/shipshape/uploads
install -m 0755 "$repo"/deploy/*.sh "$root_dir/bin/"
env_file=/etc/shipshape/shipshape.env
if [ ! -f "$env_file" ]; then
  install -m 0600 /dev/null "$env_file"
  cat >"$env_file" <<CONF
APP_ENV=production
HOST=127.0.0.1
PORT=3000
TRUST_PROXY=1
SECRET_KEY=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')
CORS_ORIGINS=https://$DOMAIN
WEB_CONCURRENCY=2
# DATABASE_URL=postgres://shipshape_app:PASSWORD@127.0.0.1:5432/shipshape (the runtime role; docs/deploy-vps.md)
CONF
fi
chown root:root "$env_file"
chmod 0600 "$env_file"

if [ "${INSTALL_POSTGRES:-0}" = 1 ]; then
  step "PostgreSQL: the database, its owner role for migrations and the app's runtime role"
  apt-get install -y -qq postgresql
  runuser -u postgres -- psql -tAc "select 1 from pg_database where datname = 'shipshape'" | grep -q 1 ||
    runuser -u postgres -- createdb shipshape
  # The migrate step connects as the owner (migrate.env, read by deploy.sh); the service as the runtime role,
  # which cannot change the schema. New passwords only when migrate.env is new; the grants are re-applied.
  migrate_env=/etc/shipshape/migrate.env
  if [ ! -f "$migrate_env" ]; then
    owner_password="$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
    runtime_password="$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
    SHIPSHAPE_OWNER_PASSWORD="$owner_password" SHIPSHAPE_RUNTIME_PASSWORD="$runtime_password" "$repo/deploy/create-db-roles.sh" shipshape
    install -m 0600 /dev/null "$migrate_env.new"
    echo "DATABASE_URL=postgres://shipshape:$owner_password@127.0.0.1:5432/shipshape" >"$migrate_env.new"
    sed -i '/^#* *DATABASE_URL=/d' "$env_file"
    echo "DATABASE_URL=postgres://shipshape_app:$runtime_password@127.0.0.1:5432/shipshape" >>"$env_file"
    mv "$migrate_env.new" "$migrate_env"
  else
    "$repo/deploy/create-db-roles.sh" shipshape
  fi
fi

step "systemd units and journald retention"
install -m 0644 "$repo"/systemd/shipshape.service "$repo"/systemd/shipshape-backup.service \
  "$repo"/systemd/shipshape-backup.timer "$repo"/systemd/shipshape-purge.service \
  "$repo"/systemd/shipshape-purge.timer /etc/systemd/system/
install -d -m 0755 /etc/systemd/journald.conf.d
install -m 0644 "$repo"/systemd/journald.conf.d/shipshape.conf /etc/systemd/journald.conf.d/
systemctl restart systemd-journald
systemctl daemon-reload
# Enabled at boot; it starts with the first deploy (deploy.sh), once a release exists.
systemctl enable shipshape.service
systemctl enable --now shipshape-backup.timer
# The retention purge (docs/data-retention.md); the job runner does the same hourly when JOBS_ENABLED.
systemctl enable --now shipshape-purge.timer

step "node-exporter: host metrics, the shipshape units and the textfile directory, on 127.0.0.1:9100"
apt-get install -y -qq --no-install-recommends prometheus-node-exporter
# setup-pgbackrest.sh lets the postgres group write here; a re-run must not take that back.
[ -d /var/lib/prometheus/node-exporter ] || install -d -m 0755 /var/lib/prometheus/node-exporter
node_exporter_args="$repo/monitoring/node-exporter/prometheus-node-exporter.default"
if ! cmp -s "$node_exporter_args" /etc/default/prometheus-node-exporter; then
  install -m 0644 "$node_exporter_args" /etc/default/prometheus-node-exporter
  systemctl restart prometheus-node-exporter
fi
systemctl enable --now prometheus-node-exporter

[ "${INSTALL_POSTGRES:-0}" != 1 ] || "$repo/deploy/setup-pgbackrest.sh" # PITR, encrypted and off-host backups

if [ "${INSTALL_MONITORING:-0}" = 1 ]; then
  step "Prometheus and Alertmanager on 127.0.0.1, with the shipped rules and routes"
  apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager prometheus-blackbox-exporter
  install -m 0644 "$repo"/monitoring/prometheus/alerts.yml "$repo"/monitoring/prometheus/backup-alerts.yml \
    "$repo"/monitoring/prometheus/host-alerts.yml /etc/prometheus/
  sed "s/api\.example\.com/$DOMAIN/g" "$repo/monitoring/prometheus/prometheus.yml" >/etc/prometheus/prometheus.yml.new
  mv /etc/prometheus/prometheus.yml.new /etc/prometheus/prometheus.yml
  install -m 0644 "$repo/monitoring/blackbox/blackbox.yml" /etc/prometheus/blackbox.yml
  install -d -m 0755 /etc/prometheus/templates
  install -m 0644 "$repo"/monitoring/alertmanager/alertmanager.yml /etc/prometheus/alertmanager.yml
  install -m 0644 "$repo"/monitoring/alertmanager/templates/*.tmpl /etc/prometheus/templates/
  # The receivers' secrets: empty files until the operator writes the PagerDuty key and the chat webhook URL.
  install -d -m 0750 -o root -g prometheus /etc/alertmanager/secrets
  for secret in pagerduty-routing-key chat-webhook-url; do
    [ -f "/etc/alertmanager/secrets/$secret" ] || install -m 0640 -o root -g prometheus /dev/null "/etc/alertmanager/secrets/$secret"
  done
  echo 'ARGS="--web.listen-address=127.0.0.1:9090"' >/etc/default/prometheus
  echo 'ARGS="--web.listen-address=127.0.0.1:9093 --cluster.listen-address="' >/etc/default/prometheus-alertmanager
  echo 'ARGS="--web.listen-address=127.0.0.1:9115 --config.file=/etc/prometheus/blackbox.yml"' \
    >/etc/default/prometheus-blackbox-exporter
  promtool check config /etc/prometheus/prometheus.yml
  amtool check-config /etc/prometheus/alertmanager.yml
  systemctl enable prometheus prometheus-alertmanager prometheus-blackbox-exporter
  systemctl restart prometheus prometheus-alertmanager prometheus-blackbox-exporter
fi

step "nginx: the default site off, the shipshape snippets in"
rm -f /etc/nginx/sites-enabled/default
install -d -m 0755 /etc/nginx/snippets
install -m 0644 "$repo"/nginx/snippets/*.conf /etc/nginx/snippets/
# Maintenance mode's directory, with the operators' bypass secret generated here, once (deploy/maintenance.sh).
"$repo/deploy/maintenance.sh" init
site=/etc/nginx/sites-available/shipshape.conf
cert="/etc/letsencrypt/live/$DOMAIN/fullchain.pem"
if [ ! -f "$cert" ]; then
  # Bootstrap: port 80 answers ACME challenges only, until the certificate exists.
  cat >/etc/nginx/sites-enabled/shipshape-acme.conf <<CONF
server {
    listen 80 default_server;
    server_name $DOMAIN;
    server_tokens off;
    location /.well-known/acme-challenge/ { root /var/www/letsencrypt; }
    location / { return 404; }
}
CONF
  nginx -t
  systemctl reload-or-restart nginx
fi

if [ "$skip_certbot" != 1 ]; then
  step "TLS certificate from Let's Encrypt (webroot, so renewals never stop nginx) and a tested renewal"
  if [ ! -f "$cert" ]; then
    certbot certonly --webroot -w /var/www/letsencrypt -d "$DOMAIN" --email "$CERTBOT_EMAIL" \
      --agree-tos --no-eff-email --non-interactive
  fi
  install -d -m 0755 /etc/letsencrypt/renewal-hooks/deploy
  printf '#!/bin/sh\nsystemctl reload nginx\n' >/etc/letsencrypt/renewal-hooks/deploy/reload-nginx
  chmod 0755 /etc/letsencrypt/renewal-hooks/deploy/reload-nginx
  rm -f /etc/nginx/sites-enabled/shipshape-acme.conf
  SHIPSHAPE_SERVER_NAME="$DOMAIN" "$repo/deploy/render-nginx-site.sh" >"$site"
  ln -sfn "$site" /etc/nginx/sites-enabled/shipshape.conf
  nginx -t
  systemctl reload nginx
  certbot renew --dry-run
fi

step "done"
cat >&2 <<DONE
Next (docs/deploy-vps.md):
  1. put DATABASE_URL (the runtime role's) in $env_file and the owner role's in /etc/shipshape/migrate.env
     (root:root 0600; deploy/create-db-roles.sh creates both roles)
  2. sudo SHIPSHAPE_REPO=https://github.com/YOU/shipshape.git $root_dir/bin/deploy.sh v1.0.0
  3. curl -sI https://$DOMAIN/health
  4. with INSTALL_MONITORING=1: the PagerDuty key and chat webhook URL in /etc/alertmanager/secrets/ (docs/alerting.md)
DONE
