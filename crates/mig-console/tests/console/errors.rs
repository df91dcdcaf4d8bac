//! Unknown orders, bad and unknown ids, `exit`, history and showcfg.

use crate::harness::Env;

#[test]
fn errors_are_clear_and_the_console_leaves_cleanly() {
    let env = Env::start();
    let mut console = env.spawn();

    let out = console.order("frobnicate", "mig>");
    assert!(out.contains("Unknown order 'frobnicate'"), "{out}");
    let out = console.order("action", "mig>");
    assert!(
        out.contains("error: missing action id in 'action <id>'"),
        "{out}"
    );
    let out = console.order("action abc", "mig>");
    assert!(out.contains("invalid action id 'abc'"), "{out}");
    let out = console.order("action 4242", "mig>");
    assert!(out.contains("Action ID '4242' not found"), "{out}");
    let out = console.order("agent 4242", "mig>");
    assert!(out.contains("Agent ID '4242' not found"), "{out}");
    let out = console.order("investigator 0", "mig>");
    assert!(out.contains("Invalid Investigator ID '0'"), "{out}");
    let out = console.order("create", "mig>");
    assert!(
        out.contains("error: missing order, must be 'create <action|investigator>'"),
        "{out}"
    );
    let out = console.order("create bogus", "mig>");
    assert!(out.contains("unknown order 'create bogus'"), "{out}");
    let out = console.order("query heartbeat", "mig>");
    assert!(
        out.contains("querying heartbeat") && out.contains("gatorz say hi"),
        "{out}"
    );
    let out = console.order("showcfg", "mig>");
    assert!(
        out.contains(&format!("[api]\r\n    url = {}", env.url)),
        "{out}"
    );
    let out = console.order("history 2", "mig>");
    assert!(out.contains("showcfg\r\nquery heartbeat\r\n"), "{out}");

    // `exit` prints the footer and ends the process with status 0; the
    // history is saved.
    console.send("exit");
    console.expect("Gators are going back underwater.");
    console.session.exp_eof().unwrap();
    let history = std::fs::read_to_string(env.home.path().join(".mig_history")).unwrap();
    assert!(history.contains("frobnicate\n"), "{history}");
    assert!(history.ends_with("history 2\n"), "{history}");
}

#[test]
fn a_missing_configuration_or_api_fails_at_start() {
    let env = Env::start();
    let output = env
        .command()
        .args(["-c", "/nonexistent/migrc"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no configuration found at /nonexistent/migrc"),
        "{stderr}"
    );
    let output = env.command().arg("-V").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        env!("CARGO_PKG_VERSION")
    );
}
