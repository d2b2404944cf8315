# shellcheck shell=bash
# Helpers shared by .ci/run and its steps. Sourced, not run.

apt_updated=""
# Installs Debian packages that are missing; runs apt-get update at most once per CI run.
apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Starts the PostgreSQL 15 cluster and prints an admin URL for a CI role with CREATEDB and a fresh password.
start_postgres() {
  pg_ctlcluster 15 main start >/dev/null 2>&1 || pg_ctlcluster 15 main status >/dev/null
  # One generated password per machine: steps that call this again must not invalidate a URL in use.
  local password_file=/tmp/shipshape-ci-postgres-password password
  [ -s "$password_file" ] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$password_file")
  password="$(cat "$password_file")"
  runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shipshape_ci') THEN CREATE ROLE shipshape_ci LOGIN CREATEDB; END IF;
END \$\$;
ALTER ROLE shipshape_ci PASSWORD '${password}';
SQL
  printf 'postgres://shipshape_ci:%s@127.0.0.1:5432/postgres\n' "$password"
}
