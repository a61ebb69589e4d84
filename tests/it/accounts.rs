//! The account (issue 8, least privilege): several host patterns, the narrower WSO2 privilege set, and
//! everything beyond it reported by verify and taken away by provision.

use crate::common;

use std::collections::BTreeSet;

use common::admin_pool;
use common::check::grants_of;
use common::cluster::{Cluster, Conf};

/// The privileges on each database, per `SHOW GRANTS` line: `db -> {SELECT, ...}`.
fn privileges_by_database(
    grants: &[String],
) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let mut out = std::collections::BTreeMap::new();
    for grant in grants {
        let Some(rest) = grant.strip_prefix("GRANT ") else {
            continue;
        };
        let Some((privileges, after)) = rest.split_once(" ON ") else {
            continue;
        };
        let target = after.split(" TO ").next().unwrap_or_default();
        let Some(db) = target.strip_suffix(".*").filter(|db| *db != "*") else {
            continue;
        };
        let db = db.trim_matches('`').replace("\\_", "_");
        let set: BTreeSet<String> = privileges
            .split(',')
            .map(|p| p.trim().to_uppercase())
            .collect();
        out.insert(db, set);
    }
    out
}

#[tokio::test]
async fn several_hosts_get_the_wso2_privilege_set_and_nothing_more() {
    let cluster = Cluster::new(1, Conf::Fixture).with_driver_jar("mysql-connector-java-5.1.49.jar");
    let spec = cluster.spec_text().replacen(
        "[user]\n",
        "[user]\nhosts = [\"10.20.%\", \"localhost\", \"127.0.0.1\"]\nprivileges = \"wso2\"\n",
        1,
    );
    std::fs::write(&cluster.spec_path, spec).unwrap();
    let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
    assert_eq!(code, 0, "{report:#}");

    let pool = admin_pool().await;
    let wanted: BTreeSet<String> = [
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE",
        "ALTER",
        "DROP",
        "INDEX",
        "REFERENCES",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let databases: BTreeSet<String> = cluster.databases().into_iter().collect();
    for host in ["10.20.%", "localhost", "127.0.0.1"] {
        let grants = grants_of(&pool, &cluster.account, host).await;
        let by_db = privileges_by_database(&grants);
        assert_eq!(
            by_db.keys().cloned().collect::<BTreeSet<_>>(),
            databases,
            "{host}: {grants:#?}"
        );
        for (db, privileges) in &by_db {
            assert_eq!(privileges, &wanted, "{host} on {db}");
        }
        assert!(
            grants.iter().all(|g| !g.contains("WITH GRANT OPTION")),
            "{grants:#?}"
        );
        assert!(
            grants.iter().any(|g| g.starts_with("GRANT USAGE ON *.*")),
            "{grants:#?}"
        );
    }
    let (code, report) = cluster.eidb_json(&["verify", "--db-only"]);
    assert_eq!(code, 0, "{report:#}");

    // More than the set, on one host: a global privilege, ALL on one database, another database.
    let user_store = &cluster.user_store;
    for sql in [
        format!("GRANT PROCESS ON *.* TO '{}'@'localhost'", cluster.account),
        format!(
            "GRANT ALL PRIVILEGES ON `{user_store}`.* TO '{}'@'10.20.%'",
            cluster.account
        ),
        format!(
            "GRANT SELECT ON mysql.* TO '{}'@'127.0.0.1'",
            cluster.account
        ),
    ] {
        sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
    }
    let (code, report) = cluster.eidb_json(&["verify", "--db-only"]);
    assert_eq!(code, 1, "{report:#}");
    let extra: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "grant_extra")
        .map(|f| format!("{} {}", f["subject"], f["found"]))
        .collect();
    assert_eq!(extra.len(), 3, "{extra:#?}");
    assert!(
        extra
            .iter()
            .any(|f| f.contains("'localhost'") && f.contains("PROCESS on *.*")),
        "{extra:#?}"
    );
    assert!(
        extra
            .iter()
            .any(|f| f.contains("'10.20.%'") && f.contains("ALL PRIVILEGES")),
        "{extra:#?}"
    );
    assert!(
        extra
            .iter()
            .any(|f| f.contains("'127.0.0.1'") && f.contains("mysql.*")),
        "{extra:#?}"
    );

    // Taking them away is destructive: without --allow-destructive provision changes nothing of them,
    // lists each as held back and exits 3.
    let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(report["status"], "held_back", "{report:#}");
    let held: Vec<String> = report["held_back"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c["change"], c["destructive"]))
        .collect();
    assert_eq!(held.len(), 3, "{held:#?}");
    assert!(
        held.iter()
            .all(|h| h.starts_with("\"revoke\"") && !h.ends_with("null")),
        "{held:#?}"
    );
    assert!(
        report["changes"].as_array().unwrap().is_empty(),
        "nothing additive to do: {report:#}"
    );
    let grants = grants_of(&pool, &cluster.account, "localhost").await;
    assert!(
        grants.iter().any(|g| g.contains("PROCESS")),
        "kept: {grants:#?}"
    );

    cluster.eidb_ok(&["provision", "--db-only", "--allow-destructive"]);
    for host in ["10.20.%", "localhost", "127.0.0.1"] {
        let grants = grants_of(&pool, &cluster.account, host).await;
        let by_db = privileges_by_database(&grants);
        assert_eq!(
            by_db.keys().cloned().collect::<BTreeSet<_>>(),
            databases,
            "{host} after repair: {grants:#?}"
        );
        assert!(
            by_db.values().all(|p| p == &wanted),
            "{host} after repair: {grants:#?}"
        );
        assert!(!grants.iter().any(|g| g.contains("PROCESS")), "{grants:#?}");
    }
    let (code, report) = cluster.eidb_json(&["verify", "--db-only"]);
    assert_eq!(code, 0, "{report:#}");
}

#[tokio::test]
async fn a_bad_host_in_the_list_is_bad_input_naming_it() {
    let cluster = Cluster::new(1, Conf::Fixture);
    let spec =
        cluster
            .spec_text()
            .replacen("[user]\n", "[user]\nhosts = [\"10.0.%\", \"a b\"]\n", 1);
    std::fs::write(&cluster.spec_path, spec).unwrap();
    let output = cluster.eidb(&["provision"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("user.hosts") && stderr.contains("`a b`"),
        "{stderr}"
    );
}

/// Issue 28 point 7: the login check logs in as the nodes' account; when the nodes' JDBC host does not
/// answer from here, the warning names that account, not the admin eidb connects as.
#[test]
fn the_unreachable_jdbc_host_warning_names_the_nodes_account() {
    let cluster = Cluster::new(1, Conf::Fixture).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.eidb_ok(&["provision", "--db-only"]);
    let cluster =
        cluster.with_server_keys("jdbc_host = \"carbondb.eidb-test.invalid\"\njdbc_port = 3306");
    let (code, report) = cluster.eidb_json(&["provision", "--db-only", "--dry-run"]);
    assert_eq!(code, 0, "{report:#}");
    let warnings = report["warnings"].to_string();
    let expected = format!(
        "{}@carbondb.eidb-test.invalid:3306 does not answer",
        cluster.account
    );
    assert!(warnings.contains(&expected), "{expected} in {report:#}");
    let admin = &common::server().admin_user;
    assert!(
        !warnings.contains(&format!("{admin}@carbondb")),
        "the admin is not the one who logs in there: {report:#}"
    );
}
