//! What a node's files say, read back (the desired side is `core::node_files`). The `Actual*` types
//! hold the unescaped text found in a file, `None` where an element or attribute is missing: what the
//! checks without a spec (`node::wiring`) and `eidb init` read. They are never compared with the
//! desired types: the edit that puts a value right is what says it differs.

#[cfg(test)]
use crate::core::node_files::{bool_text, Datasource, DbConfig, Mount, Pool, RemoteInstance};

/// A `<datasource>` as found in `master-datasources.xml`. The password itself is never read out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualDatasource {
    pub name: Option<String>,
    pub jndi_name: Option<String>,
    pub url: Option<String>,
    pub username: Option<String>,
    /// A `<password>` element with non-empty text.
    pub has_password: bool,
    /// The `secretAlias` attribute of `<password>`, whatever its namespace prefix.
    pub secret_alias: Option<String>,
    pub driver_class: Option<String>,
    pub pool: ActualPool,
}

/// Pool settings as found, as text: a file may hold anything there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualPool {
    pub max_active: Option<String>,
    pub max_wait: Option<String>,
    pub test_on_borrow: Option<String>,
    pub validation_query: Option<String>,
    pub validation_interval: Option<String>,
}

/// What `user-mgt.xml` says about the user store's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualUserMgt {
    /// `<Property name="dataSource">` of `<UserManager><Realm><Configuration>`.
    pub data_source: Option<String>,
}

/// The database-related parts of `registry.xml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualRegistry {
    pub current_db_config: Option<String>,
    pub db_configs: Vec<ActualDbConfig>,
    pub remote_instances: Vec<ActualRemoteInstance>,
    pub mounts: Vec<ActualMount>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualDbConfig {
    pub name: Option<String>,
    pub data_source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualRemoteInstance {
    pub url: Option<String>,
    pub id: Option<String>,
    pub db_config: Option<String>,
    pub read_only: Option<String>,
    pub enable_cache: Option<String>,
    pub registry_root: Option<String>,
    pub cache_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualMount {
    pub path: Option<String>,
    pub overwrite: Option<String>,
    pub instance_id: Option<String>,
    pub target_path: Option<String>,
}

// The `From` conversions below say what a file edited for a desired value reads back as: the unit
// tests' second path (edit, read back, compare). Drift itself is found by the edits (see `Edited`).

#[cfg(test)]
impl From<&Datasource> for ActualDatasource {
    fn from(desired: &Datasource) -> Self {
        Self {
            name: Some(desired.name.clone()),
            jndi_name: Some(desired.jndi_name.clone()),
            url: Some(desired.url.clone()),
            username: Some(desired.username.clone()),
            has_password: !secrecy::ExposeSecret::expose_secret(&desired.password).is_empty(),
            secret_alias: desired.secret_alias.clone(),
            driver_class: Some(desired.driver_class.clone()),
            pool: ActualPool::from(&desired.pool),
        }
    }
}

#[cfg(test)]
impl From<&Pool> for ActualPool {
    fn from(desired: &Pool) -> Self {
        Self {
            max_active: Some(desired.max_active.to_string()),
            max_wait: Some(desired.max_wait.to_string()),
            test_on_borrow: Some(bool_text(desired.test_on_borrow).to_owned()),
            validation_query: Some(desired.validation_query.clone()),
            validation_interval: Some(desired.validation_interval.to_string()),
        }
    }
}

#[cfg(test)]
impl From<&DbConfig> for ActualDbConfig {
    fn from(desired: &DbConfig) -> Self {
        Self {
            name: Some(desired.name.clone()),
            data_source: Some(desired.data_source.clone()),
        }
    }
}

#[cfg(test)]
impl From<&RemoteInstance> for ActualRemoteInstance {
    fn from(desired: &RemoteInstance) -> Self {
        Self {
            url: Some(desired.url.clone()),
            id: Some(desired.id.clone()),
            db_config: Some(desired.db_config.clone()),
            read_only: Some(bool_text(desired.read_only).to_owned()),
            enable_cache: Some(bool_text(desired.enable_cache).to_owned()),
            registry_root: Some(desired.registry_root.clone()),
            cache_id: Some(desired.cache_id.clone()),
        }
    }
}

#[cfg(test)]
impl From<&Mount> for ActualMount {
    fn from(desired: &Mount) -> Self {
        Self {
            path: Some(desired.path.clone()),
            overwrite: Some(desired.overwrite.clone()),
            instance_id: Some(desired.instance_id.clone()),
            target_path: Some(desired.target_path.clone()),
        }
    }
}
