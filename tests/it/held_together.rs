//! Changes that depend on each other are held back and applied together (issue "Never worse, round two",
//! items 1 and 2, and issue "Adopting as promised", item 5): a node file that carries a new password waits
//! for the account's password change; `--files-only` never points a node at a database another node's
//! files use; a refused run reports what it would have done as planned, not as changes; and `--dry-run`,
//! `verify` and `provision` show the same changes with the same held-back status.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use common::admin_pool;
use common::check::{snapshot_differences, snapshot_files};
use common::cluster::{Cluster, Conf, ACCOUNT_PASSWORD};

const DATASOURCES: &str = "conf/datasources/master-datasources.xml";
const ACCOUNT_PASSWORD_ENV: &str = "EIDB_IT_ACCOUNT_PASSWORD";
const NEW_PASSWORD: &str = "Rotated-pw-2026-x9";

fn spec_without_nodes(cluster: &Cluster) -> String {
    let text = cluster.spec_text();
    text[..text.find("\n[[nodes]]").unwrap()].to_string()
}

/// Rewrites the spec's nodes: (name, index of the EI_HOME, extra keys).
fn write_nodes(cluster: &Cluster, nodes: &[(&str, usize, &str)]) {
    let mut text = spec_without_nodes(cluster);
    for (name, home, extra) in nodes {
        text.push_str(&format!(
            "\n[[nodes]]\nname = \"{name}\"\nei_home = {:?}\n{extra}\n",
            cluster.nodes[*home].display().to_string()
        ));
    }
    std::fs::write(&cluster.spec_path, text).unwrap();
}

/// The database the WSO2CarbonDB datasource of EI_HOME `home` names, read back from its file.
fn local_registry_of(cluster: &Cluster, home: usize) -> String {
    let text = std::fs::read_to_string(cluster.node_file(home, DATASOURCES)).unwrap();
    let at = text.find("<name>jdbc/WSO2CarbonDB</name>").unwrap();
    let url_start = at + text[at..].find("<url>").unwrap() + "<url>".len();
    let url = &text[url_start..url_start + text[url_start..].find("</url>").unwrap()];
    if !url.starts_with("jdbc:mysql") {
        return url.to_string();
    }
    let path = url.split("://").nth(1).unwrap();
    path.split('/')
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

/// Runs eidb with `--output json` and the account password `password`; (exit code, report, stderr).
fn run_json(cluster: &Cluster, password: &str, args: &[&str]) -> (i32, Value, String) {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let mut command = cluster.eidb_command(&cluster.spec_path, &all);
    command.env(ACCOUNT_PASSWORD_ENV, password);
    let output = command.output().expect("run eidb");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\nstdout: {stdout}\nstderr: {stderr}"));
    (output.status.code().unwrap_or(-1), report, stderr)
}

async fn logs_in(cluster: &Cluster, password: &str) -> bool {
    let server = common::server();
    let options = sqlx::mysql::MySqlConnectOptions::new()
        .host(&server.host)
        .port(server.port)
        .username(&cluster.account)
        .password(password)
        .database(&cluster.user_store);
    match sqlx::ConnectOptions::connect(&options).await {
        Ok(conn) => {
            let _ = sqlx::Connection::close(conn).await;
            true
        }
        Err(_) => false,
    }
}

fn entries(report: &Value, field: &str) -> Vec<Value> {
    report[field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field}[] in the report: {report:#}"))
        .clone()
}

fn edits_of(list: &[Value]) -> Vec<String> {
    list.iter()
        .filter(|c| c["change"] == "edit_file")
        .map(|c| c["file"].as_str().unwrap().to_string())
        .collect()
}

/// A plaintext `<password>` of the account in a datasources file (the real files hold others too).
fn holds_password(path: &Path, password: &str) -> bool {
    let text = std::fs::read_to_string(path).unwrap();
    let escaped = password
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    text.contains(&format!(">{escaped}</password>"))
        || text.contains(&format!(">{password}</password>"))
}

fn two_node_cluster() -> Cluster {
    let cluster =
        Cluster::new(2, Conf::RealWso2).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.set_conf_mode(0o644);
    cluster.eidb_ok(&["provision"]);
    cluster
}

/// 23.1: the password changes in the spec. A plain provision holds back the account's password change
/// and every node file edit that writes the new password: the nodes keep the password the server
/// accepts. With --allow-destructive the account is changed and the files written in the same run, and
/// the report names the nodes to restart.
#[tokio::test]
async fn a_held_back_password_change_holds_back_the_files_that_carry_it() {
    let cluster = two_node_cluster();
    let before = snapshot_files(cluster.dir.path());

    let (code, report, stderr) = run_json(&cluster, NEW_PASSWORD, &["provision"]);
    assert_eq!(code, 3, "{report:#}\n{stderr}");
    assert_eq!(report["status"], "held_back", "{report:#}");
    let held = entries(&report, "held_back");
    assert!(
        held.iter().any(|c| c["change"] == "alter_account"),
        "{report:#}"
    );
    let held_files = edits_of(&held);
    for home in 0..2 {
        let file = cluster.node_file(home, DATASOURCES).display().to_string();
        assert!(
            held_files.contains(&file),
            "{file} carries the new password: held back with the account change: {report:#}"
        );
    }
    for c in held.iter().filter(|c| c["change"] == "edit_file") {
        assert!(
            c["held_with"]
                .as_str()
                .is_some_and(|w| w.contains("alter account")),
            "a held file says what it is held with: {c:#}"
        );
    }
    assert!(
        edits_of(&entries(&report, "changes")).is_empty(),
        "no node file is written: {report:#}"
    );
    assert!(
        snapshot_differences(&before, &snapshot_files(cluster.dir.path())).is_empty(),
        "every node file is as it was"
    );
    for home in 0..2 {
        assert!(holds_password(
            &cluster.node_file(home, DATASOURCES),
            ACCOUNT_PASSWORD
        ));
    }
    assert!(
        logs_in(&cluster, ACCOUNT_PASSWORD).await,
        "the old password still works"
    );

    let (code, report, stderr) = run_json(
        &cluster,
        NEW_PASSWORD,
        &["provision", "--allow-destructive"],
    );
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert!(logs_in(&cluster, NEW_PASSWORD).await);
    for home in 0..2 {
        assert!(
            holds_password(&cluster.node_file(home, DATASOURCES), NEW_PASSWORD),
            "node {} holds the new password",
            home + 1
        );
    }
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("restart") && warnings.contains("node1") && warnings.contains("node2"),
        "the report names the nodes to restart: {report:#}"
    );
    let (code, report, _) = run_json(&cluster, NEW_PASSWORD, &["verify"]);
    assert_eq!(code, 0, "{report:#}");
}

/// 23.2: a node inserted between node1 and node2, then `provision --files-only` (no server, no ledger):
/// the files say node1 uses LOC1 and node2 LOC2, so the new node gets a database no node uses (LOC3),
/// never node2's live local registry; a full run then agrees with it.
#[tokio::test]
async fn files_only_never_points_a_new_node_at_another_nodes_local_registry() {
    let cluster =
        Cluster::new(3, Conf::RealWso2).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.set_conf_mode(0o644);
    write_nodes(&cluster, &[("node1", 0, ""), ("node2", 1, "")]);
    cluster.eidb_ok(&["provision"]);
    let prefix = cluster.local_prefix.clone();
    assert_eq!(local_registry_of(&cluster, 0), format!("{prefix}1"));
    assert_eq!(local_registry_of(&cluster, 1), format!("{prefix}2"));

    write_nodes(
        &cluster,
        &[("node1", 0, ""), ("node3", 2, ""), ("node2", 1, "")],
    );
    let (code, report) = cluster.eidb_json(&["provision", "--files-only"]);
    assert_eq!(
        local_registry_of(&cluster, 1),
        format!("{prefix}2"),
        "node2 keeps its database: {report:#}"
    );
    assert_ne!(
        local_registry_of(&cluster, 2),
        format!("{prefix}2"),
        "the new node must not be pointed at node2's live local registry: {report:#}"
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        local_registry_of(&cluster, 2),
        format!("{prefix}3"),
        "{report:#}"
    );

    // The full run agrees with what the files say: it creates LOC3 and changes no node's database.
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(local_registry_of(&cluster, 2), format!("{prefix}3"));
    let pool = admin_pool().await;
    assert!(common::check::database_exists(&pool, &format!("{prefix}3")).await);
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
}

/// 23.2, the spec naming it: a node given another node's live local registry with `--files-only` is
/// refused before anything changes, as a full run refuses it.
#[tokio::test]
async fn files_only_refuses_a_database_another_nodes_files_use() {
    let cluster =
        Cluster::new(3, Conf::RealWso2).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.set_conf_mode(0o644);
    write_nodes(&cluster, &[("node1", 0, ""), ("node2", 1, "")]);
    cluster.eidb_ok(&["provision"]);
    let prefix = cluster.local_prefix.clone();
    let taken = format!("local_registry = \"{prefix}2\"");
    write_nodes(
        &cluster,
        &[("node1", 0, ""), ("node3", 2, &taken), ("node2", 1, "")],
    );
    let before = snapshot_files(cluster.dir.path());
    for args in [&["provision", "--files-only"][..], &["provision"][..]] {
        let output = cluster.eidb(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_ne!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert_ne!(output.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("{prefix}2")), "{args:?}: {stderr}");
        assert!(
            snapshot_differences(&before, &snapshot_files(cluster.dir.path())).is_empty(),
            "{args:?}: nothing changes"
        );
    }
    assert_eq!(local_registry_of(&cluster, 1), format!("{prefix}2"));
}

/// 28.5: a run that stops on a conflict changes nothing and says so: its plan is listed as planned (JSON
/// `planned[]`, "Planned (not applied: ...)"), never as changes.
#[tokio::test]
async fn a_refused_run_lists_its_plan_as_planned_not_as_changes() {
    let pool = admin_pool().await;
    let cluster = Cluster::new(1, Conf::Fixture).with_driver_jar("mysql-connector-java-5.1.49.jar");
    // The user store exists in another charset than the spec's: a conflict.
    common::check::exec(
        &pool,
        &format!(
            "CREATE DATABASE `{}` CHARACTER SET latin1",
            cluster.user_store
        ),
    )
    .await;
    let cluster = cluster.with_databases("charset = \"utf8mb4\"");
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["status"], "failed", "{report:#}");
    assert!(
        entries(&report, "changes").is_empty(),
        "nothing was changed, so no changes: {report:#}"
    );
    assert!(!entries(&report, "planned").is_empty(), "{report:#}");
    assert!(!entries(&report, "conflicts").is_empty(), "{report:#}");

    let output = cluster.eidb(&["provision"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(!stdout.contains("Changes:"), "{stdout}");
    assert!(stdout.contains("Planned (not applied"), "{stdout}");
}

/// What a report says the run would do or did: (subject, summary, held back without
/// --allow-destructive).
type Said = BTreeSet<(String, String, bool)>;

fn said(list: &[Value], held: Option<bool>) -> Said {
    list.iter()
        .map(|c| {
            let is_held =
                held.unwrap_or_else(|| c["destructive"].is_string() || c["held_with"].is_string());
            (
                c["subject"].as_str().unwrap().to_string(),
                c["summary"].as_str().unwrap().to_string(),
                is_held,
            )
        })
        .collect()
}

/// The dry run, verify and a plain provision on the same state: the same changes, each with the same
/// held-back status (provision's `changes[]` are applied, its `held_back[]` held).
fn assert_three_agree(cluster: &Cluster, password: &str, scenario: &str) -> Value {
    let (_, dry, _) = run_json(cluster, password, &["provision", "--dry-run"]);
    let (_, verify, _) = run_json(cluster, password, &["verify"]);
    let (code, provision, stderr) = run_json(cluster, password, &["provision"]);
    assert!(
        code == 0 || code == 3,
        "{scenario}: {provision:#}\n{stderr}"
    );
    let from_dry = said(&entries(&dry, "changes"), None);
    let from_verify = said(&entries(&verify, "planned"), None);
    let mut from_provision = said(&entries(&provision, "changes"), Some(false));
    from_provision.extend(said(&entries(&provision, "held_back"), Some(true)));
    assert!(
        !from_dry.is_empty(),
        "{scenario}: the scenario changes something"
    );
    assert_eq!(from_dry, from_verify, "{scenario}: dry run vs verify");
    assert_eq!(from_dry, from_provision, "{scenario}: dry run vs provision");
    // verify's findings say the same about what needs --allow-destructive.
    let held_subjects: BTreeSet<String> = from_dry
        .iter()
        .filter(|(_, _, held)| *held)
        .map(|(subject, _, _)| subject.clone())
        .collect();
    for finding in entries(&verify, "findings") {
        let subject = finding["subject"].as_str().unwrap();
        let needs = finding["fix"]
            .as_str()
            .unwrap()
            .contains("--allow-destructive");
        if subject.starts_with("node ") && finding["check"] != "shared_local_registry" {
            assert_eq!(
                needs,
                held_subjects.contains(subject),
                "{scenario}: the fix of {finding:#} vs the held back {held_subjects:?}"
            );
        }
    }
    provision
}

#[tokio::test]
async fn dry_run_verify_and_provision_report_the_same_changes() {
    let cluster =
        Cluster::new(3, Conf::RealWso2).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.set_conf_mode(0o644);
    write_nodes(&cluster, &[("node1", 0, ""), ("node2", 1, "")]);
    cluster.eidb_ok(&["provision"]);

    // A password change.
    let provision = assert_three_agree(&cluster, NEW_PASSWORD, "password change");
    assert!(!entries(&provision, "held_back").is_empty());
    let (code, report, _) = run_json(
        &cluster,
        NEW_PASSWORD,
        &["provision", "--allow-destructive"],
    );
    assert_eq!(code, 0, "{report:#}");
    let password = NEW_PASSWORD;

    // A mount target change.
    let with_mount = |target: &str| {
        let text = std::fs::read_to_string(&cluster.spec_path).unwrap();
        let text = text.replacen(
            "\n[[nodes]]",
            &format!("\n[registry]\nconfig_mount_target = \"{target}\"\n\n[[nodes]]"),
            1,
        );
        std::fs::write(&cluster.spec_path, text).unwrap();
    };
    with_mount("/_system/eiconfig2");
    assert_three_agree(&cluster, password, "mount target change");

    // A new node inserted in the middle.
    let text = std::fs::read_to_string(&cluster.spec_path).unwrap();
    let head = text[..text.find("\n[[nodes]]").unwrap()].to_string();
    let nodes = |list: &[(&str, usize, &str)]| {
        let mut text = head.clone();
        for (name, home, extra) in list {
            text.push_str(&format!(
                "\n[[nodes]]\nname = \"{name}\"\nei_home = {:?}\n{extra}\n",
                cluster.nodes[*home].display().to_string()
            ));
        }
        std::fs::write(&cluster.spec_path, text).unwrap();
    };
    nodes(&[("node1", 0, ""), ("node3", 2, ""), ("node2", 1, "")]);
    assert_three_agree(&cluster, password, "new node in the middle");

    // A node repointed to a database of its own choosing.
    let moved = format!("local_registry = \"{}MOVED\"", cluster.local_prefix);
    nodes(&[("node1", 0, ""), ("node3", 2, ""), ("node2", 1, &moved)]);
    let provision = assert_three_agree(&cluster, password, "node repoint");
    assert!(
        !entries(&provision, "held_back").is_empty(),
        "the repoint is held back: {provision:#}"
    );
}
