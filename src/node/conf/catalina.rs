//! `conf/tomcat/catalina-server.xml`: `proxyPort` of the management console's Connectors (port 9763 to
//! the load balancer's HTTP port, 9443 to its HTTPS port), so that the console's redirects name the load
//! balancer's port, not the node's. An attribute that is there (EI 6.0.0 ships `proxyPort="8280"`) gets
//! the new value; it is never written twice.

use super::xml::{ConfError, Document, Editor, Element};
use super::Edited;
use crate::core::check::Check;
use crate::core::clustering::{SERVLET_HTTPS_PORT, SERVLET_HTTP_PORT};
use crate::core::drift::Difference;
use crate::core::node_clustering::Fronted;

const ROOT: &str = "Server";

/// `proxyPort` of the Connector on `port`, as read (`None`: no such Connector or no proxyPort).
pub fn read_proxy_port(xml: &str, port: u16) -> Result<Option<String>, ConfError> {
    let doc = Document::parse(xml)?;
    let root = doc.expect_root(ROOT)?;
    Ok(connectors(root, port)
        .first()
        .and_then(|c| c.attribute("proxyPort"))
        .map(str::to_string))
}

fn connectors(root: &Element, port: u16) -> Vec<&Element> {
    let port = port.to_string();
    root.children_named("Service")
        .flat_map(|service| service.children_named("Connector"))
        .filter(|c| c.attribute("port").map(str::trim) == Some(port.as_str()))
        .collect()
}

pub fn edit_catalina(original: &str, fronted: &Fronted) -> Result<Edited, ConfError> {
    let doc = Document::parse(original)?;
    let root = doc.expect_root(ROOT)?;
    let mut editor = Editor::new(&doc);
    let mut differences = Vec::new();
    for (port, proxy_port) in [
        (SERVLET_HTTP_PORT, fronted.http_proxy_port),
        (SERVLET_HTTPS_PORT, fronted.https_proxy_port),
    ] {
        let found = connectors(root, port);
        if found.is_empty() {
            return Err(doc.error(
                root,
                format!(
                    "no <Connector port=\"{port}\">; restore it from the WSO2 distribution (the port offset belongs in carbon.xml)"
                ),
            ));
        }
        for connector in found {
            let changed = editor.set_attribute(connector, "proxyPort", &proxy_port.to_string())?;
            if changed.is_changed() {
                differences.push(Difference::new(
                    Check::ProxyPort,
                    Some(&format!("Connector {port}")),
                    proxy_port.to_string(),
                    changed.found(),
                ));
            }
        }
    }
    Ok(Edited {
        text: editor.finish()?,
        differences,
    })
}
