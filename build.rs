//! Records the git commit the binary is built from, for `eidb --version`: `git rev-parse --short HEAD`,
//! or "unknown" outside a git checkout (a source tarball, `cargo package`) or without git.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=EIDB_GIT_COMMIT={commit}");

    // Rebuild when HEAD moves: HEAD itself (another branch checked out) and the branch it names (a new
    // commit), loose or packed. Only existing paths are named: cargo reruns a build script on every
    // build when a named path is missing.
    println!("cargo:rerun-if-changed=build.rs");
    let Some(git_dir) = git(&["rev-parse", "--git-dir"]).map(PathBuf::from) else {
        return;
    };
    // In a worktree the branch refs live in the common folder, HEAD in the worktree's own.
    let common_dir = git(&["rev-parse", "--git-common-dir"])
        .map(PathBuf::from)
        .unwrap_or_else(|| git_dir.clone());
    let head = git_dir.join("HEAD");
    watch(&head);
    if let Ok(text) = std::fs::read_to_string(&head) {
        if let Some(reference) = text.trim().strip_prefix("ref: ") {
            watch(&git_dir.join(reference));
            watch(&common_dir.join(reference));
            // A fresh clone keeps the branch in packed-refs only; the first commit then writes the loose
            // ref, a path that did not exist to be named: its folder (cargo scans a named folder) sees it.
            if let Some(folder) = common_dir.join(reference).parent() {
                watch(folder);
            }
        }
    }
    watch(&common_dir.join("packed-refs"));
}

fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The trimmed output of a successful git command, None when git is missing or fails.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}
