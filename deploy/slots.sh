# shellcheck shell=bash
# Shared by canary.sh and blue-green.sh: sourced after lib.sh, not run. Two slots, blue and green, each a
# shipshape@SLOT unit on its own port running the release its link ROOT/slots/SLOT points at; nginx's upstream
# is an include file of weighted server lines that these functions rewrite and reload. ROOT/live-slot names the
# slot that serves everyone between deploys.

SHIPSHAPE_SLOT_ENV_DIR="${SHIPSHAPE_SLOT_ENV_DIR:-/etc/shipshape}"
SHIPSHAPE_UPSTREAM_FILE="${SHIPSHAPE_UPSTREAM_FILE:-/etc/nginx/shipshape-upstream.conf}"
# shellcheck source=SCRIPTDIR/nginx-reload.sh
source "$DEPLOY_DIR/nginx-reload.sh"

slot_port() { if [ "$1" = blue ]; then echo "${SHIPSHAPE_BLUE_PORT:-3001}"; else echo "${SHIPSHAPE_GREEN_PORT:-3002}"; fi; }
slot_metrics_port() {
  if [ "$1" = blue ]; then echo "${SHIPSHAPE_BLUE_METRICS_PORT:-9465}"; else echo "${SHIPSHAPE_GREEN_METRICS_PORT:-9466}"; fi
}
slot_url() { echo "http://127.0.0.1:$(slot_port "$1")"; }
other_slot() { if [ "$1" = blue ]; then echo green; else echo blue; fi; }
live_slot() { if [ -f "$SHIPSHAPE_ROOT/live-slot" ]; then cat "$SHIPSHAPE_ROOT/live-slot"; fi; }
set_live_slot() { printf '%s\n' "$1" >"$SHIPSHAPE_ROOT/live-slot.new" && mv -T "$SHIPSHAPE_ROOT/live-slot.new" "$SHIPSHAPE_ROOT/live-slot"; }
slot_release() { resolve_link "$SHIPSHAPE_ROOT/slots/$1"; }

# Points SLOT at RELEASE, writes its port settings and (re)starts its unit; then smoke-tests it directly.
start_slot() {
  local slot="$1" release="$2"
  mkdir -p "$SHIPSHAPE_ROOT/slots"
  switch_link "$SHIPSHAPE_ROOT/slots/$slot" "$release"
  (umask 077 && printf 'PORT=%s\nMETRICS_PORT=%s\n' "$(slot_port "$slot")" "$(slot_metrics_port "$slot")" \
    >"$SHIPSHAPE_SLOT_ENV_DIR/slot-$slot.env")
  log "starting shipshape@$slot with $(basename "$release") on port $(slot_port "$slot")"
  mark_release_start
  systemctl restart "shipshape@$slot" 9>&-
  SHIPSHAPE_SMOKE_URL="$(slot_url "$slot")" SMOKE_JOURNAL_UNIT="shipshape@$slot" smoke "$release"
}

stop_slot() { log "stopping shipshape@$1"; systemctl stop "shipshape@$1" 9>&-; }

# Gives SLOT_A PERCENT_A of the traffic and SLOT_B the rest (a slot at 0 is left out), then reloads nginx
# gracefully (reload_nginx): its old workers finish the requests they hold.
route_traffic() {
  local a="$1" share_a="$2" b="$3" share_b=$((100 - $2)) file="$SHIPSHAPE_UPSTREAM_FILE"
  {
    printf '# written by deploy/%s at %s: %s %s %%, %s %s %%\n' "$(basename "$0")" "$(date -u +%FT%TZ)" "$a" "$share_a" "$b" "$share_b"
    [ "$share_a" -eq 0 ] || printf 'server 127.0.0.1:%s weight=%s;\n' "$(slot_port "$a")" "$share_a"
    [ "$share_b" -eq 0 ] || printf 'server 127.0.0.1:%s weight=%s;\n' "$(slot_port "$b")" "$share_b"
  } >"$file.new"
  cp "$file" "$file.last" 2>/dev/null || true
  mv -T "$file.new" "$file"
  if ! "${nginx_command[@]}" -t -q; then
    [ -f "$file.last" ] && mv -T "$file.last" "$file"
    die "nginx refused the new upstream; the previous one is back in place"
  fi
  reload_nginx
  log "traffic: $a $share_a %, $b $share_b %"
}

# Watches SLOT's release through its own metrics port and readiness, against the baseline file in $2.
verify_slot() {
  local slot="$1" baseline="$2"
  VERIFY_METRICS_URL="http://127.0.0.1:$(slot_metrics_port "$slot")/metrics" \
    VERIFY_READY_URL="$(slot_url "$slot")/health/ready" \
    verify_release "$(slot_release "$slot")" ${baseline:+--previous "$baseline"} >/dev/null
}

# The live slot's p95 by route before the new one gets traffic.
measure_baseline() {
  local slot="$1" file="$2"
  rm -f "$file"
  log "measuring shipshape@$slot's latency for the comparison"
  VERIFY_METRICS_URL="http://127.0.0.1:$(slot_metrics_port "$slot")/metrics" VERIFY_READY_URL="" \
    verify_release "$(slot_release "$slot")" --baseline "$file" >/dev/null ||
    log "no baseline: only the absolute p95 target applies"
}

# Builds VERSION (deploy.sh --build-only, under this script's lock) and migrates with it.
prepare_release() {
  local version="$1"
  "$DEPLOY_DIR/deploy.sh" --build-only "$version" >&2
  load_env_file
  log "migrating the database with $version"
  (load_migrate_env && cd "$SHIPSHAPE_ROOT/releases/$version" && node dist/cli/migrate.js latest) >&2
}

# After a new slot took all traffic: current/previous follow, for the tools that read them.
settle_links() {
  local new="$1" old="$2"
  [ -z "$old" ] || switch_link "$SHIPSHAPE_ROOT/previous" "$(slot_release "$old")"
  switch_link "$SHIPSHAPE_ROOT/current" "$(slot_release "$new")"
}
