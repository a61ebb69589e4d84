//! The Ansible collection (ansible/, `eidb.wso2`): built and installed offline with real ansible-core, and
//! the runbook of docs/ansible/ run as written against two inventory hosts (`ansible_connection=local`,
//! each node's EI_HOME its own folder): `--check --diff` shows the diffs and changes nothing, a run
//! changes, a second run changes nothing, drift on one host fails that host only, and no password shows
//! in any output.
//!
//! ansible-core comes from PyPI into a virtualenv in the cache (scripts/prerequisites.sh installs it;
//! `EIDB_ANSIBLE_BIN` names another folder holding `ansible-playbook`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cluster::{Cluster, Conf, ACCOUNT_PASSWORD};

const DRIVER: &str = "mysql-connector-java-5.1.49.jar";
const DATASOURCES: &str = "conf/datasources/master-datasources.xml";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder holding ansible-playbook and ansible-galaxy.
fn ansible_bin() -> PathBuf {
    let dir = match std::env::var_os("EIDB_ANSIBLE_BIN") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
            cache.join("eidb/ansible/bin")
        }
    };
    assert!(
        dir.join("ansible-playbook").is_file(),
        "ansible-core is not installed in {}: run scripts/prerequisites.sh (it makes that virtualenv \
         and installs ansible-core from PyPI), or set EIDB_ANSIBLE_BIN",
        dir.display()
    );
    dir
}

/// A place where the collection is built and installed, and ansible keeps its files.
struct Ansible {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Ansible {
    fn new() -> Ansible {
        let ansible = Ansible {
            dir: tempfile::tempdir().unwrap(),
            bin: ansible_bin(),
        };
        let built = ansible.run(
            "ansible-galaxy",
            &[
                "collection",
                "build",
                &repo().join("ansible").display().to_string(),
                "--output-path",
                &ansible.dir.path().display().to_string(),
            ],
        );
        assert!(built.0, "collection build:\n{}", built.1);
        let tarball = ansible.dir.path().join("eidb-wso2-0.1.0.tar.gz");
        let installed = ansible.run(
            "ansible-galaxy",
            &[
                "collection",
                "install",
                "--offline",
                &tarball.display().to_string(),
                "-p",
                &ansible.collections().display().to_string(),
            ],
        );
        assert!(installed.0, "collection install:\n{}", installed.1);
        ansible
    }

    fn collections(&self) -> PathBuf {
        self.dir.path().join("collections")
    }

    fn python(&self) -> PathBuf {
        self.bin.join("python3")
    }

    /// Run an ansible tool; returns success and everything it printed.
    fn run(&self, tool: &str, args: &[&str]) -> (bool, String) {
        let home = self.dir.path();
        let output = Command::new(self.bin.join(tool))
            .args(args)
            .current_dir(home)
            .env("ANSIBLE_CONFIG", home.join("none.cfg"))
            .env("ANSIBLE_HOME", home.join("ansible-home"))
            .env("ANSIBLE_LOCAL_TEMP", home.join("ansible-local"))
            .env("ANSIBLE_REMOTE_TEMP", home.join("ansible-remote"))
            .env("ANSIBLE_COLLECTIONS_PATH", self.collections())
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
            .env("ANSIBLE_HOST_KEY_CHECKING", "0")
            .env("LC_ALL", "C.UTF-8")
            // The passwords reach eidb only through the plays' `environment:`.
            .env_remove("EIDB_IT_ACCOUNT_PASSWORD")
            .env_remove("EIDB_IT_ADMIN_PASSWORD")
            .env_remove("RUST_LOG")
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    }
}

/// `changed` and `failed` of `host` in the play recap.
fn recap(output: &str, host: &str) -> (u32, u32) {
    let recap = output
        .split("PLAY RECAP")
        .nth(1)
        .unwrap_or_else(|| panic!("no play recap:\n{output}"));
    let line = recap
        .lines()
        .find(|l| l.split_whitespace().next() == Some(host))
        .unwrap_or_else(|| panic!("no recap line for {host}:\n{output}"));
    let count = |key: &str| -> u32 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{key}=")))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {key}= in {line}"))
    };
    (count("changed"), count("failed"))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// The test cluster's spec with the password variables the docs' playbook sets.
fn docs_spec(cluster: &Cluster) {
    let text = std::fs::read_to_string(&cluster.spec_path)
        .unwrap()
        .replace("EIDB_IT_ACCOUNT_PASSWORD", "EIDB_ACCOUNT_PASSWORD")
        .replace("EIDB_IT_ADMIN_PASSWORD", "EIDB_ADMIN_PASSWORD");
    std::fs::write(&cluster.spec_path, text).unwrap();
}

#[test]
fn the_docs_runbook_on_two_local_hosts() {
    let ansible = Ansible::new();
    let cluster = Cluster::new(2, Conf::Fixture).with_driver_jar(DRIVER);
    docs_spec(&cluster);
    let server = common::server();
    let python = ansible.python().display().to_string();
    let local = format!("ansible_connection=local ansible_python_interpreter={python}");
    let inventory = ansible.dir.path().join("inventory.ini");
    std::fs::write(
        &inventory,
        format!(
            "[dba]\ndba-host {local}\n\n[ei_nodes]\nei-node1 {local} eidb_node=node1\nei-node2 {local} eidb_node=node2\n\n\
             [all:vars]\neidb_config={}\neidb_path={}\n",
            cluster.spec_path.display(),
            common::eidb_bin().display()
        ),
    )
    .unwrap();
    // The vault's variables, in a file (never on the command line).
    let vars = ansible.dir.path().join("vault.json");
    std::fs::write(
        &vars,
        serde_json::json!({
            "eidb_admin_password": server.admin_password,
            "eidb_account_password": ACCOUNT_PASSWORD,
        })
        .to_string(),
    )
    .unwrap();
    let docs = repo().join("docs/ansible");
    let site = docs.join("site.yml").display().to_string();
    let (inventory, vars) = (
        inventory.display().to_string(),
        format!("@{}", vars.display()),
    );
    let playbook = |playbook: &str, extra: &[&str]| {
        let mut args = vec!["-v", "-i", &inventory, "-e", &vars, playbook];
        args.extend(extra);
        ansible.run("ansible-playbook", &args)
    };
    let mut everything = String::new();
    let files: Vec<PathBuf> = (0..2).map(|i| cluster.node_file(i, DATASOURCES)).collect();
    let before: Vec<Vec<u8>> = files.iter().map(|f| read(f)).collect();

    // --check --diff: the diffs, and nothing changed.
    let (ok, out) = playbook(&site, &["--check", "--diff", "--skip-tags", "verify"]);
    everything.push_str(&out);
    assert!(ok, "check run:\n{out}");
    for (i, node) in ["node1", "node2"].iter().enumerate() {
        let header = format!("{} (node {node}, now)", files[i].display());
        assert!(
            out.contains(&header),
            "the check run shows {node}'s datasources diff ({header}):\n{out}"
        );
    }
    assert!(out.contains("WSO2_REGISTRY_DB"), "{out}");
    for host in ["dba-host", "ei-node1", "ei-node2"] {
        assert_eq!(recap(&out, host), (1, 0), "{host} would change:\n{out}");
    }
    for (file, before) in files.iter().zip(&before) {
        assert_eq!(&read(file), before, "check mode changed {}", file.display());
    }
    futures_block(async {
        let pool = common::admin_pool().await;
        assert!(!common::check::database_exists(&pool, &cluster.user_store).await);
    });

    // The run: the DBA's step, each node's on its host, verify from the DBA's machine.
    let (ok, out) = playbook(&site, &[]);
    everything.push_str(&out);
    assert!(ok, "run:\n{out}");
    for host in ["dba-host", "ei-node1", "ei-node2"] {
        assert_eq!(recap(&out, host), (1, 0), "{host} changed:\n{out}");
    }
    for (file, before) in files.iter().zip(&before) {
        assert_ne!(&read(file), before, "{} was written", file.display());
    }

    // Again: nothing to do anywhere.
    let (ok, out) = playbook(&site, &[]);
    everything.push_str(&out);
    assert!(ok, "second run:\n{out}");
    for host in ["dba-host", "ei-node1", "ei-node2"] {
        assert_eq!(recap(&out, host), (0, 0), "{host} is idempotent:\n{out}");
    }

    // Drift on node2: its host fails, node1's does not.
    let text = String::from_utf8(read(&files[1])).unwrap();
    std::fs::write(
        &files[1],
        text.replacen(&cluster.shared_registry, "ELSEWHERE", 1),
    )
    .unwrap();
    let verify = docs.join("verify-nodes.yml").display().to_string();
    let (ok, out) = playbook(&verify, &[]);
    everything.push_str(&out);
    assert!(!ok, "drift fails the play:\n{out}");
    assert_eq!(recap(&out, "ei-node1"), (0, 0), "{out}");
    assert_eq!(recap(&out, "ei-node2"), (0, 1), "{out}");
    assert!(out.contains("datasource_url"), "{out}");

    assert!(
        !everything.contains(ACCOUNT_PASSWORD),
        "a password showed in ansible's output"
    );
    if !server.admin_password.is_empty() {
        assert!(!everything.contains(&server.admin_password));
    }
}

fn futures_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
