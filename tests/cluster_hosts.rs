//! A cluster across hosts: a run per node (`--node NAME`) that reads and writes only that node's files,
//! refusal to half-run on a machine that holds only some EI_HOMEs, and (see `records_*`) the one view of
//! the cluster from the nodes' records in the database.

mod common;

use std::path::{Path, PathBuf};

use common::cluster::{Cluster, Conf};

const DRIVER: &str = "mysql-connector-java-5.1.49.jar";
const DATASOURCES: &str = "conf/datasources/master-datasources.xml";

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Move a node's EI_HOME away, as if it were on another host; returns where it went.
fn elsewhere(cluster: &Cluster, node: usize) -> PathBuf {
    let away = cluster.dir.path().join(format!("away{node}"));
    std::fs::rename(&cluster.nodes[node], &away).unwrap();
    away
}

#[test]
fn files_only_node_needs_only_that_nodes_home_and_no_admin_password() {
    let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar(DRIVER);
    let node1_before = read(&cluster.node_file(0, DATASOURCES));
    // node1 lives on another host: its EI_HOME is not on this machine at all.
    let away = elsewhere(&cluster, 0);
    let mut command = cluster.eidb_command(
        &cluster.spec_path,
        &["provision", "--files-only", "--node", "node2"],
    );
    // No admin password: the node part of one node needs none.
    command.env_remove("EIDB_IT_ADMIN_PASSWORD");
    let output = command.output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "provision --files-only --node node2:\n{}",
        stderr(&output)
    );
    let node2 = String::from_utf8(read(&cluster.node_file(1, DATASOURCES))).unwrap();
    assert!(
        node2.contains(&cluster.shared_registry),
        "node2's datasources point at the shared registry:\n{node2}"
    );
    assert!(node2.contains(&format!("{}2", cluster.local_prefix)));
    // node1's files were not touched (nor created at the path the spec names).
    assert!(!cluster.nodes[0].exists());
    assert_eq!(read(&away.join(DATASOURCES)), node1_before);

    // verify of that node alone: in sync; then a drift in its file is seen.
    let output = cluster.eidb(&["verify", "--files-only", "--node", "node2"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let path = cluster.node_file(1, DATASOURCES);
    let drifted = node2.replacen(&cluster.shared_registry, "SOMETHING_ELSE", 1);
    std::fs::write(&path, drifted).unwrap();
    let output = cluster.eidb(&["verify", "--files-only", "--node", "node2"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn without_node_a_machine_with_some_homes_is_refused_and_nothing_changes() {
    let cluster = Cluster::new(2, Conf::Fixture);
    let node2_before = read(&cluster.node_file(1, DATASOURCES));
    elsewhere(&cluster, 0);
    for args in [
        &["provision"][..],
        &["provision", "--files-only"][..],
        &["provision", "--dry-run"][..],
        &["verify"][..],
    ] {
        let output = cluster.eidb(args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("node1") && err.contains("--node node2"),
            "{args:?}: names the node it cannot reach and how to select one: {err}"
        );
    }
    assert_eq!(read(&cluster.node_file(1, DATASOURCES)), node2_before);
    futures_block(cluster.assert_nothing_created());
}

#[test]
fn an_unknown_node_is_bad_input_listing_the_specs_nodes() {
    let cluster = Cluster::new(2, Conf::Fixture);
    for command in ["provision", "verify"] {
        let output = cluster.eidb(&[command, "--files-only", "--node", "node3"]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{command}: {err}");
        assert!(
            err.contains("node3") && err.contains("node1, node2"),
            "{command}: {err}"
        );
    }
}

#[test]
fn node_with_the_database_part_provisions_the_cluster_and_that_nodes_files() {
    let cluster = Cluster::new(2, Conf::Fixture);
    let away = elsewhere(&cluster, 1);
    let node2_before = read(&away.join(DATASOURCES));
    cluster.eidb_ok(&["provision", "--node", "node1"]);
    futures_block(async {
        let pool = common::admin_pool().await;
        for db in cluster.databases() {
            assert!(common::check::database_exists(&pool, &db).await, "{db}");
        }
    });
    let node1 = String::from_utf8(read(&cluster.node_file(0, DATASOURCES))).unwrap();
    assert!(node1.contains(&format!("{}1", cluster.local_prefix)));
    assert_eq!(read(&away.join(DATASOURCES)), node2_before);
    // Run again: nothing to do.
    let (code, report) = cluster.eidb_json(&["provision", "--node", "node1"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["status"], "unchanged", "{report}");
}

fn futures_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
