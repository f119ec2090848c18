#!/usr/bin/env bash
# Drives one Android build end to end against a running controller, with curl, the way the
# CLI and a worker do (docs: /api contract). Fails loudly at the first unexpected answer.
#
#   scripts/up.sh                      # in one terminal
#   scripts/smoke.sh                   # in another
#
# Environment:
#   BASE_URL            controller URL (default http://127.0.0.1:3000)
#   CONTROLLER_API_KEY  API key (default: the contents of .data/api-key)
#   SMOKE_KEEP=1        keep the temporary folder with every request's reply
#
# It submits a build, so it changes the controller's data: point it at a dev instance. When
# older builds are still queued, the worker would be handed one of those instead of ours:
# the script then gives that build back to the queue and stops.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

BASE_URL="${BASE_URL:-http://127.0.0.1:3000}"
BASE_URL="${BASE_URL%/}"
if [ -z "${CONTROLLER_API_KEY:-}" ]; then
    [ -r "$FAC_DATA/api-key" ] || die "set CONTROLLER_API_KEY or run scripts/up.sh (it writes .data/api-key)"
    CONTROLLER_API_KEY="$(cat "$FAC_DATA/api-key")"
fi
command -v curl >/dev/null 2>&1 || die "curl is required"
command -v python3 >/dev/null 2>&1 || die "python3 is required"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fac-smoke.XXXXXX")"
finish() {
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        printf '\nSMOKE FAILED (replies kept in %s)\n' "$WORK" >&2
    elif [ "${SMOKE_KEEP:-0}" = "1" ]; then
        info "replies kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap finish EXIT

STEP=0
step() { STEP=$((STEP + 1)); printf '\n[%02d] %s\n' "$STEP" "$*" >&2; }

# http EXPECTED_CODE OUT_FILE curl-args... : one request; dies unless the status matches.
http() {
    local expected="$1" out="$2"; shift 2
    local code
    code="$(curl -sS -o "$out" -w '%{http_code}' --max-time 60 "$@")" || die "curl failed: $*"
    if [ "$code" != "$expected" ]; then
        printf 'expected HTTP %s, got %s for: curl %s\nbody: ' "$expected" "$code" "$*" >&2
        head -c 2000 "$out" >&2 || true
        echo >&2
        exit 1
    fi
    info "HTTP $code"
}

# json FILE EXPR : prints a value of the JSON in FILE; EXPR is Python over `d`, e.g. d["id"].
# None prints as "null"; a missing key fails.
json() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
v = eval(sys.argv[2], {"d": d})
print("null" if v is None else (json.dumps(v) if isinstance(v, (dict, list, bool)) else v))
EOF
}

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
    [ "$2" = "$3" ] || die "$1: expected '$3', got '$2'"
    info "$1 = $2"
}

make_zip() { # make_zip OUT NAME=CONTENT...
    python3 - "$@" <<'EOF'
import sys, zipfile
out, entries = sys.argv[1], sys.argv[2:]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for e in entries:
        name, _, content = e.partition("=")
        z.writestr(name, content)
EOF
}

K=(-H "X-API-Key: $CONTROLLER_API_KEY")

step "GET /health"
http 200 "$WORK/health.json" "$BASE_URL/health"
expect_eq "health.status" "$(json "$WORK/health.json" 'd["status"]')" ok

step "make a tiny Expo project ZIP"
make_zip "$WORK/project.zip" \
    'package.json={"name":"smoke","version":"1.0.0","main":"index.js"}' \
    'app.json={"expo":{"name":"smoke","slug":"smoke","android":{"package":"dev.freeagent.smoke"}}}' \
    'index.js=console.log("smoke")'
info "$(wc -c <"$WORK/project.zip") bytes"

step "submit it (POST /api/builds/submit, X-API-Key, multipart source + platform)"
http 200 "$WORK/submit.json" "${K[@]}" \
    -F "source=@$WORK/project.zip;type=application/zip" -F platform=android \
    "$BASE_URL/api/builds/submit"
BUILD_ID="$(json "$WORK/submit.json" 'd["id"]')"
BUILD_TOKEN="$(json "$WORK/submit.json" 'd["access_token"]')"
expect_eq "submit.status" "$(json "$WORK/submit.json" 'd["status"]')" pending
expect_eq "submit.platform" "$(json "$WORK/submit.json" 'd["platform"]')" android
[[ "$BUILD_ID" =~ ^[A-Za-z0-9_-]{21}$ ]] || die "build id '$BUILD_ID' is not 21 URL-safe characters"
[[ "$BUILD_TOKEN" =~ ^[A-Za-z0-9_-]{43}$ ]] || die "access_token is not 43 base64url characters"
info "build $BUILD_ID"
BT=(-H "X-Build-Token: $BUILD_TOKEN")

step "status with the build token alone"
http 200 "$WORK/status1.json" "${BT[@]}" "$BASE_URL/api/builds/$BUILD_ID/status"
expect_eq "status.status" "$(json "$WORK/status1.json" 'd["status"]')" pending

step "register a worker (POST /api/workers/register, X-API-Key)"
http 200 "$WORK/register.json" "${K[@]}" -H 'Content-Type: application/json' \
    -d '{"name":"smoke","capabilities":{"platforms":["android"]}}' \
    "$BASE_URL/api/workers/register"
WORKER_ID="$(json "$WORK/register.json" 'd["id"]')"
WORKER_TOKEN="$(json "$WORK/register.json" 'd["access_token"]')"
expect_eq "register.status" "$(json "$WORK/register.json" 'd["status"]')" registered
info "worker $WORKER_ID"

step "poll (GET /api/workers/poll, X-Worker-Token)"
http 200 "$WORK/poll.json" -H "X-Worker-Token: $WORKER_TOKEN" "$BASE_URL/api/workers/poll"
JOB_ID="$(json "$WORK/poll.json" '(d["job"] or {}).get("id")')"
WORKER_TOKEN="$(json "$WORK/poll.json" 'd["access_token"]')"
if [ "$JOB_ID" != "$BUILD_ID" ]; then
    if [ "$JOB_ID" != "null" ]; then
        # An older queued build came first: hand it back untouched, then stop.
        curl -sS -o /dev/null -H "X-Worker-Token: $WORKER_TOKEN" -H 'Content-Type: application/json' \
            -d "{\"build_id\":\"$JOB_ID\",\"reason\":\"smoke test took it by mistake\"}" \
            "$BASE_URL/api/workers/abandon" || true
        # Leave nothing of ours behind either: cancel our build, retire the worker.
        curl -sS -o /dev/null "${BT[@]}" -X POST -H 'Content-Type: application/json' \
            "$BASE_URL/api/builds/$BUILD_ID/cancel" || true
        curl -sS -o /dev/null -X POST -H "X-Worker-Token: $WORKER_TOKEN" -H 'Content-Type: application/json' \
            -d '{}' "$BASE_URL/api/workers/unregister" || true
        die "the worker was given older build $JOB_ID, not ours: drain the queue (or reset .data) and retry"
    fi
    die "poll gave no job (expected build $BUILD_ID)"
fi
expect_eq "job.platform" "$(json "$WORK/poll.json" 'd["job"]["platform"]')" android
expect_eq "job.source_url" "$(json "$WORK/poll.json" 'd["job"]["source_url"]')" "/api/builds/$BUILD_ID/source"
[ -n "$(json "$WORK/poll.json" 'd["job"]["otp"]')" ] || die "job has no otp"
W=(-H "X-Worker-Token: $WORKER_TOKEN")

step "fetch the source with the worker token (GET source_url)"
http 200 "$WORK/source.zip" "${W[@]}" "$BASE_URL/api/builds/$BUILD_ID/source"
cmp "$WORK/project.zip" "$WORK/source.zip" || die "source bytes differ from the submitted ZIP"
info "source identical to the upload"

step "build heartbeat (POST /api/builds/:id/heartbeat, progress 50)"
http 200 "$WORK/heartbeat.json" "${W[@]}" -H 'Content-Type: application/json' \
    -d '{"progress":50}' "$BASE_URL/api/builds/$BUILD_ID/heartbeat?worker_id=$WORKER_ID"
expect_eq "heartbeat.status" "$(json "$WORK/heartbeat.json" 'd["status"]')" ok

step "status is now building"
http 200 "$WORK/status2.json" "${BT[@]}" "$BASE_URL/api/builds/$BUILD_ID/status"
expect_eq "status.status" "$(json "$WORK/status2.json" 'd["status"]')" building

step "post a log line (POST /api/builds/:id/logs)"
http 200 "$WORK/postlog.json" "${W[@]}" -H 'Content-Type: application/json' \
    -d '{"level":"info","message":"smoke: gradle assembleRelease"}' \
    "$BASE_URL/api/builds/$BUILD_ID/logs"
expect_eq "logs.success" "$(json "$WORK/postlog.json" 'd["success"]')" true

step "upload the result (POST /api/workers/upload, multipart, X-Worker-Token)"
make_zip "$WORK/result.apk" 'AndroidManifest.xml=<manifest package="dev.freeagent.smoke"/>' 'classes.dex=dex'
http 200 "$WORK/upload.json" "${W[@]}" \
    -F "build_id=$BUILD_ID" -F "worker_id=$WORKER_ID" -F success=true \
    -F "result=@$WORK/result.apk;type=application/zip" \
    "$BASE_URL/api/workers/upload"
expect_eq "upload.status" "$(json "$WORK/upload.json" 'd["status"]')" success

step "status with the build token: completed"
http 200 "$WORK/status3.json" "${BT[@]}" "$BASE_URL/api/builds/$BUILD_ID/status"
expect_eq "status.status" "$(json "$WORK/status3.json" 'd["status"]')" completed
[ "$(json "$WORK/status3.json" 'd["completed_at"]')" != null ] || die "completed_at is null"

step "logs with the build token (our line is there)"
http 200 "$WORK/logs.json" "${BT[@]}" "$BASE_URL/api/builds/$BUILD_ID/logs"
expect_eq "logs.build_id" "$(json "$WORK/logs.json" 'd["build_id"]')" "$BUILD_ID"
expect_eq "our log line present" \
    "$(json "$WORK/logs.json" 'any(l["message"] == "smoke: gradle assembleRelease" for l in d["logs"])')" true

step "download the result with the build token alone, compare bytes"
http 200 "$WORK/download.apk" "${BT[@]}" -D "$WORK/download.headers" \
    "$BASE_URL/api/builds/$BUILD_ID/download"
cmp "$WORK/result.apk" "$WORK/download.apk" || die "downloaded bytes differ from the uploaded result"
info "result identical to the upload"
grep -qi "^content-disposition:.*$BUILD_ID\.apk" "$WORK/download.headers" \
    || warn "Content-Disposition does not name $BUILD_ID.apk"

step "unregister the smoke worker (POST /api/workers/unregister)"
http 200 "$WORK/unregister.json" "${W[@]}" -H 'Content-Type: application/json' -d '{}' \
    "$BASE_URL/api/workers/unregister"

printf '\nSMOKE OK: build %s submitted, built by worker %s, downloaded intact\n' "$BUILD_ID" "$WORKER_ID"
