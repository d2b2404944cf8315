#!/usr/bin/env bash
# CI step: maintenance mode through the shipped nginx site in front of the built app (`npm run test:maintenance`,
# test/maintenance/): deploy/maintenance.sh on and off, probes and operators passing, steady load at the switch.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

apt_install nginx openssl gettext-base postgresql postgresql-client

# A PostgreSQL 15 admin URL with CREATEDB: .ci/run exports one; started here when this step runs alone.
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  TEST_DATABASE_URL="$(start_postgres)"
fi
export TEST_DATABASE_URL

[ -f dist/main.js ] || npm run build
npm run test:maintenance
