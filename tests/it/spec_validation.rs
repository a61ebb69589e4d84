//! What eidb refuses before it touches anything (issue 23, "never worse, round two", items 3, 5 and 8):
//! system schemas and eidb's own ledger as cluster databases, one database named twice, values longer than
//! the ledger's columns, two nodes sharing one conf file through a link; and an existing database of
//! someone else's, holding tables the dbscript does not make, taken over only when adopted on purpose.
//!
//! Every refusal is checked the way a user meets it (the built binary, for people and as JSON) and
//! through a second path: SQL for the server, a snapshot of every file for the nodes.

use crate::common;

use std::path::Path;

use common::check::{self, snapshot_differences, snapshot_files};
use common::cluster::{Cluster, Conf};
use common::{admin_pool, unique_name};
use sqlx::{MySqlPool, Row};

const DRIVER_JAR: &str = "mysql-connector-java-5.1.49.jar";
const DATASOURCES: &str = "conf/datasources/master-datasources.xml";

fn cluster() -> Cluster {
    Cluster::new(2, Conf::Fixture).with_driver_jar(DRIVER_JAR)
}

fn spec_of(cluster: &Cluster) -> String {
    std::fs::read_to_string(&cluster.spec_path).unwrap()
}

/// Replace the one occurrence of `from` in the cluster's spec.
fn edit_spec(cluster: &Cluster, from: &str, to: &str) {
    let spec = spec_of(cluster);
    assert_eq!(spec.matches(from).count(), 1, "{from:?} once in:\n{spec}");
    std::fs::write(&cluster.spec_path, spec.replacen(from, to, 1)).unwrap();
}

/// `spec:LINE` of the first line of the spec holding `needle`.
fn place_of(cluster: &Cluster, needle: &str) -> String {
    let spec = spec_of(cluster);
    let at = spec
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in:\n{spec}"));
    format!(
        "{}:{}",
        cluster.spec_path.display(),
        spec[..at].matches('\n').count() + 1
    )
}

/// Tables of the fixture dbscript in `database` (none may appear where eidb must not load it).
async fn script_tables_in(pool: &MySqlPool, database: &str) -> Vec<String> {
    sqlx::query(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE 'FX\\_%'",
    )
    .bind(database)
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect()
}

async fn account_grants_anything(pool: &MySqlPool, account: &str) -> bool {
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM mysql.db WHERE User = ?")
        .bind(account)
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
    n > 0
}

/// `provision` (as JSON, then for people, then `--dry-run`) exits `code` naming every fragment in its
/// error, and leaves every file as it was; returns the JSON error message.
fn assert_refused(cluster: &Cluster, code: i32, says: &[&str], extra: &[&str]) -> String {
    let before = snapshot_files(cluster.dir.path());
    let mut args = vec!["provision"];
    args.extend_from_slice(extra);
    let (json_code, report) = cluster.eidb_json(&args);
    let message = format!(
        "{}\n{}",
        report["error"]["message"].as_str().unwrap_or_default(),
        report["error"]["hint"].as_str().unwrap_or_default()
    );
    assert_eq!(json_code, code, "exit code of {args:?}: {report:#}");
    for fragment in says {
        assert!(
            message.contains(fragment),
            "{args:?}: the error names {fragment:?}: {report:#}"
        );
    }
    let human = cluster.eidb(&args);
    let stderr = String::from_utf8_lossy(&human.stderr);
    assert_eq!(human.status.code(), Some(code), "{args:?}: {stderr}");
    for fragment in says {
        assert!(
            stderr.contains(fragment),
            "{args:?}: {fragment:?} in {stderr}"
        );
    }
    let mut dry = args.clone();
    dry.push("--dry-run");
    let dry_run = cluster.eidb(&dry);
    assert_eq!(
        dry_run.status.code(),
        Some(code),
        "{dry:?}: {}",
        String::from_utf8_lossy(&dry_run.stderr)
    );
    let differences = snapshot_differences(&before, &snapshot_files(cluster.dir.path()));
    assert!(
        differences.is_empty(),
        "{args:?}: files changed:\n{}",
        differences.join("\n")
    );
    message
}

// ---------------------------------------------------------------------------------------------------
// Item 3: system schemas, eidb's ledger and one database under two keys
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn system_schemas_are_refused_as_cluster_databases_with_key_and_line() {
    let pool = admin_pool().await;
    let mysql_tables_before = script_tables_in(&pool, "mysql").await;
    assert!(mysql_tables_before.is_empty(), "{mysql_tables_before:?}");
    for (key, name) in [
        ("user_store", "mysql"),
        ("shared_registry", "MySQL"),
        ("user_store", "information_schema"),
        ("shared_registry", "PERFORMANCE_SCHEMA"),
        ("user_store", "sys"),
        ("metadata", "mysql"),
    ] {
        let cluster = cluster();
        let line = format!("{key} = \"{name}\"");
        match key {
            "user_store" => edit_spec(
                &cluster,
                &format!("user_store = \"{}\"", cluster.user_store),
                &line,
            ),
            "shared_registry" => edit_spec(
                &cluster,
                &format!("shared_registry = \"{}\"", cluster.shared_registry),
                &line,
            ),
            _ => edit_spec(&cluster, "[databases]\n", &format!("[databases]\n{line}\n")),
        }
        let place = place_of(&cluster, &line);
        let message = assert_refused(
            &cluster,
            2,
            &[&place, &format!("databases.{key}"), "system schema"],
            &[],
        );
        assert!(message.contains(name), "{message}");
        cluster.assert_nothing_created().await;
        assert!(!account_grants_anything(&pool, &cluster.account).await);
    }
    // A node's own local registry too.
    let cluster = cluster();
    edit_spec(
        &cluster,
        "name = \"node2\"\n",
        "name = \"node2\"\nlocal_registry = \"Sys\"\n",
    );
    let place = place_of(&cluster, "local_registry = \"Sys\"");
    assert_refused(
        &cluster,
        2,
        &[&place, "nodes.local_registry", "system schema"],
        &[],
    );
    cluster.assert_nothing_created().await;
    assert!(script_tables_in(&pool, "mysql").await.is_empty());
    assert!(script_tables_in(&pool, "sys").await.is_empty());
}

#[tokio::test]
async fn one_database_under_two_keys_or_the_ledger_is_refused() {
    // The ledger database as the user store (case differs: the server may fold it).
    let cluster = cluster();
    let metadata = unique_name("META");
    edit_spec(
        &cluster,
        "[databases]\n",
        &format!("[databases]\nmetadata = \"{metadata}\"\n"),
    );
    edit_spec(
        &cluster,
        &format!("user_store = \"{}\"", cluster.user_store),
        &format!("user_store = \"{}\"", metadata.to_lowercase()),
    );
    let place = place_of(&cluster, "user_store =");
    assert_refused(
        &cluster,
        2,
        &[&place, "databases.user_store", "databases.metadata"],
        &[],
    );
    cluster.assert_nothing_created().await;
    let pool = admin_pool().await;
    assert!(!check::database_exists(&pool, &metadata).await);

    // A node's local registry named as the shared registry.
    let cluster = cluster_default();
    let shared = cluster.shared_registry.to_lowercase();
    edit_spec(
        &cluster,
        "name = \"node1\"\n",
        &format!("name = \"node1\"\nlocal_registry = \"{shared}\"\n"),
    );
    let place = place_of(&cluster, "local_registry =");
    assert_refused(
        &cluster,
        2,
        &[&place, "nodes.local_registry", "databases.shared_registry"],
        &[],
    );
    cluster.assert_nothing_created().await;

    // The user store named as the first local registry eidb would derive (prefix + 1).
    let cluster = cluster_default();
    let local1 = format!("{}1", cluster.local_prefix);
    edit_spec(
        &cluster,
        &format!("user_store = \"{}\"", cluster.user_store),
        &format!("user_store = \"{local1}\""),
    );
    let place = place_of(&cluster, "user_store =");
    assert_refused(
        &cluster,
        2,
        &[&place, "databases.user_store", "local_registry_prefix"],
        &[],
    );
    assert!(!check::database_exists(&pool, &local1).await);
    assert!(!check::account_exists(&pool, &cluster.account).await);
}

fn cluster_default() -> Cluster {
    cluster()
}

/// A database that exists, that no cluster recorded, and that holds tables the dbscript does not make is
/// someone else's: a conflict, nothing changed; with `adopt` naming it, eidb takes it over (and keeps the
/// tables it did not make), and from then on the ledger says it is the cluster's.
#[tokio::test]
async fn a_foreign_database_with_other_tables_is_a_conflict_unless_adopted() {
    let pool = admin_pool().await;
    let cluster = cluster();
    let foreign = cluster.user_store.clone();
    check::exec(
        &pool,
        &format!(
            "CREATE DATABASE `{foreign}`; CREATE TABLE `{foreign}`.customer_orders (id INT PRIMARY KEY, total DECIMAL(10,2)); \
             INSERT INTO `{foreign}`.customer_orders VALUES (1, 9.99)"
        ),
    )
    .await;
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 1, "{report:#}");
    let conflicts = report["conflicts"].to_string();
    assert!(
        conflicts.contains(&foreign) && conflicts.contains("customer_orders"),
        "the conflict names the database and its table: {report:#}"
    );
    assert!(
        conflicts.contains("adopt"),
        "the fix says how to adopt it: {report:#}"
    );
    assert!(script_tables_in(&pool, &foreign).await.is_empty());
    assert!(!check::account_exists(&pool, &cluster.account).await);
    assert!(!check::database_exists(&pool, &cluster.shared_registry).await);
    // The dry run and verify say the same.
    let (code, report) = cluster.eidb_json(&["provision", "--dry-run"]);
    assert_eq!(code, 1, "{report:#}");
    assert!(report["conflicts"].to_string().contains("customer_orders"));

    // Adopted on purpose: provisioned, the foreign table kept with its row.
    edit_spec(
        &cluster,
        "[databases]\n",
        &format!("[databases]\nadopt = [\"{foreign}\"]\n"),
    );
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(!script_tables_in(&pool, &foreign).await.is_empty());
    let kept: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM `{foreign}`.customer_orders"))
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 1);
    // Recorded as the cluster's: without the key it stays in sync.
    edit_spec(&cluster, &format!("adopt = [\"{foreign}\"]\n"), "");
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "unchanged", "{report:#}");
}

/// An adopt list naming a database that is not one of the cluster's is a mistake (exit 2, key and line).
#[tokio::test]
async fn adopt_names_only_cluster_databases() {
    let cluster = cluster();
    edit_spec(
        &cluster,
        "[databases]\n",
        "[databases]\nadopt = [\"SOMETHING_ELSE\"]\n",
    );
    let place = place_of(&cluster, "adopt =");
    assert_refused(
        &cluster,
        2,
        &[&place, "databases.adopt", "SOMETHING_ELSE"],
        &[],
    );
    cluster.assert_nothing_created().await;
}

// ---------------------------------------------------------------------------------------------------
// Item 8: values longer than where they land
// ---------------------------------------------------------------------------------------------------

/// The ledger keeps node names in VARCHAR(64): a longer one is refused at validation, before a database
/// or the account exists (it used to fail at the ledger write, after both were created, on every run).
#[tokio::test]
async fn a_node_name_longer_than_the_ledger_column_is_refused_before_anything() {
    let long = format!("node-{}", "x".repeat(60));
    assert_eq!(long.len(), 65);
    let cluster = cluster();
    edit_spec(
        &cluster,
        "name = \"node2\"\n",
        &format!("name = \"{long}\"\n"),
    );
    let place = place_of(&cluster, &long);
    assert_refused(&cluster, 2, &[&place, "nodes.name", "64"], &[]);
    assert_refused(&cluster, 2, &[&place, "nodes.name", "64"], &["--db-only"]);
    let pool = admin_pool().await;
    for db in cluster.databases() {
        assert!(!check::database_exists(&pool, &db).await, "{db}");
    }
    assert!(!check::account_exists(&pool, &cluster.account).await);

    // renamed_from names a node in the same column.
    let cluster = cluster_default();
    edit_spec(
        &cluster,
        "name = \"node2\"\n",
        &format!("name = \"node2\"\nrenamed_from = \"{long}\"\n"),
    );
    let place = place_of(&cluster, "renamed_from");
    assert_refused(&cluster, 2, &[&place, "nodes.renamed_from", "64"], &[]);
    cluster.assert_nothing_created().await;

    // 64 characters fit: provisioned, recorded, in sync.
    let exact = format!("node-{}", "y".repeat(59));
    assert_eq!(exact.len(), 64);
    let cluster = cluster_default();
    edit_spec(
        &cluster,
        "name = \"node2\"\n",
        &format!("name = \"{exact}\"\n"),
    );
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
}

// ---------------------------------------------------------------------------------------------------
// Item 5: two nodes, one file
// ---------------------------------------------------------------------------------------------------

enum Sharing {
    Symlink,
    HardLink,
    SymlinkedConfFolder,
}

fn share(cluster: &Cluster, relative: &str, link: &Sharing) {
    let (first, second) = (&cluster.nodes[0], &cluster.nodes[1]);
    match link {
        Sharing::Symlink => {
            let target = first.join(relative);
            std::fs::remove_file(second.join(relative)).unwrap();
            std::os::unix::fs::symlink(&target, second.join(relative)).unwrap();
        }
        Sharing::HardLink => {
            std::fs::remove_file(second.join(relative)).unwrap();
            std::fs::hard_link(first.join(relative), second.join(relative)).unwrap();
        }
        Sharing::SymlinkedConfFolder => {
            std::fs::remove_dir_all(second.join("conf")).unwrap();
            std::os::unix::fs::symlink(first.join("conf"), second.join("conf")).unwrap();
        }
    }
}

/// Configuration management links each node's master-datasources.xml (or registry.xml, user-mgt.xml, or
/// the whole conf/ folder) to one shared file: the two nodes would end on one local registry. Refused
/// before anything changes, in every mode that writes node files, naming both nodes and the file.
#[tokio::test]
async fn nodes_sharing_a_conf_file_through_a_link_are_refused() {
    for (relative, link) in [
        (DATASOURCES, Sharing::Symlink),
        (DATASOURCES, Sharing::HardLink),
        ("conf/registry.xml", Sharing::Symlink),
        ("conf/user-mgt.xml", Sharing::HardLink),
        (DATASOURCES, Sharing::SymlinkedConfFolder),
    ] {
        let cluster = cluster();
        share(&cluster, relative, &link);
        let file = Path::new(relative).file_name().unwrap().to_str().unwrap();
        for mode in [&[][..], &["--files-only"][..]] {
            let message = assert_refused(&cluster, 2, &["node1", "node2", file], mode);
            assert!(message.contains("same file"), "{message}");
        }
        cluster.assert_nothing_created().await;
        // verify reports it too (exit 2: it cannot check two nodes that are one).
        let (code, report) = cluster.eidb_json(&["verify"]);
        assert_eq!(code, 2, "{report:#}");
    }
    // --db-only writes no node file: the database part runs.
    let cluster = cluster();
    share(&cluster, DATASOURCES, &Sharing::Symlink);
    let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
    assert_eq!(code, 0, "{report:#}");
}
