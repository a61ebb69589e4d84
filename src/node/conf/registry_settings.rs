//! The settings of `conf/registry.xml` that decide how a node stores its registry resources, which eidb
//! reads but never edits (for the mount records, see `crate::core::mounts`).

use super::xml::{ConfError, Document};

/// `(versioningProperties, registryRoot when it is not "/")` from the top level of registry.xml, as
/// `RegistryConfigurationProcessor` reads them. Missing elements take the values EI ships: versioned
/// properties and the root `/`.
pub fn read_registry_settings(xml: &str) -> Result<(bool, Option<String>), ConfError> {
    let doc = Document::parse(xml)?;
    settings_of(&doc)
}

/// [`read_registry_settings`] of a document already parsed.
pub(super) fn settings_of(doc: &Document<'_>) -> Result<(bool, Option<String>), ConfError> {
    let root = doc.expect_root("wso2registry")?;
    let versioned = root
        .child("staticConfiguration")
        .and_then(|s| s.child_text("versioningProperties"))
        .is_none_or(|v| v.trim() == "true");
    let registry_root = root
        .child_text("registryRoot")
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty() && r != "/");
    Ok((versioned, registry_root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_elements_only() {
        let xml = "<wso2registry>\n<!-- <registryRoot>/commented</registryRoot> -->\n<registryRoot>/</registryRoot>\n\
                   <remoteInstance url=\"x\"><registryRoot>/remote</registryRoot></remoteInstance>\n\
                   <staticConfiguration><versioningProperties>false</versioningProperties></staticConfiguration>\n\
                   </wso2registry>";
        assert_eq!(read_registry_settings(xml).unwrap(), (false, None));
        let rooted =
            "<wso2registry><remoteInstance><registryRoot>/remote</registryRoot></remoteInstance>\
                      <registryRoot>/wso2</registryRoot></wso2registry>";
        assert_eq!(
            read_registry_settings(rooted).unwrap(),
            (true, Some("/wso2".to_string()))
        );
        assert_eq!(
            read_registry_settings("<wso2registry/>").unwrap(),
            (true, None)
        );
    }
}
