//! The memory module's scan throughput against `dd` reading the same
//! process's memory from `/proc/<pid>/mem`, side by side.
//!
//! Run with `cargo bench -p mig-modules --bench memory` (release profile). A
//! `python3` child holds a zero-filled buffer of `MIG_BENCH_MIB` MiB (default
//! 1024) with a marker near its end. Ours: the whole module run in-process
//! with a byte-string search and a regex search over that process (every
//! readable region, so somewhat more than the buffer), its throughput being
//! `memoryread` over the run time. Theirs: `dd bs=1M` of the buffer alone.
//! Alternately `MIG_BENCH_RUNS` times (default 5) after a warm-up; the median
//! throughputs and the ratio ours/theirs are printed (goal >= 0.5).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

const CHILD: &str = r#"
import ctypes, sys, time
size = int(sys.argv[1])
buf = bytearray(size)
addr = ctypes.addressof((ctypes.c_char * size).from_buffer(buf))
marker = bytes.fromhex(sys.argv[2])[::-1]
buf[size - 4096:size - 4096 + len(marker)] = marker
sys.stdout.write("READY %d\n" % addr)
sys.stdout.flush()
time.sleep(3600)
"#;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let mib: usize = std::env::var("MIG_BENCH_MIB")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1024);
    let runs: usize = std::env::var("MIG_BENCH_RUNS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(5);
    let size = mib << 20;
    let marker = format!("mig-memory-bench-{}", std::process::id());
    let reversed: String = marker.bytes().rev().map(|b| format!("{b:02x}")).collect();
    let mut child = Command::new("python3")
        .args(["-c", CHILD, &size.to_string(), &reversed])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address: u64 = line.trim().strip_prefix("READY ").unwrap().parse().unwrap();
    let exe = std::fs::canonicalize(format!("/proc/{pid}/exe")).unwrap();
    let name = format!("^{}$", regex::escape(&exe.to_string_lossy()));
    let hex: String = marker.bytes().map(|b| format!("{b:02x}")).collect();
    let parameters = serde_json::json!({"searches": {
        "bytes": {"names": [name], "bytes": [hex], "options": {"matchall": true}},
        "regex": {"names": [name], "contents": ["mig-memory-bench-[0-9]+"], "options": {"matchall": true}},
    }});

    let ours = || -> f64 {
        let started = Instant::now();
        let result = mig_modules::memory::run(&parameters);
        let seconds = started.elapsed().as_secs_f64();
        assert!(result.success, "{:?}", result.errors);
        let elements = result.elements.unwrap();
        for label in ["bytes", "regex"] {
            assert!(
                elements[label]
                    .iter()
                    .any(|entry| entry.process.pid == f64::from(pid)),
                "{label} not found"
            );
        }
        result.statistics.unwrap().memoryread / seconds / 1e6
    };
    let theirs = || -> f64 {
        let started = Instant::now();
        let status = Command::new("dd")
            .args([
                &format!("if=/proc/{pid}/mem"),
                "of=/dev/null",
                "bs=1M",
                &format!("skip={address}"),
                &format!("count={size}"),
                "iflag=skip_bytes,count_bytes",
            ])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        size as f64 / started.elapsed().as_secs_f64() / 1e6
    };
    ours();
    theirs();
    let (mut mine, mut other) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        mine.push(ours());
        other.push(theirs());
    }
    let (mine, other) = (median(mine), median(other));
    println!(
        "memory scan of a {mib} MiB process: module {mine:.0} MB/s (2 searches), dd {other:.0} MB/s, ratio {:.2} (goal >= 0.5)",
        mine / other
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
