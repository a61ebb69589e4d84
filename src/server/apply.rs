//! Turning the server changes of a plan into SQL, for showing (`--dry-run`, passwords masked) and for
//! running (databases' scripts concurrently, each on its own connection).

use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use secrecy::ExposeSecret;
use sqlx::{Executor, MySqlConnection};

use std::time::Duration;

use super::codes::mysql_code;
use super::connect::{connection_and_server, is_transient, statement_error, Endpoint};
use super::inspect;
use super::ledger::SharedLedger;
use super::members;
use super::retry::{self, Retry};
use crate::core::dbscript::Dbscript;
use crate::core::desired::DesiredServer;
use crate::core::facts::{Flavour, ServerFacts};
use crate::core::observed::GrantTarget;
use crate::core::plan::Change;
use crate::core::sql::fold;
use crate::core::sql::quote::{self, Backslashes};
use crate::core::sql::script::SchemaObject;
use crate::error::{Error, Result};
use crate::interrupt;
use crate::progress::Progress;

/// What shapes the SQL eidb writes for this server and session.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    pub flavour: Flavour,
    pub backslashes: Backslashes,
}

impl Dialect {
    pub fn new(facts: &ServerFacts, session_sql_mode: &str) -> Dialect {
        Dialect {
            flavour: facts.flavour,
            backslashes: Backslashes::from_sql_mode(session_sql_mode),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// Passwords written as `'****'`: for output.
    Masked,
    /// Passwords written as they are: only ever sent to the server.
    Real,
}

/// The SQL of one server change. Script changes are rendered by [`script_sql`].
pub fn sql(
    change: &Change,
    desired: &DesiredServer,
    dialect: Dialect,
    secrets: Secrets,
) -> Vec<String> {
    let account = &desired.account;
    let host = match change {
        Change::CreateAccount { host, .. }
        | Change::AlterAccount { host, .. }
        | Change::Grant { host, .. }
        | Change::Revoke { host, .. }
        | Change::DropAccount { host, .. } => host.as_str(),
        _ => "",
    };
    let who = quote::account(&account.name, host, dialect.backslashes);
    let password = match secrets {
        Secrets::Masked => "'****'".to_string(),
        Secrets::Real => quote::literal(account.password.expose_secret(), dialect.backslashes),
    };
    let identified = |plugin: &Option<String>| match (dialect.flavour, plugin) {
        (Flavour::Mysql, Some(plugin)) => format!("IDENTIFIED WITH {plugin} BY {password}"),
        _ => format!("IDENTIFIED BY {password}"),
    };
    match change {
        Change::CreateDatabase { database, charset } => {
            vec![format!(
                "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET {charset}",
                quote::ident(database)
            )]
        }
        Change::CreateAccount { auth_plugin, .. } => {
            vec![format!(
                "CREATE USER IF NOT EXISTS {who} {}",
                identified(auth_plugin)
            )]
        }
        Change::AlterAccount { auth_plugin, .. } => {
            vec![format!("ALTER USER {who} {}", identified(auth_plugin))]
        }
        // Nothing to send: it only holds back the file edits that wait for the account's password.
        Change::AwaitAccountPassword { .. } | Change::CheckMountRecords { .. } => Vec::new(),
        Change::Grant {
            privileges,
            pattern,
            ..
        } => vec![format!(
            "GRANT {privileges} ON {}.* TO {who}",
            quote::ident(pattern)
        )],
        Change::DropAccount { .. } => vec![format!("DROP USER IF EXISTS {who}")],
        Change::Revoke {
            privileges, grant, ..
        } => {
            let target = match &grant.target {
                GrantTarget::Global => "*.*".to_string(),
                // Revoked exactly as stored: the pattern is already escaped (or deliberately not).
                GrantTarget::Database(pattern) => format!("{}.*", quote::ident(pattern)),
                GrantTarget::Table(db, table) => {
                    format!("{}.{}", quote::ident(db), quote::ident(table))
                }
                // Routine grants are revoked on the routine, as SHOW GRANTS wrote it.
                GrantTarget::Routine(routine) => routine.clone(),
                GrantTarget::Other(role) => return vec![format!("REVOKE {role} FROM {who}")],
            };
            vec![format!("REVOKE {privileges} ON {target} FROM {who}")]
        }
        Change::RepairMountRecord(repair) => super::mounts::repair_sql(repair, dialect.backslashes),
        Change::ApplyScript { .. } | Change::EditFile { .. } | Change::RecordOwnership { .. } => {
            Vec::new()
        }
    }
}

/// The statements of a script change, as they will be sent.
pub fn script_sql<'a>(
    change: &Change,
    desired: &'a DesiredServer,
) -> Vec<&'a crate::core::sql::script::Statement> {
    match change {
        Change::ApplyScript { statements, .. } => statements
            .iter()
            .map(|&i| &desired.script.statements[i])
            .collect(),
        _ => Vec::new(),
    }
}

/// How a run applies changes: the server and how to talk to it, how many databases at once, where
/// progress goes.
pub struct Runner<'a> {
    pub endpoint: &'a Endpoint,
    /// `endpoint` first, then the spec's other servers: where to reconnect after a dropped connection.
    pub candidates: &'a [Endpoint],
    pub desired: &'a DesiredServer,
    pub dialect: Dialect,
    pub parallel: usize,
    pub ledger: Option<&'a SharedLedger>,
    pub progress: &'a Progress,
}

/// Apply the server changes: databases first, then every script concurrently (at most `parallel`
/// connections), then the account and its grants.
pub async fn apply(
    admin: &mut MySqlConnection,
    changes: &[Change],
    runner: &Runner<'_>,
) -> Result<()> {
    let Runner {
        endpoint,
        candidates,
        desired,
        dialect,
        parallel,
        ledger,
        progress,
    } = *runner;
    for change in changes
        .iter()
        .filter(|c| matches!(c, Change::CreateDatabase { .. }))
    {
        run_change(admin, candidates, change, desired, dialect, progress).await?;
    }
    let scripts: Vec<&Change> = changes
        .iter()
        .filter(|c| matches!(c, Change::ApplyScript { .. }))
        .collect();
    run_scripts(
        endpoint, candidates, &scripts, desired, parallel, ledger, progress,
    )
    .await?;
    for change in changes.iter().filter(|c| {
        matches!(
            c,
            Change::CreateAccount { .. }
                | Change::AlterAccount { .. }
                | Change::Grant { .. }
                | Change::Revoke { .. }
                | Change::DropAccount { .. }
                | Change::RecordOwnership { .. }
        )
    }) {
        if !matches!(change, Change::RecordOwnership { .. }) {
            run_change(admin, candidates, change, desired, dialect, progress).await?;
        }
        let Some(ledger) = ledger else { continue };
        let mut ledger = ledger.lock().await;
        let (cluster, user) = (&desired.cluster, &desired.account.name);
        match change {
            Change::CreateAccount { host, .. } => {
                ledger.record_account(cluster, user, host, true).await?
            }
            Change::DropAccount { host, .. } => {
                ledger.record_account(cluster, user, host, false).await?
            }
            Change::RecordOwnership {
                cluster,
                databases,
                nodes,
                forget_nodes,
                script_baselines,
            } => {
                for old in forget_nodes {
                    ledger.forget_node(cluster, old).await?;
                }
                let script = &desired.script;
                let total = script.statements.len();
                for database in script_baselines {
                    ledger
                        .script_started(database, &script.file_name(), &script.sha256, total, total)
                        .await?;
                    ledger
                        .script_progress(database, total, "completed", None)
                        .await?;
                }
                ledger.record_databases(cluster, databases).await?;
                ledger.record_nodes(cluster, nodes).await?;
                progress.done(&change.summary());
            }
            _ => {}
        }
    }
    for change in changes {
        if let Change::RepairMountRecord(repair) = change {
            interrupt::check(&format!("before: {}", change.summary()))?;
            super::mounts::repair(admin, repair, dialect.backslashes).await?;
            progress.done(&change.summary());
        }
    }
    Ok(())
}

/// Run one database or account change on the admin connection. These statements are safe to repeat
/// (`IF NOT EXISTS`, `GRANT`, `ALTER USER`), so after a dropped connection the admin reconnects and sends
/// the statement again; a `REVOKE` that finds its grant already gone has done its work.
async fn run_change(
    conn: &mut MySqlConnection,
    candidates: &[Endpoint],
    change: &Change,
    desired: &DesiredServer,
    dialect: Dialect,
    progress: &Progress,
) -> Result<()> {
    interrupt::check(&format!("before: {}", change.summary()))?;
    if let Change::Revoke { privileges, .. } = change {
        if privileges.contains(super::grants::UNKNOWN_COLUMNS) {
            return Err(Error::failure(format!(
                "{}: the privilege is granted on columns the admin account cannot list",
                change.summary()
            ))
            .with_hint(
                "grant the admin account SELECT on mysql.columns_priv, or revoke it by hand",
            ));
        }
    }
    for statement in sql(change, desired, dialect, Secrets::Real) {
        let mut lost = Retry::CONNECTION_LOST.start();
        loop {
            match conn.execute(sqlx::raw_sql(&statement)).await {
                Ok(_) => break,
                Err(e) if is_transient(&e) && lost.may_retry() => {
                    lost.pause().await;
                    tracing::warn!(
                        "{}: connection lost ({}); reconnecting",
                        change.summary(),
                        crate::redact::redact(&e.to_string())
                    );
                    *conn = members::reconnect(
                        candidates,
                        None,
                        crate::timeouts::get().reconnect,
                        progress,
                    )
                    .await?
                    .1;
                }
                Err(e)
                    if lost.retries() > 0
                        && matches!(change, Change::Revoke { .. })
                        && matches!(mysql_code(&e), Some(1141 | 1147)) =>
                {
                    break
                }
                Err(e) => return Err(statement_error(&e, &change.summary())),
            }
        }
    }
    if let Change::Revoke { .. } = change {
        revoked_for_real(conn, change, desired, dialect).await?;
    }
    progress.done(&change.summary());
    Ok(())
}

/// A revoke is applied only when the server no longer grants what it took away: read the account row's
/// grants again and look for any of the revoked privileges (each column of a column grant apart) still
/// on the target. A `REVOKE` the server accepts but that removes nothing (`REVOKE USAGE`) is an error, not
/// a change reported as applied on every run.
async fn revoked_for_real(
    conn: &mut MySqlConnection,
    change: &Change,
    desired: &DesiredServer,
    dialect: Dialect,
) -> Result<()> {
    let Change::Revoke {
        host,
        privileges,
        grant,
        ..
    } = change
    else {
        return Ok(());
    };
    let now = super::grants::read(conn, &desired.account.name, dialect.backslashes).await?;
    let held = now
        .get(&crate::core::observed::host_key(host))
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let left = crate::core::matching::still_granted(privileges, &grant.target, held);
    if left.is_empty() {
        return Ok(());
    }
    Err(Error::failure(format!(
        "{}: the server accepted the REVOKE but still grants {}",
        change.summary(),
        left.join(", ")
    ))
    .with_hint(
        "nothing was taken away; check the grant with SHOW GRANTS and revoke it by hand, then run eidb verify",
    ))
}

async fn run_scripts(
    endpoint: &Endpoint,
    candidates: &[Endpoint],
    scripts: &[&Change],
    desired: &DesiredServer,
    parallel: usize,
    ledger: Option<&SharedLedger>,
    progress: &Progress,
) -> Result<()> {
    // Concurrent on one task (no spawn): at most `parallel` databases load at once, each on its own connection.
    let loads = scripts
        .iter()
        .map(|change| load_database(endpoint, candidates, change, desired, ledger, progress));
    let outcomes: Vec<Result<()>> = stream::iter(loads)
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    // Every database finished its current script before the first error is reported: stopping them half
    // way would help nobody.
    outcomes.into_iter().collect()
}

async fn load_database(
    endpoint: &Endpoint,
    candidates: &[Endpoint],
    change: &Change,
    desired: &DesiredServer,
    ledger: Option<&SharedLedger>,
    progress: &Progress,
) -> Result<()> {
    let Change::ApplyScript {
        database,
        statements,
        resume_from,
        empty,
        columns,
        ..
    } = change
    else {
        return Ok(());
    };
    let script = &desired.script;
    let started = Instant::now();
    let total = script.statements.len();
    let mut tracked = None;
    if let Some(ledger) = ledger {
        let mut ledger = ledger.lock().await;
        ledger
            .script_started(
                database,
                &script.file_name(),
                &script.sha256,
                total,
                *resume_from,
            )
            .await?;
        tracked = Some(ledger.metadata_db().to_string());
    }
    // An empty database gets each table's indexes and foreign keys inside its CREATE TABLE (built once,
    // not rebuilt per statement); anywhere else every statement runs as written.
    let batches = if *empty {
        fold::fold(&script.statements, statements)
    } else {
        statements
            .iter()
            .map(|&i| fold::Batch {
                sql: script.statements[i].sql.clone(),
                statements: vec![i],
            })
            .collect()
    };
    let mut outcome = run_script(
        endpoint,
        candidates,
        database,
        &batches,
        script,
        tracked.as_deref(),
        progress,
    )
    .await;
    if outcome.is_ok() && !columns.is_empty() {
        // Every statement of the script is done; what is left is bringing columns to its definition.
        outcome = alter_columns(endpoint, database, columns)
            .await
            .map_err(|e| (total, e));
    }
    if let Some(ledger) = ledger {
        let mut ledger = ledger.lock().await;
        match &outcome {
            Ok(()) => {
                ledger
                    .script_progress(database, total, "completed", None)
                    .await?
            }
            Err((done, e)) => {
                // The counter never goes back: statements done before this run stay done. And the
                // script's own error is what the user needs, not a ledger error on top of it.
                let done = (*done).max(*resume_from);
                if let Err(ledger_error) = ledger
                    .script_progress(database, done, "failed", Some(&e.to_string()))
                    .await
                {
                    tracing::warn!(
                        "could not record the failure in the ledger: {}",
                        ledger_error.message
                    );
                }
            }
        }
    }
    outcome.map_err(|(_, e)| e)?;
    progress.done(&format!(
        "{} in {:.1} s",
        change.summary(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Run the selected statements of the script in one database, one statement at a time so a failure names
/// the statement and its line. A script runs on its own connection: a `SET` in it stays in that session.
///
/// Statements whose effect cannot be checked by existence (data such as `INSERT`) run in a transaction
/// together with the ledger's progress counter (`ledger_db`), so a run cut off anywhere neither loses nor
/// repeats them. A dropped connection (server restart, `KILL`) is survived: reconnect, and re-send the
/// statement only if it did not take effect (its object is missing; its progress was not recorded). On
/// failure, returns how many statements of the script (in order) are known complete.
async fn run_script(
    endpoint: &Endpoint,
    candidates: &[Endpoint],
    database: &str,
    batches: &[fold::Batch],
    script: &Dbscript,
    ledger_db: Option<&str>,
    progress: &Progress,
) -> Result<(), (usize, Error)> {
    let mut conn = endpoint.connect(Some(database)).await.map_err(|e| (0, e))?;
    let mut identity = connection_and_server(&mut conn).await.ok();
    let mut session: Vec<&str> = Vec::new();
    for batch in batches {
        let index = batch.statements[0];
        let statement = &script.statements[index];
        let folded = match batch.statements.len() - 1 {
            0 => String::new(),
            n => format!(", with the {n} index/key statement(s) of its table folded in"),
        };
        let place = || {
            format!(
                "database {database}: {}:{} ({}{folded})",
                script.file_name(),
                statement.line,
                statement.sql.lines().next().unwrap_or_default()
            )
        };
        interrupt::check(&format!("before {}", place())).map_err(|e| (index, e))?;
        let counted = ledger_db.filter(|_| statement.object == SchemaObject::Other);
        let mut lost = Retry::CONNECTION_LOST.start();
        let mut rolled_back = Retry::ROLLED_BACK.start();
        let mut resent = false;
        loop {
            let sent = match counted {
                Some(ledger_db) => {
                    run_counted(&mut conn, &batch.sql, ledger_db, database, index + 1).await
                }
                None => conn.execute(sqlx::raw_sql(&batch.sql)).await.map(|_| ()),
            };
            match sent {
                Ok(()) => break,
                // A counted statement's transaction was rolled back by a deadlock (on Galera also by a
                // replicated DDL or a conflicting write elsewhere): nothing of it took effect, send it again.
                Err(e)
                    if counted.is_some() && retry::rolled_back(&e) && rolled_back.may_retry() =>
                {
                    rolled_back.pause().await
                }
                Err(e) if is_transient(&e) && lost.may_retry() => {
                    lost.pause().await;
                    tracing::warn!(
                        "{}: connection lost ({}); reconnecting",
                        place(),
                        crate::redact::redact(&e.to_string())
                    );
                    conn = members::reconnect(
                        candidates,
                        Some(database),
                        crate::timeouts::get().reconnect,
                        progress,
                    )
                    .await
                    .map_err(|e| (index, e))?
                    .1;
                    // The server may still be running the statement of the dropped connection: what it did
                    // is known only once that connection is gone.
                    settle_dropped(&mut conn, identity.take(), database, progress).await;
                    identity = connection_and_server(&mut conn).await.ok();
                    for setting in &session {
                        conn.execute(sqlx::raw_sql(setting))
                            .await
                            .map_err(|e| (index, statement_error(&e, &place())))?;
                    }
                    let done = match counted {
                        Some(ledger_db) => {
                            recorded_progress(&mut conn, ledger_db, database).await > index
                        }
                        None => object_exists_now(&mut conn, database, &statement.object).await,
                    };
                    if done {
                        break;
                    }
                    resent = true;
                }
                // Sent again after a dropped connection and refused because its object exists: the first
                // sending did it after all (the server finished it after the check). Success, not a
                // collision with our own statement.
                Err(e)
                    if resent
                        && matches!(
                            mysql_code(&e),
                            Some(1050 | 1061 | 1068 | 1826 | 1304 | 1359 | 1005)
                        )
                        && object_exists_now(&mut conn, database, &statement.object).await =>
                {
                    break
                }
                Err(e) => return Err((index, statement_error(&e, &place()))),
            }
        }
        if statement.object == SchemaObject::Session {
            session.push(&statement.sql);
        }
    }
    super::connect::close(conn).await;
    Ok(())
}

/// Run a statement and record `done` in the ledger in one transaction (DML commits with the counter;
/// DDL commits implicitly, leaving only the moment between its commit and the counter's).
async fn run_counted(
    conn: &mut MySqlConnection,
    sql: &str,
    ledger_db: &str,
    database: &str,
    done: usize,
) -> Result<(), sqlx::Error> {
    conn.execute(sqlx::raw_sql("START TRANSACTION")).await?;
    let outcome = async {
        conn.execute(sqlx::raw_sql(sql)).await?;
        let update = format!(
            "UPDATE {}.eidb_script SET statements_done = {done} WHERE target_db = {}",
            quote::ident(ledger_db),
            quote::literal(database, Backslashes::Escape)
        );
        conn.execute(sqlx::raw_sql(&update)).await?;
        conn.execute(sqlx::raw_sql("COMMIT")).await.map(|_| ())
    }
    .await;
    if outcome.is_err() {
        let _ = conn.execute(sqlx::raw_sql("ROLLBACK")).await;
    }
    outcome
}

/// The ledger's progress counter of a database's script (0 when unreadable).
async fn recorded_progress(conn: &mut MySqlConnection, ledger_db: &str, database: &str) -> usize {
    let sql = format!(
        "SELECT statements_done FROM {}.eidb_script WHERE target_db = {}",
        quote::ident(ledger_db),
        quote::literal(database, Backslashes::Escape)
    );
    sqlx::raw_sql(&sql)
        .fetch_optional(&mut *conn)
        .await
        .ok()
        .and_then(|row| sqlx::Row::try_get::<i32, _>(&row, 0).ok())
        .map_or(0, |n| n.max(0) as usize)
}

/// After a reconnect: did the statement in flight complete before the connection dropped?
async fn object_exists_now(
    conn: &mut MySqlConnection,
    database: &str,
    object: &SchemaObject,
) -> bool {
    if matches!(
        object,
        SchemaObject::Session | SchemaObject::Other | SchemaObject::Use { .. }
    ) {
        return false;
    }
    match inspect::read(conn, &[database], "", Backslashes::Escape).await {
        Ok(actual) => actual
            .database(database)
            .is_some_and(|db| crate::core::plan::object_exists(object, db)),
        Err(_) => false,
    }
}

/// After a reconnect: make sure the dropped connection's statement is over before anyone checks what it
/// did. A connection whose client went away lives on in the server until it notices (a network drop), and
/// a killed one finishes a DDL statement that is past its last kill check: on the same server, kill it
/// (only if it is still ours: same user, same database) and wait until it has left the process list.
/// On another member (Galera failover) the old member's connections are out of reach and out of the way.
async fn settle_dropped(
    conn: &mut MySqlConnection,
    dropped: Option<(u64, String)>,
    database: &str,
    progress: &Progress,
) {
    let Some((id, server)) = dropped else {
        return;
    };
    match connection_and_server(conn).await {
        Ok((_, here)) if here == server => {}
        _ => return,
    }
    // Not a retry: the process list is looked at every 50 ms, for up to 2 minutes.
    let mut poll =
        Retry::every(Duration::from_millis(50)).within(crate::timeouts::get().dropped_statement);
    let mut killed = false;
    let mut told = false;
    loop {
        let present = sqlx::query(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST
             WHERE ID = ? AND USER = SUBSTRING_INDEX(USER(), '@', 1) AND DB = ?",
        )
        .bind(id)
        .bind(database)
        .fetch_one(&mut *conn)
        .await
        .ok()
        .and_then(|row| sqlx::Row::try_get::<i64, _>(&row, 0).ok());
        if present.unwrap_or(0) == 0 {
            return;
        }
        if !killed {
            // 1094: it ended in the meantime.
            let _ = conn
                .execute(sqlx::raw_sql(&format!("KILL CONNECTION {id}")))
                .await;
            killed = true;
        }
        if !told && poll.elapsed() > Duration::from_secs(2) {
            progress.line(&format!(
                "database {database}: waiting for the server to end the dropped connection {id} (its statement is still running)"
            ));
            told = true;
        }
        if poll.expired() {
            return;
        }
        poll.pause().await;
    }
}

/// Added to the session's `sql_mode` before columns are changed: on a server that is not strict
/// (`sql_mode=''`) an ALTER that narrows a column truncates the rows and succeeds; strict, it is refused.
pub const STRICT_SESSION: &str =
    "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES')";

/// Bring existing columns to the script's definition (`--reapply-changed-script`), on a connection of
/// its own in the database, in strict mode; the first refusal (e.g. data that does not fit) stops it,
/// named.
async fn alter_columns(
    endpoint: &Endpoint,
    database: &str,
    columns: &[crate::core::plan::ColumnDrift],
) -> Result<()> {
    let mut conn = endpoint.connect(Some(database)).await?;
    conn.execute(sqlx::raw_sql(STRICT_SESSION))
        .await
        .map_err(|e| {
            statement_error(
                &e,
                &format!("database {database}: setting strict mode to change columns"),
            )
        })?;
    for column in columns {
        interrupt::check(&format!("before changing {}", column.describe()))?;
        conn.execute(sqlx::raw_sql(&column.sql))
            .await
            .map_err(|e| column_refused(&e, database, column))?;
    }
    super::connect::close(conn).await;
    Ok(())
}

/// A column change the server refused: what does not fit, and what to do about it.
fn column_refused(
    e: &sqlx::Error,
    database: &str,
    column: &crate::core::plan::ColumnDrift,
) -> Error {
    let what = format!(
        "database {database}: {} (`{}`)",
        column.describe(),
        column.sql
    );
    // Data too long (1406), truncated (1265), out of range (1264), incorrect value (1366, 1292), NULL
    // into NOT NULL (1048, 1138, 1263).
    match mysql_code(e) {
        Some(1406 | 1265 | 1264 | 1366 | 1292 | 1048 | 1138 | 1263) => Error::failure(format!(
            "{what}: rows of table {} hold values of column {} that do not fit the new definition; the server \
             refused the change (eidb changes columns in strict mode) and the column and its data are as they \
             were ({})",
            column.table,
            column.column,
            crate::redact::redact(&e.to_string())
        ))
        .with_hint(format!(
            "find the rows that do not fit (e.g. SELECT * FROM `{database}`.`{}` WHERE ...), shorten, convert or \
             remove them, or keep the column's old definition in the dbscript; then run the same command again",
            column.table.replace('`', "``")
        )),
        _ => statement_error(e, &what),
    }
}
