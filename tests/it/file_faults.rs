//! Faults of the node-file phase (issue 13, points 3-5): a file that cannot be replaced is found before
//! any change, database or file; a full disk is found before the first file is renamed, so every file
//! stays as it was; a run killed in its file phase leaves temp files that the next run removes. Each test
//! runs the built binary on real-looking EI_HOME folders and checks the files byte for byte and the
//! databases with SQL.
//!
//! Prerequisites (a missing one fails the test with a message, it never skips): root (the tests set the
//! immutable flag, give files to other users, mount a tmpfs), `chattr`, `setpriv`, `mount`, and a temp
//! folder on a file system that has the immutable flag (ext4, xfs, btrfs; tmpfs only since Linux 6.0).
//! The tests that need root are the root group: `#[ignore = "root group: ..."]`, reported by a plain
//! `cargo test` as not run, and run as root by `cargo test --locked -- --ignored` (`.ci/run` does).

use crate::common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::check::{self, snapshot_differences, snapshot_files};
use common::cluster::{Cluster, Conf, ACCOUNT_PASSWORD};
use common::{admin_pool, eidb_bin};

const DATASOURCES: &str = "conf/datasources/master-datasources.xml";
const USER_MGT: &str = "conf/user-mgt.xml";
const REGISTRY: &str = "conf/registry.xml";
const FILES: [&str; 3] = [DATASOURCES, USER_MGT, REGISTRY];
const CONNECTOR_J_5: &str = "mysql-connector-java-5.1.49.jar";

/// The environment variable that stops eidb's file phase after its first rename (a test hook).
const PAUSE_ENV: &str = "EIDB_TEST_PAUSE_IN_FILE_PHASE";

fn real_cluster(nodes: usize) -> Cluster {
    let cluster = Cluster::new(nodes, Conf::RealWso2).with_driver_jar(CONNECTOR_J_5);
    cluster.set_conf_mode(0o644);
    cluster
}

fn outputs(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn snapshot(cluster: &Cluster) -> BTreeMap<PathBuf, check::FileState> {
    let mut all = BTreeMap::new();
    for home in &cluster.nodes {
        all.extend(snapshot_files(&home.join("conf")));
    }
    all
}

fn assert_nothing_changed(
    before: &BTreeMap<PathBuf, check::FileState>,
    cluster: &Cluster,
    what: &str,
) {
    let differences = snapshot_differences(before, &snapshot(cluster));
    assert!(
        differences.is_empty(),
        "{what} changed files:\n{}",
        differences.join("\n")
    );
}

async fn assert_no_database_created(cluster: &Cluster) {
    cluster.assert_nothing_created().await;
}

/// eidb's temp files (`.eidb-*.tmp`) and backups (`*.eidb-orig`) in the nodes' folders.
fn eidb_files(cluster: &Cluster) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut temps, mut backups) = (Vec::new(), Vec::new());
    for home in &cluster.nodes {
        for folder in ["conf", "conf/datasources", "conf/security"] {
            let Ok(entries) = std::fs::read_dir(home.join(folder)) else {
                continue;
            };
            for entry in entries {
                let entry = entry.unwrap();
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(".eidb-") && name.ends_with(".tmp") {
                    temps.push(entry.path());
                } else if name.ends_with(".eidb-orig") {
                    backups.push(entry.path());
                }
            }
        }
    }
    temps.sort();
    backups.sort();
    (temps, backups)
}

/// Run a command that sets up the test; a failure is a missing prerequisite, said with how to get it.
fn prerequisite(program: &str, args: &[&str], how: &str) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}; {how}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}; {how}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout),
    );
}

fn file_system_of(path: &Path) -> String {
    Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(path)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Sets the immutable flag on a path; takes it away again when dropped (even when the test fails), so
/// that the temp folder can be removed.
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Immutable {
        let how = format!(
            "this test needs root (CAP_LINUX_IMMUTABLE), chattr (apt-get install e2fsprogs) and a temp folder on \
             a file system with the immutable flag (ext4, xfs, btrfs); {} is on {}: point TMPDIR at such a \
             file system",
            path.display(),
            file_system_of(path)
        );
        prerequisite("chattr", &["+i", &path.display().to_string()], &how);
        Immutable(path.to_path_buf())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

// ---------------------------------------------------------------------------------------------------
// 3. Files that cannot be replaced are found before any change.
// ---------------------------------------------------------------------------------------------------

/// An immutable file on node 2: found before any database is made; no file, backup or temp file is left.
#[tokio::test]
#[ignore = "root group: needs root; run as root: cargo test --locked -- --ignored (README, Tests)"]
async fn immutable_file_is_found_before_any_change() {
    common::require_root("the immutable flag (chattr +i)");
    let cluster = real_cluster(2);
    let locked = cluster.node_file(1, REGISTRY);
    let _flag = Immutable::set(&locked);
    let before = snapshot(&cluster);

    let output = cluster.eidb(&["provision"]);
    let said = outputs(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "refused as bad input:\n{said}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("node node2"), "names the node:\n{said}");
    assert!(
        stderr.contains(&locked.display().to_string()),
        "names the file:\n{said}"
    );
    assert!(stderr.contains("chattr -i"), "says the fix:\n{said}");
    assert_nothing_changed(&before, &cluster, "a run that found an immutable file");
    assert_eq!(
        eidb_files(&cluster),
        (vec![], vec![]),
        "no temp file, no backup"
    );
    assert_no_database_created(&cluster).await;
}

/// verify and --dry-run create no file, not even a probe: in an immutable folder they work as usual,
/// while provision refuses before any change, naming the folder.
#[tokio::test]
#[ignore = "root group: needs root; run as root: cargo test --locked -- --ignored (README, Tests)"]
async fn verify_and_dry_run_create_no_file_in_an_immutable_folder() {
    common::require_root("the immutable flag (chattr +i)");
    let cluster = real_cluster(1);
    let folder = cluster.nodes[0].join("conf/datasources");
    let _flag = Immutable::set(&folder);
    let before = snapshot(&cluster);

    let verify = cluster.eidb(&["verify"]);
    assert_eq!(
        verify.status.code(),
        Some(1),
        "verify reports drift, it does not fail:\n{}",
        outputs(&verify)
    );
    let dry_run = cluster.eidb(&["provision", "--dry-run"]);
    assert_eq!(
        dry_run.status.code(),
        Some(0),
        "a dry run shows the plan:\n{}",
        outputs(&dry_run)
    );
    assert_nothing_changed(&before, &cluster, "verify and --dry-run");

    let provision = cluster.eidb(&["provision"]);
    let said = outputs(&provision);
    assert_eq!(provision.status.code(), Some(2), "{said}");
    assert!(
        said.contains(&folder.display().to_string()) && said.contains("node node1"),
        "names the node and the folder:\n{said}"
    );
    assert_nothing_changed(&before, &cluster, "a refused provision");
    assert_no_database_created(&cluster).await;
}

/// For a test that runs eidb as another user: copies of the built binary and of the dbscript in the
/// cluster's own folder, the spec pointing at the copy. The checkout and its `target/` may be in a
/// folder only the tester can enter (a clone in `mktemp -d`, a home folder at 0700), which the other
/// user cannot read (issue 29); the cluster's folder is the one the test opens up to it.
fn self_contained(cluster: Cluster) -> (Cluster, PathBuf) {
    let script = cluster.dir.path().join("dbscript.sql");
    std::fs::copy(
        common::cluster::fixture_path("dbscripts/splitter-cases.sql"),
        &script,
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let eidb = cluster.dir.path().join("eidb");
    std::fs::copy(eidb_bin(), &eidb).unwrap();
    std::fs::set_permissions(&eidb, std::fs::Permissions::from_mode(0o755)).unwrap();
    (cluster.with_script(&script), eidb)
}

/// The EI installation belongs to its service account (here `nobody`), one file on node 2 to root (an
/// edit made with sudo); eidb runs as the service account. It cannot give a new file root's ownership:
/// found before any change, with the node, the owner and the fix.
#[tokio::test]
#[ignore = "root group: needs root; run as root: cargo test --locked -- --ignored (README, Tests)"]
async fn root_owned_file_with_eidb_as_another_user_is_found_before_any_change() {
    common::require_root("files given to another user and eidb run as that user (chown, setpriv)");
    const NOBODY: u32 = 65534;
    let cluster = real_cluster(2);
    let how =
        "this test runs eidb as uid 65534 (nobody): it needs root to hand the files over and \
               setpriv (apt-get install util-linux)";
    // The service account reads nothing of the checkout (which may sit in a private folder, issue 29):
    // the binary, the dbscript and the spec are copies in the test's folder, opened up to it.
    let (cluster, eidb) = self_contained(cluster);
    std::fs::set_permissions(cluster.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for home in &cluster.nodes {
        let node_dir = home.parent().unwrap().display().to_string();
        prerequisite(
            "chown",
            &["-R", &format!("{NOBODY}:{NOBODY}"), &node_dir],
            how,
        );
    }
    let root_owned = cluster.node_file(1, USER_MGT);
    std::os::unix::fs::chown(&root_owned, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&cluster.spec_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = snapshot(&cluster);

    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid",
            &NOBODY.to_string(),
            "--regid",
            &NOBODY.to_string(),
        ])
        .args(["--clear-groups", "--"])
        .arg(&eidb)
        .args(["provision", "--config"])
        .arg(&cluster.spec_path);
    cluster.environment(&mut command);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run setpriv: {e}; {how}"));
    let said = outputs(&output);
    assert!(!said.contains("setpriv:"), "setpriv failed: {said}\n{how}");
    assert_eq!(
        output.status.code(),
        Some(2),
        "refused as bad input:\n{said}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("node node2"), "names the node:\n{said}");
    assert!(
        stderr.contains(&root_owned.display().to_string()),
        "names the file:\n{said}"
    );
    assert!(
        stderr.contains("root (uid 0)") && stderr.contains("run eidb as root"),
        "names the owner and the fix:\n{said}"
    );
    assert_nothing_changed(&before, &cluster, "a run that found a root-owned file");
    assert_eq!(
        eidb_files(&cluster),
        (vec![], vec![]),
        "no temp file, no backup"
    );
    assert_no_database_created(&cluster).await;
}

// ---------------------------------------------------------------------------------------------------
// 4. A full disk: found before the first rename, every file stays as it was.
// ---------------------------------------------------------------------------------------------------

/// A small tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        prerequisite(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                &at.display().to_string(),
            ],
            "this test mounts a small tmpfs: run the tests as root (CI does)",
        );
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fill the file system of `dir` to the last page, then free `pages` pages (4 KiB each).
fn fill_leaving(dir: &Path, pages: u64) -> PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0x55u8; 4096];
    let mut written = 0u64;
    while file.write_all(&chunk).is_ok() {
        written += 4096;
    }
    let _ = file.sync_all();
    file.set_len(written.saturating_sub(pages * 4096)).unwrap();
    filler
}

#[tokio::test]
#[ignore = "root group: needs root; run as root: cargo test --locked -- --ignored (README, Tests)"]
async fn full_disk_is_found_before_the_first_rename_and_every_file_stays() {
    common::require_root("mounting a small tmpfs");
    // Both nodes on one small file system, as in the fault campaign (one disk for every node).
    let cluster = real_cluster(2);
    let disk = cluster.dir.path().join("disk");
    let tmpfs = Tmpfs::mount(&disk, "2m");
    for (i, home) in cluster.nodes.iter().enumerate() {
        let node_dir = home.parent().unwrap();
        let moved = disk.join(format!("node{}", i + 1));
        prerequisite(
            "cp",
            &[
                "-a",
                &node_dir.display().to_string(),
                &moved.display().to_string(),
            ],
            "cp from coreutils",
        );
        std::fs::remove_dir_all(node_dir).unwrap();
        std::os::unix::fs::symlink(&moved, node_dir).unwrap();
    }
    // Room for a few of the new files and backups, not for all of them.
    let filler = fill_leaving(&disk, 12);
    let before = snapshot(&cluster);

    let output = cluster.eidb(&["provision"]);
    let said = outputs(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the file phase fails:\n{said}"
    );
    assert_nothing_changed(&before, &cluster, "a run on a full disk");
    assert_eq!(
        eidb_files(&cluster),
        (vec![], vec![]),
        "no temp file, no backup"
    );
    assert!(
        said.contains("No space left") && said.contains("node node"),
        "says why, and on which node:\n{said}"
    );
    assert!(
        said.contains("no node file was changed"),
        "says that every file is as it was:\n{said}"
    );

    // With room again, the next run finishes the job.
    std::fs::remove_file(&filler).unwrap();
    cluster.eidb_ok(&["provision"]);
    let verify = cluster.eidb(&["verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", outputs(&verify));
    drop(tmpfs);
}

// ---------------------------------------------------------------------------------------------------
// 5. A run killed in its file phase leaves temp files; the next run removes them and converges.
// ---------------------------------------------------------------------------------------------------

/// Start provision with the file-phase pause; returns the child once it is paused there.
fn start_paused(cluster: &Cluster, marker: &Path) -> std::process::Child {
    let mut command = cluster.eidb_command(&cluster.spec_path, &["provision"]);
    command
        .env(PAUSE_ENV, marker)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn().expect("start eidb");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !marker.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("eidb ended ({status}) before its file phase");
        }
        assert!(
            Instant::now() < deadline,
            "eidb did not reach its file phase in 120 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[tokio::test]
async fn sigkill_in_the_file_phase_then_rerun_removes_the_temp_files_and_converges() {
    let cluster = real_cluster(2);
    let originals: BTreeMap<PathBuf, Vec<u8>> = cluster
        .nodes
        .iter()
        .flat_map(|home| FILES.iter().map(move |f| home.join(f)))
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    let marker = cluster.dir.path().join("paused");
    let mut child = start_paused(&cluster, &marker);
    let (temps, _) = eidb_files(&cluster);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !temps.is_empty(),
        "a run stopped after its first rename has the other files written beside them"
    );
    let (left, _) = eidb_files(&cluster);
    assert_eq!(left, temps, "the killed run's temp files stay behind");

    // verify says so and removes nothing (it stays read-only).
    let verify = cluster.eidb(&["verify"]);
    let verify_said = outputs(&verify);
    assert!(
        verify_said.contains(&format!(
            "{} temp file(s) left by an interrupted eidb run",
            temps.len()
        )),
        "{verify_said}"
    );
    assert_eq!(eidb_files(&cluster).0, temps, "verify removes nothing");

    let rerun = cluster.eidb(&["provision"]);
    let said = outputs(&rerun);
    assert_eq!(rerun.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!("removed {} temp file(s)", temps.len())),
        "says what it removed:\n{said}"
    );
    let (temps_after, backups) = eidb_files(&cluster);
    assert_eq!(temps_after, Vec::<PathBuf>::new(), "no temp file is left");
    assert_eq!(backups.len(), originals.len(), "one backup per file");
    for (path, original) in &originals {
        let mut backup = path.clone().into_os_string();
        backup.push(".eidb-orig");
        assert_eq!(
            &std::fs::read(&backup).unwrap(),
            original,
            "the backup of {} holds the original",
            path.display()
        );
        assert_ne!(
            &std::fs::read(path).unwrap(),
            original,
            "{} is edited",
            path.display()
        );
    }
    let verify = cluster.eidb(&["verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", outputs(&verify));
    let pool = admin_pool().await;
    for db in cluster.databases() {
        assert!(check::database_exists(&pool, &db).await, "{db}");
    }
    assert!(!said.contains(ACCOUNT_PASSWORD));
}

/// Only eidb's own temp files of runs that are gone are removed: a file of the operator that merely
/// looks similar, and one of a process that still runs, stay.
#[tokio::test]
async fn rerun_removes_only_eidb_temp_files_of_dead_runs() {
    let cluster = real_cluster(1);
    let folder = cluster.nodes[0].join("conf");
    // A process that surely is gone: a child that has been waited for.
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let dead = folder.join(format!(".eidb-new-{}-AbC123.tmp", gone.id()));
    let old_style = folder.join(".eidb-X1y2Z3.tmp");
    let alive = folder.join(format!(".eidb-new-{}-AbC123.tmp", std::process::id()));
    let operators = [
        folder.join(".eidb-notes.tmp"),
        folder.join("eidb-new-1-AbC123.tmp"),
    ];
    for path in [&dead, &old_style, &alive]
        .into_iter()
        .chain(operators.iter())
    {
        std::fs::write(path, "x").unwrap();
    }
    cluster.eidb_ok(&["provision"]);
    assert!(!dead.exists(), "{} is removed", dead.display());
    assert!(!old_style.exists(), "{} is removed", old_style.display());
    assert!(alive.exists(), "a running process's temp file stays");
    for path in &operators {
        assert!(path.exists(), "{} is not eidb's and stays", path.display());
    }
}

/// Issue 28 point 6: a run killed while it was PID 1 (a container's entrypoint) leaves
/// `.eidb-new-1-*.tmp`, which may hold the password. PID 1 runs again (the restarted container's, or
/// here the machine's), but it started after the file was written: verify reports the file and
/// provision removes it.
#[tokio::test]
async fn a_temp_file_of_a_pid_that_runs_again_is_reported_and_removed() {
    let cluster = real_cluster(1);
    cluster.eidb_ok(&["provision"]);
    let left = cluster.nodes[0].join("conf/datasources/.eidb-new-1-AbC123.tmp");
    let file = std::fs::File::create(&left).unwrap();
    std::io::Write::write_all(&mut &file, ACCOUNT_PASSWORD.as_bytes()).unwrap();
    // Written before PID 1 started (a day after the epoch is before any boot).
    file.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(86_400))
        .unwrap();
    drop(file);
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        report["warnings"]
            .to_string()
            .contains(".eidb-new-1-AbC123.tmp"),
        "verify names the temp file: {report:#}"
    );
    cluster.eidb_ok(&["provision"]);
    assert!(!left.exists(), "{} is removed", left.display());
}
