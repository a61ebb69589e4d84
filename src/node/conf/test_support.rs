//! Helpers shared by the tests of the file modules.

use proptest::prelude::*;

/// The text of a real WSO2 EI 6.x file (e.g. `datasources/master-datasources.xml`), from wherever the
/// tests find the real files (`crate::wso2_files`: EIDB_WSO2_FILES, ../shared/wso2-ei, the cache).
pub fn real_conf(relative: &str) -> String {
    let path = crate::wso2_files::ei6_dir().join("conf").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Asserts that `edited` keeps every line of `original`, byte for byte and in order, except lines
/// that hold one of the `owned` markers (such as `<url`): those alone may change or go.
pub fn assert_only_owned_lines_changed(original: &str, edited: &str, owned: &[&str]) {
    let before: Vec<&str> = original.split_inclusive('\n').collect();
    let after: Vec<&str> = edited.split_inclusive('\n').collect();
    for (number, (line, kept)) in before.iter().zip(kept_lines(&before, &after)).enumerate() {
        assert!(
            kept || owned.iter().any(|marker| line.contains(marker)),
            "line {} changed but holds nothing eidb owns: {line:?}\n--- edited:\n{edited}",
            number + 1
        );
    }
}

/// For each line of `before`, whether a longest common subsequence with `after` keeps it.
fn kept_lines(before: &[&str], after: &[&str]) -> Vec<bool> {
    let width = after.len() + 1;
    let mut longest = vec![0usize; (before.len() + 1) * width];
    for i in (0..before.len()).rev() {
        for j in (0..after.len()).rev() {
            longest[i * width + j] = if before[i] == after[j] {
                longest[(i + 1) * width + j + 1] + 1
            } else {
                longest[(i + 1) * width + j].max(longest[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut kept = vec![false; before.len()];
    while i < before.len() && j < after.len() {
        if before[i] == after[j] {
            kept[i] = true;
            (i, j) = (i + 1, j + 1);
        } else if longest[(i + 1) * width + j] >= longest[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    kept
}

pub fn assert_no_bare_lf(text: &str) {
    let bytes = text.as_bytes();
    if let Some(at) =
        (0..bytes.len()).find(|&i| bytes[i] == b'\n' && (i == 0 || bytes[i - 1] != b'\r'))
    {
        let line = text[..at].matches('\n').count() + 1;
        panic!("a bare LF ends line {line}:\n{text}");
    }
}

pub fn to_crlf(lf_text: &str) -> String {
    assert!(
        !lf_text.contains('\r'),
        "expected a file with LF line endings"
    );
    lf_text.replace('\n', "\r\n")
}

/// Any text XML 1.0 can hold, with the characters that need escaping over-represented.
pub fn xml_text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '&', '<', '>', '"', '\'', '\\', ';', '%', '@', ' ', '\t', '\n', '\r', '=', 'é', '€', '😀',
    ]);
    let any_legal = any::<char>().prop_filter("a character XML 1.0 can hold", |c| {
        super::xml::is_xml_char(*c)
    });
    prop::collection::vec(prop_oneof![special, any_legal], 0..24).prop_map(String::from_iter)
}

#[test]
fn owned_line_check_catches_a_changed_foreign_line() {
    let original = "<a>\n<url>x</url>\n<keep>1</keep>\n</a>\n";
    assert_only_owned_lines_changed(
        original,
        "<a>\n<url>y</url>\n<keep>1</keep>\n</a>\n",
        &["<url"],
    );
    let result = std::panic::catch_unwind(|| {
        assert_only_owned_lines_changed(
            original,
            "<a>\n<url>x</url>\n<keep>2</keep>\n</a>\n",
            &["<url"],
        )
    });
    assert!(result.is_err());
}

#[test]
fn bare_lf_check_catches_a_bare_lf() {
    assert_no_bare_lf("a\r\nb\r\n");
    assert!(std::panic::catch_unwind(|| assert_no_bare_lf("a\r\nb\nc")).is_err());
}
