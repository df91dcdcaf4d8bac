//! The file module against find, grep and sha256sum on the same warm trees.
//!
//! Run with `cargo bench -p mig-modules --bench file` (release profile). Each
//! pair runs alternately (`MIG_BENCH_RUNS` times, default 5) after a warm-up;
//! the medians and the ratio ours/theirs are printed.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mig_modules::file::{FileResult, Parameters, run_parameters};

fn ours(search: serde_json::Value) -> (Duration, FileResult) {
    let parameters: Parameters =
        mig_protocol::gojson::from_value(&serde_json::json!({ "searches": { "s1": search } }))
            .unwrap();
    let started = Instant::now();
    let result = run_parameters(&parameters);
    (started.elapsed(), result)
}

fn theirs(command: &str) -> Duration {
    let started = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let _ = status;
    started.elapsed()
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("MIG_BENCH_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(5);
    let unlimited = serde_json::json!({"maxdepth": 0, "matchlimit": 0, "matchall": true});
    let sha = {
        let output = Command::new("sh")
            .arg("-c")
            .arg("sha256sum /usr/bin/ls | cut -d' ' -f1")
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    let cases: Vec<(&str, serde_json::Value, String, f64)> = vec![
        (
            "name regex over /usr",
            serde_json::json!({"paths": ["/usr"], "names": ["^lib[a-z]*\\.so"], "options": unlimited}),
            r"find /usr -regex '.*/lib[a-z]*\.so.*'".to_owned(),
            1.2,
        ),
        (
            "content regex over /usr/include",
            serde_json::json!({"paths": ["/usr/include"], "contents": ["EXIT_[A-Z]+"], "options": unlimited}),
            "grep -rE 'EXIT_[A-Z]+' /usr/include".to_owned(),
            1.5,
        ),
        (
            "sha256 over /usr/bin",
            serde_json::json!({"paths": ["/usr/bin"], "sha2": [sha], "options": unlimited}),
            "find /usr/bin -type f -exec sha256sum {} +".to_owned(),
            1.2,
        ),
    ];
    println!("{runs} alternating runs per pair after a warm-up; medians");
    for (name, search, command, goal) in cases {
        // Warm the cache with both.
        let (_, warm) = ours(search.clone());
        theirs(&command);
        let mut our_times = Vec::new();
        let mut their_times = Vec::new();
        for _ in 0..runs {
            our_times.push(ours(search.clone()).0);
            their_times.push(theirs(&command));
        }
        let (ours_median, theirs_median) = (median(our_times), median(their_times));
        let ratio = ours_median.as_secs_f64() / theirs_median.as_secs_f64();
        let stats = warm.statistics.unwrap_or_default();
        println!(
            "{name}: ours {:.1} ms ({} files, {} hits) vs `{command}` {:.1} ms: ratio {ratio:.2} (goal <= {goal}) {}",
            ours_median.as_secs_f64() * 1000.0,
            stats.filescount,
            stats.totalhits,
            theirs_median.as_secs_f64() * 1000.0,
            if ratio <= goal { "met" } else { "NOT met" }
        );
    }
}
