#!/usr/bin/env bash
# CI step: data safety drilled for real (`npm run test:data-safety`, test/data-safety/): pgBackRest
# point-in-time recovery on private PostgreSQL 15 clusters, the restore drill, the encryption checks, the off-host copy to a private sshd with a dedicated user, and the loss of
# the host restored into a bare root that ends serving the same data. Installs what it uses.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

apt_install postgresql postgresql-client pgbackrest openssh-server openssh-client rsync jq psmisc prometheus systemd \
  shellcheck openssl
# Debian's package starts nothing here (no systemd as PID 1); the tests run their own sshd and clusters.

[ -f dist/main.js ] || npm run build
shellcheck -x deploy/backup*.sh deploy/restore*.sh deploy/setup-pgbackrest.sh
npm run test:data-safety
