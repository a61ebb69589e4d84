//! `conf/axis2/axis2.xml`: the Hazelcast `<clustering>` section (membership, domain, this member's
//! address and port, the well-known members) and the `WSDLEPRPrefix` of the `http` and `https`
//! pass-through transport receivers. Every other parameter (`clusteringPattern`, `AvoidInitiation`,
//! `mcastPort`, `properties`, `groupManagement`, the long comments) stays as it is.

use super::xml::{Changed, ConfError, Document, Editor, Element, NewElement};
use super::Edited;
use crate::core::check::Check;
use crate::core::clustering::{is_loopback, SHIPPED_DOMAIN};
use crate::core::drift::Difference;
use crate::core::node_clustering::{Fronted, Member, Membership};

const ROOT: &str = "axisconfig";
const CLUSTERING: &str = "clustering";
const PARAMETER: &str = "parameter";
const MEMBERS: &str = "members";
const MEMBER: &str = "member";
const TRANSPORT_RECEIVER: &str = "transportReceiver";
const WSDL_EPR_PREFIX: &str = "WSDLEPRPrefix";

/// What a node's axis2.xml says about clustering, as read (for checks across nodes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActualClustering {
    pub enabled: bool,
    pub membership_scheme: Option<String>,
    pub domain: Option<String>,
    pub local_member_host: Option<String>,
    pub local_member_port: Option<String>,
    /// `host:port` of each `<member>`.
    pub members: Vec<String>,
}

/// Makes axis2.xml say `membership` (when given) and the load balancer's `WSDLEPRPrefix` (when given).
pub fn edit_axis2(
    original: &str,
    membership: Option<&Membership>,
    fronted: Option<&Fronted>,
) -> Result<Edited, ConfError> {
    let doc = Document::parse(original)?;
    let root = doc.expect_root(ROOT)?;
    let mut editor = Editor::new(&doc);
    let mut differences = Vec::new();
    if let Some(membership) = membership {
        let clustering = clustering_of(&doc, root)?;
        let enable = editor.set_attribute(clustering, "enable", "true")?;
        if enable.is_changed() {
            differences.push(Difference::new(
                Check::ClusteringDisabled,
                None,
                "clustering enable=\"true\"",
                enable.found().map(|f| format!("clustering enable=\"{f}\"")),
            ));
        }
        let port = membership.local_member_port.to_string();
        for (name, value, check) in [
            (
                "membershipScheme",
                membership.membership_scheme.as_str(),
                Check::MembershipScheme,
            ),
            ("domain", membership.domain.as_str(), Check::ClusterDomain),
            (
                "localMemberHost",
                membership.local_member_host.as_str(),
                Check::LocalMemberHost,
            ),
            ("localMemberPort", port.as_str(), Check::LocalMemberPort),
        ] {
            let changed = set_parameter(&doc, &mut editor, clustering, name, value)?;
            if changed.is_changed() {
                let found = changed.found();
                let check = match (check, found.as_deref()) {
                    (Check::ClusterDomain, Some(SHIPPED_DOMAIN)) => Check::DefaultClusterDomain,
                    (Check::LocalMemberHost, Some(host)) if is_loopback(host) => {
                        Check::LoopbackMemberHost
                    }
                    (Check::LocalMemberHost, Some(host))
                        if host.parse::<std::net::IpAddr>().is_err() =>
                    {
                        Check::MemberHostName
                    }
                    _ => check,
                };
                differences.push(Difference::new(
                    check,
                    None,
                    format!("{name} {value}"),
                    found.map(|f| format!("{name} {f}")),
                ));
            }
        }
        let wanted: Vec<String> = membership.members.iter().map(member_text).collect();
        let members = doc.unique(
            clustering.children_named(MEMBERS),
            |_| true,
            || "<members>".to_string(),
        )?;
        let found = members.map(read_members);
        let same = found.as_ref().is_some_and(|found| {
            let (mut a, mut b) = (found.clone(), wanted.clone());
            a.sort();
            b.sort();
            a == b
        });
        if !same {
            let new: Vec<NewElement> = membership.members.iter().map(new_member).collect();
            match members {
                Some(element) => editor.replace_children(element, &new)?,
                None => editor.insert(
                    clustering,
                    clustering.children.iter().rfind(|c| c.name == PARAMETER),
                    NewElement::parent(MEMBERS, new),
                ),
            }
            // What is wrong with the list as found, most telling first.
            let check = match &found {
                Some(found) if has_duplicates(found) => Check::DuplicateClusterMember,
                Some(found)
                    if !found.is_empty()
                        && wanted.iter().any(|w| !found.contains(w))
                        && found.iter().all(|f| wanted.contains(f)) =>
                {
                    Check::ClusterMemberMissing
                }
                _ => Check::ClusterMembers,
            };
            differences.push(Difference::new(
                check,
                None,
                wanted.join(", "),
                found.map(|f| f.join(", ")),
            ));
        }
    }
    if let Some(fronted) = fronted {
        for (transport, prefix) in [
            ("http", &fronted.http_prefix),
            ("https", &fronted.https_prefix),
        ] {
            let receiver = doc
                .unique(
                    root.children_named(TRANSPORT_RECEIVER),
                    |e| e.attribute("name") == Some(transport),
                    || format!("<transportReceiver name=\"{transport}\">"),
                )?
                .ok_or_else(|| {
                    doc.error(
                        root,
                        format!(
                            "no <transportReceiver name=\"{transport}\">; restore it from the WSO2 distribution"
                        ),
                    )
                })?;
            let changed = set_parameter(&doc, &mut editor, receiver, WSDL_EPR_PREFIX, prefix)?;
            if changed.is_changed() {
                differences.push(Difference::new(
                    Check::WsdlEprPrefix,
                    Some(&format!("transportReceiver {transport}")),
                    prefix.as_str(),
                    changed.found(),
                ));
            }
        }
    }
    Ok(Edited {
        text: editor.finish()?,
        differences,
    })
}

/// What the file's `<clustering>` says.
pub fn read_axis2_clustering(xml: &str) -> Result<ActualClustering, ConfError> {
    let doc = Document::parse(xml)?;
    let root = doc.expect_root(ROOT)?;
    let clustering = clustering_of(&doc, root)?;
    let parameter = |name: &str| {
        clustering
            .children_named(PARAMETER)
            .find(|p| p.attribute("name") == Some(name))
            .map(|p| p.text().trim().to_string())
    };
    Ok(ActualClustering {
        enabled: clustering.attribute("enable") == Some("true"),
        membership_scheme: parameter("membershipScheme"),
        domain: parameter("domain"),
        local_member_host: parameter("localMemberHost"),
        local_member_port: parameter("localMemberPort"),
        members: clustering
            .children_named(MEMBERS)
            .flat_map(read_members)
            .collect(),
    })
}

fn clustering_of<'e>(doc: &Document<'_>, root: &'e Element) -> Result<&'e Element, ConfError> {
    doc.unique(
        root.children_named(CLUSTERING),
        |_| true,
        || "<clustering>".to_string(),
    )?
    .ok_or_else(|| {
        doc.error(
            root,
            "axis2.xml has no <clustering> section; restore it from the WSO2 distribution",
        )
    })
}

fn has_duplicates(list: &[String]) -> bool {
    let mut sorted = list.to_vec();
    sorted.sort();
    sorted.windows(2).any(|w| w[0] == w[1])
}

fn member_text(member: &Member) -> String {
    format!("{}:{}", member.host, member.port)
}

fn read_members(members: &Element) -> Vec<String> {
    members
        .children_named(MEMBER)
        .map(|m| {
            let text = |name| {
                m.child_text(name)
                    .map(|t| t.trim().to_string())
                    .unwrap_or_else(|| "?".into())
            };
            format!("{}:{}", text("hostName"), text("port"))
        })
        .collect()
}

fn new_member(member: &Member) -> NewElement {
    NewElement::parent(
        MEMBER,
        vec![
            NewElement::leaf("hostName", &member.host),
            NewElement::leaf("port", member.port.to_string()),
        ],
    )
}

/// Sets `<parameter name="NAME">` of `parent` to `value`, or adds one after the last parameter.
fn set_parameter<'d>(
    doc: &Document<'_>,
    editor: &mut Editor<'d>,
    parent: &'d Element,
    name: &str,
    value: &str,
) -> Result<Changed, ConfError> {
    let existing = doc.unique(
        parent.children_named(PARAMETER),
        |p| p.attribute("name") == Some(name),
        || format!("<parameter name=\"{name}\">"),
    )?;
    match existing {
        Some(element) if element.children.is_empty() && element.text().trim() == value => {
            Ok(Changed::Unchanged)
        }
        Some(element) => {
            let found = if element.children.is_empty() {
                element.text().trim().to_string()
            } else {
                format!("<{}> with child elements", element.name)
            };
            editor.set_text(element, value)?;
            Ok(Changed::From(found))
        }
        None => {
            let mut new = NewElement::leaf(PARAMETER, value).with_attribute("name", name);
            if parent.name == TRANSPORT_RECEIVER {
                new = new.with_attribute("locked", "false");
            }
            let after = parent.children.iter().rfind(|c| c.name == PARAMETER);
            editor.insert(parent, after, new);
            Ok(Changed::Added)
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::test_support::{
        assert_no_bare_lf, assert_only_owned_lines_changed, real_conf, to_crlf,
    };
    use super::super::{edit_carbon, edit_catalina, read_carbon, read_proxy_port};
    use super::*;
    use crate::core::clustering::MembershipScheme;

    const OWNED: &[&str] = &[
        "<clustering",
        "enable=",
        "name=\"membershipScheme\"",
        "name=\"domain\"",
        "name=\"localMemberHost\"",
        "name=\"localMemberPort\"",
        "<members",
        "</members",
        "<member>",
        "</member>",
        "<hostName>",
        "<port>",
        "WSDLEPRPrefix",
    ];

    /// An EI 6.0.0-like clustering section: WorkerManager, CRLF line endings, no members.
    const WORKER_MANAGER: &str = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<axisconfig name=\"AxisJava2.0\">\n    <transportReceiver name=\"http\" class=\"org.apache.synapse.transport.passthru.PassThroughHttpListener\">\n        <parameter name=\"port\" locked=\"false\">8280</parameter>\n    </transportReceiver>\n    <transportReceiver name=\"https\" class=\"org.apache.synapse.transport.passthru.PassThroughHttpSSLListener\">\n        <parameter name=\"port\" locked=\"false\">8243</parameter>\n        <parameter name=\"WSDLEPRPrefix\" locked=\"false\">https://old:443</parameter>\n    </transportReceiver>\n    <!-- the cluster -->\n    <clustering class=\"org.wso2.carbon.core.clustering.hazelcast.HazelcastClusteringAgent\" enable=\"false\">\n        <parameter name=\"clusteringPattern\">WorkerManager</parameter>\n        <parameter name=\"domain\">wso2.carbon.domain</parameter>\n        <parameter name=\"localMemberHost\">127.0.0.1</parameter>\n        <!-- members: -->\n        <members/>\n    </clustering>\n</axisconfig>\n";

    pub(crate) fn membership(
        domain: &str,
        host: &str,
        port: u16,
        others: &[(&str, u16)],
    ) -> Membership {
        let mut members = vec![Member {
            host: host.into(),
            port,
        }];
        members.extend(others.iter().map(|(h, p)| Member {
            host: (*h).into(),
            port: *p,
        }));
        Membership {
            domain: domain.into(),
            membership_scheme: MembershipScheme::Wka,
            local_member_host: host.into(),
            local_member_port: port,
            members,
        }
    }

    pub(crate) fn fronted() -> Fronted {
        Fronted {
            http_prefix: "http://ei.wso2.com:80".into(),
            https_prefix: "https://ei.wso2.com:443".into(),
            host_name: "ei.wso2.com".into(),
            mgt_host_name: "ui.ei.wso2.com".into(),
            http_proxy_port: 80,
            https_proxy_port: 443,
        }
    }

    fn check_axis2(original: &str) {
        let m = membership("wso2.ei.prod", "10.0.0.11", 4100, &[("10.0.0.12", 4100)]);
        let edited = edit_axis2(original, Some(&m), Some(&fronted())).unwrap();
        let read = read_axis2_clustering(&edited.text).unwrap();
        assert!(read.enabled);
        assert_eq!(read.domain.as_deref(), Some("wso2.ei.prod"));
        assert_eq!(read.membership_scheme.as_deref(), Some("wka"));
        assert_eq!(read.local_member_host.as_deref(), Some("10.0.0.11"));
        assert_eq!(read.local_member_port.as_deref(), Some("4100"));
        assert_eq!(read.members, ["10.0.0.11:4100", "10.0.0.12:4100"]);
        assert_eq!(
            edited.text.matches("name=\"WSDLEPRPrefix\"").count()
                - original.matches("name=\"WSDLEPRPrefix\"").count()
                + original
                    .matches("<parameter name=\"WSDLEPRPrefix\"")
                    .count(),
            2,
            "{}",
            edited.text
        );
        assert!(edited.text.contains(">http://ei.wso2.com:80</parameter>"));
        assert!(edited.text.contains(">https://ei.wso2.com:443</parameter>"));
        let checks: Vec<Check> = edited.differences.iter().map(|d| d.check).collect();
        assert!(checks.contains(&Check::DefaultClusterDomain), "{checks:?}");
        assert!(checks.contains(&Check::LoopbackMemberHost), "{checks:?}");
        assert_only_owned_lines_changed(original, &edited.text, OWNED);
        let again = edit_axis2(&edited.text, Some(&m), Some(&fronted())).unwrap();
        assert_eq!(again.text, edited.text);
        assert!(again.differences.is_empty(), "{:?}", again.differences);
    }

    #[test]
    fn the_real_axis2_gets_every_value_and_a_second_edit_changes_nothing() {
        check_axis2(&real_conf("axis2/axis2.xml"));
        let crlf = to_crlf(&real_conf("axis2/axis2.xml"));
        check_axis2(&crlf);
        let m = membership("d", "10.0.0.11", 4100, &[]);
        assert_no_bare_lf(&edit_axis2(&crlf, Some(&m), Some(&fronted())).unwrap().text);
    }

    #[test]
    fn a_worker_manager_section_with_crlf_gets_every_value() {
        check_axis2(WORKER_MANAGER);
        let crlf = to_crlf(WORKER_MANAGER);
        check_axis2(&crlf);
        let m = membership("d", "10.0.0.11", 4100, &[("10.0.0.12", 4101)]);
        let edited = edit_axis2(&crlf, Some(&m), Some(&fronted())).unwrap();
        assert_no_bare_lf(&edited.text);
        assert!(edited.text.contains("WorkerManager"));
        assert!(edited.text.contains("<!-- members: -->"));
    }

    #[test]
    fn without_membership_or_load_balancer_nothing_changes() {
        let real = real_conf("axis2/axis2.xml");
        let edited = edit_axis2(&real, None, None).unwrap();
        assert_eq!(edited.text, real);
    }

    #[test]
    fn carbon_gets_names_beside_the_comments_and_the_offset() {
        let real = real_conf("carbon.xml");
        for original in [real.clone(), to_crlf(&real)] {
            let edited = edit_carbon(&original, Some(&fronted()), Some(1)).unwrap();
            let read = read_carbon(&edited.text).unwrap();
            assert_eq!(read.host_name.as_deref(), Some("ei.wso2.com"));
            assert_eq!(read.mgt_host_name.as_deref(), Some("ui.ei.wso2.com"));
            assert_eq!(read.offset.as_deref(), Some("1"));
            assert!(edited
                .text
                .contains("<!--HostName>www.wso2.org</HostName-->"));
            assert!(edited
                .text
                .contains("<!--MgtHostName>mgt.wso2.org</MgtHostName-->"));
            assert_only_owned_lines_changed(&original, &edited.text, &["<Offset>"]);
            let again = edit_carbon(&edited.text, Some(&fronted()), Some(1)).unwrap();
            assert_eq!(again.text, edited.text);
            assert!(again.differences.is_empty());
            if original.contains('\r') {
                assert_no_bare_lf(&edited.text);
            }
        }
    }

    #[test]
    fn catalina_proxy_ports_replace_a_value_that_is_there() {
        let real = real_conf("tomcat/catalina-server.xml");
        let edited = edit_catalina(&real, &fronted()).unwrap();
        assert_eq!(
            read_proxy_port(&edited.text, 9763).unwrap().as_deref(),
            Some("80")
        );
        assert_eq!(
            read_proxy_port(&edited.text, 9443).unwrap().as_deref(),
            Some("443")
        );
        assert_only_owned_lines_changed(
            &real,
            &edited.text,
            &["URIEncoding", "proxyPort", "port=\"9443\"", "port=\"9763\""],
        );
        assert_eq!(
            edit_catalina(&edited.text, &fronted()).unwrap().text,
            edited.text
        );
        // EI 6.0.0 sets proxyPort="8280" / "8243" on those Connectors: the value is replaced.
        let six_oh = "<Server port=\"8005\">\r\n  <Service name=\"Catalina\">\r\n    <Connector port=\"9763\"\r\n       proxyPort=\"8280\" redirectPort=\"9443\"/>\r\n    <Connector port='9443' proxyPort='8243'\r\n       scheme=\"https\"/>\r\n  </Service>\r\n</Server>\r\n";
        let edited = edit_catalina(six_oh, &fronted()).unwrap();
        assert_eq!(
            edited.text,
            six_oh
                .replace("\"8280\"", "\"80\"")
                .replace("'8243'", "'443'")
        );
        assert_eq!(edited.differences.len(), 2);
        assert_eq!(edited.differences[0].found.as_deref(), Some("8280"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Edit then re-edit is a fixed point; bytes outside the owned elements are unchanged.
        #[test]
        fn edit_then_re_edit_is_a_fixed_point(
            domain in "[a-z][a-z0-9._-]{0,20}",
            a in 1u8..255, b in 1u8..255,
            port in 1024u16..65535, other_port in 1024u16..65535,
            crlf in any::<bool>(),
        ) {
            let original = if crlf { to_crlf(WORKER_MANAGER) } else { WORKER_MANAGER.to_string() };
            let m = membership(&domain, &format!("10.0.{a}.{b}"), port, &[("10.9.9.9", other_port)]);
            let edited = edit_axis2(&original, Some(&m), Some(&fronted())).unwrap();
            let again = edit_axis2(&edited.text, Some(&m), Some(&fronted())).unwrap();
            prop_assert_eq!(&again.text, &edited.text);
            prop_assert!(again.differences.is_empty());
            assert_only_owned_lines_changed(&original, &edited.text, OWNED);
            let read = read_axis2_clustering(&edited.text).unwrap();
            prop_assert_eq!(read.domain, Some(domain.clone()));
            prop_assert_eq!(read.members.len(), 2);
        }
    }
}

#[cfg(test)]
mod member_checks {
    use super::tests::{fronted, membership};
    use super::*;

    fn checks(found_members: &str, host: &str) -> Vec<Check> {
        let xml = format!(
            "<axisconfig>\n  <clustering enable=\"true\">\n    <parameter name=\"membershipScheme\">wka</parameter>\n    \
             <parameter name=\"domain\">d</parameter>\n    <parameter name=\"localMemberHost\">{host}</parameter>\n    \
             <parameter name=\"localMemberPort\">4100</parameter>\n    <members>{found_members}</members>\n  </clustering>\n</axisconfig>\n"
        );
        let m = membership("d", "10.0.0.11", 4100, &[("10.0.0.12", 4100)]);
        let _ = fronted();
        edit_axis2(&xml, Some(&m), None)
            .unwrap()
            .differences
            .iter()
            .map(|d| d.check)
            .collect()
    }

    const ONE: &str = "<member><hostName>10.0.0.11</hostName><port>4100</port></member>";
    const TWO: &str = "<member><hostName>10.0.0.12</hostName><port>4100</port></member>";

    #[test]
    fn what_is_wrong_with_a_member_list_is_named() {
        assert!(checks(&format!("{ONE}{TWO}"), "10.0.0.11").is_empty());
        assert!(
            checks(&format!("{TWO}{ONE}"), "10.0.0.11").is_empty(),
            "order is no difference"
        );
        assert_eq!(checks(ONE, "10.0.0.11"), [Check::ClusterMemberMissing]);
        assert_eq!(
            checks(&format!("{ONE}{ONE}{TWO}"), "10.0.0.11"),
            [Check::DuplicateClusterMember]
        );
        assert_eq!(
            checks(&format!("{ONE}{TWO}"), "node1.example.com"),
            [Check::MemberHostName]
        );
        assert_eq!(
            checks(&format!("{ONE}{TWO}"), "127.0.0.1"),
            [Check::LoopbackMemberHost]
        );
    }
}
