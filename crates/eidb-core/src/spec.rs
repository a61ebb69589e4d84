//! The cluster spec: a TOML file, parsed and validated into a [`Spec`].
//!
//! Validation is complete before anything touches a server or a file: unknown keys, unknown values,
//! bad identifiers and duplicate node names are all reported here, with the key and its line, as bad
//! input. Parsing reads nothing: the spec says *where* each password comes from ([`PasswordSource`]),
//! and `eidb::secret::Secrets::read` reads them once, at the edge, before anything uses them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::spanned::Spanned;

/// Longest identifier MySQL accepts for a database.
const MAX_IDENTIFIER_LEN: usize = 64;
/// Longest account name MySQL 5.7+ accepts (MariaDB allows 80; we keep to the stricter one).
const MAX_ACCOUNT_NAME_LEN: usize = 32;
/// Longest account host part MySQL 8.0.17+ accepts.
const MAX_ACCOUNT_HOST_LEN: usize = 255;
/// Longest node name the ledger keeps (`eidb_node.node VARCHAR(64)`, migrations/0002_ownership.sql).
const MAX_NODE_NAME_LEN: usize = 64;
/// The schemas the server keeps for itself (MySQL and MariaDB): never a cluster database. A dbscript run
/// into `mysql` and `GRANT ALL ON mysql.*` would let the nodes' account write its own privileges.
const SYSTEM_SCHEMAS: [&str; 4] = ["mysql", "information_schema", "performance_schema", "sys"];

// ---------------------------------------------------------------------------------------------------------
// The file as written (serde). Every field that validation may complain about is `Spanned`, for its line.
// ---------------------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    #[serde(default)]
    cluster: RawCluster,
    server: RawServer,
    user: RawUser,
    #[serde(default)]
    databases: RawDatabases,
    dbscripts: RawDbscripts,
    #[serde(default)]
    jdbc: RawJdbc,
    #[serde(default)]
    registry: RawRegistry,
    #[serde(default)]
    secure_vault: RawSecureVault,
    #[serde(default)]
    node_files: RawNodeFiles,
    #[serde(default)]
    datasources: RawDatasources,
    #[serde(default)]
    nodes: Vec<RawNode>,
    clustering: Option<crate::clustering::RawClustering>,
    load_balancer: Option<crate::clustering::RawLoadBalancer>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    name: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawServer {
    url: Option<Spanned<String>>,
    urls: Option<Spanned<Vec<String>>>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    ssl_mode: Option<Spanned<SslMode>>,
    ssl_ca: Option<Spanned<String>>,
    jdbc_host: Option<Spanned<String>>,
    jdbc_port: Option<Spanned<u16>>,
    jdbc_hosts: Option<Spanned<Vec<String>>>,
    jdbc_url_style: Option<Spanned<JdbcUrlStyle>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawUser {
    name: Spanned<String>,
    #[serde(default = "default_account_host")]
    host: Spanned<String>,
    hosts: Option<Spanned<Vec<String>>>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    auth_plugin: Option<Spanned<AuthPluginChoice>>,
    privileges: Option<Spanned<PrivilegeSet>>,
}

fn default_account_host() -> Spanned<String> {
    Spanned::new(0..0, "%".to_string())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct RawDatabases {
    user_store: Spanned<String>,
    shared_registry: Spanned<String>,
    local_registry_prefix: Spanned<String>,
    charset: Spanned<String>,
    local_registry: Spanned<LocalRegistryStore>,
    metadata: Spanned<String>,
    /// Existing databases of the cluster that eidb takes over although they hold tables the dbscript
    /// does not make (without this, such a database is someone else's: a conflict).
    adopt: Option<Spanned<Vec<String>>>,
}

impl Default for RawDatabases {
    fn default() -> Self {
        let at = |s: &str| Spanned::new(0..0, s.to_string());
        RawDatabases {
            user_store: at("WSO2_USER_DB"),
            shared_registry: at("REGISTRY_DB"),
            local_registry_prefix: at("REGISTRY_LOCAL"),
            charset: at("auto"),
            local_registry: Spanned::new(0..0, LocalRegistryStore::Mysql),
            metadata: at("EIDB_META"),
            adopt: None,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawDbscripts {
    dir: Option<Spanned<String>>,
    file: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawJdbc {
    parameters: Option<Spanned<String>>,
    use_ssl: Option<bool>,
    require_ssl: Option<bool>,
    verify_server_certificate: Option<bool>,
    allow_public_key_retrieval: Option<bool>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawSecureVault {
    enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawNodeFiles {
    keep_mode: Option<bool>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    remote_instance_url: Option<String>,
    instance_id: Option<Spanned<String>>,
    db_config: Option<Spanned<String>>,
    config_mount_target: Option<Spanned<String>>,
    governance_mount_target: Option<Spanned<String>>,
    mount_overwrite: Option<Spanned<MountOverwrite>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawNode {
    name: Spanned<String>,
    ei_home: Spanned<String>,
    local_registry: Option<Spanned<String>>,
    /// `"h2"`: this node's local registry stays on its embedded H2 (`databases.local_registry` for one node).
    local_registry_store: Option<Spanned<LocalRegistryStore>>,
    renamed_from: Option<Spanned<String>>,
    /// The address the node runs at (an IP address: Hazelcast's `localMemberHost`).
    host: Option<Spanned<String>>,
    /// carbon.xml `<Ports><Offset>`: distinct for nodes that share a host.
    port_offset: Option<Spanned<u16>>,
    /// This node's Hazelcast port instead of `clustering.member_port`.
    member_port: Option<Spanned<u16>>,
}

/// `[datasources]`: the names and JNDI names of the three datasources in master-datasources.xml.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawDatasources {
    local_registry_name: Option<Spanned<String>>,
    local_registry_jndi: Option<Spanned<String>>,
    shared_registry_name: Option<Spanned<String>>,
    shared_registry_jndi: Option<Spanned<String>>,
    user_store_name: Option<Spanned<String>>,
    user_store_jndi: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------------------------------------
// The validated spec.
// ---------------------------------------------------------------------------------------------------------

#[derive(Debug)]
pub struct Spec {
    pub path: PathBuf,
    /// The cluster's identity in eidb's ledger (`[cluster] name`; by default the shared registry
    /// database's name, which no two clusters on one server can share). The ledger records which
    /// cluster manages which databases, so one cluster never takes away what another granted.
    pub cluster: String,
    pub server: Server,
    pub account: Account,
    pub databases: Databases,
    pub dbscript: DbscriptSource,
    pub jdbc: Jdbc,
    pub registry: RegistryLayout,
    pub node_files: NodeFiles,
    /// The datasources' names and JNDI names (`[datasources]`; WSO2's names by default).
    pub datasources: DatasourceNames,
    pub nodes: Vec<Node>,
    /// `[clustering]`: without it eidb leaves the clustering files alone.
    pub clustering: Option<crate::clustering::Clustering>,
    /// `[load_balancer]`: without it eidb leaves the load balancer's names and ports alone.
    pub load_balancer: Option<crate::clustering::LoadBalancer>,
}

/// A datasource's `<name>` and `<jndiConfig><name>` in master-datasources.xml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasourceName {
    pub name: String,
    pub jndi: String,
}

/// `[datasources]`: what the three datasources are called (a cluster built by hand may call the shared
/// registry's `WSO2_SHARED_REG` / `jdbc/WSO2SharedDB`); by default the names the WSO2 guide uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasourceNames {
    pub local_registry: DatasourceName,
    pub shared_registry: DatasourceName,
    pub user_store: DatasourceName,
}

impl Default for DatasourceNames {
    fn default() -> Self {
        let named = |name: &str, jndi: &str| DatasourceName {
            name: name.to_string(),
            jndi: jndi.to_string(),
        };
        DatasourceNames {
            local_registry: named("WSO2_CARBON_DB", "jdbc/WSO2CarbonDB"),
            shared_registry: named("WSO2_REGISTRY_DB", "jdbc/WSO2RegistryDB"),
            user_store: named("WSO2_UM_DB", "jdbc/WSO2UMDB"),
        }
    }
}

/// `[node_files]`: how eidb treats the nodes' files beyond their content.
#[derive(Debug, Default)]
pub struct NodeFiles {
    /// Keep the mode of a file that holds a plaintext password even when other users can read it
    /// (eidb then warns on every run); by default eidb takes the others' permissions away.
    pub keep_mode: bool,
}

#[derive(Debug)]
pub struct Server {
    /// Host and port of the admin connection: the first of `endpoints`.
    pub host: String,
    pub port: u16,
    /// Every database host eidb may provision through, in order of preference (`urls`; one for `url`).
    pub endpoints: Vec<(String, u16)>,
    pub admin_user: String,
    /// Where the admin's password comes from (read by `secret::Secrets::read`).
    pub admin_password: PasswordSource,
    pub ssl: AdminTls,
    /// `file:line: server.ssl_ca`, for the message when that file is missing (looked for at the edge,
    /// not while parsing).
    pub ssl_ca_at: Option<String>,
    /// Host and port the nodes put in their JDBC URLs (the first of `jdbc_hosts`).
    pub jdbc_host: String,
    pub jdbc_port: u16,
    /// Every `host:port` of a multi-host JDBC URL.
    pub jdbc_hosts: Vec<(String, u16)>,
    pub jdbc_url_style: JdbcUrlStyle,
}

/// Where a password comes from, as the spec says; nothing is read while the spec is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// `password_env` or `password_file`; `at` is `file:line: key` of that key, for messages.
    Named { source: SecretSource, at: String },
    /// Neither key in `[server]`: the empty password (the admin account of a fresh server).
    Empty,
    /// Neither key in `[user]`: asked on the terminal without echo; `spec` names the spec file.
    Prompt {
        section: &'static str,
        spec: PathBuf,
    },
}

/// TLS of the admin connection, as sqlx offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminTls {
    pub mode: SslMode,
    pub ca: Option<PathBuf>,
}

/// `server.ssl_mode`: TLS of eidb's own connections, sqlx's (and the mysql client's) modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SslMode {
    /// No TLS.
    Disabled,
    /// TLS when the server offers it (the default).
    #[default]
    Preferred,
    /// TLS or no connection; the certificate is not checked.
    Required,
    /// TLS with a certificate signed by `ssl_ca`.
    VerifyCa,
    /// As verify_ca, and the certificate names the host connected to.
    VerifyIdentity,
}

/// How the nodes' JDBC URLs name several database hosts (Connector/J forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JdbcUrlStyle {
    /// `jdbc:mysql://host:port/DB` (one address: a server, a load balancer or a VIP).
    Single,
    /// `jdbc:mysql://h1:p1,h2:p2/DB`: Connector/J fails over in order.
    Failover,
    /// `jdbc:mysql:loadbalance://h1:p1,h2:p2/DB`: Connector/J spreads connections.
    Loadbalance,
}

#[derive(Debug)]
pub struct Account {
    pub name: String,
    /// The account's host parts (`host`, or several with `hosts`): one account row per host, all alike.
    pub hosts: Vec<String>,
    /// Where the account's password comes from (read by `secret::Secrets::read`).
    pub password: PasswordSource,
    pub auth_plugin: AuthPluginChoice,
    pub privileges: PrivilegeSet,
    /// `file:line: user.name` and `file:line: user.host(s)`, for the pre-flight's messages when the
    /// server allows shorter names than the spec does (older MySQL and MariaDB).
    pub name_at: String,
    pub hosts_at: String,
}

/// What the account gets on each provisioned database (`user.privileges`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PrivilegeSet {
    /// `ALL PRIVILEGES` (what the WSO2 guide does).
    #[default]
    All,
    /// The narrower set WSO2 needs (see `desired::WSO2_PRIVILEGES`).
    Wso2,
}

/// The account's authentication plugin (`user.auth_plugin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthPluginChoice {
    /// Pick what suits the server and the nodes' JDBC driver.
    #[default]
    Auto,
    /// What Connector/J 5.1 can speak.
    MysqlNativePassword,
    /// MySQL 8's default; needs Connector/J 8 on every node.
    CachingSha2Password,
}

impl AuthPluginChoice {
    /// The plugin's name in SQL, `None` for `auto`.
    pub fn plugin(self) -> Option<&'static str> {
        match self {
            AuthPluginChoice::Auto => None,
            AuthPluginChoice::MysqlNativePassword => Some("mysql_native_password"),
            AuthPluginChoice::CachingSha2Password => Some("caching_sha2_password"),
        }
    }
}

#[derive(Debug)]
pub struct Databases {
    pub user_store: String,
    pub shared_registry: String,
    pub local_registry_prefix: String,
    pub charset: CharsetChoice,
    pub local_registry: LocalRegistryStore,
    /// eidb's own bookkeeping database (ledger and run lock).
    pub metadata: String,
    /// `databases.adopt`: cluster databases eidb may take over although they exist, are recorded for no
    /// cluster, and hold tables the dbscript does not make.
    pub adopt: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CharsetChoice {
    /// latin1 when the server runs on Windows, else the server's default.
    Auto,
    Named(String),
}

/// Where each node's local registry lives (`databases.local_registry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum LocalRegistryStore {
    /// One `<prefix><i>` database per node on the MySQL server.
    #[serde(rename = "mysql")]
    Mysql,
    /// The embedded H2 database each node ships with: no local databases are created and
    /// `WSO2_CARBON_DB` is left as it is.
    #[serde(rename = "h2")]
    EmbeddedH2,
}

#[derive(Debug, Clone)]
pub enum DbscriptSource {
    /// `<EI_HOME>/dbscripts`-like folder: `mysql5.7.sql` or `mysql.sql` is picked by server version.
    Dir(PathBuf),
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Jdbc {
    /// The URLs' query string exactly as the nodes have it (`[jdbc] parameters`, e.g. the WSO2 guide's
    /// `autoReconnect=true`), instead of the one eidb derives from the keys below.
    pub parameters: Option<String>,
    pub use_ssl: bool,
    /// With TLS: `requireSSL` and `verifyServerCertificate` in the URLs (None: not written).
    pub require_ssl: Option<bool>,
    pub verify_server_certificate: Option<bool>,
    /// Write passwords as WSO2 Secure Vault aliases (plain values in conf/security/cipher-text.properties).
    pub secure_vault: bool,
    /// `None`: decided from the server and the nodes' driver.
    pub allow_public_key_retrieval: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct RegistryLayout {
    pub remote_instance_url: String,
    pub instance_id: String,
    pub db_config: String,
    pub config_mount_target: String,
    pub governance_mount_target: String,
    pub mount_overwrite: MountOverwrite,
}

/// The `overwrite` attribute of the `<mount>`s eidb writes (`registry.mount_overwrite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MountOverwrite {
    /// Carbon replaces what is at the mount path (eidb's default).
    #[default]
    True,
    /// Carbon mounts only where nothing is yet.
    False,
    /// Carbon mounts over what is there without deleting it.
    Virtual,
}

impl MountOverwrite {
    /// The attribute's value in registry.xml.
    pub fn as_str(self) -> &'static str {
        match self {
            MountOverwrite::True => "true",
            MountOverwrite::False => "false",
            MountOverwrite::Virtual => "virtual",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub ei_home: PathBuf,
    /// The node's local registry database, named in the spec (`local_registry`); by default the one the
    /// ledger recorded for the node, or the next free `<prefix><n>` for a new node.
    pub local_registry: Option<String>,
    /// The node's earlier name (`renamed_from`): it keeps the database recorded under that name.
    pub renamed_from: Option<String>,
    /// Where this node's local registry lives: the node's `local_registry_store`, else
    /// `databases.local_registry`.
    pub local_registry_store: LocalRegistryStore,
    /// The address the node runs at (`host`), when the spec says.
    pub host: Option<std::net::IpAddr>,
    /// carbon.xml `<Ports><Offset>` (`port_offset`, default 0).
    pub port_offset: u16,
    /// The node's own Hazelcast port (`member_port`), else the cluster's.
    pub member_port: Option<u16>,
}

/// Where a secret is: an environment variable or a file (read by `eidb::secret::load`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
}

// ---------------------------------------------------------------------------------------------------------

impl Spec {
    /// Parse and validate spec text; `path` names the file in messages and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Spec> {
        let located = Locator { text, path };
        let raw: RawSpec = toml::from_str(text).map_err(|e| located.toml_error(&e))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        validate(raw, &located, &base)
    }
}

/// Turns byte spans into "file:line" prefixes for messages.
struct Locator<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Locator<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn at<T>(&self, key: &str, value: &Spanned<T>) -> String {
        let span = value.span();
        if span.start == 0 && span.end == 0 {
            format!("{}: {key} (default)", self.path.display())
        } else {
            format!(
                "{}:{}: {key}",
                self.path.display(),
                self.line_of(span.start)
            )
        }
    }

    fn invalid<T>(&self, key: &str, value: &Spanned<T>, problem: impl std::fmt::Display) -> Error {
        Error::input(format!("{}: {problem}", self.at(key, value)))
    }

    /// `section.key` of the `key = value` line at `offset` (`None` elsewhere, e.g. inside an array
    /// spread over lines). Only the key: the value may be a secret typed in by mistake.
    fn key_at(&self, offset: usize) -> Option<String> {
        let offset = offset.min(self.text.len());
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line = self.text[line_start..].lines().next().unwrap_or_default();
        let (key, _) = line.split_once('=')?;
        let key = key.trim();
        let bare = |k: &str| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        };
        if !bare(key) {
            return None;
        }
        let section = self.text[..line_start].lines().rev().find_map(|l| {
            let l = l.trim();
            let name = l.strip_prefix("[[").and_then(|l| l.strip_suffix("]]"));
            let name = name.or_else(|| l.strip_prefix('[').and_then(|l| l.strip_suffix(']')));
            name.map(str::trim).filter(|n| bare(n))
        });
        Some(match section {
            Some(section) => format!("{section}.{key}"),
            None => key.to_string(),
        })
    }

    fn toml_error(&self, e: &toml::de::Error) -> Error {
        let line = e.span().map(|s| self.line_of(s.start));
        let key = e.span().and_then(|s| self.key_at(s.start));
        let place = match (line, key) {
            (Some(line), Some(key)) => format!("{}:{line}: {key}", self.path.display()),
            (Some(line), None) => format!("{}:{line}", self.path.display()),
            (None, _) => self.path.display().to_string(),
        };
        // The toml message repeats the offending line; that may hold a secret typed in by mistake, so keep
        // only its first line (the description) - the file and line are enough to find it.
        let message = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_string();
        // A key with a fixed set of values: serde says "unknown variant `x`, expected one of `a`, `b`"
        // (or "expected `a` or `b`"); say it in the spec's words.
        if let Some((value, allowed)) = message
            .strip_prefix("unknown variant ")
            .and_then(|rest| rest.split_once(", expected "))
        {
            let allowed = allowed.strip_prefix("one of ").unwrap_or(allowed);
            return Error::input(format!(
                "{place}: {value} is not a value this key takes; use {allowed}"
            ))
            .with_hint("the spec reference in the README says what each value means");
        }
        Error::input(format!("{place}: {message}"))
            .with_hint("see the spec reference in the README for the keys eidb knows")
    }
}

fn validate(raw: RawSpec, at: &Locator<'_>, base: &Path) -> Result<Spec> {
    let server = validate_server(&raw.server, at, base)?;
    let account = validate_account(&raw.user, at, base)?;
    let databases = validate_databases(&raw.databases, raw.nodes.len(), at)?;
    let dbscript = match (&raw.dbscripts.dir, &raw.dbscripts.file) {
        (Some(dir), None) => DbscriptSource::Dir(resolve(base, dir.get_ref())),
        (None, Some(file)) => DbscriptSource::File(resolve(base, file.get_ref())),
        (Some(dir), Some(_)) => {
            return Err(at.invalid("dbscripts", dir, "set either `dir` or `file`, not both"))
        }
        (None, None) => {
            return Err(Error::input(format!(
            "{}: [dbscripts] needs `dir` (an EI_HOME/dbscripts folder) or `file` (one .sql script)",
            at.path.display()
        )))
        }
    };
    if let Some(parameters) = &raw.jdbc.parameters {
        let derived_keys = raw.jdbc.use_ssl.is_some()
            || raw.jdbc.require_ssl.is_some()
            || raw.jdbc.verify_server_certificate.is_some()
            || raw.jdbc.allow_public_key_retrieval.is_some();
        if derived_keys {
            return Err(at
                .invalid(
                    "jdbc.parameters",
                    parameters,
                    "set either `parameters` or use_ssl / require_ssl / verify_server_certificate / allow_public_key_retrieval",
                )
                .with_hint("`parameters` is the URLs' query string as it is; the other keys let eidb write it"));
        }
        if let Some(bad) = parameters
            .get_ref()
            .chars()
            .find(|c| c.is_whitespace() || "?#<>\"'".contains(*c))
        {
            return Err(at.invalid(
                "jdbc.parameters",
                parameters,
                format!("contains `{bad}`; write key=value pairs joined by &, e.g. \"autoReconnect=true&useSSL=false\""),
            ));
        }
    }
    let parameters = raw.jdbc.parameters.as_ref().map(|p| p.get_ref().clone());
    // With the query string given as it is, the nodes use TLS when it says so.
    let use_ssl = match &parameters {
        Some(p) => p.split('&').any(|kv| {
            kv.eq_ignore_ascii_case("useSSL=true") || kv.eq_ignore_ascii_case("requireSSL=true")
        }),
        None => raw.jdbc.use_ssl.unwrap_or(false),
    };
    if !use_ssl && (raw.jdbc.require_ssl.is_some() || raw.jdbc.verify_server_certificate.is_some())
    {
        return Err(Error::input(format!(
            "{}: [jdbc] require_ssl and verify_server_certificate need use_ssl = true",
            at.path.display()
        )));
    }
    let jdbc = Jdbc {
        parameters,
        use_ssl,
        require_ssl: raw.jdbc.require_ssl,
        verify_server_certificate: raw.jdbc.verify_server_certificate,
        secure_vault: raw.secure_vault.enabled.unwrap_or(false),
        allow_public_key_retrieval: raw.jdbc.allow_public_key_retrieval,
    };
    let registry = validate_registry(&raw.registry, at)?;
    let mut nodes = validate_nodes(&raw.nodes, &databases, at, base, databases.local_registry)?;
    let datasources = validate_datasources(&raw.datasources, at)?;
    if let Some(list) = &raw.databases.adopt {
        for name in list.get_ref() {
            let cluster_database = [&databases.user_store, &databases.shared_registry]
                .into_iter()
                .chain(nodes.iter().filter_map(|n| n.local_registry.as_ref()))
                .any(|db| db.eq_ignore_ascii_case(name))
                || (databases.local_registry == LocalRegistryStore::Mysql
                    && derived_local_number(name, &databases.local_registry_prefix).is_some());
            if !cluster_database {
                return Err(at
                    .invalid(
                        "databases.adopt",
                        list,
                        format!("`{name}` is not a database of this cluster"),
                    )
                    .with_hint("adopt names the cluster's own databases (user_store, shared_registry, a local registry) that already exist with tables of their own"));
            }
        }
    }
    let cluster = match &raw.cluster.name {
        Some(name) => {
            validate_cluster_name(name.get_ref())
                .map_err(|problem| at.invalid("cluster.name", name, problem))?;
            name.get_ref().clone()
        }
        None => databases.shared_registry.clone(),
    };
    let (clustering, load_balancer) = validate_clustering(&raw, &mut nodes, &cluster, at, base)?;
    Ok(Spec {
        path: at.path.to_path_buf(),
        cluster,
        server,
        account,
        databases,
        dbscript,
        jdbc,
        registry,
        node_files: NodeFiles {
            keep_mode: raw.node_files.keep_mode.unwrap_or(false),
        },
        datasources,
        nodes,
        clustering,
        load_balancer,
    })
}

fn validate_server(raw: &RawServer, at: &Locator<'_>, base: &Path) -> Result<Server> {
    let urls: Vec<Spanned<String>> = match (&raw.url, &raw.urls) {
        (Some(url), None) => vec![url.clone()],
        (None, Some(urls)) if !urls.get_ref().is_empty() => urls
            .get_ref()
            .iter()
            .map(|u| Spanned::new(urls.span(), u.clone()))
            .collect(),
        (None, Some(urls)) => return Err(at.invalid("server.urls", urls, "lists no server")),
        (Some(url), Some(_)) => {
            return Err(at.invalid("server.url", url, "set either `url` or `urls`, not both"))
        }
        (None, None) => {
            return Err(Error::input(format!(
                "{}: [server] needs `url` (or `urls` for a cluster of servers)",
                at.path.display()
            ))
            .with_hint("write url = \"mysql://root@HOST:3306\""))
        }
    };
    let mut endpoints = Vec::new();
    let mut admin_user = None;
    for url in &urls {
        let (user, host, port) = parse_server_url(url, at)?;
        if admin_user.as_ref().is_some_and(|u| u != &user) {
            return Err(at.invalid(
                "server.urls",
                url,
                "every URL must name the same admin user",
            ));
        }
        admin_user = Some(user);
        endpoints.push((host, port));
    }
    let (host, port) = endpoints[0].clone();
    let admin_password = password_source(
        "server",
        raw.password_env.as_ref(),
        raw.password_file.as_ref(),
        at,
        base,
        SecretRequirement::Optional,
    )?;
    let ssl_mode = value_or_default(&raw.ssl_mode);
    let ca = raw.ssl_ca.as_ref().map(|c| resolve(base, c.get_ref()));
    let ssl_ca_at = raw.ssl_ca.as_ref().map(|c| at.at("server.ssl_ca", c));
    let jdbc_hosts = match (&raw.jdbc_hosts, &raw.jdbc_host) {
        (Some(list), None) => {
            let mut hosts = Vec::new();
            for entry in list.get_ref() {
                let (h, p) = match entry.rsplit_once(':') {
                    Some((h, p)) if !h.contains(':') || h.starts_with('[') => (
                        h.to_string(),
                        p.parse::<u16>().map_err(|_| {
                            at.invalid(
                                "server.jdbc_hosts",
                                list,
                                format!("`{entry}` has no valid port"),
                            )
                        })?,
                    ),
                    _ => (entry.clone(), port),
                };
                validate_host_name(&h).map_err(|p| at.invalid("server.jdbc_hosts", list, p))?;
                hosts.push((h, p));
            }
            if hosts.is_empty() {
                return Err(at.invalid("server.jdbc_hosts", list, "lists no host"));
            }
            hosts
        }
        (Some(list), Some(_)) => {
            return Err(at.invalid(
                "server.jdbc_hosts",
                list,
                "set either jdbc_host or jdbc_hosts, not both",
            ))
        }
        (None, host_key) => {
            let jdbc_host = match host_key {
                Some(h) => {
                    validate_host_name(h.get_ref())
                        .map_err(|p| at.invalid("server.jdbc_host", h, p))?;
                    h.get_ref().clone()
                }
                None => host.clone(),
            };
            vec![(
                jdbc_host,
                raw.jdbc_port.as_ref().map(|p| *p.get_ref()).unwrap_or(port),
            )]
        }
    };
    let jdbc_url_style = match &raw.jdbc_url_style {
        Some(style) => *style.get_ref(),
        None if jdbc_hosts.len() > 1 => JdbcUrlStyle::Failover,
        None => JdbcUrlStyle::Single,
    };
    if jdbc_url_style == JdbcUrlStyle::Single && jdbc_hosts.len() > 1 {
        return Err(Error::input(format!(
            "{}: server.jdbc_url_style = \"single\" takes one host, but jdbc_hosts lists {}",
            at.path.display(),
            jdbc_hosts.len()
        )));
    }
    let (jdbc_host, jdbc_port) = jdbc_hosts[0].clone();
    Ok(Server {
        host,
        port,
        endpoints,
        admin_user: admin_user.unwrap_or_else(|| "root".to_string()),
        admin_password,
        ssl: AdminTls { mode: ssl_mode, ca },
        ssl_ca_at,
        jdbc_host,
        jdbc_port,
        jdbc_hosts,
        jdbc_url_style,
    })
}

impl Server {
    /// A server given on the command line (`verify --server-url`), not in a spec. The admin's password
    /// is the command line's too (`--admin-password-env` / `--admin-password-file`): its caller reads it.
    pub fn from_url(url: &str) -> Result<Server> {
        let at = Locator {
            text: "",
            path: Path::new("--server-url"),
        };
        let (admin_user, host, port) = parse_server_url(&Spanned::new(0..0, url.to_string()), &at)?;
        Ok(Server {
            host: host.clone(),
            port,
            endpoints: vec![(host.clone(), port)],
            admin_user,
            admin_password: PasswordSource::Empty,
            ssl: AdminTls {
                mode: SslMode::Preferred,
                ca: None,
            },
            ssl_ca_at: None,
            jdbc_host: host.clone(),
            jdbc_port: port,
            jdbc_hosts: vec![(host, port)],
            jdbc_url_style: JdbcUrlStyle::Single,
        })
    }
}

/// `mysql://USER@HOST:PORT` -> (user, host, port). Never echoes the URL: it may hold a password by mistake.
fn parse_server_url(raw: &Spanned<String>, at: &Locator<'_>) -> Result<(String, String, u16)> {
    let url = url::Url::parse(raw.get_ref())
        .map_err(|e| at.invalid("server.url", raw, format!("not a valid URL ({e})")))?;
    if url.scheme() != "mysql" && url.scheme() != "mariadb" {
        return Err(at
            .invalid(
                "server.url",
                raw,
                format!("scheme `{}` is not supported", url.scheme()),
            )
            .with_hint("write it as mysql://USER@HOST:PORT"));
    }
    if url.password().is_some() {
        return Err(at
            .invalid("server.url", raw, "the URL contains a password")
            .with_hint(
                "remove it from the URL and use server.password_env or server.password_file",
            ));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| at.invalid("server.url", raw, "the URL has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let user = match url.username() {
        "" => "root".to_string(),
        user => percent_decode(user),
    };
    Ok((user, host, url.port().unwrap_or(3306)))
}

fn validate_account(raw: &RawUser, at: &Locator<'_>, base: &Path) -> Result<Account> {
    let name = raw.name.get_ref();
    if name.is_empty() || name.len() > MAX_ACCOUNT_NAME_LEN || !name.chars().all(is_account_char) {
        return Err(at
            .invalid("user.name", &raw.name, format!("`{name}` is not a valid account name"))
            .with_hint(format!(
                "use 1 to {MAX_ACCOUNT_NAME_LEN} letters, digits, `_`, `.` or `-`, e.g. \"regadmin\""
            )));
    }
    let hint =
        "use `%`, a host name, an IP address, a pattern like `10.0.%` or `10.0.0.0/255.255.255.0`";
    let hosts = match &raw.hosts {
        Some(list) => {
            if raw.host.span() != (0..0) {
                return Err(at.invalid(
                    "user.hosts",
                    list,
                    "set either `host` or `hosts`, not both",
                ));
            }
            if list.get_ref().is_empty() {
                return Err(at.invalid("user.hosts", list, "lists no host"));
            }
            for host in list.get_ref() {
                validate_account_host(host)
                    .map_err(|problem| at.invalid("user.hosts", list, problem).with_hint(hint))?;
            }
            list.get_ref().clone()
        }
        None => {
            validate_account_host(raw.host.get_ref())
                .map_err(|problem| at.invalid("user.host", &raw.host, problem).with_hint(hint))?;
            vec![raw.host.get_ref().clone()]
        }
    };
    let privileges = value_or_default(&raw.privileges);
    let password = password_source(
        "user",
        raw.password_env.as_ref(),
        raw.password_file.as_ref(),
        at,
        base,
        SecretRequirement::Required,
    )?;
    let auth_plugin = value_or_default(&raw.auth_plugin);
    Ok(Account {
        name: name.clone(),
        hosts,
        password,
        auth_plugin,
        privileges,
        name_at: at.at("user.name", &raw.name),
        hosts_at: match &raw.hosts {
            Some(list) => at.at("user.hosts", list),
            None => at.at("user.host", &raw.host),
        },
    })
}

fn validate_databases(
    raw: &RawDatabases,
    node_count: usize,
    at: &Locator<'_>,
) -> Result<Databases> {
    let local_registry = *raw.local_registry.get_ref();
    for (key, value) in [
        ("databases.user_store", &raw.user_store),
        ("databases.shared_registry", &raw.shared_registry),
        ("databases.metadata", &raw.metadata),
    ] {
        validate_identifier(value.get_ref(), MAX_IDENTIFIER_LEN)
            .map_err(|p| at.invalid(key, value, p))?;
        refuse_system_schema(key, value, at)?;
    }
    // The longest local database name is the prefix plus the highest node number.
    let longest_suffix = node_count.max(1).to_string().len();
    validate_identifier(
        raw.local_registry_prefix.get_ref(),
        MAX_IDENTIFIER_LEN - longest_suffix,
    )
    .map_err(|p| {
        at.invalid(
            "databases.local_registry_prefix",
            &raw.local_registry_prefix,
            p,
        )
    })?;
    if raw
        .user_store
        .get_ref()
        .eq_ignore_ascii_case(raw.shared_registry.get_ref())
    {
        return Err(at.invalid(
            "databases.shared_registry",
            &raw.shared_registry,
            "the shared registry and the user store must be different databases",
        ));
    }
    let charset =
        match raw.charset.get_ref().as_str() {
            "auto" => CharsetChoice::Auto,
            name if !name.is_empty()
                && name.len() <= 32
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                CharsetChoice::Named(name.to_ascii_lowercase())
            }
            other => return Err(at
                .invalid(
                    "databases.charset",
                    &raw.charset,
                    format!("`{other}` is not a charset name"),
                )
                .with_hint(
                    "use \"auto\" or a charset the server knows, e.g. \"latin1\" or \"utf8mb4\"",
                )),
        };
    // eidb's ledger is not a cluster database: the dbscript and the nodes' grants stay out of it.
    for (key, value) in [
        ("databases.user_store", &raw.user_store),
        ("databases.shared_registry", &raw.shared_registry),
    ] {
        if value.get_ref().eq_ignore_ascii_case(raw.metadata.get_ref()) {
            // At the line the user wrote: the cluster database's, or metadata's when that one is a default.
            let (cluster_key, cluster_db) = (key, value.get_ref());
            let (key, value) = if value.span() == (0..0) {
                ("databases.metadata", &raw.metadata)
            } else {
                (key, value)
            };
            return Err(at
                .invalid(
                    key,
                    value,
                    format!(
                        "{cluster_key} (`{cluster_db}`) and databases.metadata (`{}`) name one database (the server may \
                         compare names without case); the metadata database is eidb's ledger, not a cluster database",
                        raw.metadata.get_ref()
                    ),
                )
                .with_hint("give eidb's metadata database a name of its own"));
        }
        // A local registry eidb derives (`<prefix><n>`) would be this database too.
        if local_registry == LocalRegistryStore::Mysql {
            if let Some(n) =
                derived_local_number(value.get_ref(), raw.local_registry_prefix.get_ref())
            {
                return Err(at
                    .invalid(
                        key,
                        value,
                        format!(
                            "`{}` is the name eidb gives node {n}'s local registry (databases.local_registry_prefix = \"{}\")",
                            value.get_ref(),
                            raw.local_registry_prefix.get_ref()
                        ),
                    )
                    .with_hint("every cluster database needs a name of its own: change this key or the prefix"));
            }
        }
    }
    if let Some(n) =
        derived_local_number(raw.metadata.get_ref(), raw.local_registry_prefix.get_ref())
            .filter(|_| local_registry == LocalRegistryStore::Mysql)
    {
        return Err(at.invalid(
            "databases.metadata",
            &raw.metadata,
            format!(
                "`{}` is the name eidb gives node {n}'s local registry (databases.local_registry_prefix = \"{}\")",
                raw.metadata.get_ref(),
                raw.local_registry_prefix.get_ref()
            ),
        ));
    }
    let mut adopt = Vec::new();
    if let Some(list) = &raw.adopt {
        for name in list.get_ref() {
            validate_identifier(name, MAX_IDENTIFIER_LEN)
                .map_err(|p| at.invalid("databases.adopt", list, p))?;
            adopt.push(name.clone());
        }
    }
    Ok(Databases {
        user_store: raw.user_store.get_ref().clone(),
        shared_registry: raw.shared_registry.get_ref().clone(),
        local_registry_prefix: raw.local_registry_prefix.get_ref().clone(),
        charset,
        local_registry,
        metadata: raw.metadata.get_ref().clone(),
        adopt,
    })
}

/// `n` when `name` is `<prefix><n>` (compared as the server may, without case): a local registry's name.
fn derived_local_number(name: &str, prefix: &str) -> Option<String> {
    let head = name.get(..prefix.len())?;
    let digits = &name[prefix.len()..];
    (head.eq_ignore_ascii_case(prefix)
        && !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit()))
    .then(|| digits.to_string())
}

/// A system schema of MySQL or MariaDB (compared as the server does: without case) is refused.
fn refuse_system_schema(key: &str, value: &Spanned<String>, at: &Locator<'_>) -> Result<()> {
    let name = value.get_ref();
    if SYSTEM_SCHEMAS.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        return Err(at
            .invalid(
                key,
                value,
                format!(
                    "`{name}` is a system schema of the server; eidb never loads the dbscript into it or grants the nodes' account on it"
                ),
            )
            .with_hint("name a database of the cluster's own, e.g. \"WSO2_USER_DB\" or \"REGISTRY_DB\""));
    }
    Ok(())
}

fn validate_registry(raw: &RawRegistry, at: &Locator<'_>) -> Result<RegistryLayout> {
    let text = |value: &Option<Spanned<String>>, key: &str, default: &str| -> Result<String> {
        match value {
            None => Ok(default.to_string()),
            Some(v) if v.get_ref().trim().is_empty() => {
                Err(at.invalid(key, v, "must not be empty"))
            }
            Some(v) => Ok(v.get_ref().clone()),
        }
    };
    let path = |value: &Option<Spanned<String>>, key: &str, default: &str| -> Result<String> {
        let p = text(value, key, default)?;
        match value {
            Some(v) if !p.starts_with('/') => {
                Err(at.invalid(key, v, "a registry path starts with `/`"))
            }
            _ => Ok(p),
        }
    };
    Ok(RegistryLayout {
        remote_instance_url: raw
            .remote_instance_url
            .clone()
            .unwrap_or_else(|| "https://localhost:9443/registry".to_string()),
        instance_id: text(&raw.instance_id, "registry.instance_id", "instanceid")?,
        db_config: text(&raw.db_config, "registry.db_config", "sharedregistry")?,
        config_mount_target: path(
            &raw.config_mount_target,
            "registry.config_mount_target",
            "/_system/eiconfig",
        )?,
        governance_mount_target: path(
            &raw.governance_mount_target,
            "registry.governance_mount_target",
            "/_system/governance",
        )?,
        mount_overwrite: value_or_default(&raw.mount_overwrite),
    })
}

fn validate_nodes(
    raw: &[RawNode],
    databases: &Databases,
    at: &Locator<'_>,
    base: &Path,
    default_store: LocalRegistryStore,
) -> Result<Vec<Node>> {
    let mut seen = HashSet::new();
    let mut databases_seen = HashSet::new();
    let mut nodes = Vec::with_capacity(raw.len());
    for node in raw {
        let name = node.name.get_ref();
        validate_node_name(name).map_err(|problem| {
            at.invalid("nodes.name", &node.name, problem)
                .with_hint(format!(
                    "use 1 to {MAX_NODE_NAME_LEN} letters, digits, `_`, `.` or `-` (the ledger keeps node names in {MAX_NODE_NAME_LEN} characters)"
                ))
        })?;
        if let Some(old) = &node.renamed_from {
            validate_node_name(old.get_ref()).map_err(|problem| {
                at.invalid("nodes.renamed_from", old, problem).with_hint(format!(
                    "renamed_from is the node's earlier name: 1 to {MAX_NODE_NAME_LEN} letters, digits, `_`, `.` or `-`"
                ))
            })?;
        }
        if !seen.insert(name.to_ascii_lowercase()) {
            return Err(at
                .invalid(
                    "nodes.name",
                    &node.name,
                    format!("node `{name}` is listed twice"),
                )
                .with_hint("give every [[nodes]] entry its own name"));
        }
        if node.ei_home.get_ref().trim().is_empty() {
            return Err(at.invalid("nodes.ei_home", &node.ei_home, "must not be empty"));
        }
        let local_registry_store = node
            .local_registry_store
            .as_ref()
            .map_or(default_store, |s| *s.get_ref());
        if let Some(database) = &node.local_registry {
            if database.get_ref().eq_ignore_ascii_case("h2") {
                return Err(at
                    .invalid(
                        "nodes.local_registry",
                        database,
                        "names a database; a database called `h2` is surely not what is meant",
                    )
                    .with_hint("for a node whose local registry stays on its embedded H2 write local_registry_store = \"h2\""));
            }
            if local_registry_store == LocalRegistryStore::EmbeddedH2 {
                return Err(at
                    .invalid(
                        "nodes.local_registry",
                        database,
                        "names a MySQL database for a node whose local registry stays on H2",
                    )
                    .with_hint("remove one of local_registry and local_registry_store (or databases.local_registry = \"h2\")"));
            }
            validate_identifier(database.get_ref(), MAX_IDENTIFIER_LEN)
                .map_err(|problem| at.invalid("nodes.local_registry", database, problem))?;
            refuse_system_schema("nodes.local_registry", database, at)?;
            for (other_key, other) in [
                ("databases.user_store", &databases.user_store),
                ("databases.shared_registry", &databases.shared_registry),
                ("databases.metadata", &databases.metadata),
            ] {
                if database.get_ref().eq_ignore_ascii_case(other) {
                    return Err(at
                        .invalid(
                            "nodes.local_registry",
                            database,
                            format!(
                                "`{}` is the same database as {other_key} (`{other}`; the server may compare names without case)",
                                database.get_ref()
                            ),
                        )
                        .with_hint("every node needs a local registry of its own, apart from the shared databases"));
                }
            }
            if !databases_seen.insert(database.get_ref().to_ascii_lowercase()) {
                return Err(at
                    .invalid(
                        "nodes.local_registry",
                        database,
                        format!("`{}` is named for two nodes", database.get_ref()),
                    )
                    .with_hint("every node needs a local registry of its own"));
            }
        }
        nodes.push(Node {
            name: name.clone(),
            ei_home: resolve(base, node.ei_home.get_ref()),
            local_registry: node.local_registry.as_ref().map(|d| d.get_ref().clone()),
            renamed_from: node.renamed_from.as_ref().map(|r| r.get_ref().clone()),
            local_registry_store,
            host: None,
            port_offset: 0,
            member_port: None,
        });
    }
    Ok(nodes)
}

fn validate_datasources(raw: &RawDatasources, at: &Locator<'_>) -> Result<DatasourceNames> {
    let defaults = DatasourceNames::default();
    let value = |v: &Option<Spanned<String>>, key: &str, default: &str| -> Result<String> {
        let Some(v) = v else {
            return Ok(default.to_string());
        };
        let text = v.get_ref();
        if text.is_empty() || text.len() > 255 {
            return Err(at.invalid(key, v, "must be 1 to 255 characters long"));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || "<>&\"'".contains(*c))
        {
            return Err(at.invalid(key, v, format!("`{text}` contains `{bad}`")));
        }
        Ok(text.clone())
    };
    let named = |name: &Option<Spanned<String>>,
                 jndi: &Option<Spanned<String>>,
                 role: &str,
                 default: &DatasourceName|
     -> Result<DatasourceName> {
        Ok(DatasourceName {
            name: value(name, &format!("datasources.{role}_name"), &default.name)?,
            jndi: value(jndi, &format!("datasources.{role}_jndi"), &default.jndi)?,
        })
    };
    let names = DatasourceNames {
        local_registry: named(
            &raw.local_registry_name,
            &raw.local_registry_jndi,
            "local_registry",
            &defaults.local_registry,
        )?,
        shared_registry: named(
            &raw.shared_registry_name,
            &raw.shared_registry_jndi,
            "shared_registry",
            &defaults.shared_registry,
        )?,
        user_store: named(
            &raw.user_store_name,
            &raw.user_store_jndi,
            "user_store",
            &defaults.user_store,
        )?,
    };
    let all = [
        &names.local_registry,
        &names.shared_registry,
        &names.user_store,
    ];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            if a.name == b.name || a.jndi == b.jndi {
                return Err(Error::input(format!(
                    "{}: [datasources] gives two datasources the name {}",
                    at.path.display(),
                    if a.name == b.name { &a.name } else { &a.jndi }
                ))
                .with_hint("the local registry, the shared registry and the user store each need a datasource of their own"));
            }
        }
    }
    Ok(names)
}

/// The nodes' `host`, `port_offset` and `member_port`, `[clustering]` and `[load_balancer]`
/// (crate::clustering): every node has an IP address when the cluster is clustered; two nodes on
/// one host have distinct EI_HOMEs, port offsets and Hazelcast ports.
fn validate_clustering(
    raw: &RawSpec,
    nodes: &mut [Node],
    cluster: &str,
    at: &Locator<'_>,
    base: &Path,
) -> Result<(
    Option<crate::clustering::Clustering>,
    Option<crate::clustering::LoadBalancer>,
)> {
    use crate::clustering as c;
    for (node, raw_node) in nodes.iter_mut().zip(&raw.nodes) {
        if let Some(host) = &raw_node.host {
            let ip = host.get_ref().parse::<std::net::IpAddr>().map_err(|_| {
                at.invalid(
                    "nodes.host",
                    host,
                    format!("`{}` is not an IP address", host.get_ref()),
                )
                .with_hint("write the node's IP address (Hazelcast advertises it to the other members; WSO2's clustering guide requires an address, not a name)")
            })?;
            if ip.is_unspecified() || ip.is_multicast() {
                return Err(at.invalid(
                    "nodes.host",
                    host,
                    format!("`{ip}` is no address a node can be reached at"),
                ));
            }
            node.host = Some(ip);
        }
        if let Some(offset) = &raw_node.port_offset {
            if *offset.get_ref() > u16::MAX - c::HIGHEST_CARBON_PORT {
                return Err(at.invalid(
                    "nodes.port_offset",
                    offset,
                    format!(
                        "{} would move the node's ports past 65535 (carbon.xml's highest is {})",
                        offset.get_ref(),
                        c::HIGHEST_CARBON_PORT
                    ),
                ));
            }
            node.port_offset = *offset.get_ref();
        }
        if let Some(port) = &raw_node.member_port {
            if *port.get_ref() == 0 {
                return Err(at.invalid("nodes.member_port", port, "must be 1 to 65535"));
            }
            node.member_port = Some(*port.get_ref());
        }
    }
    let clustering = match &raw.clustering {
        None => None,
        Some(rc) => {
            let domain = match &rc.domain {
                Some(d) => {
                    c::validate_domain(d.get_ref())
                        .map_err(|p| at.invalid("clustering.domain", d, p))?;
                    d.get_ref().clone()
                }
                None => c::default_domain(cluster),
            };
            let member_port = match &rc.member_port {
                Some(p) if *p.get_ref() == 0 => {
                    return Err(at.invalid("clustering.member_port", p, "must be 1 to 65535"))
                }
                Some(p) => *p.get_ref(),
                None => c::DEFAULT_MEMBER_PORT,
            };
            Some(c::Clustering {
                domain,
                member_port,
                membership_scheme: value_or_default(&rc.membership_scheme),
            })
        }
    };
    if clustering.is_some() {
        if let Some((node, raw_node)) = nodes.iter().zip(&raw.nodes).find(|(n, _)| n.host.is_none())
        {
            return Err(at
                .invalid(
                    "nodes.name",
                    &raw_node.name,
                    format!("node `{}` has no `host`; with [clustering] every node needs its IP address", node.name),
                )
                .with_hint("add host = \"10.0.0.11\" (the node's address) to each [[nodes]] entry"));
        }
    }
    // Two nodes on one host: their own EI_HOMEs, port offsets and Hazelcast ports.
    for (j, (b, raw_b)) in nodes.iter().zip(&raw.nodes).enumerate() {
        for a in nodes[..j].iter() {
            let (Some(host_a), Some(host_b)) = (a.host, b.host) else {
                continue;
            };
            if host_a != host_b {
                continue;
            }
            let place = raw_b.host.as_ref().expect("a host was parsed from it");
            let invalid = |key: &str, value: Option<&Spanned<u16>>, problem: String| match value {
                Some(value) => at.invalid(key, value, problem),
                None => at.invalid("nodes.host", place, problem),
            };
            if a.ei_home == b.ei_home {
                return Err(at
                    .invalid(
                        "nodes.ei_home",
                        &raw_b.ei_home,
                        format!(
                            "nodes {} and {} are both on {host_a} with ei_home {}",
                            a.name,
                            b.name,
                            b.ei_home.display()
                        ),
                    )
                    .with_hint(
                        "two nodes on one host are two EI installations: give each its own ei_home",
                    ));
            }
            if a.port_offset == b.port_offset {
                return Err(
                    invalid(
                        "nodes.port_offset",
                        raw_b.port_offset.as_ref(),
                        format!(
                            "nodes {} and {} are both on {host_a} with port offset {}: their ports would collide",
                            a.name, b.name, a.port_offset
                        ),
                    )
                    .with_hint("give one of them port_offset = 1 (carbon.xml <Ports><Offset>), and a member_port of its own"));
            }
            if clustering.is_some() {
                let port_of = |n: &Node| {
                    n.member_port.unwrap_or_else(|| {
                        clustering
                            .as_ref()
                            .map_or(c::DEFAULT_MEMBER_PORT, |c| c.member_port)
                    })
                };
                if port_of(a) == port_of(b) {
                    return Err(
                        invalid(
                            "nodes.member_port",
                            raw_b.member_port.as_ref(),
                            format!(
                                "nodes {} and {} are both Hazelcast members at {host_a}:{}",
                                a.name,
                                b.name,
                                port_of(a)
                            ),
                        )
                        .with_hint("Carbon's port offset does not move localMemberPort: give one of them member_port = 4101"));
                }
            }
        }
    }
    let load_balancer = match &raw.load_balancer {
        None => None,
        Some(rl) => {
            c::validate_lb_host(rl.host.get_ref())
                .map_err(|p| at.invalid("load_balancer.host", &rl.host, p))?;
            let mgt_host = match &rl.mgt_host {
                Some(m) => {
                    c::validate_lb_host(m.get_ref())
                        .map_err(|p| at.invalid("load_balancer.mgt_host", m, p))?;
                    m.get_ref().clone()
                }
                None => rl.host.get_ref().clone(),
            };
            let port = |p: &Option<Spanned<u16>>, key: &str, default: u16| match p {
                Some(p) if *p.get_ref() == 0 => Err(at.invalid(key, p, "must be 1 to 65535")),
                Some(p) => Ok(*p.get_ref()),
                None => Ok(default),
            };
            let http_port = port(&rl.http_port, "load_balancer.http_port", 80)?;
            let https_port = port(&rl.https_port, "load_balancer.https_port", 443)?;
            if http_port == https_port {
                return Err(Error::input(format!(
                    "{}: load_balancer.http_port and https_port are both {http_port}",
                    at.path.display()
                )));
            }
            let path = |p: &Option<Spanned<String>>| p.as_ref().map(|p| resolve(base, p.get_ref()));
            Some(c::LoadBalancer {
                host: rl.host.get_ref().clone(),
                mgt_host,
                http_port,
                https_port,
                ssl_certificate: path(&rl.ssl_certificate),
                ssl_certificate_key: path(&rl.ssl_certificate_key),
            })
        }
    };
    Ok((clustering, load_balancer))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SecretRequirement {
    /// Absent means an empty password (the admin account of a fresh server).
    Optional,
    Required,
}

fn password_source(
    section: &'static str,
    env: Option<&Spanned<String>>,
    file: Option<&Spanned<String>>,
    at: &Locator<'_>,
    base: &Path,
    requirement: SecretRequirement,
) -> Result<PasswordSource> {
    Ok(match (env, file) {
        (Some(e), Some(_)) => {
            return Err(at.invalid(
                &format!("{section}.password_env"),
                e,
                "set either password_env or password_file, not both",
            ))
        }
        (Some(e), None) => PasswordSource::Named {
            source: SecretSource::Env(e.get_ref().clone()),
            at: at.at(&format!("{section}.password_env"), e),
        },
        (None, Some(f)) => PasswordSource::Named {
            source: SecretSource::File(resolve(base, f.get_ref())),
            at: at.at(&format!("{section}.password_file"), f),
        },
        (None, None) => match requirement {
            SecretRequirement::Optional => PasswordSource::Empty,
            SecretRequirement::Required => PasswordSource::Prompt {
                section,
                spec: at.path.to_path_buf(),
            },
        },
    })
}

/// A key with a fixed set of values: serde refused any other while parsing (naming the line and the
/// values allowed); absent, the default.
fn value_or_default<T: Copy + Default>(value: &Option<Spanned<T>>) -> T {
    value.as_ref().map(|v| *v.get_ref()).unwrap_or_default()
}

/// Resolve `path` against the spec's folder, so a spec can be run from anywhere.
fn resolve(base: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// The user part of a URL as RFC 3986 says: `%XX` escapes decoded, `+` left a plus (it means a space only
/// in HTML form data, never in a URL's authority).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A cluster's name in the ledger: 1 to 64 letters, digits, `_`, `-` and `.`.
fn validate_cluster_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > MAX_IDENTIFIER_LEN {
        return Err(format!("must be 1 to {MAX_IDENTIFIER_LEN} characters long"));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-.".contains(*c)))
    {
        Some(bad) => Err(format!(
            "`{name}` contains `{bad}`; use only letters, digits, `_`, `-` and `.`"
        )),
        None => Ok(()),
    }
}

/// A node's name: it lands in the ledger (`eidb_node.node VARCHAR(64)` in ASCII) and in messages.
fn validate_node_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("a node name must not be empty".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.-".contains(*c)))
    {
        return Err(format!(
            "`{name}` is not a valid node name (it contains `{bad}`)"
        ));
    }
    if name.len() > MAX_NODE_NAME_LEN {
        return Err(format!(
            "`{name}` is {} characters long; the limit is {MAX_NODE_NAME_LEN}",
            name.len()
        ));
    }
    Ok(())
}

fn is_account_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.-".contains(c)
}

/// Database names eidb creates: letters, digits, `_` and `$`, at most `max` characters, not all digits.
/// Anything else (backticks, quotes, semicolons, spaces) is refused rather than quoted, so a name can
/// never change the meaning of a statement.
pub fn validate_identifier(name: &str, max: usize) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > max {
        return Err(format!(
            "`{name}` is {} characters long; the limit here is {max}",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '$'))
    {
        return Err(format!(
            "`{name}` contains `{bad}`; use only letters, digits, `_` and `$`"
        ));
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("`{name}` is all digits"));
    }
    Ok(())
}

/// The host part of a MySQL account: `%`, a name, an IP, a wildcard pattern or `ip/netmask`.
pub fn validate_account_host(host: &str) -> std::result::Result<(), String> {
    if host.is_empty() {
        return Err("the account host must not be empty (use `%` for any host)".into());
    }
    if host.len() > MAX_ACCOUNT_HOST_LEN {
        return Err(format!(
            "the account host is longer than {MAX_ACCOUNT_HOST_LEN} characters"
        ));
    }
    if let Some(bad) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._%-:/".contains(*c)))
    {
        return Err(format!(
            "`{host}` contains `{bad}`, which no host pattern can"
        ));
    }
    if let Some((ip, mask)) = host.split_once('/') {
        let is_ipv4 = |s: &str| s.parse::<std::net::Ipv4Addr>().is_ok();
        if !is_ipv4(ip) || !is_ipv4(mask) {
            return Err(format!(
                "`{host}` is not of the form 10.0.0.0/255.255.255.0"
            ));
        }
    }
    if host.starts_with('.') || host.ends_with('.') || host.contains("..") {
        return Err(format!("`{host}` is not a valid host name or pattern"));
    }
    Ok(())
}

fn validate_host_name(host: &str) -> std::result::Result<(), String> {
    if host.is_empty() || host.len() > 253 {
        return Err("must be a host name or IP address".into());
    }
    if let Some(bad) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ".-:[]".contains(*c)))
    {
        return Err(format!(
            "`{host}` contains `{bad}`; a JDBC host is a host name or an IP address"
        ));
    }
    Ok(())
}

/// The JSON Schema of the spec file, derived from the serde types above: what parses is what the schema
/// allows, key for key (unknown keys are refused by both). `eidb schema` prints it (crate::cli::generate);
/// checks that need more than the file's shape (identifiers, hosts, secrets) stay in `validate`.
pub fn json_schema(generator: schemars::SchemaGenerator) -> schemars::Schema {
    generator.into_root_schema_for::<RawSpec>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec whose account password is in a file that does not exist: parsing never reads it.
    fn spec_text(extra: &str) -> String {
        let password_file = "/nonexistent/eidb-spec-test/pw";
        format!(
            r#"
[server]
url = "mysql://root@127.0.0.1:3306"

[user]
name = "regadmin"
password_file = "{password_file}"

[dbscripts]
file = "x.sql"
{extra}
[[nodes]]
name = "node1"
ei_home = "/opt/n1"

[[nodes]]
name = "node2"
ei_home = "n2"
"#
        )
    }

    fn parse(text: &str) -> Result<Spec> {
        Spec::parse(text, Path::new("/etc/eidb/cluster.toml"))
    }

    #[test]
    fn url_user_names_decode_as_rfc_3986_says() {
        let text = spec_text("").replace("mysql://root@", "mysql://svc+eidb%2Bops@");
        assert_eq!(parse(&text).unwrap().server.admin_user, "svc+eidb+ops");
    }

    #[test]
    fn the_cluster_name_defaults_to_the_shared_registry_and_is_validated() {
        assert_eq!(parse(&spec_text("")).unwrap().cluster, "REGISTRY_DB");
        let named =
            spec_text("").replace("[server]", "[cluster]\nname = \"prod-eu.1\"\n\n[server]");
        assert_eq!(parse(&named).unwrap().cluster, "prod-eu.1");
        let bad = spec_text("").replace("[server]", "[cluster]\nname = \"a b\"\n\n[server]");
        let e = parse(&bad).unwrap_err();
        assert!(e.message.contains("cluster.name"), "{}", e.message);
    }

    #[test]
    fn defaults_follow_the_wso2_guide() {
        let spec = parse(&spec_text("")).unwrap();
        assert_eq!(spec.databases.user_store, "WSO2_USER_DB");
        assert_eq!(spec.databases.shared_registry, "REGISTRY_DB");
        assert_eq!(spec.databases.local_registry_prefix, "REGISTRY_LOCAL");
        assert_eq!(spec.databases.charset, CharsetChoice::Auto);
        assert_eq!(spec.account.hosts, ["%"]);
        assert_eq!(spec.server.jdbc_host, "127.0.0.1");
        assert_eq!(spec.server.jdbc_port, 3306);
        assert_eq!(spec.nodes[1].ei_home, PathBuf::from("/etc/eidb/n2"));
        assert!(
            matches!(&spec.dbscript, DbscriptSource::File(p) if p == Path::new("/etc/eidb/x.sql"))
        );
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = parse(&spec_text("[databases]\nuser_stor = \"X\"\n")).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message.contains("cluster.toml:12"), "{}", err.message);
        assert!(err.message.contains("user_stor"), "{}", err.message);
    }

    #[test]
    fn bad_identifiers_are_refused_with_line() {
        for bad in ["A`B", "A'B", "A;DROP", "A B", "A\"B", &"X".repeat(65)] {
            let text = spec_text(&format!("[databases]\nuser_store = {bad:?}\n"));
            let err = parse(&text).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
            assert!(
                err.message.contains(":12: databases.user_store"),
                "{bad}: {}",
                err.message
            );
        }
    }

    #[test]
    fn prefix_leaves_room_for_node_number() {
        let text = spec_text(&format!(
            "[databases]\nlocal_registry_prefix = \"{}\"\n",
            "P".repeat(64)
        ));
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("limit here is 63"), "{}", err.message);
    }

    #[test]
    fn duplicate_nodes_are_refused() {
        let text = spec_text("").replace("name = \"node2\"", "name = \"NODE1\"");
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("listed twice"), "{}", err.message);
    }

    #[test]
    fn password_in_url_is_refused_without_echoing_it() {
        let text = spec_text("").replace("root@", "root:hunter2@");
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("contains a password"));
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn parsing_reads_no_secret_it_says_where_each_comes_from() {
        let text = spec_text("").replace(
            "[server]\n",
            "[server]\npassword_env = \"EIDB_SPEC_TEST_UNSET_VAR\"\n",
        );
        let spec = parse(&text).unwrap();
        assert_eq!(
            spec.server.admin_password,
            PasswordSource::Named {
                source: SecretSource::Env("EIDB_SPEC_TEST_UNSET_VAR".into()),
                at: "/etc/eidb/cluster.toml:3: server.password_env".into(),
            }
        );
        assert_eq!(
            spec.account.password,
            PasswordSource::Named {
                source: SecretSource::File("/nonexistent/eidb-spec-test/pw".into()),
                at: "/etc/eidb/cluster.toml:8: user.password_file".into(),
            }
        );
        // Neither key: the admin's password is empty, the account's is asked for (later, not here).
        let none = spec_text("")
            .replace("password_env = \"EIDB_SPEC_TEST_UNSET_VAR\"\n", "")
            .replace("password_file = \"/nonexistent/eidb-spec-test/pw\"\n", "");
        let spec = parse(&none).unwrap();
        assert_eq!(spec.server.admin_password, PasswordSource::Empty);
        assert_eq!(
            spec.account.password,
            PasswordSource::Prompt {
                section: "user",
                spec: "/etc/eidb/cluster.toml".into(),
            }
        );
        let both = spec_text("").replace("[user]\n", "[user]\npassword_env = \"X\"\n");
        let e = parse(&both).unwrap_err();
        assert!(
            e.message.contains("user.password_env: set either"),
            "{}",
            e.message
        );
    }

    /// A key with a fixed set of values refuses any other while parsing: file, line, key and the values
    /// allowed; never a silent default.
    #[test]
    fn unknown_values_are_refused_naming_line_key_and_the_values_allowed() {
        for (section, key, allowed) in [
            (
                "server",
                "ssl_mode",
                "`disabled`, `preferred`, `required`, `verify_ca`, `verify_identity`",
            ),
            (
                "server",
                "jdbc_url_style",
                "`single`, `failover`, `loadbalance`",
            ),
            (
                "user",
                "auth_plugin",
                "`auto`, `mysql_native_password`, `caching_sha2_password`",
            ),
            ("user", "privileges", "`all` or `wso2`"),
            ("databases", "local_registry", "`mysql` or `h2`"),
            ("registry", "mount_overwrite", "`true`, `false`, `virtual`"),
        ] {
            let key_line = format!("{key} = \"Verify-CA\"\n");
            let text = if spec_text("").contains(&format!("[{section}]\n")) {
                spec_text("").replace(
                    &format!("[{section}]\n"),
                    &format!("[{section}]\n{key_line}"),
                )
            } else {
                spec_text(&format!("[{section}]\n{key_line}"))
            };
            let line = text[..text.find(&key_line).unwrap()].matches('\n').count() + 1;
            let e = parse(&text).unwrap_err();
            assert_eq!(e.exit_code(), crate::error::EXIT_BAD_INPUT, "{key}");
            assert!(
                e.message
                    .starts_with(&format!("/etc/eidb/cluster.toml:{line}: {section}.{key}: ")),
                "{key}: {}",
                e.message
            );
            assert!(
                e.message.contains(&format!(
                    "`Verify-CA` is not a value this key takes; use {allowed}"
                )),
                "{key}: {}",
                e.message
            );
        }
    }

    #[test]
    fn fixed_values_parse_into_their_enums() {
        let spec = parse(&spec_text(
            "[registry]\nmount_overwrite = \"virtual\"\n[databases]\nlocal_registry = \"h2\"\n",
        ))
        .unwrap();
        assert_eq!(spec.registry.mount_overwrite, MountOverwrite::Virtual);
        assert_eq!(
            spec.databases.local_registry,
            LocalRegistryStore::EmbeddedH2
        );
        assert_eq!(spec.server.ssl.mode, SslMode::Preferred);
        assert_eq!(spec.account.auth_plugin, AuthPluginChoice::Auto);
        let text = spec_text("").replace(
            "[user]\n",
            "[user]\nauth_plugin = \"caching_sha2_password\"\nprivileges = \"wso2\"\n",
        );
        let text = text.replace("[server]\n", "[server]\nssl_mode = \"verify_identity\"\n");
        let spec = parse(&text).unwrap();
        assert_eq!(spec.server.ssl.mode, SslMode::VerifyIdentity);
        assert_eq!(
            spec.account.auth_plugin.plugin(),
            Some("caching_sha2_password")
        );
        assert_eq!(spec.account.privileges, PrivilegeSet::Wso2);
    }

    #[test]
    fn account_hosts() {
        for good in [
            "%",
            "localhost",
            "10.0.%",
            "10.0.0.0/255.255.255.0",
            "node1.example.com",
            "::1",
        ] {
            assert!(validate_account_host(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "a'b", "host;", "1.2.3.4/xx", "a..b", "`x`"] {
            assert!(validate_account_host(bad).is_err(), "{bad}");
        }
    }
}
