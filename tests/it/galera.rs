//! eidb on a 3-member MariaDB Galera cluster (issue 9), run as a user would: the built binary with a
//! spec whose `[server] urls` lists the members, checked through a second path (SQL on each member
//! directly, with `wsrep_sync_wait`, and the written XML parsed here with quick-xml). Also the Galera
//! test harness (tests/it/common/galera.rs) and the Galera facts eidb's design rests on.
//!
//! Members are numbered from 0 in the harness; the "member 1" is index 0.

use crate::common;

use common::check::{self, charset_of, grants_of, indexes_of, script_objects, tables_of};
use common::cluster::{Cluster, Conf, ACCOUNT_PASSWORD};
use common::galera::GaleraCluster;
use common::unique_name;
use serde_json::Value;
use sqlx::{Connection, MySqlConnection, MySqlPool, Row};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

// ---------------------------------------------------------------------------------------------------
// eidb on the Galera cluster.
// ---------------------------------------------------------------------------------------------------

const DATASOURCES: &str = "conf/datasources/master-datasources.xml";
const USER_MGT: &str = "conf/user-mgt.xml";
const REGISTRY: &str = "conf/registry.xml";
const NODE_FILES: [&str; 3] = [DATASOURCES, USER_MGT, REGISTRY];
const CONNECTOR_J_8: &str = "mysql-connector-j-8.0.33.jar";
const REGISTRY_JNDI: &str = "jdbc/WSO2RegistryDB";
const UM_JNDI: &str = "jdbc/WSO2UMDB";
const CARBON_JNDI: &str = "jdbc/WSO2CarbonDB";

/// The tables of the Carbon 4.4 scripts without a primary key (issue 9).
const TABLES_WITHOUT_PRIMARY_KEY: [&str; 5] = [
    "UM_SHARED_USER_ROLE",
    "REG_RESOURCE_COMMENT",
    "REG_RESOURCE_PROPERTY",
    "REG_RESOURCE_TAG",
    "REG_RESOURCE_RATING",
];

/// The members at `order` (harness indexes) as (host, port), for a spec's `urls`.
fn servers(galera: &GaleraCluster, order: &[usize]) -> Vec<(String, u16)> {
    order
        .iter()
        .map(|&index| {
            let member = galera.member(index);
            (member.host, member.port)
        })
        .collect()
}

/// A WSO2 cluster of `nodes` nodes (real WSO2 conf files, writable, Connector/J 8 in lib/) whose spec
/// lists the Galera members at `order` as `[server] urls`.
fn wso2_on_galera(galera: &GaleraCluster, order: &[usize], nodes: usize) -> Cluster {
    let cluster =
        Cluster::new_on_servers("root", "", &servers(galera, order), nodes, Conf::RealWso2)
            .with_driver_jar(CONNECTOR_J_8);
    cluster.set_conf_mode(0o644);
    cluster
}

/// `jdbc_hosts = ["127.0.0.1:P1", "127.0.0.1:P2", "127.0.0.1:P3"]`, every member in order.
fn every_member_as_jdbc_hosts(galera: &GaleraCluster) -> String {
    let hosts: Vec<String> = galera
        .members()
        .iter()
        .map(|m| format!("\"{}:{}\"", m.host, m.port))
        .collect();
    format!("jdbc_hosts = [{}]", hosts.join(", "))
}

/// "root@127.0.0.1:PORT", as eidb names a member.
fn described(galera: &GaleraCluster, index: usize) -> String {
    let member = galera.member(index);
    format!("root@{}:{}", member.host, member.port)
}

/// `@@character_set_server` of a member: what `charset = "auto"` means there.
async fn server_charset(galera: &GaleraCluster, member: usize) -> String {
    sqlx::query_scalar("SELECT @@character_set_server")
        .fetch_one(&galera.sync_read_pool(member).await)
        .await
        .unwrap()
}

fn real_script() -> String {
    std::fs::read_to_string(common::shared_wso2_dir().join("dbscripts/mysql5.7.sql")).unwrap()
}

/// What one eidb run did.
struct RunOutput {
    code: i32,
    stdout: String,
    stderr: String,
    seconds: f64,
}

impl RunOutput {
    fn of(output: std::process::Output, started: Instant) -> RunOutput {
        RunOutput {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            seconds: started.elapsed().as_secs_f64(),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("eidb printed no JSON report ({e}):\n{self}"))
    }
}

impl std::fmt::Display for RunOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:.1} s\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code, self.seconds, self.stdout, self.stderr
        )
    }
}

/// Runs eidb (human output: progress lines on stderr) with the cluster's own spec.
fn eidb(cluster: &Cluster, args: &[&str]) -> RunOutput {
    eidb_with(cluster, &cluster.spec_path, args)
}

fn eidb_with(cluster: &Cluster, spec: &Path, args: &[&str]) -> RunOutput {
    let started = Instant::now();
    RunOutput::of(cluster.eidb_with(spec, args), started)
}

/// `eidb verify --output json`: the findings as (subject, check) with the whole report.
fn verify(cluster: &Cluster) -> (RunOutput, Vec<(String, String)>) {
    let run = eidb(cluster, &["verify", "--output", "json"]);
    let findings = run.json()["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("verify reported no findings array:\n{run}"))
        .iter()
        .map(|f| {
            (
                f["subject"].as_str().unwrap_or_default().to_string(),
                f["check"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (run, findings)
}

fn assert_verify_clean(cluster: &Cluster, when: &str) {
    let (run, findings) = verify(cluster);
    assert!(
        run.code == 0 && findings.is_empty() && run.json()["status"] == "in_sync",
        "eidb verify {when}: expected exit 0, in_sync, no findings; got findings {findings:?}\n{run}"
    );
}

/// Verify's findings, those about members apart from the rest (about the nodes' files, which are
/// not written when a provision fails before them).
fn member_and_other_findings(findings: &[(String, String)]) -> String {
    let (members, others): (Vec<_>, Vec<_>) = findings
        .iter()
        .partition(|(_, check)| check == "member_disagrees");
    format!("findings about members: {members:?}; other findings: {others:?}")
}

/// The pre-flight check of that name, from a JSON report.
fn preflight_check<'a>(report: &'a Value, name: &str) -> Option<&'a Value> {
    report["preflight"]["checks"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
}

// --- The database side, read on one member directly -----------------------------------------------

/// Checks on `member` (read with `wsrep_sync_wait`) that every database of the cluster exists in
/// `charset` with every table and index of `script`, and that the account has exactly one grant per
/// database (plus USAGE), nothing global, no GRANT OPTION, and logs in to each database there.
async fn assert_provisioned_on(
    galera: &GaleraCluster,
    member: usize,
    cluster: &Cluster,
    script: &str,
    charset: &str,
) {
    let differences = provisioning_differences(galera, member, cluster, script, charset).await;
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// What [`assert_provisioned_on`] checks, as the list of what is not so (empty when all is).
async fn provisioning_differences(
    galera: &GaleraCluster,
    member: usize,
    cluster: &Cluster,
    script: &str,
    charset: &str,
) -> Vec<String> {
    let mut differences = Vec::new();
    let label = format!("member {} ({})", member + 1, described(galera, member));
    let pool = galera.sync_read_pool(member).await;
    let (tables, indexes) = script_objects(script);
    assert!(!tables.is_empty(), "the scan found no tables in the script");
    for db in cluster.databases() {
        let found = charset_of(&pool, &db).await;
        if found.as_deref() != Some(charset) {
            differences.push(format!(
                "{label}: charset of {db} is {found:?}, not {charset}"
            ));
        }
        let have = tables_of(&pool, &db).await;
        let missing: Vec<_> = tables.difference(&have).collect();
        if !missing.is_empty() {
            differences.push(format!("{label}: {db} lacks tables {missing:?}"));
        }
        let have = indexes_of(&pool, &db).await;
        let missing: Vec<_> = indexes.difference(&have).collect();
        if !missing.is_empty() {
            differences.push(format!("{label}: {db} lacks indexes {missing:?}"));
        }
        let wrong = check::tables_not_in_charset(&pool, &db, charset).await;
        if !wrong.is_empty() {
            differences.push(format!("{label}: {db}: tables not in {charset}: {wrong:?}"));
        }
    }
    let grants = grants_of(&pool, &cluster.account, "%").await;
    let mut expected: Vec<String> = cluster
        .databases()
        .iter()
        .map(|db| {
            format!(
                "GRANT ALL PRIVILEGES ON `{}`.* TO `{}`@`%`",
                db.replace('_', "\\_"),
                cluster.account
            )
        })
        .collect();
    expected.push(format!(
        "GRANT USAGE ON *.* TO `{}`@`%` IDENTIFIED BY PASSWORD",
        cluster.account
    ));
    expected.sort();
    let mut normalised: Vec<String> = grants
        .iter()
        .map(|g| match g.find(" IDENTIFIED BY PASSWORD ") {
            // The hash is the server's business; that there is one is what matters.
            Some(at) => g[..at + " IDENTIFIED BY PASSWORD".len()].to_string(),
            None => g.clone(),
        })
        .collect();
    normalised.sort();
    if normalised != expected {
        differences.push(format!(
            "{label}: the account's grants are not exactly {expected:#?}; SHOW GRANTS: {grants:#?}"
        ));
    }
    let address = galera.member(member);
    for db in cluster.databases() {
        let options = sqlx::mysql::MySqlConnectOptions::new()
            .host(&address.host)
            .port(address.port)
            .username(&cluster.account)
            .password(ACCOUNT_PASSWORD)
            .database(&db);
        let login = sqlx::ConnectOptions::connect(&options).await;
        if let Err(e) = login {
            differences.push(format!("{label}: the account cannot log in to {db}: {e}"));
        }
    }
    differences
}

/// Everything eidb leaves in the server and the node files for `cluster`, with the cluster's unique
/// names replaced by their roles, so that two clusters provisioned differently compare equal when
/// they end in the same state: each table's `SHOW CREATE TABLE`, each database's charset, the
/// account's grants and plugin, the ledger's script records (in `metadata`), and every node file and
/// its backup.
async fn fingerprint(pool: &MySqlPool, cluster: &Cluster, metadata: &str) -> Vec<String> {
    let roles = roles(cluster);
    let normalise = |text: &str| {
        let text = roles.iter().fold(text.to_string(), |text, (name, role)| {
            text.replace(name.as_str(), role)
        });
        // The ledger's database is another per attempt (`EIDB_META_<n>`) than the one-run reference's:
        // the grant on the nodes' records names it.
        match text.find("`EIDB_META") {
            Some(start) => match text[start + 1..].find('`') {
                Some(len) => format!("{}`METADATA{}", &text[..start], &text[start + 1 + len..]),
                None => text,
            },
            None => text,
        }
    };
    let mut lines = Vec::new();
    for db in cluster.databases() {
        lines.push(normalise(&format!(
            "database {db} charset {:?}",
            charset_of(pool, &db).await
        )));
        for table in tables_of(pool, &db).await {
            let row = sqlx::raw_sql(&format!("SHOW CREATE TABLE `{db}`.`{table}`"))
                .fetch_one(pool)
                .await
                .unwrap_or_else(|e| panic!("SHOW CREATE TABLE {db}.{table}: {e}"));
            let create: String = row.get(1);
            lines.push(normalise(&format!("table {db}.{table}: {create}")));
        }
    }
    // Not check::grants_of, which panics when the account does not exist.
    match sqlx::raw_sql(&format!("SHOW GRANTS FOR '{}'@'%'", cluster.account))
        .fetch_all(pool)
        .await
    {
        Ok(rows) => lines.extend(
            rows.iter()
                .map(|row| normalise(&format!("grant {}", row.get::<String, _>(0)))),
        ),
        Err(e) => lines.push(normalise(&format!("no grants of {}: {e}", cluster.account))),
    }
    let plugin: Vec<String> = sqlx::query(
        "SELECT CONVERT(CONCAT(Host, ' ', plugin) USING utf8mb4) FROM mysql.user WHERE User = ?",
    )
    .bind(&cluster.account)
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|row| row.get(0))
    .collect();
    lines.extend(plugin.iter().map(|p| format!("account row {p}")));
    let mut ledger: Vec<String> = Vec::new();
    for db in cluster.databases() {
        let rows = sqlx::query(&format!(
            "SELECT CONVERT(CONCAT_WS(' ', target_db, script_name, script_sha256, statements_total, \
             statements_done, outcome) USING utf8mb4) FROM `{metadata}`.eidb_script WHERE target_db = ?"
        ))
        .bind(&db)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("reading eidb's ledger: {e}"));
        ledger.extend(
            rows.iter()
                .map(|row| normalise(&format!("ledger {}", row.get::<String, _>(0)))),
        );
        if rows.is_empty() {
            ledger.push(normalise(&format!("ledger: no record of {db}")));
        }
    }
    lines.extend(ledger);
    for (i, home) in cluster.nodes.iter().enumerate() {
        for file in NODE_FILES {
            let path = home.join(file);
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            lines.push(format!("node{} {file}:\n{}", i + 1, normalise(&text)));
            let backup = backup_of(&path);
            let backup = std::fs::read(&backup)
                .map(|bytes| {
                    let original = std::fs::read(common::shared_wso2_dir().join(file)).unwrap();
                    if bytes == original {
                        "the original".to_string()
                    } else {
                        format!("not the original:\n{}", String::from_utf8_lossy(&bytes))
                    }
                })
                .unwrap_or_else(|e| format!("unreadable: {e}"));
            lines.push(format!("node{} {file} backup: {backup}", i + 1));
        }
    }
    lines.sort();
    lines
}

/// The cluster's unique names and the role each stands for, longest first.
fn roles(cluster: &Cluster) -> Vec<(String, String)> {
    let mut roles = vec![
        (cluster.user_store.clone(), "USER_STORE".to_string()),
        (
            cluster.shared_registry.clone(),
            "SHARED_REGISTRY".to_string(),
        ),
        (cluster.local_prefix.clone(), "LOCAL_REGISTRY_".to_string()),
        (cluster.account.clone(), "ACCOUNT".to_string()),
    ];
    // With and without the escaping of `_` in grants.
    let escaped: Vec<(String, String)> = roles
        .iter()
        .map(|(name, role)| (name.replace('_', "\\_"), role.clone()))
        .collect();
    roles.extend(escaped);
    roles.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    roles
}

fn backup_of(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap().to_os_string();
    name.push(".eidb-orig");
    path.with_file_name(name)
}

/// The first difference between two fingerprints, for a readable failure.
fn first_differences(a: &[String], b: &[String]) -> String {
    let a_set: BTreeSet<&String> = a.iter().collect();
    let b_set: BTreeSet<&String> = b.iter().collect();
    let only_a: Vec<&&String> = a_set.difference(&b_set).take(3).collect();
    let only_b: Vec<&&String> = b_set.difference(&a_set).take(3).collect();
    let mut text = String::new();
    for line in &only_a {
        // A file (or table) in both, with different content: show the lines that differ.
        let title = line.lines().next().unwrap_or_default();
        match only_b
            .iter()
            .find(|other| other.lines().next() == Some(title))
        {
            Some(other) => {
                let left: Vec<&str> = line.lines().collect();
                let right: Vec<&str> = other.lines().collect();
                let differing: Vec<String> = (0..left.len().max(right.len()))
                    .filter(|&i| left.get(i) != right.get(i))
                    .take(4)
                    .map(|i| {
                        format!(
                            "  line {}: {:?}\n       vs {:?}",
                            i + 1,
                            left.get(i),
                            right.get(i)
                        )
                    })
                    .collect();
                text.push_str(&format!("{title} differs:\n{}\n", differing.join("\n")));
            }
            None => text.push_str(&format!("only in the first: {line}\n")),
        }
    }
    for line in &only_b {
        let title = line.lines().next().unwrap_or_default();
        if !only_a
            .iter()
            .any(|other| other.lines().next() == Some(title))
        {
            text.push_str(&format!("only in the second: {line}\n"));
        }
    }
    text
}

// --- The node files, parsed here ------------------------------------------------------------------

/// A small XML tree built from quick-xml events (comments dropped, entities resolved).
#[derive(Debug, Clone, Default)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn one<'a>(&'a self, name: &'a str) -> &'a Element {
        let found: Vec<_> = self.all(name).collect();
        assert_eq!(
            found.len(),
            1,
            "exactly one <{name}> in <{}>: {self:#?}",
            self.name
        );
        found[0]
    }
}

fn parse_xml(path: &Path) -> Element {
    use quick_xml::events::Event;
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("{} is not well-formed XML: {e}", path.display()));
        match event {
            Event::Start(e) => stack.push(element_of(&e)),
            Event::Empty(e) => {
                let element = element_of(&e);
                stack.last_mut().unwrap().children.push(element);
            }
            Event::End(_) => {
                let mut element = stack.pop().unwrap();
                element.text = element.text.trim().to_string();
                stack.last_mut().unwrap().children.push(element);
            }
            Event::Text(t) => stack.last_mut().unwrap().text.push_str(&t.xml10_content()),
            Event::CData(c) => stack.last_mut().unwrap().text.push_str(&c.into_inner()),
            Event::GeneralRef(r) => {
                let resolved = match &*r.into_inner() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("{}: unknown entity {other:?}", path.display()),
                };
                stack.last_mut().unwrap().text.push_str(resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let document = stack.pop().unwrap();
    assert!(stack.is_empty(), "{}: unclosed elements", path.display());
    document
        .children
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{}: no root", path.display()))
}

fn element_of(start: &quick_xml::events::BytesStart) -> Element {
    Element {
        name: start.name().as_ref().to_string(),
        ..Element::default()
    }
}

/// The URL of the (single) datasource of a node with this JNDI name.
fn datasource_url(home: &Path, jndi: &str) -> String {
    let root = parse_xml(&home.join(DATASOURCES));
    let found: Vec<String> = root
        .one("datasources")
        .all("datasource")
        .filter(|ds| {
            ds.all("jndiConfig")
                .any(|j| j.all("name").any(|n| n.text == jndi))
        })
        .map(|ds| {
            ds.one("definition")
                .one("configuration")
                .one("url")
                .text
                .clone()
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{}: one datasource {jndi}: {found:?}",
        home.display()
    );
    found.into_iter().next().unwrap()
}

fn cache_id(home: &Path) -> String {
    parse_xml(&home.join(REGISTRY))
        .one("remoteInstance")
        .one("cacheId")
        .text
        .clone()
}

/// The JDBC URL a node must have for `database` with `jdbc_hosts` = every member, loadbalance style.
fn loadbalance_url(galera: &GaleraCluster, database: &str) -> String {
    let hosts: Vec<String> = galera
        .members()
        .iter()
        .map(|m| format!("{}:{}", m.host, m.port))
        .collect();
    format!(
        "jdbc:mysql:loadbalance://{}/{database}?autoReconnect=true&useSSL=false",
        hosts.join(",")
    )
}

// --- An eidb run watched while it runs -------------------------------------------------------------

/// eidb started in the background, its stderr read line by line as it comes.
struct Watched {
    child: Child,
    started: Instant,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Watched {
    fn spawn(mut command: Command) -> Watched {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start eidb");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let err_pipe = child.stderr.take().unwrap();
        let out_pipe = child.stdout.take().unwrap();
        let lines = stderr.clone();
        let bytes = stdout.clone();
        let readers = vec![
            std::thread::spawn(move || {
                for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            }),
            std::thread::spawn(move || {
                let mut all = Vec::new();
                let _ = BufReader::new(out_pipe).read_to_end(&mut all);
                bytes.lock().unwrap().extend(all);
            }),
        ];
        Watched {
            child,
            started: Instant::now(),
            stderr,
            stdout,
            readers,
        }
    }

    /// The first stderr line that satisfies `wanted`, waiting up to `timeout`; None if the run ended
    /// or the time passed first.
    fn wait_for_line(
        &mut self,
        timeout: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.stderr.lock().unwrap().iter().find(|l| wanted(l)) {
                return Some(line.clone());
            }
            if Instant::now() >= deadline || self.child.try_wait().unwrap().is_some() {
                // One last look: the line may have come with the end. Once the run has ended, its
                // stderr reader ends at the pipe's end: wait for that rather than for a while.
                let until = Instant::now() + Duration::from_secs(10);
                while self.child.try_wait().unwrap().is_some()
                    && !self.readers[0].is_finished()
                    && Instant::now() < until
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                return self
                    .stderr
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|l| wanted(l))
                    .cloned();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `timeout` for the run to end; None (and the run still going) when it did not.
    fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the run if it still goes, and returns what it printed.
    fn finish(mut self) -> RunOutput {
        let status = match self.child.try_wait().unwrap() {
            Some(status) => status,
            None => {
                let _ = self.child.kill();
                self.child.wait().unwrap()
            }
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let stderr = self.stderr.lock().unwrap().join("\n");
        let stdout = String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned();
        RunOutput {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
            seconds: self.started.elapsed().as_secs_f64(),
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Prints how long each phase of a test took, for the report.
struct Phases {
    test: &'static str,
    started: Instant,
    last: Instant,
}

impl Phases {
    fn new(test: &'static str) -> Phases {
        let now = Instant::now();
        Phases {
            test,
            started: now,
            last: now,
        }
    }

    fn done(&mut self, phase: &str) {
        let now = Instant::now();
        eprintln!(
            "[{}] {phase}: {:.1} s (total {:.1} s)",
            self.test,
            (now - self.last).as_secs_f64(),
            (now - self.started).as_secs_f64()
        );
        self.last = now;
    }
}

// ---------------------------------------------------------------------------------------------------
// 1. Provision through member 1; members 2 and 3 hold the same; multi-host JDBC URLs.
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn provisions_wso2_through_member_1_and_every_member_holds_it() {
    let mut phases = Phases::new("galera provision");
    let galera = GaleraCluster::start(3);
    phases.done("3 members Synced");
    let cluster = wso2_on_galera(&galera, &[0, 1, 2], 2).with_real_dbscripts();
    let script = real_script();

    let run = eidb(&cluster, &["provision", "--output", "json"]);
    phases.done("eidb provision");
    let report = run.json();
    assert_eq!(run.code, 0, "provision through member 1:\n{run}");
    assert_eq!(report["status"], "changed", "{report:#}");
    assert_eq!(
        report["preflight"]["endpoint"],
        described(&galera, 0),
        "provisioned through member 1, the first of the urls"
    );
    assert_eq!(report["preflight"]["server"]["galera"], true, "{report:#}");
    let galera_check = preflight_check(&report, "galera")
        .unwrap_or_else(|| panic!("no `galera` pre-flight check:\n{report:#}"));
    let detail = galera_check["detail"].as_str().unwrap_or_default();
    assert_eq!(galera_check["outcome"], "ok", "{galera_check:#}");
    assert!(
        detail.contains(galera.name()) && detail.contains("size 3"),
        "the galera check names the cluster and its size 3: {detail}"
    );
    for member in 0..3 {
        assert!(
            detail.contains(&format!("{} Synced", described(&galera, member))),
            "the galera check gives member {member}'s state: {detail}"
        );
    }
    let warnings: Vec<&Value> = report["preflight"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "warning")
        .collect();
    let pk_warning = warnings.iter().find(|c| {
        let detail = c["detail"].as_str().unwrap_or_default();
        TABLES_WITHOUT_PRIMARY_KEY
            .iter()
            .all(|t| detail.contains(t))
    });
    assert!(
        pk_warning.is_some(),
        "a pre-flight warning names the five tables without a primary key {TABLES_WITHOUT_PRIMARY_KEY:?}: {warnings:#?}"
    );
    let refused: Vec<&Value> = report["preflight"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "refused")
        .collect();
    assert!(refused.is_empty(), "nothing refused: {refused:#?}");

    let first = galera.sync_read_pool(0).await;
    let server_charset: String = sqlx::query_scalar("SELECT @@character_set_server")
        .fetch_one(&first)
        .await
        .unwrap();
    assert_eq!(
        report["preflight"]["charset"],
        server_charset.as_str(),
        "charset auto"
    );
    for member in [1, 2] {
        assert_provisioned_on(&galera, member, &cluster, &script, &server_charset).await;
    }
    phases.done("checked members 2 and 3 directly");
    assert_verify_clean(&cluster, "after provisioning through member 1");
    phases.done("eidb verify");

    // The nodes' datasources on the cluster: a loadbalance URL over every member.
    let cluster = cluster.with_server_keys(&format!(
        "{}\njdbc_url_style = \"loadbalance\"",
        every_member_as_jdbc_hosts(&galera)
    ));
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "provision with jdbc_hosts: {report:#}");
    let kinds: BTreeSet<&str> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["change"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["edit_file"]),
        "only the node files change with jdbc_hosts: {report:#}"
    );
    let shared_url = loadbalance_url(&galera, &cluster.shared_registry);
    for (node, home) in cluster.nodes.iter().enumerate() {
        let local = format!("{}{}", cluster.local_prefix, node + 1);
        assert_eq!(
            datasource_url(home, REGISTRY_JNDI),
            shared_url,
            "node{} shared registry",
            node + 1
        );
        assert_eq!(
            datasource_url(home, UM_JNDI),
            loadbalance_url(&galera, &cluster.user_store),
            "node{} user store",
            node + 1
        );
        assert_eq!(
            datasource_url(home, CARBON_JNDI),
            loadbalance_url(&galera, &local),
            "node{} local registry",
            node + 1
        );
        assert_eq!(
            cache_id(home),
            format!("{}@{shared_url}", cluster.account),
            "node{}'s cacheId is the account @ that exact shared-registry URL",
            node + 1
        );
    }
    assert_verify_clean(&cluster, "with loadbalance URLs");

    // verify checks it on every node: node1's cacheId in the single-host form, node2's shared
    // registry URL in the failover form.
    let single = format!(
        "{}@jdbc:mysql://{}:{}/{}?autoReconnect=true&amp;useSSL=false",
        cluster.account,
        galera.member(0).host,
        galera.member(0).port,
        cluster.shared_registry
    );
    let registry1 = cluster.nodes[0].join(REGISTRY);
    let text = std::fs::read_to_string(&registry1).unwrap();
    let written = format!("{}@{}", cluster.account, shared_url.replace('&', "&amp;"));
    assert_eq!(
        text.matches(&written).count(),
        1,
        "node1's cacheId as written:\n{text}"
    );
    std::fs::write(&registry1, text.replace(&written, &single)).unwrap();
    let datasources2 = cluster.nodes[1].join(DATASOURCES);
    let text = std::fs::read_to_string(&datasources2).unwrap();
    let prefix = shared_url.split('?').next().unwrap().to_string();
    assert_eq!(
        text.matches(&prefix).count(),
        1,
        "node2's shared URL as written:\n{text}"
    );
    std::fs::write(
        &datasources2,
        text.replace(
            &prefix,
            &prefix.replace("jdbc:mysql:loadbalance://", "jdbc:mysql://"),
        ),
    )
    .unwrap();
    let (run, findings) = verify(&cluster);
    assert_eq!(
        run.code, 1,
        "verify after editing node1's cacheId and node2's URL:\n{run}"
    );
    let has =
        |node: &str, check: &str| findings.iter().any(|(s, c)| s.contains(node) && c == check);
    assert!(
        has("node1", "cache_id") && has("node2", "datasource_url"),
        "verify finds node1's cacheId and node2's shared-registry URL: {findings:?}"
    );
    assert!(
        findings
            .iter()
            .all(|(s, _)| s.contains("node1") || s.contains("node2") || s == "cluster"),
        "only the two nodes drifted (and so disagree with each other): {findings:?}"
    );
    let run = eidb(&cluster, &["provision"]);
    assert_eq!(
        run.code, 0,
        "provision puts the URL and cacheId back:\n{run}"
    );
    assert_verify_clean(&cluster, "after putting the loadbalance URL back");
    phases.done("jdbc_hosts loadbalance, verify on every node");

    // verify reads every member back: an index dropped on member 3 alone (wsrep_on=OFF in that
    // session, so the DROP does not replicate) is a member that disagrees, named as such.
    let local1 = format!("{}1", cluster.local_prefix);
    let diverge = format!(
        "SET SESSION wsrep_on = OFF; DROP INDEX REG_PATH_IND_BY_PATH_VALUE ON `{local1}`.REG_PATH"
    );
    check::exec(&galera.admin_pool(2).await, &diverge).await;
    assert!(
        !indexes_of(&galera.sync_read_pool(2).await, &local1)
            .await
            .contains("REG_PATH_IND_BY_PATH_VALUE")
            && indexes_of(&galera.sync_read_pool(0).await, &local1)
                .await
                .contains("REG_PATH_IND_BY_PATH_VALUE"),
        "the index is gone on member 3 only"
    );
    let (run, findings) = verify(&cluster);
    assert_eq!(run.code, 1, "verify with member 3 missing an index:\n{run}");
    assert!(
        !findings.is_empty()
            && findings
                .iter()
                .all(|(subject, check)| check == "member_disagrees"
                    && subject.contains(&described(&galera, 2))),
        "verify names member 3 as the one that disagrees, and nothing else: {findings:?}"
    );
    let restore = format!(
        "SET SESSION wsrep_on = OFF; CREATE INDEX REG_PATH_IND_BY_PATH_VALUE USING HASH ON \
         `{local1}`.REG_PATH(REG_PATH_VALUE, REG_TENANT_ID)"
    );
    check::exec(&galera.admin_pool(2).await, &restore).await;
    assert_verify_clean(&cluster, "once member 3 has the index again");
    phases.done("verify finds a member that disagrees");
}

// ---------------------------------------------------------------------------------------------------
// 2. Member 1 is down before the run: eidb says so, uses member 2, and succeeds.
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_member_down_before_the_run_is_skipped_and_the_next_one_used() {
    let mut phases = Phases::new("galera member 1 down");
    let galera = GaleraCluster::start(3);
    phases.done("3 members Synced");
    // Every failed expectation is collected and reported at the end, so that one run shows them all.
    let mut problems: Vec<String> = Vec::new();
    let script = real_script();

    // First member 1 up but not Synced (desynced, as a donor is): skipped with its state, member 2
    // used, and member 1, still reachable, read back.
    check::exec(&galera.admin_pool(0).await, "SET GLOBAL wsrep_desync = ON").await;
    let desynced = galera.wsrep_status(0).await;
    assert_ne!(desynced.state, "Synced", "member 1 desynced: {desynced}");
    let cluster = wso2_on_galera(&galera, &[0, 1, 2], 2).with_real_dbscripts();
    let run = eidb(&cluster, &["provision"]);
    phases.done(&format!("eidb provision with member 1 {}", desynced.state));
    assert!(
        run.stderr.lines().any(|l| l.contains("skipping")
            && l.contains(&described(&galera, 0))
            && l.contains(&desynced.state)),
        "a line says member 1 is skipped, and why ({}):\n{run}",
        desynced.state
    );
    assert!(
        run.stderr
            .contains(&format!("connected to {}", described(&galera, 1))),
        "eidb used member 2:\n{run}"
    );
    if run.code != 0 {
        problems.push(format!(
            "provision with member 1 {} failed:\n{run}",
            desynced.state
        ));
    }
    check::exec(&galera.admin_pool(0).await, "SET GLOBAL wsrep_desync = OFF").await;
    galera.wait_synced(0);
    assert_provisioned_on(
        &galera,
        0,
        &cluster,
        &script,
        &server_charset(&galera, 1).await,
    )
    .await;

    // Then member 1 down, with another WSO2 cluster.
    galera.stop_member(0);
    galera.wait_synced(1);
    phases.done("member 1 stopped");
    let cluster = wso2_on_galera(&galera, &[0, 1, 2], 2).with_real_dbscripts();
    let run = eidb(&cluster, &["provision"]);
    phases.done("eidb provision");
    if run.code != 0 {
        problems.push(format!(
            "provision with member 1 down (it is first in urls) failed:\n{run}"
        ));
    }
    let skipped = run
        .stderr
        .lines()
        .find(|l| l.contains("skipping") && l.contains(&described(&galera, 0)));
    assert!(skipped.is_some(), "a line says member 1 is skipped:\n{run}");
    assert!(
        run.stderr
            .contains(&format!("connected to {}", described(&galera, 1))),
        "eidb used member 2:\n{run}"
    );
    let charset = server_charset(&galera, 1).await;
    for member in [1, 2] {
        assert_provisioned_on(&galera, member, &cluster, &script, &charset).await;
    }

    // Member 1 is still down and still in the urls: verify checks the members it can reach, says
    // which one it could not, and is clean (a member that is down is not drift `provision` could
    // put back; it catches up by state transfer when it rejoins).
    let (run, findings) = verify(&cluster);
    let report = run.json();
    let warnings = report["warnings"].to_string();
    if !(run.code == 0 && findings.is_empty()) {
        problems.push(format!(
            "verify with member 1 down: expected exit 0 and no findings, got exit {}; {}",
            run.code,
            member_and_other_findings(&findings)
        ));
    }
    if !warnings.contains(&described(&galera, 0)) {
        problems.push(format!(
            "verify does not warn that member 1 ({}) could not be checked: warnings {warnings}",
            described(&galera, 0)
        ));
    }
    phases.done("eidb verify");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------------
// 3. The member in use goes away in the middle of a run.
// ---------------------------------------------------------------------------------------------------

/// How soon a run must end once the member it uses is gone and the others are Synced: failing over
/// or failing, it should not keep waiting on that member (the run lock's expiry is 30 s).
const END_AFTER_MEMBER_GONE: Duration = Duration::from_secs(45);

/// How a member goes away in the middle of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Away {
    /// A clean shutdown (SIGTERM): the member leaves the cluster, then exits.
    Stopped,
    /// SIGKILL, as a crash.
    Killed,
}

#[tokio::test]
async fn a_member_stopped_or_killed_mid_run_then_a_rerun_converges_and_the_member_catches_up() {
    let mut phases = Phases::new("galera member gone mid-run");
    let galera = GaleraCluster::start(3);
    phases.done("3 members Synced");
    let script = real_script();
    // Every failed expectation about eidb is collected and reported at the end, so that one run of
    // the test shows them all.
    let mut problems: Vec<String> = Vec::new();

    // 1. The member in use is stopped (the case); a re-run with the same spec converges;
    // the member comes back, catches up and verify shows every member consistent.
    // The run lock's expiry shortened (30 s in production): a run cut off on a member that went away
    // cannot release it, and on Galera its holder cannot be seen gone from another member.
    let cluster = wso2_on_galera(&galera, &[0, 1, 2], 4)
        .with_real_dbscripts()
        .with_test_timeouts("lock_ttl=8");
    let used = run_and_lose_the_member(&galera, &cluster, Away::Stopped, &mut problems);
    phases.done(&format!(
        "run through member {}, which was stopped mid-run",
        used + 1
    ));
    rerun_without(&galera, &cluster, used, &script, &mut problems).await;
    phases.done("re-run, checks on the others, verify");

    galera.start_member(used);
    phases.done("stopped member restarted and Synced (state transfer)");
    let charset = server_charset(&galera, used).await;
    let differences = provisioning_differences(&galera, used, &cluster, &script, &charset).await;
    if !differences.is_empty() {
        problems.push(format!(
            "the stopped member, restarted and Synced, does not hold what the others hold:\n{}",
            differences.join("\n")
        ));
    }
    let (run, findings) = verify(&cluster);
    if !(run.code == 0 && findings.is_empty()) {
        problems.push(format!(
            "verify once the stopped member is back: expected every member consistent (exit 0, no \
             findings), got exit {}; {}",
            run.code,
            member_and_other_findings(&findings)
        ));
    }
    let warnings = run.json()["warnings"].to_string();
    if warnings.contains(&described(&galera, used)) {
        problems.push(format!(
            "verify still warns about {} once it is back: {warnings}",
            described(&galera, used)
        ));
    }
    phases.done("the member caught up; verify with every member");

    // 2. The same with a crash: the member in use is killed mid-run (another WSO2 cluster). It
    // stays down: after a SIGKILL during a CREATE TABLE, MariaDB 10.11 sometimes (1 run in 3)
    // rejoined the member, Synced after an rsync SST, without that table; likely its own
    // ddl_recovery.log, which the SST leaves in place (it sends no top-level files), undid the
    // CREATE again. That is the server's doing, not eidb's, and eidb's verify did report the
    // member (schema_missing, member_disagrees).
    let crashed = wso2_on_galera(&galera, &[0, 1, 2], 4)
        .with_real_dbscripts()
        .with_test_timeouts("lock_ttl=8");
    let used = run_and_lose_the_member(&galera, &crashed, Away::Killed, &mut problems);
    phases.done(&format!(
        "run through member {}, which was killed mid-run",
        used + 1
    ));
    rerun_without(&galera, &crashed, used, &script, &mut problems).await;
    phases.done("re-run, checks on the others, verify");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Starts `eidb provision --parallel 1` on `cluster`, and once its first database is loaded (so the
/// next one's script runs), stops or kills the member it uses; waits for the run to end (at most
/// [`END_AFTER_MEMBER_GONE`], then kills it). Returns the member.
fn run_and_lose_the_member(
    galera: &GaleraCluster,
    cluster: &Cluster,
    how: Away,
    problems: &mut Vec<String>,
) -> usize {
    let mut run =
        Watched::spawn(cluster.eidb_command(&cluster.spec_path, &["provision", "--parallel", "1"]));
    let Some(connected) =
        run.wait_for_line(Duration::from_secs(60), |l| l.contains("connected to "))
    else {
        panic!("no `connected to` line:\n{}", run.finish());
    };
    let used = (0..3)
        .find(|&i| connected.contains(&format!("connected to {} ", described(galera, i))))
        .unwrap_or_else(|| panic!("`{connected}` names none of the members"));
    let loaded = run.wait_for_line(Duration::from_secs(120), |l| {
        l.contains("run mysql5.7.sql in") && l.contains(" s")
    });
    if loaded.is_none() {
        panic!("no script finished:\n{}", run.finish());
    }
    match how {
        Away::Stopped => galera.stop_member(used),
        Away::Killed => galera.kill_member(used),
    }
    let gone = Instant::now();
    // The run may fail or finish through another member; either way it must end, and soon.
    let ended = run.wait(END_AFTER_MEMBER_GONE);
    let run = run.finish();
    eprintln!(
        "[galera member gone mid-run] the run whose member was {how:?}: exit {} {:.1} s after that:\n{}",
        run.code,
        gone.elapsed().as_secs_f64(),
        run.stderr
    );
    if ended.is_none() {
        problems.push(format!(
            "{how:?}: the run was still going {} s after the member it used ({}) went away, with \
             two members Synced; the test killed it:\n{run}",
            END_AFTER_MEMBER_GONE.as_secs(),
            described(galera, used)
        ));
    }
    used
}

/// Runs provision again with the same spec (`member`, which is down, still first in its urls):
/// it must skip the member, converge on the others, and verify must be clean and name the member
/// it could not check.
async fn rerun_without(
    galera: &GaleraCluster,
    cluster: &Cluster,
    member: usize,
    script: &str,
    problems: &mut Vec<String>,
) {
    let rerun = eidb(cluster, &["provision", "--parallel", "1"]);
    if rerun.code != 0 {
        problems.push(format!(
            "the re-run with member {} down failed:\n{rerun}",
            member + 1
        ));
    }
    assert!(
        rerun.stderr.contains("skipping") && rerun.stderr.contains(&described(galera, member)),
        "the re-run says it skips member {}:\n{rerun}",
        member + 1
    );
    // The interrupted run has ended: waiting for its lock helps nobody. (After a crash, it could
    // not release it; the lock expires 30 s after its last renewal.)
    if let Some(line) = rerun
        .stderr
        .lines()
        .find(|l| l.contains("waiting for the run lock"))
    {
        let took_over = rerun.stderr.contains("took over the run lock");
        problems.push(format!(
            "the re-run waited for the run lock of the interrupted run, which had already ended \
             (took it over after expiry: {took_over}): {line}"
        ));
    }
    let others: Vec<usize> = (0..3).filter(|&i| i != member).collect();
    let charset = server_charset(galera, others[0]).await;
    for &other in &others {
        assert_provisioned_on(galera, other, cluster, script, &charset).await;
    }
    // As with a member down before a run: verify is clean and names the member it could not check.
    let (run, findings) = verify(cluster);
    if !(run.code == 0 && findings.is_empty()) {
        problems.push(format!(
            "verify with member {} down: expected exit 0 and no findings, got exit {}; {}",
            member + 1,
            run.code,
            member_and_other_findings(&findings)
        ));
    }
    let warnings = run.json()["warnings"].to_string();
    if !warnings.contains(&described(galera, member)) {
        problems.push(format!(
            "verify does not warn that it could not check member {} ({}): warnings {warnings}",
            member + 1,
            described(galera, member)
        ));
    }
}

// ---------------------------------------------------------------------------------------------------
// 4. Two runs at once through members 1 and 2.
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn two_runs_at_once_through_members_1_and_2_end_as_one_run() {
    let mut phases = Phases::new("galera two runs at once");
    let galera = GaleraCluster::start(3);
    phases.done("3 members Synced");
    let mut problems: Vec<String> = Vec::new();

    // The nodes' URLs name every member (failover form), so both specs want the same node files
    // and differ only in the member eidb provisions through (without `jdbc_hosts`, the nodes would
    // get the first of `urls`, which is not the same member in the two specs).
    let jdbc_hosts = every_member_as_jdbc_hosts(&galera);
    let wso2 = |metadata: &str| {
        wso2_on_galera(&galera, &[0, 1, 2], 2)
            .with_real_dbscripts()
            .with_server_keys(&jdbc_hosts)
            .with_databases(&format!("metadata = \"{metadata}\""))
    };
    // Round 1: the first eidb runs on a metadata database (it does not exist yet), as on a Galera
    // cluster eidb has never seen. The two runs race, so this is done three times, each time
    // with a metadata database of its own.
    let mut provisioned: Vec<(String, Cluster, String)> = Vec::new();
    for attempt in 1..=3 {
        let metadata = unique_name("EIDB_META");
        let cluster = wso2(&metadata);
        let round = format!("round 1, attempt {attempt} (first runs on {metadata})");
        two_runs_at_once(&galera, &cluster, &round, &mut problems);
        provisioned.push((round, cluster, metadata));
    }
    phases.done("round 1: two runs at once on a new metadata database, 3 times");

    // The same WSO2 cluster provisioned by one run, on the same Galera cluster, is the reference.
    let reference = wso2("EIDB_META");
    let run = eidb(&reference, &["provision"]);
    assert_eq!(run.code, 0, "the reference run:\n{run}");
    phases.done("reference run");

    // Round 2: another WSO2 cluster, once eidb's ledger exists: the run lock decides.
    let second = wso2("EIDB_META");
    let round = "round 2 (the ledger exists)".to_string();
    two_runs_at_once(&galera, &second, &round, &mut problems);
    provisioned.push((round, second, "EIDB_META".to_string()));
    phases.done("round 2: two runs at once with the ledger in place");

    let expected = fingerprint(&galera.sync_read_pool(0).await, &reference, "EIDB_META").await;
    assert!(
        expected
            .iter()
            .any(|l| l.contains("ledger ") && l.contains(" completed")),
        "the reference's fingerprint has the ledger's records: {expected:#?}"
    );
    for member in 0..3 {
        let pool = galera.sync_read_pool(member).await;
        let reference_here = fingerprint(&pool, &reference, "EIDB_META").await;
        assert!(
            reference_here == expected,
            "member {}: the reference differs from member 1's:\n{}",
            member + 1,
            first_differences(&reference_here, &expected)
        );
        for (round, cluster, metadata) in &provisioned {
            let seen = fingerprint(&pool, cluster, metadata).await;
            if seen != expected {
                problems.push(format!(
                    "{round}, read on member {}: two runs at once did not end as one run does:\n{}",
                    member + 1,
                    first_differences(&seen, &expected)
                ));
            }
        }
    }
    phases.done("fingerprints on every member");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Starts two `eidb provision` runs at once, one with member 1 first in its urls, the other with
/// member 2 first, and checks how they shared the work; what goes wrong goes to `problems`.
fn two_runs_at_once(
    galera: &GaleraCluster,
    cluster: &Cluster,
    round: &str,
    problems: &mut Vec<String>,
) {
    let through_1 = cluster.spec_variant("through-member-1.toml", &servers(galera, &[0, 1, 2]));
    let through_2 = cluster.spec_variant("through-member-2.toml", &servers(galera, &[1, 0, 2]));
    let watched: Vec<Watched> = [&through_1, &through_2]
        .iter()
        .map(|spec| Watched::spawn(cluster.eidb_command(spec, &["provision"])))
        .collect();
    let runs: Vec<RunOutput> = watched
        .into_iter()
        .map(|mut run| {
            run.wait(Duration::from_secs(180));
            run.finish()
        })
        .collect();
    let both = format!(
        "--- the run through member 1: {}\n\n--- the run through member 2: {}",
        runs[0], runs[1]
    );
    for (run, member) in runs.iter().zip([1, 2]) {
        eprintln!(
            "{round}: the run through member {member}, exit {} after {:.1} s:\n{}",
            run.code, run.seconds, run.stderr
        );
    }
    for (run, member) in runs.iter().zip([1, 2]) {
        assert!(
            run.stderr
                .contains(&format!("connected to {}", described(galera, member - 1))),
            "{round}: the run through member {member} used it:\n{run}"
        );
        if run.code != 0 {
            problems.push(format!(
                "{round}: the run through member {member} failed:\n{run}"
            ));
        }
    }
    if runs.iter().any(|r| r.code != 0) {
        // Whatever went wrong, a run alone afterwards must finish the job.
        let alone = eidb_with(cluster, &through_1, &["provision"]);
        if alone.code != 0 {
            problems.push(format!(
                "{round}: after the runs at once, a run alone fails too:\n{alone}"
            ));
        }
        return;
    }
    // Each database is created by one run only, and the other run waited for the lock or found
    // nothing left to do on the server.
    for db in cluster.databases() {
        let created: usize = runs
            .iter()
            .map(|r| {
                r.stderr
                    .lines()
                    .filter(|l| l.contains(&format!("] create database {db} ")))
                    .count()
            })
            .sum();
        if created != 1 {
            problems.push(format!(
                "{round}: {db} was created by {created} runs, not one:\n{both}"
            ));
        }
    }
    let server_work = |run: &RunOutput| {
        run.stderr.lines().any(|l| {
            l.contains("] create database")
                || l.contains("] run mysql")
                || l.contains("] create account")
                || l.contains("] grant")
        })
    };
    let deferred = runs
        .iter()
        .filter(|r| r.stderr.contains("waiting for the run lock") || !server_work(r))
        .count();
    if deferred == 0 {
        problems.push(format!(
            "{round}: neither run waited for the other (\"waiting for the run lock\") or found \
             nothing left to do:\n{both}"
        ));
    }
    for spec in [&through_1, &through_2] {
        let run = eidb_with(cluster, spec, &["verify", "--output", "json"]);
        if run.code != 0 {
            problems.push(format!(
                "{round}: verify with {} exited {}:\n{run}",
                spec.display(),
                run.code
            ));
        }
    }
}
