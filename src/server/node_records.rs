//! The nodes' records in the ledger (`crate::core::node_records`): made writable for the cluster's account
//! by the full provision (admin), written by each node run with the nodes' own account, read by verify.
//!
//! Least privilege without row-level privileges: the account gets SELECT, INSERT and UPDATE on the one
//! table `eidb_node_record`, and two triggers the admin defines refuse any row the account may not write:
//! a row's `account` must be the session's login name (`USER()`, which the client cannot choose: inside a
//! trigger `CURRENT_USER()` is the trigger's definer), the pair (cluster, account) must be one the admin
//! entered in `eidb_cluster_account`, and an update may not move a row to another cluster. So a cluster's
//! account writes its own cluster's node rows, and neither another cluster's nor rows in another
//! account's name. The admin keeps DELETE.

use std::collections::BTreeMap;

use sqlx::{Executor, MySqlConnection, Row};

use super::codes::mysql_code;
use super::connect::{statement_error, Endpoint};
use crate::core::node_records::{NodeRecord, ASSIGNMENTS, TABLE};
use crate::core::sql::quote::{self, Backslashes};
use crate::error::{Error, Result};

const INSERT_TRIGGER: &str = "eidb_node_record_insert";
const UPDATE_TRIGGER: &str = "eidb_node_record_update";

/// The login name of the session, as the server authenticated it (`USER()` without its host part).
const SESSION_LOGIN: &str =
    "LEFT(USER(), CHAR_LENGTH(USER()) - CHAR_LENGTH(SUBSTRING_INDEX(USER(), '@', -1)) - 1)";

fn absent(e: &sqlx::Error) -> bool {
    matches!(mysql_code(e), Some(1049 | 1146))
}

fn trigger_sql(db: &str, name: &str, update: bool) -> String {
    let db = quote::ident(db);
    let moved = if update {
        "NEW.cluster <> OLD.cluster OR "
    } else {
        ""
    };
    format!(
        "CREATE TRIGGER {db}.{name} BEFORE {event} ON {db}.{TABLE} FOR EACH ROW
BEGIN
  IF {moved}NEW.account <> {SESSION_LOGIN}
     OR NOT EXISTS (SELECT 1 FROM {db}.eidb_cluster_account a
                    WHERE a.cluster = NEW.cluster AND a.account = NEW.account) THEN
    SIGNAL SQLSTATE '45000'
      SET MESSAGE_TEXT = 'eidb: a node record may be written only by its own cluster''s account, in its own name';
  END IF;
END",
        name = quote::ident(name),
        event = if update { "UPDATE" } else { "INSERT" },
    )
}

/// Make the records writable for the cluster's account (full provision, as the admin): the tables
/// (the ledger's migrations), the triggers, the (cluster, account) entry and the grants on the one table
/// to each of the account's rows. `Ok(false)` when there is no ledger on this server yet.
pub async fn enable(
    admin: &mut MySqlConnection,
    endpoint: &Endpoint,
    metadata_db: &str,
    (cluster, account, hosts): (&str, &str, &[String]),
    backslashes: Backslashes,
) -> Result<bool> {
    if !super::ledger::bring_up_to_date(endpoint, metadata_db).await? {
        return Ok(false);
    }
    let db = quote::ident(metadata_db);
    let existing: Vec<String> = sqlx::query(
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?",
    )
    .bind(metadata_db)
    .bind(TABLE)
    .fetch_all(&mut *admin)
    .await
    .map_err(|e| statement_error(&e, "reading the node records' triggers"))?
    .iter()
    .map(|row| row.try_get_unchecked::<String, _>(0).unwrap_or_default())
    .collect();
    for (name, update) in [(INSERT_TRIGGER, false), (UPDATE_TRIGGER, true)] {
        if existing.iter().any(|t| t.eq_ignore_ascii_case(name)) {
            continue;
        }
        match admin
            .execute(sqlx::raw_sql(&trigger_sql(metadata_db, name, update)))
            .await
        {
            Ok(_) => {}
            // Another run made it meanwhile.
            Err(e) if mysql_code(&e) == Some(1359) => {}
            Err(e) => {
                return Err(statement_error(&e, "creating the node records' trigger")
                    .with_hint("the admin needs the TRIGGER privilege on the metadata database (and SUPER on MySQL 5.7 with binary logging)"))
            }
        }
    }
    let entry = format!(
        "INSERT IGNORE INTO {db}.eidb_cluster_account (cluster, account, recorded_at) VALUES ({}, {}, NOW(6))",
        quote::literal(cluster, backslashes),
        quote::literal(account, backslashes)
    );
    admin
        .execute(sqlx::raw_sql(&entry))
        .await
        .map_err(|e| statement_error(&e, "recording the cluster's account for its node records"))?;
    for host in hosts {
        let grant = format!(
            "GRANT SELECT, INSERT, UPDATE ON {db}.{TABLE} TO {}",
            quote::account(account, host, backslashes)
        );
        admin
            .execute(sqlx::raw_sql(&grant))
            .await
            .map_err(|e| statement_error(&e, "granting the account its node records"))?;
        // Which database each node was given: a node's own run reads it (it writes nothing there).
        let read = format!(
            "GRANT SELECT ON {db}.{ASSIGNMENTS} TO {}",
            quote::account(account, host, backslashes)
        );
        admin.execute(sqlx::raw_sql(&read)).await.map_err(|e| {
            statement_error(&e, "granting the account a read of the nodes' databases")
        })?;
    }
    Ok(true)
}

/// Which local registry the ledger gave each node of `cluster`, read with the nodes' account (a node's own
/// run without admin access). `None` when it cannot be read (no such grant yet, no server from here).
pub async fn read_assignments(
    account: &Endpoint,
    metadata_db: &str,
    cluster: &str,
) -> Option<BTreeMap<String, String>> {
    let mut conn = account.connect_raw(None).await.ok()?;
    let sql = format!(
        "SELECT node, target_db FROM {}.{ASSIGNMENTS} WHERE cluster = ?",
        quote::ident(metadata_db)
    );
    let rows = sqlx::query(&sql)
        .bind(cluster)
        .fetch_all(&mut conn)
        .await
        .ok();
    super::connect::close(conn).await;
    Some(
        rows?
            .iter()
            .map(|row| {
                let get = |i| row.try_get_unchecked::<String, _>(i).unwrap_or_default();
                (get(0), get(1))
            })
            .collect(),
    )
}

const COLUMNS: &str =
    "node, account, spec_digest, local_registry, cache_id, shared_registry, user_store, files, \
                       eidb_version, DATE_FORMAT(recorded_at, '%Y-%m-%d %H:%i:%s')";

fn from_row(row: &sqlx::mysql::MySqlRow) -> NodeRecord {
    let get = |i| row.try_get_unchecked::<String, _>(i).unwrap_or_default();
    NodeRecord {
        node: get(0),
        account: get(1),
        spec_digest: get(2),
        local_registry: row.try_get_unchecked::<Option<String>, _>(3).ok().flatten(),
        cache_id: get(4),
        shared_registry: get(5),
        user_store: get(6),
        files: serde_json::from_str::<BTreeMap<String, String>>(&get(7)).unwrap_or_default(),
        eidb_version: get(8),
        recorded_at: get(9),
    }
}

/// The cluster's node records; `None` when the ledger has no records table (eidb never enabled them here).
pub async fn read(
    conn: &mut MySqlConnection,
    metadata_db: &str,
    cluster: &str,
) -> Result<Option<Vec<NodeRecord>>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {}.{TABLE} WHERE cluster = ? ORDER BY node",
        quote::ident(metadata_db)
    );
    match sqlx::query(&sql).bind(cluster).fetch_all(&mut *conn).await {
        Ok(rows) => Ok(Some(rows.iter().map(from_row).collect())),
        Err(e) if absent(&e) => Ok(None),
        Err(e) => Err(statement_error(&e, "reading the nodes' records")),
    }
}

/// Write the nodes' records with the nodes' account, on one connection, each unless it already says the
/// same. Per record: `Ok(true)` when it was written. A connection that cannot be had is one error for all.
pub async fn write(
    account: &Endpoint,
    metadata_db: &str,
    cluster: &str,
    records: &[NodeRecord],
) -> Result<Vec<Result<bool>>> {
    let limit = super::members::connect_limit();
    let mut conn = account
        .connect_within(None, limit)
        .await
        .map_err(|e| super::connect::connect_error(e, account, None))?;
    let mut written = Vec::with_capacity(records.len());
    for record in records {
        written.push(write_on(&mut conn, metadata_db, cluster, record).await);
    }
    super::connect::close(conn).await;
    Ok(written)
}

async fn write_on(
    conn: &mut MySqlConnection,
    metadata_db: &str,
    cluster: &str,
    record: &NodeRecord,
) -> Result<bool> {
    let db = quote::ident(metadata_db);
    let sql = format!("SELECT {COLUMNS} FROM {db}.{TABLE} WHERE cluster = ? AND node = ?");
    let before = sqlx::query(&sql)
        .bind(cluster)
        .bind(&record.node)
        .fetch_optional(&mut *conn)
        .await;
    match before {
        Ok(Some(row)) if from_row(&row).same_values(record) => return Ok(false),
        Ok(_) => {}
        Err(e) if absent(&e) || mysql_code(&e) == Some(1142) => return Err(not_enabled(&e)),
        Err(e) => return Err(statement_error(&e, "reading the node's record")),
    }
    let files = serde_json::to_string(&record.files).unwrap_or_else(|_| "{}".into());
    let upsert = format!(
        "INSERT INTO {db}.{TABLE} (cluster, node, account, spec_digest, local_registry, cache_id, shared_registry,
           user_store, files, eidb_version, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NOW(6))
         ON DUPLICATE KEY UPDATE account = VALUES(account), spec_digest = VALUES(spec_digest),
           local_registry = VALUES(local_registry), cache_id = VALUES(cache_id),
           shared_registry = VALUES(shared_registry), user_store = VALUES(user_store), files = VALUES(files),
           eidb_version = VALUES(eidb_version), recorded_at = VALUES(recorded_at)"
    );
    sqlx::query(&upsert)
        .bind(cluster)
        .bind(&record.node)
        .bind(&record.account)
        .bind(&record.spec_digest)
        .bind(&record.local_registry)
        .bind(&record.cache_id)
        .bind(&record.shared_registry)
        .bind(&record.user_store)
        .bind(files)
        .bind(&record.eidb_version)
        .execute(&mut *conn)
        .await
        .map_err(|e| match mysql_code(&e) {
            Some(1142 | 1146 | 1049) => not_enabled(&e),
            _ => statement_error(&e, "writing the node's record"),
        })?;
    Ok(true)
}

fn not_enabled(e: &sqlx::Error) -> Error {
    statement_error(e, "writing the node's record").with_hint(
        "the node records are enabled by a full provision (or --db-only) with this eidb version, run by the admin",
    )
}
