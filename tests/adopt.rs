//! Adopting a cluster built by hand (issue "adopt what already exists"): the databases made with the
//! `mariadb` client as the WSO2 guide says (`source` of the dbscript, `GRANT ALL ON DB.*`), the XML edited
//! as a person would (URLs ending in `?autoReconnect=true`, their own database names). `eidb init` writes
//! the spec; the first provision with it changes no node file and runs no script statement; verify is in
//! sync.

mod common;

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
    let dbscripts = text[text.find("[dbscripts]").unwrap()..]
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
