//! Command-line definitions only. There is deliberately no password flag: passwords come from the
//! environment, a file, or a prompt (see the spec's `password_env` / `password_file`).

pub mod generate;
pub mod init;
pub mod init_clustering;
pub mod lb_config;
pub mod logging;
pub mod node_runs;
pub mod report;
pub mod selection;
pub mod verify_homes;

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// The version `--version` prints: the crate's version and the git commit it was built from (build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("EIDB_GIT_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "eidb",
    version = VERSION,
    about = "Provision and verify the databases of a WSO2 Enterprise Integrator 6.x cluster",
    long_about = "eidb creates the WSO2 EI databases (user store, shared registry, one local registry per node) \
                  on MySQL or MariaDB, loads the Carbon dbscript into each, creates the account the nodes use, \
                  and edits each node's master-datasources.xml, user-mgt.xml and registry.xml to match - \
                  from one cluster spec, safely re-runnable, with --dry-run and verify."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// More log detail on stderr: -v info, -vv debug, -vvv trace. RUST_LOG overrides.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// Output format of the report on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Output::Human)]
    pub output: Output,

    /// Give up on one connection attempt (TCP, handshake, login) after this many seconds; with --wait
    /// eidb tries again until that wait is over.
    #[arg(long, global = true, value_name = "SECONDS", env = "EIDB_CONNECT_TIMEOUT",
          default_value_t = crate::timeouts::DEFAULT_CONNECT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout: u64,

    /// Give up when no server has answered for this many seconds (a statement in flight, a read): a
    /// server that accepted the connection and stopped answering. Default 300 for provision (a dbscript
    /// statement on a slow server), 60 for verify (a monitor must learn it could not check).
    #[arg(long, global = true, value_name = "SECONDS", env = "EIDB_STATEMENT_TIMEOUT",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub statement_timeout: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create what is missing and put back what drifted: databases, dbscript, account, grants, node files.
    #[command(after_help = PROVISION_EXIT_CODES)]
    Provision(ProvisionArgs),
    /// Report every difference between the spec and the cluster, changing nothing. Exit 1 on drift.
    #[command(after_help = VERIFY_EXIT_CODES)]
    Verify(VerifyArgs),
    /// Write the spec of a cluster that exists (built by hand or by another tool), read from its nodes'
    /// files, so that eidb adopts it as it is instead of rewriting it.
    Init(InitArgs),
    /// Print a shell completion script, e.g. `eidb completions bash > /etc/bash_completion.d/eidb`.
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `eidb man > eidb.1; man -l eidb.1`; or write every page with --dir.
    Man(ManArgs),
    /// Print the JSON Schema of the cluster spec, for editors (`#:schema` in cluster.toml; see the README).
    Schema,
    /// Write the load balancer's nginx VHost files (ei.http.conf, ei.https.conf, ui.ei.https.conf) for
    /// the spec's `[load_balancer]` and nodes; reads the spec only.
    LbConfig(LbConfigArgs),
}

#[derive(Debug, Args)]
pub struct LbConfigArgs {
    /// The cluster spec (TOML), with `[load_balancer]` and every node's `host`.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,

    /// The folder to write the files into (created when missing; files there are replaced); default:
    /// the current folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `eidb provision --help`: every exit code (README "Commands" lists the same).
const PROVISION_EXIT_CODES: &str = "\
Exit codes:
  0  done (or, with --dry-run, the plan was shown)
  1  failed: a conflict, a refused pre-flight check, the server refused or a change failed
  2  bad input: the spec, the command line, the dbscript or a node's files
  3  done, but destructive changes were held back (run again with --allow-destructive)
  4  with --dry-run --detailed-exitcode: changes are pending";

/// `eidb verify --help`: every exit code, as `diff` has them.
const VERIFY_EXIT_CODES: &str = "\
Exit codes:
  0  in sync
  1  drift (including what could not be checked for lack of a privilege: not_checked)
  2  trouble: bad input, the server unreachable or refusing the login, a file that cannot be read";

#[derive(Debug, Args)]
pub struct InitArgs {
    /// One per node: the EI installation folder (the one holding conf/ and lib/).
    #[arg(long = "ei-home", value_name = "DIR", required = true)]
    pub ei_home: Vec<PathBuf>,

    /// The admin URL to write into the spec (mysql://ADMIN@HOST:PORT); by default root at the host and
    /// port the nodes' URLs name. Given, init also reads the server (read only): the account's host and
    /// which dbscript variant built the databases.
    #[arg(long, value_name = "URL")]
    pub server_url: Option<String>,

    /// With --server-url: the environment variable holding the admin password (empty when neither is given).
    #[arg(
        long,
        value_name = "VAR",
        requires = "server_url",
        conflicts_with = "admin_password_file"
    )]
    pub admin_password_env: Option<String>,

    /// With --server-url: the file holding the admin password.
    #[arg(long, value_name = "FILE", requires = "server_url")]
    pub admin_password_file: Option<PathBuf>,

    /// Write the spec to this new file (never overwritten) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write eidb.1 and a page per subcommand (eidb-provision.1, ...) into this folder instead of
    /// printing eidb.1, e.g. --dir /usr/local/share/man/man1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct Target {
    /// The cluster spec (TOML).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,

    /// Only the database part (databases, dbscript, account, grants): for the DBA.
    #[arg(long, conflicts_with = "files_only")]
    pub db_only: bool,

    /// Only the node part (the three XML files of every node): for the node operator. Needs no admin access.
    #[arg(long)]
    pub files_only: bool,

    /// Only this node's files (repeatable): the node part of a run on the node's own host. The other
    /// nodes' EI_HOMEs are not read, and need not be on this machine. See docs/cluster-across-hosts.md.
    #[arg(long = "node", value_name = "NAME", conflicts_with = "db_only")]
    pub node: Vec<String>,

    /// Keep retrying to connect for up to this many seconds while the server starts.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait: u64,

    /// Test hook: treat the server as if `@@version_compile_os` were this (e.g. Win64).
    #[arg(long, hide = true, value_name = "OS")]
    pub server_os: Option<String>,
}

#[derive(Debug, Args)]
pub struct ProvisionArgs {
    #[command(flatten)]
    pub target: Target,

    /// Print the plan (SQL with passwords masked, unified diffs of files) and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// With --dry-run: exit 4 when changes are pending (0 when there is nothing to do), as
    /// `terraform plan -detailed-exitcode` does, so a pipeline can tell the two apart.
    #[arg(long, requires = "dry_run")]
    pub detailed_exitcode: bool,

    /// How many databases to load at once (each on its own connection).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub parallel: usize,

    /// How long to wait for another eidb run on the same cluster to finish before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub lock_wait: u64,

    /// Also apply destructive changes: revokes, password or plugin resets of existing accounts, dropping
    /// account rows an earlier spec created, pointing a node at another database. Without it provision
    /// applies the additive changes, lists the destructive ones as held back and exits 3.
    #[arg(long)]
    pub allow_destructive: bool,

    /// Run a dbscript again on databases where a different version of it was applied (the ledger
    /// records each script's SHA-256). Only statements whose objects are missing run.
    #[arg(long)]
    pub reapply_changed_script: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The cluster spec (TOML). Without one, name the nodes with --ei-home.
    #[arg(
        long,
        short = 'c',
        value_name = "FILE",
        required_unless_present = "ei_home",
        conflicts_with = "ei_home"
    )]
    pub config: Option<PathBuf>,

    /// Check an existing cluster without a spec: one --ei-home per node (the folder holding conf/ and lib/).
    /// The nodes' files are checked for consistency and against each other.
    #[arg(long = "ei-home", value_name = "DIR")]
    pub ei_home: Vec<PathBuf>,

    /// With --ei-home: also check on this server (mysql://ADMIN@HOST:PORT) that the databases and accounts
    /// the nodes name exist and that the nodes' credentials log in. The password comes from
    /// --admin-password-env or --admin-password-file (or is empty).
    #[arg(long, value_name = "URL", requires = "ei_home")]
    pub server_url: Option<String>,

    /// With --server-url: the environment variable holding the admin password.
    #[arg(
        long,
        value_name = "VAR",
        requires = "server_url",
        conflicts_with = "admin_password_file"
    )]
    pub admin_password_env: Option<String>,

    /// With --server-url: the file holding the admin password.
    #[arg(long, value_name = "FILE", requires = "server_url")]
    pub admin_password_file: Option<PathBuf>,

    /// Only the database part.
    #[arg(long, conflicts_with = "files_only", requires = "config")]
    pub db_only: bool,

    /// Only the node files.
    #[arg(long, requires = "config")]
    pub files_only: bool,

    /// Only this node's files (repeatable), on the node's own host: the other nodes' EI_HOMEs are not
    /// read. Without any EI_HOME on this machine, verify reads what each node recorded in the database.
    #[arg(
        long = "node",
        value_name = "NAME",
        requires = "config",
        conflicts_with = "db_only"
    )]
    pub node: Vec<String>,

    /// Keep retrying to connect for up to this many seconds while the server starts.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait: u64,

    /// Test hook: treat the server as if `@@version_compile_os` were this (e.g. Win64).
    #[arg(long, hide = true, value_name = "OS")]
    pub server_os: Option<String>,
}

impl VerifyArgs {
    /// The spec-driven form, when a spec was given.
    pub fn target(&self) -> Option<Target> {
        Some(Target {
            config: self.config.clone()?,
            db_only: self.db_only,
            files_only: self.files_only,
            node: self.node.clone(),
            wait: self.wait,
            server_os: self.server_os.clone(),
        })
    }
}
