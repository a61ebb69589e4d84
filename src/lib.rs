//! eidb: provision and verify the database half of a WSO2 Enterprise Integrator 6.x cluster.
//!
//! The crate is built around one idea: a validated cluster spec ([`spec`]) is turned into a desired state
//! ([`desired`]), the desired state is compared with what exists ([`mysql::inspect`], the node files), and
//! the difference is a [`plan`] that `provision` applies, `--dry-run` prints and `verify` reports as drift.

pub mod cli;
pub mod core;
pub mod error;
pub mod interrupt;
pub mod mysql;
pub mod node;
pub mod progress;
pub mod redact;
pub mod secret;
pub mod timings;

/// Where the unit tests find the real WSO2 files: the same code as the integration tests'.
#[cfg(test)]
#[path = "../tests/common/wso2_files.rs"]
mod wso2_files;
