#!/usr/bin/env bash
# Deploys one image tag of the compose stack (docker-compose.prod.yml) the way deploy.sh deploys a release on a
# VPS: image present (pulled or built), the old app's latency measured, migrate and app replaced by `up -d`, nginx
# reloaded, smoke test, the new app watched by verify (run inside its container, with the image's own program),
# and on any failure the previous tag brought back the same way.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: compose-deploy.sh TAG        run from the directory holding docker-compose.prod.yml and its .env
  COMPOSE              the Compose command (default "docker compose"; "docker-compose" for v1)
  DOCKER               the container CLI for image and health checks (default docker; podman works)
  COMPOSE_FILE_PATH    default docker-compose.prod.yml
  APP_IMAGE            default shipshape (the image is APP_IMAGE:TAG)
  COMPOSE_IMAGE_SOURCE pull (default) or build (docker build -t APP_IMAGE:TAG . from this checkout)
  COMPOSE_STATE_FILE   where the deployed tag is kept (default .deployed-version); the previous one is the
                       rollback target
  COMPOSE_HEALTH_TIMEOUT  seconds to wait for the app container's health check (default 120)
  SHIPSHAPE_SMOKE_URL  where smoke.sh checks the app (default http://127.0.0.1:${APP_HOST_PORT:-3000})
  SHIPSHAPE_VERIFY=0   skip the watch; VERIFY_* as for verify.sh (window, thresholds); SMOKE_* as for smoke.sh
USAGE
}

[ $# -eq 1 ] || { usage; exit 64; }
case "$1" in -h | --help) usage; exit 0 ;; esac
tag="$1"
[[ "$tag" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || { echo "compose-deploy: TAG must be a plain image tag" >&2; exit 64; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
read -ra compose <<<"${COMPOSE:-docker compose}"
read -ra docker <<<"${DOCKER:-docker}"
compose+=(-f "${COMPOSE_FILE_PATH:-docker-compose.prod.yml}")
image="${APP_IMAGE:-shipshape}"
state="${COMPOSE_STATE_FILE:-.deployed-version}"
smoke_url="${SHIPSHAPE_SMOKE_URL:-http://127.0.0.1:${APP_HOST_PORT:-3000}}"
baseline="$(mktemp)" logs="$(mktemp)"
trap 'rm -f "$baseline" "$logs"' EXIT

log() { printf '%s %s\n' "$(date -u +%H:%M:%SZ)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
record() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"${state}.log"; }

# The verify program of the running app image, against its own metrics listener (never published).
verify_in_app() {
  "${compose[@]}" exec -T app node dist/cli/verify.js \
    --metrics http://127.0.0.1:9464/metrics --ready http://127.0.0.1:3000/health/ready \
    --prometheus "${PROMETHEUS_URL:-}" --interval "${VERIFY_INTERVAL:-5}" \
    --max-error-ratio "${VERIFY_MAX_ERROR_RATIO:-}" --p95-target-ms "${VERIFY_P95_TARGET_MS:-}" \
    --p95-factor "${VERIFY_P95_FACTOR:-}" --p95-factor-floor-ms "${VERIFY_P95_FACTOR_FLOOR_MS:-}" \
    --min-requests "${VERIFY_MIN_REQUESTS:-}" --min-route-requests "${VERIFY_MIN_ROUTE_REQUESTS:-}" "$@"
}

# Brings TAG up (migrate first, as the compose file orders it), waits for health, reloads nginx onto it.
run_tag() {
  local deadline container status
  log "starting $image:$1"
  APP_VERSION="$1" "${compose[@]}" up -d >&2
  deadline=$((SECONDS + ${COMPOSE_HEALTH_TIMEOUT:-120}))
  container="$(APP_VERSION="$1" "${compose[@]}" ps -q app)"
  until status="$("${docker[@]}" inspect -f '{{.State.Health.Status}}' "$container" 2>/dev/null)" && [ "$status" = healthy ]; do
    [ "$SECONDS" -lt "$deadline" ] || { log "the app container is ${status:-gone}, not healthy"; return 1; }
    sleep 2
  done
  APP_VERSION="$1" "${compose[@]}" exec -T nginx nginx -s reload >&2
}

smoke_tag() {
  APP_VERSION="$1" "${compose[@]}" logs --no-color --no-log-prefix app >"$logs" 2>/dev/null || true
  SMOKE_LOG_FILE="$logs" SMOKE_LOG_SINCE="$2" "$here/smoke.sh" "$smoke_url"
}

if ! "${docker[@]}" image inspect "$image:$tag" >/dev/null 2>&1; then
  if [ "${COMPOSE_IMAGE_SOURCE:-pull}" = build ]; then
    "${docker[@]}" build -t "$image:$tag" "$here/.." >&2
  else
    APP_VERSION="$tag" "${compose[@]}" pull app >&2
  fi
fi
old="$(cat "$state" 2>/dev/null || true)"

if [ "${SHIPSHAPE_VERIFY:-1}" = 1 ] && [ -n "$old" ]; then
  log "measuring $old's latency for the comparison"
  if ! APP_VERSION="$old" verify_in_app --window "${VERIFY_BASELINE_WINDOW:-30}" --warmup 0 --baseline /tmp/verify-baseline.json >/dev/null ||
    ! APP_VERSION="$old" "${compose[@]}" exec -T app cat /tmp/verify-baseline.json >"$baseline"; then
    log "no baseline: only the absolute p95 target applies"
  fi
fi

started="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
failed=""
if ! run_tag "$tag"; then
  failed="its health check"
elif ! smoke_tag "$tag" "$started"; then
  failed="its smoke test"
# The baseline goes as an argument: Compose 1.29 on podman never closes an exec's stdin, so --previous /dev/stdin
# waited for ever there.
elif [ "${SHIPSHAPE_VERIFY:-1}" = 1 ] && ! APP_VERSION="$tag" verify_in_app --window "${VERIFY_WINDOW:-60}" --warmup "${VERIFY_WARMUP:-10}" \
  --max-window "${VERIFY_MAX_WINDOW:-${VERIFY_WINDOW:-60}}" --previous-json "$(cat "$baseline")" >/dev/null; then
  failed="its post-deploy verification"
fi

if [ -z "$failed" ]; then
  printf '%s\n' "$tag" >"$state"
  record "deploy $tag ok"
  log "deployed $image:$tag"
  exit 0
fi
record "deploy $tag failed: $failed"
[ -n "$old" ] || die "$tag failed $failed and there is no earlier tag to go back to"
log "$tag failed $failed: rolling back to $old"
started="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
if ! run_tag "$old" || ! smoke_tag "$old" "$started"; then
  die "the rollback to $old failed too: act now (docs/deploy-safety.md)"
fi
record "rollback to $old ok"
die "deploy of $tag failed $failed and was rolled back to $old"
