//! verify's view of the plan: every difference the plan would change, said as a finding, and every problem
//! it found that is not eidb's to change. Pure, and the only place findings are made from a plan: there is
//! no second comparison of desired and observed state.

use std::path::Path;

use crate::check::Check;
use crate::drift::{Finding, Location};
use crate::plan::{Change, Conflict, Plan};

const FIX_PROVISION: &str =
    "run `eidb provision --config SPEC` (add --files-only for the node files alone)";
/// The fix of drift whose repair takes something away: shown, and applied only when allowed.
const FIX_DESTRUCTIVE: &str =
    "review it, then run `eidb provision --config SPEC --allow-destructive` (a destructive change)";

/// The plan said as findings, in the plan's order: server changes and conflicts, column drift, notices,
/// what could not be checked, then each node's file changes and problems.
pub fn findings(plan: &Plan) -> Vec<Finding> {
    let mut findings = from_server_plan(&plan.changes, &plan.conflicts);
    findings.extend(plan.columns.iter().map(|c| Finding {
        subject: format!("database {}", c.database),
        check: Check::Column,
        expected: Some(format!("column {}.{} {}", c.table, c.column, c.expected)),
        found: c.found.clone(),
        fix: match &c.loses_data {
            None => format!(
                "run `eidb provision --config SPEC --reapply-changed-script` to run `{}` (check first that the data fits)",
                c.sql
            ),
            Some(why) => format!(
                "a destructive change ({why}): make sure every row fits, then run `eidb provision --config SPEC \
                 --reapply-changed-script --allow-destructive` to run `{}` (in strict mode: the server refuses \
                 rather than cuts)",
                c.sql
            ),
        },
        location: None,
    }));
    findings.extend(plan.notices.iter().map(of_conflict));
    findings.extend(plan.unchecked.iter().map(of_conflict));
    // A file edit held back with a destructive change (its node's repoint or mount record repair, the
    // account's password change) is fixed with --allow-destructive too: the plan's own decision.
    let holds = crate::plan::holds(&plan.changes);
    for (change, hold) in plan.changes.iter().zip(&holds) {
        findings.extend(file_findings(change, hold.is_some()));
    }
    findings.extend(plan.problems.iter().cloned());
    findings
}

/// A conflict (or a notice, a warning, what could not be checked) said as a finding: the same fields.
pub fn of_conflict(c: &Conflict) -> Finding {
    Finding {
        subject: c.subject.clone(),
        check: c.check,
        expected: Some(c.expected.clone()),
        found: Some(c.found.clone()),
        fix: c.fix.clone(),
        location: None,
    }
}

/// A node file's path from its EI_HOME (`conf/registry.xml`): the node files all live under `conf/`.
fn relative_to_ei_home(file: &Path) -> String {
    let path = file.display().to_string();
    match path.rfind("/conf/") {
        Some(at) => path[at + 1..].to_string(),
        None => path,
    }
}

/// A node file's change said as findings: each owned value it puts right; a file whose owned values are
/// right but whose content eidb would still rewrite (an element order, a password) as its diff; a mode
/// it takes others' permissions away from.
fn file_findings(change: &Change, held: bool) -> Vec<Finding> {
    let Change::EditFile {
        node,
        file,
        differences,
        diff,
        before,
        after,
        mode,
        ..
    } = change
    else {
        return Vec::new();
    };
    let subject = format!("node {node}");
    let fix = if held { FIX_DESTRUCTIVE } else { FIX_PROVISION };
    let text = String::from_utf8_lossy(before);
    let line_of = |at: usize| text.get(..at).map(|head| head.matches('\n').count() + 1);
    let (full, relative) = (file.display().to_string(), relative_to_ei_home(file));
    let mut findings: Vec<Finding> = differences
        .iter()
        .enumerate()
        .map(|(i, d)| Finding {
            subject: subject.clone(),
            check: d.check,
            expected: Some(d.expected_text()),
            found: d.found_text(),
            fix: fix.into(),
            location: Some(Location {
                file: full.clone(),
                relative: relative.clone(),
                line: d.at.and_then(line_of),
                element: Some(d.element_text()),
                // The file's diff once, with its first finding.
                diff: (i == 0 && !diff.is_empty()).then(|| diff.clone()),
            }),
        })
        .collect();
    let whole_file = || Location {
        file: full.clone(),
        relative: relative.clone(),
        line: None,
        element: None,
        diff: None,
    };
    if differences.is_empty() && before != after {
        findings.push(Finding {
            subject: subject.clone(),
            check: Check::FileContent,
            expected: Some(format!("{} as eidb writes it", file.display())),
            found: Some(diff.clone()),
            fix: if held {
                FIX_DESTRUCTIVE.into()
            } else {
                "run `eidb provision --config SPEC --files-only`".into()
            },
            location: Some(whole_file()),
        });
    }
    if let Some(mode) = mode {
        let path = file.display();
        findings.push(Finding {
            subject,
            check: Check::PasswordReadable,
            expected: Some(readable_expected(file, &mode.holders)),
            found: Some(readable_found(mode.from)),
            fix: format!(
                "take the others' permissions away (chmod o-rwx {path}; `eidb provision --config SPEC \
                 --files-only` does it, keeping owner and group), or set `[secure_vault] enabled = true` \
                 so that the datasources hold no password"
            ),
            location: Some(whole_file()),
        });
    }
    findings
}

/// A Galera member that does not hold what the member in use holds (read with `wsrep_sync_wait`).
pub fn member_disagrees(member: &str, in_use: &str, difference: String) -> Finding {
    Finding {
        subject: format!("member {member}"),
        check: Check::MemberDisagrees,
        expected: Some(format!(
            "the same databases, tables, indexes, account and grants as {in_use}"
        )),
        found: Some(difference),
        fix: "check the member's wsrep state (SHOW STATUS LIKE 'wsrep%'); a member that rejoins catches up by \
              state transfer"
            .into(),
        location: None,
    }
}

/// A grant that only re-grants the narrower set after ALL PRIVILEGES is revoked on the same database:
/// the finding is the extra grant, not a missing one.
fn replaces_all(changes: &[Change], database: &str, host: &str) -> bool {
    changes.iter().any(|c| {
        matches!(c, Change::Revoke { host: h, privileges, target, .. }
            if h == host && privileges.starts_with("ALL PRIVILEGES") && target.eq_ignore_ascii_case(&format!("{database}.*")))
    })
}

/// The server half of a plan, said as findings.
fn from_server_plan(changes: &[Change], conflicts: &[Conflict]) -> Vec<Finding> {
    let mut findings: Vec<Finding> = changes
        .iter()
        .filter_map(|change| {
            let subject = change.subject();
            let finding = match change {
                Change::CreateDatabase { database, charset } => Finding::new(
                    &subject,
                    Check::DatabaseMissing,
                    Some(format!("database {database} ({charset})")),
                    None,
                    FIX_PROVISION,
                ),
                Change::ApplyScript {
                    script, missing, ..
                } => Finding::new(
                    &subject,
                    Check::SchemaMissing,
                    Some(format!("every table, index and constraint of {script}")),
                    Some(format!("missing {}", missing.join(", "))),
                    FIX_PROVISION,
                ),
                Change::CreateAccount { account, .. } => Finding::new(
                    &subject,
                    Check::AccountMissing,
                    Some(account.clone()),
                    None,
                    FIX_PROVISION,
                ),
                Change::CheckMountRecords { reason, .. } => Finding::new(
                    &subject,
                    Check::MountRecordStale,
                    Some("the node's mount records agree with the new mount target".into()),
                    Some(reason.clone()),
                    FIX_PROVISION,
                ),
                Change::AwaitAccountPassword { reason, .. } => Finding::new(
                    &subject,
                    Check::AccountLogin,
                    Some("the server accepts the spec's password for the account".into()),
                    Some(reason.clone()),
                    FIX_PROVISION,
                ),
                Change::AlterAccount { reason, .. } => Finding::new(
                    &subject,
                    Check::AccountLogin,
                    Some("the account logs in with the spec's password and plugin".into()),
                    Some(reason.clone()),
                    FIX_DESTRUCTIVE,
                ),
                Change::Grant { database, host, .. } if replaces_all(changes, database, host) => {
                    return None
                }
                Change::Grant {
                    database,
                    privileges,
                    ..
                } => Finding::new(
                    &subject,
                    Check::GrantMissing,
                    Some(format!("{privileges} on {database}.*")),
                    None,
                    FIX_PROVISION,
                ),
                Change::Revoke {
                    privileges, target, ..
                } => Finding::new(
                    &subject,
                    Check::GrantExtra,
                    Some("only the wanted privileges, on the provisioned databases only".into()),
                    Some(format!("{privileges} on {target}")),
                    FIX_DESTRUCTIVE,
                ),
                Change::DropAccount { reason, .. } => Finding::new(
                    &subject,
                    Check::AccountRowLeftover,
                    Some("only the account rows the spec names".into()),
                    Some(reason.clone()),
                    FIX_DESTRUCTIVE,
                ),
                Change::RepairMountRecord(repair) => Finding::new(
                    &subject,
                    Check::MountRecordStale,
                    Some(format!(
                        "the mount record {} in {} as registry.xml says: {}",
                        repair.record,
                        repair.database,
                        repair
                            .set
                            .iter()
                            .map(|f| format!("{} {}", f.name, f.wanted))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    Some(format!(
                        "{}; at the next start: {}",
                        repair
                            .set
                            .iter()
                            .map(|f| format!(
                                "{} {}",
                                f.name,
                                f.stored.as_deref().unwrap_or("(missing)")
                            ))
                            .collect::<Vec<_>>()
                            .join(", "),
                        repair.at_next_start
                    )),
                    format!(
                        "{FIX_DESTRUCTIVE}, then restart node {}; {}",
                        repair.node, repair.running
                    ),
                ),
                Change::EditFile { .. } | Change::RecordOwnership { .. } => return None,
            };
            Some(finding)
        })
        .collect();
    findings.extend(conflicts.iter().map(of_conflict));
    findings
}

/// What a `password_readable` finding expects of a file.
pub fn readable_expected(path: &Path, holders: &[String]) -> String {
    format!(
        "{} not readable by other users: it holds a password in plain text ({})",
        path.display(),
        holders.join(", ")
    )
}

/// What a `password_readable` finding found.
pub fn readable_found(mode: u32) -> String {
    format!("mode {mode:04o}: every local user can read it")
}

/// The `password_readable` finding of a file that named users or groups may read through its ACL.
pub fn acl_finding(node: &str, path: &Path, holders: &[String], readers: &[String]) -> Finding {
    Finding::new(
        &format!("node {node}"),
        Check::PasswordReadable,
        Some(readable_expected(path, holders)),
        Some(format!(
            "its POSIX ACL lets {} read it (getfacl {})",
            readers.join(", "),
            path.display()
        )),
        format!(
            "if the WSO2 process reads the file through that entry, make its account the file's owner or group \
             instead, or encrypt the passwords with Secure Vault (`[secure_vault] enabled = true`); otherwise \
             remove the entry (setfacl -x u:NAME {0} or setfacl -x g:NAME {0}). eidb keeps ACLs as they are",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::drift::Difference;
    use crate::plan::{ModeChange, Repoint};

    fn edit(differences: Vec<Difference>, before: &str, after: &str) -> Change {
        Change::EditFile {
            node: "node1".into(),
            file: PathBuf::from("/ei/conf/datasources/master-datasources.xml"),
            repoints: Vec::new(),
            differences,
            diff: "-a\n+b\n".into(),
            before: before.as_bytes().to_vec(),
            after: after.as_bytes().to_vec(),
            mode: None,
            private_backup: false,
            carries_password: false,
            takes_over_from: Vec::new(),
        }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            changes,
            ..Plan::default()
        }
    }

    #[test]
    fn each_difference_of_an_edit_is_one_finding_named_by_its_item() {
        let url = Difference::new(
            Check::DatasourceUrl,
            Some("WSO2_CARBON_DB"),
            "jdbc:mysql://db/LOCAL1",
            Some("jdbc:mysql://db/LOCAL2".into()),
        );
        let cache_id = Difference::new(Check::CacheId, None, "u@jdbc:mysql://db/REG", None);
        let found = findings(&plan(vec![edit(vec![url, cache_id], "a", "b")]));
        let said: Vec<(&str, Option<&str>, Option<&str>)> = found
            .iter()
            .map(|f| (f.check.as_str(), f.expected.as_deref(), f.found.as_deref()))
            .collect();
        assert_eq!(
            said,
            [
                (
                    "datasource_url",
                    Some("WSO2_CARBON_DB: jdbc:mysql://db/LOCAL1"),
                    Some("WSO2_CARBON_DB: jdbc:mysql://db/LOCAL2")
                ),
                ("cache_id", Some("u@jdbc:mysql://db/REG"), None),
            ]
        );
        assert!(found
            .iter()
            .all(|f| f.subject == "node node1" && f.fix == FIX_PROVISION));
    }

    #[test]
    fn a_destructive_edit_says_so_in_its_fix() {
        let mut change = edit(
            vec![Difference::new(
                Check::DatasourceUrl,
                Some("X"),
                "a",
                Some("b".into()),
            )],
            "a",
            "b",
        );
        if let Change::EditFile { repoints, .. } = &mut change {
            repoints.push(Repoint {
                jndi_name: "jdbc/WSO2CarbonDB".into(),
                from: "LOCAL1".into(),
                to: "LOCAL2".into(),
                embedded_h2: None,
            });
        }
        let found = findings(&plan(vec![change]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].fix, FIX_DESTRUCTIVE);
    }

    #[test]
    fn an_edit_without_differences_is_its_diff_and_a_mode_change_is_password_readable() {
        let found = findings(&plan(vec![edit(Vec::new(), "a", "b")]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].check, Check::FileContent);
        assert_eq!(found[0].found.as_deref(), Some("-a\n+b\n"));

        let mut mode_only = edit(Vec::new(), "same", "same");
        if let Change::EditFile { mode, .. } = &mut mode_only {
            *mode = Some(ModeChange {
                from: 0o644,
                to: 0o640,
                reason: String::new(),
                holders: vec!["WSO2_UM_DB".into()],
            });
        }
        let found = findings(&plan(vec![mode_only]));
        let checks: Vec<&str> = found.iter().map(|f| f.check.as_str()).collect();
        assert_eq!(
            checks,
            ["password_readable"],
            "no file_content for a mode alone"
        );
        assert!(found[0].expected.as_deref().unwrap().contains("WSO2_UM_DB"));
        assert!(found[0].found.as_deref().unwrap().contains("0644"));
    }

    #[test]
    fn problems_are_findings_as_they_are() {
        let problem = Finding::new(
            "node node1",
            Check::JdbcDriver,
            Some("a jar".into()),
            None,
            "copy it",
        );
        let mut with_problem = plan(Vec::new());
        with_problem.problems.push(problem.clone());
        assert_eq!(findings(&with_problem), [problem]);
        assert!(findings(&Plan::default()).is_empty());
    }
}
