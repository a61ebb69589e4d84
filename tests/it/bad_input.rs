//! Bad input changes nothing (issue 6): each mistake gets a clear error (what, where, what to do), exit
//! code 2 (1 for what the server refuses), never the password in the output, and leaves the server and
//! every file exactly as they were: no target database, no account, no ledger, files byte-identical.
//!
//! Every case runs the built `eidb provision` twice, for people (`-vvv`, the most log output) and as JSON.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::check::{self, snapshot_differences, snapshot_files, FileState};
use common::cluster::{fixture_path, Cluster, Conf, ACCOUNT_PASSWORD};
use common::{admin_pool, eidb_bin, server, unique_name};
use sqlx::{MySqlPool, Row};

const DRIVER_JAR: &str = "mysql-connector-java-5.1.49.jar";
const USER_MGT: &str = "conf/user-mgt.xml";
const REGISTRY: &str = "conf/registry.xml";

/// A two-node cluster on the project's fixture files, with a ledger database of its own (so this test
/// can tell that no ledger was created), whose spec is otherwise good: `provision` would succeed.
struct Subject {
    cluster: Cluster,
    metadata: String,
}

impl Subject {
    fn new() -> Subject {
        let metadata = unique_name("META");
        let cluster = Cluster::new(2, Conf::Fixture)
            .with_driver_jar(DRIVER_JAR)
            .with_databases(&format!("metadata = \"{metadata}\""));
        Subject { cluster, metadata }
    }

    fn spec_path(&self) -> String {
        self.cluster.spec_path.display().to_string()
    }

    fn spec(&self) -> String {
        std::fs::read_to_string(&self.cluster.spec_path).unwrap()
    }

    /// Replace the one occurrence of `from` in the spec with `to`; returns the new spec text.
    fn edit_spec(&self, from: &str, to: &str) -> String {
        let spec = self.spec();
        assert_eq!(
            spec.matches(from).count(),
            1,
            "the spec holds {from:?} once:\n{spec}"
        );
        let edited = spec.replacen(from, to, 1);
        std::fs::write(&self.cluster.spec_path, &edited).unwrap();
        edited
    }

    /// `spec_path:LINE`, the line (1-based) of the first occurrence of `needle` in the spec.
    fn place_of(&self, needle: &str) -> String {
        let spec = self.spec();
        let at = spec
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in the spec:\n{spec}"));
        format!(
            "{}:{}",
            self.spec_path(),
            spec[..at].matches('\n').count() + 1
        )
    }

    /// A script file in the cluster's folder.
    fn script(&self, name: &str, text: &str) -> PathBuf {
        let path = self.cluster.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// One refusal to check.
struct Expect<'a> {
    /// For messages: what the case is.
    what: &'a str,
    code: i32,
    /// Every one must be in the error (stderr for people, `error.message` + `error.hint` in JSON).
    says: Vec<String>,
    /// Extra environment for eidb.
    env: Vec<(String, String)>,
    /// Variables eidb must not see.
    env_remove: Vec<String>,
    /// Passwords (besides the account's) that must never be printed.
    secrets: Vec<String>,
}

impl<'a> Expect<'a> {
    fn new(what: &'a str, code: i32, says: &[&str]) -> Expect<'a> {
        Expect {
            what,
            code,
            says: says.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            env_remove: Vec::new(),
            secrets: Vec::new(),
        }
    }
}

/// What about the server a refused run must leave as it was.
#[derive(Debug, PartialEq, Eq)]
struct ServerTrace {
    /// The cluster's databases and its ledger database that exist.
    databases: Vec<String>,
    /// Rows of the cluster's account.
    account_rows: i64,
}

async fn server_trace(pool: &MySqlPool, subject: &Subject) -> ServerTrace {
    let mut databases = Vec::new();
    for db in subject
        .cluster
        .databases()
        .into_iter()
        .chain([subject.metadata.clone()])
    {
        if check::database_exists(pool, &db).await {
            databases.push(db);
        }
    }
    let account_rows: i64 = sqlx::query("SELECT COUNT(*) FROM mysql.user WHERE User = ?")
        .bind(&subject.cluster.account)
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
    ServerTrace {
        databases,
        account_rows,
    }
}

/// The rows the processes `pids` left in the default ledger (`EIDB_META`, which other tests' runs share,
/// so only these processes' own rows tell): their runs and the locks they hold.
async fn default_ledger_rows_of(pool: &sqlx::MySqlPool, pids: &[u32]) -> Vec<String> {
    let exists: i64 = sqlx::query(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'EIDB_META' AND TABLE_NAME = 'eidb_lock'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
    .get(0);
    let mut rows = Vec::new();
    if exists == 0 {
        return rows;
    }
    for pid in pids {
        for table in ["eidb_run", "eidb_lock"] {
            let owners: Vec<(String,)> = sqlx::query_as(&format!(
                "SELECT CONVERT(owner USING utf8mb4) FROM EIDB_META.{table} WHERE owner LIKE ?"
            ))
            .bind(common::check::owner_of_pid_pattern(*pid))
            .fetch_all(pool)
            .await
            .unwrap();
            rows.extend(
                owners
                    .into_iter()
                    .map(|(owner,)| format!("{table}: {owner}")),
            );
        }
    }
    rows
}

/// Runs eidb; returns its exit code, stdout, stderr and process id.
fn run(
    subject: &Subject,
    expect: &Expect<'_>,
    extra: &[&str],
) -> (Option<i32>, String, String, u32) {
    let mut command = Command::new(eidb_bin());
    command
        .arg("provision")
        .args(extra)
        .arg("--config")
        .arg(&subject.cluster.spec_path);
    subject.cluster.environment(&mut command);
    for (key, value) in &expect.env {
        command.env(key, value);
    }
    for key in &expect.env_remove {
        command.env_remove(key);
    }
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run eidb");
    let pid = child.id();
    let output = child.wait_with_output().expect("run eidb");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        pid,
    )
}

/// Run `eidb provision` (for people with -vvv, then as JSON) and check the refusal: the exit code, the
/// message, no password printed, and the server and every file under the cluster's folder unchanged.
/// Returns the error as people see it.
async fn assert_refused(subject: &Subject, expect: Expect<'_>) -> String {
    let pool = admin_pool().await;
    let what = expect.what;
    let files_before = snapshot_files(subject.cluster.dir.path());
    let server_before = server_trace(&pool, subject).await;
    assert!(
        server_before.databases.is_empty() && server_before.account_rows == 0,
        "{what}: the test starts from nothing: {server_before:?}"
    );

    let (code, stdout, stderr, pid) = run(subject, &expect, &["-vvv"]);
    let all = format!("--- stdout:\n{stdout}\n--- stderr:\n{stderr}");
    assert_eq!(code, Some(expect.code), "{what}: exit code\n{all}");
    let error = stderr
        .lines()
        .skip_while(|line| !line.starts_with("eidb: error:"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        !error.is_empty(),
        "{what}: an `eidb: error:` line on stderr\n{all}"
    );
    for fragment in &expect.says {
        assert!(
            error.contains(fragment.as_str()),
            "{what}: the error says {fragment:?}\n{all}"
        );
    }
    assert_no_secret(&expect, &all);

    let (json_code, json_stdout, json_stderr, json_pid) =
        run(subject, &expect, &["--output", "json"]);
    let json_all = format!("--- stdout:\n{json_stdout}\n--- stderr:\n{json_stderr}");
    assert_eq!(
        json_code,
        Some(expect.code),
        "{what}: exit code with --output json\n{json_all}"
    );
    let report: serde_json::Value = serde_json::from_str(&json_stdout).unwrap_or_else(|e| {
        panic!("{what}: --output json prints one JSON object ({e})\n{json_all}")
    });
    assert_eq!(report["status"], "failed", "{what}: {report:#}");
    assert_eq!(
        report["error"]["exit_code"], expect.code,
        "{what}: {report:#}"
    );
    let json_error = format!(
        "{}\n  hint: {}",
        report["error"]["message"].as_str().unwrap_or_default(),
        report["error"]["hint"].as_str().unwrap_or_default()
    );
    for fragment in &expect.says {
        assert!(
            json_error.contains(fragment.as_str()),
            "{what}: the JSON error says {fragment:?}\n{json_all}"
        );
    }
    assert_no_secret(&expect, &json_all);

    let files_after = snapshot_files(subject.cluster.dir.path());
    assert_files_unchanged(&files_before, &files_after, what);
    let server_after = server_trace(&pool, subject).await;
    assert_eq!(
        server_after, server_before,
        "{what}: the server is left as it was (no database, account or ledger)"
    );
    let ledger_rows = default_ledger_rows_of(&pool, &[pid, json_pid]).await;
    assert!(
        ledger_rows.is_empty(),
        "{what}: the refused runs left rows in the default ledger: {ledger_rows:?}"
    );
    error
}

fn assert_no_secret(expect: &Expect<'_>, output: &str) {
    for secret in expect
        .secrets
        .iter()
        .map(String::as_str)
        .chain([ACCOUNT_PASSWORD])
    {
        assert!(
            !output.contains(secret),
            "{}: a password was printed:\n{output}",
            expect.what
        );
    }
}

fn assert_files_unchanged(
    before: &BTreeMap<PathBuf, FileState>,
    after: &BTreeMap<PathBuf, FileState>,
    what: &str,
) {
    let differences = snapshot_differences(before, after);
    assert!(
        differences.is_empty(),
        "{what}: files changed:\n{}",
        differences.join("\n")
    );
}

/// A TOML basic string holding `value`.
fn toml_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn url_line() -> String {
    let server = server();
    format!(
        "url = \"mysql://{}@{}:{}\"",
        server.admin_user, server.host, server.port
    )
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

// ---------------------------------------------------------------------------------------------------
// The spec
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn spec_syntax_error_names_file_and_line() {
    let subject = Subject::new();
    subject.edit_spec("[user]\n", "[user\n");
    let place = subject.place_of("[user\n");
    assert_refused(
        &subject,
        Expect::new("a spec syntax error", 2, &[&place, "hint:"]),
    )
    .await;
}

#[tokio::test]
async fn unknown_key_names_key_and_line() {
    let subject = Subject::new();
    subject.edit_spec("[user]\n", "[user]\ncolour = \"blue\"\n");
    let place = subject.place_of("colour");
    assert_refused(
        &subject,
        Expect::new("an unknown key", 2, &[&place, "colour", "hint:"]),
    )
    .await;
}

#[tokio::test]
async fn bad_identifiers_are_refused_with_key_and_line() {
    let long = format!("UM{}", "X".repeat(63));
    assert_eq!(long.len(), 65);
    let cases: [(&str, &str, &str); 6] = [
        ("a backtick", "UM`X", "`"),
        ("a single quote", "UM'X", "'"),
        ("a double quote", "UM\"X", "\""),
        ("a semicolon", "UM;DROP", ";"),
        ("a space", "UM X", "` `"),
        ("65 characters", &long, "64"),
    ];
    for (what, name, says) in cases {
        let subject = Subject::new();
        let key = format!("user_store = \"{}\"", subject.cluster.user_store);
        subject.edit_spec(&key, &format!("user_store = {}", toml_string(name)));
        let place = subject.place_of("user_store =");
        let what = format!("a database name with {what}");
        assert_refused(
            &subject,
            Expect::new(&what, 2, &[&place, "databases.user_store", says]),
        )
        .await;
    }
    let long_account = "r".repeat(33);
    let accounts: [(&str, &str); 5] = [
        ("a backtick", "ra`x"),
        ("a single quote", "ra'x"),
        ("a semicolon", "ra;x"),
        ("a space", "ra x"),
        ("33 characters", &long_account),
    ];
    for (what, name) in accounts {
        let subject = Subject::new();
        let key = format!("name = \"{}\"", subject.cluster.account);
        subject.edit_spec(&key, &format!("name = {}", toml_string(name)));
        let place = subject.place_of("name =");
        let what = format!("an account name with {what}");
        assert_refused(
            &subject,
            Expect::new(&what, 2, &[&place, "user.name", "hint:"]),
        )
        .await;
    }
}

#[tokio::test]
async fn invalid_account_hosts_are_refused_with_key_and_line() {
    let too_long = "h".repeat(300);
    let hosts: [&str; 10] = [
        "",
        "web server",
        "host;drop",
        "ho`st",
        "ho'st",
        "ho\"st",
        "10.0.0.0/33",
        "10.0.0.0/255.255.255.256",
        "a..b",
        &too_long,
    ];
    for host in hosts {
        let subject = Subject::new();
        subject.edit_spec(
            "[user]\n",
            &format!("[user]\nhost = {}\n", toml_string(host)),
        );
        let place = subject.place_of("host =");
        let what = format!("account host {host:?}");
        assert_refused(
            &subject,
            Expect::new(&what, 2, &[&place, "user.host", "hint:"]),
        )
        .await;
    }
}

#[tokio::test]
async fn missing_environment_secret_names_the_variable() {
    let subject = Subject::new();
    let var = format!("EIDB_IT_{}", unique_name("unset"));
    subject.edit_spec(
        "password_env = \"EIDB_IT_ACCOUNT_PASSWORD\"",
        &format!("password_env = \"{var}\""),
    );
    let place = subject.place_of(&var);
    let mut expect = Expect::new(
        "a missing environment variable",
        2,
        &[&place, "user.password_env", &var, "export"],
    );
    expect.env_remove.push(var.clone());
    assert_refused(&subject, expect).await;

    // Set but empty is no better.
    let mut expect = Expect::new(
        "an empty environment variable",
        2,
        &[&place, "user.password_env", &var, "empty"],
    );
    expect.env.push((var.clone(), String::new()));
    assert_refused(&subject, expect).await;
}

#[tokio::test]
async fn empty_secret_file_names_the_file() {
    for (what, content) in [
        ("an empty password file", ""),
        ("a password file holding a newline", "\n"),
    ] {
        let subject = Subject::new();
        let file = subject.cluster.dir.path().join("regadmin.pw");
        std::fs::write(&file, content).unwrap();
        subject.edit_spec(
            "password_env = \"EIDB_IT_ACCOUNT_PASSWORD\"",
            "password_file = \"regadmin.pw\"",
        );
        let place = subject.place_of("password_file");
        assert_refused(
            &subject,
            Expect::new(
                what,
                2,
                &[&place, "user.password_file", &display(&file), "empty"],
            ),
        )
        .await;
    }
}

// ---------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn wrong_admin_password_is_refused_without_printing_it() {
    let subject = Subject::new();
    let wrong = "Wr0ng-Adm1n-Pw'x;".to_string();
    let var = "EIDB_IT_WRONG_ADMIN_PW";
    let spec = subject.spec();
    let server_section = spec.split("[user]").next().unwrap().to_string();
    let edited = server_section
        .lines()
        .filter(|line| !line.starts_with("password_env"))
        .map(|line| {
            if line.starts_with("url =") {
                format!("{line}\npassword_env = \"{var}\"")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(
        &subject.cluster.spec_path,
        spec.replacen(&server_section, &format!("{edited}\n"), 1),
    )
    .unwrap();
    let server = server();
    let mut expect = Expect::new(
        "a wrong admin password",
        1,
        &[
            "access denied",
            &format!("{}@{}:{}", server.admin_user, server.host, server.port),
            "hint:",
            "password",
        ],
    );
    expect.env.push((var.to_string(), wrong.clone()));
    expect.secrets.push(wrong);
    assert_refused(&subject, expect).await;
}

#[tokio::test]
async fn unreachable_server_says_cannot_reach_and_hints_wait() {
    let subject = Subject::new();
    let port = closed_port();
    let server = server();
    subject.edit_spec(
        &url_line(),
        &format!("url = \"mysql://{}@127.0.0.1:{port}\"", server.admin_user),
    );
    assert_refused(
        &subject,
        Expect::new(
            "an unreachable server",
            1,
            &["cannot reach", &format!("127.0.0.1:{port}"), "--wait"],
        ),
    )
    .await;
}

#[tokio::test]
async fn admin_without_privileges_is_refused_naming_what_it_lacks() {
    let subject = Subject::new();
    let pool = admin_pool().await;
    let admin = unique_name("lim").to_lowercase();
    let password = "Lim1ted-Adm1n-Pw".to_string();
    // Every host the test's connection may be seen from, so no anonymous account row shadows it.
    for host in ["%", "localhost", "127.0.0.1"] {
        check::exec(
            &pool,
            &format!(
                "CREATE USER '{admin}'@'{host}' IDENTIFIED BY '{password}'; GRANT SELECT ON *.* TO '{admin}'@'{host}'"
            ),
        )
        .await;
    }
    let var = "EIDB_IT_LIMITED_ADMIN_PW";
    let server = server();
    let edited = format!(
        "url = \"mysql://{admin}@{}:{}\"\npassword_env = \"{var}\"",
        server.host, server.port
    );
    let spec = subject
        .spec()
        .lines()
        .filter(|line| !(line.starts_with("password_env") && line.contains("ADMIN")))
        .collect::<Vec<_>>()
        .join("\n")
        .replacen(&url_line(), &edited, 1);
    std::fs::write(&subject.cluster.spec_path, spec).unwrap();
    let mut expect = Expect::new(
        "an admin account with only SELECT",
        1,
        &[&admin, "CREATE", "CREATE USER", "GRANT OPTION", "hint:"],
    );
    expect.env.push((var.to_string(), password.clone()));
    expect.secrets.push(password);
    assert_refused(&subject, expect).await;
    for host in ["%", "localhost", "127.0.0.1"] {
        check::exec(&pool, &format!("DROP USER '{admin}'@'{host}'")).await;
    }
}

// ---------------------------------------------------------------------------------------------------
// The dbscript
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn missing_dbscript_names_the_file() {
    let subject = Subject::new();
    let missing = subject.cluster.dir.path().join("no-such-script.sql");
    let subject = Subject {
        cluster: subject.cluster.with_script(&missing),
        metadata: subject.metadata,
    };
    assert_refused(
        &subject,
        Expect::new("a missing dbscript", 2, &[&display(&missing), "hint:"]),
    )
    .await;
}

#[tokio::test]
async fn empty_dbscript_names_the_file() {
    for (what, text) in [
        ("an empty dbscript", ""),
        (
            "a dbscript of comments only",
            "-- nothing here\n/* nor here */\n",
        ),
    ] {
        let subject = Subject::new();
        let script = subject.script("empty.sql", text);
        let subject = Subject {
            cluster: subject.cluster.with_script(&script),
            metadata: subject.metadata,
        };
        assert_refused(
            &subject,
            Expect::new(what, 2, &[&display(&script), "hint:"]),
        )
        .await;
    }
}

#[tokio::test]
async fn dbscript_with_unterminated_string_names_file_and_line() {
    let subject = Subject::new();
    let script = subject.script(
        "unterminated-string.sql",
        "CREATE TABLE T1 (A INT);\nINSERT INTO T1 VALUES ('abc);\nCREATE TABLE T2 (B INT);\n",
    );
    let subject = Subject {
        cluster: subject.cluster.with_script(&script),
        metadata: subject.metadata,
    };
    let place = format!("{}:2", display(&script));
    assert_refused(
        &subject,
        Expect::new("an unterminated string", 2, &[&place, "hint:"]),
    )
    .await;
}

#[tokio::test]
async fn dbscript_with_unterminated_comment_names_file_and_line() {
    let subject = Subject::new();
    let script = subject.script(
        "unterminated-comment.sql",
        "CREATE TABLE T1 (A INT);\n/* the rest is a comment\nCREATE TABLE T2 (B INT);\n",
    );
    let subject = Subject {
        cluster: subject.cluster.with_script(&script),
        metadata: subject.metadata,
    };
    let place = format!("{}:2", display(&script));
    assert_refused(
        &subject,
        Expect::new("an unterminated /* comment", 2, &[&place, "hint:"]),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------------
// The nodes' files
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn missing_ei_home_names_node_and_folder() {
    let subject = Subject::new();
    let home = subject.cluster.nodes[1].clone();
    std::fs::remove_dir_all(&home).unwrap();
    assert_refused(
        &subject,
        Expect::new("a missing EI_HOME", 2, &["node2", &display(&home), "hint:"]),
    )
    .await;
}

#[tokio::test]
async fn ei_home_without_conf_names_node_and_folder() {
    let subject = Subject::new();
    let home = subject.cluster.nodes[1].clone();
    std::fs::remove_dir_all(home.join("conf")).unwrap();
    assert_refused(
        &subject,
        Expect::new(
            "an EI_HOME without conf/",
            2,
            &["node2", &display(&home), "conf", "hint:"],
        ),
    )
    .await;
}

#[tokio::test]
async fn malformed_xml_names_file_and_line() {
    let subject = Subject::new();
    let file = subject.cluster.node_file(1, USER_MGT);
    let text = std::fs::read_to_string(&file).unwrap();
    let close = "</Configuration>";
    let at = text.find(close).unwrap_or_else(|| {
        panic!(
            "{close} in the fixture {}",
            display(&fixture_path("ei-home/conf/user-mgt.xml"))
        )
    });
    let line = text[..at].matches('\n').count() + 1;
    std::fs::write(&file, text.replacen(close, "</Configuratio>", 1)).unwrap();
    let error = assert_refused(
        &subject,
        Expect::new("malformed XML", 2, &["node2", &display(&file)]),
    )
    .await;
    assert!(
        error.contains(&format!("{}:{line}", display(&file)))
            || error.contains(&format!("line {line}")),
        "malformed XML: the error names line {line}:\n{error}"
    );
}

#[tokio::test]
async fn read_only_file_names_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let subject = Subject::new();
    let file = subject.cluster.node_file(1, REGISTRY);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();
    assert_refused(
        &subject,
        Expect::new(
            "a read-only file",
            2,
            &[&display(&file), "read-only", "hint:"],
        ),
    )
    .await;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444, "the mode is left as it was");
}
