//! The netstat module against `ss -tanp` on a host with 10,000 open sockets.
//!
//! Run with `cargo bench -p mig-modules --bench netstat` (release profile).
//! The bench raises its RLIMIT_NOFILE, opens a loopback listener and 5,000
//! connected pairs (10,000 sockets, plus the listener), then runs both sides
//! alternately (`MIG_BENCH_RUNS` times, default 11) and prints the medians
//! and the ratio ours/theirs. Ours is a whole module run in-process
//! (`listeningport` and `connectedip` over every table, with the owning
//! processes); theirs is the `ss` process.
#![allow(clippy::unwrap_used)]

use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mig_modules::ModuleContext;
use mig_modules::registry::{ModuleName, run_module};

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let pairs: usize = std::env::var("MIG_BENCH_PAIRS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(5_000);
    let runs: usize = std::env::var("MIG_BENCH_RUNS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(11);
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let wanted = (pairs as u64) * 2 + 256;
    let raised = rustix::process::Rlimit {
        current: Some(limit.maximum.map_or(wanted, |max| {
            max.min(wanted.max(limit.current.unwrap_or(0)))
        })),
        maximum: limit.maximum,
    };
    rustix::process::setrlimit(rustix::process::Resource::Nofile, raised).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut sockets = Vec::with_capacity(pairs * 2);
    for _ in 0..pairs {
        sockets.push(TcpStream::connect(("127.0.0.1", port)).unwrap());
        sockets.push(listener.accept().unwrap().0);
    }
    let parameters = serde_json::json!({
        "listeningport": [port.to_string()],
        "connectedip": ["127.0.0.1"],
    });
    let ours = || {
        let started = Instant::now();
        let json = run_module(ModuleName::Netstat, &parameters, &ModuleContext::default());
        (started.elapsed(), json.matches("\"localport\":").count())
    };
    let theirs = || {
        let started = Instant::now();
        let output = Command::new("ss")
            .arg("-tanp")
            .stderr(Stdio::null())
            .output()
            .unwrap();
        (
            started.elapsed(),
            output.stdout.split(|b| *b == b'\n').count(),
        )
    };
    let (_, found) = ours();
    let (_, rows) = theirs();
    let (mut mine, mut other) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        mine.push(ours().0);
        other.push(theirs().0);
    }
    let (mine, other) = (median(mine), median(other));
    println!(
        "netstat: {} sockets; ours {mine:?} ({found} elements) vs ss -tanp {other:?} ({rows} lines): ratio {:.2}",
        sockets.len(),
        mine.as_secs_f64() / other.as_secs_f64()
    );
}
