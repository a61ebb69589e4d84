//! A throwaway MariaDB Galera cluster for tests: `N` members on loopback ports, each a `mariadbd` with
//! the galera-4 provider and a data folder of its own, all in one temp folder.
//!
//! ```ignore
//! let cluster = GaleraCluster::start(3);        // about 12 s; every member Synced
//! let first = cluster.admin_pool(0).await;      // write here...
//! let second = cluster.sync_read_pool(1).await; // ...and read here: this pool sees the write
//! cluster.kill_member(1);
//! cluster.start_member(1);                      // rejoins and catches up
//! ```
//!
//! Members are numbered from 0, as in [`GaleraCluster::members`]. The first is started with
//! `--wsrep-new-cluster`; the others join it and receive its data by rsync state transfer (SST).
//!
//! Reading on one member what was written on another: Galera replicates synchronously but applies
//! asynchronously, so a plain read may not see a write yet. Read through
//! [`GaleraCluster::sync_read_pool`], or run `SET SESSION wsrep_sync_wait = 1` on the connection first.
//!
//! The methods that start and stop members block (each waits for the cluster to settle); calling
//! them from a `#[tokio::test]` is fine, every test has a runtime of its own.
//!
//! Cleaning up: dropping the cluster kills every member and removes the folder. A watchdog (a small
//! `sh` process, as in the single-server harness) does the same when the test process dies without
//! dropping it, even by SIGKILL. Each member runs in a process group of its own, so that killing it
//! also ends the rsync processes of a state transfer in flight.
//!
//! Run as root, the members run as the `mysql` user and their folders are given to it (the rsync
//! transfer writes as that user); run as anyone else, they run as that user. A missing `mariadbd`,
//! galera library, `rsync` or `mysql` user is a panic that names the Debian package to install.

use super::watchdog::Watchdog;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{Connection, Executor, MySqlConnection, MySqlPool};
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::sleep;
use std::time::{Duration, Instant};

const SERVER_DIRS: [&str; 2] = ["/usr/sbin", "/usr/local/sbin"];
const GALERA_LIBRARIES: [&str; 3] = [
    "/usr/lib/galera/libgalera_smm.so",
    "/usr/lib/galera-4/libgalera_smm.so",
    "/usr/lib64/galera-4/libgalera_smm.so",
];

/// How long a member may take to be Synced (a joiner includes its state transfer).
const SYNC_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a clean shutdown may take before the member is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_INTERVAL: Duration = Duration::from_millis(200);
const LOG_TAIL_LINES: usize = 60;

/// Runs as `sh -c WATCHDOG_SCRIPT eidb-galera-watchdog FOLDER`, reading orders from stdin: `watch N`
/// (a member now runs as the leader of process group N) and `forget N` (it has been reaped; the
/// harness says so right after reaping, so the script never signals a recycled id). At end-of-file
/// (or SIGTERM) it kills every watched group, waits until their processes are gone, and removes
/// FOLDER. A zombie counts as gone: it holds no files, and without a reaping init it never leaves.
const WATCHDOG_SCRIPT: &str = r#"
folder=$1
groups=
trap '' INT HUP
group_alive() {
    for stat_file in /proc/[0-9]*/stat; do
        read -r stat 2>/dev/null < "$stat_file" || continue
        rest=${stat##*) }
        state=${rest%% *}
        rest=${rest#* }
        rest=${rest#* }
        [ "${rest%% *}" = "$1" ] && [ "$state" != Z ] && return 0
    done
    return 1
}
clean_up() {
    for group in $groups; do kill -s KILL -- "-$group" 2>/dev/null; done
    for group in $groups; do
        tries=0
        while group_alive "$group" && [ "$tries" -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
    done
    rm -rf "$folder"
}
trap 'clean_up; exit 0' TERM
while IFS= read -r order; do
    case $order in
        "watch "*) groups="$groups ${order#watch }" ;;
        "forget "*)
            kept=
            for group in $groups; do [ "$group" = "${order#forget }" ] || kept="$kept $group"; done
            groups=$kept ;;
    esac
done
clean_up
"#;

/// A Galera cluster the test owns; see the module documentation.
pub struct GaleraCluster {
    /// The temp folder holding every member's folder; the watchdog removes it.
    root: PathBuf,
    name: String,
    tools: Tools,
    members: Vec<MemberSetup>,
    state: Mutex<State>,
    /// One cluster at a time per test process: on 2 cores, several clusters joining at once starve each
    /// other's group communication until members time out of the primary component and abort.
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Where to reach one member. Root logs in with an empty password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub index: usize,
    pub host: String,
    pub port: u16,
}

impl Member {
    /// `mysql://root@127.0.0.1:PORT`
    pub fn url_without_password(&self) -> String {
        format!("mysql://root@{}:{}", self.host, self.port)
    }

    pub fn connect_options(&self) -> MySqlConnectOptions {
        MySqlConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username("root")
    }
}

/// What a member says about itself and its cluster (`SHOW GLOBAL STATUS LIKE 'wsrep_%'`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsrepStatus {
    /// `wsrep_ready`: the member accepts queries.
    pub ready: bool,
    /// `wsrep_local_state_comment`: `Synced`, `Joining`, `Donor/Desynced`, ...
    pub state: String,
    /// `wsrep_cluster_size`: members in the member's view of the primary component.
    pub cluster_size: usize,
}

impl WsrepStatus {
    fn is_synced_in(&self, cluster_size: usize) -> bool {
        self.ready && self.state == "Synced" && self.cluster_size == cluster_size
    }
}

impl fmt::Display for WsrepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ready = if self.ready { "ON" } else { "OFF" };
        write!(
            f,
            "wsrep_ready={ready}, state {}, cluster size {}",
            self.state, self.cluster_size
        )
    }
}

struct MemberSetup {
    folder: PathBuf,
    ports: Ports,
}

impl MemberSetup {
    fn data_dir(&self) -> PathBuf {
        self.folder.join("data")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.folder.join("tmp")
    }

    /// What the member writes to stdout and stderr, over all its starts (outside the data folder,
    /// which a state transfer replaces).
    fn log_file(&self) -> PathBuf {
        self.folder.join("server.log")
    }
}

struct Ports {
    client: u16,
    gcomm: u16,
    ist: u16,
    sst: u16,
}

struct State {
    /// One slot per member: its process while it runs.
    running: Vec<Option<Child>>,
    watchdog: Watchdog,
}

impl GaleraCluster {
    /// Starts a cluster of `members` and waits until every member is Synced in a cluster of that
    /// size. Panics (after cleaning up) with the end of each member's log when it does not come up,
    /// and with what to install when something is missing.
    pub fn start(members: usize) -> GaleraCluster {
        assert!(members > 0, "a Galera cluster needs at least one member");
        let cluster = GaleraCluster::prepare(members).unwrap_or_else(|message| panic!("{message}"));
        cluster.start_all();
        cluster
    }

    /// The members, in order; the first one started the cluster.
    pub fn members(&self) -> Vec<Member> {
        (0..self.members.len())
            .map(|index| self.member(index))
            .collect()
    }

    pub fn member(&self, index: usize) -> Member {
        Member {
            index,
            host: "127.0.0.1".to_string(),
            port: self.setup(index).ports.client,
        }
    }

    /// `wsrep_cluster_name`, unique to this cluster.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Shuts the member down cleanly (SIGTERM: it leaves the cluster) and waits until it has exited.
    pub fn stop_member(&self, index: usize) {
        let mut state = self.lock();
        let pid = state.running_pid(index, "stop");
        signal(&pid.to_string(), "TERM").unwrap_or_else(|message| panic!("{message}"));
        if !exited_within(pid, STOP_TIMEOUT) {
            eprintln!("warning: Galera member {index} did not shut down within {STOP_TIMEOUT:?}; killing it");
        }
        state.end_member(index);
    }

    /// Kills the member and its state transfer, if any (SIGKILL), as a crash would.
    pub fn kill_member(&self, index: usize) {
        let mut state = self.lock();
        state.running_pid(index, "kill");
        state.end_member(index);
    }

    /// Starts a stopped or killed member again on its ports and data, and waits until it has
    /// rejoined: Synced in a cluster of every member now running. Another member must be running
    /// for it to join.
    pub fn start_member(&self, index: usize) {
        {
            let mut state = self.lock();
            state.reap_exited();
            assert!(
                state.running[index].is_none(),
                "Galera member {index} is already running"
            );
            assert!(
                state.running_count() > 0,
                "cannot start Galera member {index} alone: it rejoins a running cluster, and none is running"
            );
        }
        self.spawn(index, false)
            .unwrap_or_else(|message| panic!("{message}"));
        self.wait_synced(index);
    }

    /// Waits until the member is Synced in a cluster of every member now running. After
    /// [`kill_member`](Self::kill_member) the others take a few seconds to notice; this waits for that.
    pub fn wait_synced(&self, index: usize) {
        if let Err(problem) = self.try_wait_synced(index) {
            panic!("{problem}\n{}", self.log_tails());
        }
    }

    /// What the member reports now. Panics when it cannot be asked.
    pub async fn wsrep_status(&self, index: usize) -> WsrepStatus {
        read_status(&self.member(index).connect_options())
            .await
            .unwrap_or_else(|problem| {
                panic!("cannot read the wsrep status of Galera member {index}: {problem}")
            })
    }

    /// A small pool logged in as root to the member. Its reads may not yet see writes made on other
    /// members; see [`sync_read_pool`](Self::sync_read_pool).
    pub async fn admin_pool(&self, index: usize) -> MySqlPool {
        self.pool(index, false).await
    }

    /// Like [`admin_pool`](Self::admin_pool), but every session runs with `wsrep_sync_wait = 1`: a
    /// read (SELECT, SHOW) first waits until the member has applied every write the cluster had
    /// committed when the read began, wherever it was made.
    pub async fn sync_read_pool(&self, index: usize) -> MySqlPool {
        self.pool(index, true).await
    }

    fn prepare(members: usize) -> Result<GaleraCluster, String> {
        let tools = Tools::find()?;
        let folder = tempfile::Builder::new()
            .prefix("eidb-galera-")
            .tempdir()
            .map_err(|error| {
                format!("cannot make a temp folder for the Galera cluster: {error}")
            })?;
        let watchdog = Watchdog::spawn(
            WATCHDOG_SCRIPT,
            "eidb-galera-watchdog",
            folder.path(),
            "the Galera cluster",
        )?;
        // From here on, dropping the cluster (also on the error paths below) ends the members and the
        // watchdog removes the folder.
        let root = folder.keep();
        let mut ports = free_ports(members * 4)?.into_iter();
        let mut next_port = || ports.next().expect("four ports were picked per member");
        let setups = (0..members)
            .map(|index| MemberSetup {
                folder: root.join(format!("member{index}")),
                ports: Ports {
                    client: next_port(),
                    gcomm: next_port(),
                    ist: next_port(),
                    sst: next_port(),
                },
            })
            .collect();
        let one_at_a_time = ONE_CLUSTER_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let cluster = GaleraCluster {
            _one_at_a_time: one_at_a_time,
            name: super::unique_name("eidb_galera"),
            tools,
            members: setups,
            state: Mutex::new(State {
                running: (0..members).map(|_| None).collect(),
                watchdog,
            }),
            root,
        };
        // The member's user must be able to reach its folder inside ours.
        fs::set_permissions(&cluster.root, fs::Permissions::from_mode(0o755))
            .map_err(|error| format!("cannot open up {}: {error}", cluster.root.display()))?;
        cluster.initialize_data_dirs()?;
        Ok(cluster)
    }

    fn start_all(&self) {
        self.spawn(0, true)
            .unwrap_or_else(|message| panic!("{message}"));
        self.wait_synced(0);
        // Joiners started together queue for the donor, so this is no faster than one at a time,
        // but it is no slower either and keeps the code short.
        for index in 1..self.members.len() {
            self.spawn(index, false)
                .unwrap_or_else(|message| panic!("{message}"));
        }
        for index in 1..self.members.len() {
            self.wait_synced(index);
        }
    }

    fn initialize_data_dirs(&self) -> Result<(), String> {
        std::thread::scope(|scope| {
            let jobs: Vec<_> = self
                .members
                .iter()
                .map(|setup| scope.spawn(|| self.initialize_data_dir(setup)))
                .collect();
            jobs.into_iter().try_for_each(|job| {
                job.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
        })
    }

    fn initialize_data_dir(&self, setup: &MemberSetup) -> Result<(), String> {
        let tmp = setup.tmp_dir();
        fs::create_dir_all(&tmp)
            .map_err(|error| format!("cannot make {}: {error}", tmp.display()))?;
        self.give_to_server_user(&setup.folder)?;
        let mut command = Command::new(&self.tools.install_db);
        command
            .arg("--no-defaults")
            .arg(path_arg("--datadir=", &setup.data_dir()))
            .arg(path_arg("--tmpdir=", &tmp))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db")
            .arg(format!("--user={}", self.tools.os_user))
            .args(SMALL_INNODB);
        run(&mut command)?;
        self.give_to_server_user(&setup.folder)
    }

    fn give_to_server_user(&self, folder: &Path) -> Result<(), String> {
        if !self.tools.as_root {
            return Ok(());
        }
        run(Command::new("chown")
            .arg("-R")
            .arg(format!("{}:", self.tools.os_user))
            .arg(folder))
    }

    fn spawn(&self, index: usize, new_cluster: bool) -> Result<(), String> {
        let setup = self.setup(index);
        let log_file = setup.log_file();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_file)
            .map_err(|error| format!("cannot open {}: {error}", log_file.display()))?;
        let log_for_stdout = log
            .try_clone()
            .map_err(|error| format!("cannot share the log file: {error}"))?;
        let mut state = self.lock();
        let child = Command::new(&self.tools.server)
            .args(self.server_args(index, new_cluster))
            .stdin(Stdio::null())
            .stdout(log_for_stdout)
            .stderr(log)
            // A group of its own, so that its state-transfer scripts can be killed with it; and out
            // of the terminal's, so Ctrl-C leaves it to the watchdog.
            .process_group(0)
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", self.tools.server.display()))?;
        state.watchdog.send(&format!("watch {}", child.id()));
        state.running[index] = Some(child);
        Ok(())
    }

    fn server_args(&self, index: usize, new_cluster: bool) -> Vec<OsString> {
        let setup = self.setup(index);
        let Ports {
            client,
            gcomm,
            ist,
            sst,
        } = setup.ports;
        let cluster_address: Vec<String> = self
            .members
            .iter()
            .map(|member| format!("127.0.0.1:{}", member.ports.gcomm))
            .collect();
        let mut args: Vec<OsString> = vec![
            "--no-defaults".into(),
            path_arg("--datadir=", &setup.data_dir()),
            path_arg("--tmpdir=", &setup.tmp_dir()),
            path_arg("--socket=", &setup.folder.join("sock")),
            format!("--port={client}").into(),
            "--bind-address=127.0.0.1".into(),
            format!("--user={}", self.tools.os_user).into(),
            "--innodb-flush-log-at-trx-commit=2".into(),
            "--max-connections=300".into(),
            "--wsrep-on=ON".into(),
            path_arg("--wsrep-provider=", &self.tools.galera_library),
            format!(
                "--wsrep-cluster-address=gcomm://{}",
                cluster_address.join(",")
            )
            .into(),
            format!("--wsrep-cluster-name={}", self.name).into(),
            format!("--wsrep-node-name=member{index}").into(),
            "--wsrep-node-address=127.0.0.1".into(),
            // The default gcache is a 128 MB file per member; tests write little.
            format!(
                "--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:{gcomm};\
                 ist.recv_addr=127.0.0.1:{ist};gcache.size=32M"
            )
            .into(),
            format!("--wsrep-sst-receive-address=127.0.0.1:{sst}").into(),
            "--wsrep-sst-method=rsync".into(),
            // What Galera requires of the tables it replicates. The binary log stays off (the
            // default with --no-defaults): MariaDB's wsrep does not need it.
            "--binlog-format=ROW".into(),
            "--innodb-autoinc-lock-mode=2".into(),
            "--default-storage-engine=InnoDB".into(),
        ];
        args.extend(SMALL_INNODB.map(OsString::from));
        if new_cluster {
            args.push("--wsrep-new-cluster".into());
        }
        args
    }

    fn try_wait_synced(&self, index: usize) -> Result<(), String> {
        let options = self.member(index).connect_options();
        let deadline = Instant::now() + SYNC_TIMEOUT;
        block_on_own_thread(async {
            let mut last_seen;
            loop {
                let expected_size = self.check_running(index)?;
                match read_status(&options).await {
                    Ok(status) if status.is_synced_in(expected_size) => return Ok(()),
                    Ok(status) => {
                        last_seen =
                            format!("{status}, expected Synced in a cluster of {expected_size}")
                    }
                    Err(problem) => last_seen = problem,
                }
                if Instant::now() >= deadline {
                    return Err(format!(
                        "Galera member {index} (127.0.0.1:{}) was not Synced after {} s; last seen: {last_seen}",
                        options.get_port(),
                        SYNC_TIMEOUT.as_secs()
                    ));
                }
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        })
    }

    /// How many members run, or why the member `index` does not.
    fn check_running(&self, index: usize) -> Result<usize, String> {
        let mut state = self.lock();
        let exited = state.reap_exited();
        if state.running[index].is_some() {
            return Ok(state.running_count());
        }
        let how = exited
            .into_iter()
            .find(|(member, _)| *member == index)
            .map_or_else(
                || "is not running".to_string(),
                |(_, status)| format!("exited ({status})"),
            );
        Err(format!("Galera member {index} {how}"))
    }

    async fn pool(&self, index: usize, sync_reads: bool) -> MySqlPool {
        let member = self.member(index);
        MySqlPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if sync_reads {
                        connection
                            .execute("SET SESSION wsrep_sync_wait = 1")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(member.connect_options())
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "cannot log in to Galera member {index} ({}): {error}",
                    member.url_without_password()
                )
            })
    }

    fn log_tails(&self) -> String {
        self.members
            .iter()
            .enumerate()
            .map(|(index, setup)| {
                let log = read_lossy(&setup.log_file());
                format!(
                    "--- last lines of member {index}'s log ({}):\n{}\n",
                    setup.log_file().display(),
                    last_lines(&log, LOG_TAIL_LINES)
                )
            })
            .collect()
    }

    fn setup(&self, index: usize) -> &MemberSetup {
        self.members.get(index).unwrap_or_else(|| {
            panic!(
                "the Galera cluster has members 0 to {}, not {index}",
                self.members.len() - 1
            )
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for GaleraCluster {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        for index in 0..state.running.len() {
            state.end_member(index);
        }
        state.watchdog.finish();
    }
}

/// Passed to `mariadb-install-db` too, so the log it makes already has the size the server wants.
const SMALL_INNODB: [&str; 2] = [
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=16M",
];

impl State {
    /// Kills what is left of the member's process group, reaps the member and tells the watchdog.
    /// The group is killed before the member is reaped, while its id cannot be reused.
    fn end_member(&mut self, index: usize) {
        if let Some(mut child) = self.running[index].take() {
            let _ = signal(&format!("-{}", child.id()), "KILL");
            let _ = child.wait();
            self.watchdog.send(&format!("forget {}", child.id()));
        }
    }

    /// Reaps the members that exited by themselves, returning which and how.
    fn reap_exited(&mut self) -> Vec<(usize, String)> {
        let mut exited = Vec::new();
        for index in 0..self.running.len() {
            let status = match self.running[index].as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => status.to_string(),
                Some(Err(error)) => format!("cannot be checked on: {error}"),
                Some(Ok(None)) | None => continue,
            };
            self.end_member(index);
            exited.push((index, status));
        }
        exited
    }

    fn running_count(&self) -> usize {
        self.running.iter().filter(|child| child.is_some()).count()
    }

    fn running_pid(&mut self, index: usize, action: &str) -> u32 {
        self.reap_exited();
        match &self.running[index] {
            Some(child) => child.id(),
            None => panic!("cannot {action} Galera member {index}: it is not running"),
        }
    }
}

/// The programs and the OS user the cluster needs.
struct Tools {
    server: PathBuf,
    install_db: PathBuf,
    galera_library: PathBuf,
    /// The user the members run as: `mysql` when the tests run as root, else the current user.
    os_user: String,
    as_root: bool,
}

impl Tools {
    fn find() -> Result<Tools, String> {
        let missing = |what: &str, package: &str| {
            format!(
                "the Galera tests need {what}, which is missing; install it \
                 (Debian/Ubuntu: `sudo apt-get install {package}`)"
            )
        };
        let server = find_program("mariadbd", &SERVER_DIRS.map(PathBuf::from))
            .ok_or_else(|| missing("mariadbd (MariaDB server)", "mariadb-server"))?;
        let install_db = find_program("mariadb-install-db", &[PathBuf::from("/usr/bin")])
            .ok_or_else(|| missing("mariadb-install-db", "mariadb-server"))?;
        find_program("wsrep_sst_rsync", &[PathBuf::from("/usr/bin")]).ok_or_else(|| {
            missing(
                "wsrep_sst_rsync (MariaDB's state-transfer script)",
                "mariadb-server",
            )
        })?;
        let galera_library = GALERA_LIBRARIES
            .iter()
            .map(PathBuf::from)
            .find(|path| path.is_file())
            .ok_or_else(|| {
                missing(
                    &format!(
                        "the galera-4 library (looked for {})",
                        GALERA_LIBRARIES.join(", ")
                    ),
                    "galera-4",
                )
            })?;
        find_program("rsync", &[])
            .ok_or_else(|| missing("rsync (for state transfers)", "rsync"))?;
        let as_root = command_output("id", &["-u"])? == "0";
        let os_user = if as_root {
            command_output("id", &["-un", "mysql"]).map_err(|_| {
                "the Galera tests run their members as the `mysql` user, which does not exist; install \
                 the MariaDB server package, which creates it (Debian/Ubuntu: `sudo apt-get install \
                 mariadb-server`)"
                    .to_string()
            })?
        } else {
            command_output("id", &["-un"])?
        };
        Ok(Tools {
            server,
            install_db,
            galera_library,
            os_user,
            as_root,
        })
    }
}

/// The member's wsrep status, over a connection of its own (so it works on a member whose pools
/// hold dead connections).
async fn read_status(options: &MySqlConnectOptions) -> Result<WsrepStatus, String> {
    let login = tokio::time::timeout(
        Duration::from_secs(5),
        MySqlConnection::connect_with(options),
    );
    let mut connection = match login.await {
        Err(_) => return Err("the login took more than 5 s".to_string()),
        Ok(Err(error)) => return Err(error.to_string()),
        Ok(Ok(connection)) => connection,
    };
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SHOW GLOBAL STATUS WHERE Variable_name IN \
         ('wsrep_ready', 'wsrep_local_state_comment', 'wsrep_cluster_size')",
    )
    .fetch_all(&mut connection)
    .await
    .map_err(|error| error.to_string())?;
    let _ = connection.close().await;
    let value = |name: &str| {
        rows.iter()
            .find(|(variable, _)| variable.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
            .ok_or_else(|| format!("the server does not report {name}: is it running with wsrep?"))
    };
    Ok(WsrepStatus {
        ready: value("wsrep_ready")? == "ON",
        state: value("wsrep_local_state_comment")?,
        cluster_size: value("wsrep_cluster_size")?
            .parse()
            .map_err(|error| format!("wsrep_cluster_size: {error}"))?,
    })
}

/// Runs `future` to completion on a thread with a runtime of its own, so that blocking methods can
/// be called from inside a test's runtime.
fn block_on_own_thread<T: Send>(
    future: impl std::future::Future<Output = Result<T, String>> + Send,
) -> Result<T, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|error| format!("cannot make a tokio runtime: {error}"))?
                    .block_on(future)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// `count` distinct free ports on 127.0.0.1, all held until all are found so none repeats.
///
/// Taken below the kernel's ephemeral range (`ip_local_port_range`), where neither an outgoing connection
/// nor a `bind(0)` ever lands: a member binds its SST and IST ports only when a state transfer starts,
/// seconds after they are chosen, and the tests running beside it open connections all the while. A
/// port from the ephemeral range could be taken by then (a joiner then fails its state transfer and
/// terminates). Where that range leaves no room below it, any free port.
fn free_ports(count: usize) -> Result<Vec<u16>, String> {
    const LOWEST: u16 = 10_000;
    let ephemeral_low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let mut listeners = Vec::new();
    if ephemeral_low > LOWEST + 1_000 {
        let span = u32::from(ephemeral_low - LOWEST);
        // A start that differs between processes and between clusters of one process.
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let seed = std::process::id()
            .wrapping_mul(7_919)
            .wrapping_add(NEXT.fetch_add(97, Ordering::Relaxed));
        for step in 0..span {
            if listeners.len() == count {
                break;
            }
            let port = LOWEST + ((seed.wrapping_add(step)) % span) as u16;
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
                listeners.push(listener);
            }
        }
    }
    while listeners.len() < count {
        listeners.push(
            TcpListener::bind(("127.0.0.1", 0))
                .map_err(|error| format!("cannot find a free port on 127.0.0.1: {error}"))?,
        );
    }
    listeners
        .iter()
        .map(|listener| listener.local_addr().map(|address| address.port()))
        .collect::<Result<_, _>>()
        .map_err(|error| format!("cannot find a free port on 127.0.0.1: {error}"))
}

/// True when the process exited within `timeout`. Leaves it unreaped, so its id stays its own.
fn exited_within(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while has_not_exited(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(20));
    }
    true
}

/// An exited child stays a zombie (state `Z` in /proc) until it is reaped.
fn has_not_exited(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// Sends a signal by name to a pid, or to a process group as `-PGID`, through the shell's `kill`
/// (the `kill` binary need not be installed).
fn signal(target: &str, signal: &str) -> Result<(), String> {
    let status = Command::new("sh")
        .args([
            "-c",
            r#"kill -s "$1" -- "$2" 2>/dev/null"#,
            "sh",
            signal,
            target,
        ])
        .status()
        .map_err(|error| format!("cannot run sh to send SIG{signal}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("sending SIG{signal} to {target} failed"))
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {:?}: {error}", command.get_program()))?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Err(format!(
        "{:?} {:?} failed ({}):\n{}",
        command.get_program(),
        command.get_args().collect::<Vec<_>>(),
        output.status,
        last_lines(&text, 30)
    ))
}

fn command_output(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {program}: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{program} {}` failed ({})",
            args.join(" "),
            output.status
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// `name` on PATH, else in the first of `extra_dirs` that has it.
fn find_program(name: &str, extra_dirs: &[PathBuf]) -> Option<PathBuf> {
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    path_dirs
        .iter()
        .chain(extra_dirs)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn path_arg(option: &str, path: &Path) -> OsString {
    let mut arg = OsString::from(option);
    arg.push(path);
    arg
}

/// The text of `path` (empty when unreadable).
fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}
