//! A format-preserving XML edit engine.
//!
//! A document is parsed once into a small tree that records, for each element, the byte ranges of
//! its tags, attribute values and content in the original text (quick-xml finds them). Edits are
//! splices of exactly those ranges, so every byte outside an edited value is the original byte:
//! comments, blank lines, indentation, quoting, the XML declaration, line endings.

use std::fmt::Write as _;
use std::ops::Range;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesDecl, BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// Why a configuration file cannot be read or edited, and where in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ConfError {
    /// Counted from 1.
    pub line: usize,
    /// Counted from 1, in characters.
    pub column: usize,
    pub message: String,
}

impl ConfError {
    /// An error at byte `offset` of `source`.
    pub fn at(source: &str, offset: usize, message: impl Into<String>) -> Self {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &source[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            message: message.into(),
        }
    }
}

/// An element of a parsed document, with where each part of it is in the source.
pub struct Element {
    /// The qualified name, as written (`svns:foo` stays `svns:foo`).
    pub name: String,
    /// From `<` of the start tag to after `>` of the end tag.
    pub span: Range<usize>,
    pub start_tag: Range<usize>,
    /// `None` for a self-closing element such as `<url/>`.
    pub end_tag: Option<Range<usize>>,
    pub attributes: Vec<Attribute>,
    /// Where a new attribute goes: after the last attribute, or after the name.
    attributes_end: usize,
    pub children: Vec<Element>,
    /// The character data directly inside, unescaped: text, references and CDATA, not comments.
    text: String,
}

pub struct Attribute {
    pub name: String,
    /// Unescaped and normalised as an XML parser reports it.
    pub value: String,
    /// From the start of the name to after the closing quote.
    span: Range<usize>,
    /// Between the quotes.
    value_span: Range<usize>,
    quote: char,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    pub fn children_named<'e>(&'e self, name: &'e str) -> impl Iterator<Item = &'e Element> + 'e {
        self.children.iter().filter(move |child| child.name == name)
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name == name)
            .map(|attribute| attribute.value.as_str())
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text of the first child called `name`.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.child(name).map(|child| child.text.clone())
    }

    fn open(source: &str, tag: &BytesStart<'_>, span: Range<usize>) -> Result<Self, ConfError> {
        let error = |message: String| ConfError::at(source, span.start, message);
        let name = tag.name().as_ref().to_owned();
        let parsed = tag
            .attributes()
            .map(|attribute| {
                let attribute = attribute.map_err(|e| error(e.to_string()))?;
                let value = attribute
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|e| error(e.to_string()))?;
                Ok(value.into_owned())
            })
            .collect::<Result<Vec<_>, ConfError>>()?;
        let (spans, attributes_end) = attribute_spans(&source[span.clone()], name.len())
            .filter(|(spans, _)| spans.len() == parsed.len())
            .ok_or_else(|| error(format!("cannot read the attributes of <{name}>")))?;
        let shift = |range: Range<usize>| range.start + span.start..range.end + span.start;
        let attributes = spans
            .into_iter()
            .zip(parsed)
            .map(|(found, value)| Attribute {
                name: source[shift(found.name.clone())].to_owned(),
                value,
                span: shift(found.name.start..found.value.end + 1),
                value_span: shift(found.value),
                quote: found.quote,
            })
            .collect();
        Ok(Self {
            name,
            start_tag: span.clone(),
            span: span.clone(),
            end_tag: None,
            attributes,
            attributes_end: span.start + attributes_end,
            children: Vec::new(),
            text: String::new(),
        })
    }
}

struct AttributeSpan {
    name: Range<usize>,
    value: Range<usize>,
    quote: char,
}

/// Finds the attributes of a start tag (`<name a="1" b='2'>` or `.../>`), relative to the tag,
/// and where its last attribute ends. quick-xml has checked the syntax; this only locates.
fn attribute_spans(tag: &str, name_len: usize) -> Option<(Vec<AttributeSpan>, usize)> {
    let bytes = tag.as_bytes();
    let skip_space = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let mut spans = Vec::new();
    let mut end = 1 + name_len;
    loop {
        let name_start = skip_space(end);
        if matches!(bytes.get(name_start)?, b'>' | b'/') {
            return Some((spans, end));
        }
        let name_len = tag[name_start..].find(|c: char| c == '=' || c.is_ascii_whitespace())?;
        let equals = skip_space(name_start + name_len);
        if *bytes.get(equals)? != b'=' {
            return None;
        }
        let open_quote = skip_space(equals + 1);
        let quote = char::from(*bytes.get(open_quote)?);
        if quote != '"' && quote != '\'' {
            return None;
        }
        let value_start = open_quote + 1;
        let value_end = value_start + tag[value_start..].find(quote)?;
        spans.push(AttributeSpan {
            name: name_start..name_start + name_len,
            value: value_start..value_end,
            quote,
        });
        end = value_end + 1;
    }
}

/// A parsed document, its source and the habits new text must follow.
pub struct Document<'s> {
    source: &'s str,
    root: Element,
    /// The declaration names an encoding other than UTF-8/16, so non-ASCII goes in as `&#N;`.
    ascii_only: bool,
}

impl<'s> Document<'s> {
    pub fn parse(source: &'s str) -> Result<Self, ConfError> {
        // quick-xml skips a byte order mark without counting it in its positions.
        let body_start = if source.starts_with('\u{FEFF}') {
            '\u{FEFF}'.len_utf8()
        } else {
            0
        };
        let mut reader = Reader::from_str(&source[body_start..]);
        let position = |offset: u64| body_start + to_offset(offset);
        let mut open: Vec<Element> = Vec::new();
        let mut root = None;
        let mut ascii_only = false;
        loop {
            let start = position(reader.buffer_position());
            let event = reader.read_event().map_err(|e| {
                ConfError::at(source, position(reader.error_position()), e.to_string())
            })?;
            let end = position(reader.buffer_position());
            let error = |message: &str| ConfError::at(source, start, message);
            let misplaced_text = |message: &str| {
                let blanks = source[start..end].len()
                    - source[start..end].trim_start_matches(is_xml_space).len();
                ConfError::at(source, start + blanks, message)
            };
            match event {
                Event::Decl(declaration) => ascii_only = declares_legacy_encoding(&declaration),
                Event::Start(tag) => {
                    if open.is_empty() && root.is_some() {
                        return Err(error(SECOND_ROOT));
                    }
                    open.push(Element::open(source, &tag, start..end)?);
                }
                Event::Empty(tag) => {
                    let element = Element::open(source, &tag, start..end)?;
                    attach(element, &mut open, &mut root).map_err(error)?;
                }
                Event::End(_) => {
                    let mut element = open
                        .pop()
                        .ok_or_else(|| error("an end tag without a start tag"))?;
                    element.end_tag = Some(start..end);
                    element.span.end = end;
                    attach(element, &mut open, &mut root).map_err(error)?;
                }
                Event::Text(text) => {
                    add_text(&mut open, &text.xml10_content()).map_err(misplaced_text)?
                }
                Event::CData(data) => {
                    add_text(&mut open, &data.xml10_content()).map_err(misplaced_text)?
                }
                Event::GeneralRef(reference) => {
                    let resolved = resolve_reference(&reference).ok_or_else(|| {
                        error(&format!(
                            "unknown entity or bad character reference &{};",
                            &*reference
                        ))
                    })?;
                    add_text(&mut open, &resolved).map_err(misplaced_text)?;
                }
                Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
                Event::Eof => break,
            }
        }
        if let Some(unclosed) = open.last() {
            let message = format!("<{}> is never closed", unclosed.name);
            return Err(ConfError::at(source, unclosed.span.start, message));
        }
        let root = root.ok_or_else(|| ConfError::at(source, 0, "no root element"))?;
        Ok(Self {
            source,
            root,
            ascii_only,
        })
    }

    /// The line ending new elements get: CRLF when most line breaks of the file are CRLF. Asked only
    /// when an element is added (a file is parsed several times per run, and mostly not edited).
    pub fn line_ending(&self) -> &'static str {
        line_ending_of(self.source)
    }

    pub fn error(&self, at: &Element, message: impl Into<String>) -> ConfError {
        ConfError::at(self.source, at.span.start, message)
    }

    pub fn expect_root(&self, name: &str) -> Result<&Element, ConfError> {
        if self.root.name == name {
            Ok(&self.root)
        } else {
            let message = format!(
                "expected <{name}> as the root element, found <{}>",
                self.root.name
            );
            Err(self.error(&self.root, message))
        }
    }

    /// The first child called `name`, which the file must have: eidb does not create the
    /// skeleton of a WSO2 file.
    pub fn required_child<'e>(
        &self,
        parent: &'e Element,
        name: &str,
    ) -> Result<&'e Element, ConfError> {
        parent.child(name).ok_or_else(|| {
            let message = format!(
                "<{}> has no <{name}> element; restore it from the WSO2 distribution",
                parent.name
            );
            self.error(parent, message)
        })
    }

    /// The one element among `candidates` that `is_it` picks, if any; two are an error, since
    /// editing either could leave the other one in force.
    pub fn unique<'e>(
        &self,
        candidates: impl IntoIterator<Item = &'e Element>,
        is_it: impl Fn(&Element) -> bool,
        what: impl Fn() -> String,
    ) -> Result<Option<&'e Element>, ConfError> {
        let mut found = candidates.into_iter().filter(|element| is_it(element));
        let first = found.next();
        match found.next() {
            Some(second) => {
                Err(self.error(second, format!("{} is defined twice; remove one", what())))
            }
            None => Ok(first),
        }
    }

    fn line_start(&self, at: usize) -> usize {
        self.source[..at].rfind('\n').map_or(0, |i| i + 1)
    }

    /// The spaces and tabs that begin the line holding `at`.
    fn indent_at(&self, at: usize) -> &'s str {
        let line = &self.source[self.line_start(at)..at];
        &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
    }

    fn starts_line(&self, at: usize) -> bool {
        self.source[self.line_start(at)..at]
            .bytes()
            .all(|b| b == b' ' || b == b'\t')
    }

    /// How much deeper `element`'s children are indented than itself, if the file shows it.
    fn child_step(&self, element: &Element) -> Option<&'s str> {
        if !self.starts_line(element.span.start) {
            return None;
        }
        let child = element
            .children
            .iter()
            .find(|child| self.starts_line(child.span.start))?;
        let step = self
            .indent_at(child.span.start)
            .strip_prefix(self.indent_at(element.span.start))?;
        (!step.is_empty()).then_some(step)
    }

    fn first_step_below(&self, element: &Element) -> Option<&'s str> {
        self.child_step(element).or_else(|| {
            element
                .children
                .iter()
                .find_map(|child| self.first_step_below(child))
        })
    }

    /// The indentation step for new content inside `element`: its own, else the file's, else
    /// the 4 spaces WSO2 uses.
    fn indent_step(&self, element: &Element) -> &'s str {
        self.child_step(element)
            .or_else(|| self.first_step_below(&self.root))
            .unwrap_or("    ")
    }

    /// Where new lines after the element ending at `end` go: after the rest of its line when
    /// that holds only blanks or comments (so the element's line stays as it is), else right
    /// after the element.
    fn insertion_point_after(&self, end: usize) -> usize {
        let rest = &self.source[end..];
        let mut line_end = end + rest.find('\n').unwrap_or(rest.len());
        if line_end > end && self.source.as_bytes()[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        let mut trailing = self.source[end..line_end].trim_start_matches(is_xml_space);
        while let Some(comment) = trailing.strip_prefix("<!--") {
            match comment.find("-->") {
                Some(close) => trailing = comment[close + 3..].trim_start_matches(is_xml_space),
                None => return end,
            }
        }
        if trailing.is_empty() {
            line_end
        } else {
            end
        }
    }
}

const SECOND_ROOT: &str = "a second root element; an XML file has exactly one";

fn to_offset(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

fn attach(
    element: Element,
    open: &mut [Element],
    root: &mut Option<Element>,
) -> Result<(), &'static str> {
    match open.last_mut() {
        Some(parent) => parent.children.push(element),
        None if root.is_none() => *root = Some(element),
        None => return Err(SECOND_ROOT),
    }
    Ok(())
}

fn add_text(open: &mut [Element], text: &str) -> Result<(), &'static str> {
    match open.last_mut() {
        Some(element) => element.text.push_str(text),
        None if text.trim_matches(is_xml_space).is_empty() => {}
        None => return Err("text outside the root element"),
    }
    Ok(())
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn resolve_reference(reference: &BytesRef<'_>) -> Option<String> {
    match reference.resolve_char_ref() {
        Ok(Some(c)) => Some(c.to_string()),
        Ok(None) => resolve_predefined_entity(reference).map(str::to_owned),
        Err(_) => None,
    }
}

fn declares_legacy_encoding(declaration: &BytesDecl<'_>) -> bool {
    match declaration.encoding() {
        Some(Ok(encoding)) => !encoding.to_ascii_lowercase().starts_with("utf"),
        _ => false,
    }
}

/// CRLF when most line breaks of the file are CRLF.
fn line_ending_of(source: &str) -> &'static str {
    let breaks = source.matches('\n').count();
    let crlf = source.matches("\r\n").count();
    if crlf * 2 > breaks {
        "\r\n"
    } else {
        "\n"
    }
}

/// Characters XML 1.0 can hold at all, literally or as a reference.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes text content (`quote` is `None`) or an attribute value quoted with `quote`.
/// `None` when the value holds a character XML 1.0 cannot represent.
fn escape(value: &str, quote: Option<char>, ascii_only: bool) -> Option<String> {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' if quote == Some('"') => escaped.push_str("&quot;"),
            '\'' if quote == Some('\'') => escaped.push_str("&apos;"),
            // Parsers turn literal line breaks (and tabs in attributes) into something else, and a
            // literal LF would also break a CRLF file's line endings.
            '\n' | '\r' => push_reference(&mut escaped, c),
            '\t' if quote.is_some() => push_reference(&mut escaped, c),
            c if !is_xml_char(c) => return None,
            c if ascii_only && !c.is_ascii() => push_reference(&mut escaped, c),
            c => escaped.push(c),
        }
    }
    Some(escaped)
}

fn push_reference(out: &mut String, c: char) {
    let _ = write!(out, "&#{};", u32::from(c));
}

/// An element eidb adds, rendered with the indentation of the place it goes to.
pub struct NewElement {
    name: &'static str,
    attributes: Vec<(String, String)>,
    content: NewContent,
}

enum NewContent {
    Text(String),
    Children(Vec<NewElement>),
}

impl NewElement {
    pub fn leaf(name: &'static str, text: impl Into<String>) -> Self {
        Self {
            name,
            attributes: Vec::new(),
            content: NewContent::Text(text.into()),
        }
    }

    pub fn parent(name: &'static str, children: Vec<NewElement>) -> Self {
        Self {
            name,
            attributes: Vec::new(),
            content: NewContent::Children(children),
        }
    }

    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((name.into(), value.into()));
        self
    }
}

struct Splice {
    range: Range<usize>,
    text: String,
}

struct Insertion<'d> {
    parent: &'d Element,
    after: Option<&'d Element>,
    elements: Vec<NewElement>,
}

/// What an edit of one value found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// It already said the value.
    Unchanged,
    /// It said this instead (an element's text when it has no child elements, else `(elements)`).
    From(String),
    /// It was not there and is added.
    Added,
}

impl Changed {
    pub fn is_changed(&self) -> bool {
        *self != Changed::Unchanged
    }

    /// What was found, as a finding says it: `None` when the value was missing.
    pub fn found(self) -> Option<String> {
        match self {
            Changed::From(text) => Some(text),
            Changed::Unchanged | Changed::Added => None,
        }
    }
}

/// An element's value as a difference shows it.
fn describe(element: &Element) -> String {
    if element.children.is_empty() {
        element.text.clone()
    } else {
        format!("<{}> with child elements", element.name)
    }
}

/// Collects edits against one document and applies them all at once.
pub struct Editor<'d> {
    doc: &'d Document<'d>,
    splices: Vec<Splice>,
    insertions: Vec<Insertion<'d>>,
}

impl<'d> Editor<'d> {
    pub fn new(doc: &'d Document<'d>) -> Self {
        Self {
            doc,
            splices: Vec::new(),
            insertions: Vec::new(),
        }
    }

    /// Makes `element`'s text `value`; leaves it alone when it already means that. `true` when it
    /// changes.
    pub fn set_text(&mut self, element: &Element, value: &str) -> Result<bool, ConfError> {
        if element.children.is_empty() && element.text == value {
            return Ok(false);
        }
        let escaped = escape(value, None, self.doc.ascii_only).ok_or_else(|| {
            self.unrepresentable(element.span.start, &format!("<{}>", element.name))
        })?;
        match &element.end_tag {
            Some(end_tag) => self.splice(element.start_tag.end..end_tag.start, escaped),
            None => {
                let slash = element.start_tag.end - "/>".len();
                let expanded = format!(">{escaped}</{}>", element.name);
                self.splice(slash..element.span.end, expanded);
            }
        }
        Ok(true)
    }

    /// Makes the text of every child called `name` `value`, or adds one after the last child.
    /// Returns what the first such child said before, `None` when there was none, or `Some` of the
    /// same value when nothing changes.
    pub fn set_child_text(
        &mut self,
        parent: &'d Element,
        name: &'static str,
        value: &str,
    ) -> Result<Changed, ConfError> {
        let mut changed = Changed::Unchanged;
        for child in parent.children_named(name) {
            if self.set_text(child, value)? && changed == Changed::Unchanged {
                changed = Changed::From(describe(child));
            }
        }
        if parent.child(name).is_none() {
            self.insert(
                parent,
                parent.children.last(),
                NewElement::leaf(name, value),
            );
            changed = Changed::Added;
        }
        Ok(changed)
    }

    /// Sets an attribute, keeping its quoting; a new one goes after the last attribute.
    pub fn set_attribute(
        &mut self,
        element: &Element,
        name: &str,
        value: &str,
    ) -> Result<Changed, ConfError> {
        let existing = element
            .attributes
            .iter()
            .find(|attribute| attribute.name == name);
        if existing.is_some_and(|attribute| attribute.value == value) {
            return Ok(Changed::Unchanged);
        }
        let changed = existing.map_or(Changed::Added, |a| Changed::From(a.value.clone()));
        let quote = existing.map_or('"', |attribute| attribute.quote);
        let escaped = escape(value, Some(quote), self.doc.ascii_only).ok_or_else(|| {
            self.unrepresentable(element.span.start, &format!("attribute {name}"))
        })?;
        match existing {
            Some(attribute) => self.splice(attribute.value_span.clone(), escaped),
            None => {
                let at = element.attributes_end;
                self.splice(at..at, format!(" {name}=\"{escaped}\""));
            }
        }
        Ok(changed)
    }

    /// Removes an attribute and the blanks before it.
    pub fn remove_attribute(&mut self, element: &Element, name: &str) {
        if let Some(attribute) = element
            .attributes
            .iter()
            .find(|attribute| attribute.name == name)
        {
            let before = &self.doc.source[..attribute.span.start];
            let start = before.trim_end_matches(is_xml_space).len();
            self.splice(start..attribute.span.end, String::new());
        }
    }

    /// Adds `element` to `parent`: after `after` with its indentation, or, when `after` is
    /// `None`, as the last thing before `parent`'s end tag. Several insertions at one place keep
    /// the order they were asked in.
    pub fn insert(&mut self, parent: &'d Element, after: Option<&'d Element>, element: NewElement) {
        let same_place = |insertion: &&mut Insertion<'d>| {
            std::ptr::eq(insertion.parent, parent)
                && insertion.after.map(|e| e as *const Element)
                    == after.map(|e| e as *const Element)
        };
        match self.insertions.iter_mut().find(same_place) {
            Some(insertion) => insertion.elements.push(element),
            None => self.insertions.push(Insertion {
                parent,
                after,
                elements: vec![element],
            }),
        }
    }

    /// Replaces everything inside `element` (text, comments and children) with `children`, one
    /// indentation step deeper than the element; a self-closing element gets an end tag.
    pub fn replace_children(
        &mut self,
        element: &Element,
        children: &[NewElement],
    ) -> Result<(), ConfError> {
        let doc = self.doc;
        let eol = doc.line_ending();
        let indent = doc.indent_at(element.span.start);
        let step = doc.indent_step(element);
        let inner = format!("{indent}{step}");
        let mut text = String::new();
        for child in children {
            text.push_str(eol);
            text.push_str(&inner);
            self.render(&mut text, child, &inner, step)
                .map_err(|name| self.unrepresentable(element.span.start, &format!("<{name}>")))?;
        }
        text.push_str(eol);
        text.push_str(indent);
        match &element.end_tag {
            Some(end_tag) => self.splice(element.start_tag.end..end_tag.start, text),
            None => {
                let slash = element.start_tag.end - "/>".len();
                self.splice(
                    slash..element.span.end,
                    format!(">{text}</{}>", element.name),
                );
            }
        }
        Ok(())
    }

    /// The edited text. Bytes no edit touched are copied as they were.
    pub fn finish(mut self) -> Result<String, ConfError> {
        for insertion in std::mem::take(&mut self.insertions) {
            let splice = self.render_insertion(&insertion)?;
            self.splices.push(splice);
        }
        self.splices
            .sort_by_key(|splice| (splice.range.start, splice.range.end));
        self.splices
            .dedup_by(|later, earlier| later.range == earlier.range && later.text == earlier.text);
        let source = self.doc.source;
        let mut edited = String::with_capacity(source.len() + 256);
        let mut copied = 0;
        for splice in &self.splices {
            if splice.range.start < copied {
                let message = "two different edits of the same place; does the desired configuration name one thing twice?";
                return Err(ConfError::at(source, splice.range.start, message));
            }
            edited.push_str(&source[copied..splice.range.start]);
            edited.push_str(&splice.text);
            copied = splice.range.end;
        }
        edited.push_str(&source[copied..]);
        Ok(edited)
    }

    fn splice(&mut self, range: Range<usize>, text: String) {
        self.splices.push(Splice { range, text });
    }

    /// `what` (an element or attribute) was to get a value XML cannot hold; the value itself
    /// may be a password, so it is not shown.
    fn unrepresentable(&self, at: usize, what: &str) -> ConfError {
        let message = format!(
            "the new value of {what} contains a control character that XML 1.0 cannot represent; \
             fix it in the cluster spec"
        );
        ConfError::at(self.doc.source, at, message)
    }

    fn render_insertion(&self, insertion: &Insertion<'_>) -> Result<Splice, ConfError> {
        let doc = self.doc;
        let eol = doc.line_ending();
        let parent = insertion.parent;
        let render_all = |indent: &str, step: &str, before_each: &str, after_each: &str| {
            let mut text = String::new();
            for element in &insertion.elements {
                text.push_str(before_each);
                text.push_str(indent);
                self.render(&mut text, element, indent, step)
                    .map_err(|name| {
                        self.unrepresentable(parent.span.start, &format!("<{name}>"))
                    })?;
                text.push_str(after_each);
            }
            Ok::<_, ConfError>(text)
        };
        if let Some(sibling) = insertion.after {
            let at = doc.insertion_point_after(sibling.span.end);
            let text = render_all(
                doc.indent_at(sibling.span.start),
                doc.indent_step(sibling),
                eol,
                "",
            )?;
            return Ok(Splice {
                range: at..at,
                text,
            });
        }
        let parent_indent = doc.indent_at(parent.span.start);
        let step = doc.indent_step(parent);
        let indent = match parent.children.last() {
            Some(last) => doc.indent_at(last.span.start).to_owned(),
            None => format!("{parent_indent}{step}"),
        };
        Ok(match &parent.end_tag {
            Some(end_tag) if doc.starts_line(end_tag.start) => {
                let at = doc.line_start(end_tag.start);
                Splice {
                    range: at..at,
                    text: render_all(&indent, step, "", eol)?,
                }
            }
            Some(end_tag) => Splice {
                range: end_tag.start..end_tag.start,
                text: render_all(&indent, step, eol, "")? + eol + parent_indent,
            },
            None => {
                let children = render_all(&indent, step, eol, "")?;
                Splice {
                    range: parent.start_tag.end - "/>".len()..parent.span.end,
                    text: format!(">{children}{eol}{parent_indent}</{}>", parent.name),
                }
            }
        })
    }

    /// Writes `element` whose start tag sits at `indent`; `Err` names the element whose value
    /// cannot be written.
    fn render(
        &self,
        out: &mut String,
        element: &NewElement,
        indent: &str,
        step: &str,
    ) -> Result<(), &'static str> {
        let ascii_only = self.doc.ascii_only;
        out.push('<');
        out.push_str(element.name);
        for (name, value) in &element.attributes {
            let value = escape(value, Some('"'), ascii_only).ok_or(element.name)?;
            let _ = write!(out, " {name}=\"{value}\"");
        }
        out.push('>');
        match &element.content {
            NewContent::Text(text) => {
                out.push_str(&escape(text, None, ascii_only).ok_or(element.name)?)
            }
            NewContent::Children(children) => {
                let inner = format!("{indent}{step}");
                for child in children {
                    out.push_str(self.doc.line_ending());
                    out.push_str(&inner);
                    self.render(out, child, &inner, step)?;
                }
                out.push_str(self.doc.line_ending());
                out.push_str(indent);
            }
        }
        let _ = write!(out, "</{}>", element.name);
        Ok(())
    }
}

const MASK: &str = "********";

/// Replaces the text of every `<password>` element (any case, any prefix) and of every
/// `<property>` whose name ends in "password" (such as the one in `dataSourceProps`, or an LDAP
/// `ConnectionPassword`) with `********`, so a diff can be shown without secrets.
///
/// This works on the raw text, not on a parse: commented-out passwords are masked too, and a
/// malformed file is masked as well as it can be rather than not at all.
pub fn mask_passwords(xml: &str) -> String {
    let mut masked = String::with_capacity(xml.len());
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = xml[at..].find('<') {
        let tag_start = at + found;
        let Some(tag_len) = xml[tag_start..].find('>') else {
            break;
        };
        let content_start = tag_start + tag_len + 1;
        at = tag_start + 1;
        let Some(name) = secret_holder(&xml[tag_start..content_start]) else {
            continue;
        };
        let Some(content_len) = xml[content_start..].find(&format!("</{name}")) else {
            continue;
        };
        if content_len > 0 {
            masked.push_str(&xml[copied..content_start]);
            masked.push_str(MASK);
            copied = content_start + content_len;
        }
        at = content_start + content_len;
    }
    masked.push_str(&xml[copied..]);
    masked
}

/// The element name, if `tag` is a start tag whose content is a password.
fn secret_holder(tag: &str) -> Option<&str> {
    let inner = tag.strip_prefix('<')?;
    if inner.starts_with(['/', '!', '?']) || tag.ends_with("/>") {
        return None;
    }
    let name = &inner[..inner.find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')?];
    let local = name.rsplit(':').next()?;
    if local.eq_ignore_ascii_case("password") {
        return Some(name);
    }
    if !local.eq_ignore_ascii_case("property") {
        return None;
    }
    let (spans, _) = attribute_spans(tag, name.len())?;
    let names_a_password = spans.iter().any(|span| {
        &tag[span.name.clone()] == "name"
            && tag[span.value.clone()]
                .to_ascii_lowercase()
                .ends_with("password")
    });
    names_a_password.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(
        source: &str,
        change: impl for<'d> FnOnce(&'d Document<'d>, &mut Editor<'d>),
    ) -> String {
        let doc = Document::parse(source).unwrap();
        let mut editor = Editor::new(&doc);
        change(&doc, &mut editor);
        editor.finish().unwrap()
    }

    fn parse_error(source: &str) -> ConfError {
        match Document::parse(source) {
            Ok(_) => panic!("parsed although malformed: {source:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn error_display_names_line_and_column() {
        let error = ConfError::at("ab\ncdé\nf", 7, "bad");
        assert_eq!((error.line, error.column), (2, 4));
        assert_eq!(error.to_string(), "line 2, column 4: bad");
    }

    #[test]
    fn mismatched_end_tag_is_reported_where_it_is() {
        let error = parse_error("<a>\n  <b>x</c>\n</a>\n");
        assert_eq!(error.line, 2, "{error}");
        assert!(error.message.contains("</b>"), "{error}");
    }

    #[test]
    fn unclosed_element_is_reported_at_its_start_tag() {
        let error = parse_error("<a>\n\n   <b>x\n</a>");
        assert_eq!(error.line, 4, "{error}");
        let error = parse_error("<a>\n  <b>x</b>\n  <c>\n");
        assert_eq!((error.line, error.column), (3, 3), "{error}");
        assert!(error.message.contains("<c> is never closed"), "{error}");
    }

    #[test]
    fn garbage_and_broken_markup_are_errors_not_panics() {
        for (source, line) in [
            ("<a/>\ngarbage", 2),
            ("junk <a/>", 1),
            ("<a/>\n<b/>", 2),
            ("<a>\n<b x=\"1\" x=\"2\"/></a>", 2),
            ("<a>\n<b x=1/></a>", 2),
            ("<a>\n<b>&bogus;</b></a>", 2),
            ("<a>\n\n<b>1 & 2</b></a>", 3),
            ("<a><!-- open\n</a>", 1),
            ("", 1),
            ("<a", 1),
            ("</a>", 1),
        ] {
            let error = parse_error(source);
            assert_eq!(error.line, line, "{source:?}: {error}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_kept_and_does_not_shift_offsets() {
        let source = "\u{FEFF}<?xml version=\"1.0\"?>\n<r a=\"1\"><b>x</b></r>";
        let edited = edit(source, |doc, editor| {
            editor.set_text(doc.root.child("b").unwrap(), "y").unwrap();
        });
        assert_eq!(
            edited,
            "\u{FEFF}<?xml version=\"1.0\"?>\n<r a=\"1\"><b>y</b></r>"
        );
        assert_eq!(parse_error("\u{FEFF}<r>\n<b></c></r>").line, 2);
    }

    #[test]
    fn parses_text_references_cdata_and_attributes() {
        let doc = Document::parse(
            "<?xml version='1.0'?>\n<r a='x&amp;&apos;y' b=\"line\none\">\r\n <t>a&#38;b&lt;<![CDATA[<c>]]><!-- no --></t><e/></r>",
        )
        .unwrap();
        let root = &doc.root;
        assert_eq!(root.attribute("a"), Some("x&'y"));
        assert_eq!(root.attribute("b"), Some("line one"));
        assert_eq!(root.child("t").unwrap().text(), "a&b<<c>");
        assert_eq!(root.child("e").unwrap().text(), "");
        assert!(root.child("e").unwrap().end_tag.is_none());
        assert_eq!(doc.line_ending(), "\n");
    }

    #[test]
    fn set_text_escapes_and_skips_equal_values() {
        let source = "<r>\n  <u>a&#38;b</u>\n  <v/>\n  <w></w>\n</r>\n";
        let unchanged = edit(source, |doc, editor| {
            editor
                .set_text(doc.root.child("u").unwrap(), "a&b")
                .unwrap();
            editor.set_text(doc.root.child("v").unwrap(), "").unwrap();
        });
        assert_eq!(unchanged, source);
        let edited = edit(source, |doc, editor| {
            let root = &doc.root;
            editor.set_text(root.child("u").unwrap(), "<'\"&>").unwrap();
            editor.set_text(root.child("v").unwrap(), "v\r\n").unwrap();
            editor.set_text(root.child("w").unwrap(), "w").unwrap();
        });
        assert_eq!(
            edited,
            "<r>\n  <u>&lt;'\"&amp;&gt;</u>\n  <v>v&#13;&#10;</v>\n  <w>w</w>\n</r>\n"
        );
    }

    #[test]
    fn attributes_keep_their_quotes_and_new_ones_follow_the_last() {
        let source = "<r a='1' b=\"2\"/>";
        let edited = edit(source, |doc, editor| {
            let root = &doc.root;
            editor.set_attribute(root, "a", "it's").unwrap();
            editor.set_attribute(root, "b", "\"q\"").unwrap();
            editor.set_attribute(root, "c", "\t").unwrap();
        });
        assert_eq!(edited, "<r a='it&apos;s' b=\"&quot;q&quot;\" c=\"&#9;\"/>");
        let removed = edit(source, |doc, editor| {
            editor.remove_attribute(&doc.root, "a")
        });
        assert_eq!(removed, "<r b=\"2\"/>");
    }

    #[test]
    fn insertion_after_a_sibling_copies_its_indentation_and_keeps_its_line() {
        let source = "<r>\n\t<a>1</a> <!-- note -->\n\t<b>\n\t\t<c/>\n\t</b>\n</r>\n";
        let edited = edit(source, |doc, editor| {
            let root = &doc.root;
            let a = root.child("a").unwrap();
            editor.insert(root, Some(a), NewElement::leaf("x", "1"));
            editor.insert(
                root,
                Some(a),
                NewElement::parent("y", vec![NewElement::leaf("z", "2")]),
            );
        });
        assert_eq!(
            edited,
            "<r>\n\t<a>1</a> <!-- note -->\n\t<x>1</x>\n\t<y>\n\t\t<z>2</z>\n\t</y>\n\t<b>\n\t\t<c/>\n\t</b>\n</r>\n"
        );
    }

    #[test]
    fn insertion_into_empty_and_self_closing_parents() {
        let source = "<r>\n  <p>\n  </p>\n  <q></q>\n  <s/>\n</r>";
        let edited = edit(source, |doc, editor| {
            let root = &doc.root;
            for name in ["p", "q", "s"] {
                editor.insert(root.child(name).unwrap(), None, NewElement::leaf("x", name));
            }
        });
        assert_eq!(
            edited,
            "<r>\n  <p>\n    <x>p</x>\n  </p>\n  <q>\n    <x>q</x>\n  </q>\n  <s>\n    <x>s</x>\n  </s>\n</r>"
        );
    }

    #[test]
    fn crlf_files_get_crlf_lines() {
        let source = "<r>\r\n  <a/>\r\n</r>\r\n";
        let edited = edit(source, |doc, editor| {
            let root = &doc.root;
            editor.insert(
                root,
                root.child("a"),
                NewElement::parent("b", vec![NewElement::leaf("c", "\n")]),
            );
        });
        assert_eq!(
            edited,
            "<r>\r\n  <a/>\r\n  <b>\r\n    <c>&#10;</c>\r\n  </b>\r\n</r>\r\n"
        );
    }

    #[test]
    fn legacy_encodings_get_character_references_for_non_ascii() {
        let latin = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r><a/></r>";
        let edited = edit(latin, |doc, editor| {
            editor.set_text(doc.root.child("a").unwrap(), "é€").unwrap();
        });
        assert_eq!(
            edited,
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r><a>&#233;&#8364;</a></r>"
        );
        let utf8 = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><r><a/></r>";
        let edited = edit(utf8, |doc, editor| {
            editor.set_text(doc.root.child("a").unwrap(), "é").unwrap();
        });
        assert!(edited.ends_with("<a>é</a></r>"), "{edited}");
    }

    #[test]
    fn unrepresentable_characters_are_errors() {
        let doc = Document::parse("<r>\n<a/></r>").unwrap();
        let mut editor = Editor::new(&doc);
        let error = editor
            .set_text(doc.root.child("a").unwrap(), "x\u{1}")
            .unwrap_err();
        assert_eq!(error.line, 2);
        let mut editor = Editor::new(&doc);
        editor.insert(&doc.root, None, NewElement::leaf("b", "\u{FFFF}"));
        assert!(editor.finish().is_err());
    }

    #[test]
    fn conflicting_edits_are_an_error_and_identical_ones_merge() {
        let doc = Document::parse("<r><a>1</a></r>").unwrap();
        let a = doc.root.child("a").unwrap();
        let mut editor = Editor::new(&doc);
        editor.set_text(a, "2").unwrap();
        editor.set_text(a, "2").unwrap();
        assert_eq!(editor.finish().unwrap(), "<r><a>2</a></r>");
        let mut editor = Editor::new(&doc);
        editor.set_text(a, "2").unwrap();
        editor.set_text(a, "3").unwrap();
        assert!(editor.finish().is_err());
    }

    #[test]
    fn duplicates_are_reported_at_the_second() {
        let doc = Document::parse("<r>\n<a n='x'/>\n<a n='x'/>\n</r>").unwrap();
        let error = doc
            .unique(
                doc.root.children_named("a"),
                |a| a.attribute("n") == Some("x"),
                || "a x".into(),
            )
            .err()
            .expect("two matches are an error");
        assert_eq!(error.line, 3);
    }

    #[test]
    fn mask_passwords_hides_every_password_and_nothing_else() {
        let source = "<c>\n<password>s3cret</password>\n<svns:Password a='b'>p&amp;w</svns:Password>\n<password/>\n<password></password>\n<!--\n<property name=\"password\">123</property>\n--><Property name=\"ConnectionPassword\">ldap</Property>\n<Property name=\"ReadOnly\">false</Property>\n<username>user</username></c>";
        let masked = mask_passwords(source);
        assert_eq!(
            masked,
            "<c>\n<password>********</password>\n<svns:Password a='b'>********</svns:Password>\n<password/>\n<password></password>\n<!--\n<property name=\"password\">********</property>\n--><Property name=\"ConnectionPassword\">********</Property>\n<Property name=\"ReadOnly\">false</Property>\n<username>user</username></c>"
        );
        assert_eq!(mask_passwords("<password>unclosed"), "<password>unclosed");
        assert_eq!(
            mask_passwords("<<password>x</password"),
            "<<password>********</password"
        );
    }
}
