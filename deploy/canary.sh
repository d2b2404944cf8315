#!/usr/bin/env bash
# Canary deploy on one host: starts VERSION in the idle slot beside the live one, then moves traffic to it in
# steps through nginx's weighted upstream, watching the new instance with verify.sh at each step; the first
# failed step sends all traffic back to the live release and stops the canary.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: sudo canary.sh VERSION
  CANARY_STEPS              percentages of traffic for the new release, in order (default "5 25 50 100")
  VERIFY_*                  each step's watch (verify.sh --help); VERIFY_MAX_WINDOW lets a small step wait
                            for enough requests
  SHIPSHAPE_UPSTREAM_FILE   the upstream include nginx's site reads (default /etc/nginx/shipshape-upstream.conf)
  SHIPSHAPE_NGINX           the nginx command (default nginx), run with -t and -s reload
  SHIPSHAPE_NGINX_PID_FILE  nginx's master pid (default /run/nginx.pid): each reload returns once the workers it
                            replaced have exited, at most SHIPSHAPE_NGINX_RELOAD_TIMEOUT seconds (default 30)
  SHIPSHAPE_SLOT_ENV_DIR    where slot-blue.env and slot-green.env go (default /etc/shipshape)
  SHIPSHAPE_BLUE_PORT, SHIPSHAPE_GREEN_PORT (3001, 3002), SHIPSHAPE_*_METRICS_PORT (9465, 9466)
  SHIPSHAPE_ROOT, SHIPSHAPE_REPO, SHIPSHAPE_ENV_FILE, SHIPSHAPE_MIGRATE_ENV_FILE, SMOKE_*: as for deploy.sh
USAGE
}

[ $# -eq 1 ] || { usage; exit 64; }
case "$1" in -h | --help) usage; exit 0 ;; esac
version="$1"
[[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || { echo "canary: VERSION must be a plain tag or commit name" >&2; exit 64; }

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/slots.sh
source "$DEPLOY_DIR/slots.sh"
read -ra steps <<<"${CANARY_STEPS:-5 25 50 100}"
take_deploy_lock

prepare_release "$version"
release="$(readlink -f "$SHIPSHAPE_ROOT/releases/$version")"
live="$(live_slot)"
new="$(other_slot "${live:-green}")"

start_slot "$new" "$release" || { stop_slot "$new"; record "canary $version smoke-failed"; die "$version failed its smoke test in shipshape@$new; no traffic reached it"; }
if [ -z "$live" ]; then
  route_traffic "$new" 100 "$(other_slot "$new")"
  set_live_slot "$new"
  settle_links "$new" ""
  record "canary $version ok (first release in slot $new)"
  exit 0
fi

baseline="$SHIPSHAPE_ROOT/.verify-baseline-$live.json"
measure_baseline "$live" "$baseline"
for share in "${steps[@]}"; do
  route_traffic "$new" "$share" "$live"
  if ! verify_slot "$new" "$baseline"; then
    route_traffic "$live" 100 "$new"
    stop_slot "$new"
    record "canary $version failed at $share %"
    die "canary $version failed its verification at $share % of traffic: all traffic is back on $(basename "$(slot_release "$live")")"
  fi
  log "canary $version passed at $share %"
done

set_live_slot "$new"
settle_links "$new" "$live"
record "canary $version ok"
log "canary $version serves all traffic from shipshape@$new; shipshape@$live stays warm (blue-green.sh --back)"
