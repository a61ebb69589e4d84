//! Quoting for the statements eidb builds. Identifiers cannot be bound as parameters and
//! `CREATE USER ... IDENTIFIED BY ?` is refused, so names and passwords are quoted here.
//!
//! Database names were validated to `[A-Za-z0-9_$]` by the spec, so backtick quoting is belt and braces;
//! string literals are escaped for the session's actual `sql_mode`.

/// `name` -> `` `name` `` (doubling any backtick).
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// How the session reads backslashes in string literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backslashes {
    /// The default: `\` escapes the next character.
    Escape,
    /// `NO_BACKSLASH_ESCAPES` is in `sql_mode`: `\` is an ordinary character.
    Literal,
}

impl Backslashes {
    pub fn from_sql_mode(sql_mode: &str) -> Self {
        if sql_mode
            .split(',')
            .any(|m| m.trim().eq_ignore_ascii_case("NO_BACKSLASH_ESCAPES"))
        {
            Backslashes::Literal
        } else {
            Backslashes::Escape
        }
    }
}

/// A single-quoted string literal that reads back as exactly `value` under the given mode.
pub fn literal(value: &str, mode: Backslashes) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match (c, mode) {
            ('\'', _) => out.push_str("''"),
            ('\\', Backslashes::Escape) => out.push_str("\\\\"),
            ('\0', Backslashes::Escape) => out.push_str("\\0"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `'user'@'host'`.
pub fn account(name: &str, host: &str, mode: Backslashes) -> String {
    format!("{}@{}", literal(name, mode), literal(host, mode))
}

/// The database part of `GRANT ... ON db.*`. There `_` and `%` are wildcards (`REGISTRY_LOCAL1` would also
/// match `REGISTRYXLOCAL1`), so they are escaped - unless MySQL's `partial_revokes` is on, which makes them
/// literal and the escape character part of the name.
pub fn grant_database(name: &str, partial_revokes: bool) -> String {
    ident(&grant_pattern(name, partial_revokes))
}

/// The pattern a database-level grant of exactly `name` is stored under (as `SHOW GRANTS` shows it,
/// without the backticks).
pub fn grant_pattern(name: &str, partial_revokes: bool) -> String {
    if partial_revokes {
        name.to_string()
    } else {
        name.replace('_', "\\_").replace('%', "\\%")
    }
}

/// A grant pattern back to the name it escapes: `WSO2\_USER\_DB` -> `WSO2_USER_DB`.
pub fn unescape_grant_pattern(pattern: &str) -> String {
    pattern.replace("\\_", "_").replace("\\%", "%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_for_both_modes() {
        let nasty = r#"a'b"c\d;e%f@g&h<i>"#;
        assert_eq!(
            literal(nasty, Backslashes::Escape),
            r#"'a''b"c\\d;e%f@g&h<i>'"#
        );
        assert_eq!(
            literal(nasty, Backslashes::Literal),
            r#"'a''b"c\d;e%f@g&h<i>'"#
        );
    }

    #[test]
    fn sql_mode_detection() {
        assert_eq!(
            Backslashes::from_sql_mode("STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES"),
            Backslashes::Literal
        );
        assert_eq!(
            Backslashes::from_sql_mode("STRICT_TRANS_TABLES"),
            Backslashes::Escape
        );
    }

    #[test]
    fn grant_wildcards_are_escaped() {
        assert_eq!(grant_database("WSO2_USER_DB", false), r"`WSO2\_USER\_DB`");
        assert_eq!(grant_database("WSO2_USER_DB", true), "`WSO2_USER_DB`");
        assert_eq!(ident("a`b"), "`a``b`");
    }
}
