//! Where a run's time goes: the wall time of each step that waits on a server (opening a connection, each
//! read of the observe step), and eidb's own CPU time. `RUST_LOG=eidb::timings=debug` prints it as one
//! line at the end of `provision` and `verify`; `scripts/bench.py` reads that line for its breakdown.
//!
//! A step's time is what eidb waited for the server (network, handshake, the server's own work) plus the
//! little CPU it takes to decode the rows. A step inside another (`connect within`: the connection a login
//! check opens) is shown but counted once, in the outer step; steps that overlap are each counted whole.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Step {
    name: &'static str,
    waited: Duration,
    count: u32,
    /// Timed inside another step (a connection a login check opens): shown, not added again.
    nested: bool,
}

static STEPS: Mutex<Vec<Step>> = Mutex::new(Vec::new());

/// How many timed steps are running now.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Await `work`, counting its wall time under `name`.
pub async fn step<F: Future>(name: &'static str, work: F) -> F::Output {
    let nested = RUNNING.fetch_add(1, Ordering::SeqCst) > 0;
    let started = Instant::now();
    let output = work.await;
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    record(name, nested, started.elapsed());
    output
}

fn record(name: &'static str, nested: bool, waited: Duration) {
    let mut steps = STEPS.lock().unwrap_or_else(|e| e.into_inner());
    match steps
        .iter_mut()
        .find(|s| s.name == name && s.nested == nested)
    {
        Some(step) => {
            step.waited += waited;
            step.count += 1;
        }
        None => steps.push(Step {
            name,
            waited,
            count: 1,
            nested,
        }),
    }
}

/// The process's user + system CPU time so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// `wall 120.3 ms; server 80.1 ms in 9 steps (connect 3x 10.2, inspect 1x 45.0, ...); eidb 40.2 ms
/// (cpu 25.1 ms)`: `server` is the time spent waiting in the timed steps, `eidb` the rest of the wall time.
pub fn summary(wall: Duration) -> String {
    let steps = STEPS.lock().unwrap_or_else(|e| e.into_inner());
    let outer = steps.iter().filter(|s| !s.nested);
    let waited: Duration = outer.clone().map(|s| s.waited).sum();
    let count: u32 = outer.map(|s| s.count).sum();
    let parts: Vec<String> = steps
        .iter()
        .map(|s| {
            let within = if s.nested { " within" } else { "" };
            format!("{}{within} {}x {}", s.name, s.count, ms(s.waited))
        })
        .collect();
    format!(
        "wall {} ms; server {} ms in {count} steps ({}); eidb {} ms (cpu {} ms)",
        ms(wall),
        ms(waited),
        parts.join(", "),
        ms(wall.saturating_sub(waited)),
        ms(cpu_time())
    )
}

/// Log the summary at debug level under `eidb::timings`.
pub fn log(wall: Duration) {
    if tracing::enabled!(target: "eidb::timings", tracing::Level::DEBUG) {
        tracing::debug!(target: "eidb::timings", "{}", summary(wall));
    }
}
