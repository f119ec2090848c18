#!/usr/bin/env bash
# Stops the development PostgreSQL cluster that scripts/up.sh started (.data/postgres).
# Its data stays; `scripts/down.sh && rm -rf .data` resets everything (keys included).
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/postgres.sh
source "$FAC_ROOT/scripts/lib/postgres.sh"

DEV_PG_DIR="${FAC_DEV_PG_DIR:-$FAC_DATA/postgres}"
if pg_cluster_running "$DEV_PG_DIR"; then
    pg_cluster_stop "$DEV_PG_DIR" fast
    info "stopped"
else
    info "no development cluster running in $DEV_PG_DIR"
fi
