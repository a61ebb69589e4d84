//! Every connection eidb opens is closed as a client should close it (COM_QUIT). A connection that is only
//! dropped is an "Aborted connection" warning in the server's error log and one more `Aborted_clients`,
//! which database monitoring watches: `verify` run as a monitor every minute must not add to either.
//! On a server of its own: it sees no other test's connections (faults.rs drops some on purpose).

use crate::common;

use common::cluster::{Cluster, Conf};
use common::TestServer;
use sqlx::{MySqlPool, Row};

async fn aborted_clients(pool: &MySqlPool) -> i64 {
    let row = sqlx::raw_sql("SHOW GLOBAL STATUS LIKE 'Aborted_clients'")
        .fetch_one(pool)
        .await
        .unwrap();
    row.get::<String, _>(1).parse().unwrap()
}

#[tokio::test]
async fn no_run_leaves_an_aborted_connection_on_the_server() {
    let server = tokio::task::spawn_blocking(TestServer::dedicated)
        .await
        .unwrap();
    let pool = server.admin_pool().await;
    let cluster = Cluster::new_on(&server, 2, Conf::RealWso2)
        .with_real_dbscripts()
        .with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.set_conf_mode(0o644);
    let before = aborted_clients(&pool).await;
    // From nothing (the ledger, its lock renewer, a connection per database, the login proofs), then
    // the runs a pipeline or a monitor repeats, in sync and with drift.
    cluster.eidb_ok(&["provision"]);
    cluster.eidb_ok(&["provision"]);
    cluster.eidb_ok(&["provision", "--dry-run"]);
    cluster.eidb_ok(&["verify"]);
    let local = format!("{}2", cluster.local_prefix);
    sqlx::raw_sql(&format!("DROP TABLE `{local}`.REG_LOG"))
        .execute(&pool)
        .await
        .unwrap();
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "{report:#}");
    cluster.eidb_ok(&["provision"]);
    cluster.eidb_ok(&["verify"]);
    assert_eq!(
        aborted_clients(&pool).await,
        before,
        "eidb left connections aborted (see the server's error log)"
    );
}
