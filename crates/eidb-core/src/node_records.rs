//! The nodes' records: what each node run applied, kept in the database (the ledger's `eidb_node_record`),
//! so that the cluster as a whole can be checked from a machine that holds none of the nodes' EI_HOMEs.
//! Pure: the record a run writes, and the findings the records give.

use crate::check::Check;
use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::desired::DesiredNode;
use crate::drift::Finding;
use crate::spec::Spec;

/// The ledger table the node runs write (migrations/0004_node_records.sql).
pub const TABLE: &str = "eidb_node_record";

/// One node's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    pub node: String,
    /// The login name the record was written with.
    pub account: String,
    /// SHA-256 of the spec file the run used.
    pub spec_digest: String,
    pub local_registry: Option<String>,
    pub cache_id: String,
    pub shared_registry: String,
    pub user_store: String,
    /// Each node file (path) and its SHA-256 after the run.
    pub files: BTreeMap<String, String>,
    pub eidb_version: String,
    /// When it was written (as the server's clock said), empty in a record not written yet.
    pub recorded_at: String,
}

impl NodeRecord {
    /// The same values, whenever and by whichever eidb they were written: a run that finds its record
    /// already saying this writes nothing.
    pub fn same_values(&self, other: &NodeRecord) -> bool {
        let strip = |r: &NodeRecord| NodeRecord {
            recorded_at: String::new(),
            eidb_version: String::new(),
            ..r.clone()
        };
        strip(self) == strip(other)
    }
}

/// SHA-256 (hex) of bytes: the spec file's, a node file's.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The record of a node run: the values eidb owns for the node and its files' digests (`files`: path and
/// content after the run).
pub fn record(
    spec: &Spec,
    spec_digest: &str,
    node: &DesiredNode,
    files: &[(String, Vec<u8>)],
) -> NodeRecord {
    NodeRecord {
        node: node.name.clone(),
        account: spec.account.name.clone(),
        spec_digest: spec_digest.to_string(),
        local_registry: node.local_registry.clone(),
        cache_id: node.registry.remote_instance.cache_id.clone(),
        shared_registry: spec.databases.shared_registry.clone(),
        user_store: spec.databases.user_store.clone(),
        files: files
            .iter()
            .map(|(path, bytes)| (path.clone(), sha256_hex(bytes)))
            .collect(),
        eidb_version: env!("CARGO_PKG_VERSION").to_string(),
        recorded_at: String::new(),
    }
}

/// The grant eidb gives the nodes' account on the records table: eidb's bookkeeping, never revoked as
/// a grant the spec does not ask for.
pub fn is_records_grant(target: &crate::observed::GrantTarget, metadata_db: &str) -> bool {
    matches!(target, crate::observed::GrantTarget::Table(db, table)
        if db.eq_ignore_ascii_case(metadata_db)
            && (table.eq_ignore_ascii_case(TABLE) || table.eq_ignore_ascii_case(ASSIGNMENTS)))
}

/// The ledger's table of which local registry each node was given (`eidb_node`): the nodes' account may
/// read it, so that a node's own run (`--files-only --node`) keeps the database the cluster gave it.
pub const ASSIGNMENTS: &str = "eidb_node";

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// What the records say about the cluster, for `verify` on a machine without the nodes' EI_HOMEs: every
/// spec node must have a record of a run with the current spec (`spec_digest`), and the cross-node checks
/// that need every node's files hold on the records: one `cacheId`, one shared registry and user store,
/// no local registry used by two nodes.
pub fn findings(spec: &Spec, spec_digest: &str, records: &[NodeRecord]) -> Vec<Finding> {
    let mut found = Vec::new();
    let spec_path = "--config SPEC";
    for node in &spec.nodes {
        let subject = format!("node {}", node.name);
        let fix = format!(
            "on the node's host run `eidb provision {spec_path} --files-only --node {}` with this spec",
            node.name
        );
        match records.iter().find(|r| r.node == node.name) {
            None => found.push(Finding::new(
                &subject,
                Check::NodeNotRecorded,
                Some(format!(
                    "a record of a run with spec {}",
                    short(spec_digest)
                )),
                None,
                fix,
            )),
            Some(r) if r.spec_digest != spec_digest => found.push(Finding::new(
                &subject,
                Check::NodeSpecOutdated,
                Some(format!("a run with spec {}", short(spec_digest))),
                Some(format!(
                    "last run with spec {} at {} (eidb {})",
                    short(&r.spec_digest),
                    r.recorded_at,
                    r.eidb_version
                )),
                fix,
            )),
            Some(_) => {}
        }
    }
    let current: Vec<&NodeRecord> = records
        .iter()
        .filter(|r| spec.nodes.iter().any(|n| n.name == r.node))
        .collect();
    let mut agree = |check: Check, what: &str, value: &dyn Fn(&NodeRecord) -> String| {
        let mut by_value: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for r in &current {
            by_value.entry(value(r)).or_default().push(&r.node);
        }
        if by_value.len() > 1 {
            let said: Vec<String> = by_value
                .iter()
                .map(|(v, nodes)| format!("{} on {v}", nodes.join(", ")))
                .collect();
            found.push(Finding::new(
                "cluster",
                check,
                Some(format!("every node on the same {what}")),
                Some(said.join("; ")),
                "run `eidb provision --config SPEC --files-only --node NAME` with the same spec on each node's host",
            ));
        }
    };
    agree(Check::SharedCacheId, "cacheId", &|r| r.cache_id.clone());
    agree(Check::SharedRegistryUrl, "shared registry", &|r| {
        r.shared_registry.clone()
    });
    agree(Check::UserStoreUrl, "user store", &|r| r.user_store.clone());
    let mut users: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for r in &current {
        if let Some(db) = &r.local_registry {
            users
                .entry(db.to_ascii_lowercase())
                .or_default()
                .push(&r.node);
        }
    }
    for (db, nodes) in users.iter().filter(|(_, nodes)| nodes.len() > 1) {
        found.push(Finding::new(
            "cluster",
            Check::SharedLocalRegistry,
            Some("each node's local registry on its own database".into()),
            Some(format!("nodes {} both use {db}", nodes.join(" and "))),
            "run `eidb provision --config SPEC --files-only --node NAME` with the same spec on each node's host",
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        let text = r#"
[server]
url = "mysql://root@127.0.0.1:3306"
[user]
name = "regadmin"
password_env = "X"
[databases]
user_store = "UM"
shared_registry = "REG"
[dbscripts]
file = "/nonexistent/mysql.sql"
[[nodes]]
name = "node1"
ei_home = "/opt/a"
[[nodes]]
name = "node2"
ei_home = "/opt/b"
"#;
        Spec::parse(text, std::path::Path::new("/etc/eidb/cluster.toml")).unwrap()
    }

    fn rec(node: &str, digest: &str, local: &str, cache: &str) -> NodeRecord {
        NodeRecord {
            node: node.into(),
            account: "regadmin".into(),
            spec_digest: digest.into(),
            local_registry: Some(local.into()),
            cache_id: cache.into(),
            shared_registry: "REG".into(),
            user_store: "UM".into(),
            files: BTreeMap::new(),
            eidb_version: "0.1.0".into(),
            recorded_at: "2026-12-07 20:00:00".into(),
        }
    }

    #[test]
    fn every_node_on_the_current_spec_is_in_sync() {
        let records = [rec("node1", "d", "L1", "c"), rec("node2", "d", "L2", "c")];
        assert!(findings(&spec(), "d", &records).is_empty());
    }

    #[test]
    fn missing_and_outdated_nodes_are_named() {
        let records = [rec("node1", "old", "L1", "c")];
        let found = findings(&spec(), "d", &records);
        let checks: Vec<(&str, Check)> = found
            .iter()
            .map(|f| (f.subject.as_str(), f.check))
            .collect();
        assert_eq!(
            checks,
            [
                ("node node1", Check::NodeSpecOutdated),
                ("node node2", Check::NodeNotRecorded)
            ]
        );
    }

    #[test]
    fn cross_node_checks_hold_on_the_records() {
        let records = [rec("node1", "d", "L1", "c1"), rec("node2", "d", "l1", "c2")];
        let found = findings(&spec(), "d", &records);
        let checks: Vec<Check> = found.iter().map(|f| f.check).collect();
        assert_eq!(checks, [Check::SharedCacheId, Check::SharedLocalRegistry]);
    }

    #[test]
    fn a_record_with_the_same_values_is_not_written_again() {
        let mut later = rec("node1", "d", "L1", "c");
        later.recorded_at = "later".into();
        assert!(rec("node1", "d", "L1", "c").same_values(&later));
        assert!(!rec("node1", "d", "L1", "c").same_values(&rec("node1", "e", "L1", "c")));
    }
}
