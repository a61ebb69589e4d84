//! Every time limit and wait of eidb's own in one value: how long one connection attempt and one answer
//! from the server may take (the operator's `--connect-timeout` and `--statement-timeout`), and the waits
//! built into the run lock and the reconnects. Set once at start-up ([`set`]), read everywhere ([`get`]).
//!
//! The tests run the debug binary with shorter waits (`EIDB_TEST_TIMEOUTS`, see [`TEST_ENV`]), so that no
//! test waits out a production wait (a lock's 30 s expiry, a 60 s reconnect limit). That variable is read
//! by debug builds only: a release build, which is what operators run, ignores it, so a variable left
//! in a shell or a service's environment cannot shorten a production lock's expiry by accident.

use std::sync::OnceLock;
use std::time::Duration;

/// The test hook (debug builds only): `name=seconds` pairs separated by commas, e.g.
/// `EIDB_TEST_TIMEOUTS=lock_ttl=3,reconnect=5`. Fractions are allowed (`lock_gone_for=0.5`).
pub const TEST_ENV: &str = "EIDB_TEST_TIMEOUTS";

/// The default `--connect-timeout`: one connection attempt, TCP and handshake, in seconds.
pub const DEFAULT_CONNECT_SECS: u64 = 10;
/// The default `--statement-timeout` of `provision`: long enough for a dbscript statement on a slow,
/// busy server (creating a table or an index on an empty database takes milliseconds).
pub const DEFAULT_PROVISION_STATEMENT_SECS: u64 = 300;
/// The default `--statement-timeout` of `verify`: it only reads, and a monitor must learn soon that it
/// could not check.
pub const DEFAULT_VERIFY_STATEMENT_SECS: u64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// One connection attempt (TCP connect, handshake, login, the session's first statement).
    pub connect: Duration,
    /// How long the run may wait without any answer from any server (a statement in flight, a read)
    /// before it gives up: a server that accepted the connection and stopped answering.
    pub statement: Duration,
    /// How long the run lock holds without renewal; the holder renews it every third of that.
    pub lock_ttl: Duration,
    /// How long a lock holder's connection must stay gone from the process list before its lock is
    /// taken over.
    pub lock_gone_for: Duration,
    /// How often the lock renewer checks its connection.
    pub lock_ping: Duration,
    /// How long to keep reconnecting after a connection dropped mid-run (to the same server or
    /// another member) before the run gives up.
    pub reconnect: Duration,
    /// How long a ledger write keeps reconnecting after its connection dropped; also the least a run
    /// waits to read the server again after the connection dropped while it read.
    pub ledger_reconnect: Duration,
    /// How long to wait for a dropped connection's statement to leave the server's process list.
    pub dropped_statement: Duration,
    /// How long concurrent first runs wait for each other's ledger migration.
    pub migration: Duration,
}

impl Timeouts {
    /// The production values (the limits the operator sets come from the command line).
    pub const PRODUCTION: Timeouts = Timeouts {
        connect: Duration::from_secs(DEFAULT_CONNECT_SECS),
        statement: Duration::from_secs(DEFAULT_PROVISION_STATEMENT_SECS),
        lock_ttl: Duration::from_secs(30),
        lock_gone_for: Duration::from_secs(3),
        lock_ping: Duration::from_secs(1),
        reconnect: Duration::from_secs(60),
        ledger_reconnect: Duration::from_secs(30),
        dropped_statement: Duration::from_secs(120),
        migration: Duration::from_secs(30),
    };

    /// These values with the overrides of `spec` (`name=seconds,...`, see [`TEST_ENV`]).
    pub fn with_overrides(mut self, spec: &str) -> Result<Timeouts, String> {
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("{TEST_ENV}: `{pair}` is not name=seconds"))?;
            let seconds: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| format!("{TEST_ENV}: `{value}` is not a number of seconds"))?;
            let value = Duration::from_secs_f64(seconds);
            let field = match name.trim() {
                "connect" => &mut self.connect,
                "statement" => &mut self.statement,
                "lock_ttl" => &mut self.lock_ttl,
                "lock_gone_for" => &mut self.lock_gone_for,
                "lock_ping" => &mut self.lock_ping,
                "reconnect" => &mut self.reconnect,
                "ledger_reconnect" => &mut self.ledger_reconnect,
                "dropped_statement" => &mut self.dropped_statement,
                "migration" => &mut self.migration,
                other => return Err(format!("{TEST_ENV}: no wait named `{other}`")),
            };
            *field = value;
        }
        Ok(self)
    }
}

static TIMEOUTS: OnceLock<Timeouts> = OnceLock::new();

/// Set the run's limits once, at start-up: `connect` and `statement` from the command line, the rest
/// the production values, then (debug builds only) the test hook's overrides.
pub fn set(connect: Duration, statement: Duration) -> Result<(), String> {
    let mut timeouts = Timeouts {
        connect,
        statement,
        ..Timeouts::PRODUCTION
    };
    if cfg!(debug_assertions) {
        if let Ok(spec) = std::env::var(TEST_ENV) {
            timeouts = timeouts.with_overrides(&spec)?;
        }
    }
    let _ = TIMEOUTS.set(timeouts);
    Ok(())
}

/// The run's limits: what [`set`] set, or the production values.
pub fn get() -> &'static Timeouts {
    TIMEOUTS.get_or_init(|| Timeouts::PRODUCTION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_change_only_what_they_name() {
        let t = Timeouts::PRODUCTION
            .with_overrides("lock_ttl=3, reconnect=0.5,")
            .unwrap();
        assert_eq!(t.lock_ttl, Duration::from_secs(3));
        assert_eq!(t.reconnect, Duration::from_millis(500));
        assert_eq!(t.connect, Timeouts::PRODUCTION.connect);
        assert!(Timeouts::PRODUCTION.with_overrides("lock=3").is_err());
        assert!(Timeouts::PRODUCTION.with_overrides("lock_ttl").is_err());
        assert!(Timeouts::PRODUCTION.with_overrides("lock_ttl=-1").is_err());
        assert_eq!(
            Timeouts::PRODUCTION.with_overrides("").unwrap(),
            Timeouts::PRODUCTION
        );
    }
}
