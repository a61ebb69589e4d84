//! Mount records (issue 16): the records a node keeps of its registry mounts in its local registry
//! database, checked by `verify` (with a spec and with `--ei-home ... --server-url`) and repaired by
//! `provision --allow-destructive`, against a throwaway server and real-looking EI homes (the real WSO2
//! conf files and dbscripts, so the REG_* tables are Carbon's own).
//!
//! A node is never started here: the tests write the rows a node would write, as Carbon 4.4's DAO writes
//! them (read from `../shared/wso2-ei/carbon-4.4-registry-src`), with tenant -1234 (the super tenant).
//! [`Carbon`] imitates `JDBCPathCache.addEntry` and `JDBCResourceDAO.add/update/addProperties`;
//! [`first_start`] imitates what `RegistryCoreServiceComponent.setupMounts` does for a mount that has no
//! record yet. The results are checked through a second path: the test's own reading of the
//! properties, the way `JDBCResourceDAO.fillResourceProperties` reads them.

use crate::common;

use std::collections::BTreeMap;

use serde_json::Value;
use sqlx::{MySqlPool, Row};

use common::cluster::{Cluster, Conf, ACCOUNT_PASSWORD};
use common::{admin_pool, server};

const TENANT: i32 = -1234;
const MOUNT_COLLECTION: &str =
    "/_system/local/repository/components/org.wso2.carbon.registry/mount";
const SYSTEM_USER: &str = "wso2.system.user";
/// What eidb writes into registry.xml with the spec's defaults.
const INSTANCE: &str = "instanceid";
const CONFIG: &str = "/_system/config";
const CONFIG_TARGET: &str = "/_system/eiconfig";
const GOVERNANCE: &str = "/_system/governance";
const GOVERNANCE_TARGET: &str = "/_system/governance";

// ---------------------------------------------------------------------------------------------------------
// Carbon's registry DAO, imitated row for row
// ---------------------------------------------------------------------------------------------------------

/// One node's local registry, written the way Carbon 4.4 writes it.
struct Carbon<'a> {
    pool: &'a MySqlPool,
    db: String,
    /// `<versioningProperties>` of the node's registry.xml (`StaticConfiguration.isVersioningProperties`).
    versioned: bool,
}

impl Carbon<'_> {
    /// `JDBCPathCache.getPathID`, and `JDBCPathCache.addEntry` for a path that has no row:
    /// `INSERT INTO REG_PATH(REG_PATH_VALUE, REG_PATH_PARENT_ID, REG_TENANT_ID)`; the root's parent is -1.
    async fn path_id(&self, path: &str) -> i64 {
        let db = &self.db;
        let found = sqlx::query(&format!(
            "SELECT REG_PATH_ID FROM `{db}`.REG_PATH WHERE REG_PATH_VALUE = ? AND REG_TENANT_ID = ?"
        ))
        .bind(path)
        .bind(TENANT)
        .fetch_optional(self.pool)
        .await
        .unwrap();
        if let Some(row) = found {
            return i64::from(row.get::<i32, _>(0));
        }
        let parent = match path {
            "/" => -1,
            _ => Box::pin(self.collection(parent_of(path))).await,
        };
        sqlx::query(&format!(
            "INSERT INTO `{db}`.REG_PATH (REG_PATH_VALUE, REG_PATH_PARENT_ID, REG_TENANT_ID) VALUES (?, ?, ?)"
        ))
        .bind(path)
        .bind(parent)
        .bind(TENANT)
        .execute(self.pool)
        .await
        .unwrap()
        .last_insert_id() as i64
    }

    /// A collection as `Repository.put` leaves it for a new path (`JDBCResourceDAO.add` with a
    /// `CollectionImpl`): its `REG_PATH` row, and a `REG_RESOURCE` row with `REG_NAME` NULL. Returns the
    /// path id. Parents are made the same way first (`Repository.addParent`).
    async fn collection(&self, path: &str) -> i64 {
        let id = self.path_id(path).await;
        let exists: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) FROM `{}`.REG_RESOURCE WHERE REG_PATH_ID = ? AND REG_NAME IS NULL AND REG_TENANT_ID = ?",
            self.db
        ))
        .bind(id)
        .bind(TENANT)
        .fetch_one(self.pool)
        .await
        .unwrap()
        .get(0);
        if exists == 0 {
            self.resource_row(id, None, None).await;
        }
        id
    }

    /// `JDBCResourceDAO.addResourceWithoutContentId`: one `REG_RESOURCE` row (a new `REG_VERSION`).
    async fn resource_row(
        &self,
        path_id: i64,
        name: Option<&str>,
        media_type: Option<&str>,
    ) -> i64 {
        sqlx::query(&format!(
            "INSERT INTO `{}`.REG_RESOURCE (REG_PATH_ID, REG_NAME, REG_MEDIA_TYPE, REG_CREATOR, REG_CREATED_TIME, \
             REG_LAST_UPDATOR, REG_LAST_UPDATED_TIME, REG_DESCRIPTION, REG_TENANT_ID, REG_UUID) \
             VALUES (?, ?, ?, ?, NOW(), ?, NOW(), NULL, ?, UUID())",
            self.db
        ))
        .bind(path_id)
        .bind(name)
        .bind(media_type)
        .bind(SYSTEM_USER)
        .bind(SYSTEM_USER)
        .bind(TENANT)
        .execute(self.pool)
        .await
        .unwrap()
        .last_insert_id() as i64
    }

    /// `JDBCResourceDAO.addProperties`: per value, a `REG_PROPERTY` row and a `REG_RESOURCE_PROPERTY` row
    /// linking it to the version (versioned properties) or to the path id and resource name.
    async fn add_properties(
        &self,
        version: i64,
        path_id: i64,
        name: Option<&str>,
        properties: &[(&str, &str)],
    ) {
        let db = &self.db;
        for (key, value) in properties {
            let property = sqlx::query(&format!(
                "INSERT INTO `{db}`.REG_PROPERTY (REG_NAME, REG_VALUE, REG_TENANT_ID) VALUES (?, ?, ?)"
            ))
            .bind(key)
            .bind(value)
            .bind(TENANT)
            .execute(self.pool)
            .await
            .unwrap()
            .last_insert_id() as i64;
            if self.versioned {
                sqlx::query(&format!(
                    "INSERT INTO `{db}`.REG_RESOURCE_PROPERTY (REG_PROPERTY_ID, REG_VERSION, REG_TENANT_ID) VALUES (?, ?, ?)"
                ))
                .bind(property)
                .bind(version)
                .bind(TENANT)
                .execute(self.pool)
                .await
                .unwrap();
            } else {
                sqlx::query(&format!(
                    "INSERT INTO `{db}`.REG_RESOURCE_PROPERTY (REG_PROPERTY_ID, REG_PATH_ID, REG_RESOURCE_NAME, REG_TENANT_ID) \
                     VALUES (?, ?, ?, ?)"
                ))
                .bind(property)
                .bind(path_id)
                .bind(name)
                .bind(TENANT)
                .execute(self.pool)
                .await
                .unwrap();
            }
        }
    }

    /// `Repository.put` of a new non-collection resource (`JDBCResourceDAO.add`): `createResourceID`
    /// gives it its parent's path id and its name, then the resource row and its properties.
    async fn add_resource(&self, path: &str, media_type: &str, properties: &[(&str, &str)]) {
        let parent = self.collection(parent_of(path)).await;
        let name = name_of(path);
        let version = self
            .resource_row(parent, Some(name), Some(media_type))
            .await;
        self.add_properties(version, parent, Some(name), properties)
            .await;
    }

    /// `Repository.put` over an existing non-collection resource with EI's `versionResourcesOnChange`
    /// false: `prepareUpdate` -> `removeResource` deletes the old `REG_RESOURCE` row (its properties stay
    /// behind when they are versioned, else `removeProperties` deletes them), then `JDBCResourceDAO.update`
    /// adds a new row and every property again.
    async fn update_resource(&self, path: &str, media_type: &str, properties: &[(&str, &str)]) {
        let parent = self.collection(parent_of(path)).await;
        let name = name_of(path);
        let db = &self.db;
        if !self.versioned {
            // JDBCResourceDAO.removeProperties: the link rows, then the property rows.
            let ids: Vec<i32> = sqlx::query(&format!(
                "SELECT REG_PROPERTY_ID FROM `{db}`.REG_RESOURCE_PROPERTY \
                 WHERE REG_PATH_ID = ? AND REG_RESOURCE_NAME = ? AND REG_TENANT_ID = ?"
            ))
            .bind(parent)
            .bind(name)
            .bind(TENANT)
            .fetch_all(self.pool)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
            for id in ids {
                for table_and_column in [
                    "REG_RESOURCE_PROPERTY WHERE REG_PROPERTY_ID",
                    "REG_PROPERTY WHERE REG_ID",
                ] {
                    sqlx::query(&format!(
                        "DELETE FROM `{db}`.{table_and_column} = ? AND REG_TENANT_ID = ?"
                    ))
                    .bind(id)
                    .bind(TENANT)
                    .execute(self.pool)
                    .await
                    .unwrap();
                }
            }
        }
        sqlx::query(&format!(
            "DELETE FROM `{db}`.REG_RESOURCE WHERE REG_PATH_ID = ? AND REG_NAME = ? AND REG_TENANT_ID = ?"
        ))
        .bind(parent)
        .bind(name)
        .bind(TENANT)
        .execute(self.pool)
        .await
        .unwrap();
        let version = self
            .resource_row(parent, Some(name), Some(media_type))
            .await;
        self.add_properties(version, parent, Some(name), properties)
            .await;
    }
}

fn parent_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((parent, _)) => parent,
    }
}

fn name_of(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

fn record_path(mount: &str) -> String {
    format!("{MOUNT_COLLECTION}/{}", mount.replace('/', "-"))
}

/// How a node's first start with a mount leaves its local registry, when no record exists
/// (`RegistryCoreServiceComponent.setupMounts`, super tenant):
/// 1. `RegistryUtils.addMountCollection`: the mount collection;
/// 2. `EmbeddedRegistry.createLink(path, instanceId, targetPath)`: a link collection at the mount path
///    (`registry.nonrecursive`, `registry.linkrestoration`, media type `application/vnd.wso2-link`), then
///    `RegistryUtils.addMountEntry`: the record with `path`, `target`, `author`, `subPath`;
/// 3. `defineFixedMount`: the record read back, `registry.fixedmount=true` added, put again (an update).
///
/// `fixed = false` stops after step 2, as a start cut off between the two leaves it.
async fn first_start(carbon: &Carbon<'_>, mount: &str, instance: &str, target: &str, fixed: bool) {
    carbon.collection(MOUNT_COLLECTION).await;
    let restoration = format!("{mount};{instance};{target};{SYSTEM_USER}");
    let link = carbon.collection(mount).await;
    let version: i64 = sqlx::query(&format!(
        "SELECT REG_VERSION FROM `{}`.REG_RESOURCE WHERE REG_PATH_ID = ? AND REG_NAME IS NULL AND REG_TENANT_ID = ?",
        carbon.db
    ))
    .bind(link)
    .bind(TENANT)
    .fetch_one(carbon.pool)
    .await
    .unwrap()
    .get::<i32, _>(0)
    .into();
    carbon
        .add_properties(
            version,
            link,
            None,
            &[
                ("registry.nonrecursive", "true"),
                ("registry.linkrestoration", &restoration),
            ],
        )
        .await;
    let record = record_path(mount);
    let mut properties = vec![
        ("path", mount),
        ("target", instance),
        ("author", SYSTEM_USER),
        ("subPath", target),
    ];
    carbon
        .add_resource(&record, "application/vnd.wso2.mount", &properties)
        .await;
    if fixed {
        properties.push(("registry.fixedmount", "true"));
        carbon
            .update_resource(&record, "application/vnd.wso2.mount", &properties)
            .await;
    }
}

/// The record's properties as Carbon reads them (`JDBCResourceDAO.getResourceID`, `getVersion`,
/// `fillResourceProperties`), written here independently of eidb: name -> values.
async fn stored(carbon: &Carbon<'_>, mount: &str) -> BTreeMap<String, Vec<String>> {
    let db = &carbon.db;
    let parent = carbon.path_id(MOUNT_COLLECTION).await;
    let name = mount.replace('/', "-");
    let version: i64 = sqlx::query(&format!(
        "SELECT REG_VERSION FROM `{db}`.REG_RESOURCE WHERE REG_PATH_ID = ? AND REG_NAME = ? AND REG_TENANT_ID = ?"
    ))
    .bind(parent)
    .bind(&name)
    .bind(TENANT)
    .fetch_one(carbon.pool)
    .await
    .unwrap()
    .get::<i32, _>(0)
    .into();
    let rows = if carbon.versioned {
        sqlx::query(&format!(
            "SELECT P.REG_NAME, P.REG_VALUE FROM `{db}`.REG_PROPERTY P, `{db}`.REG_RESOURCE_PROPERTY RP \
             WHERE P.REG_ID = RP.REG_PROPERTY_ID AND RP.REG_VERSION = ? AND P.REG_TENANT_ID = RP.REG_TENANT_ID \
             AND RP.REG_TENANT_ID = ? ORDER BY P.REG_ID"
        ))
        .bind(version)
        .bind(TENANT)
        .fetch_all(carbon.pool)
        .await
    } else {
        sqlx::query(&format!(
            "SELECT P.REG_NAME, P.REG_VALUE FROM `{db}`.REG_PROPERTY P, `{db}`.REG_RESOURCE_PROPERTY RP \
             WHERE P.REG_ID = RP.REG_PROPERTY_ID AND RP.REG_PATH_ID = ? AND RP.REG_RESOURCE_NAME = ? \
             AND P.REG_TENANT_ID = RP.REG_TENANT_ID AND RP.REG_TENANT_ID = ? ORDER BY P.REG_ID"
        ))
        .bind(parent)
        .bind(&name)
        .bind(TENANT)
        .fetch_all(carbon.pool)
        .await
    }
    .unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        out.entry(row.get(0)).or_default().push(row.get(1));
    }
    out
}

fn first<'m>(properties: &'m BTreeMap<String, Vec<String>>, name: &str) -> Option<&'m str> {
    properties
        .get(name)
        .and_then(|v| v.first())
        .map(String::as_str)
}

// ---------------------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------------------

/// Two nodes with the real WSO2 conf files and dbscripts, provisioned (so the local registries hold
/// Carbon's tables and the registry.xml files the mounts eidb writes).
fn provisioned() -> Cluster {
    let cluster = Cluster::new(2, Conf::RealWso2)
        .with_real_dbscripts()
        .with_driver_jar("mysql-connector-java-5.1.49.jar");
    cluster.set_conf_mode(0o644);
    cluster.eidb_ok(&["provision"]);
    cluster
}

fn local(cluster: &Cluster, node: usize) -> String {
    format!("{}{}", cluster.local_prefix, node)
}

fn findings_of(report: &Value, check: &str) -> Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings array: {report:#}"))
        .iter()
        .filter(|f| f["check"] == check)
        .cloned()
        .collect()
}

/// The report's state of one mount's record on one node.
fn state_of(report: &Value, node: &str, mount: &str) -> String {
    report["mount_records"]
        .as_array()
        .unwrap_or_else(|| panic!("no mount_records: {report:#}"))
        .iter()
        .find(|r| r["node"].as_str().unwrap().starts_with(node) && r["mount_path"] == mount)
        .unwrap_or_else(|| panic!("no record state for {node} {mount}: {report:#}"))["state"]
        .as_str()
        .unwrap()
        .to_string()
}

fn assert_in_sync(cluster: &Cluster, when: &str) -> Value {
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "verify {when} must exit 0:\n{report:#}");
    assert_eq!(report["status"], "in_sync", "{when}: {report:#}");
    report
}

/// Provision without, then with `--allow-destructive`: held back first (exit 3, record unchanged),
/// applied second (exit 0, a restart warning); returns the second report.
async fn repair(cluster: &Cluster, carbon: &Carbon<'_>, mount: &str) -> Value {
    let before = stored(carbon, mount).await;
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(
        code, 3,
        "without --allow-destructive the repair is held back:\n{report:#}"
    );
    assert_eq!(report["status"], "held_back", "{report:#}");
    let held: Vec<&Value> = report["held_back"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == "repair_mount_record")
        .collect();
    assert_eq!(held.len(), 1, "{report:#}");
    assert!(held[0]["destructive"]
        .as_str()
        .unwrap()
        .contains("restarted"));
    assert_eq!(
        stored(carbon, mount).await,
        before,
        "a held-back repair changes nothing"
    );

    let (code, report) = cluster.eidb_json(&["provision", "--allow-destructive"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "changed", "{report:#}");
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.to_string().contains("restart it")),
        "a repaired record needs a restart warning: {report:#}"
    );
    report
}

// ---------------------------------------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------------------------------------

/// No record yet (no node has started): fine, and said so. Then a first start writes records exactly as
/// registry.xml says (setupMounts -> createLink -> addMountEntry -> defineFixedMount): matching.
#[tokio::test]
async fn no_record_then_matching_records_verify_clean() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let report = assert_in_sync(&cluster, "before any node started");
    for node in ["node1", "node2"] {
        assert_eq!(state_of(&report, node, CONFIG), "no_record", "{report:#}");
        assert_eq!(state_of(&report, node, GOVERNANCE), "no_record");
    }
    for node in 1..=2 {
        let carbon = Carbon {
            pool: &pool,
            db: local(&cluster, node),
            versioned: true,
        };
        first_start(&carbon, CONFIG, INSTANCE, CONFIG_TARGET, true).await;
        first_start(&carbon, GOVERNANCE, INSTANCE, GOVERNANCE_TARGET, true).await;
    }
    let report = assert_in_sync(&cluster, "after a first start");
    for node in ["node1", "node2"] {
        assert_eq!(state_of(&report, node, CONFIG), "matching", "{report:#}");
        assert_eq!(state_of(&report, node, GOVERNANCE), "matching");
    }
    // Provision has nothing to do either.
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "unchanged", "{report:#}");
}

/// A node started once with another instance id (setupMounts -> createLink -> addMountEntry ->
/// defineFixedMount with `target=oldinstance`): at the next start isFixedMount is true (the subPath
/// matches) and addFixedMount rebuilds the mount from the record, for an instance registry.xml no longer
/// defines. Verify says so; provision holds the repair back, then applies it; verify is clean.
#[tokio::test]
async fn a_stale_instance_id_is_found_held_back_repaired_and_then_clean() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let carbon = Carbon {
        pool: &pool,
        db: local(&cluster, 1),
        versioned: true,
    };
    first_start(&carbon, CONFIG, "oldinstance", CONFIG_TARGET, true).await;
    first_start(&carbon, GOVERNANCE, INSTANCE, GOVERNANCE_TARGET, true).await;

    // The node looks running while an account connection to its local registry is open.
    let mut node_connection = {
        let target = server();
        let options = sqlx::mysql::MySqlConnectOptions::new()
            .host(&target.host)
            .port(target.port)
            .username(&cluster.account)
            .password(ACCOUNT_PASSWORD)
            .database(&carbon.db);
        sqlx::ConnectOptions::connect(&options).await.unwrap()
    };
    sqlx::raw_sql("SELECT 1")
        .execute(&mut node_connection)
        .await
        .unwrap();

    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "{report:#}");
    let stale = findings_of(&report, "mount_record_stale");
    assert_eq!(stale.len(), 1, "only node1's config mount: {report:#}");
    assert_eq!(stale[0]["subject"], "node node1");
    let found = stale[0]["found"].as_str().unwrap();
    assert!(found.contains("target oldinstance"), "{found}");
    assert!(found.contains("addFixedMount"), "{found}");
    assert!(
        found.contains("no <remoteInstance> has the record's id oldinstance"),
        "{found}"
    );
    let fix = stale[0]["fix"].as_str().unwrap();
    assert!(
        fix.contains("--allow-destructive") && fix.contains("restart node node1"),
        "{fix}"
    );
    assert!(fix.contains("appears to be running"), "{fix}");
    assert_eq!(state_of(&report, "node1", CONFIG), "stale");
    assert_eq!(state_of(&report, "node1", GOVERNANCE), "matching");
    assert_eq!(state_of(&report, "node2", CONFIG), "no_record");
    sqlx::Connection::close(node_connection).await.unwrap();

    let report = repair(&cluster, &carbon, CONFIG).await;
    assert_eq!(state_of(&report, "node1", CONFIG), "repaired", "{report:#}");
    assert!(
        report["warnings"].to_string().contains("probably stopped"),
        "no open connection of the account now: {report:#}"
    );
    let after = stored(&carbon, CONFIG).await;
    assert_eq!(first(&after, "target"), Some(INSTANCE), "{after:?}");
    assert_eq!(first(&after, "subPath"), Some(CONFIG_TARGET));
    assert_eq!(first(&after, "path"), Some(CONFIG));
    assert_eq!(first(&after, "registry.fixedmount"), Some("true"));
    assert_eq!(first(&after, "author"), Some(SYSTEM_USER), "author is kept");
    let report = assert_in_sync(&cluster, "after the repair");
    assert_eq!(state_of(&report, "node1", CONFIG), "matching");
}

/// A node started once with another target path: isFixedMount is false (subPath differs), so with
/// overwrite="true" Carbon mounts from registry.xml at every start (createLink) and leaves the record
/// stale (addMountEntry writes none over an existing one). Properties not versioned here
/// (`<versioningProperties>false`): addProperties links them by path id and name.
#[tokio::test]
async fn a_stale_target_path_with_unversioned_properties_is_repaired() {
    let cluster = provisioned();
    for node in 0..2 {
        let path = cluster.node_file(node, "conf/registry.xml");
        let text = std::fs::read_to_string(&path).unwrap();
        let from = "<versioningProperties>true</versioningProperties>";
        assert!(text.contains(from));
        std::fs::write(
            &path,
            text.replace(from, "<versioningProperties>false</versioningProperties>"),
        )
        .unwrap();
    }
    let pool = admin_pool().await;
    let carbon = Carbon {
        pool: &pool,
        db: local(&cluster, 2),
        versioned: false,
    };
    // The old layout mounted /_system/config onto /_system/config of the shared registry, which holds
    // what the node wrote through that mount.
    first_start(&carbon, CONFIG, INSTANCE, "/_system/config", true).await;
    first_start(&carbon, GOVERNANCE, INSTANCE, GOVERNANCE_TARGET, true).await;
    let shared = Carbon {
        pool: &pool,
        db: cluster.shared_registry.clone(),
        versioned: false,
    };
    shared
        .collection("/_system/config/repository/synapse")
        .await;

    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "{report:#}");
    let stale = findings_of(&report, "mount_record_stale");
    assert_eq!(stale.len(), 1, "{report:#}");
    assert_eq!(stale[0]["subject"], "node node2");
    let found = stale[0]["found"].as_str().unwrap();
    assert!(found.contains("subPath /_system/config"), "{found}");
    assert!(found.contains("createLink"), "{found}");
    assert!(
        found.contains("3 path(s) are at or under the record's subPath /_system/config and 0"),
        "the shared registry side: {found}"
    );

    repair(&cluster, &carbon, CONFIG).await;
    let after = stored(&carbon, CONFIG).await;
    assert_eq!(first(&after, "subPath"), Some(CONFIG_TARGET), "{after:?}");
    assert_eq!(after["subPath"].len(), 1, "one value, not two: {after:?}");
    assert_in_sync(&cluster, "after the repair");
}

/// A start cut off between addMountEntry and defineFixedMount leaves a record without
/// `registry.fixedmount`: not a fixed mount, so it is stale; the repair adds the property as
/// addProperties adds one (a REG_PROPERTY row linked to the record's version).
#[tokio::test]
async fn a_record_never_marked_fixed_gets_the_property_added() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let carbon = Carbon {
        pool: &pool,
        db: local(&cluster, 1),
        versioned: true,
    };
    first_start(&carbon, GOVERNANCE, INSTANCE, GOVERNANCE_TARGET, false).await;
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "{report:#}");
    let stale = findings_of(&report, "mount_record_stale");
    assert_eq!(stale.len(), 1, "{report:#}");
    assert!(
        stale[0]["found"]
            .as_str()
            .unwrap()
            .contains("registry.fixedmount (missing)"),
        "{report:#}"
    );
    repair(&cluster, &carbon, GOVERNANCE).await;
    let after = stored(&carbon, GOVERNANCE).await;
    assert_eq!(
        first(&after, "registry.fixedmount"),
        Some("true"),
        "{after:?}"
    );
    assert_in_sync(&cluster, "after the repair");
}

/// Without a spec (`verify --ei-home ... --server-url`): the nodes' own registry.xml and local registry
/// datasource decide; the same finding comes out of the same comparer.
#[tokio::test]
async fn spec_less_verify_finds_a_stale_record_from_the_files_alone() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    let (code, report) = cluster.verify_homes_json(true);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(state_of(&report, "1 (", CONFIG), "no_record");
    let carbon = Carbon {
        pool: &pool,
        db: local(&cluster, 1),
        versioned: true,
    };
    first_start(&carbon, CONFIG, "oldinstance", CONFIG_TARGET, true).await;
    let (code, report) = cluster.verify_homes_json(true);
    assert_eq!(code, 1, "{report:#}");
    let stale = findings_of(&report, "mount_record_stale");
    assert_eq!(stale.len(), 1, "{report:#}");
    assert!(stale[0]["subject"]
        .as_str()
        .unwrap()
        .starts_with("node 1 ("));
    assert!(stale[0]["found"]
        .as_str()
        .unwrap()
        .contains("target oldinstance"));
}

/// Issue "Adopting as promised", item 1: with the nodes' mount records in place, the spec's
/// `config_mount_target` changes. The record repair is destructive (the node mounts something else at its
/// next start), and the registry.xml `targetPath` edit depends on it: a plain provision holds back both,
/// registry.xml stays as it is, and the report says what the edit is held back with. With
/// --allow-destructive both are applied.
#[tokio::test]
async fn a_mount_target_change_holds_back_the_registry_edit_with_the_record_repair() {
    let cluster = provisioned();
    let pool = admin_pool().await;
    for node in 1..=2 {
        let carbon = Carbon {
            pool: &pool,
            db: local(&cluster, node),
            versioned: true,
        };
        first_start(&carbon, CONFIG, INSTANCE, CONFIG_TARGET, true).await;
        first_start(&carbon, GOVERNANCE, INSTANCE, GOVERNANCE_TARGET, true).await;
    }
    assert_in_sync(&cluster, "after a first start");
    let cluster = cluster.with_extra("[registry]\nconfig_mount_target = \"/_system/eiconfig2\"\n");
    let registry: Vec<String> = (0..2)
        .map(|n| std::fs::read_to_string(cluster.node_file(n, "conf/registry.xml")).unwrap())
        .collect();

    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 3, "{report:#}");
    for (n, before) in registry.iter().enumerate() {
        assert_eq!(
            &std::fs::read_to_string(cluster.node_file(n, "conf/registry.xml")).unwrap(),
            before,
            "node{}'s registry.xml must wait for its record repair: {report:#}",
            n + 1
        );
    }
    let held = report["held_back"].as_array().unwrap();
    let registry_edits: Vec<&Value> = held
        .iter()
        .filter(|c| {
            c["change"] == "edit_file" && c["file"].as_str().unwrap().ends_with("registry.xml")
        })
        .collect();
    assert_eq!(registry_edits.len(), 2, "{report:#}");
    for edit in registry_edits {
        assert!(
            edit["held_with"]
                .as_str()
                .is_some_and(|w| w.contains("mount record")),
            "{edit:#}"
        );
    }
    assert!(
        !report["changes"].to_string().contains("registry.xml"),
        "{report:#}"
    );

    let (code, report) = cluster.eidb_json(&["provision", "--allow-destructive"]);
    assert_eq!(code, 0, "{report:#}");
    for n in 0..2 {
        assert!(
            std::fs::read_to_string(cluster.node_file(n, "conf/registry.xml"))
                .unwrap()
                .contains("/_system/eiconfig2")
        );
    }
    let carbon = Carbon {
        pool: &pool,
        db: local(&cluster, 1),
        versioned: true,
    };
    assert_eq!(
        first(&stored(&carbon, CONFIG).await, "subPath"),
        Some("/_system/eiconfig2")
    );
}

/// `--files-only` reads no mount records: a mount target change waits for a run that can check them
/// (issue 28 point 1, in the mode without admin access), and `--allow-destructive` lets it through.
#[tokio::test]
async fn files_only_holds_back_a_mount_target_change_it_cannot_check() {
    let cluster = provisioned();
    let cluster = cluster.with_extra("[registry]\nconfig_mount_target = \"/_system/eiconfig2\"\n");
    let registry: Vec<String> = (0..2)
        .map(|n| std::fs::read_to_string(cluster.node_file(n, "conf/registry.xml")).unwrap())
        .collect();

    let (code, report) = cluster.eidb_json(&["provision", "--files-only"]);
    assert_eq!(code, 3, "{report:#}");
    for (n, before) in registry.iter().enumerate() {
        assert_eq!(
            &std::fs::read_to_string(cluster.node_file(n, "conf/registry.xml")).unwrap(),
            before,
            "node{}'s registry.xml must wait: {report:#}",
            n + 1
        );
    }
    let held = report["held_back"].to_string();
    assert!(held.contains("check_mount_records"), "{report:#}");
    assert!(
        held.contains("/_system/eiconfig -> /_system/eiconfig2"),
        "{report:#}"
    );
    let (code, verify) = cluster.eidb_json(&["verify", "--files-only"]);
    assert_eq!(code, 1, "{verify:#}");

    let (code, report) = cluster.eidb_json(&["provision", "--files-only", "--allow-destructive"]);
    assert_eq!(code, 0, "{report:#}");
    for n in 0..2 {
        assert!(
            std::fs::read_to_string(cluster.node_file(n, "conf/registry.xml"))
                .unwrap()
                .contains("/_system/eiconfig2")
        );
    }
}
