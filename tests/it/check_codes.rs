//! Check codes that mean one thing (issue 26): each conflict kind has its own code, in `verify`'s findings
//! and in `provision`'s `conflicts[]`; warnings are structured as findings are (subject, check, found,
//! fix), and every fix names the spec the user passed instead of a literal `--config SPEC`.

use crate::common;

use serde_json::Value;

use common::admin_pool;
use common::check::{charset_of, exec};
use common::cluster::{Cluster, Conf};

const DRIVER_JAR: &str = "mysql-connector-java-5.1.49.jar";
const DATASOURCES: &str = "conf/datasources/master-datasources.xml";

fn provisioned() -> Cluster {
    let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar(DRIVER_JAR);
    cluster.eidb_ok(&["provision"]);
    cluster
}

fn checks(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list:#}"))
        .iter()
        .map(|f| f["check"].as_str().unwrap_or("(none)").to_string())
        .collect()
}

/// Every element of `list` is an object with a non-empty subject and check, and a fix naming no
/// literal `--config SPEC`.
fn assert_structured(list: &Value, what: &str) {
    for item in list.as_array().unwrap() {
        for field in ["subject", "check"] {
            assert!(
                item[field].as_str().is_some_and(|s| !s.is_empty()),
                "{what}: an element without {field}: {item:#}"
            );
        }
        assert!(item["fix"].is_string(), "{what}: {item:#}");
        assert!(
            !item.to_string().contains("--config SPEC"),
            "{what}: a fix says `--config SPEC` instead of the spec's path: {item:#}"
        );
    }
}

#[tokio::test]
async fn a_database_in_another_charset_and_a_table_in_another_charset_have_codes_of_their_own() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let db = cluster.shared_registry.clone();
    let other = match charset_of(&pool, &db).await.as_deref() {
        Some("utf8mb4") => "latin1",
        _ => "utf8mb4",
    };
    exec(
        &pool,
        &format!("ALTER DATABASE `{db}` CHARACTER SET {other}"),
    )
    .await;
    let user_store = cluster.user_store.clone();
    exec(
        &pool,
        &format!("ALTER TABLE `{user_store}`.FX_TENANT CONVERT TO CHARACTER SET {other}"),
    )
    .await;

    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "{report:#}");
    let found = checks(&report["findings"]);
    assert!(
        found.contains(&"database_charset".to_string())
            && found.contains(&"table_charset".to_string()),
        "each conflict kind has its own check: {found:?}\n{report:#}"
    );
    assert!(!found.contains(&"conflict".to_string()), "{found:?}");
    assert_structured(&report["findings"], "verify's findings");

    let (_, report) = cluster.eidb_json(&["provision", "--dry-run"]);
    let conflicts = checks(&report["conflicts"]);
    assert!(
        conflicts.contains(&"database_charset".to_string())
            && conflicts.contains(&"table_charset".to_string()),
        "provision's conflicts carry the same codes: {conflicts:?}\n{report:#}"
    );
    assert_structured(&report["conflicts"], "provision's conflicts");
}

#[tokio::test]
async fn provision_warnings_are_structured_and_name_the_spec_passed() {
    let cluster = provisioned();
    // Node 2 on node 1's local registry: putting it back is destructive, held back without
    // --allow-destructive, and said as a warning whose fix is to run provision with it.
    let (node1_local, node2_local) = (
        format!("{}1", cluster.local_prefix),
        format!("{}2", cluster.local_prefix),
    );
    let path = cluster.node_file(1, DATASOURCES);
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text.find("<name>WSO2_CARBON_DB</name>").unwrap();
    let (head, tail) = text.split_at(at);
    std::fs::write(
        &path,
        format!(
            "{head}{}",
            tail.replacen(&format!("/{node2_local}?"), &format!("/{node1_local}?"), 1)
        ),
    )
    .unwrap();

    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 3, "the repoint is held back: {report:#}");
    let warnings = &report["warnings"];
    assert_structured(warnings, "provision's warnings");
    let spec = cluster.spec_path.display().to_string();
    let shared = warnings
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["check"] == "shared_local_registry")
        .unwrap_or_else(|| panic!("a shared_local_registry warning: {warnings:#}"));
    assert_eq!(shared["subject"], "cluster", "{shared:#}");
    assert!(
        shared["fix"]
            .as_str()
            .is_some_and(|fix| fix.contains(&format!("--config {spec}"))),
        "the fix names the spec passed ({spec}): {shared:#}"
    );

    // The human output says the same, with the same path.
    let output = cluster.eidb(&["provision"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("--config {spec}")) && !stdout.contains("--config SPEC"),
        "{stdout}"
    );
}

/// The 1-based line of the first line of `path` that contains `needle`.
fn line_of(path: &std::path::Path, needle: &str) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {}", path.display())) as u64
        + 1
}

/// Issue 26, "Findings that say where": a finding about a node file names the file (full path in JSON,
/// relative to EI_HOME in the human output), the line and the element as the file writes it, and the human
/// output of verify shows the file's diff as --dry-run does.
#[test]
fn findings_about_node_files_say_the_file_the_line_and_the_element() {
    let cluster = Cluster::new(2, Conf::RealWso2).with_driver_jar(DRIVER_JAR);
    cluster.set_conf_mode(0o640);
    cluster.eidb_ok(&["provision"]);
    let node2_local = format!("{}2", cluster.local_prefix);
    let (datasources, registry, user_mgt) = (
        cluster.node_file(1, DATASOURCES),
        cluster.node_file(1, "conf/registry.xml"),
        cluster.node_file(1, "conf/user-mgt.xml"),
    );
    let replace = |path: &std::path::Path, from: &str, to: &str| {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains(from), "{from} in {}", path.display());
        std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    };
    replace(
        &datasources,
        &format!("/{node2_local}?"),
        "/SOMEWHERE_ELSE?",
    );
    replace(&registry, "<cacheId>", "<cacheId>x");
    replace(
        &user_mgt,
        "<Property name=\"dataSource\">jdbc/",
        "<Property name=\"dataSource\">jdbc/OTHER_",
    );

    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "{report:#}");
    let about = |check: &str| -> Value {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == check && f["subject"] == "node node2")
            .cloned()
            .unwrap_or_else(|| panic!("a {check} finding about node2: {report:#}"))
    };
    for (check, path, line, element) in [
        (
            "datasource_url",
            &datasources,
            line_of(&datasources, "/SOMEWHERE_ELSE?"),
            "<url> of datasource WSO2_CARBON_DB",
        ),
        (
            "cache_id",
            &registry,
            line_of(&registry, "<cacheId>x"),
            "<cacheId> of <remoteInstance> instanceid",
        ),
        (
            "user_mgt_datasource",
            &user_mgt,
            line_of(&user_mgt, "jdbc/OTHER_"),
            "<Property name=\"dataSource\"> in user-mgt.xml",
        ),
    ] {
        let finding = about(check);
        assert_eq!(finding["file"], path.display().to_string(), "{finding:#}");
        assert_eq!(finding["line"], line, "{finding:#}");
        assert_eq!(finding["element"], element, "{finding:#}");
        assert!(
            finding["expected"].is_string() && finding["found"].is_string(),
            "{finding:#}"
        );
    }

    // Human output: the file from EI_HOME with its line, and each file's diff lines.
    let output = cluster.eidb(&["verify"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for said in [
        format!(
            "conf/registry.xml:{} <cacheId> of <remoteInstance> instanceid",
            line_of(&registry, "<cacheId>x")
        ),
        format!(
            "conf/datasources/master-datasources.xml:{} <url> of datasource WSO2_CARBON_DB",
            line_of(&datasources, "/SOMEWHERE_ELSE?")
        ),
        "-        <cacheId>x".to_string(),
        "+++ b/conf/user-mgt.xml".to_string(),
    ] {
        assert!(
            stdout.contains(&said),
            "the human output says {said:?}:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("--config SPEC"),
        "the fix names the spec passed:\n{stdout}"
    );
}
