//! The pre-flight's decisions: everything that decides whether provisioning will succeed, from what
//! was read before anything changes (`eidb::server::preflight::read`), reported in one block; a choice
//! known to fail is refused with the reason and the fix. Pure.

use serde::Serialize;

use crate::dbscript;
use crate::desired::DesiredServer;
use crate::error::{Error, Result};
use crate::facts::ServerFacts;
use crate::observed::{ActualGrant, GaleraState, GrantTarget};
use crate::spec::{CharsetChoice, Spec};
use crate::sql::keylen;

/// The pre-flight block of the report.
#[derive(Debug, Serialize)]
pub struct Preflight {
    pub server: ServerFacts,
    pub endpoint: String,
    pub charset: String,
    pub charset_reason: String,
    pub charset_max_bytes: u32,
    pub account_auth_plugin: String,
    pub account_auth_plugin_reason: Option<String>,
    pub script: ScriptReport,
    pub checks: Vec<Check>,
}

#[derive(Debug, Serialize)]
pub struct ScriptReport {
    pub path: String,
    pub sha256: String,
    pub statements: usize,
    pub summary: String,
    pub chosen_because: String,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub outcome: Outcome,
    pub detail: String,
}

/// What a pre-flight check found (JSON `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Warning,
    /// A choice known to fail: provision stops before any change.
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Warning => "warning",
            Outcome::Refused => "refused",
        }
    }
}

/// What the pre-flight read from the server, for [`decide`].
#[derive(Debug, Clone)]
pub struct PreflightReads {
    /// The charset's bytes per character; `None` when the server does not know the charset.
    pub charset_max_bytes: Option<u32>,
    /// Whether the account's plugin is active (`None` when no plugin is asked for).
    pub plugin_active: Option<bool>,
    /// The admin's grants (`SHOW GRANTS`), or why they could not be read.
    pub admin_grants: std::result::Result<Vec<ActualGrant>, String>,
    /// Each server of the spec and its Galera state (read only on Galera).
    pub members: Vec<(String, std::result::Result<GaleraState, String>)>,
}

/// The admin connection the pre-flight speaks of: how it is described, and its user.
pub struct Admin<'a> {
    pub described: String,
    pub user: &'a str,
}

/// The checks that decide success. Returns the report block and, when a choice is known to fail, the
/// refusal.
pub fn decide(
    spec: &Spec,
    admin: Admin<'_>,
    facts: &ServerFacts,
    desired: &DesiredServer,
    reads: &PreflightReads,
) -> Result<(Preflight, Option<Error>)> {
    let mut checks = Vec::new();
    let mut refusal = None;
    let charset = &desired.charset;
    let max_bytes = reads.charset_max_bytes;
    let charset_reason = match &spec.databases.charset {
        CharsetChoice::Named(_) => "set in the spec".to_string(),
        CharsetChoice::Auto if facts.runs_on_windows() => {
            format!("auto: the server runs on {}", facts.compile_os)
        }
        CharsetChoice::Auto => "auto: the server default".to_string(),
    };
    let Some(max_bytes) = max_bytes else {
        let e = Error::input(format!(
            "the server does not know the charset `{charset}` (databases.charset)"
        ))
        .with_hint(
            "use a charset from SHOW CHARACTER SET, e.g. \"latin1\" or \"utf8mb4\", or \"auto\"",
        );
        return Err(e);
    };
    if let Some(key) = keylen::widest_key(&desired.script.statements, max_bytes) {
        // Without large prefixes each column is limited to 767 bytes; any key to 3072 (16 KiB pages).
        let column_limit = facts.max_index_bytes;
        let key_limit = if column_limit <= 767 {
            3072
        } else {
            column_limit
        };
        let too_long = key.widest_column_bytes > column_limit || key.key_bytes > key_limit;
        let detail = format!(
            "the longest index key, {}, needs {} bytes in {charset} (widest column {} bytes); the server allows {column_limit} per column",
            key.describe(),
            key.key_bytes,
            key.widest_column_bytes
        );
        if too_long {
            checks.push(Check {
                name: "index key length".into(),
                outcome: Outcome::Refused,
                detail: format!("{detail} (errors 1071/1709)"),
            });
            refusal = Some(
                Error::failure(format!("{charset} makes the index key {} too long for this server ({} bytes, limit {column_limit})", key.describe(), key.widest_column_bytes.max(key.key_bytes)))
                    .with_hint(
                        "set databases.charset = \"latin1\" (WSO2's advice for this limit), or configure the server with \
                         innodb_default_row_format=DYNAMIC (and innodb_large_prefix=ON on MySQL 5.6/5.7)",
                    ),
            );
        } else {
            checks.push(Check {
                name: "index key length".into(),
                outcome: Outcome::Ok,
                detail,
            });
        }
    }
    let plugin = desired
        .account
        .auth_plugin
        .clone()
        .unwrap_or_else(|| facts.default_auth_plugin.clone());
    if let (Some(wanted), Some(usable)) = (&desired.account.auth_plugin, reads.plugin_active) {
        if !usable {
            checks.push(Check {
                name: "auth plugin".into(),
                outcome: Outcome::Refused,
                detail: format!("{wanted} is not active on this server"),
            });
            refusal.get_or_insert(
                Error::failure(format!("the account needs the {wanted} plugin, which this server does not offer"))
                    .with_hint("on MySQL 8.4 start the server with mysql_native_password=ON, or put Connector/J 8 on every node"),
            );
        }
    }
    match &reads.admin_grants {
        Ok(grants) if missing_admin_privileges(grants).is_none() => checks.push(Check {
            name: "admin privileges".into(),
            outcome: Outcome::Ok,
            detail: format!("{} may create databases, accounts and grants", admin.user),
        }),
        Ok(grants) => {
            let missing = missing_admin_privileges(grants).unwrap_or_default();
            checks.push(Check {
                name: "admin privileges".into(),
                outcome: Outcome::Refused,
                detail: format!("{} lacks {missing}", admin.user),
            });
            refusal.get_or_insert(
                Error::failure(format!("the admin account {} lacks {missing}", admin.described))
                    .with_hint("provision with an account that has CREATE, CREATE USER and GRANT OPTION on *.* (for example root)"),
            );
        }
        Err(e) => checks.push(Check {
            name: "admin privileges".into(),
            outcome: Outcome::Warning,
            detail: format!("could not be read: {e}"),
        }),
    }
    account_limits(spec, facts, &mut checks, &mut refusal);
    let script = &desired.script;
    galera_checks(
        spec,
        facts,
        script,
        &reads.members,
        &mut checks,
        &mut refusal,
    );
    let preflight = Preflight {
        server: facts.clone(),
        endpoint: admin.described,
        charset: charset.clone(),
        charset_reason,
        charset_max_bytes: max_bytes,
        account_auth_plugin: plugin,
        account_auth_plugin_reason: desired.account.auth_plugin_reason.clone(),
        script: ScriptReport {
            path: script.path.display().to_string(),
            sha256: script.sha256.clone(),
            statements: script.statements.len(),
            summary: script.summary(),
            chosen_because: script.chosen_because.clone(),
        },
        checks,
    };
    Ok((preflight, refusal))
}

/// The account's name and host parts against what this server keeps (the spec allows what the newest
/// servers do): refused before anything is created, naming the spec's key and line.
fn account_limits(
    spec: &Spec,
    facts: &ServerFacts,
    checks: &mut Vec<Check>,
    refusal: &mut Option<Error>,
) {
    let (name_limit, host_limit) = facts.account_limits();
    let account = &spec.account;
    let server = format!("{} {}", facts.flavour, facts.version);
    let mut problems = Vec::new();
    if account.name.len() > name_limit {
        problems.push((
            &account.name_at,
            format!(
                "`{}` is {} characters long; {server} keeps account names of up to {name_limit}",
                account.name,
                account.name.len()
            ),
        ));
    }
    for host in account.hosts.iter().filter(|h| h.len() > host_limit) {
        problems.push((
            &account.hosts_at,
            format!(
                "the host part `{host}` is {} characters long; {server} keeps host parts of up to {host_limit}",
                host.len()
            ),
        ));
    }
    if problems.is_empty() {
        checks.push(Check {
            name: "account name".into(),
            outcome: Outcome::Ok,
            detail: format!(
                "the server keeps names of up to {name_limit} characters and host parts of up to {host_limit}"
            ),
        });
        return;
    }
    for (at, problem) in problems {
        checks.push(Check {
            name: "account name".into(),
            outcome: Outcome::Refused,
            detail: problem.clone(),
        });
        refusal.get_or_insert(Error::input(format!("{at}: {problem}")).with_hint(
            "use a shorter name or host pattern (e.g. `10.0.%` instead of a long host name)",
        ));
    }
}

/// What matters for WSO2 on Galera (and the settings that refuse tables without a primary key anywhere).
fn galera_checks(
    spec: &Spec,
    facts: &ServerFacts,
    script: &dbscript::Dbscript,
    members: &[(String, std::result::Result<GaleraState, String>)],
    checks: &mut Vec<Check>,
    refusal: &mut Option<Error>,
) {
    let without_pk = script.tables_without_primary_key();
    if let (Some(setting), false) = (&facts.requires_primary_key, without_pk.is_empty()) {
        checks.push(Check {
            name: "primary keys".into(),
            outcome: Outcome::Refused,
            detail: format!(
                "{setting} refuses the script's tables without a primary key: {}",
                without_pk.join(", ")
            ),
        });
        refusal.get_or_insert(
            Error::failure(format!("the server setting {setting} refuses {} table(s) of the dbscript: {}", without_pk.len(), without_pk.join(", ")))
                .with_hint(format!("turn {setting} off while provisioning (SET GLOBAL), or use a dbscript whose tables all have primary keys")),
        );
    }
    if !facts.galera {
        return;
    }
    let described: Vec<String> = members
        .iter()
        .map(|(member, state)| match state {
            Ok(s) => format!(
                "{member} {} (ready {})",
                s.state.as_deref().unwrap_or("?"),
                s.ready.as_deref().unwrap_or("?")
            ),
            Err(e) => format!("{member} unreachable ({e})"),
        })
        .collect();
    let cluster = members.iter().find_map(|(_, s)| s.as_ref().ok()).cloned();
    checks.push(Check {
        name: "galera".into(),
        outcome: Outcome::Ok,
        detail: format!(
            "cluster {} of size {}; members in the spec: {}",
            cluster
                .as_ref()
                .and_then(|c| c.cluster_name.clone())
                .unwrap_or_else(|| "?".into()),
            cluster
                .as_ref()
                .and_then(|c| c.cluster_size.clone())
                .unwrap_or_else(|| "?".into()),
            described.join("; ")
        ),
    });
    let server = &spec.server;
    if server.endpoints.len() > 1
        && server.jdbc_hosts.len() == 1
        && server.endpoints.contains(&server.jdbc_hosts[0])
    {
        checks.push(Check {
            name: "galera jdbc".into(),
            outcome: Outcome::Warning,
            detail: format!(
                "the nodes' JDBC URLs name one member only ({}:{}); when it is down the nodes lose their databases: set \
                 server.jdbc_host to a load balancer or VIP, or server.jdbc_hosts to every member",
                server.jdbc_hosts[0].0, server.jdbc_hosts[0].1
            ),
        });
    }
    if !without_pk.is_empty() {
        checks.push(Check {
            name: "galera primary keys".into(),
            outcome: Outcome::Warning,
            detail: format!(
                "{} table(s) of the dbscript have no primary key ({}): Galera replicates their row changes slowly and \
                 cannot apply them in parallel, and concurrent writes to them on two members can diverge; WSO2 supports \
                 this layout, but write to one member at a time (a load balancer in failover mode)",
                without_pk.len(),
                without_pk.join(", ")
            ),
        });
    }
    let non_innodb = script.non_innodb_tables();
    if !non_innodb.is_empty() {
        let list: Vec<String> = non_innodb
            .iter()
            .map(|(t, e)| format!("{t} ({e})"))
            .collect();
        checks.push(Check {
            name: "galera engines".into(),
            outcome: Outcome::Refused,
            detail: format!("Galera replicates only InnoDB: {}", list.join(", ")),
        });
        refusal.get_or_insert(
            Error::failure(format!(
                "the dbscript creates tables Galera does not replicate: {}",
                list.join(", ")
            ))
            .with_hint("change their ENGINE to InnoDB in the script"),
        );
    }
}

/// `None` when the admin's grants (`SHOW GRANTS`) allow creating databases, users and grants; else
/// what it lacks.
pub fn missing_admin_privileges(grants: &[ActualGrant]) -> Option<String> {
    let global: Vec<_> = grants
        .iter()
        .filter(|g| g.target == GrantTarget::Global)
        .collect();
    let has = |privilege: &str| {
        global.iter().any(|g| {
            g.privileges.eq_ignore_ascii_case("ALL PRIVILEGES")
                || g.privileges
                    .split(',')
                    .any(|p| p.trim().eq_ignore_ascii_case(privilege))
        })
    };
    let mut missing = Vec::new();
    for privilege in ["CREATE", "CREATE USER"] {
        if !has(privilege) {
            missing.push(privilege);
        }
    }
    if !global.iter().any(|g| g.with_grant_option) {
        missing.push("GRANT OPTION");
    }
    (!missing.is_empty()).then(|| missing.join(", "))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use secrecy::SecretString;

    use super::*;
    use crate::desired;
    use crate::facts::{Flavour, Version};
    use crate::observed::parse_grant;

    const SCRIPT: &str = "CREATE TABLE REG_PATH (REG_PATH_VALUE VARCHAR(750) NOT NULL, \
                          PRIMARY KEY (REG_PATH_VALUE)) ENGINE INNODB;";

    fn spec() -> Spec {
        let text = "[server]\nurl = \"mysql://root@db:3306\"\n[user]\nname = \"regadmin\"\n\
                    password_env = \"UNREAD\"\n[dbscripts]\nfile = \"x.sql\"\n\
                    [[nodes]]\nname = \"a\"\nei_home = \"/a\"\n";
        Spec::parse(text, Path::new("/t/cluster.toml")).unwrap()
    }

    fn desired_on(facts: &ServerFacts) -> DesiredServer {
        let spec = spec();
        let local = desired::assign_local_registries(&spec, &Default::default()).unwrap();
        let script = dbscript::parse(Path::new("x.sql"), SCRIPT.as_bytes(), "test".into()).unwrap();
        desired::server(
            &spec,
            &SecretString::from("pw"),
            facts,
            &[],
            &local,
            Arc::new(script),
            None,
        )
    }

    fn reads(max_bytes: Option<u32>, grants: &[&str]) -> PreflightReads {
        PreflightReads {
            charset_max_bytes: max_bytes,
            plugin_active: None,
            admin_grants: Ok(grants.iter().filter_map(|g| parse_grant(g)).collect()),
            members: Vec::new(),
        }
    }

    fn decided(facts: &ServerFacts, reads: &PreflightReads) -> Result<(Preflight, Option<Error>)> {
        let admin = Admin {
            described: "root@db:3306".into(),
            user: "root",
        };
        decide(&spec(), admin, facts, &desired_on(facts), reads)
    }

    fn outcome(preflight: &Preflight, name: &str) -> Outcome {
        preflight
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name} check: {:?}", preflight.checks))
            .outcome
    }

    const ROOT: &str = "GRANT ALL PRIVILEGES ON *.* TO `root`@`%` WITH GRANT OPTION";

    fn mariadb(default_charset: &str) -> ServerFacts {
        let version = Version {
            major: 10,
            minor: 11,
            patch: 0,
        };
        ServerFacts::for_tests(
            Flavour::Mariadb,
            version,
            "debian-linux-gnu",
            default_charset,
        )
    }

    #[test]
    fn account_names_and_hosts_longer_than_the_server_keeps_are_refused_with_key_and_line() {
        let text = "[server]\nurl = \"mysql://root@db:3306\"\n[user]\nname = \"regadmin_of_the_eu_cluster\"\n\
                    host = \"wso2-ei-node-01.integration.production.eu-west-1.example.internal\"\n\
                    password_env = \"UNREAD\"\n[dbscripts]\nfile = \"x.sql\"\n\
                    [[nodes]]\nname = \"a\"\nei_home = \"/a\"\n";
        let spec = Spec::parse(text, Path::new("/t/cluster.toml")).unwrap();
        let admin = || Admin {
            described: "root@db:3306".into(),
            user: "root",
        };
        let on = |flavour, major, minor, patch| {
            ServerFacts::for_tests(
                flavour,
                Version {
                    major,
                    minor,
                    patch,
                },
                "Linux",
                "latin1",
            )
        };
        // MySQL 5.6: the 26-character name is too long (16).
        let facts = on(Flavour::Mysql, 5, 6, 51);
        let (preflight, refusal) = decide(
            &spec,
            admin(),
            &facts,
            &desired_on(&facts),
            &reads(Some(1), &[ROOT]),
        )
        .unwrap();
        let refusal = refusal.expect("refused");
        assert_eq!(refusal.exit_code(), crate::error::EXIT_BAD_INPUT);
        assert!(
            refusal
                .message
                .starts_with("/t/cluster.toml:4: user.name: "),
            "{}",
            refusal.message
        );
        assert_eq!(outcome(&preflight, "account name"), Outcome::Refused);
        // MySQL 8.0.16 and MariaDB 10.5: the 65-character host is too long (60).
        for facts in [on(Flavour::Mysql, 8, 0, 16), on(Flavour::Mariadb, 10, 5, 0)] {
            let (_, refusal) = decide(
                &spec,
                admin(),
                &facts,
                &desired_on(&facts),
                &reads(Some(1), &[ROOT]),
            )
            .unwrap();
            let refusal = refusal.expect("refused");
            assert!(
                refusal
                    .message
                    .starts_with("/t/cluster.toml:5: user.host: "),
                "{}",
                refusal.message
            );
        }
        // MySQL 8.0.17 and MariaDB 10.6 keep both.
        for facts in [on(Flavour::Mysql, 8, 0, 17), on(Flavour::Mariadb, 10, 6, 0)] {
            let (preflight, refusal) = decide(
                &spec,
                admin(),
                &facts,
                &desired_on(&facts),
                &reads(Some(1), &[ROOT]),
            )
            .unwrap();
            assert!(refusal.is_none(), "{refusal:?}");
            assert_eq!(outcome(&preflight, "account name"), Outcome::Ok);
        }
    }

    #[test]
    fn an_admin_with_every_privilege_and_a_key_that_fits_pass() {
        let facts = mariadb("latin1");
        let (preflight, refusal) = decided(&facts, &reads(Some(1), &[ROOT])).unwrap();
        assert!(refusal.is_none(), "{refusal:?}");
        assert_eq!(outcome(&preflight, "admin privileges"), Outcome::Ok);
        assert_eq!(outcome(&preflight, "index key length"), Outcome::Ok);
        assert_eq!(preflight.charset_max_bytes, 1);
    }

    #[test]
    fn a_key_too_long_for_the_charset_and_an_admin_without_grant_option_are_refused() {
        let mut facts = mariadb("utf8mb4");
        facts.max_index_bytes = 767;
        let grants = ["GRANT CREATE, CREATE USER ON *.* TO `admin`@`%`"];
        let (preflight, refusal) = decided(&facts, &reads(Some(4), &grants)).unwrap();
        assert_eq!(outcome(&preflight, "index key length"), Outcome::Refused);
        assert_eq!(outcome(&preflight, "admin privileges"), Outcome::Refused);
        let refusal = refusal.expect("refused");
        assert!(
            refusal.message.contains("REG_PATH"),
            "the first refusal names the key: {}",
            refusal.message
        );
        assert_eq!(
            missing_admin_privileges(
                &grants
                    .iter()
                    .filter_map(|g| parse_grant(g))
                    .collect::<Vec<_>>()
            )
            .as_deref(),
            Some("GRANT OPTION")
        );
    }

    #[test]
    fn a_charset_the_server_does_not_know_is_bad_input_and_unreadable_grants_a_warning() {
        let facts = mariadb("latin1");
        let e = decided(&facts, &reads(None, &[ROOT])).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_BAD_INPUT);
        let mut unreadable = reads(Some(1), &[]);
        unreadable.admin_grants = Err("denied".into());
        let (preflight, refusal) = decided(&facts, &unreadable).unwrap();
        assert!(refusal.is_none());
        assert_eq!(outcome(&preflight, "admin privileges"), Outcome::Warning);
    }
}
