#!/usr/bin/env bash
# CI step: the monitoring assets checked with promtool from Debian's prometheus package:
# alert rules syntax and unit tests (each alert firing and not firing), and the Prometheus example config.
# The dashboard's queries are checked against a live scrape by test/faults/metrics.test.ts (step 40).
# Usage: bash .ci/steps/45-monitoring.sh
set -euo pipefail
cd "$(dirname "$0")/../../monitoring/prometheus"
# shellcheck source=.ci/lib.sh
source ../../.ci/lib.sh

apt_install prometheus

# Every rule file beside its unit tests; prometheus.yml loading each is checked by test/alerting (step 46).
for tests in *.test.yml; do
  promtool check rules "${tests%.test.yml}.yml"
  promtool test rules "$tests"
done
promtool check config prometheus.yml
