#!/usr/bin/env bash
# Post-deploy verification: watches the running release for a window through its own Prometheus metrics (5xx
# ratio, p95 by route against a target and against the previous release), its readiness and, when
# PROMETHEUS_URL is set, the alerts that start firing; exits 1 naming the first reason to roll back.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: verify.sh [--baseline FILE | --previous FILE]
  --baseline FILE   before a switch: measure the running release's p95 by route into FILE, judge nothing
  --previous FILE   judge the p95 factor against that baseline (without it only the absolute target counts)
  VERIFY_METRICS_URL          default http://127.0.0.1:${METRICS_PORT:-9464}/metrics
  VERIFY_READY_URL            default ${SHIPSHAPE_SMOKE_URL:-http://127.0.0.1:3000}/health/ready ('' skips it)
  PROMETHEUS_URL              when set, an alert that starts firing during the window fails the release
  VERIFY_WINDOW               seconds to watch (default 60; VERIFY_BASELINE_WINDOW for --baseline, default 30)
  VERIFY_MAX_WINDOW           watch on, up to this many seconds, while fewer than VERIFY_MIN_REQUESTS arrived
                              (default: VERIFY_WINDOW; a canary's small share of traffic needs longer)
  VERIFY_INTERVAL             seconds between looks (default 5)
  VERIFY_WARMUP               latency counts only from this many seconds in (default 10; 0 for --baseline):
                              a cold release is slow for its first requests. Errors count at once
  VERIFY_MAX_ERROR_RATIO      fail above this 5xx share (default 0.01: under 1 % passes)
  VERIFY_P95_TARGET_MS        fail when a route's p95 is above it (default 2000)
  VERIFY_P95_FACTOR           fail when a route's p95 is above this many times the previous release's (default 3)
  VERIFY_P95_FACTOR_FLOOR_MS  the factor is judged only above this p95 (default 50)
  VERIFY_MIN_REQUESTS         the error rate is judged over at least this many requests (default 100)
  VERIFY_MIN_ROUTE_REQUESTS   a route's p95 is judged over at least this many requests (default 20)
  VERIFY_READY_FAILURES       consecutive failed readiness probes that fail (default 2)
  VERIFY_CLI                  the verify program (default: dist/cli/verify.js of VERIFY_RELEASE, of the
                              current release, or of this checkout)
USAGE
}

mode=()
window="${VERIFY_WINDOW:-60}"
warmup="${VERIFY_WARMUP:-10}"
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --baseline) [ $# -eq 2 ] || { usage; exit 64; }; mode=(--baseline "$2"); window="${VERIFY_BASELINE_WINDOW:-30}"; warmup=0 ;;
  --previous) [ $# -eq 2 ] || { usage; exit 64; }; mode=(--previous "$2") ;;
  "") [ $# -eq 0 ] || { usage; exit 64; } ;;
  *) usage; exit 64 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cli="${VERIFY_CLI:-}"
if [ -z "$cli" ]; then
  for candidate in "${VERIFY_RELEASE:-/nonexistent}/dist/cli/verify.js" \
    "${SHIPSHAPE_ROOT:-/srv/shipshape}/current/dist/cli/verify.js" "$here/../dist/cli/verify.js"; do
    if [ -f "$candidate" ]; then cli="$candidate"; break; fi
  done
fi
[ -n "$cli" ] || { echo "verify: FAILED: no dist/cli/verify.js found (set VERIFY_CLI)" >&2; exit 1; }

ready_url="${VERIFY_READY_URL-${SHIPSHAPE_SMOKE_URL:-http://127.0.0.1:3000}/health/ready}"
exec node "$cli" \
  --metrics "${VERIFY_METRICS_URL:-http://127.0.0.1:${METRICS_PORT:-9464}/metrics}" \
  --ready "$ready_url" \
  --prometheus "${PROMETHEUS_URL:-}" \
  --window "$window" \
  --max-window "${VERIFY_MAX_WINDOW:-$window}" \
  --warmup "$warmup" \
  --interval "${VERIFY_INTERVAL:-5}" \
  --max-error-ratio "${VERIFY_MAX_ERROR_RATIO:-}" \
  --p95-target-ms "${VERIFY_P95_TARGET_MS:-}" \
  --p95-factor "${VERIFY_P95_FACTOR:-}" \
  --p95-factor-floor-ms "${VERIFY_P95_FACTOR_FLOOR_MS:-}" \
  --min-requests "${VERIFY_MIN_REQUESTS:-}" \
  --min-route-requests "${VERIFY_MIN_ROUTE_REQUESTS:-}" \
  --ready-failures "${VERIFY_READY_FAILURES:-2}" \
  "${mode[@]}"
