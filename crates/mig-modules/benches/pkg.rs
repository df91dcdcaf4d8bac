//! The pkg module over the machine's dpkg database against `dpkg-query -W`.
//!
//! Run with `cargo bench -p mig-modules --bench pkg` (release profile). The
//! pair runs alternately (`MIG_BENCH_RUNS` times, default 21) after a
//! warm-up; the medians and the ratio ours/theirs are printed. Ours is the
//! whole module run in-process (inventory with the rpm probe, a `.` match
//! over every package, the result JSON); theirs is the `dpkg-query` process.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mig_modules::ModuleContext;
use mig_modules::registry::{ModuleName, run_module};

fn ours() -> (Duration, usize) {
    let parameters = serde_json::json!({"pkgmatch": {"matches": ["."]}});
    let started = Instant::now();
    let json = run_module(ModuleName::Pkg, &parameters, &ModuleContext::default());
    (started.elapsed(), json.matches("\"type\":").count())
}

fn theirs() -> (Duration, usize) {
    let started = Instant::now();
    let output = Command::new("dpkg-query")
        .arg("-W")
        .stderr(Stdio::null())
        .output()
        .unwrap();
    (
        started.elapsed(),
        output
            .stdout
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
    )
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    if Command::new("dpkg-query")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("pkg bench: dpkg-query not found, skipped");
        return;
    }
    let runs: usize = std::env::var("MIG_BENCH_RUNS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(21);
    let (_, packages) = ours();
    let (_, rows) = theirs();
    let (mut mine, mut other) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        mine.push(ours().0);
        other.push(theirs().0);
    }
    let (mine, other) = (median(mine), median(other));
    println!(
        "pkg: ours {mine:?} ({packages} packages) vs dpkg-query -W {other:?} ({rows} rows): ratio {:.2}",
        mine.as_secs_f64() / other.as_secs_f64()
    );
}
