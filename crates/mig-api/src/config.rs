//! `api.cfg` (spec api.md §1.2): the gcfg text is read into a [`RawConfig`] of
//! strings with their locations, then validated into an [`ApiConfig`] of typed
//! values; every error names the file, line, section and key.

use std::time::Duration;

use mig_protocol::gcfg::{Document, GcfgError};
pub use mig_store::PostgresSection;

/// Why the configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The text or one of its values is invalid.
    #[error(transparent)]
    Gcfg(#[from] GcfgError),
}

/// How the client's public IP is found (§1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientPublicIp {
    /// The TCP peer address.
    Peer,
    /// The `X-Forwarded-For` element `count - 1 - n` (0 = the last hop).
    XForwardedFor(usize),
}

/// The validated configuration of the API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    /// When false every investigator route is open as `authdisabled`.
    pub auth_enabled: bool,
    /// Tokens are accepted within this distance of the server clock.
    pub token_duration: Duration,
    /// Signatures a manifest needs to become active.
    pub manifest_required_signatures: u32,
    pub server: ServerSection,
    pub postgres: PostgresSection,
    pub logging: LoggingSection,
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSection {
    pub ip: String,
    pub port: u16,
    /// Scheme and host prefixed to every `href`.
    pub host: String,
    /// Path prefix of every route, such as `/api/v1`.
    pub baseroute: String,
    pub client_public_ip: ClientPublicIp,
}

/// `[logging]` (mode and level are honoured; logs go to stdout).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoggingSection {
    pub mode: String,
    pub level: String,
    pub file: String,
}

impl ApiConfig {
    /// `server.host + server.baseroute`, the prefix of item hrefs.
    pub fn base_url(&self) -> String {
        format!("{}{}", self.server.host, self.server.baseroute)
    }

    /// A configuration for tests and embedding: authentication on, 10 minutes of
    /// token validity, two manifest signatures, no host prefix, base route `/api/v1`.
    pub fn for_tests() -> Self {
        Self {
            auth_enabled: true,
            token_duration: Duration::from_secs(600),
            manifest_required_signatures: 2,
            server: ServerSection {
                ip: "127.0.0.1".to_owned(),
                port: 0,
                host: String::new(),
                baseroute: "/api/v1".to_owned(),
                client_public_ip: ClientPublicIp::Peer,
            },
            postgres: PostgresSection::default(),
            logging: LoggingSection::default(),
        }
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &str) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates configuration text; `file_name` appears in errors.
    pub fn parse(file_name: &str, text: &str) -> Result<Self, ConfigError> {
        let document = Document::parse(file_name, text)?;
        Ok(RawConfig::read(&document)?.validate(&document)?)
    }
}

const KNOWN: &[(&str, &[&str])] = &[
    ("authentication", &["enabled", "tokenduration"]),
    ("manifest", &["requiredsignatures"]),
    (
        "server",
        &["ip", "port", "host", "baseroute", "clientpublicip"],
    ),
    ("postgres", PostgresSection::KEYS),
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
            "facility",
        ],
    ),
];

/// The configuration as written: typed by gcfg, not yet checked for meaning.
#[derive(Debug, Default)]
struct RawConfig {
    auth_enabled: Option<bool>,
    token_duration: Option<String>,
    required_signatures: Option<i64>,
    server: ServerRaw,
    postgres: PostgresSection,
    logging: LoggingSection,
}

#[derive(Debug, Default)]
struct ServerRaw {
    ip: String,
    port: u16,
    host: String,
    baseroute: String,
    clientpublicip: Option<String>,
}

impl RawConfig {
    /// Reads every known key; unknown sections and keys are refused as the original does.
    fn read(document: &Document) -> Result<Self, GcfgError> {
        let mut raw = RawConfig::default();
        for section in document.sections() {
            let known = KNOWN
                .iter()
                .find(|(name, _)| *name == section.name())
                .map(|(_, keys)| *keys);
            let Some(known) = known else {
                let key = section.keys().next().unwrap_or_default().to_owned();
                return Err(section.error(&key, "unknown section"));
            };
            section.reject_unknown(known)?;
            match section.name() {
                "authentication" => {
                    raw.auth_enabled = section.bool("enabled")?;
                    raw.token_duration = section.string("tokenduration")?;
                }
                "manifest" => raw.required_signatures = section.int("requiredsignatures")?,
                "server" => {
                    raw.server.ip = section.string("ip")?.unwrap_or_default();
                    raw.server.port = section.int("port")?.unwrap_or(0);
                    raw.server.host = section.string("host")?.unwrap_or_default();
                    raw.server.baseroute = section.string("baseroute")?.unwrap_or_default();
                    raw.server.clientpublicip = section.string("clientpublicip")?;
                }
                "postgres" => {
                    let defaults = PostgresSection {
                        port: 5432,
                        ..PostgresSection::default()
                    };
                    raw.postgres = PostgresSection::read(Some(section), &defaults)?;
                }
                _ => {
                    raw.logging = LoggingSection {
                        mode: section.string("mode")?.unwrap_or_default(),
                        level: section.string("level")?.unwrap_or_default(),
                        file: section.string("file")?.unwrap_or_default(),
                    }
                }
            }
        }
        Ok(raw)
    }

    /// Checks meanings: the token duration is a Go duration, at least one manifest
    /// signature, and a valid client IP rule.
    fn validate(self, document: &Document) -> Result<ApiConfig, GcfgError> {
        let located = |section: &str, key: &str, message: String| match document.section(section) {
            Some(found) => found.error(key, message),
            None => document.error(section, key, message),
        };
        let token_duration = match self.token_duration.as_deref() {
            None | Some("") => {
                return Err(located(
                    "authentication",
                    "tokenduration",
                    "time: invalid duration \"\"".to_owned(),
                ));
            }
            Some(_) => match document.section("authentication") {
                Some(section) => section.duration("tokenduration")?.unwrap_or_default(),
                None => Duration::ZERO,
            },
        };
        let manifest_required_signatures = match self.required_signatures {
            Some(n) if n >= 1 => u32::try_from(n).unwrap_or(u32::MAX),
            _ => {
                return Err(located(
                    "manifest",
                    "requiredsignatures",
                    "manifest:requiredsignatures must be at least 1 in config file".to_owned(),
                ));
            }
        };
        let client_public_ip = match self.server.clientpublicip.as_deref() {
            None | Some("peer") => ClientPublicIp::Peer,
            Some(rule) => match rule.strip_prefix("x-forwarded-for:") {
                Some(n) => ClientPublicIp::XForwardedFor(n.parse().map_err(|_| {
                    located(
                        "server",
                        "clientpublicip",
                        "x-forwarded-for argument must be positive integer or zero".to_owned(),
                    )
                })?),
                None => {
                    return Err(located(
                        "server",
                        "clientpublicip",
                        "argument must be peer or x-forwarded-for:<int>".to_owned(),
                    ));
                }
            },
        };
        Ok(ApiConfig {
            auth_enabled: self.auth_enabled.unwrap_or(false),
            token_duration,
            manifest_required_signatures,
            server: ServerSection {
                ip: self.server.ip,
                port: self.server.port,
                host: self.server.host,
                baseroute: self.server.baseroute.trim_end_matches('/').to_owned(),
                client_public_ip,
            },
            postgres: self.postgres,
            logging: self.logging,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SAMPLE: &str = "[authentication]\n enabled = on\n tokenduration = 10m\n\
        [manifest]\n requiredsignatures = 2\n\
        [server]\n ip = \"127.0.0.1\"\n port = 12345\n host = \"http://localhost:12345\"\n\
         baseroute = \"/api/v1\"\n clientpublicip = \"x-forwarded-for:1\"\n\
        [postgres]\n host = \"127.0.0.1\"\n port = 5432\n dbname = \"mig\"\n user = \"migapi\"\n\
         password = \"p@ss\"\n sslmode = \"disable\"\n maxconn = 10\n\
        [logging]\n mode = \"stdout\"\n level = \"info\"\n";

    #[test]
    fn sample_is_read() {
        let config = ApiConfig::parse("api.cfg", SAMPLE).unwrap();
        assert!(config.auth_enabled);
        assert_eq!(config.token_duration, Duration::from_secs(600));
        assert_eq!(config.manifest_required_signatures, 2);
        assert_eq!(config.base_url(), "http://localhost:12345/api/v1");
        assert_eq!(
            config.server.client_public_ip,
            ClientPublicIp::XForwardedFor(1)
        );
        assert_eq!(
            config.postgres.url(),
            "postgres://migapi:p%40ss@127.0.0.1:5432/mig?sslmode=disable"
        );
    }

    #[test]
    fn errors_name_file_section_and_key() {
        let cases = [
            (
                SAMPLE.replace("tokenduration = 10m", "tokenduration = 10x"),
                "tokenduration",
            ),
            (
                SAMPLE.replace("tokenduration = 10m", ""),
                "time: invalid duration",
            ),
            (
                SAMPLE.replace("requiredsignatures = 2", "requiredsignatures = 0"),
                "must be at least 1",
            ),
            (
                SAMPLE.replace("x-forwarded-for:1", "x-forwarded-for:-1"),
                "positive integer or zero",
            ),
            (
                SAMPLE.replace("x-forwarded-for:1", "header"),
                "argument must be peer",
            ),
            (SAMPLE.replace("maxconn", "maxconns"), "maxconns"),
        ];
        for (text, expected) in cases {
            let message = ApiConfig::parse("api.cfg", &text).unwrap_err().to_string();
            assert!(message.starts_with("api.cfg"), "{message}");
            assert!(message.contains(expected), "{message} lacks {expected}");
        }
    }
}
