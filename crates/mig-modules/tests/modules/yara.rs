//! Acceptance tests of the yara module against Debian's `yara` command on
//! the same inputs: a fixture tree (`yara -r`), and the memory of a child
//! process (`yara <pid>`) holding one marker in a large buffer and another
//! across a boundary of the module's scan blocks — found while the child
//! keeps writing a heartbeat (it is never stopped).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mig_modules::result::{Module, ModuleContext};
use mig_modules::yara::{BLOCK_OVERLAP, Yara, YaraResult, blocks};
use serde_json::json;

type Found = BTreeMap<String, BTreeSet<String>>;

/// What the module found, object → rules.
fn module_found(result: &YaraResult) -> Found {
    assert!(result.success, "{:?}", result.errors);
    let mut found = Found::new();
    for entry in result
        .elements
        .iter()
        .flat_map(|e| e.matches.iter().flatten())
    {
        found
            .entry(entry.object.clone())
            .or_default()
            .extend(entry.matched_rules.iter().cloned());
    }
    found
}

/// What the `yara` command prints (`<rule> <object>` lines), object → rules.
fn yara_found(args: &[&str]) -> Found {
    let output = Command::new("yara").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "yara {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut found = Found::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let (rule, object) = line.split_once(' ').unwrap();
        found
            .entry(object.to_owned())
            .or_default()
            .insert(rule.to_owned());
    }
    found
}

const TREE_RULES: &str = r#"
rule text_marker { strings: $a = "mig-yara-text-marker" condition: $a }
rule nocase_marker { strings: $a = "CaseLess-Marker" nocase condition: $a }
rule wide_marker { strings: $a = "widemark" wide condition: $a }
rule mz_pe { strings: $h = { 4D 5A [2-6] 50 45 ?? 00 } condition: $h at 0 }
rule regex_serial { strings: $r = /serial-[0-9]{4}-[A-F]{2}\b/ condition: $r }
rule two_of_three { strings: $a = "alpha" $b = "bravo" $c = "charlie" condition: 2 of them }
rule three_ticks { strings: $a = "tick" condition: #a >= 3 }
rule over_a_megabyte { condition: filesize > 1MB }
rule elf_magic { condition: uint32(0) == 0x464c457f }
rule whole_word { strings: $a = "word" fullword condition: $a }
private rule hidden { strings: $a = "hidden-marker" condition: $a }
rule uses_hidden { condition: hidden and filesize < 100KB }
rule never { condition: false }
"#;

#[test]
fn rules_over_a_fixture_tree_match_as_yara_r() {
    let _serial = super::SERIAL.lock().unwrap_or_else(|err| err.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |name: &str, bytes: &[u8]| {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    write("plain/text.txt", b"a line with mig-yara-text-marker inside");
    write("plain/nocase.txt", b"... cASELESS-mARKER ...");
    let wide: Vec<u8> = "xx widemark xx"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    write("plain/wide.bin", &wide);
    write("plain/narrow.bin", b"widemark is narrow here");
    write("bin/fake.exe", b"MZ\x90\x00\x03\x00PE\x01\x00 rest");
    write("bin/notpe.exe", b"xMZ\x90\x00PE\x00\x00");
    write("bin/elf", b"\x7fELF\x02\x01\x01 tick tick tick");
    write(
        "deep/a/b/c/serial.log",
        b"serial-2024-AF done, serial-99-ZZ not",
    );
    write("deep/a/b/two.txt", b"alpha and charlie");
    write("deep/a/one.txt", b"only bravo");
    write("deep/words.txt", b"swordfish; keyword; words");
    write("deep/word.txt", b"the word here");
    write("secret/h.txt", b"has hidden-marker inside");
    write("empty", b"");
    let mut big = vec![b'.'; 3 << 20];
    big[(3 << 20) - 100..(3 << 20) - 80].copy_from_slice(b"mig-yara-text-marker");
    write("big/large.dat", &big);
    std::fs::write(root.join("rules.yar"), TREE_RULES).unwrap();

    let root_text = root.to_str().unwrap();
    let result = Yara::run(
        &json!({"yara": TREE_RULES, "filesearch": format!("-path {root_text} -name .")}),
        &ModuleContext::default(),
    );
    let mut ours = module_found(&result);
    let rules_file = root.join("rules.yar");
    ours.retain(|object, _| std::path::Path::new(object) != rules_file);
    let mut theirs = yara_found(&["-r", rules_file.to_str().unwrap(), root_text]);
    theirs.retain(|object, _| std::path::Path::new(object) != rules_file);
    assert_eq!(ours, theirs);
    // The fixture exercises every rule but `never` and the private one.
    let rules: BTreeSet<&String> = ours.values().flatten().collect();
    assert_eq!(rules.len(), 11, "{rules:?}");
    assert_eq!(result.errors, None);
}

/// The child: a zero-filled buffer of `size` bytes; reads `<offset>
/// <reversed hex>` lines and writes the bytes at that buffer offset (so no
/// other copy of a marker exists in the child); a thread writes a heartbeat
/// byte to stderr every 5 ms.
const CHILD: &str = r#"
import ctypes, os, sys, threading, time
size = int(sys.argv[1])
buf = bytearray(size)
addr = ctypes.addressof((ctypes.c_char * size).from_buffer(buf))
def beat():
    while True:
        os.write(2, b".")
        time.sleep(0.005)
threading.Thread(target=beat, daemon=True).start()
sys.stdout.write("READY %d\n" % addr)
sys.stdout.flush()
for line in sys.stdin:
    pos, rev = line.split()
    pos = int(pos)
    n = len(rev) // 2
    for i in range(n):
        j = n - 1 - i
        buf[pos + i] = int(rev[2 * j:2 * j + 2], 16)
    sys.stdout.write("OK\n")
    sys.stdout.flush()
"#;

#[test]
fn rules_over_a_child_processes_memory_match_as_yara_pid() {
    let _serial = super::SERIAL.lock().unwrap_or_else(|err| err.into_inner());
    let size: usize = 96 << 20;
    let nonce = super::nonce();
    let (mut command, realtime) = super::python_child();
    let mut child = command
        .args(["-c", CHILD, &size.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let address: u64 = line.trim().strip_prefix("READY ").unwrap().parse().unwrap();
    let mut put = |offset: u64, marker: &str| {
        writeln!(stdin, "{offset} {}", super::reversed_hex(marker)).unwrap();
        let mut ok = String::new();
        stdout.read_line(&mut ok).unwrap();
        assert_eq!(ok, "OK\n");
    };

    // Marker B straddles the end of a scan block that lies inside the buffer.
    let marker_a = format!("MIGYARA-A-{nonce}-inbuffer");
    let marker_b = format!("MIGYARA-B-{nonce}-across-blocks");
    put(4096, &marker_a);
    let mappings = mig_modules::memory::parse_maps(
        &std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap(),
    );
    let cut = blocks(&mig_modules::memory::readable_regions(&mappings, 0));
    let block_end = cut
        .iter()
        .map(|(start, size)| start + *size as u64)
        .find(|end| *end > address + (8 << 20) && *end + (8 << 20) < address + size as u64)
        .expect("a block boundary inside the buffer");
    let half = marker_b.len() as u64 / 2;
    assert!(half < BLOCK_OVERLAP as u64);
    put(block_end - half - address, &marker_b);
    // Marker C lies wholly in the overlap both blocks read: libyara keeps one
    // match per address, so `#c` is 1 as with `yara <pid>`.
    let marker_c = format!("MIGYARA-C-{nonce}-in-overlap");
    put(block_end - (BLOCK_OVERLAP as u64 / 2) - address, &marker_c);

    let rules = format!(
        r#"
rule marker_a {{ strings: $a = "MIGYARA-A-{nonce}-inbuffer" condition: $a }}
rule marker_b {{ strings: $b = "MIGYARA-B-{nonce}-across-blocks" condition: $b }}
rule both {{ condition: marker_a and marker_b }}
rule absent {{ strings: $z = "MIGYARA-Z-{nonce}" condition: $z }}
rule hex_a {{ strings: $h = {{ 4D 49 47 59 41 52 41 2D 41 2D }} condition: #h == 1 }}
rule once_c {{ strings: $c = "MIGYARA-C-{nonce}-in-overlap" condition: #c == 1 }}
rule twice_c {{ strings: $c = "MIGYARA-C-{nonce}-in-overlap" condition: #c > 1 }}
"#
    );

    let heartbeat = super::Heartbeat::watch(child.stderr.take().unwrap());
    std::thread::sleep(Duration::from_millis(100));
    let exe = std::fs::canonicalize(format!("/proc/{pid}/exe")).unwrap();
    let started = Instant::now();
    let result = Yara::run(
        &json!({"yara": rules, "processname": format!("^{}$", regex::escape(&exe.to_string_lossy()))}),
        &ModuleContext::default(),
    );
    let scan_end = Instant::now();
    std::thread::sleep(Duration::from_millis(30));
    let object = format!("pid {pid} {}", exe.to_string_lossy());
    let ours: BTreeSet<String> = module_found(&result).remove(&object).unwrap_or_default();

    let rules_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(rules_file.path(), &rules).unwrap();
    let theirs: BTreeSet<String> =
        yara_found(&[rules_file.path().to_str().unwrap(), &pid.to_string()])
            .remove(&pid.to_string())
            .unwrap_or_default();
    let expected: BTreeSet<String> = ["marker_a", "marker_b", "both", "hex_a", "once_c"]
        .map(String::from)
        .into();
    assert_eq!(ours, expected, "{result:?}");
    assert_eq!(theirs, expected, "yara <pid>");

    let (max_gap, _) = heartbeat.max_gap(started, scan_end, Duration::ZERO);
    eprintln!(
        "yara scan of pid {pid} ({} MiB buffer) in {:?}, max heartbeat gap {max_gap:?} (realtime child: {realtime})",
        size >> 20,
        scan_end - started
    );
    assert!(max_gap <= Duration::from_millis(50), "gap {max_gap:?}");

    child.kill().unwrap();
    child.wait().unwrap();
    heartbeat.join();
}
