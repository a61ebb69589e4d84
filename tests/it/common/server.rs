//! `TestServer`: where the server is, how to log in as its administrator, what it is, and (for a
//! server the harness started) stopping, starting and pausing it.

use super::local::{LocalServer, Setup};
use super::TEST_URL_ENV;

use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{Connection, MySqlConnection, MySqlPool};
use std::fmt;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// How long a server may take to accept a login after it was started (or after
/// `EIDB_TEST_MYSQL_URL` was given, e.g. while `docker compose up` is still initialising).
pub(super) const READY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    MariaDb,
    MySql,
}

/// What the server is, as it reports itself (`SELECT VERSION()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flavour {
    pub kind: ServerKind,
    /// (major, minor, patch), e.g. (10, 11, 19).
    pub version: (u32, u32, u32),
    /// The full text, e.g. `10.11.19-MariaDB-0+deb12u1` or `8.0.36`.
    pub version_string: String,
}

impl Flavour {
    pub fn from_version(version_string: &str) -> Result<Flavour, String> {
        let version = parse_version(version_string)
            .ok_or_else(|| format!("cannot read a version number in {version_string:?}"))?;
        let kind = if version_string.contains("MariaDB") {
            ServerKind::MariaDb
        } else {
            ServerKind::MySql
        };
        Ok(Flavour {
            kind,
            version,
            version_string: version_string.to_string(),
        })
    }

    pub fn is_mysql(&self) -> bool {
        self.kind == ServerKind::MySql
    }

    /// True when the version is `major.minor` or later.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.version.0, self.version.1) >= (major, minor)
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.kind {
            ServerKind::MariaDb => "MariaDB",
            ServerKind::MySql => "MySQL",
        };
        let (major, minor, patch) = self.version;
        write!(f, "{name} {major}.{minor}.{patch}")
    }
}

/// The first `N.N` or `N.N.N` in `text`, looking after `Ver ` when it is there (`mysqld --version`
/// starts with the binary's path, which may hold digits of its own).
pub(super) fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let text = text.find(" Ver ").map_or(text, |at| &text[at + 5..]);
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut numbers = token
        .split('.')
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<u32>());
    let major = numbers.next()?.ok()?;
    let minor = numbers.next()?.ok()?;
    let patch = numbers.next().and_then(Result::ok).unwrap_or(0);
    Some((major, minor, patch))
}

/// A MySQL-compatible server for tests. `admin_user` may create databases and accounts and grant
/// anything; on a server the harness started it is `root` with an empty password.
pub struct TestServer {
    pub admin_user: String,
    pub admin_password: String,
    pub host: String,
    pub port: u16,
    flavour: Flavour,
    /// Present when the harness started the server (rather than being given `EIDB_TEST_MYSQL_URL`).
    local: Option<LocalServer>,
}

impl TestServer {
    /// The server for [`super::server()`]: the one in `EIDB_TEST_MYSQL_URL`, or a new local one.
    pub(super) fn for_this_process() -> Result<TestServer, String> {
        match std::env::var(TEST_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => TestServer::external(&url),
            _ => TestServer::start_local(),
        }
    }

    /// A server of the caller's own, for tests that stop and start it (doing that to the shared
    /// [`super::server()`] would break the tests running beside them). Always a local server, even
    /// when `EIDB_TEST_MYSQL_URL` is set. Dropping it stops it and removes its folder.
    pub fn dedicated() -> TestServer {
        TestServer::start_local().unwrap_or_else(|message| panic!("{message}"))
    }

    /// A dedicated server started with extra options (e.g. `--ssl-cert=...`).
    pub fn dedicated_with(extra_args: &[String]) -> TestServer {
        TestServer::start_local_with(extra_args.iter().map(Into::into).collect())
            .unwrap_or_else(|message| panic!("{message}"))
    }

    /// A dedicated server set up the way some operators' servers are (see [`Setup`]), started with
    /// `server_args` too (e.g. `--sql-mode=ANSI_QUOTES`, `--skip-name-resolve`).
    pub fn dedicated_configured(setup: Setup, server_args: &[&str]) -> TestServer {
        LocalServer::launch_configured(setup, server_args.iter().map(Into::into).collect())
            .map(TestServer::from_local)
            .unwrap_or_else(|message| panic!("{message}"))
    }

    fn from_local((local, flavour): (LocalServer, Flavour)) -> TestServer {
        TestServer {
            admin_user: "root".to_string(),
            admin_password: String::new(),
            host: "127.0.0.1".to_string(),
            port: local.port(),
            flavour,
            local: Some(local),
        }
    }

    fn start_local() -> Result<TestServer, String> {
        TestServer::start_local_with(Vec::new())
    }

    fn start_local_with(extra_args: Vec<std::ffi::OsString>) -> Result<TestServer, String> {
        LocalServer::launch_with(extra_args).map(TestServer::from_local)
    }

    fn external(url: &str) -> Result<TestServer, String> {
        let target = ExternalTarget::parse(url)?;
        let login = admin_login(&target.host, target.port, &target.user, &target.password);
        let flavour = wait_for_login(&target.host, target.port, &login, || Ok(())).map_err(|error| {
            format!(
                "the test server from {TEST_URL_ENV} ({}) is not usable: {error}\n\
                 Start it (`docker compose up -d --wait`) or unset {TEST_URL_ENV} to let the tests start \
                 their own server.",
                url_without_password(&target.user, &target.host, target.port)
            )
        })?;
        Ok(TestServer {
            admin_user: target.user,
            admin_password: target.password,
            host: target.host,
            port: target.port,
            flavour,
            local: None,
        })
    }

    /// `mysql://USER@HOST:PORT`: safe to print.
    pub fn url_without_password(&self) -> String {
        url_without_password(&self.admin_user, &self.host, self.port)
    }

    pub fn flavour(&self) -> &Flavour {
        &self.flavour
    }

    /// Options to log in as the administrator, without a default database. Never `{:?}` them: that
    /// prints the password.
    pub fn connect_options(&self) -> MySqlConnectOptions {
        admin_login(
            &self.host,
            self.port,
            &self.admin_user,
            &self.admin_password,
        )
    }

    /// A small pool logged in as the administrator; see [`super::admin_pool`].
    pub async fn admin_pool(&self) -> MySqlPool {
        MySqlPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(self.connect_options())
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "cannot log in to the test server {}: {error}",
                    self.url_without_password()
                )
            })
    }

    /// Shuts the server down cleanly (SIGTERM) and waits until it has exited.
    pub fn stop(&self) {
        self.local_or_panic("stop").stop();
    }

    /// Starts the stopped server again on the same port and data, and waits until it
    /// accepts a login.
    pub fn start(&self) {
        self.local_or_panic("start")
            .start()
            .unwrap_or_else(|message| panic!("{message}"));
    }

    pub fn restart(&self) {
        self.stop();
        self.start();
    }

    fn local_or_panic(&self, action: &str) -> &LocalServer {
        self.local.as_ref().unwrap_or_else(|| {
            panic!(
                "cannot {action} the server from {TEST_URL_ENV}: the harness can only {action} a server \
                 it started; use TestServer::dedicated() in this test"
            )
        })
    }
}

fn admin_login(host: &str, port: u16, user: &str, password: &str) -> MySqlConnectOptions {
    let options = MySqlConnectOptions::new()
        .host(host)
        .port(port)
        .username(user);
    if password.is_empty() {
        options
    } else {
        options.password(password)
    }
}

fn url_without_password(user: &str, host: &str, port: u16) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let mut url = url::Url::parse("mysql://placeholder").expect("a literal URL");
    url.set_host(Some(&host))
        .expect("the host was parsed or chosen by the harness");
    url.set_port(Some(port)).expect("mysql URLs have ports");
    url.set_username(user).expect("mysql URLs have user names");
    url.to_string()
}

/// Where `EIDB_TEST_MYSQL_URL` points.
struct ExternalTarget {
    host: String,
    port: u16,
    user: String,
    password: String,
}

impl ExternalTarget {
    /// Errors never repeat the URL: it holds a password.
    fn parse(raw: &str) -> Result<ExternalTarget, String> {
        let expected = "expected mysql://USER:PASSWORD@HOST:PORT";
        let url = url::Url::parse(raw.trim())
            .map_err(|error| format!("{TEST_URL_ENV} is not a URL ({error}); {expected}"))?;
        if !matches!(url.scheme(), "mysql" | "mariadb") {
            return Err(format!(
                "{TEST_URL_ENV} has the scheme {:?}; {expected}",
                url.scheme()
            ));
        }
        let host = match url.host() {
            Some(url::Host::Ipv6(address)) => address.to_string(),
            Some(host) => host.to_string(),
            None => return Err(format!("{TEST_URL_ENV} has no host; {expected}")),
        };
        let user = percent_decode(url.username())
            .map_err(|error| format!("the user name in {TEST_URL_ENV} {error}"))?;
        let password = percent_decode(url.password().unwrap_or(""))
            .map_err(|error| format!("the password in {TEST_URL_ENV} {error}"))?;
        Ok(ExternalTarget {
            host,
            port: url.port().unwrap_or(3306),
            user: if user.is_empty() {
                "root".to_string()
            } else {
                user
            },
            password,
        })
    }
}

/// `%XX` to bytes, read as UTF-8. (`url` leaves user info percent-encoded; `+` stays `+`.)
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(decoded).map_err(|_| "is not UTF-8 once percent-decoded".to_string())
}

/// Polls until the server accepts a TCP connection and then a real login, and returns what it is.
/// `still_running` is asked before each attempt, so a server that died fails at once rather than
/// after the timeout. Runs on a thread of its own with its own runtime, so it may be called from
/// inside a test's runtime.
pub(super) fn wait_for_login(
    host: &str,
    port: u16,
    options: &MySqlConnectOptions,
    mut still_running: impl FnMut() -> Result<(), String> + Send,
) -> Result<Flavour, String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let poll = async {
        let mut last_problem;
        loop {
            still_running()?;
            if accepts_tcp(host, port) {
                match log_in_and_read_version(options).await {
                    Ok(version) => return Flavour::from_version(&version),
                    Err(LoginError::Refused(message)) => return Err(message),
                    Err(LoginError::NotYet(message)) => last_problem = message,
                }
            } else {
                last_problem = format!("nothing accepts connections on {host}:{port}");
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no login after {} s; last problem: {last_problem}",
                    READY_TIMEOUT.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|error| format!("cannot make a tokio runtime: {error}"))?
                    .block_on(poll)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn accepts_tcp(host: &str, port: u16) -> bool {
    let Ok(addresses) = (host, port).to_socket_addrs() else {
        return false;
    };
    addresses
        .into_iter()
        .any(|address| TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok())
}

enum LoginError {
    /// Worth trying again: the server is still starting.
    NotYet(String),
    /// Trying again will not help: wrong user or password.
    Refused(String),
}

async fn log_in_and_read_version(options: &MySqlConnectOptions) -> Result<String, LoginError> {
    let login = tokio::time::timeout(
        Duration::from_secs(10),
        MySqlConnection::connect_with(options),
    );
    let mut connection = match login.await {
        Err(_) => {
            return Err(LoginError::NotYet(
                "the login took more than 10 s".to_string(),
            ))
        }
        // 1045/1698: wrong user, password or authentication plugin; 1044: no access.
        Ok(Err(sqlx::Error::Database(error)))
            if matches!(mysql_error_number(error.as_ref()), Some(1044 | 1045 | 1698)) =>
        {
            return Err(LoginError::Refused(format!(
                "the login was refused: {error}"
            )))
        }
        Ok(Err(error)) => return Err(LoginError::NotYet(error.to_string())),
        Ok(Ok(connection)) => connection,
    };
    let version = sqlx::query_scalar::<_, String>("SELECT VERSION()")
        .fetch_one(&mut connection)
        .await
        .map_err(|error| LoginError::NotYet(error.to_string()))?;
    let _ = connection.close().await;
    Ok(version)
}

fn mysql_error_number(error: &dyn sqlx::error::DatabaseError) -> Option<u16> {
    error
        .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .map(|error| error.number())
}
