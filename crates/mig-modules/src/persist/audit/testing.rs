//! Test support for the live audit tests of this crate and of the agent:
//! one process at a time may hold the audit pid, so tests serialise on an
//! `flock` of [`LOCK_PATH`], skip (with a visible reason) where the kernel
//! refuses, and leave the kernel as they found it — no rules, no audit
//! pid, the original enabled flag and limits.

use std::fs::File;

use rustix::fs::{FlockOperation, flock};

use super::netlink::{AuditSocket, Status};

/// The lock file every live audit test takes.
pub const LOCK_PATH: &str = "/tmp/mig-audit-tests.lock";

/// Exclusive use of the kernel audit channel; restores it when dropped.
#[derive(Debug)]
pub struct AuditLock {
    _file: File,
    initial: Status,
}

/// Takes the lock, or says why live audit tests cannot run here.
pub fn lock() -> Result<AuditLock, String> {
    if !rustix::process::geteuid().is_root() {
        return Err("not running as root".to_owned());
    }
    let file = File::options()
        .create(true)
        .append(true)
        .open(LOCK_PATH)
        .map_err(|err| format!("{LOCK_PATH}: {err}"))?;
    flock(&file, FlockOperation::LockExclusive)
        .map_err(|err| format!("flock {LOCK_PATH}: {err}"))?;
    let mut socket = AuditSocket::open().map_err(|err| format!("NETLINK_AUDIT: {err}"))?;
    let initial = socket.status().map_err(|err| format!("AUDIT_GET: {err}"))?;
    if initial.pid != 0 && std::path::Path::new(&format!("/proc/{}", initial.pid)).exists() {
        return Err(format!(
            "the audit pid is held by process {} (auditd?)",
            initial.pid
        ));
    }
    Ok(AuditLock {
        _file: file,
        initial,
    })
}

impl AuditLock {
    /// The kernel's status when the lock was taken.
    pub fn initial(&self) -> Status {
        self.initial
    }

    /// Deletes every rule, releases the audit pid, restores the flag and
    /// limits; returns the first failure.
    pub fn restore(&self) -> Result<(), String> {
        let mut socket = AuditSocket::open()?;
        let mut first = Ok(());
        let mut note = |outcome: Result<(), String>, what: &str| {
            if let Err(err) = outcome
                && first.is_ok()
            {
                first = Err(format!("{what}: {err}"));
            }
        };
        note(socket.delete_all_rules(), "delete rules");
        note(socket.set_pid(0), "release the audit pid");
        note(socket.set_rate_limit(self.initial.rate_limit), "rate limit");
        note(
            socket.set_backlog_limit(self.initial.backlog_limit),
            "backlog limit",
        );
        if self.initial.enabled != 2 {
            note(socket.set_enabled(self.initial.enabled), "enabled flag");
        }
        first
    }
}

impl Drop for AuditLock {
    fn drop(&mut self) {
        if let Err(err) = self.restore() {
            eprintln!("audit test cleanup: {err}");
        }
    }
}
