//! Asking the server what the dbscript's tables' columns are (see `crate::core::sql::columns`): each
//! `CREATE TABLE` runs as a `CREATE TEMPORARY TABLE` and `SHOW FULL COLUMNS` says what the server made.

use sqlx::{Executor, Row};

use super::connect::Endpoint;
use crate::core::observed::key;
use crate::core::sql::columns::{probe_statement, ColumnShape, ScriptColumn, ScriptColumns};
use crate::core::sql::script::{SchemaObject, Statement};

/// What the probe found: the columns of the tables the server made, and, when the connecting account may
/// not create temporary tables at all (a monitoring account), the server's refusal.
#[derive(Debug, Default)]
pub struct Probed {
    pub columns: ScriptColumns,
    pub refused: Option<String>,
    /// The server made every table: the answer is whole, and may be kept in the ledger.
    pub complete: bool,
}

/// The session settings of [`crate::core::sql::columns::PROBE_SETTINGS`] (those the server has), as every
/// eidb session has them: with `sql_mode` as eidb's sessions set it. One round trip: one `SELECT` of the
/// variables (`SHOW VARIABLES` walks all of them, some 3 ms on MariaDB); should the server not know one of
/// them (an old version), `SHOW SESSION VARIABLES` picks those it has.
pub async fn session_settings(
    conn: &mut sqlx::MySqlConnection,
    flavour: crate::core::facts::Flavour,
) -> crate::error::Result<Vec<(String, String)>> {
    let names: Vec<&str> = crate::core::sql::columns::PROBE_SETTINGS
        .iter()
        .copied()
        // MySQL has no old_mode: asking would fail the SELECT every time.
        .filter(|name| flavour == crate::core::facts::Flavour::Mariadb || *name != "old_mode")
        .collect();
    let selected: Vec<String> = names.iter().map(|name| format!("@@{name}")).collect();
    if let Ok(row) = sqlx::raw_sql(&format!("SELECT {}", selected.join(", ")))
        .fetch_one(&mut *conn)
        .await
    {
        return Ok(names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let value = row
                    .try_get_unchecked::<Option<String>, _>(i)
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                (name.to_string(), value)
            })
            .collect());
    }
    let quoted: Vec<String> = names.iter().map(|name| format!("'{name}'")).collect();
    let rows = sqlx::raw_sql(&format!(
        "SHOW SESSION VARIABLES WHERE Variable_name IN ({})",
        quoted.join(",")
    ))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| super::connect::statement_error(&e, "reading the session's settings"))?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let text = |i| row.try_get_unchecked::<String, _>(i).ok();
            Some((text(0)?.to_ascii_lowercase(), text(1)?))
        })
        .collect())
}

/// Ask the server what the script's tables' columns are, in `database` (which must exist; its charset
/// is the tables'). Tables the server refuses to make (e.g. an index key too long) are left out: their
/// columns are not compared.
pub async fn probe(
    endpoint: &Endpoint,
    database: &str,
    statements: &[Statement],
) -> crate::error::Result<Probed> {
    // In two round trips when the server makes every table: all the CREATEs in one batch, then every
    // table's columns in another (the temporary tables go with the connection). Else table by table.
    if let Some(columns) = probe_batched(endpoint, database, statements).await {
        return Ok(Probed {
            columns,
            refused: None,
            complete: true,
        });
    }
    probe_one_by_one(endpoint, database, statements).await
}

/// The columns of one `SHOW FULL COLUMNS` result, as the script's column definitions meet them.
fn script_columns_of(
    rows: &[sqlx::mysql::MySqlRow],
    entries: &[(String, String)],
) -> Vec<ScriptColumn> {
    let mut columns = Vec::new();
    for row in rows {
        let text = |i: usize| -> Option<String> {
            row.try_get::<Option<String>, _>(i)
                .ok()
                .flatten()
                .or_else(|| {
                    row.try_get::<Option<Vec<u8>>, _>(i)
                        .ok()
                        .flatten()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                })
        };
        let (Some(field), Some(column_type)) = (text(0), text(1)) else {
            continue;
        };
        let nullable = text(3).is_some_and(|n| n.eq_ignore_ascii_case("YES"));
        let default = text(5);
        let definition = entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&field))
            .map(|(_, d)| d.clone());
        if let Some(definition) = definition {
            columns.push(ScriptColumn {
                name: field,
                definition,
                shape: ColumnShape::new(&column_type, nullable, default.as_deref()),
            });
        }
    }
    columns
}

/// `None` when anything in the batch is refused: then [`probe_one_by_one`] finds out which table.
async fn probe_batched(
    endpoint: &Endpoint,
    database: &str,
    statements: &[Statement],
) -> Option<ScriptColumns> {
    let mut conn = endpoint.connect(Some(database)).await.ok()?;
    let found = probe_batched_on(&mut conn, statements).await;
    super::connect::close(conn).await;
    found
}

async fn probe_batched_on(
    conn: &mut sqlx::MySqlConnection,
    statements: &[Statement],
) -> Option<ScriptColumns> {
    use futures_util::TryStreamExt;
    let mut creates = Vec::new();
    let mut tables = Vec::new();
    for statement in statements {
        match (&statement.object, probe_statement(statement)) {
            (SchemaObject::Session, _) => creates.push(statement.sql.clone()),
            (SchemaObject::Table { name }, Some((probe, entries))) => {
                creates.push(probe);
                tables.push((name.clone(), entries));
            }
            _ => {}
        }
    }
    if tables.is_empty() {
        return Some(ScriptColumns::new());
    }
    (&mut *conn)
        .execute(sqlx::raw_sql(&creates.join(";\n")))
        .await
        .ok()?;
    let shows: Vec<String> = tables
        .iter()
        .map(|(name, _)| {
            format!(
                "SHOW FULL COLUMNS FROM {}",
                crate::core::sql::quote::ident(name)
            )
        })
        .collect();
    let shows = shows.join(";\n");
    let mut results: Vec<Vec<sqlx::mysql::MySqlRow>> = vec![Vec::new()];
    {
        let mut stream = sqlx::raw_sql(&shows).fetch_many(&mut *conn);
        while let Some(item) = stream.try_next().await.ok()? {
            match item {
                sqlx::Either::Left(_) => results.push(Vec::new()),
                sqlx::Either::Right(row) => results.last_mut()?.push(row),
            }
        }
    }
    let mut found = ScriptColumns::new();
    for ((name, entries), rows) in tables.into_iter().zip(results) {
        let columns = script_columns_of(&rows, &entries);
        found.insert(key(&name), (name, columns));
    }
    Some(found)
}

async fn probe_one_by_one(
    endpoint: &Endpoint,
    database: &str,
    statements: &[Statement],
) -> crate::error::Result<Probed> {
    let mut conn = endpoint.connect(Some(database)).await?;
    let mut found = ScriptColumns::new();
    let mut skipped = Vec::new();
    let mut refused = None;
    for statement in statements {
        if statement.object == SchemaObject::Session {
            let _ = conn.execute(sqlx::raw_sql(&statement.sql)).await;
            continue;
        }
        let (SchemaObject::Table { name }, Some((probe, entries))) =
            (&statement.object, probe_statement(statement))
        else {
            continue;
        };
        if let Err(e) = conn.execute(sqlx::raw_sql(&probe)).await {
            // 1044/1142: no CREATE TEMPORARY TABLES privilege; no other table would fare better.
            if matches!(super::codes::mysql_code(&e), Some(1044 | 1142)) {
                refused = Some(crate::redact::redact(&e.to_string()));
                break;
            }
            skipped.push(format!("{name} ({e})"));
            continue;
        }
        let rows = sqlx::raw_sql(&format!(
            "SHOW FULL COLUMNS FROM {}",
            crate::core::sql::quote::ident(name)
        ))
        .fetch_all(&mut conn)
        .await
        .map_err(|e| super::connect::statement_error(&e, "reading the script's columns"))?;
        let columns = script_columns_of(&rows, &entries);
        let _ = conn
            .execute(sqlx::raw_sql(&format!(
                "DROP TEMPORARY TABLE {}",
                crate::core::sql::quote::ident(name)
            )))
            .await;
        found.insert(key(name), (name.clone(), columns));
    }
    super::connect::close(conn).await;
    if !skipped.is_empty() {
        tracing::warn!(
            "the columns of {} table(s) of the dbscript are not compared: the server would not make them as \
             temporary tables in {database}: {}",
            skipped.len(),
            crate::redact::redact(&skipped.join("; "))
        );
    }
    Ok(Probed {
        columns: found,
        complete: refused.is_none() && skipped.is_empty(),
        refused,
    })
}
