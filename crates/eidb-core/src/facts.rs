//! What the server is: flavour, version, OS, defaults and the settings that decide whether the WSO2
//! scripts load. Read in one round trip before anything is planned (`eidb::server::facts::read`).

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    Mysql,
    Mariadb,
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavour::Mysql => "MySQL",
            Flavour::Mariadb => "MariaDB",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    /// "10.11.19-MariaDB-0+deb12u1" -> 10.11.19; "8.0.36" -> 8.0.36.
    pub fn parse(text: &str) -> Option<Version> {
        let core = text
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u32>());
        let major = parts.next()?.ok()?;
        let minor = parts.next().and_then(|p| p.ok()).unwrap_or(0);
        let patch = parts.next().and_then(|p| p.ok()).unwrap_or(0);
        Some(Version {
            major,
            minor,
            patch,
        })
    }

    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerFacts {
    pub flavour: Flavour,
    pub version: Version,
    pub version_string: String,
    /// `@@version_compile_os`, e.g. `Linux`, `debian-linux-gnu`, `Win64`.
    pub compile_os: String,
    /// True when `compile_os` was injected (`--server-os`), not read from the server.
    pub compile_os_overridden: bool,
    pub default_charset: String,
    pub default_collation: String,
    /// The plugin `CREATE USER` uses without `IDENTIFIED WITH`.
    pub default_auth_plugin: String,
    /// Longest index key prefix InnoDB accepts with the server's default row format, in bytes.
    pub max_index_bytes: u32,
    /// The settings behind `max_index_bytes`, for the pre-flight report.
    pub row_format: String,
    pub large_prefix: Option<String>,
    pub sql_mode: String,
    /// MySQL 8 `partial_revokes`: with it on, `_` and `%` in database-level grants are literal.
    pub partial_revokes: bool,
    pub lower_case_table_names: u32,
    /// `skip_name_resolve`: the server matches clients by IP address only, never by host name.
    pub skip_name_resolve: bool,
    pub galera: bool,
    /// The setting that makes the server refuse tables without a primary key, if one is on.
    pub requires_primary_key: Option<String>,
}

impl ServerFacts {
    /// The longest account name and host part this server keeps: MySQL 16/60 before 5.7, 32/60 before
    /// 8.0.17, then 32/255; MariaDB 80/60 before 10.6 (16 before 10.0), then 128/255.
    pub fn account_limits(&self) -> (usize, usize) {
        let v = &self.version;
        match self.flavour {
            Flavour::Mysql if !v.at_least(5, 7) => (16, 60),
            Flavour::Mysql if (v.major, v.minor, v.patch) < (8, 0, 17) => (32, 60),
            Flavour::Mysql => (32, 255),
            Flavour::Mariadb if !v.at_least(10, 0) => (16, 60),
            Flavour::Mariadb if !v.at_least(10, 6) => (80, 60),
            Flavour::Mariadb => (128, 255),
        }
    }

    pub fn runs_on_windows(&self) -> bool {
        self.compile_os.to_ascii_lowercase().starts_with("win")
    }

    /// MySQL >= 5.7 and MariaDB >= 10.2 accept `DEFAULT CURRENT_TIMESTAMP` on several columns and refuse the
    /// zero dates of the older script: WSO2 ships `mysql5.7.sql` for them.
    pub fn wants_mysql57_script(&self) -> bool {
        match self.flavour {
            Flavour::Mysql => self.version.at_least(5, 7),
            Flavour::Mariadb => self.version.at_least(10, 2),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{} {} on {}",
            self.flavour, self.version_string, self.compile_os
        )
    }

    /// Facts for unit tests of pure derivations.
    pub fn for_tests(
        flavour: Flavour,
        version: Version,
        compile_os: &str,
        default_charset: &str,
    ) -> ServerFacts {
        ServerFacts {
            flavour,
            version,
            version_string: version.to_string(),
            compile_os: compile_os.to_string(),
            compile_os_overridden: false,
            default_charset: default_charset.to_string(),
            default_collation: format!("{default_charset}_general_ci"),
            default_auth_plugin: "mysql_native_password".to_string(),
            max_index_bytes: 3072,
            row_format: "dynamic".to_string(),
            large_prefix: None,
            sql_mode: String::new(),
            partial_revokes: false,
            lower_case_table_names: 0,
            skip_name_resolve: false,
            galera: false,
            requires_primary_key: None,
        }
    }
}

pub const VARIABLES: &[&str] = &[
    "version",
    "version_comment",
    "version_compile_os",
    "character_set_server",
    "collation_server",
    "default_authentication_plugin",
    "authentication_policy",
    "innodb_default_row_format",
    "innodb_large_prefix",
    "innodb_file_format",
    "innodb_page_size",
    "sql_mode",
    "partial_revokes",
    "lower_case_table_names",
    "skip_name_resolve",
    "wsrep_on",
    "wsrep_mode",
    "innodb_force_primary_key",
    "sql_require_primary_key",
];

/// The facts from `SHOW GLOBAL VARIABLES` rows (names lower-cased). `os_override` injects
/// `@@version_compile_os` (tests of the Windows rule).
pub fn from_variables(
    vars: &HashMap<String, String>,
    os_override: Option<&str>,
) -> Result<ServerFacts> {
    let get = |name: &str| vars.get(name).cloned().unwrap_or_default();
    let version_string = get("version");
    let version = Version::parse(&version_string).ok_or_else(|| {
        Error::failure(format!(
            "cannot understand the server version `{version_string}`"
        ))
    })?;
    let is_mariadb = version_string.to_ascii_lowercase().contains("mariadb")
        || get("version_comment")
            .to_ascii_lowercase()
            .contains("mariadb");
    let flavour = if is_mariadb {
        Flavour::Mariadb
    } else {
        Flavour::Mysql
    };
    let default_auth_plugin = match flavour {
        Flavour::Mariadb => "mysql_native_password".to_string(),
        Flavour::Mysql => vars
            .get("default_authentication_plugin")
            .cloned()
            .or_else(|| {
                // MySQL 8.4 replaced it with authentication_policy ("*,," or "caching_sha2_password,,").
                vars.get("authentication_policy")
                    .map(|p| p.split(',').next().unwrap_or("*").trim().to_string())
                    .map(|p| {
                        if p == "*" || p.is_empty() {
                            "caching_sha2_password".to_string()
                        } else {
                            p
                        }
                    })
            })
            .unwrap_or_else(|| {
                if version.major >= 8 {
                    "caching_sha2_password"
                } else {
                    "mysql_native_password"
                }
                .to_string()
            }),
    };
    let row_format = vars
        .get("innodb_default_row_format")
        .cloned()
        .unwrap_or_else(|| "compact".into())
        .to_ascii_lowercase();
    let large_prefix = vars.get("innodb_large_prefix").cloned();
    let page_size: u32 = get("innodb_page_size").parse().unwrap_or(16384);
    let small_rows = matches!(row_format.as_str(), "compact" | "redundant")
        || large_prefix
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("off"))
        || vars
            .get("innodb_file_format")
            .is_some_and(|v| v.eq_ignore_ascii_case("antelope"));
    // InnoDB's limit is 3072 bytes for 16 KiB pages, scaled down for smaller pages; 767 without large prefixes.
    let max_index_bytes = if small_rows {
        767
    } else {
        (3072 * page_size / 16384).max(767)
    };
    let on = |name: &str| {
        vars.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("on") || v == "1")
    };
    Ok(ServerFacts {
        flavour,
        version,
        version_string,
        compile_os: os_override
            .map(str::to_string)
            .unwrap_or_else(|| get("version_compile_os")),
        compile_os_overridden: os_override.is_some(),
        default_charset: get("character_set_server"),
        default_collation: get("collation_server"),
        default_auth_plugin,
        max_index_bytes,
        row_format,
        large_prefix,
        sql_mode: get("sql_mode"),
        partial_revokes: on("partial_revokes"),
        lower_case_table_names: get("lower_case_table_names").parse().unwrap_or(0),
        skip_name_resolve: on("skip_name_resolve"),
        galera: on("wsrep_on"),
        requires_primary_key: if on("innodb_force_primary_key") {
            Some("innodb_force_primary_key=ON".to_string())
        } else if on("sql_require_primary_key") {
            Some("sql_require_primary_key=ON".to_string())
        } else if get("wsrep_mode")
            .to_ascii_uppercase()
            .contains("REQUIRED_PRIMARY_KEY")
        {
            Some("wsrep_mode=REQUIRED_PRIMARY_KEY".to_string())
        } else {
            None
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn mariadb_10_11() {
        let facts = from_variables(
            &vars(&[
                ("version", "10.11.19-MariaDB-0+deb12u1"),
                ("version_compile_os", "debian-linux-gnu"),
                ("character_set_server", "utf8mb4"),
                ("innodb_default_row_format", "dynamic"),
                ("innodb_page_size", "16384"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(facts.flavour, Flavour::Mariadb);
        assert_eq!(
            facts.version,
            Version {
                major: 10,
                minor: 11,
                patch: 19
            }
        );
        assert!(facts.wants_mysql57_script());
        assert!(!facts.runs_on_windows());
        assert_eq!(facts.max_index_bytes, 3072);
    }

    #[test]
    fn mysql_56_compact_rows_have_the_767_byte_limit() {
        let facts = from_variables(
            &vars(&[
                ("version", "5.6.51"),
                ("version_compile_os", "Win64"),
                ("innodb_large_prefix", "OFF"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(facts.flavour, Flavour::Mysql);
        assert_eq!(facts.max_index_bytes, 767);
        assert!(facts.runs_on_windows());
        assert!(!facts.wants_mysql57_script());
        assert_eq!(facts.default_auth_plugin, "mysql_native_password");
    }

    #[test]
    fn mysql_84_policy_and_os_override() {
        let facts = from_variables(
            &vars(&[
                ("version", "8.4.3"),
                ("authentication_policy", "*,,"),
                ("innodb_default_row_format", "dynamic"),
            ]),
            Some("Win64"),
        )
        .unwrap();
        assert_eq!(facts.default_auth_plugin, "caching_sha2_password");
        assert!(facts.runs_on_windows() && facts.compile_os_overridden);
    }
}
