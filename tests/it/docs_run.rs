//! The task pages run as written (issue 26): every command in a ```sh block and every statement in a
//! ```sql block of a task page is run, in page order, by the built `eidb` against a throwaway server, on
//! EI_HOMEs made from the real WSO2 files at the paths the page names. A page that no longer works as it
//! says fails here, so the docs cannot rot.
//!
//! A page says how to run it in HTML comments, which a reader of the rendered page does not see; each
//! applies to the next fenced block (except `from`, which is the page's):
//!
//! - `<!-- run: from nothing -->`: an empty server; `from provisioned`: the spec of
//!   set-up-a-new-cluster.md provisioned first; `from built-by-hand`: that cluster with eidb's ledger
//!   taken away (what a cluster built by WSO2's guide looks like). Add `, hosts` to run each line that
//!   ends in `# on NAME's host` on a host of its own (the node NAME's EI_HOME is there and nowhere else)
//!   and every other line on the DBA's machine, which holds no EI_HOME: all hosts see the same path.
//! - `<!-- run: spec PATH -->` (the block is the spec, at PATH), `spec add` (the block's `[[nodes]]` join
//!   the spec), `spec replace NAME` (the block's node takes NAME's place), `spec remove NAME` (standing
//!   alone, before the block that runs after the removal).
//! - `<!-- run: exits 0 3 -->`: the exit code of each command of the block, in order (default: all 0).
//! - `<!-- run: shows TEXT -->`: what the block's output (stdout and stderr) must contain.
//! - `<!-- run: env NAME=VALUE -->`: set for the commands from the next block on.
//! - `<!-- run: skip: WHY -->` / `<!-- run: by tests/it/FILE.rs: HOW -->`: the block is not run here, and
//!   why (another test runs it; a server this suite does not have).
//!
//! Paths under `/opt/` and `/etc/eidb/` are a temp folder's; `mysql://root@HOST:3306` is the throwaway
//! server; `export NAME=...` lines are the runner's to fulfil (it sets every password variable the pages
//! use); `[--option value]` (an optional part) is run with the option.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::cluster::{copy_tree, set_mode_tree};
use crate::common::{eidb_bin, shared_wso2_dir, TestServer};

const DRIVER_JAR: &str = "mysql-connector-java-5.1.49.jar";
/// The page whose spec the other task pages start from.
const BASE_PAGE: &str = "set-up-a-new-cluster.md";
/// How long one command of a page may take before the runner calls it hung.
const COMMAND_LIMIT_SECONDS: u32 = 120;
/// The throwaway server's root password while a page runs.
const ADMIN_PASSWORD: &str = "Admin-Pw-1";

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs")
}

#[derive(Debug, Clone, PartialEq)]
enum Directive {
    From { state: String, hosts: bool },
    Spec(String),
    SpecAdd,
    SpecReplace(String),
    SpecRemove(String),
    Exits(Vec<i32>),
    Shows(String),
    Env(String, String),
    Skip(String),
    RunBy(String),
}

fn parse_directive(body: &str, at: &str) -> Directive {
    let body = body.trim();
    let (word, rest) = body.split_once(' ').unwrap_or((body, ""));
    let rest = rest.trim();
    match word {
        "from" => {
            let (state, hosts) = match rest.split_once(',') {
                Some((state, "hosts")) | Some((state, " hosts")) => (state.trim(), true),
                Some(_) => panic!("{at}: `from STATE[, hosts]`, not `{body}`"),
                None => (rest, false),
            };
            assert!(
                ["nothing", "provisioned", "built-by-hand"].contains(&state),
                "{at}: from nothing | provisioned | built-by-hand, not `{state}`"
            );
            Directive::From {
                state: state.to_string(),
                hosts,
            }
        }
        "spec" => match rest.split_once(' ').unwrap_or((rest, "")) {
            ("add", "") => Directive::SpecAdd,
            ("replace", name) if !name.is_empty() => Directive::SpecReplace(name.to_string()),
            ("remove", name) if !name.is_empty() => Directive::SpecRemove(name.to_string()),
            (path, "") if !path.is_empty() => Directive::Spec(path.to_string()),
            _ => panic!("{at}: `spec PATH | add | replace NAME | remove NAME`, not `{body}`"),
        },
        "exits" => Directive::Exits(
            rest.split_whitespace()
                .map(|code| {
                    code.parse()
                        .unwrap_or_else(|_| panic!("{at}: exit code `{code}`"))
                })
                .collect(),
        ),
        "shows" => Directive::Shows(rest.to_string()),
        "env" => {
            let (name, value) = rest
                .split_once('=')
                .unwrap_or_else(|| panic!("{at}: `env NAME=VALUE`"));
            Directive::Env(name.to_string(), value.to_string())
        }
        "skip:" => {
            assert!(!rest.is_empty(), "{at}: a skipped block says why");
            Directive::Skip(rest.to_string())
        }
        "by" => {
            let file = rest.split([':', ' ']).next().unwrap_or("");
            assert!(
                Path::new(env!("CARGO_MANIFEST_DIR")).join(file).is_file(),
                "{at}: `by FILE: HOW` names a test file that exists, not `{file}`"
            );
            Directive::RunBy(rest.to_string())
        }
        _ => panic!("{at}: unknown directive `{body}`"),
    }
}

/// A fenced block of a page and the directives before it.
#[derive(Debug)]
struct Block {
    line: usize,
    language: String,
    text: String,
    directives: Vec<Directive>,
}

struct Page {
    from: Option<Directive>,
    blocks: Vec<Block>,
    /// Directives after the last block (must be none).
    trailing: Vec<Directive>,
}

fn read_page(name: &str) -> Page {
    let text = std::fs::read_to_string(docs_dir().join(name))
        .unwrap_or_else(|e| panic!("docs/{name}: {e}"));
    parse_page(name, &text)
}

fn parse_page(name: &str, text: &str) -> Page {
    let mut page = Page {
        from: None,
        blocks: Vec::new(),
        trailing: Vec::new(),
    };
    let mut pending = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        let at = format!("docs/{name}:{}", i + 1);
        let trimmed = line.trim();
        if let Some(block) = &mut open {
            if trimmed.starts_with("```") {
                page.blocks.push(open.take().unwrap());
            } else {
                block.text.push_str(line);
                block.text.push('\n');
            }
            continue;
        }
        if let Some(body) = trimmed
            .strip_prefix("<!-- run:")
            .and_then(|rest| rest.strip_suffix("-->"))
        {
            match parse_directive(body, &at) {
                from @ Directive::From { .. } => {
                    assert!(page.from.is_none(), "{at}: a second `from`");
                    page.from = Some(from);
                }
                directive => pending.push(directive),
            }
        } else if let Some(language) = trimmed.strip_prefix("```") {
            open = Some(Block {
                line: i + 1,
                language: language.trim().to_string(),
                text: String::new(),
                directives: std::mem::take(&mut pending),
            });
        }
    }
    assert!(open.is_none(), "docs/{name}: a block is not closed");
    page.trailing = pending;
    page
}

/// The commands of a sh block: continuations joined, comment lines and `export NAME=...` placeholders
/// left out, each with the host it runs on (`# on NAME's host`), if it names one.
fn commands(block: &str) -> Vec<(String, Option<String>)> {
    block
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter(|line| !(line.starts_with("export ") && line.contains("=...")))
        .map(|line| {
            let host = line.split_once(" # on ").and_then(|(_, rest)| {
                rest.split_once("'s host")
                    .map(|(host, _)| host.trim().to_string())
            });
            (without_optional_brackets(line), host)
        })
        .collect()
}

/// `eidb init ... [--output json]` as run: the optional part's brackets taken away.
fn without_optional_brackets(line: &str) -> String {
    let mut out = String::new();
    let mut optional = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '[' if !optional && out.ends_with(' ') && chars.peek() == Some(&'-') => optional = true,
            ']' if optional => optional = false,
            _ => out.push(c),
        }
    }
    out
}

/// One page's world: the server, the folder that stands for `/`, the spec, the environment.
struct Scene {
    server: TestServer,
    root: tempfile::TempDir,
    hosts: bool,
    env: BTreeMap<String, String>,
    /// The spec as the page writes it, and where.
    spec: Option<(String, String)>,
    transcript: String,
}

impl Scene {
    fn new(hosts: bool) -> Scene {
        let mut server = TestServer::dedicated();
        // The pages give the admin a password (`password_env = "EIDB_ADMIN_PASSWORD"`), and eidb refuses
        // an empty one there: give the throwaway server's root one.
        block_on(async {
            let pool = server.admin_pool().await;
            let hosts: Vec<(String,)> = sqlx::query_as(
                "SELECT CONVERT(Host USING utf8mb4) FROM mysql.user WHERE User = 'root'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            // One statement for every row: after it, a new connection of the pool needs the password.
            let users: Vec<String> = hosts
                .iter()
                .map(|(host,)| format!("'root'@'{host}' IDENTIFIED BY '{ADMIN_PASSWORD}'"))
                .collect();
            sqlx::raw_sql(&format!("ALTER USER {}", users.join(", ")))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        });
        server.admin_password = ADMIN_PASSWORD.to_string();
        let mut env = BTreeMap::new();
        env.insert(
            "EIDB_ADMIN_PASSWORD".to_string(),
            server.admin_password.clone(),
        );
        // The nodes' account: the rotation page's old password, under every name the pages use.
        for name in ["EIDB_REGADMIN_PASSWORD", "EIDB_ACCOUNT_PASSWORD"] {
            env.insert(name.to_string(), "OLD-PASSWORD".to_string());
        }
        let scene = Scene {
            server,
            root: tempfile::tempdir().unwrap(),
            hosts,
            env,
            spec: None,
            transcript: String::new(),
        };
        if hosts {
            scene.be_on(None);
        }
        scene
    }

    fn root(&self) -> &Path {
        self.root.path()
    }

    /// The page's text as it is here: its paths under the temp root, its server the throwaway one.
    fn localize(&self, text: &str) -> String {
        let root = self.root().display().to_string();
        let mut out = text
            .replace("/opt/", &format!("{root}/opt/"))
            .replace("/etc/eidb/", &format!("{root}/etc/eidb/"));
        let server = format!(
            "mysql://{}@{}:{}",
            self.server.admin_user, self.server.host, self.server.port
        );
        let mut from = 0;
        while let Some(start) = out[from..].find("mysql://root@").map(|at| from + at) {
            let end = out[start..]
                .find(":3306")
                .map(|at| start + at + ":3306".len())
                .unwrap_or_else(|| panic!("a server URL without :3306 in\n{text}"));
            out.replace_range(start..end, &server);
            from = start + server.len();
        }
        out
    }

    /// Hosts: `/opt` is the named host's (None: the DBA's machine, which holds no EI_HOME).
    fn be_on(&self, host: Option<&str>) {
        let host_root = self
            .root()
            .join("hosts")
            .join(host.unwrap_or("dba-machine"))
            .join("opt");
        std::fs::create_dir_all(&host_root).unwrap();
        let opt = self.root().join("opt");
        let _ = std::fs::remove_file(&opt);
        std::os::unix::fs::symlink(&host_root, &opt).unwrap();
    }

    fn set_spec(&mut self, path: &str, text: &str) {
        self.spec = Some((path.to_string(), text.to_string()));
        self.write_spec();
    }

    /// Writes the spec where the page keeps it and lays out what it names: each node's EI_HOME (the
    /// real WSO2 conf/, a Connector/J jar in lib/) and the dbscripts folder, where they are missing.
    fn write_spec(&self) {
        let (path, text) = self.spec.clone().unwrap();
        let path = self.spec_path(&path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, self.localize(&text)).unwrap();
        let spec: toml::Value = toml::from_str(&text).expect("the page's spec is TOML");
        if let Some(dir) = spec
            .get("dbscripts")
            .and_then(|d| d.get("dir"))
            .and_then(|d| d.as_str())
        {
            let dir = PathBuf::from(self.localize(dir));
            if !dir.exists() {
                copy_tree(&shared_wso2_dir().join("dbscripts"), &dir);
            }
        }
        for node in spec.get("nodes").and_then(|n| n.as_array()).unwrap() {
            let name = node["name"].as_str().unwrap();
            let ei_home = node["ei_home"].as_str().unwrap();
            if self.hosts {
                self.be_on(Some(name));
            }
            let home = PathBuf::from(self.localize(ei_home));
            if !home.join("conf").exists() {
                copy_tree(&shared_wso2_dir().join("conf"), &home.join("conf"));
                // The real files are read-only in ../shared; a distribution ships them writable.
                set_mode_tree(&home.join("conf"), 0o644);
                std::fs::create_dir_all(home.join("lib")).unwrap();
                std::fs::write(home.join("lib").join(DRIVER_JAR), b"").unwrap();
                // As in a distribution: `eidb init` finds the dbscripts in the EI_HOME.
                copy_tree(
                    &shared_wso2_dir().join("dbscripts"),
                    &home.join("dbscripts"),
                );
            }
        }
        if self.hosts {
            self.be_on(None);
        }
    }

    fn spec_path(&self, path: &str) -> PathBuf {
        if path.starts_with('/') {
            PathBuf::from(self.localize(path))
        } else {
            self.root().join(path)
        }
    }

    /// Runs one command line as a shell would, in the page's folder; returns its exit code and output.
    fn run(&mut self, line: &str, host: Option<&str>) -> (i32, String) {
        if self.hosts {
            self.be_on(host);
        }
        let bin_dir = eidb_bin().parent().unwrap().to_path_buf();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let output = Command::new("timeout")
            .arg(COMMAND_LIMIT_SECONDS.to_string())
            .args(["bash", "-c"])
            .arg(self.localize(line))
            .current_dir(self.root())
            .env("PATH", path)
            .env_remove("RUST_LOG")
            .env_remove("EIDB_TEST_TIMEOUTS")
            .env_remove("EIDB_CONNECT_TIMEOUT")
            .env_remove("EIDB_STATEMENT_TIMEOUT")
            .envs(&self.env)
            .output()
            .expect("run bash");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let code = output.status.code().unwrap_or(-1);
        self.transcript.push_str(&format!(
            "$ {line}{}\n[exit {code}]\n{text}\n",
            host.map(|h| format!("   (on {h})")).unwrap_or_default()
        ));
        (code, text)
    }

    fn sql(&mut self, statements: &str) {
        block_on(async {
            let pool = self.server.admin_pool().await;
            sqlx::raw_sql(statements)
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("the page's SQL failed: {e}\n{statements}"));
            pool.close().await;
        });
        self.transcript.push_str(&format!("sql> {statements}\n"));
    }

    /// A cluster as WSO2's guide has it built by hand: the databases, the account, its grants and the
    /// node files, and no eidb ledger. Made by provisioning the base spec elsewhere and taking the
    /// ledger (and the account's grants on it) away.
    fn build_by_hand(&mut self) {
        let (_, text) = base_spec();
        self.set_spec(".built-by-hand/cluster.toml", &text);
        let (code, output) = self.run("eidb provision --config .built-by-hand/cluster.toml", None);
        assert_eq!(code, 0, "building the cluster by hand:\n{output}");
        block_on(async {
            let pool = self.server.admin_pool().await;
            let grants: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT CONVERT(User USING utf8mb4), CONVERT(Host USING utf8mb4), \
                 CONVERT(Table_name USING utf8mb4) FROM mysql.tables_priv WHERE Db = 'EIDB_META'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            for (user, host, table) in grants {
                sqlx::raw_sql(&format!(
                    "REVOKE ALL PRIVILEGES ON `EIDB_META`.`{table}` FROM '{user}'@'{host}'"
                ))
                .execute(&pool)
                .await
                .unwrap();
            }
            sqlx::raw_sql("DROP DATABASE EIDB_META")
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        });
        std::fs::remove_dir_all(self.root().join(".built-by-hand")).unwrap();
        self.spec = None;
    }
}

/// The spec of set-up-a-new-cluster.md (where it keeps it, its text): what the other task pages start from.
fn base_spec() -> (String, String) {
    let page = read_page(BASE_PAGE);
    page.blocks
        .iter()
        .find_map(|block| {
            block.directives.iter().find_map(|d| match d {
                Directive::Spec(path) => Some((path.clone(), block.text.clone())),
                _ => None,
            })
        })
        .unwrap_or_else(|| panic!("docs/{BASE_PAGE} has a `<!-- run: spec PATH -->` block"))
}

/// `text`'s `[[nodes]]` entries, each as its own text, with what comes before the first.
fn split_nodes(text: &str) -> (String, Vec<String>) {
    let mut parts = text.split("[[nodes]]");
    let head = parts.next().unwrap_or("").to_string();
    (head, parts.map(|p| format!("[[nodes]]{p}")).collect())
}

fn node_name(entry: &str) -> String {
    let value: toml::Value = toml::from_str(&entry.replace("[[nodes]]", "[node]")).unwrap();
    value["node"]["name"].as_str().unwrap().to_string()
}

fn edit_spec(scene: &mut Scene, directive: &Directive, block: &str, at: &str) {
    let (path, text) = match &scene.spec {
        Some(spec) => spec.clone(),
        None => panic!("{at}: changes the spec before there is one"),
    };
    let (head, mut nodes) = split_nodes(&text);
    match directive {
        Directive::SpecAdd => nodes.push(format!("\n{}", block.trim_start())),
        Directive::SpecReplace(name) | Directive::SpecRemove(name) => {
            let at_node = nodes
                .iter()
                .position(|entry| node_name(entry) == *name)
                .unwrap_or_else(|| panic!("{at}: the spec has no node {name}"));
            if matches!(directive, Directive::SpecReplace(_)) {
                nodes[at_node] = format!("{}\n", block.trim());
            } else {
                nodes.remove(at_node);
            }
        }
        _ => unreachable!(),
    }
    let joined: String = nodes
        .iter()
        .map(|entry| format!("{}\n\n", entry.trim()))
        .collect();
    scene.set_spec(
        &path,
        &format!("{}{joined}", head.trim_end().to_string() + "\n\n"),
    );
}

/// Runs a task page from its `from` on; panics with the page's transcript at the first step that does
/// not do what the page says.
fn run_page(name: &str) {
    let page = read_page(name);
    let Some(Directive::From { state, hosts }) = page.from.clone() else {
        panic!("docs/{name} has no `<!-- run: from ... -->`: it is not a page this runner runs");
    };
    assert!(
        page.trailing.is_empty(),
        "docs/{name}: directives after the last block"
    );
    let mut scene = Scene::new(hosts);
    match state.as_str() {
        "nothing" => {}
        "provisioned" => {
            let (path, text) = base_spec();
            scene.set_spec(&path, &text);
            let (code, output) = scene.run(&format!("eidb provision --config {path}"), None);
            assert_eq!(
                code, 0,
                "docs/{name}: provisioning the base cluster:\n{output}"
            );
        }
        "built-by-hand" => scene.build_by_hand(),
        _ => unreachable!(),
    }
    let mut ran = 0;
    for block in &page.blocks {
        let at = format!("docs/{name}:{}", block.line);
        let mut exits = None;
        let mut shows = Vec::new();
        let mut skipped = false;
        for directive in &block.directives {
            match directive {
                Directive::Env(var, value) => {
                    scene.env.insert(var.clone(), value.clone());
                }
                Directive::SpecRemove(_) => edit_spec(&mut scene, directive, "", &at),
                Directive::Spec(path) => scene.set_spec(path, &block.text),
                Directive::SpecAdd | Directive::SpecReplace(_) => {
                    edit_spec(&mut scene, directive, &block.text, &at)
                }
                Directive::Exits(codes) => exits = Some(codes.clone()),
                Directive::Shows(text) => shows.push(text.clone()),
                Directive::Skip(_) | Directive::RunBy(_) => skipped = true,
                Directive::From { .. } => unreachable!(),
            }
        }
        if skipped {
            continue;
        }
        match block.language.as_str() {
            "sh" => {
                let commands = commands(&block.text);
                let expected = exits.unwrap_or_else(|| vec![0; commands.len()]);
                assert_eq!(
                    expected.len(),
                    commands.len(),
                    "{at}: `exits` names {} codes for {} commands",
                    expected.len(),
                    commands.len()
                );
                let mut output = String::new();
                for ((command, host), want) in commands.iter().zip(expected) {
                    let (code, text) = scene.run(command, host.as_deref());
                    ran += 1;
                    assert_eq!(
                        code, want,
                        "{at}: `{command}` exited {code}, the page says {want}\n--- the page's run so far:\n{}",
                        scene.transcript
                    );
                    output.push_str(&text);
                }
                for text in shows {
                    assert!(
                        output.contains(&text),
                        "{at}: the block's output does not show `{text}`\n--- the page's run so far:\n{}",
                        scene.transcript
                    );
                }
            }
            "sql" => {
                scene.sql(&block.text);
                ran += 1;
            }
            _ => {}
        }
    }
    assert!(ran > 0, "docs/{name}: ran no command");
    // Shown with `--nocapture`: what the page's commands printed.
    println!("{}", scene.transcript);
}

/// The pages with a `from`, in docs/.
fn run_pages() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(docs_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .filter(|name| read_page(name).from.is_some())
        .collect();
    names.sort();
    names
}

#[test]
fn set_up_a_new_cluster() {
    run_page("set-up-a-new-cluster.md");
}

#[test]
fn adopt_a_cluster() {
    run_page("adopt-a-cluster.md");
}

#[test]
fn add_remove_rename_a_node() {
    run_page("add-remove-rename-a-node.md");
}

#[test]
fn rotate_password() {
    run_page("rotate-password.md");
}

#[test]
fn monitor_with_verify() {
    run_page("monitor-with-verify.md");
}

#[test]
fn cluster_across_hosts() {
    run_page("cluster-across-hosts.md");
}

/// The pages this file runs, by name: a new task page gets its test above.
const RUN_HERE: &[&str] = &[
    "add-remove-rename-a-node.md",
    "adopt-a-cluster.md",
    "cluster-across-hosts.md",
    "monitor-with-verify.md",
    "rotate-password.md",
    "set-up-a-new-cluster.md",
];

/// No command in the docs goes unrun without saying why: every ```sh or ```sql block of README.md and
/// docs/ is on a page run above, or says which test runs it or why it is not run.
#[test]
fn every_command_block_is_run_or_says_why() {
    assert_eq!(
        run_pages(),
        RUN_HERE,
        "the pages with `<!-- run: from ... -->` and the tests of this file differ"
    );
    let mut unrun = Vec::new();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(docs_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"));
    for path in pages {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let page = parse_page(&name, &text);
        if page.from.is_some() {
            continue;
        }
        for block in &page.blocks {
            let said = block
                .directives
                .iter()
                .any(|d| matches!(d, Directive::Skip(_) | Directive::RunBy(_)));
            if ["sh", "sql"].contains(&block.language.as_str()) && !said {
                unrun.push(format!("{name}:{}", block.line));
            }
        }
    }
    assert!(
        unrun.is_empty(),
        "blocks of commands that no test runs and that do not say why (`<!-- run: from ... -->` on the \
         page, or `<!-- run: by FILE: HOW -->` / `<!-- run: skip: WHY -->` before the block):\n{}",
        unrun.join("\n")
    );
}

#[test]
fn the_runner_reads_what_the_pages_write() {
    let page = parse_page(
        "example.md",
        "# T\n<!-- run: from provisioned, hosts -->\n<!-- run: exits 0 3 -->\n<!-- run: shows in sync -->\n\
         ```sh\nexport A=... B=...\neidb provision \\\n  --config c.toml   # on node2's host\n\
         eidb init [--output json]\n```\n<!-- run: skip: MySQL 8 only -->\n```sql\nSELECT 1;\n```\n",
    );
    assert_eq!(
        page.from,
        Some(Directive::From {
            state: "provisioned".into(),
            hosts: true
        })
    );
    assert_eq!(page.blocks.len(), 2);
    assert_eq!(
        page.blocks[0].directives,
        vec![
            Directive::Exits(vec![0, 3]),
            Directive::Shows("in sync".into())
        ]
    );
    assert_eq!(
        commands(&page.blocks[0].text),
        vec![
            (
                "eidb provision    --config c.toml   # on node2's host".to_string(),
                Some("node2".to_string())
            ),
            ("eidb init --output json".to_string(), None),
        ]
    );
    assert_eq!(
        page.blocks[1].directives,
        vec![Directive::Skip("MySQL 8 only".into())]
    );
}
