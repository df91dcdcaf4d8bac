//! `audit`: owns the kernel audit channel, loads rules, and turns every
//! audit event into an alert (spec modules.md §5.3). Linux only.
//!
//! Start-up (each failure is fatal, its text prefixed by the step): open
//! `NETLINK_AUDIT`, enable auditing and check it, set the rate and backlog
//! limits, register this process as the audit daemon, delete every rule,
//! read the rules file and load its rules (skipped watches are logged as
//! `ruleset warning: …`). Then every record the kernel sends is parsed;
//! records of types 1300–1699 wait for their EOE and are merged into it
//! (the event keeps `"Type":"EOE"`), others are alerted at once.
//!
//! The agent starts this module only when `<confdir>/audit.cfg` exists
//! (deviation: the original started every compiled-in persistent module;
//! this one takes the audit channel over from auditd and deletes the
//! host's rules, so it is opt-in).

pub mod events;
#[cfg(target_os = "linux")]
pub mod netlink;
pub mod rules;
#[allow(clippy::all, missing_docs)]
pub mod tables;
#[cfg(target_os = "linux")]
pub mod testing;
#[cfg(test)]
mod tests;

use mig_protocol::gojson;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{PersistContext, Persistent, ok_answer};

/// Default `ratelimit` (messages per second).
pub const DEFAULT_RATE_LIMIT: u32 = 500;
/// Default `backloglimit`.
pub const DEFAULT_BACKLOG_LIMIT: u32 = 16384;

/// The `[audit]` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The rules file (libaudit-go JSON).
    pub rulespath: String,
    /// Messages per second (0: 500).
    pub ratelimit: i64,
    /// Kernel backlog (0: 16384).
    pub backloglimit: i64,
    /// Keep the record texts in the events' `Raw`.
    pub includeraw: bool,
}

/// The configuration JSON: `{"audit":{…}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The settings.
    pub audit: Settings,
}

/// The module.
pub struct Audit;

/// Go's `runtime.GOOS` name of this OS.
pub fn go_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

impl Persistent for Audit {
    const NAME: &'static str = "audit";

    fn config_from_gcfg(document: Option<&mig_protocol::gcfg::Document>) -> String {
        let mut settings = Settings::default();
        if let Some(section) = document.and_then(|document| document.section("audit")) {
            settings.rulespath = section
                .string("rulespath")
                .ok()
                .flatten()
                .unwrap_or_default();
            settings.ratelimit = section.int("ratelimit").ok().flatten().unwrap_or(0);
            settings.backloglimit = section.int("backloglimit").ok().flatten().unwrap_or(0);
            settings.includeraw = section.bool("includeraw").ok().flatten().unwrap_or(false);
        }
        gojson::to_string(&Config { audit: settings })
    }

    fn persist(context: PersistContext) -> Result<(), String> {
        let settings = gojson::from_value::<Config>(&context.config.config)
            .map_err(|err| format!("audit configuration: {err}"))?
            .audit;
        context.outbox.log("module received configuration");
        run(&settings, &context.outbox)
    }

    fn handle(_parameters: &Value) -> String {
        ok_answer()
    }
}

#[cfg(not(target_os = "linux"))]
fn run(_settings: &Settings, _outbox: &super::Outbox) -> Result<(), String> {
    Err(format!("audit module not supported on {}", go_os()))
}

#[cfg(target_os = "linux")]
fn run(settings: &Settings, outbox: &super::Outbox) -> Result<(), String> {
    let mut session = Session::start(settings, outbox)?;
    session.run(outbox, &std::sync::atomic::AtomicBool::new(false))
}

/// The kernel side of a running module (Linux).
#[cfg(target_os = "linux")]
pub struct Session {
    socket: netlink::AuditSocket,
    include_raw: bool,
    assembler: events::Assembler,
}

#[cfg(target_os = "linux")]
impl Session {
    /// The start-up sequence of §5.3; milestones and warnings go to `outbox`.
    pub fn start(settings: &Settings, outbox: &super::Outbox) -> Result<Self, String> {
        let mut socket =
            netlink::AuditSocket::open().map_err(|err| format!("NewNetlinkConnection: {err}"))?;
        socket
            .set_enabled(1)
            .map_err(|err| format!("AuditSetEnabled: {err}"))?;
        let status = socket
            .status()
            .map_err(|err| format!("AuditIsEnabled: {err}"))?;
        if status.enabled == 0 {
            return Err("was not possible to enable audit".to_owned());
        }
        outbox.log("auditing enabled");
        let limit = |value: i64, default: u32| {
            if value == 0 {
                default
            } else {
                u32::try_from(value).unwrap_or(default)
            }
        };
        socket
            .set_rate_limit(limit(settings.ratelimit, DEFAULT_RATE_LIMIT))
            .map_err(|err| format!("AuditSetRateLimit: {err}"))?;
        socket
            .set_backlog_limit(limit(settings.backloglimit, DEFAULT_BACKLOG_LIMIT))
            .map_err(|err| format!("AuditSetBacklogLimit: {err}"))?;
        socket
            .set_pid(std::process::id())
            .map_err(|err| format!("AuditSetPID: {err}"))?;
        socket
            .delete_all_rules()
            .map_err(|err| format!("DeleteAllRules: {err}"))?;
        let content = std::fs::read(&settings.rulespath)
            .map_err(|err| format!("open {}: {err}", settings.rulespath))?;
        let (rules, warnings) =
            rules::encode_rules(&content).map_err(|err| format!("SetRules: {err}"))?;
        for rule in &rules {
            socket
                .add_rule(&rule.to_bytes())
                .map_err(|err| format!("SetRules: {err}"))?;
        }
        for warning in warnings {
            outbox.log(format!("ruleset warning: {warning}"));
        }
        outbox.log("auditing configured");
        Ok(Self {
            socket,
            include_raw: settings.includeraw,
            assembler: events::Assembler::default(),
        })
    }

    /// Reads events and alerts them until `stop` is set (checked every
    /// 200 ms) or the socket fails.
    pub fn run(
        &mut self,
        outbox: &super::Outbox,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<(), String> {
        outbox.log("listening for audit events");
        self.socket
            .set_receive_timeout(Some(std::time::Duration::from_millis(200)))
            .map_err(|err| format!("audit socket: {err}"))?;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let Some(message) = self
                .socket
                .receive()
                .map_err(|err| format!("audit receive: {err}"))?
            else {
                continue;
            };
            let text = String::from_utf8_lossy(&message.data);
            if let Some(mut event) = self.assembler.push(message.kind, &text) {
                if !self.include_raw {
                    event.raw.clear();
                }
                outbox.alert(gojson::to_string(&event));
            }
        }
        Ok(())
    }

    /// Deletes every rule and gives the audit pid back (tests, shutdown).
    pub fn release(&mut self) -> Result<(), String> {
        self.socket.delete_all_rules()?;
        self.socket.set_pid(0)
    }
}

super::ok_query_module!(Audit, "audit");
