#!/usr/bin/env bash
# Deploys one version: build it in its own release directory, measure the running release's latency, migrate,
# switch the `current` symlink atomically, reload without downtime, smoke test, watch the new release
# (verify.sh: error rate, p95, readiness, alerts), and roll back by itself when the smoke or the watch fails.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: sudo deploy.sh [--build-only] VERSION   VERSION: a git tag or commit of SHIPSHAPE_REPO, e.g. v1.4.0
  --build-only              build the release and stop (canary.sh and blue-green.sh use it)
  SHIPSHAPE_REPO            git URL or path of the source (default /srv/shipshape/repo.git, a mirror)
  SHIPSHAPE_ROOT            default /srv/shipshape (releases/, current, previous, deploys.log)
  SHIPSHAPE_SERVICE         systemd unit (default shipshape)
  SHIPSHAPE_ENV_FILE        the unit's environment file, read for migrations (default /etc/shipshape/shipshape.env)
  SHIPSHAPE_MIGRATE_ENV_FILE  read over it for migrations only: the owner role's DATABASE_URL (default
                            /etc/shipshape/migrate.env; without it migrations use the unit's)
  SHIPSHAPE_SMOKE_URL       where smoke.sh checks the app (default http://127.0.0.1:3000)
  SHIPSHAPE_KEEP_RELEASES   releases kept besides current and previous (default 5)
  SHIPSHAPE_ROLLBACK_MIGRATIONS=1   on a failed smoke, also undo this deploy's migrations (default 0)
  SHIPSHAPE_VERIFY=0        skip the post-deploy watch (default 1); its settings: verify.sh --help
  SMOKE_*                   the smoke's settings (smoke account, logs): smoke.sh --help
  SHIPSHAPE_PUBLIC_URL      when set (https://api.example.com), doctor.sh audits the live deployment through it
                            before the switch (a failure stops the deploy) and after it (a failure rolls back)
USAGE
}

build_only=0
[ "${1:-}" = --build-only ] && { build_only=1; shift; }
[ $# -eq 1 ] || { usage; exit 64; }
case "$1" in -h | --help) usage; exit 0 ;; esac
version="$1"
[[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || { echo "deploy: VERSION must be a plain tag or commit name" >&2; exit 64; }

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SHIPSHAPE_REPO="${SHIPSHAPE_REPO:-$SHIPSHAPE_ROOT/repo.git}"
keep="${SHIPSHAPE_KEEP_RELEASES:-5}"
releases="$SHIPSHAPE_ROOT/releases"
release="$releases/$version"

mkdir -p "$releases"
take_deploy_lock

# The source of VERSION, exactly as tagged: a mirror of the repository, then git archive (no .git on the server).
fetch_source() {
  local mirror="$SHIPSHAPE_ROOT/repo.git"
  if [ "$SHIPSHAPE_REPO" != "$mirror" ]; then
    if [ -d "$mirror" ]; then
      git --git-dir="$mirror" fetch --quiet --prune --tags "$SHIPSHAPE_REPO" '+refs/heads/*:refs/heads/*'
    else
      git clone --quiet --mirror "$SHIPSHAPE_REPO" "$mirror"
    fi
  fi
  git --git-dir="$mirror" rev-parse --verify --quiet "$version^{commit}" || die "no tag or commit $version in $SHIPSHAPE_REPO"
}

# Builds into a scratch directory and renames it into place only when complete, so a half-built release is never
# mistaken for a good one. A version already built is reused (a redeploy after a rollback is quick).
build_release() {
  if [ -f "$release/.release" ]; then
    log "release $version already built: reusing it"
    return 0
  fi
  local commit scratch
  commit="$(fetch_source)"
  scratch="$releases/.building-$version-$$"
  rm -rf "$scratch"
  mkdir -p "$scratch"
  git --git-dir="$SHIPSHAPE_ROOT/repo.git" archive "$commit" | tar -x -C "$scratch"
  log "building $version ($commit)"
  (
    cd "$scratch"
    # The lock pins every version and its integrity hash, so a cached tarball is as good as a fetched one.
    npm ci --prefer-offline --no-audit --no-fund
    npm run build
    npm prune --omit=dev --no-audit --no-fund
  ) >&2
  printf 'version=%s\ncommit=%s\nbuilt=%s\n' "$version" "$commit" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$scratch/.release"
  rm -rf "$release"
  mv -T "$scratch" "$release"
}

# Keeps the newest $keep releases by build time, and always current and previous.
prune_releases() {
  local current previous kept=0 dir
  current="$(resolve_link "$SHIPSHAPE_ROOT/current")"
  previous="$(resolve_link "$SHIPSHAPE_ROOT/previous")"
  while IFS= read -r dir; do
    [ "$dir" = "$current" ] || [ "$dir" = "$previous" ] && continue
    if [ "$kept" -lt "$keep" ]; then kept=$((kept + 1)); continue; fi
    log "pruning release $(basename "$dir")"
    rm -rf "$dir"
  done < <(find "$releases" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2-)
}

build_release
[ "$build_only" = 0 ] || { log "built $version"; exit 0; }
load_env_file
old="$(resolve_link "$SHIPSHAPE_ROOT/current")"

# The launch checklist before anything changes: a deployment already failing it is fixed first, not deployed over.
doctor() {
  [ -n "${SHIPSHAPE_PUBLIC_URL:-}" ] || return 0
  log "doctor: auditing $(basename "$1") through $SHIPSHAPE_PUBLIC_URL"
  SHIPSHAPE_RELEASE="$1" "$DEPLOY_DIR/doctor.sh" --url "$SHIPSHAPE_PUBLIC_URL" --env-file "$SHIPSHAPE_ENV_FILE" >&2
}
if [ -n "$old" ] && ! doctor "$old"; then
  die "doctor finds the live deployment failing: fix it before deploying (docs/doctor.md)"
fi

# The running release's p95 by route, measured before anything changes: the yardstick for the new one's.
baseline="$SHIPSHAPE_ROOT/.verify-baseline.json"
rm -f "$baseline"
if [ "$SHIPSHAPE_VERIFY" = 1 ] && [ -n "$old" ]; then
  log "measuring $(basename "$old")'s latency for the comparison"
  verify_release "$release" --baseline "$baseline" >/dev/null || log "no baseline: only the absolute p95 target applies"
fi

# Migrations before the switch: the running release must cope with the new schema (expand, then contract).
log "migrating the database with $version"
(load_migrate_env && cd "$release" && node dist/cli/migrate.js latest) >&2

if [ -n "$old" ] && [ "$old" != "$(readlink -f "$release")" ]; then
  switch_link "$SHIPSHAPE_ROOT/previous" "$old"
fi
switch_link "$SHIPSHAPE_ROOT/current" "$release"
touch "$release"
log "current -> $version"
mark_release_start
reload_service

if ! smoke "$release"; then
  outcome="smoke-failed" failed="its smoke test"
elif [ "$SHIPSHAPE_VERIFY" = 1 ] && ! verify_release "$release" ${old:+--previous "$baseline"} >/dev/null; then
  outcome="verify-failed" failed="its post-deploy verification"
elif ! doctor "$release"; then
  outcome="doctor-failed" failed="the doctor's audit"
else
  record "deploy $version ok"
  prune_releases
  log "deployed $version"
  exit 0
fi

record "deploy $version $outcome"
if [ -z "$old" ]; then
  die "the first release failed $failed and there is nothing to roll back to"
fi
log "$version failed $failed: rolling back to $(basename "$old")"
"$DEPLOY_DIR/rollback.sh" "$(basename "$old")" || die "the rollback failed too: act now (docs/operations.md)"
die "deploy of $version failed $failed and was rolled back to $(basename "$old")"
