//! Where passwords come from: an environment variable, a file, or a prompt without echo. Never argv.
//!
//! The spec only says where ([`PasswordSource`]); [`Secrets::read`] reads them, once, at the edge.
//! Every secret loaded here is registered with [`crate::redact`] so it is masked in all output.

use std::io::IsTerminal;

use secrecy::{ExposeSecret, SecretString};

use crate::core::spec::{PasswordSource, Spec};
use crate::error::{Error, Result};

/// The spec's passwords, read: the admin's (`[server]`) and the account's (`[user]`).
#[derive(Clone)]
pub struct Secrets {
    pub admin: SecretString,
    pub account: SecretString,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

impl Secrets {
    /// Read both passwords of the spec: from the environment, from files, or (the account's, when the
    /// spec names no source) from a prompt. Errors name the spec's key and line, never a value.
    /// `with_admin`: the run talks to the server (without it, `--files-only`, the admin's password is not
    /// read: no prompt for it, no variable or file needed).
    pub fn read(spec: &Spec, with_admin: bool) -> Result<Secrets> {
        let secrets = Secrets {
            admin: if with_admin {
                read(&spec.server.admin_password)?
            } else {
                SecretString::from(String::new())
            },
            account: read(&spec.account.password)?,
        };
        // A password that is a word of the spec is no secret from its readers: not masked (crate::redact).
        for password in [&secrets.admin, &secrets.account] {
            crate::redact::mark_public_if_among(password.expose_secret(), spec_words(spec));
        }
        Ok(secrets)
    }

    /// A warning (for the report) when the account's password is weak: equal to the account's name (the
    /// WSO2 guide's `regadmin`/`regadmin`), one of `KNOWN_DEFAULTS`, or shorter than 8 characters. Names the spec's key, never the
    /// password.
    pub fn weak_account_password(&self, spec: &Spec) -> Option<String> {
        let password = self.account.expose_secret();
        let why = if password.eq_ignore_ascii_case(&spec.account.name) {
            "equal to the account's name".to_string()
        } else if KNOWN_DEFAULTS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(password))
        {
            "a password the WSO2 guides and products print as an example or default".to_string()
        } else if password.chars().count() < crate::redact::DISTINCTIVE_LEN {
            format!("shorter than {} characters", crate::redact::DISTINCTIVE_LEN)
        } else {
            return None;
        };
        let from = match &spec.account.password {
            PasswordSource::Named { at, .. } => at.clone(),
            _ => format!("{}: [user]", spec.path.display()),
        };
        Some(format!(
            "weak password: the password of account '{}' ({from}) is {why}; every node stores it and anyone who \
             guesses it reaches the cluster's databases: set a longer one (eidb rotates it with --allow-destructive)",
            spec.account.name
        ))
    }
}

/// Passwords the WSO2 guides print (`regadmin` for the registry account) and product defaults
/// (`wso2carbon` for the key stores): the first ones anyone tries.
const KNOWN_DEFAULTS: [&str; 5] = ["regadmin", "wso2carbon", "admin", "password", "changeme"];

/// The words of a spec anyone reading it sees: names of the account, the admin, the cluster, its
/// databases and nodes.
fn spec_words(spec: &Spec) -> impl Iterator<Item = &str> {
    [
        spec.account.name.as_str(),
        spec.server.admin_user.as_str(),
        spec.cluster.as_str(),
        spec.databases.user_store.as_str(),
        spec.databases.shared_registry.as_str(),
        spec.databases.local_registry_prefix.as_str(),
        spec.databases.metadata.as_str(),
    ]
    .into_iter()
    .chain(spec.nodes.iter().map(|n| n.name.as_str()))
}

/// Read one password from where the spec says it is.
pub fn read(source: &PasswordSource) -> Result<SecretString> {
    match source {
        PasswordSource::Named { source, at } => {
            load(source).map_err(|problem| Error::input(format!("{at}: {problem}")))
        }
        PasswordSource::Empty => Ok(SecretString::from(String::new())),
        PasswordSource::Prompt { section, spec } => prompt(&format!("password for [{section}]"))
            .map_err(|e| {
                Error::input(format!(
                    "{}: [{section}] has no password_env or password_file ({e})",
                    spec.display()
                ))
                .with_hint(format!(
                    "add `password_env = \"VAR\"` (and export VAR) or `password_file = \"path\"` under [{section}]"
                ))
            }),
    }
}

pub use crate::core::spec::SecretSource;

/// Load a secret; the error says what is wrong with the source, never the value.
pub fn load(source: &SecretSource) -> std::result::Result<SecretString, String> {
    let value = match source {
        SecretSource::Env(var) => match std::env::var(var) {
            Ok(v) => v,
            Err(std::env::VarError::NotPresent) => {
                return Err(format!(
                    "environment variable {var} is not set; export it before running eidb"
                ))
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(format!("environment variable {var} is not valid UTF-8"))
            }
        },
        SecretSource::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read password file {}: {e}", path.display()))?;
            // A file written by `echo` or an editor ends with a newline that is not part of the password.
            text.strip_suffix("\r\n")
                .or_else(|| text.strip_suffix('\n'))
                .unwrap_or(&text)
                .to_string()
        }
    };
    if value.is_empty() {
        let what = match source {
            SecretSource::Env(var) => format!("environment variable {var}"),
            SecretSource::File(path) => format!("password file {}", path.display()),
        };
        return Err(format!("{what} is empty; set a password there"));
    }
    Ok(register(SecretString::from(value)))
}

/// Ask for a secret on the terminal without echo; fails when no terminal is attached (CI, pipes).
pub fn prompt(what: &str) -> std::result::Result<SecretString, String> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err("no terminal to prompt on".into());
    }
    let value = rpassword::prompt_password(format!("eidb: {what}: "))
        .map_err(|e| format!("prompt failed: {e}"))?;
    if value.is_empty() {
        return Err("the password typed was empty".into());
    }
    Ok(register(SecretString::from(value)))
}

fn register(secret: SecretString) -> SecretString {
    crate::redact::register(secret.expose_secret());
    secret
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_secret_loses_trailing_newline_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, " a b \n").unwrap();
        let secret = load(&SecretSource::File(path)).unwrap();
        assert_eq!(secret.expose_secret(), " a b ");
    }

    #[test]
    fn a_missing_source_names_the_spec_key_and_the_variable() {
        let source = PasswordSource::Named {
            source: SecretSource::Env("EIDB_SECRET_TEST_UNSET_VAR".into()),
            at: "/etc/eidb/cluster.toml:8: user.password_env".into(),
        };
        let err = read(&source).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_BAD_INPUT);
        assert!(
            err.message.starts_with(
                "/etc/eidb/cluster.toml:8: user.password_env: environment variable EIDB_SECRET_TEST_UNSET_VAR is not set"
            ),
            "{}",
            err.message
        );
        assert_eq!(read(&PasswordSource::Empty).unwrap().expose_secret(), "");
    }

    #[test]
    fn empty_and_missing_sources_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "\n").unwrap();
        assert!(load(&SecretSource::File(path.clone()))
            .unwrap_err()
            .contains("is empty"));
        assert!(load(&SecretSource::File(dir.path().join("nope")))
            .unwrap_err()
            .contains("cannot read"));
        assert!(load(&SecretSource::Env("EIDB_SURELY_UNSET_VAR_42".into()))
            .unwrap_err()
            .contains("not set"));
    }
}
