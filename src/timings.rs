//! Where a run's time goes: the wall time of each step that waits on a server (opening a connection, each
//! read of the observe step), and eidb's own CPU time. `RUST_LOG=eidb::timings=debug` prints it as one
//! line at the end of `provision` and `verify`; `scripts/bench.py` reads that line for its breakdown.
//!
//! A step's time is what eidb waited for the server (network, handshake, the server's own work) plus the
//! little CPU it takes to decode the rows. Steps may overlap (a login check opens connections, the column
//! probe runs beside the mount records): each is shown whole, and `server` is the time during which at
//! least one was running.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Step {
    name: &'static str,
    waited: Duration,
    count: u32,
}

/// When a step started and ended.
type Interval = (Instant, Instant);

/// Per step name, its count and summed time; and every step's interval, for the total.
static STEPS: Mutex<(Vec<Step>, Vec<Interval>)> = Mutex::new((Vec::new(), Vec::new()));

/// eidb's own phases (reading the node files and the dbscript, planning), apart from the server steps:
/// they may run beside them, on a thread of their own.
static OWN: Mutex<Vec<Step>> = Mutex::new(Vec::new());

/// Await `work`, counting its wall time under `name`.
pub async fn step<F: Future>(name: &'static str, work: F) -> F::Output {
    let started = Instant::now();
    let _running = Running::start(name);
    let output = work.await;
    record(name, started, Instant::now());
    output
}

/// The steps running now, by name, for saying what a run was waiting on when it stopped.
static RUNNING: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// A step in [`RUNNING`] while it lives (also when its future is dropped unfinished).
struct Running(&'static str);

impl Running {
    fn start(name: &'static str) -> Running {
        RUNNING.lock().unwrap_or_else(|e| e.into_inner()).push(name);
        Running(name)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = running.iter().position(|name| *name == self.0) {
            running.remove(at);
        }
    }
}

/// The names of the steps running now (each once), in the order they started.
pub fn running() -> Vec<&'static str> {
    let mut names = RUNNING.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut seen = std::collections::HashSet::new();
    names.retain(|name| seen.insert(*name));
    names
}

/// Run `work`, counting its wall time under `name` as eidb's own (not the server's).
pub fn own<T>(name: &'static str, work: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let output = work();
    let mut own = OWN.lock().unwrap_or_else(|e| e.into_inner());
    add(&mut own, name, Instant::now() - started);
    output
}

fn record(name: &'static str, started: Instant, ended: Instant) {
    let mut guard = STEPS.lock().unwrap_or_else(|e| e.into_inner());
    let (steps, intervals) = &mut *guard;
    intervals.push((started, ended));
    add(steps, name, ended - started);
}

fn add(steps: &mut Vec<Step>, name: &'static str, waited: Duration) {
    match steps.iter_mut().find(|s| s.name == name) {
        Some(step) => {
            step.waited += waited;
            step.count += 1;
        }
        None => steps.push(Step {
            name,
            waited,
            count: 1,
        }),
    }
}

/// How long at least one step was running (steps overlap: a login check opens connections, the column
/// probe runs beside the mount records).
fn union(intervals: &[Interval]) -> Duration {
    let mut sorted = intervals.to_vec();
    sorted.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<Interval> = None;
    for (start, end) in sorted {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(Duration::ZERO, |(s, e)| e - s)
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
/// (cpu 25.1 ms; node files 1x 3.0, ...)`: `server` is the time spent waiting in the timed steps, `eidb`
/// the rest of the wall time (start-up, reading the spec, the dbscript and the node files, planning),
/// `cpu` eidb's user + system CPU time over the whole run, then eidb's own phases, each whole (some run
/// beside the server steps, on a thread of their own, and are then not part of `eidb`).
pub fn summary(wall: Duration) -> String {
    let guard = STEPS.lock().unwrap_or_else(|e| e.into_inner());
    let (steps, intervals) = &*guard;
    let waited = union(intervals);
    let count = intervals.len();
    let list = |steps: &[Step]| -> Vec<String> {
        steps
            .iter()
            .map(|s| format!("{} {}x {}", s.name, s.count, ms(s.waited)))
            .collect()
    };
    let own = list(&OWN.lock().unwrap_or_else(|e| e.into_inner()));
    format!(
        "wall {} ms; server {} ms in {count} steps ({}); eidb {} ms (cpu {} ms{}{})",
        ms(wall),
        ms(waited),
        list(steps).join(", "),
        ms(wall.saturating_sub(waited)),
        ms(cpu_time()),
        if own.is_empty() { "" } else { "; " },
        own.join(", ")
    )
}

/// Log the summary at debug level under `eidb::timings`.
pub fn log(wall: Duration) {
    if tracing::enabled!(target: "eidb::timings", tracing::Level::DEBUG) {
        tracing::debug!(target: "eidb::timings", "{}", summary(wall));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_steps_count_once_and_gaps_not_at_all() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // 0-10 and 5-20 overlap (20 ms); 30-40 stands alone (10 ms); 32-35 lies inside it.
        let intervals = [
            (at(30), at(40)),
            (at(0), at(10)),
            (at(32), at(35)),
            (at(5), at(20)),
        ];
        assert_eq!(union(&intervals), Duration::from_millis(30));
        assert_eq!(union(&[]), Duration::ZERO);
    }
}
