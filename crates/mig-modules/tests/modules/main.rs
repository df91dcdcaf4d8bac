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
