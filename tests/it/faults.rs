//! Fault tests: a `provision` run cut off at several points (its script connection killed, the server
//! restarted, eidb killed or interrupted, a second run at the same time, a server that starts late), then
//! run again. Each ends in the same state as one uninterrupted run: the same tables, indexes and
//! constraints in every database (nothing lost, nothing duplicated), the same grants, the same node file
//! bytes, and a clean `eidb verify`.
//!
//! The runs use the real WSO2 dbscript (76 statements per database) and `--parallel 1`, so a run lasts
//! long enough to be cut off while a script runs. Tests that stop the server take a dedicated one.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::cluster::{Cluster, Conf, ACCOUNT_PASSWORD};
use common::{admin_pool, eidb_bin, server, unique_name, TestServer};
use sqlx::{MySqlPool, Row};

/// Two nodes: four databases (user store, shared registry, two local registries).
const NODES: usize = 2;

/// How long any single eidb run may take before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------------------
// Clusters and runs
// ---------------------------------------------------------------------------------------------------

/// A cluster on the real WSO2 files and dbscripts, on the shared server or on `on`.
fn fault_cluster(on: Option<&TestServer>) -> Cluster {
    let cluster = match on {
        Some(server) => Cluster::new_on(server, NODES, Conf::RealWso2),
        None => Cluster::new(NODES, Conf::RealWso2),
    };
    // A Connector/J jar on each node: without one, verify rightly reports drift.
    let cluster = cluster
        .with_real_dbscripts()
        .with_driver_jar("mysql-connector-java-5.1.49.jar");
    // The real files are read-only in ../shared and copies keep that; an EI distribution ships them writable.
    cluster.set_conf_mode(0o644);
    cluster
}

/// What a finished eidb process said and how it ended.
struct Finished {
    /// None when a signal ended it.
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Finished {
    fn describe(&self) -> String {
        format!(
            "exit {:?} after {:.1} s\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code,
            self.elapsed.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }

    fn assert_success(&self, what: &str) {
        assert_eq!(self.code, Some(0), "{what}: {}", self.describe());
        assert_no_password(self, what);
    }
}

fn assert_no_password(finished: &Finished, what: &str) {
    for text in [&finished.stdout, &finished.stderr] {
        assert!(
            !text.contains(ACCOUNT_PASSWORD),
            "{what}: the account password was printed:\n{text}"
        );
    }
}

/// An eidb process running in the background, its output going to files (no pipe can fill up).
struct Background {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    started: Instant,
}

impl Background {
    fn start(cluster: &Cluster, args: &[&str]) -> Background {
        static RUNS: AtomicU32 = AtomicU32::new(0);
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let stdout = cluster.dir.path().join(format!("run-{n}.out"));
        let stderr = cluster.dir.path().join(format!("run-{n}.err"));
        let mut command = Command::new(eidb_bin());
        command
            .args(args)
            .arg("--config")
            .arg(&cluster.spec_path)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap());
        cluster.environment(&mut command);
        let child = command.spawn().expect("start eidb");
        Background {
            child,
            stdout,
            stderr,
            started: Instant::now(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn output_so_far(&self) -> String {
        format!(
            "--- stdout:\n{}\n--- stderr:\n{}",
            std::fs::read_to_string(&self.stdout).unwrap_or_default(),
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        )
    }

    /// Send a signal by name (`INT`, `TERM`).
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }

    /// Wait (polling, so the test's runtime keeps running) until the process ends.
    async fn finish(mut self, limit: Duration) -> Finished {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for eidb") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "eidb did not end within {} s:\n{}",
                    limit.as_secs(),
                    self.output_so_far()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        Finished {
            code: status.code(),
            stdout: std::fs::read_to_string(&self.stdout).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.stderr).unwrap_or_default(),
            elapsed: self.started.elapsed(),
        }
    }
}

/// Run eidb to the end (in the background, so the test's runtime is not blocked).
async fn run(cluster: &Cluster, args: &[&str]) -> Finished {
    Background::start(cluster, args).finish(RUN_LIMIT).await
}

/// A connection of eidb's script loading: its id and database.
struct ScriptConnection {
    id: i64,
    database: String,
}

/// Wait until eidb runs a script: a connection of the admin account sits in one of the cluster's
/// databases, and that database already holds some tables (so the cut falls inside a script).
/// `skip` names databases not to report (already cut once).
/// A provision (one database at a time) on `dedicated`, once a script is running in one of the databases.
async fn provision_until_a_script_runs(
    cluster: &Cluster,
    dedicated: &TestServer,
    pool: &MySqlPool,
) -> (Background, ScriptConnection) {
    let mut run = Background::start(cluster, &["provision", "--parallel", "1"]);
    let victim = wait_for_script(
        pool,
        cluster,
        &dedicated.admin_user,
        &mut run,
        &BTreeSet::new(),
    )
    .await
    .unwrap_or_else(|| {
        panic!(
            "the run ended before a script ran:\n{}",
            run.output_so_far()
        )
    });
    (run, victim)
}

async fn wait_for_script(
    pool: &MySqlPool,
    cluster: &Cluster,
    admin_user: &str,
    run: &mut Background,
    skip: &BTreeSet<String>,
) -> Option<ScriptConnection> {
    let databases: Vec<String> = cluster
        .databases()
        .into_iter()
        .filter(|db| !skip.contains(db))
        .collect();
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        if !run.running() {
            return None;
        }
        assert!(
            Instant::now() < deadline,
            "no script connection seen:\n{}",
            run.output_so_far()
        );
        let rows = sqlx::query(
            "SELECT CAST(ID AS SIGNED), CONVERT(DB USING utf8mb4) FROM information_schema.PROCESSLIST \
             WHERE USER = ? AND DB IS NOT NULL",
        )
        .bind(admin_user)
        .fetch_all(pool)
        .await
        .unwrap();
        for row in rows {
            let id: i64 = row.get(0);
            let database: String = row.get(1);
            if databases.contains(&database) && table_count(pool, &database).await >= 2 {
                return Some(ScriptConnection { id, database });
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn table_count(pool: &MySqlPool, database: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?")
        .bind(database)
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0)
}

// ---------------------------------------------------------------------------------------------------
// The state a run leaves, with the cluster's own names replaced by their roles
// ---------------------------------------------------------------------------------------------------

/// Everything a provision run decides, in a form two clusters can be compared by: each database by its
/// role (`{UM}`, `{REG}`, `{LOC}1`, ...), the account as `{ACCOUNT}`, the server as `{SERVER}`. Lists keep
/// duplicates (sorted), so a doubled object would show.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    tables: Vec<String>,
    indexes: Vec<String>,
    constraints: Vec<String>,
    foreign_keys: Vec<String>,
    account_rows: Vec<String>,
    grants: Vec<String>,
    /// Every file under every node's EI_HOME (backups included, leftover temp files would show):
    /// path relative to the cluster folder -> bytes.
    files: BTreeMap<String, Vec<u8>>,
}

struct Names {
    pairs: Vec<(String, String)>,
}

impl Names {
    fn of(cluster: &Cluster, host: &str, port: u16) -> Names {
        let mut pairs = Vec::new();
        // Escaped forms first (`\_` in grants), then the plain ones.
        for (name, role) in [
            (cluster.user_store.clone(), "{UM}"),
            (cluster.shared_registry.clone(), "{REG}"),
            (cluster.local_prefix.clone(), "{LOC}"),
            (cluster.account.clone(), "{ACCOUNT}"),
        ] {
            pairs.push((name.replace('_', "\\_"), role.to_string()));
            pairs.push((name, role.to_string()));
        }
        pairs.push((format!("{host}:{port}"), "{SERVER}".to_string()));
        Names { pairs }
    }

    fn text(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (name, role) in &self.pairs {
            text = text.replace(name.as_str(), role);
        }
        text
    }

    fn bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut bytes = bytes.to_vec();
        for (name, role) in &self.pairs {
            bytes = replace_bytes(&bytes, name.as_bytes(), role.as_bytes());
        }
        bytes
    }
}

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

async fn strings(pool: &MySqlPool, sql: &str, database: &str) -> Vec<String> {
    sqlx::query(sql)
        .bind(database)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| row.get::<String, _>(0))
        .collect()
}

async fn state_of(pool: &MySqlPool, cluster: &Cluster, host: &str, port: u16) -> State {
    let names = Names::of(cluster, host, port);
    let mut state = State {
        tables: Vec::new(),
        indexes: Vec::new(),
        constraints: Vec::new(),
        foreign_keys: Vec::new(),
        account_rows: Vec::new(),
        grants: Vec::new(),
        files: BTreeMap::new(),
    };
    for db in cluster.databases() {
        let tables = strings(
            pool,
            "SELECT CONVERT(CONCAT_WS(' ', TABLE_NAME, TABLE_TYPE, IFNULL(ENGINE, '-'), IFNULL(TABLE_COLLATION, '-')) USING utf8mb4) \
             FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            &db,
        )
        .await;
        for table in tables {
            // Rows too: nothing the script inserts may be doubled.
            let name = table.split(' ').next().unwrap().to_string();
            let rows: i64 = sqlx::raw_sql(&format!("SELECT COUNT(*) FROM `{db}`.`{name}`"))
                .fetch_one(pool)
                .await
                .unwrap()
                .get(0);
            state
                .tables
                .push(names.text(&format!("{db}.{table} rows={rows}")));
        }
        for index in strings(
            pool,
            "SELECT CONVERT(CONCAT_WS(' ', TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, IFNULL(SUB_PART, '-')) USING utf8mb4) \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?",
            &db,
        )
        .await
        {
            state.indexes.push(names.text(&format!("{db}.{index}")));
        }
        for constraint in strings(
            pool,
            "SELECT CONVERT(CONCAT_WS(' ', TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE) USING utf8mb4) \
             FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?",
            &db,
        )
        .await
        {
            state.constraints.push(names.text(&format!("{db}.{constraint}")));
        }
        for key in strings(
            pool,
            "SELECT CONVERT(CONCAT_WS(' ', TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, '->', REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME) USING utf8mb4) \
             FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME IS NOT NULL",
            &db,
        )
        .await
        {
            state.foreign_keys.push(names.text(&format!("{db}.{key}")));
        }
    }
    state.account_rows = strings(
        pool,
        "SELECT CONVERT(CONCAT(User, '@', Host) USING utf8mb4) FROM mysql.user WHERE User = ?",
        &cluster.account,
    )
    .await
    .iter()
    .map(|row| names.text(row))
    .collect();
    if !state.account_rows.is_empty() {
        state.grants = common::check::grants_of(pool, &cluster.account, "%")
            .await
            .iter()
            .map(|grant| names.text(grant))
            .collect();
    }
    for (path, file) in node_files(cluster) {
        let relative = path
            .strip_prefix(cluster.dir.path())
            .unwrap()
            .display()
            .to_string();
        state.files.insert(relative, names.bytes(&file.bytes));
    }
    for list in [
        &mut state.tables,
        &mut state.indexes,
        &mut state.constraints,
        &mut state.foreign_keys,
        &mut state.account_rows,
        &mut state.grants,
    ] {
        list.sort();
    }
    state
}

/// Every file under every node's EI_HOME.
fn node_files(cluster: &Cluster) -> BTreeMap<PathBuf, common::check::FileState> {
    let mut files = BTreeMap::new();
    for home in &cluster.nodes {
        files.extend(common::check::snapshot_files(home));
    }
    files
}

/// Assert that `actual` is `expected`, saying per part what is missing and what is extra.
fn assert_same_state(actual: &State, expected: &State, what: &str) {
    let mut problems = Vec::new();
    let lists: [(&str, &Vec<String>, &Vec<String>); 6] = [
        ("tables", &actual.tables, &expected.tables),
        ("indexes", &actual.indexes, &expected.indexes),
        ("constraints", &actual.constraints, &expected.constraints),
        ("foreign keys", &actual.foreign_keys, &expected.foreign_keys),
        ("account rows", &actual.account_rows, &expected.account_rows),
        ("grants", &actual.grants, &expected.grants),
    ];
    for (part, have, want) in lists {
        if have != want {
            let missing = multiset_difference(want, have);
            let extra = multiset_difference(have, want);
            problems.push(format!(
                "{part}: {} instead of {}; missing {missing:#?}; extra (or duplicated) {extra:#?}",
                have.len(),
                want.len()
            ));
        }
    }
    for (path, want) in &expected.files {
        match actual.files.get(path) {
            None => problems.push(format!("file missing: {path}")),
            Some(have) if have != want => problems.push(format!(
                "file differs: {path}: {}",
                first_difference(have, want)
            )),
            Some(_) => {}
        }
    }
    for path in actual.files.keys() {
        if !expected.files.contains_key(path) {
            problems.push(format!("extra file: {path}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{what}: the final state differs from an uninterrupted run's:\n{}",
        problems.join("\n")
    );
}

fn multiset_difference(a: &[String], b: &[String]) -> Vec<String> {
    let mut counts: BTreeMap<&String, i64> = BTreeMap::new();
    for x in b {
        *counts.entry(x).or_default() += 1;
    }
    let mut out = Vec::new();
    for x in a {
        let count = counts.entry(x).or_default();
        if *count > 0 {
            *count -= 1;
        } else {
            out.push(x.clone());
        }
    }
    out
}

fn first_difference(have: &[u8], want: &[u8]) -> String {
    let have = String::from_utf8_lossy(have);
    let want = String::from_utf8_lossy(want);
    for (i, (h, w)) in have.lines().zip(want.lines()).enumerate() {
        if h != w {
            return format!("line {}: {h:?} instead of {w:?}", i + 1);
        }
    }
    format!(
        "{} lines instead of {}",
        have.lines().count(),
        want.lines().count()
    )
}

/// The state one uninterrupted run leaves, on the shared server (computed once per test process).
async fn reference() -> &'static State {
    static REFERENCE: tokio::sync::OnceCell<State> = tokio::sync::OnceCell::const_new();
    REFERENCE
        .get_or_init(|| async {
            let pool = admin_pool().await;
            let cluster = fault_cluster(None);
            reference_on(&pool, &cluster, &server().host, server().port).await
        })
        .await
}

async fn reference_on(pool: &MySqlPool, cluster: &Cluster, host: &str, port: u16) -> State {
    run(cluster, &["provision", "--parallel", "1"])
        .await
        .assert_success("the uninterrupted reference run");
    state_of(pool, cluster, host, port).await
}

/// The reference for a test on `dedicated`: the shared one when both servers are the same kind, else
/// one made on `dedicated` itself (e.g. when EIDB_TEST_MYSQL_URL points the shared one elsewhere).
async fn reference_for(dedicated: &TestServer, pool: &MySqlPool) -> State {
    let shared = tokio::task::spawn_blocking(|| server().flavour().clone())
        .await
        .unwrap();
    if &shared == dedicated.flavour() {
        reference().await.clone()
    } else {
        let cluster = fault_cluster(Some(dedicated));
        reference_on(pool, &cluster, &dedicated.host, dedicated.port).await
    }
}

/// The end of every fault test: the state equals the reference, and verify finds nothing.
async fn assert_converged(
    pool: &MySqlPool,
    cluster: &Cluster,
    host: &str,
    port: u16,
    reference: &State,
    what: &str,
) {
    let state = state_of(pool, cluster, host, port).await;
    assert_same_state(&state, reference, what);
    let verify = run(cluster, &["verify", "--output", "json"]).await;
    assert_eq!(
        verify.code,
        Some(0),
        "{what}: verify after the re-run: {}",
        verify.describe()
    );
}

/// The ledger's rows for the cluster's databases: (database, outcome, statements done, total).
async fn ledger_scripts(
    pool: &MySqlPool,
    metadata: &str,
    cluster: &Cluster,
) -> Vec<(String, String, i64, i64)> {
    let mut rows = Vec::new();
    for db in cluster.databases() {
        let row = sqlx::query(&format!(
            "SELECT CONVERT(outcome USING utf8mb4), CAST(statements_done AS SIGNED), CAST(statements_total AS SIGNED) \
             FROM `{metadata}`.eidb_script WHERE target_db = ?"
        ))
        .bind(&db)
        .fetch_optional(pool)
        .await
        .unwrap();
        match row {
            Some(row) => rows.push((db, row.get(0), row.get(1), row.get(2))),
            None => rows.push((db, "(no row)".to_string(), 0, 0)),
        }
    }
    rows
}

fn assert_all_completed(scripts: &[(String, String, i64, i64)], what: &str) {
    for (db, outcome, done, total) in scripts {
        assert!(
            outcome == "completed" && done == total && *total > 0,
            "{what}: the ledger says {db}: {outcome}, {done} of {total} statements; \
             expected completed, all done. All: {scripts:#?}"
        );
    }
}

/// The run really was cut: some database's script is not recorded as completed.
fn assert_cut_short(scripts: &[(String, String, i64, i64)], what: &str) {
    assert!(
        scripts
            .iter()
            .any(|(_, outcome, _, _)| outcome != "completed"),
        "{what}: the cut run had not finished every script yet: {scripts:#?}"
    );
}

/// The `eidb_run` rows of one process (the owner names its pid): (outcome, error).
async fn runs_of_pid(pool: &MySqlPool, metadata: &str, pid: u32) -> Vec<(String, Option<String>)> {
    sqlx::query(&format!(
        "SELECT CONVERT(outcome USING utf8mb4), CONVERT(error USING utf8mb4) FROM `{metadata}`.eidb_run \
         WHERE owner LIKE ? ORDER BY id"
    ))
    .bind(common::check::owner_of_pid_pattern(pid))
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|row| (row.get(0), row.get(1)))
    .collect()
}

async fn lock_owner(pool: &MySqlPool, metadata: &str, cluster: &Cluster) -> Option<String> {
    sqlx::query(&format!(
        "SELECT CONVERT(owner USING utf8mb4) FROM `{metadata}`.eidb_lock WHERE name = ?"
    ))
    .bind(format!("cluster:{}", cluster.shared_registry))
    .fetch_optional(pool)
    .await
    .unwrap()
    .map(|row| row.get(0))
}

fn dedicated() -> TestServer {
    TestServer::dedicated()
}

// ---------------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------------

/// 1. The provisioning connection is killed from a second connection while a script runs (twice, in
///    two databases).
#[tokio::test]
async fn killed_script_connection_then_rerun_converges() {
    let reference = reference().await;
    let pool = admin_pool().await;
    let admin = server().admin_user.clone();
    let cluster = fault_cluster(None);

    let mut first = Background::start(&cluster, &["provision", "--parallel", "1"]);
    let mut cut = BTreeSet::new();
    for _ in 0..2 {
        let Some(victim) = wait_for_script(&pool, &cluster, &admin, &mut first, &cut).await else {
            break;
        };
        // The connection may have ended on its own in the meantime (script done): that is fine.
        let _ = sqlx::raw_sql(&format!("KILL {}", victim.id))
            .execute(&pool)
            .await;
        cut.insert(victim.database);
    }
    assert!(!cut.is_empty(), "no script connection was cut");
    let first = first.finish(RUN_LIMIT).await;
    assert_no_password(&first, "the cut run");
    eprintln!(
        "killed the script connection in {cut:?}; the run: {}",
        first.describe()
    );

    let again = run(&cluster, &["provision"]).await;
    again.assert_success("the re-run after a killed connection");
    assert_converged(
        &pool,
        &cluster,
        &server().host,
        server().port,
        reference,
        "killed connection",
    )
    .await;
    assert_all_completed(
        &ledger_scripts(&pool, "EIDB_META", &cluster).await,
        "killed connection",
    );
}

/// 2. The (dedicated) server is stopped and started again while scripts run.
#[tokio::test]
async fn server_restart_mid_run_then_rerun_converges() {
    let dedicated = tokio::task::spawn_blocking(dedicated).await.unwrap();
    let pool = dedicated.admin_pool().await;
    let reference = reference_for(&dedicated, &pool).await;
    let cluster = fault_cluster(Some(&dedicated));

    let (first, victim) = provision_until_a_script_runs(&cluster, &dedicated, &pool).await;
    pool.close().await;
    dedicated.restart();
    let first = first.finish(RUN_LIMIT).await;
    assert_no_password(&first, "the run cut by a restart");
    eprintln!(
        "restarted the server while {} loaded; the run: {}",
        victim.database,
        first.describe()
    );

    let again = run(&cluster, &["provision"]).await;
    again.assert_success("the re-run after a server restart");
    let pool = dedicated.admin_pool().await;
    assert_converged(
        &pool,
        &cluster,
        &dedicated.host,
        dedicated.port,
        &reference,
        "server restart",
    )
    .await;
    assert_all_completed(
        &ledger_scripts(&pool, "EIDB_META", &cluster).await,
        "server restart",
    );
}

/// 2b. The (dedicated) server goes away for good while scripts run: the run ends, failed, once one
///    reconnect has waited its whole time (60 s; 8 s here through the test hook), not after every
///    database and every ledger write has waited its own time again, one after another (233 s with
///    four databases before it was fixed; with the hook's 8 s that would be well over 40 s).
#[tokio::test]
async fn a_server_gone_for_good_mid_run_ends_the_run_after_one_wait() {
    let dedicated = tokio::task::spawn_blocking(dedicated).await.unwrap();
    let pool = dedicated.admin_pool().await;
    let cluster =
        fault_cluster(Some(&dedicated)).with_test_timeouts("reconnect=8,ledger_reconnect=8");

    let (first, victim) = provision_until_a_script_runs(&cluster, &dedicated, &pool).await;
    pool.close().await;
    let stopped = Instant::now();
    dedicated.stop();
    let first = first.finish(Duration::from_secs(400)).await;
    let after_stop = stopped.elapsed();
    eprintln!(
        "stopped the server while {} loaded; the run ended {:.0} s later: {}",
        victim.database,
        after_stop.as_secs_f64(),
        first.describe()
    );
    assert_eq!(first.code, Some(1), "{}", first.describe());
    assert!(
        after_stop < Duration::from_secs(30),
        "one wait of 8 s, not one per database and ledger write: {}",
        first.describe()
    );
    assert!(
        first.stderr.contains("could not reconnect within 8 s"),
        "{}",
        first.describe()
    );
    assert_no_password(&first, "the run whose server went away");
}

/// 3. eidb itself is killed (SIGKILL) mid-run: its lock row stays behind; the re-run waits for it to
///    expire, takes it over and says so, and finishes every database.
#[tokio::test]
async fn killed_eidb_then_rerun_takes_over_the_lock_and_converges() {
    let reference = reference().await;
    let pool = admin_pool().await;
    let admin = server().admin_user.clone();
    // The lock's expiry shortened (30 s in production): the test is about taking it over, not the wait.
    let cluster = fault_cluster(None).with_test_timeouts("lock_ttl=8");

    let mut first = Background::start(&cluster, &["provision", "--parallel", "1"]);
    let pid = first.pid();
    wait_for_script(&pool, &cluster, &admin, &mut first, &BTreeSet::new())
        .await
        .unwrap_or_else(|| {
            panic!(
                "the run ended before a script ran:\n{}",
                first.output_so_far()
            )
        });
    first.child.kill().unwrap();
    let first = first.finish(RUN_LIMIT).await;
    assert_eq!(first.code, None, "SIGKILL ends it: {}", first.describe());
    let owner = lock_owner(&pool, "EIDB_META", &cluster).await;
    assert!(
        owner
            .as_deref()
            .is_some_and(|o| o.contains(&format!(" pid {pid} "))),
        "the killed run (pid {pid}) leaves its lock row behind; found {owner:?}"
    );
    assert_cut_short(
        &ledger_scripts(&pool, "EIDB_META", &cluster).await,
        "killed eidb",
    );

    let again = run(&cluster, &["provision"]).await;
    again.assert_success("the re-run after eidb was killed");
    assert!(
        again.stderr.contains("took over the run lock"),
        "the re-run says it took over the dead run's lock: {}",
        again.describe()
    );
    assert!(
        again.elapsed < Duration::from_secs(30),
        "the re-run took over within about the lock's 8 s expiry: {}",
        again.describe()
    );
    assert_eq!(
        lock_owner(&pool, "EIDB_META", &cluster).await,
        None,
        "the re-run released the lock it took over"
    );
    assert_converged(
        &pool,
        &cluster,
        &server().host,
        server().port,
        reference,
        "killed eidb",
    )
    .await;
    assert_all_completed(
        &ledger_scripts(&pool, "EIDB_META", &cluster).await,
        "killed eidb",
    );
}

/// 4. Ctrl-C (SIGINT) mid-run: eidb stops between statements, exits non-zero saying so, records
///    `interrupted`, leaves every node file old or new; the re-run converges.
#[tokio::test]
async fn ctrl_c_stops_between_steps_and_rerun_converges() {
    let reference = reference().await;
    let pool = admin_pool().await;
    let admin = server().admin_user.clone();
    let cluster = fault_cluster(None);
    let original = node_files(&cluster);

    let mut first = Background::start(&cluster, &["provision", "--parallel", "1"]);
    let pid = first.pid();
    wait_for_script(&pool, &cluster, &admin, &mut first, &BTreeSet::new())
        .await
        .unwrap_or_else(|| {
            panic!(
                "the run ended before a script ran:\n{}",
                first.output_so_far()
            )
        });
    first.signal("INT");
    let first = first.finish(Duration::from_secs(30)).await;
    assert_no_password(&first, "the interrupted run");
    assert_eq!(
        first.code,
        Some(1),
        "an interrupted run exits 1 (by itself, not killed by the signal): {}",
        first.describe()
    );
    assert!(
        first.stderr.contains("interrupted"),
        "the interrupted run says so: {}",
        first.describe()
    );
    let runs = runs_of_pid(&pool, "EIDB_META", pid).await;
    assert_eq!(
        runs.iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>(),
        vec!["interrupted"],
        "the ledger records the run as interrupted: {runs:?}"
    );
    assert_cut_short(
        &ledger_scripts(&pool, "EIDB_META", &cluster).await,
        "Ctrl-C",
    );
    let after_interrupt = node_files(&cluster);

    let again = run(&cluster, &["provision"]).await;
    again.assert_success("the re-run after Ctrl-C");
    let last = node_files(&cluster);
    for (path, state) in &after_interrupt {
        let old = original.get(path).map(|s| &s.bytes);
        let new = last.get(path).map(|s| &s.bytes);
        assert!(
            Some(&state.bytes) == old || Some(&state.bytes) == new,
            "{} after Ctrl-C is neither the original nor the final file (half written?)",
            path.display()
        );
    }
    for path in original.keys() {
        assert!(
            after_interrupt.contains_key(path),
            "{} is gone after Ctrl-C",
            path.display()
        );
    }
    assert_converged(
        &pool,
        &cluster,
        &server().host,
        server().port,
        reference,
        "Ctrl-C",
    )
    .await;
    assert_all_completed(
        &ledger_scripts(&pool, "EIDB_META", &cluster).await,
        "Ctrl-C",
    );
}

/// 5. Two runs started at once against the same server and cluster (with a metadata database of their
///    own, so they also race to create the ledger): the same final state as one run; one waited for the
///    other or found nothing left to do.
#[tokio::test]
async fn two_concurrent_runs_end_as_one() {
    let reference = reference().await;
    let pool = admin_pool().await;
    let metadata = unique_name("META");
    let cluster = fault_cluster(None).with_databases(&format!("metadata = \"{metadata}\""));

    let a = Background::start(&cluster, &["provision", "--parallel", "1"]);
    let b = Background::start(&cluster, &["provision", "--parallel", "1"]);
    let (a, b) = (a.finish(RUN_LIMIT).await, b.finish(RUN_LIMIT).await);
    assert_no_password(&a, "the first of two concurrent runs");
    assert_no_password(&b, "the second of two concurrent runs");
    // The state first: whatever the exit codes, nothing may be lost or doubled.
    assert_converged(
        &pool,
        &cluster,
        &server().host,
        server().port,
        reference,
        "two concurrent runs",
    )
    .await;
    assert_all_completed(
        &ledger_scripts(&pool, &metadata, &cluster).await,
        "two concurrent runs",
    );
    let migrations: i64 = sqlx::raw_sql(&format!(
        "SELECT COUNT(*) FROM `{metadata}`._sqlx_migrations"
    ))
    .fetch_one(&pool)
    .await
    .unwrap()
    .get(0);
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count() as i64;
    assert_eq!(
        migrations, shipped,
        "each of the ledger's migrations is recorded once"
    );

    let waited_or_idle = |f: &Finished| {
        f.stderr.contains("waiting for the run lock") || f.stdout.contains("nothing to change")
    };
    assert!(
        waited_or_idle(&a) || waited_or_idle(&b),
        "one run waited for the other or found nothing to do:\nfirst: {}\nsecond: {}",
        a.describe(),
        b.describe()
    );
    // A run that waited for the lock and then found nothing left to do has succeeded, not failed.
    for (name, finished) in [("first", &a), ("second", &b)] {
        finished.assert_success(&format!("the {name} of two concurrent runs"));
    }
}

/// 6. The server is down when eidb starts and comes up 3 s later: `--wait 30` rides it out.
#[tokio::test]
async fn server_that_starts_late_is_waited_for() {
    let dedicated = tokio::task::spawn_blocking(dedicated).await.unwrap();
    let pool = dedicated.admin_pool().await;
    let reference = reference_for(&dedicated, &pool).await;
    pool.close().await;
    let cluster = fault_cluster(Some(&dedicated));

    dedicated.stop();
    let mut late = Background::start(&cluster, &["provision", "--wait", "30"]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        late.running(),
        "eidb --wait 30 gave up while the server was down:\n{}",
        late.output_so_far()
    );
    dedicated.start();
    let late = late.finish(RUN_LIMIT).await;
    late.assert_success("provision --wait 30 on a server that starts late");

    let pool = dedicated.admin_pool().await;
    assert_converged(
        &pool,
        &cluster,
        &dedicated.host,
        dedicated.port,
        &reference,
        "late server",
    )
    .await;
}

/// 3b. eidb killed (SIGKILL) after a script's data statement ran but before the script ended. The
///     re-run resumes "where the ledger says it stopped"; the data statement must not run twice.
///     Many Carbon scripts insert default rows (e.g. `INSERT INTO UM_DOMAIN ...`); the real EI 6.x
///     kernel script happens to have none, so this uses a small script of that shape.
#[tokio::test]
async fn killed_eidb_after_a_data_statement_does_not_repeat_it() {
    let pool = admin_pool().await;
    let cluster = Cluster::new(1, Conf::Fixture)
        .with_driver_jar("mysql-connector-java-5.1.49.jar")
        .with_test_timeouts("lock_ttl=8");
    let script = cluster.dir.path().join("with-data.sql");
    std::fs::write(
        &script,
        "CREATE TABLE FX_DOMAIN (ID INTEGER NOT NULL AUTO_INCREMENT, NAME VARCHAR(32) NOT NULL, PRIMARY KEY (ID)) ENGINE INNODB;\n\
         INSERT INTO FX_DOMAIN (NAME) VALUES ('PRIMARY');\n\
         DO SLEEP(1.5);\n\
         CREATE TABLE FX_LAST (ID INTEGER NOT NULL, PRIMARY KEY (ID)) ENGINE INNODB;\n",
    )
    .unwrap();
    let cluster = cluster.with_script(&script);

    let mut first = Background::start(&cluster, &["provision", "--parallel", "1"]);
    // Wait until some database holds the inserted row but not yet the last table: the script is cut
    // after its data statement.
    let deadline = Instant::now() + RUN_LIMIT;
    let cut_in = 'wait: loop {
        assert!(
            first.running(),
            "the run ended before it could be cut:\n{}",
            first.output_so_far()
        );
        assert!(
            Instant::now() < deadline,
            "never saw the row inserted:\n{}",
            first.output_so_far()
        );
        for db in cluster.databases() {
            let tables = common::check::tables_of(&pool, &db).await;
            if tables.contains("FX_DOMAIN")
                && !tables.contains("FX_LAST")
                && domain_rows(&pool, &db).await == 1
            {
                break 'wait db;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    first.child.kill().unwrap();
    let first = first.finish(RUN_LIMIT).await;
    assert_eq!(first.code, None, "SIGKILL ends it: {}", first.describe());

    // The re-run waits for the dead run's lock to expire (30 s; 8 s here), then resumes.
    let again = run(&cluster, &["provision"]).await;
    again.assert_success("the re-run after eidb was killed after a data statement");
    let mut rows = Vec::new();
    for db in cluster.databases() {
        rows.push((db.clone(), domain_rows(&pool, &db).await));
    }
    assert!(
        rows.iter().all(|(_, n)| *n == 1),
        "each database holds the script's one row, as after an uninterrupted run; the run was cut in \
         {cut_in} after its INSERT: {rows:?}\nre-run: {}",
        again.describe()
    );
    assert_all_completed(
        &ledger_scripts(&pool, "EIDB_META", &cluster).await,
        "killed after a data statement",
    );
    let verify = run(&cluster, &["verify", "--output", "json"]).await;
    assert_eq!(
        verify.code,
        Some(0),
        "verify after the re-run: {}",
        verify.describe()
    );
}

async fn domain_rows(pool: &MySqlPool, database: &str) -> i64 {
    match sqlx::raw_sql(&format!("SELECT COUNT(*) FROM `{database}`.FX_DOMAIN"))
        .fetch_one(pool)
        .await
    {
        Ok(row) => row.get(0),
        Err(_) => 0,
    }
}

// ---------------------------------------------------------------------------------------------------
// Faults, round two (issue 13): the server side
// ---------------------------------------------------------------------------------------------------

/// A one-node cluster on the project's fixture files whose script is `sql` (written next to the spec).
fn scripted_cluster(sql: &str) -> Cluster {
    let cluster = Cluster::new(1, Conf::Fixture).with_driver_jar("mysql-connector-java-5.1.49.jar");
    let script = cluster.dir.path().join("script.sql");
    std::fs::write(&script, sql).unwrap();
    cluster.with_script(&script)
}

/// A script that keeps its run busy (and so holding the lock) for about `seconds`.
fn slow_script(seconds: f64) -> String {
    format!(
        "CREATE TABLE FX_FIRST (ID INTEGER NOT NULL, PRIMARY KEY (ID)) ENGINE INNODB;\n\
         DO SLEEP({seconds});\n\
         CREATE TABLE FX_LAST (ID INTEGER NOT NULL, PRIMARY KEY (ID)) ENGINE INNODB;\n"
    )
}

/// Wait until the cluster's run lock is held and its holder has recorded its run (eidb takes the lock,
/// then inserts its `eidb_run` row: a test that kills the holder as soon as the lock row shows could
/// find no run of it to be marked abandoned); returns the lock's owner.
async fn wait_for_lock(pool: &MySqlPool, cluster: &Cluster, run: &mut Background) -> String {
    let owner = wait_for_lock_row(pool, cluster, run).await;
    let deadline = Instant::now() + RUN_LIMIT;
    while runs_of_pid(pool, "EIDB_META", run.pid()).await.is_empty() {
        assert!(
            run.running() && Instant::now() < deadline,
            "the lock holder never recorded its run:\n{}",
            run.output_so_far()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    owner
}

/// Wait until the cluster's run lock is held; returns its owner.
async fn wait_for_lock_row(pool: &MySqlPool, cluster: &Cluster, run: &mut Background) -> String {
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        let owner = match sqlx::query(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'EIDB_META' AND TABLE_NAME = 'eidb_lock'",
        )
        .fetch_one(pool)
        .await
        .unwrap()
        .get::<i64, _>(0)
        {
            0 => None,
            _ => lock_owner(pool, "EIDB_META", cluster).await,
        };
        if let Some(owner) = owner {
            return owner;
        }
        assert!(
            run.running() && Instant::now() < deadline,
            "the run never took the lock:\n{}",
            run.output_so_far()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The seconds eidb's progress line (`eidb   2.95s <text>`) containing `text` says it was printed at.
fn printed_at(stderr: &str, text: &str) -> Option<f64> {
    let line = stderr.lines().find(|l| l.contains(text))?;
    line.strip_prefix("eidb")?
        .trim_start()
        .split('s')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// 7. A run killed while it holds the lock: on a single server the next run sees that the holder's
///    connection is gone and takes the lock over at once, instead of waiting 30 s for it to expire.
#[tokio::test]
async fn stale_lock_of_a_killed_run_is_taken_over_at_once() {
    let pool = admin_pool().await;
    let cluster = scripted_cluster(&slow_script(1.0));

    let mut first = Background::start(&cluster, &["provision"]);
    let pid = first.pid();
    let owner = wait_for_lock(&pool, &cluster, &mut first).await;
    assert!(
        owner.contains(&format!(" pid {pid} connection ")) && owner.contains(" on "),
        "the lock names its holder's process, connection and server: {owner}"
    );
    first.child.kill().unwrap();
    let first = first.finish(RUN_LIMIT).await;
    assert_eq!(first.code, None, "SIGKILL ends it: {}", first.describe());

    let again = run(&cluster, &["provision"]).await;
    again.assert_success("the run after the lock holder was killed");
    let took_over = printed_at(&again.stderr, "took over the run lock").unwrap_or_else(|| {
        panic!(
            "the run says it took over the dead run's lock: {}",
            again.describe()
        )
    });
    eprintln!(
        "took over the stale lock after {took_over:.2} s (the whole run: {:.2} s)",
        again.elapsed.as_secs_f64()
    );
    assert!(
        again.stderr.contains("is gone from the server") || again.stderr.contains("has been gone"),
        "the run says why it could take the lock over: {}",
        again.describe()
    );
    assert!(
        took_over < 10.0,
        "the lock of a run whose connection is gone is taken over at once (a few seconds), not after the \
         30 s expiry: {took_over:.2} s\n{}",
        again.describe()
    );
    let runs = runs_of_pid(&pool, "EIDB_META", pid).await;
    assert_eq!(
        runs.iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>(),
        vec!["abandoned"],
        "the killed run is marked abandoned: {runs:?}"
    );
    assert_eq!(lock_owner(&pool, "EIDB_META", &cluster).await, None);
}

/// 7 and 5. A live holder keeps its lock (its connection is there): a second run waits, gives up after
///    `--lock-wait`, and still ends stdout with a closing line that says it failed.
#[tokio::test]
async fn live_lock_holder_is_waited_for_and_the_timeout_closes_stdout() {
    let pool = admin_pool().await;
    let cluster = scripted_cluster(&slow_script(8.0));

    let mut holder = Background::start(&cluster, &["provision"]);
    wait_for_lock(&pool, &cluster, &mut holder).await;
    let waiter = run(&cluster, &["provision", "--lock-wait", "4"]).await;
    assert_eq!(waiter.code, Some(1), "{}", waiter.describe());
    assert!(
        waiter.stderr.contains("another eidb run holds the lock")
            && !waiter.stderr.contains("took over"),
        "the waiter gives up without taking a live run's lock: {}",
        waiter.describe()
    );
    let closing = waiter.stdout.trim_end().lines().last().unwrap_or_default();
    assert!(
        closing.starts_with("failed after") && closing.contains("another eidb run holds the lock"),
        "stdout ends with a closing line saying the run failed and why: {closing:?}\n{}",
        waiter.describe()
    );
    assert!(
        !waiter.stdout.contains("Changes:"),
        "the failed run does not list its plan as changes: {}",
        waiter.describe()
    );
    let holder = holder.finish(RUN_LIMIT).await;
    holder.assert_success("the run that held the lock");
    assert!(
        !holder.stderr.contains("taken over"),
        "{}",
        holder.describe()
    );
}

/// 5. A run that waited for the lock while another run did everything reports what it did itself: no
///    change, not the other run's database changes and file writes.
#[tokio::test]
async fn a_run_that_waited_reports_only_its_own_changes() {
    let pool = admin_pool().await;
    let cluster = scripted_cluster(&slow_script(3.0));

    let mut first = Background::start(&cluster, &["provision"]);
    wait_for_lock(&pool, &cluster, &mut first).await;
    let second = run(&cluster, &["provision"]).await;
    let first = first.finish(RUN_LIMIT).await;
    first.assert_success("the run that held the lock");
    second.assert_success("the run that waited");
    assert!(
        second.stderr.contains("waiting for the run lock"),
        "the second run waited: {}",
        second.describe()
    );
    assert!(
        first.stdout.contains("provisioned:"),
        "the first run made the changes: {}",
        first.describe()
    );
    let closing = second.stdout.trim_end().lines().last().unwrap_or_default();
    assert!(
        closing.starts_with("nothing to change"),
        "the run that waited changed nothing and says so: {closing:?}\n{}",
        second.describe()
    );
}

/// 5. Log lines (here DEBUG, with -vv) carry no ANSI colour codes when stderr is not a terminal (here a
/// file), and a warning about an entry the cipher tool encrypted is in the report, not lost.
#[tokio::test]
async fn log_lines_have_no_colour_codes_when_stderr_is_a_file() {
    // A Secure Vault entry the cipher tool already encrypted: eidb leaves it and warns.
    let cluster =
        scripted_cluster(&slow_script(0.0)).with_extra("[secure_vault]\nenabled = true\n");
    let cipher = cluster.node_file(0, "conf/security/cipher-text.properties");
    std::fs::create_dir_all(cipher.parent().unwrap()).unwrap();
    std::fs::write(
        &cipher,
        "Datasources.WSO2_UM_DB.Configuration.Password=kXDT4gD0fN0cIYnT0MSmzL7sFsVfNWwqRBQ==\n",
    )
    .unwrap();
    let dry_run = run(&cluster, &["provision", "--dry-run", "-vv"]).await;
    assert!(
        dry_run
            .stdout
            .lines()
            .any(|l| l.contains("already encrypted")),
        "a warning about the encrypted entry: {}",
        dry_run.describe()
    );
    let warning = dry_run
        .stderr
        .lines()
        .find(|l| l.contains("DEBUG") && l.contains("plan:"))
        .unwrap_or_else(|| panic!("a DEBUG line about the plan: {}", dry_run.describe()));
    assert!(
        !dry_run.stderr.contains('\u{1b}'),
        "stderr redirected to a file holds escape codes: {warning:?}"
    );
}

/// Start eidb with SIGINT and SIGTERM blocked, as a parent can leave them: a signal sent at once then
/// waits, pending, until eidb unblocks it, which is exactly a signal arriving before eidb is ready.
fn start_with_signals_blocked(cluster: &Cluster, args: &[&str]) -> Background {
    use std::os::unix::process::CommandExt;
    let out = cluster.dir.path().join("early.out");
    let err = cluster.dir.path().join("early.err");
    let mut command = Command::new(eidb_bin());
    command
        .args(args)
        .arg("--config")
        .arg(&cluster.spec_path)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    cluster.environment(&mut command);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    Background {
        child: command.spawn().expect("start eidb"),
        stdout: out,
        stderr: err,
        started: Instant::now(),
    }
}

/// 5. SIGINT or SIGTERM in eidb's first milliseconds stops the run like any other interruption (exit 1,
///    nothing changed), instead of killing the process before its handler is installed.
#[tokio::test]
async fn a_signal_in_the_first_milliseconds_stops_the_run_cleanly() {
    let pool = admin_pool().await;
    // Deterministic: the signal is already there when eidb starts.
    for signal in ["INT", "TERM"] {
        let cluster = scripted_cluster(&slow_script(0.0));
        let early = start_with_signals_blocked(&cluster, &["provision"]);
        early.signal(signal);
        let early = early.finish(RUN_LIMIT).await;
        assert_eq!(
            early.code,
            Some(1),
            "SIG{signal} before eidb is ready: it exits 1 by itself (None: killed by the signal; 0: the \
             signal was lost): {}",
            early.describe()
        );
        assert!(early.stderr.contains("interrupted"), "{}", early.describe());
        for db in cluster.databases() {
            assert!(
                !common::check::database_exists(&pool, &db).await,
                "an interrupted run created {db}"
            );
        }
    }
}

/// A one-node cluster whose every connection goes through `proxy` (no TLS, so the proxy sees the
/// statements), running `sql`.
fn proxied_cluster(proxy: &common::proxy::Proxy, sql: &str) -> Cluster {
    let server = server();
    let cluster = Cluster::new_on_servers(
        &server.admin_user,
        &server.admin_password,
        &[("127.0.0.1".to_string(), proxy.port)],
        1,
        Conf::Fixture,
    )
    .with_server_keys("ssl_mode = \"disabled\"")
    .with_driver_jar("mysql-connector-java-5.1.49.jar");
    let script = cluster.dir.path().join("script.sql");
    std::fs::write(&script, sql).unwrap();
    cluster.with_script(&script)
}

fn proxy_to_test_server(
    trigger: &str,
    times: usize,
    mode: common::proxy::CutMode,
) -> common::proxy::Proxy {
    let server = server();
    common::proxy::Proxy::start((server.host.as_str(), server.port), trigger, times, mode)
}

const THREE_TABLES: &str =
    "CREATE TABLE FX_ONE (ID INTEGER NOT NULL, PRIMARY KEY (ID)) ENGINE INNODB;\n\
     CREATE TABLE FX_TWO (ID INTEGER NOT NULL, NAME VARCHAR(20), PRIMARY KEY (ID)) ENGINE INNODB;\n\
     CREATE TABLE FX_THREE (ID INTEGER NOT NULL, PRIMARY KEY (ID)) ENGINE INNODB;\n";

/// 1. The connection drops while `CREATE TABLE FX_TWO` is on its way, and the server runs that statement
///    only after eidb, reconnected, has looked for the table (deterministic, through a proxy). eidb must
///    not collide with its own statement (1050 Table already exists): the run succeeds.
#[tokio::test]
async fn a_dropped_statement_that_the_server_finishes_late_is_no_collision() {
    let pool = admin_pool().await;
    let proxy = proxy_to_test_server(
        "CREATE TABLE FX_TWO",
        1,
        common::proxy::CutMode::HoldUntil {
            release_on: "information_schema".into(),
        },
    );
    let cluster = proxied_cluster(&proxy, THREE_TABLES);
    let first = run(&cluster, &["provision", "--db-only"]).await;
    assert_eq!(
        proxy.cuts(),
        1,
        "the connection was cut: {}",
        first.describe()
    );
    first.assert_success("the run whose statement the server finished after the drop");
    assert!(
        first.stderr.contains("connection lost"),
        "the run says it lost the connection: {}",
        first.describe()
    );
    assert!(
        !first.stderr.contains('\u{1b}'),
        "no colour codes in the WARN line when stderr is a file: {}",
        first.describe()
    );
    for db in cluster.databases() {
        let tables = common::check::tables_of(&pool, &db).await;
        assert_eq!(
            tables,
            ["FX_ONE", "FX_THREE", "FX_TWO"].map(String::from).into(),
            "{db}"
        );
    }
    assert_all_completed(
        &ledger_scripts(&pool, "EIDB_META", &cluster).await,
        "late statement",
    );
}

/// 1. The script connection killed (`KILL`) again and again during one run of the real dbscript: each
///    kill ends in the run carrying on, never in `1050 Table already exists` from its own statement.
#[tokio::test]
async fn repeatedly_killed_script_connection_never_collides_with_its_own_statement() {
    let reference = reference().await;
    let pool = admin_pool().await;
    let admin = server().admin_user.clone();
    let cluster = fault_cluster(None);

    let mut run_ = Background::start(&cluster, &["provision", "--parallel", "1"]);
    // Each plain `CREATE TABLE UM_...` (the Carbon script's user-store tables, without IF NOT EXISTS: a
    // second sending collides) is killed once, in flight, up to 20 times in the run.
    let mut killed: BTreeSet<(String, String)> = BTreeSet::new();
    let deadline = Instant::now() + RUN_LIMIT;
    while run_.running() && Instant::now() < deadline && killed.len() < 20 {
        let rows = sqlx::query(
            "SELECT CAST(ID AS SIGNED), CONVERT(DB USING utf8mb4), CONVERT(LEFT(INFO, 40) USING utf8mb4) \
             FROM information_schema.PROCESSLIST \
             WHERE USER = ? AND COMMAND = 'Query' AND INFO LIKE 'CREATE TABLE UM%'",
        )
        .bind(&admin)
        .fetch_all(&pool)
        .await
        .unwrap();
        let mut any = false;
        for row in rows {
            let (id, db, statement): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
            if killed.insert((db, statement)) {
                let _ = sqlx::raw_sql(&format!("KILL {id}")).execute(&pool).await;
                any = true;
            }
        }
        if !any {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let kills = killed.len();
    let finished = run_.finish(RUN_LIMIT).await;
    eprintln!("killed the script connection {kills} times during CREATE TABLE");
    assert!(
        kills >= 3,
        "the test killed too few statements: {kills}\n{}",
        finished.describe()
    );
    assert!(
        !finished.stderr.contains("already exists"),
        "a killed connection ended in a collision with eidb's own statement: {}",
        finished.describe()
    );
    finished.assert_success("the run whose script connection was killed again and again");
    assert_converged(
        &pool,
        &cluster,
        &server().host,
        server().port,
        reference,
        "repeatedly killed connection",
    )
    .await;
}

/// 6. The connection drops during the first inspection of the server: eidb reads it again and the run
///    succeeds. When it keeps dropping, the error says what happened and what to do, not sqlx's
///    "expected to read 4 bytes".
#[tokio::test]
async fn a_connection_dropped_during_the_first_inspection_is_read_again() {
    let pool = admin_pool().await;
    let proxy = proxy_to_test_server("SELECT 'db' AS k", 1, common::proxy::CutMode::Drop);
    let cluster = proxied_cluster(&proxy, THREE_TABLES);
    let first = run(&cluster, &["provision", "--db-only"]).await;
    assert_eq!(
        proxy.cuts(),
        1,
        "the inspection was cut: {}",
        first.describe()
    );
    first.assert_success("the run whose first inspection was cut");
    assert!(
        first.stderr.contains("reading the server again"),
        "{}",
        first.describe()
    );
    for db in cluster.databases() {
        assert_eq!(common::check::tables_of(&pool, &db).await.len(), 3, "{db}");
    }

    let always = proxy_to_test_server("SELECT 'db' AS k", usize::MAX, common::proxy::CutMode::Drop);
    let cluster = proxied_cluster(&always, THREE_TABLES);
    let failed = run(&cluster, &["provision", "--db-only"]).await;
    assert_eq!(failed.code, Some(1), "{}", failed.describe());
    assert!(
        failed
            .stderr
            .contains("the connection to the server was lost")
            && failed.stderr.contains("run the same command again"),
        "the error says what happened and what to do: {}",
        failed.describe()
    );
}

async fn ledger_sha(pool: &MySqlPool, cluster: &Cluster) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    for db in cluster.databases() {
        let row = sqlx::query(
            "SELECT CONVERT(script_sha256 USING utf8mb4), CONVERT(outcome USING utf8mb4) FROM EIDB_META.eidb_script WHERE target_db = ?",
        )
        .bind(&db)
        .fetch_one(pool)
        .await
        .unwrap();
        rows.push((db, row.get(0), row.get(1)));
    }
    rows
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn column_type(pool: &MySqlPool, database: &str, table: &str, column: &str) -> String {
    sqlx::query(
        "SELECT CONVERT(COLUMN_TYPE USING utf8mb4) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?",
    )
    .bind(database)
    .bind(table)
    .bind(column)
    .fetch_one(pool)
    .await
    .unwrap()
    .get(0)
}

fn assert_ledger_settled(rows: &[(String, String, String)], script: &[u8], what: &str) {
    let sha = sha256_hex(script);
    for (db, recorded, outcome) in rows {
        assert!(
            recorded == &sha && outcome == "completed",
            "{what}: the ledger of {db} says {recorded} ({outcome}); expected the new script's {sha}, completed. All: {rows:#?}"
        );
    }
}

/// 2. A changed dbscript and `--reapply-changed-script`: a comment-only change settles the ledger of
///    every database (later runs are clean); a changed column (VARCHAR(20) -> VARCHAR(64)) is reported by
///    verify in every database and applied to every database by the reapply run; a column changed by
///    hand is reported by verify and left alone (with a warning) by a plain provision.
#[tokio::test]
async fn a_changed_script_is_reapplied_in_every_database_and_settles_the_ledger() {
    let pool = admin_pool().await;
    let cluster = scripted_cluster(THREE_TABLES);
    let script = cluster.dir.path().join("script.sql");
    cluster.eidb_ok(&["provision", "--db-only"]);
    let databases = cluster.databases();

    // A comment-only change.
    let commented = format!("-- reviewed for EI 6.6\n{THREE_TABLES}");
    std::fs::write(&script, &commented).unwrap();
    let blocked = run(&cluster, &["provision", "--db-only"]).await;
    assert_eq!(
        blocked.code,
        Some(1),
        "a changed script is a conflict: {}",
        blocked.describe()
    );
    let reapplied = run(
        &cluster,
        &["provision", "--db-only", "--reapply-changed-script"],
    )
    .await;
    reapplied.assert_success("the reapply run after a comment-only change");
    assert_ledger_settled(
        &ledger_sha(&pool, &cluster).await,
        commented.as_bytes(),
        "comment-only",
    );
    let again = run(&cluster, &["provision", "--db-only"]).await;
    again.assert_success("provision after the reapply run");
    assert!(
        again.stdout.contains("nothing to change"),
        "{}",
        again.describe()
    );
    let verify = run(&cluster, &["verify", "--db-only"]).await;
    assert_eq!(
        verify.code,
        Some(0),
        "verify after the reapply run: {}",
        verify.describe()
    );

    // A changed column.
    let widened = commented.replace("NAME VARCHAR(20)", "NAME VARCHAR(64)");
    std::fs::write(&script, &widened).unwrap();
    let (code, report) = cluster.eidb_json(&["verify", "--db-only"]);
    assert_eq!(code, 1, "{report:#}");
    let findings = report["findings"].as_array().unwrap();
    for db in &databases {
        assert!(
            findings.iter().any(|f| f["check"] == "column"
                && f["subject"] == format!("database {db}").as_str()
                && f["expected"]
                    .as_str()
                    .unwrap_or("")
                    .contains("FX_TWO.NAME varchar(64)")
                && f["found"].as_str().unwrap_or("").contains("varchar(20)")),
            "verify reports the changed column in {db}: {report:#}"
        );
    }
    let dry_run = run(
        &cluster,
        &[
            "provision",
            "--db-only",
            "--reapply-changed-script",
            "--dry-run",
        ],
    )
    .await;
    assert!(
        dry_run.stdout.contains("MODIFY COLUMN NAME VARCHAR(64)"),
        "the dry run shows the ALTER: {}",
        dry_run.describe()
    );
    let reapplied = run(
        &cluster,
        &["provision", "--db-only", "--reapply-changed-script"],
    )
    .await;
    reapplied.assert_success("the reapply run after a column change");
    for db in &databases {
        assert_eq!(
            column_type(&pool, db, "FX_TWO", "NAME").await,
            "varchar(64)",
            "{db}"
        );
    }
    assert_ledger_settled(
        &ledger_sha(&pool, &cluster).await,
        widened.as_bytes(),
        "column change",
    );
    let verify = run(&cluster, &["verify", "--db-only"]).await;
    assert_eq!(
        verify.code,
        Some(0),
        "verify after the column change was applied: {}",
        verify.describe()
    );

    // A column changed by hand, the script unchanged.
    let first = &databases[0];
    common::check::exec(
        &pool,
        &format!("ALTER TABLE `{first}`.FX_TWO MODIFY NAME VARCHAR(10)"),
    )
    .await;
    let (code, report) = cluster.eidb_json(&["verify", "--db-only"]);
    let columns: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "column")
        .collect();
    assert!(
        code == 1
            && columns.len() == 1
            && columns[0]["subject"] == format!("database {first}").as_str(),
        "verify reports the hand-changed column, in that database only: {report:#}"
    );
    let plain = run(&cluster, &["provision", "--db-only"]).await;
    plain.assert_success("a plain provision with a hand-changed column");
    assert!(
        plain.stdout.contains("only with --reapply-changed-script"),
        "a plain provision warns and leaves it: {}",
        plain.describe()
    );
    assert_eq!(
        column_type(&pool, first, "FX_TWO", "NAME").await,
        "varchar(10)"
    );
    run(
        &cluster,
        &["provision", "--db-only", "--reapply-changed-script"],
    )
    .await
    .assert_success("reapply after a hand-made change");
    assert_eq!(
        column_type(&pool, first, "FX_TWO", "NAME").await,
        "varchar(64)"
    );
}

/// 5. Ctrl-C while `--wait` waits for a server that is down stops eidb at once, not after the wait.
#[tokio::test]
async fn ctrl_c_while_waiting_for_the_server_stops_at_once() {
    let dedicated = tokio::task::spawn_blocking(dedicated).await.unwrap();
    let cluster = Cluster::new_on(&dedicated, 1, Conf::Fixture);
    dedicated.stop();
    let mut waiting = Background::start(&cluster, &["provision", "--wait", "60"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(waiting.running(), "{}", waiting.output_so_far());
    waiting.signal("INT");
    let stopped = waiting.finish(Duration::from_secs(60)).await;
    assert_eq!(stopped.code, Some(1), "{}", stopped.describe());
    assert!(
        stopped.stderr.contains("interrupted while waiting for")
            && stopped.elapsed < Duration::from_secs(10),
        "stopped at once, saying so: {}",
        stopped.describe()
    );
    dedicated.start();
}

/// 7. The connection a live run's lock names is killed: the run opens another within a second and names
///    it in the lock, so a waiting run does not take the lock of a run that is alive.
#[tokio::test]
async fn a_live_run_whose_lock_connection_was_killed_keeps_its_lock() {
    let pool = admin_pool().await;
    let cluster = scripted_cluster(&slow_script(9.0));

    let mut holder = Background::start(&cluster, &["provision"]);
    wait_for_lock(&pool, &cluster, &mut holder).await;
    // The renewer names its own connection in the row once it is up: wait for that rename, not for a
    // while. The run took the lock on its own connection, which its `eidb_run` row names.
    let taken_by: String = sqlx::raw_sql(&format!(
        "SELECT CONVERT(owner USING utf8mb4) FROM EIDB_META.eidb_run \
         WHERE owner LIKE '% pid {} connection %' ORDER BY id LIMIT 1",
        holder.pid()
    ))
    .fetch_one(&pool)
    .await
    .unwrap()
    .get(0);
    let deadline = Instant::now() + RUN_LIMIT;
    let owner = loop {
        let owner = lock_owner(&pool, "EIDB_META", &cluster).await;
        match owner {
            Some(owner) if owner != taken_by => break owner,
            _ => {}
        }
        assert!(
            holder.running() && Instant::now() < deadline,
            "the renewer never named its connection in the lock (still {taken_by}):\n{}",
            holder.output_so_far()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let id: u64 = owner
        .rsplit_once(" connection ")
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("the lock names a connection: {owner}"));
    sqlx::raw_sql(&format!("KILL {id}"))
        .execute(&pool)
        .await
        .unwrap();
    let waiter = run(&cluster, &["provision", "--lock-wait", "5"]).await;
    assert_eq!(
        waiter.code,
        Some(1),
        "the waiter gives up, it does not take a live run's lock: {}",
        waiter.describe()
    );
    assert!(
        !waiter.stderr.contains("took over"),
        "{}",
        waiter.describe()
    );
    let holder = holder.finish(RUN_LIMIT).await;
    holder.assert_success("the run whose lock connection was killed");
    let renamed = lock_owner(&pool, "EIDB_META", &cluster).await;
    assert_eq!(renamed, None, "the holder released its lock at the end");
}
