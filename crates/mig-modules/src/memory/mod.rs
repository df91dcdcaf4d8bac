//! `memory`: processes selected by executable name, loaded libraries, and
//! regexes or byte strings found in their memory (spec modules.md §5.1).
//!
//! Memory is read through `/proc/<pid>/mem` with positional reads: the target
//! keeps running (no ptrace stop). Each readable region is read in chunks of
//! [`CHUNK`] bytes whose ends are aligned on multiples of [`CHUNK`]; the last
//! bytes of a chunk are kept in front of the next one (the overlap), so a match
//! that crosses a chunk boundary is still found. The overlap is the longest
//! possible match minus one: the longest byte string, and for a regex its
//! maximum match length, bounded by [`REGEX_SPAN_LIMIT`] — a regex match longer
//! than that which crosses a chunk boundary can be missed (the original's
//! window was 4 KiB and did not slide at all after the second chunk). The
//! module's memory is one chunk plus the overlap, whatever the target's size.
//!
//! Deviations from the original: a true sliding window; a search stops
//! reading a process as soon as each of its content and byte checks has hit
//! (the original needed all of them in the same 4 KiB window, then went on
//! reading — the recorded hits are the same); `memoryread` counts each byte
//! read once; `maxlength` limits the bytes a search looks at exactly.

pub mod client;
mod procfs;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::time::Instant;

use memchr::memmem;
use serde::{Deserialize, Serialize};

pub use procfs::{Mapping, Region, libraries, parse_maps, readable_regions};
pub(crate) use procfs::{maps, open_mem, pids, process_name, read_at};

use crate::duration::go_duration;
use crate::file::checks::compile_regex;
use crate::result::{Module, ModuleContext, TypedResult};

/// Size of one read from the target (chunk ends are aligned on it).
pub const CHUNK: u64 = 1 << 20;
/// The longest regex match guaranteed to be found across a chunk boundary.
pub const REGEX_SPAN_LIMIT: usize = 64 << 10;

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Parameters: `{"searches":{"<label>":Search}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Parameters {
    /// Searches by label.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub searches: BTreeMap<String, Search>,
}

/// One search.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Search {
    /// Free text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Regexes on the executable's path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Regexes on the paths of mapped files.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub libraries: Vec<String>,
    /// Hex byte strings searched in memory.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bytes: Vec<String>,
    /// Regexes searched in memory.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contents: Vec<String>,
    /// Options (always present).
    pub options: Options,
}

/// Search options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// Lowest address to read.
    #[serde(skip_serializing_if = "is_zero")]
    pub offset: f64,
    /// Bytes of memory to look at per process (0: unlimited).
    #[serde(skip_serializing_if = "is_zero")]
    pub maxlength: f64,
    /// Report unreadable memory in `failures`.
    #[serde(skip_serializing_if = "is_false")]
    pub logfailures: bool,
    /// A process must hit every check.
    #[serde(skip_serializing_if = "is_false")]
    pub matchall: bool,
}

/// A process in the results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Process {
    /// Its name (empty for the "nothing found" entry).
    pub name: String,
    /// Its pid (0 for the "nothing found" entry).
    pub pid: f64,
}

/// One result entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MatchedProcess {
    /// The process.
    pub process: Process,
    /// The search (matchall) or the one check (matchany) it hit.
    pub search: Search,
}

/// `elements`: label → entries.
pub type Elements = BTreeMap<String, Vec<MatchedProcess>>;

/// `statistics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statistics {
    /// Processes inspected.
    pub processcount: f64,
    /// Bytes of memory read.
    pub memoryread: f64,
    /// Result entries with a process.
    pub totalhits: f64,
    /// Soft failures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
    /// Run time as a Go duration string.
    pub exectime: String,
}

/// The module.
pub struct Memory;

/// The memory module's result type.
pub type MemoryResult = TypedResult<Elements, Statistics>;

/// Kinds of checks, in the order of the matchany results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Name,
    Library,
    Content,
    Byte,
}

enum Matcher {
    Name(regex::Regex),
    Content(regex::bytes::Regex),
    Byte(Box<memmem::Finder<'static>>),
}

struct Check {
    kind: Kind,
    value: String,
    matcher: Matcher,
    /// The longest match in bytes (memory checks).
    span: usize,
    matched: Vec<u32>,
}

impl Check {
    fn store(&mut self, pid: u32) {
        if !self.matched.contains(&pid) {
            self.matched.push(pid);
        }
    }

    fn is_memory(&self) -> bool {
        matches!(self.kind, Kind::Content | Kind::Byte)
    }

    fn hits(&self, window: &[u8]) -> bool {
        match &self.matcher {
            Matcher::Content(regex) => regex.is_match(window),
            Matcher::Byte(finder) => finder.find(window).is_some(),
            Matcher::Name(_) => false,
        }
    }
}

struct CompiledSearch {
    label: String,
    search: Search,
    checks: Vec<Check>,
    offset: u64,
    maxlength: u64,
}

/// Validates a label as the original does.
pub fn validate_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("empty labels are not permitted".to_owned());
    }
    let valid = label.len() <= 64
        && label
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if !valid {
        return Err(format!(
            "The syntax of label '{label}' is invalid. Must match regex ^([a-zA-Z0-9_-]){{1,64}}$"
        ));
    }
    Ok(())
}

fn validate_regex(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("Empty values are not permitted".to_owned());
    }
    compile_regex(&go_braces(pattern)).map(|_| ())
}

/// Go's `regexp` reads a `{` that does not open a valid repetition
/// (`{n}`, `{n,}`, `{n,m}`) as a literal; Rust's refuses it. Escapes those.
pub fn go_braces(pattern: &str) -> String {
    let bytes = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut escaped = false;
    let mut in_class = false;
    for (index, ch) in pattern.char_indices() {
        if escaped {
            escaped = false;
            out.push(ch);
            continue;
        }
        match ch {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '{' if !in_class && !is_repetition(&bytes[index..]) => {
                out.push_str("\\{");
                continue;
            }
            _ => {}
        }
        out.push(ch);
    }
    out
}

fn is_repetition(rest: &[u8]) -> bool {
    let Some(end) = rest.iter().position(|&b| b == b'}') else {
        return false;
    };
    let inner = &rest[1..end];
    let (min, max) = match inner.iter().position(|&b| b == b',') {
        Some(comma) => (&inner[..comma], Some(&inner[comma + 1..])),
        None => (inner, None),
    };
    !min.is_empty()
        && min.iter().all(u8::is_ascii_digit)
        && max.is_none_or(|max| max.iter().all(u8::is_ascii_digit))
}

/// Decodes a hex string as Go's `hex.DecodeString`.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |byte: u8| (byte as char).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}

fn validate_bytes(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("Empty values are not permitted".to_owned());
    }
    decode_hex(text).map(|_| ()).ok_or_else(|| {
        format!(
            "Invalid bytes '{text}'. Must be an hexadecimal byte string without leading 0x. ex: 'ff00d1ab'"
        )
    })
}

/// Validates parameters as the original (labels, then contents, names,
/// libraries and bytes of each search).
pub fn validate(parameters: &Parameters) -> Result<(), String> {
    for (label, search) in &parameters.searches {
        validate_label(label)?;
        for pattern in search
            .contents
            .iter()
            .chain(&search.names)
            .chain(&search.libraries)
        {
            validate_regex(pattern)?;
        }
        for bytes in &search.bytes {
            validate_bytes(bytes)?;
        }
    }
    Ok(())
}

/// The longest match of a regex in bytes, bounded by [`REGEX_SPAN_LIMIT`].
fn regex_span(pattern: &str) -> usize {
    regex_syntax::Parser::new()
        .parse(pattern)
        .ok()
        .and_then(|hir| hir.properties().maximum_len())
        .map_or(REGEX_SPAN_LIMIT, |len| len.min(REGEX_SPAN_LIMIT))
}

fn compile(label: &str, search: &Search) -> Result<CompiledSearch, String> {
    let regex_error = |pattern: &str| {
        compile_regex(pattern)
            .err()
            .unwrap_or_else(|| format!("Invalid regexp '{pattern}'"))
    };
    let mut checks = Vec::new();
    for (kind, values) in [
        (Kind::Name, &search.names),
        (Kind::Library, &search.libraries),
        (Kind::Content, &search.contents),
        (Kind::Byte, &search.bytes),
    ] {
        for value in values {
            let (matcher, span) = match kind {
                Kind::Name | Kind::Library => (
                    Matcher::Name(
                        regex::Regex::new(&go_braces(value)).map_err(|_| regex_error(value))?,
                    ),
                    0,
                ),
                Kind::Content => (
                    Matcher::Content(
                        regex::bytes::RegexBuilder::new(&go_braces(value))
                            .size_limit(64 << 20)
                            .build()
                            .map_err(|_| regex_error(value))?,
                    ),
                    regex_span(&go_braces(value)),
                ),
                Kind::Byte => {
                    let needle = decode_hex(value).ok_or_else(|| {
                        format!("makeChecks() -> encoding/hex: invalid byte in '{value}'")
                    })?;
                    let span = needle.len();
                    (
                        Matcher::Byte(Box::new(memmem::Finder::new(&needle).into_owned())),
                        span,
                    )
                }
            };
            checks.push(Check {
                kind,
                value: value.clone(),
                matcher,
                span,
                matched: Vec::new(),
            });
        }
    }
    let limit = |value: f64| {
        if value <= 0.0 || !value.is_finite() {
            u64::MAX
        } else {
            value as u64
        }
    };
    Ok(CompiledSearch {
        label: label.to_owned(),
        search: search.clone(),
        checks,
        offset: search.options.offset.max(0.0) as u64,
        maxlength: limit(search.options.maxlength),
    })
}

/// The per-process state of one search during the memory pass.
struct Pass {
    search: usize,
    /// Indexes of memory checks that have not hit in this process yet.
    pending: Vec<usize>,
    /// Bytes this search may still look at.
    budget: u64,
}

struct Scanner {
    searches: Vec<CompiledSearch>,
    statistics: Statistics,
    buffer: Vec<u8>,
}

impl Scanner {
    fn evaluate(&mut self, pid: u32, mem: &File) {
        let name = procfs::process_name(pid);
        let mut mappings: Option<io::Result<Vec<Mapping>>> = None;
        let mut active = vec![true; self.searches.len()];
        for (index, search) in self.searches.iter_mut().enumerate() {
            let matchall = search.search.options.matchall;
            let mut all_names = true;
            for check in search.checks.iter_mut().filter(|c| c.kind == Kind::Name) {
                if let Matcher::Name(regex) = &check.matcher
                    && regex.is_match(&name)
                {
                    check.store(pid);
                } else {
                    all_names = false;
                }
            }
            if !all_names && matchall {
                active[index] = false;
                continue;
            }
            let mut all_libraries = true;
            for check in search.checks.iter_mut().filter(|c| c.kind == Kind::Library) {
                let maps = mappings.get_or_insert_with(|| procfs::maps(pid));
                let hit = match maps {
                    Ok(maps) => {
                        let libraries = libraries(maps, &name);
                        matches!(&check.matcher, Matcher::Name(regex)
                            if libraries.iter().any(|library| regex.is_match(library)))
                    }
                    Err(_) => false,
                };
                if hit {
                    check.store(pid);
                } else {
                    all_libraries = false;
                }
            }
            if !all_libraries && matchall {
                active[index] = false;
            }
        }
        if let Some(Err(err)) = &mappings {
            self.statistics.failures.push(format!(
                "unable to read the mappings of process {pid}: {err}"
            ));
        }
        self.walk_memory(pid, mem, &active);
    }

    fn walk_memory(&mut self, pid: u32, mem: &File, active: &[bool]) {
        let mut passes: Vec<Pass> = Vec::new();
        let mut offset = u64::MAX;
        let mut overlap = 0usize;
        let mut log_failures = false;
        for (index, search) in self.searches.iter().enumerate() {
            let pending: Vec<usize> = (0..search.checks.len())
                .filter(|&i| search.checks[i].is_memory())
                .collect();
            if !active[index] || pending.is_empty() {
                continue;
            }
            for &i in &pending {
                overlap = overlap.max(search.checks[i].span.saturating_sub(1));
            }
            offset = offset.min(search.offset);
            log_failures |= search.search.options.logfailures;
            passes.push(Pass {
                search: index,
                pending,
                budget: search.maxlength,
            });
        }
        if passes.is_empty() {
            return;
        }
        let regions = match procfs::maps(pid) {
            Ok(maps) => readable_regions(&maps, offset),
            Err(err) => {
                if log_failures {
                    self.statistics.failures.push(format!(
                        "unable to read the mappings of process {pid}: {err}"
                    ));
                }
                return;
            }
        };
        let capacity = CHUNK as usize + overlap;
        if self.buffer.len() < capacity {
            self.buffer.resize(capacity, 0);
        }
        let mut read_total = 0u64;
        'regions: for region in regions {
            let mut address = region.start;
            let mut carry = 0usize;
            while address < region.end {
                passes.retain(|pass| !pass.pending.is_empty() && pass.budget > 0);
                if passes.is_empty() {
                    break 'regions;
                }
                let chunk_end = ((address / CHUNK) + 1)
                    .saturating_mul(CHUNK)
                    .min(region.end);
                let want = (chunk_end - address) as usize;
                let n = match procfs::read_at(mem, &mut self.buffer[carry..carry + want], address) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(err) => {
                        if log_failures {
                            self.statistics.failures.push(format!(
                                "unable to read memory of process {pid} at 0x{address:x}-0x{chunk_end:x}: {err}"
                            ));
                        }
                        address = chunk_end;
                        carry = 0;
                        continue;
                    }
                };
                read_total += n as u64;
                for pass in &mut passes {
                    let allowed = (n as u64).min(pass.budget) as usize;
                    pass.budget -= allowed as u64;
                    let window = &self.buffer[..carry + allowed];
                    let search = &mut self.searches[pass.search];
                    pass.pending.retain(|&i| {
                        let check = &mut search.checks[i];
                        if check.hits(window) {
                            check.store(pid);
                            false
                        } else {
                            true
                        }
                    });
                }
                let filled = carry + n;
                let keep = overlap.min(filled);
                self.buffer.copy_within(filled - keep..filled, 0);
                carry = keep;
                address += n as u64;
            }
        }
        self.statistics.memoryread += read_total as f64;
    }

    fn results(&mut self) -> Elements {
        let mut elements = Elements::new();
        let mut names: BTreeMap<u32, String> = BTreeMap::new();
        let mut name_of = |pid: u32| {
            names
                .entry(pid)
                .or_insert_with(|| procfs::process_name(pid))
                .clone()
        };
        for search in &self.searches {
            let mut entries = Vec::new();
            let mut cleared = search.search.clone();
            cleared.options.offset = 0.0;
            cleared.options.maxlength = 0.0;
            if search.search.options.matchall {
                let mut all: Vec<u32> = Vec::new();
                for pid in search.checks.iter().flat_map(|c| &c.matched) {
                    if !all.contains(pid) {
                        all.push(*pid);
                    }
                }
                all.retain(|pid| search.checks.iter().all(|c| c.matched.contains(pid)));
                if all.is_empty() {
                    entries.push(MatchedProcess {
                        process: Process::default(),
                        search: cleared.clone(),
                    });
                }
                for pid in all {
                    self.statistics.totalhits += 1.0;
                    entries.push(MatchedProcess {
                        process: Process {
                            name: name_of(pid),
                            pid: f64::from(pid),
                        },
                        search: cleared.clone(),
                    });
                }
            } else {
                for kind in [Kind::Name, Kind::Library, Kind::Content, Kind::Byte] {
                    for check in search.checks.iter().filter(|c| c.kind == kind) {
                        let mut one = Search::default();
                        let list = match kind {
                            Kind::Name => &mut one.names,
                            Kind::Library => &mut one.libraries,
                            Kind::Content => &mut one.contents,
                            Kind::Byte => &mut one.bytes,
                        };
                        list.push(check.value.clone());
                        if check.matched.is_empty() {
                            entries.push(MatchedProcess {
                                process: Process::default(),
                                search: one.clone(),
                            });
                        }
                        for &pid in &check.matched {
                            self.statistics.totalhits += 1.0;
                            entries.push(MatchedProcess {
                                process: Process {
                                    name: name_of(pid),
                                    pid: f64::from(pid),
                                },
                                search: one.clone(),
                            });
                        }
                    }
                }
            }
            elements.insert(search.label.clone(), entries);
        }
        elements
    }
}

/// Runs the module on decoded parameters.
pub fn run_parameters(parameters: &Parameters, started: Instant) -> MemoryResult {
    let fatal = |message: String, statistics: Statistics| MemoryResult {
        elements: Some(Elements::new()),
        statistics: Some(statistics),
        ..TypedResult::failure(message)
    };
    if let Err(message) = validate(parameters) {
        return fatal(message, Statistics::default());
    }
    let mut searches = Vec::new();
    for (label, search) in &parameters.searches {
        match compile(label, search) {
            Ok(compiled) => searches.push(compiled),
            Err(message) => return fatal(message, Statistics::default()),
        }
    }
    let mut scanner = Scanner {
        searches,
        statistics: Statistics::default(),
        buffer: Vec::new(),
    };
    let pids = match procfs::pids() {
        Ok(pids) => pids,
        Err(err) => return fatal(format!("unable to list /proc: {err}"), scanner.statistics),
    };
    for pid in pids {
        let mem = match procfs::open_mem(pid) {
            Ok(mem) => mem,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
                scanner.statistics.failures.push(format!(
                    "Permission denied to access memory of process {pid}"
                ));
                continue;
            }
            Err(err) => {
                scanner
                    .statistics
                    .failures
                    .push(format!("unable to open memory of process {pid}: {err}"));
                continue;
            }
        };
        scanner.evaluate(pid, &mem);
        scanner.statistics.processcount += 1.0;
    }
    let elements = scanner.results();
    let mut statistics = scanner.statistics;
    statistics.exectime = go_duration(started.elapsed());
    MemoryResult {
        foundanything: statistics.totalhits > 0.0,
        success: true,
        elements: Some(elements),
        statistics: Some(statistics),
        errors: None,
    }
}

/// Runs the module on its JSON parameters.
pub fn run(parameters: &serde_json::Value) -> MemoryResult {
    let started = Instant::now();
    match mig_protocol::gojson::from_value::<Parameters>(parameters) {
        Ok(parameters) => run_parameters(&parameters, started),
        Err(err) => Memory::input_error(err.to_string()),
    }
}

/// The printed lines of a result.
pub fn print(result: &MemoryResult, found_only: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for (label, entries) in result.elements.iter().flatten() {
        for entry in entries {
            let mut line = if entry.process.name.is_empty() {
                if found_only {
                    continue;
                }
                format!("0 match found in search '{label}'")
            } else {
                format!(
                    "{} [pid:{:.0}] in search '{label}'",
                    entry.process.name, entry.process.pid
                )
            };
            if !entry.search.options.matchall {
                line.push_str(" on checks");
                let search = &entry.search;
                for (tag, values) in [
                    ("name", &search.names),
                    ("library", &search.libraries),
                    ("content", &search.contents),
                    ("byte", &search.bytes),
                ] {
                    for value in values {
                        line.push_str(&format!(" {tag}='{value}'"));
                    }
                }
            }
            lines.push(line);
        }
    }
    if !found_only {
        let statistics = result.statistics.clone().unwrap_or_default();
        lines.extend(
            statistics
                .failures
                .iter()
                .map(|failure| format!("Failure: {failure}")),
        );
        lines.extend(result.errors.iter().flatten().cloned());
        lines.push(format!(
            "Statistics: {:.0} processes checked, {:.0} matched, {} failures, ran in {}.",
            statistics.processcount,
            statistics.totalhits,
            statistics.failures.len(),
            statistics.exectime
        ));
    }
    lines
}

impl Module for Memory {
    const NAME: &'static str = "memory";
    type Elements = Elements;
    type Statistics = Statistics;

    fn run(parameters: &serde_json::Value, _context: &ModuleContext) -> MemoryResult {
        run(parameters)
    }

    fn input_error(message: String) -> MemoryResult {
        MemoryResult {
            elements: Some(Elements::new()),
            statistics: Some(Statistics::default()),
            ..TypedResult::failure(message)
        }
    }

    fn print(result: &MemoryResult, found_only: bool) -> Vec<String> {
        print(result, found_only)
    }
}
