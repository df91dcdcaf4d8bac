//! The seed's first investigation end to end, every piece in a process of
//! its own: `mig file -t allonline -path /etc -name "^passwd$" -content
//! "^root"` against the API, the scheduler and an agent on PostgreSQL and
//! RabbitMQ; the investigator signs with their own `gpg`, once with an
//! ed25519 key and once with an RSA-4096 key, both made here. Then the other
//! host modules through the same stack: `mig netstat -lp`, `mig pkg -name`,
//! `mig ping -p tcp`, `mig timedrift -drift` (against an SNTP responder of
//! the test, one hour ahead, named in the agent's `[timedrift]` section),
//! `mig sshkey -path` (a key the test writes), `mig scribe -path` (a YAML
//! document checking a file the test writes) and `mig yara -rules -files`
//! (a rule matching that file, through the host's libyara); last the
//! reference module `example` (no `mig` subcommand: an action file launched
//! by `mig-action-generator`, its result read from the database).
//!
//! `harness = false`: this executable is also each daemon. With
//! `MIG_E2E_ROLE=api|scheduler|agent` its `main` runs that role (the agent's
//! real main, whose module children re-execute this same file with `-m
//! <module>` and land in the agent main again), so no cross-package binary is
//! needed.

#![allow(clippy::unwrap_used)]

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mig_protocol::pgp::PublicKey;
use mig_protocol::status::InvestigatorStatus;
use mig_protocol::{GoTime, Investigator, Permissions};
use mig_relay::{AmqpConfig, AmqpRelay, Relay};
use mig_store::{PgStore, Store};
use mig_testkit::free_port;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match std::env::var("MIG_E2E_ROLE").as_deref() {
        Ok("agent") => mig_agent::cli::main(args),
        Ok("api") => role_api(),
        Ok("scheduler") => role_scheduler(),
        _ => {
            // `cargo test` passes harness flags (`--nocapture`, filters…): a
            // filter that does not name this test skips it.
            if let Some(filter) = args.iter().find(|arg| !arg.starts_with('-'))
                && !"first_investigation".contains(filter.as_str())
            {
                return ExitCode::SUCCESS;
            }
            if args.iter().any(|arg| arg == "--list") {
                println!("first_investigation: test");
                return ExitCode::SUCCESS;
            }
            first_investigation();
            println!("test first_investigation ... ok");
            ExitCode::SUCCESS
        }
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The API on `MIG_E2E_PORT` over the database `MIG_E2E_DB`.
fn role_api() -> ExitCode {
    runtime().block_on(async {
        let store = Arc::new(PgStore::connect(&env("MIG_E2E_DB"), 4).await.unwrap());
        let mut config = mig_api::ApiConfig::for_tests();
        let port = env("MIG_E2E_PORT");
        config.server.host = format!("http://127.0.0.1:{port}");
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        mig_api::serve(config, store, listener, std::future::pending())
            .await
            .unwrap();
    });
    ExitCode::SUCCESS
}

/// The scheduler on `MIG_E2E_DB` and the relay `MIG_E2E_AMQP`.
fn role_scheduler() -> ExitCode {
    runtime().block_on(async {
        let store = Arc::new(PgStore::connect(&env("MIG_E2E_DB"), 8).await.unwrap());
        let relay = AmqpRelay::connect_and_wait(
            AmqpConfig::new(env("MIG_E2E_AMQP")),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        relay.declare_scheduler_topology().await.unwrap();
        let mut config = mig_scheduler::SchedulerConfig::parse("e2e.cfg", "").unwrap();
        config.collector_freq = Duration::from_millis(200);
        mig_scheduler::run(
            config,
            mig_scheduler::Tuning::default(),
            store,
            relay,
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    });
    ExitCode::SUCCESS
}

/// Children killed when the test ends, however it ends.
struct Daemons(Vec<(String, Child)>);

impl Drop for Daemons {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_role(role: &str, args: &[&str], envs: &[(&str, String)], log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    Command::new(std::env::current_exe().unwrap())
        .args(args)
        .env("MIG_E2E_ROLE", role)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn gpg(home: &Path, args: &[&str]) -> String {
    let output = Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Makes a key in `home`; returns its fingerprint and armored public key.
fn make_key(home: &Path, uid: &str, algo: &str) -> (String, String) {
    gpg(home, &["--quick-gen-key", uid, algo, "sign", "never"]);
    let listing = gpg(
        home,
        &["--with-colons", "--fingerprint", "--list-secret-keys", uid],
    );
    let fingerprint = listing
        .lines()
        .find_map(|line| line.strip_prefix("fpr:"))
        .and_then(|rest| rest.split(':').nth(8))
        .unwrap()
        .to_owned();
    let public = gpg(home, &["--armor", "--export", &fingerprint]);
    (fingerprint, public)
}

fn first_investigation() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let gnupg = root.join("gnupg");
    std::fs::create_dir(&gnupg).unwrap();
    std::fs::set_permissions(&gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let keys = [
        make_key(&gnupg, "e2e ed25519 <ed25519@mig.test>", "ed25519"),
        make_key(&gnupg, "e2e rsa4096 <rsa4096@mig.test>", "rsa4096"),
    ];

    // Database with both investigators; a vhost for the relay.
    let database = rt.block_on(mig_testkit::TestDatabase::create("migcli_endtoend_"));
    let vhost = mig_testkit::Vhost::create("migcli_endtoend_");
    let store = rt.block_on(async {
        let store = PgStore::connect(&database.url(), 4).await.unwrap();
        store.migrate().await.unwrap();
        for (name, (_, public)) in ["ed25519", "rsa4096"].iter().zip(&keys) {
            let key = PublicKey::from_armored(public).unwrap();
            let investigator = Investigator {
                name: (*name).to_owned(),
                pgpfingerprint: key.fingerprint().to_uppercase(),
                publickey: public.clone().into_bytes(),
                status: InvestigatorStatus::Active,
                createdat: GoTime::now(),
                lastmodified: GoTime::now(),
                permissions: Permissions::ALL,
                ..Investigator::default()
            };
            store.insert_investigator(&investigator).await.unwrap();
        }
        store
    });

    // The agent trusts both keys for every module.
    let agentkeys = root.join("agentkeys");
    std::fs::create_dir(&agentkeys).unwrap();
    let mut acl = String::from(r#"{"default":{"minimumweight":1,"investigators":{"#);
    for (index, (fingerprint, public)) in keys.iter().enumerate() {
        std::fs::write(agentkeys.join(format!("key{index}.asc")), public).unwrap();
        if index > 0 {
            acl.push(',');
        }
        acl.push_str(&format!(
            r#""investigator{index}":{{"fingerprint":"{fingerprint}","weight":1}}"#
        ));
    }
    acl.push_str("}}}");
    std::fs::write(root.join("acl.cfg"), acl).unwrap();
    let api_port = free_port();
    let ntp_port = sntp_responder(3600);
    let agent_config = root.join("mig-agent.cfg");
    std::fs::write(
        &agent_config,
        format!(
            "[agent]\n relay = \"{}\"\n api = \"http://127.0.0.1:{api_port}/api/v1/\"\n socket = \"127.0.0.1:{}\"\n heartbeatfreq = \"2s\"\n heartbeat = amqp\n moduletimeout = \"30s\"\n installservice = off\n discoverawsmeta = off\n refreshenv = \"0s\"\n rundir = \"{}\"\n agentkeys = \"{}\"\n aclfile = \"{}\"\n[logging]\n level = debug\n[timedrift]\n ntpconf = \"\"\n server = \"127.0.0.1:{ntp_port}\"\n",
            vhost.url(),
            free_port(),
            root.join("run").display(),
            agentkeys.display(),
            root.join("acl.cfg").display(),
        ),
    )
    .unwrap();

    let envs = [
        ("MIG_E2E_DB", database.url()),
        ("MIG_E2E_AMQP", vhost.url()),
        ("MIG_E2E_PORT", api_port.to_string()),
    ];
    let mut daemons = Daemons(Vec::new());
    for role in ["scheduler", "api"] {
        let child = spawn_role(role, &[], &envs, &root.join(format!("{role}.log")));
        daemons.0.push((role.to_owned(), child));
    }
    let agent_config_text = agent_config.to_str().unwrap();
    let agent = spawn_role(
        "agent",
        &["-f", "-c", agent_config_text],
        &[],
        &root.join("agent.log"),
    );
    daemons.0.push(("agent".to_owned(), agent));

    // Wait until the agent is online and the API answers.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let online = rt
            .block_on(store.count_target_agents("status='online'", chrono::Utc::now()))
            .unwrap_or(0);
        let api_up = std::net::TcpStream::connect(("127.0.0.1", api_port)).is_ok();
        if online >= 1 && api_up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "agent or API not up; logs:\n{}",
            logs(root)
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let hostname = rt
        .block_on(store.target_agents("status='online'", chrono::Utc::now()))
        .unwrap()
        .remove(0)
        .name;
    for (index, (fingerprint, _)) in keys.iter().enumerate() {
        let home = root.join(format!("home{index}"));
        std::fs::create_dir(&home).unwrap();
        std::fs::write(
            home.join(".migrc"),
            format!(
                "[api]\n    url = \"http://127.0.0.1:{api_port}/api/v1/\"\n[gpg]\n    home = \"{}\"\n    keyid = \"{fingerprint}\"\n[targets]\n    macro = allonline:status='online'\n",
                gnupg.display()
            ),
        )
        .unwrap();
        // The seed's command exactly (with its countdown) for the first key;
        // `-y` for the second.
        let mut args = vec!["file"];
        if index == 1 {
            args.push("-y");
        }
        args.extend([
            "-t",
            "allonline",
            "-path",
            "/etc",
            "-name",
            "^passwd$",
            "-content",
            "^root",
        ]);
        let (stdout, stderr) = mig(&home, &args, root);
        let expected = format!("{hostname} /etc/passwd [lastmodified:");
        assert!(
            stdout.starts_with(&expected) && stdout.trim_end().ends_with("in search 's1'"),
            "stdout: {stdout}\nstderr: {stderr}\n{}",
            logs(root)
        );
        assert!(
            stderr.contains("\x1b[31m1 agent has found results\x1b[0m"),
            "{stderr}"
        );
        assert!(
            stderr.contains("\x1b[34m1 sent, 1 done, 1 succeeded\n"),
            "{stderr}"
        );
        if index == 0 {
            assert!(
                stderr.starts_with("\x1b[33m1 agents will be targeted. ctrl+c to cancel. launching in \x1b[0m\x1b[33m5\x1b[0m "),
                "{stderr}"
            );
        } else {
            assert!(
                stderr.starts_with("\x1b[34mFollowing action ID "),
                "{stderr}"
            );
        }
    }

    // The other host modules through the same stack (issue #8), signed with
    // the second key: each investigation succeeds and prints what was found.
    let home = root.join("home1");
    let ssh_dir = root.join("ssh").display().to_string();
    std::fs::create_dir(&ssh_dir).unwrap();
    std::fs::write(format!("{ssh_dir}/authorized_keys"), SSH_KEY).unwrap();
    let marker = root.join("policy").join("marker.conf");
    std::fs::create_dir(marker.parent().unwrap()).unwrap();
    std::fs::write(&marker, "# e2e\nMarkerSetting yes\n").unwrap();
    let marker = marker.display().to_string();
    let scribe_doc = root.join("marker.yaml").display().to_string();
    std::fs::write(
        &scribe_doc,
        format!(
            "objects:\n  - object: marker\n    filecontent:\n      path: {}\n      file: '^marker\\.conf$'\n      expression: '^MarkerSetting\\s+(\\S+)'\ntests:\n  - test: marker-is-set\n    name: e2e marker\n    object: marker\n    exactmatch:\n      value: yes\n",
            root.join("policy").display()
        ),
    )
    .unwrap();
    let yara_rules = root.join("e2e.yar").display().to_string();
    std::fs::write(
        &yara_rules,
        "rule e2e_marker { strings: $a = \"MarkerSetting yes\" condition: $a }\nrule e2e_never { condition: false }\n",
    )
    .unwrap();
    let yara_files = format!("-path {} -name .", root.join("policy").display());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let cases: [(&[&str], String); 7] = [
        (
            &["netstat", "-lp", &port],
            format!("{hostname} found listening port {port} for netstat listeningport:'{port}'"),
        ),
        (
            &["pkg", "-name", "^bash$"],
            format!("{hostname} pkgmatch name=bash "),
        ),
        (
            &[
                "ping",
                "-d",
                "127.0.0.1",
                "-dp",
                &port,
                "-p",
                "tcp",
                "-c",
                "1",
            ],
            format!(
                "{hostname} tcp ping of 127.0.0.1:{port} (127.0.0.1) succeeded. Target is reachable."
            ),
        ),
        // The responder is an hour ahead; the local time is read after its
        // answer, so the agent is behind by a little less than an hour.
        (
            &["timedrift", "-drift", "5s"],
            format!(
                "{hostname} local time is out of sync from NTP servers\n{hostname} Local time is behind ntp host 127.0.0.1:{ntp_port} by 59m"
            ),
        ),
        (
            &["sshkey", "-path", &ssh_dir],
            format!(
                "{hostname} {ssh_dir}/authorized_keys [authorizedkeys] md5fp={SSH_MD5} sha256fp={SSH_SHA256}\n"
            ),
        ),
        (
            &["scribe", "-path", &scribe_doc],
            format!(
                "{hostname} master [true] name:\"e2e marker\" id:\"marker-is-set\" hastrue:true error:\"\"\n{hostname} sub [true] name:\"e2e marker\" id:\"marker-is-set\" identifier:\"{marker}\"\n"
            ),
        ),
        (
            &["yara", "-rules", &yara_rules, "-files", &yara_files],
            format!("{hostname} {marker} [e2e_marker]\n"),
        ),
    ];
    for (module_args, expected) in cases {
        let mut args = vec![module_args[0], "-y", "-t", "allonline"];
        args.extend(&module_args[1..]);
        let (stdout, stderr) = mig(&home, &args, root);
        assert!(
            stdout.contains(&expected),
            "mig {args:?}: expected {expected:?} in\n{stdout}\n{stderr}\n{}",
            logs(root)
        );
        assert!(
            stderr.contains("\x1b[34m1 sent, 1 done, 1 succeeded\n"),
            "mig {args:?}: {stderr}"
        );
    }
    drop(listener);

    // `example` has no `mig` subcommand (nor in the original): the action
    // comes from a file, signed and launched by `mig-action-generator`; its
    // results are read back from the database and printed as `mig` would.
    let action_file = root.join("example.json");
    std::fs::write(
        &action_file,
        r#"{"name":"e2e example","description":{"author":"e2e"},"threat":{"level":"info","family":"test"},"syntaxversion":2,"operations":[{"module":"example","parameters":{"gethostname":true,"getaddresses":true,"lookuphost":["localhost"]}}]}"#,
    )
    .unwrap();
    let action_id = launch_action_file(&home, &action_file, root);
    let deadline = Instant::now() + Duration::from_secs(60);
    let command = loop {
        let commands = rt.block_on(store.commands_of_action(action_id)).unwrap();
        if let Some(command) = commands
            .into_iter()
            .find(|command| command.results.is_some())
        {
            break command;
        }
        assert!(
            Instant::now() < deadline,
            "no result for the example action {}:\n{}",
            action_id.0,
            logs(root)
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        command.status,
        mig_protocol::status::CommandStatus::Success,
        "{command:?}"
    );
    let results = command.results.unwrap();
    let lines = mig_modules::print_result(
        mig_modules::ModuleName::from_name("example").unwrap(),
        &results[0],
        true,
    )
    .unwrap();
    assert!(
        lines.contains(&format!("hostname is {hostname}")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line == "lookedup host localhost has IP 127.0.0.1"
                || line == "lookedup host localhost has IP ::1"),
        "{lines:?}"
    );
    assert!(results[0].foundanything, "{results:?}");

    drop(daemons);
    rt.block_on(database.drop());
    drop(vhost);
}

/// An authorized key the sshkey case finds, and its fingerprints as
/// `ssh-keygen -l [-E md5]` prints them.
const SSH_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGojPI+4thcPDRq5YjePz+wRViGn8ye6J+MkNdEhHhXu e2e@mig.test\n";
const SSH_MD5: &str = "f1:14:a7:86:fc:28:82:d4:d5:27:8d:b2:c1:e9:9b:d5";
const SSH_SHA256: &str = "SHA256:Yeh39sj+BmR5W1jtsNER5rVe5ApDaCNpNuO93cU7W6Y";

/// An SNTP responder on 127.0.0.1, answering every request with the local
/// clock shifted by `offset_seconds`, for the rest of the test; its port.
fn sntp_responder(offset_seconds: u64) -> u16 {
    /// Seconds from 1900 (NTP's era 0) to 1970.
    const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut request = [0u8; 48];
        while let Ok((_, peer)) = socket.recv_from(&mut request) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            let mut answer = [0u8; 48];
            answer[0] = 0x1c; // LI 0, VN 3, mode 4 (server)
            let seconds = (now.as_secs() + offset_seconds + NTP_UNIX_OFFSET) as u32;
            let fraction = ((u64::from(now.subsec_nanos()) << 32) / 1_000_000_000).max(1) as u32;
            answer[40..44].copy_from_slice(&seconds.to_be_bytes());
            answer[44..48].copy_from_slice(&fraction.to_be_bytes());
            let _ = socket.send_to(&answer, peer);
        }
    });
    port
}

/// Runs the `mig` binary with `args` and `$HOME` at `home` (its `.migrc`);
/// asserts it exits 0 and returns its stdout and stderr.
fn mig(home: &Path, args: &[&str], root: &Path) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_mig"))
        .args(args)
        .env("HOME", home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "mig {args:?} failed:\n{stdout}\n{stderr}\n{}",
        logs(root)
    );
    (stdout, stderr)
}

/// Signs and launches the action in `file` with `mig-action-generator`
/// (`$HOME` at `home`, target `allonline`); the launched action's ID.
fn launch_action_file(home: &Path, file: &Path, root: &Path) -> mig_protocol::Id {
    let output = Command::new(env!("CARGO_BIN_EXE_mig-action-generator"))
        .args(["-i", file.to_str().unwrap(), "-t", "allonline"])
        .env("HOME", home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let launched = stdout
        .lines()
        .find_map(|line| line.strip_prefix("Successfully launched action "))
        .and_then(|id| id.trim().parse().ok());
    match launched {
        Some(id) if output.status.success() => mig_protocol::Id(id),
        _ => panic!(
            "mig-action-generator failed:\n{stdout}\n{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            logs(root)
        ),
    }
}

fn logs(root: &Path) -> String {
    let mut out = String::new();
    for name in ["scheduler.log", "api.log", "agent.log"] {
        let path: PathBuf = root.join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        out.push_str(&format!("--- {name}\n"));
        for line in tail.into_iter().rev() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}
