//! Reading what the server is (`crate::core::facts`), in one round trip.

use std::collections::HashMap;

use sqlx::{MySqlConnection, Row};

use crate::core::facts::{from_variables, ServerFacts, VARIABLES};
use crate::error::Result;

/// Read the facts in one query. `os_override` injects `@@version_compile_os` (tests of the Windows rule).
pub async fn read(conn: &mut MySqlConnection, os_override: Option<&str>) -> Result<ServerFacts> {
    let list = VARIABLES
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(",");
    let rows = sqlx::raw_sql(&format!(
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ({list})"
    ))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| super::connect::statement_error(&e, "cannot read the server's settings"))?;
    let vars: HashMap<String, String> = rows
        .iter()
        .filter_map(|row| {
            let name: String = row.try_get(0).ok()?;
            let value: String = row.try_get(1).ok()?;
            Some((name.to_ascii_lowercase(), value))
        })
        .collect();
    from_variables(&vars, os_override)
}
