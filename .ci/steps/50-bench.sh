#!/usr/bin/env bash
# usage: bash .ci/steps/50-bench.sh
# The benchmark's quick mode: proves `npm run bench` works end to end, on the embedded database as a
# fresh clone runs it and on PostgreSQL 15. It prints figures and asserts none: CI machines are not benchmarks.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh
apt_install wrk

timeout 150 npm run bench -- --quick

admin_url="$(start_postgres)"
database="shipshape_bench_$$"
psql -q -v ON_ERROR_STOP=1 "$admin_url" -c "CREATE DATABASE ${database}"
trap 'psql -q "$admin_url" -c "DROP DATABASE IF EXISTS ${database} WITH (FORCE)" || true' EXIT
BENCH_DATABASE_URL="${admin_url%/postgres}/${database}" BENCH_CASES=list-w1,create-w1 \
  timeout 90 npx tsx bench/run.ts --quick
