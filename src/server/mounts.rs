//! Mount records on the server: read them from each node's local registry database (observe), and
//! repair a stale one (apply). The comparison is [`crate::core::mounts`]'s; this module only reads and writes.
//!
//! How Carbon stores a record (`JDBCResourceDAO`, `JDBCPathCache`, tenant -1234): the mount collection is
//! a `REG_PATH` row (`REG_PATH_VALUE` = the collection's path); the record is a `REG_RESOURCE` row with
//! that `REG_PATH_ID` and `REG_NAME` = the record's name (`JDBCResourceDAO.createResourceID`: a
//! non-collection resource lives at its parent's path id); each property value is a `REG_PROPERTY` row
//! (`REG_NAME`, `REG_VALUE`) linked by a `REG_RESOURCE_PROPERTY` row, to the resource's `REG_VERSION`
//! when `versioningProperties` is true, else to its `REG_PATH_ID` and `REG_RESOURCE_NAME`
//! (`JDBCResourceDAO.addProperties`, read back the same way by `fillResourceProperties`).

use std::collections::BTreeMap;

use sqlx::{Executor, MySqlConnection, Row};

use super::codes::mysql_code;
use super::connect::statement_error;
use crate::core::mounts::{
    self, NodeInput, Observed, RepairMountRecord, Running, StoredRecord, MOUNT_COLLECTION,
    SUPER_TENANT_ID,
};
use crate::core::plan::{Change, Conflict, Plan};
use crate::core::sql::quote::{self, Backslashes};
use crate::error::{Error, Result};

/// How `REG_RESOURCE_PROPERTY` rows join the resource `R` (`JDBCResourceDAO.fillResourceProperties`).
fn property_link(versioned: bool) -> &'static str {
    if versioned {
        "RP.REG_VERSION = R.REG_VERSION"
    } else {
        "RP.REG_PATH_ID = R.REG_PATH_ID AND RP.REG_RESOURCE_NAME = R.REG_NAME"
    }
}

/// Every record in the node's mount collection, with its properties in `REG_PROPERTY` id order.
/// `Err(reason)` when the database or its registry tables do not exist (yet).
async fn read_records(
    conn: &mut MySqlConnection,
    database: &str,
    versioned: bool,
) -> Result<std::result::Result<Vec<StoredRecord>, String>> {
    let sql = records_sql(database, versioned, "?", "?");
    let rows = match sqlx::query(&sql)
        .bind(MOUNT_COLLECTION)
        .bind(SUPER_TENANT_ID)
        .fetch_all(&mut *conn)
        .await
    {
        Ok(rows) => rows,
        // No such database (1049), no such table (1146), or tables by those names that are not Carbon's (1054).
        Err(e) if matches!(mysql_code(&e), Some(1049 | 1146 | 1054)) => {
            return Ok(Err(format!(
            "{database} does not exist or has no registry tables yet, so it holds no mount records"
        )))
        }
        Err(e) => {
            return Err(statement_error(
                &e,
                &format!("reading the mount records in {database}"),
            ))
        }
    };
    Ok(Ok(records_of(&rows)))
}

/// The query of [`read_records`], with `collection` and `tenant` as placeholders or literals.
fn records_sql(database: &str, versioned: bool, collection: &str, tenant: &str) -> String {
    let db = quote::ident(database);
    format!(
        "SELECT R.REG_NAME, R.REG_VERSION, P.REG_NAME, P.REG_VALUE \
         FROM {db}.REG_PATH PA \
         JOIN {db}.REG_RESOURCE R ON R.REG_PATH_ID = PA.REG_PATH_ID AND R.REG_TENANT_ID = PA.REG_TENANT_ID \
         LEFT JOIN {db}.REG_RESOURCE_PROPERTY RP ON RP.REG_TENANT_ID = R.REG_TENANT_ID AND {link} \
         LEFT JOIN {db}.REG_PROPERTY P ON P.REG_ID = RP.REG_PROPERTY_ID AND P.REG_TENANT_ID = RP.REG_TENANT_ID \
         WHERE PA.REG_PATH_VALUE = {collection} AND PA.REG_TENANT_ID = {tenant} AND R.REG_NAME IS NOT NULL \
         ORDER BY R.REG_NAME, R.REG_VERSION DESC, P.REG_ID",
        link = property_link(versioned)
    )
}

/// The records in the rows of [`records_sql`].
fn records_of(rows: &[sqlx::mysql::MySqlRow]) -> Vec<StoredRecord> {
    let mut records: Vec<StoredRecord> = Vec::new();
    for row in rows {
        let name: String = row.try_get(0).unwrap_or_default();
        let version: i64 = row.try_get::<i32, _>(1).map(i64::from).unwrap_or_default();
        let property: Option<String> = row.try_get(2).ok().flatten();
        let value: Option<String> = row.try_get(3).ok().flatten();
        // Carbon's getVersion takes one row per name; should there be several, the newest counts.
        let record = match records.last_mut() {
            Some(last) if last.name == name => last,
            _ => {
                records.push(StoredRecord {
                    name,
                    version,
                    properties: Vec::new(),
                });
                records.last_mut().expect("just pushed")
            }
        };
        if record.version != version {
            continue;
        }
        if let Some(property) = property {
            record
                .properties
                .push((property, value.unwrap_or_default()));
        }
    }
    records
}

/// The mount paths at which a resource exists in the local registry (`JDBCResourceDAO.resourceExists`:
/// a collection at the path, or a resource named after the last segment under its parent).
async fn existing_paths(
    conn: &mut MySqlConnection,
    database: &str,
    paths: &[String],
) -> Result<Vec<String>> {
    let sql = existing_path_sql(database, ["?"; 4]);
    let mut out = Vec::new();
    for path in paths {
        let (parent, name) = parent_and_name(path);
        let count: i64 = sqlx::query(&sql)
            .bind(SUPER_TENANT_ID)
            .bind(path)
            .bind(parent)
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| statement_error(&e, &format!("reading {path} in {database}")))?;
        if count > 0 {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// `JDBCResourceDAO.resourceExists`'s parent path and name of a path.
fn parent_and_name(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((parent, name)) => (parent, name),
        None => ("/", path),
    }
}

/// The query of [`existing_paths`] for one path; `[tenant, path, parent, name]` are placeholders or
/// literals.
fn existing_path_sql(database: &str, [tenant, path, parent, name]: [&str; 4]) -> String {
    let db = quote::ident(database);
    format!(
        "SELECT COUNT(*) FROM {db}.REG_PATH PA \
         JOIN {db}.REG_RESOURCE R ON R.REG_PATH_ID = PA.REG_PATH_ID AND R.REG_TENANT_ID = PA.REG_TENANT_ID \
         WHERE PA.REG_TENANT_ID = {tenant} AND ((PA.REG_PATH_VALUE = {path} AND R.REG_NAME IS NULL) \
         OR (PA.REG_PATH_VALUE = {parent} AND R.REG_NAME = {name}))"
    )
}

/// The process list rows of the node's account in its local registry; `[user, db]` are placeholders or
/// literals.
fn processlist_sql([user, db]: [&str; 2]) -> String {
    format!("SELECT HOST FROM information_schema.PROCESSLIST WHERE USER = {user} AND DB = {db}")
}

/// Whether the admin holds PROCESS (without it, the process list holds the admin's own connections only).
const SEES_ALL_SQL: &str =
    "SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'PROCESS' \
     AND GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', \
     SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')";

/// What the process list rows say, given whether the admin sees every account's connections.
fn running_of(hosts: &[String], sees_all: bool) -> Running {
    if !hosts.is_empty() {
        let mut names: Vec<String> = hosts
            .iter()
            .map(|h| {
                h.rsplit_once(':')
                    .map_or(h.as_str(), |(host, _)| host)
                    .to_string()
            })
            .collect();
        names.sort();
        names.dedup();
        return Running::Connected {
            count: hosts.len() as u32,
            hosts: names,
        };
    }
    if sees_all {
        Running::NoneSeen
    } else {
        Running::CannotSee
    }
}

/// Whether the node looks connected: open connections of its account whose database is its local
/// registry. A running node's datasource pool normally keeps some; none proves nothing for certain.
async fn running(conn: &mut MySqlConnection, input: &NodeInput) -> Result<Running> {
    let hosts: Vec<String> = sqlx::query(&processlist_sql(["?", "?"]))
        .bind(&input.account)
        .bind(&input.database)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| statement_error(&e, "reading the server's process list"))?
        .iter()
        .map(|row| row.try_get::<String, _>(0).unwrap_or_default())
        .collect();
    if !hosts.is_empty() {
        return Ok(running_of(&hosts, true));
    }
    let sees_all: i64 = sqlx::raw_sql(SEES_ALL_SQL)
        .fetch_one(&mut *conn)
        .await
        .and_then(|row| row.try_get(0))
        .unwrap_or(0);
    Ok(running_of(&hosts, sees_all > 0))
}

/// `REG_PATH` rows of the super tenant at or under each path, in the shared registry database.
async fn shared_paths(
    conn: &mut MySqlConnection,
    database: &str,
    paths: &[String],
) -> BTreeMap<String, u64> {
    let db = quote::ident(database);
    let sql = format!(
        "SELECT COUNT(*) FROM {db}.REG_PATH WHERE REG_TENANT_ID = ? \
         AND (REG_PATH_VALUE = ? OR LEFT(REG_PATH_VALUE, CHAR_LENGTH(?) + 1) = CONCAT(?, '/'))"
    );
    let mut out = BTreeMap::new();
    for path in paths {
        let count = sqlx::query(&sql)
            .bind(SUPER_TENANT_ID)
            .bind(path)
            .bind(path)
            .bind(path)
            .fetch_one(&mut *conn)
            .await
            .and_then(|row| row.try_get::<i64, _>(0));
        // A shared database that is missing or empty says nothing here; other checks report it.
        if let Ok(count) = count {
            out.insert(path.clone(), count.max(0) as u64);
        }
    }
    out
}

/// Read everything the mount-record plan of one node needs.
pub async fn observe(conn: &mut MySqlConnection, input: &NodeInput) -> Result<Observed> {
    let records = read_records(conn, &input.database, input.versioned_properties).await?;
    let (existing, shared) = match &records {
        Ok(records) => {
            let paths: Vec<String> = input.mounts.iter().map(|m| m.path.clone()).collect();
            let existing = existing_paths(conn, &input.database, &paths).await?;
            let to_count = mounts::shared_paths_to_count(input, records);
            let shared = match &input.shared_database {
                Some(db) if !to_count.is_empty() => shared_paths(conn, db, &to_count).await,
                _ => BTreeMap::new(),
            };
            (existing, shared)
        }
        Err(_) => (Vec::new(), BTreeMap::new()),
    };
    let running = running(conn, input).await?;
    Ok(Observed {
        records,
        existing_paths: existing,
        running,
        shared_paths: shared,
    })
}

/// What one result set of [`observe_batched`]'s statements is.
enum BatchPart {
    Records(usize),
    Existing(usize, String),
    Processes,
    SeesAll,
}

/// Every node's records, existing mount paths and connections in one round trip: one multi-statement text
/// query (no prepared statements, each of which costs a round trip to prepare). `None` when the server
/// refuses any of it (a local registry that does not exist yet, or without Carbon's tables): then
/// [`observe`] reads node by node and says why. The shared registry's paths, needed only for a stale
/// record, are read afterwards for the nodes that have one.
async fn observe_batched(
    conn: &mut MySqlConnection,
    inputs: &[NodeInput],
) -> Option<Vec<Observed>> {
    use futures_util::TryStreamExt;
    let lit = |s: &str| quote::literal(s, Backslashes::Escape);
    let tenant = SUPER_TENANT_ID.to_string();
    let mut statements = Vec::new();
    let mut parts = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        statements.push(records_sql(
            &input.database,
            input.versioned_properties,
            &lit(MOUNT_COLLECTION),
            &tenant,
        ));
        parts.push(BatchPart::Records(i));
        for wanted in &input.mounts {
            let (parent, name) = parent_and_name(&wanted.path);
            statements.push(existing_path_sql(
                &input.database,
                [&tenant, &lit(&wanted.path), &lit(parent), &lit(name)],
            ));
            parts.push(BatchPart::Existing(i, wanted.path.clone()));
        }
    }
    // Every node's connections in one statement (the process list is read once, whatever the nodes).
    let list = |items: Vec<&str>| items.iter().map(|s| lit(s)).collect::<Vec<_>>().join(",");
    statements.push(format!(
        "SELECT USER, DB, HOST FROM information_schema.PROCESSLIST WHERE USER IN ({}) AND DB IN ({})",
        list(inputs.iter().map(|i| i.account.as_str()).collect()),
        list(inputs.iter().map(|i| i.database.as_str()).collect())
    ));
    parts.push(BatchPart::Processes);
    statements.push(SEES_ALL_SQL.to_string());
    parts.push(BatchPart::SeesAll);
    let mut results: Vec<Vec<sqlx::mysql::MySqlRow>> = vec![Vec::new()];
    {
        let sql = statements.join(";\n");
        let mut stream = sqlx::raw_sql(&sql).fetch_many(&mut *conn);
        while let Some(item) = stream.try_next().await.ok()? {
            match item {
                sqlx::Either::Left(_) => results.push(Vec::new()),
                sqlx::Either::Right(row) => results.last_mut()?.push(row),
            }
        }
    }
    if results.len() <= parts.len() {
        return None;
    }
    let mut records = vec![Vec::new(); inputs.len()];
    let mut existing = vec![Vec::new(); inputs.len()];
    let mut processes: Vec<(String, String, String)> = Vec::new();
    let mut sees_all = false;
    for (part, rows) in parts.into_iter().zip(results) {
        let count = || {
            rows.first()
                .and_then(|row| row.try_get::<i64, _>(0).ok())
                .unwrap_or(0)
        };
        match part {
            BatchPart::Records(i) => records[i] = records_of(&rows),
            BatchPart::Existing(i, path) if count() > 0 => existing[i].push(path),
            BatchPart::Existing(..) => {}
            BatchPart::Processes => {
                let text = |row: &sqlx::mysql::MySqlRow, i| {
                    row.try_get::<Option<String>, _>(i)
                        .ok()
                        .flatten()
                        .unwrap_or_default()
                };
                processes = rows
                    .iter()
                    .map(|row| (text(row, 0), text(row, 1), text(row, 2)))
                    .collect()
            }
            BatchPart::SeesAll => sees_all = count() > 0,
        }
    }
    let mut observed = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let records = std::mem::take(&mut records[i]);
        let to_count = mounts::shared_paths_to_count(input, &records);
        let shared = match &input.shared_database {
            Some(db) if !to_count.is_empty() => shared_paths(conn, db, &to_count).await,
            _ => BTreeMap::new(),
        };
        observed.push(Observed {
            records: Ok(records),
            existing_paths: std::mem::take(&mut existing[i]),
            running: running_of(&connections_of(&processes, input), sees_all),
            shared_paths: shared,
        });
    }
    Some(observed)
}

/// The hosts of the node's account's connections to its local registry, from (user, database, host) rows;
/// compared without case, as the server compares them in `information_schema` ([`processlist_sql`]).
fn connections_of(processes: &[(String, String, String)], input: &NodeInput) -> Vec<String> {
    processes
        .iter()
        .filter(|(user, db, _)| {
            user.eq_ignore_ascii_case(&input.account) && db.eq_ignore_ascii_case(&input.database)
        })
        .map(|(_, _, host)| host.clone())
        .collect()
}

/// Observe and plan the mount records of every node into `plan`: a repair change per stale record, the
/// state of every mount, and warnings.
pub async fn plan_into(
    conn: &mut MySqlConnection,
    inputs: &[NodeInput],
    plan: &mut Plan,
) -> Result<()> {
    let batched = match inputs {
        [] => None,
        _ => observe_batched(conn, inputs).await,
    };
    let mut batched = batched.map(Vec::into_iter);
    for input in inputs {
        let observed = match batched.as_mut().and_then(Iterator::next) {
            Some(observed) => observed,
            None => observe(conn, input).await?,
        };
        let node_plan = mounts::plan(input, &observed);
        plan.changes
            .extend(node_plan.repairs.into_iter().map(Change::RepairMountRecord));
        plan.mount_records.extend(node_plan.statuses);
        plan.warnings
            .extend(node_plan.warnings.into_iter().map(|w| Conflict {
                subject: format!("node {}", input.node),
                check: crate::core::check::Check::MountUnmakeable,
                expected: "a mount Carbon can make at the next start".to_string(),
                found: w,
                fix: "see docs/mount-records.md".to_string(),
            }));
    }
    Ok(())
}

/// The statements of a repair, as they are sent (and shown by `--dry-run`): each stored value set in
/// place (`REG_PROPERTY` rows of the record's current version, or path and name), each missing property
/// added as `JDBCResourceDAO.addProperties` adds one, and the resource marked as updated by eidb.
pub fn repair_sql(repair: &RepairMountRecord, backslashes: Backslashes) -> Vec<String> {
    let db = quote::ident(&repair.database);
    let lit = |s: &str| quote::literal(s, backslashes);
    let record = format!(
        "PA.REG_PATH_VALUE = {} AND PA.REG_TENANT_ID = {SUPER_TENANT_ID} AND R.REG_NAME = {}",
        lit(MOUNT_COLLECTION),
        lit(&repair.record_name)
    );
    let resource = format!(
        "{db}.REG_RESOURCE R JOIN {db}.REG_PATH PA ON PA.REG_PATH_ID = R.REG_PATH_ID AND PA.REG_TENANT_ID = R.REG_TENANT_ID"
    );
    let mut out = Vec::new();
    for fix in &repair.set {
        match &fix.stored {
            Some(_) => out.push(format!(
                "UPDATE {db}.REG_PROPERTY P \
                 JOIN {db}.REG_RESOURCE_PROPERTY RP ON RP.REG_PROPERTY_ID = P.REG_ID AND RP.REG_TENANT_ID = P.REG_TENANT_ID \
                 JOIN {db}.REG_RESOURCE R ON R.REG_TENANT_ID = RP.REG_TENANT_ID AND {link} \
                 JOIN {db}.REG_PATH PA ON PA.REG_PATH_ID = R.REG_PATH_ID AND PA.REG_TENANT_ID = R.REG_TENANT_ID \
                 SET P.REG_VALUE = {value} WHERE {record} AND P.REG_NAME = {name}",
                link = property_link(repair.versioned_properties),
                value = lit(&fix.wanted),
                name = lit(&fix.name),
            )),
            None => {
                out.push(format!(
                    "INSERT INTO {db}.REG_PROPERTY (REG_NAME, REG_VALUE, REG_TENANT_ID) VALUES ({}, {}, {SUPER_TENANT_ID})",
                    lit(&fix.name),
                    lit(&fix.wanted)
                ));
                out.push(if repair.versioned_properties {
                    format!(
                        "INSERT INTO {db}.REG_RESOURCE_PROPERTY (REG_PROPERTY_ID, REG_VERSION, REG_TENANT_ID) \
                         SELECT LAST_INSERT_ID(), R.REG_VERSION, R.REG_TENANT_ID FROM {resource} WHERE {record} \
                         ORDER BY R.REG_VERSION DESC LIMIT 1"
                    )
                } else {
                    format!(
                        "INSERT INTO {db}.REG_RESOURCE_PROPERTY (REG_PROPERTY_ID, REG_PATH_ID, REG_RESOURCE_NAME, REG_TENANT_ID) \
                         SELECT LAST_INSERT_ID(), R.REG_PATH_ID, R.REG_NAME, R.REG_TENANT_ID FROM {resource} WHERE {record} \
                         ORDER BY R.REG_VERSION DESC LIMIT 1"
                    )
                });
            }
        }
    }
    out.push(format!(
        "UPDATE {resource} SET R.REG_LAST_UPDATOR = 'eidb', R.REG_LAST_UPDATED_TIME = CURRENT_TIMESTAMP WHERE {record}"
    ));
    out
}

/// Apply a repair in one transaction (a node starting meanwhile reads the old record or the new one,
/// never half of each), then read the record back and commit only when it now matches.
pub async fn repair(
    conn: &mut MySqlConnection,
    repair: &RepairMountRecord,
    backslashes: Backslashes,
) -> Result<()> {
    let what = || {
        format!(
            "repairing the mount record of {} in {}",
            repair.mount_path, repair.database
        )
    };
    conn.execute(sqlx::raw_sql("START TRANSACTION"))
        .await
        .map_err(|e| statement_error(&e, &what()))?;
    let outcome = async {
        for statement in repair_sql(repair, backslashes) {
            conn.execute(sqlx::raw_sql(&statement))
                .await
                .map_err(|e| statement_error(&e, &what()))?;
        }
        let records = read_records(conn, &repair.database, repair.versioned_properties)
            .await?
            .map_err(Error::failure)?;
        let record = records.iter().find(|r| r.name == repair.record_name);
        let wrong: Vec<String> = repair
            .set
            .iter()
            .filter(|fix| record.and_then(|r| r.property(&fix.name)) != Some(fix.wanted.as_str()))
            .map(|fix| fix.name.clone())
            .collect();
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(Error::failure(format!(
                "{}: after the change, {} still differ; nothing was changed",
                what(),
                wrong.join(", ")
            )))
        }
    }
    .await;
    let end = if outcome.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    let ended = conn.execute(sqlx::raw_sql(end)).await;
    outcome?;
    ended.map_err(|e| statement_error(&e, &what()))?;
    Ok(())
}
