//! The clustering files in the node plan: an `EditFile` for each of axis2.xml, carbon.xml,
//! catalina-server.xml, hazelcast.properties and log4j.properties that must change (so dry-run diffs,
//! verify findings, backups and atomic writes are those of the other node files), the problems eidb
//! does not put right (a `conf/etc/hazelcast.xml`), and the restart a membership change needs.

use super::conf;
use super::files::{ClusterFile, ObservedNode};
use crate::core::check::Check;
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
const MEMBERSHIP_CHECKS: &[Check] = &[
    Check::ClusteringDisabled,
    Check::MembershipScheme,
    Check::ClusterDomain,
    Check::DefaultClusterDomain,
    Check::LocalMemberHost,
    Check::LoopbackMemberHost,
    Check::MemberHostName,
    Check::LocalMemberPort,
    Check::ClusterMembers,
    Check::ClusterMemberMissing,
    Check::DuplicateClusterMember,
];

/// Adds the clustering files' edits and problems of one node to its plan's.
pub fn plan(
    node: &DesiredNode,
    observed: &ObservedNode,
    changes: &mut Vec<Change>,
    problems: &mut Vec<Finding>,
) -> Result<()> {
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
                conf::edit_properties(current, &HAZELCAST_PROPERTIES, Check::HazelcastProperty)
            }
            ClusterFile::Log4j => {
                conf::edit_properties(current, &[LOG4J_HAZELCAST], Check::Log4jProperty)
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
        changes.push(Change::EditFile {
            node: node.name.clone(),
            carries_password: false,
            takes_over_from: Vec::new(),
            repoints: Vec::new(),
            diff: conf::masked_diff(file.relative_path(), current, &edited.text),
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
        problems.push(Finding::new(
            &format!("node {}", node.name),
            Check::HazelcastXml,
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
                Check::LoopbackMemberHost,
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

/// One node's clustering as found, for the checks across nodes without a spec (`verify --ei-home`).
pub struct FoundClustering {
    pub node: String,
    /// axis2.xml's `<clustering>`, `None` when the file is missing or unreadable.
    pub clustering: Option<conf::ActualClustering>,
    pub hazelcast_xml: Option<std::path::PathBuf>,
}

/// Read what [`cross_node`] needs of a node (read only).
pub fn read_found(node: &str, ei_home: &std::path::Path) -> FoundClustering {
    let axis2 = ei_home.join(ClusterFile::Axis2.relative_path());
    let clustering = super::files::TextFile::read(&axis2)
        .ok()
        .and_then(|t| conf::read_axis2_clustering(&t.text).ok());
    let hazelcast_xml = ei_home.join(super::files::HAZELCAST_XML);
    FoundClustering {
        node: node.to_string(),
        clustering,
        hazelcast_xml: hazelcast_xml.exists().then_some(hazelcast_xml),
    }
}

/// The nodes' Hazelcast clustering checked against each other, as found: once any node has clustering
/// on, every node must, on one domain (not WSO2's shipped one) and scheme, each listing every node's
/// address once, none advertising a loopback address when the nodes are on several hosts, and no
/// `conf/etc/hazelcast.xml` overriding it all.
pub fn cross_node(nodes: &[FoundClustering]) -> Vec<Finding> {
    use crate::core::clustering::SHIPPED_DOMAIN;
    let enabled: Vec<(&str, &conf::ActualClustering)> = nodes
        .iter()
        .filter_map(|n| Some((n.node.as_str(), n.clustering.as_ref()?)))
        .filter(|(_, c)| c.enabled)
        .collect();
    if enabled.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    let subject = |node: &str| format!("node {node}");
    let finding = |subject: String, check: Check, expected: &str, found: String, fix: &str| {
        Finding::new(
            &subject,
            check,
            Some(expected.to_string()),
            Some(found),
            fix,
        )
    };
    for n in nodes {
        if !n.clustering.as_ref().is_some_and(|c| c.enabled) {
            found.push(finding(
                subject(&n.node),
                Check::ClusteringDisabled,
                "<clustering enable=\"true\"> as on the other nodes",
                "clustering off (or axis2.xml unreadable)".into(),
                "set enable=\"true\" in its axis2.xml <clustering>, with the other nodes' domain and members",
            ));
        }
        if let Some(path) = &n.hazelcast_xml {
            found.push(finding(
                subject(&n.node),
                Check::HazelcastXml,
                "no conf/etc/hazelcast.xml",
                path.display().to_string(),
                "the kernel reads it instead of axis2.xml's <clustering>: move it away",
            ));
        }
    }
    let list = |value: &dyn Fn(&conf::ActualClustering) -> String| {
        enabled
            .iter()
            .map(|(node, c)| format!("{node}: {}", value(c)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
    let distinct = |value: &dyn Fn(&conf::ActualClustering) -> String| {
        enabled
            .iter()
            .map(|(_, c)| value(c))
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            > 1
    };
    let domain = |c: &conf::ActualClustering| text(&c.domain);
    if distinct(&domain) {
        found.push(finding(
            "cluster".into(),
            Check::ClusterDomain,
            "one domain on every node",
            list(&domain),
            "give every node the same domain (nodes on different domains form separate clusters)",
        ));
    }
    for (node, c) in &enabled {
        if c.domain.as_deref() == Some(SHIPPED_DOMAIN) {
            found.push(finding(
                subject(node),
                Check::DefaultClusterDomain,
                "a domain of this cluster's own",
                SHIPPED_DOMAIN.into(),
                "name a domain of this cluster's own: every environment left on the shipped one can merge with it",
            ));
        }
    }
    let scheme = |c: &conf::ActualClustering| text(&c.membership_scheme);
    if distinct(&scheme) || enabled.iter().any(|(_, c)| c.membership_scheme.is_none()) {
        found.push(finding(
            "cluster".into(),
            Check::MembershipScheme,
            "one membership scheme (wka) on every node",
            list(&scheme),
            "set <parameter name=\"membershipScheme\">wka</parameter> on every node (missing means multicast)",
        ));
    }
    let address = |c: &conf::ActualClustering| {
        format!(
            "{}:{}",
            text(&c.local_member_host),
            text(&c.local_member_port)
        )
    };
    let hosts: std::collections::BTreeSet<String> = enabled
        .iter()
        .map(|(_, c)| text(&c.local_member_host))
        .collect();
    for (node, c) in &enabled {
        let host = text(&c.local_member_host);
        if hosts.len() > 1 && is_loopback(&host) && !hosts.iter().all(|h| is_loopback(h)) {
            found.push(finding(
                subject(node),
                Check::LoopbackMemberHost,
                "the node's own address, which the other hosts reach",
                host,
                "set localMemberHost to the node's IP address",
            ));
        }
        let mut sorted = c.members.clone();
        sorted.sort();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            found.push(finding(
                subject(node),
                Check::DuplicateClusterMember,
                "every member once",
                c.members.join(", "),
                "remove the second <member>",
            ));
        }
        if scheme(c) == "wka" {
            for (other, oc) in &enabled {
                if !c.members.contains(&address(oc)) {
                    found.push(finding(
                        subject(node),
                        Check::ClusterMemberMissing,
                        &format!("node {other} ({}) in <members>", address(oc)),
                        c.members.join(", "),
                        "list every node of the cluster, itself included, in each node's <members>",
                    ));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, domain: &str, host: &str, members: &[&str]) -> FoundClustering {
        FoundClustering {
            node: name.into(),
            clustering: Some(conf::ActualClustering {
                enabled: true,
                membership_scheme: Some("wka".into()),
                domain: Some(domain.into()),
                local_member_host: Some(host.into()),
                local_member_port: Some("4100".into()),
                members: members.iter().map(|m| m.to_string()).collect(),
            }),
            hazelcast_xml: None,
        }
    }

    fn checks(nodes: &[FoundClustering]) -> Vec<Check> {
        cross_node(nodes).into_iter().map(|f| f.check).collect()
    }

    #[test]
    fn nodes_that_agree_are_fine_and_each_disagreement_is_named() {
        let both = ["10.0.0.11:4100", "10.0.0.12:4100"];
        let good = [
            node("a", "d", "10.0.0.11", &both),
            node("b", "d", "10.0.0.12", &both),
        ];
        assert!(checks(&good).is_empty());
        assert_eq!(
            checks(&[
                node("a", "d", "10.0.0.11", &both),
                node("b", "e", "10.0.0.12", &both)
            ]),
            [Check::ClusterDomain]
        );
        assert_eq!(
            checks(&[
                node("a", "d", "10.0.0.11", &both[..1]),
                node("b", "d", "10.0.0.12", &both)
            ]),
            [Check::ClusterMemberMissing]
        );
        let c = checks(&[
            node(
                "a",
                SHIPPED_DOMAIN_FOR_TESTS,
                "127.0.0.1",
                &["127.0.0.1:4100", "10.0.0.12:4100"],
            ),
            node(
                "b",
                SHIPPED_DOMAIN_FOR_TESTS,
                "10.0.0.12",
                &["127.0.0.1:4100", "10.0.0.12:4100", "10.0.0.12:4100"],
            ),
        ]);
        assert_eq!(
            c,
            [
                Check::DefaultClusterDomain,
                Check::DefaultClusterDomain,
                Check::LoopbackMemberHost,
                Check::DuplicateClusterMember
            ]
        );
        let mut off = node("b", "d", "10.0.0.12", &both);
        off.clustering.as_mut().unwrap().enabled = false;
        off.hazelcast_xml = Some("/x/conf/etc/hazelcast.xml".into());
        assert_eq!(
            checks(&[node("a", "d", "10.0.0.11", &both), off]),
            [Check::ClusteringDisabled, Check::HazelcastXml]
        );
    }

    const SHIPPED_DOMAIN_FOR_TESTS: &str = crate::core::clustering::SHIPPED_DOMAIN;
}
