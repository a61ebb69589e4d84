//! Choosing the server to provision through when the spec names several (`server.urls`, e.g. the members
//! of a Galera cluster): the first that accepts the admin and, on Galera, is ready and Synced. A member
//! that is down, joining or donating state is skipped with a line that says so.

use std::time::Duration;

use std::collections::BTreeSet;

use sqlx::{MySqlConnection, Row};

use super::connect::Endpoint;
use super::inspect;
use super::retry::Retry;
use crate::core::observed::Actual;
use crate::core::observed::GaleraState;
use crate::core::sql::quote::Backslashes;
use crate::error::{Error, Result};
use crate::progress::Progress;

pub async fn galera_state(conn: &mut MySqlConnection) -> Result<GaleraState> {
    crate::timings::step("galera status", galera_state_now(conn)).await
}

async fn galera_state_now(conn: &mut MySqlConnection) -> Result<GaleraState> {
    // Status and the cluster's name in one round trip: both statements give (Variable_name, Value) rows.
    let rows = sqlx::raw_sql(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state_comment', 'wsrep_cluster_size');\n\
         SHOW GLOBAL VARIABLES WHERE Variable_name = 'wsrep_cluster_name'",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Error::failure(format!("cannot read the server's status: {e}")))?;
    let value = |name: &str| {
        rows.iter().find_map(|r| {
            let n: String = r.try_get(0).ok()?;
            (n.eq_ignore_ascii_case(name))
                .then(|| r.try_get::<String, _>(1).ok())
                .flatten()
        })
    };
    Ok(GaleraState {
        ready: value("wsrep_ready"),
        state: value("wsrep_local_state_comment"),
        cluster_size: value("wsrep_cluster_size"),
        cluster_name: value("wsrep_cluster_name"),
    })
}

/// The spec's servers (`admins`: [`Endpoint::admins`]) other than the one in use.
pub fn others(admins: &[Endpoint], used: &Endpoint) -> Vec<Endpoint> {
    admins
        .iter()
        .filter(|e| !(e.host == used.host && e.port == used.port))
        .cloned()
        .collect()
}

/// Connect to the first usable server of the spec (`admins`: [`Endpoint::admins`]), retrying all of
/// them until `wait` has passed.
pub async fn connect_first_usable(
    admins: &[Endpoint],
    wait: Duration,
    progress: &Progress,
) -> Result<(Endpoint, MySqlConnection)> {
    let endpoints = admins;
    if let [only] = endpoints {
        let mut conn = only.connect_waiting(None, wait).await?;
        let state = galera_state(&mut conn).await?;
        if !state.is_usable() {
            return Err(Error::failure(format!(
                "{} is a Galera member that is {} (wsrep_ready {}): not ready for changes",
                only.describe(),
                state.state.as_deref().unwrap_or("?"),
                state.ready.as_deref().unwrap_or("?")
            ))
            .with_hint("wait until it is Synced, or list every member in server.urls so eidb can use another"));
        }
        return Ok((only.clone(), conn));
    }
    let mut backoff = Retry::every(Duration::from_millis(500)).within(wait);
    let mut last_error = None;
    loop {
        for endpoint in endpoints {
            match endpoint.connect(None).await {
                Ok(mut conn) => {
                    let state = galera_state(&mut conn).await?;
                    if state.is_usable() {
                        return Ok((endpoint.clone(), conn));
                    }
                    progress.line(&format!(
                        "skipping {}: Galera member is {} (wsrep_ready {})",
                        endpoint.describe(),
                        state.state.as_deref().unwrap_or("?"),
                        state.ready.as_deref().unwrap_or("?")
                    ));
                    super::connect::close(conn).await;
                }
                Err(e) => {
                    progress.line(&format!("skipping {}: {}", endpoint.describe(), e.message));
                    last_error = Some(e);
                }
            }
        }
        if !backoff.may_retry() {
            let detail = last_error
                .map(|e| e.message)
                .unwrap_or_else(|| "no member is Synced".into());
            return Err(Error::failure(format!(
                "none of the {} servers in server.urls is usable: {detail}",
                endpoints.len()
            ))
            .with_hint(
                "start a member (or wait until one is Synced); --wait SECONDS keeps trying",
            ));
        }
        backoff.pause().await;
    }
}

/// Every server of the spec (`admins`: [`Endpoint::admins`]) and what it says about itself (for the
/// pre-flight report). The one in use is asked on its open connection; the others each on a new one.
pub async fn member_states(
    admins: &[Endpoint],
    (used, used_conn): (&Endpoint, &mut MySqlConnection),
) -> Vec<(String, std::result::Result<GaleraState, String>)> {
    let mut states = Vec::new();
    for endpoint in admins {
        let state = if endpoint.host == used.host && endpoint.port == used.port {
            galera_state(used_conn).await.map_err(|e| e.message)
        } else {
            match endpoint.connect(None).await {
                Ok(mut conn) => {
                    let state = galera_state(&mut conn).await.map_err(|e| e.message);
                    super::connect::close(conn).await;
                    state
                }
                Err(e) => Err(e.message),
            }
        };
        states.push((endpoint.describe(), state));
    }
    states
}

/// What a member holds of eidb's objects, as comparable lines: `db REGISTRY_DB`, `table REGISTRY_DB.REG_LOG`,
/// `index ...`, `constraint ...`, `account %`, `grant % ALL PRIVILEGES on REGISTRY_DB.*`.
pub fn fingerprint(actual: &Actual) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    for db in actual.databases.values() {
        lines.insert(format!("database {} ({})", db.name, db.charset));
        lines.extend(db.tables.keys().map(|t| format!("table {}.{t}", db.name)));
        lines.extend(
            db.indexes
                .iter()
                .map(|(t, i)| format!("index {}.{t}.{i}", db.name)),
        );
        lines.extend(
            db.constraints
                .iter()
                .map(|(t, c)| format!("constraint {}.{t}.{c}", db.name)),
        );
        lines.extend(
            db.routines
                .iter()
                .chain(&db.triggers)
                .chain(&db.views)
                .map(|r| format!("routine {}.{r}", db.name)),
        );
    }
    for (host, account) in &actual.accounts {
        lines.insert(format!("account @{host} ({})", account.plugin));
        lines.extend(
            account
                .grants
                .iter()
                .map(|g| format!("grant @{host} {} on {:?}", g.privileges, g.target)),
        );
    }
    lines
}

/// Read the same objects on every other member of the spec, with `wsrep_sync_wait` so each read sees the
/// writes made through the first; returns, per member that disagrees or cannot be read, what differs.
/// What the other members said: those that disagree (member, what differs) and those that could not be
/// read (member, why): a member that is down is not drift, but the output names it.
#[derive(Debug, Default)]
pub struct ReadBack {
    pub disagreements: Vec<(String, String)>,
    pub unreachable: Vec<(String, String)>,
}

/// Read what every member in `others` holds of the cluster's `databases` and `account` (as `reads` asks),
/// all members at once, each through a connection of its own that waits for the cluster's writes
/// (`wsrep_sync_wait`).
pub async fn read_members(
    others: &[Endpoint],
    (databases, account): (&[&str], &str),
    reads: inspect::Reads,
) -> Vec<(String, Result<Actual>)> {
    let outcomes = futures_util::future::join_all(others.iter().map(|endpoint| async move {
        let mut conn = endpoint.connect(None).await?;
        let read = async {
            sqlx::raw_sql("SET SESSION wsrep_sync_wait = 1")
                .execute(&mut conn)
                .await
                .map_err(|e| Error::failure(format!("cannot set wsrep_sync_wait: {e}")))?;
            inspect::read_only(&mut conn, reads, databases, account, Backslashes::Escape).await
        }
        .await;
        super::connect::close(conn).await;
        read
    }))
    .await;
    others
        .iter()
        .map(Endpoint::describe)
        .zip(outcomes)
        .collect()
}

/// What the members read ([`read_members`]) hold that `expected` (the member in use) does not, and the
/// other way round.
pub fn read_back(expected: &Actual, members: Vec<(String, Result<Actual>)>) -> ReadBack {
    let reference = fingerprint(expected);
    let mut result = ReadBack::default();
    for (member, outcome) in members {
        match outcome {
            Ok(actual) => {
                let seen = fingerprint(&actual);
                let missing: Vec<&String> = reference.difference(&seen).take(5).collect();
                let extra: Vec<&String> = seen.difference(&reference).take(5).collect();
                if !missing.is_empty() || !extra.is_empty() {
                    result
                        .disagreements
                        .push((member, format!("lacks {missing:?}; has besides {extra:?}")));
                }
            }
            Err(e) => result.unreachable.push((member, e.message)),
        }
    }
    result
}

/// How long one connection attempt may take while connecting again (a server that stopped answering):
/// 5 s, or the connect limit when that is shorter.
pub fn connect_limit() -> Duration {
    crate::timeouts::get().connect.min(Duration::from_secs(5))
}

/// Set once a reconnect has waited its whole time in vain: the server (every member) is gone. The run's
/// other reconnects (each database's loader, the ledger's writes) then give up at once instead of each
/// waiting its own time again, one after another: minutes before the run could say what happened.
static GONE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn gone(why: &str) -> Error {
    Error::failure(format!("lost the connection to the server: {why}")).with_hint(
        "check the server (or the Galera members) and run again: the run resumes where it stopped",
    )
}

/// Connect again after a dropped connection: to the same server if it comes back, else to the next
/// usable one of `candidates` (on Galera: ready and Synced), trying for up to `wait`. Returns the server
/// now in use.
pub async fn reconnect(
    candidates: &[Endpoint],
    database: Option<&str>,
    wait: Duration,
    progress: &Progress,
) -> Result<(Endpoint, MySqlConnection)> {
    if let Some(why) = GONE.get() {
        return Err(gone(why));
    }
    let mut backoff = Retry::RECONNECT.within(wait);
    let mut last = String::new();
    loop {
        for endpoint in candidates {
            // A server that stopped answering (paused, half down) must not hold the run for ever.
            match endpoint.connect_within(database, connect_limit()).await {
                Ok(mut conn) => {
                    let usable = galera_state(&mut conn)
                        .await
                        .map(|s| s.is_usable())
                        .unwrap_or(false);
                    if usable {
                        if candidates
                            .first()
                            .is_some_and(|first| first.describe() != endpoint.describe())
                        {
                            progress.line(&format!(
                                "continuing through {} after losing the connection",
                                endpoint.describe()
                            ));
                        }
                        return Ok((endpoint.clone(), conn));
                    }
                    last = format!("{} is not Synced", endpoint.describe());
                }
                Err(e) => {
                    last = format!(
                        "{}: {}",
                        endpoint.describe(),
                        crate::redact::redact(&e.to_string())
                    )
                }
            }
        }
        if !backoff.may_retry() {
            let why = format!("could not reconnect within {} s ({last})", wait.as_secs());
            let _ = GONE.set(why.clone());
            return Err(gone(&why));
        }
        backoff.pause().await;
    }
}
