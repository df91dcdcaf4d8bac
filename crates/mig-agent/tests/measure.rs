//! Measurements, not checks (ignored): idle RSS and verification time of an
//! agent, e.g. the release build: `MIG_AGENT_BIN=target/release/mig-agent
//! cargo test -p mig-agent --test measure -- --ignored --nocapture`.
#![allow(clippy::unwrap_used)]
mod support;
use serde_json::json;
use std::time::Duration;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure() {
    let setup = AgentSetup::default();
    let mut sandbox = Sandbox::new(&setup).await;
    let agent = sandbox.start_agent();
    let queueloc = sandbox.queueloc().await;
    sandbox.wait_consumer(&queueloc).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = std::process::Command::new("ps")
        .args(["-o", "rss=", "-p", &agent.child.id().to_string()])
        .output()
        .unwrap();
    println!(
        "RSS_KB after start-up: {}",
        String::from_utf8_lossy(&rss.stdout).trim()
    );
    let bob = bob();
    for _ in 0..5 {
        let action = sign(action(vec![("nosuchmodule", json!({"a": 1}))]), &[&bob]);
        let reply = sandbox.roundtrip(&queueloc, &action).await;
        println!("status {}", reply.status.as_str());
    }
    let rss = std::process::Command::new("ps")
        .args(["-o", "rss=", "-p", &agent.child.id().to_string()])
        .output()
        .unwrap();
    println!(
        "RSS_KB after 5 actions: {}",
        String::from_utf8_lossy(&rss.stdout).trim()
    );
    for line in sandbox.log().lines().filter(|l| l.contains("verify_us")) {
        println!("{line}");
    }
}
