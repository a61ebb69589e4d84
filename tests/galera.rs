//! The Galera test harness (tests/common/galera.rs), and the Galera facts eidb's design rests on.

mod common;

use common::galera::GaleraCluster;
use common::unique_name;
use sqlx::{Connection, MySqlConnection, MySqlPool};
use std::time::Instant;

#[tokio::test]
async fn writes_reach_every_member_and_a_member_that_was_down_catches_up() {
    let started = Instant::now();
    let cluster = GaleraCluster::start(3);
    eprintln!(
        "3 Galera members Synced {:.1} s after the start",
        started.elapsed().as_secs_f64()
    );

    let db = unique_name("galera");
    let first = cluster.admin_pool(0).await;
    execute(&first, &format!("CREATE DATABASE {db}")).await;
    execute(
        &first,
        &format!("CREATE TABLE {db}.item (id INT PRIMARY KEY, name VARCHAR(20))"),
    )
    .await;
    insert(&first, &db, 1, "before").await;
    for member in [1, 2] {
        let pool = cluster.sync_read_pool(member).await;
        assert_eq!(
            items(&pool, &db).await,
            ["before"],
            "the rows member {member} sees"
        );
    }

    cluster.kill_member(1);
    cluster.wait_synced(0);
    assert_eq!(
        cluster.wsrep_status(0).await.cluster_size,
        2,
        "cluster size once member 1 is killed"
    );
    insert(&first, &db, 2, "while 1 was down").await;
    let restarted = Instant::now();
    cluster.start_member(1);
    eprintln!(
        "the killed member was Synced again {:.1} s after its start",
        restarted.elapsed().as_secs_f64()
    );
    let second = cluster.sync_read_pool(1).await;
    assert_eq!(
        items(&second, &db).await,
        ["before", "while 1 was down"],
        "the rows the rejoined member 1 sees"
    );
    assert_eq!(
        cluster.wsrep_status(0).await.cluster_size,
        3,
        "cluster size once member 1 is back"
    );

    cluster.stop_member(2);
    cluster.wait_synced(0);
    assert_eq!(
        cluster.wsrep_status(0).await.cluster_size,
        2,
        "cluster size once member 2 is stopped"
    );
    insert(&first, &db, 3, "while 2 was down").await;
    cluster.start_member(2);
    let third = cluster.sync_read_pool(2).await;
    let expected = ["before", "while 1 was down", "while 2 was down"];
    assert_eq!(
        items(&third, &db).await,
        expected,
        "the rows the rejoined member 2 sees"
    );
}

/// eidb's run lock cannot be `GET_LOCK` on Galera: the lock lives in one member's memory and does
/// not replicate, so two runs connected to different members would both get it.
#[tokio::test]
async fn get_lock_holds_on_one_member_only() {
    let cluster = GaleraCluster::start(3);
    let lock = unique_name("run_lock");
    let mut holder = connect(&cluster, 0).await;
    let mut rival_on_same_member = connect(&cluster, 0).await;
    let mut rival_on_other_member = connect(&cluster, 1).await;

    assert_eq!(
        get_lock(&mut holder, &lock).await,
        Some(1),
        "the first GET_LOCK, on member 0"
    );
    assert_eq!(
        get_lock(&mut rival_on_same_member, &lock).await,
        Some(0),
        "a second session on member 0 must not get the lock its first session holds"
    );
    assert_eq!(
        get_lock(&mut rival_on_other_member, &lock).await,
        Some(1),
        "a session on member 1 gets the lock that a session on member 0 holds: GET_LOCK does not replicate"
    );

    assert_eq!(
        used_by(&mut holder, &lock).await,
        Some(connection_id(&mut holder).await),
        "holder seen on member 0"
    );
    let other_id = connection_id(&mut rival_on_other_member).await;
    assert_eq!(
        used_by(&mut rival_on_other_member, &lock).await,
        Some(other_id),
        "holder seen on member 1"
    );
    let mut bystander = connect(&cluster, 2).await;
    assert_eq!(
        used_by(&mut bystander, &lock).await,
        None,
        "member 2 knows of neither holder"
    );
}

async fn execute(pool: &MySqlPool, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}

async fn insert(pool: &MySqlPool, db: &str, id: i32, name: &str) {
    let sql = format!("INSERT INTO {db}.item VALUES (?, ?)");
    sqlx::query(&sql)
        .bind(id)
        .bind(name)
        .execute(pool)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}

/// The names of the rows in `db.item`, in the order of their ids.
async fn items(pool: &MySqlPool, db: &str) -> Vec<String> {
    let sql = format!("SELECT name FROM {db}.item ORDER BY id");
    sqlx::query_scalar(&sql)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

async fn connect(cluster: &GaleraCluster, member: usize) -> MySqlConnection {
    MySqlConnection::connect_with(&cluster.member(member).connect_options())
        .await
        .unwrap_or_else(|error| panic!("cannot log in to Galera member {member}: {error}"))
}

/// `GET_LOCK` with no waiting: 1 when this session got the lock, 0 when another session holds it.
async fn get_lock(connection: &mut MySqlConnection, name: &str) -> Option<i64> {
    sqlx::query_scalar("SELECT GET_LOCK(?, 0)")
        .bind(name)
        .fetch_one(connection)
        .await
        .expect("GET_LOCK")
}

/// The connection id of the session holding the lock on this member, if any.
async fn used_by(connection: &mut MySqlConnection, name: &str) -> Option<i64> {
    sqlx::query_scalar("SELECT IS_USED_LOCK(?)")
        .bind(name)
        .fetch_one(connection)
        .await
        .expect("IS_USED_LOCK")
}

async fn connection_id(connection: &mut MySqlConnection) -> i64 {
    sqlx::query_scalar("SELECT CAST(CONNECTION_ID() AS SIGNED)")
        .fetch_one(connection)
        .await
        .expect("CONNECTION_ID()")
}
