//! eidb's core: the spec's desired state, the plan against what was observed, and drift said as findings.
//! Pure: nothing here reads a file, a variable or a server. A crate of its own so that the compiler keeps
//! it so: it has no database driver, no async runtime and no other eidb layer to reach for (the `eidb`
//! crate holds the node, server and command-line layers above it, and names this one `eidb::core`).

pub mod check;
pub mod clustering;
pub mod dbscript;
pub mod desired;
pub mod drift;
pub mod error;
pub mod facts;
pub mod findings;
pub mod jdbc_url;
pub mod lb_nginx;
pub mod matching;
pub mod mounts;
pub mod node_clustering;
pub mod node_files;
pub mod node_records;
pub mod observed;
pub mod plan;
pub mod preflight;
pub mod spanned;
pub mod spec;
pub mod sql;

/// Where the unit tests find the real WSO2 files: the same code as the integration tests'.
#[cfg(test)]
#[path = "../../../tests/it/common/wso2_files.rs"]
mod wso2_files;
