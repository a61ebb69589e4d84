//! `eidb init`: adopt a cluster that exists (built by hand as the WSO2 guide says, or by another tool)
//! by writing the spec that reproduces it exactly: the server, the database names, which local registry
//! each node uses, the account, the JDBC URLs' parameters as they are, the registry mount layout and
//! Secure Vault use. The first `provision` with that spec changes nothing but the ledger's records (or
//! shows only what truly differs, e.g. nodes that disagree with each other).
//!
//! The decisions are a pure function of what the nodes' files say ([`spec_text`]); [`run`] only reads.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::cli::InitArgs;
use crate::error::{Error, Result};
use crate::node::wiring::NodeState;

/// What the files say about one node, reduced to what the spec needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptedNode {
    pub name: String,
    pub ei_home: PathBuf,
    pub local_registry: Option<String>,
}

/// Everything the spec is written from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub user_store: String,
    pub shared_registry: String,
    /// The URLs' query string (without `?`), as the nodes have it.
    pub parameters: String,
    pub secure_vault: bool,
    pub remote_instance_url: Option<String>,
    pub instance_id: Option<String>,
    pub db_config: Option<String>,
    pub config_mount_target: Option<String>,
    pub governance_mount_target: Option<String>,
    pub mount_overwrite: Option<String>,
    pub dbscripts: Option<PathBuf>,
    pub nodes: Vec<AdoptedNode>,
    /// Where the nodes disagree: said in the spec's header, for a person to settle.
    pub notes: Vec<String>,
}

/// `jdbc:mysql://host:port/DB?params` -> (host, port, DB, params).
pub fn split_url(url: &str) -> Option<(String, u16, String, String)> {
    let rest = url.trim().strip_prefix("jdbc:mysql://")?;
    let (address, path) = rest.split_once('/')?;
    if address.contains(',') {
        return None;
    }
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), port.parse().ok()?),
        None => (address.to_string(), 3306),
    };
    let (database, parameters) = path.split_once('?').unwrap_or((path, ""));
    Some((host, port, database.to_string(), parameters.to_string()))
}

/// Read what the spec needs from the nodes' files.
pub fn adopt(states: &[NodeState]) -> Result<Adopted> {
    let first = states
        .first()
        .ok_or_else(|| Error::input("name at least one node with --ei-home"))?;
    let shared = first
        .shared_registry()
        .and_then(|d| Some((d, split_url(d.url.as_deref()?)?)))
        .ok_or_else(|| {
            Error::input(format!(
                "node {}: no shared registry on MySQL (a mount on a remoteInstance whose dbConfig names a MySQL datasource) \
                 in conf/registry.xml and conf/datasources/master-datasources.xml",
                first.name
            ))
            .with_hint("eidb init adopts a clustered EI whose registry is shared on MySQL; for a new cluster write the spec by hand (README)")
        })?;
    let (datasource, (host, port, shared_registry, parameters)) = shared;
    let user_store = first
        .user_store()
        .and_then(|d| split_url(d.url.as_deref()?))
        .map(|(_, _, db, _)| db)
        .ok_or_else(|| {
            Error::input(format!(
                "node {}: the user store (user-mgt.xml's dataSource) is not on MySQL",
                first.name
            ))
        })?;
    let registry = &first.registry;
    let mount = |path: &str| {
        registry
            .mounts
            .iter()
            .find(|m| m.path.as_deref() == Some(path))
    };
    let instance = registry
        .remote_instances
        .iter()
        .find(|r| r.id == mount("/_system/config").and_then(|m| m.instance_id.clone()));
    let mut notes = Vec::new();
    let mut adopted_nodes = Vec::new();
    let mut seen_shared = BTreeSet::new();
    for state in states {
        let local = state
            .local_registry()
            .and_then(|d| split_url(d.url.as_deref()?))
            .map(|(_, _, db, _)| db);
        if let Some(url) = state.shared_registry().and_then(|d| d.url.clone()) {
            seen_shared.insert(url);
        }
        adopted_nodes.push(AdoptedNode {
            name: state.name.clone(),
            ei_home: state.ei_home.clone(),
            local_registry: local,
        });
    }
    if seen_shared.len() > 1 {
        notes.push(format!(
            "the nodes name the shared registry with different URLs ({}); this spec takes node {}'s",
            seen_shared.into_iter().collect::<Vec<_>>().join(" | "),
            first.name
        ));
    }
    let dbscripts = first.ei_home.join("dbscripts");
    Ok(Adopted {
        host,
        port,
        user: datasource
            .username
            .clone()
            .unwrap_or_else(|| "regadmin".into()),
        user_store,
        shared_registry,
        parameters,
        secure_vault: first.datasources.iter().any(|d| d.secret_alias.is_some()),
        remote_instance_url: instance.and_then(|i| i.url.clone()),
        instance_id: instance.and_then(|i| i.id.clone()),
        db_config: instance.and_then(|i| i.db_config.clone()),
        config_mount_target: mount("/_system/config").and_then(|m| m.target_path.clone()),
        governance_mount_target: mount("/_system/governance").and_then(|m| m.target_path.clone()),
        mount_overwrite: mount("/_system/config").and_then(|m| m.overwrite.clone()),
        dbscripts: dbscripts.is_dir().then_some(dbscripts),
        nodes: adopted_nodes,
        notes,
    })
}

fn quoted(value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// The spec, as TOML with comments.
pub fn spec_text(adopted: &Adopted, admin_url: Option<&str>) -> String {
    let a = adopted;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Written by `eidb init` from the nodes' files. Check it, set the two password sources, then\n\
         # `eidb provision --config THIS --dry-run` should show only the ledger's records."
    );
    for note in &a.notes {
        let _ = writeln!(out, "# NOTE: {note}");
    }
    let url = admin_url
        .map(str::to_string)
        .unwrap_or_else(|| format!("mysql://root@{}:{}", a.host, a.port));
    let _ = writeln!(out, "\n[server]\nurl = {}", quoted(&url));
    let _ = writeln!(
        out,
        "password_env = \"EIDB_ADMIN_PASSWORD\"\njdbc_host = {}\njdbc_port = {}",
        quoted(&a.host),
        a.port
    );
    let _ = writeln!(
        out,
        "\n[user]\nname = {}\npassword_env = \"EIDB_REGADMIN_PASSWORD\"",
        quoted(&a.user)
    );
    let _ = writeln!(
        out,
        "\n[databases]\nuser_store = {}\nshared_registry = {}",
        quoted(&a.user_store),
        quoted(&a.shared_registry)
    );
    if a.nodes.iter().all(|n| n.local_registry.is_none()) {
        let _ = writeln!(out, "local_registry = \"h2\"");
    }
    match &a.dbscripts {
        Some(dir) => {
            let _ = writeln!(
                out,
                "\n[dbscripts]\ndir = {}",
                quoted(&dir.display().to_string())
            );
        }
        None => {
            let _ = writeln!(
                out,
                "\n[dbscripts]\ndir = \"/opt/wso2ei/dbscripts\"   # set to your EI_HOME/dbscripts"
            );
        }
    }
    let _ = writeln!(
        out,
        "\n[jdbc]\nparameters = {}   # the URLs' query string as the nodes have it",
        quoted(&a.parameters)
    );
    if a.secure_vault {
        let _ = writeln!(out, "\n[secure_vault]\nenabled = true");
    }
    let mut registry = String::new();
    for (key, value) in [
        ("remote_instance_url", &a.remote_instance_url),
        ("instance_id", &a.instance_id),
        ("db_config", &a.db_config),
        ("config_mount_target", &a.config_mount_target),
        ("governance_mount_target", &a.governance_mount_target),
        ("mount_overwrite", &a.mount_overwrite),
    ] {
        if let Some(value) = value {
            let _ = writeln!(registry, "{key} = {}", quoted(value));
        }
    }
    if !registry.is_empty() {
        let _ = write!(out, "\n[registry]\n{registry}");
    }
    for node in &a.nodes {
        let _ = write!(
            out,
            "\n[[nodes]]\nname = {}\nei_home = {}\n",
            quoted(&node.name),
            quoted(&node.ei_home.display().to_string())
        );
        if let Some(local) = &node.local_registry {
            let _ = writeln!(out, "local_registry = {}", quoted(local));
        }
    }
    out
}

/// Node names from the folders: an EI_HOME's own name (`/srv/edge1`), or the folder holding the
/// distribution (`/opt/node1/wso2ei-6.6.0`); node1, node2, ... when those are not all different and valid.
fn node_names(homes: &[PathBuf]) -> Vec<String> {
    let name_of = |home: &PathBuf| -> Option<String> {
        let home = home.canonicalize().unwrap_or(home.clone());
        let own = home.file_name()?.to_string_lossy().into_owned();
        if own.to_ascii_lowercase().starts_with("wso2") {
            Some(home.parent()?.file_name()?.to_string_lossy().into_owned())
        } else {
            Some(own)
        }
    };
    let folders: Vec<String> = homes.iter().filter_map(name_of).collect();
    let valid = |n: &String| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    };
    let distinct: BTreeSet<&String> = folders.iter().collect();
    if folders.len() == homes.len() && distinct.len() == homes.len() && folders.iter().all(valid) {
        folders
    } else {
        (1..=homes.len()).map(|i| format!("node{i}")).collect()
    }
}

/// Read the nodes, write the spec to `--out` (refusing to overwrite a file) or stdout.
pub fn run(args: &InitArgs) -> Result<String> {
    let names = node_names(&args.ei_home);
    let mut states = Vec::new();
    for (name, home) in names.iter().zip(&args.ei_home) {
        let home = home.canonicalize().unwrap_or(home.clone());
        states.push(NodeState::read(name, &home)?);
    }
    let adopted = adopt(&states)?;
    let text = spec_text(&adopted, args.server_url.as_deref());
    let homes: Vec<PathBuf> = adopted.nodes.iter().map(|n| n.ei_home.clone()).collect();
    let text = crate::cli::init_clustering::adopt(text, &adopted.shared_registry, &homes);
    if let Some(path) = &args.out {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                Error::input(format!("cannot create {}: {e}", path.display()))
                    .with_hint("eidb init never overwrites a file: name a new one with --out")
            })?;
        file.write_all(text.as_bytes())
            .map_err(|e| Error::failure(format!("writing {}: {e}", path.display())))?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_named_after_their_folders() {
        let homes = |paths: &[&str]| -> Vec<PathBuf> { paths.iter().map(PathBuf::from).collect() };
        assert_eq!(
            node_names(&homes(&[
                "/opt/node1/wso2ei-6.6.0",
                "/opt/edge2/wso2ei-6.6.0"
            ])),
            ["node1", "edge2"]
        );
        assert_eq!(node_names(&homes(&["/srv/a", "/srv/b"])), ["a", "b"]);
        assert_eq!(
            node_names(&homes(&["/x/same", "/y/same"])),
            ["node1", "node2"]
        );
    }

    #[test]
    fn urls_split_into_host_port_database_and_parameters() {
        assert_eq!(
            split_url("jdbc:mysql://db.internal:3307/REGISTRY_DB?autoReconnect=true"),
            Some((
                "db.internal".into(),
                3307,
                "REGISTRY_DB".into(),
                "autoReconnect=true".into()
            ))
        );
        assert_eq!(
            split_url("jdbc:mysql://db/WSO2_USER_DB"),
            Some(("db".into(), 3306, "WSO2_USER_DB".into(), String::new()))
        );
        assert_eq!(
            split_url("jdbc:h2:./repository/database/WSO2CARBON_DB"),
            None
        );
    }

    #[test]
    fn the_spec_keeps_the_parameters_and_each_nodes_database() {
        let adopted = Adopted {
            host: "db".into(),
            port: 3306,
            user: "regadmin".into(),
            user_store: "userdb".into(),
            shared_registry: "regdb".into(),
            parameters: "autoReconnect=true".into(),
            secure_vault: false,
            remote_instance_url: Some("https://localhost:9443/registry".into()),
            instance_id: Some("instanceid".into()),
            db_config: Some("sharedregistry".into()),
            config_mount_target: Some("/_system/eiconfig".into()),
            governance_mount_target: Some("/_system/governance".into()),
            mount_overwrite: Some("true".into()),
            dbscripts: None,
            nodes: vec![AdoptedNode {
                name: "node1".into(),
                ei_home: "/opt/n1".into(),
                local_registry: Some("local_one".into()),
            }],
            notes: Vec::new(),
        };
        let text = spec_text(&adopted, None);
        assert!(
            text.contains("parameters = \"autoReconnect=true\""),
            "{text}"
        );
        assert!(text.contains("local_registry = \"local_one\""), "{text}");
        assert!(text.contains("url = \"mysql://root@db:3306\""), "{text}");
        toml::from_str::<toml::Value>(&text).expect("valid TOML");
    }
}
