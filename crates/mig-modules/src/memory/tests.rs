//! Tests of the memory module: the parameter table of the original, the maps
//! parser, searches of this test process's own memory, and the printer.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;
use crate::registry::{ModuleName, run_module};

fn params(search: serde_json::Value) -> Parameters {
    mig_protocol::gojson::from_value(&json!({ "searches": { "s1": search } })).unwrap()
}

#[test]
fn parameter_table() {
    let valid = [
        json!({"names": ["firefox$"], "libraries": ["libssl"], "bytes": ["afd37df8b18462"]}),
        json!({"libraries": ["^[a-z]{10,50}$"]}),
        json!({"bytes": ["afd37df8b18462", "ffffff"]}),
        json!({"contents": ["^(.+)[a-zA-Z0-9]{10.50}$"]}),
    ];
    for search in valid {
        assert_eq!(validate(&params(search.clone())), Ok(()), "{search}");
    }
    let label = |label: &str| {
        let parameters: Parameters =
            mig_protocol::gojson::from_value(&json!({ "searches": { label: {"names": ["x"]} } }))
                .unwrap();
        validate(&parameters)
    };
    assert_eq!(
        label("*&^!*@&#^*!"),
        Err("The syntax of label '*&^!*@&#^*!' is invalid. Must match regex ^([a-zA-Z0-9_-]){1,64}$".to_owned())
    );
    assert_eq!(label(""), Err("empty labels are not permitted".to_owned()));
    assert!(label(&"a".repeat(96)).is_err());
    assert!(label(&"a".repeat(64)).is_ok());
    assert_eq!(
        validate(&params(json!({"contents": ["["]}))),
        Err("Invalid regexp '['. Must be a regexp. Compilation failed with 'error parsing regexp: missing closing ]: `[`'".to_owned())
    );
    assert_eq!(
        validate(&params(json!({"bytes": ["zzzzzzzz"]}))),
        Err("Invalid bytes 'zzzzzzzz'. Must be an hexadecimal byte string without leading 0x. ex: 'ff00d1ab'".to_owned())
    );
    assert!(validate(&params(json!({"bytes": ["abc"]}))).is_err());
    assert_eq!(decode_hex("ff00D1ab"), Some(vec![0xff, 0, 0xd1, 0xab]));
}

#[test]
fn maps_regions_and_libraries() {
    let maps = "\
55d0c0a00000-55d0c0a02000 r--p 00000000 08:01 131 /usr/bin/cat
55d0c0a02000-55d0c0a06000 r-xp 00002000 08:01 131 /usr/bin/cat
55d0c0a08000-55d0c0a09000 ---p 00000000 00:00 0 
7f0000000000-7f0000001000 rw-p 00000000 00:00 0          [heap]
7f0000001000-7f0000002000 r--p 00000000 08:01 200        /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000002000-7f0000003000 r--p 00000000 08:01 200        /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000004000-7f0000005000 rw-s 00000000 00:05 3          /dev/zero (deleted)
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]
garbage line
";
    let mappings = parse_maps(maps);
    assert_eq!(mappings.len(), 8);
    assert_eq!(mappings[3].path, "[heap]");
    assert_eq!(mappings[2].path, "");
    assert_eq!(
        libraries(&mappings, "/usr/bin/cat"),
        vec!["/usr/lib/x86_64-linux-gnu/libc.so.6".to_owned()]
    );
    let regions = readable_regions(&mappings, 0);
    assert_eq!(
        regions,
        vec![
            Region {
                start: 0x55d0c0a00000,
                end: 0x55d0c0a06000
            },
            Region {
                start: 0x7f0000000000,
                end: 0x7f0000003000
            },
            Region {
                start: 0x7f0000004000,
                end: 0x7f0000005000
            },
        ]
    );
    // The offset clips the regions below it.
    let regions = readable_regions(&mappings, 0x7f0000000800);
    assert_eq!(regions[0].start, 0x7f0000000800);
    assert_eq!(regions.len(), 2);
}

/// A marker that exists in this process's memory only inside `holder`.
fn marker_in_memory() -> (Vec<u8>, String) {
    let random: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        ^ u64::from(std::process::id());
    let text = format!("memorymarker{random:016x}");
    let hex = text
        .bytes()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>();
    (text.into_bytes(), hex)
}

fn self_name() -> String {
    std::fs::canonicalize("/proc/self/exe")
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn self_search_finds_this_process() {
    let (holder, hex) = marker_in_memory();
    let name = regex::escape(&self_name());
    // Memory is read in address order, this test binary's own image (over
    // 10 MB in a debug build, and growing with the crate) before the heap
    // that holds the marker: the limit leaves room for it. The search stops
    // at the first hit of every check, so the limit costs nothing.
    let parameters = json!({"searches": {"s1": {
        "names": [name],
        "contents": ["memorymarker[0-9a-f]{16}"],
        "bytes": [hex],
        "options": {"matchall": true, "maxlength": 256_000_000.0, "logfailures": true}
    }}});
    let result = run(&parameters);
    std::hint::black_box(&holder);
    assert!(result.success, "{:?}", result.errors);
    assert!(result.foundanything);
    let entries = &result.elements.as_ref().unwrap()["s1"];
    let me = entries
        .iter()
        .find(|entry| entry.process.pid == f64::from(std::process::id()))
        .expect("this process is found");
    assert_eq!(me.process.name, self_name());
    assert_eq!(me.search.options.maxlength, 0.0);
    assert!(me.search.options.matchall);
    let statistics = result.statistics.as_ref().unwrap();
    assert!(statistics.processcount >= 1.0);
    assert!(statistics.memoryread > 0.0);
    let all = print(&result, false);
    assert!(all.len() >= 2, "{all:?}");
    assert!(all.last().unwrap().starts_with("Statistics: "), "{all:?}");
    let found = print(&result, true);
    assert!(
        found.contains(&format!(
            "{} [pid:{}] in search 's1'",
            self_name(),
            std::process::id()
        )),
        "{found:?}"
    );
    // The JSON the module process prints keeps the struct order.
    let printed = run_module(ModuleName::Memory, &parameters, &ModuleContext::default());
    assert!(
        printed.starts_with(
            r#"{"foundanything":true,"success":true,"elements":{"s1":[{"process":{"name":"#
        ),
        "{printed}"
    );
    assert!(
        printed.contains(r#""options":{"logfailures":true,"matchall":true}}"#),
        "{printed}"
    );
    assert!(
        printed.contains(r#""statistics":{"processcount":"#),
        "{printed}"
    );
}

#[test]
fn nonsense_finds_nothing() {
    let parameters = json!({"searches": {"s1": {
        "names": ["1983yrotewdshhhoiufhes7fd29"],
        "bytes": ["ffffffffaaaabbbbccccddddeeee"],
        "options": {"matchall": true}
    }}});
    let result = run(&parameters);
    assert!(result.success);
    assert!(!result.foundanything);
    let entries = &result.elements.as_ref().unwrap()["s1"];
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].process, Process::default());
    assert_eq!(print(&result, true), Vec::<String>::new());
    let all = print(&result, false);
    assert_eq!(all[0], "0 match found in search 's1'");
}

#[test]
fn matchany_reports_each_check() {
    let (holder, hex) = marker_in_memory();
    let name = regex::escape(&self_name());
    let parameters = json!({"searches": {"any": {
        "names": [name, "^nosuchprocessname$"],
        "bytes": [hex],
    }}});
    let result = run(&parameters);
    std::hint::black_box(&holder);
    let entries = &result.elements.as_ref().unwrap()["any"];
    let pid = f64::from(std::process::id());
    assert!(
        entries
            .iter()
            .any(|e| e.process.pid == pid && e.search.names == [name.clone()])
    );
    assert!(
        entries
            .iter()
            .any(|e| e.process.pid == 0.0 && e.search.names == ["^nosuchprocessname$"])
    );
    assert!(
        entries
            .iter()
            .any(|e| e.process.pid == pid && e.search.bytes == [hex.clone()])
    );
    let lines = print(&result, false);
    assert!(
        lines.contains(
            &"0 match found in search 'any' on checks name='^nosuchprocessname$'".to_owned()
        ),
        "{lines:?}"
    );
    assert!(lines.contains(&format!(
        "{} [pid:{}] in search 'any' on checks byte='{hex}'",
        self_name(),
        std::process::id()
    )));
}

#[test]
fn library_check_uses_the_maps() {
    let name = regex::escape(&self_name());
    let parameters = json!({"searches": {"s1": {
        "names": [name], "libraries": ["libc"], "options": {"matchall": true}
    }}});
    let result = run(&parameters);
    let entries = &result.elements.as_ref().unwrap()["s1"];
    assert!(
        entries
            .iter()
            .any(|e| e.process.pid == f64::from(std::process::id())),
        "{entries:?}"
    );
}

#[test]
fn fatal_paths() {
    let result = run(&json!({"searches": {"s1": {"bytes": ["0x00"]}}}));
    assert!(!result.success);
    assert_eq!(result.elements, Some(Elements::new()));
    let printed = run_module(
        ModuleName::Memory,
        &json!({"searches": {"s1": {"names": ["("]}}}),
        &ModuleContext::default(),
    );
    assert!(
        printed.starts_with(r#"{"foundanything":false,"success":false,"elements":{},"statistics":{"processcount":0,"memoryread":0,"totalhits":0,"exectime":""},"errors":["Invalid regexp '('"#),
        "{printed}"
    );
}
