#!/usr/bin/env bash
# CI step: shipshape doctor (docs/doctor.md) audited against real parts by `npm run test:doctor` (test/doctor/):
# a private PostgreSQL 15, the built app behind the shipped nginx with a generated certificate, temporary env
# files, a tmpfs, nftables in a network namespace, systemd-analyze; then its alert rules with promtool.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

apt_install nginx openssl procps util-linux nftables systemd python3 postgresql postgresql-client prometheus

promtool check rules monitoring/prometheus/doctor-alerts.yml
promtool test rules monitoring/prometheus/doctor-alerts.test.yml

[ -f dist/main.js ] || npm run build
CI=true npm run test:doctor
