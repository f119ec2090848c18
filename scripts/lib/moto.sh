# shellcheck shell=bash
# moto's S3 server for the tests: a real S3 API on loopback with signature checking on.
#
#   moto_start DIR   installs moto[server] from PyPI when missing, starts moto_server on a free port (log in DIR),
#                    provisions an IAM user, its key and a bucket (scripts/lib/moto_provision.py), and exports
#                    FAC_TEST_S3_ENDPOINT, FAC_TEST_S3_BUCKET, FAC_TEST_S3_REGION, FAC_TEST_S3_ACCESS_KEY_ID,
#                    FAC_TEST_S3_SECRET_ACCESS_KEY and MOTO_PID.
#   moto_stop        stops it (safe to call when it never started).
# Needs scripts/lib/common.sh (free_port, info, warn).

MOTO_PID=""

ensure_moto() {
    if ! command -v moto_server >/dev/null 2>&1 || ! python3 -c 'import boto3, flask' >/dev/null 2>&1; then
        info "installing moto[server] from PyPI"
        python3 -m pip install --quiet 'moto[server]'
    fi
}

moto_start() {
    local dir="$1" port endpoint deadline exports
    ensure_moto
    port="$(free_port)"
    endpoint="http://127.0.0.1:$port"
    # Three unauthenticated calls: the provisioning script's IAM calls. Everything after them is signed.
    INITIAL_NO_AUTH_ACTION_COUNT=3 moto_server -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
    MOTO_PID=$!
    deadline=$((SECONDS + 30))
    until curl -fs -o /dev/null "$endpoint/moto-api/"; do
        if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$MOTO_PID" 2>/dev/null; then
            tail -n 20 "$dir/moto.log" >&2 || true
            warn "moto_server did not start"
            return 1
        fi
        sleep 0.3
    done
    exports="$(python3 "$FAC_ROOT/scripts/lib/moto_provision.py" "$endpoint" fac-test-bucket)" || return 1
    eval "$exports"
    info "moto S3 server at $endpoint (bucket $FAC_TEST_S3_BUCKET, signatures checked)"
}

moto_stop() {
    if [ -n "$MOTO_PID" ]; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
        MOTO_PID=""
    fi
}
