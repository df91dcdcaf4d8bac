//! Tests of the pkg module: a fixture dpkg database, a fake `rpm`, the
//! machine's own dpkg database against `dpkg -l`, and the golden runs.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;

use super::*;
use crate::registry::{ModuleName, run_module};

const VECTORS: &str = "/work/shared/vectors/reference/modules";

/// A dpkg status database: installed, removed, held, multi-arch, foreign and
/// `all` packages, continuation lines and an epoch.
const STATUS: &str = "\
Package: zlib1g
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime
 zlib is a library implementing the deflate compression method found
 in gzip and PKZIP.
 Package: not-a-field
Homepage: http://zlib.net/

Package: bash
Essential: yes
Status: install ok installed
Architecture: amd64
Multi-Arch: foreign
Version: 5.2.15-2+b8
Description: GNU Bourne Again SHell

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: held-pkg
Status: hold ok installed
Architecture: amd64
Version: 2.0

Package: libfoo
Status: install ok installed
Architecture: i386
Version: 0.1

Package: base-files
Status: install ok installed
Architecture: all
Version: 12.4+deb12u5

Package: zlib1g
Status: install ok installed
Architecture: i386
Multi-Arch: same
Version: 1:1.2.13.dfsg-1
";

fn fixture(dir: &Path, rpm_listing: Option<&str>) -> Config {
    let status = dir.join("status");
    std::fs::write(&status, STATUS).unwrap();
    let rpm = dir.join("rpm");
    if let Some(listing) = rpm_listing {
        std::fs::write(dir.join("listing"), listing).unwrap();
        let script = format!(
            "#!/bin/sh\n[ \"$1 $2 $3\" = '-qa --queryformat %{{NAME}} %{{EVR}} %{{ARCH}}\\n' ] || exit 3\ncat '{}'\n",
            dir.join("listing").display()
        );
        std::fs::write(&rpm, script).unwrap();
        std::fs::set_permissions(&rpm, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    Config {
        rpm,
        dpkg_status: status,
        native_arch: "amd64".to_owned(),
    }
}

fn names(result: &PkgResult) -> Vec<String> {
    result
        .elements
        .as_ref()
        .unwrap()
        .packages
        .iter()
        .map(|package| {
            format!(
                "{} {} {} {}",
                package.kind, package.name, package.version, package.arch
            )
        })
        .collect()
}

#[test]
fn dpkg_database_as_dpkg_l_lists_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture(dir.path(), None);
    let result = run_with(&json!({"pkgmatch":{"matches":["."]}}), &config);
    assert_eq!(
        names(&result),
        vec![
            "dpkg base-files 12.4+deb12u5 all",
            "dpkg bash 5.2.15-2+b8 amd64",
            "dpkg libfoo:i386 0.1 i386",
            "dpkg zlib1g:amd64 1:1.2.13.dfsg-1 amd64",
            "dpkg zlib1g:i386 1:1.2.13.dfsg-1 i386",
        ]
    );
}

#[test]
fn rpm_first_then_dpkg_with_version_filters() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture(
        dir.path(),
        Some("bash 5.1.8-6.el9 x86_64\nbroken-row\nopenssl 1:3.0.7-24.el9 x86_64\n"),
    );
    let result = run_with(
        &json!({"pkgmatch":{"matches":["^bash$", "ssl|bash"]}}),
        &config,
    );
    assert_eq!(
        names(&result),
        vec![
            "rpm bash 5.1.8-6.el9 x86_64",
            "dpkg bash 5.2.15-2+b8 amd64",
            "rpm bash 5.1.8-6.el9 x86_64",
            "rpm openssl 1:3.0.7-24.el9 x86_64",
            "dpkg bash 5.2.15-2+b8 amd64",
        ]
    );
    let result = run_with(
        &json!({"pkgmatch":{"matches":["^bash$"]},"vermatch":"^5\\.2"}),
        &config,
    );
    assert_eq!(names(&result), vec!["dpkg bash 5.2.15-2+b8 amd64"]);
    let result = run_with(
        &json!({"pkgmatch":{"matches":["^bash$"]},"vermatch":"!^5\\.2"}),
        &config,
    );
    assert_eq!(names(&result), vec!["rpm bash 5.1.8-6.el9 x86_64"]);
    // A lone "!" is a regex, not an inversion.
    let result = run_with(
        &json!({"pkgmatch":{"matches":["^bash$"]},"vermatch":"!"}),
        &config,
    );
    assert!(names(&result).is_empty());
}

#[test]
fn missing_tools_contribute_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        rpm: dir.path().join("no-rpm"),
        dpkg_status: dir.path().join("no-status"),
        native_arch: "amd64".to_owned(),
    };
    let result = run_with(&json!({"pkgmatch":{"matches":["bash"]}}), &config);
    assert!(result.success && !result.foundanything);
    let json = mig_protocol::gojson::to_string(&result);
    assert!(json.starts_with(r#"{"foundanything":false,"success":true,"elements":{"packages":[]},"statistics":{"execruntime":""#), "{json}");
}

#[test]
fn validation_is_fatal_with_statistics() {
    let cases = [
        (
            json!({"pkgmatch":{"matches":[]}}),
            "must specify at least one package to match",
        ),
        (json!({}), "must specify at least one package to match"),
        (
            json!({"pkgmatch":{"matches":["("]}}),
            "error parsing regexp: missing closing ): `(`",
        ),
        (
            json!({"pkgmatch":{"matches":["a"]},"vermatch":"!["}),
            "error parsing regexp: missing closing ]: `[`",
        ),
    ];
    for (parameters, error) in cases {
        let json = run_module(ModuleName::Pkg, &parameters, &ModuleContext::default());
        let prefix = r#"{"foundanything":false,"success":false,"elements":null,"statistics":{"execruntime":""#;
        assert!(json.starts_with(prefix), "{json}");
        assert!(
            json.ends_with(&format!(r#""}},"errors":["{error}"]}}"#)),
            "{json}"
        );
    }
}

#[test]
fn printing() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture(dir.path(), None);
    let mut result = run_with(&json!({"pkgmatch":{"matches":["^bash$"]}}), &config);
    result.statistics.as_mut().unwrap().execruntime = "12.8538ms".to_owned();
    assert_eq!(
        print(&result, false),
        vec![
            "pkgmatch name=bash version=5.2.15-2+b8 type=dpkg arch=amd64",
            "Statistics: runtime 12.8538ms"
        ]
    );
    assert_eq!(print(&result, true).len(), 1);
    let failed = run_with(&json!({}), &config);
    assert_eq!(
        print(&failed, false)[0],
        "must specify at least one package to match"
    );
}

/// The golden runs: the same JSON and lines on the golden host's bash.
#[test]
fn golden_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture(dir.path(), None);
    for name in ["pkg_bash", "pkg_nomatch"] {
        let Ok(stdout) = std::fs::read_to_string(format!("{VECTORS}/{name}.stdout.json")) else {
            continue;
        };
        let input: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{VECTORS}/{name}.params.json")).unwrap(),
        )
        .unwrap();
        let golden: PkgResult = mig_protocol::gojson::from_str(&stdout).unwrap();
        let mut ours = run_with(&input["parameters"], &config);
        ours.statistics = golden.statistics.clone();
        assert_eq!(mig_protocol::gojson::to_string(&ours), stdout, "{name}");
        let pretty = std::fs::read_to_string(format!("{VECTORS}/{name}.pretty.txt")).unwrap();
        let expected: Vec<&str> = pretty.lines().collect();
        let printed = print(&golden, false);
        assert_eq!(printed.len(), expected.len());
        assert_eq!(printed[..printed.len() - 1], expected[..expected.len() - 1]);
    }
}

/// On a dpkg machine, the database reading lists exactly the `ii` rows of `dpkg -l`.
#[test]
fn machine_database_equals_dpkg_l() {
    let Ok(output) = Command::new("dpkg").arg("-l").output() else {
        return;
    };
    let listing = String::from_utf8_lossy(&output.stdout);
    let expected: Vec<String> = listing
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() >= 4 && fields[0] == "ii")
                .then(|| format!("{} {} {}", fields[1], fields[2], fields[3]))
        })
        .collect();
    let status = std::fs::read("/var/lib/dpkg/status").unwrap();
    let ours: Vec<String> = dpkg_packages(&status, native_arch())
        .iter()
        .map(|package| format!("{} {} {}", package.name, package.version, package.arch))
        .collect();
    assert_eq!(ours, expected);
}
