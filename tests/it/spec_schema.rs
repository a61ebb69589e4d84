//! `eidb schema` against real specs: the spec reference's example (docs/spec.md) validates, and what the schema refuses eidb
//! refuses too. Every spec the other tests run eidb on is checked the same way as they run
//! (tests/it/common/spec_schema.rs, called by `Cluster::eidb`).

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Output};

use crate::common;

use common::spec_schema::{assert_schema_agrees, schema_errors};

/// The spec reference, docs/spec.md: the ```toml block of "## The cluster spec".
fn readme_example() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/spec.md"))
            .expect("read docs/spec.md");
    let section = &readme[readme
        .find("## The cluster spec")
        .expect("docs/spec.md has a spec section")..];
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + section[start..].find("```").expect("the block ends");
    section[start..end].to_string()
}

const MINIMAL: &str = r#"
[server]
url = "mysql://root@127.0.0.1:3306"

[user]
name = "regadmin"
password_env = "EIDB_REGADMIN_PASSWORD"

[dbscripts]
dir = "dbscripts"

[[nodes]]
name = "node1"
ei_home = "node1"
"#;

#[test]
fn the_readmes_example_spec_validates() {
    let example = readme_example();
    assert!(example.contains("[server]") && example.contains("[[nodes]]"));
    assert_eq!(
        schema_errors(&example),
        Ok(vec![]),
        "--- README example:\n{example}"
    );
    assert_eq!(schema_errors(MINIMAL), Ok(vec![]));
}

/// Specs whose shape is wrong: the schema and eidb refuse each (eidb with exit 2, before any server).
#[test]
fn what_the_schema_refuses_eidb_refuses() {
    let cases = [
        (
            "an unknown key",
            MINIMAL.replace("[user]\n", "[user]\npasword = \"x\"\n"),
        ),
        (
            "an unknown section",
            format!("{MINIMAL}\n[clusters]\nname = \"x\"\n"),
        ),
        (
            "a port that is text",
            MINIMAL.replace("[server]\n", "[server]\njdbc_port = \"3306\"\n"),
        ),
        (
            "a port out of range",
            MINIMAL.replace("[server]\n", "[server]\njdbc_port = 70000\n"),
        ),
        (
            "no [user]",
            MINIMAL.replace("[user]\nname = \"regadmin\"\n", "[nodes_]\n"),
        ),
        (
            "a node without ei_home",
            MINIMAL.replace("ei_home = \"node1\"\n", ""),
        ),
        (
            "a flag that is text",
            format!("{MINIMAL}\n[jdbc]\nuse_ssl = \"yes\"\n"),
        ),
        (
            "an unknown TLS mode",
            MINIMAL.replace("[server]\n", "[server]\nssl_mode = \"verify-ca\"\n"),
        ),
        (
            "an unknown mount overwrite",
            format!("{MINIMAL}\n[registry]\nmount_overwrite = \"yes\"\n"),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, spec) in cases {
        let errors = schema_errors(&spec).unwrap();
        assert!(!errors.is_empty(), "the schema accepts {what}:\n{spec}");
        let path = dir.path().join("cluster.toml");
        std::fs::write(&path, &spec).unwrap();
        let output = Command::new(common::eidb_bin())
            .args(["provision", "--dry-run", "--config"])
            .arg(&path)
            .env("EIDB_REGADMIN_PASSWORD", "x")
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "eidb did not refuse {what}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_schema_agrees(&path, &output);
    }
}

/// The check every test run makes fails when eidb accepts a spec that the schema refuses.
#[test]
fn a_schema_stricter_than_eidb_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.toml");
    std::fs::write(
        &path,
        MINIMAL.replace("[user]\n", "[user]\npasword = \"x\"\n"),
    )
    .unwrap();
    let accepted = Output {
        status: ExitStatus::from_raw(0),
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    let caught = std::panic::catch_unwind(|| assert_schema_agrees(&path, &accepted));
    assert!(
        caught.is_err(),
        "a spec the schema refuses passed as accepted"
    );

    std::fs::write(&path, MINIMAL).unwrap();
    assert_schema_agrees(&path, &accepted);
}

/// The keys with a fixed set of values: the schema lists exactly the values eidb takes, so an editor
/// offers them and marks any other.
#[test]
fn the_schema_lists_the_values_of_each_fixed_value_key() {
    let output = Command::new(common::eidb_bin())
        .arg("schema")
        .output()
        .unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let values_of = |section: &str, key: &str| -> Vec<String> {
        let property = &schema["definitions"][section]["properties"][key];
        // `{"$ref": ...}`, or `{"allOf": [{"$ref": ...}], "default": ...}` for a key with a default.
        let reference = property["$ref"]
            .as_str()
            .or_else(|| property["allOf"][0]["$ref"].as_str());
        let definition = match reference {
            Some(target) => &schema["definitions"][target.trim_start_matches("#/definitions/")],
            None => property,
        };
        let listed = definition["enum"]
            .as_array()
            .cloned()
            .or_else(|| {
                definition["oneOf"]
                    .as_array()
                    .map(|alternatives| alternatives.iter().map(|a| a["const"].clone()).collect())
            })
            .unwrap_or_else(|| panic!("{section}.{key} lists no values: {property}"));
        listed
            .iter()
            .map(|v| v.as_str().expect("a string value").to_string())
            .collect()
    };
    for (section, key, values) in [
        (
            "Server",
            "ssl_mode",
            &[
                "disabled",
                "preferred",
                "required",
                "verify_ca",
                "verify_identity",
            ][..],
        ),
        (
            "Server",
            "jdbc_url_style",
            &["single", "failover", "loadbalance"],
        ),
        (
            "User",
            "auth_plugin",
            &["auto", "mysql_native_password", "caching_sha2_password"],
        ),
        ("User", "privileges", &["all", "wso2"]),
        ("Databases", "local_registry", &["mysql", "h2"]),
        ("Registry", "mount_overwrite", &["true", "false", "virtual"]),
    ] {
        assert_eq!(values_of(section, key), values, "{section}.{key}");
    }
}
