#!/usr/bin/env bash
# CI step: several app hosts behind one nginx, verified for real by `npm run test:multi-host` (test/multi-host/):
# the built app on its own loopback address per host, a private PostgreSQL 15 and redis-server; drills under
# load (kill -9, drain, rolling restart), retries of idempotent requests only, one rate limit across hosts, a
# Redis outage; and the Kubernetes scaling rules of scripts/check-kubernetes.mjs. Installs what it uses.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

apt_install nginx openssl gettext-base redis-server redis-tools postgresql

[ -f dist/main.js ] || npm run build
npm run test:multi-host
