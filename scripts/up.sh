#!/usr/bin/env bash
# Brings everything up on this machine and serves the controller.
#
#   scripts/up.sh                 # install, start the database, build, serve on :3000
#   PORT=8080 scripts/up.sh       # any variable you set yourself wins
#   UP_NO_SERVE=1 scripts/up.sh   # stop after the database and keys (no build, no serve)
#
# 1. installs whatever is missing (Debian packages; see scripts/lib/common.sh),
# 2. starts (or reuses) a private PostgreSQL cluster in .data/postgres on 127.0.0.1:$PGPORT_DEV
#    (default 5433), with role and database `free_agent` (password in .data/db-password),
# 3. on the first run only, generates .data/api-key and .data/vault-master-key (mode 0600),
# 4. prints the API key,
# 5. builds the release binary and execs `free-agent-controller serve` with:
#      DATABASE_URL           postgres://free_agent:<pw>@127.0.0.1:$PGPORT_DEV/free_agent
#      CONTROLLER_API_KEY     contents of .data/api-key
#      VAULT_MASTER_KEY_FILE  .data/vault-master-key
#      STORAGE_ROOT           .data/storage
#      PORT                   3000
#
# FAC_DEV_PG_DIR moves the cluster elsewhere (when root, its parent folders must be
# world-executable so that the unprivileged cluster user can reach it).
# When DATABASE_URL is already set, no local cluster is started. When CONTROLLER_API_KEY or
# VAULT_MASTER_KEY(_FILE) is set, the corresponding file is neither generated nor used.
# The cluster keeps running after the server stops; scripts/down.sh stops it.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/postgres.sh
source "$FAC_ROOT/scripts/lib/postgres.sh"

cd "$FAC_ROOT"

DEV_PG_DIR="${FAC_DEV_PG_DIR:-$FAC_DATA/postgres}"
DEV_PG_PORT="${PGPORT_DEV:-5433}"
DEV_DB=free_agent
DEV_ROLE=free_agent
API_KEY_FILE="$FAC_DATA/api-key"
VAULT_KEY_FILE="$FAC_DATA/vault-master-key"
DB_PASSWORD_FILE="$FAC_DATA/db-password"

mkdir -p "$FAC_DATA"
# Traversable but not listable: when root, the cluster's own user must reach .data/postgres;
# the secrets in here are 0600 files of their own.
chmod 711 "$FAC_DATA"

section "Checking dependencies"
ensure_swift_on_path
ensure_dependencies

if [ -n "${DATABASE_URL:-}" ]; then
    section "Using the caller's DATABASE_URL (no local cluster)"
else
    section "Starting the development PostgreSQL cluster ($DEV_PG_DIR, 127.0.0.1:$DEV_PG_PORT)"
    if [ ! -s "$DB_PASSWORD_FILE" ]; then
        write_secret_file "$DB_PASSWORD_FILE" "$(random_alnum 32)"
        info "generated the database password in .data/db-password"
    fi
    db_password="$(cat "$DB_PASSWORD_FILE")"
    pg_cluster_start "$DEV_PG_DIR" "$DEV_PG_PORT" --max-connections 200
    pg_ensure_role_db "$DEV_PG_DIR" "$DEV_PG_PORT" "$DEV_ROLE" "$DEV_DB" "$db_password"
    DATABASE_URL="postgres://$DEV_ROLE:$db_password@127.0.0.1:$DEV_PG_PORT/$DEV_DB"
    info "database $DEV_DB ready for role $DEV_ROLE"
fi
export DATABASE_URL

section "Keys"
if [ -z "${CONTROLLER_API_KEY:-}" ]; then
    if [ ! -s "$API_KEY_FILE" ]; then
        # 48 characters of [A-Za-z0-9_-]: old workers refuse any other character.
        write_secret_file "$API_KEY_FILE" "$(random_token 48)"
        info "generated .data/api-key"
    fi
    CONTROLLER_API_KEY="$(cat "$API_KEY_FILE")"
else
    info "using the caller's CONTROLLER_API_KEY"
fi
export CONTROLLER_API_KEY

if [ -z "${VAULT_MASTER_KEY:-}" ] && [ -z "${VAULT_MASTER_KEY_FILE:-}" ]; then
    if [ ! -s "$VAULT_KEY_FILE" ]; then
        # Losing this file makes every sealed certs bundle unreadable: back it up.
        write_secret_file "$VAULT_KEY_FILE" "$(head -c 32 /dev/urandom | base64 -w0)"
        info "generated .data/vault-master-key (back it up: sealed certs need it)"
    fi
    VAULT_MASTER_KEY_FILE="$VAULT_KEY_FILE"
    export VAULT_MASTER_KEY_FILE
fi

STORAGE_ROOT="${STORAGE_ROOT:-$FAC_DATA/storage}"
mkdir -p "$STORAGE_ROOT"
[ "$STORAGE_ROOT" = "$FAC_DATA/storage" ] && chmod 700 "$STORAGE_ROOT"
export STORAGE_ROOT
export PORT="${PORT:-3000}"

printf '\n    API key (X-API-Key): %s\n' "$CONTROLLER_API_KEY" >&2
info "controller URL:        http://127.0.0.1:$PORT"
info "database:              $(printf '%s' "$DATABASE_URL" | sed -E 's#^([a-z]+://[^:/@]*):[^@]*@#\1:***@#')"
info "storage:               $STORAGE_ROOT"

if [ "${UP_NO_SERVE:-0}" = "1" ]; then
    section "UP_NO_SERVE=1: database and keys are ready; not building or serving"
    info "the cluster keeps running; scripts/down.sh stops it"
    exit 0
fi

# A scratch path of its own: the test suite's debug build (.build) and this release build never wait for
# each other's lock, and neither invalidates the other.
section "Building (swift build -c release --scratch-path .build-release --product free-agent-controller)"
swift build -c release --scratch-path .build-release --product free-agent-controller
bin_path="$(swift build -c release --scratch-path .build-release --show-bin-path)"

# glibc gives every thread that allocates its own arena and keeps what is freed there: file batches read on the
# thread pool and freed on the event loops then linger as RSS (see docs/benchmarks.md, "Download"). Two arenas keep
# a 1 GiB download's peak and the idle RSS down; a value you set yourself wins.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
section "Serving on port $PORT (Ctrl-C stops the server; the database keeps running)"
exec "$bin_path/free-agent-controller" serve
