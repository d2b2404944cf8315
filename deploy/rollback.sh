#!/usr/bin/env bash
# Rolls back to an earlier release: by default the previous one; migrations are undone only when asked.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: sudo rollback.sh [VERSION]     default: the release `previous` points at
  SHIPSHAPE_ROLLBACK_MIGRATIONS=1   first undo the last migration batch, with the release that applied it
  SHIPSHAPE_ROOT, SHIPSHAPE_SERVICE, SHIPSHAPE_ENV_FILE, SHIPSHAPE_MIGRATE_ENV_FILE, SHIPSHAPE_SMOKE_URL: as for deploy.sh
USAGE
}

[ $# -le 1 ] || { usage; exit 64; }
case "${1:-}" in -h | --help) usage; exit 0 ;; esac

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
take_deploy_lock

current="$(resolve_link "$SHIPSHAPE_ROOT/current")"
[ -n "$current" ] || die "no current release under $SHIPSHAPE_ROOT"
if [ -n "${1:-}" ]; then
  target="$SHIPSHAPE_ROOT/releases/$1"
else
  target="$(resolve_link "$SHIPSHAPE_ROOT/previous")"
fi
if [ -z "$target" ] || [ ! -f "$target/.release" ]; then
  die "no built release to roll back to (${1:-previous})"
fi
target="$(readlink -f "$target")"
[ "$target" != "$current" ] || die "$(basename "$target") is already current"

load_env_file
# A migration's down step ships with the release that added it, so the current release runs the rollback, before
# the switch. Off by default: expand-then-contract migrations leave the old release working on the new schema.
if [ "$SHIPSHAPE_ROLLBACK_MIGRATIONS" = 1 ]; then
  log "undoing the last migration batch with $(basename "$current")"
  (load_migrate_env && cd "$current" && node dist/cli/migrate.js rollback) >&2
fi

switch_link "$SHIPSHAPE_ROOT/previous" "$current"
switch_link "$SHIPSHAPE_ROOT/current" "$target"
log "current -> $(basename "$target")"
mark_release_start
reload_service

if smoke "$target"; then
  record "rollback to $(basename "$target") ok"
  log "rolled back to $(basename "$target")"
else
  record "rollback to $(basename "$target") smoke-failed"
  die "rolled back to $(basename "$target"), but its smoke test fails"
fi
