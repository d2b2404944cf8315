#!/usr/bin/env bash
# CI step: migrations that cannot strand a rollback. The migration linter over migrations/, then old code on the
# new schema: the previous release is built from git, a fresh PostgreSQL 15 database is migrated with THIS
# tree's migrations, and the previous release's built app must pass the user flow (scripts/api-smoke-flow.mjs)
# on it. "Previous release": the newest v* tag reachable from HEAD's first parent, else that parent itself (on
# main, the state before this change landed); SHIPSHAPE_PREVIOUS_RELEASE=<ref> names another.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

apt_install git postgresql postgresql-client

npm run lint:migrations

fail_or_skip() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL migration-safety: $*" >&2
    exit 1
  fi
  echo "SKIP migration-safety (old code on the new schema): $*"
  exit 0
}

if [ "$(git rev-parse --is-shallow-repository 2>/dev/null || echo none)" != false ]; then
  fail_or_skip "this is not a full git clone (shallow or no .git): clone with full history (fetch-depth: 0)"
fi
previous="${SHIPSHAPE_PREVIOUS_RELEASE:-}"
if [ -z "$previous" ]; then
  if ! git rev-parse --verify --quiet 'HEAD^' >/dev/null; then
    echo "migration-safety: HEAD is the first commit: there is no previous release to keep working"
    exit 0
  fi
  previous="$(git describe --tags --abbrev=0 --match 'v*' 'HEAD^' 2>/dev/null || git rev-parse 'HEAD^')"
fi
commit="$(git rev-parse --verify "$previous^{commit}")" || fail_or_skip "no commit $previous"
echo "migration-safety: previous release $previous ($commit) on the schema of HEAD ($(git rev-parse HEAD))"

[ -f dist/main.js ] || npm run build
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  TEST_DATABASE_URL="$(start_postgres)"
fi

work="$(mktemp -d /tmp/shipshape-compat-XXXXXX)"
database="shipshape_compat_$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
database_url="$(node -e 'const u = new URL(process.argv[1]); u.pathname = "/" + process.argv[2]; console.log(u.href)' "$TEST_DATABASE_URL" "$database")"
app_pid=""
cleanup() {
  [ -z "$app_pid" ] || { kill -TERM "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; }
  psql --quiet "$TEST_DATABASE_URL" -c "drop database if exists $database with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

started=$SECONDS
mkdir -p "$work/old"
git archive "$commit" | tar -x -C "$work/old"
(
  cd "$work/old"
  # The same production dependencies run the same: use this tree's packages (a superset of the dev tools the
  # build needs) through a symlink instead of installing them again; different ones come from the old lock file.
  same="$(node -e 'const [a, b] = process.argv.slice(1).map((f) => JSON.stringify(require(f).dependencies)); console.log(a === b)' \
    "$PWD/package.json" "$OLDPWD/package.json")"
  if [ "$same" = true ]; then
    ln -s "$OLDPWD/node_modules" node_modules
  else
    npm ci --prefer-offline --no-audit --no-fund >/dev/null 2>&1
  fi
  npm run build >/dev/null
)
echo "migration-safety: previous release built in $((SECONDS - started)) s"

psql --quiet "$TEST_DATABASE_URL" -c "create database $database" >/dev/null
secret="$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')"
production=(APP_ENV=production "SECRET_KEY=$secret" "DATABASE_URL=$database_url" TRUST_PROXY=1 LOG_LEVEL=warn)
env "${production[@]}" node dist/cli/migrate.js latest

free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }
port="$(free_port)"
(cd "$work/old" && exec env "${production[@]}" HOST=127.0.0.1 "PORT=$port" "METRICS_PORT=$(free_port)" WEB_CONCURRENCY=1 \
  node dist/main.js >"$work/old-app.log" 2>&1) &
app_pid=$!
for _ in $(seq 1 60); do
  curl --silent --fail --max-time 2 "http://127.0.0.1:$port/health/ready" >/dev/null && break
  kill -0 "$app_pid" 2>/dev/null || break
  sleep 1
done
if ! node scripts/api-smoke-flow.mjs "http://127.0.0.1:$port"; then
  echo "FAIL migration-safety: the previous release ($previous) breaks on the new schema; its log:" >&2
  tail -n 40 "$work/old-app.log" >&2
  exit 1
fi
echo "migration-safety: the previous release works on the new schema ($((SECONDS - started)) s)"
