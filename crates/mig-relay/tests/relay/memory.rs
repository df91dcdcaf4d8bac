//! The conformance suite against [`MemoryRelay`], and memory-only checks.

use crate::conformance;

use mig_protocol::relay::{EXCHANGE_TO_AGENTS, agent_queue};
use mig_relay::{MemoryRelay, PublishOptions, Relay, RelayError};

async fn make() -> (MemoryRelay, ()) {
    (MemoryRelay::new(), ())
}

all_conformance_tests!(make);

/// Agents cannot create `toagents`: without the scheduler's topology the
/// agent queue bind is refused, as on RabbitMQ.
#[tokio::test]
async fn agent_queue_needs_scheduler_topology() {
    let relay = MemoryRelay::new();
    let error = relay.declare_agent_queue("linux.x").await.unwrap_err();
    assert!(matches!(error, RelayError::Refused { .. }), "{error:?}");
}

/// Clones share one broker.
#[tokio::test]
async fn clones_share_the_broker() {
    let scheduler = MemoryRelay::new();
    let agent = scheduler.clone();
    scheduler.declare_scheduler_topology().await.unwrap();
    agent.declare_agent_queue("linux.y").await.unwrap();
    let mut subscription = agent.consume(&agent_queue("linux.y"), 1).await.unwrap();
    scheduler
        .publish(
            EXCHANGE_TO_AGENTS,
            &agent_queue("linux.y"),
            b"hello".to_vec(),
            PublishOptions::default(),
        )
        .await
        .unwrap();
    let delivery = conformance::next(&mut subscription).await;
    assert_eq!(delivery.body, b"hello");
}

/// A queue deleted under its consumer ends the subscription; acking one of its
/// deliveries is an error.
#[tokio::test]
async fn deleting_a_consumed_queue_ends_the_subscription() {
    let relay = MemoryRelay::new();
    relay.declare_scheduler_topology().await.unwrap();
    relay.declare_agent_queue("linux.z").await.unwrap();
    let queue = agent_queue("linux.z");
    let mut subscription = relay.consume(&queue, 1).await.unwrap();
    relay
        .publish(
            EXCHANGE_TO_AGENTS,
            &queue,
            b"1".to_vec(),
            PublishOptions::default(),
        )
        .await
        .unwrap();
    let delivery = conformance::next(&mut subscription).await;
    relay.delete_queue(&queue).await.unwrap();
    assert!(delivery.ack().await.is_err());
    assert!(subscription.next().await.is_none());
}
