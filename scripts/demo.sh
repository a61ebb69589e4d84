#!/usr/bin/env bash
# Provision a demo WSO2 EI cluster (2 nodes) from nothing, then verify it: the README's quick start.
#
#   scripts/demo.sh            # a throwaway local MariaDB/MySQL on 127.0.0.1:3307 (no Docker needed)
#   scripts/demo.sh --docker   # MySQL 8.0 from docker-compose.yml on 127.0.0.1:3307 instead
#   scripts/demo.sh --clean    # stop the demo server and remove .eidb-demo/
#
# Everything lands in .eidb-demo/ of the repository: two EI_HOME folders (conf/ made from the project's
# own look-alike files in tests/fixtures/ei-home), the spec cluster.toml, and a sample dbscript.
# Stop the local server afterwards with: scripts/local-server.sh stop --dir .eidb-demo/server
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
demo="$repo/.eidb-demo"
port=3307

if [[ "${1:-}" == "--clean" ]]; then
    "$repo/scripts/local-server.sh" stop --dir "$demo/server" || true
    rm -rf "$demo"
    echo "demo removed"
    exit 0
fi

mkdir -p "$demo"
use_docker=false
if [[ "${1:-}" == "--docker" ]]; then
    use_docker=true
fi
if ! $use_docker; then
    # shellcheck source=scripts/prerequisites.sh
    source "$repo/scripts/prerequisites.sh"
    install_missing_packages server
fi
if $use_docker; then
    (cd "$repo" && docker compose up -d --wait mysql)
    admin_url="mysql://root@127.0.0.1:$port"
    export EIDB_DEMO_ADMIN_PASSWORD="${MYSQL_ROOT_PASSWORD:-eidb-root}"
    admin_password_line='password_env = "EIDB_DEMO_ADMIN_PASSWORD"'
else
    "$repo/scripts/local-server.sh" start --port "$port" --dir "$demo/server"
    admin_url="mysql://root@127.0.0.1:$port"
    admin_password_line=""
fi

for node in node1 node2; do
    home="$demo/$node/wso2ei-6.6.0"
    if [[ ! -d "$home/conf" ]]; then
        mkdir -p "$home/lib"
        cp -r "$repo/tests/fixtures/ei-home/conf" "$home/"
        # An empty stand-in for the Connector/J jar an operator copies into lib/ (its name tells eidb the driver version).
        : > "$home/lib/mysql-connector-java-5.1.49.jar"
    fi
done
mkdir -p "$demo/dbscripts"
cp "$repo/tests/fixtures/dbscripts/splitter-cases.sql" "$demo/dbscripts/mysql5.7.sql"

password_file="$demo/regadmin.password"
if [[ ! -s "$password_file" ]]; then
    (umask 077 && head -c 18 /dev/urandom | base64 > "$password_file")
fi

cat > "$demo/cluster.toml" <<EOF
# The demo cluster: two EI nodes on one MySQL/MariaDB server.
[server]
url = "$admin_url"
$admin_password_line

[user]
name = "regadmin"
host = "%"
password_file = "regadmin.password"

[databases]
user_store = "WSO2_USER_DB"
shared_registry = "REGISTRY_DB"
local_registry_prefix = "REGISTRY_LOCAL"
charset = "auto"

[dbscripts]
dir = "dbscripts"

[[nodes]]
name = "node1"
ei_home = "node1/wso2ei-6.6.0"

[[nodes]]
name = "node2"
ei_home = "node2/wso2ei-6.6.0"
EOF

cd "$repo"
cargo build --release --locked --quiet
eidb="$repo/target/release/eidb"
echo
echo "== eidb provision --config $demo/cluster.toml"
"$eidb" provision --config "$demo/cluster.toml"
echo
echo "== eidb verify --config $demo/cluster.toml"
"$eidb" verify --config "$demo/cluster.toml"
echo
echo "Done. Look at $demo/node1/wso2ei-6.6.0/conf/registry.xml; run the commands above again to see an idempotent re-run."
