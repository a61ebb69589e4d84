//! The last line of defence against leaking a password: every secret eidb loads is registered here, with
//! the forms eidb itself writes it in (raw, XML-escaped, SQL-quoted, percent-encoded).
//!
//! The primary defence is never formatting a secret in the first place (they live in `secrecy` types), and
//! masking by structure where a password does appear: the password elements of a diff (`********`), the
//! SQL of an account change (`'****'`). Masking by text is only for what eidb does not write itself:
//!
//! - [`redact`]: text from elsewhere (a server's or a driver's error, a library's log line) may quote a
//!   statement with the password in it: every registered secret is masked.
//! - [`backstop`]: eidb's own output (the report, progress lines, diffs). Only a *distinctive* secret is
//!   masked there: one of 8 characters or more that is not a word of the spec (the account's name, a
//!   database's). A short password such as `e` or `"` is a substring of ordinary words and punctuation;
//!   masking it would mangle the report, break its JSON and show the password by where the stars land.
//!
//! Both mask only whole occurrences: where a secret begins (ends) with a letter, digit or `_`, an
//! occurrence right after (before) another such character is part of a longer word, not the secret.
//! JSON is masked value by value ([`backstop_json`]), never as serialized text, so it stays valid.

use std::sync::{Mutex, OnceLock};

const MASK: &str = "****";

/// Shorter passwords are weak (a warning), and too common as substrings to be masked in eidb's own text.
pub const DISTINCTIVE_LEN: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    /// Equal to a word of the spec (e.g. the account's name): it is no secret from anyone who reads the
    /// spec, and masking it would only hide the name and point at the password.
    Public,
    /// Shorter than [`DISTINCTIVE_LEN`]: masked only in text from elsewhere.
    Short,
    /// Masked everywhere.
    Distinctive,
}

struct Secret {
    value: String,
    strength: Strength,
    forms: Vec<String>,
}

fn registry() -> &'static Mutex<Vec<Secret>> {
    static SECRETS: OnceLock<Mutex<Vec<Secret>>> = OnceLock::new();
    SECRETS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Register a secret so that it, and the forms eidb writes it in, are masked in output.
pub fn register(secret: &str) {
    if secret.is_empty() {
        return;
    }
    let mut secrets = registry().lock().unwrap_or_else(|e| e.into_inner());
    if secrets.iter().any(|s| s.value == secret) {
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
    forms.retain(|form| !form.is_empty());
    forms.sort_by_key(|s| std::cmp::Reverse(s.len()));
    forms.dedup();
    let strength = if secret.chars().count() < DISTINCTIVE_LEN {
        Strength::Short
    } else {
        Strength::Distinctive
    };
    secrets.push(Secret {
        value: secret.to_string(),
        strength,
        forms,
    });
}

/// The secret equals a word anyone reading the spec sees (`words`, compared without case): it is not
/// masked in any text, where stars would only hide that word and say what the password is.
pub fn mark_public_if_among<'a>(secret: &str, words: impl IntoIterator<Item = &'a str>) -> bool {
    let public = words.into_iter().any(|w| w.eq_ignore_ascii_case(secret));
    if public {
        let mut secrets = registry().lock().unwrap_or_else(|e| e.into_inner());
        for s in secrets.iter_mut().filter(|s| s.value == secret) {
            s.strength = Strength::Public;
        }
    }
    public
}

/// Mask every registered secret in text from elsewhere (server and driver errors, library logs).
pub fn redact(text: &str) -> String {
    mask(text, Strength::Short)
}

/// Mask the distinctive secrets in eidb's own text (see the module's doc).
pub fn backstop(text: &str) -> String {
    mask(text, Strength::Distinctive)
}

/// [`backstop`] on every string of a JSON value (keys are eidb's own names): the result is valid JSON
/// whatever the secrets are.
pub fn backstop_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            let masked = backstop(s);
            if masked != *s {
                *s = masked;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(backstop_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(backstop_json),
        _ => {}
    }
}

fn mask(text: &str, at_least: Strength) -> String {
    let secrets = registry().lock().unwrap_or_else(|e| e.into_inner());
    let mut forms: Vec<&str> = secrets
        .iter()
        .filter(|s| s.strength >= at_least)
        .flat_map(|s| s.forms.iter().map(String::as_str))
        .collect();
    if forms.is_empty() {
        return text.to_string();
    }
    // Longest first, so a secret that contains another is masked whole.
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    let mut out = text.to_string();
    for form in forms {
        if out.contains(form) {
            out = mask_whole(&out, form);
        }
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Replace the occurrences of `form` in `text` that are not part of a longer word.
fn mask_whole(text: &str, form: &str) -> String {
    let starts_word = form.chars().next().is_some_and(is_word);
    let ends_word = form.chars().last().is_some_and(is_word);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find(form) {
        let start = from + found;
        let end = start + form.len();
        let joined_before = starts_word && text[..start].chars().last().is_some_and(is_word);
        let joined_after = ends_word && text[end..].chars().next().is_some_and(is_word);
        if joined_before || joined_after {
            // Part of a longer word: look again one character further.
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        out.push_str(&text[copied..start]);
        out.push_str(MASK);
        copied = end;
        from = end;
    }
    out.push_str(&text[copied..]);
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
        assert_eq!(backstop(text), masked);
    }

    #[test]
    fn leaves_other_text_alone() {
        register("another-secret-value");
        assert_eq!(redact("nothing to hide here"), "nothing to hide here");
    }

    #[test]
    fn short_secrets_are_masked_only_in_foreign_text_and_only_whole() {
        // Unusual ones: the registry is the process's, shared with every other unit test.
        register("q7");
        register("\u{a4}");
        let server = "You have an error near 'IDENTIFIED BY 'q7'' at line 1 (q77, \u{a4})";
        assert_eq!(
            redact(server),
            "You have an error near 'IDENTIFIED BY '****'' at line 1 (q77, ****)"
        );
        // eidb's own words: untouched.
        let own = "the database \u{a4}REG\u{a4} q7 exists";
        assert_eq!(backstop(own), own);
        let mut json = serde_json::json!({"status": "planned", "found": own});
        backstop_json(&mut json);
        assert_eq!(json["status"], "planned");
        assert_eq!(json["found"], own);
    }

    #[test]
    fn a_distinctive_secret_inside_a_longer_word_is_not_masked() {
        register("Rotate2024x");
        assert_eq!(
            backstop("pw=Rotate2024x& not XRotate2024x nor Rotate2024xY"),
            "pw=****& not XRotate2024x nor Rotate2024xY"
        );
    }

    #[test]
    fn a_secret_equal_to_a_spec_word_is_masked_nowhere() {
        register("pub1icname");
        assert!(mark_public_if_among("pub1icname", ["other", "PUB1ICNAME"]));
        assert_eq!(redact("user 'pub1icname'"), "user 'pub1icname'");
        assert_eq!(backstop("user 'pub1icname'"), "user 'pub1icname'");
    }
}
