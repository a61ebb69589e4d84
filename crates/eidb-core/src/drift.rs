//! One owned value that is not as the spec derives it: found by the edit that would put it right, so the
//! plan that changes a file and the findings that report it are the same comparison.

use serde::Serialize;

pub use crate::check::Check;

/// A value a node file must hold and does not. Never holds a password: a password difference is said
/// without either value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The stable code verify reports it under, e.g. `datasource_url`, `cache_id`, `mount`.
    pub check: Check,
    /// What the value belongs to when the file has several of its kind, e.g. `WSO2_CARBON_DB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    pub expected: String,
    /// As the file says it; `None` when it is missing.
    pub found: Option<String>,
    /// Where in the file (before the edit) the element is, or its parent when the element is missing: a
    /// byte offset, said as a line by the finding.
    #[serde(skip)]
    pub at: Option<usize>,
    /// The element as the file writes it, when the editor names it better than its check and item do
    /// (`<cacheId>` of `<remoteInstance>` `instanceid`).
    #[serde(skip)]
    pub element: Option<String>,
}

impl Difference {
    pub fn new(
        check: Check,
        item: Option<&str>,
        expected: impl Into<String>,
        found: Option<String>,
    ) -> Difference {
        Difference {
            check,
            item: item.map(str::to_owned),
            expected: expected.into(),
            found,
            at: None,
            element: None,
        }
    }

    /// The difference, about this element (as the file writes it).
    pub fn element(mut self, element: impl Into<String>) -> Difference {
        self.element = Some(element.into());
        self
    }

    /// The element as the file writes it: the one the editor named, else the one its check and item say.
    pub fn element_text(&self) -> String {
        if let Some(element) = &self.element {
            return element.clone();
        }
        let item = self.item.as_deref().unwrap_or("?");
        let first_word = self.expected.split(' ').next().unwrap_or("");
        let of_datasource = |tag: &str| format!("<{tag}> of datasource {item}");
        match self.check {
            Check::DatasourceUrl => of_datasource("url"),
            Check::DatasourceUser => of_datasource("username"),
            Check::DatasourcePassword => of_datasource("password"),
            Check::DatasourceDriver => of_datasource("driverClassName"),
            Check::DatasourcePool => of_datasource(first_word),
            Check::DatasourceJndi => format!("<jndiConfig><name> of datasource {item}"),
            Check::DatasourceName => format!("<name> of the datasource with JNDI name {item}"),
            Check::DatasourceMissing => "<datasource> in <datasources>".to_string(),
            Check::UserMgtDatasource => {
                "<Property name=\"dataSource\"> in user-mgt.xml".to_string()
            }
            Check::RegistryDbConfig => "<dataSource> of <dbConfig>".to_string(),
            Check::RemoteInstanceMissing => "<remoteInstance>".to_string(),
            Check::RemoteInstance if first_word == "url" => format!("url of <{item}>"),
            Check::RemoteInstance => format!("<{first_word}> of <{item}>"),
            Check::CacheId => "<cacheId> of <remoteInstance>".to_string(),
            Check::Mount => "<mount>".to_string(),
            other => other.as_str().to_string(),
        }
    }

    /// The difference, at this byte offset of the file it was found in.
    pub fn at(mut self, offset: usize) -> Difference {
        self.at = Some(offset);
        self
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
    /// What kind of finding it is (docs/checks.md).
    pub check: Check,
    pub expected: Option<String>,
    pub found: Option<String>,
    /// What to do about it.
    pub fix: String,
    /// For a finding about a node file: where (JSON `file`, `line`, `element`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// Where in a node file a finding is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file's full path.
    pub file: String,
    /// The path relative to the node's EI_HOME (`conf/registry.xml`), as the human output says it.
    #[serde(skip)]
    pub relative: String,
    /// The line (from 1) of the element, or of its parent when the element is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The element as the file writes it: `<url>` of datasource `WSO2_CARBON_DB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
    /// The file's diff (as `--dry-run` shows it), on the first finding of the file only (human output).
    #[serde(skip)]
    pub diff: Option<String>,
}

impl Finding {
    pub fn new(
        subject: &str,
        check: Check,
        expected: Option<String>,
        found: Option<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            subject: subject.to_string(),
            check,
            expected,
            found,
            fix: fix.into(),
            location: None,
        }
    }
}

impl Finding {
    /// A warning that came as one line of text: its subject is the line's leading `node NAME`,
    /// `database NAME`, `member NAME` or `account NAME` when it has one (`node n1: ...`), else `run`.
    pub fn warning_text(check: Check, text: impl Into<String>) -> Finding {
        let text = text.into();
        let prefixed = ["node ", "database ", "member ", "account "]
            .iter()
            .any(|p| text.starts_with(p));
        let (subject, found) = match text.split_once(": ") {
            Some((subject, rest)) if prefixed && subject.split(' ').count() == 2 => {
                (subject.to_string(), rest.to_string())
            }
            _ => ("run".to_string(), text),
        };
        Finding {
            subject,
            check,
            expected: None,
            found: Some(found),
            fix: String::new(),
            location: None,
        }
    }

    /// A warning (a conflict eidb leaves as it is, a problem provision does not fix, a line of text) as one
    /// line of the human output: the subject, what was found (or expected), and the fix.
    pub fn warning_line(&self) -> String {
        let mut line = if self.subject == "run" {
            String::new()
        } else {
            format!("{}: ", self.subject)
        };
        match (&self.found, &self.expected) {
            (Some(found), Some(expected)) => {
                line.push_str(&format!("{found} (expected {expected})"))
            }
            (Some(found), None) => line.push_str(found),
            (None, Some(expected)) => line.push_str(&format!("expected {expected}, found none")),
            (None, None) => line.push_str(self.check.as_str()),
        }
        if !self.fix.is_empty() {
            line.push_str(&format!("; {}", self.fix));
        }
        line
    }

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
