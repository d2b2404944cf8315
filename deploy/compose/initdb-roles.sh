#!/bin/sh
# Runs once, when the postgres container initialises an empty data directory: the owner role (the migrate
# service's) and the runtime role (the app's), from deploy/db-roles.sql, with their passwords from the secrets.
# On a data directory created before, run it by hand: docs/deploy-docker.md, "Database roles".
set -eu
SHIPSHAPE_OWNER_PASSWORD="$(cat /run/secrets/db_owner_password)"
SHIPSHAPE_RUNTIME_PASSWORD="$(cat /run/secrets/db_runtime_password)"
export SHIPSHAPE_OWNER_PASSWORD SHIPSHAPE_RUNTIME_PASSWORD
psql -X -q -v ON_ERROR_STOP=1 -U "${POSTGRES_USER:-postgres}" -d "${POSTGRES_DB:-shipshape}" \
  -f /usr/local/share/shipshape/db-roles.sql
echo "shipshape: database roles created"
