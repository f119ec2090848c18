# shellcheck shell=bash
# Private PostgreSQL clusters for development and tests. Source it after lib/common.sh.
#
# A cluster lives in one folder DIR:
#   DIR/data          the data directory (PGDATA)
#   DIR/run           the unix socket directory (mode 0700; see pg__socket_dir for long paths)
#   DIR/server.log    the server's log
#
# It listens only on 127.0.0.1 and on that unix socket. Its superuser is `postgres`.
# Authentication:
#   - unix socket: trust. Only the cluster's OS owner (and root) can open the socket folder,
#     so this is the same guarantee as `peer`, without depending on the OS user's name.
#   - 127.0.0.1:   scram-sha-256 (password) by default; `trust` for throwaway test clusters
#     only (pg_cluster_start ... --trust).
#
# initdb and postgres refuse to run as root. When these helpers run as root, the cluster is
# owned by and run as an unprivileged system user, $FAC_PG_USER (default `freeagent`, created
# with `useradd --system` when missing), through runuser. As a normal user, the cluster is the
# user's own.

FAC_PG_USER="${FAC_PG_USER:-freeagent}"

# pg_bindir: prints the newest PostgreSQL server bin directory (one holding initdb and pg_ctl).
# PG_BINDIR overrides the search.
pg_bindir() {
    if [ -n "${PG_BINDIR:-}" ]; then
        [ -x "$PG_BINDIR/initdb" ] || die "PG_BINDIR=$PG_BINDIR has no initdb"
        printf '%s\n' "$PG_BINDIR"
        return
    fi
    local d best="" best_ver=-1 ver
    # Debian's /usr/bin/pg_config names the server's bin dir when a server is installed.
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir 2>/dev/null || true)"
        if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            best="$d"
            best_ver="$(basename "$(dirname "$d")")"
            case "$best_ver" in *[!0-9]*|"") best_ver=0 ;; esac
        fi
    fi
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] || continue
        ver="$(basename "$(dirname "$d")")"
        case "$ver" in *[!0-9]*|"") continue ;; esac
        if [ "$ver" -gt "$best_ver" ]; then best="$d"; best_ver="$ver"; fi
    done
    [ -n "$best" ] || die "no PostgreSQL server binaries found (apt-get install postgresql)"
    printf '%s\n' "$best"
}

# pg_os_user: the OS user that owns and runs clusters (ourselves unless we are root).
pg_os_user() {
    if is_root; then printf '%s\n' "$FAC_PG_USER"; else id -un; fi
}

# pg_ensure_os_user: when root, creates the unprivileged system user that runs the clusters.
pg_ensure_os_user() {
    is_root || return 0
    id -u "$FAC_PG_USER" >/dev/null 2>&1 && return 0
    info "creating system user $FAC_PG_USER to run PostgreSQL (initdb refuses root)"
    # A concurrent script may create it at the same moment: only fail if it still is missing.
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$FAC_PG_USER" 2>/dev/null \
        || id -u "$FAC_PG_USER" >/dev/null 2>&1 \
        || die "could not create system user $FAC_PG_USER"
}

# pg_as CMD... : runs a command as the cluster's OS user, from / (the caller's folder may be
# unreadable to that user, which makes initdb and psql complain).
pg_as() {
    if is_root; then
        (cd / && runuser -u "$FAC_PG_USER" -- "$@")
    else
        (cd / && "$@")
    fi
}

# pg__socket_dir DIR: where the cluster's unix socket lives. DIR/run normally; unix socket
# paths are limited to 107 bytes, so a deep DIR gets a short, stable folder under /tmp instead.
pg__socket_dir() {
    local dir="$1"
    if [ "${#dir}" -le 80 ]; then
        printf '%s/run\n' "$dir"
    else
        printf '/tmp/fac-pg-%s\n' "$(printf '%s' "$dir" | sha256sum | cut -c1-16)"
    fi
}

# pg__check_reachable DIR: as root, the cluster user must be able to reach DIR by its path.
pg__check_reachable() {
    local dir="$1"
    is_root || return 0
    if ! runuser -u "$FAC_PG_USER" -- test -x "$(dirname "$dir")"; then
        die "user $FAC_PG_USER cannot reach $(dirname "$dir") (a parent folder is not world-executable): chmod o+x it, or put the cluster elsewhere"
    fi
}

# pg_cluster_running DIR: true when the cluster's postmaster is alive.
pg_cluster_running() {
    local dir="$1" bin
    [ -f "$dir/data/PG_VERSION" ] || return 1
    bin="$(pg_bindir)"
    pg_as "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

# pg_cluster_port DIR: the port a running cluster listens on (line 4 of postmaster.pid).
pg_cluster_port() {
    sed -n 4p "$1/data/postmaster.pid" 2>/dev/null
}

# pg_cluster_init DIR [--trust] [--max-connections N] [--fast]
# Creates the cluster when DIR/data does not hold one yet; does nothing otherwise.
pg_cluster_init() {
    local dir="$1"; shift
    local host_auth=scram-sha-256 max_conn=100 fast=0
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --trust) host_auth=trust ;;
            --max-connections) max_conn="$2"; shift ;;
            --fast) fast=1 ;;
            *) die "pg_cluster_init: unknown option $1" ;;
        esac
        shift
    done
    # Check the owner first: another user's cluster looks empty to us (we cannot read it).
    if [ -e "$dir" ] && { [ ! -r "$dir" ] || [ ! -x "$dir" ]; }; then
        die "cannot read $dir: it belongs to $(stat -c %U "$dir") (run as that user, or remove it)"
    fi
    [ -d "$dir/data" ] && pg__check_ownership "$dir"
    [ -f "$dir/data/PG_VERSION" ] && return 0

    local bin sock owner
    bin="$(pg_bindir)"
    pg_ensure_os_user
    owner="$(pg_os_user)"
    sock="$(pg__socket_dir "$dir")"
    info "initdb $dir/data ($(basename "$(dirname "$bin")"), owner $owner, host auth $host_auth)"
    mkdir -p "$dir"
    pg__check_reachable "$dir"
    # A half-created data dir from an interrupted run would make initdb refuse: start over.
    rm -rf "$dir/data"
    mkdir -p "$dir/data"
    chmod 700 "$dir" "$dir/data"
    is_root && chown "$owner:" "$dir" "$dir/data"

    pg_as "$bin/initdb" -D "$dir/data" --username=postgres --encoding=UTF8 --locale=C \
        --auth-local=trust --auth-host="$host_auth" --no-instructions >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    }

    # Listen on loopback and our own socket only; nothing else may connect.
    pg_as tee "$dir/data/pg_hba.conf" >/dev/null <<EOF
# Written by scripts/lib/postgres.sh
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   $host_auth
EOF
    {
        echo ""
        echo "# --- scripts/lib/postgres.sh ---"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$sock'"
        echo "unix_socket_permissions = 0700"
        echo "max_connections = $max_conn"
        echo "password_encryption = scram-sha-256"
        if [ "$fast" -eq 1 ]; then
            # Throwaway data: durability is worthless, speed is not.
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } | pg_as tee -a "$dir/data/postgresql.conf" >/dev/null
}

# pg_cluster_start DIR PORT [init options]
# Idempotent: initialises the cluster when absent, reuses it when already running (on PORT),
# otherwise starts it on PORT, then waits until it accepts connections on 127.0.0.1.
pg_cluster_start() {
    local dir="$1" port="$2"; shift 2
    local bin sock running_port
    bin="$(pg_bindir)"
    pg_cluster_init "$dir" "$@"
    pg__check_ownership "$dir"

    if pg_cluster_running "$dir"; then
        running_port="$(pg_cluster_port "$dir")"
        if [ "$running_port" != "$port" ]; then
            die "cluster $dir is already running on port $running_port, not $port (stop it first)"
        fi
        info "reusing running cluster $dir on 127.0.0.1:$port"
    else
        sock="$(pg__socket_dir "$dir")"
        mkdir -p "$sock"
        chmod 700 "$sock"
        is_root && chown "$(pg_os_user):" "$sock"
        is_root && { touch "$dir/server.log"; chown "$(pg_os_user):" "$dir/server.log"; }
        info "starting cluster $dir on 127.0.0.1:$port (log: $dir/server.log)"
        if ! pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port" start >/dev/null; then
            tail -n 20 "$dir/server.log" >&2 || true
            return 1
        fi
    fi
    pg_wait_ready "$port"
}

# pg__check_ownership DIR: a cluster made by root (owned by $FAC_PG_USER) cannot be run by a
# normal user and vice versa; say so plainly instead of letting pg_ctl fail obscurely.
pg__check_ownership() {
    local dir="$1" have want
    have="$(stat -c %U "$dir/data")"
    want="$(pg_os_user)"
    [ "$have" = "$want" ] || die "cluster $dir belongs to $have, but would be run as $want (run as the user who created it, or remove $dir)"
}

# pg_wait_ready PORT [SECONDS]: waits until the server accepts connections on 127.0.0.1:PORT.
pg_wait_ready() {
    local port="$1" timeout="${2:-60}" bin i
    bin="$(pg_bindir)"
    for ((i = 0; i < timeout * 4; i++)); do
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && return 0
        sleep 0.25
    done
    die "PostgreSQL on 127.0.0.1:$port did not become ready within ${timeout}s"
}

# pg_cluster_stop DIR [MODE]: stops the cluster when it runs (MODE: fast by default).
pg_cluster_stop() {
    local dir="$1" mode="${2:-fast}" bin
    pg_cluster_running "$dir" || return 0
    bin="$(pg_bindir)"
    info "stopping cluster $dir"
    pg_as "$bin/pg_ctl" -D "$dir/data" -m "$mode" -w -t 30 stop >/dev/null 2>&1 \
        || pg_as "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 \
        || warn "could not stop cluster $dir"
}

# pg_psql DIR PORT [psql args]: psql as the superuser over the cluster's unix socket.
pg_psql() {
    local dir="$1" port="$2"; shift 2
    local bin
    bin="$(pg_bindir)"
    pg_as "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg__socket_dir "$dir")" -p "$port" \
        -U postgres -d postgres "$@"
}

# pg_ensure_role_db DIR PORT ROLE DB [PASSWORD] [--createdb]
# Creates ROLE (LOGIN) and DB (owned by ROLE) when missing. With PASSWORD, sets the role's
# password every time, so that the password file and the cluster never disagree. The password
# travels on stdin, never on a command line; it must be [A-Za-z0-9] (random_alnum).
pg_ensure_role_db() {
    local dir="$1" port="$2" role="$3" db="$4" password="${5:-}" createdb="${6:-}"
    case "$role$db" in *[!A-Za-z0-9_]*) die "role and database names must be [A-Za-z0-9_]" ;; esac
    case "$password" in *[!A-Za-z0-9]*) die "password must be [A-Za-z0-9]" ;; esac
    local role_attrs="LOGIN"
    [ "$createdb" = "--createdb" ] && role_attrs="LOGIN CREATEDB"
    pg_psql "$dir" "$port" <<EOF
SELECT 'CREATE ROLE $role $role_attrs'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') \gexec
ALTER ROLE $role $role_attrs;
${password:+ALTER ROLE $role PASSWORD '$password';}
SELECT 'CREATE DATABASE $db OWNER $role'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \gexec
EOF
}
