//! Shared helpers for the integration tests: a throwaway MySQL-compatible server, unique names,
//! and the paths of the built binary and of the real WSO2 files.
//!
//! Each test binary gets one server, started on first use by [`server()`] and shared by all its tests
//! (they run in parallel threads, so give every database and account a [`unique_name`]). The server
//! lives in a fresh temp folder on a free loopback port; a watchdog process kills it and removes the
//! folder when the test process ends, however it ends (even `kill -9`). Set `EIDB_TEST_MYSQL_URL`
//! (e.g. `mysql://root:eidb-root@127.0.0.1:3307`, see docker-compose.yml) to use a running server
//! instead. Fault tests that stop or pause a server should take their own: [`TestServer::dedicated`].
//!
//! Use it from a test file with `mod common;`.

pub mod check;
pub mod cluster;
pub mod galera;
mod local;
pub mod proxy;
mod server;
pub mod spec_schema;
mod watchdog;
pub mod wso2_files;

#[allow(unused_imports)] // re-exported for the tests that name them
pub use local::Setup;
#[allow(unused_imports)] // re-exported for the tests that name them
pub use server::{Flavour, ServerKind, TestServer};

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Points the tests at an existing server instead of starting one: `mysql://USER:PASSWORD@HOST:PORT`.
pub const TEST_URL_ENV: &str = "EIDB_TEST_MYSQL_URL";

/// Names from [`unique_name`] fit in a MySQL account name (at most 32 characters), and so in a
/// database name (64) too.
pub const MAX_UNIQUE_NAME_LEN: usize = 32;

/// The server of this test process: started on first call (or taken from `EIDB_TEST_MYSQL_URL`),
/// then shared. Panics with instructions when no server can be had.
///
/// The first call blocks for about a second while the server starts; from async code prefer
/// [`admin_pool`], which does that off the runtime's thread.
pub fn server() -> &'static TestServer {
    static SERVER: OnceLock<Result<TestServer, String>> = OnceLock::new();
    // The outcome is kept even when it is an error, so that every test fails at once with the same
    // message instead of each one trying (and waiting) again.
    match SERVER.get_or_init(TestServer::for_this_process) {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

/// A small connection pool to [`server()`] as its administrator, for checking results through SQL
/// independently of eidb. Each call makes a new pool: a pool belongs to the runtime that made it,
/// and every `#[tokio::test]` has its own runtime.
pub async fn admin_pool() -> sqlx::MySqlPool {
    let server = match tokio::task::spawn_blocking(server).await {
        Ok(server) => server,
        Err(join_error) => match join_error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(join_error) => panic!("starting the test server failed: {join_error}"),
        },
    };
    server.admin_pool().await
}

/// A name no other test, here or in another test process, uses at the same time: the prefix
/// (uppercased, anything but `A-Z 0-9 _` turned into `_`, shortened if need be), a counter and a
/// tag of this process. At most [`MAX_UNIQUE_NAME_LEN`] characters of `A-Z`, `0-9` and `_`.
///
/// `unique_name("reg_db")` gives e.g. `REG_DB_7_1MK3Q0ZTW`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("_{}_{}", base36(u64::from(count)), process_tag());

    let mut name: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .take(MAX_UNIQUE_NAME_LEN.saturating_sub(suffix.len()))
        .collect();
    if name.is_empty() {
        name.push('T');
    }
    name.push_str(&suffix);
    name
}

/// The pid tells apart processes running now; the clock tells this one apart from an earlier one
/// that had the same pid and left its names behind on a long-lived server.
fn process_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let clock = (millis % 36u128.pow(4)) as u64;
        format!(
            "{}{:0>4}",
            base36(u64::from(std::process::id())),
            base36(clock)
        )
    })
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut digits = Vec::new();
    loop {
        digits.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).expect("base-36 digits are ASCII")
}

/// The command that runs the root group (the tests marked `#[ignore = "root group: ..."]`).
pub const ROOT_GROUP_COMMAND: &str = "sudo -E env \"PATH=$PATH\" cargo test --locked -- --ignored";

/// The first line of every test of the root group: tests that need root (giving files to other
/// users, the immutable flag, running eidb as another user, mounting a tmpfs). They are
/// `#[ignore = "root group: ..."]`, so that `cargo test` as anyone reports them as not run, with how to
/// run them; run without root (`-- --ignored`) they fail here, loudly, instead of half-way through.
pub fn require_root(why: &str) {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert!(
        euid == 0,
        "this test is in the root group: it needs root ({why}) and runs as uid {euid}; \
         run the root group as root: {ROOT_GROUP_COMMAND}"
    );
}

/// The eidb binary cargo built for these tests.
pub fn eidb_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_eidb"))
}

/// The real WSO2 EI 6.x files (`conf/`, `dbscripts/`): from `EIDB_WSO2_FILES`, `../shared/wso2-ei` or
/// the cache `scripts/fetch-wso2-files.sh` fills (see [`wso2_files`]). Panics saying how to get them.
pub fn shared_wso2_dir() -> PathBuf {
    wso2_files::ei6_dir()
}
