//! The real WSO2 files on any machine: scripts/fetch-wso2-files.sh fills a folder only with files whose
//! SHA-256 is pinned in scripts/wso2-files.txt, and the tests find the set or say how to fetch it.
//!
//! GitHub cannot be reached from every machine the suite runs on, so the checks run on local copies
//! (`--from`): the same code path as a download from the moment the bytes are in the temporary file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common;

use common::wso2_files::{self, check_checksums, locate, pinned_files, FETCH_COMMAND};

fn fetch(args: &[&Path]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch-wso2-files.sh");
    Command::new("bash")
        .arg(script)
        .args(args)
        .env_remove("EIDB_WSO2_FILES")
        .output()
        .expect("run scripts/fetch-wso2-files.sh")
}

/// A writable copy of the set the tests use (its root: the folder holding ei-6.x).
fn copy_of_the_set() -> (tempfile::TempDir, PathBuf) {
    let from = common::shared_wso2_dir();
    let dir = tempfile::tempdir().unwrap();
    for pinned in pinned_files() {
        let relative = pinned.file.strip_prefix("ei-6.x/").unwrap();
        let target = dir.path().join(&pinned.file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(from.join(relative), &target).unwrap();
    }
    let root = dir.path().to_path_buf();
    (dir, root)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_script_fills_a_folder_with_the_pinned_files_and_keeps_them_on_a_second_run() {
    let (_source, source) = copy_of_the_set();
    let dest = tempfile::tempdir().unwrap();
    let output = fetch(&[
        Path::new("--from"),
        &source,
        Path::new("--dest"),
        dest.path(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout).matches("fetched:").count(),
        pinned_files().len()
    );

    // What the tests would find there is the set, checksums and all.
    let places = [("dest".to_string(), dest.path().to_path_buf())];
    let root = locate(&places, &pinned_files()).unwrap();
    check_checksums(&root, &pinned_files()).unwrap();

    let again = fetch(&[
        Path::new("--from"),
        &source,
        Path::new("--dest"),
        dest.path(),
    ]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(
        text(&again.stdout).matches("in place:").count(),
        pinned_files().len()
    );
    let verify = fetch(&[Path::new("--verify"), dest.path()]);
    assert!(verify.status.success(), "{}", text(&verify.stderr));
}

#[test]
fn a_corrupted_file_is_refused_and_never_kept() {
    let (_source, source) = copy_of_the_set();
    let registry = source.join("ei-6.x/conf/registry.xml");
    let mut bytes = std::fs::read(&registry).unwrap();
    // One character changed, as a truncated download or a tampered mirror would. The copy keeps the
    // read-only mode of ../shared: made writable first (only root writes a 0444 file as it is).
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::set_permissions(
        &registry,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644),
    )
    .unwrap();
    std::fs::write(&registry, &bytes).unwrap();

    let dest = tempfile::tempdir().unwrap();
    let output = fetch(&[
        Path::new("--from"),
        &source,
        Path::new("--dest"),
        dest.path(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refused: ei-6.x/conf/registry.xml") && stderr.contains("pinned df391cfc"),
        "{stderr}"
    );
    let conf = dest.path().join("ei-6.x/conf");
    let left: Vec<String> = std::fs::read_dir(&conf)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !left.iter().any(|name| name.starts_with("registry.xml")),
        "the refused file (or its temporary copy) was kept: {left:?}"
    );
    // The intact files are kept; the set is still incomplete, and the tests say so.
    assert!(conf.join("user-mgt.xml").is_file());
    let places = [("dest".to_string(), dest.path().to_path_buf())];
    let message = locate(&places, &pinned_files()).unwrap_err();
    assert!(
        message.contains("lacks ei-6.x/conf/registry.xml"),
        "{message}"
    );

    // The same corruption in a folder the tests would use is caught by the tests themselves.
    let message = check_checksums(&source, &pinned_files()).unwrap_err();
    assert!(message.contains("registry.xml: SHA-256"), "{message}");
    let verify = fetch(&[Path::new("--verify"), &source]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(
        text(&verify.stderr).contains("differs:"),
        "{}",
        text(&verify.stderr)
    );
}

#[test]
fn a_missing_file_in_the_source_is_an_error() {
    let (_source, source) = copy_of_the_set();
    std::fs::remove_file(source.join("ei-6.x/dbscripts/mysql.sql")).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let output = fetch(&[
        Path::new("--from"),
        &source,
        Path::new("--dest"),
        dest.path(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("missing:") && text(&output.stderr).contains("mysql.sql"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn without_the_files_the_tests_say_which_command_fetches_them() {
    let empty = tempfile::tempdir().unwrap();
    let (_partial, partial) = copy_of_the_set();
    std::fs::remove_file(partial.join("ei-6.x/conf/user-mgt.xml")).unwrap();
    let places = [
        ("EIDB_WSO2_FILES".to_string(), empty.path().to_path_buf()),
        ("the cache".to_string(), partial.clone()),
    ];
    let message = locate(&places, &pinned_files()).unwrap_err();
    assert!(message.contains(FETCH_COMMAND), "{message}");
    assert!(message.contains("EIDB_WSO2_FILES: "), "{message}");
    assert!(message.contains("(none of the files)"), "{message}");
    assert!(
        message.contains("the cache: ") && message.contains("lacks ei-6.x/conf/user-mgt.xml"),
        "{message}"
    );
}

#[test]
fn the_pinned_set_is_the_files_the_tests_read() {
    let files: Vec<String> = pinned_files().into_iter().map(|p| p.file).collect();
    for needed in [
        "ei-6.x/conf/datasources/master-datasources.xml",
        "ei-6.x/conf/registry.xml",
        "ei-6.x/conf/user-mgt.xml",
        "ei-6.x/dbscripts/mysql.sql",
        "ei-6.x/dbscripts/mysql5.7.sql",
    ] {
        assert!(files.iter().any(|f| f == needed), "{needed} is not pinned");
    }
    // The copy the tests found is the pinned one (the check every test run makes once).
    let root = common::shared_wso2_dir().parent().unwrap().to_path_buf();
    check_checksums(&root, &pinned_files()).unwrap();
    assert!(!wso2_files::places().is_empty());
}
