//! Tests of the scribe module: the EVR tables of scribe's `evrops_test.go`
//! (and dpkg's ordering checked against `dpkg --compare-versions`), scribe's
//! own policy documents (`fileops_test.go`, `meta_test.go`,
//! `package_test.go`) over fixture trees, validation, printing, privacy,
//! the golden runs of the original and a USN-style vulnerability check
//! against a fixture dpkg database.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::{Value, json};

use super::evr::{Operation, Scheme};
use super::*;
use crate::pkg;
use crate::registry::{ModuleName, child_main};

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/scribe/testdata");

fn testdata(name: &str) -> String {
    std::fs::read_to_string(format!("{TESTDATA}/{name}")).unwrap()
}

/// A host with no rpm and the dpkg database `status`.
fn dpkg_host(dir: &Path, status: &str) -> Host {
    let path = dir.join("status");
    std::fs::write(&path, status).unwrap();
    Host::new(pkg::Config {
        rpm: dir.join("no-rpm"),
        dpkg_status: path,
        native_arch: "amd64".to_owned(),
    })
}

/// A host whose `rpm` prints `listing` and without dpkg database.
fn rpm_host(dir: &Path, listing: &str) -> Host {
    std::fs::write(dir.join("listing"), listing).unwrap();
    let rpm = dir.join("rpm");
    std::fs::write(
        &rpm,
        format!("#!/bin/sh\ncat '{}'\n", dir.join("listing").display()),
    )
    .unwrap();
    std::fs::set_permissions(&rpm, std::fs::Permissions::from_mode(0o755)).unwrap();
    Host::new(pkg::Config {
        rpm,
        dpkg_status: dir.join("no-status"),
        native_arch: "amd64".to_owned(),
    })
}

fn write(root: &Path, relative: &str, content: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

// EVR

/// scribe's `evrops_test.go` table: installed, operation, reference.
const EVR_TABLE: &[(&str, &str, &str)] = &[
    ("2:3.14.5-1+deb7u1", "=", "2:3.14.5-1+deb7u1"),
    ("0:2.6.6-6+deb7u2", "=", "0:2.6.6-6+deb7u2"),
    ("0:2.2.22-13+deb7u3", "=", "0:2.2.22-13+deb7u3"),
    ("0:0.140-5+deb7u1", "=", "0:0.140-5+deb7u1"),
    ("0:3.2.60-1+deb7u3", "=", "0:3.2.60-1+deb7u3"),
    ("0:1.5.3-5+deb7u4", "=", "0:1.5.3-5+deb7u4"),
    ("0:5.5.38-0+wheezy1", "=", "0:5.5.38-0+wheezy1"),
    ("0:0.2.4.23-1~deb7u1", "=", "0:0.2.4.23-1~deb7u1"),
    ("0:2.06-1+deb7u1", "=", "0:2.06-1+deb7u1"),
    ("0:24.7.0esr-1~deb7u1", "=", "0:24.7.0esr-1~deb7u1"),
    ("0:2.52-3+nmu2", "=", "0:2.52-3+nmu2"),
    ("0:7u65-2.5.1-2~deb7u1", "=", "0:7u65-2.5.1-2~deb7u1"),
    ("0:24.7.0-1~deb7u1", "=", "0:24.7.0-1~deb7u1"),
    ("0:1.0.1e-2+deb7u9", "=", "0:1.0.1e-2+deb7u9"),
    ("0:6b31-1.13.3-1~deb7u1", "=", "0:6b31-1.13.3-1~deb7u1"),
    ("2:7.3.547-7", "=", "2:7.3.547-7"),
    ("1:7.3.547-7", "<", "2:7.3.547-7"),
    ("2:7.2.547-7", "<", "2:7.3.547-7"),
    ("2:7.3.540-7", "<", "2:7.3.547-7"),
    ("2:7.3.547-6", "<", "2:7.3.547-7"),
    ("1.0.1e-2+deb7u14", "=", "1.0.1e-2+deb7u14"),
    ("1.0.1d-2+deb7u14", "<", "1.0.1e-2+deb7u14"),
    ("1.0.1", "<", "1.0.1e"),
    ("1.0.1", "=", "1.0.1"),
    ("1.0.1d", "<", "1.0.1e"),
    ("0:0.2.4-1~deb7u1", "<", "0:0.2.4.23-1~deb7u1"),
    ("0:0.2.4.23-0~deb7u1", "<", "0:0.2.4.23-1~deb7u1"),
    ("2.6.32-504.el6", "<", "0:2.6.32-504.8.1.el6"),
    ("1.5.9", "<", "1.5.10"),
    ("1.5.9", "<", "1.5.10z"),
    ("1.5.9z", "<", "1.5.10"),
    ("1.5.9b", "<", "1.5.9f"),
    ("1.5.9g", "=", "1.5.9g"),
    ("1.5.10", ">", "1.5.9"),
    ("f", ">", "a"),
    ("10", ">", "9"),
    ("123", "=", "123"),
    ("1241", "<", "14444"),
    ("12412", ">", "50"),
    ("51", ">", "50"),
];

fn reversed(op: &str) -> &str {
    match op {
        "<" => ">",
        ">" => "<",
        other => other,
    }
}

fn holds(scheme: Scheme, installed: &str, op: &str, reference: &str) -> bool {
    evr::compare(scheme, Operation::parse(op).unwrap(), installed, reference).unwrap()
}

#[test]
fn evr_table_of_the_original() {
    for &(installed, op, reference) in EVR_TABLE {
        assert!(
            holds(Scheme::Rpm, installed, op, reference),
            "{installed} {op} {reference}"
        );
        assert!(
            holds(Scheme::Rpm, reference, reversed(op), installed),
            "{reference} {} {installed}",
            reversed(op)
        );
        // Exactly one of the three operations holds.
        let count = ["<", "=", ">"]
            .iter()
            .filter(|op| holds(Scheme::Rpm, installed, op, reference))
            .count();
        assert_eq!(count, 1, "{installed} {reference}");
    }
}

/// Where Debian's ordering and the original's variant agree: every Debian
/// row of the table (and the plain numbers and letters).
#[test]
fn evr_table_holds_for_dpkg_too() {
    for &(installed, op, reference) in EVR_TABLE {
        if installed.contains("el6") {
            continue;
        }
        assert!(
            holds(Scheme::Dpkg, installed, op, reference),
            "{installed} {op} {reference}"
        );
    }
}

/// Where they differ: `~` sorts before everything in Debian versions, `+`
/// and `.` are not mere separators.
#[test]
fn dpkg_ordering() {
    let cases = [
        ("1.0~rc1", "<", "1.0"),
        ("1.0", ">", "1.0~rc1"),
        ("1.0~~", "<", "1.0~"),
        ("1.0~", "<", "1.0~a"),
        ("2.9.14+dfsg-1.3", ">", "2.9.14+dfsg-1.3~deb12u1"),
        ("1.0-1", "<", "1.0-1+b1"),
        ("1:0.1", ">", "2.0"),
        ("1.0", "=", "1.0-0"),
        ("1.0", "=", "0:1.0"),
        ("3.0.2-0ubuntu1.15", "<", "3.0.2-0ubuntu1.18"),
        ("1.2a", "<", "1.2+"),
        ("1.001", "=", "1.1"),
    ];
    for (installed, op, reference) in cases {
        assert!(
            holds(Scheme::Dpkg, installed, op, reference),
            "{installed} {op} {reference}"
        );
    }
    // The original's variant gets the tilde backwards.
    assert!(holds(Scheme::Rpm, "1.0~rc1", ">", "1.0"));
    assert!(holds(
        Scheme::Rpm,
        "2.9.14+dfsg-1.3",
        "<",
        "2.9.14+dfsg-1.3~deb12u1"
    ));
}

/// Our dpkg ordering is dpkg's: every pair of a version list compared by
/// the machine's `dpkg --compare-versions`.
#[test]
fn dpkg_ordering_equals_dpkg_compare_versions() {
    let Ok(probe) = std::process::Command::new("dpkg").arg("--version").output() else {
        eprintln!("dpkg not installed: comparison with dpkg skipped");
        return;
    };
    assert!(probe.status.success());
    let versions = [
        "1.0",
        "1.0~rc1",
        "1.0-1",
        "1.0-1+b1",
        "1.0-1~deb12u1",
        "1:0.9",
        "2.9.14+dfsg-1.3",
        "2.9.14+dfsg-1.3~deb12u1",
        "3.0.2-0ubuntu1.15",
        "3.0.2-0ubuntu1.18",
        "1.2a",
        "1.2+",
        "1.10",
        "1.9",
        "1.001",
        "7u65-2.5.1-2~deb7u1",
        "5.15.0-105.115",
    ];
    for a in versions {
        for b in versions {
            let dpkg = |op: &str| {
                std::process::Command::new("dpkg")
                    .args(["--compare-versions", a, op, b])
                    .status()
                    .unwrap()
                    .success()
            };
            let expected = if dpkg("lt") {
                std::cmp::Ordering::Less
            } else if dpkg("gt") {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            };
            assert_eq!(
                evr::order(Scheme::Dpkg, a, b).unwrap(),
                expected,
                "{a} vs {b}"
            );
        }
    }
}

#[test]
fn evr_errors() {
    let error = |installed: &str, reference: &str| {
        evr::compare(Scheme::Rpm, Operation::Less, installed, reference).unwrap_err()
    };
    assert_eq!(error("1:", "1.0"), "evrExtract: only epoch");
    assert_eq!(error("1.0", "1.0-"), "evrExtract: ends in dash");
    assert_eq!(error(":1.0", "1.0"), "evrRpmCompare: bad actual epoch");
    assert_eq!(error("1.0", ":1.0"), "evrRpmCompare: bad check epoch");
    assert_eq!(
        Operation::parse("badop").unwrap_err(),
        "invalid evr operation badop"
    );
    assert_eq!(
        evr::extract("2:7.3.547-7").unwrap(),
        evr::Evr {
            epoch: "2",
            version: "7.3.547",
            release: "7"
        }
    );
    // All-zero parts crashed the original (index out of range); they compare.
    assert!(holds(Scheme::Rpm, "1.00", "<", "1.01"));
    assert!(holds(Scheme::Rpm, "1.000", "=", "1.0"));
    // Numbers beyond 64 bits compare as numbers.
    assert!(holds(
        Scheme::Rpm,
        "1.99999999999999999999",
        "<",
        "1.100000000000000000000"
    ));
}

// Documents of scribe's own tests, over fixture trees.

/// Runs a document and checks every test's `expectedresult` and
/// `expecterror`, as scribe's `genericTestExec` did.
fn expect_document(document: &Value, host: &Host) -> Vec<TestResult> {
    let document: Document = mig_protocol::gojson::from_value(document).unwrap();
    document.validate().unwrap();
    let results = engine::analyze(&document, host);
    for (test, result) in document.tests.iter().zip(&results) {
        assert_eq!(result.iserror, test.expecterror, "{}: {result:?}", test.id);
        if !test.expecterror {
            assert_eq!(
                result.masterresult, test.expectedresult,
                "{}: {result:?}",
                test.id
            );
        }
    }
    results
}

fn identifiers(result: &TestResult, root: &Path) -> Vec<String> {
    result
        .results
        .iter()
        .flatten()
        .map(|sub| {
            format!(
                "{} {}",
                sub.result,
                sub.identifier.replace(&format!("{}/", root.display()), "")
            )
        })
        .collect()
}

#[test]
fn filecontent_policy() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "testfile0",
        "\n\n\n1\n\n\n\nTest\n\n\n\n1\n\n\n\n5   Test\n",
    );
    write(root, "data/testfile1", "STRING\nVersion = 0.5\n");
    write(root, "data/testfile2", "testfile1");
    let document = json!({
        "variables": [{"key": "root", "value": root}],
        "objects": [
            {"object": "nosuchfile", "filecontent": {"path": "${root}", "file": "nosuchfile", "expression": ".*"}},
            {"object": "testfile0-test", "filecontent": {"path": "${root}", "file": "testfile0", "expression": ".*(Test).*"}},
            {"object": "testfile0-all", "filecontent": {"path": "${root}", "file": "testfile0", "expression": "(.*)"}},
            {"object": "testfile0-regex", "filecontent": {"path": "${root}", "file": "testfile0", "expression": "^(T\\S+).*"}},
            {"object": "testfile1-version", "filecontent": {"path": "${root}", "file": ".*file1", "expression": "^Version = (\\S+)"}},
            {"object": "testfile2-version", "filecontent": {"path": "${root}", "file": ".*file2", "expression": "^Version = (\\S+)"}},
            {"object": "anyfile", "filecontent": {"path": "${root}/", "file": ".*", "expression": "(.*)"}}
        ],
        "tests": [
            {"test": "simplecontent0", "description": "test with nonexistent file", "expectedresult": false, "object": "nosuchfile"},
            {"test": "simplecontent1", "expectedresult": true, "object": "testfile0-test"},
            {"test": "simplecontent2", "expectedresult": true, "object": "testfile0-all", "regexp": {"value": "Test"}},
            {"test": "simplecontent3", "expectedresult": true, "object": "testfile0-regex", "regexp": {"value": "Test"}},
            {"test": "filecontent0", "expectedresult": true, "object": "testfile1-version", "evr": {"operation": "<", "value": "0.6"}},
            {"test": "filecontent1", "expectedresult": false, "object": "testfile1-version", "evr": {"operation": "<", "value": "0.6"}, "if": ["simplecontent0"]},
            {"test": "filecontent2", "expectedresult": true, "object": "testfile1-version", "evr": {"operation": "<", "value": "0.6"}, "if": ["simplecontent1"]},
            {"test": "filecontent3", "description": "version is ok", "expectedresult": false, "object": "testfile1-version", "evr": {"operation": "<", "value": "0.4z"}},
            {"test": "filecontent4", "description": "version is ok", "expectedresult": false, "object": "testfile2-version", "evr": {"operation": "<", "value": "0.4z"}},
            {"test": "anyfile0", "expectedresult": true, "object": "anyfile"}
        ]
    });
    let results = expect_document(&document, &Host::default());
    // The nonexistent file has no criteria at all (the placeholder is not a file).
    assert_eq!(results[0].results, None);
    // One criterion per matching line, with the line's group.
    assert_eq!(
        identifiers(&results[1], root),
        vec!["true testfile0", "true testfile0"]
    );
    assert_eq!(identifiers(&results[2], root).len(), 16);
    assert_eq!(identifiers(&results[3], root), vec!["true testfile0"]);
    // A dependency without true results makes the master result false.
    assert!(results[5].hastrueresults && !results[5].masterresult);
}

#[test]
fn filename_policy() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "file-1.2.3.txt", "");
    write(root, "testfile0", "");
    write(root, "sub/other", "");
    let document = json!({
        "variables": [{"key": "root", "value": root}],
        "objects": [
            {"object": "anyfile", "filename": {"path": "${root}", "file": "(.*)"}},
            {"object": "nosuchfile", "filename": {"path": "${root}", "file": ".*(nosuchfile).*"}},
            {"object": "fileversion", "filename": {"path": "${root}", "file": "file-(\\S+).txt"}},
            {"object": "testfile0", "filename": {"path": "${root}", "file": "^(testfile0)$"}}
        ],
        "tests": [
            {"test": "filename0", "expectedresult": true, "object": "anyfile"},
            {"test": "filename1", "expectedresult": false, "object": "nosuchfile"},
            {"test": "filename2", "expectedresult": true, "object": "fileversion", "evr": {"operation": "<", "value": "1.6.0"}},
            {"test": "filename3", "expectedresult": false, "object": "fileversion", "evr": {"operation": "<", "value": "1.1.0"}},
            {"test": "filename4", "expectedresult": true, "object": "fileversion", "regexp": {"value": "1.2.3"}},
            {"test": "filename5", "expectedresult": true, "object": "testfile0"}
        ]
    });
    let results = expect_document(&document, &Host::default());
    let mut all = identifiers(&results[0], root);
    all.sort();
    assert_eq!(
        all,
        vec!["true file-1.2.3.txt", "true sub/other", "true testfile0"]
    );
    // `(.*)` on a missing file: the original saw the placeholder "" as a file.
    assert_eq!(results[1].results, None);
}

#[test]
fn hasline_and_tags_policies() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "file1.txt", "line one\na test line\n");
    write(root, "data/file2.txt", "nothing here\n");
    write(root, "data/ignored.log", "test\n");
    let document = json!({
        "variables": [{"key": "root", "value": root}],
        "objects": [
            {"object": "file-hasline", "hasline": {"path": "${root}", "file": ".*\\.txt", "expression": ".*test.*"}}
        ],
        "tests": [
            {"test": "files-with-line", "expectedresult": true, "object": "file-hasline", "exactmatch": {"value": "true"}},
            {"test": "files-without-line", "expectedresult": true, "object": "file-hasline", "exactmatch": {"value": "false"},
             "tags": [{"key": "testtag", "value": "tag1"}, {"key": "another tag", "value": "Another tag with spaces"}]}
        ]
    });
    let results = expect_document(&document, &Host::default());
    let mut with = identifiers(&results[0], root);
    with.sort();
    assert_eq!(with, vec!["false data/file2.txt", "true file1.txt"]);
    assert_eq!(results[1].tags.len(), 2);
    assert_eq!(results[1].tags[1].value, "Another tag with spaces");
}

#[test]
fn concat_and_import_chain_policies() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "concat/testfile0", "var = (1, 5)\nvar = (2, 6)\n");
    write(root, "import-chain/testfile0", "var = (1, 5)\n");
    write(root, "import-chain/testfile1", "minor = 8\n");
    write(root, "import-chain/other/testfile0", "var = (3, 0)\n");
    let document = json!({
        "variables": [{"key": "root", "value": root}],
        "objects": [
            {"object": "testfile0-content", "filecontent": {"path": "${root}/concat", "file": "testfile0",
                "expression": "var = \\((\\S+), (\\S+)\\)", "concat": "."}},
            {"object": "testfile0-combined", "filecontent": {"path": "${root}/import-chain", "file": "testfile0",
                "expression": "var = \\((\\S+), (\\S+)\\)", "concat": ".", "import-chain": ["testfile1-minor"]}},
            {"object": "testfile1-minor", "filecontent": {"path": "${chain_root}", "file": "testfile1",
                "expression": "minor = (\\S+)", "import-chain": ["rawappend"]}},
            {"object": "rawappend", "raw": {"identifiers": [{"identifier": "rawidentifier", "value": "teststring"}]}}
        ],
        "tests": [
            {"test": "testfile0-noop", "expectedresult": true, "object": "testfile0-content"},
            {"test": "concat-value", "expectedresult": true, "object": "testfile0-content", "exactmatch": {"value": "1.5.2.6"}},
            {"test": "chain", "expectedresult": true, "object": "testfile0-combined", "regexp": {"value": "^1.5.8.teststring$"}},
            {"test": "chain-direct", "expecterror": true, "object": "testfile1-minor"}
        ]
    });
    let results = expect_document(&document, &Host::default());
    assert_eq!(
        identifiers(&results[1], root),
        vec!["true concat/testfile0"]
    );
    // The chain fires per matched file: other/ has no testfile1, so its
    // value stays "3.0".
    let mut chain = identifiers(&results[2], root);
    chain.sort();
    assert_eq!(
        chain,
        vec![
            "false import-chain/other/testfile0",
            "true import-chain/testfile0"
        ]
    );
    assert_eq!(results[3].error, "object not prepared");
}

#[test]
fn raw_policy_and_example() {
    let document = json!({
        "objects": [
            {"object": "rawobject", "raw": {"identifiers": [
                {"identifier": "an identifier", "value": "VALUE"},
                {"identifier": "another identifier", "value": "TEST"}]}},
            {"object": "raw", "raw": {"identifiers": [{"identifier": "test", "value": "Example"}]}}
        ],
        "tests": [
            {"test": "test0", "expectedresult": true, "object": "rawobject", "regexp": {"value": "TEST"}},
            {"test": "example", "expectedresult": true, "object": "raw", "regexp": {"value": "Example"}}
        ]
    });
    let results = expect_document(&document, &Host::default());
    assert_eq!(
        identifiers(&results[0], Path::new("/")),
        vec!["false an identifier", "true another identifier"]
    );
}

/// scribe's package test table, served by a fake `rpm` (the original's
/// test hooks compared it with the rpm variant too).
#[test]
fn package_policy() {
    let dir = tempfile::tempdir().unwrap();
    let host = rpm_host(
        dir.path(),
        "openssl 1.0.1e x86_64\nbash 4.3-11 x86_64\nupstart 1.13.2 x86_64\ngrub-common 2.02-beta2 x86_64\n\
         libbind 1:9.9.5.dfsg-4.3 x86_64\nkernel 2.6.32-504.12.2.el6.x86_64 x86_64\nkernel 2.6.32-573.8.1.el6.x86_64 x86_64\n",
    );
    let document = json!({
        "objects": [
            {"object": "openssl-package", "package": {"name": "openssl"}},
            {"object": "libbind-package", "package": {"name": "libbind"}},
            {"object": "grub-common-package", "package": {"name": "grub-common"}},
            {"object": "kernel-package-newest", "package": {"name": "kernel", "onlynewest": true}},
            {"object": "kernel-package", "package": {"name": "kernel"}},
            {"object": "collect", "package": {"name": "anything", "collectmatch": "^(bash|upstart)$"}}
        ],
        "tests": [
            {"test": "package0", "expectedresult": true, "object": "openssl-package"},
            {"test": "package1", "expectedresult": true, "object": "libbind-package", "evr": {"operation": "=", "value": "1:9.9.5.dfsg-4.3"}},
            {"test": "package2", "expectedresult": false, "object": "grub-common-package", "evr": {"operation": "<", "value": "2.02-beta1"}},
            {"test": "package3", "expectedresult": false, "object": "grub-common-package", "evr": {"operation": "<", "value": "2.02-beta2"}},
            {"test": "package4", "expectedresult": false, "object": "grub-common-package", "evr": {"operation": "<", "value": "2.01-beta2"}},
            {"test": "package5", "expectedresult": false, "object": "grub-common-package", "evr": {"operation": "<", "value": "2.02-beta3"}, "if": ["package2"]},
            {"test": "package6", "expecterror": true, "object": "openssl-package", "evr": {"operation": "badop", "value": "1.0.1e"}},
            {"test": "package7", "expectedresult": true, "object": "openssl-package", "evr": {"operation": ">", "value": "1.0.1d"}},
            {"test": "package8", "expectedresult": false, "object": "kernel-package-newest", "evr": {"operation": "<", "value": "2.6.32-573.8.1.el6.x86_64"}},
            {"test": "package9", "expectedresult": true, "object": "kernel-package", "evr": {"operation": "<", "value": "2.6.32-573.8.1.el6.x86_64"}},
            {"test": "package10", "expectedresult": true, "object": "collect"}
        ]
    });
    let results = expect_document(&document, &host);
    assert_eq!(results[6].error, "invalid evr operation badop");
    // package5 is true on its own but its dependency is false.
    assert!(results[5].hastrueresults && !results[5].masterresult);
    assert_eq!(identifiers(&results[8], dir.path()), vec!["false kernel"]);
    assert_eq!(
        identifiers(&results[10], dir.path()),
        vec!["true bash", "true upstart"]
    );
}

// Validation, dependencies, results.

#[test]
fn validation_messages() {
    let object = |source: Value| json!({"objects": [source], "tests": []});
    let cases = [
        (
            object(json!({"object": "", "raw": {}})),
            "an object in document has no identifier",
        ),
        (
            object(json!({"object": "o"})),
            "o: no valid source interface",
        ),
        (
            object(json!({"object": "o", "filecontent": {"path": "/", "expression": "x"}})),
            "o: filecontent file must be set",
        ),
        (
            object(json!({"object": "o", "filecontent": {"path": "/", "file": "x"}})),
            "o: filecontent expression must be set",
        ),
        (
            object(
                json!({"object": "o", "filecontent": {"path": "/", "file": "(", "expression": "x"}}),
            ),
            "o: error parsing regexp: missing closing ): `(`",
        ),
        (
            object(
                json!({"object": "o", "filecontent": {"path": "/", "file": "x", "expression": "x", "import-chain": ["nope"]}}),
            ),
            "o: unknown object \"nope\"",
        ),
        (
            object(json!({"object": "o", "filename": {"path": "/"}})),
            "o: filename file must be set",
        ),
        (
            object(json!({"object": "o", "hasline": {"path": "/", "file": "x"}})),
            "o: hasline expression must be set",
        ),
        (
            object(json!({"object": "o", "hasline": {"path": "/"}})),
            "o: hasline file must be set",
        ),
        (
            object(json!({"object": "o", "raw": {"identifiers": [{"identifier": "i"}]}})),
            "o: identifier must include identifier and value",
        ),
        (
            object(json!({"object": "o", "package": {"name": "p", "collectmatch": "["}})),
            "o: error parsing regexp: missing closing ]: `[`",
        ),
        (
            json!({"tests": [{"test": ""}]}),
            "a test in document has no identifier",
        ),
        (
            json!({"tests": [{"test": "t", "if": ["u"]}]}),
            "t: unknown test \"u\"",
        ),
        (
            json!({"tests": [{"test": "t", "if": ["t"]}]}),
            "t: test cannot reference itself",
        ),
        (
            json!({"tests": [{"test": "t", "tags": [{"key": "a\"b", "value": "v"}]}]}),
            "t: test tag key cannot contain quote",
        ),
        (
            json!({"tests": [{"test": "t", "tags": [{"key": "k", "value": "\""}]}]}),
            "t: test tag value cannot contain quote",
        ),
    ];
    for (document, message) in cases {
        let result = run_with(&json!({"scribedoc": document}), &Host::default());
        assert!(!result.success && !result.foundanything);
        assert_eq!(result.elements, None);
        assert!(result.statistics.is_some());
        assert_eq!(result.errors, Some(vec![message.to_owned()]), "{document}");
    }
}

#[test]
fn errors_dependencies_and_onlytrue() {
    let document = json!({
        "objects": [
            {"object": "raw", "raw": {"identifiers": [{"identifier": "i", "value": "v"}]}}
        ],
        "tests": [
            {"test": "needs-bad", "object": "raw", "if": ["bad-object"]},
            {"test": "bad-object", "object": "missing"},
            {"test": "bad-regex", "object": "raw", "regexp": {"value": "("}},
            {"test": "needs-errored-later", "object": "raw", "if": ["bad-regex"]},
            {"test": "true", "object": "raw", "exactmatch": {"value": "v"}},
            {"test": "false", "object": "raw", "exactmatch": {"value": "w"}}
        ]
    });
    let result = run_with(&json!({"scribedoc": document}), &Host::default());
    assert!(result.success && result.foundanything);
    let results = &result.elements.as_ref().unwrap().results;
    let summary: Vec<(bool, &str, bool)> = results
        .iter()
        .map(|r| (r.iserror, r.error.as_str(), r.masterresult))
        .collect();
    assert_eq!(
        summary,
        vec![
            (true, "a test dependency failed (\"bad-object\")", false),
            (true, "unknown object \"missing\"", false),
            (true, "error parsing regexp: missing closing ): `(`", false),
            // As in the original: a dependency already evaluated (with an
            // error) is not run again, the test runs and is false.
            (false, "", false),
            (false, "", true),
            (false, "", false),
        ]
    );
    assert_eq!(
        result.errors.as_ref().unwrap()[..2],
        [
            "Error: a test dependency failed (\"bad-object\") in \"needs-bad\"".to_owned(),
            "Error: unknown object \"missing\" in \"bad-object\"".to_owned(),
        ]
    );
    assert_eq!(result.errors.as_ref().unwrap().len(), 3);
    // onlytrue keeps the true tests only (errors are dropped with them).
    let only = run_with(
        &json!({"scribedoc": document, "onlytrue": true}),
        &Host::default(),
    );
    let kept: Vec<&str> = only
        .elements
        .as_ref()
        .unwrap()
        .results
        .iter()
        .map(|r| r.testid.as_str())
        .collect();
    assert_eq!(kept, vec!["true"]);
    assert_eq!(only.errors, None);
    // foundanything is "some result returned", not "some test true".
    let none_true = run_with(
        &json!({"scribedoc": {"objects": document["objects"], "tests": [document["tests"][5]]}}),
        &Host::default(),
    );
    assert!(none_true.foundanything);
    let empty = run_with(
        &json!({"scribedoc": {}, "onlytrue": true}),
        &Host::default(),
    );
    let json = mig_protocol::gojson::to_string(&ScribeResult {
        statistics: None,
        ..empty
    });
    assert_eq!(
        json,
        r#"{"foundanything":false,"success":true,"elements":{"results":[],"humanoutput":false,"jsonoutput":false},"statistics":null,"errors":null}"#
    );
}

#[test]
fn printing_forms() {
    let result = ScribeResult {
        foundanything: true,
        success: true,
        elements: Some(Elements {
            results: vec![
                TestResult {
                    testid: "t1".to_owned(),
                    name: "Test one".to_owned(),
                    description: "a description".to_owned(),
                    tags: vec![document::Tag {
                        key: "cve".to_owned(),
                        value: "CVE-1".to_owned(),
                    }],
                    hastrueresults: true,
                    results: Some(vec![
                        TestSubResult {
                            result: true,
                            identifier: "/a <b>".to_owned(),
                        },
                        TestSubResult {
                            result: false,
                            identifier: "/c".to_owned(),
                        },
                    ]),
                    ..TestResult::default()
                },
                TestResult {
                    testid: "t2".to_owned(),
                    iserror: true,
                    error: "object not prepared".to_owned(),
                    ..TestResult::default()
                },
            ],
            humanoutput: false,
            jsonoutput: false,
        }),
        statistics: Some(Statistics {
            execruntime: "1.5ms".to_owned(),
        }),
        errors: Some(vec!["Error: object not prepared in \"t2\"".to_owned()]),
    };
    assert_eq!(
        print(&result, false),
        vec![
            "master [false] name:\"Test one\" id:\"t1\" hastrue:true error:\"\"",
            "sub [true] name:\"Test one\" id:\"t1\" identifier:\"/a <b>\"",
            "sub [false] name:\"Test one\" id:\"t1\" identifier:\"/c\"",
            "master [error] name:\"t2\" id:\"t2\" hastrue:false error:\"object not prepared\"",
            "Error: object not prepared in \"t2\"",
            "Statistics: runtime 1.5ms",
        ]
    );
    let mut human_result = result.clone();
    human_result.elements.as_mut().unwrap().humanoutput = true;
    assert_eq!(
        print(&human_result, true),
        vec![
            "result for \"Test one\" (t1)\n\tdescription: a description\n\tmaster result: false, has true results, failure caused by dependency\n\ttag: cve: CVE-1\n\t[true] identifier: \"/a <b>\"\n\t[false] identifier: \"/c\"",
            "result for \"t2\"\n\tmaster result: false\n\t[error] error: object not prepared",
        ]
    );
    let mut json_result = result;
    json_result.elements.as_mut().unwrap().jsonoutput = true;
    assert_eq!(
        print(&json_result, true),
        vec![
            r#"{"testid":"t1","name":"Test one","description":"a description","tags":[{"key":"cve","value":"CVE-1"}],"iserror":false,"error":"","masterresult":false,"hastrueresults":true,"results":[{"result":true,"identifier":"/a \u003cb\u003e"},{"result":false,"identifier":"/c"}]}"#,
            r#"{"testid":"t2","name":"","description":"","iserror":true,"error":"object not prepared","masterresult":false,"hastrueresults":false,"results":null}"#,
        ]
    );
}

#[test]
fn privacy_masks_identifiers() {
    let document = json!({
        "objects": [{"object": "raw", "raw": {"identifiers": [{"identifier": "/etc/secret", "value": "v"}]}}],
        "tests": [{"test": "t", "object": "raw"}]
    });
    let mut output = Vec::new();
    let input = json!({"class": "parameters", "parameters": {"scribedoc": document}}).to_string();
    let context = ModuleContext {
        extra_privacy: true,
        ..ModuleContext::default()
    };
    assert_eq!(
        child_main(
            "scribe",
            &mut input.as_bytes(),
            &mut output,
            &context,
            false
        ),
        0
    );
    let output = String::from_utf8(output).unwrap();
    assert!(
        output.contains(r#""results":[{"result":true,"identifier":"masked"}]"#),
        "{output}"
    );
    assert!(!output.contains("secret"), "{output}");
}

#[test]
fn load_document_rules() {
    assert_eq!(
        load_document(b"  \n {}").unwrap_err(),
        "the document is too small to be valid (2 bytes)"
    );
    // YAML is read too; its errors name the field and the line.
    assert_eq!(
        load_document(b"objects:\n  - object: x\n").unwrap_err(),
        "x: no valid source interface"
    );
    assert_eq!(
        load_document(b"tests:\n  - test: t\n    object: o\n    evr: [<, 1.0]\n").unwrap_err(),
        "YAML document: tests[0].evr: invalid type: sequence, expected struct EvrTest at line 4 column 10"
    );
    assert_eq!(
        load_document(b"objects:\n  - object: 'x\n    raw: {}\n").unwrap_err(),
        "YAML document: found unexpected end of stream at line 4 column 1, while scanning a quoted scalar at line 2 column 13"
    );
    assert_eq!(
        load_document(b"objects: {object: x}\n").unwrap_err(),
        "YAML document: objects: invalid type: map, expected a sequence at line 1 column 10"
    );
    assert_eq!(
        load_document(br#"{"tests": [{"test": "t", "if": ["t"]}]}"#).unwrap_err(),
        "t: test cannot reference itself"
    );
    let params = testdata("scribe_fixture_doc.params.json");
    let start = params.find(r#""scribedoc":"#).unwrap() + r#""scribedoc":"#.len();
    let end = params.find(r#","onlytrue""#).unwrap();
    let text = &params[start..end];
    let document = load_document(format!("\n\t {text}").as_bytes()).unwrap();
    // Serialised back, the document is the one mig embedded in the action.
    assert_eq!(mig_protocol::gojson::to_string(&document), text);
    // The same document written in YAML is the same document.
    let yaml = load_document(testdata("scribe_fixture_doc.yaml").as_bytes()).unwrap();
    assert_eq!(yaml, document);
    assert_eq!(mig_protocol::gojson::to_string(&yaml), text);
    let json: Document = serde_json::from_str(&testdata("usn_check.json")).unwrap();
    let yaml = load_document(testdata("usn_check.yaml").as_bytes()).unwrap();
    assert_eq!(yaml, json);
}

// Golden runs of the original and the vulnerability check.

fn golden_root(dir: &Path) -> String {
    let root = dir.join("files");
    write(
        &root,
        "a.txt",
        "hello world\nroot:x:0:0:root:/root:/bin/bash\n",
    );
    write(&root, "empty.dat", "");
    write(
        &root,
        "sub/b.conf",
        "key=value\nPASSWORD=not-a-real-secret\n",
    );
    let log: String = (1..=100)
        .map(|i| format!("line {i:03} of the log\n"))
        .collect();
    write(&root, "sub/deep/c.log", &log);
    std::os::unix::fs::symlink("a.txt", root.join("link-to-a")).unwrap();
    root.display().to_string()
}

const GOLDEN_ROOT: &str = "/srv/migref/fixtures/files";

const BASH_STATUS: &str =
    "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b7\n";

fn with_runtime(json: &str, runtime: &str) -> String {
    let at = json.find(r#""execruntime":""#).unwrap() + r#""execruntime":""#.len();
    let end = at + json[at..].find('"').unwrap();
    format!("{}{runtime}{}", &json[..at], &json[end..])
}

/// The original's runs on the fixture tree, byte for byte (run times aside):
/// the module output and the printed lines.
#[test]
fn golden_runs_of_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let root = golden_root(dir.path());
    let host = dpkg_host(dir.path(), BASH_STATUS);
    for name in ["scribe_fixture_doc", "scribe_human_onlytrue"] {
        let input: Value = serde_json::from_str(
            &testdata(&format!("{name}.params.json")).replace(GOLDEN_ROOT, &root),
        )
        .unwrap();
        let expected = testdata(&format!("{name}.stdout.json"));
        let ours = run_with(&input["parameters"], &host);
        let json = mig_protocol::gojson::to_string(&ours).replace(&root, GOLDEN_ROOT);
        assert_eq!(
            with_runtime(&json, "X"),
            with_runtime(&expected, "X"),
            "{name}"
        );
        let pretty = testdata(&format!("{name}.pretty.txt"));
        let ours_pretty = print(&ours, false).join("\n").replace(&root, GOLDEN_ROOT);
        let strip = |text: &str| {
            text.lines()
                .filter(|line| !line.starts_with("Statistics: runtime "))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&ours_pretty), strip(&pretty), "{name}");
        // The printer reads the original's own result the same way.
        let theirs: ScribeResult = mig_protocol::gojson::from_str(&expected).unwrap();
        assert_eq!(
            strip(&print(&theirs, false).join("\n")),
            strip(&pretty),
            "{name}"
        );
    }
}

/// The golden runs again with the documents written in YAML: what `mig
/// scribe -path doc.yaml` sends gives the original's results byte for byte.
#[test]
fn golden_runs_with_yaml_documents() {
    let dir = tempfile::tempdir().unwrap();
    let root = golden_root(dir.path());
    let host = dpkg_host(dir.path(), BASH_STATUS);
    let path = dir.path().join("scribe_fixture_doc.yaml");
    std::fs::write(
        &path,
        testdata("scribe_fixture_doc.yaml").replace(GOLDEN_ROOT, &root),
    )
    .unwrap();
    let args = ["-path".to_owned(), path.display().to_string()];
    let parameters = client::parse_params(&args, &mut Vec::new(), &mut Vec::new())
        .unwrap()
        .unwrap();
    let json_parameters: Value = serde_json::from_str(
        &testdata("scribe_fixture_doc.params.json").replace(GOLDEN_ROOT, &root),
    )
    .unwrap();
    // The action carries the same parameters as the original's client sent.
    let parameters: Value = serde_json::from_str(&parameters).unwrap();
    assert_eq!(parameters, json_parameters["parameters"]);
    let ours = run_with(&parameters, &host);
    let json = mig_protocol::gojson::to_string(&ours).replace(&root, GOLDEN_ROOT);
    assert_eq!(
        with_runtime(&json, "X"),
        with_runtime(&testdata("scribe_fixture_doc.stdout.json"), "X")
    );

    let etc = dir.path().join("etc");
    write(
        &etc,
        "lsb-release",
        "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\n",
    );
    let host = dpkg_host(dir.path(), &testdata("usn_status"));
    let path = dir.path().join("usn_check.yaml");
    std::fs::write(
        &path,
        testdata("usn_check.yaml").replace("value: /etc", &format!("value: {}", etc.display())),
    )
    .unwrap();
    for (flag, expected) in [
        (None, "usn_check.pretty.txt"),
        (Some("-human"), "usn_check.human.txt"),
    ] {
        let mut args = vec!["-path".to_owned(), path.display().to_string()];
        args.extend(flag.map(str::to_owned));
        let parameters = client::parse_params(&args, &mut Vec::new(), &mut Vec::new())
            .unwrap()
            .unwrap();
        let result = run_with(&serde_json::from_str(&parameters).unwrap(), &host);
        assert!(
            result.success && result.errors.is_none(),
            "{:?}",
            result.errors
        );
        let printed = print(&result, true)
            .join("\n")
            .replace(&etc.display().to_string(), "/etc");
        assert_eq!(printed, testdata(expected).trim_end(), "{expected}");
    }
}

/// The same golden run through the module process's entry point (`mig-agent
/// -m scribe`): one JSON line on stdin, the result on stdout.
#[test]
fn golden_run_through_the_child_process_entry() {
    let dir = tempfile::tempdir().unwrap();
    let root = golden_root(dir.path());
    let input = testdata("scribe_fixture_doc.params.json")
        .replace(GOLDEN_ROOT, &root)
        .replace(
            r#"{"object":"bash-pkg","filecontent":{},"filename":{},"package":{"name":"bash"},"raw":{},"hasline":{}}"#,
            r#"{"object":"bash-pkg","raw":{"identifiers":[{"identifier":"bash","value":"5.2"}]}}"#,
        );
    let mut output = Vec::new();
    let code = child_main(
        ModuleName::Scribe.as_str(),
        &mut input.as_bytes(),
        &mut output,
        &ModuleContext::default(),
        false,
    );
    assert_eq!(code, 0);
    let output = String::from_utf8(output)
        .unwrap()
        .replace(&root, GOLDEN_ROOT);
    assert_eq!(
        with_runtime(&output, "X"),
        with_runtime(&testdata("scribe_fixture_doc.stdout.json"), "X")
    );
}

/// A USN/DSA-style vulnerability document (the shape the original's
/// `scribevulnpolicy` generated: a release test, package EVR tests that
/// depend on it, kernels collected by regex with `onlynewest`) against a
/// fixture dpkg database and lsb-release.
#[test]
fn golden_vulnerability_check() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    write(
        &etc,
        "lsb-release",
        "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\n",
    );
    let host = dpkg_host(dir.path(), &testdata("usn_status"));
    let mut document: Value = serde_json::from_str(&testdata("usn_check.json")).unwrap();
    document["variables"][0]["value"] = json!(etc);
    for (human, expected) in [
        (false, "usn_check.pretty.txt"),
        (true, "usn_check.human.txt"),
    ] {
        let result = run_with(&json!({"scribedoc": document, "humanoutput": human}), &host);
        assert!(
            result.success && result.errors.is_none(),
            "{:?}",
            result.errors
        );
        let printed = print(&result, true)
            .join("\n")
            .replace(&etc.display().to_string(), "/etc");
        assert_eq!(printed, testdata(expected).trim_end(), "{expected}");
    }
    // Under the original's ordering the tilde made the up-to-date libxml2 look
    // vulnerable.
    assert!(
        evr::compare(
            Scheme::Rpm,
            Operation::Less,
            "2.9.14+dfsg-1.3",
            "2.9.14+dfsg-1.3~deb12u1"
        )
        .unwrap()
    );
}
