//! The load balancer's nginx VHost files of the WSO2 clustering guide, from the spec's one node list
//! (pure: text out). `eidb lb-config` writes them.
//!
//! - `ei.http.conf`: the services over HTTP, balanced over every node's pass-through HTTP port (8280 +
//!   its port offset);
//! - `ei.https.conf`: the same over HTTPS (8243 + offset);
//! - `ui.ei.https.conf`: the management console (9443 + offset), kept on one node at a time: the first
//!   node is the primary and the others are `backup` servers, used only while it is down. A console
//!   session lives in one node's memory; round robin would log the user out on every other request.

use std::fmt::Write as _;

use crate::clustering::{PASS_THROUGH_HTTPS_PORT, PASS_THROUGH_HTTP_PORT, SERVLET_HTTPS_PORT};
use crate::error::{Error, Result};
use crate::spec::Spec;

/// One file to write: its name and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VhostFile {
    pub name: &'static str,
    pub text: String,
}

/// A node as the load balancer sees it: its address and port offset.
struct Backend<'a> {
    name: &'a str,
    host: String,
    offset: u16,
}

/// The three files, or why they cannot be written (bad input: exit 2).
pub fn vhost_files(spec: &Spec) -> Result<Vec<VhostFile>> {
    let at = spec.path.display();
    let lb = spec.load_balancer.as_ref().ok_or_else(|| {
        Error::input(format!("{at}: the spec has no [load_balancer] section"))
            .with_hint("add [load_balancer] with host (the guide's ei.wso2.com), mgt_host, ssl_certificate and ssl_certificate_key")
    })?;
    let (Some(certificate), Some(key)) = (&lb.ssl_certificate, &lb.ssl_certificate_key) else {
        return Err(Error::input(format!(
            "{at}: load_balancer.ssl_certificate and load_balancer.ssl_certificate_key are needed for the HTTPS files"
        ))
        .with_hint("name the PEM certificate and key nginx serves ei and ui on, e.g. /etc/nginx/ssl/server.crt and server.key"));
    };
    if spec.nodes.is_empty() {
        return Err(Error::input(format!("{at}: the spec lists no [[nodes]]")));
    }
    let mut backends = Vec::new();
    for node in &spec.nodes {
        let host = node.host.ok_or_else(|| {
            Error::input(format!(
                "{at}: node `{}` has no `host`; the load balancer needs every node's address",
                node.name
            ))
            .with_hint("add host = \"10.0.0.11\" (the node's IP address) to each [[nodes]] entry")
        })?;
        let host = match host {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        };
        backends.push(Backend {
            name: &node.name,
            host,
            offset: node.port_offset,
        });
    }
    let upstream = |kind: &str| format!("eidb_{}_{kind}", upstream_safe(&spec.cluster));
    let header = |what: &str| {
        format!(
            "# {what}\n# Written by `eidb lb-config` from {at} (cluster {}); run it again after changing the nodes.\n",
            spec.cluster
        )
    };
    let servers = |port: u16, backup: bool| {
        let mut text = String::new();
        for (i, b) in backends.iter().enumerate() {
            let mark = if backup && i > 0 { " backup" } else { "" };
            let _ = writeln!(
                text,
                "    server {}:{}{mark};  # {}",
                b.host,
                u32::from(port) + u32::from(b.offset),
                b.name
            );
        }
        text
    };
    let location = |target: &str| {
        format!(
            "    location / {{\n\
             \x20       proxy_set_header X-Forwarded-Host $host;\n\
             \x20       proxy_set_header X-Forwarded-Server $host;\n\
             \x20       proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
             \x20       proxy_set_header Host $http_host;\n\
             \x20       proxy_read_timeout 5m;\n\
             \x20       proxy_send_timeout 5m;\n\
             \x20       proxy_pass {target};\n\
             \x20   }}\n"
        )
    };
    let tls = format!(
        "    ssl_certificate {};\n    ssl_certificate_key {};\n",
        quote(&certificate.display().to_string()),
        quote(&key.display().to_string())
    );
    let http = format!(
        "{}\nupstream {up} {{\n{servers}}}\n\nserver {{\n    listen {port};\n    server_name {host};\n\n{location}}}\n",
        header("The services over HTTP: every node's pass-through HTTP port (8280 + its port offset)."),
        up = upstream("http"),
        servers = servers(PASS_THROUGH_HTTP_PORT, false),
        port = lb.http_port,
        host = lb.host,
        location = location(&format!("http://{}", upstream("http"))),
    );
    let https = format!(
        "{}\nupstream {up} {{\n{servers}}}\n\nserver {{\n    listen {port} ssl;\n    server_name {host};\n{tls}\n{location}}}\n",
        header("The services over HTTPS: every node's pass-through HTTPS port (8243 + its port offset)."),
        up = upstream("https"),
        servers = servers(PASS_THROUGH_HTTPS_PORT, false),
        port = lb.https_port,
        host = lb.host,
        location = location(&format!("https://{}", upstream("https"))),
    );
    let ui = format!(
        "{}# The management console keeps its session in one node's memory, so it is kept on one node at a time:\n\
         # the first node is the primary, the others are `backup` servers that nginx uses only while the\n\
         # primary is down (not ip_hash, which would spread users over the nodes and move them when one fails).\n\
         \nupstream {up} {{\n{servers}}}\n\nserver {{\n    listen {port} ssl;\n    server_name {host};\n{tls}\n{location}}}\n",
        header("The management console over HTTPS: the nodes' servlet HTTPS port (9443 + port offset)."),
        up = upstream("ui"),
        servers = servers(SERVLET_HTTPS_PORT, true),
        port = lb.https_port,
        host = lb.mgt_host,
        location = location(&format!("https://{}", upstream("ui"))),
    );
    Ok(vec![
        VhostFile {
            name: "ei.http.conf",
            text: http,
        },
        VhostFile {
            name: "ei.https.conf",
            text: https,
        },
        VhostFile {
            name: "ui.ei.https.conf",
            text: ui,
        },
    ])
}

/// A cluster name as an nginx upstream name: letters, digits and `_`.
fn upstream_safe(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// An nginx string argument: quoted when it holds anything but plain path characters.
fn quote(value: &str) -> String {
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        value.to_string()
    } else {
        format!(
            "\"{}\"",
            value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('$', "\\$")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> Result<Spec> {
        let text = format!(
            "[server]\nurl = \"mysql://root@127.0.0.1:3306\"\n[user]\nname = \"r\"\npassword_env = \"X\"\n\
             [dbscripts]\nfile = \"x.sql\"\n{extra}\n\
             [[nodes]]\nname = \"node1\"\nei_home = \"/a\"\nhost = \"10.0.0.11\"\n\
             [[nodes]]\nname = \"node2\"\nei_home = \"/b\"\nhost = \"10.0.0.11\"\nport_offset = 1\n"
        );
        Spec::parse(&text, std::path::Path::new("/etc/eidb/c.toml"))
    }

    #[test]
    fn every_node_with_its_offset_and_the_console_on_one_node() {
        let spec = spec("[load_balancer]\nhost = \"ei.wso2.com\"\nmgt_host = \"ui.ei.wso2.com\"\nssl_certificate = \"/etc/nginx/ssl/server.crt\"\nssl_certificate_key = \"k y.key\"\n").unwrap();
        let files = vhost_files(&spec).unwrap();
        assert_eq!(files[0].name, "ei.http.conf");
        assert!(files[0].text.contains("server 10.0.0.11:8280;  # node1\n"));
        assert!(files[0].text.contains("server 10.0.0.11:8281;  # node2\n"));
        assert!(files[0].text.contains("listen 80;"));
        assert!(files[1].text.contains("server 10.0.0.11:8244;  # node2\n"));
        assert!(files[1].text.contains("listen 443 ssl;"));
        assert!(files[1]
            .text
            .contains("ssl_certificate_key \"/etc/eidb/k y.key\";"));
        assert!(files[2].text.contains("server 10.0.0.11:9443;  # node1\n"));
        assert!(files[2]
            .text
            .contains("server 10.0.0.11:9444 backup;  # node2\n"));
        assert!(files[2].text.contains("server_name ui.ei.wso2.com;"));
    }

    #[test]
    fn what_is_missing_is_bad_input() {
        let e = vhost_files(&spec("").unwrap()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains("[load_balancer]"));
        let e = vhost_files(&spec("[load_balancer]\nhost = \"ei\"\n").unwrap()).unwrap_err();
        assert!(e.message.contains("ssl_certificate"), "{}", e.message);
    }
}
