//! Never make a working cluster worse: eidb on servers set up the way operators find them
//! (`lower_case_table_names=1`, global `sql_mode`s that change SQL syntax, anonymous accounts,
//! `skip_name_resolve`), on a server that two clusters share an account name on, and with an account row
//! left behind by an earlier spec. Every case runs provision twice, verify, and logs in as the account the
//! way a node does; refusals are checked to have changed nothing.

use crate::common;

use std::collections::BTreeSet;

use common::check::{account_exists, database_exists, grants_of};
use common::cluster::{Cluster, Conf};
use common::{admin_pool, Setup, TestServer};
use serde_json::Value;
use sqlx::MySqlPool;

/// The databases the account holds a database-level grant on (as the server stores the pattern,
/// lower-cased and unescaped for comparing).
async fn granted_patterns(pool: &MySqlPool, account: &str, host: &str) -> BTreeSet<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT CONVERT(Db USING utf8mb4) FROM mysql.db WHERE User = ? AND Host = ?",
    )
    .bind(account)
    .bind(host)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(db,)| db.replace("\\_", "_").to_lowercase())
        .collect()
}

fn lower(names: &[String]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_lowercase()).collect()
}

fn warnings(report: &Value) -> String {
    report["warnings"].to_string()
}

/// Provision, verify, provision again (nothing to change), verify; the account logs in after each run
/// and holds a grant on every database of the cluster.
async fn provision_twice_in_sync(cluster: &Cluster, pool: &MySqlPool) {
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "first provision: {report:#}");
    cluster.assert_account_logs_in().await;
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "verify after the first provision: {report:#}");
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "second provision: {report:#}");
    assert_eq!(
        report["status"], "unchanged",
        "the second run changes nothing (no grant flips back and forth): {report:#}"
    );
    cluster.assert_account_logs_in().await;
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "verify after the second provision: {report:#}");
    assert_eq!(
        granted_patterns(pool, &cluster.account, "%").await,
        lower(&cluster.databases()),
        "one grant per database, nothing revoked"
    );
}

async fn pool_of(server: &TestServer) -> MySqlPool {
    server.admin_pool().await
}

/// A cluster whose nodes have the JDBC driver (a node without one is drift of its own).
fn test_cluster(server: Option<&TestServer>, nodes: usize) -> Cluster {
    match server {
        Some(server) => Cluster::new_on(server, nodes, Conf::Fixture),
        None => Cluster::new(nodes, Conf::Fixture),
    }
    .with_driver_jar("mysql-connector-java-5.1.49.jar")
}

#[tokio::test]
async fn lower_case_table_names_1_keeps_every_grant_through_repeated_runs() {
    let server = TestServer::dedicated_configured(
        Setup {
            both_args: vec!["--lower-case-table-names=1".into()],
            ..Setup::default()
        },
        &[],
    );
    let pool = pool_of(&server).await;
    let lctn: (i64,) = sqlx::query_as("SELECT CAST(@@lower_case_table_names AS SIGNED)")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(lctn.0, 1, "the server runs as MySQL does on Windows");
    let cluster = test_cluster(Some(&server), 2);
    provision_twice_in_sync(&cluster, &pool).await;
}

/// A server whose global `sql_mode` changes how SQL reads (`mode`): eidb's sessions are its own, and
/// the dbscripts still run as WSO2 wrote them.
async fn sql_mode_case(mode: &str, real_scripts: bool) {
    let argument = format!("--sql-mode={mode}");
    let server = TestServer::dedicated_configured(Setup::default(), &[&argument]);
    let pool = pool_of(&server).await;
    let global: (String,) = sqlx::query_as("SELECT @@GLOBAL.sql_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    let first = mode.split(',').next().unwrap();
    assert!(global.0.contains(first), "server sql_mode {}", global.0);
    let mut cluster = test_cluster(Some(&server), 2);
    if real_scripts {
        cluster = cluster.with_real_dbscripts();
    }
    provision_twice_in_sync(&cluster, &pool).await;
}

#[tokio::test]
async fn ansi_quotes_in_the_server_sql_mode_changes_nothing_with_the_real_scripts() {
    sql_mode_case(
        "ANSI_QUOTES,STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION",
        true,
    )
    .await;
}

#[tokio::test]
async fn mariadb_oracle_mode_changes_nothing_with_the_real_scripts() {
    sql_mode_case("ORACLE", true).await;
}

#[tokio::test]
async fn ansi_no_backslash_escapes_and_pipes_change_nothing() {
    // The account's password holds a backslash and quotes: a wrong escape shows as a refused login.
    sql_mode_case("ANSI,NO_BACKSLASH_ESCAPES,PIPES_AS_CONCAT", false).await;
}

#[tokio::test]
async fn two_clusters_sharing_an_account_name_never_undo_each_other() {
    let pool = admin_pool().await;
    let first = test_cluster(None, 1);
    let mut second = test_cluster(None, 1);
    second.account = first.account.clone();
    std::fs::write(&second.spec_path, second.spec_text()).unwrap();

    first.eidb_ok(&["provision"]);
    let (code, report) = second.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        warnings(&report).contains("shared account"),
        "the shared account is said: {report:#}"
    );
    let both: BTreeSet<String> = lower(&first.databases())
        .union(&lower(&second.databases()))
        .cloned()
        .collect();
    assert_eq!(granted_patterns(&pool, &first.account, "%").await, both);

    for (cluster, name) in [(&first, "first"), (&second, "second")] {
        let (code, report) = cluster.eidb_json(&["verify"]);
        assert_eq!(
            code, 0,
            "{name}: the other's grants are not drift: {report:#}"
        );
        assert!(warnings(&report).contains("shared account"), "{report:#}");
        let (code, report) = cluster.eidb_json(&["provision"]);
        assert_eq!(code, 0, "{name}: {report:#}");
        assert_eq!(report["status"], "unchanged", "{name}: {report:#}");
        assert_eq!(
            granted_patterns(&pool, &first.account, "%").await,
            both,
            "{name}: nothing of the other cluster revoked"
        );
    }
    first.assert_account_logs_in().await;
    second.assert_account_logs_in().await;

    // A third cluster with the same account name but another password: resetting it would lock the
    // others out, so it is held back.
    let mut third = test_cluster(None, 1);
    third.account = first.account.clone();
    let spec = third
        .spec_text()
        .replace("EIDB_IT_ACCOUNT_PASSWORD", "EIDB_IT_THIRD_PASSWORD");
    std::fs::write(&third.spec_path, spec).unwrap();
    let output = third
        .eidb_command(&third.spec_path, &["provision", "--output", "json"])
        .env("EIDB_IT_THIRD_PASSWORD", "another-password-9")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(3), "{report:#}");
    let held = report["held_back"].to_string();
    assert!(
        held.contains("alter_account") && held.contains("would be locked out"),
        "the password reset is held back and says whom it would lock out: {report:#}"
    );
    first.assert_account_logs_in().await;
    second.assert_account_logs_in().await;
}

#[tokio::test]
async fn anonymous_accounts_are_found_before_any_change() {
    let server = TestServer::dedicated_configured(
        Setup {
            anonymous_accounts: true,
            ..Setup::default()
        },
        &[],
    );
    let pool = pool_of(&server).await;
    let anonymous: Vec<(String,)> =
        sqlx::query_as("SELECT CONVERT(Host USING utf8mb4) FROM mysql.user WHERE User = ''")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(
        anonymous.iter().any(|(h,)| h == "localhost"),
        "a default install has ''@'localhost': {anonymous:?}"
    );
    let cluster = test_cluster(Some(&server), 1);
    let output = cluster.eidb(&["provision"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("''@'localhost'") && stdout.contains("DROP USER ''@'localhost'"),
        "the refusal names the row and the fix: {stdout}"
    );
    for db in cluster.databases() {
        assert!(!database_exists(&pool, &db).await, "{db} was not created");
    }
    assert!(!account_exists(&pool, &cluster.account).await);

    // The operator runs the fix; then everything works.
    for (host,) in anonymous {
        sqlx::raw_sql(&format!("DROP USER ''@'{host}'"))
            .execute(&pool)
            .await
            .unwrap();
    }
    provision_twice_in_sync(&cluster, &pool).await;
}

#[tokio::test]
async fn skip_name_resolve_refuses_a_host_name_the_nodes_can_never_match() {
    let server = TestServer::dedicated_configured(Setup::default(), &["--skip-name-resolve"]);
    let pool = pool_of(&server).await;
    let cluster = test_cluster(Some(&server), 1);
    let spec = cluster
        .spec_text()
        .replacen("[user]\n", "[user]\nhost = \"localhost\"\n", 1);
    std::fs::write(&cluster.spec_path, &spec).unwrap();
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 1, "{report:#}");
    assert!(
        report.to_string().contains("skip_name_resolve"),
        "the refusal says why: {report:#}"
    );
    for db in cluster.databases() {
        assert!(!database_exists(&pool, &db).await, "{db} was not created");
    }
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "verify does not say all is well: {report:#}");

    std::fs::write(
        &cluster.spec_path,
        spec.replace("host = \"localhost\"", "host = \"127.0.0.1\""),
    )
    .unwrap();
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    cluster.assert_account_logs_in().await;
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
}

#[tokio::test]
async fn a_row_left_by_an_earlier_spec_is_dropped_only_when_allowed() {
    let pool = admin_pool().await;
    let cluster = test_cluster(None, 1);
    cluster.eidb_ok(&["provision"]);
    let spec = cluster
        .spec_text()
        .replacen("[user]\n", "[user]\nhost = \"10.0.%\"\n", 1);
    std::fs::write(&cluster.spec_path, &spec).unwrap();

    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 3, "{report:#}");
    let held = report["held_back"].to_string();
    assert!(
        held.contains("drop_account") && held.contains("'%'"),
        "the old row is held back, not dropped: {report:#}"
    );
    assert_eq!(
        granted_patterns(&pool, &cluster.account, "%").await,
        lower(&cluster.databases()),
        "the old row keeps its grants"
    );
    assert_eq!(
        granted_patterns(&pool, &cluster.account, "10.0.%").await,
        lower(&cluster.databases()),
        "the new row has its grants"
    );
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "{report:#}");
    assert!(
        report["findings"]
            .to_string()
            .contains("account_row_leftover"),
        "{report:#}"
    );
    assert!(
        !report.to_string().contains("\"check\":\"account_login\""),
        "a login that cannot be proven from here is not a pass, nor a reason to reset: {report:#}"
    );

    let (code, report) = cluster.eidb_json(&["provision", "--allow-destructive"]);
    assert_eq!(code, 0, "{report:#}");
    let old_rows: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = '%'")
            .bind(&cluster.account)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(old_rows.0, 0, "the old row was dropped once allowed");
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        warnings(&report).contains("not proven"),
        "the login from here cannot be proven, and verify says so: {report:#}"
    );
}

#[tokio::test]
async fn a_more_specific_row_eidb_did_not_create_is_refused_not_dropped() {
    let pool = admin_pool().await;
    let cluster = test_cluster(None, 1);
    cluster.eidb_ok(&["provision"]);
    sqlx::raw_sql(&format!(
        "CREATE USER '{}'@'localhost' IDENTIFIED BY 'someone-elses'",
        cluster.account
    ))
    .execute(&pool)
    .await
    .unwrap();
    let before = grants_of(&pool, &cluster.account, "%").await;
    let output = cluster.eidb(&["provision", "--allow-destructive"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("'{}'@'localhost'", cluster.account))
            && stdout.contains("not created by eidb")
            && stdout.contains("user.hosts"),
        "{stdout}"
    );
    assert!(account_exists(&pool, &cluster.account).await);
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM mysql.user WHERE User = ?")
        .bind(&cluster.account)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows.0, 2, "eidb dropped nothing");
    assert_eq!(grants_of(&pool, &cluster.account, "%").await, before);
}

#[tokio::test]
async fn an_admin_user_name_with_a_plus_is_taken_as_written() {
    let pool = admin_pool().await;
    let admin = format!("p+{}", common::unique_name("a"));
    sqlx::raw_sql(&format!(
        "CREATE USER '{admin}'@'%' IDENTIFIED BY 'plus-admin-pw'; \
         GRANT ALL PRIVILEGES ON *.* TO '{admin}'@'%' WITH GRANT OPTION"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let cluster = test_cluster(None, 1);
    let spec = cluster.spec_text().replacen(
        "url = \"mysql://root@",
        &format!("password_env = \"EIDB_IT_PLUS_ADMIN\"\nurl = \"mysql://{admin}@"),
        1,
    );
    std::fs::write(&cluster.spec_path, spec).unwrap();
    let output = cluster
        .eidb_command(&cluster.spec_path, &["provision", "--db-only"])
        .env("EIDB_IT_PLUS_ADMIN", "plus-admin-pw")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(&admin), "connected as {admin}: {stdout}");
    cluster.assert_account_logs_in().await;
}

/// The runs of a cluster across hosts (the DBA's database part, then each node's own `--files-only
/// --node` run, which reads its database from the ledger with the nodes' account and records itself)
/// on a server with every setting above at once: `lower_case_table_names=1`, an ANSI sql_mode with
/// `NO_BACKSLASH_ESCAPES`, and `skip_name_resolve`.
#[tokio::test]
async fn node_runs_read_the_ledger_on_a_server_as_found() {
    let server = TestServer::dedicated_configured(
        Setup {
            both_args: vec!["--lower-case-table-names=1".into()],
            ..Setup::default()
        },
        &[
            "--sql-mode=ANSI,NO_BACKSLASH_ESCAPES,STRICT_ALL_TABLES",
            "--skip-name-resolve",
        ],
    );
    let pool = pool_of(&server).await;
    let cluster = test_cluster(Some(&server), 3);
    let spec = cluster
        .spec_text()
        .replacen("[user]\n", "[user]\nhost = \"127.0.0.1\"\n", 1);
    std::fs::write(&cluster.spec_path, &spec).unwrap();

    let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
    assert_eq!(code, 0, "the database part: {report:#}");
    // Each node on its own host, in an order other than the spec's: the ledger, not the spec's order,
    // names each node's database.
    for node in ["node3", "node1", "node2"] {
        let (code, report) = cluster.eidb_json(&["provision", "--files-only", "--node", node]);
        assert_eq!(code, 0, "{node}'s own run: {report:#}");
        assert!(
            !warnings(&report).contains("not recorded") && !warnings(&report).contains("records"),
            "{node}'s run recorded itself: {report:#}"
        );
    }
    for (i, home) in cluster.nodes.iter().enumerate() {
        let datasources =
            std::fs::read_to_string(home.join("conf/datasources/master-datasources.xml")).unwrap();
        let own = format!("/{}{}?", cluster.local_prefix, i + 1).to_lowercase();
        assert!(
            datasources.to_lowercase().contains(&own),
            "node{} is on its own local registry {own}:\n{datasources}",
            i + 1
        );
    }
    let recorded: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM eidb_meta.eidb_node_record WHERE cluster = ?")
            .bind(&cluster.shared_registry)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(recorded, 3, "every node's run is recorded");
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
    let (code, report) = cluster.eidb_json(&["verify", "--files-only", "--node", "node2"]);
    assert_eq!(code, 0, "{report:#}");
    cluster.assert_account_logs_in().await;
}
