//! Installing the agent as a systemd service (spec protocol.md §8.15).
//!
//! When root starts the agent by hand (parent is not PID 1) without `-f` or
//! `-d` and `installservice` is on, the agent writes
//! `/etc/systemd/system/mig-agent.service`, runs `systemctl daemon-reload` and
//! `systemctl enable --now mig-agent`, and exits: the service manager runs it
//! from then on. Other init systems are not supported by this build: the agent
//! then simply runs in the foreground.

use std::path::Path;

/// Where the unit file goes.
pub const UNIT_PATH: &str = "/etc/systemd/system/mig-agent.service";

/// Errors of the installation.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("systemctl {args}: {reason}")]
    Systemctl { args: String, reason: String },
}

/// The unit file running `executable`.
pub fn unit_file(executable: &Path) -> String {
    format!(
        "[Unit]\nDescription=Mozilla InvestiGator Agent\nAfter=network.target\n\
         StartLimitIntervalSec=300\nStartLimitBurst=5\n\n\
         [Service]\nExecStart={} -f\nRestart=on-failure\nRestartSec=3s\n\n\
         [Install]\nWantedBy=multi-user.target\n",
        executable.display()
    )
}

/// Whether the agent should install itself: root, launched by a user (parent
/// is not PID 1), not foreground, `installservice` on, systemd running.
pub fn should_install(install_service: bool, foreground: bool, init: &str) -> bool {
    install_service
        && !foreground
        && init == "systemd"
        && is_root()
        && std::os::unix::process::parent_id() != 1
}

/// Whether the process runs as root (effective uid from `/proc/self/status`).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .and_then(|line| line.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

fn systemctl(args: &[&str]) -> Result<(), ServiceError> {
    let error = |reason: String| ServiceError::Systemctl {
        args: args.join(" "),
        reason,
    };
    let output = std::process::Command::new("systemctl")
        .args(args)
        .output()
        .map_err(|e| error(e.to_string()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(error(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ))
    }
}

/// Writes the unit file and enables and starts the service.
pub fn install(executable: &Path) -> Result<(), ServiceError> {
    std::fs::write(UNIT_PATH, unit_file(executable)).map_err(|source| ServiceError::Write {
        path: UNIT_PATH.to_owned(),
        source,
    })?;
    systemctl(&["daemon-reload"])?;
    // A running copy is restarted onto the new binary.
    let _ = systemctl(&["stop", "mig-agent"]);
    systemctl(&["enable", "--now", "mig-agent"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_runs_the_binary_in_the_foreground() {
        let unit = unit_file(Path::new("/sbin/mig-agent"));
        assert!(unit.contains("ExecStart=/sbin/mig-agent -f\n"));
        assert!(unit.contains("Restart=on-failure"));
        assert!(!should_install(false, false, "systemd"));
        assert!(!should_install(true, true, "systemd"));
    }
}
