//! The core: the spec's desired state, the plan against what was observed, and drift said as findings.
//! Pure: nothing here reads a file, a variable or a server.

pub mod check;
pub mod clustering;
pub mod dbscript;
pub mod desired;
pub mod drift;
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
