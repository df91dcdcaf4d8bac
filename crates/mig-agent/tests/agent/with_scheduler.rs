//! End to end through the real pieces: the scheduler (in-process, on a
//! PostgreSQL database of its own) and the real `mig-agent` binary, talking
//! through RabbitMQ. The agent registers by heartbeat, the seed's first
//! investigation (`file -path /etc -name ^passwd$ -content ^root`) is signed
//! by Bob, dispatched, verified by the agent, run by the file module, and the
//! result lands in the database.
use crate::support;

use std::sync::Arc;
use std::time::Duration;

use mig_protocol::pgp::Signer;
use mig_protocol::status::{ActionStatus, CommandStatus};
use mig_protocol::{GoTime, Id};
use mig_scheduler::{SchedulerConfig, Tuning};
use mig_store::{PgStore, Store};
use mig_testkit::TestDatabase;
use serde_json::json;
use support::{AgentSetup, Sandbox, action, bob, sign};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_investigation_through_scheduler_relay_and_agent() {
    let setup = AgentSetup {
        heartbeat_freq: "2s",
        module_timeout: "30s",
        ..AgentSetup::default()
    };
    let mut sandbox = Sandbox::new(&setup).await;
    // The scheduler consumes the results, not the test.
    sandbox.results = None;
    // Bob may run the file module on this agent.
    let bob_fpr = bob().fingerprint();
    std::fs::write(
        sandbox.dir.path().join("acl.cfg"),
        format!(r#"{{"default":{{"minimumweight":1,"investigators":{{"bob":{{"fingerprint":"{bob_fpr}","weight":1}}}}}}}}"#),
    )
    .unwrap();

    let database = TestDatabase::create("migagentetoe_").await;
    let store = Arc::new(PgStore::connect(&database.url(), 8).await.unwrap());
    store.migrate().await.unwrap();
    let mut config = SchedulerConfig::parse("test.cfg", "").unwrap();
    config.collector_freq = Duration::from_millis(200);
    let shutdown = CancellationToken::new();
    let scheduler = tokio::spawn(mig_scheduler::run(
        config,
        Tuning::default(),
        store.clone(),
        sandbox.relay.clone(),
        shutdown.clone(),
    ));

    let _agent = sandbox.start_agent();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while store
        .count_target_agents("status='online'", chrono::Utc::now())
        .await
        .unwrap()
        == 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the agent never registered\n{}",
            sandbox.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let investigation = sign(
        action(vec![(
            "file",
            json!({"searches": {"s1": {"paths": ["/etc"], "names": ["^passwd$"], "contents": ["^root"],
                "options": {"maxdepth": 1000, "maxerrors": 30, "matchall": true, "macroal": false, "mismatch": null, "matchlimit": 1000}}}}),
        )]),
        &[&bob()],
    );
    let mut investigation = investigation;
    investigation.status = ActionStatus::Pending;
    investigation.starttime = GoTime::sentinel_unstarted();
    investigation.finishtime = GoTime::sentinel_unfinished();
    store.insert_action(&investigation, &[]).await.unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        let current = store.get_action(investigation.id).await.unwrap().unwrap();
        if !current.status.is_running() {
            break current;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "action still {}\n{}",
            current.status,
            sandbox.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done.status, ActionStatus::Completed, "{}", sandbox.log());
    assert_eq!(
        (done.counters.sent, done.counters.success),
        (1, 1),
        "{:?}\n{}",
        done.counters,
        sandbox.log()
    );
    let commands = store.commands_of_action(investigation.id).await.unwrap();
    assert_eq!(commands[0].status, CommandStatus::Success);
    let result = &commands[0].results.as_ref().unwrap()[0];
    assert!(result.foundanything && result.success, "{result:?}");
    let found = result.elements.to_string();
    assert!(found.contains("/etc/passwd"), "{found}");
    // The command was addressed to the agent that registered by heartbeat.
    assert_ne!(commands[0].agent.id, Id(0));

    shutdown.cancel();
    scheduler.await.unwrap().unwrap();
    store.pool().close().await;
    database.drop().await;
}
