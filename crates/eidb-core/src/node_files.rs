//! What a node's files must say: the datasources, the user store's datasource and the shared-registry
//! part of `registry.xml`, with final values only (derived in `core::desired`; this module never
//! computes a URL, a cache id or a JNDI name). `node::conf` edits the files to say it.

use secrecy::SecretString;

/// One `<datasource>` of `master-datasources.xml`.
#[derive(Debug, Clone)]
pub struct Datasource {
    /// `<name>`, e.g. `WSO2_CARBON_DB`.
    pub name: String,
    /// `<description>`; written only when eidb adds the datasource.
    pub description: String,
    /// `<jndiConfig><name>`, e.g. `jdbc/WSO2CarbonDB`.
    pub jndi_name: String,
    /// The JDBC URL, unescaped (the file gets `&amp;` where the URL has `&`).
    pub url: String,
    pub username: String,
    pub password: SecretString,
    /// `Some(alias)` writes `<password svns:secretAlias="alias">` (WSO2 Secure Vault).
    pub secret_alias: Option<String>,
    /// `<driverClassName>`.
    pub driver_class: String,
    pub pool: Pool,
}

/// The connection-pool settings eidb owns in a datasource's `<configuration>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub max_active: u32,
    pub max_wait: u32,
    pub test_on_borrow: bool,
    pub validation_query: String,
    pub validation_interval: u32,
}

/// The shared-registry part of `registry.xml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    pub db_config: DbConfig,
    pub remote_instance: RemoteInstance,
    pub mounts: Vec<Mount>,
}

/// `<dbConfig name="...">` with its `<dataSource>`, e.g. `sharedregistry` -> `jdbc/WSO2RegistryDB`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbConfig {
    pub name: String,
    pub data_source: String,
}

/// `<remoteInstance url="...">`, matched by its `<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteInstance {
    pub url: String,
    pub id: String,
    pub db_config: String,
    pub read_only: bool,
    pub enable_cache: bool,
    pub registry_root: String,
    pub cache_id: String,
}

/// `<mount path="..." overwrite="...">`, matched by its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub path: String,
    /// `true`, `false` or `virtual`.
    pub overwrite: String,
    pub instance_id: String,
    pub target_path: String,
}

/// The text eidb writes for a boolean setting.
pub fn bool_text(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}
