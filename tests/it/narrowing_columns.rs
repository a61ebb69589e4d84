//! Issue 23, item 9: `--reapply-changed-script` on a server whose global `sql_mode` is empty (not
//! strict, MySQL 5.6's family). A changed script that narrows a column holding longer values would cut
//! them there. Such a change is destructive: held back without `--allow-destructive` (and said so by
//! dry-run and verify); with it, the ALTER runs in strict mode, the server refuses, and eidb stops with an
//! error naming the table and column. The rows are checked through an admin connection.

use crate::common;

use serde_json::Value;
use sqlx::MySqlPool;

use common::check::exec;
use common::cluster::{Cluster, Conf};
use common::{Setup, TestServer};

const SCRIPT: &str = "CREATE TABLE FX_ONE (ID INTEGER NOT NULL, PRIMARY KEY (ID)) ENGINE INNODB;\n\
     CREATE TABLE FX_TWO (ID INTEGER NOT NULL, NAME VARCHAR(64), PRIMARY KEY (ID)) ENGINE INNODB;\n";

const LONG: &str = "a name of forty characters, give or take";

async fn names(pool: &MySqlPool, database: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(&format!(
        "SELECT CONVERT(NAME USING utf8mb4) FROM `{database}`.FX_TWO ORDER BY ID"
    ))
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn column_type(pool: &MySqlPool, database: &str) -> String {
    sqlx::query_scalar::<_, String>(
        "SELECT CONVERT(COLUMN_TYPE USING utf8mb4) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'FX_TWO' AND COLUMN_NAME = 'NAME'",
    )
    .bind(database)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn run(cluster: &Cluster, args: &[&str]) -> (i32, String, String) {
    let output = cluster.eidb(args);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn narrowing_a_column_on_a_non_strict_server_is_destructive_and_refused() {
    let server = TestServer::dedicated_configured(Setup::default(), &["--sql-mode="]);
    let pool = server.admin_pool().await;
    let mode: String = sqlx::query_scalar("SELECT @@GLOBAL.sql_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "", "the server is not strict");

    let cluster = Cluster::new_on(&server, 1, Conf::Fixture)
        .with_driver_jar("mysql-connector-java-5.1.49.jar");
    let script = cluster.dir.path().join("script.sql");
    std::fs::write(&script, SCRIPT).unwrap();
    let cluster = cluster.with_script(&script);
    cluster.eidb_ok(&["provision", "--db-only"]);
    let databases = cluster.databases();
    for db in &databases {
        exec(
            &pool,
            &format!("INSERT INTO `{db}`.FX_TWO VALUES (1, '{LONG}'), (2, 'short')"),
        )
        .await;
    }

    // The new script narrows the column below what the rows hold.
    std::fs::write(
        &script,
        SCRIPT.replace("NAME VARCHAR(64)", "NAME VARCHAR(10)"),
    )
    .unwrap();

    // verify and the dry run say it is destructive.
    let (code, report) = cluster.eidb_json(&["verify", "--db-only"]);
    assert_eq!(code, 1, "{report:#}");
    let column: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "column")
        .collect();
    assert!(!column.is_empty(), "{report:#}");
    for f in &column {
        assert!(
            f["fix"]
                .as_str()
                .unwrap_or("")
                .contains("--allow-destructive"),
            "verify says narrowing the column is destructive: {f:#}"
        );
    }
    let (_, dry, _) = run(
        &cluster,
        &[
            "provision",
            "--db-only",
            "--reapply-changed-script",
            "--dry-run",
            "--output",
            "json",
        ],
    );
    let dry: Value = serde_json::from_str(&dry).unwrap();
    let scripts: Vec<&Value> = dry["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == "apply_script")
        .collect();
    assert!(!scripts.is_empty(), "{dry:#}");
    assert!(
        scripts.iter().all(|c| c["destructive"].is_string()),
        "the dry run shows the narrowing as destructive: {dry:#}"
    );

    // Without --allow-destructive: held back, nothing cut.
    let (code, report) = cluster.eidb_json(&["provision", "--db-only", "--reapply-changed-script"]);
    assert_eq!(code, 3, "held back: {report:#}");
    assert_eq!(report["status"], "held_back", "{report:#}");
    for db in &databases {
        assert_eq!(names(&pool, db).await, [LONG, "short"], "{db}: data intact");
        assert_eq!(column_type(&pool, db).await, "varchar(64)", "{db}");
    }

    // With it: the server refuses in strict mode, eidb says what and where, the data stays.
    let (code, stdout, stderr) = run(
        &cluster,
        &[
            "provision",
            "--db-only",
            "--reapply-changed-script",
            "--allow-destructive",
        ],
    );
    assert_eq!(code, 1, "the refusal is an error:\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("FX_TWO") && stderr.contains("NAME"),
        "the error names the table and the column:\n{stderr}"
    );
    assert!(
        stderr.contains("do not fit") || stderr.contains("does not fit"),
        "the error says what is wrong and what to do:\n{stderr}"
    );
    for db in &databases {
        assert_eq!(names(&pool, db).await, [LONG, "short"], "{db}: data intact");
        assert_eq!(column_type(&pool, db).await, "varchar(64)", "{db}");
    }

    // Once the rows fit, the same run goes through.
    for db in &databases {
        exec(
            &pool,
            &format!("UPDATE `{db}`.FX_TWO SET NAME = 'fits' WHERE ID = 1"),
        )
        .await;
    }
    let (code, stdout, stderr) = run(
        &cluster,
        &[
            "provision",
            "--db-only",
            "--reapply-changed-script",
            "--allow-destructive",
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for db in &databases {
        assert_eq!(names(&pool, db).await, ["fits", "short"], "{db}");
        assert_eq!(column_type(&pool, db).await, "varchar(10)", "{db}");
    }
}

/// Widening stays additive: applied without --allow-destructive.
#[tokio::test]
async fn widening_a_column_stays_additive() {
    let server = TestServer::dedicated_configured(Setup::default(), &["--sql-mode="]);
    let pool = server.admin_pool().await;
    let cluster = Cluster::new_on(&server, 1, Conf::Fixture)
        .with_driver_jar("mysql-connector-java-5.1.49.jar");
    let script = cluster.dir.path().join("script.sql");
    std::fs::write(&script, SCRIPT).unwrap();
    let cluster = cluster.with_script(&script);
    cluster.eidb_ok(&["provision", "--db-only"]);
    std::fs::write(
        &script,
        SCRIPT.replace("NAME VARCHAR(64)", "NAME VARCHAR(100)"),
    )
    .unwrap();
    let (code, stdout, stderr) = run(
        &cluster,
        &["provision", "--db-only", "--reapply-changed-script"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for db in cluster.databases() {
        assert_eq!(column_type(&pool, &db).await, "varchar(100)", "{db}");
    }
}
