//! WSO2 Secure Vault: `conf/security/cipher-text.properties` holds `alias=[plain text]` entries that
//! WSO2's cipher tool encrypts in place (the brackets mark a value as not yet encrypted). eidb creates or
//! updates only its own entries and keeps every other line as it is.

use secrecy::{ExposeSecret, SecretString};

/// Where the file lives under EI_HOME.
pub const RELATIVE_PATH: &str = "conf/security/cipher-text.properties";

/// What happened to an entry eidb owns, for warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryState {
    /// Present as eidb writes it, added or updated.
    Plain,
    /// The cipher tool already encrypted it: eidb cannot tell whether it holds the current password.
    Encrypted(String),
}

/// Set `alias=[value]` for each entry; returns the new text and the entries found already encrypted.
pub fn edit(original: &str, entries: &[(String, SecretString)]) -> (String, Vec<String>) {
    let newline = if original.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let mut lines: Vec<String> = original.lines().map(str::to_string).collect();
    let mut encrypted = Vec::new();
    for (alias, secret) in entries {
        let wanted = format!("{alias}=[{}]", escape(secret.expose_secret()));
        match lines
            .iter()
            .position(|line| key_of(line) == Some(alias.as_str()))
        {
            Some(i) => match state_of(&lines[i]) {
                EntryState::Encrypted(_) => encrypted.push(alias.clone()),
                EntryState::Plain => {
                    if lines[i] != wanted {
                        lines[i] = wanted;
                    }
                }
            },
            None => lines.push(wanted),
        }
    }
    let mut text = lines.join(newline);
    if !text.is_empty() && (original.is_empty() || original.ends_with('\n')) {
        text.push_str(newline);
    }
    (text, encrypted)
}

/// The keys whose value is a password in plain text (`key=[value]`, not yet encrypted by the cipher tool),
/// WSO2's shipped default (`wso2carbon`) aside: what must not be readable by other users.
pub fn plaintext_holders(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let key = key_of(line)?;
            let value = line.split_once(['=', ':'])?.1.trim();
            let plain = value.strip_prefix('[')?.strip_suffix(']')?;
            (!plain.is_empty() && plain != crate::node::conf::SHIPPED_H2_PASSWORD)
                .then(|| key.to_string())
        })
        .collect()
}

/// The key of a `key=value` / `key: value` line; `None` for comments and blank lines.
fn key_of(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
        return None;
    }
    let end = trimmed.find(['=', ':']).unwrap_or(trimmed.len());
    Some(trimmed[..end].trim_end())
}

fn state_of(line: &str) -> EntryState {
    let value = line
        .split_once(['=', ':'])
        .map(|(_, v)| v.trim())
        .unwrap_or("");
    if value.starts_with('[') && value.ends_with(']') {
        EntryState::Plain
    } else {
        EntryState::Encrypted(value.to_string())
    }
}

/// Java properties read `\` as an escape: double it so the cipher tool sees the password itself.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\")
}

/// Mask eidb's plain values in a diff of the file.
pub fn mask(text: &str) -> String {
    text.lines()
        .map(|line| {
            match (
                key_of(line.trim_start_matches(['+', '-', ' '])),
                state_of(line),
            ) {
                (Some(_), EntryState::Plain) if line.contains("=[") => {
                    let start = line.find("=[").map(|i| i + 2).unwrap_or(line.len());
                    format!("{}********]", &line[..start])
                }
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(alias: &str, value: &str) -> (String, SecretString) {
        (alias.to_string(), SecretString::from(value.to_string()))
    }

    #[test]
    fn adds_updates_and_keeps_the_rest() {
        let original = "# keys\nKeystore.Password=[wso2carbon]\nA=[old]\n";
        let (text, encrypted) = edit(original, &[entry("A", r"n\ew"), entry("B", "b")]);
        assert_eq!(
            text,
            "# keys\nKeystore.Password=[wso2carbon]\nA=[n\\\\ew]\nB=[b]\n"
        );
        assert!(encrypted.is_empty());
        let (again, _) = edit(&text, &[entry("A", r"n\ew"), entry("B", "b")]);
        assert_eq!(again, text, "a second edit is a fixed point");
    }

    #[test]
    fn encrypted_values_are_left_and_reported() {
        let original = "A=kX3p9Qz==\r\n";
        let (text, encrypted) = edit(original, &[entry("A", "new")]);
        assert_eq!(text, original);
        assert_eq!(encrypted, ["A"]);
    }

    #[test]
    fn plaintext_entries_are_found_and_the_shipped_default_is_not() {
        let text =
            "# c\nCarbon.Security.KeyStore.Password=[wso2carbon]\nA=[s3cret]\nB=kX3p9Qz==\nC=[]\n";
        assert_eq!(plaintext_holders(text), ["A"]);
    }

    #[test]
    fn new_file_and_masking() {
        let (text, _) = edit(
            "",
            &[entry("Datasources.X.Configuration.Password", "s3cret")],
        );
        assert_eq!(text, "Datasources.X.Configuration.Password=[s3cret]\n");
        assert_eq!(
            mask("+Datasources.X.Configuration.Password=[s3cret]"),
            "+Datasources.X.Configuration.Password=[********]"
        );
    }
}
