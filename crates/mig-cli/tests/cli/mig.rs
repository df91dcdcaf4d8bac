//! `mig` as a process, compared with the original's transcripts where the
//! output does not depend on a live API (usage, version, errors, module help,
//! flag errors, `-p`, `-t local`).

use std::process::{Command, Stdio};

fn vector(path: &str) -> String {
    let full = format!(
        "{}/../../../shared/vectors/reference/cli/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&full).unwrap_or_else(|err| panic!("{full}: {err}"))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn mig(args: &[&str], home: &std::path::Path) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_mig"))
        .args(args)
        .env("HOME", home)
        .env_remove("GNUPGHOME")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Checks a run against the captured `<case>` transcript.
fn same_as(run: &Run, case: &str) {
    assert_eq!(
        run.stdout,
        vector(&format!("{case}.stdout.txt")),
        "{case} stdout"
    );
    assert_eq!(
        run.stderr,
        vector(&format!("{case}.stderr.txt")),
        "{case} stderr"
    );
    let cmd = vector(&format!("{case}.cmd.txt"));
    let code: i32 = cmd
        .lines()
        .find_map(|line| line.strip_prefix("exit code: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(run.code, code, "{case} exit code");
}

fn home_with_migrc() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".migrc"),
        "[api]\n    url = \"http://127.0.0.1:9/api/v1/\"\n[gpg]\n    keyid = \"E60892BB9BD89A69F759A1A0A3D652173B763E8F\"\n[targets]\n    macro = allonline:status='online'\n",
    )
    .unwrap();
    home
}

#[test]
fn transcripts_without_an_api() {
    let home = home_with_migrc();
    let home = home.path();
    same_as(
        &mig(&["nosuchmodule", "-t", "allonline"], home),
        "err_unknown_module",
    );
    same_as(
        &mig(&["agentdestroy", "-t", "allonline"], home),
        "agentdestroy",
    );
    same_as(&mig(&["-i"], home), "err_i_without_value");
    same_as(
        &mig(&["-i", "/srv/migref/capwork/no-such-action.json"], home),
        "err_i_missing_file",
    );
    same_as(&mig(&["file", "help"], home), "help_file");
    same_as(&mig(&["netstat", "help"], home), "help_netstat");
    same_as(&mig(&["ping", "help"], home), "help_ping");
    same_as(&mig(&["pkg", "help"], home), "help_pkg");
    same_as(&mig(&["sshkey", "help"], home), "help_sshkey");
    same_as(&mig(&["timedrift", "help"], home), "help_timedrift");
    same_as(
        &mig(
            &[
                "file",
                "-t",
                "allonline",
                "-path",
                "/srv/migref/fixtures/files",
                "-sha256",
                "f3796f5285a1c6791acb0647ea7d1f1e686bf37f7787bdeb7000d7516808540f",
            ],
            home,
        ),
        "file_sha256_flag_unsupported",
    );
    same_as(
        &mig(
            &[
                "file",
                "-p",
                "-t",
                "allonline",
                "-path",
                "/etc",
                "-name",
                "^passwd$",
                "-content",
                "^root",
            ],
            home,
        ),
        "file_print_action_p",
    );
}

#[test]
fn usage_and_version() {
    let home = home_with_migrc();
    let run = mig(&[], home.path());
    assert_eq!(run.code, 1);
    let original = vector("usage_noargs.stdout.txt");
    let head = &original[..original
        .find("-y\t")
        .unwrap_or(original.find("--- Modules").unwrap())];
    assert!(run.stdout.starts_with(head), "{}", run.stdout);
    for module in [
        "file",
        "netstat",
        "ping",
        "pkg",
        "timedrift",
        "agentdestroy",
        "fswatch",
        "scribe",
        "sshkey",
    ] {
        assert!(run.stdout.contains(&format!("\n* {module}\n")), "{module}");
    }
    assert!(run.stdout.contains("\n-y\t") && run.stdout.contains("\n-render <mode>"));
    assert_eq!(mig(&["help"], home.path()).code, 1);
    let run = mig(&["-V"], home.path());
    assert_eq!(
        (run.code, run.stdout.trim()),
        (0, env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn new_flags_and_their_errors() {
    let home = home_with_migrc();
    let home = home.path();
    let run = mig(
        &[
            "file", "-render", "xml", "-t", "local", "-path", "/etc", "-name", "^passwd$",
        ],
        home,
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: invalid value 'xml' for -render: use text, json or csv\n"
    );
    let run = mig(
        &[
            "file",
            "-target-found",
            "12; DROP TABLE agents",
            "-p",
            "-path",
            "/etc",
        ],
        home,
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("invalid action ID"), "{}", run.stderr);
    let run = mig(
        &[
            "file",
            "-target-found",
            "1",
            "-target-notfound",
            "2",
            "-p",
            "-path",
            "/etc",
        ],
        home,
    );
    assert_eq!(run.code, 1);
    let run = mig(
        &[
            "file",
            "-target-found",
            "42",
            "-p",
            "-t",
            "allonline",
            "-path",
            "/etc",
        ],
        home,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("\"target\": \"id IN (select agentid from commands, json_array_elements(commands.results) as r where actionid=42 and r#\\u003e\\u003e'{foundanything}' = 'true') AND status='online'\""), "{}", run.stdout);
    let run = mig(&["file", "-h"], home);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "error: flag: help requested\n")
    );
    // No target: the notice, then the default target.
    let run = mig(&["file", "-p", "-path", "/etc"], home);
    assert_eq!(
        run.stderr,
        "[notice] no target specified, defaulting to all online agents\n"
    );
    assert!(run.stdout.contains("\"target\": \"status='online'\""));
    // Modules whose agent side is not built still build their action.
    let run = mig(&["fswatch", "-p", "-t", "allonline", "help"], home);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("\"module\": \"fswatch\""),
        "{}",
        run.stdout
    );
}

#[test]
fn local_target_runs_the_module_here() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "alpha\n").unwrap();
    std::fs::write(dir.path().join("b.log"), "beta\n").unwrap();
    let home = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let run = mig(
        &["file", "-t", "local", "-path", path, "-name", "\\.txt$"],
        home.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let line = run.stdout.trim_end();
    assert!(
        line.starts_with(&format!("{path}/a.txt [lastmodified:")),
        "{line}"
    );
    assert!(
        line.ends_with(", mode:-rw-r--r--, size:6] in search 's1'") || line.contains("size:6]"),
        "{line}"
    );
    assert_eq!(run.stdout.lines().count(), 1);
}

#[test]
fn missing_configuration_starts_the_generator() {
    // stdin is /dev/null: "yes", then no GnuPG directory (see migrc_setup).
    let home = tempfile::tempdir().unwrap();
    let run = mig(&["file", "-t", "allonline", "-path", "/etc"], home.path());
    assert_eq!(run.code, 1);
    let file = home.path().join(".migrc");
    assert_eq!(
        run.stderr,
        format!(
            "no configuration found at {f}\nerror: ReadConfiguration() -> MakeConfiguration() -> error opening secring: open {g}/secring.gpg: no such file or directory\n",
            f = file.display(),
            g = home.path().join(".gnupg").display()
        )
    );
    // -p needs no configuration and asks nothing.
    let run = mig(
        &["file", "-p", "-t", "allonline", "-path", "/etc"],
        home.path(),
    );
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
}
