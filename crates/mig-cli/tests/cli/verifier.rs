//! `mig-action-verifier` run as a process against the captured vectors, with
//! keys from a directory and from a real GnuPG home.
use std::path::{Path, PathBuf};
use std::process::Command;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/reference")
}

fn signing(name: &str) -> PathBuf {
    vectors().join("signing").join(name)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn verifier(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_mig-action-verifier"))
        .args(args)
        .env("HOME", "/nonexistent-home-for-tests")
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A key directory holding the given public key files.
fn key_dir(keys: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for key in keys {
        std::fs::copy(signing(key), dir.path().join(key)).unwrap();
    }
    dir
}

const BOB_PUBLIC: &str = "THROWAWAY_TEST_KEY_bob_public.asc";
const SCHEDULER_PUBLIC: &str = "THROWAWAY_TEST_KEY_scheduler_public.asc";
const BOB_FPR: &str = "1E6A08C563BB4EF22E2584A1D96514026D885D08";
/// Inside the signing vectors' validity window (03:04:05 to 03:14:05).
const IN_WINDOW: &str = "2024-01-02T03:05:00Z";

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn write_json(dir: &Path, name: &str, change: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(signing("file_search.action.json")).unwrap())
            .unwrap();
    change(&mut value);
    let file = dir.join(name);
    std::fs::write(&file, serde_json::to_vec(&value).unwrap()).unwrap();
    file
}

#[test]
fn valid_actions_verify() {
    let keys = key_dir(&[BOB_PUBLIC, SCHEDULER_PUBLIC]);
    for case in ["file_search", "netstat_search", "unicode_html_chars"] {
        let action = signing(&format!("{case}.action.json"));
        let run = verifier(&[
            "-a",
            path(&action),
            "-k",
            path(keys.path()),
            "-now",
            IN_WINDOW,
        ]);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, "Valid signature\n"),
            "{case}: {}",
            run.stderr
        );
    }
}

#[test]
fn show_string_prints_the_exact_signed_bytes() {
    for case in ["file_search", "netstat_search", "unicode_html_chars"] {
        let action = signing(&format!("{case}.action.json"));
        let run = verifier(&["-a", path(&action), "-show-string"]);
        assert_eq!(run.code, 0);
        assert_eq!(
            run.stdout,
            std::fs::read_to_string(signing(&format!("{case}.signed_string.txt"))).unwrap()
        );
    }
}

#[test]
fn refusals_name_the_reason() {
    let keys = key_dir(&[BOB_PUBLIC]);
    let only_scheduler = key_dir(&[SCHEDULER_PUBLIC]);
    let work = tempfile::tempdir().unwrap();
    let tampered = write_json(work.path(), "tampered.json", |a| {
        a["operations"][0]["parameters"]["searches"]["s1"]["names"][0] = "^shadow$".into()
    });
    let renamed = write_json(work.path(), "renamed.json", |a| {
        a["name"] = "innocent".into()
    });
    let retargeted = write_json(work.path(), "target.json", |a| {
        a["target"] = "status='idle'".into()
    });
    let earlier = write_json(work.path(), "validfrom.json", |a| {
        a["validfrom"] = "2024-01-02T03:04:04Z".into()
    });
    let later = write_json(work.path(), "expireafter.json", |a| {
        a["expireafter"] = "2024-01-02T03:14:06Z".into()
    });
    let unsigned = write_json(work.path(), "unsigned.json", |a| {
        a["pgpsignatures"] = serde_json::json!([])
    });
    let bad_crc = write_json(work.path(), "crc.json", |a| {
        let sig = a["pgpsignatures"][0].as_str().unwrap().to_owned();
        let (body, _) = sig.rsplit_once('=').unwrap();
        a["pgpsignatures"][0] = format!("{body}=AAAA").into();
    });
    let signed_twice = write_json(work.path(), "twice.json", |a| {
        let sig = a["pgpsignatures"][0].clone();
        a["pgpsignatures"].as_array_mut().unwrap().push(sig);
    });
    let good = signing("file_search.action.json");
    let k = path(keys.path());
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("tampered parameter", vec!["-a", path(&tampered), "-k", k, "-now", IN_WINDOW], "[error] signature 0 is invalid"),
        ("tampered name", vec!["-a", path(&renamed), "-k", k, "-now", IN_WINDOW], "[error] signature 0 is invalid"),
        ("tampered target", vec!["-a", path(&retargeted), "-k", k, "-now", IN_WINDOW], "[error] signature 0 is invalid"),
        ("tampered validfrom", vec!["-a", path(&earlier), "-k", k, "-now", IN_WINDOW], "[error] signature 0 is invalid"),
        ("tampered expireafter", vec!["-a", path(&later), "-k", k, "-now", IN_WINDOW], "[error] signature 0 is invalid"),
        ("unsigned", vec!["-a", path(&unsigned), "-k", k, "-now", IN_WINDOW], "[error] action has no signature"),
        ("bad crc", vec!["-a", path(&bad_crc), "-k", k, "-now", IN_WINDOW], "[error] signature 0 is invalid"),
        ("expired", vec!["-a", path(&good), "-k", k], "[error] action expired at 2024-01-02T03:14:05Z"),
        ("not yet valid", vec!["-a", path(&good), "-k", k, "-now", "2024-01-02T03:02:00Z"], "[error] action is not valid before 2024-01-02T03:04:05Z"),
        ("unknown key", vec!["-a", path(&good), "-k", path(only_scheduler.path()), "-now", IN_WINDOW], "[error] signature 0 is invalid"),
        ("missing file", vec!["-a", "/nonexistent/action.json", "-k", k], "[error] cannot read /nonexistent/action.json"),
        ("bad -now", vec!["-a", path(&good), "-k", k, "-now", "tomorrow"], "[error] invalid -now \"tomorrow\""),
        ("no file", vec!["-k", k], "[error] either an action file or a command file must be provided"),
        ("both files", vec!["-a", path(&good), "-c", path(&good)], "[error] either an action file or a command file must be provided"),
        ("unknown flag", vec!["-bogus"], "[error] flag provided but not defined: -bogus"),
    ];
    for (what, args, expected) in cases {
        let run = verifier(&args);
        assert_eq!(run.code, 1, "{what}: {} {}", run.stdout, run.stderr);
        assert!(
            run.stdout.starts_with(expected),
            "{what}: got {:?}",
            run.stdout
        );
        assert_eq!(
            run.stdout.lines().count(),
            1,
            "{what}: one line: {:?}",
            run.stdout
        );
    }
    // Skew: one minute past expiry is still accepted by default (as the agent), not with -skew 0s.
    let late = "2024-01-02T03:14:30Z";
    assert_eq!(
        verifier(&["-a", path(&good), "-k", k, "-now", late]).code,
        0
    );
    assert_eq!(
        verifier(&["-a", path(&good), "-k", k, "-now", late, "-skew", "0s"]).code,
        1
    );
    // The same key twice.
    let acl = work.path().join("acl.cfg");
    std::fs::write(&acl, format!(r#"{{"file":{{"minimumweight":1,"investigators":{{"bob":{{"fingerprint":"{BOB_FPR}","weight":1}}}}}}}}"#)).unwrap();
    let run = verifier(&[
        "-a",
        path(&signed_twice),
        "-k",
        k,
        "-now",
        IN_WINDOW,
        "-acl",
        path(&acl),
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.ends_with("used to sign multiple times\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn acl_checks() {
    let keys = key_dir(&[BOB_PUBLIC]);
    let work = tempfile::tempdir().unwrap();
    let allow = work.path().join("allow.cfg");
    std::fs::write(
        &allow,
        format!(r#"{{"default":{{"minimumweight":1,"investigators":{{}}}},"file":{{"minimumweight":2,"investigators":{{"bob":{{"fingerprint":"{BOB_FPR}","weight":2}}}}}}}}"#),
    )
    .unwrap();
    let deny = work.path().join("deny.cfg");
    std::fs::write(
        &deny,
        r#"{"default":{"minimumweight":1,"investigators":{}}}"#,
    )
    .unwrap();
    let action = signing("file_search.action.json");
    let run = verifier(&[
        "-a",
        path(&action),
        "-k",
        path(keys.path()),
        "-now",
        IN_WINDOW,
        "-acl",
        path(&allow),
    ]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "Valid signature\nACL: authorized\n")
    );
    // netstat has no entry of its own: the default entry refuses Bob.
    let netstat = signing("netstat_search.action.json");
    let run = verifier(&[
        "-a",
        path(&netstat),
        "-k",
        path(keys.path()),
        "-now",
        IN_WINDOW,
        "-acl",
        path(&allow),
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .starts_with("Valid signature\n[error] module \"netstat\" requires weight 1"),
        "{}",
        run.stdout
    );
    let run = verifier(&[
        "-a",
        path(&action),
        "-k",
        path(keys.path()),
        "-now",
        IN_WINDOW,
        "-acl",
        path(&deny),
    ]);
    assert_eq!(run.code, 1);
    let bad = work.path().join("bad.cfg");
    std::fs::write(&bad, "{").unwrap();
    let run = verifier(&[
        "-a",
        path(&action),
        "-k",
        path(keys.path()),
        "-now",
        IN_WINDOW,
        "-acl",
        path(&bad),
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("bad.cfg: invalid acl"),
        "{}",
        run.stdout
    );
}

#[test]
fn command_files_verify_their_action() {
    let keys = key_dir(&[BOB_PUBLIC]);
    for sample in [
        "command_published_by_scheduler",
        "result_published_by_agent",
        "unicode_file_command_published_by_scheduler",
    ] {
        let file = vectors().join("amqp").join(format!("{sample}.body.json"));
        // The captured actions were valid from 17:10:42 (file) and 17:21:39 (unicode) for 6 minutes.
        let now = if sample.starts_with("unicode") {
            "2026-11-28T17:22:00Z"
        } else {
            "2026-11-28T17:12:00Z"
        };
        let run = verifier(&["-c", path(&file), "-k", path(keys.path()), "-now", now]);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, "Valid signature\n"),
            "{sample}: {}",
            run.stderr
        );
    }
}

#[test]
fn default_keys_come_from_the_investigators_gnupg() {
    let home = tempfile::Builder::new()
        .prefix("migv")
        .tempdir_in("/tmp")
        .unwrap();
    let status = Command::new("gpg")
        .args([
            "--homedir",
            path(home.path()),
            "--batch",
            "--quiet",
            "--import",
        ])
        .arg(signing(BOB_PUBLIC))
        .status()
        .unwrap();
    assert!(status.success());
    let migrc = home.path().join("verify.migrc");
    std::fs::write(
        &migrc,
        format!(
            "[api]\n    url = \"http://127.0.0.1:1/api/v1/\"\n[gpg]\n    home = \"{}\"\n",
            path(home.path())
        ),
    )
    .unwrap();
    let action = signing("file_search.action.json");
    let run = verifier(&[
        "-conf",
        path(&migrc),
        "-a",
        path(&action),
        "-now",
        IN_WINDOW,
    ]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "Valid signature\n"),
        "{}",
        run.stderr
    );
    let _ = Command::new("gpgconf")
        .args(["--homedir", path(home.path()), "--kill", "all"])
        .status();
}
