//! The check codes: what kind of thing a finding, a conflict or a warning is about. Their names are the
//! public interface (JSON `check`, the docs: docs/checks.md lists every one, and a test keeps the two the
//! same); each means one thing.

use serde::Serialize;

macro_rules! checks {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal, )*) => {
        /// One kind of finding. Serialised (JSON `check`) as its snake_case name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum Check {
            $( $(#[doc = $doc])* #[serde(rename = $name)] $variant, )*
        }

        impl Check {
            /// Every check, in the order the docs list them.
            pub const ALL: &'static [Check] = &[$(Check::$variant,)*];

            /// The name in JSON and the docs.
            pub fn as_str(self) -> &'static str {
                match self { $(Check::$variant => $name,)* }
            }

            /// What it means, as the docs say it.
            pub fn meaning(self) -> &'static str {
                match self { $(Check::$variant => concat!($($doc, " "),*).trim_ascii(),)* }
            }
        }
    };
}

checks! {
    // Databases.
    /// A database of the spec does not exist.
    DatabaseMissing = "database_missing",
    /// Tables, indexes or constraints of the dbscript are missing from a database (by name).
    SchemaMissing = "schema_missing",
    /// A column of the dbscript's tables is missing or has another type, nullability or default.
    Column = "column",
    /// A database exists in another charset than the spec's (eidb never converts a database).
    DatabaseCharset = "database_charset",
    /// A table of the dbscript exists in another charset than the spec's (eidb never converts data).
    TableCharset = "table_charset",
    /// The dbscript changed since the ledger recorded it as applied to the database.
    ScriptChanged = "script_changed",
    /// Another cluster manages the database, per the ledger: two specs name the same database.
    DatabaseOwner = "database_owner",
    /// An existing database that no cluster's ledger names holds tables the dbscript does not make: someone else's, unless `databases.adopt` names it.
    DatabaseForeign = "database_foreign",
    /// (warning) Indexes or foreign keys of the dbscript exist under other names (another variant of the script).
    IndexNames = "index_names",
    /// (warning) A node's local registry database whose node is no longer in the spec; eidb leaves it as it is.
    OrphanedDatabase = "orphaned_database",
    // The account.
    /// The account does not exist.
    AccountMissing = "account_missing",
    /// The account refuses the spec's password, or has another authentication plugin.
    AccountLogin = "account_login",
    /// The account is refused the way the nodes connect (e.g. a TLS-only server and useSSL=false).
    AccountLoginNodes = "account_login_nodes",
    /// (warning) The login went through an account row the spec does not name.
    LoginOtherRow = "login_other_row",
    /// (warning) The login could not be proven the way the nodes connect.
    LoginNotProven = "login_not_proven",
    /// A grant the account needs is missing.
    GrantMissing = "grant_missing",
    /// The account holds a grant it should not have.
    GrantExtra = "grant_extra",
    /// An account row an earlier spec of this cluster created, no longer in the spec.
    AccountRowLeftover = "account_row_leftover",
    /// An account row eidb did not create wins over the spec's rows for some clients.
    AccountRowForeign = "account_row_foreign",
    /// (warning) An account row eidb did not create exists beside the spec's.
    AccountRowExtra = "account_row_extra",
    /// An anonymous account wins over the spec's row for some clients.
    AccountShadowed = "account_shadowed",
    /// A host of the account is a host name, and the server (skip_name_resolve) matches by IP address only.
    AccountHostUnmatched = "account_host_unmatched",
    /// (warning) The account also holds grants on databases of other clusters.
    AccountShared = "account_shared",
    // Each node's files.
    /// A datasource of master-datasources.xml is missing.
    DatasourceMissing = "datasource_missing",
    /// A datasource's `<url>` differs.
    DatasourceUrl = "datasource_url",
    /// A datasource's `<username>` differs.
    DatasourceUser = "datasource_user",
    /// A datasource's `<password>` differs (neither password is shown).
    DatasourcePassword = "datasource_password",
    /// A datasource's `<jndiConfig>` `<name>` differs.
    DatasourceJndi = "datasource_jndi",
    /// A datasource's `<name>` differs.
    DatasourceName = "datasource_name",
    /// A datasource's `<driverClassName>` differs.
    DatasourceDriver = "datasource_driver",
    /// A pool setting of a datasource differs.
    DatasourcePool = "datasource_pool",
    /// user-mgt.xml's `<Property name="dataSource">` differs.
    UserMgtDatasource = "user_mgt_datasource",
    /// A `<dbConfig>` of registry.xml differs.
    RegistryDbConfig = "registry_db_config",
    /// The `<remoteInstance>` of the shared registry is missing from registry.xml.
    RemoteInstanceMissing = "remote_instance_missing",
    /// A value of the `<remoteInstance>` of the shared registry differs.
    RemoteInstance = "remote_instance",
    /// The `<cacheId>` of the `<remoteInstance>` differs.
    CacheId = "cache_id",
    /// A `<mount>` of registry.xml differs or is missing.
    Mount = "mount",
    /// A `<dbConfig>` names a JNDI name no datasource has.
    DbConfigDatasource = "db_config_datasource",
    /// The spec keeps a node on its embedded H2, but its files put the local registry on MySQL (not moved back).
    LocalRegistryNotH2 = "local_registry_not_h2",
    /// A `<remoteInstance>` names a dbConfig that does not exist.
    RemoteInstanceDbConfig = "remote_instance_db_config",
    /// A `<mount>` names an instance id no `<remoteInstance>` has.
    MountInstance = "mount_instance",
    /// Two `<mount>` elements for one path.
    MountDuplicate = "mount_duplicate",
    /// user-mgt.xml's dataSource is no datasource's JNDI name.
    UserStoreDatasource = "user_store_datasource",
    /// No MySQL Connector/J jar in the node's lib folder (or an unusable one).
    JdbcDriver = "jdbc_driver",
    /// The owned values are right, but eidb would still rewrite the file (the diff says how).
    FileContent = "file_content",
    /// A file that holds a password in plain text is readable by other users.
    PasswordReadable = "password_readable",
    /// (warning) A password in cipher-text.properties is already encrypted by the cipher tool; eidb leaves it.
    SecureVault = "secure_vault",
    /// A mount record in a local registry differs from registry.xml.
    MountRecordStale = "mount_record_stale",
    /// (warning) A mount Carbon cannot make at its next start.
    MountUnmakeable = "mount_unmakeable",
    // The nodes together.
    /// Two nodes use one local registry database.
    SharedLocalRegistry = "shared_local_registry",
    /// (without a spec) Nodes disagree on the shared registry's URL.
    SharedRegistryUrl = "shared_registry_url",
    /// (without a spec) Nodes disagree on the `<cacheId>`.
    SharedCacheId = "shared_cache_id",
    /// (without a spec) Nodes disagree on the user store's URL.
    UserStoreUrl = "user_store_url",
    /// (without a spec, with --server-url) A database a node's files name does not exist on the server.
    NodeDatabaseMissing = "node_database_missing",
    /// (without a spec, with --server-url) A node's user and password (from its files) do not log in to its database.
    NodeLoginRefused = "node_login_refused",
    // The clustering files.
    /// axis2.xml's `<clustering>` is not enabled.
    ClusteringDisabled = "clustering_disabled",
    /// axis2.xml's `membershipScheme` is not the spec's (wka), or nodes disagree on it.
    MembershipScheme = "membership_scheme",
    /// axis2.xml's clustering `domain` is not the spec's, or nodes disagree on it.
    ClusterDomain = "cluster_domain",
    /// axis2.xml keeps WSO2's shipped domain `wso2.carbon.domain`, which lets two environments merge.
    DefaultClusterDomain = "default_cluster_domain",
    /// axis2.xml's `localMemberHost` is not the node's host.
    LocalMemberHost = "local_member_host",
    /// A node advertises a loopback `localMemberHost`: the other hosts never reach it.
    LoopbackMemberHost = "loopback_member_host",
    /// `localMemberHost` is a host name where the guide asks for an IP address.
    MemberHostName = "member_host_name",
    /// axis2.xml's `localMemberPort` is not the node's member port.
    LocalMemberPort = "local_member_port",
    /// axis2.xml's well-known `<members>` are not every node with its port, or nodes disagree on them.
    ClusterMembers = "cluster_members",
    /// The well-known member list misses a node.
    ClusterMemberMissing = "cluster_member_missing",
    /// The well-known member list names one member twice, or two members share a host and port.
    DuplicateClusterMember = "duplicate_cluster_member",
    /// A PassThrough transport receiver's `WSDLEPRPrefix` does not name the load balancer.
    WsdlEprPrefix = "wsdl_epr_prefix",
    /// carbon.xml's `<HostName>` is not the load balancer's host.
    HostName = "host_name",
    /// carbon.xml's `<MgtHostName>` is not the load balancer's management host.
    MgtHostName = "mgt_host_name",
    /// carbon.xml's `<Ports><Offset>` is not the node's port offset.
    PortOffset = "port_offset",
    /// catalina-server.xml's `proxyPort` on the 9763 or 9443 Connector is not the load balancer's port.
    ProxyPort = "proxy_port",
    /// conf/hazelcast.properties lacks a setting of the guide.
    HazelcastProperty = "hazelcast_property",
    /// conf/log4j.properties lacks the guide's Hazelcast logger.
    Log4jProperty = "log4j_property",
    /// A conf/etc/hazelcast.xml replaces axis2.xml's clustering settings entirely.
    HazelcastXml = "hazelcast_xml",
    /// (from the nodes' records) A node has no record of a run in the database.
    NodeNotRecorded = "node_not_recorded",
    /// (from the nodes' records) A node's last run applied another spec than the current one.
    NodeSpecOutdated = "node_spec_outdated",
    /// (warning) The account's password is weak: equal to the account's name, shorter than 8 characters, or a WSO2 example.
    WeakPassword = "weak_password",
    /// (warning) A run for one node (`--node`) on a machine none of whose addresses is the node's `host`.
    NodeHostNotHere = "node_host_not_here",
    // The run.
    /// A Galera member holds other databases, tables, indexes, account or grants than the member in use.
    MemberDisagrees = "member_disagrees",
    /// (warning) A Galera member could not be checked.
    MemberUnreachable = "member_unreachable",
    /// Something the connecting account may not read, naming the privilege it needs.
    NotChecked = "not_checked",
    /// (warning) A pre-flight check of the server warns.
    Preflight = "preflight",
    /// (warning) Something about the run itself: temp files an interrupted run left, an assumption a partial run made, a node to restart.
    Run = "run",
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_serialises_as_its_name_and_each_name_is_one_check() {
        let mut seen = std::collections::BTreeSet::new();
        for check in Check::ALL {
            assert_eq!(
                serde_json::to_string(check).unwrap(),
                format!("\"{}\"", check.as_str())
            );
            assert!(seen.insert(check.as_str()), "{check} twice");
            assert!(!check.meaning().is_empty(), "{check} says what it means");
            assert!(
                check
                    .as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{check} is snake_case"
            );
        }
        // The one catch-all code of old is gone: each conflict has its own.
        assert!(!seen.contains("conflict"));
    }

    /// docs/checks.md lists every check, as its table row `| `name` | meaning |`, and no other.
    #[test]
    fn docs_list_every_check_and_no_other() {
        let docs = include_str!("../../../docs/checks.md");
        let documented: Vec<&str> = docs
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split_once("` |").map(|(name, _)| name))
            .collect();
        for check in Check::ALL {
            let row = format!("| `{}` | {} |", check.as_str(), check.meaning());
            assert!(
                docs.lines().any(|l| l == row),
                "docs/checks.md lacks the row\n{row}"
            );
        }
        for name in documented {
            assert!(
                Check::ALL.iter().any(|c| c.as_str() == name),
                "docs/checks.md lists `{name}`, which is no check"
            );
        }
    }
}
