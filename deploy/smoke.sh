#!/usr/bin/env bash
# Smoke test after a deploy or rollback: the probes, the API's error contract and, when asked, the version.
# Retries until every check passes or SMOKE_TIMEOUT runs out, because a reload rolls workers one at a time.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: smoke.sh URL          e.g. smoke.sh http://127.0.0.1:3000  or  smoke.sh https://api.example.com
  SMOKE_EXPECT_VERSION   fail unless the API reports this version (OpenAPI info.version); unset: not checked
  SMOKE_SAMPLES          version answers that must all agree (default 10; at least the worker count, because
                         during a reload old and new workers answer in turn)
  SMOKE_TIMEOUT          seconds to keep retrying (default 60)
  SMOKE_CA_FILE          CA bundle for an https URL with a private certificate
USAGE
}

[ $# -eq 1 ] || { usage; exit 64; }
case "$1" in -h | --help) usage; exit 0 ;; esac
base="${1%/}"
timeout="${SMOKE_TIMEOUT:-60}"
expect_version="${SMOKE_EXPECT_VERSION:-}"
samples="${SMOKE_SAMPLES:-10}"
curl_opts=(--silent --show-error --max-time 5)
[ -n "${SMOKE_CA_FILE:-}" ] && curl_opts+=(--cacert "$SMOKE_CA_FILE")

body="$(mktemp)"
trap 'rm -f "$body"' EXIT

# Prints the HTTP status of GET $1 and leaves the body in $body; 000 when nothing answered.
status_of() { curl "${curl_opts[@]}" --output "$body" --write-out '%{http_code}' "$base$1" 2>/dev/null || true; }

# One round of checks; prints the first failure and returns 1.
check() {
  local path status
  for path in /health/live /health/ready /health; do
    status="$(status_of "$path")"
    [ "$status" = 200 ] || { echo "GET $path answered $status"; return 1; }
  done
  grep -q '"status":"healthy"' "$body" || { echo "GET /health did not report healthy: $(head -c 300 "$body")"; return 1; }

  # The router and the error handler answer with problem+json (docs/problems.md).
  local type
  type="$(curl "${curl_opts[@]}" --output /dev/null --write-out '%{http_code} %{content_type}' \
    "$base/api/v1/smoke-test-no-such-route" 2>/dev/null || true)"
  case "$type" in "404 application/problem+json"*) ;; *) echo "unknown API route answered '$type'"; return 1 ;; esac

  [ -n "$expect_version" ] || return 0
  local sample running
  for ((sample = 1; sample <= samples; sample++)); do
    status="$(status_of /api/v1/openapi.json)"
    [ "$status" = 200 ] || { echo "GET /api/v1/openapi.json answered $status"; return 1; }
    running="$(node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(0, "utf8")).info.version))' <"$body")"
    [ "$running" = "$expect_version" ] || { echo "version $running answers, $expect_version expected"; return 1; }
  done
}

deadline=$((SECONDS + timeout))
until failure="$(check)"; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "smoke: FAILED against $base: $failure" >&2
    exit 1
  fi
  sleep 1
done
echo "smoke: passed against $base${expect_version:+ (version $expect_version)}" >&2
