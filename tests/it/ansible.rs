//! The Ansible collection (ansible/, `eidb.wso2`): built and installed offline with real ansible-core, and
//! the runbook of docs/ansible/ run as written against two inventory hosts (`ansible_connection=local`,
//! each node's EI_HOME its own folder): `--check --diff` shows the diffs and changes nothing, a run
//! changes, a second run changes nothing, drift on one host fails that host only, and no password shows
//! in any output.
//!
//! ansible-core comes from PyPI into a virtualenv in the cache (scripts/prerequisites.sh installs it;
//! `EIDB_ANSIBLE_BIN` names another folder holding `ansible-playbook`).

use crate::common;

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
            .env("ANSIBLE_SSH_CONTROL_PATH_DIR", home.join("cp"))
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

    // A new account password: resetting an existing account's is destructive, so the DBA's step holds it
    // back (eidb exit 3): the task does not fail, it warns and returns what was held back.
    let new_password = "N3w'pass\\word%x";
    let vars_new = ansible.dir.path().join("vault-new.json");
    std::fs::write(
        &vars_new,
        serde_json::json!({
            "eidb_admin_password": server.admin_password,
            "eidb_account_password": new_password,
        })
        .to_string(),
    )
    .unwrap();
    let vars_new = format!("@{}", vars_new.display());
    let args = [
        "-v",
        "-i",
        &inventory,
        "-e",
        &vars_new,
        &site,
        "--limit",
        "dba",
        "--skip-tags",
        "verify",
    ];
    let (ok, out) = ansible.run("ansible-playbook", &args);
    assert!(ok, "held back is not a failure:\n{out}");
    assert!(out.contains("held back (destructive"), "warned:\n{out}");
    assert!(out.contains("\"held_back\": ["), "{out}");
    assert_eq!(recap(&out, "dba-host"), (0, 0), "{out}");
    assert!(!out.contains(new_password), "the new password showed");

    // The modules' documentation parses (ansible-doc).
    for module in ["eidb.wso2.provision", "eidb.wso2.verify"] {
        let (ok, out) = ansible.run("ansible-doc", &[module]);
        assert!(ok && !out.contains("ERROR"), "ansible-doc {module}:\n{out}");
    }

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

/// Two hosts over real SSH: an sshd in each of two network namespaces, each in a mount namespace of its
/// own where the one EI_HOME path of the spec shows that host's node. The addresses are a private /30 per
/// host that exists only inside these namespaces and their veth peers; everything is removed on drop.
struct SshHosts {
    dir: tempfile::TempDir,
    namespaces: Vec<String>,
    root_links: Vec<String>,
    sshds: Vec<std::process::Child>,
    /// The root namespace's address on the first pair: the database is reached there from both hosts.
    gateway: String,
    /// Each host's address.
    addresses: Vec<String>,
}

fn sh(what: &str, args: &[&str]) {
    let output = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        output.status.success(),
        "{what}: {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl SshHosts {
    fn new() -> SshHosts {
        let pid = std::process::id();
        // A /24 of 10.231/16 that no interface here uses yet, two /30s in it.
        let used = String::from_utf8(
            Command::new("ip")
                .args(["-o", "addr"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let octet = (0..200)
            .map(|i| (pid + i) % 200 + 20)
            .find(|o| !used.contains(&format!("10.231.{o}.")))
            .expect("a free 10.231.x.0/24");
        let mut hosts = SshHosts {
            dir: tempfile::tempdir().unwrap(),
            namespaces: Vec::new(),
            root_links: Vec::new(),
            sshds: Vec::new(),
            gateway: format!("10.231.{octet}.1"),
            addresses: Vec::new(),
        };
        for i in 0..2u32 {
            let ns = format!("eidb-{pid}-h{}", i + 1);
            let (outside, inside) = (format!("eo{pid}{i}"), format!("ei{pid}{i}"));
            let (outside, inside) = (tail(&outside, 15), tail(&inside, 15));
            let (gw, addr) = (
                format!("10.231.{octet}.{}", 4 * i + 1),
                format!("10.231.{octet}.{}", 4 * i + 2),
            );
            sh("netns", &["ip", "netns", "add", &ns]);
            hosts.namespaces.push(ns.clone());
            sh(
                "veth",
                &[
                    "ip", "link", "add", &outside, "type", "veth", "peer", "name", &inside,
                ],
            );
            hosts.root_links.push(outside.clone());
            sh("veth", &["ip", "link", "set", &inside, "netns", &ns]);
            sh(
                "addr",
                &["ip", "addr", "add", &format!("{gw}/30"), "dev", &outside],
            );
            sh("up", &["ip", "link", "set", &outside, "up"]);
            let in_ns = |args: &[&str]| {
                let mut all = vec!["ip", "netns", "exec", &ns];
                all.extend(args);
                sh("in namespace", &all);
            };
            in_ns(&["ip", "addr", "add", &format!("{addr}/30"), "dev", &inside]);
            in_ns(&["ip", "link", "set", &inside, "up"]);
            in_ns(&["ip", "link", "set", "lo", "up"]);
            in_ns(&["ip", "route", "add", "default", "via", &gw]);
            hosts.addresses.push(addr);
        }
        hosts
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Start each host's sshd, with `roots[i]` bound over `mount_point` in its mount namespace.
    fn start(&mut self, roots: &[PathBuf], mount_point: &Path) {
        let keygen = |file: &Path| {
            sh(
                "ssh-keygen",
                &[
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-f",
                    &file.display().to_string(),
                ],
            )
        };
        keygen(&self.path("id"));
        std::fs::copy(self.path("id.pub"), self.path("authorized_keys")).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        for (i, root) in roots.iter().enumerate() {
            let host_key = self.path(&format!("host{i}_key"));
            keygen(&host_key);
            let config = self.path(&format!("sshd{i}.conf"));
            std::fs::write(
                &config,
                format!(
                    "ListenAddress {}\nPort 22\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\nStrictModes no\n\
                     UsePAM no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                     Subsystem sftp internal-sftp\n",
                    self.addresses[i],
                    host_key.display(),
                    self.path("authorized_keys").display(),
                    self.path(&format!("sshd{i}.pid")).display(),
                ),
            )
            .unwrap();
            let script = format!(
                "mount --bind '{}' '{}' && exec /usr/sbin/sshd -D -e -f '{}'",
                root.display(),
                mount_point.display(),
                config.display()
            );
            let log = std::fs::File::create(self.path(&format!("sshd{i}.log"))).unwrap();
            let child = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &self.namespaces[i],
                    "unshare",
                    "-m",
                    "--propagation",
                    "private",
                ])
                .args(["sh", "-c", &script])
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            self.sshds.push(child);
        }
        let mut client = String::new();
        for (i, addr) in self.addresses.iter().enumerate() {
            client.push_str(&format!("Host eidb-host{}\n  HostName {addr}\n", i + 1));
        }
        client.push_str(&format!(
            "Host *\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile /dev/null\n  \
             StrictHostKeyChecking no\n  LogLevel ERROR\n  ConnectTimeout 10\n",
            self.path("id").display()
        ));
        std::fs::write(self.path("ssh_config"), client).unwrap();
        // Both answer before the plays start.
        for (i, _) in self.addresses.iter().enumerate() {
            let host = format!("eidb-host{}", i + 1);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            loop {
                let probe = Command::new("ssh")
                    .args([
                        "-F",
                        &self.path("ssh_config").display().to_string(),
                        &host,
                        "true",
                    ])
                    .output()
                    .unwrap();
                if probe.status.success() {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "sshd of {host} does not answer: {}\n{}",
                    String::from_utf8_lossy(&probe.stderr),
                    std::fs::read_to_string(self.path(&format!("sshd{i}.log"))).unwrap_or_default()
                );
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
    }
}

fn tail(s: &str, n: usize) -> String {
    s.chars()
        .rev()
        .take(n)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

impl Drop for SshHosts {
    fn drop(&mut self) {
        for child in &mut self.sshds {
            let _ = child.kill();
            let _ = child.wait();
        }
        // What is left in the namespaces is this test's: the SSH sessions of ansible's persistent
        // connections, whose masters then close too.
        for ns in &self.namespaces {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").arg(pid).output();
                }
            }
        }
        for link in &self.root_links {
            let _ = Command::new("ip").args(["link", "del", link]).output();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

#[test]
#[ignore = "root group: needs root; run as root: cargo test --locked -- --ignored (README, Tests)"]
fn the_docs_runbook_on_two_ssh_hosts_with_the_same_ei_home_path() {
    common::require_root("it makes network and mount namespaces and starts sshd in them");
    let ansible = Ansible::new();
    let mut hosts = SshHosts::new();
    // The database listens on loopback and on the root namespace's end of the first pair, where both
    // hosts reach it (their default route).
    let server = common::TestServer::dedicated_with(&[format!(
        "--bind-address=127.0.0.1,{}",
        hosts.gateway
    )]);
    let cluster = Cluster::new_on(&server, 2, Conf::Fixture)
        .with_driver_jar(DRIVER)
        .with_server_keys(&format!(
            "jdbc_hosts = [\"{}:{}\"]",
            hosts.gateway, server.port
        ));
    // One ei_home path for both nodes: each host's mount namespace shows its own node there; the DBA's
    // machine (this one, outside) holds none.
    let mount_point = cluster.dir.path().join("host");
    std::fs::create_dir_all(&mount_point).unwrap();
    let shared_home = mount_point.join("wso2ei-6.6.0");
    docs_spec(&cluster);
    let mut text = std::fs::read_to_string(&cluster.spec_path).unwrap();
    for home in &cluster.nodes {
        text = text.replace(
            &home.display().to_string(),
            &shared_home.display().to_string(),
        );
    }
    std::fs::write(&cluster.spec_path, text).unwrap();
    let roots: Vec<PathBuf> = (1..=2)
        .map(|i| cluster.dir.path().join(format!("node{i}")))
        .collect();
    hosts.start(&roots, &mount_point);

    let python = ansible.python().display().to_string();
    let inventory = ansible.dir.path().join("inventory.ini");
    std::fs::write(
        &inventory,
        format!(
            "[dba]\ndba-host ansible_connection=local ansible_python_interpreter={python}\n\n\
             [ei_nodes]\nei-node1 ansible_host=eidb-host1 eidb_node=node1\nei-node2 ansible_host=eidb-host2 eidb_node=node2\n\n\
             [ei_nodes:vars]\nansible_connection=ssh\nansible_user=root\nansible_python_interpreter={python}\n\
             ansible_ssh_common_args='-F {}'\n\n\
             [all:vars]\neidb_config={}\neidb_path={}\n",
            hosts.path("ssh_config").display(),
            cluster.spec_path.display(),
            common::eidb_bin().display()
        ),
    )
    .unwrap();
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
    let files: Vec<PathBuf> = (0..2).map(|i| cluster.node_file(i, DATASOURCES)).collect();
    let before: Vec<Vec<u8>> = files.iter().map(|f| read(f)).collect();
    let mut everything = String::new();

    let (ok, out) = playbook(&site, &["--check", "--diff", "--skip-tags", "verify"]);
    everything.push_str(&out);
    assert!(ok, "check run:\n{out}");
    for node in ["node1", "node2"] {
        let header = format!(
            "{} (node {node}, now)",
            shared_home.join(DATASOURCES).display()
        );
        assert!(out.contains(&header), "{header}:\n{out}");
    }
    for (file, before) in files.iter().zip(&before) {
        assert_eq!(&read(file), before, "check mode changed {}", file.display());
    }

    // DBA step, node steps on their hosts, verify from the DBA's machine (from the nodes' records).
    let (ok, out) = playbook(&site, &[]);
    everything.push_str(&out);
    assert!(ok, "run:\n{out}");
    for host in ["dba-host", "ei-node1", "ei-node2"] {
        assert_eq!(recap(&out, host), (1, 0), "{host} changed:\n{out}");
    }
    assert!(
        out.contains("checked from the record"),
        "verify read the records:\n{out}"
    );
    for (i, file) in files.iter().enumerate() {
        let text = String::from_utf8(read(file)).unwrap();
        assert!(
            text.contains(&format!(
                "{}/{}{}?",
                hosts.gateway_port(server.port),
                cluster.local_prefix,
                i + 1
            )),
            "node{} has its own local registry:\n{text}",
            i + 1
        );
    }

    let (ok, out) = playbook(&site, &[]);
    everything.push_str(&out);
    assert!(ok, "second run:\n{out}");
    for host in ["dba-host", "ei-node1", "ei-node2"] {
        assert_eq!(recap(&out, host), (0, 0), "{host} is idempotent:\n{out}");
    }

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

    assert!(!everything.contains(ACCOUNT_PASSWORD), "a password showed");
    if !server.admin_password.is_empty() {
        assert!(!everything.contains(&server.admin_password));
    }
}

impl SshHosts {
    fn gateway_port(&self, port: u16) -> String {
        format!("{}:{port}", self.gateway)
    }
}
