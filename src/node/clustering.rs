//! The clustering files in the node plan: an `EditFile` for each of axis2.xml, carbon.xml,
//! catalina-server.xml, hazelcast.properties and log4j.properties that must change (so dry-run diffs,
//! verify findings, backups and atomic writes are those of the other node files), the problems eidb
//! does not put right (a `conf/etc/hazelcast.xml`), and the restart a membership change needs.

use super::conf;
use super::files::{ClusterFile, ObservedNode};
use super::plan::{masked_diff, NodePlan};
use crate::core::clustering::is_loopback;
use crate::core::desired::DesiredNode;
use crate::core::drift::Finding;
use crate::core::plan::Change;
use crate::error::{Error, Result};

/// The Hazelcast settings of `conf/hazelcast.properties` the WSO2 clustering guide sets.
pub const HAZELCAST_PROPERTIES: [(&str, &str); 2] = [
    ("hazelcast.shutdownhook.enabled", "false"),
    ("hazelcast.logging.type", "log4j"),
];
/// The log4j.properties line of the guide.
pub const LOG4J_HAZELCAST: (&str, &str) = ("log4j.logger.com.hazelcast", "INFO");

/// Differences of axis2.xml that change how the node joins the Hazelcast cluster: read at start only,
/// so every node must be restarted once they are written.
const MEMBERSHIP_CHECKS: &[&str] = &[
    "clustering_disabled",
    "membership_scheme",
    "cluster_domain",
    "default_cluster_domain",
    "local_member_host",
    "loopback_member_host",
    "member_host_name",
    "local_member_port",
    "cluster_members",
    "cluster_member_missing",
    "duplicate_cluster_member",
];

/// Adds the clustering files' edits and problems of one node to its plan.
pub fn plan(node: &DesiredNode, observed: &ObservedNode, out: &mut NodePlan) -> Result<()> {
    let desired = &node.clustering;
    for (file, path, found) in &observed.clustering {
        let current = found.as_ref().map_or("", |f| f.content.text.as_str());
        let bad_xml = |e: conf::ConfError| {
            Error::input(format!(
                "node {}: {}:{}:{}: {}",
                node.name,
                path.display(),
                e.line,
                e.column,
                e.message
            ))
            .with_hint("fix the XML by hand (or restore the file from the EI distribution); no file was changed")
        };
        let edited = match file {
            ClusterFile::Axis2 => conf::edit_axis2(
                current,
                desired.membership.as_ref(),
                desired.fronted.as_ref(),
            )
            .map_err(bad_xml)?,
            ClusterFile::Carbon => {
                conf::edit_carbon(current, desired.fronted.as_ref(), desired.port_offset)
                    .map_err(bad_xml)?
            }
            ClusterFile::Catalina => match &desired.fronted {
                Some(fronted) => conf::edit_catalina(current, fronted).map_err(bad_xml)?,
                None => continue,
            },
            ClusterFile::Hazelcast => {
                conf::edit_properties(current, &HAZELCAST_PROPERTIES, "hazelcast_property")
            }
            ClusterFile::Log4j => {
                conf::edit_properties(current, &[LOG4J_HAZELCAST], "log4j_property")
            }
        };
        if edited.text == current && found.is_some() {
            continue;
        }
        let after = match found {
            Some(f) => f
                .content
                .encode(&edited.text)
                .map_err(|e| e.context(format!("node {}", node.name)))?,
            None => edited.text.clone().into_bytes(),
        };
        out.changes.push(Change::EditFile {
            node: node.name.clone(),
            repoints: Vec::new(),
            diff: masked_diff(file.relative_path(), current, &edited.text),
            differences: edited.differences,
            private_backup: false,
            file: path.clone(),
            before: found
                .as_ref()
                .map(|f| f.content.bytes.clone())
                .unwrap_or_default(),
            after,
            mode: None,
        });
    }
    if let Some(path) = &observed.hazelcast_xml {
        out.problems.push(Finding::new(
            &format!("node {}", node.name),
            "hazelcast_xml",
            Some("no conf/etc/hazelcast.xml (the clustering settings of axis2.xml in force)".into()),
            Some(path.display().to_string()),
            format!(
                "the Carbon kernel reads {} instead of axis2.xml's <clustering> when it exists: move it away \
                 (or carry its settings into the spec and let eidb write axis2.xml)",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Nodes on several hosts whose clustering advertises a loopback address: the members never meet.
/// Said before the edit puts it right, because the spec itself may be what says it.
pub fn loopback_members(nodes: &[DesiredNode]) -> Vec<Finding> {
    let hosts: std::collections::BTreeSet<&str> = nodes
        .iter()
        .filter_map(|n| n.clustering.membership.as_ref())
        .map(|m| m.local_member_host.as_str())
        .collect();
    if hosts.len() < 2 || hosts.iter().all(|h| is_loopback(h)) {
        return Vec::new();
    }
    nodes
        .iter()
        .filter_map(|n| Some((n, n.clustering.membership.as_ref()?)))
        .filter(|(_, m)| is_loopback(&m.local_member_host))
        .map(|(n, m)| {
            Finding::new(
                &format!("node {}", n.name),
                "loopback_member_host",
                Some("the node's own address, which the other hosts reach".into()),
                Some(m.local_member_host.clone()),
                "set the node's `host` in the spec to its IP address on the network the other nodes share",
            )
        })
        .collect()
}

/// The warning a run that changes the Hazelcast membership of any node gives: every node must be
/// restarted (the kernel reads axis2.xml only at start; a node left on the old settings stays in a
/// cluster of its own). `None` when no such change is planned.
pub fn restart_warning(nodes: &[DesiredNode], changes: &[Change]) -> Option<String> {
    let changed: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::EditFile {
                node, differences, ..
            } if differences
                .iter()
                .any(|d| MEMBERSHIP_CHECKS.contains(&d.check)) =>
            {
                Some(node.as_str())
            }
            _ => None,
        })
        .collect();
    if changed.is_empty() {
        return None;
    }
    let all: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    Some(format!(
        "the Hazelcast membership changes (axis2.xml <clustering> of {}): restart every node of the cluster ({}) \
         once the files are written: Carbon reads it only at start, and a node left on the old settings stays \
         out of the cluster",
        changed.join(", "),
        all.join(", ")
    ))
}
