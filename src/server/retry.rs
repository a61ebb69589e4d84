//! One retry policy for every place eidb tries again: what failure is worth another try
//! ([`Transient`]), how long to pause between tries and for how long or how often ([`Retry`],
//! [`Backoff`]), and one connect with a time limit ([`within`], `Endpoint::connect_within`).
//!
//! Loops that are not retries (polling the run lock, waiting for a dropped connection to leave the
//! process list) use the same [`Backoff`] for their pauses and deadline.

use std::future::Future;
use std::time::{Duration, Instant};

use super::codes::mysql_code;

/// A failure that another try may not meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// The connection is gone or never came: the server is down, starting, restarting or has too many
    /// connections, the connection was killed or dropped, a Galera member left the cluster
    /// ("WSREP has not yet prepared node for application use"). Connect again, then try again.
    Connection,
    /// The server rolled the statement back whole: a deadlock (1213), on Galera also a certification
    /// failure or a replicated DDL that aborted it. Nothing of it happened: send it again as it is.
    RolledBack,
}

impl Transient {
    /// What kind of transient failure `e` is, `None` when trying again cannot help (a refusal such as a
    /// wrong password, a syntax error, a missing privilege).
    pub fn of(e: &sqlx::Error) -> Option<Transient> {
        match e {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => {
                Some(Transient::Connection)
            }
            // Too many connections, shutdown in progress, gone away, lost, killed; a Galera member
            // that is not ready.
            sqlx::Error::Database(_) => match mysql_code(e) {
                Some(1040 | 1053 | 2006 | 2013 | 1927 | 1047) => Some(Transient::Connection),
                Some(1213) => Some(Transient::RolledBack),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The server rolled the statement back whole ([`Transient::RolledBack`]): send it again.
pub fn rolled_back(e: &sqlx::Error) -> bool {
    Transient::of(e) == Some(Transient::RolledBack)
}

/// How to try again: how many times, and the pauses between (the first, doubled after each try up to
/// the longest). A deadline, when there is one, is given when a [`Backoff`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries after the first; `u32::MAX`: as many as the deadline allows.
    pub retries: u32,
    /// The pause before the first retry.
    pub first_pause: Duration,
    /// The longest pause (pauses double up to it; equal to `first_pause`: a fixed pause).
    pub longest_pause: Duration,
}

impl Retry {
    /// A server that is starting (`--wait`, right after `docker compose up`): back off to 5 s.
    pub const SERVER_STARTING: Retry = Retry::until_deadline(200, 5000);
    /// Connecting again after a dropped connection, to the same server or another member.
    pub const RECONNECT: Retry = Retry::until_deadline(200, 2000);
    /// A statement the server rolled back ([`Transient::RolledBack`]): sent again at once, up to 5 times.
    pub const ROLLED_BACK: Retry = Retry {
        retries: 5,
        first_pause: Duration::from_millis(100),
        longest_pause: Duration::from_millis(500),
    };
    /// A statement whose connection dropped: reconnect (which waits itself, see [`Retry::RECONNECT`])
    /// and send it again, up to 3 times.
    pub const CONNECTION_LOST: Retry = Retry::times(3);
    /// Reading the server again from the start after the connection dropped while reading it: twice.
    pub const READ_AGAIN: Retry = Retry::times(2);

    /// Up to `retries` retries without a pause (whatever comes before the retry waits itself).
    pub const fn times(retries: u32) -> Retry {
        Retry {
            retries,
            first_pause: Duration::ZERO,
            longest_pause: Duration::ZERO,
        }
    }

    /// The same pause between tries, until the deadline.
    pub const fn every(pause: Duration) -> Retry {
        Retry {
            retries: u32::MAX,
            first_pause: pause,
            longest_pause: pause,
        }
    }

    /// Pauses from `first_ms` doubling to `longest_ms`, until the deadline.
    const fn until_deadline(first_ms: u64, longest_ms: u64) -> Retry {
        Retry {
            retries: u32::MAX,
            first_pause: Duration::from_millis(first_ms),
            longest_pause: Duration::from_millis(longest_ms),
        }
    }

    /// Start counting tries now, without a deadline.
    pub fn start(self) -> Backoff {
        Backoff {
            policy: self,
            retries: 0,
            pause: self.first_pause,
            started: Instant::now(),
            deadline: None,
        }
    }

    /// Start counting tries now; no retry starts after `limit` from now.
    pub fn within(self, limit: Duration) -> Backoff {
        let mut backoff = self.start();
        backoff.deadline = Some(backoff.started + limit);
        backoff
    }
}

/// The retries of one operation under a [`Retry`] policy.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: Retry,
    retries: u32,
    pause: Duration,
    started: Instant,
    deadline: Option<Instant>,
}

impl Backoff {
    /// Whether another try is allowed: fewer retries than the policy's, and the pause before it ends
    /// before the deadline.
    pub fn may_retry(&self) -> bool {
        self.retries < self.policy.retries
            && self
                .deadline
                .is_none_or(|deadline| Instant::now() + self.pause < deadline)
    }

    /// Count a retry and pause before it (the pause doubles for the next one).
    pub async fn pause(&mut self) {
        let pause = self.count();
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }

    /// Count a retry; returns the pause to take before it.
    fn count(&mut self) -> Duration {
        self.retries = self.retries.saturating_add(1);
        let pause = self.pause;
        self.pause = (self.pause * 2).min(self.policy.longest_pause);
        pause
    }

    /// The pause the next retry will take.
    pub fn next_pause(&self) -> Duration {
        self.pause
    }

    /// Retries so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Time since the first try.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The deadline has passed.
    pub fn expired(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
    }
}

/// `operation`, or a timed-out I/O error ("no answer within N s") when it takes longer than `limit`:
/// a server that stopped answering (paused, half down, a VIP that does not answer from here) must not
/// hold the run. The error is [`Transient::Connection`], like any other connection that did not come.
pub async fn within<T>(
    limit: Duration,
    operation: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    match tokio::time::timeout(limit, operation).await {
        Ok(outcome) => outcome,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {} s", limit.as_secs()),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_longest_and_stop_at_the_count() {
        let mut backoff = Retry::ROLLED_BACK.start();
        let mut pauses = Vec::new();
        while backoff.may_retry() {
            pauses.push(backoff.count().as_millis());
        }
        assert_eq!(pauses, [100, 200, 400, 500, 500]);
        assert_eq!(backoff.retries(), 5);

        let mut backoff = Retry::SERVER_STARTING.start();
        let pauses: Vec<u128> = (0..7).map(|_| backoff.count().as_millis()).collect();
        assert_eq!(pauses, [200, 400, 800, 1600, 3200, 5000, 5000]);

        let mut backoff = Retry::CONNECTION_LOST.start();
        let mut n = 0;
        while backoff.may_retry() {
            assert_eq!(backoff.count(), Duration::ZERO);
            n += 1;
        }
        assert_eq!(n, 3);
    }

    #[tokio::test]
    async fn no_retry_starts_after_the_deadline() {
        let backoff = Retry::SERVER_STARTING.within(Duration::ZERO);
        assert!(!backoff.may_retry());
        assert!(backoff.expired());
        // A pause that would end after the deadline is no retry either.
        let backoff = Retry::every(Duration::from_secs(2)).within(Duration::from_secs(1));
        assert!(!backoff.may_retry());
        assert!(!backoff.expired());
        let backoff = Retry::every(Duration::from_millis(10)).within(Duration::from_secs(60));
        assert!(backoff.may_retry());
    }

    #[tokio::test]
    async fn a_slow_operation_times_out_as_a_transient_connection_failure() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        };
        let e = within(Duration::from_millis(10), slow).await.unwrap_err();
        assert_eq!(Transient::of(&e), Some(Transient::Connection));
        assert!(e.to_string().contains("no answer within 0 s"), "{e}");
        assert_eq!(
            within(Duration::from_secs(1), async { Ok(7) })
                .await
                .unwrap(),
            7
        );
    }
}
