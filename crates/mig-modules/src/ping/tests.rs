//! Tests of the ping module: loopback TCP and UDP probes, validation, the
//! printer against the original's golden output.
#![allow(clippy::unwrap_used)]

use std::net::{TcpListener, UdpSocket};

use serde_json::json;

use super::*;
use crate::registry::{ModuleName, run_module};

const VECTORS: &str = "/work/shared/vectors/reference/modules";

fn params(protocol: &str, port: u16, count: f64, timeout: f64) -> Parameters {
    Parameters {
        destination: "127.0.0.1".into(),
        destinationport: f64::from(port),
        protocol: protocol.into(),
        count,
        timeout,
    }
}

fn fast() -> Config {
    Config {
        pause: Duration::from_millis(1),
    }
}

/// A port that was bound and released (closed unless reused at once).
fn closed_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn tcp_open_port_succeeds() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let result = run_parameters(&params("tcp", port, 2.0, 5.0), &fast());
    assert!(result.success && result.foundanything, "{result:?}");
    let elements = result.elements.clone().unwrap();
    assert_eq!(elements.latencies.len(), 2);
    assert!(elements.latencies.iter().all(|latency| *latency > 0.0));
    assert_eq!(
        elements.resolvedhost,
        format!("127.0.0.1:{port} (127.0.0.1)")
    );
    assert_eq!(elements.failures, None);
    let lines = print(&result, false);
    assert_eq!(
        lines[0],
        format!("tcp ping of 127.0.0.1:{port} (127.0.0.1) succeeded. Target is reachable.")
    );
    assert!(lines[1].starts_with("ping #1 succeeded in "));
    assert_eq!(print(&result, true).len(), 1);
}

#[test]
fn tcp_closed_port_is_a_result_not_a_crash() {
    let port = closed_tcp_port();
    let result = run_parameters(&params("tcp", port, 2.0, 5.0), &fast());
    let json = mig_protocol::gojson::to_string(&result);
    assert_eq!(
        json,
        format!(
            r#"{{"foundanything":false,"success":true,"elements":{{"latencies":[-1,-1],"protocol":"tcp","resolvedhost":"127.0.0.1:{port} (127.0.0.1)","failures":null}},"statistics":null,"errors":null}}"#
        )
    );
    assert_eq!(
        print(&result, false),
        vec![
            format!("tcp ping of 127.0.0.1:{port} (127.0.0.1) failed. Target is no reachable."),
            "ping #1 failed, target was unreachable".to_owned(),
            "ping #2 failed, target was unreachable".to_owned(),
        ]
    );
    assert!(print(&result, true).is_empty());
}

#[test]
fn udp_closed_port_is_refused() {
    let port = {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    };
    let result = run_parameters(&params("udp", port, 2.0, 2.0), &fast());
    let elements = result.elements.clone().unwrap();
    assert_eq!(elements.latencies, vec![-1.0, -1.0]);
    assert!(result.success && !result.foundanything);
}

#[test]
fn udp_silent_socket_may_be_open() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let result = run_parameters(&params("udp", port, 1.0, 1.0), &fast());
    assert_eq!(
        result.elements.clone().unwrap().latencies,
        vec![TIMEOUT],
        "{result:?}"
    );
    assert!(result.success && result.foundanything);
    assert_eq!(
        print(&result, false),
        vec![
            format!("udp ping of 127.0.0.1:{port} (127.0.0.1) succeeded. Target is reachable."),
            "ping #1 may have succeeded (no udp response)".to_owned(),
        ]
    );
}

#[test]
fn udp_answering_socket_succeeds() {
    let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = echo.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let mut buffer = [0u8; 64];
        let (size, peer) = echo.recv_from(&mut buffer).unwrap();
        assert_eq!(&buffer[..size], PAYLOAD);
        echo.send_to(b"pong", peer).unwrap();
    });
    let result = run_parameters(&params("udp", port, 1.0, 5.0), &fast());
    thread.join().unwrap();
    assert!(result.foundanything);
    assert!(result.elements.unwrap().latencies[0] > 0.0);
}

#[test]
fn icmp_is_a_result_whether_permitted_or_not() {
    let result = run_parameters(&params("icmp", 0, 1.0, 1.0), &fast());
    assert!(result.success, "{result:?}");
    let elements = result.elements.clone().unwrap();
    assert_eq!(elements.resolvedhost, "127.0.0.1 (127.0.0.1)");
    assert_eq!(elements.latencies.len(), 1);
    if result.foundanything {
        assert!(elements.latencies[0] > 0.0);
    } else {
        // Not permitted here: the socket error is reported, not a crash.
        assert_eq!(elements.latencies, vec![FAILED]);
        let failures = elements.failures.unwrap();
        assert!(
            failures[0].starts_with("ping #1 failed with error: dial ip4:icmp 127.0.0.1: "),
            "{failures:?}"
        );
    }
}

#[test]
fn validation_errors() {
    let cases = [
        (
            json!({"destination":"127.0.0.1","protocol":"sctp"}),
            "sctp is not a supported ping protocol",
        ),
        (
            json!({"destination":"127.0.0.1","protocol":"tcp","destinationport":-1}),
            "tcp ping requires a valid destination port between 0 and 65535, got -1",
        ),
        (
            json!({"destination":"127.0.0.1","protocol":"udp","destinationport":70000}),
            "udp ping requires a valid destination port between 0 and 65535, got 70000",
        ),
        (
            json!({"destination":"not an ip!","protocol":"tcp","destinationport":80}),
            "destination IP is invalid: not an ip!",
        ),
    ];
    for (parameters, error) in cases {
        let json = run_module(ModuleName::Ping, &parameters, &ModuleContext::default());
        assert_eq!(
            json,
            format!(
                r#"{{"foundanything":false,"success":false,"elements":null,"statistics":null,"errors":["{error}"]}}"#
            )
        );
    }
}

#[test]
fn parameters_serialise_as_the_original() {
    let parameters: Parameters = mig_protocol::gojson::from_str(
        r#"{"destination":"www.mozilla.org","destinationport":443,"protocol":"tcp","count":3,"timeout":5}"#,
    )
    .unwrap();
    assert_eq!(
        mig_protocol::gojson::to_string(&parameters),
        r#"{"destination":"www.mozilla.org","destinationport":443,"protocol":"tcp","count":3,"timeout":5}"#
    );
    assert_eq!(
        mig_protocol::gojson::to_string(&Parameters::default()),
        r#"{"destination":"","protocol":""}"#
    );
}

/// The printer reproduces the original's pretty output from its own JSON.
#[test]
fn golden_printing() {
    for name in ["ping_tcp_open", "ping_udp", "ping_tcp_closed"] {
        let Ok(stdout) = std::fs::read_to_string(format!("{VECTORS}/{name}.stdout.json")) else {
            continue;
        };
        let pretty = std::fs::read_to_string(format!("{VECTORS}/{name}.pretty.txt")).unwrap();
        let result: PingResult = mig_protocol::gojson::from_str(&stdout).unwrap();
        assert_eq!(mig_protocol::gojson::to_string(&result), stdout);
        // The pretty output is a second run: its sub-millisecond latencies
        // round to 0ms, so compare the success lines by shape.
        let printed = print(&result, false);
        let expected: Vec<&str> = pretty.lines().collect();
        assert_eq!(printed.len(), expected.len(), "{name}");
        for (line, want) in printed.iter().zip(expected) {
            if want.contains(" succeeded in ") {
                assert!(line.starts_with(want.trim_end_matches("0ms")), "{line}");
            } else {
                assert_eq!(line, want, "{name}");
            }
        }
    }
}

/// The golden runs' JSON shape, with our own loopback ports.
#[test]
fn golden_shapes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let result = run_parameters(&params("tcp", port, 2.0, 5.0), &fast());
    let mut json: serde_json::Value =
        serde_json::from_str(&mig_protocol::gojson::to_string(&result)).unwrap();
    json["elements"]["latencies"] = json!([0.671725, 0.207605]);
    json["elements"]["resolvedhost"] = json!("127.0.0.1:8765 (127.0.0.1)");
    if let Ok(golden) = std::fs::read_to_string(format!("{VECTORS}/ping_tcp_open.stdout.json")) {
        let golden: serde_json::Value = serde_json::from_str(&golden).unwrap();
        assert_eq!(json, golden);
    }
}
