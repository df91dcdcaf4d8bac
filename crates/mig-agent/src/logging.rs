//! Logging (spec protocol.md §8.19) through `tracing`: one line per event
//! with its fields (`action_id`, `command_id`, …), on stdout, in a file that
//! rotates to `<file>.1` past `maxfilesize` bytes, or to syslog ([`syslog`]:
//! `host`/`port`/`protocol`, or the local `/dev/log` when `host` is empty).
//!
//! An absent `[logging] level` keeps the built-in `info` (the original then
//! logged nothing).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tracing::level_filters::LevelFilter;

use crate::config::LoggingConfig;

/// The tracing level of a syslog level name, or `None` when it is unknown.
pub fn level_filter(level: &str) -> Option<LevelFilter> {
    Some(match level.to_ascii_lowercase().as_str() {
        "emerg" | "alert" | "crit" | "err" | "error" => LevelFilter::ERROR,
        "warning" | "warn" => LevelFilter::WARN,
        "notice" | "info" => LevelFilter::INFO,
        "debug" => LevelFilter::DEBUG,
        _ => return None,
    })
}

/// A log file rotated to `<file>.1` when it reaches its size limit.
#[derive(Clone)]
struct RotatingFile {
    inner: Arc<Mutex<RotatingState>>,
}

struct RotatingState {
    path: PathBuf,
    file: File,
    written: u64,
    max: u64,
}

fn open_log(path: &PathBuf) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o640);
    }
    options.open(path)
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut state = self
            .inner
            .lock()
            .map_err(|_| std::io::Error::other("log file lock poisoned"))?;
        if state.max > 0 && state.written + buf.len() as u64 > state.max {
            let rotated = state.path.with_extension("log.1");
            let _ = std::fs::rename(&state.path, rotated);
            state.file = open_log(&state.path)?;
            state.written = 0;
        }
        let written = state.file.write(buf)?;
        state.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.inner.lock() {
            Ok(mut state) => state.file.flush(),
            Err(_) => Ok(()),
        }
    }
}

/// Installs the global subscriber; `debug` forces debug logs on stdout. A
/// second call (tests) is ignored.
pub fn init(config: &LoggingConfig, debug: bool) {
    let level = if debug {
        LevelFilter::DEBUG
    } else {
        level_filter(&config.level).unwrap_or(LevelFilter::INFO)
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(false);
    let mode = if debug {
        "stdout"
    } else {
        config.mode.as_str()
    };
    if mode == "file" {
        match open_log(&config.file) {
            Ok(file) => {
                let written = file.metadata().map(|meta| meta.len()).unwrap_or(0);
                let writer = RotatingFile {
                    inner: Arc::new(Mutex::new(RotatingState {
                        path: config.file.clone(),
                        file,
                        written,
                        max: config.max_file_size,
                    })),
                };
                let _ = builder.with_writer(move || writer.clone()).try_init();
                return;
            }
            Err(error) => {
                let _ = builder.try_init();
                tracing::warn!(file = %config.file.display(), %error, "cannot open the log file, logging to stdout");
                return;
            }
        }
    }
    if mode == "syslog" {
        match crate::syslog::Syslog::connect(config) {
            Ok(syslog) => {
                // Syslog stamps each message itself.
                let _ = builder
                    .without_time()
                    .with_writer(crate::syslog::MakeSyslogWriter::new(syslog))
                    .try_init();
                return;
            }
            Err(error) => {
                let _ = builder.try_init();
                tracing::warn!(%error, "cannot reach syslog, logging to stdout");
                return;
            }
        }
    }
    let _ = builder.try_init();
}

/// Logging for a module child process: warnings and errors on stderr only
/// (stdout carries the result).
pub fn init_child() {
    let _ = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::WARN)
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .try_init();
}
