//! Building the result from the walk's records (spec modules.md §3.6),
//! printing it (§3.8) and masking it (§3.9).

use std::path::Path;

use super::checks::{Filter, go_time_string};
use super::params::{Options, Search};
use super::walk::{Event, Info, Plan, Record};
use super::{Elements, FileInfo, FileResult, MatchedFile, Statistics};

/// Replays the records in walk order and builds the result.
pub fn build(plan: &Plan, labels: &[String], records: Vec<Record>) -> FileResult {
    let mut statistics = Statistics::default();
    let mut totalhits: u64 = 0;
    let mut errors: Vec<String> = Vec::new();
    // Per search: matchall hits, or per check the files it recorded.
    let mut full: Vec<Vec<(String, Info)>> = vec![Vec::new(); plan.searches.len()];
    let mut per_check: Vec<Vec<Vec<(String, Info)>>> = plan
        .searches
        .iter()
        .map(|search| vec![Vec::new(); search.checks.len()])
        .collect();
    let mut pruned: Option<Vec<u32>> = None;
    let mut active: Vec<bool> = vec![false; plan.searches.len()];
    for record in records {
        let dir_key = &record.key[..record.key.len().saturating_sub(2)];
        if let Some(prefix) = &pruned {
            if dir_key.starts_with(prefix) {
                continue;
            }
            pruned = None;
        }
        match record.event {
            Event::Enter { applying, error } => {
                active.iter_mut().for_each(|flag| *flag = false);
                for index in applying {
                    active[index] = totalhits < plan.searches[index].matchlimit;
                }
                if !active.iter().any(|flag| *flag) {
                    pruned = Some(dir_key.to_vec());
                    continue;
                }
                if let Some((text, failed_open)) = error {
                    errors.push(text);
                    statistics.openfailed += f64::from(u8::from(failed_open));
                }
            }
            Event::Count(count) => statistics.filescount += count as f64,
            Event::File {
                errors: file_errors,
                openfailed,
                outcome,
            } => {
                errors.extend(file_errors);
                statistics.openfailed += openfailed as f64;
                let Some(outcome) = outcome else {
                    continue;
                };
                let Some(info) = outcome.info else {
                    continue;
                };
                if plan.debug {
                    eprintln!("evaluateFile: '{}' matched", outcome.path);
                }
                for (search, checks, is_full) in outcome.hits {
                    if !active[search] || totalhits >= plan.searches[search].matchlimit {
                        continue;
                    }
                    if is_full {
                        full[search].push((outcome.path.clone(), info.clone()));
                        totalhits += 1;
                    } else {
                        for check in checks {
                            per_check[search][check].push((outcome.path.clone(), info.clone()));
                            totalhits += 1;
                        }
                    }
                }
            }
        }
    }

    let mut elements = Elements::new();
    let mut max_errors: Option<f64> = None;
    for (index, search_plan) in plan.searches.iter().enumerate() {
        let label = labels.get(index).cloned().unwrap_or_default();
        let search = &search_plan.search;
        let mut entries = Vec::new();
        if search_plan.matchall {
            max_errors = Some(max_errors.unwrap_or(0.0).max(search.options.maxerrors));
            let mut echoed = search.clone();
            echoed.options.maxdepth = 0.0;
            echoed.options.maxerrors = 0.0;
            echoed.options.matchlimit = 0.0;
            if full[index].is_empty() {
                entries.push(MatchedFile {
                    file: String::new(),
                    search: echoed.clone(),
                    fileinfo: FileInfo::default(),
                });
            }
            for (path, info) in &full[index] {
                let mut fileinfo = file_info(info);
                if !search.options.returnsha256 {
                    fileinfo.sha256.clear();
                }
                entries.push(MatchedFile {
                    file: path.clone(),
                    search: echoed.clone(),
                    fileinfo,
                });
            }
        } else {
            for (check_index, check) in search_plan.checks.iter().enumerate() {
                max_errors = Some(max_errors.unwrap_or(0.0).max(search.options.maxerrors));
                let files = &per_check[index][check_index];
                let one_check = |paths: Option<Vec<String>>| {
                    let mut search = Search {
                        paths,
                        options: Options {
                            mismatch: None,
                            ..Options::default()
                        },
                        ..Search::default()
                    };
                    let value = vec![check.value.clone()];
                    match check.filter {
                        Filter::Content => search.contents = value,
                        Filter::Name => search.names = value,
                        Filter::Size => search.sizes = value,
                        Filter::Mode => search.modes = value,
                        Filter::Mtime => search.mtimes = value,
                        Filter::Md5 => search.md5 = value,
                        Filter::Sha1 => search.sha1 = value,
                        Filter::Sha2 => search.sha2 = value,
                        Filter::Sha3 => search.sha3 = value,
                    }
                    search
                };
                if files.is_empty() {
                    entries.push(MatchedFile {
                        file: String::new(),
                        search: one_check(search.paths.clone()),
                        fileinfo: FileInfo::default(),
                    });
                }
                for (path, info) in files {
                    let dir = Path::new(path)
                        .parent()
                        .map(|dir| dir.to_string_lossy().into_owned())
                        .filter(|dir| !dir.is_empty())
                        .unwrap_or_else(|| ".".to_owned());
                    let mut fileinfo = file_info(info);
                    fileinfo.sha256.clear();
                    entries.push(MatchedFile {
                        file: path.clone(),
                        search: one_check(Some(vec![dir])),
                        fileinfo,
                    });
                }
            }
        }
        elements.insert(label, entries);
    }

    statistics.totalhits = totalhits as f64;
    let errors = limit_errors(errors, max_errors);
    TypedResult {
        foundanything: totalhits > 0,
        success: true,
        elements: Some(elements),
        statistics: Some(statistics),
        errors,
    }
}

use crate::result::TypedResult;

fn file_info(info: &Info) -> FileInfo {
    FileInfo {
        size: info.size as f64,
        mode: info.mode.clone(),
        lastmodified: go_time_string(info.mtime),
        sha256: info.sha256.clone().unwrap_or_default(),
    }
}

/// Truncates the errors to the largest `maxerrors` (spec §3.6, quirks kept).
fn limit_errors(mut errors: Vec<String>, max_errors: Option<f64>) -> Option<Vec<String>> {
    if errors.is_empty() {
        return None;
    }
    let total = errors.len();
    match max_errors {
        // No search contributed: the original keeps the first error only.
        None => {
            errors.truncate(1);
            errors.push(format!("{total} errors were not returned (max errors = 0)"));
        }
        Some(limit) if limit >= 1.0 && (total as f64) > limit => {
            let keep = limit as usize;
            errors.truncate(keep);
            errors.push(format!(
                "{} errors were not returned (max errors = {keep})",
                total - keep
            ));
        }
        Some(_) => {}
    }
    Some(errors)
}

/// The printed lines of a result (spec §3.8).
pub fn print(result: &FileResult, found_only: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for (label, entries) in result.elements.iter().flatten() {
        for entry in entries {
            let mut out = if entry.file.is_empty() {
                if found_only {
                    continue;
                }
                format!("0 match found in search '{label}'")
            } else {
                let info = &entry.fileinfo;
                let mut out = format!(
                    "{} [lastmodified:{}, mode:{}, size:{:.0}",
                    entry.file, info.lastmodified, info.mode, info.size
                );
                if !info.sha256.is_empty() {
                    out.push_str(&format!(", sha256:{}", info.sha256.to_lowercase()));
                }
                out.push_str(&format!("] in search '{label}'"));
                out
            };
            if !entry.search.options.matchall {
                let search = &entry.search;
                out.push_str(" on checks");
                let lists: [(&str, &Vec<String>); 9] = [
                    ("name", &search.names),
                    ("size", &search.sizes),
                    ("mode", &search.modes),
                    ("mtime", &search.mtimes),
                    ("content", &search.contents),
                    ("md5", &search.md5),
                    ("sha1", &search.sha1),
                    ("sha2", &search.sha2),
                    ("sha3", &search.sha3),
                ];
                for (name, values) in lists {
                    for value in values {
                        out.push_str(&format!(" {name}='{value}'"));
                    }
                }
            }
            lines.push(out);
        }
    }
    if !found_only {
        lines.extend(result.errors.iter().flatten().cloned());
        let statistics = result.statistics.clone().unwrap_or_default();
        lines.push(format!(
            "Statistics: {:.0} files checked, {:.0} failed to open, {:.0} matched, ran in {}.",
            statistics.filescount, statistics.openfailed, statistics.totalhits, statistics.exectime
        ));
    }
    lines
}

/// The agent's extra privacy mode: errors and file names become `masked`.
pub fn enhance_privacy(result: &mut FileResult) {
    if let Some(errors) = result.errors.as_mut() {
        errors
            .iter_mut()
            .for_each(|error| *error = "masked".to_owned());
    }
    for entries in result
        .elements
        .iter_mut()
        .flat_map(|elements| elements.values_mut())
    {
        for entry in entries {
            if !entry.file.is_empty() {
                entry.file = "masked".to_owned();
            }
        }
    }
}
