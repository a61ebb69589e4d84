//! Java `.properties` files eidb owns keys of (`conf/hazelcast.properties`, `conf/log4j.properties`),
//! edited by line: a key that is there gets its value on its own line (every line that sets it, since
//! Java keeps the last), a missing one is appended; every other line, comment and line ending stays.

use super::Edited;
use crate::core::check::Check;
use crate::core::drift::Difference;

/// The key of a `key=value`, `key: value` or `key value` line; `None` for comments and blank lines.
fn key_of(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
        return None;
    }
    let end = trimmed
        .find(|c: char| c == '=' || c == ':' || c.is_whitespace())
        .unwrap_or(trimmed.len());
    Some(&trimmed[..end])
}

/// The value of a line whose key is known.
fn value_of(line: &str) -> &str {
    let trimmed = line.trim_start();
    let key_len = key_of(line).map_or(0, str::len);
    let rest = trimmed[key_len..].trim_start();
    let rest = rest
        .strip_prefix('=')
        .or_else(|| rest.strip_prefix(':'))
        .unwrap_or(rest);
    rest.trim()
}

/// What the file sets `key` to (the last line that sets it, as Java reads it).
#[cfg(test)]
fn read_property(text: &str, key: &str) -> Option<String> {
    text.lines()
        .rev()
        .find(|l| key_of(l) == Some(key))
        .map(|l| value_of(l).to_string())
}

/// Makes `text` set each `(key, value)`; `check` names the differences.
pub fn edit_properties(text: &str, settings: &[(&str, &str)], check: Check) -> Edited {
    let crlf = {
        let breaks = text.matches('\n').count();
        breaks > 0 && text.matches("\r\n").count() * 2 > breaks
    };
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let mut differences = Vec::new();
    for (key, value) in settings {
        let mut seen = false;
        let mut found = None;
        for line in lines.iter_mut() {
            let body = line.trim_end_matches(['\r', '\n']);
            if key_of(body) != Some(key) {
                continue;
            }
            seen = true;
            if value_of(body) != *value {
                found = Some(value_of(body).to_string());
                let ending = &line[body.len()..];
                *line = format!("{key}={value}{ending}");
            }
        }
        if !seen {
            if let Some(last) = lines.last_mut() {
                if !last.ends_with('\n') {
                    last.push_str(eol);
                }
            }
            lines.push(format!("{key}={value}{eol}"));
        }
        if !seen || found.is_some() {
            differences.push(Difference::new(check, Some(key), value.to_string(), found));
        }
    }
    Edited {
        text: lines.concat(),
        differences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_set_in_place_or_appended_and_other_lines_kept() {
        let text = "# c\r\na=1\r\nhazelcast.logging.type = jdk\r\nb: 2";
        let edited = edit_properties(
            text,
            &[
                ("hazelcast.logging.type", "log4j"),
                ("hazelcast.shutdownhook.enabled", "false"),
            ],
            Check::HazelcastProperty,
        );
        assert_eq!(
            edited.text,
            "# c\r\na=1\r\nhazelcast.logging.type=log4j\r\nb: 2\r\nhazelcast.shutdownhook.enabled=false\r\n"
        );
        assert_eq!(edited.differences.len(), 2);
        assert_eq!(edited.differences[0].found.as_deref(), Some("jdk"));
        let again = edit_properties(
            &edited.text,
            &[
                ("hazelcast.logging.type", "log4j"),
                ("hazelcast.shutdownhook.enabled", "false"),
            ],
            Check::HazelcastProperty,
        );
        assert_eq!(again.text, edited.text);
        assert!(again.differences.is_empty());
        assert_eq!(read_property(&edited.text, "b").as_deref(), Some("2"));
    }

    #[test]
    fn an_empty_file_gets_the_lines() {
        let edited = edit_properties("", &[("k", "v")], Check::HazelcastProperty);
        assert_eq!(edited.text, "k=v\n");
        // A commented-out key is not the key.
        let edited = edit_properties("#k=w\n", &[("k", "v")], Check::HazelcastProperty);
        assert_eq!(edited.text, "#k=w\nk=v\n");
    }
}
