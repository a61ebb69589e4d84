//! What eidb says about itself: `--version` with the commit it was built from.

use std::process::Command;

mod common;

fn eidb(args: &[&str]) -> String {
    let output = Command::new(common::eidb_bin())
        .args(args)
        .output()
        .expect("run eidb");
    assert!(
        output.status.success(),
        "eidb {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let version = eidb(&["--version"]);
    let git = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    let commit = match git {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        // Built outside a git checkout (or without git): build.rs says so.
        _ => "unknown".to_string(),
    };
    assert_eq!(
        version.trim(),
        format!("eidb {} (commit {commit})", env!("CARGO_PKG_VERSION"))
    );
}
