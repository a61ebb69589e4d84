//! `eidb lb-config` against a real nginx (Debian's nginx-light, installed by scripts/prerequisites.sh):
//! `nginx -t` accepts the three files, and nginx run on loopback in front of stand-in nodes (plain HTTP
//! listeners of this test, `openssl s_server` for the HTTPS ones) at 127.0.0.2 and 127.0.0.3 sends
//! requests to every node; the management console goes to one node while it is up, to the other after.
//! nginx runs with its prefix, pid file, logs and temp folders in a temp folder, never as the system's.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common;

const NODES: [(&str, &str); 2] = [("node1", "127.0.0.2"), ("node2", "127.0.0.3")];

fn nginx() -> PathBuf {
    for candidate in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(candidate).is_file() {
            return PathBuf::from(candidate);
        }
    }
    panic!("this test needs nginx (Debian: apt-get install nginx-light; scripts/prerequisites.sh installs it)");
}

/// A port free on every address given (tried by binding), in a range far from the usual ones.
fn free_port_on(addresses: &[&str], avoid: &[u16]) -> u16 {
    let start = 20000 + (std::process::id() % 20000) as u16;
    (start..50000)
        .chain(20000..start)
        .find(|port| {
            !avoid.contains(port)
                && addresses
                    .iter()
                    .all(|a| TcpListener::bind((*a, *port)).is_ok())
        })
        .expect("a free port")
}

/// An offset whose 8280/8243/9443 + offset are free on both node addresses.
fn free_offset() -> u16 {
    let addresses: Vec<&str> = NODES.iter().map(|(_, a)| *a).collect();
    let mut offset = 10000 + (std::process::id() % 9000) as u16;
    loop {
        let ok = [8280u16, 8243, 9443].iter().all(|p| {
            addresses
                .iter()
                .all(|a| TcpListener::bind((*a, p + offset)).is_ok())
        });
        if ok {
            return offset;
        }
        offset += 13;
    }
}

/// Kills a child process (and waits for it) when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plain HTTP stand-in for a node: answers every request with the node's name.
fn http_backend(address: SocketAddr, name: &'static str, stop: Arc<AtomicBool>) {
    let listener = TcpListener::bind(address).unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(5)))
                        .unwrap();
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{name}",
                        name.len()
                    );
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
}

/// An HTTPS stand-in: `openssl s_server -WWW` serving the file `who` (the node's name) from its folder.
fn https_backend(
    dir: &Path,
    address: &str,
    port: u16,
    name: &str,
    cert: &Path,
    key: &Path,
) -> Killed {
    let folder = dir.join(format!("{name}-{port}"));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("who"), name).unwrap();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-WWW", "-accept"])
        .arg(format!("{address}:{port}"))
        .arg("-cert")
        .arg(cert)
        .arg("-key")
        .arg(key)
        .current_dir(&folder)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run openssl s_server");
    wait_listening(&format!("{address}:{port}"));
    Killed(child)
}

fn wait_listening(address: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(address).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {address}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run(command: &mut Command) -> Output {
    command.output().expect("run a command")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `curl` to nginx on 127.0.0.1 under the load balancer's name; the body.
fn get(url_host: &str, port: u16, scheme: &str) -> String {
    let output = run(Command::new("curl")
        .args(["-sS", "-k", "--max-time", "10", "--resolve"])
        .arg(format!("{url_host}:{port}:127.0.0.1"))
        .arg(format!("{scheme}://{url_host}:{port}/who")));
    assert!(output.status.success(), "curl: {}", text(&output));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn nginx_accepts_the_files_and_balances_over_every_node() {
    let nginx = nginx();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    let output = run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=ei.wso2.com",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    assert!(output.status.success(), "openssl req: {}", text(&output));

    let http_port = free_port_on(&["0.0.0.0"], &[]);
    let https_port = free_port_on(&["0.0.0.0"], &[http_port]);
    let offset = free_offset();
    let nodes: String = NODES
        .iter()
        .map(|(name, host)| {
            format!("\n[[nodes]]\nname = \"{name}\"\nei_home = \"/opt/wso2ei-6.6.0\"\nhost = \"{host}\"\nport_offset = {offset}\n")
        })
        .collect();
    let spec = dir.join("cluster.toml");
    std::fs::write(
        &spec,
        format!(
            "[cluster]\nname = \"lb-test\"\n\n[server]\nurl = \"mysql://root@127.0.0.1:3306\"\n\n[user]\nname = \"regadmin\"\npassword_env = \"EIDB_IT_NEVER_SET\"\n\n\
             [dbscripts]\ndir = \"dbscripts\"\n\n[clustering]\n\n[load_balancer]\nhost = \"ei.wso2.com\"\nmgt_host = \"ui.ei.wso2.com\"\n\
             http_port = {http_port}\nhttps_port = {https_port}\nssl_certificate = \"server.crt\"\nssl_certificate_key = \"server.key\"\n{nodes}"
        ),
    )
    .unwrap();
    let vhosts = dir.join("conf.d");
    let output = run(Command::new(common::eidb_bin())
        .args(["lb-config", "--config"])
        .arg(&spec)
        .arg("--out")
        .arg(&vhosts));
    assert!(output.status.success(), "eidb lb-config: {}", text(&output));
    for name in ["ei.http.conf", "ei.https.conf", "ui.ei.https.conf"] {
        assert!(vhosts.join(name).is_file(), "{name} written");
    }
    let ui = std::fs::read_to_string(vhosts.join("ui.ei.https.conf")).unwrap();
    assert!(
        ui.contains(&format!("server 127.0.0.3:{} backup;", 9443 + offset)),
        "{ui}"
    );

    // A main configuration that includes them, everything of nginx's in the temp folder.
    let d = dir.display();
    for t in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        std::fs::create_dir_all(dir.join("tmp").join(t)).unwrap();
    }
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n    access_log {d}/access.log;\n    client_body_temp_path {d}/tmp/body;\n    proxy_temp_path {d}/tmp/proxy;\n\
             \x20   fastcgi_temp_path {d}/tmp/fastcgi;\n    uwsgi_temp_path {d}/tmp/uwsgi;\n    scgi_temp_path {d}/tmp/scgi;\n\
             \x20   include {d}/conf.d/*.conf;\n}}\n"
        ),
    )
    .unwrap();
    let nginx_command = |extra: &[&str]| {
        let mut command = Command::new(&nginx);
        command
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .args(extra);
        command
    };
    let output = run(&mut nginx_command(&["-t"]));
    assert!(
        output.status.success(),
        "nginx -t refuses eidb's files: {}",
        text(&output)
    );

    // The stand-in nodes.
    let stop = Arc::new(AtomicBool::new(false));
    let mut https_backends = Vec::new();
    let mut console = Vec::new();
    for (name, host) in NODES {
        http_backend(
            format!("{host}:{}", 8280 + offset).parse().unwrap(),
            name,
            stop.clone(),
        );
        https_backends.push(https_backend(dir, host, 8243 + offset, name, &cert, &key));
        console.push(https_backend(dir, host, 9443 + offset, name, &cert, &key));
    }
    let _nginx = Killed(
        nginx_command(&[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx"),
    );
    wait_listening(&format!("127.0.0.1:{http_port}"));
    wait_listening(&format!("127.0.0.1:{https_port}"));

    let mut seen: Vec<String> = (0..4)
        .map(|_| get("ei.wso2.com", http_port, "http"))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        ["node1", "node1", "node2", "node2"],
        "HTTP over every node"
    );
    let mut seen: Vec<String> = (0..4)
        .map(|_| get("ei.wso2.com", https_port, "https"))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        ["node1", "node1", "node2", "node2"],
        "HTTPS over every node"
    );
    // The console: one node at a time.
    for _ in 0..4 {
        assert_eq!(get("ui.ei.wso2.com", https_port, "https"), "node1");
    }
    drop(console.remove(0));
    for _ in 0..3 {
        assert_eq!(
            get("ui.ei.wso2.com", https_port, "https"),
            "node2",
            "the backup takes over"
        );
    }
    stop.store(true, Ordering::Relaxed);
}

/// Without [load_balancer], or without a node's host: exit 2 saying what to add, nothing written.
#[test]
fn what_lb_config_needs_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("cluster.toml");
    std::fs::write(
        &spec,
        "[server]\nurl = \"mysql://root@127.0.0.1:3306\"\n[user]\nname = \"r\"\npassword_env = \"X\"\n[dbscripts]\ndir = \"d\"\n\
         [[nodes]]\nname = \"node1\"\nei_home = \"/opt/ei\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = run(Command::new(common::eidb_bin())
        .args(["lb-config", "--config"])
        .arg(&spec)
        .arg("--out")
        .arg(&out));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("[load_balancer]"),
        "{}",
        text(&output)
    );
    assert!(!out.exists());
}
