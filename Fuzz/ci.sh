#!/usr/bin/env bash
# CI entry point: builds every fuzz target and runs each for a short time (FUZZ_CI_SECONDS, default 20) against its
# committed corpus, then replays every input a fuzzer ever failed on (Fuzz/Regressions/<target>/) through its fixed
# target; fails on any crash, leak, timeout or property violation. Expects the ordinary debug build
# (`swift build --build-tests`) to have run first in the same checkout: its dependency objects are reused.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
start=$(date +%s)
FUZZ_JOBS="${FUZZ_JOBS:-2}" "$ROOT/Fuzz/run.sh" "${FUZZ_CI_SECONDS:-20}"
export SWIFT_BACKTRACE=enable=no
for folder in "$ROOT"/Fuzz/Regressions/*/; do
    target="$(basename "$folder")"
    inputs=("$folder"*)
    [ -e "${inputs[0]}" ] || continue
    echo "fuzz CI: replaying ${#inputs[@]} regression input(s) through $target" >&2
    (cd "$ROOT/Fuzz/out" && "./$target" -runs=1 "${inputs[@]}" >/dev/null 2>"$ROOT/Fuzz/out/logs/$target.regressions.log") || {
        echo "fuzz CI: a regression input fails $target again (Fuzz/out/logs/$target.regressions.log)" >&2
        exit 1
    }
done
echo "fuzz CI: $(( $(date +%s) - start ))s" >&2
