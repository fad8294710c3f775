#!/usr/bin/env bash
# Install and start a local PostgreSQL + PostGIS server and GDAL's command-line tools (ogrinfo,
# ogr2ogr) for tests/test_postgis*.py. Idempotent: safe to run again on a machine that has them.
#
# Usage:   bash .ci/postgis.sh            (as root, or a user with sudo)
#          eval "$(bash .ci/postgis.sh | tail -n 1)"   # to export GRIDKIT_PG_DSN in this shell
# It prints the connection string on its last line as `export GRIDKIT_PG_DSN='...'` and also writes
# it to ${GRIDKIT_PG_DSN_FILE:-/tmp/gridkit-postgis.dsn}, which the tests read when the variable is unset.
# Settings (environment): GRIDKIT_PG_USER (gridkit), GRIDKIT_PG_PASSWORD (gridkit),
# GRIDKIT_PG_DB (gridkit_test).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PG_USER="${GRIDKIT_PG_USER:-gridkit}"
PG_PASSWORD="${GRIDKIT_PG_PASSWORD:-gridkit}"
PG_DB="${GRIDKIT_PG_DB:-gridkit_test}"
DSN_FILE="${GRIDKIT_PG_DSN_FILE:-/tmp/gridkit-postgis.dsn}"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

log() { echo "[postgis.sh] $*" >&2; }

# 1. packages: the PostgreSQL major version Debian ships, PostGIS 3 built for it, GDAL's tools
if ! command -v ogr2ogr >/dev/null || ! command -v pg_ctlcluster >/dev/null \
   || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends postgresql postgresql-common postgresql-client gdal-bin >&2
  MAJOR="$(ls /usr/lib/postgresql | sort -n | tail -n 1)"
  log "PostgreSQL major version ${MAJOR}; installing postgresql-${MAJOR}-postgis-3"
  $SUDO apt-get install -y -qq --no-install-recommends "postgresql-${MAJOR}-postgis-3" \
    "postgresql-${MAJOR}-postgis-3-scripts" >&2
fi
MAJOR="$(ls /usr/lib/postgresql | sort -n | tail -n 1)"

# 2. a cluster for that version, started
if ! pg_lsclusters -h | awk -v v="$MAJOR" '$1 == v && $2 == "main"' | grep -q .; then
  log "creating cluster ${MAJOR}/main"
  $SUDO pg_createcluster "$MAJOR" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$MAJOR" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
  log "starting cluster ${MAJOR}/main"
  $SUDO pg_ctlcluster "$MAJOR" main start >&2
fi
PORT="$(pg_lsclusters -h | awk -v v="$MAJOR" '$1 == v && $2 == "main" {print $3}')"

# 3. role, database and the postgis extension (idempotent)
as_postgres() { $SUDO -u postgres "$@" 2>/dev/null || runuser -u postgres -- "$@"; }
if [ -z "$SUDO" ]; then as_postgres() { runuser -u postgres -- "$@"; }; fi
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -p "$PORT")
for _ in $(seq 1 30); do
  if as_postgres "${PSQL[@]}" -d postgres -c "select 1" >/dev/null 2>&1; then break; fi
  sleep 1
done
as_postgres "${PSQL[@]}" -d postgres >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${PG_USER}') THEN
    CREATE ROLE "${PG_USER}" LOGIN PASSWORD '${PG_PASSWORD}';
  ELSE
    ALTER ROLE "${PG_USER}" LOGIN PASSWORD '${PG_PASSWORD}';
  END IF;
END \$\$;
SQL
if ! as_postgres "${PSQL[@]}" -d postgres -tAc "select 1 from pg_database where datname = '${PG_DB}'" | grep -q 1; then
  as_postgres createdb -p "$PORT" -O "$PG_USER" -E UTF8 -T template0 "$PG_DB" >&2
fi
as_postgres "${PSQL[@]}" -d "$PG_DB" -c "CREATE EXTENSION IF NOT EXISTS postgis" >&2
as_postgres "${PSQL[@]}" -d "$PG_DB" -c "GRANT ALL ON SCHEMA public TO \"${PG_USER}\"" >&2

DSN="host=localhost port=${PORT} dbname=${PG_DB} user=${PG_USER} password=${PG_PASSWORD}"
PGPASSWORD="$PG_PASSWORD" psql -X -q "$DSN" -tAc "select postgis_full_version()" >&2
printf '%s\n' "$DSN" > "$DSN_FILE"
log "ogr2ogr: $(ogr2ogr --version)"
log "connection string written to ${DSN_FILE}"
echo "export GRIDKIT_PG_DSN='${DSN}'"
