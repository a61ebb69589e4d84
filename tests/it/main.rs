//! eidb's integration tests: one test binary (linked once, one throwaway server shared by the tests that
//! need no server of their own), a module per group. Select a group by its module path:
//! `cargo test --locked --test it galera::` (or `cargo nextest run -E 'test(/^galera::/)'`).
//!
//! Tests that change a server beyond their own databases and accounts (stop, kill or freeze it, change
//! its global settings, count its connections) take a server of their own (`TestServer::dedicated`).
//! The tests that need root are ignored with `root group: ...` as the reason (`common::require_root`).

mod common;

mod accounts;
mod adopt;
mod ansible;
mod bad_input;
mod check_codes;
mod cluster_hosts;
mod clustering;
mod column_grants;
mod connections;
mod docs;
mod docs_run;
mod faults;
mod file_acls;
mod file_faults;
mod galera;
mod generated;
mod held_together;
mod kept_columns;
mod layout;
mod lb_config;
mod masking;
mod model;
mod mounts;
mod narrowing_columns;
mod node_databases;
mod nodes;
mod provision;
mod secrets;
mod secrets_at_rest;
mod servers_as_found;
mod shared_server;
mod spec_schema;
mod spec_validation;
mod tls;
mod unanswered;
mod verify;
mod verify_homes;
mod wso2_files;
