//! Findings: the plan seen as drift, plus the checks that only make sense when looking (a file's inner
//! consistency, nodes against each other). Pure: it works on what was read, so it serves both
//! `verify --config` (against the spec) and `verify --ei-home ...` (any WSO2 EI cluster, no spec).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::conf::{self, ActualDatasource, ActualRegistry, ActualUserMgt};
use crate::desired::{self, DesiredNode, Driver};
use crate::error::{Error, Result};
use crate::nodefiles::{ConfFile, TextFile};
use crate::plan::{Change, Conflict};

/// One thing that is not as it should be. Field names are part of the JSON output and stable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `node NAME`, `database NAME`, `account 'NAME'@'HOST'` or `cluster`.
    pub subject: String,
    /// A stable code for the kind of finding, e.g. `datasource_url`, `cache_id`, `missing_table`.
    pub check: String,
    pub expected: Option<String>,
    pub found: Option<String>,
    /// What to do about it.
    pub fix: String,
}

impl Finding {
    fn new(
        subject: &str,
        check: &str,
        expected: Option<String>,
        found: Option<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            subject: subject.to_string(),
            check: check.to_string(),
            expected,
            found,
            fix: fix.into(),
        }
    }
}

/// What a node's files say, read once.
#[derive(Debug, Clone)]
pub struct NodeState {
    pub name: String,
    pub ei_home: PathBuf,
    pub datasources: Vec<ActualDatasource>,
    pub user_mgt: ActualUserMgt,
    pub registry: ActualRegistry,
    pub driver: Driver,
    /// The files that hold a password in plain text, with their modes.
    pub secret_files: Vec<crate::nodefiles::SecretFile>,
}

impl NodeState {
    pub fn read(name: &str, ei_home: &Path) -> Result<NodeState> {
        if !ei_home.join("conf").is_dir() {
            return Err(Error::input(format!(
                "node {name}: {} has no conf/ folder",
                ei_home.display()
            ))
            .with_hint("point at the EI installation folder, the one holding conf/ and lib/"));
        }
        let read = |file: ConfFile| -> Result<(PathBuf, String)> {
            let path = ei_home.join(file.relative_path());
            Ok((
                path.clone(),
                TextFile::read(&path)
                    .map_err(|e| e.context(format!("node {name}")))?
                    .text,
            ))
        };
        let parse_error = |path: &Path, e: conf::ConfError| {
            Error::input(format!(
                "node {name}: {}:{}:{}: {}",
                path.display(),
                e.line,
                e.column,
                e.message
            ))
        };
        let (path, text) = read(ConfFile::Datasources)?;
        let datasources =
            conf::read_master_datasources(&text).map_err(|e| parse_error(&path, e))?;
        let (path, text) = read(ConfFile::UserMgt)?;
        let user_mgt = conf::read_user_mgt(&text).map_err(|e| parse_error(&path, e))?;
        let (path, text) = read(ConfFile::Registry)?;
        let registry = conf::read_registry(&text).map_err(|e| parse_error(&path, e))?;
        Ok(NodeState {
            name: name.to_string(),
            ei_home: ei_home.to_path_buf(),
            datasources,
            user_mgt,
            registry,
            driver: desired::find_driver(ei_home),
            secret_files: crate::nodefiles::secret_files(ei_home),
        })
    }

    fn datasource_by_jndi(&self, jndi: &str) -> Option<&ActualDatasource> {
        self.datasources
            .iter()
            .find(|d| d.jndi_name.as_deref() == Some(jndi))
    }

    /// The datasource the registry's `currentDBConfig` uses: the local registry.
    pub fn local_registry(&self) -> Option<&ActualDatasource> {
        let current = self.registry.current_db_config.as_deref()?;
        let db_config = self
            .registry
            .db_configs
            .iter()
            .find(|c| c.name.as_deref() == Some(current))?;
        self.datasource_by_jndi(db_config.data_source.as_deref()?)
    }

    /// The datasource behind the first mounted remote instance: the shared registry.
    pub fn shared_registry(&self) -> Option<&ActualDatasource> {
        let instance = self.mounted_instance()?;
        let db_config = self
            .registry
            .db_configs
            .iter()
            .find(|c| c.name == instance.db_config)?;
        self.datasource_by_jndi(db_config.data_source.as_deref()?)
    }

    fn mounted_instance(&self) -> Option<&conf::ActualRemoteInstance> {
        let mount = self.registry.mounts.first()?;
        self.registry
            .remote_instances
            .iter()
            .find(|r| r.id == mount.instance_id)
    }

    pub fn user_store(&self) -> Option<&ActualDatasource> {
        self.datasource_by_jndi(self.user_mgt.data_source.as_deref()?)
    }
}

fn subject(node: &NodeState) -> String {
    format!("node {}", node.name)
}

const FIX_PROVISION: &str =
    "run `eidb provision --config SPEC` (add --files-only for the node files alone)";
/// The fix of drift whose repair takes something away: shown, and applied only when allowed.
const FIX_DESTRUCTIVE: &str =
    "review it, then run `eidb provision --config SPEC --allow-destructive` (a destructive change)";

/// Checks of one node's files against themselves (no spec needed).
pub fn node_consistency(node: &NodeState) -> Vec<Finding> {
    let s = subject(node);
    let mut findings = Vec::new();
    let jndi_names: Vec<&str> = node
        .datasources
        .iter()
        .filter_map(|d| d.jndi_name.as_deref())
        .collect();
    for db_config in &node.registry.db_configs {
        let source = db_config.data_source.as_deref().unwrap_or("");
        if !jndi_names.contains(&source) {
            findings.push(Finding::new(
                &s,
                "db_config_datasource",
                Some(format!("dbConfig {} on a datasource of master-datasources.xml", db_config.name.as_deref().unwrap_or("?"))),
                Some(format!("dataSource `{source}`, which no datasource has as its JNDI name")),
                "add the datasource to conf/datasources/master-datasources.xml or fix the dbConfig's dataSource",
            ));
        }
    }
    for instance in &node.registry.remote_instances {
        if !node
            .registry
            .db_configs
            .iter()
            .any(|c| c.name == instance.db_config)
        {
            findings.push(Finding::new(
                &s,
                "remote_instance_db_config",
                Some("a remoteInstance naming an existing dbConfig".into()),
                Some(format!(
                    "remoteInstance {} names dbConfig `{}`",
                    instance.id.as_deref().unwrap_or("?"),
                    instance.db_config.as_deref().unwrap_or("")
                )),
                "fix the remoteInstance's dbConfig in conf/registry.xml",
            ));
        }
    }
    for mount in &node.registry.mounts {
        if !node
            .registry
            .remote_instances
            .iter()
            .any(|r| r.id == mount.instance_id)
        {
            findings.push(Finding::new(
                &s,
                "mount_instance",
                Some("a mount whose instanceId is a remoteInstance id".into()),
                Some(format!(
                    "mount {} uses instanceId `{}`",
                    mount.path.as_deref().unwrap_or("?"),
                    mount.instance_id.as_deref().unwrap_or("")
                )),
                "fix the mount's instanceId in conf/registry.xml",
            ));
        }
    }
    // Carbon mounts each <mount> in turn; two for one path leave it to file order which one wins, and
    // eidb (which owns the mounts) cannot tell which one is meant.
    let mut paths: Vec<&str> = node
        .registry
        .mounts
        .iter()
        .filter_map(|m| m.path.as_deref())
        .collect();
    paths.sort_unstable();
    for pair in paths.windows(2).filter(|pair| pair[0] == pair[1]) {
        findings.push(Finding::new(
            &s,
            "mount_duplicate",
            Some(format!(
                "one <mount path=\"{}\"> in conf/registry.xml",
                pair[0]
            )),
            Some(format!("more than one <mount path=\"{}\">", pair[0])),
            "keep the one you mean and remove the others from conf/registry.xml",
        ));
    }
    if let (Some(instance), Some(shared)) = (node.mounted_instance(), node.shared_registry()) {
        let expected = desired::cache_id(
            shared.username.as_deref().unwrap_or(""),
            shared.url.as_deref().unwrap_or(""),
        );
        if instance.cache_id.as_deref() != Some(expected.as_str()) {
            findings.push(Finding::new(&s, "cache_id", Some(expected), instance.cache_id.clone(), "set cacheId to <username>@<JDBC URL of the shared registry>, character for character; ".to_string() + FIX_PROVISION));
        }
    }
    if let Some(source) = &node.user_mgt.data_source {
        if !jndi_names.contains(&source.as_str()) {
            findings.push(Finding::new(
                &s,
                "user_store_datasource",
                Some("user-mgt.xml's dataSource is a datasource's JNDI name".into()),
                Some(format!("`{source}`")),
                "fix <Property name=\"dataSource\"> in conf/user-mgt.xml",
            ));
        }
    }
    let uses_mysql = node.datasources.iter().any(|d| {
        d.url
            .as_deref()
            .is_some_and(|u| u.starts_with("jdbc:mysql"))
    });
    if uses_mysql && node.driver.jar.is_none() {
        findings.push(Finding::new(
            &s,
            "jdbc_driver",
            Some(format!(
                "a MySQL Connector/J jar in {}",
                node.ei_home.join("lib").display()
            )),
            Some("none".into()),
            "copy mysql-connector-java-<version>.jar (Connector/J) into <ei_home>/lib",
        ));
    }
    findings
}

/// Files that hold a password in plain text and that every local user can read. `with_spec`: the fix
/// names eidb's provision and the spec's Secure Vault switch.
pub fn secrets_at_rest(node: &NodeState, with_spec: bool) -> Vec<Finding> {
    node.secret_files
        .iter()
        .filter(|f| f.readable_by_others())
        .map(|f| {
            let path = f.path.display();
            let fix = if with_spec {
                format!(
                    "take the others' permissions away (chmod o-rwx {path}; `eidb provision --config SPEC \
                     --files-only` does it, keeping owner and group), or set `[secure_vault] enabled = true` \
                     so that the datasources hold no password"
                )
            } else {
                format!(
                    "take the others' permissions away (chmod o-rwx {path}; owner and group keep reading it), \
                     or encrypt the passwords with WSO2 Secure Vault (the cipher tool)"
                )
            };
            Finding::new(
                &subject(node),
                "password_readable",
                Some(format!(
                    "{path} not readable by other users: it holds a password in plain text ({})",
                    f.holders.join(", ")
                )),
                Some(format!("mode {:04o}: every local user can read it", f.mode)),
                fix,
            )
        })
        .collect()
}

/// The values every node must share. With a spec they come from it; without one, the value most nodes
/// have is taken as the intended one.
#[derive(Debug, Clone, Default)]
pub struct SharedValues {
    pub shared_registry_url: Option<String>,
    pub cache_id: Option<String>,
    pub user_store_url: Option<String>,
}

impl SharedValues {
    pub fn of(desired: &DesiredNode) -> SharedValues {
        let url_of = |jndi: &str| {
            desired
                .datasources
                .iter()
                .find(|d| d.jndi_name == jndi)
                .map(|d| d.url.clone())
        };
        SharedValues {
            shared_registry_url: url_of(desired::SHARED_REGISTRY_JNDI),
            cache_id: Some(desired.registry.remote_instance.cache_id.clone()),
            user_store_url: url_of(desired::USER_STORE_JNDI),
        }
    }
}

/// Checks of the nodes against each other.
pub fn cross_node(nodes: &[NodeState], expected: &SharedValues) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut local_owner: BTreeMap<String, &str> = BTreeMap::new();
    for node in nodes {
        let Some(url) = node.local_registry().and_then(|d| d.url.as_deref()) else {
            continue;
        };
        if !url.starts_with("jdbc:mysql") {
            continue; // H2 local registries live inside each node.
        }
        let key = crate::plan::mysql_database(url).unwrap_or(url).to_string();
        if let Some(first) = local_owner.insert(key.clone(), &node.name) {
            findings.push(Finding::new(
                "cluster",
                "shared_local_registry",
                Some("each node's local registry on its own database".into()),
                Some(format!("nodes {first} and {} both use {key}", node.name)),
                "give every node its own local registry database (eidb derives REGISTRY_LOCAL<i> per node)",
            ));
        }
    }
    let shared = |f: fn(&NodeState) -> Option<String>,
                  expected: &Option<String>,
                  check: &str,
                  what: &str|
     -> Vec<Finding> {
        let values: Vec<(&str, String)> = nodes
            .iter()
            .map(|n| (n.name.as_str(), f(n).unwrap_or_else(|| "(none)".into())))
            .collect();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, value) in &values {
            *counts.entry(value.as_str()).or_default() += 1;
        }
        let majority = match expected {
            Some(value) => value.as_str(),
            None => match counts.iter().max_by_key(|(_, n)| **n) {
                Some((value, _)) => value,
                None => return Vec::new(),
            },
        };
        if counts.len() < 2 && expected.is_some() {
            // All nodes agree; whether they agree with the spec is the per-node check's to say.
            return Vec::new();
        }
        let reference = if expected.is_some() {
            "as the spec derives it"
        } else {
            "as most nodes have"
        };
        values
            .iter()
            .filter(|(_, value)| value != majority)
            .map(|(node, value)| {
                Finding::new(
                    "cluster",
                    check,
                    Some(format!(
                        "the same {what} on every node: {majority} ({reference})"
                    )),
                    Some(format!("{node} has {value}")),
                    format!("make every node use the same {what}; {FIX_PROVISION}"),
                )
            })
            .collect()
    };
    findings.extend(shared(
        |n| n.shared_registry().and_then(|d| d.url.clone()),
        &expected.shared_registry_url,
        "shared_registry_url",
        "shared registry URL",
    ));
    findings.extend(shared(
        |n| n.mounted_instance().and_then(|r| r.cache_id.clone()),
        &expected.cache_id,
        "shared_cache_id",
        "cacheId",
    ));
    findings.extend(shared(
        |n| n.user_store().and_then(|d| d.url.clone()),
        &expected.user_store_url,
        "user_store_url",
        "user store URL",
    ));
    findings
}

/// The node against its desired state: which owned values differ, said field by field.
pub fn node_against_spec(node: &NodeState, desired: &DesiredNode) -> Vec<Finding> {
    let s = subject(node);
    let mut findings = Vec::new();
    for want in &desired.datasources {
        let found = node
            .datasources
            .iter()
            .find(|d| d.name.as_deref() == Some(&want.name))
            .or_else(|| node.datasource_by_jndi(&want.jndi_name));
        let Some(found) = found else {
            findings.push(Finding::new(
                &s,
                "datasource_missing",
                Some(format!("datasource {} ({})", want.name, want.jndi_name)),
                None,
                FIX_PROVISION,
            ));
            continue;
        };
        let expected = ActualDatasource::from(want);
        let fields: [(&str, &Option<String>, &Option<String>); 4] = [
            ("datasource_url", &expected.url, &found.url),
            ("datasource_user", &expected.username, &found.username),
            ("datasource_jndi", &expected.jndi_name, &found.jndi_name),
            (
                "datasource_driver",
                &expected.driver_class,
                &found.driver_class,
            ),
        ];
        for (check, expected, found) in fields {
            if expected != found {
                findings.push(Finding::new(
                    &s,
                    check,
                    labelled(&want.name, expected),
                    labelled(&want.name, found),
                    FIX_PROVISION,
                ));
            }
        }
        if found.pool != expected.pool {
            findings.push(Finding::new(
                &s,
                "datasource_pool",
                Some(format!("{}: WSO2's pool settings", want.name)),
                Some(format!("{:?}", found.pool)),
                FIX_PROVISION,
            ));
        }
    }
    if node.user_mgt.data_source.as_deref() != Some(desired.user_store_jndi.as_str()) {
        findings.push(Finding::new(
            &s,
            "user_mgt_datasource",
            Some(desired.user_store_jndi.clone()),
            node.user_mgt.data_source.clone(),
            FIX_PROVISION,
        ));
    }
    let registry = &desired.registry;
    let db_config = node
        .registry
        .db_configs
        .iter()
        .find(|c| c.name.as_deref() == Some(&registry.db_config.name));
    if db_config.map(|c| c.data_source.as_deref())
        != Some(Some(registry.db_config.data_source.as_str()))
    {
        findings.push(Finding::new(
            &s,
            "registry_db_config",
            Some(format!(
                "dbConfig {} on {}",
                registry.db_config.name, registry.db_config.data_source
            )),
            db_config.map(|c| {
                format!(
                    "dataSource {}",
                    c.data_source.as_deref().unwrap_or("(none)")
                )
            }),
            FIX_PROVISION,
        ));
    }
    let want = &registry.remote_instance;
    match node
        .registry
        .remote_instances
        .iter()
        .find(|r| r.id.as_deref() == Some(&want.id))
    {
        None => findings.push(Finding::new(
            &s,
            "remote_instance_missing",
            Some(format!("remoteInstance {}", want.id)),
            None,
            FIX_PROVISION,
        )),
        Some(found) => {
            if found.cache_id.as_deref() != Some(want.cache_id.as_str()) {
                findings.push(Finding::new(
                    &s,
                    "cache_id",
                    Some(want.cache_id.clone()),
                    found.cache_id.clone(),
                    FIX_PROVISION,
                ));
            }
            if *found != conf::ActualRemoteInstance::from(want)
                && found.cache_id.as_deref() == Some(want.cache_id.as_str())
            {
                findings.push(Finding::new(
                    &s,
                    "remote_instance",
                    Some(format!("{:?}", conf::ActualRemoteInstance::from(want))),
                    Some(format!("{found:?}")),
                    FIX_PROVISION,
                ));
            }
        }
    }
    for mount in &registry.mounts {
        let found = node
            .registry
            .mounts
            .iter()
            .find(|m| m.path.as_deref() == Some(&mount.path));
        let expected = conf::ActualMount::from(mount);
        if found != Some(&expected) {
            findings.push(Finding::new(
                &s,
                "mount",
                Some(format!(
                    "{} -> {} on {} (overwrite {})",
                    mount.path, mount.target_path, mount.instance_id, mount.overwrite
                )),
                found.map(|m| {
                    format!(
                        "{} -> {} on {} (overwrite {})",
                        m.path.as_deref().unwrap_or("?"),
                        m.target_path.as_deref().unwrap_or("?"),
                        m.instance_id.as_deref().unwrap_or("?"),
                        m.overwrite.as_deref().unwrap_or("?")
                    )
                }),
                FIX_PROVISION,
            ));
        }
    }
    findings
}

fn labelled(name: &str, value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| format!("{name}: {v}"))
}

/// The server half of a plan, said as findings.
/// A grant that only re-grants the narrower set after ALL PRIVILEGES is revoked on the same database:
/// the finding is the extra grant, not a missing one.
fn replaces_all(changes: &[Change], database: &str, host: &str) -> bool {
    changes.iter().any(|c| {
        matches!(c, Change::Revoke { host: h, privileges, target, .. }
            if h == host && privileges.starts_with("ALL PRIVILEGES") && target.eq_ignore_ascii_case(&format!("{database}.*")))
    })
}

pub fn from_server_plan(changes: &[Change], conflicts: &[Conflict]) -> Vec<Finding> {
    let mut findings: Vec<Finding> = changes
        .iter()
        .filter_map(|change| {
            let subject = change.subject();
            let finding = match change {
                Change::CreateDatabase { database, charset } => Finding::new(
                    &subject,
                    "database_missing",
                    Some(format!("database {database} ({charset})")),
                    None,
                    FIX_PROVISION,
                ),
                Change::ApplyScript {
                    script, missing, ..
                } => Finding::new(
                    &subject,
                    "schema_missing",
                    Some(format!("every table, index and constraint of {script}")),
                    Some(format!("missing {}", missing.join(", "))),
                    FIX_PROVISION,
                ),
                Change::CreateAccount { account, .. } => Finding::new(
                    &subject,
                    "account_missing",
                    Some(account.clone()),
                    None,
                    FIX_PROVISION,
                ),
                Change::AlterAccount { reason, .. } => Finding::new(
                    &subject,
                    "account_login",
                    Some("the account logs in with the spec's password and plugin".into()),
                    Some(reason.clone()),
                    FIX_DESTRUCTIVE,
                ),
                Change::Grant { database, host, .. } if replaces_all(changes, database, host) => {
                    return None
                }
                Change::Grant {
                    database,
                    privileges,
                    ..
                } => Finding::new(
                    &subject,
                    "grant_missing",
                    Some(format!("{privileges} on {database}.*")),
                    None,
                    FIX_PROVISION,
                ),
                Change::Revoke {
                    privileges, target, ..
                } => Finding::new(
                    &subject,
                    "grant_extra",
                    Some("only the wanted privileges, on the provisioned databases only".into()),
                    Some(format!("{privileges} on {target}")),
                    FIX_DESTRUCTIVE,
                ),
                Change::DropAccount { reason, .. } => Finding::new(
                    &subject,
                    "account_row_leftover",
                    Some("only the account rows the spec names".into()),
                    Some(reason.clone()),
                    FIX_DESTRUCTIVE,
                ),
                Change::RepairMountRecord(repair) => Finding::new(
                    &subject,
                    "mount_record_stale",
                    Some(format!(
                        "the mount record {} in {} as registry.xml says: {}",
                        repair.record,
                        repair.database,
                        repair
                            .set
                            .iter()
                            .map(|f| format!("{} {}", f.name, f.wanted))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    Some(format!(
                        "{}; at the next start: {}",
                        repair
                            .set
                            .iter()
                            .map(|f| format!(
                                "{} {}",
                                f.name,
                                f.stored.as_deref().unwrap_or("(missing)")
                            ))
                            .collect::<Vec<_>>()
                            .join(", "),
                        repair.at_next_start
                    )),
                    format!(
                        "{FIX_DESTRUCTIVE}, then restart node {}; {}",
                        repair.node, repair.running
                    ),
                ),
                Change::EditFile { .. } | Change::RecordOwnership { .. } => return None,
            };
            Some(finding)
        })
        .collect();
    findings.extend(conflicts.iter().map(|c| {
        Finding::new(
            &c.subject,
            "conflict",
            Some(c.expected.clone()),
            Some(c.found.clone()),
            c.fix.clone(),
        )
    }));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::{ActualDbConfig, ActualMount, ActualPool, ActualRemoteInstance};

    fn datasource(jndi: &str, url: &str) -> ActualDatasource {
        ActualDatasource {
            name: Some(jndi.replace("jdbc/", "")),
            jndi_name: Some(jndi.into()),
            url: Some(url.into()),
            username: Some("regadmin".into()),
            has_password: true,
            secret_alias: None,
            driver_class: Some("com.mysql.jdbc.Driver".into()),
            pool: ActualPool {
                max_active: None,
                max_wait: None,
                test_on_borrow: None,
                validation_query: None,
                validation_interval: None,
            },
        }
    }

    fn node(name: &str, local: &str, cache_id: &str) -> NodeState {
        let shared = "jdbc:mysql://db:3306/REGISTRY_DB?autoReconnect=true&useSSL=false";
        NodeState {
            name: name.into(),
            ei_home: PathBuf::from("/nowhere"),
            datasources: vec![
                datasource(
                    "jdbc/WSO2CarbonDB",
                    &format!("jdbc:mysql://db:3306/{local}?autoReconnect=true"),
                ),
                datasource("jdbc/WSO2RegistryDB", shared),
                datasource("jdbc/WSO2UMDB", "jdbc:mysql://db:3306/WSO2_USER_DB"),
            ],
            user_mgt: ActualUserMgt {
                data_source: Some("jdbc/WSO2UMDB".into()),
            },
            registry: ActualRegistry {
                current_db_config: Some("wso2registry".into()),
                db_configs: vec![
                    ActualDbConfig {
                        name: Some("wso2registry".into()),
                        data_source: Some("jdbc/WSO2CarbonDB".into()),
                    },
                    ActualDbConfig {
                        name: Some("sharedregistry".into()),
                        data_source: Some("jdbc/WSO2RegistryDB".into()),
                    },
                ],
                remote_instances: vec![ActualRemoteInstance {
                    url: Some("https://localhost:9443/registry".into()),
                    id: Some("instanceid".into()),
                    db_config: Some("sharedregistry".into()),
                    read_only: Some("false".into()),
                    enable_cache: Some("true".into()),
                    registry_root: Some("/".into()),
                    cache_id: Some(cache_id.into()),
                }],
                mounts: vec![ActualMount {
                    path: Some("/_system/config".into()),
                    overwrite: Some("true".into()),
                    instance_id: Some("instanceid".into()),
                    target_path: Some("/_system/eiconfig".into()),
                }],
            },
            driver: Driver {
                jar: Some("x.jar".into()),
                major: Some(5),
            },
            secret_files: Vec::new(),
        }
    }

    const GOOD_CACHE_ID: &str =
        "regadmin@jdbc:mysql://db:3306/REGISTRY_DB?autoReconnect=true&useSSL=false";

    #[test]
    fn a_consistent_cluster_has_no_findings() {
        let nodes = [
            node("a", "L1", GOOD_CACHE_ID),
            node("b", "L2", GOOD_CACHE_ID),
        ];
        assert_eq!(
            nodes.iter().flat_map(node_consistency).collect::<Vec<_>>(),
            vec![]
        );
        assert_eq!(cross_node(&nodes, &SharedValues::default()), vec![]);
    }

    #[test]
    fn wrong_cache_id_and_shared_local_registry_are_found() {
        let nodes = [
            node("a", "L1", GOOD_CACHE_ID),
            node("b", "L1", "regadmin@jdbc:mysql://10.0.0.1:3306/REGISTRY_DB"),
        ];
        let checks: Vec<String> = nodes
            .iter()
            .flat_map(node_consistency)
            .map(|f| f.check)
            .collect();
        assert_eq!(checks, ["cache_id"]);
        let checks: Vec<String> = cross_node(&nodes, &SharedValues::default())
            .into_iter()
            .map(|f| f.check)
            .collect();
        assert_eq!(checks, ["shared_local_registry", "shared_cache_id"]);
    }

    #[test]
    fn dangling_references_and_missing_driver_are_found() {
        let mut n = node("a", "L1", GOOD_CACHE_ID);
        n.registry.mounts[0].instance_id = Some("nope".into());
        n.registry.db_configs[1].data_source = Some("jdbc/Missing".into());
        n.user_mgt.data_source = Some("jdbc/Gone".into());
        n.driver = Driver {
            jar: None,
            major: None,
        };
        let checks: Vec<String> = node_consistency(&n).into_iter().map(|f| f.check).collect();
        assert_eq!(
            checks,
            [
                "db_config_datasource",
                "mount_instance",
                "user_store_datasource",
                "jdbc_driver"
            ]
        );
    }

    #[test]
    fn a_plaintext_password_readable_by_others_is_a_finding_with_the_fix() {
        let mut state = node("n1", "REGISTRY_LOCAL1", GOOD_CACHE_ID);
        let file = |mode| crate::nodefiles::SecretFile {
            path: PathBuf::from("/ei/conf/datasources/master-datasources.xml"),
            mode,
            holders: vec!["WSO2_UM_DB".into()],
        };
        state.secret_files = vec![file(0o640), file(0o600)];
        assert!(secrets_at_rest(&state, true).is_empty());
        state.secret_files.push(file(0o644));
        let found = secrets_at_rest(&state, false);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].check, "password_readable");
        assert!(found[0].found.as_deref().unwrap().contains("0644"));
        assert!(found[0]
            .fix
            .contains("chmod o-rwx /ei/conf/datasources/master-datasources.xml"));
        assert!(secrets_at_rest(&state, true)[0]
            .fix
            .contains("secure_vault"));
    }
}
