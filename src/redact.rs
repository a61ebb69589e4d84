//! The last line of defence against leaking a password: every secret eidb loads is registered here, and
//! everything eidb prints (reports, errors, log lines) passes through [`redact`], which replaces each secret,
//! in every encoding eidb itself writes it in (raw, XML-escaped, SQL-quoted, percent-encoded), with `****`.
//!
//! The primary defence is never formatting a secret in the first place (they live in `secrecy` types);
//! this catches what a server or library echoes back, such as a syntax error quoting the statement.

use std::sync::{Mutex, OnceLock};

const MASK: &str = "****";

fn registry() -> &'static Mutex<Vec<String>> {
    static SECRETS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Register a secret so that it, and the forms eidb writes it in, are masked in all output.
pub fn register(secret: &str) {
    if secret.is_empty() {
        return;
    }
    let mut forms = vec![
        secret.to_string(),
        // XML: in attributes (quotes escaped too) and in element text (quotes as they are).
        xml_escaped(secret),
        secret
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
        // SQL string literals, as `mysql::quote::literal` writes them in both backslash modes.
        secret.replace('\\', "\\\\").replace('\'', "''"),
        secret.replace('\\', "\\\\").replace('\'', "\\'"),
        secret.replace('\'', "''"),
        // Java properties (cipher-text.properties).
        secret.replace('\\', "\\\\"),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>(),
    ];
    let mut secrets = registry().lock().unwrap_or_else(|e| e.into_inner());
    forms.retain(|form| !form.is_empty());
    for form in forms {
        if !secrets.contains(&form) {
            secrets.push(form);
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Mask every registered secret in `text`.
pub fn redact(text: &str) -> String {
    let secrets = registry().lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

fn xml_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_registered_secret_in_every_form() {
        register("s3cr'et&<x>");
        let text =
            "raw s3cr'et&<x> xml s3cr'et&amp;&lt;x&gt; sql s3cr''et&<x> url s3cr%27et%26%3Cx%3E";
        let masked = redact(text);
        assert_eq!(masked, "raw **** xml **** sql **** url ****");
    }

    #[test]
    fn leaves_other_text_alone() {
        register("another-secret-value");
        assert_eq!(redact("nothing to hide here"), "nothing to hide here");
    }
}
