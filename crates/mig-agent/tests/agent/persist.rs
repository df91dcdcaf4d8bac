//! Persistent modules end to end with the real binary: the agent's
//! supervisor starts `mig-agent -P fswatch|dispatch|examplepersist`; a file
//! changed under a watched path gives an fswatch alert that the agent routes
//! to dispatch, which POSTs it to an HTTP collector of this test; a query
//! reaches examplepersist through its registered socket; killing fswatch makes
//! the supervisor restart it, and the restarted module alerts again. The
//! audit variant (root only) routes a kernel audit event the same way.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mig_agent::persist::{PersistOptions, Registry, Supervision, spawn};
use tokio_util::sync::CancellationToken;

/// An HTTP collector on 127.0.0.1: every POST body goes to the channel.
fn collector() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, bodies) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).unwrap();
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            assert!(request_line.starts_with("POST /events "), "{request_line}");
            if sender.send(String::from_utf8(body).unwrap()).is_err() {
                return;
            }
        }
    });
    (port, bodies)
}

async fn wait_for(what: &str, within: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The next collected body that is a change alert for `path`.
fn change_alert(bodies: &mpsc::Receiver<String>, path: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .expect("an alert at the collector");
        let body = bodies
            .recv_timeout(left)
            .expect("an alert at the collector");
        let record: serde_json::Value = serde_json::from_str(&body).unwrap();
        let alert = record["event"]["alert"].as_str().unwrap_or_default();
        if alert.starts_with(&format!("{path} signature changed ")) {
            return record;
        }
    }
}

/// Writes `mig-agent.cfg` (run directory `<dir>/run`), `dispatch.cfg`
/// (posting to the collector on `port`) and each `(file, text)` of `configs`
/// into `dir`, then starts the supervisors as the agent does for host
/// `testhost` on linux with `tags`, a silent module killed after
/// `kill_after`.
fn start_supervisors(
    dir: &std::path::Path,
    port: u16,
    configs: &[(&str, String)],
    tags: std::collections::BTreeMap<String, String>,
    kill_after: Duration,
    stop: &CancellationToken,
) -> (Registry, tokio::task::JoinSet<()>) {
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let config_file = dir.join("mig-agent.cfg");
    std::fs::write(
        &config_file,
        format!("[agent]\nrundir = \"{}\"\n", run.display()),
    )
    .unwrap();
    std::fs::write(
        dir.join("dispatch.cfg"),
        format!("[dispatch]\nhttpurl = http://127.0.0.1:{port}/events\n"),
    )
    .unwrap();
    for (file, text) in configs {
        std::fs::write(dir.join(file), text).unwrap();
    }
    let mut options =
        PersistOptions::new(env!("CARGO_BIN_EXE_mig-agent").into(), Some(config_file));
    assert_eq!(options.conf_dir, dir);
    assert!(options.modules.contains(&"audit".to_owned()));
    options.supervision = Supervision {
        ping_period: Duration::from_millis(200),
        kill_after,
        restart_delay: Duration::from_millis(300),
    };
    let environment = mig_protocol::AgentEnv {
        os: "linux".to_owned(),
        ..mig_protocol::AgentEnv::default()
    };
    spawn(options, "testhost".into(), environment, tags, stop.clone())
}

fn query(registry: &Registry, module: &str, parameters: &str) -> String {
    let socket = registry.socket(module).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mig-agent"))
        .args(["-m", module])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input =
        format!(r#"{{"class":"parameters","parameters":{parameters},"persistsock":"{socket}"}}"#);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{input}\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fswatch_alert_reaches_the_collector_and_killed_modules_restart() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("watched");
    std::fs::create_dir_all(watched.join("deep")).unwrap();
    let file = watched.join("deep/settings.conf");
    std::fs::write(&file, "version 1\n").unwrap();
    let (port, bodies) = collector();
    let configs = [
        (
            "fswatch.cfg",
            format!(
                "[paths]\npath = recursive:{}\n[tuning]\nhashdelay = 0s\nalertinterval = 0s\n",
                watched.display()
            ),
        ),
        (
            "examplepersist.cfg",
            "[examplepersist]\ninterval = 1\n".to_owned(),
        ),
    ];
    let tags = [("operator".to_owned(), "tests".to_owned())].into();
    let stop = CancellationToken::new();
    let (registry, mut tasks) = start_supervisors(
        dir.path(),
        port,
        &configs,
        tags,
        Duration::from_secs(2),
        &stop,
    );
    for module in ["fswatch", "dispatch", "examplepersist"] {
        wait_for(module, Duration::from_secs(20), || {
            registry.socket(module).is_some()
        })
        .await;
    }
    // Give fswatch time to set its watches and hash the baseline.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A change under the watched path reaches the collector through dispatch.
    std::fs::write(&file, "version 2\n").unwrap();
    let path = file.display().to_string();
    let record = tokio::task::block_in_place(|| change_alert(&bodies, &path));
    assert_eq!(record["hostname"], "testhost");
    assert_eq!(record["tags"]["operator"], "tests");
    assert_eq!(record["environment"]["os"], "linux");
    assert_eq!(record["event"]["severity"], "critical");

    // Queries reach the modules through their registered sockets.
    let answer = query(&registry, "examplepersist", r#"{"string":"hello"}"#);
    assert_eq!(
        answer.trim_end(),
        r#"{"foundanything":true,"success":true,"elements":{"string":"hello"},"statistics":null,"errors":null}"#
    );
    let answer = query(&registry, "fswatch", "{}");
    assert_eq!(
        answer.trim_end(),
        r#"{"foundanything":true,"success":true,"elements":{"ok":true},"statistics":null,"errors":null}"#
    );

    // Modules that answer pings are not killed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for module in ["fswatch", "dispatch", "examplepersist"] {
        assert_eq!(registry.starts(module), 1, "{module} was restarted");
    }

    // Killing fswatch makes the supervisor start it again, and it works.
    let pid = registry.pid("fswatch").unwrap();
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_for("fswatch restart", Duration::from_secs(20), || {
        registry.starts("fswatch") == 2 && registry.socket("fswatch").is_some()
    })
    .await;
    assert_ne!(registry.pid("fswatch"), Some(pid));
    tokio::time::sleep(Duration::from_millis(500)).await;
    std::fs::write(&file, "version 3\n").unwrap();
    let record = tokio::task::block_in_place(|| change_alert(&bodies, &path));
    assert_eq!(record["event"]["severity"], "critical");

    // Stopping the supervisors ends the modules.
    let pids: Vec<u32> = ["fswatch", "dispatch", "examplepersist"]
        .iter()
        .map(|module| registry.pid(module).unwrap())
        .collect();
    stop.cancel();
    while tasks.join_next().await.is_some() {}
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "module process {pid} still exists"
        );
    }
}

/// The audit variant (as root, where the kernel lets us hold the audit
/// pid; otherwise `SKIPPED: <why>`): the agent starts `audit` because
/// `audit.cfg` exists; a write to a watched file becomes an audit event,
/// which the agent routes to dispatch and dispatch POSTs to the collector.
/// The kernel is left without rules and audit pid.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_alert_reaches_the_collector() {
    let lock = match mig_modules::persist::audit::testing::lock() {
        Ok(lock) => lock,
        Err(why) => {
            println!("SKIPPED: {why}");
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("watched.conf");
    std::fs::write(&file, "version 1\n").unwrap();
    let key = format!("mig-e2e-{}", std::process::id());
    let rules = dir.path().join("audit.rules.json");
    std::fs::write(
        &rules,
        serde_json::json!({"audit_rules": [
            {"path": file.display().to_string(), "key": key, "permission": "wa"}
        ]})
        .to_string(),
    )
    .unwrap();
    let (port, bodies) = collector();
    let configs = [(
        "audit.cfg",
        format!("[audit]\nrulespath = {}\n", rules.display()),
    )];
    let stop = CancellationToken::new();
    let (registry, mut tasks) = start_supervisors(
        dir.path(),
        port,
        &configs,
        Default::default(),
        Duration::from_secs(5),
        &stop,
    );
    for module in ["audit", "dispatch"] {
        wait_for(module, Duration::from_secs(20), || {
            registry.socket(module).is_some()
        })
        .await;
    }
    // The module registers its socket before its rules are loaded: write
    // until the event for our key arrives.
    let record = tokio::task::block_in_place(|| {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut version = 2;
        loop {
            assert!(Instant::now() < deadline, "no audit event at the collector");
            // From a new process: the kernel audits only tasks forked
            // after auditing was first enabled, and on a fresh boot this
            // test process is older than that (CI's first run failed so).
            let status = std::process::Command::new("sh")
                .args(["-c", "printf 'version %s\\n' \"$1\" > \"$0\""])
                .arg(&file)
                .arg(version.to_string())
                .status()
                .unwrap();
            assert!(status.success());
            version += 1;
            let until = Instant::now() + Duration::from_millis(500);
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                let Ok(body) = bodies.recv_timeout(left) else {
                    break;
                };
                let record: serde_json::Value = serde_json::from_str(&body).unwrap();
                if record["event"]["Data"]["key"] == key.as_str() {
                    return record;
                }
            }
        }
    });
    assert_eq!(record["hostname"], "testhost");
    assert_eq!(record["event"]["Type"], "EOE");
    assert_eq!(record["event"]["Raw"], "");
    assert_eq!(record["event"]["Data"]["name"], file.display().to_string());
    let answer = query(&registry, "audit", "{}");
    assert_eq!(
        answer.trim_end(),
        r#"{"foundanything":true,"success":true,"elements":{"ok":true},"statistics":null,"errors":null}"#
    );
    stop.cancel();
    while tasks.join_next().await.is_some() {}
    lock.restore().unwrap();
}
