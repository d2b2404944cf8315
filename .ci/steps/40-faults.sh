#!/usr/bin/env bash
# CI step: the fault suite (`npm run test:faults`, test/faults/) against the built app as production runs it:
# SIGHUP rolling reload, SIGTERM drain, SIGKILLed worker, crash loop, PostgreSQL 15 stopped and started, slow
# clients, Sentry and OTLP receivers, the metrics scrape. Each test runs its own throw-away PostgreSQL 15
# cluster (initdb as the postgres user, random port), never the shared one on 5432. Needs root for runuser.
# Usage: bash .ci/steps/40-faults.sh   (after npm ci; builds if dist/ is missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

# postgresql: the 15 server binaries for the private clusters; prometheus: promtool for the metrics lint.
apt_install postgresql prometheus

[ -f dist/main.js ] || npm run build
npm run test:faults
