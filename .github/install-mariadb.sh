#!/usr/bin/env bash
# GitHub's Ubuntu runners come with MySQL 8.0 installed; the tests' own servers (tests/it/common) take
# mariadbd before mysqld, and the Galera tests need MariaDB's galera-4. Install MariaDB from Ubuntu's
# packages (apt replaces the runner's MySQL packages) and leave no system server running.
set -euo pipefail
sudo systemctl stop mysql 2>/dev/null || true
sudo apt-get update
sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mariadb-server galera-4 rsync
sudo systemctl stop mariadb 2>/dev/null || true
sudo systemctl disable mariadb 2>/dev/null || true
command -v mariadbd || ls /usr/sbin/mariadbd
