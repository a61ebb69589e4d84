//! The Carbon dbscripts on disk: which one a run takes (`mysql5.7.sql` or `mysql.sql`), reading it, and
//! the other variant a database built by hand may come from.

use std::path::{Path, PathBuf};

use crate::core::dbscript::{self, Dbscript};
use crate::core::facts::ServerFacts;
use crate::core::spec::DbscriptSource;
use crate::error::{Error, Result};

/// Read and split a script; refuse ones eidb cannot run safely.
pub fn load(path: &Path, chosen_because: String) -> Result<Dbscript> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::input(format!("cannot read the dbscript {}: {e}", path.display()))
            .with_hint("check [dbscripts] in the spec")
    })?;
    dbscript::parse(path, &bytes, chosen_because)
}

/// Pick the script: with a folder, `mysql5.7.sql` for MySQL >= 5.7 and MariaDB >= 10.2 when present,
/// else `mysql.sql`.
pub fn choose(source: &DbscriptSource, facts: &ServerFacts) -> Result<(PathBuf, String)> {
    match source {
        DbscriptSource::File(path) => Ok((path.clone(), "named by dbscripts.file".to_string())),
        DbscriptSource::Dir(dir) => {
            if !dir.is_dir() {
                return Err(Error::input(format!(
                    "dbscripts.dir {} is not a folder",
                    dir.display()
                ))
                .with_hint("point it at <EI_HOME>/dbscripts, or use dbscripts.file"));
            }
            let modern = dir.join("mysql5.7.sql");
            let classic = dir.join("mysql.sql");
            if facts.wants_mysql57_script() && modern.is_file() {
                Ok((
                    modern,
                    format!("{} {} takes the 5.7 script", facts.flavour, facts.version),
                ))
            } else if classic.is_file() {
                let why = if facts.wants_mysql57_script() {
                    "mysql5.7.sql is not in the folder".to_string()
                } else {
                    format!(
                        "{} {} predates the 5.7 script",
                        facts.flavour, facts.version
                    )
                };
                Ok((classic, why))
            } else {
                Err(Error::input(format!("{} holds neither mysql5.7.sql nor mysql.sql", dir.display()))
                    .with_hint("point dbscripts.dir at <EI_HOME>/dbscripts, or name a script with dbscripts.file"))
            }
        }
    }
}

/// The other variant of a Carbon script in the same folder (`mysql.sql` for `mysql5.7.sql` and back),
/// when it is there: a database built by hand may have been built from it.
pub fn other_variant(path: &Path) -> Option<PathBuf> {
    let other = match path.file_name()?.to_str()? {
        "mysql5.7.sql" => "mysql.sql",
        "mysql.sql" => "mysql5.7.sql",
        _ => return None,
    };
    let other = path.with_file_name(other);
    other.is_file().then_some(other)
}
