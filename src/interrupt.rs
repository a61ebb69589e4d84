//! Ctrl-C (SIGINT) and SIGTERM stop a run between steps, never inside one: the statement in flight
//! finishes, the ledger records where the run stopped, no file is half written, and the next run resumes.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static REASON: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Stop the run between steps for a reason of eidb's own (the run lock was lost).
pub fn stop(reason: &str) {
    *REASON.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.to_string());
    REQUESTED.store(true, Ordering::SeqCst);
}

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
        if let Some(reason) = REASON.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Err(Error::failure(format!("stopped {at}: {reason}")).with_hint(
                "another run may be working on this cluster now; run again once it has finished",
            ));
        }
        return Err(Error::failure(format!("interrupted {at}"))
            .with_hint("run the same command again: it resumes where this run stopped"));
    }
    Ok(())
}
