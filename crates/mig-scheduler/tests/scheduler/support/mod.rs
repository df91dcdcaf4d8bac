//! Scenario helpers for scheduler tests: a running scheduler, fake agents that
//! consume their queue and answer, and actions to submit.
#![allow(clippy::unwrap_used, dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use mig_protocol::relay::{EXCHANGE_TO_SCHEDULERS, QUEUE_RESULTS};
use mig_protocol::status::{ActionStatus, CommandStatus};
use mig_protocol::{Action, Agent, AgentEnv, Command, GoTime, Id, ModuleResult, Operation, gen_id};
use mig_relay::{PublishOptions, Relay};
use mig_scheduler::{SchedulerConfig, Tuning};
use mig_store::Store;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// A scheduler running in the background of a test.
pub struct Running {
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<Result<(), mig_scheduler::SchedulerError>>,
}

impl Running {
    pub async fn stop(self) {
        self.shutdown.cancel();
        let outcome = tokio::time::timeout(Duration::from_secs(20), self.task).await;
        outcome
            .expect("scheduler did not stop within 20 s")
            .unwrap()
            .unwrap();
    }
}

/// A configuration with short periods, for tests.
pub fn test_config() -> SchedulerConfig {
    let mut config = SchedulerConfig::parse("test.cfg", "").unwrap();
    config.collector_freq = Duration::from_millis(200);
    config.periodic.freq = Duration::from_secs(3600);
    config.periodic.queues_cleanup_freq = Duration::from_secs(3600);
    config
}

pub fn test_tuning() -> Tuning {
    Tuning {
        claim_lease: Duration::from_secs(3),
        outbox_lease: Duration::from_secs(3),
        retry_pause: Duration::from_millis(200),
        ..Tuning::default()
    }
}

pub fn start<S: Store, R: Relay>(store: Arc<S>, relay: R) -> Running {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(mig_scheduler::run(
        test_config(),
        test_tuning(),
        store,
        relay,
        shutdown.clone(),
    ));
    Running { shutdown, task }
}

/// How a fake agent answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers every command with a success.
    Answer,
    /// Consumes and acknowledges, never answers.
    Silent,
    /// Answers, but claims another pid (a different agent process).
    WrongPid,
    /// Answers twice.
    Twice,
    /// Answers after a pause of this many milliseconds.
    Delayed(u64),
}

/// A fake agent: registered by heartbeat in the store, consuming its queue.
pub struct FakeAgent {
    pub agent: Agent,
    pub task: tokio::task::JoinHandle<()>,
    pub answered: Arc<std::sync::atomic::AtomicUsize>,
}

pub fn agent_row(name: &str, pid: i64) -> Agent {
    Agent {
        name: name.into(),
        queueloc: format!("linux.{name}{}", rand_suffix()),
        mode: "daemon".into(),
        version: "test".into(),
        pid,
        heartbeatts: GoTime::now(),
        refreshts: GoTime::now(),
        environment: AgentEnv {
            os: "linux".into(),
            arch: "amd64".into(),
            ..AgentEnv::default()
        },
        ..Agent::default()
    }
}

pub fn rand_suffix() -> String {
    format!("{:08x}", rand::random::<u32>())
}

impl FakeAgent {
    pub async fn start<S: Store, R: Relay>(
        store: &S,
        relay: &R,
        name: &str,
        behaviour: Behaviour,
    ) -> FakeAgent {
        let agent = agent_row(name, 1000 + i64::from(rand::random::<u16>()));
        store
            .upsert_heartbeats(std::slice::from_ref(&agent), Utc::now())
            .await
            .unwrap();
        // Like a real agent, wait for the scheduler to have declared the exchanges.
        let mut attempts = 0;
        while let Err(err) = relay.declare_agent_queue(&agent.queueloc).await {
            attempts += 1;
            assert!(attempts < 100, "agent queue never declared: {err}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut subscription = relay
            .consume(&mig_protocol::relay::agent_queue(&agent.queueloc), 1)
            .await
            .unwrap();
        let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let relay = relay.clone();
        let me = agent.clone();
        let counter = answered.clone();
        let task = tokio::spawn(async move {
            while let Some(delivery) = subscription.next().await {
                let body = delivery.body.clone();
                delivery.ack().await.unwrap();
                if behaviour == Behaviour::Silent {
                    continue;
                }
                if let Behaviour::Delayed(millis) = behaviour {
                    tokio::time::sleep(Duration::from_millis(millis)).await;
                }
                let mut command = Command::from_json(&body).unwrap();
                command.status = CommandStatus::Success;
                command.agent.queueloc = me.queueloc.clone();
                if behaviour == Behaviour::WrongPid {
                    command.agent.pid += 1;
                }
                let count = command.action.operations().len();
                command.results = Some(vec![
                    ModuleResult {
                        foundanything: true,
                        success: true,
                        elements: json!({"agent": me.name}),
                        ..ModuleResult::default()
                    };
                    count
                ]);
                let times = if behaviour == Behaviour::Twice { 2 } else { 1 };
                for _ in 0..times {
                    // Like an agent, keep trying through a relay outage.
                    while let Err(err) = relay
                        .publish(
                            EXCHANGE_TO_SCHEDULERS,
                            QUEUE_RESULTS,
                            command.to_json().into_bytes(),
                            PublishOptions::default(),
                        )
                        .await
                    {
                        eprintln!("fake agent {}: publish failed, retrying: {err}", me.name);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        FakeAgent {
            agent,
            task,
            answered,
        }
    }
}

/// A pending action as the API stores it, valid from a minute ago for `lifetime`.
pub fn new_action(target: &str, lifetime: Duration) -> Action {
    let now = GoTime::now().trunc_seconds();
    Action {
        id: gen_id(),
        name: format!("test {}", rand_suffix()),
        target: target.into(),
        validfrom: GoTime(now.0 - chrono::Duration::seconds(60)),
        expireafter: GoTime(now.0 + chrono::Duration::from_std(lifetime).unwrap()),
        operations: Some(vec![Operation::new(
            "file",
            json!({"searches": {"s1": {"paths": ["/etc"], "names": ["^passwd$"]}}}),
        )]),
        pgpsignatures: Some(vec!["not checked by the scheduler".into()]),
        status: ActionStatus::Pending,
        starttime: GoTime::sentinel_unstarted(),
        finishtime: GoTime::sentinel_unfinished(),
        lastupdatetime: GoTime::sentinel_unstarted(),
        syntaxversion: 2,
        ..Action::default()
    }
}

/// Waits until the action leaves the running statuses; returns it.
pub async fn wait_finished<S: Store>(store: &S, id: Id, within: Duration) -> Action {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let action = store.get_action(id).await.unwrap().unwrap();
        if !action.status.is_running() {
            return action;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "action {id} still {} after {within:?}: {:?}",
            action.status,
            action.counters
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
