#!/usr/bin/env bash
# Property-based checks of a running controller against the OpenAPI document it serves (/api/openapi.yaml):
# no 5xx (not_a_server_error) and every response matches its documented schema (response_schema_conformance).
#
#   BASE_URL            the controller (default http://127.0.0.1:3000); loopback only
#   CONTROLLER_API_KEY  sent as X-API-Key (default: the contents of .data/api-key)
#   MAX_EXAMPLES        examples per operation (default 20)
#   MAX_TIME            time budget of the whole run in seconds (default 300)
#
# A poll with a large ?wait is held up to LONG_POLL_MAX_SECONDS (60 s by default): the request timeout is above it.
# Extra arguments go to `schemathesis run` as they are (e.g. --include-path-regex '^/api/builds').
# It writes: builds, workers and diagnostics reports into the controller's database. Use a throwaway one.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_URL="${BASE_URL:-http://127.0.0.1:3000}"
BASE_URL="${BASE_URL%/}"
case "$BASE_URL" in
  http://127.0.0.1:*|http://localhost:*|http://\[::1\]:*) ;;
  *) echo "schemathesis.sh: BASE_URL must be a loopback http URL, got $BASE_URL" >&2; exit 2 ;;
esac

API_KEY="${CONTROLLER_API_KEY:-}"
if [ -z "$API_KEY" ] && [ -f .data/api-key ]; then API_KEY="$(tr -d '[:space:]' < .data/api-key)"; fi
if [ -z "$API_KEY" ]; then echo "schemathesis.sh: set CONTROLLER_API_KEY or create .data/api-key" >&2; exit 2; fi

if ! command -v schemathesis >/dev/null 2>&1; then
  echo "schemathesis.sh: installing schemathesis from PyPI" >&2
  python3 -m pip install --quiet schemathesis
fi

if ! curl -fsS -o /dev/null "$BASE_URL/api/openapi.yaml"; then
  echo "schemathesis.sh: no controller answering $BASE_URL/api/openapi.yaml" >&2
  exit 2
fi

# Run outside the checkout: schemathesis keeps a cache folder (.schemathesis) in its working directory.
cd "${TMPDIR:-/tmp}"
exec schemathesis run "$BASE_URL/api/openapi.yaml" \
  --url "$BASE_URL" \
  --header "X-API-Key: $API_KEY" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "${MAX_EXAMPLES:-20}" \
  --max-time "${MAX_TIME:-300}" \
  --request-timeout 75 \
  --continue-on-failure \
  --generation-database none \
  "$@"
