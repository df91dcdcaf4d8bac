//! Agents and heartbeats (spec protocol.md §2.6–2.8).
//!
//! [`Agent`] is the database row shape, the `agent` field of a command and the
//! legacy AMQP heartbeat. [`Heartbeat`] is the camelCase document current agents
//! POST to the API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gojson;
use crate::gotime::GoTime;
use crate::id::Id;
use crate::status::AgentStatus;

/// One agent process.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Agent {
    #[serde(skip_serializing_if = "Id::is_zero")]
    pub id: Id,
    /// Host name.
    pub name: String,
    /// `<os>.<agent uid>`; the agent's queue is `mig.agt.<queueloc>`.
    pub queueloc: String,
    /// `daemon` or `checkin`.
    pub mode: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub pid: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub loadername: String,
    pub starttime: GoTime,
    pub destructiontime: GoTime,
    /// Last heartbeat (DB column `heartbeattime`).
    pub heartbeatts: GoTime,
    /// Last environment change (DB column `refreshtime`).
    pub refreshts: GoTime,
    #[serde(skip_serializing_if = "AgentStatus::is_empty")]
    pub status: AgentStatus,
    /// Never persisted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub authorized: bool,
    pub environment: AgentEnv,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn is_zero_i64(value: &i64) -> bool {
    *value == 0
}

/// What an agent knows of its host; also the JSON of `agents.environment`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentEnv {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub init: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ident: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub os: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub arch: String,
    pub isproxied: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub proxy: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub publicip: String,
    pub aws: AgentEnvAws,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
}

/// EC2 metadata of an agent's host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentEnvAws {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instanceid: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub localipv4: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub amiid: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instancetype: String,
}

/// The heartbeat current agents POST to `{api}/heartbeat` (camelCase keys).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Heartbeat {
    pub name: String,
    pub mode: String,
    pub version: String,
    pub pid: u64,
    #[serde(rename = "queueLoc")]
    pub queue_loc: String,
    /// Set to the send time at every heartbeat [QUIRK].
    #[serde(rename = "startTime")]
    pub start_time: GoTime,
    #[serde(rename = "refreshTime")]
    pub refresh_time: GoTime,
    pub environment: HeartbeatEnv,
    /// Never null on the wire.
    pub tags: Vec<HeartbeatTag>,
}

/// The heartbeat's environment: every field always present, no AWS data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeartbeatEnv {
    pub init: String,
    pub ident: String,
    pub os: String,
    pub arch: String,
    #[serde(rename = "isProxied")]
    pub is_proxied: bool,
    pub proxy: String,
    pub addresses: Option<Vec<String>>,
    #[serde(rename = "publicIP")]
    pub public_ip: String,
    pub modules: Option<Vec<String>>,
}

/// A heartbeat tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeartbeatTag {
    pub name: String,
    pub value: String,
}

impl Heartbeat {
    /// Decodes a heartbeat with Go's leniency.
    pub fn from_json(bytes: &[u8]) -> Result<Self, gojson::DecodeError> {
        gojson::from_slice(bytes)
    }

    /// The agent row this heartbeat describes, as the API builds it (§2.7):
    /// tags become a map (later duplicates win).
    pub fn to_agent(&self) -> Agent {
        Agent {
            name: self.name.clone(),
            queueloc: self.queue_loc.clone(),
            mode: self.mode.clone(),
            version: self.version.clone(),
            pid: i64::try_from(self.pid).unwrap_or(i64::MAX),
            starttime: self.start_time,
            heartbeatts: self.start_time,
            refreshts: self.refresh_time,
            environment: AgentEnv {
                init: self.environment.init.clone(),
                ident: self.environment.ident.clone(),
                os: self.environment.os.clone(),
                arch: self.environment.arch.clone(),
                isproxied: self.environment.is_proxied,
                proxy: self.environment.proxy.clone(),
                addresses: self.environment.addresses.clone().unwrap_or_default(),
                publicip: self.environment.public_ip.clone(),
                aws: AgentEnvAws::default(),
                modules: self.environment.modules.clone().unwrap_or_default(),
            },
            tags: self
                .tags
                .iter()
                .map(|tag| (tag.name.clone(), tag.value.clone()))
                .collect(),
            ..Agent::default()
        }
    }
}

impl Agent {
    /// Decodes an agent (or legacy AMQP heartbeat) with Go's leniency.
    pub fn from_json(bytes: &[u8]) -> Result<Self, gojson::DecodeError> {
        gojson::from_slice(bytes)
    }

    /// The heartbeat document an agent with this identity sends.
    pub fn to_heartbeat(&self) -> Heartbeat {
        Heartbeat {
            name: self.name.clone(),
            mode: self.mode.clone(),
            version: self.version.clone(),
            pid: u64::try_from(self.pid).unwrap_or_default(),
            queue_loc: self.queueloc.clone(),
            start_time: self.heartbeatts,
            refresh_time: self.refreshts,
            environment: HeartbeatEnv {
                init: self.environment.init.clone(),
                ident: self.environment.ident.clone(),
                os: self.environment.os.clone(),
                arch: self.environment.arch.clone(),
                is_proxied: self.environment.isproxied,
                proxy: self.environment.proxy.clone(),
                addresses: (!self.environment.addresses.is_empty())
                    .then(|| self.environment.addresses.clone()),
                public_ip: self.environment.publicip.clone(),
                modules: (!self.environment.modules.is_empty())
                    .then(|| self.environment.modules.clone()),
            },
            tags: self
                .tags
                .iter()
                .map(|(name, value)| HeartbeatTag {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
        }
    }
}

/// The API's answer to `POST /heartbeat`: `{"error":null}` or `{"error":"…"}`
/// (followed by a newline on the wire).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatAnswer {
    pub error: Option<String>,
}

/// Fleet counters written periodically by the scheduler (`agents_stats`, dashboard).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentsStats {
    pub timestamp: GoTime,
    pub onlineagents: f64,
    pub onlineagentsbyversion: Option<Vec<AgentsVersionsSum>>,
    pub onlineendpoints: f64,
    pub idleagents: f64,
    pub idleagentsbyversion: Option<Vec<AgentsVersionsSum>>,
    pub idleendpoints: f64,
    pub newendpoints: f64,
    pub multiagentsendpoints: f64,
    pub disappearedendpoints: f64,
    pub flappingendpoints: f64,
}

/// Agents of one version.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentsVersionsSum {
    pub version: String,
    pub count: f64,
}
