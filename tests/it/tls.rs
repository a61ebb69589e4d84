//! TLS on the admin connection (issue 8): a server that accepts only TLS, a CA of the test's own, and the
//! spec's `ssl_mode` / `ssl_ca`.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::cluster::{Cluster, Conf};
use common::TestServer;

/// A CA and a server certificate for 127.0.0.1, made with the openssl command line.
fn make_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is needed for the TLS tests (Debian package openssl)");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=eidb test CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server-key.pem",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    ]);
}

fn with_server_keys(cluster: &Cluster, keys: &str) {
    let spec = cluster
        .spec_text()
        .replacen("[server]\n", &format!("[server]\n{keys}\n"), 1);
    std::fs::write(&cluster.spec_path, spec).unwrap();
}

#[tokio::test]
async fn admin_connection_uses_tls_as_the_spec_says() {
    let certs = tempfile::tempdir().unwrap();
    make_certificates(certs.path());
    let dir = certs.path().display();
    let server = TestServer::dedicated_with(&[
        format!("--ssl-ca={dir}/ca.pem"),
        format!("--ssl-cert={dir}/server.pem"),
        format!("--ssl-key={dir}/server-key.pem"),
        "--require-secure-transport=ON".to_string(),
    ]);
    let cluster = Cluster::new_on(&server, 1, Conf::Fixture)
        .with_driver_jar("mysql-connector-java-5.1.49.jar");
    let ca = certs.path().join("ca.pem");

    // The server refuses plain connections: with TLS off eidb fails, saying so, and changes nothing.
    with_server_keys(&cluster, "ssl_mode = \"disabled\"");
    let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
    assert_eq!(code, 1, "{report:#}");
    // MariaDB answers a plain login to a TLS-only server with "access denied": the hint names TLS.
    let hint = report["error"]["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("ssl_mode"), "{report:#}");

    // Verified against the test's own CA, with the host name checked too: provision works, including
    // eidb's own login as the account. The nodes' URLs say useSSL=false, which this server refuses: verify
    // says so (and does not take it for a wrong password).
    with_server_keys(
        &cluster,
        &format!(
            "ssl_mode = \"verify_ca\"\nssl_ca = {:?}",
            ca.display().to_string()
        ),
    );
    let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
    assert_eq!(code, 0, "{report:#}");
    let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["status"], "unchanged",
        "the refusal is not taken for a wrong password: {report:#}"
    );
    assert!(
        report["warnings"].to_string().contains("jdbc.use_ssl"),
        "{report:#}"
    );
    let (code, report) = cluster.eidb_json(&["verify", "--db-only"]);
    assert_eq!(code, 1, "{report:#}");
    let checks: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["account_login_nodes"], "{report:#}");

    // With the nodes on TLS too, everything is in sync, in every verifying mode.
    let spec_with_node_tls = |keys: &str| {
        with_server_keys(&cluster, keys);
        let spec =
            std::fs::read_to_string(&cluster.spec_path).unwrap() + "\n[jdbc]\nuse_ssl = true\n";
        std::fs::write(&cluster.spec_path, spec).unwrap();
    };
    for mode in ["verify_ca", "verify_identity", "required"] {
        spec_with_node_tls(&format!(
            "ssl_mode = \"{mode}\"\nssl_ca = {:?}",
            ca.display().to_string()
        ));
        let (code, report) = cluster.eidb_json(&["provision", "--db-only"]);
        assert_eq!(code, 0, "{mode}: {report:#}");
        let (code, report) = cluster.eidb_json(&["verify", "--db-only"]);
        assert_eq!(code, 0, "{mode}: {report:#}");
    }

    // A CA that did not sign the server's certificate is refused.
    let other = tempfile::tempdir().unwrap();
    make_certificates(other.path());
    with_server_keys(
        &cluster,
        &format!(
            "ssl_mode = \"verify_ca\"\nssl_ca = {:?}",
            other.path().join("ca.pem").display().to_string()
        ),
    );
    let (code, report) = cluster.eidb_json(&["verify", "--db-only"]);
    assert_eq!(
        code, 2,
        "a server verify cannot trust is trouble, not drift: {report:#}"
    );

    // A CA file that does not exist is bad input.
    with_server_keys(
        &cluster,
        "ssl_mode = \"verify_ca\"\nssl_ca = \"/nonexistent/ca.pem\"",
    );
    let output = cluster.eidb(&["verify"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("server.ssl_ca"));
}

#[tokio::test]
async fn node_urls_carry_the_tls_settings_and_the_cache_id_follows() {
    let cluster = Cluster::new(2, Conf::Fixture)
        .with_driver_jar("mysql-connector-j-8.0.33.jar")
        .with_extra(
            "[jdbc]\nuse_ssl = true\nrequire_ssl = true\nverify_server_certificate = false\n",
        );
    cluster.eidb_ok(&["provision", "--files-only"]);
    for node in 0..2 {
        let datasources = std::fs::read_to_string(
            cluster.node_file(node, "conf/datasources/master-datasources.xml"),
        )
        .unwrap();
        let registry =
            std::fs::read_to_string(cluster.node_file(node, "conf/registry.xml")).unwrap();
        let url = format!(
            "jdbc:mysql://{}:{}/{}?autoReconnect=true&amp;useSSL=true&amp;requireSSL=true&amp;verifyServerCertificate=false",
            common::server().host,
            common::server().port,
            cluster.shared_registry
        );
        assert!(
            datasources.contains(&format!("<url>{url}</url>")),
            "{datasources}"
        );
        assert!(
            !datasources.contains("useSSL=false")
                && !datasources.contains("allowPublicKeyRetrieval"),
            "{datasources}"
        );
        assert!(
            registry.contains(&format!("<cacheId>{}@{url}</cacheId>", cluster.account)),
            "{registry}"
        );
    }
}
