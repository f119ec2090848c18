#!/usr/bin/env bash
# Several controllers, one address: three controller processes (the built executable) on ONE database and ONE
# store, nginx in front running deploy/nginx/free-agent-controller.conf (a copy with test ports), and
# Tests/ScaleOut/scale_out_test.py driving builds of every client generation through it: consecutive calls on
# different processes, a long-poll on one process woken by a submit on another, one process killed with SIGKILL
# in the middle of a build, and at the end nothing lost or assigned twice.
#
#   scripts/scale-out-test.sh        # FAC_TEST_DATABASE_URL must name a database whose cluster we may add a database to
#
# Storage: when the executable has the S3 driver (`serve --help` lists --storage-backend), the three processes share
# one bucket of moto's S3 server (the caller's FAC_TEST_S3_* from scripts/lib/moto.sh, as scripts/test.sh exports
# them, or a moto server started here), under a prefix of their own (scale-out-<random>-; no slash: moto refuses the signature of a listing whose prefix holds one), and each gets a storage
# folder of its own, so that no byte can pass through the filesystem. Otherwise they share one STORAGE_ROOT (a valid
# one-host arrangement) and the script says so; FAC_REQUIRE_S3=1 makes that a failure instead.
#
# scripts/test.sh runs it after the browser test (whole runs, or FAC_SCALE_OUT_TEST=1). It needs Debian's nginx
# (installed when missing) and python3 (standard library only).
#
# Environment: FAC_TEST_DATABASE_URL (required), FAC_CONTROLLER_BIN (default: `swift build --show-bin-path`'s
# free-agent-controller, built when missing), FAC_REQUIRE_S3=1, FAC_TEST_S3_*, FAC_SCALE_OUT_BACKEND=auto (default:
# s3 when the executable has the driver) | s3 | filesystem (a developer's choice; never with FAC_REQUIRE_S3=1).
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/postgres.sh
source "$FAC_ROOT/scripts/lib/postgres.sh"
# shellcheck source=scripts/lib/moto.sh
source "$FAC_ROOT/scripts/lib/moto.sh"
cd "$FAC_ROOT"

STARTED=$SECONDS
[ -n "${FAC_TEST_DATABASE_URL:-}" ] || die "FAC_TEST_DATABASE_URL is required (scripts/test.sh sets it)"

section "Scale-out test: checking nginx"
command -v nginx >/dev/null 2>&1 || apt_install nginx
command -v nginx >/dev/null 2>&1 || die "nginx is not installed"
info "$(nginx -v 2>&1)"

if [ -n "${FAC_CONTROLLER_BIN:-}" ]; then
    BIN="$FAC_CONTROLLER_BIN"
else
    BIN="$(swift build --show-bin-path)/free-agent-controller"
fi
if [ ! -x "$BIN" ]; then
    section "Building the controller"
    swift build --product free-agent-controller
fi
[ -x "$BIN" ] || die "no controller executable at $BIN"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fac-scale-out.XXXXXX")"
# nginx's workers run as nobody when we are root: they must reach the folders below.
chmod 711 "$WORK"
DB="fac_scale_$(random_alnum 10 | tr 'A-Z' 'a-z')"
ADMIN_URL="$FAC_TEST_DATABASE_URL"
DB_URL="${FAC_TEST_DATABASE_URL%/*}/$DB"
PSQL="$(pg_bindir 2>/dev/null)/psql" || true
[ -x "$PSQL" ] || PSQL=psql
PIDS=()
NGINX_PID=""
MOTO_DIR=""

stop_pid() {   # stop_pid PID SIGNAL: signal, wait up to 5 s, then SIGKILL (only our own children)
    local pid="$1" sig="$2"
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? pid log
    trap - EXIT INT TERM
    [ -n "$NGINX_PID" ] && stop_pid "$NGINX_PID" QUIT
    for pid in "${PIDS[@]}"; do stop_pid "$pid" TERM; done
    moto_stop
    "$PSQL" -X -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    if [ "$rc" -ne 0 ]; then
        for log in "$WORK"/controller-*.log "$WORK"/nginx/error.log "$MOTO_DIR/moto.log"; do
            [ -s "$log" ] || continue
            warn "last lines of $log:"
            tail -n 25 "$log" >&2 || true
        done
    fi
    rm -rf "$WORK"
    [ -n "$MOTO_DIR" ] && rm -rf "$MOTO_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------------------ storage
STORAGE_ENV=()
BACKEND=filesystem
WANT="${FAC_SCALE_OUT_BACKEND:-auto}"
case "$WANT" in auto|s3|filesystem) ;; *) die "FAC_SCALE_OUT_BACKEND must be auto, s3 or filesystem" ;; esac
HAS_S3=0
"$BIN" serve --help 2>&1 | grep -q -- '--storage-backend' && HAS_S3=1
[ "$WANT" = s3 ] && [ "$HAS_S3" -eq 0 ] && die "FAC_SCALE_OUT_BACKEND=s3, but $BIN has no S3 driver"
[ "${FAC_REQUIRE_S3:-0}" = "1" ] && [ "$WANT" = filesystem ] && die "FAC_REQUIRE_S3=1 and FAC_SCALE_OUT_BACKEND=filesystem contradict each other"
if [ "$HAS_S3" -eq 1 ] && [ "$WANT" != filesystem ]; then
    BACKEND=s3
    if [ -z "${FAC_TEST_S3_ENDPOINT:-}" ]; then
        section "Starting moto's S3 server"
        MOTO_DIR="$(mktemp -d "${TMPDIR:-/tmp}/fac-scale-moto.XXXXXX")"
        moto_start "$MOTO_DIR" || die "could not start moto's S3 server (the executable has the S3 driver, so the test needs it)"
    fi
    S3_PREFIX="scale-out-$(random_alnum 12 | tr 'A-Z' 'a-z')-"
    STORAGE_ENV=(STORAGE_BACKEND=s3 S3_BUCKET="$FAC_TEST_S3_BUCKET" S3_PREFIX="$S3_PREFIX" S3_FORCE_PATH_STYLE=true
        AWS_ACCESS_KEY_ID="$FAC_TEST_S3_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$FAC_TEST_S3_SECRET_ACCESS_KEY"
        AWS_REGION="$FAC_TEST_S3_REGION" AWS_ENDPOINT_URL_S3="$FAC_TEST_S3_ENDPOINT")
    info "storage: s3 (bucket $FAC_TEST_S3_BUCKET at $FAC_TEST_S3_ENDPOINT, prefix $S3_PREFIX); a storage folder per process"
else
    [ "${FAC_REQUIRE_S3:-0}" = "1" ] && die "FAC_REQUIRE_S3=1, but $BIN has no S3 driver (serve --help lists no --storage-backend)"
    if [ "$HAS_S3" -eq 1 ]; then why="FAC_SCALE_OUT_BACKEND=filesystem"; else why="$BIN has no S3 driver yet"; fi
    printf '\n\033[1;33m!!! scale-out test on ONE SHARED STORAGE FOLDER, not a bucket: %s\033[0m\n\n' "$why" >&2
fi

# ------------------------------------------------------------------------------------------------ controllers
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null
API_KEY="$(random_token 48)"
VAULT_KEY="$(head -c 32 /dev/urandom | base64 -w0)"
mkdir -p "$WORK/storage"
NAMES=(a b c)
PORTS=()

start_controller() {
    local name="$1" port="$2" root="$WORK/storage"
    [ "$BACKEND" = s3 ] && root="$WORK/storage-$name"
    # The same database, API key and vault key everywhere; nginx connects from 127.0.0.1, the trusted proxy.
    env DATABASE_URL="$DB_URL" CONTROLLER_API_KEY="$API_KEY" VAULT_MASTER_KEY="$VAULT_KEY" \
        STORAGE_ROOT="$root" HOST=127.0.0.1 PORT="$port" LOG_LEVEL=warning \
        LONG_POLL_MAX_SECONDS=30 TRUSTED_PROXIES=127.0.0.1 AUTH_FAILURE_LIMIT=20 AUTH_FAILURE_WINDOW_SECONDS=60 \
        "${STORAGE_ENV[@]}" \
        "$BIN" serve >"$WORK/controller-$name.log" 2>&1 &
    PIDS+=("$!")
}

wait_healthy() {   # wait_healthy PORT PID
    local port="$1" pid="$2" deadline=$((SECONDS + 60))
    until curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || die "the controller on port $port exited"
        [ "$SECONDS" -lt "$deadline" ] || die "the controller on port $port did not become healthy within 60 s"
        sleep 0.2
    done
}

# A bucket the controller cannot use (a wrong secret: moto checks signatures) must stop it at start-up, saying
# what to check, before it serves anything.
if [ "$BACKEND" = s3 ]; then
    section "A controller with a wrong S3 secret refuses to start"
    set +e
    env DATABASE_URL="$DB_URL" CONTROLLER_API_KEY="$API_KEY" VAULT_MASTER_KEY="$VAULT_KEY" HOST=127.0.0.1 \
        PORT="$(free_port)" LOG_LEVEL=warning "${STORAGE_ENV[@]}" AWS_SECRET_ACCESS_KEY="not-the-secret" \
        timeout 60 "$BIN" serve >"$WORK/controller-refused.log" 2>&1
    refused=$?
    set -e
    [ "$refused" -ne 0 ] && [ "$refused" -ne 124 ] || die "a controller with a wrong S3 secret did not refuse to start (exit $refused)"
    grep -q "is not reachable and writable" "$WORK/controller-refused.log" \
        || die "the refusal does not say what is wrong: $(tail -n 3 "$WORK/controller-refused.log")"
    ! grep -q "not-the-secret" "$WORK/controller-refused.log" || die "the refusal printed the secret"
    info "refused (exit $refused): $(grep -o 'S3 bucket.*' "$WORK/controller-refused.log" | head -n 1)"
fi

section "Starting three controllers on database $DB ($BACKEND)"
for i in 0 1 2; do
    PORTS+=("$(free_port)")
    start_controller "${NAMES[$i]}" "${PORTS[$i]}"
    # The first one migrates; the others then find the schema ready.
    wait_healthy "${PORTS[$i]}" "${PIDS[$i]}"
    info "${NAMES[$i]}: pid ${PIDS[$i]} on 127.0.0.1:${PORTS[$i]}"
done

# ------------------------------------------------------------------------------------------------ nginx
section "Starting nginx with deploy/nginx/free-agent-controller.conf"
NGX="$WORK/nginx"
mkdir -p "$NGX/body" "$NGX/tmp"
NGINX_PORT="$(free_port)"
user_line=""
if is_root; then
    user_line="user nobody nogroup;"
    chown -R nobody:nogroup "$NGX/body" "$NGX/tmp"
fi
# The example as operators get it, with the test's addresses, and two test-only headers: the controller that
# served each response ($upstream_addr: "a, b" when nginx moved on from a to b) and nginx's own request id.
sed -e "s/^\( *\)server 10\.0\.0\.11:3000 /\1server 127.0.0.1:${PORTS[0]} /" \
    -e "s/^\( *\)server 10\.0\.0\.12:3000 /\1server 127.0.0.1:${PORTS[1]} /" \
    -e "s/^\( *\)server 10\.0\.0\.13:3000 /\1server 127.0.0.1:${PORTS[2]} /" \
    -e "s/^\( *\)listen 80;/\1listen 127.0.0.1:$NGINX_PORT;/" \
    -e "s/^\( *\)server_name builds\.example\.com;/&\n\1add_header X-Upstream \$upstream_addr always;\n\1add_header X-Nginx-Request-Id \$request_id always;/" \
    deploy/nginx/free-agent-controller.conf >"$NGX/free-agent-controller.conf"
# The example changed in a way these substitutions no longer match: say so instead of testing something else.
for want in "127.0.0.1:${PORTS[0]} " "127.0.0.1:${PORTS[1]} " "127.0.0.1:${PORTS[2]} " "listen 127.0.0.1:$NGINX_PORT;" 'X-Upstream'; do
    grep -qF -- "$want" "$NGX/free-agent-controller.conf" || die "rendering deploy/nginx/free-agent-controller.conf: '$want' missing (update scripts/scale-out-test.sh)"
done
! grep -qE '10\.0\.0\.|listen 80;' "$NGX/free-agent-controller.conf" || die "rendering deploy/nginx/free-agent-controller.conf: an example address is left"
cat >"$NGX/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 512; }
http {
    log_format upstreams '\$request_id \$status "\$request" upstream=\$upstream_addr';
    access_log $NGX/access.log upstreams;
    client_body_temp_path $NGX/body;
    proxy_temp_path $NGX/tmp;
    fastcgi_temp_path $NGX/tmp;
    uwsgi_temp_path $NGX/tmp;
    scgi_temp_path $NGX/tmp;
    include $NGX/free-agent-controller.conf;
}
EOF
nginx -t -q -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf" || die "nginx rejected the rendered example"
nginx -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf" -g 'daemon off;' >"$NGX/stdout.log" 2>&1 &
NGINX_PID=$!
deadline=$((SECONDS + 20))
until curl -fsS -o /dev/null "http://127.0.0.1:$NGINX_PORT/health" 2>/dev/null; do
    kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited"
    [ "$SECONDS" -lt "$deadline" ] || die "nginx did not answer /health within 20 s"
    sleep 0.1
done
info "nginx: pid $NGINX_PID on 127.0.0.1:$NGINX_PORT"

# ------------------------------------------------------------------------------------------------ the test
section "Running Tests/ScaleOut/scale_out_test.py"
FAC_LB_URL="http://127.0.0.1:$NGINX_PORT" \
    FAC_CONTROLLER_URLS="http://127.0.0.1:${PORTS[0]},http://127.0.0.1:${PORTS[1]},http://127.0.0.1:${PORTS[2]}" \
    FAC_CONTROLLER_PIDS="${PIDS[0]},${PIDS[1]},${PIDS[2]}" FAC_API_KEY="$API_KEY" FAC_STORAGE_BACKEND="$BACKEND" \
    FAC_DB_URL="$DB_URL" FAC_PSQL="$PSQL" FAC_LONG_POLL_MAX_SECONDS=30 \
    timeout 240 python3 "$FAC_ROOT/Tests/ScaleOut/scale_out_test.py"

# The two survivors must have logged nothing alarming (the killed one's log ends where it was killed; bash reports
# its end as "Killed" above).
section "Checking the controllers' logs"
bad=0
for i in 0 1 2; do
    kill -0 "${PIDS[$i]}" 2>/dev/null || continue
    if grep -E 'level=(error|critical)' "$WORK/controller-${NAMES[$i]}.log" >&2; then bad=1; fi
done
[ "$bad" -eq 0 ] || die "a surviving controller logged errors (above)"
if [ "$BACKEND" = s3 ]; then
    # Every byte went through the bucket: no blob in any process's own folder.
    left="$(find "$WORK"/storage-* -path '*/blobs/*' -type f 2>/dev/null | head -n 5 || true)"
    [ -z "$left" ] || die "blobs in a controller's storage folder although STORAGE_BACKEND=s3: $left"
fi
section "Scale-out test passed ($BACKEND storage, $((SECONDS - STARTED)) s)"
