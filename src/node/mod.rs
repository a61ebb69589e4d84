//! The node side: the WSO2 files of each node. `conf` edits the three XML files in place (pure: text
//! in, text out, with the differences it made); `files` reads them, computes each node's edits and
//! writes them atomically; `cipher_text` is Secure Vault's properties file.

pub mod cipher_text;
pub mod clustering;
pub mod conf;
pub mod dbscripts;
pub mod files;
pub mod mounts;
pub mod plan;
pub mod wiring;
pub mod xattrs;
