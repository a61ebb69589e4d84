//! Short and odd passwords do not corrupt the output (issue 23, item 10): masking used to replace every
//! occurrence of the password as a substring of any text, so `e`, `"` or the guide's own `regadmin` turned
//! unrelated words into `****`, made `--output json` invalid and showed the password by where the stars
//! landed. Now the JSON always parses, eidb's own words are intact, the password elements and SQL stay
//! masked, and a weak password is a warning in the report.

use crate::common;

use std::process::Command;

use common::cluster::{Cluster, Conf};
use serde_json::Value;

const DRIVER_JAR: &str = "mysql-connector-java-5.1.49.jar";
/// The variable the test cluster's spec reads the account's password from (tests/it/common/cluster.rs).
const ACCOUNT_PASSWORD_ENV: &str = "EIDB_IT_ACCOUNT_PASSWORD";

/// Run eidb on `cluster` with `password` as the account's, `--output json`; the exit code, stdout parsed
/// (the test fails when it is not JSON) and stdout as printed.
fn run_json(cluster: &Cluster, password: &str, args: &[&str]) -> (i32, Value, String) {
    let mut command: Command = cluster.eidb_command(&cluster.spec_path, args);
    command
        .args(["--output", "json"])
        .env(ACCOUNT_PASSWORD_ENV, password);
    let output = command.output().expect("run eidb");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "password {password:?}, {args:?}: --output json is not JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), report, stdout)
}

/// Every string in the report, with its path, for checks on eidb's own words.
fn strings(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) => out.push((path.to_string(), s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                strings(v, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// The report's own words are intact: no `****` but the masks eidb puts in the password elements
/// (`********`) and in the SQL (`'****'`), every database of the cluster named as it is.
fn assert_intact(cluster: &Cluster, password: &str, args: &[&str], report: &Value) {
    let mut all = Vec::new();
    strings(report, "", &mut all);
    for (path, text) in &all {
        let unmasked = text.replace("********", "").replace("'****'", "");
        assert!(
            !unmasked.contains("****"),
            "password {password:?}, {args:?}: {path} was masked where no password is: {text:?}\n{report:#}"
        );
    }
    if args[0] == "verify" {
        assert_eq!(
            report["status"], "in_sync",
            "password {password:?}: {report:#}"
        );
        return;
    }
    let text = report.to_string();
    for db in cluster.databases() {
        assert!(
            text.contains(&db),
            "password {password:?}, {args:?}: database {db} is named: {report:#}"
        );
    }
}

/// Where the password must never be: in a password element or after IDENTIFIED BY, in any form eidb
/// writes it (raw, XML-escaped, SQL-quoted).
fn assert_password_hidden(password: &str, args: &[&str], stdout: &str, report: &Value) {
    let xml = password
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let sql = password.replace('\\', "\\\\").replace('\'', "\\'");
    let mut all = Vec::new();
    strings(report, "", &mut all);
    for (path, text) in &all {
        for form in [password, xml.as_str()] {
            for needle in [
                format!("<password>{form}</password>"),
                format!("\">{form}</password>"),
                format!("<Property name=\"password\">{form}</Property>"),
            ] {
                assert!(
                    !text.contains(&needle),
                    "password {password:?}, {args:?}: {path} shows it: {text:?}\n{stdout}"
                );
            }
        }
        for form in [password, sql.as_str()] {
            let needle = format!("IDENTIFIED BY '{form}'");
            assert!(
                !text.contains(&needle),
                "password {password:?}, {args:?}: {path} shows it: {text:?}"
            );
        }
    }
}

fn weak_warning(report: &Value) -> bool {
    report["warnings"].as_array().is_some_and(|w| {
        w.iter()
            .any(|w| w["check"] == "weak_password" && w.to_string().contains("weak password"))
    })
}

#[tokio::test]
async fn short_and_odd_passwords_leave_the_json_valid_and_the_words_intact() {
    for password in ["e", "\"", "regadmin", "\\", "<", "&amp;"] {
        let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar(DRIVER_JAR);
        for args in [
            &["provision", "--dry-run"][..],
            &["provision"][..],
            &["verify"][..],
        ] {
            let (code, report, stdout) = run_json(&cluster, password, args);
            assert_eq!(code, 0, "password {password:?}, {args:?}: {report:#}");
            assert_intact(&cluster, password, args, &report);
            assert_password_hidden(password, args, &stdout, &report);
            assert!(
                weak_warning(&report),
                "password {password:?}, {args:?}: a weak password is a warning: {report:#}"
            );
        }
        // The account works with the password as given (it was not mangled on its way either).
        let server = common::server();
        let options = sqlx::mysql::MySqlConnectOptions::new()
            .host(&server.host)
            .port(server.port)
            .username(&cluster.account)
            .password(password)
            .database(&cluster.user_store);
        sqlx::ConnectOptions::connect(&options)
            .await
            .unwrap_or_else(|e| panic!("password {password:?}: login: {e}"));
    }
}

/// A password equal to the account's name is weak too, and is not masked in eidb's words: the name is
/// public, and stars where the name stands would only say what the password is.
#[tokio::test]
async fn a_password_equal_to_the_account_name_is_a_warning_and_the_name_stays() {
    let cluster = Cluster::new(1, Conf::Fixture).with_driver_jar(DRIVER_JAR);
    let password = cluster.account.clone();
    assert!(password.len() >= 8, "{password}");
    let (code, report, _) = run_json(&cluster, &password, &["provision"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(weak_warning(&report), "{report:#}");
    let text = report.to_string();
    assert!(!text.contains("****'@"), "{report:#}");
    // The account's name appears in the report where eidb names the account.
    assert!(
        text.contains(&format!("'{}'", cluster.account)),
        "{report:#}"
    );
    // A good password gives no such warning.
    let (code, report, _) = run_json(
        &cluster,
        "Corr3ct-Horse-Battery",
        &["provision", "--dry-run"],
    );
    assert!(code == 0 || code == 3, "{report:#}");
    assert!(!weak_warning(&report), "{report:#}");
}
