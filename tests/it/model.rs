//! A model-based test that looks for the next "made a working cluster worse": random sequences of spec
//! edits (add, remove, rename and reorder nodes; a new password; a hand edit of a node file; a
//! hand-made grant) and runs (full, `--db-only`, `--files-only`, with and without
//! `--allow-destructive`, interrupted), on a real throwaway server and real-looking EI_HOMEs.
//!
//! After every step it checks what "never worse" means, from outside eidb (the files as a node reads
//! them, SQL as the administrator):
//! - no two nodes' files point at one local registry database;
//! - without `--allow-destructive`, a node whose files logged in before the run still logs in with
//!   what its files hold, every database a node used still exists with at least its rows, and the
//!   account keeps every privilege it had;
//! - with `--allow-destructive`, one more identical run changes nothing (the run converged).
//!
//! Sequences come from a seeded generator: a failure prints the seed and the steps, and
//! `EIDB_MODEL_SEED=<seed>` replays that one sequence. The case count is bounded (`CASES` x `STEPS`),
//! so the test takes well under a minute.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::cluster::{copy_tree, fixture_path};
use common::{admin_pool, eidb_bin, server, unique_name};
use sqlx::{MySqlPool, Row};

const CASES: u64 = 12;
const STEPS: usize = 10;
const PASSWORD_ENV: &str = "EIDB_MODEL_ACCOUNT_PASSWORD";
const ADMIN_PASSWORD_ENV: &str = "EIDB_MODEL_ADMIN_PASSWORD";
const DATASOURCES: &str = "conf/datasources/master-datasources.xml";

/// xorshift64*: small, seeded, the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Full,
    DbOnly,
    FilesOnly,
}

#[derive(Debug, Clone)]
enum Step {
    AddNode { at: usize },
    RemoveNode { at: usize },
    RenameNode { at: usize },
    Reorder { rotate: usize },
    NewPassword,
    HandEditFile { node: usize },
    HandGrant,
    Run { mode: Mode, allow_destructive: bool },
    Interrupted { after_ms: u64 },
}

struct Node {
    name: String,
    home: PathBuf,
    renamed_from: Option<String>,
}

struct Model {
    dir: tempfile::TempDir,
    spec: PathBuf,
    account: String,
    user_store: String,
    shared_registry: String,
    local_prefix: String,
    password: String,
    nodes: Vec<Node>,
    made: usize,
    log: Vec<String>,
}

/// What "worse" is measured against: taken before a run, compared after it.
#[derive(Debug)]
struct Snapshot {
    /// Node name -> local registry database its files name (None: H2 or unreadable).
    local_registry: BTreeMap<String, Option<String>>,
    /// Node names whose files' credentials log in to their local registry.
    logs_in: BTreeSet<String>,
    /// Database -> total rows of its tables, for every database a node's files name.
    rows: BTreeMap<String, u64>,
    /// (grantee, scope, privilege) of the account, from information_schema.
    privileges: BTreeSet<(String, String, String)>,
}

impl Model {
    fn new(nodes: usize) -> Model {
        let dir = tempfile::tempdir().unwrap();
        let mut model = Model {
            spec: dir.path().join("cluster.toml"),
            dir,
            account: unique_name("mdl").to_lowercase(),
            user_store: unique_name("MUM"),
            shared_registry: unique_name("MREG"),
            local_prefix: unique_name("MLOC"),
            password: "Model-pw'\"1".to_string(),
            nodes: Vec::new(),
            made: 0,
            log: Vec::new(),
        };
        for _ in 0..nodes {
            let node = model.make_node();
            model.nodes.push(node);
        }
        model
    }

    /// A new EI_HOME from the project's fixture conf (its local registry still on H2).
    fn make_node(&mut self) -> Node {
        self.made += 1;
        let name = format!("n{}", self.made);
        let home = self.dir.path().join(&name).join("wso2ei");
        copy_tree(&fixture_path("ei-home/conf"), &home.join("conf"));
        std::fs::create_dir_all(home.join("lib")).unwrap();
        Node {
            name,
            home,
            renamed_from: None,
        }
    }

    fn write_spec(&self) {
        let server = server();
        let admin_password = if server.admin_password.is_empty() {
            String::new()
        } else {
            format!("password_env = \"{ADMIN_PASSWORD_ENV}\"\n")
        };
        let nodes: String = self
            .nodes
            .iter()
            .map(|node| {
                let renamed = node
                    .renamed_from
                    .as_ref()
                    .map(|old| format!("renamed_from = \"{old}\"\n"))
                    .unwrap_or_default();
                format!(
                    "\n[[nodes]]\nname = \"{}\"\nei_home = {:?}\n{renamed}",
                    node.name,
                    node.home.display().to_string()
                )
            })
            .collect();
        let script = fixture_path("dbscripts/splitter-cases.sql");
        let text = format!(
            "[server]\nurl = \"mysql://{admin}@{host}:{port}\"\n{admin_password}\n\
             [user]\nname = \"{account}\"\npassword_env = \"{PASSWORD_ENV}\"\n\n\
             [databases]\nuser_store = \"{us}\"\nshared_registry = \"{sr}\"\nlocal_registry_prefix = \"{lp}\"\n\n\
             [dbscripts]\nfile = {script:?}\n{nodes}",
            admin = server.admin_user,
            host = server.host,
            port = server.port,
            account = self.account,
            us = self.user_store,
            sr = self.shared_registry,
            lp = self.local_prefix,
            script = script.display().to_string(),
        );
        std::fs::write(&self.spec, text).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(eidb_bin());
        command
            .args(args)
            .arg("--config")
            .arg(&self.spec)
            .env(PASSWORD_ENV, &self.password)
            .env(ADMIN_PASSWORD_ENV, &server().admin_password)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run eidb")
    }

    fn describe(&self) -> String {
        format!(
            "steps so far:\n  {}\nspec:\n{}",
            self.log.join("\n  "),
            std::fs::read_to_string(&self.spec).unwrap_or_default()
        )
    }
}

/// The datasource `name`'s URL, username and password in a master-datasources.xml, as a node reads
/// them (XML entities decoded).
fn datasource(xml: &str, name: &str) -> Option<(String, String, String)> {
    let start = xml.find(&format!("<name>{name}</name>"))?;
    let rest = &xml[start..];
    let end = rest.find("</datasource>").unwrap_or(rest.len());
    let block = &rest[..end];
    let element = |tag: &str| -> Option<String> {
        let open = block.find(&format!("<{tag}"))?;
        let after = &block[open..];
        let text_start = after.find('>')? + 1;
        let text_end = after.find(&format!("</{tag}>"))?;
        Some(unescape(&after[text_start..text_end]))
    };
    Some((element("url")?, element("username")?, element("password")?))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// `jdbc:mysql://host:port/DB?params` -> (host, port, DB); None for H2 and other stores.
fn mysql_target(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("jdbc:mysql://")?;
    let (authority, path) = rest.split_once('/')?;
    let first = authority.split(',').next()?;
    let (host, port) = first.rsplit_once(':').unwrap_or((first, "3306"));
    let database = path.split(['?', ';']).next()?.to_string();
    Some((host.to_string(), port.parse().ok()?, database))
}

async fn logs_in(url: &str, user: &str, password: &str) -> bool {
    let Some((_, _, database)) = mysql_target(url) else {
        return false;
    };
    // The node's host name may be one only the nodes resolve: log in to the test server itself.
    let server = server();
    let options = sqlx::mysql::MySqlConnectOptions::new()
        .host(&server.host)
        .port(server.port)
        .username(user)
        .password(password)
        .database(&database);
    match sqlx::ConnectOptions::connect(&options).await {
        Ok(conn) => {
            let _ = sqlx::Connection::close(conn).await;
            true
        }
        Err(_) => false,
    }
}

async fn snapshot(model: &Model, pool: &MySqlPool) -> Snapshot {
    let mut local_registry = BTreeMap::new();
    let mut logs = BTreeSet::new();
    let mut used = BTreeSet::new();
    for node in &model.nodes {
        let xml = std::fs::read_to_string(node.home.join(DATASOURCES)).unwrap_or_default();
        let carbon = datasource(&xml, "WSO2_CARBON_DB");
        let database = carbon
            .as_ref()
            .and_then(|(url, _, _)| mysql_target(url))
            .map(|(_, _, db)| db);
        if let Some((url, user, password)) = &carbon {
            if logs_in(url, user, password).await {
                logs.insert(node.name.clone());
            }
        }
        for name in ["WSO2_REGISTRY_DB", "WSO2_UM_DB"] {
            if let Some((_, _, db)) = datasource(&xml, name).and_then(|(u, _, _)| mysql_target(&u))
            {
                used.insert(db);
            }
        }
        used.extend(database.clone());
        local_registry.insert(node.name.clone(), database);
    }
    let mut rows = BTreeMap::new();
    for database in used {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
        )
        .bind(&database)
        .fetch_all(pool)
        .await
        .unwrap();
        let mut total = 0u64;
        for table in tables {
            let count: i64 =
                sqlx::query_scalar(&format!("SELECT COUNT(*) FROM `{database}`.`{table}`"))
                    .fetch_one(pool)
                    .await
                    .unwrap();
            total += count as u64;
        }
        rows.insert(database, total);
    }
    let like = format!("'{}'@%", model.account);
    let mut privileges = BTreeSet::new();
    for (view, scope) in [
        ("USER_PRIVILEGES", "'*.*'"),
        ("SCHEMA_PRIVILEGES", "CONCAT(TABLE_SCHEMA, '.*')"),
        ("TABLE_PRIVILEGES", "CONCAT(TABLE_SCHEMA, '.', TABLE_NAME)"),
        (
            "COLUMN_PRIVILEGES",
            "CONCAT(TABLE_SCHEMA, '.', TABLE_NAME, '(', COLUMN_NAME, ')')",
        ),
    ] {
        let found = sqlx::query(&format!(
            "SELECT CAST(GRANTEE AS CHAR), CAST({scope} AS CHAR), CAST(PRIVILEGE_TYPE AS CHAR) \
             FROM information_schema.{view} WHERE GRANTEE LIKE ?"
        ))
        .bind(&like)
        .fetch_all(pool)
        .await
        .unwrap();
        for row in found {
            let privilege: String = row.get(2);
            if privilege != "USAGE" {
                privileges.insert((row.get(0), row.get(1), privilege));
            }
        }
    }
    Snapshot {
        local_registry,
        logs_in: logs,
        rows,
        privileges,
    }
}

/// No two nodes' files on one local registry database.
fn assert_no_shared_local_registry(model: &Model, after: &Snapshot) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (node, database) in &after.local_registry {
        if let Some(database) = database {
            if let Some(other) = seen.insert(database, node) {
                panic!(
                    "nodes {other} and {node} both point at local registry {database}\n{}",
                    model.describe()
                );
            }
        }
    }
}

/// Without --allow-destructive: nothing a node or the cluster had is gone.
fn assert_not_worse(model: &Model, before: &Snapshot, after: &Snapshot) {
    for node in &before.logs_in {
        if after.local_registry.contains_key(node) {
            assert!(
                after.logs_in.contains(node),
                "node {node} logged in with its files' credentials before the run and no longer \
                 does (its next restart fails)\n{}",
                model.describe()
            );
        }
    }
    for (node, database) in &before.local_registry {
        if let (Some(was), Some(now)) =
            (database, after.local_registry.get(node).cloned().flatten())
        {
            assert_eq!(
                was,
                &now,
                "node {node} was moved to another database without --allow-destructive\n{}",
                model.describe()
            );
        }
    }
    for (database, rows) in &before.rows {
        let now = after.rows.get(database).copied();
        // A database no node names any more was left in place (never dropped); its rows are checked
        // when a node still names it.
        if let Some(now) = now {
            assert!(
                now >= *rows,
                "{database} had {rows} rows and now has {now}\n{}",
                model.describe()
            );
        }
    }
    let lost: Vec<_> = before.privileges.difference(&after.privileges).collect();
    assert!(
        lost.is_empty(),
        "the account lost privileges without --allow-destructive: {lost:?}\n{}",
        model.describe()
    );
}

fn code_of(output: &Output) -> Option<i32> {
    output.status.code()
}

fn assert_no_crash(model: &Model, output: &Output, args: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked"),
        "eidb {args:?} panicked:\n{stderr}\n{}",
        model.describe()
    );
    assert!(
        matches!(code_of(output), Some(0..=3)),
        "eidb {args:?} ended with {:?}:\n{stderr}\n{}",
        output.status,
        model.describe()
    );
}

fn pick_step(rng: &mut Rng, model: &Model) -> Step {
    let nodes = model.nodes.len();
    match rng.below(16) {
        0 | 1 => Step::AddNode {
            at: rng.below(nodes + 1),
        },
        2 if nodes > 1 => Step::RemoveNode {
            at: rng.below(nodes),
        },
        3 => Step::RenameNode {
            at: rng.below(nodes),
        },
        4 if nodes > 1 => Step::Reorder {
            rotate: 1 + rng.below(nodes - 1),
        },
        5 | 6 => Step::NewPassword,
        7 => Step::HandEditFile {
            node: rng.below(nodes),
        },
        8 => Step::HandGrant,
        9 => Step::Interrupted {
            after_ms: 50 + rng.below(400) as u64,
        },
        _ => Step::Run {
            mode: [Mode::Full, Mode::Full, Mode::DbOnly, Mode::FilesOnly][rng.below(4)],
            allow_destructive: rng.below(3) == 0,
        },
    }
}

async fn apply(model: &mut Model, step: &Step, pool: &MySqlPool) {
    match *step {
        Step::AddNode { at } => {
            let node = model.make_node();
            model.nodes.insert(at, node);
        }
        Step::RemoveNode { at } => {
            model.nodes.remove(at);
        }
        Step::RenameNode { at } => {
            model.made += 1;
            let node = &mut model.nodes[at];
            let new = format!("n{}r", model.made);
            node.renamed_from = Some(std::mem::replace(&mut node.name, new));
        }
        Step::Reorder { rotate } => model.nodes.rotate_left(rotate),
        Step::NewPassword => {
            model.made += 1;
            model.password = format!("Model-pw'\"{}x", model.made);
        }
        Step::HandEditFile { node } => {
            // Drift an operator might make: a URL parameter of the user store's datasource.
            let path = model.nodes[node].home.join(DATASOURCES);
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(
                &path,
                text.replace("autoReconnect=true", "autoReconnect=false"),
            )
            .unwrap();
        }
        Step::HandGrant => {
            // A hand-made extra privilege for the nodes' account (when it exists).
            let _ = sqlx::raw_sql(&format!("GRANT PROCESS ON *.* TO '{}'@'%'", model.account))
                .execute(pool)
                .await;
        }
        Step::Run { .. } | Step::Interrupted { .. } => unreachable!("runs are not spec edits"),
    }
    model.write_spec();
}

async fn run_case(seed: u64) {
    let pool = admin_pool().await;
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut model = Model::new(2);
    model.write_spec();
    model.log.push(format!("seed {seed}: 2 nodes, provision"));
    let first = model.run(&["provision"]);
    assert_eq!(
        code_of(&first),
        Some(0),
        "the first provision: {}\n{}",
        String::from_utf8_lossy(&first.stderr),
        model.describe()
    );
    // Rows in every local registry, so that a repoint or a reload that loses data shows.
    for node in &model.nodes {
        let xml = std::fs::read_to_string(node.home.join(DATASOURCES)).unwrap();
        let (url, _, _) = datasource(&xml, "WSO2_CARBON_DB").unwrap();
        let (_, _, db) = mysql_target(&url).unwrap();
        sqlx::raw_sql(&format!(
            "INSERT INTO `{db}`.FX_PATH (FX_PATH_VALUE) VALUES ('/model/{}')",
            node.name
        ))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("marker row in {db}: {e}"));
    }

    for _ in 0..STEPS {
        let step = pick_step(&mut rng, &model);
        model.log.push(format!("{step:?}"));
        match step {
            Step::Run {
                mode,
                allow_destructive,
            } => {
                let mut args = vec!["provision"];
                match mode {
                    Mode::Full => {}
                    Mode::DbOnly => args.push("--db-only"),
                    Mode::FilesOnly => args.push("--files-only"),
                }
                if allow_destructive {
                    args.push("--allow-destructive");
                }
                let before = snapshot(&model, &pool).await;
                let output = model.run(&args);
                assert_no_crash(&model, &output, &args);
                let after = snapshot(&model, &pool).await;
                assert_no_shared_local_registry(&model, &after);
                if allow_destructive {
                    if code_of(&output) == Some(0) && mode == Mode::Full {
                        // Converged: the same run again changes nothing.
                        let again =
                            model.run(&["provision", "--allow-destructive", "--output", "json"]);
                        let report: serde_json::Value = serde_json::from_slice(&again.stdout)
                            .unwrap_or_else(|e| {
                                panic!(
                                    "no JSON ({e}): {}\n{}",
                                    String::from_utf8_lossy(&again.stderr),
                                    model.describe()
                                )
                            });
                        assert_eq!(
                            report["status"],
                            "unchanged",
                            "a second --allow-destructive run changed more: {report:#}\n{}",
                            model.describe()
                        );
                    }
                } else {
                    assert_not_worse(&model, &before, &after);
                }
            }
            Step::Interrupted { after_ms } => {
                let before = snapshot(&model, &pool).await;
                let mut child = model
                    .command(&["provision"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(after_ms)).await;
                // SAFETY: kill(2) on the child's pid, which we still own (not yet waited for).
                unsafe {
                    libc::kill(child.id() as i32, libc::SIGTERM);
                }
                let status = tokio::task::spawn_blocking(move || child.wait())
                    .await
                    .unwrap()
                    .unwrap();
                assert!(
                    status.code().is_some(),
                    "eidb died of the signal instead of stopping: {status:?}\n{}",
                    model.describe()
                );
                let after = snapshot(&model, &pool).await;
                assert_no_shared_local_registry(&model, &after);
                assert_not_worse(&model, &before, &after);
            }
            edit => apply(&mut model, &edit, &pool).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_edits_and_runs_never_make_the_cluster_worse() {
    let seeds: Vec<u64> = match std::env::var("EIDB_MODEL_SEED") {
        Ok(seed) => vec![seed.parse().expect("EIDB_MODEL_SEED is a number")],
        Err(_) => (1..=CASES).collect(),
    };
    for seed in seeds {
        run_case(seed).await;
    }
}

#[test]
fn the_file_reader_sees_what_a_node_reads() {
    let xml = std::fs::read_to_string(fixture_path("ei-home").join(DATASOURCES)).unwrap();
    let (url, user, password) = datasource(&xml, "WSO2_CARBON_DB").unwrap();
    assert!(url.starts_with("jdbc:h2:"), "{url}");
    assert_eq!(
        (user.as_str(), password.as_str()),
        ("wso2carbon", "wso2carbon")
    );
    assert_eq!(mysql_target(&url), None);
    assert_eq!(
        mysql_target("jdbc:mysql://h1:3307,h2:3307/REG_DB?autoReconnect=true&amp;useSSL=false"),
        Some(("h1".to_string(), 3307, "REG_DB".to_string()))
    );
    assert_eq!(unescape("a&amp;lt;&quot;"), "a&lt;\"");
    let _ = Path::new(DATASOURCES);
}
