//! Checking results through a second, independent path: SQL on the admin connection and a plain scan of
//! the script text (not eidb's splitter).

use std::collections::BTreeSet;

use sqlx::{MySqlPool, Row};

pub async fn charset_of(pool: &MySqlPool, database: &str) -> Option<String> {
    sqlx::query("SELECT CONVERT(DEFAULT_CHARACTER_SET_NAME USING utf8mb4) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?")
        .bind(database)
        .fetch_optional(pool)
        .await
        .unwrap()
        .map(|row| row.get(0))
}

/// Upper-cased table names of a database.
pub async fn tables_of(pool: &MySqlPool, database: &str) -> BTreeSet<String> {
    upper_names(
        pool,
        "SELECT CONVERT(TABLE_NAME USING utf8mb4) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
        &[database],
    )
    .await
}

/// Upper-cased index names of a database (primary keys excluded).
pub async fn indexes_of(pool: &MySqlPool, database: &str) -> BTreeSet<String> {
    upper_names(
        pool,
        "SELECT DISTINCT CONVERT(INDEX_NAME USING utf8mb4) FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = ? AND INDEX_NAME <> 'PRIMARY'",
        &[database],
    )
    .await
}

/// The first column of every row, upper-cased: names read from `information_schema`.
async fn upper_names(pool: &MySqlPool, sql: &str, binds: &[&str]) -> BTreeSet<String> {
    let mut query = sqlx::query(sql);
    for value in binds {
        query = query.bind(*value);
    }
    query
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>(0).to_uppercase())
        .collect()
}

/// Table charsets of a database that differ from `charset`.
pub async fn tables_not_in_charset(pool: &MySqlPool, database: &str, charset: &str) -> Vec<String> {
    sqlx::query(
        "SELECT CONVERT(CONCAT(TABLE_NAME, ':', TABLE_COLLATION) USING utf8mb4) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' AND TABLE_COLLATION NOT LIKE CONCAT(?, '\\_%')",
    )
    .bind(database)
    .bind(charset)
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|row| row.get(0))
    .collect()
}

pub async fn grants_of(pool: &MySqlPool, account: &str, host: &str) -> Vec<String> {
    let rows = sqlx::raw_sql(&format!("SHOW GRANTS FOR '{account}'@'{host}'"))
        .fetch_all(pool)
        .await
        .unwrap();
    let mut grants: Vec<String> = rows
        .iter()
        .map(|row| row.get::<String, _>(0))
        // eidb's bookkeeping, not the cluster's: the nodes' account may write its node records
        // (docs/cluster-across-hosts.md; tests/it/cluster_hosts.rs checks that grant).
        .filter(|grant| {
            !grant.contains("`eidb_node_record` TO") && !grant.contains("`eidb_node` TO")
        })
        .collect();
    grants.sort();
    grants
}

/// Databases the account has ALL PRIVILEGES on, from `SHOW GRANTS`, unescaped.
pub async fn granted_databases(pool: &MySqlPool, account: &str, host: &str) -> BTreeSet<String> {
    grants_of(pool, account, host)
        .await
        .iter()
        .filter_map(|g| {
            let rest = g.strip_prefix("GRANT ALL PRIVILEGES ON ")?;
            let db = rest.split(".*").next()?;
            Some(db.trim_matches('`').replace("\\_", "_"))
        })
        .collect()
}

pub async fn drop_databases(pool: &MySqlPool, databases: &[String]) {
    for db in databases {
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS `{db}`"))
            .execute(pool)
            .await
            .unwrap();
    }
}

/// Tables and indexes a script creates, by a plain scan of its text (not eidb's splitter):
/// `CREATE TABLE [IF NOT EXISTS] name`, `CREATE [UNIQUE] INDEX name`, `ADD CONSTRAINT name`.
pub fn script_objects(script: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut tables = BTreeSet::new();
    let mut indexes = BTreeSet::new();
    for line in script.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("--") || trimmed.starts_with('#') {
            continue;
        }
        let words: Vec<String> = trimmed
            .split(|c: char| c.is_whitespace() || c == '(')
            .filter(|w| !w.is_empty())
            .map(|w| w.trim_matches('`').to_uppercase())
            .collect();
        let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        if w(0) == "CREATE" && w(1) == "TABLE" {
            let name = if w(2) == "IF" { w(5) } else { w(2) };
            tables.insert(name.to_string());
        } else if w(0) == "CREATE" && w(1) == "INDEX" {
            indexes.insert(w(2).to_string());
        } else if w(0) == "CREATE" && w(1) == "UNIQUE" && w(2) == "INDEX" {
            indexes.insert(w(3).to_string());
        }
    }
    (tables, indexes)
}

/// Upper-cased names of the foreign-key constraints of a database.
pub async fn foreign_keys_of(pool: &MySqlPool, database: &str) -> BTreeSet<String> {
    upper_names(
        pool,
        "SELECT CONVERT(CONSTRAINT_NAME USING utf8mb4) FROM information_schema.TABLE_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = ? AND CONSTRAINT_TYPE = 'FOREIGN KEY'",
        &[database],
    )
    .await
}

/// Upper-cased trigger names of a database.
pub async fn triggers_of(pool: &MySqlPool, database: &str) -> BTreeSet<String> {
    upper_names(
        pool,
        "SELECT CONVERT(TRIGGER_NAME USING utf8mb4) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?",
        &[database],
    )
    .await
}

/// Upper-cased index names of one table (primary key excluded).
pub async fn indexes_of_table(pool: &MySqlPool, database: &str, table: &str) -> BTreeSet<String> {
    upper_names(
        pool,
        "SELECT DISTINCT CONVERT(INDEX_NAME USING utf8mb4) FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME <> 'PRIMARY'",
        &[database, table],
    )
    .await
}

/// Run one or more statements on one connection of the pool (so `SET` applies to what follows).
pub async fn exec(pool: &MySqlPool, sql: &str) {
    let mut conn = pool.acquire().await.unwrap();
    sqlx::raw_sql(sql)
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// What a run may have changed about a file: its bytes, mode, modification time and inode (an atomic
/// rewrite gets a new inode even when the bytes and mtime happen to be the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub bytes: Vec<u8>,
    pub mode: u32,
    pub modified: std::time::SystemTime,
    pub inode: u64,
}

/// Every file under `dir` (recursively, hidden temp files included), to prove that a run changed,
/// created or removed nothing: compare two snapshots with [`snapshot_differences`].
pub fn snapshot_files(
    dir: &std::path::Path,
) -> std::collections::BTreeMap<std::path::PathBuf, FileState> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut files = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in
            std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("read {}: {e}", folder.display()))
        {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                pending.push(path);
            } else {
                let meta = std::fs::symlink_metadata(&path).unwrap();
                let state = FileState {
                    bytes: std::fs::read(&path).unwrap_or_default(),
                    mode: meta.permissions().mode() & 0o7777,
                    modified: meta.modified().unwrap(),
                    inode: meta.ino(),
                };
                files.insert(path, state);
            }
        }
    }
    files
}

/// The files that differ between two snapshots, one line each (empty when nothing changed).
pub fn snapshot_differences(
    before: &std::collections::BTreeMap<std::path::PathBuf, FileState>,
    after: &std::collections::BTreeMap<std::path::PathBuf, FileState>,
) -> Vec<String> {
    let mut differences = Vec::new();
    for (path, old) in before {
        match after.get(path) {
            None => differences.push(format!("removed: {}", path.display())),
            Some(new) if new.bytes != old.bytes => {
                differences.push(format!("content changed: {}", path.display()))
            }
            Some(new) if new != old => differences.push(format!(
                "rewritten (same bytes; mode {:o} -> {:o}, inode {} -> {}, mtime {:?} -> {:?}): {}",
                old.mode,
                new.mode,
                old.inode,
                new.inode,
                old.modified,
                new.modified,
                path.display()
            )),
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        differences.push(format!("created: {}", path.display()));
    }
    differences
}

pub async fn database_exists(pool: &MySqlPool, database: &str) -> bool {
    charset_of(pool, database).await.is_some()
}

pub async fn account_exists(pool: &MySqlPool, account: &str) -> bool {
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM mysql.user WHERE User = ?")
        .bind(account)
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
    count > 0
}

/// Everything about a database's schema that a load could get wrong, as comparable lines: every column
/// (type, nullability, default), every index column (uniqueness, type, position) and every foreign-key
/// column with what it references. Independent of the order things were created in.
pub async fn schema_fingerprint(pool: &MySqlPool, database: &str) -> BTreeSet<String> {
    let queries = [
        "SELECT CONVERT(CONCAT_WS('|', 'column', TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, IFNULL(COLUMN_DEFAULT, 'NULL'), EXTRA) USING utf8mb4) \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?",
        "SELECT CONVERT(CONCAT_WS('|', 'index', TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE, SEQ_IN_INDEX, COLUMN_NAME) USING utf8mb4) \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?",
        "SELECT CONVERT(CONCAT_WS('|', 'key', TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION, COLUMN_NAME, IFNULL(REFERENCED_TABLE_NAME, ''), IFNULL(REFERENCED_COLUMN_NAME, '')) USING utf8mb4) \
         FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ?",
    ];
    let mut lines = BTreeSet::new();
    for sql in queries {
        for row in sqlx::query(sql)
            .bind(database)
            .fetch_all(pool)
            .await
            .unwrap()
        {
            lines.insert(row.get::<String, _>(0));
        }
    }
    lines
}

/// A SQL `LIKE` pattern for the `owner` of eidb's ledger rows (`eidb_run`, `eidb_lock`) written by process
/// `pid`: eidb writes `... pid PID connection ID on HOST`.
pub fn owner_of_pid_pattern(pid: u32) -> String {
    format!("% pid {pid} connection %")
}
