# shellcheck shell=bash
# Shared by the pgBackRest scripts (backup-pitr.sh, backup-offhost.sh, restore-to.sh, restore-drill.sh): sourced,
# not run. They run as the postgres user; settings come from the environment (see each script's usage).

PGBACKREST_CONFIG_PATH="${PGBACKREST_CONFIG_PATH:-/etc/pgbackrest}"
export PGBACKREST_CONFIG_PATH
METRICS_TEXTFILE_DIR="${METRICS_TEXTFILE_DIR:-/var/lib/prometheus/node-exporter}"
STANZA=shipshape

say() { printf '%s %s\n' "$(date -u +%H:%M:%SZ)" "$*" >&2; }
fail() { say "error: $*"; exit 1; }

# One option of the stanza or [global] section of pgbackrest.conf (the file is the single source of the paths).
pgbr_option() {
  local value
  value="$(sed -n "s/^$1=//p" "$PGBACKREST_CONFIG_PATH/pgbackrest.conf" | tail -n 1)"
  printf '%s\n' "${value:-$2}"
}

pgbr() { pgbackrest --stanza="$STANZA" "$@"; }

# psql on the local cluster as the postgres user (peer authentication over its socket).
local_psql() {
  psql --no-psqlrc --quiet --tuples-only --no-align --set=ON_ERROR_STOP=1 \
    --host="$(pgbr_option pg1-socket-path /var/run/postgresql)" --port="$(pgbr_option pg1-port 5432)" "$@"
}

# Replaces NAME.prom in the textfile collector's directory in one rename, so node-exporter never reads half a
# file. Reads the metric lines from stdin. A missing directory (no node-exporter here) is not an error.
write_metrics() {
  local name="$1" dir="$METRICS_TEXTFILE_DIR"
  if [ ! -d "$dir" ] || [ ! -w "$dir" ]; then
    say "no writable $dir: metrics for $name not written"
    cat >/dev/null
    return 0
  fi
  cat >"$dir/.$name.prom.tmp"
  chmod 0644 "$dir/.$name.prom.tmp"
  mv -f "$dir/.$name.prom.tmp" "$dir/$name.prom"
}

# The previous value of a metric we wrote (to keep the last success time across a failed run), or $2.
previous_metric() {
  local file="$METRICS_TEXTFILE_DIR/$1.prom" value=""
  [ -r "$file" ] && value="$(awk -v m="$2" '$1 == m { print $2 }' "$file" | tail -n 1)"
  printf '%s\n' "${value:-0}"
}

# The outcome of one run of a job, as gauges: when it last succeeded (kept across failed runs), whether this run
# did, and how long it took (the duration gauge is PREFIX_DURATION).
outcome_metrics() {
  local prefix="$1" what="$2" ok="$3" started="$4" duration="$5" last
  last="$(previous_metric "$prefix" "${prefix}_last_success_timestamp_seconds")"
  if [ "$ok" = 1 ]; then last="$(date +%s)"; fi
  cat <<METRICS
# HELP ${prefix}_last_success_timestamp_seconds When $what last succeeded.
# TYPE ${prefix}_last_success_timestamp_seconds gauge
${prefix}_last_success_timestamp_seconds $last
# HELP ${prefix}_last_run_success 1 when the last run of $what succeeded.
# TYPE ${prefix}_last_run_success gauge
${prefix}_last_run_success $ok
# HELP ${prefix}_${duration} How long the last run of $what took.
# TYPE ${prefix}_${duration} gauge
${prefix}_${duration} $(($(date +%s) - started))
METRICS
}

# Prometheus lines for what the repository holds, from `pgbackrest info` (the repository is the truth: a backup
# that is listed there completed): newest backup of each type, its sizes, and the repository's size on disk.
repository_metrics() {
  local info
  info="$(pgbr info --output=json)"
  printf '# HELP shipshape_backup_last_success_timestamp_seconds End time of the newest complete backup of each type.\n'
  printf '# TYPE shipshape_backup_last_success_timestamp_seconds gauge\n'
  jq -r '.[0].backup // [] | map(select(.error != true)) | group_by(.type)[] | max_by(.timestamp.stop)
    | "shipshape_backup_last_success_timestamp_seconds{type=\"\(.type)\"} \(.timestamp.stop)"' <<<"$info"
  printf '# HELP shipshape_backup_size_bytes Size of the database in the newest backup of each type (before compression).\n'
  printf '# TYPE shipshape_backup_size_bytes gauge\n'
  jq -r '.[0].backup // [] | map(select(.error != true)) | group_by(.type)[] | max_by(.timestamp.stop)
    | "shipshape_backup_size_bytes{type=\"\(.type)\"} \(.info.size)"' <<<"$info"
  printf '# HELP shipshape_backup_stored_bytes What the newest backup of each type added to the repository.\n'
  printf '# TYPE shipshape_backup_stored_bytes gauge\n'
  jq -r '.[0].backup // [] | map(select(.error != true)) | group_by(.type)[] | max_by(.timestamp.stop)
    | "shipshape_backup_stored_bytes{type=\"\(.type)\"} \(.info.repository.delta)"' <<<"$info"
  printf '# HELP shipshape_backup_repository_bytes Bytes the repository takes on disk (backups and WAL, compressed and encrypted).\n'
  printf '# TYPE shipshape_backup_repository_bytes gauge\n'
  printf 'shipshape_backup_repository_bytes %s\n' "$(du -sb "$(pgbr_option repo1-path /var/lib/pgbackrest)" | cut -f1)"
}

# The repository key from a file: pgBackRest's conf.d file (its repo1-cipher-pass line) or a file holding only
# the key, as the operator keeps it. An empty key is refused: openssl would encrypt with it.
cipher_key() {
  local key
  key="$(sed -n 's/^repo1-cipher-pass=//p' "$1")"
  [ -n "$key" ] || key="$(head -n 1 "$1")"
  [ -n "$key" ] || fail "no key in $1"
  printf '%s\n' "$key"
}

# Fails with a message an operator can act on when the repository cannot be read: no key, the wrong key (the
# encrypted info files then read as garbage), or no stanza.
check_repository() {
  local out
  out="$(pgbr info --output=json 2>&1)" ||
    fail "pgBackRest cannot open the repository (is the key file conf.d/shipshape-cipher.conf missing?): $out"
  jq -e '.[0].status.code == 0' >/dev/null 2>&1 <<<"$out" ||
    fail "the repository cannot be read with this key (wrong repo1-cipher-pass?) or is damaged: $(jq -r '.[0].repo[0].status.message // .[0].status.message' <<<"$out" 2>/dev/null | head -n 1)"
}

# Retention for a directory of dated files with a .sha256 beside each: deletes those older than KEEP_DAYS days
# but never the newest KEEP_MIN, so a stopped timer cannot prune the last good copies away.
prune_older() {
  local dir="$1" pattern="$2" keep_days="$3" keep_min="$4" label="$5" path
  find "$dir" -maxdepth 1 -name "$pattern" -printf '%T@ %p\n' | sort -rn | tail -n +"$((keep_min + 1))" |
    while read -r _ path; do
      if [ -n "$(find "$path" -mtime +"$keep_days")" ]; then
        rm -f "$path" "$path.sha256"
        echo "$label: pruned $(basename "$path")" >&2
      fi
    done
}
