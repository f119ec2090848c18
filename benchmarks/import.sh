#!/usr/bin/env bash
# Benchmark of `free-agent-controller import-legacy` (issue 6): a generated old database of 50,000 builds and
# 5,000,000 log lines, imported into a throwaway PostgreSQL, with time, rows/s and peak RSS.
#
#   benchmarks/import.sh                         # build (or reuse) the release binary, run, print a Markdown section
#   BENCH_BUILDS=5000 benchmarks/import.sh       # a smaller database (the goals are stated for 50,000 builds)
#   BENCH_LOGS_PER_BUILD=100                     # log lines per build (default 100: 5,000,000 for 50,000 builds)
#   BENCH_SMALL=0 benchmarks/import.sh           # skip the one-tenth-size run that shows RSS does not grow with size
#   BENCH_BINARY=path benchmarks/import.sh       # measure that binary instead of building (checking the script)
#
# What it does, all in one temporary folder that is removed on exit:
# 1. builds `swift build -c release --scratch-path .build-release --product free-agent-controller`;
# 2. starts a throwaway PostgreSQL cluster (scripts/lib/postgres.sh, trust on 127.0.0.1, durability off);
# 3. for one tenth of the size (BENCH_SMALL) and the full size: generates the old database and storage folder with
#    Tests/LegacyImportTests/Fixtures/make_legacy_db.py, imports it into a fresh database under /usr/bin/time -v
#    (wall time, peak RSS), runs it again (the idempotent no-op re-run), and reads the counts from --report;
# 4. prints the figures as the Markdown section of docs/benchmarks.md (pasted by hand: this script never edits
#    the document, whose other sections belong to benchmarks/run.sh).
# The store's own fsyncs stay on (every copied file is synced before it becomes visible, as in production).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/lib/common.sh
source "$BENCH_DIR/../scripts/lib/common.sh"
# shellcheck source=scripts/lib/postgres.sh
source "$FAC_ROOT/scripts/lib/postgres.sh"
cd "$FAC_ROOT"

BENCH_BUILDS="${BENCH_BUILDS:-50000}"
BENCH_LOGS_PER_BUILD="${BENCH_LOGS_PER_BUILD:-100}"
BENCH_WORKERS="${BENCH_WORKERS:-20}"
BENCH_SMALL="${BENCH_SMALL:-1}"
SCRATCH="$FAC_ROOT/.build-release"
GENERATOR="$FAC_ROOT/Tests/LegacyImportTests/Fixtures/make_legacy_db.py"

ensure_swift_on_path
[ -x /usr/bin/time ] || apt_install time

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fac-import-bench.XXXXXX")"
chmod 711 "$WORK"
PG_DIR="$WORK/pg"
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    pg_cluster_stop "$PG_DIR" immediate 2>/dev/null || true
    rm -rf "$WORK"
    rm -rf "$(pg__socket_dir "$PG_DIR")" 2>/dev/null || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${BENCH_BINARY:-}" ]; then
    BIN="$BENCH_BINARY"
else
    section "Building the release binary ($SCRATCH)"
    swift build -c release --scratch-path "$SCRATCH" --product free-agent-controller 2>&1 | tail -n 3 >&2 \
        || die "the release build failed"
    BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/free-agent-controller"
fi
[ -x "$BIN" ] || die "no binary at $BIN"

section "Starting a throwaway PostgreSQL cluster"
PG_PORT="$(free_port)"
pg_cluster_start "$PG_DIR" "$PG_PORT" --trust --fast
pg_ensure_role_db "$PG_DIR" "$PG_PORT" fac_bench fac_bench
VAULT_KEY="$(head -c 32 /dev/urandom | base64 -w0)"
API_KEY="$(random_token 48)"

# measure NAME BUILDS: generates, imports, re-imports; appends one row of figures to $WORK/rows.
measure() {
    local name="$1" builds="$2" db="fac_bench_$1" dir="$WORK/$1"
    section "$name: $builds builds x $BENCH_LOGS_PER_BUILD log lines"
    local t0 t1
    t0="$(date +%s.%N)"
    python3 "$GENERATOR" "$dir/legacy" --builds "$builds" --logs-per-build "$BENCH_LOGS_PER_BUILD" \
        --workers "$BENCH_WORKERS" --seed 42 >&2
    t1="$(date +%s.%N)"
    info "generated in $(python3 -c "print(round($t1 - $t0))") s: $(du -sh "$dir/legacy" | cut -f1)"
    pg_psql "$PG_DIR" "$PG_PORT" <<<"CREATE DATABASE $db OWNER fac_bench" >/dev/null
    (
        export DATABASE_URL="postgres://fac_bench@127.0.0.1:$PG_PORT/$db"
        export CONTROLLER_API_KEY="$API_KEY" VAULT_MASTER_KEY="$VAULT_KEY" STORAGE_ROOT="$dir/store" LOG_LEVEL=error
        /usr/bin/time -v -o "$dir/time.txt" "$BIN" import-legacy --sqlite "$dir/legacy/controller.db" \
            --storage "$dir/legacy/storage" --report "$dir/report.json" >"$dir/stdout.txt" 2>"$dir/stderr.txt"
        /usr/bin/time -v -o "$dir/time2.txt" "$BIN" import-legacy --sqlite "$dir/legacy/controller.db" \
            --storage "$dir/legacy/storage" --report "$dir/report2.json" >/dev/null 2>"$dir/stderr2.txt"
    ) || { tail -n 5 "$dir/stderr.txt" "$dir/stderr2.txt" "$dir/time.txt" >&2 2>/dev/null; die "the import failed"; }
    python3 - "$dir" "$name" "$builds" >>"$WORK/rows" <<'PY'
import json, re, sys
d, name, builds = sys.argv[1], sys.argv[2], int(sys.argv[3])
def timing(path):
    text = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1).split(":")
    seconds = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return seconds, rss
seconds, rss = timing(d + "/time.txt")
again, _ = timing(d + "/time2.txt")
report = json.load(open(d + "/report.json"))
tables = report["tables"]
rows = sum(t["read"] for t in tables.values())
logs = tables["build_logs"]["imported"]
print("| " + " | ".join(str(x) for x in [
    name, builds, logs, rows, f"{seconds:.0f}", f"{rows / seconds:,.0f}", f"{logs / seconds:,.0f}",
    f"{rss / 1024:.0f}", report["files_copied"], f"{report['bytes_copied'] / 1048576:.1f}", f"{again:.1f}"]) + " |")
PY
    tail -n 1 "$WORK/rows" >&2
}

: >"$WORK/rows"
[ "$BENCH_SMALL" = 1 ] && measure small $((BENCH_BUILDS / 10))
measure full "$BENCH_BUILDS"

MACHINE="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
cat <<EOF

## Legacy import (issue 6)

\`benchmarks/import.sh\` on $(date -u +%Y-%m-%d), $MACHINE; release build; a throwaway PostgreSQL cluster with
durability off; the store's fsyncs on. One row per generated old database (\`make_legacy_db.py --seed 42\`,
$BENCH_LOGS_PER_BUILD log lines per build, $BENCH_WORKERS workers).

| database | builds | log lines imported | rows read (all tables) | time (s) | rows/s | log lines/s | peak RSS (MiB) | files copied | MiB copied | re-run (s) |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$(cat "$WORK/rows")
EOF
