//! Ctrl-C (SIGINT) and SIGTERM stop a run between steps, never inside one: the statement in flight
//! finishes, the ledger records where the run stopped, no file is half written, and the next run resumes.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Install the handlers (inside the tokio runtime).
pub fn install() {
    tokio::spawn(async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term = async {
            match term.as_mut() {
                Some(term) => {
                    term.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
        REQUESTED.store(true, Ordering::SeqCst);
        eprintln!("eidb: interrupted; stopping after the current step");
    });
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Fail with "interrupted" if a stop was asked for; `at` says where the run stopped.
pub fn check(at: &str) -> Result<()> {
    if requested() {
        return Err(Error::failure(format!("interrupted {at}"))
            .with_hint("run the same command again: it resumes where this run stopped"));
    }
    Ok(())
}
