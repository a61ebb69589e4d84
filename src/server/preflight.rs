//! What the pre-flight reads from the server, before anything changes: the charset's width, whether the
//! account's plugin is there, the admin's grants and, on Galera, every member's state. The decisions are
//! `crate::core::preflight::decide`'s.

use sqlx::{MySqlConnection, Row};

use crate::core::desired::DesiredServer;
use crate::core::facts::{Flavour, ServerFacts};
use crate::core::observed::parse_grant;
use crate::core::preflight::PreflightReads;
use crate::core::sql::quote::{self, Backslashes};
use crate::error::Result;
use crate::server::connect::{statement_error, Endpoint};
use crate::server::members;

/// Read what the pre-flight decides on. `admins`: every server of the spec; `in_use`: the one this run
/// talks to, asked on its open connection.
pub async fn read(
    admins: &[Endpoint],
    (endpoint, conn): (&Endpoint, &mut MySqlConnection),
    facts: &ServerFacts,
    desired: &DesiredServer,
) -> Result<PreflightReads> {
    // A text query with the name quoted: one round trip (a bound parameter costs a second, to prepare).
    let charset_max_bytes: Option<u32> = sqlx::raw_sql(&format!(
        "SELECT CAST(MAXLEN AS SIGNED) FROM information_schema.CHARACTER_SETS WHERE CHARACTER_SET_NAME = {}",
        quote::literal(&desired.charset, Backslashes::Escape)
    ))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| statement_error(&e, "reading the charsets the server knows"))?
    .first()
    .and_then(|row| row.try_get::<i64, _>(0).ok())
    .map(|bytes| bytes.clamp(1, 8) as u32);
    let plugin_active = match &desired.account.auth_plugin {
        None => None,
        // MariaDB offers mysql_native_password only among the plugins eidb may ask for.
        Some(wanted) if facts.flavour == Flavour::Mariadb => {
            Some(wanted == "mysql_native_password")
        }
        Some(wanted) => {
            let status: Option<String> = sqlx::query(
                "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = ?",
            )
            .bind(wanted)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| statement_error(&e, "reading the server's plugins"))?
            .and_then(|row| row.try_get(0).ok());
            Some(status.as_deref() == Some("ACTIVE"))
        }
    };
    let admin_grants = sqlx::raw_sql("SHOW GRANTS")
        .fetch_all(&mut *conn)
        .await
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r.try_get::<String, _>(0).ok())
                .filter_map(|l| parse_grant(&l))
                .collect()
        })
        .map_err(|e| statement_error(&e, "reading the admin's grants").message);
    let members = if facts.galera {
        members::member_states(admins, (endpoint, conn)).await
    } else {
        Vec::new()
    };
    Ok(PreflightReads {
        charset_max_bytes,
        plugin_active,
        admin_grants,
        members,
    })
}
