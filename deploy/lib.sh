# shellcheck shell=bash
# Shared by deploy.sh and rollback.sh: sourced, not run. Settings come from the environment (see each script).

SHIPSHAPE_ROOT="${SHIPSHAPE_ROOT:-/srv/shipshape}"
SHIPSHAPE_SERVICE="${SHIPSHAPE_SERVICE:-shipshape}"
SHIPSHAPE_ENV_FILE="${SHIPSHAPE_ENV_FILE:-/etc/shipshape/shipshape.env}"
SHIPSHAPE_MIGRATE_ENV_FILE="${SHIPSHAPE_MIGRATE_ENV_FILE:-/etc/shipshape/migrate.env}"
SHIPSHAPE_SMOKE_URL="${SHIPSHAPE_SMOKE_URL:-http://127.0.0.1:3000}"
SHIPSHAPE_ROLLBACK_MIGRATIONS="${SHIPSHAPE_ROLLBACK_MIGRATIONS:-0}"
SHIPSHAPE_VERIFY="${SHIPSHAPE_VERIFY:-1}"
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf '%s %s\n' "$(date -u +%H:%M:%SZ)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# One deploy or rollback at a time: two would race on the symlinks and the migrations. A rollback that deploy.sh
# starts runs under the deploy's lock.
take_deploy_lock() {
  [ "${SHIPSHAPE_DEPLOY_LOCKED:-}" = 1 ] && return 0
  mkdir -p "$SHIPSHAPE_ROOT"
  exec 9>"$SHIPSHAPE_ROOT/.deploy.lock"
  flock --nonblock 9 || die "another deploy or rollback is running"
  export SHIPSHAPE_DEPLOY_LOCKED=1
}

# Appends one line to the deploy history, the record of what ran when.
record() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$SHIPSHAPE_ROOT/deploys.log"; }

# The service's environment file (KEY=VALUE lines, as systemd reads them) for the one-shot migrate command. Only
# root can read it, which is why deploys run as root; without it the caller's environment is used.
load_env_file() {
  [ -r "$SHIPSHAPE_ENV_FILE" ] || { log "no readable $SHIPSHAPE_ENV_FILE: migrations use this shell's environment"; return 0; }
  local key value
  while IFS='=' read -r key value || [ -n "$key" ]; do
    case "$key" in '' | \#*) continue ;; esac
    value="${value%\"}"; value="${value#\"}"
    export "$key=$value"
  done <"$SHIPSHAPE_ENV_FILE"
}

# The migrate command's own settings over the service's: the database owner's DATABASE_URL, since the service's
# runtime role may not change the schema (docs/deploy-vps.md, "Database roles"). Call it in a subshell.
load_migrate_env() {
  [ -r "$SHIPSHAPE_MIGRATE_ENV_FILE" ] || return 0
  SHIPSHAPE_ENV_FILE="$SHIPSHAPE_MIGRATE_ENV_FILE" load_env_file
}

# The release a symlink points at, or nothing when the link does not exist yet.
resolve_link() { if [ -L "$1" ]; then readlink -f "$1"; fi; }

# The version a release reports (package.json), which smoke.sh expects the running app to answer with.
release_version() { node -p "require('$1/package.json').version"; }

# Points LINK at TARGET in one rename(2): a reader sees the old release or the new one, never neither.
switch_link() {
  local link="$1" target="$2"
  ln -sfn "$target" "$link.new"
  mv -T "$link.new" "$link"
}

# Zero-downtime reload: the unit's ExecReload sends SIGHUP and the cluster primary rolls its workers onto the
# release `current` now points at. A service that is not running yet is started instead.
reload_service() {
  log "reloading $SHIPSHAPE_SERVICE"
  # The lock's descriptor is closed for it: nothing systemctl starts may hold the deploy lock.
  systemctl reload-or-restart "$SHIPSHAPE_SERVICE" 9>&-
}

# The moment the release starts serving: the smoke's log check reads the service's lines from here on.
mark_release_start() { release_started="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"; }

# smoke.sh against the running service, expecting the version of the release in $1.
smoke() {
  SMOKE_EXPECT_VERSION="$(release_version "$1")" SMOKE_LOG_SINCE="${release_started:-}" \
    SMOKE_JOURNAL_UNIT="${SMOKE_JOURNAL_UNIT:-$SHIPSHAPE_SERVICE}" "$DEPLOY_DIR/smoke.sh" "$SHIPSHAPE_SMOKE_URL"
}

# verify.sh with the program of the release in $1 (it may be newer than the running one's); the metrics and
# readiness URLs follow the service's METRICS_PORT and SHIPSHAPE_SMOKE_URL unless VERIFY_* names them.
verify_release() {
  VERIFY_RELEASE="$1" "$DEPLOY_DIR/verify.sh" "${@:2}"
}
