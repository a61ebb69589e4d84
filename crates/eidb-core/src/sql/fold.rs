//! Loading an empty database faster: the index and foreign-key statements of a table are folded into its
//! `CREATE TABLE`, so InnoDB builds each table once instead of rebuilding it for every `CREATE INDEX` and
//! `ALTER TABLE ... ADD CONSTRAINT` (in the Carbon scripts, 36 such statements cost more server time than
//! the 40 tables themselves).
//!
//! Only for a database created in this run, and only what can be folded exactly: a named index on a table
//! the script created earlier, a named foreign key whose referenced table exists by then. Everything else
//! runs as written, in script order. The schema is the same either way (tests compare both paths).

use crate::sql::script::{SchemaObject, Statement};

/// One piece of SQL to send, and which statements of the script it carries (the first is the one it
/// is named by in errors; all of them count as done when it succeeds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub sql: String,
    pub statements: Vec<usize>,
}

/// Batches for running `selected` (script order) into an empty database.
pub fn fold(script: &[Statement], selected: &[usize]) -> Vec<Batch> {
    let mut batches: Vec<Batch> = Vec::with_capacity(selected.len());
    // Table key -> position of its CREATE TABLE batch, and the clauses to add to it.
    let mut table_batch: std::collections::HashMap<String, usize> = Default::default();
    let mut clauses: Vec<Vec<String>> = Vec::new();
    for &index in selected {
        let statement = &script[index];
        let folded = match &statement.object {
            SchemaObject::Index { table, .. } | SchemaObject::Constraint { table, .. } => {
                table_batch
                    .get(&table.to_ascii_uppercase())
                    .copied()
                    .and_then(|at| {
                        fold_clause(statement, at, &table_batch).map(|clause| (at, clause))
                    })
            }
            _ => None,
        };
        match folded {
            Some((at, clause)) => {
                clauses[at].push(clause);
                batches[at].statements.push(index);
            }
            None => {
                if let SchemaObject::Table { name } = &statement.object {
                    if !has_comment(&statement.sql) && body_end(&statement.sql).is_some() {
                        table_batch.insert(name.to_ascii_uppercase(), batches.len());
                    }
                }
                batches.push(Batch {
                    sql: statement.sql.clone(),
                    statements: vec![index],
                });
                clauses.push(Vec::new());
            }
        }
    }
    for (batch, extra) in batches.iter_mut().zip(clauses) {
        if extra.is_empty() {
            continue;
        }
        if let Some(end) = body_end(&batch.sql) {
            let head = batch.sql[..end].trim_end();
            batch.sql = format!(
                "{head},\n    {}\n{}",
                extra.join(",\n    "),
                &batch.sql[end..]
            );
        }
    }
    batches
}

/// The clause to put inside `CREATE TABLE (...)` for an index or constraint statement, if it is a form
/// that folds exactly.
fn fold_clause(
    statement: &Statement,
    at: usize,
    tables: &std::collections::HashMap<String, usize>,
) -> Option<String> {
    if has_comment(&statement.sql) {
        return None;
    }
    let sql = statement.sql.trim();
    let words = tokens(sql);
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let word = |i: usize| upper.get(i).map(String::as_str).unwrap_or("");
    match (&statement.object, word(0), word(1)) {
        // CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX name [USING t] ON table (cols) [USING t]
        (SchemaObject::Index { name, .. }, "CREATE", _) => {
            let mut i = 1;
            let kind = match word(i) {
                "UNIQUE" | "FULLTEXT" | "SPATIAL" => {
                    i += 1;
                    format!("{} ", word(i - 1))
                }
                _ => String::new(),
            };
            if word(i) != "INDEX" {
                return None;
            }
            let using_before = (word(i + 2) == "USING").then(|| format!(" USING {}", word(i + 3)));
            let columns = parenthesised(sql, sql.to_ascii_uppercase().find(" ON ")?)?;
            let after = sql[columns.1..].trim();
            let using_after = match tokens(after).as_slice() {
                [] => None,
                [using, kind] if using.eq_ignore_ascii_case("USING") => {
                    Some(format!(" USING {}", kind.to_ascii_uppercase()))
                }
                _ => return None, // options we do not fold (ALGORITHM, LOCK, COMMENT, ...)
            };
            let using = using_before.or(using_after).unwrap_or_default();
            Some(format!(
                "{kind}INDEX {}{using} {}",
                quoted(name),
                &sql[columns.0..columns.1]
            ))
        }
        // ALTER TABLE t ADD CONSTRAINT name FOREIGN KEY (cols) REFERENCES other (cols) [ON ...]
        (SchemaObject::Constraint { name, .. }, "ALTER", "TABLE")
            if word(3) == "ADD" && word(4) == "CONSTRAINT" && word(6) == "FOREIGN" =>
        {
            let references = upper.iter().position(|w| w == "REFERENCES")?;
            let target = words
                .get(references + 1)?
                .trim_matches('`')
                .split('(')
                .next()?
                .to_ascii_uppercase();
            // The referenced table must exist when the folded CREATE TABLE runs: created earlier in the script.
            // ... and before the CREATE TABLE this key is folded into runs (a key to itself is fine).
            tables.get(&target).filter(|&&created| created <= at)?;
            let start = sql.to_ascii_uppercase().find("FOREIGN")?;
            Some(format!(
                "CONSTRAINT {} {}",
                quoted(name),
                sql[start..].trim_end_matches(';').trim()
            ))
        }
        _ => None,
    }
}

fn quoted(name: &str) -> String {
    crate::sql::quote::ident(name)
}

/// Comments inside a statement are left to the server: a paren or a quote in one would mislead the
/// simple matching here, so such statements are never folded.
fn has_comment(sql: &str) -> bool {
    sql.contains("--") || sql.contains('#') || sql.contains("/*")
}

/// Whitespace-separated words, with `(` and `)` as separators too.
fn tokens(sql: &str) -> Vec<String> {
    sql.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The `(...)` group starting at or after `from`, as byte offsets of `(` and one past `)`.
fn parenthesised(sql: &str, from: usize) -> Option<(usize, usize)> {
    let open = from + sql[from..].find('(')?;
    let close = matching(sql, open)?;
    Some((open, close + 1))
}

/// Where `CREATE TABLE name (...)`'s body closes: the offset of its `)`.
fn body_end(sql: &str) -> Option<usize> {
    let open = sql.find('(')?;
    matching(sql, open)
}

/// The `)` matching the `(` at `open`, skipping quoted strings and identifiers.
fn matching(sql: &str, open: usize) -> Option<usize> {
    let bytes = sql.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = open;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == b'\\' && q != b'`' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' | b'`' => quote = Some(b),
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::script::split;

    const SCRIPT: &str = "
CREATE TABLE IF NOT EXISTS REG_PATH(
    REG_PATH_ID INTEGER NOT NULL,
    REG_PATH_VALUE VARCHAR(750) NOT NULL DEFAULT '(x)',
    PRIMARY KEY (REG_PATH_ID)
)ENGINE INNODB;
CREATE INDEX REG_PATH_IND_BY_PATH_VALUE USING HASH ON REG_PATH(REG_PATH_VALUE, REG_PATH_ID);
CREATE TABLE REG_RESOURCE (REG_PATH_ID INTEGER, REG_NAME VARCHAR(256))ENGINE INNODB;
ALTER TABLE REG_RESOURCE ADD CONSTRAINT REG_RESOURCE_FK_BY_PATH_ID FOREIGN KEY (REG_PATH_ID) REFERENCES REG_PATH (REG_PATH_ID);
CREATE UNIQUE INDEX U_NAME ON REG_RESOURCE(REG_NAME);
ALTER TABLE REG_RESOURCE ADD CONSTRAINT FK_LATER FOREIGN KEY (REG_PATH_ID) REFERENCES REG_LATER (ID);
CREATE INDEX ODD ON REG_RESOURCE(REG_NAME) ALGORITHM=INPLACE;
INSERT INTO REG_PATH VALUES (1, '/');
";

    #[test]
    fn indexes_and_foreign_keys_fold_into_their_tables() {
        let statements = split(SCRIPT).unwrap();
        let all: Vec<usize> = (0..statements.len()).collect();
        let batches = fold(&statements, &all);
        let covered: Vec<Vec<usize>> = batches.iter().map(|b| b.statements.clone()).collect();
        assert_eq!(
            covered,
            [vec![0, 1], vec![2, 3, 4], vec![5], vec![6], vec![7]]
        );
        assert!(batches[0].sql.contains(",\n    INDEX `REG_PATH_IND_BY_PATH_VALUE` USING HASH (REG_PATH_VALUE, REG_PATH_ID)\n)ENGINE INNODB"), "{}", batches[0].sql);
        assert!(
            batches[0].sql.contains("DEFAULT '(x)'"),
            "a paren in a string does not end the body"
        );
        assert!(batches[1].sql.contains("CONSTRAINT `REG_RESOURCE_FK_BY_PATH_ID` FOREIGN KEY (REG_PATH_ID) REFERENCES REG_PATH (REG_PATH_ID)"), "{}", batches[1].sql);
        assert!(
            batches[1].sql.contains("UNIQUE INDEX `U_NAME` (REG_NAME)"),
            "{}",
            batches[1].sql
        );
        assert!(
            batches[2].sql.contains("REG_LATER"),
            "a key to a table not created yet stays as written"
        );
        assert!(
            batches[3].sql.contains("ALGORITHM"),
            "unknown options stay as written"
        );
    }

    #[test]
    fn keys_to_tables_created_later_and_commented_statements_stay_as_written() {
        let statements = split(
            "CREATE TABLE A (ID INT, B_ID INT);
             CREATE TABLE B (ID INT PRIMARY KEY);
             ALTER TABLE A ADD CONSTRAINT A_B FOREIGN KEY (B_ID) REFERENCES B (ID);
             CREATE TABLE C (ID INT, -- a comment with a ) in it
                 NAME VARCHAR(10));
             CREATE INDEX C_NAME ON C(NAME);",
        )
        .unwrap();
        let all: Vec<usize> = (0..statements.len()).collect();
        let covered: Vec<Vec<usize>> = fold(&statements, &all)
            .iter()
            .map(|b| b.statements.clone())
            .collect();
        assert_eq!(covered, [vec![0], vec![1], vec![2], vec![3], vec![4]]);
    }

    #[test]
    fn every_selected_statement_is_covered_once_in_order() {
        let statements = split(SCRIPT).unwrap();
        let selected = [0, 2, 3, 5, 7];
        let batches = fold(&statements, &selected);
        let mut covered: Vec<usize> = batches.iter().flat_map(|b| b.statements.clone()).collect();
        covered.sort_unstable();
        assert_eq!(covered, selected);
    }
}
