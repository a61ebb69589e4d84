//! `eidb provision`, database part: the built binary against a throwaway server, checked through SQL.

use crate::common;

use common::admin_pool;
use common::check::{self, charset_of, granted_databases, indexes_of, script_objects, tables_of};
use common::cluster::{Cluster, Conf, ACCOUNT_PASSWORD};

async fn assert_provisioned(cluster: &Cluster, script: &str, charset: &str) {
    let pool = admin_pool().await;
    let (tables, indexes) = script_objects(script);
    assert!(!tables.is_empty(), "the scan found no tables in the script");
    for db in cluster.databases() {
        assert_eq!(
            charset_of(&pool, &db).await.as_deref(),
            Some(charset),
            "charset of {db}"
        );
        let have = tables_of(&pool, &db).await;
        let missing: Vec<_> = tables.difference(&have).collect();
        assert!(missing.is_empty(), "{db} lacks tables {missing:?}");
        let have = indexes_of(&pool, &db).await;
        let missing: Vec<_> = indexes.difference(&have).collect();
        assert!(missing.is_empty(), "{db} lacks indexes {missing:?}");
        let wrong = check::tables_not_in_charset(&pool, &db, charset).await;
        assert!(wrong.is_empty(), "{db}: tables not in {charset}: {wrong:?}");
    }
    let granted = granted_databases(&pool, &cluster.account, "%").await;
    let expected = cluster.databases().into_iter().collect();
    assert_eq!(granted, expected, "databases granted to the account");
    let grants = check::grants_of(&pool, &cluster.account, "%").await;
    assert_eq!(
        grants.len(),
        cluster.databases().len() + 1,
        "exactly USAGE plus one grant per database: {grants:#?}"
    );
    assert!(
        grants.iter().all(|g| !g.contains("WITH GRANT OPTION")),
        "{grants:#?}"
    );
}

#[tokio::test]
async fn provisions_fixture_cluster_and_second_run_changes_nothing() {
    let cluster = Cluster::new(2, Conf::Fixture).with_databases("charset = \"latin1\"");
    let script = std::fs::read_to_string(common::cluster::fixture_path(
        "dbscripts/splitter-cases.sql",
    ))
    .unwrap();

    let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "changed");
    let created: Vec<_> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == "create_database")
        .collect();
    assert_eq!(created.len(), 4);
    let databases = report["databases"].as_array().unwrap();
    assert_eq!(databases.len(), 4);
    assert!(
        databases
            .iter()
            .all(|d| d["state"].as_str().unwrap().starts_with("created")),
        "{report:#}"
    );
    assert_eq!(databases[0]["role"], "user_store");
    assert_eq!(databases[2]["role"], "local_registry");
    assert_eq!(databases[2]["node"], "node1");
    assert_provisioned(&cluster, &script, "latin1").await;
    cluster.assert_account_logs_in().await;

    let (code, again) = cluster.eidb_json(&["provision", "--db-only"]);
    assert_eq!(code, 0, "{again:#}");
    assert_eq!(again["status"], "unchanged", "{again:#}");
    let states: Vec<&str> = again["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["in place"; 4], "{again:#}");
    assert_eq!(again["changes"].as_array().unwrap().len(), 0);
    assert_provisioned(&cluster, &script, "latin1").await;
}

#[tokio::test]
async fn real_wso2_scripts_load_in_latin1_and_server_default_twice() {
    let scripts = common::shared_wso2_dir().join("dbscripts");
    let pool = admin_pool().await;
    let default_charset: String = sqlx::Row::get(
        &sqlx::raw_sql("SELECT @@character_set_server")
            .fetch_one(&pool)
            .await
            .unwrap(),
        0,
    );
    for charset in ["latin1", "auto"] {
        let cluster = Cluster::new(2, Conf::Fixture)
            .with_real_dbscripts()
            .with_databases(&format!("charset = \"{charset}\""));
        let expected_charset = if charset == "auto" {
            default_charset.as_str()
        } else {
            charset
        };
        for run in 1..=2 {
            let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
            assert_eq!(code, 0, "run {run} ({charset}): {report:#}");
            let chosen = report["preflight"]["script"]["path"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(
                chosen.ends_with("mysql5.7.sql"),
                "a modern server takes the 5.7 script: {chosen}"
            );
            let script = std::fs::read_to_string(scripts.join("mysql5.7.sql")).unwrap();
            assert_provisioned(&cluster, &script, expected_charset).await;
            if run == 2 {
                assert_eq!(report["status"], "unchanged", "{report:#}");
            }
        }
        let (tables, _) =
            script_objects(&std::fs::read_to_string(scripts.join("mysql5.7.sql")).unwrap());
        assert_eq!(
            tables.len(),
            40,
            "the real script has 40 tables (shared/wso2-ei/README.md)"
        );
    }
}

#[tokio::test]
async fn charset_auto_means_latin1_on_windows() {
    let cluster = Cluster::new(1, Conf::Fixture);
    let (code, report) = cluster.eidb_json(&["provision", "--db-only", "--server-os", "Win64"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["preflight"]["charset"], "latin1");
    assert_eq!(report["preflight"]["server"]["compile_os"], "Win64");
    let pool = admin_pool().await;
    for db in cluster.databases() {
        assert_eq!(
            charset_of(&pool, &db).await.as_deref(),
            Some("latin1"),
            "{db}"
        );
    }
}

#[tokio::test]
async fn dry_run_shows_masked_sql_and_changes_nothing() {
    let cluster = Cluster::new(2, Conf::Fixture);
    let output = cluster.eidb(&["provision", "--dry-run", "-vvv"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "CREATE DATABASE IF NOT EXISTS `{}`",
            cluster.user_store
        )),
        "{stdout}"
    );
    assert!(stdout.contains("CREATE USER IF NOT EXISTS"), "{stdout}");
    assert!(stdout.contains("IDENTIFIED BY '****'"), "{stdout}");
    assert!(
        stdout.contains("+++ b/conf/registry.xml"),
        "dry run shows file diffs: {stdout}"
    );
    for text in [&stdout, &stderr] {
        assert!(!text.contains(ACCOUNT_PASSWORD), "password leaked:\n{text}");
    }
    let pool = admin_pool().await;
    for db in cluster.databases() {
        assert_eq!(
            charset_of(&pool, &db).await,
            None,
            "{db} must not exist after a dry run"
        );
    }
    let accounts: i64 = sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) FROM mysql.user WHERE User = ?")
            .bind(&cluster.account)
            .fetch_one(&pool)
            .await
            .unwrap(),
        0,
    );
    assert_eq!(accounts, 0);
    let registry = std::fs::read_to_string(cluster.node_file(0, "conf/registry.xml")).unwrap();
    let original =
        std::fs::read_to_string(common::cluster::fixture_path("ei-home/conf/registry.xml"))
            .unwrap();
    assert_eq!(registry, original, "dry run must not touch files");
}

#[tokio::test]
async fn a_typo_fails_the_run_naming_statement_and_line() {
    let typo = common::cluster::fixture_path("dbscripts/typo.sql");
    let cluster = Cluster::new(1, Conf::Fixture).with_script(&typo);
    let output = cluster.eidb(&["provision", "--db-only"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let text = std::fs::read_to_string(&typo).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("CREAT TABLE"))
        .expect("typo.sql has a CREAT TABLE")
        + 1;
    assert!(
        stderr.contains(&format!("typo.sql:{line}")),
        "names the line {line}: {stderr}"
    );
    assert!(
        stderr.contains("CREAT TABLE"),
        "names the statement: {stderr}"
    );
}

#[tokio::test]
async fn existing_database_with_other_charset_is_refused_not_altered() {
    let cluster = Cluster::new(1, Conf::Fixture).with_databases("charset = \"latin1\"");
    let pool = admin_pool().await;
    sqlx::raw_sql(&format!(
        "CREATE DATABASE `{}` CHARACTER SET utf8mb4",
        cluster.shared_registry
    ))
    .execute(&pool)
    .await
    .unwrap();
    let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
    assert_eq!(code, 1, "{report:#}");
    let conflict = &report["conflicts"][0];
    assert_eq!(
        conflict["subject"],
        format!("database {}", cluster.shared_registry)
    );
    assert!(
        conflict["fix"]
            .as_str()
            .unwrap()
            .contains("charset = \"utf8mb4\""),
        "{conflict:#}"
    );
    assert_eq!(
        charset_of(&pool, &cluster.shared_registry).await.as_deref(),
        Some("utf8mb4")
    );
    assert_eq!(
        charset_of(&pool, &cluster.user_store).await,
        None,
        "nothing is created when a conflict is found"
    );
    check::drop_databases(&pool, std::slice::from_ref(&cluster.shared_registry)).await;
}

#[tokio::test]
async fn spec_errors_exit_2_and_touch_nothing() {
    let cluster = Cluster::new(1, Conf::Fixture);
    let spec = cluster
        .spec_text()
        .replace("[databases]\n", "[databases]\nuser_stor = \"X\"\n");
    std::fs::write(&cluster.spec_path, &spec).unwrap();
    let output = cluster.eidb(&["provision"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let line = spec
        .lines()
        .position(|l| l.starts_with("user_stor"))
        .unwrap()
        + 1;
    assert!(stderr.contains(&format!("cluster.toml:{line}")), "{stderr}");
    assert!(stderr.contains("user_stor"), "{stderr}");
    let pool = admin_pool().await;
    assert_eq!(charset_of(&pool, &cluster.user_store).await, None);
}

/// An empty database is loaded with each table's indexes and foreign keys folded into its CREATE TABLE;
/// a database that already holds part of the script gets every statement as written. Both must end with
/// exactly the same schema as the script run by hand.
#[tokio::test]
async fn folded_and_statement_by_statement_loads_give_the_same_schema() {
    let scripts = common::shared_wso2_dir().join("dbscripts");
    let script = std::fs::read_to_string(scripts.join("mysql5.7.sql")).unwrap();
    let pool = admin_pool().await;

    // By hand, with the mariadb/mysql client: the reference.
    let by_hand = common::unique_name("HAND");
    sqlx::raw_sql(&format!("CREATE DATABASE `{by_hand}` CHARACTER SET latin1"))
        .execute(&pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::raw_sql(&format!("USE `{by_hand}`"))
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::raw_sql(&script).execute(&mut *conn).await.unwrap();
    drop(conn);

    let folded = Cluster::new(1, Conf::Fixture)
        .with_real_dbscripts()
        .with_databases("charset = \"latin1\"");
    folded.eidb_ok(&["provision", "--db-only"]);

    let unfolded = Cluster::new(1, Conf::Fixture)
        .with_real_dbscripts()
        .with_databases("charset = \"latin1\"");
    let first_table = script.split(';').next().unwrap();
    sqlx::raw_sql(&format!(
        "CREATE DATABASE `{}` CHARACTER SET latin1",
        unfolded.user_store
    ))
    .execute(&pool)
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::raw_sql(&format!("USE `{}`", unfolded.user_store))
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::raw_sql(first_table)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    unfolded.eidb_ok(&["provision", "--db-only"]);

    let reference = check::schema_fingerprint(&pool, &by_hand).await;
    assert!(
        reference.len() > 300,
        "the reference schema looks too small: {}",
        reference.len()
    );
    for (how, db) in [
        ("folded", &folded.user_store),
        ("statement by statement", &unfolded.user_store),
    ] {
        let got = check::schema_fingerprint(&pool, db).await;
        let missing: Vec<_> = reference.difference(&got).collect();
        let extra: Vec<_> = got.difference(&reference).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{how}: missing {missing:#?}\nextra {extra:#?}"
        );
    }
    check::drop_databases(&pool, &[by_hand]).await;
}

/// `--dry-run --detailed-exitcode`: 4 while changes are pending, 0 once there is nothing to do; without
/// the flag a dry run exits 0 either way.
#[tokio::test]
async fn dry_run_detailed_exitcode_tells_pending_changes_from_none() {
    let cluster = Cluster::new(1, Conf::Fixture).with_driver_jar("mysql-connector-java-5.1.49.jar");
    let code = |args: &[&str]| cluster.eidb(args).status.code();
    assert_eq!(
        code(&["provision", "--dry-run", "--detailed-exitcode"]),
        Some(4)
    );
    assert_eq!(code(&["provision", "--dry-run"]), Some(0));
    cluster.eidb_ok(&["provision"]);
    assert_eq!(
        code(&["provision", "--dry-run", "--detailed-exitcode"]),
        Some(0)
    );
    assert_eq!(
        code(&["provision", "--detailed-exitcode"]),
        Some(2),
        "it goes with --dry-run only"
    );
}
