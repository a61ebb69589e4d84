//! Ctrl-C (SIGINT) and SIGTERM stop a run between steps, never inside one: the statement in flight
//! finishes, the ledger records where the run stopped, no file is half written, and the next run resumes.
//! A run that is waiting for a server that does not answer is not held by it: [`guard`] ends it a moment
//! after the signal (and, without a signal, after the statement limit), at an await point, where no file
//! is being written (the files are written whole, without awaiting in between).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static REASON: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
/// The last step the run started, as [`check`] was told it (`before: ...`), for saying where it stopped.
static LAST_STEP: Mutex<Option<String>> = Mutex::new(None);

/// How long a signal leaves the run to reach its next step by itself before [`guard`] ends it.
pub const GRACE: Duration = Duration::from_secs(1);

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
        eprintln!(
            "eidb: interrupted; stopping after the current step (at once if it waits for a server)"
        );
    });
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Fail with "interrupted" if a stop was asked for; `at` says where the run stopped.
pub fn check(at: &str) -> Result<()> {
    *LAST_STEP.lock().unwrap_or_else(|e| e.into_inner()) = Some(at.to_string());
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

/// Where the run is: the server steps it waits on now and the last step it started.
fn whereabouts() -> String {
    let mut said = String::new();
    let waiting = crate::timings::running();
    if !waiting.is_empty() {
        said.push_str(&format!(" (waiting on: {})", waiting.join(", ")));
    }
    if let Some(step) = LAST_STEP.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        let step = step
            .strip_prefix("before: ")
            .or_else(|| step.strip_prefix("before "))
            .unwrap_or(&step)
            .to_string();
        said.push_str(&format!("; the last step started: {step}"));
    }
    said
}

/// Run `work` (a whole command) so that no server can hold it: it ends with an error when nothing
/// happened in it for the statement limit ([`crate::timeouts::Timeouts::statement`]: no answer from any
/// server, no timer of its own), or [`GRACE`] after SIGINT/SIGTERM when it did not stop by itself at its
/// next step. Dropping `work` then closes its connections; it is at an await point, and eidb writes the
/// node files without awaiting, so no file is left half written (each is replaced whole by a rename).
pub async fn guard<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let limit = crate::timeouts::get().statement;
    let activity = Arc::new(Activity::new());
    let mut work = Tracked {
        work: Box::pin(work),
        activity: activity.clone(),
    };
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop_seen: Option<Instant> = None;
    loop {
        tokio::select! {
            biased;
            outcome = &mut work => return outcome,
            _ = tick.tick() => {
                let by_signal = requested()
                    && REASON.lock().unwrap_or_else(|e| e.into_inner()).is_none();
                if by_signal && stop_seen.get_or_insert_with(Instant::now).elapsed() >= GRACE {
                    return Err(Error::failure(format!(
                        "interrupted while waiting for the server{}",
                        whereabouts()
                    ))
                    .with_hint(
                        "no file is half written (each is replaced whole) and every database step is \
                         idempotent: run the same command again and it carries on; the run lock is freed \
                         when the server sees this run's connection gone (or after its expiry)",
                    ));
                }
                let quiet = activity.quiet_for();
                if quiet >= limit {
                    return Err(Error::failure(format!(
                        "no answer from the server for {} s{}",
                        quiet.as_secs(),
                        whereabouts()
                    ))
                    .with_hint(
                        "the server accepted the connection but stopped answering (frozen, overloaded, or a \
                         network path that drops packets): check it, then run the same command again; a \
                         statement that rightly runs longer needs a larger --statement-timeout",
                    ));
                }
            }
        }
    }
}

/// When the guarded work last did anything: was woken (an answer came, a timer of its own fired) or
/// returned from a poll it was woken for (it may block in a poll, e.g. at a password prompt). A poll
/// only because [`guard`]'s own clock ticked is no activity.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    woken: AtomicBool,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            woken: AtomicBool::new(true),
        }
    }

    fn wake(&self) {
        self.woken.store(true, Ordering::SeqCst);
        self.touch();
    }

    fn touch(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let now = self.start.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// The work, polled with a waker that notes every wake-up in its [`Activity`].
struct Tracked<F> {
    work: Pin<Box<F>>,
    activity: Arc<Activity>,
}

struct NotingWaker {
    inner: Waker,
    activity: Arc<Activity>,
}

impl Wake for NotingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.activity.wake();
        self.inner.wake_by_ref();
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let waker = Waker::from(Arc::new(NotingWaker {
            inner: cx.waker().clone(),
            activity: self.activity.clone(),
        }));
        let woken = self.activity.woken.swap(false, Ordering::SeqCst);
        let outcome = self.work.as_mut().poll(&mut Context::from_waker(&waker));
        if woken {
            self.activity.touch();
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_that_keeps_answering_is_not_cut_and_silent_work_is() {
        // The statement limit is the production one here (300 s): a busy run of 0.3 s passes through.
        let busy = async {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(7)
        };
        assert_eq!(guard(busy).await.unwrap(), 7);
        // Polls caused by the guard's own clock are no activity: silent work is cut at the limit.
        let silent = Tracked {
            work: Box::pin(std::future::pending::<Result<()>>()),
            activity: Arc::new(Activity::new()),
        };
        let activity = silent.activity.clone();
        let mut silent = silent;
        for _ in 0..3 {
            let _ = futures_util::poll!(&mut silent);
        }
        std::thread::sleep(Duration::from_millis(30));
        let _ = futures_util::poll!(&mut silent);
        assert!(activity.quiet_for() >= Duration::from_millis(30));
        let activity = Activity::new();
        std::thread::sleep(Duration::from_millis(30));
        assert!(activity.quiet_for() >= Duration::from_millis(30));
        activity.touch();
        assert!(activity.quiet_for() < Duration::from_millis(30));
    }
}
