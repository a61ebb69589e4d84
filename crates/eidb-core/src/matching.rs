//! How the server matches what a grant names: database patterns under `lower_case_table_names` and
//! `partial_revokes`, host patterns and the order it tries account rows in. Pure: the plan compares
//! grants with these, the server side reads them (`eidb::server::grants`).

use std::collections::BTreeSet;

/// How the server compares database names in grants: `lower_case_table_names` and MySQL's
/// `partial_revokes` decide it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NameRules {
    pub lower_case_table_names: u32,
    pub partial_revokes: bool,
}

/// Two database names that the server takes for the same database.
pub fn same_name(a: &str, b: &str, rules: NameRules) -> bool {
    if rules.lower_case_table_names == 0 {
        a == b
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// How a database-level grant pattern (as stored in `mysql.db`) relates to one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternMatch {
    /// The pattern names exactly this database: the escaped form eidb grants (`WSO2\_USER\_DB`), the
    /// same lower-cased under `lower_case_table_names`, or the WSO2 guide's unescaped form
    /// (`WSO2_USER_DB`, whose `_` may also match another character but reads as this name).
    Exact,
    /// A pattern with `%` (or `_` standing for another character) that covers this database and others.
    Wildcard,
    None,
}

/// Compare a stored grant pattern with a database name the way the server matches them.
pub fn pattern_match(pattern: &str, database: &str, rules: NameRules) -> PatternMatch {
    let fold = |s: &str| {
        if rules.lower_case_table_names == 0 {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let (pattern, database) = (fold(pattern), fold(database));
    if rules.partial_revokes {
        // With partial_revokes the pattern is a literal name.
        return if pattern == database {
            PatternMatch::Exact
        } else {
            PatternMatch::None
        };
    }
    let tokens = tokenize(&pattern);
    let literal: Option<String> = tokens
        .iter()
        .map(|t| match t {
            Token::Char(c) => Some(*c),
            Token::One => Some('_'),
            Token::Any => None,
        })
        .collect();
    if literal.as_deref() == Some(database.as_str()) {
        return PatternMatch::Exact;
    }
    let name: Vec<char> = database.chars().collect();
    if wildcard_matches(&tokens, &name) {
        PatternMatch::Wildcard
    } else {
        PatternMatch::None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `_`: any one character.
    One,
    /// `%`: any run of characters.
    Any,
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            '_' => Token::One,
            '%' => Token::Any,
            c => Token::Char(c),
        });
    }
    tokens
}

fn wildcard_matches(tokens: &[Token], name: &[char]) -> bool {
    match tokens.split_first() {
        None => name.is_empty(),
        Some((Token::Any, rest)) => (0..=name.len()).any(|i| wildcard_matches(rest, &name[i..])),
        Some((Token::One, rest)) => !name.is_empty() && wildcard_matches(rest, &name[1..]),
        Some((Token::Char(c), rest)) => {
            name.first() == Some(c) && wildcard_matches(rest, &name[1..])
        }
    }
}

/// Host patterns (`%`, `10.0.%`, `app_.example.com`) matched like the server matches a client's host.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let pattern: Vec<Token> = tokenize(&pattern.to_ascii_lowercase());
    let host: Vec<char> = host.to_ascii_lowercase().chars().collect();
    if let Some((ip, mask)) = pattern_text(&pattern).split_once('/') {
        return netmask_matches(ip, mask, &host.iter().collect::<String>());
    }
    wildcard_matches(&pattern, &host)
}

fn pattern_text(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|t| match t {
            Token::Char(c) => *c,
            Token::One => '_',
            Token::Any => '%',
        })
        .collect()
}

fn netmask_matches(ip: &str, mask: &str, host: &str) -> bool {
    match (
        ip.parse::<std::net::Ipv4Addr>(),
        mask.parse::<std::net::Ipv4Addr>(),
        host.parse::<std::net::Ipv4Addr>(),
    ) {
        (Ok(ip), Ok(mask), Ok(host)) => {
            u32::from(host) & u32::from(mask) == u32::from(ip) & u32::from(mask)
        }
        _ => false,
    }
}

/// How specific a host pattern is, as the server sorts account rows before matching a client: a name
/// or address without wildcards first, then patterns by the characters before their first wildcard,
/// `%` (and `''`) last. Among rows of equal rank the server prefers a named user to the anonymous one.
pub fn host_rank(pattern: &str) -> (u8, usize) {
    if pattern.is_empty() || pattern == "%" {
        return (0, 0);
    }
    match pattern.find(['%', '_']) {
        None => (2, pattern.len()),
        Some(first_wildcard) => (1, first_wildcard),
    }
}

/// Whether some client could match both host patterns (so the more specific row decides for it).
pub fn hosts_overlap(a: &str, b: &str) -> bool {
    let literal = |p: &str| !p.contains(['%', '_']) && !p.contains('/');
    match (literal(a), literal(b)) {
        (true, _) => host_matches(b, a),
        (_, true) => host_matches(a, b),
        _ => {
            // Two patterns: they can meet when the literal heads before their first wildcards agree.
            let head = |p: &str| {
                p.split(['%', '_', '/'])
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
            };
            let (ha, hb) = (head(a), head(b));
            ha.starts_with(&hb) || hb.starts_with(&ha)
        }
    }
}

/// The names in a privilege list, upper-case (`ALL PRIVILEGES` stays one).
pub fn names(privileges: &str) -> BTreeSet<String> {
    privileges
        .split(',')
        .map(|p| p.trim().to_ascii_uppercase())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The account row (named user or anonymous, host) the server would pick for a client of the account's name from `client`
/// (a host name or an address, as `USER()` shows it), among the account's rows and the anonymous ones.
pub fn winning_row(actual: &crate::observed::Actual, client: &str) -> Option<(bool, String)> {
    let matches = |pattern: &str| {
        host_matches(pattern, client)
            || (client.eq_ignore_ascii_case("localhost")
                && (host_matches(pattern, "127.0.0.1") || host_matches(pattern, "::1")))
    };
    let named = actual.accounts.values().map(|a| (a.host.clone(), true));
    let anonymous = actual.anonymous_hosts.iter().map(|h| (h.clone(), false));
    named
        .chain(anonymous)
        .filter(|(host, _)| matches(host))
        .max_by_key(|(host, is_named)| (host_rank(host), *is_named))
        .map(|(host, is_named)| (is_named, host))
}

pub use crate::observed::privilege_items;

/// What a privilege list grants, one privilege on one column per entry, upper-case (column names
/// compare without case, as the server compares them): `INSERT, SELECT (`a`, `b`)` ->
/// {`INSERT`, `SELECT (`A`)`, `SELECT (`B`)`}. What a revoke took away is gone when none of its atoms
/// is among what the server still grants.
pub fn privilege_atoms(privileges: &str) -> BTreeSet<String> {
    let mut atoms = BTreeSet::new();
    for item in privilege_items(privileges) {
        let item = item.to_uppercase();
        match item.split_once('(') {
            Some((name, columns)) => {
                let columns = columns.trim_end().strip_suffix(')').unwrap_or(columns);
                for column in privilege_items(columns) {
                    atoms.insert(format!("{} ({column})", name.trim()));
                }
            }
            None => {
                atoms.insert(item);
            }
        }
    }
    atoms
}

/// Which of the `revoked` privileges on `target` the grants `held` (an account row's, read after the
/// revoke) still give: empty when the revoke took everything it named away. `ALL PRIVILEGES` stands
/// for every privilege but the grant option.
pub fn still_granted(
    revoked: &str,
    target: &crate::observed::GrantTarget,
    held: &[crate::observed::ActualGrant],
) -> Vec<String> {
    let revoked = privilege_atoms(revoked);
    // Revoking USAGE takes nothing away: whatever the target holds is left.
    let all = revoked.contains("ALL PRIVILEGES")
        || revoked.contains("ALL")
        || revoked.iter().all(|atom| atom == "USAGE");
    let mut left = BTreeSet::new();
    for grant in held.iter().filter(|g| &g.target == target) {
        let names: Vec<String> = grant.expanded_privilege_names().into_iter().collect();
        let mut atoms = privilege_atoms(&names.join(", "));
        if grant.with_grant_option {
            atoms.insert("GRANT OPTION".to_string());
        }
        atoms.remove("USAGE");
        left.extend(
            atoms
                .into_iter()
                .filter(|atom| revoked.contains(atom) || (all && atom != "GRANT OPTION")),
        );
    }
    left.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoke_is_done_when_nothing_it_named_is_left() {
        use crate::observed::{ActualGrant, GrantTarget};
        let table = GrantTarget::Table("REG".into(), "FX_PATH".into());
        let grant = |privileges: &str, target: &GrantTarget| ActualGrant {
            privileges: privileges.into(),
            expanded: Vec::new(),
            target: target.clone(),
            with_grant_option: false,
        };
        // The old bug: the column grant read as USAGE, revoked as USAGE, still there.
        let held = [grant("SELECT (`FX_PATH_VALUE`)", &table)];
        assert_eq!(
            still_granted("USAGE", &table, &held),
            ["SELECT (`FX_PATH_VALUE`)"]
        );
        assert_eq!(
            still_granted("SELECT (`FX_PATH_VALUE`)", &table, &held),
            ["SELECT (`FX_PATH_VALUE`)"]
        );
        assert!(still_granted("SELECT (`fx_path_value`)", &table, &[]).is_empty());
        // Part of a column list left.
        let held = [grant("INSERT, SELECT (`A`)", &table)];
        assert_eq!(
            still_granted("INSERT, SELECT (`A`, `B`)", &table, &held),
            ["INSERT", "SELECT (`A`)"]
        );
        // Another target does not count; ALL PRIVILEGES covers every privilege.
        let db = GrantTarget::Database("REG".into());
        assert!(still_granted("INSERT", &db, &held).is_empty());
        let held = [grant("SELECT, DROP", &db)];
        assert_eq!(
            still_granted("ALL PRIVILEGES", &db, &held),
            ["DROP", "SELECT"]
        );
    }

    #[test]
    fn privilege_lists_split_into_atoms() {
        assert_eq!(
            privilege_items("INSERT, SELECT (`a`, `b,c`), GRANT OPTION"),
            ["INSERT", "SELECT (`a`, `b,c`)", "GRANT OPTION"]
        );
        let atoms: Vec<String> = privilege_atoms("Insert, SELECT (`a`, `B`), update (`a`)")
            .into_iter()
            .collect();
        assert_eq!(
            atoms,
            ["INSERT", "SELECT (`A`)", "SELECT (`B`)", "UPDATE (`A`)"]
        );
        assert!(privilege_atoms("").is_empty());
    }

    const PLAIN: NameRules = NameRules {
        lower_case_table_names: 0,
        partial_revokes: false,
    };
    const LOWER: NameRules = NameRules {
        lower_case_table_names: 1,
        partial_revokes: false,
    };

    #[test]
    fn patterns_match_as_the_server_matches_them() {
        use PatternMatch::*;
        assert_eq!(
            pattern_match(r"WSO2\_USER\_DB", "WSO2_USER_DB", PLAIN),
            Exact
        );
        assert_eq!(pattern_match("WSO2_USER_DB", "WSO2_USER_DB", PLAIN), Exact);
        assert_eq!(
            pattern_match(r"wso2\_user\_db", "WSO2_USER_DB", PLAIN),
            None
        );
        assert_eq!(
            pattern_match(r"wso2\_user\_db", "WSO2_USER_DB", LOWER),
            Exact
        );
        assert_eq!(pattern_match("wso2_user_db", "WSO2_USER_DB", LOWER), Exact);
        assert_eq!(
            pattern_match(r"REGISTRY\_LOCAL%", "REGISTRY_LOCAL1", PLAIN),
            Wildcard
        );
        assert_eq!(
            pattern_match("REGISTRY_LOCAL_", "REGISTRY_LOCAL1", PLAIN),
            Wildcard
        );
        assert_eq!(pattern_match("%", "REGISTRY_DB", PLAIN), Wildcard);
        assert_eq!(pattern_match(r"REGISTRY\_DB", "REGISTRYXDB", PLAIN), None);
        assert_eq!(pattern_match("REGISTRY_DB", "REGISTRYXDB", PLAIN), Wildcard);
        let partial = NameRules {
            lower_case_table_names: 0,
            partial_revokes: true,
        };
        assert_eq!(pattern_match("REGISTRY_DB", "REGISTRY_DB", partial), Exact);
        assert_eq!(pattern_match("REGISTRY_%", "REGISTRY_DB", partial), None);
    }

    #[test]
    fn hosts_rank_and_overlap_as_the_server_sorts_them() {
        assert!(host_rank("localhost") > host_rank("10.0.%"));
        assert!(host_rank("10.0.%") > host_rank("10.%"));
        assert!(host_rank("10.%") > host_rank("%"));
        assert!(hosts_overlap("localhost", "%"));
        assert!(hosts_overlap("10.0.%", "%"));
        assert!(hosts_overlap("10.0.%", "10.%"));
        assert!(!hosts_overlap("localhost", "10.0.%"));
        assert!(!hosts_overlap("10.1.%", "10.0.%"));
        assert!(host_matches("10.0.0.0/255.255.0.0", "10.0.7.1"));
        assert!(!host_matches("10.0.0.0/255.255.0.0", "10.1.7.1"));
        assert!(host_matches("LocalHost", "localhost"));
    }
}
