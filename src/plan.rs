//! Desired x Actual -> Plan. A plan is a list of typed changes; `provision` applies it, `--dry-run` prints
//! it and `verify` reports it as drift. An empty plan is the idempotent case.

use std::path::PathBuf;

use serde::Serialize;

use std::collections::{BTreeSet, HashMap};

use crate::desired::{DesiredDatabase, DesiredServer};
use crate::mysql::columns::ScriptColumns;
use crate::mysql::dbscript::Dbscript;
use crate::mysql::inspect::{key, Actual, ActualDatabase, ActualGrant, GrantTarget};
use crate::mysql::ledger::ScriptRecord;
use crate::mysql::quote;
use crate::mysql::script::{SchemaObject, Statement};

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    CreateDatabase {
        database: String,
        charset: String,
    },
    /// Run these statements of the dbscript (script order) in `database`.
    ApplyScript {
        database: String,
        script: String,
        /// Indexes into the script's statements.
        #[serde(skip)]
        statements: Vec<usize>,
        /// What the statements create that is missing now, e.g. "table REG_LOG".
        missing: Vec<String>,
        total: usize,
        /// How many statements (in order) are known done before this run: 0 for an empty database, the
        /// ledger's count when an interrupted run is resumed, all of them when a complete script is only
        /// repaired (its data statements must never run again).
        resume_from: usize,
        /// The database holds none of the script's objects: the whole script runs, and may be folded.
        empty: bool,
        /// Columns of existing tables brought to the script's definition (`--reapply-changed-script`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        columns: Vec<ColumnDrift>,
    },
    CreateAccount {
        account: String,
        host: String,
        auth_plugin: Option<String>,
        reason: Option<String>,
    },
    /// The account exists but its password or plugin is not what the spec says.
    AlterAccount {
        account: String,
        host: String,
        auth_plugin: Option<String>,
        reason: String,
    },
    Grant {
        account: String,
        host: String,
        /// `ALL PRIVILEGES` or a list.
        privileges: String,
        database: String,
    },
    Revoke {
        account: String,
        host: String,
        privileges: String,
        target: String,
        #[serde(skip)]
        grant: ActualGrant,
    },
    EditFile {
        node: String,
        file: PathBuf,
        /// Unified diff with passwords masked.
        diff: String,
        #[serde(skip)]
        before: Vec<u8>,
        #[serde(skip)]
        after: Vec<u8>,
    },
}

impl Change {
    /// One line for people: what and where.
    pub fn summary(&self) -> String {
        match self {
            Change::CreateDatabase { database, charset } => {
                format!("create database {database} (charset {charset})")
            }
            Change::ApplyScript {
                database,
                script,
                statements,
                total,
                missing,
                ..
            } => {
                if statements.len() == *total {
                    format!("run {script} in {database} ({total} statements)")
                } else if statements.is_empty() {
                    format!("bring {database} up to {script}: {}", missing.join(", "))
                } else {
                    format!(
                        "run {} of {total} statements of {script} in {database} (missing: {})",
                        statements.len(),
                        missing.join(", ")
                    )
                }
            }
            Change::CreateAccount {
                account,
                auth_plugin,
                ..
            } => match auth_plugin {
                Some(plugin) => format!("create account {account} identified with {plugin}"),
                None => format!("create account {account}"),
            },
            Change::AlterAccount {
                account, reason, ..
            } => format!("alter account {account}: {reason}"),
            Change::Grant {
                account,
                database,
                privileges,
                ..
            } => {
                format!(
                    "grant {} on {database}.* to {account}",
                    privileges.to_ascii_lowercase()
                )
            }
            Change::Revoke {
                account,
                privileges,
                target,
                ..
            } => format!("revoke {privileges} on {target} from {account}"),
            Change::EditFile { file, .. } => format!("edit {}", file.display()),
        }
    }

    /// Where the change belongs, for grouping output: a database, the account, or a node.
    pub fn subject(&self) -> String {
        match self {
            Change::CreateDatabase { database, .. } | Change::ApplyScript { database, .. } => {
                format!("database {database}")
            }
            Change::CreateAccount { account, .. }
            | Change::AlterAccount { account, .. }
            | Change::Grant { account, .. }
            | Change::Revoke { account, .. } => format!("account {account}"),
            Change::EditFile { node, .. } => format!("node {node}"),
        }
    }
}

/// Something the plan will not change by itself: it needs a person to decide.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    pub subject: String,
    pub expected: String,
    pub found: String,
    pub fix: String,
}

/// A column of a script table that is not what the script defines: missing, or another type,
/// nullability or default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnDrift {
    pub database: String,
    pub table: String,
    pub column: String,
    /// As the server makes the script's definition: `varchar(64) NOT NULL`.
    pub expected: String,
    /// As it is; `None` when the column is missing.
    pub found: Option<String>,
    /// The statement that makes it the script's: `ALTER TABLE ... ADD|MODIFY COLUMN <definition>`.
    pub sql: String,
}

impl ColumnDrift {
    pub fn describe(&self) -> String {
        match &self.found {
            Some(found) => format!(
                "column {}.{} ({found} -> {})",
                self.table, self.column, self.expected
            ),
            None => format!("column {}.{} (missing)", self.table, self.column),
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub conflicts: Vec<Conflict>,
    /// Column differences not changed by this plan (without `--reapply-changed-script`): verify reports
    /// them as drift, provision as warnings.
    pub columns: Vec<ColumnDrift>,
    /// Problems outside what eidb changes, which do not stop a run: verify reports them as findings,
    /// provision as warnings.
    pub notices: Vec<Conflict>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.conflicts.is_empty() && self.columns.is_empty()
    }
}

/// Whether the account can log in with the spec's password (checked by connecting as it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Works,
    /// The password is refused.
    Fails,
    /// The password works, but not the way the nodes connect (their host, port and TLS): the reason.
    RefusedToNodes(String),
    /// Not tried: the account does not exist, or the check was not possible from here.
    Unknown,
}

/// What `missing` says when a database holds none of the script's objects.
const EVERYTHING: &str = "everything";

/// What the ledger knows, and whether the user asked to re-apply a changed script.
#[derive(Debug, Default)]
pub struct History<'a> {
    pub scripts: HashMap<String, ScriptRecord>,
    pub reapply_changed_script: bool,
    pub metadata_db: &'a str,
    /// The script tables' columns as the server makes them (none: columns are not compared).
    pub columns: Option<&'a ScriptColumns>,
}

/// The server half of the plan.
pub fn server(
    desired: &DesiredServer,
    actual: &Actual,
    login: Login,
    history: &History<'_>,
) -> Plan {
    let mut plan = Plan::default();
    let script = &desired.script;
    for database in &desired.databases {
        let record = history.scripts.get(&key(&database.name));
        match actual.database(&database.name) {
            None => {
                plan.changes.push(Change::CreateDatabase {
                    database: database.name.clone(),
                    charset: desired.charset.clone(),
                });
                plan.changes
                    .push(apply_script(database, script, None, None));
            }
            Some(existing) => {
                if !existing.charset.eq_ignore_ascii_case(&desired.charset) {
                    plan.conflicts
                        .push(charset_conflict(database, existing, &desired.charset));
                }
                plan.conflicts.extend(table_charset_conflicts(
                    database,
                    existing,
                    script,
                    &desired.charset,
                ));
                let drift = history
                    .columns
                    .map(|columns| column_drift(&database.name, columns, existing))
                    .unwrap_or_default();
                let changed = record.filter(|r| r.sha256 != script.sha256);
                if !history.reapply_changed_script {
                    plan.columns.extend(drift.iter().cloned());
                }
                if let (Some(record), false) = (changed, history.reapply_changed_script) {
                    plan.conflicts.push(Conflict {
                        subject: format!("database {}", database.name),
                        expected: format!("{} with SHA-256 {}", script.file_name(), short(&script.sha256)),
                        found: format!(
                            "{} with SHA-256 {} was applied ({}), per the ledger in {}",
                            record.script_name,
                            short(&record.sha256),
                            record.outcome,
                            history.metadata_db
                        ),
                        fix: "the dbscript changed since it was applied: check what changed, then run provision with \
                              --reapply-changed-script to create what the new version adds"
                            .to_string(),
                    });
                    continue;
                }
                // The same script, cut off earlier: its statements that create nothing checkable resume from
                // where the ledger says it stopped.
                let resume_from = record
                    .filter(|r| r.sha256 == script.sha256 && !r.completed())
                    .map(|r| r.done);
                let mut change = apply_script(database, script, Some(existing), resume_from);
                if let Change::ApplyScript {
                    statements,
                    missing,
                    columns,
                    ..
                } = &mut change
                {
                    if history.reapply_changed_script {
                        missing.extend(drift.iter().map(ColumnDrift::describe));
                        *columns = drift;
                    }
                    if let (Some(record), true) = (changed, history.reapply_changed_script) {
                        // Whatever had to be done for it, the ledger must say the new version is applied.
                        missing.push(format!(
                            "the ledger's record of the changed script (SHA-256 {} -> {})",
                            short(&record.sha256),
                            short(&script.sha256)
                        ));
                    }
                    if statements.is_empty() && resume_from.is_some() {
                        // Cut off after its last object: nothing to run, but the ledger must say it completed.
                        missing.push(
                            "the ledger's record that the interrupted run completed".to_string(),
                        );
                    }
                    if !missing.is_empty() {
                        plan.changes.push(change);
                    }
                }
            }
        }
    }
    if let Login::RefusedToNodes(reason) = &login {
        plan.notices.push(Conflict {
            subject: format!("account '{}'", desired.account.name),
            expected: "the account logs in the way the nodes' JDBC URLs say (host, port, useSSL)".to_string(),
            found: format!("refused that way, while the admin's way works: {reason}"),
            fix: "if the server requires TLS, set jdbc.use_ssl = true in the spec; check server.jdbc_host/jdbc_port".to_string(),
        });
    }
    for host in &desired.account.hosts {
        account_changes(&mut plan, desired, actual, host, &login);
    }
    plan
}

/// The changes one account row (`name@host`) needs: exist, log in, hold exactly the wanted grants.
fn account_changes(
    plan: &mut Plan,
    desired: &DesiredServer,
    actual: &Actual,
    host: &str,
    login: &Login,
) {
    let account = &desired.account;
    let name = account.display(host);
    let existing = actual.accounts.get(host);
    match existing {
        None => plan.changes.push(Change::CreateAccount {
            account: name.clone(),
            host: host.to_string(),
            auth_plugin: account.auth_plugin.clone(),
            reason: account.auth_plugin_reason.clone(),
        }),
        Some(existing) => {
            let wrong_plugin = account
                .auth_plugin
                .as_ref()
                .filter(|p| !p.eq_ignore_ascii_case(&existing.plugin));
            if let Some(plugin) = wrong_plugin {
                plan.changes.push(Change::AlterAccount {
                    account: name.clone(),
                    host: host.to_string(),
                    auth_plugin: Some(plugin.clone()),
                    reason: format!(
                        "it uses {} but needs {plugin} ({})",
                        existing.plugin,
                        account.auth_plugin_reason.as_deref().unwrap_or("spec")
                    ),
                });
            } else if *login == Login::Fails {
                plan.changes.push(Change::AlterAccount {
                    account: name.clone(),
                    host: host.to_string(),
                    auth_plugin: account.auth_plugin.clone(),
                    reason:
                        "it cannot log in with the configured password (provision sets it again)"
                            .to_string(),
                });
            }
        }
    }
    let grants: &[ActualGrant] = existing.map(|a| a.grants.as_slice()).unwrap_or(&[]);
    let wanted: BTreeSet<String> = account.privileges.iter().cloned().collect();
    for database in &desired.databases {
        let pattern = quote::grant_pattern(&database.name, desired.partial_revokes);
        let on_db: Vec<&ActualGrant> = grants
            .iter()
            .filter(|g| matches!(&g.target, GrantTarget::Database(db) if db == &pattern))
            .collect();
        let have: BTreeSet<String> = on_db.iter().flat_map(|g| g.privilege_names()).collect();
        let has_all = have.contains("ALL PRIVILEGES");
        let (missing, extra): (Vec<String>, Vec<String>) = if account.wants_all_privileges() {
            (
                if has_all {
                    vec![]
                } else {
                    vec!["ALL PRIVILEGES".to_string()]
                },
                vec![],
            )
        } else if has_all {
            // ALL is more than wanted: take it away and grant the set.
            (
                wanted.iter().cloned().collect(),
                vec!["ALL PRIVILEGES".to_string()],
            )
        } else {
            (
                wanted.difference(&have).cloned().collect(),
                have.difference(&wanted).cloned().collect(),
            )
        };
        let grant_option = on_db.iter().any(|g| g.with_grant_option);
        if !extra.is_empty() || grant_option {
            let mut privileges = extra.join(", ");
            if grant_option {
                // Keep the privileges on our own database; take away the right to pass them on.
                privileges = if privileges.is_empty() {
                    "GRANT OPTION".to_string()
                } else {
                    format!("{privileges}, GRANT OPTION")
                };
            }
            plan.changes.push(Change::Revoke {
                account: name.clone(),
                host: host.to_string(),
                privileges,
                target: describe_target(&GrantTarget::Database(pattern.clone())),
                grant: ActualGrant {
                    privileges: String::new(),
                    target: GrantTarget::Database(pattern.clone()),
                    with_grant_option: grant_option,
                },
            });
        }
        if !missing.is_empty() {
            plan.changes.push(Change::Grant {
                account: name.clone(),
                host: host.to_string(),
                privileges: missing.join(", "),
                database: database.name.clone(),
            });
        }
    }
    for grant in grants.iter().filter(|g| !is_ours_or_usage(g, desired)) {
        let privileges = if grant.with_grant_option {
            format!("{}, GRANT OPTION", grant.privileges)
        } else {
            grant.privileges.clone()
        };
        plan.changes.push(Change::Revoke {
            account: name.clone(),
            host: host.to_string(),
            privileges,
            target: describe_target(&grant.target),
            grant: grant.clone(),
        });
    }
}

/// Grants on the provisioned databases (compared privilege by privilege) and the `USAGE` every account
/// has; anything else the account holds is revoked.
fn is_ours_or_usage(grant: &ActualGrant, desired: &DesiredServer) -> bool {
    grant.is_usage()
        || matches!(&grant.target, GrantTarget::Database(db)
            if desired.databases.iter().any(|d| &quote::grant_pattern(&d.name, desired.partial_revokes) == db))
}

/// A grant pattern with an unescaped `_` or `%`.
fn is_wildcard(pattern: &str) -> bool {
    let mut escaped = false;
    for c in pattern.chars() {
        match (escaped, c) {
            (false, '\\') => escaped = true,
            (false, '_' | '%') => return true,
            _ => escaped = false,
        }
    }
    false
}

pub fn describe_target(target: &GrantTarget) -> String {
    match target {
        GrantTarget::Global => "*.*".to_string(),
        // Our grants are on escaped patterns (exactly one database): shown as the database's name. A grant on
        // a pattern with bare `_` or `%` also matches other databases, and says so.
        GrantTarget::Database(pattern) if is_wildcard(pattern) => {
            format!("{pattern}.* (a wildcard pattern)")
        }
        GrantTarget::Database(pattern) => {
            format!("{}.*", quote::unescape_grant_pattern(pattern))
        }
        GrantTarget::Table(db, table) => format!("{db}.{table}"),
        GrantTarget::Routine(routine) => routine.clone(),
        GrantTarget::Other(other) => other.clone(),
    }
}

fn charset_conflict(
    database: &DesiredDatabase,
    existing: &ActualDatabase,
    wanted: &str,
) -> Conflict {
    Conflict {
        subject: format!("database {}", database.name),
        expected: format!("charset {wanted}"),
        found: format!("charset {}", existing.charset),
        fix: format!(
            "eidb never converts a database: drop {db} if it holds nothing you need, or run \
             `ALTER DATABASE {db} CHARACTER SET {wanted}` (changes the default for new tables only; check its tables too); \
             if every database is meant to be {found}, set databases.charset = \"{found}\" in the spec",
            db = database.name,
            found = existing.charset
        ),
    }
}

/// Tables of the script whose charset differs from the database's wanted one: eidb never converts data.
fn table_charset_conflicts(
    database: &DesiredDatabase,
    existing: &ActualDatabase,
    script: &Dbscript,
    wanted: &str,
) -> Vec<Conflict> {
    script
        .statements
        .iter()
        .filter_map(|statement| match &statement.object {
            SchemaObject::Table { name } => existing.tables.get(&key(name)),
            _ => None,
        })
        .filter(|table| !table.charset.is_empty() && !table.charset.eq_ignore_ascii_case(wanted))
        .map(|table| Conflict {
            subject: format!("database {}", database.name),
            expected: format!("table {} in charset {wanted}", table.name),
            found: format!("table {} in charset {}", table.name, table.charset),
            fix: format!(
                "eidb never converts data: `ALTER TABLE {}.{} CONVERT TO CHARACTER SET {wanted}` after checking that its \
                 index keys fit, or drop the table and run provision to create it again",
                database.name, table.name
            ),
        })
        .collect()
}

/// The statements of the script still needed in a database. On a database that holds none of the script's
/// objects, all of them. Otherwise each statement that creates a table, index, constraint, routine, trigger
/// or view runs only if that object is missing; session settings (`SET ...`) run along when anything runs;
/// other statements (data, drops) cannot be checked by existence and are not repeated.
///
/// `resume_from`: the ledger says this script was cut off after that many statements; the unguardable
/// statements from there on run again (guardable ones are decided by existence, as always).
pub fn statements_to_run(
    statements: &[Statement],
    existing: Option<&ActualDatabase>,
    resume_from: Option<usize>,
) -> (Vec<usize>, Vec<String>) {
    let Some(db) = existing.filter(|db| statements.iter().any(|s| object_exists(&s.object, db)))
    else {
        let all = (0..statements.len()).collect();
        return (all, vec![EVERYTHING.to_string()]);
    };
    let mut selected = Vec::new();
    let mut missing = Vec::new();
    for (i, statement) in statements.iter().enumerate() {
        if is_guardable(&statement.object) && !object_exists(&statement.object, db) {
            selected.push(i);
            missing.push(describe_object(&statement.object));
        } else if statement.object == SchemaObject::Other
            && resume_from.is_some_and(|done| i >= done)
        {
            selected.push(i);
            missing.push(format!("statement at line {} (resumed)", statement.line));
        }
    }
    if !selected.is_empty() {
        let sessions = statements
            .iter()
            .enumerate()
            .filter(|(_, s)| s.object == SchemaObject::Session)
            .map(|(i, _)| i);
        selected.extend(sessions);
        selected.sort_unstable();
    }
    (selected, missing)
}

fn apply_script(
    database: &DesiredDatabase,
    script: &Dbscript,
    existing: Option<&ActualDatabase>,
    resume_from: Option<usize>,
) -> Change {
    let (selected, missing) = statements_to_run(&script.statements, existing, resume_from);
    let missing_everything = missing == [EVERYTHING];
    Change::ApplyScript {
        database: database.name.clone(),
        script: script.file_name(),
        statements: selected,
        missing,
        total: script.statements.len(),
        resume_from: match resume_from {
            Some(done) => done,
            None if missing_everything => 0,
            None => script.statements.len(),
        },
        empty: missing_everything,
        columns: Vec::new(),
    }
}

/// The columns of the script's tables in `existing` that differ from the script's definition.
fn column_drift(
    database: &str,
    columns: &ScriptColumns,
    existing: &ActualDatabase,
) -> Vec<ColumnDrift> {
    let mut drift = Vec::new();
    let mut tables: Vec<&String> = columns.keys().collect();
    tables.sort();
    for table_key in tables {
        let (table, wanted) = &columns[table_key];
        if !existing.tables.contains_key(table_key) {
            continue;
        }
        for column in wanted {
            let found = existing
                .columns
                .get(&(table_key.clone(), key(&column.name)));
            if found == Some(&column.shape) {
                continue;
            }
            let verb = if found.is_some() { "MODIFY" } else { "ADD" };
            drift.push(ColumnDrift {
                database: database.to_string(),
                table: table.clone(),
                column: column.name.clone(),
                expected: column.shape.describe(),
                found: found.map(|f| f.describe()),
                sql: format!(
                    "ALTER TABLE {} {verb} COLUMN {}",
                    quote::ident(table),
                    column.definition
                ),
            });
        }
    }
    drift
}

fn short(sha256: &str) -> &str {
    &sha256[..sha256.len().min(12)]
}

fn is_guardable(object: &SchemaObject) -> bool {
    !matches!(
        object,
        SchemaObject::Session | SchemaObject::Other | SchemaObject::Use { .. }
    )
}

pub fn object_exists(object: &SchemaObject, db: &ActualDatabase) -> bool {
    match object {
        SchemaObject::Table { name } => db.has_table(name),
        SchemaObject::Index { table, name } => db.indexes.contains(&(key(table), key(name))),
        SchemaObject::Constraint { table, name } => {
            db.constraints.contains(&(key(table), key(name)))
        }
        SchemaObject::Routine { name, .. } => db.routines.contains(&key(name)),
        SchemaObject::Trigger { name } => db.triggers.contains(&key(name)),
        SchemaObject::View { name } => db.views.contains(&key(name)),
        SchemaObject::Session | SchemaObject::Other | SchemaObject::Use { .. } => false,
    }
}

pub fn describe_object(object: &SchemaObject) -> String {
    match object {
        SchemaObject::Table { name } => format!("table {name}"),
        SchemaObject::Index { table, name } => format!("index {table}.{name}"),
        SchemaObject::Constraint { table, name } => format!("constraint {table}.{name}"),
        SchemaObject::Routine { name, .. } => format!("routine {name}"),
        SchemaObject::Trigger { name } => format!("trigger {name}"),
        SchemaObject::View { name } => format!("view {name}"),
        SchemaObject::Session => "session setting".to_string(),
        SchemaObject::Use { database } => format!("USE {database}"),
        SchemaObject::Other => "statement".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(object: SchemaObject) -> Statement {
        Statement {
            sql: String::new(),
            line: 1,
            object,
        }
    }

    fn db_with(tables: &[&str], indexes: &[(&str, &str)]) -> ActualDatabase {
        let mut db = ActualDatabase {
            name: "D".into(),
            charset: "latin1".into(),
            ..Default::default()
        };
        for t in tables {
            db.tables.insert(key(t), Default::default());
        }
        for (t, i) in indexes {
            db.indexes.insert((key(t), key(i)));
        }
        db
    }

    fn script() -> Vec<Statement> {
        vec![
            stmt(SchemaObject::Session),
            stmt(SchemaObject::Table { name: "A".into() }),
            stmt(SchemaObject::Index {
                table: "A".into(),
                name: "A_IX".into(),
            }),
            stmt(SchemaObject::Table { name: "B".into() }),
            stmt(SchemaObject::Other),
        ]
    }

    #[test]
    fn fresh_database_runs_everything() {
        let (run, _) = statements_to_run(&script(), None, None);
        assert_eq!(run, [0, 1, 2, 3, 4]);
        let (run, _) = statements_to_run(&script(), Some(&db_with(&["UNRELATED"], &[])), None);
        assert_eq!(run, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn complete_database_runs_nothing() {
        let (run, missing) = statements_to_run(
            &script(),
            Some(&db_with(&["a", "B"], &[("A", "a_ix")])),
            None,
        );
        assert!(run.is_empty(), "{run:?}");
        assert!(missing.is_empty());
    }

    #[test]
    fn dropped_table_is_recreated_with_its_index_and_session_settings() {
        let (run, missing) = statements_to_run(&script(), Some(&db_with(&["B"], &[])), None);
        assert_eq!(run, [0, 1, 2]);
        assert_eq!(missing, ["table A", "index A.A_IX"]);
    }

    #[test]
    fn a_cut_off_run_resumes_its_unguardable_statements() {
        let complete = db_with(&["a", "B"], &[("A", "a_ix")]);
        let (run, _) = statements_to_run(&script(), Some(&complete), Some(4));
        assert_eq!(
            run,
            [0, 4],
            "the INSERT-like statement at index 4 was not done yet"
        );
        let (run, _) = statements_to_run(&script(), Some(&complete), Some(5));
        assert!(run.is_empty());
    }
}
