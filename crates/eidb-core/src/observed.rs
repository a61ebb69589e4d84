//! What the server side observed, as plain data for the plan: the databases and what is in them, the
//! account's rows and grants, the ledger's records of each database. The server side reads them
//! (`eidb::server::inspect`, `grants`, `ledger`); the plan compares them.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::sql::quote;

/// What the ledger says about one target database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRecord {
    pub script_name: String,
    pub sha256: String,
    pub total: usize,
    pub done: usize,
    /// `running`, `completed` or `failed`.
    pub outcome: String,
}

impl ScriptRecord {
    pub fn completed(&self) -> bool {
        self.outcome == "completed"
    }
}

/// Names compared case-insensitively, as MySQL compares index names and as WSO2's upper-case names are
/// found on servers with `lower_case_table_names` set.
pub fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ActualDatabase {
    pub name: String,
    pub charset: String,
    pub collation: String,
    /// Table key -> its charset (from the table's collation) and engine.
    pub tables: BTreeMap<String, ActualTable>,
    /// (table key, index key)
    pub indexes: HashSet<(String, String)>,
    /// Each index as what it is: table key -> (unique, column keys in order) -> its name. An index of the
    /// script that exists under another name with the same shape is the same index.
    #[serde(skip)]
    pub index_shapes: std::collections::HashMap<(String, IndexShape), String>,
    /// Each foreign key as what it is: (table key, `a,b>t(x,y)` in keys) -> its name.
    #[serde(skip)]
    pub foreign_key_shapes: std::collections::HashMap<(String, String), String>,
    /// (table key, constraint key)
    pub constraints: HashSet<(String, String)>,
    pub routines: HashSet<String>,
    pub triggers: HashSet<String>,
    pub views: HashSet<String>,
    /// (table key, column key) -> the column as the server describes it.
    #[serde(skip)]
    pub columns: std::collections::HashMap<(String, String), crate::sql::columns::ColumnShape>,
}

/// What makes an index the index it is: uniqueness and its columns in order (keys, lower case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndexShape {
    pub unique: bool,
    pub columns: Vec<String>,
}

impl IndexShape {
    /// `0:A,B` (NON_UNIQUE, then the columns) as the inspection query writes it.
    pub fn from_inspection(text: &str) -> Option<IndexShape> {
        let (non_unique, columns) = text.split_once(':')?;
        Some(IndexShape {
            unique: non_unique == "0",
            columns: columns.split(',').map(key).collect(),
        })
    }

    /// The shape a `CREATE [UNIQUE] INDEX name ON t (a, b(255) DESC)` or `ALTER TABLE t ADD [UNIQUE]
    /// INDEX name (a, b)` statement gives its index (prefix lengths and order do not make another index).
    pub fn of_statement(sql: &str) -> Option<IndexShape> {
        let upper = sql.to_ascii_uppercase();
        let index_at = upper.find(" INDEX ").or_else(|| upper.find(" KEY "))?;
        let unique = upper[..index_at].split_whitespace().any(|w| w == "UNIQUE");
        let open = index_at + sql[index_at..].find('(')?;
        let mut depth = 0;
        let mut close = None;
        for (i, c) in sql[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(open + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let list = &sql[open + 1..close?];
        let mut columns = Vec::new();
        let mut depth = 0;
        let mut current = String::new();
        for c in list.chars().chain(std::iter::once(',')) {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    let name = current
                        .split_whitespace()
                        .next()?
                        .trim_matches('`')
                        .to_string();
                    columns.push(key(&name));
                    current.clear();
                    continue;
                }
                _ if depth == 0 => current.push(c),
                _ => {}
            }
        }
        Some(IndexShape { unique, columns })
    }
}

/// What makes a foreign key the key it is, as `a,b>t(x,y)` in keys, from an `ALTER TABLE ... ADD
/// CONSTRAINT name FOREIGN KEY (a, b) REFERENCES t (x, y)` statement.
pub fn foreign_key_shape(sql: &str) -> Option<String> {
    let upper = sql.to_ascii_uppercase();
    let list = |from: usize| -> Option<(String, usize)> {
        let open = from + sql[from..].find('(')?;
        let close = open + sql[open..].find(')')?;
        let columns: Vec<String> = sql[open + 1..close]
            .split(',')
            .map(|c| key(c.trim().trim_matches('`')))
            .collect();
        Some((columns.join(","), close))
    };
    let (columns, after) = list(upper.find("FOREIGN KEY")?)?;
    let references = after + upper[after..].find("REFERENCES")? + "REFERENCES".len();
    let rest = sql[references..].trim_start();
    let table = rest
        .split(|c: char| c == '(' || c.is_whitespace())
        .next()?
        .rsplit('.')
        .next()?
        .trim_matches('`');
    let (referenced, _) = list(references)?;
    Some(format!("{columns}>{}({referenced})", key(table)))
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ActualTable {
    pub name: String,
    pub engine: String,
    pub charset: String,
}

impl ActualDatabase {
    pub fn has_table(&self, table: &str) -> bool {
        self.tables.contains_key(&key(table))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum GrantTarget {
    Global,
    Database(String),
    /// A table: its privileges may name columns, `INSERT, SELECT (`A`, `B`)` (table- and column-level
    /// grants on one table are one grant, as `SHOW GRANTS` writes them on one line).
    Table(String, String),
    /// `PROCEDURE `db`.`name`` or `FUNCTION ...`, as `SHOW GRANTS` writes it.
    Routine(String),
    /// A role granted to the account, or anything not understood: kept as written.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActualGrant {
    pub privileges: String,
    /// With `ALL PRIVILEGES`: each privilege it stands for on this server (from the privilege table's
    /// columns), so that a narrower set can be kept by revoking only the rest.
    #[serde(skip)]
    pub expanded: Vec<String>,
    pub target: GrantTarget,
    pub with_grant_option: bool,
}

impl ActualGrant {
    /// `ALL PRIVILEGES` on the database-level grant pattern `pattern` (see `quote::grant_pattern`).
    pub fn is_all_on(&self, pattern: &str) -> bool {
        self.privileges.eq_ignore_ascii_case("ALL PRIVILEGES")
            && matches!(&self.target, GrantTarget::Database(db) if db == pattern)
    }

    /// The privileges granted, upper-case (`ALL PRIVILEGES` stays one entry, and so does a privilege on
    /// a column list: `SELECT (`A`, `B`)`).
    pub fn privilege_names(&self) -> std::collections::BTreeSet<String> {
        privilege_items(&self.privileges)
            .into_iter()
            .map(|p| p.to_ascii_uppercase())
            .collect()
    }

    /// The privileges granted, with `ALL PRIVILEGES` spelled out where the server said what it stands for.
    pub fn expanded_privilege_names(&self) -> std::collections::BTreeSet<String> {
        let mut names = self.privilege_names();
        if !self.expanded.is_empty() && names.remove("ALL PRIVILEGES") {
            names.extend(self.expanded.iter().cloned());
        }
        names
    }

    /// `GRANT USAGE ON *.*`: every account has it; it grants nothing.
    pub fn is_usage(&self) -> bool {
        self.privileges.eq_ignore_ascii_case("USAGE") && self.target == GrantTarget::Global
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ActualAccount {
    /// The host part as the server stores it.
    pub host: String,
    pub plugin: String,
    pub grants: Vec<ActualGrant>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Actual {
    /// Database key -> what it holds. Only the databases asked about.
    pub databases: BTreeMap<String, ActualDatabase>,
    /// Every row of the account's name, by host key ([`host_key`]): the spec's hosts and any other.
    pub accounts: BTreeMap<String, ActualAccount>,
    /// The host parts of the anonymous rows (`''@host`), which match every user name.
    pub anonymous_hosts: Vec<String>,
    /// The accounts and grants could not be read for lack of a privilege: what is missing.
    pub accounts_unreadable: Option<String>,
}

impl Actual {
    pub fn database(&self, name: &str) -> Option<&ActualDatabase> {
        self.databases.get(&key(name))
    }

    /// The account row at `host` (host names compare without case, as the server compares them).
    pub fn account(&self, host: &str) -> Option<&ActualAccount> {
        self.accounts.get(&host_key(host))
    }
}

/// Host parts compare case-insensitively (the server matches client host names that way).
pub fn host_key(host: &str) -> String {
    host.to_ascii_lowercase()
}

/// Parse one line of `SHOW GRANTS` (MySQL 5.7, 8.x and MariaDB spellings).
pub fn parse_grant(line: &str) -> Option<ActualGrant> {
    let rest = line.strip_prefix("GRANT ")?;
    let Some(on) = rest.find(" ON ") else {
        // A role grant: `GRANT `role`@`%` TO ...`.
        let role = rest.split(" TO ").next().unwrap_or(rest).to_string();
        return Some(ActualGrant {
            privileges: "ROLE".into(),
            expanded: Vec::new(),
            target: GrantTarget::Other(role),
            with_grant_option: false,
        });
    };
    let privileges = rest[..on].trim().to_string();
    let after_on = &rest[on + 4..];
    let to = after_on.find(" TO ")?;
    let object = after_on[..to].trim();
    let target = if object.starts_with("PROCEDURE ") || object.starts_with("FUNCTION ") {
        GrantTarget::Routine(object.to_string())
    } else if object == "*.*" {
        GrantTarget::Global
    } else if let Some(db) = object.strip_suffix(".*") {
        GrantTarget::Database(unquote_grant_name(db, Escapes::Keep))
    } else if let Some((db, table)) = split_qualified(object) {
        GrantTarget::Table(
            unquote_grant_name(&db, Escapes::Remove),
            unquote_grant_name(&table, Escapes::Remove),
        )
    } else {
        GrantTarget::Other(object.to_string())
    };
    Some(ActualGrant {
        privileges,
        expanded: Vec::new(),
        target,
        with_grant_option: line.ends_with("WITH GRANT OPTION"),
    })
}

fn split_qualified(object: &str) -> Option<(String, String)> {
    let mut in_quote = false;
    for (i, c) in object.char_indices() {
        match c {
            '`' => in_quote = !in_quote,
            '.' if !in_quote => {
                return Some((object[..i].to_string(), object[i + 1..].to_string()))
            }
            _ => {}
        }
    }
    None
}

#[derive(Clone, Copy)]
enum Escapes {
    /// A database-level grant names a pattern: `WSO2\_USER\_DB` (exactly that database) and `WSO2_USER_DB`
    /// (a wildcard that also matches `WSO2xUSERxDB`) are different grants, so the escapes stay.
    Keep,
    Remove,
}

/// `` `WSO2\_USER\_DB` `` -> `WSO2\_USER\_DB` (Keep) or `WSO2_USER_DB` (Remove).
fn unquote_grant_name(quoted: &str, escapes: Escapes) -> String {
    let inner = quoted
        .trim()
        .trim_start_matches('`')
        .trim_end_matches('`')
        .replace("``", "`");
    match escapes {
        Escapes::Keep => inner,
        Escapes::Remove => quote::unescape_grant_pattern(&inner),
    }
}

/// What a member says about its Galera state (`None` values: not a Galera member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaleraState {
    pub ready: Option<String>,
    pub state: Option<String>,
    pub cluster_size: Option<String>,
    pub cluster_name: Option<String>,
}

impl GaleraState {
    pub fn is_galera(&self) -> bool {
        self.state.is_some()
    }

    /// Ready for DDL: not Galera at all, or `wsrep_ready=ON` and `Synced`.
    pub fn is_usable(&self) -> bool {
        !self.is_galera()
            || (self
                .ready
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case("ON"))
                && self.state.as_deref() == Some("Synced"))
    }
}

/// A privilege list split at its top-level commas: `INSERT, SELECT (`a`, `b`)` ->
/// [`INSERT`, `SELECT (`a`, `b`)`] (a column list's commas stay inside its item).
pub fn privilege_items(privileges: &str) -> Vec<String> {
    let mut items = Vec::new();
    let (mut depth, mut quoted, mut current) = (0usize, false, String::new());
    for c in privileges.chars() {
        match c {
            '`' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                items.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current.trim().to_string());
    items.retain(|item| !item.is_empty());
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_shapes_of_statements_and_of_the_server() {
        let shape = |unique, columns: &[&str]| IndexShape {
            unique,
            columns: columns.iter().map(|c| c.to_string()).collect(),
        };
        assert_eq!(
            IndexShape::of_statement("CREATE INDEX REG_LOG_IND_BY_REGLOG USING HASH ON REG_LOG(REG_LOGGED_TIME, REG_TENANT_ID)"),
            Some(shape(false, &["reg_logged_time", "reg_tenant_id"]))
        );
        assert_eq!(
            IndexShape::of_statement("CREATE UNIQUE INDEX X ON T (`A`(255) DESC, b)"),
            Some(shape(true, &["a", "b"]))
        );
        assert_eq!(
            IndexShape::of_statement("ALTER TABLE T ADD UNIQUE KEY X (A)"),
            Some(shape(true, &["a"]))
        );
        assert_eq!(
            foreign_key_shape("ALTER TABLE REG_RESOURCE ADD CONSTRAINT X FOREIGN KEY (REG_PATH_ID, REG_TENANT_ID) REFERENCES REG_PATH (REG_PATH_ID, REG_TENANT_ID)").as_deref(),
            Some("reg_path_id,reg_tenant_id>reg_path(reg_path_id,reg_tenant_id)")
        );
        assert_eq!(
            IndexShape::from_inspection("1:REG_LOGGED_TIME,REG_TENANT_ID"),
            Some(shape(false, &["reg_logged_time", "reg_tenant_id"]))
        );
    }

    #[test]
    fn grants_of_each_flavour() {
        let g =
            parse_grant("GRANT ALL PRIVILEGES ON `WSO2\\_USER\\_DB`.* TO `regadmin`@`%`").unwrap();
        assert!(g.is_all_on("WSO2\\_USER\\_DB"));
        assert!(
            !g.is_all_on("WSO2_USER_DB"),
            "the escaped and the wildcard grant are different grants"
        );
        let g = parse_grant("GRANT USAGE ON *.* TO `regadmin`@`%` IDENTIFIED BY PASSWORD '*ABC'")
            .unwrap();
        assert!(g.is_usage());
        let g = parse_grant(
            "GRANT SELECT, INSERT ON `REGISTRY_DB`.`REG_LOG` TO 'regadmin'@'%' WITH GRANT OPTION",
        )
        .unwrap();
        assert_eq!(
            g.target,
            GrantTarget::Table("REGISTRY_DB".into(), "REG_LOG".into())
        );
        assert!(g.with_grant_option);
        let g = parse_grant("GRANT SUPER ON *.* TO `regadmin`@`%`").unwrap();
        assert_eq!(g.target, GrantTarget::Global);
        assert!(!g.is_usage());
        let g = parse_grant("GRANT EXECUTE ON PROCEDURE `DB`.`P` TO `regadmin`@`%`").unwrap();
        assert_eq!(g.target, GrantTarget::Routine("PROCEDURE `DB`.`P`".into()));
        assert_eq!(
            parse_grant("GRANT `app_role`@`%` TO `regadmin`@`%`")
                .unwrap()
                .privileges,
            "ROLE"
        );
    }
}
