#!/usr/bin/env bash
# Runs the whole test suite against a throwaway PostgreSQL cluster.
#
#   scripts/test.sh                          # everything
#   scripts/test.sh --filter OrchestratorTests   # extra arguments go to `swift test`
#
# 1. installs whatever is missing (Debian packages; see scripts/lib/common.sh),
# 2. starts a fresh cluster in a temporary folder, on a free port, trust auth on 127.0.0.1,
# 3. exports FAC_TEST_DATABASE_URL=postgres://fac_test@127.0.0.1:PORT/fac_test, and starts moto's S3
#    server (scripts/lib/moto.sh) with signature checking on, exporting FAC_TEST_S3_* for the S3 tests,
# 4. runs `swift build --build-tests`, then `swift test "$@"`, then (whole runs only, or with
#    FAC_BROWSER_TEST=1) scripts/browser-test.sh: the dashboard in headless Chromium, then (whole
#    runs only) the contract check: the controller on a database of its own, and scripts/schemathesis.sh
#    against it (no 5xx, every response as the published OpenAPI document says) for
#    SCHEMATHESIS_MAX_TIME seconds (default 120), then (whole runs only) every fuzz target of Fuzz/ for
#    FUZZ_CI_SECONDS (default 20) against its corpus (Fuzz/ci.sh),
# 5. stops and deletes the cluster on exit (success, failure or Ctrl-C),
# and exits with the first failure's exit code.
#
# Environment: FAC_TEST_S3_ENDPOINT (with the other FAC_TEST_S3_* of scripts/lib/moto.sh), when set, is
# used as is and no moto server is started. FAC_TEST_DATABASE_URL, when already set, is used as is and no cluster is
# started (point it at a database whose contents the tests may destroy). TMPDIR chooses where
# the throwaway cluster lives. FAC_SKIP_SCHEMATHESIS=1 skips the contract check, which needs CREATEDB
# on FAC_TEST_DATABASE_URL's role (the throwaway cluster's role has it) and installs schemathesis from
# PyPI when it is missing. FAC_SKIP_FUZZ=1 skips the fuzz targets.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/postgres.sh
source "$FAC_ROOT/scripts/lib/postgres.sh"
# shellcheck source=scripts/lib/moto.sh
source "$FAC_ROOT/scripts/lib/moto.sh"

cd "$FAC_ROOT"

TEST_ROLE=fac_test
TEST_DB=fac_test
TEST_PG_DIR=""
CONTRACT_PID=""
CONTRACT_DIR=""
CONTRACT_DB=""
MOTO_DIR=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_contract_controller
    moto_stop
    if [ -n "$MOTO_DIR" ]; then rm -rf "$MOTO_DIR"; fi
    if [ -n "$TEST_PG_DIR" ] && [ -d "$TEST_PG_DIR" ]; then
        section "Removing the throwaway PostgreSQL cluster"
        pg_cluster_stop "$TEST_PG_DIR" fast
        rm -rf "$TEST_PG_DIR" "$(pg__socket_dir "$TEST_PG_DIR")" 2>/dev/null || true
        [ -d "$TEST_PG_DIR" ] || info "removed $TEST_PG_DIR"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A test run killed with SIGKILL leaves its cluster running. Stop and remove the clusters of
# test runs that no longer exist (concurrent runs from other checkouts are left alone).
# owner_alive PID: a test.sh still running as PID (not a zombie, not a reused pid).
owner_alive() {
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
    [ -n "$state" ] && [ "$state" != Z ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'test\.sh'
}

sweep_stale_clusters() {
    local d pid
    for d in "${TMPDIR:-/tmp}"/fac-test-pg.*; do
        [ -d "$d" ] || continue
        # Only our own clusters (another user's are theirs to clean up).
        [ "$(stat -c %U "$d")" = "$(pg_os_user)" ] || continue
        pid="$(cat "$d/owner.pid" 2>/dev/null || true)"
        if [ -n "$pid" ] && owner_alive "$pid"; then continue; fi
        # Young folders without a pid file may belong to a run that is still starting.
        if [ -z "$pid" ] && [ -z "$(find "$d" -maxdepth 0 -mmin +10 2>/dev/null)" ]; then continue; fi
        info "removing stale test cluster $d"
        pg_cluster_stop "$d" immediate || true
        rm -rf "$d" || true
    done
}

start_test_cluster() {
    local attempt port started
    for attempt in 1 2 3; do
        TEST_PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/fac-test-pg.XXXXXX")"
        echo "$$" >"$TEST_PG_DIR/owner.pid"
        port="$(free_port)"
        # Tests run in parallel, each with its own pool: allow plenty of connections.
        # In a subshell with -e of its own: inside an `if`, bash would ignore failures.
        set +e
        (set -e; pg_cluster_start "$TEST_PG_DIR" "$port" --trust --max-connections 300 --fast)
        started=$?
        set -e
        if [ "$started" -eq 0 ]; then
            pg_ensure_role_db "$TEST_PG_DIR" "$port" "$TEST_ROLE" "$TEST_DB" "" --createdb
            FAC_TEST_DATABASE_URL="postgres://$TEST_ROLE@127.0.0.1:$port/$TEST_DB"
            export FAC_TEST_DATABASE_URL
            return 0
        fi
        # Most likely someone took the port between our probe and the server's bind: retry.
        warn "test cluster did not start on port $port (attempt $attempt)"
        pg_cluster_stop "$TEST_PG_DIR" immediate
        rm -rf "$TEST_PG_DIR"
        TEST_PG_DIR=""
    done
    die "could not start a test PostgreSQL cluster"
}

# The controller that schemathesis talks to: its own database, storage folder and keys.
stop_contract_controller() {
    if [ -n "$CONTRACT_PID" ]; then
        kill "$CONTRACT_PID" 2>/dev/null || true
        wait "$CONTRACT_PID" 2>/dev/null || true
        CONTRACT_PID=""
    fi
    if [ -n "$CONTRACT_DB" ]; then
        "$(pg_bindir)/psql" -q "$FAC_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $CONTRACT_DB" >/dev/null 2>&1 || true
        CONTRACT_DB=""
    fi
    if [ -n "$CONTRACT_DIR" ]; then rm -rf "$CONTRACT_DIR"; CONTRACT_DIR=""; fi
}

run_contract_check() {
    local port key bin url deadline rc
    if ! command -v schemathesis >/dev/null 2>&1; then
        info "installing schemathesis from PyPI"
        python3 -m pip install --quiet schemathesis
    fi
    CONTRACT_DIR="$(mktemp -d "${TMPDIR:-/tmp}/fac-contract.XXXXXX")"
    CONTRACT_DB="fac_contract_$$"
    "$(pg_bindir)/psql" -q "$FAC_TEST_DATABASE_URL" -c "CREATE DATABASE $CONTRACT_DB" >/dev/null
    url="${FAC_TEST_DATABASE_URL%/*}/$CONTRACT_DB"
    port="$(free_port)"
    key="$(random_token 48)"
    bin="$(swift build --show-bin-path)/free-agent-controller"
    # AUTH_FAILURE_LIMIT=0: schemathesis sends every operation with the API key only, so worker and VM
    # routes fail authentication by design, and the limiter would turn the rest of the run into 429s
    # (AbuseLimitTests covers the limiter). A short long-poll keeps `?wait=` cases quick.
    DATABASE_URL="$url" CONTROLLER_API_KEY="$key" STORAGE_ROOT="$CONTRACT_DIR/storage" \
        VAULT_MASTER_KEY="$(head -c 32 /dev/urandom | base64 -w0)" HOST=127.0.0.1 PORT="$port" \
        AUTH_FAILURE_LIMIT=0 LONG_POLL_MAX_SECONDS=2 LOG_LEVEL=warning \
        "$bin" serve >"$CONTRACT_DIR/controller.log" 2>&1 &
    CONTRACT_PID=$!
    deadline=$((SECONDS + 60))
    until curl -fs -o /dev/null "http://127.0.0.1:$port/health"; do
        if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$CONTRACT_PID" 2>/dev/null; then
            tail -n 20 "$CONTRACT_DIR/controller.log" >&2 || true
            stop_contract_controller
            warn "the controller for the contract check did not start"
            return 1
        fi
        sleep 0.5
    done
    set +e
    BASE_URL="http://127.0.0.1:$port" CONTROLLER_API_KEY="$key" MAX_TIME="${SCHEMATHESIS_MAX_TIME:-120}" \
        MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-10}" "$FAC_ROOT/scripts/schemathesis.sh"
    rc=$?
    set -e
    if [ "$rc" -ne 0 ]; then
        info "controller log (last lines):"
        tail -n 30 "$CONTRACT_DIR/controller.log" >&2 || true
    fi
    stop_contract_controller
    return "$rc"
}

section "Checking dependencies"
ensure_swift_on_path
ensure_dependencies
info "swift: $(swift --version 2>/dev/null | head -n 1)"
info "postgres: $(pg_bindir)"

if [ -n "${FAC_TEST_DATABASE_URL:-}" ]; then
    section "Using the caller's FAC_TEST_DATABASE_URL (no throwaway cluster)"
else
    section "Starting a throwaway PostgreSQL cluster"
    sweep_stale_clusters
    start_test_cluster
fi
info "FAC_TEST_DATABASE_URL=$FAC_TEST_DATABASE_URL"

# The store's tests run against both backends: the S3 ones talk to moto's S3 server, signatures checked.
if [ -n "${FAC_TEST_S3_ENDPOINT:-}" ]; then
    section "Using the caller's FAC_TEST_S3_* (no moto server started)"
else
    section "Starting moto's S3 server"
    MOTO_DIR="$(mktemp -d "${TMPDIR:-/tmp}/fac-test-moto.XXXXXX")"
    moto_start "$MOTO_DIR" || die "could not start moto's S3 server"
fi

# The tests run stores, vaults and whole gateways in this one process, like `serve` does, so they get its blocking
# pool: `serve` asks for max(8, 4 × cores) threads (archive inspection and S3 staged reads hold one while they wait),
# while NIO's default is one per core. With two threads, forty tests running at once queued their file I/O behind
# each other's inspections and timed-out tests that are about something else.
export NIO_SINGLETON_BLOCKING_POOL_THREAD_COUNT="${NIO_SINGLETON_BLOCKING_POOL_THREAD_COUNT:-8}"

section "Building (swift build --build-tests)"
swift build --build-tests

section "Running the tests (swift test $*)"
set +e
swift test "$@"
rc=$?
set -e

# The dashboard in headless Chromium, against the built executable and this cluster. Only for a whole
# run (a --filter run is about something else) or when FAC_BROWSER_TEST=1 asks for it.
if [ "$rc" -eq 0 ] && { [ "$#" -eq 0 ] || [ "${FAC_BROWSER_TEST:-0}" = "1" ]; }; then
    section "Running the browser test (scripts/browser-test.sh)"
    set +e
    "$FAC_ROOT/scripts/browser-test.sh"
    rc=$?
    set -e
fi

# Three controllers behind nginx (deploy/nginx/free-agent-controller.conf) on one database and one store (moto's
# bucket when the executable has the S3 driver): every client generation, long-polls woken across processes, a
# SIGKILL mid-build, nothing lost or assigned twice. Whole runs only, or when FAC_SCALE_OUT_TEST=1 asks for it.
if [ "$rc" -eq 0 ] && { [ "$#" -eq 0 ] || [ "${FAC_SCALE_OUT_TEST:-0}" = "1" ]; }; then
    section "Running the scale-out test (scripts/scale-out-test.sh)"
    set +e
    "$FAC_ROOT/scripts/scale-out-test.sh"
    rc=$?
    set -e
fi

# The published contract, checked by schemathesis against a live controller (whole runs only).
if [ "$rc" -eq 0 ] && [ "$#" -eq 0 ] && [ "${FAC_SKIP_SCHEMATHESIS:-0}" != "1" ]; then
    section "Contract check: schemathesis against a live controller"
    set +e
    run_contract_check
    rc=$?
    set -e
fi

# Every fuzz target for a short time against its committed corpus (whole runs only): a parser that crashes on
# a known input, or on what a few seconds of mutation find, fails the suite (Fuzz/ci.sh; FUZZ_CI_SECONDS each).
if [ "$rc" -eq 0 ] && [ "$#" -eq 0 ] && [ "${FAC_SKIP_FUZZ:-0}" != "1" ]; then
    section "Fuzz targets (Fuzz/ci.sh, ${FUZZ_CI_SECONDS:-20} s each)"
    set +e
    "$FAC_ROOT/Fuzz/ci.sh"
    rc=$?
    set -e
fi

if [ "$rc" -eq 0 ]; then
    section "Tests passed"
else
    section "Tests FAILED (exit code $rc)"
fi
exit "$rc"
