#!/usr/bin/env bash
# CI step: the deployment assets verified for real by `npm run test:infra` (test/infra/): nginx in front of the
# built app with sslscan and the Mozilla HTTP Observatory, systemd-analyze, shellcheck, the deploy drill and the
# backup/restore drill on PostgreSQL 15. Runs after .ci/run's npm ci and build; installs what it uses.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

apt_install nginx sslscan shellcheck openssl curl git gettext-base systemd postgresql postgresql-client redis-server

# The Observatory is a scanner, not a project dependency: installed outside the tree, install scripts off (they
# download the HSTS preload and TLD lists; the test writes empty ones, so the scan runs offline).
OBSERVATORY_PREFIX="${OBSERVATORY_PREFIX:-/tmp/observatory}"
export OBSERVATORY_DIR="$OBSERVATORY_PREFIX/node_modules/@mdn/mdn-http-observatory"
if [ ! -f "$OBSERVATORY_DIR/package.json" ]; then
  mkdir -p "$OBSERVATORY_PREFIX"
  npm install --prefix "$OBSERVATORY_PREFIX" --ignore-scripts --no-audit --no-fund --no-save \
    @mdn/mdn-http-observatory@1.4.8
fi

# A PostgreSQL 15 admin URL with CREATEDB: .ci/run exports one; started here when this step runs alone.
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  TEST_DATABASE_URL="$(start_postgres)"
fi
export TEST_DATABASE_URL

[ -f dist/main.js ] || npm run build
npm run test:infra
