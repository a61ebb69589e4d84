//! Where passwords come from: an environment variable, a file, or a prompt without echo. Never argv.
//!
//! Every secret loaded here is registered with [`crate::redact`] so it is masked in all output.

use std::io::IsTerminal;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, Clone)]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
}

/// Load a secret; the error says what is wrong with the source, never the value.
pub fn load(source: &SecretSource) -> Result<SecretString, String> {
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
pub fn prompt(what: &str) -> Result<SecretString, String> {
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

/// For unit tests of specs: a file holding a password, made once per test process (so no test needs to
/// change the process environment, which parallel tests share).
#[cfg(test)]
pub fn test_password_file() -> String {
    use std::io::Write;
    static FILE: std::sync::OnceLock<tempfile::NamedTempFile> = std::sync::OnceLock::new();
    let file = FILE.get_or_init(|| {
        let mut file = tempfile::NamedTempFile::new().expect("a temp file");
        file.write_all(b"pw-for-spec-tests\n").expect("write it");
        file
    });
    file.path().display().to_string()
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
