//! `agentdestroy`: kill an old agent process and remove its executable
//! (spec modules.md §4.7, protocol.md §8.17). Issued by the scheduler against
//! duplicate agents, never through `mig`.
//!
//! Refuses to kill its own parent (the running agent); checks that the
//! target's executable answers `-V` with the expected version before removing
//! it; never removes its own executable.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::result::{Module, ModuleContext, TypedResult};

/// Parameters: `{"pid":12345,"version":"20190913-0.9e7e4f5.prod"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Parameters {
    pub pid: i64,
    pub version: String,
}

/// The module.
pub struct AgentDestroy;

/// The result's `elements` is a sentence.
pub type Elements = String;

impl Module for AgentDestroy {
    const NAME: &'static str = "agentdestroy";
    type Elements = Elements;
    type Statistics = serde_json::Value;

    fn run(
        parameters: &serde_json::Value,
        _context: &ModuleContext,
    ) -> TypedResult<Elements, serde_json::Value> {
        let parameters: Parameters = match mig_protocol::gojson::from_value(parameters) {
            Ok(parameters) => parameters,
            Err(err) => return TypedResult::failure(err.to_string()),
        };
        match destroy(&parameters, std::os::unix::process::parent_id(), &ProcFs) {
            Ok((message, warnings)) => TypedResult {
                success: true,
                elements: Some(message),
                errors: (!warnings.is_empty()).then_some(warnings),
                ..TypedResult::default()
            },
            Err(message) => TypedResult::failure(message),
        }
    }

    fn print(result: &TypedResult<Elements, serde_json::Value>, found_only: bool) -> Vec<String> {
        let mut lines = Vec::new();
        match &result.elements {
            Some(message) if !message.is_empty() => lines.push(message.clone()),
            Some(_) => {}
            None if result.success => {
                lines.push("[error] failed to retrieve status message from results".to_owned())
            }
            None => {}
        }
        if !found_only {
            for error in result.errors.iter().flatten() {
                lines.push(format!("[error] {error}"));
            }
            lines.push(
                if result.success {
                    "agentdestroy module has succeeded"
                } else {
                    "agentdestroy module has failed"
                }
                .to_owned(),
            );
        }
        lines
    }
}

/// The operating-system side of the module, replaceable in tests.
pub trait Host {
    /// The executable of a process (`/proc/<pid>/exe`).
    fn executable(&self, pid: i64) -> Result<PathBuf, String>;
    /// This process's own executable.
    fn own_executable(&self) -> Result<PathBuf, String>;
    /// The output of `<exe> -V`.
    fn version_of(&self, executable: &Path) -> Result<String, String>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> Result<(), String>;
    /// Sends SIGKILL.
    fn kill(&self, pid: i64) -> Result<(), String>;
}

/// The real host, through `/proc`.
pub struct ProcFs;

impl Host for ProcFs {
    fn executable(&self, pid: i64) -> Result<PathBuf, String> {
        let link = format!("/proc/{pid}/exe");
        std::fs::read_link(&link).map_err(|err| format!("readlink {link}: {}", io_text(&err)))
    }

    fn own_executable(&self) -> Result<PathBuf, String> {
        std::env::current_exe().map_err(|err| err.to_string())
    }

    fn version_of(&self, executable: &Path) -> Result<String, String> {
        let output = std::process::Command::new(executable)
            .arg("-V")
            .output()
            .map_err(|err| err.to_string())?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn remove(&self, path: &Path) -> Result<(), String> {
        std::fs::remove_file(path).map_err(|err| err.to_string())
    }

    fn kill(&self, pid: i64) -> Result<(), String> {
        let pid = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(|| format!("invalid pid {pid}"))?;
        rustix::process::kill_process(pid, rustix::process::Signal::KILL)
            .map_err(|err| err.to_string())
    }
}

/// Go's wording of common I/O errors.
fn io_text(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    }
}

/// The algorithm, on any [`Host`]: returns the status sentence and soft errors.
pub fn destroy(
    parameters: &Parameters,
    parent_pid: u32,
    host: &dyn Host,
) -> Result<(String, Vec<String>), String> {
    let pid = parameters.pid;
    if !(2..=65535).contains(&pid) {
        return Err(format!("PID '{pid}' is not in the range [2:65535]"));
    }
    if parameters.version.is_empty() {
        return Err("parameter 'version' is empty. Expecting version.".to_owned());
    }
    if pid == i64::from(parent_pid) {
        return Err(format!("PID '{pid}' is mine. Refusing to suicide."));
    }
    let executable = host
        .executable(pid)
        .map_err(|err| format!("Executable path of PID '{pid}' not found: '{err}'"))?;
    let mut warnings = Vec::new();
    let mut removed = None;
    if host.own_executable().ok().as_deref() == Some(executable.as_path()) {
        warnings.push("Executable not removed because current agent uses it as well".to_owned());
    } else {
        let mut version = host.version_of(&executable)?;
        version.pop();
        if version != parameters.version {
            return Err(format!(
                "Version mismatch. Expected '{}', found '{version}'",
                parameters.version
            ));
        }
        host.remove(&executable)?;
        removed = Some(executable);
    }
    host.kill(pid)?;
    let mut message = format!(
        "PID {pid} from agent {} has been killed",
        parameters.version
    );
    if let Some(path) = removed {
        message.push_str(&format!(
            " and its executable removed from {}",
            path.display()
        ));
    }
    Ok((message, warnings))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    #[derive(Default)]
    struct FakeHost {
        exe: Option<PathBuf>,
        own: PathBuf,
        version: String,
        actions: RefCell<Vec<String>>,
    }

    impl Host for FakeHost {
        fn executable(&self, pid: i64) -> Result<PathBuf, String> {
            self.exe
                .clone()
                .ok_or_else(|| format!("readlink /proc/{pid}/exe: no such file or directory"))
        }
        fn own_executable(&self) -> Result<PathBuf, String> {
            Ok(self.own.clone())
        }
        fn version_of(&self, _executable: &Path) -> Result<String, String> {
            Ok(format!("{}\n", self.version))
        }
        fn remove(&self, path: &Path) -> Result<(), String> {
            self.actions
                .borrow_mut()
                .push(format!("rm {}", path.display()));
            Ok(())
        }
        fn kill(&self, pid: i64) -> Result<(), String> {
            self.actions.borrow_mut().push(format!("kill {pid}"));
            Ok(())
        }
    }

    fn params(pid: i64, version: &str) -> Parameters {
        Parameters {
            pid,
            version: version.into(),
        }
    }

    #[test]
    fn refusals() {
        let host = FakeHost::default();
        assert_eq!(
            destroy(&params(1, "v"), 100, &host).unwrap_err(),
            "PID '1' is not in the range [2:65535]"
        );
        assert_eq!(
            destroy(&params(65536, "v"), 100, &host).unwrap_err(),
            "PID '65536' is not in the range [2:65535]"
        );
        assert_eq!(
            destroy(&params(5, ""), 100, &host).unwrap_err(),
            "parameter 'version' is empty. Expecting version."
        );
        assert_eq!(
            destroy(&params(100, "v"), 100, &host).unwrap_err(),
            "PID '100' is mine. Refusing to suicide."
        );
        assert_eq!(
            destroy(&params(65000, "v"), 100, &host).unwrap_err(),
            "Executable path of PID '65000' not found: 'readlink /proc/65000/exe: no such file or directory'"
        );
        assert!(host.actions.borrow().is_empty());
    }

    #[test]
    fn kills_and_removes_an_old_agent() {
        let host = FakeHost {
            exe: Some("/opt/mig/old-agent".into()),
            own: "/opt/mig/new-agent".into(),
            version: "old".into(),
            ..FakeHost::default()
        };
        let (message, warnings) = destroy(&params(4242, "old"), 100, &host).unwrap();
        assert_eq!(
            message,
            "PID 4242 from agent old has been killed and its executable removed from /opt/mig/old-agent"
        );
        assert!(warnings.is_empty());
        assert_eq!(
            *host.actions.borrow(),
            vec!["rm /opt/mig/old-agent", "kill 4242"]
        );
        let mismatch = destroy(&params(4242, "other"), 100, &host).unwrap_err();
        assert_eq!(mismatch, "Version mismatch. Expected 'other', found 'old'");
    }

    #[test]
    fn never_removes_its_own_executable() {
        let host = FakeHost {
            exe: Some("/opt/mig/agent".into()),
            own: "/opt/mig/agent".into(),
            ..FakeHost::default()
        };
        let (message, warnings) = destroy(&params(4242, "v"), 100, &host).unwrap();
        assert_eq!(message, "PID 4242 from agent v has been killed");
        assert_eq!(
            warnings,
            vec!["Executable not removed because current agent uses it as well"]
        );
        assert_eq!(*host.actions.borrow(), vec!["kill 4242"]);
    }

    #[test]
    fn printing() {
        let failed: TypedResult<String, serde_json::Value> =
            TypedResult::failure("PID '1' is not in the range [2:65535]");
        assert_eq!(
            AgentDestroy::print(&failed, false),
            vec![
                "[error] PID '1' is not in the range [2:65535]",
                "agentdestroy module has failed"
            ]
        );
        let ok = TypedResult {
            success: true,
            elements: Some("PID 5 from agent v has been killed".to_owned()),
            ..TypedResult::default()
        };
        assert_eq!(
            AgentDestroy::print(&ok, false),
            vec![
                "PID 5 from agent v has been killed",
                "agentdestroy module has succeeded"
            ]
        );
    }
}
