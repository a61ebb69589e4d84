//! The spec's JSON Schema (`eidb schema`) against the specs the tests write: every spec eidb accepts
//! must validate, so the schema an editor checks `cluster.toml` with is never stricter than eidb.
//! (It may be looser: identifiers, hosts and secrets are checked by eidb, not by a schema.)

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

use super::eidb_bin;

/// The schema `eidb schema` prints, compiled (once per test process) as the draft 7 it declares;
/// compiling also checks the schema itself against the draft 7 meta-schema.
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let output = Command::new(eidb_bin())
            .arg("schema")
            .output()
            .expect("run eidb schema");
        assert!(output.status.success(), "eidb schema failed");
        let schema: Value =
            serde_json::from_slice(&output.stdout).expect("eidb schema prints JSON");
        jsonschema::draft7::new(&schema)
            .unwrap_or_else(|e| panic!("eidb schema is no valid draft 7 schema: {e}"))
    })
}

/// The schema's complaints about a spec's text (empty: it validates); Err when the text is no TOML,
/// about which a schema has nothing to say.
pub fn schema_errors(spec_text: &str) -> Result<Vec<String>, String> {
    let value: toml::Value = toml::from_str(spec_text).map_err(|e| e.to_string())?;
    let json = serde_json::to_value(value).expect("TOML converts to JSON");
    Ok(validator()
        .iter_errors(&json)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect())
}

/// After eidb ran on `spec`: a spec the schema refuses must have been refused by eidb too, as bad
/// input (exit 2). Put the other way: every spec eidb accepts validates against the schema.
pub fn assert_schema_agrees(spec: &Path, output: &Output) {
    let Ok(text) = std::fs::read_to_string(spec) else {
        return; // a test of a missing or unreadable spec
    };
    let Ok(errors) = schema_errors(&text) else {
        return; // not TOML: eidb refuses it (tests/it/bad_input.rs), no schema can tell
    };
    if !errors.is_empty() && output.status.code() != Some(2) {
        panic!(
            "eidb accepted the spec {} (exit {:?}), but `eidb schema` refuses it:\n{}\n--- spec:\n{text}",
            spec.display(),
            output.status.code(),
            errors.join("\n")
        );
    }
}
