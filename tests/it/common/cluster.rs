//! A WSO2 cluster for a test: temp EI_HOME folders (from the project's fixtures or the real WSO2 files),
//! a spec with names unique to the test, and a way to run the built `eidb` on it as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::{eidb_bin, server, shared_wso2_dir, unique_name, TestServer};

/// The account password every test cluster uses: every character the issue names, to prove quoting.
pub const ACCOUNT_PASSWORD: &str = r#"Pw'"\;%@&<>-x9"#;
const ACCOUNT_PASSWORD_ENV: &str = "EIDB_IT_ACCOUNT_PASSWORD";
const ADMIN_PASSWORD_ENV: &str = "EIDB_IT_ADMIN_PASSWORD";
/// eidb's test hook for shorter built-in waits (src/timeouts.rs; debug builds only).
pub const TEST_TIMEOUTS_ENV: &str = "EIDB_TEST_TIMEOUTS";

/// Where a test node's `conf/` comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Conf {
    /// tests/fixtures/ei-home (the project's own look-alike files).
    Fixture,
    /// The real WSO2 files' conf/ (found by tests/it/common/wso2_files.rs), copied at test time.
    RealWso2,
}

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub spec_path: PathBuf,
    pub user_store: String,
    pub shared_registry: String,
    pub local_prefix: String,
    pub account: String,
    pub nodes: Vec<PathBuf>,
    /// Extra TOML appended to the spec (sections such as `[jdbc]`).
    extra: String,
    databases_extra: String,
    dbscripts: String,
    /// The server the spec points at when it is not the shared [`server()`]: see [`Cluster::new_on`].
    bound: Option<Bound>,
    /// Several servers (`[server] urls = [...]`, e.g. Galera members), in order; empty: one `url`.
    servers: Vec<(String, u16)>,
    /// Extra keys for `[server]`, e.g. `jdbc_hosts = [...]`.
    server_extra: String,
    /// eidb's own waits shortened for this cluster's runs (`EIDB_TEST_TIMEOUTS`): see
    /// [`Cluster::with_test_timeouts`].
    test_timeouts: Option<String>,
}

/// Where and as whom a cluster bound to a dedicated server logs in.
#[derive(Clone)]
struct Bound {
    admin_user: String,
    admin_password: String,
    host: String,
    port: u16,
}

impl Cluster {
    /// `nodes` nodes with the given conf, loading the project's splitter fixture script.
    pub fn new(nodes: usize, conf: Conf) -> Cluster {
        Cluster::build(nodes, conf, None)
    }

    /// Like [`Cluster::new`], but the spec (and the admin password given to eidb) points at `server`,
    /// e.g. a [`TestServer::dedicated`] one that the test stops and starts, instead of the shared one.
    pub fn new_on(server: &TestServer, nodes: usize, conf: Conf) -> Cluster {
        Cluster::build(
            nodes,
            conf,
            Some(Bound {
                admin_user: server.admin_user.clone(),
                admin_password: server.admin_password.clone(),
                host: server.host.clone(),
                port: server.port,
            }),
        )
    }

    /// Like [`Cluster::new_on`], but the spec lists several servers as `[server] urls = [...]` (for
    /// example the members of a Galera cluster), in this order; all are logged in to as `admin_user`.
    /// The first is where the admin connection is checked from the tests' side.
    pub fn new_on_servers(
        admin_user: &str,
        admin_password: &str,
        servers: &[(String, u16)],
        nodes: usize,
        conf: Conf,
    ) -> Cluster {
        assert!(
            !servers.is_empty(),
            "new_on_servers needs at least one server"
        );
        let (host, port) = servers[0].clone();
        let mut cluster = Cluster::build(
            nodes,
            conf,
            Some(Bound {
                admin_user: admin_user.to_string(),
                admin_password: admin_password.to_string(),
                host,
                port,
            }),
        );
        cluster.servers = servers.to_vec();
        cluster.write_spec();
        cluster
    }

    fn build(nodes: usize, conf: Conf, bound: Option<Bound>) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = fixture_path("dbscripts/splitter-cases.sql");
        let mut cluster = Cluster {
            spec_path: dir.path().join("cluster.toml"),
            user_store: unique_name("UM"),
            shared_registry: unique_name("REG"),
            local_prefix: unique_name("LOC"),
            account: unique_name("ra").to_lowercase(),
            nodes: Vec::new(),
            extra: String::new(),
            databases_extra: String::new(),
            dbscripts: format!("file = {:?}", script.display().to_string()),
            bound,
            servers: Vec::new(),
            server_extra: String::new(),
            test_timeouts: None,
            dir,
        };
        for i in 1..=nodes {
            let home = cluster.dir.path().join(format!("node{i}/wso2ei-6.6.0"));
            let source = match conf {
                Conf::Fixture => fixture_path("ei-home/conf"),
                Conf::RealWso2 => shared_wso2_dir().join("conf"),
            };
            copy_tree(&source, &home.join("conf"));
            std::fs::create_dir_all(home.join("lib")).unwrap();
            cluster.nodes.push(home);
        }
        cluster.write_spec();
        cluster
    }

    /// Use the real WSO2 dbscripts folder (copied into the first node's EI_HOME at test time).
    pub fn with_real_dbscripts(mut self) -> Cluster {
        let target = self.dir.path().join("ei-dist/dbscripts");
        copy_tree(&shared_wso2_dir().join("dbscripts"), &target);
        self.dbscripts = format!("dir = {:?}", target.display().to_string());
        self.write_spec();
        self
    }

    pub fn with_script(mut self, script: &Path) -> Cluster {
        self.dbscripts = format!("file = {:?}", script.display().to_string());
        self.write_spec();
        self
    }

    /// Shorten eidb's own waits in every run of this cluster, so that the test does not wait out a
    /// production wait: `name=seconds,...` as `EIDB_TEST_TIMEOUTS` takes it (src/timeouts.rs), e.g.
    /// `reconnect=6` for a server that went away for good. Debug builds (the tests') only.
    pub fn with_test_timeouts(mut self, timeouts: &str) -> Cluster {
        self.test_timeouts = Some(timeouts.to_string());
        self
    }

    /// Extra keys for `[databases]`, e.g. `charset = "latin1"`.
    pub fn with_databases(mut self, keys: &str) -> Cluster {
        self.databases_extra = keys.to_string();
        self.write_spec();
        self
    }

    /// Extra sections appended to the spec.
    pub fn with_extra(mut self, toml: &str) -> Cluster {
        self.extra = toml.to_string();
        self.write_spec();
        self
    }

    /// Extra keys for `[server]`, e.g. `jdbc_hosts = ["h1:3306", "h2:3306"]`.
    pub fn with_server_keys(mut self, keys: &str) -> Cluster {
        self.server_extra = keys.to_string();
        if !self.server_extra.is_empty() && !self.server_extra.ends_with('\n') {
            self.server_extra.push('\n');
        }
        self.write_spec();
        self
    }

    /// Writes a copy of the spec that lists `servers` (as `urls`, in this order) instead of the
    /// cluster's own, next to it as `file_name`, and returns its path; run it with [`Cluster::eidb_with`].
    /// For two runs on the same cluster that start from different servers.
    pub fn spec_variant(&self, file_name: &str, servers: &[(String, u16)]) -> PathBuf {
        let path = self.dir.path().join(file_name);
        std::fs::write(&path, self.spec_text_for(servers)).unwrap();
        path
    }

    /// Put a Connector/J jar (an empty file with the right name) in every node's lib/.
    pub fn with_driver_jar(self, file_name: &str) -> Cluster {
        for home in &self.nodes {
            std::fs::write(home.join("lib").join(file_name), b"").unwrap();
        }
        self
    }

    pub fn spec_text(&self) -> String {
        self.spec_text_for(&self.servers)
    }

    fn spec_text_for(&self, servers: &[(String, u16)]) -> String {
        let server = self.target();
        let server_urls = if servers.is_empty() {
            format!(
                "url = \"mysql://{}@{}:{}\"",
                server.admin_user, server.host, server.port
            )
        } else {
            let urls: Vec<String> = servers
                .iter()
                .map(|(host, port)| format!("\"mysql://{}@{host}:{port}\"", server.admin_user))
                .collect();
            format!("urls = [{}]", urls.join(", "))
        };
        let admin_password = if server.admin_password.is_empty() {
            String::new()
        } else {
            format!("password_env = \"{ADMIN_PASSWORD_ENV}\"\n")
        };
        let nodes: String = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, home)| {
                format!(
                    "\n[[nodes]]\nname = \"node{}\"\nei_home = {:?}\n",
                    i + 1,
                    home.display().to_string()
                )
            })
            .collect();
        format!(
            "[server]\n{server_urls}\n{admin_password}{server_extra}\n\
             [user]\nname = \"{account}\"\npassword_env = \"{ACCOUNT_PASSWORD_ENV}\"\n\n\
             [databases]\nuser_store = \"{us}\"\nshared_registry = \"{sr}\"\nlocal_registry_prefix = \"{lp}\"\n{dbx}\n\n\
             [dbscripts]\n{scripts}\n{extra}\n{nodes}",
            server_extra = self.server_extra,
            account = self.account,
            us = self.user_store,
            sr = self.shared_registry,
            lp = self.local_prefix,
            dbx = self.databases_extra,
            scripts = self.dbscripts,
            extra = self.extra,
        )
    }

    /// The server the spec points at.
    fn target(&self) -> Bound {
        self.bound.clone().unwrap_or_else(|| {
            let server = server();
            Bound {
                admin_user: server.admin_user.clone(),
                admin_password: server.admin_password.clone(),
                host: server.host.clone(),
                port: server.port,
            }
        })
    }

    fn write_spec(&self) {
        std::fs::write(&self.spec_path, self.spec_text()).unwrap();
    }

    /// The databases eidb should create, in its order.
    pub fn databases(&self) -> Vec<String> {
        let mut names = vec![self.user_store.clone(), self.shared_registry.clone()];
        names.extend((1..=self.nodes.len()).map(|i| format!("{}{i}", self.local_prefix)));
        names
    }

    /// Run eidb with these arguments (the spec is added as `--config`), passwords in the environment.
    pub fn eidb(&self, args: &[&str]) -> Output {
        self.eidb_with(&self.spec_path, args)
    }

    /// Like [`Cluster::eidb`], with another spec (e.g. from [`Cluster::spec_variant`]).
    pub fn eidb_with(&self, spec: &Path, args: &[&str]) -> Output {
        let output = self.eidb_command(spec, args).output().expect("run eidb");
        super::spec_schema::assert_schema_agrees(spec, &output);
        output
    }

    /// The eidb command for `spec` with these arguments and the passwords in its environment, for
    /// tests that start it and watch it run (e.g. `.stderr(Stdio::piped()).spawn()`).
    pub fn eidb_command(&self, spec: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(eidb_bin());
        command.args(args).arg("--config").arg(spec);
        self.environment(&mut command);
        command
    }

    pub fn environment(&self, command: &mut Command) {
        command
            .env(ACCOUNT_PASSWORD_ENV, ACCOUNT_PASSWORD)
            .env(ADMIN_PASSWORD_ENV, &self.target().admin_password)
            .env_remove("RUST_LOG")
            // The limits a tester's shell may have set do not change what the tests see.
            .env_remove("EIDB_CONNECT_TIMEOUT")
            .env_remove("EIDB_STATEMENT_TIMEOUT")
            .env_remove(TEST_TIMEOUTS_ENV);
        if let Some(timeouts) = &self.test_timeouts {
            command.env(TEST_TIMEOUTS_ENV, timeouts);
        }
    }

    /// Run with `--output json`; returns the exit code and the parsed report.
    pub fn eidb_json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let output = self.eidb(&all);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "eidb printed no JSON report ({e}):\nstdout: {stdout}\nstderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.code().unwrap_or(-1), report)
    }

    /// `eidb verify --ei-home ...` on this cluster's nodes (no spec), with `--server-url` pointing at the
    /// cluster's server when `with_server`; returns the exit code and the JSON report.
    pub fn verify_homes_json(&self, with_server: bool) -> (i32, Value) {
        let mut command = Command::new(eidb_bin());
        command.arg("verify");
        for home in &self.nodes {
            command.arg("--ei-home").arg(home);
        }
        if with_server {
            let server = self.target();
            command.args([
                "--server-url",
                &format!(
                    "mysql://{}@{}:{}",
                    server.admin_user, server.host, server.port
                ),
            ]);
            if !server.admin_password.is_empty() {
                command.args(["--admin-password-env", ADMIN_PASSWORD_ENV]);
            }
        }
        command.args(["--output", "json"]);
        self.environment(&mut command);
        let output = command.output().expect("run eidb");
        let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.code().unwrap_or(-1), report)
    }

    /// Run a command that must succeed; returns stdout. Panics with everything eidb printed otherwise.
    pub fn eidb_ok(&self, args: &[&str]) -> String {
        let output = self.eidb(args);
        assert_success(&output, args);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Log in as the account to each database with the spec's password, as a node would.
    pub async fn assert_account_logs_in(&self) {
        let server = self.target();
        for db in self.databases() {
            let options = sqlx::mysql::MySqlConnectOptions::new()
                .host(&server.host)
                .port(server.port)
                .username(&self.account)
                .password(ACCOUNT_PASSWORD)
                .database(&db);
            let mut conn = sqlx::ConnectOptions::connect(&options)
                .await
                .unwrap_or_else(|e| panic!("login to {db}: {e}"));
            sqlx::raw_sql("SELECT COUNT(*) FROM information_schema.TABLES")
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }

    /// Neither a database of the cluster nor its account exists (a refused run changed nothing).
    pub async fn assert_nothing_created(&self) {
        let pool = super::admin_pool().await;
        for db in self.databases() {
            assert!(
                !super::check::database_exists(&pool, &db).await,
                "database {db} must not have been created"
            );
        }
        assert!(
            !super::check::account_exists(&pool, &self.account).await,
            "account {} must not have been created",
            self.account
        );
    }

    pub fn node_file(&self, node: usize, relative: &str) -> PathBuf {
        self.nodes[node].join(relative)
    }

    /// Set the mode of every file under every node's `conf/` (e.g. `0o644`). The real WSO2 files in
    /// ../shared are read-only (0444) and `copy_tree` keeps that, so copies of them start read-only,
    /// which eidb rightly refuses to edit; an EI distribution ships them writable by their owner.
    pub fn set_conf_mode(&self, mode: u32) {
        for home in &self.nodes {
            set_mode_tree(&home.join("conf"), mode);
        }
    }
}

pub fn assert_success(output: &Output, what: &[&str]) {
    assert!(
        output.status.success(),
        "eidb {what:?} exited {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn fixture_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()))
    {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Set the mode of every file (not folder) under `dir`.
pub fn set_mode_tree(dir: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            set_mode_tree(&entry.path(), mode);
        } else {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}
