//! One owned value that is not as the spec derives it: found by the edit that would put it right, so the
//! plan that changes a file and the findings that report it are the same comparison.

use serde::Serialize;

/// A value a node file must hold and does not. Never holds a password: a password difference is said
/// without either value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The stable code verify reports it under, e.g. `datasource_url`, `cache_id`, `mount`.
    pub check: &'static str,
    /// What the value belongs to when the file has several of its kind, e.g. `WSO2_CARBON_DB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    pub expected: String,
    /// As the file says it; `None` when it is missing.
    pub found: Option<String>,
}

impl Difference {
    pub fn new(
        check: &'static str,
        item: Option<&str>,
        expected: impl Into<String>,
        found: Option<String>,
    ) -> Difference {
        Difference {
            check,
            item: item.map(str::to_owned),
            expected: expected.into(),
            found,
        }
    }

    fn labelled(&self, value: &str) -> String {
        match &self.item {
            Some(item) => format!("{item}: {value}"),
            None => value.to_owned(),
        }
    }

    /// The expected value as a finding says it, named by its item.
    pub fn expected_text(&self) -> String {
        self.labelled(&self.expected)
    }

    /// The found value as a finding says it, named by its item.
    pub fn found_text(&self) -> Option<String> {
        self.found.as_deref().map(|f| self.labelled(f))
    }
}

/// One thing that is not as it should be. Field names are part of the JSON output and stable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `node NAME`, `database NAME`, `account 'NAME'@'HOST'` or `cluster`.
    pub subject: String,
    /// A stable code for the kind of finding, e.g. `datasource_url`, `cache_id`, `missing_table`.
    pub check: String,
    pub expected: Option<String>,
    pub found: Option<String>,
    /// What to do about it.
    pub fix: String,
}

impl Finding {
    pub fn new(
        subject: &str,
        check: &str,
        expected: Option<String>,
        found: Option<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            subject: subject.to_string(),
            check: check.to_string(),
            expected,
            found,
            fix: fix.into(),
        }
    }
}

impl Finding {
    /// The finding as one warning line (provision says a problem it does not fix this way).
    pub fn as_warning(&self) -> String {
        let mut line = format!("{}: {}", self.subject, self.check);
        if let Some(expected) = &self.expected {
            line.push_str(&format!(": expected {expected}"));
        }
        match &self.found {
            Some(found) => line.push_str(&format!(", found {found}")),
            None => line.push_str(", found none"),
        }
        line.push_str(&format!("; {}", self.fix));
        line
    }
}
