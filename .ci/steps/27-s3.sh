#!/usr/bin/env bash
# CI step: attachments in an S3 bucket (UPLOAD_STORE=s3) against a real S3 implementation, OpenStack Swift's
# s3api from Debian's swift packages, which the suite starts on loopback with memcached (test/s3/). Under CI=true
# a missing Swift fails the suite, never skips it.
# Usage: bash .ci/steps/27-s3.sh   (after npm ci; TEST_DATABASE_URL=postgres://... runs it on PostgreSQL)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

apt_install swift swift-proxy swift-account swift-container swift-object memcached

npm run test:s3
