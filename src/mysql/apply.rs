//! Turning the server changes of a plan into SQL, for showing (`--dry-run`, passwords masked) and for
//! running (databases' scripts concurrently, each on its own connection).

use std::sync::Arc;
use std::time::Instant;

use secrecy::ExposeSecret;
use sqlx::{Executor, MySqlConnection};
use tokio::sync::Semaphore;

use super::connect::{statement_error, Endpoint};
use super::facts::{Flavour, ServerFacts};
use super::quote::{self, Backslashes};
use crate::desired::DesiredServer;
use crate::error::{Error, Result};
use crate::mysql::dbscript::Dbscript;
use crate::mysql::inspect::GrantTarget;
use crate::plan::Change;
use crate::progress::Progress;

/// What shapes the SQL eidb writes for this server and session.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    pub flavour: Flavour,
    pub backslashes: Backslashes,
    pub partial_revokes: bool,
}

impl Dialect {
    pub fn new(facts: &ServerFacts, session_sql_mode: &str) -> Dialect {
        Dialect {
            flavour: facts.flavour,
            backslashes: Backslashes::from_sql_mode(session_sql_mode),
            partial_revokes: facts.partial_revokes,
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
pub fn sql(change: &Change, desired: &DesiredServer, dialect: Dialect, secrets: Secrets) -> Vec<String> {
    let account = &desired.account;
    let who = quote::account(&account.name, &account.host, dialect.backslashes);
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
            vec![format!("CREATE DATABASE IF NOT EXISTS {} CHARACTER SET {charset}", quote::ident(database))]
        }
        Change::CreateAccount { auth_plugin, .. } => {
            vec![format!("CREATE USER IF NOT EXISTS {who} {}", identified(auth_plugin))]
        }
        Change::AlterAccount { auth_plugin, .. } => vec![format!("ALTER USER {who} {}", identified(auth_plugin))],
        Change::Grant { database, .. } => vec![format!(
            "GRANT ALL PRIVILEGES ON {}.* TO {who}",
            quote::grant_database(database, dialect.partial_revokes)
        )],
        Change::Revoke { privileges, grant, .. } => {
            let target = match &grant.target {
                GrantTarget::Global => "*.*".to_string(),
                GrantTarget::Database(db) => format!("{}.*", quote::grant_database(db, dialect.partial_revokes)),
                GrantTarget::Table(db, table) => format!("{}.{}", quote::ident(db), quote::ident(table)),
                GrantTarget::Other(role) => return vec![format!("REVOKE {role} FROM {who}")],
            };
            vec![format!("REVOKE {privileges} ON {target} FROM {who}")]
        }
        Change::ApplyScript { .. } | Change::EditFile { .. } => Vec::new(),
    }
}

/// The statements of a script change, as they will be sent.
pub fn script_sql<'a>(change: &Change, desired: &'a DesiredServer) -> Vec<&'a crate::mysql::script::Statement> {
    match change {
        Change::ApplyScript { statements, .. } => statements.iter().map(|&i| &desired.script.statements[i]).collect(),
        _ => Vec::new(),
    }
}

/// Apply the server changes: databases first, then every script concurrently (at most `parallel`
/// connections), then the account and its grants.
pub async fn apply(
    admin: &mut MySqlConnection,
    endpoint: &Endpoint,
    changes: &[Change],
    desired: &DesiredServer,
    dialect: Dialect,
    parallel: usize,
    progress: &Progress,
) -> Result<()> {
    for change in changes.iter().filter(|c| matches!(c, Change::CreateDatabase { .. })) {
        run_change(admin, change, desired, dialect, progress).await?;
    }
    let scripts: Vec<&Change> = changes.iter().filter(|c| matches!(c, Change::ApplyScript { .. })).collect();
    run_scripts(endpoint, &scripts, desired, parallel, progress).await?;
    for change in changes.iter().filter(|c| {
        matches!(c, Change::CreateAccount { .. } | Change::AlterAccount { .. } | Change::Grant { .. } | Change::Revoke { .. })
    }) {
        run_change(admin, change, desired, dialect, progress).await?;
    }
    Ok(())
}

async fn run_change(conn: &mut MySqlConnection, change: &Change, desired: &DesiredServer, dialect: Dialect, progress: &Progress) -> Result<()> {
    for statement in sql(change, desired, dialect, Secrets::Real) {
        sqlx::raw_sql(&statement)
            .execute(&mut *conn)
            .await
            .map_err(|e| statement_error(&e, &change.summary()))?;
    }
    progress.done(&change.summary());
    Ok(())
}

async fn run_scripts(endpoint: &Endpoint, scripts: &[&Change], desired: &DesiredServer, parallel: usize, progress: &Progress) -> Result<()> {
    let permits = Arc::new(Semaphore::new(parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for change in scripts {
        let Change::ApplyScript { database, statements, .. } = change else { continue };
        let (endpoint, database, statements) = (endpoint.clone(), database.clone(), statements.clone());
        let (script, permits, progress, summary) = (desired.script.clone(), permits.clone(), progress.clone(), change.summary());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.map_err(|_| Error::failure("interrupted"))?;
            let started = Instant::now();
            run_script(&endpoint, &database, &statements, &script).await?;
            progress.done(&format!("{summary} in {:.1} s", started.elapsed().as_secs_f64()));
            Ok::<(), Error>(())
        });
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined.unwrap_or_else(|e| Err(Error::failure(format!("a script task failed: {e}"))));
        if let Err(e) = outcome {
            // Let the other databases finish their current script: stopping them half way helps nobody.
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Run the selected statements of the script in one database, one statement at a time so a failure names
/// the statement and its line. A script runs on its own connection: a `SET` in it stays in that session.
async fn run_script(endpoint: &Endpoint, database: &str, statements: &[usize], script: &Dbscript) -> Result<()> {
    let mut conn = endpoint.connect(Some(database)).await?;
    for &index in statements {
        let statement = &script.statements[index];
        conn.execute(sqlx::raw_sql(&statement.sql)).await.map_err(|e| {
            let head = statement.sql.lines().next().unwrap_or_default();
            statement_error(&e, &format!("database {database}: {}:{} ({head})", script.file_name(), statement.line))
        })?;
    }
    Ok(())
}
