//! Logging to stderr: `-v` raises the level (info, debug, trace), `RUST_LOG` overrides; colours only when
//! stderr is a terminal and `NO_COLOR` is unset. Every line passes through the redactor, and sqlx's
//! statement logging is off on every connection (see `mysql::connect`).

use std::io::{IsTerminal, Write};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

pub fn init(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // Colour only for a person at a terminal: a log file or a CI capture gets plain text.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(RedactingStderr)
        .with_target(true)
        .try_init();
}

/// A stderr writer that masks registered secrets in each line.
struct RedactingStderr;

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = LineRedactor;

    fn make_writer(&'a self) -> Self::Writer {
        LineRedactor(Vec::new())
    }
}

struct LineRedactor(Vec<u8>);

impl Write for LineRedactor {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.0.is_empty() {
            let text = crate::redact::redact(&String::from_utf8_lossy(&self.0));
            std::io::stderr().lock().write_all(text.as_bytes())?;
            self.0.clear();
        }
        Ok(())
    }
}

impl Drop for LineRedactor {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
