//! The pre-flight: everything that decides whether provisioning will succeed, read before anything
//! changes and reported in one block; a choice known to fail is refused with the reason and the fix.

use sqlx::{MySqlConnection, Row};

use crate::cli::report::{Check, Outcome, Preflight, ScriptReport};
use crate::core::dbscript;
use crate::core::desired::DesiredServer;
use crate::core::facts::{Flavour, ServerFacts};
use crate::core::spec::{CharsetChoice, Spec};
use crate::core::sql::keylen;
use crate::error::{Error, Result};
use crate::mysql::connect::{statement_error, Endpoint};
use crate::core::observed::{parse_grant, GrantTarget};
use crate::mysql::members;

/// The checks that decide success, read before anything changes. Returns the report block and, when a
/// choice is known to fail, the refusal.
pub async fn run(
    spec: &Spec,
    admins: &[Endpoint],
    conn: &mut MySqlConnection,
    endpoint: &Endpoint,
    facts: &ServerFacts,
    desired: &DesiredServer,
) -> Result<(Preflight, Option<Error>)> {
    let mut checks = Vec::new();
    let mut refusal = None;
    let charset = &desired.charset;
    // A text query with the name quoted: one round trip (a bound parameter costs a second, to prepare).
    let max_bytes: Option<u32> = sqlx::raw_sql(&format!(
        "SELECT CAST(MAXLEN AS SIGNED) FROM information_schema.CHARACTER_SETS WHERE CHARACTER_SET_NAME = {}",
        crate::core::sql::quote::literal(charset, crate::core::sql::quote::Backslashes::Escape)
    ))
    .fetch_all(&mut *conn)
        .await
        .map_err(|e| statement_error(&e, "reading the charsets the server knows"))?
        .first()
        .and_then(|row| row.try_get::<i64, _>(0).ok())
        .map(|bytes| bytes.clamp(1, 8) as u32);
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
    if let Some(wanted) = &desired.account.auth_plugin {
        let usable = match facts.flavour {
            Flavour::Mariadb => wanted == "mysql_native_password",
            Flavour::Mysql => {
                let status: Option<String> = sqlx::query(
                    "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = ?",
                )
                .bind(wanted)
                .fetch_optional(&mut *conn)
                .await
                .map_err(|e| statement_error(&e, "reading the server's plugins"))?
                .and_then(|row| row.try_get(0).ok());
                status.as_deref() == Some("ACTIVE")
            }
        };
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
    match admin_can_provision(conn).await {
        Ok(None) => checks.push(Check {
            name: "admin privileges".into(),
            outcome: Outcome::Ok,
            detail: format!(
                "{} may create databases, accounts and grants",
                endpoint.user
            ),
        }),
        Ok(Some(missing)) => {
            checks.push(Check {
                name: "admin privileges".into(),
                outcome: Outcome::Refused,
                detail: format!("{} lacks {missing}", endpoint.user),
            });
            refusal.get_or_insert(
                Error::failure(format!("the admin account {} lacks {missing}", endpoint.describe()))
                    .with_hint("provision with an account that has CREATE, CREATE USER and GRANT OPTION on *.* (for example root)"),
            );
        }
        Err(e) => checks.push(Check {
            name: "admin privileges".into(),
            outcome: Outcome::Warning,
            detail: format!("could not be read: {}", e.message),
        }),
    }
    let script = &desired.script;
    galera_checks(
        spec,
        admins,
        (endpoint, conn),
        facts,
        script,
        &mut checks,
        &mut refusal,
    )
    .await;
    let preflight = Preflight {
        server: facts.clone(),
        endpoint: endpoint.describe(),
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

/// What matters for WSO2 on Galera (and the settings that refuse tables without a primary key anywhere).
async fn galera_checks(
    spec: &Spec,
    admins: &[Endpoint],
    in_use: (&Endpoint, &mut MySqlConnection),
    facts: &ServerFacts,
    script: &dbscript::Dbscript,
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
    let members = members::member_states(admins, in_use).await;
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

/// `None` when the current account may create databases, users and grants; else what it lacks.
async fn admin_can_provision(conn: &mut MySqlConnection) -> Result<Option<String>> {
    let rows = sqlx::raw_sql("SHOW GRANTS")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| statement_error(&e, "reading the admin's grants"))?;
    let grants: Vec<_> = rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .filter_map(|l| parse_grant(&l))
        .collect();
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
    Ok(if missing.is_empty() {
        None
    } else {
        Some(missing.join(", "))
    })
}
