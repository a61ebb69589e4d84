//! The node side: the three WSO2 configuration files, edited in place.
//!
//! Each file kind is a small module over one format-preserving XML edit engine (`xml.rs`): an edit
//! rewrites only the values eidb owns and copies every other byte of the file as it was, so an
//! already-correct file comes back byte-identical and editing twice changes nothing the second
//! time. Everything here is pure (text in, text out); reading and writing files is the caller's.

mod axis2;
mod carbon;
mod catalina;
mod datasources;
mod model;
mod properties;
mod registry;
mod registry_settings;
mod user_mgt;
mod xml;

#[cfg(test)]
mod test_support;

pub use axis2::{edit_axis2, read_axis2_clustering, ActualClustering};
pub use carbon::{edit_carbon, read_carbon};
pub use catalina::{edit_catalina, read_proxy_port};
pub use datasources::{
    edit_master_datasources, plaintext_password_holders, read_datasource_passwords,
    read_master_datasources, SHIPPED_H2_PASSWORD,
};
pub use model::{
    ActualDatasource, ActualMount, ActualRegistry, ActualRemoteInstance, ActualUserMgt,
};
#[cfg(test)]
pub use model::{ActualDbConfig, ActualPool};
pub use properties::edit_properties;
pub use registry::{edit_registry, read_registry, read_registry_with_settings};
pub use registry_settings::read_registry_settings;
pub use user_mgt::{edit_user_mgt, read_user_mgt};
pub use xml::{mask_passwords, ConfError};

/// A file's text after an edit, and each owned value the edit put right.
#[derive(Debug, Clone)]
pub struct Edited {
    pub text: String,
    pub differences: Vec<crate::core::drift::Difference>,
}

/// A unified diff with every password masked; a change of password alone still shows as a changed line.
pub fn masked_diff(name: &str, before: &str, after: &str) -> String {
    let (before_masked, after_masked) = (mask_passwords(before), mask_passwords(after));
    let diff = similar::TextDiff::from_lines(&before_masked, &after_masked)
        .unified_diff()
        .context_radius(2)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string();
    let diff = if diff.is_empty() && before != after {
        format!("--- a/{name}\n+++ b/{name}\n(only password values change; they are not shown)\n")
    } else {
        diff
    };
    crate::redact::backstop(&diff.replace('\r', ""))
}
