//! Desired x Actual -> Plan. A plan is a list of typed changes; `provision` applies it, `--dry-run` prints
//! it and `verify` reports it as drift. An empty plan is the idempotent case.

use crate::check::Check;
use std::path::PathBuf;

use serde::Serialize;

use std::collections::{BTreeSet, HashMap};

use crate::dbscript::Dbscript;
use crate::desired::{DesiredDatabase, DesiredServer};
use crate::drift::{Difference, Finding};
use crate::matching::{self, NameRules, PatternMatch};
use crate::node_files::Datasource;
use crate::observed::ScriptRecord;
use crate::observed::{host_key, key, Actual, ActualDatabase, ActualGrant, GrantTarget};
use crate::sql::columns::{self, ScriptColumns};
use crate::sql::quote;
use crate::sql::script::{SchemaObject, Statement};

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
        /// The grant pattern to grant on: the one the account already has for this database (as the server
        /// stores it, so the privileges join that row), else the escaped name.
        #[serde(skip)]
        pattern: String,
    },
    Revoke {
        account: String,
        host: String,
        privileges: String,
        target: String,
        #[serde(skip)]
        grant: ActualGrant,
    },
    /// Remove an account row that an earlier spec of this cluster created and the spec no longer names.
    DropAccount {
        account: String,
        host: String,
        reason: String,
    },
    /// Record in the ledger that this cluster manages these databases, which local registry each node
    /// uses, and forget the records of renamed nodes' old names.
    RecordOwnership {
        cluster: String,
        databases: Vec<String>,
        nodes: Vec<(String, String)>,
        forget_nodes: Vec<String>,
        /// Databases that hold the whole script without a ledger record of it: recorded as completed.
        script_baselines: Vec<String>,
    },
    EditFile {
        node: String,
        file: PathBuf,
        /// Datasources whose URL would name another existing database than the node uses now, e.g.
        /// `jdbc/WSO2CarbonDB: REGISTRY_LOCAL1 -> REGISTRY_LOCAL2`: the node would leave its data behind.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        repoints: Vec<Repoint>,
        /// Each owned value the edit puts right (what verify reports): the edit's own comparison.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        differences: Vec<Difference>,
        /// Unified diff with passwords masked.
        diff: String,
        #[serde(skip)]
        before: Vec<u8>,
        #[serde(skip)]
        after: Vec<u8>,
        /// The file's mode changes too (a plaintext password must not be readable by other users).
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<ModeChange>,
        /// The one-time backup of `before`, when one is made, is not readable by other users: `before`
        /// holds a real password in plain text.
        #[serde(skip)]
        private_backup: bool,
        /// The edit writes the account's password (a datasource's `<password>`, a Secure Vault entry):
        /// it is right only together with the account's password change, held back and applied with it.
        #[serde(skip)]
        carries_password: bool,
        /// Nodes whose files use, now, the database this edit points the node at: the edit waits for
        /// theirs (which move them away), so that two nodes never share a local registry.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        takes_over_from: Vec<String>,
    },
    /// Rewrite a node's stale mount record in its local registry (see `crate::mounts`).
    RepairMountRecord(crate::mounts::RepairMountRecord),
    /// `--files-only` with a password the server refuses: the account's password change is not this
    /// run's to make (no admin access), so the file edits that write the new password wait for it. It
    /// changes nothing itself; with `--allow-destructive` the files are written all the same.
    AwaitAccountPassword {
        account: String,
        reason: String,
    },
    /// `--files-only` with a mount target change: the node's mount records (in its local registry) are not
    /// read without admin access, so the registry.xml edit that moves the mount waits with this. It changes
    /// nothing itself.
    CheckMountRecords {
        node: String,
        reason: String,
    },
}

/// A file's permission bits, before and after, and why they change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModeChange {
    #[serde(serialize_with = "octal")]
    pub from: u32,
    #[serde(serialize_with = "octal")]
    pub to: u32,
    pub reason: String,
    /// What in the file is a password in plain text (datasource names or property keys).
    #[serde(skip)]
    pub holders: Vec<String>,
}

fn octal<S: serde::Serializer>(mode: &u32, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("{mode:04o}"))
}

impl Change {
    /// One line for people: what and where.
    pub fn summary(&self) -> String {
        match self {
            Change::CheckMountRecords { node, .. } => {
                format!("check node {node}'s mount records before its mount target moves")
            }
            Change::AwaitAccountPassword { account, .. } => {
                format!("wait until the server takes the spec's password for account {account}")
            }
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
            Change::DropAccount { account, .. } => format!("drop account row {account}"),
            Change::RecordOwnership {
                cluster,
                databases,
                nodes,
                forget_nodes,
                script_baselines,
            } => {
                let mut parts = Vec::new();
                if !databases.is_empty() {
                    parts.push(format!(
                        "cluster {cluster} manages {}",
                        databases.join(", ")
                    ));
                }
                if !nodes.is_empty() {
                    let list: Vec<String> =
                        nodes.iter().map(|(n, d)| format!("{n} uses {d}")).collect();
                    parts.push(list.join(", "));
                }
                if !forget_nodes.is_empty() {
                    parts.push(format!("{} renamed", forget_nodes.join(", ")));
                }
                if !script_baselines.is_empty() {
                    parts.push(format!(
                        "the dbscript as the baseline of {}",
                        script_baselines.join(", ")
                    ));
                }
                format!("record in the ledger: {}", parts.join("; "))
            }
            Change::EditFile {
                file,
                mode,
                before,
                after,
                ..
            } => match mode {
                Some(m) if before == after => format!(
                    "set the mode of {} from {:04o} to {:04o}: {}",
                    file.display(),
                    m.from,
                    m.to,
                    m.reason
                ),
                Some(m) => format!(
                    "edit {}, mode {:04o} -> {:04o}: {}",
                    file.display(),
                    m.from,
                    m.to,
                    m.reason
                ),
                None => format!("edit {}", file.display()),
            },
            Change::RepairMountRecord(repair) => repair.summary(),
        }
    }

    /// Why the change is destructive (it removes access or data, or changes what a working node or
    /// client uses), or `None` for an additive one. Destructive changes are applied only with
    /// `--allow-destructive`.
    pub fn destructive(&self) -> Option<String> {
        match self {
            Change::Revoke { .. } => Some(
                "takes privileges away from an existing account; whatever uses them stops working"
                    .to_string(),
            ),
            Change::AlterAccount { .. } => Some(
                "changes the password or plugin of an existing account; whatever logs in with the current \
                 password is locked out"
                    .to_string(),
            ),
            Change::DropAccount { .. } => Some(
                "removes an account row; clients that log in through it are refused".to_string(),
            ),
            Change::AwaitAccountPassword { reason, .. } | Change::CheckMountRecords { reason, .. } => {
                Some(reason.clone())
            }
            Change::EditFile { repoints, .. } if !repoints.is_empty() => {
                let list: Vec<String> = repoints.iter().map(Repoint::to_string).collect();
                Some(format!(
                    "points the node at another database than the one it uses now ({}); it would leave its data behind",
                    list.join("; ")
                ))
            }
            Change::ApplyScript { columns, .. }
                if columns.iter().any(|c| c.loses_data.is_some()) =>
            {
                let list: Vec<String> = columns
                    .iter()
                    .filter_map(|c| {
                        let why = c.loses_data.as_ref()?;
                        Some(format!("{}.{}: {why}", c.table, c.column))
                    })
                    .collect();
                Some(format!(
                    "changes existing columns in a way that can cut or convert the data they hold ({}); the \
                     changed script's other statements wait with them. The ALTER runs in strict mode: the \
                     server refuses rather than cuts values that do not fit",
                    list.join("; ")
                ))
            }
            Change::RepairMountRecord(repair) => Some(format!(
                "changes what node {} mounts at {} at its next start (registry.xml's mount instead of the stored \
                 record); the node must be restarted for it to take effect",
                repair.node, repair.mount_path
            )),
            _ => None,
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
            | Change::Revoke { account, .. }
            | Change::DropAccount { account, .. }
            | Change::AwaitAccountPassword { account, .. } => format!("account {account}"),
            Change::RecordOwnership { cluster, .. } => format!("cluster {cluster}"),
            Change::EditFile { node, .. } => format!("node {node}"),
            Change::RepairMountRecord(repair) => format!("node {}", repair.node),
            Change::CheckMountRecords { node, .. } => format!("node {node}"),
        }
    }
}

/// A datasource whose URL an edit moves from one MySQL database to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repoint {
    pub jndi_name: String,
    /// The MySQL database the datasource names now, or for a move off the embedded H2 `embedded H2`.
    pub from: String,
    pub to: String,
    /// A move off the node's embedded H2 database: its data file, which stays behind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedded_h2: Option<PathBuf>,
}

impl std::fmt::Display for Repoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.embedded_h2 {
            Some(file) => write!(
                f,
                "{}: {} ({}) -> {}",
                self.jndi_name,
                self.from,
                file.display(),
                self.to
            ),
            None => write!(f, "{}: {} -> {}", self.jndi_name, self.from, self.to),
        }
    }
}

/// The datasources whose URL an edit moves from the node's embedded H2 database (one that holds a data
/// file, `h2_data`: URL and file) to MySQL: the node's H2 data stays behind.
pub fn h2_moves(
    differences: &[Difference],
    datasources: &[Datasource],
    h2_data: &[(String, PathBuf)],
) -> Vec<Repoint> {
    differences
        .iter()
        .filter(|d| d.check == Check::DatasourceUrl)
        .filter_map(|d| {
            let found = d.found.as_deref()?;
            let (_, file) = h2_data.iter().find(|(url, _)| url.trim() == found.trim())?;
            let to = mysql_database(&d.expected)?;
            let jndi_name = jndi_of(d, datasources);
            Some(Repoint {
                jndi_name,
                from: "embedded H2".to_string(),
                to: to.to_string(),
                embedded_h2: Some(file.clone()),
            })
        })
        .collect()
}

/// Something the plan will not change by itself: it needs a person to decide.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    pub subject: String,
    /// What kind of conflict (or warning, notice) it is: each kind has its own code (docs/checks.md).
    pub check: Check,
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
    /// Why the change can cut or convert the values the column holds (a narrower or other type, NULL no
    /// longer allowed): a destructive change. `None` when every value fits unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loses_data: Option<String>,
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
    /// What a person should know but is not drift (a shared account, a login that could not be proven
    /// from here, account rows eidb did not create): warnings in provision and verify alike.
    pub warnings: Vec<Conflict>,
    /// What could not be checked for lack of a privilege (verify's `not_checked` findings).
    pub unchecked: Vec<Conflict>,
    /// The state of every mount record checked (`crate::mounts`), stale or not.
    pub mount_records: Vec<crate::mounts::RecordStatus>,
    /// What the node files would still get wrong after the plan, and eidb does not own (a dbConfig of
    /// another datasource that does not exist, a missing driver jar): findings in verify, warnings in
    /// provision.
    pub problems: Vec<Finding>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.conflicts.is_empty() && self.columns.is_empty()
    }

    /// The changes a run may apply, and the ones it holds back: all of them with `allow_destructive`;
    /// else those that are not destructive and depend on nothing held back ([`holds`]).
    pub fn applicable(changes: &[Change], allow_destructive: bool) -> (Vec<Change>, Vec<Change>) {
        if allow_destructive {
            return (changes.to_vec(), Vec::new());
        }
        let holds = holds(changes);
        let (now, held): (Vec<_>, Vec<_>) = changes
            .iter()
            .zip(&holds)
            .partition(|(_, hold)| hold.is_none());
        (
            now.into_iter().map(|(c, _)| c.clone()).collect(),
            held.into_iter().map(|(c, _)| c.clone()).collect(),
        )
    }

    /// verify's verdict: nothing to change but eidb's own bookkeeping (recording ownership in the
    /// ledger is not drift of the cluster), no conflict, and no finding besides the plan's.
    pub fn in_sync(&self, findings: usize) -> bool {
        findings == 0
            && self.conflicts.is_empty()
            && self
                .changes
                .iter()
                .all(|c| matches!(c, Change::RecordOwnership { .. }))
    }
}

/// Why a change waits for `--allow-destructive`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    /// Why the change is destructive, or which change it is held back with and why.
    pub reason: String,
    /// The summary of the destructive change it is held back (and applied) with; `None` when the change
    /// is destructive itself.
    pub with: Option<String>,
}

/// The node a change belongs to (its files and its local registry's records).
fn node_of(change: &Change) -> Option<&str> {
    match change {
        Change::EditFile { node, .. } => Some(node),
        Change::RepairMountRecord(repair) => Some(&repair.node),
        Change::CheckMountRecords { node, .. } => Some(node),
        _ => None,
    }
}

/// For each change, the indexes of the changes it must be applied together with (it is right only with
/// them): a node's changes go together (its three files and its mount records never disagree: a
/// registry.xml mount target with its record, a repoint with the node's other edits); a file that writes
/// the account's password goes with the account's password change; a node pointed at a database another
/// node's files use goes with that node's changes (which move it away).
pub fn dependencies(changes: &[Change]) -> Vec<Vec<usize>> {
    changes
        .iter()
        .enumerate()
        .map(|(i, change)| {
            let node = node_of(change);
            let (password, takes_over): (bool, &[String]) = match change {
                Change::EditFile {
                    carries_password,
                    takes_over_from,
                    ..
                } => (*carries_password, takes_over_from),
                _ => (false, &[]),
            };
            changes
                .iter()
                .enumerate()
                .filter(|&(j, other)| {
                    let other_node = node_of(other);
                    j != i
                        && ((node.is_some() && node == other_node)
                            || (password
                                && matches!(
                                    other,
                                    Change::AlterAccount { .. }
                                        | Change::AwaitAccountPassword { .. }
                                ))
                            || other_node.is_some_and(|n| takes_over.iter().any(|t| t == n)))
                })
                .map(|(j, _)| j)
                .collect()
        })
        .collect()
}

/// For each change, `None` when a run without `--allow-destructive` applies it, else why it is held
/// back: it is destructive, or it depends (directly or through others, [`dependencies`]) on a
/// destructive change, and is held back with it. `--dry-run`, `verify` and `provision` all say this.
pub fn holds(changes: &[Change]) -> Vec<Option<Hold>> {
    let dependencies = dependencies(changes);
    // The destructive change each held change is held with (itself when destructive).
    let mut root: Vec<Option<usize>> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| c.destructive().map(|_| i))
        .collect();
    loop {
        let mut grew = false;
        for i in 0..changes.len() {
            if root[i].is_none() {
                if let Some(r) = dependencies[i].iter().find_map(|&j| root[j]) {
                    root[i] = Some(r);
                    grew = true;
                }
            }
        }
        if !grew {
            break;
        }
    }
    root.iter()
        .enumerate()
        .map(|(i, r)| {
            let r = (*r)?;
            Some(if r == i {
                Hold {
                    reason: changes[i].destructive().unwrap_or_default(),
                    with: None,
                }
            } else {
                let with = changes[r].summary();
                Hold {
                    reason: format!("held back with {with}: needs --allow-destructive"),
                    with: Some(with),
                }
            })
        })
        .collect()
}

/// `--files-only`: the mounts whose target an edit of registry.xml moves (`/_system/config: A -> B`), which
/// the node's mount records (not read without admin access) may still name.
pub fn mount_target_moves(change: &Change) -> Vec<String> {
    let Change::EditFile { differences, .. } = change else {
        return Vec::new();
    };
    // `path -> target on instance (overwrite x)`, as the registry editor says a mount.
    let split = |text: &str| -> Option<(String, String)> {
        let (path, rest) = text.split_once(" -> ")?;
        let (target, _) = rest.split_once(" on ")?;
        Some((path.to_string(), target.to_string()))
    };
    differences
        .iter()
        .filter(|d| d.check == Check::Mount)
        .filter_map(|d| {
            let (path, expected) = split(&d.expected)?;
            let (_, found) = split(d.found.as_deref()?)?;
            (found != expected).then(|| format!("{path}: {found} -> {expected}"))
        })
        .collect()
}

/// A node pointed at a database another node's files use now: its edits wait for that node's (which
/// move it away; [`dependencies`]). `in_files`: each node's local registry as its files say it now.
pub fn mark_takeovers(
    changes: &mut [Change],
    local_registries: &[(String, Option<String>)],
    in_files: &[(String, Option<String>)],
) {
    for change in changes {
        let Change::EditFile {
            node,
            takes_over_from,
            ..
        } = change
        else {
            continue;
        };
        let Some(Some(wanted)) = local_registries
            .iter()
            .find(|(n, _)| n == node)
            .map(|(_, db)| db)
        else {
            continue;
        };
        *takes_over_from = in_files
            .iter()
            .filter(|(other, used)| {
                other != node && used.as_deref().is_some_and(|u| key(u) == key(wanted))
            })
            .map(|(other, _)| other.clone())
            .collect();
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
    /// The password works, but the server logged eidb in through another row than the spec's (the
    /// row named): that proves nothing about the spec's rows.
    Through(String),
    /// The password works from here, but the way the nodes connect (their JDBC host and port) could not
    /// be tried from here (the reason): not proof that the nodes get in.
    WorksNotAsNodes(String),
    /// Not tried: the account does not exist, or the check was not possible from here (the reason).
    Unknown(String),
}

/// What `missing` says when a database holds none of the script's objects.
const EVERYTHING: &str = "everything";

/// What the ledger knows, and whether the user asked to re-apply a changed script.
#[derive(Debug, Default)]
pub struct History<'a> {
    pub scripts: HashMap<String, ScriptRecord>,
    /// Which cluster manages which database: (database as recorded, cluster).
    pub owners: Vec<(String, String)>,
    /// Host parts of the account rows this cluster created (for the spec's account name).
    pub created_hosts: BTreeSet<String>,
    /// This cluster's nodes and their local registries, as recorded.
    pub nodes: std::collections::BTreeMap<String, String>,
    pub reapply_changed_script: bool,
    pub metadata_db: &'a str,
    /// The script tables' columns as the server makes them (none: columns are not compared).
    pub columns: Option<&'a ScriptColumns>,
    /// Why the server would not show how it makes the script's columns to this account (no CREATE
    /// TEMPORARY TABLES): they are not compared, and verify says so.
    pub columns_refused: Option<&'a str>,
}

impl History<'_> {
    /// The cluster the ledger says manages `database`, compared as the server compares names.
    fn owner_of(&self, database: &str, rules: NameRules) -> Option<&str> {
        self.owners
            .iter()
            .find(|(db, _)| matching::same_name(db, database, rules))
            .map(|(_, cluster)| cluster.as_str())
    }

    /// The other clusters whose databases a grant target covers.
    fn other_clusters_on(
        &self,
        target: &GrantTarget,
        cluster: &str,
        rules: NameRules,
    ) -> BTreeSet<String> {
        self.owners
            .iter()
            .filter(|(_, owner)| owner != cluster)
            .filter(|(db, _)| match target {
                GrantTarget::Database(pattern) => {
                    matching::pattern_match(pattern, db, rules) != PatternMatch::None
                }
                GrantTarget::Table(table_db, _) => matching::same_name(table_db, db, rules),
                _ => false,
            })
            .map(|(_, owner)| owner.clone())
            .collect()
    }
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
    let mut baselines = Vec::new();
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
                if let Some(conflict) = foreign_database(desired, database, existing, history) {
                    // Someone else's database: nothing of the cluster goes into it.
                    plan.conflicts.push(conflict);
                    continue;
                }
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
                let renamed: Vec<String> = script
                    .statements
                    .iter()
                    .filter_map(|statement| {
                        let existing_name = same_index_under_another_name(statement, existing)?;
                        Some(format!(
                            "{} as {existing_name}",
                            describe_object(&statement.object)
                        ))
                    })
                    .collect();
                if !renamed.is_empty() {
                    // Which variant the database was built from: the one whose names it has.
                    let variant = desired.other_variant.as_ref().filter(|other| {
                        let names: BTreeSet<String> = other
                            .statements
                            .iter()
                            .filter_map(|s| match &s.object {
                                SchemaObject::Index { name, .. }
                                | SchemaObject::Constraint { name, .. } => Some(key(name)),
                                _ => None,
                            })
                            .collect();
                        script.statements.iter().all(|statement| {
                            same_index_under_another_name(statement, existing)
                                .is_none_or(|found| names.contains(&key(&found)))
                        })
                    });
                    let (built_from, fix) = match variant {
                        Some(other) => (
                            format!("; the database was built from {} (it has that script's names)", other.file_name()),
                            format!(
                                "nothing is needed; to have this spec name what the database was built from, set \
                                 [dbscripts] file = \"{}\" (verify then compares against its columns and defaults)",
                                other.path.display()
                            ),
                        ),
                        None => (
                            String::new(),
                            "nothing is needed; to make this spec name the variant the database was built from, set \
                             [dbscripts] file = \"<that script>\" (verify then also compares its columns and defaults)"
                                .to_string(),
                        ),
                    };
                    plan.warnings.push(Conflict {
                        check: Check::IndexNames,
                        subject: format!("database {}", database.name),
                        expected: format!("the indexes of {} under its names", script.file_name()),
                        found: format!(
                            "the same indexes or foreign keys (table, columns, uniqueness, what they reference) under \
                             other names, as another variant of the script creates them (e.g. mysql.sql vs mysql5.7.sql): {}; eidb does not create them again",
                            renamed.join(", ")
                        ) + &built_from,
                        fix,
                    });
                }
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
                        check: Check::ScriptChanged,
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
                    } else if record.is_none() {
                        // Complete, but not by eidb's hand (built by hand, or before the ledger): the ledger
                        // records the script as the baseline, so a later change of it is noticed.
                        baselines.push(database.name.clone());
                    }
                }
            }
        }
    }
    if let Login::RefusedToNodes(reason) = &login {
        plan.notices.push(Conflict {
            check: Check::AccountLoginNodes,
            subject: format!("account '{}'", desired.account.name),
            expected: "the account logs in the way the nodes' JDBC URLs say (host, port, useSSL)".to_string(),
            found: format!("refused that way, while the admin's way works: {reason}"),
            fix: "if the server requires TLS, set jdbc.use_ssl = true in the spec; check server.jdbc_host/jdbc_port".to_string(),
        });
    }
    match &login {
        Login::Through(row) => plan.warnings.push(Conflict {
            check: Check::LoginOtherRow,
            subject: format!("account '{}'", desired.account.name),
            expected: format!("a login through one of the spec's rows ({})", spec_rows(desired)),
            found: format!("the server logged in through {row}, a row the spec does not name; the spec's rows are not proven"),
            fix: format!("if {row} is left over, remove it (DROP USER {row}) so it cannot stand in for the spec's rows"),
        }),
        Login::WorksNotAsNodes(why) => plan.warnings.push(Conflict {
            check: Check::LoginNotProven,
            subject: format!("account '{}'", desired.account.name),
            expected: "the account's login proven the way the nodes connect".to_string(),
            found: format!("the password works from here, but the nodes' way was not proven: {why}"),
            fix: "check the login from a node: mysql -h <jdbc_host> -P <jdbc_port> -u <user> -p <database>".to_string(),
        }),
        Login::Unknown(why) if !actual.accounts.is_empty() => plan.warnings.push(Conflict {
            check: Check::LoginNotProven,
            subject: format!("account '{}'", desired.account.name),
            expected: "the account's login proven the way the nodes connect".to_string(),
            found: format!("not proven from here: {why}"),
            fix: "check the login from a node: mysql -h <jdbc_host> -u <user> -p <database>".to_string(),
        }),
        _ => {}
    }
    let rules = desired.name_rules();
    for database in &desired.databases {
        if let Some(owner) = history
            .owner_of(&database.name, rules)
            .filter(|o| *o != desired.cluster)
        {
            plan.conflicts.push(Conflict {
                check: Check::DatabaseOwner,
                subject: format!("database {}", database.name),
                expected: format!("a database of cluster {}", desired.cluster),
                found: format!("cluster {owner} manages it, per the ledger in {}", history.metadata_db),
                fix: format!(
                    "two specs name the same database: give this cluster its own database names, or, if this spec \
                     describes cluster {owner}, set [cluster] name = \"{owner}\""
                ),
            });
        }
    }
    if desired.skip_name_resolve {
        for host in desired.account.hosts.iter().filter(|h| is_host_name(h)) {
            plan.conflicts.push(Conflict {
                check: Check::AccountHostUnmatched,
                subject: format!("account {}", desired.account.display(host)),
                expected: "an account row the nodes' TCP connections can match".to_string(),
                found: format!(
                    "the server runs with skip_name_resolve, so it matches clients by IP address only: '{host}' is a \
                     host name and matches no JDBC (TCP) connection{}",
                    if host.eq_ignore_ascii_case("localhost") { " (only local socket clients)" } else { "" }
                ),
                fix: format!(
                    "name the nodes' addresses instead, e.g. user.host = \"{}\" or an IP pattern such as \"10.0.%\"",
                    if host.eq_ignore_ascii_case("localhost") { "127.0.0.1" } else { "10.0.0.5" }
                ),
            });
        }
    }
    if let Some(refusal) = history.columns_refused {
        plan.unchecked.push(Conflict {
            check: Check::NotChecked,
            subject: "cluster".to_string(),
            expected: "the columns of the dbscript's tables compared with how this server makes them (type, \
                       nullability, default)"
                .to_string(),
            found: format!(
                "not checked: the connecting account may not create temporary tables ({refusal})"
            ),
            fix: "grant the account verify connects as CREATE TEMPORARY TABLES on the cluster's databases (the \
                  probe's tables live only in its own session; nothing lasting is created)"
                .to_string(),
        });
    }
    if let Some(needed) = &actual.accounts_unreadable {
        plan.unchecked.push(Conflict {
            check: Check::NotChecked,
            subject: format!("account '{}'", desired.account.name),
            expected: format!("the account's rows and grants, read with {needed}"),
            found: "not checked: the connecting account may not read the privilege tables"
                .to_string(),
            fix: format!("grant the account verify connects as {needed}"),
        });
    } else {
        shadowing_rows(&mut plan, desired, actual, history);
        for host in &desired.account.hosts {
            account_changes(&mut plan, desired, actual, history, host, &login);
        }
    }
    // A removed node's database and that of a node the spec now keeps on H2 stay alike; only why differs.
    let removed = desired.orphans.iter().map(|orphan| (orphan, false));
    let left_for_h2 = desired.left_for_h2.iter().map(|orphan| (orphan, true));
    for ((node, database), on_h2) in removed.chain(left_for_h2) {
        let (why, fix) = if on_h2 {
            (
                format!("the spec keeps node {node} on its embedded H2"),
                format!(
                    "if node {node} should stay on {database}, take local_registry_store = \"h2\" out of its [[nodes]] \
                     entry; once its files no longer use it (local_registry_not_h2) and its data is not needed: DROP \
                     DATABASE `{database}`"
                ),
            )
        } else {
            (
                format!("node {node} is no longer in the spec"),
                format!(
                    "if node {node} was renamed, add renamed_from = \"{node}\" to its [[nodes]] entry; if it is gone for \
                     good and its data is not needed: DROP DATABASE `{database}`"
                ),
            )
        };
        plan.warnings.push(Conflict {
            check: Check::OrphanedDatabase,
            subject: format!("database {database}"),
            expected: format!("the local registry of a node in the spec (the ledger says node {node} used it)"),
            found: format!(
                "orphaned: {why}; eidb leaves {database} and the account's grants on it as they are, and never drops \
                 a database"
            ),
            fix,
        });
    }
    let unrecorded: Vec<String> = desired
        .databases
        .iter()
        .filter(|d| history.owner_of(&d.name, rules).is_none())
        .map(|d| d.name.clone())
        .collect();
    let nodes: Vec<(String, String)> = desired
        .local_registries
        .iter()
        .filter(|(node, db)| history.nodes.get(node) != Some(db))
        .cloned()
        .collect();
    let forget_nodes: Vec<String> = desired
        .renamed
        .iter()
        .filter(|(old, _)| history.nodes.contains_key(old))
        .map(|(old, _)| old.clone())
        .collect();
    if !unrecorded.is_empty()
        || !nodes.is_empty()
        || !forget_nodes.is_empty()
        || !baselines.is_empty()
    {
        plan.changes.push(Change::RecordOwnership {
            cluster: desired.cluster.clone(),
            databases: unrecorded,
            nodes,
            forget_nodes,
            script_baselines: baselines,
        });
    }
    plan
}

/// An existing database that no cluster recorded in the ledger, holding tables (or views) the dbscript does
/// not make, is not this cluster's to load the script into or grant the nodes on: a conflict, unless the
/// spec adopts it on purpose (`databases.adopt`, compared without case: the spec's validation lets it name
/// only the cluster's own databases). A database the ledger records for this cluster is its own
/// whatever it holds; one recorded for another cluster is dealt with where grants are.
fn foreign_database(
    desired: &DesiredServer,
    database: &DesiredDatabase,
    existing: &ActualDatabase,
    history: &History<'_>,
) -> Option<Conflict> {
    let rules = desired.name_rules();
    // The ledger's record of a script eidb ran into it (a run cut off before it recorded ownership).
    if history.owner_of(&database.name, rules).is_some()
        || history.scripts.contains_key(&key(&database.name))
        || desired
            .adopt
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&database.name))
    {
        return None;
    }
    let made: BTreeSet<String> = desired
        .script
        .statements
        .iter()
        .filter_map(|s| match &s.object {
            SchemaObject::Table { name } => Some(key(name)),
            SchemaObject::View { name } => Some(key(name)),
            _ => None,
        })
        .collect();
    let others: Vec<&str> = existing
        .tables
        .iter()
        .filter(|(k, _)| !made.contains(*k))
        .map(|(_, t)| t.name.as_str())
        .chain(
            existing
                .views
                .iter()
                .filter(|k| !made.contains(*k))
                .map(String::as_str),
        )
        .collect();
    if others.is_empty() {
        return None;
    }
    const SHOWN: usize = 5;
    let mut listed = others
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if others.len() > SHOWN {
        listed.push_str(&format!(" and {} more", others.len() - SHOWN));
    }
    Some(Conflict {
        subject: format!("database {}", database.name),
        check: Check::DatabaseForeign,
        expected: format!(
            "a new database, or one of this cluster's (in the ledger) or built from {}",
            desired.script.file_name()
        ),
        found: format!(
            "it exists, no cluster's ledger record names it, and it holds {} table(s) the dbscript does not make: {listed}",
            others.len()
        ),
        fix: format!(
            "if it is another application's database, name another one in the spec; if this cluster should take it over \
             as it is (its other tables are kept), add `adopt = [\"{}\"]` under [databases] and run again",
            database.name
        ),
    })
}

/// A host part that names a host (not an IP address, an IP pattern or `%`).
fn is_host_name(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_err()
        && !host.contains('/')
        && host.chars().any(|c| c.is_ascii_alphabetic())
        && host != "%"
}

fn spec_rows(desired: &DesiredServer) -> String {
    let rows: Vec<String> = desired
        .account
        .hosts
        .iter()
        .map(|h| desired.account.display(h))
        .collect();
    rows.join(", ")
}

/// Account rows that the server would pick instead of the spec's for some client (it sorts rows by how
/// specific their host is, the named user before the anonymous one, and takes the first that matches),
/// and rows of the account that the spec no longer names.
fn shadowing_rows(
    plan: &mut Plan,
    desired: &DesiredServer,
    actual: &Actual,
    history: &History<'_>,
) {
    let account = &desired.account;
    let ours: BTreeSet<String> = account.hosts.iter().map(|h| host_key(h)).collect();
    for anonymous in &actual.anonymous_hosts {
        let shadowed: Vec<&String> = account
            .hosts
            .iter()
            .filter(|h| {
                matching::host_rank(anonymous) > matching::host_rank(h)
                    && matching::hosts_overlap(anonymous, h)
            })
            .collect();
        if let Some(host) = shadowed.first() {
            plan.conflicts.push(Conflict {
                check: Check::AccountShadowed,
                subject: format!("account '{}'", account.name),
                expected: format!("clients matching '{host}' log in as {}", account.display(host)),
                found: format!(
                    "the anonymous account ''@'{anonymous}' wins for clients from {anonymous} (the server prefers the more \
                     specific host), so {} cannot log in from there",
                    account.name
                ),
                fix: format!(
                    "remove the anonymous account (what mysql_secure_installation does): DROP USER ''@'{anonymous}'; \
                     eidb never drops accounts it did not create"
                ),
            });
        }
    }
    for (key, row) in &actual.accounts {
        if ours.contains(key) {
            continue;
        }
        let row_name = account.display(&row.host);
        let created_by_us = history.created_hosts.contains(key);
        let shadows: Vec<&String> = account
            .hosts
            .iter()
            .filter(|h| {
                matching::host_rank(&row.host) > matching::host_rank(h)
                    && matching::hosts_overlap(&row.host, h)
            })
            .collect();
        let grants: Vec<String> = row
            .grants
            .iter()
            .filter(|g| !g.is_usage())
            .map(|g| format!("{} on {}", g.privileges, describe_target(&g.target)))
            .collect();
        let holds = if grants.is_empty() {
            "no privileges".to_string()
        } else {
            grants.join("; ")
        };
        let winning = match shadows.first() {
            Some(h) => format!(
                "; it wins over {} for clients from {} (the server prefers the more specific host)",
                account.display(h),
                row.host
            ),
            None => String::new(),
        };
        if created_by_us {
            plan.changes.push(Change::DropAccount {
                account: row_name.clone(),
                host: row.host.clone(),
                reason: format!("an earlier spec of this cluster created it; the spec's hosts no longer include it (it holds {holds}){winning}"),
            });
        } else if !shadows.is_empty() {
            plan.conflicts.push(Conflict {
                check: Check::AccountRowForeign,
                subject: format!("account '{}'", account.name),
                expected: format!("clients matching the spec's hosts log in through {}", spec_rows(desired)),
                found: format!("{row_name} (not created by eidb) holds {holds}{winning}"),
                fix: format!(
                    "add \"{}\" to user.hosts so eidb manages that row too, or remove it if nothing uses it: DROP USER {row_name}",
                    row.host
                ),
            });
        } else {
            plan.warnings.push(Conflict {
                check: Check::AccountRowExtra,
                subject: format!("account '{}'", account.name),
                expected: format!("the account's rows are the spec's: {}", spec_rows(desired)),
                found: format!("{row_name} also exists (not created by eidb) and holds {holds}"),
                fix: format!("if nothing uses it, remove it: DROP USER {row_name}; eidb never drops accounts it did not create"),
            });
        }
    }
}

/// The changes one account row (`name@host`) needs: exist, log in, hold exactly the wanted grants.
fn account_changes(
    plan: &mut Plan,
    desired: &DesiredServer,
    actual: &Actual,
    history: &History<'_>,
    host: &str,
    login: &Login,
) {
    let account = &desired.account;
    let name = account.display(host);
    let existing = actual.account(host);
    let rules = desired.name_rules();
    let grants: &[ActualGrant] = existing.map(|a| a.grants.as_slice()).unwrap_or(&[]);
    let shared_with: BTreeSet<String> = grants
        .iter()
        .flat_map(|g| history.other_clusters_on(&g.target, &desired.cluster, rules))
        .collect();
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
                let shared = if shared_with.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; cluster(s) {} use this account too, and would be locked out",
                        shared_with.iter().cloned().collect::<Vec<_>>().join(", ")
                    )
                };
                plan.changes.push(Change::AlterAccount {
                    account: name.clone(),
                    host: host.to_string(),
                    auth_plugin: account.auth_plugin.clone(),
                    reason: format!(
                        "it cannot log in with the configured password (provision sets it again){shared}"
                    ),
                });
            }
        }
    }
    if !shared_with.is_empty() {
        plan.warnings.push(Conflict {
            check: Check::AccountShared,
            subject: format!("account {name}"),
            expected: format!("an account of cluster {} alone", desired.cluster),
            found: format!(
                "a shared account: it also holds grants on databases of cluster(s) {}, which eidb leaves as they are",
                shared_with.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            fix: "give each cluster its own account name (user.name), so that a password or grant change for one \
                  cluster cannot lock out another"
                .to_string(),
        });
    }
    let wanted: BTreeSet<String> = account.privileges.iter().cloned().collect();
    // The rows that decide each database's privileges; every other grant is not ours.
    let mut governing_rows: Vec<&GrantTarget> = Vec::new();
    for database in &desired.databases {
        let governing = governing_row(grants, &database.name, desired);
        let pattern = match governing.map(|g| &g.target) {
            Some(target @ GrantTarget::Database(p)) => {
                governing_rows.push(target);
                p.clone()
            }
            _ => quote::grant_pattern(&database.name, desired.partial_revokes),
        };
        let have: BTreeSet<String> = governing
            .map(|g| g.expanded_privilege_names())
            .unwrap_or_default();
        let has_all = governing.is_some_and(|g| g.privilege_names().contains("ALL PRIVILEGES"));
        let (missing, extra): (Vec<String>, Vec<String>) = if account.wants_all_privileges() {
            (
                if has_all {
                    vec![]
                } else {
                    vec!["ALL PRIVILEGES".to_string()]
                },
                vec![],
            )
        } else {
            (
                wanted.difference(&have).cloned().collect(),
                have.difference(&wanted).cloned().collect(),
            )
        };
        if let Some(row) = governing.filter(|g| !extra.is_empty() || g.with_grant_option) {
            let mut privileges = extra.join(", ");
            if row.with_grant_option {
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
                target: describe_target(&row.target),
                grant: ActualGrant {
                    privileges: String::new(),
                    expanded: Vec::new(),
                    target: row.target.clone(),
                    with_grant_option: row.with_grant_option,
                },
            });
        }
        if !missing.is_empty() {
            plan.changes.push(Change::Grant {
                account: name.clone(),
                host: host.to_string(),
                privileges: missing.join(", "),
                database: database.name.clone(),
                pattern,
            });
        }
    }
    for grant in grants
        .iter()
        .filter(|g| !g.is_usage() && !governing_rows.contains(&&g.target))
        // eidb's own grant for the nodes' records (crate::node_records) is not the cluster's.
        .filter(|g| !crate::node_records::is_records_grant(&g.target, history.metadata_db))
    {
        if !history
            .other_clusters_on(&grant.target, &desired.cluster, rules)
            .is_empty()
            || on_orphan(&grant.target, desired)
        {
            continue;
        }
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

/// A grant on the database of a node that left the spec: it stays, like the database.
fn on_orphan(target: &GrantTarget, desired: &DesiredServer) -> bool {
    let rules = desired.name_rules();
    desired
        .orphans
        .iter()
        .chain(&desired.left_for_h2)
        .any(|(_, db)| match target {
            GrantTarget::Database(pattern) => {
                matching::pattern_match(pattern, db, rules) == PatternMatch::Exact
            }
            GrantTarget::Table(table_db, _) => matching::same_name(table_db, db, rules),
            _ => false,
        })
}

/// The database-level row that decides the account's privileges on `database`: of the rows that name
/// exactly this database (in any form the server takes for it), the one the server prefers, a pattern
/// without wildcards (eidb's escaped form) before the WSO2 guide's unescaped `_`.
fn governing_row<'g>(
    grants: &'g [ActualGrant],
    database: &str,
    desired: &DesiredServer,
) -> Option<&'g ActualGrant> {
    let rules = desired.name_rules();
    grants
        .iter()
        .filter(|g| matches!(&g.target, GrantTarget::Database(p) if matching::pattern_match(p, database, rules) == PatternMatch::Exact))
        .max_by_key(|g| match &g.target {
            GrantTarget::Database(p) => desired.partial_revokes || !is_wildcard(p),
            _ => false,
        })
}

/// The datasources whose URL an edit of `master-datasources.xml` moves to another MySQL database (its
/// `datasource_url` differences; `datasources` give their JNDI names), e.g.
/// `jdbc/WSO2CarbonDB: REGISTRY_LOCAL1 -> REGISTRY_LOCAL2`. A node pointed away from a database
/// that exists leaves its data behind, so such an edit is destructive (the caller keeps only the moves
/// away from databases that exist, when it can ask the server). A datasource that is not on MySQL yet
/// (WSO2's shipped H2) or is new is not repointed.
/// The JNDI name of the datasource a difference is about (its name when the spec has no such datasource).
fn jndi_of(difference: &Difference, datasources: &[Datasource]) -> String {
    datasources
        .iter()
        .find(|s| Some(&s.name) == difference.item.as_ref())
        .map_or_else(
            || difference.item.clone().unwrap_or_default(),
            |s| s.jndi_name.clone(),
        )
}

pub fn repoints(differences: &[Difference], datasources: &[Datasource]) -> Vec<Repoint> {
    differences
        .iter()
        .filter(|d| d.check == Check::DatasourceUrl)
        .filter_map(|d| {
            let was = mysql_database(d.found.as_deref()?)?;
            let will = mysql_database(&d.expected)?;
            let jndi_name = jndi_of(d, datasources);
            (was != will).then(|| Repoint {
                jndi_name,
                from: was.to_string(),
                to: will.to_string(),
                embedded_h2: None,
            })
        })
        .collect()
}

/// The databases file edits move nodes away from ([`repoints`]): the ones to ask the server about.
pub fn repointed_from(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .flat_map(|c| match c {
            Change::EditFile { repoints, .. } => repoints
                .iter()
                .filter(|r| r.embedded_h2.is_none())
                .map(|r| r.from.clone())
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// Moving a datasource away from a database that does not exist leaves nothing behind: only moves away
/// from `existing` databases (by [`key`]) stay repoints, which make an edit destructive. Without the
/// server (`--files-only`) nothing is known to be missing, and every move counts. A move off the
/// embedded H2 leaves the H2 data file behind, whatever the server has: it stays.
pub fn keep_repoints_from_existing(changes: &mut [Change], existing: &BTreeSet<String>) {
    for change in changes {
        if let Change::EditFile { repoints, .. } = change {
            repoints.retain(|r| r.embedded_h2.is_some() || existing.contains(&key(&r.from)));
        }
    }
}

pub use crate::jdbc_url::mysql_database;

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
        check: Check::DatabaseCharset,
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
            check: Check::TableCharset,
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
        if is_guardable(&statement.object)
            && !object_exists(&statement.object, db)
            && same_index_under_another_name(statement, db).is_none()
        {
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

/// The name of an index that the statement's index already exists as, on the same table with the same
/// columns in the same order and the same uniqueness, under another name (as when a database was built from
/// another variant of the Carbon script: `REG_LOG_IND_BY_REGLOG` vs `REG_LOG_IND_BY_REG_LOGTIME`). That
/// index is the same object, and is never created twice.
/// The same holds for a foreign key with the same columns referencing the same table and columns.
pub fn same_index_under_another_name(statement: &Statement, db: &ActualDatabase) -> Option<String> {
    match &statement.object {
        SchemaObject::Index { table, name } if !db.indexes.contains(&(key(table), key(name))) => {
            let shape = crate::observed::IndexShape::of_statement(&statement.sql)?;
            db.index_shapes.get(&(key(table), shape)).cloned()
        }
        SchemaObject::Constraint { table, name }
            if !db.constraints.contains(&(key(table), key(name))) =>
        {
            let shape = crate::observed::foreign_key_shape(&statement.sql)?;
            db.foreign_key_shapes.get(&(key(table), shape)).cloned()
        }
        _ => None,
    }
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
                loses_data: found.and_then(|f| columns::may_lose_data(f, &column.shape)),
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
    fn database_of_a_jdbc_url() {
        assert_eq!(
            mysql_database("jdbc:mysql://h:3306/REGISTRY_DB?useSSL=false"),
            Some("REGISTRY_DB")
        );
        assert_eq!(
            mysql_database("jdbc:mysql:loadbalance://a,b/DB"),
            Some("DB")
        );
        assert_eq!(
            mysql_database("jdbc:h2:./repository/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE"),
            None
        );
        assert_eq!(mysql_database("jdbc:mysql://h:3306/"), None);
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

#[cfg(test)]
mod hold_tests {
    //! What waits for what: a held-back change holds back the changes that depend on it.
    use super::*;

    fn edit(node: &str, file: &str, carries_password: bool, repoint: bool) -> Change {
        Change::EditFile {
            node: node.into(),
            file: PathBuf::from(format!("/{node}/conf/{file}")),
            repoints: if repoint {
                vec![Repoint {
                    jndi_name: "jdbc/WSO2CarbonDB".into(),
                    from: "L1".into(),
                    to: "L9".into(),
                    embedded_h2: None,
                }]
            } else {
                Vec::new()
            },
            differences: Vec::new(),
            diff: String::new(),
            before: b"a".to_vec(),
            after: b"b".to_vec(),
            mode: None,
            private_backup: false,
            carries_password,
            takes_over_from: Vec::new(),
        }
    }

    fn alter() -> Change {
        Change::AlterAccount {
            account: "'regadmin'@'%'".into(),
            host: "%".into(),
            auth_plugin: None,
            reason: "the password differs".into(),
        }
    }

    fn held(changes: &[Change]) -> Vec<Option<Option<String>>> {
        holds(changes)
            .into_iter()
            .map(|h| h.map(|h| h.with))
            .collect()
    }

    #[test]
    fn a_file_carrying_the_password_waits_for_the_account_with_its_node() {
        let changes = vec![
            alter(),
            edit("node1", "datasources.xml", true, false),
            edit("node1", "registry.xml", false, false),
            edit("node2", "registry.xml", false, false),
        ];
        let with = Some(alter().summary());
        assert_eq!(
            held(&changes),
            [Some(None), Some(with.clone()), Some(with), None]
        );
        let (now, back) = Plan::applicable(&changes, false);
        assert_eq!(now.len(), 1);
        assert_eq!(back.len(), 3);
        let (now, back) = Plan::applicable(&changes, true);
        assert_eq!((now.len(), back.len()), (4, 0));
        // Without a password change the same files are additive.
        assert_eq!(held(&changes[1..]), [None, None, None]);
    }

    #[test]
    fn a_node_taking_over_a_database_waits_for_the_node_leaving_it() {
        let mut newcomer = edit("node3", "datasources.xml", false, false);
        if let Change::EditFile {
            takes_over_from, ..
        } = &mut newcomer
        {
            takes_over_from.push("node2".into());
        }
        let leaving = edit("node2", "datasources.xml", false, true);
        let changes = vec![
            newcomer,
            leaving.clone(),
            edit("node1", "x.xml", false, false),
        ];
        assert_eq!(
            held(&changes),
            [Some(Some(leaving.summary())), Some(None), None]
        );
    }

    #[test]
    fn takeovers_are_marked_from_what_the_files_use() {
        let mut changes = vec![edit("node3", "datasources.xml", false, false)];
        let wanted = [
            ("node3".to_string(), Some("L2".to_string())),
            ("node2".to_string(), Some("L9".to_string())),
        ];
        let used = [
            ("node3".to_string(), None),
            ("node2".to_string(), Some("l2".to_string())),
        ];
        mark_takeovers(&mut changes, &wanted, &used);
        assert!(
            matches!(&changes[0], Change::EditFile { takes_over_from, .. } if takes_over_from == &["node2".to_string()])
        );
    }
}

#[cfg(test)]
mod account_tests {
    //! The account half of the plan, without a server: rows and grants as the privilege tables hold them.
    use std::sync::Arc;

    use super::*;
    use crate::desired::{DatabaseRole, DesiredAccount, DesiredDatabase};
    use crate::observed::ActualAccount;

    fn desired(lower_case_table_names: u32) -> DesiredServer {
        DesiredServer {
            cluster: "A".into(),
            databases: ["WSO2_USER_DB", "REGISTRY_DB"]
                .iter()
                .map(|name| DesiredDatabase {
                    name: name.to_string(),
                    role: DatabaseRole::UserStore,
                })
                .collect(),
            local_registries: Vec::new(),
            orphans: Vec::new(),
            left_for_h2: Vec::new(),
            renamed: Vec::new(),
            partial_revokes: false,
            lower_case_table_names,
            skip_name_resolve: false,
            adopt: Vec::new(),
            charset: "latin1".into(),
            account: DesiredAccount {
                name: "regadmin".into(),
                hosts: vec!["%".into()],
                password: "pw".to_string().into(),
                privileges: vec!["ALL PRIVILEGES".into()],
                auth_plugin: None,
                auth_plugin_reason: None,
            },
            script: Arc::new(Dbscript {
                path: "s.sql".into(),
                sha256: "0".repeat(64),
                statements: Vec::new(),
                chosen_because: String::new(),
            }),
            other_variant: None,
        }
    }

    fn all_on(pattern: &str) -> ActualGrant {
        ActualGrant {
            privileges: "ALL PRIVILEGES".into(),
            expanded: vec!["SELECT".into(), "INSERT".into()],
            target: GrantTarget::Database(pattern.into()),
            with_grant_option: false,
        }
    }

    fn with_row(actual: &mut Actual, host: &str, grants: Vec<ActualGrant>) {
        actual.accounts.insert(
            host_key(host),
            ActualAccount {
                host: host.into(),
                plugin: "mysql_native_password".into(),
                grants,
            },
        );
    }

    fn account_changes_of(plan: &Plan) -> Vec<String> {
        plan.changes
            .iter()
            .filter(|c| c.subject().starts_with("account"))
            .map(Change::summary)
            .collect()
    }

    #[test]
    fn grants_stored_lower_case_or_unescaped_are_the_same_grants() {
        for (lctn, patterns) in [
            (1, ["wso2\\_user\\_db", "registry\\_db"]),
            (1, ["wso2_user_db", "registry_db"]),
            (0, ["WSO2_USER_DB", "REGISTRY_DB"]),
        ] {
            let mut actual = Actual::default();
            with_row(
                &mut actual,
                "%",
                patterns.iter().map(|p| all_on(p)).collect(),
            );
            let plan = server(&desired(lctn), &actual, Login::Works, &History::default());
            assert!(
                account_changes_of(&plan).is_empty(),
                "{lctn} {patterns:?}: {:#?}",
                plan.changes
            );
        }
        // Without lower_case_table_names, a lower-case grant is another database's.
        let mut actual = Actual::default();
        with_row(
            &mut actual,
            "%",
            vec![all_on("wso2\\_user\\_db"), all_on("REGISTRY\\_DB")],
        );
        let plan = server(&desired(0), &actual, Login::Works, &History::default());
        let changes = account_changes_of(&plan);
        assert_eq!(changes.len(), 2, "{changes:#?}");
        assert!(plan
            .changes
            .iter()
            .any(|c| matches!(c, Change::Revoke { .. }) && c.destructive().is_some()));
    }

    #[test]
    fn another_clusters_grants_are_a_shared_account_not_extra() {
        let mut actual = Actual::default();
        with_row(
            &mut actual,
            "%",
            vec![
                all_on("WSO2\\_USER\\_DB"),
                all_on("REGISTRY\\_DB"),
                all_on("B\\_REG"),
            ],
        );
        let history = History {
            owners: vec![("B_REG".into(), "B".into())],
            ..History::default()
        };
        let plan = server(&desired(0), &actual, Login::Works, &history);
        assert!(account_changes_of(&plan).is_empty(), "{:#?}", plan.changes);
        assert!(plan
            .warnings
            .iter()
            .any(|w| w.found.contains("shared account")));
        // Without the ledger's word it is an extra grant, and taking it is destructive.
        let plan = server(&desired(0), &actual, Login::Works, &History::default());
        let revokes: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| c.destructive().is_some())
            .collect();
        assert_eq!(revokes.len(), 1, "{:#?}", plan.changes);
    }

    #[test]
    fn anonymous_and_more_specific_rows_are_conflicts_and_only_our_own_leftovers_are_dropped() {
        let mut actual = Actual::default();
        with_row(
            &mut actual,
            "%",
            vec![all_on("WSO2\\_USER\\_DB"), all_on("REGISTRY\\_DB")],
        );
        actual.anonymous_hosts.push("localhost".into());
        let plan = server(&desired(0), &actual, Login::Works, &History::default());
        assert!(
            plan.conflicts
                .iter()
                .any(|c| c.fix.contains("DROP USER ''@'localhost'")),
            "{:#?}",
            plan.conflicts
        );

        let mut actual = Actual::default();
        with_row(
            &mut actual,
            "%",
            vec![all_on("WSO2\\_USER\\_DB"), all_on("REGISTRY\\_DB")],
        );
        with_row(&mut actual, "10.0.%", vec![]);
        let plan = server(&desired(0), &actual, Login::Works, &History::default());
        assert_eq!(
            plan.conflicts.len(),
            1,
            "not ours and it wins for 10.0.%: {:#?}",
            plan.conflicts
        );
        assert!(!plan
            .changes
            .iter()
            .any(|c| matches!(c, Change::DropAccount { .. })));

        let history = History {
            created_hosts: ["10.0.%".to_string()].into(),
            ..History::default()
        };
        let plan = server(&desired(0), &actual, Login::Works, &history);
        assert!(plan.conflicts.is_empty(), "{:#?}", plan.conflicts);
        let drop = plan
            .changes
            .iter()
            .find(|c| matches!(c, Change::DropAccount { .. }))
            .unwrap();
        assert!(drop.destructive().is_some());
    }

    #[test]
    fn a_wrong_password_is_reset_only_as_a_destructive_change() {
        let mut actual = Actual::default();
        with_row(
            &mut actual,
            "%",
            vec![all_on("WSO2\\_USER\\_DB"), all_on("REGISTRY\\_DB")],
        );
        let plan = server(&desired(0), &actual, Login::Fails, &History::default());
        let (now, held) = Plan::applicable(&plan.changes, false);
        assert!(
            !now.iter().any(|c| c.subject().starts_with("account")),
            "{now:#?}"
        );
        assert!(
            matches!(held.as_slice(), [Change::AlterAccount { .. }]),
            "{held:#?}"
        );
    }

    #[test]
    fn a_node_pointed_at_another_database_is_destructive() {
        let url = |database: &str| {
            let found = Some(format!("jdbc:mysql://db:3306/{database}?useSSL=false"));
            Difference::new(
                Check::DatasourceUrl,
                Some("WSO2_CARBON_DB"),
                "jdbc:mysql://db:3306/REGISTRY_LOCAL2?useSSL=false",
                found,
            )
        };
        let carbon = Datasource {
            name: "WSO2_CARBON_DB".into(),
            description: String::new(),
            jndi_name: "jdbc/WSO2CarbonDB".into(),
            url: String::new(),
            username: String::new(),
            password: secrecy::SecretString::from(""),
            secret_alias: None,
            driver_class: String::new(),
            pool: crate::node_files::Pool {
                max_active: 1,
                max_wait: 1,
                test_on_borrow: true,
                validation_query: String::new(),
                validation_interval: 1,
            },
        };
        let moved: Vec<String> = repoints(&[url("REGISTRY_LOCAL1")], std::slice::from_ref(&carbon))
            .iter()
            .map(Repoint::to_string)
            .collect();
        assert_eq!(
            moved,
            ["jdbc/WSO2CarbonDB: REGISTRY_LOCAL1 -> REGISTRY_LOCAL2"]
        );
        let mut h2 = url("x");
        h2.found = Some("jdbc:h2:./repository/database/WSO2CARBON_DB".into());
        assert!(
            repoints(&[h2], std::slice::from_ref(&carbon)).is_empty(),
            "leaving H2 is the first provision"
        );
        let mut added = url("x");
        added.found = None;
        assert!(
            repoints(&[added], std::slice::from_ref(&carbon)).is_empty(),
            "a new datasource moves nothing"
        );
        let mut user = url("REGISTRY_LOCAL1");
        user.check = Check::DatasourceUser;
        assert!(
            repoints(&[user], &[carbon]).is_empty(),
            "only the URL moves a node"
        );
    }
}
