//! Issue 23, item 4: hand-made column- and table-level grants to the nodes' account on a cluster
//! database converge. They are extra privileges (the policy for every extra grant: found by verify,
//! revoked only with `--allow-destructive`), revoked for real (`REVOKE SELECT (col) ON db.tbl`, not
//! `REVOKE USAGE`), and a second run has nothing left to do.
//!
//! Each check goes through a second path: `SHOW GRANTS` on an admin connection.

use crate::common;

use serde_json::Value;

use common::admin_pool;
use common::check::{exec, grants_of};
use common::cluster::{Cluster, Conf};

const DRIVER_JAR: &str = "mysql-connector-java-5.1.49.jar";

fn provisioned() -> Cluster {
    let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar(DRIVER_JAR);
    cluster.eidb_ok(&["provision"]);
    assert_in_sync(&cluster, "right after provision");
    cluster
}

fn assert_in_sync(cluster: &Cluster, when: &str) {
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "verify {when} must exit 0:\n{report:#}");
    assert_eq!(report["status"], "in_sync", "{when}: {report:#}");
}

fn account(cluster: &Cluster) -> String {
    format!("'{}'@'%'", cluster.account)
}

fn extra_findings(report: &Value) -> Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings: {report:#}"))
        .iter()
        .filter(|f| f["check"] == "grant_extra")
        .cloned()
        .collect()
}

/// The grants beyond USAGE and the ALL PRIVILEGES on each cluster database that name `table`.
async fn table_grants(cluster: &Cluster, table: &str) -> Vec<String> {
    let pool = admin_pool().await;
    grants_of(&pool, &cluster.account, "%")
        .await
        .into_iter()
        .filter(|g| g.contains(table))
        .collect()
}

/// A hand-made grant on a table of a cluster database: verify finds it (naming the column), provision
/// holds its revoke back, `--allow-destructive` takes it away for real, and then nothing is left to do:
/// verify is in sync and another provision has no change to report.
async fn converges(grant: &str, table: &str, mention: &[&str]) {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let db = &cluster.shared_registry;
    exec(
        &pool,
        &grant
            .replace("{db}", db)
            .replace("{account}", &account(&cluster)),
    )
    .await;
    assert!(
        !table_grants(&cluster, table).await.is_empty(),
        "the hand-made grant is in place"
    );

    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "the extra grant is drift:\n{report:#}");
    let extra = extra_findings(&report);
    assert_eq!(extra.len(), 1, "one grant_extra finding: {report:#}");
    let found = extra[0]["found"].as_str().unwrap_or_default().to_string();
    for word in mention {
        assert!(
            found.contains(word),
            "the finding names {word}: {:#}",
            extra[0]
        );
    }
    assert!(
        !found.contains("USAGE"),
        "the finding says what is granted, not USAGE: {:#}",
        extra[0]
    );

    // Without --allow-destructive: held back, nothing revoked.
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 3, "the revoke is held back:\n{report:#}");
    assert_eq!(report["status"], "held_back", "{report:#}");
    assert!(
        !table_grants(&cluster, table).await.is_empty(),
        "nothing revoked without --allow-destructive"
    );

    // With it: revoked for real.
    let (code, report) = cluster.eidb_json(&["provision", "--allow-destructive"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "changed", "{report:#}");
    let left = table_grants(&cluster, table).await;
    assert!(
        left.is_empty(),
        "the grant is gone from the server: {left:#?}"
    );
    assert_in_sync(&cluster, "after provision --allow-destructive");

    // And the next run has nothing to do: it does not claim a change again.
    let (code, report) = cluster.eidb_json(&["provision", "--allow-destructive"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["status"], "unchanged",
        "a converged cluster has nothing to apply: {report:#}"
    );
    cluster.assert_account_logs_in().await;
}

#[tokio::test]
async fn column_grant_on_a_cluster_table_converges() {
    converges(
        "GRANT SELECT (FX_PATH_VALUE) ON `{db}`.FX_PATH TO {account}",
        "FX_PATH",
        &["SELECT", "FX_PATH_VALUE", "FX_PATH"],
    )
    .await;
}

#[tokio::test]
async fn column_grants_of_two_privileges_converge() {
    converges(
        "GRANT SELECT (FX_PATH_VALUE, FX_PATH_ID), UPDATE (FX_PATH_VALUE) ON `{db}`.FX_PATH TO {account}",
        "FX_PATH",
        &["SELECT", "UPDATE", "FX_PATH_VALUE", "FX_PATH_ID"],
    )
    .await;
}

#[tokio::test]
async fn table_and_column_grants_on_one_table_converge() {
    converges(
        "GRANT INSERT, SELECT (FX_UUID) ON `{db}`.FX_RESOURCE TO {account}",
        "FX_RESOURCE",
        &["INSERT", "SELECT", "FX_UUID"],
    )
    .await;
}

#[tokio::test]
async fn table_grant_on_a_cluster_table_converges() {
    converges(
        "GRANT SELECT, DELETE ON `{db}`.FX_TENANT TO {account}",
        "FX_TENANT",
        &["SELECT", "DELETE", "FX_TENANT"],
    )
    .await;
}

/// A column whose name holds a backtick, granted with the grant option: quoted as the server wants it.
#[tokio::test]
async fn column_grant_with_odd_name_and_grant_option_converges() {
    converges(
        "GRANT SELECT (`FX_ODD``NAME`) ON `{db}`.FX_USER TO {account} WITH GRANT OPTION",
        "FX_USER",
        &["SELECT", "FX_ODD``NAME", "FX_USER"],
    )
    .await;
}

/// The dry run shows the statement that really takes the column grant away.
#[tokio::test]
async fn dry_run_shows_the_column_revoke() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    exec(
        &pool,
        &format!(
            "GRANT SELECT (FX_PATH_VALUE) ON `{}`.FX_PATH TO {}",
            cluster.shared_registry,
            account(&cluster)
        ),
    )
    .await;
    let output = cluster.eidb(&["provision", "--dry-run", "--allow-destructive"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!(
            "REVOKE SELECT (`FX_PATH_VALUE`) ON `{}`.`FX_PATH` FROM",
            cluster.shared_registry
        )),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!text.contains("REVOKE USAGE"), "{text}");
}
