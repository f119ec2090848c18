#!/usr/bin/env bash
# The controller against the limits of this machine, side by side in one run (issue 8; streaming: issue 3).
#
#   benchmarks/run.sh                  # build (or reuse) the release binaries, measure everything, write docs/benchmarks.md
#   BENCH_PARTS=assign,e2e benchmarks/run.sh   # only some parts: streaming, assign, e2e, idle, scaling (default all)
#   BENCH_NO_DOC=1 benchmarks/run.sh   # print the figures, leave docs/benchmarks.md alone
#   BENCH_PROFILE=0 benchmarks/run.sh  # skip the perf profiles
#   BENCH_BINARY=path BENCH_LOADGEN=path benchmarks/run.sh  # measure those binaries instead of building
#
# Sizes (the defaults keep the whole run under 15 minutes on 2 cores once the binaries are built):
#   BENCH_SIZE_MIB=1024 BENCH_REPS=5          streaming: file size, pairs (controller + nginx) per transfer
#   BENCH_ASSIGN_LEVELS=10,100,500            assignment: workers per run (pgbench: as many clients)
#   BENCH_ASSIGN_BUILDS=3000                  assignment: queue depth per run (at least 6 per worker)
#   BENCH_PGBENCH_SECONDS=8                   assignment baseline: seconds per pgbench run
#   BENCH_PGBENCH_MODE=prepared               assignment baseline: pgbench's -M (the controller prepares its claim
#                                             statements too; `extended` parses and plans every statement anew)
#   BENCH_PACED_WORKERS=100 BENCH_PACED_FRACTIONS=0.25,0.5,0.75 BENCH_PACED_SECONDS=20
#                                             assignment latency at a given load: paced (open-loop) runs at these
#                                             fractions of the closed-loop claims/s of as many workers (the p99 goal
#                                             is read at 0.5), each about this long
#   BENCH_E2E_WORKERS=50 BENCH_E2E_BUILDS=1000   end to end
#   BENCH_IDLE_WORKERS=1000 BENCH_IDLE_SECONDS=30  idle long-polls
#   BENCH_SCALING_WORKERS=100                 two controllers on one database
#   BENCH_PG_MAX_CONNECTIONS=600              the cluster's max_connections (pgbench clients are clamped to it)
#
# What it does, all on 127.0.0.1 and all in one temporary folder that is removed on exit:
# 1. builds `swift build -c release --scratch-path .build-release` of the products free-agent-controller and
#    fac-loadgen (a build of that scratch path already running is waited for by SwiftPM's own lock, then reused);
# 2. starts a throwaway PostgreSQL cluster (scripts/lib/postgres.sh, trust on 127.0.0.1, durability off) on a
#    free port, the controller on another (temp STORAGE_ROOT, random API key and vault key), and nginx on a
#    third (DAV `PUT` into a temp folder, the same folder served statically, sendfile on);
# 3. streaming (benchmarks/bench.py): a file of BENCH_SIZE_MIB MiB uploaded to and downloaded from both servers
#    with curl, BENCH_REPS pairs each (controller and nginx back to back, the first alternating, each transfer
#    after a `sync`), the load average and the controller's RSS (every 50 ms) recorded; `perf record` of one more
#    of each;
# 4. assignment and end to end (benchmarks/load.py with fac-loadgen; pgbench with benchmarks/claim.pgbench as the
#    assignment baseline, alternating with the controller at each concurrency; then the paced runs, which measure
#    the latency at a stated fraction of the closed-loop maximum);
# 5. a second, fresh controller on the same database: 1,000 idle long-polls on it, then the assignment run spread
#    over both controllers;
# 6. writes the generated section of docs/benchmarks.md.
# Everything it started (controllers, nginx, PostgreSQL, samplers) is stopped on exit, however it ends.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/lib/common.sh
source "$BENCH_DIR/../scripts/lib/common.sh"
# shellcheck source=scripts/lib/postgres.sh
source "$FAC_ROOT/scripts/lib/postgres.sh"
cd "$FAC_ROOT"

BENCH_SIZE_MIB="${BENCH_SIZE_MIB:-1024}"
BENCH_REPS="${BENCH_REPS:-5}"
BENCH_PROFILE="${BENCH_PROFILE:-1}"
BENCH_PARTS="${BENCH_PARTS:-streaming,assign,e2e,idle,scaling}"
BENCH_PG_MAX_CONNECTIONS="${BENCH_PG_MAX_CONNECTIONS:-600}"
SCRATCH="$FAC_ROOT/.build-release"
STARTED_AT="$(date +%s)"
part() { case ",$BENCH_PARTS," in *",$1,"*) return 0 ;; esac; return 1; }

ensure_swift_on_path
ensure_dependencies
if part streaming; then
    command -v nginx >/dev/null 2>&1 || apt_install nginx
    command -v nginx >/dev/null 2>&1 || die "nginx is not installed"
    nginx -V 2>&1 | grep -q -- --with-http_dav_module || die "this nginx lacks the DAV module (Debian's nginx has it)"
fi
if part assign; then
    command -v pgbench >/dev/null 2>&1 || [ -x "$(pg_bindir)/pgbench" ] || apt_install postgresql-contrib
fi
# 1,000 long-polls need as many sockets on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 4096 ] || warn "ulimit -n is $(ulimit -n): the idle part may run out of sockets"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fac-bench.XXXXXX")"
# Traversable by the cluster's and nginx's unprivileged users, listable by nobody else.
chmod 711 "$WORK"
PG_DIR="$WORK/pg"
CONTROLLER_PID=""
CONTROLLER_B_PID=""
NGINX_PID=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local pid
    for pid in "$CONTROLLER_PID" "$CONTROLLER_B_PID"; do
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
        kill -QUIT "$NGINX_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NGINX_PID" 2>/dev/null || true
    fi
    pg_cluster_stop "$PG_DIR" immediate 2>/dev/null || true
    if [ "$rc" -ne 0 ] && [ -f "$WORK/controller.log" ]; then
        warn "controller log (last lines):"; tail -n 20 "$WORK/controller.log" >&2 || true
    fi
    rm -rf "$WORK"
    # The cluster's socket folder lives under /tmp when WORK's path is long.
    rm -rf "$(pg__socket_dir "$PG_DIR")" 2>/dev/null || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_http() { # wait_http URL SECONDS
    local url="$1" seconds="$2" i
    for ((i = 0; i < seconds * 10; i++)); do
        curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

if [ -n "${BENCH_BINARY:-}" ]; then
    # For checking this script itself against another build (the figures are only meaningful for release).
    section "Using BENCH_BINARY=$BENCH_BINARY (no build)"
    BIN="$BENCH_BINARY"
    LOADGEN="${BENCH_LOADGEN:-$(dirname "$BENCH_BINARY")/fac-loadgen}"
else
    section "Building the release binaries ($SCRATCH)"
    # SwiftPM locks the scratch path: a build already running there is waited for, then this one is a no-op.
    for product in free-agent-controller fac-loadgen; do
        timeout "${BENCH_BUILD_TIMEOUT:-3600}" \
            swift build -c release --scratch-path "$SCRATCH" --product "$product" 2>&1 | tail -n 3 >&2 \
            || die "the release build of $product failed"
    done
    BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/free-agent-controller"
    LOADGEN="${BENCH_LOADGEN:-$(dirname "$BIN")/fac-loadgen}"
fi
[ -x "$BIN" ] || die "no binary at $BIN"
[ -x "$LOADGEN" ] || die "no load generator at $LOADGEN"
info "$BIN"
info "$LOADGEN"

section "Starting a throwaway PostgreSQL cluster"
PG_PORT="$(free_port)"
pg_cluster_start "$PG_DIR" "$PG_PORT" --trust --fast --max-connections "$BENCH_PG_MAX_CONNECTIONS"
pg_ensure_role_db "$PG_DIR" "$PG_PORT" fac_bench fac_bench

API_KEY="$(random_token 48)"
VAULT_KEY="$(head -c 32 /dev/urandom | base64 -w0)"
mkdir -p "$WORK/storage"
# start_controller PORT LOG: one more controller process on the shared database and storage; prints its pid.
start_controller() {
    (
        export DATABASE_URL="postgres://fac_bench@127.0.0.1:$PG_PORT/fac_bench"
        export CONTROLLER_API_KEY="$API_KEY" VAULT_MASTER_KEY="$VAULT_KEY"
        export STORAGE_ROOT="$WORK/storage" HOST=127.0.0.1 PORT="$1"
        export MAX_RESULT_BYTES=$((4 * 1024 * 1024 * 1024)) LOG_LEVEL=warning
        # As scripts/up.sh serves it (see the Download finding in docs/benchmarks.md).
        MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" exec "$BIN" serve
    ) >"$2" 2>&1 &
    echo $!
}

section "Starting the controller"
CONTROLLER_PORT="$(free_port)"
CONTROLLER_PID="$(start_controller "$CONTROLLER_PORT" "$WORK/controller.log")"
wait_http "http://127.0.0.1:$CONTROLLER_PORT/health" 60 || die "the controller did not answer /health"
info "pid $CONTROLLER_PID on 127.0.0.1:$CONTROLLER_PORT"

if part streaming; then
    section "Starting nginx"
    NGINX_PORT="$(free_port)"
    NGX="$WORK/nginx"
    mkdir -p "$NGX/www" "$NGX/body" "$NGX/tmp"
    user_line=""
    if is_root; then
        # The workers drop to nobody: give them the folders they write.
        user_line="user nobody nogroup;"
        chown -R nobody:nogroup "$NGX/www" "$NGX/body" "$NGX/tmp"
    fi
    cat >"$NGX/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $NGX/body;
    proxy_temp_path $NGX/tmp;
    fastcgi_temp_path $NGX/tmp;
    uwsgi_temp_path $NGX/tmp;
    scgi_temp_path $NGX/tmp;
    types { }
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $NGX/www;
        client_max_body_size 2g;
        location / {
            dav_methods PUT;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }
    }
}
EOF
    nginx -t -q -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf" || die "nginx rejected its config"
    nginx -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf" -g 'daemon off;' >"$NGX/stdout.log" 2>&1 &
    NGINX_PID=$!
    for _ in $(seq 1 50); do
        code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NGINX_PORT/" || true)"
        [ "$code" != "000" ] && break
        sleep 0.1
    done
    info "pid $NGINX_PID on 127.0.0.1:$NGINX_PORT"
fi

export BENCH_WORK="$WORK" BENCH_PROFILE BENCH_API_KEY="$API_KEY" BENCH_BIN="$BIN" BENCH_LOADGEN="$LOADGEN"
export BENCH_CONTROLLER_URL="http://127.0.0.1:$CONTROLLER_PORT" BENCH_CONTROLLER_PID="$CONTROLLER_PID"
BENCH_DOC="$FAC_ROOT/docs/benchmarks.md"
[ "${BENCH_NO_DOC:-0}" = "1" ] && BENCH_DOC=""
export BENCH_DOC

if part streaming; then
    section "Streaming ($BENCH_SIZE_MIB MiB, $BENCH_REPS repetitions)"
    export BENCH_SIZE_MIB BENCH_REPS BENCH_STREAMING_JSON="$WORK/streaming.json"
    export BENCH_NGINX_URL="http://127.0.0.1:$NGINX_PORT" BENCH_NGINX_PID="$NGINX_PID"
    timeout "${BENCH_TIMEOUT:-1200}" python3 "$BENCH_DIR/bench.py"
    # nginx is done: it should not share the cores with the next parts.
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
fi

export BENCH_PG_PORT="$PG_PORT" BENCH_PG_DB=fac_bench BENCH_PG_USER=fac_bench
export BENCH_PG_PID_FILE="$PG_DIR/data/postmaster.pid" BENCH_PG_MAX_CONNECTIONS
BENCH_PGBENCH="$(command -v pgbench || echo "$(pg_bindir)/pgbench")"
BENCH_PSQL="$(command -v psql || echo "$(pg_bindir)/psql")"
export BENCH_PGBENCH BENCH_PSQL
single_parts=""
for p in assign e2e; do part "$p" && single_parts="$single_parts,$p"; done
if [ -n "$single_parts" ]; then
    section "Assignment and end to end (${single_parts#,})"
    BENCH_LOAD_PARTS="${single_parts#,}" timeout "${BENCH_TIMEOUT:-1200}" python3 "$BENCH_DIR/load.py" single
fi

if part idle || part scaling; then
    # A fresh process: the idle part measures what 1,000 long-polls cost, not what 1 GiB transfers left behind.
    section "A second controller on the same database"
    CONTROLLER_B_PORT="$(free_port)"
    CONTROLLER_B_PID="$(start_controller "$CONTROLLER_B_PORT" "$WORK/controller-b.log")"
    wait_http "http://127.0.0.1:$CONTROLLER_B_PORT/health" 60 || die "the second controller did not answer /health"
    info "pid $CONTROLLER_B_PID on 127.0.0.1:$CONTROLLER_B_PORT"
    export BENCH_CONTROLLER_B_URL="http://127.0.0.1:$CONTROLLER_B_PORT" BENCH_CONTROLLER_B_PID="$CONTROLLER_B_PID"
    if part idle; then
        section "Idle: ${BENCH_IDLE_WORKERS:-1000} long-polls on the fresh controller"
        timeout "${BENCH_TIMEOUT:-1200}" python3 "$BENCH_DIR/load.py" idle
    fi
    if part scaling; then
        section "Scaling: the assignment run over both controllers"
        timeout "${BENCH_TIMEOUT:-1200}" python3 "$BENCH_DIR/load.py" scaling
    fi
fi

section "Report"
BENCH_ELAPSED="$(($(date +%s) - STARTED_AT))" python3 "$BENCH_DIR/load.py" report
