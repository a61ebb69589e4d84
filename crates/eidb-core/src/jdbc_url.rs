//! A MySQL JDBC URL as Connector/J reads it, one type for every place that writes or reads one: the
//! desired state writes the nodes' URLs with it ([`JdbcUrl::render`]), the plan and the node checks read
//! the database a URL names ([`mysql_database`]), and `eidb init` reads the hosts, the form and the query
//! string of a cluster built by hand ([`JdbcUrl::parse`]). The forms eidb writes:
//!
//! - `jdbc:mysql://host:port/DB?params` (one address),
//! - `jdbc:mysql://h1:p1,h2:p2/DB?params` (Connector/J fails over in order),
//! - `jdbc:mysql:loadbalance://h1:p1,h2:p2/DB?params` (Connector/J spreads connections).

use crate::spec::JdbcUrlStyle;

/// The port Connector/J takes when an address names none.
pub const DEFAULT_PORT: u16 = 3306;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JdbcUrl {
    /// `None`: a MySQL or MariaDB URL of a form eidb does not write (`jdbc:mariadb:`,
    /// `jdbc:mysql:replication:`, ...); its database is still known.
    pub style: Option<JdbcUrlStyle>,
    /// Every `host:port` of the URL, in order (an IPv6 host without its brackets).
    pub hosts: Vec<(String, u16)>,
    pub database: String,
    /// The query string without `?` (empty when there is none), as the URL has it.
    pub parameters: String,
}

/// The parts of a MySQL JDBC URL as slices of it.
struct Parts<'a> {
    /// What follows `jdbc:` up to `//`: `mysql:`, `mysql:loadbalance:`, `mariadb:`.
    protocol: &'a str,
    addresses: &'a str,
    database: &'a str,
    parameters: &'a str,
}

fn parts(url: &str) -> Option<Parts<'_>> {
    let rest = url.trim().strip_prefix("jdbc:")?;
    if !(rest.starts_with("mysql") || rest.starts_with("mariadb")) {
        return None;
    }
    let slashes = rest.find("//")?;
    let after_scheme = &rest[slashes + 2..];
    let slash = after_scheme.find('/')?;
    let path = &after_scheme[slash + 1..];
    let end = path.find(['?', ';']).unwrap_or(path.len());
    let database = &path[..end];
    let parameters = path[end..].strip_prefix('?').unwrap_or("");
    (!database.is_empty()).then_some(Parts {
        protocol: &rest[..slashes],
        addresses: &after_scheme[..slash],
        database,
        parameters,
    })
}

/// The database a MySQL JDBC URL names: `jdbc:mysql://h1:3306,h2/DB?x=y` -> `DB`.
pub fn mysql_database(url: &str) -> Option<&str> {
    parts(url).map(|p| p.database)
}

/// `host[:port]` or `[v6]:port` -> (host, port).
fn address(text: &str) -> Option<(String, u16)> {
    let text = text.trim();
    if let Some(v6) = text.strip_prefix('[') {
        let (host, rest) = v6.split_once(']')?;
        let port = match rest.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None if rest.is_empty() => DEFAULT_PORT,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.contains(':') => {
            Some((host.to_string(), port.parse().ok()?))
        }
        Some(_) => None,
        None if !text.is_empty() => Some((text.to_string(), DEFAULT_PORT)),
        None => None,
    }
}

impl JdbcUrl {
    /// Read a MySQL JDBC URL; `None` for another database's URL (WSO2's shipped H2) or one without a
    /// database or with an address that is not `host[:port]`.
    pub fn parse(url: &str) -> Option<JdbcUrl> {
        let p = parts(url)?;
        let hosts = p
            .addresses
            .split(',')
            .map(address)
            .collect::<Option<Vec<_>>>()?;
        let style = match p.protocol {
            "mysql:" if hosts.len() == 1 => Some(JdbcUrlStyle::Single),
            "mysql:" => Some(JdbcUrlStyle::Failover),
            "mysql:loadbalance:" => Some(JdbcUrlStyle::Loadbalance),
            _ => None,
        };
        Some(JdbcUrl {
            style,
            hosts,
            database: p.database.to_string(),
            parameters: p.parameters.to_string(),
        })
    }

    /// The URL as eidb writes it (a form eidb does not write is written as the plain `jdbc:mysql://`).
    pub fn render(&self) -> String {
        let addresses: Vec<String> = self
            .hosts
            .iter()
            .map(|(host, port)| {
                if host.contains(':') && !host.starts_with('[') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                }
            })
            .collect();
        let scheme = match self.style {
            Some(JdbcUrlStyle::Loadbalance) => "jdbc:mysql:loadbalance://",
            _ => "jdbc:mysql://",
        };
        let query = if self.parameters.is_empty() {
            String::new()
        } else {
            format!("?{}", self.parameters)
        };
        format!("{scheme}{}/{}{query}", addresses.join(","), self.database)
    }

    /// The same server and form, another database.
    pub fn with_database(&self, database: &str) -> JdbcUrl {
        JdbcUrl {
            database: database.to_string(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_eidb_writes_reads_back_as_written() {
        for url in [
            "jdbc:mysql://db.internal:3307/REGISTRY_DB?autoReconnect=true",
            "jdbc:mysql://db:3306/WSO2_USER_DB",
            "jdbc:mysql://h1:3306,h2:3307/REG?autoReconnect=true&useSSL=false",
            "jdbc:mysql:loadbalance://h1:3306,h2:3306/REG?autoReconnect=true",
            "jdbc:mysql://[::1]:3306/REG",
        ] {
            let parsed = JdbcUrl::parse(url).unwrap_or_else(|| panic!("{url}"));
            assert_eq!(parsed.render(), url);
        }
        let failover = JdbcUrl::parse("jdbc:mysql://h1:3306,h2/REG?a=b").unwrap();
        assert_eq!(failover.style, Some(JdbcUrlStyle::Failover));
        assert_eq!(
            failover.hosts,
            [("h1".to_string(), 3306), ("h2".to_string(), 3306)]
        );
        assert_eq!(
            (failover.database.as_str(), failover.parameters.as_str()),
            ("REG", "a=b")
        );
        let single = JdbcUrl::parse("jdbc:mysql://db/WSO2_USER_DB").unwrap();
        assert_eq!(single.style, Some(JdbcUrlStyle::Single));
        assert_eq!(single.hosts, [("db".to_string(), 3306)]);
        let lb = JdbcUrl::parse("jdbc:mysql:loadbalance://a,b/DB").unwrap();
        assert_eq!(lb.style, Some(JdbcUrlStyle::Loadbalance));
        let other = JdbcUrl::parse("jdbc:mysql:replication://a,b/DB").unwrap();
        assert_eq!((other.style, other.database.as_str()), (None, "DB"));
    }

    #[test]
    fn other_urls_are_not_mysql() {
        assert_eq!(
            JdbcUrl::parse("jdbc:h2:./repository/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE"),
            None
        );
        assert_eq!(JdbcUrl::parse("jdbc:mysql://h:3306/"), None);
        assert_eq!(JdbcUrl::parse("jdbc:mysql://h:port/DB"), None);
        assert_eq!(
            mysql_database("jdbc:mysql:loadbalance://a,b/DB"),
            Some("DB")
        );
    }
}
