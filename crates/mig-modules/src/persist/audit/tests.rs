//! The audit module: rule encoding, record parsing and event assembly
//! without the kernel; then, as root, against the real kernel — encoded
//! rules compared with what `auditctl` loads, and alerts for a watched file
//! and a syscall rule. Live tests print `SKIPPED: <why>` where the kernel
//! refuses (not root, no NETLINK_AUDIT, auditd running) and pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use super::events::{Assembler, AuditEvent, parse_record};
use super::rules::{self, encode_rules};
use super::*;
use crate::persist::client;
use crate::result::{Module, ModuleContext};

#[test]
fn configuration_from_gcfg() {
    let document = mig_protocol::gcfg::Document::parse(
        "audit.cfg",
        "[audit]\nrulespath = /etc/mig/audit.rules.json\nratelimit = 500\nbackloglimit = 16384\nincluderaw = yes\n",
    )
    .unwrap();
    assert_eq!(
        Audit::config_from_gcfg(Some(&document)),
        r#"{"audit":{"rulespath":"/etc/mig/audit.rules.json","ratelimit":500,"backloglimit":16384,"includeraw":true}}"#
    );
    assert_eq!(
        Audit::config_from_gcfg(None),
        r#"{"audit":{"rulespath":"","ratelimit":0,"backloglimit":0,"includeraw":false}}"#
    );
}

fn words(bytes: &[u8]) -> Vec<u32> {
    bytes[..1040]
        .chunks(4)
        .map(|chunk| u32::from_ne_bytes(chunk.try_into().unwrap()))
        .collect()
}

#[test]
fn watch_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("watched");
    std::fs::write(&file, "x").unwrap();
    let path = file.display().to_string();
    let content = json!({"audit_rules": [
        {"path": path, "key": "passwd", "permission": "wa", "strict_path_check": false},
        {"path": format!("{}/", dir.path().display()), "permission": "x"},
        {"path": format!("{}/missing", dir.path().display()), "key": "m"},
    ], "delete": true, "enable": "1", "buffer": "16384", "rate": "500"});
    let (encoded, warnings) = encode_rules(content.to_string().as_bytes()).unwrap();
    assert_eq!(encoded.len(), 2);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("skipping rule: "), "{warnings:?}");
    let bytes = encoded[0].to_bytes();
    assert_eq!(bytes.len(), 1040 + path.len() + "passwd".len());
    let w = words(&bytes);
    assert_eq!(&w[..3], &[rules::FILTER_EXIT, rules::ALWAYS, 3]);
    assert!(w[3..3 + 64].iter().all(|word| *word == u32::MAX));
    let (fields, values, flags) = (&w[67..131], &w[131..195], &w[195..259]);
    assert_eq!(&fields[..4], &[105, 106, 210, 0]);
    assert_eq!(&values[..3], &[path.len() as u32, 2 | 8, 6]);
    assert_eq!(&flags[..3], &[rules::EQUAL; 3]);
    assert_eq!(w[259], (path.len() + 6) as u32);
    assert_eq!(&bytes[1040..], format!("{path}passwd").as_bytes());
    // A directory (trailing slash trimmed) is a dir watch.
    let w = words(&encoded[1].to_bytes());
    assert_eq!(w[67], 107);
    assert_eq!(w[131], dir.path().display().to_string().len() as u32);
    assert_eq!(w[132], 1);
    // strict_path_check makes a missing path fatal.
    let strict = json!({"audit_rules": [{"path": "/nonexistent/mig", "permission": "r", "strict_path_check": true}]});
    assert!(encode_rules(strict.to_string().as_bytes()).is_err());
    let relative = json!({"audit_rules": [{"path": "/etc/../etc/passwd", "permission": "r"}]});
    assert!(
        encode_rules(relative.to_string().as_bytes())
            .unwrap_err()
            .contains("special directory")
    );
}

#[test]
fn syscall_encoding() {
    let content = json!({"audit_rules": [{
        "key": "k",
        "syscalls": ["openat", "execve"],
        "fields": [
            {"name": "arch", "op": "eq", "value": "b64"},
            {"name": "uid", "op": "nt_eq", "value": 0},
            {"name": "exit", "op": "eq", "value": -13},
            {"name": "auid", "op": "gt_or_eq", "value": 1000},
            {"name": "a0", "op": "and", "value": 2},
        ],
        "actions": ["exit", "always"],
    }]});
    let (encoded, warnings) = encode_rules(content.to_string().as_bytes()).unwrap();
    assert!(warnings.is_empty());
    let w = words(&encoded[0].to_bytes());
    assert_eq!(&w[..3], &[rules::FILTER_EXIT, rules::ALWAYS, 6]);
    // openat = 257 (word 8, bit 1), execve = 59 (word 1, bit 27).
    assert_eq!(w[3 + 8], 1 << 1);
    assert_eq!(w[3 + 1], 1 << 27);
    assert_eq!(&w[67..73], &[11, 1, 103, 9, 200, 210]);
    assert_eq!(
        &w[131..137],
        &[rules::ARCH_X86_64, 0, (-13i32) as u32, 1000, 2, 1]
    );
    assert_eq!(
        &w[195..201],
        &[
            rules::EQUAL,
            rules::NOT_EQUAL,
            rules::EQUAL,
            rules::GREATER_THAN_OR_EQUAL,
            rules::BIT_MASK,
            rules::EQUAL
        ]
    );
    let bad = |rule: serde_json::Value| {
        encode_rules(json!({"audit_rules": [rule]}).to_string().as_bytes()).unwrap_err()
    };
    assert!(
        bad(json!({"syscalls": ["nosuchcall"], "actions": ["exit", "always"]}))
            .contains("invalid syscall nosuchcall")
    );
    assert!(
        bad(json!({"syscalls": ["openat"], "actions": ["always"]})).contains("filters not set")
    );
    assert!(bad(json!({"syscalls": ["openat"], "fields": [{"name": "bogus", "op": "eq", "value": 1}], "actions": ["exit", "always"]})).contains("unknown field bogus"));
    assert!(bad(json!({"fields": [{"name": "arch", "op": "eq", "value": "b64"}], "actions": ["exit", "always"]})).contains("arch should be mentioned"));
}

#[test]
fn syscall_table() {
    assert_eq!(rules::syscall_number("read"), Some(0));
    assert_eq!(rules::syscall_number("openat"), Some(257));
    assert_eq!(rules::syscall_name(59), Some("execve"));
    assert_eq!(events::type_name(1300), Some("SYSCALL"));
    assert_eq!(events::type_name(1320), Some("EOE"));
    assert_eq!(events::type_name(1105), Some("USER_START"));
    assert_eq!(events::type_name(9999), None);
}

const SYSCALL: &str = r#"audit(1700000000.123:42): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=7ffd1 a2=241 a3=1b6 items=2 ppid=10 pid=11 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="touch" exe="/usr/bin/touch" subj=unconfined key="mig-key""#;
const PATH: &str = r#"audit(1700000000.123:42): item=1 name="/tmp/x y" inode=5 dev=00:2a mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=CREATE cap_fp=0"#;
const PROCTITLE: &str = "audit(1700000000.123:42): proctitle=746F756368002F746D702F78";
const EOE_RECORD: &str = "audit(1700000000.123:42): ";

#[test]
fn record_parsing_and_interpretation() {
    let event = parse_record(SYSCALL, 1300, true).unwrap();
    assert_eq!(event.serial, "42");
    assert_eq!(event.timestamp, "1700000000.123");
    assert_eq!(event.kind, "SYSCALL");
    let data = &event.data;
    assert_eq!(data["syscall"], "openat");
    assert_eq!(data["arch"], "amd64");
    assert_eq!(data["exit"], "3");
    assert_eq!(data["success"], "yes");
    assert_eq!(data["uid"], "root");
    assert_eq!(data["auid"], "unknown(4294967295)");
    assert_eq!(data["ses"], "unset");
    assert_eq!(data["comm"], "touch");
    assert_eq!(data["exe"], "/usr/bin/touch");
    assert_eq!(data["key"], "mig-key");
    assert_eq!(data["tty"], "(none)");
    assert_eq!(event.raw, SYSCALL);
    let path = parse_record(PATH, 1302, true).unwrap();
    assert_eq!(path.data["mode"], "file644");
    // A token without `=` continues the previous value.
    assert_eq!(path.data["name"], "/tmp/x y");
    let title = parse_record(PROCTITLE, 1327, true).unwrap();
    assert_eq!(title.data["proctitle"], "touch\0/tmp/x");
    let uninterpreted = parse_record(SYSCALL, 1300, false).unwrap();
    assert_eq!(uninterpreted.data["syscall"], "257");
    assert!(parse_record("garbage", 1300, true).is_err());
    // USER_* messages carry their fields inside msg='…'.
    let user = parse_record(
        "audit(1700000001.5:77): pid=5 uid=0 auid=0 ses=1 msg='op=PAM:session_open acct=\"root\" exe=\"/usr/sbin/cron\" hostname=? addr=? terminal=cron res=success'",
        1105,
        true,
    )
    .unwrap();
    assert_eq!(user.kind, "USER_START");
    assert_eq!(user.data["op"], "PAM:session_open");
    assert_eq!(user.data["acct"], "root");
    assert_eq!(user.data["res"], "success");
}

#[test]
fn events_are_merged_at_eoe() {
    let mut assembler = Assembler::default();
    assert_eq!(assembler.push(1300, SYSCALL), None);
    assert_eq!(assembler.push(1302, PATH), None);
    assert_eq!(assembler.push(1327, PROCTITLE), None);
    // Unknown types are dropped; other known types pass at once.
    assert_eq!(assembler.push(1999, "audit(1.2:3): a=b"), None);
    let immediate = assembler
        .push(1105, "audit(1700000001.5:77): pid=5 msg='op=x res=success'")
        .unwrap();
    assert_eq!(immediate.kind, "USER_START");
    let merged = assembler.push(1320, EOE_RECORD).unwrap();
    assert_eq!(merged.kind, "EOE");
    assert_eq!(merged.serial, "42");
    assert_eq!(merged.data["syscall"], "openat");
    assert_eq!(merged.data["nametype"], "CREATE");
    assert_eq!(merged.data["proctitle"], "touch\0/tmp/x");
    assert!(merged.raw.starts_with(EOE_RECORD), "{}", merged.raw);
    assert!(
        merged.raw.contains(" arch=c000003e syscall=257"),
        "{}",
        merged.raw
    );
    assert!(merged.raw.ends_with("proctitle=746F756368002F746D702F78"));
    // An EOE for nothing buffered gives nothing.
    assert_eq!(assembler.push(1320, EOE_RECORD), None);
    let json = gojson::to_string(&AuditEvent {
        raw: String::new(),
        ..merged
    });
    assert!(
        json.starts_with(r#"{"Serial":"42","Timestamp":"1700000000.123","Type":"EOE","Data":{"#),
        "{json}"
    );
    assert!(json.ends_with(r#","Raw":""}"#), "{json}");
}

#[test]
fn query_answer_and_printing() {
    assert_eq!(
        Audit::handle(&json!({})),
        r#"{"foundanything":true,"success":true,"elements":{"ok":true},"statistics":null,"errors":null}"#
    );
    let failed = Audit::run(&json!({}), &ModuleContext::default());
    assert_eq!(
        Audit::print(&failed, false),
        vec![
            "ok:false".to_owned(),
            "no persistsock set in message".to_owned()
        ]
    );
    let mut sink = Vec::new();
    assert_eq!(
        client::no_params(&["help".to_owned()], &mut sink, &mut Vec::new()).unwrap(),
        Some("{}".to_owned())
    );
    assert!(sink.is_empty());
}

/// The live tests' lock, or `None` after printing why they are skipped.
fn live() -> Option<testing::AuditLock> {
    match testing::lock() {
        Ok(lock) => Some(lock),
        Err(why) => {
            println!("SKIPPED: {why}");
            eprintln!("SKIPPED: {why}");
            None
        }
    }
}

fn auditctl(args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("auditctl")
        .args(args)
        .output()
        .ok()?;
    assert!(
        output.status.success(),
        "auditctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Each rule loaded by our encoder is, in the kernel, byte for byte the rule
/// auditctl loads for the equivalent command line, and `auditctl -l` prints
/// both the same way.
#[test]
fn encoder_matches_auditctl() {
    let Some(lock) = live() else { return };
    if auditctl(&["-v"]).is_none() {
        println!("SKIPPED: auditctl is not installed (apt-get install auditd)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passwd");
    std::fs::write(&file, "x").unwrap();
    let file = file.display().to_string();
    let dir_path = dir.path().display().to_string();
    let cases: Vec<(Vec<String>, serde_json::Value)> = vec![
        (
            vec!["-w".into(), file.clone(), "-p".into(), "wa".into(), "-k".into(), "mig-file".into()],
            json!({"path": file, "key": "mig-file", "permission": "wa"}),
        ),
        (
            vec!["-w".into(), dir_path.clone(), "-p".into(), "rwxa".into()],
            json!({"path": format!("{dir_path}/"), "permission": "rwxa"}),
        ),
        (
            "-a always,exit -F arch=b64 -S openat -S unlinkat -F success=0 -F key=mig-k3"
                .split(' ').map(str::to_owned).collect(),
            json!({"key": "mig-k3", "syscalls": ["openat", "unlinkat"],
                   "fields": [{"name": "arch", "op": "eq", "value": "b64"},
                              {"name": "success", "op": "eq", "value": 0}],
                   "actions": ["exit", "always"]}),
        ),
        (
            "-a never,exit -F arch=b64 -S execve -F uid!=0 -F auid>=1000 -F exit=-13 -F a0&2 -F key=mig-k4"
                .split(' ').map(str::to_owned).collect(),
            json!({"key": "mig-k4", "syscalls": ["execve"],
                   "fields": [{"name": "arch", "op": "eq", "value": 64},
                              {"name": "uid", "op": "nt_eq", "value": 0},
                              {"name": "auid", "op": "gt_or_eq", "value": 1000},
                              {"name": "exit", "op": "eq", "value": -13},
                              {"name": "a0", "op": "and", "value": 2}],
                   "actions": ["exit", "never"]}),
        ),
        (
            format!("-a always,exit -F arch=b64 -S all -F dir={dir_path} -F perm=x -F key=mig-k5")
                .split(' ').map(str::to_owned).collect(),
            json!({"key": "mig-k5", "syscalls": ["all"],
                   "fields": [{"name": "arch", "op": "eq", "value": "b64"},
                              {"name": "dir", "op": "eq", "value": dir_path},
                              {"name": "perm", "op": "eq", "value": "x"}],
                   "actions": ["exit", "always"]}),
        ),
    ];
    let mut socket = netlink::AuditSocket::open().unwrap();
    for (args, rule) in cases {
        socket.delete_all_rules().unwrap();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        auditctl(&args).unwrap();
        let theirs = socket.list_rules().unwrap();
        let their_text = auditctl(&["-l"]).unwrap();
        socket.delete_all_rules().unwrap();
        let (encoded, warnings) =
            encode_rules(json!({"audit_rules": [rule]}).to_string().as_bytes()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let ours = encoded[0].to_bytes();
        assert_eq!(theirs.len(), 1, "{args:?}");
        // The kernel lists the class bits of the mask's last word as the
        // syscalls they stand for.
        let mut listed = words(&ours);
        if listed[3 + 63] == u32::MAX {
            listed[3 + 63] = 0xFFFF;
        }
        assert_eq!(words(&theirs[0]), listed, "{args:?}: rule words");
        assert_eq!(&theirs[0][1040..], &ours[1040..], "{args:?}: strings");
        socket.add_rule(&ours).unwrap();
        let our_text = auditctl(&["-l"]).unwrap();
        assert_eq!(our_text, their_text, "{args:?}");
        assert_eq!(socket.list_rules().unwrap(), theirs, "{args:?}");
    }
    socket.delete_all_rules().unwrap();
    lock.restore().unwrap();
}

/// Runs a session with `rules` until `done` accepts an alert; returns it.
fn session_alert(
    rules: serde_json::Value,
    act: impl FnOnce(),
    mut done: impl FnMut(&serde_json::Value) -> bool,
) -> (serde_json::Value, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let rules_path = dir.path().join("audit.rules.json");
    std::fs::write(&rules_path, rules.to_string()).unwrap();
    let settings = Settings {
        rulespath: rules_path.display().to_string(),
        ..Settings::default()
    };
    let (outbox, lines) = super::super::Outbox::channel();
    let mut session = Session::start(&settings, &outbox).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runner = {
        let stop = stop.clone();
        let outbox = outbox.clone();
        std::thread::spawn(move || {
            let outcome = session.run(&outbox, &stop);
            let released = session.release();
            (outcome, released)
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    act();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut logs = Vec::new();
    let mut found = None;
    while found.is_none() {
        let left = deadline
            .checked_duration_since(std::time::Instant::now())
            .expect("an audit alert in time");
        let line = lines.recv_timeout(left).expect("an audit alert in time");
        let message: mig_protocol::command::ModuleMessage = gojson::from_str(&line).unwrap();
        let text = message.parameters["message"].as_str().unwrap().to_owned();
        match message.class.as_str() {
            "log" => logs.push(text),
            "alert" => {
                let event: serde_json::Value = serde_json::from_str(&text).unwrap();
                if done(&event) {
                    found = Some(event);
                }
            }
            other => panic!("unexpected {other}"),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (outcome, released) = runner.join().unwrap();
    outcome.unwrap();
    released.unwrap();
    (found.unwrap(), logs)
}

#[test]
fn watched_file_write_alerts() {
    let Some(lock) = live() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("watched.conf");
    std::fs::write(&file, "one").unwrap();
    let path = file.display().to_string();
    let key = format!("mig-watch-{}", std::process::id());
    let rules = json!({"audit_rules": [
        {"path": path, "key": key, "permission": "wa"},
        {"path": format!("{}/missing", dir.path().display()), "key": "skipped"},
    ]});
    let (event, logs) = session_alert(
        rules,
        // The kernel does not audit the audit daemon's own process: a
        // child does the write.
        || {
            let status = std::process::Command::new("sh")
                .args(["-c", "printf two > \"$0\"", &path])
                .status()
                .unwrap();
            assert!(status.success());
        },
        |event| event["Data"]["key"] == key.as_str(),
    );
    assert_eq!(event["Type"], "EOE");
    assert_eq!(event["Raw"], "");
    assert!(
        event["Data"]
            .as_object()
            .unwrap()
            .values()
            .any(|value| value == path.as_str()),
        "{event}"
    );
    assert_eq!(logs[0], "auditing enabled");
    assert!(
        logs[1].starts_with("ruleset warning: skipping rule: "),
        "{logs:?}"
    );
    assert_eq!(logs[2], "auditing configured");
    assert_eq!(logs[3], "listening for audit events");
    lock.restore().unwrap();
    let mut socket = netlink::AuditSocket::open().unwrap();
    assert!(socket.list_rules().unwrap().is_empty());
    assert_eq!(socket.status().unwrap().pid, 0);
}

#[test]
fn syscall_rule_alerts() {
    let Some(lock) = live() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = format!("mig-mkdir-{}", std::process::id());
    let rules = json!({"audit_rules": [{
        "key": key,
        "syscalls": ["mkdir", "mkdirat"],
        "fields": [{"name": "arch", "op": "eq", "value": "b64"},
                   {"name": "ppid", "op": "eq", "value": std::process::id()}],
        "actions": ["exit", "always"],
    }]});
    let made = dir.path().join("made-by-the-test");
    let (event, _) = session_alert(
        rules,
        // A child of this process (the audit daemon's own syscalls are
        // never audited) makes the directory.
        || {
            let status = std::process::Command::new("mkdir")
                .arg(&made)
                .status()
                .unwrap();
            assert!(status.success());
        },
        |event| event["Data"]["key"] == key.as_str(),
    );
    let syscall = event["Data"]["syscall"].as_str().unwrap();
    assert!(syscall == "mkdir" || syscall == "mkdirat", "{event}");
    assert_eq!(event["Data"]["ppid"], std::process::id().to_string());
    assert_eq!(event["Data"]["comm"], "mkdir");
    assert_eq!(event["Data"]["arch"], "amd64");
    lock.restore().unwrap();
}

#[test]
fn persist_reports_start_up_failures() {
    let Some(lock) = live() else { return };
    let (outbox, lines) = super::super::Outbox::channel();
    let (_sender, alerts) = std::sync::mpsc::channel();
    let context = PersistContext {
        config: super::super::ConfigParameters {
            config: json!({"audit": {"rulespath": "/nonexistent/mig/audit.rules.json"}}),
            ..super::super::ConfigParameters::default()
        },
        outbox,
        alerts,
    };
    let error = Audit::persist(context).unwrap_err();
    assert_eq!(
        error,
        "open /nonexistent/mig/audit.rules.json: No such file or directory (os error 2)"
    );
    let logs: Vec<String> = lines.try_iter().collect();
    assert!(
        logs[0].contains("module received configuration"),
        "{logs:?}"
    );
    assert!(logs[1].contains("auditing enabled"), "{logs:?}");
    lock.restore().unwrap();
}
