//! `scheduler.cfg` (spec protocol.md §7.1), read with the gcfg dialect and
//! validated into typed values; errors name the file, line, section and key.
//!
//! The original had almost no defaults (an absent duration panicked at start);
//! here every key has the sample value of the original's `scheduler.cfg.inc` as
//! its default, except the relay and database credentials.

use std::path::PathBuf;
use std::time::Duration;

use mig_protocol::gcfg::{Document, GcfgError, Section};
pub use mig_store::PostgresSection;

/// The validated configuration of a scheduler.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerConfig {
    pub agent: AgentSection,
    /// Period of the collector sweep (expiry, stale actions, safety-net claims).
    pub collector_freq: Duration,
    /// mig-rs: how long a claimed action or a taken outbox entry belongs to one
    /// scheduler before another may take it over (`[collector] lease`, default 60s).
    pub lease: Duration,
    pub periodic: PeriodicSection,
    pub postgres: PostgresSection,
    pub mq: MqSection,
    pub logging: LoggingSection,
}

/// `[agent]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSection {
    /// Idle → offline threshold; maximum age of a legacy AMQP heartbeat.
    pub timeout: Duration,
    /// The agents' heartbeat period: online → idle after 5×.
    pub heartbeat_freq: Duration,
    /// Queueloc whitelist file for legacy AMQP heartbeats; `None` = everyone.
    pub whitelist: Option<PathBuf>,
    pub detect_multi_agents: bool,
    pub kill_dup_agents: bool,
    pub log_actions: bool,
}

/// `[periodic]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodicSection {
    pub freq: Duration,
    /// Kept for compatibility: mig-rs has no spool to clean.
    pub delete_after: Duration,
    pub queues_cleanup_freq: Duration,
}

/// `[mq]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqSection {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub pass: String,
    pub vhost: String,
    pub use_tls: bool,
    pub ca_cert: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// AMQP heartbeat and dial timeout.
    pub timeout: Duration,
}

impl MqSection {
    /// The relay URL `amqp[s]://user:pass@host:port/vhost`.
    pub fn url(&self) -> String {
        let scheme = if self.use_tls { "amqps" } else { "amqp" };
        format!(
            "{scheme}://{}:{}@{}:{}/{}",
            percent_encode(&self.user),
            percent_encode(&self.pass),
            self.host,
            self.port,
            percent_encode(&self.vhost)
        )
    }
}

/// `[logging]` (only `mode` and `level` are honoured; logs go to stdout or a file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggingSection {
    pub mode: String,
    pub level: String,
    pub file: Option<PathBuf>,
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

const KNOWN: &[(&str, &[&str])] = &[
    (
        "agent",
        &[
            "timeout",
            "heartbeatfreq",
            "whitelist",
            "detectmultiagents",
            "killdupagents",
            "logactions",
        ],
    ),
    ("collector", &["freq", "lease"]),
    ("periodic", &["freq", "deleteafter", "queuescleanupfreq"]),
    ("directories", &["spool", "tmp"]),
    (
        "postgres",
        &[
            "host", "port", "dbname", "user", "password", "sslmode", "maxconn",
        ],
    ),
    (
        "mq",
        &[
            "host", "port", "user", "pass", "vhost", "usetls", "cacert", "tlscert", "tlskey",
            "timeout",
        ],
    ),
    (
        "logging",
        &[
            "mode",
            "level",
            "file",
            "maxfilesize",
            "host",
            "port",
            "protocol",
        ],
    ),
    ("debug", &["heartbeats"]),
];

fn duration(
    section: Option<Section<'_>>,
    key: &str,
    default: Duration,
) -> Result<Duration, GcfgError> {
    let Some(section) = section else {
        return Ok(default);
    };
    let value = section.duration(key)?.unwrap_or(default);
    if value.is_zero() {
        return Err(section.error(key, "must be longer than zero"));
    }
    Ok(value)
}

fn string(section: Option<Section<'_>>, key: &str, default: &str) -> Result<String, GcfgError> {
    Ok(match section {
        Some(section) => section
            .string(key)?
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_owned()),
        None => default.to_owned(),
    })
}

fn path(section: Option<Section<'_>>, key: &str) -> Result<Option<PathBuf>, GcfgError> {
    Ok(match section {
        Some(section) => section
            .string(key)?
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        None => None,
    })
}

fn boolean(section: Option<Section<'_>>, key: &str, default: bool) -> Result<bool, GcfgError> {
    Ok(match section {
        Some(section) => section.bool(key)?.unwrap_or(default),
        None => default,
    })
}

fn number<T: TryFrom<i128>>(
    section: Option<Section<'_>>,
    key: &str,
    default: T,
) -> Result<T, GcfgError> {
    Ok(match section {
        Some(section) => section.int(key)?.unwrap_or(default),
        None => default,
    })
}

impl SchedulerConfig {
    /// Reads and validates a `scheduler.cfg`.
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::parse(&path.display().to_string(), &text)?)
    }

    /// Parses and validates configuration text; `file_name` appears in errors.
    pub fn parse(file_name: &str, text: &str) -> Result<Self, GcfgError> {
        let document = Document::parse(file_name, text)?;
        for section in document.sections() {
            match KNOWN
                .iter()
                .find(|(name, _)| section.name().eq_ignore_ascii_case(name))
            {
                Some((_, keys)) => section.reject_unknown(keys)?,
                None => {
                    return Err(section.error("", format!("unknown section {:?}", section.name())));
                }
            }
        }
        let agent = document.section("agent");
        let collector = document.section("collector");
        let periodic = document.section("periodic");
        let postgres = document.section("postgres");
        let mq = document.section("mq");
        let logging = document.section("logging");
        let use_tls = boolean(mq, "usetls", false)?;
        let config = SchedulerConfig {
            agent: AgentSection {
                timeout: duration(agent, "timeout", Duration::from_secs(20 * 60))?,
                heartbeat_freq: duration(agent, "heartbeatfreq", Duration::from_secs(5 * 60))?,
                whitelist: path(agent, "whitelist")?,
                detect_multi_agents: boolean(agent, "detectmultiagents", true)?,
                kill_dup_agents: boolean(agent, "killdupagents", false)?,
                log_actions: boolean(agent, "logactions", false)?,
            },
            collector_freq: duration(collector, "freq", Duration::from_secs(1))?,
            lease: duration(collector, "lease", Duration::from_secs(60))?,
            periodic: PeriodicSection {
                freq: duration(periodic, "freq", Duration::from_secs(87))?,
                delete_after: duration(periodic, "deleteafter", Duration::from_secs(72 * 3600))?,
                queues_cleanup_freq: duration(
                    periodic,
                    "queuescleanupfreq",
                    Duration::from_secs(24 * 3600),
                )?,
            },
            postgres: PostgresSection::read(
                postgres,
                &PostgresSection {
                    host: "127.0.0.1".into(),
                    port: 5432,
                    dbname: "mig".into(),
                    user: "migscheduler".into(),
                    password: String::new(),
                    sslmode: "disable".into(),
                    max_conn: 10,
                },
            )?,
            mq: MqSection {
                host: string(mq, "host", "127.0.0.1")?,
                port: number(mq, "port", if use_tls { 5671u16 } else { 5672u16 })?,
                user: string(mq, "user", "guest")?,
                pass: string(mq, "pass", "guest")?,
                vhost: string(mq, "vhost", mig_protocol::relay::DEFAULT_VHOST)?,
                use_tls,
                ca_cert: path(mq, "cacert")?,
                tls_cert: path(mq, "tlscert")?,
                tls_key: path(mq, "tlskey")?,
                timeout: duration(mq, "timeout", Duration::from_secs(600))?,
            },
            logging: LoggingSection {
                mode: string(logging, "mode", "stdout")?,
                level: string(logging, "level", "info")?,
                file: path(logging, "file")?,
            },
        };
        if config.mq.use_tls {
            for (key, value) in [
                ("cacert", &config.mq.ca_cert),
                ("tlscert", &config.mq.tls_cert),
                ("tlskey", &config.mq.tls_key),
            ] {
                if value.is_none() {
                    let err = match mq {
                        Some(section) => section.error(key, "required when usetls is on"),
                        None => document.error("mq", key, "required when usetls is on"),
                    };
                    return Err(err);
                }
            }
        }
        if config.postgres.max_conn == 0 {
            let err = match postgres {
                Some(section) => section.error("maxconn", "must be at least 1"),
                None => document.error("postgres", "maxconn", "must be at least 1"),
            };
            return Err(err);
        }
        Ok(config)
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] GcfgError),
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[agent]
    timeout = "20m"
    heartbeatfreq = "5m"
    whitelist = ""
    detectmultiagents = true
    killdupagents = false
[collector]
    freq = "1s"
[periodic]
    freq = "87s"
    deleteafter = "72h"
    queuescleanupfreq = "24h"
[directories]
    spool = "/var/cache/mig/"
    tmp = "/var/tmp/"
[postgres]
    host = "127.0.0.1"
    port = 5432
    dbname = "mig"
    user = "migscheduler"
    password = "p@ss word"
    sslmode = "disable"
    maxconn = 10
[mq]
    host = "relay.example.net"
    port = 5671
    user = "scheduler"
    pass = "secret"
    vhost = "mig"
    usetls = true
    cacert = "/etc/mig/ca.crt"
    tlscert = "/etc/mig/scheduler.crt"
    tlskey = "/etc/mig/scheduler.key"
    timeout = "600s"
[logging]
    mode = "stdout"
    level = "debug"
"#;

    #[test]
    fn parses_the_sample() {
        let config = SchedulerConfig::parse("scheduler.cfg", SAMPLE).unwrap();
        assert_eq!(config.agent.heartbeat_freq, Duration::from_secs(300));
        assert_eq!(config.periodic.freq, Duration::from_secs(87));
        assert_eq!(
            config.postgres.url(),
            "postgres://migscheduler:p%40ss%20word@127.0.0.1:5432/mig?sslmode=disable"
        );
        assert_eq!(
            config.mq.url(),
            "amqps://scheduler:secret@relay.example.net:5671/mig"
        );
        assert!(config.agent.whitelist.is_none());
    }

    #[test]
    fn defaults_when_absent() {
        let config = SchedulerConfig::parse("scheduler.cfg", "[mq]\nhost = 127.0.0.1\n").unwrap();
        assert_eq!(config.agent.timeout, Duration::from_secs(1200));
        assert_eq!(config.collector_freq, Duration::from_secs(1));
        assert_eq!(config.mq.url(), "amqp://guest:guest@127.0.0.1:5672/mig");
    }

    #[test]
    fn errors_name_file_line_section_key() {
        let err = SchedulerConfig::parse("scheduler.cfg", "[agent]\nheartbeatfreq = \"5x\"\n")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("scheduler.cfg:2: [agent] heartbeatfreq:"),
            "{err}"
        );
        let err = SchedulerConfig::parse("scheduler.cfg", "[mq]\nusetls = on\ncacert = /ca\n")
            .unwrap_err();
        assert!(err.to_string().contains("tlscert"), "{err}");
        let err = SchedulerConfig::parse("scheduler.cfg", "[agent]\nbogus = 1\n").unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
        let err = SchedulerConfig::parse("scheduler.cfg", "[collector]\nfreq = 0s\n").unwrap_err();
        assert!(err.to_string().contains("freq"), "{err}");
    }
}
