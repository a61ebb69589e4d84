//! `conf/carbon.xml`: `<HostName>` and `<MgtHostName>` (the load balancer's names; WSO2 ships them
//! commented out, and the comments stay: real elements are added beside them) and `<Ports><Offset>`.

use super::xml::{ConfError, Document, Editor, Element, NewElement};
use super::Edited;
use crate::core::check::Check;
use crate::core::drift::Difference;
use crate::core::node_clustering::Fronted;

const ROOT: &str = "Server";

/// What carbon.xml says of the names and the port offset, as read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActualCarbon {
    pub host_name: Option<String>,
    pub mgt_host_name: Option<String>,
    pub offset: Option<String>,
}

/// Makes carbon.xml name the load balancer (when given) and say the port offset (when given).
pub fn edit_carbon(
    original: &str,
    fronted: Option<&Fronted>,
    port_offset: Option<u16>,
) -> Result<Edited, ConfError> {
    let doc = Document::parse(original)?;
    let root = doc.expect_root(ROOT)?;
    let mut editor = Editor::new(&doc);
    let mut differences = Vec::new();
    if let Some(fronted) = fronted {
        // New names go after the last of the elements WSO2 puts before them (Name, ServerKey,
        // Version), where the commented-out ones are.
        let anchor = ["Version", "ServerKey", "Name"]
            .iter()
            .find_map(|name| root.child(name))
            .or(root.children.first());
        let host = root.child("HostName");
        let mut after_host: Option<&Element> = host.or(anchor);
        for (name, value, check) in [
            ("HostName", &fronted.host_name, Check::HostName),
            ("MgtHostName", &fronted.mgt_host_name, Check::MgtHostName),
        ] {
            let existing =
                doc.unique(root.children_named(name), |_| true, || format!("<{name}>"))?;
            let found = match existing {
                Some(element) if element.text().trim() == value.as_str() => continue,
                Some(element) => {
                    editor.set_text(element, value)?;
                    Some(element.text().trim().to_string())
                }
                None => {
                    let static_name = if name == "HostName" {
                        "HostName"
                    } else {
                        "MgtHostName"
                    };
                    editor.insert(root, after_host, NewElement::leaf(static_name, value));
                    None
                }
            };
            if let Some(element) = existing {
                after_host = Some(element);
            }
            differences.push(Difference::new(check, None, value.as_str(), found));
        }
    }
    if let Some(offset) = port_offset {
        let ports = doc.required_child(root, "Ports")?;
        let changed = editor.set_child_text(ports, "Offset", &offset.to_string())?;
        if changed.is_changed() {
            differences.push(Difference::new(
                Check::PortOffset,
                None,
                offset.to_string(),
                changed.found(),
            ));
        }
    }
    Ok(Edited {
        text: editor.finish()?,
        differences,
    })
}

pub fn read_carbon(xml: &str) -> Result<ActualCarbon, ConfError> {
    let doc = Document::parse(xml)?;
    let root = doc.expect_root(ROOT)?;
    let text = |e: &Element, name| e.child_text(name).map(|t| t.trim().to_string());
    Ok(ActualCarbon {
        host_name: text(root, "HostName"),
        mgt_host_name: text(root, "MgtHostName"),
        offset: root.child("Ports").and_then(|p| text(p, "Offset")),
    })
}
