//! `eidb verify` (issue 5): the built binary against a throwaway server and real-looking EI_HOME folders.
//!
//! Each test provisions a fresh 2-node cluster, checks that it verifies clean, creates exactly one kind of
//! drift (by SQL on an admin connection or by editing a node file), expects `verify` to exit 1 with a
//! finding that names it, then runs `provision` and expects `verify` to exit 0 again, checking the repair
//! through a second path (SQL, or the file's bytes).

use crate::common;

use std::path::Path;

use serde_json::Value;
use sqlx::MySqlPool;

use common::check::{
    self, charset_of, exec, foreign_keys_of, granted_databases, grants_of, indexes_of,
    indexes_of_table, script_objects, snapshot_differences, snapshot_files, tables_of, triggers_of,
};
use common::cluster::{fixture_path, Cluster, Conf, ACCOUNT_PASSWORD};
use common::{admin_pool, server, unique_name};

const DRIVER_JAR: &str = "mysql-connector-java-5.1.49.jar";
const DATASOURCES: &str = "conf/datasources/master-datasources.xml";
const REGISTRY: &str = "conf/registry.xml";
const USER_MGT: &str = "conf/user-mgt.xml";

// ---------------------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------------------

/// A fresh 2-node cluster (fixture files, a Connector/J 5.1 jar on each node), provisioned, and checked to
/// verify clean.
fn provisioned() -> Cluster {
    let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar(DRIVER_JAR);
    cluster.eidb_ok(&["provision"]);
    assert_in_sync(&cluster, "right after provision");
    cluster
}

fn assert_in_sync(cluster: &Cluster, when: &str) {
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "verify {when} must exit 0:\n{report:#}");
    assert_eq!(report["status"], "in_sync", "{when}: {report:#}");
    assert_eq!(
        findings(&report).len(),
        0,
        "{when}: no findings expected:\n{:#}",
        report["findings"]
    );
}

fn findings(report: &Value) -> Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("report has no findings array: {report:#}"))
        .clone()
}

/// Run verify, expect exit 1 with status drift, return all the findings. Every finding must have a check in
/// `allowed` (the drift's own check and the ones that follow from it), and `check` must be among them.
fn drift(cluster: &Cluster, check: &str, allowed: &[&str]) -> Vec<Value> {
    let (code, report) = cluster.eidb_json(&["verify"]);
    let all = findings(&report);
    println!("findings for {check}:\n{:#}", report["findings"]);
    assert_eq!(
        code, 1,
        "verify must exit 1 on drift ({check}):\n{report:#}"
    );
    assert_eq!(report["status"], "drift", "{report:#}");
    let found: Vec<Value> = all
        .iter()
        .filter(|f| f["check"] == check)
        .cloned()
        .collect();
    assert!(
        !found.is_empty(),
        "no `{check}` finding:\n{:#}",
        report["findings"]
    );
    for f in &all {
        let code = f["check"].as_str().unwrap_or("");
        assert!(
            code == check || allowed.contains(&code),
            "unexpected finding `{code}` for a `{check}` drift:\n{f:#}\nall findings:\n{:#}",
            report["findings"]
        );
        for field in ["subject", "check", "fix"] {
            assert!(
                f[field].as_str().is_some_and(|s| !s.is_empty()),
                "finding without {field}: {f:#}"
            );
        }
        // Each is a non-empty text or null (null: nothing expected / nothing found), and a finding says at
        // least one of them.
        for field in ["expected", "found"] {
            assert!(
                f[field].is_null() || f[field].as_str().is_some_and(|s| !s.is_empty()),
                "finding with an empty or malformed {field}: {f:#}"
            );
        }
        assert!(
            f["expected"].is_string() || f["found"].is_string(),
            "finding says neither what was expected nor what was found: {f:#}"
        );
    }
    all
}

/// The one finding of `check` about `subject`; panics listing what there is otherwise.
fn the<'a>(findings: &'a [Value], check: &str, subject: &str) -> &'a Value {
    let about: Vec<&Value> = findings
        .iter()
        .filter(|f| f["check"] == check && f["subject"] == subject)
        .collect();
    assert_eq!(
        about.len(),
        1,
        "expected one `{check}` finding about `{subject}`, got:\n{findings:#?}"
    );
    about[0]
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

/// Run provision (must succeed) and expect verify to exit 0 again; returns provision's JSON report.
fn repaired(cluster: &Cluster) -> Value {
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "provision must repair the drift:\n{report:#}");
    assert_eq!(
        report["status"], "changed",
        "provision had drift to repair: {report:#}"
    );
    assert_in_sync(cluster, "after provision");
    report
}

/// The drift takes something away to repair (a revoke, a password reset, a node pointed at another
/// database): provision alone holds it back (exit 3, nothing of it applied, verify still finds it), and
/// `--allow-destructive` repairs it. Returns the second provision's JSON report.
fn repaired_destructively(cluster: &Cluster, check: &str) -> Value {
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 3, "destructive repairs are held back:\n{report:#}");
    assert_eq!(report["status"], "held_back", "{report:#}");
    let held = report["held_back"].as_array().unwrap();
    assert!(
        held.iter().any(|c| c["destructive"].is_string()),
        "a held-back change says why it is destructive: {report:#}"
    );
    let (code, after) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "still drift after the held-back run: {after:#}");
    assert!(
        after["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == check),
        "{after:#}"
    );
    let (code, report) = cluster.eidb_json(&["provision", "--allow-destructive"]);
    assert_eq!(
        code, 0,
        "--allow-destructive repairs the drift:\n{report:#}"
    );
    assert_eq!(report["status"], "changed", "{report:#}");
    assert_in_sync(cluster, "after provision --allow-destructive");
    report
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Replace the one occurrence of `from` at or after the first `anchor` in a node file.
fn edit(cluster: &Cluster, node: usize, file: &str, anchor: &str, from: &str, to: &str) {
    let path = cluster.node_file(node, file);
    let before = read(&path);
    let start = before
        .find(anchor)
        .unwrap_or_else(|| panic!("{}: no `{anchor}` in:\n{before}", path.display()));
    let at = start
        + before[start..]
            .find(from)
            .unwrap_or_else(|| panic!("{}: no `{from}` after `{anchor}`", path.display()));
    let after = format!("{}{to}{}", &before[..at], &before[at + from.len()..]);
    std::fs::write(&path, after).unwrap();
}

/// Remove the `<tag>...</tag>` element that contains `marker`, with the line it starts on.
fn remove_element(cluster: &Cluster, node: usize, file: &str, tag: &str, marker: &str) {
    let path = cluster.node_file(node, file);
    let text = read(&path);
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("{}: no `{marker}`", path.display()));
    let open = text[..at].rfind(&format!("<{tag}>")).expect("opening tag");
    let line_start = text[..open].rfind('\n').map_or(0, |i| i + 1);
    let close = at + text[at..].find(&format!("</{tag}>")).expect("closing tag") + tag.len() + 3;
    let line_end = close + text[close..].find('\n').map_or(0, |i| i + 1);
    std::fs::write(
        &path,
        format!("{}{}", &text[..line_start], &text[line_end..]),
    )
    .unwrap();
}

/// What a node's three files hold now, to compare before and after.
fn node_files(cluster: &Cluster) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for node in 0..cluster.nodes.len() {
        for file in [DATASOURCES, REGISTRY, USER_MGT] {
            let path = cluster.node_file(node, file);
            files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    files
}

fn jdbc_url(database: &str) -> String {
    let server = server();
    format!(
        "jdbc:mysql://{}:{}/{database}?autoReconnect=true&amp;useSSL=false",
        server.host, server.port
    )
}

fn account(cluster: &Cluster) -> String {
    format!("'{}'@'%'", cluster.account)
}

/// A database name as the grant tables hold it: `_` escaped, as eidb grants it.
fn grant_pattern(database: &str) -> String {
    database.replace('_', "\\_")
}

/// Every table, index and foreign key of the fixture script is in `database`, and its triggers.
async fn assert_schema_complete(pool: &MySqlPool, database: &str) {
    let script = read(&fixture_path("dbscripts/splitter-cases.sql"));
    let (tables, indexes) = script_objects(&script);
    let have = tables_of(pool, database).await;
    let missing: Vec<_> = tables.difference(&have).collect();
    assert!(missing.is_empty(), "{database} lacks tables {missing:?}");
    let have = indexes_of(pool, database).await;
    let missing: Vec<_> = indexes.difference(&have).collect();
    assert!(missing.is_empty(), "{database} lacks indexes {missing:?}");
    let fks = foreign_keys_of(pool, database).await;
    for fk in ["FX_RESOURCE_FK_BY_PATH_ID", "FX_USER_FK_BY_TENANT_ID"] {
        assert!(
            fks.contains(fk),
            "{database} lacks foreign key {fk}: {fks:?}"
        );
    }
    let triggers = triggers_of(pool, database).await;
    for trigger in ["FX_TENANT_BEFORE_INSERT", "FX_RESOURCE_BEFORE_INSERT"] {
        assert!(
            triggers.contains(trigger),
            "{database} lacks trigger {trigger}: {triggers:?}"
        );
    }
}

/// The account has exactly USAGE plus ALL PRIVILEGES on each of the cluster's databases, no more.
async fn assert_grants_exact(pool: &MySqlPool, cluster: &Cluster) {
    let granted = granted_databases(pool, &cluster.account, "%").await;
    assert_eq!(
        granted,
        cluster.databases().into_iter().collect(),
        "databases granted to the account"
    );
    let grants = grants_of(pool, &cluster.account, "%").await;
    assert_eq!(
        grants.len(),
        cluster.databases().len() + 1,
        "exactly USAGE plus one grant per database: {grants:#?}"
    );
    let usage: Vec<_> = grants
        .iter()
        .filter(|g| g.starts_with("GRANT USAGE ON *.*"))
        .collect();
    assert_eq!(usage.len(), 1, "{grants:#?}");
}

// ---------------------------------------------------------------------------------------------------------
// databases
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn dropped_database_is_found_and_recreated() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let db = format!("{}2", cluster.local_prefix);
    exec(&pool, &format!("DROP DATABASE `{db}`")).await;

    let found = drift(&cluster, "database_missing", &["schema_missing"]);
    let finding = the(&found, "database_missing", &format!("database {db}"));
    assert!(text(&finding["expected"]).contains(&db), "{finding:#}");
    assert!(
        text(&finding["fix"]).contains("eidb provision"),
        "{finding:#}"
    );

    repaired(&cluster);
    assert!(charset_of(&pool, &db).await.is_some(), "{db} is back");
    assert_schema_complete(&pool, &db).await;
    assert_grants_exact(&pool, &cluster).await;
}

#[tokio::test]
async fn dropped_table_is_found_and_recreated_with_its_indexes() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let db = format!("{}1", cluster.local_prefix);
    // FX_TENANT is created by a plain CREATE TABLE and is referenced by FX_USER's foreign key.
    exec(
        &pool,
        &format!(
            "SET FOREIGN_KEY_CHECKS = 0; DROP TABLE `{db}`.FX_TENANT; SET FOREIGN_KEY_CHECKS = 1"
        ),
    )
    .await;
    assert!(!tables_of(&pool, &db).await.contains("FX_TENANT"));

    let found = drift(&cluster, "schema_missing", &[]);
    let finding = the(&found, "schema_missing", &format!("database {db}"));
    let missing = text(&finding["found"]);
    assert!(
        missing.contains("FX_TENANT"),
        "names the table: {finding:#}"
    );
    assert!(
        missing.contains("INDEX_FX_TENANT_DOMAIN_NAME"),
        "names the table's index: {finding:#}"
    );
    assert!(
        !missing.contains("FX_PATH"),
        "names only what is missing: {finding:#}"
    );

    repaired(&cluster);
    assert!(
        tables_of(&pool, &db).await.contains("FX_TENANT"),
        "FX_TENANT is back"
    );
    let indexes = indexes_of_table(&pool, &db, "FX_TENANT").await;
    assert!(
        indexes.contains("INDEX_FX_TENANT_DOMAIN_NAME"),
        "FX_TENANT is back with its index: {indexes:?}"
    );
    assert!(
        triggers_of(&pool, &db)
            .await
            .contains("FX_TENANT_BEFORE_INSERT"),
        "and its trigger"
    );
    assert_schema_complete(&pool, &db).await;
}

#[tokio::test]
async fn dropped_index_is_found_and_recreated() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let db = cluster.shared_registry.clone();
    exec(
        &pool,
        &format!("DROP INDEX FX_RESOURCE_IND_BY_UUID ON `{db}`.FX_RESOURCE"),
    )
    .await;
    assert!(!indexes_of(&pool, &db)
        .await
        .contains("FX_RESOURCE_IND_BY_UUID"));

    let found = drift(&cluster, "schema_missing", &[]);
    let finding = the(&found, "schema_missing", &format!("database {db}"));
    assert!(
        text(&finding["found"]).contains("FX_RESOURCE_IND_BY_UUID"),
        "{finding:#}"
    );
    assert!(
        !text(&finding["found"]).contains("table "),
        "only the index is missing: {finding:#}"
    );

    repaired(&cluster);
    assert!(indexes_of_table(&pool, &db, "FX_RESOURCE")
        .await
        .contains("FX_RESOURCE_IND_BY_UUID"));
    assert_schema_complete(&pool, &db).await;
}

#[tokio::test]
async fn dropped_foreign_key_is_found_and_recreated() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let db = cluster.user_store.clone();
    exec(
        &pool,
        &format!("ALTER TABLE `{db}`.FX_USER DROP FOREIGN KEY FX_USER_FK_BY_TENANT_ID"),
    )
    .await;
    assert!(!foreign_keys_of(&pool, &db)
        .await
        .contains("FX_USER_FK_BY_TENANT_ID"));

    let found = drift(&cluster, "schema_missing", &[]);
    let finding = the(&found, "schema_missing", &format!("database {db}"));
    assert!(
        text(&finding["found"]).contains("FX_USER_FK_BY_TENANT_ID"),
        "{finding:#}"
    );

    repaired(&cluster);
    assert!(
        foreign_keys_of(&pool, &db)
            .await
            .contains("FX_USER_FK_BY_TENANT_ID"),
        "the foreign key is back"
    );
    assert_schema_complete(&pool, &db).await;
}

#[tokio::test]
async fn changed_database_charset_is_a_conflict_provision_refuses() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let db = cluster.shared_registry.clone();
    let provisioned_charset = charset_of(&pool, &db).await.unwrap();
    let other = if provisioned_charset == "utf8mb4" {
        "latin1"
    } else {
        "utf8mb4"
    };
    exec(
        &pool,
        &format!("ALTER DATABASE `{db}` CHARACTER SET {other}"),
    )
    .await;

    let found = drift(&cluster, "database_charset", &[]);
    let finding = the(&found, "database_charset", &format!("database {db}"));
    assert!(text(&finding["found"]).contains(other), "{finding:#}");
    assert!(
        text(&finding["expected"]).contains(&provisioned_charset),
        "{finding:#}"
    );

    let files = node_files(&cluster);
    let output = cluster.eidb(&["provision"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "provision refuses a conflict:\n{stdout}\n{stderr}"
    );
    let all = format!("{stdout}\n{stderr}");
    assert!(all.contains(&db), "names the database: {all}");
    assert!(
        all.contains(&format!("charset = \"{other}\"")) || all.contains("drop"),
        "says what to do: {all}"
    );
    assert!(
        all.contains("nothing was changed"),
        "says nothing changed: {all}"
    );
    assert_eq!(
        charset_of(&pool, &db).await.as_deref(),
        Some(other),
        "the database is not converted"
    );
    assert_eq!(node_files(&cluster), files, "no node file is touched");

    let found = drift(&cluster, "database_charset", &[]);
    the(&found, "database_charset", &format!("database {db}"));

    // Following the fix: the registry holds nothing needed here, so drop it and provision again.
    assert!(text(&finding_fix(&found, &db)).contains(&format!("drop {db}")));
    exec(&pool, &format!("DROP DATABASE `{db}`")).await;
    repaired(&cluster);
    assert_eq!(charset_of(&pool, &db).await, Some(provisioned_charset));
    assert_schema_complete(&pool, &db).await;
}

fn finding_fix(found: &[Value], db: &str) -> Value {
    the(found, "database_charset", &format!("database {db}"))["fix"].clone()
}

/// Issue 5: "wrong charset (the database's and every table's)".
#[tokio::test]
async fn table_in_another_charset_is_found() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let db = cluster.user_store.clone();
    let provisioned_charset = charset_of(&pool, &db).await.unwrap();
    let other = if provisioned_charset == "utf8mb4" {
        "latin1"
    } else {
        "utf8mb4"
    };
    exec(
        &pool,
        &format!("ALTER TABLE `{db}`.FX_TENANT CONVERT TO CHARACTER SET {other}"),
    )
    .await;
    assert_eq!(
        check::tables_not_in_charset(&pool, &db, &provisioned_charset)
            .await
            .len(),
        1
    );

    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(
        code, 1,
        "a table in {other} in a {provisioned_charset} database is drift:\n{report:#}"
    );
    let all = findings(&report);
    assert!(
        all.iter().any(|f| text(&f["subject"]).contains(&db)
            && serde_json::to_string(f).unwrap().contains("FX_TENANT")),
        "a finding names the database and the table: {all:#?}"
    );
}

/// Issue 5: "a dbscript applied whose content changed since (once the ledger exists)".
#[tokio::test]
async fn dbscript_changed_since_applied_is_found() {
    let script = tempfile::NamedTempFile::new().unwrap();
    let original = read(&fixture_path("dbscripts/splitter-cases.sql"));
    std::fs::write(script.path(), &original).unwrap();
    let cluster = Cluster::new(2, Conf::Fixture)
        .with_driver_jar(DRIVER_JAR)
        .with_script(script.path());
    cluster.eidb_ok(&["provision"]);
    assert_in_sync(&cluster, "right after provision");

    // A new version of the script adds an index (before the last statement, which has no delimiter).
    let last = original.rfind("SET FOREIGN_KEY_CHECKS = 1").unwrap();
    let changed = format!(
        "{}CREATE INDEX FX_TENANT_IND_BY_EMAIL ON FX_TENANT (FX_EMAIL);\n\n{}",
        &original[..last],
        &original[last..]
    );
    std::fs::write(script.path(), changed).unwrap();

    let found = drift(&cluster, "script_changed", &["schema_missing"]);
    for db in cluster.databases() {
        let finding = the(&found, "script_changed", &format!("database {db}"));
        assert!(text(&finding["found"]).contains("SHA-256"), "{finding:#}");
        assert!(
            text(&finding["fix"]).contains("--reapply-changed-script"),
            "{finding:#}"
        );
    }

    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(
        code, 1,
        "a changed script is not re-applied unasked:\n{report:#}"
    );
    let pool = admin_pool().await;
    for db in cluster.databases() {
        assert!(
            !indexes_of(&pool, &db)
                .await
                .contains("FX_TENANT_IND_BY_EMAIL"),
            "{db}"
        );
    }

    let (code, report) = cluster.eidb_json(&["provision", "--reapply-changed-script"]);
    assert_eq!(code, 0, "{report:#}");
    for db in cluster.databases() {
        assert!(
            indexes_of_table(&pool, &db, "FX_TENANT")
                .await
                .contains("FX_TENANT_IND_BY_EMAIL"),
            "the new version's index is created in {db}"
        );
        assert_schema_complete(&pool, &db).await;
    }
    assert_in_sync(&cluster, "after re-applying the changed script");
}

// ---------------------------------------------------------------------------------------------------------
// the account
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn dropped_account_is_found_and_recreated() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    exec(&pool, &format!("DROP USER {}", account(&cluster))).await;

    let found = drift(&cluster, "account_missing", &["grant_missing"]);
    the(
        &found,
        "account_missing",
        &format!("account {}", account(&cluster)),
    );
    // Grants of a missing account: either implied by account_missing (none listed) or one per database.
    let granted: Vec<&str> = found
        .iter()
        .filter(|f| f["check"] == "grant_missing")
        .map(|f| text(&f["expected"]))
        .collect();
    if !granted.is_empty() {
        for db in cluster.databases() {
            assert!(
                granted.iter().any(|g| g.contains(&format!("{db}.*"))),
                "grant_missing lists some databases but not {db}: {granted:#?}"
            );
        }
    }

    repaired(&cluster);
    assert_grants_exact(&pool, &cluster).await;
    cluster.assert_account_logs_in().await;
}

#[tokio::test]
async fn changed_password_is_found_and_reset() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    exec(
        &pool,
        &format!("ALTER USER {} IDENTIFIED BY 'other'", account(&cluster)),
    )
    .await;

    let found = drift(&cluster, "account_login", &[]);
    let finding = the(
        &found,
        "account_login",
        &format!("account {}", account(&cluster)),
    );
    assert!(text(&finding["found"]).contains("log in"), "{finding:#}");

    let (_, report) = cluster.eidb_json(&["verify"]);
    assert!(
        !report.to_string().contains(ACCOUNT_PASSWORD),
        "no password in the report"
    );

    repaired_destructively(&cluster, "account_login");
    cluster.assert_account_logs_in().await;
    assert_grants_exact(&pool, &cluster).await;
}

#[tokio::test]
async fn revoked_grant_is_found_and_granted_again() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let db = cluster.user_store.clone();
    let grants = grants_of(&pool, &cluster.account, "%").await;
    let pattern = grant_pattern(&db);
    assert!(
        grants.iter().any(|g| g.contains(&format!("`{pattern}`"))),
        "granted with escaped wildcards: {grants:#?}"
    );
    exec(
        &pool,
        &format!(
            "REVOKE ALL PRIVILEGES ON `{pattern}`.* FROM {}",
            account(&cluster)
        ),
    )
    .await;
    assert!(
        !granted_databases(&pool, &cluster.account, "%")
            .await
            .contains(&db),
        "the REVOKE took"
    );

    let found = drift(&cluster, "grant_missing", &[]);
    assert_eq!(
        found.len(),
        1,
        "only the one database lacks its grant: {found:#?}"
    );
    let finding = the(
        &found,
        "grant_missing",
        &format!("account {}", account(&cluster)),
    );
    assert!(text(&finding["expected"]).contains(&db), "{finding:#}");

    repaired(&cluster);
    assert_grants_exact(&pool, &cluster).await;
    cluster.assert_account_logs_in().await;
}

#[tokio::test]
async fn extra_global_privilege_is_found_and_revoked() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    exec(
        &pool,
        &format!("GRANT PROCESS ON *.* TO {}", account(&cluster)),
    )
    .await;

    let found = drift(&cluster, "grant_extra", &[]);
    let finding = the(
        &found,
        "grant_extra",
        &format!("account {}", account(&cluster)),
    );
    assert!(text(&finding["found"]).contains("PROCESS"), "{finding:#}");
    assert!(text(&finding["found"]).contains("*.*"), "{finding:#}");

    repaired_destructively(&cluster, "grant_extra");
    assert_grants_exact(&pool, &cluster).await;
    let grants = grants_of(&pool, &cluster.account, "%").await;
    assert!(grants.iter().all(|g| !g.contains("PROCESS")), "{grants:#?}");
    cluster.assert_account_logs_in().await;
}

#[tokio::test]
async fn extra_database_grant_is_found_and_revoked() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    exec(
        &pool,
        &format!("GRANT SELECT ON mysql.* TO {}", account(&cluster)),
    )
    .await;

    let found = drift(&cluster, "grant_extra", &[]);
    let finding = the(
        &found,
        "grant_extra",
        &format!("account {}", account(&cluster)),
    );
    assert!(text(&finding["found"]).contains("SELECT"), "{finding:#}");
    assert!(text(&finding["found"]).contains("mysql"), "{finding:#}");

    repaired_destructively(&cluster, "grant_extra");
    assert_grants_exact(&pool, &cluster).await;
    let grants = grants_of(&pool, &cluster.account, "%").await;
    assert!(grants.iter().all(|g| !g.contains("`mysql`")), "{grants:#?}");
}

/// Two grants revoked are two findings, each naming its database.
#[tokio::test]
async fn two_revoked_grants_are_two_findings() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let revoked = [cluster.user_store.clone(), cluster.shared_registry.clone()];
    for db in &revoked {
        exec(
            &pool,
            &format!(
                "REVOKE ALL PRIVILEGES ON `{}`.* FROM {}",
                grant_pattern(db),
                account(&cluster)
            ),
        )
        .await;
    }

    let found = drift(&cluster, "grant_missing", &[]);
    for db in &revoked {
        assert!(
            found
                .iter()
                .any(|f| text(&f["expected"]).contains(&format!("{db}.*"))),
            "a grant_missing finding names {db}: {found:#?}"
        );
    }
    assert_eq!(found.len(), 2, "{found:#?}");

    repaired(&cluster);
    assert_grants_exact(&pool, &cluster).await;
}

// ---------------------------------------------------------------------------------------------------------
// the nodes
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn shared_registry_url_on_another_host_is_found_and_put_back() {
    let cluster = provisioned();
    let before = read(&cluster.node_file(0, DATASOURCES));
    let server = server();
    let from = format!(
        "jdbc:mysql://{}:{}/{}?",
        server.host, server.port, cluster.shared_registry
    );
    let to = format!(
        "jdbc:mysql://db.elsewhere.test:{}/{}?",
        server.port, cluster.shared_registry
    );
    edit(
        &cluster,
        0,
        DATASOURCES,
        "<name>WSO2_REGISTRY_DB</name>",
        &from,
        &to,
    );

    // The cacheId no longer matches the URL either, and node 2 disagrees: those follow from this drift.
    let found = drift(
        &cluster,
        "datasource_url",
        &["cache_id", "shared_registry_url"],
    );
    for f in &found {
        assert!(
            !text(&f["expected"]).contains("db.elsewhere.test"),
            "with a spec, verify must not expect the drifted host (following this would spread the drift):\n{f:#}"
        );
    }
    let finding = the(&found, "datasource_url", "node node1");
    assert!(
        text(&finding["found"]).contains("db.elsewhere.test"),
        "{finding:#}"
    );
    assert!(
        text(&finding["found"]).contains("WSO2_REGISTRY_DB"),
        "names the datasource: {finding:#}"
    );
    assert!(
        text(&finding["expected"]).contains(&server.host),
        "{finding:#}"
    );

    repaired(&cluster);
    assert_eq!(
        read(&cluster.node_file(0, DATASOURCES)),
        before,
        "the file is back byte for byte"
    );
}

#[tokio::test]
async fn removed_datasource_is_found_and_put_back() {
    let cluster = provisioned();
    remove_element(
        &cluster,
        1,
        DATASOURCES,
        "datasource",
        "<name>WSO2_UM_DB</name>",
    );
    assert!(!read(&cluster.node_file(1, DATASOURCES)).contains("WSO2_UM_DB"));

    // user-mgt.xml now names a JNDI name no datasource has, and node 2's user store differs from node 1's.
    let found = drift(
        &cluster,
        "datasource_missing",
        &["user_store_datasource", "user_store_url"],
    );
    let finding = the(&found, "datasource_missing", "node node2");
    assert!(
        text(&finding["expected"]).contains("WSO2_UM_DB"),
        "{finding:#}"
    );

    repaired(&cluster);
    let after = read(&cluster.node_file(1, DATASOURCES));
    assert_eq!(
        after.matches("<name>WSO2_UM_DB</name>").count(),
        1,
        "{after}"
    );
    assert!(after.contains(&jdbc_url(&cluster.user_store)), "{after}");
}

/// Two datasources removed from one node are two findings, each naming its datasource.
#[tokio::test]
async fn two_removed_datasources_are_two_findings() {
    let cluster = provisioned();
    for name in ["WSO2_UM_DB", "WSO2_REGISTRY_DB"] {
        remove_element(
            &cluster,
            0,
            DATASOURCES,
            "datasource",
            &format!("<name>{name}</name>"),
        );
    }

    let found = drift(
        &cluster,
        "datasource_missing",
        &[
            "user_store_datasource",
            "user_store_url",
            "db_config_datasource",
            "registry_db_config",
            "shared_registry_url",
            "shared_cache_id",
            "cache_id",
        ],
    );
    let missing: Vec<&Value> = found
        .iter()
        .filter(|f| f["check"] == "datasource_missing")
        .collect();
    for name in ["WSO2_UM_DB", "WSO2_REGISTRY_DB"] {
        assert!(
            missing.iter().any(|f| text(&f["expected"]).contains(name)),
            "a datasource_missing finding names {name}: {missing:#?}"
        );
    }

    repaired(&cluster);
}

#[tokio::test]
async fn user_mgt_on_the_carbon_db_is_found_and_put_back() {
    let cluster = provisioned();
    let before = read(&cluster.node_file(0, USER_MGT));
    edit(
        &cluster,
        0,
        USER_MGT,
        "<Property name=\"dataSource\">",
        "<Property name=\"dataSource\">jdbc/WSO2UMDB</Property>",
        "<Property name=\"dataSource\">jdbc/WSO2CarbonDB</Property>",
    );

    // The two nodes now keep their users in different databases.
    let found = drift(&cluster, "user_mgt_datasource", &["user_store_url"]);
    let finding = the(&found, "user_mgt_datasource", "node node1");
    assert_eq!(text(&finding["found"]), "jdbc/WSO2CarbonDB", "{finding:#}");
    assert_eq!(text(&finding["expected"]), "jdbc/WSO2UMDB", "{finding:#}");

    repaired(&cluster);
    assert_eq!(
        read(&cluster.node_file(0, USER_MGT)),
        before,
        "the file is back byte for byte"
    );
}

#[tokio::test]
async fn hand_edited_cache_id_is_found_and_put_back() {
    let cluster = provisioned();
    let before = read(&cluster.node_file(1, REGISTRY));
    edit(
        &cluster,
        1,
        REGISTRY,
        "<cacheId>",
        &format!("<cacheId>{}@", cluster.account),
        "<cacheId>someoneelse@",
    );

    let found = drift(&cluster, "cache_id", &["shared_cache_id"]);
    let finding = the(&found, "cache_id", "node node2");
    assert!(
        text(&finding["found"]).starts_with("someoneelse@"),
        "{finding:#}"
    );
    assert!(
        text(&finding["expected"]).starts_with(&format!("{}@jdbc:mysql://", cluster.account)),
        "{finding:#}"
    );

    repaired(&cluster);
    assert_eq!(
        read(&cluster.node_file(1, REGISTRY)),
        before,
        "the file is back byte for byte (CRLF kept)"
    );
}

#[tokio::test]
async fn db_config_on_an_unknown_jndi_name_is_found_and_put_back() {
    let cluster = provisioned();
    let before = read(&cluster.node_file(0, REGISTRY));
    edit(
        &cluster,
        0,
        REGISTRY,
        "<dbConfig name=\"sharedregistry\">",
        "<dataSource>jdbc/WSO2RegistryDB</dataSource>",
        "<dataSource>jdbc/NoSuchDB</dataSource>",
    );

    // One finding: the dbConfig eidb owns, on the datasource the spec derives (that the name it has now
    // is no datasource's is what provision puts right, not a second finding).
    let found = drift(&cluster, "registry_db_config", &[]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let finding = the(&found, "registry_db_config", "node node1");
    assert!(
        text(&finding["found"]).contains("jdbc/NoSuchDB"),
        "{finding:#}"
    );
    assert!(
        text(&finding["expected"]).contains("sharedregistry")
            && text(&finding["expected"]).contains("jdbc/WSO2RegistryDB"),
        "{finding:#}"
    );

    repaired(&cluster);
    assert_eq!(
        read(&cluster.node_file(0, REGISTRY)),
        before,
        "the file is back byte for byte"
    );
}

#[tokio::test]
async fn mount_on_an_unknown_instance_is_found_and_put_back() {
    let cluster = provisioned();
    let before = read(&cluster.node_file(1, REGISTRY));
    edit(
        &cluster,
        1,
        REGISTRY,
        "<mount path=\"/_system/governance\"",
        "<instanceId>instanceid</instanceId>",
        "<instanceId>nosuchinstance</instanceId>",
    );

    let found = drift(&cluster, "mount", &[]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let finding = the(&found, "mount", "node node2");
    assert!(
        text(&finding["expected"]).contains("/_system/governance")
            && text(&finding["expected"]).contains("instanceid"),
        "{finding:#}"
    );
    assert!(
        text(&finding["found"]).contains("nosuchinstance"),
        "{finding:#}"
    );
    assert!(
        text(&finding["found"]).contains("/_system/governance"),
        "names the mount: {finding:#}"
    );

    repaired(&cluster);
    assert_eq!(
        read(&cluster.node_file(1, REGISTRY)),
        before,
        "the file is back byte for byte"
    );
}

#[tokio::test]
async fn two_nodes_sharing_a_local_registry_are_found_and_put_back() {
    let cluster = provisioned();
    let before = read(&cluster.node_file(1, DATASOURCES));
    let node1_local = format!("{}1", cluster.local_prefix);
    let node2_local = format!("{}2", cluster.local_prefix);
    edit(
        &cluster,
        1,
        DATASOURCES,
        "<name>WSO2_CARBON_DB</name>",
        &format!("/{node2_local}?"),
        &format!("/{node1_local}?"),
    );

    let found = drift(&cluster, "shared_local_registry", &["datasource_url"]);
    let finding = the(&found, "shared_local_registry", "cluster");
    let said = text(&finding["found"]);
    assert!(
        said.contains("node1") && said.contains("node2") && said.contains(&node1_local),
        "{finding:#}"
    );
    let own = the(&found, "datasource_url", "node node2");
    assert!(
        text(&own["found"]).contains(&node1_local),
        "node 2's own datasource is named too: {own:#}"
    );

    repaired_destructively(&cluster, "datasource_url");
    assert_eq!(
        read(&cluster.node_file(1, DATASOURCES)),
        before,
        "the file is back byte for byte"
    );
}

#[tokio::test]
async fn missing_driver_jar_is_found_and_not_eidbs_to_fix() {
    let cluster = provisioned();
    let jar = cluster.nodes[1].join("lib").join(DRIVER_JAR);
    std::fs::remove_file(&jar).unwrap();

    let found = drift(&cluster, "jdbc_driver", &[]);
    let finding = the(&found, "jdbc_driver", "node node2");
    assert!(
        text(&finding["fix"]).contains("Connector/J") || text(&finding["fix"]).contains(".jar"),
        "{finding:#}"
    );
    assert!(
        text(&finding["expected"]).contains(&cluster.nodes[1].join("lib").display().to_string()),
        "{finding:#}"
    );

    // Not eidb's to own: provision succeeds, warns naming the node and the folder, and the drift stays.
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    let warnings = report["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.to_string().contains("node2") && w.to_string().contains("lib")),
        "a warning names the node and its lib folder: {warnings:#?}"
    );
    let found = drift(&cluster, "jdbc_driver", &[]);
    assert_eq!(found.len(), 1, "{found:#?}");

    std::fs::write(&jar, b"").unwrap();
    assert_in_sync(&cluster, "with the jar back");
}

// ---------------------------------------------------------------------------------------------------------
// output and speed
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn human_output_groups_findings_by_subject() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    edit(
        &cluster,
        0,
        REGISTRY,
        "<cacheId>",
        &format!("<cacheId>{}@", cluster.account),
        "<cacheId>someoneelse@",
    );
    edit(
        &cluster,
        1,
        USER_MGT,
        "<Property name=\"dataSource\">",
        "<Property name=\"dataSource\">jdbc/WSO2UMDB</Property>",
        "<Property name=\"dataSource\">jdbc/WSO2CarbonDB</Property>",
    );
    let db = cluster.shared_registry.clone();
    exec(
        &pool,
        &format!("DROP INDEX FX_RESOURCE_IND_BY_UUID ON `{db}`.FX_RESOURCE"),
    )
    .await;

    let output = cluster.eidb(&["verify"]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains(ACCOUNT_PASSWORD) && !stderr.contains(ACCOUNT_PASSWORD),
        "no password shown"
    );

    let lines: Vec<&str> = stdout.lines().collect();
    let drift_at = lines
        .iter()
        .position(|l| *l == "Drift:")
        .unwrap_or_else(|| panic!("no Drift: section:\n{stdout}"));
    // Subject headers are the lines indented by two spaces in the Drift section.
    let section: Vec<&str> = lines[drift_at + 1..]
        .iter()
        .take_while(|l| l.is_empty() || l.starts_with("  "))
        .copied()
        .collect();
    let headers: Vec<&str> = section
        .iter()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.trim())
        .collect();
    let mut unique = headers.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        headers.len(),
        "each subject once: {headers:?}\n{stdout}"
    );
    for subject in [
        "node node1",
        &format!("database {db}") as &str,
        "node node2",
    ] {
        assert!(
            headers.contains(&subject),
            "a group for {subject}: {headers:?}\n{stdout}"
        );
    }

    // Under `node node1`: the cacheId finding with expected, found and the fix.
    let group = |subject: &str| -> Vec<&str> {
        let start = section
            .iter()
            .position(|l| l.trim() == subject && !l.starts_with("   "))
            .unwrap();
        section[start + 1..]
            .iter()
            .take_while(|l| l.starts_with("    "))
            .copied()
            .collect()
    };
    let node1 = group("node node1");
    let at = node1
        .iter()
        .position(|l| l.trim() == "x cache_id")
        .unwrap_or_else(|| panic!("{node1:#?}"));
    let expected_cache_id = format!(
        "{}@jdbc:mysql://{}:{}/{db}?",
        cluster.account,
        server().host,
        server().port
    );
    assert!(
        node1[at + 1].trim_start().starts_with("expected:")
            && node1[at + 1].contains(&expected_cache_id),
        "{node1:#?}"
    );
    assert!(
        node1[at + 2].trim_start().starts_with("found:") && node1[at + 2].contains("someoneelse@"),
        "{node1:#?}"
    );
    assert!(
        node1[at + 3].trim_start().starts_with("fix:") && node1[at + 3].contains("eidb provision"),
        "{node1:#?}"
    );
    let database = group(&format!("database {db}"));
    assert!(
        database.iter().any(|l| l.trim() == "x schema_missing"),
        "{database:#?}"
    );
    assert!(
        database
            .iter()
            .any(|l| l.contains("FX_RESOURCE_IND_BY_UUID")),
        "{database:#?}"
    );
    assert!(
        !node1.iter().any(|l| l.contains("schema_missing")),
        "the database finding is not under the node"
    );
    assert!(
        stdout
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("drift:"),
        "a closing line: {stdout}"
    );
}

/// verify on a clean cluster: in sync every time, and it writes nothing (no node file, no ledger row).
/// How long it takes is measured by scripts/bench.py, not asserted here.
#[tokio::test]
async fn clean_two_node_cluster_verifies_in_sync_and_writes_nothing() {
    // A ledger of its own: the default one counts every other test's runs too.
    let metadata = unique_name("META");
    let cluster = Cluster::new(2, Conf::Fixture)
        .with_driver_jar(DRIVER_JAR)
        .with_databases(&format!("metadata = \"{metadata}\""));
    cluster.eidb_ok(&["provision"]);
    let pool = admin_pool().await;
    let runs = || async {
        sqlx::raw_sql(&format!("SELECT COUNT(*) FROM `{metadata}`.eidb_run"))
            .fetch_one(&pool)
            .await
            .map(|row| sqlx::Row::get::<i64, _>(&row, 0))
            .unwrap()
    };
    let files_before = snapshot_files(cluster.dir.path());
    let runs_before = runs().await;
    for _ in 0..3 {
        let (code, report) = cluster.eidb_json(&["verify"]);
        assert_eq!(code, 0, "{report:#}");
        assert_eq!(report["status"], "in_sync", "{report:#}");
    }
    let changed = snapshot_differences(&files_before, &snapshot_files(cluster.dir.path()));
    assert!(changed.is_empty(), "verify changed files: {changed:#?}");
    assert_eq!(
        runs().await,
        runs_before,
        "verify records no run in the ledger"
    );
}

/// verify as a monitor runs it: with an account that may only read, and against a server that is down.
/// Exit codes: 0 in sync, 1 drift (what could not be checked for lack of a privilege is a finding that
/// names it), 2 trouble.
#[tokio::test]
async fn verify_works_with_a_read_only_account_and_tells_trouble_from_drift() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let as_monitor = |user: &str| {
        let spec = cluster.spec_text().replacen(
            &format!("url = \"mysql://{}@", server().admin_user),
            &format!("password_env = \"EIDB_IT_MONITOR_PW\"\nurl = \"mysql://{user}@"),
            1,
        );
        let path = cluster.dir.path().join(format!("{user}.toml"));
        std::fs::write(&path, spec).unwrap();
        let mut output = cluster.eidb_command(&path, &["verify", "--output", "json"]);
        let output = output
            .env("EIDB_IT_MONITOR_PW", "monitor-pw-1")
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
        (output.status.code().unwrap_or(-1), report)
    };

    // A monitor that may read the cluster's databases, the privilege tables and the ledger's records, but
    // not the script's columns the ledger keeps, and may not create temporary tables.
    let reader = common::unique_name("mon");
    exec(
        &pool,
        &format!("CREATE USER '{reader}'@'%' IDENTIFIED BY 'monitor-pw-1'"),
    )
    .await;
    // (REFERENCES and TRIGGER for MySQL's information_schema, EXECUTE to see the routines.)
    let databases = cluster.databases().into_iter().map(|db| {
        format!("GRANT SELECT, REFERENCES, TRIGGER, EXECUTE ON `{db}`.* TO '{reader}'@'%'")
    });
    let tables = ["user", "db", "tables_priv", "procs_priv"]
        .iter()
        .map(|t| format!("mysql.{t}"))
        .chain(
            ["eidb_script", "eidb_database", "eidb_account", "eidb_node"]
                .iter()
                .map(|t| format!("EIDB_META.{t}")),
        )
        .map(|table| format!("GRANT SELECT ON {table} TO '{reader}'@'%'"));
    for grant in databases.chain(tables) {
        exec(&pool, &grant).await;
    }
    // The columns cannot be compared then (the probe makes the script's tables as temporary ones): said as
    // what was not checked, naming the privilege, not as in sync.
    let (code, report) = as_monitor(&reader);
    assert_eq!(code, 1, "{report:#}");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(findings[0]["check"], "not_checked", "{report:#}");
    assert!(
        text(&findings[0]["fix"]).contains("CREATE TEMPORARY TABLES"),
        "{report:#}"
    );
    exec(
        &pool,
        &format!("GRANT CREATE TEMPORARY TABLES ON *.* TO '{reader}'@'%'"),
    )
    .await;
    let (code, report) = as_monitor(&reader);
    assert_eq!(
        code, 0,
        "SELECT (with REFERENCES and TRIGGER for MySQL) and CREATE TEMPORARY TABLES are all verify needs: {report:#}"
    );
    assert_eq!(report["status"], "in_sync", "{report:#}");
    // Or SELECT alone, once a provision has kept the script's columns in the ledger: no probe is needed.
    exec(
        &pool,
        &format!("REVOKE CREATE TEMPORARY TABLES ON *.* FROM '{reader}'@'%'"),
    )
    .await;
    exec(
        &pool,
        &format!("GRANT SELECT ON EIDB_META.eidb_columns TO '{reader}'@'%'"),
    )
    .await;
    let (code, report) = as_monitor(&reader);
    assert_eq!(
        code, 0,
        "with the ledger's kept columns, SELECT is all verify needs: {report:#}"
    );
    assert_eq!(report["status"], "in_sync", "{report:#}");

    // Only the cluster's databases and the ledger: the account and its grants cannot be read.
    let narrow = common::unique_name("mon");
    exec(
        &pool,
        &format!("CREATE USER '{narrow}'@'%' IDENTIFIED BY 'monitor-pw-1'"),
    )
    .await;
    for db in cluster
        .databases()
        .iter()
        .chain(["EIDB_META".to_string()].iter())
    {
        exec(
            &pool,
            &format!("GRANT SELECT, REFERENCES, TRIGGER, EXECUTE, CREATE TEMPORARY TABLES ON `{db}`.* TO '{narrow}'@'%'"),
        )
        .await;
    }
    let (code, report) = as_monitor(&narrow);
    assert_eq!(code, 1, "{report:#}");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(findings[0]["check"], "not_checked");
    assert!(
        text(&findings[0]["fix"]).contains("mysql.user"),
        "{report:#}"
    );

    // The server is not there: trouble, not drift.
    let spec = cluster
        .spec_text()
        .replace(&format!(":{}\"", server().port), ":1\"");
    let down = cluster.dir.path().join("down.toml");
    std::fs::write(&down, spec).unwrap();
    let output = cluster.eidb_with(&down, &["verify", "--output", "json"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["status"], "failed", "{report:#}");
    assert_eq!(report["error"]["exit_code"], 2, "{report:#}");
}
