#!/usr/bin/env bash
# Smoke test after a deploy or rollback: the probes, the API's error contract, when asked the version, a real
# user's flow with a dedicated smoke account (log in, create, read, delete a note), and then the service's own
# logs: any error line the release wrote since it started fails the smoke. Retries the checks until they pass or
# SMOKE_TIMEOUT runs out, because a reload rolls workers one at a time; the log check runs once, at the end.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: smoke.sh URL          e.g. smoke.sh http://127.0.0.1:3000  or  smoke.sh https://api.example.com
  SMOKE_EXPECT_VERSION   fail unless the API reports this version (OpenAPI info.version); unset: not checked
  SMOKE_SAMPLES          version answers that must all agree (default 10; at least the worker count, because
                         during a reload old and new workers answer in turn)
  SMOKE_TIMEOUT          seconds to keep retrying (default 60)
  SMOKE_CA_FILE          CA bundle for an https URL with a private certificate
  SMOKE_EMAIL, SMOKE_PASSWORD   the smoke account (create it once; it only ever holds the smoke's own notes);
                         or SMOKE_CREDENTIALS_FILE with SMOKE_EMAIL=... and SMOKE_PASSWORD=... lines (root 0600).
                         Unset: the user flow is skipped, and says so
  SMOKE_LOGS             1 (default) checks the logs, 0 skips the check
  SMOKE_LOG_SINCE        ISO time the release started serving (deploy.sh passes the switch time); unset: 10
                         minutes ago
  SMOKE_LOG_FILE         read the service's JSON log lines from this file (a drill); else journalctl -u
                         SMOKE_JOURNAL_UNIT (default shipshape). Error lines are level error or fatal (pino >= 50),
                         of SMOKE_EXPECT_VERSION's release when it is set
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

if [ -n "${SMOKE_CREDENTIALS_FILE:-}" ]; then
  while IFS='=' read -r key value || [ -n "$key" ]; do
    case "$key" in SMOKE_EMAIL | SMOKE_PASSWORD) export "$key=$value" ;; esac
  done <"$SMOKE_CREDENTIALS_FILE"
fi

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

# A field of the JSON in $body, by a dotted path; empty when it is missing.
field() { node -e 'let v = JSON.parse(require("fs").readFileSync(0, "utf8")); for (const k of process.argv[1].split(".")) v = v?.[k]; process.stdout.write(v == null ? "" : String(v))' "$1" <"$body" 2>/dev/null || true; }
json() { node -e 'const [k1, v1, k2, v2] = process.argv.slice(1); process.stdout.write(JSON.stringify({ [k1]: v1, [k2]: v2 }))' "$@"; }
# Prints the status of METHOD PATH [JSON BODY] with the smoke's token, leaving the body in $body.
api() {
  local args=(--request "$1" --output "$body" --write-out '%{http_code}' -H 'Accept: application/json')
  [ -n "${token:-}" ] && args+=(-H "Authorization: Bearer $token")
  [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  curl "${curl_opts[@]}" "${args[@]}" "$base$2" 2>/dev/null || true
}

# The key user flow, as a client does it: log in, write a note, read it back, delete it, see it gone, log out.
user_flow() {
  local status id title
  token=""
  status="$(api POST /api/v1/auth/login "$(json email "$SMOKE_EMAIL" password "$SMOKE_PASSWORD")")"
  [ "$status" = 200 ] || { echo "log in as the smoke account answered $status"; return 1; }
  token="$(field token)"
  title="smoke $(date -u +%Y-%m-%dT%H:%M:%SZ) $$"
  status="$(api POST /api/v1/notes "$(json title "$title" body 'written and deleted by smoke.sh')")"
  [ "$status" = 201 ] || { echo "creating a note answered $status"; return 1; }
  id="$(field note.id)"
  status="$(api GET "/api/v1/notes/$id")"
  if [ "$status" != 200 ] || [ "$(field note.title)" != "$title" ]; then
    echo "reading the note back answered $status"
    return 1
  fi
  status="$(api DELETE "/api/v1/notes/$id")"
  [ "$status" = 204 ] || { echo "deleting the note answered $status"; return 1; }
  status="$(api GET "/api/v1/notes/$id")"
  [ "$status" = 404 ] || { echo "the deleted note still answered $status"; return 1; }
  api POST /api/v1/auth/logout >/dev/null
}

# The service's log lines since the release started: a file (drills) or the journal (a host).
service_logs() {
  if [ -n "${SMOKE_LOG_FILE:-}" ]; then
    cat "$SMOKE_LOG_FILE"
  else
    journalctl --quiet --no-pager -o cat -u "${SMOKE_JOURNAL_UNIT:-shipshape}" --since "@$(date -d "$since" +%s)"
  fi
}

# Counts error lines (pino level error/fatal, or >= 50) written since $since, by SMOKE_EXPECT_VERSION's release
# when set, and prints the first few.
logged_errors() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const [since, version] = process.argv.slice(1);
    const lines = require("fs").readFileSync(0, "utf8").split("\n");
    const errors = [];
    for (const line of lines) {
      let entry;
      try { entry = JSON.parse(line); } catch { continue; }
      const level = typeof entry.level === "number" ? entry.level : { error: 50, fatal: 60 }[entry.level] ?? 0;
      if (level < 50 || (typeof entry.time === "string" && entry.time < since)) continue;
      if (version && entry.version && entry.version !== version) continue;
      errors.push(line.slice(0, 300));
    }
    if (errors.length > 0) {
      console.log(`${errors.length} error line(s) logged since ${since}; the first: ${errors.slice(0, 3).join(" | ")}`);
      process.exit(1);
    }' "$since" "$expect_version"
}

flow=skipped
[ -n "${SMOKE_EMAIL:-}" ] && [ -n "${SMOKE_PASSWORD:-}" ] && flow=on
deadline=$((SECONDS + timeout))
until failure="$(check && { [ "$flow" = skipped ] || user_flow; })"; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "smoke: FAILED against $base: $failure" >&2
    exit 1
  fi
  sleep 1
done
[ "$flow" = on ] || echo "smoke: user flow skipped (no SMOKE_EMAIL and SMOKE_PASSWORD)" >&2

logs="${SMOKE_LOGS:-1}"
if [ "$logs" = 1 ] && [ -z "${SMOKE_LOG_FILE:-}" ] && ! command -v journalctl >/dev/null; then
  echo "smoke: log check skipped: no journalctl here and no SMOKE_LOG_FILE" >&2
  logs=0
fi
if [ "$logs" = 1 ]; then
  since="${SMOKE_LOG_SINCE:-$(date -u -d '10 minutes ago' +%Y-%m-%dT%H:%M:%S.000Z)}"
  if ! failure="$(service_logs | logged_errors)"; then
    echo "smoke: FAILED against $base: the service logged errors: $failure" >&2
    exit 1
  fi
fi
checked="probes"
[ "$flow" = on ] && checked+=", user flow"
[ "$logs" = 1 ] && checked+=", logs clean"
echo "smoke: passed against $base${expect_version:+ (version $expect_version)}: $checked" >&2
