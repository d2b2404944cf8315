#!/usr/bin/env bash
# Renders nginx/templates/shipshape.conf.template into a site file on stdout, the way the official nginx
# image renders templates: only ${SHIPSHAPE_*} is replaced, nginx's own $variables are left alone.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: SHIPSHAPE_SERVER_NAME=api.example.com render-nginx-site.sh [TEMPLATE] > /etc/nginx/sites-available/shipshape.conf
  SHIPSHAPE_SERVER_NAME   the site's name (required)
  SHIPSHAPE_UPSTREAM      the app's HOST:PORT exactly, or unix:/path (default 127.0.0.1:3000)
  SHIPSHAPE_UPSTREAMS     several app hosts, space-separated: "10.0.0.2:3000 10.0.0.3:3000" (replaces
                          SHIPSHAPE_UPSTREAM; docs/scaling.md)
  SHIPSHAPE_UPSTREAM_INCLUDE  instead of both: a file of weighted `server` lines that canary.sh and blue-green.sh rewrite
  SHIPSHAPE_HTTP_PORT     default 80       SHIPSHAPE_HTTPS_PORT  default 443
  SHIPSHAPE_TLS_CERT      default /etc/letsencrypt/live/$SHIPSHAPE_SERVER_NAME/fullchain.pem
  SHIPSHAPE_TLS_KEY       default /etc/letsencrypt/live/$SHIPSHAPE_SERVER_NAME/privkey.pem
  SHIPSHAPE_ACME_ROOT     default /var/www/letsencrypt (certbot --webroot)
  SHIPSHAPE_PUBLIC_ROOT   default /srv/shipshape/current/public (holds static/)
  SHIPSHAPE_ACCESS_LOG    default /var/log/nginx/shipshape.access.log
  SHIPSHAPE_MAINTENANCE_DIR          default /var/lib/shipshape/maintenance (deploy/maintenance.sh)
  SHIPSHAPE_UPLOAD_DIR    the app's UPLOAD_DIR, served for its X-Accel-Redirect (default /var/lib/shipshape/uploads)
  SHIPSHAPE_MAINTENANCE_RETRY_AFTER  seconds in Retry-After during maintenance (default 120)
USAGE
}

case "${1:-}" in -h | --help) usage; exit 0 ;; esac
if [ -z "${SHIPSHAPE_SERVER_NAME:-}" ]; then usage; exit 64; fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
template="${1:-$here/../nginx/templates/shipshape.conf.template}"

include="${SHIPSHAPE_UPSTREAM_INCLUDE:-}"
if [ -n "$include" ]; then
  # The include replaces the server lines, so the hosts are not read; its path ends up in a directive.
  if ! [[ $include =~ ^/[A-Za-z0-9._/-]+$ ]]; then
    echo "render-nginx-site: SHIPSHAPE_UPSTREAM_INCLUDE '$include' is not an absolute path of plain characters" >&2
    exit 64
  fi
  upstreams=(127.0.0.1:3000)
else
  read -r -a upstreams <<<"${SHIPSHAPE_UPSTREAMS:-${SHIPSHAPE_UPSTREAM:-127.0.0.1:3000}}"
fi
if [ ${#upstreams[@]} -eq 0 ]; then
  echo "render-nginx-site: SHIPSHAPE_UPSTREAMS names no host" >&2
  exit 64
fi
for upstream in "${upstreams[@]}"; do
  # HOST:PORT, [IPv6]:PORT or unix:/path, and nothing that could end the directive.
  if ! [[ $upstream =~ ^([A-Za-z0-9._-]+:[0-9]{1,5}|\[[0-9A-Fa-f:.]+\]:[0-9]{1,5}|unix:/[A-Za-z0-9._/-]+)$ ]]; then
    echo "render-nginx-site: '$upstream' is not HOST:PORT or unix:/path" >&2
    exit 64
  fi
done
if [ "$(printf '%s\n' "${upstreams[@]}" | sort | uniq -d)" != "" ]; then
  echo "render-nginx-site: an upstream is named twice" >&2
  exit 64
fi
export SHIPSHAPE_UPSTREAM="${upstreams[0]}"
export SHIPSHAPE_HTTP_PORT="${SHIPSHAPE_HTTP_PORT:-80}"
export SHIPSHAPE_HTTPS_PORT="${SHIPSHAPE_HTTPS_PORT:-443}"
export SHIPSHAPE_TLS_CERT="${SHIPSHAPE_TLS_CERT:-/etc/letsencrypt/live/$SHIPSHAPE_SERVER_NAME/fullchain.pem}"
export SHIPSHAPE_TLS_KEY="${SHIPSHAPE_TLS_KEY:-/etc/letsencrypt/live/$SHIPSHAPE_SERVER_NAME/privkey.pem}"
export SHIPSHAPE_ACME_ROOT="${SHIPSHAPE_ACME_ROOT:-/var/www/letsencrypt}"
export SHIPSHAPE_PUBLIC_ROOT="${SHIPSHAPE_PUBLIC_ROOT:-/srv/shipshape/current/public}"
export SHIPSHAPE_ACCESS_LOG="${SHIPSHAPE_ACCESS_LOG:-/var/log/nginx/shipshape.access.log}"
export SHIPSHAPE_MAINTENANCE_DIR="${SHIPSHAPE_MAINTENANCE_DIR:-/var/lib/shipshape/maintenance}"
export SHIPSHAPE_UPLOAD_DIR="${SHIPSHAPE_UPLOAD_DIR:-/var/lib/shipshape/uploads}"
export SHIPSHAPE_MAINTENANCE_RETRY_AFTER="${SHIPSHAPE_MAINTENANCE_RETRY_AFTER:-120}"
# Redirects name the HTTPS port only when it is not the default one ($host carries no port).
if [ "$SHIPSHAPE_HTTPS_PORT" = 443 ]; then
  export SHIPSHAPE_HTTPS_PORT_SUFFIX=""
else
  export SHIPSHAPE_HTTPS_PORT_SUFFIX=":$SHIPSHAPE_HTTPS_PORT"
fi

# shellcheck disable=SC2016 # envsubst takes the literal names
variables='${SHIPSHAPE_SERVER_NAME} ${SHIPSHAPE_UPSTREAM} ${SHIPSHAPE_HTTP_PORT} ${SHIPSHAPE_HTTPS_PORT}
${SHIPSHAPE_HTTPS_PORT_SUFFIX} ${SHIPSHAPE_TLS_CERT} ${SHIPSHAPE_TLS_KEY} ${SHIPSHAPE_ACME_ROOT}
${SHIPSHAPE_PUBLIC_ROOT} ${SHIPSHAPE_ACCESS_LOG} ${SHIPSHAPE_MAINTENANCE_DIR} ${SHIPSHAPE_MAINTENANCE_RETRY_AFTER} ${SHIPSHAPE_UPLOAD_DIR}'
# The upstream's server line, once per host (the hosts were checked above: no character awk or nginx reads), or
# an include of the weighted server lines canary.sh and blue-green.sh rewrite.
rendered="$(awk -v hosts="${upstreams[*]}" -v weighted="$include" '
  /^[[:space:]]*server \$\{SHIPSHAPE_UPSTREAM\}/ {
    if (weighted != "") { indent = $0; sub(/server.*/, "", indent); print indent "include " weighted ";"; next }
    count = split(hosts, list, " ")
    for (i = 1; i <= count; i++) { line = $0; sub(/\$\{SHIPSHAPE_UPSTREAM\}/, list[i], line); print line }
    next
  }
  { print }' "$template" | envsubst "$variables")"
# shellcheck disable=SC2016 # a literal ${SHIPSHAPE_...} left behind
if grep -Eq '\$\{SHIPSHAPE_[A-Z_]+\}' <<<"$rendered"; then
  echo "render-nginx-site: the template names a variable this script does not set" >&2
  exit 1
fi
printf '%s\n' "$rendered"
