//! The `syslog` logging mode (spec protocol.md §8.19): each log event becomes
//! one syslog message, facility `daemon`, tag `mig-agent`, severity from the
//! event's level, sent the way the original's Go `log/syslog` sent it:
//!
//! - to `[logging] host:port` over `protocol` (`udp`, the default, or `tcp`):
//!   `<PRI>2006-01-02T15:04:05-07:00 hostname mig-agent[pid]: text\n`
//!   (an RFC 3164 header with an RFC 3339 timestamp; over TCP one message
//!   per line, RFC 6587 non-transparent framing);
//! - with no `host`, to the local syslog socket (`/dev/log`, then
//!   `/var/run/syslog`, `/var/run/log`), datagram or stream:
//!   `<PRI>Jan _2 15:04:05 mig-agent[pid]: text\n`. The original refused to
//!   start without a host.
//!
//! A TCP connection that breaks is re-opened for the next message. A message
//! that cannot be sent goes to stderr instead of being lost.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Local, SecondsFormat};
use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LoggingConfig;

/// The syslog tag (program name) of the agent's messages.
pub const TAG: &str = "mig-agent";

/// The default syslog port.
pub const DEFAULT_PORT: u16 = 514;

/// The local syslog sockets tried in order when no host is configured.
pub const LOCAL_SOCKETS: &[&str] = &["/dev/log", "/var/run/syslog", "/var/run/log"];

/// The `daemon` facility.
const FACILITY_DAEMON: u8 = 3;

/// How long connecting or writing to a TCP syslog server may take.
const TCP_TIMEOUT: Duration = Duration::from_secs(2);

/// The syslog severity of a tracing level (err, warning, info, debug).
pub fn severity(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// One message as the original's Go `log/syslog` wrote it. `hostname` is
/// `None` for the local socket, whose header has no hostname and a
/// `time.Stamp` timestamp.
pub fn format_message(
    level: Level,
    now: DateTime<Local>,
    hostname: Option<&str>,
    pid: u32,
    text: &str,
) -> String {
    let priority = FACILITY_DAEMON * 8 + severity(level);
    let text = text.trim_end_matches('\n');
    match hostname {
        Some(hostname) => format!(
            "<{priority}>{} {hostname} {TAG}[{pid}]: {text}\n",
            now.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
        None => format!(
            "<{priority}>{} {TAG}[{pid}]: {text}\n",
            now.format("%b %e %H:%M:%S")
        ),
    }
}

enum Transport {
    Udp(UdpSocket),
    Tcp {
        addresses: Vec<SocketAddr>,
        stream: Option<TcpStream>,
    },
    LocalDatagram(UnixDatagram),
    LocalStream {
        path: PathBuf,
        stream: Option<UnixStream>,
    },
}

fn tcp_connect(addresses: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for address in addresses {
        match TcpStream::connect_timeout(address, TCP_TIMEOUT) {
            Ok(stream) => {
                stream.set_write_timeout(Some(TCP_TIMEOUT))?;
                return Ok(stream);
            }
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// Writes `bytes` on a stream, opening it first when needed and re-opening it
/// once when the write fails (the server may have closed an idle connection).
fn write_stream<S: Write>(
    stream: &mut Option<S>,
    open: impl Fn() -> io::Result<S>,
    bytes: &[u8],
) -> io::Result<()> {
    if let Some(open_stream) = stream.as_mut() {
        if open_stream.write_all(bytes).is_ok() {
            return Ok(());
        }
        *stream = None;
    }
    let mut fresh = open()?;
    fresh.write_all(bytes)?;
    *stream = Some(fresh);
    Ok(())
}

/// A connection to syslog.
pub struct Syslog {
    transport: Mutex<Transport>,
    /// `None` for the local socket.
    hostname: Option<String>,
    pid: u32,
    /// Where the messages go, for error messages.
    target: String,
}

impl Syslog {
    /// Connects as `[logging]` says: `host`/`port`/`protocol`, or the local
    /// socket when `host` is empty. Errors name the address.
    pub fn connect(config: &LoggingConfig) -> io::Result<Self> {
        if config.host.is_empty() {
            return Self::connect_local(LOCAL_SOCKETS.iter().map(Path::new));
        }
        let port = if config.port == 0 {
            DEFAULT_PORT
        } else {
            config.port
        };
        let target = format!("{}://{}:{port}", config.protocol, config.host);
        let context = |error: io::Error| io::Error::new(error.kind(), format!("{target}: {error}"));
        let addresses: Vec<SocketAddr> = (config.host.as_str(), port)
            .to_socket_addrs()
            .map_err(context)?
            .collect();
        let transport = if config.protocol == "tcp" {
            Transport::Tcp {
                stream: Some(tcp_connect(&addresses).map_err(context)?),
                addresses,
            }
        } else {
            let address = addresses
                .first()
                .ok_or_else(|| context(io::Error::new(io::ErrorKind::NotFound, "no address")))?;
            let bind: SocketAddr = if address.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                ([0u16; 8], 0).into()
            };
            let socket = UdpSocket::bind(bind).map_err(context)?;
            socket.connect(address).map_err(context)?;
            Transport::Udp(socket)
        };
        Ok(Self {
            transport: Mutex::new(transport),
            hostname: Some(kernel_hostname()),
            pid: std::process::id(),
            target,
        })
    }

    /// Connects to the first local syslog socket of `paths` that answers,
    /// datagram first, then stream.
    pub fn connect_local<'a>(paths: impl IntoIterator<Item = &'a Path>) -> io::Result<Self> {
        let mut tried = Vec::new();
        for path in paths {
            let transport = match UnixDatagram::unbound().and_then(|socket| {
                socket.connect(path)?;
                Ok(socket)
            }) {
                Ok(socket) => Transport::LocalDatagram(socket),
                Err(_) => match UnixStream::connect(path) {
                    Ok(stream) => Transport::LocalStream {
                        path: path.to_owned(),
                        stream: Some(stream),
                    },
                    Err(error) => {
                        tried.push(format!("{}: {error}", path.display()));
                        continue;
                    }
                },
            };
            return Ok(Self {
                transport: Mutex::new(transport),
                hostname: None,
                pid: std::process::id(),
                target: path.display().to_string(),
            });
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no local syslog socket ({})", tried.join(", ")),
        ))
    }

    /// Where the messages go.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Sends one message at `level`.
    pub fn send(&self, level: Level, text: &str) -> io::Result<()> {
        let message = format_message(
            level,
            Local::now(),
            self.hostname.as_deref(),
            self.pid,
            text,
        );
        let bytes = message.as_bytes();
        let mut transport = self
            .transport
            .lock()
            .map_err(|_| io::Error::other("syslog lock poisoned"))?;
        match &mut *transport {
            Transport::Udp(socket) => socket.send(bytes).map(drop),
            Transport::LocalDatagram(socket) => socket.send(bytes).map(drop),
            Transport::Tcp { addresses, stream } => {
                write_stream(stream, || tcp_connect(addresses), bytes)
            }
            Transport::LocalStream { path, stream } => {
                write_stream(stream, || UnixStream::connect(&*path), bytes)
            }
        }
    }
}

/// The kernel's host name, as Go's `os.Hostname` returns it.
fn kernel_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The `tracing_subscriber` writer factory of the syslog mode: one writer per
/// event, which sends the formatted line when dropped.
#[derive(Clone)]
pub struct MakeSyslogWriter {
    syslog: Arc<Syslog>,
}

impl MakeSyslogWriter {
    pub fn new(syslog: Syslog) -> Self {
        Self {
            syslog: Arc::new(syslog),
        }
    }

    fn line(&self, level: Level) -> SyslogLine {
        SyslogLine {
            syslog: Arc::clone(&self.syslog),
            level,
            buffer: Vec::new(),
        }
    }
}

impl<'a> MakeWriter<'a> for MakeSyslogWriter {
    type Writer = SyslogLine;

    fn make_writer(&'a self) -> SyslogLine {
        self.line(Level::INFO)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> SyslogLine {
        self.line(*meta.level())
    }
}

/// One event's formatted text, sent to syslog when dropped.
pub struct SyslogLine {
    syslog: Arc<Syslog>,
    level: Level,
    buffer: Vec<u8>,
}

impl Write for SyslogLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogLine {
    fn drop(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        // The fmt layer right-aligns the level (" INFO"); syslog has its own header.
        let text = String::from_utf8_lossy(&self.buffer);
        let text = text.trim();
        if let Err(error) = self.syslog.send(self.level, text) {
            eprintln!(
                "syslog {}: {error}; the message was: {text}",
                self.syslog.target()
            );
        }
    }
}
