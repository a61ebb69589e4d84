//! Actual: what exists on the server now, read in a few round trips however many databases and tables
//! there are (one batch of statements over `information_schema` and the account's rows, then the
//! account's grants from the privilege tables: see [`super::grants`]).

use std::collections::BTreeMap;

use sqlx::{MySqlConnection, Row};

use super::grants;
use crate::core::observed::{
    host_key, key, Actual, ActualAccount, ActualDatabase, ActualTable, IndexShape,
};
use crate::core::sql::quote::{self, Backslashes};
use crate::error::Result;
use crate::server::connect::statement_error;

/// `'a','b'` for an `IN (...)`; `''` for none (matches nothing).
fn quoted_list<'a>(items: impl Iterator<Item = &'a str>, backslashes: Backslashes) -> String {
    let quoted: Vec<String> = items
        .map(|item| quote::literal(item, backslashes))
        .collect();
    if quoted.is_empty() {
        "''".to_string()
    } else {
        quoted.join(",")
    }
}

/// The inspection query, shipped as SQL (see the file for its placeholders).
const INSPECT_SQL: &str = include_str!("../../sql/inspect.sql");

/// Where the statements after the first (the databases, from SCHEMATA) begin.
const TABLES_PART: &str = "SELECT 'table'";

/// The statements of `sql` (eidb's own SQL, before any name is filled in), without their comments and `;`.
fn statements(sql: &str) -> Vec<String> {
    let code: Vec<&str> = sql
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect();
    code.join("\n")
        .split(';')
        .map(str::trim)
        .filter(|statement| !statement.is_empty())
        .map(str::to_string)
        .collect()
}

/// The names filled into a statement of the inspection.
struct Names<'a> {
    /// `{databases}`: the quoted list of every database named.
    list: &'a str,
    /// `{user}`: the quoted account name.
    user: &'a str,
    /// `{database}`: each statement with it is sent once per database found, with its quoted name.
    found: &'a [String],
}

/// The statements of `sql` with the names filled in: each one with a `{database}` placeholder once per
/// database found (none when none was), the others once.
fn fill(sql: &str, names: &Names) -> Vec<String> {
    let mut out = Vec::new();
    for statement in statements(sql) {
        let statement = statement
            .replace("{databases}", names.list)
            .replace("{user}", names.user);
        if statement.contains("{database}") {
            out.extend(
                names
                    .found
                    .iter()
                    .map(|name| statement.replace("{database}", name)),
            );
        } else {
            out.push(statement);
        }
    }
    out
}

/// Where the inspection query's last part, the account's rows from `mysql.user`, begins.
const ACCOUNT_PART: &str = "-- Every row of the account's name";

/// Where the statements that read indexes and keys (the ones that open every table) begin; they end where
/// [`ACCOUNT_PART`] begins.
const KEYS_PART: &str = "-- The indexes and keys:";

/// Where the statement that reads the constraints by name begins, and where the next one begins.
const CONSTRAINTS_PART: (&str, &str) = (
    "-- Every constraint by name.",
    "-- One row per column of a foreign key",
);
/// The same for the routines and for the triggers.
const ROUTINES_PART: (&str, &str) = ("SELECT 'routine'", "SELECT 'trigger'");
const TRIGGERS_PART: (&str, &str) = ("SELECT 'trigger'", "SELECT 'column'");

/// The reads only some scripts need: each makes the server walk every table (or routine) of the
/// databases again, and the plan looks only for the script's own objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reads {
    /// The constraints by name (`TABLE_CONSTRAINTS`): every kind, CHECK ones too. Without it they are the
    /// unique indexes (PRIMARY included) and the foreign keys, which is every constraint but CHECK ones.
    pub constraints_by_name: bool,
    pub routines: bool,
    pub triggers: bool,
}

impl Reads {
    /// Everything (what another member is compared by).
    pub const ALL: Reads = Reads {
        constraints_by_name: true,
        routines: true,
        triggers: true,
    };

    /// What a plan for these statements looks up: CHECK constraints, routines and triggers only when the
    /// script has some.
    pub fn for_script(statements: &[crate::core::sql::script::Statement]) -> Reads {
        use crate::core::sql::script::SchemaObject;
        let any = |wanted: fn(&crate::core::sql::script::Statement) -> bool| {
            statements.iter().any(wanted)
        };
        Reads {
            constraints_by_name: any(|s| {
                matches!(s.object, SchemaObject::Constraint { .. })
                    && s.sql.to_ascii_uppercase().contains("CHECK")
            }),
            routines: any(|s| matches!(s.object, SchemaObject::Routine { .. })),
            triggers: any(|s| matches!(s.object, SchemaObject::Trigger { .. })),
        }
    }
}

/// What reading the account and its grants takes (besides the cluster's databases).
pub const PRIVILEGE_TABLES_NEEDED: &str =
    "SELECT on mysql.user, mysql.db, mysql.tables_priv and mysql.procs_priv (or SELECT ON *.*)";

/// Access denied to a table or database (1142, 1143, 1044).
fn is_denied(e: &sqlx::Error) -> bool {
    matches!(
        crate::server::codes::mysql_code(e),
        Some(1142 | 1143 | 1044)
    )
}

/// Read the databases named, and every row of the account `account` (none when it is empty) with its
/// grants.
pub async fn read(
    conn: &mut MySqlConnection,
    databases: &[&str],
    account: &str,
    backslashes: Backslashes,
) -> Result<Actual> {
    read_only(conn, Reads::ALL, databases, account, backslashes).await
}

/// [`read`], of only what `reads` asks for besides what is always read.
pub async fn read_only(
    conn: &mut MySqlConnection,
    reads: Reads,
    databases: &[&str],
    account: &str,
    backslashes: Backslashes,
) -> Result<Actual> {
    read_with(conn, None, None, reads, databases, account, backslashes).await
}

/// [`read`], with the indexes and keys read on a second connection to the same server (`second`, or the one
/// `opening` opens), at the same time as the rest on `conn`: the server then works on both halves at once.
/// Should the second connection not open, everything is read on `conn`.
pub async fn read_in_two(
    conn: &mut MySqlConnection,
    (second, opening): (&super::connect::Endpoint, Option<super::connect::Opening>),
    reads: Reads,
    databases: &[&str],
    account: &str,
    backslashes: Backslashes,
) -> Result<Actual> {
    read_with(
        conn,
        Some(second),
        opening,
        reads,
        databases,
        account,
        backslashes,
    )
    .await
}

async fn read_with(
    conn: &mut MySqlConnection,
    second: Option<&super::connect::Endpoint>,
    opening: Option<super::connect::Opening>,
    reads: Reads,
    databases: &[&str],
    account: &str,
    backslashes: Backslashes,
) -> Result<Actual> {
    let mut actual = Actual::default();
    let list = quoted_list(databases.iter().copied(), backslashes);
    let mut template = INSPECT_SQL.to_string();
    for (wanted, (from, to)) in [
        (reads.constraints_by_name, CONSTRAINTS_PART),
        (reads.routines, ROUTINES_PART),
        (reads.triggers, TRIGGERS_PART),
    ] {
        if let (false, Some(from), Some(to)) = (wanted, template.find(from), template.find(to)) {
            template.replace_range(from..to, "");
        }
    }
    let user = quote::literal(account, backslashes);
    let fail = |e: sqlx::Error| statement_error(&e, "reading the databases and the account");
    // Which of the databases exist, first: every other statement is then sent once per database found,
    // by its name as the server spells it (see sql/inspect.sql for why not one IN list).
    let schemata_end = template.find(TABLES_PART).unwrap_or(template.len());
    let mut names = Names {
        list: &list,
        user: &user,
        found: &[],
    };
    let mut rows = sqlx::raw_sql(&fill(&template[..schemata_end], &names).join(";\n"))
        .fetch_all(&mut *conn)
        .await
        .map_err(fail)?;
    let found: Vec<String> = rows
        .iter()
        .filter_map(|row| row.try_get_unchecked::<Option<&str>, _>(1).ok().flatten())
        .map(|name| quote::literal(name, backslashes))
        .collect();
    names.found = &found;
    let body = &template[schemata_end..];
    let (keys_at, account_at) = (
        body.find(KEYS_PART).unwrap_or(body.len()),
        body.find(ACCOUNT_PART).unwrap_or(body.len()),
    );
    let (before_keys, keys, account_statements) = (
        fill(&body[..keys_at], &names),
        fill(&body[keys_at..account_at], &names),
        fill(&body[account_at..], &names),
    );
    let joined = |parts: &[&[String]]| parts.concat().join(";\n");
    let sql = joined(&[&before_keys, &keys, &account_statements]);
    let keys_sql = joined(&[&keys]);
    let rest_sql = joined(&[&before_keys, &account_statements]);
    let without_accounts = joined(&[&before_keys, &keys]);
    let before_keys = joined(&[&before_keys]);
    // The indexes and keys on a connection of their own, when one opens.
    let keys = async {
        if keys_sql.is_empty() {
            // No database of the cluster exists: nothing to read on a second connection.
            if let Some(opening) = opening {
                opening.discard().await;
            }
            return Some(Ok(Vec::new()));
        }
        let opened = match opening {
            Some(opening) => opening.take().await,
            None => None,
        };
        let mut other = match opened {
            Some(conn) => conn,
            None => second?.connect(None).await.ok()?,
        };
        let rows = sqlx::raw_sql(&keys_sql).fetch_all(&mut other).await;
        super::connect::close(other).await;
        Some(rows)
    };
    let (first_sql, rest) = if second.is_some() {
        (rest_sql.as_str(), true)
    } else {
        (sql.as_str(), false)
    };
    let main = async {
        match sqlx::raw_sql(first_sql).fetch_all(&mut *conn).await {
            // A monitoring account that may not read the privilege tables still checks everything else.
            Err(e) if is_denied(&e) && !account.is_empty() => {
                let sql = if rest {
                    &before_keys
                } else {
                    &without_accounts
                };
                if sql.is_empty() {
                    return Err(Ok(Vec::new()));
                }
                Err(sqlx::raw_sql(sql).fetch_all(&mut *conn).await)
            }
            other => Ok(other),
        }
    };
    let (main, keys) = tokio::join!(main, keys);
    rows.extend(
        match main {
            Ok(read) => read,
            Err(read) => {
                actual.accounts_unreadable = Some(PRIVILEGE_TABLES_NEEDED.to_string());
                read
            }
        }
        .map_err(fail)?,
    );
    match (rest, keys) {
        (true, Some(keys)) => rows.extend(keys.map_err(fail)?),
        // No second connection: the indexes and keys on this one, after the rest.
        (true, None) => rows.extend(
            sqlx::raw_sql(&keys_sql)
                .fetch_all(&mut *conn)
                .await
                .map_err(fail)?,
        ),
        (false, _) => {}
    }
    let mut account_rows = Vec::new();
    // An index's and a foreign key's columns come one row each, assembled after the loop.
    type Parts = BTreeMap<(String, String, String), (String, Vec<(u32, String, String)>)>;
    let mut index_parts: Parts = BTreeMap::new();
    let mut foreign_key_parts: Parts = BTreeMap::new();
    // Rows come database by database: the key of the last one is kept rather than made again per row.
    let mut last_schema: (String, String) = Default::default();
    for row in rows {
        // Every column of every statement of the inspection is text (sql/inspect.sql casts them): the
        // per-value type check of `try_get` is skipped, it was a fifth of eidb's time in a no-op run.
        let text = |i: usize| {
            row.try_get_unchecked::<Option<&str>, _>(i)
                .ok()
                .flatten()
                .unwrap_or_default()
        };
        let get = |i: usize| text(i).to_owned();
        let kind = text(0);
        let (schema, table, name, extra) = (get(1), get(2), get(3), get(4));
        if kind == "account" {
            match schema.as_str() {
                _ if account.is_empty() => {}
                "" => actual.anonymous_hosts.push(table),
                _ => account_rows.push((table, name)),
            }
            continue;
        }
        if last_schema.0 != schema {
            last_schema = (schema.clone(), key(&schema));
        }
        let db = actual
            .databases
            .entry(last_schema.1.clone())
            .or_insert_with(|| ActualDatabase {
                name: schema.clone(),
                ..Default::default()
            });
        match kind {
            "db" => {
                let (charset, collation) = extra.split_once('/').unwrap_or((&extra, ""));
                db.charset = charset.to_string();
                db.collation = collation.to_string();
            }
            "table" if name == "VIEW" => {
                db.views.insert(key(&table));
            }
            "table" => {
                let (engine, collation) = extra.split_once('/').unwrap_or(("", ""));
                let charset = collation.split('_').next().unwrap_or("").to_string();
                db.tables.insert(
                    key(&table),
                    ActualTable {
                        name: table,
                        engine: engine.to_string(),
                        charset,
                    },
                );
            }
            "index" => {
                db.indexes.insert((key(&table), key(&name)));
                let (seq, column) = (get(5).parse().unwrap_or(0), get(6));
                let entry = index_parts
                    .entry((last_schema.1.clone(), table, name))
                    .or_insert_with(|| (extra.clone(), Vec::new()));
                // Unique when every row says so (NON_UNIQUE 0).
                if extra != "0" {
                    entry.0 = extra;
                }
                entry.1.push((seq, column, String::new()));
            }
            "constraint" => {
                db.constraints.insert((key(&table), key(&name)));
            }
            "foreign_key" => {
                let (position, column) = (get(5).parse().unwrap_or(0), get(6));
                foreign_key_parts
                    .entry((last_schema.1.clone(), table, name))
                    .or_insert_with(|| (extra, Vec::new()))
                    .1
                    .push((position, column, get(7)));
            }
            "routine" => {
                db.routines.insert(key(&name));
            }
            "trigger" => {
                db.triggers.insert(key(&name));
            }
            "column" => {
                // `YES+varchar(20)\n'x'`: nullability, whether there is a default, the type, the default.
                let (head, default) = extra.split_once('\n').unwrap_or((&extra, ""));
                let nullable = head.starts_with("YES");
                let rest = head.trim_start_matches("YES").trim_start_matches("NO");
                let has_default = rest.starts_with('+');
                let column_type = rest.get(1..).unwrap_or("");
                db.columns.insert(
                    (key(&table), key(&name)),
                    crate::core::sql::columns::ColumnShape::new(
                        column_type,
                        nullable,
                        has_default.then_some(default),
                    ),
                );
            }
            _ => {}
        }
    }
    let derive = !reads.constraints_by_name;
    for ((database, table, name), (non_unique, mut columns)) in index_parts {
        if let (true, "0", Some(db)) = (
            derive,
            non_unique.as_str(),
            actual.databases.get_mut(&database),
        ) {
            db.constraints.insert((key(&table), key(&name)));
        }
        columns.sort_by_key(|(seq, _, _)| *seq);
        let columns: Vec<&str> = columns.iter().map(|(_, c, _)| c.as_str()).collect();
        let text = format!("{non_unique}:{}", columns.join(","));
        if let (Some(db), Some(shape)) = (
            actual.databases.get_mut(&database),
            IndexShape::from_inspection(&text),
        ) {
            db.index_shapes.insert((key(&table), shape), name);
        }
    }
    for ((database, table, name), (referenced, mut columns)) in foreign_key_parts {
        columns.sort_by_key(|(position, _, _)| *position);
        let of = |pick: fn(&(u32, String, String)) -> &str| {
            columns.iter().map(pick).collect::<Vec<&str>>().join(",")
        };
        let shape = format!(
            "{}>{referenced}({})",
            of(|(_, c, _)| c.as_str()),
            of(|(_, _, r)| r.as_str())
        );
        if let Some(db) = actual.databases.get_mut(&database) {
            if derive {
                db.constraints.insert((key(&table), key(&name)));
            }
            db.foreign_key_shapes
                .insert((key(&table), key(&shape)), name);
        }
    }
    // Rows of tables in a database that SCHEMATA did not list cannot happen; drop half-filled entries anyway.
    actual.databases.retain(|_, db| !db.charset.is_empty());
    if !account_rows.is_empty() {
        let mut grants = match grants::read(conn, account, backslashes).await {
            Err(e) if e.message.contains("denied") => {
                actual.accounts_unreadable = Some(PRIVILEGE_TABLES_NEEDED.to_string());
                Default::default()
            }
            other => other?,
        };
        for (host, plugin) in account_rows {
            actual.accounts.insert(
                host_key(&host),
                ActualAccount {
                    grants: grants.remove(&host_key(&host)).unwrap_or_default(),
                    host,
                    plugin,
                },
            );
        }
    }
    Ok(actual)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a server shared with other applications, a statement over a view of every table filters by one
    /// name (`TABLE_SCHEMA = 'X'`), which MariaDB looks up as one database folder; an `IN (...)` list makes
    /// it list every table of every database on the server ("Scanned all databases" in EXPLAIN).
    #[test]
    fn every_statement_over_the_tables_of_a_database_names_one_database() {
        let found = ["'REGISTRY_DB'".to_string(), "'WSO2_USER_DB'".to_string()];
        let names = Names {
            list: "'REGISTRY_DB','WSO2_USER_DB','REGISTRY_LOCAL1'",
            user: "'regadmin'",
            found: &found,
        };
        let statements = fill(INSPECT_SQL, &names);
        let per_table = [
            "information_schema.TABLES",
            "information_schema.COLUMNS",
            "information_schema.STATISTICS",
            "information_schema.TABLE_CONSTRAINTS",
            "information_schema.KEY_COLUMN_USAGE",
            "information_schema.TRIGGERS",
        ];
        for view in per_table {
            let reading: Vec<&String> = statements.iter().filter(|s| s.contains(view)).collect();
            assert_eq!(
                reading.len(),
                found.len(),
                "one {view} statement per database found: {reading:#?}"
            );
            for (statement, name) in reading.iter().zip(&found) {
                assert!(
                    statement.contains(&format!("_SCHEMA = {name}"))
                        && !statement.contains(" IN ("),
                    "{view} must be read by one database name, not a list:\n{statement}"
                );
            }
        }
        // The first statement alone lists the databases: a list there is cheap (folders, not tables).
        let schemata_end = INSPECT_SQL.find(TABLES_PART).unwrap();
        let first = fill(&INSPECT_SQL[..schemata_end], &names);
        assert_eq!(first.len(), 1, "{first:#?}");
        assert!(
            first[0].contains("information_schema.SCHEMATA"),
            "{first:#?}"
        );
        // No database found: nothing but the statements that need no database name.
        let none = fill(
            INSPECT_SQL,
            &Names {
                found: &[],
                ..names
            },
        );
        assert!(
            none.iter()
                .all(|s| !per_table.iter().any(|view| s.contains(view))),
            "{none:#?}"
        );
    }

    #[test]
    fn statements_split_outside_comments_only() {
        assert_eq!(
            statements("-- a comment; with a semicolon\nSELECT 1;\n-- another\nSELECT 2\n"),
            vec!["SELECT 1".to_string(), "SELECT 2".to_string()]
        );
    }

    #[test]
    fn only_a_script_with_check_constraints_routines_or_triggers_has_them_read() {
        let reads =
            |script: &str| Reads::for_script(&crate::core::sql::script::split(script).unwrap());
        let plain = "CREATE TABLE A (ID INT PRIMARY KEY);\n\
                     ALTER TABLE A ADD CONSTRAINT A_FK FOREIGN KEY (ID) REFERENCES B (ID);\n\
                     ALTER TABLE A ADD CONSTRAINT A_UQ UNIQUE (ID);";
        let none = Reads {
            constraints_by_name: false,
            routines: false,
            triggers: false,
        };
        assert_eq!(reads(plain), none);
        assert_eq!(
            reads(&format!(
                "{plain}\nALTER TABLE A ADD CONSTRAINT A_CK CHECK (ID > 0);"
            )),
            Reads {
                constraints_by_name: true,
                ..none
            }
        );
        assert_eq!(
            reads(&format!(
                "{plain}\nCREATE TRIGGER A_T BEFORE INSERT ON A FOR EACH ROW SET NEW.ID = 1;"
            )),
            Reads {
                triggers: true,
                ..none
            }
        );
        assert_eq!(
            reads(&format!(
                "{plain}\nCREATE FUNCTION A_F() RETURNS INT RETURN 1;"
            )),
            Reads {
                routines: true,
                ..none
            }
        );
    }
}
