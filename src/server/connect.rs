//! Connections: options that never log statement text (which may hold a password), retries while a
//! server is still starting, and MySQL errors mapped to hints a user can act on.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlSslMode};
use sqlx::{ConnectOptions, Connection, Executor};
use tracing::{info, warn};

use super::codes::mysql_code;
use super::retry::{self, Retry, Transient};
use crate::core::spec::{AdminTls, Server, SslMode};
use crate::error::{Error, Result};

/// Where and as whom to connect. Holds the password in a `SecretString`; `Debug` never shows it.
#[derive(Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: SecretString,
    pub tls: AdminTls,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}:{}", self.user, self.host, self.port)
    }
}

impl Endpoint {
    /// The admin connection to each of the spec's servers, in the spec's order, with the admin's
    /// password (read by `secret::Secrets::read`).
    pub fn admins(server: &Server, password: &SecretString) -> Vec<Endpoint> {
        server
            .endpoints
            .iter()
            .map(|(host, port)| Endpoint {
                host: host.clone(),
                port: *port,
                user: server.admin_user.clone(),
                password: password.clone(),
                tls: server.ssl.clone(),
            })
            .collect()
    }

    /// The same server and TLS settings, as another account.
    pub fn as_account(&self, user: &str, password: &SecretString) -> Endpoint {
        Endpoint {
            user: user.to_string(),
            password: password.clone(),
            ..self.clone()
        }
    }

    pub fn describe(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }

    /// Options for this endpoint. `sqlx` logs statement text at DEBUG and slow statements at WARN; both are
    /// off, because `CREATE USER ... IDENTIFIED BY` carries a password. `PIPES_AS_CONCAT` (which sqlx adds
    /// to `sql_mode`) is off too, so vendor scripts see the server's own `||`.
    pub fn options(&self, database: Option<&str>) -> MySqlConnectOptions {
        let mut options = MySqlConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .pipes_as_concat(false)
            .log_statements(log::LevelFilter::Off)
            .log_slow_statements(log::LevelFilter::Off, Duration::from_secs(3600))
            .ssl_mode(ssl_mode(self.tls.mode));
        if let Some(ca) = &self.tls.ca {
            options = options.ssl_ca(ca);
        }
        let password = self.password.expose_secret();
        if !password.is_empty() {
            options = options.password(password);
        }
        if let Some(db) = database {
            options = options.database(db);
        }
        options
    }

    /// One connection attempt, with the driver's own error (for callers that look at the error code).
    /// The session's `sql_mode` is made eidb's own (see [`SESSION_SQL_MODE`]) before it is returned.
    pub async fn connect_raw(
        &self,
        database: Option<&str>,
    ) -> std::result::Result<MySqlConnection, sqlx::Error> {
        // A server that accepts the connection and never answers (frozen, a half-dead virtual IP) must
        // not hold the run: every attempt has the connect limit.
        let limit = crate::timeouts::get().connect;
        crate::timings::step(
            "connect",
            retry::within(limit, async {
                let mut conn = MySqlConnection::connect_with(&self.options(database)).await?;
                conn.execute(sqlx::raw_sql(SESSION_SQL_MODE.as_str()))
                    .await?;
                Ok(conn)
            }),
        )
        .await
    }

    /// One connection attempt that gives up after `limit` (a server that stopped answering must not
    /// hold the run); the driver's own error, or a timed-out I/O error.
    pub async fn connect_within(
        &self,
        database: Option<&str>,
        limit: Duration,
    ) -> std::result::Result<MySqlConnection, sqlx::Error> {
        retry::within(limit, self.connect_raw(database)).await
    }

    /// One connection attempt.
    pub async fn connect(&self, database: Option<&str>) -> Result<MySqlConnection> {
        self.connect_raw(database)
            .await
            .map_err(|e| connect_error(e, self, database))
    }

    /// Connect, retrying with backoff for up to `wait` while the server is not accepting connections
    /// yet (typical right after `docker compose up`). Refusals such as a wrong password fail at once.
    pub async fn connect_waiting(
        &self,
        database: Option<&str>,
        wait: Duration,
    ) -> Result<MySqlConnection> {
        let mut backoff = Retry::SERVER_STARTING.within(wait);
        loop {
            match self.connect_raw(database).await {
                Ok(conn) => return Ok(conn),
                Err(e) if is_transient(&e) && backoff.may_retry() => {
                    crate::interrupt::check(&format!("while waiting for {}", self.describe()))?;
                    info!(
                        "{} is not ready yet ({}); retrying in {:?}",
                        self.describe(),
                        crate::redact::redact(&e.to_string()),
                        backoff.next_pause()
                    );
                    backoff.pause().await;
                }
                Err(e) => {
                    if is_transient(&e) && !wait.is_zero() {
                        warn!("gave up waiting for {} after {:?}", self.describe(), wait);
                    }
                    return Err(connect_error(e, self, database));
                }
            }
        }
    }
}

/// The `sql_mode` flags that change how SQL text is read or written back: identifiers in double quotes
/// (`ANSI_QUOTES`, also in `ANSI` and MariaDB's `ORACLE`), `||` as concatenation, backslashes as ordinary
/// characters, the other dialects, and `SHOW CREATE`/`SHOW GRANTS` output without options. A server may
/// have any of them in its global `sql_mode`; eidb's sessions drop them all, so the statements eidb
/// writes, what it reads back and the WSO2 dbscripts (written for MySQL's own syntax) mean the same on
/// every server. The flags about data (strict mode, zero dates, ...) stay as the server has them: the
/// dbscript variant is chosen for the server's rules.
pub const SYNTAX_SQL_MODES: &[&str] = &[
    "ANSI_QUOTES",
    "PIPES_AS_CONCAT",
    "NO_BACKSLASH_ESCAPES",
    "IGNORE_SPACE",
    "HIGH_NOT_PRECEDENCE",
    "REAL_AS_FLOAT",
    "ANSI",
    "ORACLE",
    "MSSQL",
    "DB2",
    "POSTGRESQL",
    "MAXDB",
    "MYSQL323",
    "MYSQL40",
    "NO_KEY_OPTIONS",
    "NO_TABLE_OPTIONS",
    "NO_FIELD_OPTIONS",
    "EMPTY_STRING_IS_NULL",
    "SIMULTANEOUS_ASSIGNMENT",
];

/// The statement every eidb session runs first: the session's `sql_mode` (the server's global one, as
/// sqlx set it up) without [`SYNTAX_SQL_MODES`]. Computed by the server from its own value, so no flag
/// unknown to this server is ever sent.
pub static SESSION_SQL_MODE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut expression = "CONCAT(',', @@SESSION.sql_mode, ',')".to_string();
    for flag in SYNTAX_SQL_MODES {
        expression = format!("REPLACE({expression}, ',{flag},', ',')");
    }
    format!("SET SESSION sql_mode = TRIM(BOTH ',' FROM {expression})")
});

/// The spec's TLS mode as sqlx names it: one for one, no fallback.
fn ssl_mode(mode: SslMode) -> MySqlSslMode {
    match mode {
        SslMode::Disabled => MySqlSslMode::Disabled,
        SslMode::Preferred => MySqlSslMode::Preferred,
        SslMode::Required => MySqlSslMode::Required,
        SslMode::VerifyCa => MySqlSslMode::VerifyCa,
        SslMode::VerifyIdentity => MySqlSslMode::VerifyIdentity,
    }
}

/// Errors worth retrying after connecting again: the server is down, starting, or dropped the
/// connection ([`Transient::Connection`]).
pub fn is_transient(e: &sqlx::Error) -> bool {
    Transient::of(e) == Some(Transient::Connection)
}

/// This connection's id and the server it is on (`@@hostname:@@port`): together they name a connection
/// that another connection to the same server can look for in the process list, or kill.
pub async fn connection_and_server(
    conn: &mut MySqlConnection,
) -> std::result::Result<(u64, String), sqlx::Error> {
    let row = sqlx::query("SELECT CONNECTION_ID(), CONCAT(@@hostname, ':', @@port)")
        .fetch_one(&mut *conn)
        .await?;
    Ok((sqlx::Row::try_get(&row, 0)?, sqlx::Row::try_get(&row, 1)?))
}

/// A connection to a server opened in the background while the run does other work, so that its handshake
/// (some milliseconds on a busy server) is not waited for when the connection is needed. Taken with
/// [`Opening::take`], or given back with [`Opening::discard`], which closes it.
pub struct Opening(tokio::task::JoinHandle<Result<MySqlConnection>>);

impl Opening {
    /// Start opening a connection to `endpoint` (no database).
    pub fn start(endpoint: &Endpoint) -> Opening {
        let endpoint = endpoint.clone();
        Opening(tokio::spawn(async move { endpoint.connect(None).await }))
    }

    /// The connection, once open; `None` when it could not be opened (the caller connects itself).
    pub async fn take(self) -> Option<MySqlConnection> {
        self.0.await.ok()?.ok()
    }

    /// Not needed after all: closed as a client should once it is open.
    pub async fn discard(self) {
        if let Some(conn) = self.take().await {
            close(conn).await;
        }
    }
}

/// Close a connection as a client should (COM_QUIT): a connection only dropped is an "Aborted connection"
/// warning in the server's error log and one more `Aborted_clients`, which monitoring watches; verify runs
/// as a monitor, every minute.
pub async fn close(conn: sqlx::MySqlConnection) {
    use sqlx::Connection;
    let _ = conn.close().await;
}

pub fn connect_error(e: sqlx::Error, endpoint: &Endpoint, database: Option<&str>) -> Error {
    let target = match database {
        Some(db) => format!("{} (database {db})", endpoint.describe()),
        None => endpoint.describe(),
    };
    let detail = crate::redact::redact(&e.to_string());
    match (&e, mysql_code(&e)) {
        (sqlx::Error::Io(io), _) if io.kind() == std::io::ErrorKind::TimedOut => Error::failure(format!("cannot reach the server at {target}: {detail}"))
            .with_hint("the address took the connection but the server did not answer in time (a frozen server, a virtual IP whose service is down): \
                        check the server; on a slow link raise --connect-timeout; use --wait SECONDS while it starts"),
        (sqlx::Error::Io(_), _) => Error::failure(format!("cannot reach the server at {target}: {detail}"))
            .with_hint("check server.url (host and port) and that the server is running; use --wait SECONDS while it starts"),
        (_, Some(1045)) if endpoint.tls.mode == SslMode::Disabled => Error::failure(format!("access denied for {target}: {detail}"))
            .with_hint("check the password source (password_env / password_file) for this account; a server that requires \
                        secure transport also refuses this way: set server.ssl_mode to preferred or stronger"),
        (_, Some(1045)) => Error::failure(format!("access denied for {target}: {detail}"))
            .with_hint("check the password source (password_env / password_file) for this account"),
        (_, Some(1044)) => Error::failure(format!("{target} may not use that database: {detail}")),
        (_, Some(1049)) => Error::failure(format!("{target}: the database does not exist: {detail}")),
        _ => Error::failure(format!("cannot connect to {target}: {detail}")),
    }
}

/// A statement failed: name what, and add the hints the WSO2 documentation's warnings call for.
pub fn statement_error(e: &sqlx::Error, what: &str) -> Error {
    let detail = crate::redact::redact(&e.to_string());
    if is_transient(e) {
        // sqlx says "expected to read 4 bytes, got 0 bytes at EOF": say what happened instead.
        let mut err = Error::failure(format!(
            "{what}: the connection to the server was lost ({detail})"
        ))
        .with_hint(
            "the server closed the connection (restarted, the connection was killed, or the network dropped); \
             check that the server is up and run the same command again: it carries on from where this run stopped",
        );
        err.connection_lost = true;
        return err;
    }
    let err = Error::failure(format!("{what}: {detail}"));
    match mysql_code(e) {
        Some(1071) | Some(1709) => err.with_hint(
            "an index key is longer than the server allows (767 bytes without large prefixes): use charset = \"latin1\" \
             or a server with innodb_default_row_format = DYNAMIC",
        ),
        Some(1044) | Some(1227) | Some(1142) => err.with_hint(
            "the admin account lacks a privilege: it needs CREATE, CREATE USER and GRANT OPTION (for example root)",
        ),
        Some(1396) => err.with_hint("the account operation failed; check that user.name and user.host are what you mean"),
        Some(1045) => err.with_hint("check the password source for this account"),
        Some(1524) => err.with_hint(
            "the authentication plugin is not loaded on the server; on MySQL 8.4 enable mysql_native_password=ON, \
             or put Connector/J 8 on every node and set user.auth_plugin = \"caching_sha2_password\"",
        ),
        _ => err,
    }
}
