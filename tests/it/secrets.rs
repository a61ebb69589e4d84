//! Passwords never leak: every command at the highest verbosity, with recognisable passwords, and every
//! output searched for them (issue 8). Also: Secure Vault output and file modes.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use common::cluster::{Cluster, Conf, ACCOUNT_PASSWORD};

/// Forms a password could leak in: as is, XML-escaped, SQL-quoted, percent-encoded, and its longest run
/// free of quotes and backslashes (which survives any further escaping, such as a logger's `{:?}`).
fn leak_forms(secret: &str) -> Vec<String> {
    let core = secret
        .rsplit(['\'', '"', '\\'])
        .next()
        .unwrap_or(secret)
        .to_string();
    assert!(
        core.len() >= 6,
        "the test password needs a distinctive run without quotes: {core:?}"
    );
    vec![
        core.clone(),
        core.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
        secret.to_string(),
        secret
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
        secret.replace('\'', "''"),
        secret.replace('\\', "\\\\").replace('\'', "''"),
        secret.replace('\\', "\\\\").replace('\'', "\\'"),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
    ]
}

fn assert_no_leak(output: &Output, secrets: &[&str], what: &str) {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for secret in secrets {
        for form in leak_forms(secret) {
            assert!(
                !text.contains(&form),
                "{what}: the password leaked as {form:?}:\n{text}"
            );
        }
    }
}

/// Run eidb with RUST_LOG=trace and -vvv, so every library logs everything it would.
fn run_loud(cluster: &Cluster, args: &[&str]) -> Output {
    let mut command = Command::new(common::eidb_bin());
    command
        .args(args)
        .arg("-vvv")
        .arg("--config")
        .arg(&cluster.spec_path);
    cluster.environment(&mut command);
    command.env("RUST_LOG", "trace");
    command.output().expect("run eidb")
}

#[tokio::test]
async fn no_command_prints_a_password_at_any_verbosity() {
    let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar("mysql-connector-java-5.1.49.jar");
    let secrets = [ACCOUNT_PASSWORD];
    let mut ran = 0;
    for args in [
        vec!["provision", "--dry-run"],
        vec!["provision", "--dry-run", "--output", "json"],
        vec!["provision"],
        vec!["provision"],
        vec!["verify"],
        vec!["verify", "--output", "json"],
    ] {
        let output = run_loud(&cluster, &args);
        assert!(output.status.code().is_some(), "{args:?} was killed");
        assert_no_leak(&output, &secrets, &format!("{args:?}"));
        assert!(
            !output.stderr.is_empty(),
            "{args:?} at -vvv logged nothing, so the check proves nothing"
        );
        ran += 1;
    }
    assert_eq!(ran, 6);

    // Drift that makes eidb reset the password (and so send it to the server) is still silent.
    let pool = common::admin_pool().await;
    sqlx::raw_sql(&format!(
        "ALTER USER '{}'@'%' IDENTIFIED BY 'another-one'",
        cluster.account
    ))
    .execute(&pool)
    .await
    .unwrap();
    for args in [
        vec!["verify"],
        vec!["provision", "--dry-run"],
        // The reset is destructive: held back first, then sent once allowed.
        vec!["provision"],
        vec!["provision", "--allow-destructive"],
    ] {
        let output = run_loud(&cluster, &args);
        assert_no_leak(
            &output,
            &secrets,
            &format!("after the password drift: {args:?}"),
        );
    }
    let output = run_loud(&cluster, &["verify"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[tokio::test]
async fn errors_do_not_echo_passwords() {
    let cluster = Cluster::new(1, Conf::Fixture);
    // A password typed into the URL by mistake is refused without echoing it.
    let spec = cluster
        .spec_text()
        .replacen("mysql://root@", "mysql://root:Typed-In-Url-Pw-77@", 1);
    std::fs::write(&cluster.spec_path, spec).unwrap();
    let output = run_loud(&cluster, &["provision"]);
    assert_eq!(output.status.code(), Some(2));
    assert_no_leak(&output, &["Typed-In-Url-Pw-77"], "password in the URL");

    // A wrong admin password: the server's refusal is passed through, the password is not.
    let spec = cluster.spec_text().replace(
        "[server]\n",
        "[server]\npassword_env = \"EIDB_IT_WRONG_ADMIN_PW\"\n",
    );
    let spec = spec.replacen("password_env = \"EIDB_IT_ADMIN_PASSWORD\"\n", "", 1);
    std::fs::write(&cluster.spec_path, spec).unwrap();
    let mut command = Command::new(common::eidb_bin());
    command
        .args(["provision", "-vvv", "--config"])
        .arg(&cluster.spec_path);
    cluster.environment(&mut command);
    command
        .env("EIDB_IT_WRONG_ADMIN_PW", "Wrong-Admin-'\"-Pw-99x")
        .env("RUST_LOG", "trace");
    let output = command.output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("access denied"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_no_leak(&output, &["Wrong-Admin-'\"-Pw-99x"], "wrong admin password");
}

#[tokio::test]
async fn secure_vault_writes_aliases_and_an_owner_only_cipher_text_file() {
    let cluster = Cluster::new(1, Conf::Fixture).with_extra("[secure_vault]\nenabled = true\n");
    let output = run_loud(&cluster, &["provision"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_no_leak(&output, &[ACCOUNT_PASSWORD], "secure vault provision");

    let datasources =
        std::fs::read_to_string(cluster.node_file(0, "conf/datasources/master-datasources.xml"))
            .unwrap();
    assert!(
        !datasources.contains("-x9<"),
        "no plain password may remain in master-datasources.xml"
    );
    for name in ["WSO2_CARBON_DB", "WSO2_REGISTRY_DB", "WSO2_UM_DB"] {
        let element = format!("<password svns:secretAlias=\"Datasources.{name}.Configuration.Password\">password</password>");
        assert!(
            datasources.contains(&element),
            "missing {element}\n{datasources}"
        );
    }
    assert!(datasources.contains("xmlns:svns=\"http://org.wso2.securevault/configuration\""));

    let cipher = cluster.node_file(0, "conf/security/cipher-text.properties");
    let text = std::fs::read_to_string(&cipher).unwrap();
    let escaped = ACCOUNT_PASSWORD.replace('\\', "\\\\");
    for name in ["WSO2_CARBON_DB", "WSO2_REGISTRY_DB", "WSO2_UM_DB"] {
        assert!(
            text.contains(&format!(
                "Datasources.{name}.Configuration.Password=[{escaped}]"
            )),
            "{text}"
        );
    }
    let mode = std::fs::metadata(&cipher).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o600,
        "a new file holding secrets is readable by its owner only"
    );

    // Other entries of an existing file stay; a second run changes nothing.
    std::fs::write(&cipher, format!("Keystore.Password=[wso2carbon]\n{text}")).unwrap();
    std::fs::set_permissions(&cipher, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "unchanged", "{report:#}");
    let after = std::fs::read_to_string(&cipher).unwrap();
    assert!(after.starts_with("Keystore.Password=[wso2carbon]\n"));
    assert_eq!(
        std::fs::metadata(&cipher).unwrap().permissions().mode() & 0o777,
        0o640,
        "an edited file keeps its mode"
    );
}

/// With no password source for the account and a terminal attached, eidb asks without echo. The terminal
/// is a pseudo-terminal from util-linux `script`, typed into only once the prompt is shown.
#[tokio::test]
async fn prompts_for_the_account_password_without_echo_on_a_terminal() {
    use std::io::{Read, Write};
    let cluster = Cluster::new(1, Conf::Fixture).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.eidb_ok(&["provision", "--db-only"]);
    let spec = cluster
        .spec_text()
        .replace("password_env = \"EIDB_IT_ACCOUNT_PASSWORD\"\n", "");
    std::fs::write(&cluster.spec_path, spec).unwrap();

    let inner = format!(
        "{} verify --db-only --config {}",
        common::eidb_bin().display(),
        cluster.spec_path.display()
    );
    let mut command = Command::new("script");
    command.args(["-qec", &inner, "/dev/null"]);
    cluster.environment(&mut command);
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` is needed for this test (Debian package bsdutils)");
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("password for [user]") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "eidb ended without prompting: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    // Like sudo or ssh, eidb turns echo off right after showing the prompt; a line typed ahead before that
    // is echoed by the terminal itself. A person types once echo is off, and so does this test: it reads
    // the terminal's state from eidb's own stdin (the pseudo-terminal `script` made).
    wait_for_echo_off(child.id());
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(format!("{ACCOUNT_PASSWORD}\n").as_bytes())
        .unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    let status = child.wait().unwrap();
    let text = String::from_utf8_lossy(&seen);
    assert!(status.success(), "verify with the typed password: {text}");
    assert!(text.contains("in sync"), "{text}");
    for form in leak_forms(ACCOUNT_PASSWORD) {
        assert!(
            !text.contains(&form),
            "the typed password was echoed as {form:?}:\n{text}"
        );
    }
}

/// Wait until the terminal eidb (a descendant of `root`) reads from has echo turned off.
fn wait_for_echo_off(root: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let eidb = common::eidb_bin();
    loop {
        let echo_off = descendants(root).into_iter().any(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            let tty = std::fs::read_link(format!("/proc/{pid}/fd/0")).ok();
            match (exe, tty) {
                (Some(exe), Some(tty)) if exe == eidb => Command::new("stty")
                    .arg("-F")
                    .arg(&tty)
                    .arg("-a")
                    .output()
                    .map(|o| {
                        String::from_utf8_lossy(&o.stdout)
                            .split_whitespace()
                            .any(|flag| flag == "-echo")
                    })
                    .unwrap_or(false),
                _ => false,
            }
        });
        if echo_off {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "eidb showed the prompt but did not turn echo off within 20 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Every process below `root`, from /proc/PID/task/*/children.
fn descendants(root: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                found.push(child);
                queue.push(child);
            }
        }
    }
    found
}
