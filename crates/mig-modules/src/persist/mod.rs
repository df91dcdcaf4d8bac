//! Persistent modules (spec modules.md §2.6): the module side of the
//! protocol, the one-shot query path, and the modules `fswatch`, `dispatch`,
//! `examplepersist` and `audit`.
//!
//! A persistent module runs as `mig-agent -P <module>`. Its stdin and stdout
//! carry line-delimited `ModuleMessage`s: the agent sends one `config`, then
//! a `ping` every few seconds (echoed back verbatim) and, to `dispatch`,
//! `alert`s; the module sends `register` (the socket investigators' queries
//! reach it on), `log` and `alert`. End of stdin ends the module, so it never
//! outlives its agent. [`persist_main`] is that whole life; each module only
//! provides its background work and its query handler ([`Persistent`]).
//!
//! Queries run the ordinary one-shot child (`mig-agent -m <module>`) with the
//! registered socket in `persistsock`; [`query`] connects, sends the
//! parameters and returns the answer.

pub mod audit;
pub mod client;
pub mod dispatch;
pub mod examplepersist;
pub mod fswatch;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use mig_protocol::command::ModuleMessage;
use mig_protocol::gojson;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::result::TypedResult;

/// The names of the persistent modules of this build.
pub const PERSISTENT_MODULES: &[&str] = &["audit", "dispatch", "examplepersist", "fswatch"];

/// The `parameters` of the agent's `config` message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigParameters {
    /// The module's configuration (from `<confdir>/<module>.cfg`).
    pub config: Value,
    /// The agent's host name.
    pub hostname: String,
    /// The agent's environment (`AgentEnv`).
    pub environment: Value,
    /// The agent's tags.
    pub tags: BTreeMap<String, String>,
}

/// The `config` message line the agent writes: `config` is the module's
/// configuration JSON as [`load_config`] returns it (field order kept).
pub fn config_message(
    config: &str,
    hostname: &str,
    environment: &mig_protocol::AgentEnv,
    tags: &BTreeMap<String, String>,
) -> Result<String, String> {
    #[derive(Serialize)]
    struct Parameters<'a> {
        config: &'a serde_json::value::RawValue,
        hostname: &'a str,
        environment: &'a mig_protocol::AgentEnv,
        tags: &'a BTreeMap<String, String>,
    }
    #[derive(Serialize)]
    struct Message<'a> {
        class: &'a str,
        parameters: Parameters<'a>,
    }
    let config = serde_json::value::RawValue::from_string(config.to_owned())
        .map_err(|err| format!("module configuration: {err}"))?;
    Ok(gojson::to_string(&Message {
        class: "config",
        parameters: Parameters {
            config: &config,
            hostname,
            environment,
            tags,
        },
    }))
}

/// A module's way to talk to the agent (thread-safe, cloneable).
#[derive(Debug, Clone)]
pub struct Outbox {
    lines: mpsc::Sender<String>,
}

impl Outbox {
    fn send(&self, class: &str, parameters: Value) {
        let message = ModuleMessage {
            class: class.to_owned(),
            parameters,
            persistsock: String::new(),
        };
        let _ = self.lines.send(gojson::to_string(&message));
    }

    /// A `log` message.
    pub fn log(&self, message: impl Into<String>) {
        self.send("log", json!({ "message": message.into() }));
    }

    /// An `alert` message.
    pub fn alert(&self, message: impl Into<String>) {
        self.send("alert", json!({ "message": message.into() }));
    }

    /// A `register` message with the query socket.
    pub fn register(&self, sockpath: &str) {
        self.send("register", json!({ "sockpath": sockpath }));
    }

    /// An outbox whose lines are received by `receiver` (tests).
    pub fn channel() -> (Self, mpsc::Receiver<String>) {
        let (lines, receiver) = mpsc::channel();
        (Self { lines }, receiver)
    }
}

/// What a persistent module runs with.
pub struct PersistContext {
    /// The configuration message's parameters.
    pub config: ConfigParameters,
    /// Messages to the agent.
    pub outbox: Outbox,
    /// `alert` messages from the agent (only dispatch gets any).
    pub alerts: mpsc::Receiver<String>,
}

/// One persistent module.
pub trait Persistent {
    /// The registry name.
    const NAME: &'static str;

    /// The module's configuration JSON from its `.cfg` file (gcfg), as the
    /// original's config struct marshals it. Errors keep what was parsed.
    fn config_from_gcfg(document: Option<&mig_protocol::gcfg::Document>) -> String;

    /// The background work; returns only on a fatal error.
    fn persist(context: PersistContext) -> Result<(), String>;

    /// Answers one query (the result JSON).
    fn handle(parameters: &Value) -> String;
}

/// The configuration JSON of `module` from `<conf_dir>/<module>.cfg`; a
/// missing or invalid file gives the defaults (as the original).
pub fn load_config(module: &str, conf_dir: &Path) -> String {
    let path = conf_dir.join(format!("{module}.cfg"));
    let text = std::fs::read_to_string(&path).ok();
    let document = text.as_deref().and_then(|text| {
        mig_protocol::gcfg::Document::parse(&path.display().to_string(), text).ok()
    });
    match module {
        "audit" => audit::Audit::config_from_gcfg(document.as_ref()),
        "fswatch" => fswatch::Fswatch::config_from_gcfg(document.as_ref()),
        "dispatch" => dispatch::Dispatch::config_from_gcfg(document.as_ref()),
        "examplepersist" => examplepersist::ExamplePersist::config_from_gcfg(document.as_ref()),
        _ => "null".to_owned(),
    }
}

/// How long a module waits for its last log lines to be written before a
/// fatal exit.
const EXIT_GRACE: Duration = Duration::from_millis(200);

/// The whole life of `mig-agent -P <module>`: returns the exit code.
pub fn persist_main(module: &str, run_dir: &Path) -> i32 {
    match module {
        "audit" => serve::<audit::Audit>(run_dir),
        "fswatch" => serve::<fswatch::Fswatch>(run_dir),
        "dispatch" => serve::<dispatch::Dispatch>(run_dir),
        "examplepersist" => serve::<examplepersist::ExamplePersist>(run_dir),
        _ => {
            eprintln!("persistent module {module:?} is not available");
            1
        }
    }
}

/// The socket path of a module in the run dir.
pub fn socket_path(run_dir: &Path, module: &str) -> PathBuf {
    run_dir.join(format!("persist-{module}.sock"))
}

fn serve<M: Persistent>(run_dir: &Path) -> i32 {
    let (lines, outgoing) = mpsc::channel::<String>();
    let outbox = Outbox { lines };
    // The writer: one line per message on stdout.
    std::thread::spawn(move || {
        let stdout = std::io::stdout();
        for line in outgoing {
            let mut out = stdout.lock();
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                std::process::exit(1);
            }
        }
    });
    // The lock is released at once: the reader thread below takes it.
    let mut first = Vec::new();
    if std::io::stdin()
        .lock()
        .read_until(b'\n', &mut first)
        .unwrap_or(0)
        == 0
    {
        return 0;
    }
    let config = match gojson::from_slice::<ModuleMessage>(&first) {
        Ok(message) if message.class == "config" => {
            gojson::from_value::<ConfigParameters>(&message.parameters).unwrap_or_default()
        }
        _ => {
            outbox.log("expected a config message first");
            std::thread::sleep(EXIT_GRACE);
            return 1;
        }
    };
    // The reader: pings echoed, alerts handed over, end of input ends us.
    let (alert_sender, alerts) = mpsc::channel();
    {
        let outbox = outbox.clone();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let Ok(line) = line else { break };
                let Ok(message) = gojson::from_str::<ModuleMessage>(&line) else {
                    continue;
                };
                match message.class.as_str() {
                    "ping" => {
                        let _ = outbox.lines.send(line);
                    }
                    "alert" => {
                        let text = message
                            .parameters
                            .get("message")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        let _ = alert_sender.send(text);
                    }
                    _ => {}
                }
            }
            std::process::exit(0);
        });
    }
    // The query socket.
    let path = socket_path(run_dir, M::NAME);
    let _ = std::fs::remove_file(&path);
    match std::os::unix::net::UnixListener::bind(&path) {
        Ok(listener) => {
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    std::thread::spawn(move || answer::<M>(stream));
                }
            });
            outbox.register(&format!("unix:{}", path.display()));
        }
        Err(err) => {
            outbox.log(format!(
                "cannot listen on the query socket {}: {err}",
                path.display()
            ));
        }
    }
    let context = PersistContext {
        config,
        outbox: outbox.clone(),
        alerts,
    };
    match M::persist(context) {
        Ok(()) => 0,
        Err(message) => {
            outbox.log(message);
            std::thread::sleep(EXIT_GRACE);
            1
        }
    }
}

fn answer<M: Persistent>(stream: std::os::unix::net::UnixStream) {
    let mut reader = BufReader::new(&stream);
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line).is_err() {
        return;
    }
    let parameters = gojson::from_slice::<ModuleMessage>(&line)
        .map(|message| message.parameters)
        .unwrap_or(Value::Null);
    let mut writer = &stream;
    let _ = writeln!(writer, "{}", M::handle(&parameters));
}

/// Sends a query to a persistent module's socket (`unix:<path>` or
/// `tcp:<host>:<port>`) and returns its answer.
pub fn query(persistsock: &str, parameters: &Value) -> Result<String, String> {
    if persistsock.is_empty() {
        return Err("no persistsock set in message".to_owned());
    }
    let message = ModuleMessage {
        class: "parameters".to_owned(),
        parameters: parameters.clone(),
        persistsock: String::new(),
    };
    let request = format!("{}\n", gojson::to_string(&message));
    let mut answer = String::new();
    let mut exchange = |stream: &mut dyn ReadWrite| -> std::io::Result<()> {
        stream.write_all(request.as_bytes())?;
        stream.read_to_string(&mut answer).map(|_| ())
    };
    let outcome = match persistsock.split_once(':') {
        Some(("unix", path)) => std::os::unix::net::UnixStream::connect(path)
            .and_then(|mut stream| exchange(&mut stream)),
        Some(("tcp", address)) => {
            std::net::TcpStream::connect(address).and_then(|mut stream| exchange(&mut stream))
        }
        _ => {
            return Err(format!("invalid persistsock {persistsock:?}"));
        }
    };
    outcome.map_err(|err| format!("persistent module query on {persistsock}: {err}"))?;
    Ok(answer)
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// The one-shot side of a query: forwards the parameters to the module's
/// socket and decodes the answer; failures are a failed result.
pub fn query_result<E, S>(persistsock: Option<&str>, parameters: &Value) -> TypedResult<E, S>
where
    E: serde::de::DeserializeOwned,
    S: serde::de::DeserializeOwned,
{
    let answer = match query(persistsock.unwrap_or_default(), parameters) {
        Ok(answer) => answer,
        Err(message) => return TypedResult::failure(message),
    };
    gojson::from_str(answer.trim_end()).unwrap_or_else(|err| {
        TypedResult::failure(format!("invalid answer from the persistent module: {err}"))
    })
}

/// `elements` of fswatch and dispatch queries: `{"ok":true}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OkElements {
    /// Whether the module is running.
    pub ok: bool,
}

/// The answer of fswatch and dispatch to any query.
pub fn ok_answer() -> String {
    gojson::to_string(&TypedResult::<OkElements, Value> {
        foundanything: true,
        success: true,
        elements: Some(OkElements { ok: true }),
        statistics: None,
        errors: None,
    })
}

/// The one-shot side of a persistent module whose query only asks whether
/// it runs (`fswatch`, `dispatch`, `audit`): forward the parameters to the
/// module's socket, print `ok:<bool>` and the errors.
macro_rules! ok_query_module {
    ($module:ty, $name:literal) => {
        impl $crate::result::Module for $module {
            const NAME: &'static str = $name;
            type Elements = $crate::persist::OkElements;
            type Statistics = serde_json::Value;

            fn run(
                parameters: &serde_json::Value,
                context: &$crate::result::ModuleContext,
            ) -> $crate::result::TypedResult<Self::Elements, Self::Statistics> {
                $crate::persist::query_result(context.persistsock.as_deref(), parameters)
            }

            fn print(
                result: &$crate::result::TypedResult<Self::Elements, Self::Statistics>,
                found_only: bool,
            ) -> Vec<String> {
                $crate::persist::print_ok(result, found_only)
            }
        }
    };
}
pub(crate) use ok_query_module;

/// The printer of fswatch and dispatch: `ok:<bool>`, then errors.
pub fn print_ok(result: &TypedResult<OkElements, Value>, found_only: bool) -> Vec<String> {
    let ok = result.elements.as_ref().is_some_and(|elements| elements.ok);
    let mut lines = vec![format!("ok:{ok}")];
    if !found_only {
        lines.extend(result.errors.iter().flatten().cloned());
    }
    lines
}

/// A small pseudo-random number below `bound` (delays only; not for secrets).
pub(crate) fn jitter(bound: u64) -> u64 {
    if bound == 0 {
        return 0;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (u64::from(nanos) ^ u64::from(std::process::id()).rotate_left(17)) % bound
}

/// The host name, as the OS reports it.
pub(crate) fn os_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}
