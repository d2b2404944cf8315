#!/usr/bin/env bash
# Audits the live deployment with shipshape doctor (docs/doctor.md). Every argument goes to it:
#   deploy/doctor.sh --url https://api.example.com [--textfile DIR] [--json] ...
# Which build: SHIPSHAPE_RELEASE if set, else the release this script sits in, else $SHIPSHAPE_ROOT/current (the
# copy provision.sh installs in /srv/shipshape/bin/ belongs to no release).
# Exit status: 0 all checks pass or warn, 1 a check failed, 64 bad usage.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ -n "${SHIPSHAPE_RELEASE:-}" ]; then
  release="$SHIPSHAPE_RELEASE"
elif [ -f "$here/dist/cli/doctor.js" ]; then
  release="$here"
else
  release="${SHIPSHAPE_ROOT:-/srv/shipshape}/current"
fi
[ -f "$release/dist/cli/doctor.js" ] || { echo "doctor.sh: $release/dist/cli/doctor.js is missing (npm run build)" >&2; exit 1; }
# "--" first: Node 20 reads an --env-file anywhere on its command line as its own option and exits 9 when the
# file is missing, even after the script's name.
exec node -- "$release/dist/cli/doctor.js" "$@"
