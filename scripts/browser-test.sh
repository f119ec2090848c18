#!/usr/bin/env bash
# The dashboard in a real browser: two controller processes (the built executable) on one fresh
# database, headless Chromium signed in on the first, builds submitted through the second.
#
#   scripts/browser-test.sh                 # FAC_TEST_DATABASE_URL must name a database we may use
#   scripts/browser-test.sh --screenshots   # also refresh docs/dashboard-empty.png and dashboard-busy.png
#
# scripts/test.sh runs it after `swift test`, with its throwaway cluster. It installs what it needs
# (Debian: chromium, chromium-driver; PyPI: selenium). When Chromium cannot be installed it says so
# loudly and exits 0 — or 1 when FAC_REQUIRE_BROWSER=1 (CI sets it, so a skip cannot pass unnoticed).
#
# Environment: FAC_TEST_DATABASE_URL (required), FAC_CONTROLLER_BIN (default .build/debug/free-agent-controller).
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/postgres.sh
source "$FAC_ROOT/scripts/lib/postgres.sh"
cd "$FAC_ROOT"

SCREENSHOTS=""
[ "${1:-}" = "--screenshots" ] && SCREENSHOTS="$FAC_ROOT/docs"

skip() {
    printf '\n\033[1;33m!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
    printf '!!! BROWSER TEST SKIPPED: %s\n' "$*" >&2
    printf '!!! The dashboard was NOT tested in a browser.\n' >&2
    printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\033[0m\n\n' >&2
    [ "${FAC_REQUIRE_BROWSER:-0}" = "1" ] && die "FAC_REQUIRE_BROWSER=1: a skipped browser test fails the run"
    exit 0
}

section "Browser test: checking Chromium, chromedriver and Selenium"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ "${#missing[@]}" -gt 0 ]; then
    # apt_install dies on failure; run it in a subshell so that we can skip instead.
    (apt_install "${missing[@]}") || skip "could not install ${missing[*]} from Debian"
fi
command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || skip "chromium or chromedriver missing"
if ! python3 -c 'import selenium' 2>/dev/null; then
    info "pip install selenium"
    python3 -m pip install --quiet selenium >&2 || skip "could not install selenium from PyPI"
fi
info "$(chromium --version 2>/dev/null | head -n 1)"

[ -n "${FAC_TEST_DATABASE_URL:-}" ] || die "FAC_TEST_DATABASE_URL is required (scripts/test.sh sets it)"
BIN="${FAC_CONTROLLER_BIN:-$FAC_ROOT/.build/debug/free-agent-controller}"
if [ ! -x "$BIN" ]; then
    section "Building the controller"
    swift build --product free-agent-controller
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fac-browser.XXXXXX")"
DB="fac_browser_$(random_alnum 10 | tr 'A-Z' 'a-z')"
ADMIN_URL="$FAC_TEST_DATABASE_URL"
DB_URL="${FAC_TEST_DATABASE_URL%/*}/$DB"
PIDS=()
PSQL="$(pg_bindir 2>/dev/null)/psql"
[ -x "$PSQL" ] || PSQL=psql

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    "$PSQL" -X -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    if [ "$rc" -ne 0 ]; then
        for log in "$WORK"/controller-*.log; do
            [ -f "$log" ] || continue
            warn "last lines of $(basename "$log"):"
            tail -n 20 "$log" >&2 || true
        done
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$PSQL" -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null

API_KEY="$(random_token 48)"
VAULT_KEY="$(head -c 32 /dev/urandom | base64 -w0)"
mkdir -p "$WORK/storage"

start_controller() {
    local name="$1" port="$2"
    # Both share the storage folder and the database, as two processes behind a load balancer do.
    # JSON logs here, so the run also proves every line of a real process parses.
    env DATABASE_URL="$DB_URL" CONTROLLER_API_KEY="$API_KEY" VAULT_MASTER_KEY="$VAULT_KEY" \
        STORAGE_ROOT="$WORK/storage" HOST=127.0.0.1 PORT="$port" LOG_FORMAT=json \
        "$BIN" serve >"$WORK/controller-$name.log" 2>&1 &
    PIDS+=("$!")
}

wait_healthy() {
    local port="$1" i
    for i in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "the controller on port $port did not become healthy"
}

section "Starting two controllers on database $DB"
PORT_A="$(free_port)"
start_controller a "$PORT_A"
wait_healthy "$PORT_A"   # A migrates first; B then finds the schema ready
PORT_B="$(free_port)"
start_controller b "$PORT_B"
wait_healthy "$PORT_B"
info "A on $PORT_A, B on $PORT_B"

section "Running Tests/Browser/dashboard_test.py"
FAC_A_URL="http://127.0.0.1:$PORT_A" FAC_B_URL="http://127.0.0.1:$PORT_B" FAC_API_KEY="$API_KEY" \
    FAC_SCREENSHOTS="$SCREENSHOTS" python3 "$FAC_ROOT/Tests/Browser/dashboard_test.py"

section "Checking the controllers' logs"
python3 - "$API_KEY" "$WORK"/controller-a.log "$WORK"/controller-b.log <<'EOF'
import json, sys
key, paths = sys.argv[1], sys.argv[2:]
lines = 0
for path in paths:
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            continue
        event = json.loads(line)  # every line is one JSON object
        assert key not in line, f"{path}:{number} holds the API key"
        assert {"ts", "level", "msg"} <= event.keys(), f"{path}:{number} lacks ts/level/msg"
        lines += 1
print(f"    {lines} log lines, all JSON objects, none with the API key", file=sys.stderr)
EOF
section "Browser test passed"
