#!/usr/bin/env python3
"""Benchmark of issue 7: `eidb provision` / `eidb verify` against the manual WSO2 procedure; with
--galera, also on a 3-member MariaDB Galera cluster (issue 9).

Usage (from the repository root, after `cargo build --release`):

    python3 scripts/bench.py [--runs 5] [--nodes 2,16] [--eidb target/release/eidb]
                             [--output FILE.md] [--eidb-parallel N] [--timeout SECONDS]
                             [--fail-on-target] [--galera] [--other-databases 250] [--other-tables 40]

Needs python3 (standard library only), mariadbd or mysqld (on PATH or in /usr/sbin), the `mariadb` or
`mysql` client, `xargs`, and the real WSO2 EI files where the tests find them ($EIDB_WSO2_FILES,
../shared/wso2-ei, or the cache `scripts/fetch-wso2-files.sh` fills; or --wso2-dir). --galera also
needs MariaDB's mariadbd and mariadb-install-db, the galera-4 library, rsync and wsrep_sst_rsync (Debian:
`apt-get install mariadb-server galera-4 rsync`).

What it does
------------
1. Starts its OWN throwaway server (mariadb-install-db + mariadbd, or mysqld --initialize-insecure) in a
   fresh temporary folder on a free loopback port; never the server on 127.0.0.1:3306. The server runs with
   the same settings for every contender. It is stopped and its folder removed at the end, also on Ctrl-C,
   SIGTERM or an error; a watchdog process stops it should this script be killed outright.
2. For each node count N (default 2 and 16, i.e. 4 and 18 databases: WSO2_USER_DB, REGISTRY_DB and one
   REGISTRY_LOCAL<i> per node) it builds a temporary cluster: a copy of the dbscripts, one EI_HOME per node
   with a fresh copy of the EI 6.x conf files (and an empty placeholder Connector/J jar in lib/, which is all
   eidb looks at), and a cluster.toml (charset latin1, account 'regadmin'@'%').
3. Each run times these scenarios, with every database and the account dropped before each from-nothing
   scenario (the order of the groups rotates from run to run):
     - manual            the WSO2-documented procedure with the mysql/mariadb client, one database after
                         another: per database one client invocation running `create database X character
                         set latin1; use X; source <script>; CREATE USER IF NOT EXISTS ...; GRANT ALL ON
                         X.* TO ...; FLUSH PRIVILEGES;` (that is `xargs -P 1`);
     - parallel -P k     the same invocations through `xargs -P k`, for k = number of cores and k = number of
                         databases; the faster median is "best parallel", the best the server allows;
     - eidb provision --db-only from nothing, then again (no-op), then `eidb verify --db-only` (no-op);
     - eidb provision (databases and node files) from nothing, then again (no-op), then `eidb verify`.
   Wall-clock time of the whole command (process start to exit) is measured. eidb's peak memory is its max
   RSS as GNU time (`/usr/bin/time -f %M`) reports it; os.wait4 alone would add this script's own ~20 MiB
   (see run_measured), so without GNU time the figure is shown as an upper bound ("≤"). eidb runs from a
   private copy of the binary, so a concurrent `cargo build` cannot swap it half way.
4. Correctness is checked after every timed command, through information_schema and mysql.db (not eidb):
   every database exists in latin1 with exactly the tables the script creates and the same number of indexes
   and foreign keys as the manual procedure produced; the account has a grant on each database; after a full
   provision each node's files point its user store, shared registry and local registry at the right
   database; no-op runs report no change and verify reports no drift. A broken run stops the benchmark
   (exit status 1): a benchmark that measures a broken run is worthless.
5. Prints (and with --output writes) a Markdown report: per scenario and database count the median, min and
   max seconds, the ratios of the medians to manual and to the best parallel client, eidb's peak RSS; then
   the targets of issue 7, each PASS or FAIL:
     - eidb provision --db-only / manual <= 0.65 (4 databases), <= 0.6 (18);
     - eidb provision --db-only / best parallel client <= 1.1;
     - each no-op (provision and verify, with and without files) / its from-nothing provision <= 0.1 (4
       databases), <= 0.05 (18), and < 300 ms for 4 databases;
     - eidb's peak RSS in any scenario < 40 MB (10^6 bytes) for 18 databases;
     - linear growth: seconds per database at the largest count / at the smallest <= 1.10 (1.0 is linear;
       10 % allowance for noise), for provision from nothing and the no-op.
   Targets are defined for 4 and 18 databases; other --nodes values are measured but not judged.
   Then where the no-op runs' time goes: each no-op run asks eidb for its timings line
   (RUST_LOG=eidb::timings=debug: its wall time, the time it waited in server steps - connections and
   reads - its own time and CPU, each step's time), and one extra untimed no-op run per scenario is counted
   by the server (statements, connections and prepared statements, from SHOW GLOBAL STATUS).
   On a busy machine the figures are noisy: use --runs 5 or more and look at min/max.

6. A server shared with other applications (issue 26; --other-databases 0 leaves it out): a provisioned
   cluster of the smallest --nodes count is verified (no-op, with and without the node files) on the
   server holding only the cluster, then again once the server also holds --other-databases (250) other
   databases of --other-tables (40) tables each, built by parallel clients. Target: the no-op verify on the
   shared server takes at most 1.3 times as long as on the server holding only the cluster.

7. With --galera (off by default: it adds a few minutes), after the single server's rows: starts a
   3-member Galera cluster of its own on loopback ports, as tests/it/common/galera.rs does (mariadb-install-db
   per member; run as root, the members run as `mysql` and their folders are given to it, so the rsync
   state transfer can write; galera-4 provider, gcomm:// addresses of the three, rsync SST, ROW binlog
   format, autoinc lock mode 2, small buffer pools; the first member with --wsrep-new-cluster) and waits
   until all three are Synced. For each node count, the same run order and checks as above, with these
   scenarios (shown as `galera: ...`):
     - manual and parallel clients, all against member 1 (Galera replicates to the others);
     - eidb provision --db-only from nothing, its no-op, and eidb verify --db-only, with a spec whose
       `[server] urls` lists the three members: eidb provisions through the first Synced member, then
       reads every other member back (with wsrep_sync_wait) and compares;
     - the same three with a spec that names member 1 only: no other member is probed or read back, so
       the difference to the rows above is what naming the whole cluster costs.
   The from-nothing runs use eidb's human output (not JSON): its progress lines carry eidb's own timings,
   from which the report takes how long eidb's read-back of members 2 and 3 took.
   Every check reads member 3, not member 1, with `SET SESSION wsrep_sync_wait = 1`: what eidb wrote
   through member 1 must be there on another member. The report shows these rows beside the single
   server's, with the ratios to the Galera manual procedure and the Galera best parallel client, and
   a section with the ratios of the targets side by side (Galera is not judged). The members are stopped
   and their folder removed at the end, also on Ctrl-C, SIGTERM or an error; a watchdog does it should
   this script be killed outright.

Exit status: 0 when the benchmark ran (targets may fail; with --fail-on-target a failed target gives 3),
1 when something broke (server, client, a wrong result), 2 on bad usage, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_wso2_dir() -> Path:
    """ei-6.x of the real WSO2 files, where the tests find them (tests/it/common/wso2_files.rs):
    $EIDB_WSO2_FILES, else ../shared/wso2-ei, else the cache scripts/fetch-wso2-files.sh fills."""
    if os.environ.get("EIDB_WSO2_FILES"):
        return Path(os.environ["EIDB_WSO2_FILES"]) / "ei-6.x"
    beside = REPO_ROOT.parent / "shared" / "wso2-ei" / "ei-6.x"
    if beside.is_dir():
        return beside
    cache = os.environ.get("EIDB_WSO2_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "eidb" / "wso2-ei"
    )
    return Path(cache) / "ei-6.x"


DEFAULT_WSO2_DIR = default_wso2_dir()

SERVER_DIRS = ["/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin", "/usr/bin", "/usr/local/bin"]
CLIENT_DIRS = ["/usr/bin", "/usr/local/bin", "/usr/local/mysql/bin"]
SYSTEM_DATABASES = {"information_schema", "mysql", "performance_schema", "sys"}
FORBIDDEN_PORT = 3306

USER_STORE = "WSO2_USER_DB"
SHARED_REGISTRY = "REGISTRY_DB"
LOCAL_REGISTRY_PREFIX = "REGISTRY_LOCAL"
CHARSET = "latin1"
ACCOUNT_NAME = "regadmin"
ACCOUNT_HOST = "%"
ACCOUNT_PASSWORD = "Bench-regadmin-7"
PASSWORD_ENV = "EIDB_REGADMIN_PASSWORD"
# eidb only reads the jar's name (to pick the driver class); a real node has the real jar there.
PLACEHOLDER_DRIVER_JAR = "mysql-connector-java-5.1.49.jar"

SERVER_READY_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 60.0
QUERY_TIMEOUT = 120.0

# The targets of issue 7. Keyed by the number of databases they are defined for.
EIDB_VS_MANUAL_LIMIT = {4: 0.65, 18: 0.6}
EIDB_VS_BEST_PARALLEL_LIMIT = 1.1
NOOP_VS_FROM_NOTHING_LIMIT = {4: 0.1, 18: 0.05}
NOOP_ABSOLUTE_LIMIT_SECONDS = {4: 0.300}
PEAK_RSS_LIMIT_BYTES = {18: 40_000_000}  # "40 MB", read strictly as 10^6 bytes
# Issue 26: a no-op verify on a server that also holds other applications' databases, over the same on a
# server that holds only the cluster.
SHARED_SERVER_LIMIT = 1.3
OTHER_DATABASE_PREFIX = "other_app_"
# Time per database at the larger count over that at the smaller: 1.0 is exactly linear; the 10 % above it
# is allowance for run-to-run noise on a shared machine.
LINEAR_GROWTH_LIMIT = 1.10


class BenchError(Exception):
    """Something is broken: the benchmark cannot produce a trustworthy figure."""


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def find_program(names: list[str], extra_dirs: list[str]) -> str | None:
    """First of `names` found on PATH, then in `extra_dirs`."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
        for folder in extra_dirs:
            candidate = Path(folder) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


# ---------------------------------------------------------------------------------------------------------
# Running a command: wall-clock time and peak memory
# ---------------------------------------------------------------------------------------------------------


def find_gnu_time() -> str | None:
    """GNU time, to read a command's peak RSS without the benchmark's own memory in it (see run_measured)."""
    path = find_program(["time"], ["/usr/bin", "/usr/local/bin"])
    if not path:
        return None
    probe = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10, check=False)
    return path if "GNU" in probe.stdout + probe.stderr else None


GNU_TIME = find_gnu_time()


@dataclass
class Finished:
    argv: list[str]
    seconds: float
    max_rss_bytes: int
    # False when the figure is only an upper bound (no GNU time: it includes this script's own RSS).
    max_rss_exact: bool
    returncode: int
    stdout: str
    stderr: str
    # eidb's own account of the run (its `eidb::timings` line), when it was asked for: see parse_timings.
    timings: dict | None = None

    def describe_failure(self) -> str:
        return (
            f"`{' '.join(self.argv)}` exited with {self.returncode}\n"
            f"--- stderr (end) ---\n{tail(self.stderr)}\n--- stdout (end) ---\n{tail(self.stdout)}"
        )


def run_measured(
    argv: list[str], timeout: float, env: dict | None = None, stdin_path: Path | None = None, peak_memory: bool = False
) -> Finished:
    """Run `argv` to completion: wall-clock seconds from spawn to exit, output, and the peak RSS.

    The peak RSS comes from os.wait4. Linux folds the memory of the process that forked a child into that
    child's ru_maxrss (the pre-exec address space is counted), so a command spawned from this Python process
    never shows less than Python's own ~20 MiB. With `peak_memory` the command is therefore started through
    GNU time (`-f %M`), a ~1 MiB process, and its figure is used; without GNU time the wait4 figure is kept
    and marked as an upper bound. The command runs in its own process group, killed on timeout or Ctrl-C."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile() as rss:
        measured_argv = argv
        if peak_memory and GNU_TIME:
            measured_argv = [GNU_TIME, "-f", "%M", "-o", rss.name, *argv]
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        try:
            started = time.perf_counter()
            process = subprocess.Popen(measured_argv, stdin=stdin, stdout=out, stderr=err, env=env, start_new_session=True)
        except OSError as e:
            raise BenchError(f"cannot run {argv[0]}: {e}") from e
        finally:
            if stdin_path:
                stdin.close()
        outcome: dict = {}

        def reap() -> None:
            _, status, usage = os.wait4(process.pid, 0)
            outcome.update(ended=time.perf_counter(), status=status, usage=usage)

        reaper = threading.Thread(target=reap, daemon=True)
        reaper.start()
        try:
            reaper.join(timeout)
            if reaper.is_alive():
                raise BenchError(f"`{' '.join(argv)}` did not finish within {timeout:.0f} s (killed)")
        except BaseException:
            if reaper.is_alive():
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                reaper.join(10)
            raise
        returncode = os.waitstatus_to_exitcode(outcome["status"])
        process.returncode = returncode  # reaped here; keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        max_rss_kib, exact = outcome["usage"].ru_maxrss, False  # Linux reports KiB
        if measured_argv is not argv:
            # GNU time writes "Command exited with non-zero status N" first when the command failed.
            last = (rss.read().decode(errors="replace").strip().splitlines() or [""])[-1]
            if last.isdigit():
                max_rss_kib, exact = int(last), True
        return Finished(
            argv=argv,
            seconds=outcome["ended"] - started,
            max_rss_bytes=max_rss_kib * 1024,
            max_rss_exact=exact,
            returncode=returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


# ---------------------------------------------------------------------------------------------------------
# The throwaway server
# ---------------------------------------------------------------------------------------------------------


def free_loopback_port() -> int:
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port != FORBIDDEN_PORT:
            return port
    raise BenchError("found no free port on 127.0.0.1")


def ports_outside_ephemeral_range(count: int) -> list[int]:
    """`count` distinct free ports on 127.0.0.1 below the kernel's ephemeral range (so never 3306), where no
    outgoing connection (nor another program's bind to port 0) takes one between this pick and the server's
    bind. All are held until all are found, so none repeats."""
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    candidates = random.sample(range(20000, max(ephemeral_low, 20000 + 10 * count)), 10 * count)
    held: list[socket.socket] = []
    try:
        for port in candidates:
            if len(held) == count:
                break
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                probe.bind(("127.0.0.1", port))
                held.append(probe)
            except OSError:
                probe.close()
        if len(held) < count:
            raise BenchError(f"found only {len(held)} of {count} free ports on 127.0.0.1 from 20000 up")
        return [probe.getsockname()[1] for probe in held]
    finally:
        for probe in held:
            probe.close()


class Watchdog:
    """A shell that outlives this script: once our end of its stdin closes (we exit, however abruptly, even
    by SIGKILL), it stops every server process group it was told to watch (SIGTERM, up to a minute, then
    SIGKILL) and removes `folder`. Servers run in sessions of their own, so a group is the server and any
    helper it runs (a Galera state transfer's rsync)."""

    SCRIPT = r"""
folder=$1
groups=
trap '' INT HUP
while IFS= read -r order; do
    case $order in
        "watch "*) groups="$groups ${order#watch }" ;;
        "forget "*)
            kept=
            for group in $groups; do [ "$group" = "${order#forget }" ] || kept="$kept $group"; done
            groups=$kept ;;
    esac
done
for group in $groups; do kill -s TERM -- "-$group" 2>/dev/null; done
n=0
while [ $n -lt 600 ]; do
    alive=
    for group in $groups; do kill -s 0 -- "-$group" 2>/dev/null && alive=yes; done
    [ -z "$alive" ] && break
    sleep 0.1; n=$((n+1))
done
for group in $groups; do kill -s KILL -- "-$group" 2>/dev/null; done
rm -rf -- "$folder"
"""

    def __init__(self, folder: Path) -> None:
        self.process = subprocess.Popen(
            ["sh", "-c", self.SCRIPT, "eidb-bench-watchdog", str(folder)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )

    def watch(self, process: subprocess.Popen) -> None:
        self._order(f"watch {process.pid}")

    def forget(self, process: subprocess.Popen) -> None:
        """Say so right after reaping `process`, so the watchdog never signals a recycled id."""
        self._order(f"forget {process.pid}")

    def finish(self) -> None:
        """Close the pipe: the watchdog stops what it still watches, removes the folder, and exits."""
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def _order(self, order: str) -> None:
        try:
            self.process.stdin.write(f"{order}\n".encode())
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):
            log("warning: the watchdog has gone; should this script be killed, its servers may outlive it")


def exited_within(process: subprocess.Popen, seconds: float) -> bool:
    """True once `process` has exited; it is left unreaped, so its id (and its group's) stays ours."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None:
                return True
        except ChildProcessError:  # already reaped
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def stop_server_process(process: subprocess.Popen, watchdog: Watchdog | None, grace: float = 0.0) -> None:
    """Stop a server started in a session of its own: `grace` seconds to exit by itself (after SHUTDOWN),
    then SIGTERM (a clean shutdown), then SIGKILL to its whole group (a state transfer's rsync too). Reaps
    it last, then tells the watchdog to forget it."""
    if process.returncode is None:
        if not exited_within(process, grace):
            os.kill(process.pid, signal.SIGTERM)
            exited_within(process, SERVER_STOP_TIMEOUT)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait(10)
    if watchdog:
        watchdog.forget(process)


class ClientAccess:
    """Talking to a server on 127.0.0.1:`port` as root (no password) with the mariadb/mysql client.
    `session_setup` runs first in every query's session."""

    client: str
    port: int
    session_setup: str = ""

    def client_argv(self) -> list[str]:
        return [self.client, "--no-defaults", "--protocol=tcp", "-h127.0.0.1", f"--port={self.port}", "-uroot"]

    def query(self, sql: str) -> list[list[str]]:
        """Rows of tab-separated client output; raises on any error."""
        sql = self.session_setup + sql
        finished = run_measured([*self.client_argv(), "--batch", "--raw", "--skip-column-names", "-e", sql], QUERY_TIMEOUT)
        if finished.returncode != 0:
            raise BenchError(f"query failed: {sql[:200]}\n{finished.describe_failure()}")
        return [line.split("\t") for line in finished.stdout.splitlines() if line]

    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Drop every non-system database and the account: the state 'from nothing'."""
        databases = [row[0] for row in self.query("SHOW DATABASES") if row[0].lower() not in SYSTEM_DATABASES]
        statements = [f"DROP DATABASE `{name}`" for name in databases]
        statements.append(f"DROP USER IF EXISTS '{ACCOUNT_NAME}'@'{ACCOUNT_HOST}'")
        self.query("; ".join(statements))


class ThrowawayServer(ClientAccess):
    """A MariaDB/MySQL server in `workdir`/server, on a free loopback port, root with no password. Should
    this script die without cleaning up, a watchdog stops the server and removes all of `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.server = find_program(["mariadbd", "mysqld"], SERVER_DIRS)
        if not self.server:
            raise BenchError(
                f"no mariadbd or mysqld on PATH or in {', '.join(SERVER_DIRS)}; install mariadb-server "
                "(its system service is not used)"
            )
        self.client = find_program(["mariadb", "mysql"], CLIENT_DIRS)
        if not self.client:
            raise BenchError("no mariadb or mysql client found; install mariadb-client")
        self.version = subprocess.run(
            [self.server, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
        self.is_mariadb = "mariadb" in self.version.lower()
        self.workdir = workdir
        self.folder = workdir / "server"
        self.folder.mkdir()
        self.datadir = self.folder / "data"
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.watchdog: Watchdog | None = None
        self.settings: list[str] = []

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> None:
        user = _current_user()
        (self.folder / "tmp").mkdir()
        self._initialize(user)
        self.port = free_loopback_port()
        # Short socket path: Unix sockets are limited to about 107 bytes.
        self.settings = [
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.folder}/sock",
            f"--tmpdir={self.folder}/tmp",
            f"--user={user}",
            "--skip-log-bin",
            "--max-connections=200",
            *self._kind_options(),
        ]
        server_log = open(self.folder / "server.log", "ab")
        self.process = subprocess.Popen(
            [self.server, *self.settings], stdin=subprocess.DEVNULL, stdout=server_log, stderr=server_log,
            start_new_session=True,
        )
        server_log.close()
        # Stops the server and removes the benchmark's whole folder should this script die.
        self.watchdog = Watchdog(self.workdir)
        self.watchdog.watch(self.process)
        self._wait_until_ready()

    def stop(self) -> None:
        """Stop the server (SHUTDOWN, then SIGTERM, then SIGKILL) and remove its folder. Idempotent."""
        if self.process and self.process.returncode is None:
            try:
                subprocess.run(
                    [*self.client_argv(), "-e", "SHUTDOWN"], capture_output=True, timeout=30, check=False
                )
            except (OSError, subprocess.TimeoutExpired):
                pass
            stop_server_process(self.process, self.watchdog, grace=SERVER_STOP_TIMEOUT / 2)
        if self.watchdog:
            self.watchdog.finish()  # nothing left to stop: it only removes the folders
        shutil.rmtree(self.folder, ignore_errors=True)

    def _initialize(self, user: str) -> None:
        install_log = self.folder / "install.log"
        if self.is_mariadb:
            server_dir = Path(self.server).parent
            install_db = find_program(
                ["mariadb-install-db", "mysql_install_db"], [str(server_dir), str(server_dir.parent / "bin"), *CLIENT_DIRS]
            )
            if not install_db:
                raise BenchError(f"found {self.server} but no mariadb-install-db; install mariadb-server")
            argv = [install_db, "--no-defaults", f"--datadir={self.datadir}", f"--tmpdir={self.folder}/tmp",
                    "--auth-root-authentication-method=normal", "--skip-test-db", f"--user={user}"]
        else:
            argv = [self.server, "--no-defaults", "--initialize-insecure", f"--datadir={self.datadir}",
                    f"--user={user}", *self._kind_options()]
        finished = run_measured(argv, timeout=300)
        install_log.write_text(finished.stdout + finished.stderr)
        if finished.returncode != 0:
            raise BenchError(f"initialising the data folder failed:\n{finished.describe_failure()}")

    def _kind_options(self) -> list[str]:
        if self.is_mariadb:
            return []
        files = self.folder / "files"
        files.mkdir(exist_ok=True)
        options = [f"--secure-file-priv={files}"]
        major = re.search(r"Ver (\d+)\.", self.version)
        if major and int(major.group(1)) >= 8:
            options.append("--mysqlx=OFF")
        return options

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + SERVER_READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                probe = subprocess.run([*self.client_argv(), "-e", "SELECT 1"], capture_output=True, timeout=30, check=False)
                if probe.returncode == 0:
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.1)
        server_log = (self.folder / "server.log").read_text(errors="replace")
        raise BenchError(f"the server did not come up on 127.0.0.1:{self.port}:\n{tail(server_log)}")

    def describe(self) -> str:
        return describe_settings(self.version, self.settings)


def describe_settings(version: str, settings: list[str]) -> str:
    """The server's version and settings, without the paths."""
    shown = [s for s in settings if not s.startswith(("--datadir", "--socket", "--tmpdir", "--secure-file"))]
    return f"{version.split(' for ')[0]}; {' '.join(shown)}"


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


# ---------------------------------------------------------------------------------------------------------
# The throwaway Galera cluster (--galera), started the way tests/it/common/galera.rs starts it
# ---------------------------------------------------------------------------------------------------------

GALERA_MEMBERS = 3
GALERA_LIBRARIES = [
    "/usr/lib/galera/libgalera_smm.so",
    "/usr/lib/galera-4/libgalera_smm.so",
    "/usr/lib64/galera-4/libgalera_smm.so",
]
# How long a member may take to be Synced (a joiner's includes its state transfer).
GALERA_SYNC_TIMEOUT = 90.0
# A port picked free can be taken before the member binds it (on a busy machine, by another program's
# outgoing connection): then the cluster starts again on other ports.
GALERA_START_ATTEMPTS = 3
# Passed to mariadb-install-db too, so the redo log it makes already has the size the server wants.
GALERA_SMALL_INNODB = ["--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M"]
# A read on this session first waits until the member has applied every write the cluster had committed.
SYNC_READS = "SET SESSION wsrep_sync_wait = 1; "


@dataclass
class MemberConnection(ClientAccess):
    """A client session on one Galera member; with SYNC_READS as its setup, reads see every earlier write
    made through any member."""

    client: str
    port: int
    session_setup: str = ""


@dataclass
class GaleraMember:
    number: int  # 1-based, as issue 9 counts them: member 1 starts the cluster
    folder: Path
    client_port: int
    gcomm_port: int
    ist_port: int
    sst_port: int
    process: subprocess.Popen | None = None

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def tmp_dir(self) -> Path:
        return self.folder / "tmp"

    @property
    def log_file(self) -> Path:
        """Outside the data folder, which a state transfer replaces."""
        return self.folder / "server.log"

    def log_tail(self) -> str:
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        return f"--- member {self.number} ({self.log_file}), end of its log ---\n{tail(text, 15)}"


@dataclass
class GaleraTools:
    server: str
    install_db: str
    galera_library: str
    os_user: str  # who the members run as: `mysql` when this script runs as root, else the current user

    @staticmethod
    def find() -> GaleraTools:
        def missing(what: str, package: str) -> BenchError:
            return BenchError(f"--galera needs {what}, which is missing; install it (Debian/Ubuntu: apt-get install {package})")

        server = find_program(["mariadbd"], SERVER_DIRS)
        if not server:
            raise missing("mariadbd (MariaDB server)", "mariadb-server")
        install_db = find_program(["mariadb-install-db"], [str(Path(server).parent), *CLIENT_DIRS])
        if not install_db:
            raise missing("mariadb-install-db", "mariadb-server")
        if not find_program(["wsrep_sst_rsync"], CLIENT_DIRS):
            raise missing("wsrep_sst_rsync (MariaDB's state-transfer script)", "mariadb-server")
        if not find_program(["rsync"], CLIENT_DIRS):
            raise missing("rsync (for state transfers)", "rsync")
        library = next((path for path in GALERA_LIBRARIES if Path(path).is_file()), None)
        if not library:
            raise missing(f"the galera-4 library (looked for {', '.join(GALERA_LIBRARIES)})", "galera-4")
        return GaleraTools(server, install_db, library, galera_os_user())


def galera_os_user() -> str:
    """Run as root, the members run as `mysql`: the rsync state transfer writes as the server's user."""
    if os.geteuid() != 0:
        return _current_user()
    import pwd

    try:
        return pwd.getpwnam("mysql").pw_name
    except KeyError:
        raise BenchError("--galera runs the members as the `mysql` user, which does not exist; install "
                         "mariadb-server, which creates it") from None


def give_to(folder: Path, user: str) -> None:
    """chown -R user: folder (only possible, and only needed, as root)."""
    if os.geteuid() != 0:
        return
    import pwd

    entry = pwd.getpwnam(user)
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def wsrep_status(connection: MemberConnection) -> dict[str, str]:
    """wsrep_ready, wsrep_local_state_comment and wsrep_cluster_size, or {} when the member cannot say."""
    sql = ("SHOW GLOBAL STATUS WHERE Variable_name IN "
           "('wsrep_ready', 'wsrep_local_state_comment', 'wsrep_cluster_size')")
    try:
        probe = subprocess.run([*connection.client_argv(), "--batch", "--skip-column-names", "-e", sql],
                               capture_output=True, text=True, timeout=10, check=False)
    except subprocess.TimeoutExpired:
        return {}
    if probe.returncode != 0:
        return {}
    return {name.lower(): value for name, value in (line.split("\t", 1) for line in probe.stdout.splitlines() if "\t" in line)}


class GaleraCluster:
    """Three MariaDB Galera members on loopback ports, each with a folder of its own inside one temp folder
    (not the benchmark's: the members' user must be able to reach it). Root logs in with no password."""

    def __init__(self, client: str) -> None:
        self.tools = GaleraTools.find()
        self.client = client
        self.version = subprocess.run(
            [self.tools.server, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
        self.name = f"eidb_bench_galera_{os.getpid()}"
        self.folder: Path | None = None
        self.watchdog: Watchdog | None = None
        self.members: list[GaleraMember] = []

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> None:
        """Members initialised, member 1 starts a new cluster, the others join it by rsync state transfer;
        returns once all three are Synced in a cluster of three."""
        for attempt in range(1, GALERA_START_ATTEMPTS + 1):
            try:
                return self._start_once()
            except BenchError as e:
                if "Address already in use" not in str(e) or attempt == GALERA_START_ATTEMPTS:
                    raise
                log(f"a Galera member's port was taken meanwhile; starting the cluster again on other ports "
                    f"(attempt {attempt + 1} of {GALERA_START_ATTEMPTS})")
                self.stop()

    def _start_once(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="eidb-bench-galera-"))
        self.watchdog = Watchdog(self.folder)  # from here on, a dying script leaves nothing behind
        self.folder.chmod(0o755)
        ports = iter(ports_outside_ephemeral_range(4 * GALERA_MEMBERS))
        self.members = [
            GaleraMember(n, self.folder / f"member{n}", next(ports), next(ports), next(ports), next(ports))
            for n in range(1, GALERA_MEMBERS + 1)
        ]
        self._initialize_data_dirs()
        first, *joiners = self.members
        self._spawn(first, new_cluster=True)
        self._wait_until_synced([first])
        for member in joiners:
            self._spawn(member, new_cluster=False)
        self._wait_until_synced(self.members)

    def stop(self) -> None:
        """Stop every member (all leave at once), then remove the folder. Idempotent."""
        running = [m for m in self.members if m.process and m.process.returncode is None]
        for member in running:
            try:
                os.kill(member.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for member in self.members:
            if member.process:
                stop_server_process(member.process, self.watchdog, grace=SERVER_STOP_TIMEOUT)
        if self.watchdog:
            self.watchdog.finish()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder, self.watchdog, self.members = None, None, []

    def _initialize_data_dirs(self) -> None:
        """mariadb-install-db for every member, all at once."""
        started = []
        try:
            for member in self.members:
                member.tmp_dir.mkdir(parents=True)
                give_to(member.folder, self.tools.os_user)
                argv = [self.tools.install_db, "--no-defaults", f"--datadir={member.data_dir}",
                        f"--tmpdir={member.tmp_dir}", "--auth-root-authentication-method=normal",
                        "--skip-test-db", f"--user={self.tools.os_user}", *GALERA_SMALL_INNODB]
                install_log = open(member.folder / "install.log", "wb")
                started.append((member, subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=install_log,
                                                         stderr=subprocess.STDOUT)))
                install_log.close()
            for member, install in started:
                if install.wait(300) != 0:
                    log_text = (member.folder / "install.log").read_text(errors="replace")
                    raise BenchError(f"mariadb-install-db failed for Galera member {member.number}:\n{tail(log_text)}")
                give_to(member.folder, self.tools.os_user)
        finally:
            for _, install in started:
                if install.poll() is None:
                    install.kill()
                    install.wait()

    def _spawn(self, member: GaleraMember, new_cluster: bool) -> None:
        server_log = open(member.log_file, "ab")
        member.process = subprocess.Popen(
            [self.tools.server, *self._member_settings(member), *self._shared_settings(),
             *(["--wsrep-new-cluster"] if new_cluster else [])],
            stdin=subprocess.DEVNULL, stdout=server_log, stderr=server_log,
            # A session of its own: out of reach of the terminal's Ctrl-C (this script stops it), and a
            # process group to kill with it (its state transfer's rsync).
            start_new_session=True,
        )
        server_log.close()
        self.watchdog.watch(member.process)

    def _member_settings(self, member: GaleraMember) -> list[str]:
        gcomm = ",".join(f"127.0.0.1:{m.gcomm_port}" for m in self.members)
        return [
            "--no-defaults",
            f"--datadir={member.data_dir}",
            f"--tmpdir={member.tmp_dir}",
            f"--socket={member.folder}/sock",
            f"--port={member.client_port}",
            f"--wsrep-cluster-address=gcomm://{gcomm}",
            f"--wsrep-node-name=member{member.number}",
            # The default gcache is a 128 MB file per member; the benchmark writes little.
            f"--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:{member.gcomm_port};"
            f"ist.recv_addr=127.0.0.1:{member.ist_port};gcache.size=32M",
            f"--wsrep-sst-receive-address=127.0.0.1:{member.sst_port}",
        ]

    def _shared_settings(self) -> list[str]:
        """The same for every member; what the report shows."""
        return [
            "--bind-address=127.0.0.1",
            f"--user={self.tools.os_user}",
            "--innodb-flush-log-at-trx-commit=2",
            "--max-connections=300",
            "--wsrep-on=ON",
            f"--wsrep-provider={self.tools.galera_library}",
            f"--wsrep-cluster-name={self.name}",
            "--wsrep-node-address=127.0.0.1",
            "--wsrep-sst-method=rsync",
            # What Galera requires of the tables it replicates; the binary log itself stays off.
            "--binlog-format=ROW",
            "--innodb-autoinc-lock-mode=2",
            "--default-storage-engine=InnoDB",
            *GALERA_SMALL_INNODB,
        ]

    def _wait_until_synced(self, members: list[GaleraMember]) -> None:
        """Every one of `members` ready, Synced, and in a cluster of exactly `members`."""
        deadline = time.monotonic() + GALERA_SYNC_TIMEOUT
        for member in members:
            while True:
                for started in members:
                    if started.process.poll() is not None:
                        raise BenchError(f"Galera member {started.number} exited ({started.process.returncode}) "
                                         f"while starting:\n{self._log_tails()}")
                status = wsrep_status(self.connection(member.number))
                if (status.get("wsrep_ready") == "ON" and status.get("wsrep_local_state_comment") == "Synced"
                        and status.get("wsrep_cluster_size") == str(len(members))):
                    break
                if time.monotonic() >= deadline:
                    raise BenchError(f"Galera member {member.number} (127.0.0.1:{member.client_port}) was not "
                                     f"Synced in a cluster of {len(members)} after {GALERA_SYNC_TIMEOUT:.0f} s; "
                                     f"last seen: {status or 'no answer'}\n{self._log_tails()}")
                time.sleep(0.2)

    def _log_tails(self) -> str:
        return "\n".join(member.log_tail() for member in self.members)

    # -- talking to it ----------------------------------------------------------------------------------

    def connection(self, member_number: int, sync_reads: bool = False) -> MemberConnection:
        port = self.members[member_number - 1].client_port
        return MemberConnection(self.client, port, SYNC_READS if sync_reads else "")

    def urls(self) -> list[str]:
        return [self.connection(m.number).url() for m in self.members]

    def describe(self) -> str:
        return (f"{GALERA_MEMBERS} members on loopback, {describe_settings(self.version, self._shared_settings())}; "
                "gcomm:// addresses of the three, rsync state transfer, gcache.size=32M; member 1 bootstrapped "
                "the cluster (--wsrep-new-cluster)")


# ---------------------------------------------------------------------------------------------------------
# The cluster under test: dbscripts, node EI_HOMEs, the spec
# ---------------------------------------------------------------------------------------------------------


class Cluster:
    """A temporary WSO2 EI cluster of `node_count` nodes, described by a cluster.toml whose [server] names
    `server_urls` (one: `url`; several, the members of a Galera cluster: `urls`)."""

    def __init__(self, root: Path, node_count: int, wso2_dir: Path, server_urls: list[str]) -> None:
        self.root = root
        self.node_count = node_count
        self.wso2_dir = wso2_dir
        self.dbscripts = root / "dbscripts"
        self.spec = root / "cluster.toml"
        shutil.copytree(wso2_dir / "dbscripts", self.dbscripts)
        _make_writable(self.dbscripts)
        self.reset_node_files()
        self.write_spec(self.spec, server_urls)

    @property
    def databases(self) -> list[str]:
        return [USER_STORE, SHARED_REGISTRY] + [self.local_registry(i) for i in range(1, self.node_count + 1)]

    @staticmethod
    def local_registry(node_number: int) -> str:
        return f"{LOCAL_REGISTRY_PREFIX}{node_number}"

    def ei_home(self, node_number: int) -> Path:
        return self.root / f"node{node_number}"

    def reset_node_files(self) -> None:
        """Every node gets the unedited EI 6.x conf files again."""
        for i in range(1, self.node_count + 1):
            home = self.ei_home(i)
            shutil.rmtree(home, ignore_errors=True)
            shutil.copytree(self.wso2_dir / "conf", home / "conf")
            _make_writable(home)
            (home / "lib").mkdir()
            (home / "lib" / PLACEHOLDER_DRIVER_JAR).touch()

    def write_spec(self, path: Path, server_urls: list[str]) -> Path:
        """A spec for this cluster at `path`; the benchmark may write several, differing only in [server]."""
        path.write_text(self._spec_text(server_urls))
        return path

    def _spec_text(self, server_urls: list[str]) -> str:
        nodes = "".join(
            f'\n[[nodes]]\nname = "node{i}"\nei_home = "{self.ei_home(i)}"\n' for i in range(1, self.node_count + 1)
        )
        if len(server_urls) == 1:
            server = f'url = "{server_urls[0]}"'
        else:
            server = "urls = [" + ", ".join(f'"{url}"' for url in server_urls) + "]"
        return (
            f'[server]\n{server}\n\n'
            f'[user]\nname = "{ACCOUNT_NAME}"\npassword_env = "{PASSWORD_ENV}"\n\n'
            f'[databases]\nuser_store = "{USER_STORE}"\nshared_registry = "{SHARED_REGISTRY}"\n'
            f'local_registry_prefix = "{LOCAL_REGISTRY_PREFIX}"\ncharset = "{CHARSET}"\n\n'
            f'[dbscripts]\ndir = "{self.dbscripts}"\n{nodes}'
        )


def _make_writable(folder: Path) -> None:
    """The shared WSO2 files are read-only; their copies must not be."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)


# ---------------------------------------------------------------------------------------------------------
# The contenders
# ---------------------------------------------------------------------------------------------------------


class ClientProcedure:
    """The WSO2-documented procedure: one mysql-client invocation per database, run by `xargs -P k`
    (k = 1 is the manual procedure, one database after another)."""

    def __init__(self, cluster: Cluster, server: ClientAccess, script: Path, timeout: float) -> None:
        self.server = server
        self.timeout = timeout
        folder = cluster.root / "client-procedure"
        folder.mkdir()
        self.database_list = folder / "databases.txt"
        paths = []
        for database in cluster.databases:
            path = folder / f"{database}.sql"
            path.write_text(self._procedure_sql(database, script))
            paths.append(str(path))
        self.database_list.write_text("\n".join(paths) + "\n")

    @staticmethod
    def _procedure_sql(database: str, script: Path) -> str:
        # As the WSO2 EI 6.x "Setting up MySQL" page does it: create the database in latin1, load the
        # script into it, create the account and grant it everything on the database.
        return (
            f"create database {database} character set {CHARSET};\n"
            f"use {database};\n"
            f"source {script};\n"
            f"CREATE USER IF NOT EXISTS '{ACCOUNT_NAME}'@'{ACCOUNT_HOST}' IDENTIFIED BY '{ACCOUNT_PASSWORD}';\n"
            f"GRANT ALL ON {database}.* TO '{ACCOUNT_NAME}'@'{ACCOUNT_HOST}';\n"
            "FLUSH PRIVILEGES;\n"
        )

    def run(self, parallelism: int) -> Finished:
        argv = ["xargs", "-P", str(parallelism), "-I{}", *self.server.client_argv(), "--batch", "-e", "source {}"]
        finished = run_measured(argv, self.timeout, stdin_path=self.database_list)
        if finished.returncode != 0:
            raise BenchError(f"the client procedure (xargs -P {parallelism}) failed:\n{finished.describe_failure()}")
        return finished


# eidb's progress lines (human output, stderr): "eidb   1.23s [ 12] what was done", time since its start.
PROGRESS_LINE = re.compile(r"^eidb\s+(\d+(?:\.\d+)?)s (.*)$")
# The step eidb reports once every other member of `[server] urls` has been read back and agrees.
MEMBERS_READ_BACK = "other member(s) hold the same"


def read_back_seconds(progress: str) -> float | None:
    """How long eidb took to read the other members back after provisioning, by its own clock: from the
    progress line before the one saying the other members hold the same to that line. None without one."""
    previous = None
    for line in progress.splitlines():
        match = PROGRESS_LINE.match(line)
        if not match:
            continue
        at = float(match.group(1))
        if MEMBERS_READ_BACK in match.group(2) and previous is not None:
            return at - previous
        previous = at
    return None


def eidb_version(binary: Path) -> str:
    return subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False).stdout.strip()


TIMINGS_LINE = re.compile(
    r"wall ([\d.]+) ms; server ([\d.]+) ms in (\d+) steps \((.*)\); eidb ([\d.]+) ms \(cpu ([\d.]+) ms(?:; (.*))?\)"
)
TIMINGS_STEP = re.compile(r"([a-z_][a-z_ ]*?) (\d+)x ([\d.]+)")


def parse_timings(stderr: str) -> dict | None:
    """eidb's `eidb::timings` line (RUST_LOG=eidb::timings=debug, see src/timings.rs): the run's wall time
    inside eidb, the time it waited in its server steps (connections, reads), the rest (eidb's own work),
    its CPU time, each step's time, and each of eidb's own phases (reading the node files and the dbscript,
    planning; some run beside the server steps), all in ms."""
    match = None
    for match in TIMINGS_LINE.finditer(stderr):
        pass
    if match is None:
        return None
    steps = {name: float(ms) for name, _count, ms in TIMINGS_STEP.findall(match.group(4))}
    return {
        "wall": float(match.group(1)),
        "server": float(match.group(2)),
        "steps_count": int(match.group(3)),
        "eidb": float(match.group(5)),
        "cpu": float(match.group(6)),
        "steps": steps,
        "own": {name: float(ms) for name, _count, ms in TIMINGS_STEP.findall(match.group(7) or "")},
    }


class Eidb:
    def __init__(self, binary: Path, spec: Path, parallel: int | None, timeout: float) -> None:
        self.binary = binary
        self.spec = spec
        self.parallel = parallel
        self.timeout = timeout
        self.env = {**os.environ, PASSWORD_ENV: ACCOUNT_PASSWORD}
        self.env.pop("RUST_LOG", None)
        # The no-op runs say where their time goes (one log line on stderr; the JSON report is unchanged).
        self.timing_env = {**self.env, "RUST_LOG": "eidb::timings=debug"}

    def provision(self, db_only: bool, expect_changes: bool) -> Finished:
        argv = self._provision_argv(db_only, "json")
        finished, report = self._run(argv, timed=not expect_changes)
        changes = len(report.get("changes") or [])
        if expect_changes and changes == 0:
            raise BenchError(f"`{' '.join(argv)}` from nothing applied no change (status {report.get('status')!r})")
        if not expect_changes and changes != 0:
            summaries = [c.get("summary") for c in report["changes"]][:10]
            raise BenchError(f"`{' '.join(argv)}` on a provisioned cluster was not a no-op: {summaries}")
        return finished

    def provision_with_progress(self, db_only: bool) -> Finished:
        """`provision` with human output, whose progress lines on stderr carry eidb's own timings (see
        read_back_seconds). There is no JSON report to count the changes: the checks after the run show
        whether it did its work."""
        argv = self._provision_argv(db_only, "human")
        finished = run_measured(argv, self.timeout, env=self.env, peak_memory=True)
        if finished.returncode != 0:
            raise BenchError(f"eidb failed:\n{finished.describe_failure()}")
        return finished

    def _provision_argv(self, db_only: bool, output: str) -> list[str]:
        argv = [str(self.binary), "--output", output, "provision", "--config", str(self.spec)]
        if db_only:
            argv.append("--db-only")
        if self.parallel is not None:
            argv += ["--parallel", str(self.parallel)]
        return argv

    def verify(self, db_only: bool) -> Finished:
        argv = [str(self.binary), "--output", "json", "verify", "--config", str(self.spec)]
        if db_only:
            argv.append("--db-only")
        finished, report = self._run(argv, timed=True)
        if report.get("findings") or report.get("changes"):
            raise BenchError(f"`{' '.join(argv)}` found drift on a provisioned cluster: {report.get('findings')}")
        return finished

    def chosen_script(self) -> Path:
        """The dbscript eidb picks for this server (from a --dry-run report): the manual procedure must
        load the same one."""
        argv = [str(self.binary), "--output", "json", "provision", "--config", str(self.spec), "--db-only", "--dry-run"]
        _, report = self._run(argv)
        try:
            return Path(report["preflight"]["script"]["path"])
        except (KeyError, TypeError) as e:
            raise BenchError(f"eidb's dry-run report does not name the dbscript (preflight.script.path): {e!r}") from e

    def _run(self, argv: list[str], timed: bool = False) -> tuple[Finished, dict]:
        finished = run_measured(argv, self.timeout, env=self.timing_env if timed else self.env, peak_memory=True)
        if timed:
            finished.timings = parse_timings(finished.stderr)
        if finished.returncode != 0:
            raise BenchError(f"eidb failed:\n{finished.describe_failure()}")
        try:
            report = json.loads(finished.stdout)
        except json.JSONDecodeError as e:
            raise BenchError(f"eidb printed no JSON report ({e}):\n{finished.describe_failure()}") from e
        return finished, report


# ---------------------------------------------------------------------------------------------------------
# Correctness: read the server and the node files directly, not through eidb
# ---------------------------------------------------------------------------------------------------------

CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?(\w+)`?", re.IGNORECASE | re.MULTILINE)


def tables_of_script(script: Path) -> frozenset[str]:
    tables = frozenset(name.upper() for name in CREATE_TABLE.findall(script.read_text(errors="replace")))
    if not tables:
        raise BenchError(f"found no CREATE TABLE in {script}")
    return tables


@dataclass(frozen=True)
class DatabaseShape:
    """What a loaded database looks like, as information_schema shows it."""

    charset: str
    tables: frozenset[str]
    indexes: int
    foreign_keys: int

    def describe(self) -> str:
        return f"{self.charset}, {len(self.tables)} tables, {self.indexes} indexes, {self.foreign_keys} foreign keys"


def read_shapes(server: ClientAccess, databases: list[str]) -> dict[str, DatabaseShape]:
    names = ",".join(f"'{d}'" for d in databases)
    rows = server.query(
        f"SELECT 'db', SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({names})"
        f" UNION ALL SELECT 'table', TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({names})"
        f" UNION ALL SELECT DISTINCT 'index', TABLE_SCHEMA, CONCAT(TABLE_NAME, '.', INDEX_NAME)"
        f" FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN ({names})"
        f" UNION ALL SELECT 'fk', CONSTRAINT_SCHEMA, CONCAT(TABLE_NAME, '.', CONSTRAINT_NAME)"
        f" FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN ({names})"
    )
    found: dict[str, dict] = {}
    for kind, schema, value in rows:
        entry = found.setdefault(schema, {"charset": "", "tables": set(), "indexes": 0, "fks": 0})
        if kind == "db":
            entry["charset"] = value
        elif kind == "table":
            entry["tables"].add(value.upper())
        elif kind == "index":
            entry["indexes"] += 1
        else:
            entry["fks"] += 1
    return {
        schema: DatabaseShape(e["charset"], frozenset(e["tables"]), e["indexes"], e["fks"]) for schema, e in found.items()
    }


def read_granted_databases(server: ClientAccess) -> set[str]:
    rows = server.query(f"SELECT Db FROM mysql.db WHERE User = '{ACCOUNT_NAME}' AND Host = '{ACCOUNT_HOST}'")
    # eidb escapes `_` in grant targets (`WSO2\_USER\_DB`); the docs' grants do not. Both mean the database.
    return {row[0].replace("\\_", "_").replace("\\%", "%") for row in rows}


class Checker:
    """Fails loudly when a run left the cluster in any other state than the manual procedure does."""

    def __init__(self, server: ClientAccess, cluster: Cluster, script: Path) -> None:
        self.server = server  # on Galera: another member than the one written through, with SYNC_READS
        self.cluster = cluster
        self.script_tables = tables_of_script(script)
        self.reference: DatabaseShape | None = None

    def set_reference_from_manual(self) -> DatabaseShape:
        """Run after the manual procedure: its result is what every contender must produce."""
        shapes = read_shapes(self.server, self.cluster.databases)
        shape = shapes.get(USER_STORE)
        if shape is None or shape.tables != self.script_tables or shape.charset != CHARSET:
            raise BenchError(f"the manual procedure did not load the script as expected: {USER_STORE} is {shape}")
        self.reference = shape
        self.check_databases("manual procedure")
        return shape

    def check_databases(self, who: str) -> None:
        shapes = read_shapes(self.server, self.cluster.databases)
        problems = []
        for database in self.cluster.databases:
            shape = shapes.get(database)
            if shape is None:
                problems.append(f"{database} does not exist")
            elif shape != self.reference:
                missing = sorted(self.reference.tables - shape.tables)[:5]
                problems.append(
                    f"{database} is {shape.describe()}, expected {self.reference.describe()}"
                    + (f" (missing e.g. {', '.join(missing)})" if missing else "")
                )
        not_granted = set(self.cluster.databases) - read_granted_databases(self.server)
        if not_granted:
            problems.append(f"'{ACCOUNT_NAME}'@'{ACCOUNT_HOST}' has no grant on {', '.join(sorted(not_granted))}")
        if problems:
            raise BenchError(f"after {who}, the cluster is wrong:\n  " + "\n  ".join(problems))

    def check_node_files(self, who: str) -> None:
        problems = []
        for i in range(1, self.cluster.node_count + 1):
            problems += [f"node{i}: {p}" for p in node_file_problems(self.cluster.ei_home(i), self.cluster.local_registry(i))]
        if problems:
            raise BenchError(f"after {who}, node files are wrong:\n  " + "\n  ".join(problems[:20]))


def node_file_problems(ei_home: Path, local_registry: str) -> list[str]:
    """Follow the references the way a node does: user-mgt.xml and registry.xml name JNDI datasources,
    master-datasources.xml maps them to JDBC URLs."""
    conf = ei_home / "conf"
    try:
        datasources = ElementTree.parse(conf / "datasources" / "master-datasources.xml").getroot()
        user_mgt = ElementTree.parse(conf / "user-mgt.xml").getroot()
        registry = ElementTree.parse(conf / "registry.xml").getroot()
    except (OSError, ElementTree.ParseError) as e:
        return [f"cannot read the conf files: {e}"]

    jdbc = {}
    for datasource in datasources.iter("datasource"):
        jndi = (datasource.findtext("jndiConfig/name") or "").strip()
        configuration = datasource.find("definition/configuration")
        if jndi and configuration is not None:
            jdbc[jndi] = ((configuration.findtext("url") or "").strip(), (configuration.findtext("username") or "").strip())

    def database_of(jndi: str) -> str:
        url = jdbc.get(jndi, ("", ""))[0]
        match = re.match(r"jdbc:mysql://[^/]+/([^?]+)", url)
        return match.group(1) if match else f"<{url or 'no datasource ' + jndi}>"

    problems = []
    user_store_jndi = next(
        ((p.text or "").strip() for p in user_mgt.iter("Property") if p.get("name") == "dataSource"), ""
    )
    if database_of(user_store_jndi) != USER_STORE:
        problems.append(f"the user store ({user_store_jndi}) points at {database_of(user_store_jndi)}")

    db_configs = {c.get("name"): (c.findtext("dataSource") or "").strip() for c in registry.findall("dbConfig")}
    local_jndi = db_configs.get((registry.findtext("currentDBConfig") or "").strip(), "")
    if database_of(local_jndi) != local_registry:
        problems.append(f"the local registry ({local_jndi}) points at {database_of(local_jndi)}, not {local_registry}")

    remote = registry.find("remoteInstance")
    if remote is None:
        problems.append("registry.xml has no remoteInstance")
    else:
        shared_jndi = db_configs.get((remote.findtext("dbConfig") or "").strip(), "")
        if database_of(shared_jndi) != SHARED_REGISTRY:
            problems.append(f"the shared registry ({shared_jndi}) points at {database_of(shared_jndi)}")
        url, username = jdbc.get(shared_jndi, ("", ""))
        if (remote.findtext("cacheId") or "").strip() != f"{username}@{url}":
            problems.append("the registry cacheId is not <username>@<JDBC URL> of the shared registry")
    if len(registry.findall("mount")) < 2:
        problems.append("registry.xml lacks the config and governance mounts")
    return problems


# ---------------------------------------------------------------------------------------------------------
# Scenarios and runs
# ---------------------------------------------------------------------------------------------------------

MANUAL = "manual"
BEST_PARALLEL = "best parallel"
EIDB_DB = "eidb provision --db-only"
EIDB_DB_NOOP = "eidb provision --db-only (no-op)"
EIDB_VERIFY_DB_NOOP = "eidb verify --db-only (no-op)"
EIDB_FULL = "eidb provision (with files)"
EIDB_FULL_NOOP = "eidb provision (with files, no-op)"
EIDB_VERIFY_FULL_NOOP = "eidb verify (with files, no-op)"
EIDB_SCENARIOS = [EIDB_DB, EIDB_DB_NOOP, EIDB_VERIFY_DB_NOOP, EIDB_FULL, EIDB_FULL_NOOP, EIDB_VERIFY_FULL_NOOP]
NOOP_SCENARIOS = {EIDB_DB_NOOP: EIDB_DB, EIDB_VERIFY_DB_NOOP: EIDB_DB, EIDB_FULL_NOOP: EIDB_FULL, EIDB_VERIFY_FULL_NOOP: EIDB_FULL}
# Each eidb group: from nothing, then the no-op provision, then the no-op verify.
EIDB_DB_GROUP = (EIDB_DB, EIDB_DB_NOOP, EIDB_VERIFY_DB_NOOP)
EIDB_FULL_GROUP = (EIDB_FULL, EIDB_FULL_NOOP, EIDB_VERIFY_FULL_NOOP)

# Galera only: the same --db-only group with a spec that names member 1 alone, so eidb neither probes nor
# reads back the other members. Its difference to EIDB_DB_GROUP is what naming the cluster costs.
GALERA = "galera"
MEMBER_1_ONLY = ", spec names member 1 only"
EIDB_DB_MEMBER_1_GROUP = tuple(scenario + MEMBER_1_ONLY for scenario in EIDB_DB_GROUP)


SERVER_COUNTERS = ("Questions", "Connections", "Com_stmt_prepare")


def counted_by_server(server: ClientAccess, run: Callable[[], object]) -> dict[str, int]:
    """What the server's status counters (statements received, connections opened, statements prepared) grew
    by while `run` ran; this script's own status query (one statement, one connection) is subtracted."""

    def counters() -> dict[str, int]:
        names = ", ".join(f"'{name}'" for name in SERVER_COUNTERS)
        rows = server.query(f"SHOW GLOBAL STATUS WHERE Variable_name IN ({names})")
        return {name: int(value) for name, value in rows}

    before = counters()
    run()
    after = counters()
    return {name: after.get(name, 0) - before.get(name, 0) - (1 if name in ("Questions", "Connections") else 0)
            for name in SERVER_COUNTERS}


def parallel_scenario(k: int) -> str:
    return f"parallel clients (xargs -P {k})"


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    max_rss_bytes: list[int] = field(default_factory=list)
    max_rss_exact: bool = True
    # Per run, eidb's timings line and the process's wall time (no-op runs only; see parse_timings).
    timings: list[tuple[dict, float]] = field(default_factory=list)

    def add(self, finished: Finished) -> None:
        self.seconds.append(finished.seconds)
        self.max_rss_bytes.append(finished.max_rss_bytes)
        self.max_rss_exact &= finished.max_rss_exact
        if finished.timings:
            self.timings.append((finished.timings, finished.seconds))

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class ClusterResults:
    node_count: int
    database_count: int
    reference: DatabaseShape | None = None
    by_scenario: dict[str, Samples] = field(default_factory=dict)
    setup: str = ""  # "" for the single server, GALERA for the Galera cluster
    # Galera: per from-nothing run of eidb with the three members, its read-back of the other two.
    read_back_seconds: list[float] = field(default_factory=list)
    # Per no-op scenario: what the server counted during one untimed run (statements, connections, ...).
    server_counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def shown(self, scenario: str) -> str:
        """The scenario's name in the report: Galera rows are prefixed `galera: `."""
        return f"{self.setup}: {scenario}" if self.setup else scenario

    def samples(self, scenario: str) -> Samples:
        return self.by_scenario.setdefault(scenario, Samples())

    def best_parallel(self) -> str:
        parallel = [s for s in self.by_scenario if s.startswith("parallel")]
        return min(parallel, key=lambda s: self.by_scenario[s].median)


class Bench:
    def __init__(self, args: argparse.Namespace, server: ThrowawayServer, workdir: Path) -> None:
        self.args = args
        self.server = server
        self.workdir = workdir
        self.cores = os.cpu_count() or 1

    def measure_cluster(self, node_count: int) -> ClusterResults:
        """The single server: the client procedure, and eidb with and without the node files."""
        cluster = Cluster(self.workdir / f"{node_count}-nodes", node_count, self.args.wso2_dir, [self.server.url()])
        eidb = self._eidb_for(cluster.spec)
        self.server.reset()
        script = eidb.chosen_script()
        procedure = ClientProcedure(cluster, self.server, script, self.args.timeout)
        checker = Checker(self.server, cluster, script)
        results = ClusterResults(node_count, len(cluster.databases))
        label = f"{node_count} nodes / {len(cluster.databases)} databases"

        self._warm_up(label, procedure, checker, results, script)
        groups = self._client_groups(procedure, checker, results, len(cluster.databases))
        groups += [
            ("eidb --db-only", lambda: self._eidb(eidb, checker, cluster, results, db_only=True)),
            ("eidb", lambda: self._eidb(eidb, checker, cluster, results, db_only=False)),
        ]
        self._run_groups(label, groups, results, self.server, cluster)
        return results

    def measure_galera_cluster(self, node_count: int, galera: GaleraCluster) -> ClusterResults:
        """The Galera cluster: everything written through member 1 and checked on member 3; eidb --db-only
        with a spec naming the three members, and with one naming member 1 only."""
        member_1 = galera.connection(1)
        member_3 = galera.connection(3, sync_reads=True)
        cluster = Cluster(self.workdir / f"galera-{node_count}-nodes", node_count, self.args.wso2_dir, galera.urls())
        eidb = self._eidb_for(cluster.spec)
        eidb_member_1_only = self._eidb_for(cluster.write_spec(cluster.root / "cluster-member1.toml", [member_1.url()]))
        member_1.reset()
        script = eidb.chosen_script()
        procedure = ClientProcedure(cluster, member_1, script, self.args.timeout)
        checker = Checker(member_3, cluster, script)
        results = ClusterResults(node_count, len(cluster.databases), setup=GALERA)
        label = f"galera: {node_count} nodes / {len(cluster.databases)} databases"

        self._warm_up(label, procedure, checker, results, script)
        groups = self._client_groups(procedure, checker, results, len(cluster.databases))
        groups += [
            ("eidb --db-only", lambda: self._eidb(eidb, checker, cluster, results, db_only=True, progress=True)),
            ("eidb --db-only, member 1 only", lambda: self._eidb(
                eidb_member_1_only, checker, cluster, results, db_only=True, progress=True,
                scenarios=EIDB_DB_MEMBER_1_GROUP)),
        ]
        self._run_groups(label, groups, results, member_1, cluster)
        return results

    def _eidb_for(self, spec: Path) -> Eidb:
        return Eidb(self.args.eidb_copy, spec, self.args.eidb_parallel, self.args.timeout)

    def _warm_up(self, label: str, procedure: ClientProcedure, checker: Checker, results: ClusterResults,
                 script: Path) -> None:
        """Untimed; its result is the reference every timed run must reproduce."""
        log(f"{label}: warm-up with the manual procedure ({script.name})")
        procedure.run(1)
        results.reference = checker.set_reference_from_manual()

    def _client_groups(self, procedure: ClientProcedure, checker: Checker, results: ClusterResults,
                       database_count: int) -> list[tuple[str, Callable[[], None]]]:
        parallelisms = sorted({self.cores, database_count})
        groups = [("manual", lambda: self._manual(procedure, checker, results))]
        groups += [(f"-P {k}", lambda k=k: self._parallel(procedure, checker, results, k)) for k in parallelisms]
        return groups

    def _run_groups(self, label: str, groups: list[tuple[str, Callable[[], None]]], results: ClusterResults,
                    writer: ClientAccess, cluster: Cluster) -> None:
        """Each run measures every group once, from nothing; the order rotates from run to run."""
        for run in range(self.args.runs):
            shift = run % len(groups)
            for _group, measure in groups[shift:] + groups[:shift]:
                writer.reset()
                cluster.reset_node_files()
                measure()
            summary = ", ".join(f"{s}: {results.by_scenario[s].seconds[-1]:.3f}s" for s in results.by_scenario)
            log(f"{label}: run {run + 1}/{self.args.runs}: {summary}")
        writer.reset()

    def _manual(self, procedure: ClientProcedure, checker: Checker, results: ClusterResults) -> None:
        results.samples(MANUAL).add(procedure.run(1))
        checker.check_databases(results.shown(MANUAL))

    def _parallel(self, procedure: ClientProcedure, checker: Checker, results: ClusterResults, k: int) -> None:
        results.samples(parallel_scenario(k)).add(procedure.run(k))
        checker.check_databases(results.shown(parallel_scenario(k)))

    def _eidb(self, eidb: Eidb, checker: Checker, cluster: Cluster, results: ClusterResults, db_only: bool,
              scenarios: tuple[str, str, str] | None = None, progress: bool = False) -> None:
        """From nothing, then the no-op provision and verify. With `progress`, the from-nothing run uses human
        output, and the read-back of the other members its progress lines time is kept (Galera)."""
        from_nothing, noop, verify_noop = scenarios or (EIDB_DB_GROUP if db_only else EIDB_FULL_GROUP)

        def check(who: str) -> None:
            checker.check_databases(results.shown(who))
            if not db_only:
                checker.check_node_files(who)

        if progress:
            finished = eidb.provision_with_progress(db_only)
            read_back = read_back_seconds(finished.stderr)
            if read_back is not None:
                results.read_back_seconds.append(read_back)
        else:
            finished = eidb.provision(db_only, expect_changes=True)
        results.samples(from_nothing).add(finished)
        check(from_nothing)
        results.samples(noop).add(eidb.provision(db_only, expect_changes=False))
        check(noop)
        results.samples(verify_noop).add(eidb.verify(db_only))
        # Once per scenario, untimed: how many statements and connections a no-op run costs the server.
        for scenario, run in ((noop, lambda: eidb.provision(db_only, expect_changes=False)),
                              (verify_noop, lambda: eidb.verify(db_only))):
            if scenario not in results.server_counts and not results.setup:  # Galera: checks read member 3
                results.server_counts[scenario] = counted_by_server(checker.server, run)


# ---------------------------------------------------------------------------------------------------------
# A server shared with other applications (issue 26)
# ---------------------------------------------------------------------------------------------------------

CLUSTER_ONLY = "server holds only the cluster"
SHARED = "server also holds the other databases"
SHARED_SCENARIOS = (EIDB_VERIFY_DB_NOOP, EIDB_VERIFY_FULL_NOOP)


@dataclass
class SharedServerResults:
    node_count: int
    database_count: int
    other_databases: int
    other_tables: int
    seconds_to_create_others: float = 0.0
    # (scenario, CLUSTER_ONLY or SHARED) -> samples
    by_case: dict[tuple[str, str], Samples] = field(default_factory=dict)

    def samples(self, scenario: str, case: str) -> Samples:
        return self.by_case.setdefault((scenario, case), Samples())

    def ratio(self, scenario: str) -> float:
        return self.by_case[(scenario, SHARED)].median / self.by_case[(scenario, CLUSTER_ONLY)].median


def other_database_sql(number: int, tables: int) -> str:
    """One other application's database: `tables` InnoDB tables with a primary key and an index each."""
    name = f"{OTHER_DATABASE_PREFIX}{number:04d}"
    lines = [f"CREATE DATABASE `{name}`;", f"USE `{name}`;"]
    lines += [
        f"CREATE TABLE T{t:03d} (ID INT PRIMARY KEY, NAME VARCHAR(64), REF INT, CREATED DATETIME, KEY BY_NAME (NAME));"
        for t in range(1, tables + 1)
    ]
    return "\n".join(lines) + "\n"


def create_other_databases(server: ThrowawayServer, folder: Path, count: int, tables: int, timeout: float) -> float:
    """`count` databases of `tables` tables each, through parallel clients; the server's redo log is flushed
    lazily meanwhile (the setting is put back after), so that building them takes seconds, not minutes.
    Returns the seconds it took."""
    folder.mkdir(exist_ok=True)
    paths = []
    for number in range(1, count + 1):
        path = folder / f"{number}.sql"
        path.write_text(other_database_sql(number, tables))
        paths.append(str(path))
    listing = folder / "databases.txt"
    listing.write_text("\n".join(paths) + "\n")
    flush = server.query("SELECT @@GLOBAL.innodb_flush_log_at_trx_commit")[0][0]
    server.query("SET GLOBAL innodb_flush_log_at_trx_commit = 0")
    try:
        argv = ["xargs", "-P", str(max(2, os.cpu_count() or 1)), "-I{}", *server.client_argv(), "--batch", "-e", "source {}"]
        finished = run_measured(argv, timeout, stdin_path=listing)
        if finished.returncode != 0:
            raise BenchError(f"creating the other databases failed:\n{finished.describe_failure()}")
    finally:
        server.query(f"SET GLOBAL innodb_flush_log_at_trx_commit = {int(flush)}")
    made = server.query(f"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA LIKE '{OTHER_DATABASE_PREFIX}%'")
    if int(made[0][0]) != count * tables:
        raise BenchError(f"expected {count * tables} tables in the other databases, found {made[0][0]}")
    return finished.seconds


def settle(server: ThrowawayServer, label: str, timeout: float = 120.0) -> None:
    """Wait until InnoDB has written the pages the new tables dirtied (flushing them at once for the while):
    otherwise the first minute of runs measures the server's background writes, not the lookups."""
    if not server.is_mariadb and not server.query("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'"):
        return
    started = time.monotonic()
    pct = server.query("SELECT @@GLOBAL.innodb_max_dirty_pages_pct")[0][0]
    server.query("SET GLOBAL innodb_max_dirty_pages_pct = 0")
    try:
        while time.monotonic() - started < timeout:
            dirty = int(server.query("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")[0][1])
            if dirty < 50:
                break
            time.sleep(1)
    finally:
        server.query(f"SET GLOBAL innodb_max_dirty_pages_pct = {pct}")
    log(f"{label}: server settled (dirty pages written) in {time.monotonic() - started:.1f} s")


def measure_shared_server(bench: Bench, node_count: int) -> SharedServerResults:
    """A no-op verify (with and without the node files) of a provisioned cluster, first on a server that holds
    only the cluster, then once the server also holds --other-databases databases of --other-tables tables,
    then on the cluster alone again once they are dropped (both cases get runs from early and late in the
    measurement, when the machine's load differs); the runs of the two verifies alternate."""
    args, server = bench.args, bench.server
    cluster = Cluster(bench.workdir / f"shared-{node_count}-nodes", node_count, args.wso2_dir, [server.url()])
    eidb = bench._eidb_for(cluster.spec)
    server.reset()
    script = eidb.chosen_script()
    checker = Checker(server, cluster, script)
    results = SharedServerResults(node_count, len(cluster.databases), args.other_databases, args.other_tables)
    label = f"shared server: {node_count} nodes / {len(cluster.databases)} databases"
    # The reference shape: the manual procedure's, as in measure_cluster.
    ClientProcedure(cluster, server, script, args.timeout).run(1)
    checker.set_reference_from_manual()
    server.reset()
    eidb.provision(db_only=False, expect_changes=True)
    checker.check_databases(label)
    checker.check_node_files(label)

    def measure(case: str) -> None:
        for scenario in SHARED_SCENARIOS:  # untimed: the server's caches as in a run every minute
            eidb.verify(db_only=scenario == EIDB_VERIFY_DB_NOOP)
        for run in range(args.runs):
            for scenario in SHARED_SCENARIOS:
                results.samples(scenario, case).add(eidb.verify(db_only=scenario == EIDB_VERIFY_DB_NOOP))
        summary = ", ".join(f"{s}: {results.samples(s, case).median:.3f}s" for s in SHARED_SCENARIOS)
        log(f"{label}, {case}: medians {summary}")

    measure(CLUSTER_ONLY)
    log(f"{label}: creating {args.other_databases} other databases of {args.other_tables} tables")
    results.seconds_to_create_others = create_other_databases(
        server, bench.workdir / "other-databases", args.other_databases, args.other_tables, args.timeout
    )
    log(f"{label}: created them in {results.seconds_to_create_others:.1f} s")
    settle(server, label)
    measure(SHARED)
    checker.check_databases(label)
    # The server's load moves over minutes: the cluster alone is measured again once the other databases are
    # gone, so that both cases have runs from before and after building them.
    others = [row[0] for row in server.query(
        f"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{OTHER_DATABASE_PREFIX}%'")]
    for start in range(0, len(others), 50):
        server.query("; ".join(f"DROP DATABASE `{name}`" for name in others[start:start + 50]))
    measure(CLUSTER_ONLY)
    server.reset()
    return results


def shared_server_section(shared: SharedServerResults) -> list[str]:
    lines = [
        "## On a server shared with other applications (issue 26)",
        "",
        f"A provisioned {shared.node_count}-node cluster ({shared.database_count} databases); no-op verify on "
        f"the server holding only the cluster, then once it also holds {shared.other_databases} other "
        f"databases of {shared.other_tables} tables each ({shared.other_databases * shared.other_tables} "
        f"tables, built in {shared.seconds_to_create_others:.0f} s). Target: ≤ {SHARED_SERVER_LIMIT}×.",
        "",
        "| Scenario | only the cluster: median s (min) | with the other databases: median s (min) | ratio of medians |",
        "|---|---:|---:|---:|",
    ]
    for scenario in SHARED_SCENARIOS:
        alone, shared_samples = shared.by_case[(scenario, CLUSTER_ONLY)], shared.by_case[(scenario, SHARED)]
        lines.append(
            f"| {scenario} | {alone.median:.3f} ({min(alone.seconds):.3f}) | "
            f"{shared_samples.median:.3f} ({min(shared_samples.seconds):.3f}) | {shared.ratio(scenario):.2f} |"
        )
    return lines


def shared_server_targets(shared: SharedServerResults) -> list[TargetOutcome]:
    return [
        TargetOutcome(
            f"{shared.database_count} DBs: {scenario} with {shared.other_databases} other databases / without",
            f"{shared.ratio(scenario):.2f}", f"≤ {SHARED_SERVER_LIMIT}", shared.ratio(scenario) <= SHARED_SERVER_LIMIT,
        )
        for scenario in SHARED_SCENARIOS
    ]


# ---------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base > 0 else "n/a"


def mib(nbytes: int) -> str:
    return f"{nbytes / (1 << 20):.1f}"


def results_table(all_results: list[ClusterResults]) -> list[str]:
    lines = [
        "| Scenario | DBs | median s | min s | max s | × manual | × best parallel | eidb peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for results in all_results:
        manual = results.by_scenario[MANUAL].median
        best_name = results.best_parallel()
        best = results.by_scenario[best_name].median
        for scenario, samples in results.by_scenario.items():
            shown = results.shown(scenario) + (" ← best parallel" if scenario == best_name else "")
            rss = ""
            if scenario.startswith("eidb"):
                rss = ("" if samples.max_rss_exact else "≤ ") + mib(max(samples.max_rss_bytes))
            lines.append(
                f"| {shown} | {results.database_count} | {samples.median:.3f} | {min(samples.seconds):.3f} | "
                f"{max(samples.seconds):.3f} | {ratio(samples.median, manual)} | {ratio(samples.median, best)} | {rss} |"
            )
    return lines


def breakdown_table(all_results: list[ClusterResults]) -> list[str]:
    """Where the no-op runs' time goes, from eidb's timings line (medians over the runs, ms): the whole
    process, eidb's run inside it, the time spent waiting in server steps, eidb's own share, its CPU time,
    the largest steps and eidb's own largest phases; then the server's counters for one such run."""
    lines = [
        "| Scenario | DBs | process ms | in eidb ms | server steps ms | eidb's own ms | eidb CPU ms | "
        "start+exit ms | largest steps (ms) | eidb's phases (ms) | statements / connections / prepared |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for results in all_results:
        for scenario, samples in results.by_scenario.items():
            if not samples.timings:
                continue
            runs = [t for t, _ in samples.timings]

            def med(values: list[float]) -> float:
                return statistics.median(values)

            process = med([seconds * 1000 for _, seconds in samples.timings])
            wall = med([t["wall"] for t in runs])
            steps: dict[str, float] = {}
            for name in {name for t in runs for name in t["steps"]}:
                steps[name] = med([t["steps"].get(name, 0.0) for t in runs])
            largest = ", ".join(f"{name} {ms:.0f}" for name, ms in sorted(steps.items(), key=lambda i: -i[1])[:4])
            own: dict[str, float] = {}
            for name in {name for t in runs for name in t["own"]}:
                own[name] = med([t["own"].get(name, 0.0) for t in runs])
            phases = ", ".join(f"{name} {ms:.1f}" for name, ms in sorted(own.items(), key=lambda i: -i[1])[:4])
            counts = results.server_counts.get(scenario)
            counted = " / ".join(str(counts[name]) for name in SERVER_COUNTERS) if counts else ""
            lines.append(
                f"| {results.shown(scenario)} | {results.database_count} | {process:.0f} | {wall:.0f} | "
                f"{med([t['server'] for t in runs]):.0f} | {med([t['eidb'] for t in runs]):.0f} | "
                f"{med([t['cpu'] for t in runs]):.0f} | {process - wall:.0f} | {largest} | {phases} | {counted} |"
            )
    return lines


def beside(single: list[ClusterResults], galera: list[ClusterResults]) -> list[ClusterResults]:
    """Each node count's Galera results right after the single server's (both follow --nodes)."""
    if not galera:
        return single
    return [results for pair in zip(single, galera) for results in pair]


# ---------------------------------------------------------------------------------------------------------
# Report: Galera beside the single server (issue 9; not judged)
# ---------------------------------------------------------------------------------------------------------


def median_of(results: ClusterResults, scenario: str) -> float:
    return results.by_scenario[scenario].median


def target_ratios(results: ClusterResults) -> list[tuple[str, str]]:
    """The figures issue 7's targets judge, for one setup and database count, as (name, value)."""
    from_nothing = median_of(results, EIDB_DB)
    peak = max(max(results.by_scenario[name].max_rss_bytes) for name in EIDB_DB_GROUP)
    return [
        ("manual procedure, s", f"{median_of(results, MANUAL):.3f}"),
        ("best parallel clients, s", f"{median_of(results, results.best_parallel()):.3f}"),
        (f"{EIDB_DB}, from nothing, s", f"{from_nothing:.3f}"),
        (f"{EIDB_DB} / manual", ratio(from_nothing, median_of(results, MANUAL))),
        (f"{EIDB_DB} / best parallel client", ratio(from_nothing, median_of(results, results.best_parallel()))),
        (f"{EIDB_DB_NOOP} / from nothing", ratio(median_of(results, EIDB_DB_NOOP), from_nothing)),
        (f"{EIDB_VERIFY_DB_NOOP} / from nothing", ratio(median_of(results, EIDB_VERIFY_DB_NOOP), from_nothing)),
        (f"{EIDB_DB_NOOP}, ms", f"{median_of(results, EIDB_DB_NOOP) * 1000:.0f}"),
        (f"{EIDB_VERIFY_DB_NOOP}, ms", f"{median_of(results, EIDB_VERIFY_DB_NOOP) * 1000:.0f}"),
        ("eidb peak RSS (--db-only scenarios), MiB", mib(peak)),
    ]


def linear_growth(all_results: list[ClusterResults], scenario: str) -> str:
    """Time per database at the largest count over that at the smallest (1.0 is linear)."""
    small = min(all_results, key=lambda r: r.database_count)
    large = max(all_results, key=lambda r: r.database_count)
    per_db_small = median_of(small, scenario) / small.database_count
    per_db_large = median_of(large, scenario) / large.database_count
    return ratio(per_db_large, per_db_small)


def galera_comparison(single: list[ClusterResults], galera: list[ClusterResults]) -> list[str]:
    lines = [
        "## Galera beside the single server (issue 9; not judged)",
        "",
        "The figures issue 7's targets judge, measured the same way on both setups. Galera ratios are to the "
        "Galera manual procedure and best parallel client; every Galera run was written through member 1 and "
        "checked on member 3 (`wsrep_sync_wait = 1`).",
        "",
        "| Figure (medians) | DBs | single server | Galera, 3 members |",
        "|---|---:|---:|---:|",
    ]
    for one, cluster in zip(single, galera):
        for (name, single_value), (_, galera_value) in zip(target_ratios(one), target_ratios(cluster)):
            lines.append(f"| {name} | {one.database_count} | {single_value} | {galera_value} |")
    if len(single) >= 2:
        counts = f"{max(r.database_count for r in single)} / {min(r.database_count for r in single)} DBs"
        for scenario in (EIDB_DB, EIDB_DB_NOOP):
            lines.append(f"| linear growth: {scenario}, time per DB at {counts} | | "
                         f"{linear_growth(single, scenario)} | {linear_growth(galera, scenario)} |")
    return lines + ["", *member_cost_table(galera)]


def member_cost_table(galera: list[ClusterResults]) -> list[str]:
    """What naming all three members in the spec costs eidb: its read-back of the other members after
    provisioning, as its own progress lines time it, and the differences of the medians to a spec naming
    member 1 only (for the from-nothing provision, the no-op provision, which only probes the other members'
    state, and verify, which reads them back)."""
    lines = [
        "What naming the three members costs eidb. The read-back is timed by eidb's own progress lines (from-"
        "nothing runs use human output for this): after provisioning through member 1 it reads members 2 and 3 "
        "with `wsrep_sync_wait`, so it also waits until they have applied the DDL. The differences are between "
        "medians with the spec naming the three members and with one naming member 1 only (which probes and "
        "reads back no other member); on a busy machine a small difference is within the noise.",
        "",
        "| DBs | read-back after provisioning (eidb's timing), median s (share of from nothing) "
        "| from nothing: 3 members / member 1 only, s (difference) | no-op provision: difference, ms "
        "| verify no-op: 3 members / member 1 only, ms (difference) |",
        "|---:|---:|---:|---:|---:|",
    ]
    three, one = EIDB_DB_GROUP, EIDB_DB_MEMBER_1_GROUP
    for results in galera:
        from_nothing = (median_of(results, three[0]), median_of(results, one[0]))
        noop = median_of(results, three[1]) - median_of(results, one[1])
        verify = (median_of(results, three[2]), median_of(results, one[2]))
        if results.read_back_seconds:
            read_back = statistics.median(results.read_back_seconds)
            read_back_shown = f"{read_back:.3f} ({read_back / from_nothing[0] * 100:.0f} %)"
        else:
            read_back_shown = "n/a (no progress line names the members)"
        lines.append(
            f"| {results.database_count} | {read_back_shown} "
            f"| {from_nothing[0]:.3f} / {from_nothing[1]:.3f} ({from_nothing[0] - from_nothing[1]:+.3f}) "
            f"| {noop * 1000:+.0f} | {verify[0] * 1000:.0f} / {verify[1] * 1000:.0f} ({(verify[0] - verify[1]) * 1000:+.0f}) |"
        )
    return lines


@dataclass
class TargetOutcome:
    target: str
    measured: str
    limit: str
    passed: bool


def evaluate_targets(all_results: list[ClusterResults]) -> list[TargetOutcome]:
    outcomes = []
    for r in all_results:
        dbs = r.database_count
        s = r.by_scenario
        from_nothing = s[EIDB_DB].median
        if dbs in EIDB_VS_MANUAL_LIMIT:
            value = from_nothing / s[MANUAL].median
            limit = EIDB_VS_MANUAL_LIMIT[dbs]
            outcomes.append(TargetOutcome(f"{dbs} DBs: eidb provision / manual", f"{value:.2f}", f"≤ {limit}", value <= limit))
        best = s[r.best_parallel()].median
        value = from_nothing / best
        outcomes.append(
            TargetOutcome(f"{dbs} DBs: eidb provision / best parallel client", f"{value:.2f}",
                          f"≤ {EIDB_VS_BEST_PARALLEL_LIMIT}", value <= EIDB_VS_BEST_PARALLEL_LIMIT)
        )
        for noop, base in NOOP_SCENARIOS.items():
            if dbs in NOOP_VS_FROM_NOTHING_LIMIT:
                value = s[noop].median / s[base].median
                limit = NOOP_VS_FROM_NOTHING_LIMIT[dbs]
                outcomes.append(TargetOutcome(f"{dbs} DBs: {noop} / {base} from nothing", f"{value:.3f}", f"≤ {limit}", value <= limit))
            if dbs in NOOP_ABSOLUTE_LIMIT_SECONDS:
                limit = NOOP_ABSOLUTE_LIMIT_SECONDS[dbs]
                value = s[noop].median
                outcomes.append(TargetOutcome(f"{dbs} DBs: {noop}", f"{value * 1000:.0f} ms", f"< {limit * 1000:.0f} ms", value < limit))
        if dbs in PEAK_RSS_LIMIT_BYTES:
            peak = max(max(s[name].max_rss_bytes) for name in EIDB_SCENARIOS if name in s)
            limit = PEAK_RSS_LIMIT_BYTES[dbs]
            outcomes.append(
                TargetOutcome(f"{dbs} DBs: eidb peak RSS (any scenario)", f"{peak / 1e6:.1f} MB ({mib(peak)} MiB)",
                              f"< {limit / 1e6:.0f} MB", peak < limit)
            )
    if len(all_results) >= 2:
        small, large = min(all_results, key=lambda r: r.database_count), max(all_results, key=lambda r: r.database_count)
        for scenario in (EIDB_DB, EIDB_DB_NOOP):
            per_db_small = small.by_scenario[scenario].median / small.database_count
            per_db_large = large.by_scenario[scenario].median / large.database_count
            value = per_db_large / per_db_small
            outcomes.append(
                TargetOutcome(
                    f"linear growth: {scenario}, time per DB at {large.database_count} / at {small.database_count} DBs",
                    f"{value:.2f} ({per_db_large * 1000:.0f} vs {per_db_small * 1000:.0f} ms/DB)",
                    f"≤ {LINEAR_GROWTH_LIMIT:.2f}",
                    value <= LINEAR_GROWTH_LIMIT,
                )
            )
    return outcomes


def render_report(args: argparse.Namespace, server: ThrowawayServer, eidb_version: str,
                  all_results: list[ClusterResults], outcomes: list[TargetOutcome],
                  galera: GaleraCluster | None = None, galera_results: list[ClusterResults] | None = None,
                  shared: SharedServerResults | None = None) -> str:
    """`all_results` and `outcomes` are the single server's; Galera's rows (if any) go beside them."""
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    reference = all_results[0].reference
    galera_results = galera_results or []
    galera_lines = [
        f"- Galera (rows `{GALERA}: ...`, issue 9): {galera.describe()}; the manual procedure and the parallel "
        "clients run against member 1; eidb's spec names the three members (or, where the scenario says so, "
        "member 1 only); every run is checked on member 3 with `wsrep_sync_wait = 1`",
    ] if galera else []
    lines = [
        "# eidb benchmark (issue 7" + (", with Galera rows of issue 9)" if galera_results else ")"),
        "",
        f"- When: {now}; host: {platform.node()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())} (other work on the machine adds noise)",
        f"- Server (same for every contender): {server.describe()}",
        *galera_lines,
        f"- eidb: {eidb_version} (`{args.eidb}`, sha256 {file_sha256(args.eidb_copy)[:12]}, built "
        f"{datetime.datetime.fromtimestamp(args.eidb.stat().st_mtime).astimezone():%Y-%m-%d %H:%M}"
        + (f", --parallel {args.eidb_parallel}" if args.eidb_parallel is not None else ", default --parallel")
        + ")",
        f"- Script per database: {reference.describe() if reference else '?'}; charset {CHARSET}",
        f"- {args.runs} runs per scenario; wall-clock seconds of the whole command; every timed run checked "
        "against information_schema (and node files after a full provision)",
        "- Peak RSS: " + (f"GNU time `%M` ({GNU_TIME}) around each eidb run" if GNU_TIME
                          else "os.wait4 (no GNU time found: an upper bound that includes this script's own RSS)"),
        "",
        *results_table(beside(all_results, galera_results)),
        "",
        "## Targets of issue 7" + (" (single server)" if galera_results else ""),
        "",
        "| Target | Measured | Limit | Result |",
        "|---|---:|---:|---|",
        *[f"| {o.target} | {o.measured} | {o.limit} | {'PASS' if o.passed else '**FAIL**'} |" for o in outcomes],
        "",
        f"{sum(o.passed for o in outcomes)} of {len(outcomes)} targets pass.",
        "",
        "## Where a no-op run's time goes",
        "",
        "From eidb's own timings (`RUST_LOG=eidb::timings=debug`, medians): *in eidb* is main's start to the "
        "report; *server steps* the time it waited on the server (connections, reads; overlapping steps "
        "counted once); *eidb's own* the rest (reading the spec, the dbscript and the node files, planning); "
        "*start+exit* the process's wall time outside that; *eidb's phases* its largest own phases, each whole "
        "(those that run on a thread of their own beside the server steps are not part of *eidb's own*). "
        "The last column is what the server's status "
        "counters (Questions, Connections, Com_stmt_prepare) grew by during one untimed run.",
        "",
        *breakdown_table(beside(all_results, galera_results)),
    ]
    if galera_results:
        lines += ["", *galera_comparison(all_results, galera_results)]
    if shared:
        lines += ["", *shared_server_section(shared)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per scenario (default 5)")
    parser.add_argument("--nodes", default="2,16", help="comma-separated node counts (default 2,16)")
    parser.add_argument("--eidb", type=Path, default=REPO_ROOT / "target" / "release" / "eidb", help="the eidb binary")
    parser.add_argument("--eidb-parallel", type=int, default=None, help="pass --parallel N to eidb provision")
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    parser.add_argument("--wso2-dir", type=Path, default=DEFAULT_WSO2_DIR, help="folder with conf/ and dbscripts/")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per timed command (default 900)")
    parser.add_argument("--fail-on-target", action="store_true", help="exit 3 when a target fails")
    parser.add_argument("--galera", action="store_true",
                        help="also measure on a 3-member Galera cluster of the script's own (issue 9; adds minutes)")
    parser.add_argument("--other-databases", type=int, default=250,
                        help="issue 26: the shared-server case puts this many other databases on the server "
                             "(default 250; 0 leaves the case out)")
    parser.add_argument("--other-tables", type=int, default=40, help="tables per other database (default 40)")
    args = parser.parse_args(argv)
    if args.other_databases < 0 or args.other_tables < 1:
        parser.error("--other-databases must be 0 or more and --other-tables 1 or more")
    try:
        args.nodes = [int(n) for n in args.nodes.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--nodes takes numbers like 2,16, not {args.nodes!r}")
    if not args.nodes or min(args.nodes) < 1:
        parser.error("--nodes needs at least one node count of 1 or more")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.eidb = args.eidb.resolve()
    if not (args.eidb.is_file() and os.access(args.eidb, os.X_OK)):
        parser.error(f"{args.eidb} is not an executable; build it with `cargo build --release`")
    for needed in ("conf/datasources/master-datasources.xml", "conf/user-mgt.xml", "conf/registry.xml", "dbscripts"):
        if not (args.wso2_dir / needed).exists():
            parser.error(
                f"{args.wso2_dir / needed} is missing; run scripts/fetch-wso2-files.sh or point --wso2-dir at the WSO2 EI files"
            )
    if not shutil.which("xargs"):
        parser.error("xargs is needed for the parallel-client contender")
    return args


def measure_on_galera(bench: Bench, galera: GaleraCluster, node_counts: list[int]) -> list[ClusterResults]:
    started = time.monotonic()
    log(f"starting a {GALERA_MEMBERS}-member Galera cluster ({galera.version.split(' for ')[0]})")
    galera.start()
    ports = ", ".join(f"member {m.number} on 127.0.0.1:{m.client_port}" for m in galera.members)
    log(f"Galera cluster in {galera.folder} Synced after {time.monotonic() - started:.1f} s: {ports}")
    return [bench.measure_galera_cluster(n, galera) for n in node_counts]


def raise_keyboard_interrupt(signum, frame):  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="eidb-bench-"))
    server = None
    galera = None
    try:
        # Run a private copy: a `cargo build` by someone else must not swap the binary half way.
        args.eidb_copy = workdir / "eidb"
        shutil.copy2(args.eidb, args.eidb_copy)
        server = ThrowawayServer(workdir)
        if args.galera:
            galera = GaleraCluster(server.client)  # finds what it needs now, not after the single server's runs
        log(f"starting {server.version} in {server.folder}")
        server.start()
        log(f"server ready on 127.0.0.1:{server.port}")
        bench = Bench(args, server, workdir)
        all_results = [bench.measure_cluster(n) for n in args.nodes]
        shared = measure_shared_server(bench, min(args.nodes)) if args.other_databases else None
        galera_results = []
        if galera:
            galera_results = measure_on_galera(bench, galera, args.nodes)
        outcomes = evaluate_targets(all_results) + (shared_server_targets(shared) if shared else [])
        report = render_report(args, server, eidb_version(args.eidb_copy), all_results, outcomes, galera, galera_results,
                               shared)
        print(report)
        if args.output:
            args.output.write_text(report)
            log(f"wrote {args.output}")
        return 3 if args.fail_on_target and not all(o.passed for o in outcomes) else 0
    except BenchError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; stopping the server" + (" and the Galera members" if galera else ""), file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if galera is not None:
            galera.stop()
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
