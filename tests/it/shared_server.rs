//! A cluster on a database server shared with other applications (issue 26): eidb reads only the cluster's
//! databases, one by name (see sql/inspect.sql), and what the other databases hold, even tables, indexes and
//! triggers of the same names as the cluster's, neither hides drift nor shows up as any.

use crate::common;

use common::check::{exec, schema_fingerprint, tables_of};
use common::cluster::{Cluster, Conf};
use common::{admin_pool, unique_name};

#[tokio::test]
async fn other_applications_databases_neither_hide_nor_make_drift() {
    let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.eidb_ok(&["provision"]);
    let pool = admin_pool().await;
    let local = format!("{}1", cluster.local_prefix);
    // Another application's databases: one holds copies of the cluster's tables (with their indexes and the
    // trigger), one a table of its own.
    let copies = unique_name("other_app");
    let own = unique_name("other_app");
    exec(
        &pool,
        &format!("CREATE DATABASE `{copies}` CHARACTER SET utf8mb4"),
    )
    .await;
    exec(&pool, &format!("CREATE DATABASE `{own}`")).await;
    for table in tables_of(&pool, &local).await {
        exec(
            &pool,
            &format!("CREATE TABLE `{copies}`.`{table}` LIKE `{local}`.`{table}`"),
        )
        .await;
    }
    exec(
        &pool,
        &format!("CREATE TABLE `{own}`.ORDERS (ID INT PRIMARY KEY, NAME VARCHAR(20), KEY BY_NAME (NAME))"),
    )
    .await;
    let others_before = (
        schema_fingerprint(&pool, &copies).await,
        schema_fingerprint(&pool, &own).await,
    );

    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "other databases are not drift:\n{report:#}");
    assert_eq!(report["status"], "in_sync", "{report:#}");

    // Drift in the cluster's database, while the other database still holds the table.
    exec(
        &pool,
        &format!("SET FOREIGN_KEY_CHECKS = 0; DROP TABLE `{local}`.FX_TENANT; SET FOREIGN_KEY_CHECKS = 1"),
    )
    .await;
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "the dropped table is drift:\n{report:#}");
    let findings = report["findings"].as_array().expect("findings");
    assert!(
        findings.iter().any(|f| f["check"] == "schema_missing"
            && f["subject"] == format!("database {local}")
            && f["found"].as_str().is_some_and(|s| s.contains("FX_TENANT"))),
        "the cluster's missing table is found although another database has one of that name:\n{report:#}"
    );
    assert!(
        findings
            .iter()
            .all(|f| !f.to_string().contains(&copies) && !f.to_string().contains(&own)),
        "no finding about another application's database:\n{report:#}"
    );

    cluster.eidb_ok(&["provision"]);
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "repaired:\n{report:#}");
    assert!(tables_of(&pool, &local).await.contains("FX_TENANT"));
    assert_eq!(
        (
            schema_fingerprint(&pool, &copies).await,
            schema_fingerprint(&pool, &own).await,
        ),
        others_before,
        "the other databases are untouched"
    );
    exec(
        &pool,
        &format!("DROP DATABASE `{copies}`; DROP DATABASE `{own}`"),
    )
    .await;
}
