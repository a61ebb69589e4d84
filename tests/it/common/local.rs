//! A server the harness runs itself: finding the binaries, making the data folder, starting and
//! stopping the process, and the watchdog that cleans up once the test process is gone.
//!
//! The server is a child of the test process, so the harness can wait for it and see it die. The
//! watchdog is a second child, a tiny `sh` script reading a pipe whose writing end only the test
//! process holds: when the test process ends, however it ends (even SIGKILL, even though Rust never
//! drops statics), the kernel closes that end, the script reads end-of-file, kills the server and
//! removes the folder.
//!
//! The data folder is bootstrapped once (mariadb-install-db or mysqld --initialize-insecure) into a
//! template in cargo's target/tmp and copied for every server after that.

use super::server::{parse_version, wait_for_login, Flavour, ServerKind};
use super::watchdog::Watchdog;

use sqlx::mysql::MySqlConnectOptions;
use std::collections::hash_map::DefaultHasher;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Overrides the search for a server binary: the path of a `mariadbd` or `mysqld`.
pub const SERVER_BINARY_ENV: &str = "EIDB_TEST_MYSQLD";

/// Searched after PATH: where packages and the MySQL tarball put the server.
const SERVER_DIRS: [&str; 3] = ["/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"];

/// How long a clean shutdown may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// A free port can be taken by someone else before the server binds it; then try another.
const PORT_ATTEMPTS: usize = 3;

/// Marks a template data folder as complete.
const TEMPLATE_COMPLETE: &str = "complete";
/// Change this when the way data folders are made changes, so that old templates are not used.
const TEMPLATE_RECIPE: u32 = 1;

/// Runs as `sh -c WATCHDOG_SCRIPT eidb-test-watchdog FOLDER`, reading orders from stdin: `pid N`
/// (the server now running) and `pid -` (none). The harness says `pid -` as soon as it has reaped a
/// server, so the script never signals a recycled pid. At end-of-file (or SIGTERM) it kills the
/// server and removes FOLDER.
const WATCHDOG_SCRIPT: &str = r#"
folder=$1
pid=
trap '' INT HUP
is_alive() {
    kill -0 "$1" 2>/dev/null || return 1
    # A killed server whose parent is gone stays a zombie until init reaps it; it holds no files.
    case $(cat "/proc/$1/stat" 2>/dev/null) in *") Z "*) return 1 ;; esac
    return 0
}
clean_up() {
    if [ -n "$pid" ]; then
        kill -KILL "$pid" 2>/dev/null
        tries=0
        while is_alive "$pid" && [ "$tries" -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
    fi
    rm -rf "$folder"
}
trap 'clean_up; exit 0' TERM
while IFS= read -r order; do
    case $order in
        "pid -") pid= ;;
        "pid "*) pid=${order#pid } ;;
    esac
done
clean_up
"#;

/// How a test server's data folder is made, beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Given when the data folder is made and at every start (e.g. `--lower-case-table-names=1`).
    pub both_args: Vec<OsString>,
    /// Keep the anonymous accounts (`''@'localhost'`, `''@'<hostname>'`) a default MariaDB install makes.
    pub anonymous_accounts: bool,
}

impl Setup {
    fn is_default(&self) -> bool {
        self.both_args.is_empty() && !self.anonymous_accounts
    }
}

pub(super) struct LocalServer {
    /// The temp folder holding `data/`, `tmp/` and `server.log`; the watchdog removes it.
    root: PathBuf,
    /// `root/server.log`: what the server writes to stdout and stderr, over all its starts.
    log_file: PathBuf,
    binary: ServerBinary,
    /// The OS user the server runs as (`--user`): whoever runs the tests, root included.
    os_user: String,
    port: u16,
    /// Options a test adds to every start of this server (e.g. TLS certificates).
    extra_args: Vec<OsString>,
    /// How the data folder is made: options given when it is made and at every start.
    setup: Setup,
    state: Mutex<State>,
}

struct State {
    server: Option<Child>,
    watchdog: Watchdog,
}

impl LocalServer {
    /// [`LocalServer::launch`] with extra server options.
    pub(super) fn launch_with(extra_args: Vec<OsString>) -> Result<(LocalServer, Flavour), String> {
        LocalServer::launch_configured(Setup::default(), extra_args)
    }

    /// A server set up the way some operators' servers are: options that must be given both when the
    /// data folder is made and when the server runs (`--lower-case-table-names=1`), and the anonymous
    /// accounts a default install makes.
    pub(super) fn launch_configured(
        setup: Setup,
        extra_args: Vec<OsString>,
    ) -> Result<(LocalServer, Flavour), String> {
        let binary = ServerBinary::find()?;
        let os_user = current_os_user()?;
        let folder = tempfile::Builder::new()
            .prefix("eidb-test-")
            .tempdir()
            .map_err(|error| format!("cannot make a temp folder for the test server: {error}"))?;
        let watchdog = Watchdog::spawn(
            WATCHDOG_SCRIPT,
            "eidb-test-watchdog",
            folder.path(),
            "the test server",
        )?;
        // From here on, dropping `local` (also on the error paths below) ends the server and the
        // watchdog removes the folder.
        let root = folder.keep();
        let mut local = LocalServer {
            log_file: root.join("server.log"),
            root,
            binary,
            os_user,
            port: 0,
            extra_args,
            setup,
            state: Mutex::new(State {
                server: None,
                watchdog,
            }),
        };
        local.prepare_data_dir()?;
        let flavour = local.start_on_a_free_port()?;
        Ok((local, flavour))
    }

    pub(super) fn port(&self) -> u16 {
        self.port
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bootstrapping the system tables costs half a second on an idle machine and several seconds on
    /// a busy one; copying a data folder bootstrapped before costs some 30 ms (mysql-test-run does
    /// the same). Templates live in cargo's target/tmp, one per server binary, version and OS user.
    fn prepare_data_dir(&self) -> Result<(), String> {
        // A data folder made with other options cannot come from the shared template.
        let template = self.template_dir().filter(|_| self.setup.is_default());
        let Some(template) = template else {
            return self.initialize_data_dir();
        };
        if template.join(TEMPLATE_COMPLETE).exists() {
            if copy_tree(&template.join("data"), &self.data_dir()).is_ok() {
                return Ok(());
            }
            // Removed under our feet (cargo clean?): make the folder the slow way.
            let _ = fs::remove_dir_all(self.data_dir());
        }
        self.initialize_data_dir()?;
        self.publish_template(&template);
        Ok(())
    }

    fn template_dir(&self) -> Option<PathBuf> {
        let target_tmp = option_env!("CARGO_TARGET_TMPDIR")?;
        let mut hasher = DefaultHasher::new();
        (
            &self.binary.path,
            &self.binary.version_text,
            &self.os_user,
            TEMPLATE_RECIPE,
        )
            .hash(&mut hasher);
        let (major, minor, patch) = self.binary.version;
        let name = format!(
            "eidb-server-template-{major}.{minor}.{patch}-{:016x}",
            hasher.finish()
        );
        Some(Path::new(target_tmp).join(name))
    }

    /// Best effort: copies the fresh data folder to a staging folder and renames that into place, so
    /// a template is complete or absent, and the first of several racing test processes wins.
    fn publish_template(&self, template: &Path) {
        static STAGINGS: AtomicU32 = AtomicU32::new(0);
        let mut staging = template.as_os_str().to_owned();
        staging.push(format!(
            ".staging-{}-{}",
            std::process::id(),
            STAGINGS.fetch_add(1, Ordering::Relaxed)
        ));
        let staging = PathBuf::from(staging);
        let published = copy_tree(&self.data_dir(), &staging.join("data"))
            .and_then(|()| File::create(staging.join(TEMPLATE_COMPLETE)).map(drop))
            .and_then(|()| fs::rename(&staging, template));
        if published.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
    }

    fn initialize_data_dir(&self) -> Result<(), String> {
        let mut command = match self.binary.kind {
            ServerKind::MariaDb => {
                let install_db = find_install_db(&self.binary.path)?;
                let mut command = Command::new(&install_db.path);
                command
                    .arg("--no-defaults")
                    .arg(path_arg("--datadir=", &self.data_dir()))
                    .arg(self.tmpdir_arg()?)
                    .arg("--auth-root-authentication-method=normal")
                    .arg(format!("--user={}", self.os_user))
                    .args(self.kind_args()?)
                    .args(&self.setup.both_args);
                if !self.setup.anonymous_accounts {
                    command.arg("--skip-test-db");
                }
                if let Some(basedir) = &install_db.basedir {
                    command.arg(path_arg("--basedir=", basedir));
                }
                command
            }
            ServerKind::MySql => {
                let mut command = Command::new(&self.binary.path);
                command
                    .arg("--no-defaults")
                    .arg("--initialize-insecure")
                    .arg(path_arg("--datadir=", &self.data_dir()))
                    .arg(self.tmpdir_arg()?)
                    .arg(format!("--user={}", self.os_user))
                    .args(self.kind_args()?);
                command
            }
        };
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
            "making the test server's data folder failed ({}): {:?} {:?}\n{}",
            output.status,
            command.get_program(),
            command.get_args().collect::<Vec<_>>(),
            last_lines(&text, 30)
        ))
    }

    fn start_on_a_free_port(&mut self) -> Result<Flavour, String> {
        let mut attempt = 1;
        loop {
            self.port = free_port()?;
            let log_size_before = fs::metadata(&self.log_file).map_or(0, |m| m.len());
            match self.start_server() {
                Ok(flavour) => return Ok(flavour),
                Err(_)
                    if attempt < PORT_ATTEMPTS
                        && read_from(&self.log_file, log_size_before)
                            .contains("Address already in use") =>
                {
                    attempt += 1;
                }
                Err(message) => return Err(message),
            }
        }
    }

    /// Starts the server on `self.port` and waits until root can log in; on failure the server is
    /// gone again and the error carries the end of its log.
    fn start_server(&self) -> Result<Flavour, String> {
        let mut state = self.lock();
        if state.server.is_some() {
            return Err("the test server is running already; stop or kill it first".to_string());
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .map_err(|error| format!("cannot open {}: {error}", self.log_file.display()))?;
        let log_for_stdout = log
            .try_clone()
            .map_err(|error| format!("cannot share the log file: {error}"))?;
        let child = Command::new(&self.binary.path)
            .args(self.server_args()?)
            .stdin(Stdio::null())
            .stdout(log_for_stdout)
            .stderr(log)
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", self.binary.path.display()))?;
        state.watchdog.watch(child.id());
        state.server = Some(child);

        let login = root_login(self.port);
        let server = state.server.as_mut().expect("just stored");
        let outcome = wait_for_login("127.0.0.1", self.port, &login, || match server.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("the server exited ({status})")),
            Err(error) => Err(format!("cannot check on the server: {error}")),
        });
        match outcome {
            Ok(flavour) => Ok(flavour),
            Err(problem) => {
                state.end_server(|child| {
                    let _ = child.kill();
                });
                Err(format!(
                    "the test server ({} on 127.0.0.1:{}) did not come up: {problem}\n\
                     Last lines of its error log:\n{}",
                    self.binary.path.display(),
                    self.port,
                    last_lines(&read_from(&self.log_file, 0), 30)
                ))
            }
        }
    }

    pub(super) fn start(&self) -> Result<(), String> {
        self.start_server().map(|_| ())
    }

    pub(super) fn stop(&self) {
        let mut state = self.lock();
        state.end_server(|child| {
            if send_signal(child.id(), "TERM").is_err() || !wait_for_exit(child, STOP_TIMEOUT) {
                let _ = child.kill();
            }
        });
    }

    fn server_args(&self) -> Result<Vec<OsString>, String> {
        let data = self.data_dir();
        let mut args: Vec<OsString> = vec![
            "--no-defaults".into(),
            path_arg("--datadir=", &data),
            format!("--port={}", self.port).into(),
            "--bind-address=127.0.0.1".into(),
            path_arg("--socket=", &data.join("sock")),
            self.tmpdir_arg()?,
            format!("--user={}", self.os_user).into(),
            "--skip-log-bin".into(),
            // Tests hold little data and need no durability: small and quick.
            "--innodb-buffer-pool-size=32M".into(),
            "--innodb-flush-log-at-trx-commit=2".into(),
            // Parallel tests each open pools and run eidb, which opens its own.
            "--max-connections=300".into(),
        ];
        args.extend(self.kind_args()?);
        args.extend(self.setup.both_args.iter().cloned());
        args.extend(self.extra_args.iter().cloned());
        Ok(args)
    }

    /// A starting server deletes every `#sql*` file in its tmpdir, taking them for its own leftovers:
    /// in a shared /tmp it would destroy the temporary tables of servers already running (the
    /// machine's own, or another test process's, failing its mariadb-install-db).
    fn tmpdir_arg(&self) -> Result<OsString, String> {
        let tmp = self.root.join("tmp");
        fs::create_dir_all(&tmp)
            .map_err(|error| format!("cannot make {}: {error}", tmp.display()))?;
        Ok(path_arg("--tmpdir=", &tmp))
    }

    /// Options for one kind of server, given both when making the data folder and when running it.
    fn kind_args(&self) -> Result<Vec<OsString>, String> {
        match self.binary.kind {
            // The default 96 MB redo log would make every data folder (and template copy) 114 MB.
            ServerKind::MariaDb => Ok(vec!["--innodb-log-file-size=16M".into()]),
            ServerKind::MySql => self.mysql_args(),
        }
    }

    fn mysql_args(&self) -> Result<Vec<OsString>, String> {
        // Packaged MySQL defaults to a folder that may not exist, and refuses to start then.
        let files = self.root.join("files");
        fs::create_dir_all(&files)
            .map_err(|error| format!("cannot make {}: {error}", files.display()))?;
        let mut args = vec![path_arg("--secure-file-priv=", &files)];
        if self.binary.version >= (8, 0, 0) {
            // The X plugin listens on 33060 in every instance: parallel test servers would collide.
            args.push("--mysqlx=OFF".into());
        }
        Ok(args)
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        state.end_server(|child| {
            let _ = child.kill();
        });
        state.watchdog.finish();
    }
}

impl State {
    /// Ends the server with `how`, waits until it has exited, and tells the watchdog.
    fn end_server(&mut self, how: impl FnOnce(&mut Child)) {
        if let Some(mut child) = self.server.take() {
            how(&mut child);
            let _ = child.wait();
            self.watchdog.forget();
        }
    }
}

/// The orders of the single-server watchdog script.
trait ServerWatch {
    fn watch(&mut self, pid: u32);
    fn forget(&mut self);
}

impl ServerWatch for Watchdog {
    fn watch(&mut self, pid: u32) {
        self.send(&format!("pid {pid}"));
    }

    fn forget(&mut self) {
        self.send("pid -");
    }
}

struct ServerBinary {
    path: PathBuf,
    kind: ServerKind,
    version: (u32, u32, u32),
    /// All of `--version`'s output: it changes with every build of the server.
    version_text: String,
}

impl ServerBinary {
    fn find() -> Result<ServerBinary, String> {
        let path = match std::env::var_os(SERVER_BINARY_ENV) {
            Some(path) => PathBuf::from(path),
            None => find_program(&["mariadbd", "mysqld"], &SERVER_DIRS.map(PathBuf::from))
                .ok_or_else(no_server_message)?,
        };
        let output = Command::new(&path)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("cannot run {} --version: {error}", path.display()))?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let version = parse_version(&text).ok_or_else(|| {
            format!(
                "cannot read a version in the output of {} --version: {text:?}",
                path.display()
            )
        })?;
        let kind = if text.contains("MariaDB") {
            ServerKind::MariaDb
        } else {
            ServerKind::MySql
        };
        Ok(ServerBinary {
            path,
            kind,
            version,
            version_text: text,
        })
    }
}

fn no_server_message() -> String {
    format!(
        "the integration tests need a MySQL-compatible server and found none: looked for mariadbd \
         and mysqld on PATH and in {}. Either install one (Debian/Ubuntu: `sudo apt-get install \
         mariadb-server`; the tests start their own throwaway instance and leave the system service \
         alone), or point the tests at a running server: `docker compose up -d --wait` then \
         EIDB_TEST_MYSQL_URL=mysql://root:eidb-root@127.0.0.1:3307 cargo test (see docker-compose.yml). \
         {SERVER_BINARY_ENV}=/path/to/mysqld picks a binary explicitly.",
        SERVER_DIRS.join(", ")
    )
}

struct InstallDb {
    path: PathBuf,
    /// Set for a tarball layout (`BASEDIR/scripts/mariadb-install-db`), which must be told where
    /// the rest of the installation is.
    basedir: Option<PathBuf>,
}

fn find_install_db(server: &Path) -> Result<InstallDb, String> {
    let server_dir = server.parent().unwrap_or(Path::new("/"));
    let near_server = [
        server_dir.to_path_buf(),
        server_dir.join("../bin"),
        server_dir.join("../scripts"),
        PathBuf::from("/usr/bin"),
        PathBuf::from("/usr/local/bin"),
    ];
    let path = find_program(&["mariadb-install-db", "mysql_install_db"], &near_server).ok_or_else(
        || {
            format!(
                "found {} but not mariadb-install-db (on PATH or near it) to make a data folder; \
             install the server package completely (`apt-get install mariadb-server`)",
                server.display()
            )
        },
    )?;
    let parent = path.parent().unwrap_or(Path::new("/"));
    let basedir = (parent.file_name() == Some(OsStr::new("scripts")))
        .then(|| parent.parent().map(Path::to_path_buf))
        .flatten();
    Ok(InstallDb { path, basedir })
}

/// The first of `names` found, trying each name on PATH and then in `extra_dirs` before the next.
fn find_program(names: &[&str], extra_dirs: &[PathBuf]) -> Option<PathBuf> {
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    names.iter().find_map(|name| {
        path_dirs
            .iter()
            .chain(extra_dirs)
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
    })
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn current_os_user() -> Result<String, String> {
    let from_id = Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string());
    from_id
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|name| !name.is_empty()))
        .ok_or_else(|| {
            "cannot tell which OS user runs the tests (`id -un` failed, USER unset)".to_string()
        })
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| format!("cannot find a free port on 127.0.0.1: {error}"))
}

fn root_login(port: u16) -> MySqlConnectOptions {
    MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username("root")
}

/// Sends a signal by name (`TERM`, `STOP`, `CONT`) through the shell's `kill`, which every system
/// has (the `kill` binary need not be installed).
fn send_signal(pid: u32, signal: &str) -> Result<(), String> {
    let status = Command::new("sh")
        .args(["-c", r#"kill -s "$1" "$2""#, "sh", signal, &pid.to_string()])
        .status()
        .map_err(|error| format!("cannot run sh to send SIG{signal}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "sending SIG{signal} to the test server (pid {pid}) failed"
        ))
    }
}

/// True when the child exited within `timeout`.
fn wait_for_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) => sleep(Duration::from_millis(20)),
        }
    }
    false
}

/// Copies a folder of plain files and folders (a server's data folder), keeping permissions.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    fs::set_permissions(to, fs::metadata(from)?.permissions())?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn path_arg(option: &str, path: &Path) -> OsString {
    let mut arg = OsString::from(option);
    arg.push(path);
    arg
}

/// The text of `path` from byte `offset` on (empty when unreadable).
fn read_from(path: &Path, offset: u64) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut file) = File::open(path) {
        let _ = file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_to_end(&mut bytes));
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}
