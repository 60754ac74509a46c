#!/bin/sh
# Run once by the postgres image when the data directory is new (docker-entrypoint-initdb.d).
# The application logs in as auror_app: no superuser, no owner of anything, so row-level security
# (auror.rls) holds against it and it can disable neither the policies nor the audit triggers.
# Migrations run as the owner (POSTGRES_USER); audit migration 0003 grants auror_app what it needs.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE auror_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'app_password';
SQL
