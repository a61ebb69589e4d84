//! A watchdog process that outlives nothing it guards: a `sh` script reading orders from a pipe only the
//! test process holds. When the pipe closes (the tests ended, however they ended, even by SIGKILL) the
//! script kills what it was told to watch and removes the folder. Each harness brings its own script.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

pub(super) struct Watchdog {
    process: Child,
    /// Closing this (or the test process ending) makes the watchdog clean up.
    orders: Option<ChildStdin>,
    /// What it guards, for the warning should it die.
    guards: &'static str,
}

impl Watchdog {
    /// Start `script` as `sh -c SCRIPT NAME FOLDER`.
    pub(super) fn spawn(
        script: &str,
        name: &str,
        folder: &Path,
        guards: &'static str,
    ) -> Result<Watchdog, String> {
        let mut process = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(name)
            .arg(folder)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Out of the terminal's process group, so that Ctrl-C ends the tests but not the
            // watchdog, which then cleans up.
            .process_group(0)
            .spawn()
            .map_err(|error| format!("cannot start the watchdog of {guards} (sh): {error}"))?;
        let orders = process.stdin.take();
        Ok(Watchdog {
            process,
            orders,
            guards,
        })
    }

    /// One line of orders for the script.
    pub(super) fn send(&mut self, order: &str) {
        let Some(orders) = &mut self.orders else {
            return;
        };
        if writeln!(orders, "{order}")
            .and_then(|()| orders.flush())
            .is_err()
        {
            eprintln!(
                "warning: the watchdog of {} has gone; it may outlive the tests",
                self.guards
            );
        }
    }

    /// Closes the pipe and waits while the watchdog removes the folder.
    pub(super) fn finish(&mut self) {
        self.orders = None;
        let _ = self.process.wait();
    }
}
