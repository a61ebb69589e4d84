//! A server that accepts the connection and never answers (issue 23, item 6): a frozen server, a
//! half-dead virtual IP. Every connection attempt and every wait for an answer has a limit
//! (`--connect-timeout`, `--statement-timeout`, or `EIDB_CONNECT_TIMEOUT` / `EIDB_STATEMENT_TIMEOUT`),
//! `verify` exits 2 within it, and SIGTERM / SIGINT end a run that waits on such a server within about
//! a second, saying where it stopped, with no node file half written.
//!
//! The stand-ins: [`Silent`] accepts TCP and never sends a byte; a [`Proxy`] in [`CutMode::Freeze`]
//! forwards to the test server until eidb sends the dbscript's first table, then forwards nothing more on
//! any connection and answers no new one.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::cluster::{Cluster, Conf};
use common::proxy::{CutMode, Proxy, Silent};
use common::server;

/// Slack for starting eidb and its runtime on a busy machine (the tests share 2 cores with others).
const SLACK: Duration = Duration::from_secs(4);

/// A text only the dbscript sends (its first table).
const DBSCRIPT_TABLE: &str = "FX_PATH";

struct Run {
    child: Child,
    started: Instant,
    stdout: PathBuf,
    stderr: PathBuf,
}

struct Ended {
    code: Option<i32>,
    took: Duration,
    stderr: String,
    stdout: String,
}

impl Ended {
    fn said(&self) -> String {
        format!(
            "exit {:?} after {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code, self.took, self.stdout, self.stderr
        )
    }
}

/// Start eidb with the cluster's passwords and `env`, output to files in the cluster's folder.
fn start(cluster: &Cluster, spec: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let stdout = cluster.dir.path().join("eidb.out");
    let stderr = cluster.dir.path().join("eidb.err");
    let mut command = cluster.eidb_command(spec, args);
    command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .env_remove("EIDB_CONNECT_TIMEOUT")
        .env_remove("EIDB_STATEMENT_TIMEOUT");
    for (name, value) in env {
        command.env(name, value);
    }
    Run {
        child: command.spawn().expect("start eidb"),
        started: Instant::now(),
        stdout,
        stderr,
    }
}

impl Run {
    /// Wait until eidb ends; kill it and fail the test when it is still running after `limit`.
    fn end_within(mut self, limit: Duration) -> Ended {
        let deadline = self.started + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "eidb was still running {limit:?} after it started (killed):\n--- stderr:\n{}",
                    std::fs::read_to_string(&self.stderr).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Ended {
            code: status.code(),
            took: self.started.elapsed(),
            stdout: std::fs::read_to_string(&self.stdout).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.stderr).unwrap_or_default(),
        }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        let sent = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(sent, 0, "kill({}, {signal}) failed", self.child.id());
    }
}

/// A spec of `cluster` that names the server at `port` (a stand-in) instead of the test server.
fn spec_on(cluster: &Cluster, name: &str, port: u16) -> PathBuf {
    cluster.spec_variant(name, &[("127.0.0.1".to_string(), port)])
}

/// The proxy to the test server that freezes when eidb sends the dbscript's first table.
fn freezing_proxy() -> Proxy {
    let server = server();
    Proxy::start(
        (&server.host, server.port),
        DBSCRIPT_TABLE,
        1,
        CutMode::Freeze,
    )
}

/// Every node's conf folder holds no eidb temp file (`.eidb-*.tmp`), no backup, and the files as
/// the test made them.
fn assert_files_untouched(cluster: &Cluster, before: &[(PathBuf, Vec<u8>)]) {
    for (path, bytes) in before {
        assert_eq!(
            &std::fs::read(path).unwrap(),
            bytes,
            "{} changed",
            path.display()
        );
    }
    for home in &cluster.nodes {
        for entry in walk(&home.join("conf")) {
            let name = entry.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !(name.starts_with(".eidb-") || name.ends_with(".eidb-orig")),
                "eidb left {} behind",
                entry.display()
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn node_files(cluster: &Cluster) -> Vec<(PathBuf, Vec<u8>)> {
    cluster
        .nodes
        .iter()
        .flat_map(|home| walk(&home.join("conf")))
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

/// `verify` against a server that accepts the connection and never sends its greeting: exit 2 within
/// the connect limit, set here through the environment, saying what happened.
#[test]
fn verify_of_a_server_that_never_answers_exits_2_within_the_connect_limit() {
    let silent = Silent::start();
    let cluster = Cluster::new(1, Conf::Fixture);
    let spec = spec_on(&cluster, "silent.toml", silent.port);
    let ended = start(
        &cluster,
        &spec,
        &["verify", "--db-only"],
        &[("EIDB_CONNECT_TIMEOUT", "2")],
    )
    .end_within(Duration::from_secs(30));
    let said = ended.said();
    assert_eq!(ended.code, Some(2), "{said}");
    assert!(ended.took < Duration::from_secs(2) + SLACK, "{said}");
    assert!(
        ended.stderr.contains("no answer within 2 s"),
        "says why:\n{said}"
    );
    assert!(silent.accepted() >= 1, "eidb connected to the stand-in");
}

/// The flag beside the variable, and `provision`: the same limit, exit 1 (a failed run).
#[test]
fn provision_to_a_server_that_never_answers_fails_within_the_connect_flag() {
    let silent = Silent::start();
    let cluster = Cluster::new(1, Conf::Fixture);
    let spec = spec_on(&cluster, "silent.toml", silent.port);
    let before = node_files(&cluster);
    let ended = start(
        &cluster,
        &spec,
        &["provision", "--connect-timeout", "1"],
        &[],
    )
    .end_within(Duration::from_secs(30));
    let said = ended.said();
    assert_eq!(ended.code, Some(1), "{said}");
    assert!(ended.took < Duration::from_secs(1) + SLACK, "{said}");
    assert!(ended.stderr.contains("no answer within 1 s"), "{said}");
    assert_files_untouched(&cluster, &before);
}

/// The server freezes while `provision` loads the dbscript: the run ends after the statement limit,
/// exit 1, naming what it waited for; the node files are as they were (the file phase comes later).
#[test]
fn provision_whose_server_freezes_mid_run_ends_after_the_statement_limit() {
    let proxy = freezing_proxy();
    let cluster = Cluster::new(2, Conf::Fixture);
    let spec = spec_on(&cluster, "frozen.toml", proxy.port);
    let before = node_files(&cluster);
    let run = start(
        &cluster,
        &spec,
        &["provision"],
        &[("EIDB_STATEMENT_TIMEOUT", "3")],
    );
    proxy.wait_frozen(Duration::from_secs(60));
    let frozen_at = Instant::now();
    let ended = run.end_within(Duration::from_secs(90));
    let said = ended.said();
    assert_eq!(ended.code, Some(1), "{said}");
    assert!(
        frozen_at.elapsed() < Duration::from_secs(3) + SLACK,
        "ended {:?} after the freeze:\n{said}",
        frozen_at.elapsed()
    );
    assert!(
        ended.stderr.contains("no answer from the server for 3 s"),
        "says why:\n{said}"
    );
    assert!(
        ended.stderr.contains("the last step started"),
        "says where it stopped:\n{said}"
    );
    assert_files_untouched(&cluster, &before);
}

/// `verify` of a cluster whose server freezes after the connection (here: the proxy freezes on the
/// first read that names the user store): exit 2 within the statement limit.
#[test]
fn verify_whose_server_freezes_after_connecting_exits_2_within_the_statement_limit() {
    let cluster = Cluster::new(1, Conf::Fixture);
    let server = server();
    let proxy = Proxy::start(
        (&server.host, server.port),
        &cluster.user_store,
        1,
        CutMode::Freeze,
    );
    let spec = spec_on(&cluster, "frozen.toml", proxy.port);
    let run = start(
        &cluster,
        &spec,
        &["verify", "--db-only"],
        &[("EIDB_STATEMENT_TIMEOUT", "2")],
    );
    proxy.wait_frozen(Duration::from_secs(60));
    let frozen_at = Instant::now();
    let ended = run.end_within(Duration::from_secs(90));
    let said = ended.said();
    assert_eq!(ended.code, Some(2), "{said}");
    assert!(
        frozen_at.elapsed() < Duration::from_secs(2) + SLACK,
        "ended {:?} after the freeze:\n{said}",
        frozen_at.elapsed()
    );
    assert!(ended.stderr.contains("no answer from the server"), "{said}");
}

/// SIGTERM and SIGINT to a `provision` that waits on a frozen server (the statement limit is the
/// default 300 s): it ends within 2 s of the signal, says it was interrupted and where, and leaves no
/// temp file, backup or changed file in any node's folder.
#[test]
fn a_signal_ends_a_run_waiting_on_a_frozen_server_at_once() {
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        let proxy = freezing_proxy();
        let cluster = Cluster::new(2, Conf::Fixture);
        let spec = spec_on(&cluster, "frozen.toml", proxy.port);
        let before = node_files(&cluster);
        let run = start(&cluster, &spec, &["provision"], &[]);
        proxy.wait_frozen(Duration::from_secs(60));
        let sent = Instant::now();
        run.signal(signal);
        let ended = run.end_within(Duration::from_secs(20));
        let said = ended.said();
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "{name}: ended {:?} after the signal:\n{said}",
            sent.elapsed()
        );
        assert_eq!(ended.code, Some(1), "{name}:\n{said}");
        assert!(
            ended
                .stderr
                .contains("interrupted while waiting for the server"),
            "{name}: says it was interrupted:\n{said}"
        );
        assert!(
            ended.stderr.contains("the last step started"),
            "{name}: says where it stopped:\n{said}"
        );
        assert_files_untouched(&cluster, &before);
    }
}
