//! A node keeps its own local registry (issue "A node keeps its own database"): removing, reordering
//! and renaming nodes in the spec never points a node at another node's database; a removed node's
//! database stays and is reported as orphaned; two nodes on one EI_HOME are bad input.

use crate::common;

use common::admin_pool;
use common::check::{database_exists, snapshot_differences, snapshot_files};
use common::cluster::{Cluster, Conf};
use serde_json::Value;

const DATASOURCES: &str = "conf/datasources/master-datasources.xml";

/// The spec text up to the first `[[nodes]]`, and the nodes as (name, ei_home) of the cluster.
fn spec_without_nodes(cluster: &Cluster) -> String {
    let text = cluster.spec_text();
    text[..text.find("\n[[nodes]]").unwrap()].to_string()
}

fn write_nodes(cluster: &Cluster, nodes: &[(&str, usize, &str)]) {
    let mut text = spec_without_nodes(cluster);
    for (name, home, extra) in nodes {
        text.push_str(&format!(
            "\n[[nodes]]\nname = \"{name}\"\nei_home = {:?}\n{extra}\n",
            cluster.nodes[*home].display().to_string()
        ));
    }
    std::fs::write(&cluster.spec_path, text).unwrap();
}

/// The database node `home`'s WSO2CarbonDB datasource names, read back from its file.
fn local_registry_of(cluster: &Cluster, home: usize) -> String {
    let text = std::fs::read_to_string(cluster.node_file(home, DATASOURCES)).unwrap();
    let at = text.find("<name>jdbc/WSO2CarbonDB</name>").unwrap();
    let url_start = at + text[at..].find("<url>").unwrap() + "<url>".len();
    let url = &text[url_start..url_start + text[url_start..].find("</url>").unwrap()];
    let path = url.split("://").nth(1).unwrap();
    path.split('/')
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

fn provision_json(cluster: &Cluster, args: &[&str]) -> (i32, Value) {
    cluster.eidb_json(&[&["provision"], args].concat())
}

#[tokio::test]
async fn removing_reordering_and_renaming_nodes_keeps_each_nodes_database() {
    let pool = admin_pool().await;
    let cluster =
        Cluster::new(3, Conf::RealWso2).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.set_conf_mode(0o644);
    cluster.eidb_ok(&["provision"]);
    let prefix = cluster.local_prefix.clone();
    for home in 0..3 {
        assert_eq!(
            local_registry_of(&cluster, home),
            format!("{prefix}{}", home + 1)
        );
    }

    // node1 leaves the spec: nodes 2 and 3 keep their databases, node1's stays, reported as orphaned.
    write_nodes(&cluster, &[("node2", 1, ""), ("node3", 2, "")]);
    let before = snapshot_files(cluster.dir.path());
    let (code, report) = provision_json(&cluster, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        snapshot_differences(&before, &snapshot_files(cluster.dir.path())).is_empty(),
        "no node file changes: {report:#}"
    );
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("orphaned") && warnings.contains(&format!("DROP DATABASE `{prefix}1`")),
        "{report:#}"
    );
    assert!(database_exists(&pool, &format!("{prefix}1")).await);
    let held = report["held_back"].as_array().unwrap();
    assert!(
        held.is_empty(),
        "nothing destructive to hold back: {report:#}"
    );
    let grants = common::check::granted_databases(&pool, &cluster.account, "%").await;
    assert!(
        grants.contains(&format!("{prefix}1")),
        "node1's grants stay: {grants:?}"
    );
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        report["warnings"].to_string().contains("orphaned"),
        "{report:#}"
    );

    // Reordered, and a new node: it takes a number no node holds, not the orphan's.
    write_nodes(
        &cluster,
        &[("node3", 2, ""), ("node4", 0, ""), ("node2", 1, "")],
    );
    let (code, report) = provision_json(&cluster, &[]);
    assert_eq!(
        code, 3,
        "node4's home still points at node1's database: {report:#}"
    );
    assert!(
        report["held_back"]
            .to_string()
            .contains(&format!("{prefix}1 -> {prefix}4")),
        "{report:#}"
    );
    let (code, report) = provision_json(&cluster, &["--allow-destructive"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(local_registry_of(&cluster, 0), format!("{prefix}4"));
    assert_eq!(local_registry_of(&cluster, 1), format!("{prefix}2"));
    assert_eq!(local_registry_of(&cluster, 2), format!("{prefix}3"));

    // node2 renamed: it keeps its database, and the run after it changes nothing.
    write_nodes(
        &cluster,
        &[
            ("node3", 2, ""),
            ("node4", 0, ""),
            ("edge2", 1, "renamed_from = \"node2\""),
        ],
    );
    let (code, report) = provision_json(&cluster, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(local_registry_of(&cluster, 1), format!("{prefix}2"));
    let (code, report) = provision_json(&cluster, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "unchanged", "{report:#}");
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
}

#[tokio::test]
async fn two_nodes_on_one_ei_home_are_bad_input_and_change_nothing() {
    let pool = admin_pool().await;
    let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar("mysql-connector-java-5.1.49.jar");
    // The second entry reaches the first node's EI_HOME through a symlink.
    let link = cluster.dir.path().join("same-home");
    std::os::unix::fs::symlink(&cluster.nodes[0], &link).unwrap();
    let mut text = spec_without_nodes(&cluster);
    text.push_str(&format!(
        "\n[[nodes]]\nname = \"node1\"\nei_home = {:?}\n\n[[nodes]]\nname = \"node2\"\nei_home = {:?}\n",
        cluster.nodes[0].display().to_string(),
        link.display().to_string()
    ));
    std::fs::write(&cluster.spec_path, text).unwrap();
    let before = snapshot_files(cluster.dir.path());
    let output = cluster.eidb(&["provision"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("node1 and node2 have the same ei_home"),
        "{stderr}"
    );
    assert!(snapshot_differences(&before, &snapshot_files(cluster.dir.path())).is_empty());
    assert!(!database_exists(&pool, &cluster.user_store).await);
}

/// A node the spec keeps on its embedded H2 (`local_registry_store = "h2"`) whose files put its local
/// registry on MySQL: eidb edits nothing of that datasource on an H2 node, and does not move it back
/// (the MySQL database's data would stay behind), but it says so: provision warns, verify reports drift
/// with the file and the element, and nothing changes.
#[tokio::test]
async fn a_node_the_spec_keeps_on_h2_but_whose_files_use_mysql_is_reported_not_moved() {
    let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.eidb_ok(&["provision"]);
    let node2_database = local_registry_of(&cluster, 1);
    write_nodes(
        &cluster,
        &[
            ("node1", 0, ""),
            ("node2", 1, "local_registry_store = \"h2\""),
        ],
    );
    let before = snapshot_files(cluster.dir.path());

    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("local_registry_not_h2") && warnings.contains("node2"),
        "provision says the node is not on H2: {report:#}"
    );
    assert!(
        warnings.contains("orphaned_database") && warnings.contains(&node2_database),
        "its database stays, grants and all, as a removed node's does: {report:#}"
    );
    assert_eq!(
        report["held_back"].as_array().map(Vec::len),
        Some(0),
        "no revoke of the grant the node still logs in with is even planned: {report:#}"
    );
    let (code, report) = cluster.eidb_json(&["provision", "--allow-destructive"]);
    assert_eq!(code, 0, "{report:#}");
    cluster.assert_account_logs_in().await;
    assert_eq!(
        local_registry_of(&cluster, 1),
        node2_database,
        "node2 stays on its MySQL database"
    );

    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(
        code, 1,
        "the files do not say what the spec says: {report:#}"
    );
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "local_registry_not_h2")
        .unwrap_or_else(|| panic!("a local_registry_not_h2 finding: {report:#}"));
    assert_eq!(finding["subject"], "node node2", "{finding:#}");
    assert!(
        finding["file"]
            .as_str()
            .is_some_and(|f| f.ends_with(DATASOURCES)),
        "{finding:#}"
    );
    assert!(
        finding["found"].as_str().unwrap().contains(&node2_database),
        "{finding:#}"
    );
    let changed = snapshot_differences(&before, &snapshot_files(cluster.dir.path()));
    assert!(changed.is_empty(), "no file changed: {changed:#?}");
    let pool = admin_pool().await;
    assert!(database_exists(&pool, &node2_database).await);
}
