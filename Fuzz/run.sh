#!/usr/bin/env bash
# Builds and runs every fuzz target (or those named) for SECONDS each against a scratch copy of its corpus.
#
#   Fuzz/run.sh                 # 30 s per target
#   Fuzz/run.sh 300 multipart   # 5 min, one target
#
# Exits non-zero when any target crashes, leaks, times out or runs out of memory; the input that did it is left in
# Fuzz/out/artifacts/<target>/ (reproduce with `Fuzz/out/<target> <file>`). Prints, per target, libFuzzer's final
# executions/s, coverage (cov: edges, ft: features) and corpus size. New corpus entries stay in the scratch copy
# (Fuzz/out/corpus/<target>); merge the good ones by hand (see Fuzz/README.md).
#
# Environment: FUZZ_JOBS (default 1) runs that many targets at once; FUZZ_ARGS adds libFuzzer flags.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-30}"
shift || true
OUT="$ROOT/Fuzz/out"

"$ROOT/Fuzz/build.sh" "$@" || { echo "fuzz build failed" >&2; exit 2; }

targets=("$@")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(ls "$ROOT/Fuzz/Targets")

# Swift's own crash handler fights ASan for the signal; let libFuzzer report the crash instead.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"

run_one() {
    local target="$1"
    local corpus="$OUT/corpus/$target" artifacts="$OUT/artifacts/$target" log="$OUT/logs/$target.log"
    rm -rf "$corpus" "$artifacts"
    mkdir -p "$corpus" "$artifacts" "$OUT/logs"
    [ -d "$ROOT/Fuzz/Corpus/$target" ] && cp -R "$ROOT/Fuzz/Corpus/$target/." "$corpus/"
    local args=(-max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024
        -print_final_stats=1 -artifact_prefix="$artifacts/" -close_fd_mask=0)
    [ -f "$ROOT/Fuzz/Dict/$target.dict" ] && args+=(-dict="$ROOT/Fuzz/Dict/$target.dict")
    [ -f "$ROOT/Fuzz/Targets/$target/options" ] && read -r -a extra <"$ROOT/Fuzz/Targets/$target/options" && args+=("${extra[@]}")
    # shellcheck disable=SC2086
    "$OUT/$target" "${args[@]}" ${FUZZ_ARGS:-} "$corpus" >"$log" 2>&1
    echo $? >"$OUT/logs/$target.rc"
}

jobs_max="${FUZZ_JOBS:-1}"
for target in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
    echo "[fuzz-run] $target: ${SECONDS_PER_TARGET}s" >&2
    run_one "$target" &
done
wait

failed=0
printf '\n%-12s %8s %8s %8s %10s %6s  %s\n' target exec/s cov ft corpus runs result
for target in "${targets[@]}"; do
    log="$OUT/logs/$target.log"
    rc="$(cat "$OUT/logs/$target.rc" 2>/dev/null || echo 99)"
    final="$(grep -E '^#[0-9]+' "$log" | tail -1)"
    cov="$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$final")"
    ft="$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$final")"
    corp="$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$final")"
    execs="$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log")"
    runs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")"
    result=ok
    if [ "$rc" != 0 ]; then
        result="FAILED (rc $rc): $(grep -m1 -E 'ERROR: |Fatal error|fuzz property violated' "$log" | cut -c1-120)"
        failed=1
    fi
    printf '%-12s %8s %8s %8s %10s %6s  %s\n' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${runs:-?}" "$result"
done
if [ "$failed" = 1 ]; then
    echo "fuzzing found a problem: inputs are in $OUT/artifacts/<target>/, logs in $OUT/logs/" >&2
    exit 1
fi
