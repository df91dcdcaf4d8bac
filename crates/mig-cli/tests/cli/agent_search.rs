//! `mig-agent-search` as a process against a real `mig-api` holding the
//! captured agent (`vm`, same version, pid, times, tags and environment):
//! the output is the original's transcript byte for byte, the agent id
//! aside (a fresh one).

use std::path::Path;

use chrono::{TimeZone, Utc};
use mig_protocol::{Agent, Heartbeat};

use super::support::{Api, Run, exit_code, reference, same_as, tool, vector, write_migrc};

const EXE: &str = env!("CARGO_BIN_EXE_mig-agent-search");
/// The captured agent's id.
const CAPTURED_ID: &str = "28090754072579";

fn search(args: &[&str], home: &Path) -> Run {
    tool(EXE, args, home, b"")
}

/// The captured `vm`, from the captured heartbeat with the capture's pid and
/// module order.
fn captured_vm() -> Agent {
    let body = std::fs::read(reference().join("http/agent_POST_heartbeat.body.json")).unwrap();
    let mut agent = Heartbeat::from_json(body.trim_ascii()).unwrap().to_agent();
    agent.pid = 28864;
    agent.environment.modules = [
        "fswatch",
        "netstat",
        "scribe",
        "pkg",
        "sshkey",
        "timedrift",
        "agentdestroy",
        "file",
        "ping",
    ]
    .map(str::to_owned)
    .to_vec();
    agent
}

/// Checks a run against a transcript, with the seeded agent's id.
fn same_as_with_id(run: &Run, case: &str, id: u64) {
    let expected = vector(&format!("{case}.stdout.txt")).replace(CAPTURED_ID, &id.to_string());
    assert_eq!(run.stdout, expected, "{case} stdout");
    assert_eq!(
        run.stderr,
        vector(&format!("{case}.stderr.txt")),
        "{case} stderr"
    );
    assert_eq!(run.code, exit_code(case), "{case} exit code");
}

const HEADER: &str =
    "name; id; status; version; mode; os; arch; pid; starttime; heartbeattime; tags; environment\n";

#[test]
fn transcripts_against_a_real_api() {
    let api = Api::start();
    let home = tempfile::tempdir().unwrap();
    write_migrc(&home.path().join(".migrc"), &api.url);
    let home = home.path();

    // Nothing seeded yet: the header alone, exit 0.
    let run = search(&["-p", "status=online"], home);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, HEADER),
        "{}",
        run.stderr
    );

    let id = api
        .seed_agent(
            &captured_vm(),
            Utc.with_ymd_and_hms(2026, 11, 28, 18, 8, 10).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 28, 18, 12, 10).unwrap(),
        )
        .0;
    same_as_with_id(
        &search(&["-p", "status=online"], home),
        "agent_search_p_online",
        id,
    );
    same_as_with_id(
        &search(&["-p", "name=vm and status=online"], home),
        "agent_search_p_name_and",
        id,
    );
    same_as_with_id(
        &search(&["-t", "status='online'"], home),
        "agent_search_t_online",
        id,
    );
    // A .migrc macro gives the same.
    same_as_with_id(
        &search(&["-t", "allonline"], home),
        "agent_search_t_online",
        id,
    );
    same_as(&search(&["-p", "bogus=1"], home), "agent_search_p_badkey");
    same_as(&search(&[], home), "agent_search_noargs");

    // `status=%` (the usage's own example) failed with a 500 in the original
    // (an empty WHERE); here it lists every agent.
    let mut web = captured_vm();
    web.name = "web1".to_owned();
    web.queueloc = "linux.web1".to_owned();
    web.tags.clear();
    let web_id = api.seed_agent(&web, Utc::now(), Utc::now()).0;
    let run = search(&["-p", "status=%"], home);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(run.stdout.starts_with(HEADER));
    // Tags are `null` when the agent has none.
    let run = search(&["-t", "name='web1'"], home);
    let line = run.stdout.lines().nth(1).unwrap();
    assert!(
        line.starts_with(&format!("web1; {web_id}; online; ")) && line.contains("; null; {"),
        "{line}"
    );
    // No match is not an error.
    for args in [["-p", "name=nothing"], ["-t", "name='nothing'"]] {
        let run = search(&args, home);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, HEADER),
            "{args:?} {}",
            run.stderr
        );
    }
    // A target the API refuses: the original's chain; its API answered 500
    // (raw SQL `WHERE all`), this one refuses the target with a 400.
    let run = search(&["-t", "all"], home);
    assert_eq!(run.code, exit_code("agent_search_t_all_sqlerror"));
    assert!(
        run.stderr
            .starts_with("error: EvaluateAgentTarget() -> GetAPIResource() -> error: HTTP 400. API call failed with error '"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn version_usage_and_errors() {
    let home = tempfile::tempdir().unwrap();
    let run = search(&["-V"], home.path());
    assert_eq!(
        (run.code, run.stdout.trim(), run.stderr.as_str()),
        (0, env!("CARGO_PKG_VERSION"), "")
    );
    let run = search(&["-h"], home.path());
    assert_eq!(run.code, 0);
    assert!(
        run.stderr
            .starts_with("mig-agent-search <query> - Search for MIG Agents\n")
    );
    assert!(
        run.stderr
            .contains("  $ mig-agent-search -p \"status=%\"\n")
            && run.stderr.contains("name LIKE '%\\\\.scl3\\\\.%'"),
        "{}",
        run.stderr
    );
    let defaults = format!(
        "Command line flags:\n  -V\tShow build version and exit\n  -c string\n    \tLoad configuration from file (default {:?})\n  -p string\n    \tSearch using mig-console search style query\n  -t string\n    \tSearch using agent targeting string\n",
        home.path().join(".migrc").display().to_string()
    );
    assert!(run.stderr.ends_with(&defaults), "{}", run.stderr);
    let run = search(&["-x"], home.path());
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("flag provided but not defined: -x\n")
    );
    let no_url = home.path().join("no-url.migrc");
    std::fs::write(&no_url, "[gpg]\n    keyid = \"ABCD\"\n").unwrap();
    let run = search(
        &["-c", no_url.to_str().unwrap(), "-t", "allonline"],
        home.path(),
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "error: ReadConfiguration() -> config API URL too short or undefined: len 0\n"
        )
    );
    // The API is down: the transport error, exit 1.
    let migrc = home.path().join(".migrc");
    write_migrc(&migrc, "http://127.0.0.1:9/api/v1/");
    let run = search(&["-p", "status=online"], home.path());
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(
            "error: GetAPIResource() -> GET http://127.0.0.1:9/api/v1/search?type=agent&after="
        ),
        "{}",
        run.stderr
    );
    for (query, message) in [
        (
            "status",
            "error: parsing search query: Invalid `key=value` in search parameter 'status'\n",
        ),
        (
            "limit=ten",
            "error: parsing search query: invalid limit parameter\n",
        ),
    ] {
        let run = search(&["-p", query], home.path());
        assert_eq!((run.code, run.stderr.as_str()), (1, message));
    }
}
