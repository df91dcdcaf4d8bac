//! The yara module over a 1 GiB fixture tree against Debian's `yara -r`.
//!
//! Run with `cargo bench -p mig-modules --bench yara` (release profile). The
//! tree (512 files of 2 MiB of pseudo-random bytes, markers in some of
//! them, in 16 directories) is made once under `MIG_BENCH_DIR` (default
//! `/tmp/mig-yara-bench`) and kept for the next run. Both sides scan it warm
//! (page cache), alternately, `MIG_BENCH_RUNS` times (default 5); the
//! medians and the ratio ours/theirs are printed, and both must report the
//! same matching files. Ours is the whole module run in-process (file search,
//! scan on every core, the result); theirs is the `yara` process with its
//! default threads.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mig_modules::ModuleContext;
use mig_modules::result::Module;
use mig_modules::yara::Yara;

const FILES: usize = 512;
const FILE_SIZE: usize = 2 << 20;

const RULES: &str = r#"
rule bench_text { strings: $a = "mig-bench-marker-one" condition: $a }
rule bench_hex { strings: $h = { 6D 69 67 ?? 62 65 6E 63 68 [0-8] 74 77 6F } condition: $h }
rule bench_regex { strings: $r = /mig-bench-serial-[0-9]{6}/ condition: $r }
rule bench_nocase { strings: $a = "MIG-Bench-Case" nocase condition: $a }
rule bench_two { strings: $a = "mig-bench-alpha" $b = "mig-bench-omega" condition: all of them }
"#;

fn make_tree(root: &Path) {
    let done = root.join(".complete");
    if done.exists() {
        return;
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut buffer = vec![0u8; FILE_SIZE];
    for index in 0..FILES {
        let dir = root.join(format!("d{:02}", index % 16));
        std::fs::create_dir_all(&dir).unwrap();
        for chunk in buffer.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let marker: &[u8] = match index % 32 {
            0 => b"mig-bench-marker-one",
            1 => b"mig-benchABCtwo",
            2 => b"mig-bench-serial-123456",
            3 => b"mig-bENCH-cASE",
            4 => b"mig-bench-alpha .. mig-bench-omega",
            _ => b"",
        };
        let at = (index * 7919) % (FILE_SIZE - 64);
        buffer[at..at + marker.len()].copy_from_slice(marker);
        std::fs::write(dir.join(format!("f{index:04}.bin")), &buffer).unwrap();
    }
    std::fs::write(done, b"").unwrap();
}

fn ours(root: &Path) -> (Duration, Vec<String>) {
    let parameters = serde_json::json!({
        "yara": RULES,
        "filesearch": format!("-path {} -name \\.bin$ -matchlimit 100000", root.display()),
    });
    let started = Instant::now();
    let result = Yara::run(&parameters, &ModuleContext::default());
    let elapsed = started.elapsed();
    assert!(result.success, "{:?}", result.errors);
    let mut found: Vec<String> = result
        .elements
        .unwrap()
        .matches
        .unwrap_or_default()
        .into_iter()
        .map(|entry| format!("{} {}", entry.object, entry.matched_rules.join(",")))
        .collect();
    found.sort();
    (elapsed, found)
}

fn theirs(rules: &Path, root: &Path) -> (Duration, Vec<String>) {
    let started = Instant::now();
    let output = Command::new("yara")
        .arg("-r")
        .arg(rules)
        .arg(root)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(output.status.success());
    let mut by_file: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let (rule, file) = line.split_once(' ').unwrap();
        if file.ends_with(".bin") {
            by_file
                .entry(file.to_owned())
                .or_default()
                .push(rule.to_owned());
        }
    }
    let mut found: Vec<String> = by_file
        .into_iter()
        .map(|(file, mut rules)| {
            let order = [
                "bench_text",
                "bench_hex",
                "bench_regex",
                "bench_nocase",
                "bench_two",
            ];
            rules.sort_by_key(|rule| order.iter().position(|known| known == rule));
            format!("{file} {}", rules.join(","))
        })
        .collect();
    found.sort();
    (elapsed, found)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    if Command::new("yara").arg("--version").output().is_err() {
        println!("yara bench: the yara command is not installed (apt-get install yara), skipped");
        return;
    }
    let runs: usize = std::env::var("MIG_BENCH_RUNS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(5);
    let root = PathBuf::from(
        std::env::var("MIG_BENCH_DIR").unwrap_or_else(|_| "/tmp/mig-yara-bench".to_owned()),
    );
    make_tree(&root);
    let rules = root.join("rules.yar");
    std::fs::write(&rules, RULES).unwrap();
    // Warm-up (page cache) and agreement.
    let (_, mine_found) = ours(&root);
    let (_, their_found) = theirs(&rules, &root);
    assert_eq!(mine_found, their_found, "the module and yara -r disagree");
    assert_eq!(mine_found.len(), FILES / 32 * 5);
    let (mut mine, mut other) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        mine.push(ours(&root).0);
        other.push(theirs(&rules, &root).0);
    }
    let (mine, other) = (median(mine), median(other));
    let gib = (FILES * FILE_SIZE) as f64 / f64::from(1u32 << 30);
    println!(
        "yara over {gib:.2} GiB ({FILES} files, {} matching): module {:.3} s, yara -r {:.3} s, ratio {:.2} (goal <= 1.5)",
        mine_found.len(),
        mine.as_secs_f64(),
        other.as_secs_f64(),
        mine.as_secs_f64() / other.as_secs_f64()
    );
}
