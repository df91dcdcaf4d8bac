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
    // Where the resident memory is: the largest mappings, and the threads.
    let smaps =
        std::fs::read_to_string(format!("/proc/{}/smaps", agent.child.id())).unwrap_or_default();
    let mut regions: Vec<(u64, String)> = Vec::new();
    let mut current = String::new();
    for line in smaps.lines() {
        if let Some(rss) = line.strip_prefix("Rss:") {
            let kb: u64 = rss
                .trim()
                .trim_end_matches(" kB")
                .trim()
                .parse()
                .unwrap_or(0);
            regions.push((kb, current.clone()));
        } else if line.contains('-') && !line.contains(':')
            || line.split_whitespace().count() >= 5
                && line.chars().next().is_some_and(|c| c.is_ascii_hexdigit())
        {
            current = line
                .split_whitespace()
                .skip(5)
                .collect::<Vec<_>>()
                .join(" ");
            if current.is_empty() {
                current = "[anon]".into();
            }
        }
    }
    let mut by_name = std::collections::BTreeMap::<String, u64>::new();
    for (kb, name) in regions {
        *by_name.entry(name).or_default() += kb;
    }
    let mut sorted: Vec<_> = by_name.into_iter().collect();
    sorted.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    for (name, kb) in sorted.iter().take(6) {
        println!("RSS_BY_MAPPING {kb} kB {name}");
    }
    let threads = std::fs::read_dir(format!("/proc/{}/task", agent.child.id()))
        .map(|d| d.count())
        .unwrap_or(0);
    println!("THREADS {threads}");
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
