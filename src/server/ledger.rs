//! eidb's bookkeeping in the server (the metadata database, `databases.metadata`): which dbscript was
//! applied to each database and how far it got, every run's outcome, and the run lock.
//!
//! The lock is a row with an owner and an expiry rather than `GET_LOCK`, because `GET_LOCK` holds on one
//! Galera member only while a row replicates; the same lock serves single servers. A holder that died
//! stops renewing it, and another run takes it over after expiry and says so.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::{Executor, MySqlConnection, Row};

use super::connect::{connection_and_server, is_transient, statement_error, Endpoint};
use super::retry::{self, Retry};
use crate::core::observed::ScriptRecord;
use crate::core::sql::columns::{self, KeptColumns};
use crate::core::sql::quote::{self, Backslashes};
use crate::error::{Error, Result};
use crate::progress::Progress;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a lock holds without renewal; the holder renews it every third of that
/// ([`crate::timeouts::Timeouts::lock_ttl`], 30 s).
fn lock_ttl() -> Duration {
    crate::timeouts::get().lock_ttl
}

/// The lock's expiry in whole seconds, as the SQL takes it.
fn lock_ttl_secs() -> u64 {
    lock_ttl().as_secs().max(1)
}

pub const EIDB_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The ledger shared by the tasks that load databases concurrently.
pub type SharedLedger = std::sync::Arc<tokio::sync::Mutex<Ledger>>;

/// No such database (1049) or table (1146): the ledger, or the part of it asked for, is not there yet.
fn is_absent(e: &sqlx::Error) -> bool {
    matches!(super::codes::mysql_code(e), Some(1049 | 1146))
}

/// Read the ledger's script records, if the metadata database exists (it does not before the first run).
/// One round trip: the table is read straight away, and a server that says it does not exist means no
/// records (rather than asking `information_schema` first).
pub async fn read_scripts(
    conn: &mut MySqlConnection,
    metadata_db: &str,
) -> Result<HashMap<String, ScriptRecord>> {
    let rows = match sqlx::raw_sql(&format!(
        "SELECT target_db, script_name, script_sha256, statements_total, statements_done, outcome FROM {}.eidb_script",
        quote::ident(metadata_db)
    ))
    .fetch_all(&mut *conn)
    .await
    {
        Err(e) if is_absent(&e) => return Ok(HashMap::new()),
        other => other.map_err(|e| statement_error(&e, "reading the ledger"))?,
    };
    Ok(rows
        .iter()
        .filter_map(|row| {
            let target: String = row.try_get(0).ok()?;
            Some((
                target.to_ascii_lowercase(),
                ScriptRecord {
                    script_name: row.try_get(1).ok()?,
                    sha256: row.try_get(2).ok()?,
                    total: row.try_get::<i32, _>(3).ok()? as usize,
                    done: row.try_get::<i32, _>(4).ok()? as usize,
                    outcome: row.try_get(5).ok()?,
                },
            ))
        })
        .collect())
}

/// The probe's answers the ledger keeps for `fingerprint` (see `crate::core::sql::columns::fingerprint`):
/// one per charset and collation they were asked in. None when the ledger does not have them (yet), or
/// when this account may not read them (then the probe asks the server). One round trip.
pub async fn read_columns(
    conn: &mut MySqlConnection,
    metadata_db: &str,
    fingerprint: &str,
) -> Vec<KeptColumns> {
    let sql = format!(
        "SELECT charset_name, collation_name, columns FROM {}.eidb_columns WHERE fingerprint = {}",
        quote::ident(metadata_db),
        quote::literal(fingerprint, Backslashes::Escape)
    );
    let rows = match sqlx::raw_sql(&sql).fetch_all(&mut *conn).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::debug!("the ledger's kept columns are not read: {e}");
            return Vec::new();
        }
    };
    rows.iter()
        .filter_map(|row| {
            let text = |i| row.try_get_unchecked::<String, _>(i).ok();
            Some(KeptColumns {
                charset: text(0)?,
                collation: text(1)?,
                columns: columns::from_json(&text(2)?)?,
            })
        })
        .collect()
}

/// Keep the probe's answer for `fingerprint` in the ledger. `Ok(false)` when the ledger has no place for
/// it yet (a ledger written by an older eidb: [`bring_up_to_date`] makes it).
pub async fn record_columns(
    conn: &mut MySqlConnection,
    metadata_db: &str,
    fingerprint: &str,
    kept: &KeptColumns,
) -> Result<bool> {
    let sql = format!(
        "INSERT INTO {}.eidb_columns (fingerprint, charset_name, collation_name, columns, recorded_at, eidb_version)
         VALUES (?, ?, ?, ?, NOW(6), ?)
         ON DUPLICATE KEY UPDATE columns = VALUES(columns), recorded_at = VALUES(recorded_at),
           eidb_version = VALUES(eidb_version)",
        quote::ident(metadata_db)
    );
    let written = sqlx::query(&sql)
        .bind(fingerprint)
        .bind(&kept.charset)
        .bind(&kept.collation)
        .bind(columns::to_json(&kept.columns))
        .bind(EIDB_VERSION)
        .execute(&mut *conn)
        .await;
    match written {
        Ok(_) => Ok(true),
        Err(e) if is_absent(&e) => Ok(false),
        Err(e) => Err(statement_error(
            &e,
            "keeping the script's columns in the ledger",
        )),
    }
}

/// What the ledger says about ownership: which cluster manages which database (as recorded), and the
/// host parts of the rows of `user` that `cluster` created.
#[derive(Debug, Clone, Default)]
pub struct Ownership {
    pub databases: Vec<(String, String)>,
    pub created_hosts: std::collections::BTreeSet<String>,
    /// This cluster's nodes and the local registry each was given: node name -> database.
    pub nodes: std::collections::BTreeMap<String, String>,
}

/// Read the ownership records, if the ledger has them (a ledger written before they existed has none).
/// One round trip, as [`read_scripts`]: a missing table means no records.
pub async fn read_ownership(
    conn: &mut MySqlConnection,
    metadata_db: &str,
    cluster: &str,
    user: &str,
) -> Result<Ownership> {
    let db = quote::ident(metadata_db);
    let sql = format!(
        "SELECT 'database', target_db, cluster FROM {db}.eidb_database
         UNION ALL
         SELECT 'account', host, cluster FROM {db}.eidb_account WHERE cluster = {cluster} AND user_name = {}
         UNION ALL
         SELECT 'node', node, target_db FROM {db}.eidb_node WHERE cluster = {cluster}",
        quote::literal(user, Backslashes::Escape),
        cluster = quote::literal(cluster, Backslashes::Escape),
    );
    let rows = match sqlx::raw_sql(&sql).fetch_all(&mut *conn).await {
        Err(e) if is_absent(&e) => return Ok(Ownership::default()),
        other => {
            other.map_err(|e| statement_error(&e, "reading the ledger's ownership records"))?
        }
    };
    let mut ownership = Ownership::default();
    for row in rows {
        let get = |i| row.try_get_unchecked::<String, _>(i).unwrap_or_default();
        match get(0).as_str() {
            "database" => ownership.databases.push((get(1), get(2))),
            "node" => {
                ownership.nodes.insert(get(1), get(2));
            }
            _ => {
                ownership
                    .created_hosts
                    .insert(crate::core::observed::host_key(&get(1)));
            }
        }
    }
    Ok(ownership)
}

/// The ledger of one run: the metadata database's connection, the run's id and the lock it holds.
pub struct Ledger {
    conn: MySqlConnection,
    /// The server in use first, then the others of the spec (Galera members) to fail over to.
    candidates: Vec<Endpoint>,
    progress: Progress,
    database: String,
    run_id: i64,
    /// Who holds the lock, as written in its row; the renewer rewrites the connection part when it
    /// reconnects, so that the connection it names is always one this run keeps open.
    owner: SharedOwner,
    lock_name: String,
    renewer: Option<tokio::task::JoinHandle<()>>,
    /// Tells the renewer to close its connection and end.
    stop_renewer: std::sync::Arc<tokio::sync::Notify>,
}

impl Ledger {
    /// Create the metadata database and its tables (sqlx migrations) if needed, take the run lock
    /// (waiting up to `lock_wait`), and record the run.
    pub async fn open(
        candidates: &[Endpoint],
        metadata_db: &str,
        lock_name: &str,
        lock_wait: Duration,
        progress: &Progress,
    ) -> Result<Ledger> {
        let endpoint = &candidates[0];
        let mut admin = endpoint.connect(None).await?;
        admin
            .execute(sqlx::raw_sql(&format!(
                "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4",
                quote::ident(metadata_db)
            )))
            .await
            .map_err(|e| {
                statement_error(&e, &format!("creating the metadata database {metadata_db}"))
            })?;
        super::connect::close(admin).await;
        let mut conn = endpoint.connect(Some(metadata_db)).await?;
        // On Galera, read what other members wrote (the ledger and the lock are shared through them).
        let _ = conn
            .execute(sqlx::raw_sql("SET SESSION wsrep_sync_wait = 1"))
            .await;
        migrate(&mut conn, metadata_db).await?;
        let owner = owner_on(&mut conn).await?;
        acquire_lock(&mut conn, lock_name, &owner, lock_wait, progress).await?;
        let mut rolled_back = Retry::ROLLED_BACK.start();
        let run_id = loop {
            let inserted = sqlx::query("INSERT INTO eidb_run (eidb_version, started_at, outcome, owner) VALUES (?, NOW(6), 'running', ?)")
                .bind(EIDB_VERSION)
                .bind(&owner)
                .execute(&mut conn)
                .await;
            match inserted {
                Ok(done) => break done.last_insert_id() as i64,
                // On Galera a replicated DDL or a conflicting write elsewhere aborts it: nothing happened.
                Err(e) if retry::rolled_back(&e) && rolled_back.may_retry() => {
                    rolled_back.pause().await
                }
                Err(e) => return Err(statement_error(&e, "recording the run")),
            }
        };
        let owner: SharedOwner = std::sync::Arc::new(std::sync::Mutex::new(owner));
        let stop_renewer = std::sync::Arc::new(tokio::sync::Notify::new());
        let renewer = Some(spawn_renewer(
            candidates.to_vec(),
            metadata_db.to_string(),
            lock_name.to_string(),
            owner.clone(),
            stop_renewer.clone(),
        ));
        Ok(Ledger {
            conn,
            candidates: candidates.to_vec(),
            progress: progress.clone(),
            database: metadata_db.to_string(),
            run_id,
            owner,
            lock_name: lock_name.to_string(),
            renewer,
            stop_renewer,
        })
    }

    pub fn metadata_db(&self) -> &str {
        &self.database
    }

    /// A script is about to run in `target`: record it (replacing an earlier record of that database).
    pub async fn script_started(
        &mut self,
        target: &str,
        name: &str,
        sha256: &str,
        total: usize,
        done: usize,
    ) -> Result<()> {
        let sql = "INSERT INTO eidb_script (target_db, script_name, script_sha256, statements_total, statements_done, outcome, started_at, run_id, eidb_version)
                   VALUES (?, ?, ?, ?, ?, 'running', NOW(6), ?, ?)
                   ON DUPLICATE KEY UPDATE script_name = VALUES(script_name), script_sha256 = VALUES(script_sha256),
                     statements_total = VALUES(statements_total), statements_done = VALUES(statements_done), outcome = 'running',
                     started_at = VALUES(started_at), finished_at = NULL, run_id = VALUES(run_id), eidb_version = VALUES(eidb_version), error = NULL";
        self.exec_retrying(|c| {
            sqlx::query(sql)
                .bind(target)
                .bind(name)
                .bind(sha256)
                .bind(total as i32)
                .bind(done as i32)
                .bind(c)
                .bind(EIDB_VERSION)
        })
        .await
    }

    /// Record progress (`done` statements of the script, in order, are known complete) and the outcome.
    pub async fn script_progress(
        &mut self,
        target: &str,
        done: usize,
        outcome: &str,
        error: Option<&str>,
    ) -> Result<()> {
        let finished = if outcome == "running" {
            "NULL"
        } else {
            "NOW(6)"
        };
        let sql = format!(
            "UPDATE eidb_script SET statements_done = ?, outcome = ?, finished_at = {finished}, error = ? WHERE target_db = ?"
        );
        let error = error.map(crate::redact::redact);
        self.exec_retrying(|_| {
            sqlx::query(&sql)
                .bind(done as i32)
                .bind(outcome)
                .bind(error.clone())
                .bind(target)
        })
        .await
    }

    /// Record that `cluster` manages these databases (a database already recorded keeps its cluster).
    pub async fn record_databases(&mut self, cluster: &str, databases: &[String]) -> Result<()> {
        for database in databases {
            self.exec_retrying(|run| {
                sqlx::query(
                    "INSERT IGNORE INTO eidb_database (target_db, cluster, recorded_at, run_id) VALUES (?, ?, NOW(6), ?)",
                )
                .bind(database.clone())
                .bind(cluster.to_string())
                .bind(run)
            })
            .await?;
        }
        Ok(())
    }

    /// Record which local registry each of these nodes of `cluster` uses (a node's record is replaced:
    /// the spec may name another database for it, or a node may have been renamed).
    pub async fn record_nodes(&mut self, cluster: &str, nodes: &[(String, String)]) -> Result<()> {
        for (node, database) in nodes {
            self.exec_retrying(|run| {
                sqlx::query(
                    "INSERT INTO eidb_node (cluster, node, target_db, recorded_at, run_id) VALUES (?, ?, ?, NOW(6), ?)
                     ON DUPLICATE KEY UPDATE target_db = VALUES(target_db), recorded_at = VALUES(recorded_at), run_id = VALUES(run_id)",
                )
                .bind(cluster.to_string())
                .bind(node.clone())
                .bind(database.clone())
                .bind(run)
            })
            .await?;
        }
        Ok(())
    }

    /// Forget the record of a node that was renamed (its database now belongs to its new name).
    pub async fn forget_node(&mut self, cluster: &str, node: &str) -> Result<()> {
        self.exec_retrying(|_| {
            sqlx::query("DELETE FROM eidb_node WHERE cluster = ? AND node = ?")
                .bind(cluster.to_string())
                .bind(node.to_string())
        })
        .await
    }

    /// Record that `cluster` created the account row `user@host` (so a later spec may drop it), or,
    /// with `created = false`, that the row is gone.
    pub async fn record_account(
        &mut self,
        cluster: &str,
        user: &str,
        host: &str,
        created: bool,
    ) -> Result<()> {
        if created {
            self.exec_retrying(|run| {
                sqlx::query(
                    "INSERT IGNORE INTO eidb_account (cluster, user_name, host, created_at, run_id) VALUES (?, ?, ?, NOW(6), ?)",
                )
                .bind(cluster.to_string())
                .bind(user.to_string())
                .bind(host.to_string())
                .bind(run)
            })
            .await
        } else {
            self.exec_retrying(|_| {
                sqlx::query(
                    "DELETE FROM eidb_account WHERE cluster = ? AND user_name = ? AND host = ?",
                )
                .bind(cluster.to_string())
                .bind(user.to_string())
                .bind(host.to_string())
            })
            .await
        }
    }

    /// Record the run's outcome and release the lock.
    pub async fn close(mut self, outcome: &str, error: Option<&str>) -> Result<()> {
        if let Some(mut renewer) = self.renewer.take() {
            // It closes its connection first (a connection only dropped is an aborted one to the server);
            // one busy reconnecting to a server that went away is not waited for.
            self.stop_renewer.notify_one();
            if tokio::time::timeout(Duration::from_millis(500), &mut renewer)
                .await
                .is_err()
            {
                renewer.abort();
            }
        }
        let error = error.map(crate::redact::redact);
        let run_id = self.run_id;
        let recorded = self
            .exec_retrying(|_| {
                sqlx::query(
                    "UPDATE eidb_run SET finished_at = NOW(6), outcome = ?, error = ? WHERE id = ?",
                )
                .bind(outcome)
                .bind(error.clone())
                .bind(run_id)
            })
            .await;
        // Release the lock even when the outcome could not be recorded: others must not wait for its expiry.
        let (name, owner) = (self.lock_name.clone(), current(&self.owner));
        let released = self
            .exec_retrying(|_| {
                sqlx::query("DELETE FROM eidb_lock WHERE name = ? AND owner = ?")
                    .bind(name.clone())
                    .bind(owner.clone())
            })
            .await;
        super::connect::close(self.conn).await;
        recorded.and(released)
    }

    /// Run a ledger statement (an idempotent upsert or update). After a dropped connection it reconnects,
    /// through another member if need be, and sends it again; so it does after a deadlock (1213), which on
    /// Galera also means "aborted by a replicated DDL or a conflicting write on another member".
    async fn exec_retrying<'q, F>(&mut self, make: F) -> Result<()>
    where
        F: Fn(i64) -> sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments>,
    {
        let mut lost = Retry::CONNECTION_LOST.start();
        let mut rolled_back = Retry::ROLLED_BACK.start();
        loop {
            match make(self.run_id).execute(&mut self.conn).await {
                Ok(_) => return Ok(()),
                Err(e) if is_transient(&e) && lost.may_retry() => {
                    lost.pause().await;
                    let (_, conn) = super::members::reconnect(
                        &self.candidates,
                        Some(&self.database),
                        crate::timeouts::get().ledger_reconnect,
                        &self.progress,
                    )
                    .await?;
                    self.conn = conn;
                    let _ = self
                        .conn
                        .execute(sqlx::raw_sql("SET SESSION wsrep_sync_wait = 1"))
                        .await;
                }
                Err(e) if retry::rolled_back(&e) && rolled_back.may_retry() => {
                    rolled_back.pause().await
                }
                Err(e) => return Err(statement_error(&e, "writing the ledger")),
            }
        }
    }
}

/// Bring the ledger's tables up to date outside a run that changes something (a provision with nothing to
/// change that has something to keep). `Ok(false)` when there is no ledger at all: eidb never provisioned
/// on this server, and a run with nothing to change does not start one.
pub async fn bring_up_to_date(endpoint: &Endpoint, metadata_db: &str) -> Result<bool> {
    let mut conn = match endpoint.connect_raw(Some(metadata_db)).await {
        Ok(conn) => conn,
        Err(e) if is_absent(&e) => return Ok(false),
        Err(e) => {
            return Err(super::connect::connect_error(
                e,
                endpoint,
                Some(metadata_db),
            ))
        }
    };
    let _ = conn
        .execute(sqlx::raw_sql("SET SESSION wsrep_sync_wait = 1"))
        .await;
    let migrated = migrate(&mut conn, metadata_db).await;
    super::connect::close(conn).await;
    migrated.map(|()| true)
}

/// Bring the ledger's tables up to date. Concurrent first runs race on sqlx's bookkeeping row (1062), so
/// migrations run under a server lock, and a lost race is retried: the winner's migration is then seen.
async fn migrate(conn: &mut MySqlConnection, metadata_db: &str) -> Result<()> {
    // GET_LOCK holds on one Galera member only, so concurrent first runs through different members can
    // still meet: a deadlock, a table not there yet, or the other run's migration row marked unfinished.
    // The migration is idempotent (CREATE TABLE IF NOT EXISTS), so each of these is retried; a row left
    // unfinished by a run that died is removed and the migration run again.
    let lock = quote::literal(&format!("eidb-migrate-{metadata_db}"), Backslashes::Escape);
    let _ = conn
        .execute(sqlx::raw_sql(&format!("DO GET_LOCK({lock}, 60)")))
        .await;
    let mut backoff =
        Retry::every(Duration::from_millis(300)).within(crate::timeouts::get().migration);
    let outcome = loop {
        let outcome = MIGRATOR.run(&mut *conn).await;
        let retry = match &outcome {
            Ok(()) => false,
            Err(
                sqlx::migrate::MigrateError::Execute(e)
                | sqlx::migrate::MigrateError::ExecuteMigration(e, _),
            ) => {
                matches!(super::codes::mysql_code(e), Some(1062 | 1213 | 1146 | 1205))
            }
            Err(sqlx::migrate::MigrateError::Dirty(version))
                if backoff.elapsed() > Duration::from_secs(10) =>
            {
                // Nobody finished it in 10 s: the run that started it is gone.
                let _ = conn
                    .execute(sqlx::raw_sql(&format!("DELETE FROM _sqlx_migrations WHERE version = {version} AND success = FALSE")))
                    .await;
                true
            }
            Err(sqlx::migrate::MigrateError::Dirty(_)) => true,
            Err(_) => false,
        };
        if !retry || !backoff.may_retry() {
            break outcome;
        }
        backoff.pause().await;
    };
    // Concurrent first runs on Galera can leave sqlx's bookkeeping saying "applied" on this member while
    // this member has not created every table itself (the other run's DDL raced ours). eidb's migrations
    // are idempotent (IF NOT EXISTS) by rule, so running them once more makes sure.
    if outcome.is_ok() && !ledger_tables_exist(conn, metadata_db).await {
        for migration in MIGRATOR.iter() {
            conn.execute(sqlx::raw_sql(&migration.sql))
                .await
                .map_err(|e| {
                    statement_error(
                        &e,
                        &format!("making sure eidb's ledger tables exist in {metadata_db}"),
                    )
                })?;
        }
    }
    let _ = conn
        .execute(sqlx::raw_sql(&format!("DO RELEASE_LOCK({lock})")))
        .await;
    outcome.map_err(|e| {
        Error::failure(format!("setting up eidb's ledger in {metadata_db}: {e}"))
            .with_hint("if a migration of eidb's ledger was changed or is newer than this eidb, use the eidb version that created it")
    })
}

/// Whether this member holds all of eidb's tables (a no-op `CREATE TABLE IF NOT EXISTS` is still a
/// replicated DDL on Galera, which aborts other members' transactions on those tables: avoid it).
async fn ledger_tables_exist(conn: &mut MySqlConnection, metadata_db: &str) -> bool {
    let sql = format!(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_NAME IN ('eidb_run', 'eidb_script', 'eidb_lock', 'eidb_database', 'eidb_account', 'eidb_node', 'eidb_columns')",
        quote::literal(metadata_db, Backslashes::Escape)
    );
    sqlx::raw_sql(&sql)
        .fetch_one(&mut *conn)
        .await
        .ok()
        .and_then(|row| row.try_get::<i64, _>(0).ok())
        == Some(7)
}

/// The lock's owner shared by the run and its renewer.
type SharedOwner = std::sync::Arc<std::sync::Mutex<String>>;

fn current(owner: &SharedOwner) -> String {
    owner.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// How long a holder's connection must stay gone before its lock is taken over: longer than the renewer
/// needs to notice a dropped connection and name its new one in the row (a run that lost its connection
/// to a restart is alive and must keep its lock). [`crate::timeouts::Timeouts::lock_gone_for`], 3 s.
fn gone_for() -> Duration {
    crate::timeouts::get().lock_gone_for
}

/// How often the renewer checks that its connection is alive ([`crate::timeouts::Timeouts::lock_ping`]).
fn ping_every() -> Duration {
    crate::timeouts::get().lock_ping
}

/// Who this run is, as the lock row names it: `<host> pid <pid> connection <id> on <server>`. The
/// connection is `conn` (one the run keeps open); the server is `@@hostname:@@port`, so another run on the
/// same server can tell from the server's process list whether that connection still exists.
async fn owner_on(conn: &mut MySqlConnection) -> Result<String> {
    let (connection_id, server) = connection_and_server(conn)
        .await
        .map_err(|e| statement_error(&e, "reading the connection id"))?;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_else(|_| "unknown-host".into());
    Ok(format!(
        "{} pid {} connection {connection_id} on {server}",
        host.trim(),
        std::process::id()
    ))
}

/// The owner with another connection named in it (after a reconnect).
fn with_connection(owner: &str, connection_id: u64, server: &str) -> String {
    let person = owner.split(" connection ").next().unwrap_or(owner);
    format!("{person} connection {connection_id} on {server}")
}

/// `(connection id, server)` named by an owner, when it names them (owners written by older eidb do not).
fn owner_connection(owner: &str) -> Option<(u64, &str)> {
    let rest = owner.rsplit_once(" connection ")?.1;
    let (id, server) = rest.split_once(" on ")?;
    Some((id.parse().ok()?, server))
}

/// Whether the holder's connection is known to be gone: it is on the server `conn` is connected to, this
/// session may see every connection (`PROCESS`), and the process list does not have it. `None` when that
/// cannot be known (another Galera member, no `PROCESS` privilege, an owner of an older eidb): then only
/// the lock's expiry frees it.
async fn holder_gone(conn: &mut MySqlConnection, holder: &str) -> Option<bool> {
    let (id, server) = owner_connection(holder)?;
    let (_, here) = connection_and_server(conn).await.ok()?;
    if here != server {
        return None;
    }
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?),
                (SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES
                  WHERE PRIVILEGE_TYPE IN ('PROCESS', 'SUPER')
                    AND GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''',
                                         SUBSTRING_INDEX(CURRENT_USER(), '@', -1), ''''))",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await
    .ok()?;
    let (present, sees_all): (i64, i64) = (row.try_get(0).ok()?, row.try_get(1).ok()?);
    if sees_all == 0 {
        return None;
    }
    Some(present == 0)
}

/// Take the lock row: insert it, or take it over when it expired or its holder's connection is gone from
/// this server; otherwise wait and try again.
async fn acquire_lock(
    conn: &mut MySqlConnection,
    name: &str,
    owner: &str,
    wait: Duration,
    progress: &Progress,
) -> Result<()> {
    // Not a retry: the lock is looked at every 250 ms until it is free or `wait` has passed.
    let mut poll = Retry::every(Duration::from_millis(250)).within(wait);
    let mut told = false;
    // A holder whose connection was seen gone, and since when.
    let mut gone_since: Option<(String, Instant)> = None;
    loop {
        crate::interrupt::check(&format!("while waiting for the run lock `{name}`"))?;
        // Who holds it now, so that a holder whose lock expired can be named and its run marked.
        let previous: Option<String> = sqlx::query("SELECT owner FROM eidb_lock WHERE name = ?")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| statement_error(&e, "reading the run lock"))?
            .and_then(|row| row.try_get(0).ok());
        let taken = sqlx::query(
            "INSERT INTO eidb_lock (name, owner, acquired_at, expires_at) VALUES (?, ?, NOW(6), NOW(6) + INTERVAL ? SECOND)
             ON DUPLICATE KEY UPDATE
               owner = IF(expires_at < NOW(6), VALUES(owner), owner),
               acquired_at = IF(owner = VALUES(owner), VALUES(acquired_at), acquired_at),
               expires_at = IF(owner = VALUES(owner), VALUES(expires_at), expires_at)",
        )
        .bind(name)
        .bind(owner)
        .bind(lock_ttl_secs())
        .execute(&mut *conn)
        .await;
        match taken {
            // 1213 deadlock / Galera certification failure: someone else raced us; look again.
            Err(e) if matches!(super::codes::mysql_code(&e), Some(1213 | 1205)) => {}
            Err(e) => return Err(statement_error(&e, "taking the run lock")),
            Ok(result) => {
                let row = sqlx::query(
                    "SELECT owner, CAST(acquired_at AS CHAR) FROM eidb_lock WHERE name = ?",
                )
                .bind(name)
                .fetch_optional(&mut *conn)
                .await
                .map_err(|e| statement_error(&e, "reading the run lock"))?;
                let holder: Option<(String, String)> =
                    row.and_then(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)));
                match holder {
                    Some((holder, _)) if holder == owner => {
                        // 2 rows affected by ON DUPLICATE KEY UPDATE: an existing (expired) row was taken over.
                        if result.rows_affected() == 2 {
                            let previous = previous.unwrap_or_default();
                            progress.line(&format!(
                                "took over the run lock `{name}` from {previous}: it was not renewed for {} s (that run died)",
                                lock_ttl_secs()
                            ));
                            mark_abandoned(conn, &previous).await?;
                        }
                        if told {
                            progress.line(&format!(
                                "got the run lock `{name}` after waiting {:.1} s",
                                poll.elapsed().as_secs_f64()
                            ));
                        }
                        return Ok(());
                    }
                    Some((holder, since)) => {
                        // On this server the holder's connection can be looked for: a run that died
                        // (killed, its machine gone) has none, and its lock is taken over without waiting
                        // for the expiry.
                        match holder_gone(conn, &holder).await {
                            Some(true) => match &gone_since {
                                Some((seen, at))
                                    if *seen == holder && at.elapsed() >= gone_for() =>
                                {
                                    if take_over(conn, name, &holder, owner).await? {
                                        let (id, _) = owner_connection(&holder).unwrap_or_default();
                                        progress.line(&format!(
                                            "took over the run lock `{name}` from {holder}: its connection {id} has been \
                                             gone from the server for {:.0} s (that run died)",
                                            at.elapsed().as_secs_f64()
                                        ));
                                        mark_abandoned(conn, &holder).await?;
                                        return Ok(());
                                    }
                                }
                                Some((seen, _)) if *seen == holder => {}
                                _ => gone_since = Some((holder.clone(), Instant::now())),
                            },
                            _ => gone_since = None,
                        }
                        if poll.expired() {
                            return Err(Error::failure(format!(
                                "another eidb run holds the lock `{name}`: {holder}, since {since}; gave up after {} s",
                                wait.as_secs()
                            ))
                            .with_hint("wait for that run to finish (or raise --lock-wait); the lock of a run that died \
                                        is taken over once its connection is gone, or after 30 s where that cannot be seen"));
                        }
                        if !told {
                            progress.line(&format!(
                                "waiting for the run lock `{name}`, held by {holder} since {since}"
                            ));
                            told = true;
                        }
                    }
                    None => {}
                }
            }
        }
        poll.pause().await;
    }
}

/// Take the lock from `holder`, whose connection is gone; false when the row changed meanwhile.
async fn take_over(
    conn: &mut MySqlConnection,
    name: &str,
    holder: &str,
    owner: &str,
) -> Result<bool> {
    let taken = sqlx::query(
        "UPDATE eidb_lock SET owner = ?, acquired_at = NOW(6), expires_at = NOW(6) + INTERVAL ? SECOND
         WHERE name = ? AND owner = ?",
    )
    .bind(owner)
    .bind(lock_ttl_secs())
    .bind(name)
    .bind(holder)
    .execute(&mut *conn)
    .await;
    match taken {
        Ok(done) => Ok(done.rows_affected() == 1),
        Err(e) if matches!(super::codes::mysql_code(&e), Some(1213 | 1205)) => Ok(false),
        Err(e) => Err(statement_error(&e, "taking over the run lock")),
    }
}

/// Mark the runs of a dead lock holder (its process: the connection part changes on reconnects).
async fn mark_abandoned(conn: &mut MySqlConnection, holder: &str) -> Result<()> {
    let process = holder.split(" connection ").next().unwrap_or(holder);
    sqlx::query(
        "UPDATE eidb_run SET outcome = 'abandoned', finished_at = NOW(6)
         WHERE (owner = ? OR owner LIKE CONCAT(?, ' connection %')) AND outcome = 'running'",
    )
    .bind(holder)
    .bind(process)
    .execute(&mut *conn)
    .await
    .map_err(|e| statement_error(&e, "marking the abandoned run"))?;
    Ok(())
}

/// Keep renewing the lock while the run lasts, on a connection of its own whose id the lock row names:
/// checked every second and, when it dropped, opened again and named in the row at once, so that other
/// runs never see a live run's lock without its connection for long.
fn spawn_renewer(
    candidates: Vec<Endpoint>,
    database: String,
    name: String,
    owner: SharedOwner,
    stop: std::sync::Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut conn: Option<MySqlConnection> = None;
        let mut last_renewal = Instant::now();
        let lost = |name: &str| {
            crate::interrupt::stop(&format!(
                "the run lock `{name}` was taken over by another run"
            ))
        };
        loop {
            if conn.is_none() {
                for endpoint in &candidates {
                    if let Ok(c) = endpoint
                        .connect_within(Some(&database), super::members::connect_limit())
                        .await
                    {
                        conn = Some(c);
                        break;
                    }
                }
                // Name the new connection in the row (only if the row is still ours).
                if let Some(c) = conn.as_mut() {
                    let _ = sqlx::query("SET SESSION wsrep_sync_wait = 1")
                        .execute(&mut *c)
                        .await;
                    match connection_and_server(c).await {
                        Ok((id, server)) => {
                            let old = current(&owner);
                            let new = with_connection(&old, id, &server);
                            let renamed = sqlx::query(
                                "UPDATE eidb_lock SET owner = ?, expires_at = NOW(6) + INTERVAL ? SECOND WHERE name = ? AND owner = ?",
                            )
                            .bind(&new)
                            .bind(lock_ttl_secs())
                            .bind(&name)
                            .bind(&old)
                            .execute(&mut *c)
                            .await;
                            match renamed {
                                Ok(done) if done.rows_affected() == 0 => {
                                    lost(&name);
                                    return;
                                }
                                Ok(_) => {
                                    *owner.lock().unwrap_or_else(|e| e.into_inner()) = new;
                                    last_renewal = Instant::now();
                                }
                                Err(_) => conn = None,
                            }
                        }
                        Err(_) => conn = None,
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(ping_every()) => {}
                _ = stop.notified() => {
                    if let Some(c) = conn.take() {
                        super::connect::close(c).await;
                    }
                    return;
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            let outcome = if last_renewal.elapsed() >= lock_ttl() / 3 {
                let renewed = sqlx::query("UPDATE eidb_lock SET expires_at = NOW(6) + INTERVAL ? SECOND WHERE name = ? AND owner = ?")
                    .bind(lock_ttl_secs())
                    .bind(&name)
                    .bind(current(&owner))
                    .execute(&mut *c)
                    .await;
                match renewed {
                    // The row is no longer ours: it expired and another run took it over. Stop
                    // between steps rather than work beside that run.
                    Ok(done) if done.rows_affected() == 0 => {
                        lost(&name);
                        return;
                    }
                    Ok(_) => {
                        last_renewal = Instant::now();
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            } else {
                sqlx::query("DO 1").execute(&mut *c).await.map(drop)
            };
            if outcome.is_err() {
                conn = None;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_names_its_connection_and_server() {
        let owner = "ci-7 pid 42 connection 17 on db1:3306";
        assert_eq!(owner_connection(owner), Some((17, "db1:3306")));
        assert_eq!(
            with_connection(owner, 99, "db2:3306"),
            "ci-7 pid 42 connection 99 on db2:3306"
        );
        // Owners written by an older eidb name no server: the holder cannot be looked for.
        assert_eq!(owner_connection("ci-7 pid 42 connection 17"), None);
    }
}
