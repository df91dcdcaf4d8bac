//! The test plays the scheduler: a throwaway RabbitMQ vhost with the
//! scheduler's topology, a real `mig-agent` process with its own config, keys
//! and ACL in a temporary directory, signed commands in, results out.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use mig_protocol::pgp::{KeyAlgo, SecretKeySigner, Signer};
use mig_protocol::relay::{EXCHANGE_TO_AGENTS, QUEUE_HEARTBEATS, QUEUE_RESULTS, agent_queue};
use mig_protocol::status::CommandStatus;
use mig_protocol::{Action, Agent, Command, GoTime, Operation, gen_id};
use mig_relay::{AmqpConfig, AmqpRelay, PublishOptions, Relay, Subscription};
use mig_testkit::Vhost;
use serde_json::Value;

pub fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/reference")
}

pub fn bob() -> SecretKeySigner {
    let text = std::fs::read_to_string(
        vectors().join("signing/THROWAWAY_TEST_KEY_bob_SECRET_do_not_use.asc"),
    )
    .unwrap();
    SecretKeySigner::from_armored(&text, None).unwrap()
}

pub fn stranger() -> SecretKeySigner {
    SecretKeySigner::generate(KeyAlgo::Ed25519, "Stranger <stranger@example.net>").unwrap()
}

pub use mig_testkit::free_port;

/// Settings of an agent under test.
pub struct AgentSetup {
    pub heartbeat_freq: &'static str,
    pub module_timeout: &'static str,
    pub heartbeat_form: &'static str,
    pub api_port: u16,
}

impl Default for AgentSetup {
    fn default() -> Self {
        Self {
            heartbeat_freq: "30s",
            module_timeout: "3s",
            heartbeat_form: "amqp",
            api_port: free_port(),
        }
    }
}

/// A vhost, the scheduler's side of the relay, and the agent's files.
pub struct Sandbox {
    pub vhost: Vhost,
    pub relay: AmqpRelay,
    /// The results queue as the test consumes it; `None` when a real
    /// scheduler consumes it instead.
    pub results: Option<Subscription>,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub socket: String,
}

impl Sandbox {
    pub async fn new(setup: &AgentSetup) -> Self {
        let vhost = Vhost::create("migagent_");
        let relay =
            AmqpRelay::connect_and_wait(AmqpConfig::new(vhost.url()), Duration::from_secs(10))
                .await
                .unwrap();
        relay.declare_scheduler_topology().await.unwrap();
        let results = relay.consume(QUEUE_RESULTS, 0).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("agentkeys");
        std::fs::create_dir(&keys).unwrap();
        std::fs::copy(
            vectors().join("signing/THROWAWAY_TEST_KEY_bob_public.asc"),
            keys.join("bob.asc"),
        )
        .unwrap();
        std::fs::write(keys.join("garbage.asc"), "not a key").unwrap();
        let bob = bob().fingerprint();
        let acl = format!(
            r#"{{"default":{{"minimumweight":1,"investigators":{{"bob":{{"fingerprint":"{bob}","weight":1}}}}}},
               "agentdestroy":{{"minimumweight":2,"investigators":{{"bob":{{"fingerprint":"{bob}","weight":1}}}}}},
               "file":{{"minimumweight":1,"investigators":{{"alice":{{"fingerprint":"0123456789ABCDEF0123456789ABCDEF01234567","weight":5}}}}}}}}"#
        );
        std::fs::write(dir.path().join("acl.cfg"), acl).unwrap();
        let socket = format!("127.0.0.1:{}", free_port());
        let config = dir.path().join("mig-agent.cfg");
        std::fs::write(
            &config,
            format!(
                "[agent]\n\
                 relay = \"{}\"\n\
                 api = \"http://127.0.0.1:{}/api/v1/\"\n\
                 socket = \"{socket}\"\n\
                 heartbeatfreq = \"{}\"\n\
                 heartbeat = {}\n\
                 moduletimeout = \"{}\"\n\
                 installservice = off\n\
                 nopersistmods = on\n\
                 discoverawsmeta = off\n\
                 refreshenv = \"0s\"\n\
                 tags = \"operator:tests\"\n\
                 rundir = \"{}\"\n\
                 agentkeys = \"{}\"\n\
                 aclfile = \"{}\"\n\
                 [logging]\n\
                 level = debug\n",
                vhost.url(),
                setup.api_port,
                setup.heartbeat_freq,
                setup.heartbeat_form,
                setup.module_timeout,
                dir.path().join("run").display(),
                keys.display(),
                dir.path().join("acl.cfg").display(),
            ),
        )
        .unwrap();
        Self {
            vhost,
            relay,
            results: Some(results),
            dir,
            config,
            socket,
        }
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// Starts the agent; its logs go to `agent.log` in the sandbox.
    pub fn start_agent(&self) -> RunningAgent {
        // MIG_AGENT_BIN runs another build (e.g. the release binary) under the same tests.
        let binary = std::env::var("MIG_AGENT_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_mig-agent").to_owned());
        self.start_binary(Path::new(&binary))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }

    /// The agent's queueloc, once it has written its id.
    pub async fn queueloc(&self) -> String {
        let file = self.run_dir().join(".migagtid");
        for _ in 0..100 {
            if let Ok(id) = std::fs::read_to_string(&file)
                && id.len() >= 80
            {
                return format!("linux.{id}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the agent wrote no id\n{}", self.log());
    }

    /// Waits until the agent consumes its queue.
    pub async fn wait_consumer(&self, queueloc: &str) {
        for _ in 0..200 {
            if let Ok(Some(state)) = self.relay.queue_state(&agent_queue(queueloc)).await
                && state.consumers > 0
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the agent never consumed its queue\n{}", self.log());
    }

    /// Publishes a command for `action` to the agent and returns its id.
    pub async fn send(&self, queueloc: &str, action: &Action) -> mig_protocol::Id {
        let command = Command {
            id: gen_id(),
            action: action.clone(),
            agent: Agent {
                name: "test-host".into(),
                queueloc: queueloc.into(),
                mode: "daemon".into(),
                ..Agent::default()
            },
            status: CommandStatus::Sent,
            results: None,
            starttime: GoTime::now(),
            finishtime: GoTime::zero(),
        };
        self.relay
            .publish(
                EXCHANGE_TO_AGENTS,
                &agent_queue(queueloc),
                command.to_json().into_bytes(),
                PublishOptions::default(),
            )
            .await
            .unwrap();
        command.id
    }

    /// The result of command `id`.
    pub async fn result(&mut self, id: mig_protocol::Id, within: Duration) -> Command {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let delivery = tokio::time::timeout_at(
                deadline,
                self.results
                    .as_mut()
                    .expect("the test consumes no results")
                    .next(),
            )
            .await
            .unwrap_or_else(|_| panic!("no result for command {id}\n{}", self.log()))
            .unwrap();
            let body = delivery.body.clone();
            delivery.ack().await.unwrap();
            assert!(mig_protocol::relay::is_plausible_result_body(&body));
            let command = Command::from_json(&body).unwrap();
            if command.id == id {
                return command;
            }
        }
    }

    /// Sends `action` and waits for its result.
    pub async fn roundtrip(&mut self, queueloc: &str, action: &Action) -> Command {
        let id = self.send(queueloc, action).await;
        self.result(id, Duration::from_secs(20)).await
    }

    /// The next legacy heartbeat on `mig.agt.heartbeats`.
    pub async fn heartbeat(&self, within: Duration) -> Agent {
        let mut heartbeats = self.relay.consume(QUEUE_HEARTBEATS, 0).await.unwrap();
        let delivery = tokio::time::timeout(within, heartbeats.next())
            .await
            .unwrap_or_else(|_| panic!("no heartbeat\n{}", self.log()))
            .unwrap();
        let body = delivery.body.clone();
        delivery.ack().await.unwrap();
        Agent::from_json(&body).unwrap()
    }
}

/// The agent process, killed when dropped.
pub struct RunningAgent {
    pub child: Child,
}

impl RunningAgent {
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An unsigned action valid from a minute ago for five minutes.
pub fn action(operations: Vec<(&str, Value)>) -> Action {
    let now = GoTime::now().trunc_seconds();
    Action {
        id: gen_id(),
        name: format!("agent test {}", rand::random::<u32>()),
        target: "status='online'".into(),
        validfrom: GoTime(now.0 - chrono::Duration::seconds(60)),
        expireafter: GoTime(now.0 + chrono::Duration::seconds(300)),
        operations: Some(
            operations
                .into_iter()
                .map(|(module, parameters)| Operation::new(module, parameters))
                .collect(),
        ),
        syntaxversion: 2,
        ..Action::default()
    }
}

/// Signs `action` with each signer, in order.
pub fn sign(mut action: Action, signers: &[&SecretKeySigner]) -> Action {
    let data = action.signing_string();
    action.pgpsignatures = Some(
        signers
            .iter()
            .map(|signer| signer.sign(data.as_bytes()).unwrap())
            .collect(),
    );
    action
}

/// The errors of every result of a command, joined.
pub fn errors(command: &Command) -> String {
    command
        .results
        .iter()
        .flatten()
        .flat_map(|result| result.errors.iter().flatten().cloned())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The resident memory of a process, from `/proc/<pid>/status` (kB).
#[derive(Debug, Clone, Copy, Default)]
pub struct Resident {
    pub vm_rss: u64,
    pub rss_anon: u64,
    pub rss_file: u64,
    pub threads: u64,
}

impl Resident {
    pub fn of(pid: u32) -> Self {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|value| value.trim().trim_end_matches(" kB").trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
        };
        Self {
            vm_rss: field("VmRSS:"),
            rss_anon: field("RssAnon:"),
            rss_file: field("RssFile:"),
            threads: field("Threads:"),
        }
    }
}

/// The resident kB of a process by mapping (file name, `[heap]`, `[anon]`…),
/// largest first.
pub fn resident_by_mapping(pid: u32) -> Vec<(String, u64)> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut by_name = std::collections::BTreeMap::<String, u64>::new();
    let mut current = String::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            let name = fields.skip(4).collect::<Vec<_>>().join(" ");
            current = if name.is_empty() {
                "[anon]".into()
            } else {
                name
            };
        } else if first == "Rss:" {
            let kb: u64 = fields.next().and_then(|kb| kb.parse().ok()).unwrap_or(0);
            *by_name.entry(current.clone()).or_default() += kb;
        }
    }
    let mut sorted: Vec<_> = by_name.into_iter().collect();
    sorted.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    sorted
}

impl Sandbox {
    /// Rewrites the agent's configuration file with `edit`.
    pub fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        std::fs::write(&self.config, edit(text)).unwrap();
    }

    /// Starts `binary`; its logs go to `agent.log` in the sandbox.
    pub fn start_binary(&self, binary: &Path) -> RunningAgent {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("agent.log"))
            .unwrap();
        let child = std::process::Command::new(binary)
            .arg("-f")
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        RunningAgent { child }
    }
}
