//! Tests of the file module: the Go test table on the Go fixture, every
//! option, privacy masking, and the golden runs of the original.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;

const HEADER: &str = "--- header for first file ---";

fn testfile0() -> Vec<u8> {
    let mut text = format!("{HEADER}\nroot:x:0:0:root:/root:/bin/bash\n");
    while text.len() < 189 {
        text.push('x');
    }
    text.push('\n');
    text.into_bytes()
}

fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// The Go test fixture: a base dir and `a/b/…/n`, each with testfile0…9 and
/// `dirlink` (valid in the base, broken in the deep dir).
fn go_fixture() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let base = temp.path().join("base");
    let deep = "abcdefghijklmn"
        .chars()
        .fold(base.clone(), |dir, letter| dir.join(letter.to_string()));
    fs::create_dir_all(&deep).unwrap();
    for dir in [&base, &deep] {
        let files: Vec<Vec<u8>> = vec![
            testfile0(),
            b"--- second file ---\nsome text\n".to_vec(),
            Vec::new(),
            b"FOOBAR line\nanother line\n".to_vec(),
            (0..=255u8).collect(),
            b"windows\r\nline endings\r\n".to_vec(),
            gzip(b"--- gzipped header ---\ncompressed content\n", 6),
            gzip(&[b'z'; 251], 0),
            vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff],
        ];
        for (index, content) in files.iter().enumerate() {
            let path = dir.join(format!("testfile{index}"));
            fs::write(&path, content).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        }
        symlink("testfile0", dir.join("testfile9")).unwrap();
        symlink("a", dir.join("dirlink")).unwrap();
    }
    (temp, base, deep)
}

fn run_search(search: Value) -> FileResult {
    let parameters: Parameters =
        mig_protocol::gojson::from_value(&json!({"searches": {"s1": search}})).unwrap();
    run_parameters(&parameters)
}

/// Hits of `s1`, relative to `base`, sorted.
fn hits(result: &FileResult, base: &Path) -> Vec<String> {
    let prefix = format!("{}/", base.display());
    let mut files: Vec<String> = result
        .elements
        .iter()
        .flatten()
        .flat_map(|(_, entries)| entries)
        .filter(|entry| !entry.file.is_empty())
        .map(|entry| entry.file.replace(&prefix, ""))
        .collect();
    files.sort();
    files
}

/// Runs one search on the fixture and compares its hits (sorted, relative to
/// the base) and that every expected error pattern appears.
fn check(base: &Path, mut search: Value, expected: &[&str], errors: &[&str]) {
    if search.get("paths").is_none() {
        search["paths"] = json!([base]);
    }
    if search.get("options").is_none() {
        search["options"] = json!({});
    }
    if search["options"].get("matchall").is_none() {
        search["options"]["matchall"] = json!(true);
    }
    let result = run_search(search.clone());
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(hits(&result, base), expected, "search {search}");
    let found = result.errors.clone().unwrap_or_default();
    for pattern in errors {
        let regex = regex::Regex::new(pattern).unwrap();
        assert!(
            found.iter().any(|error| regex.is_match(error)),
            "search {search}: no error like {pattern} in {found:?}"
        );
    }
}

fn not0_and_0() -> Vec<&'static str> {
    vec![
        "testfile0",
        "testfile1",
        "testfile2",
        "testfile3",
        "testfile4",
        "testfile5",
        "testfile6",
        "testfile7",
        "testfile8",
        "testfile9",
    ]
}

const DEEP: &str = "a/b/c/d/e/f/g/h/i/j/k/l/m/n";

fn both(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .flat_map(|name| [name.to_string(), format!("{DEEP}/{name}")])
        .collect()
}

#[test]
fn go_test_table() {
    let (_temp, base, _deep) = go_fixture();
    let all: Vec<String> = both(
        &(0..10)
            .map(|i| format!("testfile{i}"))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let header_both = both(&["testfile0", "testfile9"]);
    let header_both: Vec<&str> = header_both.iter().map(String::as_str).collect();
    let others: Vec<String> = (1..9).map(|i| format!("testfile{i}")).collect();
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    let not0: Vec<String> = (1..10).map(|i| format!("testfile{i}")).collect();
    let not0: Vec<&str> = not0.iter().map(String::as_str).collect();
    let depth1 = json!({"maxdepth": 1, "matchall": true});
    let header = format!("^{HEADER}$");
    let md5_0 = format!("{:x}", <md5::Md5 as sha2::Digest>::digest(testfile0()));

    // Content hits include the symlink.
    check(
        &base,
        json!({"contents": [header]}),
        &header_both,
        &["^ERROR: followSymLink\\(\\)"],
    );
    // A file, or a symlink to a file, given as the path is evaluated alone.
    check(
        &base,
        json!({"paths": [base.join("testfile0")], "contents": [header]}),
        &["testfile0"],
        &[],
    );
    check(
        &base,
        json!({"paths": [base.join("testfile9")], "contents": [header]}),
        &["testfile0"],
        &[],
    );
    // maxdepth 1 restricts to the base.
    check(
        &base,
        json!({"contents": [header], "options": depth1}),
        &["testfile0", "testfile9"],
        &[],
    );
    // Inverted content: every other regular file.
    check(
        &base,
        json!({"contents": [format!("!{header}")], "options": depth1}),
        &others,
        &[],
    );
    // mtime.
    check(&base, json!({"mtimes": ["<1m"]}), &all, &[]);
    for old in [">1h", ">30m", ">15m"] {
        check(&base, json!({"mtimes": [old]}), &[], &[]);
    }
    // matchany: each check reports its own hits.
    check(
        &base,
        json!({"names": ["^testfile0$"], "sizes": ["274"], "options": {"maxdepth": 1, "matchall": false}}),
        &["testfile0", "testfile7"],
        &[],
    );
    check(
        &base,
        json!({"sizes": ["190"], "options": {"maxdepth": 1}}),
        &["testfile0", "testfile9"],
        &[],
    );
    check(&base, json!({"sizes": [">10k"]}), &[], &[]);
    check(
        &base,
        json!({"sizes": ["<1k"], "names": ["^testfile[04]$"], "options": depth1}),
        &["testfile0", "testfile4"],
        &[],
    );
    // macroal on testfile0.
    let file0 = json!([base.join("testfile0")]);
    for (pattern, matches) in [
        ("^(.+)?$", true),
        ("!^(.+)?$", false),
        ("!FOOBAR", true),
        ("FOOBAR", false),
    ] {
        let expected: &[&str] = if matches { &["testfile0"] } else { &[] };
        check(
            &base,
            json!({"paths": file0, "contents": [pattern], "options": {"macroal": true, "matchall": true}}),
            expected,
            &[],
        );
    }
    // mismatch, per filter.
    check(
        &base,
        json!({"names": ["^testfile0$"], "options": {"maxdepth": 1, "matchall": true, "mismatch": ["name"]}}),
        &not0,
        &[],
    );
    check(
        &base,
        json!({"sizes": ["190"], "options": {"maxdepth": 1, "matchall": true, "mismatch": ["size"]}}),
        &others,
        &[],
    );
    check(
        &base,
        json!({"contents": [header], "options": {"maxdepth": 1, "matchall": true, "mismatch": ["content"]}}),
        &others,
        &[],
    );
    check(
        &base,
        json!({"md5": [md5_0], "options": {"maxdepth": 1, "matchall": true, "mismatch": ["md5"]}}),
        &others,
        &[],
    );
    check(
        &base,
        json!({"modes": ["^-rw-r--r--$"], "options": {"maxdepth": 1, "matchall": true, "mismatch": ["mode"]}}),
        &[],
        &[],
    );
    check(
        &base,
        json!({"mtimes": ["<1m"], "options": {"maxdepth": 1, "matchall": true, "mismatch": ["mtime"]}}),
        &[],
        &[],
    );
    check(
        &base,
        json!({"contents": ["FOOBAR"], "options": {"maxdepth": 1, "matchall": true, "macroal": true, "mismatch": ["content"]}}),
        &not0_and_0(),
        &[],
    );
    // mismatch content without matchall now records (the original never did).
    check(
        &base,
        json!({"contents": [header], "options": {"maxdepth": 1, "matchall": false, "mismatch": ["content"]}}),
        &others,
        &[],
    );
    // Decompression.
    let gz = json!({"maxdepth": 1, "matchall": true, "decompress": true});
    check(
        &base,
        json!({"contents": ["^--- gzipped header ---$"], "options": gz}),
        &["testfile6"],
        &["^checkContent\\(\\) -> flate: corrupt input"],
    );
    check(
        &base,
        json!({"contents": ["^z+$"], "options": gz}),
        &["testfile7"],
        &[],
    );
    let md5_6 = format!(
        "{:x}",
        <md5::Md5 as sha2::Digest>::digest(b"--- gzipped header ---\ncompressed content\n")
    );
    check(
        &base,
        json!({"md5": [md5_6], "options": gz}),
        &["testfile6"],
        &["^checkHash\\(\\) -> getHash\\(\\) -> flate: corrupt input"],
    );
    check(
        &base,
        json!({"contents": ["gzipped"], "options": depth1}),
        &[],
        &[],
    );
    // Errors.
    check(
        &base,
        json!({"paths": ["/doesnotexist"], "names": ["."]}),
        &[],
        &["^ERROR: open /doesnotexist: no such file or directory$"],
    );
    // matchlimit per invocation: exactly 4, twice.
    for _ in 0..2 {
        let result = run_search(
            json!({"paths": [base], "names": ["^testfile"], "options": {"matchall": true, "matchlimit": 4}}),
        );
        assert_eq!(hits(&result, &base).len(), 4);
        assert_eq!(result.statistics.unwrap().totalhits, 4.0);
    }
    // An invalid sha1 is fatal.
    let result = run_search(json!({"paths": [base], "sha1": ["NOTASHA1"]}));
    assert!(!result.success && !result.foundanything);
    assert_eq!(
        result.errors.unwrap(),
        vec!["Invalid checksum format for hash 'NOTASHA1'. Must match regex ^[A-F0-9]{40}$"]
    );
}

#[test]
fn hashes_of_every_size() {
    use sha2::Digest;
    let (_temp, base, _deep) = go_fixture();
    let data = testfile0();
    let hex = |digest: &[u8]| {
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let cases = [
        ("md5", hex(&md5::Md5::digest(&data))),
        ("sha1", hex(&sha1::Sha1::digest(&data))),
        ("sha2", hex(&sha2::Sha256::digest(&data))),
        ("sha2", hex(&sha2::Sha384::digest(&data))),
        ("sha2", hex(&sha2::Sha512::digest(&data)).to_uppercase()),
        ("sha3", hex(&sha3::Sha3_224::digest(&data))),
        ("sha3", hex(&sha3::Sha3_256::digest(&data))),
        ("sha3", hex(&sha3::Sha3_384::digest(&data))),
        ("sha3", hex(&sha3::Sha3_512::digest(&data))),
    ];
    for (filter, digest) in cases.clone() {
        check(
            &base,
            json!({filter: [digest], "options": {"maxdepth": 1, "matchall": true}}),
            &["testfile0", "testfile9"],
            &[],
        );
    }
    // Several algorithms at once, one read; returnsha256 fills fileinfo.
    let sha256 = hex(&sha2::Sha256::digest(&data));
    let result = run_search(
        json!({"paths": [base.join("testfile0")], "md5": [cases[0].1], "sha2": [sha256], "sha3": [cases[8].1], "options": {"matchall": true, "returnsha256": true}}),
    );
    let entries = &result.elements.as_ref().unwrap()["s1"];
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].fileinfo.sha256, sha256.to_uppercase());
    // matchany echoes one check per entry, hashes upper-cased under their filter.
    let result = run_search(
        json!({"paths": [base.join("testfile0")], "sha2": [cases[3].1], "sha3": [cases[5].1], "options": {"matchall": false}}),
    );
    let entries = &result.elements.as_ref().unwrap()["s1"];
    assert_eq!(entries[0].search.sha2, vec![cases[3].1.to_uppercase()]);
    assert_eq!(entries[1].search.sha3, vec![cases[5].1.to_uppercase()]);
    assert_eq!(
        entries[0].search.paths,
        Some(vec![base.display().to_string()])
    );
    // A SHA-2 of a wrong length is rejected.
    let result = run_search(json!({"paths": [base], "sha2": ["ABCD"]}));
    assert!(!result.success);
}

#[test]
fn symlink_loops_unicode_long_lines_and_limits() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    fs::create_dir(root.join("d")).unwrap();
    symlink("loop2", root.join("loop1")).unwrap();
    symlink("loop1", root.join("loop2")).unwrap();
    symlink(".", root.join("d/self")).unwrap();
    symlink("..", root.join("d/up")).unwrap();
    symlink("missing", root.join("d/dangling")).unwrap();
    fs::write(root.join("d/é-ünïcode.txt"), "café\n").unwrap();
    let mut long = vec![b'a'; 70 * 1024];
    long.extend_from_slice(b"\nneedle\n");
    fs::write(root.join("long.txt"), &long).unwrap();
    fs::write(root.join("short.txt"), "needle\n").unwrap();
    let result =
        run_search(json!({"paths": [root], "names": ["."], "options": {"matchall": true}}));
    let found = hits(&result, root);
    assert_eq!(found, vec!["d/é-ünïcode.txt", "long.txt", "short.txt"]);
    let errors = result.errors.unwrap();
    assert!(
        errors.iter().any(|e| e.contains("too many links")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("ERROR: followSymLink() -> lstat") && e.contains("missing")),
        "{errors:?}"
    );
    assert_eq!(result.statistics.as_ref().unwrap().openfailed, 3.0);
    // Unicode names and contents.
    check(
        root,
        json!({"names": ["^é-"], "contents": ["^caf.$"]}),
        &["d/é-ünïcode.txt"],
        &[],
    );
    // A line over 64 KiB ends content reading, as Go's scanner does.
    check(root, json!({"contents": ["^needle$"]}), &["short.txt"], &[]);
    // maxerrors truncates the errors.
    let result = run_search(
        json!({"paths": [root], "names": ["."], "options": {"matchall": true, "maxerrors": 1}}),
    );
    assert_eq!(
        result.errors.unwrap(),
        vec![
            errors[0].clone(),
            "2 errors were not returned (max errors = 1)".to_owned()
        ]
    );
    // Nested roots are walked once.
    let result = run_search(
        json!({"paths": [root, root.join("d")], "names": ["."], "options": {"matchall": true}}),
    );
    assert_eq!(result.statistics.unwrap().filescount, 3.0);
    // Empty searches: a valid no-op.
    let result = run_parameters(&Parameters::default());
    assert!(result.success);
    assert_eq!(
        gojson_string(&result)
            .split("\"statistics\"")
            .next()
            .unwrap(),
        r#"{"foundanything":false,"success":true,"elements":{},"#
    );
}

fn gojson_string(result: &FileResult) -> String {
    mig_protocol::gojson::to_string(result)
}

#[test]
fn validation_errors_are_worded_as_the_original() {
    let cases: &[(Value, &str)] = &[
        (
            json!({"names": ["x"]}),
            "invalid empty search path, must have at least one search path",
        ),
        (
            json!({"paths": ["/"], "names": [""]}),
            "Empty values are not permitted",
        ),
        (
            json!({"paths": ["/"], "sizes": ["10x"]}),
            "Invalid size format for size '10x'. Must match regex ^(<|>)?[0-9]*(k|m|g|t)?$",
        ),
        (
            json!({"paths": ["/"], "mtimes": ["10d"]}),
            "Invalid mtime format for mtime '10d'. Must match regex ^(<|>)[0-9]*(d|h|m)$",
        ),
        (
            json!({"paths": ["/"], "options": {"mismatch": ["bogus"]}}),
            "The syntax of filter 'bogus' is invalid. Must match regex ^(name|size|mode|mtime|content|md5|sha1|sha2|sha3)$",
        ),
        (
            json!({"paths": ["/"], "options": {"mismatch": [""]}}),
            "empty filters are not permitted",
        ),
        (
            json!({"paths": ["/"], "sizes": ["<"]}),
            "makeChecks() -> strconv.ParseUint: parsing \"\": invalid syntax",
        ),
        (
            json!({"paths": ["/"], "contents": ["!(a"]}),
            "Invalid regexp '(a'. Must be a regexp. Compilation failed with 'error parsing regexp: missing closing ): `(a`'",
        ),
    ];
    for (search, message) in cases {
        let result = run_search(search.clone());
        assert!(!result.success, "{search}");
        assert_eq!(
            result.errors.unwrap(),
            vec![message.to_string()],
            "{search}"
        );
    }
}

#[test]
fn privacy_masks_files_and_errors() {
    let (_temp, base, _deep) = go_fixture();
    let mut result =
        run_search(json!({"paths": [base], "mtimes": ["<1m"], "options": {"matchall": true}}));
    File::enhance_privacy(&mut result);
    let entries = &result.elements.as_ref().unwrap()["s1"];
    assert_eq!(entries.len(), 20);
    assert!(entries.iter().all(|entry| entry.file == "masked"));
    assert!(result.errors.unwrap().iter().all(|error| error == "masked"));
}

// Golden runs of the original.

const REFERENCE: &str = "/srv/migref/fixtures";

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/reference/modules")
}

/// Rebuilds the `files` part of `fixtures_tree.json` under `root`.
fn reference_tree(root: &Path) {
    let tree: Value =
        serde_json::from_str(&fs::read_to_string(vectors().join("fixtures_tree.json")).unwrap())
            .unwrap();
    let mut times = Vec::new();
    for entry in tree["entries"].as_array().unwrap() {
        let path = entry["path"].as_str().unwrap();
        let Some(relative) = path.strip_prefix(&format!("{REFERENCE}/")) else {
            continue;
        };
        if !relative.starts_with("files") {
            continue;
        }
        let target = root.join(relative);
        match entry["type"].as_str().unwrap() {
            "dir" => fs::create_dir_all(&target).unwrap(),
            "symlink" => symlink(entry["target"].as_str().unwrap(), &target).unwrap(),
            _ => {
                fs::create_dir_all(target.parent().unwrap()).unwrap();
                let content = match entry.get("content").and_then(Value::as_str) {
                    Some(text) => text.as_bytes().to_vec(),
                    None => (0..80).flat_map(|_| 0..=255u8).collect(),
                };
                fs::write(&target, content).unwrap();
                let mode = u32::from_str_radix(
                    entry["mode"].as_str().unwrap().trim_start_matches("0o"),
                    8,
                )
                .unwrap();
                fs::set_permissions(&target, fs::Permissions::from_mode(mode)).unwrap();
                times.push((target, entry["mtime"].as_str().unwrap().to_owned()));
            }
        }
    }
    for (target, mtime) in times {
        let seconds = rfc3339_seconds(&mtime);
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
        fs::File::options()
            .write(true)
            .open(&target)
            .unwrap()
            .set_modified(time)
            .unwrap();
    }
}

/// `YYYY-MM-DDThh:mm:ssZ` to Unix seconds.
fn rfc3339_seconds(text: &str) -> u64 {
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + number(11..13) * 3600 + number(14..16) * 60 + number(17..19)) as u64
}

fn child(input: &str, pretty: bool) -> String {
    let mut output = Vec::new();
    crate::child_main(
        "file",
        &mut input.as_bytes(),
        &mut output,
        &ModuleContext::default(),
        pretty,
    );
    String::from_utf8(output).unwrap()
}

/// A result with each label's entries sorted by file and exectime blanked.
fn normalised(json: &str) -> Value {
    let mut value: Value = serde_json::from_str(json).unwrap();
    if let Some(elements) = value["elements"].as_object_mut() {
        for entries in elements.values_mut() {
            if let Some(list) = entries.as_array_mut() {
                list.sort_by_key(|entry| entry["file"].as_str().unwrap_or("").to_owned());
            }
        }
    }
    if value["statistics"]["exectime"] != json!("") {
        value["statistics"]["exectime"] = json!("X");
    }
    value
}

fn ran_in_blanked(line: &str) -> String {
    match line.find(", ran in ") {
        Some(at) if line.starts_with("Statistics:") => format!("{}, ran in X.", &line[..at]),
        _ => line.to_owned(),
    }
}

/// Runs a golden vector; `fix` applies to the golden JSON the differences
/// that come from bugs we fix. Checks stdout (entries compared as sets,
/// since the original lists a directory in OS order and we sort by name)
/// and the pretty lines (as sets; the original prints labels in Go's random
/// map order, we print them sorted).
fn golden(
    name: &str,
    fix: impl Fn(&mut Value),
    drop_pretty: &[&str],
    replace_pretty: (&str, &str),
) {
    if !vectors().join("fixtures_tree.json").exists() {
        eprintln!("golden vectors not found, skipping {name}");
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("fixtures");
    reference_tree(&root);
    let root_text = root.display().to_string();
    let read =
        |suffix: &str| fs::read_to_string(vectors().join(format!("{name}.{suffix}"))).unwrap();
    let input = read("params.json").replace(REFERENCE, &root_text);
    let ours = child(&input, false).replace(&root_text, REFERENCE);
    let mut expected = normalised(&read("stdout.json"));
    fix(&mut expected);
    assert_eq!(normalised(&ours), expected, "{name}: ours {ours}");
    let ours_pretty = child(&input, true).replace(&root_text, REFERENCE);
    let mut ours_lines: Vec<String> = ours_pretty.lines().map(ran_in_blanked).collect();
    let pretty = read("pretty.txt").replace(replace_pretty.0, replace_pretty.1);
    let mut expected_lines: Vec<String> = pretty
        .lines()
        .map(ran_in_blanked)
        .filter(|line| !drop_pretty.iter().any(|dropped| line.contains(dropped)))
        .collect();
    assert_eq!(
        ours_lines.pop(),
        expected_lines.pop(),
        "{name}: statistics line"
    );
    ours_lines.sort();
    expected_lines.sort();
    assert_eq!(ours_lines, expected_lines, "{name}: pretty");
    // Results whose order cannot differ are compared byte for byte.
    if ["file_name_content", "file_invalid_regex"].contains(&name) {
        let exectime = |text: &str| {
            let at = text.find("\"exectime\":\"").map(|at| at + 12).unwrap();
            let end = at + text[at..].find('"').unwrap();
            format!("{}{}", &text[..at], &text[end..])
        };
        assert_eq!(
            exectime(&ours),
            exectime(&read("stdout.json")),
            "{name}: bytes"
        );
    }
}

#[test]
fn golden_vectors() {
    golden("file_name_content", |_| {}, &[], ("", ""));
    golden("file_size_mtime_mode", |_| {}, &[], ("", ""));
    golden("file_hashes", |_| {}, &[], ("", ""));
    golden("file_invalid_regex", |_| {}, &[], ("", ""));
    // Syntax errors of the input line are worded by serde_json, not by Go's
    // encoding/json (the registry reads the input for every module).
    let go_syntax = "invalid character 'h' in literal true (expecting 'r')";
    let serde_syntax = "expected ident at line 1 column 2";
    golden(
        "file_malformed_input",
        |expected| {
            let error = format!("ReadInputParameters() -> ReadInput() -> {serde_syntax}");
            expected["errors"] = json!([error]);
        },
        &[],
        (go_syntax, serde_syntax),
    );
    golden(
        "file_unicode_inverse_depth_macroal",
        |expected| {
            // maxdepth 1 is enforced: the original returned sub/b.conf and
            // sub/deep/c.log (depth 2 and 3) for not_txt_depth1.
            let list = expected["elements"]["not_txt_depth1"]
                .as_array_mut()
                .unwrap();
            list.retain(|entry| !entry["file"].as_str().unwrap().contains("/sub/"));
            // The nested root files/sub is walked once, not twice (9 → 7), and
            // the two hits above are gone (12 → 10).
            expected["statistics"]["filescount"] = json!(7);
            expected["statistics"]["totalhits"] = json!(10);
        },
        &[
            "sub/b.conf [lastmodified:2024-01-02 03:04:05 +0000 UTC, mode:-rw-------, size:37] in search 'not_txt_depth1'",
            "sub/deep/c.log [lastmodified:2023-06-15 12:00:00 +0000 UTC, mode:-rw-r-----, size:2000] in search 'not_txt_depth1'",
        ],
        (
            "9 files checked, 0 failed to open, 12 matched",
            "7 files checked, 0 failed to open, 10 matched",
        ),
    );
}
