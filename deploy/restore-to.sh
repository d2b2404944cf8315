#!/usr/bin/env bash
# Point-in-time recovery into a NEW data directory, never over the running cluster: pgBackRest restores the
# newest backup before TIME and replays WAL up to TIME (or to the end of the archive for `latest`), the copy is
# started on a private socket with archiving off, and once it is read-write every table of every database is
# counted and checksummed. The copy is left running for you to inspect or pg_dump what you need from it.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: restore-to.sh TIME|latest [--into NAME]     as the postgres user
  TIME     a timestamp PostgreSQL reads, with its zone: "2026-12-02 16:59:30+00"
  NAME     the new cluster's name (default restore-YYYYmmddTHHMMSS): its data directory is RESTORE_ROOT/NAME
  RESTORE_ROOT             where restored clusters go (default /var/lib/postgresql/15/restores)
  PGBACKREST_CONFIG_PATH   pgbackrest.conf and conf.d/ with the key (default /etc/pgbackrest)
  PG_BIN                   PostgreSQL's programs (default /usr/lib/postgresql/15/bin)
Prints "database.schema.table rows md5" per table on stdout; how to connect and stop it on stderr.
USAGE
}

case "${1:-}" in -h | --help) usage; exit 0 ;; "") usage; exit 64 ;; esac
target="$1"
shift
name="restore-$(date -u +%Y%m%dT%H%M%S)"
while [ $# -gt 0 ]; do
  case "$1" in
    --into) [ $# -ge 2 ] || { usage; exit 64; }; name="$2"; shift 2 ;;
    *) usage; exit 64 ;;
  esac
done
[[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || { echo "restore-to: NAME must be a plain name" >&2; exit 64; }
# shellcheck source=SCRIPTDIR/backup-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/backup-lib.sh"
[ "$(id -un)" = postgres ] || fail "run as the postgres user (sudo -u postgres)"
root="${RESTORE_ROOT:-/var/lib/postgresql/15/restores}"
bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
data="$root/$name"
run_dir="$root/$name.run"
[ ! -e "$data" ] || fail "$data exists: pick another --into NAME"

if [ "$target" = latest ]; then
  recovery=(--type=default)
else
  # Checked before minutes of restoring, not after; PostgreSQL reads the same forms GNU date does.
  date --date="$target" +%s >/dev/null 2>&1 || fail "TIME is not a timestamp: $target (e.g. \"2026-12-02 16:59:30+00\")"
  recovery=(--type=time "--target=$target" --target-action=promote)
fi

check_repository
mkdir -p "$root" "$run_dir"
chmod 0700 "$root" "$run_dir"
started="$(date +%s%N)"
say "restoring stanza $STANZA to $target into $data"
# archive-mode=off: a copy must never push its WAL into the repository the real cluster archives into.
pgbr --pg1-path="$data" --archive-mode=off "${recovery[@]}" restore

# A Debian cluster keeps postgresql.conf and pg_hba.conf in /etc/postgresql, outside the data directory (and the
# backup): the copy gets minimal ones, peer authentication over its private socket only.
[ -f "$data/postgresql.conf" ] || printf '# written by restore-to.sh\n' >"$data/postgresql.conf"
[ -f "$data/pg_hba.conf" ] || printf 'local all all peer\n' >"$data/pg_hba.conf"
[ -f "$data/pg_ident.conf" ] || : >"$data/pg_ident.conf"

port=5432
"$bin/pg_ctl" --pgdata="$data" --log="$run_dir/postgresql.log" --wait --timeout=600 \
  -o "-c port=$port -c listen_addresses='' -c unix_socket_directories='$run_dir' -c archive_mode=off" \
  start >&2 || { tail -n 20 "$run_dir/postgresql.log" >&2; fail "the restored cluster did not start"; }

copy_psql() { psql --no-psqlrc --tuples-only --no-align --set=ON_ERROR_STOP=1 --host="$run_dir" --port="$port" "$@"; }
# pg_ctl returns once the copy accepts read-only connections; recovery (and promotion) may still be running.
for _ in $(seq 1 600); do
  [ "$(copy_psql --dbname=postgres --command='select pg_is_in_recovery()')" = f ] && break
  sleep 0.5
done
[ "$(copy_psql --dbname=postgres --command='select pg_is_in_recovery()')" = f ] ||
  fail "the copy is still recovering after 5 minutes; see $run_dir/postgresql.log"
restored_at="$(copy_psql --dbname=postgres --command="select coalesce(pg_last_xact_replay_timestamp()::text, 'the end of the backup')")"
elapsed="$(( ($(date +%s%N) - started) / 1000000 ))"

# Every table of every database: row count and an md5 over its rows in a stable order (the same query the drill
# and the tests use, so two restores of the same moment print the same lines).
copy_psql --dbname=postgres --command="select datname from pg_database where datallowconn and datname <> 'template1' order by 1" |
  while IFS= read -r database; do
    copy_psql --dbname="$database" --command="
      select quote_ident(schemaname) || '.' || quote_ident(tablename) from pg_tables
      where schemaname not in ('pg_catalog', 'information_schema') order by 1" |
      while IFS= read -r table; do
        copy_psql --dbname="$database" --field-separator=' ' --command="
          select '$database.$table', count(*), coalesce(md5(string_agg(t::text, E'\\n' order by t::text)), '-') from $table t"
      done
  done

cat >&2 <<DONE
restore-to: restored $STANZA to $target (last transaction replayed: $restored_at) in $elapsed ms
  data directory: $data (read-write, archiving off)
  connect:        psql -h $run_dir -p $port -d DATABASE
  stop:           $bin/pg_ctl -D $data stop -m fast   (then remove $data and $run_dir)
DONE
