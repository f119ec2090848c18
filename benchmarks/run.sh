#!/usr/bin/env bash
# Streaming benchmark: the controller against nginx, side by side, on this machine (issue 3, issue 8 part 1).
#
#   benchmarks/run.sh                  # build (or reuse) the release binary, measure, write docs/benchmarks.md
#   BENCH_SIZE_MIB=256 benchmarks/run.sh   # a smaller file (the goals are stated for 1 GiB)
#   BENCH_REPS=5 benchmarks/run.sh     # repetitions per operation (median reported; default 3)
#   BENCH_PROFILE=0 benchmarks/run.sh  # skip the perf profile of one extra upload and download
#   BENCH_NO_DOC=1 benchmarks/run.sh   # print the figures, leave docs/benchmarks.md alone
#   BENCH_BINARY=path benchmarks/run.sh  # measure that binary instead of building (checking the script)
#
# What it does, all on 127.0.0.1 and all in one temporary folder that is removed on exit:
# 1. builds `swift build -c release --scratch-path .build-release --product free-agent-controller` (a build of
#    that scratch path already running is waited for by SwiftPM's own lock, then reused);
# 2. starts a throwaway PostgreSQL cluster (scripts/lib/postgres.sh, trust on 127.0.0.1, durability off) on a
#    free port, the controller on another (temp STORAGE_ROOT, random API key and vault key), and nginx on a
#    third (DAV `PUT` into a temp folder, the same folder served statically, sendfile on);
# 3. runs benchmarks/bench.py: a file of BENCH_SIZE_MIB (default 1024) MiB (`PK\x03\x04` + random bytes)
#    uploaded to both and downloaded from both with curl, BENCH_REPS times each, with the controller's RSS
#    sampled every 50 ms; then (BENCH_PROFILE) `perf record` of one more upload and download;
# 4. writes docs/benchmarks.md.
# Everything it started (controller, nginx, PostgreSQL, samplers) is stopped on exit, however it ends.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/lib/common.sh
source "$BENCH_DIR/../scripts/lib/common.sh"
# shellcheck source=scripts/lib/postgres.sh
source "$FAC_ROOT/scripts/lib/postgres.sh"
cd "$FAC_ROOT"

BENCH_SIZE_MIB="${BENCH_SIZE_MIB:-1024}"
BENCH_REPS="${BENCH_REPS:-3}"
BENCH_PROFILE="${BENCH_PROFILE:-1}"
SCRATCH="$FAC_ROOT/.build-release"

ensure_swift_on_path
ensure_dependencies
command -v nginx >/dev/null 2>&1 || apt_install nginx
command -v nginx >/dev/null 2>&1 || die "nginx is not installed"
nginx -V 2>&1 | grep -q -- --with-http_dav_module || die "this nginx lacks the DAV module (Debian's nginx has it)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fac-bench.XXXXXX")"
# Traversable by the cluster's and nginx's unprivileged users, listable by nobody else.
chmod 711 "$WORK"
PG_DIR="$WORK/pg"
CONTROLLER_PID=""
NGINX_PID=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$CONTROLLER_PID" ] && kill -0 "$CONTROLLER_PID" 2>/dev/null; then
        kill -TERM "$CONTROLLER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$CONTROLLER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$CONTROLLER_PID" 2>/dev/null || true
    fi
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

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

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
else
    section "Building the release binary ($SCRATCH)"
    # SwiftPM locks the scratch path: a build already running there is waited for, then this one is a no-op.
    timeout "${BENCH_BUILD_TIMEOUT:-3600}" \
        swift build -c release --scratch-path "$SCRATCH" --product free-agent-controller 2>&1 | tail -n 3 >&2 \
        || die "the release build failed"
    BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/free-agent-controller"
fi
[ -x "$BIN" ] || die "no binary at $BIN"
info "$BIN"

section "Starting a throwaway PostgreSQL cluster"
PG_PORT="$(free_port)"
pg_cluster_start "$PG_DIR" "$PG_PORT" --trust --fast --max-connections 50
pg_ensure_role_db "$PG_DIR" "$PG_PORT" fac_bench fac_bench

section "Starting the controller"
CONTROLLER_PORT="$(free_port)"
API_KEY="$(random_token 48)"
mkdir -p "$WORK/storage"
(
    export DATABASE_URL="postgres://fac_bench@127.0.0.1:$PG_PORT/fac_bench"
    export CONTROLLER_API_KEY="$API_KEY"
    VAULT_MASTER_KEY="$(head -c 32 /dev/urandom | base64 -w0)"
    export VAULT_MASTER_KEY
    export STORAGE_ROOT="$WORK/storage" HOST=127.0.0.1 PORT="$CONTROLLER_PORT"
    export MAX_RESULT_BYTES=$((4 * 1024 * 1024 * 1024)) LOG_LEVEL=warning
    exec "$BIN" serve
) >"$WORK/controller.log" 2>&1 &
CONTROLLER_PID=$!
wait_http "http://127.0.0.1:$CONTROLLER_PORT/health" 60 || die "the controller did not answer /health"
info "pid $CONTROLLER_PID on 127.0.0.1:$CONTROLLER_PORT"

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

section "Measuring ($BENCH_SIZE_MIB MiB, $BENCH_REPS repetitions)"
export BENCH_WORK="$WORK" BENCH_SIZE_MIB BENCH_REPS BENCH_PROFILE BENCH_BIN="$BIN"
export BENCH_CONTROLLER_URL="http://127.0.0.1:$CONTROLLER_PORT" BENCH_CONTROLLER_PID="$CONTROLLER_PID"
export BENCH_NGINX_URL="http://127.0.0.1:$NGINX_PORT" BENCH_NGINX_PID="$NGINX_PID" BENCH_API_KEY="$API_KEY"
BENCH_DOC="$FAC_ROOT/docs/benchmarks.md"
[ "${BENCH_NO_DOC:-0}" = "1" ] && BENCH_DOC=""
export BENCH_DOC
timeout "${BENCH_TIMEOUT:-1200}" python3 "$BENCH_DIR/bench.py"
