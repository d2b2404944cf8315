#!/usr/bin/env bash
# CI step: deploy safety drilled for real by `npm run test:deploy-safety` (test/deploy-safety/): the built app
# under deploy.sh, canary.sh and blue-green.sh on PostgreSQL 15 behind the shipped nginx site, with steady
# traffic; bad releases (a copy of the build that loads a fault fixture) must be rolled back by verify.sh, and
# the nginx reloads of a canary or a blue-green switch must drop no request.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

apt_install nginx openssl curl systemd shellcheck prometheus postgresql postgresql-client

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  TEST_DATABASE_URL="$(start_postgres)"
fi
export TEST_DATABASE_URL

[ -f dist/main.js ] || npm run build
# Every drill of test/deploy-safety: verify-drill, alerts, verdict, and canary-drill (canary.sh and blue-green.sh
# under load across nine nginx reloads, about 2 to 4 minutes of this step).
npm run test:deploy-safety
