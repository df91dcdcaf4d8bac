//! Module execution in child processes (spec protocol.md §8.10, modules.md §2.4).
//!
//! The agent re-executes its own binary as `mig-agent -m <module>` (with `-c
//! <config>` when it runs from a configuration file, so the child sees the same
//! `extraprivacymode`), writes one line
//! `{"class":"parameters","parameters":<params>}` on its stdin, closes it, and
//! reads one result JSON from its stdout; stderr is discarded. A child still
//! running at its deadline is killed (status `timeout`); a crash, a non-zero
//! exit or unparsable output is status `failed` with the reason in `errors`.
//! A module crash or hang therefore never takes the agent down.
//!
//! The child side is [`child_main`]: the module registry of `mig-modules`,
//! plus, with the `test-modules` feature, hidden modules for tests (`__sleep`
//! hangs, `__crash` aborts, `__echo` returns its parameters).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use mig_modules::{ModuleContext, ModuleName};
use mig_protocol::status::CommandStatus;
use mig_protocol::{ModuleResult, gojson};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Hidden modules of the `test-modules` feature.
#[cfg(feature = "test-modules")]
const TEST_MODULES: &[&str] = &["__sleep", "__crash", "__echo"];
#[cfg(not(feature = "test-modules"))]
const TEST_MODULES: &[&str] = &[];

/// Largest module output read (bigger outputs fail the operation).
const MAX_OUTPUT: u64 = 256 << 20;

/// The modules of this build, as advertised in the environment.
pub fn module_names() -> Vec<String> {
    ModuleName::names()
}

/// Whether an operation's module can run here (registry names are case-sensitive).
pub fn is_available(module: &str) -> bool {
    ModuleName::parse(module).is_some() || TEST_MODULES.contains(&module)
}

/// How a module child is started.
#[derive(Debug, Clone)]
pub struct ModuleRunner {
    /// The agent binary.
    pub executable: PathBuf,
    /// The configuration file the agent runs with, passed on as `-c`.
    pub config_file: Option<PathBuf>,
    /// The query sockets of the running persistent modules (queries to a
    /// persistent module carry its socket in `persistsock`).
    pub persistent: crate::persist::Registry,
}

/// The outcome of one module run.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleOutcome {
    pub status: CommandStatus,
    pub result: ModuleResult,
}

impl ModuleOutcome {
    fn failed(message: impl Into<String>) -> Self {
        Self {
            status: CommandStatus::Failed,
            result: ModuleResult::error(message),
        }
    }
}

impl ModuleRunner {
    /// A runner re-executing the current binary.
    pub fn current(config_file: Option<PathBuf>) -> std::io::Result<Self> {
        Ok(Self {
            executable: std::env::current_exe()?,
            config_file,
            persistent: crate::persist::Registry::default(),
        })
    }

    /// Runs `module` with `parameters` in a child process, killed after `deadline`.
    pub async fn run(
        &self,
        module: &str,
        parameters: &serde_json::Value,
        deadline: Duration,
    ) -> ModuleOutcome {
        let lowercase = module.to_lowercase();
        let persistsock = if mig_modules::persist::PERSISTENT_MODULES.contains(&lowercase.as_str())
        {
            match self.persistent.socket(&lowercase) {
                Some(socket) => Some(socket),
                None => {
                    return ModuleOutcome::failed(format!(
                        "runModule() -> module {lowercase} is not registered"
                    ));
                }
            }
        } else {
            None
        };
        let mut command = tokio::process::Command::new(&self.executable);
        command.arg("-m").arg(&lowercase);
        if let Some(config) = &self.config_file {
            command.arg("-c").arg(config);
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                return ModuleOutcome::failed(format!("cannot start module {module}: {error}"));
            }
        };
        let mut input = String::from("{\"class\":\"parameters\",\"parameters\":");
        gojson::write_canonical(&mut input, parameters);
        if let Some(socket) = &persistsock {
            input.push_str(",\"persistsock\":");
            gojson::write_str(&mut input, socket);
        }
        input.push_str("}\n");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let work = async {
            // A module that does not read its input must not block the agent:
            // write concurrently with reading the output.
            let write = async move {
                if let Some(mut stdin) = stdin {
                    let _ = stdin.write_all(input.as_bytes()).await;
                    let _ = stdin.shutdown().await;
                }
            };
            let read = async move {
                let mut output = Vec::new();
                if let Some(stdout) = stdout {
                    stdout.take(MAX_OUTPUT).read_to_end(&mut output).await?;
                }
                Ok::<_, std::io::Error>(output)
            };
            let ((), output) = tokio::join!(write, read);
            let status = child.wait().await?;
            Ok::<_, std::io::Error>((status, output?))
        };
        let (status, output) = match tokio::time::timeout(deadline, work).await {
            Err(_) => {
                // Dropping the future drops the child: kill_on_drop sends SIGKILL.
                return ModuleOutcome {
                    status: CommandStatus::Timeout,
                    result: ModuleResult::default(),
                };
            }
            Ok(Err(error)) => {
                return ModuleOutcome::failed(format!("module {module} failed: {error}"));
            }
            Ok(Ok(done)) => done,
        };
        if !status.success() {
            return ModuleOutcome::failed(format!("module {module} failed: {status}"));
        }
        match gojson::from_slice::<ModuleResult>(&output) {
            Ok(result) => ModuleOutcome {
                status: CommandStatus::Success,
                result,
            },
            Err(error) => ModuleOutcome::failed(format!(
                "module {module} returned an unparsable result: {error}"
            )),
        }
    }
}

/// The whole life of a module child process (`mig-agent -m <module> [-p]`),
/// with what the agent's configuration tells modules. Returns the exit code.
pub fn child_main(
    module: &str,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    context: &ModuleContext,
    pretty: bool,
) -> i32 {
    if TEST_MODULES.contains(&module) {
        return test_module(module, input, output);
    }
    mig_modules::child_main(module, input, output, context, pretty)
}

#[cfg(feature = "test-modules")]
fn test_module(module: &str, input: &mut dyn BufRead, output: &mut dyn Write) -> i32 {
    match module {
        "__sleep" => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
        "__crash" => std::process::abort(),
        _ => {
            let mut line = Vec::new();
            let _ = input.read_until(b'\n', &mut line);
            let message: mig_protocol::command::ModuleMessage =
                gojson::from_slice(&line).unwrap_or_default();
            let result = ModuleResult {
                foundanything: true,
                success: true,
                elements: message.parameters,
                ..ModuleResult::default()
            };
            let _ = output.write_all(gojson::to_string(&result).as_bytes());
            0
        }
    }
}

#[cfg(not(feature = "test-modules"))]
fn test_module(_module: &str, _input: &mut dyn BufRead, _output: &mut dyn Write) -> i32 {
    1
}
