#!/usr/bin/env bash
# Containers: the real Dockerfile and compose files built and run with podman and docker-compose
# 1.29 (no Docker engine or registry here: ../shared/containers/ provides the stand-in base images), then
# `npm run test:containers`. About 10 minutes on a fresh machine, most of it the stand-ins and the first build.
set -euo pipefail
root="$(git rev-parse --show-toplevel)"
cd "$root"
# The machine's container tools sit beside the project (../shared/containers); a clone elsewhere finds them at
# their home. SHIPSHAPE_CONTAINER_TOOLS, when set, is the only place looked at.
tools=""
if [ -n "${SHIPSHAPE_CONTAINER_TOOLS:-}" ]; then
  candidates=("$SHIPSHAPE_CONTAINER_TOOLS")
else
  candidates=("$root/../shared/containers" /work/shared/containers)
fi
for candidate in "${candidates[@]}"; do
  if [ -x "$candidate/prepare.sh" ]; then
    tools="$(cd "$candidate" && pwd)"
    break
  fi
done
if [ -z "$tools" ]; then
  # Under CI a missing tool is a failure, never a skip reported as a pass; a developer's machine may skip.
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL containers: no podman tools (../shared/containers/prepare.sh, or SHIPSHAPE_CONTAINER_TOOLS)" >&2
    exit 1
  fi
  echo "SKIP containers: no podman tools (../shared/containers/prepare.sh) on this machine; the image is untested here"
  exit 0
fi
export SHIPSHAPE_CONTAINER_TOOLS="$tools"

# shellcheck source=.ci/lib.sh
source .ci/lib.sh
apt_install openssl curl

"$tools/prepare.sh"
# The tests stop podman's API and the health-check ticker themselves; this covers a run that dies early.
trap '"$SHIPSHAPE_CONTAINER_TOOLS/compose-env.sh" stop >/dev/null 2>&1 || true' EXIT
npm run test:containers
