//! `ping`: connectivity test from the endpoint to a destination by ICMP echo,
//! TCP connect or UDP probe (spec modules.md §4.5).
//!
//! Each probe's outcome becomes a latency: the elapsed milliseconds on
//! success, [`TIMEOUT`] on a timeout, [`REFUSED`] when the target refused
//! (TCP reset, ICMP port unreachable for UDP), and `0` with a failure string
//! for any other error. Unlike the original, a refused TCP connect is a
//! result and not a crash (the Go module dereferenced a nil connection).
//! ICMP uses a raw socket when permitted, else an unprivileged ping socket
//! (`net.ipv4.ping_group_range`); when neither is permitted the probe fails
//! with the socket error in `failures`.

pub mod client;
#[cfg(test)]
mod tests;

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::result::{Module, ModuleContext, TypedResult};

/// The latency recorded for a probe that timed out.
pub const TIMEOUT: f64 = 9_999_999.0;
/// The latency recorded for a probe the target refused.
pub const REFUSED: f64 = -1.0;
/// The latency recorded for a probe that failed otherwise.
pub const FAILED: f64 = 0.0;

/// The payload of ICMP and UDP probes.
const PAYLOAD: &[u8] = b"Ping!Ping!Ping!";

/// Parameters: `{"destination":"www.mozilla.org","destinationport":443,"protocol":"tcp","count":3,"timeout":5}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Parameters {
    /// Host name or IP address.
    pub destination: String,
    /// Port for TCP and UDP.
    #[serde(skip_serializing_if = "is_zero")]
    pub destinationport: f64,
    /// `icmp`, `tcp` or `udp`.
    pub protocol: String,
    /// Number of probes (0 ⇒ 3).
    #[serde(skip_serializing_if = "is_zero")]
    pub count: f64,
    /// Timeout of one probe in seconds (0 ⇒ 5).
    #[serde(skip_serializing_if = "is_zero")]
    pub timeout: f64,
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

/// `elements`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Elements {
    /// One latency per probe (see the module documentation).
    pub latencies: Vec<f64>,
    /// The protocol used.
    pub protocol: String,
    /// `destination[:port] (first IP)`.
    pub resolvedhost: String,
    /// `ping #<n> failed with error: <err>` per unexpected error.
    pub failures: Option<Vec<String>>,
}

/// The module.
pub struct Ping;

/// The ping module's result type.
pub type PingResult = TypedResult<Elements, serde_json::Value>;

/// Run-time knobs, replaceable in tests.
#[derive(Debug, Clone)]
pub struct Config {
    /// The pause between two probes (100 ms in the original).
    pub pause: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            pause: Duration::from_millis(100),
        }
    }
}

/// Validates parameters as the original (also used by the client).
pub fn validate(parameters: &Parameters) -> Result<(), String> {
    let protocol = parameters.protocol.as_str();
    if !matches!(protocol, "icmp" | "tcp" | "udp") {
        return Err(format!("{protocol} is not a supported ping protocol"));
    }
    if protocol != "icmp" && !(0.0..=65535.0).contains(&parameters.destinationport) {
        return Err(format!(
            "{protocol} ping requires a valid destination port between 0 and 65535, got {:.0}",
            parameters.destinationport
        ));
    }
    Ok(())
}

/// Resolves the destination: the system resolver, else an IP literal.
fn resolve(destination: &str) -> Result<IpAddr, String> {
    if let Ok(ip) = destination.parse::<IpAddr>() {
        return Ok(ip);
    }
    match (destination, 0).to_socket_addrs() {
        Ok(mut addresses) => addresses
            .next()
            .map(|address| address.ip())
            .ok_or_else(|| "FQDN does not resolve to any known ip".to_owned()),
        Err(_) => Err(format!("destination IP is invalid: {destination}")),
    }
}

/// The outcome of one probe.
#[derive(Debug)]
enum Outcome {
    Success,
    Timeout,
    Refused,
    Failed(String),
}

fn classify(err: &std::io::Error, what: String) -> Outcome {
    match err.kind() {
        ErrorKind::ConnectionRefused => Outcome::Refused,
        ErrorKind::TimedOut | ErrorKind::WouldBlock => Outcome::Timeout,
        _ => Outcome::Failed(format!("{what}: {}", go_error_text(err))),
    }
}

/// An I/O error's text without Rust's ` (os error N)` suffix, lower case as Go's.
fn go_error_text(err: &std::io::Error) -> String {
    let text = err.to_string();
    let text = match text.find(" (os error ") {
        Some(index) => text[..index].to_owned(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

fn probe_tcp(address: SocketAddr, timeout: Duration) -> Outcome {
    match TcpStream::connect_timeout(&address, timeout) {
        Ok(stream) => {
            drop(stream);
            Outcome::Success
        }
        Err(err) => classify(&err, format!("dial tcp {address}")),
    }
}

fn probe_udp(address: SocketAddr, timeout: Duration) -> Outcome {
    let local: SocketAddr = if address.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let attempt = || -> std::io::Result<()> {
        let socket = UdpSocket::bind(local)?;
        socket.connect(address)?;
        socket.send(PAYLOAD)?;
        receive(&socket, Instant::now() + timeout, |_| true)
    };
    match attempt() {
        Ok(()) => Outcome::Success,
        Err(err) => classify(&err, format!("udp {address}")),
    }
}

/// Receives until a packet is accepted or the deadline passes; signals
/// (`EINTR`, e.g. SIGCHLD in a busy agent) do not end the wait.
fn receive(
    socket: &UdpSocket,
    deadline: Instant,
    accept: impl Fn(&[u8]) -> bool,
) -> std::io::Result<()> {
    let mut buffer = [0u8; 1500];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        socket.set_read_timeout(Some(left))?;
        match socket.recv(&mut buffer) {
            Ok(size) if accept(&buffer[..size]) => return Ok(()),
            Ok(_) => {}
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

/// An ICMP echo request (type 8 or 128, code 0) with the checksum set for IPv4
/// (the kernel computes the ICMPv6 one).
fn echo_request(v6: bool) -> Vec<u8> {
    let id = (std::process::id() & 0xffff) as u16;
    let mut packet = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&0u16.to_be_bytes());
    for _ in 0..3 {
        packet.extend_from_slice(PAYLOAD);
    }
    if !v6 {
        let mut sum: u32 = 0;
        for pair in packet.chunks(2) {
            let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
            sum += u32::from(word);
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        let checksum = !(sum as u16);
        packet[2..4].copy_from_slice(&checksum.to_be_bytes());
    }
    packet
}

/// Opens an ICMP socket: raw when permitted, else a ping socket.
fn icmp_socket(v6: bool) -> std::io::Result<(UdpSocket, bool)> {
    use rustix::net::{AddressFamily, SocketType, ipproto, socket};
    let (family, protocol) = if v6 {
        (AddressFamily::INET6, ipproto::ICMPV6)
    } else {
        (AddressFamily::INET, ipproto::ICMP)
    };
    if let Ok(fd) = socket(family, SocketType::RAW, Some(protocol)) {
        return Ok((UdpSocket::from(fd), true));
    }
    let fd = socket(family, SocketType::DGRAM, Some(protocol)).map_err(std::io::Error::from)?;
    Ok((UdpSocket::from(fd), false))
}

/// Whether a received packet is the echo reply to our request. Raw IPv4
/// sockets see the IP header and every ICMP message of the peer (on loopback
/// our own request too), so the type and identifier are checked; ping sockets
/// get replies only, with the identifier rewritten by the kernel. (The
/// original accepted any ICMP message.)
fn is_echo_reply(packet: &[u8], v6: bool, raw: bool) -> bool {
    let icmp = if raw && !v6 {
        let header = usize::from(packet.first().map_or(0, |byte| byte & 0x0f)) * 4;
        packet.get(header..).unwrap_or_default()
    } else {
        packet
    };
    let reply_type = if v6 { 129 } else { 0 };
    if icmp.first() != Some(&reply_type) {
        return false;
    }
    !raw || icmp.get(4..6) == Some(&((std::process::id() & 0xffff) as u16).to_be_bytes()[..])
}

fn probe_icmp(destination: &str, ip: IpAddr, timeout: Duration) -> Outcome {
    // The original chose the network by the destination text, not the address.
    let v6 = destination.contains(':');
    let network = if v6 { "ip6:ipv6-icmp" } else { "ip4:icmp" };
    if v6 != ip.is_ipv6() {
        return Outcome::Failed(format!(
            "dial {network} {destination}: address family mismatch"
        ));
    }
    let attempt = || -> std::io::Result<()> {
        let (socket, raw) = icmp_socket(v6)?;
        socket.connect(SocketAddr::new(ip, 0))?;
        socket.send(&echo_request(v6))?;
        receive(&socket, Instant::now() + timeout, |packet| {
            is_echo_reply(packet, v6, raw)
        })
    };
    match attempt() {
        Ok(()) => Outcome::Success,
        Err(err) => classify(&err, format!("dial {network} {destination}")),
    }
}

/// Runs the module on decoded parameters.
pub fn run_parameters(parameters: &Parameters, config: &Config) -> PingResult {
    if let Err(message) = validate(parameters) {
        return TypedResult::failure(message);
    }
    let ip = match resolve(&parameters.destination) {
        Ok(ip) => ip,
        Err(message) => return TypedResult::failure(message),
    };
    let protocol = parameters.protocol.as_str();
    let count = if parameters.count == 0.0 {
        3
    } else {
        parameters.count.max(0.0) as u64
    };
    let timeout_seconds = if parameters.timeout == 0.0 {
        5
    } else {
        parameters.timeout.max(0.0) as u64
    };
    // A zero timeout (a fraction below one second) would mean "no timeout" to
    // the socket calls; wait at least a millisecond.
    let timeout = Duration::from_secs(timeout_seconds).max(Duration::from_millis(1));
    let port = parameters.destinationport as u16;
    let mut elements = Elements {
        protocol: protocol.to_owned(),
        resolvedhost: if protocol == "icmp" {
            format!("{} ({ip})", parameters.destination)
        } else {
            format!("{}:{port} ({ip})", parameters.destination)
        },
        ..Elements::default()
    };
    let mut found = false;
    for probe in 1..=count {
        let started = Instant::now();
        let outcome = match protocol {
            "tcp" => probe_tcp(SocketAddr::new(ip, port), timeout),
            "udp" => probe_udp(SocketAddr::new(ip, port), timeout),
            _ => probe_icmp(&parameters.destination, ip, timeout),
        };
        let elapsed = started.elapsed().as_nanos() as f64 / 1e6;
        let latency = match outcome {
            Outcome::Success => {
                found = true;
                elapsed
            }
            Outcome::Timeout => {
                found |= protocol == "udp";
                TIMEOUT
            }
            Outcome::Refused => REFUSED,
            Outcome::Failed(error) => {
                elements
                    .failures
                    .get_or_insert_with(Vec::new)
                    .push(format!("ping #{probe} failed with error: {error}"));
                FAILED
            }
        };
        elements.latencies.push(latency);
        if probe < count {
            std::thread::sleep(config.pause);
        }
    }
    TypedResult {
        foundanything: found,
        success: true,
        elements: Some(elements),
        statistics: None,
        errors: None,
    }
}

/// Go's `%.0f`.
fn whole(value: f64) -> String {
    format!("{value:.0}")
}

/// The printed lines of a result.
pub fn print(result: &PingResult, found_only: bool) -> Vec<String> {
    let elements = result.elements.clone().unwrap_or_default();
    let mut lines = Vec::new();
    if result.foundanything {
        lines.push(format!(
            "{} ping of {} succeeded. Target is reachable.",
            elements.protocol, elements.resolvedhost
        ));
    }
    if found_only {
        return lines;
    }
    if !result.foundanything {
        lines.push(format!(
            "{} ping of {} failed. Target is no reachable.",
            elements.protocol, elements.resolvedhost
        ));
    }
    for (index, latency) in elements.latencies.iter().enumerate() {
        let number = index + 1;
        lines.push(if *latency == REFUSED {
            format!("ping #{number} failed, target was unreachable")
        } else if *latency == FAILED {
            format!("ping #{number} failed, reason unknown")
        } else if *latency == TIMEOUT {
            if elements.protocol == "udp" {
                format!("ping #{number} may have succeeded (no udp response)")
            } else {
                format!("ping #{number} failed, connection timed out")
            }
        } else {
            format!("ping #{number} succeeded in {}ms", whole(*latency))
        });
    }
    lines
}

impl Module for Ping {
    const NAME: &'static str = "ping";
    type Elements = Elements;
    type Statistics = serde_json::Value;

    fn run(parameters: &serde_json::Value, _context: &ModuleContext) -> PingResult {
        match mig_protocol::gojson::from_value::<Parameters>(parameters) {
            Ok(parameters) => run_parameters(&parameters, &Config::default()),
            Err(err) => TypedResult::failure(err.to_string()),
        }
    }

    fn print(result: &PingResult, found_only: bool) -> Vec<String> {
        print(result, found_only)
    }
}
