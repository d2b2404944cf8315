# shellcheck shell=bash
# Shared by slots.sh and upstream-host.sh: sourced after lib.sh, not run. Checks and reloads the nginx that
# fronts the app, and waits for the workers a reload replaces.

SHIPSHAPE_NGINX_PID_FILE="${SHIPSHAPE_NGINX_PID_FILE:-/run/nginx.pid}"
SHIPSHAPE_NGINX_RELOAD_TIMEOUT="${SHIPSHAPE_NGINX_RELOAD_TIMEOUT:-30}"
read -ra nginx_command <<<"${SHIPSHAPE_NGINX:-nginx}"

# `nginx -s reload` only signals the master: until it has read the new file, and until the workers it replaces
# have finished the requests they hold, those workers still send requests by the previous upstream. So this
# returns once they have exited (at most SHIPSHAPE_NGINX_RELOAD_TIMEOUT seconds): a slot or host the new upstream left
# out gets no request after that and can be stopped, and a watch from then on sees the new share.
reload_nginx() {
  local master="" previous=() pid waited=0
  if [ -r "$SHIPSHAPE_NGINX_PID_FILE" ]; then master="$(cat "$SHIPSHAPE_NGINX_PID_FILE")"; fi
  if [[ $master =~ ^[0-9]+$ ]]; then mapfile -t previous < <(pgrep -P "$master" || true); fi
  "${nginx_command[@]}" -s reload
  if [ ${#previous[@]} -eq 0 ]; then
    log "nginx reloaded; its workers are not known (no master pid in $SHIPSHAPE_NGINX_PID_FILE), so not awaited"
    return 0
  fi
  for pid in "${previous[@]}"; do
    while [ -d "/proc/$pid" ]; do
      if [ $waited -ge $((SHIPSHAPE_NGINX_RELOAD_TIMEOUT * 10)) ]; then
        log "nginx's previous workers still finish requests after ${SHIPSHAPE_NGINX_RELOAD_TIMEOUT} s; going on"
        return 0
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
  done
  log "nginx reloaded: its previous workers exited after $((waited / 10)).$((waited % 10)) s"
}

