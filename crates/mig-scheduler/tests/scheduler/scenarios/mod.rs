//! Scheduler scenarios, generic over the store and the relay, run on
//! SQLite + the in-process relay and on PostgreSQL + RabbitMQ.
#![allow(clippy::unwrap_used, dead_code)]

use std::sync::Arc;
use std::time::Duration;

use mig_protocol::status::{ActionStatus, CommandStatus};
use mig_relay::Relay;
use mig_store::Store;

use crate::support::{Behaviour, FakeAgent, new_action, start, wait_finished};

/// An action targeting three agents completes with three results.
pub async fn three_agents_answer<S: Store, R: Relay>(store: Arc<S>, relay: R) {
    let scheduler = start(store.clone(), relay.clone());
    let mut agents = Vec::new();
    for name in ["alpha", "bravo", "charlie"] {
        agents.push(FakeAgent::start(store.as_ref(), &relay, name, Behaviour::Answer).await);
    }
    let action = new_action("status='online'", Duration::from_secs(120));
    store.insert_action(&action, &[]).await.unwrap();
    let done = wait_finished(store.as_ref(), action.id, Duration::from_secs(20)).await;
    assert_eq!(done.status, ActionStatus::Completed, "{done:?}");
    assert_eq!(
        (
            done.counters.sent,
            done.counters.done,
            done.counters.success
        ),
        (3, 3, 3),
        "{:?}",
        done.counters
    );
    let commands = store.commands_of_action(action.id).await.unwrap();
    assert_eq!(commands.len(), 3);
    for command in &commands {
        assert_eq!(command.status, CommandStatus::Success);
        let results = command.results.as_ref().unwrap();
        assert!(results[0].foundanything && results[0].success);
    }
    for agent in &agents {
        assert_eq!(agent.answered.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
    scheduler.stop().await;
}

/// Agents that never answer: the commands expire and the action completes.
pub async fn silent_agents_expire<S: Store, R: Relay>(store: Arc<S>, relay: R) {
    let scheduler = start(store.clone(), relay.clone());
    for name in ["delta", "echo", "foxtrot"] {
        FakeAgent::start(store.as_ref(), &relay, name, Behaviour::Silent).await;
    }
    let action = new_action("status='online'", Duration::from_secs(2));
    store.insert_action(&action, &[]).await.unwrap();
    let done = wait_finished(store.as_ref(), action.id, Duration::from_secs(20)).await;
    assert_eq!(done.status, ActionStatus::Completed);
    assert_eq!(
        (
            done.counters.sent,
            done.counters.expired,
            done.counters.success
        ),
        (3, 3, 0),
        "{:?}",
        done.counters
    );
    for command in store.commands_of_action(action.id).await.unwrap() {
        assert_eq!(command.status, CommandStatus::Expired);
    }
    scheduler.stop().await;
}

/// A result from another agent process is dropped, and so is a second result.
pub async fn wrong_process_and_second_results_are_dropped<S: Store, R: Relay>(
    store: Arc<S>,
    relay: R,
) {
    let scheduler = start(store.clone(), relay.clone());
    let impostor = FakeAgent::start(store.as_ref(), &relay, "golf", Behaviour::WrongPid).await;
    let chatty = FakeAgent::start(store.as_ref(), &relay, "hotel", Behaviour::Twice).await;
    let action = new_action("status='online'", Duration::from_secs(3));
    store.insert_action(&action, &[]).await.unwrap();
    let done = wait_finished(store.as_ref(), action.id, Duration::from_secs(20)).await;
    assert_eq!(
        (
            done.counters.sent,
            done.counters.success,
            done.counters.expired
        ),
        (2, 1, 1),
        "{:?}",
        done.counters
    );
    let commands = store.commands_of_action(action.id).await.unwrap();
    let by_agent = |name: &str| {
        commands
            .iter()
            .find(|c| c.agent.name == name)
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(by_agent(&impostor.agent.name), CommandStatus::Expired);
    assert_eq!(by_agent(&chatty.agent.name), CommandStatus::Success);
    scheduler.stop().await;
}

/// Actions that match no agent, or whose target is refused, become invalid.
pub async fn unmatched_and_unsafe_targets_are_invalid<S: Store, R: Relay>(store: Arc<S>, relay: R) {
    let scheduler = start(store.clone(), relay.clone());
    FakeAgent::start(store.as_ref(), &relay, "india", Behaviour::Answer).await;
    let nobody = new_action("name='nobody-has-this-name'", Duration::from_secs(60));
    store.insert_action(&nobody, &[]).await.unwrap();
    let unsafe_target = new_action(
        "status='online'; drop table agents",
        Duration::from_secs(60),
    );
    store.insert_action(&unsafe_target, &[]).await.unwrap();
    for id in [nobody.id, unsafe_target.id] {
        let done = wait_finished(store.as_ref(), id, Duration::from_secs(20)).await;
        assert_eq!(done.status, ActionStatus::Invalid, "{id}");
    }
    // The agents table is intact and the agent still targetable.
    assert_eq!(
        store
            .count_target_agents("status='online'", chrono::Utc::now())
            .await
            .unwrap(),
        1
    );
    scheduler.stop().await;
}

/// Two schedulers on one database and one relay: every action is dispatched
/// once, every agent answers each action once.
pub async fn two_schedulers_dispatch_each_command_once<S: Store, R: Relay>(
    store: Arc<S>,
    relay: R,
) {
    let first = start(store.clone(), relay.clone());
    let second = start(store.clone(), relay.clone());
    let mut agents = Vec::new();
    for index in 0..5 {
        agents.push(
            FakeAgent::start(
                store.as_ref(),
                &relay,
                &format!("ha{index}"),
                Behaviour::Answer,
            )
            .await,
        );
    }
    let mut actions = Vec::new();
    for _ in 0..10 {
        let action = new_action("status='online'", Duration::from_secs(120));
        store.insert_action(&action, &[]).await.unwrap();
        actions.push(action);
    }
    for action in &actions {
        let done = wait_finished(store.as_ref(), action.id, Duration::from_secs(30)).await;
        assert_eq!(done.status, ActionStatus::Completed);
        assert_eq!(
            (done.counters.sent, done.counters.success),
            (5, 5),
            "{:?}",
            done.counters
        );
        assert_eq!(
            store.commands_of_action(action.id).await.unwrap().len(),
            5,
            "one command per agent"
        );
    }
    for agent in &agents {
        assert_eq!(
            agent.answered.load(std::sync::atomic::Ordering::SeqCst),
            10,
            "{} ran each action once",
            agent.agent.name
        );
    }
    first.stop().await;
    second.stop().await;
}
