//! The commands: one pipeline (spec -> desired -> actual -> plan) used three ways: `provision` applies the
//! plan, `provision --dry-run` shows it, `verify` reports it as drift.

use crate::core::check::Check;
use crate::core::drift::Finding;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{MySqlConnection, Row};

use crate::cli::node_runs;
use crate::cli::report::{ChangeReport, CommandName, DatabaseSummary, Report, Status};
use crate::cli::Target;
use crate::core::desired::{self, DesiredNode, DesiredServer};
use crate::core::facts::ServerFacts;
use crate::core::findings;
use crate::core::observed;
use crate::core::plan::{self, Change, Login, Plan};
use crate::core::preflight::{self, Admin, Outcome, Preflight};
use crate::core::spec::Spec;
use crate::core::sql::columns::{KeptColumns, ScriptColumns};
use crate::core::sql::script::SchemaObject;
use crate::error::{Error, Result, EXIT_CHANGES_PENDING, EXIT_FAILURE, EXIT_HELD_BACK, EXIT_OK};
use crate::interrupt;
use crate::node::dbscripts;
use crate::node::files;
use crate::progress::Progress;
use crate::secret;
use crate::server::apply::{self, Dialect, Secrets};
use crate::server::columns;
use crate::server::connect::{self, Endpoint};
use crate::server::facts;
use crate::server::inspect;
use crate::server::ledger::{self, Ledger, SharedLedger};
use crate::server::members;
use crate::server::retry::{self, Retry};
use crate::timings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Provision { dry_run: bool },
    Verify,
}

pub struct Options<'a> {
    pub target: &'a Target,
    pub mode: Mode,
    pub parallel: usize,
    pub lock_wait: Duration,
    pub reapply_changed_script: bool,
    /// Apply destructive changes too (revokes, password resets, dropped rows, repointed nodes).
    pub allow_destructive: bool,
    /// A dry run exits 4 when changes are pending.
    pub detailed_exitcode: bool,
    pub progress: Progress,
}

/// Everything learned before any change: the plan and what it was computed from.
struct Planned {
    plan: Plan,
    server: Option<ServerSide>,
    nodes: Vec<DesiredNode>,
    warnings: Vec<Finding>,
}

struct ServerSide {
    conn: MySqlConnection,
    endpoint: Endpoint,
    dialect: Dialect,
    desired: DesiredServer,
    preflight: Preflight,
    metadata_db: String,
    reapply_changed_script: bool,
    /// The spec's other servers (Galera members), read back after changes and by verify.
    members: Vec<Endpoint>,
    /// How the nodes reach the server: their JDBC host and port, TLS as their URLs say.
    nodes_way: Endpoint,
    /// Warnings found while applying (members that could not be read back).
    warnings: Vec<Finding>,
    /// The ledger's ownership records as read before planning, for the first plan only.
    ownership_read_first: Option<ledger::Ownership>,
    /// The script tables' columns as the server makes them (read once, when some table exists).
    script_columns: Option<ScriptColumns>,
    /// The server refused the column probe to the connecting account (no CREATE TEMPORARY TABLES).
    columns_refused: Option<String>,
    /// What decides the probe's answer on this server, but the database's charset and collation
    /// (`crate::core::sql::columns::fingerprint`), and the answers the ledger keeps for it.
    columns_fingerprint: String,
    kept_columns: Vec<KeptColumns>,
    /// A whole answer the probe gave that the ledger does not keep yet: provision keeps it.
    columns_to_keep: Option<KeptColumns>,
    /// The connections the first plan's reads beside the inspection use (the indexes and keys, the
    /// mount records), opened while the run did other work.
    opening: Option<(connect::Opening, connect::Opening)>,
    /// The nodes whose mount records are checked in their local registry (`crate::core::mounts`).
    mount_inputs: Vec<crate::core::mounts::NodeInput>,
}

impl ServerSide {
    /// The server in use, then the spec's others to fail over to.
    fn candidates(&self) -> Vec<Endpoint> {
        std::iter::once(self.endpoint.clone())
            .chain(self.members.iter().cloned())
            .collect()
    }

    /// Every other member must hold what the one in use holds (read with `wsrep_sync_wait`).
    async fn read_back_members(&mut self) -> Result<members::ReadBack> {
        if self.members.is_empty() {
            return Ok(members::ReadBack::default());
        }
        let desired = &self.desired;
        let names: Vec<&str> = desired.databases.iter().map(|d| d.name.as_str()).collect();
        let account = desired.account.name.as_str();
        // What the script has, as the plan compares it; the member in use and the others all at once.
        let reads = inspect::Reads::for_script(&desired.script.statements);
        let (here, others) = tokio::join!(
            inspect::read_only(
                &mut self.conn,
                reads,
                &names,
                account,
                self.dialect.backslashes
            ),
            members::read_members(&self.members, (&names, account), reads)
        );
        Ok(members::read_back(&here?, others))
    }
    /// Which of these databases exist (by [`observed::key`]).
    async fn existing_databases(
        &mut self,
        names: &[String],
    ) -> Result<std::collections::BTreeSet<String>> {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let actual = inspect::read(&mut self.conn, &names, "", self.dialect.backslashes).await?;
        Ok(actual.databases.keys().cloned().collect())
    }

    /// Keep in the ledger the probe's answer it does not have yet, for the next runs (provision only: verify
    /// and the dry run write nothing). After a provision from nothing, where no table existed to compare
    /// when the plan was made, the probe is asked now, in the first database. Best effort: a run whose
    /// answer is not kept only costs the next run the probe.
    async fn keep_columns(&mut self) {
        if self.script_columns.is_none() && self.columns_refused.is_none() {
            if let Err(e) = self.probe_first_database().await {
                tracing::warn!("the script's columns were not asked for the ledger: {e}");
            }
        }
        let Some(kept) = self.columns_to_keep.take() else {
            return;
        };
        let recorded = timings::step("ledger columns", async {
            let (conn, metadata_db) = (&mut self.conn, &self.metadata_db);
            let fingerprint = &self.columns_fingerprint;
            if ledger::record_columns(conn, metadata_db, fingerprint, &kept).await? {
                return Ok(true);
            }
            // A ledger older than this eidb: its tables are brought up to date first.
            Ok::<_, Error>(
                ledger::bring_up_to_date(&self.endpoint, metadata_db).await?
                    && ledger::record_columns(conn, metadata_db, fingerprint, &kept).await?,
            )
        })
        .await;
        match recorded {
            Ok(true) => self.kept_columns.push(kept),
            Ok(false) => {
                tracing::debug!("no ledger on this server to keep the script's columns in")
            }
            Err(e) => tracing::warn!("the script's columns were not kept in the ledger: {e}"),
        }
    }

    async fn probe_first_database(&mut self) -> Result<()> {
        let Some(first) = self.desired.databases.first() else {
            return Ok(());
        };
        let names = [first.name.as_str()];
        let reads = inspect::Reads::for_script(&self.desired.script.statements);
        let actual =
            inspect::read_only(&mut self.conn, reads, &names, "", self.dialect.backslashes).await?;
        let Some(db) = actual.database(&first.name) else {
            return Ok(());
        };
        if self
            .kept_columns
            .iter()
            .any(|k| k.holds_for(&db.charset, &db.collation))
        {
            return Ok(());
        }
        let probed = timings::step(
            "column probe",
            columns::probe(&self.endpoint, &first.name, &self.desired.script.statements),
        )
        .await?;
        if probed.complete {
            self.columns_to_keep = Some(KeptColumns {
                charset: db.charset.clone(),
                collation: db.collation.clone(),
                columns: probed.columns,
            });
        }
        Ok(())
    }

    /// Read what exists (databases, account, ledger) and compute the server half of the plan.
    async fn plan(&mut self) -> Result<Plan> {
        let desired = &self.desired;
        let names: Vec<&str> = desired.databases.iter().map(|d| d.name.as_str()).collect();
        let backslashes = self.dialect.backslashes;
        let (endpoint, mount_inputs) = (&self.endpoint, &self.mount_inputs);
        let (keys_opening, mounts_opening) = self.opening.take().unzip();
        // The mount records need nothing of the inspection: they are read on a connection of their own,
        // beside it (or after it on the admin connection, should that connection not open).
        let mount_reads = async {
            let opened = match mounts_opening {
                Some(opening) if mount_inputs.is_empty() => {
                    opening.discard().await;
                    None
                }
                Some(opening) => opening.take().await,
                None => None,
            };
            if mount_inputs.is_empty() {
                return Some(Ok(Plan::default()));
            }
            let mut conn = match opened {
                Some(conn) => conn,
                None => endpoint.connect(None).await.ok()?,
            };
            let mut mounts = Plan::default();
            let read = timings::step(
                "mount records",
                crate::server::mounts::plan_into(&mut conn, mount_inputs, &mut mounts),
            )
            .await;
            connect::close(conn).await;
            Some(read.map(|()| mounts))
        };
        // The script's columns as this server makes them, asked once, in a database that holds some of
        // the script's tables (where there are none, there are no columns to compare). The probe has a
        // connection of its own. It starts beside the inspection in the first database, which holds the
        // script's tables on a provisioned cluster; should the inspection name another database, it is
        // asked again there, beside the reads on the admin connection below.
        let statements = &desired.script.statements;
        let guess = desired
            .databases
            .first()
            .filter(|_| self.script_columns.is_none() && self.kept_columns.is_empty());
        let early_probe = async {
            let guess = guess?;
            let probed = timings::step(
                "column probe",
                columns::probe(endpoint, &guess.name, statements),
            )
            .await;
            Some((guess.name.as_str(), probed))
        };
        let reads = inspect::Reads::for_script(&desired.script.statements);
        let inspection = timings::step(
            "inspect",
            inspect::read_in_two(
                &mut self.conn,
                (endpoint, keys_opening),
                reads,
                &names,
                &desired.account.name,
                backslashes,
            ),
        );
        let (actual, mounts, early_probe) = tokio::join!(inspection, mount_reads, early_probe);
        let actual = actual?;
        let holder = match self.script_columns {
            Some(_) => None,
            None => desired.databases.iter().find(|d| {
                actual.database(&d.name).is_some_and(|db| {
                    statements.iter().any(
                        |s| matches!(&s.object, SchemaObject::Table { name } if db.has_table(name)),
                    )
                })
            }),
        };
        // The ledger's answer, when it holds for the database the tables are in, is the server's: no probe.
        let holder_db = holder.and_then(|h| actual.database(&h.name));
        let kept = holder_db.and_then(|db| {
            self.kept_columns
                .iter()
                .find(|k| k.holds_for(&db.charset, &db.collation))
        });
        let holder = match kept {
            Some(kept) => {
                self.script_columns = Some(kept.columns.clone());
                None
            }
            None => holder,
        };
        let holder_db = holder_db.map(|db| (db.charset.clone(), db.collation.clone()));
        let probe = async {
            let holder = holder?;
            match early_probe {
                Some((guessed, probed)) if guessed == holder.name => Some(probed),
                _ => Some(
                    timings::step(
                        "column probe",
                        columns::probe(endpoint, &holder.name, statements),
                    )
                    .await,
                ),
            }
        };
        // The first plan uses what was read to assign the nodes' databases; a later one (under the lock)
        // reads the ledger again.
        let ownership_read_first = self.ownership_read_first.take();
        let (conn, metadata_db, nodes_way) = (&mut self.conn, &self.metadata_db, &self.nodes_way);
        let actual = &actual;
        let admin_reads = async move {
            let scripts =
                timings::step("ledger scripts", ledger::read_scripts(conn, metadata_db)).await?;
            let ownership = match ownership_read_first {
                Some(ownership) => ownership,
                None => {
                    timings::step(
                        "ledger ownership",
                        ledger::read_ownership(
                            conn,
                            metadata_db,
                            &desired.cluster,
                            &desired.account.name,
                        ),
                    )
                    .await?
                }
            };
            let login = if actual.accounts.is_empty() {
                Login::Unknown("the account does not exist yet".to_string())
            } else {
                timings::step(
                    "login",
                    check_login(conn, endpoint, Some(nodes_way), desired, actual),
                )
                .await
            };
            let mounts = match mounts {
                Some(read) => read?,
                None => {
                    let mut mounts = Plan::default();
                    timings::step(
                        "mount records",
                        crate::server::mounts::plan_into(conn, mount_inputs, &mut mounts),
                    )
                    .await?;
                    mounts
                }
            };
            Ok::<_, Error>((scripts, ownership, login, mounts))
        };
        let (probed, admin_read) = tokio::join!(probe, admin_reads);
        let (scripts, ownership, login, mounts) = admin_read?;
        if let Some(probed) = probed {
            let probed = probed?;
            if let (true, Some((charset, collation))) = (probed.complete, holder_db) {
                self.columns_to_keep = Some(KeptColumns {
                    charset,
                    collation,
                    columns: probed.columns.clone(),
                });
            }
            self.script_columns = Some(probed.columns);
            self.columns_refused = probed.refused;
        }
        let history = plan::History {
            scripts,
            owners: ownership.databases,
            created_hosts: ownership.created_hosts,
            nodes: ownership.nodes,
            reapply_changed_script: self.reapply_changed_script,
            metadata_db: &self.metadata_db,
            columns: self.script_columns.as_ref(),
            columns_refused: self.columns_refused.as_deref(),
        };
        let mut plan = timings::own("server plan", || {
            plan::server(&self.desired, actual, login, &history)
        });
        plan.changes.extend(mounts.changes);
        plan.mount_records.extend(mounts.mount_records);
        plan.warnings.extend(mounts.warnings);
        Ok(plan)
    }
}

/// Run a command; fills `report` and returns the exit code.
pub async fn run(options: Options<'_>, report: &mut Report) -> Result<i32> {
    let started = Instant::now();
    let target = options.target;
    report.command = match options.mode {
        Mode::Provision { .. } => CommandName::Provision,
        Mode::Verify => CommandName::Verify,
    };
    report.dry_run = matches!(options.mode, Mode::Provision { dry_run: true });

    let (spec, spec_digest) = timings::own("spec", || load_spec(&target.config))?;
    let selection = crate::cli::selection::select(
        &spec,
        &target.node,
        !target.db_only,
        options.mode == Mode::Verify,
    )?;
    let observed = timings::own("secrets and drivers", || {
        Observed::read(&spec, !target.files_only, &selection)
    })?;
    // A run for one node (`--node`) is meant for that node's host: a `host` that is none of this machine's
    // addresses says the run is on the wrong machine (or the spec's address is wrong).
    if !target.node.is_empty() && !target.db_only {
        let here = crate::node::local_addresses();
        for (node, _) in spec
            .nodes
            .iter()
            .zip(&selection.chosen)
            .filter(|(_, c)| **c)
        {
            if let Some(host) = node.host.filter(|h| !here.is_empty() && !here.contains(h)) {
                report.warnings.push(Finding::warning_text(
                    Check::NodeHostNotHere,
                    format!(
                        "node {}: its host {host} is none of this machine's addresses: run `--node {}` on that \
                         host, or correct the node's host in the spec",
                        node.name, node.name
                    ),
                ));
            }
        }
    }
    report.warnings.extend(
        observed
            .secrets
            .weak_account_password(&spec)
            .map(|w| Finding::warning_text(Check::WeakPassword, w)),
    );
    let planned = plan_everything(&observed, &options).await;
    let mut planned = match planned {
        Ok(p) => p,
        Err((e, preflight)) => {
            report.preflight = preflight;
            return Err(e);
        }
    };
    tracing::debug!(
        "plan: {} change(s), {} conflict(s), {} problem(s) in the node files",
        planned.plan.changes.len(),
        planned.plan.conflicts.len(),
        planned.plan.problems.len()
    );
    report.warnings.append(&mut planned.warnings);
    if options.mode != (Mode::Provision { dry_run: false }) {
        let left = files::leftovers(&planned.nodes);
        if !left.is_empty() {
            report.warnings.push(Finding::warning_text(Check::Run, format!(
                "{} temp file(s) left by an interrupted eidb run: {}; the next provision removes them",
                left.len(),
                left.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    report.conflicts = planned.plan.conflicts.clone();
    report.mount_records = planned.plan.mount_records.clone();
    report.warnings.extend(
        planned
            .plan
            .notices
            .iter()
            .chain(&planned.plan.warnings)
            .map(findings::of_conflict),
    );
    if options.mode != Mode::Verify {
        // In verify they are findings.
        report
            .warnings
            .extend(planned.plan.problems.iter().cloned());
        report
            .warnings
            .extend(planned.plan.columns.iter().map(|c| Finding {
                subject: format!("database {}", c.database),
                check: Check::Column,
                expected: None,
                found: Some(c.describe()),
                fix: format!(
                    "eidb changes an existing column only with --reapply-changed-script (it would run `{}`)",
                    c.sql
                ),
                location: None,
            }));
    }
    if let (Some(server), Mode::Provision { dry_run: false }) = (&planned.server, options.mode) {
        // People see what decides success before anything changes, not after.
        options
            .progress
            .block(&crate::cli::report::preflight_block(&server.preflight));
        report.preflight_printed = options.progress.enabled();
    }
    let dry_run = options.mode == (Mode::Provision { dry_run: true });
    report.changes = change_reports(&planned.plan.changes, planned.server.as_ref(), dry_run);

    let code = match options.mode {
        Mode::Verify => {
            report.findings = findings::findings(&planned.plan);
            if observed.selection.from_records {
                // No EI_HOME here: the nodes' records in the database stand in for their files.
                let account =
                    node_runs::nodes_account(&spec, &observed.admins, &observed.secrets.account);
                let conn = planned.server.as_mut().map(|s| &mut s.conn);
                let (found, note) =
                    node_runs::verify(&spec, &spec_digest, conn, account.as_ref()).await?;
                report.findings.extend(found);
                report
                    .warnings
                    .push(Finding::warning_text(Check::Run, note));
            }
            if let Some(server) = planned.server.as_mut() {
                let read_back = timings::step("members", server.read_back_members()).await?;
                report
                    .warnings
                    .extend(read_back.unreachable.iter().map(|(member, why)| Finding {
                        subject: format!("member {member}"),
                        check: Check::MemberUnreachable,
                        expected: None,
                        found: Some(format!("could not be checked: {why}")),
                        fix: String::new(),
                        location: None,
                    }));
                let in_use = server.endpoint.describe();
                for (member, difference) in read_back.disagreements {
                    report
                        .findings
                        .push(findings::member_disagrees(&member, &in_use, difference));
                }
            }
            // What provision would change, with the held-back status it would give each: the same
            // list the dry run shows.
            report.planned = std::mem::take(&mut report.changes);
            report.conflicts.clear();
            let in_sync = planned.plan.in_sync(report.findings.len());
            report.status = if in_sync {
                Status::InSync
            } else {
                Status::Drift
            };
            if in_sync {
                EXIT_OK
            } else {
                EXIT_FAILURE
            }
        }
        Mode::Provision { dry_run: true } => {
            report.status = if planned.plan.is_empty() {
                Status::Unchanged
            } else {
                Status::Planned
            };
            if !planned.plan.conflicts.is_empty() {
                EXIT_FAILURE
            } else if options.detailed_exitcode && !planned.plan.changes.is_empty() {
                EXIT_CHANGES_PENDING
            } else {
                EXIT_OK
            }
        }
        Mode::Provision { dry_run: false } => {
            if !planned.plan.conflicts.is_empty() {
                // Nothing was changed: what the run would have done is planned, not changes.
                report.planned = std::mem::take(&mut report.changes);
                report.status = Status::Failed;
                report.preflight = planned.server.map(|s| s.preflight);
                return Err(Error::failure(format!(
                    "{} conflict(s) must be resolved first; nothing was changed",
                    planned.plan.conflicts.len()
                )));
            }
            // Before any change, database or file: a file that cannot be replaced is found now, not
            // after the databases were made; and what a run killed in its file phase left is removed.
            let leftovers = files::remove_leftovers(&planned.nodes);
            if !leftovers.is_empty() {
                options.progress.line(&format!(
                    "removed {} temp file(s) an interrupted run left: {}",
                    leftovers.len(),
                    leftovers
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            files::check_replaceable(&planned.plan.changes).inspect_err(|_| {
                report.status = Status::Failed;
                report.planned = std::mem::take(&mut report.changes);
            })?;
            let Applied {
                applied,
                held_back,
                warnings,
            } = match apply_plan(&mut planned, &options).await {
                Ok(outcome) => outcome,
                Err(e) => {
                    // The closing line on stdout says the run failed; what it had planned is not what it
                    // did, so the planned changes are not listed as if applied (stderr says what was done).
                    report.status = Status::Failed;
                    report.changes.clear();
                    report.preflight = planned.server.map(|s| s.preflight);
                    report.elapsed_ms = started.elapsed().as_millis();
                    return Err(e);
                }
            };
            // What was applied: the plan made under the lock, which may differ from the first one.
            report.changes = change_reports(&applied, planned.server.as_ref(), false);
            report.held_back = change_reports(&held_back, planned.server.as_ref(), false);
            let repaired: Vec<&crate::core::mounts::RepairMountRecord> = applied
                .iter()
                .filter_map(|c| match c {
                    Change::RepairMountRecord(repair) => Some(repair),
                    _ => None,
                })
                .collect();
            crate::core::mounts::mark_repaired(&mut report.mount_records, &repaired);
            report.warnings.extend(
                warnings
                    .into_iter()
                    .map(|w| Finding::warning_text(Check::Run, w)),
            );
            // The nodes' records: enabled by the admin, written per node with the nodes' account.
            if let Some(server) = planned.server.as_mut() {
                let hosts = server.desired.account.hosts.clone();
                let (conn, endpoint) = (&mut server.conn, &server.endpoint);
                let backslashes = server.dialect.backslashes;
                if let Some(warning) =
                    node_runs::enable(conn, endpoint, &spec, &hosts, backslashes).await
                {
                    report
                        .warnings
                        .push(Finding::warning_text(Check::Run, warning));
                }
            }
            let held_nodes: Vec<String> = held_back.iter().map(Change::subject).collect();
            let recorded: Vec<DesiredNode> = planned
                .nodes
                .iter()
                .filter(|n| !held_nodes.contains(&format!("node {}", n.name)))
                .cloned()
                .collect();
            // With the database part, the account goes the admin's way, which answers from here; a node
            // run goes the nodes' way (their JDBC host), as the node does.
            let account = match planned.server.as_ref() {
                Some(server) => Some(
                    server
                        .endpoint
                        .as_account(&spec.account.name, &observed.secrets.account),
                ),
                None => {
                    node_runs::nodes_account(&spec, &observed.admins, &observed.secrets.account)
                }
            };
            let not_recorded = node_runs::record(
                &spec,
                &spec_digest,
                &recorded,
                account.as_ref(),
                &options.progress,
            )
            .await;
            if target.node.is_empty() {
                // A cluster run from one machine does not need the records: said, not warned.
                not_recorded.iter().for_each(|w| options.progress.line(w));
            } else {
                report.warnings.extend(
                    not_recorded
                        .into_iter()
                        .map(|w| Finding::warning_text(Check::Run, w)),
                );
            }
            if let Some(server) = planned.server.as_mut() {
                report.warnings.append(&mut server.warnings);
                server.keep_columns().await;
            }
            report.status = if !held_back.is_empty() {
                Status::HeldBack
            } else if applied.is_empty() {
                Status::Unchanged
            } else {
                Status::Changed
            };
            if held_back.is_empty() {
                EXIT_OK
            } else {
                EXIT_HELD_BACK
            }
        }
    };
    if options.mode != Mode::Verify {
        if let Some(server) = &planned.server {
            let done: Vec<Change> = report.changes.iter().map(|c| c.change.clone()).collect();
            report.databases = database_summaries(&server.desired, &done, dry_run);
        }
    }
    if let Some(server) = planned.server {
        report.preflight = Some(server.preflight);
        connect::close(server.conn).await;
    }
    say_spec_path(report, &target.config);
    report.elapsed_ms = started.elapsed().as_millis();
    Ok(code)
}

/// Every fix (of findings, warnings and conflicts) says the spec the user actually passed where the plan
/// wrote `--config SPEC`.
fn say_spec_path(report: &mut Report, spec: &std::path::Path) {
    let path = spec.display().to_string();
    // Quoted for a shell when it needs it, so that the fix can be copied as it is.
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@=".contains(c);
    let with_path = if path.chars().all(plain) {
        format!("--config {path}")
    } else {
        format!("--config '{}'", path.replace('\'', "'\\''"))
    };
    let fixes = report
        .findings
        .iter_mut()
        .chain(report.warnings.iter_mut())
        .map(|f| &mut f.fix)
        .chain(report.conflicts.iter_mut().map(|c| &mut c.fix));
    for fix in fixes {
        if fix.contains("--config SPEC") {
            *fix = fix.replace("--config SPEC", &with_path);
        }
    }
}

/// The changes for the report, with their SQL (passwords masked) in a dry run.
fn change_reports(
    changes: &[Change],
    server: Option<&ServerSide>,
    with_sql: bool,
) -> Vec<ChangeReport> {
    let holds = plan::holds(changes);
    changes
        .iter()
        .zip(holds)
        .map(|(change, hold)| ChangeReport {
            subject: change.subject(),
            summary: change.summary(),
            destructive: change.destructive(),
            held_with: hold.and_then(|h| h.with),
            sql: match server {
                Some(server) if with_sql => {
                    let desired = &server.desired;
                    let mut sql = apply::sql(change, desired, server.dialect, Secrets::Masked);
                    sql.extend(apply::script_sql(change, desired).iter().map(|s| {
                        format!(
                            "-- {}:{}: {}",
                            desired.script.file_name(),
                            s.line,
                            s.sql.lines().next().unwrap_or_default()
                        )
                    }));
                    if let Change::ApplyScript { columns, .. } = change {
                        sql.extend(columns.iter().map(|c| c.sql.clone()));
                    }
                    sql
                }
                _ => Vec::new(),
            },
            change: change.clone(),
        })
        .collect()
}

/// Per database: created, completed, or already in place.
fn database_summaries(
    desired: &DesiredServer,
    changes: &[Change],
    dry_run: bool,
) -> Vec<DatabaseSummary> {
    desired
        .databases
        .iter()
        .map(|database| {
            let created = changes.iter().any(
                |c| matches!(c, Change::CreateDatabase { database: d, .. } if d == &database.name),
            );
            let script = changes.iter().find_map(|c| match c {
                Change::ApplyScript {
                    database: d,
                    statements,
                    total,
                    ..
                } if d == &database.name => Some((statements.len(), *total)),
                _ => None,
            });
            let state = match (created, script, dry_run) {
                (true, _, true) => "to be created".to_string(),
                (true, Some((n, _)), false) => format!("created, {n} statements run"),
                (true, None, false) => "created".to_string(),
                (false, Some((n, total)), true) => format!("{n} of {total} statements to run"),
                (false, Some((0, _)), false) => "brought up to the script".to_string(),
                (false, Some((n, total)), false) => {
                    format!("completed: {n} of {total} statements run")
                }
                (false, None, _) => "in place".to_string(),
            };
            DatabaseSummary {
                name: database.name.clone(),
                role: database.role.clone(),
                state,
            }
        })
        .collect()
}

type PlanError = (Error, Option<Preflight>);

/// The spec and what is read for it once, at the edge, before anything is derived from it: its
/// passwords (from the environment, files or the prompt), that its CA file is there, and each node's
/// driver jar.
struct Observed<'a> {
    spec: &'a Spec,
    secrets: secret::Secrets,
    /// The admin connection to each of the spec's servers (with the admin's password).
    admins: Vec<Endpoint>,
    /// The Connector/J jar found in each node's `lib/`, in spec order (unknown for a node not chosen).
    drivers: Vec<desired::Driver>,
    /// The nodes whose files this run reads and writes (`--node`).
    selection: crate::cli::selection::Selection,
}

impl Observed<'_> {
    fn read<'a>(
        spec: &'a Spec,
        with_server: bool,
        selection: &crate::cli::selection::Selection,
    ) -> Result<Observed<'a>> {
        let secrets = secret::Secrets::read(spec, with_server)?;
        if let (Some(ca), Some(at)) = (&spec.server.ssl.ca, &spec.server.ssl_ca_at) {
            if !ca.is_file() {
                return Err(Error::input(format!(
                    "{at}: {} is not a file",
                    ca.display()
                )));
            }
        }
        Ok(Observed {
            spec,
            admins: Endpoint::admins(&spec.server, &secrets.admin),
            secrets,
            // A node not chosen is on another host: not even its lib/ is looked at.
            drivers: spec
                .nodes
                .iter()
                .zip(&selection.chosen)
                .map(|(n, chosen)| match chosen {
                    true => files::find_driver(&n.ei_home),
                    false => desired::Driver {
                        jar: None,
                        major: None,
                    },
                })
                .collect(),
            selection: selection.clone(),
        })
    }
}

/// Read the spec file, then parse and validate it (the parse reads nothing else); with the SHA-256 of the
/// text read, which the nodes' records keep (`crate::core::node_records`).
fn load_spec(path: &std::path::Path) -> Result<(Spec, String)> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(format!("cannot read the spec {}: {e}", path.display()))
            .with_hint("pass the cluster spec with --config FILE")
    })?;
    let digest = crate::core::node_records::sha256_hex(text.as_bytes());
    Ok((Spec::parse(&text, path)?, digest))
}

/// Two nodes on one EI_HOME (after resolving symlinks) would each rewrite the other's files: bad input,
/// found before anything changes.
fn distinct_homes(spec: &Spec, chosen: &[bool]) -> Result<()> {
    let mut seen: std::collections::BTreeMap<std::path::PathBuf, &str> = Default::default();
    for (node, _) in spec.nodes.iter().zip(chosen).filter(|(_, c)| **c) {
        let home = node
            .ei_home
            .canonicalize()
            .unwrap_or_else(|_| node.ei_home.clone());
        if let Some(other) = seen.insert(home.clone(), &node.name) {
            return Err(Error::input(format!(
                "nodes {other} and {} have the same ei_home ({})",
                node.name,
                home.display()
            ))
            .with_hint(
                "every [[nodes]] entry is one EI installation: give each its own ei_home; nodes on different \
                 hosts may share the path, and then each host runs its own node's part with `--node NAME`",
            ));
        }
    }
    // The chosen nodes' files only: the others are on other hosts (where the same path is another file).
    let homes: Vec<(&str, &std::path::Path)> = spec
        .nodes
        .iter()
        .zip(chosen)
        .filter(|(_, c)| **c)
        .map(|(n, _)| (n.name.as_str(), n.ei_home.as_path()))
        .collect();
    files::distinct_files(&homes)
}

/// Whether the server takes the spec's password for the nodes' account (`--files-only`, no admin access):
/// `Some(false)` only when the server answered with access denied (1045), `None` when it could not be asked.
/// Tried the nodes' way (their JDBC host and port) first, then the admin URL's host.
async fn password_taken(observed: &Observed<'_>) -> Option<bool> {
    let spec = observed.spec;
    let mut ways: Vec<Endpoint> =
        node_runs::nodes_account(spec, &observed.admins, &observed.secrets.account)
            .into_iter()
            .collect();
    ways.extend(
        observed
            .admins
            .first()
            .map(|a| a.as_account(&spec.account.name, &observed.secrets.account)),
    );
    // A refusal one way (a server that requires TLS refuses a plain login with 1045 too) is not the
    // last word while another way gets in.
    let mut refused = false;
    for way in ways {
        match way.connect_raw(None).await {
            Ok(conn) => {
                crate::server::connect::close(conn).await;
                return Some(true);
            }
            Err(e) if crate::server::codes::mysql_code(&e) == Some(1045) => refused = true,
            Err(_) => {}
        }
    }
    refused.then_some(false)
}

async fn plan_everything(
    observed: &Observed<'_>,
    options: &Options<'_>,
) -> std::result::Result<Planned, PlanError> {
    let (target, progress) = (options.target, &options.progress);
    let (spec, drivers) = (observed.spec, &observed.drivers);
    let mut warnings = Vec::new();
    let with_files = !target.db_only;
    let with_server = !target.files_only;
    if with_files {
        distinct_homes(spec, &observed.selection.chosen).map_err(|e| (e, None))?;
    }
    // Every node's files, read once, on a thread of their own while the server is connected to: they need
    // nothing of it. The file plan edits them, and the mount-record check takes the storage settings of
    // registry.xml (with --db-only too, where a node that cannot be read is left out).
    // Only the chosen nodes' (`--node`): the others are on other hosts.
    let homes: Vec<Option<(String, std::path::PathBuf)>> = spec
        .nodes
        .iter()
        .zip(&observed.selection.chosen)
        .map(|(n, chosen)| chosen.then(|| (n.name.clone(), n.ei_home.clone())))
        .collect();
    let clustering_files = files::clustering_files(spec);
    let reading_files = tokio::task::spawn_blocking(move || {
        timings::own("node files", || {
            homes
                .iter()
                .map(|home| {
                    home.as_ref().map(|(name, home)| {
                        files::observe(name, home).and_then(|seen| {
                            files::observe_clustering(seen, home, &clustering_files)
                        })
                    })
                })
                .collect::<Vec<_>>()
        })
    });

    let mut server = None;
    let mut facts = None;
    let mut ownership = ledger::Ownership::default();
    if with_server {
        let mut read_again = Retry::READ_AGAIN.start();
        let (endpoint, mut conn, server_facts) = loop {
            let (endpoint, mut conn) = members::connect_first_usable(
                &observed.admins,
                Duration::from_secs(target.wait),
                progress,
            )
            .await
            .map_err(|e| (e, None))?;
            match timings::step("facts", facts::read(&mut conn, target.server_os.as_deref())).await
            {
                Ok(server_facts) => break (endpoint, conn, server_facts),
                Err(e) if e.connection_lost && read_again.may_retry() => {
                    read_again.pause().await;
                    progress.line(&format!("{}; reading the server again", e.message));
                }
                Err(e) => return Err((e, None)),
            }
        };
        progress.line(&format!(
            "connected to {} ({})",
            endpoint.describe(),
            server_facts.describe()
        ));
        // Which database each node was given before: the nodes keep them, whatever their order now.
        ownership = timings::step(
            "ledger ownership",
            ledger::read_ownership(
                &mut conn,
                &spec.databases.metadata,
                &spec.cluster,
                &spec.account.name,
            ),
        )
        .await
        .map_err(|e| (e, None))?;
        facts = Some(server_facts);
        server = Some((conn, endpoint));
    }
    let mut node_files = Vec::new();
    for seen in joined(reading_files).await {
        node_files.push(match seen {
            Some(Ok(seen)) => Some(seen),
            Some(Err(e)) if with_files => return Err((e, None)),
            Some(Err(_)) | None => None,
        });
    }
    // Which database each node's files use now: a node keeps its own, and is never given another node's,
    // with the ledger's records or without them (--files-only).
    // The nodes whose files log in as the cluster's account now: a password change is theirs to lose.
    let on_account: Vec<String> = spec
        .nodes
        .iter()
        .zip(&node_files)
        .filter(|(_, seen)| {
            seen.as_ref()
                .is_some_and(|seen| crate::node::plan::uses_account(seen, &spec.account.name))
        })
        .map(|(node, _)| node.name.clone())
        .collect();
    let in_files: Vec<Option<String>> = node_files
        .iter()
        .map(|seen| {
            seen.as_ref()
                .and_then(crate::node::plan::local_registry_in_use)
        })
        .collect();
    // A node's own run without admin access (`--files-only --node`): the other nodes' files are on other
    // hosts, so which database each node was given comes from the ledger, read with the nodes' account.
    // A chosen node whose database nothing says is refused: numbering it by spec order could point it at
    // another node's live local registry.
    if !with_server && observed.selection.chosen.iter().any(|c| !c) {
        let account = node_runs::nodes_account(spec, &observed.admins, &observed.secrets.account);
        let assigned = match &account {
            Some(account) => {
                crate::server::node_records::read_assignments(
                    account,
                    &spec.databases.metadata,
                    &spec.cluster,
                )
                .await
            }
            None => None,
        };
        if let Some(assigned) = assigned {
            ownership.nodes = assigned.into_iter().collect();
        }
        for node in desired::nodes_without_known_database(
            spec,
            &observed.selection.chosen,
            &ownership.nodes,
            &in_files,
        ) {
            let unknown = format!(
                "node {node}: which local registry database it was given is not known here: its files name none, \
                 the spec names none, and the ledger could not be read with the nodes' account"
            );
            // A dry run or a verify changes nothing: it shows the plan with the spec's order, and says so.
            if !matches!(options.mode, Mode::Provision { dry_run: false }) {
                warnings.push(Finding::warning_text(
                    Check::Run,
                    format!(
                        "{unknown}; the plan numbers it by its place in the spec, which a real run refuses to do: \
                         run the database part first (`eidb provision --db-only`)"
                    ),
                ));
                continue;
            }
            return Err((
                Error::input(unknown).with_hint(
                    "run the database part first (`eidb provision --db-only`, which gives every node its database \
                     and lets the nodes' account read that), or name it in the spec (local_registry = \"...\")",
                ),
                None,
            ));
        }
    }
    let records = desired::records_with_files(spec, &ownership.nodes, &in_files);
    let local = desired::assign_local_registries(spec, &records).map_err(|e| (e, None))?;

    let nodes = desired::nodes(
        spec,
        &observed.secrets.account,
        facts.as_ref(),
        drivers,
        &local,
    );
    if target.files_only
        && spec.jdbc.allow_public_key_retrieval.is_none()
        && drivers.iter().any(|d| d.speaks_caching_sha2())
        && !spec.jdbc.use_ssl
    {
        warnings.push(Finding::warning_text(
            Check::Run,
            "files only: the server was not asked whether it is MySQL 8, so allowPublicKeyRetrieval=true is written for the \
             Connector/J 8 nodes; set jdbc.allow_public_key_retrieval in the spec to decide it yourself",
        ));
    }

    let registry_texts: Vec<Option<String>> = node_files
        .iter()
        .map(|seen| {
            seen.as_ref()
                .map(|s| s.text(files::ConfFile::Registry).to_owned())
        })
        .collect();

    // Compute and validate every file edit before anything changes anywhere: on a thread of their own,
    // beside the server's reads below, which they need nothing of.
    let planning_files = with_files.then(|| {
        let (nodes, keep_mode) = (nodes.clone(), spec.node_files.keep_mode);
        tokio::task::spawn_blocking(move || {
            timings::own("node plans", || {
                let mut out = crate::node::plan::NodePlan::default();
                for (node, seen) in nodes.iter().zip(&node_files) {
                    // A node not chosen (`--node`) has no files here.
                    let Some(seen) = seen.as_ref() else {
                        continue;
                    };
                    let node_plan = crate::node::plan::plan(node, seen, keep_mode)?;
                    out.changes.extend(node_plan.changes);
                    out.warnings.extend(node_plan.warnings);
                    out.problems.extend(node_plan.problems);
                }
                Ok::<_, Error>(out)
            })
        })
    });

    let mut plan = Plan::default();
    let mut planning_files = planning_files;
    let mut file_plan = None;
    let mut server_side = match (server, facts) {
        (Some((conn, endpoint)), Some(facts)) => {
            // Everything here only reads: a connection dropped while reading (a restart, a KILL) is
            // reconnected and the server read again from the start.
            let connected = (conn, endpoint, facts.clone());
            let mut attempt = plan_server(
                observed,
                connected,
                (&nodes, &registry_texts),
                &local,
                ownership.clone(),
                options,
                &mut plan,
            )
            .await;
            let mut read_again = Retry::READ_AGAIN.start();
            while let Err((e, _)) = &attempt {
                if !e.connection_lost || !read_again.may_retry() {
                    break;
                }
                read_again.pause().await;
                progress.line(&format!("{}; reading the server again", e.message));
                let (endpoint, conn) = members::connect_first_usable(
                    &observed.admins,
                    Duration::from_secs(target.wait).max(crate::timeouts::get().ledger_reconnect),
                    progress,
                )
                .await
                .map_err(|e| (e, None))?;
                let connected = (conn, endpoint, facts.clone());
                attempt = plan_server(
                    observed,
                    connected,
                    (&nodes, &registry_texts),
                    &local,
                    ownership.clone(),
                    options,
                    &mut plan,
                )
                .await;
            }
            // A node whose files cannot be planned is reported before anything the server said.
            if let Some(planning) = planning_files.take() {
                file_plan = Some(joined(planning).await.map_err(|e| (e, None))?);
            }
            Some(attempt?)
        }
        _ => None,
    };
    let mut file_changes = Vec::new();
    let mut problems = Vec::new();
    let file_plan = match (file_plan, planning_files) {
        (Some(done), _) => Some(done),
        (None, Some(planning)) => Some(joined(planning).await.map_err(|e| (e, None))?),
        (None, None) => None,
    };
    if let Some(file_plan) = file_plan {
        file_changes = file_plan.changes;
        warnings.extend(file_plan.warnings);
        problems = file_plan.problems;
    }
    // Moving a datasource away from a database that does not exist leaves nothing behind: only moves
    // away from existing databases are destructive. Without the server (--files-only) every move counts.
    if let Some(side) = server_side.as_mut() {
        let from = plan::repointed_from(&file_changes);
        if !from.is_empty() {
            let existing = side
                .existing_databases(&from)
                .await
                .map_err(|e| (e, None))?;
            plan::keep_repoints_from_existing(&mut file_changes, &existing);
        }
    }
    if let Some(side) = &server_side {
        warnings.extend(
            side.preflight
                .checks
                .iter()
                .filter(|c| c.outcome == Outcome::Warning)
                .map(|c| Finding {
                    subject: "server".to_string(),
                    check: Check::Preflight,
                    expected: None,
                    found: Some(format!("{}: {}", c.name, c.detail)),
                    fix: String::new(),
                    location: None,
                }),
        );
    }
    problems.extend(crate::node::plan::shared_local_registries(
        &nodes,
        &file_changes,
    ));
    let wanted: Vec<(String, Option<String>)> = nodes
        .iter()
        .map(|n| (n.name.clone(), n.local_registry.clone()))
        .collect();
    let used: Vec<(String, Option<String>)> =
        nodes.iter().map(|n| n.name.clone()).zip(in_files).collect();
    plan::mark_takeovers(&mut file_changes, &wanted, &used);
    // --files-only reads no mount records: a mount whose target moves waits for a run that can check them
    // (the node follows registry.xml at every start, and its records may still name the old target).
    if target.files_only {
        for change in &file_changes {
            let moves = plan::mount_target_moves(change);
            if let (false, Change::EditFile { node, .. }) = (moves.is_empty(), change) {
                plan.changes.push(Change::CheckMountRecords {
                    node: node.clone(),
                    reason: format!(
                        "moves node {node}'s mounts ({}); its mount records in its local registry are not read \
                         with --files-only, and may still name the old target: run provision with admin access \
                         (it checks and repairs them), or allow it",
                        moves.join("; ")
                    ),
                });
            }
        }
    }
    // --files-only cannot change the account's password: a new one goes into the files only once the
    // server takes it, else every node would hold a password the server refuses at its next start.
    if target.files_only
        && file_changes.iter().any(|c| {
            matches!(
                c,
                Change::EditFile {
                    carries_password: true,
                    ..
                }
            )
        })
    {
        match password_taken(observed).await {
            // A node not on the account yet (a new node, still on H2) had no login to lose: its edits go on.
            Some(false) if !on_account.is_empty() => {
                for change in file_changes.iter_mut() {
                    if let Change::EditFile {
                        node,
                        carries_password,
                        ..
                    } = change
                    {
                        if !on_account.contains(node) {
                            *carries_password = false;
                        }
                    }
                }
                plan.changes.push(Change::AwaitAccountPassword {
                account: spec.account.name.clone(),
                reason: format!(
                    "the server refuses the spec's password for account {}: the nodes would be locked out at \
                     their next start; change the account's password first (`eidb provision --db-only \
                     --allow-destructive`, see docs/rotate-password.md), then run --files-only again",
                    spec.account.name
                ),
            });
            }
            Some(_) => {}
            None => warnings.push(Finding::warning_text(Check::Run, format!(
                "files only: the server could not be asked whether it takes the spec's password for account {}: \
                 the files get it all the same; run `eidb verify` once the server answers",
                spec.account.name
            ))),
        }
    }
    if with_files {
        problems.extend(crate::node::clustering::loopback_members(&nodes));
        warnings.extend(
            crate::node::clustering::restart_warning(&nodes, &file_changes)
                .map(|w| Finding::warning_text(Check::Run, w)),
        );
    }
    plan.changes.extend(file_changes);
    plan.problems = problems;
    let nodes = match with_files {
        true => nodes
            .into_iter()
            .zip(&observed.selection.chosen)
            .filter_map(|(node, chosen)| chosen.then_some(node))
            .collect(),
        false => Vec::new(),
    };
    Ok(Planned {
        plan,
        server: server_side,
        nodes,
        warnings,
    })
}

/// What a thread of eidb's own returned; its panic goes on in this thread.
async fn joined<T>(task: tokio::task::JoinHandle<T>) -> T {
    match task.await {
        Ok(output) => output,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("a task of eidb's own was cancelled: {e}"),
        },
    }
}

async fn plan_server(
    observed: &Observed<'_>,
    (mut conn, endpoint, facts): (MySqlConnection, Endpoint, ServerFacts),
    (nodes, registry_texts): (&[DesiredNode], &[Option<String>]),
    local: &desired::LocalRegistries,
    ownership: ledger::Ownership,
    options: &Options<'_>,
    plan: &mut Plan,
) -> std::result::Result<ServerSide, PlanError> {
    let spec = observed.spec;
    let reapply_changed_script = options.reapply_changed_script;
    let (script, other_variant) = timings::own("dbscript", || {
        let (path, because) = dbscripts::choose(&spec.dbscript, &facts)?;
        let script = Arc::new(dbscripts::load(&path, because)?);
        // A database built by hand may come from the other variant of the Carbon script in the same folder.
        let other_variant = dbscripts::other_variant(&path)
            .and_then(|other| dbscripts::load(&other, "the other variant".into()).ok())
            .map(Arc::new);
        Ok::<_, Error>((script, other_variant))
    })
    .map_err(|e| (e, None))?;
    let desired = desired::server(
        spec,
        &observed.secrets.account,
        &facts,
        nodes,
        local,
        script.clone(),
        other_variant,
    );
    // The connections the reads beside the inspection need, opened now, while the rest of the pre-flight
    // is read: their handshakes are then over when the inspection starts.
    let opening = (
        connect::Opening::start(&endpoint),
        connect::Opening::start(&endpoint),
    );
    let session = timings::step(
        "session",
        columns::session_settings(&mut conn, facts.flavour),
    )
    .await
    .map_err(|e| (e, None))?;
    let session_sql_mode = session
        .iter()
        .find(|(name, _)| name == "sql_mode")
        .map_or("", |(_, value)| value.as_str());
    let dialect = Dialect::new(&facts, session_sql_mode);
    let columns_fingerprint =
        crate::core::sql::columns::fingerprint(&desired.script.statements, &session);
    let kept_columns = timings::step(
        "ledger columns",
        ledger::read_columns(&mut conn, &spec.databases.metadata, &columns_fingerprint),
    )
    .await;

    let reads = timings::step(
        "preflight",
        crate::server::preflight::read(&observed.admins, (&endpoint, &mut conn), &facts, &desired),
    )
    .await
    .map_err(|e| (e, None))?;
    let admin = Admin {
        described: endpoint.describe(),
        user: &endpoint.user,
    };
    let (preflight, refusal) =
        preflight::decide(spec, admin, &facts, &desired, &reads).map_err(|e| (e, None))?;
    // What would make provisioning fail (an admin that may not create accounts, a charset whose keys are
    // too long) is no reason not to look: verify only reads, and the pre-flight block still says it.
    if let (Some(refusal), false) = (refusal, options.mode == Mode::Verify) {
        opening.0.discard().await;
        opening.1.discard().await;
        return Err((refusal, Some(preflight)));
    }
    let members = members::others(&observed.admins, &endpoint);
    let nodes_way = Endpoint {
        host: spec.server.jdbc_host.clone(),
        port: spec.server.jdbc_port,
        tls: crate::core::spec::AdminTls {
            mode: if spec.jdbc.use_ssl {
                crate::core::spec::SslMode::Required
            } else {
                crate::core::spec::SslMode::Disabled
            },
            ca: None,
        },
        ..endpoint.clone()
    };
    let mut side = ServerSide {
        conn,
        endpoint,
        dialect,
        desired,
        preflight,
        metadata_db: spec.databases.metadata.clone(),
        reapply_changed_script,
        members,
        nodes_way,
        warnings: Vec::new(),
        ownership_read_first: Some(ownership),
        script_columns: None,
        columns_refused: None,
        columns_fingerprint,
        kept_columns,
        columns_to_keep: None,
        opening: Some(opening),
        mount_inputs: nodes
            .iter()
            .zip(registry_texts)
            .filter_map(|(node, registry_xml)| {
                crate::node::mounts::input_for_spec_node(
                    node,
                    &spec.account.name,
                    &spec.databases.shared_registry,
                    registry_xml.as_deref(),
                )
            })
            .collect(),
    };
    match side.plan().await {
        Ok(server_plan) => {
            plan.changes.extend(server_plan.changes);
            plan.conflicts.extend(server_plan.conflicts);
            plan.notices.extend(server_plan.notices);
            plan.warnings.extend(server_plan.warnings);
            plan.unchecked.extend(server_plan.unchecked);
            plan.columns.extend(server_plan.columns);
            plan.mount_records.extend(server_plan.mount_records);
            Ok(side)
        }
        Err(e) => Err((e, Some(side.preflight))),
    }
}

/// Can the account log in with the spec's password? Asked only when the row the server would pick for
/// this machine is one of the spec's: the server sorts the rows of the account's name and the anonymous
/// rows by how specific their host is and takes the first that matches the client, so from here another
/// row may stand in for the spec's (or none may match at all). After a login, `CURRENT_USER()` says which
/// row the server really used.
async fn check_login(
    admin: &mut MySqlConnection,
    endpoint: &Endpoint,
    nodes_way: Option<&Endpoint>,
    desired: &DesiredServer,
    actual: &observed::Actual,
) -> Login {
    let client: String = sqlx::raw_sql("SELECT SUBSTRING_INDEX(USER(), '@', -1)")
        .fetch_one(&mut *admin)
        .await
        .ok()
        .and_then(|row| row.try_get(0).ok())
        .unwrap_or_default();
    let spec_row = |host: &str| {
        desired
            .account
            .hosts
            .iter()
            .any(|h| observed::host_key(h) == observed::host_key(host))
    };
    match crate::core::matching::winning_row(actual, &client) {
        None => {
            return Login::Unknown(format!(
            "this machine reaches the server as {client}, which none of the account's rows matches"
        ))
        }
        Some((named, host)) if !named || !spec_row(&host) => {
            let user = if named {
                desired.account.name.as_str()
            } else {
                ""
            };
            return Login::Unknown(format!(
                "from this machine ({client}) the server picks '{user}'@'{host}', not one of the spec's rows"
            ));
        }
        Some(_) => {}
    }
    // As the nodes connect (their JDBC host, port and TLS) when that address is reachable from here, and
    // through the admin's way too: a server that requires TLS refuses a plain login with the same 1045 as
    // a wrong password, and only the second way tells the two apart.
    let login = |via: &Endpoint| {
        let account = via.as_account(&desired.account.name, &desired.account.password);
        // An address that does not answer from here (a VIP for the nodes only) must not hold the run.
        async move {
            let attempt = async {
                let mut conn = account.connect_raw(None).await?;
                let row = sqlx::raw_sql("SELECT CURRENT_USER()")
                    .fetch_one(&mut conn)
                    .await;
                connect::close(conn).await;
                let row: String = row?.try_get(0)?;
                Ok::<String, sqlx::Error>(row)
            };
            retry::within(members::connect_limit(), attempt).await
        }
    };
    let through = |current_user: &str| {
        let host = current_user.rsplit_once('@').map_or("", |(_, h)| h);
        if spec_row(host) {
            Login::Works
        } else {
            Login::Through(format!("'{}'@'{host}'", desired.account.name))
        }
    };
    let refused = |e: &sqlx::Error| crate::server::codes::mysql_code(e) == Some(1045);
    let nodes_outcome = match nodes_way {
        Some(via) => Some(login(via).await),
        None => None,
    };
    if let Some(Ok(current_user)) = &nodes_outcome {
        return through(current_user);
    }
    match (login(endpoint).await, nodes_outcome) {
        (Ok(_), Some(Err(e))) if refused(&e) => {
            Login::RefusedToNodes(crate::redact::redact(&e.to_string()))
        }
        (Ok(current_user), Some(Err(e))) => match through(&current_user) {
            Login::Works => Login::WorksNotAsNodes(format!(
                "{} does not answer from here ({})",
                // The check logs in there as the nodes' account, not as the admin.
                nodes_way
                    .map(|via| via
                        .as_account(&desired.account.name, &desired.account.password)
                        .describe())
                    .unwrap_or_default(),
                crate::redact::redact(&e.to_string())
            )),
            other => other,
        },
        (Ok(current_user), _) => through(&current_user),
        (Err(e), _) if refused(&e) => Login::Fails,
        (Err(e), _) => Login::Unknown(format!(
            "the login check was not possible: {}",
            crate::redact::redact(&e.to_string())
        )),
    }
}

/// What a provision did: the changes it applied, the ones it held back (destructive ones and those that
/// depend on them), and what people must do now (restart nodes).
#[derive(Default)]
struct Applied {
    applied: Vec<Change>,
    held_back: Vec<Change>,
    warnings: Vec<String>,
}

/// Apply the plan. What is held back is decided on the whole plan, server and files together
/// (`Plan::applicable`): a file edit that depends on a held-back change waits with it. The server half is
/// planned again under the run lock, so a run that waited for another applies only what is still missing.
async fn apply_plan(planned: &mut Planned, options: &Options<'_>) -> Result<Applied> {
    let progress = &options.progress;
    let file_changes: Vec<Change> = planned
        .plan
        .changes
        .iter()
        .filter(|c| matches!(c, Change::EditFile { .. }))
        .cloned()
        .collect();
    let (now, held_back) = Plan::applicable(&planned.plan.changes, options.allow_destructive);
    let server_now = now.iter().any(|c| !matches!(c, Change::EditFile { .. }));
    let outcome = match (planned.server.as_mut(), server_now) {
        (Some(server), true) => {
            let lock_name = format!("cluster:{}", server.desired.cluster);
            let ledger = Arc::new(tokio::sync::Mutex::new(
                Ledger::open(
                    &server.candidates(),
                    &server.metadata_db,
                    &lock_name,
                    options.lock_wait,
                    progress,
                )
                .await?,
            ));
            let outcome = apply_server_locked(server, &ledger, options, &file_changes).await;
            let (status, error) = match &outcome {
                Ok(_) => ("succeeded", None),
                Err(e) if interrupt::requested() => ("interrupted", Some(e.to_string())),
                Err(e) => ("failed", Some(e.to_string())),
            };
            let ledger = Arc::try_unwrap(ledger)
                .map_err(|_| Error::failure("the ledger is still in use"))
                .map(|m| m.into_inner())?;
            let closed = ledger.close(status, error.as_deref()).await;
            let outcome = outcome?;
            closed?;
            outcome
        }
        _ => {
            let files_now: Vec<Change> = now
                .into_iter()
                .filter(|c| matches!(c, Change::EditFile { .. }))
                .collect();
            interrupt::check("before writing the node files")?;
            let applied = write_files(&files_now, progress)?;
            Applied {
                warnings: restart_for_password(&applied),
                applied,
                held_back,
            }
        }
    };
    for change in &outcome.held_back {
        progress.line(&format!(
            "held back (needs --allow-destructive): {}",
            change.summary()
        ));
    }
    Ok(outcome)
}

/// Write the node file edits (all or none); returns those that changed something. A run that waited for
/// the lock may find its files already written by the run it waited for: those are not changes of this
/// run, and the report must not count them.
fn write_files(files_now: &[Change], progress: &Progress) -> Result<Vec<Change>> {
    let to_write: Vec<Change> = files_now
        .iter()
        .filter(|c| match c {
            Change::EditFile {
                file, after, mode, ..
            } => {
                use std::os::unix::fs::PermissionsExt;
                let content_differs = std::fs::read(file).map_or(true, |now| now != *after);
                let mode_differs = mode.as_ref().is_some_and(|m| {
                    std::fs::metadata(file)
                        .map_or(true, |meta| meta.permissions().mode() & 0o7777 != m.to)
                });
                content_differs || mode_differs
            }
            _ => false,
        })
        .cloned()
        .collect();
    let written = files::write_all(files_now)?;
    if written > 0 {
        progress.done(&format!("wrote {written} node file(s)"));
    }
    Ok(to_write)
}

/// The nodes whose files a change of the account's password was written into.
fn password_nodes(written: &[Change]) -> Vec<String> {
    let mut nodes: Vec<String> = written
        .iter()
        .filter_map(|c| match c {
            Change::EditFile {
                node,
                carries_password: true,
                ..
            } => Some(node.clone()),
            _ => None,
        })
        .collect();
    nodes.dedup();
    nodes
}

/// A node reads its datasources' passwords only when it starts: the nodes given a new one must be
/// restarted (one at a time keeps the cluster serving).
fn restart_for_password(written: &[Change]) -> Vec<String> {
    let nodes = password_nodes(written);
    if nodes.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "restart {}, one at a time to keep the cluster serving: their datasources now hold the account's \
         password as the spec says it, and a node reads it only when it starts (until then, a node whose \
         password changed opens new connections with its old one)",
        nodes.join(", ")
    )]
}

async fn apply_server_locked(
    server: &mut ServerSide,
    ledger: &SharedLedger,
    options: &Options<'_>,
    file_changes: &[Change],
) -> Result<Applied> {
    let mut fresh = server.plan().await;
    if let Err(e) = &fresh {
        // The admin connection may have dropped while this run waited for the lock.
        if e.connection_lost {
            options
                .progress
                .line(&format!("{}; reading the server again", e.message));
            server.conn = members::reconnect(
                &server.candidates(),
                None,
                crate::timeouts::get().reconnect,
                &options.progress,
            )
            .await?
            .1;
            fresh = server.plan().await;
        }
    }
    let fresh = fresh?;
    if !fresh.conflicts.is_empty() {
        return Err(Error::failure(format!(
            "{} conflict(s) appeared while waiting for the lock; nothing was changed",
            fresh.conflicts.len()
        ))
        .with_hint("run `eidb verify` to see them"));
    }
    // The server half as it is now, with the node files: what waits for what is decided on both.
    let mut all = fresh.changes;
    all.extend(file_changes.iter().cloned());
    let (now, held_back) = Plan::applicable(&all, options.allow_destructive);
    let (files_now, server_now): (Vec<Change>, Vec<Change>) = now
        .into_iter()
        .partition(|c| matches!(c, Change::EditFile { .. }));
    // The account's password changes last, and the node files that carry it are written right after:
    // no node holds a password the server refuses for longer than that one step.
    let (password, changes): (Vec<Change>, Vec<Change>) = server_now
        .into_iter()
        .partition(|c| matches!(c, Change::AlterAccount { .. }));
    let candidates = server.candidates();
    let runner = apply::Runner {
        endpoint: &server.endpoint,
        candidates: &candidates,
        desired: &server.desired,
        dialect: server.dialect,
        parallel: options.parallel,
        ledger: Some(ledger),
        progress: &options.progress,
    };
    apply::apply(&mut server.conn, &changes, &runner).await?;
    interrupt::check("before changing the account's password and writing the node files")?;
    apply::apply(&mut server.conn, &password, &runner).await?;
    let mut warnings = Vec::new();
    let written = match write_files(&files_now, &options.progress) {
        Ok(written) => written,
        Err(e) if !password.is_empty() => {
            let nodes = password_nodes(&files_now);
            let account = &server.desired.account.name;
            return Err(e.context(format!(
                "the password of account {account} was changed on the server, but no node file was written: \
                 {} still hold the old password, which the server now refuses; fix what stopped the write, \
                 then run `eidb provision --config {} --files-only` at once and restart {}",
                if nodes.is_empty() { "the nodes".to_string() } else { nodes.join(", ") },
                options.target.config.display(),
                if nodes.is_empty() { "them".to_string() } else { nodes.join(", ") },
            )));
        }
        Err(e) => return Err(e),
    };
    warnings.extend(restart_for_password(&written));
    if !password.is_empty() && options.target.db_only {
        warnings.push(format!(
            "the password of account {} changed on the server; with --db-only no node file was written: \
             every node still holds the old password, which the server now refuses. Run `eidb provision \
             --config {} --files-only` on the nodes now, then restart them",
            server.desired.account.name,
            options.target.config.display()
        ));
    }
    let mut changes = changes;
    changes.extend(password);
    for change in &changes {
        if let Change::RepairMountRecord(repair) = change {
            let warning = crate::core::mounts::restart_warning(repair);
            options.progress.line(&warning);
            server
                .warnings
                .push(Finding::warning_text(Check::MountRecordStale, warning));
        }
    }
    for warning in &warnings {
        options.progress.line(warning);
    }
    prove_account(server, &held_back, &options.progress).await?;
    let read_back = server.read_back_members().await?;
    if !read_back.disagreements.is_empty() {
        let list: Vec<String> = read_back
            .disagreements
            .iter()
            .map(|(m, d)| format!("{m}: {d}"))
            .collect();
        return Err(Error::failure(format!("after provisioning, members disagree: {}", list.join("; ")))
            .with_hint("check the members' wsrep state (SHOW STATUS LIKE 'wsrep%'); run provision again once they are Synced"));
    }
    for (member, why) in &read_back.unreachable {
        let warning =
            format!("member {member} could not be checked (it catches up when it rejoins): {why}");
        options.progress.line(&warning);
        server.warnings.push(Finding {
            subject: format!("member {member}"),
            check: Check::MemberUnreachable,
            expected: None,
            found: Some(format!(
                "could not be checked (it catches up when it rejoins): {why}"
            )),
            fix: String::new(),
            location: None,
        });
    }
    let checked = server.members.len() - read_back.unreachable.len();
    if checked > 0 {
        options.progress.done(&format!(
            "{checked} other member(s) hold the same databases, tables and grants"
        ));
    }
    changes.extend(written);
    Ok(Applied {
        applied: changes,
        held_back,
        warnings,
    })
}

/// Log in as the account to every database, as the nodes will. A login that the server took through
/// another row than the spec's (`CURRENT_USER()`) proves nothing, and is said so. Skipped when a password
/// reset was held back: the account keeps its old password, as asked.
async fn prove_account(
    server: &ServerSide,
    held_back: &[Change],
    progress: &Progress,
) -> Result<()> {
    let desired = &server.desired;
    if held_back
        .iter()
        .any(|c| matches!(c, Change::AlterAccount { .. }))
    {
        progress.line(&format!(
            "note: the login of {} is not proven: its password or plugin change was held back",
            desired.account.name
        ));
        return Ok(());
    }
    let account = server
        .endpoint
        .as_account(&desired.account.name, &desired.account.password);
    for database in &desired.databases {
        match account.connect(Some(&database.name)).await {
            Ok(mut conn) => {
                let current: String = sqlx::raw_sql("SELECT CURRENT_USER()")
                    .fetch_one(&mut conn)
                    .await
                    .and_then(|row| row.try_get(0))
                    .unwrap_or_default();
                connect::close(conn).await;
                let host = current.rsplit_once('@').map_or("", |(_, h)| h);
                let ours = desired
                    .account
                    .hosts
                    .iter()
                    .any(|h| observed::host_key(h) == observed::host_key(host));
                if !ours {
                    progress.line(&format!(
                        "note: from here the server logs {} in through '{}'@'{host}', not one of the spec's rows; \
                         the spec's rows are not proven from this machine",
                        desired.account.name, desired.account.name
                    ));
                    return Ok(());
                }
            }
            // An account limited to the nodes' addresses may not be usable from where eidb runs.
            Err(e) if !desired.account.hosts.iter().any(|h| h == "%") => {
                progress.line(&format!(
                    "note: could not log in as {} from here ({}); its hosts {:?} may not include this machine",
                    desired.account.name, e.message, desired.account.hosts
                ));
                return Ok(());
            }
            Err(e) => {
                return Err(e.context(format!(
                    "the account {} cannot use {}",
                    desired.account.display("%"),
                    database.name
                )))
            }
        }
    }
    progress.done(&format!(
        "account {} logs in to all {} databases",
        desired.account.name,
        desired.databases.len()
    ));
    Ok(())
}
