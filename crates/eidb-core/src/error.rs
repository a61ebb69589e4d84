//! Errors a user can act on, and the exit code each maps to.
//!
//! Every error carries what went wrong (naming the file, key, database, account or node) and, where we know
//! one, a hint saying what to do. Messages pass through `eidb::redact` before they are printed, so a
//! password that a server or parser echoed back never reaches the terminal.

use std::fmt;

/// Exit code for success and for a clean `verify`.
pub const EXIT_OK: i32 = 0;
/// Exit code for a failure during a run, a server-side refusal, or drift found by `verify`.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code for bad input: the spec, the command line, the dbscript, or a node's files.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code of `provision` that applied every additive change but held back destructive ones (a revoke,
/// a password reset, a dropped account row, a node pointed at another database) because
/// `--allow-destructive` was not given. Not a failure: nothing was made worse; not success: the cluster
/// does not match the spec yet.
pub const EXIT_HELD_BACK: i32 = 3;
/// Exit code of `provision --dry-run --detailed-exitcode` when the plan holds changes.
pub const EXIT_CHANGES_PENDING: i32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The user's input is wrong; nothing was touched.
    BadInput,
    /// The run failed (server unreachable, refused, interrupted).
    Failure,
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
    /// The connection to the server dropped (restart, `KILL`, network): what was being read can be read
    /// again on a new connection.
    pub connection_lost: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn input(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::BadInput,
            message: message.into(),
            hint: None,
            connection_lost: false,
        }
    }

    pub fn failure(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Failure,
            message: message.into(),
            hint: None,
            connection_lost: false,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Prefix the message with where it happened ("node node1: ...").
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::BadInput => EXIT_BAD_INPUT,
            Kind::Failure => EXIT_FAILURE,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
