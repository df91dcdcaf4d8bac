//! A real `mig-agent` process against the machine's RabbitMQ, the test
//! playing the scheduler (and, for heartbeats, the API).
use crate::support;

use std::time::Duration;

use mig_protocol::GoTime;
use mig_protocol::relay::agent_queue;
use mig_protocol::status::CommandStatus;
use mig_relay::Relay;
use serde_json::json;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One agent answers, refuses each kind of bad action with the reason in its
/// result, survives hanging and crashing modules, and reconnects after its
/// connection is force-closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_refuses_survives_and_reconnects() {
    let setup = AgentSetup::default();
    let mut sandbox = Sandbox::new(&setup).await;
    let mut agent = sandbox.start_agent();
    let queueloc = sandbox.queueloc().await;
    sandbox.wait_consumer(&queueloc).await;
    let bob = bob();

    // A signed, authorized action is answered with the module's result.
    let good = sign(
        action(vec![("__echo", json!({"hello": "world", "b": 1}))]),
        &[&bob],
    );
    let reply = sandbox.roundtrip(&queueloc, &good).await;
    assert_eq!(reply.status, CommandStatus::Success, "{}", errors(&reply));
    assert_eq!(reply.agent.queueloc, queueloc);
    assert_eq!(reply.action, good);
    let results = reply.results.clone().unwrap();
    assert_eq!(results.len(), 1);
    assert!(results[0].success);
    assert_eq!(results[0].elements, json!({"b": 1, "hello": "world"}));

    // Replayed: the same action again.
    let replayed = sandbox.roundtrip(&queueloc, &good).await;
    assert_eq!(replayed.status, CommandStatus::Failed);
    assert!(
        errors(&replayed).contains("already run"),
        "{}",
        errors(&replayed)
    );

    let echo = || action(vec![("__echo", json!({}))]);
    let mut tampered = sign(echo(), &[&bob]);
    tampered.name.push_str(" (tampered)");
    let mut expired = echo();
    expired.validfrom = GoTime(GoTime::now().0 - chrono::Duration::seconds(600));
    expired.expireafter = GoTime(GoTime::now().0 - chrono::Duration::seconds(300));
    let mut early = echo();
    early.validfrom = GoTime(GoTime::now().0 + chrono::Duration::seconds(600));
    early.expireafter = GoTime(GoTime::now().0 + chrono::Duration::seconds(900));
    let stranger = stranger();
    let cases = vec![
        ("unsigned", echo(), "no signature"),
        ("tampered", tampered, "signature 0 is invalid"),
        ("expired", sign(expired, &[&bob]), "expired"),
        ("not yet valid", sign(early, &[&bob]), "not valid before"),
        (
            "unknown key",
            sign(echo(), &[&stranger]),
            "signature 0 is invalid",
        ),
        (
            "under-weighted",
            sign(
                action(vec![("agentdestroy", json!({"pid": 1, "version": "x"}))]),
                &[&bob],
            ),
            "requires weight 2",
        ),
        (
            "one unauthorized module",
            sign(
                action(vec![("__echo", json!({})), ("file", json!({}))]),
                &[&bob],
            ),
            "\"file\"",
        ),
        (
            "same key twice",
            sign(echo(), &[&bob, &bob]),
            "multiple times",
        ),
    ];
    for (case, action, reason) in cases {
        let operations = action.operations().len().max(1);
        let reply = sandbox.roundtrip(&queueloc, &action).await;
        assert_eq!(reply.status, CommandStatus::Failed, "{case}");
        let results = reply.results.clone().unwrap();
        assert_eq!(results.len(), operations, "{case}");
        assert!(results.iter().all(|result| !result.success), "{case}");
        let errors = errors(&reply);
        assert!(errors.contains(reason), "{case}: {errors}");
    }
    assert!(sandbox.log().contains("action refused"));

    // A hanging module is killed at its deadline (moduletimeout = 3 s).
    let started = std::time::Instant::now();
    let reply = sandbox
        .roundtrip(
            &queueloc,
            &sign(action(vec![("__sleep", json!({}))]), &[&bob]),
        )
        .await;
    assert_eq!(reply.status, CommandStatus::Timeout);
    assert!(started.elapsed() < Duration::from_secs(10));
    // A crashing module is a failed result.
    let reply = sandbox
        .roundtrip(
            &queueloc,
            &sign(action(vec![("__crash", json!({}))]), &[&bob]),
        )
        .await;
    assert_eq!(reply.status, CommandStatus::Failed);
    assert!(
        errors(&reply).contains("module __crash failed"),
        "{}",
        errors(&reply)
    );
    // Multi-operation: an unavailable module fails the command, the others run.
    let reply = sandbox
        .roundtrip(
            &queueloc,
            &sign(
                action(vec![
                    ("__echo", json!({"n": 1})),
                    ("nosuchmodule", json!({})),
                ]),
                &[&bob],
            ),
        )
        .await;
    assert_eq!(reply.status, CommandStatus::Failed);
    let results = reply.results.clone().unwrap();
    assert!(results[0].success);
    assert_eq!(
        results[1].errors,
        Some(vec!["module 'nosuchmodule' is not available".to_owned()])
    );

    // Force-close the agent's connection: it reconnects and answers again.
    mig_testkit::rabbitmqctl(&["close_all_connections", "-p", &sandbox.vhost.name, "test"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    sandbox
        .relay
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
    sandbox.wait_consumer(&queueloc).await;
    let reply = sandbox
        .roundtrip(
            &queueloc,
            &sign(action(vec![("__echo", json!({"again": true}))]), &[&bob]),
        )
        .await;
    assert_eq!(reply.status, CommandStatus::Success, "{}", errors(&reply));
    assert!(agent.alive());

    // The stat socket answers the pid, and shutdown needs the agent id.
    let pid = std::process::Command::new(env!("CARGO_BIN_EXE_mig-agent"))
        .args(["-c", sandbox.config.to_str().unwrap(), "-q", "pid"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&pid.stdout).trim(),
        agent.child.id().to_string()
    );
    let shutdown = std::process::Command::new(env!("CARGO_BIN_EXE_mig-agent"))
        .args(["-c", sandbox.config.to_str().unwrap(), "-q", "shutdown"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&shutdown.stdout).trim(), "done");
    let status = agent.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// Heartbeats: the AMQP form with the right queueloc; the HTTP form reaches a
/// test API once it is up, and the agent survives it being down.
/// A scheduler's queue clean-up (or an operator) deletes the agent's queue
/// under it: RabbitMQ cancels the consumer, and the agent declares its queue
/// again and keeps answering instead of going deaf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_queue_is_declared_again() {
    let setup = AgentSetup::default();
    let mut sandbox = Sandbox::new(&setup).await;
    let mut agent = sandbox.start_agent();
    let queueloc = sandbox.queueloc().await;
    sandbox.wait_consumer(&queueloc).await;
    sandbox
        .relay
        .delete_queue(&agent_queue(&queueloc))
        .await
        .unwrap();
    sandbox.wait_consumer(&queueloc).await;
    let echo = sign(action(vec![("__echo", json!({"again": true}))]), &[&bob()]);
    let reply = sandbox.roundtrip(&queueloc, &echo).await;
    assert_eq!(reply.status, CommandStatus::Success, "{}", errors(&reply));
    assert!(
        sandbox
            .log()
            .contains("the relay closed the agent queue subscription, subscribing again"),
        "{}",
        sandbox.log()
    );
    assert!(agent.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_on_the_relay_and_to_the_api() {
    let setup = AgentSetup {
        heartbeat_freq: "1s",
        heartbeat_form: "both",
        ..AgentSetup::default()
    };
    let sandbox = Sandbox::new(&setup).await;
    let mut agent = sandbox.start_agent();
    let queueloc = sandbox.queueloc().await;
    let heartbeat = sandbox.heartbeat(Duration::from_secs(10)).await;
    assert_eq!(heartbeat.queueloc, queueloc);
    assert_eq!(heartbeat.mode, "daemon");
    assert_eq!(heartbeat.pid, i64::from(agent.child.id()));
    assert_eq!(
        heartbeat.tags.get("operator").map(String::as_str),
        Some("tests")
    );
    assert!(
        heartbeat
            .environment
            .modules
            .contains(&"agentdestroy".to_owned())
    );

    // The API was down for a few periods; the agent is still there.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(agent.alive(), "{}", sandbox.log());

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", setup.api_port))
        .await
        .unwrap();
    let posted = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut raw = Vec::new();
            let mut buffer = [0u8; 4096];
            let (head, body) = loop {
                let read = stream.read(&mut buffer).await.unwrap();
                raw.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&raw).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                        .unwrap_or(0);
                    if body.len() >= length || read == 0 {
                        break (head.to_owned(), body.to_owned());
                    }
                }
            };
            let ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"error\":null}\n";
            stream.write_all(ok).await.unwrap();
            if head.starts_with("POST /api/v1/heartbeat ") {
                return (head, body);
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no http heartbeat\n{}", sandbox.log()));
    assert!(
        posted
            .0
            .to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    let heartbeat = mig_protocol::Heartbeat::from_json(posted.1.as_bytes()).unwrap();
    assert_eq!(heartbeat.queue_loc, queueloc);
    assert_eq!(heartbeat.pid, u64::from(agent.child.id()));
    assert!(posted.1.contains("\"queueLoc\""));
    assert!(
        posted
            .1
            .contains("\"tags\":[{\"name\":\"operator\",\"value\":\"tests\"}]")
    );
    assert!(agent.alive());
}

/// `mig-agent -m agentdestroy < params` prints the original's output.
#[test]
fn agentdestroy_golden_vector() {
    let dir = vectors().join("modules");
    let params = std::fs::read(dir.join("agentdestroy_pid_out_of_range.params.json")).unwrap();
    let expected =
        std::fs::read_to_string(dir.join("agentdestroy_pid_out_of_range.stdout.json")).unwrap();
    for (pretty, expected) in [
        (false, expected),
        (
            true,
            std::fs::read_to_string(dir.join("agentdestroy_pid_out_of_range.pretty.txt")).unwrap(),
        ),
    ] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mig-agent"));
        command.args(["-m", "agentdestroy"]);
        if pretty {
            command.arg("-p");
        }
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&params).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
    }
}

/// The agent id survives a restart; a config without most keys keeps the
/// built-in defaults (the original zeroed them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_reused_across_restarts_and_defaults_kept() {
    let setup = AgentSetup::default();
    let sandbox = Sandbox::new(&setup).await;
    let first = {
        let _agent = sandbox.start_agent();
        let queueloc = sandbox.queueloc().await;
        sandbox.wait_consumer(&queueloc).await;
        queueloc
    };
    let _agent = sandbox.start_agent();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sandbox.queueloc().await, first);
    sandbox.wait_consumer(&first).await;

    let minimal = sandbox.dir.path().join("minimal.cfg");
    std::fs::write(&minimal, "[agent]\nheartbeatfreq = \"60s\"\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mig-agent"))
        .args(["-c", minimal.to_str().unwrap(), "-S"])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("heartbeatfreq = \"60000ms\""), "{text}");
    assert!(
        text.contains("relay = \"amqp://guest:guest@localhost:5672/\""),
        "{text}"
    );
    assert!(text.contains("socket = \"127.0.0.1:61664\""), "{text}");
    assert!(text.contains("installservice = \"true\""), "{text}");
    assert!(text.contains("maxactions = 15"), "{text}");

    let bad = sandbox.dir.path().join("bad.cfg");
    std::fs::write(&bad, "[agent]\nmoduletimeout = \"forever\"\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mig-agent"))
        .args(["-c", bad.to_str().unwrap(), "-S"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(
        error.contains("bad.cfg:2: [agent] moduletimeout: invalid duration"),
        "{error}"
    );
}

/// Check-in mode: process what is queued, then exit once the queue is idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkin_mode_processes_the_queue_and_exits() {
    let setup = AgentSetup::default();
    let mut sandbox = Sandbox::new(&setup).await;
    let queueloc = {
        let _agent = sandbox.start_agent();
        let queueloc = sandbox.queueloc().await;
        sandbox.wait_consumer(&queueloc).await;
        queueloc
    };
    let bob = bob();
    let queued = sign(action(vec![("__echo", json!({"queued": 1}))]), &[&bob]);
    let id = sandbox.send(&queueloc, &queued).await;
    let started = std::time::Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mig-agent"))
        .args([
            "-m",
            "agent-checkin",
            "-c",
            sandbox.config.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let reply = sandbox.result(id, Duration::from_secs(20)).await;
    assert_eq!(reply.status, CommandStatus::Success, "{}", errors(&reply));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "check-in agent did not exit"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success());
}
