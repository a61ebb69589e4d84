//! The other half of the WSO2 clustering guide: Hazelcast membership (`axis2.xml`), the load balancer's
//! names and ports (`carbon.xml`, `catalina-server.xml`, the transports' `WSDLEPRPrefix`), the Hazelcast
//! properties, all derived once from the spec's one node list. Pure: the spec's `[clustering]` and
//! `[load_balancer]` sections as written (serde) and as validated; what each node's files must say is
//! derived from them in [`crate::node_clustering`].

use std::net::IpAddr;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spanned::Spanned;

/// The domain WSO2 ships in axis2.xml: two environments left on it can merge into one Hazelcast cluster.
pub const SHIPPED_DOMAIN: &str = "wso2.carbon.domain";
/// The Hazelcast member port WSO2 ships (`localMemberPort`).
pub const DEFAULT_MEMBER_PORT: u16 = 4100;
/// The ports a node listens on before carbon.xml's `<Ports><Offset>`: pass-through HTTP and HTTPS, and
/// the management console's Tomcat connectors.
pub const PASS_THROUGH_HTTP_PORT: u16 = 8280;
pub const PASS_THROUGH_HTTPS_PORT: u16 = 8243;
pub const SERVLET_HTTP_PORT: u16 = 9763;
pub const SERVLET_HTTPS_PORT: u16 = 9443;
/// The highest port carbon.xml defines (the JMX RMI server port): an offset may not push it past 65535.
pub const HIGHEST_CARBON_PORT: u16 = 11111;

// ---------------------------------------------------------------------------------------------------------
// As written (serde).
// ---------------------------------------------------------------------------------------------------------

/// `[clustering]`: Hazelcast membership of the nodes (axis2.xml `<clustering>`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClustering {
    /// The Hazelcast group (axis2.xml `domain`); by default `wso2.ei.<cluster name>`, never WSO2's
    /// shipped `wso2.carbon.domain`.
    pub(crate) domain: Option<Spanned<String>>,
    /// Every node's `localMemberPort` unless the node sets `member_port` (default 4100).
    pub(crate) member_port: Option<Spanned<u16>>,
    /// How members find each other; only `wka` (well-known addresses: every node listed).
    pub(crate) membership_scheme: Option<Spanned<MembershipScheme>>,
}

/// `[load_balancer]`: the names and ports the nodes are reached at, and the nginx files' certificate.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLoadBalancer {
    /// The services' host name (the guide's `ei.wso2.com`): carbon.xml `HostName`, `WSDLEPRPrefix`.
    pub(crate) host: Spanned<String>,
    /// The management console's host name (the guide's `ui.ei.wso2.com`); by default `host`.
    pub(crate) mgt_host: Option<Spanned<String>>,
    /// The load balancer's HTTP port (default 80).
    pub(crate) http_port: Option<Spanned<u16>>,
    /// The load balancer's HTTPS port (default 443).
    pub(crate) https_port: Option<Spanned<u16>>,
    /// For `eidb lb-config`: the certificate (PEM) of the HTTPS listeners.
    pub(crate) ssl_certificate: Option<Spanned<String>>,
    /// For `eidb lb-config`: the certificate's private key (PEM).
    pub(crate) ssl_certificate_key: Option<Spanned<String>>,
}

/// `clustering.membership_scheme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MembershipScheme {
    /// Well-known addresses: every node lists every node (itself included).
    #[default]
    Wka,
}

impl MembershipScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipScheme::Wka => "wka",
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Validated.
// ---------------------------------------------------------------------------------------------------------

/// `[clustering]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clustering {
    pub domain: String,
    pub member_port: u16,
    pub membership_scheme: MembershipScheme,
}

/// `[load_balancer]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancer {
    pub host: String,
    pub mgt_host: String,
    pub http_port: u16,
    pub https_port: u16,
    pub ssl_certificate: Option<PathBuf>,
    pub ssl_certificate_key: Option<PathBuf>,
}

/// The default domain of a cluster: its ledger name, lower-cased, under `wso2.ei.`.
pub fn default_domain(cluster: &str) -> String {
    format!("wso2.ei.{}", cluster.to_ascii_lowercase())
}

/// A Hazelcast domain eidb writes: letters, digits, `.`, `_` and `-`.
pub fn validate_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() || domain.len() > 128 {
        return Err("must be 1 to 128 characters long".into());
    }
    if let Some(bad) = domain
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-".contains(*c)))
    {
        return Err(format!(
            "`{domain}` contains `{bad}`; use only letters, digits, `.`, `_` and `-`"
        ));
    }
    if domain == SHIPPED_DOMAIN {
        return Err(format!(
            "`{SHIPPED_DOMAIN}` is the domain WSO2 ships: every environment left on it can merge with this one; \
             name this cluster's own (or leave the key out for one derived from the cluster's name)"
        ));
    }
    Ok(())
}

/// A load balancer host name (or IP address), as it goes into URLs and carbon.xml.
pub fn validate_lb_host(host: &str) -> Result<(), String> {
    if host.is_empty() || host.len() > 253 {
        return Err("must be a host name or IP address".into());
    }
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if host.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(format!("`{host}` is not a host name or IP address"))
    }
}

/// Whether an address is a loopback one (127.0.0.0/8, ::1) or `localhost`: a member advertising it can
/// never be reached from another host.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node_clustering::{for_node, members, Member};
    use crate::spec::Spec;

    fn spec(extra: &str, nodes: &str) -> crate::error::Result<Spec> {
        let text = format!(
            "[server]\nurl = \"mysql://root@127.0.0.1:3306\"\n\n[user]\nname = \"regadmin\"\npassword_env = \"X\"\n\n\
             [dbscripts]\nfile = \"x.sql\"\n{extra}\n{nodes}"
        );
        Spec::parse(&text, std::path::Path::new("/etc/eidb/cluster.toml"))
    }

    const TWO_HOSTS: &str = "[[nodes]]\nname = \"node1\"\nei_home = \"/opt/ei\"\nhost = \"10.0.0.11\"\n\n\
                             [[nodes]]\nname = \"node2\"\nei_home = \"/opt/ei\"\nhost = \"10.0.0.12\"\n";

    #[test]
    fn a_two_host_cluster_gets_every_value() {
        let spec = spec(
            "[clustering]\n[load_balancer]\nhost = \"ei.wso2.com\"\nmgt_host = \"ui.ei.wso2.com\"\n",
            TWO_HOSTS,
        )
        .unwrap();
        let c = spec.clustering.as_ref().unwrap();
        assert_eq!(c.domain, "wso2.ei.registry_db");
        assert_eq!(c.member_port, 4100);
        let n2 = for_node(&spec, &spec.nodes[1]);
        let m = n2.membership.unwrap();
        assert_eq!(m.local_member_host, "10.0.0.12");
        assert_eq!(m.local_member_port, 4100);
        assert_eq!(
            m.members,
            [
                Member {
                    host: "10.0.0.11".into(),
                    port: 4100
                },
                Member {
                    host: "10.0.0.12".into(),
                    port: 4100
                }
            ]
        );
        let f = n2.fronted.unwrap();
        assert_eq!(f.http_prefix, "http://ei.wso2.com:80");
        assert_eq!(f.https_prefix, "https://ei.wso2.com:443");
        assert_eq!(f.mgt_host_name, "ui.ei.wso2.com");
        assert_eq!(n2.port_offset, Some(0));
    }

    #[test]
    fn without_the_sections_nothing_is_desired() {
        let spec = spec("", TWO_HOSTS).unwrap();
        assert!(for_node(&spec, &spec.nodes[0]).is_empty());
    }

    /// Bad input names file, line and key; exit 2.
    #[test]
    fn collisions_and_bad_hosts_are_bad_input() {
        let one_host = TWO_HOSTS.replace("10.0.0.12", "10.0.0.11");
        let cases = [
            (
                "[clustering]\n",
                TWO_HOSTS.replace("10.0.0.12", "ei-2"),
                ":20: nodes.host",
                "not an IP address",
            ),
            (
                "",
                one_host.clone(),
                ":18: nodes.ei_home",
                "both on 10.0.0.11 with ei_home",
            ),
            (
                "",
                one_host
                    .replace(
                        "/opt/ei\"\nhost = \"10.0.0.11\"\n\n",
                        "/opt/ei\"\nhost = \"10.0.0.11\"\nport_offset = 0\n\n",
                    )
                    .replacen("ei_home = \"/opt/ei\"", "ei_home = \"/opt/ei1\"", 1),
                ":20: nodes.host",
                "port offset 0",
            ),
            (
                "[clustering]\nmember_port = 4000\n",
                format!(
                    "{}port_offset = 1\n",
                    one_host.replacen("ei_home = \"/opt/ei\"", "ei_home = \"/opt/ei1\"", 1)
                ),
                ":21: nodes.host",
                "Hazelcast members at 10.0.0.11:4000",
            ),
            (
                "[clustering]\n",
                TWO_HOSTS.replace("host = \"10.0.0.12\"\n", ""),
                ":18: nodes.name",
                "has no `host`",
            ),
            (
                "[clustering]\ndomain = \"wso2.carbon.domain\"\n",
                TWO_HOSTS.to_string(),
                ":11: clustering.domain",
                "WSO2 ships",
            ),
            (
                "[load_balancer]\nhost = \"a b\"\n",
                TWO_HOSTS.to_string(),
                ":11: load_balancer.host",
                "not a host name",
            ),
            (
                "[clustering]\nmembership_scheme = \"multicast\"\n",
                TWO_HOSTS.to_string(),
                ":11: clustering.membership_scheme",
                "`wka`",
            ),
        ];
        for (extra, nodes, at, problem) in cases {
            let e = spec(extra, &nodes)
                .err()
                .unwrap_or_else(|| panic!("accepted: {extra}{nodes}"));
            assert_eq!(e.exit_code(), 2);
            assert!(
                e.message.contains(at) && e.message.contains(problem),
                "{at} {problem}: {}",
                e.message
            );
        }
        // One host, own homes, offsets and member ports: fine.
        let fine = format!(
            "{}port_offset = 1\nmember_port = 4101\n",
            one_host.replacen("ei_home = \"/opt/ei\"", "ei_home = \"/opt/ei1\"", 1)
        );
        let spec = spec("[clustering]\n", &fine).unwrap();
        assert_eq!(
            members(&spec)[1],
            Member {
                host: "10.0.0.11".into(),
                port: 4101
            }
        );
    }

    #[test]
    fn domains() {
        assert_eq!(default_domain("REGISTRY_DB"), "wso2.ei.registry_db");
        assert!(validate_domain("wso2.ei.prod-eu_1").is_ok());
        assert!(validate_domain(SHIPPED_DOMAIN).is_err());
        assert!(validate_domain("a b").is_err());
        assert!(validate_domain("").is_err());
    }

    #[test]
    fn lb_hosts() {
        for good in ["ei.wso2.com", "10.0.0.5", "::1", "lb"] {
            assert!(validate_lb_host(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "-x.com", "a..b", "x/y"] {
            assert!(validate_lb_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("127.1.2.3"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("::1"));
        assert!(!is_loopback("10.0.0.1"));
        assert!(!is_loopback("ei.wso2.com"));
    }
}
