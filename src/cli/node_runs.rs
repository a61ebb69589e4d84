//! The nodes' records around a run (`crate::core::node_records`): a provision enables them (admin) and
//! records each of its nodes (with the nodes' account); a verify on a machine that holds none of the
//! nodes' EI_HOMEs checks the cluster from them.

use sqlx::MySqlConnection;

use crate::core::desired::DesiredNode;
use crate::core::drift::Finding;
use crate::core::node_records;
use crate::core::spec::{AdminTls, Spec, SslMode};
use crate::core::sql::quote::Backslashes;
use crate::error::{Error, Result};
use crate::node::files::ConfFile;
use crate::progress::Progress;
use crate::server::connect::Endpoint;
use crate::server::node_records as records;

/// How a node reaches the server: the JDBC host and port of its URLs, as the nodes' account, TLS as the
/// URLs say. `None` when the spec names no server.
pub fn nodes_account(
    spec: &Spec,
    admins: &[Endpoint],
    password: &secrecy::SecretString,
) -> Option<Endpoint> {
    let first = admins.first()?;
    Some(Endpoint {
        host: spec.server.jdbc_host.clone(),
        port: spec.server.jdbc_port,
        tls: AdminTls {
            mode: if spec.jdbc.use_ssl {
                SslMode::Required
            } else {
                SslMode::Disabled
            },
            ca: None,
        },
        ..first.as_account(&spec.account.name, password)
    })
}

/// The admin side of a provision that included the database part: the records made writable for the
/// account. Best effort: a server where this is not possible still gets its cluster; the warning says why.
pub async fn enable(
    admin: &mut MySqlConnection,
    endpoint: &Endpoint,
    spec: &Spec,
    hosts: &[String],
    backslashes: Backslashes,
) -> Option<String> {
    let enabled = records::enable(
        admin,
        endpoint,
        &spec.databases.metadata,
        (&spec.cluster, &spec.account.name, hosts),
        backslashes,
    )
    .await;
    match enabled {
        Ok(_) => None,
        Err(e) => Some(format!(
            "the nodes' records were not enabled: {}{}; `eidb verify` without the nodes' EI_HOMEs cannot check this cluster",
            e.message,
            e.hint.map(|h| format!(" ({h})")).unwrap_or_default()
        )),
    }
}

/// Record each node this provision wrote (or found right): the values eidb owns and its files' digests.
/// Returns a warning per node that could not be recorded.
pub async fn record(
    spec: &Spec,
    digest: &str,
    nodes: &[DesiredNode],
    account: Option<&Endpoint>,
    progress: &Progress,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let Some(account) = account else {
        return warnings;
    };
    if nodes.is_empty() {
        return warnings;
    }
    let records: Vec<node_records::NodeRecord> = nodes
        .iter()
        .map(|node| {
            let files: Vec<(String, Vec<u8>)> = ConfFile::ALL
                .iter()
                .map(|f| node.ei_home.join(f.relative_path()))
                .filter_map(|path| {
                    let bytes = std::fs::read(&path).ok()?;
                    Some((path.display().to_string(), bytes))
                })
                .collect();
            node_records::record(spec, digest, node, &files)
        })
        .collect();
    let not_recorded = |node: &str, e: &Error| {
        format!(
            "node {node}: its run was not recorded in the database ({}){}; `eidb verify` from another machine \
             will report it as not on this spec",
            crate::redact::redact(&e.message),
            e.hint
                .as_ref()
                .map(|h| format!("; {h}"))
                .unwrap_or_default()
        )
    };
    match records::write(account, &spec.databases.metadata, &spec.cluster, &records).await {
        Ok(written) => {
            for (node, outcome) in nodes.iter().zip(written) {
                match outcome {
                    Ok(true) => {
                        progress.done(&format!("recorded node {} in the ledger", node.name))
                    }
                    Ok(false) => {}
                    Err(e) => warnings.push(not_recorded(&node.name, &e)),
                }
            }
        }
        Err(e) => warnings.extend(nodes.iter().map(|n| not_recorded(&n.name, &e))),
    }
    warnings
}

/// `verify` on a machine without the nodes' EI_HOMEs: the findings of the nodes' records, read on `conn`
/// (the admin's) or else as the nodes' account; and a line saying what was checked.
pub async fn verify(
    spec: &Spec,
    digest: &str,
    conn: Option<&mut MySqlConnection>,
    account: Option<&Endpoint>,
) -> Result<(Vec<Finding>, String)> {
    let read = match (conn, account) {
        (Some(conn), _) => records::read(conn, &spec.databases.metadata, &spec.cluster).await?,
        (None, Some(account)) => {
            let mut conn = account.connect(None).await?;
            let read = records::read(&mut conn, &spec.databases.metadata, &spec.cluster).await;
            crate::server::connect::close(conn).await;
            read?
        }
        (None, None) => None,
    };
    let note = match &read {
        Some(_) => "none of the nodes' EI_HOMEs is on this machine: each node was checked from the record \
                    its last run left in the database (run `eidb verify --node NAME` on a node's host to \
                    check its files)"
            .to_string(),
        None => "none of the nodes' EI_HOMEs is on this machine, and the database holds no node records \
                 (a full provision with this eidb enables them)"
            .to_string(),
    };
    let findings = node_records::findings(spec, digest, &read.unwrap_or_default());
    Ok((findings, note))
}
