//! The clustering half of the WSO2 guide on the real EI 6.x files: `[clustering]` and `[load_balancer]`
//! in the spec, and what axis2.xml, carbon.xml, catalina-server.xml, hazelcast.properties and
//! log4j.properties get, read back through an independent XML reading (quick-xml events, not eidb's
//! editor). A spec without the sections leaves these files as they are.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common;

use common::check::{snapshot_differences, snapshot_files};
use common::cluster::{Cluster, Conf};
use quick_xml::events::Event;
use serde_json::Value;

const AXIS2: &str = "conf/axis2/axis2.xml";
const CARBON: &str = "conf/carbon.xml";
const CATALINA: &str = "conf/tomcat/catalina-server.xml";
const HAZELCAST: &str = "conf/hazelcast.properties";
const LOG4J: &str = "conf/log4j.properties";
const CLUSTER_FILES: [&str; 4] = [AXIS2, CARBON, CATALINA, LOG4J];

const HOSTS: [&str; 2] = ["10.0.0.11", "10.0.0.12"];

const SECTIONS: &str = "[clustering]\ndomain = \"wso2.ei.test\"\n\n\
                        [load_balancer]\nhost = \"ei.wso2.com\"\nmgt_host = \"ui.ei.wso2.com\"\n";

/// One element as the independent reading saw it: its path from the root, attributes and text.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    attrs: BTreeMap<String, String>,
    text: String,
}

/// Every element of an XML text, in document order (comments are not elements).
fn elements(xml: &str) -> Vec<Seen> {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let (mut stack, mut open, mut out): (Vec<String>, Vec<usize>, Vec<Seen>) =
        (Vec::new(), Vec::new(), Vec::new());
    let attrs = |e: &quick_xml::events::BytesStart<'_>| {
        e.attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    a.key.as_ref().to_string(),
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned(),
                )
            })
            .collect()
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                stack.push(e.name().as_ref().to_string());
                out.push(Seen {
                    path: stack.join("/"),
                    attrs: attrs(&e),
                    text: String::new(),
                });
                open.push(out.len() - 1);
            }
            Event::Empty(e) => {
                let name = e.name().as_ref().to_string();
                out.push(Seen {
                    path: format!("{}/{name}", stack.join("/")),
                    attrs: attrs(&e),
                    text: String::new(),
                });
            }
            Event::End(_) => {
                stack.pop();
                open.pop();
            }
            Event::Text(t) => {
                if let Some(&i) = open.last() {
                    out[i].text.push_str(&t.xml10_content());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn texts(xml: &str, path: &str, attr: Option<(&str, &str)>) -> Vec<String> {
    elements(xml)
        .into_iter()
        .filter(|e| e.path == path)
        .filter(|e| attr.is_none_or(|(k, v)| e.attrs.get(k).map(String::as_str) == Some(v)))
        .map(|e| e.text.trim().to_string())
        .collect()
}

fn read(cluster: &Cluster, node: usize, file: &str) -> String {
    std::fs::read_to_string(cluster.node_file(node, file)).unwrap()
}

/// A two-node cluster on the real WSO2 files, nodes at HOSTS, with `sections` in its spec.
fn clustered(sections: &str) -> Cluster {
    let cluster = Cluster::new(2, Conf::RealWso2)
        .with_extra(sections)
        .with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.set_conf_mode(0o644);
    let mut spec = cluster.spec_text();
    for (i, host) in HOSTS.iter().enumerate() {
        let name = format!("name = \"node{}\"\n", i + 1);
        assert!(spec.contains(&name), "{spec}");
        spec = spec.replace(&name, &format!("{name}host = \"{host}\"\n"));
    }
    std::fs::write(&cluster.spec_path, spec).unwrap();
    cluster
}

fn findings(report: &Value, check: &str) -> Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter(|f| f["check"] == check)
        .cloned()
        .collect()
}

fn assert_every_value(cluster: &Cluster) {
    for (i, host) in HOSTS.iter().enumerate() {
        let axis2 = read(cluster, i, AXIS2);
        let clustering = elements(&axis2)
            .into_iter()
            .find(|e| e.path == "axisconfig/clustering")
            .expect("a <clustering>");
        assert_eq!(clustering.attrs["enable"], "true", "node{}", i + 1);
        let parameter = |name| {
            texts(
                &axis2,
                "axisconfig/clustering/parameter",
                Some(("name", name)),
            )
        };
        assert_eq!(parameter("membershipScheme"), ["wka"]);
        assert_eq!(parameter("domain"), ["wso2.ei.test"]);
        assert_eq!(parameter("localMemberHost"), [*host]);
        assert_eq!(parameter("localMemberPort"), ["4100"]);
        assert_eq!(
            texts(
                &axis2,
                "axisconfig/clustering/members/member/hostName",
                None
            ),
            HOSTS
        );
        assert_eq!(
            texts(&axis2, "axisconfig/clustering/members/member/port", None),
            ["4100", "4100"]
        );
        for (transport, prefix) in [
            ("http", "http://ei.wso2.com:80"),
            ("https", "https://ei.wso2.com:443"),
        ] {
            let receiver = elements(&axis2)
                .into_iter()
                .position(|e| {
                    e.path == "axisconfig/transportReceiver" && e.attrs["name"] == transport
                })
                .unwrap();
            let prefixes: Vec<String> = elements(&axis2)[receiver..]
                .iter()
                .skip(1)
                .take_while(|e| e.path.starts_with("axisconfig/transportReceiver/"))
                .filter(|e| e.attrs.get("name").map(String::as_str) == Some("WSDLEPRPrefix"))
                .map(|e| e.text.clone())
                .collect();
            assert_eq!(prefixes, [prefix], "node{} {transport}", i + 1);
        }
        let carbon = read(cluster, i, CARBON);
        assert_eq!(texts(&carbon, "Server/HostName", None), ["ei.wso2.com"]);
        assert_eq!(
            texts(&carbon, "Server/MgtHostName", None),
            ["ui.ei.wso2.com"]
        );
        assert_eq!(texts(&carbon, "Server/Ports/Offset", None), ["0"]);
        assert!(
            carbon.contains("<!--HostName>www.wso2.org</HostName-->"),
            "the comment stays"
        );
        let catalina = read(cluster, i, CATALINA);
        for (port, proxy) in [("9763", "80"), ("9443", "443")] {
            let connector = elements(&catalina)
                .into_iter()
                .find(|e| e.path == "Server/Service/Connector" && e.attrs["port"] == port)
                .unwrap();
            assert_eq!(connector.attrs["proxyPort"], proxy);
        }
        assert_eq!(
            catalina.matches("proxyPort=").count(),
            2 + 2,
            "two in comments, two set"
        );
        let hazelcast = read(cluster, i, HAZELCAST);
        assert!(
            hazelcast
                .lines()
                .any(|l| l == "hazelcast.shutdownhook.enabled=false"),
            "{hazelcast}"
        );
        assert!(
            hazelcast
                .lines()
                .any(|l| l == "hazelcast.logging.type=log4j"),
            "{hazelcast}"
        );
        let log4j = read(cluster, i, LOG4J);
        assert_eq!(
            log4j
                .lines()
                .filter(|l| l.starts_with("log4j.logger.com.hazelcast"))
                .collect::<Vec<_>>(),
            ["log4j.logger.com.hazelcast=INFO"]
        );
    }
}

#[test]
fn a_two_node_cluster_gets_every_value_and_a_second_run_changes_nothing() {
    let cluster = clustered(SECTIONS);
    let originals: Vec<String> = CLUSTER_FILES.iter().map(|f| read(&cluster, 0, f)).collect();

    // Before: the shipped values are findings (the default domain, the loopback member host).
    let (code, report) = cluster.eidb_json(&["verify", "--files-only"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        findings(&report, "default_cluster_domain").len(),
        2,
        "{report:#}"
    );
    assert_eq!(
        findings(&report, "loopback_member_host").len(),
        2,
        "{report:#}"
    );
    assert_eq!(findings(&report, "cluster_members").len(), 2, "{report:#}");

    // The dry run shows the diffs and changes nothing.
    let before = snapshot_files(cluster.dir.path());
    let dry = cluster.eidb_ok(&["provision", "--files-only", "--dry-run"]);
    assert!(
        dry.contains("<parameter name=\"domain\">wso2.ei.test</parameter>"),
        "{dry}"
    );
    assert!(
        dry.contains("hazelcast.shutdownhook.enabled=false"),
        "{dry}"
    );
    assert!(snapshot_differences(&before, &snapshot_files(cluster.dir.path())).is_empty());

    let output = cluster.eidb(&["provision", "--files-only"]);
    common::cluster::assert_success(&output, &["provision", "--files-only"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        format!("{stdout}{stderr}").contains("restart every node of the cluster (node1, node2)"),
        "the run says every node must be restarted:\n{stdout}\n{stderr}"
    );
    assert_every_value(&cluster);
    // The created hazelcast.properties is the node's like its folder (not eidb's owner-only temp file).
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let conf = std::fs::metadata(cluster.node_file(0, "conf")).unwrap();
        let created = std::fs::metadata(cluster.node_file(0, HAZELCAST)).unwrap();
        assert_eq!(
            created.permissions().mode() & 0o7777,
            0o666 & conf.permissions().mode() & !0o111
        );
        assert_eq!((created.uid(), created.gid()), (conf.uid(), conf.gid()));
    }
    // The one-time backups hold the files as shipped.
    for (file, original) in CLUSTER_FILES.iter().zip(&originals) {
        let backup = format!("{}.eidb-orig", cluster.node_file(0, file).display());
        assert_eq!(
            &std::fs::read_to_string(&backup).unwrap(),
            original,
            "{backup}"
        );
    }

    // A second run: byte-identical, nothing rewritten.
    let after_first = snapshot_files(cluster.dir.path());
    cluster.eidb_ok(&["provision", "--files-only"]);
    let differences = snapshot_differences(&after_first, &snapshot_files(cluster.dir.path()));
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    let (code, report) = cluster.eidb_json(&["verify", "--files-only"]);
    assert_eq!(code, 0, "{report:#}");
}

/// A hand edit puts node2 on another domain: drift in verify, with and without the server.
#[test]
fn nodes_on_two_domains_are_drift_in_both_verify_modes() {
    let cluster = clustered(SECTIONS);
    cluster.eidb_ok(&["provision"]);
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
    let path = cluster.node_file(1, AXIS2);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(">wso2.ei.test<", ">wso2.ei.other<")).unwrap();
    for args in [&["verify"][..], &["verify", "--files-only"]] {
        let (code, report) = cluster.eidb_json(args);
        assert_eq!(code, 1, "{args:?}: {report:#}");
        let found = findings(&report, "cluster_domain");
        assert_eq!(found.len(), 1, "{args:?}: {report:#}");
        assert_eq!(found[0]["subject"], "node node2");
        assert!(
            found[0]["found"]
                .as_str()
                .unwrap()
                .contains("wso2.ei.other"),
            "{report:#}"
        );
    }
    cluster.eidb_ok(&["provision", "--files-only"]);
    assert_every_value(&cluster);
}

/// Without [clustering] and [load_balancer] the clustering files are neither read nor written.
#[test]
fn a_spec_without_the_sections_leaves_the_clustering_files_alone() {
    let cluster = clustered("");
    // Unreadable garbage in them proves they are not read.
    std::fs::write(cluster.node_file(0, AXIS2), "<not xml").unwrap();
    let before: Vec<Vec<u8>> = (0..2)
        .flat_map(|n| CLUSTER_FILES.iter().map(move |f| (n, f)))
        .map(|(n, f)| std::fs::read(cluster.node_file(n, f)).unwrap())
        .collect();
    cluster.eidb_ok(&["provision", "--files-only"]);
    let after: Vec<Vec<u8>> = (0..2)
        .flat_map(|n| CLUSTER_FILES.iter().map(move |f| (n, f)))
        .map(|(n, f)| std::fs::read(cluster.node_file(n, f)).unwrap())
        .collect();
    assert!(before == after, "a clustering file changed");
    assert!(!cluster.node_file(0, HAZELCAST).exists());
    assert!(!cluster.node_file(0, &format!("{AXIS2}.eidb-orig")).exists());
}

/// Only [load_balancer]: names, proxy ports and WSDLEPRPrefix, but no Hazelcast membership.
#[test]
fn a_load_balancer_alone_leaves_the_membership_alone() {
    let cluster =
        clustered("[load_balancer]\nhost = \"ei.wso2.com\"\nhttp_port = 8080\nhttps_port = 8443\n");
    let axis2_before = read(&cluster, 0, AXIS2);
    cluster.eidb_ok(&["provision", "--files-only"]);
    let axis2 = read(&cluster, 0, AXIS2);
    assert!(axis2.contains(">http://ei.wso2.com:8080</parameter>"));
    assert_eq!(
        texts(
            &axis2,
            "axisconfig/clustering/parameter",
            Some(("name", "domain"))
        ),
        texts(
            &axis2_before,
            "axisconfig/clustering/parameter",
            Some(("name", "domain"))
        )
    );
    assert!(axis2.contains("enable=\"false\""));
    assert!(!cluster.node_file(0, HAZELCAST).exists());
    let carbon = read(&cluster, 0, CARBON);
    assert_eq!(texts(&carbon, "Server/MgtHostName", None), ["ei.wso2.com"]);
    let catalina = read(&cluster, 0, CATALINA);
    assert!(catalina.contains("proxyPort=\"8080\"") && catalina.contains("proxyPort=\"8443\""));
}

/// An existing hazelcast.properties is merged (its other lines kept); a conf/etc/hazelcast.xml is a
/// finding (the kernel would ignore axis2.xml's clustering).
#[test]
fn hazelcast_files_as_found() {
    let cluster = clustered(SECTIONS);
    std::fs::write(
        cluster.node_file(0, HAZELCAST),
        "# ours\r\nhazelcast.max.no.heartbeat.seconds=600\r\nhazelcast.logging.type=jdk\r\n",
    )
    .unwrap();
    let etc = cluster.node_file(1, "conf/etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(etc.join("hazelcast.xml"), "<hazelcast/>").unwrap();
    cluster.eidb_ok(&["provision", "--files-only"]);
    assert_eq!(
        read(&cluster, 0, HAZELCAST),
        "# ours\r\nhazelcast.max.no.heartbeat.seconds=600\r\nhazelcast.logging.type=log4j\r\nhazelcast.shutdownhook.enabled=false\r\n"
    );
    let (code, report) = cluster.eidb_json(&["verify", "--files-only"]);
    assert_eq!(code, 1, "{report:#}");
    let found = findings(&report, "hazelcast_xml");
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["subject"], "node node2");
}

/// Bad input in the clustering keys: exit 2, naming the key and line, nothing written.
#[test]
fn colliding_nodes_are_bad_input() {
    let cluster = clustered(SECTIONS);
    let spec = std::fs::read_to_string(&cluster.spec_path)
        .unwrap()
        .replace(HOSTS[1], HOSTS[0]);
    std::fs::write(&cluster.spec_path, &spec).unwrap();
    let before = snapshot_files(cluster.dir.path());
    let output = cluster.eidb(&["provision", "--files-only"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("nodes.port_offset") || stderr.contains("nodes.host"),
        "{stderr}"
    );
    assert!(stderr.contains("both on 10.0.0.11"), "{stderr}");
    let spec_path: &Path = &cluster.spec_path;
    let line = spec[..spec.rfind("host = \"10.0.0.11\"").unwrap()]
        .matches('\n')
        .count()
        + 1;
    assert!(
        stderr.contains(&format!("{}:{line}:", spec_path.display())),
        "{stderr}"
    );
    let differences = snapshot_differences(&before, &snapshot_files(cluster.dir.path()));
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// `eidb schema` knows the new keys: a clustered spec validates; a membership scheme eidb refuses,
/// the schema refuses too.
#[test]
fn the_schema_has_the_clustering_keys() {
    let cluster = clustered(&format!(
        "{SECTIONS}http_port = 8080\nhttps_port = 8443\nssl_certificate = \"a.crt\"\nssl_certificate_key = \"a.key\"\n"
    ));
    let spec = std::fs::read_to_string(&cluster.spec_path)
        .unwrap()
        .replace(
            "host = \"10.0.0.12\"\n",
            "host = \"10.0.0.12\"\nport_offset = 1\nmember_port = 4200\n",
        );
    assert_eq!(
        common::spec_schema::schema_errors(&spec),
        Ok(vec![]),
        "{spec}"
    );
    let bad = spec.replace(
        "[clustering]\n",
        "[clustering]\nmembership_scheme = \"multicast\"\n",
    );
    assert!(!common::spec_schema::schema_errors(&bad).unwrap().is_empty());
    let bad = spec.replace("port_offset = 1", "port_offset = \"1\"");
    assert!(!common::spec_schema::schema_errors(&bad).unwrap().is_empty());
}

/// A cluster clustered by hand (here: by a first eidb run on another spec, node2 on its own offset and
/// member port) gets, from `eidb init`, a spec whose first run changes no clustering file.
#[test]
fn init_adopts_the_clustering_and_its_first_run_changes_none_of_those_files() {
    let cluster = clustered(&format!("{SECTIONS}http_port = 8080\n"));
    let spec = std::fs::read_to_string(&cluster.spec_path)
        .unwrap()
        .replace(
            "host = \"10.0.0.12\"\n",
            "host = \"10.0.0.12\"\nport_offset = 2\nmember_port = 4200\n",
        );
    std::fs::write(&cluster.spec_path, spec).unwrap();
    cluster.eidb_ok(&["provision"]);

    let adopted = cluster.dir.path().join("adopted.toml");
    let output = std::process::Command::new(common::eidb_bin())
        .arg("init")
        .arg("--ei-home")
        .arg(&cluster.nodes[0])
        .arg("--ei-home")
        .arg(&cluster.nodes[1])
        .arg("--out")
        .arg(&adopted)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&adopted).unwrap_or_default();
    assert!(
        output.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    for wanted in [
        "[clustering]\ndomain = \"wso2.ei.test\"\n",
        "[load_balancer]\nhost = \"ei.wso2.com\"\nmgt_host = \"ui.ei.wso2.com\"\nhttp_port = 8080\n",
        "host = \"10.0.0.11\"\n",
        "host = \"10.0.0.12\"\nmember_port = 4200\nport_offset = 2\n",
    ] {
        assert!(text.contains(wanted), "{wanted:?} in:\n{text}");
    }
    assert_eq!(
        common::spec_schema::schema_errors(&text),
        Ok(vec![]),
        "{text}"
    );

    let before = snapshot_files(cluster.dir.path());
    let output = std::process::Command::new(common::eidb_bin())
        .args(["provision", "--files-only", "--config"])
        .arg(&adopted)
        .env("EIDB_REGADMIN_PASSWORD", common::cluster::ACCOUNT_PASSWORD)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let after = snapshot_files(cluster.dir.path());
    let changed: Vec<String> = snapshot_differences(&before, &after)
        .into_iter()
        .filter(|d| {
            CLUSTER_FILES
                .iter()
                .chain([&HAZELCAST])
                .any(|f| d.ends_with(f))
        })
        .collect();
    assert!(changed.is_empty(), "{}", changed.join("\n"));
}

/// Without a spec (`verify --ei-home`), the nodes' clustering is checked against each other.
#[test]
fn without_a_spec_nodes_on_two_domains_are_found() {
    let cluster = clustered(SECTIONS);
    cluster.eidb_ok(&["provision", "--files-only"]);
    let (_, report) = cluster.verify_homes_json(false);
    let checks: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    assert!(!checks.iter().any(|c| c.contains("cluster")), "{report:#}");
    let path = cluster.node_file(1, AXIS2);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(">wso2.ei.test<", ">wso2.ei.other<")).unwrap();
    let (code, report) = cluster.verify_homes_json(false);
    assert_eq!(code, 1, "{report:#}");
    let found = findings(&report, "cluster_domain");
    assert_eq!(found.len(), 1, "{report:#}");
    assert!(found[0]["found"]
        .as_str()
        .unwrap()
        .contains("wso2.ei.other"));
}
