#!/usr/bin/env bash
# Takes one app host out of nginx's rotation before it is drained, and puts it back once it is ready again. Run
# on the nginx machine by a deploy across several hosts (docs/scaling.md), around the restart on that host.
#
# Why not just stop the host: nginx (open source) learns that a host is gone only from a refused connection. A
# connection the kernel completed in the instant the host closed its listener, but that the app never accepted,
# is reset with the request already sent, and nginx never passes a POST on once sent: that client gets a 502.
# Marked `down` and reloaded, nginx sends the host nothing more, so its drain has nothing to lose.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: upstream-host.sh out|in HOST:PORT
  out   mark HOST:PORT `down` in the site's upstream, check and reload nginx, and return once the nginx
        workers that still held its connections have exited: from then on it gets no request
  in    clear `down` again, check and reload nginx: it gets its share at once
  SHIPSHAPE_NGINX_SITE      the rendered site (default /etc/nginx/sites-available/shipshape.conf); its
                            `upstream shipshape_app` names the host on a `server` line
  SHIPSHAPE_NGINX, SHIPSHAPE_NGINX_PID_FILE, SHIPSHAPE_NGINX_RELOAD_TIMEOUT   as for canary.sh (canary.sh --help)
  Refuses to take out the last host in rotation. Exit 64 on a usage error, 1 when nginx refused the change
  (the previous site is back in place).
USAGE
}

case "${1:-}" in -h | --help) usage; exit 0 ;; esac
[ $# -eq 2 ] || { usage; exit 64; }
action="$1" host="$2"
case "$action" in out | in) ;; *) usage; exit 64 ;; esac
if ! [[ $host =~ ^([A-Za-z0-9._-]+:[0-9]{1,5}|\[[0-9A-Fa-f:.]+\]:[0-9]{1,5}|unix:/[A-Za-z0-9._/-]+)$ ]]; then
  echo "upstream-host: '$host' is not HOST:PORT or unix:/path" >&2
  exit 64
fi

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/nginx-reload.sh
source "$DEPLOY_DIR/nginx-reload.sh"
site="${SHIPSHAPE_NGINX_SITE:-/etc/nginx/sites-available/shipshape.conf}"
[ -f "$site" ] || die "no site file at $site (SHIPSHAPE_NGINX_SITE)"
# The new and the previous site are kept outside nginx's directories: sites-enabled/* would include them.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Rewrites the host's server line inside `upstream shipshape_app { ... }` only. Exit 3: the host is not there;
# 4: taking it out would leave no host in rotation; 5: it already is as asked.
status=0
awk -v host="$host" -v action="$action" '
  /^[[:space:]]*upstream[[:space:]]+shipshape_app[[:space:]]*\{/ { inside = 1 }
  inside && /^[[:space:]]*\}/ { inside = 0 }
  inside && $1 == "server" {
    name = $2; sub(/;$/, "", name)
    down = $0 ~ /[[:space:]]down[[:space:]]*;/
    if (name == host) {
      found += 1
      if (action == "out" && !down) { sub(/[[:space:]]*;/, " down;"); changed = 1 }
      if (action == "in" && down) { sub(/[[:space:]]+down[[:space:]]*;/, ";"); changed = 1 }
    } else if (!down) others += 1
  }
  { print }
  END {
    if (found != 1) exit 3
    if (action == "out" && others == 0) exit 4
    if (!changed) exit 5
  }' "$site" >"$work/new" || status=$?
case "$status" in
  0) ;;
  3) die "$host is not a server of upstream shipshape_app in $site (or is named twice)" ;;
  4) die "$host is the last host in rotation in $site: taking it out would leave nginx none" ;;
  5) log "$host is already $action of rotation"; exit 0 ;;
  *) die "could not rewrite $site" ;;
esac

cp "$site" "$work/last"
cat "$work/new" >"$site" # in place: the site is often a link from sites-enabled/
if ! "${nginx_command[@]}" -t -q; then
  cat "$work/last" >"$site"
  die "nginx refused the site with $host $action of rotation; the previous one is back in place"
fi
reload_nginx
log "$host is $action of rotation"
