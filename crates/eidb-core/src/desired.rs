//! Spec -> Desired: everything that must be true, with every dependent value derived here, once.
//!
//! The JDBC URLs, the registry `cacheId`, which local database each node gets, the driver class and the
//! account's authentication plugin are computed by the pure functions in this module. Nothing downstream
//! derives them again, so the nodes cannot disagree with each other or with the databases.
//!
//! Nothing here reads: the passwords, each node's driver jar and the scripts come in, observed by the
//! caller (`secret::Secrets::read`, `node::files::find_driver`, `node::dbscripts::load`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;

use crate::dbscript::Dbscript;
use crate::facts::{Flavour, ServerFacts};
use crate::jdbc_url::JdbcUrl;
use crate::node_files;
use crate::spec::{
    AuthPluginChoice, CharsetChoice, JdbcUrlStyle, LocalRegistryStore, PrivilegeSet, Spec,
};

pub const LOCAL_REGISTRY_DATASOURCE: &str = "WSO2_CARBON_DB";
pub const LOCAL_REGISTRY_JNDI: &str = "jdbc/WSO2CarbonDB";
pub const SHARED_REGISTRY_DATASOURCE: &str = "WSO2_REGISTRY_DB";
pub const SHARED_REGISTRY_JNDI: &str = "jdbc/WSO2RegistryDB";
pub const USER_STORE_DATASOURCE: &str = "WSO2_UM_DB";
pub const USER_STORE_JNDI: &str = "jdbc/WSO2UMDB";

pub const DRIVER_CLASS_8: &str = "com.mysql.cj.jdbc.Driver";
pub const DRIVER_CLASS_5: &str = "com.mysql.jdbc.Driver";

/// What each database is for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "role", content = "node")]
pub enum DatabaseRole {
    UserStore,
    SharedRegistry,
    LocalRegistry(String),
}

#[derive(Debug, Clone)]
pub struct DesiredDatabase {
    pub name: String,
    pub role: DatabaseRole,
}

#[derive(Debug, Clone)]
pub struct DesiredAccount {
    pub name: String,
    /// One account row per host part, all alike.
    pub hosts: Vec<String>,
    pub password: SecretString,
    /// What the account gets on each provisioned database, upper-case; `["ALL PRIVILEGES"]` or the WSO2 set.
    pub privileges: Vec<String>,
    /// `None`: the server's default plugin.
    pub auth_plugin: Option<String>,
    /// Why eidb chose a plugin other than the default, for the output.
    pub auth_plugin_reason: Option<String>,
}

impl DesiredAccount {
    /// `'name'@'host'` as people write it (not for SQL: see `mysql::quote`).
    pub fn display(&self, host: &str) -> String {
        format!("'{}'@'{}'", self.name, host)
    }

    pub fn wants_all_privileges(&self) -> bool {
        self.privileges.iter().any(|p| p == "ALL PRIVILEGES")
    }
}

/// `user.privileges = "wso2"`: what a WSO2 EI 6.x node needs on its databases, instead of ALL PRIVILEGES.
/// - SELECT, INSERT, UPDATE, DELETE: the registry and the user store read and write rows at run time.
/// - CREATE, ALTER, DROP, INDEX, REFERENCES: the Carbon dbscripts (and `-Dsetup`, and the schema changes of
///   a WSO2 update) create and change tables, indexes and foreign keys.
///
/// Nothing else: no FILE, PROCESS, SUPER or GRANT OPTION, and nothing outside the provisioned databases.
pub const WSO2_PRIVILEGES: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "ALTER",
    "DROP",
    "INDEX",
    "REFERENCES",
];

/// The server half of the desired state.
#[derive(Debug, Clone)]
pub struct DesiredServer {
    /// The cluster's identity in the ledger (`Spec::cluster`).
    pub cluster: String,
    pub databases: Vec<DesiredDatabase>,
    /// Each node's local registry: (node, database), to be recorded in the ledger.
    pub local_registries: Vec<(String, String)>,
    /// Nodes the ledger knows but the spec no longer names, and their databases, which stay.
    pub orphans: Vec<(String, String)>,
    /// Nodes the spec keeps on their embedded H2 whose database the ledger records: it stays, as an
    /// orphan's does (the node's files may still use it: the node plan says so).
    pub left_for_h2: Vec<(String, String)>,
    /// Renamed nodes: (old name, new name).
    pub renamed: Vec<(String, String)>,
    /// MySQL's `partial_revokes`: decides how database-level grants are written and stored.
    pub partial_revokes: bool,
    /// The server's `lower_case_table_names`: decides how database names in grants compare.
    pub lower_case_table_names: u32,
    /// The server's `skip_name_resolve`: account rows for host names never match a TCP client.
    pub skip_name_resolve: bool,
    pub charset: String,
    pub account: DesiredAccount,
    pub script: Arc<Dbscript>,
    /// The other variant of the Carbon script beside it, to name what a database was built from.
    pub other_variant: Option<Arc<Dbscript>>,
    /// `databases.adopt`: existing databases eidb takes over although they hold tables the script does
    /// not make (otherwise such a database, recorded for no cluster, is someone else's: a conflict).
    pub adopt: Vec<String>,
}

impl DesiredServer {
    /// How the server compares database names in grants.
    pub fn name_rules(&self) -> crate::matching::NameRules {
        crate::matching::NameRules {
            lower_case_table_names: self.lower_case_table_names,
            partial_revokes: self.partial_revokes,
        }
    }
}

/// The JDBC driver found in a node's `lib/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Driver {
    pub jar: Option<PathBuf>,
    /// Major version of Connector/J, when a jar was found.
    pub major: Option<u32>,
}

impl Driver {
    pub fn class(&self) -> &'static str {
        match self.major {
            Some(major) if major >= 8 => DRIVER_CLASS_8,
            _ => DRIVER_CLASS_5,
        }
    }

    /// Connector/J 5.1 cannot authenticate with caching_sha2_password; a node without a jar will most
    /// likely get the 5.1 jar the EI 6.x documentation names.
    pub fn speaks_caching_sha2(&self) -> bool {
        matches!(self.major, Some(major) if major >= 8)
    }
}

/// The node half of the desired state.
#[derive(Debug, Clone)]
pub struct DesiredNode {
    pub name: String,
    pub ei_home: PathBuf,
    /// The local registry database, `None` when it stays on the embedded H2.
    pub local_registry: Option<String>,
    /// The JNDI name of the local registry's datasource (also on H2, where eidb leaves the datasource as
    /// it is and only checks that it is still on H2).
    pub local_registry_jndi: String,
    pub driver: Driver,
    pub datasources: Vec<node_files::Datasource>,
    pub user_store_jndi: String,
    pub registry: node_files::Registry,
    /// With WSO2 Secure Vault: the `alias -> password` entries of conf/security/cipher-text.properties.
    pub vault_entries: Vec<(String, SecretString)>,
    /// The clustering files (axis2.xml, carbon.xml, catalina-server.xml, hazelcast.properties,
    /// log4j.properties); empty without `[clustering]` and `[load_balancer]`.
    pub clustering: crate::node_clustering::NodeClustering,
}

/// The Secure Vault alias of a datasource's password, in the form WSO2's cipher tool configuration uses.
pub fn vault_alias(datasource: &str) -> String {
    format!("Datasources.{datasource}.Configuration.Password")
}

/// What the `<password>` element holds when the real value is in the vault (as WSO2 documents it).
pub const VAULT_PLACEHOLDER: &str = "password";

/// Databases in the order eidb creates them: user store, shared registry, then each node's local registry.
pub fn databases(spec: &Spec, local: &LocalRegistries) -> Vec<DesiredDatabase> {
    let db = &spec.databases;
    let mut out = vec![
        DesiredDatabase {
            name: db.user_store.clone(),
            role: DatabaseRole::UserStore,
        },
        DesiredDatabase {
            name: db.shared_registry.clone(),
            role: DatabaseRole::SharedRegistry,
        },
    ];
    out.extend(
        spec.nodes
            .iter()
            .zip(&local.by_node)
            .filter_map(|(node, name)| {
                name.as_ref().map(|name| DesiredDatabase {
                    name: name.clone(),
                    role: DatabaseRole::LocalRegistry(node.name.clone()),
                })
            }),
    );
    out
}

/// Longest database name MySQL and MariaDB take (and the ledger's `target_db VARCHAR(64)`).
const MAX_DATABASE_NAME_LEN: usize = 64;

/// Which local registry database each node uses. A node's database belongs to the node, not to its place
/// in the spec: the spec may name it (`local_registry`), else the ledger's record for the node (or for the
/// name it was `renamed_from`) keeps it, else a new node gets the first `<prefix><n>` that no node of the
/// cluster, present or removed, holds. Without records (a cluster provisioned before they existed, or
/// `--files-only`) that is spec order, as it always was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalRegistries {
    /// Per spec node, in spec order; `None` when local registries stay on H2.
    pub by_node: Vec<Option<String>>,
    /// Nodes the ledger knows but the spec no longer names, with their databases: left in place.
    pub orphans: Vec<(String, String)>,
    /// Nodes the spec keeps on their embedded H2 whose database the ledger records: left in place.
    pub left_for_h2: Vec<(String, String)>,
    /// Renamed nodes: (old name, new name).
    pub renamed: Vec<(String, String)>,
}

pub fn assign_local_registries(
    spec: &Spec,
    recorded: &BTreeMap<String, String>,
) -> Result<LocalRegistries, crate::error::Error> {
    let on_h2 =
        |node: &crate::spec::Node| node.local_registry_store == LocalRegistryStore::EmbeddedH2;
    // A recorded database of a node the spec now keeps on H2 (no other node uses it: it is nobody's).
    let left_for_h2 = |by_node: &[Option<String>]| -> Vec<(String, String)> {
        spec.nodes
            .iter()
            .filter(|node| on_h2(node))
            .filter_map(|node| {
                let db = recorded.get(&node.name)?;
                let used = by_node.iter().flatten().any(|d| d.eq_ignore_ascii_case(db));
                (!used).then(|| (node.name.clone(), db.clone()))
            })
            .collect()
    };
    if spec.nodes.iter().all(on_h2) {
        let by_node = vec![None; spec.nodes.len()];
        return Ok(LocalRegistries {
            left_for_h2: left_for_h2(&by_node),
            by_node,
            ..LocalRegistries::default()
        });
    }
    let key = |s: &str| s.to_ascii_lowercase();
    let mut renamed = Vec::new();
    let mut by_node: Vec<Option<String>> = spec
        .nodes
        .iter()
        .map(|node| {
            if on_h2(node) {
                return None;
            }
            if let Some(explicit) = &node.local_registry {
                return Some(explicit.clone());
            }
            if let Some(db) = recorded.get(&node.name) {
                return Some(db.clone());
            }
            let old = node.renamed_from.as_ref()?;
            let db = recorded.get(old)?;
            renamed.push((old.clone(), node.name.clone()));
            Some(db.clone())
        })
        .collect();
    let mut taken: BTreeSet<String> = recorded.values().map(|d| key(d)).collect();
    taken.extend(by_node.iter().flatten().map(|d| key(d)));
    let mut next = 1;
    let to_name = by_node
        .iter_mut()
        .zip(&spec.nodes)
        .filter(|(slot, node)| slot.is_none() && !on_h2(node))
        .map(|(slot, _)| slot);
    for slot in to_name {
        let name = loop {
            let candidate = format!("{}{next}", spec.databases.local_registry_prefix);
            next += 1;
            if !taken.contains(&key(&candidate)) {
                break candidate;
            }
        };
        // The spec leaves the prefix room for as many digits as it has nodes; the ledger's earlier nodes
        // may have taken those numbers, and a longer name is one no server takes (nor the ledger's column).
        if name.len() > MAX_DATABASE_NAME_LEN {
            return Err(crate::error::Error::input(format!(
                "databases.local_registry_prefix: the next free local registry name, {name}, is {} characters long; \
                 the limit is {}",
                name.len(),
                MAX_DATABASE_NAME_LEN
            ))
            .with_hint(
                "the ledger's earlier nodes hold the shorter numbers: use a shorter local_registry_prefix, or name the \
                 node's database with nodes.local_registry",
            ));
        }
        taken.insert(key(&name));
        *slot = Some(name);
    }
    let mut users: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (node, db) in spec.nodes.iter().zip(&by_node) {
        if let Some(db) = db {
            users.entry(key(db)).or_default().push(&node.name);
        }
    }
    if let Some((db, nodes)) = users.iter().find(|(_, nodes)| nodes.len() > 1) {
        // As the spec, the ledger or the files name it.
        let db = by_node
            .iter()
            .flatten()
            .find(|d| key(d) == *db)
            .unwrap_or(db);
        return Err(crate::error::Error::input(format!(
            "nodes {} would share the local registry {db} (a node's database comes from the spec's \
             local_registry, else eidb's ledger, else what its files use now)",
            nodes.join(" and ")
        ))
        .with_hint(
            "every node needs a local registry of its own: check nodes.local_registry and nodes.renamed_from",
        ));
    }
    let present: BTreeSet<&str> = spec
        .nodes
        .iter()
        .flat_map(|n| std::iter::once(n.name.as_str()).chain(n.renamed_from.as_deref()))
        .collect();
    let orphans = recorded
        .iter()
        .filter(|(node, db)| !present.contains(node.as_str()) && !users.contains_key(&key(db)))
        .map(|(node, db)| (node.clone(), db.clone()))
        .collect();
    Ok(LocalRegistries {
        left_for_h2: left_for_h2(&by_node),
        by_node,
        orphans,
        renamed,
    })
}

/// The chosen nodes (`chosen`, per spec node) whose local registry database nothing here says: not the
/// spec (`local_registry`, or the embedded H2), not the node's files (`in_files`, per spec node), not the
/// ledger's records (`records`, by the node's name or its `renamed_from`). Numbering such a node by its
/// place in the spec could point it at another node's live database, so a run that writes refuses it.
pub fn nodes_without_known_database<'a>(
    spec: &'a Spec,
    chosen: &[bool],
    records: &BTreeMap<String, String>,
    in_files: &[Option<String>],
) -> Vec<&'a str> {
    spec.nodes
        .iter()
        .zip(chosen)
        .zip(in_files)
        .filter(|((node, chosen), in_file)| {
            let known = node.local_registry.is_some()
                || node.local_registry_store == LocalRegistryStore::EmbeddedH2
                || in_file.is_some()
                || records.contains_key(&node.name)
                || node
                    .renamed_from
                    .as_ref()
                    .is_some_and(|old| records.contains_key(old));
            **chosen && !known
        })
        .map(|((node, _), _)| node.name.as_str())
        .collect()
}

/// The records [`assign_local_registries`] keeps the nodes' databases by: the ledger's, and for each
/// node it has no record of (by its name or `renamed_from`: `--files-only` reads no ledger, a cluster
/// may predate its records, or be adopted), the database the node's files use now (`in_files`, per spec
/// node). A database the ledger gives another node, one of the spec's shared databases, or one an
/// earlier node's files already claimed is not taken from the files (the node then gets a new one: a
/// repoint, destructive). So a node is never given a database another node's files use.
pub fn records_with_files(
    spec: &Spec,
    recorded: &BTreeMap<String, String>,
    in_files: &[Option<String>],
) -> BTreeMap<String, String> {
    if spec.databases.local_registry == LocalRegistryStore::EmbeddedH2 {
        return recorded.clone();
    }
    let key = |s: &str| s.to_ascii_lowercase();
    let mut records = recorded.clone();
    let mut taken: BTreeSet<String> = recorded.values().map(|d| key(d)).collect();
    taken.insert(key(&spec.databases.user_store));
    taken.insert(key(&spec.databases.shared_registry));
    taken.insert(key(&spec.databases.metadata));
    for (node, used) in spec.nodes.iter().zip(in_files) {
        let Some(used) = used else { continue };
        let known = recorded.contains_key(&node.name)
            || node
                .renamed_from
                .as_ref()
                .is_some_and(|old| recorded.contains_key(old));
        if known || !taken.insert(key(used)) {
            continue;
        }
        records.insert(node.name.clone(), used.clone());
    }
    records
}

/// `charset = "auto"`: latin1 when the server runs on Windows (WSO2's advice there), else the server default.
pub fn resolve_charset(choice: &CharsetChoice, facts: &ServerFacts) -> String {
    match choice {
        CharsetChoice::Named(name) => name.clone(),
        CharsetChoice::Auto if facts.runs_on_windows() => "latin1".to_string(),
        CharsetChoice::Auto => facts.default_charset.clone(),
    }
}

/// The account's authentication plugin: on MySQL 8+, a node whose driver is Connector/J 5.1 (or unknown)
/// needs `mysql_native_password`, because 5.1 cannot speak MySQL 8's default `caching_sha2_password`.
pub fn account_auth_plugin(
    choice: &AuthPluginChoice,
    facts: &ServerFacts,
    nodes: &[DesiredNode],
) -> (Option<String>, Option<String>) {
    match choice {
        AuthPluginChoice::MysqlNativePassword | AuthPluginChoice::CachingSha2Password => (
            choice.plugin().map(str::to_string),
            Some("set by user.auth_plugin in the spec".into()),
        ),
        AuthPluginChoice::Auto => {
            let old_driver = nodes.iter().find(|n| !n.driver.speaks_caching_sha2());
            match (facts.flavour, old_driver) {
                (Flavour::Mysql, Some(node)) if facts.version.major >= 8 => {
                    let why = match &node.driver.jar {
                        Some(jar) => format!(
                            "node {} uses {}, a Connector/J 5.x driver that cannot use MySQL 8's caching_sha2_password",
                            node.name,
                            jar.file_name().unwrap_or_default().to_string_lossy()
                        ),
                        None => format!(
                            "node {} has no MySQL driver jar yet; EI 6.x usually ships Connector/J 5.1, which cannot use caching_sha2_password",
                            node.name
                        ),
                    };
                    (Some("mysql_native_password".to_string()), Some(why))
                }
                _ => (None, None),
            }
        }
    }
}

/// The server half, given the account's password, what the server is, which script to run and the other
/// variant of the Carbon script beside it (when there is one).
pub fn server(
    spec: &Spec,
    password: &SecretString,
    facts: &ServerFacts,
    nodes: &[DesiredNode],
    local: &LocalRegistries,
    script: Arc<Dbscript>,
    other_variant: Option<Arc<Dbscript>>,
) -> DesiredServer {
    let (auth_plugin, auth_plugin_reason) =
        account_auth_plugin(&spec.account.auth_plugin, facts, nodes);
    DesiredServer {
        cluster: spec.cluster.clone(),
        databases: databases(spec, local),
        local_registries: spec
            .nodes
            .iter()
            .zip(&local.by_node)
            .filter_map(|(node, db)| Some((node.name.clone(), db.clone()?)))
            .collect(),
        orphans: local.orphans.clone(),
        left_for_h2: local.left_for_h2.clone(),
        renamed: local.renamed.clone(),
        partial_revokes: facts.partial_revokes,
        lower_case_table_names: facts.lower_case_table_names,
        skip_name_resolve: facts.skip_name_resolve,
        charset: resolve_charset(&spec.databases.charset, facts),
        account: DesiredAccount {
            name: spec.account.name.clone(),
            hosts: spec.account.hosts.clone(),
            password: password.clone(),
            privileges: match spec.account.privileges {
                PrivilegeSet::All => vec!["ALL PRIVILEGES".to_string()],
                PrivilegeSet::Wso2 => WSO2_PRIVILEGES.iter().map(|p| p.to_string()).collect(),
            },
            auth_plugin,
            auth_plugin_reason,
        },
        other_variant,
        script,
        adopt: spec.databases.adopt.clone(),
    }
}

/// Parameters that every JDBC URL of the cluster carries, derived once for all nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JdbcParams {
    /// `host:port` of every address in the URL (several for the failover and load-balancing forms).
    pub hosts: Vec<(String, u16)>,
    /// The query string as the spec gives it (`[jdbc] parameters`), instead of the derived one.
    pub parameters: Option<String>,
    pub style: JdbcUrlStyle,
    pub use_ssl: bool,
    pub require_ssl: Option<bool>,
    pub verify_server_certificate: Option<bool>,
    pub allow_public_key_retrieval: bool,
}

impl JdbcParams {
    /// `allowPublicKeyRetrieval=true` is needed with an 8.x driver, MySQL 8 and no TLS ("Public Key
    /// Retrieval is not allowed"). When the server is unknown (file-only runs), a MySQL server is assumed.
    pub fn derive(spec: &Spec, facts: Option<&ServerFacts>, drivers: &[Driver]) -> JdbcParams {
        let any_driver_8 = drivers.iter().any(Driver::speaks_caching_sha2);
        let server_mysql_8 =
            facts.is_none_or(|f| f.flavour == Flavour::Mysql && f.version.major >= 8);
        JdbcParams {
            hosts: spec.server.jdbc_hosts.clone(),
            parameters: spec.jdbc.parameters.clone(),
            style: spec.server.jdbc_url_style,
            use_ssl: spec.jdbc.use_ssl,
            require_ssl: spec.jdbc.require_ssl,
            verify_server_certificate: spec.jdbc.verify_server_certificate,
            allow_public_key_retrieval: spec
                .jdbc
                .allow_public_key_retrieval
                .unwrap_or(!spec.jdbc.use_ssl && any_driver_8 && server_mysql_8),
        }
    }

    /// `jdbc:mysql://host:port/DB?autoReconnect=true&useSSL=false[&allowPublicKeyRetrieval=true]`, or with
    /// several hosts `jdbc:mysql://h1:p1,h2:p2/DB?...` (failover) / `jdbc:mysql:loadbalance://...`.
    pub fn url(&self, database: &str) -> String {
        let parameters = match &self.parameters {
            Some(parameters) => parameters.clone(),
            None => {
                let mut query = String::from("autoReconnect=true");
                query.push_str(if self.use_ssl {
                    "&useSSL=true"
                } else {
                    "&useSSL=false"
                });
                if let Some(require) = self.require_ssl {
                    query.push_str(if require {
                        "&requireSSL=true"
                    } else {
                        "&requireSSL=false"
                    });
                }
                if let Some(verify) = self.verify_server_certificate {
                    query.push_str(if verify {
                        "&verifyServerCertificate=true"
                    } else {
                        "&verifyServerCertificate=false"
                    });
                }
                if self.allow_public_key_retrieval {
                    query.push_str("&allowPublicKeyRetrieval=true");
                }
                query
            }
        };
        JdbcUrl {
            style: Some(self.style),
            hosts: self.hosts.clone(),
            database: database.to_string(),
            parameters,
        }
        .render()
    }
}

/// The registry `cacheId`: `<db username>@<JDBC URL of the shared registry>`, character for character.
pub fn cache_id(username: &str, shared_registry_url: &str) -> String {
    format!("{username}@{shared_registry_url}")
}

/// WSO2's shipped pool settings for RDBMS datasources.
fn wso2_pool() -> node_files::Pool {
    node_files::Pool {
        max_active: 50,
        max_wait: 60000,
        test_on_borrow: true,
        validation_query: "SELECT 1".to_string(),
        validation_interval: 30000,
    }
}

/// Every node's files, given the account's password and the driver found on each node (in spec order).
pub fn nodes(
    spec: &Spec,
    password: &SecretString,
    facts: Option<&ServerFacts>,
    drivers: &[Driver],
    local: &LocalRegistries,
) -> Vec<DesiredNode> {
    let jdbc = JdbcParams::derive(spec, facts, drivers);
    let username = &spec.account.name;
    let shared_url = jdbc.url(&spec.databases.shared_registry);
    let vault = spec.jdbc.secure_vault;
    let datasource = |name: &str, description: &str, jndi: &str, url: String, driver: &Driver| {
        node_files::Datasource {
            name: name.to_string(),
            description: description.to_string(),
            jndi_name: jndi.to_string(),
            url,
            username: username.clone(),
            // With the vault, the element holds WSO2's placeholder and the alias names the real value.
            password: if vault {
                SecretString::from(VAULT_PLACEHOLDER.to_string())
            } else {
                password.clone()
            },
            secret_alias: vault.then(|| vault_alias(name)),
            driver_class: driver.class().to_string(),
            pool: wso2_pool(),
        }
    };
    let layout = &spec.registry;
    let names = &spec.datasources;
    let registry = node_files::Registry {
        db_config: node_files::DbConfig {
            name: layout.db_config.clone(),
            data_source: names.shared_registry.jndi.clone(),
        },
        remote_instance: node_files::RemoteInstance {
            url: layout.remote_instance_url.clone(),
            id: layout.instance_id.clone(),
            db_config: layout.db_config.clone(),
            read_only: false,
            enable_cache: true,
            registry_root: "/".to_string(),
            cache_id: cache_id(username, &shared_url),
        },
        mounts: vec![
            node_files::Mount {
                path: "/_system/config".to_string(),
                overwrite: layout.mount_overwrite.as_str().to_string(),
                instance_id: layout.instance_id.clone(),
                target_path: layout.config_mount_target.clone(),
            },
            node_files::Mount {
                path: "/_system/governance".to_string(),
                overwrite: layout.mount_overwrite.as_str().to_string(),
                instance_id: layout.instance_id.clone(),
                target_path: layout.governance_mount_target.clone(),
            },
        ],
    };
    spec.nodes
        .iter()
        .zip(drivers)
        .zip(&local.by_node)
        .map(|((node, driver), local_registry)| {
            let local_registry = local_registry.clone();
            let mut datasources = Vec::with_capacity(3);
            if let Some(local) = &local_registry {
                datasources.push(datasource(
                    &names.local_registry.name,
                    "The datasource used for the local registry of this node",
                    &names.local_registry.jndi,
                    jdbc.url(local),
                    driver,
                ));
            }
            datasources.push(datasource(
                &names.shared_registry.name,
                "The datasource used for the shared registry (config and governance)",
                &names.shared_registry.jndi,
                shared_url.clone(),
                driver,
            ));
            datasources.push(datasource(
                &names.user_store.name,
                "The datasource used for the user manager",
                &names.user_store.jndi,
                jdbc.url(&spec.databases.user_store),
                driver,
            ));
            DesiredNode {
                name: node.name.clone(),
                ei_home: node.ei_home.clone(),
                local_registry,
                local_registry_jndi: names.local_registry.jndi.clone(),
                driver: driver.clone(),
                user_store_jndi: names.user_store.jndi.clone(),
                registry: registry.clone(),
                clustering: crate::node_clustering::for_node(spec, node),
                vault_entries: if vault {
                    datasources
                        .iter()
                        .map(|d| (vault_alias(&d.name), password.clone()))
                        .collect()
                } else {
                    Vec::new()
                },
                datasources,
            }
        })
        .collect()
}

/// Major version from a Connector/J jar name, `None` for anything else.
pub fn connector_j_major(file_name: &str) -> Option<u32> {
    let rest = file_name
        .strip_prefix("mysql-connector-java-")
        .or_else(|| file_name.strip_prefix("mysql-connector-j-"))?;
    let version = rest.strip_suffix(".jar")?;
    version.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Version;
    use std::path::Path;

    /// The local registries of a cluster the ledger knows nothing of yet: spec order.
    /// The account's password, as `secret::Secrets::read` would have read it.
    fn password() -> SecretString {
        SecretString::from("pw-for-desired-tests".to_string())
    }

    fn fresh(spec: &Spec) -> LocalRegistries {
        assign_local_registries(spec, &BTreeMap::new()).unwrap()
    }

    fn recorded(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(n, d)| (n.to_string(), d.to_string()))
            .collect()
    }

    fn with_nodes(nodes: &str) -> Spec {
        Spec::parse(
            &format!(
                "[server]\nurl = \"mysql://root@db:3306\"\n[user]\nname = \"regadmin\"\npassword_env = \"UNREAD\"\n\
                 [dbscripts]\nfile = \"x.sql\"\n{nodes}"
            ),
            Path::new("/t/c.toml"),
        )
        .unwrap()
    }

    fn node(name: &str, extra: &str) -> String {
        format!("[[nodes]]\nname = \"{name}\"\nei_home = \"/{name}\"\n{extra}\n")
    }

    fn assigned(spec: &Spec, ledger: &[(&str, &str)]) -> Vec<String> {
        assign_local_registries(spec, &recorded(ledger))
            .unwrap()
            .by_node
            .into_iter()
            .map(|d| d.unwrap())
            .collect()
    }

    #[test]
    fn a_node_keeps_its_database_when_nodes_are_reordered_removed_or_renamed() {
        let ledger = [
            ("node1", "REGISTRY_LOCAL1"),
            ("node2", "REGISTRY_LOCAL2"),
            ("node3", "REGISTRY_LOCAL3"),
        ];
        let first_removed = with_nodes(&(node("node2", "") + &node("node3", "")));
        assert_eq!(
            assigned(&first_removed, &ledger),
            ["REGISTRY_LOCAL2", "REGISTRY_LOCAL3"]
        );
        let orphans = assign_local_registries(&first_removed, &recorded(&ledger))
            .unwrap()
            .orphans;
        assert_eq!(
            orphans,
            [("node1".to_string(), "REGISTRY_LOCAL1".to_string())]
        );

        // A node's own run refuses only the chosen nodes whose database nothing says.
        let spec = with_nodes(
            &(node("node1", "")
                + &node("node2", "")
                + &node("edge3", "renamed_from = \"node3\"")
                + &node("node4", "local_registry_store = \"h2\"")
                + &node("node5", "local_registry = \"OWN5\"")
                + &node("node6", "")
                + &node("node7", "")),
        );
        let in_files = [
            None,
            None,
            None,
            None,
            None,
            Some("REGISTRY_LOCAL6".to_string()),
            None,
        ];
        let records = recorded(&[("node2", "REGISTRY_LOCAL2"), ("node3", "REGISTRY_LOCAL3")]);
        assert_eq!(
            nodes_without_known_database(&spec, &[true; 7], &records, &in_files),
            ["node1", "node7"]
        );
        let mut chosen = [false; 7];
        chosen[1] = true;
        assert!(nodes_without_known_database(&spec, &chosen, &records, &in_files).is_empty());
        chosen[6] = true;
        assert_eq!(
            nodes_without_known_database(&spec, &chosen, &BTreeMap::new(), &in_files),
            ["node2", "node7"]
        );

        // A node the spec now keeps on H2: its recorded database stays, as an orphan's does.
        let node1_on_h2 = with_nodes(
            &(node("node1", "local_registry_store = \"h2\"")
                + &node("node2", "")
                + &node("node3", "")),
        );
        let local = assign_local_registries(&node1_on_h2, &recorded(&ledger)).unwrap();
        assert_eq!(local.by_node[0], None);
        assert_eq!(
            local.left_for_h2,
            [("node1".to_string(), "REGISTRY_LOCAL1".to_string())]
        );
        assert!(local.orphans.is_empty());

        let reordered = with_nodes(&(node("node3", "") + &node("node1", "") + &node("node2", "")));
        assert_eq!(
            assigned(&reordered, &ledger),
            ["REGISTRY_LOCAL3", "REGISTRY_LOCAL1", "REGISTRY_LOCAL2"]
        );

        // A new node takes the first number no node of the cluster holds, a removed one's included.
        let added = with_nodes(&(node("node2", "") + &node("node4", "")));
        assert_eq!(
            assigned(&added, &ledger),
            ["REGISTRY_LOCAL2", "REGISTRY_LOCAL4"]
        );

        let renamed = with_nodes(&(node("node2", "") + &node("edge1", "renamed_from = \"node1\"")));
        let local = assign_local_registries(&renamed, &recorded(&ledger)).unwrap();
        assert_eq!(local.by_node[1].as_deref(), Some("REGISTRY_LOCAL1"));
        assert_eq!(local.renamed, [("node1".to_string(), "edge1".to_string())]);
        assert_eq!(
            local.orphans,
            [("node3".to_string(), "REGISTRY_LOCAL3".to_string())]
        );

        let explicit = with_nodes(&node("node9", "local_registry = \"OLD_LOCAL_DB\""));
        assert_eq!(assigned(&explicit, &[]), ["OLD_LOCAL_DB"]);
    }

    /// Without ledger records (--files-only, a cluster older than its records) the files say which
    /// database each node uses: a node inserted between two keeps neither's, and a database two nodes'
    /// files name goes to the first only (the second is repointed, a destructive change).
    #[test]
    fn without_records_the_files_say_which_database_each_node_uses() {
        let inserted = with_nodes(&(node("node1", "") + &node("node3", "") + &node("node2", "")));
        let files = [
            Some("REGISTRY_LOCAL1".to_string()),
            None,
            Some("REGISTRY_LOCAL2".to_string()),
        ];
        let records = records_with_files(&inserted, &BTreeMap::new(), &files);
        assert_eq!(
            assign_local_registries(&inserted, &records)
                .unwrap()
                .by_node
                .into_iter()
                .map(Option::unwrap)
                .collect::<Vec<_>>(),
            ["REGISTRY_LOCAL1", "REGISTRY_LOCAL3", "REGISTRY_LOCAL2"]
        );
        // The ledger wins over the files; a database it gives another node is not taken from them.
        let ledger = recorded(&[("node1", "REGISTRY_LOCAL1"), ("node2", "REGISTRY_LOCAL2")]);
        let odd = [
            Some("REGISTRY_LOCAL9".to_string()),
            Some("REGISTRY_LOCAL2".to_string()),
            None,
        ];
        let records = records_with_files(&inserted, &ledger, &odd);
        assert_eq!(records.get("node1").unwrap(), "REGISTRY_LOCAL1");
        assert_eq!(records.get("node3"), None);
        // Two nodes' files on one database: the first keeps it.
        let shared = [
            Some("REGISTRY_LOCAL1".to_string()),
            Some("REGISTRY_LOCAL1".to_string()),
            None,
        ];
        let records = records_with_files(&inserted, &BTreeMap::new(), &shared);
        assert_eq!(records.get("node1").unwrap(), "REGISTRY_LOCAL1");
        assert_eq!(records.get("node3"), None);
        // A node the spec gives another node's files' database: refused, naming it.
        let taken = with_nodes(
            &(node("node1", "")
                + &node("node3", "local_registry = \"REGISTRY_LOCAL2\"")
                + &node("node2", "")),
        );
        let records = records_with_files(&taken, &BTreeMap::new(), &files);
        let e = assign_local_registries(&taken, &records).unwrap_err();
        assert!(
            e.message.contains("node3 and node2") && e.message.contains("REGISTRY_LOCAL2"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_derived_local_registry_longer_than_64_characters_is_bad_input() {
        let prefix = "P".repeat(63);
        let spec = with_nodes(&format!(
            "[databases]\nlocal_registry_prefix = \"{prefix}\"\n{}",
            node("node3", "")
        ));
        let records: Vec<(String, String)> = (1..=9)
            .map(|i| (format!("old{i}"), format!("{prefix}{i}")))
            .collect();
        let records: Vec<(&str, &str)> = records
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_str()))
            .collect();
        let e = assign_local_registries(&spec, &recorded(&records)).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_BAD_INPUT);
        assert!(
            e.message.contains("databases.local_registry_prefix"),
            "{}",
            e.message
        );
    }

    #[test]
    fn two_nodes_on_one_local_registry_are_bad_input() {
        let clash = with_nodes(
            &(node("node1", "") + &node("node2", "local_registry = \"REGISTRY_LOCAL1\"")),
        );
        // Without records node1 simply gets the next free name; with node1's record they clash.
        assert_eq!(
            assigned(&clash, &[]),
            ["REGISTRY_LOCAL2", "REGISTRY_LOCAL1"]
        );
        let e = assign_local_registries(&clash, &recorded(&[("node1", "REGISTRY_LOCAL1")]))
            .unwrap_err();
        assert!(e.message.contains("node1 and node2"), "{}", e.message);
        assert_eq!(e.exit_code(), crate::error::EXIT_BAD_INPUT);
    }

    fn spec(extra: &str) -> Spec {
        let text = format!(
            r#"
[server]
url = "mysql://root@db.internal:3306"
jdbc_host = "carbondb.mysql-wso2.com"
[user]
name = "regadmin"
password_env = "UNREAD"
[dbscripts]
file = "x.sql"
{extra}
[[nodes]]
name = "a"
ei_home = "/a"
[[nodes]]
name = "b"
ei_home = "/b"
"#
        );
        Spec::parse(&text, Path::new("/t/cluster.toml")).unwrap()
    }

    fn facts(flavour: Flavour, major: u32, os: &str) -> ServerFacts {
        ServerFacts::for_tests(
            flavour,
            Version {
                major,
                minor: 0,
                patch: 0,
            },
            os,
            "utf8mb4",
        )
    }

    fn driver(major: Option<u32>) -> Driver {
        Driver {
            jar: major.map(|m| PathBuf::from(format!("mysql-connector-j-{m}.0.0.jar"))),
            major,
        }
    }

    #[test]
    fn every_node_gets_its_own_local_registry_and_the_same_shared_values() {
        let spec = spec("");
        let nodes = nodes(
            &spec,
            &password(),
            None,
            &[driver(Some(5)), driver(Some(5))],
            &fresh(&spec),
        );
        assert_eq!(nodes[0].local_registry.as_deref(), Some("REGISTRY_LOCAL1"));
        assert_eq!(nodes[1].local_registry.as_deref(), Some("REGISTRY_LOCAL2"));
        assert_eq!(
            nodes[0].datasources[0].url,
            "jdbc:mysql://carbondb.mysql-wso2.com:3306/REGISTRY_LOCAL1?autoReconnect=true&useSSL=false"
        );
        assert_eq!(
            nodes[0].registry.remote_instance.cache_id,
            nodes[1].registry.remote_instance.cache_id
        );
        assert_eq!(
            nodes[0].registry.remote_instance.cache_id,
            format!("regadmin@{}", nodes[0].datasources[1].url)
        );
        assert_eq!(nodes[0].datasources[1].jndi_name, SHARED_REGISTRY_JNDI);
        assert_eq!(nodes[0].datasources[2].url, nodes[1].datasources[2].url);
        assert_eq!(nodes[0].datasources[0].driver_class, DRIVER_CLASS_5);
    }

    #[test]
    fn h2_local_registries_drop_the_local_datasource_and_databases() {
        let spec = spec("[databases]\nlocal_registry = \"h2\"\n");
        let nodes = nodes(
            &spec,
            &password(),
            None,
            &[driver(None), driver(None)],
            &fresh(&spec),
        );
        assert!(nodes
            .iter()
            .all(|n| n.local_registry.is_none() && n.datasources.len() == 2));
        let names: Vec<_> = databases(&spec, &fresh(&spec))
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, ["WSO2_USER_DB", "REGISTRY_DB"]);
    }

    /// Issue 28 point 2: one node on its embedded H2 beside nodes on MySQL; a node-level
    /// `local_registry = "h2"` is refused rather than taken as a database name.
    #[test]
    fn one_node_on_h2_keeps_it_and_gets_no_local_database() {
        let spec = with_nodes(
            &(node("node1", "")
                + &node("node2", "local_registry_store = \"h2\"")
                + &node("node3", "")),
        );
        let local = fresh(&spec);
        assert_eq!(
            local.by_node,
            [
                Some("REGISTRY_LOCAL1".to_string()),
                None,
                Some("REGISTRY_LOCAL2".to_string())
            ]
        );
        let desired = nodes(
            &spec,
            &password(),
            None,
            &[driver(None), driver(None), driver(None)],
            &local,
        );
        assert_eq!(
            desired[1].datasources.len(),
            2,
            "no WSO2_CARBON_DB for node2"
        );
        assert!(databases(&spec, &local)
            .iter()
            .all(|d| d.role != DatabaseRole::LocalRegistry("node2".into())));
        for bad in [
            node("node1", "local_registry = \"h2\""),
            node("node1", "local_registry = \"H2\""),
            node(
                "node1",
                "local_registry = \"X\"\nlocal_registry_store = \"h2\"",
            ),
        ] {
            let text = format!(
                "[server]\nurl = \"mysql://root@db:3306\"\n[user]\nname = \"r\"\npassword_env = \"U\"\n\
                 [dbscripts]\nfile = \"x.sql\"\n{bad}"
            );
            let e = Spec::parse(&text, Path::new("/t/c.toml")).unwrap_err();
            assert!(e.message.contains("nodes.local_registry"), "{}", e.message);
        }
    }

    #[test]
    fn datasource_names_come_from_the_spec() {
        let spec = spec(
            "[datasources]\nshared_registry_name = \"WSO2_SHARED_REG\"\nshared_registry_jndi = \"jdbc/WSO2SharedDB\"\n",
        );
        let desired = nodes(
            &spec,
            &password(),
            None,
            &[driver(None), driver(None)],
            &fresh(&spec),
        );
        let shared = &desired[0].datasources[1];
        assert_eq!(
            (shared.name.as_str(), shared.jndi_name.as_str()),
            ("WSO2_SHARED_REG", "jdbc/WSO2SharedDB")
        );
        assert_eq!(
            desired[0].registry.db_config.data_source,
            "jdbc/WSO2SharedDB"
        );
        assert_eq!(desired[0].datasources[0].name, LOCAL_REGISTRY_DATASOURCE);
        assert_eq!(desired[0].user_store_jndi, USER_STORE_JNDI);
    }

    #[test]
    fn public_key_retrieval_only_with_driver_8_mysql_8_and_no_tls() {
        let spec_plain = spec("");
        let mysql8 = facts(Flavour::Mysql, 8, "Linux");
        let maria = facts(Flavour::Mariadb, 10, "Linux");
        let with = |f: &ServerFacts, d: Option<u32>| {
            JdbcParams::derive(&spec_plain, Some(f), &[driver(d)]).allow_public_key_retrieval
        };
        assert!(with(&mysql8, Some(8)));
        assert!(!with(&mysql8, Some(5)));
        assert!(!with(&maria, Some(8)));
        let tls = spec("[jdbc]\nuse_ssl = true\n");
        let params = JdbcParams::derive(&tls, Some(&mysql8), &[driver(Some(8))]);
        assert!(!params.allow_public_key_retrieval);
        assert!(params.url("X").ends_with("&useSSL=true"));
    }

    #[test]
    fn multi_host_urls_and_tls_parameters() {
        let failover = spec("").server;
        assert_eq!(failover.jdbc_hosts.len(), 1);
        let lb = super::Spec::parse(
            r#"
[server]
urls = ["mysql://root@db1:3306", "mysql://root@db2:3306"]
jdbc_hosts = ["db1:3306", "db2:3307"]
jdbc_url_style = "loadbalance"
[user]
name = "regadmin"
password_env = "UNREAD"
[dbscripts]
file = "x.sql"
[jdbc]
use_ssl = true
require_ssl = true
verify_server_certificate = false
[[nodes]]
name = "a"
ei_home = "/a"
"#,
            Path::new("/t/c.toml"),
        )
        .unwrap();
        let params = JdbcParams::derive(&lb, None, &[driver(Some(8))]);
        assert_eq!(
            params.url("REGISTRY_DB"),
            "jdbc:mysql:loadbalance://db1:3306,db2:3307/REGISTRY_DB?autoReconnect=true&useSSL=true&requireSSL=true&verifyServerCertificate=false"
        );
        let nodes = nodes(&lb, &password(), None, &[driver(Some(8))], &fresh(&lb));
        assert_eq!(
            nodes[0].registry.remote_instance.cache_id,
            format!("regadmin@{}", params.url("REGISTRY_DB"))
        );
    }

    #[test]
    fn charset_auto_is_latin1_on_windows_only() {
        assert_eq!(
            resolve_charset(&CharsetChoice::Auto, &facts(Flavour::Mysql, 8, "Win64")),
            "latin1"
        );
        assert_eq!(
            resolve_charset(&CharsetChoice::Auto, &facts(Flavour::Mysql, 8, "Linux")),
            "utf8mb4"
        );
        assert_eq!(
            resolve_charset(
                &CharsetChoice::Named("utf8mb4".into()),
                &facts(Flavour::Mysql, 8, "Win64")
            ),
            "utf8mb4"
        );
    }

    #[test]
    fn native_password_for_old_drivers_on_mysql_8_only() {
        let spec = spec("");
        let old = nodes(
            &spec,
            &password(),
            None,
            &[driver(Some(8)), driver(Some(5))],
            &fresh(&spec),
        );
        let (plugin, why) = account_auth_plugin(
            &spec.account.auth_plugin,
            &facts(Flavour::Mysql, 8, "Linux"),
            &old,
        );
        assert_eq!(plugin.as_deref(), Some("mysql_native_password"));
        assert!(why.unwrap().contains("node b"));
        let (plugin, _) = account_auth_plugin(
            &spec.account.auth_plugin,
            &facts(Flavour::Mariadb, 10, "Linux"),
            &old,
        );
        assert_eq!(plugin, None);
        let new = nodes(
            &spec,
            &password(),
            None,
            &[driver(Some(8)), driver(Some(9))],
            &fresh(&spec),
        );
        let (plugin, _) = account_auth_plugin(
            &spec.account.auth_plugin,
            &facts(Flavour::Mysql, 8, "Linux"),
            &new,
        );
        assert_eq!(plugin, None);
    }

    #[test]
    fn connector_jar_names() {
        assert_eq!(
            connector_j_major("mysql-connector-java-5.1.49.jar"),
            Some(5)
        );
        assert_eq!(connector_j_major("mysql-connector-j-8.0.33.jar"), Some(8));
        assert_eq!(
            connector_j_major("mysql-connector-java-8.0.28.jar"),
            Some(8)
        );
        assert_eq!(connector_j_major("mariadb-java-client-3.1.jar"), None);
        assert_eq!(
            connector_j_major("mysql-connector-java-5.1.49-bin.txt"),
            None
        );
    }
}
