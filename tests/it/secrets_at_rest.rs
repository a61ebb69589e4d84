//! Secrets at rest (issue 18): a node file that holds a password in plain text is not readable by other
//! users after eidb wrote it (owner and group kept), its temp file and a backup holding a real password
//! never are either, a spec can keep the mode (and is warned on every run), Secure Vault leaves the mode
//! alone, and verify (with a spec and without) reports such a file with the fix. Modes are read with
//! stat(2) here, never through eidb.

use crate::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::cluster::{Cluster, Conf, ACCOUNT_PASSWORD};
use common::eidb_bin;
use serde_json::Value;

const DATASOURCES: &str = "conf/datasources/master-datasources.xml";
const USER_MGT: &str = "conf/user-mgt.xml";
const REGISTRY: &str = "conf/registry.xml";
const CONNECTOR_J_5: &str = "mysql-connector-java-5.1.49.jar";
const PAUSE_ENV: &str = "EIDB_TEST_PAUSE_IN_FILE_PHASE";

/// Nodes from the real WSO2 files, as a distribution ships them: 0644.
fn real_cluster(nodes: usize) -> Cluster {
    let cluster = Cluster::new(nodes, Conf::RealWso2).with_driver_jar(CONNECTOR_J_5);
    cluster.set_conf_mode(0o644);
    cluster
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn backup_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".eidb-orig");
    PathBuf::from(name)
}

fn outputs(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn findings_of(report: &Value, check: &str) -> Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .cloned()
        .collect()
}

/// A hand-made configuration of WSO2_CARBON_DB on MySQL with a real password, as an operator may have
/// left it before eidb: its backup then holds a real password.
fn configure_by_hand(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let edited = text
        .replacen(
            "jdbc:h2:./repository/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=60000",
            "jdbc:mysql://old-db:3306/OLD_LOCAL",
            1,
        )
        .replacen(
            "<password>wso2carbon</password>",
            "<password>Hand-Set-Secret9</password>",
            1,
        );
    assert_ne!(edited, text, "the real file has the H2 datasource");
    std::fs::write(path, edited).unwrap();
}

/// 1. Files shipped 0644: the one with the password becomes 0640 (owner, group kept), the others stay;
/// the plan says why; the backup of WSO2's shipped file (only its H2 default) keeps 0644.
#[tokio::test]
async fn provision_takes_others_read_away_from_the_file_with_the_password() {
    let cluster = real_cluster(1);
    let datasources = cluster.node_file(0, DATASOURCES);
    let (uid, gid) = {
        let meta = std::fs::metadata(&datasources).unwrap();
        (meta.uid(), meta.gid())
    };

    let (code, dry_run) = cluster.eidb_json(&["provision", "--dry-run"]);
    assert_eq!(code, 0, "{dry_run:#}");
    let change = dry_run["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["file"].as_str() == Some(datasources.to_str().unwrap()))
        .unwrap_or_else(|| panic!("a change of {}: {dry_run:#}", datasources.display()));
    assert_eq!(change["mode"]["from"], "0644", "{change:#}");
    assert_eq!(change["mode"]["to"], "0640", "{change:#}");
    assert!(
        change["mode"]["reason"]
            .as_str()
            .unwrap()
            .contains("password in plain text"),
        "{change:#}"
    );
    assert_eq!(mode_of(&datasources), 0o644, "a dry run changes nothing");
    if uid == 0 {
        // The tests run as root, so the copies are root's: the node may have read them as "other".
        assert!(
            dry_run["warnings"]
                .to_string()
                .contains("belongs to root; once others lose their permissions"),
            "{dry_run:#}"
        );
    }

    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    let meta = std::fs::metadata(&datasources).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640, "others cannot read it");
    assert_eq!((meta.uid(), meta.gid()), (uid, gid), "owner and group kept");
    assert!(std::fs::read_to_string(&datasources)
        .unwrap()
        .contains("<password>"));
    for file in [USER_MGT, REGISTRY] {
        assert_eq!(
            mode_of(&cluster.node_file(0, file)),
            0o644,
            "{file} holds no password of eidb's"
        );
    }
    assert_eq!(
        mode_of(&backup_of(&datasources)),
        0o644,
        "the backup of WSO2's shipped file holds only the H2 default"
    );
    let (code, verify) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "in sync afterwards: {verify:#}");
}

/// 2. `[node_files] keep_mode = true`: the mode stays, and every run warns.
#[tokio::test]
async fn a_spec_that_keeps_the_mode_is_warned_on_every_run() {
    let cluster = real_cluster(1).with_extra("[node_files]\nkeep_mode = true\n");
    let datasources = cluster.node_file(0, DATASOURCES);
    let warned = |report: &Value| {
        report["warnings"].as_array().unwrap().iter().any(|w| {
            let w = w.to_string();
            w.contains("node_files.keep_mode")
                && w.contains(datasources.to_str().unwrap())
                && w.contains("0644")
        })
    };
    for run in ["first provision", "second provision"] {
        let (code, report) = cluster.eidb_json(&["provision"]);
        assert_eq!(code, 0, "{run}: {report:#}");
        assert!(warned(&report), "{run} warns: {report:#}");
        assert_eq!(mode_of(&datasources), 0o644, "{run} keeps the mode");
    }
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "kept on purpose is not drift: {report:#}");
    assert!(warned(&report), "verify warns too: {report:#}");
    // The human output says it as well, on stderr or stdout.
    let output = cluster.eidb(&["provision"]);
    assert!(
        outputs(&output).contains("node_files.keep_mode"),
        "{}",
        outputs(&output)
    );
}

/// 3. Secure Vault on: the XML holds aliases, not the password; its mode is left alone.
#[tokio::test]
async fn secure_vault_leaves_the_mode_alone() {
    let cluster = real_cluster(1).with_extra("[secure_vault]\nenabled = true\n");
    let datasources = cluster.node_file(0, DATASOURCES);
    cluster.eidb_ok(&["provision"]);
    assert_eq!(mode_of(&datasources), 0o644);
    assert!(!std::fs::read_to_string(&datasources)
        .unwrap()
        .contains(ACCOUNT_PASSWORD));
    let cipher = cluster.node_file(0, "conf/security/cipher-text.properties");
    assert_eq!(
        mode_of(&cipher),
        0o600,
        "the new cipher-text file is owner-only"
    );
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
}

/// 4. A file made 0644 again: verify (with the spec and without) reports it with the fix; provision
/// puts the mode back and nothing else.
#[tokio::test]
async fn verify_reports_a_password_file_made_readable_again() {
    let cluster = real_cluster(2);
    cluster.eidb_ok(&["provision"]);
    let datasources = cluster.node_file(1, DATASOURCES);
    let content = std::fs::read(&datasources).unwrap();
    std::fs::set_permissions(&datasources, std::fs::Permissions::from_mode(0o644)).unwrap();

    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "{report:#}");
    let found = findings_of(&report, "password_readable");
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["subject"], "node node2");
    assert!(found[0]["found"].as_str().unwrap().contains("0644"));
    let fix = found[0]["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!("chmod o-rwx {}", datasources.display()))
            && fix.contains("secure_vault"),
        "{fix}"
    );
    assert!(
        findings_of(&report, "file_content").is_empty(),
        "the content is right: {report:#}"
    );

    // Without a spec.
    let output = Command::new(eidb_bin())
        .arg("verify")
        .arg("--ei-home")
        .arg(&cluster.nodes[0])
        .arg("--ei-home")
        .arg(&cluster.nodes[1])
        .args(["--output", "json"])
        .output()
        .unwrap();
    let said = outputs(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let found = findings_of(&report, "password_readable");
    assert_eq!(found.len(), 1, "{said}");
    assert!(
        found[0]["expected"]
            .as_str()
            .unwrap()
            .contains(datasources.to_str().unwrap()),
        "{said}"
    );
    assert!(found[0]["fix"].as_str().unwrap().contains("chmod o-rwx"));
    assert!(!said.contains(ACCOUNT_PASSWORD), "{said}");

    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["changes"].as_array().unwrap().len(), 1, "{report:#}");
    assert_eq!(mode_of(&datasources), 0o640);
    assert_eq!(
        std::fs::read(&datasources).unwrap(),
        content,
        "content unchanged"
    );
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
}

/// 5. During a run: the temp file of the new content and the backup of a file that held a real password
/// are not readable by others from the moment they exist. The run is stopped in its file phase (after
/// its first rename: node 1's master-datasources.xml is in place, node 2's files are written beside
/// theirs) and every eidb file there is looked at.
#[tokio::test]
async fn temp_and_backup_files_are_private_from_their_creation() {
    let cluster = real_cluster(2);
    for node in 0..2 {
        configure_by_hand(&cluster.node_file(node, DATASOURCES));
    }
    let marker = cluster.dir.path().join("paused");
    let mut command = cluster.eidb_command(&cluster.spec_path, &["provision"]);
    command
        .env(PAUSE_ENV, &marker)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !marker.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("eidb ended ({status}) before its file phase");
        }
        assert!(
            Instant::now() < deadline,
            "eidb did not reach its file phase"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Node 1: the file and its backup are in place.
    let first = cluster.node_file(0, DATASOURCES);
    assert_eq!(mode_of(&first), 0o640, "{}", first.display());
    assert_eq!(
        mode_of(&backup_of(&first)),
        0o640,
        "the backup holds a real password"
    );
    // Node 2: written beside the file, not yet renamed.
    let folder = cluster.nodes[1].join("conf/datasources");
    let temps: Vec<(String, u32)> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".eidb-") && name.ends_with(".tmp"))
        .map(|name| {
            let mode = mode_of(&folder.join(&name));
            (name, mode)
        })
        .collect();
    let new = temps.iter().find(|(n, _)| n.starts_with(".eidb-new-"));
    let orig = temps.iter().find(|(n, _)| n.starts_with(".eidb-orig-"));
    assert_eq!(new.map(|t| t.1), Some(0o640), "new content: {temps:?}");
    assert_eq!(orig.map(|t| t.1), Some(0o640), "backup: {temps:?}");
    let new_text = std::fs::read_to_string(folder.join(&new.unwrap().0)).unwrap();
    assert!(
        new_text.contains("<password>"),
        "the temp file holds the new content"
    );

    std::fs::remove_file(&marker).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "the run finishes: {status}");
    let second = cluster.node_file(1, DATASOURCES);
    assert_eq!(mode_of(&second), 0o640);
    assert_eq!(mode_of(&backup_of(&second)), 0o640);
    assert!(std::fs::read_to_string(backup_of(&second))
        .unwrap()
        .contains("Hand-Set-Secret9"));
    let leftovers: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
