//! The docs cannot rot (issue 26): every `eidb ...` command line in a ```sh block of README.md and
//! docs/*.md parses with the real command-line definitions (the line is run with `--help` appended: clap
//! refuses an unknown subcommand, option or value before it prints the help), and every ```toml block
//! validates against `eidb schema` (a fragment such as one `[[nodes]]` entry, inside a minimal spec).
//!
//! This is the dry form, for every page: the task pages' commands are also run, as written, against a
//! throwaway server (docs_run.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;

use common::spec_schema::schema_errors;

fn pages() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The fenced blocks of `language` in `text`, each with the line it starts on.
fn blocks(text: &str, language: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == format!("```{language}") => {
                current = Some((i + 1, String::new()));
            }
            Some(_) if line.trim_start().starts_with("```") => found.push(current.take().unwrap()),
            Some((_, block)) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    found
}

/// The `eidb` command lines of a sh block: continuations joined, comments, redirections and what follows
/// a pipe or `&&` dropped, `[optional]` brackets removed.
fn eidb_commands(block: &str) -> Vec<Vec<String>> {
    let joined = block.replace("\\\n", " ");
    joined
        .lines()
        .filter_map(|line| {
            let line = line.split(" #").next().unwrap_or("");
            let line = line
                .split(['>', '|', ';'])
                .next()
                .unwrap_or("")
                .split("&&")
                .next()
                .unwrap_or("");
            let words: Vec<String> = line
                .split_whitespace()
                .map(|w| w.trim_matches(['[', ']', '"', '\'']).to_string())
                .filter(|w| !w.is_empty())
                .collect();
            (words.first().map(String::as_str) == Some("eidb")).then(|| words[1..].to_vec())
        })
        .collect()
}

#[test]
fn every_eidb_command_line_in_the_docs_parses() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (line, block) in blocks(&text, "sh") {
            for args in eidb_commands(&block) {
                let output = Command::new(common::eidb_bin())
                    .args(&args)
                    .arg("--help")
                    .env_remove("RUST_LOG")
                    .output()
                    .expect("run eidb");
                checked += 1;
                if !output.status.success() {
                    failures.push(format!(
                        "{}:{line}: eidb {}\n{}",
                        page.display(),
                        args.join(" "),
                        String::from_utf8_lossy(&output.stderr)
                    ));
                }
            }
        }
    }
    assert!(
        checked >= 10,
        "the docs show eidb commands ({checked} found)"
    );
    assert!(
        failures.is_empty(),
        "command lines in the docs eidb does not take:\n{}",
        failures.join("\n")
    );
}

/// What a fragment of a spec goes into, so that the schema checks its keys.
const BASE: &str = r#"
[server]
url = "mysql://root@127.0.0.1:3306"

[user]
name = "regadmin"
password_env = "EIDB_REGADMIN_PASSWORD"

[dbscripts]
dir = "dbscripts"
"#;

const ONE_NODE: &str = "\n[[nodes]]\nname = \"node1\"\nei_home = \"node1\"\n";

#[test]
fn every_spec_in_the_docs_validates() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (line, block) in blocks(&text, "toml") {
            let mut spec = block.clone();
            if !spec.contains("[server]") {
                spec = format!("{BASE}\n{spec}");
            }
            if !spec.contains("[[nodes]]") {
                spec.push_str(ONE_NODE);
            }
            checked += 1;
            match schema_errors(&spec) {
                Ok(errors) if errors.is_empty() => {}
                outcome => {
                    failures.push(format!("{}:{line}: {outcome:?}\n{block}", page.display()))
                }
            }
        }
    }
    assert!(checked >= 4, "the docs show specs ({checked} found)");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The README stays a front page: what eidb is, the quick start, the commands with their exit codes, a
/// short spec and links; the rest lives in docs/.
#[test]
fn the_readme_is_short_and_links_the_pages_it_moved_out() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.len() <= 15_500,
        "README.md is {} bytes",
        readme.len()
    );
    for page in [
        "docs/spec.md",
        "docs/set-up-a-new-cluster.md",
        "docs/add-remove-rename-a-node.md",
        "docs/monitor-with-verify.md",
        "docs/galera.md",
        "docs/destructive-changes.md",
        "docs/ledger.md",
        "docs/mount-records.md",
        "docs/performance.md",
        "docs/design.md",
        "docs/checks.md",
        "docs/json-output.md",
    ] {
        assert!(
            readme.contains(&format!("]({page})")),
            "README links {page}"
        );
        assert!(root.join(page).is_file(), "{page} exists");
    }
}
