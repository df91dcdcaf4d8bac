//! `timedrift`: the endpoint's local time and, when a drift window is given,
//! its drift from NTP time (spec modules.md §4.4).
//!
//! Servers are the `server` lines of `/etc/ntp.conf` followed by fixed
//! fallbacks; they are queried in order with a one-packet SNTP request until
//! one answers, and only that answer is compared with the local clock. The
//! agent's `[timedrift]` configuration section can replace both (see
//! [`Config`]); its defaults are the original's.
//! Deviation from the original: a missing `/etc/ntp.conf` is still reported in
//! `errors`, but no longer turns a successful check into `success:false`.

pub mod client;
#[cfg(test)]
mod tests;

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Local, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::duration::{format_nanos, go_duration, parse_go_duration};
use crate::result::{Module, ModuleContext, TypedResult};

/// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01.
pub const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The fallback servers queried after those of `/etc/ntp.conf`.
pub const BACKUP_POOL: &[&str] = &[
    "time.nist.gov",
    "0.pool.ntp.org",
    "1.pool.ntp.org",
    "2.pool.ntp.org",
    "3.pool.ntp.org",
];

/// Parameters: `{"drift":"5s"}` (`""` ⇒ no NTP query).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Parameters {
    /// A Go duration string.
    pub drift: String,
}

/// `elements`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Elements {
    /// A server answered and was compared.
    pub hascheckeddrift: bool,
    /// Local time is within the window (true until a comparison says otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub iswithindrift: bool,
    /// One sentence per out-of-window comparison.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drifts: Vec<String>,
    /// The local time (RFC 3339 with nanoseconds, local zone) at start.
    pub localtime: String,
}

/// `statistics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statistics {
    /// Run time as a Go duration string.
    pub exectime: String,
    /// One entry per server queried.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ntpstats: Vec<NtpStat>,
}

/// One server's answer (or its absence).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NtpStat {
    /// The server as listed.
    pub host: String,
    /// Its time, RFC 3339 in the local zone (`0001-01-01T00:00:00Z` when unreachable).
    pub time: String,
    /// Request to answer, as a Go duration string.
    pub latency: String,
    /// Local minus network time, as a Go duration string.
    pub drift: String,
    /// Whether it answered.
    pub reachable: bool,
}

/// The module.
pub struct Timedrift;

/// The timedrift module's result type.
pub type TimedriftResult = TypedResult<Elements, Statistics>;

/// Where servers come from and how they are asked: the agent's
/// `[timedrift]` section (`ntpconf`, `server`), and a test hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The ntp.conf to read `server` lines from (`None`: read none, and
    /// report no error about it).
    pub ntp_conf: Option<PathBuf>,
    /// Servers queried after those of `ntp_conf` (`host`, `host:port` or
    /// `ip:port`).
    pub fallbacks: Vec<String>,
    /// The NTP port (123), used unless a server is written `ip:port`.
    pub port: u16,
    /// The read deadline of one query.
    pub timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ntp_conf: Some(PathBuf::from("/etc/ntp.conf")),
            fallbacks: BACKUP_POOL.iter().map(|host| (*host).to_owned()).collect(),
            port: 123,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Nanoseconds since the Unix epoch.
fn unix_nanos(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

fn datetime<Z: TimeZone>(nanos: i128, zone: &Z) -> Option<DateTime<Z>> {
    let seconds = i64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
    let fraction = nanos.rem_euclid(1_000_000_000) as u32;
    Some(DateTime::from_timestamp(seconds, fraction)?.with_timezone(zone))
}

/// The fraction of a second with trailing zeros trimmed (`.5`, `` when zero).
fn trimmed_fraction(nanos: u32) -> String {
    if nanos == 0 {
        return String::new();
    }
    let digits = format!(".{nanos:09}");
    digits.trim_end_matches('0').to_owned()
}

/// Go's `time.RFC3339Nano` form of a Unix time in the local zone.
pub fn rfc3339_nano_local(nanos: i128) -> String {
    let Some(time) = datetime(nanos, &Local) else {
        return String::new();
    };
    let offset = time.offset().local_minus_utc();
    let zone = if offset == 0 {
        "Z".to_owned()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let minutes = offset.unsigned_abs() / 60;
        format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    };
    format!(
        "{}{}{zone}",
        time.format("%Y-%m-%dT%H:%M:%S"),
        trimmed_fraction(time.timestamp_subsec_nanos())
    )
}

/// Go's `Time.UTC().String()` of an RFC 3339 time (`2019-09-13 23:40:10.5 +0000 UTC`).
pub fn go_time_string_utc(rfc3339: &str) -> String {
    let Ok(time) = DateTime::parse_from_rfc3339(rfc3339) else {
        return "0001-01-01 00:00:00 +0000 UTC".to_owned();
    };
    let time = time.with_timezone(&Utc);
    format!(
        "{}{} +0000 UTC",
        time.format("%Y-%m-%d %H:%M:%S"),
        trimmed_fraction(time.timestamp_subsec_nanos())
    )
}

/// The `server` hosts of an ntp.conf text, in order.
pub fn servers_of(ntp_conf: &str) -> Vec<String> {
    ntp_conf
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            match (fields.next(), fields.next()) {
                (Some("server"), Some(host)) => Some(host.to_owned()),
                _ => None,
            }
        })
        .collect()
}

/// Decodes the transmit timestamp of an SNTP answer into Unix nanoseconds.
pub fn transmit_time(packet: &[u8; 48]) -> Result<i128, String> {
    let seconds = u64::from(u32::from_be_bytes([
        packet[40], packet[41], packet[42], packet[43],
    ]));
    let fraction = u64::from(u32::from_be_bytes([
        packet[44], packet[45], packet[46], packet[47],
    ]));
    if seconds == 0 || fraction == 0 {
        return Err("null response received from NTP host".to_owned());
    }
    let since_1900 =
        i128::from(seconds) * 1_000_000_000 + i128::from((fraction * 1_000_000_000) >> 32);
    Ok(since_1900 - i128::from(NTP_UNIX_OFFSET) * 1_000_000_000)
}

/// Asks one server; returns its time (Unix nanoseconds) and the latency.
fn network_time(host: &str, config: &Config) -> Result<(i128, Duration), String> {
    let address: SocketAddr = match host.parse::<SocketAddr>() {
        Ok(address) => address,
        Err(_) => format!("{host}:{}", config.port)
            .to_socket_addrs()
            .map_err(|err| err.to_string())?
            .next()
            .ok_or_else(|| format!("no address for {host}"))?,
    };
    let mut packet = [0u8; 48];
    packet[0] = (3 << 3) | 3;
    let started = Instant::now();
    let local: SocketAddr = if address.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).map_err(|err| err.to_string())?;
    socket.connect(address).map_err(|err| err.to_string())?;
    socket.send(&packet).map_err(|err| err.to_string())?;
    socket
        .set_read_timeout(Some(config.timeout))
        .map_err(|err| err.to_string())?;
    let mut answer = [0u8; 48];
    loop {
        match socket.recv(&mut answer) {
            Ok(_) => break,
            // A signal is no answer; the deadline restarts, as a bounded retry.
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err.to_string()),
        }
    }
    let latency = started.elapsed();
    Ok((transmit_time(&answer)?, latency))
}

/// Runs the module on decoded parameters; `localtime` was taken at start.
pub fn run_parameters(
    parameters: &Parameters,
    config: &Config,
    started: Instant,
    localtime: String,
) -> TimedriftResult {
    let mut result = TimedriftResult::default();
    let mut elements = Elements {
        localtime,
        ..Elements::default()
    };
    let mut statistics = Statistics::default();
    if parameters.drift.is_empty() {
        result.foundanything = true;
    } else {
        let drift = match parse_go_duration(&parameters.drift) {
            Ok(drift) => drift,
            Err(message) => return TypedResult::failure(message),
        };
        elements.iswithindrift = true;
        let mut servers = Vec::new();
        if let Some(path) = &config.ntp_conf {
            match std::fs::read_to_string(path) {
                Ok(text) => servers = servers_of(&text),
                Err(err) => result.push_error(format!(
                    "Using backup NTP hosts. Failed to read {} with error '{}'",
                    path.display(),
                    go_open_error(path, &err)
                )),
            }
        }
        servers.extend(config.fallbacks.iter().cloned());
        for host in servers {
            let Ok((network, latency)) = network_time(&host, config) else {
                statistics.ntpstats.push(NtpStat {
                    host,
                    time: "0001-01-01T00:00:00Z".to_owned(),
                    ..NtpStat::default()
                });
                continue;
            };
            let local = unix_nanos(SystemTime::now());
            if local < network - drift {
                elements.iswithindrift = false;
                elements.drifts.push(format!(
                    "Local time is behind ntp host {host} by {}",
                    format_nanos(network - local)
                ));
            } else if local > network + drift {
                elements.iswithindrift = false;
                elements.drifts.push(format!(
                    "Local time is ahead of ntp host {host} by {}",
                    format_nanos(local - network)
                ));
            }
            statistics.ntpstats.push(NtpStat {
                host,
                time: rfc3339_nano_local(network),
                latency: go_duration(latency),
                drift: format_nanos(local - network),
                reachable: true,
            });
            elements.hascheckeddrift = true;
            break;
        }
        if !elements.iswithindrift {
            result.foundanything = true;
        }
    }
    statistics.exectime = go_duration(started.elapsed());
    // The original also failed on any soft error (a host without ntp.conf);
    // only a requested but impossible comparison is a failure here.
    result.success = parameters.drift.is_empty() || elements.hascheckeddrift;
    result.elements = Some(elements);
    result.statistics = Some(statistics);
    result
}

/// Go's `open <path>: <reason>` text.
fn go_open_error(path: &std::path::Path, err: &std::io::Error) -> String {
    let reason = match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    };
    format!("open {}: {reason}", path.display())
}

/// The printed lines of a result.
pub fn print(result: &TimedriftResult, found_only: bool) -> Vec<String> {
    let elements = result.elements.clone().unwrap_or_default();
    let mut lines = vec![format!("local time is {}", elements.localtime)];
    if elements.hascheckeddrift {
        if elements.iswithindrift {
            lines.push("local time is within acceptable drift from NTP servers".to_owned());
        } else {
            lines.push("local time is out of sync from NTP servers".to_owned());
            lines.extend(elements.drifts.iter().cloned());
        }
    }
    if found_only {
        return lines;
    }
    for error in result.errors.iter().flatten() {
        lines.push("error:".to_owned());
        lines.push(error.clone());
    }
    let statistics = result.statistics.clone().unwrap_or_default();
    lines.push(format!("stat: execution time was {}", statistics.exectime));
    for stat in &statistics.ntpstats {
        if stat.reachable {
            lines.push(format!(
                "stat: {} responded in {} with time {}. local time drifts by {}",
                stat.host,
                stat.latency,
                go_time_string_utc(&stat.time),
                stat.drift
            ));
        } else {
            lines.push(format!("stat: {} was unreachable", stat.host));
        }
    }
    lines.push(
        if result.success {
            "timedrift module has succeeded"
        } else {
            "timedrift module has failed"
        }
        .to_owned(),
    );
    lines
}

/// Runs the module with an explicit configuration (the test hook).
pub fn run_with(parameters: &serde_json::Value, config: &Config) -> TimedriftResult {
    let localtime = rfc3339_nano_local(unix_nanos(SystemTime::now()));
    let started = Instant::now();
    match mig_protocol::gojson::from_value::<Parameters>(parameters) {
        Ok(parameters) => run_parameters(&parameters, config, started, localtime),
        Err(err) => TypedResult::failure(err.to_string()),
    }
}

impl Module for Timedrift {
    const NAME: &'static str = "timedrift";
    type Elements = Elements;
    type Statistics = Statistics;

    fn run(parameters: &serde_json::Value, context: &ModuleContext) -> TimedriftResult {
        run_with(parameters, &context.timedrift)
    }

    fn print(result: &TimedriftResult, found_only: bool) -> Vec<String> {
        print(result, found_only)
    }
}
