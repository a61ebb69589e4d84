//! The report of a run: one structure, rendered for people or as JSON (field names are documented in
//! docs/json-output.md and stable).

use std::fmt::Write as _;

use serde::Serialize;

use crate::core::drift::Finding;
use crate::core::plan::{Change, Conflict};
use crate::core::preflight::Preflight;

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub command: CommandName,
    pub dry_run: bool,
    pub status: Status,
    pub preflight: Option<Preflight>,
    /// `provision`: each database and what happened to it.
    pub databases: Vec<DatabaseSummary>,
    pub changes: Vec<ChangeReport>,
    /// `provision` without `--allow-destructive`: the destructive changes it did not apply, and the
    /// changes held back with them.
    pub held_back: Vec<ChangeReport>,
    /// What the run would have done but did not: a provision refused by a conflict, and `verify` (what
    /// provision would change), each with the held-back status a plain provision gives it.
    pub planned: Vec<ChangeReport>,
    pub conflicts: Vec<Conflict>,
    /// `verify`: every difference found, grouped by subject in the human output.
    pub findings: Vec<Finding>,
    /// Structured as findings are (subject, check, expected, found, fix): said, not acted on.
    pub warnings: Vec<crate::core::drift::Finding>,
    /// `verify` and `provision`: the state of each node's mount records in its local registry
    /// (`no_record`, `matching`, `stale`, `not_checked`).
    pub mount_records: Vec<crate::core::mounts::RecordStatus>,
    pub error: Option<ErrorReport>,
    pub elapsed_ms: u128,
    /// The pre-flight block was already shown to people, before the changes.
    #[serde(skip)]
    pub preflight_printed: bool,
    /// `verify --ei-home`: there is no spec; what the nodes were checked against instead.
    #[serde(skip)]
    pub without_spec: Option<&'static str>,
}

/// The command a report is of (JSON `command`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandName {
    #[default]
    Provision,
    Verify,
}

/// How a run ended (JSON `status`; the names are documented in docs/json-output.md and stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// provision applied changes.
    Changed,
    /// Nothing to change (provision, also a dry run).
    Unchanged,
    /// provision applied the additive changes and held the destructive ones back (exit 3).
    HeldBack,
    /// A dry run with changes to make.
    Planned,
    /// verify: the cluster matches.
    InSync,
    /// verify: differences found.
    Drift,
    /// The run failed (also a report that never got further).
    #[default]
    Failed,
}

#[derive(Debug, Serialize)]
pub struct DatabaseSummary {
    pub name: String,
    #[serde(flatten)]
    pub role: crate::core::desired::DatabaseRole,
    /// `created, N statements run`, `completed: N of M statements run`, `in place`, or the dry-run forms.
    pub state: String,
}

#[derive(Debug, Serialize)]
pub struct ChangeReport {
    pub subject: String,
    pub summary: String,
    #[serde(flatten)]
    pub change: Change,
    /// Why the change is destructive (it removes access or data); absent for additive changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destructive: Option<String>,
    /// The destructive change this one depends on: held back with it without `--allow-destructive`,
    /// applied with it otherwise (e.g. a node file carrying the new password, with the password change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_with: Option<String>,
    /// The SQL of the change, passwords masked (dry run and verbose output).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sql: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ErrorReport {
    pub message: String,
    pub hint: Option<String>,
    pub exit_code: i32,
}

impl Report {
    /// The report as JSON: masked value by value (never as text), so it parses whatever the passwords are.
    pub fn to_json(&self) -> String {
        let json = serde_json::to_value(self).and_then(|mut value| {
            crate::redact::backstop_json(&mut value);
            serde_json::to_string_pretty(&value)
        });
        json.unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string())
    }

    pub fn to_human(&self) -> String {
        let mut out = String::new();
        if let Some(p) = self.preflight.as_ref().filter(|_| !self.preflight_printed) {
            out.push_str(&preflight_block(p));
        }
        let verb = if self.command == CommandName::Verify {
            "Drift"
        } else if self.dry_run {
            "Plan (dry run: nothing is changed)"
        } else {
            "Changes"
        };
        if !self.changes.is_empty() {
            let _ = writeln!(out, "\n{verb}:");
            let mut subject = "";
            for change in &self.changes {
                if change.subject != subject {
                    subject = &change.subject;
                    let _ = writeln!(out, "  {subject}");
                }
                let _ = writeln!(out, "    {} {}", marker(&change.change), change.summary);
                if let Some(why) = &change.destructive {
                    let _ = writeln!(out, "        DESTRUCTIVE: {why}");
                }
                match &change.held_with {
                    Some(with) if self.dry_run => {
                        let _ = writeln!(
                            out,
                            "        applied only with --allow-destructive, together with: {with}"
                        );
                    }
                    Some(with) => {
                        let _ = writeln!(out, "        applied together with: {with}");
                    }
                    None => {}
                }
                for sql in &change.sql {
                    let _ = writeln!(out, "        {sql}");
                }
                if let Change::EditFile { diff, .. } = &change.change {
                    if self.dry_run || self.command == CommandName::Verify {
                        for line in diff.lines() {
                            let _ = writeln!(out, "        {line}");
                        }
                    }
                }
            }
        }
        if !self.held_back.is_empty() {
            let _ = writeln!(
                out,
                "\nHeld back (destructive; applied only with --allow-destructive):"
            );
            for change in &self.held_back {
                let _ = writeln!(out, "  ! {}: {}", change.subject, change.summary);
                let why = match (&change.destructive, &change.held_with) {
                    (Some(why), _) => why.clone(),
                    (None, Some(with)) => {
                        format!("held back with {with}: needs --allow-destructive")
                    }
                    (None, None) => "held back with a destructive change".to_string(),
                };
                let _ = writeln!(out, "      why: {why}");
            }
        }
        if !self.planned.is_empty() && self.command != CommandName::Verify {
            let _ = writeln!(
                out,
                "\nPlanned (not applied: the run stopped before changing anything):"
            );
            for change in &self.planned {
                let _ = writeln!(
                    out,
                    "  {} {}: {}",
                    marker(&change.change),
                    change.subject,
                    change.summary
                );
                if let Some(why) = &change.destructive {
                    let _ = writeln!(out, "      DESTRUCTIVE: {why}");
                }
                if let Some(with) = &change.held_with {
                    let _ = writeln!(
                        out,
                        "      applied only with --allow-destructive, together with: {with}"
                    );
                }
            }
        }
        if !self.findings.is_empty() {
            let _ = writeln!(out, "\nDrift:");
            let mut subjects: Vec<&str> =
                self.findings.iter().map(|f| f.subject.as_str()).collect();
            subjects.dedup();
            let mut shown = std::collections::HashSet::new();
            for subject in subjects.into_iter().filter(|s| shown.insert(*s)) {
                let _ = writeln!(out, "  {subject}");
                for f in self.findings.iter().filter(|f| f.subject == subject) {
                    let _ = writeln!(out, "    x {}", f.check);
                    if let Some(expected) = &f.expected {
                        let _ = writeln!(out, "        expected: {expected}");
                    }
                    match &f.found {
                        Some(found) if found.contains('\n') => {
                            let _ = writeln!(out, "        found:");
                            for line in found.lines() {
                                let _ = writeln!(out, "          {line}");
                            }
                        }
                        Some(found) => {
                            let _ = writeln!(out, "        found:    {found}");
                        }
                        None => {
                            let _ = writeln!(out, "        found:    (missing)");
                        }
                    }
                    let _ = writeln!(out, "        fix:      {}", f.fix);
                    if let Some(at) = &f.location {
                        let line = at.line.map(|l| format!(":{l}")).unwrap_or_default();
                        let element = at
                            .element
                            .as_deref()
                            .map(|e| format!(" {e}"))
                            .unwrap_or_default();
                        let _ = writeln!(out, "        at:       {}{line}{element}", at.relative);
                    }
                    // The file's diff, as --dry-run shows it, once per file.
                    if let Some(diff) = f.location.as_ref().and_then(|at| at.diff.as_ref()) {
                        let _ = writeln!(
                            out,
                            "        diff of {}:",
                            f.location.as_ref().map_or("", |at| at.relative.as_str())
                        );
                        for line in diff.lines() {
                            let _ = writeln!(out, "          {line}");
                        }
                    }
                }
            }
        }
        if !self.databases.is_empty() {
            let _ = writeln!(out, "\nDatabases:");
            for db in &self.databases {
                let role = match &db.role {
                    crate::core::desired::DatabaseRole::UserStore => "user store".to_string(),
                    crate::core::desired::DatabaseRole::SharedRegistry => {
                        "shared registry".to_string()
                    }
                    crate::core::desired::DatabaseRole::LocalRegistry(node) => {
                        format!("local registry of {node}")
                    }
                };
                let _ = writeln!(out, "  {:<24} {:<28} {}", db.name, role, db.state);
            }
        }
        if !self.conflicts.is_empty() {
            let _ = writeln!(out, "\nConflicts (eidb will not change these by itself):");
            for c in &self.conflicts {
                let _ = writeln!(
                    out,
                    "  {}: expected {}, found {}\n    fix: {}",
                    c.subject, c.expected, c.found, c.fix
                );
            }
        }
        if !self.mount_records.is_empty() {
            let _ = writeln!(out, "\nMount records (in each node's local registry):");
            for r in &self.mount_records {
                let _ = writeln!(
                    out,
                    "  node {} {} ({}): {}: {}",
                    r.node, r.mount_path, r.database, r.state, r.detail
                );
            }
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out, "\nWarnings:");
            for w in &self.warnings {
                let _ = writeln!(out, "  ! {}", w.warning_line());
            }
        }
        let _ = writeln!(out, "\n{}", self.headline());
        crate::redact::backstop(&out)
    }

    fn headline(&self) -> String {
        let seconds = self.elapsed_ms as f64 / 1000.0;
        let n = self.changes.len();
        match self.status {
            Status::Changed => format!("provisioned: {n} change(s) applied in {seconds:.2} s"),
            Status::HeldBack => format!(
                "provisioned: {n} change(s) applied in {seconds:.2} s; {} destructive change(s) held back: \
                 review them, then run again with --allow-destructive to apply them",
                self.held_back.len()
            ),
            Status::Unchanged => {
                format!("nothing to change: the cluster matches the spec ({seconds:.2} s)")
            }
            Status::Planned => {
                let destructive = self
                    .changes
                    .iter()
                    .filter(|c| c.destructive.is_some())
                    .count();
                let with = self
                    .changes
                    .iter()
                    .filter(|c| c.destructive.is_none() && c.held_with.is_some())
                    .count();
                if destructive == 0 {
                    format!("dry run: {n} change(s) would be made; run without --dry-run to apply")
                } else if with > 0 {
                    format!(
                        "dry run: {n} change(s) would be made, {destructive} of them DESTRUCTIVE and {with} that \
                         depend on them (all applied only with --allow-destructive); run without --dry-run to apply"
                    )
                } else {
                    format!(
                        "dry run: {n} change(s) would be made, {destructive} of them DESTRUCTIVE (applied only with \
                         --allow-destructive); run without --dry-run to apply"
                    )
                }
            }
            Status::InSync if self.without_spec.is_some() => format!(
                "in sync: {} ({seconds:.2} s)",
                self.without_spec.unwrap_or_default()
            ),
            Status::InSync => format!("in sync: the cluster matches the spec ({seconds:.2} s)"),
            Status::Drift => format!(
                "drift: {} finding(s); each says how to fix it",
                self.findings.len() + n + self.conflicts.len()
            ),
            Status::Failed => match &self.error {
                Some(error) => format!(
                    "failed after {seconds:.2} s: {}",
                    error.message.lines().next().unwrap_or_default()
                ),
                None => "failed".to_string(),
            },
        }
    }
}

fn marker(change: &Change) -> &'static str {
    if change.destructive().is_some() {
        return "!";
    }
    match change {
        Change::CreateDatabase { .. }
        | Change::CreateAccount { .. }
        | Change::Grant { .. }
        | Change::RecordOwnership { .. } => "+",
        Change::Revoke { .. } | Change::DropAccount { .. } => "-",
        Change::ApplyScript { .. }
        | Change::AlterAccount { .. }
        | Change::AwaitAccountPassword { .. }
        | Change::CheckMountRecords { .. }
        | Change::EditFile { .. }
        | Change::RepairMountRecord(_) => "~",
    }
}

/// The pre-flight block for people.
pub fn preflight_block(p: &Preflight) -> String {
    let mut text = String::new();
    render_preflight(&mut text, p);
    text
}

fn render_preflight(out: &mut String, p: &Preflight) {
    let s = &p.server;
    let os_note = if s.compile_os_overridden {
        " (overridden)"
    } else {
        ""
    };
    let _ = writeln!(out, "Pre-flight:");
    let _ = writeln!(
        out,
        "  server    {} {} at {}, compiled for {}{os_note}",
        s.flavour, s.version_string, p.endpoint, s.compile_os
    );
    let _ = writeln!(
        out,
        "  defaults  charset {}, collation {}, auth plugin {}",
        s.default_charset, s.default_collation, s.default_auth_plugin
    );
    let _ = writeln!(
        out,
        "  keys      index keys up to {} bytes (row format {}{})",
        s.max_index_bytes,
        s.row_format,
        s.large_prefix
            .as_ref()
            .map(|v| format!(", innodb_large_prefix {v}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "  charset   {} ({}; up to {} bytes per character)",
        p.charset, p.charset_reason, p.charset_max_bytes
    );
    let _ = writeln!(
        out,
        "  account   auth plugin {}{}",
        p.account_auth_plugin,
        p.account_auth_plugin_reason
            .as_ref()
            .map(|r| format!(" because {r}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "  script    {} ({}): {} statements: {}",
        p.script.path, p.script.chosen_because, p.script.statements, p.script.summary
    );
    for check in &p.checks {
        let _ = writeln!(
            out,
            "  {:<9} {}: {}",
            check.outcome.as_str(),
            check.name,
            check.detail
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::preflight::Outcome;

    /// The JSON names are docs/json-output.md's, character for character.
    #[test]
    fn statuses_outcomes_and_commands_serialise_as_documented() {
        for (status, name) in [
            (Status::Changed, "changed"),
            (Status::Unchanged, "unchanged"),
            (Status::HeldBack, "held_back"),
            (Status::Planned, "planned"),
            (Status::InSync, "in_sync"),
            (Status::Drift, "drift"),
            (Status::Failed, "failed"),
        ] {
            assert_eq!(json(&status), format!("\"{name}\""));
        }
        for (outcome, name) in [
            (Outcome::Ok, "ok"),
            (Outcome::Warning, "warning"),
            (Outcome::Refused, "refused"),
        ] {
            assert_eq!(json(&outcome), format!("\"{name}\""));
            assert_eq!(outcome.as_str(), name);
        }
        assert_eq!(json(&CommandName::Provision), "\"provision\"");
        assert_eq!(json(&CommandName::Verify), "\"verify\"");
        let readme = include_str!("../../docs/json-output.md");
        let documented = readme
            .lines()
            .find(|l| l.starts_with("| `status` |"))
            .expect("docs/json-output.md documents `status`");
        for status in [
            Status::Changed,
            Status::Unchanged,
            Status::HeldBack,
            Status::Planned,
            Status::InSync,
            Status::Drift,
            Status::Failed,
        ] {
            let name = json(&status).replace('"', "`");
            assert!(documented.contains(&name), "{name} is not in: {documented}");
        }
    }

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }
}
