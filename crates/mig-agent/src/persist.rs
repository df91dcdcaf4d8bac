//! Supervision of persistent modules (spec modules.md §2.6).
//!
//! In daemon mode the agent starts every persistent module of the build
//! (`audit` only when `<confdir>/audit.cfg` exists) as a child
//! `mig-agent -P <module>` (with `-c <config>` when it runs from a
//! configuration file, so the child finds the run dir). One supervisor task
//! per module: it writes the `config` message (the module's `<confdir>/<module>.cfg`,
//! hostname, environment, tags), then reads the module's messages —
//! `register` records the query socket, `log` is logged, `alert` goes to the
//! dispatch module when it is part of the build (otherwise it is logged),
//! ping replies keep the module alive — and pings it periodically. No ping
//! reply within the kill threshold, a write failure, end of output or an
//! unknown message class kills the module; its socket registration is
//! removed and it is restarted after the restart delay.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mig_modules::persist::{PERSISTENT_MODULES, config_message, load_config};
use mig_protocol::command::ModuleMessage;
use mig_protocol::gojson;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Capacity of the agent's alert channel to dispatch.
pub const ALERT_CHANNEL: usize = 128;

/// Timing of the supervision (the original's values by default).
#[derive(Debug, Clone)]
pub struct Supervision {
    /// Period of the `ping` messages.
    pub ping_period: Duration,
    /// A module without a ping reply for this long is killed.
    pub kill_after: Duration,
    /// Pause before a stopped module is started again.
    pub restart_delay: Duration,
}

impl Default for Supervision {
    fn default() -> Self {
        Self {
            ping_period: Duration::from_secs(10),
            kill_after: Duration::from_secs(30),
            restart_delay: Duration::from_secs(10),
        }
    }
}

/// How persistent modules are started.
#[derive(Debug, Clone)]
pub struct PersistOptions {
    /// The agent binary.
    pub executable: PathBuf,
    /// The agent's configuration file, passed on as `-c`.
    pub config_file: Option<PathBuf>,
    /// Where `<module>.cfg` files are read.
    pub conf_dir: PathBuf,
    /// The modules to start.
    pub modules: Vec<String>,
    /// Timing.
    pub supervision: Supervision,
}

impl PersistOptions {
    /// Every persistent module of the build; `.cfg` files next to the agent's
    /// configuration file, or in `/etc/mig`.
    pub fn new(executable: PathBuf, config_file: Option<PathBuf>) -> Self {
        let conf_dir = config_file
            .as_ref()
            .and_then(|file| file.parent().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_CONF_DIR));
        Self {
            executable,
            config_file,
            conf_dir,
            modules: PERSISTENT_MODULES.iter().map(|m| (*m).to_owned()).collect(),
            supervision: Supervision::default(),
        }
    }
}

/// The query sockets of the running persistent modules and the number of
/// times each was started.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    inner: Arc<Mutex<RegistryState>>,
}

#[derive(Debug, Default)]
struct RegistryState {
    sockets: HashMap<String, String>,
    starts: HashMap<String, u64>,
    pids: HashMap<String, u32>,
}

impl Registry {
    /// The registered socket of a module (`unix:<path>`).
    pub fn socket(&self, module: &str) -> Option<String> {
        self.inner.lock().ok()?.sockets.get(module).cloned()
    }

    /// How many times a module was started.
    pub fn starts(&self, module: &str) -> u64 {
        self.inner
            .lock()
            .map(|state| state.starts.get(module).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// The pid of a module's current process.
    pub fn pid(&self, module: &str) -> Option<u32> {
        self.inner.lock().ok()?.pids.get(module).copied()
    }

    fn update(&self, change: impl FnOnce(&mut RegistryState)) {
        if let Ok(mut state) = self.inner.lock() {
            change(&mut state);
        }
    }
}

/// Starts the supervisors; they stop with `stop`.
pub fn spawn(
    options: PersistOptions,
    hostname: String,
    environment: mig_protocol::AgentEnv,
    tags: std::collections::BTreeMap<String, String>,
    stop: CancellationToken,
) -> (Registry, tokio::task::JoinSet<()>) {
    let registry = Registry::default();
    let mut tasks = tokio::task::JoinSet::new();
    let (alerts, alert_receiver) = mpsc::channel::<String>(ALERT_CHANNEL);
    let has_dispatch = options.modules.iter().any(|m| m == "dispatch");
    let mut alert_receiver = Some(alert_receiver);
    for module in &options.modules {
        // audit takes the kernel audit channel over and replaces the host's
        // rules: it runs only where it is configured.
        if module == "audit" && !options.conf_dir.join("audit.cfg").exists() {
            tracing::debug!("persistent module audit not started: no audit.cfg");
            continue;
        }
        let config = load_config(module, &options.conf_dir);
        let config_line = match config_message(&config, &hostname, &environment, &tags) {
            Ok(line) => line,
            Err(error) => {
                tracing::error!(module = %module, %error, "persistent module not started");
                continue;
            }
        };
        let supervisor = Supervisor {
            module: module.clone(),
            options: options.clone(),
            config_line,
            registry: registry.clone(),
            alerts: has_dispatch.then(|| alerts.clone()),
            inbox: if module == "dispatch" {
                alert_receiver.take()
            } else {
                None
            },
        };
        tasks.spawn(supervisor.run(stop.clone()));
    }
    (registry, tasks)
}

struct Supervisor {
    module: String,
    options: PersistOptions,
    config_line: String,
    registry: Registry,
    /// Where alerts go (to dispatch), if it is part of the build.
    alerts: Option<mpsc::Sender<String>>,
    /// Alerts to forward (dispatch only).
    inbox: Option<mpsc::Receiver<String>>,
}

/// Why a module run ended.
enum Ended {
    Stopped,
    Restart(String),
}

impl Supervisor {
    async fn run(mut self, stop: CancellationToken) {
        loop {
            match self.run_once(&stop).await {
                Ended::Stopped => return,
                Ended::Restart(reason) => {
                    let module = &self.module;
                    self.registry.update(|state| {
                        state.sockets.remove(module);
                        state.pids.remove(module);
                    });
                    tracing::warn!(
                        module = %self.module,
                        %reason,
                        delay = ?self.options.supervision.restart_delay,
                        "persistent module stopped, restarting"
                    );
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.options.supervision.restart_delay) => {}
            }
        }
    }

    async fn run_once(&mut self, stop: &CancellationToken) -> Ended {
        let mut command = tokio::process::Command::new(&self.options.executable);
        command.arg("-P").arg(&self.module);
        if let Some(config) = &self.options.config_file {
            command.arg("-c").arg(config);
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => return Ended::Restart(format!("cannot start: {error}")),
        };
        let module = self.module.clone();
        let pid = child.id();
        self.registry.update(|state| {
            *state.starts.entry(module.clone()).or_default() += 1;
            if let Some(pid) = pid {
                state.pids.insert(module, pid);
            }
        });
        tracing::info!(module = %self.module, pid = ?pid, "persistent module started");
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Ended::Restart("no pipes".to_owned());
        };
        let ended = self.converse(&mut stdin, stdout, stop).await;
        let _ = child.start_kill();
        let _ = child.wait().await;
        ended
    }

    async fn converse(
        &mut self,
        stdin: &mut tokio::process::ChildStdin,
        stdout: tokio::process::ChildStdout,
        stop: &CancellationToken,
    ) -> Ended {
        if let Err(error) = write(stdin, self.config_line.clone()).await {
            return Ended::Restart(format!("cannot send the configuration: {error}"));
        }
        let mut lines = BufReader::new(stdout).lines();
        let supervision = self.options.supervision.clone();
        let mut ping = tokio::time::interval_at(
            tokio::time::Instant::now() + supervision.ping_period,
            supervision.ping_period,
        );
        let mut last_reply = tokio::time::Instant::now();
        let ping_line = r#"{"class":"ping"}"#.to_owned();
        loop {
            let forward = async {
                match self.inbox.as_mut() {
                    Some(inbox) => inbox.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = stop.cancelled() => return Ended::Stopped,
                line = lines.next_line() => {
                    let line = match line {
                        Ok(Some(line)) => line,
                        Ok(None) => return Ended::Restart("end of output".to_owned()),
                        Err(error) => return Ended::Restart(format!("read error: {error}")),
                    };
                    match self.message(&line).await {
                        Ok(true) => last_reply = tokio::time::Instant::now(),
                        Ok(false) => {}
                        Err(reason) => return Ended::Restart(reason),
                    }
                }
                _ = ping.tick() => {
                    if last_reply.elapsed() >= supervision.kill_after {
                        return Ended::Restart(format!(
                            "no ping reply for {:?}", last_reply.elapsed()
                        ));
                    }
                    if let Err(error) = write(stdin, ping_line.clone()).await {
                        return Ended::Restart(format!("cannot ping: {error}"));
                    }
                }
                alert = forward => {
                    let Some(alert) = alert else { continue };
                    let message = ModuleMessage {
                        class: "alert".to_owned(),
                        parameters: serde_json::json!({ "message": alert }),
                        persistsock: String::new(),
                    };
                    if let Err(error) = write(stdin, gojson::to_string(&message)).await {
                        return Ended::Restart(format!("cannot forward an alert: {error}"));
                    }
                }
            }
        }
    }

    /// Handles one message from the module; `Ok(true)` for a ping reply.
    async fn message(&self, line: &str) -> Result<bool, String> {
        let message: ModuleMessage = gojson::from_str(line)
            .map_err(|error| format!("invalid message from the module: {error}"))?;
        let text = |key: &str| {
            message
                .parameters
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        match message.class.as_str() {
            "ping" => return Ok(true),
            "register" => {
                let socket = text("sockpath");
                tracing::info!(module = %self.module, %socket, "persistent module registered");
                let module = self.module.clone();
                self.registry.update(|state| {
                    state.sockets.insert(module, socket);
                });
            }
            "log" => {
                tracing::info!("[{}] (module log) {}", self.module, text("message"));
            }
            "alert" => {
                let alert = text("message");
                match &self.alerts {
                    Some(alerts) => {
                        if alerts.try_send(alert.clone()).is_err() {
                            tracing::warn!("alert dropped (dispatch channel full): {alert}");
                        }
                    }
                    None => tracing::info!("alert: {alert}"),
                }
            }
            other => return Err(format!("unexpected message class {other:?}")),
        }
        Ok(false)
    }
}

/// The life of `mig-agent -P <module>`: the module side of the protocol, with
/// the query socket in `run_dir`. Returns the exit code.
pub fn child_main(module: &str, run_dir: &std::path::Path) -> i32 {
    mig_modules::persist::persist_main(module, run_dir)
}

/// Writes one message line.
async fn write(stdin: &mut tokio::process::ChildStdin, mut line: String) -> std::io::Result<()> {
    line.push('\n');
    stdin.write_all(line.as_bytes()).await
}
