//! The integration tests of mig-modules, one module per subject, linked into one
//! test binary (`cargo test -p mig-modules --test modules [module::]`).

#![allow(clippy::unwrap_used)]

mod client_flags;
mod memory;
mod yara;

/// The memory and yara tests read large child processes and measure
/// heartbeat gaps and peak RSS: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A nonce for markers that exist nowhere else in memory.
fn nonce() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// `python3` for a child whose heartbeat a test measures, at real-time
/// priority (we are root in CI) so that a gap means a stop, not a busy
/// machine; plain priority where `chrt` is refused. Also says which.
fn python_child() -> (std::process::Command, bool) {
    use std::process::Command;
    let realtime = Command::new("chrt")
        .args(["-f", "10", "true"])
        .status()
        .is_ok_and(|status| status.success());
    if realtime {
        let mut command = Command::new("chrt");
        command.args(["-f", "10", "python3"]);
        (command, true)
    } else {
        (Command::new("python3"), false)
    }
}

/// The reversed hex of `text` (children write markers from it byte by byte).
fn reversed_hex(text: &str) -> String {
    text.bytes().rev().map(|b| format!("{b:02x}")).collect()
}

/// The heartbeat bytes a child writes, timestamped by a reader thread.
struct Heartbeat {
    beats: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Heartbeat {
    /// Starts timestamping every byte read from `stream` until it closes.
    fn watch(mut stream: impl std::io::Read + Send + 'static) -> Heartbeat {
        let beats: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>> =
            std::sync::Arc::default();
        let reader = {
            let beats = std::sync::Arc::clone(&beats);
            std::thread::spawn(move || {
                let mut byte = [0u8; 1];
                while stream.read(&mut byte).map(|n| n > 0).unwrap_or(false) {
                    beats.lock().unwrap().push(std::time::Instant::now());
                }
            })
        };
        Heartbeat { beats, reader }
    }

    /// The longest time without a beat from `started` to `end`, counting the
    /// beats up to `end + slack`; and how many beats that was.
    fn max_gap(
        &self,
        started: std::time::Instant,
        end: std::time::Instant,
        slack: std::time::Duration,
    ) -> (std::time::Duration, usize) {
        let beats = self.beats.lock().unwrap().clone();
        let during: Vec<&std::time::Instant> = beats
            .iter()
            .filter(|t| **t >= started && **t <= end + slack)
            .collect();
        let mut max_gap = std::time::Duration::ZERO;
        let mut previous = started;
        for beat in &during {
            max_gap = max_gap.max(beat.duration_since(previous));
            previous = **beat;
        }
        (
            max_gap.max(end.saturating_duration_since(previous)),
            during.len(),
        )
    }

    /// Waits for the stream to close (the child killed).
    fn join(self) {
        self.reader.join().unwrap();
    }
}
