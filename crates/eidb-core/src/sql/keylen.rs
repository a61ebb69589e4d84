//! How long the script's index keys get in a charset: the check behind WSO2's latin1 advice (MySQL
//! errors 1071 "key too long" and 1709 "index column size too large").
//!
//! InnoDB limits each indexed column to 767 bytes without large prefixes (COMPACT/REDUNDANT rows) or
//! 3072 bytes with them, and a whole key to 3072 bytes. Only `CHAR`/`VARCHAR` columns grow with the
//! charset, so those are what is counted.

use std::collections::HashMap;

use crate::sql::script::{SchemaObject, Statement};

/// The index with the longest key in a charset of `bytes_per_char`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidestKey {
    pub table: String,
    /// The columns of the key, with their declared lengths.
    pub columns: Vec<(String, u32)>,
    /// Bytes of the widest single column of the key.
    pub widest_column_bytes: u32,
    /// Bytes of the whole key (its character columns).
    pub key_bytes: u32,
}

impl WidestKey {
    pub fn describe(&self) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|(c, n)| format!("{c} VARCHAR({n})"))
            .collect();
        format!("{}({})", self.table, cols.join(", "))
    }
}

/// Find the index whose character columns need the most bytes.
pub fn widest_key(statements: &[Statement], bytes_per_char: u32) -> Option<WidestKey> {
    let mut columns: HashMap<String, HashMap<String, u32>> = HashMap::new();
    let mut keys: Vec<(String, Vec<String>)> = Vec::new();
    for statement in statements {
        let sql = &statement.sql;
        match &statement.object {
            SchemaObject::Table { name } => {
                let table = name.to_ascii_uppercase();
                let body = between_outer_parens(sql).unwrap_or_default();
                for part in split_top_level(body) {
                    let words = words(part);
                    let first = words.first().map(String::as_str).unwrap_or("");
                    match first {
                        "PRIMARY" | "UNIQUE" | "INDEX" | "KEY" | "FOREIGN" | "CONSTRAINT"
                        | "FULLTEXT" | "SPATIAL" => {
                            if let Some(cols) = between_outer_parens(part) {
                                keys.push((table.clone(), column_list(cols)));
                            }
                        }
                        _ => {
                            if let Some(length) = char_length(&words) {
                                columns
                                    .entry(table.clone())
                                    .or_default()
                                    .insert(first.to_string(), length);
                            }
                        }
                    }
                }
            }
            SchemaObject::Index { table, .. } | SchemaObject::Constraint { table, .. } => {
                if let Some(cols) = last_parens(sql) {
                    keys.push((table.to_ascii_uppercase(), column_list(cols)));
                }
            }
            _ => {}
        }
    }
    keys.into_iter()
        .filter_map(|(table, cols)| {
            let lengths: Vec<(String, u32)> = cols
                .into_iter()
                .filter_map(|c| columns.get(&table)?.get(&c).map(|&n| (c, n)))
                .collect();
            if lengths.is_empty() {
                return None;
            }
            let widest_column_bytes = lengths
                .iter()
                .map(|(_, n)| n * bytes_per_char)
                .max()
                .unwrap_or(0);
            let key_bytes = lengths.iter().map(|(_, n)| n * bytes_per_char).sum();
            Some(WidestKey {
                table,
                columns: lengths,
                widest_column_bytes,
                key_bytes,
            })
        })
        .max_by_key(|k| (k.key_bytes, k.widest_column_bytes))
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches('`').to_ascii_uppercase())
        .collect()
}

/// `NAME VARCHAR (750) ...` -> 750; only character columns count.
fn char_length(words: &[String]) -> Option<u32> {
    let kind = words.get(1)?;
    if !matches!(
        kind.as_str(),
        "VARCHAR" | "CHAR" | "NVARCHAR" | "NCHAR" | "VARCHAR2"
    ) {
        return None;
    }
    words.get(2)?.parse().ok()
}

/// The text inside the first `(` and its matching `)`.
fn between_outer_parens(text: &str) -> Option<&str> {
    let start = text.find('(')?;
    let mut depth = 0;
    for (i, c) in text[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[start + 1..start + i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// The column list of `CREATE INDEX ... ON t (a, b)` / `ADD CONSTRAINT ... (a, b) REFERENCES ...`:
/// the first parenthesised list after `ON` or `KEY`.
fn last_parens(sql: &str) -> Option<&str> {
    let upper = sql.to_ascii_uppercase();
    let anchor = upper
        .find(" ON ")
        .or_else(|| upper.find("KEY"))
        .or_else(|| upper.find("UNIQUE"))?;
    between_outer_parens(&sql[anchor..])
}

fn split_top_level(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in body.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(body[start..].trim());
    parts
}

/// `a, b(10), `c`` -> [A, B, C] (prefix lengths are rare in the WSO2 scripts and counted as whole).
fn column_list(cols: &str) -> Vec<String> {
    split_top_level(cols)
        .into_iter()
        .filter_map(|c| words(c).into_iter().next())
        .filter(|c| c != "ASC" && c != "DESC")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::script::split;

    const SCRIPT: &str = "
        CREATE TABLE IF NOT EXISTS REG_PATH(
             REG_PATH_ID INTEGER NOT NULL AUTO_INCREMENT,
             REG_PATH_VALUE VARCHAR(750) NOT NULL,
             REG_DESCRIPTION VARCHAR(2000),
             REG_TENANT_ID INTEGER DEFAULT 0,
             CONSTRAINT PK_REG_PATH PRIMARY KEY(REG_PATH_ID, REG_TENANT_ID)
        )ENGINE INNODB;
        CREATE INDEX REG_PATH_IND_BY_PATH_VALUE USING HASH ON REG_PATH(REG_PATH_VALUE, REG_TENANT_ID);
        CREATE TABLE UM_ROLE (UM_ID INTEGER, UM_ROLE_NAME VARCHAR(255) NOT NULL, UM_TENANT_ID INTEGER,
             UNIQUE(UM_ROLE_NAME, UM_TENANT_ID));
    ";

    #[test]
    fn finds_the_indexed_varchar_not_the_widest_column() {
        let statements = split(SCRIPT).unwrap();
        let widest = widest_key(&statements, 4).unwrap();
        assert_eq!(widest.table, "REG_PATH");
        assert_eq!(widest.columns, [("REG_PATH_VALUE".to_string(), 750)]);
        assert_eq!(widest.key_bytes, 3000);
        let latin1 = widest_key(&statements, 1).unwrap();
        assert_eq!(latin1.widest_column_bytes, 750);
    }

    #[test]
    fn inline_unique_keys_count() {
        let statements =
            split("CREATE TABLE T (A VARCHAR(300), B VARCHAR(400), UNIQUE KEY U (A, B));").unwrap();
        let widest = widest_key(&statements, 3).unwrap();
        assert_eq!(widest.key_bytes, 2100);
        assert_eq!(widest.widest_column_bytes, 1200);
    }
}
