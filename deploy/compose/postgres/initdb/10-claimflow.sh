#!/bin/sh
# Runs once, when the compose stack's PostgreSQL volume is initialised: one role and database for
# claimflow's read model, one role owning Temporal's two databases (persistence and visibility).
# The passwords come from the postgres service's environment (docker-compose.yml).
set -eu

psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v claimflow_password="$CLAIMFLOW_DB_PASSWORD" \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE claimflow LOGIN PASSWORD :'claimflow_password';
CREATE DATABASE claimflow OWNER claimflow;
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
