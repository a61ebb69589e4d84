# Sourced by .ci/run and scripts/demo.sh: find the MariaDB/MySQL server binaries, and install what is
# missing from Debian's packages without starting the machine's own database service.
# shellcheck shell=bash

readonly SERVER_DIRS=(/usr/sbin /usr/local/sbin)
readonly GALERA_LIBRARY=/usr/lib/galera/libgalera_smm.so


find_server() {
    local name dir
    for name in mariadbd mysqld; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
        for dir in "${SERVER_DIRS[@]}"; do
            if [[ -x $dir/$name ]]; then
                echo "$dir/$name"
                return 0
            fi
        done
    done
    return 1
}

find_nginx() {
    if command -v nginx >/dev/null 2>&1; then
        command -v nginx
    elif [[ -x /usr/sbin/nginx ]]; then
        echo /usr/sbin/nginx
    else
        return 1
    fi
}

as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "error: installing packages needs root and there is no sudo; run as root: $*" >&2
        exit 1
    fi
}

# Debian starts a service as soon as its package is installed; a policy-rc.d that answers 101
# ("action forbidden") stops that, so installing mariadb-server leaves no system server running.
forbid_service_starts() {
    if [[ -e /usr/sbin/policy-rc.d ]]; then
        return 0
    fi
    as_root sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
    trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT
}

allow_service_starts_again() {
    if trap -p EXIT | grep -q policy-rc.d; then
        as_root rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
}

# `install_missing_packages server` installs the server; `install_missing_packages galera` also galera-4 and rsync.
install_missing_packages() {
    local -a missing=()
    find_server >/dev/null || missing+=(mariadb-server)
    # setfacl/getfacl: the node-file tests give files POSIX ACLs.
    command -v setfacl >/dev/null 2>&1 || missing+=(acl)
    if [[ ${1:-} == galera ]]; then
        [[ -f $GALERA_LIBRARY ]] || missing+=(galera-4)
        command -v rsync >/dev/null 2>&1 || missing+=(rsync)
        # tests/it/ansible.rs: two SSH hosts, each an sshd in a network namespace of its own.
        [[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
        command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
    fi
    # tests/it/lb_config.rs checks `eidb lb-config`'s files with a real nginx (never the system service).
    find_nginx >/dev/null || missing+=(nginx-light)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    echo "--- installing ${missing[*]}"
    forbid_service_starts
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    allow_service_starts_again
}


# tests/it/ansible.rs runs the collection under ansible/ with real ansible-core from PyPI, in a virtualenv in
# the cache (as .ci/run's linters): EIDB_ANSIBLE_BIN names its bin/ for the tests.
install_ansible() {
    local venv=${XDG_CACHE_HOME:-$HOME/.cache}/eidb/ansible
    if [[ ! -x $venv/bin/ansible-playbook ]]; then
        echo "--- installing ansible-core into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet 'ansible-core>=2.16,<2.20'
    fi
    export EIDB_ANSIBLE_BIN=$venv/bin
    echo "--- $("$venv/bin/ansible-playbook" --version | head -1)"
}
