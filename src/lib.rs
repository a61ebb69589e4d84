//! eidb: provision and verify the database half of a WSO2 Enterprise Integrator 6.x cluster.
//!
//! One engine, three uses: every run observes once (secrets, the node files in [`node`], the server in
//! [`server`]), plans once ([`core`]: the spec's desired state against what was observed, pure), and then
//! `provision` executes the plan, `--dry-run` shows it and `verify` says it as findings ([`run`] runs
//! these steps; [`cli`] is the shell around it: arguments and rendering). `core` depends on no other
//! layer; `tests/it/layout.rs` keeps it so.

pub mod cli;
pub mod core;
pub mod error;
pub mod interrupt;
pub mod node;
pub mod progress;
pub mod redact;
pub mod run;
pub mod secret;
pub mod server;
pub mod timeouts;
pub mod timings;

/// Where the unit tests find the real WSO2 files: the same code as the integration tests'.
#[cfg(test)]
#[path = "../tests/it/common/wso2_files.rs"]
mod wso2_files;
