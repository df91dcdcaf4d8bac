//! The tree walk (spec modules.md §3.4) and per-file evaluation (§3.5).
//!
//! Directories and batches of files are tasks on a shared stack served by a
//! few threads, so I/O waits and hashing overlap. Every task writes *records*
//! keyed by the file's position in the sequential walk order (roots in byte
//! order; in each directory its files by name, then its subdirectories by
//! name). [`walk`] sorts the records and *replays* them in that order, which
//! is where the order-dependent rules apply (match limits, hit counting,
//! error order): the result is the same whatever the thread timing.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use super::checks::{Check, Filter, HashAlgo, Kind, go_mode_string, unix_nanos};
use super::content::{LineCheck, go_errno_text, read_file};
use super::params::Search;

/// A search ready to run.
pub struct SearchPlan {
    /// The search as received, paths cleaned (echoed in matchall results).
    pub search: Search,
    /// The cleaned paths, as bytes.
    pub paths: Vec<Vec<u8>>,
    /// The compiled checks, in creation order.
    pub checks: Vec<Check>,
    /// `options.matchall`.
    pub matchall: bool,
    /// `options.macroal`.
    pub macroal: bool,
    /// `options.returnsha256` (matchall only).
    pub returnsha256: bool,
    /// `options.remotefs`.
    pub remotefs: bool,
    /// Deepest directory level evaluated (1 = only files directly in a path).
    pub maxdepth: u64,
    /// Hits after which the search is no longer activated.
    pub matchlimit: u64,
    /// Hash algorithms of its checks (bit set).
    pub hash_algos: u16,
    /// It has content checks.
    pub has_content: bool,
}

/// Everything a run needs.
pub struct Plan {
    /// Searches in label order.
    pub searches: Vec<SearchPlan>,
    /// The roots to walk: cleaned, de-duplicated, sorted.
    pub roots: Vec<Vec<u8>>,
    /// Read gzip files through a decoder (any search enabling it enables it).
    pub decompress: bool,
    /// Devices of remote file systems (NFS, CIFS, …).
    pub remote_devices: HashSet<u64>,
    /// Worker threads.
    pub threads: usize,
    /// `options.debug == "print"` in some search.
    pub debug: bool,
}

/// The `fileinfo` of a hit.
#[derive(Debug, Clone)]
pub struct Info {
    pub size: u64,
    pub mode: String,
    pub mtime: i128,
    /// SHA-256 (upper-case hex), when a returnsha256 search matched.
    pub sha256: Option<String>,
}

/// What evaluating one file gave.
#[derive(Debug, Default)]
pub struct FileOutcome {
    /// The path the file is reported under.
    pub path: String,
    /// Per search with records: (search index, recorded checks, full match).
    pub hits: Vec<(usize, Vec<usize>, bool)>,
    /// The file's metadata, when it has hits.
    pub info: Option<Info>,
}

/// An event at one position of the walk order.
#[derive(Debug)]
pub enum Event {
    /// A directory (or root) entered by the given searches (by their depth);
    /// `error` is an open failure (text, counts as failed open).
    Enter {
        applying: Vec<usize>,
        error: Option<(String, bool)>,
    },
    /// Files evaluated in the directory (counted if it is entered).
    Count(u64),
    /// One file's errors and hits.
    File {
        errors: Vec<String>,
        openfailed: u64,
        outcome: Option<FileOutcome>,
    },
}

/// A walk event and its position.
#[derive(Debug)]
pub struct Record {
    pub key: Vec<u32>,
    pub event: Event,
}

enum Task {
    Root(u32),
    Dir {
        path: PathBuf,
        display: String,
        key: Vec<u32>,
        ancestors: Arc<Vec<(u64, u64)>>,
    },
    Files {
        key: Vec<u32>,
        first: u32,
        items: Vec<(PathBuf, bool)>,
        applying: Arc<Vec<usize>>,
    },
}

struct Queue {
    state: Mutex<(Vec<Task>, usize)>,
    ready: Condvar,
}

/// Whether `prefix` covers `path` component-wise.
fn covers(prefix: &[u8], path: &[u8]) -> bool {
    prefix == b"/"
        || path == prefix
        || (path.len() > prefix.len() && path.starts_with(prefix) && path[prefix.len()] == b'/')
}

/// The depth of directory `dir` for a search (1 = one of its paths), if covered.
fn depth(search: &SearchPlan, dir: &[u8]) -> Option<u64> {
    search
        .paths
        .iter()
        .filter(|path| covers(path, dir))
        .map(|path| {
            let rest = &dir[path.len().min(dir.len())..];
            rest.split(|byte| *byte == b'/')
                .filter(|part| !part.is_empty())
                .count() as u64
                + 1
        })
        .min()
}

fn applying(plan: &Plan, dir: &[u8]) -> Vec<usize> {
    plan.searches
        .iter()
        .enumerate()
        .filter(|(_, search)| depth(search, dir).is_some_and(|level| level <= search.maxdepth))
        .map(|(index, _)| index)
        .collect()
}

fn parent_of(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|byte| *byte == b'/') {
        Some(0) => b"/",
        Some(at) => &path[..at],
        None => b".",
    }
}

fn key_with(key: &[u32], extra: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(key.len() + extra.len());
    out.extend_from_slice(key);
    out.extend_from_slice(extra);
    out
}

/// Runs the walk on the plan's worker threads and returns the records in
/// walk order.
pub fn walk(plan: &Plan) -> Vec<Record> {
    let queue = Queue {
        state: Mutex::new((
            (0..plan.roots.len() as u32).rev().map(Task::Root).collect(),
            0,
        )),
        ready: Condvar::new(),
    };
    let roots: HashSet<&[u8]> = plan.roots.iter().map(Vec::as_slice).collect();
    let mut records: Vec<Record> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..plan.threads.max(1))
            .map(|_| scope.spawn(|| worker(plan, &queue, &roots)))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_default())
            .collect()
    });
    records.sort_by(|a, b| a.key.cmp(&b.key));
    records
}

fn worker(plan: &Plan, queue: &Queue, roots: &HashSet<&[u8]>) -> Vec<Record> {
    let mut records = Vec::new();
    loop {
        let task = {
            let Ok(mut state) = queue.state.lock() else {
                return records;
            };
            loop {
                if let Some(task) = state.0.pop() {
                    state.1 += 1;
                    break Some(task);
                }
                if state.1 == 0 {
                    break None;
                }
                state = match queue.ready.wait(state) {
                    Ok(state) => state,
                    Err(_) => return records,
                };
            }
        };
        let Some(task) = task else {
            queue.ready.notify_all();
            return records;
        };
        let mut spawned = Vec::new();
        run_task(plan, task, roots, &mut records, &mut spawned);
        if let Ok(mut state) = queue.state.lock() {
            state.0.extend(spawned);
            state.1 -= 1;
        }
        queue.ready.notify_all();
    }
}

fn run_task(
    plan: &Plan,
    task: Task,
    roots: &HashSet<&[u8]>,
    records: &mut Vec<Record>,
    spawned: &mut Vec<Task>,
) {
    match task {
        Task::Root(index) => {
            let Some(root) = plan.roots.get(index as usize) else {
                return;
            };
            walk_root(plan, index, root, roots, records, spawned);
        }
        Task::Dir {
            path,
            display,
            key,
            ancestors,
        } => walk_dir(
            plan, &path, &display, key, &ancestors, roots, records, spawned,
        ),
        Task::Files {
            key,
            first,
            items,
            applying,
        } => {
            let mut count = 0;
            for (offset, (path, is_link)) in items.into_iter().enumerate() {
                let file_key = key_with(&key, &[0, first + offset as u32 + 1]);
                if let Some(event) = entry(plan, &path, is_link, &applying, &mut count) {
                    records.push(Record {
                        key: file_key,
                        event,
                    });
                }
            }
            records.push(Record {
                key: key_with(&key, &[0, u32::MAX]),
                event: Event::Count(count),
            });
        }
    }
}

fn walk_root(
    plan: &Plan,
    index: u32,
    root: &[u8],
    roots: &HashSet<&[u8]>,
    records: &mut Vec<Record>,
    spawned: &mut Vec<Task>,
) {
    let path = PathBuf::from(OsStr::from_bytes(root));
    let display = String::from_utf8_lossy(root).into_owned();
    let key = vec![index];
    let enter = |applying: Vec<usize>, error: Option<(String, bool)>| Record {
        key: key_with(&key, &[0, 0]),
        event: Event::Enter { applying, error },
    };
    let lstat = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(err) => {
            let text = format!("ERROR: open {display}: {}", go_errno_text(&err));
            records.push(enter(applying(plan, root), Some((text, true))));
            return;
        }
    };
    let file_type = lstat.file_type();
    if file_type.is_dir() {
        walk_dir(
            plan,
            &path,
            &display,
            key,
            &Arc::new(Vec::new()),
            roots,
            records,
            spawned,
        );
        return;
    }
    // A file root: evaluated for the searches naming it and those covering
    // its directory.
    let parent = parent_of(root);
    let file_applying: Vec<usize> = plan
        .searches
        .iter()
        .enumerate()
        .filter(|(_, search)| {
            search.paths.iter().any(|p| p.as_slice() == root)
                || depth(search, parent).is_some_and(|level| level <= search.maxdepth)
        })
        .map(|(index, _)| index)
        .collect();
    if file_applying.is_empty() {
        return;
    }
    let mut reported = path.clone();
    let mut meta = lstat;
    if file_type.is_symlink() {
        match std::fs::metadata(&path) {
            Err(_) => {
                let text = format!("ERROR: {}", follow_error(&path));
                records.push(enter(file_applying, Some((text, true))));
                return;
            }
            Ok(target_meta) => {
                let target = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                if !target_meta.is_file() {
                    let text = format!(
                        "warning: {display} is a link to {} and was not followed",
                        target.to_string_lossy()
                    );
                    records.push(enter(file_applying, Some((text, false))));
                    return;
                }
                reported = target;
                meta = target_meta;
            }
        }
    } else if !file_type.is_file() {
        return;
    }
    records.push(enter(file_applying.clone(), None));
    let mut count = 0;
    let name = reported.file_name().map(OsStr::as_bytes).unwrap_or(b"");
    let event = evaluate_file(plan, &reported, name, &file_applying, Some(meta));
    count += 1;
    records.push(Record {
        key: key_with(&key, &[0, 1]),
        event,
    });
    records.push(Record {
        key: key_with(&key, &[0, u32::MAX]),
        event: Event::Count(count),
    });
}

/// Go's `followSymLink()` error for a link that does not resolve.
fn follow_error(link: &Path) -> String {
    match std::fs::canonicalize(link) {
        Err(err) if err.raw_os_error() == Some(40) => {
            "followSymLink() -> EvalSymlinks: too many links".to_owned()
        }
        Err(err) => {
            let target = std::fs::read_link(link)
                .map(|target| match link.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                })
                .unwrap_or_else(|_| link.to_path_buf());
            format!(
                "followSymLink() -> lstat {}: {}",
                target.to_string_lossy(),
                go_errno_text(&err)
            )
        }
        Ok(target) => format!(
            "followSymLink() -> lstat {}: no such file or directory",
            target.to_string_lossy()
        ),
    }
}

/// Files per task when files are read (content or hashes).
const HEAVY_BATCH: usize = 8;

#[allow(clippy::too_many_arguments)]
fn walk_dir(
    plan: &Plan,
    path: &Path,
    display: &str,
    key: Vec<u32>,
    ancestors: &Arc<Vec<(u64, u64)>>,
    roots: &HashSet<&[u8]>,
    records: &mut Vec<Record>,
    spawned: &mut Vec<Task>,
) {
    let path_bytes = path.as_os_str().as_bytes();
    let applying_here = applying(plan, path_bytes);
    if applying_here.is_empty() {
        return;
    }
    let enter_key = key_with(&key, &[0, 0]);
    let open_error = |err: &std::io::Error| {
        Some((
            format!("ERROR: open {display}: {}", go_errno_text(err)),
            true,
        ))
    };
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) => {
            records.push(Record {
                key: enter_key,
                event: Event::Enter {
                    applying: applying_here,
                    error: open_error(&err),
                },
            });
            return;
        }
    };
    let remote_ok = applying_here
        .iter()
        .any(|index| plan.searches[*index].remotefs);
    if !remote_ok && plan.remote_devices.contains(&meta.dev()) {
        return;
    }
    let identity = (meta.dev(), meta.ino());
    if ancestors.contains(&identity) {
        // A directory containing itself (bind mounts): never walk in a loop.
        return;
    }
    let reader = match std::fs::read_dir(path) {
        Ok(reader) => reader,
        Err(err) => {
            records.push(Record {
                key: enter_key,
                event: Event::Enter {
                    applying: applying_here,
                    error: open_error(&err),
                },
            });
            return;
        }
    };
    let mut files: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut dirs: Vec<Vec<u8>> = Vec::new();
    for entry in reader {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                records.push(Record {
                    key: enter_key,
                    event: Event::Enter {
                        applying: applying_here,
                        error: Some((
                            format!("ERROR: readdirent {display}: {}", go_errno_text(&err)),
                            false,
                        )),
                    },
                });
                return;
            }
        };
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().as_bytes().to_vec();
        if file_type.is_dir() {
            dirs.push(name);
        } else if file_type.is_file() || file_type.is_symlink() {
            files.push((name, file_type.is_symlink()));
        }
    }
    files.sort_unstable();
    dirs.sort_unstable();
    records.push(Record {
        key: key_with(&key, &[0, 0]),
        event: Event::Enter {
            applying: applying_here.clone(),
            error: None,
        },
    });
    let join = |name: &[u8]| -> Vec<u8> {
        let mut full = Vec::with_capacity(path_bytes.len() + 1 + name.len());
        full.extend_from_slice(path_bytes);
        if path_bytes.last() != Some(&b'/') {
            full.push(b'/');
        }
        full.extend_from_slice(name);
        full
    };
    // Subdirectories first on the stack's bottom, so this directory's files
    // are served first and the walk stays close to depth-first order.
    let child_ancestors = {
        let mut chain = Vec::with_capacity(ancestors.len() + 1);
        chain.extend_from_slice(ancestors);
        chain.push(identity);
        Arc::new(chain)
    };
    for (index, name) in dirs.iter().enumerate().rev() {
        let full = join(name);
        if roots.contains(full.as_slice()) {
            continue;
        }
        let display = format!("{}/", String::from_utf8_lossy(&full));
        spawned.push(Task::Dir {
            path: PathBuf::from(OsStr::from_bytes(&full)),
            display,
            key: key_with(&key, &[index as u32 + 1]),
            ancestors: Arc::clone(&child_ancestors),
        });
    }
    let heavy = applying_here.iter().any(|index| {
        let search = &plan.searches[*index];
        search.has_content || search.hash_algos != 0 || search.returnsha256
    });
    let items: Vec<(u32, PathBuf, bool)> = files
        .iter()
        .enumerate()
        .filter_map(|(index, (name, is_link))| {
            let full = join(name);
            (!roots.contains(full.as_slice())).then(|| {
                (
                    index as u32,
                    PathBuf::from(OsStr::from_bytes(&full)),
                    *is_link,
                )
            })
        })
        .collect();
    let applying_here = Arc::new(applying_here);
    if heavy && items.len() > HEAVY_BATCH {
        for batch in items.chunks(HEAVY_BATCH) {
            let first = batch[0].0;
            // Indices inside a batch are contiguous except for skipped roots;
            // keep each file at its own position.
            let mut group: Vec<(PathBuf, bool)> = Vec::new();
            let mut group_first = first;
            let mut expected = first;
            for (index, path, is_link) in batch {
                if *index != expected && !group.is_empty() {
                    spawned.push(Task::Files {
                        key: key.clone(),
                        first: group_first,
                        items: std::mem::take(&mut group),
                        applying: Arc::clone(&applying_here),
                    });
                }
                if group.is_empty() {
                    group_first = *index;
                }
                group.push((path.clone(), *is_link));
                expected = index + 1;
            }
            if !group.is_empty() {
                spawned.push(Task::Files {
                    key: key.clone(),
                    first: group_first,
                    items: group,
                    applying: Arc::clone(&applying_here),
                });
            }
        }
        return;
    }
    let mut count = 0;
    for (index, path, is_link) in items {
        if let Some(event) = entry(plan, &path, is_link, &applying_here, &mut count) {
            records.push(Record {
                key: key_with(&key, &[0, index + 1]),
                event,
            });
        }
    }
    records.push(Record {
        key: key_with(&key, &[0, u32::MAX]),
        event: Event::Count(count),
    });
}

/// Evaluates one directory entry (a regular file or a symlink).
fn entry(
    plan: &Plan,
    path: &Path,
    is_link: bool,
    applying: &[usize],
    count: &mut u64,
) -> Option<Event> {
    let mut meta = None;
    if is_link {
        match std::fs::metadata(path) {
            Err(_) => {
                return Some(Event::File {
                    errors: vec![format!("ERROR: {}", follow_error(path))],
                    openfailed: 1,
                    outcome: None,
                });
            }
            Ok(target) if target.is_file() => meta = Some(target),
            // Links to directories and special files are never followed.
            Ok(_) => return None,
        }
    }
    *count += 1;
    let name = path.file_name().map(OsStr::as_bytes).unwrap_or(b"");
    match evaluate_file(plan, path, name, applying, meta) {
        Event::File {
            errors,
            openfailed,
            outcome,
        } if errors.is_empty() && outcome.is_none() => {
            let _ = openfailed;
            None
        }
        event => Some(event),
    }
}

/// Evaluates one file for the given searches (spec §3.5): metadata checks,
/// then one read feeding content checks and hashers, then hash checks.
pub fn evaluate_file(
    plan: &Plan,
    path: &Path,
    name: &[u8],
    applicable: &[usize],
    mut meta: Option<Metadata>,
) -> Event {
    let mut errors = Vec::new();
    let mut openfailed = 0;
    let display = || path.to_string_lossy().into_owned();
    let stat_error = |err: &std::io::Error| {
        format!(
            "evaluateFile() -> stat {}: {}",
            path.to_string_lossy(),
            go_errno_text(err)
        )
    };
    struct State {
        search: usize,
        recorded: Vec<bool>,
        active: bool,
    }
    let mut states: Vec<State> = Vec::with_capacity(applicable.len());
    for &index in applicable {
        let search = &plan.searches[index];
        let mut state = State {
            search: index,
            recorded: vec![false; search.checks.len()],
            active: true,
        };
        for filter in [Filter::Name, Filter::Mode, Filter::Size, Filter::Mtime] {
            let mut all = true;
            for (check_index, check) in search.checks.iter().enumerate() {
                if check.filter != filter {
                    continue;
                }
                let raw = match &check.kind {
                    Kind::Name(regex) => regex.is_match(name),
                    kind => {
                        if meta.is_none() {
                            match std::fs::metadata(path) {
                                Ok(found) => meta = Some(found),
                                Err(err) => {
                                    return Event::File {
                                        errors: vec![stat_error(&err)],
                                        openfailed: 0,
                                        outcome: None,
                                    };
                                }
                            }
                        }
                        let Some(stat) = meta.as_ref() else {
                            continue;
                        };
                        match kind {
                            Kind::Mode(regex) => {
                                regex.is_match(go_mode_string(stat.mode()).as_bytes())
                            }
                            Kind::Size { min, max } => (*min..=*max).contains(&stat.size()),
                            Kind::Mtime { after, before } => {
                                let mtime = mtime_nanos(stat);
                                *after < mtime && mtime < *before
                            }
                            _ => false,
                        }
                    }
                };
                if check.wants(raw) {
                    state.recorded[check_index] = true;
                } else {
                    all = false;
                }
            }
            if !all && search.matchall {
                state.active = false;
                break;
            }
        }
        states.push(state);
    }

    // One read for the content checks and every hasher.
    let mut line_checks: Vec<LineCheck<'_>> = Vec::new();
    let mut line_owner: Vec<(usize, usize)> = Vec::new();
    let mut groups = 0;
    let mut algos: u16 = 0;
    let mut check_algos: u16 = 0;
    for (state_index, state) in states.iter().enumerate() {
        if !state.active {
            continue;
        }
        let search = &plan.searches[state.search];
        if search.has_content {
            let group = groups;
            if search.macroal {
                groups += 1;
            }
            for (check_index, check) in search.checks.iter().enumerate() {
                if let Kind::Content { line, buffer } = &check.kind {
                    line_checks.push(LineCheck {
                        line,
                        buffer: buffer.as_ref(),
                        macroal: search.macroal,
                        group,
                        inverse: check.inverse,
                    });
                    line_owner.push((state_index, check_index));
                }
            }
        }
        algos |= search.hash_algos;
        check_algos |= search.hash_algos;
        if search.matchall && search.returnsha256 {
            algos |= HashAlgo::Sha256.bit();
        }
    }
    let mut digests: Vec<(HashAlgo, String)> = Vec::new();
    if !line_checks.is_empty() || algos != 0 {
        let outcome = read_file(path, &line_checks, groups, algos, plan.decompress);
        let failure = outcome.open_error.clone().or(outcome.error.clone());
        if let Some(text) = &failure {
            let counts = u64::from(outcome.open_error.is_some());
            if !line_checks.is_empty() {
                errors.push(format!("checkContent() -> {text}"));
                openfailed += counts;
            }
            for algo in HashAlgo::ALL {
                if check_algos & algo.bit() != 0 {
                    errors.push(format!("checkHash() -> getHash() -> {text}"));
                    openfailed += counts;
                }
            }
        }
        // Content results.
        for (line_index, (state_index, check_index)) in line_owner.iter().enumerate() {
            let state = &mut states[*state_index];
            let search = &plan.searches[state.search];
            let check = &search.checks[*check_index];
            let matched = outcome.matched.get(line_index).copied().unwrap_or(false);
            if failure.is_some() {
                // Only what was seen before the error counts.
                if matched && !check.inverse && !search.macroal && check.wants(true) {
                    state.recorded[*check_index] = true;
                }
                continue;
            }
            if search.macroal {
                let group = line_checks[line_index].group;
                match outcome.group_failure.get(group).and_then(Option::as_ref) {
                    Some(failing) => {
                        if failing.contains(&line_index) && check.mismatch {
                            state.recorded[*check_index] = true;
                        }
                    }
                    None => {
                        if check.wants(matched) {
                            state.recorded[*check_index] = true;
                        }
                    }
                }
            } else if check.wants(matched) {
                state.recorded[*check_index] = true;
            }
        }
        for state in &mut states {
            let search = &plan.searches[state.search];
            if state.active && search.matchall && search.has_content {
                let content_ok = search
                    .checks
                    .iter()
                    .zip(&state.recorded)
                    .all(|(check, recorded)| check.filter != Filter::Content || *recorded);
                if !content_ok {
                    state.active = false;
                }
            }
        }
        digests = outcome.digests;
    }
    // Hash checks, algorithm by algorithm.
    for algo in HashAlgo::ALL {
        let Some((_, digest)) = digests.iter().find(|(candidate, _)| *candidate == algo) else {
            continue;
        };
        for state in &mut states {
            let search = &plan.searches[state.search];
            if !state.active || search.hash_algos & algo.bit() == 0 {
                continue;
            }
            for (check_index, check) in search.checks.iter().enumerate() {
                if !matches!(check.kind, Kind::Hash(candidate) if candidate == algo) {
                    continue;
                }
                if check.wants(*digest == check.value) {
                    state.recorded[check_index] = true;
                } else if search.matchall {
                    state.active = false;
                }
            }
        }
    }
    let mut hits = Vec::new();
    let mut wants_sha256 = false;
    for state in states {
        let search = &plan.searches[state.search];
        if search.matchall {
            let full = !state.recorded.is_empty() && state.recorded.iter().all(|r| *r);
            if full {
                wants_sha256 |= search.returnsha256;
                hits.push((state.search, Vec::new(), true));
            }
        } else {
            let recorded: Vec<usize> = state
                .recorded
                .iter()
                .enumerate()
                .filter(|(_, recorded)| **recorded)
                .map(|(index, _)| index)
                .collect();
            if !recorded.is_empty() {
                hits.push((state.search, recorded, false));
            }
        }
    }
    if hits.is_empty() {
        return Event::File {
            errors,
            openfailed,
            outcome: None,
        };
    }
    let stat = match meta {
        Some(stat) => stat,
        None => match std::fs::metadata(path) {
            Ok(stat) => stat,
            Err(err) => {
                errors.push(stat_error(&err));
                return Event::File {
                    errors,
                    openfailed,
                    outcome: None,
                };
            }
        },
    };
    let sha256 = wants_sha256
        .then(|| {
            digests
                .iter()
                .find(|(algo, _)| *algo == HashAlgo::Sha256)
                .map(|(_, digest)| digest.clone())
        })
        .flatten();
    let info = Info {
        size: stat.size(),
        mode: go_mode_string(stat.mode()),
        mtime: mtime_nanos(&stat),
        sha256,
    };
    Event::File {
        errors,
        openfailed,
        outcome: Some(FileOutcome {
            path: display(),
            hits,
            info: Some(info),
        }),
    }
}

fn mtime_nanos(stat: &Metadata) -> i128 {
    stat.modified().map(unix_nanos).unwrap_or_else(|_| {
        i128::from(stat.mtime()) * 1_000_000_000 + i128::from(stat.mtime_nsec())
    })
}

/// Devices of remote file systems, from `/proc/self/mountinfo`.
pub fn remote_devices() -> HashSet<u64> {
    const REMOTE: &[&str] = &[
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "coda",
        "9p",
        "ceph",
        "glusterfs",
        "lustre",
        "gfs2",
        "ocfs2",
        "davfs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.rclone",
        "fuse.s3fs",
    ];
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return HashSet::new();
    };
    let mut devices = HashSet::new();
    for line in text.lines() {
        let mut fields = line.split(' ');
        let Some(device) = fields.nth(2) else {
            continue;
        };
        let Some(fs_type) = line
            .split(" - ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
        else {
            continue;
        };
        if !REMOTE.contains(&fs_type) {
            continue;
        }
        let mut numbers = device.split(':').map(str::parse::<u64>);
        if let (Some(Ok(major)), Some(Ok(minor))) = (numbers.next(), numbers.next()) {
            devices.insert(makedev(major, minor));
        }
    }
    devices
}

/// Linux `makedev`.
fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xffff_f000) << 32)
        | ((major & 0x0000_0fff) << 8)
        | ((minor & 0xffff_ff00) << 12)
        | (minor & 0x0000_00ff)
}
