# shellcheck shell=bash
# Helpers shared by scripts/*.sh. Source it; it defines functions and a few variables only.
#
#   FAC_ROOT      absolute path of the repository (the folder holding Package.swift)
#   FAC_DATA      absolute path of its local state folder, $FAC_ROOT/.data

FAC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
# shellcheck disable=SC2034 # used by the scripts that source this file
FAC_DATA="$FAC_ROOT/.data"

# Section headers and messages go to stderr so that stdout stays usable by callers.
section() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
info()    { printf '    %s\n' "$*" >&2; }
warn()    { printf 'warning: %s\n' "$*" >&2; }
die()     { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' (install sudo or run this script as root)"
    fi
}

# The Swift toolchain is the one thing a fresh machine is guaranteed to have, but a
# non-login shell (CI, cron) may not have it on PATH.
ensure_swift_on_path() {
    if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
        PATH="/opt/swift/usr/bin:$PATH"
        export PATH
    fi
    command -v swift >/dev/null 2>&1 || die "swift not found on PATH (expected the toolchain at /opt/swift)"
}

_fac_apt_updated=0

# apt_install PKG... : installs the given Debian packages, running `apt-get update` at most
# once per script run and only when something is actually missing.
apt_install() {
    [ "$#" -gt 0 ] || return 0
    command -v apt-get >/dev/null 2>&1 || die "missing packages ($*) and no apt-get: install them by hand"
    # Wait for a concurrent apt/dpkg (another worktree's script, unattended upgrades) instead
    # of failing at once on its lock.
    local apt_opts=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
    if [ "$_fac_apt_updated" -eq 0 ]; then
        info "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update -qq \
            || die "apt-get update failed"
        _fac_apt_updated=1
    fi
    info "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq \
        --no-install-recommends "$@" || die "apt-get install $* failed"
}

deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# ensure_dependencies: everything that building, serving and testing need beyond the Swift
# toolchain. Checks first, installs only what is missing.
ensure_dependencies() {
    local missing=() pkg
    # C libraries linked by the package (COpenSSL, CLibArchive) and by Foundation/NIO.
    for pkg in libarchive-dev libssl-dev libsqlite3-dev zlib1g-dev; do
        deb_installed "$pkg" || missing+=("$pkg")
    done
    # SwiftPM finds the system libraries' flags through pkg-config.
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    # TLSTests make a self-signed certificate with the openssl CLI.
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    # PostgreSQL server binaries (initdb, pg_ctl, postgres, psql, pg_isready).
    # postgres.sh may not be sourced by every caller, so look directly.
    local have_pg=0 d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/psql" ] && have_pg=1
    done
    [ "$have_pg" -eq 1 ] || missing+=(postgresql)
    if [ "${#missing[@]}" -gt 0 ]; then
        section "Installing missing packages: ${missing[*]}"
        apt_install "${missing[@]}"
    fi
}

# free_port: a TCP port on 127.0.0.1 that was free a moment ago (another process may still take it first:
# test.sh retries its cluster start for that reason).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# random_token N : N characters from [A-Za-z0-9_-] (base64url alphabet), from /dev/urandom.
random_token() {
    local n="$1" out=""
    while [ "${#out}" -lt "$n" ]; do
        out+="$(head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')"
    done
    printf '%s' "${out:0:$n}"
}

# random_alnum N : N characters from [A-Za-z0-9]; safe inside URLs and SQL literals unquoted.
random_alnum() {
    local n="$1" out=""
    while [ "${#out}" -lt "$n" ]; do
        out+="$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9')"
    done
    printf '%s' "${out:0:$n}"
}

# write_secret_file PATH VALUE : creates PATH with mode 0600 holding VALUE (no newline),
# atomically, so that a crash never leaves a half-written key behind.
write_secret_file() {
    local path="$1" value="$2" tmp
    mkdir -p "$(dirname "$path")"
    tmp="$(umask 077 && mktemp "$path.tmp.XXXXXX")"
    printf '%s' "$value" >"$tmp"
    chmod 600 "$tmp"
    mv -f "$tmp" "$path"
}
