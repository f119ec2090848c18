#!/usr/bin/env bash
# The S3 driver's figures (issue 11): a 1 GiB result upload and its download through a controller on the S3 driver
# against moto's S3 server, beside a controller on the filesystem, on the same machine in the same run; the
# controllers' peak RSS over idle and their CPU.
#
#   benchmarks/s3.sh                 # 1 GiB, 2 repetitions, prints a table and writes it into docs/benchmarks.md
#   BENCH_SIZE_MIB=256 BENCH_REPS=1 BENCH_NO_DOC=1 benchmarks/s3.sh
#
# moto is a Python server that keeps objects in memory and spools to temporary files: its throughput is the
# ceiling here, not the driver's; the figure that matters for the driver is its memory per upload, which must be
# about one part (S3_PART_SIZE_MIB, 8) plus one write batch, whatever the file's size.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
# shellcheck source=scripts/lib/postgres.sh
source "$FAC_ROOT/scripts/lib/postgres.sh"
# shellcheck source=scripts/lib/moto.sh
source "$FAC_ROOT/scripts/lib/moto.sh"
cd "$FAC_ROOT"

ensure_swift_on_path
ensure_dependencies
SCRATCH="$FAC_ROOT/.build-release"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fac-bench-s3.XXXXXX")"
chmod 711 "$WORK"
PG_DIR="$WORK/pg"
PIDS=()

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    # Not our children (started in a subshell): wait for them by polling, then insist.
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    moto_stop
    pg_cluster_stop "$PG_DIR" immediate 2>/dev/null || true
    if [ "$rc" -ne 0 ]; then tail -n 20 "$WORK"/controller-*.log >&2 2>/dev/null || true; fi
    rm -rf "$WORK" "$(pg__socket_dir "$PG_DIR")" 2>/dev/null || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

section "Building the release binary ($SCRATCH)"
swift build -c release --scratch-path "$SCRATCH" --product free-agent-controller 2>&1 | tail -n 3 >&2
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/free-agent-controller"

section "PostgreSQL and moto"
PG_PORT="$(free_port)"
pg_cluster_start "$PG_DIR" "$PG_PORT" --trust --fast --max-connections 200
pg_ensure_role_db "$PG_DIR" "$PG_PORT" fac_bench fac_bench "" --createdb
moto_start "$WORK"
API_KEY="$(random_token 48)"
VAULT_KEY="$(head -c 32 /dev/urandom | base64 -w0)"

# start_controller NAME DATABASE ENV...: a release controller on a database of its own; prints "pid port".
start_controller() {
    local name="$1" db="$2" port
    shift 2
    "$(pg_bindir)/psql" -q "postgres://fac_bench@127.0.0.1:$PG_PORT/fac_bench" -c "CREATE DATABASE $db" >/dev/null
    port="$(free_port)"
    env DATABASE_URL="postgres://fac_bench@127.0.0.1:$PG_PORT/$db" CONTROLLER_API_KEY="$API_KEY" VAULT_MASTER_KEY="$VAULT_KEY" \
        HOST=127.0.0.1 PORT="$port" LOG_LEVEL=warning MALLOC_ARENA_MAX=2 MAX_RESULT_BYTES=$((2 << 30)) "$@" \
        "$BIN" serve >"$WORK/controller-$name.log" 2>&1 &
    echo "$! $port"
}

read -r FS_PID FS_PORT < <(start_controller filesystem bench_fs STORAGE_ROOT="$WORK/storage")
read -r S3_PID S3_PORT < <(start_controller s3 bench_s3 STORAGE_BACKEND=s3 S3_BUCKET="$FAC_TEST_S3_BUCKET" \
    S3_PREFIX="bench-" S3_FORCE_PATH_STYLE=true AWS_ACCESS_KEY_ID="$FAC_TEST_S3_ACCESS_KEY_ID" \
    AWS_SECRET_ACCESS_KEY="$FAC_TEST_S3_SECRET_ACCESS_KEY" AWS_REGION="$FAC_TEST_S3_REGION" \
    AWS_ENDPOINT_URL_S3="$FAC_TEST_S3_ENDPOINT")
# start_controller ran in a subshell (process substitution): the cleanup learns the pids here.
PIDS+=("$FS_PID" "$S3_PID")
for port in "$FS_PORT" "$S3_PORT"; do
    for _ in $(seq 1 300); do curl -fs -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
    curl -fs -o /dev/null "http://127.0.0.1:$port/health" || die "a controller did not start"
done

section "Measuring"
BENCH_WORK="$WORK" BENCH_API_KEY="$API_KEY" BENCH_MOTO_PID="$MOTO_PID" \
    BENCH_TARGETS="filesystem=http://127.0.0.1:$FS_PORT=$FS_PID,s3=http://127.0.0.1:$S3_PORT=$S3_PID" \
    BENCH_DOC="$( [ "${BENCH_NO_DOC:-0}" = 1 ] || echo "$FAC_ROOT/docs/benchmarks.md")" \
    python3 "$FAC_ROOT/benchmarks/s3bench.py"
