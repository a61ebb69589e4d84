//! The script's columns as the server makes them are kept in the ledger (`eidb_columns`), so that a run
//! on an unchanged server does not make the script's tables again as temporary ones to ask (issue 14,
//! point 6). Provision keeps them, verify and the dry run only read them; what is compared is what the
//! ledger keeps; without a kept answer the server is asked, as before.

use crate::common;

use common::admin_pool;
use common::check::exec;
use common::cluster::{Cluster, Conf};
use serde_json::Value;
use sqlx::{MySqlPool, Row};

/// The kept answers in `meta`: (fingerprint, charset, collation, columns).
async fn kept(pool: &MySqlPool, meta: &str) -> Vec<(String, String, String, Value)> {
    sqlx::raw_sql(&format!(
        "SELECT fingerprint, charset_name, collation_name, columns FROM `{meta}`.eidb_columns ORDER BY recorded_at"
    ))
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|row| {
        let columns: String = row.get(3);
        let columns = serde_json::from_str(&columns).unwrap();
        (row.get(0), row.get(1), row.get(2), columns)
    })
    .collect()
}

fn verify(cluster: &Cluster) -> (i32, Value) {
    cluster.eidb_json(&["verify", "--db-only"])
}

#[tokio::test]
async fn provision_keeps_the_columns_and_verify_compares_with_what_is_kept() {
    let pool = admin_pool().await;
    let meta = common::unique_name("meta");
    let cluster = Cluster::new(1, Conf::RealWso2)
        .with_real_dbscripts()
        .with_databases(&format!("charset = \"latin1\"\nmetadata = \"{meta}\""));

    // From nothing: no table existed when the plan was made; the columns are asked after the script ran.
    cluster.eidb_ok(&["provision", "--db-only"]);
    let rows = kept(&pool, &meta).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let (fingerprint, charset, collation, columns) = rows[0].clone();
    assert_eq!(fingerprint.len(), 64);
    assert_eq!(charset, "latin1");
    assert!(collation.starts_with("latin1_"), "{collation}");
    let mut parsed = columns;
    let reg_path = parsed["reg_path"][1].as_array().unwrap().clone();
    assert!(
        reg_path.iter().any(|c| c["name"] == "REG_PATH_VALUE"),
        "the script's REG_PATH table and its columns: {reg_path:#?}"
    );

    let (code, report) = verify(&cluster);
    assert_eq!(code, 0, "{report:#}");

    // What is compared is what the ledger keeps: an answer changed there is drift of every database.
    let at = reg_path
        .iter()
        .position(|c| c["name"] == "REG_PATH_VALUE")
        .unwrap();
    parsed["reg_path"][1][at]["shape"]["column_type"] = Value::from("varchar(749)");
    sqlx::query(&format!(
        "UPDATE `{meta}`.eidb_columns SET columns = ? WHERE fingerprint = ?"
    ))
    .bind(parsed.to_string())
    .bind(&fingerprint)
    .execute(&pool)
    .await
    .unwrap();
    let (code, report) = verify(&cluster);
    assert_eq!(code, 1, "{report:#}");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), cluster.databases().len(), "{report:#}");
    for finding in findings {
        assert_eq!(finding["check"], "column", "{report:#}");
        let expected = finding["expected"].as_str().unwrap();
        assert!(
            expected.contains("REG_PATH_VALUE") && expected.contains("varchar(749)"),
            "{report:#}"
        );
    }

    // Without a kept answer the server is asked again; verify keeps nothing (it writes nothing), the dry
    // run neither, provision does, with nothing else to change.
    exec(&pool, &format!("DELETE FROM `{meta}`.eidb_columns")).await;
    let (code, report) = verify(&cluster);
    assert_eq!(code, 0, "{report:#}");
    let (code, report) = cluster.eidb_json(&["provision", "--db-only", "--dry-run"]);
    assert_eq!(
        (code, &report["status"]),
        (0, &Value::from("unchanged")),
        "{report:#}"
    );
    assert!(
        kept(&pool, &meta).await.is_empty(),
        "verify and the dry run write nothing"
    );
    let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
    assert_eq!(
        (code, &report["status"]),
        (0, &Value::from("unchanged")),
        "{report:#}"
    );
    assert_eq!(
        kept(&pool, &meta).await,
        rows,
        "the same answer, kept again"
    );
}

#[tokio::test]
async fn a_ledger_older_than_the_kept_columns_is_brought_up_to_date_by_provision() {
    let pool = admin_pool().await;
    let meta = common::unique_name("meta");
    let cluster = Cluster::new(1, Conf::RealWso2)
        .with_real_dbscripts()
        .with_databases(&format!("metadata = \"{meta}\""));
    cluster.eidb_ok(&["provision", "--db-only"]);
    let rows = kept(&pool, &meta).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");

    // The ledger as an eidb before this one left it: no table for the columns, its migration not run.
    exec(&pool, &format!("DROP TABLE `{meta}`.eidb_columns")).await;
    exec(
        &pool,
        &format!("DELETE FROM `{meta}`._sqlx_migrations WHERE description = 'columns'"),
    )
    .await;
    let (code, report) = verify(&cluster);
    assert_eq!(code, 0, "verify reads an old ledger as it is: {report:#}");
    let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
    assert_eq!(
        (code, &report["status"]),
        (0, &Value::from("unchanged")),
        "{report:#}"
    );
    assert_eq!(kept(&pool, &meta).await, rows);
    let migrated: i64 = sqlx::raw_sql(&format!(
        "SELECT COUNT(*) FROM `{meta}`._sqlx_migrations WHERE description = 'columns' AND success"
    ))
    .fetch_one(&pool)
    .await
    .unwrap()
    .get(0);
    assert_eq!(migrated, 1);
}
