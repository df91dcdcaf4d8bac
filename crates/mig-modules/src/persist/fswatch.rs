//! `fswatch`: file-integrity monitoring with inotify (spec modules.md §4.8).
//!
//! Watched files and the regular files directly inside watched directories
//! get a SHA-256 baseline; a write (or a creation) re-hashes the file after a
//! random delay, and a changed hash raises a `critical` alert (at most one per
//! path per alert interval). Removal of a tracked file raises a `low` alert.
//!
//! Tuning (not in the original): a `[tuning]` section of `fswatch.cfg` with
//! `hashdelay` (the upper bound of the random delay, Go duration, default 10s)
//! and `alertinterval` (default 15m). Deviation: when the root of a profile
//! entry disappears the module stops with an error (the agent restarts it
//! every 10 s, and startup fails until the root exists again) instead of
//! polling for it in-process.

use std::collections::HashMap;
use std::io::Read;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mig_protocol::gojson;
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Outbox, PersistContext, Persistent, jitter, ok_answer};

/// The built-in Linux profile: `(path, recursive)`.
pub const DEFAULT_PROFILE: &[(&str, bool)] = &[
    ("/boot", false),
    ("/etc/cron.d", false),
    ("/var/spool/cron", false),
    ("/bin", false),
    ("/sbin", false),
    ("/usr/bin", false),
    ("/usr/sbin", false),
    ("/etc/init.d", false),
    ("/etc", true),
    ("/etc/systemd", true),
];

const DEFAULT_HASH_DELAY: Duration = Duration::from_secs(10);
const DEFAULT_ALERT_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// `[paths]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Paths {
    /// `path` entries (`recursive:` prefix allowed).
    #[serde(rename = "Path")]
    pub path: Option<Vec<String>>,
}

/// `[tuning]` (this implementation's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tuning {
    /// Upper bound of the random re-hash delay, in milliseconds.
    #[serde(rename = "HashDelayMs", skip_serializing_if = "Option::is_none")]
    pub hash_delay_ms: Option<u64>,
    /// Minimum time between two change alerts of one path, in milliseconds.
    #[serde(rename = "AlertIntervalMs", skip_serializing_if = "Option::is_none")]
    pub alert_interval_ms: Option<u64>,
}

/// The configuration JSON: `{"Paths":{"Path":[…]}}` (Go field names).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The profile.
    #[serde(rename = "Paths")]
    pub paths: Paths,
    /// Tuning, omitted when not configured.
    #[serde(rename = "Tuning", skip_serializing_if = "is_default_tuning")]
    pub tuning: Tuning,
}

fn is_default_tuning(tuning: &Tuning) -> bool {
    *tuning == Tuning::default()
}

/// The module.
pub struct Fswatch;

/// One profile entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The watched path.
    pub root: PathBuf,
    /// Whether subdirectories are watched too.
    pub recursive: bool,
}

/// The profile of a configuration (the built-in one when it has no path).
pub fn profile(config: &Config) -> Vec<Entry> {
    match config.paths.path.as_deref() {
        Some(paths) if !paths.is_empty() => paths
            .iter()
            .map(|path| match path.strip_prefix("recursive:") {
                Some(root) => Entry {
                    root: PathBuf::from(root),
                    recursive: true,
                },
                None => Entry {
                    root: PathBuf::from(path),
                    recursive: false,
                },
            })
            .collect(),
        _ => DEFAULT_PROFILE
            .iter()
            .map(|(root, recursive)| Entry {
                root: PathBuf::from(root),
                recursive: *recursive,
            })
            .collect(),
    }
}

/// SHA-256 of a file in lower-case hex; empty when unreadable.
pub fn hash_file(path: &Path) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(_) => return String::new(),
        }
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The alert message: `{"severity":"…","alert":"…"}`.
pub fn alert_text(severity: &str, alert: &str) -> String {
    #[derive(Serialize)]
    struct Alert<'a> {
        severity: &'a str,
        alert: &'a str,
    }
    gojson::to_string(&Alert { severity, alert })
}

struct Tracked {
    hash: String,
    last_alert: Option<Instant>,
}

enum Event {
    Create(PathBuf),
    Write(PathBuf),
    Remove(PathBuf),
    Failed(String),
}

struct Watcher {
    fd: std::sync::Arc<OwnedFd>,
    entries: Vec<Entry>,
    watches: std::sync::Arc<std::sync::Mutex<HashMap<i32, PathBuf>>>,
    tracked: HashMap<PathBuf, Tracked>,
    outbox: Outbox,
    hash_delay: Duration,
    alert_interval: Duration,
}

const WATCH_MASK: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::MODIFY)
    .union(WatchFlags::DELETE)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::ATTRIB)
    .union(WatchFlags::MOVE_SELF);

impl Watcher {
    fn watch(&mut self, path: &Path) -> Result<(), String> {
        let wd = inotify::add_watch(&*self.fd, path, WATCH_MASK)
            .map_err(|err| format!("cannot watch {}: {err}", path.display()))?;
        if let Ok(mut watches) = self.watches.lock() {
            watches.insert(wd, path.to_owned());
        }
        Ok(())
    }

    fn track(&mut self, path: &Path) {
        let hash = hash_file(path);
        self.tracked.insert(
            path.to_owned(),
            Tracked {
                hash,
                last_alert: None,
            },
        );
    }

    /// Watches a directory (and, when recursive, its subdirectories) and
    /// hashes the regular files directly inside each.
    fn add_directory(&mut self, dir: &Path, recursive: bool) -> Result<(), String> {
        self.watch(dir)?;
        let Ok(children) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        let mut subdirs = Vec::new();
        for child in children.flatten() {
            let path = child.path();
            match child.file_type() {
                Ok(kind) if kind.is_file() => self.track(&path),
                Ok(kind) if kind.is_dir() && recursive => subdirs.push(path),
                _ => {}
            }
        }
        for subdir in subdirs {
            self.add_directory(&subdir, true)?;
        }
        Ok(())
    }

    fn start(&mut self) -> Result<(), String> {
        for entry in self.entries.clone() {
            let metadata = std::fs::metadata(&entry.root)
                .map_err(|err| format!("profile path {}: {err}", entry.root.display()))?;
            if metadata.is_dir() {
                self.add_directory(&entry.root, entry.recursive)?;
            } else {
                self.watch(&entry.root)?;
                self.track(&entry.root);
            }
        }
        Ok(())
    }

    /// The profile entry responsible for a path.
    fn entry_of(&self, path: &Path) -> Option<&Entry> {
        self.entries.iter().find(|entry| {
            path == entry.root
                || path.parent() == Some(entry.root.as_path())
                || (entry.recursive && path.starts_with(&entry.root))
        })
    }

    fn alert(&self, severity: &str, text: &str) {
        self.outbox.alert(alert_text(severity, text));
    }

    /// Handles one event; returns paths to re-hash.
    fn handle(&mut self, event: Event) -> Result<Option<PathBuf>, String> {
        let path = match &event {
            Event::Create(path) | Event::Write(path) | Event::Remove(path) => path.clone(),
            Event::Failed(message) => return Err(message.clone()),
        };
        let Some(entry) = self.entry_of(&path).cloned() else {
            self.alert(
                "high",
                &format!("unhandled notification for {}", path.display()),
            );
            return Ok(None);
        };
        match event {
            Event::Create(_) => {
                if entry.recursive {
                    match std::fs::metadata(&path) {
                        Ok(metadata) if metadata.is_dir() => {
                            self.add_directory(&path, true)?;
                        }
                        Ok(metadata) if metadata.is_file() => {
                            self.tracked.entry(path.clone()).or_insert(Tracked {
                                hash: String::new(),
                                last_alert: None,
                            });
                        }
                        Ok(_) => {}
                        Err(_) => {
                            self.alert(
                                "medium",
                                &format!("unable to stat new path {}", path.display()),
                            );
                            return Ok(None);
                        }
                    }
                }
                Ok(Some(path))
            }
            Event::Write(_) => Ok(Some(path)),
            Event::Remove(_) => {
                if self.tracked.remove(&path).is_some() {
                    self.alert("low", &format!("path {} removed", path.display()));
                }
                if path == entry.root {
                    return Err(format!("watched path {} removed", path.display()));
                }
                Ok(None)
            }
            Event::Failed(_) => Ok(None),
        }
    }

    fn rehash(&mut self, path: &Path) {
        let new = hash_file(path);
        let Some(tracked) = self.tracked.get_mut(path) else {
            self.outbox.log(format!(
                "warning: received hash reply for untracked object {}",
                path.display()
            ));
            return;
        };
        let old = std::mem::replace(&mut tracked.hash, new.clone());
        if old.is_empty() || old == new {
            return;
        }
        if tracked
            .last_alert
            .is_some_and(|at| at.elapsed() < self.alert_interval)
        {
            return;
        }
        tracked.last_alert = Some(Instant::now());
        self.alert(
            "critical",
            &format!("{} signature changed {old} -> {new}", path.display()),
        );
    }
}

/// Reads inotify events forever, sending the ones that matter.
fn read_events(
    fd: std::sync::Arc<OwnedFd>,
    watches: std::sync::Arc<std::sync::Mutex<HashMap<i32, PathBuf>>>,
    events: mpsc::Sender<Event>,
) {
    let mut buffer = [MaybeUninit::<u8>::uninit(); 16 << 10];
    let mut reader = inotify::Reader::new(&*fd, &mut buffer);
    loop {
        let event = match reader.next() {
            Ok(event) => event,
            Err(rustix::io::Errno::INTR) => continue,
            Err(err) => {
                let _ = events.send(Event::Failed(format!("inotify read: {err}")));
                return;
            }
        };
        let flags = event.events();
        if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
            let _ = events.send(Event::Failed("inotify queue overflow".to_owned()));
            return;
        }
        let Some(base) = watches
            .lock()
            .ok()
            .and_then(|watches| watches.get(&event.wd()).cloned())
        else {
            continue;
        };
        let path = match event.file_name() {
            Some(name) if !name.to_bytes().is_empty() => {
                use std::os::unix::ffi::OsStrExt;
                base.join(std::ffi::OsStr::from_bytes(name.to_bytes()))
            }
            _ => base,
        };
        let kind = flags.difference(ReadFlags::ISDIR);
        let event = if kind == ReadFlags::CREATE || kind == ReadFlags::MOVED_TO {
            Event::Create(path)
        } else if kind == ReadFlags::MODIFY {
            Event::Write(path)
        } else if kind == ReadFlags::DELETE || kind == ReadFlags::DELETE_SELF {
            Event::Remove(path)
        } else {
            continue;
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

impl Persistent for Fswatch {
    const NAME: &'static str = "fswatch";

    fn config_from_gcfg(document: Option<&mig_protocol::gcfg::Document>) -> String {
        let mut config = Config::default();
        if let Some(document) = document {
            if let Some(section) = document.section("paths") {
                let paths: Vec<String> = section
                    .get_all("path")
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                if !paths.is_empty() {
                    config.paths.path = Some(paths);
                }
            }
            if let Some(section) = document.section("tuning") {
                let millis = |key: &str| {
                    section
                        .duration(key)
                        .ok()
                        .flatten()
                        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                };
                config.tuning.hash_delay_ms = millis("hashdelay");
                config.tuning.alert_interval_ms = millis("alertinterval");
            }
        }
        gojson::to_string(&config)
    }

    fn persist(context: PersistContext) -> Result<(), String> {
        let config = gojson::from_value::<Config>(&context.config.config).unwrap_or_default();
        let fd = inotify::init(CreateFlags::CLOEXEC)
            .map_err(|err| format!("cannot initialise inotify: {err}"))?;
        let mut watcher = Watcher {
            fd: std::sync::Arc::new(fd),
            entries: profile(&config),
            watches: std::sync::Arc::default(),
            tracked: HashMap::new(),
            outbox: context.outbox,
            hash_delay: config
                .tuning
                .hash_delay_ms
                .map_or(DEFAULT_HASH_DELAY, Duration::from_millis),
            alert_interval: config
                .tuning
                .alert_interval_ms
                .map_or(DEFAULT_ALERT_INTERVAL, Duration::from_millis),
        };
        watcher.start()?;
        watcher.outbox.log(format!(
            "watching {} paths, {} files hashed",
            watcher.watches.lock().map(|w| w.len()).unwrap_or(0),
            watcher.tracked.len()
        ));
        let (sender, events) = mpsc::channel();
        {
            let fd = watcher.fd.clone();
            let watches = watcher.watches.clone();
            std::thread::spawn(move || read_events(fd, watches, sender));
        }
        let mut pending: Vec<(Instant, PathBuf)> = Vec::new();
        loop {
            let now = Instant::now();
            pending.sort_by_key(|(due, _)| *due);
            while pending.first().is_some_and(|(due, _)| *due <= now) {
                let (_, path) = pending.remove(0);
                watcher.rehash(&path);
            }
            let wait = pending
                .first()
                .map_or(Duration::from_secs(3600), |(due, _)| {
                    due.saturating_duration_since(now)
                });
            match events.recv_timeout(wait) {
                Ok(event) => {
                    if let Some(path) = watcher.handle(event)?
                        && !pending.iter().any(|(_, known)| *known == path)
                    {
                        let bound =
                            u64::try_from(watcher.hash_delay.as_millis()).unwrap_or(u64::MAX);
                        let delay = Duration::from_millis(jitter(bound));
                        pending.push((Instant::now() + delay, path));
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err("the inotify reader stopped".to_owned());
                }
            }
        }
    }

    fn handle(_parameters: &Value) -> String {
        ok_answer()
    }
}

super::ok_query_module!(Fswatch, "fswatch");
