#!/usr/bin/env bash
# Renders nginx/templates/shipshape.conf.template into a site file on stdout, the way the official nginx
# image renders templates: only ${SHIPSHAPE_*} is replaced, nginx's own $variables are left alone.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: SHIPSHAPE_SERVER_NAME=api.example.com render-nginx-site.sh [TEMPLATE] > /etc/nginx/sites-available/shipshape.conf
  SHIPSHAPE_SERVER_NAME   the site's name (required; PXY-6)
  SHIPSHAPE_UPSTREAM      the app's HOST:PORT exactly, or unix:/path (default 127.0.0.1:3000; PXY-1, SRV-5)
  SHIPSHAPE_HTTP_PORT     default 80       SHIPSHAPE_HTTPS_PORT  default 443
  SHIPSHAPE_TLS_CERT      default /etc/letsencrypt/live/$SHIPSHAPE_SERVER_NAME/fullchain.pem
  SHIPSHAPE_TLS_KEY       default /etc/letsencrypt/live/$SHIPSHAPE_SERVER_NAME/privkey.pem
  SHIPSHAPE_ACME_ROOT     default /var/www/letsencrypt (certbot --webroot; PXY-3)
  SHIPSHAPE_PUBLIC_ROOT   default /srv/shipshape/current/public (holds static/; PXY-2)
  SHIPSHAPE_ACCESS_LOG    default /var/log/nginx/shipshape.access.log
USAGE
}

case "${1:-}" in -h | --help) usage; exit 0 ;; esac
if [ -z "${SHIPSHAPE_SERVER_NAME:-}" ]; then usage; exit 64; fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
template="${1:-$here/../nginx/templates/shipshape.conf.template}"

export SHIPSHAPE_UPSTREAM="${SHIPSHAPE_UPSTREAM:-127.0.0.1:3000}"
export SHIPSHAPE_HTTP_PORT="${SHIPSHAPE_HTTP_PORT:-80}"
export SHIPSHAPE_HTTPS_PORT="${SHIPSHAPE_HTTPS_PORT:-443}"
export SHIPSHAPE_TLS_CERT="${SHIPSHAPE_TLS_CERT:-/etc/letsencrypt/live/$SHIPSHAPE_SERVER_NAME/fullchain.pem}"
export SHIPSHAPE_TLS_KEY="${SHIPSHAPE_TLS_KEY:-/etc/letsencrypt/live/$SHIPSHAPE_SERVER_NAME/privkey.pem}"
export SHIPSHAPE_ACME_ROOT="${SHIPSHAPE_ACME_ROOT:-/var/www/letsencrypt}"
export SHIPSHAPE_PUBLIC_ROOT="${SHIPSHAPE_PUBLIC_ROOT:-/srv/shipshape/current/public}"
export SHIPSHAPE_ACCESS_LOG="${SHIPSHAPE_ACCESS_LOG:-/var/log/nginx/shipshape.access.log}"
# Redirects name the HTTPS port only when it is not the default one ($host carries no port).
if [ "$SHIPSHAPE_HTTPS_PORT" = 443 ]; then
  export SHIPSHAPE_HTTPS_PORT_SUFFIX=""
else
  export SHIPSHAPE_HTTPS_PORT_SUFFIX=":$SHIPSHAPE_HTTPS_PORT"
fi

# shellcheck disable=SC2016 # envsubst takes the literal names
variables='${SHIPSHAPE_SERVER_NAME} ${SHIPSHAPE_UPSTREAM} ${SHIPSHAPE_HTTP_PORT} ${SHIPSHAPE_HTTPS_PORT}
${SHIPSHAPE_HTTPS_PORT_SUFFIX} ${SHIPSHAPE_TLS_CERT} ${SHIPSHAPE_TLS_KEY} ${SHIPSHAPE_ACME_ROOT}
${SHIPSHAPE_PUBLIC_ROOT} ${SHIPSHAPE_ACCESS_LOG}'
rendered="$(envsubst "$variables" <"$template")"
# shellcheck disable=SC2016 # a literal ${SHIPSHAPE_...} left behind
if grep -Eq '\$\{SHIPSHAPE_[A-Z_]+\}' <<<"$rendered"; then
  echo "render-nginx-site: the template names a variable this script does not set" >&2
  exit 1
fi
printf '%s\n' "$rendered"
