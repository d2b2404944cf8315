#!/usr/bin/env bash
# CI step: high availability (`npm run test:ha`, test/ha/) and the API suite behind PgBouncer.
# - Patroni + etcd + HAProxy (deploy/ha/) on loopback: the leader's Patroni and postmaster are killed -9 under
#   steady writes through the built app; the sync standby takes over, no acknowledged write is lost.
# - A pg_basebackup -R streaming replica serving DATABASE_REPLICA_URL reads, paused and stopped.
# - The API tests that use the database through PgBouncer 1.18 in transaction mode (deploy/ha/pgbouncer.ini);
#   `bash test/ha/behind-pgbouncer.sh` with no arguments runs all of npm test (552 tests, about 6.5 minutes here).
# Every server is private (own directory, free ports, run as postgres); needs root for runuser/setpriv.
# Usage: bash .ci/steps/43-ha.sh   (after npm ci; builds if dist/ is missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

apt_install postgresql postgresql-client patroni etcd-server haproxy pgbouncer util-linux

[ -f dist/main.js ] || npm run build
npm run test:ha
bash test/ha/behind-pgbouncer.sh test/notes.test.ts test/accounts.test.ts test/database.test.ts \
  test/health.test.ts test/migrations.test.ts test/query-count.test.ts test/bad-input.test.ts \
  test/openapi-contract.test.ts test/session-cache.test.ts
