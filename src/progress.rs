//! Progress lines on stderr for people watching a long run; silent for JSON output and in tests that ask.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

struct Inner {
    enabled: bool,
    steps: AtomicUsize,
    started: Instant,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        Progress {
            inner: Arc::new(Inner {
                enabled,
                steps: AtomicUsize::new(0),
                started: Instant::now(),
            }),
        }
    }

    /// One finished step.
    pub fn done(&self, what: &str) {
        let step = self.inner.steps.fetch_add(1, Ordering::Relaxed) + 1;
        self.line(&format!("[{step:>3}] {what}"));
    }

    pub fn enabled(&self) -> bool {
        self.inner.enabled
    }

    /// A block of the report shown early, on stdout with the rest of it.
    pub fn block(&self, text: &str) {
        if self.inner.enabled {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(crate::redact::backstop(text).as_bytes());
            let _ = out.flush();
        }
    }

    /// A line of its own, such as a warning or a phase.
    pub fn line(&self, text: &str) {
        if self.inner.enabled {
            let elapsed = self.inner.started.elapsed().as_secs_f64();
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "eidb {elapsed:>6.2}s {}",
                crate::redact::backstop(text)
            );
        }
    }
}
