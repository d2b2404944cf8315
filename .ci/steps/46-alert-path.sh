#!/usr/bin/env bash
# CI step: alerts that reach someone (`npm run test:alerting`, test/alerting/): the host alert rules unit-tested
# with promtool, the Alertmanager routes checked with amtool for every shipped alert, node-exporter run with the
# provisioned arguments, the compose service read by docker-compose, and the end-to-end drill: the built app on
# a private PostgreSQL 15, node-exporter, Prometheus and Alertmanager for real, faults injected, the webhook
# notifications checked. Runs after .ci/run's npm ci and build; installs what it uses.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

apt_install prometheus prometheus-alertmanager prometheus-node-exporter postgresql docker-compose

amtool check-config monitoring/alertmanager/alertmanager.yml

[ -f dist/main.js ] || npm run build
npm run test:alerting
