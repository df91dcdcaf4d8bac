//! Tests of the persistent modules' pieces that run without the agent: the
//! configuration from gcfg, fswatch's watcher on a temp tree, dispatch's
//! HTTP POST to a local collector, the query path over a unix socket.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use serde_json::json;

use super::*;

fn document(text: &str) -> mig_protocol::gcfg::Document {
    mig_protocol::gcfg::Document::parse("test.cfg", text).unwrap()
}

#[test]
fn configurations_from_gcfg() {
    let fswatch = fswatch::Fswatch::config_from_gcfg(Some(&document(
        "[paths]\npath = /home/user/testfile\npath = recursive:/bin\n",
    )));
    assert_eq!(
        fswatch,
        r#"{"Paths":{"Path":["/home/user/testfile","recursive:/bin"]}}"#
    );
    assert_eq!(
        fswatch::Fswatch::config_from_gcfg(None),
        r#"{"Paths":{"Path":null}}"#
    );
    let dispatch = dispatch::Dispatch::config_from_gcfg(Some(&document(
        "[dispatch]\nhttpurl = http://127.0.0.1:1/events\nchannelsize = 16\n",
    )));
    assert_eq!(
        dispatch,
        r#"{"dispatch":{"outputmozdef":false,"httpurl":"http://127.0.0.1:1/events","snstopic":"","channelsize":16}}"#
    );
    let example = examplepersist::ExamplePersist::config_from_gcfg(Some(&document(
        "[examplepersist]\ninterval = 5\n",
    )));
    assert_eq!(example, r#"{"ExamplePersist":{"interval":5}}"#);
    let missing = load_config("examplepersist", Path::new("/nonexistent-dir"));
    assert_eq!(missing, r#"{"ExamplePersist":{"interval":0}}"#);
}

#[test]
fn config_message_shape() {
    let environment = mig_protocol::AgentEnv {
        os: "linux".to_owned(),
        ..mig_protocol::AgentEnv::default()
    };
    let line = config_message(
        r#"{"Paths":{"Path":null}}"#,
        "host1",
        &environment,
        &[("operator".to_owned(), "IT".to_owned())].into(),
    )
    .unwrap();
    assert!(
        line.starts_with(r#"{"class":"config","parameters":{"config":{"Paths":{"Path":null}},"hostname":"host1","environment":{"os":"linux","isproxied":false,"#),
        "{line}"
    );
    assert!(line.ends_with(r#","tags":{"operator":"IT"}}}"#), "{line}");
}

fn next_alert(lines: &mpsc::Receiver<String>, within: Duration) -> Option<String> {
    let deadline = std::time::Instant::now() + within;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        let line = lines.recv_timeout(left).ok()?;
        let message: ModuleMessage = gojson::from_str(&line).unwrap();
        if message.class == "alert" {
            return Some(message.parameters["message"].as_str().unwrap().to_owned());
        }
    }
    None
}

#[test]
fn fswatch_alerts_on_change_and_removal() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("watched");
    std::fs::create_dir_all(watched.join("sub")).unwrap();
    std::fs::write(watched.join("a.conf"), "one").unwrap();
    std::fs::write(watched.join("sub/b.conf"), "two").unwrap();
    let (outbox, lines) = Outbox::channel();
    let (_alert_sender, alerts) = mpsc::channel();
    let config = json!({"Paths": {"Path": [format!("recursive:{}", watched.display())]},
                        "Tuning": {"HashDelayMs": 0}});
    let context = PersistContext {
        config: ConfigParameters {
            config,
            ..ConfigParameters::default()
        },
        outbox,
        alerts,
    };
    std::thread::spawn(move || fswatch::Fswatch::persist(context));
    std::thread::sleep(Duration::from_millis(300));
    let before = fswatch::hash_file(&watched.join("sub/b.conf"));
    // One write(2) over the old content, without truncating first: a
    // truncation is a change of its own, and with no hash delay the watcher
    // may hash the empty file in between.
    std::io::Write::write_all(
        &mut std::fs::OpenOptions::new()
            .write(true)
            .open(watched.join("sub/b.conf"))
            .unwrap(),
        b"changed",
    )
    .unwrap();
    let after = fswatch::hash_file(&watched.join("sub/b.conf"));
    let alert = next_alert(&lines, Duration::from_secs(5)).expect("a change alert");
    assert_eq!(
        alert,
        fswatch::alert_text(
            "critical",
            &format!(
                "{} signature changed {before} -> {after}",
                watched.join("sub/b.conf").display()
            )
        )
    );
    std::fs::remove_file(watched.join("a.conf")).unwrap();
    let alert = next_alert(&lines, Duration::from_secs(5)).expect("a removal alert");
    assert_eq!(
        alert,
        format!(
            r#"{{"severity":"low","alert":"path {} removed"}}"#,
            watched.join("a.conf").display()
        )
    );
}

#[test]
fn fswatch_missing_profile_path_is_fatal() {
    let (outbox, _lines) = Outbox::channel();
    let (_sender, alerts) = mpsc::channel();
    let context = PersistContext {
        config: ConfigParameters {
            config: json!({"Paths": {"Path": ["/nonexistent/mig/path"]}}),
            ..ConfigParameters::default()
        },
        outbox,
        alerts,
    };
    let error = fswatch::Fswatch::persist(context).unwrap_err();
    assert!(error.contains("/nonexistent/mig/path"), "{error}");
}

#[test]
fn dispatch_posts_alerts() {
    let collector = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = collector.local_addr().unwrap().port();
    let (outbox, _lines) = Outbox::channel();
    let (sender, alerts) = mpsc::channel();
    let context = PersistContext {
        config: ConfigParameters {
            config: json!({"dispatch": {"httpurl": format!("http://127.0.0.1:{port}/events")}}),
            hostname: "host1".to_owned(),
            environment: json!({"os": "linux"}),
            tags: [("t".to_owned(), "v".to_owned())].into(),
        },
        outbox,
        alerts,
    };
    std::thread::spawn(move || dispatch::Dispatch::persist(context));
    sender
        .send(r#"{"severity":"low","alert":"x"}"#.to_owned())
        .unwrap();
    let (mut stream, _) = collector.accept().unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    assert!(head.starts_with("POST /events HTTP/1.1\r\n"), "{head}");
    assert!(
        head.contains("Content-Type: application/json\r\n"),
        "{head}"
    );
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"{"hostname":"host1","environment":{"os":"linux"},"tags":{"t":"v"},"event":{"alert":"x","severity":"low"}}"#
    );
}

#[test]
fn query_over_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_path(dir.path(), "examplepersist");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        answer::<examplepersist::ExamplePersist>(stream);
    });
    let spec = format!("unix:{}", path.display());
    let result: examplepersist::ExampleResult =
        query_result(Some(&spec), &json!({"string": "hello \"x\""}));
    assert!(result.success && result.foundanything);
    assert_eq!(
        examplepersist::ExamplePersist::print(&result, false),
        vec![r#"echo string was "hello \"x\"""#.to_owned()]
    );
    let failed: examplepersist::ExampleResult = query_result(None, &json!({"string": "x"}));
    assert_eq!(
        failed.errors,
        Some(vec!["no persistsock set in message".to_owned()])
    );
    let refused: TypedResult<OkElements, Value> = query_result(
        Some(&format!("unix:{}/none.sock", dir.path().display())),
        &json!({}),
    );
    assert!(!refused.success);
    assert_eq!(print_ok(&refused, true), vec!["ok:false".to_owned()]);
}

use crate::result::Module;
