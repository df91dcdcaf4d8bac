//! The gcfg INI dialect of MIG's configuration files.
//!
//! MIG's Go daemons read `scheduler.cfg`, `api.cfg`, `mig-agent.cfg`, module configs and
//! the investigators' `~/.migrc` with `gopkg.in/gcfg.v1`. This module reads the same
//! text into a [`Document`]: ordered sections, each holding ordered `name = value`
//! entries with their line numbers. Typed getters on [`Section`] turn values into
//! `bool`, integers and [`Duration`]s; every error names the file, the line, the
//! section and the key, so a daemon can parse its raw config here and then validate
//! it into typed values with messages such as
//! `scheduler.cfg:12: [agent] heartbeatfreq: invalid duration "5x": unknown unit "x"`.
//!
//! The dialect, as gcfg reads it:
//!
//! - `[section]` and `[section "subsection"]` headers; section and variable names start
//!   with a letter and hold letters, digits and `-`. We also accept `_`, which gcfg's
//!   scanner rejects: it can only widen what parses, and gcfg itself maps `-` in names
//!   to `_` in Go field names, so `_` in a hand-written file is an easy mistake to forgive.
//!   Names are case-insensitive, subsection names are case-sensitive. A section that
//!   appears twice is one section (its entries are merged in file order).
//! - `name = value`; leading and trailing whitespace of the value is dropped, inner
//!   whitespace is kept. A bare `name` (no `=`) is a boolean true.
//! - Double quotes may appear anywhere in a value and toggle quoting (`a"b c"d` is
//!   `ab cd`). Inside quotes `\"`, `\\`, `\n` and `\t` are escapes and `;`/`#` are
//!   ordinary characters; a quoted value must end on its line.
//! - Outside quotes `;` and `#` start a comment, and a `\` at the very end of a line
//!   joins the next line to the value (the backslash and the newline are dropped);
//!   any other unquoted backslash is an error.
//! - Repeating a name appends to a multi-valued list ([`Section::get_all`]); a bare
//!   `name` resets that list. Single-valued reads take the last value.
//! - CRLF line endings, a leading UTF-8 byte order mark and blank lines are accepted;
//!   a NUL byte is an error.

use std::fmt;
use std::time::Duration;

/// A configuration file read into sections and entries, not yet interpreted.
#[derive(Debug, Clone)]
pub struct Document {
    file_name: String,
    sections: Vec<SectionData>,
}

#[derive(Debug, Clone)]
struct SectionData {
    /// Lower-cased section name, the key for case-insensitive lookup.
    name: String,
    /// Subsection name as written (case-sensitive), `None` for `[section]`.
    subsection: Option<String>,
    /// Line of the first header naming this section, for errors about absent keys.
    line: usize,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    /// Lower-cased variable name.
    name: String,
    /// The unquoted value; `None` for a bare `name` without `=`.
    value: Option<String>,
    line: usize,
}

/// One section of a [`Document`], the handle through which values are read.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    file_name: &'a str,
    data: &'a SectionData,
}

/// Where an error is: file, and when known the line, the section and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: Option<usize>,
    /// The section as it is displayed between brackets: `agent` or `agent "sub"`.
    pub section: Option<String>,
    pub key: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        match (&self.section, &self.key) {
            (Some(section), Some(key)) => write!(f, ": [{section}] {key}"),
            (Some(section), None) => write!(f, ": [{section}]"),
            (None, Some(key)) => write!(f, ": {key}"),
            (None, None) => Ok(()),
        }
    }
}

/// An error reading or interpreting a gcfg file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GcfgError {
    /// The text is not valid gcfg; nothing of the file is usable.
    #[error("{location}: {message}")]
    Syntax { location: Location, message: String },
    /// A value is missing, malformed or rejected by validation.
    #[error("{location}: {message}")]
    Value { location: Location, message: String },
}

impl GcfgError {
    /// Where the error is.
    pub fn location(&self) -> &Location {
        match self {
            GcfgError::Syntax { location, .. } | GcfgError::Value { location, .. } => location,
        }
    }

    /// What is wrong, without the location.
    pub fn message(&self) -> &str {
        match self {
            GcfgError::Syntax { message, .. } | GcfgError::Value { message, .. } => message,
        }
    }
}

impl Document {
    /// Parses gcfg text; `file_name` is only used in error messages.
    pub fn parse(file_name: &str, text: &str) -> Result<Document, GcfgError> {
        Parser::new(file_name, text).run()
    }

    /// The file name given to [`Document::parse`].
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The section `[name]` (without subsection), matched case-insensitively.
    pub fn section(&self, name: &str) -> Option<Section<'_>> {
        self.find(name, None)
    }

    /// The section `[name "subsection"]`; the subsection name is case-sensitive.
    pub fn subsection(&self, name: &str, subsection: &str) -> Option<Section<'_>> {
        self.find(name, Some(subsection))
    }

    /// All sections in the order of their first header.
    pub fn sections(&self) -> impl Iterator<Item = Section<'_>> {
        self.sections.iter().map(|data| Section {
            file_name: &self.file_name,
            data,
        })
    }

    /// An error about `key` of a section that is absent from the file, e.g. a
    /// required value: `api.cfg: [authentication] tokenduration: missing required value`.
    pub fn error(&self, section: &str, key: &str, message: impl Into<String>) -> GcfgError {
        GcfgError::Value {
            location: Location {
                file: self.file_name.clone(),
                line: None,
                section: Some(section.to_lowercase()),
                key: Some(key.to_string()),
            },
            message: message.into(),
        }
    }

    fn find(&self, name: &str, subsection: Option<&str>) -> Option<Section<'_>> {
        let name = name.to_lowercase();
        self.sections()
            .find(|section| section.data.name == name && section.subsection() == subsection)
    }
}

impl<'a> Section<'a> {
    /// The section name, lower-cased.
    pub fn name(&self) -> &'a str {
        &self.data.name
    }

    /// The subsection name as written, if the header had one.
    pub fn subsection(&self) -> Option<&'a str> {
        self.data.subsection.as_deref()
    }

    /// The line of the section's first header.
    pub fn line(&self) -> usize {
        self.data.line
    }

    /// The last value of `key`; a bare `key` (no `=`) reads as `""`.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.last(key)
            .map(|entry| entry.value.as_deref().unwrap_or(""))
    }

    /// All values of a multi-valued `key`, in file order. As in gcfg, a bare `key`
    /// (no `=`) empties the list gathered so far.
    pub fn get_all(&self, key: &str) -> Vec<&'a str> {
        let key = key.to_lowercase();
        let mut values = Vec::new();
        for entry in self.data.entries.iter().filter(|entry| entry.name == key) {
            match &entry.value {
                Some(value) => values.push(value.as_str()),
                None => values.clear(),
            }
        }
        values
    }

    /// The distinct variable names of the section, lower-cased, in order of first use.
    pub fn keys(&self) -> impl Iterator<Item = &'a str> {
        let entries = &self.data.entries;
        entries
            .iter()
            .enumerate()
            .filter_map(move |(index, entry)| {
                let first = !entries[..index].iter().any(|seen| seen.name == entry.name);
                first.then_some(entry.name.as_str())
            })
    }

    /// Fails on the first variable that is not in `known` (lower-case names), the way
    /// the original daemons reject unknown keys.
    pub fn reject_unknown(&self, known: &[&str]) -> Result<(), GcfgError> {
        match self
            .data
            .entries
            .iter()
            .find(|entry| !known.contains(&entry.name.as_str()))
        {
            Some(entry) => Err(self.error_at(&entry.name, Some(entry.line), "unknown variable")),
            None => Ok(()),
        }
    }

    /// The last value of `key` as a string; a bare `key` without `=` is an error.
    pub fn string(&self, key: &str) -> Result<Option<String>, GcfgError> {
        match self.last(key) {
            None => Ok(None),
            Some(entry) => match &entry.value {
                Some(value) => Ok(Some(value.clone())),
                None => Err(self.error(key, "missing value")),
            },
        }
    }

    /// The last value of `key` as a boolean: `true/yes/on/1` or `false/no/off/0`, in
    /// any case; a bare `key` is true; an empty value is an error (as in gcfg).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, GcfgError> {
        let Some(entry) = self.last(key) else {
            return Ok(None);
        };
        let Some(value) = &entry.value else {
            return Ok(Some(true));
        };
        match value.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Some(true)),
            "false" | "no" | "off" | "0" => Ok(Some(false)),
            _ => Err(self.error(
                key,
                format!("invalid boolean {value:?}: expected true/false, yes/no, on/off or 1/0"),
            )),
        }
    }

    /// The last value of `key` as an integer, decimal or `0x` hexadecimal, optionally
    /// signed (gcfg's rule for integer fields: a leading zero does not mean octal).
    pub fn int<T: TryFrom<i128>>(&self, key: &str) -> Result<Option<T>, GcfgError> {
        let Some(value) = self.string(key)? else {
            return Ok(None);
        };
        let number = parse_int(&value)
            .map_err(|reason| self.error(key, format!("invalid integer {value:?}: {reason}")))?;
        T::try_from(number)
            .map(Some)
            .map_err(|_| self.error(key, format!("invalid integer {value:?}: out of range")))
    }

    /// The last value of `key` as a Go duration (`"300s"`, `"1h30m"`). An empty value
    /// reads as absent: MIG keeps durations as strings and treats `""` as "not set".
    pub fn duration(&self, key: &str) -> Result<Option<Duration>, GcfgError> {
        match self.string(key)? {
            None => Ok(None),
            Some(value) if value.is_empty() => Ok(None),
            Some(value) => parse_go_duration(&value)
                .map(Some)
                .map_err(|reason| self.error(key, format!("invalid duration {value:?}: {reason}"))),
        }
    }

    /// An error about `key`, located at its last line, or at the section header if
    /// the key is absent. For the validation step that follows parsing.
    pub fn error(&self, key: &str, message: impl Into<String>) -> GcfgError {
        let line = self.last(key).map_or(self.data.line, |entry| entry.line);
        self.error_at(key, Some(line), message)
    }

    fn error_at(&self, key: &str, line: Option<usize>, message: impl Into<String>) -> GcfgError {
        GcfgError::Value {
            location: Location {
                file: self.file_name.to_string(),
                line,
                section: Some(display_section(&self.data.name, self.subsection())),
                key: Some(key.to_string()),
            },
            message: message.into(),
        }
    }

    fn last(&self, key: &str) -> Option<&'a Entry> {
        let key = key.to_lowercase();
        self.data
            .entries
            .iter()
            .rev()
            .find(|entry| entry.name == key)
    }
}

/// `agent` or `agent "sub"` (with `"` and `\` escaped), as shown between brackets.
fn display_section(name: &str, subsection: Option<&str>) -> String {
    match subsection {
        None => name.to_string(),
        Some(sub) => format!(
            "{name} \"{}\"",
            sub.replace('\\', "\\\\").replace('"', "\\\"")
        ),
    }
}

/// Decimal or `0x` hexadecimal with an optional sign; surrounding spaces ignored.
fn parse_int(text: &str) -> Result<i128, &'static str> {
    let text = text.trim();
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (digits, radix) = match unsigned.strip_prefix("0x").or(unsigned.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (unsigned, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(if radix == 16 {
            "expected hexadecimal digits after 0x"
        } else {
            "expected a decimal or 0x-prefixed hexadecimal number"
        });
    }
    let magnitude = u128::from_str_radix(digits, radix).map_err(|_| "out of range")?;
    let magnitude = i128::try_from(magnitude).map_err(|_| "out of range")?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// Parses a duration the way Go's `time.ParseDuration` does: a sequence of decimal
/// numbers, each with an optional fraction and a unit (`ns`, `us`, `µs`, `μs`, `ms`,
/// `s`, `m`, `h`), e.g. `"300ms"`, `"1.5h"`, `"2h45m"`; a lone `"0"` needs no unit.
/// Unlike Go, negative durations are rejected (`"-0"` is zero and allowed). The error
/// is the reason only, e.g. `unknown unit "x"`, for the caller to place in context.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    const MAX: u128 = i64::MAX as u128;
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err("expected a number and a unit".to_string());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(format!("expected a number at {rest:?}"));
        }
        if fraction.contains('.') {
            return Err(format!("malformed number {number:?}"));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos_per_unit: u128 = match unit {
            "" => return Err(format!("missing unit after {number:?}")),
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(format!("unknown unit {unit:?}")),
        };
        let overflow = || "out of range".to_string();
        let mut nanos = if whole.is_empty() {
            0
        } else {
            whole.parse::<u128>().map_err(|_| overflow())?
        };
        nanos = nanos.checked_mul(nanos_per_unit).ok_or_else(overflow)?;
        nanos += go_fraction_nanos(fraction, nanos_per_unit);
        total = total.checked_add(nanos).ok_or_else(overflow)?;
        if total > MAX {
            return Err(overflow());
        }
        rest = after;
    }
    if negative && total != 0 {
        return Err("negative durations are not allowed".to_string());
    }
    let total = u64::try_from(total).map_err(|_| "out of range".to_string())?;
    Ok(Duration::from_nanos(total))
}

/// The nanoseconds of a fraction (the digits after the point) of `unit`, computed as
/// Go's `time.ParseDuration` does: digits are taken while they fit in an `i64`, then
/// scaled in `f64` and truncated, so that e.g. `0.3333333333333333333h` is exactly 20m.
fn go_fraction_nanos(digits: &str, unit: u128) -> u128 {
    let mut value: i64 = 0;
    let mut scale: f64 = 1.0;
    for digit in digits.bytes() {
        let Some(next) = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(digit - b'0')))
        else {
            break;
        };
        value = next;
        scale *= 10.0;
    }
    if value == 0 {
        return 0;
    }
    // Saturating float-to-int conversion; the caller checks the total against the range.
    (value as f64 * (unit as f64 / scale)) as u128
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\r'
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

/// The text up to the first `;`, `#` or end of line, trimmed: what a user meant as a
/// name, for error messages.
fn until_comment(text: &str) -> &str {
    text.split(['#', ';'])
        .next()
        .unwrap_or("")
        .trim_matches(is_space)
}

struct Parser<'t> {
    file_name: &'t str,
    lines: Vec<&'t str>,
    /// Index of the next physical line to read.
    next: usize,
    sections: Vec<SectionData>,
    current: Option<usize>,
}

impl<'t> Parser<'t> {
    fn new(file_name: &'t str, text: &'t str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Parser {
            file_name,
            lines: text.split('\n').collect(),
            next: 0,
            sections: Vec::new(),
            current: None,
        }
    }

    fn run(mut self) -> Result<Document, GcfgError> {
        if let Some(index) = self.lines.iter().position(|line| line.contains('\0')) {
            return Err(self.syntax(index + 1, "illegal character NUL"));
        }
        while self.next < self.lines.len() {
            let line_no = self.next + 1;
            let line = self.lines[self.next].trim_start_matches(is_space);
            self.next += 1;
            match line.chars().next() {
                None | Some(';') | Some('#') => {}
                Some('[') => self.header(line_no, &line[1..])?,
                Some(_) => self.variable(line_no, line)?,
            }
        }
        Ok(Document {
            file_name: self.file_name.to_string(),
            sections: self.sections,
        })
    }

    fn syntax(&self, line: usize, message: impl Into<String>) -> GcfgError {
        let section = self
            .current
            .map(|index| &self.sections[index])
            .map(|data| display_section(&data.name, data.subsection.as_deref()));
        GcfgError::Syntax {
            location: Location {
                file: self.file_name.to_string(),
                line: Some(line),
                section,
                key: None,
            },
            message: message.into(),
        }
    }

    /// `[name]` or `[name "subsection"]`, `text` being what follows the `[`.
    fn header(&mut self, line_no: usize, text: &str) -> Result<(), GcfgError> {
        // Errors in a header are not about the previous section.
        self.current = None;
        let text = text.trim_start_matches(is_space);
        let name_len = text.find(|c: char| !is_name_char(c)).unwrap_or(text.len());
        let (name, rest) = text.split_at(name_len);
        if name.is_empty() || !name.starts_with(is_name_start) {
            let shown = text
                .split([']', '"'])
                .next()
                .unwrap_or("")
                .trim_matches(is_space);
            return Err(if shown.is_empty() {
                self.syntax(line_no, "missing section name")
            } else {
                self.syntax(line_no, format!("invalid section name {shown:?}"))
            });
        }
        let mut rest = rest.trim_start_matches(is_space);
        let mut subsection = None;
        if let Some(quoted) = rest.strip_prefix('"') {
            let (sub, after) = self.subsection_name(line_no, quoted)?;
            if sub.is_empty() {
                return Err(self.syntax(line_no, "empty subsection name"));
            }
            subsection = Some(sub);
            rest = after.trim_start_matches(is_space);
        }
        let Some(after) = rest.strip_prefix(']') else {
            return Err(if rest.is_empty() || rest.starts_with([';', '#']) {
                match subsection {
                    None => self.syntax(line_no, "missing ']' after section name"),
                    Some(_) => self.syntax(line_no, "missing ']' after subsection name"),
                }
            } else if subsection.is_none() {
                self.syntax(
                    line_no,
                    format!(
                        "invalid section name {:?}",
                        until_comment(text).trim_end_matches(']')
                    ),
                )
            } else {
                self.syntax(line_no, "expected ']' after subsection name")
            });
        };
        let after = after.trim_start_matches(is_space);
        if !(after.is_empty() || after.starts_with([';', '#'])) {
            return Err(self.syntax(
                line_no,
                format!("unexpected text after section header: {after:?}"),
            ));
        }
        let name = name.to_lowercase();
        let index = match self
            .sections
            .iter()
            .position(|data| data.name == name && data.subsection == subsection)
        {
            Some(index) => index,
            None => {
                self.sections.push(SectionData {
                    name,
                    subsection,
                    line: line_no,
                    entries: Vec::new(),
                });
                self.sections.len() - 1
            }
        };
        self.current = Some(index);
        Ok(())
    }

    /// A quoted subsection name, `text` being what follows the opening quote. Returns
    /// the unescaped name and the text after the closing quote.
    fn subsection_name<'l>(
        &self,
        line_no: usize,
        text: &'l str,
    ) -> Result<(String, &'l str), GcfgError> {
        let mut name = String::new();
        let mut chars = text.char_indices();
        while let Some((index, c)) = chars.next() {
            match c {
                '"' => return Ok((name, &text[index + 1..])),
                '\\' => match chars.next() {
                    Some((_, escaped)) => name.push(self.unescape(line_no, escaped)?),
                    None => break,
                },
                '\r' => {}
                c => name.push(c),
            }
        }
        Err(self.syntax(line_no, "unterminated subsection name"))
    }

    fn unescape(&self, line_no: usize, c: char) -> Result<char, GcfgError> {
        match c {
            '"' => Ok('"'),
            '\\' => Ok('\\'),
            'n' => Ok('\n'),
            't' => Ok('\t'),
            other => Err(self.syntax(line_no, format!("invalid escape sequence \"\\{other}\""))),
        }
    }

    /// `name`, `name = value` or `name = value ; comment`.
    fn variable(&mut self, line_no: usize, text: &'t str) -> Result<(), GcfgError> {
        let name_len = text.find(|c: char| !is_name_char(c)).unwrap_or(text.len());
        let (name, rest) = text.split_at(name_len);
        let rest = rest.trim_start_matches(is_space);
        let valid = name.starts_with(is_name_start)
            && (rest.is_empty() || rest.starts_with(['=', ';', '#']));
        if !valid {
            let shown = until_comment(text.split('=').next().unwrap_or(""));
            return Err(if shown.is_empty() {
                self.syntax(line_no, "missing variable name before '='")
            } else {
                self.syntax(line_no, format!("invalid variable name {shown:?}"))
            });
        }
        let Some(index) = self.current else {
            return Err(self.syntax(
                line_no,
                format!("variable {name:?} appears before any section header"),
            ));
        };
        let value = match rest.strip_prefix('=') {
            Some(raw) => Some(self.value(line_no, index, name, raw)?),
            None => None,
        };
        self.sections[index].entries.push(Entry {
            name: name.to_lowercase(),
            value,
            line: line_no,
        });
        Ok(())
    }

    /// Reads a value starting at `text` (after the `=`), following `\` continuation
    /// lines; unquotes and unescapes it.
    fn value(
        &mut self,
        line_no: usize,
        section: usize,
        name: &str,
        text: &'t str,
    ) -> Result<String, GcfgError> {
        let error = |parser: &Self, line: usize, message: &str| {
            let data = &parser.sections[section];
            GcfgError::Syntax {
                location: Location {
                    file: parser.file_name.to_string(),
                    line: Some(line),
                    section: Some(display_section(&data.name, data.subsection.as_deref())),
                    key: Some(name.to_lowercase()),
                },
                message: message.to_string(),
            }
        };
        let mut value = String::new();
        // Unquoted whitespace, kept only if more of the value follows.
        let mut pending = String::new();
        let mut in_quote = false;
        let mut current_line = line_no;
        let mut chars = text.trim_start_matches(is_space).chars();
        loop {
            let Some(c) = chars.next() else {
                if in_quote {
                    return Err(error(self, current_line, "unterminated quoted value"));
                }
                return Ok(value);
            };
            if c == '\r' {
                // gcfg drops every carriage return of a value.
                continue;
            }
            if in_quote {
                match c {
                    '"' => in_quote = false,
                    '\\' => match chars.next() {
                        Some(escaped @ ('"' | '\\' | 'n' | 't')) => value.push(match escaped {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        }),
                        Some(other) if other != '\r' => {
                            let message =
                                format!("invalid escape sequence \"\\{other}\" in quoted value");
                            return Err(error(self, current_line, &message));
                        }
                        _ => return Err(error(self, current_line, "unterminated quoted value")),
                    },
                    c => value.push(c),
                }
                continue;
            }
            match c {
                ';' | '#' => return Ok(value),
                c if is_space(c) => pending.push(c),
                '"' => {
                    value.push_str(&pending);
                    pending.clear();
                    in_quote = true;
                }
                '\\' => {
                    let rest: String = chars.by_ref().collect();
                    if !rest.chars().all(|c| c == '\r') {
                        let message = "a '\\' outside quotes must end the line (line continuation)";
                        return Err(error(self, current_line, message));
                    }
                    let Some(next_line) = self.lines.get(self.next) else {
                        return Err(error(
                            self,
                            current_line,
                            "line continuation at end of file",
                        ));
                    };
                    self.next += 1;
                    current_line += 1;
                    value.push_str(&pending);
                    pending.clear();
                    chars = next_line.chars();
                }
                c => {
                    value.push_str(&pending);
                    pending.clear();
                    value.push(c);
                }
            }
        }
    }
}
