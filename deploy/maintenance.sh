#!/usr/bin/env bash
# Maintenance mode at the edge: nginx answers the API with 503 problem+json and Retry-After, while the probes,
# static files and operators (bypass header or allow-listed address) still reach the app. Switching is creating
# or removing one file that the nginx site looks at on every request: nothing is reloaded or restarted.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: maintenance.sh on [--message TEXT] | off | status | init | token
  on       answer the API with 503 /problems/maintenance (detail: TEXT) until `off`
  off      serve the API again
  status   print "on" or "off" (and the message); exits 0 either way
  init     create the directory, the operators' bypass secret and the address allow-list (once; provision.sh)
  token    print the bypass secret: curl -H "X-Maintenance-Bypass: $(sudo maintenance.sh token)" ...
  SHIPSHAPE_MAINTENANCE_DIR  the directory the nginx site names (default /var/lib/shipshape/maintenance;
                             ./maintenance beside docker-compose.prod.yml for the compose stack)
USAGE
}

dir="${SHIPSHAPE_MAINTENANCE_DIR:-/var/lib/shipshape/maintenance}"
default_message="The service is down for planned maintenance. Please retry after the time in Retry-After."

die() { echo "maintenance: $*" >&2; exit "${2:-1}"; }

# A JSON string: quotes and backslashes escaped, < and > as \u escapes so nginx's SSI never sees a directive.
json_string() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//</\\u003c}"
  s="${s//>/\\u003e}"
  printf '"%s"' "$s"
}

init() {
  install -d -m 0755 "$dir"
  if [ ! -s "$dir/bypass.map" ]; then
    local token
    token="$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
    (umask 077 && printf '"%s" 1;\n' "$token" >"$dir/bypass.map.new")
    mv "$dir/bypass.map.new" "$dir/bypass.map"
    echo "maintenance: bypass secret generated in $dir/bypass.map (nginx -s reload to load it)" >&2
  fi
  if [ ! -f "$dir/allow.map" ]; then
    cat >"$dir/allow.map" <<'ALLOW'
# Addresses that reach the app during maintenance, one exact address per line as "ADDRESS" 1;
# e.g. "203.0.113.7" 1;  then `nginx -s reload`. Behind Docker's port publishing every client may share
# one address: use the bypass header there.
ALLOW
  fi
}

on() {
  local message="$default_message"
  while [ $# -gt 0 ]; do
    case "$1" in
      --message) [ $# -ge 2 ] || die "--message needs a TEXT" 64; message="$2"; shift 2 ;;
      *) usage; exit 64 ;;
    esac
  done
  [ -n "$message" ] || die "--message must not be empty" 64
  [[ "$message" != *[[:cntrl:]]* ]] || die "--message must be one line of text" 64
  [ -d "$dir" ] || die "$dir does not exist: run 'maintenance.sh init' first (provision.sh does)"
  # The body first, the switch second: nginx never finds the switch without a body behind it.
  printf '{"type":"/problems/maintenance","title":"Service Unavailable","status":503,"detail":%s,"requestId":"<!--# echo var="shipshape_request_id" encoding="url" -->"}\n' \
    "$(json_string "$message")" >"$dir/problem.json.new"
  chmod 0644 "$dir/problem.json.new"
  mv -f "$dir/problem.json.new" "$dir/problem.json"
  touch "$dir/on"
  echo "maintenance: on (the API answers 503; probes, static files and operators pass)" >&2
}

off() {
  rm -f "$dir/on"
  echo "maintenance: off" >&2
}

status() {
  if [ -f "$dir/on" ]; then
    echo on
    sed -n 's/.*"detail":"\(\([^"\\]\|\\.\)*\)".*/\1/p' "$dir/problem.json" 2>/dev/null || true
  else
    echo off
  fi
}

token() {
  [ -r "$dir/bypass.map" ] || die "no readable $dir/bypass.map: run 'maintenance.sh init' (as root)"
  sed -n 's/^"\([A-Za-z0-9]*\)" 1;$/\1/p' "$dir/bypass.map"
}

case "${1:-}" in
  on) shift; on "$@" ;;
  off) [ $# -eq 1 ] || { usage; exit 64; }; off ;;
  status) status ;;
  init) init ;;
  token) token ;;
  -h | --help) usage ;;
  *) usage; exit 64 ;;
esac
