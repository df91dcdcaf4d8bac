//! The agent's idle footprint and per-action verification time (issue #4:
//! idle RSS ≤ 10 MB; one action verified and authorized in < 1 ms), for a
//! real agent process connected to the machine's RabbitMQ.
//!
//! ```sh
//! cargo bench -p mig-agent --bench agent
//! # other builds side by side, e.g. the deployment profile and plain release:
//! cargo build -p mig-agent --profile agent && cargo build -p mig-agent --release
//! MIG_AGENT_BIN=target/agent/mig-agent,target/release/mig-agent \
//!     cargo bench -p mig-agent --bench agent
//! ```
//!
//! Each binary runs twice: with the agent's 4 KiB AMQP frames and with
//! RabbitMQ's 128 KiB frames (`?frame_max=131072` in the relay URL, what the
//! agent negotiated before). The agent heartbeats every second; the figures
//! (`/proc/<pid>/status`) are read once it has been idle for six heartbeats,
//! then again after 300 actions carrying 16 KiB of parameters each (about
//! 5 MB each way: what weeks of heartbeats push through lapin's ring
//! buffers, which keep every page they have touched). `verify_us` is the
//! time the agent logs for signature verification, validity window and ACL.
#![allow(clippy::unwrap_used)]

#[path = "../tests/agent/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use support::*;

struct Figures {
    idle: Resident,
    busy: Resident,
    mappings: Vec<(String, u64)>,
    verify_us: Vec<u64>,
}

async fn measure(binary: &Path, frame_query: Option<&str>) -> Figures {
    let setup = AgentSetup {
        heartbeat_freq: "1s",
        ..AgentSetup::default()
    };
    let mut sandbox = Sandbox::new(&setup).await;
    let url = sandbox.vhost.url();
    sandbox.edit_config(|text| {
        let text = text.replace("[logging]\nlevel = debug\n", "[logging]\nlevel = info\n");
        match frame_query {
            Some(query) => text.replace(&format!("\"{url}\""), &format!("\"{url}?{query}\"")),
            None => text,
        }
    });
    let agent = sandbox.start_binary(binary);
    let pid = agent.child.id();
    let queueloc = sandbox.queueloc().await;
    sandbox.wait_consumer(&queueloc).await;
    // Idle for six heartbeats.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let idle = Resident::of(pid);
    let mappings = resident_by_mapping(pid);
    let bob = bob();
    let payload = "x".repeat(16 * 1024);
    for _ in 0..300 {
        let action = sign(
            action(vec![("nosuchmodule", json!({"a": payload}))]),
            &[&bob],
        );
        sandbox.roundtrip(&queueloc, &action).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let busy = Resident::of(pid);
    let verify_us = sandbox
        .log()
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once("verify_us=")?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .collect();
    Figures {
        idle,
        busy,
        mappings,
        verify_us,
    }
}

fn mb(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

fn main() {
    let binaries: Vec<PathBuf> = match std::env::var("MIG_AGENT_BIN") {
        Ok(list) => list.split(',').map(PathBuf::from).collect(),
        Err(_) => vec![PathBuf::from(env!("CARGO_BIN_EXE_mig-agent"))],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "{:<40} {:>6} {:>8} {:>8} {:>8} {:>7} {:>15} {:>10}",
        "binary (file size MB)",
        "frames",
        "VmRSS",
        "RssAnon",
        "RssFile",
        "threads",
        "VmRSS 300 acts",
        "verify_us"
    );
    for binary in &binaries {
        let size = std::fs::metadata(binary)
            .map(|meta| meta.len() / 1024)
            .unwrap_or(0);
        for (label, query) in [("4k", None), ("128k", Some("frame_max=131072"))] {
            let figures = runtime.block_on(measure(binary, query));
            let mut verify = figures.verify_us.clone();
            verify.sort_unstable();
            let median = verify
                .get(verify.len() / 2)
                .map_or("-".to_owned(), u64::to_string);
            let name = binary
                .components()
                .rev()
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            println!(
                "{:<40} {label:>6} {:>8} {:>8} {:>8} {:>7} {:>15} {:>10}",
                format!("{name} ({})", mb(size)),
                mb(figures.idle.vm_rss),
                mb(figures.idle.rss_anon),
                mb(figures.idle.rss_file),
                figures.idle.threads,
                mb(figures.busy.vm_rss),
                median,
            );
            let top: Vec<String> = figures
                .mappings
                .iter()
                .take(5)
                .map(|(name, kb)| format!("{} {kb} kB", name.rsplit('/').next().unwrap_or(name)))
                .collect();
            println!("    largest resident mappings: {}", top.join(", "));
        }
    }
    println!("(MB = MiB; figures from /proc/<pid>/status)");
}
