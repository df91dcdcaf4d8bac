//! The agent's configuration (spec protocol.md §8.2).
//!
//! Three layers, each overriding the previous one key by key: the built-in
//! defaults of [`AgentConfig::default`], a configuration baked into the binary
//! at build time (`MIG_AGENT_BUILTIN_CONFIG=/path/to/mig-agent.cfg cargo build`,
//! read by `build.rs`), and the `mig-agent.cfg` file. A key absent from a
//! layer keeps the value of the layer below — the original zeroed every absent
//! key, turning `relay`, `api`, `socket` and the booleans off.
//!
//! Keys beyond the original's, all in `[agent]`: `rundir`, `agentkeys` (a
//! directory of armored public keys), `pubkey` (multi-valued key files),
//! `aclfile`, `heartbeat` (`http`, `amqp` or `both`), `clockskew`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mig_protocol::gcfg::{Document, GcfgError, Section};

/// The default configuration file.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/mig/mig-agent.cfg";

/// The default configuration directory (ACL, keys).
pub const DEFAULT_CONF_DIR: &str = "/etc/mig";

/// The default run directory (agent id, replay guard, `mig-agent.ok`).
pub const DEFAULT_RUN_DIR: &str = "/var/lib/mig";

/// The default stat socket. Not the original's 51664, which the API uses for
/// its own port in many deployments.
pub const DEFAULT_SOCKET: &str = "127.0.0.1:61664";

/// The configuration baked in at build time (empty when none was given).
pub const BUILTIN_CONFIG: &str = include_str!(concat!(env!("OUT_DIR"), "/builtin-mig-agent.cfg"));

/// Errors of the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Gcfg(#[from] GcfgError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// Which heartbeat forms are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatForm {
    /// `POST <api>/heartbeat` (camelCase `Heartbeat`), as current agents do.
    Http,
    /// The legacy `Agent` JSON on `toschedulers`/`mig.agt.heartbeats`.
    Amqp,
    /// Both.
    Both,
}

impl HeartbeatForm {
    /// Whether the HTTP form is sent.
    pub fn http(self) -> bool {
        matches!(self, Self::Http | Self::Both)
    }

    /// Whether the AMQP form is sent.
    pub fn amqp(self) -> bool {
        matches!(self, Self::Amqp | Self::Both)
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Amqp => "amqp",
            Self::Both => "both",
        }
    }
}

/// Where and how much the agent logs (§8.19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggingConfig {
    /// `stdout`, `file` or `syslog`; anything else is stdout.
    pub mode: String,
    /// A syslog level name: `emerg` … `debug`.
    pub level: String,
    /// The log file of the `file` mode.
    pub file: PathBuf,
    /// Rotate the log file to `<file>.1` past this many bytes (0 = never).
    pub max_file_size: u64,
    /// The syslog server of the `syslog` mode; empty: the local `/dev/log`.
    pub host: String,
    /// The syslog server's port (0: 514).
    pub port: u16,
    /// `udp` or `tcp`, towards the syslog server.
    pub protocol: String,
}

/// The agent's effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    /// Tags sent with heartbeats.
    pub tags: BTreeMap<String, String>,
    /// Respawn on failure (kept for compatibility: the relay reconnects by itself).
    pub is_immortal: bool,
    /// Install and start the systemd service when launched by root without `-f`/`-d`.
    pub install_service: bool,
    /// Ask the API for the public IP.
    pub discover_public_ip: bool,
    /// Ask the AWS metadata service (not implemented in this build).
    pub discover_aws_meta: bool,
    /// Run once in check-in mode.
    pub checkin: bool,
    /// Modules filter their results (§8.11).
    pub extra_privacy_mode: bool,
    /// Start the persistent modules in daemon mode (`nopersistmods`, `-n`).
    pub spawn_persistent: bool,
    /// How often the environment is rediscovered (0 = never).
    pub refresh_env: Duration,
    /// Logging.
    pub logging: LoggingConfig,
    /// The relay URL (`amqp://` or `amqps://`).
    pub relay: String,
    /// The API base URL for heartbeats and `/ip`.
    pub api: String,
    /// HTTP CONNECT proxies (`host:port`) tried before `HTTP_PROXY` and a direct connection.
    pub proxies: Vec<String>,
    /// The stat socket's address; empty disables it.
    pub socket: String,
    /// Heartbeat period; also the AMQP heartbeat (×2) and the result TTL (×10).
    pub heartbeat_freq: Duration,
    /// Which heartbeat forms are sent.
    pub heartbeat_form: HeartbeatForm,
    /// Longest run of one module.
    pub module_timeout: Duration,
    /// Check signatures only, not the ACL.
    pub only_verify_pubkey: bool,
    /// Clock-skew allowance on both ends of an action's validity window.
    pub clock_skew: Duration,
    /// How many received actions the stat page lists (0–30).
    pub max_actions: usize,
    /// AMQPS trust anchor.
    pub ca_cert: Option<PathBuf>,
    /// AMQPS client certificate.
    pub agent_cert: Option<PathBuf>,
    /// AMQPS client key.
    pub agent_key: Option<PathBuf>,
    /// The run directory.
    pub run_dir: PathBuf,
    /// The directory of trusted armored public keys.
    pub agent_keys_dir: PathBuf,
    /// Further trusted public key files.
    pub public_key_files: Vec<PathBuf>,
    /// The ACL file.
    pub acl_file: PathBuf,
    /// `[timedrift]`: the NTP servers the timedrift module asks (defaults:
    /// the original's `/etc/ntp.conf` and public pool).
    pub timedrift: mig_modules::timedrift::Config,
    /// Where the configuration came from, for `-S` and the stat page.
    pub source: String,
}

impl Default for AgentConfig {
    fn default() -> Self {
        let conf_dir = Path::new(DEFAULT_CONF_DIR);
        Self {
            tags: BTreeMap::new(),
            is_immortal: true,
            install_service: true,
            discover_public_ip: true,
            discover_aws_meta: true,
            checkin: false,
            extra_privacy_mode: false,
            spawn_persistent: true,
            refresh_env: Duration::from_secs(300),
            logging: LoggingConfig {
                mode: "stdout".to_owned(),
                level: "info".to_owned(),
                file: PathBuf::from("/var/log/mig-agent.log"),
                max_file_size: 0,
                host: String::new(),
                port: 0,
                protocol: "udp".to_owned(),
            },
            relay: "amqp://guest:guest@localhost:5672/".to_owned(),
            api: "http://localhost:1664/api/v1/".to_owned(),
            proxies: Vec::new(),
            socket: DEFAULT_SOCKET.to_owned(),
            heartbeat_freq: Duration::from_secs(300),
            heartbeat_form: HeartbeatForm::Both,
            module_timeout: Duration::from_secs(300),
            only_verify_pubkey: false,
            clock_skew: Duration::from_secs(60),
            max_actions: 15,
            ca_cert: None,
            agent_cert: None,
            agent_key: None,
            run_dir: PathBuf::from(DEFAULT_RUN_DIR),
            agent_keys_dir: conf_dir.join("agentkeys"),
            public_key_files: Vec::new(),
            acl_file: conf_dir.join("acl.cfg"),
            timedrift: mig_modules::timedrift::Config::default(),
            source: "built-in defaults".to_owned(),
        }
    }
}

const AGENT_KEYS: &[&str] = &[
    "tags",
    "isimmortal",
    "installservice",
    "discoverpublicip",
    "discoverawsmeta",
    "checkin",
    "extraprivacymode",
    "nopersistmods",
    "refreshenv",
    "relay",
    "api",
    "proxies",
    "socket",
    "heartbeatfreq",
    "heartbeat",
    "moduletimeout",
    "onlyverifypubkey",
    "clockskew",
    "rundir",
    "agentkeys",
    "pubkey",
    "aclfile",
];

fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

fn set_path(target: &mut Option<PathBuf>, value: Option<String>) {
    if let Some(value) = value.filter(|value| !value.is_empty()) {
        *target = Some(PathBuf::from(value));
    }
}

impl AgentConfig {
    /// The built-in defaults overridden by the configuration baked into the binary.
    pub fn builtin() -> Result<Self, ConfigError> {
        let mut config = Self::default();
        if !BUILTIN_CONFIG.trim().is_empty() {
            config.apply_text("builtin mig-agent.cfg", BUILTIN_CONFIG)?;
            config.source = "built-in configuration".to_owned();
        }
        Ok(config)
    }

    /// The built-in configuration overridden by the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut config = Self::builtin()?;
        config.apply_text(&path.display().to_string(), &text)?;
        config.source = path.display().to_string();
        Ok(config)
    }

    /// Overrides the keys present in gcfg `text`; a key absent keeps its value.
    /// Errors name the file, line, section and key; nothing is changed on error.
    pub fn apply_text(&mut self, file_name: &str, text: &str) -> Result<(), ConfigError> {
        let document = Document::parse(file_name, text)?;
        let mut next = self.clone();
        for section in document.sections() {
            match (section.name(), section.subsection()) {
                ("agent", None) => next.apply_agent(&section)?,
                ("logging", None) => next.apply_logging(&section)?,
                ("stats", None) => next.apply_stats(&section)?,
                ("certs", None) => next.apply_certs(&section)?,
                ("timedrift", None) => next.apply_timedrift(&section)?,
                _ => {
                    return Err(GcfgError::Value {
                        location: mig_protocol::gcfg::Location {
                            file: file_name.to_owned(),
                            line: Some(section.line()),
                            section: Some(section.name().to_owned()),
                            key: None,
                        },
                        message: "unknown section".to_owned(),
                    }
                    .into());
                }
            }
        }
        *self = next;
        Ok(())
    }

    fn apply_agent(&mut self, section: &Section<'_>) -> Result<(), GcfgError> {
        section.reject_unknown(AGENT_KEYS)?;
        // File tags are added to the built-in ones; `name:value`, trimmed.
        for tag in section.get_all("tags") {
            let mut parts = tag.split(':');
            let name = parts.next().unwrap_or_default().trim();
            let value = parts.next().unwrap_or_default().trim();
            if !name.is_empty() {
                self.tags.insert(name.to_owned(), value.to_owned());
            }
        }
        set(&mut self.is_immortal, section.bool("isimmortal")?);
        set(&mut self.install_service, section.bool("installservice")?);
        set(
            &mut self.discover_public_ip,
            section.bool("discoverpublicip")?,
        );
        set(
            &mut self.discover_aws_meta,
            section.bool("discoverawsmeta")?,
        );
        set(&mut self.checkin, section.bool("checkin")?);
        set(
            &mut self.extra_privacy_mode,
            section.bool("extraprivacymode")?,
        );
        if section.bool("nopersistmods")? == Some(true) {
            self.spawn_persistent = false;
        }
        set(&mut self.refresh_env, section.duration("refreshenv")?);
        set(&mut self.relay, section.string("relay")?);
        set(&mut self.api, section.string("api")?);
        if let Some(proxies) = section.string("proxies")?.filter(|value| !value.is_empty()) {
            self.proxies = proxies
                .split(',')
                .map(str::trim)
                .filter(|proxy| !proxy.is_empty())
                .map(str::to_owned)
                .collect();
        }
        set(&mut self.socket, section.string("socket")?);
        if let Some(freq) = section.duration("heartbeatfreq")? {
            if freq.is_zero() {
                return Err(section.error("heartbeatfreq", "must be positive"));
            }
            self.heartbeat_freq = freq;
        }
        if let Some(form) = section.string("heartbeat")? {
            self.heartbeat_form = match form.to_ascii_lowercase().as_str() {
                "http" => HeartbeatForm::Http,
                "amqp" => HeartbeatForm::Amqp,
                "both" => HeartbeatForm::Both,
                _ => {
                    return Err(section.error(
                        "heartbeat",
                        format!("invalid heartbeat form {form:?}: expected http, amqp or both"),
                    ));
                }
            };
        }
        if let Some(timeout) = section.duration("moduletimeout")? {
            if timeout.is_zero() {
                return Err(section.error("moduletimeout", "must be positive"));
            }
            self.module_timeout = timeout;
        }
        set(
            &mut self.only_verify_pubkey,
            section.bool("onlyverifypubkey")?,
        );
        set(&mut self.clock_skew, section.duration("clockskew")?);
        if let Some(dir) = section.string("rundir")?.filter(|dir| !dir.is_empty()) {
            self.run_dir = PathBuf::from(dir);
        }
        if let Some(dir) = section.string("agentkeys")?.filter(|dir| !dir.is_empty()) {
            self.agent_keys_dir = PathBuf::from(dir);
        }
        for file in section.get_all("pubkey") {
            self.public_key_files.push(PathBuf::from(file));
        }
        if let Some(file) = section.string("aclfile")?.filter(|file| !file.is_empty()) {
            self.acl_file = PathBuf::from(file);
        }
        Ok(())
    }

    fn apply_logging(&mut self, section: &Section<'_>) -> Result<(), GcfgError> {
        section.reject_unknown(&[
            "mode",
            "level",
            "file",
            "maxfilesize",
            "host",
            "port",
            "protocol",
        ])?;
        set(&mut self.logging.mode, section.string("mode")?);
        if let Some(level) = section.string("level")? {
            if crate::logging::level_filter(&level).is_none() {
                return Err(section.error("level", format!("unknown level {level:?}")));
            }
            self.logging.level = level;
        }
        if let Some(file) = section.string("file")?.filter(|file| !file.is_empty()) {
            self.logging.file = PathBuf::from(file);
        }
        set(&mut self.logging.max_file_size, section.int("maxfilesize")?);
        set(&mut self.logging.host, section.string("host")?);
        set(&mut self.logging.port, section.int("port")?);
        if let Some(protocol) = section.string("protocol")? {
            let protocol = protocol.to_ascii_lowercase();
            if protocol != "udp" && protocol != "tcp" {
                return Err(section.error(
                    "protocol",
                    format!("unknown syslog protocol {protocol:?}: expected udp or tcp"),
                ));
            }
            self.logging.protocol = protocol;
        }
        Ok(())
    }

    fn apply_stats(&mut self, section: &Section<'_>) -> Result<(), GcfgError> {
        section.reject_unknown(&["maxactions"])?;
        if let Some(max) = section.int::<i64>("maxactions")? {
            let max = usize::try_from(max)
                .ok()
                .filter(|max| *max <= 30)
                .ok_or_else(|| section.error("maxactions", "must be between 0 and 30"))?;
            self.max_actions = max;
        }
        Ok(())
    }

    /// `[timedrift]`: `ntpconf` (the file whose `server` lines are asked
    /// first; empty: none) and `server` (repeatable: the servers asked after
    /// them, replacing the built-in pool; `host`, `host:port` or `ip:port`).
    fn apply_timedrift(&mut self, section: &Section<'_>) -> Result<(), GcfgError> {
        section.reject_unknown(&["ntpconf", "server"])?;
        if let Some(path) = section.string("ntpconf")? {
            self.timedrift.ntp_conf = (!path.is_empty()).then(|| PathBuf::from(path));
        }
        let servers: Vec<String> = section
            .get_all("server")
            .into_iter()
            .map(|server| server.trim().to_owned())
            .filter(|server| !server.is_empty())
            .collect();
        if !servers.is_empty() {
            self.timedrift.fallbacks = servers;
        }
        Ok(())
    }

    fn apply_certs(&mut self, section: &Section<'_>) -> Result<(), GcfgError> {
        section.reject_unknown(&["ca", "cert", "key"])?;
        set_path(&mut self.ca_cert, section.string("ca")?);
        set_path(&mut self.agent_cert, section.string("cert")?);
        set_path(&mut self.agent_key, section.string("key")?);
        Ok(())
    }

    /// The agent id file.
    pub fn agent_id_file(&self) -> PathBuf {
        self.run_dir.join(".migagtid")
    }

    /// The effective configuration as gcfg text (`-S`); it reads back to the
    /// same configuration.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "; source: {}", self.source);
        out.push_str("[agent]\n");
        for (name, value) in &self.tags {
            let _ = writeln!(out, "    tags = \"{name}:{value}\"");
        }
        let duration = |d: Duration| format!("{}ms", d.as_millis());
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        let lines: Vec<(&str, String)> = vec![
            ("isimmortal", self.is_immortal.to_string()),
            ("installservice", self.install_service.to_string()),
            ("discoverpublicip", self.discover_public_ip.to_string()),
            ("discoverawsmeta", self.discover_aws_meta.to_string()),
            ("checkin", self.checkin.to_string()),
            ("extraprivacymode", self.extra_privacy_mode.to_string()),
            ("nopersistmods", (!self.spawn_persistent).to_string()),
            ("refreshenv", duration(self.refresh_env)),
            ("relay", self.relay.clone()),
            ("api", self.api.clone()),
            ("proxies", self.proxies.join(",")),
            ("socket", self.socket.clone()),
            ("heartbeatfreq", duration(self.heartbeat_freq)),
            ("heartbeat", self.heartbeat_form.as_str().to_owned()),
            ("moduletimeout", duration(self.module_timeout)),
            ("onlyverifypubkey", self.only_verify_pubkey.to_string()),
            ("clockskew", duration(self.clock_skew)),
            ("rundir", self.run_dir.display().to_string()),
            ("agentkeys", self.agent_keys_dir.display().to_string()),
            ("aclfile", self.acl_file.display().to_string()),
        ];
        for (key, value) in lines {
            let _ = writeln!(out, "    {key} = \"{}\"", escape(&value));
        }
        for file in &self.public_key_files {
            let _ = writeln!(
                out,
                "    pubkey = \"{}\"",
                escape(&file.display().to_string())
            );
        }
        out.push_str("[logging]\n");
        let _ = writeln!(out, "    mode = \"{}\"", escape(&self.logging.mode));
        let _ = writeln!(out, "    level = \"{}\"", escape(&self.logging.level));
        let _ = writeln!(
            out,
            "    file = \"{}\"",
            escape(&self.logging.file.display().to_string())
        );
        let _ = writeln!(out, "    maxfilesize = {}", self.logging.max_file_size);
        let _ = writeln!(out, "    host = \"{}\"", escape(&self.logging.host));
        let _ = writeln!(out, "    port = {}", self.logging.port);
        let _ = writeln!(out, "    protocol = \"{}\"", escape(&self.logging.protocol));
        out.push_str("[stats]\n");
        let _ = writeln!(out, "    maxactions = {}", self.max_actions);
        out.push_str("[timedrift]\n");
        let ntp_conf = self
            .timedrift
            .ntp_conf
            .as_ref()
            .map(|path| path.display().to_string());
        let _ = writeln!(
            out,
            "    ntpconf = \"{}\"",
            escape(ntp_conf.as_deref().unwrap_or_default())
        );
        for server in &self.timedrift.fallbacks {
            let _ = writeln!(out, "    server = \"{}\"", escape(server));
        }
        out.push_str("[certs]\n");
        for (key, value) in [
            ("ca", path(&self.ca_cert)),
            ("cert", path(&self.agent_cert)),
            ("key", path(&self.agent_key)),
        ] {
            if let Some(value) = value {
                let _ = writeln!(out, "    {key} = \"{}\"", escape(&value));
            }
        }
        out
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn absent_keys_keep_their_defaults() {
        // Regression: the original zeroed every key absent from the file.
        let mut config = AgentConfig::default();
        config
            .apply_text(
                "mig-agent.cfg",
                "[agent]\nheartbeatfreq = \"30s\"\nmoduletimeout = \"10s\"\n",
            )
            .unwrap();
        let defaults = AgentConfig::default();
        assert_eq!(config.heartbeat_freq, Duration::from_secs(30));
        assert_eq!(config.module_timeout, Duration::from_secs(10));
        assert_eq!(config.relay, defaults.relay);
        assert_eq!(config.api, defaults.api);
        assert_eq!(config.socket, DEFAULT_SOCKET);
        assert!(config.is_immortal && config.install_service && config.discover_public_ip);
        assert_eq!(config.max_actions, 15);
        assert_eq!(config.logging.level, "info");
    }

    #[test]
    fn keys_override_and_tags_add() {
        let mut config = AgentConfig::default();
        config.tags.insert("builtin".into(), "yes".into());
        config
            .apply_text(
                "mig-agent.cfg",
                "[agent]\ntags = \"operator: opsec\"\ntags = \"a:b:c\"\nrelay = \"amqp://x/\"\n\
                 installservice = off\nproxies = \"p1:3128, p2:8080\"\nheartbeat = amqp\n\
                 [stats]\nmaxactions = 3\n[logging]\nlevel = debug\n",
            )
            .unwrap();
        assert_eq!(config.tags["builtin"], "yes");
        assert_eq!(config.tags["operator"], "opsec");
        assert_eq!(config.tags["a"], "b");
        assert_eq!(config.relay, "amqp://x/");
        assert!(!config.install_service);
        assert_eq!(config.proxies, vec!["p1:3128", "p2:8080"]);
        assert_eq!(config.heartbeat_form, HeartbeatForm::Amqp);
        assert_eq!(config.max_actions, 3);
        assert_eq!(config.logging.level, "debug");
    }

    #[test]
    fn errors_name_file_line_section_key() {
        let mut config = AgentConfig::default();
        let error = config
            .apply_text("mig-agent.cfg", "[agent]\n\nheartbeatfreq = \"5x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("mig-agent.cfg:3: [agent] heartbeatfreq: invalid duration"),
            "{error}"
        );
        let error = config
            .apply_text("mig-agent.cfg", "[stats]\nmaxactions = 31\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "mig-agent.cfg:2: [stats] maxactions: must be between 0 and 30"
        );
        let error = config
            .apply_text("mig-agent.cfg", "[agent]\nbogus = 1\n")
            .unwrap_err()
            .to_string();
        assert_eq!(error, "mig-agent.cfg:2: [agent] bogus: unknown variable");
        // Nothing was applied from the refused files.
        assert_eq!(config, AgentConfig::default());
    }

    #[test]
    fn syslog_keys() {
        let mut config = AgentConfig::default();
        assert_eq!(config.logging.protocol, "udp");
        config
            .apply_text(
                "mig-agent.cfg",
                "[logging]\nmode = \"syslog\"\nhost = \"logs.example.net\"\nport = 1514\n\
                 protocol = \"TCP\"\n",
            )
            .unwrap();
        assert_eq!(config.logging.mode, "syslog");
        assert_eq!(config.logging.host, "logs.example.net");
        assert_eq!(config.logging.port, 1514);
        assert_eq!(config.logging.protocol, "tcp");
        let error = config
            .apply_text("mig-agent.cfg", "[logging]\nprotocol = \"sctp\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("mig-agent.cfg:2: [logging] protocol: unknown syslog protocol"),
            "{error}"
        );
        let error = config
            .apply_text("mig-agent.cfg", "[logging]\nport = 70000\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("[logging] port"), "{error}");
    }

    #[test]
    fn render_reads_back() {
        let mut config = AgentConfig::default();
        config.tags.insert("operator".into(), "it's us".into());
        config.ca_cert = Some(PathBuf::from("/etc/mig/ca.pem"));
        config.public_key_files.push(PathBuf::from("/k.asc"));
        config.logging.mode = "syslog".into();
        config.logging.host = "logs.example.net".into();
        config.logging.port = 1514;
        config.logging.protocol = "tcp".into();
        config.timedrift.ntp_conf = None;
        config.timedrift.fallbacks = vec!["ntp1.example.net".into(), "10.0.0.1:1123".into()];
        let mut again = AgentConfig::default();
        again.apply_text("rendered", &config.render()).unwrap();
        again.source = config.source.clone();
        assert_eq!(again, config);
    }

    #[test]
    fn timedrift_servers() {
        let mut config = AgentConfig::default();
        assert_eq!(
            config.timedrift.ntp_conf.as_deref(),
            Some(Path::new("/etc/ntp.conf"))
        );
        assert_eq!(config.timedrift.fallbacks[0], "time.nist.gov");
        config
            .apply_text(
                "mig-agent.cfg",
                "[timedrift]\nntpconf = \"/etc/chrony/chrony.conf\"\n",
            )
            .unwrap();
        assert_eq!(
            config.timedrift.ntp_conf.as_deref(),
            Some(Path::new("/etc/chrony/chrony.conf"))
        );
        assert_eq!(config.timedrift.fallbacks.len(), 5, "the pool is kept");
        config
            .apply_text(
                "mig-agent.cfg",
                "[timedrift]\nntpconf = \"\"\nserver = ntp1.corp\nserver = \"127.0.0.1:12300\"\n",
            )
            .unwrap();
        assert_eq!(config.timedrift.ntp_conf, None);
        assert_eq!(
            config.timedrift.fallbacks,
            vec!["ntp1.corp", "127.0.0.1:12300"]
        );
        let error = config
            .apply_text("mig-agent.cfg", "[timedrift]\nservers = x\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "mig-agent.cfg:2: [timedrift] servers: unknown variable"
        );
    }
}
