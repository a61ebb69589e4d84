//! Vendor dbscripts, split into statements the way the `mysql` client splits them, each tagged with
//! the schema object it creates so that a re-run can skip what already exists.
//!
//! Statement boundaries belong to the client, not the server: the server takes one statement at a
//! time and rejects `DELIMITER` (1064). The rules below follow `add_line` in the client's
//! `mysql.cc`, which MariaDB's client shares. One rule surprises people: a `/*! ... */` version
//! comment does not protect the delimiter. The client ends the statement at a `;` inside it (that
//! is why mysqldump switches to `DELIMITER ;;` around its version-commented triggers), so the
//! server would receive an unterminated comment; we report that as an error instead of sending the
//! broken halves.
//!
//! Backslash escapes inside strings are assumed on, as in every default `sql_mode`
//! (`NO_BACKSLASH_ESCAPES` off).

use std::fmt;

/// One statement of a script, ready to send to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text as sent to the server: without the delimiter, leading comments/whitespace
    /// trimmed, internal comments kept (including `/*! ... */` version comments, which the server
    /// executes).
    pub sql: String,
    /// 1-based line in the script where the statement starts (first non-comment, non-space char).
    pub line: usize,
    /// What the statement creates, for existence checks.
    pub object: SchemaObject,
}

/// What a statement creates: the thing whose existence tells whether a re-run must skip it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SchemaObject {
    /// `CREATE [OR REPLACE] TABLE [IF NOT EXISTS] name ...` (temporary tables are `Other`).
    Table { name: String },
    /// `CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX name [USING x] ON table (...)`, or
    /// `ALTER TABLE table ADD [UNIQUE|FULLTEXT|SPATIAL] INDEX|KEY name ...` as its only change.
    Index { table: String, name: String },
    /// `ALTER TABLE table ADD CONSTRAINT name FOREIGN KEY|UNIQUE|PRIMARY KEY|CHECK ...` as its only
    /// change. `name` is what the server records: the index name of a `UNIQUE KEY name`, and
    /// `PRIMARY` for a primary key, because MySQL names every primary key `PRIMARY` whatever the
    /// script calls it.
    Constraint { table: String, name: String },
    /// `CREATE [OR REPLACE] [DEFINER = ...] PROCEDURE|FUNCTION name`.
    Routine { kind: RoutineKind, name: String },
    /// `CREATE [DEFINER = ...] TRIGGER name`.
    Trigger { name: String },
    /// `CREATE [OR REPLACE] [ALGORITHM = ...] [DEFINER = ...] [SQL SECURITY ...] VIEW name`.
    View { name: String },
    /// `SET ...` of session state (`SET FOREIGN_KEY_CHECKS = 0`, `SET NAMES`, user variables): safe
    /// to repeat.
    Session,
    /// `USE db`: the caller refuses scripts containing this.
    Use { database: String },
    /// Anything else (`INSERT`, `DROP`, `SET GLOBAL`, an unnamed index, ...): not guardable by
    /// existence.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoutineKind {
    Procedure,
    Function,
}

/// Why a script cannot be split, and the line where the offending construct starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for SplitError {}

/// Splits a script into the statements the `mysql` client would send, in order.
pub fn split(script: &str) -> Result<Vec<Statement>, SplitError> {
    Splitter::new(script).run()
}

/// Tells what a single statement creates. Names come back as written, unquoted, without their
/// schema.
pub fn classify(sql: &str) -> SchemaObject {
    let tokens = tokens(sql);
    let mut cursor = Cursor {
        tokens: &tokens,
        at: 0,
    };
    let object = match cursor.next_keyword().as_deref() {
        Some("CREATE") => created_object(&mut cursor),
        Some("ALTER") => object_added_to_table(&mut cursor),
        Some("SET") => session_setting(&cursor),
        Some("USE") => cursor
            .identifier()
            .map(|database| SchemaObject::Use { database }),
        _ => None,
    };
    object.unwrap_or(SchemaObject::Other)
}

const DEFAULT_DELIMITER: &str = ";";
const BYTE_ORDER_MARK: &str = "\u{feff}";

/// A statement being read: from its first significant byte to just past its last one.
struct Pending {
    start: usize,
    end: usize,
    line: usize,
    /// Line where a `/*!` comment that is still open was opened.
    open_version_comment: Option<usize>,
}

struct Splitter<'a> {
    script: &'a str,
    body_start: usize,
    pos: usize,
    line: usize,
    delimiter: String,
    pending: Option<Pending>,
    statements: Vec<Statement>,
}

impl<'a> Splitter<'a> {
    fn new(script: &'a str) -> Self {
        let body_start = if script.starts_with(BYTE_ORDER_MARK) {
            BYTE_ORDER_MARK.len()
        } else {
            0
        };
        Splitter {
            script,
            body_start,
            pos: body_start,
            line: 1,
            delimiter: DEFAULT_DELIMITER.to_string(),
            pending: None,
            statements: Vec::new(),
        }
    }

    fn run(mut self) -> Result<Vec<Statement>, SplitError> {
        while self.pos < self.script.len() {
            // Like the client, `DELIMITER` is a command only at the start of a line and between
            // statements.
            if self.pending.is_none() && self.at_line_start() && self.delimiter_command()? {
                continue;
            }
            self.step()?;
        }
        if let Some(line) = self.pending.as_ref().and_then(|p| p.open_version_comment) {
            return Err(SplitError {
                line,
                message: "unterminated /*! comment: no */ closes it".into(),
            });
        }
        self.end_statement();
        Ok(self.statements)
    }

    fn bytes(&self) -> &'a [u8] {
        self.script.as_bytes()
    }

    fn at_line_start(&self) -> bool {
        self.pos == self.body_start || self.bytes()[self.pos - 1] == b'\n'
    }

    /// Reads one lexical unit at `pos`: whitespace, a comment, a quoted string or a character of a
    /// statement.
    fn step(&mut self) -> Result<(), SplitError> {
        let bytes = self.bytes();
        let rest = &bytes[self.pos..];
        if rest.starts_with(self.delimiter.as_bytes()) {
            return self.delimiter_reached();
        }
        match rest[0] {
            b'\n' => {
                self.line += 1;
                self.pos += 1;
            }
            b if is_space(b) => self.pos += 1,
            b'#' => self.pos = line_comment_end(bytes, self.pos),
            b'-' if starts_dash_comment(rest) => self.pos = line_comment_end(bytes, self.pos),
            b'/' if rest.starts_with(b"/*") => match version_comment_opener(rest) {
                0 => self.skip_comment()?,
                opener_len => self.open_version_comment(opener_len),
            },
            b'*' if rest.starts_with(b"*/") && self.in_version_comment() => {
                self.close_version_comment()
            }
            quote @ (b'\'' | b'"' | b'`') => self.read_quoted(quote)?,
            _ => {
                let width = self.script[self.pos..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
                self.take(self.pos + width, self.line);
            }
        }
        Ok(())
    }

    /// Records `pos..end` as part of the current statement, starting one if none is pending.
    fn take(&mut self, end: usize, start_line: usize) {
        let start = self.pos;
        self.pending
            .get_or_insert(Pending {
                start,
                end,
                line: start_line,
                open_version_comment: None,
            })
            .end = end;
        self.pos = end;
    }

    fn in_version_comment(&self) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|p| p.open_version_comment.is_some())
    }

    fn open_version_comment(&mut self, opener_len: usize) {
        let line = self.line;
        self.take(self.pos + opener_len, line);
        if let Some(pending) = self.pending.as_mut() {
            pending.open_version_comment.get_or_insert(line);
        }
    }

    fn close_version_comment(&mut self) {
        self.take(self.pos + 2, self.line);
        if let Some(pending) = self.pending.as_mut() {
            pending.open_version_comment = None;
        }
    }

    fn skip_comment(&mut self) -> Result<(), SplitError> {
        let bytes = self.bytes();
        let end = block_comment_end(bytes, self.pos).ok_or_else(|| SplitError {
            line: self.line,
            message: "unterminated /* comment: no */ closes it".into(),
        })?;
        self.line += count_newlines(&bytes[self.pos..end]);
        self.pos = end;
        Ok(())
    }

    fn read_quoted(&mut self, quote: u8) -> Result<(), SplitError> {
        let bytes = self.bytes();
        let Some(end) = quoted_end(bytes, self.pos, quote) else {
            let what = if quote == b'`' {
                "quoted identifier"
            } else {
                "string"
            };
            return Err(SplitError {
                line: self.line,
                message: format!(
                    "unterminated {what}: the {} opened here is never closed",
                    quote as char
                ),
            });
        };
        let start_line = self.line;
        self.line += count_newlines(&bytes[self.pos..end]);
        self.take(end, start_line);
        Ok(())
    }

    fn delimiter_reached(&mut self) -> Result<(), SplitError> {
        if let Some(opened) = self.pending.as_ref().and_then(|p| p.open_version_comment) {
            return Err(SplitError {
                line: opened,
                message: format!(
                    "the /*! comment opened here is cut by the delimiter `{}` on line {}: the mysql client \
                     ends the statement there; change the delimiter around it (DELIMITER $$ ... DELIMITER ;)",
                    self.delimiter, self.line
                ),
            });
        }
        self.pos += self.delimiter.len();
        self.end_statement();
        Ok(())
    }

    fn end_statement(&mut self) {
        if let Some(pending) = self.pending.take() {
            let sql = self.script[pending.start..pending.end].to_string();
            let object = classify(&sql);
            self.statements.push(Statement {
                sql,
                line: pending.line,
                object,
            });
        }
    }

    /// Handles a `DELIMITER x` line at `pos`; returns false when the line is not one.
    fn delimiter_command(&mut self) -> Result<bool, SplitError> {
        let line_end = self.script[self.pos..]
            .find('\n')
            .map_or(self.script.len(), |i| self.pos + i);
        let Some(argument) = delimiter_command_argument(&self.script[self.pos..line_end]) else {
            return Ok(false);
        };
        let delimiter = argument.map_err(|message| SplitError {
            line: self.line,
            message,
        })?;
        self.delimiter = delimiter.to_string();
        self.pos = line_end;
        Ok(true)
    }
}

/// For a line that is a `DELIMITER` command, its argument (or what is wrong with it); `None`
/// otherwise.
fn delimiter_command_argument(line: &str) -> Option<Result<&str, String>> {
    const KEYWORD: &str = "delimiter";
    let text = line.trim_start_matches(is_space_char);
    if !text.get(..KEYWORD.len())?.eq_ignore_ascii_case(KEYWORD) {
        return None;
    }
    let after = &text[KEYWORD.len()..];
    if !after.is_empty() && !after.starts_with(is_space_char) {
        return None;
    }
    let argument = first_argument(after.trim_start_matches(is_space_char));
    Some(if argument.is_empty() {
        Err(
            "DELIMITER needs an argument, e.g. `DELIMITER $$` (and `DELIMITER ;` to go back)"
                .into(),
        )
    } else if argument.contains('\\') {
        Err(format!(
            "DELIMITER `{argument}` contains a backslash, which the mysql client does not accept"
        ))
    } else {
        Ok(argument)
    })
}

/// The client takes the first word of the line, or a quoted argument without its quotes; the rest
/// is ignored.
fn first_argument(text: &str) -> &str {
    match text.chars().next() {
        Some(quote @ ('\'' | '"' | '`')) => {
            let inner = &text[1..];
            inner.find(quote).map_or(inner, |end| &inner[..end])
        }
        _ => text.find(is_space_char).map_or(text, |end| &text[..end]),
    }
}

/// MySQL's notion of a space (`my_isspace`), which includes vertical tab and form feed.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn is_space_char(c: char) -> bool {
    c.is_ascii() && is_space(c as u8)
}

/// `--` starts a comment only when followed by a space, a control character or the end of the text.
fn starts_dash_comment(rest: &[u8]) -> bool {
    rest.starts_with(b"--")
        && rest
            .get(2)
            .is_none_or(|&b| is_space(b) || b.is_ascii_control())
}

/// Length of a `/*!` or MariaDB `/*M!` opener at the start of `rest`, 0 when there is none.
fn version_comment_opener(rest: &[u8]) -> usize {
    if rest.starts_with(b"/*!") {
        3
    } else if rest.starts_with(b"/*M!") {
        4
    } else {
        0
    }
}

/// Where a `#` or `-- ` comment ends: at the newline, which is left for the caller to count.
fn line_comment_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| start + i)
}

/// Just past the `*/` closing the comment opened at `start`, if any.
fn block_comment_end(bytes: &[u8], start: usize) -> Option<usize> {
    let body = bytes.get(start + 2..)?;
    body.windows(2)
        .position(|w| w == b"*/")
        .map(|i| start + 2 + i + 2)
}

/// Just past the quote closing the string or identifier opened at `start`, if any. Doubled quotes
/// stand for one; backslash escapes apply in strings, not in identifiers.
fn quoted_end(bytes: &[u8], start: usize, quote: u8) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote != b'`' => i += 2,
            b if b == quote && bytes.get(i + 1) == Some(&quote) => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn count_newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

// Classification: a small tokenizer and a reader for the head of the statements that create things.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'a> {
    /// A keyword, an unquoted identifier or a number.
    Word(&'a str),
    /// A backticked identifier, or a double-quoted text (an identifier under `ANSI_QUOTES`),
    /// unquoted.
    Quoted(String),
    /// A single-quoted string; its content never names anything created.
    Literal,
    Punct(u8),
}

/// The tokens of a statement. Comments are dropped and version-comment markers are transparent, so
/// that mysqldump's `/*!50003 CREATE*/ /*!50017 DEFINER=...*/ /*!50003 TRIGGER t ...*/` reads as
/// `CREATE TRIGGER t`.
fn tokens(sql: &str) -> Vec<Token<'_>> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut in_version_comment = false;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        match rest[0] {
            b if is_space(b) => i += 1,
            b'#' => i = line_comment_end(bytes, i),
            b'-' if starts_dash_comment(rest) => i = line_comment_end(bytes, i),
            b'/' if rest.starts_with(b"/*") => match version_comment_opener(rest) {
                0 => i = block_comment_end(bytes, i).unwrap_or(bytes.len()),
                opener_len => {
                    in_version_comment = true;
                    i += opener_len;
                    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                }
            },
            b'*' if in_version_comment && rest.starts_with(b"*/") => {
                in_version_comment = false;
                i += 2;
            }
            quote @ (b'\'' | b'"' | b'`') => {
                let end = quoted_end(bytes, i, quote);
                let inner = &sql[i + 1..end.map_or(bytes.len(), |e| e - 1)];
                tokens.push(if quote == b'\'' {
                    Token::Literal
                } else {
                    Token::Quoted(unquote(inner, quote))
                });
                i = end.unwrap_or(bytes.len());
            }
            b if is_word_byte(b) => {
                let end = rest
                    .iter()
                    .position(|&b| !is_word_byte(b))
                    .map_or(bytes.len(), |n| i + n);
                tokens.push(Token::Word(&sql[i..end]));
                i = end;
            }
            b => {
                tokens.push(Token::Punct(b));
                i += 1;
            }
        }
    }
    tokens
}

/// Identifier characters; every byte of a non-ASCII character counts, as in MySQL.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn unquote(inner: &str, quote: u8) -> String {
    let quote = (quote as char).to_string();
    inner.replace(&quote.repeat(2), &quote)
}

struct Cursor<'t, 'a> {
    tokens: &'t [Token<'a>],
    at: usize,
}

impl Cursor<'_, '_> {
    fn peek(&self) -> Option<&Token<'_>> {
        self.tokens.get(self.at)
    }

    fn peek_is(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn skip(&mut self) -> Option<()> {
        (self.at < self.tokens.len()).then(|| self.at += 1)
    }

    /// The next token as an upper-case keyword; `None` (without consuming) when it is not a word.
    fn next_keyword(&mut self) -> Option<String> {
        let Some(Token::Word(word)) = self.peek() else {
            return None;
        };
        let keyword = word.to_ascii_uppercase();
        self.at += 1;
        Some(keyword)
    }

    fn eat(&mut self, keyword: &str) -> bool {
        let found = self.peek_is(keyword);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, keyword: &str) -> Option<()> {
        self.eat(keyword).then_some(())
    }

    fn eat_punct(&mut self, punct: u8) -> bool {
        let found = self.peek() == Some(&Token::Punct(punct));
        if found {
            self.at += 1;
        }
        found
    }

    /// Consumes `keywords` only if they all come next.
    fn eat_all(&mut self, keywords: &[&str]) -> bool {
        let found = keywords.iter().enumerate().all(|(offset, keyword)| {
            matches!(self.tokens.get(self.at + offset), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
        });
        if found {
            self.at += keywords.len();
        }
        found
    }

    fn skip_if_not_exists(&mut self) {
        self.eat_all(&["IF", "NOT", "EXISTS"]);
    }

    fn identifier(&mut self) -> Option<String> {
        let name = match self.peek()? {
            Token::Word(word) => word.to_string(),
            Token::Quoted(name) => name.clone(),
            _ => return None,
        };
        self.at += 1;
        Some(name)
    }

    /// An identifier that is not one of `keywords` (which would mean the name was left out).
    fn identifier_other_than(&mut self, keywords: &[&str]) -> Option<String> {
        if keywords.iter().any(|keyword| self.peek_is(keyword)) {
            return None;
        }
        self.identifier()
    }

    /// `name` or `schema.name`, returning `name`.
    fn object_name(&mut self) -> Option<String> {
        let mut name = self.identifier()?;
        if self.eat_punct(b'.') {
            name = self.identifier()?;
        }
        Some(name)
    }

    /// Skips the account after `DEFINER` (`'u'@'h'`, `` `u`@`h` ``, `u@h`, `CURRENT_USER()`), up to
    /// the next clause; accounts are never bare keywords, so the first of those marks its end.
    fn skip_definer(&mut self) {
        const NEXT_CLAUSE: [&str; 7] = [
            "PROCEDURE",
            "FUNCTION",
            "TRIGGER",
            "VIEW",
            "EVENT",
            "SQL",
            "AGGREGATE",
        ];
        self.eat_punct(b'=');
        while self.peek().is_some() && !NEXT_CLAUSE.iter().any(|keyword| self.peek_is(keyword)) {
            self.at += 1;
        }
    }

    /// Whether the rest of the statement has a comma outside parentheses, i.e. more than one
    /// clause.
    fn has_more_clauses(&self) -> bool {
        let mut depth = 0usize;
        self.tokens[self.at..].iter().any(|token| {
            match token {
                Token::Punct(b'(') => depth += 1,
                Token::Punct(b')') => depth = depth.saturating_sub(1),
                Token::Punct(b',') if depth == 0 => return true,
                _ => {}
            }
            false
        })
    }
}

/// `CREATE ...` after the `CREATE` keyword.
fn created_object(cursor: &mut Cursor) -> Option<SchemaObject> {
    let mut temporary = false;
    loop {
        match cursor.next_keyword()?.as_str() {
            "OR" => cursor.expect("REPLACE")?,
            "TEMPORARY" => temporary = true,
            "ONLINE" | "OFFLINE" | "UNIQUE" | "FULLTEXT" | "SPATIAL" | "AGGREGATE" => {}
            "ALGORITHM" => {
                cursor.eat_punct(b'=');
                cursor.skip()?;
            }
            "SQL" => {
                cursor.expect("SECURITY")?;
                cursor.skip()?;
            }
            "DEFINER" => cursor.skip_definer(),
            "TABLE" if !temporary => {
                return Some(SchemaObject::Table {
                    name: named(cursor)?,
                })
            }
            "INDEX" => return created_index(cursor),
            "PROCEDURE" => {
                return Some(SchemaObject::Routine {
                    kind: RoutineKind::Procedure,
                    name: named(cursor)?,
                })
            }
            "FUNCTION" => {
                return Some(SchemaObject::Routine {
                    kind: RoutineKind::Function,
                    name: named(cursor)?,
                })
            }
            "TRIGGER" => {
                return Some(SchemaObject::Trigger {
                    name: named(cursor)?,
                })
            }
            "VIEW" => {
                return Some(SchemaObject::View {
                    name: named(cursor)?,
                })
            }
            _ => return None,
        }
    }
}

/// `[IF NOT EXISTS] [schema.]name`.
fn named(cursor: &mut Cursor) -> Option<String> {
    cursor.skip_if_not_exists();
    cursor.object_name()
}

/// `CREATE INDEX [IF NOT EXISTS] name [USING|TYPE kind] ON table ...` after `INDEX`.
fn created_index(cursor: &mut Cursor) -> Option<SchemaObject> {
    cursor.skip_if_not_exists();
    let name = cursor.identifier()?;
    if cursor.eat("USING") || cursor.eat("TYPE") {
        cursor.skip()?;
    }
    cursor.expect("ON")?;
    let table = cursor.object_name()?;
    Some(SchemaObject::Index { table, name })
}

/// `ALTER TABLE t ADD INDEX|KEY|CONSTRAINT ...` after `ALTER`. A statement with more clauses than
/// the `ADD` is `Other`: skipping it because its first object exists could skip the rest of what it
/// does.
fn object_added_to_table(cursor: &mut Cursor) -> Option<SchemaObject> {
    while cursor.eat("ONLINE") || cursor.eat("OFFLINE") || cursor.eat("IGNORE") {}
    cursor.expect("TABLE")?;
    cursor.eat_all(&["IF", "EXISTS"]);
    let table = cursor.object_name()?;
    if cursor.has_more_clauses() {
        return None;
    }
    cursor.expect("ADD")?;
    match cursor.next_keyword()?.as_str() {
        "CONSTRAINT" => added_constraint(cursor, table),
        "UNIQUE" | "FULLTEXT" | "SPATIAL" => {
            let _ = cursor.eat("INDEX") || cursor.eat("KEY");
            added_index(cursor, table)
        }
        "INDEX" | "KEY" => added_index(cursor, table),
        _ => None,
    }
}

/// Keywords that may follow `INDEX`/`KEY` when the index name is left out (the server then makes
/// one up).
const NOT_AN_INDEX_NAME: [&str; 2] = ["USING", "TYPE"];

fn added_index(cursor: &mut Cursor, table: String) -> Option<SchemaObject> {
    cursor.skip_if_not_exists();
    let name = cursor.identifier_other_than(&NOT_AN_INDEX_NAME)?;
    Some(SchemaObject::Index { table, name })
}

fn added_constraint(cursor: &mut Cursor, table: String) -> Option<SchemaObject> {
    cursor.skip_if_not_exists();
    // `ADD CONSTRAINT FOREIGN KEY ...` without a symbol gets a generated name: nothing to look for.
    let symbol = cursor.identifier_other_than(&["FOREIGN", "UNIQUE", "PRIMARY", "CHECK"])?;
    let name = match cursor.next_keyword()?.as_str() {
        "FOREIGN" | "CHECK" => symbol,
        "UNIQUE" => {
            let _ = cursor.eat("INDEX") || cursor.eat("KEY");
            cursor
                .identifier_other_than(&NOT_AN_INDEX_NAME)
                .unwrap_or(symbol)
        }
        "PRIMARY" => "PRIMARY".to_string(),
        _ => return None,
    };
    Some(SchemaObject::Constraint { table, name })
}

/// `SET ...` after `SET`: session state unless it reaches beyond the session (server variables,
/// passwords, default roles) or runs another statement (MariaDB's `SET STATEMENT ... FOR`).
fn session_setting(cursor: &Cursor) -> Option<SchemaObject> {
    const BEYOND_SESSION: [&str; 3] = ["PASSWORD", "DEFAULT", "STATEMENT"];
    const SERVER_SCOPES: [&str; 3] = ["GLOBAL", "PERSIST", "PERSIST_ONLY"];
    if BEYOND_SESSION.iter().any(|keyword| cursor.peek_is(keyword)) {
        return None;
    }
    let rest = &cursor.tokens[cursor.at..];
    let server_scope = rest.iter().enumerate().any(|(i, token)| {
        let Token::Word(word) = token else {
            return false;
        };
        let user_variable = i >= 1
            && rest[i - 1] == Token::Punct(b'@')
            && (i < 2 || rest[i - 2] != Token::Punct(b'@'));
        !user_variable
            && SERVER_SCOPES
                .iter()
                .any(|scope| word.eq_ignore_ascii_case(scope))
    });
    (!server_scope).then_some(SchemaObject::Session)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sqls(script: &str) -> Vec<String> {
        split(script)
            .unwrap()
            .into_iter()
            .map(|statement| statement.sql)
            .collect()
    }

    fn lines(script: &str) -> Vec<usize> {
        split(script)
            .unwrap()
            .into_iter()
            .map(|statement| statement.line)
            .collect()
    }

    fn split_error(script: &str) -> SplitError {
        split(script).expect_err("the script should not split")
    }

    fn table(name: &str) -> SchemaObject {
        SchemaObject::Table { name: name.into() }
    }

    fn index(table: &str, name: &str) -> SchemaObject {
        SchemaObject::Index {
            table: table.into(),
            name: name.into(),
        }
    }

    fn constraint(table: &str, name: &str) -> SchemaObject {
        SchemaObject::Constraint {
            table: table.into(),
            name: name.into(),
        }
    }

    fn procedure(name: &str) -> SchemaObject {
        SchemaObject::Routine {
            kind: RoutineKind::Procedure,
            name: name.into(),
        }
    }

    fn trigger(name: &str) -> SchemaObject {
        SchemaObject::Trigger { name: name.into() }
    }

    // --- comments --------------------------------------------------------------------------------

    #[test]
    fn dash_dash_starts_a_comment_only_before_whitespace_a_control_character_or_the_end() {
        assert_eq!(
            sqls("SELECT 1--1;\nSELECT 2 -- two; still a comment\n;"),
            ["SELECT 1--1", "SELECT 2"]
        );
        assert_eq!(
            sqls("SELECT 3 --\tx;\n;SELECT 4 --\n;SELECT 5 --"),
            ["SELECT 3", "SELECT 4", "SELECT 5"]
        );
        assert_eq!(sqls("SELECT 6 --\u{1}x;\n;"), ["SELECT 6"]);
        assert_eq!(sqls("--x;"), ["--x"]);
    }

    #[test]
    fn hash_comments_run_to_the_end_of_the_line() {
        assert_eq!(
            sqls("# a; b\nSELECT 1 # c; d\n, 2;"),
            ["SELECT 1 # c; d\n, 2"]
        );
    }

    #[test]
    fn comments_before_and_after_a_statement_are_dropped_and_those_inside_kept() {
        let script = "/* lead; */ -- lead\n# lead\nSELECT /* in; */ 1 -- in;\n + 1 /* trail */ -- trail\n; -- after\n";
        assert_eq!(sqls(script), ["SELECT /* in; */ 1 -- in;\n + 1"]);
    }

    #[test]
    fn block_comments_do_not_nest_and_may_hold_any_marker() {
        assert_eq!(
            sqls("/* a /* b */ SELECT 1; /* ' \" ` -- # */ SELECT 2;"),
            ["SELECT 1", "SELECT 2"]
        );
        assert_eq!(sqls("/*/ still a comment; */ SELECT 3;"), ["SELECT 3"]);
    }

    #[test]
    fn version_comments_are_statement_text() {
        let statements =
            split("/*!40101 SET NAMES utf8 */;\nCREATE TABLE t (a INT) /*!50100 ENGINE=InnoDB */;")
                .unwrap();
        assert_eq!(statements[0].sql, "/*!40101 SET NAMES utf8 */");
        assert_eq!(statements[0].object, SchemaObject::Session);
        assert_eq!(
            statements[1].sql,
            "CREATE TABLE t (a INT) /*!50100 ENGINE=InnoDB */"
        );
        assert_eq!(sqls("/*!*/ SELECT 1;"), ["/*!*/ SELECT 1"]);
    }

    #[test]
    fn mariadb_version_comments_are_statement_text() {
        assert_eq!(
            sqls("/*M!100101 SET @a = 1 */;"),
            ["/*M!100101 SET @a = 1 */"]
        );
    }

    #[test]
    fn a_semicolon_in_a_string_inside_a_version_comment_does_not_end_the_statement() {
        assert_eq!(
            sqls("/*!40101 SET @a = 'x;y' */;"),
            ["/*!40101 SET @a = 'x;y' */"]
        );
    }

    #[test]
    fn the_delimiter_inside_a_version_comment_ends_the_statement_as_in_the_client_so_it_is_an_error(
    ) {
        let error = split_error(
            "SELECT 1;\n/*!50003 CREATE TRIGGER t BEFORE INSERT ON x\nFOR EACH ROW SET @a = 1; */;",
        );
        assert_eq!(error.line, 2);
        assert!(
            error.message.contains("cut by the delimiter `;` on line 3"),
            "{error}"
        );
    }

    #[test]
    fn a_version_comment_under_another_delimiter_may_hold_semicolons() {
        let script = "DELIMITER ;;\n/*!50003 CREATE*/ /*!50003 TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN\n SET @a = 1; END */;;\nDELIMITER ;\n";
        let statements = split(script).unwrap();
        assert_eq!(statements.len(), 1);
        assert!(statements[0].sql.ends_with("SET @a = 1; END */"));
        assert_eq!(statements[0].object, trigger("t"));
    }

    // --- strings and identifiers -----------------------------------------------------------------

    #[test]
    fn delimiters_and_comment_markers_inside_strings_are_text() {
        let script = "SELECT 'a; -- # /* b', \"c; -- # /* d\";SELECT 2;";
        assert_eq!(
            sqls(script),
            ["SELECT 'a; -- # /* b', \"c; -- # /* d\"", "SELECT 2"]
        );
    }

    #[test]
    fn escaped_and_doubled_quotes_stay_inside_strings() {
        let script = r#"SELECT 'it''s \'x\'; y', "say ""hi""; \"there\"";SELECT 2;"#;
        assert_eq!(
            sqls(script),
            [
                r#"SELECT 'it''s \'x\'; y', "say ""hi""; \"there\"""#,
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn an_escaped_backslash_before_the_closing_quote_ends_the_string() {
        assert_eq!(
            sqls(r"SELECT 'C:\\';SELECT 2;"),
            [r"SELECT 'C:\\'", "SELECT 2"]
        );
    }

    #[test]
    fn backticked_identifiers_take_doubled_backticks_and_no_backslash_escapes() {
        assert_eq!(
            sqls("SELECT `a``;b`, `c\\`;SELECT 2;"),
            ["SELECT `a``;b`, `c\\`", "SELECT 2"]
        );
    }

    #[test]
    fn strings_spanning_lines_count_their_lines() {
        let script = "SELECT 'a\nb\\\nc';\nSELECT 2;";
        assert_eq!(lines(script), [1, 4]);
    }

    // --- DELIMITER -------------------------------------------------------------------------------

    #[test]
    fn the_delimiter_command_changes_the_delimiter_and_is_not_sent() {
        let script =
            "DELIMITER $$\nSELECT 1; SELECT 2$$\nDELIMITER //\nSELECT 3//\nDELIMITER ;\nSELECT 4;";
        assert_eq!(sqls(script), ["SELECT 1; SELECT 2", "SELECT 3", "SELECT 4"]);
        assert_eq!(lines(script), [2, 4, 6]);
    }

    #[test]
    fn the_delimiter_command_is_case_insensitive_and_may_be_indented() {
        assert_eq!(
            sqls("  delimiter $$\nSELECT 1;$$\n\tDeLiMiTeR ;\nSELECT 2;"),
            ["SELECT 1;", "SELECT 2"]
        );
    }

    #[test]
    fn a_double_semicolon_delimiter_leaves_single_semicolons_in_statements() {
        assert_eq!(
            sqls("DELIMITER ;;\nSELECT 1; SELECT 2;;\nSELECT 3;;"),
            ["SELECT 1; SELECT 2", "SELECT 3"]
        );
    }

    #[test]
    fn the_delimiter_argument_may_be_quoted_and_the_rest_of_the_line_is_ignored() {
        assert_eq!(sqls("DELIMITER '$$' ignored\nSELECT 1$$"), ["SELECT 1"]);
        assert_eq!(sqls("DELIMITER $$ ignored too\nSELECT 2$$"), ["SELECT 2"]);
    }

    #[test]
    fn delimiter_is_a_command_only_at_a_line_start_between_statements() {
        // Inside a pending statement, and after other text on the line, the client sends it to the
        // server.
        assert_eq!(
            sqls("SELECT 1\nDELIMITER $$\n;"),
            ["SELECT 1\nDELIMITER $$"]
        );
        assert_eq!(sqls("/* c */ DELIMITER $$;"), ["DELIMITER $$"]);
        assert_eq!(sqls("DELIMITERS $$;"), ["DELIMITERS $$"]);
        assert_eq!(
            sqls("SELECT 'x\nDELIMITER $$\n';"),
            ["SELECT 'x\nDELIMITER $$\n'"]
        );
    }

    #[test]
    fn delimiter_without_an_argument_is_an_error_on_its_line() {
        let error = split_error("SELECT 1;\n\nDELIMITER   \nSELECT 2;");
        assert_eq!(error.line, 3);
        assert!(
            error.message.contains("DELIMITER needs an argument"),
            "{error}"
        );
        assert_eq!(split_error("DELIMITER").line, 1);
    }

    #[test]
    fn a_delimiter_with_a_backslash_is_an_error() {
        assert!(split_error("DELIMITER \\g\n").message.contains("backslash"));
    }

    #[test]
    fn routine_and_trigger_bodies_keep_their_semicolons() {
        let script = "DELIMITER $$\n\
                      CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND$$\n\
                      CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW\nBEGIN\n  SET NEW.a = ';';\nEND$$\n\
                      DELIMITER ;\n";
        let statements = split(script).unwrap();
        assert_eq!(statements.len(), 2);
        assert_eq!(
            statements[0].sql,
            "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND"
        );
        assert_eq!(
            (statements[0].line, &statements[0].object),
            (2, &procedure("p"))
        );
        assert_eq!(
            statements[1].sql,
            "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW\nBEGIN\n  SET NEW.a = ';';\nEND"
        );
        assert_eq!(
            (statements[1].line, &statements[1].object),
            (7, &trigger("t"))
        );
    }

    // --- statement boundaries and lines ----------------------------------------------------------

    #[test]
    fn the_last_statement_needs_no_delimiter() {
        assert_eq!(
            sqls("SELECT 1;\nSELECT 2\n-- the end\n"),
            ["SELECT 1", "SELECT 2"]
        );
        assert_eq!(
            sqls("DELIMITER $$\nSELECT 3; SELECT 4"),
            ["SELECT 3; SELECT 4"]
        );
    }

    #[test]
    fn empty_statements_are_skipped() {
        assert_eq!(sqls(";;SELECT 1;; ;\n;-- x\n;"), ["SELECT 1"]);
        assert_eq!(sqls("  \n-- only comments\n/* */"), Vec::<String>::new());
        assert_eq!(sqls(""), Vec::<String>::new());
    }

    #[test]
    fn crlf_line_endings_leave_no_carriage_return_at_the_end_and_count_lines() {
        let statements =
            split("SELECT 1;\r\n-- c\r\nSELECT\r\n 2\r\n;\r\nDELIMITER $$\r\nSELECT 3\r\n$$\r\n")
                .unwrap();
        let sqls: Vec<_> = statements.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(sqls, ["SELECT 1", "SELECT\r\n 2", "SELECT 3"]);
        assert_eq!(
            statements.iter().map(|s| s.line).collect::<Vec<_>>(),
            [1, 3, 7]
        );
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_skipped() {
        assert_eq!(sqls("\u{feff}DELIMITER $$\nSELECT 1$$"), ["SELECT 1"]);
        assert_eq!(lines("\u{feff}\nSELECT 1;"), [2]);
    }

    #[test]
    fn a_statement_starts_at_its_first_significant_character() {
        let script =
            "-- header\n\n/* block\n comment */ SELECT 1;\n\n  # hash\n  SELECT\n2; SELECT 3;";
        assert_eq!(lines(script), [4, 7, 8]);
    }

    #[test]
    fn multibyte_text_is_kept_whole() {
        assert_eq!(
            sqls("SELECT 'é;中' AS `naïve;`, ünïcode;DELIMITER"),
            ["SELECT 'é;中' AS `naïve;`, ünïcode", "DELIMITER"]
        );
    }

    // --- errors ----------------------------------------------------------------------------------

    #[test]
    fn an_unterminated_string_is_reported_where_it_starts() {
        let error = split_error("SELECT 1;\nSELECT 'abc;\n\nSELECT 2;");
        assert_eq!(
            error,
            SplitError {
                line: 2,
                message: "unterminated string: the ' opened here is never closed".into()
            }
        );
        assert_eq!(split_error("SELECT\n\"abc\\\"").line, 2);
        assert_eq!(split_error("SELECT 'abc\\").line, 1);
    }

    #[test]
    fn an_unterminated_quoted_identifier_is_reported_where_it_starts() {
        let error = split_error("SELECT 1;\n\nSELECT `a``b;\n");
        assert_eq!(error.line, 3);
        assert!(
            error.message.contains("unterminated quoted identifier"),
            "{error}"
        );
    }

    #[test]
    fn an_unterminated_comment_is_reported_where_it_starts() {
        let error = split_error("SELECT 1;\n/* never\nclosed;");
        assert_eq!(error.line, 2);
        assert!(error.message.contains("unterminated /* comment"), "{error}");
        let error = split_error("DELIMITER $$\nSELECT 1\n, /*!50001 2\n");
        assert_eq!(error.line, 3);
        assert!(
            error.message.contains("unterminated /*! comment"),
            "{error}"
        );
    }

    #[test]
    fn split_errors_display_their_line_and_are_std_errors() {
        let error: Box<dyn std::error::Error> = Box::new(split_error("\n\nSELECT 'x"));
        assert_eq!(
            error.to_string(),
            "line 3: unterminated string: the ' opened here is never closed"
        );
    }

    // --- classification --------------------------------------------------------------------------

    #[test]
    fn tables_are_classified_with_plain_backticked_qualified_and_guarded_names() {
        assert_eq!(classify("CREATE TABLE UM_USER (a INT)"), table("UM_USER"));
        assert_eq!(
            classify("create table if not exists reg_path(a int)"),
            table("reg_path")
        );
        assert_eq!(
            classify("CREATE TABLE IF NOT EXISTS `REG``LOG` (a INT)"),
            table("REG`LOG")
        );
        assert_eq!(
            classify("CREATE TABLE `WSO2_REG`.`REG_LOG` (a INT)"),
            table("REG_LOG")
        );
        assert_eq!(
            classify("CREATE TABLE wso2_reg.REG_LOG LIKE other"),
            table("REG_LOG")
        );
        assert_eq!(classify("CREATE OR REPLACE TABLE t (a INT)"), table("t"));
        assert_eq!(
            classify("CREATE TEMPORARY TABLE t (a INT)"),
            SchemaObject::Other
        );
    }

    #[test]
    fn indexes_are_classified_with_their_table() {
        assert_eq!(
            classify("CREATE INDEX REG_LOG_IND_BY_REG_LOGTIME USING HASH ON REG_LOG(REG_LOGGED_TIME, REG_TENANT_ID)"),
            index("REG_LOG", "REG_LOG_IND_BY_REG_LOGTIME")
        );
        assert_eq!(
            classify("CREATE UNIQUE INDEX INDEX_UM_TENANT_UM_DOMAIN_NAME\n   ON UM_TENANT (UM_DOMAIN_NAME)"),
            index("UM_TENANT", "INDEX_UM_TENANT_UM_DOMAIN_NAME")
        );
        assert_eq!(
            classify("create fulltext index `i` on `db`.`t` (a)"),
            index("t", "i")
        );
        assert_eq!(
            classify("CREATE SPATIAL INDEX IF NOT EXISTS g TYPE BTREE ON t (p)"),
            index("t", "g")
        );
        assert_eq!(
            classify("ALTER TABLE t ADD INDEX t_by_a (a)"),
            index("t", "t_by_a")
        );
        assert_eq!(
            classify("alter table db.t add unique key `u` using hash (a)"),
            index("t", "u")
        );
        assert_eq!(classify("ALTER TABLE t ADD UNIQUE u (a)"), index("t", "u"));
        assert_eq!(
            classify("ALTER TABLE t ADD FULLTEXT INDEX IF NOT EXISTS f (a)"),
            index("t", "f")
        );
    }

    #[test]
    fn indexes_without_a_name_or_beside_other_changes_are_not_guardable() {
        assert_eq!(classify("ALTER TABLE t ADD INDEX (a)"), SchemaObject::Other);
        assert_eq!(
            classify("ALTER TABLE t ADD INDEX USING BTREE (a)"),
            SchemaObject::Other
        );
        assert_eq!(
            classify("ALTER TABLE t ADD INDEX i (a, b), ADD INDEX j (b)"),
            SchemaObject::Other
        );
        assert_eq!(
            classify("ALTER TABLE t ADD COLUMN c INT"),
            SchemaObject::Other
        );
    }

    #[test]
    fn constraints_are_classified_with_the_name_the_server_records() {
        assert_eq!(
            classify("ALTER TABLE REG_RESOURCE ADD CONSTRAINT REG_RESOURCE_FK_BY_PATH_ID FOREIGN KEY (REG_PATH_ID, REG_TENANT_ID) REFERENCES REG_PATH (REG_PATH_ID, REG_TENANT_ID)"),
            constraint("REG_RESOURCE", "REG_RESOURCE_FK_BY_PATH_ID")
        );
        assert_eq!(
            classify(
                "alter table `db`.`t` add constraint `fk``1` foreign key (a) references u (a)"
            ),
            constraint("t", "fk`1")
        );
        assert_eq!(
            classify("ALTER TABLE t ADD CONSTRAINT c UNIQUE (a)"),
            constraint("t", "c")
        );
        assert_eq!(
            classify("ALTER TABLE t ADD CONSTRAINT c UNIQUE KEY k (a)"),
            constraint("t", "k")
        );
        assert_eq!(
            classify("ALTER TABLE t ADD CONSTRAINT pk PRIMARY KEY (a)"),
            constraint("t", "PRIMARY")
        );
        assert_eq!(
            classify("ALTER TABLE t ADD CONSTRAINT chk CHECK (a > 0)"),
            constraint("t", "chk")
        );
        assert_eq!(
            classify("ALTER TABLE t ADD CONSTRAINT FOREIGN KEY (a) REFERENCES u (a)"),
            SchemaObject::Other
        );
        assert_eq!(
            classify("ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES u (a)"),
            SchemaObject::Other
        );
    }

    #[test]
    fn routines_are_classified_past_definers_and_replacements() {
        assert_eq!(classify("CREATE PROCEDURE p() BEGIN END"), procedure("p"));
        assert_eq!(
            classify("create definer=`root`@`%` procedure `db`.`p`(in a int) begin end"),
            procedure("p")
        );
        assert_eq!(
            classify("CREATE OR REPLACE DEFINER = 'eidb'@'localhost' FUNCTION f(a INT) RETURNS INT DETERMINISTIC RETURN a"),
            SchemaObject::Routine { kind: RoutineKind::Function, name: "f".into() }
        );
        assert_eq!(
            classify("CREATE DEFINER=root@localhost AGGREGATE FUNCTION IF NOT EXISTS g() RETURNS INT RETURN 1"),
            SchemaObject::Routine { kind: RoutineKind::Function, name: "g".into() }
        );
        assert_eq!(
            classify("CREATE DEFINER=CURRENT_USER() PROCEDURE p2() SELECT 1"),
            procedure("p2")
        );
    }

    #[test]
    fn triggers_and_views_are_classified() {
        assert_eq!(
            classify("CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET @a = 1"),
            trigger("trg")
        );
        assert_eq!(
            classify("/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `db`.`trg` AFTER UPDATE ON t FOR EACH ROW BEGIN END */"),
            trigger("trg")
        );
        assert_eq!(
            classify("CREATE OR REPLACE ALGORITHM=MERGE DEFINER=CURRENT_USER SQL SECURITY INVOKER VIEW v AS SELECT 1"),
            SchemaObject::View { name: "v".into() }
        );
        assert_eq!(
            classify("/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50013 DEFINER=`root`@`%` SQL SECURITY DEFINER */ /*!50001 VIEW `v2` AS select 1 */"),
            SchemaObject::View { name: "v2".into() }
        );
    }

    #[test]
    fn session_settings_are_safe_to_repeat_and_server_wide_ones_are_not() {
        assert_eq!(classify("SET FOREIGN_KEY_CHECKS=0"), SchemaObject::Session);
        assert_eq!(classify("set names utf8mb4"), SchemaObject::Session);
        assert_eq!(
            classify("SET @global = 1, SESSION sql_mode = ''"),
            SchemaObject::Session
        );
        assert_eq!(
            classify("/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */"),
            SchemaObject::Session
        );
        assert_eq!(
            classify("SET GLOBAL max_connections = 500"),
            SchemaObject::Other
        );
        assert_eq!(
            classify("SET @@global.max_connections = 500"),
            SchemaObject::Other
        );
        assert_eq!(classify("SET a = 1, PERSIST b = 2"), SchemaObject::Other);
        assert_eq!(classify("SET PASSWORD FOR u = 'x'"), SchemaObject::Other);
        assert_eq!(classify("SET DEFAULT ROLE r FOR u"), SchemaObject::Other);
        assert_eq!(
            classify("SET STATEMENT max_statement_time=1 FOR SELECT 1"),
            SchemaObject::Other
        );
    }

    #[test]
    fn use_names_its_database() {
        assert_eq!(
            classify("USE `wso2``reg`"),
            SchemaObject::Use {
                database: "wso2`reg".into()
            }
        );
        assert_eq!(
            classify("use regdb"),
            SchemaObject::Use {
                database: "regdb".into()
            }
        );
    }

    #[test]
    fn everything_else_is_other() {
        for sql in [
            "INSERT INTO t VALUES (1)",
            "DROP TABLE t",
            "CREATE DATABASE d",
            "CREAT TABLE t (a INT)",
            "",
            "(",
            "CREATE",
        ] {
            assert_eq!(classify(sql), SchemaObject::Other, "{sql}");
        }
    }

    #[test]
    fn split_statements_carry_their_classification() {
        let statements =
            split("SET FOREIGN_KEY_CHECKS=0;\n-- x\nCREATE TABLE `a`.`b` (c INT);").unwrap();
        assert_eq!(statements[0].object, SchemaObject::Session);
        assert_eq!(
            statements[1],
            Statement {
                sql: "CREATE TABLE `a`.`b` (c INT)".into(),
                line: 3,
                object: table("b")
            }
        );
    }

    // --- fixtures --------------------------------------------------------------------------------

    const SPLITTER_CASES: &str =
        include_str!("../../../../tests/fixtures/dbscripts/splitter-cases.sql");
    const TYPO: &str = include_str!("../../../../tests/fixtures/dbscripts/typo.sql");

    fn splitter_cases_expected() -> Vec<(usize, SchemaObject)> {
        let session = SchemaObject::Session;
        vec![
            (12, session.clone()),
            (13, session.clone()),
            (14, session.clone()),
            (19, table("FX_PATH")),
            (27, index("FX_PATH", "FX_PATH_IND_BY_PATH_VALUE")),
            (28, index("FX_PATH", "FX_PATH_IND_BY_PARENT_ID")),
            (32, table("FX_RESOURCE")),
            (45, constraint("FX_RESOURCE", "FX_RESOURCE_FK_BY_PATH_ID")),
            (46, index("FX_RESOURCE", "FX_RESOURCE_IND_BY_NAME")),
            (47, index("FX_RESOURCE", "FX_RESOURCE_IND_BY_UUID")),
            (50, table("FX_TENANT")),
            (59, index("FX_TENANT", "INDEX_FX_TENANT_DOMAIN_NAME")),
            (62, table("FX_USER")),
            (72, constraint("FX_USER", "FX_USER_FK_BY_TENANT_ID")),
            (73, index("FX_USER", "FX_USER_IND_BY_TENANT_ID")),
            (77, procedure("FX_COUNT_RESOURCES")),
            (83, trigger("FX_TENANT_BEFORE_INSERT")),
            (95, trigger("FX_RESOURCE_BEFORE_INSERT")),
            (103, session),
        ]
    }

    #[test]
    fn the_splitter_cases_fixture_splits_into_its_19_statements() {
        let statements = split(SPLITTER_CASES).unwrap();
        let found: Vec<_> = statements
            .iter()
            .map(|s| (s.line, s.object.clone()))
            .collect();
        assert_eq!(found, splitter_cases_expected());
        assert_eq!(
            statements[1].sql,
            "/*!40101 SET @FX_SAVED_NOTE = 'a version comment; the server runs it' */"
        );
        assert_eq!(statements[2].sql, "SET @FX_NOT_A_COMMENT = 1--1");
        assert!(statements[6]
            .sql
            .contains("COMMENT 'not comments: -- # /* and a backslash \\\\',"));
        assert!(statements[6]
            .sql
            .contains("-- a comment inside a statement; kept in it\n"));
        assert!(statements[12].sql.contains(
            "`FX_ODD``NAME` VARCHAR(64) DEFAULT \"double \\\"quoted\\\"; -- still a string\","
        ));
        assert!(statements[15]
            .sql
            .ends_with("FX_TENANT_ID = P_TENANT_ID;\nEND"));
        assert!(
            statements[17].sql.starts_with("/*!50003 CREATE*/")
                && statements[17].sql.ends_with("END IF;\nEND */")
        );
        assert_eq!(statements[18].sql, "SET FOREIGN_KEY_CHECKS = 1");
        assert!(statements
            .iter()
            .all(|s| !s.sql.contains("DELIMITER") && !s.sql.contains("delimiter")));
    }

    #[test]
    fn the_splitter_cases_fixture_splits_the_same_with_crlf_line_endings_and_a_byte_order_mark() {
        let lf = split(SPLITTER_CASES).unwrap();
        let crlf = split(&format!("\u{feff}{}", SPLITTER_CASES.replace('\n', "\r\n"))).unwrap();
        assert_eq!(crlf.len(), lf.len());
        for (crlf, lf) in crlf.iter().zip(&lf) {
            assert_eq!(
                (crlf.sql.replace('\r', ""), crlf.line, &crlf.object),
                (lf.sql.clone(), lf.line, &lf.object)
            );
            assert!(!crlf.sql.ends_with('\r'));
        }
    }

    #[test]
    fn the_typo_fixture_has_its_misspelled_statement_third_on_line_14() {
        let statements = split(TYPO).unwrap();
        assert_eq!(statements.len(), 4);
        assert_eq!(statements[2].line, 14);
        assert!(statements[2]
            .sql
            .starts_with("CREAT TABLE FX_TYPO_TENANT ("));
        assert_eq!(statements[2].object, SchemaObject::Other);
        assert_eq!(statements[3].object, table("FX_TYPO_AFTER"));
    }

    // --- properties ------------------------------------------------------------------------------

    const DELIMITERS: [&str; 4] = [";", "$$", "//", ";;"];

    fn pieces(choices: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(choices), 0..max)
            .prop_map(|parts| parts.concat())
    }

    fn word() -> impl Strategy<Value = String> {
        // At most 8 characters, so never the 9-letter `DELIMITER`.
        "[A-Za-z_][A-Za-z0-9_]{0,7}"
    }

    /// Significant pieces of statement text: words, strings and identifiers full of delimiters and
    /// markers.
    fn significant() -> impl Strategy<Value = String> {
        prop_oneof![
            word(),
            pieces(
                &[
                    "a", " ", ";", "$$", "//", "--", "-- ", "#", "/*", "*/", "\"", "`", "\n",
                    "\\'", "''", "\\\\", "é", "中"
                ],
                8
            )
            .prop_map(|s| format!("'{s}'")),
            pieces(
                &["b", " ", ";", "--", "#", "/*", "'", "\\\"", "\"\"", "\n", "\r\n"],
                8
            )
            .prop_map(|s| format!("\"{s}\"")),
            pieces(
                &["c", " ", ";", "``", "'", "\"", "\\", "é", "--", "#", "/*"],
                8
            )
            .prop_map(|s| format!("`{s}`")),
        ]
    }

    /// Any piece of statement text for a statement ending with `delimiter`.
    fn fragment(delimiter: &'static str) -> impl Strategy<Value = String> {
        let bare_semicolon = if delimiter == ";" { "," } else { ";" };
        prop_oneof![
            4 => significant(),
            1 => prop::sample::select(vec!["(", ")", ",", "=", ".", "+", "-", "*", "/", bare_semicolon]).prop_map(str::to_string),
            // "/* " rather than "/*": a `*` right before the next piece's `/` would close the
            // comment.
            1 => pieces(&["x", " ", ";", "'", "\"", "`", "\n", "--", "#", "/* "], 6).prop_map(|s| format!("/*{s}*/")),
            1 => pieces(&["y", " ", ";", "'", "/*", "*/"], 6).prop_map(|s| format!("-- {s}\n")),
            1 => pieces(&["z", " ", ";", "'", "--"], 6).prop_map(|s| format!("#{s}\n")),
            1 => (word(), significant(), prop::sample::select(vec!["", bare_semicolon]))
                .prop_map(|(w, s, semicolon)| format!("/*!40101 {w} {s}{semicolon} */")),
        ]
    }

    /// A statement for `delimiter`: starts and ends with significant text, so that it is its own
    /// `sql`.
    fn statement(delimiter: &'static str) -> impl Strategy<Value = String> {
        let spacing = prop::sample::select(vec![" ", "\n", "\t", "\r\n", "  "]);
        (
            word(),
            prop::collection::vec((spacing, fragment(delimiter)), 0..6),
            significant(),
        )
            .prop_map(|(first, middle, last)| {
                let mut text = first;
                for (space, fragment) in middle {
                    text.push_str(space);
                    text.push_str(&fragment);
                }
                text.push(' ');
                text.push_str(&last);
                text
            })
    }

    /// What may follow a delimiter before the next statement: spaces, comments and empty
    /// statements.
    fn separator(delimiter: &'static str) -> impl Strategy<Value = String> {
        let choices = vec![
            "\n", " ", "\r\n", "-- c;\n", "--\n", "# c;\n", "/* c; */", delimiter,
        ];
        prop::collection::vec(prop::sample::select(choices), 0..4).prop_map(|parts| parts.concat())
    }

    /// A script and the `(sql, line)` of each statement in it.
    fn script(
        delimiters: &'static [&'static str],
    ) -> impl Strategy<Value = (String, Vec<(String, usize)>)> {
        let leading = prop::sample::select(vec![
            "",
            "\u{feff}",
            "-- header\n",
            "/* header; */\n",
            "\n\n",
        ]);
        let statements = prop::collection::vec(
            prop::sample::select(delimiters)
                .prop_flat_map(|d| (Just(d), statement(d), separator(d))),
            0..8,
        );
        (leading, statements, any::<bool>()).prop_map(|(leading, statements, terminate_last)| {
            let mut script = leading.to_string();
            let mut expected = Vec::new();
            let mut current = ";";
            let count = statements.len();
            for (n, (delimiter, text, after)) in statements.into_iter().enumerate() {
                if delimiter != current {
                    if !script.is_empty() && !script.ends_with('\n') {
                        script.push('\n');
                    }
                    script.push_str(&format!("DELIMITER {delimiter}\n"));
                    current = delimiter;
                }
                let line = 1 + script.matches('\n').count();
                script.push_str(&text);
                expected.push((text, line));
                if n + 1 < count || terminate_last {
                    script.push_str(delimiter);
                    script.push_str(&after);
                }
            }
            (script, expected)
        })
    }

    /// Joins statements back into a script, each ended by a delimiter that cannot occur in it.
    fn render(statements: &[Statement]) -> Option<String> {
        let mut script = String::new();
        for statement in statements {
            let delimiter = [";", "$$", "//", ";;", "%%", "~~"].into_iter().find(|d| {
                !statement.sql.contains(d)
                    && format!("{}{d}", statement.sql).find(d) == Some(statement.sql.len())
            })?;
            script.push_str(&format!(
                "DELIMITER {delimiter}\n{}{delimiter}\n",
                statement.sql
            ));
        }
        Some(script)
    }

    fn assert_fixed_point(statements: &[Statement]) -> Result<(), TestCaseError> {
        let rendered =
            render(statements).ok_or_else(|| TestCaseError::reject("no free delimiter"))?;
        let again =
            split(&rendered).map_err(|e| TestCaseError::fail(format!("{e} in {rendered:?}")))?;
        let texts = |s: &[Statement]| {
            s.iter()
                .map(|s| (s.sql.clone(), s.object.clone()))
                .collect::<Vec<_>>()
        };
        prop_assert_eq!(texts(&again), texts(statements));
        prop_assert_eq!(render(&again), Some(rendered));
        Ok(())
    }

    fn starts_like_a_delimiter_command(statements: &[Statement]) -> bool {
        statements
            .iter()
            .any(|s| delimiter_command_argument(s.sql.lines().next().unwrap_or("")).is_some())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn split_and_classify_never_panic(script in any::<String>()) {
            let _ = split(&script);
            let _ = classify(&script);
        }

        #[test]
        fn split_never_panics_on_sql_like_text(script in "[a-zA-Z ;'\"`#/*!M\\\\$\n\r\t-]{0,80}|(DELIMITER|delimiter) [^\n]{0,4}\n[ -~\n]{0,40}") {
            let _ = split(&script);
        }

        #[test]
        fn generated_statements_split_back_exactly((script, expected) in script(&[";"])) {
            let statements = split(&script).map_err(|e| TestCaseError::fail(format!("{e} in {script:?}")))?;
            let found: Vec<_> = statements.into_iter().map(|s| (s.sql, s.line)).collect();
            prop_assert_eq!(found, expected);
        }

        #[test]
        fn generated_statements_under_any_delimiter_split_back_exactly((script, expected) in script(&DELIMITERS)) {
            let statements = split(&script).map_err(|e| TestCaseError::fail(format!("{e} in {script:?}")))?;
            let found: Vec<_> = statements.into_iter().map(|s| (s.sql, s.line)).collect();
            prop_assert_eq!(found, expected);
        }

        #[test]
        fn rejoined_statements_are_a_fixed_point((script, _) in script(&DELIMITERS)) {
            assert_fixed_point(&split(&script).unwrap())?;
        }

        #[test]
        fn rejoined_statements_of_any_splittable_text_are_a_fixed_point(script in "[a-zA-Z ;'\"`#/*!\\\\$\n\r-]{0,60}") {
            let Ok(statements) = split(&script) else { return Ok(()) };
            prop_assume!(!starts_like_a_delimiter_command(&statements));
            assert_fixed_point(&statements)?;
        }
    }
}
