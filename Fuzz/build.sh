#!/usr/bin/env bash
# Builds every libFuzzer target into Fuzz/out/<target>.
#
#   Fuzz/build.sh            # all targets
#   Fuzz/build.sh json multipart
#
# How: no second SwiftPM build. Our own modules that parse untrusted bytes (Identifiers, ArtifactStore,
# CertVault, Gateway) are recompiled with `swiftc -wmo -sanitize=fuzzer,address
# -enable-testing` straight from their sources into Fuzz/out/build; every other dependency (NIO, Hummingbird,
# PostgresNIO, swift-crypto, ...) is linked from the objects the ordinary `swift build --build-tests` already made
# (.build/debug), packed into one static archive so each fuzzer pulls in only what it uses. Each target is one
# file, Fuzz/Targets/<name>/main.swift, that `@testable import`s the instrumented modules and exports
# LLVMFuzzerTestOneInput.
#
# Environment: FUZZ_OPT (default -O) is the optimisation level of the instrumented code;
# FUZZ_SANITIZE (default fuzzer,address).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/Fuzz/out"
BUILD="$OUT/build"
MODS="$BUILD/Modules"
OPT="${FUZZ_OPT:--O}"
SANITIZE="${FUZZ_SANITIZE:-fuzzer,address}"
SWIFTC="${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}"
mkdir -p "$MODS"

log() { printf '[fuzz-build] %s\n' "$*" >&2; }

# 1. The ordinary debug build provides the dependencies' modules and objects.
DEBUG_DIR="$ROOT/.build/debug"
LINK_LIST="$DEBUG_DIR/free-agent-controllerPackageTests.product/Objects.LinkFileList"
if [ ! -f "$LINK_LIST" ] || [ ! -f "$DEBUG_DIR/Modules/Gateway.swiftmodule" ]; then
    log "no debug build with tests yet: running swift build --build-tests"
    swift build --build-tests
fi
YAML="$ROOT/.build/debug.yaml"

# The -Xcc module-map flags SwiftPM gives Gateway cover every C module below it (NIO's shims, CLibArchive,
# COpenSSL, BoringSSL); read them from the build description rather than repeating paths here.
XCC_FILE="$BUILD/xcc.args"
if [ ! -f "$XCC_FILE" ] || [ "$YAML" -nt "$XCC_FILE" ]; then
    python3 - "$YAML" >"$XCC_FILE" <<'PY'
import sys, json
text = open(sys.argv[1]).read()
start = text.find('"C.Gateway-')
block = text[start:text.find('\n  "', start + 10)]
args = json.loads(block[block.find('args:') + 5:].strip().splitlines()[0])
out = []
for i, a in enumerate(args):
    if a == '-Xcc' and i + 1 < len(args):
        out += ['-Xcc', args[i + 1]]
print('\n'.join(out))
PY
fi
mapfile -t XCC <"$XCC_FILE"
# LegacyImport also reads SQLite: its system-library module map is not among Gateway's.
XCC+=(-Xcc "-fmodule-map-file=$ROOT/Sources/CSQLite/module.modulemap" -Xcc "-I$ROOT/Sources/CSQLite")

COMMON=(-target x86_64-unknown-linux-gnu -parse-as-library -g -sanitize="$SANITIZE" "$OPT"
    -I "$MODS" -I "$DEBUG_DIR/Modules" "${XCC[@]}" -module-cache-path "$BUILD/ModuleCache"
    -DSWIFT_PACKAGE -Xcc -fno-omit-frame-pointer)
OURS=(-swift-version 6 -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility
    -package-name main -enable-testing)

# 2. Instrumented modules, in dependency order; each is rebuilt only when one of its sources is newer.
build_module() {
    local name="$1" dir="$2"; shift 2
    local sources
    mapfile -t sources < <(find "$dir" -name '*.swift' | sort)
    local object="$BUILD/$name.o"
    local stale=0
    if [ ! -f "$object" ]; then stale=1; else
        for s in "${sources[@]}"; do [ "$s" -nt "$object" ] && stale=1 && break; done
        # A dependency rebuilt since: rebuild too (cheap compared with chasing a stale module).
        for dep in "$@"; do [ "$BUILD/$dep.o" -nt "$object" ] && stale=1; done
    fi
    [ "$stale" = 1 ] || return 0
    log "compiling $name (${#sources[@]} files, $OPT, -sanitize=$SANITIZE)"
    local flags=("${OURS[@]}")
    "$SWIFTC" -module-name "$name" -wmo -num-threads 0 -emit-module -emit-module-path "$MODS/$name.swiftmodule" \
        -c -o "$object" "${COMMON[@]}" "${flags[@]}" "${sources[@]}"
}

build_module Identifiers Sources/Identifiers
build_module ArtifactStore Sources/ArtifactStore Identifiers
build_module CertVault Sources/CertVault Identifiers ArtifactStore
build_module Gateway Sources/Gateway Identifiers ArtifactStore CertVault
build_module LegacyImport Sources/LegacyImport Identifiers ArtifactStore CertVault

# 3. Everything else, from the debug build: one static archive per module (file names repeat across modules),
# linked as a group so that each fuzzer pulls in only the objects it needs.
DEPS_DIR="$BUILD/deps"
if [ ! -f "$DEPS_DIR/.stamp" ] || [ "$LINK_LIST" -nt "$DEPS_DIR/.stamp" ] || [ "${BASH_SOURCE[0]}" -nt "$DEPS_DIR/.stamp" ]; then
    log "archiving dependency objects from $DEBUG_DIR"
    rm -rf "$DEPS_DIR"
    mkdir -p "$DEPS_DIR"
    grep -vE '/(Identifiers|ArtifactStore|CertVault|Gateway|LegacyImport|TestSupport|[A-Za-z]*Tests|free_agent_controller[A-Za-z]*|FreeAgentController)\.build/' \
        "$LINK_LIST" | tr -d "'\"" >"$BUILD/deps.list"
    sed -E 's#.*/([^/]+)\.build/.*#\1#' "$BUILD/deps.list" | sort -u | while read -r module; do
        grep "/$module\.build/" "$BUILD/deps.list" | xargs -d '\n' ar qcT "$DEPS_DIR/lib$module.a"
    done
    touch "$DEPS_DIR/.stamp"
fi
# swiftc would move bare .a inputs away from -Xlinker flags, so the whole group goes through -Xlinker.
DEPS=(-Xlinker --start-group)
for archive in "$DEPS_DIR"/lib*.a; do DEPS+=(-Xlinker "$archive"); done
DEPS+=(-Xlinker --end-group)

# 4. One executable per target.
LINK=(-L/usr/lib/x86_64-linux-gnu -lssl -lcrypto -larchive -lsqlite3 -lstdc++ -lm -lz)
OBJECTS=("$BUILD/Identifiers.o" "$BUILD/ArtifactStore.o" "$BUILD/CertVault.o" "$BUILD/Gateway.o")
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(ls "$ROOT/Fuzz/Targets")
fi
for target in "${targets[@]}"; do
    main="$ROOT/Fuzz/Targets/$target/main.swift"
    [ -f "$main" ] || { log "no such target: $target"; exit 2; }
    exe="$OUT/$target"
    objects=("${OBJECTS[@]}")
    # Only the legacy-import target links LegacyImport (and, through it, the Orchestrator's debug objects).
    [ "$target" = legacyrow ] && objects+=("$BUILD/LegacyImport.o")
    if [ -f "$exe" ] && [ ! "$main" -nt "$exe" ] && [ ! "$ROOT/Fuzz/Support/FuzzSupport.swift" -nt "$exe" ] && [ ! "$BUILD/Gateway.o" -nt "$exe" ] && [ ! "$BUILD/LegacyImport.o" -nt "$exe" ] && [ ! "$DEPS_DIR/.stamp" -nt "$exe" ]; then
        continue
    fi
    log "linking $target"
    "$SWIFTC" -module-name "fuzz_$target" "${COMMON[@]}" -swift-version 6 -package-name main \
        "$main" "$ROOT"/Fuzz/Support/*.swift "${objects[@]}" "${DEPS[@]}" "${LINK[@]}" -o "$exe" \
        2>"$BUILD/link-$target.log" || { grep -v 'Cannot export local symbol' "$BUILD/link-$target.log" >&2; exit 1; }
done
