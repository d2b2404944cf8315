#!/usr/bin/env bash
# CI step: the interactive API docs (/api/v1/docs, Swagger UI from the pinned swagger-ui-dist) in a real
# browser: Debian's chromium driven by playwright-core (test/browser/). The page must render every operation
# under its own CSP and a "try it" call must reach the app. Under CI=true a missing chromium fails the suite.
# Usage: bash .ci/steps/35-browser.sh   (after npm ci)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

apt_install chromium

TEST_SUITE=browser npx jest --runInBand
