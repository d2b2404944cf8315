#!/usr/bin/env bash
# Blue-green deploy on one host: starts VERSION in the idle slot, smoke-tests it directly, switches all traffic
# to it at once through nginx, watches it with verify.sh and switches back at once when that fails. The old
# slot keeps running warm, so `blue-green.sh --back` is an instant switch back by hand.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: sudo blue-green.sh VERSION | --back | --retire
  VERSION    start VERSION in the idle slot, switch all traffic to it, verify, switch back on failure
  --back     send all traffic back to the warm slot (the previous release), at once
  --retire   stop the idle slot once the new release has proven itself
  Settings as for canary.sh (canary.sh --help); SHIPSHAPE_VERIFY=0 skips the watch after the switch.
USAGE
}

[ $# -eq 1 ] || { usage; exit 64; }
case "$1" in -h | --help) usage; exit 0 ;; esac

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/slots.sh
source "$DEPLOY_DIR/slots.sh"
take_deploy_lock
live="$(live_slot)"

if [ "$1" = --back ] || [ "$1" = --retire ]; then
  [ -n "$live" ] || die "no live slot under $SHIPSHAPE_ROOT: nothing was deployed with canary.sh or blue-green.sh"
  idle="$(other_slot "$live")"
  if [ "$1" = --retire ]; then
    stop_slot "$idle"
    record "blue-green retired $idle"
    exit 0
  fi
  systemctl is-active --quiet "shipshape@$idle" 9>&- || die "shipshape@$idle is not running: use blue-green.sh VERSION"
  curl --silent --fail --max-time 5 --output /dev/null "$(slot_url "$idle")/health/ready" ||
    die "shipshape@$idle is not ready: traffic stays on shipshape@$live"
  route_traffic "$idle" 100 "$live"
  set_live_slot "$idle"
  settle_links "$idle" "$live"
  record "blue-green back to $(basename "$(slot_release "$idle")") in $idle"
  exit 0
fi

version="$1"
[[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || { echo "blue-green: VERSION must be a plain tag or commit name" >&2; exit 64; }
prepare_release "$version"
release="$(readlink -f "$SHIPSHAPE_ROOT/releases/$version")"
new="$(other_slot "${live:-green}")"
start_slot "$new" "$release" || { stop_slot "$new"; record "blue-green $version smoke-failed"; die "$version failed its smoke test in shipshape@$new; no traffic reached it"; }

baseline=""
if [ -n "$live" ]; then
  baseline="$SHIPSHAPE_ROOT/.verify-baseline-$live.json"
  measure_baseline "$live" "$baseline"
fi
route_traffic "$new" 100 "$(other_slot "$new")"
if [ "$SHIPSHAPE_VERIFY" = 1 ] && ! verify_slot "$new" "$baseline"; then
  if [ -n "$live" ]; then
    route_traffic "$live" 100 "$new"
    record "blue-green $version verify-failed, back to $live"
    die "$version failed its verification: all traffic is back on shipshape@$live"
  fi
  record "blue-green $version verify-failed"
  die "$version failed its verification and no earlier slot exists to go back to"
fi
set_live_slot "$new"
settle_links "$new" "$live"
record "blue-green $version ok in $new"
log "$version serves all traffic from shipshape@$new${live:+; shipshape@$live stays warm (blue-green.sh --back)}"
