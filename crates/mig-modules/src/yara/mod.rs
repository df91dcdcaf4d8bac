//! `yara`: files chosen by a file-module search, and (an addition to the
//! original) the memory of processes chosen by name, scanned with YARA rules
//! (spec modules.md §5.2).
//!
//! The engine is the host's libyara 4, loaded at run time ([`libyara`]): rule
//! syntax and semantics are YARA's own, and the agent needs no special build.
//! Files are scanned on as many threads as the host has cores (the original
//! used one). Process memory is read through `/proc/<pid>/mem` without
//! stopping the target (`yara <pid>` ptrace-attaches it), in blocks of
//! [`BLOCK`] bytes overlapping by [`BLOCK_OVERLAP`], so a string that crosses a
//! block boundary is still seen; all blocks of a process are one scan, so a
//! condition over several strings holds across regions as with `yara <pid>`.
//!
//! Deviations: the file search's empty placeholder (nothing found) is not
//! scanned (the original reported `: could not open file`); a process scan
//! skips the module's own process and its parent (the agent), which hold the
//! rules text and would match every rule with a text string.

pub mod client;
#[cfg(not(feature = "yara-x"))]
pub mod libyara;
#[cfg(test)]
mod tests;
#[cfg(feature = "yara-x")]
pub mod yarax;

use std::fs::File;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::memory::{Region, maps, open_mem, pids, process_name, read_at, readable_regions};
use crate::result::{Module, ModuleContext, TypedResult};
#[cfg(not(feature = "yara-x"))]
pub use libyara::{ENGINE, Rules, available};
#[cfg(feature = "yara-x")]
pub use yarax::{ENGINE, Rules, available};

/// libyara's per-scan timeout, as the original's.
const SCAN_TIMEOUT_SECONDS: i32 = 10;
/// The largest block of process memory read at once.
pub const BLOCK: usize = 16 << 20;
/// How much of a block is read again at the start of the next one.
pub const BLOCK_OVERLAP: usize = 64 << 10;

/// The memory blocks of one scan (a process's readable memory).
pub trait BlockSource {
    /// The number of blocks.
    fn len(&self) -> usize;
    /// Whether there is no block.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The base address and size of block `index`.
    fn block(&self, index: usize) -> (u64, usize);
    /// The bytes of block `index` (its size), or `None` when it cannot be
    /// read (the block is skipped).
    fn fetch(&mut self, index: usize) -> Option<&[u8]>;
}

/// The module's parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Parameters {
    /// The rules' source text.
    #[serde(default)]
    pub yara: String,
    /// File-module arguments selecting the files to scan.
    #[serde(default)]
    pub filesearch: String,
    /// A regex on the process name (the executable's path, as the memory
    /// module shows it) selecting the processes whose memory is scanned.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub processname: String,
}

/// One scanned object with the rules it matched.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct YaraMatch {
    /// The file's path, or `pid <pid> <process name>`.
    #[serde(rename = "Object")]
    pub object: String,
    /// The identifiers of the matching rules.
    #[serde(rename = "MatchedRules")]
    pub matched_rules: Vec<String>,
}

/// The module's `elements`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Elements {
    /// Every object that matched at least one rule (`null` when none).
    #[serde(rename = "Matches")]
    pub matches: Option<Vec<YaraMatch>>,
}

/// The module.
pub struct Yara;

/// The yara module's result type.
pub type YaraResult = TypedResult<Elements, serde_json::Value>;

/// The file-search tokeniser of the original: all matches of
/// `'.+'|".+"|\S+` (greedy within a line), outer `"` then `'` stripped.
pub fn tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return tokens;
        }
        let token_len = match rest.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                let line_end = rest.find('\n').unwrap_or(rest.len());
                match rest[..line_end].rfind(quote) {
                    Some(end) if end >= 2 => end + 1,
                    _ => rest.find(char::is_whitespace).unwrap_or(rest.len()),
                }
            }
            _ => rest.find(char::is_whitespace).unwrap_or(rest.len()),
        };
        let token = rest[..token_len].trim_matches('"').trim_matches('\'');
        tokens.push(token.to_owned());
        rest = &rest[token_len..];
    }
}

/// The file module's parameters for a `filesearch` string, through its own
/// command-line parser.
fn file_parameters(filesearch: &str) -> Result<crate::file::Parameters, String> {
    let json = crate::file::client::parse_params(
        &tokens(filesearch),
        &mut std::io::sink(),
        &mut std::io::sink(),
    )?
    .ok_or_else(|| "filesearch: the file module printed its help".to_owned())?;
    mig_protocol::gojson::from_str(&json).map_err(|err| format!("filesearch: {err}"))
}

/// Checks the parameters as the original does, plus the process regex.
pub fn validate(parameters: &Parameters) -> Result<(), String> {
    if parameters.yara.is_empty() {
        return Err("yara rules are a required option".to_owned());
    }
    if !parameters.filesearch.is_empty() {
        file_parameters(&parameters.filesearch)?;
    }
    if !parameters.processname.is_empty() {
        regex::Regex::new(&parameters.processname)
            .map_err(|err| format!("processname: invalid regex: {err}"))?;
    }
    Ok(())
}

/// The files the search selects, in the file module's order.
fn find_files(filesearch: &str) -> Result<Vec<String>, String> {
    let result = crate::file::run_parameters(&file_parameters(filesearch)?);
    let mut elements = result.elements.unwrap_or_default();
    let hits = elements
        .remove("s1")
        .ok_or_else(|| "result in file module call was missing".to_owned())?;
    Ok(hits
        .into_iter()
        .map(|hit| hit.file)
        .filter(|file| !file.is_empty())
        .collect())
}

/// The rules one object matched, or why it could not be scanned.
type ScanOutcome = Result<Vec<String>, String>;

/// Scans `files` on `threads` threads; matches in the order of `files`,
/// errors as `<path>: <error>`.
pub fn scan_files(
    rules: &Rules,
    files: &[String],
    threads: usize,
) -> (Vec<YaraMatch>, Vec<String>) {
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<(usize, ScanOutcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, files.len().max(1)) {
            scope.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(index) else {
                        break;
                    };
                    mine.push((index, rules.scan_file(path, SCAN_TIMEOUT_SECONDS)));
                }
                if let Ok(mut all) = outcomes.lock() {
                    all.extend(mine);
                }
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|err| err.into_inner());
    outcomes.sort_by_key(|(index, _)| *index);
    let mut matches = Vec::new();
    let mut errors = Vec::new();
    for (index, outcome) in outcomes {
        let path = &files[index];
        match outcome {
            Ok(rules) if !rules.is_empty() => matches.push(YaraMatch {
                object: path.clone(),
                matched_rules: rules,
            }),
            Ok(_) => {}
            Err(err) => errors.push(format!("{path}: {err}")),
        }
    }
    (matches, errors)
}

/// A process's readable memory as scan blocks.
pub struct ProcessMemory {
    mem: File,
    blocks: Vec<(u64, usize)>,
    buffer: Vec<u8>,
}

impl ProcessMemory {
    /// Opens the memory of `pid` and cuts its readable regions into blocks.
    pub fn open(pid: u32) -> std::io::Result<ProcessMemory> {
        let mem = open_mem(pid)?;
        let regions = readable_regions(&maps(pid)?, 0);
        Ok(ProcessMemory {
            mem,
            blocks: blocks(&regions),
            buffer: Vec::new(),
        })
    }
}

/// Cuts regions into blocks of at most [`BLOCK`] bytes, each starting
/// [`BLOCK_OVERLAP`] bytes before the end of the previous one.
pub fn blocks(regions: &[Region]) -> Vec<(u64, usize)> {
    let step = (BLOCK - BLOCK_OVERLAP) as u64;
    let mut blocks = Vec::new();
    for region in regions {
        let mut start = region.start;
        loop {
            let size = (region.end - start).min(BLOCK as u64);
            blocks.push((start, size as usize));
            if start + size >= region.end {
                break;
            }
            start += step;
        }
    }
    blocks
}

impl BlockSource for ProcessMemory {
    fn len(&self) -> usize {
        self.blocks.len()
    }

    fn block(&self, index: usize) -> (u64, usize) {
        self.blocks[index]
    }

    fn fetch(&mut self, index: usize) -> Option<&[u8]> {
        let (base, size) = *self.blocks.get(index)?;
        self.buffer.resize(size, 0);
        let read = read_at(&self.mem, &mut self.buffer, base).ok()?;
        if read == 0 {
            return None;
        }
        // A region that shrank while being read: the rest reads as zeros.
        self.buffer[read..].fill(0);
        Some(&self.buffer)
    }
}

/// Scans the memory of every process whose name matches `pattern`, except
/// this process and its parent.
fn scan_processes(rules: &Rules, pattern: &regex::Regex) -> (Vec<YaraMatch>, Vec<String>) {
    let mut matches = Vec::new();
    let mut errors = Vec::new();
    let own = std::process::id();
    let parent = rustix::process::getppid().map_or(0, |pid| pid.as_raw_nonzero().get() as u32);
    let pids = match pids() {
        Ok(pids) => pids,
        Err(err) => return (matches, vec![format!("/proc: {err}")]),
    };
    for pid in pids {
        if pid == own || pid == parent {
            continue;
        }
        let name = process_name(pid);
        if name.is_empty() || !pattern.is_match(&name) {
            continue;
        }
        let object = format!("pid {pid} {name}");
        let outcome = ProcessMemory::open(pid)
            .map_err(|err| err.to_string())
            .and_then(|mut memory| rules.scan_blocks(&mut memory, SCAN_TIMEOUT_SECONDS));
        match outcome {
            Ok(matched) if !matched.is_empty() => matches.push(YaraMatch {
                object,
                matched_rules: matched,
            }),
            Ok(_) => {}
            Err(err) => errors.push(format!("{object}: {err}")),
        }
    }
    (matches, errors)
}

/// Runs validated parameters.
pub fn run_parameters(parameters: &Parameters) -> YaraResult {
    if let Err(err) = validate(parameters) {
        return TypedResult::failure(err);
    }
    let rules = match Rules::compile(&parameters.yara) {
        Ok(rules) => rules,
        Err(err) => return TypedResult::failure(err),
    };
    let mut matches = Vec::new();
    let mut errors = Vec::new();
    if !parameters.filesearch.is_empty() {
        let files = match find_files(&parameters.filesearch) {
            Ok(files) => files,
            Err(err) => return TypedResult::failure(err),
        };
        let threads = std::thread::available_parallelism().map_or(1, |count| count.get());
        let (found, failed) = scan_files(&rules, &files, threads);
        matches.extend(found);
        errors.extend(failed);
    }
    if !parameters.processname.is_empty() {
        match regex::Regex::new(&parameters.processname) {
            Ok(pattern) => {
                let (found, failed) = scan_processes(&rules, &pattern);
                matches.extend(found);
                errors.extend(failed);
            }
            Err(err) => return TypedResult::failure(format!("processname: {err}")),
        }
    }
    YaraResult {
        foundanything: !matches.is_empty(),
        success: true,
        elements: Some(Elements {
            matches: (!matches.is_empty()).then_some(matches),
        }),
        statistics: None,
        errors: (!errors.is_empty()).then_some(errors),
    }
}

/// The printed lines: `<object> [<rule>,<rule>]`, then the errors unless
/// only found items are shown.
pub fn print(result: &YaraResult, found_only: bool) -> Vec<String> {
    let mut lines: Vec<String> = result
        .elements
        .iter()
        .flat_map(|elements| elements.matches.iter().flatten())
        .map(|found| format!("{} [{}]", found.object, found.matched_rules.join(",")))
        .collect();
    if !found_only {
        lines.extend(result.errors.iter().flatten().cloned());
    }
    lines
}

impl Module for Yara {
    const NAME: &'static str = "yara";
    type Elements = Elements;
    type Statistics = serde_json::Value;

    fn run(parameters: &serde_json::Value, _context: &ModuleContext) -> YaraResult {
        match mig_protocol::gojson::from_value::<Parameters>(parameters) {
            Ok(parameters) => run_parameters(&parameters),
            Err(err) => TypedResult::failure(err.to_string()),
        }
    }

    fn print(result: &YaraResult, found_only: bool) -> Vec<String> {
        print(result, found_only)
    }
}
