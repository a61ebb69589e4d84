//! An account's grants, read from the server's privilege tables rather than from `SHOW GRANTS` text.
//!
//! `SHOW GRANTS` writes identifiers the way the session's `sql_mode` says (double quotes under
//! `ANSI_QUOTES`), lower-cases names under `lower_case_table_names`, and spells privileges differently per
//! server. The privilege tables hold what the server itself matches against: `mysql.user` (global),
//! `mysql.db` (database patterns, exactly as stored), `mysql.tables_priv` with `mysql.columns_priv` (a
//! column-level grant is a `tables_priv` row with an empty `Table_priv`: read alone it looks like USAGE,
//! and revoking USAGE takes nothing away), `mysql.procs_priv`, and the role mappings. eidb reads those,
//! and compares database patterns the way the server matches them
//! ([`crate::core::matching::pattern_match`]).

use std::collections::BTreeMap;

use sqlx::mysql::MySqlRow;
use sqlx::{Column, MySqlConnection, Row};

use crate::core::matching;
use crate::core::observed::{host_key, ActualGrant, GrantTarget};
use crate::core::sql::quote::{self, Backslashes};
use crate::error::Result;
use crate::server::connect::statement_error;

/// What one statement reads: every privilege table row of the account's name, in four result sets.
fn privilege_tables_sql(user: &str, backslashes: Backslashes) -> String {
    let user = quote::literal(user, backslashes);
    format!(
        "SELECT * FROM mysql.user WHERE User = {user};\n\
         SELECT * FROM mysql.db WHERE User = {user};\n\
         SELECT Host, Db, Table_name, Table_priv, Column_priv FROM mysql.tables_priv WHERE User = {user};\n\
         SELECT Host, Db, Routine_name, Routine_type, Proc_priv FROM mysql.procs_priv WHERE User = {user}"
    )
}

/// The columns of column-level grants. Read on its own: a monitor set up before eidb read this table
/// may lack SELECT on it, and then the privileges are still known from `tables_priv.Column_priv`, only
/// not their columns.
fn columns_priv_sql(user: &str, backslashes: Backslashes) -> String {
    format!(
        "SELECT Host, Db, Table_name, Column_name, Column_priv FROM mysql.columns_priv WHERE User = {} \
         ORDER BY Host, Db, Table_name, Column_name",
        quote::literal(user, backslashes)
    )
}

/// How a column privilege reads when `mysql.columns_priv` could not be read.
pub const UNKNOWN_COLUMNS: &str = "columns unknown: SELECT on mysql.columns_priv names them";

/// One table's grants as the privilege tables hold them: `tables_priv.Table_priv` and, from
/// `columns_priv`, each column privilege with its columns.
#[derive(Default)]
struct TableRow {
    table_privileges: String,
    /// `tables_priv.Column_priv`: the privileges granted on some columns.
    column_privileges: String,
    /// Privilege (upper-case) -> the columns it is granted on, in the server's order.
    columns: BTreeMap<String, Vec<String>>,
}

impl TableRow {
    /// The row as one grant, e.g. `INSERT, SELECT (`A`, `B`), UPDATE (`A`)`; `None` when it grants
    /// nothing (no table privilege, no column privilege, no grant option).
    fn grant(self, database: String, table: String) -> Option<ActualGrant> {
        let (table_privileges, with_grant_option) = set_privileges(&self.table_privileges);
        let mut items: Vec<String> = matching::privilege_items(&table_privileges);
        let mut columns = self.columns;
        // A privilege tables_priv says is granted on columns, but columns_priv did not say on which.
        for privilege in matching::privilege_items(&set_privileges(&self.column_privileges).0) {
            columns.entry(privilege).or_default();
        }
        for (privilege, columns) in columns {
            if columns.is_empty() {
                items.push(format!("{privilege} ({UNKNOWN_COLUMNS})"));
                continue;
            }
            let columns: Vec<String> = columns.iter().map(|c| quote::ident(c)).collect();
            items.push(format!("{privilege} ({})", columns.join(", ")));
        }
        if items.is_empty() && !with_grant_option {
            return None;
        }
        Some(ActualGrant {
            expanded: Vec::new(),
            privileges: if items.is_empty() {
                "USAGE".into()
            } else {
                items.join(", ")
            },
            target: GrantTarget::Table(database, table),
            with_grant_option,
        })
    }
}

/// Read the grants of every row of `user`, by host key.
pub async fn read(
    conn: &mut MySqlConnection,
    user: &str,
    backslashes: Backslashes,
) -> Result<BTreeMap<String, Vec<ActualGrant>>> {
    use futures_util::TryStreamExt;
    let sql = privilege_tables_sql(user, backslashes);
    let mut out: BTreeMap<String, Vec<ActualGrant>> = BTreeMap::new();
    // Table and column privileges of one table are one grant: (host, db, table) -> the row.
    let mut tables: BTreeMap<(String, String, String), TableRow> = BTreeMap::new();
    {
        let mut results = sqlx::raw_sql(&sql).fetch_many(&mut *conn);
        // Result sets are told apart by the query results that end them.
        let mut set = 0;

        while let Some(item) = results
            .try_next()
            .await
            .map_err(|e| statement_error(&e, &format!("reading the grants of '{user}'")))?
        {
            let row = match item {
                sqlx::Either::Left(_) => {
                    set += 1;
                    continue;
                }
                sqlx::Either::Right(row) => row,
            };
            let (host, grant) = match set {
                0 => global_grant(&row),
                1 => database_grant(&row),
                2 => {
                    let at = (text(&row, 0), text(&row, 1), text(&row, 2));
                    let table = tables.entry(at).or_default();
                    table.table_privileges = text(&row, 3);
                    table.column_privileges = text(&row, 4);
                    continue;
                }
                _ => routine_grant(&row),
            };
            let entry = out.entry(host_key(&host)).or_default();
            entry.extend(grant);
        }
    }
    if tables.values().any(|t| !t.column_privileges.is_empty()) {
        if let Ok(rows) = sqlx::raw_sql(&columns_priv_sql(user, backslashes))
            .fetch_all(&mut *conn)
            .await
        {
            for row in rows {
                let at = (text(&row, 0), text(&row, 1), text(&row, 2));
                let column = text(&row, 3);
                let (privileges, _) = set_privileges(&text(&row, 4));
                let columns = &mut tables.entry(at).or_default().columns;
                for privilege in matching::privilege_items(&privileges) {
                    columns.entry(privilege).or_default().push(column.clone());
                }
            }
        }
    }
    for ((host, database, table), row) in tables {
        if let Some(grant) = row.grant(database, table) {
            out.entry(host_key(&host)).or_default().push(grant);
        }
    }
    // Roles: MariaDB keeps them in mysql.roles_mapping, MySQL 8 in mysql.role_edges; a server without
    // roles has neither table, and the error only says so.
    let roles = [
        format!(
            "SELECT Host, CONCAT('`', REPLACE(Role, '`', '``'), '`') FROM mysql.roles_mapping WHERE User = {}",
            quote::literal(user, backslashes)
        ),
        format!(
            "SELECT TO_HOST, CONCAT('`', REPLACE(FROM_USER, '`', '``'), '`@`', REPLACE(FROM_HOST, '`', '``'), '`') \
             FROM mysql.role_edges WHERE TO_USER = {}",
            quote::literal(user, backslashes)
        ),
    ];
    for sql in roles {
        if let Ok(rows) = sqlx::raw_sql(&sql).fetch_all(&mut *conn).await {
            for row in rows {
                let host = text(&row, 0);
                out.entry(host_key(&host)).or_default().push(ActualGrant {
                    privileges: "ROLE".into(),
                    expanded: Vec::new(),
                    target: GrantTarget::Other(text(&row, 1)),
                    with_grant_option: false,
                });
            }
            break;
        }
    }
    Ok(out)
}

fn text(row: &MySqlRow, index: usize) -> String {
    row.try_get_unchecked::<Option<String>, _>(index)
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn named(row: &MySqlRow, name: &str) -> String {
    row.columns()
        .iter()
        .position(|c| c.name().eq_ignore_ascii_case(name))
        .map(|i| text(row, i))
        .unwrap_or_default()
}

/// The `*_priv` columns of a `mysql.user` or `mysql.db` row: (privilege, granted).
fn privilege_columns(row: &MySqlRow) -> Vec<(String, bool)> {
    row.columns()
        .iter()
        .enumerate()
        .filter_map(|(i, column)| {
            let name = column.name().strip_suffix("_priv")?;
            Some((name.to_string(), text(row, i).eq_ignore_ascii_case("Y")))
        })
        .collect()
}

/// A privilege column's name (without `_priv`) as SQL names the privilege.
pub fn privilege_name(column: &str) -> String {
    match column.to_ascii_lowercase().as_str() {
        "create_tmp_table" => "CREATE TEMPORARY TABLES".into(),
        "show_db" => "SHOW DATABASES".into(),
        "repl_slave" => "REPLICATION SLAVE".into(),
        "repl_client" => "REPLICATION CLIENT".into(),
        other => other.replace('_', " ").to_ascii_uppercase(),
    }
}

/// The privileges of one row as a grant: `ALL PRIVILEGES` when every column is granted, `None` when
/// none is (the row grants nothing), else the granted ones; whether it has the grant option; and the
/// granted privileges one by one.
pub fn grant_from_columns(columns: &[(String, bool)]) -> (Option<String>, bool, Vec<String>) {
    let grant_option = columns
        .iter()
        .any(|(name, granted)| *granted && name.eq_ignore_ascii_case("Grant"));
    let privileges: Vec<&(String, bool)> = columns
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("Grant"))
        .collect();
    let granted: Vec<String> = privileges
        .iter()
        .filter(|(_, granted)| *granted)
        .map(|(name, _)| privilege_name(name))
        .collect();
    let text = if granted.is_empty() {
        None
    } else if granted.len() == privileges.len() {
        Some("ALL PRIVILEGES".to_string())
    } else {
        Some(granted.join(", "))
    };
    (text, grant_option, granted)
}

fn global_grant(row: &MySqlRow) -> (String, Vec<ActualGrant>) {
    // MariaDB lists roles in mysql.user too; they are not account rows.
    if named(row, "is_role").eq_ignore_ascii_case("Y") {
        return (String::new(), Vec::new());
    }
    let (privileges, with_grant_option, expanded) = grant_from_columns(&privilege_columns(row));
    let grant = ActualGrant {
        privileges: privileges.unwrap_or_else(|| "USAGE".to_string()),
        expanded,
        target: GrantTarget::Global,
        with_grant_option,
    };
    (named(row, "Host"), vec![grant])
}

fn database_grant(row: &MySqlRow) -> (String, Vec<ActualGrant>) {
    let (privileges, with_grant_option, expanded) = grant_from_columns(&privilege_columns(row));
    let grant = (privileges.is_some() || with_grant_option).then(|| ActualGrant {
        privileges: privileges.unwrap_or_else(|| "USAGE".to_string()),
        expanded,
        target: GrantTarget::Database(named(row, "Db")),
        with_grant_option,
    });
    (named(row, "Host"), grant.into_iter().collect())
}

/// `Select,Insert,Grant` (a SET column) -> the privileges, and whether `Grant` was among them.
fn set_privileges(set: &str) -> (String, bool) {
    let mut grant_option = false;
    let names: Vec<String> = set
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let is_grant = p.eq_ignore_ascii_case("Grant");
            grant_option |= is_grant;
            !is_grant
        })
        .map(str::to_ascii_uppercase)
        .collect();
    (names.join(", "), grant_option)
}

fn routine_grant(row: &MySqlRow) -> (String, Vec<ActualGrant>) {
    let (privileges, with_grant_option) = set_privileges(&text(row, 4));
    let routine = format!(
        "{} {}.{}",
        text(row, 3).to_ascii_uppercase(),
        quote::ident(&text(row, 1)),
        quote::ident(&text(row, 2))
    );
    let grant = ActualGrant {
        privileges,
        expanded: Vec::new(),
        target: GrantTarget::Routine(routine),
        with_grant_option,
    };
    (text(row, 0), vec![grant])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privilege_columns_become_grants() {
        let cols = |granted: &[&str], all: &[&str]| -> Vec<(String, bool)> {
            all.iter()
                .map(|c| (c.to_string(), granted.contains(c)))
                .collect()
        };
        let all = ["Select", "Insert", "Create_tmp_table", "Grant"];
        let (text, grant_option, each) =
            grant_from_columns(&cols(&["Select", "Insert", "Create_tmp_table"], &all));
        assert_eq!(
            (text.as_deref(), grant_option),
            (Some("ALL PRIVILEGES"), false)
        );
        assert_eq!(each, ["SELECT", "INSERT", "CREATE TEMPORARY TABLES"]);
        let (text, grant_option, _) =
            grant_from_columns(&cols(&["Select", "Create_tmp_table", "Grant"], &all));
        assert_eq!(
            (text.as_deref(), grant_option),
            (Some("SELECT, CREATE TEMPORARY TABLES"), true)
        );
        assert_eq!(grant_from_columns(&cols(&[], &all)).0, None);
        assert_eq!(privilege_name("Show_db"), "SHOW DATABASES");
        assert_eq!(privilege_name("Delete_history"), "DELETE HISTORY");
        assert_eq!(
            set_privileges("Select,Grant,Create View"),
            ("SELECT, CREATE VIEW".into(), true)
        );
    }
}
