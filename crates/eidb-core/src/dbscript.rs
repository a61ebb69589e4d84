//! The dbscript eidb runs into every database: checksummed and split once per run (read and chosen by
//! `eidb::node::dbscripts`).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::sql::script::{self, SchemaObject, Statement};

#[derive(Debug)]
pub struct Dbscript {
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    pub statements: Vec<Statement>,
    /// Why this file was picked (for the pre-flight report).
    pub chosen_because: String,
}

/// Split a script read from `path`; refuse ones eidb cannot run safely.
pub fn parse(path: &Path, bytes: &[u8], chosen_because: String) -> Result<Dbscript> {
    let text = String::from_utf8(bytes.to_vec())
        .unwrap_or_else(|_| bytes.iter().map(|&b| b as char).collect()); // Latin-1 scripts read as Latin-1.
    let statements = script::split(&text).map_err(|e| {
        Error::input(format!("{}:{}: {}", path.display(), e.line, e.message))
            .with_hint("fix the script; nothing was run")
    })?;
    if statements.is_empty() {
        return Err(Error::input(format!("the dbscript {} has no statements", path.display())).with_hint(
            "point dbscripts.file at the Carbon script (<EI_HOME>/dbscripts/mysql5.7.sql or mysql.sql), or dbscripts.dir at <EI_HOME>/dbscripts",
        ));
    }
    if let Some(s) = statements
        .iter()
        .find(|s| matches!(s.object, SchemaObject::Use { .. }))
    {
        return Err(Error::input(format!(
            "{}:{}: the script switches database (`USE`)",
            path.display(),
            s.line
        ))
        .with_hint("remove the USE statement: eidb runs the script inside each database itself"));
    }
    let sha256 = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Dbscript {
        path: path.to_path_buf(),
        sha256,
        statements,
        chosen_because,
    })
}

impl Dbscript {
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    }

    /// How many statements create each kind of object, for summaries: "40 tables, 27 indexes, ...".
    pub fn summary(&self) -> String {
        summarize(self.statements.iter())
    }
}

/// "12 tables, 3 indexes, 2 constraints, 1 other".
pub fn summarize<'a>(statements: impl Iterator<Item = &'a Statement>) -> String {
    let (mut tables, mut indexes, mut constraints, mut routines, mut other) = (0, 0, 0, 0, 0);
    for statement in statements {
        match statement.object {
            SchemaObject::Table { .. } => tables += 1,
            SchemaObject::Index { .. } => indexes += 1,
            SchemaObject::Constraint { .. } => constraints += 1,
            SchemaObject::Routine { .. }
            | SchemaObject::Trigger { .. }
            | SchemaObject::View { .. } => routines += 1,
            SchemaObject::Session | SchemaObject::Other | SchemaObject::Use { .. } => other += 1,
        }
    }
    let parts = [
        (tables, "table"),
        (indexes, "index"),
        (constraints, "constraint"),
        (routines, "routine/trigger/view"),
        (other, "other"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| match (*n, *what) {
            (1, what) => format!("1 {what}"),
            (n, "index") => format!("{n} indexes"),
            (n, what) => format!("{n} {what}s"),
        })
        .collect();
    if words.is_empty() {
        "nothing".to_string()
    } else {
        words.join(", ")
    }
}

impl Dbscript {
    /// Tables the script creates without a primary key (inline, or added later by `ALTER TABLE`). Galera
    /// replicates row changes by primary key; the Carbon 4.4 scripts have five such tables.
    pub fn tables_without_primary_key(&self) -> Vec<String> {
        let added_later: Vec<String> = self
            .statements
            .iter()
            .filter_map(|s| match &s.object {
                SchemaObject::Constraint { table, name }
                    if name.eq_ignore_ascii_case("PRIMARY") =>
                {
                    Some(table.to_ascii_uppercase())
                }
                _ => None,
            })
            .collect();
        self.statements
            .iter()
            .filter_map(|s| match &s.object {
                SchemaObject::Table { name }
                    if !declares_primary_key(&s.sql)
                        && !added_later.contains(&name.to_ascii_uppercase()) =>
                {
                    Some(name.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// Tables the script creates with an engine other than InnoDB, as (table, engine).
    pub fn non_innodb_tables(&self) -> Vec<(String, String)> {
        self.statements
            .iter()
            .filter_map(|s| match &s.object {
                SchemaObject::Table { name } => engine_of(&s.sql)
                    .filter(|e| !e.eq_ignore_ascii_case("INNODB"))
                    .map(|e| (name.clone(), e)),
                _ => None,
            })
            .collect()
    }
}

fn declares_primary_key(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    let words: Vec<&str> = upper
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).any(|w| w == ["PRIMARY", "KEY"])
}

/// `... ) ENGINE INNODB` / `ENGINE=MyISAM` -> the engine named, if any: the table options after the
/// column list only, `ENGINE` as a word of its own (not a column such as `MY_ENGINE`).
fn engine_of(sql: &str) -> Option<String> {
    let open = sql.find('(')?;
    let mut depth = 0usize;
    let mut end = None;
    for (i, c) in sql[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(open + i + 1);
                    break;
                }
            }
            _ => {}
        }
    }
    let options = sql[end?..].to_ascii_uppercase();
    let words: Vec<&str> = options
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let at = words.iter().position(|w| *w == "ENGINE")?;
    words.get(at + 1).map(|engine| engine.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(sql: &str) -> Dbscript {
        Dbscript {
            path: PathBuf::from("x.sql"),
            sha256: String::new(),
            statements: script::split(sql).unwrap(),
            chosen_because: String::new(),
        }
    }

    #[test]
    fn finds_tables_without_primary_key_and_other_engines() {
        let s = script(
            "CREATE TABLE Z (MY_ENGINE VARCHAR(10), PRIMARY KEY (MY_ENGINE));
             CREATE TABLE A (ID INT, PRIMARY KEY (ID)) ENGINE INNODB;
             CREATE TABLE B (ID INT) ENGINE INNODB;
             CREATE TABLE C (ID INT) ENGINE=MyISAM;
             CREATE TABLE D (ID INT);
             ALTER TABLE D ADD CONSTRAINT PK_D PRIMARY KEY (ID);",
        );
        assert_eq!(s.tables_without_primary_key(), ["B", "C"]);
        assert_eq!(
            s.non_innodb_tables(),
            [("C".to_string(), "MYISAM".to_string())]
        );
    }

    #[test]
    fn the_real_carbon_script_has_five_tables_without_primary_key() {
        let path = crate::wso2_files::ei6_dir().join("dbscripts/mysql5.7.sql");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "the real WSO2 dbscript is needed at {}: {e}",
                path.display()
            )
        });
        let s = parse(&path, &bytes, String::new()).unwrap();
        let mut found = s.tables_without_primary_key();
        found.sort();
        assert_eq!(
            found,
            [
                "REG_RESOURCE_COMMENT",
                "REG_RESOURCE_PROPERTY",
                "REG_RESOURCE_RATING",
                "REG_RESOURCE_TAG",
                "UM_SHARED_USER_ROLE"
            ]
        );
        assert!(s.non_innodb_tables().is_empty());
    }
}
