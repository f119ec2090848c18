#!/usr/bin/env bash
# CI entry point: builds every fuzz target and runs each for a short time (FUZZ_CI_SECONDS, default 20) against its
# committed corpus; fails on any crash, leak, timeout or property violation. Expects the ordinary debug build
# (`swift build --build-tests`) to have run first in the same checkout: its dependency objects are reused.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
start=$(date +%s)
FUZZ_JOBS="${FUZZ_JOBS:-2}" "$ROOT/Fuzz/run.sh" "${FUZZ_CI_SECONDS:-20}"
echo "fuzz CI: $(( $(date +%s) - start ))s" >&2
