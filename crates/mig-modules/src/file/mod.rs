//! `file`: find files by name, size, mode, mtime, content and hashes (spec
//! modules.md §3). "Who has a file with this sha256 under /usr/bin?"
//!
//! A run validates its searches ([`params`]), compiles one check per filter
//! value ([`checks`]), then walks every root once for all searches
//! ([`walk`]). Each regular file (or symlink to one, reported under the link's
//! path) is evaluated in this order:
//!
//! 1. metadata: for each applicable search its name checks, then mode, size
//!    and mtime (a `stat` is taken only when one of these needs it); with
//!    `matchall` the first failing category drops the search for this file;
//! 2. one read of the file (gzip-decoded when `decompress` is set and the
//!    magic matches) that feeds the content regexes line by line and every
//!    hasher still needed, stopping early once the content checks are decided
//!    and no hash is needed; with `matchall` a search whose content checks did
//!    not all record the file is dropped;
//! 3. hash checks in the order md5, sha1, sha256, sha384, sha512, sha3-224,
//!    sha3-256, sha3-384, sha3-512.
//!
//! A check records the file iff `raw XOR inverse XOR mismatch`. The walk's
//! records are replayed in walk order to apply match limits and count hits
//! ([`render`] builds the result and prints it).

pub mod checks;
pub mod client;
pub mod content;
pub mod params;
pub mod render;
pub mod walk;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::duration::go_duration;
use crate::result::{Module, ModuleContext, TypedResult};

pub use params::{Options, Parameters, Search};

/// The module.
pub struct File;

/// `elements`: label → matched files.
pub type Elements = BTreeMap<String, Vec<MatchedFile>>;

/// One result entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MatchedFile {
    /// The path, or `""` for "no match".
    pub file: String,
    /// The search (matchall) or the one check (matchany) that matched.
    pub search: Search,
    /// The file's metadata.
    pub fileinfo: FileInfo,
}

/// A hit's metadata, from `stat` (symlinks followed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileInfo {
    /// Size in bytes.
    pub size: f64,
    /// Go `FileMode` string.
    pub mode: String,
    /// Go `Time.String()` of the mtime in UTC.
    pub lastmodified: String,
    /// Upper-case hex SHA-256 (`returnsha256`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sha256: String,
}

/// `statistics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statistics {
    /// Files evaluated.
    pub filescount: f64,
    /// Files and directories that could not be opened.
    pub openfailed: f64,
    /// Hits counted (one per matchall file, one per matchany check and file).
    pub totalhits: f64,
    /// Run time as a Go duration string (`""` on a fatal error).
    pub exectime: String,
}

/// The file module's result type.
pub type FileResult = TypedResult<Elements, Statistics>;

/// A fatal result: empty elements, the statistics so far, the error last.
fn fatal(statistics: Statistics, mut errors: Vec<String>, message: String) -> FileResult {
    errors.push(message);
    TypedResult {
        foundanything: false,
        success: false,
        elements: Some(Elements::new()),
        statistics: Some(statistics),
        errors: Some(errors),
    }
}

/// Worker threads: the machine's parallelism, doubled to overlap I/O waits
/// (`MIG_FILE_THREADS` overrides).
fn thread_count() -> usize {
    if let Some(threads) = std::env::var("MIG_FILE_THREADS")
        .ok()
        .and_then(|value| value.parse().ok())
    {
        return threads;
    }
    std::thread::available_parallelism()
        .map(|count| count.get() * 2)
        .unwrap_or(2)
        .clamp(2, 16)
}

/// Converts a Go float option (0 = unlimited) to a limit.
fn limit(value: f64) -> u64 {
    if (1.0..1.8e19).contains(&value) {
        value as u64
    } else {
        u64::MAX
    }
}

/// Runs the module on decoded parameters.
pub fn run_parameters(parameters: &Parameters) -> FileResult {
    let started = Instant::now();
    let searches = parameters.searches.clone().unwrap_or_default();
    if let Err(message) = params::validate(&searches) {
        return fatal(Statistics::default(), Vec::new(), message);
    }
    let now = checks::unix_nanos(SystemTime::now());
    let mut plans = Vec::with_capacity(searches.len());
    let mut labels = Vec::with_capacity(searches.len());
    let mut roots: Vec<Vec<u8>> = Vec::new();
    for (label, mut search) in searches {
        let cleaned: Vec<String> = search
            .paths
            .iter()
            .flatten()
            .map(|path| params::clean_path(path))
            .collect();
        search.paths = Some(cleaned.clone());
        let compiled = match checks::make_checks(&search, now) {
            Ok(compiled) => compiled,
            Err(message) => {
                return fatal(
                    Statistics::default(),
                    Vec::new(),
                    format!("makeChecks() -> {message}"),
                );
            }
        };
        let hash_algos = compiled
            .iter()
            .filter_map(|check| match check.kind {
                checks::Kind::Hash(algo) => Some(algo.bit()),
                _ => None,
            })
            .fold(0, |bits, bit| bits | bit);
        let has_content = compiled
            .iter()
            .any(|check| check.filter == checks::Filter::Content);
        let options = &search.options;
        roots.extend(cleaned.iter().map(|path| path.as_bytes().to_vec()));
        plans.push(walk::SearchPlan {
            paths: cleaned
                .iter()
                .map(|path| path.as_bytes().to_vec())
                .collect(),
            checks: compiled,
            matchall: options.matchall,
            macroal: options.macroal,
            returnsha256: options.returnsha256,
            remotefs: options.remotefs,
            maxdepth: limit(options.maxdepth),
            matchlimit: limit(options.matchlimit),
            hash_algos,
            has_content,
            search,
        });
        labels.push(label);
    }
    roots.sort();
    roots.dedup();
    let plan = walk::Plan {
        decompress: plans.iter().any(|plan| plan.search.options.decompress),
        debug: plans
            .iter()
            .any(|plan| plan.search.options.debug == "print"),
        searches: plans,
        roots,
        remote_devices: walk::remote_devices(),
        threads: thread_count(),
    };
    let records = walk::walk(&plan);
    let mut result = render::build(&plan, &labels, records);
    if let Some(statistics) = result.statistics.as_mut() {
        statistics.exectime = go_duration(started.elapsed());
    }
    result
}

impl Module for File {
    const NAME: &'static str = "file";
    type Elements = Elements;
    type Statistics = Statistics;

    fn run(parameters: &serde_json::Value, _context: &ModuleContext) -> FileResult {
        match mig_protocol::gojson::from_value::<Parameters>(parameters) {
            Ok(parameters) => run_parameters(&parameters),
            Err(err) => fatal(Statistics::default(), Vec::new(), err.to_string()),
        }
    }

    fn input_error(message: String) -> FileResult {
        fatal(Statistics::default(), Vec::new(), message)
    }

    fn enhance_privacy(result: &mut FileResult) {
        render::enhance_privacy(result);
    }

    fn print(result: &FileResult, found_only: bool) -> Vec<String> {
        render::print(result, found_only)
    }
}
