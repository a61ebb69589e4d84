//! `eidb init` for the clustering files: a cluster clustered by hand as the WSO2 guide says gets
//! `[clustering]`, `[load_balancer]` and each node's `host`, `port_offset` and `member_port` in its spec,
//! so that the first run changes none of those files. Kept apart from `init.rs`: it adds to the spec
//! text `init` wrote (the sections before the first `[[nodes]]`, the node keys in each node's table).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::core::clustering::{default_domain, validate_domain, DEFAULT_MEMBER_PORT};
use crate::node::conf::{read_axis2_clustering, read_carbon, read_proxy_port, ActualClustering};
use crate::node::files::{ClusterFile, TextFile};

/// What one node's clustering files say, as far as the spec needs it.
#[derive(Debug, Default)]
struct Found {
    clustering: Option<ActualClustering>,
    host_name: Option<String>,
    mgt_host_name: Option<String>,
    offset: u16,
    proxy_ports: (Option<u16>, Option<u16>),
}

fn read(home: &Path) -> Found {
    let text = |file: ClusterFile| {
        TextFile::read(&home.join(file.relative_path()))
            .ok()
            .map(|t| t.text)
    };
    let mut found = Found::default();
    if let Some(axis2) = text(ClusterFile::Axis2) {
        found.clustering = read_axis2_clustering(&axis2).ok().filter(|c| c.enabled);
    }
    if let Some(carbon) = text(ClusterFile::Carbon).and_then(|t| read_carbon(&t).ok()) {
        found.host_name = carbon.host_name.filter(|h| !h.is_empty());
        found.mgt_host_name = carbon.mgt_host_name.filter(|h| !h.is_empty());
        found.offset = carbon.offset.and_then(|o| o.parse().ok()).unwrap_or(0);
    }
    if let Some(catalina) = text(ClusterFile::Catalina) {
        let port = |p| {
            read_proxy_port(&catalina, p)
                .ok()
                .flatten()
                .and_then(|v| v.parse().ok())
        };
        found.proxy_ports = (port(9763), port(9443));
    }
    found
}

fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `spec` (as `init` wrote it, one `[[nodes]]` table per home, in order) with what the clustering
/// files of the nodes at `homes` say; unchanged when no node is clustered or behind a load balancer.
pub fn adopt(spec: String, cluster_name: &str, homes: &[PathBuf]) -> String {
    let found: Vec<Found> = homes.iter().map(|h| read(h)).collect();
    let clustered = !found.is_empty() && found.iter().all(|f| f.clustering.is_some());
    let fronted = !found.is_empty() && found.iter().all(|f| f.host_name.is_some());
    if !clustered && !fronted {
        return spec;
    }
    let mut sections = String::new();
    let mut node_keys: Vec<String> = vec![String::new(); found.len()];
    let mut notes = Vec::new();
    if clustered {
        let all: Vec<&ActualClustering> =
            found.iter().filter_map(|f| f.clustering.as_ref()).collect();
        let hosts: Vec<Option<IpAddr>> = all
            .iter()
            .map(|c| c.local_member_host.as_deref().and_then(|h| h.parse().ok()))
            .collect();
        let ports: Vec<u16> = all
            .iter()
            .map(|c| {
                c.local_member_port
                    .as_deref()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(DEFAULT_MEMBER_PORT)
            })
            .collect();
        if hosts.iter().any(Option::is_none) {
            notes.push(
                "a node's localMemberHost is not an IP address: [clustering] is left out; add it with each node's host"
                    .to_string(),
            );
        } else {
            let domain = all[0].domain.clone().unwrap_or_default();
            writeln_to(&mut sections, "\n[clustering]");
            if all
                .iter()
                .any(|c| c.domain.as_deref() != Some(domain.as_str()))
            {
                notes.push(format!(
                    "the nodes' axis2.xml name different domains; this spec takes the first node's ({domain})"
                ));
            }
            match validate_domain(&domain) {
                Ok(()) if domain != default_domain(cluster_name) => {
                    writeln_to(&mut sections, &format!("domain = {}", quoted(&domain)))
                }
                Ok(()) => {}
                Err(problem) => notes.push(format!(
                    "the nodes' domain cannot be kept ({problem}); the first run sets {}",
                    default_domain(cluster_name)
                )),
            }
            let common_port = ports[0];
            if common_port != DEFAULT_MEMBER_PORT {
                writeln_to(&mut sections, &format!("member_port = {common_port}"));
            }
            for (i, (host, port)) in hosts.iter().zip(&ports).enumerate() {
                let host = host.expect("checked above");
                node_keys[i].push_str(&format!("host = {}\n", quoted(&host.to_string())));
                if *port != common_port {
                    node_keys[i].push_str(&format!("member_port = {port}\n"));
                }
            }
        }
    }
    if fronted {
        let first = &found[0];
        let host = first.host_name.clone().unwrap_or_default();
        writeln_to(&mut sections, "\n[load_balancer]");
        writeln_to(&mut sections, &format!("host = {}", quoted(&host)));
        if let Some(mgt) = first.mgt_host_name.as_ref().filter(|m| **m != host) {
            writeln_to(&mut sections, &format!("mgt_host = {}", quoted(mgt)));
        }
        let (http, https) = first.proxy_ports;
        if let Some(port) = http.filter(|p| *p != 80) {
            writeln_to(&mut sections, &format!("http_port = {port}"));
        }
        if let Some(port) = https.filter(|p| *p != 443) {
            writeln_to(&mut sections, &format!("https_port = {port}"));
        }
        writeln_to(
            &mut sections,
            "# ssl_certificate = \"/etc/nginx/ssl/server.crt\"      # for `eidb lb-config`\n\
             # ssl_certificate_key = \"/etc/nginx/ssl/server.key\"",
        );
    }
    for (i, f) in found.iter().enumerate() {
        if f.offset != 0 {
            node_keys[i].push_str(&format!("port_offset = {}\n", f.offset));
        }
    }
    // The sections go before the first node; each node's keys at the end of its table.
    let (head, nodes) = match spec.find("\n[[nodes]]\n") {
        Some(at) => spec.split_at(at),
        None => (spec.as_str(), ""),
    };
    let mut out = String::with_capacity(spec.len() + sections.len() + 256);
    out.push_str(head);
    for note in &notes {
        out.push_str(&format!("\n# NOTE: {note}"));
    }
    out.push_str(&sections);
    let tables: Vec<&str> = nodes.split("\n[[nodes]]\n").skip(1).collect();
    for (i, table) in tables.iter().enumerate() {
        out.push_str("\n[[nodes]]\n");
        out.push_str(table);
        if let Some(keys) = node_keys.get(i) {
            if !table.ends_with('\n') && !keys.is_empty() {
                out.push('\n');
            }
            out.push_str(keys);
        }
    }
    out
}

fn writeln_to(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}
