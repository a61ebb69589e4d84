//! A cluster across hosts: a run per node (`--node NAME`) that reads and writes only that node's files,
//! refusal to half-run on a machine that holds only some EI_HOMEs, and (see `records_*`) the one view of
//! the cluster from the nodes' records in the database.

use crate::common;

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
    // The DBA's step first, as the runbook has it: it gives every node its database.
    let output = cluster.eidb(&["provision", "--db-only"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
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

/// Move every node's EI_HOME away and back: the machine of the DBA, which holds none of them.
fn without_homes<T>(cluster: &Cluster, run: impl FnOnce() -> T) -> T {
    let away: Vec<PathBuf> = (0..cluster.nodes.len())
        .map(|i| elsewhere(cluster, i))
        .collect();
    let out = run();
    for (i, away) in away.iter().enumerate() {
        std::fs::rename(away, &cluster.nodes[i]).unwrap();
    }
    out
}

fn subjects(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["subject"].as_str().unwrap(),
                f["check"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn records_give_one_view_of_the_cluster_from_a_machine_without_homes() {
    let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar(DRIVER);
    // The DBA's step, then each node's on its host.
    cluster.eidb_ok(&["provision", "--db-only"]);
    let (code, report) = without_homes(&cluster, || cluster.eidb_json(&["verify"]));
    assert_eq!(code, 1, "no node ran yet: {report}");
    assert_eq!(
        subjects(&report),
        [
            "node node1 node_not_recorded",
            "node node2 node_not_recorded"
        ],
        "{report}"
    );
    for node in ["node1", "node2"] {
        let mut command = cluster.eidb_command(
            &cluster.spec_path,
            &[
                "provision",
                "--files-only",
                "--node",
                node,
                "--output",
                "json",
            ],
        );
        command.env_remove("EIDB_IT_ADMIN_PASSWORD");
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(
            !report["warnings"].to_string().contains("recorded"),
            "the node run was recorded: {report}"
        );
    }
    let (code, report) = without_homes(&cluster, || cluster.eidb_json(&["verify"]));
    assert_eq!(code, 0, "every node applied the current spec: {report}");

    // A new spec: no node applied it yet; then node1 does.
    let mut text = std::fs::read_to_string(&cluster.spec_path).unwrap();
    text.push_str("\n# changed\n");
    std::fs::write(&cluster.spec_path, &text).unwrap();
    let (code, report) = without_homes(&cluster, || cluster.eidb_json(&["verify"]));
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        subjects(&report),
        [
            "node node1 node_spec_outdated",
            "node node2 node_spec_outdated"
        ]
    );
    cluster.eidb_ok(&["provision", "--files-only", "--node", "node1"]);
    let (code, report) = without_homes(&cluster, || cluster.eidb_json(&["verify"]));
    assert_eq!(code, 1, "{report}");
    assert_eq!(subjects(&report), ["node node2 node_spec_outdated"]);
    // With every EI_HOME here, verify checks the files as it always did (the spec edit is a comment).
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report}");
}

#[tokio::test]
async fn the_nodes_account_writes_only_its_own_clusters_records_in_its_own_name() {
    let cluster = Cluster::new(1, Conf::Fixture).with_driver_jar(DRIVER);
    let other = Cluster::new(1, Conf::Fixture).with_driver_jar(DRIVER);
    cluster.eidb_ok(&["provision"]);
    other.eidb_ok(&["provision"]);
    let server = common::server();
    let options = sqlx::mysql::MySqlConnectOptions::new()
        .host(&server.host)
        .port(server.port)
        .username(&cluster.account)
        .password(common::cluster::ACCOUNT_PASSWORD)
        .database("EIDB_META");
    let mut conn = sqlx::ConnectOptions::connect(&options).await.unwrap();
    let own = &cluster.shared_registry;
    let theirs = &other.shared_registry;
    let insert = |cluster: &str, account: &str| {
        format!(
            "INSERT INTO eidb_node_record (cluster, node, account, spec_digest, cache_id, shared_registry, user_store, \
             files, eidb_version, recorded_at) VALUES ('{cluster}', 'nodeX', '{account}', 'd', 'c', 's', 'u', '{{}}', \
             'v', NOW(6))"
        )
    };
    let refused = [
        // Another cluster's row.
        insert(theirs, &cluster.account),
        // A row in another account's name.
        insert(own, &other.account),
        // Moving its own row to another cluster.
        format!("UPDATE eidb_node_record SET cluster = '{theirs}' WHERE cluster = '{own}'"),
        // Taking over another cluster's row.
        format!("UPDATE eidb_node_record SET spec_digest = 'x' WHERE cluster = '{theirs}'"),
        format!("DELETE FROM eidb_node_record WHERE cluster = '{own}'"),
        format!(
            "INSERT INTO eidb_cluster_account VALUES ('{theirs}', '{}', NOW(6))",
            cluster.account
        ),
        "INSERT INTO eidb_node (cluster, node, target_db, recorded_at, run_id) VALUES ('a', 'b', 'c', NOW(), 1)"
            .to_string(),
    ];
    for sql in &refused {
        let outcome = sqlx::raw_sql(sql).execute(&mut conn).await;
        match outcome {
            Err(_) => {}
            // An UPDATE that matched no row it may see changed nothing: check nothing of theirs moved.
            Ok(done) if sql.starts_with("UPDATE") && done.rows_affected() == 0 => {}
            Ok(_) => panic!("the nodes' account must not be able to run: {sql}"),
        }
    }
    // Its own record, in its own name, it may write.
    sqlx::raw_sql(&insert(own, &cluster.account))
        .execute(&mut conn)
        .await
        .unwrap();
    let pool = common::admin_pool().await;
    let theirs_rows: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM EIDB_META.eidb_node_record WHERE cluster = ? AND spec_digest <> 'x'",
    )
    .bind(theirs)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        theirs_rows, 1,
        "the other cluster's record is as its node wrote it"
    );
}

/// A node inserted between two others, run on its own host without admin access: it gets the database the
/// DBA's run gave it (read from the ledger with the nodes' account), never another node's live one by
/// its place in the spec; and without the DBA's run it is refused rather than numbered.
#[test]
fn files_only_node_keeps_the_database_the_cluster_gave_it() {
    let cluster = Cluster::new(3, Conf::Fixture).with_driver_jar(DRIVER);
    // A 2-node cluster first (node1 and node3 of the spec, as node1 and node2 were).
    let two = cluster.dir.path().join("two.toml");
    let text = std::fs::read_to_string(&cluster.spec_path).unwrap();
    let second = text.find("\n[[nodes]]\nname = \"node2\"").unwrap();
    let third = text.find("\n[[nodes]]\nname = \"node3\"").unwrap();
    std::fs::write(&two, format!("{}{}", &text[..second], &text[third..])).unwrap();
    let output = cluster.eidb_with(&two, &["provision"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let node3 = String::from_utf8(read(&cluster.node_file(2, DATASOURCES))).unwrap();
    assert!(
        node3.contains(&format!("/{}1?", cluster.local_prefix))
            || node3.contains(&format!("/{}2", cluster.local_prefix))
    );
    let node3_db = if node3.contains(&format!("/{}2", cluster.local_prefix)) {
        2
    } else {
        1
    };

    // node2 is new, between them, on its own host; before the DBA's run nothing says its database.
    let away = elsewhere(&cluster, 0);
    let mut command = cluster.eidb_command(
        &cluster.spec_path,
        &["provision", "--files-only", "--node", "node2"],
    );
    command.env_remove("EIDB_IT_ADMIN_PASSWORD");
    let output = command.output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "refused: {}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("--db-only"), "{}", stderr(&output));
    std::fs::rename(&away, &cluster.nodes[0]).unwrap();

    let output = cluster.eidb(&["provision", "--db-only"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let away = elsewhere(&cluster, 0);
    let mut command = cluster.eidb_command(
        &cluster.spec_path,
        &["provision", "--files-only", "--node", "node2"],
    );
    command.env_remove("EIDB_IT_ADMIN_PASSWORD");
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let node2 = String::from_utf8(read(&cluster.node_file(1, DATASOURCES))).unwrap();
    assert!(
        !node2.contains(&format!("/{}{node3_db}?", cluster.local_prefix)),
        "node2 must not be pointed at node3's live local registry:\n{node2}"
    );
    assert!(
        node2.contains(&format!("/{}3?", cluster.local_prefix)),
        "node2 gets the database the DBA's run gave it:\n{node2}"
    );
    drop(away);
}

/// A run for one node on a machine that is not that node's host is said (issue 25's check): the spec's
/// address or the machine is wrong.
#[test]
fn a_node_run_on_a_machine_without_its_host_address_is_warned_about() {
    let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar(DRIVER);
    let text = std::fs::read_to_string(&cluster.spec_path)
        .unwrap()
        .replace(
            "name = \"node1\"\n",
            "name = \"node1\"\nhost = \"127.0.0.1\"\n",
        )
        // 192.0.2.0/24 is TEST-NET-1: documentation only, never an address of this machine.
        .replace(
            "name = \"node2\"\n",
            "name = \"node2\"\nhost = \"192.0.2.10\"\n",
        );
    std::fs::write(&cluster.spec_path, text).unwrap();
    let warned = |node: &str| {
        let (code, report) =
            cluster.eidb_json(&["provision", "--files-only", "--dry-run", "--node", node]);
        assert!(matches!(code, 0 | 4), "{report:#}");
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["check"] == "node_host_not_here")
    };
    assert!(warned("node2"), "192.0.2.10 is not here");
    assert!(!warned("node1"), "127.0.0.1 is here");
}
