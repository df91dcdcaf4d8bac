//! Two runs on one state directory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mig_store::{SqliteStore, Store};

/// Where the quickstart's stderr goes (beside the state directory).
fn stderr_file(state: &Path) -> std::path::PathBuf {
    state.with_extension("stderr")
}

/// A running quickstart whose stdout is read line by line.
struct Quickstart {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    started: Instant,
    state: std::path::PathBuf,
}

impl Drop for Quickstart {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Quickstart {
    fn start(state: &Path, home: &Path) -> Self {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_mig-quickstart"))
            .args(["-listen", "127.0.0.1:0", "-state"])
            .arg(state)
            .env("HOME", home)
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // A panic's message and backtrace, for the failure report.
            .stderr(std::fs::File::create(stderr_file(state)).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
            started,
            state: state.to_path_buf(),
        }
    }

    /// The first line (new or already seen) that satisfies `pred`.
    fn wait_line(&mut self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        if let Some(line) = self.seen.iter().find(|line| pred(line)) {
            return line.clone();
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no {what} within {timeout:?}; stdout so far:\n{}\n{}",
                    self.seen.join("\n"),
                    self.log_tail()
                ),
            }
        }
    }

    /// The last lines of the quickstart's log, for failure messages.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.state.join("quickstart.log")).unwrap_or_default();
        // The API's access lines (the client polls every 50 ms) would hide the rest.
        let tail: Vec<&str> = log
            .lines()
            .filter(|line| !line.contains("mig_api::envelope"))
            .rev()
            .take(200)
            .collect();
        let stderr = std::fs::read_to_string(stderr_file(&self.state)).unwrap_or_default();
        format!(
            "--- quickstart.log (last lines):\n{}\n--- stderr:\n{stderr}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }

    /// The value after `prefix` on its line.
    fn value(&mut self, prefix: &str) -> String {
        let line = self.wait_line(prefix, Duration::from_secs(20), |line| {
            line.starts_with(prefix)
        });
        line[prefix.len()..].to_owned()
    }

    fn signal(&mut self, name: &str) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Drain what it printed while stopping.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running 15 s after SIG{name}; stdout:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn is_finding(line: &str) -> bool {
    line.contains(" /etc/passwd [lastmodified:") && line.trim_end().ends_with("in search 's1'")
}

/// `mig` (the same code as the binary's main, in this process) with `args`.
fn mig(args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut io = mig_cli::mig::Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
        terminal: false,
        stop: Some(Default::default()),
        tick: Duration::from_millis(10),
    };
    let code = mig_cli::mig::run(&args, &mut io);
    drop(io);
    (
        code,
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

struct RunFacts {
    fingerprint_line: String,
    agent_line: String,
    pid: u32,
}

fn one_run(state: &Path, home: &Path, stop_with: &str, first: bool) -> RunFacts {
    let mut quickstart = Quickstart::start(state, home);
    let pid = quickstart.child.id();
    let state_line = quickstart.value("mig-quickstart: state directory ");
    assert_eq!(Path::new(&state_line), state);
    let key = quickstart.value("mig-quickstart: investigator key ");
    assert!(
        key.contains(if first { " (generated, " } else { " (reused, " }),
        "{key}"
    );
    let investigator = quickstart.value("mig-quickstart: investigator \"");
    assert!(
        investigator.contains(if first { "(created)" } else { "(reused)" }),
        "{investigator}"
    );
    let api = quickstart.value("mig-quickstart: API listening on ");
    assert!(api.starts_with("http://127.0.0.1:") && api.ends_with("/api/v1/"));
    let agent = quickstart.value("mig-quickstart: agent ");

    // The finding, as `mig` prints it, well within the 60 s of the issue.
    let finding = quickstart.wait_line("/etc/passwd finding", Duration::from_secs(60), is_finding);
    let hostname = agent
        .split(" on ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert!(
        finding.starts_with(&format!("{hostname} /etc/passwd [lastmodified:")),
        "{finding}"
    );
    let found_after = quickstart.started.elapsed();
    eprintln!("finding after {found_after:?}");
    assert!(found_after < Duration::from_secs(60));
    let migrc = state.join("migrc");
    let command = quickstart.wait_line("the mig command to try", Duration::from_secs(10), |line| {
        line.contains(&format!(" file -c {}", migrc.display()))
    });
    assert!(
        command.ends_with("-t allonline -path /etc -name \"^passwd$\" -content \"^root\""),
        "{command}"
    );
    quickstart.wait_line("the console command", Duration::from_secs(5), |line| {
        line.contains("mig-console") && line.ends_with(&format!(" -c {}", migrc.display()))
    });

    // A second investigation by `mig`, with the written migrc, against the printed API.
    let (code, stdout, stderr) = mig(&[
        "file",
        "-c",
        migrc.to_str().unwrap(),
        "-t",
        "allonline",
        "-e",
        "60s",
        "-path",
        "/etc",
        "-name",
        "^passwd$",
        "-content",
        "^root",
    ]);
    assert_eq!(
        code,
        0,
        "stdout: {stdout}\nstderr: {stderr}\n{}",
        quickstart.log_tail()
    );
    assert!(
        stdout.lines().any(is_finding),
        "stdout: {stdout}\nstderr: {stderr}\n{}",
        quickstart.log_tail()
    );
    assert!(stderr.contains("1 sent, 1 done, 1 succeeded"), "{stderr}");

    let status = quickstart.signal(stop_with);
    assert_eq!(
        status.code(),
        Some(0),
        "stdout:\n{}",
        quickstart.seen.join("\n")
    );
    assert!(
        quickstart
            .seen
            .iter()
            .any(|line| line == "mig-quickstart: stopped"),
        "{}",
        quickstart.seen.join("\n")
    );
    RunFacts {
        fingerprint_line: key,
        agent_line: agent,
        pid,
    }
}

#[test]
fn two_runs_share_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let first = one_run(&state, dir.path(), "INT", true);
    for file in [
        "mig.db",
        "investigator.key",
        "investigator.asc",
        "agentkeys/investigator.asc",
        "acl.cfg",
        "mig-agent.cfg",
        "run/.migagtid",
        "migrc",
        "quickstart.log",
    ] {
        assert!(state.join(file).is_file(), "{file} missing");
    }
    let second = one_run(&state, dir.path(), "TERM", false);

    // Same key, same agent (queueloc and host), nothing duplicated.
    let fingerprint = |line: &str| line.split(' ').next().unwrap().to_owned();
    assert_eq!(
        fingerprint(&first.fingerprint_line),
        fingerprint(&second.fingerprint_line)
    );
    assert_eq!(first.agent_line, second.agent_line);
    let queueloc = first.agent_line.split(' ').next().unwrap().to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(state.join("mig.db").to_str().unwrap())
            .await
            .unwrap();
        let investigators: Vec<_> = store
            .active_investigators()
            .await
            .unwrap()
            .into_iter()
            .filter(|investigator| investigator.name != "migscheduler")
            .collect();
        assert_eq!(investigators.len(), 1, "{investigators:?}");
        assert_eq!(
            investigators[0].pgpfingerprint,
            fingerprint(&first.fingerprint_line)
        );
        // One agent row per run, both of the same queueloc; the second run
        // retired the first run's row (a stopped quickstart leaves its own row
        // to the next start: see the crate's documentation).
        let mut rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT queueloc, status, pid FROM agents")
                .fetch_all(store.pool())
                .await
                .unwrap();
        rows.sort_by_key(|row| row.2 != i64::from(first.pid));
        let expected = vec![
            (queueloc.clone(), "offline".to_owned(), i64::from(first.pid)),
            (queueloc.clone(), "online".to_owned(), i64::from(second.pid)),
        ];
        assert_eq!(rows, expected);
        store.pool().close().await;
    });
}
