//! The file module's parameters (spec modules.md §3.2) and their validation.
//!
//! [`Search`] is both the input type and the `search` object echoed in every
//! result entry, so its fields are declared in the original's struct order with
//! the original's `omitempty` rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The module's parameters: searches by label.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Parameters {
    /// Label → search; labels are iterated in byte order.
    pub searches: Option<BTreeMap<String, Search>>,
}

/// One named search (its filters and options).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Search {
    /// Free text, echoed in matchall results.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The roots to look under; always serialised (`null` when unset).
    pub paths: Option<Vec<String>>,
    /// Content regexes (`!` prefix inverts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contents: Vec<String>,
    /// Base-name regexes (`!` prefix inverts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Size filters: `<10m`, `>1k`, `1024`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sizes: Vec<String>,
    /// Regexes on the Go `FileMode` string (`-rw-r--r--`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modes: Vec<String>,
    /// Age filters: `<90d`, `>5h`, `<30m`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mtimes: Vec<String>,
    /// MD5 digests in hex.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub md5: Vec<String>,
    /// SHA-1 digests in hex.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sha1: Vec<String>,
    /// SHA-2 digests in hex; the length picks SHA-256/384/512.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sha2: Vec<String>,
    /// SHA-3 digests in hex; the length picks SHA3-224/256/384/512.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sha3: Vec<String>,
    /// The search's options (never omitted).
    pub options: Options,
}

/// A search's options, in the original's field order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// Directory levels to descend below a search path (0 = unlimited).
    pub maxdepth: f64,
    /// Errors to return at most (0 = unlimited).
    pub maxerrors: f64,
    /// Walk remote file systems (NFS, CIFS, …) too.
    #[serde(skip_serializing_if = "is_false")]
    pub remotefs: bool,
    /// A file must pass every check (otherwise each check reports its own hits).
    pub matchall: bool,
    /// Content regexes must match all lines.
    pub macroal: bool,
    /// Filters whose result is inverted.
    pub mismatch: Option<Vec<String>>,
    /// Stop activating the search once this many hits were counted (0 = unlimited).
    pub matchlimit: f64,
    /// `"print"` traces to stderr.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub debug: String,
    /// Add the SHA-256 of each matchall hit to its `fileinfo`.
    #[serde(skip_serializing_if = "is_false")]
    pub returnsha256: bool,
    /// Read gzip files through a decoder.
    #[serde(skip_serializing_if = "is_false")]
    pub decompress: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Options {
    /// Whether `filter` is named in `mismatch`.
    pub fn has_mismatch(&self, filter: &str) -> bool {
        self.mismatch
            .iter()
            .flatten()
            .any(|candidate| candidate == filter)
    }
}

/// The label regex the original documents in its error message.
pub const LABEL_REGEX: &str = "^([a-zA-Z0-9_-]|.){1,64}$";
/// The size syntax.
pub const SIZE_REGEX: &str = "^(<|>)?[0-9]*(k|m|g|t)?$";
/// The mtime syntax.
pub const MTIME_REGEX: &str = "^(<|>)[0-9]*(d|h|m)$";
/// The mismatch filter syntax.
pub const MISMATCH_REGEX: &str = "^(name|size|mode|mtime|content|md5|sha1|sha2|sha3)$";

/// Validates every search in label order; the first error aborts the run.
pub fn validate(searches: &BTreeMap<String, Search>) -> Result<(), String> {
    for (label, search) in searches {
        validate_label(label)?;
        if search.paths.as_ref().is_none_or(Vec::is_empty) {
            return Err("invalid empty search path, must have at least one search path".to_owned());
        }
        for value in search.contents.iter().chain(&search.names) {
            validate_regex(value)?;
        }
        for size in &search.sizes {
            validate_size(size)?;
        }
        for mode in &search.modes {
            validate_regex(mode)?;
        }
        for mtime in &search.mtimes {
            validate_mtime(mtime)?;
        }
        for hash in &search.md5 {
            validate_hash(hash, &[32])?;
        }
        for hash in &search.sha1 {
            validate_hash(hash, &[40])?;
        }
        for hash in &search.sha2 {
            validate_hash(hash, &[64, 96, 128])?;
        }
        for hash in &search.sha3 {
            validate_hash(hash, &[56, 64, 96, 128])?;
        }
        for filter in search.options.mismatch.iter().flatten() {
            validate_mismatch(filter)?;
        }
    }
    Ok(())
}

fn validate_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("empty labels are not permitted".to_owned());
    }
    // `.` admits everything but a newline, so the regex is a length rule.
    if label.contains('\n') || label.chars().count() > 64 {
        return Err(format!(
            "The syntax of label '{label}' is invalid. Must match regex {LABEL_REGEX}"
        ));
    }
    Ok(())
}

/// Strips the inverse marker: a leading `!` on a value longer than one byte.
pub fn strip_inverse(value: &str) -> (bool, &str) {
    match value.strip_prefix('!') {
        Some(rest) if !rest.is_empty() => (true, rest),
        _ => (false, value),
    }
}

fn validate_regex(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("Empty values are not permitted".to_owned());
    }
    let (_, pattern) = strip_inverse(value);
    super::checks::compile_regex(pattern).map(|_| ())
}

fn validate_size(size: &str) -> Result<(), String> {
    if size.is_empty() {
        return Err("Empty values are not permitted".to_owned());
    }
    let rest = size.strip_prefix(['<', '>']).unwrap_or(size);
    let rest = rest.strip_suffix(['k', 'm', 'g', 't']).unwrap_or(rest);
    if !rest.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!(
            "Invalid size format for size '{size}'. Must match regex {SIZE_REGEX}"
        ));
    }
    Ok(())
}

fn validate_mtime(mtime: &str) -> Result<(), String> {
    if mtime.is_empty() {
        return Err("Empty values are not permitted".to_owned());
    }
    let valid = mtime
        .strip_prefix(['<', '>'])
        .and_then(|rest| rest.strip_suffix(['d', 'h', 'm']))
        .is_some_and(|digits| digits.bytes().all(|byte| byte.is_ascii_digit()));
    if !valid {
        return Err(format!(
            "Invalid mtime format for mtime '{mtime}'. Must match regex {MTIME_REGEX}"
        ));
    }
    Ok(())
}

fn validate_hash(hash: &str, lengths: &[usize]) -> Result<(), String> {
    if hash.is_empty() {
        return Err("Empty values are not permitted".to_owned());
    }
    let upper = hash.to_uppercase();
    // The original picks the expected length from the value's own length and
    // prints "ERROR: Invalid hash length" on stdout for any other; we reject.
    let expected = if lengths.contains(&upper.len()) {
        upper.len()
    } else if lengths.len() == 1 {
        lengths[0]
    } else {
        let allowed: Vec<String> = lengths.iter().map(usize::to_string).collect();
        return Err(format!(
            "Invalid hash length for hash '{upper}'. Must be {} hexadecimal characters long",
            allowed.join(", ")
        ));
    };
    let hex = upper
        .bytes()
        .all(|byte| byte.is_ascii_digit() || (b'A'..=b'F').contains(&byte));
    if !hex || upper.len() != expected {
        return Err(format!(
            "Invalid checksum format for hash '{upper}'. Must match regex ^[A-F0-9]{{{expected}}}$"
        ));
    }
    Ok(())
}

fn validate_mismatch(filter: &str) -> Result<(), String> {
    if filter.is_empty() {
        return Err("empty filters are not permitted".to_owned());
    }
    const FILTERS: [&str; 9] = [
        "name", "size", "mode", "mtime", "content", "md5", "sha1", "sha2", "sha3",
    ];
    if !FILTERS.contains(&filter) {
        return Err(format!(
            "The syntax of filter '{filter}' is invalid. Must match regex {MISMATCH_REGEX}"
        ));
    }
    Ok(())
}

/// Go's `filepath.Clean` for Unix paths.
pub fn clean_path(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}
