//! What eidb says about itself: `--version` with the commit it was built from.

use std::process::Command;

use crate::common;

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

#[test]
fn completions_cover_the_subcommands_and_their_options() {
    let bash = eidb(&["completions", "bash"]);
    for word in ["provision", "verify", "--dry-run", "--ei-home", "--config"] {
        assert!(bash.contains(word), "bash completions lack {word}");
    }
    // The script is valid bash and registers a completion for eidb.
    let registered = Command::new("bash")
        .arg("-c")
        .arg("source /dev/stdin && complete -p eidb")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bash.as_bytes())?;
            child.wait_with_output()
        })
        .expect("run bash");
    assert!(
        String::from_utf8_lossy(&registered.stdout).contains("-F _eidb eidb"),
        "bash did not register the completion: {}",
        String::from_utf8_lossy(&registered.stderr)
    );
    assert!(eidb(&["completions", "zsh"]).starts_with("#compdef eidb"));
    assert!(eidb(&["completions", "fish"]).contains("complete -c eidb"));
}

#[test]
fn the_man_page_documents_every_option_of_every_command() {
    let page = eidb(&["man"]);
    assert!(page.contains(".TH eidb 1"), "no title:\n{page}");
    for word in ["provision", "verify", "completions", "schema"] {
        assert!(page.contains(word), "eidb.1 lacks {word}");
    }
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(common::eidb_bin())
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let provision = std::fs::read_to_string(dir.path().join("eidb-provision.1")).unwrap();
    // roff escapes every hyphen of an option as \-.
    for option in [
        "dry\\-run",
        "parallel",
        "lock\\-wait",
        "reapply\\-changed\\-script",
    ] {
        assert!(
            provision.contains(option),
            "eidb-provision.1 lacks {option}"
        );
    }
    let verify = std::fs::read_to_string(dir.path().join("eidb-verify.1")).unwrap();
    assert!(
        verify.contains("ei\\-home"),
        "eidb-verify.1 lacks --ei-home"
    );
}

#[test]
fn the_schema_is_draft_7_and_refuses_unknown_keys() {
    let schema: serde_json::Value = serde_json::from_str(&eidb(&["schema"])).expect("JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["required"],
        serde_json::json!(["server", "user", "dbscripts"])
    );
    let server = &schema["definitions"]["Server"];
    assert_eq!(server["additionalProperties"], false);
    assert_eq!(server["properties"]["jdbc_port"]["maximum"], 65535);
    assert_eq!(
        schema["definitions"]["User"]["properties"]["host"]["default"],
        "%"
    );
}

/// `--help` lists every exit code the command uses, each with what it means, and the README's command
/// table gives the same codes.
#[test]
fn help_lists_every_exit_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (command, codes) in [
        ("provision", &[0, 1, 2, 3, 4][..]),
        ("verify", &[0, 1, 2][..]),
    ] {
        let help = eidb(&[command, "--help"]);
        let section = help.split("Exit codes:").nth(1).unwrap_or_else(|| {
            panic!("`eidb {command} --help` has no Exit codes section:\n{help}")
        });
        let listed: Vec<i32> = section
            .lines()
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect();
        assert_eq!(listed, codes, "`eidb {command} --help`:\n{section}");
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `eidb {command} --config FILE` |")))
            .unwrap_or_else(|| panic!("README's command table has no row for {command}"));
        for code in codes.iter().filter(|&&c| c != 4) {
            assert!(
                row.contains(&format!("{code} ")),
                "README row for {command} lacks {code}: {row}"
            );
        }
    }
}
