//! `eidb verify --ei-home DIR ...`: checking a cluster without a spec (issue 5), from its nodes' files and,
//! with `--server-url`, against the server.

use crate::common;

use std::process::Command;

use serde_json::Value;

use common::cluster::{Cluster, Conf};

fn checks(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect()
}

fn edit(path: &std::path::Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[tokio::test]
async fn a_cluster_eidb_did_not_set_up_is_checked_from_its_files_and_the_server() {
    let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.eidb_ok(&["provision"]);
    let (code, report) = cluster.verify_homes_json(true);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "in_sync");

    // Node 2 points its local registry at node 1's database, and its cacheId drifted: both are seen
    // without any spec.
    let datasources = cluster.node_file(1, "conf/datasources/master-datasources.xml");
    let local2 = format!("{}2?", cluster.local_prefix);
    let local1 = format!("{}1?", cluster.local_prefix);
    edit(&datasources, &local2, &local1);
    let registry = cluster.node_file(1, "conf/registry.xml");
    edit(&registry, "&amp;useSSL=false</cacheId>", "</cacheId>");
    let (code, report) = cluster.verify_homes_json(false);
    assert_eq!(code, 1, "{report:#}");
    let found = checks(&report);
    assert!(
        found.contains(&"shared_local_registry".to_string()),
        "{found:?}"
    );
    assert!(found.contains(&"cache_id".to_string()), "{found:?}");
    assert!(found.contains(&"shared_cache_id".to_string()), "{found:?}");
    let cache = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "shared_cache_id")
        .unwrap();
    assert!(
        cache["found"].as_str().unwrap().starts_with("2 ("),
        "node 2 is the odd one out: {cache:#}"
    );

    // With the server: a datasource whose database does not exist, and one whose password is wrong.
    // Putting node 2 back on its own local registry moves it away from node 1's: destructive, and
    // without the server (--files-only) eidb cannot tell, so it must be allowed.
    cluster.eidb_ok(&["provision", "--files-only", "--allow-destructive"]);
    let user_store = cluster.user_store.clone();
    edit(
        &datasources,
        &format!("/{user_store}?"),
        "/NO_SUCH_DB_EIDB?",
    );
    let (code, report) = cluster.verify_homes_json(true);
    assert_eq!(code, 1, "{report:#}");
    let missing = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "node_database_missing")
        .expect("node_database_missing");
    assert_eq!(missing["subject"], "database NO_SUCH_DB_EIDB");

    // With the server, eidb sees that NO_SUCH_DB_EIDB does not exist: moving away from it loses nothing.
    cluster.eidb_ok(&["provision"]);
    let text = std::fs::read_to_string(&datasources).unwrap();
    let start = text.find("<password>").unwrap() + "<password>".len();
    let end = start + text[start..].find("</password>").unwrap();
    std::fs::write(
        &datasources,
        format!("{}not-the-password{}", &text[..start], &text[end..]),
    )
    .unwrap();
    let (code, report) = cluster.verify_homes_json(true);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(checks(&report), ["node_login_refused"], "{report:#}");

    // Files only, a node without conf/ is bad input.
    let output = Command::new(common::eidb_bin())
        .args(["verify", "--ei-home", "/nonexistent/eidb/home"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("has no conf/ folder"));
}

/// Two `<mount>` elements for one path, which spec mode refuses to edit, are a finding without a spec too;
/// and the closing line of a clean spec-less verify does not speak of a spec.
#[tokio::test]
async fn duplicate_mounts_are_found_without_a_spec() {
    let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.eidb_ok(&["provision", "--files-only"]);
    let mut command = Command::new(common::eidb_bin());
    command.arg("verify");
    for home in &cluster.nodes {
        command.arg("--ei-home").arg(home);
    }
    cluster.environment(&mut command);
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("in sync: the nodes' files are consistent") && !stdout.contains("spec"),
        "{stdout}"
    );

    let registry = cluster.node_file(1, "conf/registry.xml");
    let text = std::fs::read_to_string(&registry).unwrap();
    let start = text.find("<mount path=\"/_system/config\"").unwrap();
    let end = start + text[start..].find("</mount>").unwrap() + "</mount>".len();
    let second = text[start..end].replace("/_system/eiconfig", "/_system/otherconfig");
    std::fs::write(
        &registry,
        format!("{}\n    {second}{}", &text[..end], &text[end..]),
    )
    .unwrap();
    let (code, report) = cluster.verify_homes_json(false);
    assert_eq!(code, 1, "{report:#}");
    assert!(
        checks(&report).contains(&"mount_duplicate".to_string()),
        "{report:#}"
    );
}
