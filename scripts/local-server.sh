#!/usr/bin/env bash
# A throwaway local MariaDB/MySQL server for trying eidb on a machine without Docker.
#
#   scripts/local-server.sh start  [--port 3307] [--dir .eidb-local]
#   scripts/local-server.sh status [--dir .eidb-local]
#   scripts/local-server.sh stop   [--dir .eidb-local]
#
# `start` makes a fresh data folder in --dir (default: .eidb-local/ in the repository), starts the
# server there in the background on 127.0.0.1:PORT (root, empty password) and prints its URL.
# `stop` shuts it down and removes the folder. Both are idempotent. `status` exits 0 when the server
# runs, 3 when it does not. The recipe is the one of the test harness (tests/it/common/local.rs); it
# never touches the machine's own database service.
set -euo pipefail

readonly SERVER_DIRS=(/usr/sbin /usr/local/sbin /usr/local/mysql/bin)
readonly READY_TIMEOUT_SECONDS=60
readonly STOP_TIMEOUT_SECONDS=60
# Written into every folder this script makes: `stop` removes only folders that carry it.
readonly MARKER=.eidb-local-server

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

die() {
    echo "local-server: $*" >&2
    exit 1
}

# First of the given program names found on PATH or in the extra folders.
find_program() {
    local -a names=() dirs=()
    while (($#)) && [[ $1 != -- ]]; do names+=("$1"); shift; done
    shift
    dirs=("$@")
    local name dir path_dir
    local IFS=:
    for name in "${names[@]}"; do
        for path_dir in $PATH; do
            [[ -n $path_dir && -x $path_dir/$name && ! -d $path_dir/$name ]] && { echo "$path_dir/$name"; return 0; }
        done
        for dir in "${dirs[@]}"; do
            [[ -x $dir/$name && ! -d $dir/$name ]] && { echo "$dir/$name"; return 0; }
        done
    done
    return 1
}

find_server() {
    find_program mariadbd mysqld -- "${SERVER_DIRS[@]}" || die "no mariadbd or mysqld found on PATH or in ${SERVER_DIRS[*]}.
Install one: sudo apt-get install mariadb-server (this script leaves the system service alone),
or use Docker: docker compose up -d --wait mysql"
}

find_client() {
    find_program mariadb mysql -- /usr/bin /usr/local/bin /usr/local/mysql/bin || true
}

# The server's pid when the server started in $dir is running.
running_pid() {
    local pid
    pid=$(cat "$dir/pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    # After a reboot the pid may belong to another program.
    if [[ -r /proc/$pid/cmdline ]]; then
        tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF -- "--datadir=$dir/data" || return 1
    fi
    echo "$pid"
}

recorded_port() {
    cat "$dir/port" 2>/dev/null || echo "$port"
}

port_is_taken() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

accepts_login() {
    local client=$1 port=$2
    if [[ -n $client ]]; then
        "$client" --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -uroot -e 'SELECT 1' >/dev/null 2>&1
    else
        port_is_taken "$port"
    fi
}

remove_folder() {
    [[ -d $dir ]] || return 0
    [[ -e $dir/$MARKER ]] || die "$dir was not made by this script; not removing it"
    rm -rf -- "$dir"
}

print_connection_help() {
    local port=$1
    echo "URL:     mysql://root@127.0.0.1:$port   (user root, empty password)"
    echo "Connect: mariadb -h127.0.0.1 -P$port -uroot"
    echo "Stop:    $0 stop${dir_option}"
}

# Server-kind specific options, for both initialising and running.
kind_options() {
    local server=$1 version=$2
    if [[ $version == *MariaDB* ]]; then
        return 0
    fi
    # Packaged MySQL defaults to a secure-file-priv folder that may not exist, and then refuses to start.
    mkdir -p "$dir/files"
    echo "--secure-file-priv=$dir/files"
    # The X plugin would listen on 33060 next to any other MySQL.
    if [[ $version =~ Ver\ ([0-9]+)\. ]] && ((BASH_REMATCH[1] >= 8)); then
        echo "--mysqlx=OFF"
    fi
}

initialize_data_dir() {
    local server=$1 version=$2 user=$3
    local -a options
    mapfile -t options < <(kind_options "$server" "$version")
    if [[ $version == *MariaDB* ]]; then
        local server_dir install_db
        server_dir=$(dirname "$server")
        install_db=$(find_program mariadb-install-db mysql_install_db -- \
            "$server_dir" "$server_dir/../bin" /usr/bin /usr/local/bin) ||
            die "found $server but not mariadb-install-db; install the full server package (mariadb-server)"
        "$install_db" --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" \
            --auth-root-authentication-method=normal --skip-test-db --user="$user" >"$dir/install.log" 2>&1
    else
        "$server" --no-defaults --initialize-insecure --datadir="$dir/data" --tmpdir="$dir/tmp" \
            --user="$user" "${options[@]}" >"$dir/install.log" 2>&1
    fi || {
        tail -n 30 "$dir/install.log" >&2
        die "making the data folder failed (log above, in $dir/install.log)"
    }
}

socket_path() {
    local socket=$dir/data/sock
    # Unix socket paths are limited to about 107 bytes; a deep checkout would exceed that.
    if ((${#socket} > 100)); then
        socket=${TMPDIR:-/tmp}/eidb-local-$(id -u)-$port.sock
    fi
    echo "$socket"
}

start() {
    local pid
    if pid=$(running_pid); then
        echo "The local server is running already (pid $pid, folder $dir)."
        print_connection_help "$(recorded_port)"
        return 0
    fi
    if [[ -d $dir ]]; then
        echo "Removing the leftovers of a server that is no longer running in $dir."
        remove_folder
    fi
    if port_is_taken "$port"; then
        die "something already listens on 127.0.0.1:$port (docker compose's mysql?); choose another with --port"
    fi

    local server version user client
    server=$(find_server)
    version=$("$server" --version)
    user=$(id -un)
    client=$(find_client)
    echo "Starting $version"
    echo "in $dir on 127.0.0.1:$port ..."

    mkdir -p "$dir/tmp"
    touch "$dir/$MARKER"
    echo "$port" >"$dir/port"
    initialize_data_dir "$server" "$version" "$user"

    local -a options
    mapfile -t options < <(kind_options "$server" "$version")
    # The tmpdir is the server's own: a starting server deletes every #sql* file in its tmpdir.
    nohup "$server" --no-defaults --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
        --socket="$(socket_path)" --tmpdir="$dir/tmp" --user="$user" --skip-log-bin \
        --innodb-buffer-pool-size=64M "${options[@]}" \
        </dev/null >>"$dir/server.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/pid"

    local waited=0
    until accepts_login "$client" "$port"; do
        if ! kill -0 "$pid" 2>/dev/null || ((waited >= READY_TIMEOUT_SECONDS * 10)); then
            tail -n 30 "$dir/server.log" >&2
            kill -KILL "$pid" 2>/dev/null || true
            die "the server did not come up (log above, in $dir/server.log)"
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    echo "Ready (pid $pid)."
    print_connection_help "$port"
}

stop() {
    local pid
    if ! pid=$(running_pid); then
        echo "The local server is not running."
        remove_folder
        return 0
    fi
    local port admin
    port=$(recorded_port)
    admin=$(find_program mariadb-admin mysqladmin -- /usr/bin /usr/local/bin /usr/local/mysql/bin || true)
    if [[ -z $admin ]] ||
        ! "$admin" --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -uroot shutdown >/dev/null 2>&1; then
        kill -TERM "$pid" 2>/dev/null || true
    fi
    local waited=0
    while kill -0 "$pid" 2>/dev/null; do
        if ((waited >= STOP_TIMEOUT_SECONDS * 10)); then
            echo "No clean shutdown after $STOP_TIMEOUT_SECONDS s; killing it."
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    remove_folder
    echo "Stopped the local server (pid $pid) and removed $dir."
}

status() {
    local pid
    if pid=$(running_pid); then
        echo "The local server is running (pid $pid, folder $dir)."
        print_connection_help "$(recorded_port)"
        return 0
    fi
    echo "The local server is not running."
    return 3
}

main() {
    local command=${1:-}
    (($#)) && shift
    port=3307
    dir=$repo_root/.eidb-local
    dir_option=
    while (($#)); do
        case $1 in
            --port) [[ $# -ge 2 ]] || die "--port needs a value"; port=$2; shift 2 ;;
            --port=*) port=${1#--port=}; shift ;;
            --dir) [[ $# -ge 2 ]] || die "--dir needs a value"; dir=$2; shift 2 ;;
            --dir=*) dir=${1#--dir=}; shift ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; die "unknown option: $1" ;;
        esac
    done
    if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
        die "--port must be a port number, not '$port'"
    fi
    [[ $dir == /* ]] || dir=$PWD/$dir
    dir=${dir%/}
    [[ $dir != "$repo_root/.eidb-local" ]] && dir_option=" --dir $dir"

    case $command in
        start) start ;;
        stop) stop ;;
        status) status ;;
        -h | --help | help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
