//! RabbitMQ restarted (`rabbitmqctl stop_app` / `start_app`) in the middle of
//! an action: the action completes, nothing lost or duplicated.
//!
//! The only test of its binary (kept out of `tests/scheduler/`): cargo runs
//! test binaries one at a time, so the restart disturbs no other test.

#![allow(clippy::unwrap_used)]

#[path = "scheduler/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use mig_protocol::status::{ActionStatus, CommandStatus};
use mig_relay::{AmqpConfig, AmqpRelay, Relay};
use mig_store::{PgStore, Store};
use mig_testkit::{Vhost, rabbitmqctl, with_database};

use support::{Behaviour, FakeAgent, new_action, start, wait_finished};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_restart_mid_action_loses_nothing() {
    let vhost = Vhost::create("mig_sched_restart_");
    let relay_url = vhost.url();
    with_database("migschedrestart_", move |url| async move {
        let store = PgStore::connect(&url, 8).await.unwrap();
        store.migrate().await.unwrap();
        let store = Arc::new(store);
        let scheduler_relay =
            AmqpRelay::connect_and_wait(AmqpConfig::new(&relay_url), Duration::from_secs(10))
                .await
                .unwrap();
        let agents_relay =
            AmqpRelay::connect_and_wait(AmqpConfig::new(&relay_url), Duration::from_secs(10))
                .await
                .unwrap();
        let scheduler = start(store.clone(), scheduler_relay.clone());
        const AGENTS: usize = 10;
        let mut agents = Vec::new();
        for index in 0..AGENTS {
            agents.push(
                FakeAgent::start(
                    store.as_ref(),
                    &agents_relay,
                    &format!("rb{index:02}"),
                    Behaviour::Delayed(200 + 150 * index as u64),
                )
                .await,
            );
        }
        let action = new_action("status='online'", Duration::from_secs(120));
        store.insert_action(&action, &[]).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let done = store
                .commands_of_action(action.id)
                .await
                .unwrap()
                .iter()
                .filter(|c| c.status == CommandStatus::Success)
                .count();
            if done >= 2 {
                assert!(done < AGENTS, "the action finished before the restart");
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no result before the restart"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        rabbitmqctl(&["stop_app"]);
        tokio::time::sleep(Duration::from_secs(1)).await;
        rabbitmqctl(&["start_app"]);
        let done = wait_finished(store.as_ref(), action.id, Duration::from_secs(90)).await;
        assert_eq!(done.status, ActionStatus::Completed);
        assert_eq!(
            (done.counters.sent, done.counters.success),
            (AGENTS as i64, AGENTS as i64),
            "{:?}",
            done.counters
        );
        for agent in &agents {
            assert_eq!(
                agent.answered.load(std::sync::atomic::Ordering::SeqCst),
                1,
                "{} answered more than once",
                agent.agent.name
            );
        }
        scheduler.stop().await;
        scheduler_relay.close().await;
        agents_relay.close().await;
        store.pool().close().await;
    })
    .await;
    drop(vhost);
}
