//! The server side: connecting, reading what exists, applying DDL and grants.

pub mod apply;
pub mod codes;
pub mod columns;
pub mod connect;
pub mod facts;
pub mod grants;
pub mod inspect;
pub mod ledger;
pub mod members;
pub mod mounts;
pub mod node_records;
pub mod preflight;
pub mod retry;
