//! Adopting a cluster built by hand (issue "adopt what already exists"): the databases made with the
//! `mariadb` client as the WSO2 guide says (`source` of the dbscript, `GRANT ALL ON DB.*`), the XML edited
//! as a person would (URLs ending in `?autoReconnect=true`, their own database names). `eidb init` writes
//! the spec; the first provision with it changes no node file and runs no script statement; verify is in
//! sync.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::check::{snapshot_differences, snapshot_files};
use common::cluster::{Cluster, Conf, ACCOUNT_PASSWORD};
use common::{admin_pool, server, unique_name};
use serde_json::Value;

const DATASOURCES: &str = "conf/datasources/master-datasources.xml";

/// The `mariadb` command-line client, as an operator uses it.
fn mariadb(sql: &str) {
    let server = server();
    let output = Command::new("mariadb")
        .args([
            "-h",
            &server.host,
            "-P",
            &server.port.to_string(),
            "-u",
            &server.admin_user,
        ])
        .env("MYSQL_PWD", &server.admin_password)
        .args(["-e", sql])
        .output()
        .expect("the mariadb client (Debian package mariadb-client) is needed for this test");
    assert!(
        output.status.success(),
        "mariadb -e {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn datasource(name: &str, jndi: &str, url: &str, user: &str) -> String {
    format!(
        "        <datasource>
            <name>{name}</name>
            <description>The datasource used for {name}</description>
            <jndiConfig>
                <name>{jndi}</name>
            </jndiConfig>
            <definition type=\"RDBMS\">
                <configuration>
                    <url>{url}</url>
                    <username>{user}</username>
                    <password>{password}</password>
                    <driverClassName>com.mysql.jdbc.Driver</driverClassName>
                    <maxActive>50</maxActive>
                    <maxWait>60000</maxWait>
                    <testOnBorrow>true</testOnBorrow>
                    <validationQuery>SELECT 1</validationQuery>
                    <validationInterval>30000</validationInterval>
                </configuration>
            </definition>
        </datasource>
",
        password = ACCOUNT_PASSWORD
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    )
}

fn replace(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Edit a node's three files the way the WSO2 clustering guide tells a person to.
fn edit_as_the_guide_says(home: &Path, url: &dyn Fn(&str) -> String, local: &str, user: &str) {
    let datasources = home.join(DATASOURCES);
    let text = std::fs::read_to_string(&datasources).unwrap();
    let start = text.find("        <datasource>").unwrap();
    let end = text.find("</datasource>").unwrap() + "</datasource>\n".len();
    let ours = datasource("WSO2_CARBON_DB", "jdbc/WSO2CarbonDB", &url(local), user)
        + &datasource(
            "WSO2_REGISTRY_DB",
            "jdbc/WSO2RegistryDB",
            &url("regdb"),
            user,
        )
        + &datasource("WSO2_UM_DB", "jdbc/WSO2UMDB", &url("userdb"), user);
    std::fs::write(
        &datasources,
        format!("{}{ours}{}", &text[..start], &text[end..]),
    )
    .unwrap();

    replace(
        &home.join("conf/user-mgt.xml"),
        "<Property name=\"dataSource\">jdbc/WSO2CarbonDB</Property>",
        "<Property name=\"dataSource\">jdbc/WSO2UMDB</Property>",
    );
    let registry = home.join("conf/registry.xml");
    let shared_url = url("regdb").replace('&', "&amp;");
    replace(
        &registry,
        "    </dbConfig>\n",
        &format!(
            "    </dbConfig>

    <dbConfig name=\"sharedregistry\">
        <dataSource>jdbc/WSO2RegistryDB</dataSource>
    </dbConfig>

    <remoteInstance url=\"https://localhost:9443/registry\">
        <id>instanceid</id>
        <dbConfig>sharedregistry</dbConfig>
        <readOnly>false</readOnly>
        <enableCache>true</enableCache>
        <registryRoot>/</registryRoot>
        <cacheId>{user}@{shared_url}</cacheId>
    </remoteInstance>

    <mount path=\"/_system/config\" overwrite=\"true\">
        <instanceId>instanceid</instanceId>
        <targetPath>/_system/eiconfig</targetPath>
    </mount>

    <mount path=\"/_system/governance\" overwrite=\"true\">
        <instanceId>instanceid</instanceId>
        <targetPath>/_system/governance</targetPath>
    </mount>
"
        ),
    );
}

#[tokio::test]
async fn a_cluster_built_by_hand_is_adopted_as_it_is() {
    let pool = admin_pool().await;
    let cluster =
        Cluster::new(2, Conf::RealWso2).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.set_conf_mode(0o640);
    let tag = unique_name("g");
    let (userdb, regdb) = (format!("userdb_{tag}"), format!("regdb_{tag}"));
    let locals = [format!("local_a_{tag}"), format!("local_b_{tag}")];
    let user = unique_name("guide").to_lowercase();
    // The older script variant, as an operator following the guide on an older server would have run it.
    let script = common::shared_wso2_dir().join("dbscripts/mysql.sql");
    for db in [&userdb, &regdb, &locals[0], &locals[1]] {
        mariadb(&format!(
            "CREATE DATABASE {db} CHARACTER SET latin1; USE {db}; SOURCE {};",
            script.display()
        ));
        mariadb(&format!(
            "GRANT ALL ON {db}.* TO '{user}'@'%' IDENTIFIED BY '{}'",
            ACCOUNT_PASSWORD.replace('\\', "\\\\").replace('\'', "\\'")
        ));
    }
    let server = server();
    let url = |db: &str| {
        let db = match db {
            "regdb" => regdb.as_str(),
            "userdb" => userdb.as_str(),
            other => other,
        };
        format!(
            "jdbc:mysql://{}:{}/{db}?autoReconnect=true",
            server.host, server.port
        )
    };
    for (home, local) in cluster.nodes.iter().zip(&locals) {
        edit_as_the_guide_says(home, &url, local, &user);
    }
    let before = snapshot_files(cluster.dir.path());

    // eidb init writes the spec; the account's password comes from the environment as always.
    let spec = cluster.dir.path().join("adopted.toml");
    let mut init = Command::new(common::eidb_bin());
    init.arg("init").arg("--out").arg(&spec);
    for home in &cluster.nodes {
        init.arg("--ei-home").arg(home);
    }
    init.args(["--server-url", &server.url_without_password()]);
    let output = init.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&spec).unwrap();
    assert!(
        text.contains("parameters = \"autoReconnect=true\""),
        "{text}"
    );
    for local in &locals {
        assert!(
            text.contains(&format!("local_registry = \"{local}\"")),
            "{text}"
        );
    }
    // The test's cluster passes passwords through these variables; the spec names its own.
    // The operator names the script variant they ran (eidb would pick mysql5.7.sql on this server).
    let dbscripts = text[text.find("\n[dbscripts]\n").unwrap() + 1..]
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let text = text
        .replace("EIDB_REGADMIN_PASSWORD", "EIDB_IT_ACCOUNT_PASSWORD")
        .replace("password_env = \"EIDB_ADMIN_PASSWORD\"\n", "")
        .replace(
            &dbscripts,
            &format!("file = {:?}", script.display().to_string()),
        );
    std::fs::write(&spec, text).unwrap();
    let run = |args: &[&str]| -> (i32, Value) {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let output = cluster.eidb_with(&spec, &all);
        let report = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
        (output.status.code().unwrap_or(-1), report)
    };

    let (code, report) = run(&["provision", "--dry-run"]);
    assert_eq!(code, 0, "{report:#}");
    let kinds: Vec<&str> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["change"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["record_ownership"],
        "only the ledger's records: {report:#}"
    );

    let (code, report) = run(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    let changed: Vec<String> = snapshot_differences(&before, &snapshot_files(cluster.dir.path()))
        .into_iter()
        .filter(|line| !line.contains("adopted.toml"))
        .collect();
    assert!(changed.is_empty(), "no node file changed: {changed:#?}");
    // Nothing ran (the plan held only the ledger's records); the script is recorded as the baseline.
    let baselines: (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM EIDB_META.eidb_script WHERE target_db IN (?, ?, ?, ?) \
         AND outcome = 'completed' AND statements_done = statements_total AND script_name = 'mysql.sql'",
    )
    .bind(&userdb)
    .bind(&regdb)
    .bind(&locals[0])
    .bind(&locals[1])
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        baselines.0, 4,
        "the dbscript is each adopted database's baseline"
    );
    let (code, report) = run(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
    let (code, report) = run(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "unchanged", "{report:#}");
}

/// A database built from the other variant of the Carbon script (`mysql.sql`, while eidb picks
/// `mysql5.7.sql` on this server): its indexes exist under other names with the same columns, and are
/// the same indexes; eidb never creates them a second time, and says which they are. What truly differs
/// (the TIMESTAMP defaults) is reported by verify as column drift.
#[tokio::test]
async fn a_database_built_from_the_other_script_variant_gets_no_second_indexes() {
    let pool = admin_pool().await;
    let cluster = Cluster::new(1, Conf::Fixture)
        .with_driver_jar("mysql-connector-java-5.1.49.jar")
        .with_real_dbscripts();
    let older = common::shared_wso2_dir().join("dbscripts/mysql.sql");
    for db in cluster.databases() {
        mariadb(&format!(
            "CREATE DATABASE {db} CHARACTER SET latin1; USE {db}; SOURCE {};",
            older.display()
        ));
    }
    let indexes_before = common::check::indexes_of(&pool, &cluster.user_store).await;
    let (code, report) = cluster.eidb_json(&["provision", "--db-only", "--dry-run"]);
    assert_eq!(code, 0, "{report:#}");
    let planned = report["changes"].to_string();
    assert!(
        !planned.contains("index "),
        "no index is created again: {report:#}"
    );
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("REG_LOG_IND_BY_REGLOG as REG_LOG_IND_BY_REG_LOGTIME"),
        "the dry run says which indexes it found under other names: {report:#}"
    );
    assert!(
        warnings.contains("the database was built from mysql.sql"),
        "and which variant of the script the database was built from: {report:#}"
    );
    cluster.eidb_ok(&["provision", "--db-only"]);
    assert_eq!(
        common::check::indexes_of(&pool, &cluster.user_store).await,
        indexes_before,
        "the same indexes, none twice"
    );
    // A foreign key renamed by hand is the same key: not added a second time.
    let user_store = &cluster.user_store;
    sqlx::raw_sql(&format!(
        "ALTER TABLE `{user_store}`.REG_RESOURCE DROP FOREIGN KEY REG_RESOURCE_FK_BY_PATH_ID, \
         ADD CONSTRAINT HAND_MADE_FK FOREIGN KEY (REG_PATH_ID, REG_TENANT_ID) REFERENCES REG_PATH (REG_PATH_ID, REG_TENANT_ID)"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let keys_before = common::check::foreign_keys_of(&pool, user_store).await;
    let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        !report["changes"].to_string().contains("constraint"),
        "{report:#}"
    );
    assert!(
        report["warnings"].to_string().contains("as HAND_MADE_FK"),
        "{report:#}"
    );
    assert_eq!(
        common::check::foreign_keys_of(&pool, user_store).await,
        keys_before
    );

    let (code, report) = cluster.eidb_json(&["verify", "--db-only"]);
    assert_eq!(code, 1, "{report:#}");
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().all(|f| f["check"] == "column"),
        "only the columns differ: {report:#}"
    );
    assert!(
        report["findings"]
            .to_string()
            .contains("DEFAULT 0000-00-00"),
        "the TIMESTAMP default of the older script: {report:#}"
    );
}

// ---------------------------------------------------------------------------------------------------
// Issue 28 (adopting as promised): the guide's layouts with their own names, nodes on H2, an account
// bound to a host, nodes that disagree; `init` writes what reproduces them and says every choice.
// ---------------------------------------------------------------------------------------------------

/// How one node was built by hand.
struct Layout<'a> {
    /// The node's local registry database; `None`: it stays on the shipped embedded H2.
    local: Option<&'a str>,
    user: &'a str,
    /// The shared registry datasource's name and JNDI name.
    shared_names: (&'a str, &'a str),
    governance: bool,
}

/// Edit a node's three files as a person following the guide would, with this layout.
fn build_by_hand(home: &Path, url: &dyn Fn(&str) -> String, layout: &Layout<'_>) {
    let datasources = home.join(DATASOURCES);
    let text = std::fs::read_to_string(&datasources).unwrap();
    let start = text.find("        <datasource>").unwrap();
    let end = text.find("</datasource>").unwrap() + "</datasource>\n".len();
    let carbon = match layout.local {
        Some(local) => datasource(
            "WSO2_CARBON_DB",
            "jdbc/WSO2CarbonDB",
            &url(local),
            layout.user,
        ),
        None => text[start..end].to_string(),
    };
    let (shared_name, shared_jndi) = layout.shared_names;
    let ours = carbon
        + &datasource(shared_name, shared_jndi, &url("regdb"), layout.user)
        + &datasource("WSO2_UM_DB", "jdbc/WSO2UMDB", &url("userdb"), layout.user);
    std::fs::write(
        &datasources,
        format!("{}{ours}{}", &text[..start], &text[end..]),
    )
    .unwrap();
    replace(
        &home.join("conf/user-mgt.xml"),
        "<Property name=\"dataSource\">jdbc/WSO2CarbonDB</Property>",
        "<Property name=\"dataSource\">jdbc/WSO2UMDB</Property>",
    );
    let shared_url = url("regdb").replace('&', "&amp;");
    let governance = if layout.governance {
        "
    <mount path=\"/_system/governance\" overwrite=\"true\">
        <instanceId>instanceid</instanceId>
        <targetPath>/_system/governance</targetPath>
    </mount>
"
    } else {
        ""
    };
    replace(
        &home.join("conf/registry.xml"),
        "    </dbConfig>\n",
        &format!(
            "    </dbConfig>

    <dbConfig name=\"sharedregistry\">
        <dataSource>{shared_jndi}</dataSource>
    </dbConfig>

    <remoteInstance url=\"https://localhost:9443/registry\">
        <id>instanceid</id>
        <dbConfig>sharedregistry</dbConfig>
        <readOnly>false</readOnly>
        <enableCache>true</enableCache>
        <registryRoot>/</registryRoot>
        <cacheId>{user}@{shared_url}</cacheId>
    </remoteInstance>

    <mount path=\"/_system/config\" overwrite=\"true\">
        <instanceId>instanceid</instanceId>
        <targetPath>/_system/eiconfig</targetPath>
    </mount>
{governance}",
            user = layout.user
        ),
    );
}

/// Databases made with the client from `script`, and the account granted on them from `host`.
fn databases_by_hand(databases: &[&str], script: &Path, user: &str, host: &str) {
    for db in databases {
        mariadb(&format!(
            "CREATE DATABASE {db} CHARACTER SET latin1; USE {db}; SOURCE {};",
            script.display()
        ));
        mariadb(&format!(
            "GRANT ALL ON {db}.* TO '{user}'@'{host}' IDENTIFIED BY '{}'",
            ACCOUNT_PASSWORD.replace('\\', "\\\\").replace('\'', "\\'")
        ));
    }
}

/// `eidb init --output json` on the cluster's nodes, reading the server as its admin; the spec goes to
/// `adopted.toml` beside them. Returns the exit code, the JSON report and what it said on stderr.
fn init(cluster: &Cluster, spec: &Path) -> (i32, Value, String) {
    let server = server();
    let mut init = Command::new(common::eidb_bin());
    init.arg("init").arg("--out").arg(spec);
    for home in &cluster.nodes {
        init.arg("--ei-home").arg(home);
    }
    init.args(["--server-url", &server.url_without_password()]);
    if !server.admin_password.is_empty() {
        init.args(["--admin-password-env", "EIDB_IT_ADMIN_PASSWORD"]);
    }
    init.args(["--output", "json"]);
    cluster.environment(&mut init);
    let output = init.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    // No JSON is a failure the assertions on the notes name.
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), report, stderr)
}

/// The spec as init wrote it, with the passwords where the test cluster keeps them.
fn for_the_test(spec: &Path) -> String {
    let text = std::fs::read_to_string(spec).unwrap();
    let adjusted = text
        .replace("EIDB_REGADMIN_PASSWORD", "EIDB_IT_ACCOUNT_PASSWORD")
        .replace("EIDB_ADMIN_PASSWORD", "EIDB_IT_ADMIN_PASSWORD");
    let adjusted = if server().admin_password.is_empty() {
        adjusted.replace("password_env = \"EIDB_IT_ADMIN_PASSWORD\"\n", "")
    } else {
        adjusted
    };
    std::fs::write(spec, &adjusted).unwrap();
    text
}

fn run_json(cluster: &Cluster, spec: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let output = cluster.eidb_with(spec, &all);
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().unwrap_or(-1), report)
}

fn change_kinds(report: &Value) -> Vec<String> {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["change"].as_str().unwrap().to_string())
        .collect()
}

/// Issue 28 points 2, 3 and 4 (the account's host): a node on its embedded H2 beside nodes on MySQL,
/// the shared registry's datasource under the cluster's own names, databases built from `mysql.sql`,
/// an account bound to a host pattern. `init` writes all of it and says so; the first provision changes
/// nothing but the ledger. Moving the H2 node to MySQL afterwards is destructive and held back.
#[tokio::test]
async fn own_names_an_h2_node_and_a_host_bound_account_are_adopted_as_they_are() {
    let cluster =
        Cluster::new(3, Conf::RealWso2).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.set_conf_mode(0o640);
    for home in &cluster.nodes {
        common::cluster::copy_tree(
            &common::shared_wso2_dir().join("dbscripts"),
            &home.join("dbscripts"),
        );
    }
    // node2 ran on its H2 before it was clustered: its data file is there.
    let h2_file = cluster.nodes[1].join("repository/database/WSO2CARBON_DB.h2.db");
    std::fs::create_dir_all(h2_file.parent().unwrap()).unwrap();
    std::fs::write(&h2_file, b"H2 data").unwrap();
    let tag = unique_name("h");
    let (userdb, regdb) = (format!("userdb_{tag}"), format!("regdb_{tag}"));
    let (local1, local3) = (format!("local_1_{tag}"), format!("local_3_{tag}"));
    let user = unique_name("own").to_lowercase();
    let script = common::shared_wso2_dir().join("dbscripts/mysql.sql");
    databases_by_hand(
        &[&userdb, &regdb, &local1, &local3],
        &script,
        &user,
        "127.0.0.%",
    );
    let server = server();
    let url = |db: &str| {
        let db = match db {
            "regdb" => regdb.as_str(),
            "userdb" => userdb.as_str(),
            other => other,
        };
        format!(
            "jdbc:mysql://{}:{}/{db}?autoReconnect=true",
            server.host, server.port
        )
    };
    for (home, local) in cluster
        .nodes
        .iter()
        .zip([Some(&local1), None, Some(&local3)])
    {
        build_by_hand(
            home,
            &url,
            &Layout {
                local: local.map(String::as_str),
                user: &user,
                shared_names: ("WSO2_SHARED_REG", "jdbc/WSO2SharedDB"),
                governance: true,
            },
        );
    }
    let before = snapshot_files(cluster.dir.path());

    let spec = cluster.dir.path().join("adopted.toml");
    let (code, report, stderr) = init(&cluster, &spec);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let text = for_the_test(&spec);
    for wanted in [
        "local_registry_store = \"h2\"   # stays on its embedded H2",
        "shared_registry_name = \"WSO2_SHARED_REG\"",
        "shared_registry_jndi = \"jdbc/WSO2SharedDB\"",
        "host = \"127.0.0.%\"",
        &format!("local_registry = \"{local1}\""),
        &format!("local_registry = \"{local3}\""),
    ] {
        assert!(text.contains(wanted), "{wanted} in:\n{text}");
    }
    assert!(
        text.contains(&format!(
            "file = {:?}",
            cluster.nodes[0]
                .join("dbscripts/mysql.sql")
                .display()
                .to_string()
        )),
        "the script the databases were built from:\n{text}"
    );
    // Every choice is said: on stderr, in JSON and in the spec's header.
    let notes = report["notes"].to_string();
    for said in ["embedded H2", "127.0.0.%", "mysql.sql"] {
        assert!(notes.contains(said), "{said} in {report:#}");
        assert!(text.contains(said), "{said} in the spec's header:\n{text}");
    }

    let (code, report) = run_json(&cluster, &spec, &["provision", "--dry-run"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        change_kinds(&report),
        ["record_ownership"],
        "only the ledger's records: {report:#}\n{}",
        std::fs::read_to_string(&spec).unwrap()
    );
    let (code, report) = run_json(&cluster, &spec, &["provision"]);
    assert_eq!(code, 0, "{report:#}");
    let changed: Vec<String> = snapshot_differences(&before, &snapshot_files(cluster.dir.path()))
        .into_iter()
        .filter(|line| !line.contains("adopted.toml"))
        .collect();
    assert!(changed.is_empty(), "no node file changed: {changed:#?}");
    let (code, report) = run_json(&cluster, &spec, &["verify"]);
    assert_eq!(code, 0, "{report:#}");

    // The spec moves node2 to MySQL: its H2 data would stay behind, so the move is destructive.
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, text.replace("local_registry_store = \"h2\"", "")).unwrap();
    let datasources_before = std::fs::read(cluster.nodes[1].join(DATASOURCES)).unwrap();
    let (code, report) = run_json(&cluster, &spec, &["provision"]);
    assert_eq!(code, 3, "done, a destructive change held back: {report:#}");
    let held = report["held_back"].to_string();
    assert!(
        held.contains("WSO2CARBON_DB.h2.db") && held.contains("embedded H2"),
        "the move off H2 is held back and names the data file left behind: {report:#}"
    );
    assert_eq!(
        std::fs::read(cluster.nodes[1].join(DATASOURCES)).unwrap(),
        datasources_before,
        "node2 still uses its H2"
    );
}

/// Issue 28 point 4: nodes that disagree (another account, no governance mount, one local registry for
/// two nodes). `init` says every one and how it resolved it, and writes a spec that provision accepts.
#[tokio::test]
async fn init_reports_every_disagreement_and_writes_what_provision_accepts() {
    let cluster =
        Cluster::new(3, Conf::RealWso2).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.set_conf_mode(0o640);
    common::cluster::copy_tree(
        &common::shared_wso2_dir().join("dbscripts"),
        &cluster.nodes[0].join("dbscripts"),
    );
    let tag = unique_name("d");
    let (userdb, regdb, local) = (
        format!("userdb_{tag}"),
        format!("regdb_{tag}"),
        format!("local_{tag}"),
    );
    let local2 = format!("local2_{tag}");
    let (user, other) = (
        unique_name("one").to_lowercase(),
        unique_name("two").to_lowercase(),
    );
    let script = common::shared_wso2_dir().join("dbscripts/mysql5.7.sql");
    databases_by_hand(&[&userdb, &regdb, &local, &local2], &script, &user, "%");
    for db in [&userdb, &regdb, &local, &local2] {
        mariadb(&format!(
            "GRANT ALL ON {db}.* TO '{other}'@'%' IDENTIFIED BY 'x'"
        ));
    }
    let server = server();
    let url = |db: &str| {
        let db = match db {
            "regdb" => regdb.as_str(),
            "userdb" => userdb.as_str(),
            other => other,
        };
        format!(
            "jdbc:mysql://{}:{}/{db}?autoReconnect=true",
            server.host, server.port
        )
    };
    let names = ("WSO2_REGISTRY_DB", "jdbc/WSO2RegistryDB");
    for (i, home) in cluster.nodes.iter().enumerate() {
        build_by_hand(
            home,
            &url,
            &Layout {
                // node3 uses node1's local registry.
                local: Some(if i == 1 {
                    local2.as_str()
                } else {
                    local.as_str()
                }),
                user: if i == 1 { &other } else { &user },
                shared_names: names,
                governance: i != 2,
            },
        );
    }
    let spec = cluster.dir.path().join("adopted.toml");
    let (code, report, stderr) = init(&cluster, &spec);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let notes = report["notes"].to_string();
    for said in [
        format!("node node2 logs in as {other}"),
        "node node3 has no mount of /_system/governance".to_string(),
        "nodes node1 and node3 both use the local registry".to_string(),
    ] {
        assert!(notes.contains(&said), "{said} in {report:#}");
        assert!(stderr.contains(&said), "{said} on stderr: {stderr}");
    }
    let text = for_the_test(&spec);
    assert!(text.contains("# NOTE: nodes node1 and node3"), "{text}");
    // What init wrote, provision takes: no bad-input refusal (exit 2).
    let (code, report) = run_json(&cluster, &spec, &["provision", "--dry-run"]);
    assert_ne!(code, 2, "{report:#}");
    let planned = report["changes"].to_string();
    assert!(
        planned.contains("node2"),
        "node2 is rewritten to the spec's account: {report:#}"
    );
}

/// Another issue: the failover form eidb writes itself (`jdbc:mysql://h1:p,h2:p/DB`, spec key
/// `jdbc_hosts`) is adopted as such, not refused as "no shared registry on MySQL".
#[tokio::test]
async fn a_failover_url_is_adopted_as_jdbc_hosts() {
    let cluster =
        Cluster::new(1, Conf::RealWso2).with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.set_conf_mode(0o640);
    let tag = unique_name("f");
    let (userdb, regdb, local) = (
        format!("userdb_{tag}"),
        format!("regdb_{tag}"),
        format!("local_{tag}"),
    );
    let user = unique_name("fo").to_lowercase();
    let script = common::shared_wso2_dir().join("dbscripts/mysql5.7.sql");
    databases_by_hand(&[&userdb, &regdb, &local], &script, &user, "%");
    let server = server();
    let url = |db: &str| {
        let db = match db {
            "regdb" => regdb.as_str(),
            "userdb" => userdb.as_str(),
            other => other,
        };
        format!(
            "jdbc:mysql://{host}:{port},localhost:{port}/{db}?autoReconnect=true",
            host = server.host,
            port = server.port
        )
    };
    build_by_hand(
        &cluster.nodes[0],
        &url,
        &Layout {
            local: Some(&local),
            user: &user,
            shared_names: ("WSO2_REGISTRY_DB", "jdbc/WSO2RegistryDB"),
            governance: true,
        },
    );
    let before = snapshot_files(cluster.dir.path());
    let spec = cluster.dir.path().join("adopted.toml");
    let (code, report, stderr) = init(&cluster, &spec);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let text = for_the_test(&spec);
    assert!(
        text.contains(&format!(
            "jdbc_hosts = [\"{}:{port}\", \"localhost:{port}\"]",
            server.host,
            port = server.port
        )),
        "{text}"
    );
    let text = text.replace(
        "dir = \"/opt/wso2ei/dbscripts\"",
        &format!("file = {:?}", script.display().to_string()),
    );
    std::fs::write(
        &spec,
        text.replace("EIDB_REGADMIN_PASSWORD", "EIDB_IT_ACCOUNT_PASSWORD"),
    )
    .unwrap();
    for_the_test(&spec);
    let (code, report) = run_json(&cluster, &spec, &["provision", "--dry-run"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(change_kinds(&report), ["record_ownership"], "{report:#}");
    cluster.eidb_with(&spec, &["provision"]);
    let changed: Vec<String> = snapshot_differences(&before, &snapshot_files(cluster.dir.path()))
        .into_iter()
        .filter(|line| !line.contains("adopted.toml"))
        .collect();
    assert!(changed.is_empty(), "no node file changed: {changed:#?}");
}
