//! `mig-action-generator` as a process, against the original's transcripts
//! (`action_generator_*`) and a real `mig-api`: the printed action is the
//! transcript's byte for byte except the signature (a fresh one, checked by
//! `mig-action-verifier`) and, with `-validfrom now`, the times.

use std::path::Path;

use mig_protocol::Id;

use super::support::{
    Api, BOB_PUBLIC, Run, exit_code, reference, same_as, signing, tool, vector, write_migrc,
};

const EXE: &str = env!("CARGO_BIN_EXE_mig-action-generator");
/// The HOME of the captures (only its name appears, in the usage's defaults).
const CAPTURE_HOME: &str = "/srv/migref/home";

fn input_action() -> String {
    reference()
        .join("cli/action_generator.input_action.json")
        .display()
        .to_string()
}

fn generator(args: &[&str], home: &Path) -> Run {
    tool(EXE, args, home, b"")
}

/// The only `pgpsignatures` entry of printed JSON.
fn signature_of(stdout: &str) -> String {
    let pattern = "\"pgpsignatures\": [\n\t\t\"";
    let start = stdout.find(pattern).unwrap() + pattern.len();
    let end = start + stdout[start..].find('"').unwrap();
    stdout[start..end].to_owned()
}

/// Checks that the printed action verifies with Bob's key at `now`. The
/// generator leaves `syntaxversion` unset, as the original (`PostAction`
/// sets it; it is not signed): it is set here for the verifier's syntax check.
fn verifies(json: &str, now: &str) {
    let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
    value["syntaxversion"] = 2.into();
    let json = serde_json::to_string(&value).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    std::fs::copy(signing(BOB_PUBLIC), keys.join(BOB_PUBLIC)).unwrap();
    let file = dir.path().join("action.json");
    std::fs::write(&file, json).unwrap();
    let run = tool(
        env!("CARGO_BIN_EXE_mig-action-verifier"),
        &[
            "-a",
            file.to_str().unwrap(),
            "-k",
            keys.to_str().unwrap(),
            "-now",
            now,
        ],
        dir.path(),
        b"",
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "Valid signature\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_help_and_version() {
    let home = Path::new(CAPTURE_HOME);
    same_as(&generator(&["-h"], home), "action_generator_help");
    // The capture had a configuration at $HOME/.migrc; -c gives one here
    // (the usage shows defaults, not values).
    let work = tempfile::tempdir().unwrap();
    let migrc = work.path().join("migrc");
    write_migrc(&migrc, "http://127.0.0.1:9/api/v1/");
    same_as(
        &generator(&["-c", migrc.to_str().unwrap()], home),
        "action_generator_noargs",
    );
    let run = generator(&["-V"], home);
    assert_eq!(
        (run.code, run.stdout.trim()),
        (0, env!("CARGO_PKG_VERSION"))
    );
    let run = generator(&["-bogus"], home);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("flag provided but not defined: -bogus\nUsage of mig-action-generator:\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn nolaunch_prints_the_signed_action() {
    let work = tempfile::tempdir().unwrap();
    let migrc = work.path().join("migrc");
    // Nothing listens there: -nolaunch makes no request.
    write_migrc(&migrc, "http://127.0.0.1:9/api/v1/");
    let input = input_action();
    let common = [
        "-c",
        migrc.to_str().unwrap(),
        "-i",
        input.as_str(),
        "-nolaunch",
    ];
    let times = ["-validfrom", "2024-01-02T03:04:05Z", "-expireafter", "10m"];

    let args: Vec<&str> = common.iter().chain(times.iter()).copied().collect();
    let run = generator(&args, work.path());
    let expected = vector("action_generator_nolaunch.stdout.txt");
    let ours = signature_of(&run.stdout);
    assert_eq!(
        run.stdout,
        expected.replace(&signature_of(&expected), &ours),
        "{}",
        run.stderr
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (exit_code("action_generator_nolaunch"), "")
    );
    verifies(&run.stdout, "2024-01-02T03:05:00Z");

    let args: Vec<&str> = common
        .iter()
        .chain(["-urlencode"].iter())
        .chain(times.iter())
        .copied()
        .collect();
    let run = generator(&args, work.path());
    let expected = vector("action_generator_nolaunch_urlencode.stdout.txt");
    let theirs = signature_of(&expected);
    let ours = signature_of(&run.stdout);
    let escape = |s: &str| {
        s.replace('/', "%2F")
            .replace('+', "%2B")
            .replace('=', "%3D")
    };
    assert_eq!(
        run.stdout,
        expected
            .replace(&theirs, &ours)
            .replace(&escape(&theirs), &escape(&ours)),
        "{}",
        run.stderr
    );
    assert_eq!(run.code, 0);
    // -urlencode alone implies -p (the help says so; the original printed nothing).
    let args: Vec<&str> = common[..4]
        .iter()
        .chain(["-urlencode"].iter())
        .chain(times.iter())
        .copied()
        .collect();
    let run = generator(&args, work.path());
    assert_eq!(run.code, 1, "no API: the launch fails");
    assert!(
        run.stdout.contains("\n%7B%0A%09%22id%22%3A+0%2C"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("FATAL: PostAction() -> "),
        "{}",
        run.stdout
    );
}

#[test]
fn errors_are_fatal_lines() {
    let work = tempfile::tempdir().unwrap();
    let migrc = work.path().join("migrc");
    write_migrc(&migrc, "http://127.0.0.1:9/api/v1/");
    let c = migrc.to_str().unwrap();
    let input = input_action();
    #[rustfmt::skip]
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-c", c, "-i", "/nonexistent/action.json"], "FATAL: open /nonexistent/action.json: "),
        (vec!["-c", c, "-i", &input, "-nolaunch", "-expireafter", "soon"], "FATAL: invalid -expireafter \"soon\": "),
        (vec!["-c", c, "-i", &input, "-nolaunch", "-validfrom", "monday"], "FATAL: invalid -validfrom \"monday\": "),
        (vec!["-c", "/nonexistent/migrc", "-i", &input], "FATAL: ReadConfiguration() -> MakeConfiguration() -> error opening secring: "),
    ];
    let no_url = work.path().join("no-url.migrc");
    std::fs::write(&no_url, "[gpg]\n    keyid = \"ABCD\"\n").unwrap();
    let run = generator(&["-c", no_url.to_str().unwrap(), "-i", &input], work.path());
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (
            1,
            "FATAL: ReadConfiguration() -> config API URL too short or undefined: len 0\n"
        )
    );
    for (args, expected) in cases {
        let run = generator(&args, work.path());
        assert_eq!(run.code, 1, "{args:?}: {}", run.stdout);
        assert!(
            run.stdout.starts_with(expected) || run.stdout.contains(expected),
            "{args:?}: {:?} {:?}",
            run.stdout,
            run.stderr
        );
    }
}

#[test]
fn launches_through_the_api() {
    let api = Api::start();
    let work = tempfile::tempdir().unwrap();
    let migrc = work.path().join("migrc");
    write_migrc(&migrc, &api.url);
    let c = migrc.to_str().unwrap();
    let input = input_action();

    // `-t` replaces the file's target (a macro is expanded).
    let run = generator(&["-c", c, "-i", &input, "-t", "allonline"], work.path());
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{}", run.stdout);
    let id: u64 = run
        .stdout
        .strip_prefix("Successfully launched action ")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{:?}", run.stdout))
        .parse()
        .unwrap();
    let stored = api
        .runtime
        .block_on(mig_store::Store::get_action(&*api.store, Id(id)))
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "small generator test action");
    assert_eq!(stored.target, "status='online'");
    assert_eq!(stored.pgpsignatures.as_ref().map(Vec::len), Some(1));
    let window = stored.expireafter.to_utc() - stored.validfrom.to_utc();
    assert_eq!(window, chrono::Duration::minutes(30));
    let age = chrono::Utc::now() - stored.validfrom.to_utc();
    assert!(
        age >= chrono::Duration::seconds(59) && age < chrono::Duration::seconds(90),
        "validfrom is now - 60 s: {age}"
    );

    // -p: the action, then the launch.
    let run = generator(&["-c", c, "-i", &input, "-p"], work.path());
    assert_eq!(run.code, 0, "{}", run.stdout);
    let expected = vector("action_generator_launch_p.stdout.txt");
    let (json, launched) = run.stdout.rsplit_once("}\n").unwrap();
    let json = format!("{json}}}\n");
    let field = |text: &str, name: &str| -> String {
        let pattern = format!("\t\"{name}\": \"");
        let start = text.find(&pattern).unwrap() + pattern.len();
        text[start..start + text[start..].find('"').unwrap()].to_owned()
    };
    let mut normalised = expected.clone();
    for name in ["validfrom", "expireafter"] {
        normalised = normalised.replace(&field(&expected, name), &field(&json, name));
    }
    normalised = normalised.replace(&signature_of(&expected), &signature_of(&json));
    let (normalised_json, _) = normalised.rsplit_once("}\n").unwrap();
    assert_eq!(json, format!("{normalised_json}}}\n"));
    assert!(
        launched.starts_with("Successfully launched action "),
        "{launched}"
    );
    assert_eq!(launched.lines().count(), 1);
    verifies(&json, &chrono::Utc::now().to_rfc3339());
}
