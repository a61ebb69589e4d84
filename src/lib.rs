//! eidb: provision and verify the database half of a WSO2 Enterprise Integrator 6.x cluster.
//!
//! One engine, three uses: every run observes once (secrets, the node files in `node`, the server in
//! `server`), plans once (`core`: the spec's desired state against what was observed, pure), and then
//! `provision` executes the plan, `--dry-run` shows it and `verify` says it as findings (`run` runs
//! these steps; `cli` is the shell around it: arguments and rendering). `core` is a crate of its own
//! (crates/eidb-core), so the compiler keeps it from the other layers; `tests/it/layout.rs` keeps the
//! rest of the layout.
//!
//! The library exports one thing, [`main`], the `eidb` command: every module is the crate's own, so an
//! item no command reaches is reported as dead code.

mod app;
mod cli;
/// The pure core, a crate of its own: `crates/eidb-core`.
use eidb_core as core;
use eidb_core::error;
mod interrupt;
mod node;
mod progress;
mod redact;
mod run;
mod secret;
mod server;
mod timeouts;
mod timings;

pub use app::main;

/// Where the unit tests find the real WSO2 files: the same code as the integration tests'.
#[cfg(test)]
#[path = "../tests/it/common/wso2_files.rs"]
mod wso2_files;
