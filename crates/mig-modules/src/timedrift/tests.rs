//! Tests of the timedrift module: the no-drift mode, drift checks against a
//! local SNTP responder that injects a known offset, and the printer.
#![allow(clippy::unwrap_used)]

use std::net::UdpSocket;

use serde_json::json;

use super::*;
use crate::registry::{ModuleName, run_module};

const VECTORS: &str = "/work/shared/vectors/reference/modules";

/// An SNTP responder on 127.0.0.1 answering `answers` requests with the local
/// clock shifted by `offset_nanos` (or a null timestamp).
fn responder(offset_nanos: i128, answers: usize, null: bool) -> (u16, std::thread::JoinHandle<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        for _ in 0..answers {
            let mut request = [0u8; 48];
            let (size, peer) = socket.recv_from(&mut request).unwrap();
            assert_eq!(size, 48);
            assert_eq!(request[0], 0x1b);
            let mut answer = [0u8; 48];
            answer[0] = 0x1c;
            if !null {
                let now = unix_nanos(SystemTime::now()) + offset_nanos;
                let since_1900 = now + i128::from(NTP_UNIX_OFFSET) * 1_000_000_000;
                let seconds = (since_1900 / 1_000_000_000) as u32;
                let nanos = (since_1900 % 1_000_000_000) as u64;
                let fraction = (((nanos << 32) / 1_000_000_000) as u32).max(1);
                answer[40..44].copy_from_slice(&seconds.to_be_bytes());
                answer[44..48].copy_from_slice(&fraction.to_be_bytes());
            }
            socket.send_to(&answer, peer).unwrap();
        }
    });
    (port, thread)
}

fn config(dir: &std::path::Path, conf: Option<&str>, port: u16) -> Config {
    let ntp_conf = dir.join("ntp.conf");
    if let Some(text) = conf {
        std::fs::write(&ntp_conf, text).unwrap();
    }
    Config {
        ntp_conf: Some(ntp_conf),
        fallbacks: Vec::new(),
        port,
        timeout: Duration::from_secs(2),
    }
}

#[test]
fn no_drift_needs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let result = run_with(&json!({"drift":""}), &config(dir.path(), None, 1));
    assert!(result.success && result.foundanything);
    let json = mig_protocol::gojson::to_string(&result);
    assert!(
        json.starts_with(r#"{"foundanything":true,"success":true,"elements":{"hascheckeddrift":false,"localtime":""#),
        "{json}"
    );
    assert!(
        json.contains(r#""statistics":{"exectime":""#) && json.ends_with(r#""},"errors":null}"#),
        "{json}"
    );
    let printed = print(&result, false);
    assert_eq!(printed.len(), 3);
    assert!(printed[0].starts_with("local time is 20"));
    assert!(printed[1].starts_with("stat: execution time was "));
    assert_eq!(printed[2], "timedrift module has succeeded");
    assert_eq!(print(&result, true).len(), 1);
}

#[test]
fn within_drift() {
    let dir = tempfile::tempdir().unwrap();
    let (port, thread) = responder(0, 1, false);
    let conf = "# comment\npool pool.example\nserver 127.0.0.1 iburst\nserver\n";
    let result = run_with(
        &json!({"drift":"5s"}),
        &config(dir.path(), Some(conf), port),
    );
    thread.join().unwrap();
    assert!(result.success && !result.foundanything, "{result:?}");
    let elements = result.elements.clone().unwrap();
    assert!(elements.hascheckeddrift && elements.iswithindrift);
    let stats = result.statistics.clone().unwrap();
    assert_eq!(stats.ntpstats.len(), 1);
    assert_eq!(stats.ntpstats[0].host, "127.0.0.1");
    assert!(stats.ntpstats[0].reachable);
    let printed = print(&result, false);
    assert_eq!(
        printed[1],
        "local time is within acceptable drift from NTP servers"
    );
    assert!(
        printed[3].starts_with("stat: 127.0.0.1 responded in "),
        "{printed:?}"
    );
    assert!(
        printed[3].contains(" +0000 UTC. local time drifts by "),
        "{printed:?}"
    );
    assert_eq!(printed[4], "timedrift module has succeeded");
}

#[test]
fn local_clock_behind_and_ahead() {
    for (offset, word) in [
        (60_000_000_000i128, "behind"),
        (-60_000_000_000, "ahead of"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (port, thread) = responder(offset, 1, false);
        let result = run_with(
            &json!({"drift":"5s"}),
            &config(dir.path(), Some("server 127.0.0.1\n"), port),
        );
        thread.join().unwrap();
        assert!(result.success && result.foundanything, "{result:?}");
        let elements = result.elements.clone().unwrap();
        assert!(elements.hascheckeddrift && !elements.iswithindrift);
        assert_eq!(elements.drifts.len(), 1);
        let prefix = format!("Local time is {word} ntp host 127.0.0.1 by ");
        let by = elements.drifts[0].strip_prefix(&prefix).unwrap();
        assert!(by.starts_with("59.") || by.starts_with("1m0"), "{by}");
        let json = mig_protocol::gojson::to_string(&result);
        assert!(
            json.contains(r#"{"hascheckeddrift":true,"drifts":["Local time is "#),
            "{json}"
        );
        let printed = print(&result, true);
        assert_eq!(printed[1], "local time is out of sync from NTP servers");
        assert_eq!(printed[2], elements.drifts[0]);
        let drift = &result.statistics.unwrap().ntpstats[0].drift;
        assert_eq!(drift.starts_with('-'), offset > 0, "{drift}");
    }
}

#[test]
fn unreachable_then_answering_server_and_missing_ntp_conf() {
    let dir = tempfile::tempdir().unwrap();
    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (port, thread) = responder(0, 1, false);
    let mut config = config(dir.path(), None, port);
    config.fallbacks = vec![
        closed.to_string(),
        "127.0.0.1".to_owned(),
        "never.asked".to_owned(),
    ];
    let result = run_with(&json!({"drift":"1m"}), &config);
    thread.join().unwrap();
    let path = dir.path().join("ntp.conf");
    assert_eq!(
        result.errors,
        Some(vec![format!(
            "Using backup NTP hosts. Failed to read {} with error 'open {}: no such file or directory'",
            path.display(),
            path.display()
        )])
    );
    // [MAY IMPROVE] fixed: the missing ntp.conf does not fail a good check.
    assert!(result.success);
    let stats = result.statistics.clone().unwrap();
    assert_eq!(stats.ntpstats.len(), 2);
    let unreachable = mig_protocol::gojson::to_string(&stats.ntpstats[0]);
    assert_eq!(
        unreachable,
        format!(
            r#"{{"host":"{closed}","time":"0001-01-01T00:00:00Z","latency":"","drift":"","reachable":false}}"#
        )
    );
    let printed = print(&result, false);
    assert_eq!(printed[2], "error:");
    assert_eq!(
        printed[4].split(" was ").next(),
        Some("stat: execution time")
    );
    assert_eq!(printed[5], format!("stat: {closed} was unreachable"));
}

#[test]
fn nobody_answers_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let (port, thread) = responder(0, 1, true);
    let result = run_with(
        &json!({"drift":"5s"}),
        &config(dir.path(), Some("server 127.0.0.1\n"), port),
    );
    thread.join().unwrap();
    assert!(!result.success && !result.foundanything);
    let elements = result.elements.clone().unwrap();
    assert!(!elements.hascheckeddrift && elements.iswithindrift);
    assert_eq!(
        print(&result, false).last().unwrap(),
        "timedrift module has failed"
    );
}

#[test]
fn invalid_drift_is_fatal() {
    let json = run_module(
        ModuleName::Timedrift,
        &json!({"drift":"5x"}),
        &ModuleContext::default(),
    );
    assert_eq!(
        json,
        r#"{"foundanything":false,"success":false,"elements":null,"statistics":null,"errors":["time: unknown unit \"x\" in duration \"5x\""]}"#
    );
}

#[test]
fn sntp_decoding() {
    let mut packet = [0u8; 48];
    assert_eq!(
        transmit_time(&packet).unwrap_err(),
        "null response received from NTP host"
    );
    let seconds = (NTP_UNIX_OFFSET + 1_568_418_010) as u32;
    packet[40..44].copy_from_slice(&seconds.to_be_bytes());
    packet[44..48].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    assert_eq!(transmit_time(&packet).unwrap(), 1_568_418_010_500_000_000);
    assert_eq!(
        go_time_string_utc("2019-09-13T23:40:10.5Z"),
        "2019-09-13 23:40:10.5 +0000 UTC"
    );
    assert_eq!(
        go_time_string_utc("2019-09-13T19:40:10-04:00"),
        "2019-09-13 23:40:10 +0000 UTC"
    );
    assert_eq!(
        servers_of("server a\n  server b x\nservers c\nserver\n"),
        vec!["a", "b"]
    );
}

#[test]
fn golden_vector() {
    let Ok(stdout) = std::fs::read_to_string(format!("{VECTORS}/timedrift.stdout.json")) else {
        return;
    };
    let pretty = std::fs::read_to_string(format!("{VECTORS}/timedrift.pretty.txt")).unwrap();
    let golden: TimedriftResult = mig_protocol::gojson::from_str(&stdout).unwrap();
    assert_eq!(mig_protocol::gojson::to_string(&golden), stdout);
    // Ours, with the golden run's times (they vary between runs).
    let dir = tempfile::tempdir().unwrap();
    let mut ours = run_with(&json!({"drift":""}), &config(dir.path(), None, 1));
    let theirs = golden.elements.clone().unwrap();
    ours.elements.as_mut().unwrap().localtime = theirs.localtime;
    ours.statistics.as_mut().unwrap().exectime = golden.statistics.clone().unwrap().exectime;
    assert_eq!(mig_protocol::gojson::to_string(&ours), stdout);
    // The pretty file is a second run: compare our printer's lines by shape.
    let printed = print(&golden, false);
    let expected: Vec<&str> = pretty.lines().collect();
    assert_eq!(printed.len(), expected.len());
    assert_eq!(printed[2], expected[2]);
    assert!(
        expected[0].starts_with("local time is 2026-11-28T")
            && printed[0].starts_with("local time is 2026-11-28T")
    );
}
