//! Where the tests find the real WSO2 EI 6.x files (conf files and Carbon dbscripts), which are never
//! part of this repository. In order:
//!
//! 1. the folder named by `EIDB_WSO2_FILES` (the only place looked at when it is set),
//! 2. `../shared/wso2-ei` next to the repository (where CI lays them out),
//! 3. the cache that `scripts/fetch-wso2-files.sh` fills:
//!    `${EIDB_WSO2_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eidb/wso2-ei}`.
//!
//! Each is a folder holding `ei-6.x/conf/...` and `ei-6.x/dbscripts/...`. The set is the one in
//! `scripts/wso2-files.txt`; a folder counts only when it holds every file of it, and the files found
//! are checked against their pinned SHA-256, so a test never runs on other bytes than the ones it was
//! written for. When no folder holds the set, the test fails and says which command fetches it.
//!
//! Used by the integration tests (`tests/it/common`) and, through `#[path]`, by the unit tests in `src/`.

// Each test binary uses a different part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// Names a folder holding the set; when set, the only place looked at.
pub const FILES_ENV: &str = "EIDB_WSO2_FILES";
/// The command that fetches the set into the cache.
pub const FETCH_COMMAND: &str = "scripts/fetch-wso2-files.sh";

/// The pinned set: what scripts/fetch-wso2-files.sh fetches and checks.
const MANIFEST: &str = include_str!("../../../scripts/wso2-files.txt");

/// One file of the set: its path under the set's folder and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    pub file: String,
    pub sha256: String,
}

/// The files of the set, from `scripts/wso2-files.txt`.
pub fn pinned_files() -> Vec<Pinned> {
    MANIFEST
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 5, "scripts/wso2-files.txt: bad line {line:?}");
            Pinned {
                sha256: fields[0].to_string(),
                file: fields[1].to_string(),
            }
        })
        .collect()
}

/// `ei-6.x` of the set (holding `conf/` and `dbscripts/`). Panics, saying how to get the files, when no
/// place holds them, and when the files found are not the pinned ones.
pub fn ei6_dir() -> PathBuf {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let root = locate(&places(), &pinned_files())?;
        check_checksums(&root, &pinned_files())?;
        Ok(root.join("ei-6.x"))
    });
    match found {
        Ok(dir) => dir.clone(),
        Err(message) => panic!("{message}"),
    }
}

/// The repository this is compiled from (the package's folder, or the workspace's above it: this file is
/// also compiled into the eidb-core crate's unit tests).
fn repository_root() -> PathBuf {
    let package = Path::new(env!("CARGO_MANIFEST_DIR"));
    package
        .ancestors()
        .find(|dir| dir.join("scripts/wso2-files.txt").is_file())
        .unwrap_or(package)
        .to_path_buf()
}

/// Where to look, in order, each with how it was named (for messages).
pub fn places() -> Vec<(String, PathBuf)> {
    if let Some(dir) = std::env::var_os(FILES_ENV).filter(|v| !v.is_empty()) {
        return vec![(FILES_ENV.to_string(), PathBuf::from(dir))];
    }
    let beside = repository_root().join("../shared/wso2-ei");
    let mut places = vec![("../shared/wso2-ei".to_string(), beside)];
    if let Some(cache) = cache_dir() {
        places.push(("the cache".to_string(), cache));
    }
    places
}

/// The cache folder scripts/fetch-wso2-files.sh fills by default.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("EIDB_WSO2_CACHE") {
        return Some(PathBuf::from(dir));
    }
    let cache_home = var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(cache_home.join("eidb/wso2-ei"))
}

/// The first place holding every file of `set`; otherwise a message naming each place, what it lacks,
/// and the command that fetches the set.
pub fn locate(places: &[(String, PathBuf)], set: &[Pinned]) -> Result<PathBuf, String> {
    let mut looked = Vec::new();
    for (label, dir) in places {
        let missing: Vec<&str> = set
            .iter()
            .filter(|pinned| !dir.join(&pinned.file).is_file())
            .map(|pinned| pinned.file.as_str())
            .collect();
        if missing.is_empty() {
            return Ok(dir.canonicalize().unwrap_or_else(|_| dir.clone()));
        }
        let lack = if missing.len() == set.len() {
            "none of the files".to_string()
        } else {
            format!("lacks {}", missing.join(", "))
        };
        looked.push(format!("  {label}: {} ({lack})", dir.display()));
    }
    Err(format!(
        "this test needs the real WSO2 EI 6.x files (scripts/wso2-files.txt), which are not part of \
         the repository, and no place holds them:\n{}\nfetch them into the cache with \
         `{FETCH_COMMAND}` (from the repository's root; needs internet access to GitHub), or point \
         {FILES_ENV} at a folder holding ei-6.x/conf and ei-6.x/dbscripts",
        looked.join("\n")
    ))
}

/// Every file of `set` under `root` has its pinned SHA-256; otherwise a message naming each one.
pub fn check_checksums(root: &Path, set: &[Pinned]) -> Result<(), String> {
    let mut differ = Vec::new();
    for pinned in set {
        let path = root.join(&pinned.file);
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let actual: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if actual != pinned.sha256 {
            differ.push(format!(
                "  {}: SHA-256 {actual}, pinned {}",
                path.display(),
                pinned.sha256
            ));
        }
    }
    if differ.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the WSO2 files in {} are not the ones the tests are written for (scripts/wso2-files.txt):\n{}\n\
         fetch the pinned files with `{FETCH_COMMAND}` and point {FILES_ENV} at the cache it names, or \
         restore these files",
        root.display(),
        differ.join("\n")
    ))
}
