#!/usr/bin/env bash
# Runs the whole API suite (npm test, test/*.test.ts) through PgBouncer in transaction mode in front of a private
# PostgreSQL 15, with deploy/ha/pgbouncer.ini's settings and the app setting it documents
# (DATABASE_PREPARED_STATEMENTS=false). Extra arguments go to jest. Needs root (runs the servers as postgres).
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=/usr/lib/postgresql/15/bin
dir="$(mktemp -d /tmp/shipshape-bouncer-XXXXXX)"
chown postgres "$dir"
pg_pid="" bouncer_pid=""
cleanup() {
  if [ -n "$bouncer_pid" ]; then kill -TERM "$bouncer_pid" 2>/dev/null || true; fi
  runuser -u postgres -- "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
pg_port="$(free_port)"
bouncer_port="$(free_port)"
password="$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"

runuser -u postgres -- "$BIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
runuser -u postgres -- "$BIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w start \
  -o "-p $pg_port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" >/dev/null
pg_pid="$(head -1 "$dir/data/postmaster.pid")"

# The shipped file with this run's ports and paths; '*' routes the databases the suite creates.
printf '"postgres" "%s"\n' "$password" >"$dir/userlist.txt"
sed -e "s|^shipshape = .*|* = host=127.0.0.1 port=$pg_port|" \
  -e "s|^listen_port = .*|listen_port = $bouncer_port|" \
  -e "s|^auth_file = .*|auth_file = $dir/userlist.txt|" \
  -e "s|^logfile = .*|logfile = $dir/pgbouncer.log|" \
  -e "s|^pidfile = .*|pidfile = $dir/pgbouncer.pid|" \
  deploy/ha/pgbouncer.ini >"$dir/pgbouncer.ini"
chown postgres "$dir/userlist.txt" "$dir/pgbouncer.ini"
# setpriv execs, so $! is PgBouncer itself (it refuses to run as root).
setpriv --reuid=postgres --regid=postgres --clear-groups pgbouncer -q "$dir/pgbouncer.ini" &
bouncer_pid=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$bouncer_port") 2>/dev/null && break
  sleep 0.1
done
echo "PostgreSQL $pg_port (pid $pg_pid) behind $(pgbouncer --version | head -1) on $bouncer_port, pool_mode=transaction"

TEST_DATABASE_URL="postgres://postgres:$password@127.0.0.1:$bouncer_port/postgres" \
  DATABASE_PREPARED_STATEMENTS=false SHIPSHAPE_TEST_POOLER=transaction npx jest "$@"
