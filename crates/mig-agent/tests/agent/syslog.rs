//! The syslog logging mode against real sockets on 127.0.0.1 (UDP and TCP)
//! and a local unix datagram socket standing for `/dev/log`.
use crate::support;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

use mig_agent::config::LoggingConfig;
use mig_agent::syslog::{MakeSyslogWriter, Syslog};
use mig_protocol::status::CommandStatus;
use serde_json::json;
use support::*;
use tracing::level_filters::LevelFilter;

fn logging(protocol: &str, port: u16) -> LoggingConfig {
    let mut config = mig_agent::AgentConfig::default().logging;
    config.mode = "syslog".into();
    config.host = "127.0.0.1".into();
    config.port = port;
    config.protocol = protocol.into();
    config
}

/// Logs through `syslog` as the agent does (`tracing` fmt, level info).
fn log_through(syslog: Syslog, emit: impl FnOnce()) {
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::INFO)
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .with_writer(MakeSyslogWriter::new(syslog))
        .finish();
    tracing::subscriber::with_default(subscriber, emit);
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

/// `<PRI>RFC3339 host mig-agent[pid]: text`, returning the text.
fn check_network_header(message: &str, priority: u8) -> String {
    let rest = message
        .strip_prefix(&format!("<{priority}>"))
        .unwrap_or_else(|| panic!("priority {priority}: {message:?}"));
    let (timestamp, rest) = rest.split_once(' ').unwrap();
    chrono::DateTime::parse_from_rfc3339(timestamp)
        .unwrap_or_else(|error| panic!("timestamp {timestamp:?}: {error}"));
    let header = format!("{} mig-agent[{}]: ", hostname(), std::process::id());
    rest.strip_prefix(&header)
        .unwrap_or_else(|| panic!("header {header:?}: {message:?}"))
        .to_owned()
}

#[test]
fn udp_receives_one_datagram_per_event_with_severity() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let port = server.local_addr().unwrap().port();
    let syslog = Syslog::connect(&logging("udp", port)).unwrap();
    assert_eq!(syslog.target(), format!("udp://127.0.0.1:{port}"));
    log_through(syslog, || {
        tracing::debug!("not sent: below the level");
        tracing::info!(action_id = 42, "action received");
        tracing::warn!("a warning");
        tracing::error!(error = "boom", "an error");
    });
    let mut received = Vec::new();
    let mut buffer = [0u8; 2048];
    for _ in 0..3 {
        let size = server.recv(&mut buffer).unwrap();
        received.push(String::from_utf8(buffer[..size].to_vec()).unwrap());
    }
    // daemon (3) × 8 + info (6) / warning (4) / err (3)
    let text = check_network_header(&received[0], 30);
    assert_eq!(text, "INFO action received action_id=42\n");
    let text = check_network_header(&received[1], 28);
    assert_eq!(text, "WARN a warning\n");
    let text = check_network_header(&received[2], 27);
    assert_eq!(text, "ERROR an error error=\"boom\"\n");
    // The debug event was never sent.
    server
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert!(server.recv(&mut buffer).is_err());
}

#[test]
fn tcp_sends_one_line_per_event_and_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let syslog = Syslog::connect(&logging("tcp", port)).unwrap();
    let (first, _) = listener.accept().unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut lines = BufReader::new(first.try_clone().unwrap());
    let sender = syslog;
    sender.send(tracing::Level::INFO, "first line").unwrap();
    sender.send(tracing::Level::DEBUG, "second line").unwrap();
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    assert_eq!(check_network_header(&line, 30), "first line\n");
    line.clear();
    lines.read_line(&mut line).unwrap();
    assert_eq!(check_network_header(&line, 31), "second line\n");
    // The server drops the connection: the next messages open a new one.
    drop(lines);
    first.shutdown(std::net::Shutdown::Both).unwrap();
    drop(first);
    std::thread::sleep(Duration::from_millis(100));
    let accepted = std::thread::spawn(move || {
        let (second, _) = listener.accept().unwrap();
        second
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut line = String::new();
        BufReader::new(second).read_line(&mut line).unwrap();
        line
    });
    // A write on a connection the peer closed can still succeed once (the
    // kernel buffers it); keep sending until the new connection gets a line.
    for attempt in 0..50 {
        sender
            .send(tracing::Level::WARN, &format!("after reconnect {attempt}"))
            .unwrap();
        if accepted.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let line = accepted.join().unwrap();
    assert!(
        check_network_header(&line, 28).starts_with("after reconnect "),
        "{line:?}"
    );
}

#[test]
fn tcp_refused_is_an_error_naming_the_address() {
    let port = mig_testkit::free_port();
    let error = Syslog::connect(&logging("tcp", port))
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.starts_with(&format!("tcp://127.0.0.1:{port}: ")),
        "{error}"
    );
}

#[test]
fn local_socket_gets_the_local_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let server = UnixDatagram::bind(&path).unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let missing = dir.path().join("missing");
    let syslog = Syslog::connect_local([missing.as_path(), path.as_path()]).unwrap();
    assert_eq!(syslog.target(), path.display().to_string());
    log_through(syslog, || tracing::info!("local hello"));
    let mut buffer = [0u8; 2048];
    let size = server.recv(&mut buffer).unwrap();
    let message = String::from_utf8(buffer[..size].to_vec()).unwrap();
    // <30>Jan _2 15:04:05 mig-agent[pid]: text
    let rest = message.strip_prefix("<30>").unwrap();
    let (stamp, rest) = rest.split_at(15);
    chrono::NaiveTime::parse_from_str(&stamp[7..], "%H:%M:%S").unwrap();
    assert_eq!(
        rest,
        format!(" mig-agent[{}]: INFO local hello\n", std::process::id())
    );
    let error = Syslog::connect_local([Path::new("/nonexistent/log")])
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("/nonexistent/log"), "{error}");
}

/// A real agent configured with `[logging] mode = "syslog"` logs its life
/// and the actions it runs to a UDP syslog server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_logs_to_a_udp_syslog_server() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let port = server.local_addr().unwrap().port();
    let mut sandbox = Sandbox::new(&AgentSetup::default()).await;
    let config = std::fs::read_to_string(&sandbox.config).unwrap();
    let config = config.replace(
        "[logging]\nlevel = debug\n",
        &format!(
            "[logging]\nlevel = info\nmode = \"syslog\"\nhost = \"127.0.0.1\"\n\
             port = {port}\nprotocol = \"udp\"\n"
        ),
    );
    assert!(config.contains("mode = \"syslog\""));
    std::fs::write(&sandbox.config, config).unwrap();
    let agent = sandbox.start_agent();
    let queueloc = sandbox.queueloc().await;
    sandbox.wait_consumer(&queueloc).await;
    let done = sign(action(vec![("__echo", json!({}))]), &[&bob()]);
    let reply = sandbox.roundtrip(&queueloc, &done).await;
    assert_eq!(reply.status, CommandStatus::Success, "{}", errors(&reply));
    let pid = agent.child.id();
    let receive = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        let mut buffer = [0u8; 4096];
        while let Ok(size) = server.recv(&mut buffer) {
            let line = String::from_utf8_lossy(&buffer[..size]).into_owned();
            let done = line.contains("command done");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    });
    let lines = receive.await.unwrap();
    let header = format!(" mig-agent[{pid}]: ");
    assert!(
        lines
            .iter()
            .all(|line| line.starts_with('<') && line.contains(&header)),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("<30>") && line.contains("consuming commands")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.contains("command done") && line.contains(&done.id.to_string())),
        "{lines:#?}"
    );
    // Nothing went to stdout.
    assert!(
        !sandbox.log().contains("consuming commands"),
        "{}",
        sandbox.log()
    );
}
