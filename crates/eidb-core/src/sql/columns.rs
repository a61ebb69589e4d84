//! The columns of the dbscript's tables as the server makes them, and as they are: so that `verify` can
//! report a column whose type, nullability or default differs from the script's (a changed script, a
//! hand-made `ALTER`), and `provision --reapply-changed-script` can bring it to the script's definition.
//!
//! The script's side is read from the server itself, not from a parser of type names: each `CREATE
//! TABLE` runs as a `CREATE TEMPORARY TABLE` (foreign keys left out, they need their referenced tables)
//! on a connection of its own, and `SHOW FULL COLUMNS` says what the server made of `INTEGER`, `BOOLEAN`,
//! `VARCHAR (20)` or `DEFAULT CURRENT_TIMESTAMP`. A temporary table lives only in that session and is gone
//! when it closes: nothing is changed. The existing side comes from `information_schema.COLUMNS` (in the
//! inspection), whose only difference in form, quoted string defaults on MariaDB, is normalised away.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::sql::script::{SchemaObject, Statement};

/// A column as the server describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ColumnShape {
    /// `COLUMN_TYPE`, lower-case: `varchar(20)`, `int(11)`, `tinyint(1)`.
    pub column_type: String,
    pub nullable: bool,
    /// The default as text (string literals unquoted); `None` for no default and for `DEFAULT NULL`.
    pub default: Option<String>,
}

impl ColumnShape {
    pub fn new(column_type: &str, nullable: bool, default: Option<&str>) -> ColumnShape {
        ColumnShape {
            column_type: column_type.to_ascii_lowercase(),
            nullable,
            default: normalise_default(default),
        }
    }

    pub fn describe(&self) -> String {
        let null = if self.nullable { "NULL" } else { "NOT NULL" };
        match &self.default {
            Some(default) => format!("{} {null} DEFAULT {default}", self.column_type),
            None => format!("{} {null}", self.column_type),
        }
    }
}

/// Whether bringing a column from `found` to `wanted` can cut or convert the values it holds: why, or
/// `None` when every value it can hold now fits the new definition unchanged (a longer string or a
/// wider integer, decimal or fraction, a larger text or blob, more enum values, a new default, NULL
/// allowed). What is not known to widen counts as converting: a change of type, a shorter length, a
/// signed column made unsigned, NULL no longer allowed. Such a change is destructive: on a server that
/// is not strict the ALTER would truncate or convert the rows and report success.
pub fn may_lose_data(found: &ColumnShape, wanted: &ColumnShape) -> Option<String> {
    let (from, to) = (&found.column_type, &wanted.column_type);
    if from != to && !widens(from, to) {
        let what = match (TypeParts::of(from), TypeParts::of(to)) {
            (f, t) if f.base == t.base => "narrows it",
            _ => "changes its type",
        };
        return Some(format!(
            "{from} -> {to} {what}: values that do not fit would be cut or converted"
        ));
    }
    if found.nullable && !wanted.nullable {
        return Some(format!(
            "{to} NULL -> NOT NULL: NULL values would be converted to {to}'s zero value"
        ));
    }
    None
}

/// `int(10) unsigned` -> base `int`, arguments `["10"]`, unsigned.
struct TypeParts {
    base: String,
    arguments: Vec<String>,
    unsigned: bool,
}

impl TypeParts {
    fn of(column_type: &str) -> TypeParts {
        let column_type = column_type.trim().to_ascii_lowercase();
        let (head, arguments, tail) = match (column_type.find('('), column_type.rfind(')')) {
            (Some(open), Some(close)) if open < close => (
                &column_type[..open],
                split_arguments(&column_type[open + 1..close]),
                &column_type[close + 1..],
            ),
            _ => {
                let (head, tail) = column_type
                    .split_once(' ')
                    .unwrap_or((column_type.as_str(), ""));
                (head, Vec::new(), tail)
            }
        };
        TypeParts {
            base: match head.trim() {
                "integer" => "int".to_string(),
                "numeric" => "decimal".to_string(),
                other => other.to_string(),
            },
            arguments,
            unsigned: tail.split_whitespace().any(|w| w == "unsigned"),
        }
    }

    fn number(&self, index: usize) -> Option<u64> {
        self.arguments.get(index)?.trim().parse().ok()
    }
}

/// `'a','b,c'` -> [`'a'`, `'b,c'`]; `10,2` -> [`10`, `2`].
fn split_arguments(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let (mut quoted, mut current) = (false, String::new());
    for c in text.chars() {
        match c {
            '\'' => quoted = !quoted,
            ',' if !quoted => {
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

/// Whether every value of type `from` is a value of type `to`, unchanged.
fn widens(from: &str, to: &str) -> bool {
    let (f, t) = (TypeParts::of(from), TypeParts::of(to));
    const INTEGERS: [&str; 5] = ["tinyint", "smallint", "mediumint", "int", "bigint"];
    const TEXTS: [(&str, u64); 4] = [
        ("tinytext", 255),
        ("text", 65_535),
        ("mediumtext", 16_777_215),
        ("longtext", 4_294_967_295),
    ];
    const BLOBS: [(&str, u64); 4] = [
        ("tinyblob", 255),
        ("blob", 65_535),
        ("mediumblob", 16_777_215),
        ("longblob", 4_294_967_295),
    ];
    let rank = |list: &[&str], base: &str| list.iter().position(|b| *b == base);
    let capacity = |list: &[(&str, u64)], base: &str| {
        list.iter()
            .find(|(b, _)| *b == base)
            .map(|(_, bytes)| *bytes)
    };
    // A string column's length in characters; at most 4 bytes each.
    let length = |p: &TypeParts| p.number(0).unwrap_or(1);
    match (f.base.as_str(), t.base.as_str()) {
        ("char", "char" | "varchar") | ("varchar", "varchar") => length(&t) >= length(&f),
        ("binary", "binary" | "varbinary") | ("varbinary", "varbinary") => length(&t) >= length(&f),
        ("char" | "varchar", to) if capacity(&TEXTS, to).is_some() => {
            capacity(&TEXTS, to) >= Some(4 * length(&f))
        }
        ("binary" | "varbinary", to) if capacity(&BLOBS, to).is_some() => {
            capacity(&BLOBS, to) >= Some(length(&f))
        }
        (from, to) if capacity(&TEXTS, from).is_some() && capacity(&TEXTS, to).is_some() => {
            capacity(&TEXTS, to) >= capacity(&TEXTS, from)
        }
        (from, to) if capacity(&BLOBS, from).is_some() && capacity(&BLOBS, to).is_some() => {
            capacity(&BLOBS, to) >= capacity(&BLOBS, from)
        }
        (from, to) if rank(&INTEGERS, from).is_some() && rank(&INTEGERS, to).is_some() => {
            let (rf, rt) = (rank(&INTEGERS, from), rank(&INTEGERS, to));
            match (f.unsigned, t.unsigned) {
                (a, b) if a == b => rt >= rf,
                // Unsigned into signed: the signed type needs one more byte's range.
                (true, false) => rt > rf,
                _ => false,
            }
        }
        ("decimal", "decimal") => {
            let (pf, sf) = (f.number(0).unwrap_or(10), f.number(1).unwrap_or(0));
            let (pt, st) = (t.number(0).unwrap_or(10), t.number(1).unwrap_or(0));
            (f.unsigned || !t.unsigned)
                && st >= sf
                && pt.saturating_sub(st) >= pf.saturating_sub(sf)
        }
        ("float", "double") | ("float", "float") | ("double", "double") => {
            (f.unsigned || !t.unsigned) && f.arguments.is_empty() && t.arguments.is_empty()
        }
        ("datetime", "datetime") | ("time", "time") | ("timestamp", "timestamp") => {
            t.number(0).unwrap_or(0) >= f.number(0).unwrap_or(0)
        }
        ("enum", "enum") | ("set", "set") => f.arguments.iter().all(|v| t.arguments.contains(v)),
        // Display widths and `zerofill` differ in text only (`int(11)` vs `int`).
        _ => false,
    }
}

/// MariaDB's `information_schema` quotes string defaults (`'x'`) and writes `NULL` for `DEFAULT NULL`;
/// `SHOW COLUMNS` and MySQL do neither.
fn normalise_default(default: Option<&str>) -> Option<String> {
    let default = default?;
    if default.eq_ignore_ascii_case("NULL") {
        return None;
    }
    match default
        .strip_prefix('\'')
        .and_then(|d| d.strip_suffix('\''))
    {
        Some(inner) => Some(inner.replace("''", "'").replace("\\\\", "\\")),
        None => Some(default.to_string()),
    }
}

/// A column of a script table: its name, how the script defines it, and what the server makes of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptColumn {
    pub name: String,
    /// The column's definition as the script writes it (`NAME VARCHAR(64) NOT NULL`).
    pub definition: String,
    pub shape: ColumnShape,
}

/// Table key -> (the table's name as the script writes it, its columns in order).
pub type ScriptColumns = HashMap<String, (String, Vec<ScriptColumn>)>;

/// The session settings that change how a server makes a column from the same `CREATE TABLE` (its type,
/// nullability or default): the probe's answer is kept in the ledger under a fingerprint of these, the
/// version among them, and asked again when any differs. A setting a server does not have is left out.
pub const PROBE_SETTINGS: &[&str] = &[
    "version",
    "version_comment",
    "sql_mode",
    "explicit_defaults_for_timestamp",
    "old_mode",
    "old",
    "default_storage_engine",
    "default_tmp_storage_engine",
    "innodb_strict_mode",
    "character_set_client",
    "character_set_connection",
    "collation_connection",
    "lower_case_table_names",
];

/// The probe's answer as the ledger keeps it: for one fingerprint ([`fingerprint`]), the charset and
/// collation of the database the tables were made in, and the columns the server made.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptColumns {
    pub charset: String,
    pub collation: String,
    pub columns: ScriptColumns,
}

impl KeptColumns {
    /// Whether this answer holds for a database of this charset and collation.
    pub fn holds_for(&self, charset: &str, collation: &str) -> bool {
        self.charset.eq_ignore_ascii_case(charset) && self.collation.eq_ignore_ascii_case(collation)
    }
}

/// What decides the probe's answer, but the database's charset and collation: the statements the probe
/// sends (the script's session statements and its tables as temporary ones) and the session settings of
/// [`PROBE_SETTINGS`] (`settings`: name and value, in any order). A SHA-256, in hex.
pub fn fingerprint(statements: &[Statement], settings: &[(String, String)]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"eidb column probe 1\0");
    for statement in statements {
        let sent = match &statement.object {
            SchemaObject::Session => Some(statement.sql.clone()),
            _ => probe_statement(statement).map(|(probe, _)| probe),
        };
        if let Some(sent) = sent {
            hash.update(sent.as_bytes());
            hash.update(b"\0");
        }
    }
    let mut settings: Vec<(String, &str)> = settings
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.as_str()))
        .collect();
    settings.sort();
    for (name, value) in settings {
        hash.update(format!("{name}={value}\0").as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The columns as the ledger stores them (JSON).
pub fn to_json(columns: &ScriptColumns) -> String {
    serde_json::to_string(columns).unwrap_or_default()
}

/// The columns from the ledger; `None` for a value this eidb cannot read (written by another version).
pub fn from_json(text: &str) -> Option<ScriptColumns> {
    serde_json::from_str(text).ok()
}

/// The entries of a `CREATE TABLE name (...)` body, split at its top-level commas; `None` when the
/// statement has no such body (`CREATE TABLE ... LIKE`, `... AS SELECT`).
pub fn body_entries(sql: &str) -> Option<(usize, usize, Vec<String>)> {
    let bytes = sql.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    let mut start = None;
    let mut entries = Vec::new();
    let mut entry_start = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    if bytes[i] == b'\\' && q != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'-' if bytes[i..].starts_with(b"-- ") || bytes[i..].starts_with(b"--\n") => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes[i..].starts_with(b"/*") && !bytes[i..].starts_with(b"/*!") => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'(' => {
                depth += 1;
                if depth == 1 && start.is_none() {
                    start = Some(i);
                    entry_start = i + 1;
                }
            }
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    entries.push(sql[entry_start..i].trim().to_string());
                    return Some((start?, i, entries));
                }
            }
            b',' if depth == 1 => {
                entries.push(sql[entry_start..i].trim().to_string());
                entry_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The statement without its comments (`--`, `#`, `/* */`; version comments `/*! */` are kept, the
/// server runs them), each replaced by a space.
fn strip_comments(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let mut kept = 0;
    while i < bytes.len() {
        let comment_end = match bytes[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    if bytes[i] == b'\\' && q != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            b'#' => Some(
                bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |n| i + n),
            ),
            b'-' if bytes[i..].starts_with(b"-- ")
                || bytes[i..].starts_with(b"--\n")
                || bytes[i..].starts_with(b"--\t") =>
            {
                Some(
                    bytes[i..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(bytes.len(), |n| i + n),
                )
            }
            b'/' if bytes[i..].starts_with(b"/*")
                && !bytes[i..].starts_with(b"/*!")
                && !bytes[i..].starts_with(b"/*M!") =>
            {
                Some(
                    bytes[i + 2..]
                        .windows(2)
                        .position(|w| w == b"*/")
                        .map_or(bytes.len(), |n| i + 2 + n + 2),
                )
            }
            _ => None,
        };
        match comment_end {
            Some(end) => {
                out.push_str(&sql[kept..i]);
                out.push(' ');
                i = end;
                kept = end;
            }
            None => i += 1,
        }
    }
    out.push_str(&sql[kept.min(sql.len())..]);
    out
}

/// Words that start a body entry that is not a column.
const NOT_A_COLUMN: [&str; 10] = [
    "CONSTRAINT",
    "PRIMARY",
    "KEY",
    "INDEX",
    "UNIQUE",
    "FULLTEXT",
    "SPATIAL",
    "FOREIGN",
    "CHECK",
    "PERIOD",
];

fn first_word(entry: &str) -> String {
    entry
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

fn is_foreign_key(entry: &str) -> bool {
    let upper = entry.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    matches!(words.first(), Some(&"FOREIGN"))
        || (words.first() == Some(&"CONSTRAINT")
            && words.iter().take(3).any(|w| w.starts_with("FOREIGN")))
}

/// A column entry's name, unquoted.
fn column_name(entry: &str) -> Option<String> {
    let entry = entry.trim_start();
    if let Some(rest) = entry.strip_prefix('`') {
        let end = rest.find('`')?;
        return Some(rest[..end].to_string());
    }
    let name: String = entry
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The `CREATE TEMPORARY TABLE` that shows how the server makes a script table's columns, and the
/// column entries: `None` for statements that are not a plain `CREATE TABLE name (...)`.
pub fn probe_statement(statement: &Statement) -> Option<(String, Vec<(String, String)>)> {
    let SchemaObject::Table { .. } = &statement.object else {
        return None;
    };
    let stripped = strip_comments(&statement.sql);
    let sql = stripped.trim();
    let head = sql.get(..12)?;
    if !head.eq_ignore_ascii_case("CREATE TABLE") {
        return None;
    }
    let (open, close, entries) = body_entries(sql)?;
    let columns: Vec<(String, String)> = entries
        .iter()
        .filter(|e| !NOT_A_COLUMN.contains(&first_word(e).as_str()))
        .filter_map(|e| Some((column_name(e)?, e.clone())))
        .collect();
    let kept: Vec<&str> = entries
        .iter()
        .filter(|e| !is_foreign_key(e))
        .map(String::as_str)
        .collect();
    let probe = format!(
        "CREATE TEMPORARY TABLE{} ({}){}",
        &sql[12..open].trim_end().replace('\n', " ").prefix_space(),
        kept.join(", "),
        &sql[close + 1..]
    );
    Some((probe, columns))
}

trait PrefixSpace {
    fn prefix_space(&self) -> String;
}

impl PrefixSpace for String {
    fn prefix_space(&self) -> String {
        if self.starts_with(' ') {
            self.clone()
        } else {
            format!(" {self}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_or_converting_a_column_may_lose_data() {
        let shape = |t: &str, nullable: bool| ColumnShape::new(t, nullable, None);
        let loses = |from: &str, to: &str| may_lose_data(&shape(from, true), &shape(to, true));
        for (from, to) in [
            ("varchar(64)", "varchar(10)"),
            ("varchar(64)", "char(64)"),
            ("varchar(64)", "int(11)"),
            ("int(11)", "smallint(6)"),
            ("int(11)", "int(10) unsigned"),
            ("int(10) unsigned", "int(11)"),
            ("bigint(20)", "int(11)"),
            ("decimal(10,2)", "decimal(10,3)"),
            ("decimal(10,2)", "decimal(8,2)"),
            ("text", "varchar(100)"),
            ("mediumtext", "text"),
            ("varchar(20000)", "text"),
            ("datetime(3)", "datetime"),
            ("enum('a','b')", "enum('a')"),
            ("double", "float"),
            ("timestamp", "datetime"),
        ] {
            assert!(loses(from, to).is_some(), "{from} -> {to}");
        }
        for (from, to) in [
            ("varchar(10)", "varchar(64)"),
            ("char(10)", "varchar(10)"),
            ("varchar(750)", "text"),
            ("text", "longtext"),
            ("int(11)", "bigint(20)"),
            ("int(11)", "int"),
            ("int(10) unsigned", "bigint(20)"),
            ("tinyint(1)", "int(11)"),
            ("decimal(10,2)", "decimal(12,3)"),
            ("enum('a','b')", "enum('a','b','c')"),
            ("float", "double"),
            ("datetime", "datetime(3)"),
            ("varbinary(16)", "blob"),
        ] {
            assert_eq!(loses(from, to), None, "{from} -> {to}");
        }
        let reason = loses("varchar(64)", "varchar(10)").unwrap();
        assert!(reason.contains("narrows"), "{reason}");
        // NULL no longer allowed converts the NULLs; allowing it, or a new default, changes no value.
        assert!(may_lose_data(&shape("int(11)", true), &shape("int(11)", false)).is_some());
        assert_eq!(
            may_lose_data(&shape("int(11)", false), &shape("int(11)", true)),
            None
        );
        assert_eq!(
            may_lose_data(
                &shape("int(11)", true),
                &ColumnShape::new("int(11)", true, Some("0"))
            ),
            None
        );
    }
    use crate::sql::script::split;

    fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_fingerprint_changes_with_the_script_and_every_setting_but_not_their_order() {
        let script = split("SET sql_notes = 0;\nCREATE TABLE T (A INT, B TIMESTAMP);").unwrap();
        let base = settings(&[
            ("version", "10.11.19-MariaDB"),
            ("sql_mode", "STRICT_TRANS_TABLES"),
        ]);
        let reordered = settings(&[
            ("SQL_MODE", "STRICT_TRANS_TABLES"),
            ("version", "10.11.19-MariaDB"),
        ]);
        let print = fingerprint(&script, &base);
        assert_eq!(print.len(), 64);
        assert_eq!(print, fingerprint(&script, &reordered));
        for changed in [
            settings(&[
                ("version", "10.11.20-MariaDB"),
                ("sql_mode", "STRICT_TRANS_TABLES"),
            ]),
            settings(&[("version", "10.11.19-MariaDB"), ("sql_mode", "")]),
            settings(&[
                ("version", "10.11.19-MariaDB"),
                ("sql_mode", "STRICT_TRANS_TABLES"),
                ("explicit_defaults_for_timestamp", "ON"),
            ]),
        ] {
            assert_ne!(print, fingerprint(&script, &changed), "{changed:?}");
        }
        let other_table = split("SET sql_notes = 0;\nCREATE TABLE T (A INT, B DATETIME);").unwrap();
        let other_session =
            split("SET sql_notes = 1;\nCREATE TABLE T (A INT, B TIMESTAMP);").unwrap();
        assert_ne!(print, fingerprint(&other_table, &base));
        assert_ne!(print, fingerprint(&other_session, &base));
    }

    #[test]
    fn kept_columns_go_to_json_and_back_and_hold_for_their_charset_only() {
        let mut columns = ScriptColumns::new();
        columns.insert(
            "t".into(),
            (
                "T".into(),
                vec![ScriptColumn {
                    name: "B".into(),
                    definition: "B VARCHAR(2) DEFAULT 'x'".into(),
                    shape: ColumnShape::new("varchar(2)", true, Some("x")),
                }],
            ),
        );
        assert_eq!(from_json(&to_json(&columns)), Some(columns.clone()));
        assert_eq!(from_json("{\"t\": 1}"), None);
        let kept = KeptColumns {
            charset: "latin1".into(),
            collation: "latin1_swedish_ci".into(),
            columns,
        };
        assert!(kept.holds_for("LATIN1", "latin1_swedish_ci"));
        assert!(!kept.holds_for("latin1", "latin1_bin"));
        assert!(!kept.holds_for("utf8mb4", "latin1_swedish_ci"));
    }

    #[test]
    fn a_create_table_becomes_a_temporary_one_without_its_foreign_keys() {
        let statements = split(
            "CREATE TABLE IF NOT EXISTS UM_X (\n  UM_ID INTEGER NOT NULL AUTO_INCREMENT,\n  UM_NAME VARCHAR (20) DEFAULT 'a,b',\n  \
             UM_T INTEGER, -- a comment, with a comma\n  PRIMARY KEY (UM_ID, UM_T),\n  \
             FOREIGN KEY (UM_T) REFERENCES UM_T(ID) ON DELETE CASCADE,\n  CONSTRAINT FK_X FOREIGN KEY (UM_ID) REFERENCES Y(ID),\n  \
             UNIQUE(UM_NAME)\n) ENGINE INNODB;",
        )
        .unwrap();
        let (probe, columns) = probe_statement(&statements[0]).unwrap();
        assert_eq!(
            probe,
            "CREATE TEMPORARY TABLE IF NOT EXISTS UM_X (UM_ID INTEGER NOT NULL AUTO_INCREMENT, UM_NAME VARCHAR (20) DEFAULT 'a,b', \
             UM_T INTEGER, PRIMARY KEY (UM_ID, UM_T), UNIQUE(UM_NAME)) ENGINE INNODB"
        );
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["UM_ID", "UM_NAME", "UM_T"]);
        assert_eq!(columns[1].1, "UM_NAME VARCHAR (20) DEFAULT 'a,b'");
    }

    #[test]
    fn defaults_compare_alike_whether_quoted_or_not() {
        assert_eq!(
            ColumnShape::new("VARCHAR(31)", true, Some("'x'")),
            ColumnShape::new("varchar(31)", true, Some("x"))
        );
        assert_eq!(
            ColumnShape::new("int(11)", true, Some("NULL")),
            ColumnShape::new("int(11)", true, None)
        );
        assert_ne!(
            ColumnShape::new("varchar(20)", false, None),
            ColumnShape::new("varchar(64)", false, None)
        );
    }
}
