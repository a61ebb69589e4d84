//! The node plan: what each node's files need, as a pure function of the node's desired state and its
//! files as observed (`super::files::observe`). It reads and writes nothing: the edits come from the XML
//! editor (`super::conf`), which also says each owned value it puts right; `super::files::write_all`
//! applies them.

use crate::core::check::Check;

use similar::TextDiff;

use super::cipher_text;
use super::conf;
use super::files::{secret_holders, ConfFile, Observed, ObservedNode, OTHERS};
use super::wiring::{self, NodeState};
use crate::core::desired::DesiredNode;
use crate::core::drift::Finding;
use crate::core::plan::{Change, ModeChange};
use crate::error::{Error, Result};

/// What one node needs: an `EditFile` for each file whose content or mode must change, warnings, and
/// the problems the edits leave (what eidb does not own and cannot put right, e.g. a missing driver jar).
#[derive(Default)]
pub struct NodePlan {
    pub changes: Vec<Change>,
    pub warnings: Vec<Finding>,
    pub problems: Vec<Finding>,
}

/// The edits one node needs: a pure function of its desired state and its observed files. `keep_mode`:
/// the spec keeps the modes of files that hold a plaintext password even when other users can read
/// them (warned about on every run).
pub fn plan(node: &DesiredNode, observed: &ObservedNode, keep_mode: bool) -> Result<NodePlan> {
    let mut out = NodePlan::default();
    let mut edited_texts = Vec::new();
    for (file, found) in &observed.conf {
        let (file, path, current) = (*file, &found.path, &found.content);
        let edited = edit(file, &current.text, node).map_err(|e| {
            Error::input(format!("node {}: {}:{}:{}: {}", node.name, path.display(), e.line, e.column, e.message))
                .with_hint("fix the XML by hand (or restore the file from the EI distribution); no file was changed")
        })?;
        let holders = |text: &str| match file {
            ConfFile::Datasources => conf::plaintext_password_holders(text),
            _ => Vec::new(),
        };
        let mode = secret_mode(
            node,
            found,
            &holders(&edited.text),
            keep_mode,
            &mut out.warnings,
        );
        acl_readable(node, found, &holders(&edited.text), keep_mode, &mut out);
        if edited.text != current.text || mode.is_some() {
            let after = current
                .encode(&edited.text)
                .map_err(|e| e.context(format!("node {}", node.name)))?;
            // A changed `<password>` is the account's password: right only with the account's change.
            let carries_password = edited
                .differences
                .iter()
                .any(|d| d.check == Check::DatasourcePassword);
            out.changes.push(Change::EditFile {
                node: node.name.clone(),
                repoints: crate::core::plan::repoints(&edited.differences, &node.datasources)
                    .into_iter()
                    .chain(crate::core::plan::h2_moves(
                        &edited.differences,
                        &node.datasources,
                        &observed.h2_data,
                    ))
                    .collect(),
                diff: if edited.text == current.text {
                    String::new()
                } else {
                    conf::masked_diff(file.relative_path(), &current.text, &edited.text)
                },
                differences: edited.differences,
                private_backup: !keep_mode && !holders(&current.text).is_empty(),
                carries_password,
                takes_over_from: Vec::new(),
                file: path.clone(),
                // The bytes the edit was computed from: a change made after this read is detected, not lost.
                before: current.bytes.clone(),
                after,
                mode,
            });
        }
        edited_texts.push((file, path.clone(), edited.text));
    }
    // What the edited files would still get wrong is not eidb's to change: said as problems. Checked on
    // the edited text, so that what the edits put right is not said twice.
    let state = NodeState::parse(
        &node.name,
        &node.ei_home,
        &edited_texts,
        node.driver.clone(),
        Vec::new(),
    )?;
    out.problems.extend(wiring::node_consistency(&state));
    out.problems.extend(left_off_h2(node, &edited_texts));
    if !node.vault_entries.is_empty() {
        out.changes
            .extend(plan_vault(node, observed, keep_mode, &mut out.warnings)?);
    } else if let Some(found) = &observed.cipher_text {
        // Without the vault eidb does not edit cipher-text.properties, but one holding plain passwords
        // must not be readable by others either.
        let holders = cipher_text::plaintext_holders(&String::from_utf8_lossy(&found.content));
        acl_readable(node, found, &holders, keep_mode, &mut out);
        if let Some(mode) = secret_mode(node, found, &holders, keep_mode, &mut out.warnings) {
            out.changes.push(mode_only(node, found, mode));
        }
    }
    // axis2.xml, carbon.xml, catalina-server.xml, hazelcast.properties, log4j.properties: only with
    // [clustering] / [load_balancer] in the spec (observed only then).
    super::clustering::plan(node, observed, &mut out.changes, &mut out.problems)?;
    // The one-time backups hold the content before eidb first changed it: a real password too, maybe.
    for (live, backup) in &observed.backups {
        let holders = secret_holders(live, &backup.content);
        acl_readable(node, backup, &holders, keep_mode, &mut out);
        if let Some(mode) = secret_mode(node, backup, &holders, keep_mode, &mut out.warnings) {
            out.changes.push(mode_only(node, backup, mode));
        }
    }
    Ok(out)
}

/// The local registry the node's files use now: the MySQL database its `jdbc/WSO2CarbonDB` datasource
/// names (`None` on H2, or when the file does not say). What the files say is what the node uses until
/// it is changed, with or without eidb's ledger.
pub fn local_registry_in_use(observed: &ObservedNode) -> Option<String> {
    let datasources = conf::read_master_datasources(observed.text(ConfFile::Datasources)).ok()?;
    let carbon = datasources
        .iter()
        .find(|d| d.jndi_name.as_deref() == Some(crate::core::desired::LOCAL_REGISTRY_JNDI))?;
    crate::core::plan::mysql_database(carbon.url.as_deref()?).map(str::to_owned)
}

/// Whether the node's files log in to MySQL as `account` now (a node already on the cluster's account,
/// whose password a change would replace).
pub fn uses_account(observed: &ObservedNode, account: &str) -> bool {
    conf::read_master_datasources(observed.text(ConfFile::Datasources))
        .map(|datasources| {
            datasources.iter().any(|d| {
                d.username.as_deref() == Some(account)
                    && d.url
                        .as_deref()
                        .and_then(crate::core::plan::mysql_database)
                        .is_some()
            })
        })
        .unwrap_or(false)
}

/// Nodes whose files point their local registry at another node's: a cluster problem beside each node's
/// own `datasource_url` difference (two nodes writing one local registry corrupt each other's state).
pub fn shared_local_registries(nodes: &[DesiredNode], changes: &[Change]) -> Vec<Finding> {
    let mut found = Vec::new();
    for change in changes {
        let Change::EditFile { node, repoints, .. } = change else {
            continue;
        };
        for repoint in repoints {
            let owner = nodes.iter().find(|other| {
                &other.name != node
                    && other
                        .local_registry
                        .as_deref()
                        .is_some_and(|db| db.eq_ignore_ascii_case(&repoint.from))
            });
            if let Some(owner) = owner {
                found.push(Finding::new(
                    "cluster",
                    Check::SharedLocalRegistry,
                    Some("each node's local registry on its own database".into()),
                    Some(format!(
                        "nodes {} and {node} both use {}",
                        owner.name, repoint.from
                    )),
                    "review it, then run `eidb provision --config SPEC --allow-destructive`: it points each node \
                     at its own local registry (a destructive change)",
                ));
            }
        }
    }
    found
}

fn mode_only(node: &DesiredNode, file: &Observed<Vec<u8>>, mode: ModeChange) -> Change {
    Change::EditFile {
        node: node.name.clone(),
        repoints: Vec::new(),
        differences: Vec::new(),
        file: file.path.clone(),
        diff: String::new(),
        before: file.content.clone(),
        after: file.content.clone(),
        mode: Some(mode),
        private_backup: false,
        carries_password: false,
        takes_over_from: Vec::new(),
    }
}

/// The mode change a file holding these plaintext passwords needs (owner and group bits kept, so the
/// WSO2 process that reads the file through its owner or group still does), or none.
fn secret_mode<T>(
    node: &DesiredNode,
    file: &Observed<T>,
    holders: &[String],
    keep_mode: bool,
    warnings: &mut Vec<Finding>,
) -> Option<ModeChange> {
    let (from, path) = (file.mode, file.path.display());
    if holders.is_empty() || from & OTHERS == 0 {
        return None;
    }
    if keep_mode {
        warnings.push(Finding::warning_text(Check::PasswordReadable, format!(
            "node {}: {path} holds a password in plain text ({}) and every local user can read it (mode {from:04o}); kept so because the spec sets node_files.keep_mode = true (remove it to have eidb take the others' permissions away, or turn on secure_vault)",
            node.name,
            holders.join(", ")
        )));
        return None;
    }
    if file.owner_uid == 0 {
        // The node may read the file as "other" (an installation left to root, the node run as a
        // service account): after the change it would not.
        warnings.push(Finding::warning_text(Check::PasswordReadable, format!(
            "node {}: {path} belongs to root; once others lose their permissions only root and group {} read it: \
             make sure the WSO2 process runs as one of them, or give the file to the account that runs it \
             (chown), or keep the mode with node_files.keep_mode = true",
            node.name,
            file.group
        )));
    }
    Some(ModeChange {
        from,
        to: from & !OTHERS,
        reason: format!(
            "it holds a password in plain text ({}); other users must not read it",
            holders.join(", ")
        ),
        holders: holders.to_vec(),
    })
}

/// A file holding plaintext passwords that named users or groups may read through its POSIX ACL: readable
/// by others, like a file every local user may read. eidb does not take ACL entries away (the WSO2 service
/// account may read its file through one, and would then fail at its next start): a problem to decide,
/// a finding in verify and a warning in provision, on every run until it is settled. With
/// `node_files.keep_mode` (wider access kept on purpose) a warning only, as for the mode.
fn acl_readable<T>(
    node: &DesiredNode,
    file: &Observed<T>,
    holders: &[String],
    keep_mode: bool,
    out: &mut NodePlan,
) {
    if holders.is_empty() || file.acl_readers.is_empty() {
        return;
    }
    let finding =
        crate::core::findings::acl_finding(&node.name, &file.path, holders, &file.acl_readers);
    if keep_mode {
        out.warnings.push(Finding::warning_text(
            Check::PasswordReadable,
            format!(
                "node {}: {} holds a password in plain text ({}) and {}; kept so because the spec sets \
                 node_files.keep_mode = true",
                node.name,
                file.path.display(),
                holders.join(", "),
                finding.found.as_deref().unwrap_or_default()
            ),
        ));
    } else {
        out.problems.push(finding);
    }
}

/// A node the spec keeps on its embedded H2 whose files put the local registry on MySQL: eidb edits
/// nothing of that datasource on an H2 node, so without this the node would pass for what the spec says.
/// Moving it back is not eidb's to do (the MySQL database's registry data would stay behind): a problem,
/// which verify reports as drift and provision as a warning.
fn left_off_h2(
    node: &DesiredNode,
    edited: &[(ConfFile, std::path::PathBuf, String)],
) -> Option<Finding> {
    if node.local_registry.is_some() {
        return None;
    }
    let (_, path, text) = edited
        .iter()
        .find(|(file, _, _)| *file == ConfFile::Datasources)?;
    let found = conf::read_master_datasources(text).ok()?;
    let local = found
        .iter()
        .find(|d| d.jndi_name.as_deref() == Some(node.local_registry_jndi.as_str()))?;
    let url = local.url.as_deref()?;
    if !url
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("jdbc:mysql")
    {
        return None;
    }
    let mut finding = Finding::new(
        &format!("node {}", node.name),
        Check::LocalRegistryNotH2,
        Some(format!(
            "{} on the node's embedded H2 (the spec's local_registry_store = \"h2\")",
            node.local_registry_jndi
        )),
        Some(format!("{} on MySQL: {url}", node.local_registry_jndi)),
        format!(
            "eidb does not move a node back to H2 (the MySQL database's registry data would stay behind): if \
             the node should stay on MySQL, take local_registry_store = \"h2\" out of its [[nodes]] entry \
             (and name its database with local_registry); to move it back to H2, edit {} by hand",
            path.display()
        ),
    );
    finding.location = Some(crate::core::drift::Location {
        file: path.display().to_string(),
        relative: ConfFile::Datasources.relative_path().to_string(),
        line: None,
        element: Some(format!(
            "<url> of datasource {}",
            local.name.as_deref().unwrap_or(&node.local_registry_jndi)
        )),
        diff: None,
    });
    Some(finding)
}

/// The Secure Vault entries in conf/security/cipher-text.properties (a new file is made owner-only).
fn plan_vault(
    node: &DesiredNode,
    observed: &ObservedNode,
    keep_mode: bool,
    warnings: &mut Vec<Finding>,
) -> Result<Option<Change>> {
    let path = node.ei_home.join(cipher_text::RELATIVE_PATH);
    let before = observed
        .cipher_text
        .as_ref()
        .map(|f| f.content.clone())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&before).into_owned();
    let (edited, encrypted) = cipher_text::edit(&text, &node.vault_entries);
    for alias in encrypted {
        warnings.push(Finding::warning_text(Check::SecureVault, format!(
            "node {}: {alias} in {} is already encrypted by the cipher tool; eidb leaves it (re-run the cipher tool after changing the password)",
            node.name,
            path.display()
        )));
    }
    let holders = cipher_text::plaintext_holders(&edited);
    let mode = observed
        .cipher_text
        .as_ref()
        .and_then(|found| secret_mode(node, found, &holders, keep_mode, warnings));
    if edited == text && mode.is_none() {
        return Ok(None);
    }
    let diff = if edited == text {
        String::new()
    } else {
        let diff = TextDiff::from_lines(&text, &edited)
            .unified_diff()
            .context_radius(2)
            .header(
                &format!("a/{}", cipher_text::RELATIVE_PATH),
                &format!("b/{}", cipher_text::RELATIVE_PATH),
            )
            .to_string();
        crate::redact::backstop(&cipher_text::mask(&diff))
    };
    Ok(Some(Change::EditFile {
        node: node.name.clone(),
        repoints: Vec::new(),
        differences: Vec::new(),
        file: path,
        diff,
        private_backup: !keep_mode && !cipher_text::plaintext_holders(&text).is_empty(),
        // The vault entries hold the account's password: a changed entry waits for the account's change.
        carries_password: edited != text,
        takes_over_from: Vec::new(),
        before,
        after: edited.into_bytes(),
        mode,
    }))
}

fn edit(file: ConfFile, text: &str, node: &DesiredNode) -> Result<conf::Edited, conf::ConfError> {
    match file {
        ConfFile::Datasources => conf::edit_master_datasources(text, &node.datasources),
        ConfFile::UserMgt => conf::edit_user_mgt(text, &node.user_store_jndi),
        ConfFile::Registry => conf::edit_registry(text, &node.registry),
    }
}
