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

/// Catch SIGINT and SIGTERM from the first moment of `main`, before anything else runs: a signal sent
/// while eidb starts (arguments, logging, the runtime) must stop it like any other, not kill it outright.
/// The handler only sets a flag (async-signal-safe); the run stops at its next step. Afterwards the two
/// signals are unblocked, so that one sent before eidb was ready (pending in a mask inherited from the
/// parent) is handled now rather than lost.
pub fn install_early() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the action only stores to an atomic, which is async-signal-safe.
        let registered = unsafe {
            signal_hook_registry::register(signal, || REQUESTED.store(true, Ordering::SeqCst))
        };
        if let Err(e) = registered {
            eprintln!("eidb: cannot catch signal {signal}: {e}");
            return;
        }
    }
    // SAFETY: plain libc calls on a local, zero-initialised signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}

/// Say so when a signal arrives during the run (inside the tokio runtime); [`install_early`] has already
/// made it stop the run.
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
