//! What a node's files say about how they are wired together (which dbConfig uses which datasource, which
//! mount which remote instance), and the checks that need no spec: a node's files against themselves, the
//! nodes against each other, and files holding a plaintext password that others can read. Used by the
//! node plan (on the files as eidb would leave them), by `verify --ei-home` and by `eidb init`.

use crate::core::check::Check;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::core::desired::{self, Driver};
use crate::core::drift::Finding;
use crate::core::findings::{readable_expected, readable_found};
use crate::error::{Error, Result};
use crate::node::conf::{self, ActualDatasource, ActualRegistry, ActualUserMgt};
use crate::node::files::{ConfFile, SecretFile, TextFile};

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
    pub secret_files: Vec<SecretFile>,
}

impl NodeState {
    /// Read a node's files (verify without a spec, `eidb init`).
    pub fn read(name: &str, ei_home: &Path) -> Result<NodeState> {
        if !ei_home.join("conf").is_dir() {
            return Err(Error::input(format!(
                "node {name}: {} has no conf/ folder",
                ei_home.display()
            ))
            .with_hint("point at the EI installation folder, the one holding conf/ and lib/"));
        }
        let mut texts = Vec::new();
        for file in ConfFile::ALL {
            let path = ei_home.join(file.relative_path());
            let text = TextFile::read(&path)
                .map_err(|e| e.context(format!("node {name}")))?
                .text;
            texts.push((file, path, text));
        }
        NodeState::parse(
            name,
            ei_home,
            &texts,
            crate::node::files::find_driver(ei_home),
            crate::node::files::secret_files(ei_home),
        )
    }

    /// What the three files' texts say (each with the path it is, or would be, at).
    pub fn parse(
        name: &str,
        ei_home: &Path,
        texts: &[(ConfFile, PathBuf, String)],
        driver: Driver,
        secret_files: Vec<SecretFile>,
    ) -> Result<NodeState> {
        let parse_error = |path: &Path, e: conf::ConfError| {
            Error::input(format!(
                "node {name}: {}:{}:{}: {}",
                path.display(),
                e.line,
                e.column,
                e.message
            ))
        };
        let text = |kind: ConfFile| {
            texts
                .iter()
                .find(|(file, _, _)| *file == kind)
                .map(|(_, path, text)| (path.as_path(), text.as_str()))
                .expect("the three files")
        };
        let (path, xml) = text(ConfFile::Datasources);
        let datasources = conf::read_master_datasources(xml).map_err(|e| parse_error(path, e))?;
        let (path, xml) = text(ConfFile::UserMgt);
        let user_mgt = conf::read_user_mgt(xml).map_err(|e| parse_error(path, e))?;
        let (path, xml) = text(ConfFile::Registry);
        let registry = conf::read_registry(xml).map_err(|e| parse_error(path, e))?;
        Ok(NodeState {
            name: name.to_string(),
            ei_home: ei_home.to_path_buf(),
            datasources,
            user_mgt,
            registry,
            driver,
            secret_files,
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
                Check::DbConfigDatasource,
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
                Check::RemoteInstanceDbConfig,
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
                Check::MountInstance,
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
            Check::MountDuplicate,
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
            findings.push(Finding::new(&s, Check::CacheId, Some(expected), instance.cache_id.clone(), "set cacheId to <username>@<JDBC URL of the shared registry>, character for character; ".to_string() + FIX_PROVISION));
        }
    }
    if let Some(source) = &node.user_mgt.data_source {
        if !jndi_names.contains(&source.as_str()) {
            findings.push(Finding::new(
                &s,
                Check::UserStoreDatasource,
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
            Check::JdbcDriver,
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

/// Files that hold a password in plain text and that every local user can read (verify without a spec:
/// with one, the plan's mode changes say it).
pub fn secrets_at_rest(node: &NodeState) -> Vec<Finding> {
    let through_acl = node
        .secret_files
        .iter()
        .filter(|f| !f.acl_readers.is_empty())
        .map(|f| {
            crate::core::findings::acl_finding(&node.name, &f.path, &f.holders, &f.acl_readers)
        });
    node.secret_files
        .iter()
        .filter(|f| f.mode & crate::node::files::OTHERS != 0)
        .map(|f| {
            let path = f.path.display();
            Finding::new(
                &subject(node),
                Check::PasswordReadable,
                Some(readable_expected(&f.path, &f.holders)),
                Some(readable_found(f.mode)),
                format!(
                    "take the others' permissions away (chmod o-rwx {path}; owner and group keep reading it), \
                     or encrypt the passwords with WSO2 Secure Vault (the cipher tool)"
                ),
            )
        })
        .chain(through_acl)
        .collect()
}

/// Checks of the nodes against each other, without a spec: the value most nodes have is taken as the
/// intended one. (With a spec, each node's plan says where it differs from the spec.)
pub fn cross_node(nodes: &[NodeState]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut local_owner: BTreeMap<String, &str> = BTreeMap::new();
    for node in nodes {
        let Some(url) = node.local_registry().and_then(|d| d.url.as_deref()) else {
            continue;
        };
        if !url.starts_with("jdbc:mysql") {
            continue; // H2 local registries live inside each node.
        }
        let key = crate::core::plan::mysql_database(url)
            .unwrap_or(url)
            .to_string();
        if let Some(first) = local_owner.insert(key.clone(), &node.name) {
            findings.push(Finding::new(
                "cluster",
                Check::SharedLocalRegistry,
                Some("each node's local registry on its own database".into()),
                Some(format!("nodes {first} and {} both use {key}", node.name)),
                "give every node its own local registry database (eidb derives REGISTRY_LOCAL<i> per node)",
            ));
        }
    }
    let shared = |f: fn(&NodeState) -> Option<String>, check: Check, what: &str| -> Vec<Finding> {
        let values: Vec<(&str, String)> = nodes
            .iter()
            .map(|n| (n.name.as_str(), f(n).unwrap_or_else(|| "(none)".into())))
            .collect();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, value) in &values {
            *counts.entry(value.as_str()).or_default() += 1;
        }
        let Some((majority, _)) = counts.iter().max_by_key(|(_, n)| **n) else {
            return Vec::new();
        };
        values
            .iter()
            .filter(|(_, value)| value != majority)
            .map(|(node, value)| {
                Finding::new(
                    "cluster",
                    check,
                    Some(format!(
                        "the same {what} on every node: {majority} (as most nodes have)"
                    )),
                    Some(format!("{node} has {value}")),
                    format!("make every node use the same {what}; {FIX_PROVISION}"),
                )
            })
            .collect()
    };
    findings.extend(shared(
        |n| n.shared_registry().and_then(|d| d.url.clone()),
        Check::SharedRegistryUrl,
        "shared registry URL",
    ));
    findings.extend(shared(
        |n| n.mounted_instance().and_then(|r| r.cache_id.clone()),
        Check::SharedCacheId,
        "cacheId",
    ));
    findings.extend(shared(
        |n| n.user_store().and_then(|d| d.url.clone()),
        Check::UserStoreUrl,
        "user store URL",
    ));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::conf::{ActualDbConfig, ActualMount, ActualPool, ActualRemoteInstance};

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
        assert_eq!(cross_node(&nodes), vec![]);
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
            .map(|f| f.check.to_string())
            .collect();
        assert_eq!(checks, ["cache_id"]);
        let checks: Vec<String> = cross_node(&nodes)
            .into_iter()
            .map(|f| f.check.to_string())
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
        let checks: Vec<String> = node_consistency(&n)
            .into_iter()
            .map(|f| f.check.to_string())
            .collect();
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
        let file = |mode| crate::node::files::SecretFile {
            path: PathBuf::from("/ei/conf/datasources/master-datasources.xml"),
            mode,
            holders: vec!["WSO2_UM_DB".into()],
            acl_readers: Vec::new(),
        };
        state.secret_files = vec![file(0o640), file(0o600)];
        assert!(secrets_at_rest(&state).is_empty());
        state.secret_files.push(file(0o644));
        let found = secrets_at_rest(&state);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].check, crate::core::check::Check::PasswordReadable);
        assert!(found[0].found.as_deref().unwrap().contains("0644"));
        assert!(found[0]
            .fix
            .contains("chmod o-rwx /ei/conf/datasources/master-datasources.xml"));
        assert!(found[0].fix.contains("Secure Vault"), "{found:?}");
    }
}
