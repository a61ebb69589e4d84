//! `eidb init`: adopt a cluster that exists (built by hand as the WSO2 guide says, or by another tool)
//! by writing the spec that reproduces it exactly: the server (one host, or the failover and
//! load-balancing forms eidb writes itself), the database names, which local registry each node uses
//! (a MySQL database, or its embedded H2), the account (and, with admin access, its host), the JDBC URLs'
//! parameters as they are, the datasources' names and JNDI names, the registry mount layout, Secure Vault
//! use and (with admin access) the dbscript variant the databases were built from. The first `provision`
//! with that spec changes nothing but the ledger's records.
//!
//! Where the nodes disagree, init takes one value (the first node's, in `--ei-home` order) and says so:
//! every choice is a note, printed on stderr, in the spec's header and in `--output json`. It never writes
//! a spec that provision refuses (the text is parsed as provision parses it before it is written).
//!
//! The decisions are a pure function of what the nodes' files say ([`adopt`], [`spec_text`]); the server's
//! part ([`ServerFindings`]) is read once, by [`run`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::cli::InitArgs;
use crate::core::jdbc_url::JdbcUrl;
use crate::core::spec::{DatasourceName, DatasourceNames, JdbcUrlStyle};
use crate::error::{Error, Result};
use crate::node::conf::ActualDatasource;
use crate::node::wiring::NodeState;

/// Where a node's local registry is, as its files say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdoptedLocal {
    /// A MySQL database, written as the node's `local_registry`.
    Mysql(String),
    /// The node's embedded H2 (`local_registry_store = "h2"`): left as it is.
    H2,
    /// Not written (none found, or another node's): eidb gives the node one, as for a new node.
    Assigned,
}

/// What the files say about one node, reduced to what the spec needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptedNode {
    pub name: String,
    pub ei_home: PathBuf,
    pub local_registry: AdoptedLocal,
}

/// Which dbscript the spec names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdoptedScript {
    /// `[dbscripts] file`: the variant the databases were built from.
    File(PathBuf),
    /// `[dbscripts] dir`: eidb picks by server version (init could not tell which variant was run).
    Dir(PathBuf),
    /// No dbscripts folder in the first node: a placeholder to fill in.
    Missing,
}

/// Everything the spec is written from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    /// Every `host:port` of the shared registry's URL, and its form.
    pub hosts: Vec<(String, u16)>,
    pub style: JdbcUrlStyle,
    pub user: String,
    /// The account's host parts as the server has them (empty: not read, `%` is written by default).
    pub account_hosts: Vec<String>,
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
    pub datasources: DatasourceNames,
    pub dbscript: AdoptedScript,
    /// The first node's dbscripts folder, when it has one.
    pub dbscripts_dir: Option<PathBuf>,
    pub nodes: Vec<AdoptedNode>,
    /// Every choice init made where the files did not decide alone, and every disagreement between the
    /// nodes with how it was resolved: said on stderr, in the spec's header and in JSON.
    pub notes: Vec<String>,
}

fn names_of(datasource: &ActualDatasource) -> Option<DatasourceName> {
    Some(DatasourceName {
        name: datasource.name.clone()?,
        jndi: datasource.jndi_name.clone()?,
    })
}

fn mysql_url(datasource: Option<&ActualDatasource>) -> Option<JdbcUrl> {
    JdbcUrl::parse(datasource?.url.as_deref()?)
}

fn is_h2(datasource: Option<&ActualDatasource>) -> bool {
    datasource
        .and_then(|d| d.url.as_deref())
        .is_some_and(|u| u.trim().starts_with("jdbc:h2:"))
}

/// Read what the spec needs from the nodes' files. The first node decides; every other node is compared
/// with it, and every difference is a note saying what the spec takes.
pub fn adopt(states: &[NodeState]) -> Result<Adopted> {
    let first = states
        .first()
        .ok_or_else(|| Error::input("name at least one node with --ei-home"))?;
    let shared_datasource = first.shared_registry();
    let shared = mysql_url(shared_datasource).ok_or_else(|| {
        Error::input(format!(
            "node {}: no shared registry on MySQL (a mount on a remoteInstance whose dbConfig names a MySQL datasource) \
             in conf/registry.xml and conf/datasources/master-datasources.xml",
            first.name
        ))
        .with_hint("eidb init adopts a clustered EI whose registry is shared on MySQL; for a new cluster write the spec by hand (README)")
    })?;
    let style = shared.style.ok_or_else(|| {
        Error::input(format!(
            "node {}: the shared registry's URL {} is of a form eidb does not write",
            first.name,
            shared_datasource
                .and_then(|d| d.url.as_deref())
                .unwrap_or_default()
        ))
        .with_hint("eidb writes jdbc:mysql://host:port/DB, jdbc:mysql://h1:p1,h2:p2/DB and jdbc:mysql:loadbalance://h1:p1,h2:p2/DB")
    })?;
    let shared_datasource = shared_datasource.expect("parsed above");
    let user_store_datasource = first.user_store();
    let user_store = mysql_url(user_store_datasource).ok_or_else(|| {
        Error::input(format!(
            "node {}: the user store (user-mgt.xml's dataSource) is not on MySQL",
            first.name
        ))
    })?;
    let mut notes = Vec::new();
    let user = shared_datasource
        .username
        .clone()
        .unwrap_or_else(|| "regadmin".into());
    // The datasources' names: the first node's; the local registry's from the first node on MySQL.
    let defaults = DatasourceNames::default();
    let local_names = states
        .iter()
        .filter(|s| mysql_url(s.local_registry()).is_some())
        .find_map(|s| s.local_registry().and_then(names_of))
        .unwrap_or(defaults.local_registry.clone());
    let datasources = DatasourceNames {
        local_registry: local_names,
        shared_registry: names_of(shared_datasource).unwrap_or(defaults.shared_registry.clone()),
        user_store: user_store_datasource
            .and_then(names_of)
            .unwrap_or(defaults.user_store.clone()),
    };
    let registry = &first.registry;
    let mount_of = |state: &NodeState, path: &str| {
        state
            .registry
            .mounts
            .iter()
            .find(|m| m.path.as_deref() == Some(path))
            .cloned()
    };
    let config_mount = mount_of(first, "/_system/config");
    let governance_mount = mount_of(first, "/_system/governance");
    let instance = registry.remote_instances.iter().find(|r| {
        r.id == config_mount
            .as_ref()
            .or(governance_mount.as_ref())
            .and_then(|m| m.instance_id.clone())
    });
    if governance_mount.is_none() {
        notes.push(format!(
            "node {} has no /_system/governance mount; the spec's default (/_system/governance on the shared \
             registry) makes the first provision add it to every node that lacks it",
            first.name
        ));
    }

    // Each node's local registry, and what two nodes share.
    let mut nodes = Vec::new();
    let mut owner_of: BTreeMap<String, String> = BTreeMap::new();
    for state in states {
        let local = state.local_registry();
        let local_registry = match mysql_url(local) {
            Some(url) => match owner_of.get(&url.database.to_ascii_lowercase()) {
                Some(owner) => {
                    notes.push(format!(
                        "nodes {owner} and {} both use the local registry {} (each node needs its own: they \
                         overwrite each other's state); the spec keeps it for {owner} and names none for {}, so \
                         eidb gives {} a new one: provision shows that move as destructive and applies it only \
                         with --allow-destructive",
                        state.name, url.database, state.name, state.name
                    ));
                    AdoptedLocal::Assigned
                }
                None => {
                    owner_of.insert(url.database.to_ascii_lowercase(), state.name.clone());
                    if url.hosts != shared.hosts {
                        notes.push(format!(
                            "node {}'s local registry {} is on {} while the shared registry is on {}; the spec \
                             has one server, so the first provision points it at {} on the shared registry's \
                             server (a destructive change if the database exists there)",
                            state.name,
                            url.database,
                            hosts_text(&url.hosts),
                            hosts_text(&shared.hosts),
                            url.database
                        ));
                    }
                    AdoptedLocal::Mysql(url.database)
                }
            },
            None if is_h2(local) => {
                notes.push(format!(
                    "node {}'s local registry is on its embedded H2: the spec keeps it there (local_registry_store = \"h2\", \
                     or databases.local_registry = \"h2\" when every node is on H2) and provision leaves it (moving it to MySQL later leaves its H2 data behind, a \
                     destructive change)",
                    state.name
                ));
                AdoptedLocal::H2
            }
            None => {
                notes.push(format!(
                    "node {}: no local registry found (registry.xml's currentDBConfig names no datasource of \
                     master-datasources.xml); the spec names none, so eidb gives the node a new database",
                    state.name
                ));
                AdoptedLocal::Assigned
            }
        };
        nodes.push(AdoptedNode {
            name: state.name.clone(),
            ei_home: state.ei_home.clone(),
            local_registry,
        });
    }

    // Where the other nodes disagree with the first.
    let shared_text = shared_datasource.url.clone().unwrap_or_default();
    for state in &states[1..] {
        let node = &state.name;
        let differ = |what: &str, theirs: String, ours: String, notes: &mut Vec<String>| {
            if theirs != ours {
                notes.push(format!(
                    "node {node} {what} {theirs} where node {} has {ours}; the spec takes node {}'s, and the \
                     first provision rewrites node {node} to it",
                    first.name, first.name
                ));
            }
        };
        let shown = |v: Option<String>| v.unwrap_or_else(|| "nothing".to_string());
        let theirs_shared = state.shared_registry();
        differ(
            "names the shared registry with",
            shown(theirs_shared.and_then(|d| d.url.clone())),
            shared_text.clone(),
            &mut notes,
        );
        differ(
            "names the user store with",
            shown(state.user_store().and_then(|d| d.url.clone())),
            shown(user_store_datasource.and_then(|d| d.url.clone())),
            &mut notes,
        );
        let accounts: BTreeSet<String> = [
            theirs_shared,
            state.user_store(),
            state.local_registry().filter(|d| !is_h2(Some(d))),
        ]
        .into_iter()
        .flatten()
        .filter_map(|d| d.username.clone())
        .collect();
        for account in accounts.iter().filter(|a| **a != user) {
            notes.push(format!(
                "node {node} logs in as {account} where node {} logs in as {user}; the spec has one account \
                 ({user}), and the first provision points node {node}'s datasources at it",
                first.name
            ));
        }
        differ(
            "calls the shared registry's datasource",
            shown(
                theirs_shared
                    .and_then(names_of)
                    .map(|n| format!("{} ({})", n.name, n.jndi)),
            ),
            format!(
                "{} ({})",
                datasources.shared_registry.name, datasources.shared_registry.jndi
            ),
            &mut notes,
        );
        differ(
            "calls the user store's datasource",
            shown(
                state
                    .user_store()
                    .and_then(names_of)
                    .map(|n| format!("{} ({})", n.name, n.jndi)),
            ),
            format!(
                "{} ({})",
                datasources.user_store.name, datasources.user_store.jndi
            ),
            &mut notes,
        );
        for (path, ours) in [
            ("/_system/config", &config_mount),
            ("/_system/governance", &governance_mount),
        ] {
            let theirs = mount_of(state, path);
            let describe = |m: &Option<crate::node::conf::ActualMount>| match m {
                Some(m) => format!(
                    "a mount of {path} on {} (overwrite {})",
                    m.target_path.as_deref().unwrap_or("no target"),
                    m.overwrite.as_deref().unwrap_or("unset")
                ),
                None => format!("no mount of {path}"),
            };
            differ("has", describe(&theirs), describe(ours), &mut notes);
        }
        let theirs_vault = state.datasources.iter().any(|d| d.secret_alias.is_some());
        let ours_vault = first.datasources.iter().any(|d| d.secret_alias.is_some());
        if theirs_vault != ours_vault {
            notes.push(format!(
                "node {node} {} Secure Vault where node {} {}; the spec takes node {}'s",
                if theirs_vault { "uses" } else { "does not use" },
                first.name,
                if ours_vault { "does" } else { "does not" },
                first.name
            ));
        }
    }
    let dbscripts = first.ei_home.join("dbscripts");
    let dbscripts_dir = dbscripts.is_dir().then_some(dbscripts);
    if dbscripts_dir.is_none() {
        notes.push(format!(
            "node {} has no dbscripts folder ({}): the spec's [dbscripts] dir is a placeholder that \
             provision refuses until you set it to an EI distribution's dbscripts folder (or set \
             [dbscripts] file to the script the databases were built with)",
            first.name,
            first.ei_home.join("dbscripts").display()
        ));
    }
    Ok(Adopted {
        hosts: shared.hosts.clone(),
        style,
        user,
        account_hosts: Vec::new(),
        user_store: user_store.database,
        shared_registry: shared.database.clone(),
        parameters: shared.parameters.clone(),
        secure_vault: first.datasources.iter().any(|d| d.secret_alias.is_some()),
        remote_instance_url: instance.and_then(|i| i.url.clone()),
        instance_id: instance.and_then(|i| i.id.clone()),
        db_config: instance.and_then(|i| i.db_config.clone()),
        config_mount_target: config_mount.as_ref().and_then(|m| m.target_path.clone()),
        governance_mount_target: governance_mount
            .as_ref()
            .and_then(|m| m.target_path.clone()),
        mount_overwrite: config_mount
            .as_ref()
            .or(governance_mount.as_ref())
            .and_then(|m| m.overwrite.clone()),
        datasources,
        dbscript: match &dbscripts_dir {
            Some(dir) => AdoptedScript::Dir(dir.clone()),
            None => AdoptedScript::Missing,
        },
        dbscripts_dir,
        nodes,
        notes,
    })
}

fn hosts_text(hosts: &[(String, u16)]) -> String {
    hosts
        .iter()
        .map(|(h, p)| format!("{h}:{p}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The MySQL databases the adopted spec names.
pub fn databases(adopted: &Adopted) -> Vec<String> {
    let mut out = vec![adopted.shared_registry.clone(), adopted.user_store.clone()];
    out.extend(
        adopted
            .nodes
            .iter()
            .filter_map(|n| match &n.local_registry {
                AdoptedLocal::Mysql(db) => Some(db.clone()),
                _ => None,
            }),
    );
    out
}

/// What the server says (read with `--server-url`): the account's host parts and, per database, the
/// index and constraint names it holds.
#[derive(Debug, Default, Clone)]
pub struct ServerFindings {
    /// `None`: the account does not exist.
    pub account_hosts: Option<Vec<String>>,
    pub names: BTreeMap<String, BTreeSet<String>>,
}

/// The index and constraint names a script creates (upper-cased).
pub fn script_names(script: &crate::core::dbscript::Dbscript) -> BTreeSet<String> {
    use crate::core::sql::script::SchemaObject;
    script
        .statements
        .iter()
        .filter_map(|s| match &s.object {
            SchemaObject::Index { name, .. } | SchemaObject::Constraint { name, .. } => {
                Some(name.to_ascii_uppercase())
            }
            _ => None,
        })
        .collect()
}

/// Which candidate script built the databases: the one whose own names (those the other candidates do
/// not have) every database holds, and none of the others'. `Err` says why it cannot be told.
pub fn built_from(
    candidates: &[(PathBuf, BTreeSet<String>)],
    databases: &BTreeMap<String, BTreeSet<String>>,
) -> std::result::Result<PathBuf, String> {
    if candidates.len() < 2 {
        return Err("the dbscripts folder holds only one variant".to_string());
    }
    let own = |i: usize| -> BTreeSet<&String> {
        candidates[i]
            .1
            .iter()
            .filter(|n| {
                candidates
                    .iter()
                    .enumerate()
                    .all(|(j, (_, names))| j == i || !names.contains(*n))
            })
            .collect()
    };
    let mut verdicts = BTreeMap::new();
    for (database, names) in databases {
        let holds: Vec<usize> = (0..candidates.len())
            .filter(|i| {
                let own = own(*i);
                !own.is_empty() && own.iter().all(|n| names.contains(*n))
            })
            .collect();
        match holds.as_slice() {
            [one] => {
                verdicts.insert(database.clone(), *one);
            }
            _ => {
                return Err(format!(
                    "{database} holds the index names of {} of the variants",
                    if holds.is_empty() { "none" } else { "several" }
                ))
            }
        }
    }
    let chosen: BTreeSet<usize> = verdicts.values().copied().collect();
    match chosen.into_iter().collect::<Vec<_>>().as_slice() {
        [one] => Ok(candidates[*one].0.clone()),
        [] => Err("no database to compare".to_string()),
        _ => Err(format!(
            "the databases were built from different variants ({})",
            verdicts
                .iter()
                .map(|(db, i)| format!(
                    "{db}: {}",
                    candidates[*i]
                        .0
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Settle what the files left open with what the server says: the account's hosts and the dbscript.
pub fn apply_server(
    adopted: &mut Adopted,
    found: &ServerFindings,
    candidates: &[(PathBuf, BTreeSet<String>)],
) {
    match &found.account_hosts {
        None => adopted.notes.push(format!(
            "the account {} does not exist on the server; the first provision creates it ('{}'@'%')",
            adopted.user, adopted.user
        )),
        Some(hosts) => {
            if hosts.len() > 1 || hosts.iter().any(|h| h != "%") {
                adopted.notes.push(format!(
                    "the account {} exists on the server for the host(s) {}: the spec names them (user.{})",
                    adopted.user,
                    hosts.join(", "),
                    if hosts.len() == 1 { "host" } else { "hosts" }
                ));
            }
            adopted.account_hosts = hosts.clone();
        }
    }
    if let Some(dir) = adopted.dbscripts_dir.clone() {
        match built_from(candidates, &found.names) {
            Ok(file) => {
                adopted.notes.push(format!(
                    "the databases were built from {} (they hold that script's index names): the spec names \
                     it ([dbscripts] file), so verify compares against its columns and defaults",
                    file.file_name().unwrap_or_default().to_string_lossy()
                ));
                adopted.dbscript = AdoptedScript::File(file);
            }
            Err(why) => adopted.notes.push(format!(
                "which dbscript built the databases cannot be told ({why}); the spec names the folder {} and \
                 eidb picks by server version: set [dbscripts] file to the script you ran",
                dir.display()
            )),
        }
    }
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
        let _ = writeln!(out, "# NOTE: {}", note.replace('\n', " "));
    }
    let (first_host, first_port) = a.hosts[0].clone();
    let url = admin_url
        .map(str::to_string)
        .unwrap_or_else(|| format!("mysql://root@{first_host}:{first_port}"));
    let _ = writeln!(
        out,
        "\n[server]\nurl = {}\npassword_env = \"EIDB_ADMIN_PASSWORD\"",
        quoted(&url)
    );
    match a.style {
        JdbcUrlStyle::Single => {
            let _ = writeln!(
                out,
                "jdbc_host = {}\njdbc_port = {first_port}",
                quoted(&first_host)
            );
        }
        style => {
            let hosts: Vec<String> = a
                .hosts
                .iter()
                .map(|(h, p)| {
                    if h.contains(':') {
                        quoted(&format!("[{h}]:{p}"))
                    } else {
                        quoted(&format!("{h}:{p}"))
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "jdbc_hosts = [{}]\njdbc_url_style = {}",
                hosts.join(", "),
                quoted(match style {
                    JdbcUrlStyle::Loadbalance => "loadbalance",
                    _ => "failover",
                })
            );
        }
    }
    let _ = writeln!(out, "\n[user]\nname = {}", quoted(&a.user));
    match a.account_hosts.as_slice() {
        [] => {}
        [one] if one == "%" => {}
        [one] => {
            let _ = writeln!(out, "host = {}", quoted(one));
        }
        many => {
            let list: Vec<String> = many.iter().map(|h| quoted(h)).collect();
            let _ = writeln!(out, "hosts = [{}]", list.join(", "));
        }
    }
    let _ = writeln!(out, "password_env = \"EIDB_REGADMIN_PASSWORD\"");
    let _ = writeln!(
        out,
        "\n[databases]\nuser_store = {}\nshared_registry = {}",
        quoted(&a.user_store),
        quoted(&a.shared_registry)
    );
    if a.nodes.iter().all(|n| n.local_registry == AdoptedLocal::H2) {
        let _ = writeln!(out, "local_registry = \"h2\"");
    }
    match &a.dbscript {
        AdoptedScript::File(file) => {
            let _ = writeln!(
                out,
                "\n[dbscripts]\nfile = {}   # the variant the databases were built from",
                quoted(&file.display().to_string())
            );
        }
        AdoptedScript::Dir(dir) => {
            let _ = writeln!(
                out,
                "\n[dbscripts]\ndir = {}   # eidb picks the variant by server version: name the one you ran with `file =`",
                quoted(&dir.display().to_string())
            );
        }
        AdoptedScript::Missing => {
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
    let defaults = DatasourceNames::default();
    let mut names = String::new();
    for (role, ours, default) in [
        (
            "local_registry",
            &a.datasources.local_registry,
            &defaults.local_registry,
        ),
        (
            "shared_registry",
            &a.datasources.shared_registry,
            &defaults.shared_registry,
        ),
        (
            "user_store",
            &a.datasources.user_store,
            &defaults.user_store,
        ),
    ] {
        if ours.name != default.name {
            let _ = writeln!(names, "{role}_name = {}", quoted(&ours.name));
        }
        if ours.jndi != default.jndi {
            let _ = writeln!(names, "{role}_jndi = {}", quoted(&ours.jndi));
        }
    }
    if !names.is_empty() {
        let _ = write!(out, "\n[datasources]\n{names}");
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
    let all_h2 = a.nodes.iter().all(|n| n.local_registry == AdoptedLocal::H2);
    for node in &a.nodes {
        let _ = write!(
            out,
            "\n[[nodes]]\nname = {}\nei_home = {}\n",
            quoted(&node.name),
            quoted(&node.ei_home.display().to_string())
        );
        match &node.local_registry {
            AdoptedLocal::Mysql(local) => {
                let _ = writeln!(out, "local_registry = {}", quoted(local));
            }
            AdoptedLocal::H2 if !all_h2 => {
                let _ = writeln!(
                    out,
                    "local_registry_store = \"h2\"   # stays on its embedded H2"
                );
            }
            AdoptedLocal::H2 => {}
            AdoptedLocal::Assigned => {
                let _ = writeln!(
                    out,
                    "# local_registry: none adopted (see the NOTEs above); eidb assigns one"
                );
            }
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

/// Read the nodes (and, with `--server-url`, the server), write the spec to `--out` (refusing to
/// overwrite a file) or stdout. Returns the spec and the notes.
pub async fn run(args: &InitArgs) -> Result<(String, Vec<String>)> {
    let names = node_names(&args.ei_home);
    let mut states = Vec::new();
    for (name, home) in names.iter().zip(&args.ei_home) {
        let home = home.canonicalize().unwrap_or(home.clone());
        states.push(NodeState::read(name, &home)?);
    }
    let mut adopted = adopt(&states)?;
    match &args.server_url {
        Some(url) => {
            let candidates = candidate_scripts(adopted.dbscripts_dir.as_deref())?;
            match read_server(args, url, &adopted).await {
                Ok(found) => apply_server(&mut adopted, &found, &candidates),
                // The spec is still the files' word; what only the server knows stays open, and is said.
                Err(e) => adopted.notes.push(format!(
                    "the server could not be read ({}): the account's host is taken as '%', and which dbscript \
                     built the databases is not known (give the admin password with --admin-password-env or \
                     --admin-password-file, or set user.host and [dbscripts] file by hand)",
                    e.message
                )),
            }
        }
        None => adopted.notes.push(
            "without --server-url init reads no server: the account's host is taken as '%', and which \
             dbscript built the databases is not known (eidb picks by server version; set [dbscripts] file \
             to the script you ran)"
                .to_string(),
        ),
    }
    let text = spec_text(&adopted, args.server_url.as_deref());
    let homes: Vec<PathBuf> = adopted.nodes.iter().map(|n| n.ei_home.clone()).collect();
    let text = crate::cli::init_clustering::adopt(text, &adopted.shared_registry, &homes);
    // Never a spec provision refuses: parse it as provision will.
    let at = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("eidb-init.toml"));
    if let Err(e) = crate::core::spec::Spec::parse(&text, &at) {
        return Err(Error::input(format!(
            "the nodes' files make a spec that provision would refuse: {}",
            e.message
        ))
        .with_hint("fix what it names in the nodes' files by hand (or write the spec by hand); nothing was written"));
    }
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
    Ok((text, adopted.notes))
}

/// The variants of the Carbon script in the dbscripts folder, with the names each creates.
fn candidate_scripts(dir: Option<&Path>) -> Result<Vec<(PathBuf, BTreeSet<String>)>> {
    let Some(dir) = dir else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for name in ["mysql.sql", "mysql5.7.sql"] {
        let path = dir.join(name);
        if path.is_file() {
            let script = crate::node::dbscripts::load(&path, String::new())?;
            out.push((path, script_names(&script)));
        }
    }
    Ok(out)
}

/// The account's host parts and each database's index and constraint names, as the admin sees them.
async fn read_server(args: &InitArgs, url: &str, adopted: &Adopted) -> Result<ServerFindings> {
    use sqlx::Row;
    let password = match (&args.admin_password_env, &args.admin_password_file) {
        (Some(var), _) => crate::secret::load(&crate::secret::SecretSource::Env(var.clone()))
            .map_err(Error::input)?,
        (None, Some(file)) => crate::secret::load(&crate::secret::SecretSource::File(file.clone()))
            .map_err(Error::input)?,
        (None, None) => secrecy::SecretString::from(String::new()),
    };
    let server = crate::core::spec::Server::from_url(url)?;
    let admins = crate::server::connect::Endpoint::admins(&server, &password);
    let progress = crate::progress::Progress::new(false);
    let (_, mut admin) = crate::server::members::connect_first_usable(
        &admins,
        std::time::Duration::from_secs(10),
        &progress,
    )
    .await?;
    let fail = |e: sqlx::Error| {
        crate::server::connect::statement_error(&e, "eidb init: reading the server")
    };
    let hosts: Vec<String> =
        sqlx::query("SELECT Host FROM mysql.user WHERE User = ? ORDER BY Host")
            .bind(&adopted.user)
            .fetch_all(&mut admin)
            .await
            .map_err(fail)?
            .iter()
            .filter_map(|row| row.try_get_unchecked::<String, _>(0).ok())
            .collect();
    let mut names = BTreeMap::new();
    for database in databases(adopted) {
        let rows = sqlx::query(
            "SELECT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? \
             UNION SELECT CONSTRAINT_NAME FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = ?",
        )
        .bind(&database)
        .bind(&database)
        .fetch_all(&mut admin)
        .await
        .map_err(fail)?;
        let found: BTreeSet<String> = rows
            .iter()
            .filter_map(|row| row.try_get_unchecked::<String, _>(0).ok())
            .map(|n| n.to_ascii_uppercase())
            .collect();
        if !found.is_empty() {
            names.insert(database, found);
        }
    }
    crate::server::connect::close(admin).await;
    Ok(ServerFindings {
        account_hosts: (!hosts.is_empty()).then_some(hosts),
        names,
    })
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

    fn adopted() -> Adopted {
        Adopted {
            hosts: vec![("db".into(), 3306)],
            style: JdbcUrlStyle::Single,
            user: "regadmin".into(),
            account_hosts: Vec::new(),
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
            datasources: DatasourceNames::default(),
            dbscript: AdoptedScript::Missing,
            dbscripts_dir: None,
            nodes: vec![
                AdoptedNode {
                    name: "node1".into(),
                    ei_home: "/opt/n1".into(),
                    local_registry: AdoptedLocal::Mysql("local_one".into()),
                },
                AdoptedNode {
                    name: "node2".into(),
                    ei_home: "/opt/n2".into(),
                    local_registry: AdoptedLocal::H2,
                },
            ],
            notes: vec!["a choice".into()],
        }
    }

    fn parsed(text: &str) -> crate::core::spec::Spec {
        crate::core::spec::Spec::parse(text, Path::new("/t/adopted.toml"))
            .unwrap_or_else(|e| panic!("{}\n{text}", e.message))
    }

    #[test]
    fn the_spec_keeps_the_parameters_and_each_nodes_database() {
        let text = spec_text(&adopted(), None);
        assert!(
            text.contains("parameters = \"autoReconnect=true\""),
            "{text}"
        );
        assert!(text.contains("local_registry = \"local_one\""), "{text}");
        assert!(text.contains("url = \"mysql://root@db:3306\""), "{text}");
        assert!(text.contains("# NOTE: a choice"), "{text}");
        let spec = parsed(&text);
        assert_eq!(
            spec.nodes[1].local_registry_store,
            crate::core::spec::LocalRegistryStore::EmbeddedH2
        );
        assert_eq!(spec.nodes[0].local_registry.as_deref(), Some("local_one"));
    }

    #[test]
    fn failover_and_loadbalance_urls_are_written_back_as_jdbc_hosts() {
        let mut a = adopted();
        a.hosts = vec![("h1".into(), 3306), ("h2".into(), 3307)];
        for style in [JdbcUrlStyle::Failover, JdbcUrlStyle::Loadbalance] {
            a.style = style;
            let spec = parsed(&spec_text(&a, None));
            assert_eq!(spec.server.jdbc_hosts, a.hosts);
            assert_eq!(spec.server.jdbc_url_style, style);
        }
    }

    #[test]
    fn names_hosts_and_the_script_are_written() {
        let mut a = adopted();
        a.datasources.shared_registry = DatasourceName {
            name: "WSO2_SHARED_REG".into(),
            jndi: "jdbc/WSO2SharedDB".into(),
        };
        a.account_hosts = vec!["10.0.%".into()];
        a.dbscript = AdoptedScript::File("/opt/n1/dbscripts/mysql.sql".into());
        let spec = parsed(&spec_text(&a, None));
        assert_eq!(
            spec.datasources.shared_registry,
            a.datasources.shared_registry
        );
        assert_eq!(spec.account.hosts, ["10.0.%"]);
        assert!(matches!(
            spec.dbscript,
            crate::core::spec::DbscriptSource::File(ref f) if f.ends_with("mysql.sql")
        ));
    }

    #[test]
    fn the_script_variant_is_told_by_its_own_index_names() {
        let set =
            |names: &[&str]| -> BTreeSet<String> { names.iter().map(|n| n.to_string()).collect() };
        let candidates = vec![
            (
                PathBuf::from("mysql.sql"),
                set(&["COMMON", "REG_LOG_IND_BY_REG_LOGTIME"]),
            ),
            (
                PathBuf::from("mysql5.7.sql"),
                set(&["COMMON", "REG_LOG_IND_BY_REGLOG"]),
            ),
        ];
        let dbs = |names: &[&[&str]]| -> BTreeMap<String, BTreeSet<String>> {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (format!("db{i}"), set(n)))
                .collect()
        };
        assert_eq!(
            built_from(
                &candidates,
                &dbs(&[&["COMMON", "REG_LOG_IND_BY_REG_LOGTIME"]])
            ),
            Ok(PathBuf::from("mysql.sql"))
        );
        assert_eq!(
            built_from(&candidates, &dbs(&[&["COMMON", "REG_LOG_IND_BY_REGLOG"]])),
            Ok(PathBuf::from("mysql5.7.sql"))
        );
        assert!(built_from(&candidates, &dbs(&[&["COMMON"]])).is_err());
        assert!(built_from(
            &candidates,
            &dbs(&[&["REG_LOG_IND_BY_REGLOG"], &["REG_LOG_IND_BY_REG_LOGTIME"]])
        )
        .unwrap_err()
        .contains("different variants"));
        assert!(built_from(&candidates[..1], &dbs(&[&["COMMON"]])).is_err());
    }
}
