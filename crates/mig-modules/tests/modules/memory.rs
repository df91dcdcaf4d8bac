//! Acceptance test of the memory module (alone in its test binary, since it
//! measures this process's peak RSS): a `python3` child holds one marker in a
//! large buffer and another across a 4 MiB boundary; both are found while the
//! child keeps writing a heartbeat (it is never stopped), and the scanner's
//! peak RSS stays under 64 MB. The throughput next to `dd` is measured by
//! `benches/memory.rs`.
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

/// The child: a zero-filled buffer of `size` bytes; marker A (given reversed,
/// in hex) written at buffer offset 4096, marker B written so that it
/// straddles the first 4 MiB address boundary after 16 MiB into the buffer.
/// The markers are written byte by byte so no other copy exists in the child.
/// Prints `READY <buffer address> <boundary>` then a heartbeat byte every 5 ms.
const CHILD: &str = r#"
import ctypes, os, sys, time
size = int(sys.argv[1])
buf = bytearray(size)
addr = ctypes.addressof((ctypes.c_char * size).from_buffer(buf))
def put(pos, reversed_hex):
    n = len(reversed_hex) // 2
    for i in range(n):
        j = n - 1 - i
        buf[pos + i] = int(reversed_hex[2 * j:2 * j + 2], 16)
put(4096, sys.argv[2])
boundary = ((addr + (16 << 20)) // (4 << 20) + 1) * (4 << 20)
n = len(sys.argv[3]) // 2
put(boundary - addr - n // 2, sys.argv[3])
sys.stdout.write("READY %d %d\n" % (addr, boundary))
sys.stdout.flush()
while True:
    os.write(1, b".")
    time.sleep(0.005)
"#;

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn markers_found_without_stopping_the_target_and_rss_bounded() {
    let _serial = super::SERIAL.lock().unwrap_or_else(|err| err.into_inner());
    let size: usize = 256 << 20;
    let nonce = super::nonce();
    let marker_a = format!("MARKERA-{nonce}-inbuffer");
    let marker_b = format!("MARKERB-{nonce}-across-4MiB");
    let (mut command, realtime) = super::python_child();
    let mut child = command
        .args([
            "-c",
            CHILD,
            &size.to_string(),
            &super::reversed_hex(&marker_a),
            &super::reversed_hex(&marker_b),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    stdout.read_line(&mut ready).unwrap();
    let fields: Vec<u64> = ready
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap())
        .collect();
    let (address, boundary) = (fields[0], fields[1]);
    assert_eq!(boundary % (4 << 20), 0);
    assert_eq!(boundary % mig_modules::memory::CHUNK, 0, "a chunk boundary");
    assert!(boundary > address && boundary < address + size as u64);

    let heartbeat = super::Heartbeat::watch(stdout);
    std::thread::sleep(Duration::from_millis(200));

    // Peak RSS of this process from here on (writing 5 resets VmHWM).
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let rss_before = status_kib("VmRSS:");
    let name = regex::escape(
        &std::fs::canonicalize(format!("/proc/{pid}/exe"))
            .unwrap()
            .to_string_lossy(),
    );
    let parameters = json!({"searches": {
        "a": {"names": [name], "contents": [format!("MARKERA-{nonce}-[a-z]+")],
              "options": {"matchall": true, "logfailures": true}},
        "b": {"names": [name], "bytes": [hex(&marker_b)],
              "options": {"matchall": true}},
        "none": {"names": [name], "bytes": [hex("never-in-any-process-memory-at-all")],
              "options": {"matchall": true}}
    }});
    let started = Instant::now();
    let result = mig_modules::memory::run(&parameters);
    let scan_time = started.elapsed();
    let scan_end = Instant::now();
    let peak_kib = status_kib("VmHWM:");
    std::thread::sleep(Duration::from_millis(50));

    assert!(result.success, "{:?}", result.errors);
    let elements = result.elements.as_ref().unwrap();
    let pids =
        |label: &str| -> Vec<f64> { elements[label].iter().map(|e| e.process.pid).collect() };
    assert!(
        pids("a").contains(&f64::from(pid)),
        "marker A: {elements:?}"
    );
    assert!(
        pids("b").contains(&f64::from(pid)),
        "marker B across 4 MiB: {elements:?}"
    );
    assert_eq!(pids("none"), vec![0.0]);
    let statistics = result.statistics.as_ref().unwrap();
    assert!(
        statistics.memoryread >= size as f64,
        "the whole buffer was read: {statistics:?}"
    );

    // The child was never stopped: no heartbeat gap over 50 ms during the scan.
    let (max_gap, beats) = heartbeat.max_gap(started, scan_end, Duration::from_millis(10));
    eprintln!(
        "scan {:?} of {} bytes ({} beats, max heartbeat gap {max_gap:?}, realtime child: {realtime}); peak RSS {peak_kib} KiB (before {rss_before} KiB), target buffer {} MiB",
        scan_time,
        statistics.memoryread,
        beats,
        size >> 20
    );
    assert!(max_gap <= Duration::from_millis(50), "gap {max_gap:?}");
    assert!(peak_kib <= 64 * 1024, "peak RSS {peak_kib} KiB");

    child.kill().unwrap();
    child.wait().unwrap();
    heartbeat.join();
}
