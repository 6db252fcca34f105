#!/usr/bin/env bash
# Install (if needed) and start a local PostgreSQL server for the store tests, then print the URL
# to export as AUTOALIGN_TEST_PG_URL. Idempotent; run as root on Debian (as CI's .ci/run does):
#
#     export AUTOALIGN_TEST_PG_URL="$(scripts/start-postgres.sh)"
#
# The role may create databases: the tests make a fresh database per test and drop it after.
# Only the URL goes to stdout; progress goes to stderr.
set -euo pipefail

PG_USER="${AUTOALIGN_PG_USER:-autoalign}"
PG_PASSWORD="${AUTOALIGN_PG_PASSWORD:-autoalign}"
PG_PORT="${AUTOALIGN_PG_PORT:-5432}"

log() { echo "start-postgres: $*" >&2; }

if [[ "$(id -u)" -ne 0 ]]; then
    log "must run as root (it installs and starts the server); try: sudo $0"
    exit 1
fi

if ! command -v pg_lsclusters >/dev/null || [[ -z "$(pg_lsclusters -h 2>/dev/null)" ]]; then
    log "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi

# The newest installed cluster (Debian creates "main" when it installs the server).
read -r version cluster port status _ < <(pg_lsclusters -h | sort -k1,1n | tail -n 1)
if [[ "$port" != "$PG_PORT" ]]; then
    log "cluster $version/$cluster listens on port $port, not $PG_PORT; using $port"
    PG_PORT="$port"
fi
if [[ "$status" != online* ]]; then
    log "starting cluster $version/$cluster"
    pg_ctlcluster "$version" "$cluster" start >&2
fi

for _ in $(seq 1 30); do
    pg_isready -q -h localhost -p "$PG_PORT" && break
    sleep 1
done
pg_isready -q -h localhost -p "$PG_PORT" || { log "server did not come up on port $PG_PORT"; exit 1; }

# Create the role, or reset its password so the printed URL is always right.
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres \
    -v user="$PG_USER" -v password="$PG_PASSWORD" >&2 <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'user', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'user', :'password') \gexec
SQL

echo "postgresql://${PG_USER}:${PG_PASSWORD}@localhost:${PG_PORT}/postgres"
