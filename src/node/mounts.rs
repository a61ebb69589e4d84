//! What a node's registry.xml says it mounts: the input of the mount-record check (`crate::core::mounts`),
//! for a node of the spec (the mounts eidb writes) and for a node found by its files alone.

use crate::core::mounts::{NodeInput, Overwrite, WantedMount};

/// `(versioningProperties, registryRoot)` of a registry.xml text; EI's defaults when it is unreadable.
fn settings_of(registry_xml: Option<&str>) -> (bool, Option<String>) {
    registry_xml
        .and_then(|xml| crate::node::conf::read_registry_settings(xml).ok())
        .unwrap_or((true, None))
}

/// The input for a node of a spec whose local registry is on MySQL: the mounts eidb writes into its
/// registry.xml, the remote instance ids the file defines after eidb's edit, and the storage settings
/// of the file as it is (`registry_xml`, `None` when it could not be read).
pub fn input_for_spec_node(
    node: &crate::core::desired::DesiredNode,
    account: &str,
    shared_database: &str,
    registry_xml: Option<&str>,
) -> Option<NodeInput> {
    let database = node.local_registry.clone()?;
    // One parse for both: what the file defines, and its storage settings (EI's defaults when unreadable).
    let read =
        registry_xml.and_then(|xml| crate::node::conf::read_registry_with_settings(xml).ok());
    let (versioned_properties, registry_root) = read
        .as_ref()
        .map_or((true, None), |(_, settings)| settings.clone());
    let mut remote_instance_ids: Vec<String> = read
        .map(|(actual, _)| {
            actual
                .remote_instances
                .into_iter()
                .filter_map(|r| r.id)
                .collect()
        })
        .unwrap_or_default();
    remote_instance_ids.push(node.registry.remote_instance.id.clone());
    Some(NodeInput {
        node: node.name.clone(),
        database,
        account: account.to_string(),
        mounts: node
            .registry
            .mounts
            .iter()
            .map(|m| WantedMount {
                path: m.path.clone(),
                instance_id: m.instance_id.clone(),
                target_path: m.target_path.clone(),
                overwrite: Overwrite::parse(Some(&m.overwrite)),
            })
            .collect(),
        remote_instance_ids,
        versioned_properties,
        registry_root,
        shared_database: Some(shared_database.to_string()),
    })
}

/// The input for a node found by its files alone (`verify --ei-home`): its local registry is the
/// datasource that `currentDBConfig` names, checked when that is a MySQL URL; its mounts are the complete
/// `<mount>`s of its registry.xml.
pub fn input_for_home(
    state: &crate::node::wiring::NodeState,
    registry_xml: Option<&str>,
) -> Option<NodeInput> {
    let registry = &state.registry;
    let datasource_of_config = |config: &str| {
        let jndi = registry
            .db_configs
            .iter()
            .find(|c| c.name.as_deref() == Some(config))?
            .data_source
            .as_deref()?;
        state
            .datasources
            .iter()
            .find(|d| d.jndi_name.as_deref() == Some(jndi))
            .filter(|d| {
                d.url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("jdbc:mysql"))
            })
    };
    let local = datasource_of_config(registry.current_db_config.as_deref()?)?;
    let database = crate::core::plan::mysql_database(local.url.as_deref()?)?.to_string();
    let mounts: Vec<WantedMount> = registry
        .mounts
        .iter()
        .filter_map(|m| {
            Some(WantedMount {
                path: m.path.clone()?,
                instance_id: m.instance_id.clone()?,
                target_path: m.target_path.clone()?,
                overwrite: Overwrite::parse(m.overwrite.as_deref()),
            })
        })
        .collect();
    let shared_database = mounts.first().and_then(|mount| {
        let remote = registry
            .remote_instances
            .iter()
            .find(|r| r.id.as_deref() == Some(mount.instance_id.as_str()))?;
        let shared = datasource_of_config(remote.db_config.as_deref()?)?;
        crate::core::plan::mysql_database(shared.url.as_deref()?).map(str::to_string)
    });
    let (versioned_properties, registry_root) = settings_of(registry_xml);
    Some(NodeInput {
        node: state.name.clone(),
        database,
        account: local.username.clone().unwrap_or_default(),
        mounts,
        remote_instance_ids: registry
            .remote_instances
            .iter()
            .filter_map(|r| r.id.clone())
            .collect(),
        versioned_properties,
        registry_root,
        shared_database,
    })
}
