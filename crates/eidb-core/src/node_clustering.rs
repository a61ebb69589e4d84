//! What each node's clustering files must say, derived from the spec's one node list: the Hazelcast
//! membership (every node a well-known member, each node its own address), what the load balancer puts in
//! front of it, its port offset. Pure; `eidb::node::conf` edits the files to say it.

use std::net::IpAddr;

use crate::clustering::{MembershipScheme, DEFAULT_MEMBER_PORT};
use crate::spec::{Node, Spec};

/// A well-known member: a node's address and Hazelcast port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub host: String,
    pub port: u16,
}

/// axis2.xml `<clustering>` of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub domain: String,
    pub membership_scheme: MembershipScheme,
    pub local_member_host: String,
    pub local_member_port: u16,
    /// Every node of the cluster, this one included, in the spec's order.
    pub members: Vec<Member>,
}

/// What the load balancer puts in front of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fronted {
    /// axis2.xml `WSDLEPRPrefix` of the `http` and `https` transport receivers.
    pub http_prefix: String,
    pub https_prefix: String,
    /// carbon.xml `<HostName>` and `<MgtHostName>`.
    pub host_name: String,
    pub mgt_host_name: String,
    /// catalina-server.xml `proxyPort` of the 9763 and 9443 connectors.
    pub http_proxy_port: u16,
    pub https_proxy_port: u16,
}

/// Everything the clustering files of one node must say; `None` parts leave their files alone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeClustering {
    /// With `[clustering]`: axis2.xml membership, hazelcast.properties, log4j.properties.
    pub membership: Option<Membership>,
    /// With `[load_balancer]`.
    pub fronted: Option<Fronted>,
    /// carbon.xml `<Ports><Offset>`, written with either section.
    pub port_offset: Option<u16>,
}

impl NodeClustering {
    pub fn is_empty(&self) -> bool {
        self.membership.is_none() && self.fronted.is_none() && self.port_offset.is_none()
    }
}

/// A node's Hazelcast port: its own `member_port`, else the cluster's.
pub fn member_port(spec: &Spec, node: &Node) -> u16 {
    let clustering_port = spec
        .clustering
        .as_ref()
        .map_or(DEFAULT_MEMBER_PORT, |c| c.member_port);
    node.member_port.unwrap_or(clustering_port)
}

/// The well-known member list: every node with a host, in the spec's order.
pub fn members(spec: &Spec) -> Vec<Member> {
    spec.nodes
        .iter()
        .filter_map(|node| {
            node.host.map(|host| Member {
                host: host.to_string(),
                port: member_port(spec, node),
            })
        })
        .collect()
}

/// What `node`'s clustering files must say.
pub fn for_node(spec: &Spec, node: &Node) -> NodeClustering {
    let membership = spec.clustering.as_ref().and_then(|c| {
        Some(Membership {
            domain: c.domain.clone(),
            membership_scheme: c.membership_scheme,
            local_member_host: node.host?.to_string(),
            local_member_port: member_port(spec, node),
            members: members(spec),
        })
    });
    let fronted = spec.load_balancer.as_ref().map(|lb| Fronted {
        http_prefix: url("http", &lb.host, lb.http_port),
        https_prefix: url("https", &lb.host, lb.https_port),
        host_name: lb.host.clone(),
        mgt_host_name: lb.mgt_host.clone(),
        http_proxy_port: lb.http_port,
        https_proxy_port: lb.https_port,
    });
    let port_offset =
        (spec.clustering.is_some() || spec.load_balancer.is_some()).then_some(node.port_offset);
    NodeClustering {
        membership,
        fronted,
        port_offset,
    }
}

/// `scheme://host:port`, as the guide writes `WSDLEPRPrefix` (the port always given: Synapse builds
/// EPRs by appending the path, and a client must reach the load balancer's port, not the node's).
fn url(scheme: &str, host: &str, port: u16) -> String {
    let host = match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => host.to_string(),
    };
    format!("{scheme}://{host}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_bracket_ipv6() {
        assert_eq!(url("https", "::1", 8443), "https://[::1]:8443");
        assert_eq!(url("http", "ei.wso2.com", 80), "http://ei.wso2.com:80");
    }
}
